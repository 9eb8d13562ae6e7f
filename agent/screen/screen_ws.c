/* The kiosk screen's WebSocket: the handshake's accept key, and one upgraded connection served
 * with libwslay's event API over a non-blocking socket. See screen_ws.h. */
#include "screen/screen_ws.h"

#include "crypto.h"
#include "rc.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha1.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 section 1.3 */

enum {
    WS_KEY_LEN = 24,   /* base64 of the 16-byte nonce */
    WS_NONCE_LEN = 16, /* what the key decodes to */
    WS_SHA1_LEN = 20,
};

int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1])
{
    char err[ERR_LEN];
    uint8_t nonce[WS_NONCE_LEN + 2], sha[WS_SHA1_LEN];
    size_t n = 0;
    if (!key || strlen(key) != WS_KEY_LEN ||
        crypto_base64_decode(key, nonce, sizeof nonce, &n, err) != RC_OK || n != WS_NONCE_LEN)
        return RC_INVAL;
    char in[WS_KEY_LEN + sizeof WS_GUID];
    memcpy(in, key, WS_KEY_LEN);
    memcpy(in + WS_KEY_LEN, WS_GUID, sizeof WS_GUID);
    if (mbedtls_sha1_ret((const unsigned char *)in, WS_KEY_LEN + sizeof WS_GUID - 1, sha) != 0)
        return RC_CRYPTO;
    return crypto_base64_encode(sha, sizeof sha, out, WS_ACCEPT_LEN + 1, err);
}

struct ws_io {
    int sock;
    const char *extra; /* read by the HTTP server past the headers: served first */
    size_t extra_len;
    ws_message_fn fn;
    void *cls;
};

static ssize_t io_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *u)
{
    (void)flags;
    struct ws_io *io = u;
    if (io->extra_len) {
        size_t n = io->extra_len < len ? io->extra_len : len;
        memcpy(buf, io->extra, n);
        io->extra += n;
        io->extra_len -= n;
        return (ssize_t)n;
    }
    ssize_t n;
    do
        n = recv(io->sock, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        return n;
    /* 0: the page went away without a close frame */
    bool again = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    wslay_event_set_error(ctx, again ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t io_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *u)
{
    struct ws_io *io = u;
    int more = (flags & WSLAY_MSG_MORE) ? MSG_MORE : 0;
    ssize_t n;
    do
        n = send(io->sock, data, len, MSG_NOSIGNAL | more);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return n;
    bool again = errno == EAGAIN || errno == EWOULDBLOCK;
    wslay_event_set_error(ctx, again ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static void close_with(wslay_event_context_ptr ctx, uint16_t code, const char *why)
{
    (void)wslay_event_queue_close(ctx, code, (const uint8_t *)why, strlen(why));
}

static void on_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                       void *u)
{
    struct ws_io *io = u;
    if (wslay_is_ctrl_frame(arg->opcode))
        return; /* ping, pong and close: wslay answers them */
    /* wslay's own buffer of the whole message, freed when this returns: wiped first (it may
     * hold a clear ID number) */
    char *msg = (char *)(uintptr_t)arg->msg;
    if (arg->opcode != WSLAY_TEXT_FRAME) {
        close_with(ctx, WSLAY_CODE_UNSUPPORTED_DATA, "text messages only");
    } else if (!utf8_valid(msg, arg->msg_length, NULL)) {
        close_with(ctx, WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA, "not UTF-8");
    } else {
        char *reply = io->fn(io->cls, msg, arg->msg_length);
        struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)reply,
                                    reply ? strlen(reply) : 0};
        if (!reply || wslay_event_queue_msg(ctx, &m) != 0)
            close_with(ctx, WSLAY_CODE_INTERNAL_SERVER_ERROR, "no answer");
        free(reply); /* wslay copied it */
    }
    if (msg)
        memset(msg, 0, arg->msg_length);
}

void ws_serve(int sock, const char *extra_in, size_t extra_len, size_t max_msg, ws_message_fn fn,
              void *cls, int stop_fd)
{
    struct ws_io io = {sock, extra_in, extra_len, fn, cls};
    struct wslay_event_callbacks cb = {
        .recv_callback = io_recv, .send_callback = io_send, .on_msg_recv_callback = on_message};
    wslay_event_context_ptr ctx = NULL;
    int one = 1; /* each answer goes out at once (fails harmlessly on a non-TCP socket) */
    (void)setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int fl = fcntl(sock, F_GETFL);
    if (fl < 0 || fcntl(sock, F_SETFL, fl | O_NONBLOCK) != 0 ||
        wslay_event_context_server_init(&ctx, &cb, &io) != 0)
        return;
    wslay_event_config_set_max_recv_msg_length(ctx, max_msg);
    bool ok = extra_len == 0 || wslay_event_recv(ctx) == 0;
    while (ok && (wslay_event_want_read(ctx) || wslay_event_want_write(ctx))) {
        if (wslay_event_want_write(ctx) && wslay_event_send(ctx) != 0)
            break;
        short want = (short)((wslay_event_want_read(ctx) ? POLLIN : 0) |
                             (wslay_event_want_write(ctx) ? POLLOUT : 0));
        if (!want)
            break;
        struct pollfd p[2] = {{.fd = sock, .events = want}, {.fd = stop_fd, .events = POLLIN}};
        int n = poll(p, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || p[1].revents || (p[0].revents & (POLLERR | POLLNVAL)))
            break;
        if ((p[0].revents & (POLLIN | POLLHUP)) && wslay_event_recv(ctx) != 0)
            break;
    }
    wslay_event_context_free(ctx);
}

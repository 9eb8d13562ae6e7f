/* sync: backoff bounds and jitter spread, Retry-After forms (RFC 9110 10.2.3 and 5.6.7),
 * answer parsing, the outcome classification table, gzip output checked against RFC 1952's
 * header and trailer (CRC-32, ISIZE) and zlib's inflate, batch signatures checked with the
 * public key, and whole passes of sync_run_once against a scripted HTTP server on loopback
 * (acknowledgement, resume from expected_seq, refusal with a finding, Retry-After). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"
#include "event.h"
#include "kiosk.h"
#include "outbox.h"
#include "rc.h"
#include "sync.h"
#include "timeutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- backoff ------------------------------------------------------------------------------ */

static void backoff_ceiling_doubles_then_caps(void **state)
{
    (void)state;
    /* r = ceiling gives the ceiling itself; r = ceiling + 1 wraps to 0. */
    const int64_t base = 1000, cap = 300000;
    const int64_t want[] = {1000,  2000,   4000,   8000,   16000, 32000,
                            64000, 128000, 256000, 300000, 300000};
    for (unsigned a = 0; a < sizeof want / sizeof want[0]; a++) {
        assert_int_equal(sync_backoff_ms(base, cap, a, (uint64_t)want[a]), want[a]);
        assert_int_equal(sync_backoff_ms(base, cap, a, (uint64_t)want[a] + 1), 0);
    }
    /* Huge attempt counts and random values never overflow or pass the cap. */
    for (unsigned a = 0; a < 200; a += 7) {
        int64_t d = sync_backoff_ms(60000, 86400000, a, UINT64_MAX);
        assert_true(d >= 0 && d <= 86400000);
        d = sync_backoff_ms(INT64_MAX / 4, INT64_MAX, a, UINT64_MAX - 1);
        assert_true(d >= 0);
    }
    assert_int_equal(sync_backoff_ms(0, 1000, 3, 5), 0);
    assert_int_equal(sync_backoff_ms(1000, 0, 3, 5), 0);
    /* base above the cap: the cap rules. */
    assert_int_equal(sync_backoff_ms(5000, 3000, 0, 3000), 3000);
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void backoff_full_jitter_is_spread(void **state)
{
    (void)state;
    /* Full jitter: uniform over [0, ceiling]. 20000 draws: every tenth of the range gets
     * 10% +- 1.5% (over 7 standard deviations of a binomial), the mean is within 2%. */
    enum { N = 20000, BINS = 10 };
    const int64_t ceiling = 16000; /* base 1000, attempt 4 */
    int bins[BINS] = {0};
    double sum = 0;
    uint64_t seed = 42;
    for (int i = 0; i < N; i++) {
        int64_t d = sync_backoff_ms(1000, 300000, 4, splitmix64(&seed));
        assert_true(d >= 0 && d <= ceiling);
        sum += (double)d;
        int b = (int)(d * BINS / (ceiling + 1));
        bins[b]++;
    }
    for (int b = 0; b < BINS; b++)
        assert_true(bins[b] > N / BINS * 85 / 100 && bins[b] < N / BINS * 115 / 100);
    double mean = sum / N;
    const double half = 8000.0;
    assert_true(mean > half * 0.98 && mean < half * 1.02);
}

/* ---- Retry-After ---------------------------------------------------------------------------- */

static void retry_after_seconds(void **state)
{
    (void)state;
    int64_t d = -1;
    assert_int_equal(sync_retry_after_parse("120", 0, &d), RC_OK);
    assert_int_equal(d, 120000);
    assert_int_equal(sync_retry_after_parse(" 5\r\n", 0, &d), RC_OK);
    assert_int_equal(d, 5000);
    assert_int_equal(sync_retry_after_parse("0", 0, &d), RC_OK);
    assert_int_equal(d, 0);
    /* Over a day is clamped, however many digits. */
    assert_int_equal(sync_retry_after_parse("86401", 0, &d), RC_OK);
    assert_int_equal(d, 86400000);
    assert_int_equal(sync_retry_after_parse("99999999999999999999999999", 0, &d), RC_OK);
    assert_int_equal(d, 86400000);
    const char *bad[] = {"", "  ", "-5", "+5", "1.5", "5s", "0x10", "1e3", "soon", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(sync_retry_after_parse(bad[i], 0, &d), RC_INVAL);
    assert_int_equal(sync_retry_after_parse(NULL, 0, &d), RC_INVAL);
}

static void retry_after_http_dates(void **state)
{
    (void)state;
    /* RFC 9110 5.6.7's example instant, 1994-11-06T08:49:37Z = 784111777 s (POSIX), in its
     * three forms; "now" 30 s earlier. */
    const int64_t at = INT64_C(784111777) * 1000;
    const char *forms[] = {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994"};
    for (int i = 0; i < 3; i++) {
        int64_t d = -1;
        assert_int_equal(sync_retry_after_parse(forms[i], at - 30000, &d), RC_OK);
        assert_int_equal(d, 30000);
        /* In the past: no wait. */
        assert_int_equal(sync_retry_after_parse(forms[i], at + 5000, &d), RC_OK);
        assert_int_equal(d, 0);
        /* Far in the future: clamped to a day. */
        assert_int_equal(sync_retry_after_parse(forms[i], at - INT64_C(864000000), &d), RC_OK);
        assert_int_equal(d, 86400000);
    }
    int64_t d;
    /* 2000-01-01T00:00:00Z = 946684800 s. */
    assert_int_equal(sync_retry_after_parse("Sat, 01 Jan 2000 00:00:00 GMT",
                                            INT64_C(946684800) * 1000 - 1500, &d),
                     RC_OK);
    assert_int_equal(d, 1500);
}

/* ---- answers and outcomes ------------------------------------------------------------------ */

static void parse_answers(void **state)
{
    (void)state;
    struct sync_answer a;
    const char ok[] = "{\"accepted\":3,\"duplicates\":2,\"ack_seq\":10}";
    sync_parse_answer(200, ok, strlen(ok), &a);
    assert_true(a.has_ack);
    assert_int_equal(a.accepted, 3);
    assert_int_equal(a.duplicates, 2);
    assert_int_equal(a.ack_seq, 10);
    assert_false(a.has_expected);
    assert_string_equal(a.error, "");

    const char gap[] = "{\"error\":\"gap: expected seq 7\",\"expected_seq\":7}";
    sync_parse_answer(409, gap, strlen(gap), &a);
    assert_true(a.has_expected);
    assert_int_equal(a.expected_seq, 7);
    assert_false(a.has_ack);
    assert_string_equal(a.error, "gap: expected seq 7");

    const char *bad[] = {"{\"accepted\":-1,\"duplicates\":0,\"ack_seq\":1}",
                         "{\"accepted\":1.5,\"duplicates\":0,\"ack_seq\":1}",
                         "{\"accepted\":1,\"duplicates\":0,\"ack_seq\":9007199254740992}",
                         "{\"accepted\":1,\"duplicates\":0,\"ack_seq\":\"1\"}",
                         "{\"accepted\":1,\"duplicates\":0}",
                         "[1,2,3]",
                         "{\"accepted\":1,",
                         "<html>502 Bad Gateway</html>",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        sync_parse_answer(200, bad[i], strlen(bad[i]), &a);
        assert_false(a.has_ack);
    }
    const char zero[] = "{\"expected_seq\":0}";
    sync_parse_answer(409, zero, strlen(zero), &a);
    assert_false(a.has_expected);
    /* A message with a newline stays one line. */
    const char ml[] = "{\"error\":\"line 1\\nline 2\"}";
    sync_parse_answer(400, ml, strlen(ml), &a);
    assert_string_equal(a.error, "line 1 line 2");
    sync_parse_answer(500, NULL, 0, &a);
    assert_int_equal(a.status, 500);
    assert_false(a.has_ack);
}

static void classification_table(void **state)
{
    (void)state;
    struct {
        long status;
        const char *body;
        enum sync_outcome want;
    } http[] = {
        {200, "{\"accepted\":5,\"duplicates\":0,\"ack_seq\":10}", SYNC_OUT_ACK},
        {200, "{\"accepted\":0,\"duplicates\":5,\"ack_seq\":12}", SYNC_OUT_ACK},
        {200, "{\"accepted\":2,\"duplicates\":0,\"ack_seq\":8}", SYNC_OUT_STOP},
        {200, "garbled", SYNC_OUT_RETRY},
        {409, "{\"error\":\"gap: expected seq 3\",\"expected_seq\":3}", SYNC_OUT_RESUME},
        {409, "{\"error\":\"device already enrolled with another key\"}", SYNC_OUT_STOP},
        {400, "{\"error\":\"bad signature\"}", SYNC_OUT_STOP},
        {401, "{\"error\":\"unauthorized\"}", SYNC_OUT_STOP},
        {403, "{\"error\":\"forbidden\"}", SYNC_OUT_STOP},
        {413, "{\"error\":\"too large\"}", SYNC_OUT_STOP},
        {404, "", SYNC_OUT_STOP},
        {301, "", SYNC_OUT_STOP},
        {408, "", SYNC_OUT_RETRY},
        {429, "", SYNC_OUT_RETRY},
        {500, "", SYNC_OUT_RETRY},
        {502, "", SYNC_OUT_RETRY},
        {503, "", SYNC_OUT_RETRY},
        {504, "", SYNC_OUT_RETRY},
    };
    for (size_t i = 0; i < sizeof http / sizeof http[0]; i++) {
        struct sync_answer a;
        sync_parse_answer(http[i].status, http[i].body, strlen(http[i].body), &a);
        enum sync_outcome got = sync_classify(CURLE_OK, &a, 6, 10);
        if (got != http[i].want)
            fail_msg("HTTP %ld %s: got %d, want %d", http[i].status, http[i].body, got,
                     http[i].want);
    }
    const CURLcode retry[] = {
        CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_OPERATION_TIMEDOUT,
        CURLE_SEND_ERROR,      CURLE_RECV_ERROR,           CURLE_GOT_NOTHING,
        CURLE_PARTIAL_FILE,    CURLE_SSL_CONNECT_ERROR,    CURLE_WRITE_ERROR};
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++)
        assert_int_equal(sync_classify(retry[i], NULL, 1, 1), SYNC_OUT_RETRY);
    const CURLcode stop[] = {CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
                             CURLE_SSL_CACERT_BADFILE, CURLE_UNSUPPORTED_PROTOCOL};
    for (size_t i = 0; i < sizeof stop / sizeof stop[0]; i++)
        assert_int_equal(sync_classify(stop[i], NULL, 1, 1), SYNC_OUT_STOP);
}

/* ---- gzip ------------------------------------------------------------------------------------ */

static int gunzip(const unsigned char *in, size_t len, char *out, size_t cap, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return -1;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)cap;
    int r = inflate(&zs, Z_FINISH);
    *outlen = zs.total_out;
    inflateEnd(&zs);
    return r == Z_STREAM_END ? 0 : -1;
}

static void gzip_round_trip(void **state)
{
    (void)state;
    char err[ERR_LEN];
    size_t n = 300000;
    char *in = malloc(n);
    assert_non_null(in);
    uint64_t seed = 7;
    for (size_t i = 0; i < n; i++)
        in[i] = i % 97 == 96 ? '\n' : (char)('a' + splitmix64(&seed) % 6);
    unsigned char *z = NULL;
    size_t zlen = 0;
    assert_int_equal(sync_gzip(in, n, &z, &zlen, err), RC_OK);
    assert_true(zlen > 18 && zlen < n);
    /* RFC 1952: ID1 ID2 CM=8 (deflate); trailer CRC-32 then ISIZE, little-endian. */
    assert_int_equal(z[0], 0x1f);
    assert_int_equal(z[1], 0x8b);
    assert_int_equal(z[2], 8);
    uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)in, (uInt)n);
    uint32_t tcrc = (uint32_t)z[zlen - 8] | (uint32_t)z[zlen - 7] << 8 |
                    (uint32_t)z[zlen - 6] << 16 | (uint32_t)z[zlen - 5] << 24;
    uint32_t isize = (uint32_t)z[zlen - 4] | (uint32_t)z[zlen - 3] << 8 |
                     (uint32_t)z[zlen - 2] << 16 | (uint32_t)z[zlen - 1] << 24;
    assert_int_equal(tcrc, crc);
    assert_int_equal(isize, n);
    char *back = malloc(n + 16);
    size_t blen = 0;
    assert_int_equal(gunzip(z, zlen, back, n + 16, &blen), 0);
    assert_int_equal(blen, n);
    assert_memory_equal(back, in, n);
    free(z);
    /* Empty input is a valid, empty gzip member. */
    assert_int_equal(sync_gzip("", 0, &z, &zlen, err), RC_OK);
    assert_int_equal(gunzip(z, zlen, back, 16, &blen), 0);
    assert_int_equal(blen, 0);
    free(z);
    free(back);
    free(in);
}

/* ---- a kiosk without a config file ------------------------------------------------------------ */

struct fixture {
    char dir[64];
    struct kiosk *k;
    int64_t counter;
};

static int setup(void **state)
{
    char err[ERR_LEN];
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rollcall-sync-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    struct kiosk *k = calloc(1, sizeof *k);
    f->k = k;
    struct config_agent *c = &k->cfg;
    snprintf(c->device_id, sizeof c->device_id, "KIOSK-1");
    snprintf(c->institution, sizeof c->institution, "INST-1");
    snprintf(c->db, sizeof c->db, "%s/outbox.db", f->dir);
    snprintf(c->token_file, sizeof c->token_file, "%s/device.token", f->dir);
    c->allow_plain_http = true;
    c->profile.sync = (struct config_sync){.interval_s = 60,
                                           .batch_max_events = 2,
                                           .batch_max_bytes = 1048576,
                                           .backoff_base_ms = 1000,
                                           .backoff_cap_ms = 300000,
                                           .timeout_s = 10};
    FILE *t = fopen(c->token_file, "w");
    if (!t)
        return -1;
    fputs("device-token-xyz\n", t);
    fclose(t);
    chmod(c->token_file, 0600);
    if (crypto_rng_create(&k->rng, err) || crypto_key_generate(k->rng, &k->key, err) ||
        outbox_open(c->db, NULL, &k->ob, err))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    kiosk_close(f->k);
    DIR *d = opendir(f->dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void append_n(struct fixture *f, int n)
{
    char err[ERR_LEN];
    for (int i = 0; i < n; i++) {
        struct event ev;
        memset(&ev, 0, sizeof ev);
        f->counter++;
        snprintf(ev.id, sizeof ev.id, "01936a2b-0000-7000-8000-%012llx", (long long)f->counter);
        snprintf(ev.device, sizeof ev.device, "KIOSK-1");
        snprintf(ev.boot, sizeof ev.boot, "5f0c5a52-2f3c-4a4e-9d51-0a8a1c3b9e11");
        ev.ts_ms = 1764000000000 + f->counter * 1000;
        ev.mono_ms = f->counter * 1000;
        ev.type = EVENT_HEARTBEAT;
        ev.has = EVENT_HAS(EVENT_F_QUEUE);
        ev.queue = f->counter;
        assert_int_equal(outbox_append(f->k->ob, &ev, NULL, NULL, err), RC_OK);
    }
}

static void batch_read_and_sign(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN], sig[CRYPTO_SIG_B64_MAX + 1];
    append_n(f, 5);
    struct sync_batch b = {0};
    assert_int_equal(sync_batch_read(f->k->ob, 1, 3, 1 << 20, &b, err), RC_OK);
    assert_int_equal(b.count, 3);
    assert_int_equal(b.first_seq, 2);
    assert_int_equal(b.last_seq, 4);
    assert_int_equal(b.lines.buf[b.lines.len - 1], '\n');
    /* The lines are the stored chain: each one's prev is the hash of the one before. */
    struct event ev;
    const char *second_nl = memchr(b.lines.buf, '\n', b.lines.len);
    assert_non_null(second_nl);
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    crypto_sha256_hex(b.lines.buf, (size_t)(second_nl - b.lines.buf), hex);
    const char *l2 = second_nl + 1;
    const char *l2_end = memchr(l2, '\n', (size_t)(b.lines.buf + b.lines.len - l2));
    assert_int_equal(event_parse(l2, (size_t)(l2_end - l2), &ev, err), RC_OK);
    assert_int_equal(ev.seq, 3);
    assert_string_equal(ev.prev, hex);
    /* The signature verifies with the public key over the last line's hash only. */
    assert_int_equal(sync_batch_sign(f->k, &b, sig, err), RC_OK);
    char pem[CRYPTO_PUBKEY_PEM_MAX];
    crypto_key *pub = NULL;
    assert_int_equal(crypto_key_public_pem(f->k->key, pem, sizeof pem, err), RC_OK);
    assert_int_equal(crypto_key_from_public_pem(pem, &pub, err), RC_OK);
    uint8_t h[CRYPTO_SHA256_LEN];
    crypto_sha256(b.lines.buf + b.last_off, b.lines.len - b.last_off - 1, h);
    assert_int_equal(crypto_key_verify(pub, h, sig, err), RC_OK);
    crypto_sha256(b.lines.buf, b.lines.len, h);
    assert_int_equal(crypto_key_verify(pub, h, sig, err), RC_CRYPTO);
    crypto_key_destroy(pub);
    /* The byte limit cuts before a line that does not fit, but keeps at least one. */
    assert_int_equal(sync_batch_read(f->k->ob, 0, 100, 10, &b, err), RC_OK);
    assert_int_equal(b.count, 1);
    assert_int_equal(sync_batch_read(f->k->ob, 5, 100, 1 << 20, &b, err), RC_OK);
    assert_int_equal(b.count, 0);
    sync_batch_free(&b);
}

/* ---- a scripted HTTP server ---------------------------------------------------------------------- */

enum { MAX_SCRIPT = 8, REQ_MAX = 1 << 20 };

struct script {
    int listen_fd;
    int port;
    int n; /* answers to give, in order */
    const char *answers[MAX_SCRIPT];
    int served;
    char first_lines[MAX_SCRIPT][64]; /* "seq=N" of each request's first event */
    char sigs[MAX_SCRIPT][CRYPTO_SIG_B64_MAX + 1];
    char auth[MAX_SCRIPT][64];
    pthread_t thread;
};

static char *find_header(char *head, const char *name)
{
    size_t n = strlen(name);
    for (char *p = head; (p = strchr(p, '\n')) != NULL;) {
        p++;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            char *v = p + n + 1;
            while (*v == ' ')
                v++;
            return v;
        }
    }
    return NULL;
}

static void *serve(void *arg)
{
    struct script *s = arg;
    char *req = malloc(REQ_MAX);
    char *plain = malloc(REQ_MAX);
    int fd = -1;
    while (s->served < s->n) {
        if (fd < 0 && (fd = accept(s->listen_fd, NULL, NULL)) < 0)
            break;
        size_t len = 0;
        char *body = NULL;
        long clen = -1;
        for (;;) {
            ssize_t r = read(fd, req + len, REQ_MAX - 1 - len);
            if (r <= 0)
                break;
            len += (size_t)r;
            req[len] = '\0';
            char *end = strstr(req, "\r\n\r\n");
            if (end && clen < 0) {
                char *cl = find_header(req, "Content-Length");
                clen = cl ? strtol(cl, NULL, 10) : 0;
                body = end + 4;
            }
            if (body && (long)(len - (size_t)(body - req)) >= clen)
                break;
        }
        if (!body) { /* the client closed a kept-alive connection: take the next one */
            close(fd);
            fd = -1;
            continue;
        }
        int i = s->served;
        char *sig = find_header(req, "Rollcall-Signature");
        char *auth = find_header(req, "Authorization");
        if (sig)
            snprintf(s->sigs[i], sizeof s->sigs[i], "%.*s", (int)strcspn(sig, "\r\n"), sig);
        if (auth)
            snprintf(s->auth[i], sizeof s->auth[i], "%.*s", (int)strcspn(auth, "\r\n"), auth);
        size_t plen = 0;
        if (gunzip((unsigned char *)body, (size_t)clen, plain, REQ_MAX - 1, &plen) == 0) {
            plain[plen] = '\0';
            char *seq = strstr(plain, "\"seq\":");
            snprintf(s->first_lines[i], sizeof s->first_lines[i], "seq=%ld",
                     seq ? strtol(seq + 6, NULL, 10) : -1L);
        }
        const char *ans = s->answers[i];
        s->served++;
        if (write(fd, ans, strlen(ans)) < 0)
            break;
    }
    if (fd >= 0)
        close(fd);
    free(req);
    free(plain);
    return NULL;
}

static void script_start(struct script *s, struct kiosk *k)
{
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listen_fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->listen_fd, 4), 0);
    socklen_t al = sizeof a;
    getsockname(s->listen_fd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    snprintf(k->cfg.server, sizeof k->cfg.server, "http://127.0.0.1:%d/", s->port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void script_stop(struct script *s)
{
    shutdown(s->listen_fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static char *answer(const char *status, const char *extra, const char *json)
{
    char *s = malloc(1024);
    snprintf(s, 1024,
             "HTTP/1.1 %s\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n%s",
             status, extra, strlen(json), json);
    return s;
}

static void run_pass(struct fixture *f, struct script *s, int *rc, struct sync_result *res,
                     char *err)
{
    struct sync_options opt = {.gzip = true};
    script_start(s, f->k);
    *rc = sync_run_once(f->k, &opt, res, err);
    script_stop(s);
}

static void pass_acknowledges_batches(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    append_n(f, 3);
    /* The server's clock is an hour behind this one (Date header, RFC 9110 IMF-fixdate). */
    char date[96];
    time_t behind = time(NULL) - 3600;
    struct tm tm;
    gmtime_r(&behind, &tm);
    strftime(date, sizeof date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    char *a1 = answer("200 OK", date, "{\"accepted\":2,\"duplicates\":0,\"ack_seq\":2}");
    char *a2 = answer("200 OK", "", "{\"accepted\":0,\"duplicates\":1,\"ack_seq\":3}");
    struct script s = {.n = 2, .answers = {a1, a2}};
    struct sync_result res;
    int rc;
    run_pass(f, &s, &rc, &res, err);
    assert_int_equal(rc, RC_OK);
    assert_int_equal(s.served, 2);
    assert_string_equal(s.first_lines[0], "seq=1");
    assert_string_equal(s.first_lines[1], "seq=3");
    assert_string_equal(s.auth[0], "Bearer device-token-xyz");
    assert_true(strlen(s.sigs[1]) > 60);
    assert_int_equal(res.accepted, 2);
    assert_int_equal(res.duplicates, 1);
    assert_int_equal(res.batches, 2);
    assert_int_equal(res.ack_seq, 3);
    assert_int_equal(res.pending, 0);
    assert_int_equal(res.outcome, SYNC_OUT_ACK);
    struct sync_state st;
    assert_int_equal(sync_state_load(f->k->ob, &st, err), RC_OK);
    assert_true(st.last_ok_ms > 0);
    assert_string_equal(st.finding, "");
    assert_int_equal(st.next_retry_ms, 0);
    assert_true(st.has_server_skew);
    assert_true(st.server_skew_ms > 3600000 - 2000 && st.server_skew_ms < 3600000 + 2000);
    free(a1);
    free(a2);
}

static void pass_resumes_from_expected_seq(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    append_n(f, 3);
    /* The kiosk believes 1..2 are acknowledged; the server (restored from a backup) has
     * nothing and asks for seq 1. */
    assert_int_equal(outbox_ack(f->k->ob, 2, err), RC_OK);
    char *a1 = answer("409 Conflict", "", "{\"error\":\"gap: expected seq 1\",\"expected_seq\":1}");
    char *a2 = answer("200 OK", "", "{\"accepted\":2,\"duplicates\":0,\"ack_seq\":2}");
    char *a3 = answer("200 OK", "", "{\"accepted\":1,\"duplicates\":0,\"ack_seq\":3}");
    struct script s = {.n = 3, .answers = {a1, a2, a3}};
    struct sync_result res;
    int rc;
    run_pass(f, &s, &rc, &res, err);
    assert_int_equal(rc, RC_OK);
    assert_string_equal(s.first_lines[0], "seq=3");
    assert_string_equal(s.first_lines[1], "seq=1");
    assert_string_equal(s.first_lines[2], "seq=3");
    assert_int_equal(res.accepted, 3);
    assert_int_equal(res.ack_seq, 3);
    free(a1);
    free(a2);
    free(a3);
}

static void pass_refused_keeps_events_and_raises_finding(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    append_n(f, 2);
    char *a1 = answer("401 Unauthorized", "", "{\"error\":\"unknown or revoked token\"}");
    struct script s = {.n = 1, .answers = {a1}};
    struct sync_result res;
    int rc;
    int64_t before = ts_now_ms();
    run_pass(f, &s, &rc, &res, err);
    assert_int_equal(rc, RC_AUTH);
    assert_int_equal(res.outcome, SYNC_OUT_STOP);
    assert_int_equal(res.pending, 2);
    assert_int_equal(res.ack_seq, 0);
    assert_int_equal(res.retry_in_ms, 300000); /* the cap */
    struct sync_state st;
    assert_int_equal(sync_state_load(f->k->ob, &st, err), RC_OK);
    assert_string_equal(st.finding, "HTTP 401: unknown or revoked token");
    assert_string_equal(st.last_error, "HTTP 401: unknown or revoked token");
    assert_true(st.next_retry_ms >= before + 300000);
    assert_int_equal(st.attempt, 1);
    assert_true(sync_due_ms(&st, 60000) == st.next_retry_ms);
    free(a1);

    /* The next successful pass clears the finding and the retry time. */
    char *a2 = answer("200 OK", "", "{\"accepted\":2,\"duplicates\":0,\"ack_seq\":2}");
    struct script s2 = {.n = 1, .answers = {a2}};
    run_pass(f, &s2, &rc, &res, err);
    assert_int_equal(rc, RC_OK);
    assert_int_equal(sync_state_load(f->k->ob, &st, err), RC_OK);
    assert_string_equal(st.finding, "");
    assert_string_equal(st.last_error, "");
    assert_int_equal(st.next_retry_ms, 0);
    assert_int_equal(st.attempt, 0);
    free(a2);
}

static void pass_honours_retry_after(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    append_n(f, 1);
    char *a1 = answer("503 Service Unavailable", "Retry-After: 400\r\n", "{\"error\":\"busy\"}");
    struct script s = {.n = 1, .answers = {a1}};
    struct sync_result res;
    int rc;
    run_pass(f, &s, &rc, &res, err);
    assert_int_equal(rc, RC_NET);
    assert_int_equal(res.outcome, SYNC_OUT_RETRY);
    /* The backoff alone is at most 1000 ms on the first failure; the server asked for 400 s. */
    assert_int_equal(res.retry_in_ms, 400000);
    assert_int_equal(res.pending, 1);
    struct sync_state st;
    assert_int_equal(sync_state_load(f->k->ob, &st, err), RC_OK);
    assert_string_equal(st.finding, "");
    assert_string_equal(st.last_error, "HTTP 503: busy");
    free(a1);

    /* A garbled 200 is retried with backoff, nothing acknowledged. */
    char *a2 = answer("200 OK", "", "<html>ok</html>");
    struct script s2 = {.n = 1, .answers = {a2}};
    run_pass(f, &s2, &rc, &res, err);
    assert_int_equal(rc, RC_NET);
    assert_int_equal(res.ack_seq, 0);
    assert_true(res.retry_in_ms >= 0 && res.retry_in_ms <= 2000); /* attempt 1: 2 * base */
    free(a2);
}

static void pass_server_ahead_is_a_finding(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    append_n(f, 2);
    char *a1 = answer("200 OK", "", "{\"accepted\":0,\"duplicates\":2,\"ack_seq\":9}");
    struct script s = {.n = 1, .answers = {a1}};
    struct sync_result res;
    int rc;
    run_pass(f, &s, &rc, &res, err);
    assert_int_equal(rc, RC_CONFLICT);
    assert_int_equal(res.ack_seq, 2); /* what it sent and the server holds */
    struct sync_state st;
    assert_int_equal(sync_state_load(f->k->ob, &st, err), RC_OK);
    assert_non_null(strstr(st.finding, "another kiosk"));
    free(a1);
}

static void pass_without_server_retries(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    append_n(f, 1);
    /* A port nothing listens on. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    snprintf(f->k->cfg.server, sizeof f->k->cfg.server, "http://127.0.0.1:%d", ntohs(a.sin_port));
    struct sync_options opt = {.gzip = true};
    struct sync_result res;
    assert_int_equal(sync_run_once(f->k, &opt, &res, err), RC_NET);
    close(fd);
    assert_int_equal(res.outcome, SYNC_OUT_RETRY);
    assert_int_equal(res.pending, 1);
    assert_non_null(strstr(err, "network:"));
    /* https only unless allowed: the same URL is refused before any connection. */
    f->k->cfg.allow_plain_http = false;
    assert_int_equal(sync_run_once(f->k, &opt, &res, err), RC_INVAL);
    assert_int_equal(res.outcome, SYNC_OUT_STOP);
    /* Not enrolled: no token file configured. */
    f->k->cfg.token_file[0] = '\0';
    assert_int_equal(sync_run_once(f->k, &opt, &res, err), RC_STATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_ceiling_doubles_then_caps),
        cmocka_unit_test(backoff_full_jitter_is_spread),
        cmocka_unit_test(retry_after_seconds),
        cmocka_unit_test(retry_after_http_dates),
        cmocka_unit_test(parse_answers),
        cmocka_unit_test(classification_table),
        cmocka_unit_test(gzip_round_trip),
        cmocka_unit_test_setup_teardown(batch_read_and_sign, setup, teardown),
        cmocka_unit_test_setup_teardown(pass_acknowledges_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(pass_resumes_from_expected_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(pass_refused_keeps_events_and_raises_finding, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(pass_honours_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(pass_server_ahead_is_a_finding, setup, teardown),
        cmocka_unit_test_setup_teardown(pass_without_server_retries, setup, teardown),
    };
    sync_global_init(NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* export --out FILE: every unacknowledged event as signed batches in one file, for a kiosk
 * that does not reach the network (carried on a USB stick to `rollcall-server import
 * batches FILE`). Format (docs/SYNC.md): line 1 {"rollcall_export":1,"device":ID,
 * "created":TS}; per batch a header {"batch":{"first_seq":N,"count":K,"signature":B64}}
 * followed by exactly K event lines. Nothing is acknowledged: the events stay pending until
 * an upload's answer says the server has them (an import makes them duplicates). */
#include "cmd/commands.h"
#include "kiosk.h"
#include "rc.h"
#include "sync.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-agent [--config FILE] export --out FILE\n"
            "\n"
            "Writes every event the collector has not acknowledged to FILE as signed batches\n"
            "(the profile's sync.batch_max_events / batch_max_bytes each), for offline transfer:\n"
            "`rollcall-server import batches FILE` applies them with the same checks as an\n"
            "upload. FILE must not exist; it is written with mode 0600 and fsync'd. The events\n"
            "stay pending here until a sync's answer acknowledges them.\n"
            "Exit status: 0 written, 1 refused or failed (nothing is left behind), 2 usage.\n");
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char copy[CONFIG_PATH_LEN];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

int cmd_export(int argc, char **argv, const struct agent_globals *g)
{
    const char *out_path = NULL;
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': out_path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc || !out_path || !*out_path) {
        fprintf(stderr, "rollcall-agent: export: %s\n",
                optind < argc ? "unexpected argument" : "--out FILE is required");
        return EXIT_USAGE;
    }
    if (strlen(out_path) >= CONFIG_PATH_LEN) {
        fprintf(stderr, "rollcall-agent: export: the output path is too long\n");
        return EXIT_REFUSED;
    }

    char err[ERR_LEN] = "";
    struct kiosk *k = NULL;
    struct sync_batch b = {0};
    struct outbox_stats st;
    int fd = -1, created = 0;
    int64_t events = 0, batches = 0, first = 0;
    int rc = kiosk_open(g->config_path, KIOSK_OUTBOX | KIOSK_KEY, &k, err);
    if (rc != RC_OK)
        goto out;
    if ((rc = outbox_stats(k->ob, &st, err)) != RC_OK)
        goto out;
    fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = rc_fail(err, errno == EEXIST ? RC_CONFLICT : RC_IO, "%s: %s%s", out_path,
                     strerror(errno), errno == EEXIST ? " (export never overwrites a file)" : "");
        goto out;
    }
    created = 1;
    char line[256], ts[TS_UTC_LEN + 1];
    ts_format_utc(ts_now_ms(), ts);
    int n = snprintf(line, sizeof line,
                     "{\"rollcall_export\":1,\"device\":\"%s\",\"created\":\"%s\"}\n",
                     k->cfg.device_id, ts);
    if (n < 0 || (size_t)n >= sizeof line || write_all(fd, line, (size_t)n) != 0)
        goto io;
    const struct config_sync *sp = &k->cfg.profile.sync;
    int64_t after = st.ack_seq;
    while (after < st.head_seq) {
        size_t max_events = (size_t)sp->batch_max_events;
        if ((int64_t)max_events > st.head_seq - after)
            max_events = (size_t)(st.head_seq - after);
        if ((rc = sync_batch_read(k->ob, after, max_events, (size_t)sp->batch_max_bytes, &b,
                                  err)) != RC_OK)
            goto out;
        if (b.count == 0)
            break;
        char sig[CRYPTO_SIG_B64_MAX + 1];
        if ((rc = sync_batch_sign(k, &b, sig, err)) != RC_OK)
            goto out;
        n = snprintf(line, sizeof line,
                     "{\"batch\":{\"first_seq\":%lld,\"count\":%zu,\"signature\":\"%s\"}}\n",
                     (long long)b.first_seq, b.count, sig);
        if (n < 0 || (size_t)n >= sizeof line || write_all(fd, line, (size_t)n) != 0 ||
            write_all(fd, b.lines.buf, b.lines.len) != 0)
            goto io;
        if (batches == 0)
            first = b.first_seq;
        batches++;
        events += (int64_t)b.count;
        after = b.last_seq;
    }
    if (fsync(fd) != 0)
        goto io;
    if (close(fd) != 0) {
        fd = -1;
        goto io;
    }
    fd = -1;
    if (fsync_dir_of(out_path) != 0)
        goto io;
    created = 0; /* kept */
    if (events == 0)
        printf("exported nothing: every event is acknowledged (%s holds the header only)\n",
               out_path);
    else
        printf("exported %lld events (seq %lld..%lld) in %lld signed batches to %s\n",
               (long long)events, (long long)first, (long long)(first + events - 1),
               (long long)batches, out_path);
    rc = RC_OK;
    goto out;
io:
    rc = rc_fail(err, RC_IO, "%s: %s", out_path, strerror(errno ? errno : EIO));
out:
    if (fd >= 0)
        close(fd);
    if (created)
        unlink(out_path);
    sync_batch_free(&b);
    kiosk_close(k);
    if (rc != RC_OK) {
        fprintf(stderr, "rollcall-agent: export: %s\n", err);
        return EXIT_REFUSED;
    }
    return 0;
}

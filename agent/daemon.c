/* run: the kiosk daemon. One thread, one poll() loop over
 *   - a signalfd (SIGTERM/SIGINT: clean shutdown; SIGHUP ignored),
 *   - the gpsd connection (libgps watcher: fixes, quality findings, reconnects),
 *   - the control socket (JSON lines: signin, signout, status) and its clients,
 *   - the recording watch (inotify on the profile's camera directories),
 *   - timers: heartbeats and the periodic sync hook.
 * Every event goes through the outbox, durably, before anyone is told it was recorded.
 * Clients are served one at a time with short timeouts: a request is a single line and a
 * sign-in costs one SQLite commit, so queueing them is cheaper than threads. Memory is
 * bounded: no buffers grow with traffic, and the outbox's page cache is small. */
#include "commands.h"
#include "control.h"
#include "gnss.h"
#include "kiosk.h"
#include "log.h"
#include "rc.h"
#include "recwatch.h"
#include "signin.h"
#include "status.h"
#include "sync_hook.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    CLIENT_TIMEOUT_MS = 2000, /* a client has this long to send its line and take the reply */
    CLIENTS_PER_TURN = 16,    /* connections accepted per loop turn */
    MAX_SLEEP_MS = 60000,     /* the loop wakes at least this often */
    REPLY_MAX = 4 * CONTROL_LINE_MAX,
};

struct daemon {
    struct kiosk *k;
    gnss_watcher *gw; /* NULL when the profile has no receiver */
    recwatch *rw;
    int sfd, lfd;
    int64_t started_mono;
    int64_t next_heartbeat, next_sync;
    char *reply; /* REPLY_MAX */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-agent [--config FILE] run\n"
            "\n"
            "The kiosk daemon: watches gpsd (findings become gnss and clock events), writes\n"
            "heartbeats at the profile's interval, calls the sync hook periodically, records\n"
            "finished files of the profile's cameras (rec_file), and serves the control socket\n"
            "(config control_socket, mode 0660) for signin, signout and status as JSON lines.\n"
            "SIGTERM or SIGINT shut it down cleanly (exit 0). See docs/AGENT.md.\n");
}

/* ---------------------------------------------------------------- events */

static void append_logged(struct daemon *d, struct event *ev, const char *what)
{
    char err[ERR_LEN];
    int rc = outbox_append(d->k->ob, ev, NULL, NULL, err);
    if (rc != RC_OK)
        log_msg(LOG_LVL_ERROR, "%s not recorded: %s", what, err);
    else
        log_msg(LOG_LVL_DEBUG, "recorded %s #%lld", what, (long long)ev->seq);
}

/* The position to use now: a fresh GNSS fix or the surveyed one; false when neither. */
static bool current_fix(struct daemon *d, struct gnss_fix *fix)
{
    int64_t now = gnss_mono_ms();
    enum gnss_state s;
    if (d->gw) {
        s = gnss_current(d->gw, now, fix);
    } else {
        struct gnss_config gc;
        kiosk_gnss_config(d->k, &gc);
        s = gnss_select(NULL, true, now, gc.stale_after_ms, &gc.surveyed, gnss_real_ms(), fix);
    }
    return s == GNSS_STATE_FRESH || s == GNSS_STATE_SURVEYED;
}

static void record_finding(struct daemon *d, const struct gnss_finding *f)
{
    char err[ERR_LEN];
    struct event ev;
    bool clock = gnss_finding_is_clock(f->kind);
    if (kiosk_event_init(d->k, &ev, clock ? EVENT_CLOCK : EVENT_GNSS, err) != RC_OK) {
        log_msg(LOG_LVL_ERROR, "gnss finding not recorded: %s", err);
        return;
    }
    snprintf(ev.kind, sizeof ev.kind, "%s", gnss_finding_name(f->kind));
    snprintf(ev.detail, sizeof ev.detail, "%s", f->detail);
    ev.has |= EVENT_HAS(EVENT_F_KIND) | EVENT_HAS(EVENT_F_DETAIL);
    if (clock) {
        ev.skew_ms = f->skew_ms;
        ev.has |= EVENT_HAS(EVENT_F_SKEW_MS);
    } else {
        /* The fix the finding is about, when there is one (none for no_fix). The last GNSS
         * fix is taken even when stale: a frozen or jumping position is the evidence. */
        struct gnss_fix fix;
        if (d->gw && gnss_current(d->gw, gnss_mono_ms(), &fix) != GNSS_STATE_NONE &&
            fix.source == GNSS_SRC_GNSS && f->kind != GNSS_FIND_NO_FIX)
            (void)kiosk_event_fix(&ev, &fix, NULL);
    }
    log_msg(LOG_LVL_WARN, "gnss finding %s: %s", ev.kind, ev.detail);
    append_logged(d, &ev, clock ? "clock event" : "gnss event");
}

static void heartbeat(struct daemon *d)
{
    char err[ERR_LEN];
    struct event ev;
    struct outbox_stats st;
    if (kiosk_event_init(d->k, &ev, EVENT_HEARTBEAT, err) != RC_OK) {
        log_msg(LOG_LVL_ERROR, "heartbeat not recorded: %s", err);
        return;
    }
    struct gnss_fix fix;
    if (current_fix(d, &fix))
        (void)kiosk_event_fix(&ev, &fix, NULL);
    if (outbox_stats(d->k->ob, &st, err) == RC_OK) {
        ev.queue = st.queue;
        ev.has |= EVENT_HAS(EVENT_F_QUEUE);
    }
    append_logged(d, &ev, "heartbeat");
}

static void run_sync(struct daemon *d, int64_t now)
{
    char err[ERR_LEN] = "";
    int64_t next = d->k->cfg.profile.sync.interval_s * 1000;
    int rc = sync_hook_run(d->k, &next, err);
    if (rc != RC_OK)
        log_msg(LOG_LVL_WARN, "sync: %s", err);
    if (next < 0)
        next = 0;
    d->next_sync = now + next;
}

/* ---------------------------------------------------------------- control requests */

static const char *str_field(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Writes {"ok":false,"error":...} into d->reply. */
static void reply_error(struct daemon *d, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 0);
    cJSON_AddStringToObject(o, "error", msg);
    char *s = cJSON_PrintUnformatted(o);
    snprintf(d->reply, REPLY_MAX, "%s", s ? s : "{\"ok\":false,\"error\":\"out of memory\"}");
    cJSON_free(s);
    cJSON_Delete(o);
}

static void handle_signin(struct daemon *d, const cJSON *req, enum event_type type)
{
    char err[ERR_LEN];
    const char *trainee = str_field(req, "trainee");
    const char *class_id = str_field(req, "class");
    const cJSON *sess = cJSON_GetObjectItemCaseSensitive(req, "session");
    if (!trainee || !class_id || (sess && !cJSON_IsString(sess) && !cJSON_IsNull(sess))) {
        reply_error(d, "nothing recorded: the request needs \"trainee\" and \"class\" strings "
                       "(\"session\" optional)");
        return;
    }
    if (!d->k->has_inst_key) {
        reply_error(d, "nothing recorded: this kiosk has no institution key yet (enroll first)");
        return;
    }
    struct gnss_fix fix;
    bool have = current_fix(d, &fix);
    struct signin_request r = {.type = type,
                               .trainee = trainee,
                               .class_id = class_id,
                               .session = cJSON_IsString(sess) ? sess->valuestring : NULL};
    struct signin_result res;
    int rc = signin_record(d->k, &r, have ? &fix : NULL, &res, err);
    if (rc != RC_OK) {
        char msg[ERR_LEN + 32];
        snprintf(msg, sizeof msg, "nothing recorded: %s", err);
        log_msg(LOG_LVL_WARN, "%s refused: %s", type == EVENT_SIGNIN ? "sign-in" : "sign-out", err);
        reply_error(d, msg);
        return;
    }
    char json[SIGNIN_JSON_MAX], text[SIGNIN_JSON_MAX];
    signin_result_json(&res, json, sizeof json);
    signin_result_text(&res, text, sizeof text);
    cJSON *t = cJSON_CreateString(text);
    char *tq = t ? cJSON_PrintUnformatted(t) : NULL;
    int n = snprintf(d->reply, REPLY_MAX, "{\"ok\":true,\"text\":%s,\"result\":%s}",
                     tq ? tq : "\"recorded\"", json);
    cJSON_free(tq);
    cJSON_Delete(t);
    if (n < 0 || n >= REPLY_MAX)
        snprintf(d->reply, REPLY_MAX, "{\"ok\":true,\"text\":\"recorded\",\"result\":%s}", json);
    log_msg(LOG_LVL_INFO, "%s", text);
}

static void handle_status(struct daemon *d)
{
    char err[ERR_LEN];
    cJSON *st = NULL;
    if (status_build(d->k, true, d->gw, gnss_mono_ms() - d->started_mono, &st, err) != RC_OK) {
        reply_error(d, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddItemToObject(o, "status", st);
    char *s = cJSON_PrintUnformatted(o);
    if (!s || strlen(s) >= REPLY_MAX)
        reply_error(d, "status too large");
    else
        snprintf(d->reply, REPLY_MAX, "%s", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

static void handle_request(struct daemon *d, char *line)
{
    cJSON *req = cJSON_ParseWithLength(line, strlen(line));
    const char *cmd = req ? str_field(req, "cmd") : NULL;
    if (!cJSON_IsObject(req) || !cmd)
        reply_error(d, "not a request: expected one JSON object with \"cmd\"");
    else if (strcmp(cmd, "signin") == 0)
        handle_signin(d, req, EVENT_SIGNIN);
    else if (strcmp(cmd, "signout") == 0)
        handle_signin(d, req, EVENT_SIGNOUT);
    else if (strcmp(cmd, "status") == 0)
        handle_status(d);
    else
        reply_error(d, "unknown cmd (signin, signout, status)");
    /* The request held a clear ID number: wipe every copy. */
    const cJSON *t = req ? cJSON_GetObjectItemCaseSensitive(req, "trainee") : NULL;
    if (cJSON_IsString(t))
        memset(t->valuestring, 0, strlen(t->valuestring));
    cJSON_Delete(req);
    memset(line, 0, strlen(line));
}

static void serve_client(struct daemon *d, int fd)
{
    char err[ERR_LEN];
    char line[CONTROL_LINE_MAX];
    int rc = control_read_line(fd, line, sizeof line, CLIENT_TIMEOUT_MS, err);
    if (rc == RC_LIMIT) {
        reply_error(d, "request line too long");
    } else if (rc != RC_OK) {
        log_msg(LOG_LVL_DEBUG, "control client: %s", err);
        return;
    } else {
        handle_request(d, line);
    }
    if (control_write_line(fd, d->reply, CLIENT_TIMEOUT_MS, err) != RC_OK)
        log_msg(LOG_LVL_WARN, "control client went away before its reply: %s", err);
}

static void accept_clients(struct daemon *d)
{
    for (int i = 0; i < CLIENTS_PER_TURN; i++) {
        int fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN: none left */
        serve_client(d, fd);
        close(fd);
    }
}

/* ---------------------------------------------------------------- the loop */

static int64_t min_due(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static void drain_gnss(struct daemon *d)
{
    struct gnss_finding f;
    struct gnss_fix fix;
    while (gnss_pop_finding(d->gw, &f))
        record_finding(d, &f);
    while (gnss_pop_fix(d->gw, &fix))
        ; /* the daemon uses gnss_current(); the queue only matters to `gnss` */
}

static int loop(struct daemon *d)
{
    for (;;) {
        int64_t now = gnss_mono_ms();
        int64_t t = MAX_SLEEP_MS;
        t = min_due(t, d->next_heartbeat - now);
        t = min_due(t, d->next_sync - now);
        if (d->gw)
            t = min_due(t, gnss_timeout_ms(d->gw, now));
        t = min_due(t, recwatch_timeout_ms(d->rw, now));
        if (t < 0)
            t = 0;
        struct pollfd p[4] = {
            {.fd = d->sfd, .events = POLLIN},
            {.fd = d->lfd, .events = POLLIN},
            {.fd = d->gw ? gnss_fd(d->gw) : -1, .events = POLLIN},
            {.fd = recwatch_fd(d->rw), .events = POLLIN},
        };
        int n = poll(p, 4, (int)t);
        if (n < 0 && errno != EINTR) {
            log_msg(LOG_LVL_ERROR, "poll: %s", strerror(errno));
            return RC_IO;
        }
        if (n > 0 && (p[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(d->sfd, &si, sizeof si) == (ssize_t)sizeof si &&
                (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)) {
                log_msg(LOG_LVL_INFO, "signal %u: shutting down", si.ssi_signo);
                return RC_OK;
            }
        }
        now = gnss_mono_ms();
        if (d->gw) {
            gnss_process(d->gw, now, gnss_real_ms());
            drain_gnss(d);
        }
        if (n > 0 && (p[1].revents & POLLIN))
            accept_clients(d);
        if (n > 0 && (p[3].revents & POLLIN))
            recwatch_read(d->rw, now);
        now = gnss_mono_ms();
        recwatch_tick(d->rw, now);
        if (now >= d->next_heartbeat) {
            heartbeat(d);
            d->next_heartbeat = now + d->k->cfg.profile.heartbeat.interval_s * 1000;
        }
        if (now >= d->next_sync)
            run_sync(d, now);
    }
}

int cmd_run(int argc, char **argv, const struct agent_globals *g)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    int ex = EXIT_REFUSED;
    struct daemon d = {.sfd = -1, .lfd = -1};
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
        (d.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        fprintf(stderr, "rollcall-agent: signalfd: %s\n", strerror(errno));
        return EXIT_REFUSED;
    }
    if (kiosk_open(g->config_path, KIOSK_OUTBOX | KIOSK_FENCE, &d.k, err) != RC_OK)
        goto fail;
    if (d.k->cfg.institution_key_file[0]) {
        if (kiosk_read_inst_key(d.k->cfg.institution_key_file, d.k->inst_key, err) != RC_OK)
            goto fail;
        d.k->has_inst_key = true;
    } else {
        log_msg(LOG_LVL_WARN, "no institution key yet: sign-ins are refused until enroll");
    }
    if (d.k->cfg.profile.gnss.source == CONFIG_GNSS_GPSD) {
        struct gnss_config gc;
        kiosk_gnss_config(d.k, &gc);
        if (gnss_create(&gc, &d.gw, err) != RC_OK)
            goto fail;
    }
    if (recwatch_create(d.k, &d.rw, err) != RC_OK)
        goto fail;
    d.reply = malloc(REPLY_MAX);
    if (!d.reply) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    if (control_listen(d.k->cfg.control_socket, d.k->cfg.control_group, &d.lfd, err) != RC_OK)
        goto fail;
    d.started_mono = gnss_mono_ms();
    d.next_heartbeat = d.started_mono; /* one at start: the daemon is up */
    d.next_sync = d.started_mono;
    log_msg(LOG_LVL_INFO, "kiosk %s running: control socket %s, gpsd %s", d.k->cfg.device_id,
            d.k->cfg.control_socket, d.gw ? "watched" : "not used (surveyed position)");
    ex = loop(&d) == RC_OK ? 0 : EXIT_REFUSED;
    unlink(d.k->cfg.control_socket);
    goto out;
fail:
    fprintf(stderr, "rollcall-agent: run: %s\n", err);
out:
    if (d.lfd >= 0)
        close(d.lfd);
    free(d.reply);
    recwatch_destroy(d.rw);
    gnss_destroy(d.gw);
    kiosk_close(d.k);
    if (d.sfd >= 0)
        close(d.sfd);
    return ex;
}

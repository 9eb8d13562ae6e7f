/* rollcall-agentd, the kiosk daemon (`rollcall-agent run` execs it). One thread, one poll()
 * loop over
 *   - a signalfd (SIGTERM/SIGINT: clean shutdown; SIGCHLD: a child ended; SIGHUP ignored),
 *   - the gpsd connection (libgps watcher: fixes, quality findings, reconnects),
 *   - the control socket (JSON lines: signin, signout, confirm, rollcall, status) and its
 *     clients,
 *   - random roll-calls (rollcall.h): drawn, recorded as they open, announced on request,
 *   - the recording watch (inotify on the profile's camera directories),
 *   - timers: heartbeats, the periodic sync and, under a systemd unit with WatchdogSec=, the
 *     WATCHDOG=1 ping (every half period, from this loop: a stuck loop stops the pings).
 * Every event goes through the outbox, durably, before anyone is told it was recorded.
 * Clients are served one at a time with short timeouts: a request is a single line and a
 * sign-in costs one SQLite commit, so queueing them is cheaper than threads.
 *
 * What would make the daemon slow to answer or large stays out of it (agent/child.h): the
 * periodic sync is a `rollcall-agent sync` child (libcurl, TLS, gzip), and each finished
 * recording a `rollcall-agent record add` child (hashing gigabytes). This program links
 * neither libcurl nor OpenSSL, and loads PROJ only for a distance beyond 20 km
 * (core/geodesy.c), which keeps the idle daemon's resident memory near what libc, libgps and
 * SQLite cost (docs/PERFORMANCE.md). Memory is bounded: no buffers grow with traffic, and the
 * outbox's page cache is small. */
#include "cmd/commands.h"
#include "control.h"
#include "daemon/child.h"
#include "daemon/recwatch.h"
#include "gnss.h"
#include "kiosk.h"
#include "log.h"
#include "rc.h"
#include "rollcall.h"
#include "signin.h"
#include "status.h"
#include "sync.h"
#include "timeutil.h"
#include "version.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

enum {
    CLIENT_TIMEOUT_MS = 2000, /* a client has this long to send its line and take the reply */
    CLIENTS_PER_TURN = 16,    /* connections accepted per loop turn */
    MAX_SLEEP_MS = 60000,     /* the loop wakes at least this often */
    REPLY_MAX = 4 * CONTROL_LINE_MAX,
    SYNC_PASS_MIN_S = 60,     /* a sync child's --timeout: the sync interval, at least this */
    CHILD_GRACE_S = 30,       /* past its --timeout a sync child is killed */
    SHUTDOWN_WAIT_MS = 10000, /* children get this long to end after SIGTERM */
};

struct daemon {
    struct kiosk *k;
    gnss_watcher *gw; /* NULL when the profile has no receiver */
    recwatch *rw;
    int sfd, lfd;
    int64_t started_mono;
    int64_t next_heartbeat, next_sync; /* monotonic ms; next_sync -1 while a sync runs */
    char *reply;                       /* REPLY_MAX */
    struct child_cli cli;              /* how to run rollcall-agent commands */
    pid_t sync_pid;                    /* the running sync child, 0 when none */
    int64_t sync_deadline;             /* monotonic ms: killed after this */
    int64_t sync_ack_before;           /* ack_seq when it started */
    int64_t watchdog_ms;               /* half of WATCHDOG_USEC; 0 without a watchdog */
    int64_t next_watchdog;             /* monotonic ms */
    int64_t next_rollcall;             /* UTC ms: when rollcall_tick is due */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-agentd [--config FILE] [--log-level LEVEL] [--cli PROGRAM]\n"
            "       (normally started as `rollcall-agent [--config FILE] run`)\n"
            "\n"
            "The kiosk daemon: watches gpsd (findings become gnss and clock events), writes\n"
            "heartbeats at the profile's interval, runs `rollcall-agent sync` periodically,\n"
            "records finished files of the profile's cameras (rec_file, through `rollcall-agent\n"
            "record add`), opens the classes' random roll-calls (rollcall events), and serves\n"
            "the control socket (config control_socket, mode 0660) for signin, signout,\n"
            "rollcall, confirm and status as JSON lines. SIGTERM or SIGINT shut it down\n"
            "cleanly (exit 0). See docs/AGENT.md.\n"
            "\n"
            "  --config FILE      agent configuration (default $ROLLCALL_AGENT_CONFIG, else\n"
            "                     /etc/rollcall/agent.json)\n"
            "  --log-level LEVEL  error, warn, info (default) or debug\n"
            "  --cli PROGRAM      the rollcall-agent program its children run (default: the\n"
            "                     rollcall-agent beside this program)\n");
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

/* ---------------------------------------------------------------- children */

static void start_sync(struct daemon *d, int64_t now)
{
    char err[ERR_LEN];
    const struct config_sync *cs = &d->k->cfg.profile.sync;
    struct sync_state st;
    int64_t real = ts_now_ms();
    d->next_sync = now + cs->interval_s * 1000;
    if (sync_state_load(d->k->ob, &st, err) != RC_OK) {
        log_msg(LOG_LVL_WARN, "sync not started: %s", err);
        return;
    }
    if (st.next_retry_ms > real) {
        d->next_sync = now + (st.next_retry_ms - real); /* still backing off */
        return;
    }
    int64_t head = 0;
    if (outbox_seqs(d->k->ob, &head, &d->sync_ack_before, err) != RC_OK) {
        log_msg(LOG_LVL_WARN, "sync not started: %s", err);
        return;
    }
    int64_t pass_s = cs->interval_s > SYNC_PASS_MIN_S ? cs->interval_s : SYNC_PASS_MIN_S;
    char timeout[24];
    snprintf(timeout, sizeof timeout, "%lld", (long long)pass_s);
    const char *args[] = {"sync", "--once", "--timeout", timeout, NULL};
    pid_t pid;
    if (child_start(&d->cli, args, &pid, err) != RC_OK) {
        log_msg(LOG_LVL_ERROR, "sync not started: %s", err);
        return;
    }
    log_msg(LOG_LVL_DEBUG, "sync child %d started", (int)pid);
    d->sync_pid = pid;
    d->sync_deadline = now + (pass_s + CHILD_GRACE_S) * 1000;
    d->next_sync = -1;
}

/* The sync child ended: when to sync next. Exit 0: nothing pending, after the interval. Exit
 * 1 (still pending): the backoff the child recorded in the sync state; without one, at once
 * when the pass moved the acknowledged seq (a backlog that outlasted --timeout), else after
 * the interval. */
static void sync_ended(struct daemon *d, int status, int64_t now)
{
    d->next_rollcall = 0; /* a new schedule may bring roll-calls to draw */
    char err[ERR_LEN], how[CHILD_STATUS_LEN];
    int64_t interval = d->k->cfg.profile.sync.interval_s * 1000;
    d->sync_pid = 0;
    d->next_sync = now + interval;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    child_status_text(status, how);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != EXIT_REFUSED) {
        log_msg(LOG_LVL_ERROR, "sync child: %s", how);
        return;
    }
    struct sync_state st;
    int64_t head = 0, ack = 0, real = ts_now_ms();
    if (sync_state_load(d->k->ob, &st, err) == RC_OK && st.next_retry_ms > real)
        d->next_sync = now + (st.next_retry_ms - real);
    else if (outbox_seqs(d->k->ob, &head, &ack, err) == RC_OK && ack > d->sync_ack_before)
        d->next_sync = now;
}

/* recwatch's start function: `rollcall-agent record add` for one settled file. */
static int start_record(void *ctx, const char *camera, const char *path, int64_t start_ms,
                        int64_t end_ms, pid_t *pid, char *err)
{
    struct daemon *d = ctx;
    char start[TS_UTC_LEN + 1], end[TS_UTC_LEN + 1];
    if (ts_format_utc(start_ms, start) != RC_OK || ts_format_utc(end_ms, end) != RC_OK)
        return rc_fail(err, RC_INVAL, "file times out of range");
    const char *args[] = {"record",  "add", "--camera", camera, "--file", path,
                          "--start", start, "--end",    end,    NULL};
    return child_start(&d->cli, args, pid, err);
}

static void reap_children(struct daemon *d)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int64_t now = gnss_mono_ms();
        if (pid == d->sync_pid) {
            sync_ended(d, status, now);
            continue;
        }
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        enum recwatch_outcome o = code == 0            ? RECWATCH_RECORDED
                                  : code == EXIT_RETRY ? RECWATCH_RETRY
                                                       : RECWATCH_REFUSED;
        if (!recwatch_child_exited(d->rw, pid, o, now))
            log_msg(LOG_LVL_DEBUG, "reaped an unknown child %d", (int)pid);
    }
}

/* SIGTERM to the children, then up to SHUTDOWN_WAIT_MS for them to end (a child killed
 * mid-write loses nothing: its transaction rolls back, and its work is redone next start). */
static void stop_children(struct daemon *d)
{
    pid_t kids[2] = {d->sync_pid, recwatch_child(d->rw)};
    for (int i = 0; i < 2; i++)
        if (kids[i] > 0)
            kill(kids[i], SIGTERM);
    int64_t until = gnss_mono_ms() + SHUTDOWN_WAIT_MS;
    for (int i = 0; i < 2; i++) {
        while (kids[i] > 0) {
            pid_t r = waitpid(kids[i], NULL, WNOHANG);
            if (r != 0)
                break;
            if (gnss_mono_ms() >= until) {
                log_msg(LOG_LVL_WARN, "child %d did not stop: killed", (int)kids[i]);
                kill(kids[i], SIGKILL);
                (void)waitpid(kids[i], NULL, 0);
                break;
            }
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

/* ---------------------------------------------------------------- control requests */

static const char *str_field(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Writes {"ok":false,"error":...,"code":...} into d->reply (no "code" when code is NULL). */
static void reply_error_code(struct daemon *d, const char *msg, const char *code)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 0);
    cJSON_AddStringToObject(o, "error", msg);
    if (code)
        cJSON_AddStringToObject(o, "code", code);
    char *s = cJSON_PrintUnformatted(o);
    snprintf(d->reply, REPLY_MAX, "%s", s ? s : "{\"ok\":false,\"error\":\"out of memory\"}");
    cJSON_free(s);
    cJSON_Delete(o);
}

/* Writes {"ok":false,"error":...} into d->reply. */
static void reply_error(struct daemon *d, const char *msg)
{
    reply_error_code(d, msg, NULL);
}

/* Draws and records the roll-calls due now (rollcall.h); sets when to come back. */
static void rollcall_due(struct daemon *d)
{
    char err[ERR_LEN];
    const struct schedule *s = NULL;
    int64_t now = ts_now_ms();
    d->next_rollcall = now + ROLLCALL_IDLE_MS;
    int rc = signin_schedule(d->k, &s, err);
    if (rc == RC_NOTFOUND)
        return;
    if (rc == RC_OK) {
        const struct kiosk_stamp stamp = kiosk_stamp_of(d->k);
        rc = rollcall_tick(d->k->ob, &stamp, s, now, &d->next_rollcall, err);
    }
    if (rc != RC_OK)
        log_msg(LOG_LVL_ERROR, "roll-calls: %s", err);
}

static void handle_rollcall(struct daemon *d)
{
    char err[ERR_LEN];
    const struct schedule *s = NULL;
    struct rollcall_open open[ROLLCALL_LIST_MAX];
    size_t n = 0;
    rollcall_due(d); /* what opened by now is recorded before it is announced */
    int rc = signin_schedule(d->k, &s, err);
    if (rc == RC_OK)
        rc = rollcall_list(d->k->ob, s, ts_now_ms(), open, ROLLCALL_LIST_MAX, &n, err);
    if (rc != RC_OK && rc != RC_NOTFOUND) {
        reply_error(d, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "rollcalls") : NULL;
    cJSON_AddBoolToObject(o, "ok", 1);
    for (size_t i = 0; arr && i < n; i++) {
        char t1[TS_UTC_LEN + 1], t2[TS_UTC_LEN + 1];
        cJSON *r = cJSON_CreateObject();
        if (!r || !cJSON_AddItemToArray(arr, r) || ts_format_utc(open[i].opens_ms, t1) != RC_OK ||
            ts_format_utc(open[i].closes_ms, t2) != RC_OK)
            break;
        cJSON_AddStringToObject(r, "class", open[i].class_id);
        cJSON_AddStringToObject(r, "session", open[i].session);
        cJSON_AddStringToObject(r, "rollcall", open[i].id);
        cJSON_AddStringToObject(r, "opens", t1);
        cJSON_AddStringToObject(r, "closes", t2);
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    if (!text || strlen(text) >= REPLY_MAX)
        reply_error(d, "roll-call list too large");
    else
        snprintf(d->reply, REPLY_MAX, "%s", text);
    cJSON_free(text);
    cJSON_Delete(o);
}

static void handle_signin(struct daemon *d, const cJSON *req, enum event_type type)
{
    char err[ERR_LEN];
    const char *trainee = str_field(req, "trainee");
    const char *class_id = str_field(req, "class");
    const cJSON *sess = cJSON_GetObjectItemCaseSensitive(req, "session");
    const cJSON *over = cJSON_GetObjectItemCaseSensitive(req, "override");
    const char *rollcall = str_field(req, "rollcall");
    if (type == EVENT_ROLLCALL_CONFIRM &&
        (!trainee || !class_id || !cJSON_IsString(sess) || !rollcall || over)) {
        reply_error(d, "nothing recorded: a confirmation needs \"trainee\", \"class\", "
                       "\"session\" and \"rollcall\" strings (and no \"override\")");
        return;
    }
    const cJSON *photo = cJSON_GetObjectItemCaseSensitive(req, "photo_sha256");
    const cJSON *no_photo = cJSON_GetObjectItemCaseSensitive(req, "no_photo");
    if (!trainee || !class_id || (sess && !cJSON_IsString(sess) && !cJSON_IsNull(sess)) ||
        (over && !(cJSON_IsString(over) && strcmp(over->valuestring, "roster") == 0)) ||
        (photo && !cJSON_IsString(photo)) || (no_photo && !cJSON_IsString(no_photo))) {
        reply_error(d, "nothing recorded: the request needs \"trainee\" and \"class\" strings "
                       "(\"session\", \"photo_sha256\", \"no_photo\" optional strings, "
                       "\"override\" only \"roster\")");
        return;
    }
    if (type == EVENT_ROLLCALL_CONFIRM)
        rollcall_due(d); /* a roll-call that opened a moment ago is recorded first */
    if (!d->k->has_inst_key) {
        reply_error(d, "nothing recorded: this kiosk has no institution key yet (enroll first)");
        return;
    }
    struct gnss_fix fix;
    bool have = current_fix(d, &fix);
    struct signin_request r = {.type = type,
                               .trainee = trainee,
                               .class_id = class_id,
                               .session = cJSON_IsString(sess) ? sess->valuestring : NULL,
                               .override_roster = over != NULL,
                               .rollcall = rollcall,
                               .photo_sha256 = photo ? photo->valuestring : NULL,
                               .no_photo = no_photo ? no_photo->valuestring : NULL};
    struct signin_result res;
    int rc = signin_record(d->k, &r, have ? &fix : NULL, &res, err);
    if (rc != RC_OK) {
        char msg[ERR_LEN + 32];
        snprintf(msg, sizeof msg, "nothing recorded: %s", err);
        log_msg(LOG_LVL_WARN, "%s refused: %s", event_type_name(type), err);
        /* A schedule refusal has a code of its own, so a client can tell it apart. */
        reply_error_code(d, msg,
                         rc == RC_AUTH && res.refusal != SIGNIN_REFUSED_NONE
                             ? signin_refusal_name(res.refusal)
                             : NULL);
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
    const struct status_env env = status_env_of(d->k);
    if (status_build(&env, true, d->gw, gnss_mono_ms() - d->started_mono, &st, err) != RC_OK) {
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
    else if (strcmp(cmd, "confirm") == 0)
        handle_signin(d, req, EVENT_ROLLCALL_CONFIRM);
    else if (strcmp(cmd, "rollcall") == 0)
        handle_rollcall(d);
    else if (strcmp(cmd, "status") == 0)
        handle_status(d);
    else
        reply_error(d, "unknown cmd (signin, signout, confirm, rollcall, status)");
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

/* Milliseconds from now until due (monotonic ms; -1 = never), never negative; -1 for never. */
static int64_t until_due(int64_t due, int64_t now)
{
    if (due < 0)
        return -1;
    return due > now ? due - now : 0;
}

/* The smaller of two waits, -1 meaning none. */
static int64_t min_wait(int64_t a, int64_t b)
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

/* Reads every pending signal: false to go on, true on SIGTERM or SIGINT. */
static bool read_signals(struct daemon *d)
{
    struct signalfd_siginfo si;
    bool stop = false;
    while (read(d->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            log_msg(LOG_LVL_INFO, "signal %u: shutting down", si.ssi_signo);
            stop = true;
        } else if (si.ssi_signo == SIGCHLD) {
            reap_children(d);
        }
    }
    return stop;
}

static int loop(struct daemon *d)
{
    for (;;) {
        int64_t now = gnss_mono_ms();
        int64_t t = MAX_SLEEP_MS;
        t = min_wait(t, until_due(d->next_heartbeat, now));
        t = min_wait(t, until_due(d->next_sync, now));
        if (d->sync_pid)
            t = min_wait(t, until_due(d->sync_deadline, now));
        if (d->gw)
            t = min_wait(t, gnss_timeout_ms(d->gw, now));
        t = min_wait(t, recwatch_timeout_ms(d->rw, now));
        if (d->watchdog_ms > 0)
            t = min_wait(t, until_due(d->next_watchdog, now));
        t = min_wait(t, until_due(d->next_rollcall, ts_now_ms()));
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
        if (n > 0 && (p[0].revents & POLLIN) && read_signals(d))
            return RC_OK;
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
        if (d->sync_pid && now >= d->sync_deadline) {
            log_msg(LOG_LVL_ERROR, "sync child %d overran its timeout: killed", (int)d->sync_pid);
            kill(d->sync_pid, SIGKILL);
            d->sync_deadline = now + MAX_SLEEP_MS; /* reaped on its SIGCHLD */
        }
        if (!d->sync_pid && d->next_sync >= 0 && now >= d->next_sync)
            start_sync(d, now);
        if (ts_now_ms() >= d->next_rollcall)
            rollcall_due(d);
        if (d->watchdog_ms > 0 && now >= d->next_watchdog) {
            sd_notify(0, "WATCHDOG=1");
            d->next_watchdog = now + d->watchdog_ms;
        }
    }
}

int agentd_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"log-level", required_argument, NULL, 'l'},
        {"cli", required_argument, NULL, 'C'},    {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *cli = NULL;
    enum log_level level = LOG_LVL_INFO;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:l:C:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': config = optarg; break;
        case 'l':
            if (log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "rollcall-agentd: unknown log level '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'C': cli = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("rollcall-agentd %s\n", ROLLCALL_VERSION); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    log_setup("rollcall-agentd", level);
    config = agent_config_path(config);
    char err[ERR_LEN];
    char cli_path[PATH_MAX];
    if (!cli) {
        if (child_program_path("rollcall-agent", cli_path, sizeof cli_path, err) != RC_OK) {
            fprintf(stderr, "rollcall-agentd: %s\n", err);
            return EXIT_REFUSED;
        }
        cli = cli_path;
    }
    if (access(cli, X_OK) != 0) {
        fprintf(stderr, "rollcall-agentd: cannot run %s (--cli): %s\n", cli, strerror(errno));
        return EXIT_REFUSED;
    }
    int ex = EXIT_REFUSED;
    struct daemon d = {
        .sfd = -1,
        .lfd = -1,
        .cli = {.program = cli, .config = config, .log_level = log_level_name(level)}};
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGCHLD);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
        (d.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        fprintf(stderr, "rollcall-agentd: signalfd: %s\n", strerror(errno));
        return EXIT_REFUSED;
    }
    if (kiosk_open(config, KIOSK_OUTBOX | KIOSK_FENCE, &d.k, err) != RC_OK)
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
    if (recwatch_create(d.k->cfg.profile.cameras, d.k->cfg.profile.n_cameras, start_record, &d,
                        &d.rw, err) != RC_OK)
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
    uint64_t wd_usec = 0;
    if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec >= 2000)
        d.watchdog_ms = (int64_t)(wd_usec / 2000);
    d.next_watchdog = d.started_mono;
    sd_notifyf(0, "READY=1\nSTATUS=kiosk %s running", d.k->cfg.device_id);
    ex = loop(&d) == RC_OK ? 0 : EXIT_REFUSED;
    sd_notify(0, "STOPPING=1");
    unlink(d.k->cfg.control_socket);
    goto out;
fail:
    fprintf(stderr, "rollcall-agentd: %s\n", err);
out:
    if (d.rw)
        stop_children(&d);
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

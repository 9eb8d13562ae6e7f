/* The figures' benchmarks (docs/PERFORMANCE.md "Figures"), on the real store and engine:
 *   1. a synthetic year is generated straight into the store's tables (store_class_put,
 *      store_event_insert in large transactions; canonical event lines made with
 *      event_serialise): TRAINEES trainees in classes of 50, 40 sessions of 3 h each, sign-ins
 *      and sign-outs (some late, some outside the fence, some never signed out), one recording
 *      per session and kiosk heartbeats filling up to EVENTS events;
 *   2. a plain full scan of the events table (store_events_scan: the rows, never an index);
 *   3. the class report of one class (50 trainees x 40 sessions), median of runs;
 *   4. the city-wide district summary (every class, totals per institution and district):
 *      cold (figures cache empty: every class computed from its events; median of 3 runs on one
 *      thread, then of 3 on as many threads as a summary takes by default, one per online
 *      processor), warm (every class cached), and after one new event in one class (one class
 *      recomputed);
 * each printed in ms with its ratio to the scan. Never fails on time. With --rollcalls N every
 * class asks for N random roll-calls per session: each session gets N rollcall events and
 * about 90 % of the trainees confirm each one (rollcall_confirm), so the class report pays for
 * the roll-call rules too.
 * Run: build/rel/tests/bench_figures [--trainees N] [--events N] [--rollcalls N] [--db PATH]
 *      [--keep] [--check] [--no-vacuum]
 * --keep keeps the generated SQLite file; on PostgreSQL it measures a database that already
 * holds events again instead of generating into it.
 * On PostgreSQL the generated database is vacuumed and analysed before the timings, as
 * autovacuum leaves a collector's older rows; --no-vacuum times it right after the inserts.
 * --check times nothing: after generating it compares every class's engine input (one query
 * for the kiosks' own events, each event from its columns) with the reference read
 * (store_device_events per session window, every stored line through event_parse), event by
 * event, and the two reports' JSON; then again with the columns' marker cleared, as on events
 * stored before schema 18 (each line parsed), and again after store_events_backfill filled
 * them (what `migrate` does); exits 1 on any difference (ctest
 * figures/cold-input-equivalence runs it on a small city).
 * (ROLLCALL_SOURCE_DIR must point at the source tree when the catalogue is not installed). */
#include "engine/classes.h"
#include "engine/figures.h"
#include "engine/plan.h"
#include "event.h"
#include "rc.h"
#include "report/report.h"
#include "store/store.h"
#include "timeutil.h"
#include "uuid.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum {
    CLASS_SIZE = 50,
    SESSIONS = 40,
    TX_EVENTS = 50000, /* events per transaction while generating */
    RUNS = 7,
    COLD_RUNS = 3, /* the cold summary's runs (median) */
};

#define H INT64_C(3600000)
#define MIN INT64_C(60000)
#define YEAR_START INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

static const char *const districts[] = {"120101", "120102", "120103", "120104", "120105", "120106",
                                        "120110", "120111", "120112", "120113", "120114", "120115",
                                        "120116", "120117", "120118", "120119"};

static uint64_t rng = 88172645463325252u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* This process's CPU (user + system, every thread) in ms: the collector's side of a summary;
 * on PostgreSQL the server's backends spend the rest. */
static double cpu_ms(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000 +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_figures: %s: %s\n", what, err);
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* A kiosk's chain while generating. */
struct kiosk {
    char id[32];
    int64_t seq;
    char head[EVENT_HEX_LEN + 1];
    int64_t mono;
};

static int64_t stored;

static void put_event(store *st, struct kiosk *k, struct event *ev, const char *verdict, char *err)
{
    char line[EVENT_LINE_MAX + 1];
    size_t len = 0;
    uint8_t b[UUID_LEN];
    for (int i = 0; i < UUID_LEN; i++)
        b[i] = (uint8_t)next();
    uuid_v7_layout((uint64_t)ev->ts_ms, b);
    uuid_format(b, ev->id);
    snprintf(ev->device, sizeof ev->device, "%s", k->id);
    ev->seq = ++k->seq;
    snprintf(ev->prev, sizeof ev->prev, "%s", k->head);
    snprintf(ev->boot, sizeof ev->boot, "3f2b8c1a-9d4e-4f5a-b6c7-d8e9f0a1b2c3");
    k->mono += 1000;
    ev->mono_ms = k->mono;
    if (event_serialise(ev, line, sizeof line, &len, err) != RC_OK)
        die("making an event", err);
    char hash[EVENT_HEX_LEN + 1];
    event_hash_hex(line, len, hash);
    struct store_event se;
    store_event_from(ev, line, len, hash, &se);
    se.server_verdict = verdict;
    se.received_at_ms = ev->ts_ms + 1000;
    if (store_event_insert(st, &se, err) != RC_OK)
        die("storing an event", err);
    memcpy(k->head, hash, sizeof hash);
    if (++stored % TX_EVENTS == 0 &&
        (store_commit(st, err) != RC_OK || store_begin(st, err) != RC_OK))
        die("committing", err);
}

static void generate(store *st, long trainees, long events, int rollcalls, char *err)
{
    long classes = trainees / CLASS_SIZE;
    long per_session = events / (classes * SESSIONS); /* events budget of one session */
    long beats = per_session - 2 * CLASS_SIZE - 1;
    if (beats < 1)
        beats = 1;
    int64_t beat_every = 3 * H / beats;
    struct plan *p = calloc(1, sizeof *p);
    if (!p)
        die("generating", "out of memory");
    if (store_begin(st, err) != RC_OK)
        die("begin", err);
    for (long c = 0; c < classes; c++) {
        char inst[32];
        snprintf(inst, sizeof inst, "INST-%03ld", c % 40);
        const char *district = districts[(c % 40) % 16];
        uint8_t key[STORE_INSTITUTION_KEY_LEN] = {1}, cand[STORE_INSTITUTION_KEY_LEN] = {1};
        bool created;
        if (store_institution_key(st, inst, cand, 1, key, &created, err) != RC_OK ||
            store_institution_register(st, inst, district, err) != RC_OK)
            die("institution", err);
        memset(p, 0, sizeof *p);
        snprintf(p->id, sizeof p->id, "C-%05ld", c);
        snprintf(p->institution, sizeof p->institution, "%s", inst);
        snprintf(p->district, sizeof p->district, "%s", district);
        snprintf(p->occupation, sizeof p->occupation, "2-02-10-09");
        p->level = CATALOGUE_JUNIOR;
        /* classes start through the year; a session every other day, 09:00-12:00 local */
        int64_t day0 = YEAR_START + (int64_t)(c * 300 / classes) * 24 * H;
        p->applied_on_ms = day0 - 30 * 24 * H - 8 * H;
        p->rollcalls = rollcalls;
        p->rollcall_window_min = PLAN_ROLLCALL_WINDOW_DEFAULT_MIN;
        p->n_sessions = SESSIONS;
        for (int s = 0; s < SESSIONS; s++) {
            struct plan_session *ps = &p->sessions[s];
            snprintf(ps->id, sizeof ps->id, "S%02d", s + 1);
            ps->start_ms = day0 + (int64_t)s * 2 * 24 * H + 1 * H; /* 09:00+08:00 */
            ps->end_ms = ps->start_ms + 3 * H;
            ps->mode = PLAN_OFFLINE;
            snprintf(ps->fence, sizeof ps->fence, "V-%05ld", c);
        }
        p->n_roster = CLASS_SIZE;
        for (int t = 0; t < CLASS_SIZE; t++) {
            struct plan_trainee *pt = &p->roster[t];
            char seed[64];
            snprintf(seed, sizeof seed, "trainee-%ld-%d", c, t);
            event_hash_hex(seed, strlen(seed), pt->pseudonym);
            /* t < CLASS_SIZE: three digits and a check digit */
            snprintf(pt->masked, sizeof pt->masked, "1201**********%03u%u", (unsigned)t % 1000u,
                     (unsigned)t % 10u);
            snprintf(pt->name, sizeof pt->name, "学员%d", t);
        }
        char *json = classes_plan_json(p);
        struct store_enrolment en = {0};
        snprintf(en.id, sizeof en.id, "K-%05ld", c);
        snprintf(en.institution, sizeof en.institution, "%s", inst);
        snprintf(en.public_key_pem, sizeof en.public_key_pem, "pem");
        snprintf(en.fence, sizeof en.fence, "V-%05ld", c);
        en.assumed_eph_m = 5;
        if (!json || store_class_put(st, p, json, "bench", 1, NULL, err) != RC_OK ||
            store_enrolment_insert(st, &en, err) != RC_OK)
            die("class", err);
        free(json);
        struct kiosk k = {.seq = 0, .mono = 0};
        snprintf(k.id, sizeof k.id, "K-%05ld", c);
        memset(k.head, '0', EVENT_HEX_LEN);
        k.head[EVENT_HEX_LEN] = '\0';
        for (int s = 0; s < SESSIONS; s++) {
            const struct plan_session *ps = &p->sessions[s];
            /* merge sign-ins, sign-outs, heartbeats and the recording in time order */
            struct item {
                int64_t ts;
                int kind; /* 0 heartbeat, 1 signin, 2 signout, 3 rec_file, 4 rollcall, 5 its
                           * confirmation */
                int t;
                int rc;        /* roll-call number (4, 5) */
                int64_t opens; /* its opening (4, 5) */
            } it[2 * CLASS_SIZE + 4096 + PLAN_ROLLCALLS_MAX * (CLASS_SIZE + 1)];
            size_t n = 0;
            for (int r = 0; r < rollcalls; r++) {
                int64_t opens = ps->start_ms + (int64_t)(next() % (uint64_t)(170 * MIN));
                it[n++] = (struct item){opens, 4, 0, r + 1, opens};
                for (int t = 0; t < CLASS_SIZE; t++)
                    if (next() % 10 != 0)
                        it[n++] = (struct item){opens + (int64_t)(next() % (uint64_t)(9 * MIN)), 5,
                                                t, r + 1, opens};
            }
            for (int t = 0; t < CLASS_SIZE; t++) {
                uint64_t r = next() % 100;
                int64_t in = ps->start_ms - (int64_t)(next() % 20) * MIN;
                if (r < 5)
                    in = ps->start_ms + (20 + (int64_t)(next() % 40)) * MIN; /* late */
                it[n++] = (struct item){in, 1, t, 0, 0};
                if (r != 7 && r != 8 && r != 9) /* 3% never sign out */
                    it[n++] = (struct item){ps->end_ms + (int64_t)(next() % 10) * MIN, 2, t, 0, 0};
            }
            for (long b = 0; b < beats && n < sizeof it / sizeof it[0] - 1; b++)
                it[n++] = (struct item){ps->start_ms + b * beat_every, 0, 0, 0, 0};
            it[n++] = (struct item){ps->end_ms + 11 * MIN, 3, 0, 0, 0};
            for (size_t i = 1; i < n; i++) { /* insertion sort: n is small */
                struct item x = it[i];
                size_t j = i;
                while (j > 0 && it[j - 1].ts > x.ts) {
                    it[j] = it[j - 1];
                    j--;
                }
                it[j] = x;
            }
            for (size_t i = 0; i < n; i++) {
                struct event ev;
                memset(&ev, 0, sizeof ev);
                ev.ts_ms = it[i].ts;
                const char *verdict = "";
                if (it[i].kind == 0) {
                    ev.type = EVENT_HEARTBEAT;
                    ev.has = EVENT_HAS(EVENT_F_QUEUE);
                } else if (it[i].kind == 4) {
                    ev.type = EVENT_ROLLCALL;
                    ev.has = EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_SESSION) |
                             EVENT_HAS(EVENT_F_ROLLCALL) | EVENT_HAS(EVENT_F_START) |
                             EVENT_HAS(EVENT_F_END);
                    snprintf(ev.class_id, sizeof ev.class_id, "%s", p->id);
                    snprintf(ev.session, sizeof ev.session, "%s", ps->id);
                    snprintf(ev.rollcall, sizeof ev.rollcall, "R%d", it[i].rc);
                    ev.start_ms = it[i].opens;
                    ev.end_ms = it[i].opens + 10 * MIN;
                } else if (it[i].kind == 3) {
                    ev.type = EVENT_REC_FILE;
                    ev.has = EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_SESSION) |
                             EVENT_HAS(EVENT_F_CAMERA) | EVENT_HAS(EVENT_F_FILE) |
                             EVENT_HAS(EVENT_F_BYTES) | EVENT_HAS(EVENT_F_SHA256) |
                             EVENT_HAS(EVENT_F_START) | EVENT_HAS(EVENT_F_END);
                    snprintf(ev.class_id, sizeof ev.class_id, "%s", p->id);
                    snprintf(ev.session, sizeof ev.session, "%s", ps->id);
                    snprintf(ev.camera, sizeof ev.camera, "cam-1");
                    snprintf(ev.file, sizeof ev.file, "/rec/%s-%s.mp4", p->id, ps->id);
                    ev.bytes = 1000000;
                    memset(ev.sha256, 'a', EVENT_HEX_LEN);
                    ev.start_ms = ps->start_ms + (int64_t)(next() % 5) * MIN;
                    ev.end_ms = ps->end_ms;
                } else {
                    const struct plan_trainee *pt = &p->roster[it[i].t];
                    bool outside = next() % 50 == 0;
                    ev.type = it[i].kind == 1   ? EVENT_SIGNIN
                              : it[i].kind == 2 ? EVENT_SIGNOUT
                                                : EVENT_ROLLCALL_CONFIRM;
                    ev.has = EVENT_HAS(EVENT_F_TRAINEE) | EVENT_HAS(EVENT_F_TRAINEE_MASKED) |
                             EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_SESSION) |
                             EVENT_HAS(EVENT_F_FIX) | EVENT_HAS(EVENT_F_FENCE) |
                             EVENT_HAS(EVENT_F_VERDICT) | EVENT_HAS(EVENT_F_DISTANCE_M);
                    snprintf(ev.trainee, sizeof ev.trainee, "%s", pt->pseudonym);
                    snprintf(ev.trainee_masked, sizeof ev.trainee_masked, "%s", pt->masked);
                    snprintf(ev.class_id, sizeof ev.class_id, "%s", p->id);
                    snprintf(ev.session, sizeof ev.session, "%s", ps->id);
                    snprintf(ev.fence, sizeof ev.fence, "%s", ps->fence);
                    /* every part of a fix, so that --check compares all of it */
                    ev.fix.lat_e8 = 3910000000 + (outside ? 1000000 : 0) + (int64_t)(next() % 997);
                    ev.fix.lon_e8 = 11720000000 - (int64_t)(next() % 991);
                    ev.fix.has_eph = true;
                    ev.fix.eph_cm = 350 + (int64_t)(next() % 7);
                    ev.fix.mode = 3;
                    ev.fix.has_sats = true;
                    ev.fix.sats = 6 + (int)(next() % 8);
                    ev.fix.has_time = true;
                    ev.fix.time_ms = ev.ts_ms - (int64_t)(next() % 1500);
                    ev.fix.source = EVENT_SOURCE_GNSS;
                    ev.verdict = outside ? EVENT_OUTSIDE : EVENT_INSIDE;
                    ev.distance_mm = outside ? 1000000 : -20000;
                    verdict = outside ? "outside" : "inside";
                    if (it[i].kind == 5) {
                        ev.has |= EVENT_HAS(EVENT_F_ROLLCALL);
                        snprintf(ev.rollcall, sizeof ev.rollcall, "R%d", it[i].rc);
                    }
                }
                put_event(st, &k, &ev, verdict, err);
            }
        }
    }
    if (store_commit(st, err) != RC_OK)
        die("commit", err);
    free(p);
}

/* --check: the reference input of a class, read the way the figures read it before the
 * kiosks' own events came in one query and stored lines were parsed without the canonical
 * check: store_class_events, then store_device_events per (device, offline session) window,
 * every line through event_parse. */
struct ref {
    store *st;
    struct engine_event *ev;
    size_t n, cap;
    char dev[64][STORE_ID_MAX + 1];
    size_t n_dev;
};

static int ref_event(const struct store_raw_event *e, void *ctx)
{
    struct ref *r = ctx;
    char err[ERR_LEN];
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        r->ev = realloc(r->ev, r->cap * sizeof *r->ev);
        if (!r->ev)
            die("check", "out of memory");
    }
    struct engine_event *ee = &r->ev[r->n++];
    memset(ee, 0, sizeof *ee);
    static struct event parsed;
    static char line[EVENT_LINE_MAX + 1];
    size_t len = e->raw_len;
    if (len)
        memcpy(line, e->raw, len);
    else if (store_event_raw(r->st, e->row->device, e->row->seq, line, sizeof line, &len, err) !=
             RC_OK) /* a row with the figures' columns comes without its line */
        die("check: reading a stored line", err);
    if (event_parse(line, len, &parsed, err) != RC_OK)
        die("check: a stored line", err);
    engine_ev_from(&ee->ev, &parsed);
    enum event_verdict v;
    ee->verdict = e->server_verdict[0] && event_verdict_parse(e->server_verdict, &v) == RC_OK
                      ? v
                      : (enum event_verdict)0;
    ee->received_ms = e->received_at_ms;
    return 0;
}

static int ref_device(const char *device, const char *fence, void *ctx)
{
    (void)fence;
    struct ref *r = ctx;
    if (r->n_dev == sizeof r->dev / sizeof r->dev[0])
        die("check", "over 64 devices in a class");
    snprintf(r->dev[r->n_dev++], sizeof r->dev[0], "%s", device);
    return 0;
}

/* Runs sql on PostgreSQL at url through a connection of its own. */
static void pg_exec(const char *url, const char *sql, const char *what)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die(what, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* Marks every stored event as stored before schema 18 (no columns for the figures), through
 * a connection of its own. */
static void forget_columns(const char *path, bool pg)
{
    static const char sql[] = "UPDATE events SET cols = NULL";
    if (pg) {
        pg_exec(path, sql, "forgetting the columns");
        return;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_busy_timeout(db, 10000) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die("forgetting the columns", sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* Every class's engine input equals the reference input, event by event, and the report
 * computed from each is the same JSON. Returns the number of classes checked. */
static size_t check_classes(store *st, int64_t now)
{
    char err[ERR_LEN], id[32];
    struct engine_policy pol;
    engine_policy_default(&pol);
    size_t c = 0;
    for (;; c++) {
        snprintf(id, sizeof id, "C-%05zu", c);
        struct figures_input *in = NULL;
        int rc = figures_class_input(st, id, now, &in, err);
        if (rc == RC_NOTFOUND)
            break;
        if (rc != RC_OK)
            die("check: figures input", err);
        struct ref r = {.st = st};
        const struct plan *p = in->plan;
        if (store_class_events(st, id, p->institution, ref_event, &r, err) != RC_OK ||
            store_class_devices(st, id, p->institution, ref_device, &r, err) != RC_OK)
            die("check: reference", err);
        for (size_t d = 0; d < r.n_dev; d++)
            for (size_t s = 0; s < p->n_sessions; s++)
                if (p->sessions[s].mode == PLAN_OFFLINE &&
                    store_device_events(st, r.dev[d], p->sessions[s].start_ms - pol.early_window_ms,
                                        p->sessions[s].end_ms + pol.leave_grace_ms, ref_event, &r,
                                        err) != RC_OK)
                    die("check: reference", err);
        if (r.n != in->in.n_events) {
            fprintf(stderr, "check: %s: %zu events, the reference %zu\n", id, in->in.n_events, r.n);
            exit(1);
        }
        /* the two in one order: by device and seq (two copies of one row are alike) */
        const struct engine_event **pa = malloc((r.n + 1) * sizeof *pa);
        const struct engine_event **pb = malloc((r.n + 1) * sizeof *pb);
        if (!pa || !pb)
            die("check", "out of memory");
        for (size_t i = 0; i < r.n; i++) {
            pa[i] = &in->in.events[i];
            pb[i] = &r.ev[i];
        }
        qsort(pa, r.n, sizeof *pa, engine_event_cmp_device_seq);
        qsort(pb, r.n, sizeof *pb, engine_event_cmp_device_seq);
        for (size_t i = 0; i < r.n; i++) {
            const struct engine_event *a = pa[i], *b = pb[i];
            if (memcmp(&a->ev, &b->ev, sizeof a->ev) != 0 || a->verdict != b->verdict ||
                a->received_ms != b->received_ms) {
                fprintf(stderr, "check: %s: event %zu (%s) differs from the reference\n", id, i,
                        b->ev.id);
                exit(1);
            }
        }
        free(pa);
        free(pb);
        struct engine_report *ra = NULL, *rb = NULL;
        char *ja = NULL, *jb = NULL;
        if (engine_run(&in->in, &ra, err) != RC_OK || report_json(ra, &ja, err) != RC_OK)
            die("check: report", err);
        in->in.events = r.ev;
        if (engine_run(&in->in, &rb, err) != RC_OK || report_json(rb, &jb, err) != RC_OK)
            die("check: reference report", err);
        if (strcmp(ja, jb) != 0) {
            fprintf(stderr, "check: %s: the report differs from the reference's\n", id);
            exit(1);
        }
        free(ja);
        free(jb);
        engine_report_free(ra);
        engine_report_free(rb);
        figures_input_free(in);
        free(r.ev);
    }
    return c;
}

int main(int argc, char **argv)
{
    long trainees = 10000, events = 2000000;
    int rollcalls = 0;
    const char *path = NULL;
    bool keep = false, check = false, vacuum = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--trainees") == 0 && i + 1 < argc)
            trainees = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
            events = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rollcalls") == 0 && i + 1 < argc)
            rollcalls = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            keep = true;
        else if (strcmp(argv[i], "--check") == 0)
            check = true;
        else if (strcmp(argv[i], "--no-vacuum") == 0)
            vacuum = false;
        else {
            fprintf(stderr, "usage: bench_figures [--trainees N] [--events N] [--rollcalls N] "
                            "[--db PATH|postgresql://...] [--keep] [--check] [--no-vacuum]\n");
            return 2;
        }
    }
    if (trainees < CLASS_SIZE || events < trainees * SESSIONS)
        die("arguments", "need at least 50 trainees and 40 events per trainee");
    if (rollcalls < 0 || rollcalls > PLAN_ROLLCALLS_MAX)
        die("arguments", "--rollcalls: 0..8");
    char tmp[512], url[600], err[ERR_LEN];
    if (!path) {
        const char *dir = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/bench-figures-%ld.db", dir && *dir ? dir : "/tmp",
                 (long)getpid());
        path = tmp;
    }
    /* --db postgresql://... runs on PostgreSQL: an empty database is generated into. */
    bool pg = strncmp(path, "postgresql://", 13) == 0;
    snprintf(url, sizeof url, "%s%s", pg ? "" : "sqlite:", path);
    store *st = NULL;
    bool fresh = pg || access(path, F_OK) != 0;
    if (store_open(url, STORE_OPEN_CREATE, &st, err) != RC_OK ||
        store_migrate(st, NULL, NULL, err) != RC_OK)
        die("opening the database", err);
    if (pg && keep) { /* --keep on PostgreSQL: a database that holds events is measured again */
        int64_t n = 0, sum = 0;
        if (store_events_scan(st, &n, &sum, err) != RC_OK)
            die("scan", err);
        fresh = n == 0;
    }
    double t0 = now_ms();
    if (fresh) {
        generate(st, trainees, events, rollcalls, err);
        printf("generated %ld trainees, %lld events in %.1f s (%s)\n", trainees, (long long)stored,
               (now_ms() - t0) / 1000, path);
        /* What autovacuum does on a collector's older rows: statistics, and the visibility map
         * that lets an index-only scan skip the table. */
        if (pg && vacuum && !check) {
            t0 = now_ms();
            pg_exec(path, "VACUUM (ANALYZE)", "vacuuming");
            printf("VACUUM (ANALYZE) in %.1f s\n", (now_ms() - t0) / 1000);
        }
    }
    if (check) {
        size_t n = check_classes(st, ts_now_ms());
        printf("check: %zu classes, each one's input and report equal to the reference's\n", n);
        /* again as a collector upgraded from before schema 18 sees its events: no columns
         * for the figures, every line parsed */
        forget_columns(path, pg);
        n = check_classes(st, ts_now_ms());
        printf("check: %zu classes without the figures' columns, equal too\n", n);
        /* and once `migrate` has filled them in again from the lines */
        int64_t filled = 0, unparsed = 0;
        if (store_events_backfill(st, 1000, &filled, &unparsed, err) != RC_OK)
            die("backfill", err);
        if (unparsed != 0 || (fresh && filled != stored))
            die("backfill", "not every event filled");
        n = check_classes(st, ts_now_ms());
        printf("check: %zu classes after the backfill of %lld events, equal too\n", n,
               (long long)filled);
        store_close(st);
        if (!keep && fresh && !pg) {
            char side[600];
            unlink(path);
            snprintf(side, sizeof side, "%s-wal", path);
            unlink(side);
            snprintf(side, sizeof side, "%s-shm", path);
            unlink(side);
        }
        return n > 0 ? 0 : 1;
    }
    /* warm the page cache once, then time the scan */
    int64_t count = 0, sum = 0;
    if (store_events_scan(st, &count, &sum, err) != RC_OK)
        die("scan", err);
    double v[RUNS];
    for (int i = 0; i < RUNS; i++) {
        double a = now_ms();
        if (store_events_scan(st, &count, &sum, err) != RC_OK)
            die("scan", err);
        v[i] = now_ms() - a;
    }
    double scan = median(v, RUNS);
    printf("full scan of events (%lld rows):         %9.1f ms\n", (long long)count, scan);

    int64_t now = ts_now_ms();
    for (int i = 0; i < RUNS; i++) {
        double a = now_ms();
        struct engine_report *r = NULL;
        char *json = NULL;
        if (figures_class_report(st, "C-00007", now, &r, NULL, NULL, err) != RC_OK ||
            report_json(r, &json, err) != RC_OK)
            die("class report", err);
        v[i] = now_ms() - a;
        if (i == 0)
            printf("class report C-00007: %zu trainees x %zu sessions, %zu findings\n",
                   r->n_trainees, r->n_sessions, r->n_findings);
        free(json);
        engine_report_free(r);
    }
    double cls = median(v, RUNS);
    printf("class report (50 x 40, JSON):            %9.1f ms  (%.2fx the scan)\n", cls,
           cls / scan);

    /* cold: the cache emptied before each run; on one thread, then on as many as the
     * summary takes by default (one per online processor) */
    struct figures_summary *s = NULL;
    char *json = NULL;
    double a;
    size_t districts_n = 0;
    unsigned threads[2] = {1, 0};
    figures_set_summary_threads(0);
    int settings = figures_summary_threads() > 1 ? 2 : 1;
    for (int t = 0; t < settings; t++) {
        figures_set_summary_threads(threads[t]);
        unsigned used = 0; /* the threads that computed, as the summary says */
        size_t computed = 0;
        double cpu[COLD_RUNS];
        for (int i = 0; i < COLD_RUNS; i++) {
            if (store_figures_clear(st, err) != RC_OK)
                die("clearing the cache", err);
            a = now_ms();
            double c = cpu_ms();
            if (figures_summary(st, NULL, now, true, &s, err) != RC_OK ||
                figures_summary_json(s, NULL, &json, err) != RC_OK)
                die("summary", err);
            v[i] = now_ms() - a;
            cpu[i] = cpu_ms() - c;
            computed = s->computed;
            used = s->threads;
            districts_n = s->n_districts;
            figures_summary_free(s);
            free(json);
        }
        double cold = median(v, COLD_RUNS);
        printf("city summary, cold, %u thread%s (%zu classes): %9.1f ms  (%.2fx the scan; "
               "this process's CPU %.0f ms)\n",
               used, used == 1 ? "" : "s", computed, cold, cold / scan, median(cpu, COLD_RUNS));
    }
    for (int i = 0; i < RUNS; i++) {
        a = now_ms();
        if (figures_summary(st, NULL, now, true, &s, err) != RC_OK ||
            figures_summary_json(s, NULL, &json, err) != RC_OK)
            die("summary", err);
        v[i] = now_ms() - a;
        if (s->computed != 0)
            die("summary", "a warm summary recomputed a class");
        figures_summary_free(s);
        free(json);
    }
    double warm = median(v, RUNS);
    printf("city summary, warm (%zu districts):        %9.1f ms  (%.2fx the scan)\n", districts_n,
           warm, warm / scan);
    /* one new event in one class: that class alone is recomputed */
    struct kiosk k = {.seq = 0};
    snprintf(k.id, sizeof k.id, "K-00003");
    /* the generator keeps no chain heads: these events stand beyond every generated seq */
    memset(k.head, 'a', EVENT_HEX_LEN);
    int64_t base = 1000000; /* past earlier runs on a kept database too */
    for (;;) {
        char raw[EVENT_LINE_MAX + 1];
        size_t rl = 0;
        if (store_event_raw(st, k.id, base + 1, raw, sizeof raw, &rl, err) != RC_OK)
            break;
        base += RUNS;
    }
    k.head[EVENT_HEX_LEN] = '\0';
    for (int i = 0; i < RUNS; i++) {
        struct event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = EVENT_REC_FILE;
        ev.has = EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_CAMERA) | EVENT_HAS(EVENT_F_FILE) |
                 EVENT_HAS(EVENT_F_BYTES) | EVENT_HAS(EVENT_F_SHA256) | EVENT_HAS(EVENT_F_START) |
                 EVENT_HAS(EVENT_F_END);
        snprintf(ev.class_id, sizeof ev.class_id, "C-00003");
        snprintf(ev.camera, sizeof ev.camera, "cam-2");
        snprintf(ev.file, sizeof ev.file, "/rec/extra-%d.mp4", i);
        memset(ev.sha256, 'b', EVENT_HEX_LEN);
        ev.ts_ms = YEAR_START + 10 * 24 * H + i;
        ev.start_ms = ev.ts_ms - H;
        ev.end_ms = ev.ts_ms;
        k.seq = base + i; /* beyond every generated seq */
        if (store_begin(st, err) != RC_OK)
            die("begin", err);
        put_event(st, &k, &ev, "", err);
        if (store_commit(st, err) != RC_OK)
            die("commit", err);
        a = now_ms();
        if (figures_summary(st, NULL, now, true, &s, err) != RC_OK ||
            figures_summary_json(s, NULL, &json, err) != RC_OK)
            die("summary", err);
        v[i] = now_ms() - a;
        figures_summary_free(s);
        free(json);
    }
    double one = median(v, RUNS);
    printf("city summary after one new event:        %9.1f ms  (%.2fx the scan)\n", one,
           one / scan);
    store_close(st);
    if (!keep && fresh && !pg) {
        char side[600];
        unlink(path);
        snprintf(side, sizeof side, "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", path);
        unlink(side);
    }
    return 0;
}

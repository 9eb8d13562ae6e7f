/* Evidence benchmarks (docs/PERFORMANCE.md "Evidence"): a year of one institution generated
 * as bench_figures does (classes of 50 trainees x 40 sessions of 3 h, sign-ins and sign-outs
 * with some late, outside and missing, a recording per session, kiosk heartbeats), but
 * complete as evidence: each kiosk has a real P-256 key and signs batches of BATCH events
 * (kept in batch_signatures), each venue fence is stored and every fix judged against it, and
 * the collector has a signing key. Then, in the same run, medians of RUNS:
 *   1. the class report on the collector (figures_class_report + JSON), the baseline;
 *   2. writing the class's evidence bundle (evidence_class_bundle);
 *   3. verifying it (verify_bundle: manifest, signatures, chains, fixes, figures);
 * and once for the whole year of the institution: every report, every bundle, every
 * verification. Ratios are to the class report. Never fails on time.
 * Run: build/rel/tests/bench_evidence [--classes N] [--heartbeats N] */
#include "crypto.h"
#include "engine/classes.h"
#include "engine/fences.h"
#include "engine/figures.h"
#include "event.h"
#include "evidence/evidence.h"
#include "evidence/signkey.h"
#include "fence.h"
#include "rc.h"
#include "report/report.h"
#include "store/store.h"
#include "timeutil.h"
#include "uuid.h"
#include "verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { CLASS_SIZE = 50, SESSIONS = 40, BATCH = 50, RUNS = 5 };

#define H INT64_C(3600000)
#define MIN INT64_C(60000)
#define YEAR_START INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

static uint64_t rng_state = 88172645463325252u;
static uint64_t next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_evidence: %s: %s\n", what, err);
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

/* A kiosk while generating: its chain, key and the batch being filled. */
struct kiosk {
    char id[32];
    int64_t seq, batch_first;
    char head[EVENT_HEX_LEN + 1];
    int64_t mono;
    crypto_key *key;
    const struct fence *fence;
    int fence_version;
};

static crypto_rng *rng;

static void close_batch(store *st, struct kiosk *k, char *err)
{
    if (k->batch_first == 0)
        return;
    uint8_t digest[CRYPTO_SHA256_LEN];
    if (crypto_unhex(k->head, digest, sizeof digest) != RC_OK)
        die("hash", "bad hex");
    struct store_batch_sig s = {
        .first_seq = k->batch_first, .last_seq = k->seq, .received_at_ms = 1};
    snprintf(s.device, sizeof s.device, "%s", k->id);
    snprintf(s.last_hash, sizeof s.last_hash, "%s", k->head);
    if (crypto_key_sign(k->key, rng, digest, s.signature, err) != RC_OK ||
        store_batch_sig_insert(st, &s, err) != RC_OK)
        die("batch signature", err);
    k->batch_first = 0;
}

static void put_event(store *st, struct kiosk *k, struct event *ev, char *err)
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
    const char *verdict = "";
    struct fence_judgement fj = {0};
    bool judged = ev->type == EVENT_SIGNIN || ev->type == EVENT_SIGNOUT;
    if (judged) {
        struct fence_fix fix = {.has_fix = true,
                                .lat = (double)ev->fix.lat_e8 / 1e8,
                                .lon = (double)ev->fix.lon_e8 / 1e8,
                                .eph = (double)ev->fix.eph_cm / 100.0};
        if (fence_judge(k->fence, &fix, 5.0, &fj, err) != RC_OK)
            die("judging", err);
        verdict = fence_verdict_name(fj.verdict);
    }
    struct store_event se;
    store_event_from(ev, line, len, hash, &se);
    se.server_verdict = verdict;
    se.has_server_distance = judged;
    se.server_distance_m = fj.distance_m;
    se.server_fence_version = judged ? k->fence_version : 0;
    se.received_at_ms = ev->ts_ms + 1000;
    if (store_event_insert(st, &se, err) != RC_OK)
        die("storing an event", err);
    memcpy(k->head, hash, sizeof hash);
    if (k->batch_first == 0)
        k->batch_first = k->seq;
    if (k->seq - k->batch_first + 1 == BATCH)
        close_batch(st, k, err);
}

static void generate(store *st, long classes, long beats, char *err)
{
    struct plan *p = calloc(1, sizeof *p);
    if (!p || crypto_rng_create(&rng, err) != RC_OK)
        die("generating", "out of memory");
    if (store_begin(st, err) != RC_OK)
        die("begin", err);
    const char *inst = "INST-BENCH";
    uint8_t key[STORE_INSTITUTION_KEY_LEN] = {1}, cand[STORE_INSTITUTION_KEY_LEN] = {1};
    bool created;
    if (store_institution_key(st, inst, cand, 1, key, &created, err) != RC_OK ||
        store_institution_register(st, inst, "120103", err) != RC_OK)
        die("institution", err);
    int64_t beat_every = 3 * H / beats;
    for (long c = 0; c < classes; c++) {
        memset(p, 0, sizeof *p);
        snprintf(p->id, sizeof p->id, "C-%05ld", c);
        snprintf(p->institution, sizeof p->institution, "%s", inst);
        snprintf(p->district, sizeof p->district, "120103");
        snprintf(p->occupation, sizeof p->occupation, "2-02-10-09");
        p->level = CATALOGUE_JUNIOR;
        int64_t day0 = YEAR_START + (int64_t)(c * 250 / classes) * 24 * H;
        p->applied_on_ms = day0 - 30 * 24 * H - 8 * H;
        p->n_sessions = SESSIONS;
        char venue[32];
        snprintf(venue, sizeof venue, "V-%05ld", c);
        for (int s = 0; s < SESSIONS; s++) {
            struct plan_session *ps = &p->sessions[s];
            snprintf(ps->id, sizeof ps->id, "S%02d", s + 1);
            ps->start_ms = day0 + (int64_t)s * 2 * 24 * H + 1 * H;
            ps->end_ms = ps->start_ms + 3 * H;
            ps->mode = PLAN_OFFLINE;
            snprintf(ps->fence, sizeof ps->fence, "%s", venue);
        }
        p->n_roster = CLASS_SIZE;
        for (int t = 0; t < CLASS_SIZE; t++) {
            struct plan_trainee *pt = &p->roster[t];
            char seed[64];
            snprintf(seed, sizeof seed, "trainee-%ld-%d", c, t);
            event_hash_hex(seed, strlen(seed), pt->pseudonym);
            snprintf(pt->masked, sizeof pt->masked, "1201**********%03u%u", (unsigned)t % 1000u,
                     (unsigned)t % 10u);
            snprintf(pt->name, sizeof pt->name, "学员%d", t);
        }
        /* the venue fence: a 100 m circle, stored and parsed */
        char geo[256];
        snprintf(geo, sizeof geo,
                 "{\"type\":\"Feature\",\"properties\":{\"id\":\"%s\",\"radius_m\":100},"
                 "\"geometry\":{\"type\":\"Point\",\"coordinates\":[117.2,39.1]}}",
                 venue);
        fence_set *set = NULL;
        char sha[STORE_HASH_HEX_LEN + 1];
        struct kiosk k = {.seq = 0};
        if (fence_set_parse(geo, strlen(geo), venue, &set, err) != RC_OK)
            die("fence", err);
        fences_digest(fence_set_at(set, 0), sha);
        if (store_fence_put(st, venue, geo, sha, "bench", 1, false, NULL, &k.fence_version, err) !=
            RC_OK)
            die("fence", err);
        k.fence = fence_set_at(set, 0);
        char *json = classes_plan_json(p);
        struct store_enrolment en = {.assumed_eph_m = 5};
        snprintf(en.id, sizeof en.id, "K-%05ld", c);
        snprintf(en.institution, sizeof en.institution, "%s", inst);
        snprintf(en.fence, sizeof en.fence, "%s", venue);
        if (crypto_key_generate(rng, &k.key, err) != RC_OK ||
            crypto_key_public_pem(k.key, en.public_key_pem, sizeof en.public_key_pem, err) != RC_OK)
            die("kiosk key", err);
        if (!json || store_class_put(st, p, json, "bench", 1, NULL, err) != RC_OK ||
            store_enrolment_insert(st, &en, err) != RC_OK)
            die("class", err);
        free(json);
        snprintf(k.id, sizeof k.id, "K-%05ld", c);
        memset(k.head, '0', EVENT_HEX_LEN);
        for (int s = 0; s < SESSIONS; s++) {
            const struct plan_session *ps = &p->sessions[s];
            struct item {
                int64_t ts;
                int kind; /* 0 heartbeat, 1 signin, 2 signout, 3 rec_file */
                int t;
            } it[2 * CLASS_SIZE + 1024];
            size_t n = 0;
            for (int t = 0; t < CLASS_SIZE; t++) {
                uint64_t r = next() % 100;
                int64_t in = ps->start_ms - (int64_t)(next() % 20) * MIN;
                if (r < 5)
                    in = ps->start_ms + (20 + (int64_t)(next() % 40)) * MIN;
                it[n++] = (struct item){in, 1, t};
                if (r != 7 && r != 8 && r != 9)
                    it[n++] = (struct item){ps->end_ms + (int64_t)(next() % 10) * MIN, 2, t};
            }
            for (long b = 0; b < beats && n < sizeof it / sizeof it[0] - 1; b++)
                it[n++] = (struct item){ps->start_ms + b * beat_every, 0, 0};
            it[n++] = (struct item){ps->end_ms + 11 * MIN, 3, 0};
            for (size_t i = 1; i < n; i++) {
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
                if (it[i].kind == 0) {
                    ev.type = EVENT_HEARTBEAT;
                    ev.has = EVENT_HAS(EVENT_F_QUEUE);
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
                    ev.type = it[i].kind == 1 ? EVENT_SIGNIN : EVENT_SIGNOUT;
                    ev.has = EVENT_HAS(EVENT_F_TRAINEE) | EVENT_HAS(EVENT_F_TRAINEE_MASKED) |
                             EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_SESSION) |
                             EVENT_HAS(EVENT_F_FIX) | EVENT_HAS(EVENT_F_FENCE) |
                             EVENT_HAS(EVENT_F_VERDICT) | EVENT_HAS(EVENT_F_DISTANCE_M);
                    snprintf(ev.trainee, sizeof ev.trainee, "%s", pt->pseudonym);
                    snprintf(ev.trainee_masked, sizeof ev.trainee_masked, "%s", pt->masked);
                    snprintf(ev.class_id, sizeof ev.class_id, "%s", p->id);
                    snprintf(ev.session, sizeof ev.session, "%s", ps->id);
                    snprintf(ev.fence, sizeof ev.fence, "%s", ps->fence);
                    ev.fix.lat_e8 = 3910000000 + (outside ? 1000000 : 0);
                    ev.fix.lon_e8 = 11720000000;
                    ev.fix.has_eph = true;
                    ev.fix.eph_cm = 350;
                    ev.fix.mode = 3;
                    ev.fix.source = EVENT_SOURCE_GNSS;
                    ev.verdict = outside ? EVENT_OUTSIDE : EVENT_INSIDE;
                    ev.distance_mm = outside ? 1000000 : -20000;
                }
                put_event(st, &k, &ev, err);
            }
        }
        close_batch(st, &k, err);
        crypto_key_destroy(k.key);
        fence_set_free(set);
    }
    if (store_commit(st, err) != RC_OK)
        die("commit", err);
    crypto_rng_destroy(rng);
    free(p);
}

int main(int argc, char **argv)
{
    long classes = 10, beats = 45;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--classes") == 0 && i + 1 < argc)
            classes = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--heartbeats") == 0 && i + 1 < argc)
            beats = strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_evidence [--classes N] [--heartbeats N]\n");
            return 2;
        }
    }
    if (classes < 1 || classes > 1000 || beats < 1 || beats > 900)
        die("arguments", "--classes 1..1000, --heartbeats 1..900 per session");
    char dir[] = "/tmp/bench-evidence-XXXXXX", url[128], keyfile[128], err[ERR_LEN];
    if (!mkdtemp(dir))
        die("temporary directory", "mkdtemp");
    snprintf(url, sizeof url, "sqlite:%s/server.db", dir);
    snprintf(keyfile, sizeof keyfile, "%s/server.db.signing.key", dir);
    store *st = NULL;
    char kid[SIGNKEY_ID_LEN + 1];
    signkey *key = NULL;
    if (store_open(url, STORE_OPEN_CREATE, &st, err) != RC_OK ||
        store_migrate(st, NULL, NULL, err) != RC_OK ||
        signkey_create(st, keyfile, 1, kid, err) != RC_OK ||
        signkey_load(st, keyfile, &key, err) != RC_OK || classes_init(err) != RC_OK)
        die("setting up", err);
    double t0 = now_ms();
    generate(st, classes, beats, err);
    printf("generated %ld classes of %d trainees x %d sessions (%ld heartbeats a session) in "
           "%.1f s\n",
           classes, CLASS_SIZE, SESSIONS, beats, (now_ms() - t0) / 1000);
    int64_t now = ts_now_ms();
    double rep[RUNS], bun[RUNS], ver[RUNS];
    size_t size = 0;
    struct verify_result *vr = malloc(sizeof *vr);
    if (!vr)
        die("verify", "out of memory");
    for (int i = 0; i < RUNS; i++) {
        struct engine_report *r = NULL;
        char *json = NULL, *tar = NULL;
        double a = now_ms();
        if (figures_class_report(st, "C-00000", now, &r, NULL, NULL, err) != RC_OK ||
            report_json(r, &json, err) != RC_OK)
            die("class report", err);
        rep[i] = now_ms() - a;
        a = now_ms();
        if (evidence_class_bundle(st, key, "C-00000", now, false, &tar, &size, NULL, NULL, err) !=
            RC_OK)
            die("bundle", err);
        bun[i] = now_ms() - a;
        a = now_ms();
        if (verify_bundle(tar, size, NULL, vr, NULL) != RC_OK)
            die("verify", "out of memory");
        ver[i] = now_ms() - a;
        if (vr->n_problems)
            die("verify", vr->problems[0].text);
        if (i == 0)
            printf("class C-00000: %zu trainees, %zu events, %zu batch signatures, %zu fixes; "
                   "bundle %zu bytes\n",
                   vr->figures, vr->events, vr->batches, vr->fixes, size);
        free(json);
        free(tar);
        engine_report_free(r);
    }
    double base = median(rep, RUNS), b = median(bun, RUNS), v = median(ver, RUNS);
    printf("class report on the collector (baseline): %8.1f ms\n", base);
    printf("class bundle written:                     %8.1f ms  (%.2fx the report)\n", b, b / base);
    printf("class bundle verified (rollcall-verify):  %8.1f ms  (%.2fx the report)\n", v, v / base);
    /* The year of the institution: every class once. */
    double year_rep = 0, year_bun = 0, year_ver = 0;
    size_t year_bytes = 0;
    for (long c = 0; c < classes; c++) {
        char id[32];
        snprintf(id, sizeof id, "C-%05ld", c);
        struct engine_report *r = NULL;
        char *json = NULL, *tar = NULL;
        double a = now_ms();
        if (figures_class_report(st, id, now, &r, NULL, NULL, err) != RC_OK ||
            report_json(r, &json, err) != RC_OK)
            die("class report", err);
        year_rep += now_ms() - a;
        a = now_ms();
        if (evidence_class_bundle(st, key, id, now, false, &tar, &size, NULL, NULL, err) != RC_OK)
            die("bundle", err);
        year_bun += now_ms() - a;
        year_bytes += size;
        a = now_ms();
        if (verify_bundle(tar, size, NULL, vr, NULL) != RC_OK || vr->n_problems)
            die("verify", vr->n_problems ? vr->problems[0].text : "out of memory");
        year_ver += now_ms() - a;
        free(json);
        free(tar);
        engine_report_free(r);
    }
    printf("year of the institution (%ld classes, %zu bytes of bundles):\n", classes, year_bytes);
    printf("  every class report (baseline):          %8.1f ms\n", year_rep);
    printf("  every bundle written:                   %8.1f ms  (%.2fx)\n", year_bun,
           year_bun / year_rep);
    printf("  every bundle verified:                  %8.1f ms  (%.2fx)\n", year_ver,
           year_ver / year_rep);
    free(vr);
    signkey_free(key);
    classes_fini();
    store_close(st);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_evidence: could not remove %s\n", dir);
    return 0;
}

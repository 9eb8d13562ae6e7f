/* labels: collector */
/* ingest: the stateless parse step's refusals, and ingest_batch against a real SQLite store:
 * accepted, duplicates, overlap, gap (409 + expected seq), conflict at a stored seq, broken
 * link to the head, bad signature, foreign events, unenrolled device; a refused batch stores
 * nothing while its finding is committed; verdicts re-judged with the stored fence. Lines are
 * built here by formatting (docs/WIRE-FORMAT.md), not by event_serialise; rows are read with
 * SQLite's own API. Also the store's fence versions and one-way chain heads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"
#include "engine/classes.h"
#include "engine/fences.h"
#include "ingest/ingest.h"
#include "rc.h"
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEV "kiosk-01"
/* The server's clock: the test lines' own time (2026-11-02T00:55:12.345Z), so no clock finding. */
#define NOW INT64_C(1793580912345)
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"
#define VENUE                                                                                      \
    "{\"type\":\"Feature\",\"properties\":{\"id\":\"venue\",\"radius_m\":100},"                    \
    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[117.2,39.1]}}"

struct fx {
    char dir[64], path[128], url[160];
    store *st;
    crypto_rng *rng;
    crypto_key *key;
    /* the device's chain as this test builds it */
    int64_t seq;
    char head[65];
    char lines[40][600];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[ERR_LEN];
    snprintf(f->dir, sizeof f->dir, "/tmp/rc-ingest-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/server.db", f->dir);
    snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
    if (store_open(f->url, STORE_OPEN_CREATE, &f->st, err) != RC_OK ||
        store_migrate(f->st, NULL, NULL, err) != RC_OK ||
        crypto_rng_create(&f->rng, err) != RC_OK ||
        crypto_key_generate(f->rng, &f->key, err) != RC_OK)
        return -1;
    snprintf(f->head, sizeof f->head, ZEROS);
    /* Enrol DEV through the store, with the venue fence. */
    struct store_enrolment e = {.assumed_eph_m = 5.0, .enrolled_at_ms = 1};
    snprintf(e.id, sizeof e.id, DEV);
    snprintf(e.institution, sizeof e.institution, "INST");
    snprintf(e.profile, sizeof e.profile, "test");
    snprintf(e.fence, sizeof e.fence, "venue");
    if (crypto_key_public_pem(f->key, e.public_key_pem, sizeof e.public_key_pem, err) != RC_OK)
        return -1;
    uint8_t cand[32] = {1}, key[32];
    struct fences_item *it = NULL;
    size_t n = 0;
    if (fences_split(VENUE, strlen(VENUE), "venue", "venue", &it, &n, err) != RC_OK ||
        store_institution_key(f->st, "INST", cand, 1, key, NULL, err) != RC_OK ||
        store_fence_put(f->st, "venue", it[0].feature, it[0].sha256, "t", 1, false, NULL, NULL,
                        err) != RC_OK ||
        store_enrolment_insert(f->st, &e, err) != RC_OK)
        return -1;
    fences_items_free(it, n);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->st);
    crypto_key_destroy(f->key);
    crypto_rng_destroy(f->rng);
    char p[200];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Appends the next heartbeat (or, with lat != 0, a signin claiming verdict) to the chain. */
static const char *next(struct fx *f, const char *device, double lat, const char *verdict)
{
    f->seq++;
    char *l = f->lines[f->seq];
    int n = snprintf(l, sizeof f->lines[0],
                     "{\"id\":\"01936c1e-7f3a-7b2c-8d4e-5f6a7b8c9d%02x\",\"device\":\"%s\","
                     "\"seq\":%lld,\"prev\":\"%s\",",
                     (unsigned)f->seq, device, (long long)f->seq, f->head);
    if (lat == 0)
        snprintf(l + n, sizeof f->lines[0] - (size_t)n,
                 "\"type\":\"heartbeat\",\"ts\":\"2026-11-02T00:55:12.345Z\",\"boot\":"
                 "\"3f2b8c1a-9d4e-4f5a-b6c7-d8e9f0a1b2c3\",\"mono_ms\":%lld,\"queue\":0}",
                 (long long)f->seq);
    else
        snprintf(l + n, sizeof f->lines[0] - (size_t)n,
                 "\"type\":\"signin\",\"ts\":\"2026-11-02T00:55:12.345Z\",\"boot\":"
                 "\"3f2b8c1a-9d4e-4f5a-b6c7-d8e9f0a1b2c3\",\"mono_ms\":%lld,\"trainee\":\"%s\","
                 "\"trainee_masked\":\"1201**********123X\",\"class\":\"C1\",\"fix\":{\"lat\":"
                 "%.8f,\"lon\":117.20000000,\"eph\":2.00,\"mode\":3,\"source\":\"gnss\"},"
                 "\"fence\":\"venue\",\"verdict\":\"%s\",\"distance_m\":-1.000}",
                 (long long)f->seq, ZEROS, lat, verdict);
    crypto_sha256_hex(l, strlen(l), f->head);
    return l;
}

/* NDJSON of lines from..to of the test's chain, and its signature by key. */
static size_t body(struct fx *f, int64_t from, int64_t to, char *out, size_t cap, crypto_key *key,
                   char sig[CRYPTO_SIG_B64_MAX + 1])
{
    size_t n = 0;
    for (int64_t s = from; s <= to; s++)
        n += (size_t)snprintf(out + n, cap - n, "%s\n", f->lines[s]);
    uint8_t h[CRYPTO_SHA256_LEN];
    crypto_sha256(f->lines[to], strlen(f->lines[to]), h);
    char err[ERR_LEN];
    assert_int_equal(crypto_key_sign(key, f->rng, h, sig, err), RC_OK);
    return n;
}

static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    long long v = -1;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

static void parse_refuses_framing(void **state)
{
    (void)state;
    struct ingest_parsed p;
    struct ingest_result r;
    assert_int_equal(ingest_parse((const uint8_t *)"", 0, NULL, &p, &r), RC_INVAL);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.reason, "empty batch");
    assert_int_equal(ingest_parse((const uint8_t *)"{}", 2, NULL, &p, &r), RC_INVAL);
    assert_non_null(strstr(r.reason, "newline"));
    assert_int_equal(ingest_parse((const uint8_t *)"\n", 1, NULL, &p, &r), RC_INVAL);
    assert_string_equal(r.reason, "line 1: empty line");
    assert_int_equal(r.finding, INGEST_FINDING_NONE);
    assert_int_equal(ingest_parse((const uint8_t *)"{}\n", 3, NULL, &p, &r), RC_INVAL);
    assert_int_equal(r.finding, INGEST_FINDING_BAD_EVENT);
    assert_memory_equal(r.reason, "line 1: ", 8);
    /* Over the line cap: 413 before anything is parsed. */
    size_t n = INGEST_LINES_MAX + 1;
    uint8_t *many = malloc(2 * n);
    for (size_t i = 0; i < n; i++)
        memcpy(many + 2 * i, "x\n", 2);
    assert_int_equal(ingest_parse(many, 2 * n, NULL, &p, &r), RC_LIMIT);
    assert_int_equal(r.status, 413);
    free(many);
    /* A line over EVENT_LINE_MAX. */
    uint8_t *longl = malloc(EVENT_LINE_MAX + 2);
    memset(longl, 'x', EVENT_LINE_MAX + 1);
    longl[EVENT_LINE_MAX + 1] = '\n';
    assert_int_equal(ingest_parse(longl, EVENT_LINE_MAX + 2, NULL, &p, &r), RC_LIMIT);
    assert_int_equal(r.status, 413);
    free(longl);
}

static void batches_apply_exactly_once(void **state)
{
    struct fx *f = *state;
    char buf[20000], sig[CRYPTO_SIG_B64_MAX + 1], err[ERR_LEN];
    struct ingest_result r;
    for (int i = 0; i < 6; i++)
        next(f, DEV, 0, NULL);
    size_t n = body(f, 1, 3, buf, sizeof buf, f->key, sig);
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.accepted, 3);
    assert_int_equal(r.duplicates, 0);
    assert_int_equal(r.ack_seq, 3);
    /* Same again: duplicates. Overlap: 2 duplicates, 2 new. */
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
    assert_true(r.status == 200 && r.accepted == 0 && r.duplicates == 3 && r.ack_seq == 3);
    n = body(f, 2, 5, buf, sizeof buf, f->key, sig);
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
    assert_true(r.status == 200 && r.accepted == 2 && r.duplicates == 2 && r.ack_seq == 5);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events"), 5);
    assert_int_equal(raw_int(f->path, "SELECT seq FROM chain_heads WHERE device = 'kiosk-01'"), 5);
    /* Gap. */
    next(f, DEV, 0, NULL);
    n = body(f, 7, 7, buf, sizeof buf, f->key, sig);
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
    assert_int_equal(r.status, 409);
    assert_int_equal(r.expected_seq, 6);
    assert_string_equal(r.reason, "gap: expected seq 6");
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM findings"), 0);
    /* Bad signature: another key. Nothing stored, a finding committed. */
    crypto_key *other = NULL;
    assert_int_equal(crypto_key_generate(f->rng, &other, err), RC_OK);
    n = body(f, 6, 7, buf, sizeof buf, other, sig);
    crypto_key_destroy(other);
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.reason, "bad signature");
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events"), 5);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM findings WHERE kind = "
                                      "'bad_signature' AND device = 'kiosk-01' AND seq = 7"),
                     1);
    /* Conflict: other bytes at stored seq 5 (re-signed). */
    char saved[600];
    memcpy(saved, f->lines[5], sizeof saved);
    char *q = strstr(f->lines[5], "\"queue\":0");
    q[8] = '7';
    n = body(f, 5, 5, buf, sizeof buf, f->key, sig);
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.reason, "conflict at seq 5: different bytes than stored");
    assert_int_equal(r.finding, INGEST_FINDING_CHAIN_CONFLICT);
    memcpy(f->lines[5], saved, sizeof saved);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM findings WHERE kind = "
                                      "'chain_conflict' AND seq = 5"),
                     1);
    /* Events of another device under this device's identity. */
    n = body(f, 6, 7, buf, sizeof buf, f->key, sig);
    assert_int_equal(ingest_batch(f->st, "kiosk-02", (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.reason, "line 1: an event of device 'kiosk-01', not of 'kiosk-02'");
    /* kiosk-02 is not enrolled: no finding is recorded for an unknown device. */
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM findings WHERE device = 'kiosk-02'"),
                     0);
    /* Finally the real 6..7. */
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
    assert_true(r.status == 200 && r.accepted == 2 && r.ack_seq == 7);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events"), 7);
    assert_int_equal(raw_int(f->path, "SELECT last_seen_at FROM devices"), NOW);
}

static void a_new_first_line_must_link_to_the_head(void **state)
{
    struct fx *f = *state;
    char buf[20000], sig[CRYPTO_SIG_B64_MAX + 1], err[ERR_LEN];
    struct ingest_result r;
    next(f, DEV, 0, NULL);
    size_t n = body(f, 1, 1, buf, sizeof buf, f->key, sig);
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
    assert_int_equal(r.status, 200);
    /* seq 2 whose prev is not seq 1's hash. */
    snprintf(f->head, sizeof f->head, "%s", ZEROS);
    f->head[0] = 'a';
    next(f, DEV, 0, NULL);
    n = body(f, 2, 2, buf, sizeof buf, f->key, sig);
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
    assert_int_equal(r.status, 400);
    assert_int_equal(r.finding, INGEST_FINDING_CHAIN_BREAK);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM findings WHERE kind = 'chain_break'"),
                     1);
}

static void verdicts_are_rejudged(void **state)
{
    struct fx *f = *state;
    char buf[20000], sig[CRYPTO_SIG_B64_MAX + 1], err[ERR_LEN];
    struct ingest_result r;
    next(f, DEV, 39.1, "outside"); /* the centre, claimed outside */
    next(f, DEV, 39.2, "inside");  /* ~11 km north, claimed inside */
    size_t n = body(f, 1, 2, buf, sizeof buf, f->key, sig);
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events WHERE seq = 1 AND "
                                      "server_verdict = 'inside' AND server_fence_version = 1"),
                     1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events WHERE seq = 2 AND "
                                      "server_verdict = 'outside' AND verdict = 'inside'"),
                     1);
    assert_int_equal(
        raw_int(f->path, "SELECT count(*) FROM findings WHERE kind = 'verdict_mismatch'"), 2);
}

static void fences_keep_history(void **state)
{
    struct fx *f = *state;
    char err[ERR_LEN];
    enum store_fence_outcome o;
    int v = 0;
    char other[65];
    memset(other, 'b', 64);
    other[64] = '\0';
    struct store_fence cur;
    assert_int_equal(store_fence_current(f->st, "venue", &cur, err), RC_OK);
    char sha[65];
    memcpy(sha, cur.sha256, sizeof sha);
    store_fence_clear(&cur);
    assert_int_equal(store_fence_put(f->st, "venue", "{}", sha, "t", 2, false, &o, &v, err), RC_OK);
    assert_true(o == STORE_FENCE_SAME && v == 1);
    assert_int_equal(store_fence_put(f->st, "venue", "{}", other, "t", 2, false, &o, &v, err),
                     RC_CONFLICT);
    assert_int_equal(store_fence_put(f->st, "venue", "{}", other, "t", 2, true, &o, &v, err),
                     RC_OK);
    assert_true(o == STORE_FENCE_REPLACED && v == 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM fences WHERE id = 'venue'"), 2);
    assert_int_equal(raw_int(f->path, "SELECT version FROM fences WHERE superseded_at IS NULL"), 2);
    /* A chain head only moves forward. */
    assert_int_equal(store_head_advance(f->st, DEV, 5, other, 1, err), RC_OK);
    assert_int_equal(store_head_advance(f->st, DEV, 5, other, 1, err), RC_CONFLICT);
    assert_int_equal(store_head_advance(f->st, DEV, 4, other, 1, err), RC_CONFLICT);
    struct store_head h;
    assert_int_equal(store_head_get(f->st, DEV, &h, err), RC_OK);
    assert_int_equal(h.seq, 5);
}

/* Accepted events are stored whatever their device time says; a time outside [receipt - 400
 * days, receipt + 1 day] is a clock_implausible finding, the window's inside is not; a class
 * this server does not have is unknown_class. Nothing is refused for it. */
static void clock_and_class_findings(void **state)
{
    struct fx *f = *state;
    char buf[20000], sig[CRYPTO_SIG_B64_MAX + 1], err[ERR_LEN];
    struct ingest_result r;
    const int64_t day = INT64_C(86400000);
    const int64_t at[4] = {NOW + 399 * day, NOW + 401 * day, NOW - 2 * day, NOW};
    next(f, DEV, 0, NULL);
    next(f, DEV, 0, NULL);
    next(f, DEV, 0, NULL);
    next(f, DEV, 39.1, "inside"); /* names class C1, which is not declared */
    for (int64_t s = 1; s <= 4; s++) {
        size_t n = body(f, s, s, buf, sizeof buf, f->key, sig);
        assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, at[s - 1], &r, err),
                         RC_OK);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.accepted, 1);
    }
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events"), 4);
    assert_int_equal(
        raw_int(f->path, "SELECT count(*) FROM findings WHERE kind = 'clock_implausible'"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM findings WHERE kind = "
                                      "'clock_implausible' AND seq IN (2, 3) AND detail LIKE "
                                      "'heartbeat stamped 2026-11-02T00:55:12.345Z%'"),
                     2);
    /* One boot, the device clock standing still while mono_ms moves 1 ms: no jump. */
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM findings WHERE kind = 'clock_jump'"),
                     0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM findings WHERE kind = "
                                      "'unknown_class' AND seq = 4 AND class = 'C1'"),
                     1);
}

/* Appends a heartbeat stamped ts (ISO) at mono_ms of the given boot to the chain. */
static void next_clock(struct fx *f, const char *ts, long long mono_ms, const char *boot)
{
    f->seq++;
    char *l = f->lines[f->seq];
    snprintf(l, sizeof f->lines[0],
             "{\"id\":\"01936c1e-7f3a-7b2c-8d4e-5f6a7b8c9d%02x\",\"device\":\"%s\",\"seq\":%lld,"
             "\"prev\":\"%s\",\"type\":\"heartbeat\",\"ts\":\"%s\",\"boot\":\"%s\","
             "\"mono_ms\":%lld,\"queue\":0}",
             (unsigned)f->seq, DEV, (long long)f->seq, f->head, ts, boot, mono_ms);
    crypto_sha256_hex(l, strlen(l), f->head);
}

/* A clock jump between two batches: the first new event of a batch is compared with the
 * device's stored head event (its clock columns, read with the head), or with the batch's
 * last duplicate when the batch overlaps; a new boot compares with nothing. */
static void clock_jump_across_batches(void **state)
{
    struct fx *f = *state;
    char buf[20000], sig[CRYPTO_SIG_B64_MAX + 1], err[ERR_LEN];
    struct ingest_result r;
    const char *b1 = "3f2b8c1a-9d4e-4f5a-b6c7-d8e9f0a1b2c3",
               *b2 = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
    next_clock(f, "2026-11-02T00:55:12.345Z", 1000, b1); /* 1 */
    next_clock(f, "2026-11-05T00:55:13.345Z", 2000, b1); /* 2: 3 days on, 1 s of boot clock */
    next_clock(f, "2026-11-05T00:55:14.345Z", 3000, b1); /* 3: 1 s on: fine */
    next_clock(f, "2026-11-02T00:55:12.345Z", 500, b2);  /* 4: a new boot, back: fine */
    next_clock(f, "2026-11-02T00:55:13.345Z", 1500, b2); /* 5: fine */
    next_clock(f, "2026-10-20T00:00:00.000Z", 2500, b2); /* 6: 13 days back */
    const int64_t ranges[][2] = {{1, 1}, {2, 2}, {3, 3}, {4, 4}, {4, 6}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        size_t n = body(f, ranges[i][0], ranges[i][1], buf, sizeof buf, f->key, sig);
        assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW, &r, err), RC_OK);
        assert_int_equal(r.status, 200);
    }
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events"), 6);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM findings WHERE kind = 'clock_jump'"),
                     2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM findings WHERE kind = 'clock_jump' "
                                      "AND seq = 2 AND detail_args LIKE '%\"seq_a\":\"1\"%' AND "
                                      "detail_args LIKE '%jump_forward%'"),
                     1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM findings WHERE kind = 'clock_jump' "
                                      "AND seq = 6 AND detail_args LIKE '%\"seq_a\":\"5\"%' AND "
                                      "detail_args LIKE '%jump_back%'"),
                     1);
}

struct sigs {
    struct store_batch_sig rows[8];
    size_t n;
};

static int collect_sig(const struct store_batch_sig *s, void *ctx)
{
    struct sigs *c = ctx;
    if (c->n < 8)
        c->rows[c->n] = *s;
    c->n++;
    return 0;
}

/* The stored signature verifies with the device's key over the stored last hash, which is
 * the hash of the stored line last_seq. */
static void assert_sig_proves(struct fx *f, const struct store_batch_sig *s)
{
    char err[ERR_LEN];
    uint8_t digest[CRYPTO_SHA256_LEN];
    char want[65];
    crypto_sha256_hex(f->lines[s->last_seq], strlen(f->lines[s->last_seq]), want);
    assert_string_equal(s->last_hash, want);
    assert_int_equal(crypto_unhex(s->last_hash, digest, sizeof digest), RC_OK);
    assert_int_equal(crypto_key_verify(f->key, digest, s->signature, err), RC_OK);
}

static void batch_signatures_are_kept(void **state)
{
    struct fx *f = *state;
    char buf[20000], sig[CRYPTO_SIG_B64_MAX + 1], sig13[CRYPTO_SIG_B64_MAX + 1], err[ERR_LEN];
    struct ingest_result r;
    struct sigs c = {0};
    for (int i = 0; i < 7; i++)
        next(f, DEV, 0, NULL);
    size_t n = body(f, 1, 3, buf, sizeof buf, f->key, sig13);
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig13, NOW, &r, err), RC_OK);
    assert_int_equal(r.status, 200);
    /* The same batch again: all duplicates, no second row. */
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig13, NOW + 1, &r, err), RC_OK);
    assert_true(r.status == 200 && r.duplicates == 3);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM batch_signatures"), 1);
    /* Overlap 2..5: kept with its full range. */
    n = body(f, 2, 5, buf, sizeof buf, f->key, sig);
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, sig, NOW + 2, &r, err), RC_OK);
    assert_true(r.status == 200 && r.accepted == 2 && r.duplicates == 2);
    /* A refused batch (another key) keeps nothing. */
    crypto_key *other = NULL;
    char bad[CRYPTO_SIG_B64_MAX + 1];
    assert_int_equal(crypto_key_generate(f->rng, &other, err), RC_OK);
    n = body(f, 6, 6, buf, sizeof buf, other, bad);
    crypto_key_destroy(other);
    assert_int_equal(ingest_batch(f->st, DEV, (uint8_t *)buf, n, bad, NOW, &r, err), RC_OK);
    assert_int_equal(r.status, 400);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM batch_signatures"), 2);

    assert_int_equal(store_batch_sig_list(f->st, DEV, 1, 100, collect_sig, &c, err), RC_OK);
    assert_int_equal(c.n, 2);
    assert_true(c.rows[0].first_seq == 1 && c.rows[0].last_seq == 3);
    assert_string_equal(c.rows[0].signature, sig13);
    assert_int_equal(c.rows[0].received_at_ms, NOW);
    assert_string_equal(c.rows[0].device, DEV);
    assert_true(c.rows[1].first_seq == 2 && c.rows[1].last_seq == 5);
    assert_string_equal(c.rows[1].signature, sig);
    assert_int_equal(c.rows[1].received_at_ms, NOW + 2);
    assert_sig_proves(f, &c.rows[0]);
    assert_sig_proves(f, &c.rows[1]);
    /* Only the signatures covering the asked range. */
    memset(&c, 0, sizeof c);
    assert_int_equal(store_batch_sig_list(f->st, DEV, 4, 4, collect_sig, &c, err), RC_OK);
    assert_true(c.n == 1 && c.rows[0].first_seq == 2);
    memset(&c, 0, sizeof c);
    assert_int_equal(store_batch_sig_list(f->st, DEV, 6, 9, collect_sig, &c, err), RC_OK);
    assert_int_equal(c.n, 0);
    memset(&c, 0, sizeof c);
    assert_int_equal(store_batch_sig_list(f->st, "kiosk-02", 1, 9, collect_sig, &c, err), RC_OK);
    assert_int_equal(c.n, 0);

    /* The collector's path (the group committer) keeps them the same way. */
    ingest_writer *w = NULL;
    assert_int_equal(ingest_writer_start(f->url, &w, err), RC_OK);
    n = body(f, 5, 7, buf, sizeof buf, f->key, sig);
    assert_int_equal(ingest_batch_grouped(w, f->st, DEV, (uint8_t *)buf, n, sig, NOW + 3, &r, err),
                     RC_OK);
    assert_true(r.status == 200 && r.accepted == 2 && r.duplicates == 1);
    assert_int_equal(ingest_batch_grouped(w, f->st, DEV, (uint8_t *)buf, n, sig, NOW + 4, &r, err),
                     RC_OK);
    assert_true(r.status == 200 && r.accepted == 0);
    ingest_writer_stop(w);
    memset(&c, 0, sizeof c);
    assert_int_equal(store_batch_sig_list(f->st, DEV, 6, 6, collect_sig, &c, err), RC_OK);
    assert_int_equal(c.n, 1);
    assert_true(c.rows[0].first_seq == 5 && c.rows[0].last_seq == 7);
    assert_int_equal(c.rows[0].received_at_ms, NOW + 3);
    assert_sig_proves(f, &c.rows[0]);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM batch_signatures"), 3);
}

/* One request thread of the collector: its own connection, one batch through the writer. */
struct submit {
    struct fx *f;
    ingest_writer *w;
    int64_t from, to;
    char sig[CRYPTO_SIG_B64_MAX + 1];
    char buf[4000];
    size_t n;
    struct ingest_result r;
    int rc;
    pthread_t t;
};

static void *submit_main(void *arg)
{
    struct submit *sb = arg;
    char err[ERR_LEN];
    store *st = NULL;
    sb->rc = store_open(sb->f->url, 0, &st, err);
    if (sb->rc == RC_OK)
        sb->rc = ingest_batch_grouped(sb->w, st, DEV, (uint8_t *)sb->buf, sb->n, sb->sig, NOW,
                                      &sb->r, err);
    store_close(st);
    return NULL;
}

static void submit_start(struct fx *f, ingest_writer *w, struct submit *sb, int64_t from,
                         int64_t to)
{
    memset(sb, 0, sizeof *sb);
    sb->f = f;
    sb->w = w;
    sb->n = body(f, from, to, sb->buf, sizeof sb->buf, f->key, sb->sig);
    assert_int_equal(pthread_create(&sb->t, NULL, submit_main, sb), 0);
}

/* Waits until the writer's queue holds n batches (10 s at most). */
static void queue_reaches(ingest_writer *w, size_t n)
{
    size_t depth = 0;
    int64_t oldest = 0;
    for (int i = 0; i < 1000; i++) {
        ingest_writer_queue(w, NOW, &depth, &oldest);
        if (depth >= n)
            return;
        usleep(10000);
    }
    fail_msg("the writer's queue never held %zu batches (it holds %zu)", n, depth);
}

/* A kiosk's window of batches reaching the writer out of order, both in one group: the
 * later batch must not be refused for the gap its predecessor (in the same group) fills.
 * Each round holds the writer at a group (batch k..k) with a write lock taken outside it,
 * while batch k+2..k+3 and then k+1..k+1 queue up behind it (the later one first, as a
 * kiosk's second connection can be quicker than its first). Before the writer put a
 * group's batches of one device in seq order and noticed a store in the same group, the
 * later batch was refused for the gap and, whenever its predecessor's thread had left
 * first, answered 409: about every other round. */
static void window_out_of_order_in_one_group(void **state)
{
    struct fx *f = *state;
    char err[ERR_LEN];
    enum { ROUNDS = 9 };
    for (int i = 0; i < 4 * ROUNDS; i++)
        next(f, DEV, 0, NULL);
    ingest_writer *w = NULL;
    assert_int_equal(ingest_writer_start(f->url, &w, err), RC_OK);
    struct submit *sb = calloc(3, sizeof *sb);
    assert_non_null(sb);
    for (int round = 0; round < ROUNDS; round++) {
        const int64_t k = 4 * round + 1;
        sqlite3 *lock = NULL;
        assert_int_equal(sqlite3_open_v2(f->path, &lock, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        submit_start(f, w, &sb[0], k, k);
        usleep(50000); /* the writer takes k..k and waits for the lock */
        submit_start(f, w, &sb[1], k + 2, k + 3);
        queue_reaches(w, 1);
        submit_start(f, w, &sb[2], k + 1, k + 1);
        queue_reaches(w, 2);
        assert_int_equal(sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(lock);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(pthread_join(sb[i].t, NULL), 0);
            assert_int_equal(sb[i].rc, RC_OK);
            if (sb[i].r.status != 200)
                fail_msg("round %d: batch %d answered %u: %s", round, i, sb[i].r.status,
                         sb[i].r.reason);
            assert_int_equal(sb[i].r.accepted, i == 1 ? 2 : 1);
        }
    }
    free(sb);
    ingest_writer_stop(w);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events"), 4 * ROUNDS);
    assert_int_equal(raw_int(f->path, "SELECT seq FROM chain_heads"), 4 * ROUNDS);
}

/* A store failure in one batch of a group (here a trigger that refuses the batch signature
 * of seq 3, written after its events): that batch is answered with the error and none of
 * its events stays; the batch before it in the same group is stored all the same (the writer
 * applies the group again, each batch in a savepoint); sent again once the store works, the
 * failed batch is accepted. The group is made as in window_out_of_order_in_one_group: the
 * writer held at batch 1 by a write lock while 2 and 3 queue behind it. */
static void a_store_failure_spares_the_rest_of_the_group(void **state)
{
    struct fx *f = *state;
    char err[ERR_LEN];
    for (int i = 0; i < 3; i++)
        next(f, DEV, 0, NULL);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TRIGGER boom BEFORE INSERT ON batch_signatures "
                                  "WHEN NEW.first_seq = 3 BEGIN SELECT RAISE(ABORT, 'boom'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ingest_writer *w = NULL;
    assert_int_equal(ingest_writer_start(f->url, &w, err), RC_OK);
    struct submit *sb = calloc(3, sizeof *sb);
    assert_non_null(sb);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    submit_start(f, w, &sb[0], 1, 1);
    usleep(50000); /* the writer takes 1..1 and waits for the lock */
    submit_start(f, w, &sb[1], 2, 2);
    queue_reaches(w, 1);
    submit_start(f, w, &sb[2], 3, 3);
    queue_reaches(w, 2);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_join(sb[i].t, NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sb[i].rc, RC_OK);
        assert_int_equal(sb[i].r.status, 200);
        assert_int_equal(sb[i].r.accepted, 1);
    }
    assert_int_not_equal(sb[2].rc, RC_OK);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events"), 2);
    assert_int_equal(raw_int(f->path, "SELECT max(seq) FROM events"), 2);
    assert_int_equal(raw_int(f->path, "SELECT seq FROM chain_heads"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM batch_signatures"), 2);
    /* the store works again: batch 3 is accepted */
    assert_int_equal(sqlite3_exec(db, "DROP TRIGGER boom", NULL, NULL, NULL), SQLITE_OK);
    submit_start(f, w, &sb[2], 3, 3);
    assert_int_equal(pthread_join(sb[2].t, NULL), 0);
    assert_int_equal(sb[2].rc, RC_OK);
    assert_int_equal(sb[2].r.status, 200);
    assert_int_equal(sb[2].r.accepted, 1);
    sqlite3_close(db);
    free(sb);
    ingest_writer_stop(w);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events"), 3);
    assert_int_equal(raw_int(f->path, "SELECT seq FROM chain_heads"), 3);
}

/* The server-wide state these modules use, set up as server/main.c does. */
static int server_state_init(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    if (fences_init(err) != RC_OK || classes_init(err) != RC_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int server_state_fini(void **state)
{
    (void)state;
    classes_fini();
    fences_fini();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_refuses_framing),
        cmocka_unit_test_setup_teardown(batches_apply_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(a_new_first_line_must_link_to_the_head, setup, teardown),
        cmocka_unit_test_setup_teardown(verdicts_are_rejudged, setup, teardown),
        cmocka_unit_test_setup_teardown(fences_keep_history, setup, teardown),
        cmocka_unit_test_setup_teardown(clock_and_class_findings, setup, teardown),
        cmocka_unit_test_setup_teardown(clock_jump_across_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_signatures_are_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(window_out_of_order_in_one_group, setup, teardown),
        cmocka_unit_test_setup_teardown(a_store_failure_spares_the_rest_of_the_group, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, server_state_init, server_state_fini);
}

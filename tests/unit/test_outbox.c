/* outbox: seq/prev assignment, durability across reopen, acknowledgement, pending batches,
 * the size cap (prunes acknowledged events only, refuses when nothing can go), chain
 * verification, tamper detection, a corrupt database moved aside, and the storage-full mark
 * with its recovery after an acknowledgement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"
#include "event.h"
#include "outbox.h"
#include "rc.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    char path[128];
    int64_t counter;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rollcall-outbox-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/outbox.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
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

/* A heartbeat with a unique, well-formed v7 id; seq and prev are the outbox's to assign. */
static void make_event(struct fixture *f, struct event *ev, const char *detail)
{
    memset(ev, 0, sizeof *ev);
    f->counter++;
    snprintf(ev->id, sizeof ev->id, "01936a2b-0000-7000-8000-%012llx", (long long)f->counter);
    snprintf(ev->device, sizeof ev->device, "KIOSK-1");
    snprintf(ev->boot, sizeof ev->boot, "5f0c5a52-2f3c-4a4e-9d51-0a8a1c3b9e11");
    ev->ts_ms = 1764000000000 + f->counter * 1000;
    ev->mono_ms = f->counter * 1000;
    if (detail) {
        ev->type = EVENT_GNSS;
        ev->has = EVENT_HAS(EVENT_F_KIND) | EVENT_HAS(EVENT_F_DETAIL);
        snprintf(ev->kind, sizeof ev->kind, "frozen");
        snprintf(ev->detail, sizeof ev->detail, "%s", detail);
    } else {
        ev->type = EVENT_HEARTBEAT;
        ev->has = EVENT_HAS(EVENT_F_QUEUE);
        ev->queue = f->counter;
    }
}

static void append_n(struct fixture *f, outbox *ob, int n)
{
    char err[ERR_LEN];
    for (int i = 0; i < n; i++) {
        struct event ev;
        make_event(f, &ev, NULL);
        assert_int_equal(outbox_append(ob, &ev, NULL, NULL, err), RC_OK);
    }
}

static void assigns_seq_and_prev(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    outbox *ob = NULL;
    assert_int_equal(outbox_open(f->path, NULL, &ob, err), RC_OK);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    char line1[EVENT_LINE_MAX + 1], line2[EVENT_LINE_MAX + 1];
    size_t len1 = 0, len2 = 0;
    struct event a, b;
    make_event(f, &a, NULL);
    make_event(f, &b, NULL);
    assert_int_equal(outbox_append(ob, &a, line1, &len1, err), RC_OK);
    assert_int_equal(outbox_append(ob, &b, line2, &len2, err), RC_OK);
    assert_int_equal(a.seq, 1);
    assert_int_equal(b.seq, 2);
    assert_string_equal(a.prev, "0000000000000000000000000000000000000000000000000000000000000000");
    /* b's prev is the SHA-256 of a's exact bytes, computed here independently. */
    char expect[CRYPTO_SHA256_HEX_LEN + 1];
    crypto_sha256_hex(line1, len1, expect);
    assert_string_equal(b.prev, expect);
    assert_non_null(strstr(line2, expect));

    struct outbox_stats st;
    assert_int_equal(outbox_stats(ob, &st, err), RC_OK);
    assert_int_equal(st.head_seq, 2);
    assert_int_equal(st.queue, 2);
    assert_int_equal(st.oldest_unsent_ts_ms, a.ts_ms);
    crypto_sha256_hex(line2, len2, expect);
    assert_string_equal(st.head_hash, expect);
    outbox_close(ob);

    /* Reopened, the chain continues where it was. */
    assert_int_equal(outbox_open(f->path, NULL, &ob, err), RC_OK);
    struct event c;
    make_event(f, &c, NULL);
    assert_int_equal(outbox_append(ob, &c, NULL, NULL, err), RC_OK);
    assert_int_equal(c.seq, 3);
    assert_string_equal(c.prev, expect);
    int64_t count = 0;
    assert_int_equal(outbox_verify(ob, &count, NULL, err), RC_OK);
    assert_int_equal(count, 3);
    outbox_close(ob);
}

static void invalid_event_changes_nothing(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    outbox *ob = NULL;
    assert_int_equal(outbox_open(f->path, NULL, &ob, err), RC_OK);
    append_n(f, ob, 1);
    struct event bad;
    make_event(f, &bad, NULL);
    snprintf(bad.device, sizeof bad.device, "bad device!");
    assert_int_equal(outbox_append(ob, &bad, NULL, NULL, err), RC_INVAL);
    assert_int_equal(bad.seq, 0);
    struct outbox_stats st;
    assert_int_equal(outbox_stats(ob, &st, err), RC_OK);
    assert_int_equal(st.head_seq, 1);
    assert_int_equal(st.stored, 1);
    outbox_close(ob);
}

struct collect {
    int64_t seqs[64];
    size_t n;
    size_t bytes;
};

static int collect_fn(void *ctx, int64_t seq, const char *line, size_t len)
{
    struct collect *c = ctx;
    (void)line;
    c->seqs[c->n++] = seq;
    c->bytes += len + 1;
    return 0;
}

static void pending_and_ack(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    outbox *ob = NULL;
    assert_int_equal(outbox_open(f->path, NULL, &ob, err), RC_OK);
    append_n(f, ob, 10);

    struct collect c = {0};
    size_t visited = 0;
    assert_int_equal(outbox_pending(ob, 0, 4, 1 << 20, collect_fn, &c, &visited, err), RC_OK);
    assert_int_equal(visited, 4);
    assert_int_equal(c.seqs[0], 1);
    assert_int_equal(c.seqs[3], 4);

    /* A byte limit smaller than one line still yields one event. */
    memset(&c, 0, sizeof c);
    assert_int_equal(outbox_pending(ob, 4, 100, 10, collect_fn, &c, &visited, err), RC_OK);
    assert_int_equal(visited, 1);
    assert_int_equal(c.seqs[0], 5);

    assert_int_equal(outbox_ack(ob, 4, err), RC_OK);
    assert_int_equal(outbox_ack(ob, 2, err), RC_OK); /* never moves back */
    assert_int_equal(outbox_ack(ob, 11, err), RC_INVAL);
    struct outbox_stats st;
    assert_int_equal(outbox_stats(ob, &st, err), RC_OK);
    assert_int_equal(st.ack_seq, 4);
    assert_int_equal(st.queue, 6);
    int64_t head_seq = -1, ack_seq = -1;
    assert_int_equal(outbox_seqs(ob, &head_seq, &ack_seq, err), RC_OK);
    assert_int_equal(head_seq, 10);
    assert_int_equal(ack_seq, 4);
    outbox_close(ob);
}

static void cap_prunes_only_acknowledged(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    outbox *ob = NULL;
    struct outbox_options opt = {.max_bytes = OUTBOX_MIN_CAP_BYTES};
    assert_int_equal(outbox_open(f->path, &opt, &ob, err), RC_OK);

    /* Fill with unacknowledged events until the outbox refuses. */
    char detail[400];
    memset(detail, 'x', sizeof detail - 1);
    detail[sizeof detail - 1] = '\0';
    int recorded = 0;
    int rc = RC_OK;
    while (recorded < 10000) {
        struct event ev;
        make_event(f, &ev, detail);
        rc = outbox_append(ob, &ev, NULL, NULL, err);
        if (rc != RC_OK)
            break;
        recorded++;
    }
    assert_int_equal(rc, RC_FULL);
    assert_non_null(strstr(err, "outbox full"));
    assert_true(recorded > 10);
    struct outbox_stats st;
    assert_int_equal(outbox_stats(ob, &st, err), RC_OK);
    assert_int_equal(st.head_seq, recorded);
    assert_int_equal(st.stored, recorded); /* nothing unacknowledged was pruned */

    /* Once the server holds half, new events fit again by pruning the oldest acknowledged. */
    int64_t half = recorded / 2;
    assert_int_equal(outbox_ack(ob, half, err), RC_OK);
    for (int i = 0; i < 5; i++) {
        struct event ev;
        make_event(f, &ev, detail);
        assert_int_equal(outbox_append(ob, &ev, NULL, NULL, err), RC_OK);
    }
    assert_int_equal(outbox_stats(ob, &st, err), RC_OK);
    assert_int_equal(st.head_seq, recorded + 5);
    assert_true(st.stored < recorded + 5);
    assert_int_equal(st.queue, recorded + 5 - half); /* every unacknowledged event is still there */
    int64_t count = 0;
    assert_int_equal(outbox_verify(ob, &count, NULL, err), RC_OK);
    assert_int_equal(count, st.stored);

    /* Asking for pruned events is an error, not a silent gap. */
    struct collect c = {0};
    size_t visited = 0;
    assert_int_equal(outbox_pending(ob, 0, 10, 1 << 20, collect_fn, &c, &visited, err),
                     RC_NOTFOUND);
    outbox_close(ob);
}

static void verify_detects_tampering(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    outbox *ob = NULL;
    assert_int_equal(outbox_open(f->path, NULL, &ob, err), RC_OK);
    append_n(f, ob, 5);
    outbox_close(ob);

    /* Change one byte of event 3 behind the agent's back. */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE events SET line = CAST(replace(CAST(line AS TEXT), "
                                  "'\"queue\":3', '\"queue\":4') AS BLOB) WHERE seq = 3",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);

    assert_int_equal(outbox_open(f->path, NULL, &ob, err), RC_OK);
    int64_t count = 0;
    struct event_chain_break brk = {0};
    int rc = outbox_verify(ob, &count, &brk, err);
    assert_true(rc == RC_CONFLICT || rc == RC_INVAL);
    assert_int_equal(count, 2);
    assert_true(brk.seq == 3 || brk.seq == 4);
    outbox_close(ob);
}

static void corrupt_database_is_moved_aside(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    outbox *ob = NULL;
    assert_int_equal(outbox_open(f->path, NULL, &ob, err), RC_OK);
    append_n(f, ob, 200);
    outbox_close(ob);

    /* Overwrite page 2 (the events table's root) with garbage. */
    FILE *fp = fopen(f->path, "r+b");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    assert_true(size > 3 * 4096);
    fseek(fp, 4096, SEEK_SET);
    char junk[4096];
    memset(junk, 0xA5, sizeof junk);
    fwrite(junk, 1, sizeof junk, fp);
    fclose(fp);

    assert_int_equal(outbox_open(f->path, NULL, &ob, err), RC_CORRUPT);
    assert_null(ob);
    assert_non_null(strstr(err, "moved to"));
    struct stat sb;
    assert_int_not_equal(stat(f->path, &sb), 0); /* not silently replaced */
    DIR *d = opendir(f->dir);
    struct dirent *e;
    int aside = 0;
    while ((e = readdir(d)) != NULL)
        aside += strstr(e->d_name, "outbox.db.corrupt-") != NULL;
    closedir(d);
    assert_true(aside >= 1);
}

static void small_cap_refused(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    outbox *ob = NULL;
    struct outbox_options opt = {.max_bytes = 1000};
    assert_int_equal(outbox_open(f->path, &opt, &ob, err), RC_INVAL);
    assert_null(ob);
}

static void state_round_trip(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN], buf[64];
    outbox *ob = NULL;
    assert_int_equal(outbox_open(f->path, NULL, &ob, err), RC_OK);
    assert_int_equal(outbox_state_get(ob, "last_sync", buf, sizeof buf, err), RC_NOTFOUND);
    assert_int_equal(outbox_state_set(ob, "last_sync", "2026-11-27T10:00:00.000Z", err), RC_OK);
    assert_int_equal(outbox_state_get(ob, "last_sync", buf, sizeof buf, err), RC_OK);
    assert_string_equal(buf, "2026-11-27T10:00:00.000Z");
    assert_int_equal(outbox_state_delete(ob, "last_sync", err), RC_OK);
    assert_int_equal(outbox_state_get(ob, "last_sync", buf, sizeof buf, err), RC_NOTFOUND);
    outbox_close(ob);
}

/* Storage full: the first refusal marks it (and a later one keeps "since"); the reserve file
 * is there at full size; an acknowledgement prunes what the server holds, clears the mark,
 * and events are recorded again. */
static void full_mark_and_recovery(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    outbox *ob = NULL;
    struct outbox_options opt = {.max_bytes = OUTBOX_MIN_CAP_BYTES};
    assert_int_equal(outbox_open(f->path, &opt, &ob, err), RC_OK);
    struct outbox_stats st;
    assert_int_equal(outbox_stats(ob, &st, err), RC_OK);
    assert_int_equal(st.full_since_ms, 0);
    assert_int_equal(st.reserve_bytes, OUTBOX_RESERVE_BYTES);
    char reserve[160];
    struct stat sb;
    snprintf(reserve, sizeof reserve, "%s-reserve", f->path);
    assert_int_equal(stat(reserve, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    char detail[400];
    memset(detail, 'x', sizeof detail - 1);
    detail[sizeof detail - 1] = '\0';
    int rc = RC_OK;
    for (int i = 0; i < 10000 && rc == RC_OK; i++) {
        struct event ev;
        make_event(f, &ev, detail);
        rc = outbox_append(ob, &ev, NULL, NULL, err);
    }
    assert_int_equal(rc, RC_FULL);
    assert_int_equal(outbox_stats(ob, &st, err), RC_OK);
    int64_t since = st.full_since_ms;
    assert_true(since > 0);
    int64_t head = st.head_seq;

    /* A second refusal keeps the first time. */
    struct event ev;
    make_event(f, &ev, detail);
    assert_int_equal(outbox_append(ob, &ev, NULL, NULL, err), RC_FULL);
    assert_int_equal(outbox_stats(ob, &st, err), RC_OK);
    assert_int_equal(st.full_since_ms, since);
    assert_int_equal(st.head_seq, head);

    /* The server holds everything: pruned at once, the mark cleared, events fit again. */
    assert_int_equal(outbox_ack(ob, head, err), RC_OK);
    assert_int_equal(outbox_stats(ob, &st, err), RC_OK);
    assert_int_equal(st.full_since_ms, 0);
    assert_int_equal(st.stored, 1); /* the head is kept */
    assert_int_equal(st.ack_seq, head);
    assert_int_equal(st.reserve_bytes, OUTBOX_RESERVE_BYTES);
    make_event(f, &ev, detail);
    assert_int_equal(outbox_append(ob, &ev, NULL, NULL, err), RC_OK);
    int64_t count = 0;
    assert_int_equal(outbox_verify(ob, &count, NULL, err), RC_OK);
    assert_int_equal(count, 2);
    outbox_close(ob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(assigns_seq_and_prev, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_event_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(pending_and_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(cap_prunes_only_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_detects_tampering, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_database_is_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(small_cap_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(state_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(full_mark_and_recovery, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* labels: collector pg */
/* The figures' store side and scopes: the reader roles' matrix (scope.h) written out by hand
 * from docs/API.md; the inputs generation bumped by every kind of input (triggers), the figures
 * cache used only at its generation, and a summary with the cache equal to one without. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "engine/classes.h"
#include "engine/fences.h"
#include "engine/figures.h"
#include "http/scope.h"
#include "rc.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct auth_principal who(const char *role)
{
    struct auth_principal p;
    char err[ERR_LEN];
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "t");
    assert_int_equal(auth_role_parse(role, &p.role, err), RC_OK);
    return p;
}

static void scope_matrix(void **state)
{
    (void)state;
    /* role, action, institution, district of the resource, allowed */
    static const struct {
        const char *role;
        enum scope_action a;
        const char *inst, *district;
        bool ok;
    } m[] = {
        {"admin", SCOPE_READ, "A", "120103", true},
        {"admin", SCOPE_REVIEW, "A", "", true},
        {"institution:A", SCOPE_READ, "A", "120103", true},
        {"institution:A", SCOPE_READ, "B", "120103", false},
        {"institution:A", SCOPE_WRITE_PLAN, "A", "", true},
        {"institution:A", SCOPE_WRITE_PLAN, "B", "", false},
        {"institution:A", SCOPE_READ_SUBSIDY, "A", "120103", true},
        {"institution:A", SCOPE_REVIEW, "A", "120103", false},
        {"district:120103", SCOPE_READ, "B", "120103", true},
        {"district:120103", SCOPE_READ, "B", "120104", false},
        {"district:120103", SCOPE_READ, "B", "", false},
        {"district:120103", SCOPE_REVIEW, "B", "120103", true},
        {"district:120103", SCOPE_WRITE_PLAN, "B", "120103", false},
        {"district:120103", SCOPE_READ_SUBSIDY, "B", "120103", true},
        {"evaluator", SCOPE_READ, "B", "120104", true},
        {"evaluator", SCOPE_READ_SUBSIDY, "B", "120104", false},
        {"evaluator", SCOPE_WRITE_ASSESSMENT, "B", "120104", false},
        {"assessor:PJ", SCOPE_WRITE_ASSESSMENT, "B", "120104", true},
        {"assessor:PJ", SCOPE_READ, "B", "120104", false},
        {"evaluator", SCOPE_WRITE_ONLINE, "B", "120104", false},
        {"evaluator", SCOPE_REVIEW, "B", "120104", false},
        {"enroll", SCOPE_READ, "A", "120103", false},
        {"device:K-1", SCOPE_READ, "A", "120103", false},
        {"device:K-1", SCOPE_WRITE_ONLINE, "A", "120103", false},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        struct auth_principal p = who(m[i].role);
        if (scope_may(&p, m[i].a, m[i].inst, m[i].district) != m[i].ok)
            fail_msg("row %zu: %s action %d on %s/%s", i, m[i].role, (int)m[i].a, m[i].inst,
                     m[i].district);
    }
    assert_false(scope_may(NULL, SCOPE_READ, "A", "120103"));
    struct auth_principal a = who("institution:A"), d = who("district:120103"),
                          e = who("evaluator"), ad = who("admin");
    assert_int_equal(scope_identity_for(&a, "A"), SCOPE_NAMES);
    assert_int_equal(scope_identity_for(&a, "B"), SCOPE_MASKED);
    assert_int_equal(scope_identity_for(&d, "A"), SCOPE_MASKED);
    assert_int_equal(scope_identity_for(&e, "A"), SCOPE_MASKED);
    assert_int_equal(scope_identity_for(&ad, "A"), SCOPE_NAMES);
    const char *inst, *dist;
    char err[ERR_LEN];
    /* Filters that need no lookup (the ones that do are walked over HTTP in
     * tests/integration/test_scope_matrix.py). */
    assert_int_equal(scope_narrow(NULL, &a, NULL, NULL, &inst, &dist, err), RC_OK);
    assert_string_equal(inst, "A");
    assert_null(dist);
    assert_int_equal(scope_narrow(NULL, &a, "B", NULL, &inst, &dist, err), RC_AUTH);
    assert_int_equal(scope_narrow(NULL, &d, NULL, NULL, &inst, &dist, err), RC_OK);
    assert_string_equal(dist, "120103");
    assert_int_equal(scope_narrow(NULL, &d, NULL, "120104", &inst, &dist, err), RC_AUTH);
    assert_int_equal(scope_narrow(NULL, &e, "B", "120104", &inst, &dist, err), RC_OK);
    assert_string_equal(inst, "B");
}

static const char PLAN[] =
    "{\"id\": \"C-1\", \"institution\": \"INST-1\", \"district\": \"120103\","
    " \"occupation\": \"2-02-10-09\", \"level\": \"junior\", \"applied_on\": \"2026-10-01\","
    " \"sessions\": [{\"id\": \"S01\", \"start\": \"2026-11-02T09:00:00+08:00\","
    " \"end\": \"2026-11-02T12:00:00+08:00\", \"mode\": \"offline\", \"fence\": \"v\"},"
    " {\"id\": \"S02\", \"start\": \"2026-11-03T19:00:00+08:00\","
    " \"end\": \"2026-11-03T21:00:00+08:00\", \"mode\": \"online\"}],"
    " \"roster\": [{\"id_number\": \"120103199001011231\", \"name\": \"张三\", \"student\": "
    "false}]}";

static const char ONLINE[] = "[{\"class\": \"C-1\", \"id_number\": \"120103199001011231\","
                             " \"start\": \"2026-11-03T19:00:00+08:00\","
                             " \"end\": \"2026-11-03T20:00:00+08:00\", \"platform\": \"p\"}]";

/* Removes a SQLite database and its side files. */
static void unlink_db(const char *path)
{
    char side[160];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* An alert subscription for the whole city, so serious findings are queued for it. */
static void subscribe_city(store *st)
{
    char err[ERR_LEN];
    struct store_alert_sub sub = {.format = "json", .created_by = "t", .created_at_ms = 1};
    snprintf(sub.name, sizeof sub.name, "city");
    snprintf(sub.url, sizeof sub.url, "https://hooks.example/x");
    assert_int_equal(store_alert_sub_insert(st, &sub, err), RC_OK);
}

static int64_t gen_of(store *st)
{
    struct store_class c;
    char err[ERR_LEN];
    assert_int_equal(store_class_get(st, "C-1", &c, err), RC_OK);
    return c.gen;
}

static void cache_follows_generations(void **state)
{
    (void)state;
    char path[] = "/tmp/test_figures_store_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    char url[128], err[ERR_LEN];
    snprintf(url, sizeof url, "sqlite:%s", path);
    setenv("ROLLCALL_SOURCE_DIR", ROLLCALL_SOURCE_DIR, 0);
    store *st = NULL;
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    struct classes_actor admin = {.name = "test"};
    struct classes_result r;
    assert_int_equal(classes_import(st, CLASSES_PLANS, PLAN, strlen(PLAN), "plan", PLAN_FORMAT_JSON,
                                    &admin, &r, err),
                     RC_OK);
    assert_int_equal(r.created, 1);
    int64_t g0 = gen_of(st);

    /* A summary fills the cache; the next one reads it; both agree with no cache at all. */
    int64_t now = INT64_C(1798000000000); /* after the class */
    struct figures_summary *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(figures_summary(st, NULL, now, true, &a, err), RC_OK);
    assert_int_equal(a->computed, 1);
    assert_int_equal(figures_summary(st, NULL, now, true, &b, err), RC_OK);
    assert_int_equal(b->cached, 1);
    assert_int_equal(figures_summary(st, NULL, now, false, &c, err), RC_OK);
    assert_int_equal(c->computed, 1);
    char *ja = NULL, *jb = NULL, *jc = NULL;
    assert_int_equal(figures_summary_json(a, NULL, &ja, err), RC_OK);
    assert_int_equal(figures_summary_json(b, NULL, &jb, err), RC_OK);
    assert_int_equal(figures_summary_json(c, NULL, &jc, err), RC_OK);
    assert_string_equal(ja, jb);
    assert_string_equal(ja, jc);
    /* 5 h scheduled (3 offline + 2 online), nothing attended yet */
    assert_int_equal(b->rows[0].fig.roster_scheduled_ms, 5 * 3600000);
    assert_int_equal(b->rows[0].fig.roster_attended_ms, 0);

    /* An online record bumps the generation: the cache is stale, the new figures show it. */
    assert_int_equal(classes_import(st, CLASSES_ONLINE, ONLINE, strlen(ONLINE), "online",
                                    PLAN_FORMAT_JSON, &admin, &r, err),
                     RC_OK);
    int64_t g1 = gen_of(st);
    assert_true(g1 > g0);
    struct figures_summary *d = NULL;
    assert_int_equal(figures_summary(st, NULL, now, true, &d, err), RC_OK);
    assert_int_equal(d->computed, 1);
    assert_int_equal(d->rows[0].fig.roster_attended_ms, 3600000);
    /* The same record again is a duplicate: nothing changes, the cache stays fresh. */
    assert_int_equal(classes_import(st, CLASSES_ONLINE, ONLINE, strlen(ONLINE), "online",
                                    PLAN_FORMAT_JSON, &admin, &r, err),
                     RC_OK);
    assert_int_equal(r.duplicates, 1);
    assert_int_equal(gen_of(st), g1);
    /* A cache row for an older generation is not stored. */
    struct store_figures f = d->rows[0].fig;
    assert_int_equal(store_figures_clear(st, err), RC_OK);
    assert_int_equal(store_figures_put(st, "C-1", "default", g0, &f, now, err), RC_OK);
    bool found = true;
    assert_int_equal(store_figures_get(st, "C-1", "default", g0, now, &f, &found, err), RC_OK);
    assert_false(found);
    /* Re-declaring the plan bumps it too. */
    assert_int_equal(classes_import(st, CLASSES_PLANS, PLAN, strlen(PLAN), "plan", PLAN_FORMAT_JSON,
                                    &admin, &r, err),
                     RC_OK);
    assert_true(gen_of(st) > g1);

    free(ja);
    free(jb);
    free(jc);
    figures_summary_free(a);
    figures_summary_free(b);
    figures_summary_free(c);
    figures_summary_free(d);
    store_close(st);
    unlink_db(path);
}

/* The last column ("todo", the pending reviews) of the text line that starts with key in the
 * section whose header starts with section. */
static long text_pending(const char *text, const char *section, const char *key)
{
    const char *sec = strstr(text, section);
    assert_non_null(sec);
    size_t klen = strlen(key);
    for (const char *l = sec; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, klen) == 0 && l[klen] == ' ') {
            const char *end = strchr(l, '\n');
            const char *p = end - 1;
            while (p > l && *p != ' ')
                p--;
            return strtol(p + 1, NULL, 10);
        }
    }
    fail_msg("no line %s in section %s", key, section);
    return -1;
}

/* The text summary's institution and district rows carry the pending reviews of their classes,
 * as the JSON's do. */
static void text_summary_counts_pending_reviews(void **state)
{
    (void)state;
    struct figures_row rows[3];
    memset(rows, 0, sizeof rows);
    static const char *const ids[] = {"C1", "C2", "C3"}, *const inst[] = {"I1", "I1", "I2"};
    static const int64_t pending[] = {2, 3, 4};
    for (size_t i = 0; i < 3; i++) {
        snprintf(rows[i].cls.id, sizeof rows[i].cls.id, "%s", ids[i]);
        snprintf(rows[i].cls.institution, sizeof rows[i].cls.institution, "%s", inst[i]);
        snprintf(rows[i].cls.district, sizeof rows[i].cls.district, "120103");
        rows[i].fig.findings_pending = pending[i];
    }
    struct engine_total insts[2], dist[1];
    memset(insts, 0, sizeof insts);
    memset(dist, 0, sizeof dist);
    snprintf(insts[0].key, sizeof insts[0].key, "I1");
    insts[0].classes = 2;
    snprintf(insts[1].key, sizeof insts[1].key, "I2");
    insts[1].classes = 1;
    snprintf(dist[0].key, sizeof dist[0].key, "120103");
    dist[0].classes = 3;
    struct figures_summary s = {.policy = "default",
                                .policy_version = 1,
                                .n = 3,
                                .rows = rows,
                                .n_institutions = 2,
                                .n_districts = 1,
                                .institutions = insts,
                                .districts = dist};
    char err[ERR_LEN], *text = NULL;
    assert_int_equal(figures_summary_text(&s, &text, err), RC_OK);
    assert_int_equal(text_pending(text, "class ", "C1"), 2);
    assert_int_equal(text_pending(text, "institution ", "I1"), 5);
    assert_int_equal(text_pending(text, "institution ", "I2"), 4);
    assert_int_equal(text_pending(text, "district ", "120103"), 9);
    free(text);
}

/* The server-wide state these modules use, set up as server/main.c does. */
static bool stop_now(void *ctx)
{
    (void)ctx;
    return true;
}

static int count_serious(const struct store_alert_delivery *d, void *ctx)
{
    (void)d;
    (*(int *)ctx)++;
    return 0;
}

/* The warmer's pass (figures_warm): stale classes recomputed and cached, at most max, none
 * once stopped; the class's serious findings alerted once however often it is recomputed. */
static void warm_pass_caches_and_alerts_once(void **state)
{
    (void)state;
    char path[] = "/tmp/test_figures_warm_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    char url[128], err[ERR_LEN];
    snprintf(url, sizeof url, "sqlite:%s", path);
    setenv("ROLLCALL_SOURCE_DIR", ROLLCALL_SOURCE_DIR, 0);
    store *st = NULL;
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    struct classes_actor admin = {.name = "test"};
    struct classes_result r;
    assert_int_equal(classes_import(st, CLASSES_PLANS, PLAN, strlen(PLAN), "plan", PLAN_FORMAT_JSON,
                                    &admin, &r, err),
                     RC_OK);
    subscribe_city(st);
    int64_t now = INT64_C(1798000000000); /* after the class: nobody attended, serious */
    struct figures_warm_result w;
    assert_int_equal(figures_warm(st, now, 0, NULL, NULL, &w, err), RC_OK);
    assert_int_equal(w.computed, 0);
    assert_int_equal(w.left, 1);
    assert_int_equal(figures_warm(st, now, 10, stop_now, NULL, &w, err), RC_OK);
    assert_int_equal(w.computed, 0);
    assert_int_equal(w.left, 1);
    assert_int_equal(figures_warm(st, now, 10, NULL, NULL, &w, err), RC_OK);
    assert_int_equal(w.computed, 1);
    assert_int_equal(w.left, 0);
    assert_int_equal(w.alerted, 1); /* attendance_low, serious */
    int n = 0;
    struct store_alert_filter all = {0};
    assert_int_equal(store_alert_deliveries(st, &all, 10, count_serious, &n, err), RC_OK);
    assert_int_equal(n, 1);
    /* fresh now: a reader finds it cached, the next pass has nothing to do */
    struct figures_summary *s = NULL;
    assert_int_equal(figures_summary(st, NULL, now, true, &s, err), RC_OK);
    assert_int_equal(s->cached, 1);
    assert_int_equal(s->rows[0].fig.findings[2], 1);
    figures_summary_free(s);
    assert_int_equal(figures_warm(st, now, 10, NULL, NULL, &w, err), RC_OK);
    assert_int_equal(w.computed, 0);
    /* new input: recomputed, the same finding (attendance still low) not alerted again */
    assert_int_equal(classes_import(st, CLASSES_ONLINE, ONLINE, strlen(ONLINE), "online",
                                    PLAN_FORMAT_JSON, &admin, &r, err),
                     RC_OK);
    assert_int_equal(figures_warm(st, now, 10, NULL, NULL, &w, err), RC_OK);
    assert_int_equal(w.computed, 1);
    assert_int_equal(w.alerted, 0);
    /* nor by a reader recomputing it after the cache is dropped */
    assert_int_equal(store_figures_clear(st, err), RC_OK);
    assert_int_equal(figures_summary(st, NULL, now, true, &s, err), RC_OK);
    assert_int_equal(s->computed, 1);
    figures_summary_free(s);
    n = 0;
    assert_int_equal(store_alert_deliveries(st, &all, 10, count_serious, &n, err), RC_OK);
    assert_int_equal(n, 1);
    store_close(st);
    unlink_db(path);
}

enum { PAR_CLASSES = 7 };

/* A summary's classes computed on several threads, each on its own connection, give what one
 * thread gives: the same JSON, every class cached once at its generation, each serious
 * finding alerted once; inside a transaction the caller's thread does it alone. */
static void summary_on_threads(const char *url)
{
    char err[ERR_LEN];
    store *st = NULL;
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    struct classes_actor admin = {.name = "test"};
    struct classes_result r;
    for (int i = 1; i <= PAR_CLASSES; i++) {
        char plan[sizeof PLAN + 32], online[sizeof ONLINE + 32], id[16];
        snprintf(id, sizeof id, "\"C-%d\"", i);
        const char *at = strstr(PLAN, "\"C-1\"");
        snprintf(plan, sizeof plan, "%.*s%s%s", (int)(at - PLAN), PLAN, id, at + 5);
        assert_int_equal(classes_import(st, CLASSES_PLANS, plan, strlen(plan), "plan",
                                        PLAN_FORMAT_JSON, &admin, &r, err),
                         RC_OK);
        if (i % 2) { /* half the classes attended online: their figures differ */
            at = strstr(ONLINE, "\"C-1\"");
            snprintf(online, sizeof online, "%.*s%s%s", (int)(at - ONLINE), ONLINE, id, at + 5);
            assert_int_equal(classes_import(st, CLASSES_ONLINE, online, strlen(online), "online",
                                            PLAN_FORMAT_JSON, &admin, &r, err),
                             RC_OK);
        }
    }
    subscribe_city(st);
    int64_t now = INT64_C(1798000000000); /* after the classes: attendance low, serious */

    figures_set_summary_threads(1);
    struct figures_summary *one = NULL, *many = NULL, *again = NULL, *in_tx = NULL;
    assert_int_equal(figures_summary(st, NULL, now, false, &one, err), RC_OK);
    assert_int_equal(one->threads, 1);
    assert_int_equal(one->computed, PAR_CLASSES);

    figures_set_summary_threads(3);
    assert_int_equal(figures_summary(st, NULL, now, true, &many, err), RC_OK);
    assert_int_equal(many->threads, 3);
    assert_int_equal(many->computed + many->cached, PAR_CLASSES);
    assert_int_equal(many->computed, PAR_CLASSES);
    char *j1 = NULL, *j2 = NULL, *j3 = NULL;
    assert_int_equal(figures_summary_json(one, NULL, &j1, err), RC_OK);
    assert_int_equal(figures_summary_json(many, NULL, &j2, err), RC_OK);
    assert_string_equal(j1, j2);
    int alerts = 0;
    struct store_alert_filter all = {0};
    assert_int_equal(store_alert_deliveries(st, &all, 100, count_serious, &alerts, err), RC_OK);
    assert_true(alerts >= PAR_CLASSES); /* each class has at least attendance_low */

    /* every class cached by the threads' summary: the next reads them all from the cache */
    assert_int_equal(figures_summary(st, NULL, now, true, &again, err), RC_OK);
    assert_int_equal(again->cached, PAR_CLASSES);
    assert_int_equal(again->computed, 0);
    assert_int_equal(figures_summary_json(again, NULL, &j3, err), RC_OK);
    assert_string_equal(j1, j3);

    /* recomputed on threads again: no finding alerted twice */
    assert_int_equal(store_figures_clear(st, err), RC_OK);
    figures_summary_free(again);
    assert_int_equal(figures_summary(st, NULL, now, true, &again, err), RC_OK);
    assert_int_equal(again->computed, PAR_CLASSES);
    int alerts2 = 0;
    assert_int_equal(store_alert_deliveries(st, &all, 100, count_serious, &alerts2, err), RC_OK);
    assert_int_equal(alerts2, alerts);

    /* in the caller's transaction: its thread alone (a helper would not see what it holds) */
    assert_int_equal(store_figures_clear(st, err), RC_OK);
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(figures_summary(st, NULL, now, true, &in_tx, err), RC_OK);
    assert_int_equal(in_tx->threads, 1);
    assert_int_equal(in_tx->computed, PAR_CLASSES);
    assert_int_equal(store_commit(st, err), RC_OK);
    figures_set_summary_threads(0);

    free(j1);
    free(j2);
    free(j3);
    figures_summary_free(one);
    figures_summary_free(many);
    figures_summary_free(again);
    figures_summary_free(in_tx);
    store_close(st);
}

static void summary_on_threads_sqlite(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_figures_par_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], url[80];
    snprintf(path, sizeof path, "%s/server.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", path);
    setenv("ROLLCALL_SOURCE_DIR", ROLLCALL_SOURCE_DIR, 0);
    summary_on_threads(url);

    /* A helper whose connection cannot be opened leaves its share to the others: here the
     * file is made readable by its group after the caller's connection opened it, so every
     * new connection is refused, and the caller's thread computes every class alone. */
    char err[ERR_LEN];
    store *st = NULL;
    assert_int_equal(store_open(url, 0, &st, err), RC_OK);
    assert_int_equal(store_figures_clear(st, err), RC_OK);
    assert_int_equal(chmod(path, 0640), 0);
    store *refused = NULL;
    assert_int_equal(store_open(url, 0, &refused, err), RC_AUTH);
    figures_set_summary_threads(3);
    struct figures_summary *s = NULL;
    assert_int_equal(figures_summary(st, NULL, INT64_C(1798000000000), true, &s, err), RC_OK);
    assert_int_equal(s->threads, 1);
    assert_int_equal(s->computed, PAR_CLASSES);
    figures_set_summary_threads(0);
    figures_summary_free(s);
    assert_int_equal(chmod(path, 0600), 0);
    store_close(st);
    unlink_db(path);
    rmdir(dir);
}

/* The same on PostgreSQL, in a database of its own on the server ROLLCALL_TEST_PG names (ctest's
 * pg fixture); without it, says so and checks nothing. */
static void summary_on_threads_pg(void **state)
{
    (void)state;
    const char *base = getenv("ROLLCALL_TEST_PG");
    if (!base || !*base) {
        printf("ROLLCALL_TEST_PG not set: the summary's threads not tested on PostgreSQL here "
               "(ctest -L pg runs it against a server of its own)\n");
        return;
    }
    /* postgresql:///rollcall?host=... -> postgresql:///figures_par?host=... */
    const char *db = strstr(base, ":///");
    const char *q = strchr(base, '?');
    assert_non_null(db);
    assert_non_null(q);
    char url[1200];
    snprintf(url, sizeof url, "%.*sfigures_par%s", (int)(db + 4 - base), base, q);
    PGconn *c = PQconnectdb(base);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQclear(PQexec(c, "DROP DATABASE IF EXISTS figures_par WITH (FORCE)"));
    PGresult *res = PQexec(c, "CREATE DATABASE figures_par");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    setenv("ROLLCALL_SOURCE_DIR", ROLLCALL_SOURCE_DIR, 0);
    summary_on_threads(url);
    res = PQexec(c, "DROP DATABASE figures_par WITH (FORCE)");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(c);
}

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
        cmocka_unit_test(scope_matrix),
        cmocka_unit_test(cache_follows_generations),
        cmocka_unit_test(text_summary_counts_pending_reviews),
        cmocka_unit_test(warm_pass_caches_and_alerts_once),
        cmocka_unit_test(summary_on_threads_sqlite),
        cmocka_unit_test(summary_on_threads_pg),
    };
    return cmocka_run_group_tests(tests, server_state_init, server_state_fini);
}

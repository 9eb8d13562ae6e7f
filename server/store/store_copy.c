/* store_copy.h: SQLite -> PostgreSQL. Reads the source with SQLite's API in one read
 * transaction (one snapshot), writes with COPY ... FROM STDIN (text format), then verifies
 * by reading both sides through the same canonical row encoding. */
#include "store/store_copy.h"

#include "crypto.h"
#include "dynbuf.h"
#include "rc.h"
#include "store/store.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    COPY_TABLES_MAX = 64,
    COPY_COLUMNS_MAX = 64,
    COPY_CHUNK = 1 << 20, /* bytes of COPY data sent at a time */
};

/* A column's type on PostgreSQL, which decides how both sides' values are encoded. */
enum kind { K_INT, K_REAL, K_TEXT, K_BYTES };

struct table {
    char name[64];
    size_t ncol;
    char col[COPY_COLUMNS_MAX][64];
    enum kind kind[COPY_COLUMNS_MAX];
    bool has_id; /* an identity column "id" whose sequence must follow the copied ids */
};

static int pg_fail(PGconn *c, PGresult *r, char *err, const char *what)
{
    const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[256];
    snprintf(line, sizeof line, "%s", m ? m : PQerrorMessage(c));
    line[strcspn(line, "\n")] = '\0';
    return rc_fail(err, RC_DB, "%s: %s", what, line);
}

static int pg_do(PGconn *c, const char *sql, char *err, const char *what)
{
    PGresult *r = PQexec(c, sql);
    int rc = RC_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_fail(c, r, err, what);
    PQclear(r);
    return rc;
}

/* The source's tables in creation order (parents before children), without the migrations'
 * own table; each one's columns and their kinds as the target declares them. */
static int load_tables(sqlite3 *src, PGconn *dst, struct table *t, size_t *n, char *err)
{
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    *n = 0;
    if (sqlite3_prepare_v2(src,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                           "'sqlite_%' AND name <> 'schema_migrations' ORDER BY rowid",
                           -1, &q, NULL) != SQLITE_OK)
        return rc_fail(err, RC_DB, "listing tables: %s", sqlite3_errmsg(src));
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (*n >= COPY_TABLES_MAX) {
            rc = rc_fail(err, RC_LIMIT, "over %d tables", COPY_TABLES_MAX);
            goto out;
        }
        struct table *tb = &t[(*n)++];
        memset(tb, 0, sizeof *tb);
        snprintf(tb->name, sizeof tb->name, "%s", (const char *)sqlite3_column_text(q, 0));
        const char *params[1] = {tb->name};
        PGresult *r = PQexecParams(dst,
                                   "SELECT column_name, data_type, is_identity FROM "
                                   "information_schema.columns WHERE table_schema = "
                                   "current_schema() AND table_name = $1 ORDER BY ordinal_position",
                                   1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = pg_fail(dst, r, err, "reading the target's columns");
            PQclear(r);
            goto out;
        }
        int nr = PQntuples(r);
        if (nr == 0 || nr > COPY_COLUMNS_MAX) {
            PQclear(r);
            rc = rc_fail(err, RC_CORRUPT, "table %s: the target has %d columns", tb->name, nr);
            goto out;
        }
        for (int i = 0; i < nr; i++) {
            snprintf(tb->col[i], sizeof tb->col[i], "%s", PQgetvalue(r, i, 0));
            const char *ty = PQgetvalue(r, i, 1);
            tb->kind[i] = strcmp(ty, "bigint") == 0             ? K_INT
                          : strcmp(ty, "double precision") == 0 ? K_REAL
                          : strcmp(ty, "bytea") == 0            ? K_BYTES
                                                                : K_TEXT;
            if (strcmp(tb->col[i], "id") == 0 && strcmp(PQgetvalue(r, i, 2), "YES") == 0)
                tb->has_id = true;
        }
        tb->ncol = (size_t)nr;
        PQclear(r);
        /* The source must have exactly these columns (the same migrations made both). */
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s')", tb->name);
        sqlite3_stmt *c = NULL;
        int64_t have = -1;
        if (sqlite3_prepare_v2(src, sql, -1, &c, NULL) == SQLITE_OK &&
            sqlite3_step(c) == SQLITE_ROW)
            have = sqlite3_column_int64(c, 0);
        sqlite3_finalize(c);
        if (have != (int64_t)tb->ncol) {
            rc = rc_fail(err, RC_CORRUPT, "table %s: %lld columns on SQLite, %zu on PostgreSQL",
                         tb->name, (long long)have, tb->ncol);
            goto out;
        }
    }
out:
    sqlite3_finalize(q);
    return rc;
}

/* "SELECT c1, c2, ... FROM t" for the table's columns, in the target's order. */
static int select_sql(const struct table *tb, struct dynbuf *b)
{
    dynbuf_reset(b);
    int rc = dynbuf_adds(b, "SELECT ");
    for (size_t i = 0; rc == RC_OK && i < tb->ncol; i++)
        rc = dynbuf_addf(b, "%s\"%s\"", i ? ", " : "", tb->col[i]);
    if (rc == RC_OK)
        rc = dynbuf_addf(b, " FROM \"%s\"", tb->name);
    return rc;
}

/* The digest of one row: SHA-256 over each value as a type tag, a length and bytes. */
struct row_hash {
    struct crypto_sha256 h;
};

static void rh_value(struct row_hash *rh, char tag, const void *p, size_t n)
{
    uint8_t hdr[9];
    hdr[0] = (uint8_t)tag;
    for (int i = 0; i < 8; i++)
        hdr[1 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    crypto_sha256_update(&rh->h, hdr, sizeof hdr);
    if (n)
        crypto_sha256_update(&rh->h, p, n);
}

static void rh_int(struct row_hash *rh, int64_t v)
{
    char s[32];
    int n = snprintf(s, sizeof s, "%" PRId64, v);
    rh_value(rh, 'I', s, (size_t)n);
}

static void rh_real(struct row_hash *rh, double v)
{
    char s[40];
    int n = snprintf(s, sizeof s, "%.17g", v);
    rh_value(rh, 'R', s, (size_t)n);
}

/* sum += digest (both 32 bytes big-endian), modulo 2^256. */
static void add256(uint8_t sum[32], const uint8_t d[32])
{
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned v = (unsigned)sum[i] + d[i] + carry;
        sum[i] = (uint8_t)v;
        carry = v >> 8;
    }
}

/* Appends s (n bytes) to a COPY text line, escaped. */
static int copy_text(struct dynbuf *b, const char *s, size_t n)
{
    int rc = RC_OK;
    size_t start = 0;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        const char *esc = s[i] == '\\'   ? "\\\\"
                          : s[i] == '\t' ? "\\t"
                          : s[i] == '\n' ? "\\n"
                          : s[i] == '\r' ? "\\r"
                                         : NULL;
        if (!esc)
            continue;
        if ((rc = dynbuf_add(b, s + start, i - start)) == RC_OK)
            rc = dynbuf_adds(b, esc);
        start = i + 1;
    }
    return rc == RC_OK ? dynbuf_add(b, s + start, n - start) : rc;
}

static int copy_bytes(struct dynbuf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = dynbuf_adds(b, "\\\\x");
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        char two[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        rc = dynbuf_add(b, two, 2);
    }
    return rc;
}

/* Copies one table: rows from the source into COPY data, sent in chunks; counts and digests
 * the source's rows on the way. */
static int copy_table(sqlite3 *src, PGconn *dst, const struct table *tb, struct dynbuf *sql,
                      struct store_copy_table *res, uint8_t sum[32], char *err)
{
    int rc = select_sql(tb, sql);
    if (rc != RC_OK)
        return rc_fail(err, RC_NOMEM, "out of memory");
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(src, dynbuf_ptr(sql), -1, &q, NULL) != SQLITE_OK)
        return rc_fail(err, RC_DB, "reading %s: %s", tb->name, sqlite3_errmsg(src));
    char copy[256];
    snprintf(copy, sizeof copy, "COPY \"%s\" FROM STDIN", tb->name);
    /* The column list of the COPY is the table's own order, the SELECT's. */
    PGresult *r = PQexec(dst, copy);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        rc = pg_fail(dst, r, err, copy);
        PQclear(r);
        sqlite3_finalize(q);
        return rc;
    }
    PQclear(r);
    struct dynbuf b;
    dynbuf_init(&b, COPY_CHUNK * 2);
    int step;
    while (rc == RC_OK && (step = sqlite3_step(q)) == SQLITE_ROW) {
        struct row_hash rh;
        crypto_sha256_init(&rh.h);
        for (size_t i = 0; rc == RC_OK && i < tb->ncol; i++) {
            int c = (int)i;
            if (i && (rc = dynbuf_add(&b, "\t", 1)) != RC_OK)
                break;
            if (sqlite3_column_type(q, c) == SQLITE_NULL) {
                rh_value(&rh, 'N', NULL, 0);
                rc = dynbuf_adds(&b, "\\N");
                continue;
            }
            switch (tb->kind[i]) {
            case K_INT: {
                int64_t v = sqlite3_column_int64(q, c);
                rh_int(&rh, v);
                rc = dynbuf_addf(&b, "%" PRId64, v);
                break;
            }
            case K_REAL: {
                double v = sqlite3_column_double(q, c);
                rh_real(&rh, v);
                rc = dynbuf_addf(&b, "%.17g", v);
                break;
            }
            case K_BYTES: {
                const uint8_t *p = sqlite3_column_blob(q, c);
                size_t n = (size_t)sqlite3_column_bytes(q, c);
                rh_value(&rh, 'B', p, n);
                rc = copy_bytes(&b, p, n);
                break;
            }
            case K_TEXT: {
                const char *p = (const char *)sqlite3_column_text(q, c);
                size_t n = (size_t)sqlite3_column_bytes(q, c);
                rh_value(&rh, 'T', p, n);
                rc = copy_text(&b, p, n);
                break;
            }
            }
        }
        if (rc == RC_OK)
            rc = dynbuf_add(&b, "\n", 1);
        uint8_t d[32];
        crypto_sha256_final(&rh.h, d);
        add256(sum, d);
        res->rows_from++;
        if (rc == RC_OK && dynbuf_len(&b) >= COPY_CHUNK) {
            if (PQputCopyData(dst, dynbuf_ptr(&b), (int)dynbuf_len(&b)) != 1)
                rc = pg_fail(dst, NULL, err, copy);
            dynbuf_reset(&b);
        }
    }
    if (rc == RC_OK && step != SQLITE_DONE)
        rc = rc_fail(err, RC_DB, "reading %s: %s", tb->name, sqlite3_errmsg(src));
    else if (rc != RC_OK && rc != RC_DB)
        rc = rc_fail(err, rc, "table %s: a row over %d bytes", tb->name, COPY_CHUNK * 2);
    if (rc == RC_OK && dynbuf_len(&b) &&
        PQputCopyData(dst, dynbuf_ptr(&b), (int)dynbuf_len(&b)) != 1)
        rc = pg_fail(dst, NULL, err, copy);
    dynbuf_free(&b);
    sqlite3_finalize(q);
    if (PQputCopyEnd(dst, rc == RC_OK ? NULL : "copy abandoned") != 1 && rc == RC_OK)
        rc = pg_fail(dst, NULL, err, copy);
    while ((r = PQgetResult(dst)) != NULL) {
        if (rc == RC_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_fail(dst, r, err, copy);
        PQclear(r);
    }
    return rc;
}

/* Counts and digests the target's table (binary results: exact integers, doubles and bytes). */
static int digest_target(PGconn *dst, const struct table *tb, struct dynbuf *sql,
                         struct store_copy_table *res, uint8_t sum[32], char *err)
{
    if (select_sql(tb, sql) != RC_OK)
        return rc_fail(err, RC_NOMEM, "out of memory");
    /* One table at a time through a cursor keeps memory bounded on millions of events. */
    struct dynbuf cur;
    dynbuf_init(&cur, 8192);
    int rc = dynbuf_addf(&cur, "DECLARE copy_check NO SCROLL CURSOR FOR %s", dynbuf_ptr(sql));
    if (rc != RC_OK) {
        dynbuf_free(&cur);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    rc = pg_do(dst, dynbuf_ptr(&cur), err, "reading the copy back");
    dynbuf_free(&cur);
    while (rc == RC_OK) {
        PGresult *r =
            PQexecParams(dst, "FETCH 10000 FROM copy_check", 0, NULL, NULL, NULL, NULL, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = pg_fail(dst, r, err, "reading the copy back");
            PQclear(r);
            break;
        }
        int n = PQntuples(r);
        for (int row = 0; row < n; row++) {
            struct row_hash rh;
            crypto_sha256_init(&rh.h);
            for (size_t i = 0; i < tb->ncol; i++) {
                int c = (int)i;
                if (PQgetisnull(r, row, c)) {
                    rh_value(&rh, 'N', NULL, 0);
                    continue;
                }
                const uint8_t *p = (const uint8_t *)PQgetvalue(r, row, c);
                size_t len = (size_t)PQgetlength(r, row, c);
                uint64_t u = 0;
                if ((tb->kind[i] == K_INT || tb->kind[i] == K_REAL) && len == 8)
                    for (int k = 0; k < 8; k++)
                        u = u << 8 | p[k];
                switch (tb->kind[i]) {
                case K_INT: rh_int(&rh, (int64_t)u); break;
                case K_REAL: {
                    double v;
                    memcpy(&v, &u, sizeof v);
                    rh_real(&rh, v);
                    break;
                }
                case K_BYTES: rh_value(&rh, 'B', p, len); break;
                case K_TEXT: rh_value(&rh, 'T', p, len); break;
                }
            }
            uint8_t d[32];
            crypto_sha256_final(&rh.h, d);
            add256(sum, d);
            res->rows_to++;
        }
        PQclear(r);
        if (n == 0)
            break;
    }
    if (rc == RC_OK)
        rc = pg_do(dst, "CLOSE copy_check", err, "reading the copy back");
    return rc;
}

int store_copy_sqlite_to_pg(const char *from_url, const char *to_url,
                            void (*fn)(const struct store_copy_table *t, void *ctx), void *ctx,
                            char *err)
{
    sqlite3 *src = NULL;
    PGconn *dst = NULL;
    struct table *tables = calloc(COPY_TABLES_MAX, sizeof *tables);
    struct store_copy_table *res = calloc(COPY_TABLES_MAX, sizeof *res);
    struct dynbuf sql;
    dynbuf_init(&sql, 16384);
    size_t n = 0;
    int rc = RC_OK;
    if (!tables || !res) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (strncmp(from_url, "sqlite:", 7) != 0 ||
        (strncmp(to_url, "postgresql://", 13) != 0 && strncmp(to_url, "postgres://", 11) != 0)) {
        rc = rc_fail(err, RC_INVAL, "copy goes from sqlite:PATH to postgresql://...");
        goto out;
    }
    if (sqlite3_open_v2(from_url + 7, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = rc_fail(err, RC_DB, "cannot open %s: %s", from_url + 7,
                     src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, 10000);
    dst = PQconnectdb(to_url);
    if (!dst || PQstatus(dst) != CONNECTION_OK) {
        rc = pg_fail(dst, NULL, err, "cannot connect to PostgreSQL");
        goto out;
    }
    PQsetClientEncoding(dst, "UTF8");
    /* One snapshot of the source; one transaction on the target. */
    if (sqlite3_exec(src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = rc_fail(err, RC_DB, "begin: %s", sqlite3_errmsg(src));
        goto out;
    }
    if ((rc = pg_do(dst, "BEGIN", err, "begin")) != RC_OK ||
        (rc = load_tables(src, dst, tables, &n, err)) != RC_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char sql1[160];
        snprintf(sql1, sizeof sql1, "SELECT EXISTS (SELECT 1 FROM \"%s\")", tables[i].name);
        PGresult *r = PQexec(dst, sql1);
        bool any = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                   strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            rc = pg_fail(dst, r, err, sql1);
        PQclear(r);
        if (rc != RC_OK)
            goto out;
        if (any) {
            rc = rc_fail(err, RC_CONFLICT,
                         "the target database already holds data (table %s): copy only into a "
                         "new, migrated database",
                         tables[i].name);
            goto out;
        }
        snprintf(sql1, sizeof sql1, "ALTER TABLE \"%s\" DISABLE TRIGGER USER", tables[i].name);
        if ((rc = pg_do(dst, sql1, err, sql1)) != RC_OK)
            goto out;
    }
    uint8_t sums[COPY_TABLES_MAX][32];
    memset(sums, 0, sizeof sums);
    for (size_t i = 0; i < n; i++) {
        res[i].name = tables[i].name;
        if ((rc = copy_table(src, dst, &tables[i], &sql, &res[i], sums[i], err)) != RC_OK)
            goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char sql1[320];
        snprintf(sql1, sizeof sql1, "ALTER TABLE \"%s\" ENABLE TRIGGER USER", tables[i].name);
        if ((rc = pg_do(dst, sql1, err, sql1)) != RC_OK)
            goto out;
        if (!tables[i].has_id)
            continue;
        snprintf(sql1, sizeof sql1,
                 "SELECT setval(pg_get_serial_sequence('\"%s\"', 'id'), coalesce(max(id), 0) + 1, "
                 "false) FROM \"%s\"",
                 tables[i].name, tables[i].name);
        if ((rc = pg_do(dst, sql1, err, "moving an id sequence")) != RC_OK)
            goto out;
    }
    for (size_t i = 0; i < n; i++)
        crypto_hex(sums[i], 32, res[i].digest_from);
    /* Verify inside the transaction, before it commits: a mismatch leaves the target empty. */
    bool same = true;
    for (size_t i = 0; i < n; i++) {
        uint8_t sum[32] = {0};
        if ((rc = digest_target(dst, &tables[i], &sql, &res[i], sum, err)) != RC_OK)
            goto out;
        crypto_hex(sum, 32, res[i].digest_to);
        same = same && res[i].rows_from == res[i].rows_to &&
               strcmp(res[i].digest_from, res[i].digest_to) == 0;
        if (fn)
            fn(&res[i], ctx);
    }
    if (!same) {
        rc = rc_fail(err, RC_CORRUPT, "the copy differs from the source: nothing was kept");
        goto out;
    }
    rc = pg_do(dst, "COMMIT", err, "commit");
out:
    if (dst && rc != RC_OK)
        PQclear(PQexec(dst, "ROLLBACK"));
    if (src)
        sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(src);
    PQfinish(dst);
    dynbuf_free(&sql);
    free(tables);
    free(res);
    return rc;
}

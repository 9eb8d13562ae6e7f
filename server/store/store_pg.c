/* The PostgreSQL back-end of store.h (PostgreSQL 15, libpq): connection, statements,
 * migrations and transactions here; the ops in store_pg_evidence.c (ingest and evidence),
 * store_pg_figures.c (classes and figures), store_pg_accounts.c, store_pg_alerts.c,
 * store_pg_procedure.c and store_pg_admin.c (tokens and fences as the console lists them).
 *
 * Several collectors may share one database, so every guarantee lives in it:
 * - Transactions are READ COMMITTED; a write transaction's store_head_get locks the device's
 *   row (SELECT ... FOR UPDATE) before reading its chain head, so two collectors applying
 *   batches of one device take turns and the second sees the first's events: exactly-once
 *   and the chain checks hold across processes. (device, seq) stays UNIQUE underneath.
 * - The figures-cache generation (classes.gen) is bumped by store.c (class_bump) in the same
 *   transaction as the inputs that change it, as on SQLite (no triggers since migration 15);
 *   class_figures rows carry the generation they were computed at, so a collector never
 *   serves figures another one has made stale.
 * - Read transactions (store_begin_read) are REPEATABLE READ, READ ONLY: one snapshot.
 * - Migrations take a transaction-scoped advisory lock, so collectors migrating at once
 *   apply each step exactly once.
 * Connection settings are libpq's: the URL plus the PG* environment variables, TLS as
 * sslmode says. */
#include "store/store_pg.h"

#include "rc.h"
#include "store/store.h"

#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    PG_MIGRATION_LOCK = 0x52434c4c, /* advisory lock key for migrations ("RCLL") */
};

struct store_pg *pg_of(store *st)
{
    return (struct store_pg *)st;
}

/* ---- Parameters ---- */

static void param(struct pg_params *p, const char *v, int len, int fmt)
{
    if (p->n >= PG_PARAMS_MAX)
        abort(); /* a statement with more parameters than PG_PARAMS_MAX is a bug here */
    p->v[p->n] = v;
    p->len[p->n] = len;
    p->fmt[p->n] = fmt;
    p->n++;
}

void pgp_text(struct pg_params *p, const char *s)
{
    param(p, s, 0, 0);
}

void pgp_opt(struct pg_params *p, const char *s)
{
    param(p, s && *s ? s : NULL, 0, 0);
}

void pgp_null(struct pg_params *p)
{
    param(p, NULL, 0, 0);
}

void pgp_i64(struct pg_params *p, int64_t v)
{
    if (p->n >= PG_PARAMS_MAX)
        abort();
    snprintf(p->num[p->n], sizeof p->num[p->n], "%" PRId64, v);
    param(p, p->num[p->n], 0, 0);
}

void pgp_dbl(struct pg_params *p, double v)
{
    if (p->n >= PG_PARAMS_MAX)
        abort();
    snprintf(p->num[p->n], sizeof p->num[p->n], "%.17g", v);
    param(p, p->num[p->n], 0, 0);
}

void pgp_bytes(struct pg_params *p, const void *b, size_t n)
{
    param(p, n ? b : "", (int)n, 1);
}

/* ---- Errors ---- */

/* The first line of msg, without libpq's "ERROR:  " / "FATAL:  " prefixes, into out. */
static void first_line(const char *msg, char *out, size_t n)
{
    if (!msg)
        msg = "";
    const char *p = msg;
    for (;;) {
        const char *c = strstr(p, "FATAL:  ");
        const char *e = strstr(p, "ERROR:  ");
        const char *best = c && (!e || c < e) ? c : e;
        if (!best)
            break;
        p = best + 8;
    }
    size_t len = strcspn(p, "\n");
    if (len >= n)
        len = n - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

static int fail_res(struct store_pg *s, PGresult *r, char *err, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[256];
    if (primary)
        snprintf(line, sizeof line, "%s", primary);
    else
        first_line(PQerrorMessage(s->conn), line, sizeof line);
    snprintf(s->sqlstate, sizeof s->sqlstate, "%s", state ? state : "");
    if (state && strncmp(state, "23", 2) == 0)
        return rc_fail(err, RC_CONFLICT, "%s: %s", what, line);
    if (state && strcmp(state, "53100") == 0)
        return rc_fail(err, RC_FULL, "%s: %s", what, line);
    if (PQstatus(s->conn) == CONNECTION_BAD)
        return rc_fail(err, RC_DB, "%s: lost the connection to PostgreSQL: %s", what, line);
    return rc_fail(err, RC_DB, "%s: %s", what, line);
}

/* ---- Statements ---- */

/* Re-opens a connection the server dropped (a restart, a failover, an idle timeout); its
 * prepared statements went with it. True when it is usable again. */
static int session_setup(struct store_pg *s, char *err);

static bool reconnect(struct store_pg *s)
{
    PQreset(s->conn);
    s->nprep = 0;
    return PQstatus(s->conn) == CONNECTION_OK && session_setup(s, NULL) == RC_OK;
}

/* One statement's parameters as libpq takes them. */
struct pg_args {
    int n;
    const char *const *v;
    const int *len, *fmt;
};

/* p as libpq takes it (NULL: no parameters). */
static struct pg_args args_of(const struct pg_params *p)
{
    if (!p)
        return (struct pg_args){0};
    return (struct pg_args){.n = p->n, .v = p->v, .len = p->len, .fmt = p->fmt};
}

static int run_once(struct store_pg *s, const char *sql, const struct pg_args *a, bool binary,
                    PGresult **res, char *err, const char *what);

static int run_args(struct store_pg *s, const char *sql, const struct pg_args *a, bool binary,
                    PGresult **res, char *err, const char *what)
{
    int rc = run_once(s, sql, a, binary, res, err, what);
    /* Outside a transaction a statement that met a dropped connection is tried once more on
     * a new one; inside one the transaction is gone and the caller must hear it. */
    if (rc == RC_DB && PQstatus(s->conn) == CONNECTION_BAD && !s->base.in_tx && reconnect(s))
        rc = run_once(s, sql, a, binary, res, err, what);
    return rc;
}

int pg_run(struct store_pg *s, const char *sql, const struct pg_params *p, bool binary,
           PGresult **res, char *err, const char *what)
{
    struct pg_args a = args_of(p);
    return run_args(s, sql, &a, binary, res, err, what);
}

static int run_once(struct store_pg *s, const char *sql, const struct pg_args *a, bool binary,
                    PGresult **res, char *err, const char *what)
{
    *res = NULL;
    s->sqlstate[0] = '\0';
    /* A connection lost between transactions is re-opened; inside one the transaction is
     * gone with it and the caller's rollback says so. */
    if (PQstatus(s->conn) == CONNECTION_BAD && !s->base.in_tx && !reconnect(s))
        return fail_res(s, NULL, err, what);
    int i = 0;
    while (i < s->nprep && s->prep[i] != sql)
        i++;
    char name[16];
    snprintf(name, sizeof name, "s%d", i);
    if (i == s->nprep) {
        if (s->nprep >= PG_STMTS_MAX)
            return rc_fail(err, RC_LIMIT, "%s: over %d statements on one connection", what,
                           PG_STMTS_MAX);
        PGresult *r = PQprepare(s->conn, name, sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            int rc = fail_res(s, r, err, what);
            PQclear(r);
            return rc;
        }
        PQclear(r);
        s->prep[s->nprep++] = sql;
    }
    PGresult *r = PQexecPrepared(s->conn, name, a->n, a->n ? a->v : NULL, a->n ? a->len : NULL,
                                 a->n ? a->fmt : NULL, binary ? 1 : 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int rc = fail_res(s, r, err, what);
        PQclear(r);
        return rc;
    }
    *res = r;
    return RC_OK;
}

static int exec_args(struct store_pg *s, const char *sql, const struct pg_args *a, int64_t *changed,
                     char *err, const char *what)
{
    PGresult *r = NULL;
    int rc = run_args(s, sql, a, false, &r, err, what);
    if (rc == RC_OK && changed) {
        const char *n = PQcmdTuples(r);
        *changed = *n ? strtoll(n, NULL, 10) : 0;
    }
    PQclear(r);
    return rc;
}

int pg_exec(struct store_pg *s, const char *sql, const struct pg_params *p, int64_t *changed,
            char *err, const char *what)
{
    struct pg_args a = args_of(p);
    return exec_args(s, sql, &a, changed, err, what);
}

int pg_exec_rows(struct store_pg *s, const char *sql, const struct pg_params *rows, size_t n,
                 int64_t *changed, char *err, const char *what)
{
    const char *v[PG_ROWS_MAX * PG_PARAMS_MAX];
    int len[PG_ROWS_MAX * PG_PARAMS_MAX], fmt[PG_ROWS_MAX * PG_PARAMS_MAX];
    int k = 0;
    if (n == 0 || n > PG_ROWS_MAX)
        return rc_fail(err, RC_INVAL, "%s: %zu rows in one statement (1 to %d)", what, n,
                       (int)PG_ROWS_MAX);
    for (size_t i = 0; i < n; i++) {
        memcpy(&v[k], rows[i].v, (size_t)rows[i].n * sizeof v[0]);
        memcpy(&len[k], rows[i].len, (size_t)rows[i].n * sizeof len[0]);
        memcpy(&fmt[k], rows[i].fmt, (size_t)rows[i].n * sizeof fmt[0]);
        k += rows[i].n;
    }
    struct pg_args a = {.n = k, .v = v, .len = len, .fmt = fmt};
    return exec_args(s, sql, &a, changed, err, what);
}

int pg_simple(struct store_pg *s, const char *sql, char *err, const char *what)
{
    s->sqlstate[0] = '\0';
    PGresult *r = PQexec(s->conn, sql);
    int rc = RC_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = fail_res(s, r, err, what);
    PQclear(r);
    return rc;
}

int pg_col_text(const PGresult *r, int row, int col, char *out, size_t n, char *err)
{
    if (PQgetisnull(r, row, col)) {
        out[0] = '\0';
        return RC_OK;
    }
    size_t len = (size_t)PQgetlength(r, row, col);
    if (len >= n)
        return rc_fail(err, RC_CORRUPT, "stored value in column %d longer than %zu bytes", col,
                       n - 1);
    memcpy(out, PQgetvalue(r, row, col), len);
    out[len] = '\0';
    return RC_OK;
}

int64_t pg_col_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double pg_col_dbl(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtod(PQgetvalue(r, row, col), NULL);
}

bool pg_col_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

int64_t pg_col_bin_i64(const PGresult *r, int row, int col)
{
    if (PQgetlength(r, row, col) != 8) /* 0 for a NULL */
        return 0;
    uint64_t v;
    memcpy(&v, PQgetvalue(r, row, col), sizeof v);
    return (int64_t)be64toh(v); /* network order */
}

double pg_col_bin_dbl(const PGresult *r, int row, int col)
{
    uint64_t u = (uint64_t)pg_col_bin_i64(r, row, col);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* ---- Connection ---- */

/* Server notices (IF NOT EXISTS skipping ...) are not the operator's business. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* What every connection (and every re-opened one) sets first. */
static int session_setup(struct store_pg *s, char *err)
{
    if (PQsetClientEncoding(s->conn, "UTF8") != 0)
        return rc_fail(err, RC_DB, "PostgreSQL: cannot set the client encoding to UTF8");
    /* Times are integers (UTC ms) everywhere; the session's time zone changes nothing, but
     * a fixed one keeps a DBA's psql and the collector's view of now() alike. */
    int rc = pg_simple(s, "SET TIME ZONE 'UTC'", err, "PostgreSQL");
    /* No JIT: our statements are short, and a cost estimate over the JIT threshold (a table
     * not analysed since a bulk load, a summary over many classes) made PostgreSQL 15 spend
     * ~110 ms compiling a 30 ms query (docs/PERFORMANCE.md, "Figures, On PostgreSQL"). */
    if (rc == RC_OK)
        rc = pg_simple(s, "SET jit = off", err, "PostgreSQL");
    return rc;
}

static int pg_open(const char *url, unsigned flags, store **out, char *err)
{
    (void)flags; /* the database is created by its administrator (createdb), not here */
    struct store_pg *s = calloc(1, sizeof *s);
    if (!s)
        return rc_fail(err, RC_NOMEM, "out of memory");
    s->base.ops = &store_pg_ops;
    s->conn = PQconnectdb(url);
    if (!s->conn) {
        free(s);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    int rc = RC_OK;
    if (PQstatus(s->conn) != CONNECTION_OK) {
        char line[256];
        const char *msg = PQerrorMessage(s->conn);
        first_line(msg, line, sizeof line);
        /* The message names host and database, never the password. */
        if (strstr(msg, "does not exist") && strstr(msg, "database \""))
            rc = rc_fail(err, RC_NOTFOUND,
                         "PostgreSQL: %s (create it with createdb, then run 'rollcall-server "
                         "migrate')",
                         line);
        else if (strstr(msg, "password authentication failed") ||
                 (strstr(msg, "role \"") && strstr(msg, "does not exist")) ||
                 strstr(msg, "no password supplied") || strstr(msg, "no pg_hba.conf entry"))
            rc = rc_fail(err, RC_AUTH, "PostgreSQL refused the login: %s", line);
        else
            rc = rc_fail(err, RC_DB, "cannot connect to PostgreSQL: %s", line);
        goto out;
    }
    PQsetNoticeProcessor(s->conn, quiet, NULL);
    if ((rc = session_setup(s, err)) != RC_OK)
        goto out;
    *out = &s->base;
    return RC_OK;
out:
    PQfinish(s->conn);
    free(s);
    return rc;
}

static void pg_close(store *st)
{
    struct store_pg *s = pg_of(st);
    PQfinish(s->conn); /* the server rolls back an open transaction */
    free(s->rows);
    free(s->packs);
    pg_read_buf_free(s->read_buf);
    free(s);
}

int pg_rows_ready(struct store_pg *s, char *err)
{
    if (!s->rows)
        s->rows = malloc(PG_ROWS_MAX * sizeof *s->rows);
    if (!s->packs)
        s->packs = malloc(PG_ROWS_MAX * sizeof *s->packs);
    return s->rows && s->packs ? RC_OK : rc_fail(err, RC_NOMEM, "out of memory");
}

/* ---- Migrations ---- */

struct migration {
    int version;
    const char *name;
    const char *sql;
};

/* The same numbered steps as the SQLite back-end's (a database copied between them keeps its
 * version), in PostgreSQL's types: bigint for every integer (times are UTC ms), bytea for
 * bytes, double precision for reals. Never edit one that has shipped; add the next. */
static const struct migration migrations[] = {
    {1, "identities: tokens, institutions, fences, devices",
     "CREATE TABLE tokens ("
     "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     "  hash text NOT NULL UNIQUE CHECK (length(hash) = 64),"
     "  name text NOT NULL UNIQUE,"
     "  role text NOT NULL,"
     "  created_at bigint NOT NULL,"
     "  revoked_at bigint);"
     "CREATE TABLE institutions ("
     "  id text PRIMARY KEY,"
     "  district text CHECK (district IS NULL OR length(district) = 6),"
     "  pseudonym_key bytea NOT NULL CHECK (octet_length(pseudonym_key) = 32),"
     "  created_at bigint NOT NULL);"
     "CREATE TABLE fences ("
     "  id text NOT NULL,"
     "  version bigint NOT NULL CHECK (version >= 1),"
     "  geojson text NOT NULL,"
     "  sha256 text NOT NULL CHECK (length(sha256) = 64),"
     "  created_at bigint NOT NULL,"
     "  created_by text NOT NULL,"
     "  superseded_at bigint,"
     "  PRIMARY KEY (id, version));"
     "CREATE UNIQUE INDEX fences_current ON fences(id) WHERE superseded_at IS NULL;"
     "CREATE TABLE devices ("
     "  id text PRIMARY KEY,"
     "  institution text NOT NULL REFERENCES institutions(id),"
     "  public_key_pem text NOT NULL,"
     "  profile text,"
     "  fence text,"
     "  enrolled_at bigint NOT NULL,"
     "  last_seen_at bigint);"
     "CREATE INDEX devices_institution ON devices(institution);"},
    {2, "evidence: events, chain heads, findings",
     "CREATE TABLE events ("
     "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     "  device text NOT NULL REFERENCES devices(id),"
     "  seq bigint NOT NULL CHECK (seq >= 1),"
     "  event_id text NOT NULL,"
     "  raw bytea NOT NULL,"
     "  hash text NOT NULL CHECK (length(hash) = 64),"
     "  prev text NOT NULL CHECK (length(prev) = 64),"
     "  type text NOT NULL,"
     "  ts bigint NOT NULL,"
     "  trainee text,"
     "  trainee_masked text,"
     "  class text,"
     "  session text,"
     "  verdict text,"
     "  server_verdict text,"
     "  distance_m double precision,"
     "  fence text,"
     "  received_at bigint NOT NULL,"
     "  UNIQUE (device, seq));"
     "CREATE INDEX events_class_ts ON events(class, ts);"
     "CREATE INDEX events_trainee_ts ON events(trainee, ts);"
     "CREATE TABLE chain_heads ("
     "  device text PRIMARY KEY REFERENCES devices(id),"
     "  seq bigint NOT NULL CHECK (seq >= 1),"
     "  hash text NOT NULL CHECK (length(hash) = 64),"
     "  updated_at bigint NOT NULL);"
     "CREATE TABLE findings ("
     "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     "  kind text NOT NULL,"
     "  severity text NOT NULL,"
     "  device text,"
     "  seq bigint,"
     "  institution text,"
     "  class text,"
     "  trainee text,"
     "  detail text NOT NULL,"
     "  created_at bigint NOT NULL,"
     "  reviewed_by text,"
     "  reviewed_at bigint,"
     "  approved bigint CHECK (approved IS NULL OR approved IN (0, 1)));"
     "CREATE INDEX findings_device_seq ON findings(device, seq);"
     "CREATE INDEX findings_class ON findings(class);"},
    {3, "ingest: device profile accuracy and health, event fix and recording columns",
     "ALTER TABLE devices ADD COLUMN assumed_eph_m double precision,"
     "  ADD COLUMN status_queue bigint, ADD COLUMN status_skew_ms bigint,"
     "  ADD COLUMN status_gnss text, ADD COLUMN status_fix_mode bigint,"
     "  ADD COLUMN status_fix_ts bigint;"
     "ALTER TABLE events ADD COLUMN boot text, ADD COLUMN mono_ms bigint,"
     "  ADD COLUMN fix_lat double precision, ADD COLUMN fix_lon double precision,"
     "  ADD COLUMN fix_eph double precision, ADD COLUMN fix_mode bigint,"
     "  ADD COLUMN fix_time bigint, ADD COLUMN fix_source text,"
     "  ADD COLUMN server_distance_m double precision, ADD COLUMN server_fence_version bigint,"
     "  ADD COLUMN camera text, ADD COLUMN file text, ADD COLUMN start_ts bigint,"
     "  ADD COLUMN end_ts bigint, ADD COLUMN kind text;"
     "CREATE INDEX events_device_type ON events(device, type, seq);"},
    {4, "figures: classes, sessions, rosters",
     "CREATE TABLE classes ("
     "  id text PRIMARY KEY,"
     "  institution text NOT NULL REFERENCES institutions(id),"
     "  district text NOT NULL CHECK (length(district) = 6),"
     "  occupation text NOT NULL,"
     "  level text NOT NULL CHECK (level IN ('junior', 'intermediate', 'senior')),"
     "  applied_on bigint NOT NULL,"
     "  start_at bigint NOT NULL,"
     "  end_at bigint NOT NULL CHECK (end_at > start_at),"
     "  plan_json text NOT NULL,"
     "  created_at bigint NOT NULL,"
     "  updated_at bigint NOT NULL,"
     "  updated_by text NOT NULL,"
     "  gen bigint NOT NULL DEFAULT 1);"
     "CREATE INDEX classes_institution ON classes(institution, start_at);"
     "CREATE INDEX classes_district ON classes(district, start_at);"
     "CREATE TABLE sessions ("
     "  class text NOT NULL REFERENCES classes(id) ON DELETE CASCADE,"
     "  id text NOT NULL,"
     "  start_at bigint NOT NULL,"
     "  end_at bigint NOT NULL CHECK (end_at > start_at),"
     "  mode text NOT NULL CHECK (mode IN ('offline', 'online')),"
     "  fence text,"
     "  PRIMARY KEY (class, id));"
     "CREATE TABLE roster ("
     "  class text NOT NULL REFERENCES classes(id) ON DELETE CASCADE,"
     "  trainee text NOT NULL CHECK (length(trainee) = 64),"
     "  masked text NOT NULL CHECK (length(masked) = 18),"
     "  name text NOT NULL,"
     "  student bigint NOT NULL CHECK (student IN (0, 1)),"
     "  position bigint NOT NULL,"
     "  PRIMARY KEY (class, trainee));"
     "CREATE INDEX roster_trainee ON roster(trainee);"},
    {5, "figures: online records, assessments, reviews",
     "CREATE TABLE online_records ("
     "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     "  class text NOT NULL REFERENCES classes(id),"
     "  trainee text NOT NULL CHECK (length(trainee) = 64),"
     "  masked text NOT NULL,"
     "  start_at bigint NOT NULL,"
     "  end_at bigint NOT NULL CHECK (end_at > start_at),"
     "  platform text NOT NULL,"
     "  recorded_at bigint NOT NULL,"
     "  recorded_by text NOT NULL,"
     "  UNIQUE (class, trainee, start_at, end_at, platform));"
     "CREATE TABLE assessments ("
     "  class text NOT NULL REFERENCES classes(id),"
     "  trainee text NOT NULL CHECK (length(trainee) = 64),"
     "  masked text NOT NULL,"
     "  passed bigint NOT NULL CHECK (passed IN (0, 1)),"
     "  assessed_on bigint NOT NULL,"
     "  certificate text NOT NULL,"
     "  recorded_at bigint NOT NULL,"
     "  recorded_by text NOT NULL,"
     "  PRIMARY KEY (class, trainee));"
     "CREATE INDEX assessments_trainee ON assessments(trainee);"
     "CREATE TABLE assessment_history ("
     "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     "  class text NOT NULL,"
     "  trainee text NOT NULL,"
     "  passed bigint NOT NULL,"
     "  assessed_on bigint NOT NULL,"
     "  certificate text NOT NULL,"
     "  recorded_at bigint NOT NULL,"
     "  recorded_by text NOT NULL,"
     "  superseded_at bigint NOT NULL);"
     "CREATE TABLE reviews ("
     "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     "  device text NOT NULL,"
     "  seq bigint NOT NULL,"
     "  event_id text NOT NULL,"
     "  class text,"
     "  decision text NOT NULL CHECK (decision IN ('approve', 'reject')),"
     "  reason text NOT NULL CHECK (length(reason) >= 1),"
     "  reviewer text NOT NULL,"
     "  reviewed_at bigint NOT NULL,"
     "  FOREIGN KEY (device, seq) REFERENCES events(device, seq));"
     "CREATE INDEX reviews_class ON reviews(class, device, seq, id);"
     "CREATE INDEX events_event_id ON events(event_id);"
     "CREATE INDEX events_device_ts ON events(device, ts);"
     "CREATE INDEX findings_institution ON findings(institution, created_at);"},
    {6, "figures: the derived figures cache and the inputs generation triggers",
     "CREATE TABLE class_figures ("
     "  class text NOT NULL REFERENCES classes(id) ON DELETE CASCADE,"
     "  policy text NOT NULL,"
     "  gen bigint NOT NULL,"
     "  computed_at bigint NOT NULL,"
     "  valid_until bigint NOT NULL,"
     "  minutes_per_hour bigint NOT NULL,"
     "  scheduled_ms bigint NOT NULL,"
     "  planned_ms bigint NOT NULL,"
     "  online_planned_ms bigint NOT NULL,"
     "  offline_held_ms bigint NOT NULL,"
     "  recorded_ms bigint NOT NULL,"
     "  roster_scheduled_ms bigint NOT NULL,"
     "  roster_attended_ms bigint NOT NULL,"
     "  roster_online_ms bigint NOT NULL,"
     "  enrolled bigint NOT NULL,"
     "  assessed bigint NOT NULL,"
     "  passed bigint NOT NULL,"
     "  findings_info bigint NOT NULL,"
     "  findings_warning bigint NOT NULL,"
     "  findings_serious bigint NOT NULL,"
     "  findings_pending bigint NOT NULL,"
     "  PRIMARY KEY (class, policy));"
     /* One function bumps the generation of the row's class; the triggers say when. */
     "CREATE FUNCTION class_gen_bump() RETURNS trigger LANGUAGE plpgsql AS $f$ "
     "BEGIN UPDATE classes SET gen = gen + 1 WHERE id = NEW.class; RETURN NULL; END $f$;"
     "CREATE TRIGGER events_class_gen AFTER INSERT ON events FOR EACH ROW "
     "WHEN (NEW.class IS NOT NULL) EXECUTE FUNCTION class_gen_bump();"
     "CREATE TRIGGER online_class_gen AFTER INSERT ON online_records FOR EACH ROW "
     "EXECUTE FUNCTION class_gen_bump();"
     "CREATE TRIGGER assessments_class_gen AFTER INSERT ON assessments FOR EACH ROW "
     "EXECUTE FUNCTION class_gen_bump();"
     "CREATE FUNCTION assessments_history() RETURNS trigger LANGUAGE plpgsql AS $f$ "
     "BEGIN INSERT INTO assessment_history(class, trainee, passed, assessed_on, certificate, "
     "recorded_at, recorded_by, superseded_at) VALUES (OLD.class, OLD.trainee, OLD.passed, "
     "OLD.assessed_on, OLD.certificate, OLD.recorded_at, OLD.recorded_by, NEW.recorded_at); "
     "UPDATE classes SET gen = gen + 1 WHERE id = NEW.class; RETURN NULL; END $f$;"
     "CREATE TRIGGER assessments_history AFTER UPDATE ON assessments FOR EACH ROW "
     "EXECUTE FUNCTION assessments_history();"
     "CREATE TRIGGER reviews_class_gen AFTER INSERT ON reviews FOR EACH ROW "
     "WHEN (NEW.class IS NOT NULL) EXECUTE FUNCTION class_gen_bump();"},
    {7, "accounts: users, login sessions, failed logins",
     "CREATE TABLE users ("
     "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     "  name text NOT NULL UNIQUE,"
     "  role text NOT NULL,"
     "  password_hash text NOT NULL,"
     "  created_at bigint NOT NULL,"
     "  password_changed_at bigint NOT NULL,"
     "  disabled_at bigint,"
     "  last_login_at bigint);"
     "CREATE TABLE login_sessions ("
     "  hash text PRIMARY KEY,"
     "  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
     "  created_at bigint NOT NULL,"
     "  last_seen_at bigint NOT NULL,"
     "  idle_ms bigint NOT NULL CHECK (idle_ms > 0),"
     "  max_ms bigint NOT NULL CHECK (max_ms >= idle_ms));"
     "CREATE INDEX login_sessions_user ON login_sessions(user_id);"
     "CREATE TABLE login_failures ("
     "  key text PRIMARY KEY,"
     "  failures bigint NOT NULL,"
     "  first_at bigint NOT NULL,"
     "  last_at bigint NOT NULL,"
     "  locked_until bigint NOT NULL);"},
    {8, "evidence: batch signatures, the collector's signing keys",
     "CREATE TABLE batch_signatures ("
     "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     "  device text NOT NULL REFERENCES devices(id),"
     "  first_seq bigint NOT NULL CHECK (first_seq >= 1),"
     "  last_seq bigint NOT NULL CHECK (last_seq >= first_seq),"
     "  last_hash text NOT NULL,"
     "  signature text NOT NULL,"
     "  received_at bigint NOT NULL);"
     "CREATE INDEX batch_signatures_range ON batch_signatures(device, last_seq, first_seq);"
     "CREATE TABLE signing_keys ("
     "  key_id text PRIMARY KEY,"
     "  public_key_pem text NOT NULL,"
     "  created_at bigint NOT NULL,"
     "  retired_at bigint);"
     "CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys((retired_at IS NULL)) "
     "WHERE retired_at IS NULL;"},
    {9, "evidence: signed publications, who enrolled each device",
     /* The enrol token's name that enrolled a device (NULL: enrolled before version 9). */
     "ALTER TABLE devices ADD COLUMN enrolled_by text;"
     /* One frozen, signed publication per year: never changed or deleted. */
     "CREATE TABLE publications ("
     "  year bigint PRIMARY KEY,"
     "  body text NOT NULL,"
     "  key_id text NOT NULL,"
     "  signature text NOT NULL,"
     "  published_at bigint NOT NULL);"},
    {10, "random roll-calls: a class's count per offline session and confirmation window",
     "ALTER TABLE classes ADD COLUMN rollcalls bigint NOT NULL DEFAULT 0 "
     "CHECK (rollcalls >= 0);"
     "ALTER TABLE classes ADD COLUMN rollcall_window_min bigint NOT NULL DEFAULT 10 "
     "CHECK (rollcall_window_min > 0);"},
    {11, "subsidy procedure: the steps of applications and claims",
     "CREATE TABLE procedure_steps ("
     "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     "  prev bigint NOT NULL CHECK (prev >= 0),"
     "  kind text NOT NULL CHECK (kind IN ('application', 'claim')),"
     "  subject text NOT NULL,"
     "  action text NOT NULL,"
     "  state text NOT NULL,"
     "  finding text NOT NULL,"
     "  on_date bigint NOT NULL,"
     "  by_whom text NOT NULL,"
     "  recorded_at bigint NOT NULL,"
     "  reason text NOT NULL,"
     "  data text NOT NULL);"
     "CREATE UNIQUE INDEX procedure_steps_chain ON procedure_steps(kind, subject, prev);"
     /* A claim's date is an input of the class's findings (late_claim): cached figures
      * follow it. */
     "CREATE FUNCTION procedure_gen_bump() RETURNS trigger LANGUAGE plpgsql AS $f$ "
     "BEGIN UPDATE classes SET gen = gen + 1 WHERE id = NEW.subject; RETURN NULL; END $f$;"
     "CREATE TRIGGER procedure_steps_class_gen AFTER INSERT ON procedure_steps FOR EACH ROW "
     "WHEN (NEW.kind = 'claim') EXECUTE FUNCTION procedure_gen_bump();"
     /* The city-wide pseudonym of each trainee (HMAC under the collector-only city key, made
      * at roster upload; NULL for rosters stored before): the yearly limits across
      * institutions. */
     "ALTER TABLE roster ADD COLUMN city text CHECK (city IS NULL OR length(city) = 64);"
     "CREATE INDEX roster_city ON roster(city);"
     /* A certificate number (专业技术等级证书编号) is unique city-wide. */
     "CREATE UNIQUE INDEX assessments_certificate ON assessments(certificate) "
     "WHERE certificate <> '';"},
    {12, "alerts: webhook subscriptions to serious findings, their outbox",
     "CREATE TABLE alert_subscriptions ("
     "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     "  name text NOT NULL UNIQUE,"
     "  district text CHECK (district IS NULL OR length(district) = 6),"
     "  format text NOT NULL CHECK (format IN ('json', 'wecom-markdown', 'wecom-text')),"
     "  url text NOT NULL,"
     "  ca_file text,"
     "  created_by text NOT NULL,"
     "  created_at bigint NOT NULL,"
     "  removed_at bigint);"
     "CREATE TABLE alert_outbox ("
     "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     "  subscription bigint NOT NULL REFERENCES alert_subscriptions(id),"
     "  finding bigint NOT NULL REFERENCES findings(id),"
     "  state text NOT NULL DEFAULT 'pending' "
     "    CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),"
     "  attempts bigint NOT NULL DEFAULT 0,"
     "  next_at bigint NOT NULL,"
     "  last_status bigint,"
     "  last_error text,"
     "  last_at bigint,"
     "  delivered_at bigint,"
     "  created_at bigint NOT NULL,"
     "  UNIQUE (subscription, finding));"
     "CREATE INDEX alert_outbox_due ON alert_outbox(state, next_at);"
     "CREATE FUNCTION findings_alert() RETURNS trigger LANGUAGE plpgsql AS $f$ "
     "BEGIN INSERT INTO alert_outbox(subscription, finding, next_at, created_at) "
     "SELECT s.id, NEW.id, NEW.created_at, NEW.created_at FROM alert_subscriptions s "
     "WHERE s.removed_at IS NULL AND (s.district IS NULL OR s.district = "
     "(SELECT i.district FROM institutions i WHERE i.id = NEW.institution)); "
     "RETURN NULL; END $f$;"
     "CREATE TRIGGER findings_alert AFTER INSERT ON findings FOR EACH ROW "
     "WHEN (NEW.severity = 'high') EXECUTE FUNCTION findings_alert();"},
    {13, "subsidy procedure: the living allowance (生活费补贴) as a kind of step",
     /* The column's CHECK has PostgreSQL's default name; dropping it by that name fails
      * loudly (and rolls the migration back) if it were ever otherwise. An allowance chain's
      * subject is the trainee's city-wide pseudonym (roster.city). */
     "ALTER TABLE procedure_steps DROP CONSTRAINT procedure_steps_kind_check, "
     "ADD CONSTRAINT procedure_steps_kind_check "
     "CHECK (kind IN ('application', 'claim', 'allowance'));"},
    {14, "tokens: who created and who revoked each",
     "ALTER TABLE tokens ADD COLUMN created_by text, ADD COLUMN revoked_by text;"},
    {15, "figures: generations bumped by the store (store.c, once per class per transaction)",
     /* As SQLite's migration 15: no trigger bumps classes.gen any more; the history of
      * assessments stays a trigger, without the bump. */
     "DROP TRIGGER events_class_gen ON events;"
     "DROP TRIGGER online_class_gen ON online_records;"
     "DROP TRIGGER assessments_class_gen ON assessments;"
     "DROP TRIGGER reviews_class_gen ON reviews;"
     "DROP TRIGGER procedure_steps_class_gen ON procedure_steps;"
     "DROP FUNCTION class_gen_bump();"
     "DROP FUNCTION procedure_gen_bump();"
     "CREATE OR REPLACE FUNCTION assessments_history() RETURNS trigger LANGUAGE plpgsql AS $f$ "
     "BEGIN INSERT INTO assessment_history(class, trainee, passed, assessed_on, certificate, "
     "recorded_at, recorded_by, superseded_at) VALUES (OLD.class, OLD.trainee, OLD.passed, "
     "OLD.assessed_on, OLD.certificate, OLD.recorded_at, OLD.recorded_by, NEW.recorded_at); "
     "RETURN NULL; END $f$;"},
    {16, "engine alerts: the keys of serious engine findings already sent to the alert outbox",
     "CREATE TABLE engine_alerts ("
     "  class text NOT NULL,"
     "  kind text NOT NULL,"
     "  subject text NOT NULL,"
     "  session text NOT NULL,"
     "  finding bigint REFERENCES findings(id),"
     "  created_at bigint NOT NULL,"
     "  PRIMARY KEY (class, kind, subject, session));"
     "CREATE UNIQUE INDEX engine_alerts_finding ON engine_alerts(finding);"},
    {17, "findings: the detail's template code and arguments (rendered in the reader's language)",
     "ALTER TABLE findings ADD COLUMN detail_code text, ADD COLUMN detail_args text;"},
    {18, "events: the rest of what the figures read as columns (no line parsed for a report)",
     "ALTER TABLE events ADD COLUMN rollcall text, ADD COLUMN skew_ms bigint,"
     "  ADD COLUMN fix_sats bigint,"
     "  ADD COLUMN cols bigint CHECK (cols IS NULL OR cols = 1);"},
    {19, "events: the figures read a class's events and a kiosk's own from covering indexes",
     /* As SQLite's migration 19: each event is in one of the two, keyed as the figures read
      * it, with every column STORE_EVENT_READ_COLUMNS reads INCLUDEd (an index-only scan where
      * the visibility map allows). events_trainee_ts and events_device_type served no query. */
     "DROP INDEX events_class_ts;"
     "DROP INDEX events_device_ts;"
     "DROP INDEX events_trainee_ts;"
     "DROP INDEX events_device_type;"
     "CREATE INDEX events_class_read ON events(class, device, seq) INCLUDE (event_id, type, ts,"
     "  trainee, trainee_masked, session, rollcall, fence, camera, kind, verdict, fix_lat,"
     "  fix_lon, fix_eph, fix_mode, fix_sats, fix_time, fix_source, start_ts, end_ts, skew_ms,"
     "  server_verdict, received_at, cols) WHERE class IS NOT NULL;"
     "CREATE INDEX events_device_read ON events(device, ts, seq) INCLUDE (class, event_id, type,"
     "  trainee, trainee_masked, session, rollcall, fence, camera, kind, verdict, fix_lat,"
     "  fix_lon, fix_eph, fix_mode, fix_sats, fix_time, fix_source, start_ts, end_ts, skew_ms,"
     "  server_verdict, received_at, cols) WHERE class IS NULL;"},
    {20, "events: what the figures read of an event packed in one column, indexed in place of 24",
     /* As SQLite's migration 20: pack is store_event_pack of the row, NULL until the backfill
      * of migrate packs older rows; the read indexes INCLUDE it instead of the columns. */
     "ALTER TABLE events ADD COLUMN pack bytea;"
     "DROP INDEX events_class_read;"
     "DROP INDEX events_device_read;"
     "CREATE INDEX events_class_read ON events(class, device, seq) INCLUDE (server_verdict,"
     "  received_at, pack) WHERE class IS NOT NULL;"
     "CREATE INDEX events_device_read ON events(device, ts, seq) INCLUDE (class,"
     "  server_verdict, received_at, pack) WHERE class IS NULL;"},
};

enum { MIGRATIONS = (int)(sizeof migrations / sizeof migrations[0]) };

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pg_schema_version(store *st, int *version, char *err)
{
    struct store_pg *s = pg_of(st);
    PGresult *r = NULL;
    *version = 0;
    int rc = pg_run(s, "SELECT to_regclass('schema_migrations') IS NOT NULL", NULL, false, &r, err,
                    "reading the schema version");
    if (rc != RC_OK)
        return rc;
    bool exists = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!exists)
        return RC_OK;
    /* Not prepared: the table may not have existed when this connection first asked. */
    r = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = fail_res(s, r, err, "reading the schema version");
    else
        *version = (int)pg_col_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

/* Applies one migration in its own transaction under the migration lock, re-reading the
 * version there so concurrent migrators apply each step once. */
static int apply(store *st, const struct migration *m, char *err)
{
    struct store_pg *s = pg_of(st);
    char lock[96];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%d)", PG_MIGRATION_LOCK);
    int rc = pg_simple(s, "BEGIN", err, "starting a migration");
    if (rc != RC_OK)
        return rc;
    if ((rc = pg_simple(s, lock, err, "locking the schema")) != RC_OK ||
        (rc = pg_simple(s,
                        "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY "
                        "KEY, name text NOT NULL, applied_at bigint NOT NULL)",
                        err, "creating schema_migrations")) != RC_OK)
        goto out;
    int v = 0;
    if ((rc = pg_schema_version(st, &v, err)) != RC_OK || v >= m->version)
        goto out;
    if (v != m->version - 1) {
        rc = rc_fail(err, RC_CORRUPT, "schema at version %d cannot take migration %d", v,
                     m->version);
        goto out;
    }
    char what[128];
    snprintf(what, sizeof what, "migration %d (%s)", m->version, m->name);
    if ((rc = pg_simple(s, m->sql, err, what)) != RC_OK)
        goto out;
    char ver[24], at[24];
    snprintf(ver, sizeof ver, "%d", m->version);
    snprintf(at, sizeof at, "%" PRId64, wall_ms());
    const char *vals[3] = {ver, m->name, at};
    PGresult *r = PQexecParams(s->conn,
                               "INSERT INTO schema_migrations(version, name, applied_at) "
                               "VALUES ($1, $2, $3)",
                               3, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = fail_res(s, r, err, what);
    PQclear(r);
out:
    if (rc == RC_OK)
        rc = pg_simple(s, "COMMIT", err, "committing a migration");
    if (rc != RC_OK)
        pg_simple(s, "ROLLBACK", NULL, "rollback");
    return rc;
}

static int pg_migrate_to(store *st, int target, int *from, int *to, char *err)
{
    int rc = pg_schema_version(st, from, err);
    if (rc != RC_OK)
        return rc;
    *to = *from;
    if (*from > MIGRATIONS)
        return rc_fail(err, RC_STATE,
                       "database schema is at version %d, newer than this program's %d: "
                       "upgrade rollcall-server",
                       *from, MIGRATIONS);
    for (int i = 0; i < MIGRATIONS && migrations[i].version <= target; i++)
        if ((rc = apply(st, &migrations[i], err)) != RC_OK)
            break;
    /* DDL may have changed what prepared statements refer to. */
    pg_simple(pg_of(st), "DEALLOCATE ALL", NULL, "deallocate");
    pg_of(st)->nprep = 0;
    int rc2 = pg_schema_version(st, to, rc == RC_OK ? err : NULL);
    return rc != RC_OK ? rc : rc2;
}

/* ---- Transactions ---- */

/* BEGIN, on a new connection when the server dropped the old one (nothing is lost: no
 * transaction was open). */
static int begin_as(struct store_pg *s, const char *sql, char *err)
{
    if (PQstatus(s->conn) == CONNECTION_BAD)
        reconnect(s);
    int rc = pg_simple(s, sql, err, "begin");
    if (rc == RC_DB && PQstatus(s->conn) == CONNECTION_BAD && reconnect(s))
        rc = pg_simple(s, sql, err, "begin");
    return rc;
}

static int pg_begin(store *st, char *err)
{
    struct store_pg *s = pg_of(st);
    int rc = begin_as(s, "BEGIN", err);
    s->writing = rc == RC_OK;
    return rc;
}

static int pg_begin_read(store *st, char *err)
{
    struct store_pg *s = pg_of(st);
    s->writing = false;
    return begin_as(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
}

static int pg_commit(store *st, char *err)
{
    struct store_pg *s = pg_of(st);
    /* COMMIT of a transaction that failed answers ROLLBACK without an error: catch it. */
    PGresult *r = PQexec(s->conn, "COMMIT");
    int rc = RC_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = fail_res(s, r, err, "commit");
    else if (strcmp(PQcmdStatus(r), "ROLLBACK") == 0)
        rc = rc_fail(err, RC_DB, "commit: the transaction had failed and was rolled back");
    PQclear(r);
    s->writing = false;
    return rc;
}

static void pg_rollback(store *st)
{
    struct store_pg *s = pg_of(st);
    PQclear(PQexec(s->conn, "ROLLBACK"));
    s->writing = false;
}

static int pg_savepoint(store *st, const char *verb, const char *name, char *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "%s %s", verb, name); /* name is [a-z_]{1,32} (store.c) */
    return pg_simple(pg_of(st), sql, err, verb);
}

int pg_own_begin(store *st, bool *own, char *err)
{
    *own = !st->in_tx;
    return *own ? pg_begin(st, err) : RC_OK;
}

int pg_own_end(store *st, bool own, int rc, char *err)
{
    if (!own)
        return rc;
    if (rc == RC_OK)
        return pg_commit(st, err);
    pg_rollback(st);
    return rc;
}

/* PostgreSQL's own tools make and check its backups (docs/OPERATIONS.md "Backup and restore"):
 * a consistent dump while serving is pg_dump's, and the server checks its pages itself. */
static int pg_backup(store *st, const char *dest_path, char *err)
{
    (void)st;
    (void)dest_path;
    return rc_fail(err, RC_STATE,
                   "a PostgreSQL database is backed up with pg_dump -Fc and restored with "
                   "pg_restore (docs/OPERATIONS.md)");
}

static int pg_integrity_check(store *st, char *err)
{
    (void)st;
    return rc_fail(err, RC_STATE,
                   "a PostgreSQL database is checked by the server itself (pg_amcheck for "
                   "an explicit check; docs/OPERATIONS.md)");
}

const struct store_ops store_pg_ops = {
    .name = "postgresql",
    .latest = MIGRATIONS,
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .migrate_to = pg_migrate_to,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .savepoint = pg_savepoint,
    .checkpoint = NULL, /* the server checkpoints by itself */
    .backup = pg_backup,
    .integrity_check = pg_integrity_check,
    .token_insert = pg_token_insert,
    .token_lookup = pg_token_lookup,
    .device_count_seen = pg_device_count_seen,
    .device_list = pg_device_list,
    .enrolment_get = pg_enrolment_get,
    .enrolment_insert = pg_enrolment_insert,
    .enrolment_update = pg_enrolment_update,
    .institution_key = pg_institution_key,
    .head_get = pg_head_get,
    .head_advance = pg_head_advance,
    .events_insert = pg_events_insert,
    .event_raw = pg_event_raw,
    .device_seen = pg_device_seen,
    .finding_insert = pg_finding_insert,
    .fence_current = pg_fence_current,
    .fence_put = pg_fence_put,
    .begin_read = pg_begin_read,
    .institution_district = pg_institution_district,
    .institution_register = pg_institution_register,
    .class_put = pg_class_put,
    .class_get = pg_class_get,
    .class_plan = pg_class_plan,
    .class_list = pg_class_list,
    .online_insert = pg_online_insert,
    .online_list = pg_online_list,
    .assessment_put = pg_assessment_put,
    .assessment_list = pg_assessment_list,
    .class_events = pg_class_events,
    .device_events = pg_device_events,
    .class_device_events = pg_class_device_events,
    .events_uncolumned = pg_events_uncolumned,
    .event_columns_fill = pg_event_columns_fill,
    .class_devices = pg_class_devices,
    .device_conflicts = pg_device_conflicts,
    .event_find = pg_event_find,
    .step_insert = pg_step_insert,
    .step_list = pg_step_list,
    .review_insert = pg_review_insert,
    .review_list = pg_review_list,
    .figures_get = pg_figures_get,
    .figures_get_many = pg_figures_get_many,
    .figures_put = pg_figures_put,
    .figures_clear = pg_figures_clear,
    .class_bump = pg_class_bump,
    .finding_list = pg_finding_list,
    .engine_alert_record = pg_engine_alert_record,
    .subsidy_history = pg_subsidy_history,
    .events_scan = pg_events_scan,
    .token_list = pg_token_list,
    .token_revoke = pg_token_revoke,
    .fence_list = pg_fence_list,
    .user_insert = pg_user_insert,
    .user_get = pg_user_get,
    .user_list = pg_user_list,
    .user_set_disabled = pg_user_set_disabled,
    .user_set_password = pg_user_set_password,
    .user_logged_in = pg_user_logged_in,
    .session_insert = pg_session_insert,
    .session_lookup = pg_session_lookup,
    .session_touch = pg_session_touch,
    .session_delete = pg_session_delete,
    .session_purge = pg_session_purge,
    .login_failures_get = pg_login_failures_get,
    .login_failures_put = pg_login_failures_put,
    .login_failures_clear = pg_login_failures_clear,
    .batch_sig_insert = pg_batch_sig_insert,
    .batch_close = pg_batch_close,
    .batch_sig_list = pg_batch_sig_list,
    .event_range = pg_event_range,
    .fence_version = pg_fence_version,
    .publication_put = pg_publication_put,
    .publication_get = pg_publication_get,
    .signing_key_add = pg_signing_key_add,
    .signing_key_get = pg_signing_key_get,
    .signing_key_current = pg_signing_key_current,
    .signing_key_list = pg_signing_key_list,
    .alert_sub_insert = pg_alert_sub_insert,
    .alert_sub_list = pg_alert_sub_list,
    .alert_sub_get = pg_alert_sub_get,
    .alert_sub_remove = pg_alert_sub_remove,
    .alert_deliveries = pg_alert_deliveries,
    .alert_claim = pg_alert_claim,
    .alert_record = pg_alert_record,
};

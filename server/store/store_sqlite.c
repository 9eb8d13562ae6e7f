/* The SQLite back-end of store.h: all of its SQL lives in this file.
 *
 * Each connection: WAL journal (readers never block the writer), synchronous=FULL (an
 * acknowledged batch survives a power cut: the agent may forget what the server acknowledged),
 * foreign keys on, a busy timeout so concurrent writers from the pool wait instead of failing.
 * Tables are STRICT so a wrong type is an error, not a silent conversion.
 *
 * Schema versions live in schema_migrations (one row per applied migration); the version is
 * its largest number, 0 when the table does not exist. */
#include "engine/catalogue.h"
#include "engine/plan.h"
#include "rc.h"
#include "store/store.h"
#include "store/store_backend.h"
#include "store/store_sqlite_warm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    SQLITE_BUSY_TIMEOUT_MS = 10000,
    SQLITE_CHECKPOINT_PAGES = 1000, /* WAL size that calls for a checkpoint (SQLite's default) */
};

/* Statements of the hot paths (authentication, ingest), prepared on a connection's first use
 * and kept until it closes: parsing SQL costs more than running these statements. A cached
 * statement is reset and its bindings cleared after every use (cached_done), so it never
 * holds a read transaction open nor points at a caller's strings. */
enum stmt_id {
    STMT_TOKEN_LOOKUP,
    STMT_ENROLMENT_GET,
    STMT_HEAD_GET,
    STMT_HEAD_ADVANCE,
    STMT_EVENT_INSERT,
    STMT_EVENT_RAW,
    STMT_DEVICE_SEEN,
    STMT_FINDING_INSERT,
    STMT_FENCE_CURRENT,
    STMT_SESSION_LOOKUP,
    STMT_BATCH_SIG_INSERT,
    STMT_COUNT
};

struct store_sqlite {
    struct store base; /* first: store.c sees only this */
    sqlite3 *db;
    bool writing;                   /* holds write_lock (between begin and commit/rollback) */
    sqlite3_stmt *stmt[STMT_COUNT]; /* cached statements, NULL until first used */
    int wal_frames; /* STORE_OPEN_MANUAL_CHECKPOINT: WAL frames after the last commit */
};

/* Writers of one process queue on this mutex before BEGIN IMMEDIATE. Without it, pooled
 * connections contending for SQLite's write lock wait in its busy handler, which sleeps in
 * growing steps (up to 100 ms) instead of waking when the lock is free: under many concurrent
 * uploads the collector then spends most of its time asleep. Other processes (an import, a
 * second collector) still meet the busy timeout. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

struct migration {
    int version;
    const char *name;
    const char *sql;
};

/* Numbered migrations, applied in order; never edit one that has shipped, add the next. */
static const struct migration migrations[] = {
    {1, "identities: tokens, institutions, fences, devices",
     "CREATE TABLE tokens ("
     "  id INTEGER PRIMARY KEY,"
     "  hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)," /* SHA-256 hex of the token */
     "  name TEXT NOT NULL UNIQUE,"
     "  role TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL," /* UTC ms */
     "  revoked_at INTEGER"
     ") STRICT;"
     "CREATE TABLE institutions ("
     "  id TEXT PRIMARY KEY,"
     "  district TEXT CHECK (district IS NULL OR length(district) = 6),"
     "  pseudonym_key BLOB NOT NULL CHECK (length(pseudonym_key) = 32)," /* HMAC-SHA-256 key */
     "  created_at INTEGER NOT NULL"
     ") STRICT;"
     /* Every version of every venue fence; the current one has superseded_at NULL. A fence
      * is replaced only by an admin (import fences); history is kept for re-judging. */
     "CREATE TABLE fences ("
     "  id TEXT NOT NULL,"
     "  version INTEGER NOT NULL CHECK (version >= 1),"
     "  geojson TEXT NOT NULL,"
     "  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
     "  created_at INTEGER NOT NULL,"
     "  created_by TEXT NOT NULL," /* token name */
     "  superseded_at INTEGER,"
     "  PRIMARY KEY (id, version)"
     ") STRICT;"
     "CREATE UNIQUE INDEX fences_current ON fences(id) WHERE superseded_at IS NULL;"
     "CREATE TABLE devices ("
     "  id TEXT PRIMARY KEY,"
     "  institution TEXT NOT NULL REFERENCES institutions(id),"
     "  public_key_pem TEXT NOT NULL,"
     "  profile TEXT,"
     "  fence TEXT," /* the venue fence id it was enrolled with */
     "  enrolled_at INTEGER NOT NULL,"
     "  last_seen_at INTEGER"
     ") STRICT;"
     "CREATE INDEX devices_institution ON devices(institution);"},
    {2, "evidence: events, chain heads, findings",
     /* Each event exactly as received (raw bytes, hashed as received) plus the columns
      * reports query. (device, seq) is unique: the same bytes again are a duplicate, other
      * bytes at a stored seq are a finding, never an overwrite. */
     "CREATE TABLE events ("
     "  id INTEGER PRIMARY KEY,"
     "  device TEXT NOT NULL REFERENCES devices(id),"
     "  seq INTEGER NOT NULL CHECK (seq >= 1),"
     "  event_id TEXT NOT NULL," /* UUIDv7 from the device */
     "  raw BLOB NOT NULL,"
     "  hash TEXT NOT NULL CHECK (length(hash) = 64),"
     "  prev TEXT NOT NULL CHECK (length(prev) = 64),"
     "  type TEXT NOT NULL,"
     "  ts INTEGER NOT NULL," /* device clock, UTC ms */
     "  trainee TEXT,"        /* pseudonym */
     "  trainee_masked TEXT,"
     "  class TEXT,"
     "  session TEXT,"
     "  verdict TEXT,"        /* the kiosk's advice */
     "  server_verdict TEXT," /* re-judged from the raw fix and the server's fence copy */
     "  distance_m REAL,"
     "  fence TEXT,"
     "  received_at INTEGER NOT NULL," /* server clock, UTC ms */
     "  UNIQUE (device, seq)"
     ") STRICT;"
     "CREATE INDEX events_class_ts ON events(class, ts);"
     "CREATE INDEX events_trainee_ts ON events(trainee, ts);"
     "CREATE TABLE chain_heads ("
     "  device TEXT PRIMARY KEY REFERENCES devices(id),"
     "  seq INTEGER NOT NULL CHECK (seq >= 1),"
     "  hash TEXT NOT NULL CHECK (length(hash) = 64),"
     "  updated_at INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE findings ("
     "  id INTEGER PRIMARY KEY,"
     "  kind TEXT NOT NULL,"
     "  severity TEXT NOT NULL,"
     "  device TEXT,"
     "  seq INTEGER,"
     "  institution TEXT,"
     "  class TEXT,"
     "  trainee TEXT,"
     "  detail TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  reviewed_by TEXT,"
     "  reviewed_at INTEGER,"
     "  approved INTEGER CHECK (approved IS NULL OR approved IN (0, 1))"
     ") STRICT;"
     "CREATE INDEX findings_device_seq ON findings(device, seq);"
     "CREATE INDEX findings_class ON findings(class);"},
    {3, "ingest: device profile accuracy and health, event fix and recording columns",
     "ALTER TABLE devices ADD COLUMN assumed_eph_m REAL;"
     "ALTER TABLE devices ADD COLUMN status_queue INTEGER;"   /* latest heartbeat queue */
     "ALTER TABLE devices ADD COLUMN status_skew_ms INTEGER;" /* latest clock skew_ms */
     "ALTER TABLE devices ADD COLUMN status_gnss TEXT;"       /* latest gnss event kind */
     "ALTER TABLE devices ADD COLUMN status_fix_mode INTEGER;"
     "ALTER TABLE devices ADD COLUMN status_fix_ts INTEGER;"
     "ALTER TABLE events ADD COLUMN boot TEXT;"
     "ALTER TABLE events ADD COLUMN mono_ms INTEGER;"
     "ALTER TABLE events ADD COLUMN fix_lat REAL;"
     "ALTER TABLE events ADD COLUMN fix_lon REAL;"
     "ALTER TABLE events ADD COLUMN fix_eph REAL;"
     "ALTER TABLE events ADD COLUMN fix_mode INTEGER;"
     "ALTER TABLE events ADD COLUMN fix_time INTEGER;"
     "ALTER TABLE events ADD COLUMN fix_source TEXT;"
     "ALTER TABLE events ADD COLUMN server_distance_m REAL;"
     "ALTER TABLE events ADD COLUMN server_fence_version INTEGER;"
     "ALTER TABLE events ADD COLUMN camera TEXT;"
     "ALTER TABLE events ADD COLUMN file TEXT;"
     "ALTER TABLE events ADD COLUMN start_ts INTEGER;"
     "ALTER TABLE events ADD COLUMN end_ts INTEGER;"
     "ALTER TABLE events ADD COLUMN kind TEXT;"
     "CREATE INDEX events_device_type ON events(device, type, seq);"},
    {4, "figures: classes, sessions, rosters",
     /* institutions.district: the district an institution is registered in, set by its
      * first class plan (store_institution_register). */
     /* A class plan: parsed columns plus the pseudonymised plan as JSON. gen counts changes
      * of anything the class's figures depend on; triggers below bump it. */
     "CREATE TABLE classes ("
     "  id TEXT PRIMARY KEY,"
     "  institution TEXT NOT NULL REFERENCES institutions(id),"
     "  district TEXT NOT NULL CHECK (length(district) = 6),"
     "  occupation TEXT NOT NULL,"
     "  level TEXT NOT NULL CHECK (level IN ('junior', 'intermediate', 'senior')),"
     "  applied_on INTEGER NOT NULL,"
     "  start_at INTEGER NOT NULL,"
     "  end_at INTEGER NOT NULL CHECK (end_at > start_at),"
     "  plan_json TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL,"
     "  updated_by TEXT NOT NULL,"
     "  gen INTEGER NOT NULL DEFAULT 1"
     ") STRICT;"
     "CREATE INDEX classes_institution ON classes(institution, start_at);"
     "CREATE INDEX classes_district ON classes(district, start_at);"
     "CREATE TABLE sessions ("
     "  class TEXT NOT NULL REFERENCES classes(id) ON DELETE CASCADE,"
     "  id TEXT NOT NULL,"
     "  start_at INTEGER NOT NULL,"
     "  end_at INTEGER NOT NULL CHECK (end_at > start_at),"
     "  mode TEXT NOT NULL CHECK (mode IN ('offline', 'online')),"
     "  fence TEXT,"
     "  PRIMARY KEY (class, id)"
     ") STRICT;"
     "CREATE TABLE roster ("
     "  class TEXT NOT NULL REFERENCES classes(id) ON DELETE CASCADE,"
     "  trainee TEXT NOT NULL CHECK (length(trainee) = 64)," /* pseudonym, never the number */
     "  masked TEXT NOT NULL CHECK (length(masked) = 18),"
     "  name TEXT NOT NULL,"
     "  student INTEGER NOT NULL CHECK (student IN (0, 1)),"
     "  position INTEGER NOT NULL,"
     "  PRIMARY KEY (class, trainee)"
     ") STRICT;"
     "CREATE INDEX roster_trainee ON roster(trainee);"},
    {5, "figures: online records, assessments, reviews",
     "CREATE TABLE online_records ("
     "  id INTEGER PRIMARY KEY,"
     "  class TEXT NOT NULL REFERENCES classes(id),"
     "  trainee TEXT NOT NULL CHECK (length(trainee) = 64),"
     "  masked TEXT NOT NULL,"
     "  start_at INTEGER NOT NULL,"
     "  end_at INTEGER NOT NULL CHECK (end_at > start_at),"
     "  platform TEXT NOT NULL,"
     "  recorded_at INTEGER NOT NULL,"
     "  recorded_by TEXT NOT NULL,"
     "  UNIQUE (class, trainee, start_at, end_at, platform)"
     ") STRICT;"
     /* The current result per trainee and class; earlier ones move to the history. */
     "CREATE TABLE assessments ("
     "  class TEXT NOT NULL REFERENCES classes(id),"
     "  trainee TEXT NOT NULL CHECK (length(trainee) = 64),"
     "  masked TEXT NOT NULL,"
     "  passed INTEGER NOT NULL CHECK (passed IN (0, 1)),"
     "  assessed_on INTEGER NOT NULL,"
     "  certificate TEXT NOT NULL,"
     "  recorded_at INTEGER NOT NULL,"
     "  recorded_by TEXT NOT NULL,"
     "  PRIMARY KEY (class, trainee)"
     ") STRICT;"
     "CREATE INDEX assessments_trainee ON assessments(trainee);"
     "CREATE TABLE assessment_history ("
     "  id INTEGER PRIMARY KEY,"
     "  class TEXT NOT NULL,"
     "  trainee TEXT NOT NULL,"
     "  passed INTEGER NOT NULL,"
     "  assessed_on INTEGER NOT NULL,"
     "  certificate TEXT NOT NULL,"
     "  recorded_at INTEGER NOT NULL,"
     "  recorded_by TEXT NOT NULL,"
     "  superseded_at INTEGER NOT NULL"
     ") STRICT;"
     /* Reviewers' decisions on flagged events; append-only, the latest per event counts. */
     "CREATE TABLE reviews ("
     "  id INTEGER PRIMARY KEY,"
     "  device TEXT NOT NULL,"
     "  seq INTEGER NOT NULL,"
     "  event_id TEXT NOT NULL,"
     "  class TEXT,"
     "  decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),"
     "  reason TEXT NOT NULL CHECK (length(reason) >= 1),"
     "  reviewer TEXT NOT NULL," /* the token's name */
     "  reviewed_at INTEGER NOT NULL,"
     "  FOREIGN KEY (device, seq) REFERENCES events(device, seq)"
     ") STRICT;"
     "CREATE INDEX reviews_class ON reviews(class, device, seq, id);"
     "CREATE INDEX events_event_id ON events(event_id);"
     "CREATE INDEX events_device_ts ON events(device, ts);"
     "CREATE INDEX findings_institution ON findings(institution, created_at);"},
    {6, "figures: the derived figures cache and the inputs generation triggers",
     /* Derived: a class's figures under a policy at one generation of its inputs. */
     "CREATE TABLE class_figures ("
     "  class TEXT NOT NULL REFERENCES classes(id) ON DELETE CASCADE,"
     "  policy TEXT NOT NULL,"
     "  gen INTEGER NOT NULL,"
     "  computed_at INTEGER NOT NULL,"
     "  valid_until INTEGER NOT NULL,"
     "  minutes_per_hour INTEGER NOT NULL,"
     "  scheduled_ms INTEGER NOT NULL,"
     "  planned_ms INTEGER NOT NULL,"
     "  online_planned_ms INTEGER NOT NULL,"
     "  offline_held_ms INTEGER NOT NULL,"
     "  recorded_ms INTEGER NOT NULL,"
     "  roster_scheduled_ms INTEGER NOT NULL,"
     "  roster_attended_ms INTEGER NOT NULL,"
     "  roster_online_ms INTEGER NOT NULL,"
     "  enrolled INTEGER NOT NULL,"
     "  assessed INTEGER NOT NULL,"
     "  passed INTEGER NOT NULL,"
     "  findings_info INTEGER NOT NULL,"
     "  findings_warning INTEGER NOT NULL,"
     "  findings_serious INTEGER NOT NULL,"
     "  findings_pending INTEGER NOT NULL,"
     "  PRIMARY KEY (class, policy)"
     ") STRICT;"
     "CREATE TRIGGER events_class_gen AFTER INSERT ON events WHEN NEW.class IS NOT NULL "
     "BEGIN UPDATE classes SET gen = gen + 1 WHERE id = NEW.class; END;"
     "CREATE TRIGGER online_class_gen AFTER INSERT ON online_records "
     "BEGIN UPDATE classes SET gen = gen + 1 WHERE id = NEW.class; END;"
     "CREATE TRIGGER assessments_class_gen AFTER INSERT ON assessments "
     "BEGIN UPDATE classes SET gen = gen + 1 WHERE id = NEW.class; END;"
     "CREATE TRIGGER assessments_history AFTER UPDATE ON assessments "
     "BEGIN INSERT INTO assessment_history(class, trainee, passed, assessed_on, certificate, "
     "recorded_at, recorded_by, superseded_at) VALUES (OLD.class, OLD.trainee, OLD.passed, "
     "OLD.assessed_on, OLD.certificate, OLD.recorded_at, OLD.recorded_by, NEW.recorded_at); "
     "UPDATE classes SET gen = gen + 1 WHERE id = NEW.class; END;"
     "CREATE TRIGGER reviews_class_gen AFTER INSERT ON reviews WHEN NEW.class IS NOT NULL "
     "BEGIN UPDATE classes SET gen = gen + 1 WHERE id = NEW.class; END;"},
    {7, "accounts: users, login sessions, failed logins",
     /* A person's account: an Argon2id PHC string, never the password. */
     "CREATE TABLE users ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE,"
     "  role TEXT NOT NULL,"
     "  password_hash TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  password_changed_at INTEGER NOT NULL,"
     "  disabled_at INTEGER,"
     "  last_login_at INTEGER"
     ") STRICT;"
     /* A login session: the SHA-256 of its random id, never the id (the cookie's value). */
     "CREATE TABLE login_sessions ("
     "  hash TEXT PRIMARY KEY,"
     "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
     "  created_at INTEGER NOT NULL,"
     "  last_seen_at INTEGER NOT NULL,"
     /* Lifetimes fixed at login by the collector that made the session: every collector on
      * the database ends it by these, whatever its own settings. */
     "  idle_ms INTEGER NOT NULL CHECK (idle_ms > 0),"
     "  max_ms INTEGER NOT NULL CHECK (max_ms >= idle_ms)"
     ") STRICT;"
     "CREATE INDEX login_sessions_user ON login_sessions(user_id);"
     /* Failed logins per SHA-256 of the name as typed, known or not. */
     "CREATE TABLE login_failures ("
     "  key TEXT PRIMARY KEY,"
     "  failures INTEGER NOT NULL,"
     "  first_at INTEGER NOT NULL,"
     "  last_at INTEGER NOT NULL,"
     "  locked_until INTEGER NOT NULL"
     ") STRICT;"},
    {8, "evidence: batch signatures, the collector's signing keys",
     /* Each accepted batch's signature as received: the device's proof of seqs
      * first_seq..last_seq (the signature covers the last line's hash). Append-only. */
     "CREATE TABLE batch_signatures ("
     "  id INTEGER PRIMARY KEY,"
     "  device TEXT NOT NULL REFERENCES devices(id),"
     "  first_seq INTEGER NOT NULL CHECK (first_seq >= 1),"
     "  last_seq INTEGER NOT NULL CHECK (last_seq >= first_seq),"
     "  last_hash TEXT NOT NULL,"
     "  signature TEXT NOT NULL,"
     "  received_at INTEGER NOT NULL"
     ") STRICT;"
     "CREATE INDEX batch_signatures_range ON batch_signatures(device, last_seq, first_seq);"
     /* Every public key the collector signs or signed with; the private key is in a file.
      * At most one is current (retired_at NULL). */
     "CREATE TABLE signing_keys ("
     "  key_id TEXT PRIMARY KEY,"
     "  public_key_pem TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  retired_at INTEGER"
     ") STRICT;"
     "CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys((retired_at IS NULL)) "
     "WHERE retired_at IS NULL;"},
    {9, "evidence: signed publications, who enrolled each device",
     /* The enrol token's name that enrolled a device (NULL: enrolled before version 9). */
     "ALTER TABLE devices ADD COLUMN enrolled_by TEXT;"
     /* One frozen, signed publication per year (rollcall-server publish): the exact bytes
      * signed and the signature; never changed or deleted. */
     "CREATE TABLE publications ("
     "  year INTEGER PRIMARY KEY,"
     "  body TEXT NOT NULL,"
     "  key_id TEXT NOT NULL,"
     "  signature TEXT NOT NULL,"
     "  published_at INTEGER NOT NULL"
     ") STRICT;"},
    {10, "random roll-calls: a class's count per offline session and confirmation window",
     "ALTER TABLE classes ADD COLUMN rollcalls INTEGER NOT NULL DEFAULT 0 "
     "CHECK (rollcalls >= 0);"
     "ALTER TABLE classes ADD COLUMN rollcall_window_min INTEGER NOT NULL DEFAULT 10 "
     "CHECK (rollcall_window_min > 0);"},
    {11, "subsidy procedure: the steps of applications and claims",
     /* A chain per (kind, subject): each step names the one it follows (prev; 0 first), and
      * the unique index lets only one step follow each. Append-only. */
     "CREATE TABLE procedure_steps ("
     "  id INTEGER PRIMARY KEY,"
     "  prev INTEGER NOT NULL CHECK (prev >= 0),"
     "  kind TEXT NOT NULL CHECK (kind IN ('application', 'claim')),"
     "  subject TEXT NOT NULL,"
     "  action TEXT NOT NULL,"
     "  state TEXT NOT NULL,"
     "  finding TEXT NOT NULL,"
     "  on_date INTEGER NOT NULL,"
     "  by_whom TEXT NOT NULL,"
     "  recorded_at INTEGER NOT NULL,"
     "  reason TEXT NOT NULL,"
     "  data TEXT NOT NULL"
     ") STRICT;"
     "CREATE UNIQUE INDEX procedure_steps_chain ON procedure_steps(kind, subject, prev);"
     /* A claim's date is an input of the class's findings (late_claim): cached figures
      * follow it. */
     "CREATE TRIGGER procedure_steps_class_gen AFTER INSERT ON procedure_steps "
     "WHEN NEW.kind = 'claim' BEGIN UPDATE classes SET gen = gen + 1 WHERE id = NEW.subject; "
     "END;"
     /* The city-wide pseudonym of each trainee (HMAC under the collector-only city key, made
      * at roster upload; NULL for rosters stored before): the yearly limits across
      * institutions. */
     "ALTER TABLE roster ADD COLUMN city TEXT CHECK (city IS NULL OR length(city) = 64);"
     "CREATE INDEX roster_city ON roster(city);"
     /* A certificate number (专业技术等级证书编号) is unique city-wide. */
     "CREATE UNIQUE INDEX assessments_certificate ON assessments(certificate) "
     "WHERE certificate <> '';"},
    {12, "alerts: webhook subscriptions to serious findings, their outbox",
     /* Live while removed_at is NULL; kept afterwards for the delivery log. district NULL:
      * every district (the city's subscriptions). url carries the receiver's secret. */
     "CREATE TABLE alert_subscriptions ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE,"
     "  district TEXT CHECK (district IS NULL OR length(district) = 6),"
     "  format TEXT NOT NULL CHECK (format IN ('json', 'wecom-markdown', 'wecom-text')),"
     "  url TEXT NOT NULL,"
     "  ca_file TEXT,"
     "  created_by TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  removed_at INTEGER"
     ") STRICT;"
     /* One row per (subscription, finding); never deleted: the delivery log. */
     "CREATE TABLE alert_outbox ("
     "  id INTEGER PRIMARY KEY,"
     "  subscription INTEGER NOT NULL REFERENCES alert_subscriptions(id),"
     "  finding INTEGER NOT NULL REFERENCES findings(id),"
     "  state TEXT NOT NULL DEFAULT 'pending' "
     "    CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  next_at INTEGER NOT NULL,"
     "  last_status INTEGER,"
     "  last_error TEXT,"
     "  last_at INTEGER,"
     "  delivered_at INTEGER,"
     "  created_at INTEGER NOT NULL,"
     "  UNIQUE (subscription, finding)"
     ") STRICT;"
     "CREATE INDEX alert_outbox_due ON alert_outbox(state, next_at);"
     /* The outbox row is written by the statement that stores the finding: none is missed. */
     "CREATE TRIGGER findings_alert AFTER INSERT ON findings WHEN NEW.severity = 'high' "
     "BEGIN INSERT INTO alert_outbox(subscription, finding, next_at, created_at) "
     "SELECT s.id, NEW.id, NEW.created_at, NEW.created_at FROM alert_subscriptions s "
     "WHERE s.removed_at IS NULL AND (s.district IS NULL OR s.district = "
     "(SELECT i.district FROM institutions i WHERE i.id = NEW.institution)); END;"},
    {13, "subsidy procedure: the living allowance (生活费补贴) as a kind of step",
     /* SQLite cannot change a CHECK constraint in place: the table is rebuilt, every step kept
      * with its id (prev refers to ids), then its index and trigger made again. An allowance
      * chain's subject is the trainee's city-wide pseudonym (roster.city): one chain per
      * person, city-wide, so "once" holds whichever institution claims it. */
     "CREATE TABLE procedure_steps_13 ("
     "  id INTEGER PRIMARY KEY,"
     "  prev INTEGER NOT NULL CHECK (prev >= 0),"
     "  kind TEXT NOT NULL CHECK (kind IN ('application', 'claim', 'allowance')),"
     "  subject TEXT NOT NULL,"
     "  action TEXT NOT NULL,"
     "  state TEXT NOT NULL,"
     "  finding TEXT NOT NULL,"
     "  on_date INTEGER NOT NULL,"
     "  by_whom TEXT NOT NULL,"
     "  recorded_at INTEGER NOT NULL,"
     "  reason TEXT NOT NULL,"
     "  data TEXT NOT NULL"
     ") STRICT;"
     "INSERT INTO procedure_steps_13(id, prev, kind, subject, action, state, finding, on_date, "
     "by_whom, recorded_at, reason, data) SELECT id, prev, kind, subject, action, state, "
     "finding, on_date, by_whom, recorded_at, reason, data FROM procedure_steps;"
     "DROP TABLE procedure_steps;"
     "ALTER TABLE procedure_steps_13 RENAME TO procedure_steps;"
     "CREATE UNIQUE INDEX procedure_steps_chain ON procedure_steps(kind, subject, prev);"
     "CREATE TRIGGER procedure_steps_class_gen AFTER INSERT ON procedure_steps "
     "WHEN NEW.kind = 'claim' BEGIN UPDATE classes SET gen = gen + 1 WHERE id = NEW.subject; "
     "END;"},
    {14, "engine alerts: the keys of serious engine findings already sent to the alert outbox",
     /* One row per finding key; finding is the findings row (severity high) whose insert
      * queued the alerts, set in the same transaction as the key. */
     "CREATE TABLE engine_alerts ("
     "  class TEXT NOT NULL,"
     "  kind TEXT NOT NULL,"
     "  subject TEXT NOT NULL,"
     "  session TEXT NOT NULL,"
     "  finding INTEGER REFERENCES findings(id),"
     "  created_at INTEGER NOT NULL,"
     "  PRIMARY KEY (class, kind, subject, session)"
     ") STRICT;"
     "CREATE UNIQUE INDEX engine_alerts_finding ON engine_alerts(finding);"},
};

enum { MIGRATIONS = (int)(sizeof migrations / sizeof migrations[0]) };

static struct store_sqlite *sq(store *st)
{
    return (struct store_sqlite *)st;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int db_fail(sqlite3 *db, char *err, const char *what)
{
    int code = sqlite3_extended_errcode(db);
    if ((code & 0xff) == SQLITE_CONSTRAINT)
        return rc_fail(err, RC_CONFLICT, "%s: %s", what, sqlite3_errmsg(db));
    if ((code & 0xff) == SQLITE_FULL)
        return rc_fail(err, RC_FULL, "%s: %s", what, sqlite3_errmsg(db));
    return rc_fail(err, RC_DB, "%s: %s", what, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, char *err, const char *what)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, err, what);
    return RC_OK;
}

static void write_unlock(struct store_sqlite *s)
{
    if (s->writing) {
        s->writing = false;
        pthread_mutex_unlock(&write_lock);
    }
}

/* The cached statement id, prepared from sql on its first use, into *q. */
static int cached(struct store_sqlite *s, enum stmt_id id, const char *sql, sqlite3_stmt **q,
                  char *err, const char *what)
{
    if (!s->stmt[id] && sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id],
                                           NULL) != SQLITE_OK)
        return db_fail(s->db, err, what);
    *q = s->stmt[id];
    return RC_OK;
}

/* Ends a use of a cached statement: reset, bindings cleared (unbound parameters are NULL). */
static void cached_done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

static void sqlite_close(store *st)
{
    struct store_sqlite *s = sq(st);
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close_v2(s->db); /* rolls back an open transaction */
    write_unlock(s);
    free(s);
}

/* Replaces SQLite's auto-checkpoint hook on a manual-checkpoint connection: remembers the
 * WAL's size after each commit for sqlite_checkpoint. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((struct store_sqlite *)arg)->wal_frames = frames;
    return SQLITE_OK;
}

/* The database holds every institution's pseudonym key and trainee names: it and its -wal,
 * -shm and -journal files (which SQLite creates with the main file's mode) must be private
 * to the server's user. An existing file open to group or others is refused, not fixed
 * behind the operator's back. */
static int check_private(const char *path, char *err)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char f[STORE_URL_MAX + 16];
        struct stat sb;
        snprintf(f, sizeof f, "%s%s", path, suffixes[i]);
        if (stat(f, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (sb.st_mode & (S_IRWXG | S_IRWXO))
            return rc_fail(err, RC_AUTH,
                           "database file %s has mode %04o: group or others can read or write "
                           "it; run 'chmod 600 %s' (and check who copied it)",
                           f, (unsigned)(sb.st_mode & 07777), f);
    }
    return RC_OK;
}

/* Creates a missing database file with mode 0600 whatever the umask, before SQLite opens
 * it: SQLite gives -wal, -shm and -journal the main file's mode. */
static int create_private(const char *path, char *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return RC_OK;
        return rc_fail(err, RC_IO, "cannot create %s: %s", path, strerror(errno));
    }
    int rc = RC_OK;
    if (fchmod(fd, 0600) != 0) /* the umask can only narrow 0600; this makes it exact */
        rc = rc_fail(err, RC_IO, "cannot set the mode of %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

static int sqlite_open(const char *path, unsigned flags, store **out, char *err)
{
    int rc = RC_OK;
    struct store_sqlite *s = NULL;
    struct stat sb;
    if (!(flags & STORE_OPEN_CREATE) && stat(path, &sb) != 0)
        return rc_fail(err, RC_NOTFOUND, "no database at %s: run 'rollcall-server migrate'", path);
    if ((flags & STORE_OPEN_CREATE) && (rc = create_private(path, err)) != RC_OK)
        return rc;
    if ((rc = check_private(path, err)) != RC_OK)
        return rc;
    s = calloc(1, sizeof *s);
    if (!s)
        return rc_fail(err, RC_NOMEM, "out of memory");
    s->base.ops = &store_sqlite_ops;
    /* NOMUTEX: a handle is used by one thread at a time (store.h), so SQLite's own
     * per-connection mutex would only cost time. */
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (flags & STORE_OPEN_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
        rc = rc_fail(err, RC_DB, "cannot open %s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (sqlite3_busy_timeout(s->db, SQLITE_BUSY_TIMEOUT_MS) != SQLITE_OK) {
        rc = db_fail(s->db, err, "busy timeout");
        goto out;
    }
    rc = exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
              err, path);
    if (rc != RC_OK)
        goto out;
    if (flags & STORE_OPEN_MANUAL_CHECKPOINT)
        sqlite3_wal_hook(s->db, wal_hook, s);
    *out = &s->base;
    return RC_OK;
out:
    sqlite3_close_v2(s->db);
    free(s);
    return rc;
}

static int sqlite_schema_version(store *st, int *version, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    *version = 0;
    const char *sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                      "'schema_migrations'";
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(db, err, "reading the schema version");
        goto out;
    }
    int exists = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (!exists)
        goto out;
    sql = "SELECT coalesce(max(version), 0) FROM schema_migrations";
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(db, err, "reading the schema version");
        goto out;
    }
    *version = sqlite3_column_int(q, 0);
out:
    sqlite3_finalize(q);
    return rc;
}

/* Applies one migration in its own transaction, re-reading the version under the write lock
 * so two processes migrating at once apply each step exactly once. */
static int apply(sqlite3 *db, store *st, const struct migration *m, char *err)
{
    int rc = exec(db, "BEGIN IMMEDIATE", err, "starting a migration");
    if (rc != RC_OK)
        return rc;
    rc = exec(db,
              "CREATE TABLE IF NOT EXISTS schema_migrations ("
              "  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL"
              ") STRICT",
              err, "creating schema_migrations");
    if (rc != RC_OK)
        goto out;
    int v = 0;
    rc = sqlite_schema_version(st, &v, err);
    if (rc != RC_OK || v >= m->version)
        goto out;
    if (v != m->version - 1) {
        rc = rc_fail(err, RC_CORRUPT, "schema at version %d cannot take migration %d", v,
                     m->version);
        goto out;
    }
    char what[128];
    snprintf(what, sizeof what, "migration %d (%s)", m->version, m->name);
    rc = exec(db, m->sql, err, what);
    if (rc != RC_OK)
        goto out;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO schema_migrations(version, name, applied_at) "
                           "VALUES (?1, ?2, ?3)",
                           -1, &q, NULL) != SQLITE_OK) {
        rc = db_fail(db, err, what);
        goto out;
    }
    sqlite3_bind_int(q, 1, m->version);
    sqlite3_bind_text(q, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now_ms());
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, what);
    sqlite3_finalize(q);
out:
    if (rc == RC_OK)
        rc = exec(db, "COMMIT", err, "committing a migration");
    if (rc != RC_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int sqlite_migrate_to(store *st, int target, int *from, int *to, char *err)
{
    sqlite3 *db = sq(st)->db;
    int rc = sqlite_schema_version(st, from, err);
    if (rc != RC_OK)
        return rc;
    *to = *from;
    if (*from > MIGRATIONS)
        return rc_fail(err, RC_STATE,
                       "database schema is at version %d, newer than this program's %d: "
                       "upgrade rollcall-server",
                       *from, MIGRATIONS);
    for (int i = 0; i < MIGRATIONS && migrations[i].version <= target; i++) {
        rc = apply(db, st, &migrations[i], err);
        if (rc != RC_OK)
            break;
    }
    int rc2 = sqlite_schema_version(st, to, rc == RC_OK ? err : NULL);
    return rc != RC_OK ? rc : rc2;
}

static int sqlite_begin(store *st, char *err)
{
    struct store_sqlite *s = sq(st);
    pthread_mutex_lock(&write_lock);
    s->writing = true;
    int rc = exec(s->db, "BEGIN IMMEDIATE", err, "begin");
    if (rc != RC_OK)
        write_unlock(s);
    return rc;
}

static int sqlite_commit(store *st, char *err)
{
    struct store_sqlite *s = sq(st);
    int rc = exec(s->db, "COMMIT", err, "commit");
    if (rc == RC_OK)
        write_unlock(s); /* on failure store.c rolls back, which unlocks */
    return rc;
}

static void sqlite_rollback(store *st)
{
    struct store_sqlite *s = sq(st);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    write_unlock(s);
}

static int sqlite_savepoint(store *st, const char *verb, const char *name, char *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "%s %s", verb, name); /* name is [a-z_]{1,32} (store.c) */
    return exec(sq(st)->db, sql, err, verb);
}

static int sqlite_checkpoint(store *st, bool *done, char *err)
{
    struct store_sqlite *s = sq(st);
    *done = false;
    if (s->wal_frames < SQLITE_CHECKPOINT_PAGES)
        return RC_OK;
    s->wal_frames = 0; /* the next commit reports the WAL's size again */
    /* PASSIVE, as auto-checkpoint: copies what no reader still needs, never waits. */
    int code = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (code != SQLITE_OK && code != SQLITE_BUSY)
        return db_fail(s->db, err, "checkpoint");
    *done = true;
    return RC_OK;
}

static int sqlite_backup(store *st, const char *dest_path, char *err)
{
    sqlite3 *src = sq(st)->db;
    sqlite3 *dst = NULL;
    sqlite3_backup *b = NULL;
    int rc = RC_OK;
    int fd = open(dest_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return rc_fail(err, RC_IO, "cannot create %s: %s", dest_path, strerror(errno));
    close(fd);
    if (sqlite3_open_v2(dest_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = rc_fail(err, RC_DB, "cannot open %s: %s", dest_path,
                     dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    /* One step copies every page inside one read transaction: a consistent snapshot, while
     * WAL lets writers go on. */
    b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        rc = db_fail(dst, err, "starting the backup");
        goto out;
    }
    int code = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (code != SQLITE_DONE) {
        rc = rc_fail(err, code == SQLITE_FULL ? RC_FULL : RC_DB, "backup into %s: %s", dest_path,
                     sqlite3_errstr(code));
        goto out;
    }
    /* The pages say WAL; the copy is one self-contained file. */
    rc = exec(dst, "PRAGMA journal_mode=DELETE", err, dest_path);
out:
    if (sqlite3_close(dst) != SQLITE_OK && rc == RC_OK)
        rc = rc_fail(err, RC_DB, "closing %s", dest_path);
    if (rc != RC_OK)
        unlink(dest_path);
    return rc;
}

static int sqlite_integrity_check(store *st, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "integrity check");
    int code = sqlite3_step(q);
    if (code != SQLITE_ROW) {
        rc = db_fail(db, err, "integrity check");
    } else {
        const char *first = (const char *)sqlite3_column_text(q, 0);
        if (!first || strcmp(first, "ok") != 0)
            rc = rc_fail(err, RC_CORRUPT, "integrity check: %s", first ? first : "no answer");
    }
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_token_insert(store *st, const struct store_token *t, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO tokens(hash, name, role, created_at) "
                           "VALUES (?1, ?2, ?3, ?4)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing a token");
    sqlite3_bind_text(q, 1, t->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, t->role, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, t->created_at_ms);
    if (sqlite3_step(q) != SQLITE_DONE) {
        rc = db_fail(db, err, "storing a token");
        if (rc == RC_CONFLICT)
            rc = rc_fail(err, RC_CONFLICT, "a token named '%s' exists already", t->name);
    }
    sqlite3_finalize(q);
    return rc;
}

/* Copies a text column into a fixed buffer; RC_CORRUPT when it does not fit. */
static int column_text(sqlite3_stmt *q, int col, char *out, size_t n, char *err)
{
    const unsigned char *s = sqlite3_column_text(q, col);
    size_t len = (size_t)sqlite3_column_bytes(q, col);
    if (!s) {
        out[0] = '\0';
        return RC_OK;
    }
    if (len >= n)
        return rc_fail(err, RC_CORRUPT, "stored value in column %d longer than %zu bytes", col,
                       n - 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return RC_OK;
}

static int sqlite_token_lookup(store *st, const char *hash_hex, struct store_token *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    rc = cached(sq(st), STMT_TOKEN_LOOKUP,
                "SELECT id, hash, name, role, created_at FROM tokens "
                "WHERE hash = ?1 AND revoked_at IS NULL",
                &q, err, "looking up a token");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, hash_hex, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "unknown token");
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "looking up a token");
        goto out;
    }
    out->id = sqlite3_column_int64(q, 0);
    if ((rc = column_text(q, 1, out->hash, sizeof out->hash, err)) != RC_OK ||
        (rc = column_text(q, 2, out->name, sizeof out->name, err)) != RC_OK ||
        (rc = column_text(q, 3, out->role, sizeof out->role, err)) != RC_OK)
        goto out;
    out->created_at_ms = sqlite3_column_int64(q, 4);
out:
    cached_done(q);
    return rc;
}

static int sqlite_device_count_seen(store *st, int64_t *n, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM devices WHERE last_seen_at IS NOT NULL", -1,
                           &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW)
        rc = db_fail(db, err, "counting devices");
    else
        *n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_device_list(store *st, const char *institution, const char *district,
                              size_t limit, int (*fn)(const struct store_device *, void *),
                              void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT d.id, d.institution, d.enrolled_at, "
                           "coalesce(d.last_seen_at, 0), coalesce(h.seq, 0), "
                           "coalesce(d.profile, ''), coalesce(d.fence, ''), d.status_queue, "
                           "d.status_skew_ms, coalesce(d.status_gnss, ''), d.status_fix_mode, "
                           "d.status_fix_ts "
                           "FROM devices d LEFT JOIN chain_heads h ON h.device = d.id "
                           "WHERE (?2 IS NULL OR d.institution = ?2) AND (?3 IS NULL OR "
                           "d.institution IN (SELECT id FROM institutions WHERE district = ?3)) "
                           "ORDER BY d.id LIMIT ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "listing devices");
    sqlite3_bind_int64(q, 1, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
    if (institution)
        sqlite3_bind_text(q, 2, institution, -1, SQLITE_STATIC);
    if (district)
        sqlite3_bind_text(q, 3, district, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_device d = {0};
        if ((rc = column_text(q, 0, d.id, sizeof d.id, err)) != RC_OK ||
            (rc = column_text(q, 1, d.institution, sizeof d.institution, err)) != RC_OK ||
            (rc = column_text(q, 5, d.profile, sizeof d.profile, err)) != RC_OK ||
            (rc = column_text(q, 6, d.fence, sizeof d.fence, err)) != RC_OK ||
            (rc = column_text(q, 9, d.status.gnss, sizeof d.status.gnss, err)) != RC_OK)
            goto out;
        d.enrolled_at_ms = sqlite3_column_int64(q, 2);
        d.last_seen_at_ms = sqlite3_column_int64(q, 3);
        d.head_seq = sqlite3_column_int64(q, 4);
        d.status.has_queue = sqlite3_column_type(q, 7) != SQLITE_NULL;
        d.status.queue = sqlite3_column_int64(q, 7);
        d.status.has_skew = sqlite3_column_type(q, 8) != SQLITE_NULL;
        d.status.clock_skew_ms = sqlite3_column_int64(q, 8);
        d.status.has_fix = sqlite3_column_type(q, 10) != SQLITE_NULL;
        d.status.fix_mode = sqlite3_column_int(q, 10);
        d.status.fix_ts_ms = sqlite3_column_int64(q, 11);
        if ((rc = fn(&d, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "listing devices");
out:
    sqlite3_finalize(q);
    return rc;
}

/* Binds s, or NULL when s is NULL or "". */
static void bind_text_or_null(sqlite3_stmt *q, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

/* Runs a statement that returns no rows, then finalizes it; what names it in errors. */
static int step_done(sqlite3 *db, sqlite3_stmt *q, char *err, const char *what)
{
    int rc = RC_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, what);
    sqlite3_finalize(q);
    return rc;
}

/* Runs a cached statement that returns no rows, then ends its use (cached_done). */
static int step_cached(sqlite3 *db, sqlite3_stmt *q, char *err, const char *what)
{
    int rc = RC_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, what); /* before the reset, which keeps the message anyway */
    cached_done(q);
    return rc;
}

static int sqlite_enrolment_get(store *st, const char *id, struct store_enrolment *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    rc = cached(sq(st), STMT_ENROLMENT_GET,
                "SELECT id, institution, public_key_pem, coalesce(profile, ''), "
                "coalesce(fence, ''), coalesce(assumed_eph_m, 0), enrolled_at, "
                "coalesce(enrolled_by, '') FROM devices WHERE id = ?1",
                &q, err, "reading a device");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "device '%s' is not enrolled", id);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "reading a device");
        goto out;
    }
    if ((rc = column_text(q, 0, out->id, sizeof out->id, err)) != RC_OK ||
        (rc = column_text(q, 1, out->institution, sizeof out->institution, err)) != RC_OK ||
        (rc = column_text(q, 2, out->public_key_pem, sizeof out->public_key_pem, err)) != RC_OK ||
        (rc = column_text(q, 3, out->profile, sizeof out->profile, err)) != RC_OK ||
        (rc = column_text(q, 4, out->fence, sizeof out->fence, err)) != RC_OK ||
        (rc = column_text(q, 7, out->enrolled_by, sizeof out->enrolled_by, err)) != RC_OK)
        goto out;
    out->assumed_eph_m = sqlite3_column_double(q, 5);
    out->enrolled_at_ms = sqlite3_column_int64(q, 6);
out:
    cached_done(q);
    return rc;
}

static int sqlite_enrolment_insert(store *st, const struct store_enrolment *e, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO devices(id, institution, public_key_pem, profile, fence, "
                           "assumed_eph_m, enrolled_at, enrolled_by) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "enrolling a device");
    sqlite3_bind_text(q, 1, e->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, e->institution, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, e->public_key_pem, -1, SQLITE_STATIC);
    bind_text_or_null(q, 4, e->profile);
    bind_text_or_null(q, 5, e->fence);
    sqlite3_bind_double(q, 6, e->assumed_eph_m);
    sqlite3_bind_int64(q, 7, e->enrolled_at_ms);
    bind_text_or_null(q, 8, e->enrolled_by);
    int rc = step_done(db, q, err, "enrolling a device");
    if (rc == RC_CONFLICT) {
        /* Either the id is taken or the institution does not exist (foreign key). */
        int ext = sqlite3_extended_errcode(db);
        if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
            return rc_fail(err, RC_NOTFOUND, "institution '%s' does not exist", e->institution);
        return rc_fail(err, RC_CONFLICT, "device '%s' is enrolled already", e->id);
    }
    return rc;
}

static int sqlite_enrolment_update(store *st, const struct store_enrolment *e, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "UPDATE devices SET profile = ?2, fence = ?3, assumed_eph_m = ?4 "
                           "WHERE id = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "updating a device");
    sqlite3_bind_text(q, 1, e->id, -1, SQLITE_STATIC);
    bind_text_or_null(q, 2, e->profile);
    bind_text_or_null(q, 3, e->fence);
    sqlite3_bind_double(q, 4, e->assumed_eph_m);
    int rc = step_done(db, q, err, "updating a device");
    if (rc == RC_OK && sqlite3_changes(db) != 1)
        rc = rc_fail(err, RC_NOTFOUND, "device '%s' is not enrolled", e->id);
    return rc;
}

static int sqlite_institution_key(store *st, const char *id, const uint8_t *candidate,
                                  int64_t now_ms, uint8_t *key, bool *created, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    *created = false;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO institutions(id, pseudonym_key, created_at) "
                           "VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "creating an institution");
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, candidate, STORE_INSTITUTION_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now_ms);
    rc = step_done(db, q, err, "creating an institution");
    if (rc != RC_OK)
        return rc;
    *created = sqlite3_changes(db) == 1;
    q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT pseudonym_key FROM institutions WHERE id = ?1", -1, &q,
                           NULL) != SQLITE_OK)
        return db_fail(db, err, "reading an institution");
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(db, err, "reading an institution");
        goto out;
    }
    if (sqlite3_column_bytes(q, 0) != STORE_INSTITUTION_KEY_LEN) {
        rc = rc_fail(err, RC_CORRUPT, "institution '%s' has a key of the wrong length", id);
        goto out;
    }
    memcpy(key, sqlite3_column_blob(q, 0), STORE_INSTITUTION_KEY_LEN);
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_head_get(store *st, const char *device, struct store_head *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    out->seq = 0;
    memset(out->hash, '0', STORE_HASH_HEX_LEN);
    out->hash[STORE_HASH_HEX_LEN] = '\0';
    rc = cached(sq(st), STMT_HEAD_GET, "SELECT seq, hash FROM chain_heads WHERE device = ?1", &q,
                err, "reading a chain head");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        out->seq = sqlite3_column_int64(q, 0);
        rc = column_text(q, 1, out->hash, sizeof out->hash, err);
        if (rc == RC_OK && strlen(out->hash) != STORE_HASH_HEX_LEN)
            rc = rc_fail(err, RC_CORRUPT, "chain head of '%s' has a malformed hash", device);
    } else if (step != SQLITE_DONE) {
        rc = db_fail(db, err, "reading a chain head");
    }
    cached_done(q);
    return rc;
}

static int sqlite_head_advance(store *st, const char *device, int64_t seq, const char *hash,
                               int64_t now_ms, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    /* The WHERE makes a backwards move change nothing, which is then reported. */
    int rc = cached(sq(st), STMT_HEAD_ADVANCE,
                    "INSERT INTO chain_heads(device, seq, hash, updated_at) "
                    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(device) DO UPDATE SET "
                    "seq = excluded.seq, hash = excluded.hash, "
                    "updated_at = excluded.updated_at WHERE excluded.seq > chain_heads.seq",
                    &q, err, "advancing a chain head");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, seq);
    sqlite3_bind_text(q, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, now_ms);
    rc = step_cached(db, q, err, "advancing a chain head");
    if (rc == RC_OK && sqlite3_changes(db) != 1)
        rc = rc_fail(err, RC_CONFLICT, "chain head of '%s' is at or beyond seq %lld already",
                     device, (long long)seq);
    return rc;
}

static int sqlite_event_insert(store *st, const struct store_event *e, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc =
        cached(sq(st), STMT_EVENT_INSERT,
               "INSERT INTO events(device, seq, event_id, raw, hash, prev, type, ts, trainee, "
               "trainee_masked, class, session, verdict, server_verdict, distance_m, fence, "
               "received_at, boot, mono_ms, fix_lat, fix_lon, fix_eph, fix_mode, fix_time, "
               "fix_source, server_distance_m, server_fence_version, camera, file, start_ts, "
               "end_ts, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
               "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, "
               "?31, ?32)",
               &q, err, "storing an event");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, e->device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, e->seq);
    sqlite3_bind_text(q, 3, e->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(q, 4, e->raw, e->raw_len, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, e->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, e->prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, e->type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 8, e->ts_ms);
    bind_text_or_null(q, 9, e->trainee);
    bind_text_or_null(q, 10, e->trainee_masked);
    bind_text_or_null(q, 11, e->class_id);
    bind_text_or_null(q, 12, e->session);
    bind_text_or_null(q, 13, e->verdict);
    bind_text_or_null(q, 14, e->server_verdict);
    if (e->has_distance)
        sqlite3_bind_double(q, 15, e->distance_m);
    bind_text_or_null(q, 16, e->fence);
    sqlite3_bind_int64(q, 17, e->received_at_ms);
    bind_text_or_null(q, 18, e->boot);
    sqlite3_bind_int64(q, 19, e->mono_ms);
    if (e->has_fix) {
        sqlite3_bind_double(q, 20, e->fix_lat);
        sqlite3_bind_double(q, 21, e->fix_lon);
        if (e->has_eph)
            sqlite3_bind_double(q, 22, e->fix_eph);
        sqlite3_bind_int(q, 23, e->fix_mode);
        if (e->has_fix_time)
            sqlite3_bind_int64(q, 24, e->fix_time_ms);
        bind_text_or_null(q, 25, e->fix_source);
    }
    if (e->has_server_distance)
        sqlite3_bind_double(q, 26, e->server_distance_m);
    if (e->server_fence_version > 0)
        sqlite3_bind_int(q, 27, e->server_fence_version);
    bind_text_or_null(q, 28, e->camera);
    bind_text_or_null(q, 29, e->file);
    if (e->has_start)
        sqlite3_bind_int64(q, 30, e->start_ms);
    if (e->has_end)
        sqlite3_bind_int64(q, 31, e->end_ms);
    bind_text_or_null(q, 32, e->kind);
    rc = step_cached(db, q, err, "storing an event");
    if (rc == RC_CONFLICT)
        rc = rc_fail(err, RC_CONFLICT, "event %lld of '%s' is stored already", (long long)e->seq,
                     e->device);
    return rc;
}

static int sqlite_event_raw(store *st, const char *device, int64_t seq, char *buf, size_t cap,
                            size_t *len, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    rc = cached(sq(st), STMT_EVENT_RAW, "SELECT raw FROM events WHERE device = ?1 AND seq = ?2", &q,
                err, "reading an event");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, seq);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "no event %lld of '%s'", (long long)seq, device);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "reading an event");
        goto out;
    }
    const void *raw = sqlite3_column_blob(q, 0);
    size_t n = (size_t)sqlite3_column_bytes(q, 0);
    if (n >= cap) {
        rc = rc_fail(err, RC_LIMIT, "stored event %lld of '%s' is over %zu bytes", (long long)seq,
                     device, cap - 1);
        goto out;
    }
    if (n)
        memcpy(buf, raw, n);
    buf[n] = '\0';
    *len = n;
out:
    cached_done(q);
    return rc;
}

static int sqlite_device_seen(store *st, const char *device, const struct store_device_status *s,
                              int64_t now_ms, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = cached(sq(st), STMT_DEVICE_SEEN,
                    "UPDATE devices SET last_seen_at = ?2, "
                    "status_queue = CASE WHEN ?3 THEN ?4 ELSE status_queue END, "
                    "status_skew_ms = CASE WHEN ?5 THEN ?6 ELSE status_skew_ms END, "
                    "status_gnss = coalesce(?7, status_gnss), "
                    "status_fix_mode = CASE WHEN ?8 THEN ?9 ELSE status_fix_mode END, "
                    "status_fix_ts = CASE WHEN ?8 THEN ?10 ELSE status_fix_ts END "
                    "WHERE id = ?1",
                    &q, err, "updating a device");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now_ms);
    sqlite3_bind_int(q, 3, s->has_queue);
    sqlite3_bind_int64(q, 4, s->queue);
    sqlite3_bind_int(q, 5, s->has_skew);
    sqlite3_bind_int64(q, 6, s->clock_skew_ms);
    bind_text_or_null(q, 7, s->gnss);
    sqlite3_bind_int(q, 8, s->has_fix);
    sqlite3_bind_int(q, 9, s->fix_mode);
    sqlite3_bind_int64(q, 10, s->fix_ts_ms);
    rc = step_cached(db, q, err, "updating a device");
    if (rc == RC_OK && sqlite3_changes(db) != 1)
        rc = rc_fail(err, RC_NOTFOUND, "device '%s' is not enrolled", device);
    return rc;
}

static int sqlite_finding_insert(store *st, const struct store_finding *f, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = cached(sq(st), STMT_FINDING_INSERT,
                    "INSERT INTO findings(kind, severity, device, seq, institution, class, "
                    "trainee, detail, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                    "substr(?8, 1, ?10), ?9)",
                    &q, err, "recording a finding");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, f->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, f->severity, -1, SQLITE_STATIC);
    bind_text_or_null(q, 3, f->device);
    if (f->seq > 0)
        sqlite3_bind_int64(q, 4, f->seq);
    bind_text_or_null(q, 5, f->institution);
    bind_text_or_null(q, 6, f->class_id);
    bind_text_or_null(q, 7, f->trainee);
    sqlite3_bind_text(q, 8, f->detail ? f->detail : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 9, f->created_at_ms);
    sqlite3_bind_int(q, 10, STORE_DETAIL_MAX);
    return step_cached(db, q, err, "recording a finding");
}

static int sqlite_fence_current(store *st, const char *id, struct store_fence *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    rc = cached(sq(st), STMT_FENCE_CURRENT,
                "SELECT id, version, geojson, sha256, created_at FROM fences "
                "WHERE id = ?1 AND superseded_at IS NULL",
                &q, err, "reading a fence");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "no fence '%s'", id);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "reading a fence");
        goto out;
    }
    if ((rc = column_text(q, 0, out->id, sizeof out->id, err)) != RC_OK ||
        (rc = column_text(q, 3, out->sha256, sizeof out->sha256, err)) != RC_OK)
        goto out;
    out->version = sqlite3_column_int(q, 1);
    out->created_at_ms = sqlite3_column_int64(q, 4);
    size_t n = (size_t)sqlite3_column_bytes(q, 2);
    const unsigned char *text = sqlite3_column_text(q, 2);
    out->geojson = malloc(n + 1);
    if (!out->geojson) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (n)
        memcpy(out->geojson, text, n);
    out->geojson[n] = '\0';
out:
    cached_done(q);
    return rc;
}

static int sqlite_fence_put(store *st, const char *id, const char *geojson, const char *sha256,
                            const char *created_by, int64_t now_ms, bool replace,
                            enum store_fence_outcome *outcome, int *version, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    struct store_fence cur;
    int rc = sqlite_fence_current(st, id, &cur, err);
    int next = 1;
    if (rc == RC_OK) {
        bool same = strcmp(cur.sha256, sha256) == 0;
        int v = cur.version;
        store_fence_clear(&cur);
        if (same) {
            *outcome = STORE_FENCE_SAME;
            *version = v;
            return RC_OK;
        }
        if (!replace)
            return rc_fail(err, RC_CONFLICT,
                           "fence '%s' is stored with another geometry (version %d); an admin "
                           "replaces it with 'rollcall-server import fences'",
                           id, v);
        if (sqlite3_prepare_v2(db,
                               "UPDATE fences SET superseded_at = ?2 "
                               "WHERE id = ?1 AND superseded_at IS NULL",
                               -1, &q, NULL) != SQLITE_OK)
            return db_fail(db, err, "replacing a fence");
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, now_ms);
        if ((rc = step_done(db, q, err, "replacing a fence")) != RC_OK)
            return rc;
        q = NULL;
        next = v + 1;
    } else if (rc != RC_NOTFOUND) {
        return rc;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO fences(id, version, geojson, sha256, created_at, "
                           "created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing a fence");
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, next);
    sqlite3_bind_text(q, 3, geojson, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, now_ms);
    sqlite3_bind_text(q, 6, created_by, -1, SQLITE_STATIC);
    rc = step_done(db, q, err, "storing a fence");
    if (rc != RC_OK)
        return rc;
    *outcome = next == 1 ? STORE_FENCE_NEW : STORE_FENCE_REPLACED;
    *version = next;
    return RC_OK;
}

/* ---- Figures ---- */

static int sqlite_begin_read(store *st, char *err)
{
    return exec(sq(st)->db, "BEGIN DEFERRED", err, "begin");
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **q, char *err, const char *what)
{
    if (sqlite3_prepare_v2(db, sql, -1, q, NULL) != SQLITE_OK)
        return db_fail(db, err, what);
    return RC_OK;
}

static int sqlite_institution_district(store *st, const char *id, char *district, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    district[0] = '\0';
    int rc = prepare(db, "SELECT coalesce(district, '') FROM institutions WHERE id = ?1", &q, err,
                     "reading an institution");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = column_text(q, 0, district, STORE_DISTRICT_LEN + 1, err);
    else if (step == SQLITE_DONE)
        rc = rc_fail(err, RC_NOTFOUND, "institution '%s' does not exist", id);
    else
        rc = db_fail(db, err, "reading an institution");
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_institution_register(store *st, const char *id, const char *district, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char have[STORE_DISTRICT_LEN + 1];
    int rc = sqlite_institution_district(st, id, have, err);
    if (rc != RC_OK)
        return rc;
    if (have[0])
        return strcmp(have, district) == 0
                   ? RC_OK
                   : rc_fail(err, RC_CONFLICT, "institution '%s' is registered in district %s", id,
                             have);
    rc = prepare(db,
                 "UPDATE institutions SET district = ?2 "
                 "WHERE id = ?1 AND district IS NULL",
                 &q, err, "registering an institution");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, district, -1, SQLITE_STATIC);
    return step_done(db, q, err, "registering an institution");
}

static int sqlite_class_put(store *st, const struct plan *p, const char *plan_json, const char *by,
                            int64_t now, bool *created, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char owner[STORE_ID_MAX + 1] = "";
    int rc =
        prepare(db, "SELECT institution FROM classes WHERE id = ?1", &q, err, "reading a class");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = column_text(q, 0, owner, sizeof owner, err);
    else if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading a class");
    sqlite3_finalize(q);
    q = NULL;
    if (rc != RC_OK)
        return rc;
    if (owner[0] && strcmp(owner, p->institution) != 0)
        return rc_fail(err, RC_CONFLICT, "class '%s' belongs to another institution", p->id);
    *created = owner[0] == '\0';
    const char *level = catalogue_level_name(p->level);
    if (!level || p->n_sessions == 0)
        return rc_fail(err, RC_INVAL, "class '%s' has no level or no sessions", p->id);
    rc = prepare(db,
                 "INSERT INTO classes(id, institution, district, occupation, level, applied_on, "
                 "start_at, end_at, plan_json, created_at, updated_at, updated_by, rollcalls, "
                 "rollcall_window_min) VALUES "
                 "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13) "
                 "ON CONFLICT(id) DO UPDATE "
                 "SET district = excluded.district, occupation = excluded.occupation, "
                 "level = excluded.level, applied_on = excluded.applied_on, "
                 "start_at = excluded.start_at, end_at = excluded.end_at, "
                 "rollcalls = excluded.rollcalls, "
                 "rollcall_window_min = excluded.rollcall_window_min, "
                 "plan_json = excluded.plan_json, updated_at = excluded.updated_at, "
                 "updated_by = excluded.updated_by, gen = classes.gen + 1",
                 &q, err, "storing a class");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, p->institution, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, p->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, p->occupation, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, level, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, p->applied_on_ms);
    sqlite3_bind_int64(q, 7, p->sessions[0].start_ms);
    sqlite3_bind_int64(q, 8, p->sessions[p->n_sessions - 1].end_ms);
    sqlite3_bind_text(q, 9, plan_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 10, now);
    sqlite3_bind_text(q, 11, by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 12, p->rollcalls);
    sqlite3_bind_int64(q, 13,
                       p->rollcall_window_min > 0 ? p->rollcall_window_min
                                                  : PLAN_ROLLCALL_WINDOW_DEFAULT_MIN);
    rc = step_done(db, q, err, "storing a class");
    if (rc == RC_CONFLICT)
        rc = rc_fail(err, RC_NOTFOUND, "institution '%s' does not exist", p->institution);
    if (rc != RC_OK)
        return rc;
    q = NULL;
    if ((rc = prepare(db, "DELETE FROM sessions WHERE class = ?1", &q, err,
                      "replacing sessions")) != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
    if ((rc = step_done(db, q, err, "replacing sessions")) != RC_OK)
        return rc;
    if ((rc = prepare(db, "DELETE FROM roster WHERE class = ?1", &q, err,
                      "replacing the roster")) != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
    if ((rc = step_done(db, q, err, "replacing the roster")) != RC_OK)
        return rc;
    if ((rc = prepare(db,
                      "INSERT INTO sessions(class, id, start_at, end_at, mode, fence) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                      &q, err, "storing sessions")) != RC_OK)
        return rc;
    for (size_t i = 0; i < p->n_sessions && rc == RC_OK; i++) {
        const struct plan_session *s = &p->sessions[i];
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, s->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, s->start_ms);
        sqlite3_bind_int64(q, 4, s->end_ms);
        sqlite3_bind_text(q, 5, plan_mode_name(s->mode), -1, SQLITE_STATIC);
        bind_text_or_null(q, 6, s->fence);
        if (sqlite3_step(q) != SQLITE_DONE)
            rc = db_fail(db, err, "storing sessions");
    }
    sqlite3_finalize(q);
    q = NULL;
    if (rc != RC_OK)
        return rc;
    if ((rc = prepare(db,
                      "INSERT INTO roster(class, trainee, masked, name, student, position, "
                      "city) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                      &q, err, "storing the roster")) != RC_OK)
        return rc;
    for (size_t i = 0; i < p->n_roster && rc == RC_OK; i++) {
        const struct plan_trainee *t = &p->roster[i];
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, t->pseudonym, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, t->masked, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 5, t->student ? 1 : 0);
        sqlite3_bind_int64(q, 6, (sqlite3_int64)i);
        bind_text_or_null(q, 7, t->city[0] ? t->city : NULL);
        if (sqlite3_step(q) != SQLITE_DONE)
            rc = db_fail(db, err, "storing the roster");
    }
    sqlite3_finalize(q);
    return rc;
}

static const char CLASS_COLUMNS[] =
    "c.id, c.institution, c.district, c.occupation, c.level, c.applied_on, c.start_at, c.end_at, "
    "(SELECT count(*) FROM sessions s WHERE s.class = c.id), "
    "(SELECT count(*) FROM roster r WHERE r.class = c.id), c.gen, c.updated_at";

static int class_row(sqlite3_stmt *q, struct store_class *c, char *err)
{
    char level[16];
    int rc;
    memset(c, 0, sizeof *c);
    if ((rc = column_text(q, 0, c->id, sizeof c->id, err)) != RC_OK ||
        (rc = column_text(q, 1, c->institution, sizeof c->institution, err)) != RC_OK ||
        (rc = column_text(q, 2, c->district, sizeof c->district, err)) != RC_OK ||
        (rc = column_text(q, 3, c->occupation, sizeof c->occupation, err)) != RC_OK ||
        (rc = column_text(q, 4, level, sizeof level, err)) != RC_OK)
        return rc;
    enum catalogue_level lv;
    if (catalogue_level_parse(level, &lv) != RC_OK)
        return rc_fail(err, RC_CORRUPT, "class '%s' has an unknown level", c->id);
    c->level = (int)lv;
    c->applied_on_ms = sqlite3_column_int64(q, 5);
    c->start_ms = sqlite3_column_int64(q, 6);
    c->end_ms = sqlite3_column_int64(q, 7);
    c->n_sessions = sqlite3_column_int64(q, 8);
    c->n_roster = sqlite3_column_int64(q, 9);
    c->gen = sqlite3_column_int64(q, 10);
    c->updated_at_ms = sqlite3_column_int64(q, 11);
    return RC_OK;
}

static int sqlite_class_get(store *st, const char *id, struct store_class *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM classes c WHERE c.id = ?1", CLASS_COLUMNS);
    int rc = prepare(db, sql, &q, err, "reading a class");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = class_row(q, out, err);
    else if (step == SQLITE_DONE)
        rc = rc_fail(err, RC_NOTFOUND, "no class '%s'", id);
    else
        rc = db_fail(db, err, "reading a class");
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_class_plan(store *st, const char *id, struct plan *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    struct store_class c;
    int rc = sqlite_class_get(st, id, &c, err);
    if (rc != RC_OK)
        return rc;
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", c.id);
    snprintf(out->institution, sizeof out->institution, "%s", c.institution);
    snprintf(out->district, sizeof out->district, "%s", c.district);
    snprintf(out->occupation, sizeof out->occupation, "%s", c.occupation);
    out->level = (enum catalogue_level)c.level;
    out->applied_on_ms = c.applied_on_ms;
    if ((rc = prepare(db, "SELECT rollcalls, rollcall_window_min FROM classes WHERE id = ?1", &q,
                      err, "reading a class")) != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        out->rollcalls = sqlite3_column_int64(q, 0);
        out->rollcall_window_min = sqlite3_column_int64(q, 1);
    } else {
        rc = db_fail(db, err, "reading a class");
    }
    sqlite3_finalize(q);
    q = NULL;
    if (rc != RC_OK)
        return rc;
    if ((rc = prepare(db,
                      "SELECT id, start_at, end_at, mode, coalesce(fence, '') FROM sessions "
                      "WHERE class = ?1 ORDER BY start_at, id",
                      &q, err, "reading sessions")) != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (out->n_sessions >= PLAN_SESSIONS_MAX) {
            rc = rc_fail(err, RC_CORRUPT, "class '%s' has over %d sessions", id, PLAN_SESSIONS_MAX);
            goto out;
        }
        struct plan_session *s = &out->sessions[out->n_sessions++];
        char mode[16];
        if ((rc = column_text(q, 0, s->id, sizeof s->id, err)) != RC_OK ||
            (rc = column_text(q, 3, mode, sizeof mode, err)) != RC_OK ||
            (rc = column_text(q, 4, s->fence, sizeof s->fence, err)) != RC_OK)
            goto out;
        s->start_ms = sqlite3_column_int64(q, 1);
        s->end_ms = sqlite3_column_int64(q, 2);
        s->mode = strcmp(mode, "online") == 0 ? PLAN_ONLINE : PLAN_OFFLINE;
    }
    if (step != SQLITE_DONE) {
        rc = db_fail(db, err, "reading sessions");
        goto out;
    }
    sqlite3_finalize(q);
    q = NULL;
    if ((rc = prepare(db,
                      "SELECT trainee, masked, name, student, coalesce(city, '') FROM roster "
                      "WHERE class = ?1 ORDER BY position",
                      &q, err, "reading the roster")) != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (out->n_roster >= PLAN_ROSTER_MAX) {
            rc = rc_fail(err, RC_CORRUPT, "class '%s' has over %d trainees", id, PLAN_ROSTER_MAX);
            goto out;
        }
        struct plan_trainee *t = &out->roster[out->n_roster++];
        if ((rc = column_text(q, 0, t->pseudonym, sizeof t->pseudonym, err)) != RC_OK ||
            (rc = column_text(q, 1, t->masked, sizeof t->masked, err)) != RC_OK ||
            (rc = column_text(q, 2, t->name, sizeof t->name, err)) != RC_OK ||
            (rc = column_text(q, 4, t->city, sizeof t->city, err)) != RC_OK)
            goto out;
        t->student = sqlite3_column_int(q, 3) != 0;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading the roster");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_class_list(store *st, const struct store_class_filter *f, size_t limit,
                             int (*fn)(const struct store_class *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM classes c WHERE (?1 IS NULL OR c.institution = ?1) "
             "AND (?2 IS NULL OR c.district = ?2) AND (?3 = 0 OR c.end_at > ?3) "
             "AND (?4 = 0 OR c.start_at < ?4) ORDER BY c.institution, c.start_at, c.id "
             "LIMIT ?5",
             CLASS_COLUMNS);
    int rc = prepare(db, sql, &q, err, "listing classes");
    if (rc != RC_OK)
        return rc;
    bind_text_or_null(q, 1, f ? f->institution : NULL);
    bind_text_or_null(q, 2, f ? f->district : NULL);
    sqlite3_bind_int64(q, 3, f ? f->from_ms : 0);
    sqlite3_bind_int64(q, 4, f ? f->to_ms : 0);
    sqlite3_bind_int64(q, 5, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_class c;
        if ((rc = class_row(q, &c, err)) != RC_OK || (rc = fn(&c, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "listing classes");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_online_insert(store *st, const struct plan_online *r, const char *by, int64_t now,
                                bool *duplicate, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "INSERT INTO online_records(class, trainee, masked, start_at, end_at, "
                     "platform, recorded_at, recorded_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                     "ON CONFLICT(class, trainee, start_at, end_at, platform) DO NOTHING",
                     &q, err, "storing an online record");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, r->class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->trainee, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, r->masked, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, r->start_ms);
    sqlite3_bind_int64(q, 5, r->end_ms);
    sqlite3_bind_text(q, 6, r->platform, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, now);
    sqlite3_bind_text(q, 8, by, -1, SQLITE_STATIC);
    rc = step_done(db, q, err, "storing an online record");
    if (rc == RC_CONFLICT)
        return rc_fail(err, RC_NOTFOUND, "no class '%s'", r->class_id);
    if (rc == RC_OK)
        *duplicate = sqlite3_changes(db) == 0;
    return rc;
}

static int sqlite_online_list(store *st, const char *class_id,
                              int (*fn)(const struct plan_online *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT class, trainee, masked, start_at, end_at, platform FROM "
                     "online_records WHERE class = ?1 ORDER BY trainee, start_at, end_at, platform",
                     &q, err, "reading online records");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct plan_online r;
        memset(&r, 0, sizeof r);
        if ((rc = column_text(q, 0, r.class_id, sizeof r.class_id, err)) != RC_OK ||
            (rc = column_text(q, 1, r.trainee, sizeof r.trainee, err)) != RC_OK ||
            (rc = column_text(q, 2, r.masked, sizeof r.masked, err)) != RC_OK ||
            (rc = column_text(q, 5, r.platform, sizeof r.platform, err)) != RC_OK)
            goto out;
        r.start_ms = sqlite3_column_int64(q, 3);
        r.end_ms = sqlite3_column_int64(q, 4);
        if ((rc = fn(&r, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading online records");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_assessment_put(store *st, const struct plan_assessment *a, const char *by,
                                 int64_t now, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    /* The WHERE keeps an identical re-upload from touching the row (and the history). */
    int rc = prepare(db,
                     "INSERT INTO assessments(class, trainee, masked, passed, assessed_on, "
                     "certificate, recorded_at, recorded_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                     "?8) ON CONFLICT(class, trainee) DO UPDATE SET masked = excluded.masked, "
                     "passed = excluded.passed, assessed_on = excluded.assessed_on, "
                     "certificate = excluded.certificate, recorded_at = excluded.recorded_at, "
                     "recorded_by = excluded.recorded_by WHERE passed IS NOT excluded.passed OR "
                     "assessed_on IS NOT excluded.assessed_on OR "
                     "certificate IS NOT excluded.certificate",
                     &q, err, "storing an assessment");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, a->class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, a->trainee, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, a->masked, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, a->passed ? 1 : 0);
    sqlite3_bind_int64(q, 5, a->assessed_on_ms);
    sqlite3_bind_text(q, 6, a->certificate, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, now);
    sqlite3_bind_text(q, 8, by, -1, SQLITE_STATIC);
    rc = step_done(db, q, err, "storing an assessment");
    if (rc == RC_CONFLICT && strstr(err, "UNIQUE"))
        return rc_fail(err, RC_CONFLICT,
                       "certificate %s is already recorded for another trainee or class "
                       "(certificate numbers are unique city-wide)",
                       a->certificate);
    if (rc == RC_CONFLICT)
        return rc_fail(err, RC_NOTFOUND, "no class '%s'", a->class_id);
    return rc;
}

static int sqlite_assessment_list(store *st, const char *class_id,
                                  int (*fn)(const struct plan_assessment *, void *), void *ctx,
                                  char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT class, trainee, masked, passed, assessed_on, certificate FROM "
                     "assessments WHERE class = ?1 ORDER BY trainee",
                     &q, err, "reading assessments");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct plan_assessment a;
        memset(&a, 0, sizeof a);
        if ((rc = column_text(q, 0, a.class_id, sizeof a.class_id, err)) != RC_OK ||
            (rc = column_text(q, 1, a.trainee, sizeof a.trainee, err)) != RC_OK ||
            (rc = column_text(q, 2, a.masked, sizeof a.masked, err)) != RC_OK ||
            (rc = column_text(q, 5, a.certificate, sizeof a.certificate, err)) != RC_OK)
            goto out;
        a.passed = sqlite3_column_int(q, 3) != 0;
        a.assessed_on_ms = sqlite3_column_int64(q, 4);
        if ((rc = fn(&a, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading assessments");
out:
    sqlite3_finalize(q);
    return rc;
}

/* Runs q (raw, server verdict, received_at columns) and calls fn per row. */
static int raw_events(sqlite3 *db, sqlite3_stmt *q,
                      int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err,
                      const char *what)
{
    int rc = RC_OK;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        const char *verdict = (const char *)sqlite3_column_text(q, 1);
        struct store_raw_event e = {
            .raw = sqlite3_column_blob(q, 0),
            .raw_len = (size_t)sqlite3_column_bytes(q, 0),
            .server_verdict = verdict ? verdict : "",
            .received_at_ms = sqlite3_column_int64(q, 2),
        };
        if (!e.raw)
            e.raw = "";
        if ((rc = fn(&e, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, what);
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_class_events(store *st, const char *class_id, const char *institution,
                               int (*fn)(const struct store_raw_event *, void *), void *ctx,
                               char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    /* events_class_ts finds the class's events; no window on ts: an event's device time says
     * when the kiosk registered it, not whether it belongs to the class (a recording exported
     * a week later, a wrong kiosk clock). The device join keeps other institutions' kiosks
     * out. */
    int rc = prepare(db,
                     "SELECT e.raw, e.server_verdict, e.received_at FROM events e "
                     "JOIN devices d ON d.id = e.device "
                     "WHERE e.class = ?1 AND d.institution = ?2 "
                     "ORDER BY e.device, e.seq",
                     &q, err, "reading a class's events");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, institution, -1, SQLITE_STATIC);
    return raw_events(db, q, fn, ctx, err, "reading a class's events");
}

static int sqlite_device_events(store *st, const char *device, int64_t from, int64_t to,
                                int (*fn)(const struct store_raw_event *, void *), void *ctx,
                                char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT raw, server_verdict, received_at FROM events "
                     "WHERE device = ?1 AND ts >= ?2 AND ts < ?3 AND class IS NULL ORDER BY seq",
                     &q, err, "reading a device's events");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, from);
    sqlite3_bind_int64(q, 3, to);
    return raw_events(db, q, fn, ctx, err, "reading a device's events");
}

static int sqlite_class_devices(store *st, const char *class_id, const char *institution,
                                int (*fn)(const char *, const char *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT d.id, coalesce(d.fence, '') FROM devices d WHERE d.institution = ?2 "
                     "AND (d.fence IN (SELECT fence FROM sessions WHERE class = ?1 "
                     "AND mode = 'offline') OR d.id IN (SELECT DISTINCT device FROM events "
                     "WHERE class = ?1)) ORDER BY d.id",
                     &q, err, "reading a class's devices");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, institution, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        char id[STORE_ID_MAX + 1], fence[STORE_ID_MAX + 1];
        if ((rc = column_text(q, 0, id, sizeof id, err)) != RC_OK ||
            (rc = column_text(q, 1, fence, sizeof fence, err)) != RC_OK ||
            (rc = fn(id, fence, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading a class's devices");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_device_conflicts(store *st, const char *device,
                                   int (*fn)(const char *, int64_t, const char *, void *),
                                   void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT f.seq, coalesce(e.event_id, '') FROM findings f LEFT JOIN events e "
                     "ON e.device = f.device AND e.seq = f.seq WHERE f.device = ?1 "
                     "AND f.kind = 'chain_conflict' AND f.seq IS NOT NULL ORDER BY f.seq, f.id",
                     &q, err, "reading a device's conflicts");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        char id[STORE_UUID_LEN + 1];
        if ((rc = column_text(q, 1, id, sizeof id, err)) != RC_OK ||
            (rc = fn(device, sqlite3_column_int64(q, 0), id, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading a device's conflicts");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_event_find(store *st, const char *event_id, struct store_event_ref *out,
                             char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    memset(out, 0, sizeof *out);
    int rc = prepare(
        db,
        "SELECT e.device, e.seq, e.event_id, e.type, coalesce(e.class, ''), "
        "d.institution, coalesce(i.district, ''), coalesce(e.server_verdict, '') FROM events e "
        "JOIN devices d ON d.id = e.device "
        "LEFT JOIN institutions i ON i.id = d.institution "
        "WHERE e.event_id = ?1 LIMIT 2",
        &q, err, "finding an event");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, event_id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "no event '%s'", event_id);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "finding an event");
        goto out;
    }
    if ((rc = column_text(q, 0, out->device, sizeof out->device, err)) != RC_OK ||
        (rc = column_text(q, 2, out->event_id, sizeof out->event_id, err)) != RC_OK ||
        (rc = column_text(q, 3, out->type, sizeof out->type, err)) != RC_OK ||
        (rc = column_text(q, 4, out->class_id, sizeof out->class_id, err)) != RC_OK ||
        (rc = column_text(q, 5, out->institution, sizeof out->institution, err)) != RC_OK ||
        (rc = column_text(q, 6, out->district, sizeof out->district, err)) != RC_OK ||
        (rc = column_text(q, 7, out->server_verdict, sizeof out->server_verdict, err)) != RC_OK)
        goto out;
    out->seq = sqlite3_column_int64(q, 1);
    step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = rc_fail(err, RC_CONFLICT, "two devices sent event id '%s'", event_id);
    else if (step != SQLITE_DONE)
        rc = db_fail(db, err, "finding an event");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_step_insert(store *st, struct store_step *s, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    /* Inserted only when prev is the chain's last step; the unique index refuses a second
     * step after the same one. */
    int rc = prepare(db,
                     "INSERT INTO procedure_steps(prev, kind, subject, action, state, finding, "
                     "on_date, by_whom, recorded_at, reason, data) SELECT ?1, ?2, ?3, ?4, ?5, "
                     "?6, ?7, ?8, ?9, ?10, ?11 WHERE (SELECT coalesce(max(id), 0) FROM "
                     "procedure_steps WHERE kind = ?2 AND subject = ?3) = ?1",
                     &q, err, "storing a procedure step");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_int64(q, 1, s->prev);
    sqlite3_bind_text(q, 2, s->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, s->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, s->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, s->state, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, s->finding, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, s->on_ms);
    sqlite3_bind_text(q, 8, s->by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 9, s->at_ms);
    sqlite3_bind_text(q, 10, s->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 11, s->data, -1, SQLITE_STATIC);
    rc = step_done(db, q, err, "storing a procedure step");
    if (rc == RC_OK && sqlite3_changes(db) == 0)
        rc = RC_CONFLICT;
    if (rc == RC_CONFLICT)
        return rc_fail(err, RC_CONFLICT, "%s of %s changed meanwhile: read it again", s->kind,
                       s->subject);
    if (rc == RC_OK)
        s->id = sqlite3_last_insert_rowid(db);
    return rc;
}

static int sqlite_step_list(store *st, const char *kind, const char *subject,
                            int (*fn)(const struct store_step *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT id, prev, kind, subject, action, state, finding, on_date, by_whom, "
                     "recorded_at, reason, data FROM procedure_steps WHERE kind = ?1 AND "
                     "(?2 IS NULL OR subject = ?2) ORDER BY id",
                     &q, err, "reading procedure steps");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    bind_text_or_null(q, 2, subject);
    struct store_step *v = malloc(sizeof *v);
    if (!v) {
        sqlite3_finalize(q);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        memset(v, 0, sizeof *v);
        if ((rc = column_text(q, 2, v->kind, sizeof v->kind, err)) != RC_OK ||
            (rc = column_text(q, 3, v->subject, sizeof v->subject, err)) != RC_OK ||
            (rc = column_text(q, 4, v->action, sizeof v->action, err)) != RC_OK ||
            (rc = column_text(q, 5, v->state, sizeof v->state, err)) != RC_OK ||
            (rc = column_text(q, 6, v->finding, sizeof v->finding, err)) != RC_OK ||
            (rc = column_text(q, 8, v->by, sizeof v->by, err)) != RC_OK ||
            (rc = column_text(q, 10, v->reason, sizeof v->reason, err)) != RC_OK ||
            (rc = column_text(q, 11, v->data, sizeof v->data, err)) != RC_OK)
            goto out;
        v->id = sqlite3_column_int64(q, 0);
        v->prev = sqlite3_column_int64(q, 1);
        v->on_ms = sqlite3_column_int64(q, 7);
        v->at_ms = sqlite3_column_int64(q, 9);
        if ((rc = fn(v, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading procedure steps");
out:
    free(v);
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_review_insert(store *st, struct store_review *r, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "INSERT INTO reviews(device, seq, event_id, class, decision, reason, "
                     "reviewer, reviewed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                     &q, err, "storing a review");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, r->device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, r->seq);
    sqlite3_bind_text(q, 3, r->event_id, -1, SQLITE_STATIC);
    bind_text_or_null(q, 4, r->class_id);
    sqlite3_bind_text(q, 5, r->approved ? "approve" : "reject", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, r->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, r->reviewer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 8, r->reviewed_at_ms);
    rc = step_done(db, q, err, "storing a review");
    if (rc == RC_OK)
        r->id = sqlite3_last_insert_rowid(db);
    return rc;
}

static int sqlite_review_list(store *st, const char *class_id,
                              int (*fn)(const struct store_review *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT r.id, r.device, r.seq, r.event_id, coalesce(r.class, ''), "
                     "r.decision, r.reason, r.reviewer, r.reviewed_at FROM reviews r "
                     "WHERE r.class = ?1 AND r.id = (SELECT max(id) FROM reviews l "
                     "WHERE l.device = r.device AND l.seq = r.seq) ORDER BY r.device, r.seq",
                     &q, err, "reading reviews");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_review r;
        char decision[16];
        memset(&r, 0, sizeof r);
        if ((rc = column_text(q, 1, r.device, sizeof r.device, err)) != RC_OK ||
            (rc = column_text(q, 3, r.event_id, sizeof r.event_id, err)) != RC_OK ||
            (rc = column_text(q, 4, r.class_id, sizeof r.class_id, err)) != RC_OK ||
            (rc = column_text(q, 5, decision, sizeof decision, err)) != RC_OK ||
            (rc = column_text(q, 6, r.reason, sizeof r.reason, err)) != RC_OK ||
            (rc = column_text(q, 7, r.reviewer, sizeof r.reviewer, err)) != RC_OK)
            goto out;
        r.id = sqlite3_column_int64(q, 0);
        r.seq = sqlite3_column_int64(q, 2);
        r.approved = strcmp(decision, "approve") == 0;
        r.reviewed_at_ms = sqlite3_column_int64(q, 8);
        if ((rc = fn(&r, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading reviews");
out:
    sqlite3_finalize(q);
    return rc;
}

/* The cached columns, in the order of figures_values. */
static const char FIGURES_COLUMNS[] =
    "valid_until, minutes_per_hour, scheduled_ms, planned_ms, online_planned_ms, offline_held_ms, "
    "recorded_ms, roster_scheduled_ms, roster_attended_ms, roster_online_ms, enrolled, assessed, "
    "passed, findings_info, findings_warning, findings_serious, findings_pending";
enum { FIGURES_NCOL = 17 };

static void figures_values(struct store_figures *f, int64_t *v[FIGURES_NCOL])
{
    int64_t *p[FIGURES_NCOL] = {&f->valid_until_ms,
                                &f->minutes_per_hour,
                                &f->scheduled_ms,
                                &f->planned_ms,
                                &f->online_planned_ms,
                                &f->offline_held_ms,
                                &f->recorded_ms,
                                &f->roster_scheduled_ms,
                                &f->roster_attended_ms,
                                &f->roster_online_ms,
                                &f->enrolled,
                                &f->assessed,
                                &f->passed,
                                &f->findings[0],
                                &f->findings[1],
                                &f->findings[2],
                                &f->findings_pending};
    memcpy(v, p, sizeof p);
}

static int sqlite_figures_get(store *st, const char *class_id, const char *policy, int64_t gen,
                              int64_t now, struct store_figures *out, bool *found, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char sql[1024];
    *found = false;
    memset(out, 0, sizeof *out);
    snprintf(sql, sizeof sql,
             "SELECT %s FROM class_figures WHERE class = ?1 AND policy = ?2 AND gen = ?3 "
             "AND valid_until > ?4",
             FIGURES_COLUMNS);
    int rc = prepare(db, sql, &q, err, "reading cached figures");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, policy, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, gen);
    sqlite3_bind_int64(q, 4, now);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        int64_t *v[FIGURES_NCOL];
        figures_values(out, v);
        for (int i = 0; i < FIGURES_NCOL; i++)
            *v[i] = sqlite3_column_int64(q, i);
        *found = true;
    } else if (step != SQLITE_DONE) {
        rc = db_fail(db, err, "reading cached figures");
    }
    sqlite3_finalize(q);
    return rc;
}

/* SQLite reads its own pages: one cached statement per class costs microseconds. */
static int sqlite_figures_get_many(store *st, const char *const *ids, const int64_t *gens, size_t n,
                                   const char *policy, int64_t now, struct store_figures *out,
                                   bool *found, char *err)
{
    int rc = RC_OK;
    for (size_t i = 0; i < n && rc == RC_OK; i++)
        rc = sqlite_figures_get(st, ids[i], policy, gens[i], now, &out[i], &found[i], err);
    return rc;
}

static int sqlite_figures_put(store *st, const char *class_id, const char *policy, int64_t gen,
                              const struct store_figures *f, int64_t now, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char sql[1024];
    /* The WHERE stores nothing when the class has moved past gen since it was read. */
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO class_figures(class, policy, gen, computed_at, %s) "
             "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
             "?18, ?19, ?20, ?21 FROM classes WHERE id = ?1 AND gen = ?3",
             FIGURES_COLUMNS);
    int rc = prepare(db, sql, &q, err, "caching figures");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, policy, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, gen);
    sqlite3_bind_int64(q, 4, now);
    struct store_figures copy = *f;
    int64_t *v[FIGURES_NCOL];
    figures_values(&copy, v);
    for (int i = 0; i < FIGURES_NCOL; i++)
        sqlite3_bind_int64(q, 5 + i, *v[i]);
    return step_done(db, q, err, "caching figures");
}

static int sqlite_figures_clear(store *st, char *err)
{
    return exec(sq(st)->db, "DELETE FROM class_figures", err, "clearing the figures cache");
}

static int sqlite_engine_alert(store *st, const char *class_id, const char *institution,
                               const struct store_engine_alert *a, int64_t now, bool *added,
                               char *err)
{
    return sqlite_warm_engine_alert(sq(st)->db, class_id, institution, a, now, added, err);
}

static int sqlite_finding_list(store *st, const struct store_finding_filter *f, size_t limit,
                               int (*fn)(const struct store_finding_row *, void *), void *ctx,
                               char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT f.id, f.kind, f.severity, coalesce(f.device, ''), "
                     "coalesce(f.seq, 0), coalesce(f.institution, ''), coalesce(f.class, ''), "
                     "f.detail, f.created_at FROM findings f "
                     "LEFT JOIN institutions i ON i.id = f.institution "
                     "WHERE (?1 IS NULL OR f.institution = ?1) AND (?2 IS NULL OR i.district = ?2) "
                     "AND (?3 IS NULL OR f.class = ?3) AND f.created_at >= ?4 "
                     "AND NOT EXISTS (SELECT 1 FROM engine_alerts k WHERE k.finding = f.id) "
                     "ORDER BY f.id DESC LIMIT ?5",
                     &q, err, "listing findings");
    if (rc != RC_OK)
        return rc;
    bind_text_or_null(q, 1, f ? f->institution : NULL);
    bind_text_or_null(q, 2, f ? f->district : NULL);
    bind_text_or_null(q, 3, f ? f->class_id : NULL);
    sqlite3_bind_int64(q, 4, f ? f->since_ms : 0);
    sqlite3_bind_int64(q, 5, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_finding_row r;
        memset(&r, 0, sizeof r);
        if ((rc = column_text(q, 1, r.kind, sizeof r.kind, err)) != RC_OK ||
            (rc = column_text(q, 2, r.severity, sizeof r.severity, err)) != RC_OK ||
            (rc = column_text(q, 3, r.device, sizeof r.device, err)) != RC_OK ||
            (rc = column_text(q, 5, r.institution, sizeof r.institution, err)) != RC_OK ||
            (rc = column_text(q, 6, r.class_id, sizeof r.class_id, err)) != RC_OK ||
            (rc = column_text(q, 7, r.detail, sizeof r.detail, err)) != RC_OK)
            goto out;
        r.id = sqlite3_column_int64(q, 0);
        r.seq = sqlite3_column_int64(q, 4);
        r.created_at_ms = sqlite3_column_int64(q, 8);
        if ((rc = fn(&r, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "listing findings");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_subsidy_history(store *st, const char *institution, const char *trainee,
                                  const char *except_class,
                                  int (*fn)(const struct store_subsidy_past *, void *), void *ctx,
                                  char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT c.id, c.occupation, c.level, a.assessed_on FROM assessments a "
                     "JOIN classes c ON c.id = a.class WHERE a.passed = 1 AND c.id <> ?3 AND "
                     "((a.trainee = ?1 AND c.institution = ?2) OR EXISTS (SELECT 1 FROM "
                     "roster r WHERE r.class = a.class AND r.trainee = a.trainee AND r.city = "
                     "(SELECT r2.city FROM roster r2 WHERE r2.class = ?3 AND r2.trainee = ?1))) "
                     "ORDER BY a.assessed_on, c.id",
                     &q, err, "reading the subsidy history");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, trainee, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, institution, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, except_class ? except_class : "", -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_subsidy_past p;
        char level[16];
        memset(&p, 0, sizeof p);
        if ((rc = column_text(q, 0, p.class_id, sizeof p.class_id, err)) != RC_OK ||
            (rc = column_text(q, 1, p.occupation, sizeof p.occupation, err)) != RC_OK ||
            (rc = column_text(q, 2, level, sizeof level, err)) != RC_OK)
            goto out;
        enum catalogue_level lv;
        if (catalogue_level_parse(level, &lv) != RC_OK) {
            rc = rc_fail(err, RC_CORRUPT, "class '%s' has an unknown level", p.class_id);
            goto out;
        }
        p.level = (int)lv;
        p.assessed_on_ms = sqlite3_column_int64(q, 3);
        if ((rc = fn(&p, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading the subsidy history");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_events_scan(store *st, int64_t *count, int64_t *sum, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db, "SELECT count(*), coalesce(sum(ts), 0) FROM events", &q, err,
                     "scanning events");
    if (rc != RC_OK)
        return rc;
    if (sqlite3_step(q) == SQLITE_ROW) {
        *count = sqlite3_column_int64(q, 0);
        *sum = sqlite3_column_int64(q, 1);
    } else {
        rc = db_fail(db, err, "scanning events");
    }
    sqlite3_finalize(q);
    return rc;
}

/* ---- Accounts ---- */

/* Runs a one-statement write with up to three text bindings (NULL: not bound) and an int64
 * bound last; *changed (may be NULL) gets the rows it changed. */
static int write1(sqlite3 *db, const char *sql, const char *a, const char *b, const char *c,
                  int64_t n, int *changed, char *err, const char *what)
{
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, what);
    int i = 1;
    if (a)
        sqlite3_bind_text(q, i++, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(q, i++, b, -1, SQLITE_STATIC);
    if (c)
        sqlite3_bind_text(q, i++, c, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(q) >= i)
        sqlite3_bind_int64(q, i, n);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, what);
    else if (changed)
        *changed = sqlite3_changes(db);
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_user_insert(store *st, const struct store_user *u, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO users(name, role, password_hash, created_at, "
                           "password_changed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing a user");
    sqlite3_bind_text(q, 1, u->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, u->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, u->password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, u->created_at_ms);
    sqlite3_bind_int64(q, 5, u->password_changed_at_ms);
    if (sqlite3_step(q) != SQLITE_DONE) {
        rc = db_fail(db, err, "storing a user");
        if (rc == RC_CONFLICT)
            rc = rc_fail(err, RC_CONFLICT, "a user named '%s' exists already", u->name);
    }
    sqlite3_finalize(q);
    return rc;
}

#define USER_COLUMNS                                                                               \
    "name, role, password_hash, created_at, password_changed_at, coalesce(disabled_at, 0), "       \
    "coalesce(last_login_at, 0)"

static int user_row(sqlite3_stmt *q, struct store_user *out, char *err)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = column_text(q, 0, out->name, sizeof out->name, err)) != RC_OK ||
        (rc = column_text(q, 1, out->role, sizeof out->role, err)) != RC_OK ||
        (rc = column_text(q, 2, out->password_hash, sizeof out->password_hash, err)) != RC_OK)
        return rc;
    out->created_at_ms = sqlite3_column_int64(q, 3);
    out->password_changed_at_ms = sqlite3_column_int64(q, 4);
    out->disabled_at_ms = sqlite3_column_int64(q, 5);
    out->last_login_at_ms = sqlite3_column_int64(q, 6);
    return RC_OK;
}

static int sqlite_user_get(store *st, const char *name, struct store_user *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, "SELECT " USER_COLUMNS " FROM users WHERE name = ?1", -1, &q,
                           NULL) != SQLITE_OK)
        return db_fail(db, err, "reading a user");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = user_row(q, out, err);
    else if (step == SQLITE_DONE)
        rc = rc_fail(err, RC_NOTFOUND, "no user named '%s'", name);
    else
        rc = db_fail(db, err, "reading a user");
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_user_list(store *st, int (*fn)(const struct store_user *, void *), void *ctx,
                            char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, "SELECT " USER_COLUMNS " FROM users ORDER BY name", -1, &q, NULL) !=
        SQLITE_OK)
        return db_fail(db, err, "listing users");
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_user u;
        if ((rc = user_row(q, &u, err)) != RC_OK || (rc = fn(&u, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "listing users");
out:
    sqlite3_finalize(q);
    return rc;
}

/* Runs sql (a write of user name, with text bound first when given) and, when asked, ends
 * the user's sessions, in one transaction unless the caller holds one. */
static int user_change(store *st, const char *sql, const char *name, const char *text,
                       int64_t now_ms, bool end_sessions, char *err, const char *what)
{
    sqlite3 *db = sq(st)->db;
    bool own = !st->in_tx;
    int rc = RC_OK;
    if (own && (rc = sqlite_begin(st, err)) != RC_OK)
        return rc;
    int changed = 0;
    rc = text ? write1(db, sql, text, name, NULL, now_ms, &changed, err, what)
              : write1(db, sql, name, NULL, NULL, now_ms, &changed, err, what);
    if (rc == RC_OK && changed == 0)
        rc = rc_fail(err, RC_NOTFOUND, "no user named '%s'", name);
    if (rc == RC_OK && end_sessions)
        rc = write1(
            db, "DELETE FROM login_sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
            name, NULL, NULL, 0, NULL, err, what);
    if (own) {
        if (rc == RC_OK)
            rc = sqlite_commit(st, err);
        if (rc != RC_OK)
            sqlite_rollback(st);
    }
    return rc;
}

static int sqlite_user_set_disabled(store *st, const char *name, bool disabled, int64_t now_ms,
                                    char *err)
{
    if (!disabled)
        return user_change(st, "UPDATE users SET disabled_at = NULL WHERE name = ?1", name, NULL,
                           now_ms, false, err, "enabling a user");
    return user_change(st,
                       "UPDATE users SET disabled_at = coalesce(disabled_at, ?2) WHERE name = ?1",
                       name, NULL, now_ms, true, err, "disabling a user");
}

static int sqlite_user_set_password(store *st, const char *name, const char *hash, int64_t now_ms,
                                    char *err)
{
    return user_change(st,
                       "UPDATE users SET password_hash = ?1, password_changed_at = ?3 "
                       "WHERE name = ?2",
                       name, hash, now_ms, true, err, "changing a password");
}

static int sqlite_user_logged_in(store *st, const char *name, int64_t now_ms, char *err)
{
    return write1(sq(st)->db, "UPDATE users SET last_login_at = ?2 WHERE name = ?1", name, NULL,
                  NULL, now_ms, NULL, err, "recording a login");
}

static int sqlite_session_insert(store *st, const char *hash, const char *name, int64_t now_ms,
                                 int64_t idle_ms, int64_t max_ms, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO login_sessions(hash, user_id, created_at, last_seen_at, "
                           "idle_ms, max_ms) SELECT ?1, id, ?3, ?3, ?4, ?5 FROM users "
                           "WHERE name = ?2 AND disabled_at IS NULL",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing a session");
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now_ms);
    sqlite3_bind_int64(q, 4, idle_ms);
    sqlite3_bind_int64(q, 5, max_ms);
    int rc = RC_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, "storing a session");
    else if (sqlite3_changes(db) == 0)
        rc = rc_fail(err, RC_NOTFOUND, "no enabled user named '%s'", name);
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_session_lookup(store *st, const char *hash, struct store_session *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    memset(out, 0, sizeof *out);
    int rc = cached(sq(st), STMT_SESSION_LOOKUP,
                    "SELECT u.name, u.role, s.created_at, s.last_seen_at, s.idle_ms, s.max_ms "
                    "FROM login_sessions s "
                    "JOIN users u ON u.id = s.user_id "
                    "WHERE s.hash = ?1 AND u.disabled_at IS NULL",
                    &q, err, "looking up a session");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "unknown session");
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "looking up a session");
        goto out;
    }
    if ((rc = column_text(q, 0, out->user, sizeof out->user, err)) != RC_OK ||
        (rc = column_text(q, 1, out->role, sizeof out->role, err)) != RC_OK)
        goto out;
    out->created_at_ms = sqlite3_column_int64(q, 2);
    out->last_seen_at_ms = sqlite3_column_int64(q, 3);
    out->idle_ms = sqlite3_column_int64(q, 4);
    out->max_ms = sqlite3_column_int64(q, 5);
out:
    cached_done(q);
    return rc;
}

static int sqlite_session_touch(store *st, const char *hash, int64_t now_ms, char *err)
{
    return write1(sq(st)->db,
                  "UPDATE login_sessions SET last_seen_at = max(last_seen_at, ?2) WHERE hash = ?1",
                  hash, NULL, NULL, now_ms, NULL, err, "touching a session");
}

static int sqlite_session_delete(store *st, const char *hash, char *err)
{
    return write1(sq(st)->db, "DELETE FROM login_sessions WHERE hash = ?1", hash, NULL, NULL, 0,
                  NULL, err, "ending a session");
}

static int sqlite_session_purge(store *st, int64_t now_ms, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "DELETE FROM login_sessions "
                           "WHERE last_seen_at + idle_ms <= ?1 OR created_at + max_ms <= ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "ending expired sessions");
    sqlite3_bind_int64(q, 1, now_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, "ending expired sessions");
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_login_failures_get(store *st, const char *key, struct store_login_failures *out,
                                     char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db,
                           "SELECT failures, first_at, last_at, locked_until FROM login_failures "
                           "WHERE key = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading failed logins");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        out->failures = sqlite3_column_int64(q, 0);
        out->first_at_ms = sqlite3_column_int64(q, 1);
        out->last_at_ms = sqlite3_column_int64(q, 2);
        out->locked_until_ms = sqlite3_column_int64(q, 3);
    } else if (step != SQLITE_DONE) {
        rc = db_fail(db, err, "reading failed logins");
    }
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_login_failures_put(store *st, const char *key,
                                     const struct store_login_failures *f, int64_t forget_before_ms,
                                     char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = write1(db, "DELETE FROM login_failures WHERE last_at < ?1 AND locked_until < ?1", NULL,
                    NULL, NULL, forget_before_ms, NULL, err, "forgetting failed logins");
    if (rc != RC_OK)
        return rc;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO login_failures(key, failures, first_at, last_at, "
                           "locked_until) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE "
                           "SET failures = ?2, first_at = ?3, last_at = ?4, locked_until = ?5",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "recording a failed login");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, f->failures);
    sqlite3_bind_int64(q, 3, f->first_at_ms);
    sqlite3_bind_int64(q, 4, f->last_at_ms);
    sqlite3_bind_int64(q, 5, f->locked_until_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, "recording a failed login");
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_login_failures_clear(store *st, const char *key, char *err)
{
    return write1(sq(st)->db, "DELETE FROM login_failures WHERE key = ?1", key, NULL, NULL, 0, NULL,
                  err, "clearing failed logins");
}

static int sqlite_batch_sig_insert(store *st, const struct store_batch_sig *b, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = cached(sq(st), STMT_BATCH_SIG_INSERT,
                    "INSERT INTO batch_signatures(device, first_seq, last_seq, last_hash, "
                    "signature, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &q, err, "storing a batch signature");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, b->device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, b->first_seq);
    sqlite3_bind_int64(q, 3, b->last_seq);
    sqlite3_bind_text(q, 4, b->last_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, b->signature, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, b->received_at_ms);
    return step_cached(db, q, err, "storing a batch signature");
}

static int sqlite_batch_sig_list(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                                 int (*fn)(const struct store_batch_sig *, void *), void *ctx,
                                 char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT device, first_seq, last_seq, last_hash, signature, received_at "
                           "FROM batch_signatures WHERE device = ?1 AND last_seq >= ?2 AND "
                           "first_seq <= ?3 ORDER BY first_seq, last_seq, id",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading batch signatures");
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, from_seq);
    sqlite3_bind_int64(q, 3, to_seq);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_batch_sig b;
        memset(&b, 0, sizeof b);
        if ((rc = column_text(q, 0, b.device, sizeof b.device, err)) != RC_OK ||
            (rc = column_text(q, 3, b.last_hash, sizeof b.last_hash, err)) != RC_OK ||
            (rc = column_text(q, 4, b.signature, sizeof b.signature, err)) != RC_OK)
            goto out;
        b.first_seq = sqlite3_column_int64(q, 1);
        b.last_seq = sqlite3_column_int64(q, 2);
        b.received_at_ms = sqlite3_column_int64(q, 5);
        if ((rc = fn(&b, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading batch signatures");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_event_range(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                              int (*fn)(const struct store_event_record *, void *), void *ctx,
                              char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, raw, coalesce(server_verdict, ''), server_distance_m, "
                           "coalesce(server_fence_version, 0), received_at FROM events "
                           "WHERE device = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading events");
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, from_seq);
    sqlite3_bind_int64(q, 3, to_seq);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_event_record e = {
            .seq = sqlite3_column_int64(q, 0),
            .raw = sqlite3_column_blob(q, 1),
            .raw_len = (size_t)sqlite3_column_bytes(q, 1),
            .server_verdict = (const char *)sqlite3_column_text(q, 2),
            .has_server_distance = sqlite3_column_type(q, 3) != SQLITE_NULL,
            .server_distance_m = sqlite3_column_double(q, 3),
            .server_fence_version = sqlite3_column_int(q, 4),
            .received_at_ms = sqlite3_column_int64(q, 5),
        };
        if (!e.raw)
            e.raw = "";
        if (!e.server_verdict)
            e.server_verdict = "";
        if ((rc = fn(&e, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading events");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_fence_version(store *st, const char *id, int version, struct store_fence *out,
                                char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db,
                           "SELECT id, version, geojson, sha256, created_at FROM fences "
                           "WHERE id = ?1 AND version = ?2",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading a fence");
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, version);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "no fence '%s' version %d", id, version);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "reading a fence");
        goto out;
    }
    if ((rc = column_text(q, 0, out->id, sizeof out->id, err)) != RC_OK ||
        (rc = column_text(q, 3, out->sha256, sizeof out->sha256, err)) != RC_OK)
        goto out;
    out->version = sqlite3_column_int(q, 1);
    out->created_at_ms = sqlite3_column_int64(q, 4);
    size_t n = (size_t)sqlite3_column_bytes(q, 2);
    const unsigned char *text = sqlite3_column_text(q, 2);
    if (!(out->geojson = malloc(n + 1))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (n)
        memcpy(out->geojson, text, n);
    out->geojson[n] = '\0';
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_signing_key_add(store *st, const struct store_signing_key *k, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    bool own = !st->in_tx;
    int rc = RC_OK;
    if (own && (rc = sqlite_begin(st, err)) != RC_OK)
        return rc;
    rc = write1(db, "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL", NULL, NULL,
                NULL, k->created_at_ms, NULL, err, "retiring the signing key");
    if (rc != RC_OK)
        goto out;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO signing_keys(key_id, public_key_pem, created_at) "
                           "VALUES (?1, ?2, ?3)",
                           -1, &q, NULL) != SQLITE_OK) {
        rc = db_fail(db, err, "storing a signing key");
        goto out;
    }
    sqlite3_bind_text(q, 1, k->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, k->public_key_pem, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, k->created_at_ms);
    if (sqlite3_step(q) != SQLITE_DONE) {
        rc = db_fail(db, err, "storing a signing key");
        if (rc == RC_CONFLICT)
            rc = rc_fail(err, RC_CONFLICT, "a signing key with id %s exists already", k->key_id);
    }
out:
    sqlite3_finalize(q);
    if (own) {
        if (rc == RC_OK)
            rc = sqlite_commit(st, err);
        if (rc != RC_OK)
            sqlite_rollback(st);
    }
    return rc;
}

#define SIGNING_KEY_COLUMNS "key_id, public_key_pem, created_at, coalesce(retired_at, 0)"

/* Runs a SELECT of SIGNING_KEY_COLUMNS (key bound to ?1 when given), calling fn per row. */
static int signing_keys_walk(store *st, const char *sql, const char *key,
                             int (*fn)(const struct store_signing_key *, void *), void *ctx,
                             char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading signing keys");
    if (key)
        sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_signing_key k;
        memset(&k, 0, sizeof k);
        if ((rc = column_text(q, 0, k.key_id, sizeof k.key_id, err)) != RC_OK ||
            (rc = column_text(q, 1, k.public_key_pem, sizeof k.public_key_pem, err)) != RC_OK)
            goto out;
        k.created_at_ms = sqlite3_column_int64(q, 2);
        k.retired_at_ms = sqlite3_column_int64(q, 3);
        if ((rc = fn(&k, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading signing keys");
out:
    sqlite3_finalize(q);
    return rc;
}

static int copy_signing_key(const struct store_signing_key *k, void *ctx)
{
    *(struct store_signing_key *)ctx = *k;
    return 1;
}

static int one_signing_key(store *st, const char *sql, const char *key,
                           struct store_signing_key *out, char *err, const char *missing)
{
    int rc = signing_keys_walk(st, sql, key, copy_signing_key, out, err);
    if (rc == 1)
        return RC_OK;
    if (rc == RC_OK)
        return rc_fail(err, RC_NOTFOUND, "%s", missing);
    return rc;
}

static int sqlite_signing_key_get(store *st, const char *key_id, struct store_signing_key *out,
                                  char *err)
{
    char missing[ERR_LEN];
    snprintf(missing, sizeof missing, "no signing key with id '%.32s'", key_id);
    return one_signing_key(st, "SELECT " SIGNING_KEY_COLUMNS " FROM signing_keys WHERE key_id = ?1",
                           key_id, out, err, missing);
}

static int sqlite_signing_key_current(store *st, struct store_signing_key *out, char *err)
{
    return one_signing_key(
        st, "SELECT " SIGNING_KEY_COLUMNS " FROM signing_keys WHERE retired_at IS NULL", NULL, out,
        err,
        "the collector has no signing key yet: run 'rollcall-server "
        "signing-key create'");
}

static int sqlite_signing_key_list(store *st, int (*fn)(const struct store_signing_key *, void *),
                                   void *ctx, char *err)
{
    return signing_keys_walk(
        st, "SELECT " SIGNING_KEY_COLUMNS " FROM signing_keys ORDER BY created_at, key_id", NULL,
        fn, ctx, err);
}

static int sqlite_publication_put(store *st, const struct store_publication *p, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO publications(year, body, key_id, signature, published_at) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing a publication");
    sqlite3_bind_int(q, 1, p->year);
    sqlite3_bind_text(q, 2, p->body, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, p->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, p->signature, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, p->published_at_ms);
    int step = sqlite3_step(q);
    int rc = RC_OK;
    if (step == SQLITE_CONSTRAINT)
        rc =
            rc_fail(err, RC_CONFLICT, "%d is published already (a publication is frozen)", p->year);
    else if (step != SQLITE_DONE)
        rc = db_fail(db, err, "storing a publication");
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_publication_get(store *st, int year, struct store_publication *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db,
                           "SELECT body, key_id, signature, published_at FROM publications "
                           "WHERE year = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading a publication");
    sqlite3_bind_int(q, 1, year);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "nothing is published for %d", year);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "reading a publication");
        goto out;
    }
    out->year = year;
    if ((rc = column_text(q, 1, out->key_id, sizeof out->key_id, err)) != RC_OK ||
        (rc = column_text(q, 2, out->signature, sizeof out->signature, err)) != RC_OK)
        goto out;
    out->published_at_ms = sqlite3_column_int64(q, 3);
    size_t n = (size_t)sqlite3_column_bytes(q, 0);
    const unsigned char *text = sqlite3_column_text(q, 0);
    char *body = malloc(n + 1);
    if (!body) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (n)
        memcpy(body, text, n);
    body[n] = '\0';
    out->body = body;
out:
    sqlite3_finalize(q);
    return rc;
}

/* ---- Alerts ---- */

#define ALERT_SUB_COLUMNS                                                                          \
    "s.id, s.name, coalesce(s.district, ''), s.format, s.url, coalesce(s.ca_file, ''), "           \
    "s.created_by, s.created_at"

/* Reads ALERT_SUB_COLUMNS from column first on. */
static int alert_sub_row(sqlite3_stmt *q, int first, struct store_alert_sub *s, char *err)
{
    int rc;
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(q, first);
    if ((rc = column_text(q, first + 1, s->name, sizeof s->name, err)) != RC_OK ||
        (rc = column_text(q, first + 2, s->district, sizeof s->district, err)) != RC_OK ||
        (rc = column_text(q, first + 3, s->format, sizeof s->format, err)) != RC_OK ||
        (rc = column_text(q, first + 4, s->url, sizeof s->url, err)) != RC_OK ||
        (rc = column_text(q, first + 5, s->ca_file, sizeof s->ca_file, err)) != RC_OK ||
        (rc = column_text(q, first + 6, s->created_by, sizeof s->created_by, err)) != RC_OK)
        return rc;
    s->created_at_ms = sqlite3_column_int64(q, first + 7);
    return RC_OK;
}

static int sqlite_alert_sub_insert(store *st, struct store_alert_sub *s, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO alert_subscriptions(name, district, format, url, ca_file, "
                           "created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing an alert subscription");
    sqlite3_bind_text(q, 1, s->name, -1, SQLITE_STATIC);
    bind_text_or_null(q, 2, s->district);
    sqlite3_bind_text(q, 3, s->format, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, s->url, -1, SQLITE_STATIC);
    bind_text_or_null(q, 5, s->ca_file);
    sqlite3_bind_text(q, 6, s->created_by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, s->created_at_ms);
    if (sqlite3_step(q) != SQLITE_DONE) {
        rc = db_fail(db, err, "storing an alert subscription");
        if (rc == RC_CONFLICT)
            rc = rc_fail(err, RC_CONFLICT, "an alert subscription named '%s' exists already",
                         s->name);
    } else {
        s->id = sqlite3_last_insert_rowid(db);
    }
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_alert_sub_list(store *st, const char *district,
                                 int (*fn)(const struct store_alert_sub *, void *), void *ctx,
                                 char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT " ALERT_SUB_COLUMNS " FROM alert_subscriptions s "
                           "WHERE s.removed_at IS NULL AND (?1 IS NULL OR s.district = ?1) "
                           "ORDER BY s.id",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading alert subscriptions");
    if (district)
        sqlite3_bind_text(q, 1, district, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_alert_sub s;
        if ((rc = alert_sub_row(q, 0, &s, err)) != RC_OK || (rc = fn(&s, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading alert subscriptions");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_alert_sub_get(store *st, int64_t id, struct store_alert_sub *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT " ALERT_SUB_COLUMNS " FROM alert_subscriptions s "
                           "WHERE s.id = ?1 AND s.removed_at IS NULL",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading an alert subscription");
    sqlite3_bind_int64(q, 1, id);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = alert_sub_row(q, 0, out, err);
    else if (step == SQLITE_DONE)
        rc = rc_fail(err, RC_NOTFOUND, "no alert subscription %lld", (long long)id);
    else
        rc = db_fail(db, err, "reading an alert subscription");
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_alert_sub_remove(store *st, int64_t id, int64_t now_ms, char *err)
{
    sqlite3 *db = sq(st)->db;
    bool own = !st->in_tx;
    int rc = RC_OK, changed = 0;
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    if (own && (rc = sqlite_begin(st, err)) != RC_OK)
        return rc;
    rc = write1(db,
                "UPDATE alert_subscriptions SET removed_at = ?2 "
                "WHERE id = CAST(?1 AS INTEGER) AND removed_at IS NULL",
                idtext, NULL, NULL, now_ms, &changed, err, "removing an alert subscription");
    if (rc == RC_OK && changed != 1)
        rc = rc_fail(err, RC_NOTFOUND, "no alert subscription %lld", (long long)id);
    if (rc == RC_OK)
        rc = write1(db,
                    "UPDATE alert_outbox SET state = 'cancelled', last_at = ?2 "
                    "WHERE subscription = CAST(?1 AS INTEGER) AND state = 'pending'",
                    idtext, NULL, NULL, now_ms, NULL, err, "cancelling alert deliveries");
    if (own) {
        if (rc == RC_OK)
            rc = sqlite_commit(st, err);
        if (rc != RC_OK)
            sqlite_rollback(st);
    }
    return rc;
}

static int sqlite_alert_deliveries(store *st, const struct store_alert_filter *f, size_t limit,
                                   int (*fn)(const struct store_alert_delivery *, void *),
                                   void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    const char *sql =
        f->due_at_ms > 0
            ? "SELECT " ALERT_SUB_COLUMNS ", o.id, o.state, o.attempts, o.next_at, "
              "coalesce(o.last_status, 0), coalesce(o.last_error, ''), coalesce(o.last_at, 0), "
              "coalesce(o.delivered_at, 0), o.created_at, f.id, f.kind, f.severity, "
              "coalesce(f.device, ''), coalesce(f.seq, 0), coalesce(f.institution, ''), "
              "coalesce(f.class, ''), f.detail, f.created_at, coalesce(i.district, '') "
              "FROM alert_outbox o JOIN alert_subscriptions s ON s.id = o.subscription "
              "JOIN findings f ON f.id = o.finding "
              "LEFT JOIN institutions i ON i.id = f.institution "
              "WHERE (?1 IS NULL OR s.district = ?1) AND (?2 = 0 OR s.id = ?2) "
              "AND o.state = 'pending' AND o.next_at <= ?3 ORDER BY o.next_at, o.id LIMIT ?4"
            : "SELECT " ALERT_SUB_COLUMNS ", o.id, o.state, o.attempts, o.next_at, "
              "coalesce(o.last_status, 0), coalesce(o.last_error, ''), coalesce(o.last_at, 0), "
              "coalesce(o.delivered_at, 0), o.created_at, f.id, f.kind, f.severity, "
              "coalesce(f.device, ''), coalesce(f.seq, 0), coalesce(f.institution, ''), "
              "coalesce(f.class, ''), f.detail, f.created_at, coalesce(i.district, '') "
              "FROM alert_outbox o JOIN alert_subscriptions s ON s.id = o.subscription "
              "JOIN findings f ON f.id = o.finding "
              "LEFT JOIN institutions i ON i.id = f.institution "
              "WHERE (?1 IS NULL OR s.district = ?1) AND (?2 = 0 OR s.id = ?2) "
              "AND ?3 = 0 ORDER BY o.id DESC LIMIT ?4";
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading alert deliveries");
    if (f->district)
        sqlite3_bind_text(q, 1, f->district, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, f->subscription);
    sqlite3_bind_int64(q, 3, f->due_at_ms);
    sqlite3_bind_int64(q, 4, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_alert_delivery d;
        memset(&d, 0, sizeof d);
        if ((rc = alert_sub_row(q, 0, &d.sub, err)) != RC_OK)
            goto out;
        d.id = sqlite3_column_int64(q, 8);
        if ((rc = column_text(q, 9, d.state, sizeof d.state, err)) != RC_OK)
            goto out;
        d.attempts = sqlite3_column_int64(q, 10);
        d.next_at_ms = sqlite3_column_int64(q, 11);
        d.last_status = sqlite3_column_int64(q, 12);
        if ((rc = column_text(q, 13, d.last_error, sizeof d.last_error, err)) != RC_OK)
            goto out;
        d.last_at_ms = sqlite3_column_int64(q, 14);
        d.delivered_at_ms = sqlite3_column_int64(q, 15);
        d.created_at_ms = sqlite3_column_int64(q, 16);
        struct store_finding_row *r = &d.finding;
        r->id = sqlite3_column_int64(q, 17);
        if ((rc = column_text(q, 18, r->kind, sizeof r->kind, err)) != RC_OK ||
            (rc = column_text(q, 19, r->severity, sizeof r->severity, err)) != RC_OK ||
            (rc = column_text(q, 20, r->device, sizeof r->device, err)) != RC_OK)
            goto out;
        r->seq = sqlite3_column_int64(q, 21);
        if ((rc = column_text(q, 22, r->institution, sizeof r->institution, err)) != RC_OK ||
            (rc = column_text(q, 23, r->class_id, sizeof r->class_id, err)) != RC_OK ||
            (rc = column_text(q, 24, r->detail, sizeof r->detail, err)) != RC_OK)
            goto out;
        r->created_at_ms = sqlite3_column_int64(q, 25);
        if ((rc = column_text(q, 26, d.district, sizeof d.district, err)) != RC_OK)
            goto out;
        if ((rc = fn(&d, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading alert deliveries");
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_alert_claim(store *st, int64_t id, int64_t seen_next_at_ms,
                              int64_t lease_until_ms, bool *claimed, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "UPDATE alert_outbox SET next_at = ?3 "
                           "WHERE id = ?1 AND next_at = ?2 AND state = 'pending'",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "claiming an alert delivery");
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, seen_next_at_ms);
    sqlite3_bind_int64(q, 3, lease_until_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, "claiming an alert delivery");
    else
        *claimed = sqlite3_changes(db) == 1;
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_alert_record(store *st, int64_t id, const struct store_alert_attempt *a,
                               char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "UPDATE alert_outbox SET state = ?2, attempts = ?3, next_at = ?4, "
                           "last_status = ?5, last_error = substr(?6, 1, ?8), last_at = ?7, "
                           "delivered_at = CASE WHEN ?2 = 'delivered' THEN ?7 END "
                           "WHERE id = ?1 AND state = 'pending'",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "recording an alert delivery");
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, a->state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, a->attempts);
    sqlite3_bind_int64(q, 4, a->next_at_ms);
    sqlite3_bind_int64(q, 5, a->status);
    sqlite3_bind_text(q, 6, a->error ? a->error : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, a->at_ms);
    sqlite3_bind_int(q, 8, STORE_ALERT_ERROR_MAX);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, "recording an alert delivery");
    sqlite3_finalize(q);
    return rc;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .latest = MIGRATIONS,
    .open = sqlite_open,
    .close = sqlite_close,
    .schema_version = sqlite_schema_version,
    .migrate_to = sqlite_migrate_to,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .savepoint = sqlite_savepoint,
    .checkpoint = sqlite_checkpoint,
    .backup = sqlite_backup,
    .integrity_check = sqlite_integrity_check,
    .token_insert = sqlite_token_insert,
    .token_lookup = sqlite_token_lookup,
    .device_count_seen = sqlite_device_count_seen,
    .device_list = sqlite_device_list,
    .enrolment_get = sqlite_enrolment_get,
    .enrolment_insert = sqlite_enrolment_insert,
    .enrolment_update = sqlite_enrolment_update,
    .institution_key = sqlite_institution_key,
    .head_get = sqlite_head_get,
    .head_advance = sqlite_head_advance,
    .event_insert = sqlite_event_insert,
    .event_raw = sqlite_event_raw,
    .device_seen = sqlite_device_seen,
    .finding_insert = sqlite_finding_insert,
    .fence_current = sqlite_fence_current,
    .fence_put = sqlite_fence_put,
    .begin_read = sqlite_begin_read,
    .institution_district = sqlite_institution_district,
    .institution_register = sqlite_institution_register,
    .class_put = sqlite_class_put,
    .class_get = sqlite_class_get,
    .class_plan = sqlite_class_plan,
    .class_list = sqlite_class_list,
    .online_insert = sqlite_online_insert,
    .online_list = sqlite_online_list,
    .assessment_put = sqlite_assessment_put,
    .assessment_list = sqlite_assessment_list,
    .class_events = sqlite_class_events,
    .device_events = sqlite_device_events,
    .class_devices = sqlite_class_devices,
    .device_conflicts = sqlite_device_conflicts,
    .event_find = sqlite_event_find,
    .step_insert = sqlite_step_insert,
    .step_list = sqlite_step_list,
    .review_insert = sqlite_review_insert,
    .review_list = sqlite_review_list,
    .figures_get = sqlite_figures_get,
    .figures_get_many = sqlite_figures_get_many,
    .figures_put = sqlite_figures_put,
    .figures_clear = sqlite_figures_clear,
    .finding_list = sqlite_finding_list,
    .subsidy_history = sqlite_subsidy_history,
    .events_scan = sqlite_events_scan,
    .engine_alert_record = sqlite_engine_alert,
    .user_insert = sqlite_user_insert,
    .user_get = sqlite_user_get,
    .user_list = sqlite_user_list,
    .user_set_disabled = sqlite_user_set_disabled,
    .user_set_password = sqlite_user_set_password,
    .user_logged_in = sqlite_user_logged_in,
    .session_insert = sqlite_session_insert,
    .session_lookup = sqlite_session_lookup,
    .session_touch = sqlite_session_touch,
    .session_delete = sqlite_session_delete,
    .session_purge = sqlite_session_purge,
    .login_failures_get = sqlite_login_failures_get,
    .login_failures_put = sqlite_login_failures_put,
    .login_failures_clear = sqlite_login_failures_clear,
    .batch_sig_insert = sqlite_batch_sig_insert,
    .batch_sig_list = sqlite_batch_sig_list,
    .event_range = sqlite_event_range,
    .fence_version = sqlite_fence_version,
    .publication_put = sqlite_publication_put,
    .publication_get = sqlite_publication_get,
    .signing_key_add = sqlite_signing_key_add,
    .signing_key_get = sqlite_signing_key_get,
    .signing_key_current = sqlite_signing_key_current,
    .signing_key_list = sqlite_signing_key_list,
    .alert_sub_insert = sqlite_alert_sub_insert,
    .alert_sub_list = sqlite_alert_sub_list,
    .alert_sub_get = sqlite_alert_sub_get,
    .alert_sub_remove = sqlite_alert_sub_remove,
    .alert_deliveries = sqlite_alert_deliveries,
    .alert_claim = sqlite_alert_claim,
    .alert_record = sqlite_alert_record,
};

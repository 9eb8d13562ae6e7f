/* The SQLite back-end of store.h: the connection, its pragmas, the migrations and the ops
 * table. The ops live in store_sqlite_{ingest,evidence,figures,accounts,alerts,procedure}.c
 * and store_sqlite_admin.c (tokens and fences as the console lists them), their shared
 * helpers in store_sqlite_int.h.
 *
 * Each connection: WAL journal (readers never block the writer), synchronous=FULL (an
 * acknowledged batch survives a power cut: the agent may forget what the server acknowledged),
 * foreign keys on, a busy timeout so concurrent writers from the pool wait instead of failing.
 * Tables are STRICT so a wrong type is an error, not a silent conversion.
 *
 * Schema versions live in schema_migrations (one row per applied migration); the version is
 * its largest number, 0 when the table does not exist. */
#include "store/store_sqlite_int.h"

#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "store/store_backend.h"
#include "store/store_sqlite_admin.h"
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
    /* A WAL this many times SQLITE_CHECKPOINT_PAGES: the background checkpointer is not
     * keeping up (or a reader holds it back), so the writer checkpoints itself, as before. */
    SQLITE_CHECKPOINT_BEHIND = 8,
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
    {14, "tokens: who created and who revoked each",
     "ALTER TABLE tokens ADD COLUMN created_by TEXT;"
     "ALTER TABLE tokens ADD COLUMN revoked_by TEXT;"},
    {15, "figures: generations bumped by the store (store.c, once per class per transaction)",
     /* A trigger bumped classes.gen at every event: one rewrite of the class's row (its plan
      * JSON too) per event. store.c now bumps each changed class once, at commit, on every
      * back-end; the history of assessments stays a trigger, without the bump. */
     "DROP TRIGGER events_class_gen;"
     "DROP TRIGGER online_class_gen;"
     "DROP TRIGGER assessments_class_gen;"
     "DROP TRIGGER reviews_class_gen;"
     "DROP TRIGGER procedure_steps_class_gen;"
     "DROP TRIGGER assessments_history;"
     "CREATE TRIGGER assessments_history AFTER UPDATE ON assessments "
     "BEGIN INSERT INTO assessment_history(class, trainee, passed, assessed_on, certificate, "
     "recorded_at, recorded_by, superseded_at) VALUES (OLD.class, OLD.trainee, OLD.passed, "
     "OLD.assessed_on, OLD.certificate, OLD.recorded_at, OLD.recorded_by, NEW.recorded_at); "
     "END;"},
    {16, "engine alerts: the keys of serious engine findings already sent to the alert outbox",
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
    {17, "findings: the detail's template code and arguments (rendered in the reader's language)",
     /* detail_args is a JSON object of strings; NULL on older rows, which keep their English
      * detail. */
     "ALTER TABLE findings ADD COLUMN detail_code TEXT;"
     "ALTER TABLE findings ADD COLUMN detail_args TEXT;"},
    {18, "events: the rest of what the figures read as columns (no line parsed for a report)",
     /* cols = 1: every column the figures read was filled from the line at ingest
      * (store_event_from); NULL on older rows, whose line the figures parse. */
     "ALTER TABLE events ADD COLUMN rollcall TEXT;"
     "ALTER TABLE events ADD COLUMN skew_ms INTEGER;"
     "ALTER TABLE events ADD COLUMN fix_sats INTEGER;"
     "ALTER TABLE events ADD COLUMN cols INTEGER CHECK (cols IS NULL OR cols = 1);"},
    {19, "events: the figures read a class's events and a kiosk's own from covering indexes",
     /* Each event is in one of the two: a class's events by (class, device, seq), a kiosk's
      * events naming no class by (device, ts), each with every column STORE_EVENT_READ_COLUMNS
      * reads, so the figures read the index alone and never the row. They replace
      * events_class_ts and events_device_ts; events_trainee_ts and events_device_type served
      * no query and cost every insert. */
     "DROP INDEX events_class_ts;"
     "DROP INDEX events_device_ts;"
     "DROP INDEX events_trainee_ts;"
     "DROP INDEX events_device_type;"
     "CREATE INDEX events_class_read ON events(class, device, seq, event_id, type, ts, trainee,"
     "  trainee_masked, session, rollcall, fence, camera, kind, verdict, fix_lat, fix_lon,"
     "  fix_eph, fix_mode, fix_sats, fix_time, fix_source, start_ts, end_ts, skew_ms,"
     "  server_verdict, received_at, cols) WHERE class IS NOT NULL;"
     "CREATE INDEX events_device_read ON events(device, ts, seq, class, event_id, type, trainee,"
     "  trainee_masked, session, rollcall, fence, camera, kind, verdict, fix_lat, fix_lon,"
     "  fix_eph, fix_mode, fix_sats, fix_time, fix_source, start_ts, end_ts, skew_ms,"
     "  server_verdict, received_at, cols) WHERE class IS NULL;"},
    {20, "events: what the figures read of an event packed in one column, indexed in place of 24",
     /* pack: store_event_pack of the row (store_backend.h); NULL on older rows until the
      * backfill of migrate packs them (store_events_backfill), and on rows not from their
      * line, whose line the figures parse. The two read indexes carry it instead of the
      * columns: the figures read three columns an event, not 24 (PERFORMANCE.md "A packed
      * event"). */
     "ALTER TABLE events ADD COLUMN pack BLOB;"
     "DROP INDEX events_class_read;"
     "DROP INDEX events_device_read;"
     "CREATE INDEX events_class_read ON events(class, device, seq, server_verdict, received_at,"
     "  pack) WHERE class IS NOT NULL;"
     "CREATE INDEX events_device_read ON events(device, ts, seq, class, server_verdict,"
     "  received_at, pack) WHERE class IS NULL;"},
};

enum { MIGRATIONS = (int)(sizeof migrations / sizeof migrations[0]) };

sqlite3 *sqlite_store_db(store *st)
{
    return sq(st)->db;
}

static int sqlite_engine_alert(store *st, const char *class_id, const char *institution,
                               const struct store_engine_alert *a, int64_t now, bool *added,
                               char *err)
{
    return sqlite_warm_engine_alert(sq(st)->db, class_id, institution, a, now, added, err);
}

static void write_unlock(struct store_sqlite *s)
{
    if (s->writing) {
        s->writing = false;
        pthread_mutex_unlock(&write_lock);
    }
}

/* The checkpoints of a manual-checkpoint connection (the ingest writer's), on a thread and
 * connection of their own: a PASSIVE checkpoint copies the WAL into the database and fsyncs
 * it while the writer goes on appending and committing groups, instead of the writer doing
 * it between two groups (one more fsync on the ingest path each time the WAL passes
 * SQLITE_CHECKPOINT_PAGES). SQLite lets one checkpointer run beside one writer. */
struct sqlite_checkpointer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool due, stop; /* under lock */
    sqlite3 *db;
};

static void *checkpointer_main(void *arg)
{
    struct sqlite_checkpointer *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->due && !c->stop)
            pthread_cond_wait(&c->wake, &c->lock);
        if (c->stop)
            break;
        c->due = false;
        pthread_mutex_unlock(&c->lock);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int log = 0, done = 0;
        int code = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (code != SQLITE_OK && code != SQLITE_BUSY)
            log_msg(LOG_LVL_WARN, "checkpoint: %s (the WAL keeps the data; tried again later)",
                    sqlite3_errmsg(c->db));
        else
            log_msg(LOG_LVL_DEBUG, "checkpoint: %d of %d WAL frames in %.1f ms", done, log,
                    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                        (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void checkpointer_stop(struct sqlite_checkpointer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    sqlite3_close_v2(c->db);
    free(c);
}

/* Starts the checkpointer of the database at path; NULL when it cannot (the writer then
 * checkpoints itself). */
static struct sqlite_checkpointer *checkpointer_start(const char *path)
{
    struct sqlite_checkpointer *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(c->db, SQLITE_BUSY_TIMEOUT_MS) != SQLITE_OK ||
        sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close_v2(c->db);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    if (pthread_create(&c->thread, NULL, checkpointer_main, c) != 0) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        sqlite3_close_v2(c->db);
        free(c);
        return NULL;
    }
    return c;
}

static void sqlite_close(store *st)
{
    struct store_sqlite *s = sq(st);
    checkpointer_stop(s->ck);
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
    if (flags & STORE_OPEN_MANUAL_CHECKPOINT) {
        sqlite3_wal_hook(s->db, wal_hook, s);
        s->ck = checkpointer_start(path);
    }
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

int sqlite_begin(store *st, char *err)
{
    struct store_sqlite *s = sq(st);
    pthread_mutex_lock(&write_lock);
    s->writing = true;
    int rc = exec(s->db, "BEGIN IMMEDIATE", err, "begin");
    if (rc != RC_OK)
        write_unlock(s);
    return rc;
}

int sqlite_commit(store *st, char *err)
{
    struct store_sqlite *s = sq(st);
    int rc = exec(s->db, "COMMIT", err, "commit");
    if (rc == RC_OK)
        write_unlock(s); /* on failure store.c rolls back, which unlocks */
    return rc;
}

void sqlite_rollback(store *st)
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
    if (s->ck && s->wal_frames < SQLITE_CHECKPOINT_PAGES * SQLITE_CHECKPOINT_BEHIND) {
        /* Handed to the checkpointer; wal_frames is left as it is, so every commit past the
         * threshold asks again until a checkpoint lets the WAL start over. */
        pthread_mutex_lock(&s->ck->lock);
        s->ck->due = true;
        pthread_cond_signal(&s->ck->wake);
        pthread_mutex_unlock(&s->ck->lock);
        *done = true;
        return RC_OK;
    }
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
    .events_insert = sqlite_events_insert,
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
    .class_device_events = sqlite_class_device_events,
    .events_uncolumned = sqlite_events_uncolumned,
    .event_columns_fill = sqlite_event_columns_fill,
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
    .class_bump = sqlite_class_bump,
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
    .batch_close = sqlite_batch_close,
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
    .token_list = sqlite_token_list,
    .token_revoke = sqlite_token_revoke,
    .fence_list = sqlite_fence_list,
    .alert_record = sqlite_alert_record,
};

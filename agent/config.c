#include "config.h"

#include "datum.h"
#include "log.h"
#include "rc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The enum tables below are indexed by these values. */
_Static_assert(DATUM_WGS84 == 0 && DATUM_GCJ02 == 1 && DATUM_BD09 == 2, "datum order");
_Static_assert(LOG_LVL_ERROR == 0 && LOG_LVL_WARN == 1 && LOG_LVL_INFO == 2 && LOG_LVL_DEBUG == 3,
               "log level order");

static const char *const gnss_sources[] = {"gpsd", "none", NULL};
static const char *const datums[] = {"WGS-84", "GCJ-02", "BD-09", NULL};
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

static const char *check_suffix(const char *value)
{
    static const char why[] = "a file suffix: '.' then letters or digits";
    if (value[0] != '.' || value[1] == '\0')
        return why;
    for (const char *p = value + 1; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return why;
    }
    return NULL;
}

static const char *check_url(const char *value)
{
    static const char why[] = "an https:// (or http://) URL without spaces";
    const char *host;
    if (strncmp(value, "https://", 8) == 0)
        host = value + 8;
    else if (strncmp(value, "http://", 7) == 0)
        host = value + 7;
    else
        return why;
    if (*host == '\0' || *host == '/')
        return why;
    if (strpbrk(value, " \"<>\\^`{|}"))
        return why;
    return NULL;
}

static const char *check_host(const char *value)
{
    for (const char *p = value; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == ':' || *p == '_'))
            return "a host name or IP address";
    }
    return NULL;
}

/* ---- firmware profile --------------------------------------------------------------------- */

static const struct cfgmap_entry gnss_entries[] = {
    {.key = "source",
     CFGMAP_F_ENUM(struct config_gnss, source, gnss_sources),
     .required = true,
     .help = "where positions come from: gpsd (a receiver through the gpsd daemon), or none "
             "(no receiver: the surveyed position is used, else sign-ins are no_fix)"},
    {.key = "gpsd_host",
     CFGMAP_F_STRING(struct config_gnss, gpsd_host),
     .sdef = "127.0.0.1",
     .check = check_host,
     .help = "host of the gpsd daemon"},
    {.key = "gpsd_port",
     CFGMAP_F_INT(struct config_gnss, gpsd_port),
     .imin = 1,
     .imax = 65535,
     .idef = 2947,
     .unit = "TCP port",
     .help = "port of the gpsd daemon"},
    {.key = "device",
     CFGMAP_F_STRING(struct config_gnss, device),
     .check = cfgmap_check_abs_path,
     .help = "the receiver's device node, as gpsd is given it (DEVICES in /etc/default/gpsd); "
             "for the installer: the agent itself only talks to gpsd"},
    {.key = "speed_bps",
     CFGMAP_F_INT(struct config_gnss, speed_bps),
     .imin = 0,
     .imax = 921600,
     .idef = 0,
     .unit = "bit/s",
     .help = "serial speed of the receiver (gpsd -s); 0 lets gpsd detect it"},
    {.key = "fix_timeout_s",
     CFGMAP_F_INT(struct config_gnss, fix_timeout_s),
     .imin = 1,
     .imax = 600,
     .idef = 10,
     .unit = "s",
     .help = "how long a sign-in waits for a usable fix before it is recorded as no_fix"},
    {.key = "stale_after_s",
     CFGMAP_F_INT(struct config_gnss, stale_after_s),
     .imin = 1,
     .imax = 3600,
     .idef = 5,
     .unit = "s",
     .help = "a fix older than this is not used for a sign-in"},
    {.key = "assumed_eph_m",
     CFGMAP_F_DOUBLE(struct config_gnss, assumed_eph_m),
     .dmin = 0.1,
     .dmax = 10000,
     .ddef = 25.0,
     .unit = "m",
     .help = "horizontal accuracy assumed when the receiver reports none (gpsd eph absent)"},
    {.key = "no_fix_alert_s",
     CFGMAP_F_INT(struct config_gnss, no_fix_alert_s),
     .imin = 1,
     .imax = 86400,
     .idef = 300,
     .unit = "s",
     .help = "a gnss event is recorded after this long without a fix"},
    {.key = "frozen_after_s",
     CFGMAP_F_INT(struct config_gnss, frozen_after_s),
     .imin = 1,
     .imax = 86400,
     .idef = 120,
     .unit = "s",
     .help = "identical coordinates for this long are flagged as a frozen (possibly replayed) "
             "position"},
    {.key = "max_speed_mps",
     CFGMAP_F_DOUBLE(struct config_gnss, max_speed_mps),
     .dmin = 0.1,
     .dmax = 1000,
     .ddef = 50,
     .unit = "m/s",
     .help = "an implied speed between two fixes above this is flagged as impossible (a fixed "
             "kiosk does not move)"},
    {.key = "max_time_skew_s",
     CFGMAP_F_INT(struct config_gnss, max_time_skew_s),
     .imin = 1,
     .imax = 86400,
     .idef = 5,
     .unit = "s",
     .help = "GNSS time further than this from the system clock is flagged"},
    {.key = NULL},
};
static const struct cfgmap_table gnss_table = {gnss_entries, sizeof(struct config_gnss)};

static const struct cfgmap_entry surveyed_entries[] = {
    {.key = "lat",
     CFGMAP_F_DOUBLE(struct config_surveyed, lat),
     .required = true,
     .dmin = -90,
     .dmax = 90,
     .unit = "degrees",
     .help = "latitude of the terminal, north positive, in the stated datum"},
    {.key = "lon",
     CFGMAP_F_DOUBLE(struct config_surveyed, lon),
     .required = true,
     .dmin = -180,
     .dmax = 180,
     .unit = "degrees",
     .help = "longitude of the terminal, east positive, in the stated datum"},
    {.key = "datum",
     CFGMAP_F_ENUM(struct config_surveyed, datum, datums),
     .required = true,
     .help = "datum of lat/lon: WGS-84 (GNSS, surveying), GCJ-02 (Amap, Tencent maps) or BD-09 "
             "(Baidu maps); the position is converted to WGS-84 where it is judged"},
    {.key = "eph_m",
     CFGMAP_F_DOUBLE(struct config_surveyed, eph_m),
     .dmin = 0.1,
     .dmax = 1000,
     .ddef = 10,
     .unit = "m",
     .help = "horizontal accuracy of the surveyed position, used as the fix's eph"},
    {.key = NULL},
};
static const struct cfgmap_table surveyed_table = {surveyed_entries,
                                                   sizeof(struct config_surveyed)};

static const struct cfgmap_entry storage_entries[] = {
    {.key = "max_db_mb",
     CFGMAP_F_INT(struct config_storage, max_db_mb),
     .imin = 16,
     .imax = 65536,
     .idef = 256,
     .unit = "MiB",
     .help = "size of the outbox database at which new events are refused (storage full) "
             "rather than unsent ones deleted"},
    {.key = NULL},
};
static const struct cfgmap_table storage_table = {storage_entries, sizeof(struct config_storage)};

static const struct cfgmap_entry sync_entries[] = {
    {.key = "interval_s",
     CFGMAP_F_INT(struct config_sync, interval_s),
     .imin = 5,
     .imax = 86400,
     .idef = 60,
     .unit = "s",
     .help = "time between uploads while the daemon runs"},
    {.key = "batch_max_events",
     CFGMAP_F_INT(struct config_sync, batch_max_events),
     .imin = 1,
     .imax = 1000, /* the collector takes at most INGEST_LINES_MAX lines per batch */
     .idef = 500,
     .unit = "events",
     .help = "most events in one signed batch"},
    {.key = "batch_max_bytes",
     CFGMAP_F_INT(struct config_sync, batch_max_bytes),
     .imin = 4096,
     .imax = 16777216,
     .idef = 1048576,
     .unit = "bytes",
     .help = "largest body of one batch upload"},
    {.key = "backoff_base_ms",
     CFGMAP_F_INT(struct config_sync, backoff_base_ms),
     .imin = 100,
     .imax = 60000,
     .idef = 1000,
     .unit = "ms",
     .help = "first retry delay after a failed upload; doubles per failure"},
    {.key = "backoff_cap_ms",
     CFGMAP_F_INT(struct config_sync, backoff_cap_ms),
     .imin = 1000,
     .imax = 86400000,
     .idef = 300000,
     .unit = "ms",
     .help = "longest retry delay; at least backoff_base_ms"},
    {.key = "timeout_s",
     CFGMAP_F_INT(struct config_sync, timeout_s),
     .imin = 1,
     .imax = 600,
     .idef = 30,
     .unit = "s",
     .help = "limit on one upload request"},
    {.key = "inflight",
     CFGMAP_F_INT(struct config_sync, inflight),
     .imin = 1,
     .imax = 16, /* SYNC_INFLIGHT_MAX */
     .idef = 4,
     .unit = "batches",
     .help = "batches sent at once, each on its own kept-alive connection; 1 waits for each "
             "answer before sending the next"},
    {.key = NULL},
};
static const struct cfgmap_table sync_table = {sync_entries, sizeof(struct config_sync)};

static const struct cfgmap_entry clock_entries[] = {
    {.key = "max_skew_s",
     CFGMAP_F_INT(struct config_clock, max_skew_s),
     .imin = 1,
     .imax = 86400,
     .idef = 5,
     .unit = "s",
     .help = "system clock further than this from the server's time is recorded as a clock "
             "event"},
    {.key = NULL},
};
static const struct cfgmap_table clock_table = {clock_entries, sizeof(struct config_clock)};

static const struct cfgmap_entry heartbeat_entries[] = {
    {.key = "interval_s",
     CFGMAP_F_INT(struct config_heartbeat, interval_s),
     .imin = 10,
     .imax = 86400,
     .idef = 60,
     .unit = "s",
     .help = "time between heartbeat events while the daemon runs"},
    {.key = NULL},
};
static const struct cfgmap_table heartbeat_table = {heartbeat_entries,
                                                    sizeof(struct config_heartbeat)};

static const struct cfgmap_entry camera_entries[] = {
    {.key = "id",
     CFGMAP_F_STRING(struct config_camera, id),
     .required = true,
     .check = cfgmap_check_id,
     .help = "camera name used by `record --camera`; unique within the profile"},
    {.key = "dir",
     CFGMAP_F_STRING(struct config_camera, dir),
     .required = true,
     .check = cfgmap_check_abs_path,
     .help = "directory where the camera or NVR writes its recordings"},
    {.key = "suffix",
     CFGMAP_F_STRING(struct config_camera, suffix),
     .sdef = ".mp4",
     .check = check_suffix,
     .help = "file name suffix of a recording"},
    {.key = "settle_s",
     CFGMAP_F_INT(struct config_camera, settle_s),
     .imin = 0,
     .imax = 3600,
     .idef = 5,
     .unit = "s",
     .help = "a recording is complete once its file has not changed for this long"},
    {.key = NULL},
};
static const struct cfgmap_table camera_table = {camera_entries, sizeof(struct config_camera)};

static const struct cfgmap_entry profile_entries[] = {
    {.key = "model",
     CFGMAP_F_STRING(struct config_profile, model),
     .required = true,
     .check = cfgmap_check_id,
     .help = "name of the hardware model; sent to the server at enrolment"},
    {.key = "description",
     CFGMAP_F_STRING(struct config_profile, description),
     .help = "free text for people: the hardware and how it is installed"},
    {.key = "gnss",
     CFGMAP_F_OBJECT(struct config_profile, gnss, &gnss_table),
     .required = true,
     .help = "the GNSS receiver and the checks on its fixes"},
    {.key = "surveyed",
     CFGMAP_F_OPTIONAL_OBJECT(struct config_profile, surveyed, has_surveyed, &surveyed_table),
     .help = "a fixed terminal's surveyed position, recorded as source surveyed (not GNSS); "
             "required when gnss.source is none"},
    {.key = "storage",
     CFGMAP_F_OBJECT(struct config_profile, storage, &storage_table),
     .help = "local storage"},
    {.key = "sync",
     CFGMAP_F_OBJECT(struct config_profile, sync, &sync_table),
     .help = "uploads to the collector"},
    {.key = "clock",
     CFGMAP_F_OBJECT(struct config_profile, clock, &clock_table),
     .help = "clock checks"},
    {.key = "heartbeat",
     CFGMAP_F_OBJECT(struct config_profile, heartbeat, &heartbeat_table),
     .help = "liveness events"},
    {.key = "cameras",
     CFGMAP_F_ARRAY(struct config_profile, cameras, n_cameras, &camera_table),
     .help = "cameras whose recordings the kiosk accounts for"},
    {.key = NULL},
};
const struct cfgmap_table config_profile_table = {profile_entries, sizeof(struct config_profile)};

/* ---- agent config ------------------------------------------------------------------------- */

static const struct cfgmap_entry agent_entries[] = {
    {.key = "device_id",
     CFGMAP_F_STRING(struct config_agent, device_id),
     .required = true,
     .check = cfgmap_check_id,
     .help = "this kiosk's id, unique across the deployment"},
    {.key = "institution",
     CFGMAP_F_STRING(struct config_agent, institution),
     .required = true,
     .check = cfgmap_check_id,
     .help = "id of the training institution that runs the kiosk"},
    {.key = "server",
     CFGMAP_F_STRING(struct config_agent, server),
     .required = true,
     .check = check_url,
     .help = "base URL of the collector (https://; http:// only with allow_plain_http)"},
    {.key = "ca_file",
     CFGMAP_F_STRING(struct config_agent, ca_file),
     .help = "PEM CA bundle for the server's certificate; unset: the system's CA store"},
    {.key = "pin_sha256",
     CFGMAP_F_STRING(struct config_agent, pin_sha256),
     .check = cfgmap_check_hex64,
     .help = "hex SHA-256 of the server's public key (DER SubjectPublicKeyInfo); unset: no pin"},
    {.key = "allow_plain_http",
     CFGMAP_F_BOOL(struct config_agent, allow_plain_http),
     .help = "allow an http:// server URL (tests, or TLS terminated on the same host)"},
    {.key = "data_dir",
     CFGMAP_F_STRING(struct config_agent, data_dir),
     .sdef = "/var/lib/rollcall",
     .help = "directory of the agent's state (DATA_DIR below)"},
    {.key = "db",
     CFGMAP_F_STRING(struct config_agent, db),
     .doc_default = "DATA_DIR/outbox.db",
     .help = "the SQLite outbox"},
    {.key = "key_file",
     CFGMAP_F_STRING(struct config_agent, key_file),
     .doc_default = "DATA_DIR/device.key",
     .help = "the device's ECDSA P-256 private key (PEM, mode 0600)"},
    {.key = "fence_file",
     CFGMAP_F_STRING(struct config_agent, fence_file),
     .doc_default = "DATA_DIR/fence.geojson",
     .help = "the venue's fence (GeoJSON), copied at init"},
    {.key = "fence_id",
     CFGMAP_F_STRING(struct config_agent, fence_id),
     .required = true,
     .check = cfgmap_check_id,
     .help = "id of the venue's fence in fence_file"},
    {.key = "institution_key_file",
     CFGMAP_F_STRING(struct config_agent, institution_key_file),
     .doc_default = "unset until enroll",
     .help = "the institution's pseudonym key, stored by enroll or given at init"},
    {.key = "token_file",
     CFGMAP_F_STRING(struct config_agent, token_file),
     .doc_default = "unset until enroll",
     .help = "the device token the collector issued at enrolment (mode 0600), sent with "
             "every upload"},
    {.key = "control_socket",
     CFGMAP_F_STRING(struct config_agent, control_socket),
     .doc_default = "DATA_DIR/control.sock",
     .help = "Unix socket of the running daemon"},
    {.key = "control_group",
     CFGMAP_F_STRING(struct config_agent, control_group),
     .check = cfgmap_check_id,
     .help = "group allowed to use the control socket; unset: the agent's own group"},
    {.key = "log_level",
     CFGMAP_F_ENUM(struct config_agent, log_level, log_levels),
     .idef = LOG_LVL_INFO,
     .help = "most verbose log level written (--log-level overrides)"},
    {.key = "profile",
     CFGMAP_F_OBJECT(struct config_agent, profile, &config_profile_table),
     .required = true,
     .help = "the firmware profile, copied from its file at init"},
    {.key = NULL},
};
const struct cfgmap_table config_agent_table = {agent_entries, sizeof(struct config_agent)};

/* ---- cross-field rules -------------------------------------------------------------------- */

int config_profile_check(const struct config_profile *p, const char *origin, const char *root,
                         char *err)
{
    if (p->gnss.source == CONFIG_GNSS_NONE && !p->has_surveyed)
        return rc_fail(err, RC_INVAL,
                       "%s: %s.surveyed: required when gnss.source is \"none\" (without it "
                       "every sign-in is no_fix)",
                       origin, root);
    if (p->sync.backoff_base_ms > p->sync.backoff_cap_ms)
        return rc_fail(err, RC_INVAL,
                       "%s: %s.sync.backoff_base_ms: must not exceed sync.backoff_cap_ms", origin,
                       root);
    for (size_t i = 0; i < p->n_cameras; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->cameras[i].id, p->cameras[j].id) == 0)
                return rc_fail(err, RC_INVAL, "%s: %s.cameras[%zu].id: duplicate camera id", origin,
                               root, i);
        }
    }
    return RC_OK;
}

int config_agent_check(const struct config_agent *c, const char *origin, char *err)
{
    if (strncmp(c->server, "http://", 7) == 0 && !c->allow_plain_http)
        return rc_fail(err, RC_INVAL,
                       "%s: $.server: an http:// URL needs allow_plain_http (use https://)",
                       origin);
    return config_profile_check(&c->profile, origin, "$.profile", err);
}

/* ---- loading ------------------------------------------------------------------------------ */

int config_profile_load(const char *path, struct config_profile *out, char *err)
{
    struct config_profile *p = malloc(sizeof *p);
    if (!p)
        return rc_fail(err, RC_NOMEM, "%s: out of memory", path);
    int rc = cfgmap_load_file(&config_profile_table, path, p, err);
    if (rc == RC_OK)
        rc = config_profile_check(p, path, "$", err);
    if (rc == RC_OK)
        memcpy(out, p, sizeof *p);
    free(p);
    return rc;
}

/* Makes *field absolute: a relative value is taken against base; an unset one becomes
 * data_dir/name (when name is given). */
static int resolve(const char *origin, const char *key, char *field, size_t size, const char *base,
                   const char *data_dir, const char *name, char *err)
{
    char out[PATH_MAX];
    int n;
    if (field[0] == '\0') {
        if (!name)
            return RC_OK;
        n = snprintf(out, sizeof out, "%s/%s", data_dir, name);
    } else if (field[0] == '/') {
        return RC_OK;
    } else {
        n = snprintf(out, sizeof out, "%s/%s", base, field);
    }
    if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof out)
        return rc_fail(err, RC_INVAL, "%s: $.%s: longer than %zu bytes once resolved", origin, key,
                       size - 1);
    memcpy(field, out, (size_t)n + 1);
    return RC_OK;
}

static int resolve_paths(struct config_agent *c, const char *path, char *err)
{
    int rc = RC_OK;
    char *dir = strdup(path);
    char *base = NULL;
    if (!dir)
        return rc_fail(err, RC_NOMEM, "%s: out of memory", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, strlen(dir) + 1, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    base = realpath(dir, NULL);
    if (!base) {
        rc = rc_fail(err, RC_IO, "%s: cannot resolve its directory: %s", path, strerror(errno));
        goto out;
    }
    if (strcmp(base, "/") == 0)
        base[0] = '\0'; /* "/" + "/" + name would double the slash */
    const char *o = path;
    if ((rc = resolve(o, "data_dir", c->data_dir, sizeof c->data_dir, base, NULL, NULL, err)))
        goto out;
    const char *dd = c->data_dir;
    if ((rc = resolve(o, "db", c->db, sizeof c->db, base, dd, "outbox.db", err)) ||
        (rc = resolve(o, "key_file", c->key_file, sizeof c->key_file, base, dd, "device.key",
                      err)) ||
        (rc = resolve(o, "fence_file", c->fence_file, sizeof c->fence_file, base, dd,
                      "fence.geojson", err)) ||
        (rc = resolve(o, "control_socket", c->control_socket, sizeof c->control_socket, base, dd,
                      "control.sock", err)) ||
        (rc = resolve(o, "ca_file", c->ca_file, sizeof c->ca_file, base, dd, NULL, err)) ||
        (rc = resolve(o, "institution_key_file", c->institution_key_file,
                      sizeof c->institution_key_file, base, dd, NULL, err)) ||
        (rc = resolve(o, "token_file", c->token_file, sizeof c->token_file, base, dd, NULL, err)))
        goto out;
out:
    free(base);
    free(dir);
    return rc;
}

int config_load(const char *path, struct config_agent *out, char *err)
{
    struct config_agent *c = malloc(sizeof *c);
    if (!c)
        return rc_fail(err, RC_NOMEM, "%s: out of memory", path);
    int rc = cfgmap_load_file(&config_agent_table, path, c, err);
    if (rc == RC_OK)
        rc = resolve_paths(c, path, err);
    if (rc == RC_OK)
        rc = config_agent_check(c, path, err);
    if (rc == RC_OK)
        memcpy(out, c, sizeof *c);
    free(c);
    return rc;
}

/* ---- saving ------------------------------------------------------------------------------- */

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int config_save(const char *path, const struct config_agent *cfg, char *err)
{
    int rc = RC_OK;
    cJSON *json = NULL;
    char *text = NULL;
    char *dir = NULL;
    char tmp[PATH_MAX];
    bool tmp_made = false;
    int fd = -1, dfd = -1;

    if ((rc = cfgmap_to_json(&config_agent_table, cfg, &json, err)) ||
        (rc = config_agent_check(cfg, "struct", err)))
        goto out;
    text = cJSON_Print(json);
    dir = strdup(path);
    if (!text || !dir) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", path);
        goto out;
    }
    char *slash = strrchr(dir, '/');
    const char *name = path;
    if (!slash) {
        snprintf(dir, strlen(dir) + 1, ".");
    } else {
        name = path + (slash - dir) + 1;
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name);
    if (n < 0 || (size_t)n >= sizeof tmp || *name == '\0') {
        rc = rc_fail(err, RC_INVAL, "%s: not a usable file name", path);
        goto out;
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = rc_fail(err, RC_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
        goto out;
    }
    tmp_made = true;
    size_t len = strlen(text);
    if (fchmod(fd, 0640) != 0 || write_all(fd, text, len) != 0 || write_all(fd, "\n", 1) != 0 ||
        fsync(fd) != 0) {
        rc = rc_fail(err, RC_IO, "%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    int cr = close(fd);
    fd = -1;
    if (cr != 0) {
        rc = rc_fail(err, RC_IO, "%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = rc_fail(err, RC_IO, "%s: cannot replace: %s", path, strerror(errno));
        goto out;
    }
    tmp_made = false;
    /* The rename is durable only once the directory entry is on disk. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        rc = rc_fail(err, RC_IO, "%s: cannot sync its directory: %s", path, strerror(errno));
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp_made)
        unlink(tmp);
    free(dir);
    cJSON_free(text);
    cJSON_Delete(json);
    return rc;
}

int config_profile_doc(char **out, char *err)
{
    return cfgmap_doc(&config_profile_table, out, err);
}

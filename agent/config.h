/* config: the kiosk's firmware profile (one JSON file per hardware model, firmware-profiles/)
 * and the agent configuration that `init` writes (/etc/rollcall/agent.json), both described
 * by cfgmap tables, which are also the source of firmware-profiles/README.md's key reference.
 *
 * Invariants of a loaded struct:
 * - every value passed the table's type and bounds; cross-field rules hold (gnss.source
 *   "none" has a surveyed position, backoff_base_ms <= backoff_cap_ms, camera ids unique,
 *   a plain-http server only with allow_plain_http);
 * - every path of the agent config is absolute: relative ones were resolved against the
 *   config file's directory, and the data files default to DATA_DIR/<name>;
 * - the surveyed position is kept as declared (lat, lon, datum): saving writes back what
 *   the operator wrote.
 * The agent config embeds a copy of the profile (taken at init), so a kiosk keeps working
 * when the profile file changes. */
#ifndef ROLLCALL_AGENT_CONFIG_H
#define ROLLCALL_AGENT_CONFIG_H

#include "cfgmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CONFIG_ID_LEN = 64,      /* device, institution, camera, fence ids (with NUL) */
    CONFIG_TEXT_LEN = 256,   /* host names */
    CONFIG_DESC_LEN = 512,   /* a profile description */
    CONFIG_PATH_LEN = 512,   /* file and directory paths */
    CONFIG_URL_LEN = 512,    /* the server URL */
    CONFIG_SOCKET_LEN = 108, /* sockaddr_un.sun_path */
    CONFIG_MAX_CAMERAS = 16, /* cameras one kiosk accounts for */
    CONFIG_SUFFIX_LEN = 16,  /* recording file suffix (with NUL) */
    CONFIG_PIN_LEN = 64 + 1, /* hex SHA-256 with NUL */
};

enum config_gnss_source { CONFIG_GNSS_GPSD = 0, CONFIG_GNSS_NONE = 1 };

struct config_gnss {
    int source; /* enum config_gnss_source */
    char gpsd_host[CONFIG_TEXT_LEN];
    int64_t gpsd_port;
    char device[CONFIG_PATH_LEN]; /* documentation for gpsd's DEVICES; "" when unstated */
    int64_t speed_bps;            /* the receiver's serial speed; 0 = gpsd autobauds */
    int64_t fix_timeout_s;
    int64_t stale_after_s;
    double assumed_eph_m;
    int64_t no_fix_alert_s;
    int64_t frozen_after_s;
    double max_speed_mps;
    int64_t max_time_skew_s;
};

struct config_surveyed {
    double lat; /* degrees, in datum */
    double lon;
    int datum; /* enum datum (core/datum.h) */
    double eph_m;
};

struct config_storage {
    int64_t max_db_mb;
};

struct config_sync {
    int64_t interval_s;
    int64_t batch_max_events;
    int64_t batch_max_bytes;
    int64_t backoff_base_ms;
    int64_t backoff_cap_ms;
    int64_t timeout_s;
    int64_t inflight;
};

struct config_clock {
    int64_t max_skew_s;
};

struct config_heartbeat {
    int64_t interval_s;
};

struct config_camera {
    char id[CONFIG_ID_LEN];
    char dir[CONFIG_PATH_LEN];
    char suffix[CONFIG_SUFFIX_LEN];
    int64_t settle_s;
};

struct config_profile {
    char model[CONFIG_ID_LEN];
    char description[CONFIG_DESC_LEN];
    struct config_gnss gnss;
    bool has_surveyed;
    struct config_surveyed surveyed;
    struct config_storage storage;
    struct config_sync sync;
    struct config_clock clock;
    struct config_heartbeat heartbeat;
    size_t n_cameras;
    struct config_camera cameras[CONFIG_MAX_CAMERAS];
};

struct config_agent {
    char device_id[CONFIG_ID_LEN];
    char institution[CONFIG_ID_LEN];
    char server[CONFIG_URL_LEN];
    char ca_file[CONFIG_PATH_LEN];   /* "" = the system's CA store */
    char pin_sha256[CONFIG_PIN_LEN]; /* "" = no pin */
    bool allow_plain_http;
    char data_dir[CONFIG_PATH_LEN];
    char db[CONFIG_PATH_LEN];
    char key_file[CONFIG_PATH_LEN];
    char fence_file[CONFIG_PATH_LEN];
    char fence_id[CONFIG_ID_LEN];
    char institution_key_file[CONFIG_PATH_LEN]; /* "" until enroll */
    char token_file[CONFIG_PATH_LEN];           /* the device token; "" until enroll */
    char control_socket[CONFIG_SOCKET_LEN];
    char control_group[CONFIG_ID_LEN]; /* "" = the agent's own group */
    int log_level;                     /* enum log_level (log.h) */
    struct config_profile profile;
};

/* The tables (static data): a firmware profile file, and the agent config file. */
extern const struct cfgmap_table config_profile_table;
extern const struct cfgmap_table config_agent_table;

/* Loads and checks a firmware profile file into *out. Returns 0 or an rc with a one-line
 * "FILE: $.path: reason" in err; *out is unchanged on failure. */
int config_profile_load(const char *path, struct config_profile *out, char *err);

/* Loads and checks the agent config file into *out, resolving relative paths against the
 * file's directory and filling the DATA_DIR defaults. Returns 0 or an rc with err as above;
 * *out is unchanged on failure. */
int config_load(const char *path, struct config_agent *out, char *err);

/* Checks a profile's cross-field rules (origin and root name it in err). Returns 0 or
 * RC_INVAL. */
int config_profile_check(const struct config_profile *p, const char *origin, const char *root,
                         char *err);

/* Checks an agent config's cross-field rules, including its profile. Returns 0 or RC_INVAL. */
int config_agent_check(const struct config_agent *c, const char *origin, char *err);

/* Writes cfg to path atomically: a temporary file in the same directory, fsync, rename over
 * path, fsync of the directory; mode 0640. The config is checked first and nothing is
 * written if it fails. No temporary file is left behind on any failure. Returns 0, RC_INVAL,
 * RC_NOMEM or RC_IO. */
int config_save(const char *path, const struct config_agent *cfg, char *err);

/* The firmware-profile key reference (markdown table) as a heap string the caller frees.
 * Returns 0 or an rc from cfgmap_doc. */
int config_profile_doc(char **out, char *err);

#endif

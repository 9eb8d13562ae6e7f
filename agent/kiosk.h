/* The kiosk's runtime: the loaded agent configuration and what is opened from it (outbox,
 * venue fence, device key, institution pseudonym key, random generator). Commands open it;
 * the modules they call take only the part they need: an event stamp (struct kiosk_stamp,
 * below), the recording settings (record.h, struct record_env), the status settings (status.h,
 * struct status_env), the cameras (daemon/recwatch.h). A kiosk handle is used by one thread at
 * a time. */
#ifndef ROLLCALL_AGENT_KIOSK_H
#define ROLLCALL_AGENT_KIOSK_H

#include "config.h"
#include "crypto.h"
#include "event.h"
#include "fence.h"
#include "gnss.h"
#include "outbox.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    KIOSK_INST_KEY_LEN = 32, /* the institution's pseudonym key: 32 bytes, stored as hex */
};

/* What kiosk_open opens besides the configuration. */
enum kiosk_part {
    KIOSK_OUTBOX = 1 << 0,   /* the outbox database */
    KIOSK_FENCE = 1 << 1,    /* the venue fence */
    KIOSK_KEY = 1 << 2,      /* the device's signing key */
    KIOSK_INST_KEY = 1 << 3, /* the institution's pseudonym key (after enroll) */
};

struct kiosk {
    struct config_agent cfg;
    char config_path[CONFIG_PATH_LEN];
    outbox *ob;                /* KIOSK_OUTBOX */
    fence_set *fences;         /* KIOSK_FENCE */
    const struct fence *venue; /* the fence with cfg.fence_id, inside fences */
    crypto_key *key;           /* KIOSK_KEY */
    crypto_rng *rng;           /* always */
    bool has_inst_key;         /* KIOSK_INST_KEY */
    uint8_t inst_key[KIOSK_INST_KEY_LEN];
    char boot_id[EVENT_UUID_LEN + 1];  /* this boot's id (Linux boot_id) */
    char gpsd_port[GNSS_PORT_LEN];     /* the profile's gpsd port as text */
    double surveyed_lat, surveyed_lon; /* the profile's surveyed position in WGS-84 */
    /* The stored schedule, parsed once per version (signin.c): a long-lived daemon signs in
     * many trainees against the same one. NULL until a sign-in needs it. */
    struct schedule *schedule;
    char schedule_version[OUTBOX_SCHEDULE_VERSION_MAX + 1];
};

/* Loads the config at config_path and opens the parts asked for. Returns 0 and *out (free
 * with kiosk_close) or an rc with a one-line err naming the file at fault. */
int kiosk_open(const char *config_path, unsigned parts, struct kiosk **out, char *err);
/* Closes everything; NULL is ignored. Key material is wiped. */
void kiosk_close(struct kiosk *k);

/* What every event needs from the kiosk, and no more: the device id, this boot's id and the
 * generator of event ids (pointers into the kiosk: valid while it is open). Modules that
 * record events take this rather than the whole struct kiosk. */
struct kiosk_stamp {
    const char *device;
    const char *boot_id;
    crypto_rng *rng;
};

/* k's stamp. */
struct kiosk_stamp kiosk_stamp_of(struct kiosk *k);

/* Starts an event of the given type: a fresh UUIDv7 id, the device, the UTC time, the boot id
 * and the boot-relative clock. seq and prev are left for outbox_append. */
int kiosk_stamp_event(const struct kiosk_stamp *s, struct event *ev, enum event_type type,
                      char *err);
/* The same with k's stamp. */
int kiosk_event_init(struct kiosk *k, struct event *ev, enum event_type type, char *err);

/* Checks an id (class, session, camera) against the event format's name rule
 * ([A-Za-z0-9._-]{1,64}); `what` names it in err. 0 or RC_INVAL. */
int kiosk_check_name(const char *what, const char *s, char *err);

/* Writes fix (usable, source gnss or surveyed) into ev's "fix" object, exactly as the event
 * will carry it, and sets its presence bit. Returns 0 or RC_INVAL (position not a number). */
int kiosk_event_fix(struct event *ev, const struct gnss_fix *fix, char *err);

/* Reads a 32-byte key stored as 64 hex digits (one line) from path, refusing files readable by
 * group or other. Returns 0, RC_NOTFOUND, RC_AUTH or RC_INVAL. */
int kiosk_read_inst_key(const char *path, uint8_t key[KIOSK_INST_KEY_LEN], char *err);
/* Writes such a key file (mode 0600, atomically: temporary file, fsync, rename). */
int kiosk_write_inst_key(const char *path, const uint8_t key[KIOSK_INST_KEY_LEN], char *err);

/* The GNSS watcher settings of the kiosk's profile (strings point into k->cfg). */
void kiosk_gnss_config(const struct kiosk *k, struct gnss_config *out);

/* Fills out with the Linux boot id (lower-case UUID), or a fixed all-zero UUID when the
 * kernel does not provide one. */
void kiosk_boot_id(char out[EVENT_UUID_LEN + 1]);

#endif

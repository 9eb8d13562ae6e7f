#include "kiosk.h"

#include "datum.h"
#include "file.h"
#include "rc.h"
#include "schedule.h"
#include "timeutil.h"
#include "uuid.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { KEY_FILE_MAX = 256 };

void kiosk_boot_id(char out[EVENT_UUID_LEN + 1])
{
    snprintf(out, EVENT_UUID_LEN + 1, "00000000-0000-0000-0000-000000000000");
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return;
    char buf[64] = "";
    if (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        if (uuid_is_valid(buf)) {
            for (char *p = buf; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                    *p = (char)(*p - 'A' + 'a');
            snprintf(out, EVENT_UUID_LEN + 1, "%.36s", buf);
        }
    }
    fclose(f);
}

int kiosk_read_inst_key(const char *path, uint8_t key[KIOSK_INST_KEY_LEN], char *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = file_read_private(path, KEY_FILE_MAX, &buf, &len, err);
    if (rc != RC_OK)
        return rc;
    buf[strcspn(buf, "\r\n")] = '\0';
    if (crypto_unhex(buf, key, KIOSK_INST_KEY_LEN) != RC_OK)
        rc = rc_fail(err, RC_INVAL, "%s: expected %d hex digits on one line", path,
                     2 * KIOSK_INST_KEY_LEN);
    explicit_bzero(buf, len);
    free(buf);
    return rc;
}

int kiosk_write_inst_key(const char *path, const uint8_t key[KIOSK_INST_KEY_LEN], char *err)
{
    char tmp[CONFIG_PATH_LEN + 16];
    char hex[2 * KIOSK_INST_KEY_LEN + 2];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return rc_fail(err, RC_INVAL, "%s: path too long", path);
    crypto_hex(key, KIOSK_INST_KEY_LEN, hex);
    hex[2 * KIOSK_INST_KEY_LEN] = '\n';
    hex[2 * KIOSK_INST_KEY_LEN + 1] = '\0';
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return rc_fail(err, RC_IO, "%s: %s", tmp, strerror(errno));
    size_t len = strlen(hex);
    int ok = write(fd, hex, len) == (ssize_t)len && fsync(fd) == 0;
    ok = (close(fd) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return rc_fail(err, RC_IO, "%s: %s", path, strerror(e));
    }
    return RC_OK;
}

void kiosk_close(struct kiosk *k)
{
    if (!k)
        return;
    outbox_close(k->ob);
    schedule_free(k->schedule);
    fence_set_free(k->fences);
    crypto_key_destroy(k->key);
    crypto_rng_destroy(k->rng);
    memset(k->inst_key, 0, sizeof k->inst_key);
    free(k);
}

int kiosk_open(const char *config_path, unsigned parts, struct kiosk **out, char *err)
{
    int rc;
    *out = NULL;
    struct kiosk *k = calloc(1, sizeof *k);
    if (!k)
        return rc_fail(err, RC_NOMEM, "out of memory");
    snprintf(k->config_path, sizeof k->config_path, "%s", config_path);
    if ((rc = config_load(config_path, &k->cfg, err)) != RC_OK)
        goto fail;
    if ((rc = crypto_rng_create(&k->rng, err)) != RC_OK)
        goto fail;
    kiosk_boot_id(k->boot_id);
    snprintf(k->gpsd_port, sizeof k->gpsd_port, "%lld", (long long)k->cfg.profile.gnss.gpsd_port);
    if (k->cfg.profile.has_surveyed) {
        /* The profile keeps the position as the operator drew it; GNSS speaks WGS-84. */
        const struct config_surveyed *sv = &k->cfg.profile.surveyed;
        if ((rc = datum_convert((enum datum)sv->datum, DATUM_WGS84, sv->lat, sv->lon,
                                &k->surveyed_lat, &k->surveyed_lon, err)) != RC_OK)
            goto fail;
    }
    if (parts & KIOSK_OUTBOX) {
        struct outbox_options opt = {.max_bytes = k->cfg.profile.storage.max_db_mb * 1024 * 1024};
        if ((rc = outbox_open(k->cfg.db, &opt, &k->ob, err)) != RC_OK)
            goto fail;
    }
    if (parts & KIOSK_FENCE) {
        if ((rc = fence_set_load(k->cfg.fence_file, &k->fences, err)) != RC_OK)
            goto fail;
        k->venue = fence_set_find(k->fences, k->cfg.fence_id);
        if (!k->venue) {
            rc = rc_fail(err, RC_NOTFOUND, "%s: no fence with id '%s'", k->cfg.fence_file,
                         k->cfg.fence_id);
            goto fail;
        }
    }
    if (parts & KIOSK_KEY) {
        if ((rc = crypto_key_load(k->cfg.key_file, &k->key, err)) != RC_OK)
            goto fail;
    }
    if (parts & KIOSK_INST_KEY) {
        if (!k->cfg.institution_key_file[0]) {
            rc = rc_fail(err, RC_STATE,
                         "this kiosk has no institution key yet: run `rollcall-agent enroll` "
                         "(or init with --institution-key FILE)");
            goto fail;
        }
        if ((rc = kiosk_read_inst_key(k->cfg.institution_key_file, k->inst_key, err)) != RC_OK)
            goto fail;
        k->has_inst_key = true;
    }
    *out = k;
    return RC_OK;
fail:
    kiosk_close(k);
    return rc;
}

struct kiosk_stamp kiosk_stamp_of(struct kiosk *k)
{
    return (struct kiosk_stamp){.device = k->cfg.device_id, .boot_id = k->boot_id, .rng = k->rng};
}

int kiosk_event_init(struct kiosk *k, struct event *ev, enum event_type type, char *err)
{
    struct kiosk_stamp s = kiosk_stamp_of(k);
    return kiosk_stamp_event(&s, ev, type, err);
}

int kiosk_stamp_event(const struct kiosk_stamp *s, struct event *ev, enum event_type type,
                      char *err)
{
    memset(ev, 0, sizeof *ev);
    int64_t now = ts_now_ms();
    if (now < 0)
        return rc_fail(err, RC_STATE, "the system clock is before 1970");
    int rc = uuid_v7(s->rng, (uint64_t)now, ev->id, err);
    if (rc != RC_OK)
        return rc;
    snprintf(ev->device, sizeof ev->device, "%s", s->device);
    snprintf(ev->boot, sizeof ev->boot, "%s", s->boot_id);
    ev->type = type;
    ev->ts_ms = now;
    ev->mono_ms = ts_mono_ms();
    return RC_OK;
}

/* Ids of classes and sessions follow the event format's name rule. */
int kiosk_check_name(const char *what, const char *s, char *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > EVENT_NAME_MAX)
        return rc_fail(err, RC_INVAL, "%s must be 1 to %d characters", what, EVENT_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return rc_fail(err, RC_INVAL, "%s may only hold letters, digits, '.', '_' and '-'",
                           what);
    }
    return RC_OK;
}

int kiosk_event_fix(struct event *ev, const struct gnss_fix *fix, char *err)
{
    struct event_fix *f = &ev->fix;
    if (event_decimal(fix->lat, 8, &f->lat_e8) != RC_OK ||
        event_decimal(fix->lon, 8, &f->lon_e8) != RC_OK)
        return rc_fail(err, RC_INVAL, "the fix's position is not a number");
    if (isfinite(fix->eph) && fix->eph >= 0) {
        f->has_eph = event_decimal(fix->eph, 2, &f->eph_cm) == RC_OK;
    }
    f->mode = fix->mode > EVENT_MODE_MAX ? EVENT_MODE_MAX : fix->mode;
    if (fix->sats >= 0) {
        f->has_sats = true;
        f->sats = fix->sats > EVENT_SATS_MAX ? EVENT_SATS_MAX : fix->sats;
    }
    if (fix->time_ms > 0) {
        f->has_time = true;
        f->time_ms = fix->time_ms;
    }
    f->source = fix->source == GNSS_SRC_SURVEYED ? EVENT_SOURCE_SURVEYED : EVENT_SOURCE_GNSS;
    ev->has |= EVENT_HAS(EVENT_F_FIX);
    return RC_OK;
}

void kiosk_gnss_config(const struct kiosk *k, struct gnss_config *out)
{
    const struct config_profile *p = &k->cfg.profile;
    memset(out, 0, sizeof *out);
    out->host = p->gnss.gpsd_host;
    out->port = k->gpsd_port;
    out->stale_after_ms = p->gnss.stale_after_s * 1000;
    out->assumed_eph_m = p->gnss.assumed_eph_m;
    if (p->has_surveyed) {
        out->surveyed.set = true;
        out->surveyed.lat = k->surveyed_lat;
        out->surveyed.lon = k->surveyed_lon;
        out->surveyed.eph_m = p->surveyed.eph_m;
    }
    out->q.no_fix_alert_ms = p->gnss.no_fix_alert_s * 1000;
    out->q.frozen_after_ms = p->gnss.frozen_after_s * 1000;
    out->q.max_speed_mps = p->gnss.max_speed_mps;
    out->q.max_time_skew_ms = p->gnss.max_time_skew_s * 1000;
}

#include "status.h"

#include "rc.h"
#include "schedule.h"
#include "timeutil.h"
#include "version.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *status_gnss_state_name(enum gnss_state s)
{
    switch (s) {
    case GNSS_STATE_STALE: return "stale";
    case GNSS_STATE_FRESH: return "fresh";
    case GNSS_STATE_SURVEYED: return "surveyed";
    case GNSS_STATE_NONE: break;
    }
    return "none";
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char when[TS_UTC_LEN + 1];
    if (ms > 0 && ts_format_utc(ms, when) == RC_OK)
        cJSON_AddStringToObject(o, key, when);
    else
        cJSON_AddNullToObject(o, key);
}

/* The schedule in force: its version, when it arrived, when the collector last confirmed it
 * and how long ago that was (age_s), how many classes it has; version null when the kiosk
 * never received one (sign-ins are then not checked against a roster). */
static cJSON *schedule_json(outbox *ob)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    struct schedule *s = NULL;
    struct outbox_schedule_meta m;
    char err[ERR_LEN];
    int rc = schedule_load(ob, &s, &m, err);
    if (rc != RC_OK) {
        cJSON_AddNullToObject(o, "version");
        cJSON_AddNullToObject(o, "fetched");
        cJSON_AddNullToObject(o, "checked");
        cJSON_AddNullToObject(o, "age_s");
        cJSON_AddNullToObject(o, "classes");
        if (rc != RC_NOTFOUND)
            cJSON_AddStringToObject(o, "error", err);
        return o;
    }
    cJSON_AddStringToObject(o, "version", m.version);
    add_time(o, "fetched", m.fetched_ms);
    add_time(o, "checked", m.checked_ms);
    int64_t age = ts_now_ms() - m.checked_ms;
    cJSON_AddNumberToObject(o, "age_s", (double)((age > 0 ? age : 0) / 1000));
    cJSON_AddNumberToObject(o, "classes", (double)s->n_classes);
    schedule_free(s);
    return o;
}

static cJSON *fix_json(const struct gnss_fix *f)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "lat", f->lat);
    cJSON_AddNumberToObject(o, "lon", f->lon);
    if (isfinite(f->eph))
        cJSON_AddNumberToObject(o, "eph", f->eph);
    else
        cJSON_AddNullToObject(o, "eph");
    cJSON_AddNumberToObject(o, "mode", f->mode);
    if (f->sats >= 0)
        cJSON_AddNumberToObject(o, "sats", f->sats);
    else
        cJSON_AddNullToObject(o, "sats");
    add_time(o, "time", f->time_ms);
    cJSON_AddStringToObject(o, "source", gnss_source_name(f->source));
    return o;
}

static void add_state_ms(outbox *ob, cJSON *o, const char *json_key, const char *state_key,
                         bool as_time)
{
    char v[OUTBOX_STATE_VALUE_MAX + 1];
    char *end = NULL;
    if (outbox_state_get(ob, state_key, v, sizeof v, NULL) == RC_OK) {
        long long ms = strtoll(v, &end, 10);
        if (end != v && *end == '\0') {
            if (as_time)
                add_time(o, json_key, ms);
            else
                cJSON_AddNumberToObject(o, json_key, (double)ms);
            return;
        }
    }
    cJSON_AddNullToObject(o, json_key);
}

static cJSON *gnss_json(const struct status_env *e, bool in_daemon, const gnss_watcher *gw,
                        cJSON **skew_out)
{
    cJSON *g = cJSON_CreateObject();
    if (!g)
        return NULL;
    *skew_out = NULL;
    cJSON_AddStringToObject(g, "source", e->gpsd ? "gpsd" : "none");
    if (!in_daemon) {
        cJSON_AddStringToObject(g, "state", "not_running");
        return g;
    }
    struct gnss_fix fix;
    enum gnss_state state;
    int64_t now = gnss_mono_ms();
    if (gw) {
        state = gnss_current(gw, now, &fix);
        struct gnss_status st;
        gnss_get_status(gw, &st);
        cJSON_AddBoolToObject(g, "connected", st.connected);
        cJSON_AddNumberToObject(g, "connects", (double)st.connects);
        cJSON_AddNumberToObject(g, "fixes", (double)st.fixes);
        if (st.last_error[0])
            cJSON_AddStringToObject(g, "last_error", st.last_error);
    } else {
        state = gnss_select(NULL, true, now, e->gnss.stale_after_ms, &e->gnss.surveyed,
                            gnss_real_ms(), &fix);
    }
    cJSON_AddStringToObject(g, "state", status_gnss_state_name(state));
    if (state == GNSS_STATE_NONE) {
        cJSON_AddNullToObject(g, "fix");
    } else {
        cJSON_AddItemToObject(g, "fix", fix_json(&fix));
        cJSON_AddNumberToObject(g, "fix_age_s", (double)(now - fix.rx_mono_ms) / 1000.0);
        if (fix.source == GNSS_SRC_GNSS && fix.time_ms > 0)
            *skew_out = cJSON_CreateNumber((double)(fix.time_ms - fix.rx_real_ms));
    }
    return g;
}

struct status_env status_env_of(struct kiosk *k)
{
    struct status_env e = {.ob = k->ob,
                           .device = k->cfg.device_id,
                           .gpsd = k->cfg.profile.gnss.source == CONFIG_GNSS_GPSD};
    kiosk_gnss_config(k, &e.gnss);
    return e;
}

int status_build(const struct status_env *e, bool in_daemon, const gnss_watcher *gw,
                 int64_t uptime_ms, cJSON **out, char *err)
{
    struct outbox_stats s;
    int rc = outbox_stats(e->ob, &s, err);
    if (rc != RC_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON *chain = cJSON_CreateObject();
    cJSON *storage = cJSON_CreateObject();
    cJSON *skew = NULL;
    cJSON *g = o ? gnss_json(e, in_daemon, gw, &skew) : NULL;
    if (!o || !chain || !storage || !g) {
        cJSON_Delete(o);
        cJSON_Delete(chain);
        cJSON_Delete(storage);
        cJSON_Delete(g);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    cJSON_AddStringToObject(o, "device", e->device);
    cJSON_AddStringToObject(o, "version", ROLLCALL_VERSION);
    cJSON_AddBoolToObject(o, "daemon", in_daemon);
    if (in_daemon)
        cJSON_AddNumberToObject(o, "uptime_s", (double)(uptime_ms / 1000));
    cJSON_AddNumberToObject(o, "queue", (double)s.queue);
    if (s.queue > 0 && s.oldest_unsent_ts_ms > 0)
        cJSON_AddNumberToObject(o, "oldest_unsent_age_s",
                                (double)((ts_now_ms() - s.oldest_unsent_ts_ms) / 1000));
    else
        cJSON_AddNullToObject(o, "oldest_unsent_age_s");
    add_state_ms(e->ob, o, "last_sync", "sync.last_ok_ms", true);
    char v[OUTBOX_STATE_VALUE_MAX + 1];
    if (outbox_state_get(e->ob, "sync.last_error", v, sizeof v, NULL) == RC_OK)
        cJSON_AddStringToObject(o, "last_sync_error", v);
    else
        cJSON_AddNullToObject(o, "last_sync_error");
    /* A refused upload (401, 403, 413, a chain conflict ...): kept until an upload succeeds. */
    if (outbox_state_get(e->ob, "sync.finding", v, sizeof v, NULL) == RC_OK)
        cJSON_AddStringToObject(o, "sync_finding", v);
    else
        cJSON_AddNullToObject(o, "sync_finding");
    add_state_ms(e->ob, o, "next_sync_retry", "sync.next_retry_ms", true);
    cJSON_AddNumberToObject(chain, "head_seq", (double)s.head_seq);
    cJSON_AddStringToObject(chain, "head_hash", s.head_hash);
    cJSON_AddNumberToObject(chain, "ack_seq", (double)s.ack_seq);
    cJSON_AddNumberToObject(chain, "stored", (double)s.stored);
    cJSON_AddItemToObject(o, "chain", chain);
    cJSON_AddNumberToObject(storage, "used_bytes", (double)s.used_bytes);
    cJSON_AddNumberToObject(storage, "max_bytes", (double)s.max_bytes);
    /* Full: an event was refused for want of space (the cap or the disk) and none has been
     * recorded since, nor has an acknowledgement made room. */
    cJSON_AddBoolToObject(storage, "full", s.full_since_ms > 0);
    add_time(storage, "full_since", s.full_since_ms);
    cJSON_AddNumberToObject(storage, "reserve_bytes", (double)s.reserve_bytes);
    cJSON_AddItemToObject(o, "storage", storage);
    cJSON_AddItemToObject(o, "gnss", g);
    /* GNSS time minus the system clock at the last fix; the server's view comes with sync. */
    if (skew)
        cJSON_AddItemToObject(o, "clock_skew_ms", skew);
    else
        cJSON_AddNullToObject(o, "clock_skew_ms");
    add_state_ms(e->ob, o, "server_clock_skew_ms", "sync.server_skew_ms", false);
    cJSON_AddItemToObject(o, "schedule", schedule_json(e->ob));
    *out = o;
    return RC_OK;
}

static void print_value(const char *key, const cJSON *v)
{
    if (cJSON_IsObject(v)) {
        for (const cJSON *c = v->child; c; c = c->next) {
            char sub[128];
            snprintf(sub, sizeof sub, "%s.%s", key, c->string);
            print_value(sub, c);
        }
        return;
    }
    if (cJSON_IsString(v))
        printf("%-24s %s\n", key, v->valuestring);
    else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
             fabs(v->valuedouble) < 9e15)
        printf("%-24s %.0f\n", key, v->valuedouble);
    else if (cJSON_IsNumber(v))
        printf("%-24s %.8g\n", key, v->valuedouble);
    else if (cJSON_IsBool(v))
        printf("%-24s %s\n", key, cJSON_IsTrue(v) ? "yes" : "no");
    else
        printf("%-24s -\n", key);
}

void status_print_text(const cJSON *st)
{
    const cJSON *storage = cJSON_GetObjectItemCaseSensitive(st, "storage");
    const cJSON *since = cJSON_GetObjectItemCaseSensitive(storage, "full_since");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(storage, "full")))
        printf("存储已满（自 %s 起）：新签到不被记录，采集端确认上传后自动恢复 / storage full "
               "since %s: new sign-ins are not recorded until the collector acknowledges the "
               "upload\n",
               cJSON_IsString(since) ? since->valuestring : "?",
               cJSON_IsString(since) ? since->valuestring : "?");
    const cJSON *sched = cJSON_GetObjectItemCaseSensitive(st, "schedule");
    if (sched && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sched, "version")))
        printf("尚未收到课表：签到不核对花名册 / no schedule received yet: sign-ins are not "
               "checked against a roster\n");
    for (const cJSON *c = st ? st->child : NULL; c; c = c->next)
        print_value(c->string, c);
}

#include "signin.h"

#include "photo.h"

#include "geodesy.h"
#include "rc.h"
#include "rollcall.h"
#include "timeutil.h"
#include "trainee.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum event_verdict to_event_verdict(enum fence_verdict v)
{
    switch (v) {
    case FENCE_INSIDE: return EVENT_INSIDE;
    case FENCE_OUTSIDE: return EVENT_OUTSIDE;
    case FENCE_UNCERTAIN: return EVENT_UNCERTAIN;
    case FENCE_NO_FIX: break;
    }
    return EVENT_NO_FIX;
}

int signin_check_request(const struct signin_request *req, char *err)
{
    char id[TRAINEE_ID_LEN + 1];
    if (req->type != EVENT_SIGNIN && req->type != EVENT_SIGNOUT &&
        req->type != EVENT_ROLLCALL_CONFIRM)
        return rc_fail(err, RC_INVAL, "not a sign-in, sign-out or roll-call confirmation");
    if (req->type == EVENT_ROLLCALL_CONFIRM &&
        (!req->session || !req->session[0] || !req->rollcall || req->override_roster))
        return rc_fail(err, RC_INVAL,
                       "a roll-call confirmation needs its session and roll-call, and takes no "
                       "override");
    int rc = trainee_id_normalise(req->trainee, time(NULL), id, err);
    memset(id, 0, sizeof id);
    if (rc == RC_OK)
        rc = kiosk_check_name("class", req->class_id, err);
    if (rc == RC_OK && req->session && req->session[0])
        rc = kiosk_check_name("session", req->session, err);
    if (rc == RC_OK && req->type == EVENT_ROLLCALL_CONFIRM)
        rc = kiosk_check_name("rollcall", req->rollcall, err);
    return rc;
}

const char *signin_refusal_name(enum signin_refusal r)
{
    switch (r) {
    case SIGNIN_REFUSED_NONE: break;
    case SIGNIN_REFUSED_NO_SESSION: return "no_session";
    case SIGNIN_REFUSED_NOT_ON_ROSTER: return "not_on_roster";
    case SIGNIN_REFUSED_NO_ROLLCALL: return "no_rollcall";
    case SIGNIN_REFUSED_ROLLCALL_CLOSED: return "rollcall_closed";
    }
    return "";
}

/* Checks the request against the kiosk's schedule, when it holds one: RC_OK (also without a
 * schedule, or with one listing no class: such a kiosk accepts as before), or RC_AUTH with
 * res->refusal
 * and a message in Chinese, then English. Fills res->name from the roster. */
/* The kiosk's schedule, parsed again only when its stored version changed: each sign-in reads
 * the version alone. 0 and *out (owned by k), RC_NOTFOUND (none received yet), or an rc. */
int signin_schedule(struct kiosk *k, const struct schedule **out, char *err)
{
    struct outbox_schedule_meta meta;
    int rc = outbox_schedule_get(k->ob, &meta, NULL, NULL, err);
    if (rc != RC_OK)
        return rc;
    if (!k->schedule || strcmp(k->schedule_version, meta.version) != 0) {
        struct schedule *s = NULL;
        if ((rc = schedule_load(k->ob, &s, &meta, err)) != RC_OK)
            return rc;
        schedule_free(k->schedule);
        k->schedule = s;
        snprintf(k->schedule_version, sizeof k->schedule_version, "%s", meta.version);
    }
    *out = k->schedule;
    return RC_OK;
}

static int roster_check(struct kiosk *k, const struct signin_request *req, const char *pseudonym,
                        int64_t now_ms, struct signin_result *res, char *err)
{
    const struct schedule *s = NULL;
    char why[ERR_LEN];
    int rc = signin_schedule(k, &s, why);
    if (rc == RC_NOTFOUND)
        return RC_OK;
    if (rc != RC_OK)
        return rc_fail(err, rc, "the kiosk's schedule is unreadable: %s", why);
    struct schedule_match m;
    /* A confirmation is checked like a sign-in: the trainee of a class running now. */
    enum event_type as = req->type == EVENT_SIGNOUT ? EVENT_SIGNOUT : EVENT_SIGNIN;
    enum schedule_verdict v =
        schedule_check(s, req->class_id, req->session, pseudonym, as, now_ms, &m);
    const char *what = req->type == EVENT_SIGNIN    ? "sign-in"
                       : req->type == EVENT_SIGNOUT ? "sign-out"
                                                    : "confirm a roll-call";
    const char *zh = req->type == EVENT_SIGNIN    ? "签到"
                     : req->type == EVENT_SIGNOUT ? "签退"
                                                  : "应答点名";
    switch (v) {
    case SCHEDULE_OK:
        if (m.trainee) /* NULL when the schedule lists no class: nothing was checked */
            snprintf(res->name, sizeof res->name, "%s", m.trainee->name);
        break;
    case SCHEDULE_NO_SESSION:
        res->refusal = SIGNIN_REFUSED_NO_SESSION;
        rc =
            rc_fail(err, RC_AUTH,
                    "班级 %s 此时在本场地没有课，不能%s / class %s has no session at this venue "
                    "now (%s from %lld min before the start%s)",
                    req->class_id, zh, req->class_id, what, (long long)(s->early_window_ms / 60000),
                    as == EVENT_SIGNIN ? " until the end" : " until the end + grace");
        break;
    case SCHEDULE_NOT_ON_ROSTER:
        res->refusal = SIGNIN_REFUSED_NOT_ON_ROSTER;
        rc = rc_fail(err, RC_AUTH,
                     "不在班级 %s 的花名册中，不能%s，请联系工作人员 / not on the roster of class "
                     "%s: ask the staff",
                     req->class_id, zh, req->class_id);
        break;
    }
    return rc;
}

/* A confirmation's roll-call must be open now: RC_OK, or RC_AUTH with the refusal. */
static int rollcall_check(struct kiosk *k, const struct signin_request *req, int64_t now_ms,
                          struct signin_result *res, char *err)
{
    struct rollcall_open o;
    enum rollcall_status st;
    int rc =
        rollcall_lookup(k->ob, req->class_id, req->session, req->rollcall, now_ms, &o, &st, err);
    if (rc != RC_OK)
        return rc;
    if (st == ROLLCALL_CLOSED) {
        res->refusal = SIGNIN_REFUSED_ROLLCALL_CLOSED;
        return rc_fail(err, RC_AUTH,
                       "点名 %s 已结束，不能再应答 / roll-call %s of session %s has closed", o.id,
                       o.id, req->session);
    }
    if (st != ROLLCALL_IS_OPEN) {
        res->refusal = SIGNIN_REFUSED_NO_ROLLCALL;
        return rc_fail(err, RC_AUTH,
                       "现在没有点名 %s / no roll-call %s is open for class %s session %s",
                       req->rollcall, req->rollcall, req->class_id, req->session);
    }
    return RC_OK;
}

/* The photo of a screen sign-in: a stored photo whose bytes match its hash, or why there is
 * none. Checked before the event is started, so a bad one records nothing. */
static int photo_fields(const struct kiosk *k, const struct signin_request *req, char *err)
{
    bool has_photo = req->photo_sha256 && req->photo_sha256[0];
    bool has_reason = req->no_photo && req->no_photo[0];
    if (has_photo && has_reason)
        return rc_fail(err, RC_INVAL, "photo_sha256 and no_photo: give one, not both");
    if (has_reason && !photo_reason_ok(req->no_photo))
        return rc_fail(err, RC_INVAL, "no_photo must be no_camera, refused or failed");
    if (has_photo) {
        int rc = photo_check(k->cfg.data_dir, req->photo_sha256, err);
        if (rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

int signin_record(struct kiosk *k, const struct signin_request *req, const struct gnss_fix *fix,
                  struct signin_result *res, char *err)
{
    int rc;
    char id[TRAINEE_ID_LEN + 1];
    struct event ev;
    memset(res, 0, sizeof *res);
    if ((rc = signin_check_request(req, err)) != RC_OK)
        return rc;
    if (!k->has_inst_key || !k->venue || !k->ob)
        return rc_fail(err, RC_STATE, "the kiosk is not ready to record sign-ins");
    if ((rc = trainee_id_normalise(req->trainee, time(NULL), id, err)) != RC_OK)
        return rc;
    if ((rc = photo_fields(k, req, err)) != RC_OK)
        goto out;
    if ((rc = kiosk_event_init(k, &ev, req->type, err)) != RC_OK)
        goto out;
    if ((rc = trainee_pseudonym(k->inst_key, sizeof k->inst_key, id, ev.trainee, err)) != RC_OK ||
        (rc = trainee_mask(id, ev.trainee_masked, err)) != RC_OK)
        goto out;
    if (req->override_roster) {
        snprintf(ev.override_check, sizeof ev.override_check, "roster");
        ev.has |= EVENT_HAS(EVENT_F_OVERRIDE);
        res->overridden = true;
    } else if ((rc = roster_check(k, req, ev.trainee, ev.ts_ms, res, err)) != RC_OK) {
        goto out;
    }
    if (req->type == EVENT_ROLLCALL_CONFIRM) {
        if ((rc = rollcall_check(k, req, ev.ts_ms, res, err)) != RC_OK)
            goto out;
        snprintf(ev.rollcall, sizeof ev.rollcall, "%s", req->rollcall);
        ev.has |= EVENT_HAS(EVENT_F_ROLLCALL);
    }
    ev.has |= EVENT_HAS(EVENT_F_TRAINEE) | EVENT_HAS(EVENT_F_TRAINEE_MASKED) |
              EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_FENCE) | EVENT_HAS(EVENT_F_VERDICT);
    snprintf(ev.class_id, sizeof ev.class_id, "%s", req->class_id);
    if (req->session && req->session[0]) {
        snprintf(ev.session, sizeof ev.session, "%s", req->session);
        ev.has |= EVENT_HAS(EVENT_F_SESSION);
    }
    snprintf(ev.fence, sizeof ev.fence, "%s", fence_id(k->venue));
    if (req->photo_sha256 && req->photo_sha256[0]) {
        snprintf(ev.photo_sha256, sizeof ev.photo_sha256, "%s", req->photo_sha256);
        ev.has |= EVENT_HAS(EVENT_F_PHOTO_SHA256);
    } else if (req->no_photo && req->no_photo[0]) {
        snprintf(ev.no_photo, sizeof ev.no_photo, "%s", req->no_photo);
        ev.has |= EVENT_HAS(EVENT_F_NO_PHOTO);
    }

    struct fence_judgement j = {.verdict = FENCE_NO_FIX, .distance_m = NAN, .eph_m = NAN};
    if (fix && gnss_fix_usable(fix) && fix->source != GNSS_SRC_NONE) {
        if ((rc = kiosk_event_fix(&ev, fix, err)) != RC_OK)
            goto out;
        /* Judge the position exactly as it is written in the event, so that the server,
         * re-judging from the event's bytes, sees the same point. */
        struct fence_fix ff = {.has_fix = true,
                               .lat = (double)ev.fix.lat_e8 / 1e8,
                               .lon = (double)ev.fix.lon_e8 / 1e8,
                               .eph = ev.fix.has_eph ? (double)ev.fix.eph_cm / 100.0 : NAN};
        if ((rc = fence_judge(k->venue, &ff, k->cfg.profile.gnss.assumed_eph_m, &j, err)) != RC_OK)
            goto out;
        if ((rc = event_decimal(j.distance_m, 3, &ev.distance_mm)) != RC_OK) {
            /* Far from the fence the distance needs PROJ; core/geodesy keeps why it failed. */
            char why[ERR_LEN];
            if (geodesy_status(why) != RC_OK)
                rc = rc_fail(err, RC_INVAL, "the fence distance is unknown: %s", why);
            else
                rc = rc_fail(err, RC_INVAL, "the fence distance is not a number");
            goto out;
        }
        ev.has |= EVENT_HAS(EVENT_F_DISTANCE_M);
        res->has_fix = true;
        res->fix = *fix;
    }
    ev.verdict = to_event_verdict(j.verdict);
    if ((rc = outbox_append(k->ob, &ev, NULL, NULL, err)) != RC_OK)
        goto out;

    snprintf(res->event_id, sizeof res->event_id, "%s", ev.id);
    res->seq = ev.seq;
    res->type = req->type;
    res->verdict = j.verdict;
    res->distance_m = j.distance_m;
    res->eph_m = j.eph_m;
    snprintf(res->fence, sizeof res->fence, "%s", ev.fence);
    snprintf(res->trainee_masked, sizeof res->trainee_masked, "%s", ev.trainee_masked);
    snprintf(res->session, sizeof res->session, "%s",
             ev.has & EVENT_HAS(EVENT_F_SESSION) ? ev.session : "");
    snprintf(res->rollcall, sizeof res->rollcall, "%s",
             ev.has & EVENT_HAS(EVENT_F_ROLLCALL) ? ev.rollcall : "");
    snprintf(res->photo_sha256, sizeof res->photo_sha256, "%s", ev.photo_sha256);
    snprintf(res->no_photo, sizeof res->no_photo, "%s", ev.no_photo);
out:
    memset(id, 0, sizeof id);
    return rc;
}

static int append(char *buf, size_t cap, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int append(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, cap - *used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *used)
        return RC_LIMIT;
    *used += (size_t)n;
    return RC_OK;
}

int signin_result_json(const struct signin_result *res, char *buf, size_t cap)
{
    size_t used = 0;
    int rc = append(buf, cap, &used,
                    "{\"event_id\":\"%s\",\"seq\":%lld,\"type\":\"%s\",\"verdict\":\"%s\",",
                    res->event_id, (long long)res->seq, event_type_name(res->type),
                    fence_verdict_name(res->verdict));
    if (rc == RC_OK && res->has_fix)
        rc = append(buf, cap, &used, "\"distance_m\":%.3f,", res->distance_m);
    else if (rc == RC_OK)
        rc = append(buf, cap, &used, "\"distance_m\":null,");
    if (rc == RC_OK)
        rc = append(buf, cap, &used, "\"fence\":\"%s\",\"trainee_masked\":\"%s\",", res->fence,
                    res->trainee_masked);
    if (rc == RC_OK && res->name[0]) {
        /* a masked name from the roster: escape it as JSON (cJSON does it right) */
        cJSON *n = cJSON_CreateString(res->name);
        char *q = n ? cJSON_PrintUnformatted(n) : NULL;
        rc = q ? append(buf, cap, &used, "\"name\":%s,", q) : RC_NOMEM;
        cJSON_free(q);
        cJSON_Delete(n);
    }
    if (rc == RC_OK && res->overridden)
        rc = append(buf, cap, &used, "\"override\":\"roster\",");
    if (rc == RC_OK && res->rollcall[0])
        rc = append(buf, cap, &used, "\"session\":\"%s\",\"rollcall\":\"%s\",", res->session,
                    res->rollcall);
    if (rc == RC_OK && res->photo_sha256[0])
        rc = append(buf, cap, &used, "\"photo_sha256\":\"%s\",", res->photo_sha256);
    if (rc == RC_OK && res->no_photo[0])
        rc = append(buf, cap, &used, "\"no_photo\":\"%s\",", res->no_photo);
    if (rc == RC_OK)
        rc = append(buf, cap, &used, "\"fix\":");
    if (rc != RC_OK)
        return rc;
    if (!res->has_fix)
        return append(buf, cap, &used, "null}");
    const struct gnss_fix *f = &res->fix;
    char when[TS_UTC_LEN + 1] = "";
    rc = append(buf, cap, &used, "{\"lat\":%.8f,\"lon\":%.8f,", f->lat, f->lon);
    if (rc == RC_OK && isfinite(f->eph))
        rc = append(buf, cap, &used, "\"eph\":%.2f,", f->eph);
    else if (rc == RC_OK)
        rc = append(buf, cap, &used, "\"eph\":null,");
    if (rc == RC_OK)
        rc = append(buf, cap, &used, "\"mode\":%d,", f->mode);
    if (rc == RC_OK && f->sats >= 0)
        rc = append(buf, cap, &used, "\"sats\":%d,", f->sats);
    else if (rc == RC_OK)
        rc = append(buf, cap, &used, "\"sats\":null,");
    if (rc == RC_OK && f->time_ms > 0 && ts_format_utc(f->time_ms, when) == RC_OK)
        rc = append(buf, cap, &used, "\"time\":\"%s\",", when);
    else if (rc == RC_OK)
        rc = append(buf, cap, &used, "\"time\":null,");
    if (rc == RC_OK)
        rc = append(buf, cap, &used, "\"source\":\"%s\"}}",
                    f->source == GNSS_SRC_SURVEYED ? "surveyed" : "gnss");
    return rc;
}

void signin_result_text(const struct signin_result *res, char *buf, size_t cap)
{
    const char *what = res->type == EVENT_SIGNIN    ? "sign-in"
                       : res->type == EVENT_SIGNOUT ? "sign-out"
                                                    : "roll-call confirmation";
    switch (res->verdict) {
    case FENCE_INSIDE:
        snprintf(buf, cap,
                 "recorded: %s #%lld of %s, inside %s (%.1f m from the edge, accuracy %.1f m)",
                 what, (long long)res->seq, res->trainee_masked, res->fence, -res->distance_m,
                 res->eph_m);
        break;
    case FENCE_OUTSIDE:
        snprintf(buf, cap,
                 "recorded, flagged for review: %s #%lld of %s is OUTSIDE %s (%.1f m beyond the "
                 "edge, accuracy %.1f m)",
                 what, (long long)res->seq, res->trainee_masked, res->fence, res->distance_m,
                 res->eph_m);
        break;
    case FENCE_UNCERTAIN:
        snprintf(buf, cap,
                 "recorded, flagged for review: %s #%lld of %s is UNCERTAIN for %s (%.1f m from "
                 "the edge, accuracy %.1f m)",
                 what, (long long)res->seq, res->trainee_masked, res->fence, res->distance_m,
                 res->eph_m);
        break;
    case FENCE_NO_FIX:
        snprintf(buf, cap, "recorded, flagged for review: %s #%lld of %s has NO position fix", what,
                 (long long)res->seq, res->trainee_masked);
        break;
    }
    size_t n = strnlen(buf, cap);
    if (res->name[0] && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "; %s", res->name);
    if (res->overridden && n < cap)
        snprintf(buf + n, cap - n, "; operator override of the roster check (flagged)");
}

/* GET /v1/live (see live_api.h). */
#include "http/live_api.h"

#include "engine/figures.h"
#include "engine/plan.h"
#include "event.h"
#include "http/figures_api.h"
#include "http/scope.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct class_ids {
    char (*id)[STORE_ID_MAX + 1];
    size_t n, cap;
};

static int collect_class(const struct store_class *c, void *ctx)
{
    struct class_ids *ids = ctx;
    if (ids->n == ids->cap)
        return RC_LIMIT;
    snprintf(ids->id[ids->n++], sizeof ids->id[0], "%s", c->id);
    return RC_OK;
}

/* One trainee's state in one running session: the last sign-in or sign-out by device time. */
struct who_state {
    int64_t at_ms;
    bool in;
    enum event_verdict verdict;
};

struct scan {
    const struct plan *plan;
    const struct plan_session *ses; /* the running session */
    struct who_state *state;        /* per roster entry */
    int64_t rec_open_ms;            /* last rec_start not yet stopped, 0: none */
    int64_t rec_until_ms;           /* end of the latest recording that ended */
};

static int scan_event(const struct store_raw_event *e, void *ctx)
{
    struct scan *s = ctx;
    struct engine_ev ev;
    char err[ERR_LEN];
    if (figures_stored_ev(e, &ev, err) != RC_OK)
        return RC_OK; /* stored events read; one that does not is not ours to judge here */
    if (strcmp(ev.session, s->ses->id) != 0)
        return RC_OK;
    if (ev.type == EVENT_REC_START) {
        if (ev.ts_ms > s->rec_open_ms)
            s->rec_open_ms = ev.ts_ms;
        return RC_OK;
    }
    if (ev.type == EVENT_REC_STOP || ev.type == EVENT_REC_FILE) {
        int64_t end = ev.type == EVENT_REC_FILE ? ev.end_ms : ev.ts_ms;
        if (end > s->rec_until_ms)
            s->rec_until_ms = end;
        if (ev.type == EVENT_REC_STOP && ev.ts_ms >= s->rec_open_ms)
            s->rec_open_ms = 0;
        return RC_OK;
    }
    if (ev.type != EVENT_SIGNIN && ev.type != EVENT_SIGNOUT)
        return RC_OK;
    for (size_t i = 0; i < s->plan->n_roster; i++) {
        if (strcmp(s->plan->roster[i].pseudonym, ev.trainee) != 0)
            continue;
        struct who_state *w = &s->state[i];
        if (w->at_ms && ev.ts_ms < w->at_ms)
            return RC_OK;
        w->at_ms = ev.ts_ms;
        w->in = ev.type == EVENT_SIGNIN;
        w->verdict = ev.verdict;
        enum event_verdict v;
        if (e->server_verdict && e->server_verdict[0] &&
            event_verdict_parse(e->server_verdict, &v) == RC_OK)
            w->verdict = v; /* the collector's own judgement wins */
        return RC_OK;
    }
    return RC_OK;
}

static cJSON *json_time(int64_t ms)
{
    char buf[TS_SHANGHAI_ISO_LEN + 1];
    if (ms <= 0 || ts_format_shanghai_iso(ms, buf) != RC_OK)
        return cJSON_CreateNull();
    return cJSON_CreateString(buf);
}

/* Adds one running session of class c to arr. */
static int add_session(store *db, const struct store_class *c, const struct plan *p,
                       const struct plan_session *ses, int64_t now, cJSON *arr, char *err)
{
    struct scan s = {.plan = p, .ses = ses};
    s.state = calloc(p->n_roster ? p->n_roster : 1, sizeof *s.state);
    if (!s.state)
        return rc_fail(err, RC_NOMEM, "out of memory");
    int rc = store_class_events(db, c->id, c->institution, scan_event, &s, err);
    if (rc != RC_OK)
        goto out;
    rc = rc_fail(err, RC_NOMEM, "out of memory");
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        goto out;
    }
    cJSON *outside = cJSON_CreateArray(), *uncertain = cJSON_CreateArray(),
          *no_fix = cJSON_CreateArray();
    if (!cJSON_AddItemToObject(o, "outside", outside) ||
        !cJSON_AddItemToObject(o, "uncertain", uncertain) ||
        !cJSON_AddItemToObject(o, "no_fix", no_fix)) {
        cJSON_Delete(outside);
        cJSON_Delete(uncertain);
        cJSON_Delete(no_fix);
        goto out;
    }
    int in = 0;
    for (size_t i = 0; i < p->n_roster; i++) {
        const struct who_state *w = &s.state[i];
        if (!w->in)
            continue;
        in++;
        cJSON *list = w->verdict == EVENT_OUTSIDE     ? outside
                      : w->verdict == EVENT_UNCERTAIN ? uncertain
                      : w->verdict == EVENT_NO_FIX    ? no_fix
                                                      : NULL;
        if (list && !cJSON_AddItemToArray(list, cJSON_CreateString(p->roster[i].masked)))
            goto out;
    }
    const char *rec = s.rec_open_ms                                              ? "recording"
                      : s.rec_until_ms >= now - 10 * 60 * 1000 && s.rec_until_ms ? "recent"
                                                                                 : "none";
    if (!cJSON_AddStringToObject(o, "class", c->id) ||
        !cJSON_AddStringToObject(o, "institution", c->institution) ||
        !cJSON_AddStringToObject(o, "district", c->district) ||
        !cJSON_AddStringToObject(o, "session", ses->id) ||
        !cJSON_AddStringToObject(o, "mode", ses->mode == PLAN_ONLINE ? "online" : "offline") ||
        !cJSON_AddStringToObject(o, "fence", ses->fence) ||
        !cJSON_AddItemToObject(o, "start", json_time(ses->start_ms)) ||
        !cJSON_AddItemToObject(o, "end", json_time(ses->end_ms)) ||
        !cJSON_AddNumberToObject(o, "roster", (double)p->n_roster) ||
        !cJSON_AddNumberToObject(o, "signed_in", in) ||
        !cJSON_AddStringToObject(o, "recording", rec) ||
        !cJSON_AddItemToObject(o, "recorded_until", json_time(s.rec_until_ms)))
        goto out;
    rc = RC_OK;
out:
    free(s.state);
    return rc;
}

void live_api_get(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN] = "out of memory";
    const char *want_inst = http_query(req, "institution"),
               *want_dist = http_query(req, "district");
    if ((want_inst && strlen(want_inst) > FIGURES_API_QUERY_MAX) ||
        (want_dist && strlen(want_dist) > FIGURES_API_QUERY_MAX)) {
        http_reply_error(res, 400, "query arguments institution and district are at most %d bytes",
                         FIGURES_API_QUERY_MAX);
        return;
    }
    const char *institution = NULL, *district = NULL;
    int rc = scope_narrow(req->db, req->who, want_inst, want_dist, &institution, &district, err);
    if (rc == RC_AUTH) {
        scope_refuse(req, res, err);
        return;
    }
    int64_t now = ts_now_ms();
    struct class_ids ids = {.cap = LIVE_API_CLASSES_MAX};
    struct plan *p = malloc(sizeof *p);
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    char *text = NULL;
    ids.id = calloc(ids.cap, sizeof ids.id[0]);
    if (rc != RC_OK)
        goto fail;
    if (!p || !ids.id || !root || !arr || !cJSON_AddItemToObject(root, "sessions", arr)) {
        cJSON_Delete(arr);
        arr = NULL;
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto fail;
    }
    if (!cJSON_AddItemToObject(root, "now", json_time(now))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto fail;
    }
    struct store_class_filter f = {
        .institution = institution, .district = district, .from_ms = now, .to_ms = now + 1};
    rc = store_class_list(req->db, &f, ids.cap, collect_class, &ids, err);
    if (rc == RC_LIMIT)
        rc = RC_OK; /* at most LIVE_API_CLASSES_MAX: the first ones */
    if (rc != RC_OK)
        goto fail;
    for (size_t i = 0; i < ids.n; i++) {
        struct store_class c;
        if ((rc = store_class_get(req->db, ids.id[i], &c, err)) != RC_OK ||
            (rc = store_class_plan(req->db, ids.id[i], p, err)) != RC_OK)
            goto fail;
        for (size_t j = 0; j < p->n_sessions; j++) {
            const struct plan_session *ses = &p->sessions[j];
            if (ses->start_ms > now || ses->end_ms <= now)
                continue;
            if ((rc = add_session(req->db, &c, p, ses, now, arr, err)) != RC_OK)
                goto fail;
        }
    }
    text = cJSON_PrintUnformatted(root);
    if (!text) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto fail;
    }
    res->status = 200;
    res->body = text;
    res->len = strlen(text);
    goto out;
fail:
    log_msg(LOG_LVL_ERROR, "GET /v1/live: %s", err);
    http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                     rc == RC_DB ? "database busy, retry later" : "internal error");
out:
    cJSON_Delete(root);
    free(ids.id);
    free(p);
}

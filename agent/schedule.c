/* The kiosk's schedule (see schedule.h). */
#include "schedule.h"

#include "rc.h"
#include "timeutil.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void schedule_free(struct schedule *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_classes; i++) {
        free(s->classes[i].sessions);
        free(s->classes[i].roster);
    }
    free(s->classes);
    free(s);
}

/* Copies the string member key of o (1..max bytes) into out; where names it in err. */
static int get_str(const cJSON *o, const char *key, char *out, size_t max, const char *where,
                   char *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > max)
        return rc_fail(err, RC_INVAL, "schedule: %s.%s must be a string of 1..%zu bytes", where,
                       key, max);
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return RC_OK;
}

static int get_time(const cJSON *o, const char *key, int64_t *ms, const char *where, char *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || ts_parse_rfc3339(v->valuestring, ms, NULL) != RC_OK)
        return rc_fail(err, RC_INVAL, "schedule: %s.%s must be an RFC 3339 time", where, key);
    return RC_OK;
}

/* A policy window in minutes (0..SCHEDULE_WINDOW_MAX_MIN), or def when absent. */
static int get_window(const cJSON *policy, const char *key, int64_t def, int64_t *ms, char *err)
{
    const cJSON *v = policy ? cJSON_GetObjectItemCaseSensitive(policy, key) : NULL;
    if (!v) {
        *ms = def;
        return RC_OK;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > SCHEDULE_WINDOW_MAX_MIN ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return rc_fail(err, RC_INVAL, "schedule: policy.%s must be 0..%d whole minutes", key,
                       SCHEDULE_WINDOW_MAX_MIN);
    *ms = (int64_t)v->valuedouble * 60000;
    return RC_OK;
}

static int parse_class(const cJSON *co, size_t index, struct schedule_class *c, char *err)
{
    char where[48];
    snprintf(where, sizeof where, "classes[%zu]", index);
    int rc = get_str(co, "id", c->id, EVENT_NAME_MAX, where, err);
    if (rc != RC_OK)
        return rc;
    /* Random roll-calls: absent in a schedule from a collector that predates them. */
    const cJSON *rcn = cJSON_GetObjectItemCaseSensitive(co, "rollcalls");
    const cJSON *rcw = cJSON_GetObjectItemCaseSensitive(co, "rollcall_window_min");
    if (rcn && (!cJSON_IsNumber(rcn) || rcn->valuedouble < 0 ||
                rcn->valuedouble > SCHEDULE_ROLLCALLS_MAX ||
                rcn->valuedouble != (double)(int)rcn->valuedouble))
        return rc_fail(err, RC_INVAL, "schedule: %s.rollcalls must be 0..%d", where,
                       SCHEDULE_ROLLCALLS_MAX);
    if (rcw && (!cJSON_IsNumber(rcw) || rcw->valuedouble < 1 ||
                rcw->valuedouble > SCHEDULE_ROLLCALL_WINDOW_MAX_MIN ||
                rcw->valuedouble != (double)(int)rcw->valuedouble))
        return rc_fail(err, RC_INVAL, "schedule: %s.rollcall_window_min must be 1..%d", where,
                       SCHEDULE_ROLLCALL_WINDOW_MAX_MIN);
    c->rollcalls = rcn ? (int)rcn->valuedouble : 0;
    c->rollcall_window_ms = (rcw ? (int64_t)rcw->valuedouble : 10) * 60000;
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(co, "sessions");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(co, "roster");
    if (!cJSON_IsArray(ss) || !cJSON_IsArray(rs))
        return rc_fail(err, RC_INVAL, "schedule: %s needs arrays sessions and roster", where);
    int ns = cJSON_GetArraySize(ss), nr = cJSON_GetArraySize(rs);
    if (ns > SCHEDULE_SESSIONS_MAX || nr > SCHEDULE_ROSTER_MAX)
        return rc_fail(err, RC_LIMIT, "schedule: %s has over %d sessions or %d trainees", where,
                       SCHEDULE_SESSIONS_MAX, SCHEDULE_ROSTER_MAX);
    c->sessions = calloc((size_t)ns + 1, sizeof *c->sessions);
    c->roster = calloc((size_t)nr + 1, sizeof *c->roster);
    if (!c->sessions || !c->roster)
        return rc_fail(err, RC_NOMEM, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, ss)
    {
        struct schedule_session *s = &c->sessions[c->n_sessions];
        char w[64];
        snprintf(w, sizeof w, "%s.sessions[%zu]", where, c->n_sessions);
        const cJSON *mode = cJSON_GetObjectItemCaseSensitive(it, "mode");
        if ((rc = get_str(it, "id", s->id, EVENT_NAME_MAX, w, err)) != RC_OK ||
            (rc = get_time(it, "start", &s->start_ms, w, err)) != RC_OK ||
            (rc = get_time(it, "end", &s->end_ms, w, err)) != RC_OK)
            return rc;
        if (s->end_ms <= s->start_ms)
            return rc_fail(err, RC_INVAL, "schedule: %s ends before it starts", w);
        if (cJSON_IsString(mode) && strcmp(mode->valuestring, "offline") != 0)
            continue; /* an online session is not held at a kiosk */
        c->n_sessions++;
    }
    cJSON_ArrayForEach(it, rs)
    {
        struct schedule_trainee *t = &c->roster[c->n_roster];
        char w[64];
        snprintf(w, sizeof w, "%s.roster[%zu]", where, c->n_roster);
        if ((rc = get_str(it, "trainee", t->trainee, TRAINEE_PSEUDONYM_LEN, w, err)) != RC_OK ||
            (rc = get_str(it, "masked", t->masked, TRAINEE_ID_LEN, w, err)) != RC_OK ||
            (rc = get_str(it, "name", t->name, SCHEDULE_NAME_MAX, w, err)) != RC_OK)
            return rc;
        if (!utf8_valid(t->name, strlen(t->name), NULL))
            return rc_fail(err, RC_INVAL, "schedule: %s.name is not UTF-8", w);
        c->n_roster++;
    }
    return RC_OK;
}

int schedule_parse(const char *text, size_t len, struct schedule **out, char *err)
{
    int rc = RC_OK;
    struct schedule *s = NULL;
    *out = NULL;
    if (len > OUTBOX_SCHEDULE_MAX)
        return rc_fail(err, RC_LIMIT, "schedule: over %d bytes", OUTBOX_SCHEDULE_MAX);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root)) {
        rc = rc_fail(err, RC_INVAL, "schedule: not a JSON object");
        goto out;
    }
    if (!(s = calloc(1, sizeof *s))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(root, "policy");
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(root, "classes");
    if ((rc = get_str(root, "fence", s->fence, EVENT_NAME_MAX, "schedule", err)) != RC_OK ||
        (rc = get_window(policy, "early_window_min", SCHEDULE_EARLY_WINDOW_MS_DEFAULT,
                         &s->early_window_ms, err)) != RC_OK ||
        (rc = get_window(policy, "leave_grace_min", SCHEDULE_LEAVE_GRACE_MS_DEFAULT,
                         &s->leave_grace_ms, err)) != RC_OK)
        goto out;
    if (!cJSON_IsArray(classes)) {
        rc = rc_fail(err, RC_INVAL, "schedule: classes must be an array");
        goto out;
    }
    int n = cJSON_GetArraySize(classes);
    if (n > SCHEDULE_CLASSES_MAX) {
        rc = rc_fail(err, RC_LIMIT, "schedule: over %d classes", SCHEDULE_CLASSES_MAX);
        goto out;
    }
    if (!(s->classes = calloc((size_t)n + 1, sizeof *s->classes))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    const cJSON *co;
    cJSON_ArrayForEach(co, classes)
    {
        /* counted first so that schedule_free frees a half-parsed class */
        rc = parse_class(co, s->n_classes, &s->classes[s->n_classes], err);
        s->n_classes++;
        if (rc != RC_OK)
            goto out;
    }
out:
    cJSON_Delete(root);
    if (rc != RC_OK)
        schedule_free(s);
    else
        *out = s;
    return rc;
}

int schedule_load(outbox *ob, struct schedule **out, struct outbox_schedule_meta *meta, char *err)
{
    struct outbox_schedule_meta m;
    char *body = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = outbox_schedule_get(ob, &m, &body, &len, err);
    if (rc == RC_OK)
        rc = schedule_parse(body, len, out, err);
    free(body);
    if (rc == RC_OK && meta)
        *meta = m;
    return rc;
}

static bool in_window(const struct schedule *s, const struct schedule_session *ss,
                      enum event_type type, int64_t now_ms)
{
    if (now_ms < ss->start_ms - s->early_window_ms)
        return false;
    if (type == EVENT_SIGNOUT)
        return now_ms <= ss->end_ms + s->leave_grace_ms;
    return now_ms < ss->end_ms;
}

enum schedule_verdict schedule_check(const struct schedule *s, const char *class_id,
                                     const char *session, const char *pseudonym,
                                     enum event_type type, int64_t now_ms, struct schedule_match *m)
{
    memset(m, 0, sizeof *m);
    if (s->n_classes == 0)
        return SCHEDULE_OK; /* the collector knows no class here: nothing to check against */
    for (size_t i = 0; i < s->n_classes && !m->cls; i++)
        if (strcmp(s->classes[i].id, class_id) == 0)
            m->cls = &s->classes[i];
    if (!m->cls)
        return SCHEDULE_NO_SESSION;
    const struct schedule_class *c = m->cls;
    for (size_t i = 0; i < c->n_sessions && !m->session; i++) {
        const struct schedule_session *ss = &c->sessions[i];
        if (session && session[0] && strcmp(ss->id, session) != 0)
            continue;
        if (in_window(s, ss, type, now_ms))
            m->session = ss;
    }
    if (!m->session)
        return SCHEDULE_NO_SESSION;
    for (size_t i = 0; i < c->n_roster && !m->trainee; i++)
        if (strcmp(c->roster[i].trainee, pseudonym) == 0)
            m->trainee = &c->roster[i];
    return m->trainee ? SCHEDULE_OK : SCHEDULE_NOT_ON_ROSTER;
}

const char *schedule_verdict_name(enum schedule_verdict v)
{
    switch (v) {
    case SCHEDULE_OK: return "ok";
    case SCHEDULE_NO_SESSION: return "no_session";
    case SCHEDULE_NOT_ON_ROSTER: return "not_on_roster";
    }
    return "?";
}

#include "engine/flow.h"

#include "crypto.h"
#include "engine/engine.h"
#include "engine/figures.h"
#include "engine/plan.h"
#include "engine/subsidy.h"
#include "jsonin.h"
#include "rc.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    FLOW_STEPS_MAX = 10000,   /* steps of one class's application or claim */
    FLOW_QUEUE_MAX = 1000000, /* classes (and late reviews) in the review queue */
};

struct chain {
    struct store_step *v;
    size_t n, cap;
    char *err;
};

static int add_step(const struct store_step *s, void *ctx)
{
    struct chain *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        if (cap > FLOW_STEPS_MAX)
            return rc_fail(c->err, RC_LIMIT, "procedure: over %d steps", FLOW_STEPS_MAX);
        struct store_step *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return rc_fail(c->err, RC_NOMEM, "out of memory");
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *s;
    return 0;
}

static int read_chain(store *st, enum procedure_kind k, const char *class_id, struct chain *c,
                      char *err)
{
    c->err = err;
    return store_step_list(st, procedure_kind_name(k), class_id, add_step, c, err);
}

static enum procedure_state chain_state(const struct chain *c)
{
    enum procedure_state s = PROC_S_NONE;
    if (c->n && procedure_state_parse(c->v[c->n - 1].state, &s) != RC_OK)
        s = PROC_S_NONE;
    return s;
}

/* The last step of c with this action, or NULL. */
static const struct store_step *last_action(const struct chain *c, enum procedure_action a)
{
    for (size_t i = c->n; i-- > 0;) {
        if (strcmp(c->v[i].action, procedure_action_name(a)) == 0)
            return &c->v[i];
    }
    return NULL;
}

static bool add_date(cJSON *o, const char *key, int64_t ms)
{
    char d[TS_DATE_LEN + 1];
    if (ms <= 0 || ts_format_date(ms, d) != RC_OK)
        return cJSON_AddNullToObject(o, key) != NULL;
    return cJSON_AddStringToObject(o, key, d) != NULL;
}

/* A date field of a step's data, or 0. */
static int64_t data_date(const struct store_step *s, const char *key)
{
    cJSON *o = NULL;
    int64_t ms = 0;
    char err[ERR_LEN];
    if (!s->data[0] || jsonin_parse(s->data, strlen(s->data), &o, err) != RC_OK)
        return 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || ts_parse_date(v->valuestring, &ms, err) != RC_OK)
        ms = 0;
    cJSON_Delete(o);
    return ms;
}

/* A string field of a step's data into out ("" when absent). */
static void data_text(const struct store_step *s, const char *key, char *out, size_t cap)
{
    cJSON *o = NULL;
    char err[ERR_LEN];
    out[0] = '\0';
    if (!s->data[0] || jsonin_parse(s->data, strlen(s->data), &o, err) != RC_OK)
        return;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v))
        snprintf(out, cap, "%s", v->valuestring);
    cJSON_Delete(o);
}

/* The figures a claim made on claim_ms rests on: their SHA-256 and totals into o (may be
 * NULL), the last assessment date into *assessed_ms. */
static int claim_figures(store *st, const char *class_id, int64_t claim_ms, int64_t now_ms,
                         cJSON *o, char sha[CRYPTO_SHA256_HEX_LEN + 1], int64_t *assessed_ms,
                         char *err)
{
    struct subsidy_result *res = NULL;
    struct engine_report *r = NULL;
    size_t n = 0;
    char *json = NULL;
    int rc = figures_subsidy(st, class_id, now_ms, claim_ms, &res, &n, &r, NULL, err);
    if (rc != RC_OK)
        return rc;
    int64_t total = 0, living = 0, last = 0, certified = 0;
    for (size_t i = 0; i < r->n_trainees; i++) {
        if (r->trainees[i].passed) {
            certified++;
            if (r->trainees[i].assessed_on_ms > last)
                last = r->trainees[i].assessed_on_ms;
        }
    }
    for (size_t i = 0; i < n; i++) {
        total += res[i].amount_yuan;
        living += res[i].living_allowance_yuan;
    }
    *assessed_ms = last;
    if ((rc = figures_subsidy_json(r, res, n, claim_ms, false, &json, err)) != RC_OK)
        goto out;
    crypto_sha256_hex(json, strlen(json), sha);
    if (o && (!cJSON_AddStringToObject(o, "figures_sha256", sha) ||
              !cJSON_AddNumberToObject(o, "certified", (double)certified) ||
              !cJSON_AddNumberToObject(o, "total_yuan", (double)total) ||
              !cJSON_AddNumberToObject(o, "living_allowance_yuan", (double)living) ||
              !add_date(o, "assessed_until", last)))
        rc = rc_fail(err, RC_NOMEM, "out of memory");
out:
    free(json);
    free(res);
    engine_report_free(r);
    return rc;
}

static int put_data(struct store_step *s, cJSON *data, char *err)
{
    char *text = cJSON_PrintUnformatted(data);
    if (!text)
        return rc_fail(err, RC_NOMEM, "out of memory");
    size_t len = strlen(text);
    int rc = RC_OK;
    if (len > STORE_STEP_DATA_MAX)
        rc = rc_fail(err, RC_LIMIT, "procedure: step data over %d bytes", STORE_STEP_DATA_MAX);
    else
        memcpy(s->data, text, len + 1);
    free(text);
    return rc;
}

/* The trainee of a living allowance on class_id's roster (by masked number or pseudonym):
 * the city-wide pseudonym into city (the allowance chain's subject), the masked number into
 * masked, and *subsidised when class_id's claim is paid and lists the trainee: a claim lists
 * the class's trainees who hold a certificate (docs/SUBSIDY.md), and a paid one is their
 * training subsidy. The value given is never echoed: it may
 * be a clear ID number typed by mistake. */
static int allowance_trainee(store *st, const char *class_id, const char *trainee,
                             const struct chain *claim, int64_t now_ms,
                             char city[STORE_PSEUDONYM_LEN + 1], char masked[STORE_MASKED_LEN + 1],
                             bool *subsidised, char *err)
{
    const struct store_step *sub = last_action(claim, PROC_A_SUBMIT);
    struct subsidy_result *res = NULL;
    struct plan *p = NULL;
    size_t n = 0, matches = 0;
    const struct plan_trainee *t = NULL;
    *subsidised = false;
    struct engine_report *r = NULL;
    int rc =
        figures_subsidy(st, class_id, now_ms, sub ? sub->on_ms : now_ms, &res, &n, &r, &p, err);
    if (rc != RC_OK)
        return rc;
    for (size_t i = 0; i < p->n_roster; i++) {
        if (strcmp(p->roster[i].pseudonym, trainee) == 0 ||
            strcmp(p->roster[i].masked, trainee) == 0) {
            if (!t)
                t = &p->roster[i];
            matches++;
        }
    }
    if (!t) {
        rc = rc_fail(err, RC_NOTFOUND,
                     "allowance: no such trainee on the roster of class %s (give the masked "
                     "number or the pseudonym)",
                     class_id);
    } else if (matches > 1) {
        rc = rc_fail(err, RC_INVAL,
                     "allowance: %zu trainees of class %s have that masked number: give the "
                     "pseudonym",
                     matches, class_id);
    } else if (!t->city[0]) {
        rc = rc_fail(err, RC_INVAL,
                     "allowance: the roster of class %s was stored without city-wide pseudonyms "
                     "(no city key at upload): upload the plan again",
                     class_id);
    } else {
        snprintf(city, STORE_PSEUDONYM_LEN + 1, "%s", t->city);
        snprintf(masked, STORE_MASKED_LEN + 1, "%s", t->masked);
        /* The claim listed the certificates up to its last assessment date (frozen in its
         * step): one dated later was uploaded after it and is not in the paid claim. */
        int64_t until = sub ? data_date(sub, "assessed_until") : 0;
        for (size_t j = 0; j < r->n_trainees; j++) {
            if (strcmp(r->trainees[j].trainee, t->pseudonym) == 0 && r->trainees[j].passed &&
                r->trainees[j].assessed_on_ms <= until)
                *subsidised = chain_state(claim) == PROC_S_PAID;
        }
    }
    free(res);
    free(p);
    engine_report_free(r);
    return rc;
}

/* The refusal of a living allowance, naming its rule. */
static int allowance_refused(enum procedure_allowance_rule ar, const char *class_id,
                             const struct store_class *cls, const struct chain *claim,
                             const struct chain *c, int64_t on_ms, char *err)
{
    const char *rule = procedure_allowance_rule_name(ar);
    char d[TS_DATE_LEN + 1] = "?", e[TS_DATE_LEN + 1] = "?", other[STORE_ID_MAX + 1] = "";
    int64_t until = 0;
    char why[ERR_LEN];
    switch (ar) {
    case PROC_ALLOW_NO_TRAINING_SUBSIDY:
        if (chain_state(claim) != PROC_S_PAID)
            return rc_fail(err, RC_INVAL,
                           "allowance refused (%s): the claim of class %s is not paid (state "
                           "%s)",
                           rule, class_id, procedure_state_name(chain_state(claim)));
        return rc_fail(err, RC_INVAL,
                       "allowance refused (%s): the paid claim of class %s does not list this "
                       "trainee (no certificate when it was submitted)",
                       rule, class_id);
    case PROC_ALLOW_ONCE: {
        const struct store_step *sub = last_action(c, PROC_A_SUBMIT);
        if (sub) {
            data_text(sub, "class", other, sizeof other);
            (void)ts_format_date(sub->on_ms, d);
        }
        return rc_fail(err, RC_INVAL,
                       "allowance refused (%s): this person's living allowance is already %s "
                       "(claimed on %s for class %s)",
                       rule, procedure_state_name(chain_state(c)), d, other);
    }
    default:
        (void)ts_format_date(on_ms, d);
        (void)ts_format_date(cls->end_ms, e);
        if (procedure_allowance_until(cls->end_ms, &until, why) == RC_OK)
            until -= INT64_C(86400000);
        char last[TS_DATE_LEN + 1] = "?";
        if (until > 0)
            (void)ts_format_date(until, last);
        return rc_fail(err, RC_INVAL,
                       "allowance refused (%s): claimed on %s, more than a year after class %s "
                       "ended on %s (last day %s)",
                       rule, d, class_id, e, last);
    }
}

int flow_act(store *st, const struct workdays *w, const struct flow_request *rq,
             struct store_step *out, char *err)
{
    struct store_class cls;
    struct chain c = {0}, app = {0}, claim = {0};
    const char *subject = rq->class_id;
    char city[STORE_PSEUDONYM_LEN + 1] = "", masked[STORE_MASKED_LEN + 1] = "";
    bool subsidised = false;
    cJSON *data = cJSON_CreateObject();
    struct store_step *s = calloc(1, sizeof *s);
    enum procedure_finding finding = PROC_F_NONE;
    int rc = RC_OK;
    if (!data || !s) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    const char *kn = procedure_kind_name(rq->kind), *an = procedure_action_name(rq->action);
    if (!kn || !an || !rq->class_id || !rq->by || !*rq->by) {
        rc = rc_fail(err, RC_INVAL, "procedure: kind, action, class and who are required");
        goto out;
    }
    if (rq->on_ms <= 0) {
        rc = rc_fail(err, RC_INVAL, "procedure: the date of the step is required");
        goto out;
    }
    if ((rc = store_class_get(st, rq->class_id, &cls, err)) != RC_OK)
        goto out;
    if (rq->kind == PROC_ALLOWANCE) {
        if (!rq->trainee || !*rq->trainee) {
            rc = rc_fail(err, RC_INVAL, "allowance: the trainee is required");
            goto out;
        }
        if ((rc = read_chain(st, PROC_CLAIM, rq->class_id, &claim, err)) != RC_OK ||
            (rc = allowance_trainee(st, rq->class_id, rq->trainee, &claim, rq->now_ms, city, masked,
                                    &subsidised, err)) != RC_OK)
            goto out;
        subject = city;
    }
    if ((rc = read_chain(st, rq->kind, subject, &c, err)) != RC_OK)
        goto out;
    enum procedure_state state = chain_state(&c), next = PROC_S_NONE;
    if (rq->kind == PROC_ALLOWANCE && rq->action == PROC_A_SUBMIT) {
        /* The rules before the state machine: a second allowance names allowance_once rather
         * than "cannot submit in state paid". */
        bool before = state != PROC_S_NONE && state != PROC_S_RETURNED;
        enum procedure_allowance_rule ar =
            procedure_allowance_check(subsidised, before, cls.end_ms, rq->on_ms);
        if (ar != PROC_ALLOW_OK) {
            rc = allowance_refused(ar, rq->class_id, &cls, &claim, &c, rq->on_ms, err);
            goto out;
        }
    }
    int64_t published_until = 0;
    if (rq->action == PROC_A_PAY) {
        const struct store_step *pub = last_action(&c, PROC_A_PUBLISH);
        published_until = pub ? data_date(pub, "notice_until") : 0;
    }
    if ((rc = procedure_step(rq->kind, state, rq->action, rq->actor, rq->reason, rq->on_ms,
                             published_until, &next, err)) != RC_OK)
        goto out;
    if (rq->kind == PROC_CLAIM && rq->action == PROC_A_SUBMIT) {
        if ((rc = read_chain(st, PROC_APPLICATION, rq->class_id, &app, err)) != RC_OK)
            goto out;
        if (chain_state(&app) != PROC_S_APPROVED) {
            rc = rc_fail(err, RC_INVAL,
                         "claim: the application of class %s is not approved (state %s): only "
                         "approved classes count toward subsidies",
                         rq->class_id, procedure_state_name(chain_state(&app)));
            goto out;
        }
    }
    int64_t amount = rq->amount_yuan;
    if (rq->kind == PROC_ALLOWANCE && amount == 0)
        amount = SUBSIDY_LIVING_ALLOWANCE_YUAN;
    if (rq->kind == PROC_ALLOWANCE && (rq->action == PROC_A_SUBMIT || rq->action == PROC_A_PAY) &&
        !cJSON_AddStringToObject(data, "class", rq->class_id))
        goto nomem;
    if (rq->kind == PROC_ALLOWANCE && rq->action == PROC_A_SUBMIT) {
        int64_t until = 0;
        if ((rc = procedure_allowance_until(cls.end_ms, &until, err)) != RC_OK)
            goto out;
        if (!cJSON_AddStringToObject(data, "trainee", masked) ||
            !add_date(data, "training_end", cls.end_ms) ||
            !add_date(data, "last_day", until - INT64_C(86400000)) ||
            !cJSON_AddNumberToObject(data, "amount_yuan", SUBSIDY_LIVING_ALLOWANCE_YUAN))
            goto nomem;
    } else if (rq->kind == PROC_APPLICATION && rq->action == PROC_A_SUBMIT) {
        int64_t lead = 0;
        if (procedure_application_late(rq->on_ms, cls.start_ms, &lead))
            finding = PROC_F_LATE_APPLICATION;
        if (!cJSON_AddNumberToObject(data, "lead_days", (double)lead) ||
            !add_date(data, "first_session", cls.start_ms))
            goto nomem;
    } else if (rq->kind == PROC_APPLICATION) { /* approve or return: the review */
        const struct store_step *sub = last_action(&c, PROC_A_SUBMIT);
        int64_t due = 0;
        bool late = false, fb = false;
        if (!sub) {
            rc = rc_fail(err, RC_CORRUPT, "application of %s: no submission", rq->class_id);
            goto out;
        }
        if ((rc = procedure_review_due(w, sub->on_ms, rq->on_ms, rq->calendar_flags, &due, &late,
                                       &fb, err)) != RC_OK)
            goto out;
        if (late)
            finding = PROC_F_LATE_REVIEW;
        if (!add_date(data, "review_due", due) ||
            (fb && !cJSON_AddBoolToObject(data, "calendar_fallback", true)))
            goto nomem;
    } else if (rq->action == PROC_A_SUBMIT) { /* a claim */
        char sha[CRYPTO_SHA256_HEX_LEN + 1];
        int64_t assessed = 0, days = 0;
        if ((rc = claim_figures(st, rq->class_id, rq->on_ms, rq->now_ms, data, sha, &assessed,
                                err)) != RC_OK)
            goto out;
        if (assessed == 0) {
            rc = rc_fail(err, RC_INVAL, "claim: no trainee of class %s holds a certificate",
                         rq->class_id);
            goto out;
        }
        if (procedure_claim_late(assessed, rq->on_ms, &days))
            finding = PROC_F_LATE_CLAIM;
        if (!cJSON_AddNumberToObject(data, "days_after_assessment", (double)days))
            goto nomem;
    } else if (rq->action == PROC_A_PUBLISH) {
        int64_t nd = rq->notice_workdays ? rq->notice_workdays : FLOW_NOTICE_WORKDAYS_DEFAULT;
        int64_t until = 0;
        bool fb = false;
        if (nd < 1 || nd > FLOW_NOTICE_WORKDAYS_MAX) {
            rc = rc_fail(err, RC_INVAL, "%s: the notice period must be 1..%d working days", kn,
                         FLOW_NOTICE_WORKDAYS_MAX);
            goto out;
        }
        if ((rc = workdays_add(w, rq->on_ms, nd, rq->calendar_flags, &until, &fb, err)) != RC_OK)
            goto out;
        if (!cJSON_AddNumberToObject(data, "notice_workdays", (double)nd) ||
            !add_date(data, "notice_until", until) ||
            (fb && !cJSON_AddBoolToObject(data, "calendar_fallback", true)))
            goto nomem;
    } else if (rq->action == PROC_A_PAY) {
        if (amount <= 0 || amount > INT64_C(1000000000) || !rq->reference || !*rq->reference ||
            strlen(rq->reference) > FLOW_REFERENCE_MAX) {
            rc = rc_fail(err, RC_INVAL,
                         "%s: a payment needs an amount (yuan, > 0) and a reference (1..%d "
                         "bytes)",
                         kn, FLOW_REFERENCE_MAX);
            goto out;
        }
        if (!cJSON_AddNumberToObject(data, "amount_yuan", (double)amount) ||
            !add_date(data, "paid_on", rq->on_ms) ||
            !cJSON_AddStringToObject(data, "reference", rq->reference))
            goto nomem;
    }
    s->prev = c.n ? c.v[c.n - 1].id : 0;
    snprintf(s->kind, sizeof s->kind, "%s", kn);
    snprintf(s->subject, sizeof s->subject, "%s", subject);
    snprintf(s->action, sizeof s->action, "%s", an);
    snprintf(s->state, sizeof s->state, "%s", procedure_state_name(next));
    snprintf(s->finding, sizeof s->finding, "%s", finding ? procedure_finding_name(finding) : "");
    snprintf(s->by, sizeof s->by, "%s", rq->by);
    snprintf(s->reason, sizeof s->reason, "%s", rq->reason ? rq->reason : "");
    s->on_ms = rq->on_ms;
    s->at_ms = rq->now_ms;
    if ((rc = put_data(s, data, err)) != RC_OK)
        goto out;
    if ((rc = store_step_insert(st, s, err)) != RC_OK)
        goto out;
    if (out)
        *out = *s;
    goto out;
nomem:
    rc = rc_fail(err, RC_NOMEM, "out of memory");
out:
    cJSON_Delete(data);
    free(s);
    free(c.v);
    free(app.v);
    free(claim.v);
    return rc;
}

static cJSON *steps_json(const struct chain *c)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < c->n; i++) {
        const struct store_step *s = &c->v[i];
        cJSON *o = cJSON_CreateObject(), *data = NULL;
        char at[TS_UTC_LEN + 1], err[ERR_LEN];
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            goto fail;
        }
        if (ts_format_utc(s->at_ms, at) != RC_OK)
            snprintf(at, sizeof at, "?");
        if (s->data[0] && jsonin_parse(s->data, strlen(s->data), &data, err) != RC_OK)
            goto fail;
        if (!cJSON_AddStringToObject(o, "action", s->action) ||
            !cJSON_AddStringToObject(o, "state", s->state) || !add_date(o, "on", s->on_ms) ||
            !cJSON_AddStringToObject(o, "by", s->by) || !cJSON_AddStringToObject(o, "at", at) ||
            !cJSON_AddStringToObject(o, "reason", s->reason) ||
            !(s->finding[0] ? cJSON_AddStringToObject(o, "finding", s->finding)
                            : cJSON_AddNullToObject(o, "finding"))) {
            cJSON_Delete(data);
            goto fail;
        }
        if (!data)
            data = cJSON_CreateObject();
        if (!data || !cJSON_AddItemToObject(o, "data", data)) {
            cJSON_Delete(data);
            goto fail;
        }
    }
    return arr;
fail:
    cJSON_Delete(arr);
    return NULL;
}

/* The allowance chains of class_id's roster whose last submission was for this class. */
static int status_allowances(store *st, const char *class_id, cJSON *root, char *err)
{
    struct plan *p = malloc(sizeof *p);
    cJSON *arr = cJSON_AddArrayToObject(root, "allowances");
    int rc = RC_OK;
    if (!p || !arr) {
        free(p);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    if ((rc = store_class_plan(st, class_id, p, err)) != RC_OK)
        goto out;
    for (size_t i = 0; i < p->n_roster && rc == RC_OK; i++) {
        struct chain c = {0};
        char for_class[STORE_ID_MAX + 1] = "";
        if (!p->roster[i].city[0])
            continue;
        if ((rc = read_chain(st, PROC_ALLOWANCE, p->roster[i].city, &c, err)) == RC_OK) {
            const struct store_step *sub = last_action(&c, PROC_A_SUBMIT);
            if (sub)
                data_text(sub, "class", for_class, sizeof for_class);
            cJSON *o = NULL;
            if (sub && strcmp(for_class, class_id) == 0 &&
                (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(arr, o) ||
                 !cJSON_AddStringToObject(o, "trainee", p->roster[i].masked) ||
                 !cJSON_AddStringToObject(o, "state", procedure_state_name(chain_state(&c))) ||
                 !cJSON_AddItemToObject(o, "steps", steps_json(&c))))
                rc = rc_fail(err, RC_NOMEM, "out of memory");
        }
        free(c.v);
    }
out:
    free(p);
    return rc;
}

int flow_status(store *st, const struct workdays *w, const char *class_id, unsigned flags,
                int64_t now_ms, cJSON **out, char *err)
{
    struct store_class cls;
    struct chain app = {0}, claim = {0};
    cJSON *root = NULL, *a = NULL, *cl = NULL;
    int rc = store_class_get(st, class_id, &cls, err);
    if (rc != RC_OK)
        return rc;
    if ((rc = read_chain(st, PROC_APPLICATION, class_id, &app, err)) != RC_OK ||
        (rc = read_chain(st, PROC_CLAIM, class_id, &claim, err)) != RC_OK)
        goto out;
    root = cJSON_CreateObject();
    if (!root || !cJSON_AddStringToObject(root, "class", class_id) ||
        !cJSON_AddStringToObject(root, "institution", cls.institution) ||
        !(a = cJSON_AddObjectToObject(root, "application")) ||
        !cJSON_AddStringToObject(a, "state", procedure_state_name(chain_state(&app))) ||
        !cJSON_AddItemToObject(a, "steps", steps_json(&app)) ||
        !(cl = cJSON_AddObjectToObject(root, "claim")) ||
        !cJSON_AddStringToObject(cl, "state", procedure_state_name(chain_state(&claim))) ||
        !cJSON_AddItemToObject(cl, "steps", steps_json(&claim)))
        goto nomem;
    int64_t due = 0;
    char why[ERR_LEN] = "";
    if (chain_state(&app) == PROC_S_SUBMITTED) {
        bool late = false;
        const struct store_step *sub = last_action(&app, PROC_A_SUBMIT);
        /* A deadline the calendar cannot say is shown as unknown, with the reason. */
        if (sub && procedure_review_due(w, sub->on_ms, 0, flags, &due, &late, NULL, why) != RC_OK)
            due = 0;
    }
    if (!add_date(a, "review_due", due) ||
        (why[0] && !cJSON_AddStringToObject(a, "review_due_unknown", why)))
        goto nomem;
    const struct store_step *sub = last_action(&claim, PROC_A_SUBMIT);
    bool changed = false;
    if (sub) {
        char frozen[CRYPTO_SHA256_HEX_LEN + 1], now[CRYPTO_SHA256_HEX_LEN + 1];
        int64_t assessed = 0;
        data_text(sub, "figures_sha256", frozen, sizeof frozen);
        if ((rc = claim_figures(st, class_id, sub->on_ms, now_ms, NULL, now, &assessed, err)) !=
            RC_OK)
            goto out;
        changed = strcmp(frozen, now) != 0;
    }
    if (!cJSON_AddBoolToObject(cl, "figures_changed", changed) ||
        !(changed ? cJSON_AddStringToObject(cl, "finding", "claim_figures_changed")
                  : cJSON_AddNullToObject(cl, "finding")))
        goto nomem;
    if ((rc = status_allowances(st, class_id, root, err)) != RC_OK)
        goto out;
    *out = root;
    root = NULL;
    goto out;
nomem:
    rc = rc_fail(err, RC_NOMEM, "out of memory");
out:
    cJSON_Delete(root);
    free(app.v);
    free(claim.v);
    return rc;
}

/* The review queue in one pass over every application step (oldest first): per class its
 * last state and last submission, in a hash table; each late review as it comes. Memory grows
 * with the classes, not with their steps' text. */
struct queue_class {
    char subject[STORE_ID_MAX + 1]; /* "" for an empty slot */
    bool submitted;                 /* the last step left it submitted */
    int64_t submitted_on;           /* the last submission's date */
};

struct queue_late {
    char subject[STORE_ID_MAX + 1];
    char state[STORE_STEP_WORD_MAX + 1];
    int64_t submitted_on, reviewed_on;
};

struct queue {
    struct queue_class *slot;
    size_t cap, used; /* cap a power of two, kept at most half full */
    struct queue_late *late;
    size_t n_late, cap_late;
    char *err;
};

static struct queue_class *queue_find(struct queue *q, const char *subject)
{
    size_t i = (size_t)engine_hash_str(subject) & (q->cap - 1);
    while (q->slot[i].subject[0] && strcmp(q->slot[i].subject, subject) != 0)
        i = (i + 1) & (q->cap - 1);
    return &q->slot[i];
}

static int queue_grow(struct queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 256;
    if (cap > FLOW_QUEUE_MAX * 2)
        return rc_fail(q->err, RC_LIMIT, "review queue: over %d classes", FLOW_QUEUE_MAX);
    struct queue_class *old = q->slot;
    size_t old_cap = q->cap;
    q->slot = calloc(cap, sizeof *q->slot);
    if (!q->slot) {
        q->slot = old;
        return rc_fail(q->err, RC_NOMEM, "out of memory");
    }
    q->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].subject[0])
            *queue_find(q, old[i].subject) = old[i];
    }
    free(old);
    return RC_OK;
}

static int queue_step(const struct store_step *s, void *ctx)
{
    struct queue *q = ctx;
    int rc;
    if ((q->used + 1) * 2 > q->cap && (rc = queue_grow(q)) != RC_OK)
        return rc;
    struct queue_class *c = queue_find(q, s->subject);
    if (!c->subject[0]) {
        snprintf(c->subject, sizeof c->subject, "%s", s->subject);
        q->used++;
    }
    if (strcmp(s->action, "submit") == 0)
        c->submitted_on = s->on_ms;
    c->submitted = strcmp(s->state, "submitted") == 0;
    if (strcmp(s->finding, "late_review") == 0) {
        if (q->n_late == q->cap_late) {
            size_t cap = q->cap_late ? q->cap_late * 2 : 16;
            if (cap > FLOW_QUEUE_MAX)
                return rc_fail(q->err, RC_LIMIT, "review queue: over %d late reviews",
                               FLOW_QUEUE_MAX);
            struct queue_late *v = realloc(q->late, cap * sizeof *v);
            if (!v)
                return rc_fail(q->err, RC_NOMEM, "out of memory");
            q->late = v;
            q->cap_late = cap;
        }
        struct queue_late *l = &q->late[q->n_late++];
        snprintf(l->subject, sizeof l->subject, "%s", s->subject);
        snprintf(l->state, sizeof l->state, "%s", s->state);
        l->submitted_on = c->submitted_on;
        l->reviewed_on = s->on_ms;
    }
    return 0;
}

/* One queue row; the deadline the calendar cannot say is shown as unknown, with the reason. */
static int queue_row(cJSON *arr, const struct workdays *w, unsigned flags, const char *subject,
                     const char *state, int64_t submitted_on, int64_t reviewed_on, int64_t today_ms,
                     bool late_found)
{
    char why[ERR_LEN] = "";
    int64_t due = 0;
    bool late = late_found;
    if (procedure_review_due(w, submitted_on, reviewed_on ? reviewed_on : today_ms, flags, &due,
                             &late, NULL, why) != RC_OK)
        due = 0;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return RC_NOMEM;
    }
    if (!cJSON_AddStringToObject(o, "class", subject) ||
        !add_date(o, "submitted_on", submitted_on) || !add_date(o, "review_due", due) ||
        !cJSON_AddStringToObject(o, "state", state) || !add_date(o, "reviewed_on", reviewed_on) ||
        !cJSON_AddBoolToObject(o, "late_review", late) ||
        (why[0] && !cJSON_AddStringToObject(o, "review_due_unknown", why)))
        return RC_NOMEM;
    return RC_OK;
}

int flow_review_queue(store *st, const struct workdays *w, unsigned flags, int64_t today_ms,
                      cJSON **out, char *err)
{
    struct queue q = {.err = err};
    cJSON *arr = NULL;
    int rc = queue_grow(&q);
    if (rc == RC_OK)
        rc = store_step_list(st, procedure_kind_name(PROC_APPLICATION), NULL, queue_step, &q, err);
    if (rc != RC_OK)
        goto out;
    if (!(arr = cJSON_CreateArray()))
        goto nomem;
    /* Waiting ones first (in table order), then the late reviews (oldest first). */
    for (size_t i = 0; i < q.cap; i++) {
        const struct queue_class *c = &q.slot[i];
        if (c->subject[0] && c->submitted &&
            queue_row(arr, w, flags, c->subject, "submitted", c->submitted_on, 0, today_ms,
                      false) != RC_OK)
            goto nomem;
    }
    for (size_t i = 0; i < q.n_late; i++) {
        const struct queue_late *l = &q.late[i];
        if (queue_row(arr, w, flags, l->subject, l->state, l->submitted_on, l->reviewed_on,
                      today_ms, true) != RC_OK)
            goto nomem;
    }
    *out = arr;
    arr = NULL;
    goto out;
nomem:
    rc = rc_fail(err, RC_NOMEM, "out of memory");
out:
    cJSON_Delete(arr);
    free(q.slot);
    free(q.late);
    return rc;
}

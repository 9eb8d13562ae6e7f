#include "engine/procedure.h"

#include "rc.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS INT64_C(86400000)

static const char *const kind_names[PROC_KINDS] = {"application", "claim", "allowance"};
static const char *const state_names[PROC_STATES] = {"none",    "submitted", "returned", "approved",
                                                     "audited", "published", "paid"};
static const char *const action_names[PROC_ACTIONS] = {"submit", "approve", "return",
                                                       "audit",  "publish", "pay"};
static const char *const finding_names[] = {"", "late_application", "late_review", "late_claim"};

const char *procedure_kind_name(enum procedure_kind k)
{
    return (k >= 0 && k < PROC_KINDS) ? kind_names[k] : NULL;
}

const char *procedure_state_name(enum procedure_state s)
{
    return (s >= 0 && s < PROC_STATES) ? state_names[s] : NULL;
}

const char *procedure_action_name(enum procedure_action a)
{
    return (a >= 0 && a < PROC_ACTIONS) ? action_names[a] : NULL;
}

const char *procedure_finding_name(enum procedure_finding f)
{
    return (f > PROC_F_NONE && f <= PROC_F_LATE_CLAIM) ? finding_names[f] : NULL;
}

int procedure_action_parse(const char *s, enum procedure_action *out)
{
    for (int i = 0; i < PROC_ACTIONS; i++) {
        if (strcmp(s, action_names[i]) == 0) {
            *out = (enum procedure_action)i;
            return RC_OK;
        }
    }
    return RC_INVAL;
}

int procedure_state_parse(const char *s, enum procedure_state *out)
{
    for (int i = 0; i < PROC_STATES; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            *out = (enum procedure_state)i;
            return RC_OK;
        }
    }
    return RC_INVAL;
}

/* One allowed transition. */
struct rule {
    enum procedure_kind kind;
    enum procedure_state from;
    enum procedure_action action;
    enum procedure_actor actor;
    enum procedure_state to;
};

static const struct rule rules[] = {
    {PROC_APPLICATION, PROC_S_NONE, PROC_A_SUBMIT, PROC_BY_INSTITUTION, PROC_S_SUBMITTED},
    {PROC_APPLICATION, PROC_S_RETURNED, PROC_A_SUBMIT, PROC_BY_INSTITUTION, PROC_S_SUBMITTED},
    {PROC_APPLICATION, PROC_S_SUBMITTED, PROC_A_APPROVE, PROC_BY_CITY, PROC_S_APPROVED},
    {PROC_APPLICATION, PROC_S_SUBMITTED, PROC_A_RETURN, PROC_BY_CITY, PROC_S_RETURNED},
    {PROC_CLAIM, PROC_S_NONE, PROC_A_SUBMIT, PROC_BY_INSTITUTION, PROC_S_SUBMITTED},
    {PROC_CLAIM, PROC_S_RETURNED, PROC_A_SUBMIT, PROC_BY_INSTITUTION, PROC_S_SUBMITTED},
    {PROC_CLAIM, PROC_S_SUBMITTED, PROC_A_AUDIT, PROC_BY_CITY, PROC_S_AUDITED},
    {PROC_CLAIM, PROC_S_SUBMITTED, PROC_A_RETURN, PROC_BY_CITY, PROC_S_RETURNED},
    {PROC_CLAIM, PROC_S_AUDITED, PROC_A_RETURN, PROC_BY_CITY, PROC_S_RETURNED},
    {PROC_CLAIM, PROC_S_AUDITED, PROC_A_PUBLISH, PROC_BY_CITY, PROC_S_PUBLISHED},
    {PROC_CLAIM, PROC_S_PUBLISHED, PROC_A_RETURN, PROC_BY_CITY, PROC_S_RETURNED},
    {PROC_CLAIM, PROC_S_PUBLISHED, PROC_A_PAY, PROC_BY_CITY, PROC_S_PAID},
    {PROC_ALLOWANCE, PROC_S_NONE, PROC_A_SUBMIT, PROC_BY_INSTITUTION, PROC_S_SUBMITTED},
    {PROC_ALLOWANCE, PROC_S_RETURNED, PROC_A_SUBMIT, PROC_BY_INSTITUTION, PROC_S_SUBMITTED},
    {PROC_ALLOWANCE, PROC_S_SUBMITTED, PROC_A_AUDIT, PROC_BY_CITY, PROC_S_AUDITED},
    {PROC_ALLOWANCE, PROC_S_SUBMITTED, PROC_A_RETURN, PROC_BY_CITY, PROC_S_RETURNED},
    {PROC_ALLOWANCE, PROC_S_AUDITED, PROC_A_RETURN, PROC_BY_CITY, PROC_S_RETURNED},
    {PROC_ALLOWANCE, PROC_S_AUDITED, PROC_A_PUBLISH, PROC_BY_CITY, PROC_S_PUBLISHED},
    {PROC_ALLOWANCE, PROC_S_PUBLISHED, PROC_A_RETURN, PROC_BY_CITY, PROC_S_RETURNED},
    {PROC_ALLOWANCE, PROC_S_PUBLISHED, PROC_A_PAY, PROC_BY_CITY, PROC_S_PAID},
};

static const char *actor_name(enum procedure_actor a)
{
    static const char *const names[] = {"the institution", "the city bureau",
                                        "the evaluation institution"};
    return (a >= PROC_BY_INSTITUTION && a <= PROC_BY_ASSESSOR) ? names[a] : "?";
}

int procedure_step(enum procedure_kind k, enum procedure_state s, enum procedure_action a,
                   enum procedure_actor actor, const char *reason, int64_t on_ms,
                   int64_t published_until_ms, enum procedure_state *next, char *err)
{
    const char *kn = procedure_kind_name(k), *sn = procedure_state_name(s),
               *an = procedure_action_name(a);
    if (!kn || !sn || !an)
        return rc_fail(err, RC_INVAL, "procedure: unknown kind, state or action");
    const struct rule *found = NULL;
    bool other_actor = false;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct rule *r = &rules[i];
        if (r->kind != k || r->from != s || r->action != a)
            continue;
        if (r->actor == actor)
            found = r;
        else
            other_actor = true;
    }
    if (!found) {
        if (other_actor)
            return rc_fail(err, RC_INVAL, "%s: %s may not %s", kn, actor_name(actor), an);
        return rc_fail(err, RC_INVAL, "%s: cannot %s in state %s", kn, an, sn);
    }
    if (a == PROC_A_RETURN && (!reason || !*reason))
        return rc_fail(err, RC_INVAL, "%s: a return needs a reason", kn);
    if (reason && strlen(reason) > PROCEDURE_REASON_MAX)
        return rc_fail(err, RC_LIMIT, "%s: reason over %d bytes", kn, PROCEDURE_REASON_MAX);
    if (a == PROC_A_PAY && published_until_ms > 0 && on_ms < published_until_ms) {
        char d[TS_DATE_LEN + 1];
        if (ts_format_date(published_until_ms, d) != RC_OK)
            snprintf(d, sizeof d, "?");
        return rc_fail(err, RC_INVAL, "%s: the notice period (公示) runs until %s", kn, d);
    }
    *next = found->to;
    return RC_OK;
}

/* Days since 1970-01-01 of the Asia/Shanghai date of ms. */
static int64_t day_number(int64_t ms)
{
    return (ms + TS_SHANGHAI_OFFSET_MS) / DAY_MS;
}

bool procedure_application_late(int64_t submitted_ms, int64_t first_session_ms, int64_t *lead_days)
{
    int64_t lead = day_number(first_session_ms) - day_number(submitted_ms);
    if (lead_days)
        *lead_days = lead;
    return lead < PROCEDURE_APPLY_LEAD_DAYS;
}

int procedure_review_due(const struct workdays *w, int64_t submitted_ms, int64_t reviewed_ms,
                         unsigned flags, int64_t *due_ms, bool *late, bool *fallback, char *err)
{
    int rc = workdays_add(w, submitted_ms, PROCEDURE_REVIEW_WORKDAYS, flags, due_ms, fallback, err);
    if (rc)
        return rc;
    *late = reviewed_ms > 0 && day_number(reviewed_ms) > day_number(*due_ms);
    return RC_OK;
}

bool procedure_claim_late(int64_t assessed_ms, int64_t claimed_ms, int64_t *days)
{
    int64_t d = day_number(claimed_ms) - day_number(assessed_ms);
    if (days)
        *days = d;
    return d > PROCEDURE_CLAIM_DAYS;
}

static const char *const allowance_rule_names[] = {"", "allowance_no_training_subsidy",
                                                   "allowance_once", "allowance_too_late"};

const char *procedure_allowance_rule_name(enum procedure_allowance_rule r)
{
    return (r > PROC_ALLOW_OK && r <= PROC_ALLOW_TOO_LATE) ? allowance_rule_names[r] : NULL;
}

/* The same rule as the class claim's living_allowance_window (engine/subsidy.c), so that the
 * record and the claim's figures never disagree on a date. */
int procedure_allowance_until(int64_t training_end_ms, int64_t *until_ms, char *err)
{
    char d[TS_DATE_LEN + 1], e[TS_DATE_LEN + 8];
    if (training_end_ms <= 0 || ts_format_date(training_end_ms, d) != RC_OK)
        return rc_fail(err, RC_INVAL, "allowance: the training's end is out of range");
    long y = strtol(d, NULL, 10);
    if (y < 1970 || y >= 9999)
        return rc_fail(err, RC_INVAL, "allowance: the training's end is out of range");
    snprintf(e, sizeof e, "%04ld%s", y + 1, d + 4);
    if (ts_parse_date(e, until_ms, err) != RC_OK) {
        snprintf(e, sizeof e, "%04ld-02-28", y + 1);
        if (ts_parse_date(e, until_ms, err) != RC_OK)
            return RC_INVAL;
    }
    *until_ms += DAY_MS;
    return RC_OK;
}

enum procedure_allowance_rule procedure_allowance_check(bool training_paid, bool allowance_before,
                                                        int64_t training_end_ms, int64_t claimed_ms)
{
    char err[ERR_LEN];
    int64_t until = 0;
    if (!training_paid)
        return PROC_ALLOW_NO_TRAINING_SUBSIDY;
    if (allowance_before)
        return PROC_ALLOW_ONCE;
    if (procedure_allowance_until(training_end_ms, &until, err) != RC_OK ||
        day_number(claimed_ms) >= day_number(until))
        return PROC_ALLOW_TOO_LATE;
    return PROC_ALLOW_OK;
}

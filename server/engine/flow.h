/* The subsidy procedure on the stored records (docs/SUBSIDY.md): one step of a class's
 * application or claim, checked by engine/procedure.c, dated, given its finding and appended
 * to the store's chain (store_step_insert); and a class's procedure read back.
 *
 * Invariants:
 * - A refused step changes nothing; an accepted one is one appended row, whatever its finding.
 * - A claim is accepted only for a class whose application is approved (only approved classes
 *   count toward subsidies), and freezes the figures it rests on: their SHA-256, totals and
 *   count go into the step; flow_status recomputes them and reports a change as the finding
 *   claim_figures_changed, never silently.
 * - Payment waits for the end of the notice period (公示) of the publish step, counted in
 *   working days on the calendar and recorded in that step. */
#ifndef ROLLCALL_FLOW_H
#define ROLLCALL_FLOW_H

#include "engine/procedure.h"
#include "engine/workdays.h"
#include "store/store.h"

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

enum {
    FLOW_NOTICE_WORKDAYS_DEFAULT = 5, /* 公示: 5 working days unless the bureau sets another */
    FLOW_NOTICE_WORKDAYS_MAX = 60,
    FLOW_REFERENCE_MAX = 64, /* bytes of a payment reference */
};

struct flow_request {
    enum procedure_kind kind;
    const char *class_id;
    const char *trainee; /* allowance: the masked number or pseudonym on class_id's roster */
    enum procedure_action action;
    enum procedure_actor actor;
    const char *by;          /* who, as recorded: "user:NAME", a token's name, "cli:NAME" */
    int64_t on_ms;           /* the business date (local midnight) */
    const char *reason;      /* required for a return; may be NULL otherwise */
    int64_t notice_workdays; /* publish: the notice period (0: the default) */
    int64_t amount_yuan;     /* pay: the amount paid */
    const char *reference;   /* pay: the payment's reference */
    unsigned calendar_flags; /* WORKDAYS_WEEKEND_FALLBACK or 0 */
    int64_t now_ms;          /* when it is recorded */
};

/* Checks and appends one step. A living allowance (PROC_ALLOWANCE) is the chain of the
 * trainee's city-wide pseudonym (one per person, whichever institution claims it); its submit
 * is refused naming the rule (allowance_no_training_subsidy: class_id's claim is not paid or
 * does not subsidise the trainee; allowance_once; allowance_too_late: more than a year after
 * the class's last session); its payment is SUBSIDY_LIVING_ALLOWANCE_YUAN unless amount_yuan
 * says otherwise. *out (may be NULL) gets the stored step. Returns 0,
 * RC_NOTFOUND (no class, no such trainee), RC_INVAL (not allowed now, bad argument), RC_CONFLICT (the chain
 * moved meanwhile), the calendar's RC_NOTFOUND, or a store error, with err. The caller must
 * not hold a transaction; the engine state (classes_init) must be set up. */
int flow_act(store *st, const struct workdays *w, const struct flow_request *rq,
             struct store_step *out, char *err);

/* The procedure of class_id as JSON: {"class", "application": {"state", "steps": [...],
 * "review_due"}, "claim": {"state", "steps": [...], "frozen", "figures_changed"},
 * "allowances": [{"trainee" (masked), "state", "steps"}] (the roster's allowance chains
 * submitted for this class)}; each step
 * {"action", "state", "on", "by", "at", "reason", "finding", "data"}. now_ms dates the
 * recomputed figures. *out is the caller's (cJSON_Delete). Returns 0, RC_NOTFOUND or errors. */
int flow_status(store *st, const struct workdays *w, const char *class_id, unsigned flags,
                int64_t now_ms, cJSON **out, char *err);

/* Applications waiting for review or reviewed late, for the city's queue: JSON array of
 * {"class", "submitted_on", "review_due", "state", "late_review"}. *out is the caller's. */
int flow_review_queue(store *st, const struct workdays *w, unsigned flags, int64_t today_ms,
                      cJSON **out, char *err);

#endif

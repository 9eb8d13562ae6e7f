/* The subsidy procedure of the seed's annex 4 (docs/SUBSIDY.md) as states, transitions and
 * deadlines: a class application (开班申请) reviewed by the city bureau, a subsidy claim
 * (补贴申请) audited, published (公示) and paid, and the living allowance (生活费补贴).
 *
 * Invariants:
 * - Pure: functions of their arguments and the working-day calendar; nothing is stored here.
 * - A transition is allowed only from its states and for its actor; everything else is
 *   refused with one line naming the state and the action, and changes nothing.
 * - A deadline missed never refuses a step: the step is accepted and carries its finding
 *   (late_application, late_review, late_claim), as the policy says ("逾期...予以记录").
 * - Dates are Asia/Shanghai calendar dates carried as their local midnight (ts_parse_date). */
#ifndef ROLLCALL_PROCEDURE_H
#define ROLLCALL_PROCEDURE_H

#include "engine/workdays.h"

#include <stdbool.h>
#include <stdint.h>

enum {
    PROCEDURE_APPLY_LEAD_DAYS = 15,    /* 开班: submitted at least 15 days before the start */
    PROCEDURE_REVIEW_WORKDAYS = 5,     /* the city reviews within 5 working days */
    PROCEDURE_CLAIM_DAYS = 30,         /* 补贴申请 within 30 days of the assessment's end */
    PROCEDURE_NOTICE_DAYS_DEFAULT = 5, /* 公示 period, a setting */
    PROCEDURE_REASON_MAX = 500,        /* bytes of a reason */
};

/* PROC_ALLOWANCE: one trainee's living allowance (生活费补贴), claimed by the institution and
 * audited, published and paid like a claim (the same states and transitions). */
enum procedure_kind { PROC_APPLICATION = 0, PROC_CLAIM, PROC_ALLOWANCE, PROC_KINDS };

/* States: applications use NONE, SUBMITTED, RETURNED, APPROVED; claims NONE, SUBMITTED,
 * RETURNED, AUDITED, PUBLISHED, PAID. */
enum procedure_state {
    PROC_S_NONE = 0,
    PROC_S_SUBMITTED,
    PROC_S_RETURNED,
    PROC_S_APPROVED,
    PROC_S_AUDITED,
    PROC_S_PUBLISHED,
    PROC_S_PAID,
    PROC_STATES
};

enum procedure_action {
    PROC_A_SUBMIT = 0, /* institution: submit or resubmit (restarts the review clock) */
    PROC_A_APPROVE,    /* city: approve an application */
    PROC_A_RETURN,     /* city: return with a reason */
    PROC_A_AUDIT,      /* city: a claim passed the audit */
    PROC_A_PUBLISH,    /* city: the list is published for the notice period (公示) */
    PROC_A_PAY,        /* city: payment recorded (amount, date, reference) */
    PROC_ACTIONS
};

enum procedure_actor { PROC_BY_INSTITUTION = 0, PROC_BY_CITY, PROC_BY_ASSESSOR };

enum procedure_finding {
    PROC_F_NONE = 0,
    PROC_F_LATE_APPLICATION, /* submitted fewer than 15 days before the first session */
    PROC_F_LATE_REVIEW,      /* reviewed after the 5th working day: the bureau's own queue */
    PROC_F_LATE_CLAIM,       /* claimed more than 30 days after the assessment's end */
};

/* The state after action a in state s by actor, into *next. reason is required (non-empty)
 * for PROC_A_RETURN. now_ms and published_until_ms (the end of the notice period, 0 if none)
 * let PROC_A_PAY wait for the notice period to end. Returns 0 or RC_INVAL with err. */
int procedure_step(enum procedure_kind k, enum procedure_state s, enum procedure_action a,
                   enum procedure_actor actor, const char *reason, int64_t on_ms,
                   int64_t published_until_ms, enum procedure_state *next, char *err);

/* The application finding: late when first_session_ms's date is fewer than
 * PROCEDURE_APPLY_LEAD_DAYS calendar days after submitted_ms's date. *lead_days gets the
 * difference (may be NULL). */
bool procedure_application_late(int64_t submitted_ms, int64_t first_session_ms, int64_t *lead_days);

/* The last day of the review of an application submitted on submitted_ms: 5 working days
 * later (calendar w, flags as workdays_add). *late is set when reviewed_ms's date is after it
 * (reviewed_ms 0: not reviewed yet, *late false). Returns 0 or workdays_add's errors. */
int procedure_review_due(const struct workdays *w, int64_t submitted_ms, int64_t reviewed_ms,
                         unsigned flags, int64_t *due_ms, bool *late, bool *fallback, char *err);

/* The claim finding: late when claimed_ms's date is more than PROCEDURE_CLAIM_DAYS days after
 * assessed_ms's date (the last assessment of the class). Day 30 is in time, day 31 late.
 * *days gets the difference (may be NULL). */
bool procedure_claim_late(int64_t assessed_ms, int64_t claimed_ms, int64_t *days);

/* Why a living allowance (生活费补贴) is refused, checked when the institution submits it
 * (seed, 二(一) of the allowance procedure: "培训结束后...一年内申请"). */
enum procedure_allowance_rule {
    PROC_ALLOW_OK = 0,
    PROC_ALLOW_NO_TRAINING_SUBSIDY, /* allowance_no_training_subsidy: no paid claim lists them */
    PROC_ALLOW_ONCE,                /* allowance_once: 1,000 yuan once per person, city-wide */
    PROC_ALLOW_TOO_LATE,            /* allowance_too_late: more than a year after the training */
};

/* The first local date out of the allowance window of a training that ended on
 * training_end_ms: the day after the same date one year later (29 February: 28 February),
 * as its local midnight, into *until_ms. Returns 0 or RC_INVAL (date out of range) with err. */
int procedure_allowance_until(int64_t training_end_ms, int64_t *until_ms, char *err);

/* The first rule refusing an allowance claimed on claimed_ms: training_paid says a paid claim
 * lists the trainee, allowance_before that another allowance of theirs (city-wide pseudonym)
 * is submitted or further, training_end_ms the end of the class's last session. Checked in
 * that order; PROC_ALLOW_OK when none refuses, PROC_ALLOW_TOO_LATE also for a date out of
 * range. */
enum procedure_allowance_rule procedure_allowance_check(bool training_paid, bool allowance_before,
                                                        int64_t training_end_ms,
                                                        int64_t claimed_ms);

/* "allowance_no_training_subsidy", "allowance_once", "allowance_too_late"; NULL for
 * PROC_ALLOW_OK or anything else. Static storage. */
const char *procedure_allowance_rule_name(enum procedure_allowance_rule r);

/* "application", "claim", "allowance"; "submitted", ...; "submit", ...; "late_application", ... NULL for
 * anything else. Static storage. */
const char *procedure_kind_name(enum procedure_kind k);
const char *procedure_state_name(enum procedure_state s);
const char *procedure_action_name(enum procedure_action a);
const char *procedure_finding_name(enum procedure_finding f);
/* Parses an action or state name. Returns 0 or RC_INVAL. */
int procedure_action_parse(const char *s, enum procedure_action *out);
int procedure_state_parse(const char *s, enum procedure_state *out);

#endif

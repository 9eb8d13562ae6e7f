/* The attendance engine: from a class plan and what was recorded (events, recordings, online
 * records, assessments, reviews) to the figures and findings of one class, under a named,
 * versioned policy (docs/ATTENDANCE.md). Pure: no I/O, no clock, no globals.
 *
 * Invariants:
 * - The report is a function of the input sets, not of their order or multiplicity: events,
 *   recordings and reviews are deduplicated by id (an event seen twice keeps its earliest
 *   receipt), every sort uses a total order, so shuffled, duplicated or differently batched
 *   input gives the same report.
 * - Only the server's fence verdicts count (engine_event.verdict); the kiosk's is ignored.
 * - Durations are integer milliseconds; rates are formed only at the end, as sums of attended
 *   over sums of scheduled time (never a mean of rates).
 * - A sign-in is never dropped silently: whatever does not count is a finding. */
#ifndef ROLLCALL_ENGINE_H
#define ROLLCALL_ENGINE_H

#include "engine/plan.h"
#include "event.h"
#include "fence.h"
#include "i18n.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    ENGINE_POLICY_NAME_MAX = 32,
    ENGINE_EVIDENCE_MAX = 8,      /* event ids kept per finding */
    ENGINE_DETAIL_MAX = 200,      /* bytes of a finding's detail */
    ENGINE_DETAIL_CODE_MAX = 31,  /* bytes of a detail template's code */
    ENGINE_DETAIL_ARGS_MAX = 240, /* bytes of a detail's packed arguments */
    ENGINE_REASON_MAX = 256,      /* bytes of a review's reason */
    ENGINE_FINDINGS_MAX = 100000, /* findings of one report; more are counted, not kept */
    ENGINE_INPUT_MAX = 5000000,   /* items of any one input list */
};

/* How far outside a region boundary a venue must lie to be judged outside it: the accuracy of
 * the built-in boundaries (docs/BOUNDARIES.md), so no venue is flagged on the data's error. */
#define ENGINE_REGION_MARGIN_M 1000.0

enum engine_severity { ENGINE_INFO = 0, ENGINE_WARNING = 1, ENGINE_SERIOUS = 2 };

enum engine_finding_kind {
    ENGINE_F_SIGNIN_OUTSIDE = 0,     /* server verdict outside the fence */
    ENGINE_F_SIGNIN_UNCERTAIN,       /* accuracy circle crosses the fence boundary */
    ENGINE_F_SIGNIN_UNLOCATED,       /* no fix, or the server could not judge it */
    ENGINE_F_SIGNIN_WITHOUT_SIGNOUT, /* a counted sign-in never closed */
    ENGINE_F_NO_SESSION,             /* a sign-in/out that matches no offline session */
    ENGINE_F_NOT_ON_ROSTER,          /* a sign-in/out by someone not on the roster */
    ENGINE_F_ONLINE_SHARE_PLAN,      /* the plan's online share over the limit */
    ENGINE_F_ONLINE_SHARE_TRAINEE,   /* a trainee's actual online share over the limit */
    ENGINE_F_RECORDING_GAP,          /* an unrecorded stretch of an offline session */
    ENGINE_F_ATTENDANCE_LOW,         /* class attendance under the warning/serious threshold */
    ENGINE_F_IMPOSSIBLE_TRAVEL,      /* one trainee on two devices too far apart in time */
    ENGINE_F_KIOSK_SILENT,           /* a venue's kiosk silent during a session */
    ENGINE_F_CLOCK,                  /* device clock disagrees with GNSS, server or itself */
    ENGINE_F_CHAIN_CONFLICT,         /* different bytes at a stored (device, seq) */
    ENGINE_F_VENUE_OUTSIDE_REGION,   /* a venue fence not inside Tianjin */
    ENGINE_F_LATE_APPLICATION,       /* class applied for less than the lead before its start */
    ENGINE_F_LATE_SUBSIDY,           /* subsidy applied for too long after the assessment */
    ENGINE_F_LATE_RECORDING,         /* a recording registered long after it ended (counted) */
    ENGINE_F_ROLLCALL_MISSED,        /* a trainee present at a roll-call did not answer it */
    ENGINE_F_GNSS_QUALITY,           /* a venue kiosk's receiver doubted its own fixes */
    ENGINE_F_VENUE_OUTSIDE_DISTRICT, /* a venue not in the class's declared district */
    ENGINE_F_KIND_COUNT
};

enum engine_subject {
    ENGINE_S_CLASS = 0,
    ENGINE_S_SESSION,
    ENGINE_S_TRAINEE,
    ENGINE_S_DEVICE,
    ENGINE_S_VENUE,
};

/* A policy: every parameter of the figures. engine_policy_default fills `default` v1. */
struct engine_policy {
    char name[ENGINE_POLICY_NAME_MAX + 1];
    int64_t version;
    int64_t early_window_ms; /* a sign-in counts from this long before the start */
    int64_t late_grace_ms;   /* arriving within this of the start counts from the start */
    int64_t leave_grace_ms;  /* leaving within this of the end counts to the end */
    bool count_inside, count_uncertain, count_outside, count_no_fix; /* without a review */
    int64_t recording_gap_ms;      /* an unrecorded stretch longer than this is a finding */
    int64_t recording_late_ms;     /* registered longer than this after its end: finding */
    double attendance_warning;     /* class rate below: warning */
    double attendance_serious;     /* class rate below: serious */
    double online_share_max;       /* online share above: finding (and no subsidy) */
    double travel_speed_mps;       /* faster than this between two devices is impossible */
    double travel_min_m;           /* distances below this are not judged (same venue) */
    int64_t kiosk_silence_ms;      /* no event from a venue's kiosk for longer: finding */
    int64_t clock_skew_ms;         /* clock disagreement beyond this: finding */
    int64_t application_lead_days; /* class applied for at least this many days before */
    int64_t subsidy_deadline_days; /* subsidy applied for within this many days after */
    int64_t minutes_per_hour;      /* minutes of one 学时 */
    /* A missed random roll-call (随机点名) ends presence at its opening until the trainee's
     * next counted confirmation or sign-in; off: it is only a finding. */
    bool rollcall_missed_ends_presence;
    char region[ENGINE_POLICY_NAME_MAX + 1];
    double region_min_lat, region_max_lat, region_min_lon, region_max_lon; /* WGS-84 box */
};

/* What the engine reads of an event: struct event's fields of the same names, without those
 * it never reads (prev, the photo's and the file's texts, detail ...), so that a class's tens
 * of thousands of events take about a quarter of the memory (engine_ev_from fills one). */
struct engine_ev {
    uint32_t has; /* struct event's EVENT_HAS bits, of ENGINE_EV_HAS */
    enum event_type type;
    enum event_verdict verdict; /* the kiosk's */
    int64_t seq;
    int64_t ts_ms;
    int64_t start_ms, end_ms;
    int64_t skew_ms;
    struct event_fix fix;
    char id[EVENT_UUID_LEN + 1];
    char device[EVENT_NAME_MAX + 1];
    char trainee[EVENT_HEX_LEN + 1];
    char trainee_masked[EVENT_MASKED_LEN + 1];
    char class_id[EVENT_NAME_MAX + 1];
    char session[EVENT_NAME_MAX + 1];
    char rollcall[EVENT_NAME_MAX + 1];
    char fence[EVENT_NAME_MAX + 1];
    char camera[EVENT_NAME_MAX + 1];
    char kind[EVENT_KIND_MAX + 1];
};

/* The EVENT_HAS bits of an engine_ev: the optional fields it holds (the store's columns give
 * each of them, so an event read from its row and one parsed from its line are equal). */
#define ENGINE_EV_HAS                                                                              \
    (EVENT_HAS(EVENT_F_TRAINEE) | EVENT_HAS(EVENT_F_TRAINEE_MASKED) | EVENT_HAS(EVENT_F_CLASS) |   \
     EVENT_HAS(EVENT_F_SESSION) | EVENT_HAS(EVENT_F_ROLLCALL) | EVENT_HAS(EVENT_F_FIX) |           \
     EVENT_HAS(EVENT_F_FENCE) | EVENT_HAS(EVENT_F_VERDICT) | EVENT_HAS(EVENT_F_CAMERA) |           \
     EVENT_HAS(EVENT_F_START) | EVENT_HAS(EVENT_F_END) | EVENT_HAS(EVENT_F_KIND) |                 \
     EVENT_HAS(EVENT_F_SKEW_MS))

/* dst = what the engine reads of src (has: src's bits of ENGINE_EV_HAS only). */
void engine_ev_from(struct engine_ev *dst, const struct event *src);

/* An event as the server holds it: what the engine reads of the canonical event, the server's
 * own verdict of its fix against the venue fence (0 when it could not judge), and when the
 * server first got it. */
struct engine_event {
    struct engine_ev ev;
    enum event_verdict verdict;
    int64_t received_ms;
};

/* A recording's metadata (from rec_file, or a rec_start/rec_stop pair). */
struct engine_recording {
    char id[EVENT_UUID_LEN + 1]; /* the event that declared it */
    char camera[EVENT_NAME_MAX + 1];
    char class_id[EVENT_NAME_MAX + 1];
    int64_t start_ms, end_ms;
    int64_t registered_ms; /* device time of the declaring rec_file (or closing rec_stop); 0:
                            * unknown. Never changes what counts, only the late finding. */
};

/* A kiosk and the venue fence it stands in. */
struct engine_device {
    char id[EVENT_NAME_MAX + 1];
    char fence[EVENT_NAME_MAX + 1];
};

/* A venue fence's extent (fence_bbox) and a representative point inside it. */
struct engine_venue {
    char fence[EVENT_NAME_MAX + 1];
    double min_lat, min_lon, max_lat, max_lon;
    double lat, lon;
};

/* A reviewer's decision on a flagged sign-in or sign-out. */
struct engine_review {
    char event_id[EVENT_UUID_LEN + 1];
    bool approve;
    char reason[ENGINE_REASON_MAX + 1];
    char reviewer[EVENT_NAME_MAX + 1];
    int64_t decided_ms; /* the latest decision on an event wins; on a tie, a rejection */
};

/* Two different events stored for one (device, seq). */
struct engine_conflict {
    char device[EVENT_NAME_MAX + 1];
    int64_t seq;
    char stored_id[EVENT_UUID_LEN + 1];
    char other_id[EVENT_UUID_LEN + 1];
};

struct engine_input {
    const struct plan *plan;
    const struct engine_policy *policy;
    const struct engine_event *events; /* any order, duplicates allowed */
    size_t n_events;
    const struct engine_recording *recordings;
    size_t n_recordings;
    const struct plan_online *online;
    size_t n_online;
    const struct plan_assessment *assessments;
    size_t n_assessments;
    const struct engine_review *reviews;
    size_t n_reviews;
    const struct engine_device *devices;
    size_t n_devices;
    const struct engine_venue *venues;
    size_t n_venues;
    const struct engine_conflict *conflicts;
    size_t n_conflicts;
    /* Tianjin's districts, fence ids their GB/T 2260 codes (engine/regions.h); NULL: venues
     * are judged against the policy's region box instead, and not against districts. */
    const fence_set *regions;
    int64_t as_of_ms;           /* sessions ending after this are not held yet; 0: all held */
    int64_t subsidy_applied_ms; /* local midnight of the subsidy application date; 0: none */
    /* The date of the class application's latest submission in the subsidy procedure (a
     * resubmission after a return restarts it); 0: none, the plan's applied_on counts. */
    int64_t application_ms;
};

struct engine_finding {
    enum engine_finding_kind kind;
    enum engine_severity severity;
    enum engine_subject subject_kind;
    char subject[EVENT_HEX_LEN + 1];    /* class, session, pseudonym, device or fence id */
    char trainee[EVENT_HEX_LEN + 1];    /* the trainee concerned, "" if none */
    char session[EVENT_NAME_MAX + 1];   /* the session concerned, "" if none */
    int64_t at_ms;                      /* when it happened (0 if it has no time) */
    char detail[ENGINE_DETAIL_MAX + 1]; /* English, from the template detail_code */
    char detail_code[ENGINE_DETAIL_CODE_MAX + 1]; /* the catalogue's detail.<code>; "" none */
    char detail_args[ENGINE_DETAIL_ARGS_MAX + 1]; /* its arguments, packed: see engine_detail_arg */
    size_t n_evidence;
    char evidence[ENGINE_EVIDENCE_MAX][EVENT_UUID_LEN + 1]; /* event ids, sorted */
    bool reviewed, approved;
    char review_reason[ENGINE_REASON_MAX + 1];
    char reviewer[EVENT_NAME_MAX + 1];
};

struct engine_trainee {
    char trainee[EVENT_HEX_LEN + 1];
    char masked[TRAINEE_ID_LEN + 1];
    char name[PLAN_NAME_MAX + 1];
    bool student;
    int64_t scheduled_ms, attended_ms, offline_ms, online_ms;
    int64_t attended_unreviewed_ms; /* what attended_ms would be without any review */
    size_t rollcalls_held;          /* roll-calls of held sessions opened while signed in */
    size_t rollcalls_missed;        /* of those, not answered by a counted confirmation */
    bool assessed, passed;
    int64_t assessed_on_ms; /* the passing assessment's date, else the latest one; 0 if none */
};

struct engine_session {
    char id[PLAN_ID_MAX + 1];
    char fence[PLAN_ID_MAX + 1];
    enum plan_mode mode;
    int64_t start_ms, end_ms;
    bool held;           /* ended by as_of; figures count held sessions only */
    int64_t recorded_ms; /* offline: union of recordings clipped to the session */
    int64_t attended_ms; /* summed over the roster */
    size_t present;      /* trainees with any presence */
};

struct engine_report {
    char class_id[PLAN_ID_MAX + 1];
    char institution[PLAN_ID_MAX + 1];
    char district[PLAN_DISTRICT_LEN + 1];
    char occupation[CATALOGUE_CODE_MAX + 1];
    enum catalogue_level level;
    struct engine_policy policy;
    int64_t as_of_ms;
    int64_t scheduled_ms;        /* one trainee's scheduled time: held sessions */
    int64_t planned_ms;          /* all sessions of the plan */
    int64_t online_planned_ms;   /* online sessions of the plan */
    int64_t offline_held_ms;     /* held offline sessions (coverage denominator) */
    int64_t recorded_ms;         /* recorded time within held offline sessions */
    int64_t roster_scheduled_ms; /* scheduled_ms x roster size */
    int64_t roster_attended_ms;
    int64_t roster_online_ms;
    size_t enrolled, assessed, passed;
    size_t n_trainees;
    struct engine_trainee *trainees; /* roster order */
    size_t n_sessions;
    struct engine_session *sessions; /* by start */
    size_t n_findings;
    struct engine_finding *findings; /* severity, kind, subject, time, evidence */
    size_t findings_dropped;         /* beyond ENGINE_FINDINGS_MAX */
    size_t by_severity[3];
    size_t n_reviews;
    struct engine_review *reviews; /* the decision in force per event, by event id */
};

/* A finding's detail in another language: the template detail.<f->detail_code> of the
 * message catalogue (po/zh_CN.po, po/en.po; i18n.h) with f's arguments. Each argument is a name and a text
 * already formatted (times in Asia/Shanghai, numbers), or "@w" for the catalogue's word.<w>.
 * engine_detail_render: the text in lang into out (n bytes), 0 or -1 (no code, or the
 * catalogue lacks a piece). engine_detail_arg: the value of argument name copied into buf,
 * NULL when f has none. engine_detail_each: calls fn for each argument in order (fn non-zero
 * stops and is returned). */
int engine_detail_render(const struct engine_finding *f, enum i18n_lang lang, char *out, size_t n);
const char *engine_detail_arg(const struct engine_finding *f, const char *name,
                              char buf[ENGINE_DETAIL_ARGS_MAX + 1]);
int engine_detail_each(const struct engine_finding *f,
                       int (*fn)(const char *name, const char *value, void *ctx), void *ctx);

/* Fills the `default` policy, version 1 (INTERFACES.md, DOMAIN.md). Cannot fail. */
void engine_policy_default(struct engine_policy *p);

/* Checks a policy's parameters are in range. Returns 0 or RC_INVAL naming the parameter. */
int engine_policy_check(const struct engine_policy *p, char *err);

/* Computes the report of in->plan. *out is new (engine_report_free). Returns 0, RC_INVAL
 * (bad input, err says which) or RC_NOMEM. */
int engine_run(const struct engine_input *in, struct engine_report **out, char *err);

/* Frees a report; NULL is fine. */
void engine_report_free(struct engine_report *r);

/* num / den, and *defined = den > 0 (the ratio is 0 when undefined). */
double engine_ratio(int64_t num, int64_t den, bool *defined);

/* Wire names: "signin_outside", ...; "info", "warning", "serious"; "class", "session", ...
 * Static storage; NULL for an unknown value. */
const char *engine_finding_name(enum engine_finding_kind k);
const char *engine_severity_name(enum engine_severity s);
const char *engine_subject_name(enum engine_subject s);

/* The recordings of class_id declared by events (in any order, duplicates allowed; read by
 * device and seq, equal keys in their order): every rec_file (start..end), and every
 * rec_start closed by the next rec_stop of the same device and camera (start field or ts ..
 * end field or ts). *out is new (free()), *n its count. Shared by the collector (figures.c)
 * and the offline verifier so both read the same recordings. Returns 0, RC_NOMEM or
 * RC_LIMIT. */
int engine_recordings_derive(const struct engine_event *events, size_t n_events,
                             const char *class_id, struct engine_recording **out, size_t *n,
                             char *err);

/* qsort's comparator of pointers to engine events: by device (strcmp), then seq. */
int engine_event_cmp_device_seq(const void *a, const void *b);

/* FNV-1a of a string: the hash of the engine's open-addressing tables. */
uint64_t engine_hash_str(const char *s);

/* The venue of fence f under id: its bounding box and a point standing for it (a circle's
 * centre, else the box's centre). */
void engine_venue_of(const struct fence *f, const char *id, struct engine_venue *out);

/* Totals of several class reports grouped by institution or district (hours-weighted). */
enum engine_group { ENGINE_BY_INSTITUTION = 0, ENGINE_BY_DISTRICT };

struct engine_total {
    char key[PLAN_ID_MAX + 1]; /* institution id or district code */
    int64_t minutes_per_hour;  /* of the reports' policy (all the same) */
    size_t classes;
    int64_t roster_scheduled_ms, roster_attended_ms, roster_online_ms;
    int64_t offline_held_ms, recorded_ms;
    int64_t planned_ms, online_planned_ms;
    size_t enrolled, assessed, passed;
    size_t by_severity[3];
};

/* Sums the reports by group into *out (sorted by key; caller frees with free()). A class
 * appearing twice (same class id), or reports whose policies count 学时 in different minutes,
 * are refused. Returns 0, RC_INVAL or RC_NOMEM. */
int engine_aggregate(const struct engine_report *const *reports, size_t n, enum engine_group by,
                     struct engine_total **out, size_t *n_out, char *err);

#endif

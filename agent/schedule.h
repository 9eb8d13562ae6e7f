/* The kiosk's schedule: the classes at its venue from yesterday to a week ahead, their
 * sessions and rosters (pseudonym, masked ID number, masked name), as the collector sends them
 * (GET /v1/devices/{id}/schedule, docs/API.md) and the outbox keeps them. Sign-ins are checked
 * against it (schedule_check, a pure function of the schedule and the time).
 *
 * Invariants:
 * - the kiosk never holds a full name or a clear ID number: names arrive masked ("张*伟");
 * - the last schedule received stays in force until a newer one arrives (offline included);
 * - a kiosk that never received one checks nothing (schedule_load: RC_NOTFOUND), nor does one
 *   whose schedule lists no class.
 * No libcurl here: the daemon, which links this, makes no HTTP requests (sync.c fetches). */
#ifndef ROLLCALL_AGENT_SCHEDULE_H
#define ROLLCALL_AGENT_SCHEDULE_H

#include "event.h"
#include "outbox.h"
#include "trainee.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    SCHEDULE_CLASSES_MAX = 200,        /* classes in one schedule */
    SCHEDULE_SESSIONS_MAX = 256,       /* sessions of one class */
    SCHEDULE_ROSTER_MAX = 500,         /* trainees of one class */
    SCHEDULE_NAME_MAX = 96,            /* bytes of a masked name */
    SCHEDULE_WINDOW_MAX_MIN = 24 * 60, /* the policy windows the kiosk accepts, minutes */
    SCHEDULE_ROLLCALLS_MAX = 8,        /* random roll-calls per session (plan PLAN_ROLLCALLS_MAX) */
    SCHEDULE_ROLLCALL_WINDOW_MAX_MIN = 60,
};

/* The policy's windows when a schedule does not say (docs/ATTENDANCE.md, policy default). */
#define SCHEDULE_EARLY_WINDOW_MS_DEFAULT INT64_C(1800000) /* 30 min before the start */
#define SCHEDULE_LEAVE_GRACE_MS_DEFAULT INT64_C(900000)   /* 15 min after the end */

struct schedule_session {
    char id[EVENT_NAME_MAX + 1];
    int64_t start_ms, end_ms;
};

struct schedule_trainee {
    char trainee[TRAINEE_PSEUDONYM_LEN + 1];
    char masked[TRAINEE_ID_LEN + 1];
    char name[SCHEDULE_NAME_MAX + 1]; /* masked: "张*伟" */
};

struct schedule_class {
    char id[EVENT_NAME_MAX + 1];
    int rollcalls;              /* random roll-calls per session (随机点名); 0 when absent */
    int64_t rollcall_window_ms; /* how long a trainee has to confirm one */
    size_t n_sessions;
    struct schedule_session *sessions;
    size_t n_roster;
    struct schedule_trainee *roster;
};

struct schedule {
    char fence[EVENT_NAME_MAX + 1];
    int64_t early_window_ms; /* a sign-in is accepted from this long before a session start */
    int64_t leave_grace_ms;  /* a sign-out is accepted until this long after its end */
    size_t n_classes;
    struct schedule_class *classes;
};

/* Parses the collector's schedule answer (len bytes of JSON). Only offline sessions are kept.
 * Returns 0 and *out (free with schedule_free), RC_INVAL (err says what is wrong), RC_LIMIT or
 * RC_NOMEM. */
int schedule_parse(const char *text, size_t len, struct schedule **out, char *err);
/* Frees s; NULL is ignored. */
void schedule_free(struct schedule *s);

/* Reads and parses the schedule stored in ob. Returns 0 with *out and *meta (meta may be
 * NULL), RC_NOTFOUND when none was ever received, or an error. */
int schedule_load(outbox *ob, struct schedule **out, struct outbox_schedule_meta *meta, char *err);

enum schedule_verdict {
    SCHEDULE_OK = 0,
    SCHEDULE_NO_SESSION,    /* the class has no session at this venue running now */
    SCHEDULE_NOT_ON_ROSTER, /* it has, but the trainee is not on its roster */
};

/* What schedule_check found. */
struct schedule_match {
    const struct schedule_class *cls;       /* NULL when the class is not in the schedule */
    const struct schedule_session *session; /* a session whose window holds now, or NULL */
    const struct schedule_trainee *trainee; /* the roster entry, or NULL */
};

/* Checks a sign-in (type EVENT_SIGNIN) or sign-out (EVENT_SIGNOUT) of the trainee with this
 * pseudonym for class_id (and session, NULL or "" for any) at now_ms: the class must have a
 * session whose window holds now_ms — [start - early window, end) for a sign-in,
 * [start - early window, end + leave grace] for a sign-out — and the trainee must be on its
 * roster. A schedule without any class checks nothing: SCHEDULE_OK with an empty match (the
 * collector knows no class at this venue, like a kiosk that never received a schedule). Pure:
 * reads only its arguments. */
enum schedule_verdict schedule_check(const struct schedule *s, const char *class_id,
                                     const char *session, const char *pseudonym,
                                     enum event_type type, int64_t now_ms,
                                     struct schedule_match *m);

/* Wire name of a verdict ("ok", "no_session", "not_on_roster"). Static storage. */
const char *schedule_verdict_name(enum schedule_verdict v);

#endif

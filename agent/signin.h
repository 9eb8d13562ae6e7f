/* Sign-in, sign-out and roll-call confirmation: validate and pseudonymise the trainee's ID, judge the fix against the
 * venue fence, append the event to the outbox durably, and describe the result. Shared by the
 * one-shot command and the daemon's control socket.
 * Invariant: a clear ID number never leaves this module: events carry the HMAC pseudonym and
 * the masked form only, and errors never quote the number. */
#ifndef ROLLCALL_AGENT_SIGNIN_H
#define ROLLCALL_AGENT_SIGNIN_H

#include "event.h"
#include "fence.h"
#include "gnss.h"
#include "kiosk.h"
#include "schedule.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SIGNIN_JSON_MAX = 1024 };

struct signin_request {
    enum event_type type;     /* EVENT_SIGNIN, EVENT_SIGNOUT or EVENT_ROLLCALL_CONFIRM */
    const char *trainee;      /* the 18-character resident ID as typed or read */
    const char *class_id;     /* required */
    const char *session;      /* NULL or "" when not given */
    bool override_roster;     /* an operator's override: skip the schedule check, flag the event */
    const char *rollcall;     /* EVENT_ROLLCALL_CONFIRM: the roll-call ("R1"); session required */
    const char *photo_sha256; /* NULL, or the hash of a photo stored by the screen (photo.h) */
    const char *no_photo;     /* NULL, or why the screen has none: no_camera, refused, failed */
};

/* Why a request was refused by the kiosk's schedule (signin_record's RC_AUTH). */
enum signin_refusal {
    SIGNIN_REFUSED_NONE = 0,
    SIGNIN_REFUSED_NO_SESSION,      /* the class has no session at this venue running now */
    SIGNIN_REFUSED_NOT_ON_ROSTER,   /* the trainee is not on the class's roster */
    SIGNIN_REFUSED_NO_ROLLCALL,     /* a confirmation of a roll-call that is not open (yet) */
    SIGNIN_REFUSED_ROLLCALL_CLOSED, /* a confirmation after the roll-call's window */
};

struct signin_result {
    char event_id[EVENT_UUID_LEN + 1];
    int64_t seq;
    enum event_type type;
    enum fence_verdict verdict;
    double distance_m; /* NaN for no_fix */
    double eph_m;      /* accuracy used in the verdict; NaN for no_fix */
    char fence[EVENT_NAME_MAX + 1];
    char trainee_masked[EVENT_MASKED_LEN + 1];
    bool has_fix;
    struct gnss_fix fix;
    char name[SCHEDULE_NAME_MAX + 1];  /* the roster's masked name ("张*伟"), "" when unknown */
    bool overridden;                   /* recorded past the roster check by an operator */
    enum signin_refusal refusal;       /* set when signin_record returned RC_AUTH */
    char session[EVENT_NAME_MAX + 1];  /* as recorded, "" when none */
    char rollcall[EVENT_NAME_MAX + 1]; /* a confirmation's roll-call */
    char photo_sha256[EVENT_HEX_LEN + 1]; /* the photo the event names, "" when none */
    char no_photo[EVENT_KIND_MAX + 1];    /* why there is none, "" when not said */
};

/* Checks a request without recording anything: type, ID number (GB 11643 check character,
 * date, region), class and session names. 0 or RC_INVAL with err (never quoting the number). */
int signin_check_request(const struct signin_request *req, char *err);

/* The kiosk's stored schedule, parsed again only when its version changed (cached in k).
 * 0 and *out (owned by k), RC_NOTFOUND (none received yet), or an rc. */
int signin_schedule(struct kiosk *k, const struct schedule **out, char *err);

/* Records a sign-in, sign-out or roll-call confirmation with fix (NULL, or a fix without a usable position, records
 * no_fix). When the kiosk holds a schedule (schedule.h) and the request is no override, the
 * trainee must be on the roster of a session of the class running now. Returns 0 with *res
 * when the event is durably in the outbox; RC_INVAL for a bad ID, class or session (nothing
 * recorded; err says why without quoting the number); RC_AUTH when the schedule refuses it
 * (res->refusal says why, err is one line in Chinese then English); RC_FULL when the outbox
 * refuses; RC_DB. A confirmation also needs its roll-call open now (rollcall.h): else RC_AUTH
 * with refusal no_rollcall or rollcall_closed; it takes no override. With photo_sha256 the photo must be
 * stored under the data directory with that hash (photo_check: RC_NOTFOUND, RC_CONFLICT); the
 * event carries the hash, or the no_photo reason. */
int signin_record(struct kiosk *k, const struct signin_request *req, const struct gnss_fix *fix,
                  struct signin_result *res, char *err);

/* The INTERFACES.md JSON form of a result: {"event_id","seq","verdict","distance_m","fence",
 * "fix":{"lat","lon","eph","mode","sats","time","source"}} (fix null without one), plus
 * "type" and "trainee_masked". Returns 0 or RC_LIMIT. */
int signin_result_json(const struct signin_result *res, char *buf, size_t cap);

/* The refusal's wire name ("no_session", "not_on_roster", "no_rollcall", "rollcall_closed";
 * "" for none). Static storage. */
const char *signin_refusal_name(enum signin_refusal r);

/* A one-line human summary ("recorded: sign-in #12 inside hexi-centre ..."). */
void signin_result_text(const struct signin_result *res, char *buf, size_t cap);

#endif

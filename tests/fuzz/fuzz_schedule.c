/* Fuzzes schedule_parse, the reader of the collector's schedule answer on the kiosk: whatever
 * it accepts is within its limits (classes, sessions, roster), has sessions that end after
 * they start, and can be checked against at any time without reading outside the struct. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rc.h"
#include "schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct schedule *s = NULL;
    char err[ERR_LEN];
    if (schedule_parse((const char *)data, size, &s, err) != RC_OK) {
        if (s)
            abort();
        return 0;
    }
    if (s->n_classes > SCHEDULE_CLASSES_MAX)
        abort();
    for (size_t i = 0; i < s->n_classes; i++) {
        const struct schedule_class *c = &s->classes[i];
        if (c->n_sessions > SCHEDULE_SESSIONS_MAX || c->n_roster > SCHEDULE_ROSTER_MAX)
            abort();
        for (size_t j = 0; j < c->n_sessions; j++) {
            const struct schedule_session *ss = &c->sessions[j];
            if (ss->end_ms <= ss->start_ms)
                abort();
            struct schedule_match m;
            const char *who = c->n_roster ? c->roster[0].trainee : "x";
            enum schedule_verdict v =
                schedule_check(s, c->id, ss->id, who, EVENT_SIGNIN, ss->start_ms, &m);
            if (v == SCHEDULE_NO_SESSION && m.cls == c)
                abort(); /* its own start is always inside its sign-in window */
            schedule_check(s, c->id, NULL, who, EVENT_SIGNOUT, ss->end_ms, &m);
        }
    }
    schedule_free(s);
    return 0;
}

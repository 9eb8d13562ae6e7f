/* Fuzzes the working-day calendar loader (server/engine/workdays.json's format): any input is
 * loaded or refused with one terminated line; a loaded calendar answers for every date of its
 * years, its worked days are working days and its holidays are not, and add-workdays with the
 * weekend-only fallback always lands on a working day. */
#include "engine/workdays.h"
#include "rc.h"
#include "timeutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[ERR_LEN];
    struct workdays *w = malloc(sizeof *w);
    if (!w)
        return 0;
    int rc = workdays_load_buffer((const char *)data, size, "fuzz", w, err);
    if (rc != RC_OK) {
        if (!memchr(err, '\0', sizeof err) || strchr(err, '\n'))
            abort(); /* errors are one terminated line */
        free(w);
        return 0;
    }
    for (size_t i = 0; i < w->n_years; i++) {
        const struct workdays_year *y = &w->years[i];
        bool work = false;
        for (size_t k = 0; k < y->n_on; k++) {
            if (workdays_is_workday(w, y->on[k].date_ms, 0, &work, NULL, err) != RC_OK || !work)
                abort();
        }
        for (size_t k = 0; k < y->n_off; k++) {
            int64_t d = y->off[k].to_ms;
            if (!workdays_holds(w, d))
                abort();
            if (workdays_is_workday(w, d, 0, &work, NULL, err) != RC_OK || work)
                abort();
            int64_t out = 0;
            if (workdays_add(w, d, 3, WORKDAYS_WEEKEND_FALLBACK, &out, NULL, err) != RC_OK ||
                out <= d ||
                workdays_is_workday(w, out, WORKDAYS_WEEKEND_FALLBACK, &work, NULL, err) != RC_OK ||
                !work)
                abort();
        }
    }
    free(w);
    return 0;
}

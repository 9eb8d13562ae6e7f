/* The daemon's periodic sync (see sync_hook.h): one bounded sync pass. The retry schedule
 * lives in the outbox state (sync_run_once records next_retry_ms after a failure), so a
 * restarted daemon keeps backing off instead of hammering a refusing server. */
#include "sync_hook.h"

#include "rc.h"
#include "sync.h"
#include "timeutil.h"

int sync_hook_run(struct kiosk *k, int64_t *next_ms, char *err)
{
    struct sync_state st;
    struct sync_result res;
    int64_t now = ts_now_ms();
    int rc = sync_state_load(k->ob, &st, err);
    if (rc != RC_OK)
        return rc;
    /* The daemon opens the signing key only when there is something to sign. */
    if (!k->key && (rc = crypto_key_load(k->cfg.key_file, &k->key, err)) != RC_OK)
        return rc;
    if (st.next_retry_ms > now) {
        *next_ms = st.next_retry_ms - now; /* still backing off */
        return RC_OK;
    }
    /* Half the request timeout for starting batches keeps one call short enough for the
     * daemon's control socket (its clients wait CONTROL_TIMEOUT_MS). */
    struct sync_options opt = {.gzip = true, .budget_ms = k->cfg.profile.sync.timeout_s * 1000 / 2};
    rc = sync_run_once(k, &opt, &res, err);
    if (rc == RC_OK && res.budget_spent)
        *next_ms = 0; /* more to send: come back after serving what is waiting */
    else if (rc != RC_OK && res.retry_in_ms > 0)
        *next_ms = res.retry_in_ms;
    return rc;
}

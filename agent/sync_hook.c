/* Placeholder until the uploader exists (see sync_hook.h): nothing is uploaded. */
#include "sync_hook.h"

#include "rc.h"

int sync_hook_run(struct kiosk *k, int64_t *next_ms, char *err)
{
    (void)k;
    (void)next_ms;
    (void)err;
    return RC_OK;
}

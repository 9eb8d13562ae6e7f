/* Shared by the listing commands (see listing.h). */
#include "cmd/listing.h"

#include "rc.h"

#include <stdio.h>

void listing_time(int64_t ms, char out[TS_UTC_LEN + 1])
{
    if (ms <= 0 || ts_format_utc(ms, out) != RC_OK)
        snprintf(out, TS_UTC_LEN + 1, "-");
}

int listing_print_json(const char *key, cJSON *arr, char *err)
{
    cJSON *root = cJSON_CreateObject();
    char *text = NULL;
    if (root && cJSON_AddItemToObject(root, key, arr)) {
        arr = NULL; /* root owns it now */
        text = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(root);
    cJSON_Delete(arr);
    if (!text)
        return rc_fail(err, RC_NOMEM, "out of memory");
    printf("%s\n", text);
    cJSON_free(text);
    return RC_OK;
}

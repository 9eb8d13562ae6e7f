/* Fuzzes the declarative loader through the firmware-profile and agent-config tables: any
 * input is loaded or refused with a one-line message, and whatever loads serialises and loads
 * back to the same struct. */
#include "cfgmap.h"
#include "config.h"
#include "rc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct cfgmap_table *t, const void *loaded)
{
    char err[ERR_LEN];
    cJSON *json = NULL;
    if (cfgmap_to_json(t, loaded, &json, err) != RC_OK)
        abort(); /* a loaded struct always serialises */
    char *text = cJSON_PrintUnformatted(json);
    void *again = malloc(t->size);
    if (text && again) {
        if (cfgmap_load_buffer(t, text, strlen(text), "fuzz", again, err) != RC_OK ||
            memcmp(again, loaded, t->size) != 0)
            abort();
    }
    free(again);
    cJSON_free(text);
    cJSON_Delete(json);
}

static void one(const struct cfgmap_table *t, const uint8_t *data, size_t size)
{
    char err[ERR_LEN];
    void *out = malloc(t->size);
    if (!out)
        return;
    int rc = cfgmap_load_buffer(t, (const char *)data, size, "fuzz", out, err);
    if (rc == RC_OK)
        round_trip(t, out);
    else if (!memchr(err, '\0', sizeof err) || strchr(err, '\n'))
        abort(); /* errors are one terminated line */
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(&config_profile_table, data, size);
    one(&config_agent_table, data, size);
    return 0;
}

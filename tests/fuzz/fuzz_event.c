/* Fuzzes event_parse: whatever it accepts must be canonical (serialise reproduces the input
 * byte for byte), must be valid JSON to an independent parser (cJSON), and must step a fresh
 * chain exactly when it is a seq 1 event. The same bytes, as text, go through the RFC 3339
 * parser: whatever it accepts formats to a canonical time that parses back to the same ms. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "rc.h"
#include "timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_time(const uint8_t *data, size_t size)
{
    char text[TS_RFC3339_MAX + 2];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    int64_t ms;
    char err[ERR_LEN];
    if (ts_parse_rfc3339(text, &ms, err) != RC_OK)
        return;
    char out[TS_UTC_LEN + 1];
    int64_t back;
    if (ts_format_utc(ms, out) != RC_OK || !ts_is_canonical_utc(out) ||
        ts_parse_rfc3339(out, &back, err) != RC_OK || back != ms)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_time(data, size);
    const char *line = (const char *)data;
    struct event ev;
    char err[ERR_LEN];
    if (event_parse(line, size, &ev, err) != RC_OK)
        return 0;
    char buf[EVENT_LINE_MAX + 1];
    size_t len = 0;
    if (event_serialise(&ev, buf, sizeof buf, &len, err) != RC_OK)
        abort();
    if (len != size || memcmp(buf, data, size) != 0)
        abort();
    cJSON *j = cJSON_ParseWithLength(line, size);
    if (!j || !cJSON_IsObject(j))
        abort();
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
    if (!cJSON_IsNumber(seq) || seq->valuedouble != (double)ev.seq)
        abort();
    cJSON_Delete(j);
    struct event_chain c;
    event_chain_init(&c);
    int rc = event_chain_step(&c, line, size, NULL, err);
    if ((rc == RC_OK) != (ev.seq == 1))
        abort();
    return 0;
}

/* Fuzzes the stateless half of batch ingest (ingest_parse: split NDJSON, parse and hash each
 * line, one device, lines linked by seq and prev), without a database. Checks against an
 * independent walk of the same bytes with core's chain verifier (event_chain_verify resumed
 * at the first line's predecessor) and against SHA-256 recomputed here:
 * - accepted: the lines are the input split at '\n' exactly, each hash is SHA-256 of its
 *   bytes, seqs are consecutive, prev links, and the chain verifier agrees;
 * - refused: a status of 400/403/413 and a one-line reason; and when the verifier accepts a
 *   body of at most INGEST_LINES_MAX lines that ends in '\n', so must ingest_parse.
 * An odd-sized input is checked against the device "kiosk-01" (as an upload's token would),
 * an even-sized one against its first line's device. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "event.h"
#include "ingest/ingest.h"
#include "rc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n;
}

/* Does core's verifier accept the whole body as one chain starting at its first line? */
static bool verifier_accepts(const uint8_t *data, size_t size, const char *device)
{
    if (size == 0 || data[size - 1] != '\n')
        return false;
    const uint8_t *nl = memchr(data, '\n', size);
    struct event first;
    char err[ERR_LEN];
    if (event_parse((const char *)data, (size_t)(nl - data), &first, err) != RC_OK)
        return false;
    if (device && strcmp(first.device, device) != 0)
        return false;
    struct event_chain c;
    if (event_chain_resume(&c, first.device, first.seq - 1, first.prev, err) != RC_OK)
        return false;
    size_t count = 0;
    /* event_chain_verify takes the last newline as optional; hand it the body without it. */
    return event_chain_verify(&c, (const char *)data, size - 1, &count, NULL, err) == RC_OK &&
           count == count_lines(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *device = size % 2 ? "kiosk-01" : NULL;
    struct ingest_parsed p;
    struct ingest_result res;
    int rc = ingest_parse(data, size, device, &p, &res);
    bool verified =
        verifier_accepts(data, size, device) && count_lines(data, size) <= INGEST_LINES_MAX;
    if (rc == RC_NOMEM)
        return 0;
    if (rc != RC_OK) {
        if (res.status != 400 && res.status != 403 && res.status != 413)
            abort();
        if (!res.reason[0] || strchr(res.reason, '\n'))
            abort();
        if (verified)
            abort(); /* a chain core accepts was refused */
        return 0;
    }
    if (p.n == 0 || p.n > INGEST_LINES_MAX || !verified)
        abort();
    const char *at = (const char *)data;
    for (size_t i = 0; i < p.n; i++) {
        const struct ingest_line *l = &p.lines[i];
        if (l->bytes != at || at[l->len] != '\n')
            abort();
        at += l->len + 1;
        char hex[CRYPTO_SHA256_HEX_LEN + 1];
        crypto_sha256_hex(l->bytes, l->len, hex);
        if (strcmp(hex, l->hash) != 0)
            abort();
        if (strcmp(l->ev.device, p.lines[0].ev.device) != 0 ||
            (device && strcmp(l->ev.device, device) != 0))
            abort();
        if (i > 0 && (l->ev.seq != p.lines[i - 1].ev.seq + 1 ||
                      strcmp(l->ev.prev, p.lines[i - 1].hash) != 0))
            abort();
    }
    if (at != (const char *)data + size)
        abort();
    ingest_parsed_free(&p);
    return 0;
}

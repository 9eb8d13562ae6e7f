/* What the commands that list stored rows share (`user list`, `signing-key list`): a time as
 * text, and the whole list printed as one JSON object {"KEY": [...]} for --json. */
#ifndef ROLLCALL_SERVER_CMD_LISTING_H
#define ROLLCALL_SERVER_CMD_LISTING_H

#include "timeutil.h"

#include <cJSON.h>
#include <stdint.h>

/* ms as RFC 3339 UTC into out, or "-" when ms <= 0 (never happened) or unformattable. */
void listing_time(int64_t ms, char out[TS_UTC_LEN + 1]);

/* Prints {"key": arr} on one line of stdout and frees arr (in every case). Returns 0, or
 * RC_NOMEM with err set. */
int listing_print_json(const char *key, cJSON *arr, char *err);

#endif

/* utf8: the one text validator (STYLE.md rule 13). Every text that enters the collector or
 * the agent (HTTP bodies and query strings, imports, configuration, event lines) passes
 * through here: strict UTF-8 per RFC 3629 (no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated or stray continuation bytes) and no U+0000, which C strings would
 * silently truncate. A refused text is named in a one-line error; nothing is repaired.
 *
 * Leaf module: fills the caller's err, never logs, allocates nothing. */
#ifndef ROLLCALL_UTF8_H
#define ROLLCALL_UTF8_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

enum {
    UTF8_PATH_LEN = 96, /* bytes of a JSON path named in an error ("plans[3].name") */
};

/* Length (1..4) of the valid UTF-8 sequence at s (n >= 1 bytes available), or 0 with *why set
 * to a static phrase ("overlong encoding", "surrogate", "NUL byte", ...). A NUL byte is refused. */
size_t utf8_seq(const unsigned char *s, size_t n, const char **why);

/* True when s[0..len) is strict UTF-8 without NUL; otherwise false and *bad (may be NULL) is
 * the offset of the first refused byte. */
bool utf8_valid(const char *s, size_t len, size_t *bad);

/* 0 when s[0..len) is strict UTF-8 without NUL; otherwise RC_INVAL with one line in err:
 * "FIELD: contains U+0000" or "FIELD: not valid UTF-8 (byte N)", N counted from 0. */
int utf8_check(const char *s, size_t len, const char *field, char *err);

/* Checks every member name and string value of a parsed tree with utf8_check, naming the
 * member's path ("reason", "plans[2].name"). raw/rawlen is the JSON text root was parsed
 * from (may be NULL): cJSON stops a string at an escaped \u0000, so the raw text is scanned
 * for that escape and it is refused ("reason: contains U+0000") instead of truncating.
 * Returns 0 or RC_INVAL. */
int utf8_check_json(const cJSON *root, const char *raw, size_t rawlen, char *err);

#endif

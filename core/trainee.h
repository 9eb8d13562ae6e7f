/* Trainee identity: checking a PRC resident identity number (GB 11643-1999), and the two forms
 * a kiosk or the server may keep instead of it: a pseudonym (HMAC-SHA-256 under the
 * institution's key) and a masked form.
 *
 * Invariants:
 * - A number is accepted only when normalised: 18 characters, 17 digits then a digit or 'X'
 *   (a lower-case 'x' becomes 'X'), a known province-level code (see trainee.c), a real
 *   birth date from 1900-01-01 to today, and the ISO 7064 MOD 11-2 check character.
 * - Error messages name the reason but never repeat the number (they may be logged).
 * - The pseudonym of a number is the same on every kiosk and server of one institution (same
 *   key) and unlinkable across institutions (different keys). */
#ifndef ROLLCALL_TRAINEE_H
#define ROLLCALL_TRAINEE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum {
    TRAINEE_ID_LEN = 18,            /* characters, without the NUL; also the masked length */
    TRAINEE_PSEUDONYM_LEN = 64,     /* lower-case hex characters, without the NUL */
    TRAINEE_KEY_MIN = 16,           /* shortest institution key accepted, bytes */
    TRAINEE_BIRTH_MIN = 19000101,   /* earliest birth date accepted */
    TRAINEE_UTC_OFFSET_S = 8 * 3600 /* "today" is the Asia/Shanghai date (no DST since 1991) */
};

/* Checks the identity number in and writes its normalised form (upper-case X) into out;
 * "today" for the birth date bound is the Asia/Shanghai date of now. RC_INVAL with the
 * reason (for a wrong check character, the expected one) otherwise. */
int trainee_id_normalise(const char *in, time_t now, char out[TRAINEE_ID_LEN + 1], char *err);
/* Pseudonym of an identity number: lower-case hex HMAC-SHA-256 of its normalised form under
 * keylen bytes of key (at least TRAINEE_KEY_MIN). Checks the number like
 * trainee_id_normalise except the future-birth-date bound (it does not read the clock). */
int trainee_pseudonym(const uint8_t *key, size_t keylen, const char *id,
                      char out[TRAINEE_PSEUDONYM_LEN + 1], char *err);
/* Masked form of an identity number: its first 4 and last 4 characters (normalised) around
 * 10 '*', e.g. "1201**********123X". Checks the number like trainee_pseudonym. */
int trainee_mask(const char *id, char out[TRAINEE_ID_LEN + 1], char *err);
/* Masked form of a person's name as a kiosk shows it for confirmation: the first and last
 * characters (UTF-8 code points) around one '*' per hidden character ("张*伟", "欧**锋"); a
 * two-character name keeps its first ("张*"), a one-character name becomes "*". out needs
 * at least strlen(name) + 1 bytes (a masked name is never longer) and cap says how many it has.
 * Returns 0, RC_INVAL (not valid UTF-8, or empty) or RC_LIMIT (cap too small). */
int trainee_name_mask(const char *name, char *out, size_t cap, char *err);

#endif

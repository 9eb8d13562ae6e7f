/* Bearer tokens and roles. A token is "rc_" + 32 random bytes in unpadded base64url (46
 * characters); the server keeps only its SHA-256 (hex) with a name and a role, so a stolen
 * database yields no usable token. Roles:
 *   admin | enroll:ID | evaluator | institution:ID | district:CODE (6 digits) | device:ID
 * IDs are 1..64 characters of [A-Za-z0-9._-]. enroll:ID enrols devices of institution ID only
 * (and so hands out that institution's pseudonym key only); a bare "enroll" still parses (a
 * token stored before enrol tokens were bound) but is never created and may enrol nothing.
 *
 * Invariants: a token never reaches a log line or an error message; only its name does.
 * A malformed token is refused before any lookup, exactly like an unknown one. */
#ifndef ROLLCALL_SERVER_AUTH_H
#define ROLLCALL_SERVER_AUTH_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    AUTH_TOKEN_RANDOM_BYTES = 32,
    AUTH_TOKEN_LEN = 3 + 43, /* "rc_" + base64url(32 bytes) without padding */
    AUTH_SCOPE_MAX = STORE_ID_MAX,
    AUTH_DISTRICT_LEN = 6,
    AUTH_HEADER_MAX = 256, /* an Authorization header longer than this is refused */
    AUTH_CSRF_LEN = 43,    /* a session's CSRF token: base64url of 32 bytes, unpadded */
};

enum auth_role_kind {
    AUTH_ROLE_ADMIN,
    AUTH_ROLE_ENROLL, /* scope: the institution it enrols for; "" for a legacy token */
    AUTH_ROLE_EVALUATOR,
    AUTH_ROLE_INSTITUTION, /* scope: institution id */
    AUTH_ROLE_DISTRICT,    /* scope: 6-digit district code */
    AUTH_ROLE_DEVICE,      /* scope: device id */
    AUTH_ROLE_ASSESSOR,    /* scope: the evaluation institution (评价机构) id */
    AUTH_ROLE_CITY,        /* the city bureau (市人社局): reads all, reviews, decides */
};

struct auth_role {
    enum auth_role_kind kind;
    char scope[AUTH_SCOPE_MAX + 1]; /* "" for unscoped roles */
};

/* Who is calling: the token's name (for logs) and its role; or, for a person logged in
 * (http/session.h), "user:NAME", the user's role and the session it came with. */
struct auth_principal {
    char name[STORE_TOKEN_NAME_MAX + 1];
    struct auth_role role;
    bool session;                              /* a login session cookie, not a bearer token */
    char user[STORE_USER_NAME_MAX + 1];        /* the user's name; "" for a token */
    char session_hash[STORE_HASH_HEX_LEN + 1]; /* SHA-256 of the session id; "" for a token */
    char csrf[AUTH_CSRF_LEN + 1];              /* the session's CSRF token; "" for a token */
};

/* Parses a role string. RC_INVAL with the reason for anything else. */
int auth_role_parse(const char *s, struct auth_role *out, char *err);
/* Writes the canonical role string ("device:K-01") into out (n >= STORE_ROLE_MAX + 1). */
void auth_role_format(const struct auth_role *r, char *out, size_t n);
/* 1 when s is a valid ID (1..AUTH_SCOPE_MAX of [A-Za-z0-9._-]), else 0. */
bool auth_id_valid(const char *s);
/* 1 when s is a valid token name (1..STORE_TOKEN_NAME_MAX of [A-Za-z0-9._:@-]). */
bool auth_name_valid(const char *s);

/* Unpadded base64url (RFC 4648 §5) of n bytes into out (4 * ceil(n / 3) + 1 bytes). */
void auth_base64url(const uint8_t *in, size_t n, char *out);
/* a and b agree in their first n bytes, in time that does not depend on where they differ. */
bool auth_ct_equal(const char *a, const char *b, size_t n);

/* Makes a new token from the OS random source: token (AUTH_TOKEN_LEN + 1 bytes) and its
 * stored hash (STORE_HASH_HEX_LEN + 1). RC_IO when no randomness is available. */
int auth_token_generate(char *token, char *hash_hex, char *err);
/* Checks the token's shape and writes its hash. RC_AUTH when it is not a token. */
int auth_token_hash(const char *token, char *hash_hex, char *err);
/* Creates, stores and returns a new token for role/name: validates both, stores the hash.
 * token receives AUTH_TOKEN_LEN + 1 bytes. RC_INVAL for a bad role (an enroll role without an
 * institution included) or name, RC_CONFLICT for a taken name. */
int auth_token_create(store *st, const char *role, const char *name, char *token, char *err);
/* auth_token_create recording who made it (by: a principal's name, "cli:LOGIN"; "" unknown). */
int auth_token_create_by(store *st, const char *role, const char *name, const char *by, char *token,
                         char *err);

/* Authenticates an Authorization header value ("Bearer TOKEN"). Returns 0 and *who, RC_AUTH
 * when the header is missing (NULL), malformed, or names no (unrevoked) token, RC_DB etc. when
 * the lookup itself failed. */
int auth_authenticate(store *st, const char *authorization, struct auth_principal *who, char *err);

/* Role predicates for route tables; who may be NULL (anonymous), which none of them accept. */
bool auth_is(const struct auth_principal *who, enum auth_role_kind kind);
/* True when who is device:ID for exactly this id (constant time in the id's bytes). */
bool auth_is_device(const struct auth_principal *who, const char *id);

#endif

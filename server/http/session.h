/* Login sessions for people (the console): POST /v1/login checks a user's password and sets
 * a session cookie, POST /v1/logout ends the session, GET /v1/me says who is calling. A
 * session authenticates a request exactly like a bearer token of the user's role (http.c asks
 * session_authenticate when a request has no Authorization header), so every route's allow
 * function applies unchanged.
 *
 * Invariants:
 * - A session id is 32 random bytes (crypto_random_bytes) in base64url, sent only in the
 *   cookie; the database keeps only its SHA-256, so a copy of the database opens no session.
 * - A session ends after SESSION idle seconds without a request, after max seconds in all,
 *   at logout, and at once when its user is disabled or given a new password.
 * - Every request of a session other than GET/HEAD/OPTIONS carries the session's CSRF token
 *   (derived from the session id, so it is tied to that session) in X-CSRF-Token, else 403.
 * - A login naming an unknown user, a disabled user or a wrong password gets the same answer
 *   after the same work (one Argon2id computation); failures are counted per name as typed,
 *   known or not, so throttling and lockout answer alike too. A password is never logged. */
#ifndef ROLLCALL_SERVER_SESSION_H
#define ROLLCALL_SERVER_SESSION_H

#include "http/auth.h"
#include "http/http.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define SESSION_COOKIE "rollcall_session"

enum {
    SESSION_ID_BYTES = 32,
    SESSION_ID_LEN = 43, /* base64url of SESSION_ID_BYTES, unpadded */
    SESSION_DEFAULT_IDLE_S = 30 * 60,
    SESSION_DEFAULT_MAX_S = 12 * 60 * 60,
    SESSION_TIME_MAX_S = 30 * 24 * 60 * 60, /* bound of both settings */
    SESSION_TOUCH_MAX_S = 60, /* last-seen is written at most this often (or idle / 4) */
    SESSION_LOGIN_BODY_MAX = 4096,
    SESSION_LOGIN_NAME_MAX = 256, /* a longer "user" is refused as malformed */
    /* Failed logins of one name: from SLOW_AFTER on, each next attempt waits
     * 2^(failures - SLOW_AFTER) seconds after the last; the LOCK_AFTER-th failure locks the
     * name for LOCK_S; failures older than WINDOW_S are forgotten. */
    SESSION_SLOW_AFTER = 5,
    SESSION_LOCK_AFTER = 10,
    SESSION_WINDOW_S = 15 * 60,
    SESSION_LOCK_S = 15 * 60,
};

struct session_config {
    unsigned idle_s; /* 1..SESSION_TIME_MAX_S */
    unsigned max_s;  /* idle_s..SESSION_TIME_MAX_S */
};

/* Sets the session lifetimes (serve, before serving; defaults until then). */
void session_init(const struct session_config *c);
/* Back to the defaults (serve, after the last request). */
void session_fini(void);

/* 1 when s is a valid user name (1..STORE_USER_NAME_MAX of [A-Za-z0-9._@-]). */
bool session_user_name_valid(const char *s);
/* 0 when role may be given to a person (admin, district:CODE, institution:ID, evaluator);
 * RC_INVAL with the reason otherwise (enroll and device roles are for tokens only). */
int session_user_role_check(const char *role, char *err);

/* Authenticates a request carrying the session cookie value cookie. Returns 0 and *who
 * (role, "user:NAME", the session hash and CSRF token), RC_AUTH when the cookie is malformed
 * or names no live session (an expired one is deleted), a store error otherwise. Marks the
 * session seen. */
int session_authenticate(store *db, const char *cookie, struct auth_principal *who, char *err);
/* True when a request of method by who needs no CSRF token (a token, not a session; or a
 * method that changes nothing) or carries the right one in token (may be NULL). */
bool session_csrf_ok(const struct auth_principal *who, const char *method, const char *token);

/* Route handlers and allow functions (api.c's table). */
void session_login(struct http_request *req, struct http_response *res);
void session_logout(struct http_request *req, struct http_response *res);
void session_me(struct http_request *req, struct http_response *res);
/* Logout: callers that came with a session. */
bool session_allow_session(const struct auth_principal *who, const struct http_request *req);
/* GET /v1/me: any authenticated caller. */
bool session_allow_caller(const struct auth_principal *who, const struct http_request *req);

#endif

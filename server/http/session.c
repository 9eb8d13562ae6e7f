/* Sessions, CSRF and the login/logout/me handlers. Why the CSRF token is derived rather than
 * stored: HMAC-SHA-256 keyed with the session id (which only the cookie carries) gives a
 * value an attacker on another site cannot compute, that belongs to exactly one session and
 * that any collector sharing the database can check without a lookup.
 *
 * Failed logins are counted pessimistically: an attempt is recorded as a failure (in one short
 * transaction, before the slow password check) and forgiven when it succeeds, so parallel
 * guesses cannot slip past the count while their hashes are being computed. */
#include "http/session.h"

#include "crypto.h"
#include "http/password.h"
#include "jsonin.h"
#include "log.h"
#include "rc.h"
#include "timeutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char csrf_label[] = "rollcall csrf v1";

/* Read by request threads, written only by session_init/fini around serving. */
static struct session_config cfg = {SESSION_DEFAULT_IDLE_S, SESSION_DEFAULT_MAX_S};

void session_init(const struct session_config *c)
{
    cfg = *c;
}

void session_fini(void)
{
    cfg = (struct session_config){SESSION_DEFAULT_IDLE_S, SESSION_DEFAULT_MAX_S};
}

bool session_user_name_valid(const char *s)
{
    size_t n = strnlen(s, STORE_USER_NAME_MAX + 1);
    if (n == 0 || n > STORE_USER_NAME_MAX)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") == n;
}

int session_user_role_check(const char *role, char *err)
{
    struct auth_role r;
    int rc = auth_role_parse(role, &r, err);
    if (rc != RC_OK)
        return rc;
    if (r.kind == AUTH_ROLE_ENROLL || r.kind == AUTH_ROLE_DEVICE)
        return rc_fail(err, RC_INVAL,
                       "a person's role is admin, city, district:CODE, institution:ID, "
                       "evaluator or assessor:ID "
                       "(enroll and device roles are for tokens)");
    return RC_OK;
}

/* The CSRF token of the session whose id is id (SESSION_ID_LEN characters). */
static int csrf_token(const char *id, char out[AUTH_CSRF_LEN + 1], char *err)
{
    uint8_t mac[CRYPTO_SHA256_LEN];
    int rc = crypto_hmac_sha256(id, SESSION_ID_LEN, csrf_label, sizeof csrf_label - 1, mac, err);
    if (rc != RC_OK)
        return rc;
    auth_base64url(mac, sizeof mac, out);
    return RC_OK;
}

static bool id_shape_ok(const char *id)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    return strnlen(id, SESSION_ID_LEN + 1) == SESSION_ID_LEN &&
           strspn(id, alphabet) == SESSION_ID_LEN;
}

int session_authenticate(store *db, const char *cookie, struct auth_principal *who, char *err)
{
    memset(who, 0, sizeof *who);
    if (!cookie || !id_shape_ok(cookie))
        return rc_fail(err, RC_AUTH, "not a Rollcall session");
    char hash[STORE_HASH_HEX_LEN + 1];
    crypto_sha256_hex(cookie, SESSION_ID_LEN, hash);
    struct store_session s;
    int rc = store_session_lookup(db, hash, &s, err);
    if (rc == RC_NOTFOUND)
        return rc_fail(err, RC_AUTH, "unknown or ended session: log in again");
    if (rc != RC_OK)
        return rc;
    int64_t now = ts_now_ms();
    /* The session's own lifetimes, fixed at login: a collector with other settings on the same
     * database ends it no sooner and no later than the one that made it. */
    if (now - s.created_at_ms >= s.max_ms || now - s.last_seen_at_ms >= s.idle_ms) {
        char derr[ERR_LEN];
        if (store_session_delete(db, hash, derr) != RC_OK)
            log_msg(LOG_LVL_WARN, "ending an expired session of '%s': %s", s.user, derr);
        return rc_fail(err, RC_AUTH, "session expired: log in again");
    }
    if (auth_role_parse(s.role, &who->role, err) != RC_OK)
        return rc_fail(err, RC_CORRUPT, "user '%s' has a stored role that does not parse", s.user);
    int64_t touch_ms = s.idle_ms / 4;
    if (touch_ms > SESSION_TOUCH_MAX_S * 1000)
        touch_ms = SESSION_TOUCH_MAX_S * 1000;
    if (now - s.last_seen_at_ms >= touch_ms) {
        rc = store_session_touch(db, hash, now, err);
        if (rc != RC_OK)
            return rc;
    }
    rc = csrf_token(cookie, who->csrf, err);
    if (rc != RC_OK)
        return rc;
    who->session = true;
    snprintf(who->name, sizeof who->name, "user:%s", s.user);
    memcpy(who->user, s.user, sizeof who->user);
    memcpy(who->session_hash, hash, sizeof who->session_hash);
    return RC_OK;
}

bool session_csrf_ok(const struct auth_principal *who, const char *method, const char *token)
{
    if (!who || !who->session)
        return true;
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0)
        return true;
    return token && strnlen(token, AUTH_CSRF_LEN + 1) == AUTH_CSRF_LEN &&
           auth_ct_equal(token, who->csrf, AUTH_CSRF_LEN);
}

bool session_allow_session(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return who && who->session;
}

bool session_allow_caller(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return who != NULL;
}

/* RFC 3339 UTC of ms into a cJSON string (NULL on failure). */
static cJSON *json_time(int64_t ms)
{
    char buf[TS_UTC_LEN + 1];
    if (ts_format_utc(ms, buf) != RC_OK)
        return cJSON_CreateNull();
    return cJSON_CreateString(buf);
}

/* Answers who: {"name", "role", "via"} and for a session "user", "csrf_token",
 * "idle_timeout_s", and "expires_at" when created_ms (the session's creation) is known. */
static void reply_principal(struct http_response *res, const struct auth_principal *who,
                            int64_t created_ms)
{
    char role[STORE_ROLE_MAX + 1];
    auth_role_format(&who->role, role, sizeof role);
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "name", who->name) &&
              cJSON_AddStringToObject(o, "role", role) &&
              cJSON_AddStringToObject(o, "via", who->session ? "session" : "token");
    if (ok && who->session)
        ok = cJSON_AddStringToObject(o, "user", who->user) &&
             cJSON_AddStringToObject(o, "csrf_token", who->csrf) &&
             cJSON_AddNumberToObject(o, "idle_timeout_s", cfg.idle_s) &&
             (created_ms <= 0 ||
              cJSON_AddItemToObject(o, "expires_at",
                                    json_time(created_ms + (int64_t)cfg.max_s * 1000)));
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) {
        http_reply_error(res, 500, "out of memory");
        return;
    }
    res->status = 200;
    res->body = text;
    res->len = strlen(text);
    res->content_type = NULL;
}

/* One attempt for key: refused (*wait_s > 0: seconds until the next may be made) or
 * recorded as a failure in advance (*failures: how many now). */
static int login_throttle(store *db, const char *key, int64_t now, int64_t *wait_s,
                          int64_t *failures, char *err)
{
    *wait_s = 0;
    struct store_login_failures f;
    int rc = store_begin(db, err);
    if (rc != RC_OK)
        return rc;
    rc = store_login_failures_get(db, key, &f, err);
    if (rc != RC_OK)
        goto out;
    bool lock_over = f.locked_until_ms && f.locked_until_ms <= now;
    if (lock_over ||
        (f.first_at_ms && now - f.first_at_ms >= SESSION_WINDOW_S * 1000 && !f.locked_until_ms))
        memset(&f, 0, sizeof f);
    int64_t until = 0;
    if (f.locked_until_ms > now)
        until = f.locked_until_ms;
    else if (f.failures >= SESSION_SLOW_AFTER) {
        int64_t shift = f.failures - SESSION_SLOW_AFTER;
        int64_t next = f.last_at_ms + ((int64_t)1000 << (shift > 20 ? 20 : shift));
        if (next > now)
            until = next;
    }
    if (until) {
        *wait_s = (until - now + 999) / 1000;
        *failures = f.failures;
        goto out;
    }
    f.failures++;
    if (!f.first_at_ms)
        f.first_at_ms = now;
    f.last_at_ms = now;
    if (f.failures >= SESSION_LOCK_AFTER)
        f.locked_until_ms = now + SESSION_LOCK_S * 1000;
    *failures = f.failures;
    rc = store_login_failures_put(db, key, &f, now - SESSION_WINDOW_S * 1000, err);
out:
    if (rc == RC_OK)
        rc = store_commit(db, err);
    if (rc != RC_OK)
        store_rollback(db);
    return rc;
}

/* A failed attempt has ended: its wait counts from now, not from when it began (the hash
 * took a while). */
static int login_failed(store *db, const char *key, char *err)
{
    struct store_login_failures f;
    int64_t now = ts_now_ms();
    int rc = store_begin(db, err);
    if (rc != RC_OK)
        return rc;
    rc = store_login_failures_get(db, key, &f, err);
    if (rc == RC_OK && f.failures > 0 && f.last_at_ms < now) {
        f.last_at_ms = now;
        rc = store_login_failures_put(db, key, &f, now - SESSION_WINDOW_S * 1000, err);
    }
    if (rc == RC_OK)
        rc = store_commit(db, err);
    if (rc != RC_OK)
        store_rollback(db);
    return rc;
}

/* Reads {"user": "...", "password": "..."}; anything else is a 400 with its reason. */
static int login_body(const struct http_request *req, cJSON **root, const char **user,
                      const char **password, size_t *pwlen, char *err)
{
    int rc = jsonin_parse((const char *)req->body, req->body_len, root, err);
    if (rc != RC_OK)
        return rc;
    if (!cJSON_IsObject(*root))
        return rc_fail(err, RC_INVAL, "expected a JSON object {\"user\", \"password\"}");
    const cJSON *m;
    cJSON_ArrayForEach(m, *root)
    {
        if (strcmp(m->string, "user") != 0 && strcmp(m->string, "password") != 0)
            return rc_fail(err, RC_INVAL, "unknown member '%.64s' (user, password)", m->string);
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(*root, "user");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(*root, "password");
    if (!cJSON_IsString(u) || !cJSON_IsString(p))
        return rc_fail(err, RC_INVAL, "user and password must both be strings");
    if (strlen(u->valuestring) > SESSION_LOGIN_NAME_MAX)
        return rc_fail(err, RC_INVAL, "user longer than %d bytes", SESSION_LOGIN_NAME_MAX);
    *pwlen = strlen(p->valuestring);
    if (*pwlen > PASSWORD_MAX_BYTES)
        return rc_fail(err, RC_INVAL, "password longer than %d bytes", PASSWORD_MAX_BYTES);
    *user = u->valuestring;
    *password = p->valuestring;
    return RC_OK;
}

/* Wipes the password's bytes in the parsed tree before it is freed. */
static void wipe_tree(cJSON *root)
{
    const cJSON *p = root ? cJSON_GetObjectItemCaseSensitive(root, "password") : NULL;
    if (cJSON_IsString(p))
        explicit_bzero(p->valuestring, strlen(p->valuestring));
    cJSON_Delete(root);
}

void session_login(struct http_request *req, struct http_response *res)
{
    static const char refused[] = "wrong user name or password";
    char err[ERR_LEN];
    char ip[64];
    cJSON *root = NULL;
    const char *name = NULL, *pw = NULL;
    size_t pwlen = 0;
    http_client_address(req, ip, sizeof ip);
    if (req->body_len > SESSION_LOGIN_BODY_MAX) {
        http_reply_error(res, 413, "login body over %d bytes", SESSION_LOGIN_BODY_MAX);
        return;
    }
    if (login_body(req, &root, &name, &pw, &pwlen, err) != RC_OK) {
        http_reply_error(res, 400, "%s", err);
        goto out;
    }
    char key[STORE_HASH_HEX_LEN + 1];
    crypto_sha256_hex(name, strlen(name), key);
    int64_t now = ts_now_ms();
    int64_t wait_s = 0, failures = 0;
    int rc = login_throttle(req->db, key, now, &wait_s, &failures, err);
    if (rc != RC_OK)
        goto fail;
    bool known = session_user_name_valid(name);
    if (wait_s > 0) {
        log_msg(LOG_LVL_WARN, "login refused from %s: %lld failures for that name, next in %lld s",
                ip, (long long)failures, (long long)wait_s);
        http_reply_error(res, 429, "too many failed logins: try again in %lld s",
                         (long long)wait_s);
        res->retry_after_s = (unsigned)wait_s;
        goto out;
    }
    struct store_user u;
    rc = known ? store_user_get(req->db, name, &u, err) : RC_NOTFOUND;
    bool exists = rc == RC_OK;
    if (rc != RC_OK && rc != RC_NOTFOUND)
        goto fail;
    const char *why = "unknown user";
    if (rc == RC_NOTFOUND) {
        password_waste(pw, pwlen);
    } else if (u.disabled_at_ms) {
        password_waste(pw, pwlen);
        why = "account disabled";
    } else if (session_user_role_check(u.role, err) != RC_OK) {
        password_waste(pw, pwlen);
        why = "stored role is not a person's role";
    } else {
        rc = password_verify(u.password_hash, pw, pwlen, err);
        if (rc == RC_OK)
            why = NULL;
        else if (rc == RC_AUTH)
            why = "wrong password";
        else
            goto fail;
    }
    if (why) {
        if ((rc = login_failed(req->db, key, err)) != RC_OK)
            goto fail;
        /* Only names of existing users reach the log: an unknown one may be a password
         * typed into the wrong field. */
        if (!exists)
            log_msg(LOG_LVL_WARN, "login failed from %s: unknown user name (%lld failures)", ip,
                    (long long)failures);
        else
            log_msg(LOG_LVL_WARN, "login failed from %s for '%s': %s (%lld failures%s)", ip, name,
                    why, (long long)failures, failures >= SESSION_LOCK_AFTER ? ", locked" : "");
        http_reply_coded(res, 401, HTTP_E_LOGIN_FAILED, "%s", refused);
        goto out;
    }

    uint8_t raw[SESSION_ID_BYTES];
    char id[SESSION_ID_LEN + 1], hash[STORE_HASH_HEX_LEN + 1];
    rc = crypto_random_bytes(raw, sizeof raw, err);
    if (rc != RC_OK)
        goto fail;
    auth_base64url(raw, sizeof raw, id);
    explicit_bzero(raw, sizeof raw);
    crypto_sha256_hex(id, SESSION_ID_LEN, hash);
    struct auth_principal who = {.session = true};
    /* The session starts now, after the password hash (a second or more on a busy machine),
     * not when the request arrived: its idle and total lifetimes count from here. */
    now = ts_now_ms();
    /* What cannot fail for want of the database first; then the writes, all or none, so a
     * failure leaves no session whose cookie was never sent. */
    if ((rc = csrf_token(id, who.csrf, err)) != RC_OK ||
        (rc = auth_role_parse(u.role, &who.role, err)) != RC_OK ||
        (rc = store_begin(req->db, err)) != RC_OK) {
        explicit_bzero(id, sizeof id);
        goto fail;
    }
    if ((rc = store_login_failures_clear(req->db, key, err)) != RC_OK ||
        (rc = store_session_purge(req->db, now, err)) != RC_OK ||
        (rc = store_session_insert(req->db, hash, u.name, now, (int64_t)cfg.idle_s * 1000,
                                   (int64_t)cfg.max_s * 1000, err)) != RC_OK ||
        (rc = store_user_logged_in(req->db, u.name, now, err)) != RC_OK ||
        (rc = store_commit(req->db, err)) != RC_OK) {
        store_rollback(req->db);
        explicit_bzero(id, sizeof id);
        goto fail;
    }
    snprintf(who.name, sizeof who.name, "user:%s", u.name);
    memcpy(who.user, u.name, sizeof who.user);
    snprintf(res->set_cookie, sizeof res->set_cookie,
             SESSION_COOKIE "=%s; Path=/; Max-Age=%u; HttpOnly; SameSite=Strict%s", id, cfg.max_s,
             req->tls ? "; Secure" : "");
    explicit_bzero(id, sizeof id);
    log_msg(LOG_LVL_INFO, "login of '%s' from %s", u.name, ip);
    reply_principal(res, &who, now);
    goto out;
fail:
    log_msg(LOG_LVL_ERROR, "POST /v1/login: %s", err);
    http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                     rc == RC_DB ? "database busy, retry later" : "internal error");
out:
    wipe_tree(root);
}

void session_logout(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    if (store_session_delete(req->db, req->who->session_hash, err) != RC_OK) {
        log_msg(LOG_LVL_ERROR, "POST /v1/logout: %s", err);
        http_reply_error(res, 503, "database busy, retry later");
        return;
    }
    log_msg(LOG_LVL_INFO, "logout of '%s'", req->who->user);
    snprintf(res->set_cookie, sizeof res->set_cookie,
             SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
             req->tls ? "; Secure" : "");
    http_reply_json(res, 200, "{\"status\":\"logged out\"}");
}

void session_me(struct http_request *req, struct http_response *res)
{
    reply_principal(res, req->who, 0);
}

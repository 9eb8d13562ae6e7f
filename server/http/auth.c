/* Tokens and roles. Why a hash lookup is safe against timing: the database is searched by
 * SHA-256(token), so how long a lookup takes depends on the hash of what the caller sent,
 * which tells an attacker nothing about any stored token's bytes. The one direct comparison
 * of secret-derived bytes (the returned hash against ours) is constant-time anyway, so a
 * back-end that matched loosely (a collation, a prefix index) could not let a near miss in. */
#include "http/auth.h"

#include "crypto.h"
#include "rc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void auth_base64url(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        out[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
    }
    out[o] = '\0';
}

bool auth_ct_equal(const char *a, const char *b, size_t n)
{
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static bool id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool auth_id_valid(const char *s)
{
    size_t n = strnlen(s, AUTH_SCOPE_MAX + 1);
    if (n == 0 || n > AUTH_SCOPE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!id_char(s[i]))
            return false;
    }
    return true;
}

bool auth_name_valid(const char *s)
{
    size_t n = strnlen(s, STORE_TOKEN_NAME_MAX + 1);
    if (n == 0 || n > STORE_TOKEN_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!id_char(s[i]) && s[i] != ':' && s[i] != '@')
            return false;
    }
    return true;
}

/* scoped: needs ":ID"; optional: enroll, whose scope is the institution it may enrol for
 * ("enroll" alone parses, for tokens stored before enrol tokens were bound, but
 * auth_token_create no longer makes one and enrolment refuses it). */
static const struct {
    const char *name;
    enum auth_role_kind kind;
    bool scoped, optional;
} roles[] = {
    {"admin", AUTH_ROLE_ADMIN, false, false},
    {"enroll", AUTH_ROLE_ENROLL, true, true},
    {"evaluator", AUTH_ROLE_EVALUATOR, false, false},
    {"institution", AUTH_ROLE_INSTITUTION, true, false},
    {"district", AUTH_ROLE_DISTRICT, true, false},
    {"device", AUTH_ROLE_DEVICE, true, false},
    {"assessor", AUTH_ROLE_ASSESSOR, true, false},
    {"city", AUTH_ROLE_CITY, false, false},
};

int auth_role_parse(const char *s, struct auth_role *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (strnlen(s, STORE_ROLE_MAX + 1) > STORE_ROLE_MAX)
        return rc_fail(err, RC_INVAL, "role longer than %d characters", STORE_ROLE_MAX);
    const char *colon = strchr(s, ':');
    size_t kind_len = colon ? (size_t)(colon - s) : strlen(s);
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        if (strlen(roles[i].name) != kind_len || memcmp(roles[i].name, s, kind_len) != 0)
            continue;
        out->kind = roles[i].kind;
        if (!roles[i].scoped) {
            if (colon)
                return rc_fail(err, RC_INVAL, "role '%s' takes no ':' scope", roles[i].name);
            return RC_OK;
        }
        if (!colon && roles[i].optional)
            return RC_OK;
        if (!colon)
            return rc_fail(err, RC_INVAL, "role '%s' needs a scope: %s:%s", roles[i].name,
                           roles[i].name, out->kind == AUTH_ROLE_DISTRICT ? "CODE" : "ID");
        const char *scope = colon + 1;
        if (out->kind == AUTH_ROLE_DISTRICT) {
            if (strlen(scope) != AUTH_DISTRICT_LEN ||
                strspn(scope, "0123456789") != AUTH_DISTRICT_LEN)
                return rc_fail(err, RC_INVAL, "district code must be %d digits", AUTH_DISTRICT_LEN);
        } else if (!auth_id_valid(scope)) {
            return rc_fail(err, RC_INVAL, "%s id must be 1..%d characters of [A-Za-z0-9._-]",
                           roles[i].name, AUTH_SCOPE_MAX);
        }
        memcpy(out->scope, scope, strlen(scope) + 1);
        return RC_OK;
    }
    return rc_fail(err, RC_INVAL,
                   "unknown role (admin, city, enroll:ID, evaluator, institution:ID, "
                   "district:CODE, device:ID, assessor:ID)");
}

void auth_role_format(const struct auth_role *r, char *out, size_t n)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        if (roles[i].kind != r->kind)
            continue;
        if (roles[i].scoped && r->scope[0])
            snprintf(out, n, "%s:%s", roles[i].name, r->scope);
        else
            snprintf(out, n, "%s", roles[i].name);
        return;
    }
    snprintf(out, n, "?");
}

int auth_token_generate(char *token, char *hash_hex, char *err)
{
    uint8_t raw[AUTH_TOKEN_RANDOM_BYTES];
    int rc = crypto_random_bytes(raw, sizeof raw, err);
    if (rc != RC_OK)
        return rc;
    memcpy(token, "rc_", 3);
    auth_base64url(raw, sizeof raw, token + 3);
    explicit_bzero(raw, sizeof raw);
    crypto_sha256_hex(token, AUTH_TOKEN_LEN, hash_hex);
    return RC_OK;
}

int auth_token_hash(const char *token, char *hash_hex, char *err)
{
    size_t n = strnlen(token, AUTH_TOKEN_LEN + 1);
    if (n != AUTH_TOKEN_LEN || memcmp(token, "rc_", 3) != 0)
        return rc_fail(err, RC_AUTH, "not a Rollcall token");
    for (size_t i = 3; i < n; i++) {
        if (!strchr(b64url, token[i]) || token[i] == '\0')
            return rc_fail(err, RC_AUTH, "not a Rollcall token");
    }
    crypto_sha256_hex(token, n, hash_hex);
    return RC_OK;
}

int auth_token_create(store *st, const char *role, const char *name, char *token, char *err)
{
    return auth_token_create_by(st, role, name, "", token, err);
}

int auth_token_create_by(store *st, const char *role, const char *name, const char *by, char *token,
                         char *err)
{
    struct auth_role r;
    int rc = auth_role_parse(role, &r, err);
    if (rc != RC_OK)
        return rc;
    if (r.kind == AUTH_ROLE_ENROLL && !r.scope[0])
        return rc_fail(err, RC_INVAL,
                       "an enroll token is bound to one institution: --role enroll "
                       "--institution ID (role enroll:ID)");
    if (!auth_name_valid(name))
        return rc_fail(err, RC_INVAL, "token name must be 1..%d characters of [A-Za-z0-9._:@-]",
                       STORE_TOKEN_NAME_MAX);
    /* The audit names people "user:NAME" and the command line "cli:LOGIN" (created_by,
     * revoked_by, logs): a token may not take such a name and pass for one of them. */
    if (strncmp(name, "user:", 5) == 0 || strncmp(name, "cli:", 4) == 0)
        return rc_fail(err, RC_INVAL,
                       "token names beginning with user: or cli: are reserved (they name "
                       "people and the command line in the audit)");
    struct store_token t = {0};
    rc = auth_token_generate(token, t.hash, err);
    if (rc != RC_OK)
        return rc;
    auth_role_format(&r, t.role, sizeof t.role);
    memcpy(t.name, name, strlen(name) + 1);
    snprintf(t.created_by, sizeof t.created_by, "%s", by ? by : "");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t.created_at_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    rc = store_token_insert(st, &t, err);
    if (rc != RC_OK)
        explicit_bzero(token, AUTH_TOKEN_LEN + 1);
    return rc;
}

int auth_authenticate(store *st, const char *authorization, struct auth_principal *who, char *err)
{
    memset(who, 0, sizeof *who);
    if (!authorization)
        return rc_fail(err, RC_AUTH, "missing bearer token");
    if (strnlen(authorization, AUTH_HEADER_MAX + 1) > AUTH_HEADER_MAX)
        return rc_fail(err, RC_AUTH, "malformed Authorization header");
    /* RFC 6750 §2.1: "Bearer" (case-insensitive scheme, RFC 7235), one or more spaces. */
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return rc_fail(err, RC_AUTH, "expected 'Authorization: Bearer TOKEN'");
    const char *token = authorization + 7;
    while (*token == ' ')
        token++;
    char hash[STORE_HASH_HEX_LEN + 1];
    int rc = auth_token_hash(token, hash, err);
    if (rc != RC_OK)
        return rc;
    struct store_token t;
    rc = store_token_lookup(st, hash, &t, err);
    if (rc == RC_NOTFOUND)
        return rc_fail(err, RC_AUTH, "unknown token");
    if (rc != RC_OK)
        return rc;
    if (!auth_ct_equal(t.hash, hash, STORE_HASH_HEX_LEN))
        return rc_fail(err, RC_AUTH, "unknown token");
    rc = auth_role_parse(t.role, &who->role, err);
    if (rc != RC_OK)
        return rc_fail(err, RC_CORRUPT, "token '%s' has a stored role that does not parse", t.name);
    memcpy(who->name, t.name, sizeof who->name);
    return RC_OK;
}

bool auth_is(const struct auth_principal *who, enum auth_role_kind kind)
{
    return who && who->role.kind == kind;
}

bool auth_is_device(const struct auth_principal *who, const char *id)
{
    if (!auth_is(who, AUTH_ROLE_DEVICE))
        return false;
    size_t n = strlen(who->role.scope);
    return strlen(id) == n && auth_ct_equal(who->role.scope, id, n);
}

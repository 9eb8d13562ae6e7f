/* The reader roles' scopes (see scope.h). */
#include "http/scope.h"

#include "log.h"
#include "rc.h"

#include <string.h>

/* Which role kinds may perform an action, and how far: ANY (every institution), OWN (the
 * institution in the role's scope), DISTRICT (the institutions registered in the role's
 * district), or nothing. */
enum reach { NONE, ANY, OWN, DISTRICT };

static enum reach reach_of(enum auth_role_kind k, enum scope_action a)
{
    switch (k) {
    case AUTH_ROLE_ADMIN: return ANY;
    /* The third-party evaluator (第三方机构) reads, for its yearly quality evaluation; it does
     * not upload assessment results: that is the evaluation institution's (assessor) job. */
    case AUTH_ROLE_EVALUATOR: return a == SCOPE_READ ? ANY : NONE;
    case AUTH_ROLE_INSTITUTION: return a == SCOPE_REVIEW ? NONE : OWN;
    case AUTH_ROLE_DISTRICT:
        return a == SCOPE_READ || a == SCOPE_READ_SUBSIDY || a == SCOPE_REVIEW ? DISTRICT : NONE;
    /* An evaluation institution (评价机构) uploads assessment results with certificate numbers
     * for the classes it assessed, and reads nothing. */
    case AUTH_ROLE_ASSESSOR: return a == SCOPE_WRITE_ASSESSMENT ? ANY : NONE;
    /* The city bureau (市人社局) reads every institution's figures and subsidies and reviews
     * findings city-wide; it writes no institution's data (plans, records, assessments) and
     * administers nothing (accounts, tokens, fences are admin's). */
    case AUTH_ROLE_CITY:
        return a == SCOPE_READ || a == SCOPE_READ_SUBSIDY || a == SCOPE_REVIEW ? ANY : NONE;
    case AUTH_ROLE_ENROLL:
    case AUTH_ROLE_DEVICE:
    default: return NONE;
    }
}

bool scope_role_may(const struct auth_principal *who, enum scope_action a)
{
    return who && reach_of(who->role.kind, a) != NONE;
}

bool scope_may(const struct auth_principal *who, enum scope_action a, const char *institution,
               const char *district)
{
    if (!who)
        return false;
    switch (reach_of(who->role.kind, a)) {
    case ANY: return true;
    case OWN: return institution && strcmp(institution, who->role.scope) == 0;
    case DISTRICT: return district && *district && strcmp(district, who->role.scope) == 0;
    case NONE:
    default: return false;
    }
}

enum scope_identity scope_identity_for(const struct auth_principal *who, const char *institution)
{
    if (who && who->role.kind == AUTH_ROLE_ADMIN)
        return SCOPE_NAMES;
    if (who && who->role.kind == AUTH_ROLE_INSTITUTION && institution &&
        strcmp(institution, who->role.scope) == 0)
        return SCOPE_NAMES;
    return SCOPE_MASKED;
}

/* The district institution is registered in ("" when unregistered or unknown). */
static int district_of(store *db, const char *institution, char *district, char *err)
{
    int rc = store_institution_district(db, institution, district, err);
    if (rc == RC_NOTFOUND) {
        district[0] = '\0';
        return RC_OK;
    }
    return rc;
}

int scope_narrow(store *db, const struct auth_principal *who, const char *want_institution,
                 const char *want_district, const char **institution, const char **district,
                 char *err)
{
    char reg[STORE_DISTRICT_LEN + 1] = "";
    *institution = want_institution && *want_institution ? want_institution : NULL;
    *district = want_district && *want_district ? want_district : NULL;
    if (!who)
        return rc_fail(err, RC_AUTH, "no token");
    switch (reach_of(who->role.kind, SCOPE_READ)) {
    case ANY: return RC_OK;
    case OWN:
        if (*institution && strcmp(*institution, who->role.scope) != 0)
            return rc_fail(err, RC_AUTH, "institution %s is not %s", *institution, who->role.scope);
        if (*district) {
            /* A district filter is in scope only when it is the institution's own. */
            int rc = district_of(db, who->role.scope, reg, err);
            if (rc != RC_OK)
                return rc;
            if (strcmp(*district, reg) != 0)
                return rc_fail(err, RC_AUTH, "district %s is not institution %s's (%s)", *district,
                               who->role.scope, reg[0] ? reg : "none");
        }
        *institution = who->role.scope;
        return RC_OK;
    case DISTRICT:
        if (*district && strcmp(*district, who->role.scope) != 0)
            return rc_fail(err, RC_AUTH, "district %s is not %s", *district, who->role.scope);
        if (*institution) {
            /* An institution filter is in scope only when it is registered in this district. */
            int rc = district_of(db, *institution, reg, err);
            if (rc != RC_OK)
                return rc;
            if (strcmp(reg, who->role.scope) != 0)
                return rc_fail(err, RC_AUTH, "institution %s is not registered in district %s",
                               *institution, who->role.scope);
        }
        *district = who->role.scope;
        return RC_OK;
    case NONE:
    default: return rc_fail(err, RC_AUTH, "this role reads no figures");
    }
}

void scope_refuse(const struct http_request *req, struct http_response *res, const char *what)
{
    char role[STORE_ROLE_MAX + 1] = "none";
    const char *name = "(anonymous)";
    if (req->who) {
        auth_role_format(&req->who->role, role, sizeof role);
        name = req->who->name;
    }
    log_msg(LOG_LVL_WARN, "403 %s %s: token '%s' (role %s) is outside its scope: %s", req->method,
            req->path, name, role, what);
    http_reply_coded(res, 403, HTTP_E_OUT_OF_SCOPE, "outside this token's scope: %s", what);
}

bool scope_allow_read(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return scope_role_may(who, SCOPE_READ);
}

bool scope_allow_read_subsidy(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return scope_role_may(who, SCOPE_READ_SUBSIDY);
}

bool scope_allow_write_plan(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return scope_role_may(who, SCOPE_WRITE_PLAN);
}

bool scope_allow_write_online(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return scope_role_may(who, SCOPE_WRITE_ONLINE);
}

bool scope_allow_write_assessment(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return scope_role_may(who, SCOPE_WRITE_ASSESSMENT);
}

bool scope_allow_review(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return scope_role_may(who, SCOPE_REVIEW);
}

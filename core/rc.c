#include "rc.h"

#include <stdarg.h>
#include <stdio.h>

const char *rc_str(int rc)
{
    switch (rc) {
    case RC_OK: return "ok";
    case RC_INVAL: return "invalid input";
    case RC_NOMEM: return "out of memory";
    case RC_IO: return "i/o error";
    case RC_CRYPTO: return "cryptographic failure";
    case RC_NOTFOUND: return "not found";
    case RC_LIMIT: return "limit exceeded";
    case RC_DB: return "database error";
    case RC_CONFLICT: return "conflict";
    case RC_AUTH: return "not authorised";
    case RC_NET: return "network error";
    case RC_FULL: return "storage full";
    case RC_CORRUPT: return "corrupt data";
    case RC_TIMEOUT: return "timed out";
    case RC_STATE: return "invalid state";
    default: return "unknown error";
    }
}

int rc_fail(char *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return rc;
}

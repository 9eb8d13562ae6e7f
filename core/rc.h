/* Result codes shared by every module: 0 is success, each failure a negative rc value.
 * Details go into a caller-owned char err[ERR_LEN]; leaf modules never log. */
#ifndef ROLLCALL_RC_H
#define ROLLCALL_RC_H

#include <stddef.h>

enum { ERR_LEN = 256 };

enum rc {
    RC_OK = 0,
    RC_INVAL = -1,    /* refused input: malformed, out of range, non-canonical */
    RC_NOMEM = -2,    /* out of memory */
    RC_IO = -3,       /* file or socket I/O failed */
    RC_CRYPTO = -4,   /* a cryptographic operation failed or a signature did not verify */
    RC_NOTFOUND = -5, /* an id, file or key does not exist */
    RC_LIMIT = -6,    /* a named size limit was exceeded */
    RC_DB = -7,       /* the database failed */
    RC_CONFLICT = -8, /* the input contradicts stored state (chain break, duplicate id) */
    RC_AUTH = -9,     /* not authenticated or not allowed */
    RC_NET = -10,     /* network failure */
    RC_FULL = -11,    /* storage full: refused rather than lost */
    RC_CORRUPT = -12, /* stored data failed its integrity check */
    RC_TIMEOUT = -13, /* gave up waiting */
    RC_STATE = -14,   /* the operation is not valid in the current state */
};

/* Returns a static, lower-case name for rc ("invalid input", ...); never NULL. */
const char *rc_str(int rc);

/* Formats into err (size ERR_LEN or more) like snprintf; returns rc unchanged so callers can
 * write `return rc_fail(err, RC_INVAL, "bad %s", what);`. err may be NULL. */
int rc_fail(char *err, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

/* Plain POSIX ustar archives (POSIX.1-1988 as in pax(1) "ustar Interchange Format") held in
 * memory: the container of an evidence bundle (docs/EVIDENCE.md), which any tar opens.
 *
 * Invariants:
 * - The writer makes regular files only: mode 0644, uid/gid 0, the given mtime, names of
 *   1..TAR_NAME_MAX bytes in the header's name field (no prefix), two zero blocks at the end.
 *   The same members give the same bytes.
 * - The reader accepts regular files only (typeflag '0' or NUL), with a valid header checksum
 *   and ustar magic (POSIX "ustar\0" "00" or GNU "ustar  \0"); a name that is absolute, holds
 *   "..", is empty or appears twice is refused; every size is checked against the data left.
 *   Members point into the caller's buffer: nothing is copied. */
#ifndef ROLLCALL_SERVER_EVIDENCE_TAR_H
#define ROLLCALL_SERVER_EVIDENCE_TAR_H

#include "dynbuf.h"

#include <stddef.h>
#include <stdint.h>

enum {
    TAR_BLOCK = 512,
    TAR_NAME_MAX = 99,       /* bytes of a member's name (the name field, NUL-terminated) */
    TAR_MEMBERS_MAX = 10000, /* members of one archive the reader accepts */
};

/* Appends a member (name, len bytes of data, mtime in seconds since the epoch) to out. Returns
 * 0, RC_INVAL for a bad name, RC_LIMIT/RC_NOMEM when out is full. */
int tar_add(struct dynbuf *out, const char *name, const void *data, size_t len, int64_t mtime_s,
            char *err);
/* Appends the end-of-archive marker (two zero blocks). */
int tar_finish(struct dynbuf *out, char *err);

struct tar_member {
    char name[TAR_NAME_MAX + 1];
    const char *data; /* into the archive's buffer */
    size_t len;
};

/* Reads the archive of len bytes at data into *out (a new array of *n members, in archive
 * order; free()). Returns 0 or RC_INVAL/RC_LIMIT/RC_NOMEM with one line in err naming the
 * member or byte offset. */
int tar_read(const char *data, size_t len, struct tar_member **out, size_t *n, char *err);

/* The member named name among m[0..n), or NULL. */
const struct tar_member *tar_find(const struct tar_member *m, size_t n, const char *name);

#endif

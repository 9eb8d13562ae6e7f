/* ustar archives in memory (see tar.h). */
#include "evidence/tar.h"

#include "rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Header field offsets and sizes (POSIX ustar). */
enum {
    H_NAME = 0,
    H_MODE = 100,
    H_UID = 108,
    H_GID = 116,
    H_SIZE = 124,
    H_MTIME = 136,
    H_CHKSUM = 148,
    H_TYPE = 156,
    H_MAGIC = 257,
    H_VERSION = 263,
    H_UNAME = 265,
    H_GNAME = 297,
    H_PREFIX = 345,
};

#define SIZE_MAX_OCTAL UINT64_C(077777777777) /* 11 octal digits: 8 GiB - 1 */

static void octal(char *field, size_t width, uint64_t v)
{
    /* width - 1 digits and a NUL */
    field[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0;) {
        field[i] = (char)('0' + (v & 7));
        v >>= 3;
    }
}

static unsigned checksum(const unsigned char *h)
{
    unsigned sum = 0;
    for (size_t i = 0; i < TAR_BLOCK; i++)
        sum += (i >= H_CHKSUM && i < H_CHKSUM + 8) ? ' ' : h[i];
    return sum;
}

static int name_check(const char *name, char *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > TAR_NAME_MAX)
        return rc_fail(err, RC_INVAL, "member name must be 1..%d bytes", TAR_NAME_MAX);
    if (name[0] == '/' || strstr(name, "..") || name[n - 1] == '/')
        return rc_fail(err, RC_INVAL, "member name '%s' is absolute, a folder or holds '..'", name);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return rc_fail(err, RC_INVAL, "member name holds a control character");
    }
    return RC_OK;
}

int tar_add(struct dynbuf *out, const char *name, const void *data, size_t len, int64_t mtime_s,
            char *err)
{
    int rc = name_check(name, err);
    if (rc != RC_OK)
        return rc;
    if ((uint64_t)len > SIZE_MAX_OCTAL)
        return rc_fail(err, RC_LIMIT, "member %s is larger than ustar allows", name);
    unsigned char h[TAR_BLOCK];
    memset(h, 0, sizeof h);
    memcpy(h + H_NAME, name, strlen(name));
    octal((char *)h + H_MODE, 8, 0644);
    octal((char *)h + H_UID, 8, 0);
    octal((char *)h + H_GID, 8, 0);
    octal((char *)h + H_SIZE, 12, (uint64_t)len);
    octal((char *)h + H_MTIME, 12, mtime_s > 0 ? (uint64_t)mtime_s : 0);
    h[H_TYPE] = '0';
    memcpy(h + H_MAGIC, "ustar", 6);
    memcpy(h + H_VERSION, "00", 2);
    memcpy(h + H_UNAME, "rollcall", 8);
    memcpy(h + H_GNAME, "rollcall", 8);
    unsigned sum = checksum(h);
    octal((char *)h + H_CHKSUM, 7, sum); /* six digits, NUL, then the space already there */
    h[H_CHKSUM + 7] = ' ';
    static const char zeros[TAR_BLOCK];
    size_t pad = (TAR_BLOCK - len % TAR_BLOCK) % TAR_BLOCK;
    if (dynbuf_add(out, h, sizeof h) != RC_OK || (len && dynbuf_add(out, data, len) != RC_OK) ||
        (pad && dynbuf_add(out, zeros, pad) != RC_OK))
        return rc_fail(err, RC_LIMIT, "bundle larger than its limit (%zu bytes) at member %s",
                       out->max, name);
    return RC_OK;
}

int tar_finish(struct dynbuf *out, char *err)
{
    static const char zeros[2 * TAR_BLOCK];
    if (dynbuf_add(out, zeros, sizeof zeros) != RC_OK)
        return rc_fail(err, RC_LIMIT, "bundle larger than its limit (%zu bytes)", out->max);
    return RC_OK;
}

/* An octal field: digits, then spaces or NULs to its end; at least one digit. */
static bool parse_octal(const unsigned char *f, size_t width, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < width && f[i] == ' ')
        i++;
    size_t digits = 0;
    for (; i < width && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v > (UINT64_MAX >> 3))
            return false;
        v = (v << 3) | (uint64_t)(f[i] - '0');
    }
    for (; i < width; i++) {
        if (f[i] != ' ' && f[i] != '\0')
            return false;
    }
    *out = v;
    return digits > 0;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i])
            return false;
    }
    return true;
}

int tar_read(const char *data, size_t len, struct tar_member **out, size_t *n, char *err)
{
    struct tar_member *m = NULL;
    size_t count = 0, cap = 0, off = 0;
    int rc = RC_OK;
    *out = NULL;
    *n = 0;
    for (;;) {
        if (len - off < TAR_BLOCK) {
            rc = rc_fail(err, RC_INVAL, "not a tar archive or cut short at byte %zu", off);
            goto out;
        }
        const unsigned char *h = (const unsigned char *)data + off;
        if (all_zero(h, TAR_BLOCK))
            break; /* end of archive (the second zero block is not required) */
        uint64_t sum, size;
        if (!parse_octal(h + H_CHKSUM, 8, &sum) || sum != checksum(h)) {
            rc = rc_fail(err, RC_INVAL, "tar header at byte %zu: bad checksum", off);
            goto out;
        }
        if (memcmp(h + H_MAGIC,
                   "ustar\0"
                   "00",
                   8) != 0 &&
            memcmp(h + H_MAGIC, "ustar  \0", 8) != 0) {
            rc = rc_fail(err, RC_INVAL, "tar header at byte %zu: not ustar", off);
            goto out;
        }
        if (h[H_TYPE] != '0' && h[H_TYPE] != '\0') {
            rc = rc_fail(err, RC_INVAL, "tar header at byte %zu: not a regular file (type %c)", off,
                         h[H_TYPE] >= 0x20 && h[H_TYPE] < 0x7f ? h[H_TYPE] : '?');
            goto out;
        }
        if (h[H_PREFIX] != '\0' || !memchr(h + H_NAME, '\0', 100)) {
            rc = rc_fail(err, RC_INVAL, "tar header at byte %zu: name longer than %d bytes", off,
                         TAR_NAME_MAX);
            goto out;
        }
        if (!parse_octal(h + H_SIZE, 12, &size) || size > len - off - TAR_BLOCK) {
            rc = rc_fail(err, RC_INVAL, "tar header at byte %zu: size beyond the archive", off);
            goto out;
        }
        if (count == TAR_MEMBERS_MAX) {
            rc = rc_fail(err, RC_LIMIT, "more than %d members", TAR_MEMBERS_MAX);
            goto out;
        }
        if (count == cap) {
            size_t want = cap ? cap * 2 : 32;
            struct tar_member *nm = realloc(m, want * sizeof *nm);
            if (!nm) {
                rc = rc_fail(err, RC_NOMEM, "out of memory");
                goto out;
            }
            m = nm;
            cap = want;
        }
        struct tar_member *t = &m[count];
        snprintf(t->name, sizeof t->name, "%s", (const char *)h + H_NAME);
        if ((rc = name_check(t->name, err)) != RC_OK)
            goto out;
        if (tar_find(m, count, t->name)) {
            rc = rc_fail(err, RC_INVAL, "member %s appears twice", t->name);
            goto out;
        }
        t->data = data + off + TAR_BLOCK;
        t->len = (size_t)size;
        count++;
        size_t blocks = ((size_t)size + TAR_BLOCK - 1) / TAR_BLOCK;
        if (blocks > (len - off - TAR_BLOCK) / TAR_BLOCK) {
            rc = rc_fail(err, RC_INVAL, "member %s: cut short", t->name);
            goto out;
        }
        off += TAR_BLOCK + blocks * TAR_BLOCK;
    }
out:
    if (rc != RC_OK) {
        free(m);
        return rc;
    }
    *out = m;
    *n = count;
    return RC_OK;
}

const struct tar_member *tar_find(const struct tar_member *m, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].name, name) == 0)
            return &m[i];
    }
    return NULL;
}

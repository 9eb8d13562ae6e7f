/* Growable buffer with a maximum (see dynbuf.h). Growth doubles from DYNBUF_FIRST, clamped to
 * max + 1 (the NUL). */
#include "dynbuf.h"

#include "rc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DYNBUF_FIRST = 256 };

void dynbuf_init(struct dynbuf *b, size_t max)
{
    b->buf = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

/* Makes room for n more bytes plus the NUL. */
static int grow(struct dynbuf *b, size_t n)
{
    if (n > b->max - b->len)
        return RC_LIMIT;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return RC_OK;
    size_t limit = b->max + 1;
    size_t want = b->cap ? b->cap : DYNBUF_FIRST;
    while (want < need)
        want = want > limit / 2 ? limit : want * 2;
    if (want > limit)
        want = limit;
    char *nb = realloc(b->buf, want);
    if (!nb)
        return RC_NOMEM;
    b->buf = nb;
    b->cap = want;
    return RC_OK;
}

int dynbuf_add(struct dynbuf *b, const void *mem, size_t n)
{
    int rc = grow(b, n);
    if (rc != RC_OK)
        return rc;
    if (n)
        memcpy(b->buf + b->len, mem, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return RC_OK;
}

int dynbuf_adds(struct dynbuf *b, const char *s)
{
    return dynbuf_add(b, s, strlen(s));
}

int dynbuf_vaddf(struct dynbuf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int rc = RC_OK;
    int w = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0, fmt, ap);
    if (w < 0) {
        rc = RC_INVAL;
    } else if (b->buf && (size_t)w < b->cap - b->len) {
        b->len += (size_t)w; /* it fitted, so it is within max (cap <= max + 1) */
    } else if ((rc = grow(b, (size_t)w)) == RC_OK) {
        vsnprintf(b->buf + b->len, b->cap - b->len, fmt, again);
        b->len += (size_t)w;
    }
    /* A refused format may have written past the content: terminate it again. */
    if (rc != RC_OK && b->buf)
        b->buf[b->len] = '\0';
    va_end(again);
    return rc;
}

int dynbuf_addf(struct dynbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = dynbuf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void dynbuf_reset(struct dynbuf *b)
{
    b->len = 0;
    if (b->buf)
        b->buf[0] = '\0';
}

void dynbuf_free(struct dynbuf *b)
{
    free(b->buf);
    dynbuf_init(b, b->max);
}

const char *dynbuf_ptr(const struct dynbuf *b)
{
    return b->buf ? b->buf : "";
}

size_t dynbuf_len(const struct dynbuf *b)
{
    return b->len;
}

char *dynbuf_take(struct dynbuf *b, size_t *len)
{
    char *p = b->buf ? b->buf : calloc(1, 1);
    if (len)
        *len = b->len;
    dynbuf_init(b, b->max);
    return p;
}

void dyntext_init(struct dyntext *t, size_t max)
{
    dynbuf_init(&t->b, max);
    t->rc = RC_OK;
}

bool dyntext_printf(struct dyntext *t, const char *fmt, ...)
{
    if (t->rc != RC_OK)
        return false;
    va_list ap;
    va_start(ap, fmt);
    t->rc = dynbuf_vaddf(&t->b, fmt, ap);
    va_end(ap);
    return t->rc == RC_OK;
}

int dyntext_take(struct dyntext *t, const char *what, char **buf, size_t *len, char *err)
{
    if (t->rc != RC_OK) {
        size_t max = t->b.max;
        dynbuf_free(&t->b);
        return t->rc == RC_LIMIT ? rc_fail(err, RC_LIMIT, "%s over %zu bytes", what, max)
                                 : rc_fail(err, RC_NOMEM, "out of memory");
    }
    *buf = dynbuf_take(&t->b, len);
    return *buf ? RC_OK : rc_fail(err, RC_NOMEM, "out of memory");
}

/* A growable byte buffer that carries its maximum (after curl's dynbuf): every buffer we grow
 * from input or for output names its size limit when it is set up, and growth past that limit
 * is an error (RC_LIMIT), not a larger allocation.
 *
 * Invariants: len <= max at all times; once anything was added the content is followed by a
 * NUL byte (not counted in len), so text can be used as a C string; on any failed add the
 * content is unchanged. Not thread-safe (one owner). */
#ifndef ROLLCALL_DYNBUF_H
#define ROLLCALL_DYNBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct dynbuf {
    char *buf;  /* NULL until the first add */
    size_t len; /* bytes held */
    size_t cap; /* bytes allocated (len + 1 <= cap once allocated) */
    size_t max; /* len never passes this */
};

/* Sets up an empty buffer holding at most max bytes (max < SIZE_MAX); allocates nothing,
 * cannot fail. */
void dynbuf_init(struct dynbuf *b, size_t max);
/* Appends n bytes. RC_LIMIT when len + n would pass max, RC_NOMEM; 0 otherwise. */
int dynbuf_add(struct dynbuf *b, const void *mem, size_t n);
/* Appends a NUL-terminated string (as dynbuf_add). */
int dynbuf_adds(struct dynbuf *b, const char *s);
/* Appends printf-formatted text (as dynbuf_add; RC_INVAL for a format error). */
int dynbuf_addf(struct dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dynbuf_addf with a va_list (ap is used up). */
int dynbuf_vaddf(struct dynbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Empties the buffer, keeping its memory and maximum. */
void dynbuf_reset(struct dynbuf *b);
/* Frees the memory; the buffer is empty again (same maximum) and may be reused. */
void dynbuf_free(struct dynbuf *b);
/* The content (NUL-terminated; "" when nothing was added), owned by the buffer. */
const char *dynbuf_ptr(const struct dynbuf *b);
/* Bytes held. */
size_t dynbuf_len(const struct dynbuf *b);
/* Hands the content over: returns it (malloc'd, NUL-terminated; caller frees; NULL only when
 * out of memory for an empty buffer) and leaves the buffer empty. */
char *dynbuf_take(struct dynbuf *b, size_t *len);

/* Text made by many printf-style adds (report and summary tables): the first failure sticks,
 * later adds do nothing, and the outcome is checked once, by dyntext_take. */
struct dyntext {
    struct dynbuf b;
    int rc; /* 0, or the first add's failure */
};

/* Sets up empty text of at most max bytes; cannot fail. */
void dyntext_init(struct dyntext *t, size_t max);
/* Appends formatted text unless an earlier add failed. Returns true while nothing failed. */
bool dyntext_printf(struct dyntext *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the text over (*buf, malloc'd, NUL-terminated; *len may be NULL) or frees it and fails:
 * RC_LIMIT "WHAT over MAX bytes", RC_NOMEM. */
int dyntext_take(struct dyntext *t, const char *what, char **buf, size_t *len, char *err);

#endif

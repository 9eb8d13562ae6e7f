/* An event row's packed form (store_backend.h, store_event_pack): what the figures read of an
 * event, in one byte string every back-end stores and reads the same way. */
#include "rc.h"
#include "store/store_backend.h"

#include <stdint.h>
#include <string.h>

enum {
    PACK_FIX = 1u << 0,
    PACK_EPH = 1u << 1,
    PACK_SATS = 1u << 2,
    PACK_FIX_TIME = 1u << 3,
    PACK_START = 1u << 4,
    PACK_END = 1u << 5,
    PACK_SKEW = 1u << 6,
    PACK_TRAINEE_BIN = 1u << 7,  /* the trainee's pseudonym as its 32 bytes, not 64 hex digits */
    PACK_EVENT_ID_BIN = 1u << 8, /* the event's UUID as its 16 bytes, not 36 characters */
    PACK_FLAGS = (1u << 9) - 1,
};
enum { PSEUDONYM_BYTES = 32, UUID_BYTES = 16 };
enum { VARINT_MAX = 10 }; /* bytes of a 64-bit varint */

struct packer {
    unsigned char *p;
    size_t n, cap;
};

static void put_byte(struct packer *k, unsigned v)
{
    if (k->n < k->cap)
        k->p[k->n] = (unsigned char)v;
    k->n++; /* past cap: counted, not written */
}

/* Zigzag (small negatives stay short), then 7 bits a byte, low first. */
static void put_varint(struct packer *k, int64_t v)
{
    uint64_t z = (uint64_t)v << 1;
    if (v < 0)
        z = ~z;
    do {
        put_byte(k, (unsigned)(z & 0x7f) | (z > 0x7f ? 0x80u : 0u));
        z >>= 7;
    } while (z);
}

static void put_double(struct packer *k, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    for (int i = 0; i < 8; i++)
        put_byte(k, (unsigned)(u >> (8 * i)) & 0xffu);
}

static void put_string(struct packer *k, const char *s)
{
    for (; s && *s; s++)
        put_byte(k, (unsigned char)*s);
    put_byte(k, 0);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case too: it would not come back as it was */
}

/* Whether s is exactly the lower-case hex of bytes bytes, with dashes where dash_at says
 * (a bit per byte: a dash before that byte), and those bytes into out. */
static bool hex_bytes(const char *s, size_t bytes, uint32_t dash_at, unsigned char *out)
{
    if (!s)
        return false;
    for (size_t i = 0; i < bytes; i++) {
        if (dash_at & (1u << i) && *s++ != '-')
            return false;
        int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);
        if (lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
        s += 2;
    }
    return *s == 0;
}

static void hex_string(const unsigned char *b, size_t bytes, uint32_t dash_at, char *out)
{
    /* a byte's two digits at once: the figures unpack two ids an event */
    static const char pairs[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                                "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
                                "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
                                "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
                                "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                                "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
                                "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
                                "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    for (size_t i = 0; i < bytes; i++) {
        if (dash_at & (1u << i))
            *out++ = '-';
        memcpy(out, &pairs[2 * b[i]], 2);
        out += 2;
    }
    *out = 0;
}

/* A UUID's dashes: before its bytes 4, 6, 8 and 10 (8-4-4-4-12 digits). */
static const uint32_t UUID_DASHES = 1u << 4 | 1u << 6 | 1u << 8 | 1u << 10;
_Static_assert(STORE_PACK_PSEUDONYM_LEN == 2 * PSEUDONYM_BYTES, "a pseudonym's hex");
_Static_assert(STORE_PACK_UUID_LEN == 2 * UUID_BYTES + 4, "a UUID's text");

size_t store_event_pack(const struct store_event *r, unsigned char *buf, size_t cap)
{
    if (!r->cols)
        return 0;
    struct packer k = {.p = buf, .cap = cap};
    unsigned char trainee[PSEUDONYM_BYTES], event_id[UUID_BYTES];
    unsigned flags = 0;
    flags |= hex_bytes(r->trainee, PSEUDONYM_BYTES, 0, trainee) ? PACK_TRAINEE_BIN : 0;
    flags |= hex_bytes(r->event_id, UUID_BYTES, UUID_DASHES, event_id) ? PACK_EVENT_ID_BIN : 0;
    if (r->has_fix) {
        flags |= PACK_FIX;
        flags |= r->has_eph ? PACK_EPH : 0;
        flags |= r->has_sats ? PACK_SATS : 0;
        flags |= r->has_fix_time ? PACK_FIX_TIME : 0;
    }
    flags |= r->has_start ? PACK_START : 0;
    flags |= r->has_end ? PACK_END : 0;
    flags |= r->has_skew ? PACK_SKEW : 0;
    put_byte(&k, STORE_PACK_VERSION);
    put_byte(&k, flags & 0xffu);
    put_byte(&k, flags >> 8);
    put_varint(&k, r->seq);
    put_varint(&k, r->ts_ms);
    if (flags & PACK_FIX) {
        put_double(&k, r->fix_lat);
        put_double(&k, r->fix_lon);
        put_varint(&k, r->fix_mode);
        if (flags & PACK_EPH)
            put_double(&k, r->fix_eph);
        if (flags & PACK_SATS)
            put_varint(&k, r->fix_sats);
        if (flags & PACK_FIX_TIME)
            put_varint(&k, r->fix_time_ms);
    }
    if (flags & PACK_START)
        put_varint(&k, r->start_ms);
    if (flags & PACK_END)
        put_varint(&k, r->end_ms);
    if (flags & PACK_SKEW)
        put_varint(&k, r->skew_ms);
    put_string(&k, r->device);
    if (flags & PACK_EVENT_ID_BIN)
        for (size_t i = 0; i < UUID_BYTES; i++)
            put_byte(&k, event_id[i]);
    else
        put_string(&k, r->event_id);
    put_string(&k, r->type);
    if (flags & PACK_TRAINEE_BIN)
        for (size_t i = 0; i < PSEUDONYM_BYTES; i++)
            put_byte(&k, trainee[i]);
    else
        put_string(&k, r->trainee);
    const char *strings[] = {r->trainee_masked, r->class_id, r->session,
                             r->rollcall,       r->fence,    r->camera,
                             r->kind,           r->verdict,  r->has_fix ? r->fix_source : NULL};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        put_string(&k, strings[i]);
    return k.n <= cap ? k.n : 0;
}

struct unpacker {
    const unsigned char *p;
    size_t at, n;
    bool bad;
};

static unsigned get_byte(struct unpacker *u)
{
    if (u->at >= u->n) {
        u->bad = true;
        return 0;
    }
    return u->p[u->at++];
}

static int64_t get_varint(struct unpacker *u)
{
    uint64_t z = 0;
    for (int i = 0; i < VARINT_MAX; i++) {
        unsigned b = get_byte(u);
        if (i == VARINT_MAX - 1 && b > 1)
            u->bad = true; /* more than 64 bits */
        z |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            break;
        if (i == VARINT_MAX - 1)
            u->bad = true;
    }
    return z & 1 ? -(int64_t)(z >> 1) - 1 : (int64_t)(z >> 1);
}

static double get_double(struct unpacker *u)
{
    uint64_t v = 0;
    if (u->n - u->at < 8) {
        u->bad = true;
        u->at = u->n;
        return 0;
    }
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)u->p[u->at + (size_t)i] << (8 * i);
    u->at += 8;
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static const char *get_string(struct unpacker *u)
{
    if (u->at < u->n && !u->p[u->at]) /* most of an event's strings are empty */
        return (const char *)(u->p + u->at++);
    const unsigned char *end = u->at < u->n ? memchr(u->p + u->at, 0, u->n - u->at) : NULL;
    if (!end) {
        u->bad = true;
        return "";
    }
    const char *s = (const char *)(u->p + u->at);
    u->at = (size_t)(end - u->p) + 1;
    return s;
}

static int int_of(struct unpacker *u, int64_t v)
{
    if (v < INT32_MIN || v > INT32_MAX)
        u->bad = true;
    return (int)v;
}

/* bytes bytes at u as hex into out (see hex_string). */
static const char *get_hex(struct unpacker *u, size_t bytes, uint32_t dash_at, char *out)
{
    if (u->n - u->at < bytes) {
        u->bad = true;
        return "";
    }
    hex_string(u->p + u->at, bytes, dash_at, out);
    u->at += bytes;
    return out;
}

int store_event_unpack(const void *p, size_t n, struct store_event *r, struct store_pack_text *t)
{
    memset(r, 0, sizeof *r);
    struct unpacker u = {.p = p, .n = n};
    if (get_byte(&u) != STORE_PACK_VERSION)
        return RC_CORRUPT;
    unsigned flags = get_byte(&u);
    flags |= get_byte(&u) << 8;
    if (flags & ~(unsigned)PACK_FLAGS ||
        (!(flags & PACK_FIX) && flags & (PACK_EPH | PACK_SATS | PACK_FIX_TIME)))
        return RC_CORRUPT;
    r->seq = get_varint(&u);
    r->ts_ms = get_varint(&u);
    r->has_fix = flags & PACK_FIX;
    if (r->has_fix) {
        r->fix_lat = get_double(&u);
        r->fix_lon = get_double(&u);
        r->fix_mode = int_of(&u, get_varint(&u));
        r->has_eph = flags & PACK_EPH;
        if (r->has_eph)
            r->fix_eph = get_double(&u);
        r->has_sats = flags & PACK_SATS;
        if (r->has_sats)
            r->fix_sats = int_of(&u, get_varint(&u));
        r->has_fix_time = flags & PACK_FIX_TIME;
        if (r->has_fix_time)
            r->fix_time_ms = get_varint(&u);
    }
    r->has_start = flags & PACK_START;
    if (r->has_start)
        r->start_ms = get_varint(&u);
    r->has_end = flags & PACK_END;
    if (r->has_end)
        r->end_ms = get_varint(&u);
    r->has_skew = flags & PACK_SKEW;
    if (r->has_skew)
        r->skew_ms = get_varint(&u);
    r->device = get_string(&u);
    r->event_id = flags & PACK_EVENT_ID_BIN ? get_hex(&u, UUID_BYTES, UUID_DASHES, t->event_id)
                                            : get_string(&u);
    r->type = get_string(&u);
    r->trainee =
        flags & PACK_TRAINEE_BIN ? get_hex(&u, PSEUDONYM_BYTES, 0, t->trainee) : get_string(&u);
    const char **strings[] = {&r->trainee_masked, &r->class_id, &r->session,
                              &r->rollcall,       &r->fence,    &r->camera,
                              &r->kind,           &r->verdict,  &r->fix_source};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        *strings[i] = get_string(&u);
    if (!r->has_fix)
        r->fix_source = NULL; /* as the columns gave it: no fix, no source */
    if (u.bad || u.at != n)
        return RC_CORRUPT;
    r->cols = true;
    return RC_OK;
}

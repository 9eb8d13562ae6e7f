/* cfgmap: one declarative loader for every configuration and data file (STYLE.md rule 7).
 *
 * A table of entries describes a C struct: JSON key, type, bounds, default, required flag,
 * unit, help, and the field's offset. The loader fills the struct from a JSON object and the
 * same table serialises it back and documents it, so the file format, the checks and the
 * reference page cannot drift apart.
 *
 * Invariants:
 * - A loaded struct owns no heap memory: strings are fixed char arrays inside it (their size is
 *   the limit), arrays are fixed arrays with a size_t count.
 * - Every key of the JSON object is known to the table, appears once and has the table's type
 *   and bounds; numbers are finite; strings are non-empty UTF-8 without control characters.
 *   Anything else is refused with one line "ORIGIN: $.json.path: what was expected".
 * - On failure the caller's struct is left unchanged.
 * - Absent optional keys take the table's default; absent required keys are refused.
 *
 * Tables are static data terminated by an entry with key NULL. Use the CFGMAP_* field macros
 * below: they check at compile time that the struct field has the type the entry says. */
#ifndef ROLLCALL_CFGMAP_H
#define ROLLCALL_CFGMAP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CFGMAP_FILE_MAX = 256 * 1024, /* bytes of a configuration file */
    CFGMAP_PATH_LEN = 160,        /* a JSON path in an error message ("$.a.b[3].c") */
    CFGMAP_DEPTH_MAX = 8,         /* nesting of object/array entries in a table */
    CFGMAP_ENUM_MAX = 16,         /* names of one enum entry */
    CFGMAP_DOC_MAX = 64 * 1024,   /* bytes of generated documentation */
    /* Integers must stay exact as JSON numbers (IEEE doubles): |value| <= 2^53. */
};
#define CFGMAP_INT_LIMIT 9007199254740992LL

enum cfgmap_type {
    CFGMAP_STRING, /* char field[N]: non-empty, at most N-1 bytes */
    CFGMAP_INT,    /* int64_t, imin..imax */
    CFGMAP_DOUBLE, /* double, dmin..dmax, finite */
    CFGMAP_BOOL,   /* bool */
    CFGMAP_ENUM,   /* int: index into names[] */
    CFGMAP_OBJECT, /* nested struct described by sub */
    CFGMAP_ARRAY,  /* fixed array of structs described by sub, with a size_t count field */
};

struct cfgmap_table;

/* A string check beyond length: returns NULL when value is acceptable, else a static phrase
 * completing "expected ..." (e.g. "an https:// URL"). */
typedef const char *(*cfgmap_check_fn)(const char *value);

struct cfgmap_entry {
    const char *key; /* JSON key; NULL ends a table */
    enum cfgmap_type type;
    size_t offset;     /* of the field within the struct */
    size_t size;       /* sizeof the field (string buffer, nested struct, whole array) */
    bool required;     /* absent is an error (for OBJECT: the object must be present) */
    bool optional_obj; /* OBJECT only: may be absent; present_offset names a bool field */
    size_t present_offset;
    int64_t imin, imax, idef;       /* INT bounds and default; ENUM default index in idef */
    double dmin, dmax, ddef;        /* DOUBLE bounds and default */
    bool bdef;                      /* BOOL default */
    const char *sdef;               /* STRING default (NULL: empty, i.e. unset) */
    cfgmap_check_fn check;          /* STRING: optional extra check */
    const char *const *names;       /* ENUM: NULL-terminated list of accepted strings */
    const struct cfgmap_table *sub; /* OBJECT: its table; ARRAY: the element's table */
    size_t count_offset;            /* ARRAY: size_t field holding the element count */
    size_t elem_size;               /* ARRAY: sizeof one element */
    size_t max_items;               /* ARRAY: capacity of the fixed array */
    const char *unit;               /* documentation: "s", "m", "ms", "bytes"... or NULL */
    const char *doc_default;        /* documentation: overrides the printed default */
    const char *help;               /* documentation: one sentence */
};

struct cfgmap_table {
    const struct cfgmap_entry *entries; /* terminated by key == NULL */
    size_t size;                        /* sizeof the struct the table describes */
};

/* Field macros: use inside an entry initialiser, e.g.
 *   {.key = "port", CFGMAP_F_INT(struct conf, port), .imin = 1, .imax = 65535, ...}
 * A field of the wrong C type is a compile error (_Generic without a match). */
#define CFGMAP_OFF_(st, f, T) (offsetof(st, f) + 0 * sizeof(char[_Generic(((st *)0)->f, T : 1)]))
#define CFGMAP_F_STRING(st, f)                                                                     \
    .type = CFGMAP_STRING, .offset = CFGMAP_OFF_(st, f, char *), .size = sizeof(((st *)0)->f)
#define CFGMAP_F_INT(st, f)                                                                        \
    .type = CFGMAP_INT, .offset = CFGMAP_OFF_(st, f, int64_t), .size = sizeof(int64_t)
#define CFGMAP_F_DOUBLE(st, f)                                                                     \
    .type = CFGMAP_DOUBLE, .offset = CFGMAP_OFF_(st, f, double), .size = sizeof(double)
#define CFGMAP_F_BOOL(st, f)                                                                       \
    .type = CFGMAP_BOOL, .offset = CFGMAP_OFF_(st, f, bool), .size = sizeof(bool)
#define CFGMAP_F_ENUM(st, f, namelist)                                                             \
    .type = CFGMAP_ENUM, .offset = CFGMAP_OFF_(st, f, int), .size = sizeof(int), .names = (namelist)
#define CFGMAP_F_OBJECT(st, f, table)                                                              \
    .type = CFGMAP_OBJECT, .offset = offsetof(st, f), .size = sizeof(((st *)0)->f), .sub = (table)
#define CFGMAP_F_OPTIONAL_OBJECT(st, f, present_f, table)                                          \
    CFGMAP_F_OBJECT(st, f, table), .optional_obj = true,                                           \
                                   .present_offset = CFGMAP_OFF_(st, present_f, bool)
#define CFGMAP_F_ARRAY(st, f, count_f, table)                                                      \
    .type = CFGMAP_ARRAY, .offset = offsetof(st, f), .size = sizeof(((st *)0)->f), .sub = (table), \
    .count_offset = CFGMAP_OFF_(st, count_f, size_t), .elem_size = sizeof(((st *)0)->f[0]),        \
    .max_items = sizeof(((st *)0)->f) / sizeof(((st *)0)->f[0])

/* Checks a table for programming errors: defaults within bounds and fitting their fields,
 * enum lists present and short, nested sizes matching, depth within CFGMAP_DEPTH_MAX.
 * Returns 0 or RC_INVAL naming the entry. Tests call it on every table. */
int cfgmap_table_check(const struct cfgmap_table *t, char *err);

/* Writes the table's defaults into out (t->size bytes): absent optional objects, empty
 * arrays, empty strings where there is no default. Cannot fail. */
void cfgmap_defaults(const struct cfgmap_table *t, void *out);

/* Loads a JSON object into out (t->size bytes). origin names the input in error messages
 * (usually the file name) and root is the JSON path of obj ("$", or "$.profile" for an
 * embedded object). Returns 0, RC_INVAL or RC_NOMEM; out is unchanged on failure. */
int cfgmap_load_json(const struct cfgmap_table *t, const cJSON *obj, const char *origin,
                     const char *root, void *out, char *err);

/* Parses len bytes of JSON text (at most CFGMAP_FILE_MAX; a leading UTF-8 BOM is skipped)
 * and loads the object into out. Returns 0, RC_INVAL, RC_LIMIT or RC_NOMEM. */
int cfgmap_load_buffer(const struct cfgmap_table *t, const char *text, size_t len,
                       const char *origin, void *out, char *err);

/* Reads a regular file of at most CFGMAP_FILE_MAX bytes into a NUL-terminated heap buffer.
 * The caller frees *out. Returns 0, RC_NOTFOUND, RC_IO, RC_LIMIT or RC_NOMEM; errors name
 * the path. */
int cfgmap_read_file(const char *path, char **out, size_t *len, char *err);

/* Reads, parses and loads a file; errors start with the path. Returns as cfgmap_load_buffer,
 * plus RC_NOTFOUND or RC_IO. */
int cfgmap_load_file(const struct cfgmap_table *t, const char *path, void *out, char *err);

/* Serialises in (t->size bytes) into a new JSON object in table order: every key with its
 * value, except empty optional strings and absent optional objects. The values are checked
 * like a load, so the result always loads back. *out is the caller's (cJSON_Delete).
 * Returns 0, RC_INVAL (naming the path, origin "struct") or RC_NOMEM. */
int cfgmap_to_json(const struct cfgmap_table *t, const void *in, cJSON **out, char *err);

/* Markdown reference of every key: one table row per key (full path, type and bounds, unit,
 * default, meaning), nested keys after their object. *out is a NUL-terminated heap string the
 * caller frees. Returns 0, RC_LIMIT (over CFGMAP_DOC_MAX) or RC_NOMEM. */
int cfgmap_doc(const struct cfgmap_table *t, char **out, char *err);

/* Ready-made string checks (cfgmap_check_fn). */
/* Letters, digits, '.', '_', '-' only; starts with a letter or digit. */
const char *cfgmap_check_id(const char *value);
/* An absolute path (starts with '/'). */
const char *cfgmap_check_abs_path(const char *value);
/* Exactly 64 hex digits. */
const char *cfgmap_check_hex64(const char *value);

#endif

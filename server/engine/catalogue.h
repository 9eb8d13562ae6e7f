/* The subsidy catalogue (DOMAIN.md rule 5): per occupation (code from the occupational
 * classification) and level, the required training hours (学时) and the training subsidy in
 * yuan, shipped as data (server/catalogue.json, copied from annex 3 of 津人社办发〔2022〕94号),
 * plus the minutes one 学时 lasts.
 *
 * Invariants:
 * - A loaded catalogue is complete and valid: at least one occupation, codes of the form
 *   D-DD-DD-DD and names unique, every level present with hours and amount in range; a file
 *   that breaks any of this is refused whole, naming the JSON path.
 * - A catalogue owns no heap memory (fixed arrays); it is immutable after loading, and every
 *   lookup is a pure function. */
#ifndef ROLLCALL_CATALOGUE_H
#define ROLLCALL_CATALOGUE_H

#include <stddef.h>
#include <stdint.h>

enum {
    CATALOGUE_MAX = 64,            /* occupations in one catalogue */
    CATALOGUE_CODE_MAX = 15,       /* bytes of an occupation code ("2-02-10-09" is 10) */
    CATALOGUE_NAME_MAX = 96,       /* bytes of UTF-8 in an occupation name */
    CATALOGUE_SOURCE_MAX = 1024,   /* bytes of the "source" note */
    CATALOGUE_HOURS_MAX = 2000,    /* 学时 of one level */
    CATALOGUE_AMOUNT_MAX = 100000, /* yuan of one level */
    CATALOGUE_MINUTES_DEFAULT = 45,
};

enum catalogue_level {
    CATALOGUE_JUNIOR = 0,       /* 初级 */
    CATALOGUE_INTERMEDIATE = 1, /* 中级 */
    CATALOGUE_SENIOR = 2,       /* 高级 */
    CATALOGUE_LEVELS = 3
};

struct catalogue_grade {
    int64_t hours;       /* 学时 required */
    int64_t amount_yuan; /* training subsidy */
};

struct catalogue_occupation {
    char name[CATALOGUE_NAME_MAX + 1];
    char code[CATALOGUE_CODE_MAX + 1];
    struct catalogue_grade junior, intermediate, senior;
};

struct catalogue {
    char source[CATALOGUE_SOURCE_MAX + 1];
    int64_t minutes_per_hour; /* minutes of one 学时 */
    size_t count;
    struct catalogue_occupation occupations[CATALOGUE_MAX];
};

/* The installed catalogue path (ROLLCALL_DATADIR/catalogue.json). Static storage. */
const char *catalogue_installed_path(void);

/* Loads and validates a catalogue file into *out (unchanged on failure). path NULL means the
 * default: the installed path, else the source tree this binary was built from, else
 * $ROLLCALL_SOURCE_DIR/server/catalogue.json (a source tree, for tests and development). Returns 0, RC_NOTFOUND, RC_IO, RC_LIMIT, RC_INVAL or RC_NOMEM
 * with err naming the file and JSON path. */
int catalogue_load(const char *path, struct catalogue *out, char *err);

/* Loads from len bytes of JSON; origin names the input in errors. Returns as catalogue_load. */
int catalogue_load_buffer(const char *text, size_t len, const char *origin, struct catalogue *out,
                          char *err);

/* The occupation with this code, owned by c, or NULL. */
const struct catalogue_occupation *catalogue_find(const struct catalogue *c, const char *code);

/* The grade of occupation o at level lv (lv must be a level). Owned by o. */
const struct catalogue_grade *catalogue_grade_of(const struct catalogue_occupation *o,
                                                 enum catalogue_level lv);

/* Parses a level name: junior/intermediate/senior or 初级/中级/高级. Returns 0 and *lv, or
 * RC_INVAL. */
int catalogue_level_parse(const char *s, enum catalogue_level *lv);

/* "junior", "intermediate", "senior"; NULL for anything else. Static storage. */
const char *catalogue_level_name(enum catalogue_level lv);

/* "初级", "中级", "高级"; NULL for anything else. Static storage. */
const char *catalogue_level_name_zh(enum catalogue_level lv);

/* Required training minutes of occupation o at level lv: 学时 x c->minutes_per_hour. */
int64_t catalogue_required_minutes(const struct catalogue *c, const struct catalogue_occupation *o,
                                   enum catalogue_level lv);

#endif

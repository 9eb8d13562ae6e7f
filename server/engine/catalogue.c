#include "engine/catalogue.h"

#include "cfgmap.h"
#include "rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ROLLCALL_DATADIR
#define ROLLCALL_DATADIR "/usr/local/share/rollcall"
#endif

static const char *check_code(const char *v)
{
    static const char why[] = "an occupation code D-DD-DD-DD";
    static const char shape[] = "9-99-99-99";
    if (strlen(v) != sizeof shape - 1)
        return why;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == '-' ? v[i] != '-' : (v[i] < '0' || v[i] > '9'))
            return why;
    }
    return NULL;
}

static const struct cfgmap_entry grade_entries[] = {
    {.key = "hours",
     CFGMAP_F_INT(struct catalogue_grade, hours),
     .required = true,
     .imin = 1,
     .imax = CATALOGUE_HOURS_MAX,
     .unit = "学时",
     .help = "training hours required (学时要求)"},
    {.key = "amount_yuan",
     CFGMAP_F_INT(struct catalogue_grade, amount_yuan),
     .required = true,
     .imin = 1,
     .imax = CATALOGUE_AMOUNT_MAX,
     .unit = "yuan",
     .help = "training subsidy per certified trainee (补贴金额)"},
    {.key = NULL},
};
static const struct cfgmap_table grade_table = {grade_entries, sizeof(struct catalogue_grade)};

static const struct cfgmap_entry occupation_entries[] = {
    {.key = "name",
     CFGMAP_F_STRING(struct catalogue_occupation, name),
     .required = true,
     .help = "occupation (工种) name as in the catalogue"},
    {.key = "code",
     CFGMAP_F_STRING(struct catalogue_occupation, code),
     .required = true,
     .check = check_code,
     .help = "code in the occupational classification (职业大典中职业代码)"},
    {.key = "junior",
     CFGMAP_F_OBJECT(struct catalogue_occupation, junior, &grade_table),
     .required = true,
     .help = "初级"},
    {.key = "intermediate",
     CFGMAP_F_OBJECT(struct catalogue_occupation, intermediate, &grade_table),
     .required = true,
     .help = "中级"},
    {.key = "senior",
     CFGMAP_F_OBJECT(struct catalogue_occupation, senior, &grade_table),
     .required = true,
     .help = "高级"},
    {.key = NULL},
};
static const struct cfgmap_table occupation_table = {occupation_entries,
                                                     sizeof(struct catalogue_occupation)};

static const struct cfgmap_entry catalogue_entries[] = {
    {.key = "source",
     CFGMAP_F_STRING(struct catalogue, source),
     .required = true,
     .help = "where the figures come from"},
    {.key = "minutes_per_hour",
     CFGMAP_F_INT(struct catalogue, minutes_per_hour),
     .imin = 1,
     .imax = 120,
     .idef = CATALOGUE_MINUTES_DEFAULT,
     .unit = "min",
     .help = "minutes of one 学时 (class hour)"},
    {.key = "occupations",
     CFGMAP_F_ARRAY(struct catalogue, occupations, count, &occupation_table),
     .required = true,
     .help = "one entry per occupation"},
    {.key = NULL},
};
static const struct cfgmap_table catalogue_table = {catalogue_entries, sizeof(struct catalogue)};

const char *catalogue_installed_path(void)
{
    return ROLLCALL_DATADIR "/catalogue.json";
}

/* Cross-entry checks cfgmap cannot express. */
static int validate(const struct catalogue *c, const char *origin, char *err)
{
    if (c->count == 0)
        return rc_fail(err, RC_INVAL, "%s: $.occupations: expected at least one occupation",
                       origin);
    for (size_t i = 0; i < c->count; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->occupations[i].code, c->occupations[j].code) == 0)
                return rc_fail(err, RC_INVAL, "%s: $.occupations[%zu].code: duplicate of [%zu]",
                               origin, i, j);
            if (strcmp(c->occupations[i].name, c->occupations[j].name) == 0)
                return rc_fail(err, RC_INVAL, "%s: $.occupations[%zu].name: duplicate of [%zu]",
                               origin, i, j);
        }
    }
    return RC_OK;
}

int catalogue_load_buffer(const char *text, size_t len, const char *origin, struct catalogue *out,
                          char *err)
{
    struct catalogue *tmp = malloc(sizeof *tmp);
    if (!tmp)
        return rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
    int rc = cfgmap_load_buffer(&catalogue_table, text, len, origin, tmp, err);
    if (rc == RC_OK)
        rc = validate(tmp, origin, err);
    if (rc == RC_OK)
        memcpy(out, tmp, sizeof *tmp);
    free(tmp);
    return rc;
}

static int load_path(const char *path, struct catalogue *out, char *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cfgmap_read_file(path, &text, &len, err);
    if (rc == RC_OK)
        rc = catalogue_load_buffer(text, len, path, out, err);
    free(text);
    return rc;
}

int catalogue_load(const char *path, struct catalogue *out, char *err)
{
    if (path)
        return load_path(path, out, err);
    int rc = load_path(catalogue_installed_path(), out, err);
#ifdef ROLLCALL_SOURCE_DATADIR
    if (rc == RC_NOTFOUND)
        rc = load_path(ROLLCALL_SOURCE_DATADIR "/catalogue.json", out, err);
#endif
    const char *src = getenv("ROLLCALL_SOURCE_DIR");
    if (rc == RC_NOTFOUND && src && *src) {
        char alt[4096];
        int n = snprintf(alt, sizeof alt, "%s/server/engine/catalogue.json", src);
        if (n < 0 || (size_t)n >= sizeof alt)
            return rc_fail(err, RC_LIMIT, "ROLLCALL_SOURCE_DIR is too long");
        rc = load_path(alt, out, err);
    }
    return rc;
}

const struct catalogue_occupation *catalogue_find(const struct catalogue *c, const char *code)
{
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->occupations[i].code, code) == 0)
            return &c->occupations[i];
    }
    return NULL;
}

const struct catalogue_grade *catalogue_grade_of(const struct catalogue_occupation *o,
                                                 enum catalogue_level lv)
{
    switch (lv) {
    case CATALOGUE_JUNIOR: return &o->junior;
    case CATALOGUE_INTERMEDIATE: return &o->intermediate;
    default: return &o->senior;
    }
}

static const char *const level_en[CATALOGUE_LEVELS] = {"junior", "intermediate", "senior"};
static const char *const level_zh[CATALOGUE_LEVELS] = {"初级", "中级", "高级"};

int catalogue_level_parse(const char *s, enum catalogue_level *lv)
{
    for (int i = 0; i < CATALOGUE_LEVELS; i++) {
        if (strcmp(s, level_en[i]) == 0 || strcmp(s, level_zh[i]) == 0) {
            *lv = (enum catalogue_level)i;
            return RC_OK;
        }
    }
    return RC_INVAL;
}

const char *catalogue_level_name(enum catalogue_level lv)
{
    return (lv >= 0 && lv < CATALOGUE_LEVELS) ? level_en[lv] : NULL;
}

const char *catalogue_level_name_zh(enum catalogue_level lv)
{
    return (lv >= 0 && lv < CATALOGUE_LEVELS) ? level_zh[lv] : NULL;
}

int64_t catalogue_required_minutes(const struct catalogue *c, const struct catalogue_occupation *o,
                                   enum catalogue_level lv)
{
    return catalogue_grade_of(o, lv)->hours * c->minutes_per_hour;
}

/* The yearly quality evaluation. See evaluation.h. */
#include "engine/evaluation.h"

#include "dynbuf.h"
#include "engine/figures.h"
#include "rc.h"
#include "timeutil.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct acc {
    struct evaluation_row *v;
    size_t n, cap;
};

static struct evaluation_row *row_of(struct acc *a, const char *institution, const char *district)
{
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i].institution, institution) == 0)
            return &a->v[i];
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        struct evaluation_row *nv = realloc(a->v, cap * sizeof *nv);
        if (!nv)
            return NULL;
        a->v = nv;
        a->cap = cap;
    }
    struct evaluation_row *r = &a->v[a->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->institution, sizeof r->institution, "%s", institution);
    snprintf(r->district, sizeof r->district, "%s", district);
    return r;
}

/* Adds the summary of calendar year y to each institution's year (which = 0) or previous. */
static int add_year(store *st, int y, const struct store_class_filter *scope, int64_t now_ms,
                    int which, struct acc *a, char *err)
{
    char from[32], to[32];
    struct store_class_filter f = *scope;
    snprintf(from, sizeof from, "%04d-01-01", y);
    snprintf(to, sizeof to, "%04d-01-01", y + 1);
    int rc;
    if ((rc = ts_parse_date(from, &f.from_ms, err)) != RC_OK ||
        (rc = ts_parse_date(to, &f.to_ms, err)) != RC_OK)
        return rc;
    struct figures_summary *s = NULL;
    if ((rc = figures_summary(st, &f, now_ms, true, &s, err)) != RC_OK)
        return rc;
    for (size_t i = 0; i < s->n_institutions; i++) {
        const struct engine_total *t = &s->institutions[i];
        const char *district = "";
        for (size_t k = 0; k < s->n; k++) {
            if (strcmp(s->rows[k].cls.institution, t->key) == 0)
                district = s->rows[k].cls.district;
        }
        struct evaluation_row *r = row_of(a, t->key, district);
        if (!r) {
            figures_summary_free(s);
            return rc_fail(err, RC_NOMEM, "out of memory");
        }
        if (!r->district[0])
            snprintf(r->district, sizeof r->district, "%s", district);
        struct evaluation_year *e = which == 0 ? &r->year : &r->previous;
        e->classes = t->classes;
        e->enrolled = t->enrolled;
        e->assessed = t->assessed;
        e->passed = t->passed;
        e->scheduled_ms = t->roster_scheduled_ms;
        e->attended_ms = t->roster_attended_ms;
    }
    figures_summary_free(s);
    return RC_OK;
}

static int cmp_row(const void *x, const void *y)
{
    return strcmp(((const struct evaluation_row *)x)->institution,
                  ((const struct evaluation_row *)y)->institution);
}

int evaluation_compute(store *st, int year, const struct store_class_filter *f, int64_t now_ms,
                       struct evaluation_row **rows, size_t *n, char *err)
{
    *rows = NULL;
    *n = 0;
    if (year < 2001 || year > 9998)
        return rc_fail(err, RC_INVAL, "the year must be 2001..9998");
    struct store_class_filter scope = {.institution = f ? f->institution : NULL,
                                       .district = f ? f->district : NULL};
    struct acc a = {0};
    int rc = add_year(st, year, &scope, now_ms, 0, &a, err);
    if (rc == RC_OK)
        rc = add_year(st, year - 1, &scope, now_ms, 1, &a, err);
    if (rc != RC_OK) {
        free(a.v);
        return rc;
    }
    if (a.n)
        qsort(a.v, a.n, sizeof *a.v, cmp_row);
    *rows = a.v;
    *n = a.n;
    return RC_OK;
}

static cJSON *rate(int64_t num, int64_t den)
{
    return den > 0 ? cJSON_CreateNumber((double)num / (double)den) : cJSON_CreateNull();
}

static bool add_year_json(cJSON *o, const char *key, const struct evaluation_year *e)
{
    cJSON *y = cJSON_AddObjectToObject(o, key);
    return y && cJSON_AddNumberToObject(y, "classes", (double)e->classes) &&
           cJSON_AddNumberToObject(y, "trainees", (double)e->enrolled) &&
           cJSON_AddNumberToObject(y, "scheduled_ms", (double)e->scheduled_ms) &&
           cJSON_AddNumberToObject(y, "attended_ms", (double)e->attended_ms) &&
           cJSON_AddItemToObject(y, "attendance_rate", rate(e->attended_ms, e->scheduled_ms)) &&
           cJSON_AddNumberToObject(y, "assessed", (double)e->assessed) &&
           cJSON_AddNumberToObject(y, "passed", (double)e->passed) &&
           cJSON_AddItemToObject(y, "pass_rate_assessed",
                                 rate((int64_t)e->passed, (int64_t)e->assessed)) &&
           cJSON_AddItemToObject(y, "pass_rate_enrolled",
                                 rate((int64_t)e->passed, (int64_t)e->enrolled));
}

int evaluation_json(int year, const struct evaluation_row *rows, size_t n, char **out, char *err)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject(), *arr;
    bool ok = o && cJSON_AddNumberToObject(o, "year", year) &&
              cJSON_AddNumberToObject(o, "previous_year", year - 1) &&
              (arr = cJSON_AddArrayToObject(o, "institutions"));
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        ok = r && cJSON_AddItemToArray(arr, r);
        if (!ok) {
            cJSON_Delete(r);
            break;
        }
        ok = cJSON_AddStringToObject(r, "institution", rows[i].institution) &&
             cJSON_AddStringToObject(r, "district", rows[i].district) &&
             add_year_json(r, "year", &rows[i].year) &&
             add_year_json(r, "previous", &rows[i].previous);
    }
    if (ok)
        *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *out ? RC_OK : rc_fail(err, RC_NOMEM, "out of memory");
}

static void pct(struct dyntext *t, int64_t num, int64_t den)
{
    if (den > 0)
        dyntext_printf(t, ",%.2f", 100.0 * (double)num / (double)den);
    else
        dyntext_printf(t, ",");
}

int evaluation_csv(int year, const struct evaluation_row *rows, size_t n, char **out, size_t *len,
                   char *err)
{
    struct dyntext t;
    dyntext_init(&t, EVALUATION_MAX_BYTES);
    dyntext_printf(&t, "\xEF\xBB\xBF机构 institution,区 district");
    for (int k = 0; k < 2; k++) {
        int y = year - k;
        dyntext_printf(&t,
                       ",%d 班级数 classes,%d 学员数 trainees,%d 出勤率%% attendance,"
                       "%d 考核人数 assessed,%d 通过人数 passed,%d 通过率(考核)%% pass rate "
                       "(assessed),%d 通过率(报名)%% pass rate (enrolled)",
                       y, y, y, y, y, y, y);
    }
    dyntext_printf(&t, "\r\n");
    for (size_t i = 0; i < n; i++) {
        dyntext_printf(&t, "%s,%s", rows[i].institution, rows[i].district);
        for (int k = 0; k < 2; k++) {
            const struct evaluation_year *e = k == 0 ? &rows[i].year : &rows[i].previous;
            dyntext_printf(&t, ",%zu,%zu", e->classes, e->enrolled);
            pct(&t, e->attended_ms, e->scheduled_ms);
            dyntext_printf(&t, ",%zu,%zu", e->assessed, e->passed);
            pct(&t, (int64_t)e->passed, (int64_t)e->assessed);
            pct(&t, (int64_t)e->passed, (int64_t)e->enrolled);
        }
        dyntext_printf(&t, "\r\n");
    }
    return dyntext_take(&t, "the evaluation CSV", out, len, err);
}

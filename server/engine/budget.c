/* The subsidy budget report. See budget.h. */
#include "engine/budget.h"

#include "dynbuf.h"
#include "engine/catalogue.h"
#include "engine/classes.h"
#include "jsonin.h"
#include "rc.h"
#include "timeutil.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the budget needs of one step. */
struct rec {
    char subject[STORE_ID_MAX + 1];
    char action[STORE_STEP_WORD_MAX + 1];
    char state[STORE_STEP_WORD_MAX + 1];
    int64_t id, on_ms;
    int64_t yuan;      /* submit: frozen total + living allowance; pay: amount */
    int64_t certified; /* submit */
};

struct recs {
    struct rec *v;
    size_t n, cap;
    char *err;
};

static int64_t num_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static int add_rec(const struct store_step *s, void *ctx)
{
    struct recs *r = ctx;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct rec *nv = realloc(r->v, cap * sizeof *nv);
        if (!nv)
            return rc_fail(r->err, RC_NOMEM, "out of memory");
        r->v = nv;
        r->cap = cap;
    }
    struct rec *x = &r->v[r->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->subject, sizeof x->subject, "%s", s->subject);
    snprintf(x->action, sizeof x->action, "%s", s->action);
    snprintf(x->state, sizeof x->state, "%s", s->state);
    x->id = s->id;
    x->on_ms = s->on_ms;
    if (s->data[0]) {
        cJSON *o = NULL;
        int rc = jsonin_parse(s->data, strlen(s->data), &o, r->err);
        if (rc != RC_OK)
            return rc_fail(r->err, RC_CORRUPT, "step %lld of %s: its data does not parse",
                           (long long)s->id, s->subject);
        if (strcmp(s->action, "submit") == 0) {
            x->yuan = num_of(o, "total_yuan") + num_of(o, "living_allowance_yuan");
            x->certified = num_of(o, "certified");
        } else if (strcmp(s->action, "pay") == 0) {
            x->yuan = num_of(o, "amount_yuan");
        }
        cJSON_Delete(o);
    }
    return RC_OK;
}

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    int c = strcmp(x->subject, y->subject);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

static int year_of(int64_t ms)
{
    char d[TS_DATE_LEN + 1];
    if (ts_format_date(ms, d) != RC_OK)
        return 0;
    return (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
}

static struct budget_row *row_of(struct budget *b, enum budget_dim d, const char *key, char *err)
{
    for (size_t i = 0; i < b->n[d]; i++) {
        if (strcmp(b->rows[d][i].key, key) == 0)
            return &b->rows[d][i];
    }
    struct budget_row *nv = realloc(b->rows[d], (b->n[d] + 1) * sizeof *nv);
    if (!nv) {
        rc_fail(err, RC_NOMEM, "out of memory");
        return NULL;
    }
    b->rows[d] = nv;
    struct budget_row *r = &nv[b->n[d]++];
    memset(r, 0, sizeof *r);
    snprintf(r->key, sizeof r->key, "%s", key);
    return r;
}

enum { M_CLAIMED = 0, M_APPROVED, M_PAID };

/* Adds yuan of class c to measure m in every dimension. */
static int count(struct budget *b, const struct store_class *c, int m, int64_t yuan, char *err)
{
    const char *keys[BUDGET_DIMS] = {c->occupation,
                                     catalogue_level_name((enum catalogue_level)c->level),
                                     c->district, c->institution};
    struct budget_sum *total = m == M_CLAIMED    ? &b->claimed
                               : m == M_APPROVED ? &b->approved
                                                 : &b->paid;
    total->classes++;
    total->yuan += yuan;
    for (int d = 0; d < BUDGET_DIMS; d++) {
        struct budget_row *r = row_of(b, (enum budget_dim)d, keys[d] ? keys[d] : "", err);
        if (!r)
            return RC_NOMEM;
        struct budget_sum *s = m == M_CLAIMED    ? &r->claimed
                               : m == M_APPROVED ? &r->approved
                                                 : &r->paid;
        s->classes++;
        s->yuan += yuan;
    }
    return RC_OK;
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const struct budget_row *)a)->key, ((const struct budget_row *)b)->key);
}

/* The claims: per class, the latest submission's figures, the audit and the payment. */
static int claims(store *st, struct budget *b, char *err)
{
    struct recs r = {.err = err};
    int rc = store_step_list(st, "claim", NULL, add_rec, &r, err);
    if (rc == RC_OK && r.n)
        qsort(r.v, r.n, sizeof *r.v, cmp_rec);
    for (size_t i = 0; rc == RC_OK && i < r.n;) {
        size_t j = i;
        int64_t figures = 0, certified = 0, claimed_on = 0, audited_on = 0, paid_on = 0, paid = 0;
        int64_t audited_figures = 0;
        for (; j < r.n && strcmp(r.v[j].subject, r.v[i].subject) == 0; j++) {
            const struct rec *x = &r.v[j];
            if (strcmp(x->action, "submit") == 0) {
                figures = x->yuan;
                certified = x->certified;
                claimed_on = x->on_ms;
                audited_on = 0; /* a resubmission is audited again */
            } else if (strcmp(x->action, "audit") == 0) {
                audited_on = x->on_ms;
                audited_figures = figures;
            } else if (strcmp(x->action, "pay") == 0) {
                paid_on = x->on_ms;
                paid = x->yuan;
            }
        }
        struct store_class c;
        if ((rc = store_class_get(st, r.v[i].subject, &c, err)) != RC_OK)
            break;
        if (claimed_on && year_of(claimed_on) == b->year) {
            rc = count(b, &c, M_CLAIMED, figures, err);
            b->claimed_certified += certified;
            b->claimed_enrolled += c.n_roster;
        }
        if (rc == RC_OK && audited_on && year_of(audited_on) == b->year)
            rc = count(b, &c, M_APPROVED, audited_figures, err);
        if (rc == RC_OK && paid_on && year_of(paid_on) == b->year)
            rc = count(b, &c, M_PAID, paid, err);
        if (paid_on && year_of(paid_on) == b->year - 1) {
            b->paid_previous.classes++;
            b->paid_previous.yuan += paid;
        }
        i = j;
    }
    free(r.v);
    return rc;
}

/* The applications of classes starting next year, in their latest state unless returned. */
static int applications(store *st, struct budget *b, char *err)
{
    const struct catalogue *cat = classes_catalogue(err);
    if (!cat)
        return RC_NOTFOUND;
    struct recs r = {.err = err};
    int rc = store_step_list(st, "application", NULL, add_rec, &r, err);
    if (rc == RC_OK && r.n)
        qsort(r.v, r.n, sizeof *r.v, cmp_rec);
    for (size_t i = 0; rc == RC_OK && i < r.n;) {
        size_t j = i;
        while (j < r.n && strcmp(r.v[j].subject, r.v[i].subject) == 0)
            j++;
        const struct rec *last = &r.v[j - 1];
        struct store_class c;
        if ((rc = store_class_get(st, last->subject, &c, err)) != RC_OK)
            break;
        if (strcmp(last->state, "returned") != 0 && year_of(c.start_ms) == b->year + 1) {
            const struct catalogue_occupation *o = catalogue_find(cat, c.occupation);
            const struct catalogue_grade *g =
                o ? catalogue_grade_of(o, (enum catalogue_level)c.level) : NULL;
            b->applied_classes++;
            b->applied_trainees += c.n_roster;
            b->applied_catalogue_yuan += g ? g->amount_yuan * c.n_roster : 0;
        }
        i = j;
    }
    free(r.v);
    return rc;
}

int budget_compute(store *st, int year, struct budget *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (year < 2001 || year > 9998)
        return rc_fail(err, RC_INVAL, "the year must be 2001..9998");
    out->year = year;
    int rc = claims(st, out, err);
    if (rc == RC_OK)
        rc = applications(st, out, err);
    if (rc != RC_OK) {
        budget_free(out);
        return rc;
    }
    for (int d = 0; d < BUDGET_DIMS; d++) {
        if (out->n[d])
            qsort(out->rows[d], out->n[d], sizeof *out->rows[d], cmp_row);
    }
    /* Rounded to the yuan, half up; without this year's claims every trainee is taken to be
     * certified (the rate 1), the safe side for a budget. */
    if (out->claimed_enrolled > 0)
        out->from_applications_yuan =
            (out->applied_catalogue_yuan * out->claimed_certified * 2 + out->claimed_enrolled) /
            (2 * out->claimed_enrolled);
    else
        out->from_applications_yuan = out->applied_catalogue_yuan;
    if (out->paid_previous.yuan > 0)
        out->from_trend_yuan = (out->paid.yuan * out->paid.yuan * 2 + out->paid_previous.yuan) /
                               (2 * out->paid_previous.yuan);
    else
        out->from_trend_yuan = out->paid.yuan;
    out->proposal_yuan = out->from_applications_yuan > out->from_trend_yuan
                             ? out->from_applications_yuan
                             : out->from_trend_yuan;
    return RC_OK;
}

void budget_free(struct budget *b)
{
    if (!b)
        return;
    for (int d = 0; d < BUDGET_DIMS; d++) {
        free(b->rows[d]);
        b->rows[d] = NULL;
        b->n[d] = 0;
    }
}

const char *budget_dim_name(enum budget_dim d)
{
    static const char *const names[BUDGET_DIMS] = {"occupation", "level", "district",
                                                   "institution"};
    return d >= 0 && d < BUDGET_DIMS ? names[d] : NULL;
}

static bool add_sum(cJSON *o, const char *key, const struct budget_sum *s)
{
    cJSON *x = cJSON_AddObjectToObject(o, key);
    return x && cJSON_AddNumberToObject(x, "classes", (double)s->classes) &&
           cJSON_AddNumberToObject(x, "yuan", (double)s->yuan);
}

int budget_json(const struct budget *b, char **out, char *err)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject(), *by, *f;
    bool ok = o && cJSON_AddNumberToObject(o, "year", b->year) &&
              add_sum(o, "claimed", &b->claimed) && add_sum(o, "approved", &b->approved) &&
              add_sum(o, "paid", &b->paid) && add_sum(o, "paid_previous_year", &b->paid_previous) &&
              (by = cJSON_AddObjectToObject(o, "by"));
    for (int d = 0; ok && d < BUDGET_DIMS; d++) {
        cJSON *arr = cJSON_AddArrayToObject(by, budget_dim_name((enum budget_dim)d));
        ok = arr != NULL;
        for (size_t i = 0; ok && i < b->n[d]; i++) {
            const struct budget_row *r = &b->rows[d][i];
            cJSON *x = cJSON_CreateObject();
            ok = x && cJSON_AddItemToArray(arr, x);
            if (!ok) {
                cJSON_Delete(x);
                break;
            }
            ok = cJSON_AddStringToObject(x, "key", r->key) && add_sum(x, "claimed", &r->claimed) &&
                 add_sum(x, "approved", &r->approved) && add_sum(x, "paid", &r->paid);
        }
    }
    ok = ok && (f = cJSON_AddObjectToObject(o, "forecast")) &&
         cJSON_AddNumberToObject(f, "year", b->year + 1) &&
         cJSON_AddNumberToObject(f, "applied_classes", (double)b->applied_classes) &&
         cJSON_AddNumberToObject(f, "applied_trainees", (double)b->applied_trainees) &&
         cJSON_AddNumberToObject(f, "applied_catalogue_yuan", (double)b->applied_catalogue_yuan) &&
         cJSON_AddNumberToObject(f, "claimed_certified", (double)b->claimed_certified) &&
         cJSON_AddNumberToObject(f, "claimed_enrolled", (double)b->claimed_enrolled) &&
         cJSON_AddNumberToObject(f, "from_applications_yuan", (double)b->from_applications_yuan) &&
         cJSON_AddNumberToObject(f, "from_trend_yuan", (double)b->from_trend_yuan) &&
         cJSON_AddNumberToObject(f, "proposal_yuan", (double)b->proposal_yuan);
    if (ok)
        *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *out ? RC_OK : rc_fail(err, RC_NOMEM, "out of memory");
}

int budget_csv(const struct budget *b, char **out, size_t *len, char *err)
{
    static const char *const dim_zh[BUDGET_DIMS] = {"职业 occupation", "等级 level", "区 district",
                                                    "机构 institution"};
    struct dyntext t;
    dyntext_init(&t, BUDGET_MAX_BYTES);
    dyntext_printf(&t,
                   "\xEF\xBB\xBF"
                   "%d 年补贴 subsidies %d\r\n",
                   b->year, b->year);
    for (int d = 0; d < BUDGET_DIMS; d++) {
        dyntext_printf(&t,
                       "%s,申报班级 classes claimed,申报金额(元) claimed yuan,"
                       "审核通过班级 classes approved,审核通过金额(元) approved yuan,"
                       "拨付班级 classes paid,拨付金额(元) paid yuan\r\n",
                       dim_zh[d]);
        for (size_t i = 0; i < b->n[d]; i++) {
            const struct budget_row *r = &b->rows[d][i];
            dyntext_printf(&t, "%s,%zu,%lld,%zu,%lld,%zu,%lld\r\n", r->key, r->claimed.classes,
                           (long long)r->claimed.yuan, r->approved.classes,
                           (long long)r->approved.yuan, r->paid.classes, (long long)r->paid.yuan);
        }
        dyntext_printf(&t, "合计 total,%zu,%lld,%zu,%lld,%zu,%lld\r\n", b->claimed.classes,
                       (long long)b->claimed.yuan, b->approved.classes, (long long)b->approved.yuan,
                       b->paid.classes, (long long)b->paid.yuan);
    }
    dyntext_printf(&t,
                   "%d 年预测 forecast %d,值 value\r\n"
                   "已申请开班 classes applied for,%zu\r\n"
                   "学员 trainees,%lld\r\n"
                   "按目录全额(元) catalogue amounts yuan,%lld\r\n"
                   "本年申报持证/报名 certified/enrolled in this year's claims,%lld/%lld\r\n"
                   "按申请估算(元) from applications yuan,%lld\r\n"
                   "%d 年拨付(元) paid yuan %d,%lld\r\n"
                   "按趋势估算(元) from the trend yuan,%lld\r\n"
                   "建议预算(元) proposal yuan,%lld\r\n",
                   b->year + 1, b->year + 1, b->applied_classes, (long long)b->applied_trainees,
                   (long long)b->applied_catalogue_yuan, (long long)b->claimed_certified,
                   (long long)b->claimed_enrolled, (long long)b->from_applications_yuan,
                   b->year - 1, b->year - 1, (long long)b->paid_previous.yuan,
                   (long long)b->from_trend_yuan, (long long)b->proposal_yuan);
    return dyntext_take(&t, "the budget CSV", out, len, err);
}

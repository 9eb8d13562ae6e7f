/* Signed publications of a year's evaluation results (see publication.h). */
#include "evidence/publication.h"

#include "dynbuf.h"
#include "evidence/bundle.h"
#include "evidence/evidence.h"
#include "jsonin.h"
#include "rc.h"
#include "timeutil.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct classes {
    struct store_class *v;
    size_t n;
};

static int add_class(const struct store_class *c, void *ctx)
{
    struct classes *cs = ctx;
    cs->v[cs->n++] = *c;
    return 0;
}

static int write_file(const char *dir, const char *class_id, const char *data, size_t len,
                      char *err)
{
    char path[4096], tmp[4200];
    if (snprintf(path, sizeof path, "%s/%s.tar", dir, class_id) >= (int)sizeof path)
        return rc_fail(err, RC_LIMIT, "path too long in %s", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return rc_fail(err, RC_IO, "cannot write %s: %s", tmp, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return rc_fail(err, RC_IO, "cannot write %s", path);
    }
    return RC_OK;
}

static cJSON *rate(int64_t num, int64_t den)
{
    return den > 0 ? cJSON_CreateNumber((double)num / (double)den) : cJSON_CreateNull();
}

int publication_publish(store *st, signkey *key, int year, int64_t now_ms, const char *dir,
                        size_t *n_classes, char *err)
{
    char from[32], to[32];
    int64_t from_ms, to_ms;
    snprintf(from, sizeof from, "%04d-01-01", year);
    snprintf(to, sizeof to, "%04d-01-01", year + 1);
    if (ts_parse_date(from, &from_ms, err) != RC_OK || ts_parse_date(to, &to_ms, err) != RC_OK)
        return RC_INVAL;
    struct classes cs = {.v = calloc(PUBLICATION_CLASSES_MAX, sizeof *cs.v)};
    struct engine_report **reports = calloc(PUBLICATION_CLASSES_MAX, sizeof *reports);
    char(*sha)[CRYPTO_SHA256_HEX_LEN + 1] = calloc(PUBLICATION_CLASSES_MAX, sizeof *sha);
    struct engine_total *totals = NULL;
    size_t n_totals = 0;
    cJSON *o = NULL;
    char *text = NULL;
    struct store_publication existing = {0};
    int rc;
    if (!cs.v || !reports || !sha) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    rc = store_publication_get(st, year, &existing, err);
    free(existing.body);
    if (rc == RC_OK) {
        rc = rc_fail(err, RC_CONFLICT, "%d is published already (a publication is frozen)", year);
        goto out;
    }
    if (rc != RC_NOTFOUND)
        goto out;
    struct store_class_filter f = {.from_ms = from_ms, .to_ms = to_ms};
    if ((rc = store_class_list(st, &f, PUBLICATION_CLASSES_MAX, add_class, &cs, err)) != RC_OK)
        goto out;
    if (cs.n == 0) {
        rc = rc_fail(err, RC_NOTFOUND, "no class has sessions in %d", year);
        goto out;
    }
    if (dir && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = rc_fail(err, RC_IO, "cannot create %s: %s", dir, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < cs.n; i++) {
        char *tar = NULL;
        size_t len = 0;
        if ((rc = evidence_class_bundle(st, key, cs.v[i].id, now_ms, false, &tar, &len, sha[i],
                                        &reports[i], err)) != RC_OK)
            goto out;
        if (dir)
            rc = write_file(dir, cs.v[i].id, tar, len, err);
        free(tar);
        if (rc != RC_OK)
            goto out;
    }
    if ((rc = engine_aggregate((const struct engine_report *const *)reports, cs.n,
                               ENGINE_BY_INSTITUTION, &totals, &n_totals, err)) != RC_OK)
        goto out;
    cJSON *rows, *pol;
    o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "format", PUBLICATION_FORMAT) ||
        !cJSON_AddNumberToObject(o, "year", year) ||
        !cJSON_AddNumberToObject(o, "published_at_ms", (double)now_ms) ||
        !(pol = cJSON_AddObjectToObject(o, "policy")) ||
        !cJSON_AddStringToObject(pol, "name", reports[0]->policy.name) ||
        !cJSON_AddNumberToObject(pol, "version", (double)reports[0]->policy.version) ||
        !(rows = cJSON_AddArrayToObject(o, "institutions")))
        goto nomem;
    for (size_t t = 0; t < n_totals; t++) {
        const struct engine_total *x = &totals[t];
        cJSON *r = cJSON_CreateObject(), *b;
        if (!r || !cJSON_AddItemToArray(rows, r)) {
            cJSON_Delete(r);
            goto nomem;
        }
        const char *district = "";
        for (size_t i = 0; i < cs.n; i++) {
            if (strcmp(cs.v[i].institution, x->key) == 0)
                district = cs.v[i].district;
        }
        if (!cJSON_AddStringToObject(r, "institution", x->key) ||
            !cJSON_AddStringToObject(r, "district", district) ||
            !cJSON_AddNumberToObject(r, "classes", (double)x->classes) ||
            !cJSON_AddNumberToObject(r, "trainees", (double)x->enrolled) ||
            !cJSON_AddNumberToObject(r, "scheduled_ms", (double)x->roster_scheduled_ms) ||
            !cJSON_AddNumberToObject(r, "attended_ms", (double)x->roster_attended_ms) ||
            !cJSON_AddItemToObject(r, "attendance_rate",
                                   rate(x->roster_attended_ms, x->roster_scheduled_ms)) ||
            !cJSON_AddNumberToObject(r, "assessed", (double)x->assessed) ||
            !cJSON_AddNumberToObject(r, "passed", (double)x->passed) ||
            !cJSON_AddItemToObject(r, "pass_rate_assessed",
                                   rate((int64_t)x->passed, (int64_t)x->assessed)) ||
            !cJSON_AddItemToObject(r, "pass_rate_enrolled",
                                   rate((int64_t)x->passed, (int64_t)x->enrolled)) ||
            !(b = cJSON_AddArrayToObject(r, "bundles")))
            goto nomem;
        for (size_t i = 0; i < cs.n; i++) {
            if (strcmp(cs.v[i].institution, x->key) != 0)
                continue;
            cJSON *e = cJSON_CreateObject();
            if (!e || !cJSON_AddItemToArray(b, e)) {
                cJSON_Delete(e);
                goto nomem;
            }
            if (!cJSON_AddStringToObject(e, "class", cs.v[i].id) ||
                !cJSON_AddStringToObject(e, "manifest_sha256", sha[i]))
                goto nomem;
        }
    }
    if (!(text = cJSON_PrintUnformatted(o)))
        goto nomem;
    struct store_publication p = {.year = year, .body = text, .published_at_ms = now_ms};
    char key_id[SIGNKEY_ID_LEN + 1];
    if ((rc = signkey_sign(key, text, strlen(text), p.signature, key_id, err)) != RC_OK)
        goto out;
    snprintf(p.key_id, sizeof p.key_id, "%s", key_id);
    if ((rc = store_publication_put(st, &p, err)) != RC_OK)
        goto out;
    if (n_classes)
        *n_classes = cs.n;
    goto out;
nomem:
    rc = rc_fail(err, RC_NOMEM, "out of memory");
out:
    for (size_t i = 0; reports && i < cs.n; i++)
        engine_report_free(reports[i]);
    free(reports);
    free(sha);
    free(cs.v);
    free(totals);
    cJSON_Delete(o);
    free(text);
    return rc;
}

int publication_json(store *st, int year, char **out, char *err)
{
    struct store_publication p;
    struct store_signing_key k;
    *out = NULL;
    int rc = store_publication_get(st, year, &p, err);
    if (rc != RC_OK)
        return rc;
    if ((rc = store_signing_key_get(st, p.key_id, &k, err)) == RC_OK) {
        cJSON *o = cJSON_CreateObject(), *s;
        if (!o || !cJSON_AddStringToObject(o, "format", PUBLICATION_FORMAT) ||
            !cJSON_AddStringToObject(o, "publication", p.body) ||
            !(s = cJSON_AddObjectToObject(o, "signature")) ||
            !cJSON_AddStringToObject(s, "algorithm", BUNDLE_SIG_ALGORITHM) ||
            !cJSON_AddStringToObject(s, "key_id", p.key_id) ||
            !cJSON_AddStringToObject(s, "public_key", k.public_key_pem) ||
            !cJSON_AddStringToObject(s, "signature", p.signature) ||
            !(*out = cJSON_PrintUnformatted(o)))
            rc = rc_fail(err, RC_NOMEM, "out of memory");
        cJSON_Delete(o);
    }
    free(p.body);
    return rc;
}

void publication_rows_free(struct publication_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].bundles);
    free(rows);
}

static bool num(const cJSON *o, const char *k, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 9007199254740991.0 || floor(v->valuedouble) != v->valuedouble)
        return false;
    *out = (int64_t)v->valuedouble;
    return true;
}

int publication_parse(const char *text, size_t len, int *year, struct publication_row **out,
                      size_t *n_out, char *err)
{
    cJSON *o = NULL;
    char why[ERR_LEN];
    struct publication_row *rows = NULL;
    size_t n = 0;
    int64_t y;
    *out = NULL;
    *n_out = 0;
    if (jsonin_parse(text, len, &o, why) != RC_OK)
        return rc_fail(err, RC_INVAL, "publication: not JSON: %s", why);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(o, "format");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "institutions");
    int rc = RC_OK;
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, PUBLICATION_FORMAT) != 0 ||
        !num(o, "year", &y) || y > 9999 || !cJSON_IsArray(arr)) {
        rc = rc_fail(err, RC_INVAL, "publication: not a " PUBLICATION_FORMAT " document");
        goto out;
    }
    *year = (int)y;
    n = (size_t)cJSON_GetArraySize(arr);
    if (!(rows = calloc(n ? n : 1, sizeof *rows))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const cJSON *r = cJSON_GetArrayItem(arr, (int)i);
        const cJSON *inst = cJSON_GetObjectItemCaseSensitive(r, "institution");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(r, "bundles");
        int64_t classes;
        struct publication_row *x = &rows[i];
        if (!cJSON_IsString(inst) || strlen(inst->valuestring) >= sizeof x->institution ||
            !num(r, "classes", &classes) || !num(r, "scheduled_ms", &x->scheduled_ms) ||
            !num(r, "attended_ms", &x->attended_ms) || !num(r, "trainees", &x->enrolled) ||
            !num(r, "assessed", &x->assessed) || !num(r, "passed", &x->passed) ||
            !cJSON_IsArray(b) || cJSON_GetArraySize(b) > PUBLICATION_CLASSES_MAX) {
            rc = rc_fail(err, RC_INVAL, "publication: row %zu is malformed", i + 1);
            goto out;
        }
        snprintf(x->institution, sizeof x->institution, "%s", inst->valuestring);
        x->classes = (size_t)classes;
        x->n_bundles = (size_t)cJSON_GetArraySize(b);
        if (!(x->bundles = calloc(x->n_bundles ? x->n_bundles : 1, sizeof *x->bundles))) {
            rc = rc_fail(err, RC_NOMEM, "out of memory");
            goto out;
        }
        for (size_t k = 0; k < x->n_bundles; k++) {
            const cJSON *e = cJSON_GetArrayItem(b, (int)k);
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "class");
            const cJSON *h = cJSON_GetObjectItemCaseSensitive(e, "manifest_sha256");
            if (!cJSON_IsString(c) || !cJSON_IsString(h) ||
                strlen(c->valuestring) > CRYPTO_SHA256_HEX_LEN ||
                strlen(h->valuestring) != CRYPTO_SHA256_HEX_LEN) {
                rc = rc_fail(err, RC_INVAL, "publication: row %zu, bundle %zu is malformed", i + 1,
                             k + 1);
                goto out;
            }
            snprintf(x->bundles[k][0], sizeof x->bundles[k][0], "%s", c->valuestring);
            snprintf(x->bundles[k][1], sizeof x->bundles[k][1], "%s", h->valuestring);
        }
    }
out:
    cJSON_Delete(o);
    if (rc != RC_OK) {
        publication_rows_free(rows, n);
        return rc;
    }
    *out = rows;
    *n_out = n;
    return RC_OK;
}

static void pct(struct dyntext *t, int64_t num_, int64_t den)
{
    if (den > 0)
        dyntext_printf(t, ",%.2f", 100.0 * (double)num_ / (double)den);
    else
        dyntext_printf(t, ",");
}

int publication_csv(store *st, int year, char **out, size_t *len, char *err)
{
    struct store_publication p;
    struct publication_row *rows = NULL;
    size_t n = 0;
    int y;
    *out = NULL;
    int rc = store_publication_get(st, year, &p, err);
    if (rc != RC_OK)
        return rc;
    rc = publication_parse(p.body, strlen(p.body), &y, &rows, &n, err);
    free(p.body);
    if (rc != RC_OK)
        return rc;
    struct dyntext t;
    dyntext_init(&t, PUBLICATION_MAX);
    dyntext_printf(&t, "\xEF\xBB\xBF"
                       "机构 institution,班级数 classes,学员数 trainees,出勤率%% attendance,"
                       "考核人数 assessed,通过人数 passed,通过率(考核)%% pass rate (assessed),"
                       "通过率(报名)%% pass rate (enrolled),证据包清单 bundle manifests\r\n");
    for (size_t i = 0; i < n; i++) {
        const struct publication_row *r = &rows[i];
        dyntext_printf(&t, "%s,%zu,%lld", r->institution, r->classes, (long long)r->enrolled);
        pct(&t, r->attended_ms, r->scheduled_ms);
        dyntext_printf(&t, ",%lld,%lld", (long long)r->assessed, (long long)r->passed);
        pct(&t, r->passed, r->assessed);
        pct(&t, r->passed, r->enrolled);
        dyntext_printf(&t, ",\"");
        for (size_t k = 0; k < r->n_bundles; k++)
            dyntext_printf(&t, "%s%s:%s", k ? " " : "", r->bundles[k][0], r->bundles[k][1]);
        dyntext_printf(&t, "\"\r\n");
    }
    publication_rows_free(rows, n);
    return dyntext_take(&t, "the publication CSV", out, len, err);
}

/* Fuzzes the import parsers (plan.h) with every input as a class plan, online records and
 * assessments, JSON or CSV: any input is imported or refused with one terminated line, and a
 * plan that imports keeps the module's invariants (sessions sorted and disjoint, occupation in
 * the catalogue, unique pseudonyms). The first byte picks the format. */
#include "engine/catalogue.h"
#include "engine/plan.h"
#include "rc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[32] = "fuzz-institution-key-32-bytes!!";

static int lookup(void *arg, const char *institution, const char *class_id, const uint8_t **k,
                  size_t *len)
{
    (void)arg;
    (void)institution;
    (void)class_id;
    *k = key;
    *len = sizeof key;
    return 0;
}

/* A catalogue with two occupations, built in code so the fuzzer needs no file. */
static const struct catalogue *catalogue(void)
{
    static struct catalogue c;
    static int ready;
    if (!ready) {
        c.minutes_per_hour = 45;
        c.count = 2;
        memcpy(c.occupations[0].code, "2-02-10-09", 11);
        memcpy(c.occupations[1].code, "2-02-10-11", 11);
        for (size_t i = 0; i < 2; i++) {
            c.occupations[i].junior = (struct catalogue_grade){64, 2720};
            c.occupations[i].intermediate = (struct catalogue_grade){80, 4026};
            c.occupations[i].senior = (struct catalogue_grade){80, 4506};
        }
        ready = 1;
    }
    return &c;
}

static void check_err(int rc, const char *err)
{
    if (rc == RC_OK)
        return;
    if (rc != RC_INVAL && rc != RC_LIMIT && rc != RC_NOMEM)
        abort();
    if (!memchr(err, '\0', ERR_LEN) || strchr(err, '\n') || strchr(err, '\r') || err[0] == '\0') {
        fprintf(stderr, "bad error message: %.*s\n", ERR_LEN, err);
        abort();
    }
}

static void check_plans(const struct plan *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (p[k].n_sessions == 0 || !catalogue_find(catalogue(), p[k].occupation))
            abort();
        for (size_t i = 0; i < p[k].n_sessions; i++) {
            const struct plan_session *s = &p[k].sessions[i];
            if (s->end_ms <= s->start_ms || (i && s->start_ms < p[k].sessions[i - 1].end_ms))
                abort();
            if ((s->mode == PLAN_OFFLINE) != (s->fence[0] != '\0'))
                abort();
        }
        for (size_t i = 0; i < p[k].n_roster; i++) {
            for (size_t j = 0; j < i; j++) {
                if (strcmp(p[k].roster[i].pseudonym, p[k].roster[j].pseudonym) == 0)
                    abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    enum plan_format fmt = (enum plan_format)(data[0] % 3);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct plan_keys keys = {.lookup = lookup, .now = 1790812800};
    char err[ERR_LEN];

    struct plan *p = NULL;
    size_t n = 0;
    memset(err, 'x', sizeof err);
    int rc = plan_import_classes(text, len, "fuzz", fmt, catalogue(), &keys, &p, &n, err);
    check_err(rc, err);
    if (rc == RC_OK)
        check_plans(p, n);
    free(p);

    struct plan_online *o = NULL;
    memset(err, 'x', sizeof err);
    rc = plan_import_online(text, len, "fuzz", fmt, &keys, &o, &n, err);
    check_err(rc, err);
    for (size_t i = 0; rc == RC_OK && i < n; i++) {
        if (o[i].end_ms <= o[i].start_ms)
            abort();
    }
    free(o);

    struct plan_assessment *a = NULL;
    memset(err, 'x', sizeof err);
    rc = plan_import_assessments(text, len, "fuzz", fmt, &keys, &a, &n, err);
    check_err(rc, err);
    for (size_t i = 0; rc == RC_OK && i < n; i++) {
        if (a[i].passed != (a[i].certificate[0] != '\0'))
            abort();
    }
    free(a);
    return 0;
}

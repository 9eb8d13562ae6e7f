/* The write side of the figures: class plans, online-platform records and assessment results
 * taken from an import file or a request body (plan.h parses them) into the store. One
 * function serves the HTTP routes (PUT /v1/classes/{id}, POST /v1/online-records,
 * POST /v1/classes/{id}/assessments) and `rollcall-server import classes|online|assessments`,
 * so both apply the same checks.
 *
 * Invariants:
 * - An import is all or nothing: parsing, pseudonymisation, the ownership and roster checks and
 *   every insert happen in one write transaction, rolled back on the first refusal.
 * - Identity numbers are pseudonymised under the key of the institution that runs the class
 *   (created with the institution when a plan names an institution the store does not know
 *   yet, so its kiosks enrolled later get the same key); no clear number is stored or logged.
 * - A class belongs to the institution that first declared it; an institution is registered in
 *   the district its first plan names, and its later plans must name the same district.
 * - Online records and assessments name trainees on the class's roster. */
#ifndef ROLLCALL_SERVER_CLASSES_H
#define ROLLCALL_SERVER_CLASSES_H

#include "engine/catalogue.h"
#include "engine/plan.h"
#include "store/store.h"

#include <stddef.h>

enum classes_kind { CLASSES_PLANS, CLASSES_ONLINE, CLASSES_ASSESSMENTS };

/* The reserved institutions row holding the collector-only city key (classes.c). */
#define CLASSES_CITY_KEY_ID "*city"

/* Who imports, and what they may touch. */
struct classes_actor {
    const char *name;        /* token name, or "cli:USER" for the command; recorded as author */
    const char *institution; /* non-NULL: every record must concern this institution's classes */
    const char *class_id;    /* non-NULL: every record must concern exactly this class */
};

/* What an import did. */
struct classes_result {
    size_t records;    /* plans, online records or assessments in the input */
    size_t created;    /* plans: new classes (records - created were replaced) */
    size_t duplicates; /* online records already stored */
    char first_class[PLAN_ID_MAX + 1];
};

/* Loads the subsidy catalogue (catalogue_load(NULL)) for the process: called from main before
 * any thread starts (after geodesy_init and fences_init, before serving); idempotent. Errors
 * as catalogue_load, prefixed "subsidy catalogue: ". */
int classes_init(char *err);
/* Forgets the catalogue (main, at exit, after the last reader stopped). */
void classes_fini(void);
/* The catalogue classes_init loaded (static storage); NULL with RC_STATE in err before it. */
const struct catalogue *classes_catalogue(char *err);

/* The kind named "classes", "online" or "assessments". RC_INVAL otherwise. */
int classes_kind_parse(const char *s, enum classes_kind *out);

/* Imports len bytes of data (JSON or CSV; fmt AUTO guesses) of kind into st as actor, all or
 * nothing (see the invariants). origin names the input in errors. Returns 0 and *res, or
 * RC_INVAL/RC_LIMIT (bad input, err names the record), RC_AUTH (a record outside the actor's
 * scope), RC_CONFLICT (a class of another institution, a district contradicting the
 * institution's registration), RC_NOMEM or RC_DB. */
int classes_import(store *st, enum classes_kind kind, const char *data, size_t len,
                   const char *origin, enum plan_format fmt, const struct classes_actor *actor,
                   struct classes_result *res, char *err);

/* The pseudonymised plan as compact JSON (no clear identity numbers), malloc'd; NULL when out
 * of memory. Times in Asia/Shanghai RFC 3339. */
char *classes_plan_json(const struct plan *p);

#endif

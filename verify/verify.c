/* rollcall-verify's checks (see verify.h, docs/EVIDENCE.md). */
#include "verify.h"

#include "engine/catalogue.h"
#include "engine/engine.h"
#include "engine/fences.h"
#include "engine/regions.h"
#include "event.h"
#include "evidence/bundle.h"
#include "evidence/publication.h"
#include "evidence/tar.h"
#include "jsonin.h"
#include "rc.h"
#include "report/report.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DIFFS_MAX = 40 };

static void problem(struct verify_result *r, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct verify_result *r, const char *member, const char *fmt, ...)
{
    if (r->n_problems == VERIFY_PROBLEMS_MAX) {
        r->dropped++;
        return;
    }
    struct verify_problem *p = &r->problems[r->n_problems++];
    snprintf(p->member, sizeof p->member, "%s", member);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->text, sizeof p->text, fmt, ap);
    va_end(ap);
}

/* One device's lines as read from its member. */
struct line {
    const char *bytes;
    size_t len;
    struct event ev;
    char hash[EVENT_HEX_LEN + 1];
    bool linked;  /* parsed and linked to the previous line */
    bool signed_; /* at or before the last_seq of a verified batch signature */
};

struct devlines {
    char member[TAR_NAME_MAX + 1];
    const struct bundle_device *dev;
    crypto_key *key;
    struct line *lines;
    size_t n;
};

struct ctx {
    struct verify_result *res;
    struct bundle_inputs b;
    struct devlines *devs;
    size_t n_devs;
    fence_set **fence_sets; /* parallel to b.fences; NULL when it does not parse */
    bool inputs_ok;         /* every input member parsed: the figures can be recomputed */
    bool lines_ok;          /* every event line linked and signed: the figures rest on them */
};

static const struct bundle_device *find_device(const struct bundle_inputs *b, const char *id)
{
    for (size_t i = 0; i < b->n_devices; i++) {
        if (strcmp(b->devices[i].id, id) == 0)
            return &b->devices[i];
    }
    return NULL;
}

static const struct fence *find_fence(const struct ctx *c, const char *id, int version)
{
    for (size_t i = 0; i < c->b.n_fences; i++) {
        if (strcmp(c->b.fences[i].id, id) == 0 && c->b.fences[i].version == version &&
            c->fence_sets[i]) {
            const struct fence *f = fence_set_find(c->fence_sets[i], id);
            return f ? f : fence_set_at(c->fence_sets[i], 0);
        }
    }
    return NULL;
}

/* judgements.json's rows are sorted by device, then seq (docs/EVIDENCE.md): binary search. */
static const struct bundle_judgement *find_judgement(const struct bundle_inputs *b,
                                                     const char *device, int64_t seq)
{
    size_t lo = 0, hi = b->n_judgements;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct bundle_judgement *j = &b->judgements[mid];
        int c = strcmp(j->device, device);
        if (c == 0)
            c = j->seq < seq ? -1 : j->seq > seq;
        if (c == 0)
            return j;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- manifest and signature ---- */

static bool check_manifest(struct ctx *c, const struct tar_member *m, size_t n,
                           const char *pinned_pem)
{
    struct verify_result *r = c->res;
    const struct tar_member *man = tar_find(m, n, BUNDLE_M_MANIFEST);
    const struct tar_member *sig = tar_find(m, n, BUNDLE_M_SIGNATURE);
    char err[ERR_LEN];
    if (!man) {
        problem(r, BUNDLE_M_MANIFEST, "missing: nothing in the bundle can be checked");
        return false;
    }
    crypto_sha256_hex(man->data, man->len, r->manifest_sha256);
    struct bundle_manifest_row *rows = NULL;
    size_t n_rows = 0;
    if (bundle_manifest_parse(man->data, man->len, &rows, &n_rows, r->class_id, sizeof r->class_id,
                              err) != RC_OK) {
        problem(r, BUNDLE_M_MANIFEST, "%s", err);
        return false;
    }
    /* The collector's signature over the manifest's exact bytes. */
    struct bundle_signature s;
    if (!sig) {
        problem(r, BUNDLE_M_SIGNATURE, "missing: the manifest is not signed");
    } else if (bundle_signature_parse(sig->data, sig->len, &s, err) != RC_OK) {
        problem(r, BUNDLE_M_SIGNATURE, "%s", err);
    } else {
        crypto_key *key = NULL, *pin = NULL;
        char fp[CRYPTO_SHA256_HEX_LEN + 1], pin_fp[CRYPTO_SHA256_HEX_LEN + 1];
        uint8_t digest[CRYPTO_SHA256_LEN];
        snprintf(r->key_id, sizeof r->key_id, "%s", s.key_id);
        if (crypto_key_from_public_pem(s.public_key, &key, err) != RC_OK ||
            crypto_key_fingerprint(key, fp, err) != RC_OK) {
            problem(r, BUNDLE_M_SIGNATURE, "public_key: %s", err);
        } else {
            if (strlen(s.key_id) != 16 || strncmp(fp, s.key_id, 16) != 0)
                problem(r, BUNDLE_M_SIGNATURE, "key_id %s is not the id of its public key (%.16s)",
                        s.key_id, fp);
            if (pinned_pem) {
                r->key_pinned = true;
                if (crypto_key_from_public_pem(pinned_pem, &pin, err) != RC_OK ||
                    crypto_key_fingerprint(pin, pin_fp, err) != RC_OK)
                    problem(r, BUNDLE_M_SIGNATURE, "the pinned key does not load: %s", err);
                else if (strcmp(pin_fp, fp) != 0)
                    problem(r, BUNDLE_M_SIGNATURE,
                            "signed by key %.16s, not by the pinned collector key %.16s", fp,
                            pin_fp);
            }
            crypto_sha256(man->data, man->len, digest);
            if (crypto_key_verify(key, digest, s.signature, err) != RC_OK)
                problem(r, BUNDLE_M_SIGNATURE,
                        "the collector's signature does not match manifest.json (key %s)",
                        s.key_id);
        }
        crypto_key_destroy(key);
        crypto_key_destroy(pin);
    }
    /* Every member listed, with its size and hash; nothing unlisted. */
    for (size_t i = 0; i < n_rows; i++) {
        const struct tar_member *t = tar_find(m, n, rows[i].name);
        if (!t) {
            problem(r, rows[i].name, "listed in the manifest but missing from the bundle");
            continue;
        }
        char h[CRYPTO_SHA256_HEX_LEN + 1];
        crypto_sha256_hex(t->data, t->len, h);
        if (t->len != rows[i].size || strcmp(h, rows[i].sha256) != 0)
            problem(r, rows[i].name,
                    "differs from the manifest (size %zu, SHA-256 %.16s..., listed %zu, %.16s...)",
                    t->len, h, rows[i].size, rows[i].sha256);
    }
    for (size_t i = 0; i < n; i++) {
        bool listed =
            strcmp(m[i].name, BUNDLE_M_MANIFEST) == 0 || strcmp(m[i].name, BUNDLE_M_SIGNATURE) == 0;
        for (size_t k = 0; k < n_rows && !listed; k++)
            listed = strcmp(rows[k].name, m[i].name) == 0;
        if (!listed)
            problem(r, m[i].name, "in the bundle but not in the manifest");
    }
    r->members = n_rows;
    free(rows);
    return true;
}

/* ---- inputs ---- */

static void parse_inputs(struct ctx *c, const struct tar_member *m, size_t n)
{
    static const char *const order[] = {
        BUNDLE_M_BUNDLE,      BUNDLE_M_PLAN,    BUNDLE_M_POLICY,     BUNDLE_M_FENCES,
        BUNDLE_M_DEVICES,     BUNDLE_M_BATCHES, BUNDLE_M_JUDGEMENTS, BUNDLE_M_ONLINE,
        BUNDLE_M_ASSESSMENTS, BUNDLE_M_REVIEWS, BUNDLE_M_CONFLICTS};
    char err[ERR_LEN];
    c->inputs_ok = true;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const struct tar_member *t = tar_find(m, n, order[i]);
        if (!t) {
            problem(c->res, order[i], "missing");
            c->inputs_ok = false;
        } else if (bundle_member_parse(&c->b, order[i], t->data, t->len, err) != RC_OK) {
            problem(c->res, order[i], "%s", err);
            c->inputs_ok = false;
        }
    }
    const struct tar_member *cat = tar_find(m, n, BUNDLE_M_CATALOGUE);
    struct catalogue *cg = malloc(sizeof *cg);
    if (!cat)
        problem(c->res, BUNDLE_M_CATALOGUE, "missing");
    else if (cg && catalogue_load_buffer(cat->data, cat->len, BUNDLE_M_CATALOGUE, cg, err) != RC_OK)
        problem(c->res, BUNDLE_M_CATALOGUE, "%s", err);
    free(cg);
    if (c->b.plan && strcmp(c->b.plan->id, c->b.class_id) != 0)
        problem(c->res, BUNDLE_M_PLAN, "is the plan of %s, the bundle is of %s", c->b.plan->id,
                c->b.class_id);
    if (c->b.class_id[0] && strcmp(c->b.class_id, c->res->class_id) != 0)
        problem(c->res, BUNDLE_M_BUNDLE, "names class %s, the manifest %s", c->b.class_id,
                c->res->class_id);
    /* Fences: each version parses and has the geometry digest it is listed with. */
    c->fence_sets = calloc(c->b.n_fences ? c->b.n_fences : 1, sizeof *c->fence_sets);
    for (size_t i = 0; c->fence_sets && i < c->b.n_fences; i++) {
        const struct bundle_fence *f = &c->b.fences[i];
        if (jsonin_fence_parse(f->geojson, strlen(f->geojson), f->id, &c->fence_sets[i], err) !=
            RC_OK) {
            problem(c->res, BUNDLE_M_FENCES, "fence %s version %d does not parse: %s", f->id,
                    f->version, err);
            continue;
        }
        const struct fence *g = fence_set_find(c->fence_sets[i], f->id);
        char digest[STORE_HASH_HEX_LEN + 1];
        if (!g) {
            problem(c->res, BUNDLE_M_FENCES, "fence %s version %d: no feature of that id", f->id,
                    f->version);
            continue;
        }
        fences_digest(g, digest);
        if (strcmp(digest, f->sha256) != 0)
            problem(c->res, BUNDLE_M_FENCES,
                    "fence %s version %d: its geometry's digest is %.16s..., listed %.16s...",
                    f->id, f->version, digest, f->sha256);
    }
}

/* ---- chains and batch signatures ---- */

static void check_device(struct ctx *c, const struct tar_member *t)
{
    struct verify_result *r = c->res;
    char dev_id[TAR_NAME_MAX + 1];
    size_t nl = strlen(BUNDLE_EVENTS_DIR), sl = strlen(".ndjson");
    if (t->len == 0 || strlen(t->name) <= nl + sl ||
        strcmp(t->name + strlen(t->name) - sl, ".ndjson") != 0) {
        problem(r, t->name, "not a device's event lines (events/<device>.ndjson, not empty)");
        return;
    }
    snprintf(dev_id, sizeof dev_id, "%.*s", (int)(strlen(t->name) - nl - sl), t->name + nl);
    struct devlines *d = &c->devs[c->n_devs++];
    snprintf(d->member, sizeof d->member, "%s", t->name);
    char err[ERR_LEN];
    if (!(d->dev = find_device(&c->b, dev_id))) {
        problem(r, BUNDLE_M_DEVICES, "no enrolment and key of device %s (%s)", dev_id, t->name);
    } else if (crypto_key_from_public_pem(d->dev->public_key, &d->key, err) != RC_OK) {
        problem(r, BUNDLE_M_DEVICES, "the public key of %s does not load: %s", dev_id, err);
        d->key = NULL;
    }
    /* Lines: each ends with '\n'. */
    if (t->data[t->len - 1] != '\n') {
        problem(r, t->name, "the last line has no newline");
        return;
    }
    size_t count = 0;
    for (size_t i = 0; i < t->len; i++)
        count += t->data[i] == '\n';
    if (!(d->lines = calloc(count, sizeof *d->lines)))
        return;
    struct event_chain chain;
    event_chain_init(&chain);
    const char *p = t->data, *end = t->data + t->len;
    bool broken = false;
    while (p < end) {
        const char *nlp = memchr(p, '\n', (size_t)(end - p));
        struct line *l = &d->lines[d->n++];
        l->bytes = p;
        l->len = (size_t)(nlp - p);
        p = nlp + 1;
        if (broken) {
            c->lines_ok = false;
            continue;
        }
        if (d->n == 1) {
            /* The run starts after the event its first prev names (proved by the signatures
             * that follow, not by anything before it). */
            if (event_parse(l->bytes, l->len, &l->ev, err) != RC_OK) {
                problem(r, t->name, "line 1: %s", err);
                broken = true;
                continue;
            }
            if (event_chain_resume(&chain, dev_id, l->ev.seq - 1, l->ev.prev, err) != RC_OK) {
                problem(r, t->name, "line 1 (seq %lld): %s", (long long)l->ev.seq, err);
                broken = true;
                continue;
            }
        }
        int64_t want = chain.seq + 1;
        if (event_chain_step(&chain, l->bytes, l->len, &l->ev, err) != RC_OK) {
            problem(r, t->name, "line %zu (seq %lld expected): %s", d->n, (long long)want, err);
            broken = true;
            continue;
        }
        event_hash_hex(l->bytes, l->len, l->hash);
        l->linked = true;
        r->events++;
    }
    if (!d->key) {
        c->lines_ok = false;
        return;
    }
    /* Batch signatures whose last line is in this run. */
    size_t tried = 0, good = 0;
    int64_t signed_to = 0;
    int64_t first_seq = d->lines[0].linked ? d->lines[0].ev.seq : 0;
    for (size_t i = 0; i < c->b.n_batches; i++) {
        const struct bundle_batch *bb = &c->b.batches[i];
        if (strcmp(bb->device, dev_id) != 0 || first_seq == 0 || bb->last_seq < first_seq ||
            bb->last_seq >= first_seq + (int64_t)d->n)
            continue;
        const struct line *l = &d->lines[bb->last_seq - first_seq];
        if (!l->linked)
            continue;
        tried++;
        r->batches++;
        uint8_t digest[CRYPTO_SHA256_LEN];
        if (strcmp(l->hash, bb->last_hash) != 0) {
            problem(r, BUNDLE_M_BATCHES,
                    "device %s batch %lld..%lld: last_hash is not the SHA-256 of seq %lld in %s",
                    dev_id, (long long)bb->first_seq, (long long)bb->last_seq,
                    (long long)bb->last_seq, t->name);
            continue;
        }
        crypto_sha256(l->bytes, l->len, digest);
        if (crypto_key_verify(d->key, digest, bb->signature, err) != RC_OK)
            continue;
        good++;
        if (bb->last_seq > signed_to)
            signed_to = bb->last_seq;
    }
    if (good < tried)
        c->lines_ok = false;
    if (tried > 0 && good == 0) {
        problem(r, BUNDLE_M_DEVICES,
                "the key of %s verifies none of its %zu batch signatures in batches.json", dev_id,
                tried);
    } else if (good < tried) {
        for (size_t i = 0; i < c->b.n_batches; i++) {
            const struct bundle_batch *bb = &c->b.batches[i];
            if (strcmp(bb->device, dev_id) != 0 || bb->last_seq < first_seq ||
                bb->last_seq >= first_seq + (int64_t)d->n)
                continue;
            const struct line *l = &d->lines[bb->last_seq - first_seq];
            uint8_t digest[CRYPTO_SHA256_LEN];
            crypto_sha256(l->bytes, l->len, digest);
            if (l->linked && strcmp(l->hash, bb->last_hash) == 0 &&
                crypto_key_verify(d->key, digest, bb->signature, err) != RC_OK)
                problem(r, BUNDLE_M_BATCHES,
                        "device %s batch %lld..%lld: the signature does not verify with its key",
                        dev_id, (long long)bb->first_seq, (long long)bb->last_seq);
        }
    }
    int64_t unsigned_from = 0, unsigned_to = 0;
    for (size_t i = 0; i < d->n; i++) {
        struct line *l = &d->lines[i];
        l->signed_ = l->linked && l->ev.seq <= signed_to;
        if (l->linked && !l->signed_) {
            if (!unsigned_from)
                unsigned_from = l->ev.seq;
            unsigned_to = l->ev.seq;
        }
    }
    if (unsigned_from) {
        c->lines_ok = false;
        problem(r, t->name,
                "seq %lld..%lld are not covered by a batch signature that verifies (the kiosk "
                "never vouched for them)",
                (long long)unsigned_from, (long long)unsigned_to);
    }
}

/* ---- fence judgements ---- */

static enum event_verdict rejudge(struct ctx *c, struct devlines *d, struct line *l)
{
    struct verify_result *r = c->res;
    const struct event *ev = &l->ev;
    const struct bundle_judgement *j = find_judgement(&c->b, d->dev->id, ev->seq);
    if (!j) {
        problem(r, BUNDLE_M_JUDGEMENTS, "no record of %s seq %lld", d->dev->id, (long long)ev->seq);
        return 0;
    }
    if (!event_is_located(ev->type))
        return 0;
    if (!(ev->has & EVENT_HAS(EVENT_F_FIX))) {
        if (strcmp(j->verdict, "no_fix") != 0)
            problem(r, BUNDLE_M_JUDGEMENTS, "%s seq %lld has no fix, recorded '%s'", d->dev->id,
                    (long long)ev->seq, j->verdict);
        return EVENT_NO_FIX;
    }
    if (!j->fence_version) {
        if (j->verdict[0])
            problem(r, BUNDLE_M_JUDGEMENTS,
                    "%s seq %lld: verdict '%s' recorded without a fence version", d->dev->id,
                    (long long)ev->seq, j->verdict);
        return 0; /* the collector had no such fence: unjudged, as it recorded */
    }
    const struct fence *f = find_fence(c, ev->fence, j->fence_version);
    if (!f) {
        problem(r, BUNDLE_M_FENCES, "fence %s version %d (judged %s seq %lld) is not in the bundle",
                ev->fence, j->fence_version, d->dev->id, (long long)ev->seq);
        return 0;
    }
    struct fence_fix fix = {
        .has_fix = true,
        .lat = (double)ev->fix.lat_e8 / 1e8,
        .lon = (double)ev->fix.lon_e8 / 1e8,
        .eph = ev->fix.has_eph ? (double)ev->fix.eph_cm / 100.0 : NAN,
    };
    struct fence_judgement fj;
    char err[ERR_LEN];
    if (fence_judge(f, &fix, d->dev->assumed_eph_m, &fj, err) != RC_OK) {
        problem(r, d->member, "seq %lld: its fix cannot be judged: %s", (long long)ev->seq, err);
        return 0;
    }
    r->fixes++;
    const char *v = fence_verdict_name(fj.verdict);
    bool same_distance = j->has_distance == isfinite(fj.distance_m) &&
                         (!j->has_distance || fabs(j->distance_m - fj.distance_m) < 0.0005);
    if (strcmp(v, j->verdict) != 0 || !same_distance)
        problem(r, BUNDLE_M_FENCES,
                "%s seq %lld re-judged %s at %.3f m against fence %s version %d; the collector "
                "recorded %s at %.3f m",
                d->dev->id, (long long)ev->seq, v, fj.distance_m, ev->fence, j->fence_version,
                j->verdict[0] ? j->verdict : "none", j->has_distance ? j->distance_m : NAN);
    enum event_verdict out = 0;
    (void)event_verdict_parse(v, &out);
    return out;
}

/* ---- figures ---- */

static bool in_window(const struct bundle_inputs *b, int64_t ts)
{
    for (size_t s = 0; s < b->plan->n_sessions; s++) {
        const struct plan_session *ps = &b->plan->sessions[s];
        if (ps->mode == PLAN_OFFLINE && ts >= ps->start_ms - b->policy.early_window_ms &&
            ts < ps->end_ms + b->policy.leave_grace_ms)
            return true;
    }
    return false;
}

static bool is_kiosk(const struct bundle_inputs *b, const char *id)
{
    for (size_t i = 0; i < b->n_kiosks; i++) {
        if (strcmp(b->kiosks[i].id, id) == 0)
            return true;
    }
    return false;
}

/* Compares two JSON values; each difference becomes a problem naming its path. */
static void diff(struct ctx *c, const cJSON *want, const cJSON *got, char *path, size_t cap,
                 size_t *n)
{
    struct verify_result *r = c->res;
    size_t base = strlen(path);
    if (*n >= DIFFS_MAX)
        return;
    if (cJSON_IsObject(want) && cJSON_IsObject(got)) {
        const cJSON *x;
        cJSON_ArrayForEach(x, want)
        {
            snprintf(path + base, cap - base, ".%s", x->string);
            diff(c, x, cJSON_GetObjectItemCaseSensitive(got, x->string), path, cap, n);
        }
        cJSON_ArrayForEach(x, got)
        {
            if (!cJSON_GetObjectItemCaseSensitive(want, x->string)) {
                snprintf(path + base, cap - base, ".%s", x->string);
                char *g = cJSON_PrintUnformatted(x);
                problem(r, BUNDLE_M_REPORT, "%s: missing, recomputed %.120s", path, g ? g : "?");
                free(g);
                (*n)++;
            }
        }
        path[base] = '\0';
        return;
    }
    if (cJSON_IsArray(want) && cJSON_IsArray(got) &&
        cJSON_GetArraySize(want) == cJSON_GetArraySize(got)) {
        int i = 0;
        for (const cJSON *w = want->child, *g = got->child; w && g; w = w->next, g = g->next) {
            snprintf(path + base, cap - base, "[%d]", i++);
            diff(c, w, g, path, cap, n);
        }
        path[base] = '\0';
        return;
    }
    if (got && cJSON_Compare(want, got, true))
        return;
    char *w = cJSON_PrintUnformatted(want), *g = got ? cJSON_PrintUnformatted(got) : NULL;
    problem(r, BUNDLE_M_REPORT, "%s: the bundle says %.150s, recomputed %.150s", path, w ? w : "?",
            g ? g : "(nothing)");
    free(w);
    free(g);
    (*n)++;
}

static void check_figures(struct ctx *c, const struct tar_member *m, size_t n,
                          struct engine_report **report_out)
{
    struct verify_result *r = c->res;
    struct bundle_inputs *b = &c->b;
    const struct tar_member *rep = tar_find(m, n, BUNDLE_M_REPORT);
    struct engine_event *events = NULL;
    struct engine_recording *recs = NULL;
    struct engine_venue *venues = NULL;
    struct engine_report *report = NULL;
    size_t n_events = 0, n_recs = 0, n_venues = 0, cap = 0;
    char *text = NULL, err[ERR_LEN];
    cJSON *want = NULL, *got = NULL;
    if (!rep) {
        problem(r, BUNDLE_M_REPORT, "missing");
        return;
    }
    for (size_t i = 0; i < c->n_devs; i++)
        cap += c->devs[i].n;
    if (!(events = calloc(cap ? cap : 1, sizeof *events)) ||
        !(venues = calloc(b->n_venues ? b->n_venues : 1, sizeof *venues)))
        goto out;
    /* The events the collector's figures read (docs/EVIDENCE.md "Which events count"): those
     * naming the class from a device of its institution, and the kiosks' own events naming no
     * class during an offline session's window; each with the verifier's own verdict. */
    for (size_t i = 0; i < c->n_devs; i++) {
        struct devlines *d = &c->devs[i];
        if (!d->dev)
            continue;
        bool own = strcmp(d->dev->institution, b->plan->institution) == 0;
        for (size_t k = 0; k < d->n; k++) {
            struct line *l = &d->lines[k];
            if (!l->linked)
                continue;
            enum event_verdict v = rejudge(c, d, l);
            bool has_class = l->ev.has & EVENT_HAS(EVENT_F_CLASS);
            bool take =
                own && ((has_class && strcmp(l->ev.class_id, b->class_id) == 0) ||
                        (!has_class && is_kiosk(b, d->dev->id) && in_window(b, l->ev.ts_ms)));
            if (!take)
                continue;
            const struct bundle_judgement *j = find_judgement(b, d->dev->id, l->ev.seq);
            struct engine_event *e = &events[n_events++];
            engine_ev_from(&e->ev, &l->ev);
            e->verdict = v;
            e->received_ms = j ? j->received_at_ms : 0;
        }
    }
    for (size_t i = 0; i < b->n_venues; i++) {
        const struct fence *f = find_fence(c, b->venues[i].fence, b->venues[i].version);
        if (!f) {
            problem(r, BUNDLE_M_FENCES, "venue fence %s version %d is not in the bundle",
                    b->venues[i].fence, b->venues[i].version);
            continue;
        }
        engine_venue_of(f, b->venues[i].fence, &venues[n_venues++]);
    }
    if (engine_recordings_derive(events, n_events, b->class_id, &recs, &n_recs, err) != RC_OK) {
        problem(r, BUNDLE_M_REPORT, "cannot recompute: %s", err);
        goto out;
    }
    struct engine_input in = {
        .plan = b->plan,
        .policy = &b->policy,
        .events = events,
        .n_events = n_events,
        .recordings = recs,
        .n_recordings = n_recs,
        .online = b->online,
        .n_online = b->n_online,
        .assessments = b->assessments,
        .n_assessments = b->n_assessments,
        .reviews = b->reviews,
        .n_reviews = b->n_reviews,
        .devices = b->kiosks,
        .n_devices = b->n_kiosks,
        .venues = venues,
        .n_venues = n_venues,
        .conflicts = b->conflicts,
        .n_conflicts = b->n_conflicts,
        .regions = regions_get(),
        .as_of_ms = b->as_of_ms,
        .subsidy_applied_ms = b->claimed_ms,
        .application_ms = b->applied_ms,
    };
    if (engine_run(&in, &report, err) != RC_OK) {
        problem(r, BUNDLE_M_REPORT, "cannot recompute: %s", err);
        goto out;
    }
    if (!b->names) {
        for (size_t i = 0; i < report->n_trainees; i++)
            report->trainees[i].name[0] = '\0';
    }
    if (report_json(report, &text, err) != RC_OK) {
        problem(r, BUNDLE_M_REPORT, "cannot recompute: %s", err);
        goto out;
    }
    if (jsonin_parse(rep->data, rep->len, &want, err) != RC_OK) {
        problem(r, BUNDLE_M_REPORT, "not JSON: %s", err);
        goto out;
    }
    if (jsonin_parse(text, strlen(text), &got, err) != RC_OK)
        goto out;
    char path[512] = "";
    size_t diffs = 0;
    diff(c, want, got, path, sizeof path, &diffs);
    if (diffs >= DIFFS_MAX)
        problem(r, BUNDLE_M_REPORT, "more than %d values differ; the first %d are listed",
                DIFFS_MAX, DIFFS_MAX);
    r->figures = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(want, "trainees"));
    if (report_out) {
        *report_out = report;
        report = NULL;
    }
out:
    cJSON_Delete(want);
    cJSON_Delete(got);
    free(text);
    engine_report_free(report);
    free(recs);
    free(venues);
    free(events);
}

int verify_bundle(const char *data, size_t len, const char *pinned_pem, struct verify_result *res,
                  struct engine_report **report)
{
    if (report)
        *report = NULL;
    struct ctx c = {.res = res, .lines_ok = true};
    struct tar_member *m = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    memset(res, 0, sizeof *res);
    if (len > BUNDLE_MAX) {
        problem(res, "bundle", "larger than %d bytes", BUNDLE_MAX);
        return RC_OK;
    }
    int rc = tar_read(data, len, &m, &n, err);
    if (rc == RC_NOMEM)
        return rc;
    if (rc != RC_OK) {
        problem(res, "bundle", "%s", err);
        return RC_OK;
    }
    if (!check_manifest(&c, m, n, pinned_pem))
        goto out;
    parse_inputs(&c, m, n);
    size_t n_files = 0;
    for (size_t i = 0; i < n; i++)
        n_files += strncmp(m[i].name, BUNDLE_EVENTS_DIR, strlen(BUNDLE_EVENTS_DIR)) == 0;
    if (!(c.devs = calloc(n_files ? n_files : 1, sizeof *c.devs))) {
        rc = RC_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (strncmp(m[i].name, BUNDLE_EVENTS_DIR, strlen(BUNDLE_EVENTS_DIR)) == 0)
            check_device(&c, &m[i]);
    }
    if (!c.inputs_ok || !c.b.plan)
        problem(res, BUNDLE_M_REPORT, "not recomputed: an input member above did not read");
    else if (!c.lines_ok)
        problem(res, BUNDLE_M_REPORT,
                "not recomputed: the event lines above are not all proven by the kiosks");
    else
        check_figures(&c, m, n, report);
out:
    for (size_t i = 0; i < c.n_devs; i++) {
        crypto_key_destroy(c.devs[i].key);
        free(c.devs[i].lines);
    }
    for (size_t i = 0; c.fence_sets && i < c.b.n_fences; i++)
        fence_set_free(c.fence_sets[i]);
    free(c.fence_sets);
    free(c.devs);
    bundle_inputs_clear(&c.b);
    free(m);
    return rc == RC_NOMEM ? rc : RC_OK;
}

/* ---- publications ---- */

int verify_publication(const char *data, size_t len, const char *pinned_pem,
                       const char *const *manifests, const struct engine_report *const *reports,
                       size_t n, struct verify_result *res, size_t *rows_checked)
{
    static const char M[] = "publication";
    char err[ERR_LEN];
    cJSON *o = NULL;
    struct publication_row *rows = NULL;
    size_t n_rows = 0;
    int year = 0;
    crypto_key *key = NULL, *pin = NULL;
    *rows_checked = 0;
    if (jsonin_parse(data, len, &o, err) != RC_OK) {
        problem(res, M, "not JSON: %s", err);
        return RC_OK;
    }
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "publication");
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(o, "signature");
    const cJSON *pem = cJSON_GetObjectItemCaseSensitive(sig, "public_key");
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(sig, "signature");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(sig, "key_id");
    if (!cJSON_IsString(text) || !cJSON_IsString(pem) || !cJSON_IsString(b64) ||
        !cJSON_IsString(kid)) {
        problem(res, M, "not a " PUBLICATION_FORMAT " document (publication, signature)");
        goto out;
    }
    /* The collector's signature over the publication text's exact bytes. */
    char fp[CRYPTO_SHA256_HEX_LEN + 1], pin_fp[CRYPTO_SHA256_HEX_LEN + 1];
    uint8_t digest[CRYPTO_SHA256_LEN];
    if (crypto_key_from_public_pem(pem->valuestring, &key, err) != RC_OK ||
        crypto_key_fingerprint(key, fp, err) != RC_OK) {
        problem(res, M, "signature.public_key: %s", err);
        goto out;
    }
    if (strncmp(fp, kid->valuestring, 16) != 0 || strlen(kid->valuestring) != 16)
        problem(res, M, "key_id %.20s is not the id of its public key (%.16s)", kid->valuestring,
                fp);
    if (pinned_pem) {
        if (crypto_key_from_public_pem(pinned_pem, &pin, err) != RC_OK ||
            crypto_key_fingerprint(pin, pin_fp, err) != RC_OK)
            problem(res, M, "the pinned key does not load: %s", err);
        else if (strcmp(pin_fp, fp) != 0)
            problem(res, M, "signed by key %.16s, not by the pinned collector key %.16s", fp,
                    pin_fp);
    }
    crypto_sha256(text->valuestring, strlen(text->valuestring), digest);
    if (crypto_key_verify(key, digest, b64->valuestring, err) != RC_OK)
        problem(res, M, "the collector's signature does not match the publication (key %.16s)",
                kid->valuestring);
    if (publication_parse(text->valuestring, strlen(text->valuestring), &year, &rows, &n_rows,
                          err) != RC_OK) {
        problem(res, M, "%s", err);
        goto out;
    }
    /* Each bundle is named by a row; each row whose bundles are all here adds up. */
    for (size_t b = 0; b < n; b++) {
        bool named = false;
        for (size_t i = 0; i < n_rows && !named; i++) {
            for (size_t k = 0; k < rows[i].n_bundles && !named; k++)
                named = strcmp(rows[i].bundles[k][1], manifests[b]) == 0;
        }
        if (!named)
            problem(res, M, "no row of %d names the bundle whose manifest is %.16s...", year,
                    manifests[b]);
    }
    for (size_t i = 0; i < n_rows; i++) {
        const struct publication_row *row = &rows[i];
        const struct engine_report **sel = calloc(row->n_bundles ? row->n_bundles : 1, sizeof *sel);
        size_t got = 0;
        for (size_t k = 0; sel && k < row->n_bundles; k++) {
            for (size_t b = 0; b < n; b++) {
                if (strcmp(row->bundles[k][1], manifests[b]) == 0 && reports[b]) {
                    sel[got++] = reports[b];
                    break;
                }
            }
        }
        if (!sel || got != row->n_bundles || got == 0) {
            free(sel);
            continue; /* not every bundle of the row is here: its totals are not checked */
        }
        struct engine_total *t = NULL;
        size_t n_t = 0;
        if (engine_aggregate(sel, got, ENGINE_BY_INSTITUTION, &t, &n_t, err) != RC_OK || n_t != 1) {
            problem(res, M, "institution %s: its bundles do not add up: %s", row->institution,
                    n_t == 1 ? err : "they are of several institutions");
        } else {
            (*rows_checked)++;
#define SAME(field, value)                                                                         \
    if ((int64_t)(value) != (int64_t)row->field)                                                   \
        problem(res, M, "institution %s: %s published %lld, recomputed from the bundles %lld",     \
                row->institution, #field, (long long)row->field, (long long)(value));
            SAME(scheduled_ms, t[0].roster_scheduled_ms)
            SAME(attended_ms, t[0].roster_attended_ms)
            SAME(enrolled, t[0].enrolled)
            SAME(assessed, t[0].assessed)
            SAME(passed, t[0].passed)
            SAME(classes, t[0].classes)
#undef SAME
            if (strcmp(t[0].key, row->institution) != 0)
                problem(res, M, "row %s: its bundles are of institution %s", row->institution,
                        t[0].key);
        }
        free(t);
        free(sel);
    }
out:
    crypto_key_destroy(key);
    crypto_key_destroy(pin);
    publication_rows_free(rows, n_rows);
    cJSON_Delete(o);
    return RC_OK;
}

/* Evidence bundles of classes (see evidence.h and docs/EVIDENCE.md). */
#include "evidence/evidence.h"

#include "engine/catalogue.h"
#include "engine/figures.h"
#include "event.h"
#include "evidence/bundle.h"
#include "evidence/tar.h"
#include "file.h"
#include "rc.h"
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MEMBERS_MAX = 64 + 2 * 1024, /* rows of the manifest: fixed members and device files */
    DEVICES_MAX = 1024,          /* devices whose lines one bundle carries */
    CATALOGUE_FILE_MAX = 1 << 20,
};

/* What is being gathered. */
struct gather {
    store *st;
    char *err;
    int rc;
    struct bundle_inputs b; /* all owned (copies of the engine's input) */
    struct dynbuf lines;    /* the current device's events/<device>.ndjson */
    const char *device;
};

static int add_judgement(const struct store_event_record *e, void *ctx)
{
    struct gather *g = ctx;
    struct bundle_inputs *b = &g->b;
    if (dynbuf_add(&g->lines, e->raw, e->raw_len) != RC_OK ||
        dynbuf_add(&g->lines, "\n", 1) != RC_OK)
        return rc_fail(g->err, RC_LIMIT, "the events of %s are over %d bytes", g->device,
                       BUNDLE_MEMBER_MAX);
    struct bundle_judgement *nj = realloc(b->judgements, (b->n_judgements + 1) * sizeof *nj);
    if (!nj)
        return rc_fail(g->err, RC_NOMEM, "out of memory");
    b->judgements = nj;
    struct bundle_judgement *j = &nj[b->n_judgements++];
    memset(j, 0, sizeof *j);
    snprintf(j->device, sizeof j->device, "%s", g->device);
    j->seq = e->seq;
    j->received_at_ms = e->received_at_ms;
    snprintf(j->verdict, sizeof j->verdict, "%s", e->server_verdict);
    j->has_distance = e->has_server_distance;
    j->distance_m = e->server_distance_m;
    j->fence_version = e->server_fence_version;
    return 0;
}

static int add_batch(const struct store_batch_sig *s, void *ctx)
{
    struct gather *g = ctx;
    struct bundle_inputs *b = &g->b;
    struct bundle_batch *nb = realloc(b->batches, (b->n_batches + 1) * sizeof *nb);
    if (!nb)
        return rc_fail(g->err, RC_NOMEM, "out of memory");
    b->batches = nb;
    struct bundle_batch *x = &nb[b->n_batches++];
    memset(x, 0, sizeof *x);
    snprintf(x->device, sizeof x->device, "%s", s->device);
    x->first_seq = s->first_seq;
    x->last_seq = s->last_seq;
    snprintf(x->last_hash, sizeof x->last_hash, "%s", s->last_hash);
    snprintf(x->signature, sizeof x->signature, "%s", s->signature);
    x->received_at_ms = s->received_at_ms;
    return 0;
}

/* The smallest last_seq among the signed batches covering seq (0: none). */
static int covering(const struct store_batch_sig *s, void *ctx)
{
    int64_t *end = ctx;
    if (*end == 0 || s->last_seq < *end)
        *end = s->last_seq;
    return 0;
}

static int add_fence(struct gather *g, const char *id, int version)
{
    struct bundle_inputs *b = &g->b;
    for (size_t i = 0; i < b->n_fences; i++) {
        if (strcmp(b->fences[i].id, id) == 0 && b->fences[i].version == version)
            return 0;
    }
    struct store_fence sf;
    char why[ERR_LEN];
    int rc = store_fence_version(g->st, id, version, &sf, why);
    if (rc == RC_NOTFOUND)
        return 0;
    if (rc != RC_OK)
        return rc_fail(g->err, rc, "%s", why);
    struct bundle_fence *nf = realloc(b->fences, (b->n_fences + 1) * sizeof *nf);
    if (!nf) {
        store_fence_clear(&sf);
        return rc_fail(g->err, RC_NOMEM, "out of memory");
    }
    b->fences = nf;
    struct bundle_fence *f = &nf[b->n_fences++];
    memset(f, 0, sizeof *f);
    snprintf(f->id, sizeof f->id, "%s", id);
    f->version = version;
    snprintf(f->sha256, sizeof f->sha256, "%s", sf.sha256);
    f->geojson = sf.geojson; /* ownership moves */
    return 0;
}

static int add_device(struct gather *g, const char *id)
{
    struct bundle_inputs *b = &g->b;
    for (size_t i = 0; i < b->n_devices; i++) {
        if (strcmp(b->devices[i].id, id) == 0)
            return 0;
    }
    struct store_enrolment e;
    char why[ERR_LEN];
    int rc = store_enrolment_get(g->st, id, &e, why);
    if (rc != RC_OK)
        return rc_fail(g->err, rc, "device %s: %s", id, why);
    if (b->n_devices == DEVICES_MAX)
        return rc_fail(g->err, RC_LIMIT, "more than %d devices", DEVICES_MAX);
    struct bundle_device *nd = realloc(b->devices, (b->n_devices + 1) * sizeof *nd);
    if (!nd)
        return rc_fail(g->err, RC_NOMEM, "out of memory");
    b->devices = nd;
    struct bundle_device *d = &nd[b->n_devices++];
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "%s", e.id);
    snprintf(d->institution, sizeof d->institution, "%s", e.institution);
    snprintf(d->public_key, sizeof d->public_key, "%s", e.public_key_pem);
    snprintf(d->profile, sizeof d->profile, "%s", e.profile);
    snprintf(d->fence, sizeof d->fence, "%s", e.fence);
    d->assumed_eph_m = e.assumed_eph_m;
    d->enrolled_at_ms = e.enrolled_at_ms;
    snprintf(d->enrolled_by, sizeof d->enrolled_by, "%s", e.enrolled_by);
    return 0;
}

/* A copy of n elements of size elem (a non-NULL pointer even for none), or NULL. */
static void *dup(const void *p, size_t n, size_t elem)
{
    void *q = malloc(n ? n * elem : 1);
    if (q && n)
        memcpy(q, p, n * elem);
    return q;
}

static int cmp_device(const void *x, const void *y)
{
    return strcmp(((const struct bundle_device *)x)->id, ((const struct bundle_device *)y)->id);
}

/* Appends a member to the archive and its row to the manifest. */
struct pack {
    struct dynbuf tar;
    struct bundle_manifest_row rows[MEMBERS_MAX];
    size_t n;
    int64_t mtime_s;
};

static int pack_add(struct pack *p, const char *name, const char *data, size_t len, char *err)
{
    if (p->n == MEMBERS_MAX)
        return rc_fail(err, RC_LIMIT, "more than %d members", MEMBERS_MAX);
    struct bundle_manifest_row *r = &p->rows[p->n];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->size = len;
    crypto_sha256_hex(data, len, r->sha256);
    int rc = tar_add(&p->tar, name, data, len, p->mtime_s, err);
    if (rc == RC_OK)
        p->n++;
    return rc;
}

/* The chain run of one device: lines first..end, where end closes the signed batch holding
 * last (last itself when no kept signature covers it: the verifier will say so). */
static int device_run(struct gather *g, struct pack *members, const char *device, int64_t first,
                      int64_t last)
{
    char why[ERR_LEN];
    int64_t end = 0;
    int rc = store_batch_sig_list(g->st, device, last, last, covering, &end, why);
    if (rc != RC_OK)
        return rc_fail(g->err, rc, "%s", why);
    if (end < last)
        end = last;
    if ((rc = store_batch_sig_list(g->st, device, first, end, add_batch, g, g->err)) != RC_OK)
        return rc;
    dynbuf_reset(&g->lines);
    g->device = device;
    if ((rc = store_event_range(g->st, device, first, end, add_judgement, g, g->err)) != RC_OK)
        return rc;
    char name[TAR_NAME_MAX + 1];
    if (snprintf(name, sizeof name, BUNDLE_EVENTS_DIR "%s.ndjson", device) >= (int)sizeof name)
        return rc_fail(g->err, RC_LIMIT, "device id %s too long for a member name", device);
    return pack_add(members, name, dynbuf_ptr(&g->lines), dynbuf_len(&g->lines), g->err);
}

static int catalogue_bytes(char **buf, size_t *len, char *err)
{
    int rc = file_read_bounded(catalogue_installed_path(), CATALOGUE_FILE_MAX, buf, len, err);
#ifdef ROLLCALL_SOURCE_DATADIR
    if (rc == RC_NOTFOUND || rc == RC_IO)
        rc = file_read_bounded(ROLLCALL_SOURCE_DATADIR "/catalogue.json", CATALOGUE_FILE_MAX, buf,
                               len, err);
#endif
    return rc;
}

static int add_json_member(struct pack *p, const struct bundle_inputs *b, const char *name,
                           char *err)
{
    char *text = NULL;
    int rc = bundle_member_json(b, name, &text, err);
    if (rc == RC_OK)
        rc = pack_add(p, name, text, strlen(text), err);
    free(text);
    return rc;
}

int evidence_class_bundle(store *st, signkey *key, const char *class_id, int64_t now_ms, bool names,
                          char **out, size_t *len, char manifest_sha256[CRYPTO_SHA256_HEX_LEN + 1],
                          struct engine_report **report_out, char *err)
{
    struct figures_input *fi = NULL;
    struct engine_report *report = NULL;
    struct gather g = {.st = st, .err = err};
    struct pack *members = calloc(1, sizeof *members), *archive = calloc(1, sizeof *archive);
    char *text = NULL, *manifest = NULL, *sigjson = NULL, *catalogue = NULL;
    const struct engine_event **by = NULL; /* the events by device and seq */
    size_t catalogue_len = 0;
    bool own_tx = false;
    int rc;
    *out = NULL;
    *len = 0;
    if (report_out)
        *report_out = NULL;
    dynbuf_init(&g.lines, BUNDLE_MEMBER_MAX);
    if (!members || !archive) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    dynbuf_init(&members->tar, BUNDLE_MAX);
    dynbuf_init(&archive->tar, BUNDLE_MAX);
    /* The inputs, the lines and the signatures from one snapshot. */
    if (!store_in_transaction(st)) {
        if ((rc = store_begin_read(st, err)) != RC_OK)
            goto out;
        own_tx = true;
    }
    if ((rc = figures_class_input(st, class_id, now_ms, &fi, err)) != RC_OK ||
        (rc = engine_run(&fi->in, &report, err)) != RC_OK)
        goto out;
    if (!names)
        figures_mask_names(report);
    struct bundle_inputs *b = &g.b;
    snprintf(b->class_id, sizeof b->class_id, "%s", fi->plan->id);
    b->as_of_ms = fi->in.as_of_ms;
    b->claimed_ms = fi->in.subsidy_applied_ms;
    b->applied_ms = fi->in.application_ms;
    /* The archive's time is the report's as_of, not the moment of writing: a finished
     * class's bundle has the same manifest whenever it is asked for (its signature differs:
     * ECDSA is randomised), so a publication can name it by its manifest's hash. */
    members->mtime_s = archive->mtime_s = b->as_of_ms / 1000;
    b->names = names;
    b->policy = *fi->in.policy;
    if (!(b->plan = dup(fi->plan, 1, sizeof *fi->plan)) ||
        !(b->kiosks = dup(fi->in.devices, b->n_kiosks = fi->in.n_devices, sizeof *b->kiosks)) ||
        !(b->online = dup(fi->in.online, b->n_online = fi->in.n_online, sizeof *b->online)) ||
        !(b->assessments = dup(fi->in.assessments, b->n_assessments = fi->in.n_assessments,
                               sizeof *b->assessments)) ||
        !(b->reviews = dup(fi->in.reviews, b->n_reviews = fi->in.n_reviews, sizeof *b->reviews)) ||
        !(b->conflicts =
              dup(fi->in.conflicts, b->n_conflicts = fi->in.n_conflicts, sizeof *b->conflicts)) ||
        !(b->venues = calloc(PLAN_SESSIONS_MAX, sizeof *b->venues))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }

    /* Devices: every kiosk the engine read, every device with events; each device's lines
     * from its first event's seq to its last, device by device (strcmp's order). */
    for (size_t i = 0; i < fi->in.n_devices; i++) {
        if ((rc = add_device(&g, fi->in.devices[i].id)) != RC_OK)
            goto out;
    }
    size_t n_ev = fi->in.n_events;
    if (n_ev && !(by = malloc(n_ev * sizeof *by))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_ev; i++)
        by[i] = &fi->in.events[i];
    if (n_ev > 1)
        qsort(by, n_ev, sizeof *by, engine_event_cmp_device_seq);
    for (size_t i = 0; i < n_ev;) {
        const char *dev = by[i]->ev.device;
        int64_t first = by[i]->ev.seq, last = first;
        size_t j = i;
        for (; j < n_ev && strcmp(by[j]->ev.device, dev) == 0; j++)
            last = by[j]->ev.seq;
        if ((rc = add_device(&g, dev)) != RC_OK || (rc = device_run(&g, members, dev, first, last)))
            goto out;
        i = j;
    }
    if (b->n_devices > 1)
        qsort(b->devices, b->n_devices, sizeof *b->devices, cmp_device);
    /* Fences: every version that judged a bundled line, and the venues' current versions. */
    for (size_t i = 0; i < b->n_judgements; i++) {
        if (!b->judgements[i].fence_version)
            continue;
        const struct bundle_judgement *j = &b->judgements[i];
        char line[EVENT_LINE_MAX + 1];
        size_t n = 0;
        struct event ev;
        char why[ERR_LEN];
        if ((rc = store_event_raw(st, j->device, j->seq, line, sizeof line, &n, why)) != RC_OK ||
            event_parse(line, n, &ev, why) != RC_OK) {
            rc = rc_fail(err, rc ? rc : RC_CORRUPT, "event %s/%lld: %s", j->device,
                         (long long)j->seq, why);
            goto out;
        }
        if ((rc = add_fence(&g, ev.fence, j->fence_version)) != RC_OK)
            goto out;
    }
    struct bundle_venue *venues = b->venues;
    size_t n_venues = 0;
    for (size_t s = 0; s < fi->plan->n_sessions; s++) {
        const char *fid = fi->plan->sessions[s].fence;
        bool seen = !fid[0];
        for (size_t v = 0; v < n_venues && !seen; v++)
            seen = strcmp(venues[v].fence, fid) == 0;
        if (seen)
            continue;
        struct store_fence cur;
        char why[ERR_LEN];
        rc = store_fence_current(st, fid, &cur, why);
        if (rc == RC_NOTFOUND)
            continue;
        if (rc != RC_OK) {
            rc = rc_fail(err, rc, "%s", why);
            goto out;
        }
        snprintf(venues[n_venues].fence, sizeof venues[n_venues].fence, "%s", fid);
        venues[n_venues++].version = cur.version;
        b->n_venues = n_venues;
        store_fence_clear(&cur);
        if ((rc = add_fence(&g, fid, venues[n_venues - 1].version)) != RC_OK)
            goto out;
    }
    if (own_tx) {
        store_rollback(st);
        own_tx = false;
    }

    static const char *const json_members[] = {
        BUNDLE_M_BUNDLE,      BUNDLE_M_PLAN,    BUNDLE_M_POLICY,     BUNDLE_M_FENCES,
        BUNDLE_M_DEVICES,     BUNDLE_M_BATCHES, BUNDLE_M_JUDGEMENTS, BUNDLE_M_ONLINE,
        BUNDLE_M_ASSESSMENTS, BUNDLE_M_REVIEWS, BUNDLE_M_CONFLICTS};
    for (size_t i = 0; i < sizeof json_members / sizeof json_members[0]; i++) {
        if ((rc = add_json_member(members, b, json_members[i], err)) != RC_OK)
            goto out;
    }
    if ((rc = catalogue_bytes(&catalogue, &catalogue_len, err)) != RC_OK ||
        (rc = pack_add(members, BUNDLE_M_CATALOGUE, catalogue, catalogue_len, err)) != RC_OK ||
        (rc = report_json(report, &text, err)) != RC_OK ||
        (rc = pack_add(members, BUNDLE_M_REPORT, text, strlen(text), err)) != RC_OK)
        goto out;

    /* The manifest, its signature, then the members in the order listed. */
    struct bundle_signature sig = {.algorithm = BUNDLE_SIG_ALGORITHM};
    char key_id[SIGNKEY_ID_LEN + 1];
    if ((rc = bundle_manifest_json(b->class_id, members->rows, members->n, &manifest, err)) !=
            RC_OK ||
        (rc = signkey_sign(key, manifest, strlen(manifest), sig.signature, key_id, err)) != RC_OK ||
        (rc = signkey_public_pem(key, sig.public_key, sizeof sig.public_key, err)) != RC_OK)
        goto out;
    snprintf(sig.key_id, sizeof sig.key_id, "%s", key_id);
    if ((rc = bundle_signature_json(&sig, &sigjson, err)) != RC_OK ||
        (rc = tar_add(&archive->tar, BUNDLE_M_MANIFEST, manifest, strlen(manifest),
                      archive->mtime_s, err)) != RC_OK ||
        (rc = tar_add(&archive->tar, BUNDLE_M_SIGNATURE, sigjson, strlen(sigjson), archive->mtime_s,
                      err)) != RC_OK ||
        (rc = dynbuf_add(&archive->tar, dynbuf_ptr(&members->tar), dynbuf_len(&members->tar))) !=
            RC_OK ||
        (rc = tar_finish(&archive->tar, err)) != RC_OK) {
        if (rc == RC_LIMIT && !err[0])
            rc_fail(err, RC_LIMIT, "bundle over %d bytes", BUNDLE_MAX);
        goto out;
    }
    if (manifest_sha256)
        crypto_sha256_hex(manifest, strlen(manifest), manifest_sha256);
    *out = dynbuf_take(&archive->tar, len);
    if (!*out)
        rc = rc_fail(err, RC_NOMEM, "out of memory");
    else if (report_out) {
        *report_out = report;
        report = NULL;
    }
out:
    if (own_tx)
        store_rollback(st);
    bundle_inputs_clear(&g.b);
    dynbuf_free(&g.lines);
    if (members)
        dynbuf_free(&members->tar);
    if (archive)
        dynbuf_free(&archive->tar);
    free(members);
    free(archive);
    free(by);
    free(text);
    free(manifest);
    free(sigjson);
    free(catalogue);
    engine_report_free(report);
    figures_input_free(fi);
    return rc;
}

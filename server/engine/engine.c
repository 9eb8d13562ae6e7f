/* The attendance engine (engine.h; docs/ATTENDANCE.md defines every figure). */
#include "engine/engine.h"

#include "geodesy.h"
#include "i18n.h"
#include "rc.h"
#include "timeutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_PER_MIN INT64_C(60000)
#define MS_PER_DAY INT64_C(86400000)

void engine_policy_default(struct engine_policy *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "default");
    p->version = 1;
    p->early_window_ms = 30 * MS_PER_MIN;
    p->late_grace_ms = 15 * MS_PER_MIN;
    p->leave_grace_ms = 15 * MS_PER_MIN;
    p->count_inside = true;
    p->count_uncertain = true;
    p->count_outside = false;
    p->count_no_fix = false;
    p->recording_gap_ms = 10 * MS_PER_MIN;
    p->recording_late_ms = 24 * 60 * MS_PER_MIN;
    p->attendance_warning = 0.90;
    p->attendance_serious = 0.80;
    p->online_share_max = 0.5;
    p->travel_speed_mps = 50.0;
    p->travel_min_m = 1000.0;
    p->kiosk_silence_ms = 5 * MS_PER_MIN;
    p->clock_skew_ms = 30000;
    p->application_lead_days = 15;
    p->subsidy_deadline_days = 30;
    p->minutes_per_hour = 45;
    p->rollcall_missed_ends_presence = true;
    snprintf(p->region, sizeof p->region, "Tianjin");
    /* Tianjin spans 38°34'..40°15' N and 116°43'..118°04' E (the municipality's own figures). */
    p->region_min_lat = 38.0 + 34.0 / 60.0;
    p->region_max_lat = 40.0 + 15.0 / 60.0;
    p->region_min_lon = 116.0 + 43.0 / 60.0;
    p->region_max_lon = 118.0 + 4.0 / 60.0;
}

static bool in_range(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi;
}

int engine_policy_check(const struct engine_policy *p, char *err)
{
    const int64_t day = MS_PER_DAY;
    if (!p->name[0])
        return rc_fail(err, RC_INVAL, "policy: name is empty");
    if (p->version < 1)
        return rc_fail(err, RC_INVAL, "policy: version must be at least 1");
    if (p->early_window_ms < 0 || p->early_window_ms > day / 4)
        return rc_fail(err, RC_INVAL, "policy: early_window out of range");
    if (p->late_grace_ms < 0 || p->late_grace_ms > day / 8 || p->leave_grace_ms < 0 ||
        p->leave_grace_ms > day / 8)
        return rc_fail(err, RC_INVAL, "policy: grace out of range");
    if (p->recording_gap_ms < 0 || p->kiosk_silence_ms <= 0 || p->clock_skew_ms <= 0)
        return rc_fail(err, RC_INVAL, "policy: gap, silence or skew threshold out of range");
    if (p->recording_late_ms < 0 || p->recording_late_ms > 366 * day)
        return rc_fail(err, RC_INVAL, "policy: recording_late out of range");
    if (!in_range(p->attendance_warning, 0, 1) || !in_range(p->attendance_serious, 0, 1) ||
        p->attendance_serious > p->attendance_warning)
        return rc_fail(err, RC_INVAL, "policy: attendance thresholds out of range");
    if (!in_range(p->online_share_max, 0, 1))
        return rc_fail(err, RC_INVAL, "policy: online_share_max out of range");
    if (!in_range(p->travel_speed_mps, 0.1, 1000) || !in_range(p->travel_min_m, 0, 1e6))
        return rc_fail(err, RC_INVAL, "policy: travel parameters out of range");
    if (p->application_lead_days < 0 || p->application_lead_days > 365 ||
        p->subsidy_deadline_days < 0 || p->subsidy_deadline_days > 365)
        return rc_fail(err, RC_INVAL, "policy: day limits out of range");
    if (p->minutes_per_hour < 1 || p->minutes_per_hour > 120)
        return rc_fail(err, RC_INVAL, "policy: minutes_per_hour out of range");
    if (!in_range(p->region_min_lat, -90, 90) || !in_range(p->region_max_lat, -90, 90) ||
        !in_range(p->region_min_lon, -180, 180) || !in_range(p->region_max_lon, -180, 180) ||
        p->region_min_lat >= p->region_max_lat || p->region_min_lon >= p->region_max_lon)
        return rc_fail(err, RC_INVAL, "policy: region box out of range");
    return RC_OK;
}

double engine_ratio(int64_t num, int64_t den, bool *defined)
{
    if (defined)
        *defined = den > 0;
    return den > 0 ? (double)num / (double)den : 0.0;
}

static const char *const finding_names[ENGINE_F_KIND_COUNT] = {
    "signin_outside",         "signin_uncertain",     "signin_unlocated",
    "signin_without_signout", "signin_no_session",    "signin_not_on_roster",
    "online_share_plan",      "online_share_trainee", "recording_gap",
    "attendance_low",         "impossible_travel",    "kiosk_silent",
    "clock_disagreement",     "chain_conflict",       "venue_outside_region",
    "late_application",       "late_claim",           "late_recording",
    "rollcall_missed",        "gnss_quality",         "venue_outside_district"};

const char *engine_finding_name(enum engine_finding_kind k)
{
    return (k >= 0 && k < ENGINE_F_KIND_COUNT) ? finding_names[k] : NULL;
}

const char *engine_severity_name(enum engine_severity s)
{
    static const char *const names[] = {"info", "warning", "serious"};
    return (s >= ENGINE_INFO && s <= ENGINE_SERIOUS) ? names[s] : NULL;
}

const char *engine_subject_name(enum engine_subject s)
{
    static const char *const names[] = {"class", "session", "trainee", "device", "venue"};
    return (s >= ENGINE_S_CLASS && s <= ENGINE_S_VENUE) ? names[s] : NULL;
}

/* ---- working state ---------------------------------------------------------------------- */

struct iv {
    int64_t a, b;
    const char *a_id, *b_id; /* what starts the interval, what gives its end (may be NULL) */
};

/* A sign-in or sign-out of a roster member, assigned to an offline session. */
struct mark {
    const struct engine_event *e;
    size_t at; /* e's place in ctx.ev: by (ts, id) */
    size_t trainee, session;
    bool in;
    bool counted, counted_unreviewed;
};

/* A roll-call a kiosk opened for an offline session of the class (a rollcall event). */
struct roll {
    const struct engine_event *e; /* its rollcall event: device, session, rollcall, start, end */
    size_t session;
};

struct ctx {
    const struct engine_input *in;
    const struct plan *p;
    const struct engine_policy *pol;
    struct engine_report *r;
    const struct engine_event **ev; /* deduplicated, by (ts, id) */
    size_t n_ev;
    long *place;  /* per ev: its trainee's place on the roster (plan_find_trainee), -1: none */
    size_t *rank; /* per ev with a place: its trainee's rank by pseudonym (strcmp's order) */
    struct named *sessions; /* the plan's sessions by id (cmp_named), at: their index */
    struct roll *rolls;     /* by (session, opening, device, id); one per (device, session, id) */
    size_t n_rolls;
    const struct engine_event **confs; /* the class's rollcall_confirm, by (trainee, session,
                                          ts, id) */
    size_t n_confs;
    size_t cap_findings;
    char *err;
};

static int add_finding(struct ctx *c, const struct engine_finding *f)
{
    struct engine_report *r = c->r;
    if (r->n_findings == ENGINE_FINDINGS_MAX) {
        r->findings_dropped++;
        return RC_OK;
    }
    if (r->n_findings == c->cap_findings) {
        size_t cap = c->cap_findings ? c->cap_findings * 2 : 32;
        struct engine_finding *nf = realloc(r->findings, cap * sizeof *nf);
        if (!nf)
            return rc_fail(c->err, RC_NOMEM, "out of memory");
        r->findings = nf;
        c->cap_findings = cap;
    }
    r->findings[r->n_findings++] = *f;
    return RC_OK;
}

static void finding_init(struct engine_finding *f, enum engine_finding_kind k,
                         enum engine_severity s, enum engine_subject sk, const char *subject)
{
    memset(f, 0, sizeof *f);
    f->kind = k;
    f->severity = s;
    f->subject_kind = sk;
    snprintf(f->subject, sizeof f->subject, "%s", subject);
}

/* Packed arguments: "name" US "value" RS, repeated; a control character in a value (which no
 * stored identifier holds) becomes '?', so the separators stay unambiguous. */
enum { ARG_US = 0x1f, ARG_RS = 0x1e };

const char *engine_detail_arg(const struct engine_finding *f, const char *name,
                              char buf[ENGINE_DETAIL_ARGS_MAX + 1])
{
    size_t nlen = strlen(name);
    for (const char *p = f->detail_args; *p;) {
        const char *us = strchr(p, ARG_US), *rs = us ? strchr(us, ARG_RS) : NULL;
        if (!us || !rs)
            return NULL;
        if ((size_t)(us - p) == nlen && memcmp(p, name, nlen) == 0) {
            size_t vlen = (size_t)(rs - us - 1);
            memcpy(buf, us + 1, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        p = rs + 1;
    }
    return NULL;
}

int engine_detail_each(const struct engine_finding *f,
                       int (*fn)(const char *name, const char *value, void *ctx), void *ctx)
{
    char name[32], value[ENGINE_DETAIL_ARGS_MAX + 1];
    for (const char *p = f->detail_args; *p;) {
        const char *us = strchr(p, ARG_US), *rs = us ? strchr(us, ARG_RS) : NULL;
        if (!us || !rs || (size_t)(us - p) >= sizeof name)
            return 0;
        memcpy(name, p, (size_t)(us - p));
        name[us - p] = '\0';
        memcpy(value, us + 1, (size_t)(rs - us - 1));
        value[rs - us - 1] = '\0';
        int rc = fn(name, value, ctx);
        if (rc)
            return rc;
        p = rs + 1;
    }
    return 0;
}

struct arg_ctx {
    const struct engine_finding *f;
    char buf[ENGINE_DETAIL_ARGS_MAX + 1];
};

static const char *finding_arg(const char *name, void *ctx)
{
    struct arg_ctx *a = ctx;
    return engine_detail_arg(a->f, name, a->buf);
}

int engine_detail_render(const struct engine_finding *f, enum i18n_lang lang, char *out, size_t n)
{
    struct arg_ctx a = {.f = f};
    if (!f->detail_code[0])
        return -1;
    return i18n_render(f->detail_code, lang, finding_arg, &a, out, n);
}

/* Sets f's detail from the catalogue's template detail.<code> and its arguments: pairs of
 * const char *name, const char *value, then NULL. f->detail gets the English text (what the
 * command line, the exports and the logs show); the code and the arguments stay with the
 * finding, so the API renders it in the caller's language. A template or argument missing is
 * a programming error that every test of the finding sees: the detail then names the code. */
static void detail(struct engine_finding *f, const char *code, ...)
{
    va_list ap;
    size_t used = 0;
    snprintf(f->detail_code, sizeof f->detail_code, "%s", code);
    f->detail_args[0] = '\0';
    va_start(ap, code);
    for (const char *name; (name = va_arg(ap, const char *));) {
        const char *value = va_arg(ap, const char *);
        size_t nl = strlen(name), vl = strlen(value);
        if (used + nl + vl + 2 >= sizeof f->detail_args)
            break;
        memcpy(f->detail_args + used, name, nl);
        used += nl;
        f->detail_args[used++] = ARG_US;
        for (size_t i = 0; i < vl; i++)
            f->detail_args[used++] = (unsigned char)value[i] < 0x20 ? '?' : value[i];
        f->detail_args[used++] = ARG_RS;
        f->detail_args[used] = '\0';
    }
    va_end(ap);
    if (engine_detail_render(f, I18N_EN, f->detail, sizeof f->detail) != 0)
        snprintf(f->detail, sizeof f->detail, "(detail.%s)", code);
}

/* Numbers for details, formatted once (the same digits in every language). */
static const char *num_i(char buf[24], long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}

static const char *num_f(char buf[32], int decimals, double v)
{
    snprintf(buf, 32, "%.*f", decimals, v);
    return buf;
}

static void evidence(struct engine_finding *f, const char *id)
{
    if (!id || !id[0] || f->n_evidence == ENGINE_EVIDENCE_MAX)
        return;
    for (size_t i = 0; i < f->n_evidence; i++) {
        if (strcmp(f->evidence[i], id) == 0)
            return;
    }
    snprintf(f->evidence[f->n_evidence++], sizeof f->evidence[0], "%s", id);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Asia/Shanghai wall time for details; "?" if out of range. */
static const char *local(int64_t ms, char out[TS_SHANGHAI_LEN + 1])
{
    if (ts_format_shanghai(ms, out) != RC_OK)
        snprintf(out, TS_SHANGHAI_LEN + 1, "?");
    return out;
}

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

/* ---- deduplication ------------------------------------------------------------------------ */

/* An event with the key it is sorted by: two integers that decide most comparisons
 * without reading the 680-byte event the pointer points at; only equal keys read it. */
struct keyed {
    uint64_t hi, lo;
    const struct engine_event *e;
};

static int cmp_keyed(const void *x, const void *y)
{
    const struct keyed *a = x, *b = y;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    return (a->lo > b->lo) - (a->lo < b->lo);
}

/* The first 8 bytes of s, big-endian, zeros after its end: ordered as strcmp orders them. */
static uint64_t key_str(const char *s)
{
    uint64_t k = 0;
    size_t i = 0;
    for (; i < 8 && s[i]; i++)
        k = k << 8 | (unsigned char)s[i];
    for (; i < 8; i++)
        k <<= 8;
    return k;
}

static uint64_t key_i64(int64_t v)
{
    return (uint64_t)v ^ (UINT64_C(1) << 63);
}

/* True when a goes after b under cmp, which orders by hi first (every cmp given to
 * sort_keyed does): hi decides here without the call when it can. */
static inline bool keyed_after(const struct keyed *a, const struct keyed *b,
                               int (*cmp)(const void *, const void *))
{
    if (a->hi != b->hi)
        return a->hi > b->hi;
    return cmp(a, b) > 0;
}

/* One pass of the merge: each pair of neighbouring runs of src (ends[0..*runs) their ends)
 * merged into dst, stably (of equal ones the left first); *runs becomes the number of the
 * merged runs, ends theirs. */
static void merge_runs(const struct keyed *src, struct keyed *dst, size_t *ends, size_t *runs,
                       int (*cmp)(const void *, const void *))
{
    size_t from = 0, out = 0;
    for (size_t r = 0; r < *runs; r += 2) {
        size_t mid = ends[r], to = r + 1 < *runs ? ends[r + 1] : mid;
        size_t i = from, j = mid, d = from;
        while (i < mid && j < to)
            dst[d++] = keyed_after(&src[i], &src[j], cmp) ? src[j++] : src[i++];
        memcpy(&dst[d], &src[i], (mid - i) * sizeof *dst);
        d += mid - i;
        memcpy(&dst[d], &src[j], (to - j) * sizeof *dst);
        ends[out++] = to;
        from = to;
    }
    *runs = out;
}

/* Sorts k[0..n) by cmp and writes its events in that order to out (may be NULL). A merge of
 * the runs already in order, as stable as glibc's qsort (a merge sort too), so every order
 * is the one qsort gave: a class's events come by kiosk and seq, mostly in time order
 * already, and most comparisons are decided by hi without calling cmp. Without the memory
 * for the merge, qsort. */
static void sort_keyed(struct keyed *k, size_t n, int (*cmp)(const void *, const void *),
                       const struct engine_event **out)
{
    size_t runs = 0;
    size_t *ends = n > 1 ? malloc(n * sizeof *ends) : NULL;
    struct keyed *tmp = ends ? malloc(n * sizeof *tmp) : NULL;
    if (n > 1 && !tmp)
        qsort(k, n, sizeof *k, cmp);
    else if (n > 1) {
        for (size_t i = 1; i <= n; i++)
            if (i == n || keyed_after(&k[i - 1], &k[i], cmp))
                ends[runs++] = i;
        struct keyed *src = k, *dst = tmp;
        while (runs > 1) {
            merge_runs(src, dst, ends, &runs, cmp);
            struct keyed *t = src;
            src = dst;
            dst = t;
        }
        if (src != k)
            memcpy(k, src, n * sizeof *k);
    }
    free(ends);
    free(tmp);
    for (size_t i = 0; out && i < n; i++)
        out[i] = k[i].e;
}

static int cmp_ev_id(const void *x, const void *y)
{
    const struct engine_event *a = *(const struct engine_event *const *)x;
    const struct engine_event *b = *(const struct engine_event *const *)y;
    int c = strcmp(a->ev.id, b->ev.id);
    if (!c)
        c = cmp_i64(a->received_ms, b->received_ms);
    if (!c)
        c = strcmp(a->ev.device, b->ev.device);
    if (!c)
        c = cmp_i64(a->ev.seq, b->ev.seq);
    return c;
}

static int cmp_ev_time(const void *x, const void *y)
{
    const struct engine_event *a = *(const struct engine_event *const *)x;
    const struct engine_event *b = *(const struct engine_event *const *)y;
    int c = cmp_i64(a->ev.ts_ms, b->ev.ts_ms);
    return c ? c : strcmp(a->ev.id, b->ev.id);
}

/* cmp_ev_time on keyed events: the key is its fields' start. */
static int cmp_keyed_time(const void *x, const void *y)
{
    const struct keyed *a = x, *b = y;
    int c = cmp_keyed(a, b);
    return c ? c : cmp_ev_time(&a->e, &b->e);
}

uint64_t engine_hash_str(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

/* ctx.ev: each event id once, the copy that cmp_ev_id puts first (the first received), by
 * (ts, id). The copies are found through a hash table of ids (each event looked up once),
 * not a sort by id. */
static int dedupe_events(struct ctx *c)
{
    const struct engine_input *in = c->in;
    size_t n_in = in->n_events;
    if (n_in == 0)
        return RC_OK;
    size_t slots = 16;
    while (slots < 2 * n_in)
        slots *= 2;
    const struct engine_event **table = calloc(slots, sizeof *table);
    c->ev = malloc(n_in * sizeof *c->ev);
    struct keyed *k = malloc(n_in * sizeof *k);
    if (!table || !c->ev || !k) {
        free(table);
        free(k);
        return rc_fail(c->err, RC_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_in; i++) {
        const struct engine_event *e = &in->events[i];
        size_t at = (size_t)engine_hash_str(e->ev.id) & (slots - 1);
        while (table[at] && strcmp(table[at]->ev.id, e->ev.id) != 0)
            at = (at + 1) & (slots - 1);
        if (!table[at] || cmp_ev_id(&e, &table[at]) < 0)
            table[at] = e;
    }
    /* the kept copies in their input's order, which is nearly time order (by kiosk and seq) */
    bool *kept = calloc(n_in, sizeof *kept);
    if (!kept) {
        free(table);
        free(k);
        return rc_fail(c->err, RC_NOMEM, "out of memory");
    }
    for (size_t at = 0; at < slots; at++)
        if (table[at])
            kept[table[at] - in->events] = true;
    free(table);
    size_t n = 0;
    for (size_t i = 0; i < n_in; i++)
        if (kept[i])
            k[n++] = (struct keyed){key_i64(in->events[i].ev.ts_ms), key_str(in->events[i].ev.id),
                                    &in->events[i]};
    free(kept);
    c->n_ev = n;
    sort_keyed(k, n, cmp_keyed_time, c->ev);
    free(k);
    return RC_OK;
}

/* A name and where it was found: sorted by name (strcmp's order, its first 8 bytes as an
 * integer first), then place. */
struct named {
    uint64_t key; /* key_str(name) */
    const char *name;
    size_t at;
};

static struct named named_of(const char *name, size_t at)
{
    return (struct named){key_str(name), name, at};
}

static int cmp_name(const struct named *a, uint64_t key, const char *name)
{
    if (a->key != key)
        return a->key < key ? -1 : 1;
    return strcmp(a->name, name);
}

static int cmp_named(const void *x, const void *y)
{
    const struct named *a = x, *b = y;
    int c = cmp_name(a, b->key, b->name);
    return c ? c : (a->at > b->at) - (a->at < b->at);
}

/* The index in k[0..n) (sorted by cmp_named) of the first named name, or n. */
static size_t named_find(const struct named *k, size_t n, const char *name)
{
    uint64_t key = key_str(name);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_name(&k[mid], key, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && cmp_name(&k[lo], key, name) == 0 ? lo : n;
}

/* ctx.sessions, and ctx.place and ctx.rank of every deduplicated event: binary searches of
 * the plan's sessions and roster sorted by id instead of walks along them per event. The
 * place is plan_find_trainee's (the first of equal pseudonyms); the rank orders trainees as
 * strcmp orders their pseudonyms. */
static int name_indexes(struct ctx *c)
{
    const struct plan *p = c->p;
    c->sessions = malloc((p->n_sessions ? p->n_sessions : 1) * sizeof *c->sessions);
    if (!c->sessions)
        return rc_fail(c->err, RC_NOMEM, "out of memory");
    for (size_t i = 0; i < p->n_sessions; i++)
        c->sessions[i] = named_of(p->sessions[i].id, i);
    qsort(c->sessions, p->n_sessions, sizeof *c->sessions, cmp_named);
    if (!c->n_ev)
        return RC_OK;
    struct named *k = malloc((p->n_roster ? p->n_roster : 1) * sizeof *k);
    c->place = malloc(c->n_ev * sizeof *c->place);
    c->rank = malloc(c->n_ev * sizeof *c->rank);
    if (!k || !c->place || !c->rank) {
        free(k);
        return rc_fail(c->err, RC_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < p->n_roster; i++)
        k[i] = named_of(p->roster[i].pseudonym, i);
    qsort(k, p->n_roster, sizeof *k, cmp_named);
    for (size_t i = 0; i < c->n_ev; i++) {
        size_t at = named_find(k, p->n_roster, c->ev[i]->ev.trainee);
        c->place[i] = at < p->n_roster ? (long)k[at].at : -1;
        c->rank[i] = at;
    }
    free(k);
    return RC_OK;
}

/* ---- reviews -------------------------------------------------------------------------------- */

static int cmp_review(const void *x, const void *y)
{
    const struct engine_review *a = x, *b = y;
    int c = strcmp(a->event_id, b->event_id);
    if (!c)
        c = cmp_i64(a->decided_ms, b->decided_ms);
    if (!c)
        c = (int)b->approve - (int)a->approve; /* approvals first: a tie goes to the rejection */
    if (!c)
        c = strcmp(a->reviewer, b->reviewer);
    if (!c)
        c = strcmp(a->reason, b->reason);
    return c;
}

/* Keeps the decision in force per event: the latest, a rejection on a tie. */
static int effective_reviews(struct ctx *c)
{
    const struct engine_input *in = c->in;
    struct engine_report *r = c->r;
    if (in->n_reviews == 0)
        return RC_OK;
    r->reviews = malloc(in->n_reviews * sizeof *r->reviews);
    if (!r->reviews)
        return rc_fail(c->err, RC_NOMEM, "out of memory");
    memcpy(r->reviews, in->reviews, in->n_reviews * sizeof *r->reviews);
    qsort(r->reviews, in->n_reviews, sizeof *r->reviews, cmp_review);
    size_t n = 0;
    for (size_t i = 0; i < in->n_reviews; i++) {
        if (n && strcmp(r->reviews[n - 1].event_id, r->reviews[i].event_id) == 0)
            n--;
        r->reviews[n++] = r->reviews[i];
    }
    r->n_reviews = n;
    return RC_OK;
}

static int cmp_review_key(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct engine_review *)elem)->event_id);
}

static const struct engine_review *review_of(const struct ctx *c, const char *event_id)
{
    if (!c->r->n_reviews)
        return NULL;
    return bsearch(event_id, c->r->reviews, c->r->n_reviews, sizeof *c->r->reviews, cmp_review_key);
}

static bool verdict_counts(const struct engine_policy *pol, enum event_verdict v)
{
    switch (v) {
    case EVENT_INSIDE: return pol->count_inside;
    case EVENT_UNCERTAIN: return pol->count_uncertain;
    case EVENT_OUTSIDE: return pol->count_outside;
    default: return pol->count_no_fix; /* no fix, or not judged by the server */
    }
}

static void attach_review(struct engine_finding *f, const struct engine_review *rv)
{
    if (!rv)
        return;
    f->reviewed = true;
    f->approved = rv->approve;
    snprintf(f->review_reason, sizeof f->review_reason, "%s", rv->reason);
    snprintf(f->reviewer, sizeof f->reviewer, "%s", rv->reviewer);
}

/* ---- intervals ---------------------------------------------------------------------------- */

static int cmp_iv(const void *x, const void *y)
{
    const struct iv *a = x, *b = y;
    int c = cmp_i64(a->a, b->a);
    if (!c)
        c = cmp_i64(a->b, b->b);
    if (!c)
        c = strcmp(a->a_id ? a->a_id : "", b->a_id ? b->a_id : "");
    return c;
}

/* Sorts and merges v in place (touching intervals merge); returns the new count. */
static size_t merge(struct iv *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_iv);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (v[i].a <= v[k].b) {
            if (v[i].b > v[k].b) {
                v[k].b = v[i].b;
                v[k].b_id = v[i].b_id;
            }
        } else {
            v[++k] = v[i];
        }
    }
    return k + 1;
}

/* Measure of merged (sorted, disjoint) intervals within [lo, hi). */
static int64_t measure(const struct iv *v, size_t n, int64_t lo, int64_t hi)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t a = v[i].a > lo ? v[i].a : lo;
        int64_t b = v[i].b < hi ? v[i].b : hi;
        if (b > a)
            sum += b - a;
    }
    return sum;
}

/* ---- sign-ins and presence ------------------------------------------------------------------- */

void engine_ev_from(struct engine_ev *dst, const struct event *src)
{
    memset(dst, 0, sizeof *dst); /* the padding too: two copies of one event compare equal */
    dst->has = src->has & ENGINE_EV_HAS;
    dst->type = src->type;
    dst->verdict = src->verdict;
    dst->seq = src->seq;
    dst->ts_ms = src->ts_ms;
    dst->start_ms = src->start_ms;
    dst->end_ms = src->end_ms;
    dst->skew_ms = src->skew_ms;
    dst->fix = src->fix;
    memcpy(dst->id, src->id, sizeof dst->id);
    memcpy(dst->device, src->device, sizeof dst->device);
    memcpy(dst->trainee, src->trainee, sizeof dst->trainee);
    memcpy(dst->trainee_masked, src->trainee_masked, sizeof dst->trainee_masked);
    memcpy(dst->class_id, src->class_id, sizeof dst->class_id);
    memcpy(dst->session, src->session, sizeof dst->session);
    memcpy(dst->rollcall, src->rollcall, sizeof dst->rollcall);
    memcpy(dst->fence, src->fence, sizeof dst->fence);
    memcpy(dst->camera, src->camera, sizeof dst->camera);
    memcpy(dst->kind, src->kind, sizeof dst->kind);
}

static bool is_sign(const struct engine_ev *e)
{
    return e->type == EVENT_SIGNIN || e->type == EVENT_SIGNOUT;
}

/* The offline session an event belongs to, or -1: the one it names, else by time (a sign-in:
 * the first session whose early window or duration holds it; a sign-out: the latest session
 * started at or before it, else one whose early window holds it). */
static long assign_session(const struct ctx *c, const struct engine_ev *e)
{
    const struct plan *p = c->p;
    if (e->has & EVENT_HAS(EVENT_F_SESSION)) {
        size_t k = named_find(c->sessions, p->n_sessions, e->session);
        if (k < p->n_sessions) {
            size_t i = c->sessions[k].at;
            return p->sessions[i].mode == PLAN_OFFLINE ? (long)i : -1;
        }
    }
    int64_t t = e->ts_ms;
    if (e->type == EVENT_SIGNIN) {
        for (size_t i = 0; i < p->n_sessions; i++) {
            const struct plan_session *s = &p->sessions[i];
            if (s->mode == PLAN_OFFLINE && t >= s->start_ms - c->pol->early_window_ms &&
                t < s->end_ms)
                return (long)i;
        }
        return -1;
    }
    long best = -1;
    for (size_t i = 0; i < p->n_sessions; i++) {
        const struct plan_session *s = &p->sessions[i];
        if (s->mode == PLAN_OFFLINE && s->start_ms <= t)
            best = (long)i;
    }
    if (best >= 0)
        return best;
    for (size_t i = 0; i < p->n_sessions; i++) {
        const struct plan_session *s = &p->sessions[i];
        if (s->mode == PLAN_OFFLINE && t >= s->start_ms - c->pol->early_window_ms)
            return (long)i;
    }
    return -1;
}

/* The catalogue's word for a sign event: word.signin, word.signout. */
static const char *type_word(const struct engine_ev *e)
{
    return e->type == EVENT_SIGNIN ? "@signin" : "@signout";
}

/* Findings about one sign event's location; returns whether it counts (with and without
 * the review in force). */
static int judge_sign(struct ctx *c, const struct engine_event *ee, const char *trainee,
                      const char *session, bool *counted, bool *counted_unreviewed)
{
    const struct engine_review *rv = review_of(c, ee->ev.id);
    bool base = verdict_counts(c->pol, ee->verdict);
    *counted_unreviewed = base;
    *counted = rv ? rv->approve : base;
    enum engine_finding_kind k;
    enum engine_severity sev;
    const char *what;
    switch (ee->verdict) {
    case EVENT_INSIDE: return RC_OK;
    case EVENT_UNCERTAIN:
        k = ENGINE_F_SIGNIN_UNCERTAIN;
        sev = ENGINE_INFO;
        what = "@why_uncertain";
        break;
    case EVENT_OUTSIDE:
        k = ENGINE_F_SIGNIN_OUTSIDE;
        sev = ENGINE_WARNING;
        what = "@why_outside";
        break;
    case EVENT_NO_FIX:
        k = ENGINE_F_SIGNIN_UNLOCATED;
        sev = ENGINE_WARNING;
        what = "@why_no_fix";
        break;
    default:
        k = ENGINE_F_SIGNIN_UNLOCATED;
        sev = ENGINE_WARNING;
        what = "@why_unjudged";
        break;
    }
    struct engine_finding f;
    char t[TS_SHANGHAI_LEN + 1];
    finding_init(&f, k, sev, ENGINE_S_TRAINEE, trainee);
    snprintf(f.trainee, sizeof f.trainee, "%s", trainee);
    snprintf(f.session, sizeof f.session, "%s", session);
    f.at_ms = ee->ev.ts_ms;
    detail(&f, "sign_judged", "event", type_word(&ee->ev), "time", local(ee->ev.ts_ms, t), "device",
           ee->ev.device, "why", what, "counted", *counted ? "@counted" : "@not_counted", NULL);
    evidence(&f, ee->ev.id);
    attach_review(&f, rv);
    return add_finding(c, &f);
}

static int cmp_mark(const void *x, const void *y)
{
    const struct mark *a = x, *b = y;
    int c = cmp_i64((int64_t)a->trainee, (int64_t)b->trainee);
    if (!c)
        c = cmp_i64((int64_t)a->session, (int64_t)b->session);
    if (!c) /* then by (ts, id): ctx.ev's order */
        c = cmp_i64((int64_t)a->at, (int64_t)b->at);
    return c;
}

/* The class's confirmations by trainee and session: [*lo, *hi) of c->confs. */
static void conf_range(const struct ctx *c, const char *trainee, const char *session, size_t *lo,
                       size_t *hi)
{
    size_t a = 0, b = c->n_confs;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        const struct engine_ev *e = &c->confs[mid]->ev;
        int k = strcmp(e->trainee, trainee);
        if (!k)
            k = strcmp(e->session, session);
        if (k < 0)
            a = mid + 1;
        else
            b = mid;
    }
    *lo = a;
    while (b < c->n_confs && strcmp(c->confs[b]->ev.trainee, trainee) == 0 &&
           strcmp(c->confs[b]->ev.session, session) == 0)
        b++;
    *hi = b;
}

/* The roll-calls of session si: [*lo, *hi) of c->rolls. */
static void roll_range(const struct ctx *c, size_t si, size_t *lo, size_t *hi)
{
    size_t a = 0, b = c->n_rolls;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (c->rolls[mid].session < si)
            a = mid + 1;
        else
            b = mid;
    }
    *lo = a;
    while (b < c->n_rolls && c->rolls[b].session == si)
        b++;
    *hi = b;
}

/* Whether confirmation ee counts: its server verdict under the policy, or the review in force
 * (reviewed) approves it. */
static bool conf_counts(const struct ctx *c, const struct engine_event *ee, bool reviewed)
{
    const struct engine_review *rv = reviewed ? review_of(c, ee->ev.id) : NULL;
    return rv ? rv->approve : verdict_counts(c->pol, ee->verdict);
}

/* Whether confirmation e answers roll-call r: same session, id and device, inside its window. */
static bool answers(const struct engine_ev *e, const struct roll *r)
{
    const struct engine_ev *re = &r->e->ev;
    return strcmp(e->session, re->session) == 0 && strcmp(e->rollcall, re->rollcall) == 0 &&
           strcmp(e->device, re->device) == 0 && e->ts_ms >= re->start_ms && e->ts_ms <= re->end_ms;
}

/* Whether the trainee of marks m confirmed roll-call r with a confirmation that counts, inside
 * r's window. */
static bool confirmed(const struct ctx *c, const struct mark *m, const struct roll *r,
                      bool reviewed)
{
    size_t lo, hi;
    conf_range(c, c->p->roster[m->trainee].pseudonym, r->e->ev.session, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        if (answers(&c->confs[i]->ev, r) && conf_counts(c, c->confs[i], reviewed))
            return true;
    }
    return false;
}

/* Whether confirmation e answers one of session si's roll-calls inside its window. */
static bool in_window(const struct ctx *c, size_t si, const struct engine_ev *e)
{
    size_t lo, hi;
    roll_range(c, si, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        if (answers(e, &c->rolls[i]))
            return true;
    }
    return false;
}

/* When presence resumes after a roll-call missed at t: the trainee's next counted sign-in or
 * counted confirmation (inside its roll-call's window) in the session after t, else the
 * session's end. */
static int64_t resume_after(const struct ctx *c, const struct mark *m, size_t n, bool reviewed,
                            int64_t t)
{
    const struct plan_session *s = &c->p->sessions[m[0].session];
    int64_t best = s->end_ms;
    for (size_t i = 0; i < n; i++) {
        bool counts = reviewed ? m[i].counted : m[i].counted_unreviewed;
        if (m[i].in && counts && m[i].e->ev.ts_ms > t && m[i].e->ev.ts_ms < best)
            best = m[i].e->ev.ts_ms;
    }
    size_t lo, hi;
    conf_range(c, c->p->roster[m[0].trainee].pseudonym, s->id, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        const struct engine_ev *e = &c->confs[i]->ev;
        if (e->ts_ms > t && e->ts_ms < best && in_window(c, m[0].session, e) &&
            conf_counts(c, c->confs[i], reviewed))
            best = e->ts_ms;
    }
    return best;
}

/* Roll-calls of the session of marks m: each one opening while the trainee is present (v[0..k),
 * merged) is held for them; one not confirmed is missed (a finding, once) and, under the
 * policy, takes [opening, resume) out of *out. */
static int rollcall_cut(struct ctx *c, const struct mark *m, size_t n, bool reviewed,
                        const struct iv *v, size_t k, int64_t *out)
{
    const struct plan_session *s = &c->p->sessions[m[0].session];
    struct engine_trainee *tr = &c->r->trainees[m[0].trainee];
    bool held = c->r->sessions[m[0].session].held;
    struct iv cut[PLAN_ROLLCALLS_MAX * 4];
    size_t nc = 0;
    size_t lo, hi;
    roll_range(c, m[0].session, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        const struct roll *r = &c->rolls[i];
        int64_t at = r->e->ev.start_ms;
        bool due = false;
        for (size_t j = 0; j < k && !due; j++)
            due = v[j].a <= at && at < v[j].b;
        if (!due)
            continue;
        bool ok = confirmed(c, m, r, reviewed);
        if (reviewed && held) {
            tr->rollcalls_held++;
            if (!ok)
                tr->rollcalls_missed++;
        }
        if (ok)
            continue;
        if (reviewed) {
            struct engine_finding f;
            char t1[TS_SHANGHAI_LEN + 1], t2[TS_SHANGHAI_LEN + 1];
            finding_init(&f, ENGINE_F_ROLLCALL_MISSED, ENGINE_WARNING, ENGINE_S_TRAINEE,
                         tr->trainee);
            snprintf(f.trainee, sizeof f.trainee, "%s", tr->trainee);
            snprintf(f.session, sizeof f.session, "%s", s->id);
            f.at_ms = at;
            detail(&f, "rollcall_missed", "rollcall", r->e->ev.rollcall, "session", s->id, "device",
                   r->e->ev.device, "from", local(at, t1), "to", local(r->e->ev.end_ms, t2), "ends",
                   c->pol->rollcall_missed_ends_presence ? "@rollcall_ends" : "", NULL);
            evidence(&f, r->e->ev.id);
            int rc = add_finding(c, &f);
            if (rc != RC_OK)
                return rc;
        }
        if (c->pol->rollcall_missed_ends_presence && nc < sizeof cut / sizeof cut[0])
            cut[nc++] = (struct iv){at, resume_after(c, m, n, reviewed, at), NULL, NULL};
    }
    if (!nc)
        return RC_OK;
    nc = merge(cut, nc);
    /* Both lists are disjoint: take out what they share. */
    for (size_t i = 0; i < k; i++) {
        for (size_t j = 0; j < nc; j++) {
            int64_t a = v[i].a > cut[j].a ? v[i].a : cut[j].a;
            int64_t b = v[i].b < cut[j].b ? v[i].b : cut[j].b;
            if (a < s->start_ms)
                a = s->start_ms;
            if (b > s->end_ms)
                b = s->end_ms;
            if (b > a)
                *out -= b - a;
        }
    }
    return RC_OK;
}

/* Presence of one trainee in one offline session from its marks m[0..n). */
static int presence(struct ctx *c, const struct mark *m, size_t n, bool reviewed, int64_t *out)
{
    const struct plan_session *s = &c->p->sessions[m[0].session];
    const struct engine_policy *pol = c->pol;
    struct iv *v = malloc((n + 1) * sizeof *v);
    if (!v)
        return rc_fail(c->err, RC_NOMEM, "out of memory");
    size_t k = 0;
    bool open = false;
    int64_t a = 0;
    const struct engine_event *opener = NULL;
    for (size_t i = 0; i < n; i++) {
        bool counts = reviewed ? m[i].counted : m[i].counted_unreviewed;
        int64_t t = m[i].e->ev.ts_ms;
        if (!counts)
            continue;
        if (m[i].in) {
            if (t < s->start_ms - pol->early_window_ms || open)
                continue;
            open = true;
            a = t;
            opener = m[i].e;
        } else if (open) {
            int64_t from = a <= s->start_ms + pol->late_grace_ms ? s->start_ms : a;
            int64_t to = t >= s->end_ms - pol->leave_grace_ms ? s->end_ms : t;
            v[k++] = (struct iv){from, to, NULL, NULL};
            open = false;
        }
    }
    k = merge(v, k);
    *out = measure(v, k, s->start_ms, s->end_ms);
    int rc = rollcall_cut(c, m, n, reviewed, v, k, out);
    free(v);
    if (rc != RC_OK)
        return rc;
    if (open && reviewed) {
        struct engine_finding f;
        char t[TS_SHANGHAI_LEN + 1];
        const struct plan_trainee *tr = &c->p->roster[m[0].trainee];
        finding_init(&f, ENGINE_F_SIGNIN_WITHOUT_SIGNOUT, ENGINE_WARNING, ENGINE_S_TRAINEE,
                     tr->pseudonym);
        snprintf(f.trainee, sizeof f.trainee, "%s", tr->pseudonym);
        snprintf(f.session, sizeof f.session, "%s", s->id);
        f.at_ms = opener->ev.ts_ms;
        detail(&f, "no_signout", "time", local(opener->ev.ts_ms, t), "session", s->id, NULL);
        evidence(&f, opener->ev.id);
        return add_finding(c, &f);
    }
    return RC_OK;
}

static int cmp_roll(const void *x, const void *y)
{
    const struct roll *a = x, *b = y;
    int c = cmp_i64((int64_t)a->session, (int64_t)b->session);
    if (!c)
        c = cmp_i64(a->e->ev.start_ms, b->e->ev.start_ms);
    if (!c)
        c = strcmp(a->e->ev.device, b->e->ev.device);
    if (!c)
        c = strcmp(a->e->ev.rollcall, b->e->ev.rollcall);
    if (!c)
        c = strcmp(a->e->ev.id, b->e->ev.id);
    return c;
}

/* The identity of a roll-call: (session, device, id). */
static int cmp_roll_same(const struct roll *a, const struct roll *b)
{
    int c = cmp_i64((int64_t)a->session, (int64_t)b->session);
    if (!c)
        c = strcmp(a->e->ev.device, b->e->ev.device);
    if (!c)
        c = strcmp(a->e->ev.rollcall, b->e->ev.rollcall);
    return c;
}

/* By identity, then the (ts, id) order of c->ev: the first of each identity is the earliest. */
static int cmp_roll_key(const void *x, const void *y)
{
    const struct roll *a = x, *b = y;
    int c = cmp_roll_same(a, b);
    if (!c)
        c = cmp_i64(a->e->ev.ts_ms, b->e->ev.ts_ms);
    if (!c)
        c = strcmp(a->e->ev.id, b->e->ev.id);
    return c;
}

static int cmp_conf(const void *x, const void *y)
{
    const struct engine_ev *a = &(*(const struct engine_event *const *)x)->ev;
    const struct engine_ev *b = &(*(const struct engine_event *const *)y)->ev;
    int c = strcmp(a->trainee, b->trainee);
    if (!c)
        c = strcmp(a->session, b->session);
    if (!c)
        c = cmp_i64(a->ts_ms, b->ts_ms);
    if (!c)
        c = strcmp(a->id, b->id);
    return c;
}

/* The class's roll-calls: rollcall events naming one of its offline sessions, one per
 * (device, session, roll-call id) (the earliest, by the (ts, id) order of c->ev); and, when
 * there are any, its confirmations (indexed by trainee and session). */
static int collect_rolls(struct ctx *c)
{
    for (size_t i = 0; i < c->n_ev; i++) {
        const struct engine_ev *e = &c->ev[i]->ev;
        if (e->type != EVENT_ROLLCALL || strcmp(e->class_id, c->p->id) != 0)
            continue;
        long si = assign_session(c, e);
        if (si < 0)
            continue;
        if (!c->rolls && !(c->rolls = malloc(c->n_ev * sizeof *c->rolls)))
            return rc_fail(c->err, RC_NOMEM, "out of memory");
        c->rolls[c->n_rolls++] = (struct roll){c->ev[i], (size_t)si};
    }
    /* One per (device, session, id): the earliest (a kiosk that crashed between recording
     * one and counting it records it again). */
    if (c->n_rolls) {
        qsort(c->rolls, c->n_rolls, sizeof *c->rolls, cmp_roll_key);
        size_t k = 1;
        for (size_t i = 1; i < c->n_rolls; i++) {
            if (cmp_roll_same(&c->rolls[k - 1], &c->rolls[i]) != 0)
                c->rolls[k++] = c->rolls[i];
        }
        c->n_rolls = k;
        qsort(c->rolls, c->n_rolls, sizeof *c->rolls, cmp_roll);
    }
    for (size_t i = 0; c->n_rolls && i < c->n_ev; i++) {
        const struct engine_ev *e = &c->ev[i]->ev;
        if (e->type != EVENT_ROLLCALL_CONFIRM || strcmp(e->class_id, c->p->id) != 0)
            continue;
        if (!c->confs && !(c->confs = malloc(c->n_ev * sizeof *c->confs)))
            return rc_fail(c->err, RC_NOMEM, "out of memory");
        c->confs[c->n_confs++] = c->ev[i];
    }
    if (c->n_confs)
        qsort(c->confs, c->n_confs, sizeof *c->confs, cmp_conf);
    return RC_OK;
}

static int offline_presence(struct ctx *c)
{
    const struct plan *p = c->p;
    struct engine_report *r = c->r;
    struct mark *marks = NULL;
    size_t n = 0;
    int rc = RC_OK;
    if (c->n_ev) {
        marks = malloc(c->n_ev * sizeof *marks);
        if (!marks)
            return rc_fail(c->err, RC_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->n_ev; i++) {
        const struct engine_event *ee = c->ev[i];
        const struct engine_ev *e = &ee->ev;
        if (!is_sign(e) || strcmp(e->class_id, p->id) != 0)
            continue;
        long ti = c->place[i];
        char t[TS_SHANGHAI_LEN + 1];
        struct engine_finding f;
        if (ti < 0) {
            finding_init(&f, ENGINE_F_NOT_ON_ROSTER, ENGINE_WARNING, ENGINE_S_TRAINEE, e->trainee);
            snprintf(f.trainee, sizeof f.trainee, "%s", e->trainee);
            f.at_ms = e->ts_ms;
            detail(&f, "not_on_roster", "event", type_word(e), "time", local(e->ts_ms, t), "device",
                   e->device, "trainee", e->trainee_masked, NULL);
            evidence(&f, e->id);
            if ((rc = add_finding(c, &f)) != RC_OK)
                goto out;
            continue;
        }
        long si = assign_session(c, e);
        bool counted, counted_unrev;
        rc = judge_sign(c, ee, e->trainee, si >= 0 ? p->sessions[si].id : "", &counted,
                        &counted_unrev);
        if (rc)
            goto out;
        if (si < 0) {
            finding_init(&f, ENGINE_F_NO_SESSION, ENGINE_INFO, ENGINE_S_TRAINEE, e->trainee);
            snprintf(f.trainee, sizeof f.trainee, "%s", e->trainee);
            f.at_ms = e->ts_ms;
            detail(&f, "no_session", "event", type_word(e), "time", local(e->ts_ms, t), NULL);
            evidence(&f, e->id);
            if ((rc = add_finding(c, &f)) != RC_OK)
                goto out;
            continue;
        }
        marks[n++] = (struct mark){
            ee, i, (size_t)ti, (size_t)si, e->type == EVENT_SIGNIN, counted, counted_unrev};
    }
    if (n)
        qsort(marks, n, sizeof *marks, cmp_mark);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && marks[j].trainee == marks[i].trainee &&
               marks[j].session == marks[i].session)
            j++;
        struct engine_session *s = &r->sessions[marks[i].session];
        struct engine_trainee *tr = &r->trainees[marks[i].trainee];
        int64_t with = 0, without = 0;
        if ((rc = presence(c, marks + i, j - i, true, &with)) != RC_OK ||
            (rc = presence(c, marks + i, j - i, false, &without)) != RC_OK)
            goto out;
        if (s->held) {
            tr->offline_ms += with;
            tr->attended_unreviewed_ms += without;
            s->attended_ms += with;
            if (with > 0)
                s->present++;
        }
        i = j;
    }
out:
    free(marks);
    return rc;
}

/* ---- online presence ------------------------------------------------------------------------ */

struct orec {
    size_t trainee;
    struct iv iv;
};

static int cmp_orec(const void *x, const void *y)
{
    const struct orec *a = x, *b = y;
    int c = cmp_i64((int64_t)a->trainee, (int64_t)b->trainee);
    return c ? c : cmp_iv(&a->iv, &b->iv);
}

static int online_presence(struct ctx *c)
{
    const struct engine_input *in = c->in;
    const struct plan *p = c->p;
    struct engine_report *r = c->r;
    if (in->n_online == 0)
        return RC_OK;
    struct orec *o = malloc(in->n_online * sizeof *o);
    struct iv *v = malloc(in->n_online * sizeof *v);
    int rc = RC_OK;
    if (!o || !v) {
        rc = rc_fail(c->err, RC_NOMEM, "out of memory");
        goto out;
    }
    size_t n = 0;
    for (size_t i = 0; i < in->n_online; i++) {
        const struct plan_online *rec = &in->online[i];
        if (strcmp(rec->class_id, p->id) != 0)
            continue;
        long ti = plan_find_trainee(p, rec->trainee);
        if (ti < 0 || rec->end_ms <= rec->start_ms)
            continue;
        o[n++] = (struct orec){(size_t)ti, {rec->start_ms, rec->end_ms, NULL, NULL}};
    }
    qsort(o, n, sizeof *o, cmp_orec);
    for (size_t i = 0; i < n;) {
        size_t j = i, k = 0;
        while (j < n && o[j].trainee == o[i].trainee)
            v[k++] = o[j++].iv;
        k = merge(v, k);
        struct engine_trainee *tr = &r->trainees[o[i].trainee];
        for (size_t s = 0; s < r->n_sessions; s++) {
            struct engine_session *es = &r->sessions[s];
            if (es->mode != PLAN_ONLINE || !es->held)
                continue;
            int64_t got = measure(v, k, es->start_ms, es->end_ms);
            tr->online_ms += got;
            tr->attended_unreviewed_ms += got;
            es->attended_ms += got;
            if (got > 0)
                es->present++;
        }
        i = j;
    }
out:
    free(o);
    free(v);
    return rc;
}

/* ---- recordings -------------------------------------------------------------------------- */

static int cmp_rec_id(const void *x, const void *y)
{
    const struct engine_recording *a = *(const struct engine_recording *const *)x;
    const struct engine_recording *b = *(const struct engine_recording *const *)y;
    int c = strcmp(a->id, b->id);
    if (!c)
        c = cmp_i64(a->start_ms, b->start_ms);
    if (!c)
        c = cmp_i64(a->end_ms, b->end_ms);
    if (!c)
        c = strcmp(a->camera, b->camera);
    return c;
}

static int gap_finding(struct ctx *c, const struct engine_session *s, int64_t a, int64_t b,
                       const char *before, const char *after)
{
    struct engine_finding f;
    char t1[TS_SHANGHAI_LEN + 1], t2[TS_SHANGHAI_LEN + 1];
    finding_init(&f, ENGINE_F_RECORDING_GAP, ENGINE_WARNING, ENGINE_S_SESSION, s->id);
    snprintf(f.session, sizeof f.session, "%s", s->id);
    f.at_ms = a;
    char n1[24];
    detail(&f, "recording_gap", "from", local(a, t1), "to", local(b, t2), "seconds",
           num_i(n1, (long long)((b - a) / 1000)), NULL);
    evidence(&f, before);
    evidence(&f, after);
    qsort(f.evidence, f.n_evidence, sizeof f.evidence[0], cmp_str);
    return add_finding(c, &f);
}

/* A recording registered long after it ended still counts for the interval it recorded; the
 * late registration is said, not hidden. Only recordings that cover a held offline session
 * matter to this class. */
static int late_finding(struct ctx *c, const struct engine_recording *rec,
                        const struct engine_session *sessions, size_t n_sessions)
{
    if (!rec->registered_ms || rec->registered_ms - rec->end_ms <= c->pol->recording_late_ms)
        return RC_OK;
    const struct engine_session *hit = NULL;
    for (size_t s = 0; s < n_sessions && !hit; s++) {
        const struct engine_session *es = &sessions[s];
        if (es->mode == PLAN_OFFLINE && es->held && rec->start_ms < es->end_ms &&
            rec->end_ms > es->start_ms)
            hit = es;
    }
    if (!hit)
        return RC_OK;
    struct engine_finding f;
    char t1[TS_SHANGHAI_LEN + 1], t2[TS_SHANGHAI_LEN + 1], t3[TS_SHANGHAI_LEN + 1];
    finding_init(&f, ENGINE_F_LATE_RECORDING, ENGINE_INFO, ENGINE_S_SESSION, hit->id);
    snprintf(f.session, sizeof f.session, "%s", hit->id);
    f.at_ms = rec->registered_ms;
    char n1[24];
    detail(&f, "recording_late", "camera", rec->camera, "from", local(rec->start_ms, t1), "to",
           local(rec->end_ms, t2), "registered", local(rec->registered_ms, t3), "hours",
           num_i(n1, (long long)((rec->registered_ms - rec->end_ms) / (60 * MS_PER_MIN))), NULL);
    evidence(&f, rec->id);
    return add_finding(c, &f);
}

static int recordings(struct ctx *c)
{
    const struct engine_input *in = c->in;
    struct engine_report *r = c->r;
    const struct engine_recording **rp = NULL;
    struct iv *v = NULL;
    int rc = RC_OK;
    size_t n = 0;
    if (in->n_recordings) {
        rp = malloc(in->n_recordings * sizeof *rp);
        v = malloc(in->n_recordings * sizeof *v);
        if (!rp || !v) {
            rc = rc_fail(c->err, RC_NOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < in->n_recordings; i++)
            rp[i] = &in->recordings[i];
        qsort(rp, in->n_recordings, sizeof *rp, cmp_rec_id);
        for (size_t i = 0; i < in->n_recordings; i++) {
            if (n && strcmp(rp[n - 1]->id, rp[i]->id) == 0)
                continue;
            rp[n++] = rp[i];
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rp[i]->class_id, c->p->id) == 0 &&
            (rc = late_finding(c, rp[i], r->sessions, r->n_sessions)) != RC_OK)
            goto out;
    }
    for (size_t s = 0; s < r->n_sessions; s++) {
        struct engine_session *es = &r->sessions[s];
        if (es->mode != PLAN_OFFLINE || !es->held)
            continue;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            const struct engine_recording *rec = rp[i];
            if (strcmp(rec->class_id, c->p->id) != 0)
                continue;
            int64_t a = rec->start_ms > es->start_ms ? rec->start_ms : es->start_ms;
            int64_t b = rec->end_ms < es->end_ms ? rec->end_ms : es->end_ms;
            if (b > a)
                v[k++] = (struct iv){a, b, rec->id, rec->id};
        }
        k = merge(v, k);
        es->recorded_ms = measure(v, k, es->start_ms, es->end_ms);
        r->recorded_ms += es->recorded_ms;
        int64_t from = es->start_ms;
        const char *before = NULL;
        for (size_t i = 0; i <= k; i++) {
            int64_t to = i < k ? v[i].a : es->end_ms;
            const char *after = i < k ? v[i].a_id : NULL;
            if (to - from > c->pol->recording_gap_ms &&
                (rc = gap_finding(c, es, from, to, before, after)) != RC_OK)
                goto out;
            if (i < k) {
                from = v[i].b;
                before = v[i].b_id;
            }
        }
    }
out:
    free(rp);
    free(v);
    return rc;
}

/* ---- devices: silence, clocks, travel, conflicts ---------------------------------------- */

static int cmp_ev_device(const void *x, const void *y)
{
    const struct engine_event *a = *(const struct engine_event *const *)x;
    const struct engine_event *b = *(const struct engine_event *const *)y;
    int c = strcmp(a->ev.device, b->ev.device);
    return c ? c : cmp_ev_time(x, y);
}

enum { BY_DEVICE_FEW = 64 }; /* more devices in a class than this: a plain sort */

/* by = ctx.ev by cmp_ev_device: by device, then (ts, id), which is ctx.ev's own order. A
 * class has few kiosks: each event's device is found among those seen (the last one first),
 * the devices are ranked by name once, and the events sorted by (rank, place in ctx.ev). */
static int by_device(const struct ctx *c, const struct engine_event **by)
{
    size_t n = c->n_ev, nd = 0, last = 0;
    struct named dev[BY_DEVICE_FEW];
    size_t rank[BY_DEVICE_FEW];
    struct keyed *k = malloc(n * sizeof *k);
    if (!k)
        return rc_fail(c->err, RC_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *d = c->ev[i]->ev.device;
        if (nd == 0 || strcmp(dev[last].name, d) != 0) {
            size_t j = 0;
            while (j < nd && strcmp(dev[j].name, d) != 0)
                j++;
            if (j == nd && nd == BY_DEVICE_FEW) {
                free(k);
                memcpy(by, c->ev, n * sizeof *by);
                qsort(by, n, sizeof *by, cmp_ev_device);
                return RC_OK;
            }
            if (j == nd)
                dev[nd++] = named_of(d, j);
            last = j;
        }
        k[i] = (struct keyed){last, i, c->ev[i]};
    }
    qsort(dev, nd, sizeof *dev, cmp_named);
    for (size_t j = 0; j < nd; j++)
        rank[dev[j].at] = j;
    for (size_t i = 0; i < n; i++)
        k[i].hi = rank[k[i].hi];
    sort_keyed(k, n, cmp_keyed, by);
    free(k);
    return RC_OK;
}

/* [*lo, *hi) of device's events in by (sorted by device, ts, id). */
static void device_range(const struct engine_event **by, size_t n, const char *device, size_t *lo,
                         size_t *hi)
{
    size_t l = 0, h = n;
    while (l < h) {
        size_t mid = l + (h - l) / 2;
        if (strcmp(by[mid]->ev.device, device) < 0)
            l = mid + 1;
        else
            h = mid;
    }
    *lo = l;
    h = n;
    while (l < h) {
        size_t mid = l + (h - l) / 2;
        if (strcmp(by[mid]->ev.device, device) <= 0)
            l = mid + 1;
        else
            h = mid;
    }
    *hi = l;
}

/* The first index in [lo, hi) of one device's events (sorted by ts) with ts >= from. */
static size_t ts_lower(const struct engine_event **by, size_t lo, size_t hi, int64_t from)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (by[mid]->ev.ts_ms < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int kiosk_silence(struct ctx *c, const struct engine_event **by, size_t n)
{
    const struct engine_input *in = c->in;
    struct engine_report *r = c->r;
    for (size_t s = 0; s < r->n_sessions; s++) {
        const struct engine_session *es = &r->sessions[s];
        if (es->mode != PLAN_OFFLINE || !es->held)
            continue;
        for (size_t d = 0; d < in->n_devices; d++) {
            const struct engine_device *dev = &in->devices[d];
            if (strcmp(dev->fence, es->fence) != 0)
                continue;
            bool dup = false; /* a device listed twice is judged once */
            for (size_t e = 0; e < d; e++)
                dup = dup || (strcmp(in->devices[e].id, dev->id) == 0 &&
                              strcmp(in->devices[e].fence, dev->fence) == 0);
            if (dup)
                continue;
            size_t lo, hi;
            device_range(by, n, dev->id, &lo, &hi);
            int64_t from = es->start_ms, worst = 0, worst_a = 0, worst_b = 0;
            /* the session's events only; prev: the last one before it */
            size_t first = ts_lower(by, lo, hi, es->start_ms);
            const char *prev = first > lo ? by[first - 1]->ev.id : NULL, *wa = NULL, *wb = NULL;
            size_t gaps = 0;
            for (size_t i = first; i <= hi; i++) {
                bool end = i == hi || by[i]->ev.ts_ms > es->end_ms;
                if (!end && by[i]->ev.ts_ms < es->start_ms) {
                    prev = by[i]->ev.id;
                    continue;
                }
                int64_t to = end ? es->end_ms : by[i]->ev.ts_ms;
                const char *next = end ? (i < hi ? by[i]->ev.id : NULL) : by[i]->ev.id;
                if (to - from > c->pol->kiosk_silence_ms) {
                    gaps++;
                    if (to - from > worst) {
                        worst = to - from;
                        worst_a = from;
                        worst_b = to;
                        wa = prev;
                        wb = next;
                    }
                }
                if (end)
                    break;
                from = to;
                prev = by[i]->ev.id;
            }
            if (!gaps)
                continue;
            struct engine_finding f;
            char t1[TS_SHANGHAI_LEN + 1], t2[TS_SHANGHAI_LEN + 1];
            finding_init(&f, ENGINE_F_KIOSK_SILENT, ENGINE_WARNING, ENGINE_S_DEVICE, dev->id);
            snprintf(f.session, sizeof f.session, "%s", es->id);
            f.at_ms = worst_a;
            char n1[24], n2[24];
            detail(&f, "kiosk_silent", "from", local(worst_a, t1), "to", local(worst_b, t2),
                   "seconds", num_i(n1, (long long)(worst / 1000)), "session", es->id, "gaps",
                   num_i(n2, (long long)gaps), "es", gaps == 1 ? "" : "es", NULL);
            evidence(&f, wa);
            evidence(&f, wb);
            qsort(f.evidence, f.n_evidence, sizeof f.evidence[0], cmp_str);
            int rc = add_finding(c, &f);
            if (rc)
                return rc;
        }
    }
    return RC_OK;
}

/* Devices whose clocks matter to this class: the venues' kiosks and those used to sign in. */
static bool device_relevant(const struct ctx *c, const char *device)
{
    const struct engine_input *in = c->in;
    for (size_t d = 0; d < in->n_devices; d++) {
        if (strcmp(in->devices[d].id, device) != 0)
            continue;
        for (size_t s = 0; s < c->p->n_sessions; s++) {
            if (c->p->sessions[s].mode == PLAN_OFFLINE &&
                strcmp(c->p->sessions[s].fence, in->devices[d].fence) == 0)
                return true;
        }
    }
    for (size_t i = 0; i < c->n_ev; i++) {
        const struct engine_ev *e = &c->ev[i]->ev;
        if (is_sign(e) && strcmp(e->class_id, c->p->id) == 0 && strcmp(e->device, device) == 0)
            return true;
    }
    return false;
}

enum { CLOCK_SKEW_EVENT, CLOCK_GNSS, CLOCK_AHEAD_OF_SERVER, CLOCK_CHECKS };

static int clocks(struct ctx *c, const struct engine_event **by, size_t n)
{
    static const char *const what[CLOCK_CHECKS] = {"@clock_skew_event", "@clock_gnss",
                                                   "@clock_ahead_of_server"};
    const struct plan *p = c->p;
    int64_t lo_t = p->sessions[0].start_ms - MS_PER_DAY;
    int64_t hi_t = p->sessions[p->n_sessions - 1].end_ms + MS_PER_DAY;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(by[j]->ev.device, by[i]->ev.device) == 0)
            j++;
        if (!device_relevant(c, by[i]->ev.device)) {
            i = j;
            continue;
        }
        struct engine_finding f[CLOCK_CHECKS];
        size_t count[CLOCK_CHECKS] = {0};
        int64_t worst[CLOCK_CHECKS] = {0};
        for (int k = 0; k < CLOCK_CHECKS; k++) {
            finding_init(&f[k], ENGINE_F_CLOCK, ENGINE_WARNING, ENGINE_S_DEVICE, by[i]->ev.device);
        }
        for (size_t x = i; x < j; x++) {
            const struct engine_event *ee = by[x];
            const struct engine_ev *e = &ee->ev;
            if (e->ts_ms < lo_t || e->ts_ms > hi_t)
                continue;
            int64_t off[CLOCK_CHECKS] = {0};
            if (e->type == EVENT_CLOCK && (e->has & EVENT_HAS(EVENT_F_SKEW_MS)))
                off[CLOCK_SKEW_EVENT] = e->skew_ms;
            if ((e->has & EVENT_HAS(EVENT_F_FIX)) && e->fix.has_time)
                off[CLOCK_GNSS] = e->fix.time_ms - e->ts_ms;
            if (ee->received_ms > 0 && e->ts_ms - ee->received_ms > 0)
                off[CLOCK_AHEAD_OF_SERVER] = e->ts_ms - ee->received_ms;
            for (int k = 0; k < CLOCK_CHECKS; k++) {
                int64_t a = off[k] < 0 ? -off[k] : off[k];
                if (a <= c->pol->clock_skew_ms)
                    continue;
                if (count[k]++ == 0)
                    f[k].at_ms = e->ts_ms;
                if (a > worst[k])
                    worst[k] = a;
                evidence(&f[k], e->id);
            }
        }
        for (int k = 0; k < CLOCK_CHECKS; k++) {
            if (!count[k])
                continue;
            char n1[24], n2[24];
            detail(&f[k], "clock", "what", what[k], "count", num_i(n1, (long long)count[k]), "s",
                   count[k] == 1 ? "" : "s", "ms", num_i(n2, (long long)worst[k]), NULL);
            qsort(f[k].evidence, f[k].n_evidence, sizeof f[k].evidence[0], cmp_str);
            int rc = add_finding(c, &f[k]);
            if (rc)
                return rc;
        }
        i = j;
    }
    return RC_OK;
}

/* The kiosk's GNSS quality findings (agent/gnss.c, docs/GNSS.md) that call its positions into
 * doubt, with the severity each gets on its own. time_skew arrives as a clock event. */
static const struct {
    const char *kind;
    enum event_type type;
    const char *what;
} gnss_kinds[] = {
    {"frozen", EVENT_GNSS, "@gnss_frozen"},
    {"zero_eph", EVENT_GNSS, "@gnss_zero_eph"},
    {"impossible_speed", EVENT_GNSS, "@gnss_impossible_speed"},
    {"time_skew", EVENT_CLOCK, "@gnss_time_skew"},
};
enum { GNSS_KINDS = sizeof gnss_kinds / sizeof gnss_kinds[0], GNSS_KIND_TIME_SKEW = 3 };

static int gnss_kind_of(const struct engine_ev *e)
{
    if (!(e->has & EVENT_HAS(EVENT_F_KIND)))
        return -1;
    for (int k = 0; k < GNSS_KINDS; k++) {
        if (e->type == gnss_kinds[k].type && strcmp(e->kind, gnss_kinds[k].kind) == 0)
            return k;
    }
    return -1;
}

/* One gnss_quality finding per (kiosk, held offline session, kind): the kiosk stands at the
 * session's venue and reported the kind within the window the collector loads for it
 * (early window before the start .. leave grace after the end). Serious when a position
 * finding (not time_skew) is followed, in the same window, by sign events of this class on
 * that kiosk judged on a GNSS fix: those verdicts rest on a position the receiver itself
 * flagged (a replayed, simulated or jumping position looks exactly like this); otherwise a
 * warning. The episode's end is not recorded by the kiosk, so "followed" means at or after the
 * episode's first report. */
static int gnss_quality(struct ctx *c, const struct engine_event **by, size_t n)
{
    const struct engine_input *in = c->in;
    const struct engine_policy *pol = c->pol;
    struct engine_report *r = c->r;
    for (size_t s = 0; s < r->n_sessions; s++) {
        const struct engine_session *es = &r->sessions[s];
        if (es->mode != PLAN_OFFLINE || !es->held)
            continue;
        int64_t from = es->start_ms - pol->early_window_ms, to = es->end_ms + pol->leave_grace_ms;
        for (size_t d = 0; d < in->n_devices; d++) {
            const struct engine_device *dev = &in->devices[d];
            if (strcmp(dev->fence, es->fence) != 0)
                continue;
            bool dup = false; /* a device listed twice is judged once */
            for (size_t e = 0; e < d; e++)
                dup = dup || (strcmp(in->devices[e].id, dev->id) == 0 &&
                              strcmp(in->devices[e].fence, dev->fence) == 0);
            if (dup)
                continue;
            size_t lo, hi;
            device_range(by, n, dev->id, &lo, &hi);
            for (int k = 0; k < GNSS_KINDS; k++) {
                size_t count = 0, signs = 0;
                int64_t first = 0;
                struct engine_finding f;
                finding_init(&f, ENGINE_F_GNSS_QUALITY, ENGINE_WARNING, ENGINE_S_DEVICE, dev->id);
                snprintf(f.session, sizeof f.session, "%s", es->id);
                /* by ts: the window's events only, the reports first */
                for (size_t i = ts_lower(by, lo, hi, from); i < hi && by[i]->ev.ts_ms <= to; i++) {
                    const struct engine_ev *e = &by[i]->ev;
                    if (gnss_kind_of(e) != k)
                        continue;
                    if (count++ == 0)
                        first = e->ts_ms;
                    evidence(&f, e->id);
                }
                if (!count)
                    continue;
                for (size_t i = ts_lower(by, lo, hi, first);
                     k != GNSS_KIND_TIME_SKEW && i < hi && by[i]->ev.ts_ms <= to; i++) {
                    const struct engine_ev *e = &by[i]->ev;
                    if (!(is_sign(e) || e->type == EVENT_ROLLCALL_CONFIRM) ||
                        !(e->has & EVENT_HAS(EVENT_F_CLASS)) || strcmp(e->class_id, c->p->id) ||
                        !(e->has & EVENT_HAS(EVENT_F_FIX)) || e->fix.source != EVENT_SOURCE_GNSS)
                        continue;
                    signs++;
                    evidence(&f, e->id);
                }
                char t1[TS_SHANGHAI_LEN + 1];
                f.at_ms = first;
                if (signs)
                    f.severity = ENGINE_SERIOUS;
                char n1[24], n2[24];
                detail(&f, "gnss_quality", "device", dev->id, "what", gnss_kinds[k].what, "count",
                       num_i(n1, (long long)count), "s", count == 1 ? "" : "s", "session", es->id,
                       "first", local(first, t1), "signs", num_i(n2, (long long)signs), "s2",
                       signs == 1 ? "" : "s", NULL);
                qsort(f.evidence, f.n_evidence, sizeof f.evidence[0], cmp_str);
                int rc = add_finding(c, &f);
                if (rc)
                    return rc;
            }
        }
    }
    return RC_OK;
}

/* A sign event's position: its fix, else its device's venue. */
static bool position(const struct ctx *c, const struct engine_ev *e, double *lat, double *lon,
                     double *eph)
{
    *eph = 0;
    if ((e->has & EVENT_HAS(EVENT_F_FIX)) && e->fix.mode >= 2) {
        *lat = (double)e->fix.lat_e8 / 1e8;
        *lon = (double)e->fix.lon_e8 / 1e8;
        if (e->fix.has_eph)
            *eph = (double)e->fix.eph_cm / 100.0;
        return true;
    }
    const struct engine_input *in = c->in;
    const char *fence = (e->has & EVENT_HAS(EVENT_F_FENCE)) ? e->fence : NULL;
    for (size_t d = 0; !fence && d < in->n_devices; d++) {
        if (strcmp(in->devices[d].id, e->device) == 0)
            fence = in->devices[d].fence;
    }
    for (size_t v = 0; fence && v < in->n_venues; v++) {
        if (strcmp(in->venues[v].fence, fence) == 0) {
            *lat = in->venues[v].lat;
            *lon = in->venues[v].lon;
            return isfinite(*lat) && isfinite(*lon) && fabs(*lat) <= 90 && fabs(*lon) <= 180;
        }
    }
    return false;
}

static int travel(struct ctx *c)
{
    const struct engine_event **s = NULL;
    size_t n = 0;
    int rc = RC_OK;
    if (!c->n_ev)
        return RC_OK;
    s = malloc(c->n_ev * sizeof *s);
    struct keyed *k = malloc(c->n_ev * sizeof *k);
    if (!s || !k) {
        free(s);
        free(k);
        return rc_fail(c->err, RC_NOMEM, "out of memory");
    }
    /* the sign-ins of trainees on the roster by trainee (strcmp's order), then (ts, id) */
    for (size_t i = 0; i < c->n_ev; i++) {
        if (is_sign(&c->ev[i]->ev) && c->place[i] >= 0)
            k[n++] = (struct keyed){c->rank[i], i, c->ev[i]};
    }
    sort_keyed(k, n, cmp_keyed, s);
    free(k);
    for (size_t i = 1; i < n; i++) {
        const struct engine_ev *a = &s[i - 1]->ev, *b = &s[i]->ev;
        if (strcmp(a->trainee, b->trainee) != 0 || strcmp(a->device, b->device) == 0)
            continue;
        double la, lo, ea, lb, lob, eb;
        if (!position(c, a, &la, &lo, &ea) || !position(c, b, &lb, &lob, &eb))
            continue;
        double dist = geodesy_distance(la, lo, lb, lob);
        double dt = (double)(b->ts_ms - a->ts_ms) / 1000.0;
        if (!isfinite(dist) || dist < c->pol->travel_min_m ||
            dist - ea - eb <= c->pol->travel_speed_mps * dt)
            continue;
        struct engine_finding f;
        char t[TS_SHANGHAI_LEN + 1];
        finding_init(&f, ENGINE_F_IMPOSSIBLE_TRAVEL, ENGINE_SERIOUS, ENGINE_S_TRAINEE, a->trainee);
        snprintf(f.trainee, sizeof f.trainee, "%s", a->trainee);
        f.at_ms = a->ts_ms;
        char n1[32], n2[32];
        detail(&f, "impossible_travel", "event_a", type_word(a), "device_a", a->device, "event_b",
               type_word(b), "device_b", b->device, "metres", num_f(n1, 0, dist), "seconds",
               num_f(n2, 1, dt), "time", local(a->ts_ms, t), NULL);
        evidence(&f, a->id);
        evidence(&f, b->id);
        qsort(f.evidence, f.n_evidence, sizeof f.evidence[0], cmp_str);
        if ((rc = add_finding(c, &f)) != RC_OK)
            break;
    }
    free(s);
    return rc;
}

static int cmp_conflict(const void *x, const void *y)
{
    const struct engine_conflict *a = *(const struct engine_conflict *const *)x;
    const struct engine_conflict *b = *(const struct engine_conflict *const *)y;
    int c = strcmp(a->device, b->device);
    if (!c)
        c = cmp_i64(a->seq, b->seq);
    if (!c)
        c = strcmp(a->stored_id, b->stored_id);
    if (!c)
        c = strcmp(a->other_id, b->other_id);
    return c;
}

static int conflicts(struct ctx *c)
{
    const struct engine_input *in = c->in;
    if (!in->n_conflicts)
        return RC_OK;
    const struct engine_conflict **s = malloc(in->n_conflicts * sizeof *s);
    if (!s)
        return rc_fail(c->err, RC_NOMEM, "out of memory");
    for (size_t i = 0; i < in->n_conflicts; i++)
        s[i] = &in->conflicts[i];
    qsort(s, in->n_conflicts, sizeof *s, cmp_conflict);
    int rc = RC_OK;
    for (size_t i = 0; i < in->n_conflicts && rc == RC_OK; i++) {
        if (i && cmp_conflict(&s[i - 1], &s[i]) == 0)
            continue;
        struct engine_finding f;
        finding_init(&f, ENGINE_F_CHAIN_CONFLICT, ENGINE_SERIOUS, ENGINE_S_DEVICE, s[i]->device);
        char n1[24];
        detail(&f, "chain_conflict", "seq", num_i(n1, (long long)s[i]->seq), NULL);
        evidence(&f, s[i]->stored_id);
        evidence(&f, s[i]->other_id);
        qsort(f.evidence, f.n_evidence, sizeof f.evidence[0], cmp_str);
        rc = add_finding(c, &f);
    }
    free(s);
    return rc;
}

/* ---- plan-level checks ---------------------------------------------------------------------- */

/* A venue against the built-in boundaries, by its representative point: outside every
 * district by more than ENGINE_REGION_MARGIN_M is outside Tianjin (serious); else outside the
 * plan's declared district by more than the margin is a warning naming where it lies. A
 * declared code the data does not hold is not judged. */
/* Whether (lat, lon) lies within ENGINE_REGION_MARGIN_M of f's bounding box: if not, f is
 * farther than the margin and need not be measured. The box is widened by more than the
 * margin in degrees (1 degree of latitude > 110 km; of longitude > 110 km x cos(lat)). */
static bool near_box(const struct fence *f, double lat, double lon)
{
    double min_lat, min_lon, max_lat, max_lon;
    fence_bbox(f, &min_lat, &min_lon, &max_lat, &max_lon);
    double dlat = ENGINE_REGION_MARGIN_M / 110000.0;
    double dlon = ENGINE_REGION_MARGIN_M / (110000.0 * fmax(cos(fabs(lat) * M_PI / 180.0), 0.01));
    return lat >= min_lat - dlat && lat <= max_lat + dlat && lon >= min_lon - dlon &&
           lon <= max_lon + dlon;
}

/* A venue against the built-in boundaries, by its representative point: outside every
 * district by more than ENGINE_REGION_MARGIN_M is outside Tianjin (serious); else outside the
 * plan's declared district by more than the margin is a warning naming where it lies. A
 * declared code the data does not hold is not judged. Only districts whose box is near the
 * point are measured (the others are farther than the margin), unless none is: then every one,
 * for the nearest. */
static int venue_regions(struct ctx *c, const struct engine_venue *ve)
{
    const fence_set *set = c->in->regions;
    const struct fence *nearest = NULL, *declared = fence_set_find(set, c->p->district);
    double dmin = INFINITY, ddecl = INFINITY;
    if (!isfinite(ve->lat) || !isfinite(ve->lon) || fabs(ve->lat) > 90 || fabs(ve->lon) > 180)
        return RC_OK;
    if (declared) {
        ddecl = fence_signed_distance(declared, ve->lat, ve->lon);
        if (ddecl <= ENGINE_REGION_MARGIN_M)
            return RC_OK; /* in (or within the margin of) its district, so of Tianjin */
    }
    for (int pass = 0; pass < 2 && !nearest; pass++) {
        for (size_t i = 0; i < fence_set_count(set); i++) {
            const struct fence *f = fence_set_at(set, i);
            if (pass == 0 && !near_box(f, ve->lat, ve->lon))
                continue;
            double d = f == declared ? ddecl : fence_signed_distance(f, ve->lat, ve->lon);
            if (d < dmin) {
                dmin = d;
                nearest = f;
            }
        }
        if (pass == 0 && dmin > ENGINE_REGION_MARGIN_M)
            nearest = NULL, dmin = INFINITY; /* no district near: measure them all */
    }
    struct engine_finding f;
    char n1[32], n2[32], n3[32];
    if (!nearest)
        return RC_OK;
    if (dmin > ENGINE_REGION_MARGIN_M) {
        finding_init(&f, ENGINE_F_VENUE_OUTSIDE_REGION, ENGINE_SERIOUS, ENGINE_S_VENUE, ve->fence);
        detail(&f, "venue_outside_region", "fence", ve->fence, "lat", num_f(n1, 5, ve->lat), "lon",
               num_f(n2, 5, ve->lon), "km", num_f(n3, 1, dmin / 1000.0), "region", c->pol->region,
               "nearest_id", fence_id(nearest), "nearest_name", fence_name(nearest), NULL);
        return add_finding(c, &f);
    }
    if (!declared)
        return RC_OK;
    finding_init(&f, ENGINE_F_VENUE_OUTSIDE_DISTRICT, ENGINE_WARNING, ENGINE_S_VENUE, ve->fence);
    detail(&f, "venue_outside_district", "fence", ve->fence, "lat", num_f(n1, 5, ve->lat), "lon",
           num_f(n2, 5, ve->lon), "km", num_f(n3, 1, ddecl / 1000.0), "declared_id",
           fence_id(declared), "declared_name", fence_name(declared), "nearest_id",
           fence_id(nearest), "nearest_name", fence_name(nearest), NULL);
    return add_finding(c, &f);
}

static int venues(struct ctx *c)
{
    const struct plan *p = c->p;
    const struct engine_policy *pol = c->pol;
    for (size_t s = 0; s < p->n_sessions; s++) {
        const char *fence = p->sessions[s].fence;
        if (p->sessions[s].mode != PLAN_OFFLINE)
            continue;
        bool seen = false;
        for (size_t q = 0; q < s; q++)
            seen = seen || strcmp(p->sessions[q].fence, fence) == 0;
        if (seen)
            continue;
        for (size_t v = 0; v < c->in->n_venues; v++) {
            const struct engine_venue *ve = &c->in->venues[v];
            if (strcmp(ve->fence, fence) != 0)
                continue;
            if (c->in->regions) {
                int rc = venue_regions(c, ve);
                if (rc)
                    return rc;
                break;
            }
            if (in_range(ve->min_lat, pol->region_min_lat, pol->region_max_lat) &&
                in_range(ve->max_lat, pol->region_min_lat, pol->region_max_lat) &&
                in_range(ve->min_lon, pol->region_min_lon, pol->region_max_lon) &&
                in_range(ve->max_lon, pol->region_min_lon, pol->region_max_lon))
                break;
            struct engine_finding f;
            finding_init(&f, ENGINE_F_VENUE_OUTSIDE_REGION, ENGINE_SERIOUS, ENGINE_S_VENUE, fence);
            char n1[32], n2[32], n3[32], n4[32];
            detail(&f, "venue_not_in_region", "fence", fence, "lat_min", num_f(n1, 5, ve->min_lat),
                   "lat_max", num_f(n2, 5, ve->max_lat), "lon_min", num_f(n3, 5, ve->min_lon),
                   "lon_max", num_f(n4, 5, ve->max_lon), "region", pol->region, NULL);
            int rc = add_finding(c, &f);
            if (rc)
                return rc;
            break;
        }
    }
    return RC_OK;
}

/* Local midnight of the Asia/Shanghai date of ms. */
static int64_t local_midnight(int64_t ms)
{
    int64_t local_ms = ms + TS_SHANGHAI_OFFSET_MS;
    int64_t day = local_ms / MS_PER_DAY - (local_ms % MS_PER_DAY < 0);
    return day * MS_PER_DAY - TS_SHANGHAI_OFFSET_MS;
}

static int deadlines(struct ctx *c)
{
    const struct plan *p = c->p;
    struct engine_report *r = c->r;
    char d1[TS_DATE_LEN + 1], d2[TS_DATE_LEN + 1];
    int rc = RC_OK;
    int64_t start_day = local_midnight(p->sessions[0].start_ms);
    /* The procedure's submit step is the application (docs/SUBSIDY.md); a plan imported
     * without one keeps the applied_on it declares. */
    int64_t applied = c->in->application_ms > 0 ? c->in->application_ms : p->applied_on_ms;
    int64_t lead = (start_day - local_midnight(applied)) / MS_PER_DAY;
    if (lead < c->pol->application_lead_days) {
        struct engine_finding f;
        finding_init(&f, ENGINE_F_LATE_APPLICATION, ENGINE_WARNING, ENGINE_S_CLASS, p->id);
        f.at_ms = applied;
        if (ts_format_date(applied, d1) != RC_OK ||
            ts_format_date(p->sessions[0].start_ms, d2) != RC_OK)
            snprintf(d1, sizeof d1, "?");
        char n1[24], n2[24];
        detail(&f, "late_application", "applied", d1, "days", num_i(n1, (long long)lead), "start",
               d2, "min", num_i(n2, (long long)c->pol->application_lead_days), NULL);
        if ((rc = add_finding(c, &f)) != RC_OK)
            return rc;
    }
    if (c->in->subsidy_applied_ms > 0 && r->assessed > 0) {
        int64_t last = 0;
        for (size_t i = 0; i < r->n_trainees; i++) {
            if (r->trainees[i].assessed && r->trainees[i].assessed_on_ms > last)
                last = r->trainees[i].assessed_on_ms;
        }
        int64_t days =
            (local_midnight(c->in->subsidy_applied_ms) - local_midnight(last)) / MS_PER_DAY;
        if (days > c->pol->subsidy_deadline_days) {
            struct engine_finding f;
            finding_init(&f, ENGINE_F_LATE_SUBSIDY, ENGINE_WARNING, ENGINE_S_CLASS, p->id);
            f.at_ms = c->in->subsidy_applied_ms;
            if (ts_format_date(c->in->subsidy_applied_ms, d1) != RC_OK ||
                ts_format_date(last, d2) != RC_OK)
                snprintf(d1, sizeof d1, "?");
            char n1[24], n2[24];
            detail(&f, "late_subsidy", "applied", d1, "days", num_i(n1, (long long)days),
                   "assessed", d2, "max", num_i(n2, (long long)c->pol->subsidy_deadline_days),
                   NULL);
            rc = add_finding(c, &f);
        }
    }
    return rc;
}

static void assessments(struct ctx *c)
{
    const struct engine_input *in = c->in;
    struct engine_report *r = c->r;
    for (size_t i = 0; i < in->n_assessments; i++) {
        const struct plan_assessment *a = &in->assessments[i];
        if (strcmp(a->class_id, c->p->id) != 0)
            continue;
        long ti = plan_find_trainee(c->p, a->trainee);
        if (ti < 0)
            continue;
        struct engine_trainee *t = &r->trainees[ti];
        /* A pass is kept once seen; otherwise the latest date. Order-independent. */
        if (a->passed && (!t->passed || a->assessed_on_ms < t->assessed_on_ms))
            t->assessed_on_ms = a->assessed_on_ms;
        else if (!a->passed && !t->passed && a->assessed_on_ms > t->assessed_on_ms)
            t->assessed_on_ms = a->assessed_on_ms;
        t->assessed = true;
        t->passed = t->passed || a->passed;
    }
    for (size_t i = 0; i < r->n_trainees; i++) {
        r->assessed += r->trainees[i].assessed;
        r->passed += r->trainees[i].passed;
    }
}

static int figures(struct ctx *c)
{
    struct engine_report *r = c->r;
    const struct engine_policy *pol = c->pol;
    int rc = RC_OK;
    for (size_t i = 0; i < r->n_trainees; i++) {
        struct engine_trainee *t = &r->trainees[i];
        t->attended_ms = t->offline_ms + t->online_ms;
        r->roster_attended_ms += t->attended_ms;
        r->roster_online_ms += t->online_ms;
        double share = engine_ratio(t->online_ms, t->attended_ms, NULL);
        if (share > pol->online_share_max) {
            struct engine_finding f;
            finding_init(&f, ENGINE_F_ONLINE_SHARE_TRAINEE, ENGINE_WARNING, ENGINE_S_TRAINEE,
                         t->trainee);
            snprintf(f.trainee, sizeof f.trainee, "%s", t->trainee);
            char n1[32], n2[32], n3[32], n4[32];
            detail(&f, "online_share_trainee", "online", num_f(n1, 4, ts_hours(t->online_ms)),
                   "attended", num_f(n2, 4, ts_hours(t->attended_ms)), "share",
                   num_f(n3, 1, share * 100.0), "max", num_f(n4, 0, pol->online_share_max * 100.0),
                   NULL);
            if ((rc = add_finding(c, &f)) != RC_OK)
                return rc;
        }
    }
    double plan_share = engine_ratio(r->online_planned_ms, r->planned_ms, NULL);
    if (plan_share > pol->online_share_max) {
        struct engine_finding f;
        finding_init(&f, ENGINE_F_ONLINE_SHARE_PLAN, ENGINE_SERIOUS, ENGINE_S_CLASS, r->class_id);
        char n1[32], n2[32], n3[32], n4[32];
        detail(&f, "online_share_plan", "online", num_f(n1, 4, ts_hours(r->online_planned_ms)),
               "planned", num_f(n2, 4, ts_hours(r->planned_ms)), "share",
               num_f(n3, 1, plan_share * 100.0), "max", num_f(n4, 0, pol->online_share_max * 100.0),
               NULL);
        if ((rc = add_finding(c, &f)) != RC_OK)
            return rc;
    }
    bool defined;
    double rate = engine_ratio(r->roster_attended_ms, r->roster_scheduled_ms, &defined);
    if (defined && rate < pol->attendance_warning) {
        struct engine_finding f;
        bool serious = rate < pol->attendance_serious;
        finding_init(&f, ENGINE_F_ATTENDANCE_LOW, serious ? ENGINE_SERIOUS : ENGINE_WARNING,
                     ENGINE_S_CLASS, r->class_id);
        char n1[32], n2[32];
        detail(&f, "attendance_low", "rate", num_f(n1, 2, rate * 100.0), "min",
               num_f(n2, 0, (serious ? pol->attendance_serious : pol->attendance_warning) * 100.0),
               NULL);
        rc = add_finding(c, &f);
    }
    return rc;
}

static int cmp_finding(const void *x, const void *y)
{
    const struct engine_finding *a = x, *b = y;
    int c = (int)b->severity - (int)a->severity;
    if (!c)
        c = (int)a->kind - (int)b->kind;
    if (!c)
        c = strcmp(a->subject, b->subject);
    if (!c)
        c = strcmp(a->session, b->session);
    if (!c)
        c = cmp_i64(a->at_ms, b->at_ms);
    if (!c)
        c = strcmp(a->n_evidence ? a->evidence[0] : "", b->n_evidence ? b->evidence[0] : "");
    if (!c)
        c = strcmp(a->detail, b->detail);
    return c;
}

static int check_input(const struct engine_input *in, char *err)
{
    if (!in || !in->plan || !in->policy)
        return rc_fail(err, RC_INVAL, "engine: plan and policy are required");
    if (in->n_events > ENGINE_INPUT_MAX || in->n_recordings > ENGINE_INPUT_MAX ||
        in->n_online > ENGINE_INPUT_MAX || in->n_assessments > ENGINE_INPUT_MAX ||
        in->n_reviews > ENGINE_INPUT_MAX || in->n_devices > ENGINE_INPUT_MAX ||
        in->n_venues > ENGINE_INPUT_MAX || in->n_conflicts > ENGINE_INPUT_MAX)
        return rc_fail(err, RC_INVAL, "engine: more than %d items in an input list",
                       ENGINE_INPUT_MAX);
    if ((in->n_events && !in->events) || (in->n_recordings && !in->recordings) ||
        (in->n_online && !in->online) || (in->n_assessments && !in->assessments) ||
        (in->n_reviews && !in->reviews) || (in->n_devices && !in->devices) ||
        (in->n_venues && !in->venues) || (in->n_conflicts && !in->conflicts))
        return rc_fail(err, RC_INVAL, "engine: a list has items but no array");
    const struct plan *p = in->plan;
    if (p->n_sessions == 0 || p->n_sessions > PLAN_SESSIONS_MAX || p->n_roster > PLAN_ROSTER_MAX)
        return rc_fail(err, RC_INVAL, "engine: plan %s has no sessions or too many entries", p->id);
    for (size_t i = 0; i < p->n_sessions; i++) {
        const struct plan_session *s = &p->sessions[i];
        if (s->end_ms <= s->start_ms || (i && s->start_ms < p->sessions[i - 1].end_ms))
            return rc_fail(err, RC_INVAL, "engine: plan %s: sessions unsorted or overlapping",
                           p->id);
    }
    return engine_policy_check(in->policy, err);
}

int engine_run(const struct engine_input *in, struct engine_report **out, char *err)
{
    int rc = check_input(in, err);
    if (rc)
        return rc;
    const struct plan *p = in->plan;
    struct ctx c = {.in = in, .p = p, .pol = in->policy, .err = err};
    struct engine_report *r = calloc(1, sizeof *r);
    const struct engine_event **by = NULL;
    if (!r)
        return rc_fail(err, RC_NOMEM, "out of memory");
    c.r = r;
    snprintf(r->class_id, sizeof r->class_id, "%s", p->id);
    snprintf(r->institution, sizeof r->institution, "%s", p->institution);
    snprintf(r->district, sizeof r->district, "%s", p->district);
    snprintf(r->occupation, sizeof r->occupation, "%s", p->occupation);
    r->level = p->level;
    r->policy = *in->policy;
    r->as_of_ms = in->as_of_ms;
    r->n_sessions = p->n_sessions;
    r->n_trainees = p->n_roster;
    r->enrolled = p->n_roster;
    r->sessions = calloc(p->n_sessions, sizeof *r->sessions);
    r->trainees = calloc(p->n_roster ? p->n_roster : 1, sizeof *r->trainees);
    if (!r->sessions || !r->trainees) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p->n_sessions; i++) {
        const struct plan_session *ps = &p->sessions[i];
        struct engine_session *s = &r->sessions[i];
        snprintf(s->id, sizeof s->id, "%s", ps->id);
        snprintf(s->fence, sizeof s->fence, "%s", ps->fence);
        s->mode = ps->mode;
        s->start_ms = ps->start_ms;
        s->end_ms = ps->end_ms;
        s->held = in->as_of_ms == 0 || ps->end_ms <= in->as_of_ms;
        int64_t len = ps->end_ms - ps->start_ms;
        r->planned_ms += len;
        if (ps->mode == PLAN_ONLINE)
            r->online_planned_ms += len;
        if (s->held) {
            r->scheduled_ms += len;
            if (ps->mode == PLAN_OFFLINE)
                r->offline_held_ms += len;
        }
    }
    for (size_t i = 0; i < p->n_roster; i++) {
        struct engine_trainee *t = &r->trainees[i];
        snprintf(t->trainee, sizeof t->trainee, "%s", p->roster[i].pseudonym);
        snprintf(t->masked, sizeof t->masked, "%s", p->roster[i].masked);
        snprintf(t->name, sizeof t->name, "%s", p->roster[i].name);
        t->student = p->roster[i].student;
        t->scheduled_ms = r->scheduled_ms;
    }
    r->roster_scheduled_ms = r->scheduled_ms * (int64_t)p->n_roster;

    if ((rc = dedupe_events(&c)) != RC_OK || (rc = name_indexes(&c)) != RC_OK ||
        (rc = effective_reviews(&c)) != RC_OK || (rc = collect_rolls(&c)) != RC_OK ||
        (rc = offline_presence(&c)) != RC_OK || (rc = online_presence(&c)) != RC_OK ||
        (rc = recordings(&c)) != RC_OK)
        goto out;
    if (c.n_ev) {
        by = malloc(c.n_ev * sizeof *by);
        if (!by) {
            rc = rc_fail(err, RC_NOMEM, "out of memory");
            goto out;
        }
        if ((rc = by_device(&c, by)) != RC_OK)
            goto out;
    }
    assessments(&c);
    if ((rc = kiosk_silence(&c, by, c.n_ev)) != RC_OK || (rc = clocks(&c, by, c.n_ev)) != RC_OK ||
        (rc = gnss_quality(&c, by, c.n_ev)) != RC_OK || (rc = travel(&c)) != RC_OK ||
        (rc = conflicts(&c)) != RC_OK || (rc = venues(&c)) != RC_OK ||
        (rc = deadlines(&c)) != RC_OK || (rc = figures(&c)) != RC_OK)
        goto out;
    if (r->n_findings)
        qsort(r->findings, r->n_findings, sizeof *r->findings, cmp_finding);
    for (size_t i = 0; i < r->n_findings; i++)
        r->by_severity[r->findings[i].severity]++;
out:
    free(by);
    free(c.rolls);
    free(c.confs);
    free(c.ev);
    free(c.place);
    free(c.rank);
    free(c.sessions);
    if (rc) {
        engine_report_free(r);
        return rc;
    }
    *out = r;
    return RC_OK;
}

void engine_report_free(struct engine_report *r)
{
    if (!r)
        return;
    free(r->trainees);
    free(r->sessions);
    free(r->findings);
    free(r->reviews);
    free(r);
}

/* ---- aggregation ---------------------------------------------------------------------------- */

static int cmp_total(const void *x, const void *y)
{
    return strcmp(((const struct engine_total *)x)->key, ((const struct engine_total *)y)->key);
}

int engine_aggregate(const struct engine_report *const *reports, size_t n, enum engine_group by,
                     struct engine_total **out, size_t *n_out, char *err)
{
    struct engine_total *t = calloc(n ? n : 1, sizeof *t);
    size_t k = 0;
    if (!t)
        return rc_fail(err, RC_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct engine_report *r = reports[i];
        for (size_t j = 0; j < i; j++) {
            if (strcmp(reports[j]->class_id, r->class_id) == 0) {
                free(t);
                return rc_fail(err, RC_INVAL, "aggregate: class %s appears twice", r->class_id);
            }
        }
        if (r->policy.minutes_per_hour != reports[0]->policy.minutes_per_hour) {
            free(t);
            return rc_fail(err, RC_INVAL, "aggregate: class %s counts 学时 in other minutes",
                           r->class_id);
        }
        const char *key = by == ENGINE_BY_INSTITUTION ? r->institution : r->district;
        size_t g;
        for (g = 0; g < k; g++) {
            if (strcmp(t[g].key, key) == 0)
                break;
        }
        if (g == k)
            snprintf(t[k++].key, sizeof t[0].key, "%s", key);
        struct engine_total *x = &t[g];
        x->minutes_per_hour = r->policy.minutes_per_hour;
        x->classes++;
        x->roster_scheduled_ms += r->roster_scheduled_ms;
        x->roster_attended_ms += r->roster_attended_ms;
        x->roster_online_ms += r->roster_online_ms;
        x->offline_held_ms += r->offline_held_ms;
        x->recorded_ms += r->recorded_ms;
        x->planned_ms += r->planned_ms;
        x->online_planned_ms += r->online_planned_ms;
        x->enrolled += r->enrolled;
        x->assessed += r->assessed;
        x->passed += r->passed;
        for (int s = 0; s < 3; s++)
            x->by_severity[s] += r->by_severity[s];
    }
    qsort(t, k, sizeof *t, cmp_total);
    *out = t;
    *n_out = k;
    return RC_OK;
}

/* ---- inputs shared with the offline verifier ---- */

int engine_event_cmp_device_seq(const void *x, const void *y)
{
    const struct engine_ev *a = &(*(const struct engine_event *const *)x)->ev;
    const struct engine_ev *b = &(*(const struct engine_event *const *)y)->ev;
    int c = strcmp(a->device, b->device);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* engine_event_cmp_device_seq on keyed events (hi: the device's first bytes), equal keys in
 * their input's order (lo: its place). */
static int cmp_keyed_device_seq(const void *x, const void *y)
{
    const struct keyed *a = x, *b = y;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    int c = engine_event_cmp_device_seq(&a->e, &b->e);
    return c ? c : (a->lo > b->lo) - (a->lo < b->lo);
}

static bool is_recording(const struct engine_ev *e)
{
    return e->type == EVENT_REC_FILE || e->type == EVENT_REC_START || e->type == EVENT_REC_STOP;
}

struct recs {
    struct engine_recording *v;
    size_t n, cap;
};

static int recs_add(struct recs *r, const char *id, const char *camera, const char *class_id,
                    int64_t start, int64_t end, int64_t registered, char *err)
{
    if (end <= start)
        return 0;
    if (r->n == r->cap) {
        size_t want = r->cap ? r->cap * 2 : 64;
        if (want > ENGINE_INPUT_MAX)
            return rc_fail(err, RC_LIMIT, "more than %d recordings", ENGINE_INPUT_MAX);
        struct engine_recording *nv = realloc(r->v, want * sizeof *nv);
        if (!nv)
            return rc_fail(err, RC_NOMEM, "out of memory");
        r->v = nv;
        r->cap = want;
    }
    struct engine_recording *x = &r->v[r->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", id);
    snprintf(x->camera, sizeof x->camera, "%s", camera);
    snprintf(x->class_id, sizeof x->class_id, "%s", class_id);
    x->start_ms = start;
    x->end_ms = end;
    x->registered_ms = registered;
    return 0;
}

int engine_recordings_derive(const struct engine_event *events, size_t n_events,
                             const char *class_id, struct engine_recording **out, size_t *n,
                             char *err)
{
    struct recs r = {0};
    *out = NULL;
    *n = 0;
    /* The recording events by device and seq, stable: the others neither pair nor part a
     * start and its stop, so they are left out of the sort (a class's 10,000 events moved
     * for its 80 recording events cost more than the rest of its input). */
    size_t m = 0;
    for (size_t i = 0; i < n_events; i++)
        m += is_recording(&events[i].ev);
    struct keyed *k = m ? malloc(m * sizeof *k) : NULL;
    if (m && !k)
        return rc_fail(err, RC_NOMEM, "out of memory");
    for (size_t i = 0, j = 0; i < n_events; i++) {
        if (is_recording(&events[i].ev)) {
            k[j] = (struct keyed){key_str(events[i].ev.device), j, &events[i]};
            j++;
        }
    }
    sort_keyed(k, m, cmp_keyed_device_seq, NULL);
    int rc = 0;
    for (size_t i = 0; i < m && rc == 0; i++) {
        const struct engine_ev *e = &k[i].e->ev;
        if (e->type == EVENT_REC_FILE && e->start_ms && e->end_ms) {
            rc = recs_add(&r, e->id, e->camera, class_id, e->start_ms, e->end_ms, e->ts_ms, err);
        } else if (e->type == EVENT_REC_START) {
            for (size_t j = i + 1; j < m; j++) {
                const struct engine_ev *s = &k[j].e->ev;
                if (strcmp(s->device, e->device) != 0)
                    break;
                if (strcmp(s->camera, e->camera) != 0)
                    continue;
                if (s->type == EVENT_REC_START)
                    break; /* restarted without a stop: the first one counts nothing */
                if (s->type == EVENT_REC_STOP) {
                    int64_t from = e->start_ms ? e->start_ms : e->ts_ms;
                    int64_t to = s->end_ms ? s->end_ms : s->ts_ms;
                    rc = recs_add(&r, e->id, e->camera, class_id, from, to, s->ts_ms, err);
                    break;
                }
            }
        }
    }
    free(k);
    if (rc != 0) {
        free(r.v);
        return rc;
    }
    *out = r.v;
    *n = r.n;
    return 0;
}

void engine_venue_of(const struct fence *f, const char *id, struct engine_venue *v)
{
    memset(v, 0, sizeof *v);
    snprintf(v->fence, sizeof v->fence, "%s", id);
    fence_bbox(f, &v->min_lat, &v->min_lon, &v->max_lat, &v->max_lon);
    double r = 0;
    if (fence_circle(f, &v->lat, &v->lon, &r) != RC_OK) {
        v->lat = (v->min_lat + v->max_lat) / 2;
        v->lon = (v->min_lon + v->max_lon) / 2;
    }
}

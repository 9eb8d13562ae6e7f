/* The batch pipeline: parse and link (stateless), verify the signature, re-judge fixes, then
 * one write transaction against the stored chain head. See ingest.h for the invariants. */
#include "ingest/ingest.h"

#include "crypto.h"
#include "engine/fences.h"
#include "fence.h"
#include "i18n.h"
#include "log.h"
#include "timeutil.h"

#include <cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    FENCES_PER_BATCH = 8, /* distinct fences re-judged in one batch before re-reading */
};

const char *ingest_finding_name(enum ingest_finding f)
{
    switch (f) {
    case INGEST_FINDING_CHAIN_CONFLICT: return "chain_conflict";
    case INGEST_FINDING_CHAIN_BREAK: return "chain_break";
    case INGEST_FINDING_BAD_SIGNATURE: return "bad_signature";
    case INGEST_FINDING_BAD_EVENT: return "bad_event";
    case INGEST_FINDING_FOREIGN_EVENTS: return "foreign_events";
    case INGEST_FINDING_NONE: break;
    }
    return "";
}

/* Fills res as a refusal; returns rc so callers can `return refuse(...)`. */
__attribute__((format(printf, 6, 7))) static int refuse(struct ingest_result *res, int rc,
                                                        unsigned status,
                                                        enum ingest_finding finding, int64_t seq,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof res->reason, fmt, ap);
    va_end(ap);
    res->status = status;
    res->finding = finding;
    res->finding_seq = seq;
    return rc;
}

void ingest_parsed_free(struct ingest_parsed *p)
{
    if (!p)
        return;
    free(p->lines);
    p->lines = NULL;
    p->n = 0;
}

int ingest_parse(const uint8_t *body, size_t len, const char *device, struct ingest_parsed *out,
                 struct ingest_result *res)
{
    const char *text = (const char *)body;
    memset(out, 0, sizeof *out);
    memset(res, 0, sizeof *res);
    if (len == 0)
        return refuse(res, RC_INVAL, 400, INGEST_FINDING_NONE, 0, "empty batch");
    if (text[len - 1] != '\n')
        return refuse(res, RC_INVAL, 400, INGEST_FINDING_NONE, 0,
                      "the batch's last line does not end in a newline (truncated?)");
    size_t n = 0;
    for (const char *p = text; p < text + len; p++) {
        if (*p == '\n' && ++n > INGEST_LINES_MAX)
            return refuse(res, RC_LIMIT, 413, INGEST_FINDING_NONE, 0,
                          "batch over %d lines: send fewer events per batch", INGEST_LINES_MAX);
    }
    struct ingest_line *lines = calloc(n, sizeof *lines);
    if (!lines)
        return rc_fail(res->reason, RC_NOMEM, "out of memory");
    int rc = RC_OK;
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        const char *nl = memchr(p, '\n', (size_t)(text + len - p));
        struct ingest_line *l = &lines[i];
        l->bytes = p;
        l->len = (size_t)(nl - p);
        p = nl + 1;
        if (l->len == 0) {
            rc = refuse(res, RC_INVAL, 400, INGEST_FINDING_NONE, 0, "line %zu: empty line", i + 1);
            goto out;
        }
        if (l->len > EVENT_LINE_MAX) {
            rc = refuse(res, RC_LIMIT, 413, INGEST_FINDING_NONE, 0,
                        "line %zu: longer than %d bytes", i + 1, EVENT_LINE_MAX);
            goto out;
        }
        char why[ERR_LEN];
        if (event_parse(l->bytes, l->len, &l->ev, why) != RC_OK) {
            rc =
                refuse(res, RC_INVAL, 400, INGEST_FINDING_BAD_EVENT, 0, "line %zu: %s", i + 1, why);
            goto out;
        }
        event_hash_hex(l->bytes, l->len, l->hash);
        const char *want = device ? device : lines[0].ev.device;
        if (strcmp(l->ev.device, want) != 0) {
            rc =
                refuse(res, RC_INVAL, 403, INGEST_FINDING_FOREIGN_EVENTS, l->ev.seq,
                       "line %zu: an event of device '%s', not of '%s'", i + 1, l->ev.device, want);
            goto out;
        }
        if (i == 0)
            continue;
        const struct ingest_line *b = &lines[i - 1];
        if (l->ev.seq != b->ev.seq + 1) {
            rc = refuse(res, RC_INVAL, 400, INGEST_FINDING_CHAIN_BREAK, l->ev.seq,
                        "line %zu: seq %lld does not follow seq %lld", i + 1, (long long)l->ev.seq,
                        (long long)b->ev.seq);
            goto out;
        }
        if (strcmp(l->ev.prev, b->hash) != 0) {
            rc = refuse(res, RC_INVAL, 400, INGEST_FINDING_CHAIN_BREAK, l->ev.seq,
                        "line %zu: prev of seq %lld is not the hash of seq %lld", i + 1,
                        (long long)l->ev.seq, (long long)b->ev.seq);
            goto out;
        }
    }
    out->lines = lines;
    out->n = n;
    lines = NULL;
out:
    free(lines);
    return rc;
}

/* The server's judgement of one line (signin/signout only). */
struct judged {
    const char *verdict; /* "" when not judged */
    bool has_distance;
    double distance_m;
    int fence_version;
    bool fence_unknown;
};

/* Fences used by one batch, fetched once each. */
struct batch_fences {
    struct fences_ref refs[FENCES_PER_BATCH];
    char ids[FENCES_PER_BATCH][EVENT_NAME_MAX + 1];
    bool missing[FENCES_PER_BATCH];
    size_t n;
};

static void batch_fences_release(struct batch_fences *bf)
{
    for (size_t i = 0; i < bf->n; i++)
        fences_release(&bf->refs[i]);
    bf->n = 0;
}

/* The fence id for this batch, or NULL when the server has none. A store failure is returned
 * as rc (err set). */
static int batch_fence(store *st, struct batch_fences *bf, const char *id,
                       const struct fences_ref **out, char *err)
{
    *out = NULL;
    for (size_t i = 0; i < bf->n; i++) {
        if (strcmp(bf->ids[i], id) == 0) {
            *out = bf->missing[i] ? NULL : &bf->refs[i];
            return RC_OK;
        }
    }
    struct fences_ref ref;
    int rc = fences_get(st, id, &ref, err);
    if (rc != RC_OK && rc != RC_NOTFOUND)
        return rc;
    if (bf->n == FENCES_PER_BATCH) {
        /* Unusual (a kiosk serves one venue): make room by forgetting the first. */
        fences_release(&bf->refs[0]);
        memmove(&bf->refs[0], &bf->refs[1], sizeof bf->refs[0] * (FENCES_PER_BATCH - 1));
        memmove(&bf->ids[0], &bf->ids[1], sizeof bf->ids[0] * (FENCES_PER_BATCH - 1));
        memmove(&bf->missing[0], &bf->missing[1], sizeof bf->missing[0] * (FENCES_PER_BATCH - 1));
        bf->n--;
    }
    size_t k = bf->n++;
    memcpy(bf->ids[k], id, strlen(id) + 1);
    bf->missing[k] = rc == RC_NOTFOUND;
    if (rc == RC_OK)
        bf->refs[k] = ref;
    else
        memset(&bf->refs[k], 0, sizeof bf->refs[k]);
    *out = bf->missing[k] ? NULL : &bf->refs[k];
    return RC_OK;
}

/* Re-judges every signin/signout/rollcall_confirm of the batch with the server's fences. */
static int judge_all(store *st, const struct ingest_parsed *b, double assumed_eph_m,
                     struct judged *j, char *err)
{
    struct batch_fences bf = {0};
    int rc = RC_OK;
    for (size_t i = 0; i < b->n; i++) {
        const struct event *ev = &b->lines[i].ev;
        memset(&j[i], 0, sizeof j[i]);
        j[i].verdict = "";
        if (!event_is_located(ev->type))
            continue;
        if (!(ev->has & EVENT_HAS(EVENT_F_FIX))) {
            j[i].verdict = fence_verdict_name(FENCE_NO_FIX);
            continue;
        }
        const struct fences_ref *ref = NULL;
        rc = batch_fence(st, &bf, ev->fence, &ref, err);
        if (rc != RC_OK)
            goto out;
        if (!ref) {
            j[i].fence_unknown = true;
            continue;
        }
        struct fence_fix fix = {
            .has_fix = true,
            .lat = (double)ev->fix.lat_e8 / 1e8,
            .lon = (double)ev->fix.lon_e8 / 1e8,
            .eph = ev->fix.has_eph ? (double)ev->fix.eph_cm / 100.0 : NAN,
        };
        struct fence_judgement fj;
        char why[ERR_LEN];
        if (fence_judge(ref->fence, &fix, assumed_eph_m, &fj, why) != RC_OK)
            continue; /* cannot happen for a canonical fix; leave it unjudged */
        j[i].verdict = fence_verdict_name(fj.verdict);
        j[i].has_distance = isfinite(fj.distance_m);
        j[i].distance_m = fj.distance_m;
        j[i].fence_version = ref->version;
    }
out:
    batch_fences_release(&bf);
    return rc;
}

/* The row for line l. Strings point into l->ev and j. */
static void event_row(const struct ingest_line *l, const struct judged *j, int64_t now_ms,
                      struct store_event *r)
{
    store_event_from(&l->ev, l->bytes, l->len, l->hash, r);
    r->server_verdict = j->verdict;
    r->has_server_distance = j->has_distance;
    r->server_distance_m = j->distance_m;
    r->server_fence_version = j->fence_version;
    r->received_at_ms = now_ms;
}

/* What the new lines say about the device's health (the last of each kind wins). */
static void device_status(const struct ingest_parsed *b, size_t from, struct store_device_status *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = from; i < b->n; i++) {
        const struct event *ev = &b->lines[i].ev;
        if (ev->type == EVENT_HEARTBEAT && (ev->has & EVENT_HAS(EVENT_F_QUEUE))) {
            s->has_queue = true;
            s->queue = ev->queue;
        }
        if (ev->type == EVENT_CLOCK) {
            s->has_skew = true;
            s->clock_skew_ms = ev->skew_ms;
        }
        if (ev->type == EVENT_GNSS)
            snprintf(s->gnss, sizeof s->gnss, "%s", ev->kind);
        if (ev->has & EVENT_HAS(EVENT_F_FIX)) {
            s->has_fix = true;
            s->fix_mode = ev->fix.mode;
            s->fix_ts_ms = ev->ts_ms;
        }
    }
}

/* A stored finding's detail: the catalogue's template detail.<code> with its arguments (a JSON
 * object of strings, stored with the finding so a reader renders it in its own language) and
 * its English text, rendered from the same template (what the command line, the exports and
 * the logs show). */
struct detail {
    char code[STORE_DETAIL_CODE_MAX + 1];
    char args[STORE_DETAIL_ARGS_MAX + 1];
    char text[STORE_DETAIL_MAX];
};

enum { DETAIL_PAIRS_MAX = 8 };

/* Sets d from the template code and its arguments: pairs of const char *name, const char
 * *value, then NULL. A template or argument missing is a programming error that every test of
 * the finding sees: the text then names the code. Arguments that do not fit store none (the
 * English text stands alone). */
static void detail_set(struct detail *d, const char *code, ...)
{
    const char *pairs[2 * DETAIL_PAIRS_MAX + 1];
    size_t n = 0;
    va_list ap;
    va_start(ap, code);
    for (const char *name; n < 2 * DETAIL_PAIRS_MAX && (name = va_arg(ap, const char *));) {
        pairs[n++] = name;
        pairs[n++] = va_arg(ap, const char *);
    }
    va_end(ap);
    pairs[n] = NULL;
    snprintf(d->code, sizeof d->code, "%s", code);
    if (i18n_render_pairs(code, I18N_EN, pairs, d->text, sizeof d->text) != 0)
        snprintf(d->text, sizeof d->text, "(detail.%s)", code);
    d->args[0] = '\0';
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    for (size_t i = 0; ok && i < n; i += 2)
        ok = cJSON_AddStringToObject(o, pairs[i], pairs[i + 1]) != NULL;
    if (!ok || !cJSON_PrintPreallocated(o, d->args, (int)sizeof d->args, 0)) {
        d->code[0] = '\0';
        d->args[0] = '\0';
    }
    cJSON_Delete(o);
}

/* A value shown as the catalogue's word word.<prefix>_<value> ("@..." for i18n_render) when
 * the catalogue has it (its English is the value itself), else the value as it is. */
static const char *word_or_value(const char *prefix, const char *value, char buf[64])
{
    char code[64];
    int w = snprintf(code, sizeof code, "%s_%s", prefix, value);
    if (w <= 0 || (size_t)w >= sizeof code - 1 || !i18n_text2("word", code, I18N_EN))
        return value;
    buf[0] = '@';
    memcpy(buf + 1, code, (size_t)w + 1);
    return buf;
}

static const char *event_word(const struct event *ev, char buf[64])
{
    return word_or_value("event", event_type_name(ev->type), buf);
}

/* Findings about accepted events, stored with them: an operator's override of a kiosk check, a
 * sign event without a photo, a verdict the server does not share, a fence the server does not
 * know. */
static int event_findings(store *st, const char *institution, const struct ingest_line *l,
                          const struct judged *j, int64_t now_ms, char *err)
{
    const struct event *ev = &l->ev;
    struct detail d;
    char w1[64], w2[64];
    struct store_finding f = {
        .device = ev->device,
        .seq = ev->seq,
        .institution = institution,
        .class_id = ev->has & EVENT_HAS(EVENT_F_CLASS) ? ev->class_id : "",
        .trainee = ev->has & EVENT_HAS(EVENT_F_TRAINEE) ? ev->trainee : "",
        .detail = d.text,
        .detail_code = d.code,
        .detail_args = d.args,
        .created_at_ms = now_ms,
    };
    if (ev->has & EVENT_HAS(EVENT_F_OVERRIDE)) {
        /* An operator let this sign event past the kiosk's roster check (signin
         * --override-roster): recorded, and shown to a reviewer. */
        f.kind = "roster_override";
        f.severity = "medium";
        detail_set(&d, "roster_override", "event", event_word(ev, w1), "trainee",
                   ev->trainee_masked, "class", ev->class_id, "check",
                   word_or_value("override", ev->override_check, w2), NULL);
        int rc = store_finding_insert(st, &f, err);
        if (rc != RC_OK)
            return rc;
    }
    if (ev->has & EVENT_HAS(EVENT_F_NO_PHOTO)) {
        /* The kiosk screen took no photo of this sign event (no camera, the trainee refused,
         * the capture failed): recorded, and shown to the institution. */
        f.kind = "no_photo";
        f.severity = "low";
        detail_set(&d, "no_photo", "event", event_word(ev, w1), "trainee", ev->trainee_masked,
                   "class", ev->class_id, "why", word_or_value("no_photo", ev->no_photo, w2), NULL);
        int rc = store_finding_insert(st, &f, err);
        if (rc != RC_OK)
            return rc;
    }
    if (j->fence_unknown) {
        f.kind = "fence_unknown";
        f.severity = "medium";
        detail_set(&d, "fence_unknown", "event", event_word(ev, w1), "fence", ev->fence, NULL);
        return store_finding_insert(st, &f, err);
    }
    const char *kiosk = event_verdict_name(ev->verdict);
    if (!*j->verdict || !kiosk || strcmp(kiosk, j->verdict) == 0)
        return RC_OK;
    f.kind = "verdict_mismatch";
    f.severity = "medium";
    if (j->has_distance) {
        char metres[32], version[16];
        snprintf(metres, sizeof metres, "%.3f", j->distance_m);
        snprintf(version, sizeof version, "%d", j->fence_version);
        detail_set(&d, "verdict_mismatch_at", "kiosk", word_or_value("verdict", kiosk, w1),
                   "server", word_or_value("verdict", j->verdict, w2), "metres", metres, "fence",
                   ev->fence, "version", version, NULL);
    } else {
        detail_set(&d, "verdict_mismatch", "kiosk", word_or_value("verdict", kiosk, w1), "server",
                   word_or_value("verdict", j->verdict, w2), NULL);
    }
    return store_finding_insert(st, &f, err);
}

static const char *utc(int64_t ms, char out[TS_UTC_LEN + 1])
{
    if (ts_format_utc(ms, out) != RC_OK)
        snprintf(out, TS_UTC_LEN + 1, "?");
    return out;
}

/* What the clock-jump check needs of the device's event before a new one. */
struct clock_point {
    int64_t seq, ts_ms, mono_ms;
    const char *boot;
};

static struct clock_point clock_of(const struct event *ev)
{
    return (struct clock_point){
        .seq = ev->seq, .ts_ms = ev->ts_ms, .mono_ms = ev->mono_ms, .boot = ev->boot};
}

/* Findings about an accepted event's device time: outside the plausible window around the
 * receipt, or (prev, the device's event before it, may be NULL) a jump of the device clock
 * against the boot clock since the previous event of the same boot. */
static int clock_findings(store *st, const char *institution, const struct clock_point *prev,
                          const struct event *ev, int64_t now_ms, char *err)
{
    struct detail d;
    char t1[TS_UTC_LEN + 1], t2[TS_UTC_LEN + 1], w1[64];
    struct store_finding f = {
        .severity = "medium",
        .device = ev->device,
        .seq = ev->seq,
        .institution = institution,
        .class_id = ev->has & EVENT_HAS(EVENT_F_CLASS) ? ev->class_id : "",
        .trainee = ev->has & EVENT_HAS(EVENT_F_TRAINEE) ? ev->trainee : "",
        .detail = d.text,
        .detail_code = d.code,
        .detail_args = d.args,
        .created_at_ms = now_ms,
    };
    int rc;
    if (ev->ts_ms < now_ms - INGEST_CLOCK_PAST_MS || ev->ts_ms > now_ms + INGEST_CLOCK_AHEAD_MS) {
        f.kind = "clock_implausible";
        char past[24], ahead[24];
        snprintf(past, sizeof past, "%lld", (long long)(INGEST_CLOCK_PAST_MS / 86400000));
        snprintf(ahead, sizeof ahead, "%lld", (long long)(INGEST_CLOCK_AHEAD_MS / 86400000));
        detail_set(&d, "clock_implausible", "event", event_word(ev, w1), "time", utc(ev->ts_ms, t1),
                   "received", utc(now_ms, t2), "past", past, "ahead", ahead, NULL);
        if ((rc = store_finding_insert(st, &f, err)) != RC_OK)
            return rc;
    }
    if (!prev || strcmp(prev->boot, ev->boot) != 0)
        return RC_OK; /* a new boot: its clock may have been set, nothing to compare with */
    int64_t jump = (ev->ts_ms - prev->ts_ms) - (ev->mono_ms - prev->mono_ms);
    if (jump >= -INGEST_CLOCK_JUMP_MS && jump <= INGEST_CLOCK_JUMP_MS)
        return RC_OK;
    f.kind = "clock_jump";
    char seconds[24], seq_a[24], seq_b[24];
    snprintf(seconds, sizeof seconds, "%lld", (long long)((jump > 0 ? jump : -jump) / 1000));
    snprintf(seq_a, sizeof seq_a, "%lld", (long long)prev->seq);
    snprintf(seq_b, sizeof seq_b, "%lld", (long long)ev->seq);
    detail_set(&d, "clock_jump", "direction", jump > 0 ? "@jump_forward" : "@jump_back", "seconds",
               seconds, "seq_a", seq_a, "time_a", utc(prev->ts_ms, t1), "seq_b", seq_b, "time_b",
               utc(ev->ts_ms, t2), NULL);
    return store_finding_insert(st, &f, err);
}

/* The finding about the class an accepted event names: no such class here (unknown_class),
 * or a class of another institution than the device's (foreign_class; its figures never read
 * this event). *known caches the last class looked up in the batch. */
static int class_finding(store *st, const char *institution, const struct event *ev,
                         struct store_class *known, int64_t now_ms, char *err)
{
    if (!(ev->has & EVENT_HAS(EVENT_F_CLASS)))
        return RC_OK;
    if (strcmp(known->id, ev->class_id) != 0) {
        int rc = store_class_get(st, ev->class_id, known, err);
        if (rc == RC_NOTFOUND) {
            memset(known, 0, sizeof *known);
            snprintf(known->id, sizeof known->id, "%s", ev->class_id);
        } else if (rc != RC_OK) {
            memset(known, 0, sizeof *known);
            return rc;
        }
    }
    if (known->institution[0] && strcmp(known->institution, institution) == 0)
        return RC_OK;
    struct detail d;
    char w1[64];
    struct store_finding f = {
        .device = ev->device,
        .seq = ev->seq,
        .institution = institution,
        .class_id = ev->class_id,
        .trainee = ev->has & EVENT_HAS(EVENT_F_TRAINEE) ? ev->trainee : "",
        .detail = d.text,
        .detail_code = d.code,
        .detail_args = d.args,
        .created_at_ms = now_ms,
    };
    if (!known->institution[0]) {
        f.kind = "unknown_class";
        f.severity = "medium";
        detail_set(&d, "unknown_class", "event", event_word(ev, w1), "class", ev->class_id, NULL);
    } else {
        f.kind = "foreign_class";
        f.severity = "high";
        detail_set(&d, "foreign_class", "event", event_word(ev, w1), "class", ev->class_id, "owner",
                   known->institution, "institution", institution, NULL);
    }
    return store_finding_insert(st, &f, err);
}

/* The template of a refused batch's reason, into d: a bad signature, a conflict or a break of
 * the chain (apply: the break is at the first new line, duplicates + 1, whose seq follows the
 * stored head's). The reason itself stays the finding's detail; the template is kept only when
 * its English is exactly that reason, so the two cannot drift apart. Other refusals (a line
 * that does not parse, ...) have none. */
static bool refusal_detail(const struct ingest_result *res, struct detail *d)
{
    char seq[24], line[24], stored[24];
    snprintf(seq, sizeof seq, "%lld", (long long)res->finding_seq);
    switch (res->finding) {
    case INGEST_FINDING_BAD_SIGNATURE: detail_set(d, "bad_signature", NULL); break;
    case INGEST_FINDING_CHAIN_CONFLICT: detail_set(d, "batch_conflict", "seq", seq, NULL); break;
    case INGEST_FINDING_CHAIN_BREAK:
        snprintf(line, sizeof line, "%lld", (long long)res->duplicates + 1);
        snprintf(stored, sizeof stored, "%lld", (long long)res->finding_seq - 1);
        detail_set(d, "batch_break", "line", line, "seq", seq, "stored", stored, NULL);
        break;
    default: return false;
    }
    return d->code[0] && strcmp(d->text, res->reason) == 0;
}

/* Inserts a refused batch's finding (none for refusals without one) into the open
 * transaction. */
static int insert_refusal_finding(store *st, const char *device, const char *institution,
                                  const struct ingest_result *res, int64_t now_ms, char *err)
{
    if (res->finding == INGEST_FINDING_NONE)
        return RC_OK;
    struct detail d;
    bool templated = refusal_detail(res, &d);
    static const char *const severity[] = {
        [INGEST_FINDING_CHAIN_CONFLICT] = "high", [INGEST_FINDING_CHAIN_BREAK] = "high",
        [INGEST_FINDING_BAD_SIGNATURE] = "high",  [INGEST_FINDING_BAD_EVENT] = "medium",
        [INGEST_FINDING_FOREIGN_EVENTS] = "high",
    };
    struct store_finding f = {
        .kind = ingest_finding_name(res->finding),
        .severity = severity[res->finding],
        .device = device,
        .seq = res->finding_seq,
        .institution = institution,
        .detail = res->reason,
        .detail_code = templated ? d.code : NULL,
        .detail_args = templated ? d.args : NULL,
        .created_at_ms = now_ms,
    };
    return store_finding_insert(st, &f, err);
}

/* Records a refused batch's finding in a transaction of its own. */
static int record_refusal(store *st, const char *device, const char *institution,
                          const struct ingest_result *res, int64_t now_ms, char *err)
{
    if (res->finding == INGEST_FINDING_NONE)
        return RC_OK;
    int rc = store_begin(st, err);
    if (rc != RC_OK)
        return rc;
    rc = insert_refusal_finding(st, device, institution, res, now_ms, err);
    if (rc == RC_OK)
        rc = store_commit(st, err);
    else
        store_rollback(st);
    return rc;
}

/* Checks the batch against the stored head and stores what is new; inside the open
 * transaction. Returns RC_OK with res filled (accepted, or refused: every refusal is decided
 * before the first write, so a refused batch leaves nothing to undo; run_group relies on
 * it), or a store failure (after which the transaction may hold part of the batch). */
static int apply(store *st, const struct store_enrolment *dev, const struct ingest_parsed *b,
                 const struct judged *j, const char *signature, int64_t now_ms,
                 struct ingest_result *res, char *err)
{
    struct store_head head;
    int rc = store_head_get(st, dev->id, &head, err);
    if (rc != RC_OK)
        return rc;
    int64_t first = b->lines[0].ev.seq;
    int64_t last = b->lines[b->n - 1].ev.seq;
    if (first > head.seq + 1) {
        res->expected_seq = head.seq + 1;
        refuse(res, RC_CONFLICT, 409, INGEST_FINDING_NONE, 0, "gap: expected seq %lld",
               (long long)res->expected_seq);
        return RC_OK;
    }
    /* Lines at stored seqs must be byte for byte what was stored. */
    size_t dups = 0;
    char *stored = malloc(EVENT_LINE_MAX + 1);
    if (!stored)
        return rc_fail(err, RC_NOMEM, "out of memory");
    for (; dups < b->n && b->lines[dups].ev.seq <= head.seq; dups++) {
        const struct ingest_line *l = &b->lines[dups];
        size_t len = 0;
        rc = store_event_raw(st, dev->id, l->ev.seq, stored, EVENT_LINE_MAX + 1, &len, err);
        if (rc == RC_NOTFOUND) {
            /* The head says stored, the events table does not: refuse rather than guess. */
            free(stored);
            return rc_fail(err, RC_CORRUPT, "chain head of '%s' at %lld but event %lld missing",
                           dev->id, (long long)head.seq, (long long)l->ev.seq);
        }
        if (rc != RC_OK) {
            free(stored);
            return rc;
        }
        if (len != l->len || memcmp(stored, l->bytes, len) != 0) {
            free(stored);
            refuse(res, RC_CONFLICT, 400, INGEST_FINDING_CHAIN_CONFLICT, l->ev.seq,
                   "conflict at seq %lld: different bytes than stored", (long long)l->ev.seq);
            return RC_OK;
        }
    }
    free(stored);
    res->duplicates = (int64_t)dups;
    res->ack_seq = head.seq;
    struct store_device_status status;
    device_status(b, dups, &status);
    if (dups < b->n) {
        const struct ingest_line *l = &b->lines[dups];
        if (strcmp(l->ev.prev, head.hash) != 0) {
            refuse(res, RC_CONFLICT, 400, INGEST_FINDING_CHAIN_BREAK, l->ev.seq,
                   "line %zu: prev of seq %lld is not the hash of the stored seq %lld", dups + 1,
                   (long long)l->ev.seq, (long long)head.seq);
            return RC_OK;
        }
        /* The event before the first new line, for the clock jump check: the last duplicate
         * when the batch overlaps (parsed, and equal to the stored bytes), else the head's
         * event, whose clock columns came with the head. */
        struct clock_point head_clock = {
            .seq = head.seq, .ts_ms = head.ts_ms, .mono_ms = head.mono_ms, .boot = head.boot};
        const struct clock_point *before = NULL;
        if (dups == 0 && head.seq > 0) {
            if (!head.has_event)
                return rc_fail(err, RC_CORRUPT, "chain head of '%s' at %lld but event %lld missing",
                               dev->id, (long long)head.seq, (long long)head.seq);
            before = &head_clock;
        }
        /* The new events in one call (one statement per 16 rows on PostgreSQL), then what
         * each of them raises. */
        struct store_event *rows = malloc((b->n - dups) * sizeof *rows);
        if (!rows)
            return rc_fail(err, RC_NOMEM, "out of memory");
        for (size_t i = dups; i < b->n; i++)
            event_row(&b->lines[i], &j[i], now_ms, &rows[i - dups]);
        rc = store_events_insert(st, rows, b->n - dups, err);
        free(rows);
        if (rc != RC_OK)
            return rc;
        struct store_class known;
        memset(&known, 0, sizeof known);
        for (size_t i = dups; i < b->n; i++) {
            struct clock_point prev_line;
            const struct clock_point *prev = before;
            if (i > 0) {
                prev_line = clock_of(&b->lines[i - 1].ev);
                prev = &prev_line;
            }
            if ((rc = event_findings(st, dev->institution, &b->lines[i], &j[i], now_ms, err)) !=
                    RC_OK ||
                (rc = clock_findings(st, dev->institution, prev, &b->lines[i].ev, now_ms, err)) !=
                    RC_OK ||
                (rc = class_finding(st, dev->institution, &b->lines[i].ev, &known, now_ms, err)) !=
                    RC_OK)
                return rc;
        }
        /* The head moved to the last line; the device's proof of the whole batch
         * (duplicates included: the signature covers every line), kept with the events it
         * proves; the device's status: in one call. A batch of duplicates only adds no
         * signature: its events are proven by the signature stored with them. */
        struct store_batch_sig sig = {
            .first_seq = first, .last_seq = last, .received_at_ms = now_ms};
        snprintf(sig.device, sizeof sig.device, "%s", dev->id);
        snprintf(sig.last_hash, sizeof sig.last_hash, "%s", b->lines[b->n - 1].hash);
        snprintf(sig.signature, sizeof sig.signature, "%s", signature);
        if ((rc = store_batch_close(st, &sig, &status, now_ms, err)) != RC_OK)
            return rc;
        res->accepted = (int64_t)(b->n - dups);
        res->ack_seq = last;
    } else if ((rc = store_device_seen(st, dev->id, &status, now_ms, err)) != RC_OK) {
        return rc;
    }
    res->status = 200;
    return RC_OK;
}

/* Everything decided before the write transaction. */
struct prepared {
    struct ingest_parsed b;
    struct store_enrolment dev;
    struct judged *j;
    const char *signature; /* the caller's, verified; stored with the batch */
};

static void prepared_free(struct prepared *p)
{
    free(p->j);
    p->j = NULL;
    ingest_parsed_free(&p->b);
}

/* Parses, verifies the signature and re-judges, with st for reads only. RC_OK with
 * res->status 0 when the batch is ready for apply(); RC_OK with res refused otherwise (its
 * finding not yet recorded); a negative rc when the store failed. */
static int prepare(store *st, const char *device, const uint8_t *body, size_t len,
                   const char *signature, struct ingest_result *res, struct prepared *p, char *err)
{
    crypto_key *key = NULL;
    memset(res, 0, sizeof *res);
    memset(p, 0, sizeof *p);
    if (!signature || !*signature) {
        refuse(res, RC_INVAL, 400, INGEST_FINDING_NONE, 0, "missing Rollcall-Signature header");
        return RC_OK;
    }
    /* The body first (stateless), then who sent it: a malformed body is answered with its
     * reason either way, but findings are only recorded for enrolled devices. */
    int prc = ingest_parse(body, len, device, &p->b, res);
    if (prc == RC_NOMEM)
        return rc_fail(err, prc, "out of memory");
    int rc = store_enrolment_get(st, device, &p->dev, err);
    if (rc == RC_NOTFOUND) {
        if (prc == RC_OK) {
            refuse(res, RC_AUTH, 403, INGEST_FINDING_NONE, 0, "device '%s' is not enrolled",
                   device);
        }
        res->finding = INGEST_FINDING_NONE;
        return RC_OK;
    }
    if (rc != RC_OK || prc != RC_OK)
        return rc;

    /* The signature covers the last line's hash, hence every line before it. */
    rc = crypto_key_from_public_pem(p->dev.public_key_pem, &key, err);
    if (rc != RC_OK) {
        rc = rc_fail(err, RC_CORRUPT, "stored key of '%s' does not load", device);
        goto out;
    }
    uint8_t digest[CRYPTO_SHA256_LEN];
    const struct ingest_line *last = &p->b.lines[p->b.n - 1];
    crypto_sha256(last->bytes, last->len, digest);
    char why[ERR_LEN];
    /* crypto_key_verify bounds the signature (CRYPTO_SIG_B64_MAX, the stored column's size) */
    if (crypto_key_verify(key, digest, signature, why) != RC_OK) {
        refuse(res, RC_CRYPTO, 400, INGEST_FINDING_BAD_SIGNATURE, last->ev.seq, "bad signature");
        goto out;
    }
    p->signature = signature;
    p->j = calloc(p->b.n, sizeof *p->j);
    if (!p->j) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    rc = judge_all(st, &p->b, p->dev.assumed_eph_m, p->j, err);
out:
    crypto_key_destroy(key);
    return rc;
}

int ingest_batch(store *st, const char *device, const uint8_t *body, size_t len,
                 const char *signature, int64_t now_ms, struct ingest_result *res, char *err)
{
    struct prepared p;
    int rc = prepare(st, device, body, len, signature, res, &p, err);
    if (rc != RC_OK)
        goto out;
    if (res->status)
        goto refused;
    rc = store_begin(st, err);
    if (rc != RC_OK)
        goto out;
    rc = apply(st, &p.dev, &p.b, p.j, p.signature, now_ms, res, err);
    if (rc != RC_OK) {
        store_rollback(st);
        goto out;
    }
    if (res->status != 200) {
        store_rollback(st);
        goto refused;
    }
    rc = store_commit(st, err);
    goto out;
refused:
    rc = record_refusal(st, device, p.dev.institution, res, now_ms, err);
out:
    prepared_free(&p);
    return rc;
}

/* Group commit. One writer thread with its own connection applies the batches handed to it
 * by the request threads, as many as are waiting (up to INGEST_GROUP_MAX), in one transaction
 * (a refused batch writes nothing but its finding; after a store failure in one batch the
 * group is applied again with each batch inside a savepoint), one COMMIT for all, then every
 * waiting request is answered. With synchronous=FULL
 * a commit costs an fsync, so this turns N fsyncs into one without answering before the
 * data is durable. */
struct job {
    const struct prepared *p;
    const char *device;
    int64_t now_ms;
    struct ingest_result *res;
    int rc;
    char err[ERR_LEN];
    bool done;
    /* w->stored and w->answered when the writer took the job's group (under w->lock): a
     * batch refused for a gap tries again at once if either moved since, for the batch it
     * waits for may have been stored (or answered) by then, even in the same group. */
    uint64_t stored0, answered0;
    struct job *next;
};

/* One writer thread and its connection. SQLite has one (its writers are serialised anyway);
 * PostgreSQL has INGEST_PG_WRITERS taking groups from the same queue at once: a batch locks
 * its device's row when it reads the chain head (store_pg.c), so two groups holding batches
 * of one device take turns, and groups of different devices commit in parallel. */
struct writer_thread {
    struct ingest_writer *w;
    store *st;
    pthread_t thread;
    bool started;
};

struct ingest_writer {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job was queued, or stop */
    pthread_cond_t done; /* a group finished */
    struct job *head, *tail;
    bool stop;
    uint64_t stored;   /* batches accepted so far: a gap waiter re-tries when this moves */
    struct busy *busy; /* batches being handled (parsed, queued or waiting), any device */
    uint64_t answered; /* batches that left ingest_batch_grouped so far */
    size_t n;
    struct writer_thread t[INGEST_PG_WRITERS];
};

/* A batch in ingest_batch_grouped, from before it is parsed until it is answered: a batch
 * refused for a gap waits only while another batch of its device that may come before it
 * is here (being parsed, or with a lower first seq), so it never waits for one that has not
 * reached a request thread (which could be the thread it blocks). */
struct busy {
    const char *device;
    int64_t first; /* 0 until parsed */
    struct busy *next;
};

/* Applies the group's jobs inside its transaction without savepoints: apply refuses a batch
 * only before its first write, so a refusal leaves nothing to undo and its finding goes in
 * at once. Returns RC_OK, or the first store failure, after which the transaction holds part
 * of a job: the caller rolls it back and runs the group again job by job (run_job). */
static int run_group(store *st, struct job *group)
{
    for (struct job *jb = group; jb; jb = jb->next) {
        const struct prepared *p = jb->p;
        int rc = apply(st, &p->dev, &p->b, p->j, p->signature, jb->now_ms, jb->res, jb->err);
        if (rc == RC_OK && jb->res->status != 200)
            rc = insert_refusal_finding(st, jb->device, p->dev.institution, jb->res, jb->now_ms,
                                        jb->err);
        if (rc != RC_OK)
            return rc;
        jb->rc = RC_OK;
    }
    return RC_OK;
}

/* Applies one job inside the group's transaction, inside a savepoint of its own: a store
 * failure undoes this job only. */
static void run_job(store *st, struct job *jb)
{
    const struct prepared *p = jb->p;
    int rc = store_savepoint(st, "batch", jb->err);
    if (rc == RC_OK) {
        rc = apply(st, &p->dev, &p->b, p->j, p->signature, jb->now_ms, jb->res, jb->err);
        if (rc != RC_OK || jb->res->status != 200) {
            int rc2 = store_rollback_to(st, "batch", jb->err);
            if (rc == RC_OK && rc2 == RC_OK)
                rc = insert_refusal_finding(st, jb->device, p->dev.institution, jb->res, jb->now_ms,
                                            jb->err);
            else if (rc == RC_OK)
                rc = rc2;
        }
        int rc3 = store_release(st, "batch", rc == RC_OK ? jb->err : NULL);
        if (rc == RC_OK)
            rc = rc3;
    }
    jb->rc = rc;
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* Moves the WAL into the database when it has grown (store_checkpoint); a failure is
 * logged, not fatal: the WAL keeps the data and the next group tries again. */
static void checkpoint(store *st)
{
    char err[ERR_LEN];
    bool done = false;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = store_checkpoint(st, &done, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != RC_OK)
        log_msg(LOG_LVL_WARN, "ingest: %s", err);
    else if (done)
        log_msg(LOG_LVL_DEBUG, "ingest checkpoint: %.1f ms", ms_between(&t0, &t1));
}

/* The group's jobs with each device's batches in seq order (a stable insertion sort; groups
 * are small): a kiosk's window of batches can reach the queue out of order, and a batch
 * applied before its predecessor in the same group would be refused for a gap. */
static struct job *seq_order(struct job *group)
{
    struct job *sorted = NULL;
    while (group) {
        struct job *jb = group;
        group = group->next;
        const int64_t first = jb->p->b.lines[0].ev.seq;
        struct job **pp = &sorted;
        /* Before the first job of the same device with a higher first seq; else at the end. */
        for (; *pp; pp = &(*pp)->next) {
            if (strcmp((*pp)->device, jb->device) == 0 && (*pp)->p->b.lines[0].ev.seq > first)
                break;
        }
        jb->next = *pp;
        *pp = jb;
    }
    return sorted;
}

static void *writer_main(void *arg)
{
    struct writer_thread *self = arg;
    struct ingest_writer *w = self->w;
    store *st = self->st;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->work, &w->lock);
        if (!w->head)
            break; /* stop, and nothing left */
        struct job *group = w->head;
        struct job *last = group;
        for (int n = 1; n < INGEST_GROUP_MAX && last->next; n++)
            last = last->next;
        w->head = last->next;
        if (!w->head)
            w->tail = NULL;
        last->next = NULL;
        for (struct job *jb = group; jb; jb = jb->next) {
            jb->stored0 = w->stored;
            jb->answered0 = w->answered;
        }
        group = seq_order(group);
        pthread_mutex_unlock(&w->lock);

        char err[ERR_LEN];
        struct timespec t0, t1, t2;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = store_begin(st, err);
        size_t n = 0;
        for (struct job *jb = group; jb; jb = jb->next)
            n++;
        if (rc == RC_OK && run_group(st, group) != RC_OK) {
            /* A store failure in one job (rare): the group again from the start, each job in
             * a savepoint, so that the others are stored without the one that fails. Two
             * statements a batch fewer on PostgreSQL in the usual case. */
            store_rollback(st);
            rc = store_begin(st, err);
            for (struct job *jb = group; rc == RC_OK && jb; jb = jb->next) {
                memset(jb->res, 0, sizeof *jb->res);
                run_job(st, jb);
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc == RC_OK)
            rc = store_commit(st, err);
        else
            store_rollback(st);
        clock_gettime(CLOCK_MONOTONIC, &t2);
        log_msg(LOG_LVL_DEBUG, "ingest group: %zu batches applied in %.1f ms, commit %.1f ms%s%s",
                n, ms_between(&t0, &t1), ms_between(&t1, &t2), rc == RC_OK ? "" : ": ",
                rc == RC_OK ? "" : err);

        pthread_mutex_lock(&w->lock);
        for (struct job *jb = group, *nx; jb; jb = nx) {
            nx = jb->next;
            if (rc != RC_OK) {
                /* Nothing of the group is stored: nobody may be told otherwise. */
                jb->rc = rc;
                snprintf(jb->err, sizeof jb->err, "%s", err);
            } else if (jb->res->status == 200)
                w->stored++;
            jb->done = true;
        }
        pthread_cond_broadcast(&w->done);
        /* Now that nobody waits for this group: the checkpoint the commit did not do. */
        pthread_mutex_unlock(&w->lock);
        checkpoint(st);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

void ingest_writer_stop(ingest_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < w->n; i++) {
        if (w->t[i].started)
            pthread_join(w->t[i].thread, NULL);
        store_close(w->t[i].st);
    }
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

int ingest_writer_start(const char *db_url, ingest_writer **out, char *err)
{
    *out = NULL;
    struct ingest_writer *w = calloc(1, sizeof *w);
    if (!w)
        return rc_fail(err, RC_NOMEM, "out of memory");
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    int rc = RC_OK;
    size_t want = 1;
    for (size_t i = 0; i < want; i++) {
        rc = store_open(db_url, STORE_OPEN_MANUAL_CHECKPOINT, &w->t[i].st, err);
        if (rc != RC_OK)
            goto fail;
        w->t[i].w = w;
        w->n = i + 1;
        if (i == 0 && strcmp(store_backend(w->t[0].st), "postgresql") == 0)
            want = INGEST_PG_WRITERS;
    }
    for (size_t i = 0; i < w->n; i++) {
        if (pthread_create(&w->t[i].thread, NULL, writer_main, &w->t[i]) != 0) {
            rc = rc_fail(err, RC_NOMEM, "cannot start the ingest writer thread");
            goto fail;
        }
        w->t[i].started = true;
    }
    *out = w;
    return RC_OK;
fail:
    ingest_writer_stop(w);
    return rc;
}

void ingest_writer_queue(ingest_writer *w, int64_t now_ms, size_t *depth, int64_t *oldest_ms)
{
    *depth = 0;
    *oldest_ms = 0;
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    for (const struct job *jb = w->head; jb; jb = jb->next) {
        if (*depth == 0 && now_ms > jb->now_ms)
            *oldest_ms = now_ms - jb->now_ms;
        ++*depth;
    }
    pthread_mutex_unlock(&w->lock);
}

static void busy_add(struct ingest_writer *w, struct busy *b)
{
    pthread_mutex_lock(&w->lock);
    b->next = w->busy;
    w->busy = b;
    pthread_mutex_unlock(&w->lock);
}

static void busy_remove(struct ingest_writer *w, struct busy *b)
{
    pthread_mutex_lock(&w->lock);
    for (struct busy **pp = &w->busy; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    }
    w->answered++;
    pthread_cond_broadcast(&w->done); /* gap waiters look again */
    pthread_mutex_unlock(&w->lock);
}

/* With w->lock held: is another batch of b's device here that may come before b? */
static bool predecessor_busy(const struct ingest_writer *w, const struct busy *b)
{
    for (const struct busy *o = w->busy; o; o = o->next)
        if (o != b && strcmp(o->device, b->device) == 0 && o->first < b->first)
            return true;
    return false;
}

int ingest_batch_grouped(ingest_writer *w, store *st, const char *device, const uint8_t *body,
                         size_t len, const char *signature, int64_t now_ms,
                         struct ingest_result *res, char *err)
{
    return ingest_batch_grouped_release(w, st, device, body, len, signature, now_ms, res, NULL,
                                        NULL, err);
}

int ingest_batch_grouped_release(ingest_writer *w, store *st, const char *device,
                                 const uint8_t *body, size_t len, const char *signature,
                                 int64_t now_ms, struct ingest_result *res,
                                 void (*done_with_st)(void *ctx), void *ctx, char *err)
{
    struct prepared p;
    struct busy me = {.device = device};
    busy_add(w, &me);
    int rc = prepare(st, device, body, len, signature, res, &p, err);
    if (rc != RC_OK)
        goto out;
    if (res->status) {
        /* Refused before any write: record the finding on this connection. */
        rc = record_refusal(st, device, p.dev.institution, res, now_ms, err);
        goto out;
    }
    if (done_with_st)
        done_with_st(ctx); /* the writer has its own connections */
    struct job jb = {.p = &p, .device = device, .now_ms = now_ms, .res = res};
    const int64_t first = p.b.lines[0].ev.seq;
    pthread_mutex_lock(&w->lock);
    me.first = first;
    pthread_mutex_unlock(&w->lock);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (long)(INGEST_REORDER_WAIT_MS % 1000) * 1000000L;
    deadline.tv_sec += INGEST_REORDER_WAIT_MS / 1000 + deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (w->stop) {
            pthread_mutex_unlock(&w->lock);
            rc = rc_fail(err, RC_STATE, "the collector is stopping");
            goto out;
        }
        if (w->tail)
            w->tail->next = &jb;
        else
            w->head = &jb;
        w->tail = &jb;
        pthread_cond_signal(&w->work);
        while (!jb.done)
            pthread_cond_wait(&w->done, &w->lock);
        /* A gap just ahead of the head is most likely the same kiosk's previous batch, sent
         * at once on another connection (its window of batches in flight) and not yet
         * committed: while such a batch is being handled here, wait until a batch is stored
         * (or it is answered) and try again, within INGEST_REORDER_WAIT_MS, before answering
         * 409. Nothing of a refused try was kept (a gap records no finding), so trying again
         * is harmless. */
        if (jb.rc != RC_OK || res->status != 409 || res->expected_seq < 1 ||
            res->expected_seq >= first || first - res->expected_seq > INGEST_REORDER_SPAN)
            break;
        int wr = 0;
        /* A batch stored or answered since the writer took this try's group may have been
         * the one missing (stored in the same group, or just after): try again at once.
         * Comparing with the counts at this point instead would miss it, and wait for the
         * deadline. */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (now.tv_sec > deadline.tv_sec ||
            (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
            break; /* the deadline passed: the gap is real, answer it */
        if (w->stored == jb.stored0 && w->answered == jb.answered0) {
            if (!predecessor_busy(w, &me))
                break; /* nothing here can fill the gap: answer it */
            while (wr == 0 && !w->stop && w->stored == jb.stored0 && w->answered == jb.answered0)
                wr = pthread_cond_timedwait(&w->done, &w->lock, &deadline);
            if (wr != 0 || w->stop)
                break; /* the deadline passed (the gap is real), or stopping: answer it */
        }
        jb.done = false;
        jb.next = NULL;
        jb.rc = RC_OK;
        jb.err[0] = '\0';
        memset(res, 0, sizeof *res);
    }
    pthread_mutex_unlock(&w->lock);
    rc = jb.rc;
    if (rc != RC_OK)
        snprintf(err, ERR_LEN, "%s", jb.err);
out:
    busy_remove(w, &me);
    prepared_free(&p);
    return rc;
}

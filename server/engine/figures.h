/* The figures of classes as the server serves them: a class's inputs are loaded from the store
 * (plan, the events naming the class, its kiosks' own events during its sessions, recordings,
 * online records, assessments, reviews, fences, chain conflicts) and handed to the engine
 * (engine.h) under the default policy; summaries over many classes use the per-class figures
 * cache (store_figures) where it is fresh and recompute and refill it where it is not.
 *
 * Invariants:
 * - A class's report is a function of the stored data and of as_of = min(now, the end of the
 *   class's last session): once a class is over its report no longer depends on the clock,
 *   so the same stored events give the same bytes whatever order they arrived in.
 * - A class's inputs are read in one snapshot (one read transaction), together with the
 *   class's generation; cached figures are stored only for that generation, and only while
 *   the class has not moved past it, so the cache never serves figures of older inputs.
 * - The cache is derived: a summary computed with the cache equals one computed without it
 *   (figures_summary with use_cache false).
 * - Whoever computes a class's figures and caches them (a summary's reader, the warmer) also
 *   records its serious findings for the alert outbox, each finding key once. */
#ifndef ROLLCALL_SERVER_FIGURES_H
#define ROLLCALL_SERVER_FIGURES_H

#include "engine/engine.h"
#include "engine/plan.h"
#include "engine/subsidy.h"
#include "store/store.h"

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    FIGURES_CLASSES_MAX = 100000,       /* classes in one summary or listing */
    FIGURES_EVENTS_MAX = 2000000,       /* events loaded for one class */
    FIGURES_FINDINGS_MAX = 10000,       /* findings in one listing */
    FIGURES_FINDINGS_DAYS = 90,         /* a findings listing without dates: the last 90 days */
    FIGURES_INGEST_FINDINGS_MAX = 1000, /* stored ingest findings in one class report */
    FIGURES_ALERTS_MAX = 100000,        /* serious findings of one class recorded for alerts */
    FIGURES_THREADS_MAX = 8,            /* threads computing one summary's classes */
    FIGURES_THREAD_MIN_CLASSES = 4,     /* fewer classes to compute: the caller's thread alone */
};

/* Everything class_id's report at now_ms is computed from, read in one snapshot: the engine's
 * input (under the default policy, as_of = min(now, the class's end)), the plan and the class's
 * columns (cls.gen: the generation read). The evidence bundle writes exactly these. *out is
 * new (figures_input_free). Returns as figures_class_report. */
struct figures_input {
    struct engine_input in; /* points into this struct's own arrays */
    struct plan *plan;
    struct store_class cls;
};
int figures_class_input(store *st, const char *class_id, int64_t now_ms, struct figures_input **out,
                        char *err);
/* Frees in and everything it holds; NULL is fine. */
void figures_input_free(struct figures_input *in);

/* Computes class_id's report at now_ms under the default policy. *report is new
 * (engine_report_free); *plan (may be NULL) receives the plan (free()); *gen (may be NULL) the
 * class's generation in the snapshot read. Returns 0, RC_NOTFOUND (no such class), RC_DB,
 * RC_CORRUPT (a stored event that does not parse), RC_LIMIT or RC_NOMEM with err. */
int figures_class_report(store *st, const char *class_id, int64_t now_ms,
                         struct engine_report **report, struct plan **plan, int64_t *gen,
                         char *err);

/* The cacheable figures of a report. */
void figures_from_report(const struct engine_report *r, struct store_figures *out);

/* Blanks the trainees' names in r (for callers who see masked identities only). */
void figures_mask_names(struct engine_report *r);

/* One class of a summary. */
struct figures_row {
    struct store_class cls;
    struct store_figures fig;
    bool from_cache;
};

struct figures_summary {
    char policy[ENGINE_POLICY_NAME_MAX + 1];
    int64_t policy_version;
    /* the policy's thresholds: class rate below warning (yellow) and serious (red), online
     * share above online_share_max */
    double attendance_warning, attendance_serious, online_share_max;
    size_t n;
    struct figures_row *rows; /* by institution, start, id */
    size_t n_institutions, n_districts;
    struct engine_total *institutions, *districts; /* sorted by key */
    size_t computed, cached;                       /* how many rows came from each path */
    unsigned threads; /* how many threads computed the rows not from the cache */
};

/* The figures of every class matching f (at most FIGURES_CLASSES_MAX): cached where fresh,
 * else computed and (use_cache) cached. *out is new (figures_summary_free).
 * With FIGURES_THREAD_MIN_CLASSES or more classes to compute and st in no transaction, the
 * classes are shared among up to figures_summary_threads() threads, the calling one on st and
 * each other on its own connection to st's database (store_open_again), opened and closed by
 * the call; a connection that cannot be opened leaves its share to the others. The result is
 * the same whatever the number of threads. */
int figures_summary(store *st, const struct store_class_filter *f, int64_t now_ms, bool use_cache,
                    struct figures_summary **out, char *err);
/* How many threads a summary may use to compute classes: n, or 0 (the default) for one per
 * online processor; at most FIGURES_THREADS_MAX. Call before any thread starts. */
void figures_set_summary_threads(unsigned n);
/* The number of threads a summary may use now (the setting, or the online processors). */
unsigned figures_summary_threads(void);
/* Frees a summary; NULL is fine. */
void figures_summary_free(struct figures_summary *s);
/* A summary as compact JSON (docs/REPORTS.md "Summary"); *out is caller's (free()). */
int figures_summary_json(const struct figures_summary *s, const struct store_class_filter *f,
                         char **out, char *err);
/* A summary as a readable text table (one line per class, then per institution, district). */
/* Writes s as an XLSX workbook to path: sheets 区, 机构 and 班级 (one row per class), the
 * figures of the overview's tables. 0, RC_IO or RC_NOMEM. */
int figures_summary_xlsx(const struct figures_summary *s, const char *path, char *err);
int figures_summary_text(const struct figures_summary *s, char **out, char *err);

/* One pass of the cache warmer (engine/warm.h): every class whose cached figures are stale
 * (a generation bump, or a session that ended since) is recomputed, cached and its serious
 * findings recorded for the alert outbox (store_engine_alerts_record: each finding key once,
 * whoever computes it, however often; chain conflicts left to ingest, which alerted them when
 * they arrived), at most max of them, and none once stop(ctx) says so. A summary's reader
 * does the same for the classes it computes. */
struct figures_warm_result {
    size_t computed; /* classes recomputed */
    size_t left;     /* stale classes left for the next pass (max reached, or stopped) */
    size_t alerted;  /* new serious findings recorded */
};
int figures_warm(store *st, int64_t now_ms, size_t max, bool (*stop)(void *ctx), void *ctx,
                 struct figures_warm_result *res, char *err);

/* Subsidy eligibility of class_id's trainees for a claim at claim_ms, with the history of the
 * trainees' other certifications at the same institution. *res (free()) and *n; *report and
 * *plan (either may be NULL) as figures_class_report. */
int figures_subsidy(store *st, const char *class_id, int64_t now_ms, int64_t claim_ms,
                    struct subsidy_result **res, size_t *n, struct engine_report **report,
                    struct plan **plan, char *err);
/* Which year the yearly subsidy limits count in (serve and report subsidy --subsidy-year;
 * default SUBSIDY_YEAR_ASSESSMENT), for every figures_subsidy after it. Call before any thread
 * starts. */
void figures_set_subsidy_year(enum subsidy_year y);
/* Subsidy results as JSON: {"class", "claim_date", "catalogue", "trainees": [...],
 * "total_yuan", "living_allowance_yuan"}; names blanked when mask. *out is caller's. */
int figures_subsidy_json(const struct engine_report *r, const struct subsidy_result *res, size_t n,
                         int64_t claim_ms, bool mask, char **out, char *err);

/* Adds "title" to a finding's JSON: the name of its "kind" from the catalogue, in lang (the
 * kind itself when the catalogue has none). false: out of memory. */
bool figures_add_title(cJSON *finding, enum i18n_lang lang);

/* Findings of the classes matching f (or of class_id alone) whose sessions overlap [from, to)
 * (from defaults to since_ms, else FIGURES_FINDINGS_DAYS before now), then the stored ingest
 * findings (chain conflicts, bad signatures ...) of the same institutions since since_ms; at
 * most limit in all. *out is {"findings": [...], "truncated": bool} (cJSON_Delete); a
 * reviewable finding's "id" is the event id POST /v1/findings/{id}/review takes. */
int figures_findings(store *st, const struct store_class_filter *f, const char *class_id,
                     int64_t since_ms, int64_t now_ms, size_t limit, cJSON **out, char *err);

/* The class report r as JSON (report_json) plus what ingest stored about the class's events
 * (no_photo, roster_override, verdict_mismatch ...): "ingest_findings", newest first, each as
 * GET /v1/findings lists it ("source": "ingest", severity high/medium/low, not the engine's
 * scale), at most FIGURES_INGEST_FINDINGS_MAX, and "ingest_findings_truncated". Each finding
 * of "findings" and "ingest_findings" gains "title", its kind's name in lang; nothing else of
 * the engine's is changed (the evidence bundle's report.json is report_json's alone). The
 * stored findings' details are in lang (from their template, when stored with one). *out is
 * new (free). */
int figures_class_report_json(store *st, const struct engine_report *r, enum i18n_lang lang,
                              char **out, char *err);

/* What the engine reads of a stored event, from its columns (r->cols: store_event_from wrote
 * them from the line at ingest): the engine_ev that engine_ev_from gives for the parsed line.
 * RC_CORRUPT (why says which column) when a column cannot be one of a canonical event's. */
int figures_ev_from_row(const struct store_event *r, struct engine_ev *d, char *why);
/* What the engine reads of an event as store_class_events and the like deliver it: from its
 * columns when it has them, else from its line. RC_CORRUPT or RC_INVAL with why. */
int figures_stored_ev(const struct store_raw_event *e, struct engine_ev *out, char *why);

#endif

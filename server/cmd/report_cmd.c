/* rollcall-server report attendance|subsidy|findings: the figures the HTTP API serves, for an
 * operator at the collector (who sees every institution and the trainees' names). Text is the
 * default: readable tables for a person at a terminal; --format json is the machine output
 * (the same JSON as the HTTP routes), csv and xlsx are the spreadsheet forms. */
#include "cmd/commands.h"
#include "dynbuf.h"
#include "engine/budget.h"
#include "engine/evaluation.h"
#include "engine/figures.h"
#include "log.h"
#include "rc.h"
#include "report/report.h"
#include "store/store.h"
#include "timeutil.h"

#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#define MS_PER_DAY INT64_C(86400000)

enum format { FMT_TEXT, FMT_JSON, FMT_CSV, FMT_XLSX };

struct opts {
    const char *db_url;
    const char *class_id, *institution, *district;
    int64_t from_ms, to_ms, since_ms, claim_ms;
    int year; /* evaluation: --year, 0 when not given */
    enum format format;
    enum report_table table;
    bool table_set;
    const char *out;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server [--db URL] report attendance (--class ID | --institution ID |\n"
            "                         --district CODE) [--from DATE] [--to DATE]\n"
            "                         [--format text|json|csv|xlsx] [--table T] [--out FILE]\n"
            "       rollcall-server [--db URL] report subsidy --class ID [--claim DATE]\n"
            "                         [--subsidy-year assessment|claim]\n"
            "                         [--format text|json|csv|xlsx] [--out FILE]\n"
            "       rollcall-server [--db URL] report findings [--district CODE]\n"
            "                         [--institution ID] [--class ID] [--since DATE]\n"
            "                         [--format text|json] [--out FILE]\n"
            "       rollcall-server [--db URL] report evaluation --year YYYY [--district CODE]\n"
            "                         [--institution ID] [--format text|json|csv] [--out FILE]\n"
            "       rollcall-server [--db URL] report budget --year YYYY\n"
            "                         [--format text|json|csv|xlsx] [--out FILE]\n"
            "\n"
            "Figures under the default policy, from the stored events (docs/REPORTS.md).\n"
            "\n"
            "  --format text   readable tables for a person (the default)\n"
            "  --format json   machine output: the JSON of the HTTP API (GET\n"
            "                  /v1/classes/{id}/attendance; for --institution or --district\n"
            "                  the one summary JSON of GET /v1/summary)\n"
            "  --format csv    UTF-8 with BOM and Chinese headers, for Excel\n"
            "  --format xlsx   a workbook with a sheet per level of detail (needs --out)\n"
            "  --table T       csv: classes | sessions | trainees | findings (default trainees\n"
            "                  for one class, classes for several)\n"
            "  --from/--to     classes whose sessions overlap these Asia/Shanghai dates\n"
            "                  (inclusive)\n"
            "  --claim DATE    subsidy: the application date (default today)\n"
            "  --subsidy-year Y  subsidy: count the yearly limits by the year of the\n"
            "                  assessment (default) or of the claim\n"
            "  --year YYYY     evaluation: the calendar year, shown beside the year before;\n"
            "                  budget: the year's claims, approvals, payments and next year's\n"
            "                  forecast\n"
            "  --since DATE    findings: classes and stored findings since this date (default\n"
            "                  the last %d days)\n"
            "  --out FILE      write there instead of stdout\n"
            "  --json          same as --format json\n",
            FIGURES_FINDINGS_DAYS);
}

static int parse_date(const char *opt, const char *v, bool end, int64_t *ms)
{
    char err[ERR_LEN];
    if (ts_parse_date(v, ms, err) != RC_OK) {
        fprintf(stderr, "rollcall-server report: %s: %s\n", opt, err);
        return RC_INVAL;
    }
    if (end)
        *ms += MS_PER_DAY;
    return RC_OK;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"class", required_argument, NULL, 'c'},
        {"institution", required_argument, NULL, 'i'},
        {"district", required_argument, NULL, 'D'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"since", required_argument, NULL, 's'},
        {"claim", required_argument, NULL, 'C'},
        {"format", required_argument, NULL, 'F'},
        {"table", required_argument, NULL, 'T'},
        {"out", required_argument, NULL, 'o'},
        {"db", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"year", required_argument, NULL, 'Y'},
        {"subsidy-year", required_argument, NULL, 'y'}, /* subsidy: the counting year */
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const tables[] = {"classes", "sessions", "trainees", "findings"};
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        int rc = RC_OK;
        switch (ch) {
        case 'c': o->class_id = optarg; break;
        case 'i': o->institution = optarg; break;
        case 'D': o->district = optarg; break;
        case 'f': rc = parse_date("--from", optarg, false, &o->from_ms); break;
        case 't': rc = parse_date("--to", optarg, true, &o->to_ms); break;
        case 's': rc = parse_date("--since", optarg, false, &o->since_ms); break;
        case 'C': rc = parse_date("--claim", optarg, false, &o->claim_ms); break;
        case 'o': o->out = optarg; break;
        case 'y': {
            enum subsidy_year y;
            if (subsidy_year_parse(optarg, &y) != RC_OK) {
                fprintf(stderr,
                        "rollcall-server report: --subsidy-year must be assessment or claim\n");
                rc = RC_INVAL;
            } else {
                figures_set_subsidy_year(y);
            }
            break;
        }
        case 'Y': {
            char *end = NULL;
            errno = 0;
            long y = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || y < 2001 || y > 9998) {
                fprintf(stderr, "rollcall-server report: --year must be a year 2001..9998\n");
                rc = RC_INVAL;
            } else {
                o->year = (int)y;
            }
            break;
        }
        case 'd': o->db_url = optarg; break;
        case 'j': o->format = FMT_JSON; break;
        case 'F':
            if (strcmp(optarg, "text") == 0)
                o->format = FMT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                o->format = FMT_JSON;
            else if (strcmp(optarg, "csv") == 0)
                o->format = FMT_CSV;
            else if (strcmp(optarg, "xlsx") == 0)
                o->format = FMT_XLSX;
            else {
                fprintf(stderr, "rollcall-server report: --format text, json, csv or xlsx\n");
                rc = RC_INVAL;
            }
            break;
        case 'T':
            rc = RC_INVAL;
            for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
                if (strcmp(optarg, tables[i]) == 0) {
                    o->table = (enum report_table)i;
                    o->table_set = true;
                    rc = RC_OK;
                }
            }
            if (rc != RC_OK)
                fprintf(stderr, "rollcall-server report: --table classes, sessions, trainees "
                                "or findings\n");
            break;
        case 'h': usage(stdout); return 1;
        case ':':
            fprintf(stderr, "rollcall-server report: %s needs a value\n", argv[optind - 1]);
            return RC_INVAL;
        default:
            fprintf(stderr, "rollcall-server report: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return RC_INVAL;
        }
        if (rc != RC_OK)
            return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-server report: unexpected argument '%s'\n", argv[optind]);
        return RC_INVAL;
    }
    if (o->format == FMT_XLSX && !o->out) {
        fprintf(stderr, "rollcall-server report: --format xlsx needs --out FILE\n");
        return RC_INVAL;
    }
    return RC_OK;
}

/* Writes len bytes to --out (atomically: a temporary file renamed) or stdout. */
static int emit(const struct opts *o, const char *data, size_t len, char *err)
{
    if (!o->out) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
            return rc_fail(err, RC_IO, "writing to stdout failed");
        return RC_OK;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", o->out);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return rc_fail(err, RC_IO, "cannot write %s", tmp);
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, o->out) != 0) {
        unlink(tmp);
        return rc_fail(err, RC_IO, "cannot write %s", o->out);
    }
    return RC_OK;
}

/* ---- text ---- */

/* Text output in memory (core/dynbuf's dyntext) before it is written whole. */
enum { REPORT_TEXT_MAX = 64 << 20 };

enum { NAME_COLS = 16 }; /* the name column's width in terminal columns */

/* Terminal columns of the UTF-8 text s (glibc's wcwidth under C.UTF-8: a Chinese character
 * takes two); bytes that are not UTF-8 count one each. */
static size_t display_width(const char *s)
{
    static locale_t utf8;
    if (!utf8)
        utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
    size_t cols = 0, len = strlen(s);
    mbstate_t st;
    memset(&st, 0, sizeof st);
    while (len > 0) {
        wchar_t wc;
        size_t n = utf8 ? mbrtowc(&wc, s, len, &st) : 1;
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
            memset(&st, 0, sizeof st);
            n = 1;
            cols++;
        } else {
            int w = utf8 ? wcwidth(wc) : 1;
            cols += w > 0 ? (size_t)w : 0;
        }
        s += n;
        len -= n;
    }
    if (utf8)
        uselocale(old);
    return cols;
}

/* s padded with spaces to NAME_COLS terminal columns (printf pads bytes, which misaligns
 * Chinese names); longer text is left as it is. */
static const char *name_cell(char *buf, size_t cap, const char *s)
{
    size_t w = display_width(s);
    int pad = w < NAME_COLS ? (int)(NAME_COLS - w) : 0;
    snprintf(buf, cap, "%s%*s", s, pad, "");
    return buf;
}

static const char *pct(char *buf, size_t n, int64_t num, int64_t den)
{
    bool defined = false;
    double v = engine_ratio(num, den, &defined);
    if (defined)
        snprintf(buf, n, "%.1f%%", v * 100.0);
    else
        snprintf(buf, n, "-");
    return buf;
}

static void class_text(struct dyntext *t, const struct engine_report *r)
{
    char a[16], b[16], c[16], d[16], e[16];
    char asof[TS_SHANGHAI_LEN + 1] = "-";
    if (r->as_of_ms > 0)
        ts_format_shanghai(r->as_of_ms, asof);
    dyntext_printf(t, "class %s  institution %s  district %s  occupation %s %s\n", r->class_id,
                   r->institution, r->district, r->occupation, catalogue_level_name(r->level));
    dyntext_printf(t, "policy %s v%lld, as of %s (Asia/Shanghai); hours are clock hours\n",
                   r->policy.name, (long long)r->policy.version, asof);
    dyntext_printf(
        t,
        "scheduled %.2f h per trainee (%.2f planned, %s online); attendance %s; recording "
        "coverage %s; passed %zu of %zu assessed (%s), of %zu enrolled (%s)\n\n",
        ts_hours(r->scheduled_ms), ts_hours(r->planned_ms),
        pct(a, sizeof a, r->online_planned_ms, r->planned_ms),
        pct(b, sizeof b, r->roster_attended_ms, r->roster_scheduled_ms),
        pct(c, sizeof c, r->recorded_ms, r->offline_held_ms), r->passed, r->assessed,
        pct(d, sizeof d, (int64_t)r->passed, (int64_t)r->assessed), r->enrolled,
        pct(e, sizeof e, (int64_t)r->passed, (int64_t)r->enrolled));
    char cell[PLAN_NAME_MAX + NAME_COLS + 1];
    dyntext_printf(t, "%-18s %-16s %9s %9s %9s %9s %7s %7s %6s %s\n", "trainee", "name", "sched h",
                   "attend h", "offline h", "online h", "rate", "online", "missed", "result");
    for (size_t i = 0; i < r->n_trainees; i++) {
        const struct engine_trainee *x = &r->trainees[i];
        dyntext_printf(t, "%-18s %s %9.2f %9.2f %9.2f %9.2f %7s %7s %6zu %s\n", x->masked,
                       name_cell(cell, sizeof cell, x->name), ts_hours(x->scheduled_ms),
                       ts_hours(x->attended_ms), ts_hours(x->offline_ms), ts_hours(x->online_ms),
                       pct(a, sizeof a, x->attended_ms, x->scheduled_ms),
                       pct(b, sizeof b, x->online_ms, x->attended_ms), x->rollcalls_missed,
                       !x->assessed ? "-"
                       : x->passed  ? "passed"
                                    : "failed");
    }
    dyntext_printf(t, "\nfindings: %zu serious, %zu warning, %zu info\n",
                   r->by_severity[ENGINE_SERIOUS], r->by_severity[ENGINE_WARNING],
                   r->by_severity[ENGINE_INFO]);
    for (size_t i = 0; i < r->n_findings; i++) {
        const struct engine_finding *f = &r->findings[i];
        dyntext_printf(t, "  %-7s %-24s %s%s%s\n", engine_severity_name(f->severity),
                       engine_finding_name(f->kind), f->detail,
                       f->reviewed ? (f->approved ? " [approved: " : " [rejected: ") : "",
                       f->reviewed ? f->review_reason : "");
        if (f->reviewed)
            dyntext_printf(t, "%s", "]\n");
    }
    size_t changed = 0;
    int64_t effect = 0;
    for (size_t i = 0; i < r->n_trainees; i++) {
        effect += r->trainees[i].attended_ms - r->trainees[i].attended_unreviewed_ms;
        changed += r->trainees[i].attended_ms != r->trainees[i].attended_unreviewed_ms;
    }
    if (r->n_reviews)
        dyntext_printf(t, "reviews: %zu decisions; they changed %zu trainees' hours by %+.2f h\n",
                       r->n_reviews, changed, ts_hours(effect));
}

struct ingest_lines {
    struct dyntext *t;
    size_t n;
};

static int ingest_line(const struct store_finding_row *f, void *ctx)
{
    struct ingest_lines *l = ctx;
    l->n++;
    dyntext_printf(l->t, "  %-7s %-24s %s#%lld %s\n", f->severity, f->kind, f->device,
                   (long long)f->seq, f->detail);
    return 0;
}

/* What ingest stored about the class's events (no_photo, roster_override ...), on its own
 * scale (high/medium/low), after the engine's findings; "none" says the list is empty. */
static int ingest_text(struct dyntext *t, store *st, const char *class_id, char *err)
{
    struct store_finding_filter f = {.class_id = class_id};
    struct ingest_lines l = {.t = t, .n = 0};
    dyntext_printf(t, "%s", "findings stored by ingest (high/medium/low):\n");
    int rc = store_finding_list(st, &f, FIGURES_INGEST_FINDINGS_MAX, ingest_line, &l, err);
    if (rc == RC_OK && l.n == 0)
        dyntext_printf(t, "%s", "  none\n");
    return rc;
}

/* ---- attendance ---- */

struct ids {
    char (*id)[STORE_ID_MAX + 1];
    size_t n, cap;
};

static int add_id(const struct store_class *c, void *ctx)
{
    struct ids *ids = ctx;
    if (ids->n == ids->cap) {
        size_t want = ids->cap ? ids->cap * 2 : 64;
        void *p = realloc(ids->id, want * sizeof *ids->id);
        if (!p)
            return RC_NOMEM;
        ids->id = p;
        ids->cap = want;
    }
    snprintf(ids->id[ids->n++], STORE_ID_MAX + 1, "%s", c->id);
    return 0;
}

static int attendance(store *st, const struct opts *o, char *err)
{
    struct ids ids = {0};
    struct engine_report **rs = NULL;
    size_t n = 0;
    char *buf = NULL;
    size_t len = 0;
    int64_t now = ts_now_ms();
    int rc = RC_OK;
    if (o->class_id) {
        struct store_class c;
        if ((rc = store_class_get(st, o->class_id, &c, err)) == RC_OK)
            rc = add_id(&c, &ids);
    } else {
        struct store_class_filter f = {.institution = o->institution,
                                       .district = o->district,
                                       .from_ms = o->from_ms,
                                       .to_ms = o->to_ms};
        if (o->format == FMT_TEXT || o->format == FMT_JSON) {
            /* The summary: the cached per-class figures suffice. JSON is the one summary JSON,
             * made by the function GET /v1/summary answers with (docs/REPORTS.md). */
            struct figures_summary *s = NULL;
            if ((rc = figures_summary(st, &f, now, true, &s, err)) == RC_OK &&
                (rc = o->format == FMT_TEXT ? figures_summary_text(s, &buf, err)
                                            : figures_summary_json(s, &f, &buf, err)) == RC_OK)
                rc = emit(o, buf, strlen(buf), err);
            figures_summary_free(s);
            free(buf);
            return rc == RC_OK ? 0 : EXIT_REFUSED;
        }
        rc = store_class_list(st, &f, FIGURES_CLASSES_MAX, add_id, &ids, err);
    }
    if (rc != RC_OK)
        goto out;
    rs = calloc(ids.n ? ids.n : 1, sizeof *rs);
    if (!rs) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    for (; n < ids.n && rc == RC_OK; n++)
        rc = figures_class_report(st, ids.id[n], now, &rs[n], NULL, NULL, err);
    if (rc != RC_OK)
        goto out;
    const struct engine_report *const *crs = (const struct engine_report *const *)rs;
    switch (o->format) {
    case FMT_TEXT: {
        struct dyntext t;
        dyntext_init(&t, REPORT_TEXT_MAX);
        for (size_t i = 0; i < n && rc == RC_OK; i++) {
            class_text(&t, rs[i]);
            rc = ingest_text(&t, st, rs[i]->class_id, err);
        }
        rc = dyntext_take(&t, "report text", &buf, &len, err);
        break;
    }
    case FMT_JSON:
        if ((rc = figures_class_report_json(st, rs[0], I18N_EN, &buf, err)) == RC_OK)
            len = strlen(buf);
        break;
    case FMT_CSV:
        rc = report_csv(crs, n,
                        o->table_set  ? o->table
                        : o->class_id ? REPORT_TRAINEES
                                      : REPORT_CLASSES,
                        &buf, &len, err);
        break;
    case FMT_XLSX: {
        struct engine_total *it = NULL, *dt = NULL;
        size_t ni = 0, nd = 0;
        if ((rc = engine_aggregate(crs, n, ENGINE_BY_INSTITUTION, &it, &ni, err)) == RC_OK &&
            (rc = engine_aggregate(crs, n, ENGINE_BY_DISTRICT, &dt, &nd, err)) == RC_OK)
            rc = report_xlsx(o->out, crs, n, it, ni, dt, nd, NULL, 0, err);
        free(it);
        free(dt);
        goto out;
    }
    }
    if (rc == RC_OK)
        rc = emit(o, buf, len, err);
out:
    for (size_t i = 0; rs && i < n; i++)
        engine_report_free(rs[i]);
    free(rs);
    free(ids.id);
    free(buf);
    return rc == RC_OK ? 0 : EXIT_REFUSED;
}

/* ---- subsidy ---- */

static int subsidy(store *st, const struct opts *o, char *err)
{
    struct subsidy_result *res = NULL;
    struct engine_report *r = NULL;
    size_t n = 0, len = 0;
    char *buf = NULL;
    int64_t now = ts_now_ms();
    int64_t claim = o->claim_ms;
    int rc;
    if (!claim) {
        char today[TS_DATE_LEN + 1];
        if ((rc = ts_format_date(now, today)) != RC_OK ||
            (rc = ts_parse_date(today, &claim, err)) != RC_OK)
            goto out;
    }
    if ((rc = figures_subsidy(st, o->class_id, now, claim, &res, &n, &r, NULL, err)) != RC_OK)
        goto out;
    switch (o->format) {
    case FMT_TEXT: {
        struct dyntext t;
        dyntext_init(&t, REPORT_TEXT_MAX);
        char d[TS_DATE_LEN + 1] = "";
        char cell[PLAN_NAME_MAX + NAME_COLS + 1];
        ts_format_date(claim, d);
        int64_t total = 0, living = 0;
        dyntext_printf(&t, "subsidy of class %s (%s %s), claim of %s\n", r->class_id, r->occupation,
                       catalogue_level_name(r->level), d);
        dyntext_printf(&t, "%-18s %-16s %8s %8s %7s %9s %8s %s\n", "trainee", "name", "need h",
                       "attend h", "online", "eligible", "yuan", "refused by");
        for (size_t i = 0; i < n; i++) {
            const struct subsidy_result *s = &res[i];
            dyntext_printf(&t, "%-18s %s %8.2f %8.2f %6.1f%% %9s %8lld %s\n", s->masked,
                           name_cell(cell, sizeof cell, s->name), ts_hours(s->required_ms),
                           ts_hours(s->attended_ms), s->online_share * 100.0,
                           s->eligible ? "yes" : "no", (long long)s->amount_yuan,
                           s->refused_by ? s->refused_by : "-");
            total += s->amount_yuan;
            living += s->living_allowance_yuan;
        }
        dyntext_printf(&t, "training subsidy %lld yuan; living allowance %lld yuan\n",
                       (long long)total, (long long)living);
        if ((rc = dyntext_take(&t, "report text", &buf, &len, err)) != RC_OK)
            goto out;
        break;
    }
    case FMT_JSON:
        if ((rc = figures_subsidy_json(r, res, n, claim, false, &buf, err)) == RC_OK)
            len = strlen(buf);
        break;
    case FMT_CSV: rc = report_subsidy_csv(res, n, &buf, &len, err); break;
    case FMT_XLSX: {
        const struct engine_report *const list[1] = {r};
        rc = report_xlsx(o->out, list, 1, NULL, 0, NULL, 0, res, n, err);
        goto out;
    }
    }
    if (rc == RC_OK)
        rc = emit(o, buf, len, err);
out:
    free(res);
    free(buf);
    engine_report_free(r);
    return rc == RC_OK ? 0 : EXIT_REFUSED;
}

/* ---- findings ---- */

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* What each report needs of the options, checked before the database is opened: a usage
 * error is exit 2 whatever state the database is in. */
static int check_opts(const char *what, const struct opts *o)
{
    int given = (o->class_id != NULL) + (o->institution != NULL) + (o->district != NULL);
    if (strcmp(what, "attendance") == 0 && given != 1) {
        fprintf(stderr, "rollcall-server report attendance: give one of --class, --institution, "
                        "--district\n");
        return EXIT_USAGE;
    }
    if (strcmp(what, "subsidy") == 0 && !o->class_id) {
        fprintf(stderr, "rollcall-server report subsidy: --class ID is required\n");
        return EXIT_USAGE;
    }
    if (strcmp(what, "budget") == 0 &&
        (!o->year || o->class_id || o->institution || o->district || o->from_ms || o->to_ms)) {
        fprintf(stderr, "rollcall-server report budget: --year YYYY is required (city-wide: no "
                        "--class, --institution, --district, --from, --to)\n");
        return EXIT_USAGE;
    }
    if (strcmp(what, "evaluation") == 0 &&
        (!o->year || o->class_id || o->from_ms || o->to_ms || o->format == FMT_XLSX)) {
        fprintf(stderr, "rollcall-server report evaluation: --year YYYY is required (no --class, "
                        "--from, --to; --format text, json or csv)\n");
        return EXIT_USAGE;
    }
    if (strcmp(what, "findings") == 0 && (o->format == FMT_CSV || o->format == FMT_XLSX)) {
        fprintf(stderr, "rollcall-server report findings: --format text or json\n");
        return EXIT_USAGE;
    }
    return RC_OK;
}

static int findings(store *st, const struct opts *o, char *err)
{
    cJSON *root = NULL;
    char *buf = NULL;
    size_t len = 0;
    struct store_class_filter f = {.institution = o->institution,
                                   .district = o->district,
                                   .from_ms = o->from_ms,
                                   .to_ms = o->to_ms};
    int rc = figures_findings(st, &f, o->class_id, o->since_ms, ts_now_ms(), FIGURES_FINDINGS_MAX,
                              &root, err);
    if (rc != RC_OK)
        goto out;
    if (o->format == FMT_JSON) {
        buf = cJSON_PrintUnformatted(root);
        if (!buf) {
            rc = rc_fail(err, RC_NOMEM, "out of memory");
            goto out;
        }
        len = strlen(buf);
    } else {
        struct dyntext t;
        dyntext_init(&t, REPORT_TEXT_MAX);
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "findings");
        dyntext_printf(&t, "%-8s %-24s %-20s %-20s %-36s %s\n", "severity", "kind", "class", "at",
                       "id", "detail");
        const cJSON *x;
        size_t count = 0;
        cJSON_ArrayForEach(x, arr)
        {
            const cJSON *at = cJSON_GetObjectItemCaseSensitive(x, "at");
            dyntext_printf(&t, "%-8s %-24s %-20s %-20.19s %-36s %s%s%s\n", str(x, "severity"),
                           str(x, "kind"), str(x, "class")[0] ? str(x, "class") : "-",
                           cJSON_IsString(at) ? at->valuestring : "-",
                           str(x, "id")[0] ? str(x, "id") : "-", str(x, "detail"),
                           str(x, "decision")[0] ? " | review: " : "", str(x, "decision"));
            count++;
        }
        dyntext_printf(&t, "%zu findings\n", count);
        if ((rc = dyntext_take(&t, "report text", &buf, &len, err)) != RC_OK)
            goto out;
    }
    rc = emit(o, buf, len, err);
out:
    cJSON_Delete(root);
    free(buf);
    return rc == RC_OK ? 0 : EXIT_REFUSED;
}

/* ---- evaluation ---- */

static void rate_cell(struct dyntext *t, int64_t num, int64_t den)
{
    if (den > 0)
        dyntext_printf(t, " %7.2f%%", 100.0 * (double)num / (double)den);
    else
        dyntext_printf(t, " %8s", "-");
}

static int evaluation(store *st, const struct opts *o, char *err)
{
    struct store_class_filter f = {.institution = o->institution, .district = o->district};
    struct evaluation_row *rows = NULL;
    size_t n = 0, len = 0;
    char *buf = NULL;
    int rc = evaluation_compute(st, o->year, &f, ts_now_ms(), &rows, &n, err);
    if (rc != RC_OK)
        goto out;
    if (o->format == FMT_JSON) {
        rc = evaluation_json(o->year, rows, n, &buf, err);
        len = buf ? strlen(buf) : 0;
    } else if (o->format == FMT_CSV) {
        rc = evaluation_csv(o->year, rows, n, &buf, &len, err);
    } else {
        struct dyntext t;
        dyntext_init(&t, REPORT_TEXT_MAX);
        dyntext_printf(&t, "年度评估 yearly evaluation %d (beside %d)\n", o->year, o->year - 1);
        dyntext_printf(&t, "%-20s %-6s %7s %9s %9s %9s %9s\n", "institution", "dist", "classes",
                       "attend", "prev", "pass", "prev");
        for (size_t i = 0; i < n; i++) {
            const struct evaluation_row *r = &rows[i];
            dyntext_printf(&t, "%-20s %-6s %3zu/%-3zu", r->institution, r->district,
                           r->year.classes, r->previous.classes);
            rate_cell(&t, r->year.attended_ms, r->year.scheduled_ms);
            rate_cell(&t, r->previous.attended_ms, r->previous.scheduled_ms);
            rate_cell(&t, (int64_t)r->year.passed, (int64_t)r->year.assessed);
            rate_cell(&t, (int64_t)r->previous.passed, (int64_t)r->previous.assessed);
            dyntext_printf(&t, "\n");
        }
        dyntext_printf(&t, "%zu institutions; pass rates over the assessed\n", n);
        rc = dyntext_take(&t, "report text", &buf, &len, err);
    }
    if (rc == RC_OK)
        rc = emit(o, buf, len, err);
out:
    free(rows);
    free(buf);
    return rc == RC_OK ? 0 : EXIT_REFUSED;
}

/* ---- budget ---- */

static int budget(store *st, const struct opts *o, char *err)
{
    struct budget b;
    char *buf = NULL;
    size_t len = 0;
    int rc = budget_compute(st, o->year, &b, err);
    if (rc != RC_OK)
        return EXIT_REFUSED;
    if (o->format == FMT_XLSX) {
        rc = report_budget_xlsx(o->out, &b, err);
        budget_free(&b);
        return rc == RC_OK ? 0 : EXIT_REFUSED;
    }
    if (o->format == FMT_JSON) {
        rc = budget_json(&b, &buf, err);
        len = buf ? strlen(buf) : 0;
    } else if (o->format == FMT_CSV) {
        rc = budget_csv(&b, &buf, &len, err);
    } else {
        static const char *const dim_zh[BUDGET_DIMS] = {"职业", "等级", "区", "机构"};
        struct dyntext t;
        dyntext_init(&t, REPORT_TEXT_MAX);
        dyntext_printf(&t, "补贴预算 subsidy budget %d (yuan: claimed / approved / paid)\n",
                       o->year);
        for (int d = 0; d < BUDGET_DIMS; d++) {
            dyntext_printf(&t, "%s %s\n", dim_zh[d], budget_dim_name((enum budget_dim)d));
            for (size_t i = 0; i < b.n[d]; i++) {
                const struct budget_row *r = &b.rows[d][i];
                dyntext_printf(&t, "  %-16s %10lld %10lld %10lld\n", r->key,
                               (long long)r->claimed.yuan, (long long)r->approved.yuan,
                               (long long)r->paid.yuan);
            }
        }
        dyntext_printf(&t, "  %-16s %10lld %10lld %10lld\n", "total", (long long)b.claimed.yuan,
                       (long long)b.approved.yuan, (long long)b.paid.yuan);
        dyntext_printf(&t,
                       "forecast %d: %zu classes applied for, %lld trainees, %lld yuan at "
                       "catalogue amounts, x %lld/%lld certified = %lld; trend %lld (paid %d: "
                       "%lld); proposal %lld yuan\n",
                       o->year + 1, b.applied_classes, (long long)b.applied_trainees,
                       (long long)b.applied_catalogue_yuan, (long long)b.claimed_certified,
                       (long long)b.claimed_enrolled, (long long)b.from_applications_yuan,
                       (long long)b.from_trend_yuan, o->year - 1, (long long)b.paid_previous.yuan,
                       (long long)b.proposal_yuan);
        rc = dyntext_take(&t, "report text", &buf, &len, err);
    }
    if (rc == RC_OK)
        rc = emit(o, buf, len, err);
    free(buf);
    budget_free(&b);
    return rc == RC_OK ? 0 : EXIT_REFUSED;
}

int cmd_report(int argc, char **argv, const struct server_globals *g)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *what = argv[1];
    struct opts o = {.db_url = g->db_url, .format = FMT_TEXT};
    int prc = parse_opts(argc - 1, argv + 1, &o);
    if (prc == 1)
        return 0;
    if (prc != RC_OK)
        return EXIT_USAGE;
    char err[ERR_LEN];
    store *st = NULL;
    int status;
    if (strcmp(what, "attendance") != 0 && strcmp(what, "subsidy") != 0 &&
        strcmp(what, "findings") != 0 && strcmp(what, "evaluation") != 0 &&
        strcmp(what, "budget") != 0) {
        fprintf(stderr,
                "rollcall-server report: unknown report '%s' (attendance, subsidy, "
                "findings, evaluation, budget)\n",
                what);
        return EXIT_USAGE;
    }
    if (check_opts(what, &o) != RC_OK)
        return EXIT_USAGE;
    if (store_open(o.db_url, 0, &st, err) != RC_OK || store_check_schema(st, err) != RC_OK) {
        fprintf(stderr, "rollcall-server report: %s\n", err);
        store_close(st);
        return EXIT_REFUSED;
    }
    err[0] = '\0';
    if (strcmp(what, "attendance") == 0)
        status = attendance(st, &o, err);
    else if (strcmp(what, "subsidy") == 0)
        status = subsidy(st, &o, err);
    else if (strcmp(what, "evaluation") == 0)
        status = evaluation(st, &o, err);
    else if (strcmp(what, "budget") == 0)
        status = budget(st, &o, err);
    else
        status = findings(st, &o, err);
    if (status == EXIT_REFUSED)
        fprintf(stderr, "rollcall-server report %s: %s\n", what, err);
    store_close(st);
    return status;
}

/* Report outputs (report.h). JSON through cJSON; CSV and XLSX share one description of each
 * table (its columns and a row builder), written by a CSV sink or an XLSX sink. */
#include "report/report.h"

#include "dynbuf.h"
#include "rc.h"
#include "timeutil.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

enum { CSV_MAX = 64 << 20 /* bytes of one CSV output */ };

/* ---- JSON ------------------------------------------------------------------------------------ */

/* A copy of a cJSON string that the caller frees with free(). */
static char *dup_text(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

struct jb {
    bool oom;
};

static cJSON *add(struct jb *b, cJSON *obj, const char *key, cJSON *item)
{
    if (!item || !cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        b->oom = true;
        return NULL;
    }
    return item;
}

static void put_num(struct jb *b, cJSON *o, const char *k, double v)
{
    add(b, o, k, cJSON_CreateNumber(v));
}

static void put_str(struct jb *b, cJSON *o, const char *k, const char *v)
{
    add(b, o, k, cJSON_CreateString(v));
}

static void put_bool(struct jb *b, cJSON *o, const char *k, bool v)
{
    add(b, o, k, cJSON_CreateBool(v));
}

/* num/den, or null when den is 0. */
static void put_rate(struct jb *b, cJSON *o, const char *k, int64_t num, int64_t den)
{
    bool defined;
    double v = engine_ratio(num, den, &defined);
    add(b, o, k, defined ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

static void put_time(struct jb *b, cJSON *o, const char *k, int64_t ms)
{
    char t[TS_SHANGHAI_ISO_LEN + 1];
    if (ms > 0 && ts_format_shanghai_iso(ms, t) == RC_OK)
        put_str(b, o, k, t);
    else
        add(b, o, k, cJSON_CreateNull());
}

static cJSON *policy_json(struct jb *b, const struct engine_policy *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        b->oom = true;
        return NULL;
    }
    put_str(b, o, "name", p->name);
    put_num(b, o, "version", (double)p->version);
    put_num(b, o, "early_window_min", (double)p->early_window_ms / 60000.0);
    put_num(b, o, "late_grace_min", (double)p->late_grace_ms / 60000.0);
    put_num(b, o, "leave_grace_min", (double)p->leave_grace_ms / 60000.0);
    cJSON *v = add(b, o, "counted_verdicts", cJSON_CreateArray());
    const bool counts[] = {p->count_inside, p->count_uncertain, p->count_outside, p->count_no_fix};
    const char *const names[] = {"inside", "uncertain", "outside", "no_fix"};
    for (size_t i = 0; v && i < 4; i++) {
        if (counts[i] && !cJSON_AddItemToArray(v, cJSON_CreateString(names[i])))
            b->oom = true;
    }
    put_num(b, o, "recording_gap_min", (double)p->recording_gap_ms / 60000.0);
    put_num(b, o, "recording_late_h", ts_hours(p->recording_late_ms));
    put_num(b, o, "attendance_warning", p->attendance_warning);
    put_num(b, o, "attendance_serious", p->attendance_serious);
    put_num(b, o, "online_share_max", p->online_share_max);
    put_num(b, o, "travel_speed_mps", p->travel_speed_mps);
    put_num(b, o, "travel_min_m", p->travel_min_m);
    put_num(b, o, "kiosk_silence_min", (double)p->kiosk_silence_ms / 60000.0);
    put_num(b, o, "clock_skew_s", (double)p->clock_skew_ms / 1000.0);
    put_num(b, o, "application_lead_days", (double)p->application_lead_days);
    put_num(b, o, "subsidy_deadline_days", (double)p->subsidy_deadline_days);
    put_num(b, o, "minutes_per_hour", (double)p->minutes_per_hour);
    put_bool(b, o, "rollcall_missed_ends_presence", p->rollcall_missed_ends_presence);
    cJSON *reg = add(b, o, "region", cJSON_CreateObject());
    if (reg) {
        put_str(b, reg, "name", p->region);
        put_num(b, reg, "min_lat", p->region_min_lat);
        put_num(b, reg, "max_lat", p->region_max_lat);
        put_num(b, reg, "min_lon", p->region_min_lon);
        put_num(b, reg, "max_lon", p->region_max_lon);
    }
    return o;
}

static cJSON *finding_json(struct jb *b, const struct engine_finding *f)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        b->oom = true;
        return NULL;
    }
    put_str(b, o, "kind", engine_finding_name(f->kind));
    put_str(b, o, "severity", engine_severity_name(f->severity));
    put_str(b, o, "subject_kind", engine_subject_name(f->subject_kind));
    put_str(b, o, "subject", f->subject);
    if (f->trainee[0])
        put_str(b, o, "trainee", f->trainee);
    if (f->session[0])
        put_str(b, o, "session", f->session);
    if (f->at_ms)
        put_time(b, o, "at", f->at_ms);
    put_str(b, o, "detail", f->detail);
    cJSON *ev = add(b, o, "evidence", cJSON_CreateArray());
    for (size_t i = 0; ev && i < f->n_evidence; i++) {
        if (!cJSON_AddItemToArray(ev, cJSON_CreateString(f->evidence[i])))
            b->oom = true;
    }
    if (f->reviewed) {
        cJSON *rv = add(b, o, "review", cJSON_CreateObject());
        if (rv) {
            put_str(b, rv, "decision", f->approved ? "approved" : "rejected");
            put_str(b, rv, "reason", f->review_reason);
            put_str(b, rv, "reviewer", f->reviewer);
        }
    }
    return o;
}

static void add_item(struct jb *b, cJSON *arr, cJSON *item)
{
    if (!item || !cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        b->oom = true;
    }
}

int report_json_object(const struct engine_report *r, cJSON **out, char *err)
{
    struct jb b = {false};
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return rc_fail(err, RC_NOMEM, "out of memory");
    put_str(&b, o, "class", r->class_id);
    put_str(&b, o, "institution", r->institution);
    put_str(&b, o, "district", r->district);
    put_str(&b, o, "occupation", r->occupation);
    put_str(&b, o, "level", catalogue_level_name(r->level));
    add(&b, o, "policy", policy_json(&b, &r->policy));
    put_time(&b, o, "as_of", r->as_of_ms);
    put_num(&b, o, "scheduled_hours", ts_hours(r->scheduled_ms));
    put_num(&b, o, "planned_hours", ts_hours(r->planned_ms));
    put_num(&b, o, "online_hours_planned", ts_hours(r->online_planned_ms));
    put_rate(&b, o, "online_share_planned", r->online_planned_ms, r->planned_ms);
    put_rate(&b, o, "class_attendance_rate", r->roster_attended_ms, r->roster_scheduled_ms);
    put_rate(&b, o, "online_share_actual", r->roster_online_ms, r->roster_attended_ms);
    put_rate(&b, o, "recording_coverage", r->recorded_ms, r->offline_held_ms);
    put_num(&b, o, "recorded_hours", ts_hours(r->recorded_ms));
    put_rate(&b, o, "pass_rate_assessed", (int64_t)r->passed, (int64_t)r->assessed);
    put_rate(&b, o, "pass_rate_enrolled", (int64_t)r->passed, (int64_t)r->enrolled);
    put_num(&b, o, "enrolled", (double)r->enrolled);
    put_num(&b, o, "assessed", (double)r->assessed);
    put_num(&b, o, "passed", (double)r->passed);

    cJSON *ss = add(&b, o, "sessions", cJSON_CreateArray());
    for (size_t i = 0; ss && i < r->n_sessions; i++) {
        const struct engine_session *s = &r->sessions[i];
        cJSON *x = cJSON_CreateObject();
        add_item(&b, ss, x);
        if (!x)
            break;
        put_str(&b, x, "id", s->id);
        put_str(&b, x, "mode", plan_mode_name(s->mode));
        if (s->fence[0])
            put_str(&b, x, "fence", s->fence);
        put_time(&b, x, "start", s->start_ms);
        put_time(&b, x, "end", s->end_ms);
        put_bool(&b, x, "held", s->held);
        put_num(&b, x, "scheduled_hours", ts_hours(s->end_ms - s->start_ms));
        put_num(&b, x, "attended_hours", ts_hours(s->attended_ms));
        put_num(&b, x, "present", (double)s->present);
        if (s->mode == PLAN_OFFLINE) {
            put_num(&b, x, "recorded_hours", ts_hours(s->recorded_ms));
            put_rate(&b, x, "recording_coverage", s->recorded_ms,
                     s->held ? s->end_ms - s->start_ms : 0);
        }
    }

    cJSON *ts = add(&b, o, "trainees", cJSON_CreateArray());
    for (size_t i = 0; ts && i < r->n_trainees; i++) {
        const struct engine_trainee *t = &r->trainees[i];
        cJSON *x = cJSON_CreateObject();
        add_item(&b, ts, x);
        if (!x)
            break;
        put_str(&b, x, "trainee", t->trainee);
        put_str(&b, x, "trainee_masked", t->masked);
        put_str(&b, x, "name", t->name);
        put_bool(&b, x, "student", t->student);
        put_num(&b, x, "scheduled_hours", ts_hours(t->scheduled_ms));
        put_num(&b, x, "attended_hours", ts_hours(t->attended_ms));
        put_num(&b, x, "offline_hours", ts_hours(t->offline_ms));
        put_num(&b, x, "online_hours", ts_hours(t->online_ms));
        put_rate(&b, x, "attendance_rate", t->attended_ms, t->scheduled_ms);
        put_num(&b, x, "online_share", engine_ratio(t->online_ms, t->attended_ms, NULL));
        put_num(&b, x, "review_effect_hours", ts_hours(t->attended_ms - t->attended_unreviewed_ms));
        put_num(&b, x, "rollcalls_held", (double)t->rollcalls_held);
        put_num(&b, x, "rollcalls_missed", (double)t->rollcalls_missed);
        put_bool(&b, x, "assessed", t->assessed);
        put_bool(&b, x, "passed", t->passed);
        cJSON *fs = add(&b, x, "findings", cJSON_CreateArray());
        for (size_t k = 0; fs && k < r->n_findings; k++) {
            if (strcmp(r->findings[k].trainee, t->trainee) == 0)
                add_item(&b, fs, finding_json(&b, &r->findings[k]));
        }
    }

    cJSON *fs = add(&b, o, "findings", cJSON_CreateArray());
    for (size_t k = 0; fs && k < r->n_findings; k++)
        add_item(&b, fs, finding_json(&b, &r->findings[k]));
    cJSON *sev = add(&b, o, "findings_by_severity", cJSON_CreateObject());
    if (sev) {
        put_num(&b, sev, "serious", (double)r->by_severity[ENGINE_SERIOUS]);
        put_num(&b, sev, "warning", (double)r->by_severity[ENGINE_WARNING]);
        put_num(&b, sev, "info", (double)r->by_severity[ENGINE_INFO]);
    }
    put_num(&b, o, "findings_dropped", (double)r->findings_dropped);

    bool changed = false;
    for (size_t i = 0; i < r->n_trainees; i++)
        changed = changed || r->trainees[i].attended_ms != r->trainees[i].attended_unreviewed_ms;
    put_bool(&b, o, "reviews_changed_figures", changed);
    cJSON *rv = add(&b, o, "reviews", cJSON_CreateArray());
    for (size_t i = 0; rv && i < r->n_reviews; i++) {
        const struct engine_review *v = &r->reviews[i];
        cJSON *x = cJSON_CreateObject();
        add_item(&b, rv, x);
        if (!x)
            break;
        put_str(&b, x, "event", v->event_id);
        put_str(&b, x, "decision", v->approve ? "approved" : "rejected");
        put_str(&b, x, "reason", v->reason);
        put_str(&b, x, "reviewer", v->reviewer);
        put_time(&b, x, "decided_at", v->decided_ms);
    }
    if (b.oom) {
        cJSON_Delete(o);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    *out = o;
    return RC_OK;
}

int report_json(const struct engine_report *r, char **out, char *err)
{
    cJSON *o = NULL;
    int rc = report_json_object(r, &o, err);
    if (rc)
        return rc;
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return rc_fail(err, RC_NOMEM, "out of memory");
    /* Hand back memory the caller frees with free(), whatever allocator cJSON uses. */
    *out = dup_text(text);
    cJSON_free(text);
    return *out ? RC_OK : rc_fail(err, RC_NOMEM, "out of memory");
}

/* ---- tables -------------------------------------------------------------------------------- */

enum cell_kind { C_STR, C_HOURS, C_RATE, C_INT, C_TIME, C_NONE };

struct cell {
    enum cell_kind k;
    const char *s;
    double v;
};

enum { COLS_MAX = 24 };

struct sink {
    int (*row)(struct sink *s, const struct cell *c, size_t n);
};

static struct cell cs(const char *s)
{
    return (struct cell){C_STR, s ? s : "", 0};
}

static struct cell cint(size_t v)
{
    return (struct cell){C_INT, NULL, (double)v};
}

/* Duration in 学时 of mph minutes. */
static struct cell chours(int64_t ms, int64_t mph)
{
    return (struct cell){C_HOURS, NULL, mph > 0 ? (double)ms / (double)(mph * 60000) : 0};
}

/* An instant (ms since the epoch), shown in Asia/Shanghai; 0 is an empty cell. */
static struct cell ctime_ms(int64_t ms)
{
    return ms > 0 ? (struct cell){C_TIME, NULL, (double)ms} : (struct cell){C_NONE, NULL, 0};
}

static struct cell crate(int64_t num, int64_t den)
{
    bool defined;
    double v = engine_ratio(num, den, &defined);
    return defined ? (struct cell){C_RATE, NULL, v} : (struct cell){C_NONE, NULL, 0};
}

static int header(struct sink *s, const char *const *names)
{
    struct cell c[COLS_MAX];
    size_t n = 0;
    while (names[n] && n < COLS_MAX) {
        c[n] = cs(names[n]);
        n++;
    }
    return s->row(s, c, n);
}

static const char *severity_zh(enum engine_severity s)
{
    return s == ENGINE_SERIOUS ? "严重" : s == ENGINE_WARNING ? "警告" : "提示";
}

static const char *masked_of(const struct engine_report *r, const char *pseud)
{
    for (size_t i = 0; i < r->n_trainees; i++) {
        if (strcmp(r->trainees[i].trainee, pseud) == 0)
            return r->trainees[i].masked;
    }
    return pseud;
}

static const char *const classes_cols[] = {"班级",     "机构",         "区",           "职业代码",
                                           "等级",     "学员数",       "应出勤学时",   "实出勤学时",
                                           "出勤率",   "计划线上占比", "实际线上占比", "录像覆盖率",
                                           "考核人数", "通过人数",     "考核通过率",   "在册通过率",
                                           "严重问题", "警告",         "提示",         NULL};
static const char *const sessions_cols[] = {
    "班级",     "场次",     "方式",       "围栏",     "开始",       "结束", "已举行",
    "计划学时", "出勤人数", "实出勤学时", "录像学时", "录像覆盖率", NULL};
static const char *const trainees_cols[] = {
    "班级",         "学员",     "证件号",   "在校学生", "应出勤学时",
    "实出勤学时",   "线下学时", "线上学时", "出勤率",   "线上占比",
    "复核影响学时", "考核",     "未应点名", "问题数",   NULL};
static const char *const findings_cols[] = {"班级", "级别",     "类型",   "对象类型", "对象",
                                            "学员", "场次",     "时间",   "说明",     "证据",
                                            "复核", "复核理由", "复核人", NULL};

static int table_rows(struct sink *s, const struct engine_report *const *rs, size_t n,
                      enum report_table table)
{
    int rc = RC_OK;
    for (size_t k = 0; k < n && rc == RC_OK; k++) {
        const struct engine_report *r = rs[k];
        int64_t mph = r->policy.minutes_per_hour;
        if (table == REPORT_CLASSES) {
            struct cell c[] = {cs(r->class_id),
                               cs(r->institution),
                               cs(r->district),
                               cs(r->occupation),
                               cs(catalogue_level_name_zh(r->level)),
                               cint(r->enrolled),
                               chours(r->roster_scheduled_ms, mph),
                               chours(r->roster_attended_ms, mph),
                               crate(r->roster_attended_ms, r->roster_scheduled_ms),
                               crate(r->online_planned_ms, r->planned_ms),
                               crate(r->roster_online_ms, r->roster_attended_ms),
                               crate(r->recorded_ms, r->offline_held_ms),
                               cint(r->assessed),
                               cint(r->passed),
                               crate((int64_t)r->passed, (int64_t)r->assessed),
                               crate((int64_t)r->passed, (int64_t)r->enrolled),
                               cint(r->by_severity[ENGINE_SERIOUS]),
                               cint(r->by_severity[ENGINE_WARNING]),
                               cint(r->by_severity[ENGINE_INFO])};
            rc = s->row(s, c, sizeof c / sizeof c[0]);
        } else if (table == REPORT_SESSIONS) {
            for (size_t i = 0; i < r->n_sessions && rc == RC_OK; i++) {
                const struct engine_session *e = &r->sessions[i];
                bool off = e->mode == PLAN_OFFLINE;
                struct cell c[] = {
                    cs(r->class_id),
                    cs(e->id),
                    cs(off ? "线下" : "线上"),
                    cs(e->fence),
                    ctime_ms(e->start_ms),
                    ctime_ms(e->end_ms),
                    cs(e->held ? "是" : "否"),
                    chours(e->end_ms - e->start_ms, mph),
                    cint(e->present),
                    chours(e->attended_ms, mph),
                    off ? chours(e->recorded_ms, mph) : (struct cell){C_NONE, NULL, 0},
                    off ? crate(e->recorded_ms, e->held ? e->end_ms - e->start_ms : 0)
                        : (struct cell){C_NONE, NULL, 0}};
                rc = s->row(s, c, sizeof c / sizeof c[0]);
            }
        } else if (table == REPORT_TRAINEES) {
            for (size_t i = 0; i < r->n_trainees && rc == RC_OK; i++) {
                const struct engine_trainee *t = &r->trainees[i];
                size_t nf = 0;
                for (size_t f = 0; f < r->n_findings; f++)
                    nf += strcmp(r->findings[f].trainee, t->trainee) == 0;
                struct cell c[] = {
                    cs(r->class_id),
                    cs(t->name),
                    cs(t->masked),
                    cs(t->student ? "是" : "否"),
                    chours(t->scheduled_ms, mph),
                    chours(t->attended_ms, mph),
                    chours(t->offline_ms, mph),
                    chours(t->online_ms, mph),
                    crate(t->attended_ms, t->scheduled_ms),
                    (struct cell){C_RATE, NULL, engine_ratio(t->online_ms, t->attended_ms, NULL)},
                    chours(t->attended_ms - t->attended_unreviewed_ms, mph),
                    cs(t->passed     ? "通过"
                       : t->assessed ? "未通过"
                                     : "未考核"),
                    cint(t->rollcalls_missed),
                    cint(nf)};
                rc = s->row(s, c, sizeof c / sizeof c[0]);
            }
        } else {
            for (size_t i = 0; i < r->n_findings && rc == RC_OK; i++) {
                const struct engine_finding *f = &r->findings[i];
                char ev[ENGINE_EVIDENCE_MAX * (EVENT_UUID_LEN + 1) + 1] = "";
                size_t used = 0;
                for (size_t e = 0; e < f->n_evidence; e++) {
                    int w =
                        snprintf(ev + used, sizeof ev - used, "%s%s", e ? " " : "", f->evidence[e]);
                    if (w > 0)
                        used += (size_t)w;
                }
                const char *subject =
                    f->subject_kind == ENGINE_S_TRAINEE ? masked_of(r, f->subject) : f->subject;
                struct cell c[] = {cs(r->class_id),
                                   cs(severity_zh(f->severity)),
                                   cs(engine_finding_name(f->kind)),
                                   cs(engine_subject_name(f->subject_kind)),
                                   cs(subject),
                                   cs(f->trainee[0] ? masked_of(r, f->trainee) : ""),
                                   cs(f->session),
                                   ctime_ms(f->at_ms),
                                   cs(f->detail),
                                   cs(ev),
                                   cs(f->reviewed ? (f->approved ? "批准" : "驳回") : ""),
                                   cs(f->review_reason),
                                   cs(f->reviewer)};
                rc = s->row(s, c, sizeof c / sizeof c[0]);
            }
        }
    }
    return rc;
}

static const char *const *table_cols(enum report_table t)
{
    switch (t) {
    case REPORT_CLASSES: return classes_cols;
    case REPORT_SESSIONS: return sessions_cols;
    case REPORT_TRAINEES: return trainees_cols;
    case REPORT_FINDINGS: return findings_cols;
    default: return NULL;
    }
}

static const char *const totals_cols_inst[] = {
    "机构",       "班级数",     "在册人数",   "应出勤学时", "实出勤学时", "出勤率", "实际线上占比",
    "录像覆盖率", "考核通过率", "在册通过率", "严重问题",   "警告",       "提示",   NULL};
static const char *const totals_cols_dist[] = {
    "区",         "班级数",     "在册人数",   "应出勤学时", "实出勤学时", "出勤率", "实际线上占比",
    "录像覆盖率", "考核通过率", "在册通过率", "严重问题",   "警告",       "提示",   NULL};

static int totals_rows(struct sink *s, const struct engine_total *t, size_t n)
{
    int rc = RC_OK;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        struct cell c[] = {cs(t[i].key),
                           cint(t[i].classes),
                           cint(t[i].enrolled),
                           chours(t[i].roster_scheduled_ms, t[i].minutes_per_hour),
                           chours(t[i].roster_attended_ms, t[i].minutes_per_hour),
                           crate(t[i].roster_attended_ms, t[i].roster_scheduled_ms),
                           crate(t[i].roster_online_ms, t[i].roster_attended_ms),
                           crate(t[i].recorded_ms, t[i].offline_held_ms),
                           crate((int64_t)t[i].passed, (int64_t)t[i].assessed),
                           crate((int64_t)t[i].passed, (int64_t)t[i].enrolled),
                           cint(t[i].by_severity[ENGINE_SERIOUS]),
                           cint(t[i].by_severity[ENGINE_WARNING]),
                           cint(t[i].by_severity[ENGINE_INFO])};
        rc = s->row(s, c, sizeof c / sizeof c[0]);
    }
    return rc;
}

static const char *const subsidy_cols[] = {
    "班级",         "学员",           "证件号",     "在校学生", "职业代码",
    "等级",         "要求学时",       "实出勤学时", "线上占比", "补贴资格",
    "补贴金额(元)", "生活费补贴(元)", "拒绝规则",   "说明",     NULL};

/* Appends s to buf (capacity cap, *used bytes used), truncating; buf stays NUL-terminated. */
static void append_text(char *buf, size_t cap, size_t *used, const char *s)
{
    size_t room = cap - 1 - *used, len = strlen(s);
    if (len > room)
        len = room;
    memcpy(buf + *used, s, len);
    *used += len;
    buf[*used] = '\0';
}

static int subsidy_rows(struct sink *s, const struct subsidy_result *res, size_t n)
{
    int rc = RC_OK;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        const struct subsidy_result *x = &res[i];
        char why[SUBSIDY_RULES * (SUBSIDY_DETAIL_MAX + 2) + 1] = "";
        size_t used = 0;
        for (int k = 0; k < SUBSIDY_RULES; k++) {
            if (!x->failed[k])
                continue;
            if (used)
                append_text(why, sizeof why, &used, "; ");
            append_text(why, sizeof why, &used, subsidy_rule_name((enum subsidy_rule)k));
            append_text(why, sizeof why, &used, ": ");
            append_text(why, sizeof why, &used, x->detail[k]);
        }
        struct cell c[] = {cs(x->class_id),
                           cs(x->name),
                           cs(x->masked),
                           cs(x->student ? "是" : "否"),
                           cs(x->occupation),
                           cs(catalogue_level_name_zh(x->level)),
                           chours(x->required_ms, x->minutes_per_hour),
                           chours(x->attended_ms, x->minutes_per_hour),
                           (struct cell){C_RATE, NULL, x->online_share},
                           cs(x->eligible ? "是" : "否"),
                           cint((size_t)x->amount_yuan),
                           cint((size_t)x->living_allowance_yuan),
                           cs(x->refused_by ? x->refused_by : ""),
                           cs(why)};
        rc = s->row(s, c, sizeof c / sizeof c[0]);
    }
    return rc;
}

/* ---- CSV sink ------------------------------------------------------------------------------- */

struct csv_sink {
    struct sink base;
    struct dynbuf b; /* at most CSV_MAX bytes */
    char *err;
};

static int csv_put(struct csv_sink *c, const char *s, size_t n)
{
    int rc = dynbuf_add(&c->b, s, n);
    if (rc == RC_LIMIT)
        return rc_fail(c->err, RC_LIMIT, "CSV output over %d bytes", CSV_MAX);
    if (rc != RC_OK)
        return rc_fail(c->err, RC_NOMEM, "out of memory");
    return RC_OK;
}

/* Whether Excel (or LibreOffice) could read v as a formula: it starts with = + - @ after any
 * leading whitespace (ASCII, no-break space U+00A0, ideographic space U+3000), or with a tab
 * or CR, which some spreadsheets strip before looking (OWASP "CSV injection"). */
static bool csv_formula_like(const char *v)
{
    if (v[0] == '\t' || v[0] == '\r')
        return true;
    const unsigned char *p = (const unsigned char *)v;
    for (;;) {
        if (*p == ' ' || (*p >= '\t' && *p <= '\r'))
            p++;
        else if (p[0] == 0xc2 && p[1] == 0xa0)
            p += 2;
        else if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
            p += 3;
        else
            break;
    }
    return *p == '=' || *p == '+' || *p == '-' || *p == '@';
}

static int csv_row(struct sink *s, const struct cell *cells, size_t n)
{
    struct csv_sink *c = (struct csv_sink *)s;
    int rc = RC_OK;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        char num[64];
        if (i)
            rc = csv_put(c, ",", 1);
        if (rc)
            break;
        switch (cells[i].k) {
        case C_STR: {
            const char *v = cells[i].s;
            /* Quote when needed; what Excel would read as a formula gets a leading '. */
            bool quote = strpbrk(v, ",\"\r\n") != NULL;
            bool formula = csv_formula_like(v);
            if (!quote && !formula) {
                rc = csv_put(c, v, strlen(v));
                break;
            }
            rc = csv_put(c, "\"", 1);
            if (!rc && formula)
                rc = csv_put(c, "'", 1);
            for (const char *p = v; *p && rc == RC_OK; p++)
                rc = *p == '"' ? csv_put(c, "\"\"", 2) : csv_put(c, p, 1);
            if (!rc)
                rc = csv_put(c, "\"", 1);
            break;
        }
        case C_HOURS:
            snprintf(num, sizeof num, "%.2f", cells[i].v);
            rc = csv_put(c, num, strlen(num));
            break;
        case C_RATE:
            snprintf(num, sizeof num, "%.2f%%", cells[i].v * 100.0);
            rc = csv_put(c, num, strlen(num));
            break;
        case C_INT:
            snprintf(num, sizeof num, "%.0f", cells[i].v);
            rc = csv_put(c, num, strlen(num));
            break;
        case C_TIME:
            if (ts_format_shanghai((int64_t)cells[i].v, num) == RC_OK)
                rc = csv_put(c, num, strlen(num));
            break;
        case C_NONE: break;
        }
    }
    if (rc == RC_OK)
        rc = csv_put(c, "\r\n", 2);
    return rc;
}

static int csv_finish(struct csv_sink *c, int rc, char **out, size_t *len)
{
    if (!rc && !(*out = dynbuf_take(&c->b, len)))
        rc = rc_fail(c->err, RC_NOMEM, "out of memory");
    dynbuf_free(&c->b);
    return rc;
}

int report_csv(const struct engine_report *const *reports, size_t n, enum report_table table,
               char **out, size_t *len, char *err)
{
    const char *const *cols = table_cols(table);
    if (!cols)
        return rc_fail(err, RC_INVAL, "unknown report table");
    struct csv_sink c = {.base = {csv_row}, .err = err};
    dynbuf_init(&c.b, CSV_MAX);
    int rc = csv_put(&c, "\xef\xbb\xbf", 3);
    if (!rc)
        rc = header(&c.base, cols);
    if (!rc)
        rc = table_rows(&c.base, reports, n, table);
    return csv_finish(&c, rc, out, len);
}

int report_subsidy_csv(const struct subsidy_result *res, size_t n, char **out, size_t *len,
                       char *err)
{
    struct csv_sink c = {.base = {csv_row}, .err = err};
    dynbuf_init(&c.b, CSV_MAX);
    int rc = csv_put(&c, "\xef\xbb\xbf", 3);
    if (!rc)
        rc = header(&c.base, subsidy_cols);
    if (!rc)
        rc = subsidy_rows(&c.base, res, n);
    return csv_finish(&c, rc, out, len);
}

/* ---- XLSX sink ------------------------------------------------------------------------------- */

/* Column widths fit the widest cell as shown (in Excel's character units, a CJK character
 * counting two), plus a little room, capped so a long detail text does not make a column
 * wider than a screen. */
#define XLSX_WIDTH_PAD 2.0
#define XLSX_WIDTH_MIN 6.0
#define XLSX_WIDTH_MAX 60.0
#define XLSX_TIME_FORMAT "yyyy-mm-dd hh:mm:ss"

struct xlsx_sink {
    struct sink base;
    lxw_worksheet *ws;
    lxw_format *pct, *num, *bold, *time;
    lxw_row_t row;
    size_t ncols;
    double width[COLS_MAX];
    char *err;
};

/* Display width of UTF-8 text: East Asian wide and full-width characters count two. */
static double text_width(const char *s)
{
    double w = 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    while (left) {
        /* the sequence's length from core/utf8; not UTF-8: one column per byte */
        const char *why;
        size_t n = utf8_seq(p, left, &why);
        uint32_t cp = n ? (uint32_t)(*p & (n == 1 ? 0x7f : 0x7f >> n)) : '?';
        for (size_t i = 1; i < n; i++)
            cp = cp << 6 | (uint32_t)(p[i] & 0x3f);
        if (!n)
            n = 1;
        bool wide = (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
                    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
                    (cp >= 0x20000 && cp <= 0x3fffd);
        w += wide ? 2 : 1;
        p += n;
        left -= n;
    }
    return w;
}

/* An instant as the Asia/Shanghai wall-clock date-time Excel stores (it has no zones). */
static bool shanghai_datetime(int64_t ms, lxw_datetime *dt)
{
    struct ts_civil c;
    if (ms <= 0 || ts_shanghai_civil(ms, &c) != RC_OK)
        return false;
    *dt = (lxw_datetime){.year = c.year,
                         .month = c.month,
                         .day = c.day,
                         .hour = c.hour,
                         .min = c.minute,
                         .sec = c.second + (double)c.milli / 1000.0};
    return true;
}

static int xlsx_row(struct sink *s, const struct cell *cells, size_t n)
{
    struct xlsx_sink *x = (struct xlsx_sink *)s;
    lxw_error e = LXW_NO_ERROR;
    for (size_t i = 0; i < n && e == LXW_NO_ERROR; i++) {
        lxw_col_t col = (lxw_col_t)i;
        char shown[64] = "";
        double w = 0;
        switch (cells[i].k) {
        case C_STR:
            if (cells[i].s[0])
                e = worksheet_write_string(x->ws, x->row, col, cells[i].s,
                                           x->row == 0 ? x->bold : NULL);
            w = text_width(cells[i].s);
            break;
        case C_HOURS:
            e = worksheet_write_number(x->ws, x->row, col, cells[i].v, x->num);
            snprintf(shown, sizeof shown, "%.2f", cells[i].v);
            break;
        case C_RATE:
            e = worksheet_write_number(x->ws, x->row, col, cells[i].v, x->pct);
            snprintf(shown, sizeof shown, "%.2f%%", cells[i].v * 100.0);
            break;
        case C_INT:
            e = worksheet_write_number(x->ws, x->row, col, cells[i].v, NULL);
            snprintf(shown, sizeof shown, "%.0f", cells[i].v);
            break;
        case C_TIME: {
            lxw_datetime dt;
            if (shanghai_datetime((int64_t)cells[i].v, &dt)) {
                e = worksheet_write_datetime(x->ws, x->row, col, &dt, x->time);
                w = (double)(sizeof XLSX_TIME_FORMAT - 1);
            }
            break;
        }
        case C_NONE: break;
        }
        if (shown[0])
            w = (double)strlen(shown);
        if (i < COLS_MAX && w > x->width[i])
            x->width[i] = w;
    }
    if (e != LXW_NO_ERROR)
        return rc_fail(x->err, RC_IO, "xlsx: %s", lxw_strerror(e));
    if (n > x->ncols)
        x->ncols = n < COLS_MAX ? n : COLS_MAX;
    x->row++;
    return RC_OK;
}

/* Sets the current sheet's column widths from the widest cells written. */
static void fit_columns(struct xlsx_sink *x)
{
    for (size_t i = 0; x->ws && i < x->ncols; i++) {
        double w = x->width[i] + XLSX_WIDTH_PAD;
        w = w < XLSX_WIDTH_MIN ? XLSX_WIDTH_MIN : w > XLSX_WIDTH_MAX ? XLSX_WIDTH_MAX : w;
        worksheet_set_column(x->ws, (lxw_col_t)i, (lxw_col_t)i, w, NULL);
    }
}

static int sheet(lxw_workbook *wb, struct xlsx_sink *x, const char *name, const char *const *cols)
{
    fit_columns(x);
    x->ws = workbook_add_worksheet(wb, name);
    if (!x->ws)
        return rc_fail(x->err, RC_NOMEM, "xlsx: cannot add sheet %s", name);
    x->row = 0;
    x->ncols = 0;
    memset(x->width, 0, sizeof x->width);
    worksheet_freeze_panes(x->ws, 1, 0);
    return header(&x->base, cols);
}

int report_xlsx(const char *path, const struct engine_report *const *reports, size_t n,
                const struct engine_total *institutions, size_t n_institutions,
                const struct engine_total *districts, size_t n_districts,
                const struct subsidy_result *subsidy, size_t n_subsidy, char *err)
{
    lxw_workbook *wb = workbook_new(path);
    if (!wb)
        return rc_fail(err, RC_IO, "xlsx: cannot create %s", path);
    struct xlsx_sink x = {.base = {xlsx_row}, .err = err};
    x.pct = workbook_add_format(wb);
    x.num = workbook_add_format(wb);
    x.bold = workbook_add_format(wb);
    x.time = workbook_add_format(wb);
    int rc = RC_OK;
    if (!x.pct || !x.num || !x.bold || !x.time) {
        rc = rc_fail(err, RC_NOMEM, "xlsx: out of memory");
        goto out;
    }
    format_set_num_format(x.pct, "0.00%");
    format_set_num_format(x.num, "0.00");
    format_set_bold(x.bold);
    format_set_num_format(x.time, XLSX_TIME_FORMAT);
    static const struct {
        const char *name;
        enum report_table t;
    } sheets[] = {{"班级", REPORT_CLASSES},
                  {"场次", REPORT_SESSIONS},
                  {"学员", REPORT_TRAINEES},
                  {"问题", REPORT_FINDINGS}};
    for (size_t i = 0; i < sizeof sheets / sizeof sheets[0] && rc == RC_OK; i++) {
        rc = sheet(wb, &x, sheets[i].name, table_cols(sheets[i].t));
        if (!rc)
            rc = table_rows(&x.base, reports, n, sheets[i].t);
    }
    if (!rc && n_institutions) {
        rc = sheet(wb, &x, "机构", totals_cols_inst);
        if (!rc)
            rc = totals_rows(&x.base, institutions, n_institutions);
    }
    if (!rc && n_districts) {
        rc = sheet(wb, &x, "区", totals_cols_dist);
        if (!rc)
            rc = totals_rows(&x.base, districts, n_districts);
    }
    if (!rc && n_subsidy) {
        rc = sheet(wb, &x, "补贴", subsidy_cols);
        if (!rc)
            rc = subsidy_rows(&x.base, subsidy, n_subsidy);
    }
    if (!rc)
        fit_columns(&x);
out:;
    lxw_error e = workbook_close(wb);
    if (rc == RC_OK && e != LXW_NO_ERROR)
        rc = rc_fail(err, RC_IO, "xlsx: writing %s: %s", path, lxw_strerror(e));
    return rc;
}

/* ---- budget workbook ---------------------------------------------------------------------- */

static struct cell cyuan(int64_t v)
{
    return (struct cell){C_INT, NULL, (double)v};
}

int report_budget_xlsx(const char *path, const struct budget *b, char *err)
{
    static const char *const names[BUDGET_DIMS] = {"职业", "等级", "区", "机构"};
    static const char *const dim_col[BUDGET_DIMS] = {"职业 occupation", "等级 level", "区 district",
                                                     "机构 institution"};
    lxw_workbook *wb = workbook_new(path);
    if (!wb)
        return rc_fail(err, RC_IO, "xlsx: cannot create %s", path);
    struct xlsx_sink x = {.base = {xlsx_row}, .err = err};
    x.pct = workbook_add_format(wb);
    x.num = workbook_add_format(wb);
    x.bold = workbook_add_format(wb);
    x.time = workbook_add_format(wb);
    int rc = RC_OK;
    if (!x.pct || !x.num || !x.bold || !x.time) {
        rc = rc_fail(err, RC_NOMEM, "xlsx: out of memory");
        goto out;
    }
    format_set_bold(x.bold);
    for (int d = 0; d < BUDGET_DIMS && rc == RC_OK; d++) {
        const char *cols[] = {dim_col[d],
                              "申报班级 classes claimed",
                              "申报金额(元) claimed yuan",
                              "审核通过班级 classes approved",
                              "审核通过金额(元) approved yuan",
                              "拨付班级 classes paid",
                              "拨付金额(元) paid yuan",
                              NULL};
        rc = sheet(wb, &x, names[d], cols);
        for (size_t i = 0; rc == RC_OK && i <= b->n[d]; i++) {
            bool total = i == b->n[d];
            const struct budget_row *r = total ? NULL : &b->rows[d][i];
            const struct budget_sum *c = total ? &b->claimed : &r->claimed;
            const struct budget_sum *a = total ? &b->approved : &r->approved;
            const struct budget_sum *p = total ? &b->paid : &r->paid;
            struct cell row[] = {cs(total ? "合计 total" : r->key),
                                 cint(c->classes),
                                 cyuan(c->yuan),
                                 cint(a->classes),
                                 cyuan(a->yuan),
                                 cint(p->classes),
                                 cyuan(p->yuan)};
            rc = x.base.row(&x.base, row, sizeof row / sizeof row[0]);
        }
    }
    if (rc == RC_OK) {
        static const char *const cols[] = {"预测 forecast", "值 value", NULL};
        rc = sheet(wb, &x, "预测", cols);
        const struct {
            const char *what;
            int64_t v;
        } f[] = {
            {"预测年份 year", b->year + 1},
            {"已申请开班 classes applied for", (int64_t)b->applied_classes},
            {"学员 trainees", b->applied_trainees},
            {"按目录全额(元) catalogue amounts yuan", b->applied_catalogue_yuan},
            {"本年申报持证 certified in this year's claims", b->claimed_certified},
            {"本年申报报名 enrolled in this year's claims", b->claimed_enrolled},
            {"按申请估算(元) from applications yuan", b->from_applications_yuan},
            {"上年拨付(元) paid the year before yuan", b->paid_previous.yuan},
            {"按趋势估算(元) from the trend yuan", b->from_trend_yuan},
            {"建议预算(元) proposal yuan", b->proposal_yuan},
        };
        for (size_t i = 0; rc == RC_OK && i < sizeof f / sizeof f[0]; i++) {
            struct cell row[] = {cs(f[i].what), cyuan(f[i].v)};
            rc = x.base.row(&x.base, row, 2);
        }
    }
    if (!rc)
        fit_columns(&x);
out:;
    lxw_error e = workbook_close(wb);
    if (rc == RC_OK && e != LXW_NO_ERROR)
        rc = rc_fail(err, RC_IO, "xlsx: writing %s: %s", path, lxw_strerror(e));
    return rc;
}

int report_totals_xlsx(const char *path, const struct report_totals_sheet *sheets, size_t n,
                       char *err)
{
    lxw_workbook *wb = workbook_new(path);
    if (!wb)
        return rc_fail(err, RC_IO, "xlsx: cannot create %s", path);
    struct xlsx_sink x = {.base = {xlsx_row}, .err = err};
    x.pct = workbook_add_format(wb);
    x.num = workbook_add_format(wb);
    x.bold = workbook_add_format(wb);
    x.time = workbook_add_format(wb);
    int rc = RC_OK;
    if (!x.pct || !x.num || !x.bold || !x.time) {
        rc = rc_fail(err, RC_NOMEM, "xlsx: out of memory");
        goto out;
    }
    format_set_num_format(x.pct, "0.00%");
    format_set_num_format(x.num, "0.00");
    format_set_bold(x.bold);
    const char *cols[sizeof totals_cols_inst / sizeof totals_cols_inst[0]];
    memcpy(cols, totals_cols_inst, sizeof cols);
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        cols[0] = sheets[i].key_col;
        rc = sheet(wb, &x, sheets[i].name, cols);
        if (!rc)
            rc = totals_rows(&x.base, sheets[i].t, sheets[i].n);
    }
    if (!rc)
        fit_columns(&x);
out:;
    lxw_error e = workbook_close(wb);
    if (rc == RC_OK && e != LXW_NO_ERROR)
        rc = rc_fail(err, RC_IO, "xlsx: writing %s: %s", path, lxw_strerror(e));
    return rc;
}

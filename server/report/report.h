/* Report outputs of engine reports: JSON (INTERFACES.md "Attendance report", plus the policy,
 * sessions, reviews), CSV for Excel (UTF-8 with BOM, CRLF, Chinese headers) and XLSX
 * (libxlsxwriter) with a sheet per level of detail. docs/ATTENDANCE.md lists every column.
 *
 * Invariants:
 * - Output is a function of the report only: the same report gives the same bytes (JSON and
 *   CSV; XLSX up to the timestamp libxlsxwriter puts in docProps).
 * - JSON rates are fractions in [0, 1] or null when their denominator is 0; hours are decimal
 *   clock hours. CSV and XLSX columns named 学时 are in 学时 of policy.minutes_per_hour
 *   minutes; rates there are percentages. */
#ifndef ROLLCALL_REPORT_H
#define ROLLCALL_REPORT_H

#include "engine/budget.h"
#include "engine/engine.h"
#include "engine/subsidy.h"

#include <cjson/cJSON.h>
#include <stddef.h>

enum report_table {
    REPORT_CLASSES = 0, /* 班级: one row per class */
    REPORT_SESSIONS,    /* 场次: one row per session */
    REPORT_TRAINEES,    /* 学员: one row per trainee */
    REPORT_FINDINGS,    /* 问题: one row per finding */
};

/* The report as a JSON object (caller frees with cJSON_Delete). Returns 0 or RC_NOMEM. */
int report_json_object(const struct engine_report *r, cJSON **out, char *err);

/* The report as compact JSON text, NUL-terminated (caller frees with free()). Returns 0 or
 * RC_NOMEM. */
int report_json(const struct engine_report *r, char **out, char *err);

/* One table over n reports as CSV: UTF-8 BOM, CRLF, Chinese header row; *out is caller's
 * (free()), *len its length. Returns 0, RC_INVAL (unknown table) or RC_NOMEM. */
int report_csv(const struct engine_report *const *reports, size_t n, enum report_table table,
               char **out, size_t *len, char *err);

/* Subsidy eligibility as CSV, as report_csv. */
int report_subsidy_csv(const struct subsidy_result *res, size_t n, char **out, size_t *len,
                       char *err);

/* Writes an XLSX workbook to path: sheets 班级, 场次, 学员, 问题, then 机构 and 区 when totals
 * are given (n_* > 0) and 补贴 when subsidy results are. Percentages use the "0.00%" format.
 * Returns 0, RC_IO or RC_NOMEM with err. */
int report_xlsx(const char *path, const struct engine_report *const *reports, size_t n,
                const struct engine_total *institutions, size_t n_institutions,
                const struct engine_total *districts, size_t n_districts,
                const struct subsidy_result *subsidy, size_t n_subsidy, char *err);

/* Writes the budget report (engine/budget.h) as a workbook: a sheet per dimension (职业, 等级,
 * 区, 机构) with a 合计 total row, and 预测 with the forecast's figures. Returns 0, RC_IO or
 * RC_NOMEM with err. */
int report_budget_xlsx(const char *path, const struct budget *b, char *err);

/* One sheet of totals for report_totals_xlsx: its name, the heading of its key column (区,
 * 机构, 班级 ...) and its rows. */
struct report_totals_sheet {
    const char *name, *key_col;
    const struct engine_total *t;
    size_t n;
};
/* Writes an XLSX workbook of totals to path: one sheet per entry of sheets, the columns of the
 * 机构/区 sheets of report_xlsx (rates as "0.00%", hours as "0.00"). 0, RC_IO or RC_NOMEM. */
int report_totals_xlsx(const char *path, const struct report_totals_sheet *sheets, size_t n,
                       char *err);

#endif

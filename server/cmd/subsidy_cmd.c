/* rollcall-server subsidy: the subsidy procedure from the command line (docs/SUBSIDY.md), the
 * same steps as the HTTP routes: application, review, claim, audit, notice, payment. The
 * operator at the collector acts for the institution (apply, claim) or the city bureau (the
 * rest); --by names the person, recorded as "cli:NAME" with every step. */
#include "cmd/commands.h"
#include "engine/flow.h"
#include "engine/workdays.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server [--db URL] subsidy STEP CLASS --by NAME [--on DATE] [options]\n"
            "       rollcall-server [--db URL] subsidy status CLASS\n"
            "       rollcall-server [--db URL] subsidy queue [--on DATE]\n"
            "\n"
            "Steps (docs/SUBSIDY.md):\n"
            "  apply          the institution submits (or resubmits) the class application\n"
            "  approve        the city approves the application\n"
            "  return         the city returns the application (--reason required)\n"
            "  claim          the institution claims the subsidy (application approved)\n"
            "  audit          the city audits the claim\n"
            "  return-claim   the city returns the claim (--reason required)\n"
            "  publish        the city publishes the list for the notice period (公示)\n"
            "  pay            the city records the payment (--amount, --reference)\n"
            "  allowance-claim    the institution claims a trainee's living allowance\n"
            "                     (生活费补贴; --trainee; the class's claim paid)\n"
            "  allowance-audit    the city audits it\n"
            "  allowance-return   the city returns it (--reason required)\n"
            "  allowance-publish  the city publishes it for the notice period (公示)\n"
            "  allowance-pay      the city records its payment (--reference; --amount\n"
            "                     defaults to 1000)\n"
            "status prints a class's procedure as JSON; queue the applications waiting for\n"
            "review or reviewed late (the city's queue).\n"
            "\n"
            "Options:\n"
            "  --by NAME           who acts (recorded with the step)\n"
            "  --on DATE           the step's date, YYYY-MM-DD (default today)\n"
            "  --reason TEXT       why (required to return)\n"
            "  --trainee T         allowance: the trainee's masked number or pseudonym\n"
            "  --notice-days N     publish: the notice period in working days (default %d)\n"
            "  --amount YUAN       pay: the amount paid\n"
            "  --reference REF     pay: the payment's reference\n"
            "  --calendar FILE     the working-day calendar (default the installed one)\n"
            "  --weekend-fallback  outside the calendar count weekends only (flagged)\n",
            FLOW_NOTICE_WORKDAYS_DEFAULT);
}

struct step_name {
    const char *name;
    enum procedure_kind kind;
    enum procedure_action action;
    enum procedure_actor actor;
};

static const struct step_name steps[] = {
    {"apply", PROC_APPLICATION, PROC_A_SUBMIT, PROC_BY_INSTITUTION},
    {"approve", PROC_APPLICATION, PROC_A_APPROVE, PROC_BY_CITY},
    {"return", PROC_APPLICATION, PROC_A_RETURN, PROC_BY_CITY},
    {"claim", PROC_CLAIM, PROC_A_SUBMIT, PROC_BY_INSTITUTION},
    {"audit", PROC_CLAIM, PROC_A_AUDIT, PROC_BY_CITY},
    {"return-claim", PROC_CLAIM, PROC_A_RETURN, PROC_BY_CITY},
    {"publish", PROC_CLAIM, PROC_A_PUBLISH, PROC_BY_CITY},
    {"pay", PROC_CLAIM, PROC_A_PAY, PROC_BY_CITY},
    {"allowance-claim", PROC_ALLOWANCE, PROC_A_SUBMIT, PROC_BY_INSTITUTION},
    {"allowance-audit", PROC_ALLOWANCE, PROC_A_AUDIT, PROC_BY_CITY},
    {"allowance-return", PROC_ALLOWANCE, PROC_A_RETURN, PROC_BY_CITY},
    {"allowance-publish", PROC_ALLOWANCE, PROC_A_PUBLISH, PROC_BY_CITY},
    {"allowance-pay", PROC_ALLOWANCE, PROC_A_PAY, PROC_BY_CITY},
};

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || end == s || *end || v < lo || v > hi)
        return RC_INVAL;
    *out = v;
    return RC_OK;
}

static int today(int64_t *ms, char *err)
{
    char d[TS_DATE_LEN + 1];
    if (ts_format_date(ts_now_ms(), d) != RC_OK)
        return rc_fail(err, RC_INVAL, "the clock is out of range");
    return ts_parse_date(d, ms, err);
}

static int print_json(cJSON *o, char *err)
{
    char *text = cJSON_Print(o);
    if (!text)
        return rc_fail(err, RC_NOMEM, "out of memory");
    printf("%s\n", text);
    free(text);
    return RC_OK;
}

int cmd_subsidy(int argc, char **argv, const struct server_globals *g)
{
    struct flow_request rq = {0};
    const char *by = NULL, *on = NULL, *calendar = NULL;
    static const struct option opts[] = {
        {"by", required_argument, NULL, 'b'},
        {"on", required_argument, NULL, 'o'},
        {"reason", required_argument, NULL, 'r'},
        {"notice-days", required_argument, NULL, 'n'},
        {"amount", required_argument, NULL, 'a'},
        {"reference", required_argument, NULL, 'f'},
        {"calendar", required_argument, NULL, 'c'},
        {"weekend-fallback", no_argument, NULL, 'w'},
        {"trainee", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': by = optarg; break;
        case 'o': on = optarg; break;
        case 'r': rq.reason = optarg; break;
        case 't': rq.trainee = optarg; break;
        case 'n':
            if (parse_i64(optarg, 1, FLOW_NOTICE_WORKDAYS_MAX, &rq.notice_workdays) != RC_OK) {
                fprintf(stderr, "rollcall-server subsidy: --notice-days must be 1..%d\n",
                        FLOW_NOTICE_WORKDAYS_MAX);
                return EXIT_USAGE;
            }
            break;
        case 'a':
            if (parse_i64(optarg, 1, INT64_C(1000000000), &rq.amount_yuan) != RC_OK) {
                fprintf(stderr, "rollcall-server subsidy: --amount must be whole yuan > 0\n");
                return EXIT_USAGE;
            }
            break;
        case 'f': rq.reference = optarg; break;
        case 'c': calendar = optarg; break;
        case 'w': rq.calendar_flags |= WORKDAYS_WEEKEND_FALLBACK; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rollcall-server subsidy: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server subsidy: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    int rest = argc - optind;
    const char *sub = rest > 0 ? argv[optind] : NULL;
    const struct step_name *stp = NULL;
    for (size_t i = 0; sub && i < sizeof steps / sizeof steps[0]; i++) {
        if (strcmp(sub, steps[i].name) == 0)
            stp = &steps[i];
    }
    bool status_cmd = sub && strcmp(sub, "status") == 0, queue = sub && strcmp(sub, "queue") == 0;
    if (!stp && !status_cmd && !queue) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (rest != (queue ? 1 : 2)) {
        fprintf(stderr, "rollcall-server subsidy: %s takes %s (see --help)\n", sub,
                queue ? "no argument" : "CLASS");
        return EXIT_USAGE;
    }
    if (stp && (stp->kind == PROC_ALLOWANCE) != (rq.trainee != NULL)) {
        fprintf(stderr, "rollcall-server subsidy: %s %s --trainee\n", sub,
                rq.trainee ? "takes no" : "needs");
        return EXIT_USAGE;
    }
    if (stp && (!by || !*by)) {
        fprintf(stderr, "rollcall-server subsidy: %s needs --by NAME\n", sub);
        return EXIT_USAGE;
    }
    char err[ERR_LEN] = "";
    int64_t on_ms = 0;
    if (on ? ts_parse_date(on, &on_ms, err) != RC_OK : today(&on_ms, err) != RC_OK) {
        fprintf(stderr, "rollcall-server subsidy: --on: %s\n", err);
        return EXIT_USAGE;
    }
    char who[STORE_ROLE_MAX + 1];
    snprintf(who, sizeof who, "cli:%s", by ? by : "");
    struct workdays *w = malloc(sizeof *w);
    store *st = NULL;
    cJSON *o = NULL;
    int status = EXIT_REFUSED;
    if (!w) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    if (workdays_load(calendar, w, err) != RC_OK || store_open(g->db_url, 0, &st, err) != RC_OK ||
        store_check_schema(st, err) != RC_OK)
        goto out;
    if (stp) {
        struct store_step done;
        rq.kind = stp->kind;
        rq.action = stp->action;
        rq.actor = stp->actor;
        rq.class_id = argv[optind + 1];
        rq.by = who;
        rq.on_ms = on_ms;
        rq.now_ms = ts_now_ms();
        if (flow_act(st, w, &rq, &done, err) != RC_OK)
            goto out;
        if (stp->kind == PROC_ALLOWANCE)
            printf("allowance of %s (class %s): %s\n", rq.trainee, rq.class_id, done.state);
        else
            printf("%s of %s: %s%s%s\n", done.kind, done.subject, done.state,
                   done.finding[0] ? " — finding " : "", done.finding);
    } else if (status_cmd) {
        if (flow_status(st, w, argv[optind + 1], rq.calendar_flags, ts_now_ms(), &o, err) !=
                RC_OK ||
            print_json(o, err) != RC_OK)
            goto out;
    } else {
        if (flow_review_queue(st, w, rq.calendar_flags, on_ms, &o, err) != RC_OK ||
            print_json(o, err) != RC_OK)
            goto out;
    }
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server subsidy: %s\n", err);
    cJSON_Delete(o);
    store_close(st);
    free(w);
    return status;
}

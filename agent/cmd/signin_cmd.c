/* signin / signout / confirm (a roll-call), and rollcall (the open ones): through the running daemon's control socket when there is one (it has a
 * fresh fix at once), else one-shot: open the outbox, read gpsd for up to the profile's
 * fix_timeout_s, judge, record. */
#include "cmd/commands.h"
#include "control.h"
#include "gnss.h"
#include "kiosk.h"
#include "log.h"
#include "rc.h"
#include "rollcall.h"
#include "signin.h"
#include "timeutil.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out, const char *name)
{
    if (strcmp(name, "confirm") == 0) {
        fprintf(out,
                "usage: rollcall-agent [--config FILE] confirm --trainee ID --class C --session S "
                "--rollcall R [--json]\n"
                "\n"
                "Records the trainee's answer to the random roll-call (随机点名) R of the class's\n"
                "session S, located and judged like a sign-in. The roll-call must be open now\n"
                "(`rollcall-agent rollcall` lists the open ones) and the trainee on the roster.\n"
                "Exit status: 0 recorded, 1 nothing recorded, 2 usage, 4 refused (not on the\n"
                "roster, no such roll-call open, or its window has closed).\n");
        return;
    }
    fprintf(out,
            "usage: rollcall-agent [--config FILE] %s --trainee ID --class C [--session S] "
            "[--override-roster] [--json]\n"
            "\n"
            "Records a %s of the trainee with the 18-character resident ID number, located by\n"
            "the kiosk's current GNSS fix (or its surveyed position) and judged against the\n"
            "venue fence. The event is recorded whatever the verdict; outside, uncertain and\n"
            "unlocated ones are flagged for review. Goes through the running daemon when there\n"
            "is one, else reads gpsd itself (waiting up to the profile's gnss.fix_timeout_s).\n"
            "Once the kiosk holds a schedule from the collector, the trainee must be on the\n"
            "roster of a session of the class running now (docs/AGENT.md).\n"
            "\n"
            "  --trainee ID   resident identity number (GB 11643); never stored in clear\n"
            "  --class C      class id, e.g. TJ-2026-AI-0001\n"
            "  --session S    session id within the class (optional)\n"
            "  --override-roster  an operator's override: record it although the schedule\n"
            "                 refuses it; the event is flagged and the collector makes a finding\n"
            "  --json         print the result as one JSON object\n"
            "Exit status: 0 recorded, 1 nothing recorded (the reason is printed), 2 usage,\n"
            "4 refused by the kiosk's schedule (not on the roster of a class running now).\n",
            name, strcmp(name, "signin") == 0 ? "sign-in" : "sign-out");
}

/* The fix for a one-shot sign-in: gpsd within the timeout, else the surveyed position, else
 * none. Never fails: a missing fix is recorded as no_fix. */
static void one_shot_fix(const struct config_gnss *cg, const struct gnss_config *gc,
                         struct gnss_fix *fix, int *have)
{
    *have = 0;
    char err[ERR_LEN];
    if (cg->source == CONFIG_GNSS_GPSD) {
        gnss_watcher *w = NULL;
        if (gnss_create(gc, &w, err) == RC_OK) {
            int rc = gnss_wait_fix(w, (int)(cg->fix_timeout_s * 1000), fix, err);
            gnss_destroy(w);
            if (rc == RC_OK) {
                *have = 1;
                return;
            }
        }
        log_msg(LOG_LVL_WARN, "no GNSS fix: %s", err);
    }
    if (gc->surveyed.set) {
        gnss_select(NULL, true, gnss_mono_ms(), gc->stale_after_ms, &gc->surveyed, gnss_real_ms(),
                    fix);
        *have = fix->source == GNSS_SRC_SURVEYED;
    }
}

/* The daemon's refusal codes that mean "refused by the schedule or the roll-call". */
static bool schedule_code(const char *code)
{
    static const char *const codes[] = {"not_on_roster", "no_session", "no_rollcall",
                                        "rollcall_closed", NULL};
    for (size_t i = 0; codes[i]; i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

static int via_daemon(const char *socket_path, const char *name, const struct signin_request *r,
                      int json, int *exit_code)
{
    char err[ERR_LEN];
    char reply[CONTROL_LINE_MAX];
    cJSON *req = cJSON_CreateObject();
    if (!req)
        return RC_NOMEM;
    cJSON_AddStringToObject(req, "cmd", name);
    cJSON_AddStringToObject(req, "trainee", r->trainee);
    cJSON_AddStringToObject(req, "class", r->class_id);
    if (r->session)
        cJSON_AddStringToObject(req, "session", r->session);
    if (r->override_roster)
        cJSON_AddStringToObject(req, "override", "roster");
    if (r->rollcall)
        cJSON_AddStringToObject(req, "rollcall", r->rollcall);
    char *line = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!line)
        return RC_NOMEM;
    int rc = control_request(socket_path, line, reply, sizeof reply, CONTROL_TIMEOUT_MS, err);
    memset(line, 0, strlen(line)); /* it held the clear ID number */
    cJSON_free(line);
    if (rc == RC_NOTFOUND)
        return rc;
    if (rc != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        *exit_code = EXIT_REFUSED;
        return RC_OK;
    }
    cJSON *ans = cJSON_Parse(reply);
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(ans, "ok");
    if (!cJSON_IsBool(ok)) {
        fprintf(stderr, "rollcall-agent: the daemon gave an unreadable answer\n");
        *exit_code = EXIT_REFUSED;
    } else if (cJSON_IsFalse(ok)) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(ans, "error");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(ans, "code");
        fprintf(stderr, "rollcall-agent: %s\n", cJSON_IsString(e) ? e->valuestring : "refused");
        *exit_code =
            cJSON_IsString(code) && schedule_code(code->valuestring) ? EXIT_SCHEDULE : EXIT_REFUSED;
    } else {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(ans, "text");
        const cJSON *result = cJSON_GetObjectItemCaseSensitive(ans, "result");
        if (json) {
            char *s = cJSON_PrintUnformatted(result);
            printf("%s\n", s ? s : "null");
            cJSON_free(s);
        } else {
            printf("%s\n", cJSON_IsString(text) ? text->valuestring : "recorded");
        }
        *exit_code = 0;
    }
    cJSON_Delete(ans);
    return RC_OK;
}

int cmd_signin(int argc, char **argv, const struct agent_globals *g)
{
    const char *name = argv[0];
    const char *trainee = NULL, *class_id = NULL, *session = NULL, *rollcall = NULL;
    int json = 0, override_roster = 0;
    static const struct option opts[] = {
        {"trainee", required_argument, NULL, 't'},  {"class", required_argument, NULL, 'c'},
        {"session", required_argument, NULL, 's'},  {"override-roster", no_argument, NULL, 'o'},
        {"rollcall", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "t:c:s:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 't': trainee = optarg; break;
        case 'c': class_id = optarg; break;
        case 's': session = optarg; break;
        case 'j': json = 1; break;
        case 'o': override_roster = 1; break;
        case 'r': rollcall = optarg; break;
        case 'h': usage(stdout, name); return 0;
        default: usage(stderr, name); return EXIT_USAGE;
        }
    }
    bool confirm = strcmp(name, "confirm") == 0;
    if (optind != argc || !trainee || !class_id || (confirm && (!session || !rollcall)) ||
        (!confirm && rollcall) || (confirm && override_roster)) {
        fprintf(stderr, "rollcall-agent: %s needs --trainee and --class%s (see --help)\n", name,
                confirm ? ", --session and --rollcall, and takes no --override-roster"
                        : "; --rollcall is for confirm");
        return EXIT_USAGE;
    }
    enum event_type type = confirm                       ? EVENT_ROLLCALL_CONFIRM
                           : strcmp(name, "signin") == 0 ? EVENT_SIGNIN
                                                         : EVENT_SIGNOUT;
    struct signin_request req = {.type = type,
                                 .trainee = trainee,
                                 .class_id = class_id,
                                 .session = session,
                                 .override_roster = override_roster != 0,
                                 .rollcall = rollcall};

    char err[ERR_LEN];
    /* Bad input is refused at once, before any wait for the daemon or a fix. */
    if (signin_check_request(&req, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: nothing recorded: %s\n", err);
        return EXIT_REFUSED;
    }
    struct kiosk *k = NULL;
    /* The config says where the daemon listens; read it first (cheap), then decide. */
    struct config_agent *cfg = malloc(sizeof *cfg);
    if (!cfg) {
        fprintf(stderr, "rollcall-agent: out of memory\n");
        return EXIT_REFUSED;
    }
    if (config_load(g->config_path, cfg, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        free(cfg);
        return EXIT_REFUSED;
    }
    int exit_code = EXIT_REFUSED;
    int rc = via_daemon(cfg->control_socket, name, &req, json, &exit_code);
    free(cfg);
    if (rc == RC_OK)
        return exit_code;

    if (kiosk_open(g->config_path, KIOSK_OUTBOX | KIOSK_FENCE | KIOSK_INST_KEY, &k, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        return EXIT_REFUSED;
    }
    struct gnss_fix fix;
    int have = 0;
    struct gnss_config gc;
    kiosk_gnss_config(k, &gc);
    one_shot_fix(&k->cfg.profile.gnss, &gc, &fix, &have);
    struct signin_result res;
    rc = signin_record(k, &req, have ? &fix : NULL, &res, err);
    kiosk_close(k);
    if (rc != RC_OK) {
        fprintf(stderr, "rollcall-agent: nothing recorded: %s\n", err);
        return rc == RC_AUTH && res.refusal != SIGNIN_REFUSED_NONE ? EXIT_SCHEDULE : EXIT_REFUSED;
    }
    char out[SIGNIN_JSON_MAX];
    if (json)
        signin_result_json(&res, out, sizeof out);
    else
        signin_result_text(&res, out, sizeof out);
    printf("%s\n", out);
    fflush(stdout);
    return 0;
}

static void rollcall_usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-agent [--config FILE] rollcall [--json]\n"
            "\n"
            "Lists the random roll-calls (随机点名) open now: class, session, roll-call id and\n"
            "its window. Asks the running daemon (which records each roll-call as it opens);\n"
            "without one, reads what the kiosk stored. Confirm one with `rollcall-agent\n"
            "confirm`.\n");
}

static void print_open(const char *class_id, const char *session, const char *id, const char *opens,
                       const char *closes)
{
    printf("%s %s %s %s .. %s\n", class_id, session, id, opens, closes);
}

int cmd_rollcall(int argc, char **argv, const struct agent_globals *g)
{
    int json = 0;
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = 1; break;
        case 'h': rollcall_usage(stdout); return 0;
        default: rollcall_usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        rollcall_usage(stderr);
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    char reply[CONTROL_LINE_MAX];
    struct kiosk *k = NULL;
    if (kiosk_open(g->config_path, KIOSK_OUTBOX, &k, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        return EXIT_REFUSED;
    }
    int rc = control_request(k->cfg.control_socket, "{\"cmd\":\"rollcall\"}", reply, sizeof reply,
                             CONTROL_TIMEOUT_MS, err);
    cJSON *ans = NULL;
    if (rc == RC_OK) {
        ans = cJSON_Parse(reply);
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(ans, "ok");
        if (!cJSON_IsTrue(ok)) {
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(ans, "error");
            fprintf(stderr, "rollcall-agent: %s\n",
                    cJSON_IsString(e) ? e->valuestring : "the daemon gave an unreadable answer");
            cJSON_Delete(ans);
            kiosk_close(k);
            return EXIT_REFUSED;
        }
    } else if (rc == RC_NOTFOUND) {
        /* no daemon: what the kiosk stored (nothing new is recorded without one) */
        const struct schedule *s = NULL;
        struct rollcall_open open[ROLLCALL_LIST_MAX];
        size_t n = 0;
        rc = signin_schedule(k, &s, err);
        if (rc == RC_OK)
            rc = rollcall_list(k->ob, s, ts_now_ms(), open, ROLLCALL_LIST_MAX, &n, err);
        if (rc != RC_OK && rc != RC_NOTFOUND) {
            fprintf(stderr, "rollcall-agent: %s\n", err);
            kiosk_close(k);
            return EXIT_REFUSED;
        }
        ans = cJSON_CreateObject();
        cJSON_AddBoolToObject(ans, "ok", 1);
        cJSON *arr = cJSON_AddArrayToObject(ans, "rollcalls");
        for (size_t i = 0; arr && i < n; i++) {
            char t1[TS_UTC_LEN + 1], t2[TS_UTC_LEN + 1];
            cJSON *r = cJSON_CreateObject();
            if (!r || !cJSON_AddItemToArray(arr, r) ||
                ts_format_utc(open[i].opens_ms, t1) != RC_OK ||
                ts_format_utc(open[i].closes_ms, t2) != RC_OK)
                break;
            cJSON_AddStringToObject(r, "class", open[i].class_id);
            cJSON_AddStringToObject(r, "session", open[i].session);
            cJSON_AddStringToObject(r, "rollcall", open[i].id);
            cJSON_AddStringToObject(r, "opens", t1);
            cJSON_AddStringToObject(r, "closes", t2);
        }
    } else {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        kiosk_close(k);
        return EXIT_REFUSED;
    }
    kiosk_close(k);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ans, "rollcalls");
    if (json) {
        char *s = cJSON_PrintUnformatted(list);
        printf("%s\n", s ? s : "[]");
        cJSON_free(s);
    } else {
        const cJSON *it;
        int count = 0;
        cJSON_ArrayForEach(it, list)
        {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "class");
            const cJSON *se = cJSON_GetObjectItemCaseSensitive(it, "session");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "rollcall");
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(it, "opens");
            const cJSON *cl = cJSON_GetObjectItemCaseSensitive(it, "closes");
            if (cJSON_IsString(c) && cJSON_IsString(se) && cJSON_IsString(id) &&
                cJSON_IsString(o) && cJSON_IsString(cl))
                print_open(c->valuestring, se->valuestring, id->valuestring, o->valuestring,
                           cl->valuestring);
            count++;
        }
        if (!count)
            printf("现在没有点名 / no roll-call is open\n");
    }
    cJSON_Delete(ans);
    return 0;
}

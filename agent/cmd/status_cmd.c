/* status and verify. status asks the running daemon when there is one (it knows the GNSS
 * state), else reads the outbox itself; verify re-reads the whole local hash chain. */
#include "cmd/commands.h"
#include "control.h"
#include "kiosk.h"
#include "rc.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses `NAME [--json] [--help]`; returns -1 to go on, else the exit status. */
static int json_only_args(int argc, char **argv, int *json, void (*usage)(FILE *))
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': *json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

static void status_usage(FILE *out)
{
    fprintf(out, "usage: rollcall-agent [--config FILE] status [--json]\n"
                 "\n"
                 "Prints the kiosk's state: events waiting for upload (queue) and the age of the\n"
                 "oldest, the last successful sync, the GNSS state and last fix (from the running\n"
                 "daemon; \"not_running\" without one), the hash chain head, the storage used\n"
                 "(and, when new events are refused for want of space, storage.full and since\n"
                 "when: the text then begins with a line saying so), and the clock skew (GNSS\n"
                 "time minus the system clock at the last fix).\n");
}

static void print_status(cJSON *st, int json)
{
    if (json) {
        char *s = cJSON_PrintUnformatted(st);
        printf("%s\n", s ? s : "{}");
        cJSON_free(s);
    } else {
        status_print_text(st);
    }
}

int cmd_status(int argc, char **argv, const struct agent_globals *g)
{
    int json = 0;
    int ex = json_only_args(argc, argv, &json, status_usage);
    if (ex >= 0)
        return ex;
    char err[ERR_LEN];
    struct kiosk *k = NULL;
    if (kiosk_open(g->config_path, 0, &k, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        return EXIT_REFUSED;
    }
    char *reply = malloc(CONTROL_LINE_MAX * 4);
    int rc = reply ? control_request(k->cfg.control_socket, "{\"cmd\":\"status\"}", reply,
                                     CONTROL_LINE_MAX * 4, CONTROL_TIMEOUT_MS, err)
                   : RC_NOMEM;
    if (rc == RC_OK) {
        cJSON *ans = cJSON_Parse(reply);
        cJSON *st = cJSON_GetObjectItemCaseSensitive(ans, "status");
        if (cJSON_IsObject(st))
            print_status(st, json);
        else
            fprintf(stderr, "rollcall-agent: the daemon gave an unreadable answer\n");
        ex = cJSON_IsObject(st) ? 0 : EXIT_REFUSED;
        cJSON_Delete(ans);
        goto out;
    }
    /* No daemon (or it did not answer): read the outbox directly. */
    kiosk_close(k);
    k = NULL;
    cJSON *st = NULL;
    if (kiosk_open(g->config_path, KIOSK_OUTBOX, &k, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        ex = EXIT_REFUSED;
        goto out;
    }
    const struct status_env env = status_env_of(k);
    if (status_build(&env, false, NULL, 0, &st, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        ex = EXIT_REFUSED;
        goto out;
    }
    print_status(st, json);
    cJSON_Delete(st);
    ex = 0;
out:
    free(reply);
    kiosk_close(k);
    return ex;
}

static void verify_usage(FILE *out)
{
    fprintf(out, "usage: rollcall-agent [--config FILE] verify [--json]\n"
                 "\n"
                 "Re-reads every stored event and checks the local hash chain end to end: each\n"
                 "event parses in canonical form, its seq follows the previous one, its prev is\n"
                 "the SHA-256 of the previous event's bytes, and the chain ends at the recorded\n"
                 "head. Exit status: 0 intact, 1 broken (the first break is printed).\n");
}

int cmd_verify(int argc, char **argv, const struct agent_globals *g)
{
    int json = 0;
    int ex = json_only_args(argc, argv, &json, verify_usage);
    if (ex >= 0)
        return ex;
    char err[ERR_LEN];
    struct kiosk *k = NULL;
    if (kiosk_open(g->config_path, KIOSK_OUTBOX, &k, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        return EXIT_REFUSED;
    }
    int64_t count = 0;
    struct event_chain_break brk = {0};
    struct outbox_stats s;
    int rc = outbox_verify(k->ob, &count, &brk, err);
    int src = outbox_stats(k->ob, &s, NULL);
    kiosk_close(k);
    if (rc == RC_OK && src == RC_OK) {
        if (json)
            printf("{\"ok\":true,\"events\":%lld,\"head_seq\":%lld,\"head_hash\":\"%s\"}\n",
                   (long long)count, (long long)s.head_seq, s.head_hash);
        else
            printf("ok: %lld events checked; chain head seq %lld, hash %s\n", (long long)count,
                   (long long)s.head_seq, s.head_hash);
        return 0;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", 0);
        cJSON_AddNumberToObject(o, "events", (double)count);
        cJSON_AddNumberToObject(o, "seq", (double)brk.seq);
        cJSON_AddStringToObject(o, "error", err);
        char *t = cJSON_PrintUnformatted(o);
        printf("%s\n", t ? t : "{\"ok\":false}");
        cJSON_free(t);
        cJSON_Delete(o);
    }
    fprintf(stderr, "rollcall-agent: verify: chain broken at seq %lld: %s\n", (long long)brk.seq,
            err);
    return EXIT_REFUSED;
}

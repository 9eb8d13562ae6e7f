/* record start|stop|add: recording metadata from the command line (an NVR's hook script, an
 * operator). The daemon records finished files of the profile's cameras by itself. */
#include "cmd/commands.h"
#include "kiosk.h"
#include "rc.h"
#include "record.h"
#include "timeutil.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-agent [--config FILE] record start --camera CAM --class C "
            "[--session S] [--json]\n"
            "       rollcall-agent [--config FILE] record stop  --camera CAM [--file PATH] "
            "[--json]\n"
            "       rollcall-agent [--config FILE] record add   --camera CAM [--class C "
            "[--session S]]\n"
            "                                 --file PATH --start ISO8601 --end ISO8601 "
            "[--json]\n"
            "\n"
            "Records the metadata of classroom recordings: start (rec_start), stop (rec_stop,\n"
            "plus rec_file when the recording's file is named), or a finished file (rec_file)\n"
            "with its size and SHA-256. The file is hashed before anything is recorded.\n"
            "Times are RFC 3339 with an offset (2026-11-02T09:00:00+08:00). Without --class,\n"
            "add takes the class and session of the camera's open recording (record start), if\n"
            "any, and clamps a start after the end to the end: what the daemon's recording\n"
            "watch runs for each finished file.\n"
            "Exit status: 0 recorded, 1 refused (nothing recorded), 2 usage, 3 not recorded for\n"
            "now (the outbox is full of unsent events or busy): try again later.\n");
}

static void print_result(const char *verb, const struct record_result *r, int json)
{
    if (json) {
        printf("{\"seq\":%lld,\"events\":%d", (long long)r->seq, r->events);
        if (r->file[0])
            printf(",\"bytes\":%lld,\"sha256\":\"%s\"", (long long)r->bytes, r->sha256);
        printf("}\n");
        return;
    }
    if (r->file[0])
        printf("recorded: %s (event #%lld): %s, %lld bytes, sha256 %s\n", verb, (long long)r->seq,
               r->file, (long long)r->bytes, r->sha256);
    else
        printf("recorded: %s (event #%lld)\n", verb, (long long)r->seq);
}

int cmd_record(int argc, char **argv, const struct agent_globals *g)
{
    const char *camera = NULL, *class_id = NULL, *session = NULL, *file = NULL;
    const char *start = NULL, *end = NULL;
    int json = 0;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || (strcmp(argv[1], "start") != 0 && strcmp(argv[1], "stop") != 0 &&
                     strcmp(argv[1], "add") != 0)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    static const struct option opts[] = {
        {"camera", required_argument, NULL, 'c'},
        {"class", required_argument, NULL, 'C'},
        {"session", required_argument, NULL, 's'},
        {"file", required_argument, NULL, 'f'},
        {"start", required_argument, NULL, 'S'},
        {"end", required_argument, NULL, 'E'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc - 1, argv + 1, "c:C:s:f:S:E:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': camera = optarg; break;
        case 'C': class_id = optarg; break;
        case 's': session = optarg; break;
        case 'f': file = optarg; break;
        case 'S': start = optarg; break;
        case 'E': end = optarg; break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    int bad = optind != argc - 1 || !camera;
    if (strcmp(verb, "start") == 0)
        bad = bad || !class_id || file || start || end;
    else if (strcmp(verb, "stop") == 0)
        bad = bad || class_id || session || start || end;
    else
        bad = bad || (session && !class_id) || !file || !start || !end;
    if (bad) {
        fprintf(stderr, "rollcall-agent: record %s: wrong or missing options (see --help)\n", verb);
        return EXIT_USAGE;
    }

    char err[ERR_LEN];
    int64_t start_ms = 0, end_ms = 0;
    if (strcmp(verb, "add") == 0) {
        if (ts_parse_rfc3339(start, &start_ms, err) != RC_OK) {
            fprintf(stderr, "rollcall-agent: --start: %s\n", err);
            return EXIT_REFUSED;
        }
        if (ts_parse_rfc3339(end, &end_ms, err) != RC_OK) {
            fprintf(stderr, "rollcall-agent: --end: %s\n", err);
            return EXIT_REFUSED;
        }
    }
    struct kiosk *k = NULL;
    if (kiosk_open(g->config_path, KIOSK_OUTBOX, &k, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        return EXIT_REFUSED;
    }
    struct record_result res;
    int rc;
    const struct record_env env = record_env_of(k);
    if (strcmp(verb, "start") == 0)
        rc = record_start(&env, camera, class_id, session, &res, err);
    else if (strcmp(verb, "stop") == 0)
        rc = record_stop(&env, camera, file, &res, err);
    else if (class_id)
        rc = record_add(&env, camera, class_id, session, file, start_ms, end_ms, &res, err);
    else
        rc = record_add_watched(&env, camera, file, start_ms, end_ms, &res, err);
    kiosk_close(k);
    if (rc != RC_OK) {
        fprintf(stderr, "rollcall-agent: record %s: %s\n", verb, err);
        return rc == RC_FULL || rc == RC_DB ? EXIT_RETRY : EXIT_REFUSED;
    }
    print_result(strcmp(verb, "add") == 0 ? "rec_file" : verb, &res, json);
    return 0;
}

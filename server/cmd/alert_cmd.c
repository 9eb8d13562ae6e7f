/* rollcall-server alert add|list|remove: operators' side of the alert subscriptions
 * (docs/OPERATIONS.md "Alerts"). The webhook URL carries its receiver's secret (WeCom's
 * key=...), so `add` reads it from stdin, never from the command line (which `ps` and shell
 * history show); `list` shows it masked. */
#include "alert/alert.h"
#include "cmd/commands.h"
#include "http/auth.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server [--db URL] alert add --name NAME --format FORMAT\n"
            "                          [--district CODE] [--ca-file PEM] < url.txt\n"
            "       rollcall-server [--db URL] alert list\n"
            "       rollcall-server [--db URL] alert remove ID\n"
            "\n"
            "Webhooks told about every new serious finding (severity high) of the district's\n"
            "institutions, or of every district without --district. The URL is read from stdin\n"
            "(one line), never from the command line: it carries the receiver's secret.\n"
            "\n"
            "  --name NAME      unique name shown in logs (1..64 of [A-Za-z0-9._:@-])\n"
            "  --format FORMAT  json | wecom-markdown | wecom-text (企业微信群机器人)\n"
            "  --district CODE  6-digit district code; default: every district\n"
            "  --ca-file PEM    CA certificates to trust for this receiver instead of the\n"
            "                   system's (an intranet server)\n");
}

static int open_db(const struct server_globals *g, store **st, char *err)
{
    if (store_open(g->db_url, 0, st, err) != RC_OK || store_check_schema(*st, err) != RC_OK)
        return RC_STATE;
    return RC_OK;
}

static int alert_add(int argc, char **argv, const struct server_globals *g)
{
    const char *name = NULL, *format = NULL, *district = "", *ca_file = "";
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},     {"format", required_argument, NULL, 'f'},
        {"district", required_argument, NULL, 'D'}, {"ca-file", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'n': name = optarg; break;
        case 'f': format = optarg; break;
        case 'D': district = optarg; break;
        case 'c': ca_file = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rollcall-server alert add: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server alert add: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr,
                "rollcall-server alert add: unexpected argument (the URL is read from stdin)\n");
        return EXIT_USAGE;
    }
    if (!name || !format) {
        fprintf(stderr, "rollcall-server alert add: --name and --format are required\n");
        return EXIT_USAGE;
    }
    if (!auth_name_valid(name)) {
        fprintf(stderr, "rollcall-server alert add: --name must be 1..%d of [A-Za-z0-9._:@-]\n",
                STORE_TOKEN_NAME_MAX);
        return EXIT_USAGE;
    }
    if (!alert_format_valid(format)) {
        fprintf(stderr, "rollcall-server alert add: --format must be json, wecom-markdown or "
                        "wecom-text\n");
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    if (*district) {
        char role[STORE_ROLE_MAX + 1];
        struct auth_role r;
        snprintf(role, sizeof role, "district:%.16s", district);
        if (auth_role_parse(role, &r, err) != RC_OK) {
            fprintf(stderr, "rollcall-server alert add: --district must be a 6-digit code\n");
            return EXIT_USAGE;
        }
    }
    if (strlen(ca_file) > STORE_ALERT_PATH_MAX) {
        fprintf(stderr, "rollcall-server alert add: --ca-file longer than %d bytes\n",
                STORE_ALERT_PATH_MAX);
        return EXIT_USAGE;
    }
    if (*ca_file && access(ca_file, R_OK) != 0) {
        fprintf(stderr, "rollcall-server alert add: cannot read --ca-file %s: %s\n", ca_file,
                strerror(errno));
        return EXIT_REFUSED;
    }
    struct store_alert_sub s;
    memset(&s, 0, sizeof s);
    if (isatty(STDIN_FILENO))
        fprintf(stderr, "webhook URL: ");
    if (!fgets(s.url, sizeof s.url, stdin)) {
        fprintf(stderr, "rollcall-server alert add: no URL on stdin\n");
        return EXIT_REFUSED;
    }
    size_t n = strcspn(s.url, "\r\n");
    if (s.url[n] == '\0' && n == sizeof s.url - 1) {
        fprintf(stderr, "rollcall-server alert add: the URL is longer than %d bytes\n",
                STORE_ALERT_URL_MAX);
        return EXIT_REFUSED;
    }
    s.url[n] = '\0';
    if (alert_url_check(s.url, err) != RC_OK) {
        fprintf(stderr, "rollcall-server alert add: %s\n", err);
        return EXIT_REFUSED;
    }
    snprintf(s.name, sizeof s.name, "%s", name);
    snprintf(s.format, sizeof s.format, "%s", format);
    snprintf(s.district, sizeof s.district, "%.6s", district);
    snprintf(s.ca_file, sizeof s.ca_file, "%s", ca_file);
    snprintf(s.created_by, sizeof s.created_by, "operator");
    s.created_at_ms = ts_now_ms();
    store *st = NULL;
    int status = EXIT_REFUSED;
    if (open_db(g, &st, err) != RC_OK || store_alert_sub_insert(st, &s, err) != RC_OK)
        goto out;
    char masked[ALERT_MASKED_URL_MAX + 1];
    alert_mask_url(s.url, masked, sizeof masked);
    printf("%lld\n", (long long)s.id);
    log_msg(LOG_LVL_INFO, "alert subscription %lld '%s' (%s, district %s, %s) added",
            (long long)s.id, s.name, s.format, s.district[0] ? s.district : "all", masked);
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server alert add: %s\n", err);
    explicit_bzero(s.url, sizeof s.url);
    store_close(st);
    return status;
}

static int print_sub(const struct store_alert_sub *s, void *ctx)
{
    (void)ctx;
    char masked[ALERT_MASKED_URL_MAX + 1], when[TS_UTC_LEN + 1];
    alert_mask_url(s->url, masked, sizeof masked);
    if (ts_format_utc(s->created_at_ms, when) != RC_OK)
        snprintf(when, sizeof when, "?");
    printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)s->id, s->name,
           s->district[0] ? s->district : "all", s->format, masked,
           s->ca_file[0] ? s->ca_file : "-", s->created_by, when);
    return 0;
}

static int alert_list(int argc, char **argv, const struct server_globals *g)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "rollcall-server alert list: takes no arguments\n");
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    store *st = NULL;
    int status = EXIT_REFUSED;
    if (open_db(g, &st, err) != RC_OK)
        goto out;
    printf("id\tname\tdistrict\tformat\turl\tca_file\tcreated_by\tcreated_at\n");
    if (store_alert_sub_list(st, NULL, print_sub, NULL, err) != RC_OK)
        goto out;
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server alert list: %s\n", err);
    store_close(st);
    return status;
}

static int alert_remove(int argc, char **argv, const struct server_globals *g)
{
    if (argc != 2) {
        fprintf(stderr, "rollcall-server alert remove: expected one subscription ID\n");
        return EXIT_USAGE;
    }
    char *end = NULL;
    errno = 0;
    long long id = strtoll(argv[1], &end, 10);
    if (errno || !end || *end || id <= 0) {
        fprintf(stderr, "rollcall-server alert remove: '%.32s' is not a subscription ID\n",
                argv[1]);
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    store *st = NULL;
    int status = EXIT_REFUSED;
    if (open_db(g, &st, err) != RC_OK || store_alert_sub_remove(st, id, ts_now_ms(), err) != RC_OK)
        goto out;
    log_msg(LOG_LVL_INFO, "alert subscription %lld removed; its pending deliveries cancelled", id);
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server alert remove: %s\n", err);
    store_close(st);
    return status;
}

int cmd_alert(int argc, char **argv, const struct server_globals *g)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return alert_add(argc - 1, argv + 1, g);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return alert_list(argc - 1, argv + 1, g);
    if (argc >= 2 && strcmp(argv[1], "remove") == 0)
        return alert_remove(argc - 1, argv + 1, g);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "rollcall-server alert: expected 'alert add|list|remove' (see --help)\n");
    return EXIT_USAGE;
}

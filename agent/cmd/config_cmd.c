/* check-config and profile-doc: validate configuration without running anything, and print
 * the firmware-profile key reference that firmware-profiles/README.md carries. */
#include "cmd/commands.h"
#include "config.h"
#include "rc.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_usage(FILE *out)
{
    fprintf(out, "usage: rollcall-agent [--config FILE] check-config [--profile FILE]\n"
                 "\n"
                 "Validates the agent configuration (--config), or a firmware profile file with\n"
                 "--profile, without running anything. Prints ok, or the first problem as\n"
                 "FILE: $.json.path: reason and exits 1.\n");
}

int cmd_check_config(int argc, char **argv, const struct agent_globals *g)
{
    const char *profile = NULL;
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': profile = optarg; break;
        case 'h': check_usage(stdout); return 0;
        default: check_usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        check_usage(stderr);
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    int rc;
    /* Both structs are large (fixed buffers); keep them off the stack. */
    if (profile) {
        struct config_profile *p = malloc(sizeof *p);
        rc = p ? config_profile_load(profile, p, err) : rc_fail(err, RC_NOMEM, "out of memory");
        free(p);
    } else {
        struct config_agent *c = malloc(sizeof *c);
        rc = c ? config_load(g->config_path, c, err) : rc_fail(err, RC_NOMEM, "out of memory");
        free(c);
    }
    if (rc != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        return EXIT_REFUSED;
    }
    printf("ok\n");
    return 0;
}

int cmd_profile_doc(int argc, char **argv, const struct agent_globals *g)
{
    (void)g;
    (void)argv;
    if (argc > 1) {
        if (argc == 2 && strcmp(argv[1], "--help") == 0) {
            printf("usage: rollcall-agent profile-doc\n\nPrints the firmware-profile key "
                   "reference (a markdown table) generated from the loader's table.\n");
            return 0;
        }
        fprintf(stderr, "usage: rollcall-agent profile-doc\n");
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    char *doc = NULL;
    if (config_profile_doc(&doc, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        return EXIT_REFUSED;
    }
    fputs(doc, stdout);
    free(doc);
    return 0;
}

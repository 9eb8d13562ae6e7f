/* heartbeat: one heartbeat event now, as the daemon writes one every heartbeat.interval_s. For
 * a kiosk run without the daemon (a timer can call it) and for staged days (scripts/demo.py),
 * so that the collector does not see a working kiosk as silent. Reads no GNSS fix. */
#include "cmd/commands.h"
#include "kiosk.h"
#include "outbox.h"
#include "rc.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: rollcall-agent [--config FILE] heartbeat [--json]\n"
                 "\n"
                 "Records one heartbeat event now (with the outbox's queue length), as the daemon\n"
                 "does every heartbeat.interval_s: for a kiosk run without the daemon. Reads no\n"
                 "GNSS fix.\n"
                 "\n"
                 "  --json   print {\"seq\": N, \"queue\": Q} (Q: events waiting before it)\n"
                 "Exit status: 0 recorded, 1 nothing recorded (the reason is printed), 2 usage.\n");
}

int cmd_heartbeat(int argc, char **argv, const struct agent_globals *g)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool json = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'j': json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-agent: heartbeat: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    struct kiosk *k = NULL;
    struct event ev;
    struct outbox_stats st;
    int rc = kiosk_open(g->config_path, KIOSK_OUTBOX, &k, err);
    if (rc == RC_OK)
        rc = kiosk_event_init(k, &ev, EVENT_HEARTBEAT, err);
    if (rc == RC_OK && (rc = outbox_stats(k->ob, &st, err)) == RC_OK) {
        ev.queue = st.queue;
        ev.has |= EVENT_HAS(EVENT_F_QUEUE);
        rc = outbox_append(k->ob, &ev, NULL, NULL, err);
    }
    kiosk_close(k);
    if (rc != RC_OK) {
        fprintf(stderr, "rollcall-agent: heartbeat not recorded: %s\n", err);
        return EXIT_REFUSED;
    }
    if (json)
        printf("{\"seq\":%lld,\"queue\":%lld}\n", (long long)ev.seq, (long long)ev.queue);
    else
        printf("heartbeat #%lld recorded\n", (long long)ev.seq);
    return fflush(stdout) == 0 ? 0 : EXIT_REFUSED;
}

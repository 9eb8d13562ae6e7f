/* screen: the kiosk screen's server, a process of its own beside the daemon (screen/screen.h):
 * it serves the trainees' page to the kiosk's browser on loopback and sends their sign-ins to
 * the daemon's control socket. */
#include "cmd/commands.h"
#include "log.h"
#include "rc.h"
#include "screen/screen.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifndef ROLLCALL_KIOSK_WEBDIR
#define ROLLCALL_KIOSK_WEBDIR "/usr/share/rollcall/kiosk"
#endif
#ifndef ROLLCALL_SOURCE_KIOSK_WEBDIR
#define ROLLCALL_SOURCE_KIOSK_WEBDIR ""
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-agent [--config FILE] screen [--listen 127.0.0.1:PORT] [--web DIR]\n"
            "\n"
            "Serves the kiosk screen (the page trainees sign in and out on) to the kiosk's\n"
            "browser, on a loopback address only, and sends sign-ins to the running daemon\n"
            "over its control socket. Stops cleanly on SIGTERM or SIGINT.\n"
            "\n"
            "  --listen ADDR:PORT  loopback address and port (default 127.0.0.1:%d; port 0:\n"
            "                      any free port, printed in the log)\n"
            "  --web DIR           the page's files (default " ROLLCALL_KIOSK_WEBDIR ")\n"
            "Exit status: 0 stopped by a signal, 1 could not start (the reason is printed),\n"
            "2 usage.\n",
            SCREEN_PORT_DEFAULT);
}

/* The installed page, else the source tree's (a binary run from the build tree). */
static const char *default_web_dir(void)
{
    struct stat sb;
    if (stat(ROLLCALL_KIOSK_WEBDIR "/index.html", &sb) == 0 || !ROLLCALL_SOURCE_KIOSK_WEBDIR[0])
        return ROLLCALL_KIOSK_WEBDIR;
    return ROLLCALL_SOURCE_KIOSK_WEBDIR;
}

int cmd_screen(int argc, char **argv, const struct agent_globals *g)
{
    static const struct option lo[] = {{"listen", required_argument, NULL, 'l'},
                                       {"web", required_argument, NULL, 'w'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", SCREEN_PORT_DEFAULT);
    struct screen_options opt = {
        .config_path = g->config_path, .listen = listen, .web_dir = default_web_dir()};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'l': opt.listen = optarg; break;
        case 'w': opt.web_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-agent: screen: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    uint32_t a;
    uint16_t p;
    if (screen_parse_listen(opt.listen, &a, &p, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: screen: %s\n", err);
        return EXIT_USAGE;
    }
    if (screen_run(&opt, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: screen: %s\n", err);
        return EXIT_REFUSED;
    }
    return 0;
}

/* rollcall-server calendar: the working-day calendar (server/engine/workdays.json) from the
 * command line, with the same code as the review deadline (docs/SUBSIDY.md "Working days").
 * Needs no database. */
#include "cmd/commands.h"
#include "engine/workdays.h"
#include "rc.h"
#include "timeutil.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: rollcall-server calendar is-workday DATE [options]\n"
        "       rollcall-server calendar add-workdays DATE N [options]\n"
        "\n"
        "is-workday prints yes or no: is DATE (YYYY-MM-DD) a working day in mainland China\n"
        "(工作日: weekdays less statutory holidays, plus 调休上班 weekend days)?\n"
        "add-workdays prints the date N working days after DATE.\n"
        "A date in a year the calendar does not hold is refused.\n"
        "\n"
        "Options:\n"
        "  --file PATH         the calendar file (default: the installed workdays.json)\n"
        "  --weekend-fallback  outside the calendar count weekends only, flagged on the line\n");
}

static int parse_n(const char *s, int64_t *n)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || end == s || *end || v < 0 || v > WORKDAYS_ADD_MAX)
        return RC_INVAL;
    *n = v;
    return RC_OK;
}

int cmd_calendar(int argc, char **argv, const struct server_globals *g)
{
    (void)g;
    const char *file = NULL;
    unsigned flags = 0;
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"weekend-fallback", no_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f': file = optarg; break;
        case 'w': flags |= WORKDAYS_WEEKEND_FALLBACK; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rollcall-server calendar: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server calendar: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    int rest = argc - optind;
    const char *sub = rest > 0 ? argv[optind] : NULL;
    bool is_day = sub && strcmp(sub, "is-workday") == 0;
    bool add = sub && strcmp(sub, "add-workdays") == 0;
    if (!is_day && !add) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((is_day && rest != 2) || (add && rest != 3)) {
        fprintf(stderr, "rollcall-server calendar: %s takes %s (see --help)\n", sub,
                is_day ? "DATE" : "DATE N");
        return EXIT_USAGE;
    }
    char err[ERR_LEN] = "";
    int64_t day = 0, n = 0;
    if (ts_parse_date(argv[optind + 1], &day, err) != RC_OK) {
        fprintf(stderr, "rollcall-server calendar: %s\n", err);
        return EXIT_USAGE;
    }
    if (add && parse_n(argv[optind + 2], &n) != RC_OK) {
        fprintf(stderr, "rollcall-server calendar: N must be a whole number 0..%d, not '%s'\n",
                WORKDAYS_ADD_MAX, argv[optind + 2]);
        return EXIT_USAGE;
    }
    struct workdays *w = malloc(sizeof *w);
    if (!w) {
        fprintf(stderr, "rollcall-server calendar: out of memory\n");
        return EXIT_REFUSED;
    }
    int status = EXIT_REFUSED;
    bool fallback = false;
    if (workdays_load(file, w, err) != RC_OK)
        goto out;
    if (is_day) {
        bool work = false;
        if (workdays_is_workday(w, day, flags, &work, &fallback, err) != RC_OK)
            goto out;
        printf("%s%s\n", work ? "yes" : "no", fallback ? " (weekend-only fallback)" : "");
    } else {
        int64_t due = 0;
        char d[TS_DATE_LEN + 1];
        if (workdays_add(w, day, n, flags, &due, &fallback, err) != RC_OK ||
            ts_format_date(due, d) != RC_OK)
            goto out;
        printf("%s%s\n", d, fallback ? " (weekend-only fallback)" : "");
    }
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server: %s\n", err);
    free(w);
    return status;
}

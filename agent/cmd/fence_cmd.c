/* `rollcall-agent fence check|convert`: judge points against a fence file, convert points or
 * whole fence files between datums (INTERFACES.md). Input is validated whole before any
 * output: a refused fence, row or option prints one line on stderr and nothing on stdout. */
#include "cmd/commands.h"
#include "datum.h"
#include "fence.h"
#include "file.h"
#include "geodesy.h"
#include "log.h"
#include "rc.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    POINTS_MAX_ROWS = 1000000, /* rows in a --points file */
    POINTS_MAX_LINE = 256,     /* bytes in one row */
};
#define EPH_MAX_M 100000.0 /* largest accepted accuracy (metres) */

static const char CHECK_USAGE[] =
    "usage: rollcall-agent fence check --fence FILE [--id ID]\n"
    "                                  (--lat X --lon Y [--eph M] | --points CSV) [--json]\n"
    "\n"
    "Judges WGS-84 positions against a fence: inside if d + e <= 0, outside if d - e > 0,\n"
    "else uncertain, where d is the signed distance to the boundary in metres (negative\n"
    "inside) minus the fence's tolerance_m and e the accuracy (--eph or the CSV's third\n"
    "column; 0 when not given).\n"
    "\n"
    "  --fence FILE   GeoJSON fence file (geofences/*.geojson)\n"
    "  --id ID        the fence to use when the file holds several\n"
    "  --lat X --lon Y  one position (degrees, WGS-84)\n"
    "  --eph M        its horizontal accuracy in metres (default 0)\n"
    "  --points CSV   rows 'lat,lon[,eph]' (a header row is allowed; '-' reads stdin);\n"
    "                 writes one NDJSON verdict per row\n"
    "  --json         one JSON object "
    "{\"lat\",\"lon\",\"eph\",\"verdict\",\"distance_m\",\"fence\"}\n"
    "\n"
    "Exit status: 0 judged, 1 refused input (bad fence file, row or value), 2 usage.\n";

static const char CONVERT_USAGE[] =
    "usage: rollcall-agent fence convert --from DATUM --to DATUM\n"
    "                                    (--lat X --lon Y | --file GEOJSON) [--json]\n"
    "\n"
    "Converts a point, or every position of a fence file, between WGS-84 (GNSS), GCJ-02\n"
    "(Amap, Tencent) and BD-09 (Baidu). A point prints as 'LAT LON' (10 decimals) or, with\n"
    "--json, {\"lat\",\"lon\"}. A file prints as GeoJSON with properties.datum set to the\n"
    "target; its features must declare --from (or no datum).\n"
    "\n"
    "Exit status: 0 converted, 1 refused input, 2 usage.\n";

static const char FENCE_USAGE[] =
    "usage: rollcall-agent fence check|convert [OPTIONS]   (COMMAND --help for details)\n"
    "\n"
    "  check     judge positions against a fence file\n"
    "  convert   convert a point or a fence file between datums\n";

/* Parses a whole decimal number; false for empty or trailing text. NaN/Inf pass here and are
 * refused by the range checks of the caller (a refused value, not a usage error). */
static bool parse_number(const char *s, double *out)
{
    char *end = NULL;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return false;
    errno = 0;
    double v = strtod(s, &end);
    while (end && isspace((unsigned char)*end))
        end++;
    if (!end || *end || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

/* getopt found an unknown option or one without its value (opterr is off: one line here). */
static int bad_option(char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    fprintf(stderr,
            "rollcall-agent fence %s: unknown option or missing value at '%s' (see --help)\n",
            argv[0], arg);
    return EXIT_USAGE;
}

static bool valid_lat_lon(double lat, double lon)
{
    return isfinite(lat) && isfinite(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180;
}

static bool valid_eph(double eph)
{
    return isfinite(eph) && eph >= 0 && eph <= EPH_MAX_M;
}

/* Reads a whole file (or stdin for "-") up to max bytes; caller frees *out. */
static int read_all(const char *path, size_t max, char **out, size_t *len, char *err)
{
    if (strcmp(path, "-") != 0)
        return file_read_bounded(path, max, out, len, err);
    int rc = 0;
    char *buf = malloc(max + 1);
    size_t n = 0;
    if (!buf) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", path);
        goto out;
    }
    n = fread(buf, 1, max + 1, stdin);
    if (ferror(stdin)) {
        rc = rc_fail(err, RC_IO, "%s: read error", path);
        goto out;
    }
    if (n > max) {
        rc = rc_fail(err, RC_LIMIT, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    return rc;
}

struct row {
    double lat, lon, eph; /* eph NaN: not given */
};

/* Splits a CSV line into at most 3 fields (in place). Returns the field count, 4 for more. */
static int split_fields(char *line, char *fields[3])
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == 3)
            return 4;
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            return n;
        *comma = '\0';
        p = comma + 1;
    }
}

/* Reads every row of a --points file before anything is judged; refuses the first bad row
 * with its line number. */
static int read_points(const char *path, struct row **rows_out, size_t *nrows, char *err)
{
    char *data = NULL;
    size_t len = 0;
    struct row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = read_all(path, (size_t)POINTS_MAX_ROWS * POINTS_MAX_LINE, &data, &len, err);
    if (rc)
        return rc;
    char *line = data;
    for (size_t lineno = 1; line < data + len; lineno++) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        char *next = nl ? nl + 1 : data + len;
        size_t l = (size_t)((nl ? nl : data + len) - line);
        if (l > POINTS_MAX_LINE) {
            rc = rc_fail(err, RC_LIMIT, "%s: line %zu: longer than %d bytes", path, lineno,
                         POINTS_MAX_LINE);
            goto out;
        }
        line[l] = '\0';
        if (l > 0 && line[l - 1] == '\r')
            line[--l] = '\0';
        if (memchr(line, '\0', l) != NULL) {
            rc = rc_fail(err, RC_INVAL, "%s: line %zu: holds a NUL byte", path, lineno);
            goto out;
        }
        char *s = line;
        line = next;
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            continue; /* blank lines are skipped */
        char *fields[3] = {NULL, NULL, NULL};
        int nf = split_fields(s, fields);
        double lat, lon, eph = NAN;
        bool lat_ok = parse_number(fields[0], &lat);
        if (lineno == 1 && n == 0 && !lat_ok)
            continue; /* a header row */
        if (nf < 2 || nf > 3) {
            rc = rc_fail(err, RC_INVAL, "%s: line %zu: expected lat,lon[,eph]", path, lineno);
            goto out;
        }
        if (!lat_ok || !parse_number(fields[1], &lon)) {
            rc = rc_fail(err, RC_INVAL, "%s: line %zu: latitude and longitude must be numbers",
                         path, lineno);
            goto out;
        }
        if (!valid_lat_lon(lat, lon)) {
            rc = rc_fail(err, RC_INVAL, "%s: line %zu: (%g, %g) is not a valid latitude, longitude",
                         path, lineno, lat, lon);
            goto out;
        }
        if (nf == 3) {
            const char *e = fields[2];
            while (isspace((unsigned char)*e))
                e++;
            if (*e && (!parse_number(e, &eph) || !valid_eph(eph))) {
                rc = rc_fail(err, RC_INVAL, "%s: line %zu: eph must be a number in [0, %g] metres",
                             path, lineno, EPH_MAX_M);
                goto out;
            }
        }
        if (n == POINTS_MAX_ROWS) {
            rc = rc_fail(err, RC_LIMIT, "%s: more than %d rows", path, POINTS_MAX_ROWS);
            goto out;
        }
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            struct row *nr = realloc(rows, ncap * sizeof *nr);
            if (!nr) {
                rc = rc_fail(err, RC_NOMEM, "%s: out of memory", path);
                goto out;
            }
            rows = nr;
            cap = ncap;
        }
        rows[n++] = (struct row){lat, lon, eph};
    }
    *rows_out = rows;
    *nrows = n;
    rows = NULL;
out:
    free(rows);
    free(data);
    return rc;
}

/* One verdict as a JSON line on stdout. */
static int print_json_verdict(const struct row *r, const struct fence_judgement *j, const char *id)
{
    int rc = 0;
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (!o || !cJSON_AddNumberToObject(o, "lat", r->lat) ||
        !cJSON_AddNumberToObject(o, "lon", r->lon) ||
        !cJSON_AddNumberToObject(o, "eph", j->eph_m) ||
        !cJSON_AddStringToObject(o, "verdict", fence_verdict_name(j->verdict)) ||
        !cJSON_AddNumberToObject(o, "distance_m", j->distance_m) ||
        !cJSON_AddStringToObject(o, "fence", id) || !(s = cJSON_PrintUnformatted(o))) {
        rc = RC_NOMEM;
        goto out;
    }
    if (puts(s) < 0)
        rc = RC_IO;
out:
    cJSON_free(s);
    cJSON_Delete(o);
    return rc;
}

static int fence_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"fence", required_argument, NULL, 'f'},
        {"id", required_argument, NULL, 'i'},
        {"lat", required_argument, NULL, 'a'},
        {"lon", required_argument, NULL, 'o'},
        {"eph", required_argument, NULL, 'e'},
        {"points", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL, *id = NULL, *points = NULL;
    const char *lat_s = NULL, *lon_s = NULL, *eph_s = NULL;
    bool json = false;
    int ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (ch) {
        case 'f': file = optarg; break;
        case 'i': id = optarg; break;
        case 'a': lat_s = optarg; break;
        case 'o': lon_s = optarg; break;
        case 'e': eph_s = optarg; break;
        case 'p': points = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(CHECK_USAGE, stdout); return 0;
        default: return bad_option(argv);
        }
    }
    const char *me = "rollcall-agent fence check";
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", me, argv[optind]);
        return EXIT_USAGE;
    }
    if (!file) {
        fprintf(stderr, "%s: --fence FILE is required (see --help)\n", me);
        return EXIT_USAGE;
    }
    bool single = lat_s || lon_s || eph_s;
    if (single == (points != NULL) || (single && (!lat_s || !lon_s))) {
        fprintf(stderr, "%s: give either --lat and --lon (and maybe --eph) or --points\n", me);
        return EXIT_USAGE;
    }
    struct row one = {0, 0, NAN};
    if (single && (!parse_number(lat_s, &one.lat) || !parse_number(lon_s, &one.lon) ||
                   (eph_s && !parse_number(eph_s, &one.eph)))) {
        fprintf(stderr, "%s: --lat, --lon and --eph take decimal numbers\n", me);
        return EXIT_USAGE;
    }
    if (single && !valid_lat_lon(one.lat, one.lon)) {
        fprintf(stderr, "%s: (%g, %g) is not a valid latitude, longitude\n", me, one.lat, one.lon);
        return EXIT_REFUSED;
    }
    if (single && eph_s && !valid_eph(one.eph)) {
        fprintf(stderr, "%s: --eph must be in [0, %g] metres\n", me, EPH_MAX_M);
        return EXIT_REFUSED;
    }

    int status = EXIT_REFUSED;
    char err[ERR_LEN] = "";
    fence_set *set = NULL;
    struct row *rows = NULL;
    size_t nrows = 0;
    if (fence_set_load(file, &set, err) != 0) {
        fprintf(stderr, "%s: %s\n", me, err);
        goto out;
    }
    for (size_t i = 0; i < fence_set_ignored_count(set) && i < FENCE_MAX_NOTES; i++)
        log_msg(LOG_LVL_DEBUG, "%s: ignored %s (not part of a fence)", file,
                fence_set_ignored(set, i));
    if (fence_set_ignored_count(set) > FENCE_MAX_NOTES)
        log_msg(LOG_LVL_DEBUG, "%s: ignored %zu more", file,
                fence_set_ignored_count(set) - FENCE_MAX_NOTES);
    const struct fence *f = NULL;
    if (id) {
        f = fence_set_find(set, id);
        if (!f) {
            fprintf(stderr, "%s: %s holds no fence with id '%s'\n", me, file, id);
            goto out;
        }
    } else if (fence_set_count(set) > 1) {
        fprintf(stderr, "%s: %s holds %zu fences: choose one with --id\n", me, file,
                fence_set_count(set));
        status = EXIT_USAGE;
        goto out;
    } else {
        f = fence_set_at(set, 0);
    }
    if (points) {
        if (read_points(points, &rows, &nrows, err) != 0) {
            fprintf(stderr, "%s: %s\n", me, err);
            goto out;
        }
    } else {
        rows = malloc(sizeof *rows);
        if (!rows) {
            fprintf(stderr, "%s: out of memory\n", me);
            goto out;
        }
        rows[0] = one;
        nrows = 1;
    }
    for (size_t i = 0; i < nrows; i++) {
        struct fence_fix fix = {true, rows[i].lat, rows[i].lon, rows[i].eph};
        struct fence_judgement j;
        if (fence_judge(f, &fix, 0.0, &j, err) != 0) {
            fprintf(stderr, "%s: %s\n", me, err);
            goto out;
        }
        if (isnan(j.distance_m) && geodesy_status(err) != RC_OK) {
            fprintf(stderr, "%s: %s\n", me, err);
            goto out;
        }
        if (json || points) {
            if (print_json_verdict(&rows[i], &j, fence_id(f)) != 0) {
                fprintf(stderr, "%s: cannot write the output\n", me);
                goto out;
            }
        } else {
            printf("%s (distance %.3f m, accuracy %g m, fence %s)\n", fence_verdict_name(j.verdict),
                   j.distance_m, j.eph_m, fence_id(f));
        }
    }
    status = fflush(stdout) == 0 ? 0 : EXIT_REFUSED;
out:
    free(rows);
    fence_set_free(set);
    return status;
}

static int fence_convert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'}, {"to", required_argument, NULL, 't'},
        {"lat", required_argument, NULL, 'a'},  {"lon", required_argument, NULL, 'o'},
        {"file", required_argument, NULL, 'F'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *from_s = NULL, *to_s = NULL, *lat_s = NULL, *lon_s = NULL, *file = NULL;
    bool json = false;
    int ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (ch) {
        case 'f': from_s = optarg; break;
        case 't': to_s = optarg; break;
        case 'a': lat_s = optarg; break;
        case 'o': lon_s = optarg; break;
        case 'F': file = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(CONVERT_USAGE, stdout); return 0;
        default: return bad_option(argv);
        }
    }
    const char *me = "rollcall-agent fence convert";
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", me, argv[optind]);
        return EXIT_USAGE;
    }
    enum datum from, to;
    if (!from_s || !to_s) {
        fprintf(stderr, "%s: --from and --to are required (see --help)\n", me);
        return EXIT_USAGE;
    }
    if (datum_parse(from_s, &from) != 0 || datum_parse(to_s, &to) != 0) {
        fprintf(stderr, "%s: unknown datum '%s' (WGS-84, GCJ-02 or BD-09)\n", me,
                datum_parse(from_s, &from) != 0 ? from_s : to_s);
        return EXIT_USAGE;
    }
    bool point = lat_s || lon_s;
    if (point == (file != NULL) || (point && (!lat_s || !lon_s))) {
        fprintf(stderr, "%s: give either --lat and --lon or --file\n", me);
        return EXIT_USAGE;
    }
    char err[ERR_LEN] = "";
    if (point) {
        double lat, lon, olat, olon;
        if (!parse_number(lat_s, &lat) || !parse_number(lon_s, &lon)) {
            fprintf(stderr, "%s: --lat and --lon take decimal numbers\n", me);
            return EXIT_USAGE;
        }
        if (datum_convert(from, to, lat, lon, &olat, &olon, err) != 0) {
            fprintf(stderr, "%s: %s\n", me, err);
            return EXIT_REFUSED;
        }
        if (json)
            printf("{\"lat\":%.10f,\"lon\":%.10f}\n", olat, olon);
        else
            printf("%.10f %.10f\n", olat, olon);
        return fflush(stdout) == 0 ? 0 : EXIT_REFUSED;
    }
    char *data = NULL, *out = NULL;
    size_t len = 0;
    int status = EXIT_REFUSED;
    if (read_all(file, FENCE_MAX_FILE_BYTES, &data, &len, err) != 0 ||
        fence_convert_file(data, len, file, from, to, &out, err) != 0) {
        fprintf(stderr, "%s: %s\n", me, err);
        goto done;
    }
    if (fputs(out, stdout) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "%s: cannot write the output\n", me);
        goto done;
    }
    status = 0;
done:
    free(out);
    free(data);
    return status;
}

int cmd_fence(int argc, char **argv, const struct agent_globals *g)
{
    (void)g; /* fence commands work on files alone; no agent configuration needed */
    if (argc < 2) {
        fprintf(stderr, "rollcall-agent fence: a subcommand is required: check or convert "
                        "(see --help)\n");
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(FENCE_USAGE, stdout);
        return 0;
    }
    if (strcmp(sub, "check") == 0)
        return fence_check(argc - 1, argv + 1);
    if (strcmp(sub, "convert") == 0)
        return fence_convert(argc - 1, argv + 1);
    fprintf(stderr, "rollcall-agent fence: unknown subcommand '%s' (check or convert)\n", sub);
    return EXIT_USAGE;
}

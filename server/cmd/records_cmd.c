/* rollcall-server import classes|online|assessments FILE: class plans, online-platform
 * records or assessment results from a JSON or CSV file, all or nothing, with the checks of
 * the HTTP routes (classes.h) as an administrator (any institution). */
#include "cmd/commands.h"
#include "engine/classes.h"
#include "file.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Reads a whole file of at most PLAN_FILE_MAX bytes; caller frees *out. */
static int read_file(const char *path, char **out, size_t *len, char *err)
{
    return file_read_bounded(path, PLAN_FILE_MAX, out, len, err);
}

static enum plan_format format_of(const char *path)
{
    size_t n = strlen(path);
    if (n >= 4 && strcasecmp(path + n - 4, ".csv") == 0)
        return PLAN_FORMAT_CSV;
    if (n >= 5 && strcasecmp(path + n - 5, ".json") == 0)
        return PLAN_FORMAT_JSON;
    return PLAN_FORMAT_AUTO;
}

int import_records(const char *db_url, const char *kind_name, const char *path, bool json)
{
    char err[ERR_LEN];
    enum classes_kind kind;
    store *st = NULL;
    char *data = NULL;
    size_t len = 0;
    struct classes_result r;
    int status = EXIT_REFUSED;
    if (classes_kind_parse(kind_name, &kind) != RC_OK) {
        fprintf(stderr, "rollcall-server import: unknown kind '%s'\n", kind_name);
        return EXIT_USAGE;
    }
    struct classes_actor actor = {.name = "cli:import"};
    if (read_file(path, &data, &len, err) != RC_OK || store_open(db_url, 0, &st, err) != RC_OK ||
        store_check_schema(st, err) != RC_OK ||
        classes_import(st, kind, data, len, path, format_of(path), &actor, &r, err) != RC_OK)
        goto out;
    if (json) {
        if (kind == CLASSES_PLANS)
            printf("{\"kind\":\"classes\",\"classes\":%zu,\"created\":%zu,\"replaced\":%zu}\n",
                   r.records, r.created, r.records - r.created);
        else
            printf("{\"kind\":\"%s\",\"records\":%zu,\"stored\":%zu,\"duplicates\":%zu}\n",
                   kind_name, r.records, r.records - r.duplicates, r.duplicates);
    } else if (kind == CLASSES_PLANS) {
        printf("%zu class plans: %zu new, %zu replaced\n", r.records, r.created,
               r.records - r.created);
    } else {
        printf("%zu %s: %zu stored, %zu already stored\n", r.records,
               kind == CLASSES_ONLINE ? "online records" : "assessment results",
               r.records - r.duplicates, r.duplicates);
    }
    log_msg(LOG_LVL_INFO, "import %s %s: %zu records", kind_name, path, r.records);
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server import: %s\n", err);
    free(data);
    store_close(st);
    return status;
}

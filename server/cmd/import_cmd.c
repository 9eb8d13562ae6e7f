/* rollcall-server import batches|fences FILE (classes|online|assessments: records_cmd.c).
 *
 * import batches: an agent's export file (`rollcall-agent export --out FILE`, PIPE-CONTRACT
 * "Export file") carried from a kiosk that never meets the network. Each batch goes through
 * ingest_batch exactly as an upload would, as its own transaction: a refused batch stops the
 * import with the reason and earlier batches stay, like separate uploads. The file is read
 * one bounded line at a time, so its size does not matter.
 *
 * import fences: venue fences (INTERFACES.md "Fence files"); each feature replaces the fence
 * of its id (the old version is kept as history), all in one transaction. */
#include "cmd/commands.h"
#include "engine/fences.h"
#include "event.h"
#include "file.h"
#include "ingest/ingest.h"
#include "jsonin.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    IMPORT_HEADER_MAX = 4096, /* bytes of a header line (file or batch) */
    IMPORT_BATCH_MAX = INGEST_LINES_MAX * (EVENT_LINE_MAX + 1),
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server [--db URL] import batches FILE [--json] [--db URL]\n"
            "       rollcall-server [--db URL] import fences FILE [--json] [--db URL]\n"
            "       rollcall-server [--db URL] import classes|online|assessments FILE [--json]\n"
            "\n"
            "  batches FILE  apply an agent's export file (rollcall-agent export --out FILE):\n"
            "                each batch with the same checks as POST /v1/batches, as its own\n"
            "                transaction; prints accepted/duplicates/ack_seq per batch; a\n"
            "                refused batch stops the import (earlier batches stay)\n"
            "  fences FILE   store venue fences (GeoJSON); a fence id already stored with\n"
            "                another geometry is replaced, its old version kept as history\n"
            "  classes FILE      class plans (JSON object or array, or CSV; INTERFACES.md\n"
            "                    \"Import formats\"): a class id already stored is replaced\n"
            "  online FILE       online-platform records of stored classes\n"
            "  assessments FILE  assessment results of stored classes (a later result for a\n"
            "                    trainee replaces the earlier one, which is kept as history)\n"
            "                    These three are all or nothing: one bad record refuses the\n"
            "                    file, naming the line or JSON path. CSV may be UTF-8 (with or\n"
            "                    without BOM) or GB18030; FILE.csv is read as CSV, FILE.json as\n"
            "                    JSON, anything else by its first character.\n"
            "  --json        one JSON object per batch or fence (or per file) on stdout\n");
}

/* Reads one line (without its '\n') into buf of cap bytes; *len its length. Returns 1 for a
 * line, 0 at the end of the file, RC_LIMIT when the line does not fit, RC_IO. A last line
 * without a newline counts as a line. */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF) {
        if (c == '\n') {
            buf[n] = '\0';
            *len = n;
            return 1;
        }
        if (n + 1 >= cap)
            return RC_LIMIT;
        buf[n++] = (char)c;
    }
    if (ferror(f))
        return RC_IO;
    buf[n] = '\0';
    *len = n;
    return n > 0 ? 1 : 0;
}

/* An integer member in [min, max]. */
static bool member_int(const cJSON *o, const char *name, double min, double max, int64_t *out)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(m) || m->valuedouble < min || m->valuedouble > max ||
        m->valuedouble != (double)(int64_t)m->valuedouble)
        return false;
    *out = (int64_t)m->valuedouble;
    return true;
}

struct batch_header {
    int64_t first_seq;
    int64_t count;
    char signature[128];
};

static int parse_batch_header(const char *line, size_t len, struct batch_header *h, char *err)
{
    cJSON *root = NULL;
    int rc = jsonin_parse(line, len, &root, err);
    if (rc != RC_OK)
        return rc;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "batch");
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(b, "signature");
    if (!cJSON_IsObject(b) || cJSON_GetArraySize(root) != 1 ||
        !member_int(b, "first_seq", 1, (double)EVENT_INT_MAX, &h->first_seq) ||
        !member_int(b, "count", 1, INGEST_LINES_MAX, &h->count) || !cJSON_IsString(sig) ||
        strlen(sig->valuestring) >= sizeof h->signature) {
        rc = rc_fail(err, RC_INVAL,
                     "expected a batch header {\"batch\":{\"first_seq\":N,\"count\":1..%d,"
                     "\"signature\":BASE64}}",
                     INGEST_LINES_MAX);
        goto out;
    }
    snprintf(h->signature, sizeof h->signature, "%s", sig->valuestring);
out:
    cJSON_Delete(root);
    return rc;
}

static int parse_file_header(const char *line, size_t len, char device[STORE_ID_MAX + 1], char *err)
{
    cJSON *root = NULL;
    int rc = jsonin_parse(line, len, &root, err);
    if (rc != RC_OK)
        return rc;
    int64_t version = 0;
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(root, "device");
    if (!member_int(root, "rollcall_export", 1, 1, &version) || !cJSON_IsString(dev) ||
        !dev->valuestring[0] || strlen(dev->valuestring) > STORE_ID_MAX) {
        rc = rc_fail(err, RC_INVAL,
                     "not a Rollcall export file (line 1 must be {\"rollcall_export\":1,"
                     "\"device\":ID,\"created\":TS})");
        goto out;
    }
    snprintf(device, STORE_ID_MAX + 1, "%s", dev->valuestring);
out:
    cJSON_Delete(root);
    return rc;
}

static int import_batches(const char *db_url, const char *path, bool json)
{
    int status = EXIT_REFUSED;
    char err[ERR_LEN] = "";
    store *st = NULL;
    FILE *f = NULL;
    char *batch = NULL;
    char line[EVENT_LINE_MAX + 2];
    char device[STORE_ID_MAX + 1];
    size_t lineno = 0, len = 0;
    int64_t nbatch = 0, accepted = 0, duplicates = 0;

    f = fopen(path, "rb");
    if (!f) {
        rc_fail(err, RC_IO, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    batch = malloc(IMPORT_BATCH_MAX + 1);
    if (!batch) {
        rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    int r = read_line(f, line, IMPORT_HEADER_MAX, &len);
    lineno++;
    char why[ERR_LEN];
    if (r != 1 || parse_file_header(line, len, device, why) != RC_OK) {
        rc_fail(err, RC_INVAL, "%s line 1: %s", path,
                r == 1 ? why : "not a Rollcall export file (empty or unreadable)");
        goto out;
    }
    if (store_open(db_url, 0, &st, err) != RC_OK || store_check_schema(st, err) != RC_OK)
        goto out;
    for (;;) {
        r = read_line(f, line, IMPORT_HEADER_MAX, &len);
        if (r == 0)
            break;
        lineno++;
        struct batch_header h;
        if (r != 1 || parse_batch_header(line, len, &h, why) != RC_OK) {
            rc_fail(err, RC_INVAL, "%s line %zu: %s", path, lineno,
                    r == RC_LIMIT ? "line too long for a batch header"
                    : r == 1      ? why
                                  : "read error");
            goto out;
        }
        nbatch++;
        size_t header_line = lineno, used = 0;
        for (int64_t i = 0; i < h.count; i++) {
            r = read_line(f, line, sizeof line, &len);
            if (r != 1) {
                rc_fail(err, RC_INVAL, "%s line %zu: batch %lld ends early (%lld lines announced)",
                        path, lineno + 1, (long long)nbatch, (long long)h.count);
                if (r == RC_LIMIT)
                    rc_fail(err, RC_LIMIT, "%s line %zu: longer than %d bytes", path, lineno + 1,
                            EVENT_LINE_MAX);
                goto out;
            }
            lineno++;
            memcpy(batch + used, line, len);
            used += len;
            batch[used++] = '\n';
        }
        /* The header's first_seq must be the batch's: check before applying anything. */
        struct ingest_parsed parsed;
        struct ingest_result res;
        if (ingest_parse((const uint8_t *)batch, used, device, &parsed, &res) == RC_OK) {
            bool same = parsed.lines[0].ev.seq == h.first_seq;
            ingest_parsed_free(&parsed);
            if (!same) {
                rc_fail(err, RC_INVAL,
                        "%s line %zu: batch %lld says first_seq %lld, its lines "
                        "start elsewhere",
                        path, header_line, (long long)nbatch, (long long)h.first_seq);
                goto out;
            }
        }
        if (ingest_batch(st, device, (const uint8_t *)batch, used, h.signature, ts_now_ms(), &res,
                         err) != RC_OK)
            goto out;
        if (res.status != 200) {
            rc_fail(err, RC_INVAL, "%s line %zu: batch %lld (seq %lld..) refused (%u): %s", path,
                    header_line, (long long)nbatch, (long long)h.first_seq, res.status, res.reason);
            goto out;
        }
        accepted += res.accepted;
        duplicates += res.duplicates;
        if (json)
            printf("{\"batch\":%lld,\"first_seq\":%lld,\"count\":%lld,\"accepted\":%lld,"
                   "\"duplicates\":%lld,\"ack_seq\":%lld}\n",
                   (long long)nbatch, (long long)h.first_seq, (long long)h.count,
                   (long long)res.accepted, (long long)res.duplicates, (long long)res.ack_seq);
        else
            printf("batch %lld: seq %lld..%lld: accepted %lld, duplicates %lld, ack_seq %lld\n",
                   (long long)nbatch, (long long)h.first_seq,
                   (long long)(h.first_seq + h.count - 1), (long long)res.accepted,
                   (long long)res.duplicates, (long long)res.ack_seq);
        fflush(stdout);
    }
    log_msg(LOG_LVL_INFO, "%s: device '%s', %lld batches, %lld events accepted, %lld duplicates",
            path, device, (long long)nbatch, (long long)accepted, (long long)duplicates);
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server import batches: %s\n", err);
    if (f)
        fclose(f);
    free(batch);
    store_close(st);
    return status;
}

static const char *outcome_name(enum store_fence_outcome o)
{
    return o == STORE_FENCE_NEW ? "new" : o == STORE_FENCE_SAME ? "unchanged" : "replaced";
}

static int import_fences(const char *db_url, const char *path, bool json)
{
    int status = EXIT_REFUSED;
    char err[ERR_LEN] = "";
    store *st = NULL;
    char *data = NULL;
    struct fences_item *items = NULL;
    size_t n = 0;
    size_t len = 0;
    if (file_read_bounded(path, FENCE_MAX_FILE_BYTES, &data, &len, err) != RC_OK)
        goto out;
    if (fences_split(data, len, path, NULL, &items, &n, err) != RC_OK)
        goto out;
    if (store_open(db_url, 0, &st, err) != RC_OK || store_check_schema(st, err) != RC_OK ||
        store_begin(st, err) != RC_OK)
        goto out;
    int64_t now = ts_now_ms();
    enum store_fence_outcome *outcome = calloc(n, sizeof *outcome);
    int *version = calloc(n, sizeof *version);
    bool ok = outcome && version;
    if (!ok)
        rc_fail(err, RC_NOMEM, "out of memory");
    for (size_t i = 0; ok && i < n; i++)
        ok = store_fence_put(st, items[i].id, items[i].feature, items[i].sha256, "import-fences",
                             now, true, &outcome[i], &version[i], err) == RC_OK;
    if (ok)
        ok = store_commit(st, err) == RC_OK;
    else
        store_rollback(st);
    for (size_t i = 0; ok && i < n; i++) {
        if (json)
            printf("{\"fence\":\"%s\",\"version\":%d,\"outcome\":\"%s\",\"sha256\":\"%s\"}\n",
                   items[i].id, version[i], outcome_name(outcome[i]), items[i].sha256);
        else
            printf("fence %s: %s (version %d)\n", items[i].id, outcome_name(outcome[i]),
                   version[i]);
        if (outcome[i] == STORE_FENCE_REPLACED)
            log_msg(LOG_LVL_INFO, "fence '%s' replaced: version %d is current", items[i].id,
                    version[i]);
    }
    free(outcome);
    free(version);
    if (ok)
        status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server import fences: %s\n", err);
    free(data);
    fences_items_free(items, n);
    store_close(st);
    return status;
}

int cmd_import(int argc, char **argv, const struct server_globals *g)
{
    const char *db_url = g->db_url;
    bool json = false;
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = true; break;
        case 'd': db_url = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rollcall-server import: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server import: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "rollcall-server import: expected 'import "
                        "batches|fences|classes|online|assessments FILE'\n");
        return EXIT_USAGE;
    }
    const char *what = argv[optind];
    const char *path = argv[optind + 1];
    if (strcmp(what, "batches") == 0)
        return import_batches(db_url, path, json);
    if (strcmp(what, "fences") == 0)
        return import_fences(db_url, path, json);
    if (strcmp(what, "classes") == 0 || strcmp(what, "online") == 0 ||
        strcmp(what, "assessments") == 0)
        return import_records(db_url, what, path, json);
    fprintf(stderr,
            "rollcall-server import: unknown kind '%s' (batches, fences, classes, online, "
            "assessments)\n",
            what);
    return EXIT_USAGE;
}

/* rollcall-server backup and restore (docs/OPERATIONS.md "Backup and restore").
 *
 * backup copies a SQLite database while collectors keep serving it (the online backup API, one
 * consistent snapshot) and writes FILE.sha256 beside it in sha256sum(1) form.
 *
 * restore replaces a SQLite database with a backup only after every check passed: the digest
 * matches, no collector holds the database (store_hold), the copy passes the integrity check
 * and has a schema version this program knows (an older one is migrated forward). The checks
 * run on a copy beside the database; the old database is kept (hard link) and the copy
 * renamed over it, so a failure at any step leaves the old one in place. */
#include "cmd/commands.h"
#include "crypto.h"
#include "file.h"
#include "rc.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    BACKUP_DIGEST_FILE_MAX = 4096, /* FILE.sha256: one sha256sum(1) line */
    BACKUP_COPY_CHUNK = 256 << 10,
    BACKUP_PATH_MAX = STORE_URL_MAX + 64,
};

/* Parses --db and one required FILE option (name) for backup/restore; 0, or an exit status. */
static int parse_args(int argc, char **argv, const char *cmd, const char *name, const char *help,
                      const char **db_url, const char **file)
{
    const struct option opts[] = {
        {name, required_argument, NULL, 'f'},
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f': *file = optarg; break;
        case 'd': *db_url = optarg; break;
        case 'h': fputs(help, stdout); return -1;
        case ':':
            fprintf(stderr, "rollcall-server %s: %s needs a value\n", cmd, argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server %s: unknown option '%s' (see --help)\n", cmd,
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-server %s: unexpected argument '%s'\n", cmd, argv[optind]);
        return EXIT_USAGE;
    }
    if (!*file) {
        fprintf(stderr, "rollcall-server %s: --%s FILE is required (see --help)\n", cmd, name);
        return EXIT_USAGE;
    }
    return 0;
}

static bool is_sqlite(const char *url)
{
    return strncmp(url, "sqlite:", 7) == 0;
}

/* Writes "HEX  NAME\n" (sha256sum's format, NAME without directory) to path+".sha256". */
static int write_digest(const char *path, const char hex[CRYPTO_SHA256_HEX_LEN + 1], char *err)
{
    char dpath[BACKUP_PATH_MAX], base[BACKUP_PATH_MAX];
    snprintf(dpath, sizeof dpath, "%s.sha256", path);
    snprintf(base, sizeof base, "%s", path);
    int fd = open(dpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return rc_fail(err, RC_IO, "cannot create %s: %s", dpath, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(dpath);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    fprintf(f, "%s  %s\n", hex, basename(base));
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        unlink(dpath);
        return rc_fail(err, RC_IO, "writing %s: %s", dpath, strerror(errno));
    }
    fclose(f);
    return RC_OK;
}

static int file_digest(const char *path, char hex[CRYPTO_SHA256_HEX_LEN + 1], uint64_t *bytes,
                       char *err)
{
    uint8_t d[CRYPTO_SHA256_LEN];
    int rc = crypto_sha256_file(path, d, bytes, err);
    if (rc == RC_OK)
        crypto_hex(d, sizeof d, hex);
    return rc;
}

int backup_with_digest(store *st, const char *path, char hex[CRYPTO_SHA256_HEX_LEN + 1],
                       uint64_t *bytes, char *err)
{
    int rc = store_backup(st, path, err);
    if (rc != RC_OK)
        return rc;
    if ((rc = file_digest(path, hex, bytes, err)) != RC_OK ||
        (rc = write_digest(path, hex, err)) != RC_OK)
        unlink(path);
    return rc;
}

static const char BACKUP_HELP[] =
    "usage: rollcall-server [--db URL] backup --out FILE\n"
    "\n"
    "Copies the SQLite database into FILE (which must not exist) while collectors keep\n"
    "serving it, and writes FILE.sha256 beside it (sha256sum -c checks it). For PostgreSQL\n"
    "use pg_dump (docs/OPERATIONS.md).\n";

int cmd_backup(int argc, char **argv, const struct server_globals *g)
{
    const char *db_url = g->db_url, *out_path = NULL;
    int st_rc = parse_args(argc, argv, "backup", "out", BACKUP_HELP, &db_url, &out_path);
    if (st_rc != 0)
        return st_rc < 0 ? 0 : st_rc;
    if (strlen(out_path) > STORE_URL_MAX) {
        fprintf(stderr, "rollcall-server backup: path longer than %d bytes\n", STORE_URL_MAX);
        return EXIT_USAGE;
    }
    if (!is_sqlite(db_url)) {
        /* Never echo the URL: it may carry a password. */
        fprintf(stderr, "rollcall-server backup: a PostgreSQL database is backed up with "
                        "pg_dump --format=custom --file FILE \"$ROLLCALL_DB\" (docs/OPERATIONS.md "
                        "\"Backup and restore\")\n");
        return EXIT_REFUSED;
    }
    char err[ERR_LEN], hex[CRYPTO_SHA256_HEX_LEN + 1];
    store *st = NULL;
    int status = EXIT_REFUSED, version = 0;
    uint64_t bytes = 0;
    if (store_open(db_url, 0, &st, err) != RC_OK ||
        store_schema_version(st, &version, err) != RC_OK)
        goto out;
    if (version == 0) {
        rc_fail(err, RC_STATE, "the database is empty: nothing to back up");
        goto out;
    }
    if (backup_with_digest(st, out_path, hex, &bytes, err) != RC_OK)
        goto out;
    printf("backup of schema version %d in %s (%llu bytes, sha256 %s, digest in %s.sha256)\n",
           version, out_path, (unsigned long long)bytes, hex, out_path);
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server backup: %s\n", err);
    store_close(st);
    return status;
}

/* Compares the SHA-256 of copy (the working copy of path, so the bytes checked are the bytes
 * installed) with the first word of path.sha256. */
static int check_digest(const char *path, const char *copy, char *err)
{
    char dpath[BACKUP_PATH_MAX], hex[CRYPTO_SHA256_HEX_LEN + 1], why[ERR_LEN];
    char *text = NULL;
    size_t len = 0;
    uint64_t bytes = 0;
    snprintf(dpath, sizeof dpath, "%s.sha256", path);
    int rc = file_read_bounded(dpath, BACKUP_DIGEST_FILE_MAX, &text, &len, why);
    if (rc != RC_OK)
        return rc_fail(err, rc, "no digest %s beside the backup: %s", dpath, why);
    rc = file_digest(copy, hex, &bytes, err);
    if (rc == RC_OK &&
        (len < CRYPTO_SHA256_HEX_LEN || strncasecmp(text, hex, CRYPTO_SHA256_HEX_LEN) != 0 ||
         (len > CRYPTO_SHA256_HEX_LEN && text[CRYPTO_SHA256_HEX_LEN] != ' ')))
        rc = rc_fail(err, RC_CORRUPT,
                     "%s does not match its digest %s: damaged or altered, not restored", path,
                     dpath);
    free(text);
    return rc;
}

/* Copies src into the new file dst (0600), fsynced. */
static int copy_file(const char *src, const char *dst, char *err)
{
    int rc = RC_OK;
    char *buf = malloc(BACKUP_COPY_CHUNK);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (!buf) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (in < 0 || out < 0) {
        rc = rc_fail(err, RC_IO, "cannot open %s: %s", in < 0 ? src : dst, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, buf, BACKUP_COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = rc_fail(err, RC_IO, "reading %s: %s", src, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = rc_fail(err, errno == ENOSPC ? RC_FULL : RC_IO, "writing %s: %s", dst,
                             strerror(errno));
                goto out;
            }
            off += w;
        }
    }
    if (fsync(out) != 0)
        rc = rc_fail(err, RC_IO, "writing %s: %s", dst, strerror(errno));
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    free(buf);
    if (rc != RC_OK && out >= 0)
        unlink(dst);
    return rc;
}

static void fsync_dir_of(const char *path)
{
    char d[BACKUP_PATH_MAX];
    snprintf(d, sizeof d, "%s", path);
    int fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static const char RESTORE_HELP[] =
    "usage: rollcall-server [--db URL] restore --from FILE\n"
    "\n"
    "Replaces the SQLite database with the backup FILE after checking FILE.sha256, that no\n"
    "collector is serving the database, PRAGMA integrity_check and the schema version (an\n"
    "older one is migrated forward, a newer one refused). The old database is kept as\n"
    "PATH.pre-restore-TIME. For PostgreSQL use pg_restore (docs/OPERATIONS.md).\n";

int cmd_restore(int argc, char **argv, const struct server_globals *g)
{
    const char *db_url = g->db_url, *from = NULL;
    int st_rc = parse_args(argc, argv, "restore", "from", RESTORE_HELP, &db_url, &from);
    if (st_rc != 0)
        return st_rc < 0 ? 0 : st_rc;
    if (!is_sqlite(db_url)) {
        fprintf(stderr, "rollcall-server restore: a PostgreSQL database is restored with "
                        "pg_restore (docs/OPERATIONS.md \"Backup and restore\")\n");
        return EXIT_REFUSED;
    }
    const char *path = db_url + 7;
    if (strlen(path) > STORE_URL_MAX || strlen(from) > STORE_URL_MAX) {
        fprintf(stderr, "rollcall-server restore: path longer than %d bytes\n", STORE_URL_MAX);
        return EXIT_USAGE;
    }
    char err[ERR_LEN], tmp[BACKUP_PATH_MAX], tmp_url[BACKUP_PATH_MAX + 8];
    char kept[BACKUP_PATH_MAX + 64] = "";
    char f[BACKUP_PATH_MAX + 16];
    int status = EXIT_REFUSED, hold = -1, version = 0, migrated_to = 0;
    bool tmp_made = false;
    store *st = NULL;
    snprintf(tmp, sizeof tmp, "%s.restoring", path);
    snprintf(tmp_url, sizeof tmp_url, "sqlite:%s", tmp);

    int rc = store_hold(db_url, true, &hold, err);
    if (rc != RC_OK && rc != RC_NOTFOUND)
        goto out;
    /* A copy left by an interrupted restore is ours to remove. */
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(f, sizeof f, "%s%s", tmp, sfx[i]);
        unlink(f);
    }
    if (copy_file(from, tmp, err) != RC_OK)
        goto out;
    tmp_made = true;
    if (check_digest(from, tmp, err) != RC_OK)
        goto out;
    if (store_open(tmp_url, 0, &st, err) != RC_OK || store_integrity_check(st, err) != RC_OK ||
        store_schema_version(st, &version, err) != RC_OK) {
        char why[ERR_LEN]; /* say it of the backup, not of our working copy */
        snprintf(why, sizeof why, "%s", err);
        const char *p = strncmp(why, tmp, strlen(tmp)) == 0 ? why + strlen(tmp) : why;
        rc_fail(err, RC_INVAL, "%s%s%s", from, p == why ? ": " : "", p);
        goto out;
    }
    if (version == 0) {
        rc_fail(err, RC_INVAL, "%s is not a Rollcall database (no schema)", from);
        goto out;
    }
    if (version > store_schema_latest(st)) {
        rc_fail(err, RC_STATE,
                "%s has schema version %d, newer than this program's %d: upgrade "
                "rollcall-server first",
                from, version, store_schema_latest(st));
        goto out;
    }
    if (version < store_schema_latest(st) && store_migrate(st, NULL, &migrated_to, err) != RC_OK)
        goto out;
    /* events from before schema 20 get the figures' columns and pack, as `migrate` does */
    int64_t filled = 0, unparsed = 0;
    if (version < 20 && store_events_backfill(st, 1000, &filled, &unparsed, err) != RC_OK)
        goto out;
    store_close(st); /* the last connection: SQLite folds the WAL into the file */
    st = NULL;
    snprintf(f, sizeof f, "%s-wal", tmp);
    if (access(f, F_OK) == 0) {
        rc_fail(err, RC_STATE, "%s is still open elsewhere", tmp);
        goto out;
    }

    struct stat sb;
    if (stat(path, &sb) == 0) {
        time_t now = time(NULL);
        struct tm tm;
        char stamp[32];
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(kept, sizeof kept, "%s.pre-restore-%s", path, stamp);
        if (link(path, kept) != 0) {
            rc_fail(err, RC_IO, "cannot keep the old database as %s: %s", kept, strerror(errno));
            goto out;
        }
        /* The old database's WAL belongs with the kept copy; its -shm is only an index. */
        char wal[BACKUP_PATH_MAX + 8], kept_wal[BACKUP_PATH_MAX + 72];
        snprintf(wal, sizeof wal, "%s-wal", path);
        snprintf(kept_wal, sizeof kept_wal, "%s-wal", kept);
        if (rename(wal, kept_wal) != 0 && errno != ENOENT) {
            rc_fail(err, RC_IO, "cannot move %s aside: %s", wal, strerror(errno));
            unlink(kept);
            goto out;
        }
        snprintf(f, sizeof f, "%s-shm", path);
        unlink(f);
    }
    if (rename(tmp, path) != 0) {
        rc_fail(err, RC_IO, "cannot put the restored database in place: %s", strerror(errno));
        goto out;
    }
    tmp_made = false;
    fsync_dir_of(path);
    printf("restored %s (schema version %d", from, version);
    if (migrated_to)
        printf(", migrated to %d", migrated_to);
    if (filled)
        printf(", the figures' columns and pack filled for %lld events", (long long)filled);
    printf(") into %s", path);
    if (kept[0])
        printf("; the previous database is kept as %s", kept);
    printf("\n");
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server restore: %s; nothing was replaced\n", err);
    store_close(st);
    if (tmp_made)
        for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
            snprintf(f, sizeof f, "%s%s", tmp, sfx[i]);
            unlink(f);
        }
    store_release_hold(hold);
    return status;
}

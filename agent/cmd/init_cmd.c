/* init: turn a fresh machine into a kiosk from a firmware profile. Writes the agent config,
 * creates the data directory (0700), copies the venue fence (validated), generates the
 * device key (0600), creates the outbox, and stores the institution's pseudonym key when one
 * is given. Refuses to overwrite an existing config, key or outbox; whatever it created
 * before a failure is removed again, so a refused init can simply be run again. */
#include "cmd/commands.h"
#include "config.h"
#include "crypto.h"
#include "fence.h"
#include "kiosk.h"
#include "log.h"
#include "outbox.h"
#include "rc.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MADE_MAX = 8 };

struct init_args {
    const char *profile, *fence, *device_id, *institution, *server, *ca, *dir, *fence_id, *inst_key,
        *control_socket, *control_group;
    bool plain_http;
};

/* Files and directories made so far, removed in reverse order when init fails. */
struct made {
    char path[MADE_MAX][CONFIG_PATH_LEN + 8];
    bool is_dir[MADE_MAX];
    int n;
};

static void made_add(struct made *m, const char *path, bool is_dir)
{
    if (m->n >= MADE_MAX)
        return;
    snprintf(m->path[m->n], sizeof m->path[m->n], "%s", path);
    m->is_dir[m->n] = is_dir;
    m->n++;
}

static void made_undo(struct made *m)
{
    for (int i = m->n - 1; i >= 0; i--) {
        if (m->is_dir[i])
            rmdir(m->path[i]);
        else
            unlink(m->path[i]);
    }
    m->n = 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-agent [--config FILE] init --profile FILE --fence FILE\n"
            "         --device-id ID --institution ID --server URL [--ca FILE] [--dir DIR]\n"
            "         [--fence-id ID] [--institution-key FILE] [--allow-plain-http]\n"
            "         [--control-socket PATH] [--control-group GROUP]\n"
            "\n"
            "Sets this machine up as a kiosk: writes the agent config (--config, default\n"
            "/etc/rollcall/agent.json) with a copy of the firmware profile, creates DIR (0700,\n"
            "default /var/lib/rollcall) with the outbox, the device key (0600) and a copy of the\n"
            "venue fence, and prints the device key's fingerprint. Refuses to overwrite an\n"
            "existing config, key or outbox.\n"
            "\n"
            "  --profile FILE          firmware profile (firmware-profiles/*.json)\n"
            "  --fence FILE            venue fence file (GeoJSON); validated before it is copied\n"
            "  --fence-id ID           which fence of the file is the venue (needed when the\n"
            "                          file holds more than one)\n"
            "  --device-id ID          this kiosk's id, unique in the deployment\n"
            "  --institution ID        the training institution running the kiosk\n"
            "  --server URL            the collector (https://...)\n"
            "  --ca FILE               CA bundle for the collector's certificate\n"
            "  --dir DIR               data directory (default /var/lib/rollcall)\n"
            "  --institution-key FILE  the institution's pseudonym key (64 hex digits, mode\n"
            "                          0600) for a kiosk that never meets the network; else\n"
            "                          `enroll` fetches it\n"
            "  --allow-plain-http      accept an http:// server URL (tests, local TLS proxy)\n"
            "  --control-socket PATH   the daemon's control socket (default DIR/control.sock;\n"
            "                          with systemd: /run/rollcall/control.sock)\n"
            "  --control-group GROUP   group allowed to use the control socket (the kiosk UI's)\n"
            "Exit status: 0 done, 1 refused (nothing left behind), 2 usage.\n");
}

static int make_absolute(const char *in, char *out, size_t cap, char *err)
{
    int n;
    if (in[0] == '/') {
        n = snprintf(out, cap, "%s", in);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return rc_fail(err, RC_IO, "cannot read the current directory: %s", strerror(errno));
        n = snprintf(out, cap, "%s/%s", cwd, in);
    }
    if (n < 0 || (size_t)n >= cap)
        return rc_fail(err, RC_INVAL, "%s: path too long", in);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    return RC_OK;
}

static int refuse_existing(const char *path, const char *what, char *err)
{
    struct stat sb;
    if (lstat(path, &sb) == 0)
        return rc_fail(err, RC_CONFLICT, "%s %s already exists: not overwritten", what, path);
    if (errno != ENOENT)
        return rc_fail(err, RC_IO, "%s: %s", path, strerror(errno));
    return RC_OK;
}

/* Writes len bytes to a new file at path with mode, durably. */
static int write_new_file(const char *path, const char *data, size_t len, mode_t mode, char *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return rc_fail(err, RC_IO, "%s: %s", path, strerror(errno));
    size_t off = 0;
    int ok = 1;
    while (ok && off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            ok = 0;
        else
            off += (size_t)n;
    }
    ok = ok && fchmod(fd, mode) == 0 && fsync(fd) == 0;
    int e = errno;
    ok = (close(fd) == 0) && ok;
    if (!ok) {
        unlink(path);
        return rc_fail(err, RC_IO, "%s: %s", path, strerror(e));
    }
    return RC_OK;
}

/* Creates dir with mode 0700 (or tightens an existing empty-enough directory to 0700). */
static int make_data_dir(const char *dir, struct made *m, char *err)
{
    if (mkdir(dir, 0700) == 0) {
        made_add(m, dir, true);
        return RC_OK;
    }
    if (errno != EEXIST)
        return rc_fail(err, RC_IO, "cannot create %s: %s", dir, strerror(errno));
    struct stat sb;
    if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return rc_fail(err, RC_CONFLICT, "%s exists and is not a directory", dir);
    if (chmod(dir, 0700) != 0)
        return rc_fail(err, RC_IO, "chmod %s: %s", dir, strerror(errno));
    return RC_OK;
}

/* Creates the config file's directory when missing (one level, 0755). */
static int make_config_dir(const char *config_path, struct made *m, char *err)
{
    char dir[CONFIG_PATH_LEN];
    snprintf(dir, sizeof dir, "%s", config_path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return RC_OK;
    *slash = '\0';
    if (mkdir(dir, 0755) == 0)
        made_add(m, dir, true);
    else if (errno != EEXIST)
        return rc_fail(err, RC_IO, "cannot create %s: %s", dir, strerror(errno));
    return RC_OK;
}

static int parse_args(int argc, char **argv, struct init_args *a, int *exit_code)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"fence", required_argument, NULL, 'f'},
        {"device-id", required_argument, NULL, 'd'},
        {"institution", required_argument, NULL, 'i'},
        {"server", required_argument, NULL, 's'},
        {"ca", required_argument, NULL, 'C'},
        {"dir", required_argument, NULL, 'D'},
        {"fence-id", required_argument, NULL, 'F'},
        {"institution-key", required_argument, NULL, 'k'},
        {"allow-plain-http", no_argument, NULL, 'P'},
        {"control-socket", required_argument, NULL, 'S'},
        {"control-group", required_argument, NULL, 'G'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "p:f:d:i:s:C:D:F:k:PS:G:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': a->profile = optarg; break;
        case 'f': a->fence = optarg; break;
        case 'd': a->device_id = optarg; break;
        case 'i': a->institution = optarg; break;
        case 's': a->server = optarg; break;
        case 'C': a->ca = optarg; break;
        case 'D': a->dir = optarg; break;
        case 'F': a->fence_id = optarg; break;
        case 'k': a->inst_key = optarg; break;
        case 'P': a->plain_http = true; break;
        case 'S': a->control_socket = optarg; break;
        case 'G': a->control_group = optarg; break;
        case 'h':
            usage(stdout);
            *exit_code = 0;
            return -1;
        default:
            usage(stderr);
            *exit_code = EXIT_USAGE;
            return -1;
        }
    }
    if (optind != argc || !a->profile || !a->fence || !a->device_id || !a->institution ||
        !a->server) {
        fprintf(stderr, "rollcall-agent: init needs --profile, --fence, --device-id, "
                        "--institution and --server (see --help)\n");
        *exit_code = EXIT_USAGE;
        return -1;
    }
    if (!a->dir)
        a->dir = "/var/lib/rollcall";
    return 0;
}

/* Fills cfg from the arguments and the loaded profile. */
static int build_config(const struct init_args *a, const struct config_profile *profile,
                        const char *data_dir, const char *venue, struct config_agent *cfg,
                        char *err)
{
    cfgmap_defaults(&config_agent_table, cfg);
    struct {
        char *dst;
        size_t cap;
        const char *src;
        const char *what;
    } fields[] = {
        {cfg->device_id, sizeof cfg->device_id, a->device_id, "--device-id"},
        {cfg->institution, sizeof cfg->institution, a->institution, "--institution"},
        {cfg->server, sizeof cfg->server, a->server, "--server"},
        {cfg->data_dir, sizeof cfg->data_dir, data_dir, "--dir"},
        {cfg->fence_id, sizeof cfg->fence_id, venue, "--fence-id"},
        {cfg->control_socket, sizeof cfg->control_socket,
         a->control_socket ? a->control_socket : "", "--control-socket"},
        {cfg->control_group, sizeof cfg->control_group, a->control_group ? a->control_group : "",
         "--control-group"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        int n = snprintf(fields[i].dst, fields[i].cap, "%s", fields[i].src);
        if (n < 0 || (size_t)n >= fields[i].cap)
            return rc_fail(err, RC_INVAL, "%s: longer than %zu bytes", fields[i].what,
                           fields[i].cap - 1);
    }
    if (a->ca) {
        int rc = make_absolute(a->ca, cfg->ca_file, sizeof cfg->ca_file, err);
        if (rc != RC_OK)
            return rc;
    }
    cfg->allow_plain_http = a->plain_http;
    if (a->inst_key) {
        int n = snprintf(cfg->institution_key_file, sizeof cfg->institution_key_file,
                         "%s/institution.key", data_dir);
        if (n < 0 || (size_t)n >= sizeof cfg->institution_key_file)
            return rc_fail(err, RC_INVAL, "--dir: too long");
    }
    cfg->profile = *profile;
    /* Paths left empty default to DATA_DIR/<name> when the config is loaded. */
    return config_agent_check(cfg, "init", err);
}

static int run_init(const struct init_args *a, const char *config_path, struct made *m, char *err)
{
    int rc;
    struct config_profile *profile = malloc(sizeof *profile);
    struct config_agent *cfg = malloc(sizeof *cfg);
    fence_set *fences = NULL;
    char *fence_text = NULL;
    size_t fence_len = 0;
    crypto_rng *rng = NULL;
    crypto_key *key = NULL;
    outbox *ob = NULL;
    uint8_t inst_key[KIOSK_INST_KEY_LEN];
    char dir[CONFIG_PATH_LEN], cfg_abs[CONFIG_PATH_LEN];
    char key_path[CONFIG_PATH_LEN + 16], db_path[CONFIG_PATH_LEN + 16];
    char fence_path[CONFIG_PATH_LEN + 16], inst_path[CONFIG_PATH_LEN + 16];
    if (!profile || !cfg) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = make_absolute(a->dir, dir, sizeof dir - 20, err)) != RC_OK ||
        (rc = make_absolute(config_path, cfg_abs, sizeof cfg_abs, err)) != RC_OK)
        goto out;
    snprintf(key_path, sizeof key_path, "%s/device.key", dir);
    snprintf(db_path, sizeof db_path, "%s/outbox.db", dir);
    snprintf(fence_path, sizeof fence_path, "%s/fence.geojson", dir);
    snprintf(inst_path, sizeof inst_path, "%s/institution.key", dir);

    /* Everything is checked before anything is written. */
    if ((rc = refuse_existing(cfg_abs, "config", err)) != RC_OK ||
        (rc = refuse_existing(key_path, "device key", err)) != RC_OK ||
        (rc = refuse_existing(db_path, "outbox", err)) != RC_OK)
        goto out;
    if ((rc = config_profile_load(a->profile, profile, err)) != RC_OK)
        goto out;
    if ((rc = cfgmap_read_file(a->fence, &fence_text, &fence_len, err)) != RC_OK ||
        (rc = fence_set_parse(fence_text, fence_len, a->fence, &fences, err)) != RC_OK)
        goto out;
    for (size_t i = 0; i < fence_set_ignored_count(fences) && i < FENCE_MAX_NOTES; i++)
        log_msg(LOG_LVL_DEBUG, "%s: ignored %s (not part of a fence)", a->fence,
                fence_set_ignored(fences, i));
    if (fence_set_ignored_count(fences) > FENCE_MAX_NOTES)
        log_msg(LOG_LVL_DEBUG, "%s: ignored %zu more", a->fence,
                fence_set_ignored_count(fences) - FENCE_MAX_NOTES);
    const char *venue_id = a->fence_id;
    if (!venue_id) {
        if (fence_set_count(fences) != 1) {
            rc = rc_fail(err, RC_INVAL, "%s holds %zu fences: name the venue with --fence-id",
                         a->fence, fence_set_count(fences));
            goto out;
        }
        venue_id = fence_id(fence_set_at(fences, 0));
    } else if (!fence_set_find(fences, venue_id)) {
        rc = rc_fail(err, RC_NOTFOUND, "%s: no fence with id '%s'", a->fence, venue_id);
        goto out;
    }
    if (a->inst_key && (rc = kiosk_read_inst_key(a->inst_key, inst_key, err)) != RC_OK)
        goto out;
    if ((rc = build_config(a, profile, dir, venue_id, cfg, err)) != RC_OK)
        goto out;

    if ((rc = make_data_dir(dir, m, err)) != RC_OK)
        goto out;
    if ((rc = refuse_existing(fence_path, "fence copy", err)) != RC_OK ||
        (rc = write_new_file(fence_path, fence_text, fence_len, 0640, err)) != RC_OK)
        goto out;
    made_add(m, fence_path, false);
    if ((rc = crypto_rng_create(&rng, err)) != RC_OK ||
        (rc = crypto_key_generate(rng, &key, err)) != RC_OK ||
        (rc = crypto_key_save(key, key_path, err)) != RC_OK)
        goto out;
    made_add(m, key_path, false);
    if (a->inst_key) {
        if ((rc = refuse_existing(inst_path, "institution key", err)) != RC_OK ||
            (rc = kiosk_write_inst_key(inst_path, inst_key, err)) != RC_OK)
            goto out;
        made_add(m, inst_path, false);
    }
    struct outbox_options opt = {.max_bytes = profile->storage.max_db_mb * 1024 * 1024};
    made_add(m, db_path, false);
    rc = outbox_open(db_path, &opt, &ob, err);
    outbox_close(ob);
    ob = NULL;
    {
        char side[CONFIG_PATH_LEN + 24];
        snprintf(side, sizeof side, "%s-wal", db_path);
        made_add(m, side, false);
        snprintf(side, sizeof side, "%s-shm", db_path);
        made_add(m, side, false);
    }
    if (rc != RC_OK)
        goto out;
    if ((rc = make_config_dir(cfg_abs, m, err)) != RC_OK ||
        (rc = refuse_existing(cfg_abs, "config", err)) != RC_OK ||
        (rc = config_save(cfg_abs, cfg, err)) != RC_OK)
        goto out;

    char fp[CRYPTO_SHA256_HEX_LEN + 1];
    if ((rc = crypto_key_fingerprint(key, fp, err)) != RC_OK)
        goto out;
    printf("initialised kiosk %s (profile %s, fence %s)\n"
           "config:  %s\n"
           "data:    %s\n"
           "device key fingerprint (SHA-256 of the public key): %s\n",
           cfg->device_id, profile->model, venue_id, cfg_abs, dir, fp);
    if (!a->inst_key)
        printf("next: rollcall-agent enroll --token TOKEN (fetches the institution key)\n");
out:
    memset(inst_key, 0, sizeof inst_key);
    crypto_key_destroy(key);
    crypto_rng_destroy(rng);
    fence_set_free(fences);
    free(fence_text);
    free(profile);
    free(cfg);
    return rc;
}

int cmd_init(int argc, char **argv, const struct agent_globals *g)
{
    struct init_args a = {0};
    int exit_code = 0;
    if (parse_args(argc, argv, &a, &exit_code) != 0)
        return exit_code;
    char err[ERR_LEN];
    struct made m = {.n = 0};
    int rc = run_init(&a, g->config_path, &m, err);
    if (rc != RC_OK) {
        /* Only what this run created goes: an existing config or key was refused before. */
        made_undo(&m);
        fprintf(stderr, "rollcall-agent: init: %s\n", err);
        return EXIT_REFUSED;
    }
    return 0;
}

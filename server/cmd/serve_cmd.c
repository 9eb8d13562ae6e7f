/* rollcall-server serve: opens a connection pool on the database (which must be migrated),
 * starts the HTTP(S) daemon and waits for SIGTERM or SIGINT, then drains and exits 0. */
#include "alert/alert.h"
#include "cmd/check_config.h"
#include "cmd/commands.h"
#include "engine/figures.h"
#include "engine/flow.h"
#include "engine/warm.h"
#include "evidence/signkey.h"
#include "http/api.h"
#include "http/console.h"
#include "http/figures_api.h"
#include "http/health.h"
#include "http/http.h"
#include "http/metrics.h"
#include "http/photo_api.h"
#include "http/session.h"
#include "http/subsidy_api.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

enum {
    SERVE_PEM_MAX = 1 << 20, /* a certificate chain or key file larger than this is refused */
    SERVE_MAX_BODY_LIMIT = 1 << 30,
    SERVE_CONN_TIMEOUT_MAX = 3600,
    SERVE_PER_IP_MAX = 100000,
    SERVE_CONNECTIONS_MAX = 100000,
};

#define SERVE_DEFAULT_LISTEN "127.0.0.1:8443"

/* Waits for SIGTERM, SIGINT or SIGHUP (blocked in every thread) and returns it. Under a systemd unit
 * with WatchdogSec= (sd_watchdog_enabled), pings WATCHDOG=1 every half period meanwhile: the
 * main thread only waits, so the ping says the process is alive and its signals are handled;
 * a hung HTTP pool shows in /healthz, not here. Without a watchdog, no NOTIFY_SOCKET, or both,
 * sd_notify does nothing. */
/* getopt values of long options without a letter: unlikely to meet a letter another option
 * takes. */
enum {
    OPT_SUBSIDY_YEAR = 0x1000 + 'Y',
    OPT_WARM_INTERVAL = 0x1000 + 'W',
    OPT_SUMMARY_THREADS = 0x1000 + 'U',
    OPT_HTTP_MODE = 0x1000 + 'h',
};

static int wait_for_stop(const sigset_t *stop)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
        int sig = 0;
        sigwait(stop, &sig);
        return sig;
    }
    uint64_t half = usec / 2;
    struct timespec every = {.tv_sec = (time_t)(half / 1000000),
                             .tv_nsec = (long)(half % 1000000) * 1000};
    for (;;) {
        sd_notify(0, "WATCHDOG=1");
        int sig = sigtimedwait(stop, NULL, &every);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
            return sig;
    }
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server [--db URL] serve [--listen HOST:PORT]\n"
            "                       (--tls-cert FILE --tls-key FILE | --plain-http)\n"
            "                       [--threads N] [--http-mode pool|per-connection]\n"
            "                       [--max-body BYTES] [--conn-timeout S]\n"
            "                       [--per-ip-limit N] [--max-connections N]\n"
            "                       [--session-idle S] [--session-max S] [--signing-key FILE]\n"
            "                       [--photo-dir DIR] [--photo-retention-days N]\n"
            "                       [--alert-retry-ms MS] [--alert-retry-max-ms MS]\n"
            "                       [--alert-attempts N] [--alert-poll-ms MS]\n"
            "                       [--console DIR | --no-console] [--tiles URL-TEMPLATE]\n"
            "                       [--health-disk-min-mb N]\n"
            "                       [--notice-days N] [--subsidy-year assessment|claim]\n"
            "                       [--warm-interval-ms MS] [--summary-threads N]\n"
            "\n"
            "Serves the HTTP API until SIGTERM or SIGINT. The database must be migrated.\n"
            "SIGHUP re-reads the TLS certificate and key (docs/CONFIGURATION.md).\n"
            "\n"
            "  --listen HOST:PORT   address to listen on (default " SERVE_DEFAULT_LISTEN
            "; [::1]:PORT for IPv6;\n"
            "                       port 0 picks a free port, logged at start)\n"
            "  --tls-cert FILE      PEM certificate (chain) for HTTPS, TLS 1.2 and 1.3 only\n"
            "  --tls-key FILE       PEM private key (unencrypted) for the certificate\n"
            "  --plain-http         serve without TLS (only behind a TLS-terminating proxy)\n"
            "  --threads N          worker threads and database connections (default %d)\n"
            "  --http-mode M        per-connection: a thread per connection, --threads database\n"
            "                       connections (default); pool: --threads workers serve every\n"
            "                       connection (docs/CAPACITY.md)\n"
            "  --max-body BYTES     largest request body, as sent and after gzip decoding\n"
            "                       (default %d)\n"
            "  --conn-timeout S     close a connection idle this many seconds (default %d)\n"
            "  --per-ip-limit N     connections at once from one address, 0 = unlimited\n"
            "                       (default %d; raise or set 0 behind a proxy)\n"
            "  --max-connections N  connections at once in all (default %d)\n"
            "  --session-idle S     a login session ends after S seconds without a request\n"
            "                       (default %d = 30 min)\n"
            "  --session-max S      and S seconds after login in any case (default %d = 12 h;\n"
            "                       at least --session-idle, at most %d)\n"
            "  --signing-key FILE   the collector's signing key for evidence bundles (default\n"
            "                       <db>.signing.key; read at each GET .../evidence)\n"
            "  --photo-dir DIR      keep the kiosk screen's sign-in photos here (created 0700;\n"
            "                       without it the photo routes answer 503)\n"
            "  --photo-retention-days N  delete photos older than N days (default %d)\n"
            "  --alert-retry-ms MS  first retry of a failed alert delivery after MS (default %d),\n"
            "                       doubling on each failure\n"
            "  --alert-retry-max-ms MS  retries at most MS apart (default %d)\n"
            "  --alert-attempts N   give an alert up (state failed) after N attempts (default %d)\n"
            "  --alert-poll-ms MS   look for new alerts to send every MS (default %d)\n",
            HTTP_DEFAULT_THREADS, HTTP_DEFAULT_MAX_BODY, HTTP_DEFAULT_CONN_TIMEOUT_S,
            HTTP_DEFAULT_PER_IP_LIMIT, HTTP_DEFAULT_MAX_CONNECTIONS, SESSION_DEFAULT_IDLE_S,
            SESSION_DEFAULT_MAX_S, SESSION_TIME_MAX_S, PHOTO_API_RETENTION_DAYS_DEFAULT,
            ALERT_DEFAULT_BASE_MS, ALERT_DEFAULT_CAP_MS, ALERT_DEFAULT_ATTEMPTS,
            ALERT_DEFAULT_POLL_MS);
    fprintf(out,
            "  --console DIR        the console's files (index.html, assets/) served at / and\n"
            "                       /assets/ (default: share/rollcall/console, else the build\n"
            "                       tree's console/; none found: no console, a warning)\n"
            "  --no-console         serve the API only\n"
            "  --tiles URL-TEMPLATE the console's base-map tiles, https://HOST/{z}/{x}/{y}.png\n"
            "                       (default none: fences on a plain background)\n"
            "  --health-disk-min-mb N  /healthz is unhealthy with less free space than this\n"
            "                       where the data is (default %d; also below %d%%)\n"
            "  --notice-days N      the subsidy notice period (公示) in working days, for a\n"
            "                       publish step that names none (default %d, 1..%d)\n"
            "  --subsidy-year Y     the year the yearly subsidy limits count in: of the\n"
            "                       certificate's assessment (default) or of the claim\n"
            "  --warm-interval-ms MS  recompute stale cached figures (and alert serious\n"
            "                       findings) every MS in the background (default %d; 0: off)\n"
            "  --summary-threads N  threads (each on its own database connection) computing a\n"
            "                       summary's stale classes, at most %d (default 0: one per\n"
            "                       processor; 1: the request's own thread only)\n"
            "  --db URL             database (overrides the global --db)\n",
            HEALTH_DISK_MIN_MB_DEFAULT, HEALTH_DISK_MIN_PERCENT, FLOW_NOTICE_WORKDAYS_DEFAULT,
            FLOW_NOTICE_WORKDAYS_MAX, WARM_DEFAULT_INTERVAL_MS, FIGURES_THREADS_MAX);
}

/* Parses a whole decimal number in [min, max]. */
static int parse_num(const char *opt, const char *s, unsigned long long min, unsigned long long max,
                     unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    if (!*s || *s == '-' || *s == '+') {
        fprintf(stderr, "rollcall-server serve: %s wants a number, got '%s'\n", opt, s);
        return RC_INVAL;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        fprintf(stderr,
                "rollcall-server serve: %s must be a whole number in %llu..%llu, got '%s'\n", opt,
                min, max, s);
        return RC_INVAL;
    }
    *out = v;
    return RC_OK;
}

/* Reads a whole file of at most SERVE_PEM_MAX bytes, NUL-terminated; caller frees. */
static char *read_pem(const char *path, char *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        rc_fail(err, RC_IO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(SERVE_PEM_MAX + 1);
    if (!buf) {
        fclose(f);
        rc_fail(err, RC_NOMEM, "out of memory");
        return NULL;
    }
    size_t n = fread(buf, 1, SERVE_PEM_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n == 0 || n > SERVE_PEM_MAX) {
        free(buf);
        rc_fail(err, RC_INVAL, "%s: %s", path,
                bad      ? "read error"
                : n == 0 ? "empty"
                         : "larger than 1 MiB");
        return NULL;
    }
    buf[n] = '\0';
    if (strlen(buf) != n || !strstr(buf, "-----BEGIN ")) {
        free(buf);
        rc_fail(err, RC_INVAL, "%s is not a PEM file", path);
        return NULL;
    }
    return buf;
}

/* SIGHUP (`systemctl reload`): re-reads the TLS certificate and key files for new handshakes.
 * A file that cannot be read, parsed or matched is one log line and the old pair keeps
 * serving. Fences and the signing key need nothing here: both are read from their source when
 * used (docs/CONFIGURATION.md lists what a reload changes). */
static void reload(const char *cert_path, const char *key_path)
{
    char err[ERR_LEN] = "";
    char *cert = NULL, *key = NULL;
    sd_notify(0, "RELOADING=1");
    if (!cert_path) {
        log_msg(LOG_LVL_INFO, "reload: nothing to re-read (plain HTTP)");
        goto out;
    }
    cert = read_pem(cert_path, err);
    if (cert)
        key = read_pem(key_path, err);
    if (!cert || !key || http_reload_tls(cert, key, err) != RC_OK) {
        log_msg(LOG_LVL_ERROR, "reload refused, the old certificate stays: %s", err);
        goto out;
    }
    log_msg(LOG_LVL_INFO, "reload: new certificate from %s for new connections", cert_path);
out:
    free(cert);
    if (key) {
        explicit_bzero(key, strlen(key));
        free(key);
    }
    sd_notify(0, "READY=1");
}

char *check_config_read_pem(const char *path, char *err)
{
    return read_pem(path, err);
}

static bool check_only; /* cmd_check_config: parse serve's options, check, do not serve */

int cmd_check_config(int argc, char **argv, const struct server_globals *g)
{
    check_only = true;
    return cmd_serve(argc, argv, g);
}

int cmd_serve(int argc, char **argv, const struct server_globals *g)
{
    const char *listen = SERVE_DEFAULT_LISTEN;
    const char *cert_path = NULL;
    const char *key_path = NULL;
    const char *db_url = g->db_url;
    const char *signing_key = NULL;
    bool plain = false;
    unsigned long long threads = HTTP_DEFAULT_THREADS;
    bool per_connection = true;
    unsigned long long max_body = HTTP_DEFAULT_MAX_BODY;
    unsigned long long timeout = HTTP_DEFAULT_CONN_TIMEOUT_S;
    unsigned long long per_ip = HTTP_DEFAULT_PER_IP_LIMIT;
    unsigned long long max_conn = HTTP_DEFAULT_MAX_CONNECTIONS;
    unsigned long long session_idle = SESSION_DEFAULT_IDLE_S;
    unsigned long long session_max = SESSION_DEFAULT_MAX_S;
    unsigned long long photo_days = PHOTO_API_RETENTION_DAYS_DEFAULT;
    unsigned long long notice_days = FLOW_NOTICE_WORKDAYS_DEFAULT;
    enum subsidy_year subsidy_year = SUBSIDY_YEAR_ASSESSMENT;
    const char *photo_dir = NULL;
    unsigned long long alert_base = ALERT_DEFAULT_BASE_MS, alert_cap = ALERT_DEFAULT_CAP_MS;
    unsigned long long alert_attempts = ALERT_DEFAULT_ATTEMPTS, alert_poll = ALERT_DEFAULT_POLL_MS;
    const char *console_dir = NULL, *tiles = NULL;
    bool no_console = false;
    unsigned long long disk_min_mb = HEALTH_DISK_MIN_MB_DEFAULT;
    unsigned long long warm_interval = WARM_DEFAULT_INTERVAL_MS;
    unsigned long long summary_threads = 0;
    static const struct option opts[] = {
        {"health-disk-min-mb", required_argument, NULL, 'H'},
        {"console", required_argument, NULL, 'C'},
        {"no-console", no_argument, NULL, 'O'},
        {"tiles", required_argument, NULL, 'G'},
        {"photo-dir", required_argument, NULL, 'P'},
        {"photo-retention-days", required_argument, NULL, 'R'},
        {"notice-days", required_argument, NULL, 'D'},
        {"subsidy-year", required_argument, NULL, OPT_SUBSIDY_YEAR},
        {"warm-interval-ms", required_argument, NULL, OPT_WARM_INTERVAL},
        {"summary-threads", required_argument, NULL, OPT_SUMMARY_THREADS},
        {"http-mode", required_argument, NULL, OPT_HTTP_MODE},
        {"listen", required_argument, NULL, 'l'},
        {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},
        {"plain-http", no_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'},
        {"max-body", required_argument, NULL, 'b'},
        {"conn-timeout", required_argument, NULL, 'T'},
        {"per-ip-limit", required_argument, NULL, 'i'},
        {"max-connections", required_argument, NULL, 'm'},
        {"session-idle", required_argument, NULL, 'I'},
        {"session-max", required_argument, NULL, 'M'},
        {"signing-key", required_argument, NULL, 'S'},
        {"alert-retry-ms", required_argument, NULL, 'A'},
        {"alert-retry-max-ms", required_argument, NULL, 'X'},
        {"alert-attempts", required_argument, NULL, 'N'},
        {"alert-poll-ms", required_argument, NULL, 'W'},
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        int rc = RC_OK;
        switch (ch) {
        case 'l': listen = optarg; break;
        case 'c': cert_path = optarg; break;
        case 'P': photo_dir = optarg; break;
        case 'C': console_dir = optarg; break;
        case 'O': no_console = true; break;
        case 'G': tiles = optarg; break;
        case 'R':
            rc = parse_num("--photo-retention-days", optarg, 1, PHOTO_API_RETENTION_DAYS_MAX,
                           &photo_days);
            break;
        case 'H':
            rc = parse_num("--health-disk-min-mb", optarg, 0, 1ULL << 30, &disk_min_mb);
            break;
        case 'D':
            rc = parse_num("--notice-days", optarg, 1, FLOW_NOTICE_WORKDAYS_MAX, &notice_days);
            break;
        case OPT_HTTP_MODE:
            if (strcmp(optarg, "pool") == 0) {
                per_connection = false;
            } else if (strcmp(optarg, "per-connection") == 0) {
                per_connection = true;
            } else {
                fprintf(stderr, "rollcall-server serve: --http-mode must be pool or "
                                "per-connection\n");
                rc = RC_INVAL;
            }
            break;
        case OPT_SUBSIDY_YEAR:
            if (subsidy_year_parse(optarg, &subsidy_year) != RC_OK) {
                fprintf(stderr, "rollcall-server serve: --subsidy-year must be assessment or "
                                "claim\n");
                rc = RC_INVAL;
            }
            break;
        case OPT_WARM_INTERVAL:
            rc = parse_num("--warm-interval-ms", optarg, 0, WARM_INTERVAL_MAX_MS, &warm_interval);
            break;
        case OPT_SUMMARY_THREADS:
            rc = parse_num("--summary-threads", optarg, 0, FIGURES_THREADS_MAX, &summary_threads);
            break;
        case 'k': key_path = optarg; break;
        case 'p': plain = true; break;
        case 'd': db_url = optarg; break;
        case 'S': signing_key = optarg; break;
        case 't': rc = parse_num("--threads", optarg, 1, HTTP_THREADS_MAX, &threads); break;
        case 'b': rc = parse_num("--max-body", optarg, 1, SERVE_MAX_BODY_LIMIT, &max_body); break;
        case 'T':
            rc = parse_num("--conn-timeout", optarg, 1, SERVE_CONN_TIMEOUT_MAX, &timeout);
            break;
        case 'i': rc = parse_num("--per-ip-limit", optarg, 0, SERVE_PER_IP_MAX, &per_ip); break;
        case 'm':
            rc = parse_num("--max-connections", optarg, 1, SERVE_CONNECTIONS_MAX, &max_conn);
            break;
        case 'I':
            rc = parse_num("--session-idle", optarg, 1, SESSION_TIME_MAX_S, &session_idle);
            break;
        case 'M':
            rc = parse_num("--session-max", optarg, 1, SESSION_TIME_MAX_S, &session_max);
            break;
        case 'A': rc = parse_num("--alert-retry-ms", optarg, 1, 86400000, &alert_base); break;
        case 'X':
            rc = parse_num("--alert-retry-max-ms", optarg, 1, 7 * 86400000ULL, &alert_cap);
            break;
        case 'N': rc = parse_num("--alert-attempts", optarg, 1, 1000, &alert_attempts); break;
        case 'W': rc = parse_num("--alert-poll-ms", optarg, 10, 600000, &alert_poll); break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rollcall-server serve: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server serve: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
        if (rc != RC_OK)
            return EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-server serve: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (session_max < session_idle) {
        fprintf(stderr,
                "rollcall-server serve: --session-max (%llu) must be at least "
                "--session-idle (%llu)\n",
                session_max, session_idle);
        return EXIT_USAGE;
    }
    if (plain && (cert_path || key_path)) {
        fprintf(stderr, "rollcall-server serve: --plain-http and --tls-cert/--tls-key exclude "
                        "each other\n");
        return EXIT_USAGE;
    }
    if (!plain && (!cert_path || !key_path)) {
        fprintf(stderr, "rollcall-server serve: refusing to serve without TLS: give "
                        "--tls-cert and --tls-key, or --plain-http behind a TLS proxy\n");
        return EXIT_USAGE;
    }

    if (check_only)
        return check_config_run(&(struct check_config_input){
            .db_url = db_url,
            .listen = listen,
            .plain = plain,
            .cert_path = cert_path,
            .key_path = key_path,
            .signing_key = signing_key,
            .photo_dir = photo_dir,
        });

    int status = EXIT_REFUSED;
    char err[ERR_LEN];
    char *cert = NULL;
    char *key = NULL;
    store_pool *pool = NULL;
    metrics *m = NULL;
    http_server *srv = NULL;
    store *probe = NULL;
    ingest_writer *writer = NULL;
    alert_sender *alerts = NULL;
    warm *warmer = NULL;
    bool curl_up = false;
    int hold = -1; /* keeps `restore` from replacing the database under us */

    if (!plain) {
        cert = read_pem(cert_path, err);
        if (!cert)
            goto out;
        key = read_pem(key_path, err);
        if (!key)
            goto out;
    }
    if (store_open(db_url, 0, &probe, err) != RC_OK || store_check_schema(probe, err) != RC_OK ||
        store_hold(db_url, false, &hold, err) != RC_OK)
        goto out;
    const char *backend = store_backend(probe); /* static */
    store_close(probe);
    probe = NULL;
    /* Block the stop signals before any thread starts (the ingest writer, MHD's pool), so
     * they all inherit the mask and only this thread's sigwait sees them. A client vanishing
     * mid-write must not kill us. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (store_pool_open(db_url, (size_t)threads, &pool, err) != RC_OK ||
        ingest_writer_start(db_url, &writer, err) != RC_OK)
        goto out;
    api_init(writer);
    {
        /* The evidence route signs with this key, loaded per request (docs/EVIDENCE.md). */
        char sk[SIGNKEY_PATH_MAX] = "", why[ERR_LEN];
        if (signing_key)
            snprintf(sk, sizeof sk, "%s", signing_key);
        else if (signkey_default_path(db_url, sk, why) != RC_OK)
            sk[0] = '\0'; /* not a file database and no --signing-key: the route answers 503 */
        figures_api_set_signing_key(sk);
    }
    if (photo_api_init(photo_dir, (int64_t)photo_days, err) != RC_OK)
        goto out;
    {
        /* /healthz watches the disk of a SQLite database, else that of the photos. */
        char dir[STORE_URL_MAX + 1] = "";
        if (strncmp(db_url, "sqlite:", 7) == 0) {
            snprintf(dir, sizeof dir, "%s", db_url + 7);
            char *slash = strrchr(dir, '/');
            if (!slash)
                snprintf(dir, sizeof dir, ".");
            else
                slash[slash == dir] = '\0';
        } else if (photo_dir) {
            snprintf(dir, sizeof dir, "%s", photo_dir);
        }
        health_init(dir[0] ? dir : NULL, disk_min_mb, !plain, writer);
    }
    subsidy_api_set_notice_workdays((int64_t)notice_days);
    figures_set_subsidy_year(subsidy_year);
    figures_set_summary_threads((unsigned)summary_threads);
    session_init(&(struct session_config){(unsigned)session_idle, (unsigned)session_max});
    bool console_on = false;
    if (!no_console) {
        const char *where = NULL;
        char why[ERR_LEN];
        int crc = console_init(console_dir, tiles, &where, why);
        if (crc == RC_OK) {
            console_on = true;
            log_msg(LOG_LVL_INFO, "console: %s%s%s", where, tiles ? ", tiles " : "",
                    tiles ? tiles : "");
        } else if (crc == RC_NOTFOUND && !console_dir && !tiles) {
            log_msg(LOG_LVL_WARN, "console: %s; serving the API only", why);
        } else {
            rc_fail(err, crc, "%s", why);
            goto out;
        }
    }
    m = metrics_new();
    if (!m) {
        rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }

    size_t nroutes = 0;
    const struct http_route *routes = api_routes(&nroutes);
    struct http_config cfg = {
        .listen = listen,
        .tls_cert = cert,
        .tls_key = key,
        .threads = (unsigned)threads,
        .thread_per_connection = per_connection,
        .max_body = (size_t)max_body,
        .conn_timeout_s = (unsigned)timeout,
        .per_ip_limit = (unsigned)per_ip,
        .max_connections = (unsigned)max_conn,
        .conn_memory = HTTP_DEFAULT_CONN_MEMORY,
        .routes = routes,
        .nroutes = nroutes,
        .pool = pool,
        .metrics = m,
        .fallback = console_on ? console_serve : NULL,
    };
    if (http_start(&cfg, &srv, err) != RC_OK)
        goto out;
    /* The alert sender: its own connection, libcurl set up once before its thread starts. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc_fail(err, RC_STATE, "libcurl could not start");
        goto out;
    }
    curl_up = true;
    struct alert_config acfg;
    alert_config_default(&acfg);
    acfg.base_ms = (int64_t)alert_base;
    acfg.cap_ms = (int64_t)(alert_cap < alert_base ? alert_base : alert_cap);
    acfg.max_attempts = (unsigned)alert_attempts;
    acfg.poll_ms = (unsigned)alert_poll;
    if (alert_sender_start(db_url, &acfg, &alerts, err) != RC_OK)
        goto out;
    /* The figures warmer: its own connection, after the sender it feeds. */
    if (warm_interval && warm_start(db_url, (unsigned)warm_interval, &warmer, err) != RC_OK)
        goto out;
    /* The key is in GnuTLS's hands now; drop our copy. */
    if (key) {
        explicit_bzero(key, strlen(key));
        free(key);
        key = NULL;
    }
    const char *host_end = strrchr(listen, ':');
    log_msg(LOG_LVL_INFO,
            "listening on %s://%.*s:%u (%s database, %llu threads, max body %llu bytes)",
            plain ? "http" : "https", (int)(host_end - listen), listen, http_port(srv), backend,
            threads, max_body);
    sd_notifyf(0, "READY=1\nSTATUS=listening on port %u", http_port(srv));
    int sig;
    while ((sig = wait_for_stop(&stop)) == SIGHUP)
        reload(cert_path, key_path);
    log_msg(LOG_LVL_INFO, "%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    sd_notify(0, "STOPPING=1");
    http_stop(srv);
    srv = NULL;
    warm_stop(warmer);
    warmer = NULL;
    alert_sender_stop(alerts);
    alerts = NULL;
    log_msg(LOG_LVL_INFO, "stopped");
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server serve: %s\n", err);
    http_stop(srv);
    warm_stop(warmer);
    alert_sender_stop(alerts);
    if (curl_up)
        curl_global_cleanup();
    session_fini();
    console_fini();
    api_fini();
    ingest_writer_stop(writer);
    store_close(probe);
    store_pool_close(pool);
    metrics_free(m);
    store_release_hold(hold);
    free(cert);
    if (key) {
        explicit_bzero(key, strlen(key));
        free(key);
    }
    return status;
}

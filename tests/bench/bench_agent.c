/* The kiosk agent's figures (docs/PERFORMANCE.md, "Agent"). Prints; never fails on time.
 *
 * 1. Sign-in latency, p50 and p99 over interleaved rounds in one run:
 *    - bare:   one INSERT of an event-sized row and its commit, in a separate SQLite database
 *              in the same directory with the outbox's settings (WAL, synchronous=FULL,
 *              the same checkpoint and cache pragmas);
 *    - signin: signin_record() in process with a fresh GNSS fix (validate and pseudonymise
 *              the ID, judge the fence, serialise, chain, append, commit);
 *    - socket: a sign-in request through the running daemon's control socket (connect, JSON
 *              line, reply) with the profile's surveyed position as the fix.
 * 2. Resident memory of the idle daemon (`rollcall-agent run`, exec'd), from /proc/PID/status and
 *    /proc/PID/smaps_rollup: VmRSS (includes the shared libraries' pages), RssAnon (its own
 *    memory) and Pss.
 * 3. SHA-256 throughput on one file (page cache warm): record_hash_file (OpenSSL EVP, what
 *    `record add` uses), crypto_sha256_file (mbedTLS), and `sha256sum FILE`.
 *
 * Run: build/rel/tests/bench_agent [ROUNDS [HASH_MIB [DIR]]]   (defaults 400, 512, /tmp)
 * The directory should be on the kiosk's real storage: fsync cost dominates the latencies. */
#include "../../agent/cmd/commands.h" /* server/ has a cmd/commands.h too */
#include "control.h"
#include "crypto.h"
#include "kiosk.h"
#include "rc.h"
#include "record.h"
#include "signin.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { PATH_LEN = 1024, ROW_BYTES = 600, MAX_ROUNDS = 100000 };

#define TRAINEE "11010519491231002X"
#define INST_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "bench: path too long\n");
        exit(1);
    }
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i = (int)ceil(p / 100.0 * n) - 1;
    return v[i < 0 ? 0 : i];
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench: cannot write %s\n", path);
        exit(1);
    }
    chmod(path, mode);
}

/* A kiosk in dir: WGS-84 square fence, no receiver, a surveyed position inside. */
static void make_kiosk(const char *dir, char *config, size_t cap)
{
    char p[PATH_LEN], fence[PATH_LEN], key[PATH_LEN], data[PATH_LEN];
    join(p, sizeof p, dir, "profile.json");
    join(fence, sizeof fence, dir, "fence.geojson");
    join(key, sizeof key, dir, "inst.key");
    join(data, sizeof data, dir, "data");
    join(config, cap, dir, "agent.json");
    write_file(p,
               "{\"model\":\"bench\",\"gnss\":{\"source\":\"none\"},"
               "\"surveyed\":{\"lat\":39.0875,\"lon\":117.2214,\"datum\":\"WGS-84\",\"eph_m\":5},"
               "\"heartbeat\":{\"interval_s\":86400},\"sync\":{\"interval_s\":86400}}",
               0644);
    write_file(fence,
               "{\"type\":\"Feature\",\"properties\":{\"id\":\"sq\"},\"geometry\":{\"type\":"
               "\"Polygon\",\"coordinates\":[[[117.22024,39.0866],[117.22256,39.0866],"
               "[117.22256,39.0884],[117.22024,39.0884],[117.22024,39.0866]]]}}",
               0644);
    write_file(key, INST_KEY "\n", 0600);
    char a_init[] = "init", a_prof[] = "--profile", a_fence[] = "--fence", a_dev[] = "--device-id",
         a_devv[] = "BENCH-1", a_inst[] = "--institution", a_instv[] = "INST-1",
         a_srv[] = "--server", a_srvv[] = "https://collector.example", a_dir[] = "--dir",
         a_key[] = "--institution-key";
    char *argv[] = {a_init,  a_prof, p,      a_fence, fence, a_dev, a_devv, a_inst,
                    a_instv, a_srv,  a_srvv, a_dir,   data,  a_key, key,    NULL};
    struct agent_globals g = {.config_path = config};
    int saved = dup(STDOUT_FILENO);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    optind = 0; /* as main() does before a command */
    int rc = cmd_init((int)(sizeof argv / sizeof argv[0]) - 1, argv, &g);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(devnull);
    if (rc != 0) {
        fprintf(stderr, "bench: init failed\n");
        exit(1);
    }
}

/* The agent program: $ROLLCALL_AGENT, else rollcall-agent next to tests/ in the build tree. */
static void agent_path(char *out, size_t cap)
{
    const char *env = getenv("ROLLCALL_AGENT");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char self[PATH_LEN];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        exit(1);
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    join(out, cap, self, "../rollcall-agent");
}

/* Starts `rollcall-agent --config CONFIG run` (exec'd, so its memory is its own). */
static pid_t start_daemon(const char *config, const char *socket_path)
{
    char agent[PATH_LEN];
    agent_path(agent, sizeof agent);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        dup2(devnull, STDOUT_FILENO);
        execl(agent, agent, "--config", config, "run", (char *)NULL);
        _exit(127);
    }
    char reply[CONTROL_LINE_MAX * 4];
    for (int i = 0; i < 500; i++) {
        if (control_request(socket_path, "{\"cmd\":\"status\"}", reply, sizeof reply, 5000, NULL) ==
            RC_OK)
            return pid;
        usleep(20000);
    }
    fprintf(stderr, "bench: the daemon did not start\n");
    kill(pid, SIGKILL);
    exit(1);
}

static sqlite3 *bare_open(const char *dir)
{
    char path[PATH_LEN];
    join(path, sizeof path, dir, "bare.db");
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-512;"
                     "PRAGMA wal_autocheckpoint=256; PRAGMA journal_size_limit=4194304;"
                     "CREATE TABLE t (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
                     "line BLOB NOT NULL);",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench: bare database: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    return db;
}

static void report(const char *name, double *v, int n, double base_p50, double base_p99)
{
    double p50 = pct(v, n, 50), p99 = pct(v, n, 99);
    printf("  %-34s p50 %8.1f us   p99 %8.1f us", name, p50, p99);
    if (base_p50 > 0)
        printf("   (%.2fx, %.2fx of bare)", p50 / base_p50, p99 / base_p99);
    printf("\n");
}

static void latency(const char *dir, const char *config, int rounds)
{
    char err[ERR_LEN];
    char socket_path[PATH_LEN];
    join(socket_path, sizeof socket_path, dir, "data/control.sock");
    pid_t daemon = start_daemon(config, socket_path);

    struct kiosk *k = NULL;
    if (kiosk_open(config, KIOSK_OUTBOX | KIOSK_FENCE | KIOSK_INST_KEY, &k, err) != RC_OK) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    sqlite3 *bare = bare_open(dir);
    sqlite3_stmt *ins = NULL;
    sqlite3_prepare_v2(bare, "INSERT INTO t (seq, id, line) VALUES (?, ?, ?)", -1, &ins, NULL);
    char row[ROW_BYTES];
    memset(row, 'x', sizeof row);

    double *tb = calloc((size_t)rounds, sizeof *tb);
    double *ts = calloc((size_t)rounds, sizeof *ts);
    double *tc = calloc((size_t)rounds, sizeof *tc);
    if (!tb || !ts || !tc)
        exit(1);
    struct gnss_fix fix = {.lat = 39.08751,
                           .lon = 117.22141,
                           .eph = 4.9,
                           .mode = 3,
                           .sats = 9,
                           .source = GNSS_SRC_GNSS};
    struct signin_request req = {
        .type = EVENT_SIGNIN, .trainee = TRAINEE, .class_id = "TJ-BENCH", .session = "S01"};
    const char *line = "{\"cmd\":\"signin\",\"trainee\":\"" TRAINEE "\",\"class\":\"TJ-BENCH\","
                       "\"session\":\"S01\"}";
    char reply[CONTROL_LINE_MAX];
    for (int i = 0; i < rounds; i++) {
        char id[40];
        snprintf(id, sizeof id, "row-%d", i);
        double t0 = now_us();
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, i + 1);
        sqlite3_bind_text(ins, 2, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(ins, 3, row, sizeof row, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            fprintf(stderr, "bench: bare insert: %s\n", sqlite3_errmsg(bare));
            exit(1);
        }
        double t1 = now_us();
        fix.time_ms = (int64_t)time(NULL) * 1000;
        fix.rx_real_ms = fix.time_ms;
        fix.rx_mono_ms = gnss_mono_ms();
        struct signin_result res;
        if (signin_record(k, &req, &fix, &res, err) != RC_OK) {
            fprintf(stderr, "bench: signin: %s\n", err);
            exit(1);
        }
        double t2 = now_us();
        if (control_request(socket_path, line, reply, sizeof reply, 15000, err) != RC_OK ||
            !strstr(reply, "\"ok\":true")) {
            fprintf(stderr, "bench: socket signin: %s %s\n", err, reply);
            exit(1);
        }
        double t3 = now_us();
        tb[i] = t1 - t0;
        ts[i] = t2 - t1;
        tc[i] = t3 - t2;
    }
    double b50 = pct(tb, rounds, 50), b99 = pct(tb, rounds, 99);
    printf("sign-in latency, %d interleaved rounds, directory %s:\n", rounds, dir);
    report("bare SQLite insert + commit", tb, rounds, 0, 0);
    report("signin_record (fresh GNSS fix)", ts, rounds, b50, b99);
    report("daemon control socket round trip", tc, rounds, b50, b99);

    sqlite3_finalize(ins);
    sqlite3_close(bare);
    kiosk_close(k);
    free(tb);
    free(ts);
    free(tc);

    /* Idle memory: let the daemon settle, then read its counters. */
    sleep(3);
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)daemon);
    FILE *f = fopen(path, "r");
    printf("idle daemon (pid %d) after %d sign-ins:\n", (int)daemon, rounds);
    while (f && fgets(buf, sizeof buf, f))
        if (!strncmp(buf, "VmRSS", 5) || !strncmp(buf, "RssAnon", 7) ||
            !strncmp(buf, "RssFile", 7) || !strncmp(buf, "VmHWM", 5))
            printf("  %s", buf);
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)daemon);
    f = fopen(path, "r");
    while (f && fgets(buf, sizeof buf, f))
        if (!strncmp(buf, "Pss:", 4) || !strncmp(buf, "Private_Dirty", 13))
            printf("  %s", buf);
    if (f)
        fclose(f);
    kill(daemon, SIGTERM);
    int status = 0;
    waitpid(daemon, &status, 0);
}

static double run_sha256sum(const char *file)
{
    double t0 = now_us();
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        execlp("sha256sum", "sha256sum", file, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return now_us() - t0;
}

static void hashing(const char *dir, int mib)
{
    char file[PATH_LEN], err[ERR_LEN];
    join(file, sizeof file, dir, "hash-input.bin");
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *chunk = malloc(1 << 20);
    if (fd < 0 || !chunk)
        exit(1);
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < mib; i++) {
        for (size_t j = 0; j < (1u << 20); j += 8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(chunk + j, &x, 8);
        }
        if (write(fd, chunk, 1 << 20) != 1 << 20)
            exit(1);
    }
    close(fd);
    free(chunk);
    char hex[EVENT_HEX_LEN + 1], hex2[CRYPTO_SHA256_HEX_LEN + 1];
    int64_t bytes = 0;
    record_hash_file(file, hex, &bytes, err); /* warms the page cache */
    double best_ossl = 1e300, best_mbed = 1e300, best_sum = 1e300;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_us();
        if (record_hash_file(file, hex, &bytes, err) != RC_OK) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
        double t1 = now_us();
        uint8_t md[CRYPTO_SHA256_LEN];
        uint64_t n = 0;
        crypto_sha256_file(file, md, &n, err);
        crypto_hex(md, CRYPTO_SHA256_LEN, hex2);
        double t2 = now_us();
        double ts = run_sha256sum(file);
        if (t1 - t0 < best_ossl)
            best_ossl = t1 - t0;
        if (t2 - t1 < best_mbed)
            best_mbed = t2 - t1;
        if (ts > 0 && ts < best_sum)
            best_sum = ts;
    }
    double mb = (double)bytes / 1e6;
    printf("SHA-256 of a %d MiB file (page cache warm, best of 3), same hash: %s:\n", mib,
           strcmp(hex, hex2) == 0 ? "yes" : "NO");
    printf("  record_hash_file (OpenSSL EVP)     %8.0f MB/s\n", mb / (best_ossl / 1e6));
    printf("  crypto_sha256_file (mbedTLS)       %8.0f MB/s\n", mb / (best_mbed / 1e6));
    printf("  sha256sum (coreutils, incl. exec)  %8.0f MB/s\n", mb / (best_sum / 1e6));
    unlink(file);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 400;
    int mib = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 512;
    const char *base = argc > 3 ? argv[3] : "/tmp";
    if (rounds < 1 || rounds > MAX_ROUNDS || mib < 1 || mib > 65536) {
        fprintf(stderr, "usage: bench_agent [ROUNDS [HASH_MIB [DIR]]]\n");
        return 2;
    }
    char dir[PATH_LEN], config[PATH_LEN];
    snprintf(dir, sizeof dir, "%s/rollcall-bench-XXXXXX", base);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    make_kiosk(dir, config, sizeof config);
    latency(dir, config, rounds);
    hashing(dir, mib);
    char cmd[PATH_LEN + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: could not remove %s\n", dir);
    return 0;
}

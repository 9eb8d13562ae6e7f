/* Benchmark (not a test): collector ingest under many concurrent kiosks. Enrols N simulated
 * devices on a running `rollcall-server serve`, pre-builds and signs B batches of E events for
 * each, then runs all N at once over HTTPS (libcurl multi, one connection per device, each
 * device sending its batches one after another), and reports requests/s and latency
 * percentiles: of the storm (every device's first batch, opening its connection at once, as
 * after a collector restart) and, apart, of the steady state that follows (the other batches
 * over the connections kept alive, as kiosks keep theirs). Then it checks in the server's database that every event is stored exactly
 * once, and samples the server's resident memory (VmRSS, VmHWM) during the run.
 * tests/bench/ingest_load.sh starts the server and runs this; docs/PERFORMANCE.md has the
 * figures. Loopback only; every loop is bounded by N, B, E and MAX_RETRIES. */
#include "crypto.h"
#include "event.h"
#include "rc.h"
#include "uuid.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum {
    DEVICES_MAX = 10000,
    BATCHES_MAX = 100,
    EVENTS_MAX = 100,
    MAX_RETRIES = 20,
    ENROL_PARALLEL = 32,
    RESPONSE_MAX = 4096,
};

struct batch {
    char *body;
    size_t len;
    char sig[CRYPTO_SIG_B64_MAX + 1];
};

struct device {
    char id[32];
    char token[128];
    crypto_key *key;
    struct batch *batches;
    int next;    /* batch being sent */
    int retries; /* of this batch */
    double due;  /* with --rate: when the next batch is to be sent, 0 when none waits */
    CURL *h;
    struct curl_slist *hdrs;
    char resp[RESPONSE_MAX];
    size_t resp_len;
    char *enrol_body;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
    struct device *d = ctx;
    size_t len = sz * n;
    size_t room = sizeof d->resp - 1 - d->resp_len;
    size_t take = len < room ? len : room;
    memcpy(d->resp + d->resp_len, p, take);
    d->resp_len += take;
    d->resp[d->resp_len] = '\0';
    return len;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_ingest: %s: %s\n", what, why);
    exit(1);
}

static long parse_long(const char *opt, const char *s, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || *end || v < min || v > max) {
        fprintf(stderr, "bench_ingest: %s must be %ld..%ld\n", opt, min, max);
        exit(2);
    }
    return v;
}

/* Builds one canonical event through core's serialiser (the bench measures the server, the
 * tests check the format). */
static char *make_line(crypto_rng *rng, const char *dev, int64_t seq, const char *prev, int64_t ms,
                       bool signin, size_t *len)
{
    struct event ev;
    memset(&ev, 0, sizeof ev);
    char err[ERR_LEN];
    if (uuid_v7(rng, (uint64_t)ms, ev.id, err) != RC_OK)
        die("event id", err);
    snprintf(ev.device, sizeof ev.device, "%s", dev);
    ev.seq = seq;
    snprintf(ev.prev, sizeof ev.prev, "%s", prev);
    ev.ts_ms = ms;
    snprintf(ev.boot, sizeof ev.boot, "3f2b8c1a-9d4e-4f5a-b6c7-d8e9f0a1b2c3");
    ev.mono_ms = seq * 1000;
    if (signin) {
        ev.type = EVENT_SIGNIN;
        ev.has = EVENT_HAS(EVENT_F_TRAINEE) | EVENT_HAS(EVENT_F_TRAINEE_MASKED) |
                 EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_FIX) | EVENT_HAS(EVENT_F_FENCE) |
                 EVENT_HAS(EVENT_F_VERDICT) | EVENT_HAS(EVENT_F_DISTANCE_M);
        crypto_sha256_hex(&seq, sizeof seq, ev.trainee);
        snprintf(ev.trainee_masked, sizeof ev.trainee_masked, "1201**********123X");
        snprintf(ev.class_id, sizeof ev.class_id, "BENCH-CLASS");
        ev.fix = (struct event_fix){.lat_e8 = 3910000000 + (seq % 100) * 1000,
                                    .lon_e8 = 11720000000,
                                    .has_eph = true,
                                    .eph_cm = 350,
                                    .mode = 3,
                                    .source = EVENT_SOURCE_GNSS};
        snprintf(ev.fence, sizeof ev.fence, "bench-venue");
        ev.verdict = EVENT_INSIDE;
        ev.distance_mm = -90000;
    } else {
        ev.type = EVENT_HEARTBEAT;
        ev.has = EVENT_HAS(EVENT_F_QUEUE);
        ev.queue = seq % 7;
    }
    char *buf = malloc(EVENT_LINE_MAX + 1);
    if (!buf || event_serialise(&ev, buf, EVENT_LINE_MAX + 1, len, err) != RC_OK)
        die("serialise", err);
    return buf;
}

static void build_batches(struct device *d, crypto_rng *rng, int nb, int ne)
{
    char prev[EVENT_HEX_LEN + 1];
    memset(prev, '0', EVENT_HEX_LEN);
    prev[EVENT_HEX_LEN] = '\0';
    int64_t seq = 0, ms = 1795000000000;
    d->batches = calloc((size_t)nb, sizeof *d->batches);
    for (int b = 0; b < nb; b++) {
        struct batch *bt = &d->batches[b];
        bt->body = malloc((size_t)ne * (EVENT_LINE_MAX + 1));
        if (!bt->body)
            die("batches", "out of memory");
        uint8_t h[CRYPTO_SHA256_LEN];
        for (int e = 0; e < ne; e++) {
            size_t len = 0;
            seq++;
            ms += 1000;
            char *line = make_line(rng, d->id, seq, prev, ms, seq % 2 == 0, &len);
            memcpy(bt->body + bt->len, line, len);
            bt->body[bt->len + len] = '\n';
            bt->len += len + 1;
            crypto_sha256(line, len, h);
            crypto_hex(h, sizeof h, prev);
            free(line);
        }
        char err[ERR_LEN];
        if (crypto_key_sign(d->key, rng, h, bt->sig, err) != RC_OK)
            die("sign", err);
    }
}

struct config {
    const char *url, *url2, *cacert, *enroll_token, *db; /* url2: a second collector, or NULL */
    long devices, batches, events, pid;
    double rate; /* > 0: the steady state offers this many requests/s (open loop) */
};

static void common(CURL *h, struct device *d, const struct config *c)
{
    curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(h, CURLOPT_PRIVATE, d);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
}

/* POST /v1/devices for every device, ENROL_PARALLEL at a time. */
static void enrol_all(struct device *devs, const struct config *c, const char *pem_fence)
{
    CURLM *m = curl_multi_init();
    char url[512];
    snprintf(url, sizeof url, "%s/v1/devices", c->url);
    long started = 0, done = 0, running = 0;
    char auth[160];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->enroll_token);
    while (done < c->devices) {
        while (running < ENROL_PARALLEL && started < c->devices) {
            struct device *d = &devs[started++];
            char pem[CRYPTO_PUBKEY_PEM_MAX], err[ERR_LEN];
            if (crypto_key_public_pem(d->key, pem, sizeof pem, err) != RC_OK)
                die("pem", err);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "device", d->id);
            cJSON_AddStringToObject(o, "institution", "BENCH-INST");
            cJSON_AddStringToObject(o, "public_key", pem);
            cJSON_AddStringToObject(o, "profile", "bench");
            cJSON_AddNumberToObject(o, "assumed_eph_m", 5);
            cJSON_AddRawToObject(o, "fence", pem_fence);
            cJSON_AddStringToObject(o, "fence_id", "bench-venue");
            d->enrol_body = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            d->h = curl_easy_init();
            common(d->h, d, c);
            d->hdrs = curl_slist_append(NULL, auth);
            d->hdrs = curl_slist_append(d->hdrs, "Content-Type: application/json");
            curl_easy_setopt(d->h, CURLOPT_URL, url);
            curl_easy_setopt(d->h, CURLOPT_HTTPHEADER, d->hdrs);
            curl_easy_setopt(d->h, CURLOPT_POSTFIELDS, d->enrol_body);
            curl_multi_add_handle(m, d->h);
            running++;
        }
        int still = 0;
        curl_multi_perform(m, &still);
        curl_multi_poll(m, NULL, 0, 1000, NULL);
        CURLMsg *msg;
        int left = 0;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct device *d = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
            long code = 0;
            curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK || (code != 201 && code != 200))
                die("enrol",
                    msg->data.result != CURLE_OK ? curl_easy_strerror(msg->data.result) : d->resp);
            cJSON *a = cJSON_Parse(d->resp);
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(a, "device_token");
            if (!cJSON_IsString(t))
                die("enrol", "no device_token in the answer");
            snprintf(d->token, sizeof d->token, "%s", t->valuestring);
            cJSON_Delete(a);
            curl_multi_remove_handle(m, d->h);
            curl_easy_cleanup(d->h);
            d->h = NULL;
            curl_slist_free_all(d->hdrs);
            d->hdrs = NULL;
            free(d->enrol_body);
            d->enrol_body = NULL;
            d->resp_len = 0;
            running--;
            done++;
        }
    }
    curl_multi_cleanup(m);
}

/* Memory sampler: the server's VmRSS peak while the load runs. */
static atomic_bool sampling;
static long rss_peak_kb;

static long status_kb(long pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    if (!f)
        return -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0) {
            v = strtol(line + kl, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* utime + stime of a process in seconds (from /proc/PID/stat), -1 when unreadable. */
static double cpu_seconds(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void *sampler(void *arg)
{
    long pid = *(long *)arg;
    while (atomic_load(&sampling)) {
        long v = status_kb(pid, "VmRSS:");
        if (v > rss_peak_kb)
            rss_peak_kb = v;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void send_next(CURLM *m, struct device *d, double *t_start)
{
    struct batch *b = &d->batches[d->next];
    char auth[160], sig[CRYPTO_SIG_B64_MAX + 40];
    curl_slist_free_all(d->hdrs);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", d->token);
    snprintf(sig, sizeof sig, "Rollcall-Signature: %s", b->sig);
    d->hdrs = curl_slist_append(NULL, auth);
    d->hdrs = curl_slist_append(d->hdrs, sig);
    d->hdrs = curl_slist_append(d->hdrs, "Content-Type: application/x-ndjson");
    d->resp_len = 0;
    curl_easy_setopt(d->h, CURLOPT_HTTPHEADER, d->hdrs);
    curl_easy_setopt(d->h, CURLOPT_POSTFIELDS, b->body);
    curl_easy_setopt(d->h, CURLOPT_POSTFIELDSIZE, (long)b->len);
    *t_start = now_s();
    curl_multi_add_handle(m, d->h);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What the database holds of the bench devices: events, distinct (device, seq), heads at
 * per_device, devices with exactly 1..per_device; from the SQLite file or PostgreSQL URL. */
#define STORED_SQL(P)                                                                              \
    "SELECT count(*), count(DISTINCT device || ':' || seq), "                                      \
    "(SELECT count(*) FROM chain_heads WHERE device LIKE 'bench-%' AND seq = " P "), "             \
    "(SELECT count(*) FROM (SELECT device FROM events WHERE device LIKE 'bench-%' GROUP BY "       \
    "device HAVING count(*) = " P " AND max(seq) = " P ") AS d) "                                  \
    "FROM events WHERE device LIKE 'bench-%'"

static void stored_counts_sqlite(const char *path, long per_device, long long out[4])
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, STORED_SQL("?1"), -1, &q, NULL) != SQLITE_OK)
        die("database", sqlite3_errmsg(db));
    sqlite3_bind_int64(q, 1, per_device);
    if (sqlite3_step(q) == SQLITE_ROW)
        for (int i = 0; i < 4; i++)
            out[i] = sqlite3_column_int64(q, i);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void stored_counts_pg(const char *url, long per_device, long long out[4])
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        die("database", PQerrorMessage(c));
    char n[32];
    snprintf(n, sizeof n, "%ld", per_device);
    const char *v[1] = {n};
    PGresult *r = PQexecParams(c, STORED_SQL("$1::bigint"), 1, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        die("database", PQerrorMessage(c));
    for (int i = 0; i < 4; i++)
        out[i] = strtoll(PQgetvalue(r, 0, i), NULL, 10);
    PQclear(r);
    PQfinish(c);
}

int main(int argc, char **argv)
{
    struct config c = {.devices = 1000, .batches = 5, .events = 5};
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"cacert", required_argument, NULL, 'c'},
        {"enroll-token", required_argument, NULL, 't'},
        {"db", required_argument, NULL, 'd'},
        {"url2", required_argument, NULL, 'U'},
        {"server-pid", required_argument, NULL, 'p'},
        {"devices", required_argument, NULL, 'n'},
        {"batches", required_argument, NULL, 'b'},
        {"events", required_argument, NULL, 'e'},
        {"rate", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': c.url = optarg; break;
        case 'U': c.url2 = optarg; break;
        case 'c': c.cacert = optarg; break;
        case 't': c.enroll_token = optarg; break;
        case 'd': c.db = optarg; break;
        case 'p': c.pid = parse_long("--server-pid", optarg, 1, 1 << 30); break;
        case 'n': c.devices = parse_long("--devices", optarg, 1, DEVICES_MAX); break;
        case 'b': c.batches = parse_long("--batches", optarg, 1, BATCHES_MAX); break;
        case 'e': c.events = parse_long("--events", optarg, 1, EVENTS_MAX); break;
        case 'r': c.rate = (double)parse_long("--rate", optarg, 0, 1000000); break;
        default: return 2;
        }
    }
    if (!c.url || !c.cacert || !c.enroll_token || !c.db || !c.pid) {
        fprintf(stderr, "usage: bench_ingest --url https://127.0.0.1:PORT --cacert CA.pem "
                        "--enroll-token T --db SERVER.db|postgresql://... --server-pid PID "
                        "[--url2 URL] [--devices N] [--batches B] [--events E] [--rate R]\n");
        return 2;
    }
    /* One socket per device, plus files: raise the soft limit to the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    srand(1);
    char err[ERR_LEN];
    crypto_rng *rng = NULL;
    if (crypto_rng_create(&rng, err) != RC_OK)
        die("rng", err);
    struct device *devs = calloc((size_t)c.devices, sizeof *devs);
    double t0 = now_s();
    for (long i = 0; i < c.devices; i++) {
        snprintf(devs[i].id, sizeof devs[i].id, "bench-%05ld", i);
        if (crypto_key_generate(rng, &devs[i].key, err) != RC_OK)
            die("key", err);
    }
    const char *fence = "{\"type\":\"Feature\",\"properties\":{\"id\":\"bench-venue\","
                        "\"radius_m\":100},\"geometry\":{\"type\":\"Point\",\"coordinates\":"
                        "[117.2,39.1]}}";
    enrol_all(devs, &c, fence);
    double t1 = now_s();
    for (long i = 0; i < c.devices; i++)
        build_batches(&devs[i], rng, (int)c.batches, (int)c.events);
    double t2 = now_s();
    fprintf(stderr, "bench_ingest: %ld devices enrolled in %.1f s, %ld batches signed in %.1f s\n",
            c.devices, t1 - t0, c.devices * c.batches, t2 - t1);

    long base_rss = status_kb(c.pid, "VmRSS:");
    pthread_t th;
    atomic_store(&sampling, true);
    pthread_create(&th, NULL, sampler, &c.pid);

    /* The load: every device at once, each sending its batches in order. */
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)c.devices + 16);
    char url[512], url2[512];
    snprintf(url, sizeof url, "%s/v1/batches", c.url);
    snprintf(url2, sizeof url2, "%s/v1/batches", c.url2 ? c.url2 : c.url);
    size_t nreq = (size_t)(c.devices * c.batches);
    double *lat = calloc(nreq + (size_t)c.devices * MAX_RETRIES, sizeof *lat);
    double *start = calloc((size_t)c.devices, sizeof *start);
    size_t nlat = 0, nfirst = 0;
    double *first_lat = calloc((size_t)c.devices, sizeof *first_lat);
    double *first_conn = calloc((size_t)c.devices, sizeof *first_conn);
    double *first_tls = calloc((size_t)c.devices, sizeof *first_tls);
    long retries = 0, failed = 0, finished = 0;
    /* Two phases: the storm (every device opens its connection and sends its first batch at
     * once, as after a collector restart), then, once all first batches are answered, the
     * steady state (the other batches over the connections kept alive). */
    long storm_left = c.devices;
    size_t nstorm = 0;
    double *steady = calloc(nreq + (size_t)c.devices * MAX_RETRIES, sizeof *steady);
    size_t nsteady = 0;
    double L0 = now_s(), Lmid = 0;
    double server_cpu_mid = 0;
    double server_cpu0 = cpu_seconds(c.pid), client_cpu0 = cpu_seconds((long)getpid());
    for (long i = 0; i < c.devices; i++) {
        struct device *d = &devs[i];
        d->h = curl_easy_init();
        common(d->h, d, &c);
        /* With two collectors, devices alternate between them (a balancer by connection). */
        curl_easy_setopt(d->h, CURLOPT_URL, i % 2 ? url2 : url);
        send_next(m, d, &start[i]);
    }
    while (finished < c.devices) {
        int still = 0;
        if (c.rate > 0 && Lmid > 0) {
            /* Open loop: send what is due, timed from when it was due (so a slow answer
             * delays the next batch's latency, not its schedule). */
            double t = now_s();
            for (long j = 0; j < c.devices; j++) {
                if (devs[j].due > 0 && devs[j].due <= t) {
                    double due = devs[j].due;
                    devs[j].due = 0;
                    send_next(m, &devs[j], &start[j]);
                    start[j] = due;
                }
            }
        }
        curl_multi_perform(m, &still);
        curl_multi_poll(m, NULL, 0, c.rate > 0 && Lmid > 0 ? 2 : 1000, NULL);
        CURLMsg *msg;
        int left = 0;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct device *d = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
            long i = d - devs;
            long code = 0;
            curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &code);
            curl_off_t conn_us = 0, tls_us = 0;
            curl_easy_getinfo(d->h, CURLINFO_CONNECT_TIME_T, &conn_us);
            curl_easy_getinfo(d->h, CURLINFO_APPCONNECT_TIME_T, &tls_us);
            if (d->next == 0 && d->retries == 0 && nfirst < (size_t)c.devices) {
                /* A device's first request opens its connection: split that time out. */
                first_lat[nfirst] = now_s() - start[i];
                first_conn[nfirst] = (double)conn_us / 1e6;
                first_tls[nfirst++] = (double)tls_us / 1e6;
            }
            lat[nlat++] = now_s() - start[i];
            if (Lmid > 0)
                steady[nsteady++] = now_s() - start[i];
            else
                nstorm++;
            curl_multi_remove_handle(m, d->h);
            bool ok = msg->data.result == CURLE_OK && code == 200;
            if (ok) {
                d->next++;
                d->retries = 0;
            } else if (++d->retries > MAX_RETRIES) {
                fprintf(stderr, "bench_ingest: %s batch %d failed: %ld %s\n", d->id, d->next, code,
                        d->resp);
                failed++;
                finished++;
                if (d->next == 0 && --storm_left == 0)
                    goto steady_start;
                continue;
            } else {
                retries++;
            }
            if (d->next == c.batches) {
                finished++;
                if (Lmid == 0 && --storm_left == 0)
                    goto steady_start;
                continue;
            }
            if (Lmid == 0 && d->next == 1) {
                /* First batch answered: wait for the others' before the steady state. */
                if (--storm_left == 0)
                    goto steady_start;
                continue;
            }
            if (c.rate > 0 && ok) {
                /* batch b of device i is due at Lmid + ((b - 1) * devices + i) / rate */
                d->due = Lmid + ((double)(d->next - 1) * (double)c.devices + (double)i) / c.rate;
                if (d->due < 1e-9)
                    d->due = 1e-9;
                continue;
            }
            send_next(m, d, &start[i]);
            continue;
        steady_start:
            Lmid = now_s();
            server_cpu_mid = cpu_seconds(c.pid);
            for (long j = 0; j < c.devices; j++) {
                if (devs[j].next > 0 && devs[j].next < c.batches && devs[j].retries == 0) {
                    if (c.rate > 0)
                        devs[j].due = Lmid + (double)j / c.rate;
                    else
                        send_next(m, &devs[j], &start[j]);
                }
            }
        }
    }
    double L1 = now_s();
    double server_cpu_end = cpu_seconds(c.pid);
    double server_cpu = server_cpu_end - server_cpu0;
    double client_cpu = cpu_seconds((long)getpid()) - client_cpu0;
    atomic_store(&sampling, false);
    pthread_join(th, NULL);
    long hwm = status_kb(c.pid, "VmHWM:");

    qsort(lat, nlat, sizeof *lat, cmp_double);
    double wall = L1 - L0;
    printf("devices %ld, batches per device %ld, events per batch %ld\n", c.devices, c.batches,
           c.events);
    printf("requests %zu (retries %ld, failed devices %ld) in %.2f s: %.0f requests/s, "
           "%.0f events/s\n",
           nlat, retries, failed, wall, (double)nlat / wall,
           (double)(c.devices * c.batches * c.events) / wall);
    printf("latency ms: p50 %.1f, p90 %.1f, p99 %.1f, max %.1f\n", 1e3 * lat[nlat / 2],
           1e3 * lat[nlat * 9 / 10], 1e3 * lat[nlat * 99 / 100], 1e3 * lat[nlat - 1]);
    if (nfirst) {
        qsort(first_lat, nfirst, sizeof *first_lat, cmp_double);
        qsort(first_conn, nfirst, sizeof *first_conn, cmp_double);
        qsort(first_tls, nfirst, sizeof *first_tls, cmp_double);
        printf("first request of each device (opens its connection), ms: p50 %.1f, p90 %.1f, "
               "p99 %.1f; of it TCP connected at p50 %.1f, p90 %.1f, p99 %.1f; TLS done at "
               "p50 %.1f, p90 %.1f, p99 %.1f\n",
               1e3 * first_lat[nfirst / 2], 1e3 * first_lat[nfirst * 9 / 10],
               1e3 * first_lat[nfirst * 99 / 100], 1e3 * first_conn[nfirst / 2],
               1e3 * first_conn[nfirst * 9 / 10], 1e3 * first_conn[nfirst * 99 / 100],
               1e3 * first_tls[nfirst / 2], 1e3 * first_tls[nfirst * 9 / 10],
               1e3 * first_tls[nfirst * 99 / 100]);
    }
    free(first_lat);
    free(first_conn);
    free(first_tls);
    if (Lmid > 0) {
        printf("storm (every device's first batch at once, opening its connection): %zu requests "
               "in %.2f s, server cpu %.1f s\n",
               nstorm, Lmid - L0, server_cpu_mid - server_cpu0);
        if (nsteady) {
            double sw = L1 - Lmid;
            qsort(steady, nsteady, sizeof *steady, cmp_double);
            if (c.rate > 0)
                printf("steady offered at %.0f requests/s (%.0f events/s), open loop, latency "
                       "from when each batch was due:\n",
                       c.rate, c.rate * (double)c.events);
            printf("steady (batches 2..%ld over the open connections): %zu requests in %.2f s: "
                   "%.0f requests/s, %.0f events/s; latency ms p50 %.1f, p90 %.1f, p99 %.1f, "
                   "max %.1f; server cpu %.1f s\n",
                   c.batches, nsteady, sw, (double)nsteady / sw,
                   (double)(c.devices * (c.batches - 1) * c.events) / sw, 1e3 * steady[nsteady / 2],
                   1e3 * steady[nsteady * 9 / 10], 1e3 * steady[nsteady * 99 / 100],
                   1e3 * steady[nsteady - 1], server_cpu_end - server_cpu_mid);
        }
    }
    free(steady);
    printf("cpu during the load: server %.1f s, this client %.1f s (wall %.1f s)\n", server_cpu,
           client_cpu, wall);
    printf("server memory: VmRSS %ld kB before the load, peak VmRSS %ld kB during it, VmHWM %ld "
           "kB\n",
           base_rss, rss_peak_kb, hwm);

    /* Exactly once: every device's events 1..B*E, each once, head at B*E. */
    long long counts[4] = {-1, -1, -1, -1};
    if (strncmp(c.db, "postgresql://", 13) == 0)
        stored_counts_pg(c.db, c.batches * c.events, counts);
    else
        stored_counts_sqlite(c.db, c.batches * c.events, counts);
    long long want = c.devices * c.batches * c.events;
    int verdict = !(counts[0] == want && counts[1] == want && counts[2] == c.devices &&
                    counts[3] == c.devices);
    printf("stored: %lld events (%lld distinct, %lld expected), %lld/%ld devices complete "
           "with heads at %ld: %s\n",
           counts[0], counts[1], want, counts[3], c.devices, c.batches * c.events,
           verdict ? "MISMATCH" : "every event exactly once");
    for (long i = 0; i < c.devices; i++) {
        curl_easy_cleanup(devs[i].h);
        curl_slist_free_all(devs[i].hdrs);
        crypto_key_destroy(devs[i].key);
        for (long b = 0; b < c.batches; b++)
            free(devs[i].batches[b].body);
        free(devs[i].batches);
    }
    free(devs);
    free(lat);
    free(start);
    curl_multi_cleanup(m);
    crypto_rng_destroy(rng);
    curl_global_cleanup();
    return verdict || failed ? 1 : 0;
}

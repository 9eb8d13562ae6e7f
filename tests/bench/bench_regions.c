/* Tianjin's built-in district boundaries (engine/regions.h, docs/BOUNDARIES.md): the cost of
 * loading them, and of judging a venue in engine_run, against the baseline of the same run
 * judged by the policy's box (regions NULL). Prints figures; never fails on time.
 * Run: build/release/tests/bench_regions */
#include "engine/engine.h"
#include "engine/regions.h"
#include "geodesy.h"
#include "rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct plan plan;

/* ms per engine_run of a one-session class with one venue at (lat, lon) in district. */
static double run(const fence_set *set, double lat, double lon, const char *district, int n)
{
    memset(&plan, 0, sizeof plan);
    snprintf(plan.id, sizeof plan.id, "V");
    snprintf(plan.institution, sizeof plan.institution, "INST-1");
    snprintf(plan.district, sizeof plan.district, "%s", district);
    snprintf(plan.occupation, sizeof plan.occupation, "2-02-10-09");
    struct plan_session *s = &plan.sessions[plan.n_sessions++];
    snprintf(s->id, sizeof s->id, "S1");
    snprintf(s->fence, sizeof s->fence, "F");
    s->mode = PLAN_OFFLINE;
    s->start_ms = INT64_C(1793581200000);
    s->end_ms = s->start_ms + 3 * INT64_C(3600000);
    struct engine_policy pol;
    engine_policy_default(&pol);
    struct engine_venue v = {"F", lat - 0.001, lon - 0.001, lat + 0.001, lon + 0.001, lat, lon};
    struct engine_input in = {
        .plan = &plan, .policy = &pol, .venues = &v, .n_venues = 1, .regions = set};
    char err[ERR_LEN];
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
        struct engine_report *r = NULL;
        if (engine_run(&in, &r, err) != RC_OK) {
            fprintf(stderr, "engine_run: %s\n", err);
            exit(1);
        }
        engine_report_free(r);
    }
    return (now_ms() - t0) / n;
}

int main(void)
{
    char err[ERR_LEN];
    fence_set *set = NULL;
    if (geodesy_init(err) != RC_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    enum { LOADS = 50 };
    double t0 = now_ms();
    for (int i = 0; i < LOADS; i++) {
        if (regions_parse(&set, err) != RC_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        if (i + 1 < LOADS)
            fence_set_free(set);
    }
    printf("%-52s %8.3f ms\n", "regions_parse (16 districts)", (now_ms() - t0) / LOADS);
    double base = run(NULL, 39.10, 117.20, "120103", 5000);
    printf("%-52s %8.4f ms\n", "engine_run, one venue, policy box (baseline)", base);
    static const struct {
        const char *what, *district;
        double lat, lon;
        int n;
    } cases[] = {
        {"venue in its district (Hexi)", "120103", 39.10, 117.20, 5000},
        {"Hexi venue declared in Nankai (warning)", "120104", 39.10, 117.20, 2000},
        {"venue in Langfang (outside Tianjin)", "120114", 39.5237, 116.7035, 200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double t = run(set, cases[i].lat, cases[i].lon, cases[i].district, cases[i].n);
        printf("engine_run, %-40s %8.4f ms  (%.1fx baseline)\n", cases[i].what, t, t / base);
    }
    fence_set_free(set);
    geodesy_fini();
    return 0;
}

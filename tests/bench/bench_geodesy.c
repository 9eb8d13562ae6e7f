/* ns per call of the geodesy and datum functions on random Tianjin inputs (a fence-sized edge
 * set: 32 edges of up to 5 km, fixes within 10 km). Prints figures; never fails on time.
 * Run: build/rel/tests/bench_geodesy */
#include "datum.h"
#include "geodesy.h"
#include "rc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { EDGES = 32, FIXES = 4096, REPS = 20 };

static uint64_t state = 88172645463325252u;
static double uniform(double lo, double hi)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return lo + (hi - lo) * ((double)(state >> 11) / 9007199254740992.0);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(void)
{
    static double e[EDGES + 1][2], fx[FIXES][2];
    for (int i = 0; i <= EDGES; i++) {
        e[i][0] = 39.10 + uniform(0.0, 0.04);
        e[i][1] = 117.15 + uniform(0.0, 0.05);
    }
    for (int i = 0; i < FIXES; i++) {
        fx[i][0] = 39.08 + uniform(0.0, 0.08);
        fx[i][1] = 117.13 + uniform(0.0, 0.09);
    }
    volatile double sink = 0.0;
    double calls = (double)FIXES * EDGES * REPS;

    double t0 = now_ns();
    for (int r = 0; r < REPS; r++)
        for (int i = 0; i < FIXES; i++)
            for (int k = 0; k < EDGES; k++)
                sink += geodesy_point_edge_distance(fx[i][0], fx[i][1], e[k][0], e[k][1],
                                                    e[k + 1][0], e[k + 1][1]);
    printf("geodesy_point_edge_distance   %7.1f ns/call\n", (now_ns() - t0) / calls);

    t0 = now_ns();
    for (int r = 0; r < REPS; r++) {
        for (int i = 0; i < FIXES; i++) {
            struct geodesy_frame f;
            geodesy_frame_init(&f, fx[i][0], fx[i][1]);
            for (int k = 0; k < EDGES; k++)
                sink += geodesy_frame_edge_distance(&f, e[k][0], e[k][1], e[k + 1][0], e[k + 1][1]);
        }
    }
    printf("geodesy_frame_edge_distance   %7.1f ns/edge (frame init included)\n",
           (now_ns() - t0) / calls);

    t0 = now_ns();
    for (int r = 0; r < REPS; r++) {
        for (int i = 0; i < FIXES; i++) {
            struct geodesy_frame f;
            geodesy_frame_init(&f, fx[i][0], fx[i][1]);
            for (int k = 0; k < EDGES; k++)
                sink += geodesy_frame_edge_approx(&f, e[k][0], e[k][1], e[k + 1][0], e[k + 1][1]);
        }
    }
    printf("geodesy_frame_edge_approx     %7.1f ns/edge (frame init included)\n",
           (now_ns() - t0) / calls);

    static double ring[2 * (EDGES + 1)];
    for (int i = 0; i < EDGES; i++) {
        double ang = 6.283185307179586 * i / EDGES, r = uniform(0.01, 0.02);
        ring[2 * i] = 117.2 + r * cos(ang) / 0.776;
        ring[2 * i + 1] = 39.12 + r * sin(ang);
    }
    ring[2 * EDGES] = ring[0];
    ring[2 * EDGES + 1] = ring[1];
    t0 = now_ns();
    for (int r = 0; r < REPS; r++) {
        for (int i = 0; i < FIXES; i++) {
            struct geodesy_frame f;
            geodesy_frame_init(&f, fx[i][0], fx[i][1]);
            sink += geodesy_frame_polyline_distance(&f, ring, EDGES + 1, NULL);
        }
    }
    printf("geodesy_frame_polyline_distance %5.1f ns/call (%d-edge ring, ~3.5 km across, frame "
           "init included)\n",
           (now_ns() - t0) / (FIXES * REPS), EDGES);

    t0 = now_ns();
    for (int r = 0; r < REPS; r++)
        for (int i = 0; i < FIXES; i++)
            sink += geodesy_distance(fx[i][0], fx[i][1], e[i % EDGES][0], e[i % EDGES][1]);
    printf("geodesy_distance              %7.1f ns/call\n", (now_ns() - t0) / (FIXES * REPS));

    char err[ERR_LEN];
    static const enum datum dirs[][2] = {{DATUM_WGS84, DATUM_GCJ02}, {DATUM_GCJ02, DATUM_WGS84},
                                         {DATUM_GCJ02, DATUM_BD09},  {DATUM_BD09, DATUM_GCJ02},
                                         {DATUM_WGS84, DATUM_BD09},  {DATUM_BD09, DATUM_WGS84}};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        t0 = now_ns();
        for (int r = 0; r < REPS; r++) {
            for (int i = 0; i < FIXES; i++) {
                double la, lo;
                if (datum_convert(dirs[d][0], dirs[d][1], fx[i][0], fx[i][1], &la, &lo, err) == 0)
                    sink += la;
            }
        }
        printf("datum_convert %s -> %s %*s%7.1f ns/call\n", datum_name(dirs[d][0]),
               datum_name(dirs[d][1]), 8, "", (now_ns() - t0) / (FIXES * REPS));
    }
    return sink == 12345.0 ? 1 : 0;
}

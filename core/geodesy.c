/* Geodesy on WGS-84. Distances beyond GEODESY_SHORT_M use Karney's geodesic (PROJ); shorter
 * ones the ellipsoidal mid-latitude formula, whose relative error is below ~(d/R)^2 tan^2(lat)/24
 * (3e-7 at 20 km and 40 degrees) and which needs no iteration.
 *
 * PROJ is loaded with dlopen, not linked: libproj brings libstdc++, libtiff, a second libcurl and
 * more (about 10 MiB resident, measured by tests/bench/lib_rss.sh), which a kiosk daemon judging
 * sign-ins at its own door never needs. So the server loads it at start (geodesy_init, from
 * main, and geodesy_fini at exit), while the agent leaves it to the first distance beyond
 * GEODESY_SHORT_M: that on-demand load is this module's contract, not an oversight. Like all
 * of core/, this module never logs: a failed load is kept for geodesy_status, and the caller
 * says it. */
#include "geodesy.h"

#include "rc.h"

#include <dlfcn.h>
#include <geodesic.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef ROLLCALL_PROJ_SONAME
#error "ROLLCALL_PROJ_SONAME (libproj's soname) comes from cmake/Dependencies.cmake"
#endif

static const double WGS84_A = 6378137.0;
static const double WGS84_F = 1.0 / 298.257223563;
static const double DEG = M_PI / 180.0;
/* Beyond this half latitude difference (radians) the mid-latitude sine/cosine come from libm
 * rather than the short Taylor series (whose error there is below 1e-15). */
static const double TAYLOR_MAX = 0.01;

static double wgs84_e2(void)
{
    return WGS84_F * (2.0 - WGS84_F);
}

typedef void (*geod_init_fn)(struct geod_geodesic *g, double a, double f);
typedef void (*geod_inverse_fn)(const struct geod_geodesic *g, double lat1, double lon1,
                                double lat2, double lon2, double *ps12, double *pazi1,
                                double *pazi2);

enum { PROJ_UNTRIED = 0, PROJ_LOADED = 1, PROJ_FAILED = 2 };

/* Process-wide: geodesy_init/geodesy_fini, or the first distance that needs PROJ, change it
 * under the lock; distances read `state` without it once it says loaded. */
static struct {
    pthread_mutex_t lock;
    _Atomic int state;
    void *handle;
    geod_inverse_fn inverse;
    struct geod_geodesic wgs84;
    char why[ERR_LEN]; /* the load failure, for geodesy_status */
} proj = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Loads PROJ unless done; returns the state. */
static int proj_load(void)
{
    int state = atomic_load(&proj.state);
    if (state != PROJ_UNTRIED)
        return state;
    pthread_mutex_lock(&proj.lock);
    state = atomic_load(&proj.state);
    if (state == PROJ_UNTRIED) {
        void *h = dlopen(ROLLCALL_PROJ_SONAME, RTLD_NOW | RTLD_LOCAL);
        geod_init_fn init = h ? (geod_init_fn)(uintptr_t)dlsym(h, "geod_init") : NULL;
        geod_inverse_fn inverse = h ? (geod_inverse_fn)(uintptr_t)dlsym(h, "geod_inverse") : NULL;
        if (!init || !inverse) {
            const char *why = dlerror();
            snprintf(proj.why, sizeof proj.why,
                     "cannot load %s (Debian package libproj25): %s; distances beyond %.0f km "
                     "are unknown",
                     ROLLCALL_PROJ_SONAME, why ? why : "geod_inverse missing",
                     GEODESY_SHORT_M / 1000.0);
            if (h)
                dlclose(h);
            state = PROJ_FAILED;
        } else {
            init(&proj.wgs84, WGS84_A, WGS84_F);
            proj.handle = h;
            proj.inverse = inverse;
            state = PROJ_LOADED;
        }
        atomic_store(&proj.state, state);
    }
    pthread_mutex_unlock(&proj.lock);
    return state;
}

int geodesy_init(char *err)
{
    return proj_load() == PROJ_LOADED ? RC_OK : geodesy_status(err);
}

int geodesy_status(char *err)
{
    if (atomic_load(&proj.state) != PROJ_FAILED)
        return RC_OK;
    return rc_fail(err, RC_NOTFOUND, "%s", proj.why);
}

void geodesy_fini(void)
{
    pthread_mutex_lock(&proj.lock);
    if (proj.handle)
        dlclose(proj.handle);
    proj.handle = NULL;
    proj.inverse = NULL;
    proj.why[0] = '\0';
    atomic_store(&proj.state, PROJ_UNTRIED);
    pthread_mutex_unlock(&proj.lock);
}

double geodesy_distance(double lat1, double lon1, double lat2, double lon2)
{
    double s12 = NAN;
    if (proj_load() == PROJ_LOADED)
        proj.inverse(&proj.wgs84, lat1, lon1, lat2, lon2, &s12, NULL, NULL);
    return s12;
}

/* Metres per degree of longitude (kx) and latitude (ky) at a latitude given by its sine and
 * cosine. */
static void scales(double s, double c, double *kx, double *ky)
{
    double e2 = wgs84_e2();
    double w = 1.0 - e2 * s * s;
    double n = WGS84_A / sqrt(w);
    *kx = n * c * DEG;
    *ky = n * (1.0 - e2) / w * DEG;
}

void geodesy_frame_init(struct geodesy_frame *f, double lat, double lon)
{
    f->lat = lat;
    f->lon = lon;
    f->sinlat = sin(lat * DEG);
    f->coslat = cos(lat * DEG);
    f->inv_w = 1.0 / (1.0 - wgs84_e2() * f->sinlat * f->sinlat);
    f->ndeg = WGS84_A * sqrt(f->inv_w) * DEG;
    scales(f->sinlat, f->coslat, &f->kx, &f->ky);
}

/* Closest parameter t in [0,1] of the origin on the segment (ax,ay)-(bx,by). */
static double closest_t(double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay;
    double len2 = dx * dx + dy * dy;
    if (!(len2 > 0.0))
        return 0.0;
    double t = -(ax * dx + ay * dy) / len2;
    return t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
}

double geodesy_frame_edge_approx2(const struct geodesy_frame *f, double alat, double alon,
                                  double blat, double blon)
{
    double ax = (alon - f->lon) * f->kx, ay = (alat - f->lat) * f->ky;
    double bx = (blon - f->lon) * f->kx, by = (blat - f->lat) * f->ky;
    double t = closest_t(ax, ay, bx, by);
    double x = ax + t * (bx - ax), y = ay + t * (by - ay);
    return x * x + y * y;
}

double geodesy_frame_edge_approx(const struct geodesy_frame *f, double alat, double alon,
                                 double blat, double blon)
{
    return sqrt(geodesy_frame_edge_approx2(f, alat, alon, blat, blon));
}

double geodesy_frame_slack(const struct geodesy_frame *f, double d_approx)
{
    /* The frame's x scale is off by |tan(lat)| * dlat (plus e^2-order and curvature terms)
     * at a point dlat radians away, and a point at distance d is at most ~d/6.33e6 radians
     * away in latitude; doubled for safety. */
    double tanlat = fabs(f->sinlat / f->coslat);
    double dphi = 1.1 * d_approx / 6.33e6;
    double eps = (tanlat + 0.05) * dphi + dphi * dphi * (1.0 + tanlat * tanlat) + 1e-6;
    return 2.0 * d_approx * eps + 1e-3;
}

double geodesy_frame_edge_distance(const struct geodesy_frame *f, double alat, double alon,
                                   double blat, double blon)
{
    /* Step 1: the closest point in P's own frame. */
    double dalon = alon - f->lon, dalat = alat - f->lat;
    double dblon = blon - f->lon, dblat = blat - f->lat;
    double t = closest_t(dalon * f->kx, dalat * f->ky, dblon * f->kx, dblat * f->ky);
    double qlat = dalat + t * (dblat - dalat);

    /* Step 2: re-solve in the frame at the mid-latitude of P and that point, where the
     * mid-latitude formula measures P-Q accurately. */
    double h = 0.5 * qlat * DEG, sh, ch;
    if (fabs(h) < TAYLOR_MAX) {
        double h2 = h * h;
        sh = h * (1.0 - h2 / 6.0 * (1.0 - h2 / 20.0));
        ch = 1.0 - h2 / 2.0 * (1.0 - h2 / 12.0);
    } else {
        sh = sin(h);
        ch = cos(h);
    }
    double sm = f->sinlat * ch + f->coslat * sh;
    double cm = f->coslat * ch - f->sinlat * sh;
    double kx, ky;
    if (fabs(h) < TAYLOR_MAX) {
        /* The radii at the mid-latitude from those at P: with 1 + u = w(mid)/w(P), where
         * |u| < 7e-5 here, N = N_P (1+u)^-1/2 and M = M_P (1+u)^-3/2 to second order
         * (error below 1e-12 relative). Saves a sqrt and a division. */
        double u = wgs84_e2() * (f->sinlat * f->sinlat - sm * sm) * f->inv_w;
        double rn = 1.0 - u * (0.5 - 0.375 * u);
        double rm = 1.0 - u * (1.5 - 1.875 * u);
        kx = f->ndeg * rn * cm;
        ky = f->ky * rm;
    } else {
        scales(sm, cm, &kx, &ky);
    }
    double ax = dalon * kx, ay = dalat * ky, bx = dblon * kx, by = dblat * ky;
    t = closest_t(ax, ay, bx, by);
    double x = ax + t * (bx - ax), y = ay + t * (by - ay);
    double d = sqrt(x * x + y * y);
    if (d > GEODESY_SHORT_M)
        d = geodesy_distance(f->lat, f->lon, alat + t * (blat - alat), alon + t * (blon - alon));
    return d;
}

double geodesy_point_edge_distance(double plat, double plon, double alat, double alon, double blat,
                                   double blon)
{
    struct geodesy_frame f;
    geodesy_frame_init(&f, plat, plon);
    return geodesy_frame_edge_distance(&f, alat, alon, blat, blon);
}

double geodesy_point_distance(double lat1, double lon1, double lat2, double lon2)
{
    return geodesy_point_edge_distance(lat1, lon1, lat2, lon2, lat2, lon2);
}

double geodesy_frame_polyline_distance(const struct geodesy_frame *f, const double *lonlat,
                                       size_t n, size_t *edge)
{
    enum { CHUNK = 64 };
    double best = INFINITY;
    size_t best_edge = 0;
    /* Chunks bound the stack: each gets a cheap pass (squared estimates), then accurate
     * distances for the edges whose estimate could still beat the best so far. An edge with
     * estimate a is at least a - slack(a) away; a - slack(a) grows with a, so every edge below
     * thr = best + slack(best + 2 slack(best)) is measured (slack is far below a tenth of the
     * distance in range, which makes thr a safe inverse). */
    for (size_t base = 0; base + 1 < n; base += CHUNK) {
        double a2[CHUNK];
        size_t m = n - 1 - base < CHUNK ? n - 1 - base : CHUNK;
        double amin = INFINITY;
        size_t imin = 0;
        for (size_t i = 0; i < m; i++) {
            const double *v = lonlat + 2 * (base + i);
            a2[i] = geodesy_frame_edge_approx2(f, v[1], v[0], v[3], v[2]);
            if (a2[i] < amin) {
                amin = a2[i];
                imin = i;
            }
        }
        const double *v = lonlat + 2 * (base + imin);
        double d = geodesy_frame_edge_distance(f, v[1], v[0], v[3], v[2]);
        if (d < best) {
            best = d;
            best_edge = base + imin;
        }
        double s = geodesy_frame_slack(f, best);
        double thr = best + geodesy_frame_slack(f, best + 2.0 * s);
        double thr2 = thr * thr;
        for (size_t i = 0; i < m; i++) {
            if (i == imin || !(a2[i] < thr2))
                continue;
            v = lonlat + 2 * (base + i);
            d = geodesy_frame_edge_distance(f, v[1], v[0], v[3], v[2]);
            if (d < best) {
                best = d;
                best_edge = base + i;
                s = geodesy_frame_slack(f, best);
                thr = best + geodesy_frame_slack(f, best + 2.0 * s);
                thr2 = thr * thr;
            }
        }
    }
    if (edge)
        *edge = best_edge;
    return best;
}

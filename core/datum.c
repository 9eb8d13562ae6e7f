/* Datum transforms. The GCJ-02 forward offset is the widely published formula (Krasovsky
 * ellipsoid, a = 6378245, e^2 = 0.00669342162296594323) with its out-of-China rectangle; BD-09
 * is Baidu's published x_pi rotation-and-shift of GCJ-02. Both inverses are solved by fixed-point
 * iteration on the forward formula (its Jacobian is within ~2 % of the identity), so that
 * forward(inverse(p)) == p to better than 1e-9 degree, instead of the usual one-step
 * approximations that are off by up to metres. */
#include "datum.h"

#include "rc.h"

#include <math.h>
#include <stddef.h>
#include <strings.h>

enum {
    /* Fixed-point steps; each gains two to three decimal digits, 6-8 suffice in practice. */
    MAX_ITER = 40,
};

static const double KRASOVSKY_A = 6378245.0;
static const double KRASOVSKY_EE = 0.00669342162296594323;
static const double BD_X_PI = 3.14159265358979324 * 3000.0 / 180.0;
static const double BD_DLON = 0.0065;
static const double BD_DLAT = 0.006;
/* Iteration stops once the forward image matches to this (degrees, ~1e-7 mm). */
static const double ITER_TOL = 1e-12;
/* The accuracy datum_convert promises for inverses: 1e-9 degree is ~0.1 mm. */
static const double INVERSE_TOL = 1e-9;

int datum_parse(const char *name, enum datum *out)
{
    static const struct {
        const char *a, *b;
        enum datum d;
    } names[] = {
        {"WGS-84", "WGS84", DATUM_WGS84},
        {"GCJ-02", "GCJ02", DATUM_GCJ02},
        {"BD-09", "BD09", DATUM_BD09},
    };
    if (!name || !out)
        return RC_INVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i].a) == 0 || strcasecmp(name, names[i].b) == 0) {
            *out = names[i].d;
            return 0;
        }
    }
    return RC_INVAL;
}

const char *datum_name(enum datum d)
{
    switch (d) {
    case DATUM_WGS84: return "WGS-84";
    case DATUM_GCJ02: return "GCJ-02";
    case DATUM_BD09: return "BD-09";
    }
    return "unknown";
}

bool datum_in_china(double lat, double lon)
{
    /* The rectangle every published implementation uses (eviltransform, coordtransform). */
    return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
}

static double transform_lat(double x, double y)
{
    double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x));
    r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
    r += (160.0 * sin(y / 12.0 * M_PI) + 320.0 * sin(y * M_PI / 30.0)) * 2.0 / 3.0;
    return r;
}

static double transform_lon(double x, double y)
{
    double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x));
    r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
    r += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) * 2.0 / 3.0;
    return r;
}

/* The GCJ-02 offset (degrees) at a WGS-84 point, without the China test. */
static void gcj_offset(double lat, double lon, double *dlat, double *dlon)
{
    double x = lon - 105.0, y = lat - 35.0;
    double rad = lat / 180.0 * M_PI;
    double s = sin(rad);
    double magic = 1.0 - KRASOVSKY_EE * s * s;
    double sq = sqrt(magic);
    *dlat =
        transform_lat(x, y) * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sq) * M_PI);
    *dlon = transform_lon(x, y) * 180.0 / (KRASOVSKY_A / sq * cos(rad) * M_PI);
}

/* Offsets are below 0.01 degree, so a point this far outside the rectangle has no preimage
 * inside it and the inverses need not iterate. */
static bool near_china(double lat, double lon)
{
    return lon >= 72.004 - 0.1 && lon <= 137.8347 + 0.1 && lat >= 0.8293 - 0.1 &&
           lat <= 55.8271 + 0.1;
}

/* An inverse's solution on the rectangle's edge may land a rounding error outside it; such a
 * point is moved onto the edge (by < 1e-9 degree) so that it stays inside. Returns whether the
 * (possibly moved) point is inside. */
static bool snap_into_china(double *lat, double *lon)
{
    static const double SNAP = 1e-9;
    if (datum_in_china(*lat, *lon))
        return true;
    if (!(*lon >= 72.004 - SNAP && *lon <= 137.8347 + SNAP && *lat >= 0.8293 - SNAP &&
          *lat <= 55.8271 + SNAP))
        return false;
    *lon = fmin(fmax(*lon, 72.004), 137.8347);
    *lat = fmin(fmax(*lat, 0.8293), 55.8271);
    return true;
}

static void wgs_to_gcj(double lat, double lon, double *glat, double *glon)
{
    if (!datum_in_china(lat, lon)) {
        *glat = lat;
        *glon = lon;
        return;
    }
    double dlat, dlon;
    gcj_offset(lat, lon, &dlat, &dlon);
    *glat = lat + dlat;
    *glon = lon + dlon;
}

/* Exact inverse: w = g - offset(w) by fixed-point iteration. A GCJ-02 point whose solution
 * falls outside the China rectangle is (by the published convention) its own WGS-84 point. */
static int gcj_to_wgs(double glat, double glon, double *lat, double *lon)
{
    double wlat = glat, wlon = glon;
    double rlat = 0.0, rlon = 0.0;
    if (!near_china(glat, glon)) {
        *lat = glat;
        *lon = glon;
        return 0;
    }
    for (int i = 0; i < MAX_ITER; i++) {
        double dlat, dlon;
        gcj_offset(wlat, wlon, &dlat, &dlon);
        rlat = wlat + dlat - glat;
        rlon = wlon + dlon - glon;
        if (fabs(rlat) < ITER_TOL && fabs(rlon) < ITER_TOL)
            break;
        wlat -= rlat;
        wlon -= rlon;
    }
    if (!snap_into_china(&wlat, &wlon)) {
        *lat = glat;
        *lon = glon;
        return 0;
    }
    if (!(fabs(rlat) < INVERSE_TOL && fabs(rlon) < INVERSE_TOL))
        return RC_INVAL;
    *lat = wlat;
    *lon = wlon;
    return 0;
}

/* Baidu's x_pi rotation and shift of a GCJ-02 point, without the China test. */
static void bd_forward(double glat, double glon, double *blat, double *blon)
{
    double x = glon, y = glat;
    double z = sqrt(x * x + y * y) + 0.00002 * sin(y * BD_X_PI);
    double theta = atan2(y, x) + 0.000003 * cos(x * BD_X_PI);
    *blon = z * cos(theta) + BD_DLON;
    *blat = z * sin(theta) + BD_DLAT;
}

/* Outside the China rectangle BD-09 is taken equal to GCJ-02 (and so to WGS-84), as
 * eviltransform does: the offsets are a Chinese-map convention. */
static void gcj_to_bd(double glat, double glon, double *blat, double *blon)
{
    if (!datum_in_china(glat, glon)) {
        *blat = glat;
        *blon = glon;
        return;
    }
    bd_forward(glat, glon, blat, blon);
}

/* Exact inverse of gcj_to_bd: starts from Baidu's published one-step inverse (off by up to
 * ~1 m) and iterates g -= bd(g) - b. As for GCJ-02, a point whose solution falls outside the
 * China rectangle is left unchanged. */
static int bd_to_gcj(double blat, double blon, double *glat, double *glon)
{
    if (!near_china(blat, blon)) {
        *glat = blat;
        *glon = blon;
        return 0;
    }
    double x = blon - BD_DLON, y = blat - BD_DLAT;
    double z = sqrt(x * x + y * y) - 0.00002 * sin(y * BD_X_PI);
    double theta = atan2(y, x) - 0.000003 * cos(x * BD_X_PI);
    double lat = z * sin(theta), lon = z * cos(theta);
    double rlat = 0.0, rlon = 0.0;
    for (int i = 0; i < MAX_ITER; i++) {
        double flat, flon;
        bd_forward(lat, lon, &flat, &flon);
        rlat = flat - blat;
        rlon = flon - blon;
        if (fabs(rlat) < ITER_TOL && fabs(rlon) < ITER_TOL)
            break;
        lat -= rlat;
        lon -= rlon;
    }
    if (!snap_into_china(&lat, &lon)) {
        *glat = blat;
        *glon = blon;
        return 0;
    }
    if (!(fabs(rlat) < INVERSE_TOL && fabs(rlon) < INVERSE_TOL))
        return RC_INVAL;
    *glat = lat;
    *glon = lon;
    return 0;
}

static bool valid_point(double lat, double lon)
{
    return isfinite(lat) && isfinite(lon) && lat >= -90.0 && lat <= 90.0 && lon >= -180.0 &&
           lon <= 180.0;
}

int datum_convert(enum datum from, enum datum to, double lat, double lon, double *out_lat,
                  double *out_lon, char *err)
{
    int rc = 0;
    double glat = lat, glon = lon, rlat = lat, rlon = lon;
    if (!out_lat || !out_lon)
        return rc_fail(err, RC_INVAL, "datum_convert: no output");
    if ((unsigned)from > DATUM_BD09 || (unsigned)to > DATUM_BD09) {
        rc = rc_fail(err, RC_INVAL, "unknown datum");
        goto out;
    }
    if (!valid_point(lat, lon)) {
        rc = rc_fail(err, RC_INVAL, "invalid coordinates (lat %.9g, lon %.9g)", lat, lon);
        goto out;
    }
    /* Every conversion goes through GCJ-02. */
    if (from == DATUM_WGS84)
        wgs_to_gcj(lat, lon, &glat, &glon);
    else if (from == DATUM_BD09 && to != DATUM_BD09 && bd_to_gcj(lat, lon, &glat, &glon) < 0) {
        rc = rc_fail(err, RC_INVAL, "BD-09 inverse did not converge at %.9g, %.9g", lat, lon);
        goto out;
    }
    if (from == to) {
        rlat = lat;
        rlon = lon;
    } else if (to == DATUM_GCJ02) {
        rlat = glat;
        rlon = glon;
    } else if (to == DATUM_BD09) {
        gcj_to_bd(glat, glon, &rlat, &rlon);
    } else if (gcj_to_wgs(glat, glon, &rlat, &rlon) < 0) {
        rc = rc_fail(err, RC_INVAL, "GCJ-02 inverse did not converge at %.9g, %.9g", lat, lon);
        goto out;
    }
    if (!valid_point(rlat, rlon)) {
        rc = rc_fail(err, RC_INVAL, "%.9g, %.9g has no valid %s image", lat, lon, datum_name(to));
        goto out;
    }
    *out_lat = rlat;
    *out_lon = rlon;
out:
    return rc;
}

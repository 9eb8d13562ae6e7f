/* Geodesy on the WGS-84 ellipsoid: geodesic distance (Karney's algorithm, from PROJ's
 * geodesic.h) and the distance from a point to a fence edge that is a straight line in
 * longitude/latitude (RFC 7946 §3.1.1). Pure functions; no allocation.
 *
 * Edge distances work in a local frame centred on the point P: x = dlon * N cos(lat),
 * y = dlat * M, with the ellipsoid's radii of curvature (metres per degree). In that frame an
 * edge straight in lon/lat is an exact straight segment, so its closest point is closed-form;
 * the accurate variant then re-solves in the frame at the mid-latitude of P and that point and
 * measures with the mid-latitude formula (exact to second order), switching to Karney's
 * geodesic beyond GEODESY_SHORT_M. Invariant: every function here is a pure function of its
 * arguments. */
#ifndef ROLLCALL_GEODESY_H
#define ROLLCALL_GEODESY_H

#include <stddef.h>

/* Up to this distance (metres) the mid-latitude formula is used (relative error below 1e-6,
 * checked against GeodSolve in tests/unit/test_geodesy.c); beyond it, geod_inverse. */
#define GEODESY_SHORT_M 20000.0

/* A local frame at a point: precompute once per fix, then measure many edges cheaply. */
struct geodesy_frame {
    double lat, lon;       /* the centre, degrees */
    double sinlat, coslat; /* of the centre's latitude */
    double kx, ky;         /* metres per degree of longitude and latitude at the centre */
    double inv_w;          /* 1 / (1 - e^2 sin^2 lat) at the centre */
    double ndeg;           /* prime-vertical radius N times pi/180 */
};

/* Loads PROJ (dlopen) now: programs that may measure long distances call it from main, in
 * dependency order, and geodesy_fini at exit. Idempotent, thread-safe. RC_NOTFOUND with err
 * ("cannot load libproj.so.25 (Debian package libproj25): ...") for a broken installation;
 * distances beyond GEODESY_SHORT_M are then NaN. */
int geodesy_init(char *err);
/* Unloads PROJ; a later distance or geodesy_init loads it again. */
void geodesy_fini(void);
/* RC_OK unless loading PROJ failed; then RC_NOTFOUND with the reason in err (this module
 * never logs: its callers do). */
int geodesy_status(char *err);

/* Geodesic distance in metres between two WGS-84 points (degrees), by Karney's algorithm
 * from PROJ, loaded by geodesy_init or else on this first call; NaN when PROJ cannot be
 * loaded (geodesy_status says why). Thread-safe. */
double geodesy_distance(double lat1, double lon1, double lat2, double lon2);

/* Shortest distance in metres from P to the edge A-B, the edge being straight in
 * longitude/latitude. Error below 1 mm for distances up to 100 m and below 0.01 % up to
 * 10 km. Degrees in; edges shorter than 0.5 degree, not crossing the antimeridian. */
double geodesy_point_edge_distance(double plat, double plon, double alat, double alon, double blat,
                                   double blon);

/* Distance in metres between two points: the mid-latitude formula up to GEODESY_SHORT_M
 * (relative error below 2e-6, tests/unit/test_geodesy.c)
 * and PROJ not loaded; geodesy_distance beyond. What the fence measures with, for callers
 * that compare nearby fixes many times a second (agent/gnss.c). */
double geodesy_point_distance(double lat1, double lon1, double lat2, double lon2);

/* Fills f with the local frame at (lat, lon) (degrees, |lat| < 90). */
void geodesy_frame_init(struct geodesy_frame *f, double lat, double lon);

/* Same as geodesy_point_edge_distance with P = the frame's centre (the frame saves the
 * per-point trigonometry: use it when measuring many edges from one fix). */
double geodesy_frame_edge_distance(const struct geodesy_frame *f, double alat, double alon,
                                   double blat, double blon);

/* Cheap planar estimate of the same distance in P's frame (no trigonometry, one sqrt), for
 * pruning edges. Its error is bounded by geodesy_frame_slack(). */
double geodesy_frame_edge_approx(const struct geodesy_frame *f, double alat, double alon,
                                 double blat, double blon);

/* Square of geodesy_frame_edge_approx (no sqrt): for comparisons. */
double geodesy_frame_edge_approx2(const struct geodesy_frame *f, double alat, double alon,
                                  double blat, double blon);

/* A bound on |approx - accurate| (metres) for an approx value d_approx from this frame:
 * an edge whose approx exceeds (best accurate distance so far) + slack cannot be closer. Valid
 * for edges within 0.5 degree of the frame's centre. */
double geodesy_frame_slack(const struct geodesy_frame *f, double d_approx);

/* Distance in metres from the frame's centre to the nearest edge of a polyline given as n
 * vertices in GeoJSON order (lonlat[2*i] = longitude, lonlat[2*i+1] = latitude; a closed ring
 * repeats its first vertex last): the minimum of geodesy_frame_edge_distance over its n-1
 * edges, computed accurately only for the edges the cheap estimate cannot rule out. Sets
 * *edge (if not NULL) to the index of the nearest edge. n < 2 gives INFINITY and *edge = 0. */
double geodesy_frame_polyline_distance(const struct geodesy_frame *f, const double *lonlat,
                                       size_t n, size_t *edge);

#endif

/* Geodesy on the WGS-84 ellipsoid: geodesic distance (Karney's algorithm, from PROJ's
 * geodesic.h) and the distance from a point to a fence edge that is a straight line in
 * longitude/latitude (RFC 7946 §3.1.1). Pure functions; no allocation. */
#ifndef ROLLCALL_GEODESY_H
#define ROLLCALL_GEODESY_H

/* Geodesic distance in metres between two WGS-84 points (degrees). */
double geodesy_distance(double lat1, double lon1, double lat2, double lon2);

/* Shortest distance in metres from P to the edge A-B, the edge being straight in
 * longitude/latitude. Error below 1 mm for distances up to 100 m and below 0.01 % up to
 * 10 km. Degrees in; edges shorter than 0.5 degree, not crossing the antimeridian. */
double geodesy_point_edge_distance(double plat, double plon, double alat, double alon, double blat,
                                   double blon);

#endif

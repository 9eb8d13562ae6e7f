/* Geodetic datums used on Chinese maps: WGS-84 (GNSS), GCJ-02 (Amap, Tencent; the state
 * "Mars" offset on the Krasovsky ellipsoid) and BD-09 (Baidu). Outside mainland China (the
 * published rectangle, datum_in_china) all three coincide, so conversions leave such points
 * unchanged; the one exception is a point just outside the rectangle that is the GCJ-02/BD-09
 * image of a point inside it, which the inverse maps back to that point. Invariant: inverses
 * are exact, forward(inverse(p)) == p within 1e-9 degree. Pure functions. */
#ifndef ROLLCALL_DATUM_H
#define ROLLCALL_DATUM_H

#include <stdbool.h>

enum datum { DATUM_WGS84 = 0, DATUM_GCJ02 = 1, DATUM_BD09 = 2 };

/* Parses "WGS-84", "GCJ-02" or "BD-09" (also without the hyphen, any case); RC_INVAL else. */
int datum_parse(const char *name, enum datum *out);
/* The canonical name ("WGS-84", "GCJ-02", "BD-09"); static storage. */
const char *datum_name(enum datum d);
/* True where GCJ-02 applies (mainland China's rough bounding area, as the published
 * algorithm defines it). */
bool datum_in_china(double lat, double lon);
/* Converts a point between datums. The inverse transforms (to WGS-84 from GCJ-02/BD-09) are
 * iterated until the forward image matches to better than 1 mm. RC_INVAL (with err) for NaN,
 * infinite or out-of-range coordinates. */
int datum_convert(enum datum from, enum datum to, double lat, double lon, double *out_lat,
                  double *out_lon, char *err);

#endif

/* Electronic fences: GeoJSON fence files (RFC 7946; INTERFACES.md "Fence files"), their
 * validation, and the verdict of a GNSS fix against a fence (INTERFACES.md "Fence verdicts").
 *
 * Invariants:
 * - A fence set is either fully loaded and valid or not created at all: every feature is
 *   parsed, validated, converted and indexed before the set is published; any refusal frees
 *   everything and names the feature index and the reason.
 * - Loaded geometry is WGS-84 (converted once, at load, from the file's declared datum). Edges
 *   are straight lines in longitude/latitude (RFC 7946 §3.1.1), also after conversion.
 * - Rings are simple (no self-intersection, no touching), holes lie strictly inside their shell
 *   and apart from each other, and the polygons of a MultiPolygon are disjoint, so even-odd
 *   containment and "distance to the boundary" are well defined.
 * - A loaded fence is immutable; every query is a pure function (thread-safe). */
#ifndef ROLLCALL_FENCE_H
#define ROLLCALL_FENCE_H

#include "datum.h"

#include <stdbool.h>
#include <stddef.h>

/* Bounded input: a file over any limit is refused whole. */
enum {
    FENCE_MAX_FILE_BYTES = 4 << 20,   /* a fence file */
    FENCE_MAX_FEATURES = 1000,        /* features in one file */
    FENCE_MAX_POLYGONS = 64,          /* polygons in one MultiPolygon */
    FENCE_MAX_RINGS = 64,             /* rings (shell + holes) in one polygon */
    FENCE_MAX_FENCE_VERTICES = 10000, /* positions in one feature, all rings together */
    FENCE_MAX_FILE_VERTICES = 100000, /* positions in one file */
    FENCE_MAX_ID = 64,                /* bytes of properties.id */
    FENCE_MAX_NAME = 256,             /* bytes of properties.name */
    FENCE_MAX_NOTES = 32,             /* ignored members a set remembers by name */
    FENCE_NOTE_LEN = 96,              /* bytes of one such note */
};

/* Bounds of the numeric properties and of the geometry (see docs/FENCES.md). */
#define FENCE_MAX_TOLERANCE_M 1000.0  /* properties.tolerance_m in [0, this] */
#define FENCE_MAX_RADIUS_M 20000.0    /* properties.radius_m in (0, this] */
#define FENCE_MAX_SPAN_DEG 0.5        /* a fence spans at most this in latitude and longitude */
#define FENCE_MAX_REGION_SPAN_DEG 3.0 /* a region (district, city) fence: fence_set_parse_region */
#define FENCE_MAX_ABS_LAT 80.0        /* fences stay this far from the poles */

enum fence_verdict { FENCE_INSIDE = 0, FENCE_OUTSIDE = 1, FENCE_UNCERTAIN = 2, FENCE_NO_FIX = 3 };
enum fence_kind { FENCE_AREA = 0, FENCE_CIRCLE = 1 };

typedef struct fence_set fence_set;
struct fence;

/* A GNSS fix (WGS-84 degrees). eph is the horizontal accuracy in metres, NaN when the
 * receiver gives none. */
struct fence_fix {
    bool has_fix;
    double lat;
    double lon;
    double eph;
};

struct fence_judgement {
    enum fence_verdict verdict;
    double distance_m; /* d: signed distance to the boundary minus tolerance_m; NaN for no_fix */
    double eph_m;      /* e: the accuracy used (the fix's, else the assumed one); NaN for no_fix */
};

/* Parses and validates a fence file held in memory (len bytes, need not be NUL-terminated).
 * label (a file name) prefixes error messages: "LABEL: feature N: reason". On success *out
 * is a new set the caller frees with fence_set_free. RC_INVAL or RC_LIMIT (with err) for a
 * refused file, RC_NOMEM; *out untouched on failure. */
int fence_set_parse(const char *data, size_t len, const char *label, fence_set **out, char *err);
/* As fence_set_parse for administrative regions (a city, its districts): area fences may span
 * up to FENCE_MAX_REGION_SPAN_DEG instead of FENCE_MAX_SPAN_DEG; every other rule holds. The
 * distance grid that makes a venue fence's many queries fast is not built (loading takes
 * milliseconds, not hundreds): each query scans every edge, which suits a few venue checks.
 * The distances agree with the grid's to a millimetre (tests/unit/test_regions.c). */
int fence_set_parse_region(const char *data, size_t len, const char *label, fence_set **out,
                           char *err);
/* Reads (at most FENCE_MAX_FILE_BYTES) and parses a fence file; as fence_set_parse, plus
 * RC_IO when it cannot be read. */
int fence_set_load(const char *path, fence_set **out, char *err);
/* What the loader ignored, as RFC 7946 §6.1 allows: foreign members of the collection, a
 * feature or a geometry (GDAL's "name", a WGS-84 "crs", geojson.io's numeric feature "id") and
 * properties beyond ours (geojson.io's "stroke", "地址"). Notes read "feature 0: property
 * 'stroke'"; the set keeps the first FENCE_MAX_NOTES (owned by the set), count is the total. */
size_t fence_set_ignored_count(const fence_set *set);
/* The i-th note (i < min(count, FENCE_MAX_NOTES)), or NULL. */
const char *fence_set_ignored(const fence_set *set, size_t i);
/* Frees a set and every fence in it; NULL is fine. */
void fence_set_free(fence_set *set);
/* Number of fences (features) in the set; at least 1. */
size_t fence_set_count(const fence_set *set);
/* The i-th fence in file order (i < count), owned by the set. */
const struct fence *fence_set_at(const fence_set *set, size_t i);
/* The fence with this id, owned by the set, or NULL. */
const struct fence *fence_set_find(const fence_set *set, const char *id);

/* properties.id (owned by the fence). */
const char *fence_id(const struct fence *f);
/* properties.name, "" when absent (owned by the fence). */
const char *fence_name(const struct fence *f);
/* The datum the file declared (geometry is held in WGS-84 whatever it was). */
enum datum fence_datum(const struct fence *f);
/* properties.tolerance_m (0 when absent). */
double fence_tolerance_m(const struct fence *f);
/* FENCE_AREA (Polygon or MultiPolygon) or FENCE_CIRCLE (Point + radius_m). */
enum fence_kind fence_kind_of(const struct fence *f);
/* Circle centre (WGS-84 degrees) and radius; RC_INVAL if the fence is not a circle. */
int fence_circle(const struct fence *f, double *lat, double *lon, double *radius_m);
/* Number of polygons of an area fence (0 for a circle). */
size_t fence_polygon_count(const struct fence *f);
/* Number of rings of polygon p (ring 0 is the shell, the others holes). */
size_t fence_ring_count(const struct fence *f, size_t p);
/* Ring r of polygon p: *n distinct vertices as lon,lat pairs (WGS-84 degrees), not repeating
 * the first at the end; owned by the fence. */
const double *fence_ring(const struct fence *f, size_t p, size_t r, size_t *n);
/* Bounding box of the fence's WGS-84 geometry (a circle's box encloses it). */
void fence_bbox(const struct fence *f, double *min_lat, double *min_lon, double *max_lat,
                double *max_lon);

/* Signed distance in metres from a WGS-84 point to the fence boundary, negative inside, 0 on
 * the boundary; tolerance not applied. Geodesic on the WGS-84 ellipsoid with edges straight in
 * longitude/latitude. The point must be finite and in range (caller checks; NaN otherwise). */
double fence_signed_distance(const struct fence *f, double lat, double lon);
/* Judges a fix: d = signed distance - tolerance_m, e = fix.eph or assumed_eph_m when eph is
 * NaN; inside if d + e <= 0, outside if d - e > 0, else uncertain; no_fix without a fix.
 * RC_INVAL (with err) for NaN/out-of-range coordinates or a negative/infinite accuracy. */
int fence_judge(const struct fence *f, const struct fence_fix *fix, double assumed_eph_m,
                struct fence_judgement *out, char *err);
/* "inside", "outside", "uncertain", "no_fix"; static storage. */
const char *fence_verdict_name(enum fence_verdict v);

/* Converts a whole fence file to another datum: validates it as fence_set_parse does, then
 * returns (in *out, NUL-terminated, caller frees with free()) the same GeoJSON with every
 * position converted and properties.datum set to `to`. Features without a datum property are
 * taken to be in `from`; a feature declaring another datum than `from` is refused. */
int fence_convert_file(const char *data, size_t len, const char *label, enum datum from,
                       enum datum to, char **out, char *err);

#endif

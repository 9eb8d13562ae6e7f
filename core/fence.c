/* Fence files and verdicts (see fence.h for the contract and invariants).
 *
 * Loading: cJSON tree -> per feature: properties through a declarative table, geometry
 * positions checked and converted to WGS-84, consecutive duplicates dropped, then the
 * topology checked (simple rings, holes inside shells, disjoint polygons) with a sweep over
 * edges sorted by longitude. Only when every feature passed is the set returned.
 *
 * Queries: containment is the even-odd crossing rule in longitude/latitude (exact for edges
 * straight in lon/lat), over the edges of one horizontal strip (a per-fence index). Distance is
 * the minimum over edges of geodesy_frame_edge_distance; a per-fence grid lists for each cell
 * the only edges that can be nearest to a point in it, and the frame's planar estimate prunes
 * those further. Points far from the fence are measured against every edge. */
#include "fence.h"

#include "file.h"
#include "geodesy.h"
#include "rc.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    WHERE_LEN = 64,    /* "polygon 63 ring 63" */
    STRIPS_MAX = 4096, /* containment strips per fence */
    CELLS_MAX = 4096,  /* distance grid cells per fence */
    CAND_STACK = 64,   /* candidate distances kept on the stack during a query */
    SCALE_DEGREE = 4,  /* degree of the metres-per-degree polynomials */
};

/* Beyond this margin (degrees) around the bounding box a point is "far": every edge is
 * measured accurately, no pruning (the frame's error bound holds within 0.5 degree). */
#define NEAR_MARGIN_DEG 0.2
/* The distance grid covers the bounding box plus this share of its size (and at least
 * GRID_MIN_MARGIN_M) on each side; points beyond it scan every edge. */
#define GRID_MARGIN_SHARE 0.5
#define GRID_MIN_MARGIN_M 100.0
/* A cell whose every point is farther than this (metres, in the grid's frame) from every edge
 * is wholly inside or outside; nearer, containment is computed per point. */
#define CELL_CLEAR_M 0.01
/* Queries measure with the fence's own frames up to this distance (metres; geodesy.c's
 * mid-latitude formula holds to GEODESY_SHORT_M); beyond, through geodesy.c. */
#define NEAR_FAST_M 10000.0
#define DEG_RAD (M_PI / 180.0)
#define WGS84_A 6378137.0
#define WGS84_F (1.0 / 298.257223563)

struct seg {
    double ax, ay, bx, by; /* lon, lat of the two ends */
};

/* An edge in a fixed local frame (metres east and north of the frame's origin), with what the
 * closest-point parameter needs precomputed. */
struct fseg {
    double ax, ay, dx, dy, inv_len2;
    double side; /* +1 when the fence's interior lies left of A->B, -1 when right */
};

/* Metres per degree of longitude and latitude as polynomials in (lat - lat0) degrees, for
 * latitudes within the fence's near region (Newton form through Chebyshev nodes). */
struct scale_poly {
    double lat0;
    double node[SCALE_DEGREE];
    double cx[SCALE_DEGREE + 1], cy[SCALE_DEGREE + 1];
};

struct ring {
    size_t first; /* index of its first vertex in fence.xy (pairs) */
    size_t n;     /* distinct vertices */
};

struct poly {
    size_t first_ring;
    size_t nring;
};

struct fence {
    char id[FENCE_MAX_ID + 1];
    char name[FENCE_MAX_NAME + 1];
    enum datum datum;
    enum fence_kind kind;
    double tolerance_m;
    /* circle */
    double clat, clon, radius_m;
    /* area */
    double *xy; /* lon,lat pairs of every ring, rings not closed */
    struct ring *rings;
    struct poly *polys;
    size_t nring, npoly, nvert;
    struct seg *segs;
    struct fseg *fsegs; /* the same edges in the grid's frame, for fast queries */
    double *seg_side;   /* per edge: +1 interior on its left, -1 on its right */
    size_t nseg;
    /* bounding box (degrees); for a circle it encloses the circle */
    double minx, miny, maxx, maxy;
    /* near region: bbox +- NEAR_MARGIN_DEG */
    /* containment strips over [miny, maxy] */
    size_t nstrip;
    double strip_inv_h;
    uint32_t *strip_start; /* nstrip + 1 offsets into strip_segs */
    uint32_t *strip_segs;
    /* distance grid over [gx0, gx0 + gnx / ginv_x] x [gy0, ...] */
    size_t gnx, gny;
    double gx0, gy0, ginv_x, ginv_y;
    uint32_t *cell_start; /* gnx * gny + 1 offsets into cell_segs */
    uint32_t *cell_segs;
    uint8_t *cell_state;           /* CELL_OUT, CELL_IN, CELL_MIXED */
    double flat0;                  /* reference latitude of the query frames (the box's centre) */
    struct scale_poly poly;        /* valid over the near region's latitudes */
    double glat0, glon0, gkx, gky; /* the grid's frame: origin and metres per degree */
    double gdelta;                 /* bound on that frame's relative distance error */
};

enum { CELL_OUT = 0, CELL_IN = 1, CELL_MIXED = 2 };

struct fence_set {
    size_t n;
    struct fence *fences;
    size_t nignored; /* members and properties ignored (notes keeps the first ones) */
    char notes[FENCE_MAX_NOTES][FENCE_NOTE_LEN];
};

/* ---------------------------------------------------------------------------------------- */
/* Small geometry helpers (lon = x, lat = y, degrees). */

/* Orientation of p relative to a->b: > 0 left, < 0 right, 0 collinear. The cheap product is
 * exact-signed unless it is tiny against its terms; then the fused multiply-adds give the
 * rounding errors of both products, which decide the sign. */
static double orient(double ax, double ay, double bx, double by, double px, double py)
{
    double d1 = bx - ax, d2 = py - ay, d3 = by - ay, d4 = px - ax;
    double l = d1 * d2, r = d3 * d4;
    double det = l - r;
    if (fabs(det) > 1e-12 * (fabs(l) + fabs(r)))
        return det;
    double el = fma(d1, d2, -l), er = fma(d3, d4, -r);
    return det + (el - er);
}

static int sgn(double v)
{
    return (v > 0) - (v < 0);
}

static bool within(double v, double a, double b)
{
    return a <= b ? (v >= a && v <= b) : (v >= b && v <= a);
}

/* p lies on the closed segment a-b. */
static bool on_segment(const struct seg *s, double px, double py)
{
    return within(px, s->ax, s->bx) && within(py, s->ay, s->by) &&
           orient(s->ax, s->ay, s->bx, s->by, px, py) == 0.0;
}

/* The closed segments intersect (touching counts). */
static bool segs_intersect(const struct seg *s, const struct seg *t)
{
    int o1 = sgn(orient(s->ax, s->ay, s->bx, s->by, t->ax, t->ay));
    int o2 = sgn(orient(s->ax, s->ay, s->bx, s->by, t->bx, t->by));
    int o3 = sgn(orient(t->ax, t->ay, t->bx, t->by, s->ax, s->ay));
    int o4 = sgn(orient(t->ax, t->ay, t->bx, t->by, s->bx, s->by));
    if (o1 * o2 < 0 && o3 * o4 < 0)
        return true;
    return (o1 == 0 && on_segment(s, t->ax, t->ay)) || (o2 == 0 && on_segment(s, t->bx, t->by)) ||
           (o3 == 0 && on_segment(t, s->ax, s->ay)) || (o4 == 0 && on_segment(t, s->bx, s->by));
}

/* Even-odd crossing rule for one ring of n vertices (lon,lat pairs). Returns 1 inside, 0
 * outside, -1 on the boundary. */
static int ring_locate(const double *xy, size_t n, double px, double py)
{
    int inside = 0;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        struct seg s = {xy[2 * j], xy[2 * j + 1], xy[2 * i], xy[2 * i + 1]};
        if (on_segment(&s, px, py))
            return -1;
        if ((s.ay > py) != (s.by > py)) {
            double o = orient(s.ax, s.ay, s.bx, s.by, px, py);
            if ((o > 0) == (s.by > s.ay))
                inside ^= 1;
        }
    }
    return inside;
}

/* Point in polygon p (shell minus holes): 1 inside, 0 outside, -1 on a boundary. */
static int poly_locate(const struct fence *f, size_t p, double px, double py)
{
    const struct poly *pg = &f->polys[p];
    int in = 0;
    for (size_t r = 0; r < pg->nring; r++) {
        const struct ring *rg = &f->rings[pg->first_ring + r];
        int l = ring_locate(f->xy + 2 * rg->first, rg->n, px, py);
        if (l < 0)
            return -1;
        in ^= l;
    }
    return in;
}

/* ---------------------------------------------------------------------------------------- */
/* Parsing. */

struct ctx {
    const char *label;
    size_t feature;
    char *err;
    size_t file_vertices;
    fence_set *set;  /* receives the notes of what was ignored */
    double max_span; /* degrees an area fence may span */
    bool no_grid;    /* a region: few queries, so no distance grid (every query scans) */
};

static int refuse(struct ctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(struct ctx *c, int rc, const char *fmt, ...)
{
    char msg[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rc_fail(c->err, rc, "%s: feature %zu: %s", c->label, c->feature, msg);
}

enum { SHOWN_LEN = 41 };

/* A file-supplied name as it may appear in a one-line message: control characters replaced
 * by '?', at most SHOWN_LEN - 1 bytes. */
static const char *shown(const char *s, char *buf)
{
    size_t i = 0;
    for (; s[i] && i < SHOWN_LEN - 1; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    buf[i] = '\0';
    return buf;
}

/* Remembers that something of the file was ignored (the caller decides whether to say so). */
static void note_ignored(struct ctx *c, bool in_feature, const char *kind, const char *name)
{
    char sb[SHOWN_LEN];
    fence_set *set = c->set;
    if (set->nignored < FENCE_MAX_NOTES) {
        char *note = set->notes[set->nignored];
        if (in_feature)
            snprintf(note, FENCE_NOTE_LEN, "feature %zu: %s '%s'", c->feature, kind,
                     shown(name, sb));
        else
            snprintf(note, FENCE_NOTE_LEN, "%s '%s'", kind, shown(name, sb));
    }
    set->nignored++;
}

/* The names GeoJSON 2008 and GDAL give WGS-84 longitude/latitude (GDAL writes the first for
 * EPSG:4326 data; GeoJSON 2008 positions are x, y whatever the CRS's own axis order). */
static const char *const CRS_WGS84[] = {
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "urn:ogc:def:crs:EPSG::4326",
    "urn:ogc:def:crs:EPSG:6.6:4326",
    "EPSG:4326",
    "OGC:CRS84",
    "CRS84",
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
};

/* A pre-RFC "crs" member (GDAL writes one by default): WGS-84 longitude/latitude changes
 * nothing and is ignored; any other CRS would change what the numbers mean, so it is refused
 * with its name. */
static int check_crs(struct ctx *c, const cJSON *crs, bool in_feature)
{
    char sb[SHOWN_LEN], quoted[SHOWN_LEN + 2];
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(crs, "properties");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(crs, "type");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(props, "name");
    const char *what = "without a name";
    if (cJSON_IsString(type) && strcmp(type->valuestring, "name") == 0 && cJSON_IsString(name)) {
        for (size_t i = 0; i < sizeof CRS_WGS84 / sizeof CRS_WGS84[0]; i++) {
            if (strcmp(name->valuestring, CRS_WGS84[i]) == 0) {
                note_ignored(c, in_feature, "member", "crs");
                return 0;
            }
        }
        snprintf(quoted, sizeof quoted, "'%s'", shown(name->valuestring, sb));
        what = quoted;
    } else if (cJSON_IsNull(crs)) {
        what = "null (no CRS)";
    }
#define CRS_REFUSED                                                                                \
    "crs %s is not WGS-84 longitude/latitude: reproject to EPSG:4326 (ogr2ogr -t_srs "             \
    "EPSG:4326), or for GCJ-02/BD-09 drop the crs and declare properties.datum"
    if (in_feature)
        return refuse(c, RC_INVAL, CRS_REFUSED, what);
    char msg[ERR_LEN];
    snprintf(msg, sizeof msg, CRS_REFUSED, what);
    return rc_fail(c->err, RC_INVAL, "%s: %s", c->label, msg);
#undef CRS_REFUSED
}

/* The members of obj we read (known[]) appear once; "crs" is checked; every other member is
 * foreign (RFC 7946 §6.1) and only noted. */
static int check_members(struct ctx *c, const cJSON *obj, bool in_feature,
                         const char *const *known_names, size_t nknown)
{
    char sb[SHOWN_LEN];
    for (const cJSON *m = obj->child; m; m = m->next) {
        bool known = false;
        for (size_t i = 0; i < nknown; i++)
            known = known || strcmp(m->string, known_names[i]) == 0;
        if (!known && strcmp(m->string, "crs") == 0) {
            int rc = check_crs(c, m, in_feature);
            if (rc)
                return rc;
            continue;
        }
        if (!known) {
            note_ignored(c, in_feature, "member", m->string);
            continue;
        }
        for (const cJSON *o = m->next; o; o = o->next)
            if (strcmp(o->string, m->string) == 0) {
                if (in_feature)
                    return refuse(c, RC_INVAL, "duplicate member '%s'", shown(m->string, sb));
                return rc_fail(c->err, RC_INVAL, "%s: duplicate member '%s' in the collection",
                               c->label, shown(m->string, sb));
            }
    }
    return 0;
}

/* The properties a fence may carry: name, type, bounds, default (docs/FENCES.md). */
enum prop_type { PROP_STRING, PROP_NUMBER };
enum prop_key { P_ID, P_NAME, P_DATUM, P_TOLERANCE, P_RADIUS, P_COUNT };
static const struct prop_spec {
    const char *key;
    enum prop_type type;
    bool required;
    double min, max; /* numbers: closed range (radius: min exclusive); strings: byte length */
    double dflt;
    const char *help;
} PROPS[P_COUNT] = {
    [P_ID] = {"id", PROP_STRING, true, 1, FENCE_MAX_ID, 0, "unique fence id"},
    [P_NAME] = {"name", PROP_STRING, false, 0, FENCE_MAX_NAME, 0, "venue name"},
    [P_DATUM] = {"datum", PROP_STRING, false, 1, 16, 0, "WGS-84 (default), GCJ-02 or BD-09"},
    [P_TOLERANCE] = {"tolerance_m", PROP_NUMBER, false, 0, FENCE_MAX_TOLERANCE_M, 0,
                     "widens the fence (metres)"},
    [P_RADIUS] = {"radius_m", PROP_NUMBER, false, 0, FENCE_MAX_RADIUS_M, 0,
                  "circle radius (metres), Point geometry only"},
};

struct props {
    const cJSON *item[P_COUNT];
};

static int parse_props(struct ctx *c, const cJSON *obj, struct props *pr)
{
    memset(pr, 0, sizeof *pr);
    if (!cJSON_IsObject(obj))
        return refuse(c, RC_INVAL, "properties must be an object");
    for (const cJSON *m = obj->child; m; m = m->next) {
        size_t k = 0;
        while (k < P_COUNT && strcmp(m->string, PROPS[k].key) != 0)
            k++;
        if (k == P_COUNT) {
            /* Properties are free-form (RFC 7946 §3.2): not ours, not read. */
            note_ignored(c, true, "property", m->string);
            continue;
        }
        if (pr->item[k])
            return refuse(c, RC_INVAL, "duplicate property '%s'", PROPS[k].key);
        const struct prop_spec *sp = &PROPS[k];
        /* GDAL writes null for an unset field: an optional property left out. */
        if (cJSON_IsNull(m) && !sp->required)
            continue;
        if (sp->type == PROP_STRING) {
            if (!cJSON_IsString(m))
                return refuse(c, RC_INVAL, "property '%s' must be a string", sp->key);
            size_t len = strlen(m->valuestring);
            if ((double)len < sp->min || (double)len > sp->max)
                return refuse(c, RC_INVAL, "property '%s' must be %.0f to %.0f bytes", sp->key,
                              sp->min, sp->max);
            for (const unsigned char *s = (const unsigned char *)m->valuestring; *s; s++)
                if (*s < 0x20 || *s == 0x7f)
                    return refuse(c, RC_INVAL, "property '%s' holds a control character", sp->key);
        } else {
            if (!cJSON_IsNumber(m))
                return refuse(c, RC_INVAL, "property '%s' must be a number", sp->key);
            double v = m->valuedouble;
            bool ok = isfinite(v) && v <= sp->max && (k == P_RADIUS ? v > sp->min : v >= sp->min);
            if (!ok)
                return refuse(c, RC_INVAL, "property '%s' is %g, outside %s%g, %g]", sp->key, v,
                              k == P_RADIUS ? "(" : "[", sp->min, sp->max);
        }
        pr->item[k] = m;
    }
    for (size_t k = 0; k < P_COUNT; k++)
        if (PROPS[k].required && !pr->item[k])
            return refuse(c, RC_INVAL, "property '%s' is missing", PROPS[k].key);
    return 0;
}

/* A position: [lon, lat] or [lon, lat, altitude], finite, in range. */
static int parse_position(struct ctx *c, const cJSON *pos, const char *where, size_t k, double *lon,
                          double *lat)
{
    int n = cJSON_GetArraySize(pos);
    if (!cJSON_IsArray(pos) || n < 2 || n > 3)
        return refuse(c, RC_INVAL, "%sposition %zu must be [longitude, latitude]", where, k);
    for (const cJSON *v = pos->child; v; v = v->next)
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return refuse(c, RC_INVAL, "%sposition %zu holds a non-finite or non-number value",
                          where, k);
    *lon = pos->child->valuedouble;
    *lat = pos->child->next->valuedouble;
    if (*lat < -90.0 || *lat > 90.0 || *lon < -180.0 || *lon > 180.0)
        return refuse(c, RC_INVAL, "%sposition %zu is out of range (longitude %g, latitude %g)",
                      where, k, *lon, *lat);
    return 0;
}

/* Converts a position to WGS-84 in place. */
static int to_wgs84(struct ctx *c, enum datum d, const char *where, size_t k, double *lon,
                    double *lat)
{
    if (d == DATUM_WGS84)
        return 0;
    char cerr[ERR_LEN] = "";
    double olat, olon;
    if (datum_convert(d, DATUM_WGS84, *lat, *lon, &olat, &olon, cerr) != 0)
        return refuse(c, RC_INVAL, "%sposition %zu: %s", where, k, cerr);
    *lat = olat;
    *lon = olon;
    return 0;
}

/* Counts the vertices and rings of a Polygon's or MultiPolygon's coordinates, checking the
 * array shapes and limits, so that storage is allocated once. */
static int count_polygon(struct ctx *c, const cJSON *rings, const char *pwhere, size_t *nring,
                         size_t *nvert)
{
    if (!cJSON_IsArray(rings))
        return refuse(c, RC_INVAL, "%scoordinates must be an array of rings", pwhere);
    int nr = cJSON_GetArraySize(rings);
    if (nr < 1)
        return refuse(c, RC_INVAL, "%shas no rings", pwhere);
    if (nr > FENCE_MAX_RINGS)
        return refuse(c, RC_LIMIT, "%shas more than %d rings", pwhere, FENCE_MAX_RINGS);
    size_t r = 0;
    for (const cJSON *ring = rings->child; ring; ring = ring->next, r++) {
        if (!cJSON_IsArray(ring))
            return refuse(c, RC_INVAL, "%sring %zu must be an array of positions", pwhere, r);
        int np = cJSON_GetArraySize(ring);
        if (np < 4)
            return refuse(c, RC_INVAL, "%sring %zu has %d positions, fewer than 4", pwhere, r, np);
        *nvert += (size_t)np;
        c->file_vertices += (size_t)np;
        if (*nvert > FENCE_MAX_FENCE_VERTICES)
            return refuse(c, RC_LIMIT, "more than %d positions", FENCE_MAX_FENCE_VERTICES);
        if (c->file_vertices > FENCE_MAX_FILE_VERTICES)
            return refuse(c, RC_LIMIT, "the file holds more than %d positions",
                          FENCE_MAX_FILE_VERTICES);
    }
    *nring += (size_t)nr;
    return 0;
}

/* Reads, converts and stores the rings of one polygon. */
static int load_polygon(struct ctx *c, struct fence *f, const cJSON *rings, const char *pwhere)
{
    struct poly *pg = &f->polys[f->npoly++];
    pg->first_ring = f->nring;
    pg->nring = 0;
    size_t r = 0;
    for (const cJSON *ring = rings->child; ring; ring = ring->next, r++) {
        char where[WHERE_LEN];
        snprintf(where, sizeof where, "%sring %zu ", pwhere, r);
        struct ring *rg = &f->rings[f->nring++];
        pg->nring++;
        rg->first = f->nvert;
        rg->n = 0;
        double first_lon = 0, first_lat = 0, lon = 0, lat = 0;
        size_t k = 0;
        for (const cJSON *pos = ring->child; pos; pos = pos->next, k++) {
            int rc = parse_position(c, pos, where, k, &lon, &lat);
            if (rc)
                return rc;
            if (k == 0) {
                first_lon = lon;
                first_lat = lat;
            }
            if (!pos->next) /* the closing position repeats the first */
                break;
            rc = to_wgs84(c, f->datum, where, k, &lon, &lat);
            if (rc)
                return rc;
            if (rg->n > 0 && f->xy[2 * f->nvert - 2] == lon && f->xy[2 * f->nvert - 1] == lat)
                continue; /* a repeated position adds no edge */
            f->xy[2 * f->nvert] = lon;
            f->xy[2 * f->nvert + 1] = lat;
            f->nvert++;
            rg->n++;
        }
        if (lon != first_lon || lat != first_lat)
            return refuse(c, RC_INVAL, "%sis not closed (last position differs from the first)",
                          where);
        const double *v = f->xy + 2 * rg->first;
        while (rg->n > 1 && v[2 * (rg->n - 1)] == v[0] && v[2 * (rg->n - 1) + 1] == v[1])
            rg->n--, f->nvert--;
        if (rg->n < 3)
            return refuse(c, RC_INVAL, "%shas fewer than 3 distinct positions", where);
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Topology: simple rings, holes inside shells and apart, polygons disjoint. */

struct tseg {
    struct seg s;
    double minx, maxx;
    uint32_t poly, ring, idx, n; /* polygon, ring within polygon, edge index, ring length */
};

static int cmp_tseg(const void *a, const void *b)
{
    double x = ((const struct tseg *)a)->minx, y = ((const struct tseg *)b)->minx;
    return (x > y) - (x < y);
}

static void ring_label(const struct fence *f, uint32_t p, uint32_t r, char *buf, size_t len)
{
    if (f->npoly > 1)
        snprintf(buf, len, "polygon %u ring %u", p, r);
    else
        snprintf(buf, len, "ring %u", r);
}

static int check_pair(struct ctx *c, const struct fence *f, const struct tseg *a,
                      const struct tseg *b)
{
    char la[WHERE_LEN];
    bool same_ring = a->poly == b->poly && a->ring == b->ring;
    if (same_ring) {
        uint32_t i = a->idx, j = b->idx, n = a->n;
        if ((i + 1) % n == j || (j + 1) % n == i) {
            /* Adjacent edges share one end and must not overlap beyond it (a spike). */
            const struct tseg *in = (i + 1) % n == j ? a : b, *outg = in == a ? b : a;
            if (on_segment(&in->s, outg->s.bx, outg->s.by) ||
                on_segment(&outg->s, in->s.ax, in->s.ay)) {
                ring_label(f, a->poly, a->ring, la, sizeof la);
                return refuse(c, RC_INVAL, "%s intersects itself (folds back at position %u)", la,
                              outg->idx);
            }
            return 0;
        }
    }
    if (!segs_intersect(&a->s, &b->s))
        return 0;
    if (a->poly == b->poly && !same_ring)
        snprintf(la, sizeof la, "polygon %u", a->poly);
    else
        ring_label(f, a->poly, a->ring, la, sizeof la);
    if (same_ring)
        return refuse(c, RC_INVAL, "%s intersects itself (edges %u and %u)", la,
                      a->idx < b->idx ? a->idx : b->idx, a->idx < b->idx ? b->idx : a->idx);
    if (a->poly == b->poly)
        return refuse(c, RC_INVAL, "ring %u and ring %u of %s intersect",
                      a->ring < b->ring ? a->ring : b->ring, a->ring < b->ring ? b->ring : a->ring,
                      f->npoly > 1 ? la : "the polygon");
    return refuse(c, RC_INVAL, "polygon %u and polygon %u intersect",
                  a->poly < b->poly ? a->poly : b->poly, a->poly < b->poly ? b->poly : a->poly);
}

static int check_topology(struct ctx *c, const struct fence *f)
{
    int rc = 0;
    struct tseg *t = malloc(f->nvert * sizeof *t);
    if (!t)
        return rc_fail(c->err, RC_NOMEM, "%s: out of memory", c->label);
    size_t n = 0;
    for (uint32_t p = 0; p < f->npoly; p++) {
        const struct poly *pg = &f->polys[p];
        for (uint32_t r = 0; r < pg->nring; r++) {
            const struct ring *rg = &f->rings[pg->first_ring + r];
            const double *v = f->xy + 2 * rg->first;
            for (size_t i = 0; i < rg->n; i++) {
                size_t j = (i + 1) % rg->n;
                struct tseg *s = &t[n++];
                s->s = (struct seg){v[2 * i], v[2 * i + 1], v[2 * j], v[2 * j + 1]};
                s->minx = fmin(s->s.ax, s->s.bx);
                s->maxx = fmax(s->s.ax, s->s.bx);
                s->poly = p;
                s->ring = r;
                s->idx = (uint32_t)i;
                s->n = (uint32_t)rg->n;
            }
        }
    }
    qsort(t, n, sizeof *t, cmp_tseg);
    for (size_t i = 0; i < n && rc == 0; i++) {
        double aminy = fmin(t[i].s.ay, t[i].s.by), amaxy = fmax(t[i].s.ay, t[i].s.by);
        for (size_t j = i + 1; j < n && t[j].minx <= t[i].maxx && rc == 0; j++) {
            double bminy = fmin(t[j].s.ay, t[j].s.by), bmaxy = fmax(t[j].s.ay, t[j].s.by);
            if (bminy > amaxy || bmaxy < aminy)
                continue;
            rc = check_pair(c, f, &t[i], &t[j]);
        }
    }
    free(t);
    if (rc)
        return rc;

    /* No edges meet, so each ring lies wholly inside or outside another: one vertex tells. */
    char la[WHERE_LEN];
    for (size_t p = 0; p < f->npoly; p++) {
        const struct poly *pg = &f->polys[p];
        const struct ring *shell = &f->rings[pg->first_ring];
        const double *sv = f->xy + 2 * shell->first;
        double area2 = 0;
        for (size_t i = 0, j = shell->n - 1; i < shell->n; j = i++)
            area2 += (sv[2 * j] - sv[0]) * (sv[2 * i + 1] - sv[1]) -
                     (sv[2 * i] - sv[0]) * (sv[2 * j + 1] - sv[1]);
        if (area2 == 0.0) {
            ring_label(f, (uint32_t)p, 0, la, sizeof la);
            return refuse(c, RC_INVAL, "%s encloses no area", la);
        }
        for (size_t r = 1; r < pg->nring; r++) {
            const struct ring *h = &f->rings[pg->first_ring + r];
            const double *hv = f->xy + 2 * h->first;
            ring_label(f, (uint32_t)p, (uint32_t)r, la, sizeof la);
            if (ring_locate(sv, shell->n, hv[0], hv[1]) != 1)
                return refuse(c, RC_INVAL, "%s (a hole) is not inside ring 0", la);
            for (size_t s = 1; s < pg->nring; s++) {
                const struct ring *o = &f->rings[pg->first_ring + s];
                if (s != r && ring_locate(f->xy + 2 * o->first, o->n, hv[0], hv[1]) == 1)
                    return refuse(c, RC_INVAL, "%s (a hole) lies inside hole %zu", la, s);
            }
        }
        for (size_t q = 0; q < f->npoly; q++) {
            const double *qv = f->xy + 2 * f->rings[f->polys[q].first_ring].first;
            if (q != p && poly_locate(f, p, qv[0], qv[1]) == 1)
                return refuse(c, RC_INVAL, "polygon %zu lies inside polygon %zu", q, p);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Indexes. */

/* Planar distance from (px,py) to segment (ax,ay)-(bx,by), all in metres. */
static double plane_dist(double px, double py, double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay;
    double len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0;
    t = t < 0 ? 0 : (t > 1 ? 1 : t);
    double x = ax + t * dx - px, y = ay + t * dy - py;
    return sqrt(x * x + y * y);
}

static int build_strips(struct fence *f)
{
    size_t ns = 8 * f->nseg < STRIPS_MAX ? 8 * f->nseg : STRIPS_MAX;
    double h = (f->maxy - f->miny) / (double)ns;
    f->nstrip = ns;
    f->strip_inv_h = 1.0 / h;
    f->strip_start = calloc(ns + 1, sizeof *f->strip_start);
    if (!f->strip_start)
        return RC_NOMEM;
    /* A segment joins every strip its closed latitude range touches, widened by a hair so
     * rounding in the strip lookup never loses one: count per strip, then fill. */
    size_t *first = malloc(f->nseg * sizeof *first), *last = malloc(f->nseg * sizeof *last);
    if (!first || !last) {
        free(first);
        free(last);
        return RC_NOMEM;
    }
    double eps = 1e-6;
    for (size_t i = 0; i < f->nseg; i++) {
        double sy0 = (fmin(f->segs[i].ay, f->segs[i].by) - f->miny) / h - eps;
        double sy1 = (fmax(f->segs[i].ay, f->segs[i].by) - f->miny) / h + eps;
        first[i] = sy0 <= 0 ? 0 : (size_t)fmin(sy0, (double)(ns - 1));
        last[i] = sy1 <= 0 ? 0 : (size_t)fmin(sy1, (double)(ns - 1));
        for (size_t k = first[i]; k <= last[i]; k++)
            f->strip_start[k + 1]++;
    }
    for (size_t k = 0; k < ns; k++)
        f->strip_start[k + 1] += f->strip_start[k];
    size_t total = f->strip_start[ns];
    f->strip_segs = malloc((total ? total : 1) * sizeof *f->strip_segs);
    uint32_t *fill = calloc(ns, sizeof *fill);
    if (!f->strip_segs || !fill) {
        free(first);
        free(last);
        free(fill);
        return RC_NOMEM;
    }
    for (size_t i = 0; i < f->nseg; i++)
        for (size_t k = first[i]; k <= last[i]; k++)
            f->strip_segs[f->strip_start[k] + fill[k]++] = (uint32_t)i;
    free(first);
    free(last);
    free(fill);
    return 0;
}

/* Distance between an axis-aligned rectangle and a segment (metres), 0 when they meet. */
static double rect_seg_dist(double x0, double y0, double x1, double y1, const double *m)
{
    double ax = m[0], ay = m[1], bx = m[2], by = m[3];
    if ((ax >= x0 && ax <= x1 && ay >= y0 && ay <= y1) ||
        (bx >= x0 && bx <= x1 && by >= y0 && by <= y1))
        return 0.0;
    struct seg s = {ax, ay, bx, by};
    const struct seg sides[4] = {
        {x0, y0, x1, y0}, {x1, y0, x1, y1}, {x1, y1, x0, y1}, {x0, y1, x0, y0}};
    double d = INFINITY;
    for (int k = 0; k < 4; k++) {
        if (segs_intersect(&s, &sides[k]))
            return 0.0;
        d = fmin(d, plane_dist(sides[k].ax, sides[k].ay, ax, ay, bx, by));
    }
    for (int k = 0; k < 2; k++) {
        double px = k ? bx : ax, py = k ? by : ay;
        double dx = fmax(0.0, fmax(x0 - px, px - x1)), dy = fmax(0.0, fmax(y0 - py, py - y1));
        d = fmin(d, sqrt(dx * dx + dy * dy));
    }
    return d;
}

static int area_locate(const struct fence *f, double px, double py);

/* Squared distance between the rectangle and the bounding box of segment m (a lower bound of
 * their squared distance). */
static double box_gap2(double x0, double y0, double x1, double y1, const double *m)
{
    double sx0 = m[0] < m[2] ? m[0] : m[2], sx1 = m[0] < m[2] ? m[2] : m[0];
    double sy0 = m[1] < m[3] ? m[1] : m[3], sy1 = m[1] < m[3] ? m[3] : m[1];
    double dx = sx0 - x1 > x0 - sx1 ? sx0 - x1 : x0 - sx1;
    double dy = sy0 - y1 > y0 - sy1 ? sy0 - y1 : y0 - sy1;
    dx = dx > 0 ? dx : 0;
    dy = dy > 0 ? dy : 0;
    return dx * dx + dy * dy;
}

/* The distance grid: for every cell, the edges that can be nearest to a point in it, and
 * whether the whole cell is inside or outside (no edge comes near it) or mixed. */
static int build_grid(struct fence *f)
{
    struct geodesy_frame fr;
    double clat = 0.5 * (f->miny + f->maxy), clon = 0.5 * (f->minx + f->maxx);
    geodesy_frame_init(&fr, clat, clon);
    double w = (f->maxx - f->minx) * fr.kx, hgt = (f->maxy - f->miny) * fr.ky;
    double margin = fmax(GRID_MIN_MARGIN_M, GRID_MARGIN_SHARE * fmax(w, hgt));
    double gw = w + 2 * margin, gh = hgt + 2 * margin;
    /* As many cells as allowed: the finer they are, the fewer candidate edges each holds. */
    double cells = (double)CELLS_MAX;
    double side = sqrt(gw * gh / cells);
    size_t nx = (size_t)fmax(1.0, fmin(ceil(gw / side), (double)CELLS_MAX));
    size_t ny = (size_t)fmax(1.0, fmin(ceil(gh / side), (double)CELLS_MAX / (double)nx));
    f->gnx = nx;
    f->gny = ny;
    f->gx0 = f->minx - margin / fr.kx;
    f->gy0 = f->miny - margin / fr.ky;
    double cw = gw / (double)nx, ch = gh / (double)ny; /* metres */
    f->ginv_x = fr.kx / cw;
    f->ginv_y = fr.ky / ch;

    /* The frame at the centre misstates distances in the grid by a relative error below
     * delta (its x scale drifts by tan(lat) per radian of latitude); candidates keep that
     * slack twice over. */
    double dphi = (0.5 * hgt + margin) / 6.33e6;
    double tanl = fabs(tan(clat * DEG_RAD));
    double delta = 2.0 * ((tanl + 0.05) * dphi + dphi * dphi * (1 + tanl * tanl)) + 1e-6;
    double grow = (1 + delta) / (1 - delta);
    f->gdelta = delta;
    f->glat0 = f->gy0;
    f->glon0 = f->gx0;
    f->gkx = fr.kx;
    f->gky = fr.ky;

    /* Segments in the frame (metres from the grid origin). */
    double *m = malloc(f->nseg * 4 * sizeof *m);
    f->cell_start = calloc(nx * ny + 1, sizeof *f->cell_start);
    f->cell_state = calloc(nx * ny, sizeof *f->cell_state);
    f->fsegs = malloc(f->nseg * sizeof *f->fsegs);
    if (!m || !f->cell_start || !f->cell_state || !f->fsegs) {
        free(m);
        return RC_NOMEM;
    }
    for (size_t i = 0; i < f->nseg; i++) {
        m[4 * i] = (f->segs[i].ax - f->gx0) * fr.kx;
        m[4 * i + 1] = (f->segs[i].ay - f->gy0) * fr.ky;
        m[4 * i + 2] = (f->segs[i].bx - f->gx0) * fr.kx;
        m[4 * i + 3] = (f->segs[i].by - f->gy0) * fr.ky;
        struct fseg *q = &f->fsegs[i];
        q->ax = m[4 * i];
        q->ay = m[4 * i + 1];
        q->dx = m[4 * i + 2] - q->ax;
        q->dy = m[4 * i + 3] - q->ay;
        q->inv_len2 = 1.0 / (q->dx * q->dx + q->dy * q->dy);
        q->side = f->seg_side[i];
    }
    int rc = 0;
    size_t cap = 0, total = 0;
    double prev_reach = INFINITY;
    for (size_t cy = 0; cy < ny; cy++) {
        for (size_t cx = 0; cx < nx; cx++) {
            double x0 = (double)cx * cw, y0 = (double)cy * ch, x1 = x0 + cw, y1 = y0 + ch;
            /* The distance from a point to a segment is convex, so over the cell it peaks at
             * a corner: no point of the cell is farther than reach from its nearest edge. */
            /* Seeded from the previous cell: its nearest edge is at most one cell farther. */
            double reach = cx > 0 ? prev_reach + fmax(cw, ch) : INFINITY;
            for (size_t i = 0; i < f->nseg; i++) {
                const double *e = m + 4 * i;
                /* The farthest corner is at least as far as the cell's box is from the edge's
                 * box: such edges cannot lower reach. */
                if (box_gap2(x0, y0, x1, y1, e) >= reach * reach)
                    continue;
                double d = fmax(fmax(plane_dist(x0, y0, e[0], e[1], e[2], e[3]),
                                     plane_dist(x1, y0, e[0], e[1], e[2], e[3])),
                                fmax(plane_dist(x0, y1, e[0], e[1], e[2], e[3]),
                                     plane_dist(x1, y1, e[0], e[1], e[2], e[3])));
                reach = fmin(reach, d);
            }
            prev_reach = reach;
            reach = reach * grow + 1e-3;
            double keep = fmax(reach, CELL_CLEAR_M);
            size_t cell = cy * nx + cx;
            f->cell_start[cell] = (uint32_t)total;
            bool mixed = false;
            for (size_t i = 0; i < f->nseg; i++) {
                if (box_gap2(x0, y0, x1, y1, m + 4 * i) > keep * keep)
                    continue;
                double d = rect_seg_dist(x0, y0, x1, y1, m + 4 * i);
                mixed = mixed || d <= CELL_CLEAR_M;
                if (d > reach)
                    continue;
                if (total == cap) {
                    size_t ncap = cap ? 2 * cap : 256;
                    uint32_t *nb = realloc(f->cell_segs, ncap * sizeof *nb);
                    if (!nb) {
                        rc = RC_NOMEM;
                        goto out;
                    }
                    f->cell_segs = nb;
                    cap = ncap;
                }
                f->cell_segs[total++] = (uint32_t)i;
            }
            if (mixed) {
                f->cell_state[cell] = CELL_MIXED;
            } else {
                double lat = f->gy0 + 0.5 * (y0 + y1) / fr.ky,
                       lon = f->gx0 + 0.5 * (x0 + x1) / fr.kx;
                f->cell_state[cell] = area_locate(f, lon, lat) == 1 ? CELL_IN : CELL_OUT;
            }
        }
    }
    f->cell_start[nx * ny] = (uint32_t)total;
out:
    free(m);
    return rc;
}

/* Metres per degree at a latitude (the ellipsoid's radii of curvature, as geodesy.c has). */
static void scales_at(double lat, double *kx, double *ky)
{
    double s = sin(lat * DEG_RAD), c = cos(lat * DEG_RAD);
    double e2 = WGS84_F * (2.0 - WGS84_F);
    double w = 1.0 - e2 * s * s;
    double n = WGS84_A / sqrt(w);
    *kx = n * c * DEG_RAD;
    *ky = n * (1.0 - e2) / w * DEG_RAD;
}

/* Interpolates the scales over lat0 +- half (degrees) at Chebyshev nodes (Newton divided
 * differences). Over at most +-0.5 degree the error is below 1e-12 relative. */
static void scale_poly_init(struct scale_poly *p, double lat0, double half)
{
    double u[SCALE_DEGREE + 1];
    p->lat0 = lat0;
    for (int k = 0; k <= SCALE_DEGREE; k++) {
        u[k] = half * cos((2.0 * k + 1.0) * M_PI / (2.0 * (SCALE_DEGREE + 1)));
        scales_at(lat0 + u[k], &p->cx[k], &p->cy[k]);
    }
    for (int j = 1; j <= SCALE_DEGREE; j++)
        for (int k = SCALE_DEGREE; k >= j; k--) {
            p->cx[k] = (p->cx[k] - p->cx[k - 1]) / (u[k] - u[k - j]);
            p->cy[k] = (p->cy[k] - p->cy[k - 1]) / (u[k] - u[k - j]);
        }
    for (int k = 0; k < SCALE_DEGREE; k++)
        p->node[k] = u[k];
}

static void scale_poly_eval(const struct scale_poly *p, double lat, double *kx, double *ky)
{
    double u = lat - p->lat0;
    double x = p->cx[SCALE_DEGREE], y = p->cy[SCALE_DEGREE];
    for (int k = SCALE_DEGREE - 1; k >= 0; k--) {
        x = p->cx[k] + (u - p->node[k]) * x;
        y = p->cy[k] + (u - p->node[k]) * y;
    }
    *kx = x;
    *ky = y;
}

static void set_reference_latitude(struct fence *f, double lat)
{
    f->flat0 = lat;
    /* The near region's latitudes: the box plus NEAR_MARGIN_DEG. */
    double half = fmax(lat - f->miny, f->maxy - lat) + NEAR_MARGIN_DEG + 0.01;
    scale_poly_init(&f->poly, lat, half);
}

static int build_index(struct ctx *c, struct fence *f)
{
    f->segs = malloc(f->nvert * sizeof *f->segs);
    if (!f->segs)
        return rc_fail(c->err, RC_NOMEM, "%s: out of memory", c->label);
    f->seg_side = malloc(f->nvert * sizeof *f->seg_side);
    if (!f->seg_side)
        return rc_fail(c->err, RC_NOMEM, "%s: out of memory", c->label);
    f->nseg = 0;
    for (size_t p = 0; p < f->npoly; p++) {
        for (size_t r = 0; r < f->polys[p].nring; r++) {
            const struct ring *rg = &f->rings[f->polys[p].first_ring + r];
            const double *v = f->xy + 2 * rg->first;
            size_t n = rg->n;
            /* A counter-clockwise shell has its interior on the left; a hole the other way. */
            double area2 = 0;
            for (size_t i = 0, j = n - 1; i < n; j = i++)
                area2 += (v[2 * j] - v[0]) * (v[2 * i + 1] - v[1]) -
                         (v[2 * i] - v[0]) * (v[2 * j + 1] - v[1]);
            double side = (area2 > 0) == (r == 0) ? 1.0 : -1.0;
            for (size_t i = 0; i < n; i++) {
                size_t j = (i + 1) % n;
                f->seg_side[f->nseg] = side;
                f->segs[f->nseg++] = (struct seg){v[2 * i], v[2 * i + 1], v[2 * j], v[2 * j + 1]};
            }
        }
    }
    set_reference_latitude(f, 0.5 * (f->miny + f->maxy));
    int rc = build_strips(f);
    if (rc == 0 && !c->no_grid)
        rc = build_grid(f);
    if (rc)
        return rc_fail(c->err, rc, "%s: out of memory", c->label);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Features. */

static void fence_clear(struct fence *f)
{
    free(f->xy);
    free(f->rings);
    free(f->polys);
    free(f->segs);
    free(f->fsegs);
    free(f->seg_side);
    free(f->strip_start);
    free(f->strip_segs);
    free(f->cell_start);
    free(f->cell_segs);
    free(f->cell_state);
    memset(f, 0, sizeof *f);
}

static int bbox_and_limits(struct ctx *c, struct fence *f)
{
    f->minx = f->miny = INFINITY;
    f->maxx = f->maxy = -INFINITY;
    for (size_t i = 0; i < f->nvert; i++) {
        f->minx = fmin(f->minx, f->xy[2 * i]);
        f->maxx = fmax(f->maxx, f->xy[2 * i]);
        f->miny = fmin(f->miny, f->xy[2 * i + 1]);
        f->maxy = fmax(f->maxy, f->xy[2 * i + 1]);
    }
    if (f->maxx - f->minx > c->max_span || f->maxy - f->miny > c->max_span)
        return refuse(c, RC_LIMIT, "spans more than %g degrees (or crosses the antimeridian)",
                      c->max_span);
    if (fabs(f->miny) > FENCE_MAX_ABS_LAT || fabs(f->maxy) > FENCE_MAX_ABS_LAT)
        return refuse(c, RC_LIMIT, "lies beyond latitude %g", FENCE_MAX_ABS_LAT);
    return 0;
}

static int load_circle(struct ctx *c, struct fence *f, const cJSON *coords, const cJSON *radius)
{
    if (!radius)
        return refuse(c, RC_INVAL, "a Point fence needs property 'radius_m' (> 0)");
    double lon, lat;
    int rc = parse_position(c, coords, "", 0, &lon, &lat);
    if (rc == 0)
        rc = to_wgs84(c, f->datum, "", 0, &lon, &lat);
    if (rc)
        return rc;
    if (fabs(lat) > FENCE_MAX_ABS_LAT)
        return refuse(c, RC_LIMIT, "lies beyond latitude %g", FENCE_MAX_ABS_LAT);
    f->kind = FENCE_CIRCLE;
    f->clat = lat;
    f->clon = lon;
    f->radius_m = radius->valuedouble;
    struct geodesy_frame fr;
    geodesy_frame_init(&fr, lat, lon);
    /* The box encloses the circle with 1 % to spare for the frame's scale error. */
    double dlat = 1.01 * f->radius_m / fr.ky;
    double dlon = 1.01 * f->radius_m / fr.kx;
    if (fabs(lat) + dlat > FENCE_MAX_ABS_LAT || 2 * dlon > FENCE_MAX_SPAN_DEG ||
        lon - dlon < -180.0 || lon + dlon > 180.0)
        return refuse(c, RC_LIMIT, "circle spans more than %g degrees or crosses the antimeridian",
                      FENCE_MAX_SPAN_DEG);
    f->miny = lat - dlat;
    f->maxy = lat + dlat;
    f->minx = lon - dlon;
    f->maxx = lon + dlon;
    set_reference_latitude(f, lat);
    return 0;
}

static int load_feature(struct ctx *c, const cJSON *feat, struct fence *f)
{
    static const char *const feature_members[] = {"type", "geometry", "properties"};
    static const char *const geometry_members[] = {"type", "coordinates"};
    char sb[SHOWN_LEN];
    if (!cJSON_IsObject(feat))
        return refuse(c, RC_INVAL, "a feature must be an object");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(feat, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "Feature") != 0)
        return refuse(c, RC_INVAL, "type must be \"Feature\"");
    int rc = check_members(c, feat, true, feature_members, 3);
    if (rc)
        return rc;
    struct props pr;
    rc = parse_props(c, cJSON_GetObjectItemCaseSensitive(feat, "properties"), &pr);
    if (rc)
        return rc;
    snprintf(f->id, sizeof f->id, "%s", pr.item[P_ID]->valuestring);
    snprintf(f->name, sizeof f->name, "%s", pr.item[P_NAME] ? pr.item[P_NAME]->valuestring : "");
    f->datum = DATUM_WGS84;
    if (pr.item[P_DATUM] && datum_parse(pr.item[P_DATUM]->valuestring, &f->datum) != 0)
        return refuse(c, RC_INVAL, "unknown datum '%s' (WGS-84, GCJ-02 or BD-09)",
                      pr.item[P_DATUM]->valuestring);
    f->tolerance_m = pr.item[P_TOLERANCE] ? pr.item[P_TOLERANCE]->valuedouble : 0.0;

    const cJSON *geom = cJSON_GetObjectItemCaseSensitive(feat, "geometry");
    if (!cJSON_IsObject(geom))
        return refuse(c, RC_INVAL, "geometry must be an object");
    rc = check_members(c, geom, true, geometry_members, 2);
    if (rc)
        return rc;
    const cJSON *gtype = cJSON_GetObjectItemCaseSensitive(geom, "type");
    const cJSON *coords = cJSON_GetObjectItemCaseSensitive(geom, "coordinates");
    if (!cJSON_IsString(gtype))
        return refuse(c, RC_INVAL, "geometry type is missing");
    bool multi = strcmp(gtype->valuestring, "MultiPolygon") == 0;
    if (strcmp(gtype->valuestring, "GeometryCollection") == 0)
        return refuse(c, RC_INVAL,
                      "a GeometryCollection is not a fence: make each polygon a "
                      "feature of its own, or join them in one MultiPolygon");
    if (!coords)
        return refuse(c, RC_INVAL, "geometry coordinates are missing");
    if (strcmp(gtype->valuestring, "Point") == 0)
        return load_circle(c, f, coords, pr.item[P_RADIUS]);
    if (!multi && strcmp(gtype->valuestring, "Polygon") != 0)
        return refuse(c, RC_INVAL,
                      "geometry type '%s' is not a fence (Polygon, MultiPolygon "
                      "or Point with radius_m)",
                      shown(gtype->valuestring, sb));
    if (pr.item[P_RADIUS])
        return refuse(c, RC_INVAL, "property 'radius_m' applies to a Point only");

    size_t npoly = 1, nring = 0, nvert = 0;
    if (multi) {
        if (!cJSON_IsArray(coords) || cJSON_GetArraySize(coords) < 1)
            return refuse(c, RC_INVAL, "MultiPolygon coordinates must be a non-empty array");
        if (cJSON_GetArraySize(coords) > FENCE_MAX_POLYGONS)
            return refuse(c, RC_LIMIT, "more than %d polygons", FENCE_MAX_POLYGONS);
        npoly = (size_t)cJSON_GetArraySize(coords);
        size_t p = 0;
        for (const cJSON *pg = coords->child; pg; pg = pg->next, p++) {
            char pw[WHERE_LEN];
            snprintf(pw, sizeof pw, "polygon %zu ", p);
            if ((rc = count_polygon(c, pg, pw, &nring, &nvert)) != 0)
                return rc;
        }
    } else if ((rc = count_polygon(c, coords, "", &nring, &nvert)) != 0) {
        return rc;
    }
    f->kind = FENCE_AREA;
    f->xy = malloc(nvert * 2 * sizeof *f->xy);
    f->rings = calloc(nring, sizeof *f->rings);
    f->polys = calloc(npoly, sizeof *f->polys);
    if (!f->xy || !f->rings || !f->polys)
        return rc_fail(c->err, RC_NOMEM, "%s: out of memory", c->label);
    if (multi) {
        size_t p = 0;
        for (const cJSON *pg = coords->child; pg; pg = pg->next, p++) {
            char pw[WHERE_LEN];
            snprintf(pw, sizeof pw, "polygon %zu ", p);
            if ((rc = load_polygon(c, f, pg, pw)) != 0)
                return rc;
        }
    } else if ((rc = load_polygon(c, f, coords, "")) != 0) {
        return rc;
    }
    if ((rc = bbox_and_limits(c, f)) != 0 || (rc = check_topology(c, f)) != 0)
        return rc;
    return build_index(c, f);
}

static int cmp_id(const void *a, const void *b)
{
    const struct fence *x = *(const struct fence *const *)a, *y = *(const struct fence *const *)b;
    return strcmp(x->id, y->id);
}

static int parse_set(const char *data, size_t len, const char *label, bool region, fence_set **out,
                     char *err);

int fence_set_parse(const char *data, size_t len, const char *label, fence_set **out, char *err)
{
    return parse_set(data, len, label, false, out, err);
}

int fence_set_parse_region(const char *data, size_t len, const char *label, fence_set **out,
                           char *err)
{
    return parse_set(data, len, label, true, out, err);
}

static int parse_set(const char *data, size_t len, const char *label, bool region, fence_set **out,
                     char *err)
{
    static const char *const collection_members[] = {"type", "features"};
    struct ctx c = {.label = label ? label : "fence",
                    .err = err,
                    .max_span = region ? FENCE_MAX_REGION_SPAN_DEG : FENCE_MAX_SPAN_DEG,
                    .no_grid = region};
    fence_set *set = NULL;
    const struct fence **order = NULL;
    cJSON *root = NULL;
    int rc = 0;
    if (len > FENCE_MAX_FILE_BYTES) {
        rc = rc_fail(err, RC_LIMIT, "%s: larger than %d bytes", c.label, FENCE_MAX_FILE_BYTES);
        goto out;
    }
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (!root) {
        size_t at = end && end >= data ? (size_t)(end - data) : 0;
        rc = rc_fail(err, RC_INVAL, "%s: not valid JSON (near byte %zu)", c.label, at);
        goto out;
    }
    set = calloc(1, sizeof *set);
    if (!set) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", c.label);
        goto out;
    }
    c.set = set;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *features = NULL;
    size_t n = 1;
    if (cJSON_IsObject(root) && cJSON_IsString(type) &&
        strcmp(type->valuestring, "FeatureCollection") == 0) {
        features = cJSON_GetObjectItemCaseSensitive(root, "features");
        c.feature = 0;
        if ((rc = check_members(&c, root, false, collection_members, 2)) != 0)
            goto out;
        if (!cJSON_IsArray(features) || cJSON_GetArraySize(features) < 1) {
            rc = rc_fail(err, RC_INVAL, "%s: 'features' must be a non-empty array", c.label);
            goto out;
        }
        if (cJSON_GetArraySize(features) > FENCE_MAX_FEATURES) {
            rc = rc_fail(err, RC_LIMIT, "%s: more than %d features", c.label, FENCE_MAX_FEATURES);
            goto out;
        }
        n = (size_t)cJSON_GetArraySize(features);
    } else if (!cJSON_IsObject(root) || !cJSON_IsString(type) ||
               strcmp(type->valuestring, "Feature") != 0) {
        rc = rc_fail(err, RC_INVAL, "%s: not a GeoJSON FeatureCollection or Feature", c.label);
        goto out;
    }

    set->fences = calloc(n, sizeof *set->fences);
    if (!set->fences) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", c.label);
        goto out;
    }
    const cJSON *feat = features ? features->child : root;
    for (size_t i = 0; i < n; i++, feat = feat ? feat->next : NULL) {
        c.feature = i;
        set->n = i + 1;
        if ((rc = load_feature(&c, feat, &set->fences[i])) != 0)
            goto out;
    }
    /* Duplicate ids: sort pointers by id, compare neighbours. */
    order = malloc(n * sizeof *order);
    if (!order) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", c.label);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &set->fences[i];
    qsort(order, n, sizeof *order, cmp_id);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(order[i - 1]->id, order[i]->id) == 0) {
            size_t a = (size_t)(order[i - 1] - set->fences), b = (size_t)(order[i] - set->fences);
            c.feature = a > b ? a : b;
            rc = refuse(&c, RC_INVAL, "duplicate id '%s' (also feature %zu)", order[i]->id,
                        a < b ? a : b);
            goto out;
        }
    }
    *out = set;
    set = NULL;
out:
    free(order);
    fence_set_free(set);
    cJSON_Delete(root);
    return rc;
}

int fence_set_load(const char *path, fence_set **out, char *err)
{
    char *buf = NULL;
    size_t n = 0;
    int rc = file_read_bounded(path, FENCE_MAX_FILE_BYTES, &buf, &n, err);
    if (rc == 0)
        rc = fence_set_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}

void fence_set_free(fence_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        fence_clear(&set->fences[i]);
    free(set->fences);
    free(set);
}

size_t fence_set_ignored_count(const fence_set *set)
{
    return set->nignored;
}

const char *fence_set_ignored(const fence_set *set, size_t i)
{
    return i < set->nignored && i < FENCE_MAX_NOTES ? set->notes[i] : NULL;
}

size_t fence_set_count(const fence_set *set)
{
    return set->n;
}

const struct fence *fence_set_at(const fence_set *set, size_t i)
{
    return i < set->n ? &set->fences[i] : NULL;
}

const struct fence *fence_set_find(const fence_set *set, const char *id)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->fences[i].id, id) == 0)
            return &set->fences[i];
    return NULL;
}

const char *fence_id(const struct fence *f)
{
    return f->id;
}

const char *fence_name(const struct fence *f)
{
    return f->name;
}

enum datum fence_datum(const struct fence *f)
{
    return f->datum;
}

double fence_tolerance_m(const struct fence *f)
{
    return f->tolerance_m;
}

enum fence_kind fence_kind_of(const struct fence *f)
{
    return f->kind;
}

int fence_circle(const struct fence *f, double *lat, double *lon, double *radius_m)
{
    if (f->kind != FENCE_CIRCLE)
        return RC_INVAL;
    *lat = f->clat;
    *lon = f->clon;
    *radius_m = f->radius_m;
    return 0;
}

size_t fence_polygon_count(const struct fence *f)
{
    return f->npoly;
}

size_t fence_ring_count(const struct fence *f, size_t p)
{
    return p < f->npoly ? f->polys[p].nring : 0;
}

const double *fence_ring(const struct fence *f, size_t p, size_t r, size_t *n)
{
    if (p >= f->npoly || r >= f->polys[p].nring) {
        *n = 0;
        return NULL;
    }
    const struct ring *rg = &f->rings[f->polys[p].first_ring + r];
    *n = rg->n;
    return f->xy + 2 * rg->first;
}

void fence_bbox(const struct fence *f, double *min_lat, double *min_lon, double *max_lat,
                double *max_lon)
{
    *min_lat = f->miny;
    *min_lon = f->minx;
    *max_lat = f->maxy;
    *max_lon = f->maxx;
}

/* ---------------------------------------------------------------------------------------- */
/* Queries. */

/* Containment by the strip index: 1 inside, 0 outside, -1 on the boundary. */
static int area_locate(const struct fence *f, double px, double py)
{
    if (px < f->minx || px > f->maxx || py < f->miny || py > f->maxy)
        return 0;
    double sf = (py - f->miny) * f->strip_inv_h;
    size_t s = sf >= (double)f->nstrip ? f->nstrip - 1 : (size_t)sf;
    int inside = 0;
    for (uint32_t k = f->strip_start[s]; k < f->strip_start[s + 1]; k++) {
        const struct seg *e = &f->segs[f->strip_segs[k]];
        bool up = e->by > py, ua = e->ay > py;
        if (up == ua && e->ay != py && e->by != py)
            continue; /* entirely above or below */
        double o = orient(e->ax, e->ay, e->bx, e->by, px, py);
        if (o == 0.0 && within(px, e->ax, e->bx) && within(py, e->ay, e->by))
            return -1;
        if (ua != up && (o > 0) == (e->by > e->ay))
            inside ^= 1;
    }
    return inside;
}

/* Unsigned distance to the nearest edge among cand[0..n) (all edges when cand is NULL). */
static double nearest_edge(const struct fence *f, const uint32_t *cand, size_t n,
                           const struct geodesy_frame *fr)
{
    if (n == 1) {
        const struct seg *e = &f->segs[cand ? cand[0] : 0];
        return geodesy_frame_edge_distance(fr, e->ay, e->ax, e->by, e->bx);
    }
    double approx[CAND_STACK];
    double best_approx = INFINITY;
    for (size_t k = 0; k < n; k++) {
        const struct seg *e = &f->segs[cand ? cand[k] : k];
        double a = geodesy_frame_edge_approx(fr, e->ay, e->ax, e->by, e->bx);
        if (k < CAND_STACK)
            approx[k] = a;
        best_approx = a < best_approx ? a : best_approx;
    }
    /* Only edges whose estimate is within the frame's error of the best can be nearest. */
    double limit = best_approx + 2.0 * geodesy_frame_slack(fr, best_approx);
    double best = INFINITY;
    for (size_t k = 0; k < n; k++) {
        const struct seg *e = &f->segs[cand ? cand[k] : k];
        double a =
            k < CAND_STACK ? approx[k] : geodesy_frame_edge_approx(fr, e->ay, e->ax, e->by, e->bx);
        if (a > limit)
            continue;
        double d = geodesy_frame_edge_distance(fr, e->ay, e->ax, e->by, e->bx);
        best = d < best ? d : best;
    }
    return best;
}

/* Distance from (lat, lon) to edge i by the mid-latitude formula geodesy.c uses: the closest
 * point Q = A + t1 (B - A) found in the grid's frame, measured in the frame at the mid-latitude
 * of the fix and Q, whose scales come from the fence's polynomial instead of trigonometry. The
 * grid's frame misplaces Q along the edge by at most gdelta * d, which changes the distance by
 * a relative gdelta^2 / 2 (below 1e-8 for fences up to 0.5 degree); for points within
 * NEAR_FAST_M of the edge. */
static double edge_distance_fast(const struct fence *f, size_t i, double t1, double lat, double lon)
{
    const struct seg *e = &f->segs[i];
    double qlat = e->ay + t1 * (e->by - e->ay), qlon = e->ax + t1 * (e->bx - e->ax);
    double kx, ky;
    scale_poly_eval(&f->poly, 0.5 * (lat + qlat), &kx, &ky);
    double x = (qlon - lon) * kx, y = (qlat - lat) * ky;
    return sqrt(x * x + y * y);
}

/* Nearest of the cell's candidate edges for a point inside the grid. The grid's frame ranks
 * them (its relative error is below gdelta); only those that may be nearest are measured.
 * Sets *in to the point's containment when the frame's nearest boundary point lies inside an
 * edge (then the point is on that edge's interior side iff inside: the segment to the nearest
 * boundary point crosses no edge; the frame is an affine image of lon/lat, so sides agree), to
 * -1 when that cannot decide (a vertex is nearest, or the point is within 1 mm). Returns -1
 * when the general path must measure. */
static double grid_nearest(const struct fence *f, const uint32_t *cand, size_t n, double lat,
                           double lon, int *in)
{
    double px = (lon - f->glon0) * f->gkx, py = (lat - f->glat0) * f->gky;
    double d2s[CAND_STACK], ts[CAND_STACK];
    double best2 = INFINITY;
    size_t m = n < CAND_STACK ? n : CAND_STACK, bk = 0;
    *in = -1;
    for (size_t k = 0; k < m; k++) {
        const struct fseg *q = &f->fsegs[cand[k]];
        double t = ((px - q->ax) * q->dx + (py - q->ay) * q->dy) * q->inv_len2;
        t = t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
        double x = q->ax + t * q->dx - px, y = q->ay + t * q->dy - py;
        double d2 = x * x + y * y;
        d2s[k] = d2;
        ts[k] = t;
        if (d2 < best2) {
            best2 = d2;
            bk = k;
        }
    }
    if (m < n || best2 > NEAR_FAST_M * NEAR_FAST_M)
        return -1.0; /* the general path */
    if (ts[bk] > 1e-9 && ts[bk] < 1.0 - 1e-9 && best2 > 1e-6) {
        const struct fseg *q = &f->fsegs[cand[bk]];
        double cross = q->dx * (py - q->ay) - q->dy * (px - q->ax);
        *in = cross * q->side > 0;
    }
    double limit = sqrt(best2) * (1 + f->gdelta) / (1 - f->gdelta) + 1e-6;
    double limit2 = limit * limit, best = INFINITY;
    for (size_t k = 0; k < m; k++) {
        if (d2s[k] > limit2)
            continue;
        double d = edge_distance_fast(f, cand[k], ts[k], lat, lon);
        best = d < best ? d : best;
    }
    return best;
}

static double area_signed_distance(const struct fence *f, double lat, double lon)
{
    bool near = lon >= f->minx - NEAR_MARGIN_DEG && lon <= f->maxx + NEAR_MARGIN_DEG &&
                lat >= f->miny - NEAR_MARGIN_DEG && lat <= f->maxy + NEAR_MARGIN_DEG;
    if (!near) {
        /* Far away: outside, and every edge measured without pruning. */
        double best = INFINITY;
        for (size_t i = 0; i < f->nseg; i++) {
            const struct seg *e = &f->segs[i];
            best = fmin(best, geodesy_point_edge_distance(lat, lon, e->ay, e->ax, e->by, e->bx));
        }
        return best;
    }
    struct geodesy_frame fr;
    double gx = (lon - f->gx0) * f->ginv_x, gy = (lat - f->gy0) * f->ginv_y;
    int loc;
    double d;
    if (gx >= 0 && gy >= 0 && gx < (double)f->gnx && gy < (double)f->gny) {
        size_t cell = (size_t)gy * f->gnx + (size_t)gx;
        uint32_t a = f->cell_start[cell], b = f->cell_start[cell + 1];
        int side;
        d = grid_nearest(f, f->cell_segs + a, b - a, lat, lon, &side);
        loc = f->cell_state[cell] != CELL_MIXED ? f->cell_state[cell]
              : side >= 0                       ? side
                                                : area_locate(f, lon, lat);
        if (loc < 0)
            return 0.0;
        if (d < 0) {
            geodesy_frame_init(&fr, lat, lon);
            d = nearest_edge(f, f->cell_segs + a, b - a, &fr);
        }
    } else {
        loc = area_locate(f, lon, lat);
        if (loc < 0)
            return 0.0;
        geodesy_frame_init(&fr, lat, lon);
        d = nearest_edge(f, NULL, f->nseg, &fr);
    }
    return loc ? -d : d;
}

double fence_signed_distance(const struct fence *f, double lat, double lon)
{
    if (!isfinite(lat) || !isfinite(lon))
        return NAN;
    if (f->kind == FENCE_CIRCLE) {
        double dlat = lat - f->clat, dlon = lon - f->clon;
        if (fabs(dlat) < NEAR_MARGIN_DEG && fabs(dlon) < NEAR_MARGIN_DEG) {
            /* The mid-latitude formula, as geodesy.c measures short distances. */
            double kx, ky;
            scale_poly_eval(&f->poly, 0.5 * (lat + f->clat), &kx, &ky);
            double x = dlon * kx, y = dlat * ky, d = sqrt(x * x + y * y);
            if (d <= NEAR_FAST_M)
                return d - f->radius_m;
        }
        struct geodesy_frame fr;
        geodesy_frame_init(&fr, lat, lon);
        /* A zero-length edge at the centre: the point-to-point distance, by the same
         * mid-latitude formula near and Karney's geodesic beyond GEODESY_SHORT_M. */
        double d = geodesy_frame_edge_distance(&fr, f->clat, f->clon, f->clat, f->clon);
        return d - f->radius_m;
    }
    return area_signed_distance(f, lat, lon);
}

int fence_judge(const struct fence *f, const struct fence_fix *fix, double assumed_eph_m,
                struct fence_judgement *out, char *err)
{
    if (!isfinite(assumed_eph_m) || assumed_eph_m < 0)
        return rc_fail(err, RC_INVAL, "assumed accuracy %g m is not a finite value >= 0",
                       assumed_eph_m);
    if (!fix->has_fix) {
        *out = (struct fence_judgement){FENCE_NO_FIX, NAN, NAN};
        return 0;
    }
    if (!isfinite(fix->lat) || !isfinite(fix->lon) || fix->lat < -90 || fix->lat > 90 ||
        fix->lon < -180 || fix->lon > 180)
        return rc_fail(err, RC_INVAL, "fix position (%g, %g) is not a valid latitude, longitude",
                       fix->lat, fix->lon);
    double e = fix->eph;
    if (isnan(e))
        e = assumed_eph_m;
    if (!isfinite(e) || e < 0)
        return rc_fail(err, RC_INVAL, "fix accuracy %g m is not a finite value >= 0", e);
    double d = fence_signed_distance(f, fix->lat, fix->lon) - f->tolerance_m;
    enum fence_verdict v = FENCE_UNCERTAIN;
    if (d + e <= 0)
        v = FENCE_INSIDE;
    else if (d - e > 0)
        v = FENCE_OUTSIDE;
    *out = (struct fence_judgement){v, d, e};
    return 0;
}

const char *fence_verdict_name(enum fence_verdict v)
{
    switch (v) {
    case FENCE_INSIDE: return "inside";
    case FENCE_OUTSIDE: return "outside";
    case FENCE_UNCERTAIN: return "uncertain";
    case FENCE_NO_FIX: return "no_fix";
    }
    return "unknown";
}

/* ---------------------------------------------------------------------------------------- */
/* Whole-file datum conversion. */

/* Converts every position under a coordinates value (any nesting) in place. */
static int convert_coords(cJSON *v, enum datum from, enum datum to, char *err)
{
    if (!cJSON_IsArray(v))
        return 0;
    if (cJSON_IsNumber(v->child)) {
        double lat, lon;
        cJSON *x = v->child, *y = x->next;
        if (datum_convert(from, to, y->valuedouble, x->valuedouble, &lat, &lon, err) != 0)
            return RC_INVAL;
        cJSON_SetNumberValue(x, lon);
        cJSON_SetNumberValue(y, lat);
        return 0;
    }
    for (cJSON *c = v->child; c; c = c->next) {
        int rc = convert_coords(c, from, to, err);
        if (rc)
            return rc;
    }
    return 0;
}

int fence_convert_file(const char *data, size_t len, const char *label, enum datum from,
                       enum datum to, char **out, char *err)
{
    int rc = 0;
    cJSON *root = NULL;
    char *text = NULL, *result = NULL;
    fence_set *check = NULL;
    label = label ? label : "fence";
    /* Full validation first (also of the shape this function walks). */
    if ((rc = fence_set_parse(data, len, label, &check, err)) != 0)
        goto out;
    fence_set_free(check);
    check = NULL;
    root = cJSON_ParseWithLength(data, len);
    if (!root) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", label);
        goto out;
    }
    cJSON *features = cJSON_GetObjectItemCaseSensitive(root, "features");
    cJSON *feat = features ? features->child : root;
    for (size_t i = 0; feat; feat = features ? feat->next : NULL, i++) {
        cJSON *props = cJSON_GetObjectItemCaseSensitive(feat, "properties");
        cJSON *dn = cJSON_GetObjectItemCaseSensitive(props, "datum");
        enum datum d = DATUM_WGS84;
        if (cJSON_IsString(dn) && (datum_parse(dn->valuestring, &d) != 0 || d != from)) {
            rc = rc_fail(err, RC_INVAL, "%s: feature %zu: declares datum %s, not %s", label, i,
                         dn->valuestring, datum_name(from));
            goto out;
        }
        char cerr[ERR_LEN] = "";
        if (convert_coords(cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(feat, "geometry"), "coordinates"),
                           from, to, cerr) != 0) {
            rc = rc_fail(err, RC_INVAL, "%s: feature %zu: %s", label, i, cerr);
            goto out;
        }
        cJSON *nd = cJSON_CreateString(datum_name(to));
        if (!nd || (dn ? !cJSON_ReplaceItemInObjectCaseSensitive(props, "datum", nd)
                       : !cJSON_AddItemToObject(props, "datum", nd))) {
            cJSON_Delete(nd);
            rc = rc_fail(err, RC_NOMEM, "%s: out of memory", label);
            goto out;
        }
        /* A bbox member would now be stale, a crs wrong once the datum is not WGS-84. */
        cJSON_DeleteItemFromObjectCaseSensitive(feat, "bbox");
        cJSON_DeleteItemFromObjectCaseSensitive(feat, "crs");
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(feat, "geometry"),
                                                "bbox");
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(feat, "geometry"),
                                                "crs");
    }
    if (features) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, "bbox");
        cJSON_DeleteItemFromObjectCaseSensitive(root, "crs");
    }
    text = cJSON_Print(root);
    if (!text) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", label);
        goto out;
    }
    /* The converted file must itself be a valid fence file. */
    if ((rc = fence_set_parse(text, strlen(text), label, &check, err)) != 0)
        goto out;
    size_t n = strlen(text);
    result = malloc(n + 2);
    if (!result) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", label);
        goto out;
    }
    memcpy(result, text, n);
    result[n] = '\n';
    result[n + 1] = '\0';
    *out = result;
out:
    fence_set_free(check);
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}

/* Tianjin's administrative boundaries: its 16 districts (GB/T 2260 codes 1201xx as fence ids),
 * built into the program from server/engine/regions.geojson (docs/BOUNDARIES.md: source,
 * licence, datum, accuracy; tools/tianjin-boundaries.py regenerates it). The engine judges
 * venues against them with the fence code (venue_outside_region, venue_outside_district).
 *
 * Invariants:
 * - The set exists between regions_init and regions_fini (from main, after geodesy_init);
 *   regions_get before regions_init is NULL, and the engine then falls back to the policy's
 *   bounding box, which is what it did before.
 * - The data is part of the program: the collector and rollcall-verify of one build judge the
 *   same boundaries. */
#ifndef ROLLCALL_ENGINE_REGIONS_H
#define ROLLCALL_ENGINE_REGIONS_H

#include "fence.h"

#include <stddef.h>

/* The built-in GeoJSON (build/generated/regions_geojson.c): NUL-terminated, its length. */
extern const char regions_geojson[];
extern const size_t regions_geojson_len;

/* Parses the built-in boundaries into a new set (*out, fence_set_free). RC_INVAL/RC_LIMIT
 * (with err) if the built-in data is refused, RC_NOMEM. */
int regions_parse(fence_set **out, char *err);

/* Parses the built-in boundaries once for the process; idempotent. As regions_parse. */
int regions_init(char *err);
/* Frees the process's set (main, at exit). */
void regions_fini(void);
/* The process's set, owned by this module; NULL before regions_init. */
const fence_set *regions_get(void);

#endif

/* Tianjin's district boundaries, built in. See regions.h. */
#include "engine/regions.h"

#include "rc.h"

static fence_set *the_set;

int regions_parse(fence_set **out, char *err)
{
    return fence_set_parse_region(regions_geojson, regions_geojson_len, "regions.geojson", out,
                                  err);
}

int regions_init(char *err)
{
    if (the_set)
        return RC_OK;
    return regions_parse(&the_set, err);
}

void regions_fini(void)
{
    fence_set_free(the_set);
    the_set = NULL;
}

const fence_set *regions_get(void)
{
    return the_set;
}

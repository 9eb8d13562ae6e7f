/* libFuzzer target for the fence file loader: any bytes must give a valid set or a one-line
 * refusal, never a crash, leak or sanitizer report; a loaded set must answer queries, and the
 * file conversion must accept exactly what the loader accepts. */
#include "fence.h"
#include "rc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[ERR_LEN] = "";
    fence_set *set = NULL;
    int rc = fence_set_parse((const char *)data, size, "fuzz", &set, err);
    if (rc != 0) {
        if (set || !err[0] || strchr(err, '\n'))
            abort();
        return 0;
    }
    for (size_t i = 0; i < fence_set_count(set); i++) {
        const struct fence *f = fence_set_at(set, i);
        if (fence_set_find(set, fence_id(f)) != f)
            abort();
        double y0, x0, y1, x1;
        fence_bbox(f, &y0, &x0, &y1, &x1);
        /* Corners, centre and a far point: finite distances, judged without error. */
        const double pts[][2] = {{y0, x0},
                                 {y1, x1},
                                 {0.5 * (y0 + y1), 0.5 * (x0 + x1)},
                                 {y0 - 0.001, x1 + 0.001},
                                 {-45.0, -60.0}};
        for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++) {
            if (pts[k][0] < -90 || pts[k][0] > 90 || pts[k][1] < -180 || pts[k][1] > 180)
                continue;
            struct fence_fix fix = {true, pts[k][0], pts[k][1], 1.0};
            struct fence_judgement j;
            if (fence_judge(f, &fix, 5.0, &j, err) != 0 || isnan(j.distance_m))
                abort();
        }
    }
    fence_set_free(set);
    char *out = NULL;
    if (fence_convert_file((const char *)data, size, "fuzz", DATUM_WGS84, DATUM_GCJ02, &out, err) ==
        0)
        free(out);
    return 0;
}

/* Fuzzes the evidence bundle reader (evidence/tar.h, evidence/bundle.h, verify/verify.h): any
 * input is either checked or refused with problems, never a crash or a leak; each problem names
 * a member and has terminated text; an input the ustar reader accepts has members inside it;
 * a bundle with no problem is one whose manifest names a class. */
#include "evidence/tar.h"
#include "rc.h"
#include "verify.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct tar_member *m = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    if (tar_read(p, size, &m, &n, err) == RC_OK) {
        for (size_t i = 0; i < n; i++) {
            if (m[i].data < p || m[i].data + m[i].len > p + size || !m[i].name[0])
                abort();
        }
        free(m);
    } else if (!memchr(err, '\0', sizeof err)) {
        abort();
    }
    static struct verify_result r;
    if (verify_bundle(p, size, NULL, &r, NULL) != RC_OK)
        return 0; /* out of memory */
    for (size_t i = 0; i < r.n_problems; i++) {
        if (!r.problems[i].member[0] || !memchr(r.problems[i].text, '\0', VERIFY_TEXT_MAX))
            abort();
    }
    if (r.n_problems == 0 && !r.class_id[0])
        abort();
    return 0;
}

/* Photos of sign-ins taken by the kiosk screen: JPEG files in DATA_DIR/photos named by their
 * SHA-256 (content-addressed), mode 0600. The screen program stores them (photo_store); the
 * daemon checks that a sign-in's photo_sha256 names such a file with that hash before it
 * records the event (photo_check); sync uploads them after their events.
 *
 * Invariants:
 * - a stored photo's name is the SHA-256 of its bytes: a file whose bytes do not hash to its
 *   name is never named in an event nor uploaded;
 * - a photo is written to a temporary name, fsync'd, then renamed: a crash leaves either the
 *   whole photo or none under its name;
 * - a photo is at most PHOTO_MAX_BYTES and starts with the JPEG SOI marker;
 * - byte-identical stills share one file, which several events may name: it is deleted only
 *   by sync once the collector stores it, or by the orphan sweep when no event still to
 *   upload names it (photo_sweep, photo_upload.h), never because one sign-in was refused. */
#ifndef ROLLCALL_AGENT_PHOTO_H
#define ROLLCALL_AGENT_PHOTO_H

#include "crypto.h"

#include <stdbool.h>
#include <stddef.h>

enum {
    PHOTO_MAX_BYTES = 2 * 1024 * 1024, /* one still; a 1280x720 JPEG is about 100 KiB */
    PHOTO_PATH_MAX = 1100,
};

/* True when s is 64 lower-case hex digits. */
bool photo_hex_ok(const char *s);

/* True when s is a reason for a missing photo: "no_camera", "refused" or "failed". */
bool photo_reason_ok(const char *s);

/* DATA_DIR/photos/<hex>.jpg into out (cap bytes). 0, RC_INVAL (hex) or RC_LIMIT. */
int photo_path(const char *data_dir, const char *hex, char *out, size_t cap, char *err);

/* Checks that the photo named hex is stored under data_dir and that its bytes hash to hex.
 * 0, RC_INVAL (not a hash), RC_NOTFOUND (no such photo), RC_CONFLICT (its bytes do not match
 * its name), RC_LIMIT (too large), RC_IO. err never names more than the hash. */
int photo_check(const char *data_dir, const char *hex, char *err);

/* Stores len bytes of JPEG under data_dir (creating DATA_DIR/photos, 0700, when missing) and
 * writes its SHA-256 into hex. An identical photo already stored is kept, its modification
 * time set to now (the orphan sweep's clock, photo_upload.h). 0,
 * RC_INVAL (empty, not a JPEG), RC_LIMIT (over PHOTO_MAX_BYTES), RC_IO, RC_FULL (no space). */
int photo_store(const char *data_dir, const void *jpeg, size_t len,
                char hex[CRYPTO_SHA256_HEX_LEN + 1], char *err);

#endif

/* Recordings (DOMAIN.md rule 2): the metadata of every classroom recording as events:
 * rec_start / rec_stop around a recording, rec_file for each finished file with its size and
 * SHA-256. The file itself never leaves the kiosk here; its hash makes it verifiable later.
 *
 * Invariants:
 * - a file is hashed completely before anything is recorded about it: an unreadable file
 *   leaves no event behind;
 * - hashing streams the file through one fixed buffer: memory does not grow with the file;
 * - at most one open recording per camera, kept in the outbox state ("rec.CAMERA") so that
 *   `record stop` in another process, or after a restart, finds it. */
#ifndef ROLLCALL_AGENT_RECORD_H
#define ROLLCALL_AGENT_RECORD_H

#include "kiosk.h"

#include <stddef.h>
#include <stdint.h>

enum {
    RECORD_HASH_BUF = 1 << 20, /* read size when hashing a file */
};

/* What the recording commands need from the kiosk: its outbox, the event stamp and the
 * profile's cameras (pointers into the kiosk: valid while it is open). */
struct record_env {
    outbox *ob;
    struct kiosk_stamp stamp;
    const struct config_camera *cameras;
    size_t n_cameras;
};

/* k's recording settings. */
struct record_env record_env_of(struct kiosk *k);

/* SHA-256 of the regular file at path, streamed (OpenSSL EVP: see record.c for why), as 64
 * lower-case hex digits; *bytes gets its size. RC_NOTFOUND, RC_INVAL (not a regular file),
 * RC_IO, RC_NOMEM, RC_CRYPTO. */
int record_hash_file(const char *path, char hex[EVENT_HEX_LEN + 1], int64_t *bytes, char *err);

/* Checks that camera is a usable camera name (and one of the profile's cameras when the
 * profile lists any). 0 or RC_INVAL. */
int record_check_camera(const struct record_env *e, const char *camera, char *err);

/* What a recording command appended. */
struct record_result {
    int64_t seq;   /* seq of the last event appended */
    int events;    /* how many were appended */
    int64_t bytes; /* rec_file only */
    char sha256[EVENT_HEX_LEN + 1];
    char file[EVENT_FILE_MAX + 1];
};

/* rec_start: camera starts recording for class (session optional) now. RC_STATE when the
 * camera already has an open recording. */
int record_start(const struct record_env *e, const char *camera, const char *class_id,
                 const char *session, struct record_result *res, char *err);

/* rec_stop of the camera's open recording now; with file (may be NULL), also a rec_file from
 * the recording's start to now. RC_STATE when the camera has no open recording. */
int record_stop(const struct record_env *e, const char *camera, const char *file,
                struct record_result *res, char *err);

/* rec_file: a finished recording file of camera between start_ms and end_ms (UTC ms,
 * start <= end); class_id and session may be NULL or "". */
int record_add(const struct record_env *e, const char *camera, const char *class_id,
               const char *session, const char *file, int64_t start_ms, int64_t end_ms,
               struct record_result *res, char *err);

/* rec_file for a file found by the daemon's directory watch: like record_add, with the class
 * and session of the camera's open recording when there is one (else none). A start after
 * the end is clamped to the end. */
int record_add_watched(const struct record_env *e, const char *camera, const char *file,
                       int64_t start_ms, int64_t end_ms, struct record_result *res, char *err);

#endif

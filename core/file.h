/* Reading a whole file into memory, bounded: the one way the programs read files they take in
 * whole (fence files, firmware profiles, configuration, keys, tokens, imports).
 *
 * Invariants: only a regular file is read (a directory, FIFO or device such as /dev/zero is
 * refused before any read, so nothing blocks or runs forever); no more than max bytes are
 * ever held; the result is NUL-terminated (the file may itself hold NUL bytes: use *len). */
#ifndef ROLLCALL_FILE_H
#define ROLLCALL_FILE_H

#include <stddef.h>

/* Reads path whole into *buf (malloc'd, NUL-terminated, caller frees) and its length into
 * *len. RC_NOTFOUND (no such file), RC_IO (cannot open or read, or it changed size while
 * being read), RC_INVAL (not a regular file), RC_LIMIT (larger than max bytes), RC_NOMEM;
 * err then reads "PATH: reason" and *buf is untouched. */
int file_read_bounded(const char *path, size_t max, char **buf, size_t *len, char *err);

/* As file_read_bounded, for secrets (keys, tokens): also RC_AUTH when group or others may
 * access the file ("... (mode 0644): run chmod 600 on it"), and RC_INVAL for a symbolic link
 * (a secret is read from where it was put, not from where a link points). */
int file_read_private(const char *path, size_t max, char **buf, size_t *len, char *err);

#endif

/* rollcall-server check-config: serve's options checked without serving (check_config_cmd.c;
 * serve_cmd.c parses the options and hands them over). */
#ifndef ROLLCALL_SERVER_CHECK_CONFIG_H
#define ROLLCALL_SERVER_CHECK_CONFIG_H

#include <stdbool.h>

enum { CHECK_CERT_WARN_DAYS = 14 }; /* a certificate expiring sooner is a problem */

struct check_config_input {
    const char *db_url;
    const char *listen;
    bool plain;
    const char *cert_path; /* NULL with plain */
    const char *key_path;
    const char *signing_key; /* NULL: the default beside the database */
    const char *photo_dir;   /* NULL: none */
};

/* Prints "ok: ..." per passing area on stdout and one line per problem on stderr; returns the
 * exit status (0 none, 1 any). */
int check_config_run(const struct check_config_input *in);
/* serve's PEM reader (serve_cmd.c): a whole PEM file of at most 1 MiB; caller frees; NULL with
 * err on failure. */
char *check_config_read_pem(const char *path, char *err);

#endif

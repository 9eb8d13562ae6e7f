/* The rollcall-server commands. Each takes the arguments after its name (argv[0] is the
 * command name) and the global options, and returns the process exit status:
 * 0 success, 1 refused input or failure (reason printed on stderr in one line), 2 usage. */
#ifndef ROLLCALL_SERVER_COMMANDS_H
#define ROLLCALL_SERVER_COMMANDS_H

#include "crypto.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2 };

struct server_globals {
    const char *db_url; /* --db before the command, $ROLLCALL_DB, or the default */
};

/* serve: the HTTP(S) API until SIGTERM or SIGINT (serve_cmd.c). */
int cmd_serve(int argc, char **argv, const struct server_globals *g);
/* check-config [serve options]: what serve would need, checked without serving
 * (serve_cmd.c parses, check_config_cmd.c checks). */
int cmd_check_config(int argc, char **argv, const struct server_globals *g);
/* migrate: bring the database schema up to date (migrate_cmd.c). */
int cmd_migrate(int argc, char **argv, const struct server_globals *g);
/* token create: make a bearer token, print it once (token_cmd.c). */
int cmd_token(int argc, char **argv, const struct server_globals *g);
/* user add|list|disable|enable|passwd: people's accounts for logging in (user_cmd.c). */
int cmd_user(int argc, char **argv, const struct server_globals *g);
/* signing-key create|rotate|list: the collector's signing key (signkey_cmd.c). */
int cmd_signing_key(int argc, char **argv, const struct server_globals *g);
/* evidence --class ID --out FILE | --institution ID --year YYYY --out DIR: signed evidence
 * bundles (evidence_cmd.c). */
int cmd_evidence(int argc, char **argv, const struct server_globals *g);
/* publish --year YYYY [--out DIR]: freeze and sign a year's results (publish_cmd.c). */
int cmd_publish(int argc, char **argv, const struct server_globals *g);
/* alert add|list|remove: webhook subscriptions to serious findings (alert_cmd.c). */
int cmd_alert(int argc, char **argv, const struct server_globals *g);
/* import batches|fences FILE: an agent's export file, venue fences (import_cmd.c). */
int cmd_import(int argc, char **argv, const struct server_globals *g);

/* import classes|online|assessments FILE: plans and records, all or nothing (records_cmd.c);
 * called by cmd_import. */
int import_records(const char *db_url, const char *kind, const char *path, bool json);
/* copy --from sqlite:PATH --to postgresql://...: move a collector's database (copy_cmd.c). */
int cmd_copy(int argc, char **argv, const struct server_globals *g);
/* calendar is-workday|add-workdays: the working-day calendar (calendar_cmd.c). */
int cmd_calendar(int argc, char **argv, const struct server_globals *g);
/* subsidy apply|approve|return|claim|audit|return-claim|publish|pay|status|queue: the
 * subsidy procedure (subsidy_cmd.c). */
int cmd_subsidy(int argc, char **argv, const struct server_globals *g);
/* report attendance|subsidy|findings: figures as text, JSON, CSV or XLSX (report_cmd.c). */
int cmd_report(int argc, char **argv, const struct server_globals *g);
/* backup --out FILE / restore --from FILE: a SQLite database's online copy and its checked
 * replacement (backup_cmd.c). */
int cmd_backup(int argc, char **argv, const struct server_globals *g);
int cmd_restore(int argc, char **argv, const struct server_globals *g);
/* Backs st up into the new file path and writes path.sha256 (sha256sum form); the digest in
 * hex and the size into hex and *bytes. On failure neither file is left. */
int backup_with_digest(store *st, const char *path, char hex[CRYPTO_SHA256_HEX_LEN + 1],
                       uint64_t *bytes, char *err);

#endif

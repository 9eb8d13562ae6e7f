/* The rollcall-server commands. Each takes the arguments after its name (argv[0] is the
 * command name) and the global options, and returns the process exit status:
 * 0 success, 1 refused input or failure (reason printed on stderr in one line), 2 usage. */
#ifndef ROLLCALL_SERVER_COMMANDS_H
#define ROLLCALL_SERVER_COMMANDS_H

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2 };

struct server_globals {
    const char *db_url; /* --db before the command, $ROLLCALL_DB, or the default */
};

#endif

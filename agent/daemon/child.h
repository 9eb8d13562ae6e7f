/* Children of the kiosk daemon. The daemon (rollcall-agentd) stays small and always ready for
 * the next sign-in: what needs libcurl (sync) or a long file read (hashing a recording) runs
 * as a `rollcall-agent` command in a child process, which opens the outbox itself (SQLite WAL:
 * the daemon keeps writing meanwhile) and exits.
 *
 * Invariants: a child starts with default signal dispositions, an empty signal mask, stdin on
 * /dev/null and no descriptor of the daemon's but stdout and stderr (the journal). */
#ifndef ROLLCALL_AGENT_CHILD_H
#define ROLLCALL_AGENT_CHILD_H

#include <stddef.h>
#include <sys/types.h>

enum {
    CHILD_ARGS_MAX = 24,   /* command arguments after the global options */
    CHILD_STATUS_LEN = 48, /* child_status_text's buffer */
};

/* How to run the kiosk's commands: the rollcall-agent program and its global options. */
struct child_cli {
    const char *program; /* path of rollcall-agent */
    const char *config;  /* --config */
    const char *log_level;
};

/* Starts `program --config C --log-level L args...` (args NULL-terminated, at most
 * CHILD_ARGS_MAX). 0 and *pid, or RC_INVAL (too many arguments) / RC_IO with err. */
int child_start(const struct child_cli *cli, const char *const *args, pid_t *pid, char *err);

/* The path of this program (name NULL), or of the program name in this program's directory
 * (the agent's programs are installed side by side). 0, or RC_IO / RC_LIMIT with err. */
int child_program_path(const char *name, char *out, size_t cap, char *err);

/* A waitpid status as text: "exit status 1", "killed by signal 9". */
void child_status_text(int status, char out[CHILD_STATUS_LEN]);

#endif

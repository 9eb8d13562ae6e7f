/* The rollcall-agent commands. Each takes the arguments after its name (argv[0] is the
 * command name) and the global options, and returns the process exit status:
 * 0 success, 1 refused input or failure (reason printed on stderr in one line), 2 usage. */
#ifndef ROLLCALL_AGENT_COMMANDS_H
#define ROLLCALL_AGENT_COMMANDS_H

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2 };

struct agent_globals {
    const char *config_path; /* --config, $ROLLCALL_AGENT_CONFIG, or the default */
};

/* gnss: watch gpsd, print fixes and quality findings (agent/gnss_cmd.c). */
int cmd_gnss(int argc, char **argv, const struct agent_globals *g);

#endif

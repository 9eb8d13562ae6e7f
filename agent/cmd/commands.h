/* The rollcall-agent commands. Each takes the arguments after its name (argv[0] is the
 * command name) and the global options, and returns the process exit status:
 * 0 success, 1 refused input or failure (reason printed on stderr in one line), 2 usage. */
#ifndef ROLLCALL_AGENT_COMMANDS_H
#define ROLLCALL_AGENT_COMMANDS_H

#include <stdlib.h>

#define AGENT_DEFAULT_CONFIG "/etc/rollcall/agent.json"

/* The config file to use: given (--config) when set, else $ROLLCALL_AGENT_CONFIG, else
 * AGENT_DEFAULT_CONFIG (rollcall-agent and rollcall-agentd alike). */
static inline const char *agent_config_path(const char *given)
{
    if (given && *given)
        return given;
    const char *env = getenv("ROLLCALL_AGENT_CONFIG");
    return env && *env ? env : AGENT_DEFAULT_CONFIG;
}

enum {
    EXIT_REFUSED = 1, /* refused: nothing recorded (the reason is printed) */
    EXIT_USAGE = 2,
    EXIT_RETRY = 3,    /* record: not recorded for now (outbox full or busy), try again later */
    EXIT_SCHEDULE = 4, /* signin/signout/confirm: refused by the kiosk's schedule (not on the
                          roster of a class running now) or, for confirm, no such roll-call
                          open; nothing recorded */
};

struct agent_globals {
    const char *config_path; /* --config, $ROLLCALL_AGENT_CONFIG, or the default */
};

/* signin|signout --trainee ID --class C [--session S] [--json], and confirm --trainee ID
 * --class C --session S --rollcall R [--json] (agent/cmd/signin_cmd.c). */
int cmd_signin(int argc, char **argv, const struct agent_globals *g);
/* rollcall [--json]: the random roll-calls open now (agent/cmd/signin_cmd.c). */
int cmd_rollcall(int argc, char **argv, const struct agent_globals *g);
/* check-config [--profile FILE]: validate the agent config (or a firmware profile) only. */
int cmd_check_config(int argc, char **argv, const struct agent_globals *g);
/* profile-doc: print the firmware-profile key reference (markdown) from the loader table. */
int cmd_profile_doc(int argc, char **argv, const struct agent_globals *g);
/* fence check|convert: judge points against a fence file; convert datums (fence_cmd.c). */
int cmd_fence(int argc, char **argv, const struct agent_globals *g);
/* gnss: watch gpsd, print fixes and quality findings (agent/gnss_cmd.c). */
int cmd_gnss(int argc, char **argv, const struct agent_globals *g);
/* init --profile F --fence F --device-id ID --institution ID --server URL ... (init_cmd.c). */
int cmd_init(int argc, char **argv, const struct agent_globals *g);
/* run: starts the daemon, rollcall-agentd, in this process (agent/run_cmd.c). */
int cmd_run(int argc, char **argv, const struct agent_globals *g);
/* rollcall-agentd's main: the daemon itself (agent/daemon.c). */
int agentd_main(int argc, char **argv);
/* screen [--listen 127.0.0.1:PORT] [--web DIR]: the kiosk screen's server (screen_cmd.c). */
int cmd_screen(int argc, char **argv, const struct agent_globals *g);
/* status [--json] (agent/status_cmd.c). */
int cmd_status(int argc, char **argv, const struct agent_globals *g);
/* verify [--json]: check the local hash chain (agent/status_cmd.c). */
int cmd_verify(int argc, char **argv, const struct agent_globals *g);
/* record start|stop|add (agent/record_cmd.c). */
int cmd_record(int argc, char **argv, const struct agent_globals *g);

/* heartbeat [--json]: one heartbeat event now (agent/cmd/heartbeat_cmd.c). */
int cmd_heartbeat(int argc, char **argv, const struct agent_globals *g);

/* sync [--once] [--json] [--timeout S]: upload pending events (agent/sync_cmd.c). */
int cmd_sync(int argc, char **argv, const struct agent_globals *g);
/* enroll --token TOKEN: register with the collector (agent/enroll_cmd.c). */
int cmd_enroll(int argc, char **argv, const struct agent_globals *g);
/* export --out FILE: signed batches of unacknowledged events for USB (agent/export_cmd.c). */
int cmd_export(int argc, char **argv, const struct agent_globals *g);

#endif

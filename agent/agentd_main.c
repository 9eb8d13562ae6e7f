/* rollcall-agentd: the kiosk daemon as its own small program (agent/daemon.c). */
#include "cmd/commands.h"

int main(int argc, char **argv)
{
    return agentd_main(argc, argv);
}

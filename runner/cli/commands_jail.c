/* commands_jail.c - the command table of `tfgate-jail`: the jail command
 * alone, in an executable that links the jail, the config reader and the
 * output filter but none of the forge, fetch and HTTP libraries.  Their
 * loading and initialisation is most of tfgate's start-up time, which a
 * one-shot `tfgate jail` would pay on every run. */
#include "cli.h"
#include "runner/util/cleanup.h"

const struct cli_command cli_commands[] = {
        { "jail", cmd_jail, CLI_JAIL_SUMMARY, CLI_JAIL_USAGE },
};

const size_t cli_n_commands = ARRAY_SIZE(cli_commands);
const char cli_program[] = "tfgate-jail";

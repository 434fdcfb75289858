/* commands.c - the command table of the `tfgate` executable: each
 * command's entry point (cmd_<name>.c), one-line summary and usage text.
 * main.c dispatches through it; tfgate-jail has its own (commands_jail.c). */
#include "cli.h"
#include "runner/util/cleanup.h"

const struct cli_command cli_commands[] = {
        { "run", cmd_run, "daemon: poll the forges and run jobs until SIGTERM",
          "tfgate run [-c FILE]\n" },
        { "check", cmd_check, "run one job locally and print its verdict",
          "tfgate check [-c FILE] [--mode validate|plan|apply] [--out DIR] PATH|URL [--rev SHA]\n"
          "             [--secrets-file F] [--secret-env NAME]... [--keep]\n"
          "  --out DIR          result.json and result.dsse.json (default ./tfgate-result)\n"
          "  --secrets-file F   values to mask in every output (NAME=VALUE lines, mode 0600)\n"
          "  --keep             leave the workspace in place (debugging)\n" },
        { "inspect", cmd_inspect, "providers, lock entries and policy findings of a repository",
          "tfgate inspect [--json] [-c FILE] DIR\n" },
        { "providers", cmd_providers, "provider package hashes",
          "tfgate providers hash PATH    h1: of a directory or zip, and zh: of a zip\n" },
        { "jail", cmd_jail, CLI_JAIL_SUMMARY, CLI_JAIL_USAGE },
        { "redact", cmd_redact, "the output filter, stdin to stdout",
          "tfgate redact [--secrets-file F] [--secret-env NAME]... [--no-patterns]\n"
          "              [--keep-colour] [--line-max SIZE] [--max SIZE]\n" },
        { "keygen", cmd_keygen, "create an Ed25519 signing key",
          "tfgate keygen --out FILE     writes FILE (0600) and FILE.pub\n" },
        { "sign", cmd_sign, "sign a result file",
          "tfgate sign --key KEY RESULT.json\n" },
        { "verify", cmd_verify, "verify a signed result",
          "tfgate verify --key PUB [--expect-commit SHA] FILE\n" },
        { "audit", cmd_audit, "verify the audit log's hash chain",
          "tfgate audit verify FILE\n" },
        { "register", cmd_register, "register this host as a GitLab runner",
          "tfgate register gitlab --url URL --token-file FILE\n" },
        { "unregister", cmd_unregister, "remove this runner from GitLab",
          "tfgate unregister gitlab [-c FILE]\n" },
        { "status", cmd_status, "running jobs of the local daemon",
          "tfgate status [-c FILE]\n" },
        { "config", cmd_config, "validate a configuration file",
          "tfgate config check FILE     prints \"ok\" and the effective config, or the errors\n" },
        { "version", cmd_version, "version of tfgate and its libraries",
          "tfgate version\n" },
};

const size_t cli_n_commands = ARRAY_SIZE(cli_commands);
const char cli_program[] = "tfgate";

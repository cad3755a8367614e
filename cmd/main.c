/* atb: the command-line program. It only dispatches to a subcommand. */
#include "cmd.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    int runs;              /* starts a run, which catches the stop signals */
} subcommands[] = {
    {"pool", cmd_modes, 1},     {"try-all", cmd_modes, 1}, {"wait-all", cmd_modes, 1},
    {"race", cmd_modes, 1},     {"latch", cmd_latch, 0},   {"cancel", cmd_cancel, 0},
    {"shield", cmd_shield, 1},  {"run", cmd_run, 1},
};

/* Before main() and the rest of atb: a signal that asks atb to stop waits
 * for the run, which then cancels its commands, writes the reports and dies
 * of it; main() unblocks them for the subcommands that run nothing. */
__attribute__((constructor)) static void block_early(void)
{
    cmd_block_signals(1);
}

/* An unknown subcommand, with the nearest known one ("did you mean"). */
static void unknown(const char *sub)
{
    const char *names[sizeof(subcommands) / sizeof(subcommands[0]) + 1], *near;
    size_t n = 0;

    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        names[n++] = subcommands[i].name;
    names[n++] = "help";
    near = atb_nearest(sub, names, n);
    if (near)
        cmd_err("unknown mode '%s'; did you mean '%s'? (try 'atb --help')", sub, near);
    else
        cmd_err("unknown mode '%s' (try 'atb --help')", sub);
}

int main(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    /* A write to a closed pipe must come back as EPIPE, not kill atb while
     * it still has children to wait for. Children get SIGPIPE back: spawn
     * resets every disposition. */
    signal(SIGPIPE, SIG_IGN);

    if (sub == NULL) {
        cmd_help(NULL, stderr);
        return EXIT_ATB;
    }
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        cmd_help(NULL, stdout);
        return 0;
    }
    if (strcmp(sub, "--version") == 0 || strcmp(sub, "-V") == 0) {
        printf("atb %s\n", ATB_VERSION);
        return 0;
    }
    if (strcmp(sub, "help") == 0) {
        if (cmd_help(argc > 2 ? argv[2] : NULL, stdout) < 0) {
            cmd_err("help: unknown topic '%s'", argv[2]);
            return EXIT_ATB;
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (strcmp(sub, subcommands[i].name) != 0)
            continue;
        if (!subcommands[i].runs)
            cmd_block_signals(0);
        return subcommands[i].run(argc - 1, argv + 1);
    }
    unknown(sub);
    return EXIT_ATB;
}

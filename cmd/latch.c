/* Placeholder until the latch work lands; replaced by cmd/latch.c proper. */
#include "cmd.h"

int cmd_latch(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cmd_err("latch: not available in this build");
    return EXIT_ATB;
}

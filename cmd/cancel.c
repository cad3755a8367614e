/* Placeholder until the cancel work lands; replaced by cmd/cancel.c proper. */
#include "cmd.h"

int cmd_cancel(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cmd_err("cancel: not available in this build");
    return EXIT_ATB;
}

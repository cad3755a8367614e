/* stdin: who reads atb's standard input, and who has the terminal.
 *
 * As with timeout(1), a run of one command gives it atb's stdin: `atb race
 * -t 5 -- psql <migrate.sql` must feed psql, not /dev/null. With several
 * commands, none gets it (they would race for the bytes) unless -i names
 * one. --no-stdin keeps it from a lone command; a spec read from stdin and
 * --stdin have taken it already.
 *
 * --foreground gives that command the terminal as well (timeout
 * --foreground): its process group becomes the terminal's foreground
 * group, so it can read the terminal instead of being stopped by SIGTTIN,
 * and ^C reaches it. It does so only when atb itself is in the foreground:
 * a background atb must not take the terminal from the shell's job. */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* The id of the one main command, or -1 when there are none or several. */
static int lone_command(const struct atb_run *run)
{
    int id = -1;

    for (size_t i = 0; i < atb_run_count(run); i++) {
        const struct atb_result *res = atb_run_result(run, (int)i);

        if (res == NULL || res->cleanup)
            continue;
        if (id >= 0)
            return -1;
        id = (int)i;
    }
    return id;
}

/* atb's own terminal when atb is in its foreground, else -1: it has none
 * or is in the background, or (*err, a negative errno) it cannot tell. */
static int foreground_tty(int *err)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

    *err = 0;
    if (fd < 0) {
        /* No controlling terminal is the usual case, not an error. */
        if (errno != ENXIO && errno != ENOENT && errno != ENODEV)
            *err = -errno;
        return -1;
    }
    if (tcgetpgrp(fd) != getpgrp()) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int cmd_give_stdin(struct atb_run *run, struct cmd_view *view, int stdin_taken)
{
    int id = -1, rc = 0, err;

    if (view->no_stdin && atb_run_get_input(run)) {
        cmd_err("%s: --no-stdin and --input '%s': choose one", view->who,
                atb_run_get_input(run));
        return -1;
    }
    if (atb_run_get_input(run) == NULL && !view->no_stdin && !stdin_taken) {
        id = lone_command(run);
        if (id >= 0)
            rc = atb_run_set_input_id(run, id, STDIN_FILENO);
    }
    if (rc == 0 && view->foreground) {
        if (atb_run_get_input(run) == NULL && id < 0) {
            cmd_err("%s: --foreground: no command reads the terminal (give one command, "
                    "or name one with --input)",
                    view->who);
            return -1;
        }
        /* The command writes to the terminal itself, as it would alone. */
        if (atb_run_get_output(run) == ATB_OUTPUT_AUTO)
            rc = atb_run_set_output(run, ATB_OUTPUT_INHERIT);
        view->tty = foreground_tty(&err);
        if (rc == 0 && err < 0) {
            cmd_err("%s: --foreground: /dev/tty: %s", view->who, strerror(-err));
            return -1;
        }
        if (rc == 0 && view->tty >= 0)
            rc = atb_run_set_foreground(run, view->tty);
    }
    if (rc < 0) {
        cmd_err("%s: %s", view->who, atb_strerror(rc));
        return -1;
    }
    return 0;
}

/* err: how atb speaks of its own troubles, and how it ends of a signal. */
#include "cmd.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>

void cmd_err(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("atb: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cmd_reraise(int sig)
{
    struct rlimit none = {0, 0};
    sigset_t set;

    /* Dying of a SIGQUIT it was sent is not a crash of atb's: no core
     * file (timeout(1) does the same). */
    (void)setrlimit(RLIMIT_CORE, &none);
    signal(sig, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
}

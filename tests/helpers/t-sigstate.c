/* t-sigstate: prints the signal state this process was started with, to check
 * that atb gives every command an empty signal mask and default dispositions
 * (SIG_IGN and the mask survive exec, so they would leak from atb or from
 * atb's own parent), and its own process group.
 *
 * Output, one fact per line:
 *   blocked=NAME NAME...   the signals blocked (empty when none)
 *   ignored=NAME NAME...   the signals whose disposition is SIG_IGN
 *   pgrp=leader|member     whether the process leads its process group
 * Exits 0. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void print_name(int signo, int *first)
{
    const char *name = sigabbrev_np(signo);

    printf("%s", *first ? "" : " ");
    *first = 0;
    if (name != NULL)
        printf("%s", name);
    else
        printf("%d", signo);
}

int main(void)
{
    sigset_t blocked;
    int first = 1;

    if (sigprocmask(SIG_BLOCK, NULL, &blocked) != 0) {
        perror("t-sigstate: sigprocmask");
        return 2;
    }
    fputs("blocked=", stdout);
    for (int signo = 1; signo < NSIG; signo++)
        if (sigismember(&blocked, signo) == 1)
            print_name(signo, &first);
    putchar('\n');

    first = 1;
    fputs("ignored=", stdout);
    for (int signo = 1; signo < NSIG; signo++) {
        struct sigaction sa;

        if (sigaction(signo, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
            print_name(signo, &first);
    }
    putchar('\n');

    printf("pgrp=%s\n", getpgrp() == getpid() ? "leader" : "member");
    return fflush(stdout) == 0 ? 0 : 2;
}

/* t-sigstate: prints the signal state this process was started with, to check
 * that atb gives every command an empty signal mask and default dispositions
 * (SIG_IGN and the mask survive exec, so they would leak from atb or from
 * atb's own parent), and its own process group.
 *
 * Output, one fact per line:
 *   blocked=NAME NAME...   the signals blocked (empty when none)
 *   ignored=NAME NAME...   the signals whose disposition is SIG_IGN, as the
 *                          kernel says (/proc/self/status SigIgn): the C
 *                          library's sigaction() hides its own (32, 33)
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

/* The SigIgn mask of /proc/self/status; exits 2 when it cannot be read. */
static unsigned long long ignored_mask(void)
{
    char line[256];
    unsigned long long mask = 0;
    FILE *f = fopen("/proc/self/status", "re");

    if (f == NULL) {
        perror("t-sigstate: /proc/self/status");
        _exit(2);
    }
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "SigIgn: %llx", &mask) == 1)
            break;
    fclose(f);
    return mask;
}

int main(void)
{
    unsigned long long ignored;
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
    ignored = ignored_mask();
    for (int signo = 1; signo < NSIG && signo <= 64; signo++)
        if (ignored & (1ULL << (signo - 1)))
            print_name(signo, &first);
    putchar('\n');

    printf("pgrp=%s\n", getpgrp() == getpid() ? "leader" : "member");
    return fflush(stdout) == 0 ? 0 : 2;
}

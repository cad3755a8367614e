/* t-exec: starts a command (normally atb) in a chosen starting state, to check
 * that atb neither depends on nor passes on what its own parent gave it.
 *
 *   t-exec [-c] [-b SIGS] [-i SIGS] [-d SIGS] [-w PIDFILE] -- CMD [ARG...]
 *
 * -c          close every fd above 2 (bats keeps several open)
 * -b SIGS     block these signals (comma-separated names or numbers)
 * -i SIGS     set these signals to SIG_IGN
 * -d SIGS     set these signals to SIG_DFL (a non-interactive shell starts
 *             background jobs with SIGINT and SIGQUIT ignored)
 * -w PIDFILE  fork: the child writes its pid to PIDFILE and execs CMD; the
 *             parent waits and prints "exited N" or "signaled N" (so a test
 *             can tell a death by signal from an exit with 128+N), exit 0
 * Without -w, execs CMD in place. Exits 2 on a usage error, 127 when CMD
 * cannot be executed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

static int parse_signal(const char *text)
{
    char *end;
    long v = strtol(text, &end, 10);

    if (*text != '\0' && *end == '\0')
        return v > 0 && v < NSIG ? (int)v : -1;
    if (strncasecmp(text, "SIG", 3) == 0)
        text += 3;
    for (int signo = 1; signo < NSIG; signo++) {
        const char *name = sigabbrev_np(signo);

        if (name != NULL && strcasecmp(text, name) == 0)
            return signo;
    }
    return -1;
}

/* Parses "INT,TERM" into set; returns 0 or -1. */
static int parse_list(const char *text, sigset_t *set)
{
    char buf[256], *save = NULL;

    if (strlen(text) >= sizeof(buf))
        return -1;
    strcpy(buf, text);
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        int signo = parse_signal(tok);

        if (signo < 0)
            return -1;
        sigaddset(set, signo);
    }
    return 0;
}

static void usage(void)
{
    fputs("usage: t-exec [-c] [-b SIGS] [-i SIGS] [-d SIGS] [-w PIDFILE] -- "
          "CMD [ARG...]\n", stderr);
    exit(2);
}

static void write_pid(const char *path)
{
    FILE *f = fopen(path, "w");

    if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
        perror("t-exec: pidfile");
        _exit(2);
    }
}

/* Puts this process in the requested state and execs argv; never returns. */
static void exec_in_state(int close_fds, const sigset_t *block,
                          const sigset_t *ignore, const sigset_t *dfl,
                          char **argv)
{
    for (int signo = 1; signo < NSIG; signo++) {
        if (sigismember(ignore, signo) == 1)
            signal(signo, SIG_IGN);
        if (sigismember(dfl, signo) == 1)
            signal(signo, SIG_DFL);
    }
    sigprocmask(SIG_BLOCK, block, NULL);
    if (close_fds && close_range(3, ~0U, 0) != 0) {
        for (int fd = 3; fd < 4096; fd++)
            close(fd);
    }
    execvp(argv[0], argv);
    fprintf(stderr, "t-exec: %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int main(int argc, char **argv)
{
    const char *pidfile = NULL;
    sigset_t block, ignore, dfl;
    int close_fds = 0, opt, status;
    pid_t pid;

    sigemptyset(&block);
    sigemptyset(&ignore);
    sigemptyset(&dfl);
    while ((opt = getopt(argc, argv, "+cb:i:d:w:")) != -1) {
        switch (opt) {
        case 'c':
            close_fds = 1;
            break;
        case 'b':
            if (parse_list(optarg, &block) != 0)
                usage();
            break;
        case 'i':
            if (parse_list(optarg, &ignore) != 0)
                usage();
            break;
        case 'd':
            if (parse_list(optarg, &dfl) != 0)
                usage();
            break;
        case 'w':
            pidfile = optarg;
            break;
        default:
            usage();
        }
    }
    if (optind >= argc)
        usage();
    argv += optind;
    if (pidfile == NULL)
        exec_in_state(close_fds, &block, &ignore, &dfl, argv);

    pid = fork();
    if (pid < 0) {
        perror("t-exec: fork");
        return 2;
    }
    if (pid == 0) {
        write_pid(pidfile);
        exec_in_state(close_fds, &block, &ignore, &dfl, argv);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("t-exec: waitpid");
            return 2;
        }
    }
    if (WIFSIGNALED(status))
        printf("signaled %d\n", WTERMSIG(status));
    else
        printf("exited %d\n", WEXITSTATUS(status));
    return 0;
}

/* t-trap: a long-running command with chosen signal dispositions, to see
 * which signals atb sends and how often.
 *
 *   t-trap [-p PIDFILE] [-r FIFO] [-l LOG] [-e CODE] [-i SIG]... [SIG]...
 *
 * -p PIDFILE  append this process's pid to PIDFILE (for teardown)
 * -i SIG      ignore SIG (SIG_IGN; it then also survives into children)
 * SIG         catch SIG: append a line "NAME" (e.g. "TERM") to LOG, then
 *             exit with CODE when -e was given, else carry on
 * -l LOG      the file (or fifo) caught signals are logged to
 * -r FIFO     once every disposition is in place, write "ready" to FIFO
 * Then waits for signals forever. SIG is a name ("TERM", "SIGTERM") or a
 * number. Exits 2 on a usage error. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *log_path;
static int exit_code = -1;
static char names[NSIG][16];

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

/* Only async-signal-safe calls: open, write, close, _exit. */
static void on_signal(int signo)
{
    int saved = errno;

    if (log_path != NULL) {
        int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

        if (fd >= 0) {
            char line[20];
            size_t len = strlen(names[signo]);

            memcpy(line, names[signo], len);
            line[len++] = '\n';
            if (write(fd, line, len) < 0) {
                /* nothing to do: the test will see the line missing */
            }
            close(fd);
        }
    }
    if (exit_code >= 0)
        _exit(exit_code);
    errno = saved;
}

static int append_line(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");

    if (f == NULL)
        return -1;
    fprintf(f, "%s\n", text);
    return fclose(f);
}

static void usage(void)
{
    fputs("usage: t-trap [-p PIDFILE] [-r FIFO] [-l LOG] [-e CODE] "
          "[-i SIG]... [SIG]...\n", stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *pidfile = NULL, *ready = NULL;
    int opt;

    for (int signo = 1; signo < NSIG; signo++) {
        const char *name = sigabbrev_np(signo);

        if (name != NULL)
            snprintf(names[signo], sizeof(names[signo]), "%s", name);
        else
            snprintf(names[signo], sizeof(names[signo]), "%d", signo);
    }
    while ((opt = getopt(argc, argv, "+p:r:l:e:i:")) != -1) {
        int signo;

        switch (opt) {
        case 'p':
            pidfile = optarg;
            break;
        case 'r':
            ready = optarg;
            break;
        case 'l':
            log_path = optarg;
            break;
        case 'e':
            exit_code = atoi(optarg);
            break;
        case 'i':
            signo = parse_signal(optarg);
            if (signo < 0 || signal(signo, SIG_IGN) == SIG_ERR)
                usage();
            break;
        default:
            usage();
        }
    }
    for (int i = optind; i < argc; i++) {
        struct sigaction sa;
        int signo = parse_signal(argv[i]);

        if (signo < 0)
            usage();
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        if (sigaction(signo, &sa, NULL) != 0)
            usage();
    }
    if (pidfile != NULL) {
        char pid[32];

        snprintf(pid, sizeof(pid), "%ld", (long)getpid());
        if (append_line(pidfile, pid) != 0) {
            perror("t-trap: pidfile");
            return 2;
        }
    }
    if (ready != NULL && append_line(ready, "ready") != 0) {
        perror("t-trap: ready");
        return 2;
    }
    for (;;)
        pause();
}

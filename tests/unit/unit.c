/* The unit test runner: see unit.h. */
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#define UNIT_MAX 256
#define UNIT_TIMEOUT_S 30

static struct {
    const char *name;
    unit_fn fn;
} tests[UNIT_MAX];
static int ntests;

/* fds the runner itself was started with (a CI harness may pass some):
 * they are not the test's to close. */
static char inherited[1024];

void unit_register(const char *name, unit_fn fn)
{
    if (ntests == UNIT_MAX)
        abort();
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "# %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1);
}

static void note_inherited_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (fd >= 0 && fd < (int)sizeof(inherited) && fd != dirfd(d))
            inherited[fd] = 1;
    }
    closedir(d);
}

/* Lists fds above 2 that are still open: a leak the test left behind. */
static int leaked_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d) ||
            (fd < (int)sizeof(inherited) && inherited[fd]))
            continue;
        fprintf(stderr, "# leaked fd %d\n", fd);
        n++;
    }
    closedir(d);
    return n;
}

static int run_one(int i)
{
    pid_t pid;
    int status;

    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        siginfo_t si;

        setpgid(0, 0);
        alarm(UNIT_TIMEOUT_S);
        tests[i].fn();
        if (leaked_fds() > 0)
            _exit(2);
#ifdef __SANITIZE_ADDRESS__
        /* The test leaves through _exit(), which skips LeakSanitizer's own
         * check at exit: ask for it here. */
        if (__lsan_do_recoverable_leak_check())
            _exit(4);
#endif
        si.si_pid = 0;
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            si.si_pid != 0) {
            fprintf(stderr, "# child %d left unreaped\n", (int)si.si_pid);
            _exit(3);
        }
        _exit(0);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    kill(-pid, SIGKILL); /* whatever the test left in its group */
    if (WIFSIGNALED(status))
        fprintf(stderr, "# killed by signal %d%s\n", WTERMSIG(status),
                WTERMSIG(status) == SIGALRM ? " (time limit)" : "");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    int failed = 0;

    note_inherited_fds();
    printf("1..%d\n", ntests);
    for (int i = 0; i < ntests; i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        int rc = run_one(i);
        printf("%s %d - %s: %s\n", rc == 0 ? "ok" : "not ok", i + 1, prog,
               tests[i].name);
        fflush(stdout);
        failed += rc != 0;
    }
    return failed ? 1 : 0;
}

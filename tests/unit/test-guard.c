/* guard.c: the first guardian settles while atb goes on, and
 * atb__guard_ready() hears before anything starts whether it did; a
 * guardian that cannot settle is reported there, reaped, and never writes
 * the errno it shares with atb. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "rawsys.h"

/* What /proc says of pid's name, newline dropped. */
static void comm_of(pid_t pid, char *buf, size_t size)
{
    char path[64];
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    f = fopen(path, "r");
    ASSERT(f != NULL);
    ASSERT(fgets(buf, (int)size, f) != NULL);
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

TEST(ready_once_out_of_the_session_and_gone_at_the_end)
{
    struct atb__guard gd;
    char name[32];

    ASSERT_EQ(atb__guard_start(&gd, "unitt0ken", SIGTERM, 1.0, NULL), 0);
    ASSERT(gd.pid > 0);
    ASSERT_EQ(atb__guard_ready(&gd), 0);
    ASSERT_EQ(atb__guard_ready(&gd), 0); /* once: nothing more to read */
    ASSERT_EQ(getsid(gd.pid), gd.pid);
    ASSERT(getpgid(gd.pid) != getpgid(0));
    comm_of(gd.pid, name, sizeof(name));
    ASSERT_STR_EQ(name, "atb-guard");
    atb__guard_reap(&gd);
    ASSERT_EQ(gd.pid, 0);
    ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1);
    ASSERT_EQ(errno, ECHILD);
}

TEST(a_guardian_that_cannot_settle_is_heard_before_anything_starts)
{
    struct atb__guard gd;
    struct rlimit old, tight;
    int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC), rc;

    /* Room for the socket pair and nothing more: the guardian cannot move
     * its end above fd 3, so it gives up without its "R". */
    ASSERT(lowest >= 3);
    close(lowest);
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    tight = old;
    tight.rlim_cur = (rlim_t)lowest + 2;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
    errno = 4242;
    rc = atb__guard_start(&gd, "unitt0ken", SIGTERM, 1.0, NULL);
#ifdef ATB__RAW_SYSCALLS
    {
        struct pollfd p = {gd.fd, POLLIN, 0};

        /* Started without waiting; its end of the socket closes when it
         * gives up. Its failed calls went straight to the kernel: the
         * errno it shares with us is as it was. */
        ASSERT_EQ(rc, 0);
        ASSERT_EQ(poll(&p, 1, 10000), 1);
        ASSERT_EQ(errno, 4242);
    }
#endif
    if (rc == 0)
        rc = atb__guard_ready(&gd);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
    ASSERT_EQ(rc, -ECHILD);
    ASSERT_EQ(gd.pid, 0); /* reaped */
    ASSERT_EQ(gd.fd, -1);
    ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1);
}

/* capture.h, the stand-ins for the caller's output fds that the other
 * tests read back: a helper that lost bytes would make those tests fail
 * for want of output atb did write, at random, so what it promises is
 * tested here on its own. */
#include "unit.h"

#include <sys/wait.h>

#include "capture.h"

#define WRITERS 4
#define WRITES 5000
#define LINE "0123456789abcdef\n" /* 17 bytes: writes of odd size */

/* Processes writing at once through one open file description (the run
 * and the commands it starts in inherit mode) all keep their bytes. A
 * memfd as memfd_create() returns it failed this on every try, pinned to
 * one CPU too: its writes do not take the shared offset's lock, and a
 * third of the lines or more were written over (238442 bytes of 340000).
 * Only writing at once shows it, hence many writes, not one exact step. */
TEST(mem_file_keeps_every_write_of_processes_sharing_it)
{
    int fd = mem_file(), status;
    pid_t pids[WRITERS];
    size_t len, want = (size_t)WRITERS * WRITES * (sizeof(LINE) - 1);
    char *text, *lines;

    for (int k = 0; k < WRITERS; k++) {
        pids[k] = fork();
        ASSERT(pids[k] >= 0);
        if (pids[k] == 0) {
            for (int i = 0; i < WRITES; i++)
                if (write(fd, LINE, sizeof(LINE) - 1) != (ssize_t)sizeof(LINE) - 1)
                    _exit(1);
            _exit(0);
        }
    }
    for (int k = 0; k < WRITERS; k++) {
        ASSERT_EQ(waitpid(pids[k], &status, 0), pids[k]);
        ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    text = file_text(fd, &len);
    ASSERT_EQ(len, want);
    lines = lines_with(text, LINE);
    ASSERT_EQ(strlen(lines), want);
    free(text), free(lines);
    close(fd);
}

/* The writes of one process land one after another, and file_text()
 * reads from the start whatever the fd's own offset is. */
TEST(mem_file_reads_back_from_the_start)
{
    int fd = mem_file();
    size_t len;
    char *text;

    ASSERT_EQ(write(fd, "one\n", 4), 4);
    ASSERT_EQ(write(fd, "two\n", 4), 4);
    text = file_text(fd, &len);
    ASSERT_EQ(len, 8);
    ASSERT_STR_EQ(text, "one\ntwo\n");
    free(text);
    close(fd);
}

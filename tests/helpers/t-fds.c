/* t-fds: prints the file descriptors this process has open, to check that
 * atb leaks none of its own into the commands it starts.
 *
 * Output: a first line "fds: 0 1 2" (the open fds in increasing order), then
 * one line "N -> TARGET" per fd above 2, so a failing test shows what leaked.
 * Exits 0, or 2 when /proc/self/fd cannot be read. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_FDS 1024

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

int main(void)
{
    int fds[MAX_FDS];
    size_t n = 0;
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;

    if (dir == NULL) {
        perror("t-fds: /proc/self/fd");
        return 2;
    }
    while ((e = readdir(dir)) != NULL && n < MAX_FDS) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);

        if (e->d_name[0] == '.' || *end != '\0' || fd == dirfd(dir))
            continue;
        fds[n++] = (int)fd;
    }
    qsort(fds, n, sizeof(fds[0]), cmp_int);

    fputs("fds:", stdout);
    for (size_t i = 0; i < n; i++)
        printf(" %d", fds[i]);
    putchar('\n');
    for (size_t i = 0; i < n; i++) {
        char link[64], target[PATH_MAX];
        ssize_t len;

        if (fds[i] <= 2)
            continue;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
        len = readlink(link, target, sizeof(target) - 1);
        target[len < 0 ? 0 : len] = '\0';
        printf("%d -> %s\n", fds[i], target);
    }
    closedir(dir);
    return fflush(stdout) == 0 ? 0 : 2;
}

/* t-fds: prints the file descriptors this process has open, to check that
 * atb leaks none of its own into the commands it starts.
 *
 *   t-fds [FILE]
 *
 * Output, to FILE when given (opened only after the fds are listed, so atb's
 * output modes cannot change what is seen), else to stdout: a first line
 * "fds: 0 1 2" (the open fds in increasing order), then one line
 * "N -> TARGET" per fd above 2, so a failing test shows what leaked.
 * Exits 0, or 2 when /proc/self/fd cannot be read or FILE written. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_FDS 256

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int fds[MAX_FDS];
    char targets[MAX_FDS][512];
    size_t n = 0;
    FILE *out = stdout;
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
    for (size_t i = 0; i < n; i++) {
        char link[64];
        ssize_t len;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
        len = readlink(link, targets[i], sizeof(targets[i]) - 1);
        targets[i][len < 0 ? 0 : len] = '\0';
    }
    closedir(dir);

    if (argc > 1 && (out = fopen(argv[1], "w")) == NULL) {
        perror("t-fds: output");
        return 2;
    }
    fputs("fds:", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, " %d", fds[i]);
    fputc('\n', out);
    for (size_t i = 0; i < n; i++)
        if (fds[i] > 2)
            fprintf(out, "%d -> %s\n", fds[i], targets[i]);
    return fclose(out) == 0 ? 0 : 2;
}

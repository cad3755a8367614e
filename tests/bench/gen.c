/* gen: writes BYTES bytes of 64-byte lines to stdout, fast.
 *
 *   gen BYTES [LINE]
 *
 * The output benchmark needs a producer that is never the bottleneck: the
 * lines are built once in a 1 MiB buffer and written with large write()s,
 * so the cost left is the pipe itself. LINE (default 64) is the length of a
 * line including its newline. Exits 0, or 1 when a write fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1024 * 1024)

int main(int argc, char **argv)
{
    static char buf[CHUNK];
    unsigned long long total, line = 64;
    size_t chunk;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: gen BYTES [LINE]\n");
        return 2;
    }
    total = strtoull(argv[1], NULL, 10);
    if (argc == 3)
        line = strtoull(argv[2], NULL, 10);
    if (line < 2 || line > CHUNK) {
        fprintf(stderr, "gen: LINE must be 2..%d\n", CHUNK);
        return 2;
    }
    /* A whole number of lines per chunk, so every write ends a line. */
    chunk = CHUNK - CHUNK % line;
    for (size_t i = 0; i < chunk; i++)
        buf[i] = (i % line == line - 1) ? '\n' : (char)('a' + (i / line + i % line) % 26);
    while (total > 0) {
        size_t want = total < chunk ? (size_t)total : chunk;
        char *p = buf;
        size_t left = want;

        if (want < chunk && want % line != 0)
            buf[want - 1] = '\n'; /* end a short last piece with a newline */
        while (left > 0) {
            ssize_t n = write(1, p, left);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return 1;
            }
            p += n;
            left -= (size_t)n;
        }
        total -= want;
    }
    return 0;
}

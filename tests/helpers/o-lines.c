/* o-lines TAG COUNT SEED: writes COUNT lines "TAG SEQ LEN PAYLOAD" with
 * payloads of random length (0..3000 bytes), in writes cut at random
 * places, so that a reader sees lines split across reads. Used to check
 * that atb never splits or interleaves lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            exit(1);
        p += w;
        n -= (size_t)w;
    }
}

int main(int argc, char **argv)
{
    static char buf[1 << 16];
    size_t len = 0;

    if (argc != 4)
        return 2;
    long count = atol(argv[2]);
    srand((unsigned)atol(argv[3]));
    for (long i = 0; i < count; i++) {
        char line[3200];
        int plen = rand() % 3000;
        int n = snprintf(line, sizeof(line), "%s %ld %d ", argv[1], i, plen);
        memset(line + n, 'a' + (int)(i % 26), (size_t)plen);
        line[n + plen] = '\n';
        n += plen + 1;
        while (len + (size_t)n > sizeof(buf)) {
            /* Write a random-sized head, keep the rest: lines get cut. */
            size_t cut = (size_t)rand() % len + 1;
            put(buf, cut);
            memmove(buf, buf + cut, len - cut);
            len -= cut;
        }
        memcpy(buf + len, line, (size_t)n);
        len += (size_t)n;
    }
    put(buf, len);
    return 0;
}

/* nearest: "did you mean": the known word closest to a mistyped one, by
 * edit distance (insertions, deletions and substitutions of one byte). The
 * spec parser uses it for keys, the program for subcommands and options. */
#include "internal.h"

#include <stdint.h>
#include <string.h>

/* Words longer than this are never close to ours (and the row stays on the
 * stack). */
#define NEAREST_MAX 32

static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[NEAREST_MAX + 2];

    if (la > NEAREST_MAX || lb > NEAREST_MAX)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *atb_nearest(const char *word, const char *const *names, size_t n)
{
    const char *near = NULL;
    size_t best = 3; /* two edits at most: more is another word */

    for (size_t i = 0; i < n; i++) {
        size_t d = names[i] ? distance(word, names[i]) : SIZE_MAX;

        if (d < best) {
            best = d;
            near = names[i];
        }
    }
    return near;
}

/* args: splitting an argv into command groups, for any front end that takes
 * several commands in one argument list. */
#include "internal.h"

#include <errno.h>
#include <string.h>

int atb_argv_split(int argc, char *const argv[], const char *sep,
                   struct atb_argv_group *groups, size_t *ngroups)
{
    size_t n = 0;
    int start = 0;

    *ngroups = 0;
    if (argc <= 0)
        return -EINVAL;
    for (int i = 0; i <= argc; i++) {
        if (i < argc && strcmp(argv[i], sep) != 0)
            continue;
        if (i == start)
            return -EINVAL; /* an empty group: "a -- -- b", or a trailing sep */
        groups[n].argv = argv + start;
        groups[n].argc = i - start;
        n++;
        start = i + 1;
    }
    *ngroups = n;
    return 0;
}

/* args: the pieces of argument handling that any front end needs: splitting
 * argv into command groups, and the default name of a command. */
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

size_t atb_name_default(const char *program, int shell, char *buf, size_t size)
{
    const char *start = program, *end, *slash;
    size_t len;

    /* For a shell command, the program is its first word. */
    if (shell) {
        while (*start == ' ' || *start == '\t' || *start == '\n')
            start++;
        for (end = start; *end && *end != ' ' && *end != '\t' && *end != '\n'; end++)
            ;
    } else {
        end = start + strlen(start);
    }
    /* Its basename: "./bin/test" -> "test"; "dir/" keeps "dir". */
    while (end > start + 1 && end[-1] == '/')
        end--;
    for (slash = end; slash > start && slash[-1] != '/'; slash--)
        ;
    start = slash;
    len = (size_t)(end - start);
    if (len == 0) {
        start = "cmd";
        len = 3;
    }
    if (size > 0) {
        size_t copy = len < size - 1 ? len : size - 1;
        memcpy(buf, start, copy);
        buf[copy] = '\0';
    }
    return len;
}

/* prefix: the prefix formats of prefix mode ("[{name}] " by default), and
 * the palette prefixes and group headers are coloured from. */
#include "engine.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *const atb__palette[6] = {"\033[36m", "\033[33m", "\033[32m",
                                     "\033[35m", "\033[34m", "\033[31m"};

static const char *const keys[] = {"{name}", "{index}", "{pid}", "{time}"};

int atb_prefix_check(const char *format)
{
    for (const char *p = strchr(format, '{'); p; p = strchr(p + 1, '{')) {
        size_t i;
        for (i = 0; i < ATB__ARRAY_SIZE(keys); i++)
            if (strncmp(p, keys[i], strlen(keys[i])) == 0)
                break;
        if (i == ATB__ARRAY_SIZE(keys))
            return ATB_EPREFIX;
    }
    return 0;
}

/* Writes the value of the placeholder at p (one of keys) into tmp, or
 * points *out at it. {name} is the command's name; on its attempts after
 * the first (see atb__cmd_label()) tmp gets what follows the name. */
static size_t value_of(size_t key, const struct atb__cmd *cmd, int measuring, char *tmp,
                       size_t size, const char **out)
{
    struct timespec ts;
    struct tm tm;

    switch (key) {
    case 0:
        *out = cmd->name;
        return strlen(cmd->name);
    case 4: /* not a placeholder: what follows {name} */
        *out = tmp;
        return atb__cmd_attempt(cmd, measuring, tmp, size);
    case 1:
        *out = tmp;
        return (size_t)snprintf(tmp, size, "%d", cmd->res.id + 1);
    case 2:
        *out = measuring ? "1234567" : tmp;
        return measuring ? 7 : (size_t)snprintf(tmp, size, "%d", (int)cmd->res.pid);
    default:
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        *out = tmp;
        return (size_t)snprintf(tmp, size, "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min,
                                tm.tm_sec, ts.tv_nsec / 1000000);
    }
}

/* Appends what fits of a piece (a prefix cut short stays a prefix). */
static void piece(char *buf, size_t size, size_t *len, const char *val, size_t n)
{
    if (*len + 1 < size)
        memcpy(buf + *len, val, *len + n < size ? n : size - 1 - *len);
    *len += n;
}

size_t atb__prefix_render(const char *format, const struct atb__cmd *cmd, int measuring,
                          char *buf, size_t size)
{
    size_t len = 0;

    for (const char *p = format; *p;) {
        char tmp[32];
        const char *val = p;
        size_t key = ATB__ARRAY_SIZE(keys), n = 1;

        if (*p == '{')
            for (key = 0; key < ATB__ARRAY_SIZE(keys); key++)
                if (strncmp(p, keys[key], strlen(keys[key])) == 0)
                    break;
        if (key < ATB__ARRAY_SIZE(keys)) {
            n = value_of(key, cmd, measuring, tmp, sizeof(tmp), &val);
            p += strlen(keys[key]);
        } else {
            p++;
        }
        piece(buf, size, &len, val, n);
        /* The attempt after the name: " 2/3". */
        if (key == 0) {
            n = value_of(4, cmd, measuring, tmp, sizeof(tmp), &val);
            piece(buf, size, &len, val, n);
        }
    }
    if (size > 0)
        buf[len < size ? len : size - 1] = '\0';
    return len;
}

/* feed: atb pool --stdin, one line one command. With a template the line
 * is the argument each {} stands for; otherwise a line starting with '{'
 * is a JSON command object (as in a spec) and any other line a shell
 * command. The library reads the lines; this turns each into a command. */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Replaces every "{}" in word by line into a malloc'd string. */
static char *substitute(const char *word, const char *line, size_t len)
{
    size_t n = 0, size;
    char *out, *o;

    for (const char *p = strstr(word, "{}"); p; p = strstr(p + 2, "{}"))
        n++;
    size = strlen(word) - 2 * n + n * len + 1;
    out = o = malloc(size);
    if (out == NULL)
        return NULL;
    for (const char *p = word; *p;) {
        if (p[0] == '{' && p[1] == '}') {
            memcpy(o, line, len);
            o += len;
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

static int add_templated(struct atb_run *run, struct cmd_feed *f, const char *line, size_t len)
{
    struct atb_cmd c = ATB_CMD_INIT;
    char **words = calloc((size_t)f->tmpl_argc + 1, sizeof(*words));
    int rc = 0;

    if (words == NULL)
        return -ENOMEM;
    for (int i = 0; i < f->tmpl_argc && rc == 0; i++)
        if ((words[i] = substitute(f->tmpl[i], line, len)) == NULL)
            rc = -ENOMEM;
    c.argv = words;
    if (rc == 0)
        rc = atb_run_add(run, &c);
    for (int i = 0; i < f->tmpl_argc; i++)
        free(words[i]);
    free(words);
    return rc < 0 ? rc : 0;
}

/* A JSON command object, as in a spec's "commands". */
static int add_json(struct atb_run *run, struct cmd_feed *f, const char *line, size_t len)
{
    struct atb_spec *spec = NULL;
    const struct atb_cmd *c;
    struct atb_error err;
    char origin[48], msg[1024];
    int rc;

    snprintf(origin, sizeof(origin), "stdin:%lu", f->line_no);
    rc = atb_spec_parse_cmd(line, len, NULL, &spec, &err);
    if (rc < 0) {
        /* One line of stdin: the place is the line's number and the
         * column in it. */
        if (err.line > 0)
            snprintf(origin, sizeof(origin), "stdin:%lu:%u", f->line_no, err.col);
        err.line = 0;
        cmd_err("%s", atb_spec_message(&err, origin, msg, sizeof(msg)));
        return rc;
    }
    c = atb_spec_cmd(spec, 0);
    if (c->ready_when || c->sets || c->wait_for) {
        /* Dependencies are worked out before a run starts. */
        cmd_err("%s: ready_when, sets and wait_for belong in a spec (atb run), not in "
                "--stdin",
                origin);
        atb_spec_free(spec);
        return -EINVAL;
    }
    rc = atb_run_add(run, c);
    if (rc == ATB_EDUPNAME)
        cmd_err("%s: duplicate name '%s'", origin, c->name);
    atb_spec_free(spec);
    return rc < 0 ? rc : 0;
}

int cmd_feed_line(struct atb_run *run, const char *line, size_t len, void *data)
{
    struct cmd_feed *f = data;
    struct atb_cmd c = ATB_CMD_INIT;
    char *text;
    int rc;

    f->line_no++;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (memchr(line, '\0', len) != NULL) {
        cmd_err("stdin:%lu: a command line cannot hold a NUL byte", f->line_no);
        return -EINVAL;
    }
    if (f->tmpl)
        return add_templated(run, f, line, len);
    while (len > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    if (len == 0)
        return 0;
    if (*line == '{')
        return add_json(run, f, line, len);
    text = strndup(line, len);
    if (text == NULL)
        return -ENOMEM;
    c.shell = text;
    rc = atb_run_add(run, &c);
    free(text);
    return rc < 0 ? rc : 0;
}

/* feed: atb pool --stdin, one line one command. With a template the line
 * is the argument each {} stands for; otherwise a line starting with '{'
 * is a JSON command object (as in a spec) and any other line a shell
 * command. The library reads the lines; this turns each into a command. */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cmd_add_job(struct atb_run *run, char *const *tmpl, int argc,
                const struct cmd_tmpl_job *job)
{
    struct atb_cmd c = ATB_CMD_INIT;
    char **words, label[CMD_LABEL_MAX], *line;
    int rc = 0;

    c.label = cmd_tmpl_label(job, label, sizeof(label));
    /* {%}: the slot is known only at the start; the shell reads it. */
    if (cmd_tmpl_has(tmpl, argc, 1)) {
        if ((line = cmd_tmpl_shell(tmpl, argc, job)) == NULL)
            return -ENOMEM;
        c.shell = line;
        rc = atb_run_add(run, &c);
        free(line);
        return rc < 0 ? rc : 0;
    }
    words = calloc((size_t)argc + 1, sizeof(*words));
    if (words == NULL)
        return -ENOMEM;
    for (int i = 0; i < argc && rc == 0; i++)
        if ((words[i] = cmd_tmpl_expand(tmpl[i], job)) == NULL)
            rc = -ENOMEM;
    c.argv = words;
    if (rc == 0)
        rc = atb_run_add(run, &c);
    for (int i = 0; i < argc; i++)
        free(words[i]);
    free(words);
    return rc < 0 ? rc : 0;
}

static int add_templated(struct atb_run *run, struct cmd_feed *f, const char *line, size_t len)
{
    struct cmd_tmpl_job job = {.inputs = &line, .lens = &len, .n = 1, .seq = f->line_no};
    char *words[f->tmpl_argc + 1];

    if (!f->append)
        return cmd_add_job(run, f->tmpl, f->tmpl_argc, &job);
    memcpy(words, f->tmpl, (size_t)f->tmpl_argc * sizeof(*words));
    words[f->tmpl_argc] = "{}";
    return cmd_add_job(run, words, f->tmpl_argc + 1, &job);
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
    if (line == NULL) {
        /* The run goes on: one bad line need not cost the others. */
        cmd_err("stdin:%lu: line longer than %zu bytes (the most a command's arguments can "
                "hold); skipped",
                f->line_no, len);
        f->skipped++;
        return 0;
    }
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

/* annotate: CI systems' own marks for failures. Under GitHub Actions
 * (GITHUB_ACTIONS=true) every command that failed or timed out gets an
 * `::error title=...::...` workflow command, which the runner turns into
 * an annotation on the job's summary page, so a failure is seen without
 * opening the log. */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

/* Writes s escaped as a workflow command wants it: '%', CR and LF always,
 * and in a property (the title) ':' and ',' too. */
static void put_escaped_wf(FILE *out, const char *s, int property)
{
    for (; *s; s++) {
        if (*s == '%')
            fputs("%25", out);
        else if (*s == '\r')
            fputs("%0D", out);
        else if (*s == '\n')
            fputs("%0A", out);
        else if (property && *s == ':')
            fputs("%3A", out);
        else if (property && *s == ',')
            fputs("%2C", out);
        else
            fputc(*s, out);
    }
}

struct annotate_ctx {
    const struct atb_run *run;
    FILE *out;
};

static void annotate_one(const struct atb_result *res, void *data)
{
    struct annotate_ctx *a = data;
    char what[160];

    if (res->state != ATB_STATE_FAILED && res->state != ATB_STATE_TIMED_OUT)
        return;
    cmd_describe(a->run, res, what, sizeof(what));
    fputs("::error title=", a->out);
    put_escaped_wf(a->out, "atb: ", 1);
    put_escaped_wf(a->out, res->name, 1);
    put_escaped_wf(a->out, " failed", 1);
    fputs("::", a->out);
    put_escaped_wf(a->out, res->name, 0);
    fputs(": ", a->out);
    put_escaped_wf(a->out, what, 0);
    fputs(" (command:", a->out);
    for (size_t k = 0; res->argv && res->argv[k]; k++) {
        fputc(' ', a->out);
        put_escaped_wf(a->out, res->argv[k], 0);
    }
    fputs(")\n", a->out);
}

void cmd_annotate(const struct atb_run *run, FILE *out)
{
    const char *gha = getenv("GITHUB_ACTIONS");
    struct annotate_ctx a = {run, out};

    if (gha == NULL || strcmp(gha, "true") != 0)
        return;
    cmd_each_result(run, annotate_one, &a);
    fflush(out);
}

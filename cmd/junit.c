/* junit: the JUnit XML report of a finished run, built from the library's
 * public results.
 *
 * Text in the report comes from people and programs (names, argv, captured
 * output) and may hold anything. XML 1.0 cannot carry most control
 * characters even as references, and a byte that is not UTF-8 makes the
 * whole file unreadable, so both come out as U+FFFD; the five special
 * characters are escaped, and in attributes so are tab, newline and carriage
 * return, which attribute normalisation would otherwise turn into spaces.
 */
#include "cmd.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD in UTF-8 */

/* The length of the UTF-8 sequence at p, with its code point in *cp: 0 for
 * bytes that are not one (overlong forms, surrogates and values past
 * U+10FFFF included). */
static size_t utf8_at(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
                             : (*p & 0xF8) == 0xF0 ? 4 : 0;
    uint32_t c;

    if (n == 0 || (size_t)(end - p) < n)
        return 0;
    c = n == 1 ? *p : *p & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < least[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

/* Whether XML 1.0 allows code point c in a document. */
static int xml_char(uint32_t c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* Writes len bytes of s escaped for XML text, or for a double-quoted
 * attribute value when attr is set. */
static void put_escaped(FILE *out, const char *s, size_t len, int attr)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        uint32_t c = 0;
        size_t n = utf8_at(p, end, &c);

        if (n == 0 || !xml_char(c)) {
            fputs(REPLACEMENT, out);
            p += n ? n : 1;
            continue;
        }
        switch (c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs(attr ? "&quot;" : "\"", out);
            break;
        case '\t':
        case '\n':
            if (attr)
                fprintf(out, "&#%u;", (unsigned)c);
            else
                fputc((int)c, out);
            break;
        case '\r':
            fputs("&#13;", out);
            break;
        default:
            fwrite(p, 1, n, out);
            break;
        }
        p += n;
    }
}

static void put_str(FILE *out, const char *s, int attr)
{
    put_escaped(out, s, strlen(s), attr);
}

enum verdict { PASSED, FAILURE, SKIPPED };

/* What a command's result means for JUnit, with a message and a type. */
static enum verdict judge(const struct atb_run *run, const struct atb_result *res,
                          char *msg, size_t size, const char **type)
{
    const char *sig;

    switch (res->state) {
    case ATB_STATE_SUCCEEDED:
        return PASSED;
    case ATB_STATE_TIMED_OUT:
        *type = "timeout";
        snprintf(msg, size, "timed out");
        return FAILURE;
    case ATB_STATE_CANCELLED:
        /* A service lives until atb ends it: that is its success, unless
         * the run failed, which is why it was ended (as the text report
         * lists it). */
        if (res->service && atb_run_outcome(run) == ATB_OUTCOME_SUCCEEDED)
            return PASSED;
        sig = atb_signal_name(res->sent_signal);
        /* Whatever the run's deadline cut short is what made it late. */
        if (atb_run_outcome(run) == ATB_OUTCOME_TIMED_OUT) {
            *type = "timeout";
            snprintf(msg, size, "cancelled when the run timed out");
            return FAILURE;
        }
        if (res->killed)
            snprintf(msg, size, "cancelled, killed after the grace period");
        else
            snprintf(msg, size, "cancelled (%s)", sig ? sig : "signal");
        return SKIPPED;
    case ATB_STATE_FAILED:
        break;
    default: /* not started; queued or running cannot be seen after a run */
        snprintf(msg, size, "not started");
        return SKIPPED;
    }
    if (res->error != NULL) {
        *type = "error";
        if (res->term_signal > 0)
            snprintf(msg, size, "%s (killed by %s)", res->error,
                     atb_signal_name(res->term_signal) ? atb_signal_name(res->term_signal)
                                                       : "a signal");
        else
            snprintf(msg, size, "%s (exit %d)", res->error, res->exit_code);
    } else if (res->start_error == -ENOENT) {
        *type = "start";
        snprintf(msg, size, "command not found");
    } else if (res->start_error != 0) {
        *type = "start";
        snprintf(msg, size, "cannot %s: %s",
                 cmd_status_of_start(res->start_error) == EXIT_CANNOT_EXEC ? "execute"
                                                                            : "start",
                 atb_strerror(res->start_error));
    } else if (res->term_signal > 0) {
        *type = "signal";
        sig = atb_signal_name(res->term_signal);
        if (sig)
            snprintf(msg, size, "killed by %s", sig);
        else
            snprintf(msg, size, "killed by signal %d", res->term_signal);
    } else {
        *type = "exit";
        snprintf(msg, size, "exit %d", res->exit_code);
    }
    return FAILURE;
}

struct junit_ctx {
    const struct atb_run *run;
    FILE *out;
    size_t failures, skipped;
};

/* The text of a failure: which command, what happened, what it ran. */
static void put_story(FILE *out, const struct atb_result *res, const char *msg)
{
    put_str(out, res->name, 0);
    fputs(": ", out);
    put_str(out, msg, 0);
    if (res->attempts_max > 1)
        fprintf(out, " (attempt %d of %d)", res->attempt, res->attempts_max);
    fputs("\ncommand:", out);
    for (size_t k = 0; res->argv[k] != NULL; k++) {
        fputc(' ', out);
        put_str(out, res->argv[k], 0);
    }
}

/* The attempts before the last, as Maven Surefire writes reruns (read by
 * Jenkins and GitLab): flakyFailure when the command passed in the end,
 * rerunFailure otherwise; each with its story and its output. These
 * elements are not in junit-10.xsd: only a report with retries has them. */
static void put_attempts(struct junit_ctx *j, const struct atb_result *res, enum verdict v)
{
    const char *elem = v == PASSED ? "flakyFailure" : "rerunFailure";

    for (int k = 0; k < res->attempt - 1; k++) {
        const struct atb_result *a = atb_run_attempt(j->run, res->id, k);
        const char *type = "", *text;
        char msg[192];
        size_t len = 0;

        if (a == NULL || judge(j->run, a, msg, sizeof(msg), &type) != FAILURE)
            continue;
        fprintf(j->out, "      <%s message=\"", elem);
        put_str(j->out, msg, 1);
        fprintf(j->out, "\" type=\"%s\"><stackTrace>", type);
        put_story(j->out, a, msg);
        fputs("</stackTrace>", j->out);
        text = atb_run_attempt_output(j->run, res->id, k, &len);
        if (text != NULL) {
            fputs("<system-out>", j->out);
            put_escaped(j->out, text, len, 0);
            fputs("</system-out>", j->out);
        }
        fprintf(j->out, "</%s>\n", elem);
    }
}

static void put_testcase(const struct atb_result *res, void *data)
{
    struct junit_ctx *j = data;
    FILE *out = j->out;
    const char *type = "", *text;
    char msg[192];
    enum verdict v = judge(j->run, res, msg, sizeof(msg), &type);
    size_t len = 0;

    text = atb_run_output(j->run, res->id, &len);
    fputs("    <testcase name=\"", out);
    put_str(out, res->name, 1);
    fprintf(out, "\" classname=\"atb.%s%s\" time=\"%.3f\"",
            atb_mode_name(atb_run_get_mode(j->run)), res->cleanup ? ".cleanup" : "",
            res->duration_s);
    if (v == PASSED && text == NULL && res->attempt <= 1) {
        fputs("/>\n", out);
        return;
    }
    fputs(">\n", out);
    if (v == SKIPPED) {
        fputs("      <skipped message=\"", out);
        put_str(out, msg, 1);
        fputs("\"/>\n", out);
    } else if (v == FAILURE) {
        fputs("      <failure message=\"", out);
        put_str(out, msg, 1);
        fprintf(out, "\" type=\"%s\">", type);
        put_story(out, res, msg);
        fputs("</failure>\n", out);
    }
    put_attempts(j, res, v);
    if (text != NULL) {
        fputs("      <system-out>", out);
        put_escaped(out, text, len, 0);
        fputs("</system-out>\n", out);
    }
    fputs("    </testcase>\n", out);
}

/* What each command used, as suite properties "usage:NAME": junit-10.xsd
 * has no properties in a testcase. */
static void put_usage(const struct atb_result *res, void *data)
{
    struct junit_ctx *j = data;

    if (res->user_s < 0)
        return;
    fputs("      <property name=\"usage:", j->out);
    put_str(j->out, res->name, 1);
    fprintf(j->out, "\" value=\"user_s=%.3f system_s=%.3f max_rss_kib=%ld\"/>\n", res->user_s,
            res->system_s, res->max_rss_kib);
}

/* The Slurm job (and step) of each command, as suite properties
 * "slurm:NAME" ("123" or "123.4"), for the same reason. */
static void put_slurm(const struct atb_result *res, void *data)
{
    struct junit_ctx *j = data;

    if (res->slurm_job < 0)
        return;
    fputs("      <property name=\"slurm:", j->out);
    put_str(j->out, res->name, 1);
    if (res->slurm_step >= 0)
        fprintf(j->out, "\" value=\"%ld.%ld\"/>\n", res->slurm_job, res->slurm_step);
    else
        fprintf(j->out, "\" value=\"%ld\"/>\n", res->slurm_job);
}

static void tally(const struct atb_result *res, void *data)
{
    struct junit_ctx *j = data;
    const char *type;
    char msg[192];

    switch (judge(j->run, res, msg, sizeof(msg), &type)) {
    case FAILURE:
        j->failures++;
        break;
    case SKIPPED:
        j->skipped++;
        break;
    case PASSED:
        break;
    }
}

int cmd_report_junit(const struct atb_run *run, const char *suite, FILE *out)
{
    struct junit_ctx j = {run, out, 0, 0};
    size_t n = cmd_listed(run);
    char counts[160], totals[160];

    if (suite == NULL)
        suite = "atb";
    cmd_each_result(run, tally, &j);
    snprintf(counts, sizeof(counts),
             "tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\"", n,
             j.failures, j.skipped, atb_run_duration(run));
    /* <testsuites> has no "skipped" in Jenkins' junit-10.xsd, which
     * refuses the file for it; the testsuite carries that count. */
    snprintf(totals, sizeof(totals),
             "tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.3f\"", n, j.failures,
             atb_run_duration(run));
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"", out);
    put_str(out, suite, 1);
    fprintf(out, "\" %s>\n  <testsuite name=\"", totals);
    put_str(out, suite, 1);
    fprintf(out, "\" %s>\n", counts);
    fprintf(out,
            "    <properties>\n"
            "      <property name=\"mode\" value=\"%s\"/>\n"
            "      <property name=\"outcome\" value=\"%s\"/>\n"
            "      <property name=\"exit_status\" value=\"%d\"/>\n",
            atb_mode_name(atb_run_get_mode(run)), atb_outcome_name(atb_run_outcome(run)),
            cmd_run_status(run));
    cmd_each_result(run, put_usage, &j);
    cmd_each_result(run, put_slurm, &j);
    fputs("    </properties>\n", out);
    cmd_each_result(run, put_testcase, &j);
    fputs("  </testsuite>\n</testsuites>\n", out);
    return cmd_stream_status(out);
}

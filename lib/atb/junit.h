/* atb/junit.h: a JUnit XML report of a finished run, for CI systems that
 * show test results. Included by atb.h. */
#ifndef ATB_JUNIT_H
#define ATB_JUNIT_H

#include <stddef.h>
#include <stdio.h>

struct atb_run;

struct atb_junit_opts {
    const char *suite;  /* the testsuite's name (borrowed); NULL: "atb" */
    /* Returns the captured output of command i for its <system-out>, with
     * its length in *len, or NULL for none. The text stays the caller's; it
     * may hold any bytes (invalid UTF-8 and control characters come out as
     * U+FFFD). The callback may be NULL: no <system-out> at all. */
    const char *(*output_cb)(void *ctx, size_t i, size_t *len);
    void *ctx;
};

/* Writes the JUnit XML report of a run that has been executed to out: one
 * <testsuite> in <testsuites>, one <testcase> per command (classname
 * "atb.MODE", "atb.MODE.cleanup" for cleanup commands), <failure> for one
 * that failed or timed out (and for those the run's own deadline cancelled),
 * <skipped> for one cancelled or not started; a cancelled service passes.
 * opts may be NULL. Returns 0, or -EIO when out reports an error. */
int atb_junit_write(const struct atb_run *run, FILE *out, const struct atb_junit_opts *opts);

#endif

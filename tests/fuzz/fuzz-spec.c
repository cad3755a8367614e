/* libFuzzer target for the spec: any bytes in, and either a spec that a run
 * takes whole (applied and checked by the run's validator) or one
 * ATB_ESPEC error with a clean message out, from the parser or from the
 * validator. No crash, leak, hang or undefined behaviour is allowed on the
 * way.
 *
 * Build and run with tests/fuzz/fuzz.sh (or `make fuzz`). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The error must say what is wrong, and its message must name its origin
 * and hold no control characters (it goes to a terminal) and no more than
 * its buffer. */
static void check_error(const struct atb_error *err)
{
    char msg[1024];

    if (memchr(err->text, '\0', sizeof(err->text)) == NULL ||
        memchr(err->path, '\0', sizeof(err->path)) == NULL || err->text[0] == '\0')
        abort();
    atb_spec_message(err, "fuzz.json", msg, sizeof(msg));
    if (strncmp(msg, "fuzz.json", 9) != 0)
        abort();
    for (const char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            abort();
    if ((err->line == 0) != (err->col == 0))
        abort();
}

/* What parsed is well formed: every command has exactly one of argv and
 * shell, cleanup ones come last; and the run takes it whole, or its
 * validator refuses it with a spec error. */
static void check_spec(const struct atb_spec *spec)
{
    struct atb_error err;
    struct atb_run *run;
    int rc;
    size_t n = atb_spec_count(spec);
    int seen_cleanup = 0;

    if (n == 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        const struct atb_cmd *c = atb_spec_cmd(spec, i);

        if ((c->argv == NULL) == (c->shell == NULL))
            abort();
        if (c->argv && (c->argv[0] == NULL || c->argv[0][0] == '\0'))
            abort();
        if (seen_cleanup && !c->cleanup)
            abort();
        seen_cleanup |= c->cleanup;
        for (char *const *e = c->env; e && *e; e++)
            if (**e == '\0' || **e == '=')
                abort();
    }
    if (atb_run_new(&run) != 0)
        abort();
    rc = atb_spec_apply(spec, run, &err);
    if (rc == 0)
        rc = atb_spec_check(spec, run, &err);
    if (rc == 0 && atb_run_count(run) != n)
        abort();
    if (rc != 0 && rc != ATB_ESPEC)
        abort();
    if (rc != 0)
        check_error(&err);
    atb_run_free(run);
}

/* Parses data with one of the two entry points and checks the result. */
static void parse_and_check(const uint8_t *data, size_t size, int one_command)
{
    struct atb_error err;
    struct atb_spec *spec;
    int rc = one_command ? atb_spec_parse_cmd((const char *)data, size, NULL, &spec, &err)
                         : atb_spec_parse((const char *)data, size, "base", &spec, &err);

    if (rc == 0) {
        if (one_command && atb_spec_count(spec) != 1)
            abort();
        check_spec(spec);
        atb_spec_free(spec);
        return;
    }
    /* -ENOMEM here would mean cJSON refused what our syntax check passed. */
    if (rc != ATB_ESPEC || spec != NULL)
        abort();
    check_error(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_and_check(data, size, 0);
    parse_and_check(data, size, 1);
    return 0;
}

/* The spec: the parser (atb_spec_parse, atb_spec_load) and its mapping
 * onto a run (atb_spec_apply, atb_spec_check), through the public API. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atb.h"
#include "runs.h"

static struct atb_spec *parse_ok(const char *text, const char *base_dir)
{
    struct atb_error err;
    struct atb_spec *spec;
    int rc = atb_spec_parse(text, strlen(text), base_dir, &spec, &err);

    if (rc != 0)
        unit_fail(__FILE__, __LINE__, "parse failed: %s", err.text);
    return spec;
}

/* A spec applied to a new run (the caller frees both). */
static struct atb_run *applied(const struct atb_spec *spec)
{
    struct atb_error err;
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    if (atb_spec_apply(spec, run, &err) != 0 || atb_spec_check(spec, run, &err) != 0)
        unit_fail(__FILE__, __LINE__, "refused: %s", err.text);
    return run;
}

/* Parses text expecting ATB_ESPEC; returns the error. */
static struct atb_error parse_bad(const char *text, size_t len)
{
    struct atb_error err;
    struct atb_spec *spec = (struct atb_spec *)&err;

    ASSERT_EQ(atb_spec_parse(text, len, NULL, &spec, &err), ATB_ESPEC);
    ASSERT(spec == NULL);
    return err;
}

#define BAD(text) parse_bad((text), strlen(text))

/* Parses, applies and checks text, expecting ATB_ESPEC from one of them:
 * the parser's schema and the run's validator alike. */
static struct atb_error refused(const char *text)
{
    struct atb_error err;
    struct atb_spec *spec;
    struct atb_run *run;
    int rc = atb_spec_parse(text, strlen(text), NULL, &spec, &err);

    if (rc == 0) {
        ASSERT_EQ(atb_run_new(&run), 0);
        rc = atb_spec_apply(spec, run, &err);
        if (rc == 0)
            rc = atb_spec_check(spec, run, &err);
        atb_run_free(run);
        atb_spec_free(spec);
    }
    ASSERT_EQ(rc, ATB_ESPEC);
    return err;
}

/* The message the atb program prints for err. */
static const char *message(const struct atb_error *err)
{
    static char buf[1024];

    return atb_spec_message(err, "t.json", buf, sizeof(buf));
}

TEST(spec_settings_and_defaults)
{
    struct atb_spec *spec = parse_ok("{\"commands\": [{\"argv\": [\"true\"]}]}", NULL);
    struct atb_run *run = applied(spec), *def;

    ASSERT_EQ(atb_run_new(&def), 0);
    ASSERT_EQ(atb_run_get_mode(run), atb_run_get_mode(def));
    ASSERT_EQ(atb_run_get_jobs(run), atb_run_get_jobs(def));
    ASSERT_EQ(atb_run_get_cancel_signal(run), atb_run_get_cancel_signal(def));
    ASSERT_NEAR(atb_run_get_grace(run), atb_run_get_grace(def), 1e-9);
    ASSERT_NEAR(atb_run_get_timeout(run), 0, 1e-9);
    ASSERT_EQ(atb_run_get_output(run), ATB_OUTPUT_AUTO);
    ASSERT_EQ(atb_run_get_color(run, 1), ATB_COLOR_AUTO);
    ASSERT(atb_run_get_input(run) == NULL);
    atb_run_free(def);
    atb_run_free(run);
    atb_spec_free(spec);

    spec = parse_ok("{\"mode\": \"race\", \"jobs\": 3, \"grace\": \"250ms\", \"signal\": \"INT\","
                    " \"timeout\": 90, \"output\": \"group\", \"prefix\": \"{name}> \","
                    " \"color\": \"always\", \"no_pad\": true, \"first_success\": true,"
                    " \"input\": \"a\", \"commands\": [{\"name\": \"a\", \"shell\": \"cat\"}]}",
                    NULL);
    run = applied(spec);
    ASSERT_EQ(atb_run_get_mode(run), ATB_MODE_RACE);
    ASSERT_EQ(atb_run_get_jobs(run), 3);
    ASSERT_NEAR(atb_run_get_grace(run), 0.25, 1e-9);
    ASSERT_EQ(atb_run_get_cancel_signal(run), SIGINT);
    ASSERT_NEAR(atb_run_get_timeout(run), 90, 1e-9);
    ASSERT_EQ(atb_run_get_output(run), ATB_OUTPUT_GROUP);
    ASSERT_EQ(atb_run_get_color(run, 1), ATB_COLOR_ALWAYS);
    ASSERT_EQ(atb_run_get_color(run, 2), ATB_COLOR_ALWAYS);
    ASSERT_EQ(atb_run_get_first_success(run), 1);
    ASSERT_STR_EQ(atb_run_get_input(run), "a");
    atb_run_free(run);
    atb_spec_free(spec);
}

TEST(spec_commands)
{
    struct atb_spec *spec = parse_ok(
        "{\"commands\": ["
        "  {\"name\": \"api\", \"argv\": [\"./api\", \"--port\", \"8080\"], \"service\": true},"
        "  {\"shell\": \"make test\", \"env\": {\"CI\": \"1\", \"HOME\": null, \"E\": \"\"},"
        "   \"cwd\": \"backend\", \"timeout\": \"5m\", \"clear_env\": true, \"shield\": true},"
        "  {\"argv\": [\"x\"], \"cwd\": \"/abs\"}],"
        " \"cleanup\": [{\"name\": \"down\", \"shell\": \"echo down\", \"cwd\": \".\"}]}",
        "ci/specs");
    const struct atb_cmd *c;

    ASSERT_EQ(atb_spec_count(spec), 4);
    c = atb_spec_cmd(spec, 0);
    ASSERT_STR_EQ(c->name, "api");
    ASSERT_STR_EQ(c->argv[0], "./api");
    ASSERT_STR_EQ(c->argv[2], "8080");
    ASSERT(c->argv[3] == NULL);
    ASSERT(c->shell == NULL && c->env == NULL && c->cwd == NULL);
    ASSERT_EQ(c->service, 1);
    ASSERT_EQ(c->cleanup, 0);
    c = atb_spec_cmd(spec, 1);
    ASSERT(c->name == NULL && c->argv == NULL);
    ASSERT_STR_EQ(c->shell, "make test");
    ASSERT_STR_EQ(c->env[0], "CI=1");
    ASSERT_STR_EQ(c->env[1], "HOME");
    ASSERT_STR_EQ(c->env[2], "E=");
    ASSERT(c->env[3] == NULL);
    ASSERT_STR_EQ(c->cwd, "ci/specs/backend");
    ASSERT_NEAR(c->timeout_s, 300, 1e-9);
    ASSERT_EQ(c->clear_env, 1);
    ASSERT_EQ(c->shield, 1);
    ASSERT_STR_EQ(atb_spec_cmd(spec, 2)->cwd, "/abs");
    c = atb_spec_cmd(spec, 3);
    ASSERT_STR_EQ(c->name, "down");
    ASSERT_EQ(c->cleanup, 1);
    ASSERT_STR_EQ(c->cwd, "ci/specs/.");
    ASSERT(atb_spec_cmd(spec, 4) == NULL);
    atb_spec_free(spec);
    atb_spec_free(NULL);
}

TEST(spec_cwd_base)
{
    const char *text = "{\"commands\": [{\"argv\": [\"x\"], \"cwd\": \"sub\"}]}";
    struct atb_spec *spec = parse_ok(text, NULL);

    ASSERT_STR_EQ(atb_spec_cmd(spec, 0)->cwd, "sub");
    atb_spec_free(spec);
    spec = parse_ok(text, "/");
    ASSERT_STR_EQ(atb_spec_cmd(spec, 0)->cwd, "/sub");
    atb_spec_free(spec);
    spec = parse_ok(text, ".");
    ASSERT_STR_EQ(atb_spec_cmd(spec, 0)->cwd, "sub");
    atb_spec_free(spec);
}

TEST(spec_syntax_positions)
{
    struct atb_error e;

    e = BAD("{\n  \"a\": 1\n  \"b\": 2\n}");
    ASSERT_EQ(e.line, 3);
    ASSERT_EQ(e.col, 3);
    ASSERT_STR_EQ(e.text, "expected ',' or '}', got '\"'");
    ASSERT_STR_EQ(message(&e), "t.json:3:3: expected ',' or '}', got '\"'");
    ASSERT_STR_EQ(e.path, "");
    /* Columns count characters, not bytes; a byte order mark is not one. */
    e = BAD("\xEF\xBB\xBF{\"\xC3\xA9\xC3\xA9\": x}");
    ASSERT_EQ(e.line, 1);
    ASSERT_EQ(e.col, 8);
    /* Found by the fuzzer: cJSON skips a byte order mark only when more
     * than one byte follows it. */
    e = BAD("\xEF\xBB\xBF" "1");
    ASSERT_STR_EQ(e.text, "expected an object at the top level, got a number");
    e = BAD("[1,\n2,\n]");
    ASSERT_EQ(e.line, 3);
    ASSERT_EQ(e.col, 1);
    ASSERT(strstr(e.text, "trailing comma") != NULL);
    e = BAD("{\"commands\": [] } x");
    ASSERT_EQ(e.col, 19);
    ASSERT(strstr(e.text, "after the end of the JSON value") != NULL);
    e = BAD("{\"a\": \"abc");
    ASSERT_EQ(e.col, 7);
    ASSERT(strstr(e.text, "unterminated string") != NULL);
    e = BAD("{\"a\": [1, 2");
    ASSERT_EQ(e.col, 12);
    ASSERT(strstr(e.text, "unexpected end of input") != NULL);
    e = BAD("   ");
    ASSERT_EQ(e.line, 0);
    ASSERT_STR_EQ(message(&e), "t.json: the spec is empty (expected a JSON object)");
}

TEST(spec_syntax_strictness)
{
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"{'a': 1}", "double quotes"},
        {"{a: 1}", "double quotes"},
        {"{\"a\": None}", "JSON spells it null"},
        {"{\"a\": TRUE}", "JSON spells it true"},
        {"{\"a\": 01}", "leading zeros"},
        {"{\"a\": +1}", "expected a value"},
        {"{\"a\": .5}", "expected a value"},
        {"{\"a\": 1.}", "a digit after '.'"},
        {"{\"a\": 1e}", "a digit in the exponent"},
        {"{\"a\": -}", "a digit after '-'"},
        {"{\"a\": \"\\x\"}", "invalid escape"},
        {"{\"a\": \"\\u12\"}", "4 hex digits"},
        {"{\"a\": \"\\u0000\"}", "NUL"},
        {"{\"a\": \"\\udc00\"}", "unpaired UTF-16 surrogate"},
        {"{\"a\": \"\\ud800x\"}", "unpaired UTF-16 surrogate"},
        {"{\"a\": \"tab\there\"}", "control character"},
        {"{\"a\": \"new\nline\"}", "newline inside a string"},
        {"{\"a\": \"\xC0\xAF\"}", "invalid UTF-8"},
        {"{\"a\": \"\xED\xA0\x80\"}", "invalid UTF-8"},
        {"{\"a\": \"\xF4\x90\x80\x80\"}", "invalid UTF-8"},
        {"// note\n{}", "comments are not allowed"},
        {"{\"a\": 1 /* x */}", "comments are not allowed"},
        {"{\"a\" 1}", "expected ':' after the key"},
        {"{\"a\": truex}", "strings take double quotes"},
        {"{\"a\": 1234567890123456789012345678901234567890123456789012345678901234}",
         "number too long"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct atb_error e = BAD(cases[i].text);
        if (strstr(e.text, cases[i].needle) == NULL)
            unit_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", cases[i].text,
                      e.text, cases[i].needle);
        ASSERT(e.line == 1 || e.line == 2);
    }
}

TEST(spec_nesting_limit)
{
    char text[200];
    struct atb_error e;

    memset(text, '[', 100);
    memset(text + 100, ']', 100);
    e = parse_bad(text, sizeof(text));
    ASSERT(strstr(e.text, "nested too deeply") != NULL);
    ASSERT_EQ(e.col, 65);
}

/* The text is taken by length: bytes after it are never read, and a NUL
 * inside it is an error, not an end. */
TEST(spec_length_bounded)
{
    const char full[] = "{\"commands\": [{\"argv\": [\"true\"]}]}garbage";
    char *exact = malloc(sizeof(full));
    struct atb_spec *spec;
    struct atb_error e;
    size_t len = strlen("{\"commands\": [{\"argv\": [\"true\"]}]}");

    memcpy(exact, full, len);
    ASSERT_EQ(atb_spec_parse(exact, len, NULL, &spec, NULL), 0);
    ASSERT_EQ(atb_spec_count(spec), 1);
    atb_spec_free(spec);
    free(exact);
    e = parse_bad("{\"commands\": []}\0{}", 19);
    ASSERT(strstr(e.text, "byte 0x00") != NULL);
    e = parse_bad("", 0);
    ASSERT(strstr(e.text, "empty") != NULL);
}

TEST(spec_schema_paths)
{
    static const struct {
        const char *text, *path, *needle;
    } cases[] = {
        {"[]", "", "expected an object at the top level, got an array"},
        {"{}", "", "missing key 'commands'"},
        {"{\"commands\": []}", "commands", "non-empty array of commands"},
        {"{\"commands\": [1]}", "commands[0]", "expected a command"},
        {"{\"commands\": [{}]}", "commands[0]", "needs argv"},
        {"{\"commands\": [{\"argv\": [\"a\"], \"shell\": \"b\"}]}", "commands[0]",
         "both argv and shell"},
        {"{\"commands\": [{\"shell\": \"a\"}, {\"shell\": \"b\"}, {\"argv\": \"x\"}]}",
         "commands[2].argv", "expected a non-empty array of strings, got a string"},
        {"{\"commands\": [{\"argv\": [\"a\", 2]}]}", "commands[0].argv[1]",
         "expected a string, got a number"},
        {"{\"commands\": [{\"argv\": [\"\"]}]}", "commands[0].argv[0]", "cannot be empty"},
        {"{\"commands\": [{\"shell\": \" \\n\"}]}", "commands[0].shell", "blank"},
        {"{\"commands\": [{\"shell\": \"a\", \"nmae\": \"x\"}]}", "commands[0].nmae",
         "did you mean 'name'? allowed keys: name, argv, shell"},
        {"{\"comands\": []}", "comands", "did you mean 'commands'?"},
        {"{\"commands\": [{\"shell\": \"a\", \"name\": \"x\", \"name\": \"y\"}]}",
         "commands[0].name", "duplicate key"},
        {"{\"jobs\": 1, \"jobs\": 2, \"commands\": [{\"shell\": \"a\"}]}", "jobs",
         "duplicate key"},
        {"{\"commands\": [{\"shell\": \"a\", \"env\": {\"X\": \"1\", \"X\": null}}]}",
         "commands[0].env.X", "duplicate key"},
        {"{\"commands\": [{\"shell\": \"a\", \"env\": {\"A=B\": \"1\"}}]}",
         "commands[0].env[\"A=B\"]", "cannot be empty or hold '='"},
        {"{\"commands\": [{\"shell\": \"a\", \"env\": {\"N\": 1}}]}", "commands[0].env.N",
         "a string, or null"},
        {"{\"commands\": [{\"shell\": \"a\", \"env\": []}]}", "commands[0].env",
         "expected an object"},
        {"{\"commands\": [{\"shell\": \"a\", \"timeout\": \"5 min\"}]}", "commands[0].timeout",
         "invalid duration '5 min'"},
        {"{\"grace\": -1, \"commands\": [{\"shell\": \"a\"}]}", "grace", "0 seconds or more"},
        {"{\"grace\": true, \"commands\": [{\"shell\": \"a\"}]}", "grace", "got true"},
        {"{\"signal\": \"SIGFOO\", \"commands\": [{\"shell\": \"a\"}]}", "signal",
         "unknown signal 'SIGFOO'"},
        {"{\"signal\": 0, \"commands\": [{\"shell\": \"a\"}]}", "signal", "unknown signal 0"},
        {"{\"jobs\": -2, \"commands\": [{\"shell\": \"a\"}]}", "jobs", "got -2"},
        {"{\"jobs\": 2.5, \"commands\": [{\"shell\": \"a\"}]}", "jobs", "whole number"},
        {"{\"mode\": \"all\", \"commands\": [{\"shell\": \"a\"}]}", "mode",
         "unknown mode 'all' (use pool, try-all, wait-all or race)"},
        {"{\"output\": \"auto\", \"commands\": [{\"shell\": \"a\"}]}", "output",
         "use inherit, prefix or group"},
        {"{\"prefix\": \"{nope}\", \"commands\": [{\"shell\": \"a\"}]}", "prefix",
         "unknown placeholder"},
        {"{\"first_success\": true, \"commands\": [{\"shell\": \"a\"}]}", "first_success",
         "only valid with mode race"},
        {"{\"commands\": [{\"shell\": \"a\", \"name\": \"x\"}, {\"shell\": \"b\", \"name\": "
         "\"x\"}]}",
         "commands[1].name", "duplicate name 'x' (also at commands[0].name)"},
        {"{\"commands\": [{\"shell\": \"a\", \"name\": \"x\"}], \"cleanup\": [{\"shell\": "
         "\"b\"}, {\"shell\": \"c\", \"name\": \"x\"}]}",
         "cleanup[1].name", "also at commands[0].name"},
        {"{\"commands\": [{\"shell\": \"a\"}], \"cleanup\": [{\"shell\": \"b\", \"shield\": "
         "true}]}",
         "cleanup[0].shield", "not allowed in a cleanup command"},
        {"{\"commands\": [{\"shell\": \"a\"}], \"cleanup\": {}}", "cleanup",
         "expected an array of commands"},
        {"{\"commands\": [{\"shell\": \"a\", \"name\": \"\\u001b[2J\"}]}", "commands[0].name",
         "control characters"},
        {"{\"commands\": [{\"shell\": \"a\", \"wait_for\": [\"x\", 1]}]}",
         "commands[0].wait_for[1]", "expected a command or latch name"},
        {"{\"commands\": [{\"shell\": \"a\", \"ready_timeout\": \"soon\"}]}",
         "commands[0].ready_timeout", "invalid duration"},
        {"{\"commands\": [{\"shell\": \"a\", \"wait_for\": [\"built\"]}, {\"shell\": \"b\"}]}",
         "commands[0].wait_for[0]", "neither a command's name nor a latch"},
        {"{\"commands\": [{\"shell\": \"a\"}], \"cleanup\": [{\"shell\": \"b\", \"sets\": "
         "\"x\"}]}",
         "cleanup[0].sets", "not allowed in a cleanup command"},
        {"{\"commands\": [{\"shell\": \"a\", \"service\": 1}]}", "commands[0].service",
         "expected true or false, got a number"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct atb_error e = refused(cases[i].text);
        char where[32];

        if (strcmp(e.path, cases[i].path) != 0 || strstr(e.text, cases[i].needle) == NULL)
            unit_fail(__FILE__, __LINE__, "%s: got [%s] \"%s\", want [%s] \"%s\"",
                      cases[i].text, e.path, e.text, cases[i].path, cases[i].needle);
        /* One line of text: the place is on it, and the message says it. */
        ASSERT_EQ(e.line, 1);
        ASSERT(e.col >= 1 && e.col <= strlen(cases[i].text));
        snprintf(where, sizeof(where), "t.json:1:%u: ", e.col);
        ASSERT(strncmp(message(&e), where, strlen(where)) == 0);
    }
}

/* Quoted user text is escaped and bounded, so it cannot flood or drive a
 * terminal. */
TEST(spec_messages_bounded)
{
    char text[9000];
    struct atb_error e;

    snprintf(text, sizeof(text), "{\"commands\": [{\"shell\": \"a\", \"%0*d\": 1}]}", 8000, 7);
    e = BAD(text);
    ASSERT(strlen(e.text) < 300);
    ASSERT(strstr(e.path, "...") != NULL);
    e = BAD("{\"mode\": \"\\u001b]0;pwned\\u0007\", \"commands\": [{\"shell\": \"a\"}]}");
    ASSERT(strchr(e.text, '\x1b') == NULL && strchr(e.text, '\x07') == NULL);
    ASSERT(strstr(e.text, "\\x1b") != NULL);
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    int fd;

    sprintf(path, "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

TEST(spec_load_file)
{
    char dir[] = "/tmp/atb-unit-spec-XXXXXX", *path, *big;
    struct atb_error e;
    struct atb_spec *spec;
    int fd;

    ASSERT(mkdtemp(dir) != NULL);
    path = write_tmp(dir, "s.json", "{\"commands\": [{\"argv\": [\"true\"], \"cwd\": \"w\"}]}");
    ASSERT_EQ(atb_spec_load(path, &spec, &e), 0);
    {
        char want[64];
        snprintf(want, sizeof(want), "%s/w", dir);
        ASSERT_STR_EQ(atb_spec_cmd(spec, 0)->cwd, want);
    }
    atb_spec_free(spec);
    unlink(path);
    ASSERT_EQ(atb_spec_load(path, &spec, &e), -ENOENT);
    ASSERT(spec == NULL);
    ASSERT_STR_EQ(e.text, "No such file or directory");
    ASSERT_EQ(atb_spec_load(dir, &spec, &e), -EISDIR);
    free(path);
    /* Too large: found from the size, before reading (a sparse file). */
    big = write_tmp(dir, "big.json", "");
    fd = open(big, O_WRONLY | O_CLOEXEC);
    ASSERT_EQ(ftruncate(fd, (off_t)ATB_SPEC_MAX_SIZE + 1), 0);
    close(fd);
    ASSERT_EQ(atb_spec_load(big, &spec, &e), -EFBIG);
    ASSERT(strstr(e.text, "too large") != NULL);
    unlink(big);
    free(big);
    path = write_tmp(dir, "bad.json", "{\n\"commands\": [}\n");
    ASSERT_EQ(atb_spec_load(path, &spec, &e), ATB_ESPEC);
    ASSERT_EQ(e.line, 2);
    ASSERT_EQ(e.col, 14);
    ASSERT_STR_EQ(e.text, "expected a value, got '}'");
    unlink(path);
    free(path);
    rmdir(dir);
}

/* Standard input through a pipe that a writer fills in small pieces: the
 * reader must put the short reads together and grow its buffer. */
TEST(spec_load_stdin_short_reads)
{
    size_t n = 4000, len;
    char *text = malloc(n * 40 + 64), *p = text;
    struct atb_spec *spec;
    struct atb_error e;
    int pfd[2], status, saved = dup(0);
    pid_t pid;

    p += sprintf(p, "{\"commands\": [");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s{\"argv\": [\"c%zu\"]}", i ? "," : "", i);
    p += sprintf(p, "]}");
    len = (size_t)(p - text);
    ASSERT_EQ(pipe2(pfd, O_CLOEXEC), 0);
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        for (size_t off = 0; off < len; off += 777) {
            size_t chunk = len - off < 777 ? len - off : 777;
            if (write(pfd[1], text + off, chunk) != (ssize_t)chunk)
                _exit(1);
        }
        _exit(0);
    }
    close(pfd[1]);
    ASSERT_EQ(dup2(pfd[0], 0), 0);
    close(pfd[0]);
    ASSERT_EQ(atb_spec_load(NULL, &spec, &e), 0);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(atb_spec_count(spec), n);
    ASSERT_STR_EQ(atb_spec_cmd(spec, n - 1)->argv[0], "c3999");
    atb_spec_free(spec);
    dup2(saved, 0);
    close(saved);
    free(text);
}

/* 10,000 commands: parsed in one pass each (no quadratic step). The time is
 * printed, not asserted: a loaded machine must not fail the suite. */
TEST(spec_ten_thousand_commands)
{
    size_t n = 10000;
    char *text = malloc(n * 120 + 64), *p = text;
    struct atb_spec *spec;
    struct atb_run *run;
    struct timespec t0, t1;

    p += sprintf(p, "{\"jobs\": 8, \"commands\": [");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s{\"name\": \"cmd-%zu\", \"argv\": [\"true\", \"%zu\"], \"env\": "
                     "{\"N\": \"%zu\"}}",
                     i ? ",\n" : "", i, i, i);
    p += sprintf(p, "]}");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ASSERT_EQ(atb_spec_parse(text, (size_t)(p - text), NULL, &spec, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("# parsed %zu commands (%zu KiB) in %.1f ms\n", n, (size_t)(p - text) / 1024,
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    fflush(stdout); /* the runner ends each test with _exit() */
    ASSERT_EQ(atb_spec_count(spec), n);
    ASSERT_STR_EQ(atb_spec_cmd(spec, 9999)->name, "cmd-9999");
    run = applied(spec);
    ASSERT_EQ(atb_run_count(run), n);
    atb_run_free(run);
    atb_spec_free(spec);
    free(text);
}

TEST(spec_apply_to_run)
{
    struct atb_spec *spec = parse_ok(
        "{\"mode\": \"wait-all\", \"commands\": [{\"name\": \"ok\", \"argv\": [\"true\"]},"
        " {\"shell\": \"exit 3\"}, {\"shell\": \"test \\\"$X\\\" = yes\", \"env\": {\"X\": "
        "\"yes\"}}], \"cleanup\": [{\"name\": \"after\", \"argv\": [\"true\"]}]}",
        NULL);
    struct atb_run *run = applied(spec);

    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_count(run), 4);
    ASSERT_STR_EQ(atb_run_result(run, 0)->name, "ok");
    ASSERT_EQ(atb_run_result(run, 1)->exit_code, 3);
    ASSERT_EQ(atb_run_result(run, 2)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, 3)->cleanup, 1);
    ASSERT_EQ(cmd_run_status(run), 3);
    atb_run_free(run);
    atb_spec_free(spec);
}

TEST(spec_parse_one_command)
{
    const char *line = "{\"name\": \"gz\", \"argv\": [\"gzip\", \"-9\"], \"cwd\": \"logs\"}";
    char buf[256];
    struct atb_error e;
    struct atb_spec *spec;

    ASSERT_EQ(atb_spec_parse_cmd(line, strlen(line), "/srv", &spec, &e), 0);
    ASSERT_EQ(atb_spec_count(spec), 1);
    ASSERT_STR_EQ(atb_spec_cmd(spec, 0)->name, "gz");
    ASSERT_STR_EQ(atb_spec_cmd(spec, 0)->argv[1], "-9");
    ASSERT_STR_EQ(atb_spec_cmd(spec, 0)->cwd, "/srv/logs");
    {
        struct atb_run *run = applied(spec);
        ASSERT_EQ(atb_run_get_mode(run), ATB_MODE_POOL);
        atb_run_free(run);
    }
    atb_spec_free(spec);
    line = "{\"argv\": [\"gzip\", 9]}";
    ASSERT_EQ(atb_spec_parse_cmd(line, strlen(line), NULL, &spec, &e), ATB_ESPEC);
    ASSERT_STR_EQ(atb_spec_message(&e, "stdin:3", buf, sizeof(buf)),
                  "stdin:3:1:19: argv[1]: expected a string, got a number");
    line = "{\"argv\": [\"gzip\"] \"name\": \"x\"}";
    ASSERT_EQ(atb_spec_parse_cmd(line, strlen(line), NULL, &spec, &e), ATB_ESPEC);
    ASSERT_EQ(e.col, 19);
    line = "[\"gzip\"]";
    ASSERT_EQ(atb_spec_parse_cmd(line, strlen(line), NULL, &spec, &e), ATB_ESPEC);
    ASSERT_STR_EQ(e.text, "expected a command (an object with argv or shell), got an array");
    line = "{\"shell\": \"x\", \"commands\": []}";
    ASSERT_EQ(atb_spec_parse_cmd(line, strlen(line), NULL, &spec, &e), ATB_ESPEC);
    ASSERT_STR_EQ(e.path, "commands");
}

/* jsonwalk.c and spec-json.c's atb__json_locate(): where a value or a key
 * is in a spec's text (by the ordinals of its path), the errors a walk
 * reports (JSON path, line, column, text), and the typed getters the
 * schema is made of, on cJSON trees parsed here. */
#include "unit.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonwalk.h"
#include "spec-json.h"

/* Line and column (1-based) of the first occurrence of marker in ASCII
 * text: the plain count the locator's answers are checked against. */
static void pos_of(const char *text, const char *marker, size_t *line, size_t *col)
{
    const char *at = strstr(text, marker), *bol = text;

    if (at == NULL)
        unit_fail(__FILE__, __LINE__, "marker '%s' not in the text", marker);
    *line = 1;
    for (const char *p = text; p < at; p++)
        if (*p == '\n') {
            (*line)++;
            bol = p + 1;
        }
    *col = (size_t)(at - bol) + 1;
}

/* Locates path (n ordinals) in text and checks the place against the
 * first occurrence of marker. */
static void located(const char *text, const size_t *path, int n, int at_key, const char *marker,
                    int src_line)
{
    size_t line = 0, col = 0, wl, wc;

    pos_of(text, marker, &wl, &wc);
    if (atb__json_locate(text, strlen(text), path, n, at_key, &line, &col) != 0)
        unit_fail(__FILE__, src_line, "path not found (marker '%s')", marker);
    if (line != wl || col != wc)
        unit_fail(__FILE__, src_line, "'%s': at %zu:%zu, expected %zu:%zu", marker, line, col, wl,
                  wc);
}

#define LOCATED(text, at_key, marker, ...)                                               \
    do {                                                                                 \
        const size_t path_[] = {__VA_ARGS__};                                            \
        located((text), path_, (int)(sizeof(path_) / sizeof(path_[0])), (at_key), (marker), \
                __LINE__);                                                               \
    } while (0)

static int locate(const char *text, const size_t *path, int n, int at_key, size_t *line,
                  size_t *col)
{
    return atb__json_locate(text, strlen(text), path, n, at_key, line, col);
}

TEST(locate_values_and_keys)
{
    const char *t = "{\n"
                    "  \"mode\": \"pool\",\n"
                    "  \"commands\": [\n"
                    "    {\"name\": \"a\", \"shell\": \"true\"},\n"
                    "    {\"name\": \"b\", \"env\": {\"CI\": \"1\", \"HOME\": \"/h\"}}\n"
                    "  ]\n"
                    "}\n";
    size_t line, col;

    /* The root itself: no path. */
    ASSERT_EQ(locate(t, NULL, 0, 0, &line, &col), 0);
    ASSERT_EQ(line, 1);
    ASSERT_EQ(col, 1);
    LOCATED(t, 0, "\"pool\"", 0);
    LOCATED(t, 1, "\"mode\"", 0);
    LOCATED(t, 0, "[", 1);
    LOCATED(t, 1, "\"commands\"", 1);
    LOCATED(t, 0, "{\"name\": \"a\"", 1, 0);
    LOCATED(t, 0, "\"true\"", 1, 0, 1);
    LOCATED(t, 1, "\"shell\"", 1, 0, 1);
    LOCATED(t, 0, "{\"CI\"", 1, 1, 1);
    LOCATED(t, 0, "\"/h\"", 1, 1, 1, 1);
    LOCATED(t, 1, "\"HOME\"", 1, 1, 1, 1);
}

/* A path that is not there: past the last member or element, into a
 * scalar, into an empty container. */
TEST(locate_missing_paths)
{
    const char *t = "{\"a\": 1, \"b\": [10, [20, 30]], \"c\": {}, \"d\": []}";
    static const size_t p1[] = {4}, p2[] = {0, 0}, p3[] = {1, 2}, p4[] = {1, 1, 2},
                        p5[] = {2, 0}, p6[] = {3, 0}, p7[] = {1, 0, 0};
    static const struct {
        const size_t *path;
        int n;
    } missing[] = {{p1, 1}, {p2, 2}, {p3, 2}, {p4, 3}, {p5, 2}, {p6, 2}, {p7, 3}};

    for (size_t i = 0; i < ATB__ARRAY_SIZE(missing); i++) {
        size_t line = 77, col = 77;
        if (locate(t, missing[i].path, missing[i].n, 0, &line, &col) != -1)
            unit_fail(__FILE__, __LINE__, "path %zu found at %zu:%zu", i, line, col);
    }
    /* The empty containers themselves are there. */
    LOCATED(t, 0, "{}", 2);
    LOCATED(t, 0, "[]", 3);
}

/* cJSON keeps every member of an object, repeats included: ordinals count
 * them all, so the second "a" is found, not the first. */
TEST(locate_duplicate_keys)
{
    const char *t = "{\"a\": 1, \"b\": 2, \"a\": {\"x\": true, \"x\": false}}";

    LOCATED(t, 0, "1", 0);
    LOCATED(t, 0, "{\"x\"", 2);
    LOCATED(t, 1, "\"a\": {", 2);
    LOCATED(t, 0, "false", 2, 1);
    LOCATED(t, 1, "\"x\": false", 2, 1);
}

/* Nested arrays and objects in arrays, and strings holding brackets,
 * commas, colons and escaped quotes that a careless skip would count. */
TEST(locate_nested_arrays_and_tricky_strings)
{
    const char *t = "[[{\"a\": 1}, {\"b\": [1, 2, {\"c\": 3}]}], [], [[[\"deep\"]]]]";
    const char *s = "{\"a\": \"x\\\"], {\\\"y\\\": [\", \"b,\": \"}\", \"c\": [\"[\", \"]\", 42]}";

    LOCATED(t, 0, "3}", 0, 1, 0, 2, 0);
    LOCATED(t, 1, "\"c\"", 0, 1, 0, 2, 0);
    LOCATED(t, 0, "[[[", 2);
    LOCATED(t, 0, "\"deep\"", 2, 0, 0, 0);
    LOCATED(t, 0, "[]", 1);
    LOCATED(s, 0, "\"}\"", 1);
    LOCATED(s, 1, "\"b,\"", 1);
    LOCATED(s, 0, "42", 2, 2);
}

/* Whitespace of every kind (CR LF, tabs) between tokens. */
TEST(locate_across_whitespace)
{
    const char *t = "{\r\n\t\"a\" :\t 1 ,\r\n\t\"b\"\n:\n[ 2 ,\t3 ]\r\n}";

    LOCATED(t, 0, "1", 0);
    LOCATED(t, 1, "\"a\"", 0);
    LOCATED(t, 0, "[", 1);
    LOCATED(t, 1, "\"b\"", 1);
    LOCATED(t, 0, "3", 1, 1);
}

/* Columns count characters, not bytes, and a UTF-8 byte order mark is
 * not a character of line 1. */
TEST(locate_counts_characters_and_skips_the_bom)
{
    const char *bom = "\xEF\xBB\xBF{\"é\": \"ü\", \"k\": 1}";
    const char *cjk = "{\n  \"名前\": [\"値\", 2]\n}";
    const char *bom2 = "\xEF\xBB\xBF\n {\"a\":1}";
    static const size_t p0[] = {0}, p1[] = {1}, p01[] = {0, 1};
    size_t line, col;

    ASSERT_EQ(locate(bom, NULL, 0, 0, &line, &col), 0);
    ASSERT_EQ(line, 1);
    ASSERT_EQ(col, 1);
    ASSERT_EQ(locate(bom, p0, 1, 0, &line, &col), 0);
    ASSERT_EQ(line, 1);
    ASSERT_EQ(col, 7);
    ASSERT_EQ(locate(bom, p0, 1, 1, &line, &col), 0);
    ASSERT_EQ(col, 2);
    ASSERT_EQ(locate(bom, p1, 1, 0, &line, &col), 0);
    ASSERT_EQ(col, 17);
    ASSERT_EQ(locate(bom, p1, 1, 1, &line, &col), 0);
    ASSERT_EQ(col, 12);
    ASSERT_EQ(locate(cjk, p01, 2, 0, &line, &col), 0);
    ASSERT_EQ(line, 2);
    ASSERT_EQ(col, 15);
    ASSERT_EQ(locate(cjk, p0, 1, 1, &line, &col), 0);
    ASSERT_EQ(line, 2);
    ASSERT_EQ(col, 3);
    /* After the BOM's line, columns count from the line's start. */
    ASSERT_EQ(locate(bom2, p0, 1, 0, &line, &col), 0);
    ASSERT_EQ(line, 2);
    ASSERT_EQ(col, 7);
}

/* ---- errors of a walk ---- */

static const char *spec_text = "{\"commands\": [\n"
                               "  {\"shell\": \"a\"},\n"
                               "  {\"shell\": \"b\"},\n"
                               "  {\"shell\": \"c\", \"env\": {\"X\": \"1\", \"CI\": \"yes\", "
                               "\"A B\": \"z\", \"1x\": \"q\"}}\n"
                               "]}";

static struct atb__jwalk walk_of(struct atb_error *err, const char *text)
{
    struct atb__jwalk w;

    memset(&w, 0, sizeof(w));
    memset(err, 0x5a, sizeof(*err));
    w.err = err;
    w.text = text;
    w.len = text ? strlen(text) : 0;
    return w;
}

TEST(fail_fills_path_and_place)
{
    struct atb_error err;
    struct atb__jwalk w = walk_of(&err, spec_text);
    size_t line, col;

    atb__jw_push_key(&w, "commands", 0);
    atb__jw_push_index(&w, 2);
    atb__jw_push_key(&w, "env", 1);
    atb__jw_push_key(&w, "CI", 1);
    ASSERT_EQ(atb__jw_fail(&w, 0, "expected %s", "a string"), ATB_ESPEC);
    ASSERT_EQ(err.code, ATB_ESPEC);
    ASSERT_EQ(err.id, -1);
    ASSERT_EQ(err.index, -1);
    ASSERT(err.key == NULL);
    ASSERT_STR_EQ(err.path, "commands[2].env.CI");
    ASSERT_STR_EQ(err.text, "expected a string");
    pos_of(spec_text, "\"yes\"", &line, &col);
    ASSERT_EQ(err.line, line);
    ASSERT_EQ(err.col, col);
    /* At the key instead of the value. */
    ASSERT_EQ(atb__jw_fail(&w, 1, "x"), ATB_ESPEC);
    pos_of(spec_text, "\"CI\"", &line, &col);
    ASSERT_EQ(err.line, line);
    ASSERT_EQ(err.col, col);
    /* Popping goes back up; the element itself. */
    atb__jw_pop(&w);
    atb__jw_pop(&w);
    ASSERT_EQ(w.depth, 2);
    atb__jw_fail(&w, 0, "bad command");
    ASSERT_STR_EQ(err.path, "commands[2]");
    pos_of(spec_text, "{\"shell\": \"c\"", &line, &col);
    ASSERT_EQ(err.line, line);
    ASSERT_EQ(err.col, col);
}

/* Keys that are not identifiers are written ["..."], quoted and escaped
 * like any user text; identifiers longer than 40 bytes too. */
TEST(fail_path_of_keys_that_are_not_identifiers)
{
    struct atb_error err;
    struct atb__jwalk w = walk_of(&err, spec_text);
    size_t line, col;
    char key[64];

    atb__jw_push_key(&w, "commands", 0);
    atb__jw_push_index(&w, 2);
    atb__jw_push_key(&w, "env", 1);
    atb__jw_push_key(&w, "A B", 2);
    atb__jw_fail(&w, 0, "x");
    ASSERT_STR_EQ(err.path, "commands[2].env[\"A B\"]");
    pos_of(spec_text, "\"z\"", &line, &col);
    ASSERT_EQ(err.line, line);
    ASSERT_EQ(err.col, col);
    atb__jw_pop(&w);
    atb__jw_push_key(&w, "1x", 3);
    atb__jw_fail(&w, 1, "x");
    ASSERT_STR_EQ(err.path, "commands[2].env[\"1x\"]");
    pos_of(spec_text, "\"1x\"", &line, &col);
    ASSERT_EQ(err.col, col);
    atb__jw_pop(&w);
    atb__jw_push_key(&w, "a\"b\\c\nd", 9); /* not in the text: no place */
    atb__jw_fail(&w, 0, "x");
    ASSERT_STR_EQ(err.path, "commands[2].env[\"a\\\"b\\\\c\\x0ad\"]");
    ASSERT_EQ(err.line, 0);
    ASSERT_EQ(err.col, 0);
    atb__jw_pop(&w);
    memset(key, 'k', 40);
    key[40] = '\0';
    atb__jw_push_key(&w, key, 9);
    atb__jw_fail(&w, 0, "x");
    ASSERT(strstr(err.path, ".env.kkkkkkkkkk") != NULL);
    atb__jw_pop(&w);
    key[40] = 'k';
    key[41] = '\0';
    atb__jw_push_key(&w, key, 9);
    atb__jw_fail(&w, 0, "x");
    ASSERT(strstr(err.path, ".env[\"kkkkkkkkkk") != NULL);
    ASSERT(strstr(err.path, "...\"]") != NULL);
    atb__jw_pop(&w); /* the long key */
    atb__jw_pop(&w);
    atb__jw_pop(&w);
    atb__jw_pop(&w);
    ASSERT_EQ(w.depth, 0);
    /* A first segment that is not an identifier has no dot before it. */
    atb__jw_push_key(&w, "a b", 0);
    atb__jw_push_key(&w, "c", 0);
    atb__jw_fail(&w, 0, "x");
    ASSERT_STR_EQ(err.path, "[\"a b\"].c");
}

/* Without the text (a tree built by hand) there is no place, only the
 * path; deeper than the path can hold, the path stops at its limit and
 * the place is that of the deepest segment it has. */
TEST(fail_without_text_and_too_deep)
{
    struct atb_error err;
    struct atb__jwalk w = walk_of(&err, NULL);
    const char *deep = "[[[[[[[[1]]]]]]]]";
    size_t line, col;

    atb__jw_push_key(&w, "mode", 0);
    atb__jw_fail(&w, 0, "x");
    ASSERT_STR_EQ(err.path, "mode");
    ASSERT_EQ(err.line, 0);
    ASSERT_EQ(err.col, 0);

    w = walk_of(&err, deep);
    for (int i = 0; i < ATB__JW_DEPTH + 2; i++)
        atb__jw_push_index(&w, 0);
    atb__jw_fail(&w, 0, "x");
    ASSERT_STR_EQ(err.path, "[0][0][0][0][0][0]");
    pos_of(deep, "[[1", &line, &col);
    ASSERT_EQ(err.line, 1);
    ASSERT_EQ(err.col, col);
    for (int i = 0; i < ATB__JW_DEPTH + 2; i++)
        atb__jw_pop(&w);
    ASSERT_EQ(w.depth, 0);
    atb__jw_fail(&w, 0, "x");
    ASSERT_STR_EQ(err.path, "");
    ASSERT_EQ(err.col, 1);
}

/* A message longer than the text field is cut, NUL-terminated. */
TEST(fail_text_is_bounded)
{
    struct atb_error err;
    struct atb__jwalk w = walk_of(&err, NULL);
    char long_text[1000];

    memset(long_text, 'm', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    atb__jw_fail(&w, 0, "%s", long_text);
    ASSERT_EQ(strlen(err.text), sizeof(err.text) - 1);
}

/* ---- typed getters on a cJSON tree ---- */

static const char *values_text =
    "{\"t\": true, \"f\": false, \"null\": null, \"num\": 5, \"neg\": -1, \"half\": 1.5,"
    " \"huge\": 1e10, \"big\": 1e9, \"zero\": 0, \"intmax\": 2147483647,"
    " \"intmax1\": 2147483648, \"sig15\": 15, \"sig0\": 0, \"sig65\": 65,"
    " \"TERM\": \"TERM\", \"SIGKILL\": \"SIGKILL\", \"nope\": \"NOPE\", \"race\": \"race\","
    " \"Pool\": \"Pool\", \"ms\": \"250ms\", \"soon\": \"soon\", \"empty\": \"\","
    " \"ctl\": \"a\\u0001b\", \"del\": \"a\\u007fb\", \"utf\": \"caf\\u00e9\", \"arr\": [],"
    " \"obj\": {}, \"four\": \"4\"}";

struct getters {
    cJSON *root;
    struct atb_error err;
    struct atb__jwalk w;
};

/* Parses values_text; the walk stands at the member named name. */
static const cJSON *at(struct getters *g, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(g->root, name);

    if (v == NULL)
        unit_fail(__FILE__, __LINE__, "no member %s", name);
    g->w = walk_of(&g->err, values_text);
    atb__jw_push_key(&g->w, name, (size_t)atb__jw_ordinal(g->root, name));
    return v;
}

static void open_values(struct getters *g)
{
    g->root = cJSON_Parse(values_text);
    ASSERT(g->root != NULL);
}

/* The error must be at the member's value in the text, and say want. */
static void error_is(struct getters *g, const char *name, const char *want, int src_line)
{
    char marker[64];
    size_t line, col;

    if (strcmp(g->err.text, want) != 0)
        unit_fail(__FILE__, src_line, "\"%s\", expected \"%s\"", g->err.text, want);
    if (strcmp(g->err.path, name) != 0)
        unit_fail(__FILE__, src_line, "path \"%s\", expected \"%s\"", g->err.path, name);
    snprintf(marker, sizeof(marker), "\"%s\": ", name);
    pos_of(values_text, marker, &line, &col);
    if (g->err.line != line || g->err.col != col + strlen(marker))
        unit_fail(__FILE__, src_line, "at %u:%u, expected %zu:%zu", g->err.line, g->err.col,
                  line, col + strlen(marker));
}

#define ERROR_IS(g, name, want) error_is((g), (name), (want), __LINE__)

TEST(getter_bool)
{
    struct getters g;
    int b = 7;

    open_values(&g);
    ASSERT_EQ(atb__jw_bool(&g.w, at(&g, "t"), &b), 0);
    ASSERT_EQ(b, 1);
    ASSERT_EQ(atb__jw_bool(&g.w, at(&g, "f"), &b), 0);
    ASSERT_EQ(b, 0);
    b = 7;
    ASSERT_EQ(atb__jw_bool(&g.w, at(&g, "num"), &b), ATB_ESPEC);
    ERROR_IS(&g, "num", "expected true or false, got a number");
    ASSERT_EQ(b, 7);
    ASSERT_EQ(atb__jw_bool(&g.w, at(&g, "TERM"), &b), ATB_ESPEC);
    ERROR_IS(&g, "TERM", "expected true or false, got a string");
    ASSERT_EQ(atb__jw_bool(&g.w, at(&g, "null"), &b), ATB_ESPEC);
    ERROR_IS(&g, "null", "expected true or false, got null");
    cJSON_Delete(g.root);
}

TEST(getter_choice)
{
    static const char *const two[] = {"pool", "race"}, *const three[] = {"a", "b", "race"};
    struct getters g;
    int i = 7;

    open_values(&g);
    ASSERT_EQ(atb__jw_choice(&g.w, at(&g, "race"), two, 2, "mode", &i), 0);
    ASSERT_EQ(i, 1);
    ASSERT_EQ(atb__jw_choice(&g.w, at(&g, "race"), three, 3, "mode", &i), 0);
    ASSERT_EQ(i, 2);
    i = 7;
    ASSERT_EQ(atb__jw_choice(&g.w, at(&g, "Pool"), two, 2, "mode", &i), ATB_ESPEC);
    ERROR_IS(&g, "Pool", "unknown mode 'Pool' (use pool or race)");
    ASSERT_EQ(i, 7);
    ASSERT_EQ(atb__jw_choice(&g.w, at(&g, "num"), three, 3, "mode", &i), ATB_ESPEC);
    ERROR_IS(&g, "num", "expected a, b or race, got a number");
    ASSERT_EQ(atb__jw_choice(&g.w, at(&g, "arr"), two, 2, "mode", &i), ATB_ESPEC);
    ERROR_IS(&g, "arr", "expected pool or race, got an array");
    cJSON_Delete(g.root);
}

TEST(getter_duration)
{
    struct getters g;
    double d = -7;

    open_values(&g);
    ASSERT_EQ(atb__jw_duration(&g.w, at(&g, "half"), &d), 0);
    ASSERT_NEAR(d, 1.5, 1e-12);
    ASSERT_EQ(atb__jw_duration(&g.w, at(&g, "zero"), &d), 0);
    ASSERT_NEAR(d, 0, 0);
    ASSERT_EQ(atb__jw_duration(&g.w, at(&g, "big"), &d), 0);
    ASSERT_NEAR(d, 1e9, 0);
    ASSERT_EQ(atb__jw_duration(&g.w, at(&g, "ms"), &d), 0);
    ASSERT_NEAR(d, 0.25, 1e-12);
    d = -7;
    ASSERT_EQ(atb__jw_duration(&g.w, at(&g, "neg"), &d), ATB_ESPEC);
    ERROR_IS(&g, "neg", "expected a duration of 0 seconds or more, got -1");
    ASSERT_EQ(atb__jw_duration(&g.w, at(&g, "huge"), &d), ATB_ESPEC);
    ERROR_IS(&g, "huge", "expected a duration of 0 seconds or more, got 1e+10");
    ASSERT_NEAR(d, -7, 0);
    ASSERT_EQ(atb__jw_duration(&g.w, at(&g, "soon"), &d), ATB_ESPEC);
    ERROR_IS(&g, "soon", "invalid duration 'soon' (use e.g. \"10\", \"1.5s\", \"250ms\", "
                         "\"2m\", \"1h\")");
    ASSERT_EQ(atb__jw_duration(&g.w, at(&g, "t"), &d), ATB_ESPEC);
    ERROR_IS(&g, "t", "expected a duration such as \"5s\", got true");
    cJSON_Delete(g.root);
}

TEST(getter_signal)
{
    struct getters g;
    int s = 0;

    open_values(&g);
    ASSERT_EQ(atb__jw_signal(&g.w, at(&g, "sig15"), &s), 0);
    ASSERT_EQ(s, SIGTERM);
    ASSERT_EQ(atb__jw_signal(&g.w, at(&g, "TERM"), &s), 0);
    ASSERT_EQ(s, SIGTERM);
    ASSERT_EQ(atb__jw_signal(&g.w, at(&g, "SIGKILL"), &s), 0);
    ASSERT_EQ(s, SIGKILL);
    ASSERT_EQ(atb__jw_signal(&g.w, at(&g, "sig0"), &s), ATB_ESPEC);
    ERROR_IS(&g, "sig0", "unknown signal 0");
    ASSERT_EQ(atb__jw_signal(&g.w, at(&g, "sig65"), &s), ATB_ESPEC);
    ERROR_IS(&g, "sig65", "unknown signal 65");
    ASSERT_EQ(atb__jw_signal(&g.w, at(&g, "half"), &s), ATB_ESPEC);
    ERROR_IS(&g, "half", "unknown signal 1.5");
    ASSERT_EQ(atb__jw_signal(&g.w, at(&g, "nope"), &s), ATB_ESPEC);
    ERROR_IS(&g, "nope", "unknown signal 'NOPE'");
    ASSERT_EQ(atb__jw_signal(&g.w, at(&g, "obj"), &s), ATB_ESPEC);
    ERROR_IS(&g, "obj", "expected a signal name such as \"TERM\", got an object");
    ASSERT_EQ(s, SIGKILL);
    cJSON_Delete(g.root);
}

TEST(getter_jobs)
{
    struct getters g;
    unsigned j = 7;

    open_values(&g);
    ASSERT_EQ(atb__jw_jobs(&g.w, at(&g, "num"), &j), 0);
    ASSERT_EQ(j, 5);
    ASSERT_EQ(atb__jw_jobs(&g.w, at(&g, "zero"), &j), 0);
    ASSERT_EQ(j, 0);
    ASSERT_EQ(atb__jw_jobs(&g.w, at(&g, "intmax"), &j), 0);
    ASSERT_EQ(j, 2147483647u);
    j = 7;
    ASSERT_EQ(atb__jw_jobs(&g.w, at(&g, "intmax1"), &j), ATB_ESPEC);
    ERROR_IS(&g, "intmax1",
             "expected a whole number from 0 (no limit) to 2147483647, got 2.14748e+09");
    ASSERT_EQ(atb__jw_jobs(&g.w, at(&g, "neg"), &j), ATB_ESPEC);
    ERROR_IS(&g, "neg", "expected a whole number from 0 (no limit) to 2147483647, got -1");
    ASSERT_EQ(atb__jw_jobs(&g.w, at(&g, "half"), &j), ATB_ESPEC);
    ERROR_IS(&g, "half", "expected a whole number from 0 (no limit) to 2147483647, got 1.5");
    ASSERT_EQ(atb__jw_jobs(&g.w, at(&g, "four"), &j), ATB_ESPEC);
    ERROR_IS(&g, "four", "expected a whole number (0: no limit), got a string");
    ASSERT_EQ(j, 7);
    cJSON_Delete(g.root);
}

TEST(getter_text)
{
    struct getters g;
    const char *s = NULL;
    const cJSON *v;

    open_values(&g);
    v = at(&g, "utf");
    ASSERT_EQ(atb__jw_text(&g.w, v, "name", &s), 0);
    ASSERT(s == v->valuestring); /* borrowed from the tree, not copied */
    ASSERT_STR_EQ(s, "café");
    s = NULL;
    ASSERT_EQ(atb__jw_text(&g.w, at(&g, "empty"), "name", &s), ATB_ESPEC);
    ERROR_IS(&g, "empty", "expected a name (a non-empty string), got an empty string");
    ASSERT_EQ(atb__jw_text(&g.w, at(&g, "ctl"), "name", &s), ATB_ESPEC);
    ERROR_IS(&g, "ctl", "a name cannot hold control characters");
    ASSERT_EQ(atb__jw_text(&g.w, at(&g, "del"), "path", &s), ATB_ESPEC);
    ERROR_IS(&g, "del", "a path cannot hold control characters");
    ASSERT_EQ(atb__jw_text(&g.w, at(&g, "num"), "name", &s), ATB_ESPEC);
    ERROR_IS(&g, "num", "expected a name (a non-empty string), got a number");
    ASSERT(s == NULL);
    cJSON_Delete(g.root);
}

TEST(type_names_and_ordinals)
{
    struct getters g;

    open_values(&g);
    ASSERT_STR_EQ(atb__jw_type(at(&g, "null")), "null");
    ASSERT_STR_EQ(atb__jw_type(at(&g, "t")), "true");
    ASSERT_STR_EQ(atb__jw_type(at(&g, "f")), "false");
    ASSERT_STR_EQ(atb__jw_type(at(&g, "num")), "a number");
    ASSERT_STR_EQ(atb__jw_type(at(&g, "TERM")), "a string");
    ASSERT_STR_EQ(atb__jw_type(at(&g, "arr")), "an array");
    ASSERT_STR_EQ(atb__jw_type(at(&g, "obj")), "an object");
    ASSERT_EQ(atb__jw_ordinal(g.root, "t"), 0);
    ASSERT_EQ(atb__jw_ordinal(g.root, "null"), 2);
    ASSERT_EQ(atb__jw_ordinal(g.root, "four"), 27);
    ASSERT_EQ(atb__jw_ordinal(g.root, "absent"), -1);
    ASSERT_EQ(atb__jw_ordinal(g.root, "T"), -1);
    cJSON_Delete(g.root);
}

/* ---- keys: known, repeated, unknown ---- */

static const char *const top_names[] = {"mode", "jobs", "commands", "cleanup"};
static const struct atb__jw_keys top_keys = {top_names, 4};

TEST(key_id_known_and_duplicate)
{
    const char *t = "{\"mode\": \"pool\", \"jobs\": 2,\n \"mode\": \"race\"}";
    cJSON *root = cJSON_Parse(t), *v;
    struct atb_error err;
    struct atb__jwalk w = walk_of(&err, t);
    uint32_t seen = 0;
    size_t k = 0, line, col;
    int ids[3];

    ASSERT(root != NULL);
    cJSON_ArrayForEach(v, root) {
        atb__jw_push_key(&w, v->string, k);
        ids[k++] = atb__jw_key_id(&w, &top_keys, &top_keys, v->string, &seen);
        atb__jw_pop(&w);
    }
    ASSERT_EQ(k, 3);
    ASSERT_EQ(ids[0], 0);
    ASSERT_EQ(ids[1], 1);
    ASSERT_EQ(ids[2], ATB_ESPEC);
    ASSERT_EQ(seen, 3);
    ASSERT_STR_EQ(err.text, "duplicate key (given twice in one object)");
    ASSERT_STR_EQ(err.path, "mode");
    /* At the second "mode" key, on line 2, not at the first. */
    pos_of(t, "\"mode\": \"race\"", &line, &col);
    ASSERT_EQ(err.line, line);
    ASSERT_EQ(err.col, col);
    ASSERT_EQ(line, 2);
    cJSON_Delete(root);
}

/* An unknown key lists the allowed keys (which may be fewer than the
 * known ones: what this object may have) and offers the nearest when it
 * is close enough, at the key's place. */
TEST(key_id_unknown_with_did_you_mean)
{
    static const char *const some[] = {"mode", "jobs"};
    static const struct atb__jw_keys allowed = {some, 2};
    const char *t = "{\"mdoe\": 1, \"zzzzzzzz\": 2, \"commandz\": 3}";
    struct atb_error err;
    struct atb__jwalk w = walk_of(&err, t);
    uint32_t seen = 0;
    size_t line, col;
    char long_key[80];

    atb__jw_push_key(&w, "mdoe", 0);
    ASSERT_EQ(atb__jw_key_id(&w, &top_keys, &top_keys, "mdoe", &seen), ATB_ESPEC);
    ASSERT_STR_EQ(err.text,
                  "unknown key; did you mean 'mode'? allowed keys: mode, jobs, commands, cleanup");
    ASSERT_STR_EQ(err.path, "mdoe");
    pos_of(t, "\"mdoe\"", &line, &col);
    ASSERT_EQ(err.col, col);
    atb__jw_pop(&w);
    atb__jw_push_key(&w, "zzzzzzzz", 1);
    ASSERT_EQ(atb__jw_key_id(&w, &top_keys, &top_keys, "zzzzzzzz", &seen), ATB_ESPEC);
    ASSERT_STR_EQ(err.text, "unknown key; allowed keys: mode, jobs, commands, cleanup");
    pos_of(t, "\"zzzzzzzz\"", &line, &col);
    ASSERT_EQ(err.col, col);
    atb__jw_pop(&w);
    /* Known but not allowed here: the hint comes from the allowed list. */
    atb__jw_push_key(&w, "commandz", 2);
    ASSERT_EQ(atb__jw_key_id(&w, &top_keys, &allowed, "commandz", &seen), ATB_ESPEC);
    ASSERT_STR_EQ(err.text, "unknown key; allowed keys: mode, jobs");
    atb__jw_pop(&w);
    /* A very long key is never "near" and does not overflow anything. */
    memset(long_key, 'm', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    ASSERT_EQ(atb__jw_key_id(&w, &top_keys, &top_keys, long_key, &seen), ATB_ESPEC);
    ASSERT_STR_EQ(err.text, "unknown key; allowed keys: mode, jobs, commands, cleanup");
    ASSERT_EQ(seen, 0);
}

/* naming.c: default names (atb_name_default) and their "#N" suffixes,
 * assigned by atb_run_check() and read back through atb_run_result() and
 * atb_run_find(). No run is started. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "runs.h"

/* The default name of program, checked against want, in a buffer large
 * enough; the returned length must be the name's. */
static void name_is(const char *program, int shell, const char *want)
{
    char buf[128];
    size_t n;

    memset(buf, 'Z', sizeof(buf));
    n = atb_name_default(program, shell, buf, sizeof(buf));
    if (strcmp(buf, want) != 0 || n != strlen(want))
        unit_fail(__FILE__, __LINE__, "'%s' (shell %d): \"%s\" (%zu), expected \"%s\"", program,
                  shell, buf, n, want);
    /* Measured without a buffer (as atb__cmd_new() sizes it): the same. */
    if (atb_name_default(program, shell, NULL, 0) != n)
        unit_fail(__FILE__, __LINE__, "'%s' (shell %d): measured %zu, written %zu", program,
                  shell, atb_name_default(program, shell, NULL, 0), n);
}

TEST(default_of_a_program_is_its_basename)
{
    name_is("sleep", 0, "sleep");
    name_is("/usr/bin/sleep", 0, "sleep");
    name_is("./bin/run-tests", 0, "run-tests");
    name_is("../a/b/c", 0, "c");
    /* argv[0] is one word even with spaces in it: no splitting. */
    name_is("/opt/my tool/run it", 0, "run it");
    name_is("a.out", 0, "a.out");
}

/* Trailing slashes are dropped ("dir/" is "dir"), and a name made only of
 * slashes, or of nothing, falls back to "cmd": never an empty name. */
TEST(default_trailing_slashes_and_empty)
{
    name_is("dir/", 0, "dir");
    name_is("/srv/app//", 0, "app");
    name_is("a//", 0, "a");
    name_is("/", 0, "cmd");
    name_is("//", 0, "cmd");
    name_is("", 0, "cmd");
    name_is("", 1, "cmd");
    name_is("   ", 1, "cmd");
    name_is("\t\n", 1, "cmd");
    name_is(";", 1, "cmd");
    name_is("\"\" ''", 1, "cmd");
}

/* A shell line is named after its first two words, leading blanks
 * skipped, joined by one space. */
TEST(default_of_a_shell_line_is_its_first_two_words)
{
    name_is("make -j8 all", 1, "make -j8");
    name_is("make test", 1, "make test");
    name_is("exit 3", 1, "exit 3");
    name_is("true", 1, "true");
    name_is("  ./scripts/deploy.sh --prod", 1, "deploy.sh --prod");
    name_is("\tsleep\t1", 1, "sleep 1");
    name_is("sleep   1   ", 1, "sleep 1");
    name_is("exec sleep 100", 1, "exec sleep");
    name_is("/usr/bin/env FOO=1 x", 1, "env FOO=1");
    /* The same text as an argv[0] is not split. */
    name_is("make -j8 all", 0, "make -j8 all");
}

/* Words end at shell operators too: the name comes from the first command
 * of a list, a pipeline or a redirection. */
TEST(default_of_a_shell_line_stops_at_operators)
{
    name_is("sleep 1; echo hi", 1, "sleep 1");
    name_is("sleep 1;echo hi", 1, "sleep 1");
    name_is("cd x && make", 1, "cd x");
    name_is("a&&b", 1, "a");
    name_is("make || exit 1", 1, "make");
    name_is("grep x <in >out", 1, "grep x");
    name_is("make>log 2>&1", 1, "make");
    name_is("yes | head", 1, "yes");
    name_is("sleep 9 & wait", 1, "sleep 9");
    name_is("\nls\n-l", 1, "ls");
    name_is("(cd sub; make)", 1, "cd sub");
    name_is("echo (x)", 1, "echo");
}

/* What comes before the command is skipped: blank lines, comments, line
 * continuations and NAME=value assignments (kept only when nothing
 * follows them). */
TEST(default_of_a_shell_line_skips_what_comes_first)
{
    name_is("FOO=1 make", 1, "make");
    name_is("FOO=1 BAR_2=x make test", 1, "make test");
    name_is("FOO=1", 1, "FOO=1");
    name_is("FOO=1; make", 1, "FOO=1");
    name_is("make FOO=1", 1, "make FOO=1");
    name_is("1X=1 make", 1, "1X=1 make");
    name_is("# build it\n\n  make all # twice", 1, "make all");
    name_is("make # all", 1, "make");
    name_is("make a#b", 1, "make a#b");
    name_is("make \\\n  test", 1, "make test");
}

/* Quotes are taken off (what they hold stays one word), a backslash keeps
 * the byte after it, and command substitutions are kept whole. */
TEST(default_of_a_shell_line_reads_quotes)
{
    name_is("echo \"hello world\" x", 1, "echo hello world");
    name_is("echo 'it''s'", 1, "echo its");
    name_is("echo \"it's\"", 1, "echo it's");
    name_is("echo 'a;b'", 1, "echo a;b");
    name_is("echo \"a \\\" b\"", 1, "echo a \" b");
    name_is("echo a\\ b c", 1, "echo a b");
    /* Between double quotes a backslash quotes only $ ` " \\ and newline. */
    name_is("printf \"%s\\n\" x", 1, "printf %s\\n");
    name_is("echo \"\\$HOME \\\\\"", 1, "echo $HOME \\");
    name_is("echo \"open", 1, "echo open");
    name_is("\"\" make", 1, "make");
    name_is("echo $(date +%s) x", 1, "echo $(date +%s)");
    name_is("echo $(cat a/b | wc -l)", 1, "echo $(cat a/b | wc -l)");
    name_is("echo `date +%s` x", 1, "echo `date +%s`");
}

/* The first word is cut to its basename, and so is a second that is not
 * an option; a word of slashes is "/". */
TEST(default_of_a_shell_line_takes_basenames)
{
    name_is("./bin/test -v", 1, "test -v");
    name_is("python3 ./scripts/build.py --fast", 1, "python3 build.py");
    name_is("rm -rf build/", 1, "rm -rf");
    name_is("make -C sub/dir", 1, "make -C");
    name_is("git --git-dir=a/b log", 1, "git --git-dir=a/b");
    name_is("cat /etc/passwd", 1, "cat passwd");
    name_is("ls /", 1, "ls /");
    name_is("ls dir//", 1, "ls dir");
    name_is("\"/opt/my tool/run it\" now", 1, "run it now");
    name_is("cat $(pwd)/x", 1, "cat x");
    name_is("cd $(dirname a/b)", 1, "cd $(dirname a/b)");
}

/* The whole is cut to 24 characters, on a character boundary (UTF-8), and
 * a cut that ends on the blank between the words drops it. */
TEST(default_of_a_shell_line_is_cut_to_a_width)
{
    name_is("run-integration-tests --shard 1", 1, "run-integration-tests --");
    name_is("abcdefghijklmnopqrstuvwx yz", 1, "abcdefghijklmnopqrstuvwx");
    name_is("abcdefghijklmnopqrstuvw yz", 1, "abcdefghijklmnopqrstuvw");
    name_is("abcdefghijklmnopqrstuvwxyz0123", 1, "abcdefghijklmnopqrstuvwx");
    name_is("abcdefghijklmnopqrstuv yz", 1, "abcdefghijklmnopqrstuv y");
    /* 24 two-byte characters are 48 bytes; the 25th is left out whole. */
    name_is("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
            "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
            1, "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
               "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9");
    name_is("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
            "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9 \u00e9\u00e9",
            1, "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
               "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9");
    name_is("echo \u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac"
            "\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac",
            1,
            "echo \u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac"
            "\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac");
    name_is("echo \"a        b                 c\"", 1, "echo a        b");
    /* Four-byte characters: 24 of them fit the name's buffer exactly. */
    name_is("\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600"
            "\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600"
            "\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600"
            "\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600",
            1,
            "\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600"
            "\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600"
            "\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600"
            "\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600");
    /* Argv names are not cut. */
    name_is("/bin/abcdefghijklmnopqrstuvwxyz0123", 0, "abcdefghijklmnopqrstuvwxyz0123");
}

/* No control character ends up in a name: each one is a '?' (a tab or a
 * carriage return between words is a blank). */
TEST(default_names_hold_no_control_characters)
{
    name_is("make\x01x", 1, "make?x");
    name_is("printf '\\e[31m\x1b[0m'", 1, "printf \\e[31m?[0m");
    name_is("echo 'a\tb'", 1, "echo a?b");
    name_is("make test\r\n", 1, "make test");
    name_is("make\rtest", 1, "make test");
    name_is("echo \x7f", 1, "echo ?");
    name_is("./a\x1b]0;x\x07", 0, "a?]0;x?");
    name_is("/bin/\n", 0, "?");
}

/* Into a small buffer: cut, NUL-terminated, and the full length returned
 * so the caller can size a second try (atb__cmd_new() sizes with size 0,
 * which must not touch the buffer at all). */
TEST(default_truncates_into_a_small_buffer)
{
    char buf[8];

    memset(buf, 'Z', sizeof(buf));
    ASSERT_EQ(atb_name_default("/usr/bin/run-the-tests", 0, buf, 4), 13);
    ASSERT_STR_EQ(buf, "run");
    ASSERT_EQ(buf[4], 'Z');
    memset(buf, 'Z', sizeof(buf));
    ASSERT_EQ(atb_name_default("sleep 1", 1, buf, 1), 7);
    ASSERT_EQ(buf[0], '\0');
    ASSERT_EQ(buf[1], 'Z');
    memset(buf, 'Z', sizeof(buf));
    ASSERT_EQ(atb_name_default("sleep", 0, buf, 0), 5);
    ASSERT_EQ(buf[0], 'Z');
    ASSERT_EQ(atb_name_default("", 0, NULL, 0), 3);
    /* Exactly fits: 5 characters and the NUL. */
    ASSERT_EQ(atb_name_default("sleep", 0, buf, 6), 5);
    ASSERT_STR_EQ(buf, "sleep");
}

static struct atb_run *new_run(void)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    return run;
}

static int add_sh(struct atb_run *run, const char *name, const char *line)
{
    struct atb_cmd c = CMD_SH(name, line);
    int id = atb_run_add(run, &c);

    if (id < 0)
        unit_fail(__FILE__, __LINE__, "atb_run_add(%s): %s", line, atb_strerror(id));
    return id;
}

static void check(struct atb_run *run)
{
    struct atb_error err;

    if (atb_run_check(run, &err) != 0)
        unit_fail(__FILE__, __LINE__, "refused: %s", err.text);
}

static void named(const struct atb_run *run, int id, const char *want)
{
    const struct atb_result *r = atb_run_result(run, id);

    ASSERT(r != NULL);
    ASSERT_STR_EQ(r->name, want);
    ASSERT_EQ(atb_run_find(run, want), id);
}

/* Unnamed commands with one default get "#2", "#3"... in id order, an
 * argv command's and a shell line's alike. */
TEST(defaults_are_made_unique)
{
    struct atb_run *run = new_run();
    char *argv[] = {"/bin/sleep", "1", NULL};
    struct atb_cmd c = CMD_ARGV(NULL, argv);

    ASSERT_EQ(atb_run_add(run, &c), 0);
    add_sh(run, NULL, "sleep");
    ASSERT_EQ(atb_run_add(run, &c), 2);
    add_sh(run, NULL, "true");
    add_sh(run, NULL, "sleep 2; true");
    add_sh(run, NULL, "sleep 2 && false");
    add_sh(run, NULL, "  sleep\t2");
    check(run);
    named(run, 0, "sleep");
    named(run, 1, "sleep#2");
    named(run, 2, "sleep#3");
    named(run, 3, "true");
    named(run, 4, "sleep 2");
    named(run, 5, "sleep 2#2");
    named(run, 6, "sleep 2#3");
    atb_run_free(run);
}

/* Given names are reserved when added: a default never takes one, even a
 * given name added after the unnamed command ("sleep 1", then "sleep 1#2"
 * given later), and the default moves on to the next free number. */
TEST(given_names_are_never_taken_by_defaults)
{
    struct atb_run *run = new_run();

    add_sh(run, NULL, "sleep 1");       /* 0 */
    add_sh(run, NULL, "sleep 1");       /* 1 */
    add_sh(run, "sleep 1", "true");     /* 2: given after both */
    add_sh(run, "sleep 1#2", "true");   /* 3 */
    add_sh(run, NULL, "sleep 1;");      /* 4 */
    add_sh(run, "sleep 1#5", "true");   /* 5 */
    check(run);
    named(run, 2, "sleep 1");
    named(run, 3, "sleep 1#2");
    named(run, 5, "sleep 1#5");
    named(run, 0, "sleep 1#3");
    named(run, 1, "sleep 1#4");
    named(run, 4, "sleep 1#6");
    atb_run_free(run);
}

/* Before the check only given names are known; after it, assigned ones
 * too. Unknown names are ATB_ENONAME. */
TEST(find_given_and_assigned_names)
{
    struct atb_run *run = new_run();

    add_sh(run, "build", "make");
    add_sh(run, NULL, "make test");
    ASSERT_EQ(atb_run_find(run, "build"), 0);
    ASSERT_EQ(atb_run_find(run, "make"), ATB_ENONAME);
    check(run);
    ASSERT_EQ(atb_run_find(run, "build"), 0);
    ASSERT_EQ(atb_run_find(run, "make test"), 1);
    ASSERT_EQ(atb_run_find(run, "make"), ATB_ENONAME);
    ASSERT_EQ(atb_run_find(run, "make test#2"), ATB_ENONAME);
    ASSERT_EQ(atb_run_find(run, "Build"), ATB_ENONAME);
    ASSERT_EQ(atb_run_find(run, ""), ATB_ENONAME);
    atb_run_free(run);
}

/* A command added after a check is named by the next check, after the
 * names already handed out: names never change once given. */
TEST(names_stay_put_across_checks)
{
    struct atb_run *run = new_run();

    add_sh(run, NULL, "sleep 1");
    check(run);
    named(run, 0, "sleep 1");
    add_sh(run, NULL, "sleep 1");
    add_sh(run, "sleep 1#3", "true");
    add_sh(run, NULL, "sleep 1");
    check(run);
    named(run, 0, "sleep 1");
    named(run, 1, "sleep 1#2");
    named(run, 2, "sleep 1#3");
    named(run, 3, "sleep 1#4");
    /* The name a default got is taken like a given one. */
    {
        struct atb_cmd c = CMD_SH("sleep 1#2", "true");
        ASSERT_EQ(atb_run_add(run, &c), ATB_EDUPNAME);
    }
    atb_run_free(run);
}

/* Another program whose name looks like a suffixed one ("a#2" is a real
 * file name) still ends up unique. */
TEST(defaults_that_look_suffixed)
{
    struct atb_run *run = new_run();
    char *a2[] = {"./a#2", NULL};
    struct atb_cmd c = CMD_ARGV(NULL, a2);

    add_sh(run, NULL, "a");
    add_sh(run, NULL, "a");
    ASSERT_EQ(atb_run_add(run, &c), 2);
    check(run);
    named(run, 0, "a");
    named(run, 1, "a#2");
    named(run, 2, "a#2#2");
    atb_run_free(run);
}

/* Many of one default: each costs no more than the first (each base
 * remembers its next number), and every name is distinct. */
TEST(many_defaults)
{
    struct atb_run *run = new_run();
    char want[32];

    for (int i = 0; i < 5000; i++)
        ASSERT_EQ(add_sh(run, NULL, "sleep 0"), i);
    check(run);
    named(run, 0, "sleep 0");
    for (int i = 1; i < 5000; i++) {
        snprintf(want, sizeof(want), "sleep 0#%d", i + 1);
        named(run, i, want);
    }
    atb_run_free(run);
}

/* "Did you mean": the closest name within two edits, the first of equals,
 * and nothing for a word that is another word. */
TEST(nearest_name_within_two_edits)
{
    const char *names[] = {"pool", "try-all", "wait-all", "race", NULL, "run"};

    ASSERT_STR_EQ(atb_nearest("pol", names, 6), "pool");
    ASSERT_STR_EQ(atb_nearest("rcae", names, 6), "race");
    ASSERT_STR_EQ(atb_nearest("wait-al", names, 6), "wait-all");
    ASSERT_STR_EQ(atb_nearest("rn", names, 6), "run");
    ASSERT(atb_nearest("xyzzy", names, 6) == NULL);
    ASSERT(atb_nearest("pool", names, 0) == NULL);
    /* Too long to be close to anything. */
    ASSERT(atb_nearest("poolpoolpoolpoolpoolpoolpoolpoolpool", names, 6) == NULL);
}

/* group-out.c through real runs: each command's output is held and written
 * as one block ("==> name <==", its stdout, then its stderr) once it has
 * finished; blocks never mix; custom lines around blocks; no block for a
 * silent command; a newline for a block that lacks its last one; and
 * output far larger than the 1 MiB held in memory, both when commands
 * write into files directly and when a ready_when command is read through
 * pipes and spills to a file. The destinations are files in memory or
 * pipes the test reads back, never the test's own stdout (the TAP stream). */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "engine.h"
#include "runs.h"

static struct atb_run *new_run(int out, int err)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    /* Every command runs to its end whatever the others do. */
    ASSERT_EQ(atb_run_set_mode(run, ATB_MODE_WAIT_ALL), 0);
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_GROUP), 0);
    ASSERT_EQ(atb_run_set_output_fds(run, out, err), 0);
    return run;
}

static int add_sh(struct atb_run *run, const char *name, const char *line)
{
    struct atb_cmd c = CMD_SH(name, line);
    int id = atb_run_add(run, &c);

    ASSERT(id >= 0);
    return id;
}

static int add_ready_when(struct atb_run *run, const char *name, const char *line,
                          const char *ready_when)
{
    struct atb_cmd c = CMD_SH(name, line);
    int id;

    c.ready_when = ready_when;
    id = atb_run_add(run, &c);
    ASSERT(id >= 0);
    return id;
}

static void succeeded(const struct atb_run *run, int id)
{
    ASSERT(atb_run_result(run, id) != NULL);
    ASSERT_EQ(atb_run_result(run, id)->state, ATB_STATE_SUCCEEDED);
}

/* A block is written only once its command has finished: when the quick
 * command b has finished, its block is out and nothing of a is, though a
 * printed its first line before b even started. Then a is let go. */
struct hold_check {
    int out;
    struct gate *gate;
    char *at_b;     /* what was written when b finished */
};

static void on_finished(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct hold_check *h = data;

    (void)run;
    if (ev->kind != ATB_EVENT_FINISHED || ev->id != 1)
        return;
    h->at_b = file_text(h->out, NULL);
    gate_release(h->gate);
}

TEST(block_is_written_once_finished)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(out, err);
    struct gate g;
    struct hold_check h = {.out = out, .gate = &g};
    char line[160], *o;

    gate_open(&g);
    ASSERT_EQ(atb_run_on_event(run, on_finished, &h), 0);
    snprintf(line, sizeof(line), "echo a-first; read x <%s; echo a-last", g.path);
    add_sh(run, "a", line);
    add_sh(run, "b", "echo b-only");
    ASSERT_EQ(atb_run_exec(run), 0);
    gate_close(&g);
    succeeded(run, 0);
    succeeded(run, 1);
    ASSERT_STR_EQ(h.at_b, "==> b <==\nb-only\n");
    o = file_text(out, NULL);
    ASSERT_STR_EQ(o, "==> b <==\nb-only\n==> a <==\na-first\na-last\n");
    free(o), free(h.at_b);
    atb_run_free(run);
    close(out), close(err);
}

/* One fd for both streams: the block holds stdout, then stderr, however
 * they were interleaved in time. */
TEST(block_is_stdout_then_stderr)
{
    int fd = mem_file();
    struct atb_run *run = new_run(fd, fd);
    char *o;

    add_sh(run, "a", "echo o1; echo e1 >&2; echo o2; echo e2 >&2");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    o = file_text(fd, NULL);
    ASSERT_STR_EQ(o, "==> a <==\no1\no2\ne1\ne2\n");
    free(o);
    atb_run_free(run);
    close(fd);
}

/* Two fds: the header and stdout to out_fd, stderr to err_fd. */
TEST(block_streams_go_to_their_fds)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(out, err);
    char *o, *e;

    add_sh(run, "a", "echo o1; echo e1 >&2; echo o2");
    ASSERT_EQ(atb_run_exec(run), 0);
    o = file_text(out, NULL);
    e = file_text(err, NULL);
    ASSERT_STR_EQ(o, "==> a <==\no1\no2\n");
    ASSERT_STR_EQ(e, "e1\n");
    free(o), free(e);
    atb_run_free(run);
    close(out), close(err);
}

/* Six commands write thousands of lines to stdout and then stderr at the
 * same time, into one fd: the output is six whole blocks, one per command,
 * each its stdout lines in order, then its stderr lines in order. */
#define MIX_CMDS 6
#define MIX_OUT 2000L
#define MIX_ERR 300L

TEST(blocks_never_mix)
{
    int fd = mem_file();
    struct atb_run *run = new_run(fd, fd);
    int blocks[MIX_CMDS] = {0};
    char *o, *p;

    for (int k = 0; k < MIX_CMDS; k++) {
        char name[8], cmd[400];
        snprintf(name, sizeof(name), "w%d", k);
        snprintf(cmd, sizeof(cmd),
                 "awk 'BEGIN { for (i = 0; i < %ld; i++) print \"w%d o\", i, i * %d }';"
                 " awk 'BEGIN { for (i = 0; i < %ld; i++) print \"w%d e\", i }' >&2",
                 MIX_OUT, k, k + 1, MIX_ERR, k);
        add_sh(run, name, cmd);
    }
    ASSERT_EQ(atb_run_exec(run), 0);
    o = file_text(fd, NULL);
    p = o;
    while (*p) {
        int k, n;
        long i;

        ASSERT_EQ(sscanf(p, "==> w%d <==\n%n", &k, &n), 1);
        ASSERT(k >= 0 && k < MIX_CMDS);
        blocks[k]++;
        p += n;
        for (i = 0; i < MIX_OUT; i++) {
            char want[64];
            int wn = snprintf(want, sizeof(want), "w%d o %ld %ld\n", k, i, i * (k + 1));
            ASSERT(strncmp(p, want, (size_t)wn) == 0);
            p += wn;
        }
        for (i = 0; i < MIX_ERR; i++) {
            char want[64];
            int wn = snprintf(want, sizeof(want), "w%d e %ld\n", k, i);
            ASSERT(strncmp(p, want, (size_t)wn) == 0);
            p += wn;
        }
    }
    for (int k = 0; k < MIX_CMDS; k++) {
        succeeded(run, k);
        ASSERT_EQ(blocks[k], 1);
    }
    free(o);
    atb_run_free(run);
    close(fd);
}

/* atb_run_set_group_header(): the lines around each block, {name} put in;
 * a command that printed nothing still gets nothing. */
TEST(group_header_lines_around_blocks)
{
    int fd = mem_file();
    struct atb_run *run = new_run(fd, fd);
    char *o;

    ASSERT_EQ(atb_run_set_group_header(run, "::group::{name} ({name})\n", "::endgroup::\n"), 0);
    add_sh(run, "a", "echo hi; echo there >&2");
    add_sh(run, "b", "true");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    succeeded(run, 1);
    o = file_text(fd, NULL);
    ASSERT_STR_EQ(o, "::group::a (a)\nhi\nthere\n::endgroup::\n");
    free(o);
    atb_run_free(run);
    close(fd);
}

/* A command that printed nothing (whether it succeeded or failed) gets no
 * block; one that printed on stderr only gets its header on out_fd and its
 * lines on err_fd. */
TEST(silent_command_gets_no_block)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(out, err);
    char *o, *e;

    add_sh(run, "quiet", "true");
    add_sh(run, "fails", "exit 3");
    add_sh(run, "errs", "echo x >&2");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    ASSERT_EQ(atb_run_result(run, 1)->exit_code, 3);
    succeeded(run, 2);
    o = file_text(out, NULL);
    e = file_text(err, NULL);
    ASSERT_STR_EQ(o, "==> errs <==\n");
    ASSERT_STR_EQ(e, "x\n");
    free(o), free(e);
    atb_run_free(run);
    close(out), close(err);
}

/* A block whose stream lacks its last newline gets one, so the next block
 * starts on a line of its own: for a command writing into files, and for
 * one read through pipes (ready_when). */
TEST(block_without_final_newline_gets_one)
{
    int fd = mem_file();
    struct atb_run *run = new_run(fd, fd);
    char *o;

    ASSERT_EQ(atb_run_set_jobs(run, 1), 0); /* blocks in a known order */
    add_sh(run, "a", "printf x; printf y >&2");
    add_ready_when(run, "b", "printf p; printf q >&2", "never matched");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    succeeded(run, 1);
    o = file_text(fd, NULL);
    ASSERT_STR_EQ(o, "==> a <==\nx\ny\n==> b <==\np\nq\n");
    free(o);
    atb_run_free(run);
    close(fd);
}

/* A destination whose reader is gone (atb | head) is dropped, in group
 * mode too, whether the block would go by sendfile() (a file) or by copy
 * (a pipe): the run ends normally with the commands' own results, and the
 * other destination still gets its part. SIGPIPE is ignored as the atb
 * program ignores it. */
TEST(broken_pipe_destination_is_dropped)
{
    int p[2], err = mem_file();
    struct atb_run *run;
    char *e;

    signal(SIGPIPE, SIG_IGN);
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    close(p[0]);
    run = new_run(p[1], err);
    add_sh(run, "a", "seq 1 300000; exit 3");
    add_ready_when(run, "b", "seq 1 300000; echo b-err >&2", "^1$");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, 0)->exit_code, 3);
    succeeded(run, 1);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_FAILED);
    e = file_text(err, NULL);
    ASSERT_STR_EQ(e, "b-err\n");
    free(e);
    atb_run_free(run);
    close(p[1]), close(err);
}

/* Checks that text is exactly header, then `seq 1 nout`, then
 * `seq 1 nerr`. */
static void check_block(const char *text, size_t len, const char *header, long nout, long nerr)
{
    size_t hlen = strlen(header), olen, elen;
    char *so = seq_text(1, nout, &olen), *se = seq_text(1, nerr, &elen);

    ASSERT_EQ(len, hlen + olen + elen);
    ASSERT(memcmp(text, header, hlen) == 0);
    ASSERT(memcmp(text + hlen, so, olen) == 0);
    ASSERT(memcmp(text + hlen + olen, se, elen) == 0);
    free(so), free(se);
}

/* Several MiB from a command writing into its files directly: whole and in
 * order. The destination is opened with O_APPEND in the second run, where
 * sendfile() refuses to write and the block is copied instead. */
static void large_direct(int append)
{
    int fd = mem_file(), dest = fd;
    struct atb_run *run;
    char *o, path[64];
    size_t len;

    if (append) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        dest = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        ASSERT(dest >= 0);
    }
    run = new_run(dest, dest);
    add_sh(run, "big", "seq 1 700000; seq 1 300000 >&2");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    o = file_text(fd, &len);
    check_block(o, len, "==> big <==\n", 700000, 300000);
    free(o);
    atb_run_free(run);
    if (dest != fd)
        close(dest);
    close(fd);
}

TEST(large_output_from_files_is_whole)
{
    large_direct(0);
}

TEST(large_output_from_files_to_append_fd_is_whole)
{
    large_direct(1);
}

/* Commands with ready_when are read through pipes: held in memory up to
 * 1 MiB, then spilled to a file. "early" is ready at its first line, so
 * the rest is spliced; "late" only near its end, so it is framed and
 * copied all the way. Both blocks come out whole, to a pipe drained by a
 * thread (sendfile to a pipe) and to a file. */
struct readiness {
    int ready[2];
};

static void on_ready(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct readiness *r = data;

    (void)run;
    if (ev->kind == ATB_EVENT_READY && ev->id >= 0 && ev->id < 2)
        r->ready[ev->id]++;
}

static void large_through_pipes(int to_pipe)
{
    int fd = -1, err = mem_file();
    struct drain d;
    struct atb_run *run;
    struct readiness r = {{0}};
    char *o, *e;
    size_t len, elen;

    if (to_pipe)
        drain_start(&d);
    else
        fd = mem_file();
    run = new_run(to_pipe ? d.wfd : fd, err);
    ASSERT_EQ(atb_run_set_jobs(run, 1), 0); /* blocks in a known order */
    ASSERT_EQ(atb_run_on_event(run, on_ready, &r), 0);
    add_ready_when(run, "early", "seq 1 700000; seq 1 300000 >&2", "^1$");
    add_ready_when(run, "late", "seq 1 600000; seq 1 200000 >&2", "^599999$");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    succeeded(run, 1);
    ASSERT_EQ(r.ready[0], 1);
    ASSERT_EQ(r.ready[1], 1);
    o = to_pipe ? drain_end(&d, &len) : file_text(fd, &len);
    e = file_text(err, &elen);
    {
        size_t l1, l2, e1, e2;
        char *s1 = seq_text(1, 700000, &l1), *s2 = seq_text(1, 600000, &l2);
        char *t1 = seq_text(1, 300000, &e1), *t2 = seq_text(1, 200000, &e2);
        size_t h1 = strlen("==> early <==\n"), h2 = strlen("==> late <==\n");

        ASSERT_EQ(len, h1 + l1 + h2 + l2);
        ASSERT(memcmp(o, "==> early <==\n", h1) == 0);
        ASSERT(memcmp(o + h1, s1, l1) == 0);
        ASSERT(memcmp(o + h1 + l1, "==> late <==\n", h2) == 0);
        ASSERT(memcmp(o + h1 + l1 + h2, s2, l2) == 0);
        ASSERT_EQ(elen, e1 + e2);
        ASSERT(memcmp(e, t1, e1) == 0);
        ASSERT(memcmp(e + e1, t2, e2) == 0);
        free(s1), free(s2), free(t1), free(t2);
    }
    free(o), free(e);
    atb_run_free(run);
    if (!to_pipe)
        close(fd);
    close(err);
}

TEST(large_output_through_pipes_is_whole)
{
    large_through_pipes(0);
}

TEST(large_output_through_pipes_to_a_pipe_is_whole)
{
    large_through_pipes(1);
}

/* keep_output turns splicing off (the bytes must pass through atb to be
 * kept): a spilled block is still whole, and the tail is kept. */
TEST(large_output_through_pipes_kept)
{
    int fd = mem_file();
    struct atb_run *run = new_run(fd, fd);
    const char *kept;
    char *o, *s;
    size_t len, klen, slen;

    ASSERT_EQ(atb_run_set_keep_output(run, 32), 0);
    add_ready_when(run, "big", "seq 1 500000", "^1$");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    o = file_text(fd, &len);
    check_block(o, len, "==> big <==\n", 500000, 0);
    s = seq_text(1, 500000, &slen);
    kept = atb_run_output(run, 0, &klen);
    ASSERT(kept != NULL);
    ASSERT_EQ(klen, 32);
    ASSERT(memcmp(kept, s + slen - 32, 32) == 0);
    free(o), free(s);
    atb_run_free(run);
    close(fd);
}

/* No temporary file can be made (TMPDIR names no folder): the output comes
 * through pipes and is held in memory, blocks as usual, and the run says
 * so once per command with the reason (ATB_EVENT_HELD). */
struct held_count {
    int held, loose, error, loose_id;
};

static void count_held(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct held_count *h = data;

    (void)run;
    if (ev->kind == ATB_EVENT_HELD) {
        h->held++;
        h->error = ev->error;
    } else if (ev->kind == ATB_EVENT_LOOSE) {
        h->loose++;
        h->loose_id = ev->id;
    }
}

static char *saved_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char *copy = t ? strdup(t) : NULL;

    ASSERT(setenv("TMPDIR", "/nonexistent/atb-unit", 1) == 0);
    return copy;
}

static void restore_tmpdir(char *saved)
{
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
}

TEST(no_temporary_folder_holds_output_in_memory)
{
    int out = mem_file(), err = mem_file();
    char *saved = saved_tmpdir();
    struct atb_run *run = new_run(out, err);
    struct held_count h = {0};
    char *o, *e;

    ASSERT_EQ(atb_run_on_event(run, count_held, &h), 0);
    add_sh(run, "a", "echo a1; echo e1 >&2; echo a2");
    add_sh(run, "b", "seq 1 3");
    ASSERT_EQ(atb_run_exec(run), 0);
    restore_tmpdir(saved);
    succeeded(run, 0);
    succeeded(run, 1);
    ASSERT_EQ(h.held, 2);
    ASSERT_EQ(h.error, -ENOENT);
    ASSERT_EQ(h.loose, 0);
    o = file_text(out, NULL);
    e = file_text(err, NULL);
    ASSERT(strstr(o, "==> a <==\na1\na2\n") != NULL);
    ASSERT(strstr(o, "==> b <==\n1\n2\n3\n") != NULL);
    ASSERT_STR_EQ(e, "e1\n");
    free(o), free(e);
    atb_run_free(run);
    close(out), close(err);
}

/* Output beyond what memory may hold (ATB_GROUP_HOLD_MAX) with no file to
 * spill into: the block opens at once and the rest follows as it comes,
 * all of it, in order, with a newline added at the end (ATB_EVENT_LOOSE). */
TEST(output_that_outgrows_memory_is_written_as_it_comes)
{
    int out = mem_file(), err = mem_file();
    char *saved = saved_tmpdir();
    struct atb_run *run = new_run(out, err);
    struct held_count h = {0};
    char *o, *want;
    size_t olen, slen;

    ASSERT_EQ(atb_run_on_event(run, count_held, &h), 0);
    /* About 20 MiB, the last line without its newline. */
    add_sh(run, "big", "seq 1 2600000; printf end");
    ASSERT_EQ(atb_run_exec(run), 0);
    restore_tmpdir(saved);
    succeeded(run, 0);
    ASSERT_EQ(h.loose, 1);
    ASSERT_EQ(h.loose_id, 0);
    o = file_text(out, &olen);
    want = seq_text(1, 2600000, &slen);
    ASSERT(slen > ATB_GROUP_HOLD_MAX);
    /* Its header, every line, "end" and the added newline. */
    ASSERT_EQ(olen, 12 + slen + 4);
    ASSERT(memcmp(o, "==> big <==\n", 12) == 0);
    ASSERT(memcmp(o + 12, want, slen) == 0);
    ASSERT(memcmp(o + 12 + slen, "end\n", 4) == 0);
    free(o), free(want);
    atb_run_free(run);
    close(out), close(err);
}

/* streams.c (the commands' pipes framed into lines) and write.c (the
 * destinations, prefix mode's lines) through real runs: prefixes and their
 * padding, lines that never mix, lines cut at 64 KiB, last lines without a
 * newline, which fd each stream goes to, events mode, colours, a
 * destination whose reader went away, the kept tail, and inherit mode's
 * watched commands. The destinations are files in memory or pipes the test
 * reads back, never the test's own stdout (the TAP stream). */
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

#define LINE_MAX_BYTES (64 * 1024) /* the piece size the run promises */

/* Every command runs to its end whatever the others do, so each test sees
 * all the output it asked for. */
static struct atb_run *new_run(enum atb_output output, int out, int err)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_mode(run, ATB_MODE_WAIT_ALL), 0);
    ASSERT_EQ(atb_run_set_output(run, output), 0);
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

static void succeeded(const struct atb_run *run, int id)
{
    ASSERT(atb_run_result(run, id) != NULL);
    ASSERT_EQ(atb_run_result(run, id)->state, ATB_STATE_SUCCEEDED);
}

/* n copies of c, NUL-terminated, after head. */
static char *repeat(const char *head, char c, size_t n)
{
    size_t h = strlen(head);
    char *s = malloc(h + n + 1);

    ASSERT(s != NULL);
    memcpy(s, head, h);
    memset(s + h, c, n);
    s[h + n] = '\0';
    return s;
}

/* Appends s and a newline to the growing text *t. */
static void append_line(char **t, size_t *len, const char *s)
{
    size_t n = strlen(s);

    *t = realloc(*t, *len + n + 2);
    ASSERT(*t != NULL);
    memcpy(*t + *len, s, n);
    (*t)[*len + n] = '\n';
    *len += n + 1;
    (*t)[*len] = '\0';
}

/* Prefixes are padded to the widest one, so every command's text starts
 * in the same column; each command's lines keep their order. */
TEST(prefix_pads_to_the_widest_name)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(ATB_OUTPUT_PREFIX, out, err);
    char *o, *e, *a, *l;

    add_sh(run, "a", "echo one; echo two; echo oops >&2");
    add_sh(run, "longname", "echo three");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    succeeded(run, 1);
    o = file_text(out, NULL);
    e = file_text(err, NULL);
    /* "[longname] " is 11 wide: "[a] " gets 7 spaces more. */
    a = lines_with(o, "[a]");
    l = lines_with(o, "[longname]");
    ASSERT_STR_EQ(a, "[a]        one\n[a]        two\n");
    ASSERT_STR_EQ(l, "[longname] three\n");
    ASSERT_EQ(count_lines(o), 3);
    ASSERT_STR_EQ(e, "[a]        oops\n");
    free(o), free(e), free(a), free(l);
    atb_run_free(run);
    close(out), close(err);
}

TEST(prefix_without_padding)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(ATB_OUTPUT_PREFIX, out, err);
    char *o, *a, *l;

    ASSERT_EQ(atb_run_set_pad(run, 0), 0);
    add_sh(run, "a", "echo one; echo two");
    add_sh(run, "longname", "echo three");
    ASSERT_EQ(atb_run_exec(run), 0);
    o = file_text(out, NULL);
    a = lines_with(o, "[a]");
    l = lines_with(o, "[longname]");
    ASSERT_STR_EQ(a, "[a] one\n[a] two\n");
    ASSERT_STR_EQ(l, "[longname] three\n");
    ASSERT_EQ(count_lines(o), 3);
    free(o), free(a), free(l);
    atb_run_free(run);
    close(out), close(err);
}

/* {index} is the id plus one and {pid} the command's own pid; with ten
 * commands the index has one or two digits, and padding still puts every
 * text in one column, at least as wide as the widest prefix. */
TEST(prefix_format_index_and_pid)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(ATB_OUTPUT_PREFIX, out, err);
    char *o, line[64];
    size_t col = 0;

    ASSERT_EQ(atb_run_set_prefix(run, "{index}/{pid}> "), 0);
    for (int k = 0; k < 10; k++) {
        char name[8], cmd[32];
        snprintf(name, sizeof(name), "c%d", k);
        snprintf(cmd, sizeof(cmd), "echo text-%d", k);
        add_sh(run, name, cmd);
    }
    ASSERT_EQ(atb_run_exec(run), 0);
    o = file_text(out, NULL);
    ASSERT_EQ(count_lines(o), 10);
    for (int k = 0; k < 10; k++) {
        const struct atb_result *r = atb_run_result(run, k);
        char *p, *text, *mine;
        size_t plen;

        succeeded(run, k);
        ASSERT(r->pid > 0);
        plen = (size_t)snprintf(line, sizeof(line), "%d/%d> ", k + 1, (int)r->pid);
        mine = lines_with(o, line);
        ASSERT_EQ(count_lines(mine), 1);
        p = mine + plen;
        while (*p == ' ')
            p++;
        text = p;
        snprintf(line, sizeof(line), "text-%d\n", k);
        ASSERT_STR_EQ(text, line);
        if (col == 0)
            col = (size_t)(text - mine);
        ASSERT_EQ((size_t)(text - mine), col);
        ASSERT(col >= plen);
        free(mine);
    }
    free(o);
    atb_run_free(run);
    close(out), close(err);
}

/* Four commands each write thousands of lines of up to 3000 bytes at once,
 * through awk's buffer, so the run's reads cut lines anywhere. Every line
 * must come out whole, with its own command's prefix, in its command's
 * order: none cut by another command's output. */
#define MIX_CMDS 4
#define MIX_LINES 2500L

TEST(lines_of_commands_never_mix)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(ATB_OUTPUT_PREFIX, out, err);
    long next[MIX_CMDS] = {0};
    char *o, *p;

    for (int k = 0; k < MIX_CMDS; k++) {
        char name[8], cmd[300];
        snprintf(name, sizeof(name), "w%d", k);
        snprintf(cmd, sizeof(cmd),
                 "awk 'BEGIN { x = \"x\"; while (length(x) < 3000) x = x x;"
                 " for (i = 0; i < %ld; i++) print \"w%d\", i, substr(x, 1, (i * 37 + %d) %% 3000) }'",
                 MIX_LINES, k, k * 11);
        add_sh(run, name, cmd);
    }
    ASSERT_EQ(atb_run_exec(run), 0);
    o = file_text(out, NULL);
    for (p = o; *p;) {
        char *nl = strchr(p, '\n');
        int k, k2, off = -1;
        long i;
        size_t want;

        ASSERT(nl != NULL);
        *nl = '\0';
        ASSERT_EQ(sscanf(p, "[w%d] w%d %ld %n", &k, &k2, &i, &off), 3);
        ASSERT(off > 0);
        ASSERT(k >= 0 && k < MIX_CMDS);
        ASSERT_EQ(k2, k);
        ASSERT_EQ(i, next[k]);
        next[k]++;
        want = (size_t)((i * 37 + k * 11) % 3000);
        ASSERT_EQ(strlen(p + off), want);
        ASSERT_EQ(strspn(p + off, "x"), want);
        p = nl + 1;
    }
    for (int k = 0; k < MIX_CMDS; k++) {
        succeeded(run, k);
        ASSERT_EQ(next[k], MIX_LINES);
    }
    free(o);
    atb_run_free(run);
    close(out), close(err);
}

/* A line longer than 64 KiB comes out in pieces of 64 KiB, each with its
 * prefix; one of exactly 64 KiB is one piece (no empty piece after it). */
TEST(long_line_comes_in_prefixed_pieces)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(ATB_OUTPUT_PREFIX, out, err);
    char *o, *want = NULL, *s;
    size_t wlen = 0;

    add_sh(run, "a",
           "head -c 150000 /dev/zero | tr '\\000' x; echo;"
           " head -c 65536 /dev/zero | tr '\\000' y; echo; echo end");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    o = file_text(out, NULL);
    s = repeat("[a] ", 'x', LINE_MAX_BYTES);
    append_line(&want, &wlen, s);
    append_line(&want, &wlen, s);
    free(s);
    s = repeat("[a] ", 'x', 150000 - 2 * LINE_MAX_BYTES);
    append_line(&want, &wlen, s);
    free(s);
    s = repeat("[a] ", 'y', LINE_MAX_BYTES);
    append_line(&want, &wlen, s);
    free(s);
    append_line(&want, &wlen, "[a] end");
    ASSERT_EQ(strlen(o), wlen);
    ASSERT(strcmp(o, want) == 0);
    free(o), free(want);
    atb_run_free(run);
    close(out), close(err);
}

/* stdout lines go to out_fd and stderr lines to err_fd, in their order;
 * a last line without its newline still comes out, with one. */
TEST(streams_go_to_their_fds_last_line_too)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(ATB_OUTPUT_PREFIX, out, err);
    char *o, *e;

    add_sh(run, "a", "echo o1; echo e1 >&2; echo o2; echo e2 >&2; printf o3; printf e3 >&2");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    o = file_text(out, NULL);
    e = file_text(err, NULL);
    ASSERT_STR_EQ(o, "[a] o1\n[a] o2\n[a] o3\n");
    ASSERT_STR_EQ(e, "[a] e1\n[a] e2\n[a] e3\n");
    free(o), free(e);
    atb_run_free(run);
    close(out), close(err);
}

/* Events mode: what the callback saw. */
struct seen {
    struct {
        int id, stream;
        char *data;
        size_t len;
    } line[32];
    size_t n;
    int writing;
};

static void record_event(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct seen *s = data;

    (void)run;
    if (ev->kind == ATB_EVENT_WRITING)
        s->writing++;
    if (ev->kind != ATB_EVENT_OUTPUT)
        return;
    ASSERT(s->n < ATB__ARRAY_SIZE(s->line));
    s->line[s->n].id = ev->id;
    s->line[s->n].stream = ev->stream;
    s->line[s->n].len = ev->len;
    s->line[s->n].data = malloc(ev->len + 1);
    ASSERT(s->line[s->n].data != NULL);
    memcpy(s->line[s->n].data, ev->data, ev->len);
    s->line[s->n].data[ev->len] = '\0';
    s->n++;
}

/* The k-th line event of command id on stream (1 or 2), or NULL. */
static const char *seen_line(const struct seen *s, int id, int stream, int k, size_t *len)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->line[i].id == id && s->line[i].stream == stream && k-- == 0) {
            *len = s->line[i].len;
            return s->line[i].data;
        }
    return NULL;
}

/* Every line arrives as ATB_EVENT_OUTPUT with its command's id and its
 * stream, without its newline (a long one in 64 KiB pieces), and nothing is
 * written to the fds: no bytes, and no WRITING event either. */
TEST(events_mode_hands_lines_and_writes_nothing)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(ATB_OUTPUT_EVENTS, out, err);
    struct seen s = {0};
    const char *l, *kept;
    size_t len;
    char *o, *e;

    ASSERT_EQ(atb_run_on_event(run, record_event, &s), 0);
    ASSERT_EQ(atb_run_set_keep_output(run, 4), 0);
    add_sh(run, "a", "echo a1; echo a2 >&2; printf a3");
    add_sh(run, "b", "head -c 70000 /dev/zero | tr '\\000' z");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    succeeded(run, 1);
    ASSERT_EQ(s.n, 5);
    l = seen_line(&s, 0, 1, 0, &len);
    ASSERT(l != NULL && len == 2 && memcmp(l, "a1", 2) == 0);
    l = seen_line(&s, 0, 1, 1, &len);
    ASSERT(l != NULL && len == 2 && memcmp(l, "a3", 2) == 0);
    l = seen_line(&s, 0, 2, 0, &len);
    ASSERT(l != NULL && len == 2 && memcmp(l, "a2", 2) == 0);
    l = seen_line(&s, 1, 1, 0, &len);
    ASSERT(l != NULL);
    ASSERT_EQ(len, LINE_MAX_BYTES);
    ASSERT_EQ(strspn(l, "z"), LINE_MAX_BYTES);
    l = seen_line(&s, 1, 1, 1, &len);
    ASSERT(l != NULL);
    ASSERT_EQ(len, 70000 - LINE_MAX_BYTES);
    ASSERT_EQ(strspn(l, "z"), 70000 - LINE_MAX_BYTES);
    ASSERT(seen_line(&s, 1, 2, 0, &len) == NULL);
    /* Output is still kept for reports in events mode. */
    kept = atb_run_output(run, 1, &len);
    ASSERT(kept != NULL && len == 4 && memcmp(kept, "zzzz", 4) == 0);
    ASSERT_EQ(s.writing, 0);
    o = file_text(out, NULL);
    e = file_text(err, NULL);
    ASSERT_STR_EQ(o, "");
    ASSERT_STR_EQ(e, "");
    for (size_t i = 0; i < s.n; i++)
        free(s.line[i].data);
    free(o), free(e);
    atb_run_free(run);
    close(out), close(err);
}

/* ATB_EVENT_WRITING comes before the writes it announces: at the first
 * event nothing has been written yet, each event is followed by a write
 * before the next one, and the last one by the last write. */
struct writing_watch {
    int out, err;
    int events;
    off_t first, last;
    int stale; /* events after which nothing was written before the next */
};

static off_t written(const struct writing_watch *w)
{
    struct stat so, se;

    ASSERT_EQ(fstat(w->out, &so), 0);
    ASSERT_EQ(fstat(w->err, &se), 0);
    return so.st_size + se.st_size;
}

static void on_writing(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct writing_watch *w = data;
    off_t now;

    (void)run;
    if (ev->kind != ATB_EVENT_WRITING)
        return;
    now = written(w);
    if (w->events == 0)
        w->first = now;
    else if (now <= w->last)
        w->stale++;
    w->last = now;
    w->events++;
}

TEST(writing_event_comes_before_writes)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(ATB_OUTPUT_PREFIX, out, err);
    struct writing_watch w = {.out = out, .err = err};

    ASSERT_EQ(atb_run_on_event(run, on_writing, &w), 0);
    add_sh(run, "a", "echo one; echo two >&2");
    add_sh(run, "b", "seq 1 100000");
    ASSERT_EQ(atb_run_exec(run), 0);
    succeeded(run, 0);
    succeeded(run, 1);
    ASSERT(w.events >= 2);
    ASSERT_EQ(w.first, 0);
    ASSERT_EQ(w.stale, 0);
    ASSERT(written(&w) > w.last);
    atb_run_free(run);
    close(out), close(err);
}

/* Colour on stdout only: stdout prefixes are coloured with the command's
 * colour, stderr lines are plain. */
TEST(color_on_stdout_only)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(ATB_OUTPUT_PREFIX, out, err);
    char *o, *e, want[128], *mine;

    ASSERT_EQ(atb_run_set_color(run, 1, ATB_COLOR_ALWAYS), 0);
    add_sh(run, "a", "echo out-a; echo err-a >&2");
    add_sh(run, "b", "echo out-b; echo err-b >&2");
    ASSERT_EQ(atb_run_exec(run), 0);
    o = file_text(out, NULL);
    e = file_text(err, NULL);
    for (int id = 0; id < 2; id++) {
        const char *name = id == 0 ? "a" : "b";

        snprintf(want, sizeof(want), "%s[%s] %sout-%s\n", atb__palette[id % 6], name,
                 ATB__COLOR_RESET, name);
        mine = lines_with(o, atb__palette[id % 6]);
        ASSERT_STR_EQ(mine, want);
        free(mine);
        snprintf(want, sizeof(want), "[%s] err-%s\n", name, name);
        mine = lines_with(e, want);
        ASSERT_STR_EQ(mine, want);
        free(mine);
    }
    ASSERT(strcmp(atb__palette[0], atb__palette[1]) != 0);
    ASSERT_EQ(count_lines(o), 2);
    ASSERT_EQ(count_lines(e), 2);
    ASSERT(strchr(e, '\033') == NULL);
    free(o), free(e);
    atb_run_free(run);
    close(out), close(err);
}

/* A destination whose reader is gone (atb | head) is dropped at EPIPE;
 * the other destination goes on, the pipes are read to the end, and the
 * commands' own results stand. SIGPIPE is ignored as the atb program
 * ignores it, so the write fails rather than killing the test. */
TEST(broken_pipe_destination_is_dropped)
{
    int p[2], err = mem_file();
    struct atb_run *run;
    char *e;

    signal(SIGPIPE, SIG_IGN);
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    close(p[0]);
    run = new_run(ATB_OUTPUT_PREFIX, p[1], err);
    /* The writes come from a subshell: whichever meets the closed pipe
     * first, seq or (when the run dropped stdout before a got going) the
     * echo, the subshell dies of SIGPIPE and the shell goes on to exit 3. */
    add_sh(run, "a", "(echo x; seq 1 100000); exit 3");
    add_sh(run, "b", "echo y >&2; seq 1 10 >&2");
    add_sh(run, "c", "exec seq 1 1000000");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, 0)->exit_code, 3);
    succeeded(run, 1);
    /* A writer to the broken stream dies of it, as in a shell pipeline. */
    ASSERT_EQ(atb_run_result(run, 2)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, 2)->term_signal, SIGPIPE);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_FAILED);
    e = file_text(err, NULL);
    ASSERT_STR_EQ(e, "[b] y\n[b] 1\n[b] 2\n[b] 3\n[b] 4\n[b] 5\n[b] 6\n[b] 7\n[b] 8\n[b] 9\n[b] 10\n");
    free(e);
    atb_run_free(run);
    close(p[1]), close(err);
}

/* The reader goes away in the middle: it reads what the first write put
 * in the pipe, then closes its end just before the second write (from the
 * WRITING event). The run then closes the command's pipe, so the command
 * dies of SIGPIPE as in a shell pipeline, and no write is tried on the
 * dropped destination again (no WRITING event). */
struct late_reader {
    int rfd;
    int events, after_close;
    char got[64];
    size_t got_len;
};

static void close_reader(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct late_reader *r = data;

    (void)run;
    if (ev->kind != ATB_EVENT_WRITING)
        return;
    if (r->rfd < 0) {
        r->after_close++;
        return;
    }
    if (++r->events < 2)
        return;
    /* What the first write left: its start is the first lines. */
    r->got_len = (size_t)read(r->rfd, r->got, sizeof(r->got) - 1);
    close(r->rfd);
    r->rfd = -1;
}

TEST(reader_that_leaves_midway_is_dropped)
{
    int p[2], err = mem_file();
    struct atb_run *run;
    struct late_reader r = {0};

    signal(SIGPIPE, SIG_IGN);
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    /* Room for the first write (at most the run's 256 KiB buffer), so it
     * never waits for this reader, which reads only from the event. */
    ASSERT(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) >= 1 << 20);
    r.rfd = p[0];
    run = new_run(ATB_OUTPUT_PREFIX, p[1], err);
    ASSERT_EQ(atb_run_on_event(run, close_reader, &r), 0);
    add_sh(run, "big", "exec seq 1 400000");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, 0)->term_signal, SIGPIPE);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_FAILED);
    ASSERT_EQ(r.rfd, -1);
    ASSERT(r.got_len >= 16);
    ASSERT(memcmp(r.got, "[big] 1\n[big] 2\n", 16) == 0);
    ASSERT_EQ(r.after_close, 0);
    atb_run_free(run);
    close(p[1]), close(err);
}

/* keep_output keeps each command's last N bytes as written (no prefix),
 * whether it wrote more or less than N; nothing for a silent command or an
 * unknown id. */
TEST(keep_output_keeps_the_tail)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(ATB_OUTPUT_PREFIX, out, err);
    const char *kept;
    char *seq, *o, *mine;
    size_t len, slen;

    ASSERT_EQ(atb_run_set_keep_output(run, 16), 0);
    add_sh(run, "a", "seq 1 100000");
    add_sh(run, "b", "printf hi");
    add_sh(run, "c", "true");
    ASSERT_EQ(atb_run_exec(run), 0);
    seq = seq_text(1, 100000, &slen);
    kept = atb_run_output(run, 0, &len);
    ASSERT(kept != NULL);
    ASSERT_EQ(len, 16);
    ASSERT(memcmp(kept, seq + slen - 16, 16) == 0);
    kept = atb_run_output(run, 1, &len);
    ASSERT(kept != NULL && len == 2 && memcmp(kept, "hi", 2) == 0);
    ASSERT(atb_run_output(run, 2, &len) == NULL);
    ASSERT_EQ(len, 0);
    ASSERT(atb_run_output(run, 42, &len) == NULL);
    /* Keeping takes nothing from what is written. */
    o = file_text(out, NULL);
    mine = lines_with(o, "[a] ");
    ASSERT_EQ(count_lines(mine), 100000);
    free(seq), free(o), free(mine);
    atb_run_free(run);
    close(out), close(err);
}

/* Inherit mode: a command with ready_when is still read, so its readiness
 * works (the command waiting for it starts once the line came), and its
 * lines pass through unprefixed; the others write to the fds themselves. */
struct order {
    int ready, started_w, ready_before_w;
};

static void on_order(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct order *o = data;

    (void)run;
    if (ev->kind == ATB_EVENT_READY && ev->id == 0)
        o->ready++;
    if (ev->kind == ATB_EVENT_STARTED && ev->id == 1) {
        o->started_w++;
        o->ready_before_w = o->ready;
    }
}

TEST(inherit_mode_reads_watched_commands)
{
    int out = mem_file(), err = mem_file();
    struct atb_run *run = new_run(ATB_OUTPUT_INHERIT, out, err);
    /* Everything srv prints comes before its ready line: once ready, the
     * work can end and srv be cancelled at any moment. */
    struct atb_cmd srv = CMD_SH("srv", "echo starting; echo 'srv warn' >&2; echo 'srv listening';"
                                       " exec sleep 100");
    struct atb_cmd w = CMD_SH("w", "echo w-ran");
    char *waits[] = {"srv", NULL};
    struct order ord = {0};
    char *o, *e, *mine;

    ASSERT_EQ(atb_run_on_event(run, on_order, &ord), 0);
    srv.service = 1;
    srv.ready_when = "listening";
    w.wait_for = waits;
    ASSERT_EQ(atb_run_add(run, &srv), 0);
    ASSERT_EQ(atb_run_add(run, &w), 1);
    add_sh(run, "plain", "echo plain-out");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(ord.ready, 1);
    ASSERT_EQ(ord.started_w, 1);
    ASSERT_EQ(ord.ready_before_w, 1);
    succeeded(run, 1);
    succeeded(run, 2);
    /* The service's normal end: cancelled once the work is done. */
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    o = file_text(out, NULL);
    e = file_text(err, NULL);
    /* srv's lines were written before w could start. */
    mine = lines_with(o, "s");
    ASSERT_STR_EQ(mine, "starting\nsrv listening\n");
    free(mine);
    ASSERT(strstr(o, "srv listening\n") < strstr(o, "w-ran\n"));
    mine = lines_with(o, "w");
    ASSERT_STR_EQ(mine, "w-ran\n");
    free(mine);
    mine = lines_with(o, "p");
    ASSERT_STR_EQ(mine, "plain-out\n");
    free(mine);
    ASSERT_EQ(count_lines(o), 4);
    ASSERT_STR_EQ(e, "srv warn\n");
    free(o), free(e);
    atb_run_free(run);
    close(out), close(err);
}

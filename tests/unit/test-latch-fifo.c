/* latch-wait.c without inotify (ATB_LATCH_NO_INOTIFY, as when a user's 128
 * instances are taken): a waiter reads the latch's wake FIFO, and
 * atb_latch_set() and atb_latch_unset() wake it through that FIFO, not
 * through the slow poll that remains for changes made without atb. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "latch-int.h"

struct seen {
    int calls, status;
    double at;
};

static void seen_cb(struct atb_latch_waiter *w, int status, int index, void *data)
{
    struct seen *s = data;

    (void)w;
    (void)index;
    s->calls++;
    s->status = status;
    s->at = atb__now();
}

struct change {
    ev_timer t;
    const char *path;
    int set, result;
    double at;
};

static void change_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct change *c = (struct change *)(void *)t;

    (void)loop;
    (void)revents;
    c->at = atb__now();
    c->result = c->set ? atb_latch_set(c->path) : atb_latch_unset(c->path);
}

/* Does the FIFO at path have a reader? A writer's O_NONBLOCK open says:
 * ENXIO when none. */
static int has_reader(const char *path)
{
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* One wait for want, with the change made 50 ms into it: how long from the
 * change to the callback. */
static double one_wait(struct ev_loop *loop, const char *path, const char *fifo, int want)
{
    struct atb_latch_wait_opts opts;
    struct atb_latch_waiter *w;
    struct seen s = {0};
    struct change c = {.path = path, .set = want == ATB_LATCH_SET};
    char *paths[] = {(char *)path};

    atb_latch_wait_opts_init(&opts);
    opts.want = want;
    opts.timeout_s = 10;
    ASSERT_EQ(atb_latch_waiter_new(&w, loop, paths, 1, &opts, seen_cb, &s), 0);
    ASSERT_EQ(atb_latch_waiter_start(w), 0);
    /* It waits through the FIFO: made beside the latch, and read. */
    ASSERT(has_reader(fifo));
    ev_timer_init(&c.t, change_cb, 0.05, 0);
    ev_timer_start(loop, &c.t);
    ev_run(loop, 0);
    ASSERT_EQ(c.result, 0);
    ASSERT_EQ(s.calls, 1);
    ASSERT_EQ(s.status, 0);
    ASSERT(s.at >= c.at);
    atb_latch_waiter_free(w);
    /* Its read end went with it. */
    ASSERT(!has_reader(fifo));
    return s.at - c.at;
}

/* Set, then unset, three rounds: the best wake-up of each kind must come
 * well before the slow poll (1 s) could have seen the change, which only a
 * wake through the FIFO does. A loaded machine may delay one round, not
 * all three. */
TEST(set_and_unset_wake_through_the_fifo)
{
    char dir[] = "/tmp/atb-unit-fifo-XXXXXX", path[64], fifo[80];
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    double best_set = 1e9, best_unset = 1e9;
    struct stat st;

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ready", dir);
    ASSERT_EQ(atb__latch_wake_path(path, fifo, sizeof(fifo)), 0);
    ASSERT(strcmp(strrchr(fifo, '/'), "/.ready.wake") == 0);
    setenv("ATB_LATCH_NO_INOTIFY", "1", 1);
    for (int round = 0; round < 3; round++) {
        double d = one_wait(loop, path, fifo, ATB_LATCH_SET);

        best_set = d < best_set ? d : best_set;
        d = one_wait(loop, path, fifo, ATB_LATCH_UNSET);
        best_unset = d < best_unset ? d : best_unset;
    }
    unsetenv("ATB_LATCH_NO_INOTIFY");
    ASSERT(best_set < 0.5);
    ASSERT(best_unset < 0.5);
    ASSERT_EQ(lstat(fifo, &st), 0);
    ASSERT(S_ISFIFO(st.st_mode));
    ASSERT_EQ(unlink(fifo), 0);
    ASSERT_EQ(rmdir(dir), 0);
    ev_loop_destroy(loop);
}

/* Something else at the FIFO's name (a file someone planted) is neither
 * used nor followed: the waiter falls back to polling and still ends. */
TEST(a_non_fifo_at_the_name_is_left_alone)
{
    char dir[] = "/tmp/atb-unit-fifo-XXXXXX", path[64], fifo[80];
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct atb_latch_wait_opts opts;
    struct atb_latch_waiter *w;
    struct seen s = {0};
    struct change c;
    char *paths[1];
    struct stat st;
    int fd;

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ready", dir);
    paths[0] = path;
    ASSERT_EQ(atb__latch_wake_path(path, fifo, sizeof(fifo)), 0);
    fd = open(fifo, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ASSERT(fd >= 0);
    close(fd);
    setenv("ATB_LATCH_NO_INOTIFY", "1", 1);
    atb_latch_wait_opts_init(&opts);
    opts.timeout_s = 10;
    ASSERT_EQ(atb_latch_waiter_new(&w, loop, paths, 1, &opts, seen_cb, &s), 0);
    ASSERT_EQ(atb_latch_waiter_start(w), 0);
    c = (struct change){.path = path, .set = 1};
    ev_timer_init(&c.t, change_cb, 0.05, 0);
    ev_timer_start(loop, &c.t);
    ev_run(loop, 0);
    unsetenv("ATB_LATCH_NO_INOTIFY");
    ASSERT_EQ(s.calls, 1);
    ASSERT_EQ(s.status, 0);
    ASSERT_EQ(lstat(fifo, &st), 0);
    ASSERT(S_ISREG(st.st_mode) && st.st_size == 0);
    atb_latch_waiter_free(w);
    ASSERT_EQ(unlink(fifo), 0);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(rmdir(dir), 0);
    ev_loop_destroy(loop);
}

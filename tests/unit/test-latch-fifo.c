/* latch-wait.c and latch-wake.c without inotify (ATB_LATCH_NO_INOTIFY, as
 * when a user's 128 instances are taken): each waiter reads a wake FIFO of
 * its own beside the latch, atb_latch_set() and atb_latch_unset() write to
 * every one, and a waiter removes its FIFO when it stops waiting. */
#include "unit.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "latch-int.h"

#define MANY 50

/* Set: readdir() says DT_UNKNOWN for every entry, as file systems without
 * d_type do. This program's readdir() is the one the library's objects
 * call (they are linked in, not loaded); it passes on to libc's. */
static int hide_d_type;

struct dirent *readdir(DIR *d)
{
    static struct dirent *(*next)(DIR *);
    struct dirent *e;

    if (next == NULL)
        *(void **)&next = dlsym(RTLD_NEXT, "readdir");
    e = next(d);
    if (e != NULL && hide_d_type)
        e->d_type = DT_UNKNOWN;
    return e;
}

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

/* How many wake FIFOs of the latch "ready" are in dir; the last one's path
 * into last (may be NULL). */
static int wake_fifos(const char *dir, char *last, size_t size)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ASSERT(d != NULL);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, ".ready.wake.", 12) != 0)
            continue;
        n++;
        if (last != NULL)
            ASSERT(snprintf(last, size, "%s/%s", dir, e->d_name) < (int)size);
    }
    closedir(d);
    return n;
}

static struct atb_latch_waiter *start_waiter(struct ev_loop *loop, char **paths, size_t n,
                                             int want, struct seen *s)
{
    struct atb_latch_wait_opts opts;
    struct atb_latch_waiter *w;

    atb_latch_wait_opts_init(&opts);
    opts.want = want;
    opts.timeout_s = 10;
    ASSERT_EQ(atb_latch_waiter_new(&w, loop, paths, n, &opts, seen_cb, s), 0);
    ASSERT_EQ(atb_latch_waiter_start(w), 0);
    return w;
}

/* Runs the loop with the change made 50 ms in: how long from the change to
 * the last callback. */
static double change_later(struct ev_loop *loop, const char *path, int set, struct seen *s,
                           int n)
{
    struct change c = {.path = path, .set = set};
    double last = 0;

    ev_timer_init(&c.t, change_cb, 0.05, 0);
    ev_timer_start(loop, &c.t);
    ev_run(loop, 0);
    ASSERT_EQ(c.result, 0);
    for (int i = 0; i < n; i++) {
        ASSERT_EQ(s[i].calls, 1);
        ASSERT_EQ(s[i].status, 0);
        ASSERT(s[i].at >= c.at);
        last = s[i].at - c.at > last ? s[i].at - c.at : last;
    }
    return last;
}

/* One wait for want: its own FIFO, read, while it waits; gone after. */
static double one_wait(struct ev_loop *loop, const char *dir, const char *path, int want)
{
    struct seen s = {0};
    char *paths[] = {(char *)path}, fifo[128];
    struct atb_latch_waiter *w = start_waiter(loop, paths, 1, want, &s);
    double d;

    ASSERT_EQ(wake_fifos(dir, fifo, sizeof(fifo)), 1);
    ASSERT(has_reader(fifo));
    d = change_later(loop, path, want == ATB_LATCH_SET, &s, 1);
    atb_latch_waiter_free(w);
    ASSERT_EQ(wake_fifos(dir, NULL, 0), 0);
    return d;
}

/* Set, then unset, three rounds: the best wake-up of each kind must come
 * well before the slow poll (1 s) could have seen the change, which only a
 * wake through the FIFO does. A loaded machine may delay one round, not
 * all three. Nothing is left in the folder after. */
TEST(set_and_unset_wake_through_the_fifo)
{
    char dir[] = "/tmp/atb-unit-fifo-XXXXXX", path[64], fifo[96];
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    double best_set = 1e9, best_unset = 1e9;

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ready", dir);
    ASSERT_EQ(atb__latch_wake_path(path, 0xabcULL, fifo, sizeof(fifo)), 0);
    ASSERT_STR_EQ(strrchr(fifo, '/'), "/.ready.wake.0000000000000abc");
    setenv("ATB_LATCH_NO_INOTIFY", "1", 1);
    for (int round = 0; round < 3; round++) {
        double d = one_wait(loop, dir, path, ATB_LATCH_SET);

        best_set = d < best_set ? d : best_set;
        d = one_wait(loop, dir, path, ATB_LATCH_UNSET);
        best_unset = d < best_unset ? d : best_unset;
    }
    unsetenv("ATB_LATCH_NO_INOTIFY");
    ASSERT(best_set < 0.5);
    ASSERT(best_unset < 0.5);
    ASSERT_EQ(rmdir(dir), 0);
    ev_loop_destroy(loop);
}

/* Many waiters: a FIFO each, all woken by one set, none left after, so
 * the folder can be removed. */
TEST(many_waiters_a_fifo_each_all_woken_by_one_set)
{
    char dir[] = "/tmp/atb-unit-fifo-XXXXXX", path[64];
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct atb_latch_waiter *w[MANY];
    struct seen s[MANY];
    char *paths[1];

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ready", dir);
    paths[0] = path;
    memset(s, 0, sizeof(s));
    setenv("ATB_LATCH_NO_INOTIFY", "1", 1);
    for (int i = 0; i < MANY; i++)
        w[i] = start_waiter(loop, paths, 1, ATB_LATCH_SET, &s[i]);
    ASSERT_EQ(wake_fifos(dir, NULL, 0), MANY);
    ASSERT(change_later(loop, path, 1, s, MANY) < 5.0);
    unsetenv("ATB_LATCH_NO_INOTIFY");
    for (int i = 0; i < MANY; i++)
        atb_latch_waiter_free(w[i]);
    ASSERT_EQ(wake_fifos(dir, NULL, 0), 0);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(rmdir(dir), 0);
    ev_loop_destroy(loop);
}

static double cpu_s(void)
{
    struct rusage ru;

    ASSERT_EQ(getrusage(RUSAGE_SELF, &ru), 0);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct pause {
    ev_timer t;
    double cpu;
};

static void pause_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    ((struct pause *)(void *)t)->cpu = cpu_s();
    ev_break(loop, EVBREAK_ONE);
}

/* A wake-up that does not end the wait (one of two latches set): the
 * waiter reads the byte and goes on with the same FIFO, asleep (a byte
 * left unread would make it spin), and the second set ends the wait. */
TEST(a_wait_that_goes_on_sleeps_and_wakes_again)
{
    char dir[] = "/tmp/atb-unit-fifo-XXXXXX", a[64], b[64];
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct pause p;
    struct seen s = {0};
    struct atb_latch_waiter *w;
    char *paths[2] = {a, b};
    double before;

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(a, sizeof(a), "%s/ready", dir);
    snprintf(b, sizeof(b), "%s/other", dir);
    setenv("ATB_LATCH_NO_INOTIFY", "1", 1);
    w = start_waiter(loop, paths, 2, ATB_LATCH_SET, &s);
    ASSERT_EQ(atb_latch_set(a), 0);
    before = cpu_s();
    ev_timer_init(&p.t, pause_cb, 0.3, 0);
    ev_timer_start(loop, &p.t);
    ev_run(loop, 0);
    ASSERT_EQ(s.calls, 0);
    ASSERT(p.cpu - before < 0.15);
    ASSERT_EQ(wake_fifos(dir, NULL, 0), 1);
    ASSERT(change_later(loop, b, 1, &s, 1) < 5.0);
    unsetenv("ATB_LATCH_NO_INOTIFY");
    atb_latch_waiter_free(w);
    ASSERT_EQ(unlink(a), 0);
    ASSERT_EQ(unlink(b), 0);
    ASSERT_EQ(rmdir(dir), 0);
    ev_loop_destroy(loop);
}

/* What a waiter killed with SIGKILL leaves (a FIFO nobody reads) is
 * removed by a setter once it is old enough, and not before; one that has
 * a reader is written to, never removed. */
TEST(a_killed_waiters_fifo_goes_once_stale)
{
    char dir[] = "/tmp/atb-unit-fifo-XXXXXX", path[64], dead[96], live[96], c;
    int fd;

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ready", dir);
    ASSERT_EQ(atb__latch_wake_path(path, 0xdeadULL, dead, sizeof(dead)), 0);
    ASSERT_EQ(atb__latch_wake_path(path, 0x11feULL, live, sizeof(live)), 0);
    ASSERT_EQ(mkfifo(dead, 0600), 0);
    ASSERT_EQ(mkfifo(live, 0600), 0);
    fd = open(live, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    ASSERT(fd >= 0);
    ASSERT_EQ(atb_latch_set(path), 0);
    ASSERT_EQ(wake_fifos(dir, NULL, 0), 2); /* too young */
    ASSERT_EQ(read(fd, &c, 1), 1);
    atb__latch_wake_stale_after(0);
    ASSERT_EQ(atb_latch_unset(path), 0);
    atb__latch_wake_stale_after(10);
    ASSERT_EQ(access(dead, F_OK), -1);
    ASSERT_EQ(read(fd, &c, 1), 1);
    ASSERT_EQ(read(fd, &c, 1), -1);
    ASSERT_EQ(errno, EAGAIN);
    close(fd);
    ASSERT_EQ(unlink(live), 0);
    ASSERT_EQ(rmdir(dir), 0);
}

/* Something else at a wake FIFO's name (a file, a symlink someone
 * planted) is neither written to nor followed, and the waiter still wakes
 * through its own FIFO. */
static void not_a_fifo_left_alone(void)
{
    char dir[] = "/tmp/atb-unit-fifo-XXXXXX", path[64], file[96], link[96], target[96];
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct seen s = {0};
    struct atb_latch_waiter *w;
    char *paths[1];
    struct stat st;
    int fd;

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ready", dir);
    snprintf(target, sizeof(target), "%s/target", dir);
    paths[0] = path;
    ASSERT_EQ(atb__latch_wake_path(path, 0x1ULL, file, sizeof(file)), 0);
    ASSERT_EQ(atb__latch_wake_path(path, 0x2ULL, link, sizeof(link)), 0);
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ASSERT(fd >= 0);
    close(fd);
    fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ASSERT(fd >= 0);
    close(fd);
    ASSERT_EQ(symlink(target, link), 0);
    setenv("ATB_LATCH_NO_INOTIFY", "1", 1);
    w = start_waiter(loop, paths, 1, ATB_LATCH_SET, &s);
    ASSERT(change_later(loop, path, 1, &s, 1) < 5.0);
    unsetenv("ATB_LATCH_NO_INOTIFY");
    atb_latch_waiter_free(w);
    ASSERT_EQ(lstat(file, &st), 0);
    ASSERT(S_ISREG(st.st_mode) && st.st_size == 0);
    ASSERT_EQ(stat(target, &st), 0);
    ASSERT(S_ISREG(st.st_mode) && st.st_size == 0);
    ASSERT_EQ(unlink(file), 0);
    ASSERT_EQ(unlink(link), 0);
    ASSERT_EQ(unlink(target), 0);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(rmdir(dir), 0);
    ev_loop_destroy(loop);
}

TEST(what_is_not_a_fifo_is_left_alone)
{
    not_a_fifo_left_alone();
}

/* The same where the file system does not say what an entry is. */
TEST(what_is_not_a_fifo_is_left_alone_without_d_type)
{
    hide_d_type = 1;
    not_a_fifo_left_alone();
    hide_d_type = 0;
}

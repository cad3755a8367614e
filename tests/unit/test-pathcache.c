/* pathcache.c: a name is searched for once per PATH; what is missing or
 * relative is not remembered; and atb__spawn() searches again when what it
 * remembered cannot be run any more. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

struct dirs {
    char a[64], b[64];
    char path[160]; /* "A:B" */
};

static void make_dirs(struct dirs *d)
{
    strcpy(d->a, "/tmp/atb-pathcache-a.XXXXXX");
    strcpy(d->b, "/tmp/atb-pathcache-b.XXXXXX");
    ASSERT(mkdtemp(d->a) != NULL);
    ASSERT(mkdtemp(d->b) != NULL);
    snprintf(d->path, sizeof(d->path), "%s:%s", d->a, d->b);
}

/* Writes a script that exits with code into dir/name, mode mode. */
static void put(const char *dir, const char *name, int code, mode_t mode)
{
    char file[128], text[64];
    int fd, n;

    snprintf(file, sizeof(file), "%s/%s", dir, name);
    n = snprintf(text, sizeof(text), "#!/bin/sh\nexit %d\n", code);
    fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, text, (size_t)n), n);
    ASSERT_EQ(close(fd), 0);
    ASSERT_EQ(chmod(file, mode), 0);
}

static void drop(const char *dir, const char *name)
{
    char file[128];

    snprintf(file, sizeof(file), "%s/%s", dir, name);
    ASSERT_EQ(unlink(file), 0);
}

static void remove_dirs(struct dirs *d)
{
    char cmd[200];

    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", d->a, d->b);
    ASSERT_EQ(system(cmd), 0);
}

TEST(found_once_then_remembered_until_forgotten)
{
    struct atb__pathcache c = {0};
    struct dirs d;
    char buf[256], want[128];

    make_dirs(&d);
    put(d.b, "prog", 0, 0755);
    snprintf(want, sizeof(want), "%s/prog", d.b);
    ASSERT_EQ(atb__path_lookup(&c, "prog", d.path, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, want);
    /* Gone from the disk, still remembered: no search was made. */
    drop(d.b, "prog");
    buf[0] = '\0';
    ASSERT_EQ(atb__path_lookup(&c, "prog", d.path, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, want);
    /* Another PATH is another search. */
    ASSERT_EQ(atb__path_lookup(&c, "prog", d.b, buf, sizeof(buf)), -ENOENT);
    ASSERT_EQ(atb__path_forget(&c, want), 1);
    ASSERT_EQ(atb__path_lookup(&c, "prog", d.path, buf, sizeof(buf)), -ENOENT);
    atb__pathcache_free(&c);
    remove_dirs(&d);
}

TEST(missing_and_relative_are_not_remembered)
{
    struct atb__pathcache c = {0};
    struct dirs d;
    char buf[256], want[128], cwd[256], rel[200];

    make_dirs(&d);
    ASSERT_EQ(atb__path_lookup(&c, "late", d.path, buf, sizeof(buf)), -ENOENT);
    put(d.a, "late", 0, 0755);
    snprintf(want, sizeof(want), "%s/late", d.a);
    ASSERT_EQ(atb__path_lookup(&c, "late", d.path, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, want);
    /* Not executable: found but refused, and not remembered either. */
    put(d.b, "plain", 0, 0644);
    ASSERT_EQ(atb__path_lookup(&c, "plain", d.path, buf, sizeof(buf)), -EACCES);
    ASSERT_EQ(chmod(strcat(strcpy(rel, d.b), "/plain"), 0755), 0);
    ASSERT_EQ(atb__path_lookup(&c, "plain", d.path, buf, sizeof(buf)), 0);
    /* A relative entry depends on the current folder. */
    ASSERT(getcwd(cwd, sizeof(cwd)) != NULL);
    ASSERT_EQ(chdir(d.a), 0);
    ASSERT_EQ(atb__path_lookup(&c, "late", ".", buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "./late");
    ASSERT_EQ(chdir(d.b), 0);
    ASSERT_EQ(atb__path_lookup(&c, "late", ".", buf, sizeof(buf)), -ENOENT);
    ASSERT_EQ(chdir(cwd), 0);
    atb__pathcache_free(&c);
    remove_dirs(&d);
}

TEST(more_names_than_entries)
{
    struct atb__pathcache c = {0};
    struct dirs d;
    char buf[256], name[16], want[128];

    make_dirs(&d);
    for (int i = 0; i < 3 * ATB__PATHCACHE_N; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        put(i % 2 ? d.a : d.b, name, 0, 0755);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3 * ATB__PATHCACHE_N; i++) {
            snprintf(name, sizeof(name), "p%d", i);
            snprintf(want, sizeof(want), "%s/%s", i % 2 ? d.a : d.b, name);
            ASSERT_EQ(atb__path_lookup(&c, name, d.path, buf, sizeof(buf)), 0);
            ASSERT_STR_EQ(buf, want);
        }
    }
    atb__pathcache_free(&c);
    remove_dirs(&d);
}

/* Runs name through the spawner with PATH=path; returns its exit status or
 * the spawn's negative errno. */
static int run(struct atb__spawner *sp, const char *name, const char *path)
{
    char *argv[] = {(char *)name, NULL}, env[200];
    char *envp[] = {env, NULL};
    struct atb__spawn_ctx ctx = {envp, NULL, -1, -1, -1, -1};
    pid_t pid;
    int st, rc;

    snprintf(env, sizeof(env), "PATH=%s", path);
    rc = atb__spawn(sp, argv, &ctx, &pid);
    if (rc < 0)
        return rc;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void spawn_after_changes(int fast)
{
    struct atb__spawner sp;
    struct dirs d;

    if (!fast)
        setenv("ATB_NO_FAST_SPAWN", "1", 1);
    ASSERT_EQ(atb__spawner_init(&sp, 1), 0);
    unsetenv("ATB_NO_FAST_SPAWN");
    make_dirs(&d);
    put(d.a, "tool", 3, 0755);
    ASSERT_EQ(run(&sp, "tool", d.path), 3);
    /* The remembered one deleted, another later in PATH: that one runs. */
    drop(d.a, "tool");
    put(d.b, "tool", 4, 0755);
    ASSERT_EQ(run(&sp, "tool", d.path), 4);
    /* Made not executable: refused, as without a cache. */
    ASSERT_EQ(chmod(strcat(d.b, "/tool"), 0644), 0);
    *strrchr(d.b, '/') = '\0';
    ASSERT_EQ(run(&sp, "tool", d.path), -EACCES);
    /* Gone everywhere: not found. */
    drop(d.b, "tool");
    ASSERT_EQ(run(&sp, "tool", d.path), -ENOENT);
    /* Found, but its interpreter is missing: ENOENT from execve, each time. */
    {
        char file[128];
        int fd;

        snprintf(file, sizeof(file), "%s/orphan", d.a);
        fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        ASSERT(fd >= 0);
        ASSERT_EQ(write(fd, "#!/nonexistent/sh\n", 18), 18);
        ASSERT_EQ(close(fd), 0);
        ASSERT_EQ(run(&sp, "orphan", d.path), -ENOENT);
        ASSERT_EQ(run(&sp, "orphan", d.path), -ENOENT);
    }
    atb__spawner_close(&sp);
    remove_dirs(&d);
}

TEST(spawn_searches_again_when_the_remembered_is_gone_fast)
{
    spawn_after_changes(1);
}

TEST(spawn_searches_again_when_the_remembered_is_gone_posix_spawn)
{
    spawn_after_changes(0);
}

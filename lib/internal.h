/* Declarations shared between lib/ files and never installed (atb__ prefix).
 * Everything here follows the public rules: 0 or a negative errno. The run
 * engine's own types live in engine.h, beside this file. */
#ifndef ATB_INTERNAL_H
#define ATB_INTERNAL_H

#include <ev.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "atb.h"

#define ATB__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The struct a member is embedded in: how a libev callback finds the owner
 * of its watcher (libuv's container_of). */
#define ATB__CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* The longest line atb frames; longer ones are cut into pieces. Also the
 * longest line a feed takes. */
#define ATB__LINE_MAX (64 * 1024)

/* sys.c: the most bytes of arguments and environment one exec can take
 * (sysconf(_SC_ARG_MAX), 128 KiB if it cannot tell). */
size_t atb__arg_max(void);

/* sys.c: EINTR-safe, close-on-exec system call wrappers. */
ssize_t atb__read(int fd, void *buf, size_t len);
int atb__write_all(int fd, const void *buf, size_t len);
int atb__open(const char *path, int flags, mode_t mode);
ssize_t atb__read_file(const char *path, char *buf, size_t size);
/* Reads all of fd (at most max bytes) into a malloc'd NUL-terminated buffer
 * the caller frees. Returns 0, -EFBIG past max, or a negative errno. */
int atb__read_all(int fd, size_t max, char **text, size_t *len);
void atb__close(int *fd);
int atb__pidfd_open(pid_t pid);
int atb__pidfd_send_signal(int pidfd, int signo);
/* 1 when the process behind pidfd has exited (it is readable), else 0. */
int atb__pidfd_exited(int pidfd);
/* libev aborts when it cannot make its epoll fd or its signal pipe, which is
 * no way to say that fds ran out: before making a loop, check that n fds can
 * be had (ATB__LOOP_FDS for the loop: epoll, eventfd, and a pipe's second
 * end should eventfd fail). Returns 0 or a negative errno (-EMFILE). */
#define ATB__LOOP_FDS 3
int atb__fds_available(int n);
/* 1 when close_range() can be called here: not before Linux 5.9, nor
 * under a seccomp filter older than it (EPERM). Closes nothing. */
int atb__close_range_works(void);
/* One more than the highest fd the process has open, for closing them one
 * by one where close_range() does not work: /proc/self/fd, else the fd
 * limit, at most ATB__FD_TOP_GUESS. */
#define ATB__FD_TOP_GUESS 65536
int atb__fd_top(void);

/* Makes the caller's process group the foreground group of the terminal
 * at fd again, after a command had it: SIGTTOU, which a background group
 * gets for trying, is blocked for that one call. Errors are ignored: the
 * terminal may be gone, or no longer ours. */
void atb__tty_reclaim(int fd);
double atb__now(void);
/* A random token (16 hex digits) into buf: the run's mark, the name of
 * its Slurm jobs. */
int atb__random_token(char *buf, size_t size);
/* 64 random bits (getrandom(2)), or the time, pid and a count where it has
 * none to give: for names that must not collide, never for secrets. */
uint64_t atb__random64(void);
double atb__wall_now(void);
/* This process's children, live or zombie, into a malloc'd array. */
int atb__children(pid_t **out, size_t *n);

/* What atb needs from /proc/PID/stat: the one parser of that file. */
struct atb__proc_stat {
    int exited;  /* a zombie (with no thread left) or dead */
    pid_t ppid;
    pid_t pgrp;
    unsigned long flags; /* the kernel's PF_* bits (PF_KTHREAD: 0x00200000) */
    unsigned long long start_time;
};
/* Returns 0, -ESRCH when there is no such process (or /proc hides it), or
 * another negative errno. */
int atb__proc_stat(pid_t pid, struct atb__proc_stat *st);

/* pidmap.c: pid -> pointer table. */
struct atb__pidmap_slot {
    pid_t pid; /* 0: never used */
    void *value;
};
struct atb__pidmap {
    struct atb__pidmap_slot *slots;
    size_t cap, used, count;
};
int atb__pidmap_put(struct atb__pidmap *m, pid_t pid, void *value);
void *atb__pidmap_get(const struct atb__pidmap *m, pid_t pid);
void atb__pidmap_del(struct atb__pidmap *m, pid_t pid);
void atb__pidmap_free(struct atb__pidmap *m);

/* names.c: a table of name strings, each with a number. */
struct atb__name_slot {
    const char *key;        /* NULL: never used */
    unsigned long value;
    unsigned long aux;      /* a second value, for tables that need one */
};
struct atb__names {
    struct atb__name_slot *slots;
    size_t cap, used, count;
    int owned;              /* keys are copies the table frees */
};
int atb__names_has(const struct atb__names *set, const char *name);
int atb__names_add(struct atb__names *set, const char *name);
void atb__names_del(struct atb__names *set, const char *name);
unsigned long *atb__names_value(struct atb__names *set, const char *name);
/* The slot of name (value and aux), NULL if absent; valid until the next
 * add or free. */
struct atb__name_slot *atb__names_slot(struct atb__names *set, const char *name);
void atb__names_free(struct atb__names *set);
/* A Bloom filter of strings in fixed memory (ATB__BLOOM_BITS, allocated on
 * the first add): it may say a string was added when it was not, never the
 * reverse. */
#define ATB__BLOOM_BITS ((size_t)1 << 21)
struct atb__bloom {
    unsigned char *bits;    /* owned, or NULL while empty */
};
int atb__bloom_add(struct atb__bloom *b, const char *s); /* 0 or -ENOMEM */
int atb__bloom_maybe(const struct atb__bloom *b, const char *s);
void atb__bloom_free(struct atb__bloom *b);

/* buf.c: a bounded string builder (curl's dynbuf idea, on a caller's
 * array): len counts what fit; what does not is cut, never overflowed. */
struct atb__buf {
    char *buf;
    size_t size, len;
};
void atb__buf_init(struct atb__buf *b, char *buf, size_t size);
void atb__buf_add(struct atb__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends user text s between quote characters (none when quote is 0):
 * at most 40 bytes of it, cut between UTF-8 characters; control characters
 * (C0, DEL, C1), bytes that are not UTF-8, and the quote and backslashes
 * (when quoting) escaped. */
void atb__buf_quote(struct atb__buf *b, const char *s, char quote);

/* spawn.c: start children in a clean state (see the comment there). */
struct atb__spawn_ctx;

/* spawn-fast.c: spawning at a cost that does not grow with atb's fds, for
 * a process that is atb's own (see the top of spawn-fast.c). */
struct atb__fast {
    int slot[3];            /* owned placeholders, pointed at /dev/null */
    unsigned first;         /* above the highest of them */
    unsigned top;           /* 0, or without close_range(): the child has
                               a copy of the table and closes 3 to top - 1 */
    int devnull;            /* borrowed */
    uint64_t moved;         /* bit sig - 1: signals not at their default, */
    int moved_known;        /* read at the first spawn */
};
/* Returns 0, or a negative errno with nothing held. */
int atb__fast_init(struct atb__fast *f, int devnull);
void atb__fast_close(struct atb__fast *f);
/* Starts the program at path (a path, not searched) as atb__spawn() says;
 * nofile: the child's RLIMIT_NOFILE, or NULL for ours. */
int atb__fast_spawn(struct atb__fast *f, const char *path, char *const argv[],
                    const struct atb__spawn_ctx *ctx, const struct rlimit *nofile, pid_t *pid);

/* pathcache.c: where program names were found in PATH (see there). */
#define ATB__PATHCACHE_N 16
struct atb__path_hit {
    char *name;            /* owned: one block holding the three strings */
    char *path;            /* the PATH it was found in */
    char *found;           /* an absolute path */
};
struct atb__pathcache {
    struct atb__path_hit hit[ATB__PATHCACHE_N];
    unsigned next;         /* the entry replaced next */
};
/* As atb__path_search(), from what is remembered when it can. */
int atb__path_lookup(struct atb__pathcache *c, const char *name, const char *path, char *buf,
                     size_t size);
/* Forgets every name found at found; returns how many there were. */
int atb__path_forget(struct atb__pathcache *c, const char *found);
void atb__pathcache_free(struct atb__pathcache *c);

struct atb__spawner {
    posix_spawnattr_t attr;
    int devnull;           /* owned; the children's stdin */
    struct rlimit nofile;  /* RLIMIT_NOFILE as the process had it */
    int raised_nofile;     /* we raised the soft limit; children get nofile */
    int use_fast;          /* fast holds what atb__fast_spawn() needs */
    struct atb__fast fast;
    struct atb__pathcache paths;
};
/* raise_nofile: raise the soft limit on open files for as long as the
 * spawner lives (atb_run_exec() only: it changes the process). */
int atb__spawner_init(struct atb__spawner *sp, int raise_nofile);
void atb__spawner_close(struct atb__spawner *sp);
struct atb__spawn_ctx {
    char *const *envp;
    const char *cwd;        /* or NULL */
    int in_fd;              /* -1: /dev/null */
    int out_fd, err_fd;     /* the child's 1 and 2 */
    int tty_fd;             /* a terminal whose foreground group the child's
                               becomes before it execs, or -1 */
};
/* The PATH searched when a command has none, as execvp() does. */
#define ATB__DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
/* Finds name in path (NULL: ATB__DEFAULT_PATH) as execvp() would. Returns 0
 * with the full path in buf, -EACCES when only non-executable files were
 * found, or -ENOENT. */
int atb__path_search(const char *name, const char *path, char *buf, size_t size);
int atb__spawn(struct atb__spawner *sp, char *const argv[],
               const struct atb__spawn_ctx *ctx, pid_t *pid);

/* regex.c: compiles a ready_when pattern (POSIX extended, no subexpression
 * reports), refusing one too large once compiled. Returns 0, or -1 with the
 * reason in why. */
int atb__regex_compile(regex_t *re, const char *pattern, char *why, size_t size);

/* signals.c: catching signals while a blocking call runs its private loop,
 * one policy for every such call: the signals are blocked and read from a
 * signalfd, so none is lost and no disposition changes; one ignored on
 * entry stays ignored (the kernel drops it), but those in force, which are
 * caught even then; at the end the mask and the forced dispositions come
 * back, and with take_pending a signal that came but was not handed over
 * yet is returned rather than lost. */
struct atb__catch {
    struct ev_loop *loop;
    int fd;                 /* owned signalfd, or -1 */
    ev_io w;
    sigset_t set;           /* the signals caught */
    sigset_t old_mask;
    sigset_t forced;        /* ignored on entry, made default while caught */
    struct sigaction old[65]; /* the forced ones' actions, by number */
    void (*cb)(int signo, void *data);
    void *data;
};
int atb__catch_start(struct atb__catch *c, struct ev_loop *loop, const sigset_t *signals,
                     const sigset_t *force, void (*cb)(int signo, void *data), void *data);
/* Returns a signal that came but was not handed to cb, or 0. */
int atb__catch_stop(struct atb__catch *c, int take_pending);

#endif

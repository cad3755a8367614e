/* Declarations shared between lib/ files and never installed (atb__ prefix).
 * Everything here follows the public rules: 0 or a negative errno. */
#ifndef ATB_INTERNAL_H
#define ATB_INTERNAL_H

#include <ev.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "atb.h"

#define ATB__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* sys.c: EINTR-safe, close-on-exec system call wrappers. */
ssize_t atb__read(int fd, void *buf, size_t len);
int atb__write_all(int fd, const void *buf, size_t len);
int atb__open(const char *path, int flags, mode_t mode);
ssize_t atb__read_file(const char *path, char *buf, size_t size);
void atb__close(int *fd);
int atb__pidfd_open(pid_t pid);
/* libev aborts when it cannot make its epoll fd or its signal pipe, which is
 * no way to say that fds ran out: before making a loop, check that n fds can
 * be had (ATB__LOOP_FDS for the loop: epoll, eventfd, and a pipe's second
 * end should eventfd fail). Returns 0 or a negative errno (-EMFILE). */
#define ATB__LOOP_FDS 3
int atb__fds_available(int n);
int atb__pidfd_send_signal(int pidfd, int signo);
double atb__now(void);
double atb__wall_now(void);
int atb__children(pid_t **out, size_t *n);


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
void atb__names_free(struct atb__names *set);

/* spawn.c: start children in a clean state (see the comment there). */
struct atb__spawner {
    posix_spawnattr_t attr;
    int devnull;           /* owned; the children's stdin */
    struct rlimit nofile;  /* RLIMIT_NOFILE as atb was given it */
    int raised_nofile;     /* we raised the soft limit; children get nofile */
};
int atb__spawner_init(struct atb__spawner *sp);
void atb__spawner_close(struct atb__spawner *sp);
struct atb__spawn_ctx {
    char *const *envp;
    const char *cwd;        /* or NULL */
    int in_fd;              /* -1: /dev/null, 0: atb's own stdin */
    int out_fd, err_fd;     /* -1: atb's own */
};
int atb__spawn(struct atb__spawner *sp, char *const argv[],
               const struct atb__spawn_ctx *ctx, pid_t *pid);

/* output.c: one of a command's output streams (stdout or stderr) when its
 * output goes through atb (prefix and group modes). */
#define ATB__LINE_MAX (64 * 1024)    /* longer lines are cut into pieces */
#define ATB__GROUP_MEM (1024 * 1024) /* group mode: held in memory, then spilled */
struct atb__stream {
    int fd;                 /* owned read end; -1 once closed */
    ev_io w;
    int which;              /* 0: stdout, 1: stderr */
    char *part;             /* prefix mode: a line not yet ended */
    size_t part_len, part_cap;
    char *mem;              /* group mode: output held back */
    size_t mem_len, mem_cap;
    int spill_fd;           /* group mode: unlinked file holding output, or -1 */
    int no_splice;          /* splice refused: copy through scratch */
    int direct;             /* group mode: the command writes into spill_fd */
};

/* A place atb writes the commands' output to (its stdout or stderr). */
struct atb__dest {
    int fd;
    int color;              /* colored prefixes */
    int broken;             /* EPIPE seen: output is dropped from now on */
};

struct atb__output {
    enum atb_output mode;   /* resolved: never AUTO */
    struct atb__dest dest[2];
    char *scratch;          /* ATB__LINE_MAX bytes: where reads land */
    char *obuf;             /* what goes out in one write() */
    size_t olen, ocap;
    size_t pad;             /* prefixes are padded to this width */
    int per_line;           /* the prefix has {time}: rendered per line */
    int github;             /* group mode inside GitHub Actions */
    int progress;           /* a status line is kept on stderr */
    int progress_shown;     /* and is on the screen now */
    ev_timer progress_w;
};

/* run.c: one command of a run. Allocated as one block with its strings. */
struct atb__cmd {
    struct atb_result res;  /* what the caller reads; first member */
    struct atb_run *run;
    size_t index;
    double t_start;         /* monotonic, when started */
    double t_killed;        /* monotonic, when SIGKILL went to the group */
    int pidfd;              /* owned; -1 unless watched by pidfd */
    ev_io pidfd_w;
    ev_child child_w;
    ev_timer grace_w;       /* cancel signal sent: SIGKILL at expiry */
    ev_timer linger_w;      /* leader gone, group not yet: re-check */
    char *name;             /* in the same block, with room for "#N" */
    struct atb__stream out[2]; /* stdout, stderr (prefix and group modes) */
    ev_timer drain_w;       /* group gone, output still open: stop waiting */
    char *kept;             /* owned: the tail of its output (keep_output) */
    size_t kept_len;
    char *prefix;           /* owned; rendered prefix, padded */
    size_t prefix_len;
    char **env;             /* changes to the environment, or NULL */
    char *cwd;              /* or NULL */
    double timeout_s;       /* its own time limit, or 0 */
    ev_timer limit_w;       /* that limit */
    /* Readiness and dependencies (deps.c). */
    char *ready_when;       /* in the block, or NULL */
    regex_t *ready_re;      /* owned, compiled from ready_when */
    double ready_timeout_s;
    ev_timer ready_w;
    char *sets;             /* in the block, or NULL */
    char *latch_path;       /* owned: where sets lives */
    char **wait_for;        /* in the block, or NULL */
    struct atb__cmd **deps; /* owned: the commands each wait_for is met by */
    size_t ndeps;
    size_t dependents_live; /* started, unfinished commands waiting for us,
                               directly or through others */
    unsigned long walk;     /* the last dependency walk that counted us */
    int cancel_signo;       /* a cancel held back until they have ended */
    char error[96];         /* res.error when it is made up ("dependency x failed") */
    unsigned named : 1, started : 1, leader_done : 1, group_done : 1, signalled : 1,
        cancelled : 1, lingering : 1, finished : 1, input : 1, clear_env : 1,
        shield : 1, timed_out : 1, forget : 1, ready : 1, ready_by_output : 1,
        waiting : 1;
};

struct atb_run {
    struct atb_opts opts;
    struct atb__cmd **cmds;  /* owned, in the order added */
    size_t n, cap;
    size_t seq;              /* commands ever added: the next index */
    size_t nmain;            /* cmds[0..nmain) are main, the rest cleanup */
    size_t nwork;            /* main commands that are not services */
    size_t work_done;        /* of those, how many have ended */
    size_t next;             /* first command not started yet */
    size_t nwaiting;         /* queued commands waiting for dependencies */
    unsigned long walks;     /* dependency walks so far (deps.c) */
    char error[256];         /* detail of ATB_EDEPS, ATB_EREGEX */
    size_t running;          /* started, not yet finished */
    size_t slots;            /* of those, the ones -j counts (not services) */
    size_t lingering;        /* leader reaped, group not yet ended */
    struct ev_loop *loop;
    int use_pidfd;
    struct atb__spawner sp;
    struct atb__output out;
    struct atb__names names; /* every name given or assigned so far */
    struct atb__names bases; /* owned: default name -> next "#N" to try */
    struct atb__pidmap leaders;  /* pidfd mode: leader pid -> command */
    ev_signal parent_w[3];   /* SIGINT, SIGTERM, SIGHUP */
    ev_signal sigchld_w;     /* pidfd mode: orphans to reap */
    ev_child orphan_w;       /* SIGCHLD mode: any child ended */
    ev_timer timeout_w;
    ev_timer shield_w;       /* opts.shield_wait_s after an interrupt */
    char *latch_dir;         /* owned; the private latch scope, or NULL */
    int latch_lock;          /* owned; flock on latch_dir, or -1 */
    char **base_env;         /* owned vector (borrowed strings): environ plus
                                ATB_LATCH_DIR, or NULL to use environ */
    char *base_env_latch;    /* owned "ATB_LATCH_DIR=..." */
    double t0;               /* monotonic, when the run began */
    double duration;
    int stopping;            /* cancelled: nothing new starts */
    int cancelling;          /* inside cancel_all(), against re-entry */
    int interrupted;         /* the parent signal that cancelled us, or 0 */
    int signals_caught;      /* parent signals so far */
    double interrupted_at;   /* monotonic, when the first one came */
    int timed_out;
    int killed_at_once;      /* the second interrupt that skipped the grace */
    int cleanup_phase;       /* the main commands are over */
    int services_cancelled;  /* their work is done */
    struct atb__cmd *first_failure;         /* or NULL */
    struct atb__cmd *first_cleanup_failure; /* or NULL */
    struct atb__cmd *winner; /* race, or NULL */
    int own_error;           /* atb's own failure during the run (125) */
    /* --stdin: commands arrive while the run goes on. */
    int feeding;             /* feed_fd is still being read */
    char *feed_buf;          /* owned, ATB__LINE_MAX bytes */
    size_t feed_len;
    int feed_eof;            /* nothing more to read, lines may remain */
    int feed_busy;           /* inside feed_process(), against re-entry */
    ev_io feed_w;
    ev_prepare tidy_w;       /* frees forgotten commands between callbacks */
    size_t forgettable;      /* finished and succeeded, not yet freed */
    size_t forgotten;        /* freed: counted, no longer listed */
    int executed;
};

/* output.c */
int atb__output_open(struct atb_run *run);
void atb__output_close(struct atb_run *run);
int atb__output_pipes(struct atb_run *run, struct atb__cmd *cmd, int wfd[2]);
void atb__output_start(struct atb_run *run, struct atb__cmd *cmd);
int atb__output_open_streams(const struct atb__cmd *cmd);
void atb__output_finish(struct atb_run *run, struct atb__cmd *cmd);
void atb__output_stop(struct atb_run *run, struct atb__cmd *cmd);
void atb__output_progress_start(struct atb_run *run);
void atb__output_progress_end(struct atb_run *run);
void atb__output_free_cmd(struct atb__cmd *cmd);
void atb__cmd_maybe_finish(struct atb__cmd *cmd);

/* regex.c: compiles a ready_when pattern (POSIX extended, no subexpression
 * reports), refusing one too large once compiled. Returns 0, or -1 with the
 * reason in why. */
int atb__regex_compile(regex_t *re, const char *pattern, char *why, size_t size);

/* deps.c: readiness and dependencies between commands. */
int atb__deps_resolve(struct atb_run *run);
int atb__deps_met(const struct atb__cmd *cmd);
void atb__deps_ready(struct atb__cmd *cmd, int by_output);
void atb__deps_ended(struct atb__cmd *cmd);
void atb__deps_started(struct atb__cmd *cmd);
void atb__deps_finished(struct atb__cmd *cmd);
int atb__deps_hold_cancel(struct atb__cmd *cmd, int signo);
void atb__deps_line(struct atb__cmd *cmd, const char *line, size_t len);
void atb__deps_free(struct atb__cmd *cmd);
void atb__run_start_queued(struct atb_run *run);
void atb__cmd_signal(struct atb__cmd *cmd, int signo);

/* modes.c: what a command's end means for the run. */
void atb__mode_on_end(struct atb_run *run, struct atb__cmd *cmd);
int atb__cmd_status(const struct atb_result *res);
void atb__run_cancel_all(struct atb_run *run, int signo);
void atb__cmd_cancel(struct atb__cmd *cmd, int signo);
void atb__mode_cancel_services(struct atb_run *run);
void atb__mode_check_services(struct atb_run *run);

#endif

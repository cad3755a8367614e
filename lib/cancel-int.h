/* cancel-int: what cancel.c (pinning targets, signalling them, waiting) and
 * cancel-check.c (what must never be signalled, pid files) share. Private
 * to lib/cancel*.c and their unit test. */
#ifndef ATB_CANCEL_INT_H
#define ATB_CANCEL_INT_H

#include <sys/types.h>
#include <time.h>

#include "internal.h"

/* What decides whether a pinned target may be signalled. */
struct atb__cancel_facts {
    unsigned long long start_time;  /* field 22 of /proc/PID/stat */
    int kthread;                    /* from atb__cancel_kthread() */
    const struct timespec *written; /* its pid file's mtime, or NULL */
};

/* Returns the thread group (process) id of pid from /proc/PID/status, or a
 * negative errno. It differs from pid for a thread other than the main
 * one: /proc answers for those too, though they are not processes. */
pid_t atb__cancel_tgid(pid_t pid);

/* 1 when the process pid, whose parent is ppid, is a kernel thread (by its
 * flags in /proc/PID/stat) or a child of pid 2 while pid 2 is kthreadd;
 * else 0, also when /proc cannot tell. */
int atb__cancel_kthread(pid_t pid, pid_t ppid);

/* Why target t must never be signalled: 1 (no errno to say) or a negative
 * errno as atb/cancel.h lists them under ATB_CANCEL_REFUSED; 0 when it may
 * be. Before the targets are opened (opened 0): pid 1, and the caller
 * itself. Once they are, of a target still pending, with f noted while it
 * was pinned: a kernel thread, an ancestor of the caller, a process that
 * started after f->written, and with group (opts.group) the caller's own
 * process group and groups 0 and 1. */
int atb__cancel_refusal(const struct atb_cancel_target *t,
                        const struct atb__cancel_facts *f, int opened,
                        int group);

#endif

/* atb/latch.h: latches, event flags kept as files that processes can wait on
 * in both directions: until set, and until unset. Included by atb.h.
 *
 * A latch is set when a regular file exists at its path and unset when
 * nothing does. Setting writes a temporary file in the same folder and
 * renames it into place, so a reader never sees a half-made latch. A symlink
 * at a latch's path is never followed: the state functions report -ELOOP.
 *
 * Bare names (no '/') live in the latch folder: $ATB_LATCH_DIR, else
 * $XDG_RUNTIME_DIR/atb/latch, else /tmp/atb-EUID/latch. atb makes that folder
 * with mode 0700 and refuses one that is a symlink, is not owned by the
 * effective user, or is writable by group or others (ATB_ELATCHDIR). It
 * refuses the default folder too, rather than use another, since every
 * process must find the same latches; only a run's private folder, which no
 * other process looks for by name, falls back (atb_latch_scope_open()).
 */
#ifndef ATB_LATCH_H
#define ATB_LATCH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ev_loop;

/* The longest bare latch name, and the longest path atb keeps for one. */
#define ATB_LATCH_NAME_MAX 128
#define ATB_LATCH_PATH_MAX 4096

/* Returned by atb_latch_state(). */
enum atb_latch_state { ATB_LATCH_UNSET = 0, ATB_LATCH_SET = 1 };

/* Why a folder was refused or could not be made: filled by the functions
 * that take one (the pointer may be NULL) whenever they fail on a folder.
 * why is static text ("is a symlink"), or, for a folder someone else owns,
 * text kept in path's unused tail after its terminating NUL ("is owned by
 * uid 1000, not by you (uid 0)"): use it while the struct is unchanged,
 * and not from a copy of the struct. It reads as a sentence after the
 * path: "PATH WHY". */
struct atb_latch_error {
    char path[ATB_LATCH_PATH_MAX]; /* the folder concerned, or "" */
    const char *why;               /* why it was refused (see above), or NULL */
};

/* Checks a bare latch name: 1 to ATB_LATCH_NAME_MAX letters, digits, '.',
 * '_' or '-', not starting with '.'. Returns 0 or ATB_ELATCHNAME. */
int atb_latch_name_check(const char *name);

/* Finds the latch folder for bare names (see above), creates it and any
 * missing parents with mode 0700, and checks that it is safe to use. On
 * success *dir is a malloc'd path the caller frees. Returns 0,
 * ATB_ELATCHDIR (err says which folder and why) or a negative errno. */
int atb_latch_dir(char **dir, struct atb_latch_error *err);

/* Checks that an existing folder is safe for latches: a real folder (not a
 * symlink), owned by the effective user, not writable by group or others.
 * Returns 0, ATB_ELATCHDIR (err says which folder and why) or a negative
 * errno from lstat (err->path is dir, err->why NULL). */
int atb_latch_dir_check(const char *dir, struct atb_latch_error *err);

/* Turns a latch NAME into a path: a NAME containing '/' is used as given
 * (its last component must not be empty, "." or ".."); a bare NAME is
 * checked and joined to atb_latch_dir(). *path is malloc'd; the caller
 * frees it. Returns 0, ATB_ELATCHNAME, ATB_ELATCHDIR or a negative errno. */
int atb_latch_path(const char *name, char **path, struct atb_latch_error *err);

/* Sets the latch at path, atomically: writes one JSON line
 * {"pid":PID,"time":"YYYY-MM-DDTHH:MM:SS.mmmZ"} to a new temporary file in
 * the same folder, then renames it over path. Setting a set latch refreshes
 * it. Returns 0 or a negative errno (the temporary file is then removed). */
int atb_latch_set(const char *path);

/* Unsets the latch at path by removing it; unsetting an unset latch is not
 * an error. A symlink there is removed, never followed. Returns 0 or a
 * negative errno. */
int atb_latch_unset(const char *path);

/* Returns ATB_LATCH_SET when a regular file is at path, ATB_LATCH_UNSET when
 * nothing is (or its folder does not exist), -ELOOP for a symlink (never
 * followed), -EISDIR for a folder, -EINVAL for any other kind of file, or
 * another negative errno from lstat(2). */
int atb_latch_state(const char *path);

/* Names a fresh private latch folder (mode 0700) for one run, next to the
 * default latch folder ($XDG_RUNTIME_DIR/atb/run-SLOT, else
 * /tmp/atb-EUID/run-SLOT, SLOT being 16 hex digits; $ATB_LATCH_DIR is not
 * consulted), without making it: most runs never use theirs, and making
 * and removing a folder is most of what a scope costs. It is made by
 * atb_latch_scope_make(), or by whatever process first makes it its latch
 * folder through ATB_LATCH_DIR (atb_latch_dir() makes a missing one). When
 * XDG_RUNTIME_DIR is not used and /tmp/atb-EUID is unsafe (anyone can make
 * it first on a shared /tmp), the folder is /tmp/atb-EUID-run-XXXXXX
 * instead, made at once by mkdtemp(3) (with /tmp sticky or closed to
 * others), and err names the folder passed over and why while the call
 * returns 0; otherwise err is empty on success. *dir is malloc'd; the
 * caller frees it and later calls atb_latch_scope_close(). *lock is a
 * close-on-exec fd holding the lock that marks the scope in use for
 * atb_latch_scope_sweep() (an OFD lock on one byte of scopes.lock beside
 * the folder, or a flock(2) on a fallback folder); the caller closes it
 * after atb_latch_scope_close(), and the kernel drops it if the process is
 * killed. Returns 0, ATB_ELATCHDIR (err says which folder and why; also
 * when the fallback cannot be made) or a negative errno. */
int atb_latch_scope_open(char **dir, int *lock, struct atb_latch_error *err);

/* Makes a scope's folder that atb_latch_scope_open() only named, if it is
 * not there yet, and checks it (atb_latch_dir_check()). Returns 0,
 * ATB_ELATCHDIR or a negative errno. */
int atb_latch_scope_make(const char *dir);

/* Removes a scope folder and everything in it, whatever children left there:
 * files and symlinks are unlinked, never followed; subfolders are entered
 * only through O_NOFOLLOW and only on the same file system, at most 32 deep.
 * dir itself must be a folder, not a symlink to one. Returns 0, or the
 * first negative errno met (removal goes on past errors; a scope never
 * made is 0). Call it once the run's processes are gone. */
int atb_latch_scope_close(const char *dir);

/* Removes the run folders that runs killed before they could clean up left
 * next to the scope folders, and, when those are in /tmp, the fallback
 * folders /tmp/atb-EUID-run-*: those owned by this user, not locked, and
 * not changed for a minute (a folder just made is not locked yet), opened
 * without following symlinks. A folder of scopes that is not this user's,
 * or is writable by others, is left unread. At most 64 in one call. A run
 * with a latch scope calls it at its end only when its own folder was
 * made, as only such runs leave one behind when killed. Returns how many
 * were removed, or a negative errno. */
int atb_latch_scope_sweep(void);

/* How to wait. Fill with atb_latch_wait_opts_init(), then change fields. */
struct atb_latch_wait_opts {
    enum atb_latch_state want; /* the state to wait for (default SET) */
    int any;            /* non-zero: done when one latch holds; else all */
    double timeout_s;   /* give up after this long; < 0: never (default) */
    double poll_s;      /* > 0: poll at this interval (at least 1 ms) instead of inotify */
    /* atb_latch_wait() only: non-zero makes SIGINT and SIGTERM end the wait
     * (see there). Ignored by the waiter. */
    int handle_signals;
};

/* Fills opts with the defaults: wait until all are set, no time limit,
 * inotify, no signal handling. */
void atb_latch_wait_opts_init(struct atb_latch_wait_opts *opts);

struct atb_latch_waiter;

/* Called once per atb_latch_waiter_start() when the wait ends. status is 0
 * (the state holds), ATB_ETIMEDOUT or a negative errno. index is the latch
 * concerned: with opts.any the one that holds; on an error the one whose
 * check failed; else -1. The waiter is stopped by then, so the callback may
 * restart or free it. */
typedef void (*atb_latch_wait_cb)(struct atb_latch_waiter *w, int status, int index,
                                  void *data);

/* Creates a stopped waiter for n >= 1 latch paths (copied; see
 * atb_latch_path()) on the caller's libev loop. The caller owns *out and
 * frees it with atb_latch_waiter_free(); the loop must outlive it. Returns 0,
 * -EINVAL (n == 0, bad opts) or -ENOMEM. */
int atb_latch_waiter_new(struct atb_latch_waiter **out, struct ev_loop *loop,
                         char *const *paths, size_t n,
                         const struct atb_latch_wait_opts *opts, atb_latch_wait_cb cb,
                         void *data);

/* Starts waiting: watches each latch's folder with inotify, then checks the
 * state, so no change between the two is missed; every later event re-checks
 * every latch. A folder inotify cannot watch (missing, watch limit reached)
 * is polled every 10 ms until it can. The callback never runs from inside
 * this call: at the earliest on the next loop iteration. The time limit
 * counts from here. Returns 0, ATB_ESTATE if already started, or -ENOMEM. */
int atb_latch_waiter_start(struct atb_latch_waiter *w);

/* Stops a started waiter without calling its callback; safe when stopped. */
void atb_latch_waiter_stop(struct atb_latch_waiter *w);

/* Stops and frees a waiter; safe on NULL. */
void atb_latch_waiter_free(struct atb_latch_waiter *w);

/* Blocks until the latches at paths reach opts->want (one of them with
 * opts->any), on a private loop. Returns 0, ATB_ETIMEDOUT, or a negative
 * errno; *index (may be NULL) is as in atb_latch_wait_cb. With
 * opts->handle_signals, SIGINT and SIGTERM (unless ignored on entry) are
 * caught while it waits: the wait then returns -EINTR with the signal in
 * *signo (may be NULL), and their previous dispositions are back in place,
 * so the caller can re-raise it. */
int atb_latch_wait(char *const *paths, size_t n, const struct atb_latch_wait_opts *opts,
                   int *index, int *signo);

#ifdef __cplusplus
}
#endif

#endif

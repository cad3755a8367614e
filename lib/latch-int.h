/* latch-int: what latch.c (names, folders, set and unset) and latch-scope.c
 * (a run's private folder) share. Private to lib/latch*.c and their unit
 * test, which points the shared temporary folder elsewhere through the
 * *_in functions. */
#ifndef ATB_LATCH_INT_H
#define ATB_LATCH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "atb.h"

/* The shared temporary folder: /tmp/atb-EUID is made in it, and a run's
 * scope falls back to a fresh folder in it (see latch-scope.c). Not
 * $TMPDIR: the default latch folder must be the same for every process of
 * a user, whatever its environment. */
#define ATB__LATCH_TMP "/tmp"

/* Fills err (may be NULL) with path, cut to fit, and why (static text or
 * NULL). */
void atb__latch_fail(struct atb_latch_error *err, const char *path, const char *why);

/* Empties err (may be NULL). */
void atb__latch_clear(struct atb_latch_error *err);

/* The folder atb keeps its own latch folders in: $XDG_RUNTIME_DIR/atb, else
 * TMP/atb-EUID. *out is malloc'd; *check_from is the offset where the part
 * atb answers for begins (see atb__latch_make_dirs()). Returns 1 when the
 * folder is the one in tmp, 0 when it is under $XDG_RUNTIME_DIR, or
 * -ENOMEM. */
int atb__latch_base(const char *tmp, char **out, size_t *check_from);

/* Creates each missing folder of path with mode 0700, parents first, and
 * checks every one from offset check_from on with atb_latch_dir_check().
 * Returns 0, ATB_ELATCHDIR or a negative errno, with err filled. */
int atb__latch_make_dirs(char *path, size_t check_from, struct atb_latch_error *err);

/* atb_latch_scope_open() and atb_latch_scope_sweep() with tmp in place of
 * ATB__LATCH_TMP. */
int atb__latch_scope_open_in(const char *tmp, char **dir, int *lock,
                             struct atb_latch_error *err);
int atb__latch_scope_sweep_in(const char *tmp);

/* latch-wake.c: the wake FIFOs of waiters without inotify (see there).
 * The path of the FIFO of waiter id for the latch at path,
 * ".NAME.wake.ID" beside it. Returns 0 or -ENAMETOOLONG. */
int atb__latch_wake_path(const char *path, uint64_t id, char *buf, size_t size);

/* Wakes every waiter of the latch at path that reads a wake FIFO, and
 * removes the FIFOs that killed waiters left. */
void atb__latch_wake(const char *path);

/* Makes waiter id's wake FIFO for the latch at path and opens it for
 * reading, without blocking. Returns the fd (its identity in *st), or a
 * negative errno (-EEXIST: something else is at the name). */
int atb__latch_fifo_open(const char *path, uint64_t id, struct stat *st);

/* Removes that FIFO, if the FIFO at its name is still the one (dev, ino). */
void atb__latch_fifo_remove(const char *path, uint64_t id, dev_t dev, ino_t ino);

/* For tests: how old a FIFO without a reader must be before a setter
 * removes it (10 s). */
void atb__latch_wake_stale_after(double seconds);

#endif

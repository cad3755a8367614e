/* atb/spec.h: a run described in JSON (see atb-spec(5)). Included by atb.h.
 *
 * Life of a spec: atb_spec_load() or atb_spec_parse(), atb_spec_apply() onto
 * a run (settings through the setters, commands through atb_run_add()),
 * then any settings of the caller's own (they beat the spec's), then
 * atb_spec_check() (the run's validator, with its errors placed in the
 * spec), then atb_spec_free(): the run keeps copies of everything.
 */
#ifndef ATB_SPEC_H
#define ATB_SPEC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct atb_run;
struct atb_cmd;
struct atb_error;

/* The largest spec atb_spec_load() reads. */
#define ATB_SPEC_MAX_SIZE ((size_t)64 << 20)

struct atb_spec;

/* Errors: every function below fills *err (a struct atb_error, may be
 * NULL) on failure: line and col where the text has a position (a syntax
 * error, and the key or value a schema error or the run's validator points
 * at), path the JSON path ("commands[2].argv"), text what is wrong; and
 * atb_spec_message() joins them with the text's origin as the atb program
 * prints them: "spec.json:7:15: commands[2].argv: expected ...". */

/* Parses len bytes of JSON text (no terminating NUL needed). base_dir is
 * the folder a relative "cwd" is taken from (NULL: left relative, to the
 * process's own working directory); it is only read during the call. On
 * success stores a spec the caller frees with atb_spec_free() and returns
 * 0; otherwise returns ATB_ESPEC or -ENOMEM, fills *err and stores NULL. */
int atb_spec_parse(const char *text, size_t len, const char *base_dir,
                   struct atb_spec **out, struct atb_error *err);

/* Parses one command object, as an element of "commands" (for commands
 * that arrive one at a time): the result is a spec of that one command and
 * no settings. Paths in errors start at the object ("argv", not
 * "commands[0].argv"). Otherwise as atb_spec_parse(). */
int atb_spec_parse_cmd(const char *text, size_t len, const char *base_dir,
                       struct atb_spec **out, struct atb_error *err);

/* Reads the spec file at path (NULL: standard input, which is left open)
 * and parses it as atb_spec_parse() does, with, for a regular file, path's
 * folder as base_dir (a pipe has none).
 * Returns 0, ATB_ESPEC, -ENOMEM, -EFBIG (more than ATB_SPEC_MAX_SIZE bytes)
 * or the negative errno of a failed open or read; on failure fills *err
 * and stores NULL. */
int atb_spec_load(const char *path, struct atb_spec **out, struct atb_error *err);

/* Applies the spec to a run that has not started and has no commands yet
 * (ATB_ESTATE otherwise): the settings it gives through the run's setters
 * ("input" names the command that reads the process's standard input, fd
 * 0), its commands (main, then cleanup) through atb_run_add(). Returns 0,
 * ATB_ESPEC (err says where and what: a duplicate name), -ENOMEM, or
 * another code of atb_run_add(). */
int atb_spec_apply(const struct atb_spec *spec, struct atb_run *run, struct atb_error *err);

/* Runs atb_run_check() on a run the spec was applied to. A problem with
 * something the spec gave comes back at its JSON path and position with
 * ATB_ESPEC; one with something the caller set after (an input command
 * named elsewhere) comes back as atb_run_check() returned it. */
int atb_spec_check(const struct atb_spec *spec, struct atb_run *run, struct atb_error *err);

/* The number of commands, the main ones first and then the cleanup ones, and
 * the i-th of them as atb_spec_apply() gives it to atb_run_add() (owned by
 * the spec; cleanup commands have cleanup set). */
size_t atb_spec_count(const struct atb_spec *spec);
const struct atb_cmd *atb_spec_cmd(const struct atb_spec *spec, size_t i);

/* Writes "ORIGIN[:LINE:COL][: PATH]: TEXT" of err into buf (truncated to
 * size) and returns buf; origin names the text ("spec.json", "<stdin>"). */
char *atb_spec_message(const struct atb_error *err, const char *origin, char *buf,
                       size_t size);

/* Frees the spec; safe on NULL. */
void atb_spec_free(struct atb_spec *spec);

#ifdef __cplusplus
}
#endif

#endif

/* atb/spec.h: a run described in JSON (see atb-spec(5)). Included by atb.h.
 *
 * Life of a spec: atb_spec_load() or atb_spec_parse(), then copy
 * atb_spec_opts() (the caller may override fields), atb_run_new() with the
 * copy, atb_spec_add_to_run(), atb_run_exec(), atb_run_free(), and last
 * atb_spec_free(): opts.prefix points into the spec, and a run borrows it.
 */
#ifndef ATB_SPEC_H
#define ATB_SPEC_H

#include <stddef.h>

struct atb_run;
struct atb_opts;
struct atb_cmd;

/* An invalid spec: bad JSON, or JSON that does not fit the schema. */
#define ATB_ESPEC (-1200)

/* The largest spec atb_spec_load() reads. */
#define ATB_SPEC_MAX_SIZE ((size_t)64 << 20)

/* What is wrong with a spec, filled in by the functions below on failure. */
struct atb_spec_error {
    unsigned line, col;  /* 1-based, of a JSON syntax error; 0 otherwise */
    char path[160];      /* JSON path of a schema error ("commands[2].argv"),
                            "" when there is none */
    char message[320];   /* what is wrong, without origin, position or path */
    char text[640];      /* all of it: "spec.json:7:15: expected ',' or '}'",
                            "spec.json: commands[2].argv: expected ..." */
};

struct atb_spec;

/* Parses len bytes of JSON text (no terminating NUL needed). origin names the
 * text in error messages ("spec.json", "<stdin>"); base_dir is the folder a
 * relative "cwd" is taken from (NULL: left relative, to atb's own working
 * directory). Both are only read during the call. On success stores a spec
 * the caller frees with atb_spec_free() and returns 0; otherwise returns
 * ATB_ESPEC or -ENOMEM, fills *err (when not NULL) and stores NULL. */
int atb_spec_parse(const char *text, size_t len, const char *origin,
                   const char *base_dir, struct atb_spec **out,
                   struct atb_spec_error *err);

/* Parses one command object, as an element of "commands" (for commands
 * that arrive one at a time): the result is a spec of that one command with
 * atb_opts_init()'s settings. Paths in errors start at the object ("argv",
 * not "commands[0].argv"). Otherwise as atb_spec_parse(). */
int atb_spec_parse_cmd(const char *text, size_t len, const char *origin,
                       const char *base_dir, struct atb_spec **out,
                       struct atb_spec_error *err);

/* Reads the spec file at path (NULL: standard input, named "<stdin>", which
 * is left open) and parses it as atb_spec_parse() does, with path as origin
 * and, for a regular file, path's folder as base_dir (a pipe has none).
 * Returns 0, ATB_ESPEC, -ENOMEM, -EFBIG (more than ATB_SPEC_MAX_SIZE bytes)
 * or the negative errno of a failed open or read; on failure fills *err
 * (when not NULL) and stores NULL. */
int atb_spec_load(const char *path, struct atb_spec **out, struct atb_spec_error *err);

/* The run settings of the spec: atb_opts_init()'s defaults overridden by the
 * spec's keys. Owned by the spec. */
const struct atb_opts *atb_spec_opts(const struct atb_spec *spec);

/* The number of commands, the main ones first and then the cleanup ones, and
 * the i-th of them as it will be given to atb_run_add() (owned by the spec;
 * cleanup commands have cleanup set). */
size_t atb_spec_count(const struct atb_spec *spec);
const struct atb_cmd *atb_spec_cmd(const struct atb_spec *spec, size_t i);

/* Adds every command of the spec to run, in order (atb_run_add() copies
 * them). Returns 0, or the first negative error of atb_run_add(). */
int atb_spec_add_to_run(const struct atb_spec *spec, struct atb_run *run);

/* Frees the spec; safe on NULL. */
void atb_spec_free(struct atb_spec *spec);

#endif

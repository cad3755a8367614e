/* pathcache: where a program name was found in PATH, remembered for as
 * long as a run lives, as a shell's hash table does (bash's `hash`).
 *
 * Without it every start of `true` walks PATH again: one stat() per folder
 * before the one that has it, ten on a developer's machine, for each of a
 * run's thousands of commands. A name is looked up once per PATH value;
 * what is remembered is only a program that was found, at an absolute path
 * (a relative PATH entry depends on the folder the command runs in), so a
 * program that is missing is searched for again each time, and one that
 * appears later is found. When the remembered file cannot be run any more
 * (deleted, replaced by something not executable), the spawner forgets it
 * and searches again (atb__path_forget()): only a program put into an
 * earlier PATH folder during the run is not seen, as with a shell.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int same(const struct atb__path_hit *h, const char *name, const char *path)
{
    return h->name != NULL && strcmp(h->name, name) == 0 && strcmp(h->path, path) == 0;
}

static void hit_free(struct atb__path_hit *h)
{
    free(h->name);
    h->name = h->path = h->found = NULL;
}

int atb__path_lookup(struct atb__pathcache *c, const char *name, const char *path, char *buf,
                     size_t size)
{
    struct atb__path_hit *h;
    size_t nlen, plen, flen;
    int rc;

    if (path == NULL)
        path = ATB__DEFAULT_PATH; /* what the search uses: "" is another PATH */
    for (size_t i = 0; i < ATB__PATHCACHE_N; i++) {
        h = &c->hit[i];
        if (same(h, name, path) && strlen(h->found) < size) {
            strcpy(buf, h->found);
            return 0;
        }
    }
    rc = atb__path_search(name, path, buf, size);
    if (rc < 0 || buf[0] != '/')
        return rc;
    /* One block for the three strings; when memory is short the result is
     * simply not remembered. */
    nlen = strlen(name) + 1;
    plen = strlen(path) + 1;
    flen = strlen(buf) + 1;
    h = &c->hit[c->next];
    hit_free(h);
    h->name = malloc(nlen + plen + flen);
    if (h->name == NULL)
        return 0;
    h->path = h->name + nlen;
    h->found = h->path + plen;
    memcpy(h->name, name, nlen);
    memcpy(h->path, path, plen);
    memcpy(h->found, buf, flen);
    c->next = (c->next + 1) % ATB__PATHCACHE_N;
    return 0;
}

int atb__path_forget(struct atb__pathcache *c, const char *found)
{
    int n = 0;

    for (size_t i = 0; i < ATB__PATHCACHE_N; i++) {
        if (c->hit[i].name != NULL && strcmp(c->hit[i].found, found) == 0) {
            hit_free(&c->hit[i]);
            n++;
        }
    }
    return n;
}

void atb__pathcache_free(struct atb__pathcache *c)
{
    for (size_t i = 0; i < ATB__PATHCACHE_N; i++)
        hit_free(&c->hit[i]);
    c->next = 0;
}

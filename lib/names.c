/* names: a set of command names, so that a run of 10,000 commands can check
 * uniqueness and pick "name#2" defaults without comparing every pair. Open
 * addressing with FNV-1a; the set borrows the strings it holds. */
#include "internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

int atb__names_has(const struct atb__names *set, const char *name)
{
    if (set->cap == 0)
        return 0;
    for (size_t i = hash(name) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
        if (set->slots[i] == NULL)
            return 0;
        if (strcmp(set->slots[i], name) == 0)
            return 1;
    }
}

/* Adds name (borrowed; it must outlive the set). Returns 0, -EEXIST when it
 * is there already, or -ENOMEM. */
int atb__names_add(struct atb__names *set, const char *name)
{
    size_t i;

    if (atb__names_has(set, name))
        return -EEXIST;
    if ((set->count + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        const char **slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
            return -ENOMEM;
        for (size_t j = 0; j < set->cap; j++) {
            if (set->slots[j] == NULL)
                continue;
            for (i = hash(set->slots[j]) & (cap - 1); slots[i]; i = (i + 1) & (cap - 1))
                ;
            slots[i] = set->slots[j];
        }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    for (i = hash(name) & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1))
        ;
    set->slots[i] = name;
    set->count++;
    return 0;
}

void atb__names_free(struct atb__names *set)
{
    free(set->slots);
    set->slots = NULL;
    set->cap = set->count = 0;
}

/* names: string tables for command names, so that a run of 10,000 commands
 * (or a million, fed one by one) checks uniqueness and picks "name#2"
 * defaults without comparing every pair. Open addressing with FNV-1a and
 * tombstones; a table either borrows its keys or owns copies of them. And
 * a Bloom filter, for names a table no longer holds but that must not be
 * handed out again (naming.c). */
#include "internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char tomb_marker;
#define TOMB (&tomb_marker)

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

static struct atb__name_slot *find(const struct atb__names *set, const char *name)
{
    if (set->cap == 0)
        return NULL;
    for (size_t i = hash(name) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
        const char *k = set->slots[i].key;
        if (k == NULL)
            return NULL;
        if (k != TOMB && strcmp(k, name) == 0)
            return &set->slots[i];
    }
}

int atb__names_has(const struct atb__names *set, const char *name)
{
    return find(set, name) != NULL;
}

/* Rebuilds the table without tombstones, doubled when live keys need it. */
static int rehash(struct atb__names *set)
{
    size_t cap = set->cap == 0 ? 64 : (set->count + 1) * 4 > set->cap ? set->cap * 2 : set->cap;
    struct atb__name_slot *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL)
        return -ENOMEM;
    for (size_t j = 0; j < set->cap; j++) {
        const char *k = set->slots[j].key;
        size_t i;
        if (k == NULL || k == TOMB)
            continue;
        for (i = hash(k) & (cap - 1); slots[i].key; i = (i + 1) & (cap - 1))
            ;
        slots[i] = set->slots[j];
    }
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    set->used = set->count;
    return 0;
}

/* Adds name with value 0 (a borrowing table keeps the pointer, which must
 * outlive its entry; an owning one copies). Returns 0, -EEXIST when it is
 * there already, or -ENOMEM. */
int atb__names_add(struct atb__names *set, const char *name)
{
    size_t i;
    char *key;

    if (find(set, name) != NULL)
        return -EEXIST;
    if ((set->used + 1) * 2 > set->cap && rehash(set) < 0)
        return -ENOMEM;
    key = set->owned ? strdup(name) : (char *)name;
    if (key == NULL)
        return -ENOMEM;
    for (i = hash(name) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
        if (set->slots[i].key == NULL) {
            set->used++;
            break;
        }
        if (set->slots[i].key == TOMB)
            break;
    }
    set->slots[i].key = key;
    set->slots[i].value = 0;
    set->slots[i].aux = 0;
    set->count++;
    return 0;
}

void atb__names_del(struct atb__names *set, const char *name)
{
    struct atb__name_slot *s = find(set, name);

    if (s == NULL)
        return;
    if (set->owned)
        free((char *)s->key);
    s->key = TOMB;
    set->count--;
}

/* The value stored with name: a pointer into the table, NULL if absent. */
unsigned long *atb__names_value(struct atb__names *set, const char *name)
{
    struct atb__name_slot *s = find(set, name);
    return s ? &s->value : NULL;
}

struct atb__name_slot *atb__names_slot(struct atb__names *set, const char *name)
{
    return find(set, name);
}

/* Four bit positions for s, by double hashing of its FNV-1a hash. */
static size_t bloom_bit(const char *s, unsigned i)
{
    uint64_t h = (uint64_t)hash(s), h2 = (h >> 32) | 1;

    return (size_t)((h + i * h2) & (ATB__BLOOM_BITS - 1));
}

int atb__bloom_add(struct atb__bloom *b, const char *s)
{
    if (b->bits == NULL && (b->bits = calloc(ATB__BLOOM_BITS / 8, 1)) == NULL)
        return -ENOMEM;
    for (unsigned i = 0; i < 4; i++) {
        size_t bit = bloom_bit(s, i);
        b->bits[bit / 8] |= (unsigned char)(1u << (bit % 8));
    }
    return 0;
}

int atb__bloom_maybe(const struct atb__bloom *b, const char *s)
{
    if (b->bits == NULL)
        return 0;
    for (unsigned i = 0; i < 4; i++) {
        size_t bit = bloom_bit(s, i);
        if (!(b->bits[bit / 8] & (1u << (bit % 8))))
            return 0;
    }
    return 1;
}

void atb__bloom_free(struct atb__bloom *b)
{
    free(b->bits);
    b->bits = NULL;
}

void atb__names_free(struct atb__names *set)
{
    if (set->owned)
        for (size_t i = 0; i < set->cap; i++)
            if (set->slots[i].key && set->slots[i].key != TOMB)
                free((char *)set->slots[i].key);
    free(set->slots);
    set->slots = NULL;
    set->cap = set->count = set->used = 0;
}

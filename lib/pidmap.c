/* pidmap: pid -> pointer, open addressing with linear probing.
 *
 * The engine needs it in one place: when SIGCHLD says some child of ours can
 * be reaped, it must tell a command's leader (reaped through its own pidfd)
 * from an orphaned descendant (reaped here). The table stays at most half
 * full, so a lookup touches a few slots whatever the number of commands. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

static char tomb_marker;
#define TOMB ((void *)&tomb_marker)

static size_t slot_of(pid_t pid, size_t cap)
{
    return ((size_t)pid * 2654435761u) & (cap - 1);
}

static int grow(struct atb__pidmap *m)
{
    /* Rebuilding drops the tombstones: double only when live entries
     * alone need it, so churn does not grow the table. */
    size_t cap = m->cap == 0 ? 64 : (m->count + 1) * 4 > m->cap ? m->cap * 2 : m->cap;
    struct atb__pidmap_slot *old = m->slots, *slots;
    size_t oldcap = m->cap;

    slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -ENOMEM;
    m->slots = slots;
    m->cap = cap;
    m->used = 0;
    m->count = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].pid > 0 && old[i].value != TOMB)
            atb__pidmap_put(m, old[i].pid, old[i].value);
    free(old);
    return 0;
}

static struct atb__pidmap_slot *find(const struct atb__pidmap *m, pid_t pid)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = slot_of(pid, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].pid == 0)
            return NULL;
        if (m->slots[i].pid == pid && m->slots[i].value != TOMB)
            return &m->slots[i];
    }
}

int atb__pidmap_put(struct atb__pidmap *m, pid_t pid, void *value)
{
    struct atb__pidmap_slot *s = find(m, pid);
    size_t i;

    if (s != NULL) {
        s->value = value;
        return 0;
    }
    if ((m->used + 1) * 2 > m->cap) {
        int rc = grow(m);
        if (rc < 0)
            return rc;
    }
    for (i = slot_of(pid, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].pid == 0) {
            m->used++;
            break;
        }
        if (m->slots[i].value == TOMB)
            break;
    }
    m->slots[i].pid = pid;
    m->slots[i].value = value;
    m->count++;
    return 0;
}

void *atb__pidmap_get(const struct atb__pidmap *m, pid_t pid)
{
    struct atb__pidmap_slot *s = find(m, pid);
    return s ? s->value : NULL;
}

void atb__pidmap_del(struct atb__pidmap *m, pid_t pid)
{
    struct atb__pidmap_slot *s = find(m, pid);

    if (s != NULL) {
        s->value = TOMB; /* keeps later probes of the same chain intact */
        m->count--;
    }
}

void atb__pidmap_free(struct atb__pidmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->used = m->count = 0;
}

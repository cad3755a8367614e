/* The engine's internal tables: pid -> command, and the set of names. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

TEST(pidmap_put_get_del)
{
    struct atb__pidmap m = {0};
    int vals[5000];

    for (int i = 0; i < 5000; i++)
        ASSERT_EQ(atb__pidmap_put(&m, 100 + i * 7, &vals[i]), 0);
    ASSERT_EQ(m.count, 5000);
    for (int i = 0; i < 5000; i++)
        ASSERT(atb__pidmap_get(&m, 100 + i * 7) == &vals[i]);
    ASSERT(atb__pidmap_get(&m, 101) == NULL);
    for (int i = 0; i < 5000; i += 2)
        atb__pidmap_del(&m, 100 + i * 7);
    ASSERT_EQ(m.count, 2500);
    for (int i = 0; i < 5000; i++)
        ASSERT(atb__pidmap_get(&m, 100 + i * 7) == (i % 2 ? &vals[i] : NULL));
    /* A pid seen again (recycled) after its delete maps to its new value. */
    ASSERT_EQ(atb__pidmap_put(&m, 100, &vals[1]), 0);
    ASSERT(atb__pidmap_get(&m, 100) == &vals[1]);
    ASSERT_EQ(atb__pidmap_put(&m, 100, &vals[2]), 0);
    ASSERT(atb__pidmap_get(&m, 100) == &vals[2]);
    atb__pidmap_free(&m);
    ASSERT(atb__pidmap_get(&m, 100) == NULL);
}

TEST(pidmap_churn_stays_bounded)
{
    struct atb__pidmap m = {0};
    int v;

    /* Many more puts and deletes than live entries: tombstones must not
     * fill the table (grow() rebuilds it without them). */
    for (int i = 1; i <= 200000; i++) {
        ASSERT_EQ(atb__pidmap_put(&m, i, &v), 0);
        if (i > 8)
            atb__pidmap_del(&m, i - 8);
    }
    ASSERT_EQ(m.count, 8);
    ASSERT(m.cap <= 1024);
    atb__pidmap_free(&m);
}

TEST(names_set)
{
    struct atb__names s = {0};
    char (*names)[16] = calloc(3000, sizeof(*names));

    ASSERT(names != NULL);
    for (int i = 0; i < 3000; i++) {
        snprintf(names[i], sizeof(names[i]), "cmd#%d", i);
        ASSERT_EQ(atb__names_add(&s, names[i]), 0);
    }
    ASSERT_EQ(atb__names_add(&s, "cmd#17"), -EEXIST);
    ASSERT(atb__names_has(&s, "cmd#2999"));
    ASSERT(!atb__names_has(&s, "cmd#3000"));
    atb__names_del(&s, "cmd#17");
    ASSERT(!atb__names_has(&s, "cmd#17"));
    ASSERT(atb__names_has(&s, "cmd#18"));
    ASSERT_EQ(atb__names_add(&s, "cmd#17"), 0);
    atb__names_free(&s);
    free(names);
}

TEST(names_owned_values_and_churn)
{
    struct atb__names s = {0};
    char name[32];

    s.owned = 1;
    ASSERT_EQ(atb__names_add(&s, "sleep"), 0);
    *atb__names_value(&s, "sleep") = 7;
    ASSERT_EQ(*atb__names_value(&s, "sleep"), 7);
    ASSERT(atb__names_value(&s, "true") == NULL);
    /* Adds and deletes far beyond the live count: the table stays small. */
    for (int i = 0; i < 100000; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        ASSERT_EQ(atb__names_add(&s, name), 0);
        if (i >= 4) {
            snprintf(name, sizeof(name), "n%d", i - 4);
            atb__names_del(&s, name);
        }
    }
    ASSERT_EQ(s.count, 5);
    ASSERT(s.cap <= 256);
    ASSERT_EQ(*atb__names_value(&s, "sleep"), 7);
    atb__names_free(&s);
}

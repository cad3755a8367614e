/* atb_run_drop(): commands taken out of a checked run before its start,
 * and atb_run_wait_for(), what a command waits for. */
#include "unit.h"

#include <stdlib.h>

#include "atb.h"

/* A shell command named name (NULL: a default name). */
static int add_sh(struct atb_run *run, const char *name, const char *line)
{
    struct atb_cmd c = ATB_CMD_INIT;
    int id;

    c.name = name;
    c.shell = line;
    id = atb_run_add(run, &c);
    ASSERT(id >= 0);
    return id;
}

static int add_full(struct atb_run *run, struct atb_cmd *c)
{
    int id = atb_run_add(run, c);

    ASSERT(id >= 0);
    return id;
}

static struct atb_run *new_run(void)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_mode(run, ATB_MODE_WAIT_ALL), 0);
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_GROUP), 0);
    return run;
}

TEST(drop_needs_a_checked_run_not_started)
{
    struct atb_run *run = new_run();
    int a = add_sh(run, "a", "exit 0");

    add_sh(run, "b", "exit 3");
    ASSERT_EQ(atb_run_drop(run, a), ATB_ESTATE);
    ASSERT_EQ(atb_run_check(run, NULL), 0);
    ASSERT_EQ(atb_run_drop(run, 99), ATB_ENONAME);
    ASSERT_EQ(atb_run_drop(run, -1), ATB_ENONAME);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_drop(run, a), ATB_ESTATE);
    atb_run_free(run);
}

TEST(drop_after_a_failed_check_is_refused)
{
    struct atb_run *run = new_run();
    char *waits[] = {"nobody", NULL};
    struct atb_cmd c = ATB_CMD_INIT;
    int a = add_sh(run, "a", "exit 0");

    c.name = "b";
    c.shell = "exit 0";
    c.wait_for = waits;
    add_full(run, &c);
    ASSERT_EQ(atb_run_check(run, NULL), ATB_EDEPS);
    ASSERT_EQ(atb_run_drop(run, a), ATB_ESTATE);
    atb_run_free(run);
}

TEST(dropped_command_is_gone_and_the_rest_runs)
{
    struct atb_run *run = new_run();
    int a = add_sh(run, "a", "exit 0");
    int b = add_sh(run, "b", "exit 3");
    int c = add_sh(run, "c", "exit 0");
    struct atb_cmd fin = ATB_CMD_INIT;
    int f;

    fin.shell = "exit 0";
    fin.cleanup = 1;
    f = add_full(run, &fin);
    ASSERT_EQ(atb_run_check(run, NULL), 0);
    ASSERT_EQ(atb_run_drop(run, b), 0);
    ASSERT(atb_run_result(run, b) == NULL);
    ASSERT_EQ(atb_run_find(run, "b"), ATB_ENONAME);
    ASSERT_EQ(atb_run_drop(run, b), ATB_ENONAME);
    ASSERT_EQ(atb_run_count(run), 4);
    ASSERT_EQ(atb_run_counts(run)->total, 3);
    /* Ids on either side, and the cleanup part, are still found. */
    ASSERT_STR_EQ(atb_run_result(run, a)->name, "a");
    ASSERT_STR_EQ(atb_run_result(run, c)->name, "c");
    ASSERT(atb_run_result(run, f)->cleanup);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, a)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, c)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, f)->state, ATB_STATE_SUCCEEDED);
    ASSERT(atb_run_result(run, b) == NULL);
    ASSERT_EQ(atb_run_counts(run)->total, 3);
    atb_run_free(run);
}

TEST(cleanup_command_can_be_dropped)
{
    struct atb_run *run = new_run();
    struct atb_cmd fin = ATB_CMD_INIT;
    int a = add_sh(run, "a", "exit 0"), f1, f2;

    fin.shell = "exit 7";
    fin.cleanup = 1;
    f1 = add_full(run, &fin);
    fin.shell = "exit 0";
    f2 = add_full(run, &fin);
    ASSERT_EQ(atb_run_check(run, NULL), 0);
    ASSERT_EQ(atb_run_drop(run, f1), 0);
    ASSERT(atb_run_result(run, f1) == NULL);
    ASSERT(atb_run_result(run, f2) != NULL);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, a)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, f2)->state, ATB_STATE_SUCCEEDED);
    atb_run_free(run);
}

TEST(a_command_waited_for_is_dropped_only_after_its_dependents)
{
    struct atb_run *run = new_run();
    char *on_a[] = {"a", NULL}, *on_latch[] = {"built", NULL};
    struct atb_cmd b = ATB_CMD_INIT, s = ATB_CMD_INIT, u = ATB_CMD_INIT;
    int a = add_sh(run, "a", "exit 0"), ib, is, iu;

    b.name = "b";
    b.shell = "exit 0";
    b.wait_for = on_a;
    ib = add_full(run, &b);
    s.name = "setter";
    s.shell = "exit 0";
    s.sets = "built";
    is = add_full(run, &s);
    u.name = "user";
    u.shell = "exit 0";
    u.wait_for = on_latch;
    iu = add_full(run, &u);
    ASSERT_EQ(atb_run_check(run, NULL), 0);
    ASSERT_EQ(atb_run_drop(run, a), ATB_EDEPS);
    /* Waiting through a latch counts too. */
    ASSERT_EQ(atb_run_drop(run, is), ATB_EDEPS);
    ASSERT_EQ(atb_run_drop(run, ib), 0);
    ASSERT_EQ(atb_run_drop(run, a), 0);
    ASSERT_EQ(atb_run_drop(run, iu), 0);
    ASSERT_EQ(atb_run_drop(run, is), 0);
    ASSERT_EQ(atb_run_counts(run)->total, 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    atb_run_free(run);
}

TEST(names_stay_taken_and_nothing_is_renamed)
{
    struct atb_run *run = new_run();
    int t1 = add_sh(run, NULL, "true"), t2 = add_sh(run, NULL, "true");
    int given = add_sh(run, "mine", "true");
    struct atb_cmd c = ATB_CMD_INIT;

    ASSERT_EQ(atb_run_check(run, NULL), 0);
    ASSERT_STR_EQ(atb_run_result(run, t1)->name, "true");
    ASSERT_STR_EQ(atb_run_result(run, t2)->name, "true#2");
    ASSERT_EQ(atb_run_drop(run, t1), 0);
    ASSERT_EQ(atb_run_drop(run, given), 0);
    /* Neither name can be taken again, default or given. */
    c.shell = "true";
    c.name = "true";
    ASSERT_EQ(atb_run_add(run, &c), ATB_EDUPNAME);
    c.name = "mine";
    ASSERT_EQ(atb_run_add(run, &c), ATB_EDUPNAME);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_STR_EQ(atb_run_result(run, t2)->name, "true#2");
    ASSERT_EQ(atb_run_find(run, "true#2"), t2);
    ASSERT_EQ(atb_run_find(run, "true"), ATB_ENONAME);
    atb_run_free(run);
}

TEST(a_command_added_after_the_check_needs_another)
{
    struct atb_run *run = new_run();
    int a = add_sh(run, "a", "exit 0");

    ASSERT_EQ(atb_run_check(run, NULL), 0);
    add_sh(run, NULL, "exit 0");
    ASSERT_EQ(atb_run_drop(run, a), ATB_ESTATE);
    ASSERT_EQ(atb_run_check(run, NULL), 0);
    ASSERT_EQ(atb_run_drop(run, a), 0);
    atb_run_free(run);
}

TEST(dropping_the_input_command_leaves_no_reader)
{
    struct atb_run *run = new_run();
    int a, b;

    a = add_sh(run, "reader", "exit 0");
    b = add_sh(run, "other", "exit 0");
    ASSERT_EQ(atb_run_set_input(run, "reader", 0), 0);
    ASSERT_EQ(atb_run_check(run, NULL), 0);
    ASSERT_EQ(atb_run_drop(run, b), 0);
    ASSERT_STR_EQ(atb_run_get_input(run), "reader");
    ASSERT_EQ(atb_run_drop(run, a), 0);
    ASSERT(atb_run_get_input(run) == NULL);
    /* The check at the start finds nothing missing. */
    ASSERT_EQ(atb_run_check(run, NULL), 0);
    atb_run_free(run);

    run = new_run();
    a = add_sh(run, "reader", "exit 0");
    add_sh(run, "other", "exit 0");
    ASSERT_EQ(atb_run_set_input_id(run, a, 0), 0);
    ASSERT_EQ(atb_run_check(run, NULL), 0);
    ASSERT_EQ(atb_run_drop(run, a), 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    atb_run_free(run);
}

TEST(wait_for_lists_what_a_command_waits_for)
{
    struct atb_run *run = new_run();
    char *waits[] = {"db", "built", "a", NULL};
    struct atb_cmd db = ATB_CMD_INIT, s = ATB_CMD_INIT, w = ATB_CMD_INIT;
    int a = add_sh(run, "a", "exit 0"), idb, is, iw;

    db.name = "db";
    db.shell = "echo up; exec sleep 100";
    db.service = 1;
    db.ready_when = "up";
    idb = add_full(run, &db);
    s.shell = "exit 0";
    s.sets = "built";
    is = add_full(run, &s);
    w.name = "w";
    w.shell = "exit 0";
    w.wait_for = waits;
    iw = add_full(run, &w);
    ASSERT_EQ(atb_run_wait_for(run, iw, 0), ATB_ESTATE);
    ASSERT_EQ(atb_run_check(run, NULL), 0);
    ASSERT_EQ(atb_run_wait_for(run, iw, 0), idb);
    ASSERT_EQ(atb_run_wait_for(run, iw, 1), is);
    ASSERT_EQ(atb_run_wait_for(run, iw, 2), a);
    ASSERT_EQ(atb_run_wait_for(run, iw, 3), ATB_ENONAME);
    ASSERT_EQ(atb_run_wait_for(run, a, 0), ATB_ENONAME);
    ASSERT_EQ(atb_run_wait_for(run, 99, 0), ATB_ENONAME);
    atb_run_free(run);
}

/*  test_sim_data_loss.c - a node that lost data it had acknowledged
    catches up again, from the same leader, without an election.

    Raft assumes stable storage; operators do not always provide it. The
    docs tell an operator whose node's data directory is corrupt to move
    it away and start the node empty, and a segment cut short restarts
    with a warning. In both cases the leader holds a match index for that
    follower above what it now has: it must believe the follower's
    rejection, back off and resend, from the log or by snapshot. Before
    that fix, the follower stayed behind for good (the simulator's final
    convergence check fails on these scenarios without it).

    The faults happen on a quiet cluster: losing acknowledged entries
    while commits are counted on them is outside any consensus
    algorithm's model. Invariants are checked after every step (sim.h).
*/
#include "sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

static const char *g_replay = "build/test/tests/sim/test_sim_data_loss "
                              "(deterministic scenario, seed %llu)";

static sim_t *s_cluster(uint64_t seed, unsigned drop_pct, unsigned dup_pct)
{
    sim_options_t o;
    sim_options_default(&o);
    o.seed = seed;
    o.replay = g_replay;
    o.drop_pct = drop_pct;
    o.dup_pct = dup_pct;
    return sim_new(&o);
}

static uint64_t s_follower(uint64_t leader)
{
    return leader == 1 ? 2 : 1;
}

/* Proposes values first..last to the leader and waits until every live
   node commits them; returns the last index. */
static uint64_t s_fill(sim_t *s, uint64_t first, uint64_t last)
{
    uint64_t index = 0;
    for (uint64_t v = first; v <= last; v++) {
        index = sim_propose_leader(s, v, 1000);
        assert_true(index > 0);
    }
    assert_true(sim_wait_commit(s, index, 3000));
    return index;
}

static uint64_t s_term(sim_t *s, uint64_t id)
{
    rl_raft_status_t st;
    sim_status(s, id, &st);
    return st.term;
}

static void s_assert_has_all(sim_t *s, uint64_t id, uint64_t first,
                             uint64_t last)
{
    for (uint64_t v = first; v <= last; v++) {
        assert_int_equal(sim_count_value(s, id, v), 1);
    }
}

static void
test_a_follower_that_lost_its_whole_directory_catches_up_from_the_leader(
    void **state)
{
    (void)state;
    sim_t *s = s_cluster(131, 0, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t term = s_term(s, l);
    uint64_t f = s_follower(l);
    uint64_t index = s_fill(s, 1, 20);

    sim_crash_losing_everything(s, f);
    sim_run(s, 200);
    sim_restart(s, f);
    /* No new proposal: heartbeats alone must bring it back. */
    assert_true(sim_wait_commit(s, index, 3000));
    assert_int_equal(sim_leader(s), l);
    assert_int_equal(s_term(s, l), term);
    s_assert_has_all(s, f, 1, 20);
    sim_run(s, 100); /* its last acknowledgement reaches the leader */
    assert_int_equal(rl_raft_match_of(sim_raft(s, l), f), index);
    sim_final_check(s);
    sim_destroy(&s);
}

static void
test_a_follower_whose_log_was_cut_short_gets_the_missing_entries_again(
    void **state)
{
    (void)state;
    sim_t *s = s_cluster(132, 0, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t term = s_term(s, l);
    uint64_t f = s_follower(l);
    uint64_t index = s_fill(s, 1, 30);

    /* The newest segment cut in the middle of its last record: the node
       restarts one entry short (and, in a second round, many short). */
    sim_crash_losing_tail(s, f, index - 1);
    sim_restart(s, f);
    assert_true(sim_wait_commit(s, index, 3000));
    sim_crash_losing_tail(s, f, index - 12);
    sim_restart(s, f);
    assert_true(sim_wait_commit(s, index, 3000));
    assert_int_equal(sim_leader(s), l);
    assert_int_equal(s_term(s, l), term);
    s_assert_has_all(s, f, 1, 30);
    sim_final_check(s);
    sim_destroy(&s);
}

static void
test_a_follower_that_lost_everything_catches_up_by_snapshot_after_compaction(
    void **state)
{
    (void)state;
    sim_t *s = s_cluster(133, 0, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t f = s_follower(l);
    uint64_t index = s_fill(s, 1, 25);
    assert_int_equal(sim_compact(s, l), 0);
    sim_run(s, 50);

    sim_crash_losing_everything(s, f);
    sim_restart(s, f);
    assert_true(sim_wait_commit(s, index, 3000));
    rl_raft_status_t st;
    sim_status(s, f, &st);
    assert_true(st.snapshot_index > 0);
    assert_int_equal(sim_leader(s), l);
    /* and it takes new entries after the snapshot */
    index = s_fill(s, 26, 30);
    assert_int_equal(sim_count_value(s, f, 30), 1);
    sim_final_check(s);
    sim_destroy(&s);
}

static void
test_a_wiped_follower_catches_up_while_proposals_go_on_over_a_bad_network(
    void **state)
{
    (void)state;
    sim_t *s = s_cluster(134, 5, 5);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t f = s_follower(l);
    uint64_t index = s_fill(s, 1, 20);

    sim_crash_losing_everything(s, f);
    sim_restart(s, f);
    /* Proposals keep coming while it catches up; it never had any of
       these new entries, so no commit counts on what it lost. */
    index = s_fill(s, 21, 60);
    assert_true(sim_wait_commit(s, index, 5000));
    s_assert_has_all(s, f, 1, 60);
    sim_final_check(s);
    sim_destroy(&s);
}

static void
test_a_leader_believes_a_rejection_below_the_match_it_holds(void **state)
{
    (void)state;
    sim_t *s = s_cluster(135, 0, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t f = s_follower(l);
    uint64_t index = s_fill(s, 1, 10);
    assert_int_equal(rl_raft_match_of(sim_raft(s, l), f), index);

    /* The follower's word: "my log ends at 3". */
    rl_msg_t reject;
    rl_msg_init(&reject, RL_MSG_APPEND_REPLY);
    reject.from = f;
    reject.cluster = rl_str("sim");
    reject.body.append_reply.term = s_term(s, l);
    reject.body.append_reply.success = false;
    reject.body.append_reply.conflict_index = 4;
    sim_deliver(s, l, &reject);
    assert_int_equal(rl_raft_match_of(sim_raft(s, l), f), 3);
    /* A probe from 4 finds the follower's log whole again. */
    assert_true(sim_wait_commit(s, index, 1000));
    sim_run(s, 200);
    assert_int_equal(rl_raft_match_of(sim_raft(s, l), f), index);
    sim_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_a_follower_that_lost_its_whole_directory_catches_up_from_the_leader),
        cmocka_unit_test(
            test_a_follower_whose_log_was_cut_short_gets_the_missing_entries_again),
        cmocka_unit_test(
            test_a_follower_that_lost_everything_catches_up_by_snapshot_after_compaction),
        cmocka_unit_test(
            test_a_wiped_follower_catches_up_while_proposals_go_on_over_a_bad_network),
        cmocka_unit_test(
            test_a_leader_believes_a_rejection_below_the_match_it_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

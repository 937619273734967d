/*  test_sim_consumers.c - durable consumers in the simulated cluster:
    positions committed through the leader, known to every server and to
    the next leader, carried by snapshots, bounded in number (sim.h checks
    after every step that positions never exceed the commit index, go back
    only by a reset and agree between servers; each test asserts what its
    name claims).
*/
#include "sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *g_replay = "build/test/tests/sim/test_sim_consumers "
                              "(deterministic scenario, seed %llu)";

static sim_t *s_cluster(unsigned nodes, uint64_t seed, size_t max_consumers)
{
    sim_options_t o;
    sim_options_default(&o);
    o.nodes = nodes;
    o.seed = seed;
    o.replay = g_replay;
    o.max_consumers = max_consumers;
    return sim_new(&o);
}

/* Commits `count` entries through the leader; returns the last index. */
static uint64_t s_commit_entries(sim_t *s, unsigned count)
{
    uint64_t index = 0;
    for (unsigned i = 0; i < count; i++) {
        index = sim_propose_leader(s, 100 + i, 1000);
        assert_true(index != 0);
    }
    assert_true(sim_wait_commit(s, index, 2000));
    return index;
}

/* A consumer call to the leader, waited for until every live node has
   committed it; returns the call's result. */
static int s_consumer(sim_t *s, sim_consumer_verb_t verb, const char *name,
                      uint64_t index)
{
    uint64_t l = sim_wait_leader(s, 3000);
    assert_true(l != 0);
    rl_raft_proposal_t out;
    int rc = sim_consumer(s, l, verb, name, index, &out);
    if (rc == 0) {
        assert_int_equal(out.first, out.last);
        assert_true(sim_wait_commit(s, out.last, 2000));
        assert_int_equal(sim_term_at(s, l, out.last), out.term);
    }
    return rc;
}

/* The position of name on every live node, which must agree; UINT64_MAX
   when no node has it. */
static uint64_t s_position_everywhere(sim_t *s, const char *name)
{
    uint64_t agreed = UINT64_MAX;
    bool first = true;
    for (uint64_t id = 1; id <= sim_node_count(s); id++) {
        if (!sim_up(s, id)) {
            continue;
        }
        uint64_t index = 0;
        uint64_t here =
            sim_consumer_position(s, id, name, &index) ? index : UINT64_MAX;
        if (!first && here != agreed) {
            fail_msg("node %llu has %s at %llu, another node at %llu",
                     (unsigned long long)id, name, (unsigned long long)here,
                     (unsigned long long)agreed);
        }
        agreed = here;
        first = false;
    }
    return agreed;
}

static void test_a_committed_position_is_known_on_every_server(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 401, 0);
    uint64_t done = s_commit_entries(s, 5);
    assert_int_equal(s_position_everywhere(s, "billing"), UINT64_MAX);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "billing", done), 0);
    assert_int_equal(s_position_everywhere(s, "billing"), done);
    size_t count = 0;
    const rl_raft_consumer_t *all =
        rl_raft_consumers(sim_raft(s, sim_leader(s)), &count);
    assert_int_equal(count, 1);
    assert_string_equal(all[0].name, "billing");
    assert_int_equal(all[0].index, done);
    sim_destroy(&s);
}

static void test_a_commit_never_moves_a_position_back(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 402, 0);
    uint64_t done = s_commit_entries(s, 5);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "etl", done), 0);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "etl", done - 2),
                     RL_ERR_STALE_SEQUENCE);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "etl", done),
                     0); /* a retry */
    assert_int_equal(s_position_everywhere(s, "etl"), done);
    /* a commit of an index not yet committed is refused */
    rl_raft_status_t st;
    sim_status(s, sim_leader(s), &st);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "etl", st.commit + 1),
                     RL_ERR_REJECTED);
    assert_int_equal(s_position_everywhere(s, "etl"), done);
    sim_destroy(&s);
}

static void test_a_reset_moves_a_position_anywhere_up_to_commit(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 403, 0);
    uint64_t done = s_commit_entries(s, 5);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "audit", done), 0);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_RESET, "audit", 2), 0);
    assert_int_equal(s_position_everywhere(s, "audit"), 2);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_RESET, "audit", 0), 0);
    assert_int_equal(s_position_everywhere(s, "audit"), 0);
    /* after a reset, commits move on from there */
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "audit", 3), 0);
    assert_int_equal(s_position_everywhere(s, "audit"), 3);
    rl_raft_status_t st;
    sim_status(s, sim_leader(s), &st);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_RESET, "audit", st.commit + 1),
                     RL_ERR_REJECTED);
    /* a reset creates a consumer that did not exist */
    assert_int_equal(s_consumer(s, SIM_CONSUMER_RESET, "replay", 1), 0);
    assert_int_equal(s_position_everywhere(s, "replay"), 1);
    sim_destroy(&s);
}

static void test_a_deleted_consumer_is_forgotten_everywhere(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 404, 0);
    uint64_t done = s_commit_entries(s, 3);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "old", done), 0);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "kept", done), 0);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_DELETE, "old", 0), 0);
    assert_int_equal(s_position_everywhere(s, "old"), UINT64_MAX);
    assert_int_equal(s_position_everywhere(s, "kept"), done);
    /* deleting again (a retry) is accepted and changes nothing */
    assert_int_equal(s_consumer(s, SIM_CONSUMER_DELETE, "old", 0), 0);
    assert_int_equal(s_position_everywhere(s, "kept"), done);
    /* the name can be used again, from anywhere */
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "old", 1), 0);
    assert_int_equal(s_position_everywhere(s, "old"), 1);
    sim_destroy(&s);
}

static void test_a_new_leader_knows_every_position(void **state)
{
    (void)state;
    sim_t *s = s_cluster(5, 405, 0);
    uint64_t done = s_commit_entries(s, 4);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "a", done), 0);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "b", done - 1), 0);
    uint64_t l = sim_leader(s);
    sim_crash(s, l);
    uint64_t l2 = sim_wait_leader(s, 3000);
    assert_true(l2 != 0 && l2 != l);
    uint64_t index = 0;
    assert_true(sim_consumer_position(s, l2, "a", &index));
    assert_int_equal(index, done);
    assert_true(sim_consumer_position(s, l2, "b", &index));
    assert_int_equal(index, done - 1);
    /* and refuses to move one back */
    sim_run(s, 200);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "a", done - 1),
                     RL_ERR_STALE_SEQUENCE);
    sim_destroy(&s);
}

/* The leader checks a commit against the position at the end of its log,
   not only the committed one: an uncommitted reset lets a lower commit
   through, in order. */
static void test_a_commit_after_an_uncommitted_reset_is_accepted(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 406, 0);
    uint64_t done = s_commit_entries(s, 6);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "c", done), 0);
    uint64_t l = sim_leader(s);
    rl_raft_proposal_t out;
    assert_int_equal(sim_consumer(s, l, SIM_CONSUMER_RESET, "c", 1, &out), 0);
    assert_int_equal(sim_consumer(s, l, SIM_CONSUMER_COMMIT, "c", 2, &out), 0);
    assert_true(sim_wait_commit(s, out.last, 2000));
    assert_int_equal(s_position_everywhere(s, "c"), 2);
    sim_destroy(&s);
}

static void test_a_lagging_follower_gets_positions_by_snapshot(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 407, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(l != 0);
    s_commit_entries(s, 2);
    uint64_t f = l == 1 ? 2 : 1;
    sim_isolate(s, f);
    uint64_t done = 0;
    for (unsigned i = 0; i < 3; i++) {
        done = sim_propose_leader(s, 10 + i, 1000);
        assert_true(done != 0);
        sim_run(s, 100); /* committed by the leader and the other one */
        assert_int_equal(
            sim_consumer(s, l, SIM_CONSUMER_COMMIT, "lagged", done, NULL), 0);
        sim_run(s, 100);
    }
    assert_int_equal(sim_consumer(s, l, SIM_CONSUMER_COMMIT, "gone", 1, NULL),
                     0);
    sim_run(s, 100);
    assert_int_equal(sim_consumer(s, l, SIM_CONSUMER_DELETE, "gone", 0, NULL),
                     0);
    sim_run(s, 200);
    for (uint64_t id = 1; id <= 3; id++) {
        if (id != f) {
            assert_int_equal(sim_compact(s, id), 0);
        }
    }
    rl_raft_status_t before;
    sim_status(s, f, &before);
    assert_false(sim_consumer_position(s, f, "lagged", NULL));
    for (uint64_t i = 1; i <= SIM_MAX_NODES; i++) {
        sim_link(s, f, i, true);
        sim_link(s, i, f, true);
    }
    rl_raft_status_t lst;
    sim_status(s, l, &lst);
    assert_true(sim_wait_commit(s, lst.commit, 3000));
    rl_raft_status_t after;
    sim_status(s, f, &after);
    assert_true(after.snapshot_index > before.snapshot_index); /* installed */
    uint64_t index = 0;
    assert_true(sim_consumer_position(s, f, "lagged", &index));
    assert_int_equal(index, done);
    assert_false(sim_consumer_position(s, f, "gone", NULL));
    /* and keeps them across a restart, from its snapshot */
    sim_crash(s, f);
    sim_restart(s, f);
    assert_true(sim_consumer_position(s, f, "lagged", &index));
    assert_int_equal(index, done);
    sim_destroy(&s);
}

static void
test_the_number_of_consumers_is_bounded_and_none_evicted(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 408, 3);
    uint64_t done = s_commit_entries(s, 2);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "one", done), 0);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "two", done), 0);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_RESET, "three", 1), 0);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "four", done),
                     RL_ERR_TOO_LARGE);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_RESET, "four", 1),
                     RL_ERR_TOO_LARGE);
    /* the existing ones still move, and none was evicted */
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "one", done + 1), 0);
    assert_int_equal(s_position_everywhere(s, "one"), done + 1);
    assert_int_equal(s_position_everywhere(s, "two"), done);
    assert_int_equal(s_position_everywhere(s, "three"), 1);
    assert_int_equal(s_position_everywhere(s, "four"), UINT64_MAX);
    /* a delete makes room; an uncommitted delete counts at once */
    uint64_t l = sim_leader(s);
    rl_raft_proposal_t out;
    assert_int_equal(sim_consumer(s, l, SIM_CONSUMER_DELETE, "two", 0, &out),
                     0);
    assert_int_equal(
        sim_consumer(s, l, SIM_CONSUMER_COMMIT, "four", done, &out), 0);
    assert_true(sim_wait_commit(s, out.last, 2000));
    assert_int_equal(s_position_everywhere(s, "four"), done);
    assert_int_equal(s_position_everywhere(s, "two"), UINT64_MAX);
    rl_raft_status_t st;
    sim_status(s, l, &st);
    assert_int_equal(st.consumer_count, 3);
    sim_destroy(&s);
}

/* A server forgets consumer changes truncated from its log (its table
   as of its last entry is rebuilt from the committed one): leading again,
   it judges a commit by the position that was committed, not by a reset
   that never was. */
static void test_a_truncated_reset_is_forgotten(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 410, 0);
    uint64_t done = s_commit_entries(s, 5);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "x", done), 0);
    uint64_t l = sim_leader(s);
    sim_isolate(s, l);
    rl_raft_proposal_t out;
    assert_int_equal(sim_consumer(s, l, SIM_CONSUMER_RESET, "x", 1, &out), 0);
    sim_run(s, 1500);
    uint64_t l2 = sim_leader(s);
    assert_true(l2 != 0 && l2 != l);
    uint64_t idx = sim_propose_leader(s, 7, 1000);
    assert_true(idx != 0);
    sim_run(s, 200);
    for (uint64_t i = 1; i <= SIM_MAX_NODES; i++) {
        sim_link(s, l, i, true);
        sim_link(s, i, l, true);
    }
    assert_true(sim_wait_commit(s, idx, 3000));
    assert_true(sim_term_at(s, l, out.last) != out.term); /* truncated */
    assert_int_equal(rl_raft_transfer(sim_raft(s, l2), l), 0);
    sim_flush(s, l2);
    sim_run(s, 500);
    assert_int_equal(sim_leader(s), l);
    assert_int_equal(s_consumer(s, SIM_CONSUMER_COMMIT, "x", done - 1),
                     RL_ERR_STALE_SEQUENCE);
    assert_int_equal(s_position_everywhere(s, "x"), done);
    sim_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_committed_position_is_known_on_every_server),
        cmocka_unit_test(test_a_commit_never_moves_a_position_back),
        cmocka_unit_test(test_a_reset_moves_a_position_anywhere_up_to_commit),
        cmocka_unit_test(test_a_deleted_consumer_is_forgotten_everywhere),
        cmocka_unit_test(test_a_new_leader_knows_every_position),
        cmocka_unit_test(test_a_commit_after_an_uncommitted_reset_is_accepted),
        cmocka_unit_test(test_a_lagging_follower_gets_positions_by_snapshot),
        cmocka_unit_test(test_a_truncated_reset_is_forgotten),
        cmocka_unit_test(
            test_the_number_of_consumers_is_bounded_and_none_evicted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

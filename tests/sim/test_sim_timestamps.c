/*  test_sim_timestamps.c - entry timestamps in the simulated cluster: the
    leader stamps what it appends with its wall clock, never earlier than
    the entry before, across clock jumps, skewed servers, leader changes,
    restarts and snapshots (sim.h checks after every step that times never
    decrease along any log nor along the committed log; each test asserts
    the stamps its name promises).
*/
#include "sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

static const char *g_replay = "build/test/tests/sim/test_sim_timestamps "
                              "(deterministic scenario, seed %llu)";

#define HOUR_MS 3600000

static sim_t *s_cluster(unsigned nodes, uint64_t seed)
{
    sim_options_t o;
    sim_options_default(&o);
    o.nodes = nodes;
    o.seed = seed;
    o.replay = g_replay;
    return sim_new(&o);
}

/* Proposes one entry to the leader and waits until every live node has
   committed it; returns its index. */
static uint64_t s_commit_one(sim_t *s, uint64_t value)
{
    uint64_t index = sim_propose_leader(s, value, 1000);
    assert_true(index != 0);
    assert_true(sim_wait_commit(s, index, 2000));
    return index;
}

static void test_a_leader_stamps_entries_with_its_clock(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 301);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(l != 0);
    sim_run(s, 200);
    for (uint64_t id = 1; id <= 3; id++) {
        if (id != l) {
            sim_set_clock_skew(s, id, id % 2 ? HOUR_MS : -HOUR_MS);
        }
    }
    rl_raft_proposal_t out;
    uint64_t clock = sim_clock(s, l);
    assert_int_equal(sim_propose(s, l, 1, 0, 0, &out), 0);
    assert_int_equal(sim_time_at(s, l, out.last), clock);
    assert_true(sim_wait_commit(s, out.last, 2000));
    /* followers keep the leader's stamp, whatever their own clocks */
    for (uint64_t id = 1; id <= 3; id++) {
        assert_int_equal(sim_time_at(s, id, out.last), clock);
    }
    /* the core holds the clock the host set last */
    rl_raft_status_t st;
    sim_status(s, l, &st);
    assert_true(st.clock > clock && st.clock <= sim_clock(s, l));
    sim_destroy(&s);
}

static void test_stamps_hold_while_the_leader_clock_steps_back(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 302);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(l != 0);
    uint64_t a = s_commit_one(s, 1);
    uint64_t before = sim_time_at(s, l, a);
    sim_set_clock_skew(s, l, -HOUR_MS); /* the clock steps back an hour */
    uint64_t b = s_commit_one(s, 2);
    assert_int_equal(sim_time_at(s, l, b), before); /* held, not the clock */
    assert_true(sim_clock(s, l) < before);
    sim_set_clock_skew(s, l, 0); /* caught up: stamps follow it again */
    sim_run(s, 100);
    uint64_t clock = sim_clock(s, l);
    rl_raft_proposal_t out;
    assert_int_equal(sim_propose(s, l, 3, 0, 0, &out), 0);
    assert_int_equal(sim_time_at(s, l, out.last), clock);
    assert_true(clock > before);
    sim_destroy(&s);
}

/* A leader whose clock runs an hour ahead stamps entries; after it fails,
   a leader whose clock is an hour behind stamps its no-op and entries no
   earlier than the last committed one (it holds every committed entry,
   and its log is in time order). */
static void
test_a_new_leader_with_a_slow_clock_stamps_no_earlier_than_before(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 303);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(l != 0);
    sim_set_clock_skew(s, l, HOUR_MS);
    uint64_t a = s_commit_one(s, 1);
    uint64_t fast = sim_time_at(s, l, a);
    assert_true(fast >= SIM_EPOCH_MS + HOUR_MS);
    sim_crash(s, l);
    for (uint64_t id = 1; id <= 3; id++) {
        if (id != l) {
            sim_set_clock_skew(s, id, -HOUR_MS);
        }
    }
    uint64_t l2 = sim_wait_leader(s, 3000);
    assert_true(l2 != 0 && l2 != l);
    rl_raft_status_t st;
    sim_status(s, l2, &st);
    uint64_t b = s_commit_one(s, 2);
    assert_int_equal(sim_time_at(s, l2, b), fast);
    assert_int_equal(sim_time_at(s, l2, b - 1), fast); /* its no-op */
    assert_true(sim_clock(s, l2) < fast);
    sim_destroy(&s);
}

/* After a restart of the whole cluster, the last entry's time is read
   back from the log (the host returns entry.time through the view). */
static void test_a_restarted_server_reads_the_last_time_back(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 304);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(l != 0);
    sim_set_clock_skew(s, l, HOUR_MS);
    uint64_t a = s_commit_one(s, 1);
    uint64_t fast = sim_time_at(s, l, a);
    for (uint64_t id = 1; id <= 3; id++) {
        sim_crash(s, id);
        sim_set_clock_skew(s, id, -HOUR_MS);
    }
    for (uint64_t id = 1; id <= 3; id++) {
        sim_restart(s, id);
        rl_raft_status_t st;
        sim_status(s, id, &st);
        assert_int_equal(st.last_time, fast);
    }
    uint64_t l2 = sim_wait_leader(s, 3000);
    assert_true(l2 != 0);
    uint64_t b = s_commit_one(s, 2);
    assert_int_equal(sim_time_at(s, l2, b), fast);
    sim_destroy(&s);
}

/* A server whose log is only a snapshot (compacted, then restarted) takes
   the time of its last entry from the snapshot's data: elected with a
   slow clock, it stamps no earlier than that. */
static void test_a_snapshot_carries_the_time_of_its_last_entry(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 305);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(l != 0);
    sim_set_clock_skew(s, l, HOUR_MS);
    uint64_t a = s_commit_one(s, 1);
    uint64_t fast = sim_time_at(s, l, a);
    sim_run(s, 100);
    for (uint64_t id = 1; id <= 3; id++) {
        assert_int_equal(sim_compact(s, id), 0);
        rl_raft_status_t st;
        sim_status(s, id, &st);
        assert_int_equal(st.snapshot_index, st.last_index); /* log empty */
    }
    for (uint64_t id = 1; id <= 3; id++) {
        sim_crash(s, id);
        sim_set_clock_skew(s, id, -HOUR_MS);
    }
    for (uint64_t id = 1; id <= 3; id++) {
        if (id != l) {
            sim_restart(s, id);
            rl_raft_status_t st;
            sim_status(s, id, &st);
            assert_int_equal(st.last_time, fast);
        }
    }
    uint64_t l2 = sim_wait_leader(s, 3000);
    assert_true(l2 != 0 && l2 != l);
    uint64_t b = s_commit_one(s, 2);
    assert_int_equal(sim_time_at(s, l2, b), fast);
    assert_int_equal(sim_time_at(s, l2, b - 1), fast); /* its no-op */
    sim_destroy(&s);
}

/* Configuration entries are stamped too (every entry a leader appends). */
static void test_configuration_entries_are_stamped(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 306);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(l != 0);
    s_commit_one(s, 1);
    sim_run(s, 50);
    rl_raft_status_t st;
    sim_status(s, l, &st);
    uint64_t clock = sim_clock(s, l);
    rl_raft_set_clock(sim_raft(s, l), clock);
    assert_int_equal(rl_raft_remove_member(sim_raft(s, l), l == 3 ? 2 : 3), 0);
    sim_flush(s, l);
    assert_int_equal(sim_time_at(s, l, st.last_index + 1), clock);
    sim_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_leader_stamps_entries_with_its_clock),
        cmocka_unit_test(test_stamps_hold_while_the_leader_clock_steps_back),
        cmocka_unit_test(
            test_a_new_leader_with_a_slow_clock_stamps_no_earlier_than_before),
        cmocka_unit_test(test_a_restarted_server_reads_the_last_time_back),
        cmocka_unit_test(test_a_snapshot_carries_the_time_of_its_last_entry),
        cmocka_unit_test(test_configuration_entries_are_stamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

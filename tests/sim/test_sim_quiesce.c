/*  test_sim_quiesce.c - quiet groups (node/raft/quiesce.c) in the
    simulated cluster, one group: an idle group stops ticking and sending,
    and everything that needs it wakes it: proposals, a dead or cut-off
    leader (the hosts' node-level liveness), a dead follower, a lost
    quiesce heartbeat, transfers, membership changes. Every invariant of
    sim.h is checked after every step; each test asserts what its name
    claims.
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

static const char *g_replay = "build/test/tests/sim/test_sim_quiesce "
                              "(deterministic scenario, seed %llu)";

static sim_t *s_cluster(unsigned nodes, uint64_t seed)
{
    sim_options_t o;
    sim_options_default(&o);
    o.nodes = nodes;
    o.seed = seed;
    o.replay = g_replay;
    o.quiesce = true;
    return sim_new(&o);
}

/* True when every live node's core is quiet. */
static bool s_all_quiet(sim_t *s)
{
    for (uint64_t id = 1; id <= sim_node_count(s); id++) {
        rl_raft_status_t st;
        sim_status(s, id, &st);
        if (sim_up(s, id) && !st.quiet) {
            return false;
        }
    }
    return true;
}

/* Runs until every live node is quiet; false after max units. */
static bool s_wait_quiet(sim_t *s, unsigned max)
{
    for (unsigned t = 0; t < max; t += 10) {
        if (s_all_quiet(s)) {
            return true;
        }
        sim_run(s, 10);
    }
    return s_all_quiet(s);
}

static uint64_t s_term_of(sim_t *s, uint64_t id)
{
    rl_raft_status_t st;
    sim_status(s, id, &st);
    return st.term;
}

static void test_an_idle_group_goes_quiet_and_sends_nothing(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 701);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(l != 0);
    uint64_t idx = sim_propose_leader(s, 7, 1000);
    assert_true(sim_wait_commit(s, idx, 2000));
    assert_true(s_wait_quiet(s, 2000));
    rl_raft_status_t st;
    sim_status(s, l, &st);
    assert_int_equal(st.role, RL_RAFT_LEADER);
    sim_stats_reset(s);
    sim_run(s, 5000);
    /* 500 ticks of each node: no core ticked, no core message sent; only
       the hosts' node-level heartbeats, two peers a tick each */
    const sim_stats_t *stats = sim_stats(s);
    assert_int_equal(stats->total, 0);
    assert_int_equal(stats->ticks, 0);
    assert_true(stats->quiet_ticks >= 3 * 490);
    assert_true(stats->beats >= 2 * stats->quiet_ticks);
    assert_true(s_all_quiet(s));
    assert_int_equal(sim_leader(s), l);
    sim_destroy(&s);
}

/* Without quiesce (the default) the same cluster heartbeats for ever. */
static void test_without_quiesce_an_idle_group_keeps_ticking(void **state)
{
    (void)state;
    sim_options_t o;
    sim_options_default(&o);
    o.seed = 702;
    o.replay = g_replay;
    sim_t *s = sim_new(&o);
    assert_true(sim_wait_leader(s, 2000) != 0);
    sim_run(s, 1000);
    sim_stats_reset(s);
    sim_run(s, 1000);
    assert_false(s_all_quiet(s));
    assert_true(sim_stats(s)->total > 100);
    assert_int_equal(sim_stats(s)->quiet_ticks, 0);
    assert_int_equal(sim_stats(s)->beats, 0);
    sim_destroy(&s);
}

static void test_a_proposal_wakes_a_quiet_group_which_then_rests(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 703);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(s_wait_quiet(s, 3000));
    uint64_t term = s_term_of(s, l);
    for (uint64_t v = 1; v <= 5; v++) {
        rl_raft_proposal_t out;
        assert_int_equal(sim_propose(s, l, v, 0, 0, &out), 0);
        rl_raft_status_t st;
        sim_status(s, l, &st);
        assert_false(st.quiet); /* appending woke it */
        assert_true(sim_wait_commit(s, out.last, 2000));
        assert_true(s_wait_quiet(s, 2000));
    }
    assert_int_equal(sim_leader(s), l);
    assert_int_equal(s_term_of(s, l), term);
    sim_final_check(s);
    sim_destroy(&s);
}

static void
test_the_followers_of_a_dead_quiet_leader_elect_another(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 704);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t idx = sim_propose_leader(s, 1, 1000);
    assert_true(sim_wait_commit(s, idx, 2000));
    assert_true(s_wait_quiet(s, 3000));
    sim_stats_reset(s);
    sim_crash(s, l);
    /* the hosts notice the silence (an election timeout: 100 units) and
       wake the followers, which elect a leader */
    uint64_t next = 0;
    for (unsigned t = 0; t < 1500 && (next == 0 || next == l); t += 10) {
        sim_run(s, 10);
        next = sim_leader(s);
    }
    assert_true(next != 0 && next != l);
    assert_true(sim_stats(s)->wakes >= 2);
    assert_true(sim_now(s) > 0);
    uint64_t more = sim_propose_leader(s, 2, 1000);
    assert_true(more != 0);
    assert_true(sim_wait_commit(s, more, 2000));
    /* with one voter of three down the new leader stays awake (it does not
       hear from every follower) */
    sim_run(s, 2000);
    rl_raft_status_t st;
    sim_status(s, next, &st);
    assert_false(st.quiet);
    /* the old leader comes back, catches up, and all rest */
    sim_restart(s, l);
    assert_true(sim_wait_commit(s, more, 3000));
    assert_true(s_wait_quiet(s, 3000));
    sim_final_check(s);
    sim_destroy(&s);
}

static void test_a_quiet_leader_cut_off_from_the_others_steps_down(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 705);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(s_wait_quiet(s, 3000));
    sim_isolate(s, l);
    rl_raft_status_t st;
    unsigned t = 0;
    for (; t < 2000; t += 10) {
        sim_run(s, 10);
        sim_status(s, l, &st);
        if (st.role != RL_RAFT_LEADER) {
            break;
        }
    }
    assert_int_not_equal(st.role, RL_RAFT_LEADER); /* CheckQuorum ran */
    uint64_t next = sim_wait_leader(s, 2000);
    assert_true(next != 0 && next != l);
    sim_heal(s);
    uint64_t idx = sim_propose_leader(s, 3, 1000);
    assert_true(sim_wait_commit(s, idx, 3000));
    assert_true(s_wait_quiet(s, 3000));
    sim_final_check(s);
    sim_destroy(&s);
}

/* A follower woken by something else than its leader (a lost quiesce
   heartbeat has the same effect): its PreVote wakes the others, is
   refused under their frozen leases, and the group rests again under the
   same leader in the same term. */
static void test_a_stray_wake_costs_no_election(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 706);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(s_wait_quiet(s, 3000));
    uint64_t term = s_term_of(s, l);
    uint64_t f = l == 1 ? 2 : 1;
    rl_raft_wake(sim_raft(s, f));
    sim_run(s, 100);
    assert_true(s_wait_quiet(s, 3000));
    assert_int_equal(sim_leader(s), l);
    assert_int_equal(s_term_of(s, l), term);
    assert_int_equal(s_term_of(s, f), term);
    sim_destroy(&s);
}

static void
test_a_restarted_follower_catches_up_and_the_group_rests(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 707);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(s_wait_quiet(s, 3000));
    uint64_t f = l == 3 ? 2 : 3;
    sim_crash(s, f);
    uint64_t last = 0;
    for (uint64_t v = 1; v <= 20; v++) {
        last = sim_propose_leader(s, v, 1000);
        assert_true(last != 0);
    }
    assert_true(sim_wait_commit(s, last, 2000));
    /* quick restart: before the leader's host noticed anything */
    sim_restart(s, f);
    assert_true(sim_wait_commit(s, last, 3000));
    assert_true(s_wait_quiet(s, 3000));
    assert_int_equal(sim_leader(s), l);
    sim_final_check(s);
    sim_destroy(&s);
}

/* The leader's node restarts faster than an election timeout: its
   followers, quiet under frozen leases, never saw it down; its (pre)votes
   wake them and a leader is elected. */
static void
test_a_quickly_restarted_quiet_leader_does_not_wedge_the_group(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 708);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t idx = sim_propose_leader(s, 1, 1000);
    assert_true(sim_wait_commit(s, idx, 2000));
    assert_true(s_wait_quiet(s, 3000));
    sim_crash(s, l);
    sim_run(s, 20);
    sim_restart(s, l);
    assert_true(sim_wait_leader(s, 3000) != 0);
    uint64_t more = sim_propose_leader(s, 2, 2000);
    assert_true(more != 0);
    assert_true(sim_wait_commit(s, more, 3000));
    assert_true(s_wait_quiet(s, 3000));
    sim_final_check(s);
    sim_destroy(&s);
}

static void test_a_transfer_wakes_a_quiet_group(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 709);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(s_wait_quiet(s, 3000));
    uint64_t target = l == 3 ? 1 : 3;
    assert_int_equal(rl_raft_transfer(sim_raft(s, l), target), 0);
    sim_flush(s, l);
    uint64_t now = 0;
    for (unsigned t = 0; t < 2000 && now != target; t += 10) {
        sim_run(s, 10);
        now = sim_leader(s);
    }
    assert_int_equal(now, target);
    assert_true(s_wait_quiet(s, 3000));
    sim_destroy(&s);
}

static void
test_a_member_added_to_a_quiet_group_joins_and_it_rests(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 710);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t idx = sim_propose_leader(s, 1, 1000);
    assert_true(sim_wait_commit(s, idx, 2000));
    assert_true(s_wait_quiet(s, 3000));
    uint64_t added = sim_add_node(s);
    rl_member_t m = {added, false, rl_str("sim://4"), rl_str("sim://4")};
    assert_int_equal(rl_raft_add_member(sim_raft(s, l), &m), 0);
    sim_flush(s, l);
    bool voter = false;
    for (unsigned t = 0; t < 3000 && !voter; t += 10) {
        sim_run(s, 10);
        rl_raft_status_t st;
        sim_status(s, added, &st);
        voter = st.voter;
    }
    assert_true(voter);
    assert_true(s_wait_quiet(s, 3000));
    size_t count = 0;
    rl_raft_members(sim_raft(s, sim_leader(s)), &count);
    assert_int_equal(count, 4);
    sim_final_check(s);
    sim_destroy(&s);
}

/* A server removed from the configuration never learns it and asks for
   votes every election timeout (it is still in the others' address
   book): the quiet followers refuse under their leases and stay quiet,
   so the group keeps its leader and term and sends nothing. */
static void
test_a_removed_servers_prevotes_do_not_unsettle_a_quiet_group(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 712);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t gone = l == 3 ? 2 : 3;
    for (unsigned t = 0; t < 50; t++) {
        if (rl_raft_remove_member(sim_raft(s, l), gone) == 0) {
            sim_flush(s, l);
            break;
        }
        sim_run(s, 50);
    }
    rl_raft_status_t st;
    for (unsigned t = 0; t < 2000; t++) {
        sim_status(s, l, &st);
        if (st.member_count == 2 && st.commit == st.last_index) {
            break;
        }
        sim_run(s, 1);
    }
    assert_int_equal(st.member_count, 2);
    uint64_t other = 6 - l - gone;
    bool rest = false;
    for (unsigned t = 0; t < 3000 && !rest; t += 10) {
        sim_run(s, 10);
        rl_raft_status_t a, b;
        sim_status(s, l, &a);
        sim_status(s, other, &b);
        rest = a.quiet && b.quiet;
    }
    assert_true(rest);
    uint64_t term = s_term_of(s, l);
    /* it rested too before it was removed: wake it, as a restart would */
    rl_raft_wake(sim_raft(s, gone));
    sim_stats_reset(s);
    sim_run(s, 5000);
    rl_raft_status_t a, b;
    sim_status(s, l, &a);
    sim_status(s, other, &b);
    assert_true(a.quiet && b.quiet);
    assert_int_equal(sim_leader(s), l);
    assert_int_equal(a.term, term);
    /* the removed server asked (pre-votes) and was answered (refusals),
       nothing more */
    const sim_stats_t *c = sim_stats(s);
    assert_true(c->sent[RL_MSG_PREVOTE] > 0);
    assert_int_equal(c->total,
                     c->sent[RL_MSG_PREVOTE] + c->sent[RL_MSG_PREVOTE_REPLY]);
    sim_destroy(&s);
}

/* A quiet core's tick does nothing: no work, no timeout, whatever the
   number of ticks. */
static void test_a_quiet_cores_tick_does_nothing(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 711);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(s_wait_quiet(s, 3000));
    for (uint64_t id = 1; id <= 3; id++) {
        rl_raft_t *r = sim_raft(s, id);
        rl_raft_status_t before, after;
        rl_raft_status(r, &before);
        rl_raft_ready_t rd;
        assert_false(rl_raft_ready(r, &rd));
        for (int i = 0; i < 1000; i++) {
            assert_int_equal(rl_raft_tick(r), 0);
        }
        assert_false(rl_raft_ready(r, &rd));
        rl_raft_status(r, &after);
        assert_true(after.quiet);
        assert_int_equal(after.role, before.role);
        assert_int_equal(after.term, before.term);
        assert_int_equal(after.leader, l);
    }
    sim_destroy(&s);
}

/* Under drops, duplicates, delays, crashes and partitions the group keeps
   every invariant and, healed, rests again with everything committed. */
static void test_quiet_groups_under_faults(void **state)
{
    (void)state;
    const char *many = getenv("RL_SIM_SEEDS");
    uint64_t seeds = many ? strtoull(many, NULL, 10) : 10;
    for (uint64_t seed = 720; seed < 720 + seeds; seed++) {
        sim_t *s = s_cluster(seed % 2 ? 3 : 5, seed);
        uint64_t value = 1;
        for (unsigned step = 0; step < 300; step++) {
            uint64_t r = sim_random(s, 100);
            uint64_t id = 1 + sim_random(s, sim_node_count(s));
            if (r < 3) {
                sim_crash(s, id);
            } else if (r < 8) {
                sim_restart(s, id);
            } else if (r < 10) {
                sim_isolate(s, id);
            } else if (r < 16) {
                sim_heal(s);
            } else if (r < 18) {
                sim_set_faults(s, (unsigned)sim_random(s, 15),
                               (unsigned)sim_random(s, 10), 1,
                               1 + (unsigned)sim_random(s, 20));
            } else if (r < 30) {
                uint64_t l = sim_leader(s);
                if (l) {
                    sim_propose(s, l, value++, 0, 0, NULL);
                }
            } /* else: idle, so that the group may rest */
            sim_run(s, 20);
        }
        sim_final_check(s);
        if (!s_wait_quiet(s, 5000)) {
            fail_msg("seed %llu: the healed group does not rest",
                     (unsigned long long)seed);
        }
        sim_destroy(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_idle_group_goes_quiet_and_sends_nothing),
        cmocka_unit_test(test_without_quiesce_an_idle_group_keeps_ticking),
        cmocka_unit_test(test_a_proposal_wakes_a_quiet_group_which_then_rests),
        cmocka_unit_test(
            test_the_followers_of_a_dead_quiet_leader_elect_another),
        cmocka_unit_test(
            test_a_quiet_leader_cut_off_from_the_others_steps_down),
        cmocka_unit_test(test_a_stray_wake_costs_no_election),
        cmocka_unit_test(
            test_a_restarted_follower_catches_up_and_the_group_rests),
        cmocka_unit_test(
            test_a_quickly_restarted_quiet_leader_does_not_wedge_the_group),
        cmocka_unit_test(test_a_transfer_wakes_a_quiet_group),
        cmocka_unit_test(
            test_a_member_added_to_a_quiet_group_joins_and_it_rests),
        cmocka_unit_test(
            test_a_removed_servers_prevotes_do_not_unsettle_a_quiet_group),
        cmocka_unit_test(test_a_quiet_cores_tick_does_nothing),
        cmocka_unit_test(test_quiet_groups_under_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

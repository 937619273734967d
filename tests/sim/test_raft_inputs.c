/*  test_raft_inputs.c - the core's input rules: validation of what comes
    from the network and from callers, admin call preconditions, producer
    sessions. Run inside the simulated cluster (label sim) so that every
    invariant is still checked while the inputs are thrown at it.
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

static const char *g_replay = "build/test/tests/sim/test_raft_inputs "
                              "(deterministic, seed %llu)";

static sim_t *s_cluster(unsigned nodes, uint64_t seed, size_t producers)
{
    sim_options_t o;
    sim_options_default(&o);
    o.nodes = nodes;
    o.seed = seed;
    o.replay = g_replay;
    o.max_producers = producers;
    return sim_new(&o);
}

static uint64_t s_follower(sim_t *s, uint64_t leader)
{
    (void)s;
    return leader == 1 ? 2 : 1;
}

static rl_msg_t s_peer(uint8_t type, uint64_t from)
{
    rl_msg_t m;
    rl_msg_init(&m, type);
    m.from = from;
    m.cluster = rl_str("sim");
    return m;
}

static void test_invalid_peer_messages_are_ignored(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 101, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    sim_run(s, 200);
    uint64_t f = s_follower(s, l);
    rl_raft_status_t before;
    sim_status(s, f, &before);
    uint8_t junk[16] = {1, 2, 3};

    rl_msg_t m = s_peer(200, l); /* unknown type */
    sim_deliver(s, f, &m);
    m = s_peer(RL_MSG_APPEND, 0); /* no sender */
    sim_deliver(s, f, &m);
    m = s_peer(RL_MSG_APPEND, f); /* from itself */
    sim_deliver(s, f, &m);
    m = s_peer(RL_MSG_APPEND, l);
    m.cluster = rl_str("other"); /* another cluster */
    m.body.append.term = before.term + 5;
    sim_deliver(s, f, &m);

    /* APPENDs whose entries are inconsistent */
    rl_entry_t e[2];
    memset(e, 0, sizeof(e));
    m = s_peer(RL_MSG_APPEND, l);
    m.body.append.term = before.term;
    m.body.append.prev_index = before.last_index;
    m.body.append.prev_term = before.last_term;
    m.body.append.entries = e;
    m.body.append.entry_count = 2;
    e[0].index = before.last_index + 1;
    e[0].term = before.term;
    e[1].index = before.last_index + 3; /* gap */
    e[1].term = before.term;
    sim_deliver(s, f, &m);
    e[1].index = before.last_index + 2;
    e[1].term = before.term + 1; /* above the leader's term */
    sim_deliver(s, f, &m);
    e[1].term = before.term;
    e[1].type = 9; /* unknown type */
    sim_deliver(s, f, &m);
    e[1].type = RL_ENTRY_NORMAL;
    e[1].size = 4; /* data missing */
    sim_deliver(s, f, &m);
    e[1].size = RL_MAX_ENTRY_SIZE + 1;
    e[1].data = junk;
    sim_deliver(s, f, &m);
    m.body.append.entries = NULL; /* count without array */
    sim_deliver(s, f, &m);
    m.body.append.entry_count = 0;
    m.body.append.prev_term = before.term + 1; /* prev above term */
    sim_deliver(s, f, &m);

    /* SNAPSHOT chunks that cannot be right */
    m = s_peer(RL_MSG_SNAPSHOT, l);
    m.body.snapshot.term = before.term;
    m.body.snapshot.last_index = 0;
    sim_deliver(s, f, &m);
    m.body.snapshot.last_index = before.commit + 100;
    m.body.snapshot.last_term = before.term;
    m.body.snapshot.member_count = RL_MAX_MEMBERS + 1;
    sim_deliver(s, f, &m);
    m.body.snapshot.member_count = 0;
    m.body.snapshot.size = 8;
    m.body.snapshot.data = NULL;
    sim_deliver(s, f, &m);
    /* a chunk out of order is answered with the offset expected */
    m.body.snapshot.data = junk;
    m.body.snapshot.offset = 4;
    sim_deliver(s, f, &m);
    /* a complete snapshot whose producer table does not decode */
    m.body.snapshot.offset = 0;
    m.body.snapshot.size = sizeof(junk);
    m.body.snapshot.done = true;
    sim_deliver(s, f, &m);

    rl_raft_status_t after;
    sim_status(s, f, &after);
    assert_int_equal(after.term, before.term);
    assert_int_equal(after.snapshot_index, before.snapshot_index);
    assert_int_equal(after.leader, l);
    assert_int_equal(sim_leader(s), l);
    uint64_t idx = sim_propose_leader(s, 5, 1000);
    assert_true(sim_wait_commit(s, idx, 2000));
    sim_destroy(&s);
}

static void test_a_malformed_configuration_entry_changes_nothing(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 102, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    sim_run(s, 200);
    uint64_t f = s_follower(s, l);
    rl_raft_status_t st;
    sim_status(s, f, &st);
    uint8_t bad[12] = {'R', 'L', 'C', '1', 200, 0, 0, 0};
    rl_entry_t e = {.index = st.last_index + 1,
                    .term = st.term,
                    .type = RL_ENTRY_CONFIG,
                    .data = bad,
                    .size = sizeof(bad)};
    /* what a buggy leader could send: the follower keeps its members */
    rl_msg_t m = s_peer(RL_MSG_APPEND, l);
    m.body.append.term = st.term;
    m.body.append.prev_index = st.last_index;
    m.body.append.prev_term = st.last_term;
    m.body.append.entries = &e;
    m.body.append.entry_count = 1;
    m.body.append.commit = st.commit;
    rl_raft_t *fr = sim_raft(s, f);
    rl_raft_step(fr, &m);
    size_t count = 0;
    rl_raft_members(fr, &count);
    assert_int_equal(count, 3);
    sim_destroy(&s); /* not flushed: the sim never sees the bogus entry */
}

static void test_proposals_are_validated(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 103, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    rl_raft_t *r = sim_raft(s, l);
    rl_raft_proposal_t out;
    rl_entry_t e = {.data = (const uint8_t *)"x", .size = 1};
    assert_int_equal(rl_raft_propose(r, &e, 0, 0, 0, &out), RL_ERR_BAD_REQUEST);
    assert_int_equal(rl_raft_propose(r, NULL, 1, 0, 0, &out),
                     RL_ERR_BAD_REQUEST);
    assert_int_equal(
        rl_raft_propose(r, &e, RL_MAX_BATCH_ENTRIES + 1, 0, 0, &out),
        RL_ERR_TOO_LARGE);
    e.size = RL_MAX_ENTRY_SIZE + 1;
    assert_int_equal(rl_raft_propose(r, &e, 1, 0, 0, &out), RL_ERR_TOO_LARGE);
    rl_raft_status_t st;
    rl_raft_status(r, &st);
    assert_int_equal(st.role, RL_RAFT_LEADER);
    assert_string_equal(rl_raft_role_name(st.role), "leader");
    assert_string_equal(rl_raft_role_name(RL_RAFT_FOLLOWER), "follower");
    assert_string_equal(rl_raft_role_name(RL_RAFT_CANDIDATE), "candidate");
    assert_string_equal(rl_raft_role_name(RL_RAFT_PRE_CANDIDATE),
                        "pre-candidate");
    sim_destroy(&s);
}

static void
test_a_producer_batch_of_many_entries_is_deduplicated_whole(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 104, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    rl_raft_t *r = sim_raft(s, l);
    rl_entry_t e[3];
    memset(e, 0, sizeof(e));
    uint8_t d[3] = {1, 2, 3};
    for (int i = 0; i < 3; i++) {
        e[i].data = &d[i];
        e[i].size = 1;
    }
    rl_raft_proposal_t a;
    assert_int_equal(rl_raft_propose(r, e, 3, 9, 1, &a), 0);
    assert_int_equal(a.last - a.first, 2);
    assert_false(a.duplicate);
    sim_flush(s, l);
    rl_raft_proposal_t b;
    assert_int_equal(rl_raft_propose(r, e, 3, 9, 1, &b), 0);
    assert_true(b.duplicate);
    assert_int_equal(b.first, a.first);
    assert_int_equal(b.last, a.last);
    assert_int_equal(b.term, a.term);
    assert_true(sim_wait_commit(s, a.last, 2000));
    rl_raft_status_t st;
    rl_raft_status(r, &st);
    assert_int_equal(st.last_index, a.last);
    assert_true(rl_raft_match_of(r, s_follower(s, l)) >= a.last);
    assert_int_equal(rl_raft_match_of(r, 42), 0);
    sim_destroy(&s);
}

static void
test_producer_sessions_are_evicted_least_recently_appended_first(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 105, 2);
    uint64_t l = sim_wait_leader(s, 2000);
    rl_raft_proposal_t out;
    assert_int_equal(sim_propose(s, l, 11, 1, 1, &out), 0);
    assert_int_equal(sim_propose(s, l, 21, 2, 1, &out), 0);
    assert_int_equal(sim_propose(s, l, 31, 3, 1, &out), 0); /* evicts 1 */
    assert_int_equal(sim_propose(s, l, 21, 2, 1, &out), 0);
    assert_true(out.duplicate);
    assert_int_equal(sim_propose(s, l, 11, 1, 1, &out), 0);
    assert_false(out.duplicate); /* forgotten: appended again */
    assert_true(sim_wait_commit(s, out.last, 2000));
    /* every server derives the same table from its log: after a leader
       change the new leader agrees (1's new append evicted 2) */
    sim_crash(s, l);
    uint64_t l2 = sim_wait_leader(s, 3000);
    assert_true(l2 != 0 && l2 != l);
    assert_int_equal(sim_propose(s, l2, 11, 1, 1, &out), 0);
    assert_true(out.duplicate);
    assert_int_equal(sim_propose(s, l2, 31, 3, 1, &out), 0);
    assert_true(out.duplicate);
    assert_int_equal(sim_propose(s, l2, 21, 2, 1, &out), 0);
    assert_false(out.duplicate);
    sim_destroy(&s);
}

static void test_admin_calls_check_their_preconditions(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 106, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    sim_run(s, 300);
    uint64_t f = s_follower(s, l);
    rl_raft_t *r = sim_raft(s, l);
    rl_member_t m = {.id = 2, .voter = true};
    assert_int_equal(rl_raft_add_member(sim_raft(s, f), &m),
                     RL_RAFT_NOT_LEADER);
    assert_int_equal(rl_raft_add_member(r, &m), RL_ERR_REJECTED); /* in */
    assert_int_equal(rl_raft_add_member(r, NULL), RL_ERR_REJECTED);
    assert_int_equal(rl_raft_remove_member(r, 42), RL_ERR_REJECTED);
    assert_int_equal(rl_raft_transfer(sim_raft(s, f), l), RL_RAFT_NOT_LEADER);
    assert_int_equal(rl_raft_transfer(r, 42), RL_ERR_REJECTED);
    assert_int_equal(rl_raft_transfer(r, l), 0); /* already */
    m.id = 9;
    assert_int_equal(rl_raft_add_member(r, &m), 0);
    sim_flush(s, l);
    m.id = 10;
    assert_int_equal(rl_raft_add_member(r, &m), RL_ERR_BUSY); /* pending */
    assert_int_equal(rl_raft_remove_member(r, 9), RL_ERR_BUSY);
    sim_destroy(&s);
}

static void test_the_last_voter_cannot_be_removed(void **state)
{
    (void)state;
    sim_t *s = s_cluster(1, 107, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_int_equal(l, 1);
    sim_run(s, 100);
    assert_int_equal(rl_raft_remove_member(sim_raft(s, 1), 1), RL_ERR_REJECTED);
    uint64_t idx = sim_propose_leader(s, 3, 100);
    assert_true(sim_wait_commit(s, idx, 100)); /* a single voter commits */
    sim_destroy(&s);
}

static void test_a_transfer_to_an_unreachable_follower_is_aborted(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 108, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    sim_run(s, 200);
    uint64_t f = s_follower(s, l);
    uint64_t idx = sim_propose_leader(s, 1, 100);
    sim_link(s, l, f, false);
    sim_link(s, f, l, false);
    sim_propose_leader(s, 2, 100);
    assert_int_equal(rl_raft_transfer(sim_raft(s, l), f), 0);
    sim_flush(s, l);
    rl_raft_proposal_t out;
    assert_int_equal(sim_propose(s, l, 3, 0, 0, &out), RL_RAFT_NOT_LEADER);
    sim_run(s, 10 * 10 + 20); /* an election timeout */
    assert_int_equal(sim_leader(s), l);
    assert_int_equal(sim_propose(s, l, 4, 0, 0, &out), 0);
    (void)idx;
    sim_destroy(&s);
}

static void
test_a_transfer_without_target_picks_the_most_up_to_date(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 109, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t idx = sim_propose_leader(s, 1, 100);
    assert_true(sim_wait_commit(s, idx, 1000));
    assert_int_equal(rl_raft_transfer(sim_raft(s, l), 0), 0);
    sim_flush(s, l);
    sim_run(s, 300);
    uint64_t l2 = sim_leader(s);
    assert_true(l2 != 0 && l2 != l);
    sim_destroy(&s);
}

static void test_a_truncated_configuration_entry_is_rolled_back(void **state)
{
    (void)state;
    sim_t *s = s_cluster(5, 110, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    sim_run(s, 300);
    sim_isolate(s, l);
    rl_member_t m = {.id = 6, .voter = false};
    assert_int_equal(rl_raft_add_member(sim_raft(s, l), &m), 0);
    sim_flush(s, l);
    size_t count = 0;
    rl_raft_members(sim_raft(s, l), &count);
    assert_int_equal(count, 6); /* in effect once appended */
    sim_run(s, 1500);
    uint64_t l2 = sim_leader(s);
    assert_true(l2 != 0 && l2 != l);
    assert_true(sim_propose_leader(s, 1, 1000) != 0);
    for (uint64_t i = 1; i <= SIM_MAX_NODES; i++) {
        sim_link(s, l, i, true);
        sim_link(s, i, l, true);
    }
    sim_run(s, 1000);
    rl_raft_members(sim_raft(s, l), &count);
    assert_int_equal(count, 5); /* truncated, so rolled back */
    sim_destroy(&s);
}

static void test_compaction_needs_something_new_and_durable(void **state)
{
    (void)state;
    sim_options_t o;
    sim_options_default(&o);
    o.seed = 111;
    o.replay = g_replay;
    sim_t *s = sim_new(&o);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t idx = sim_propose_leader(s, 1, 100);
    assert_true(sim_wait_commit(s, idx, 1000));
    assert_int_equal(sim_compact(s, l), 0);
    assert_int_equal(sim_compact(s, l), RL_ERR_REJECTED);
    sim_destroy(&s);
}

static void test_a_core_refuses_a_bad_configuration(void **state)
{
    (void)state;
    rl_raft_config_t cfg;
    rl_raft_config_defaults(&cfg);
    int err = 0;
    assert_null(rl_raft_new(&cfg, &err)); /* id 0, no view */
    assert_int_equal(err, RL_ERR_BAD_REQUEST);
    assert_null(rl_raft_new(NULL, NULL));
    rl_raft_t *none = NULL;
    rl_raft_destroy(&none);
    rl_raft_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_peer_messages_are_ignored),
        cmocka_unit_test(test_a_malformed_configuration_entry_changes_nothing),
        cmocka_unit_test(test_proposals_are_validated),
        cmocka_unit_test(
            test_a_producer_batch_of_many_entries_is_deduplicated_whole),
        cmocka_unit_test(
            test_producer_sessions_are_evicted_least_recently_appended_first),
        cmocka_unit_test(test_admin_calls_check_their_preconditions),
        cmocka_unit_test(test_the_last_voter_cannot_be_removed),
        cmocka_unit_test(test_a_transfer_to_an_unreachable_follower_is_aborted),
        cmocka_unit_test(
            test_a_transfer_without_target_picks_the_most_up_to_date),
        cmocka_unit_test(test_a_truncated_configuration_entry_is_rolled_back),
        cmocka_unit_test(test_compaction_needs_something_new_and_durable),
        cmocka_unit_test(test_a_core_refuses_a_bad_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

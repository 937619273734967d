/*  test_sim_hostile.c - a stranger on the network cannot stop the
    cluster: messages from non-members, and terms at the edge of uint64_t,
    never move a member's state, never break safety, and never stop
    progress.

    The stranger knows the cluster id (it is not a secret) and sends every
    kind of peer message, with random and extreme terms and random fields,
    under ids that are not members (9..15, and 2^64-1). Members are honest
    here; a forged member id is what authentication (CURVE) is for.
    Invariants are checked after every step (sim.h).
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

static const char *g_replay = "build/test/tests/sim/test_sim_hostile "
                              "(deterministic scenario, seed %llu)";

static sim_t *s_cluster(unsigned nodes, uint64_t seed)
{
    sim_options_t o;
    sim_options_default(&o);
    o.nodes = nodes;
    o.seed = seed;
    o.replay = g_replay;
    return sim_new(&o);
}

static rl_raft_status_t s_status(sim_t *s, uint64_t id)
{
    rl_raft_status_t st;
    sim_status(s, id, &st);
    return st;
}

/* A peer message of `type` from `from` with `term` (other fields
   plausible), as a stranger would forge it. */
static rl_msg_t s_forge(uint8_t type, uint64_t from, uint64_t term)
{
    rl_msg_t m;
    rl_msg_init(&m, type);
    m.from = from;
    m.cluster = rl_str("sim");
    switch (type) {
    case RL_MSG_PREVOTE:
    case RL_MSG_VOTE:
        m.body.vote.term = term;
        m.body.vote.last_log_index = UINT64_MAX / 2;
        m.body.vote.last_log_term = term;
        m.body.vote.transfer = true; /* would override a leader lease */
        break;
    case RL_MSG_PREVOTE_REPLY:
    case RL_MSG_VOTE_REPLY:
        m.body.vote_reply.term = term;
        m.body.vote_reply.granted = false;
        m.body.vote_reply.leader = from; /* "vouches" for itself */
        break;
    case RL_MSG_APPEND:
        m.body.append.term = term;
        m.body.append.commit = UINT64_MAX / 2;
        break;
    case RL_MSG_APPEND_REPLY:
        m.body.append_reply.term = term;
        m.body.append_reply.conflict_index = 1;
        break;
    case RL_MSG_SNAPSHOT:
        m.body.snapshot.term = term;
        m.body.snapshot.last_index = 1000;
        m.body.snapshot.last_term = term;
        m.body.snapshot.done = true;
        break;
    case RL_MSG_SNAPSHOT_REPLY:
        m.body.snapshot_reply.term = term;
        m.body.snapshot_reply.done = true;
        m.body.snapshot_reply.last_index = 1;
        break;
    default:
        m.body.timeout_now.term = term;
    }
    return m;
}

static void
test_messages_from_a_stranger_never_move_a_members_term_or_leader(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 201);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(l > 0);
    sim_run(s, 100); /* every follower knows it */
    uint64_t term = s_status(s, l).term;
    const uint64_t strangers[] = {9, 15, UINT64_MAX};
    for (unsigned k = 0; k < 3; k++) {
        for (uint8_t type = RL_MSG_PREVOTE; type <= RL_MSG_TIMEOUT_NOW;
             type++) {
            const uint64_t terms[] = {term, term + 1, UINT64_C(1) << 62,
                                      RL_RAFT_MAX_TERM, UINT64_MAX};
            for (unsigned t = 0; t < 5; t++) {
                for (uint64_t id = 1; id <= 3; id++) {
                    rl_msg_t m = s_forge(type, strangers[k], terms[t]);
                    sim_deliver(s, id, &m);
                }
            }
        }
    }
    for (uint64_t id = 1; id <= 3; id++) {
        rl_raft_status_t st = s_status(s, id);
        assert_int_equal(st.term, term);
        assert_int_equal(st.leader, l);
        assert_int_equal(st.dropped_non_member, 3 * 9 * 5);
    }
    assert_true(sim_propose_leader(s, 7, 1000) > 0);
    sim_destroy(&s);
}

static void test_a_member_cannot_push_a_term_to_the_edge(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 202);
    uint64_t l = sim_wait_leader(s, 2000);
    sim_run(s, 100); /* every follower knows it */
    uint64_t f = l == 1 ? 2 : 1;
    uint64_t term = s_status(s, f).term;
    const uint64_t edges[] = {UINT64_MAX, RL_RAFT_MAX_TERM + 1,
                              term + RL_RAFT_MAX_TERM_JUMP + 1};
    for (unsigned t = 0; t < 3; t++) {
        rl_msg_t vote = s_forge(RL_MSG_VOTE, l, edges[t]);
        sim_deliver(s, f, &vote);
        rl_msg_t append = s_forge(RL_MSG_APPEND, l, edges[t]);
        sim_deliver(s, f, &append);
    }
    rl_raft_status_t st = s_status(s, f);
    assert_int_equal(st.term, term);
    assert_int_equal(st.dropped_bad_term, 6);
    assert_int_equal(st.leader, l);
    /* A large but possible jump (a server that was away a long time) is
       followed. */
    rl_msg_t far = s_forge(RL_MSG_APPEND, l, term + 1000);
    sim_deliver(s, f, &far);
    assert_int_equal(s_status(s, f).term, term + 1000);
    sim_destroy(&s);
}

static void
test_forged_maximum_terms_then_a_whole_cluster_restart_elect_a_leader(
    void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 203);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(sim_propose_leader(s, 1, 1000) > 0);
    /* One forged VOTE per node with term 2^64-1, under a member's id as
       well as a stranger's. */
    for (uint64_t id = 1; id <= 3; id++) {
        rl_msg_t m = s_forge(RL_MSG_VOTE, 9, UINT64_MAX);
        sim_deliver(s, id, &m);
        rl_msg_t n = s_forge(RL_MSG_VOTE, id == 1 ? 2 : 1, UINT64_MAX);
        sim_deliver(s, id, &n);
    }
    for (uint64_t id = 1; id <= 3; id++) {
        sim_crash(s, id);
    }
    for (uint64_t id = 1; id <= 3; id++) {
        sim_restart(s, id);
    }
    l = sim_wait_leader(s, 3000);
    assert_true(l > 0);
    assert_true(s_status(s, l).term < 100);
    assert_true(sim_propose_leader(s, 2, 1000) > 0);
    sim_final_check(s);
    sim_destroy(&s);
}

static void
test_a_server_waiting_to_be_added_hears_only_its_address_book(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 204);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(sim_propose_leader(s, 1, 1000) > 0); /* own-term commit */
    sim_run(s, 100);
    uint64_t joiner = sim_add_node(s);
    rl_msg_t m = s_forge(RL_MSG_APPEND, 9, 50);
    sim_deliver(s, joiner, &m);
    rl_raft_status_t st = s_status(s, joiner);
    assert_int_equal(st.term, 0);
    assert_int_equal(st.dropped_non_member, 1);
    rl_member_t member = {.id = joiner,
                          .voter = false,
                          .peer_addr = rl_str("sim"),
                          .client_addr = rl_str("sim")};
    assert_int_equal(rl_raft_add_member(sim_raft(s, l), &member), 0);
    sim_flush(s, l);
    uint64_t index = sim_propose_leader(s, 3, 1000);
    assert_true(sim_wait_commit(s, index, 3000));
    assert_int_equal(sim_count_value(s, joiner, 3), 1);
    sim_destroy(&s);
}

/* Runs until the leader commits index (other nodes may be cut off). */
static bool s_leader_commits(sim_t *s, uint64_t index)
{
    for (unsigned t = 0; t < 200; t++) {
        uint64_t l = sim_leader(s);
        if (index > 0 && l && s_status(s, l).commit >= index) {
            return true;
        }
        sim_run(s, 10);
    }
    return false;
}

static void
test_a_lagging_member_hears_a_leader_it_never_knew_once_a_member_names_it(
    void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 205);
    uint64_t l = sim_wait_leader(s, 2000);
    assert_true(s_leader_commits(s, sim_propose_leader(s, 1, 1000)));
    uint64_t lagging = l == 3 ? 2 : 3;
    sim_isolate(s, lagging);
    /* A new server joins (the lagging one neither has the entry that adds
       it nor has it in its address book) and is handed the leadership. */
    uint64_t added = sim_add_node(s);
    rl_member_t member = {.id = added,
                          .voter = false,
                          .peer_addr = rl_str("sim"),
                          .client_addr = rl_str("sim")};
    assert_int_equal(rl_raft_add_member(sim_raft(s, l), &member), 0);
    sim_flush(s, l);
    bool voter = false;
    for (unsigned t = 0; t < 300 && !voter; t++) {
        sim_run(s, 10);
        size_t count = 0;
        const rl_member_t *m = rl_raft_members(sim_raft(s, l), &count);
        for (size_t i = 0; i < count; i++) {
            voter = voter || (m[i].id == added && m[i].voter);
        }
    }
    assert_true(voter);
    /* the promotion commits with the next entry */
    assert_true(s_leader_commits(s, sim_propose_leader(s, 2, 1000)));
    assert_int_equal(rl_raft_transfer(sim_raft(s, l), added), 0);
    sim_flush(s, l);
    for (unsigned t = 0; t < 300 && sim_leader(s) != added; t++) {
        sim_run(s, 10);
    }
    assert_int_equal(sim_leader(s), added);
    uint64_t index = sim_propose_leader(s, 3, 1000);
    assert_true(index > 0);

    /* Back on the network, the lagging member drops the stranger's
       APPENDs until a member it knows refuses its pre-vote naming the
       leader; then it follows and catches up. */
    sim_heal(s);
    assert_true(sim_wait_commit(s, index, 5000));
    assert_int_equal(sim_count_value(s, lagging, 3), 1);
    assert_int_equal(sim_leader(s), added);
    assert_true(s_status(s, lagging).dropped_non_member > 0);
    sim_final_check(s);
    sim_destroy(&s);
}

/* A random stranger's message: any type, any term among the dangerous
   ones, random fields, sometimes entries. */
static void s_inject(sim_t *s, rl_entry_t *entries, uint8_t *payload)
{
    uint64_t target = 1 + sim_random(s, sim_node_count(s));
    if (!sim_up(s, target)) {
        return;
    }
    uint64_t term = s_status(s, target).term;
    const uint64_t terms[] = {0,
                              1,
                              term ? term - 1 : 0,
                              term,
                              term + 1,
                              term + 2,
                              term + RL_RAFT_MAX_TERM_JUMP,
                              term + RL_RAFT_MAX_TERM_JUMP + 1,
                              RL_RAFT_MAX_TERM,
                              RL_RAFT_MAX_TERM + 1,
                              UINT64_C(1) << 62,
                              UINT64_MAX,
                              sim_random(s, UINT64_MAX)};
    uint64_t pick = terms[sim_random(s, sizeof(terms) / sizeof(terms[0]))];
    uint64_t from = sim_random(s, 4) == 0 ? UINT64_MAX : 9 + sim_random(s, 7);
    uint8_t type = (uint8_t)(RL_MSG_PREVOTE + sim_random(s, 9));
    rl_msg_t m = s_forge(type, from, pick);
    if (type == RL_MSG_APPEND) {
        m.body.append.prev_index = sim_random(s, 50);
        m.body.append.prev_term = pick ? sim_random(s, pick) : 0;
        m.body.append.commit = sim_random(s, 100);
        size_t count = (size_t)sim_random(s, 4);
        for (size_t i = 0; i < count; i++) {
            entries[i] = (rl_entry_t){.index = m.body.append.prev_index + 1 + i,
                                      .term = pick,
                                      .type = RL_ENTRY_NORMAL,
                                      .data = payload,
                                      .size = 8};
        }
        m.body.append.entries = count ? entries : NULL;
        m.body.append.entry_count = count;
    } else if (type == RL_MSG_APPEND_REPLY) {
        m.body.append_reply.success = sim_random(s, 2);
        m.body.append_reply.match_index = sim_random(s, 100);
        m.body.append_reply.conflict_index = sim_random(s, 100);
    } else if (type == RL_MSG_VOTE_REPLY || type == RL_MSG_PREVOTE_REPLY) {
        m.body.vote_reply.granted = sim_random(s, 2);
    }
    sim_deliver(s, target, &m);
}

static void
test_a_hostile_stranger_injecting_random_and_extreme_terms_never_stops_progress(
    void **state)
{
    (void)state;
    rl_entry_t entries[4];
    uint8_t payload[8] = {0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE};
    for (uint64_t seed = 1; seed <= 40; seed++) {
        sim_t *s = s_cluster(seed % 2 ? 3 : 5, 1000 + seed);
        sim_set_faults(s, 5, 5, 1, 8);
        uint64_t value = 1;
        unsigned committed = 0;
        for (unsigned round = 0; round < 30; round++) {
            /* crash or restart a member now and then: a minority */
            if (round % 10 == 3) {
                sim_crash(s, 1 + sim_random(s, sim_node_count(s)));
            } else if (round % 10 == 7) {
                for (uint64_t id = 1; id <= sim_node_count(s); id++) {
                    sim_restart(s, id);
                }
            }
            for (unsigned k = 0; k < 20; k++) {
                s_inject(s, entries, payload);
                sim_run(s, 5);
            }
            if (sim_propose_leader(s, value++, 600) > 0) {
                committed++;
            }
        }
        /* While the stranger talked, a majority was always up: most
           rounds got an entry in (leader changes by crashes cost some). */
        assert_true(committed >= 20);
        for (uint64_t id = 1; id <= sim_node_count(s); id++) {
            rl_raft_status_t st = s_status(s, id);
            assert_true(st.term < 1000);
        }
        sim_final_check(s);
        sim_destroy(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_messages_from_a_stranger_never_move_a_members_term_or_leader),
        cmocka_unit_test(test_a_member_cannot_push_a_term_to_the_edge),
        cmocka_unit_test(
            test_forged_maximum_terms_then_a_whole_cluster_restart_elect_a_leader),
        cmocka_unit_test(
            test_a_server_waiting_to_be_added_hears_only_its_address_book),
        cmocka_unit_test(
            test_a_lagging_member_hears_a_leader_it_never_knew_once_a_member_names_it),
        cmocka_unit_test(
            test_a_hostile_stranger_injecting_random_and_extreme_terms_never_stops_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

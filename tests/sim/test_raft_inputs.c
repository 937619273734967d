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

/* rl_raft_campaign_soon ends only a leaderless follower's timeout, and
   only at its next ticks; what follows is any timeout's: a server that
   may not campaign does not, and one that knows a leader ignores it. */
static void
test_campaign_soon_ends_only_a_leaderless_followers_timeout(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 107, 0);
    /* a fresh cluster: every timeout is 10 ticks (100 units) or more */
    rl_raft_campaign_soon(sim_raft(s, 2));
    rl_raft_status_t st;
    sim_status(s, 2, &st);
    assert_int_equal(st.term, 0); /* not at the call: at a tick */
    assert_int_equal(sim_wait_leader(s, 50), 2);
    sim_run(s, 300);
    assert_int_equal(sim_leader(s), 2);
    sim_status(s, 3, &st);
    uint64_t term = st.term;
    assert_int_equal(st.leader, 2);
    /* a follower that knows its leader: nothing */
    rl_raft_campaign_soon(sim_raft(s, 3));
    sim_run(s, 300);
    sim_status(s, 3, &st);
    assert_int_equal(st.term, term);
    assert_int_equal(st.leader, 2);
    /* nor does the leader */
    rl_raft_campaign_soon(sim_raft(s, 2));
    sim_run(s, 300);
    assert_int_equal(sim_leader(s), 2);
    sim_status(s, 2, &st);
    assert_int_equal(st.term, term);
    /* a server waiting to be added is no voter: it does not campaign */
    uint64_t added = sim_add_node(s);
    rl_raft_campaign_soon(sim_raft(s, added));
    sim_run(s, 300);
    sim_status(s, added, &st);
    assert_int_equal(st.term, 0);
    assert_int_equal(st.role, RL_RAFT_FOLLOWER);
    assert_int_equal(sim_leader(s), 2);
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

/* status.term_committed, which the node asks before it says a log does
   not exist: true exactly for a leader the entry at whose commit index is
   of its own term; seen false for a new leader until its first entry
   commits (a slow disk holds it), then true, over two elections. */
static void
test_a_new_leader_has_committed_in_its_term_only_once_it_has(void **state)
{
    (void)state;
    sim_options_t o;
    sim_options_default(&o);
    o.nodes = 3;
    o.seed = 4242;
    o.replay = g_replay;
    o.disk_delay = 30;
    sim_t *s = sim_new(&o);
    unsigned waiting = 0, ready = 0;
    uint64_t crashed = 0;
    for (unsigned unit = 0; unit < 6000; unit++) {
        sim_run(s, 1);
        for (uint64_t id = 1; id <= 3; id++) {
            if (!sim_up(s, id))
                continue;
            rl_raft_status_t st;
            sim_status(s, id, &st);
            bool own = st.role == RL_RAFT_LEADER && st.commit > 0 &&
                       sim_term_at(s, id, st.commit) == st.term;
            assert_int_equal(st.term_committed, own);
            if (st.role == RL_RAFT_LEADER) {
                waiting += !own;
                ready += own;
            }
        }
        if (unit == 3000) {
            crashed = sim_leader(s);
            assert_true(crashed != 0);
            sim_crash(s, crashed);
        }
    }
    assert_true(waiting > 0 && ready > 0);
    assert_true(sim_leader(s) != crashed);
    sim_restart(s, crashed);
    sim_run(s, 500);
    sim_final_check(s);
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

/* ---- durable consumers ---- */

static void test_consumer_calls_need_the_leader_and_a_valid_name(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 112, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t idx = sim_propose_leader(s, 1, 100);
    assert_true(sim_wait_commit(s, idx, 1000));
    uint64_t f = s_follower(s, l);
    rl_raft_proposal_t out;
    assert_int_equal(sim_consumer(s, f, SIM_CONSUMER_COMMIT, "ok", 1, &out),
                     RL_RAFT_NOT_LEADER);
    assert_int_equal(out.leader, l);
    assert_int_equal(sim_consumer(s, f, SIM_CONSUMER_DELETE, "ok", 0, &out),
                     RL_RAFT_NOT_LEADER);
    char longest[RL_RAFT_CONSUMER_NAME_MAX + 2];
    memset(longest, 'x', sizeof(longest));
    longest[RL_RAFT_CONSUMER_NAME_MAX] = '\0';
    const char *bad[] = {"", "Upper", "a b", "x/y", "tab\t", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(rl_raft_consumer_name_valid(rl_str(bad[i])));
        for (int verb = SIM_CONSUMER_COMMIT; verb <= SIM_CONSUMER_DELETE;
             verb++) {
            assert_int_equal(
                sim_consumer(s, l, (sim_consumer_verb_t)verb, bad[i], 1, &out),
                RL_ERR_BAD_REQUEST);
        }
    }
    rl_str_t null_name = {NULL, 3};
    assert_false(rl_raft_consumer_name_valid(null_name));
    assert_int_equal(
        rl_raft_consumer_commit(sim_raft(s, l), null_name, 1, &out),
        RL_ERR_BAD_REQUEST);
    assert_true(rl_raft_consumer_name_valid(rl_str("a.b_c-9")));
    assert_true(rl_raft_consumer_name_valid(rl_str(longest))); /* 64 */
    assert_int_equal(sim_consumer(s, l, SIM_CONSUMER_COMMIT, longest, 1, &out),
                     0);
    longest[RL_RAFT_CONSUMER_NAME_MAX] = 'x'; /* 65 */
    longest[RL_RAFT_CONSUMER_NAME_MAX + 1] = '\0';
    assert_false(rl_raft_consumer_name_valid(rl_str(longest)));
    assert_int_equal(sim_consumer(s, l, SIM_CONSUMER_COMMIT, longest, 1, &out),
                     RL_ERR_BAD_REQUEST);
    assert_false(
        rl_raft_consumer_position(sim_raft(s, l), rl_str("Upper"), NULL));
    sim_destroy(&s);
}

/* A new leader's commit index may lag the cluster's until an entry of its
   term commits: a valid index could look uncommitted, so it asks to retry
   rather than refuse. */
static void
test_a_new_leader_asks_consumers_to_retry_until_its_first_commit(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 113, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    rl_raft_status_t st;
    sim_status(s, l, &st);
    assert_true(st.commit < st.last_index); /* its no-op is not committed */
    rl_raft_proposal_t out;
    assert_int_equal(sim_consumer(s, l, SIM_CONSUMER_COMMIT, "early", 0, &out),
                     RL_ERR_BUSY);
    assert_int_equal(sim_consumer(s, l, SIM_CONSUMER_RESET, "early", 0, &out),
                     RL_ERR_BUSY);
    assert_true(sim_wait_commit(s, st.last_index, 1000));
    assert_int_equal(sim_consumer(s, l, SIM_CONSUMER_COMMIT, "early", 0, &out),
                     0);
    sim_destroy(&s);
}

/* A CONSUMER entry of the wire format of consumers.c. */
static size_t s_consumer_data(uint8_t *p, const char *magic, uint8_t verb,
                              uint64_t index, const char *name)
{
    size_t len = strlen(name);
    memcpy(p, magic, 4);
    p[4] = verb;
    for (int i = 0; i < 8; i++) {
        p[5 + i] = (uint8_t)(index >> (8 * i));
    }
    p[13] = (uint8_t)len;
    memcpy(p + 14, name, len);
    return 14 + len;
}

/* What a buggy leader could send: every CONSUMER entry is validated where
   it is applied, the malformed ones are ignored, and positions only move
   forward by commits, in log order. Stepped into a follower's core and
   not flushed: the simulation never sees the bogus entries. */
static void test_consumer_entries_are_validated_where_applied(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 114, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t idx = sim_propose_leader(s, 1, 100);
    assert_true(sim_wait_commit(s, idx, 1000));
    uint64_t f = s_follower(s, l);
    rl_raft_status_t st;
    sim_status(s, f, &st);
    enum { N = 12 };
    uint8_t data[N][80];
    rl_entry_t e[N];
    memset(e, 0, sizeof(e));
    uint64_t at = st.last_index + 1;
    size_t n = 0;
    /* 0: commit a at 2 */
    e[n].size = s_consumer_data(data[n], "RLO1", 1, 2, "a");
    n++;
    /* 1: commit a at 1, later in the log: a stays at 2 */
    e[n].size = s_consumer_data(data[n], "RLO1", 1, 1, "a");
    n++;
    /* 2: bad magic */
    e[n].size = s_consumer_data(data[n], "RLX1", 1, 1, "b");
    n++;
    /* 3: a name that is not valid */
    e[n].size = s_consumer_data(data[n], "RLO1", 1, 1, "Bad");
    n++;
    /* 4: an index not below the entry's own */
    e[n].size = s_consumer_data(data[n], "RLO1", 1, at + n, "b");
    n++;
    /* 5: a delete with an index */
    e[n].size = s_consumer_data(data[n], "RLO1", 3, 1, "a");
    n++;
    /* 6: an unknown verb */
    e[n].size = s_consumer_data(data[n], "RLO1", 9, 1, "b");
    n++;
    /* 7: a name length that does not match the size */
    e[n].size = s_consumer_data(data[n], "RLO1", 1, 1, "bb") - 1;
    n++;
    /* 8: nothing but the magic */
    e[n].size = 4;
    memcpy(data[n], "RLO1", 4);
    n++;
    /* 9: reset a to 1 */
    e[n].size = s_consumer_data(data[n], "RLO1", 2, 1, "a");
    n++;
    /* 10: commit c at 0 */
    e[n].size = s_consumer_data(data[n], "RLO1", 1, 0, "c");
    n++;
    /* 11: delete an unknown name */
    e[n].size = s_consumer_data(data[n], "RLO1", 3, 0, "zz");
    n++;
    for (size_t i = 0; i < n; i++) {
        e[i].index = at + i;
        e[i].term = st.term;
        e[i].type = RL_ENTRY_CONSUMER;
        e[i].data = data[i];
        e[i].time = st.last_time;
    }
    rl_msg_t m = s_peer(RL_MSG_APPEND, l);
    m.body.append.term = st.term;
    m.body.append.prev_index = st.last_index;
    m.body.append.prev_term = st.last_term;
    m.body.append.entries = e;
    m.body.append.entry_count = n;
    /* committed up to entry 8 first: a is at 2, b nowhere */
    m.body.append.commit = at + 8;
    rl_raft_t *fr = sim_raft(s, f);
    assert_int_equal(rl_raft_step(fr, &m), 0);
    rl_raft_status(fr, &st);
    assert_int_equal(st.commit, at + 8);
    size_t count = 0;
    const rl_raft_consumer_t *t = rl_raft_consumers(fr, &count);
    assert_int_equal(count, 1);
    assert_string_equal(t[0].name, "a");
    assert_int_equal(t[0].index, 2);
    /* then the rest: the reset moves a back */
    m.body.append.commit = at + n - 1;
    assert_int_equal(rl_raft_step(fr, &m), 0);
    rl_raft_status(fr, &st);
    assert_int_equal(st.commit, at + n - 1);
    t = rl_raft_consumers(fr, &count);
    assert_int_equal(count, 2);
    assert_string_equal(t[0].name, "a");
    assert_int_equal(t[0].index, 1);
    assert_string_equal(t[1].name, "c");
    assert_int_equal(t[1].index, 0);
    sim_destroy(&s);
}

/* Servers apply entries with one bound whatever their configuration: past
   RL_RAFT_CONSUMER_LIMIT consumers a new name is ignored, never evicting
   a position. */
static void test_no_table_holds_more_than_the_consumer_limit(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 115, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t idx = sim_propose_leader(s, 1, 100);
    assert_true(sim_wait_commit(s, idx, 1000));
    uint64_t f = s_follower(s, l);
    rl_raft_status_t st;
    sim_status(s, f, &st);
    size_t n = RL_RAFT_CONSUMER_LIMIT;
    rl_entry_t *e = calloc(n, sizeof(*e));
    uint8_t(*data)[32] = calloc(n, sizeof(*data));
    assert_non_null(e);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%05zu", i); /* ascending */
        e[i].index = st.last_index + 1 + i;
        e[i].term = st.term;
        e[i].type = RL_ENTRY_CONSUMER;
        e[i].size = s_consumer_data(data[i], "RLO1", 1, 1, name);
        e[i].data = data[i];
    }
    rl_msg_t m = s_peer(RL_MSG_APPEND, l);
    m.body.append.term = st.term;
    m.body.append.prev_index = st.last_index;
    m.body.append.prev_term = st.last_term;
    m.body.append.entries = e;
    m.body.append.entry_count = n;
    m.body.append.commit = st.last_index + n;
    rl_raft_t *fr = sim_raft(s, f);
    assert_int_equal(rl_raft_step(fr, &m), 0);
    /* one more name, and a commit of an existing one */
    rl_entry_t more[2];
    uint8_t more_data[2][32];
    memset(more, 0, sizeof(more));
    for (size_t i = 0; i < 2; i++) {
        more[i].index = st.last_index + n + 1 + i;
        more[i].term = st.term;
        more[i].type = RL_ENTRY_CONSUMER;
        more[i].size = s_consumer_data(more_data[i], "RLO1", 1, 7,
                                       i == 0 ? "zzz" : "n00003");
        more[i].data = more_data[i];
    }
    m.body.append.prev_index = st.last_index + n;
    m.body.append.prev_term = st.term;
    m.body.append.entries = more;
    m.body.append.entry_count = 2;
    m.body.append.commit = st.last_index + n + 2;
    assert_int_equal(rl_raft_step(fr, &m), 0);
    size_t count = 0;
    const rl_raft_consumer_t *t = rl_raft_consumers(fr, &count);
    assert_int_equal(count, RL_RAFT_CONSUMER_LIMIT);
    assert_false(rl_raft_consumer_position(fr, rl_str("zzz"), NULL));
    uint64_t index = 0;
    assert_true(rl_raft_consumer_position(fr, rl_str("n00003"), &index));
    assert_int_equal(index, 7);
    assert_string_equal(t[0].name, "n00000");
    assert_string_equal(t[count - 1].name, "n65535");
    free(e);
    free(data);
    sim_destroy(&s);
}

/* ---- the catalog of named logs ---- */

static sim_t *s_cluster_logs(uint64_t seed, size_t max_logs)
{
    sim_options_t o;
    sim_options_default(&o);
    o.seed = seed;
    o.replay = g_replay;
    o.max_logs = max_logs;
    return sim_new(&o);
}

static void test_catalog_calls_need_the_leader_and_valid_input(void **state)
{
    (void)state;
    sim_t *s = s_cluster_logs(121, 2);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t idx = sim_propose_leader(s, 1, 100);
    assert_true(sim_wait_commit(s, idx, 1000));
    uint64_t f = s_follower(s, l);
    rl_raft_proposal_t out;
    for (int verb = RL_RAFT_LOG_CREATE; verb <= RL_RAFT_LOG_CONFIGURE; verb++) {
        assert_int_equal(
            sim_log(s, f, (rl_raft_log_verb_t)verb, "orders", NULL, &out),
            RL_RAFT_NOT_LEADER);
        assert_int_equal(out.leader, l);
    }
    const char *bad[] = {"",      "Upper", "a b", "x/y",
                         "tab\t", ".",     "..",  "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(rl_log_name_valid(rl_str(bad[i])));
        for (int verb = RL_RAFT_LOG_CREATE; verb <= RL_RAFT_LOG_CONFIGURE;
             verb++) {
            assert_int_equal(
                sim_log(s, l, (rl_raft_log_verb_t)verb, bad[i], NULL, &out),
                RL_ERR_BAD_REQUEST);
        }
    }
    rl_str_t null_name = {NULL, 3};
    assert_false(rl_log_name_valid(null_name));
    assert_int_equal(rl_raft_log_delete(sim_raft(s, l), null_name, &out),
                     RL_ERR_BAD_REQUEST);
    char longest[RL_RAFT_LOG_NAME_MAX + 2];
    memset(longest, 'x', sizeof(longest));
    longest[RL_RAFT_LOG_NAME_MAX + 1] = '\0'; /* 65 */
    assert_false(rl_log_name_valid(rl_str(longest)));
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_CREATE, longest, NULL, &out),
                     RL_ERR_BAD_REQUEST);
    /* settings out of range */
    rl_raft_log_settings_t wrong[] = {
        {RL_RAFT_LOG_RETENTION_MAX + 1, 0, 0},
        {0, RL_RAFT_LOG_RETENTION_MAX + 1, 0},
        {0, 0, RL_MAX_ENTRY_SIZE + 1},
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        assert_int_equal(
            sim_log(s, l, RL_RAFT_LOG_CREATE, "orders", &wrong[i], &out),
            RL_ERR_BAD_REQUEST);
    }
    /* `default` is a valid name, but reserved */
    assert_true(rl_log_name_valid(rl_str("default")));
    for (int verb = RL_RAFT_LOG_CREATE; verb <= RL_RAFT_LOG_CONFIGURE; verb++) {
        assert_int_equal(
            sim_log(s, l, (rl_raft_log_verb_t)verb, "default", NULL, &out),
            RL_ERR_REJECTED);
    }
    /* nothing of that name yet */
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_DELETE, "orders", NULL, &out),
                     RL_ERR_REJECTED);
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_CONFIGURE, "orders", NULL, &out),
                     RL_ERR_REJECTED);
    /* the longest name, and the largest settings */
    longest[RL_RAFT_LOG_NAME_MAX] = '\0'; /* 64 */
    assert_true(rl_log_name_valid(rl_str(longest)));
    rl_raft_log_settings_t most = {RL_RAFT_LOG_RETENTION_MAX,
                                   RL_RAFT_LOG_RETENTION_MAX,
                                   RL_MAX_ENTRY_SIZE};
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_CREATE, longest, &most, &out),
                     0);
    assert_int_equal(out.first, out.last);
    /* a create of a name the leader's log already creates: refused before
       it commits too */
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_CREATE, longest, NULL, &out),
                     RL_ERR_REJECTED);
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_CREATE, "orders", NULL, &out),
                     0);
    /* max_logs (2) exist: a third is refused, a change is not */
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_CREATE, "third", NULL, &out),
                     RL_ERR_TOO_LARGE);
    assert_int_equal(
        sim_log(s, l, RL_RAFT_LOG_CONFIGURE, "orders", &most, &out), 0);
    assert_true(sim_wait_commit(s, out.last, 1000));
    rl_raft_log_info_t log;
    assert_true(sim_log_find(s, f, longest, &log));
    assert_int_equal(log.group, 1);
    assert_int_equal(log.settings.retention_bytes, RL_RAFT_LOG_RETENTION_MAX);
    assert_int_equal(log.settings.max_entry_bytes, RL_MAX_ENTRY_SIZE);
    assert_true(sim_log_find(s, f, "orders", &log));
    assert_int_equal(log.group, 2);
    assert_int_equal(log.settings.retention_ms, RL_RAFT_LOG_RETENTION_MAX);
    assert_false(sim_log_find(s, f, "Upper", NULL));
    /* one deleted: room for a third, which gets a new id */
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_DELETE, "orders", NULL, &out),
                     0);
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_CREATE, "third", NULL, &out), 0);
    assert_true(sim_wait_commit(s, out.last, 1000));
    assert_true(sim_log_find(s, f, "third", &log));
    assert_int_equal(log.group, 3);
    rl_raft_status_t st;
    sim_status(s, f, &st);
    assert_int_equal(st.log_count, 2);
    assert_int_equal(st.next_group, 4);
    sim_destroy(&s);
}

static void
test_a_new_leader_asks_catalog_calls_to_retry_until_its_first_commit(
    void **state)
{
    (void)state;
    sim_t *s = s_cluster_logs(122, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    rl_raft_status_t st;
    sim_status(s, l, &st);
    assert_true(st.commit < st.last_index); /* its no-op is not committed */
    rl_raft_proposal_t out;
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_CREATE, "early", NULL, &out),
                     RL_ERR_BUSY);
    assert_true(sim_wait_commit(s, st.last_index, 1000));
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_CREATE, "early", NULL, &out), 0);
    sim_destroy(&s);
}

/* A CATALOG entry of the wire format of catalog.c: a create carries
   members 1, 2, 3 (voters). */
static size_t s_catalog_data(uint8_t *p, const char *magic, uint8_t verb,
                             uint64_t retention_bytes, uint32_t max_entry,
                             const char *name)
{
    size_t len = strlen(name);
    memset(p, 0, 26);
    memcpy(p, magic, 4);
    p[4] = verb;
    for (int i = 0; i < 8; i++) {
        p[5 + i] = (uint8_t)(retention_bytes >> (8 * i));
    }
    for (int i = 0; i < 4; i++) {
        p[21 + i] = (uint8_t)(max_entry >> (8 * i));
    }
    p[25] = (uint8_t)len;
    memcpy(p + 26, name, len);
    uint8_t *q = p + 26 + len;
    uint8_t members = verb == 1 ? 3 : 0;
    q[0] = members;
    for (uint8_t m = 0; m < members; m++) {
        memset(q + 1 + 9 * m, 0, 9);
        q[1 + 9 * m] = (uint8_t)(m + 1);
        q[1 + 9 * m + 8] = 1;
    }
    return 26 + len + 1 + 9 * (size_t)members;
}

/* What a buggy leader could send: every CATALOG entry is validated where
   it is applied, the malformed ones are ignored, a create of a name that
   exists or a delete or change of one that does not changes nothing and
   takes no id. Stepped into a follower's core and not flushed. */
static void test_catalog_entries_are_validated_where_applied(void **state)
{
    (void)state;
    sim_t *s = s_cluster_logs(123, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t idx = sim_propose_leader(s, 1, 100);
    assert_true(sim_wait_commit(s, idx, 1000));
    uint64_t f = s_follower(s, l);
    rl_raft_status_t st;
    sim_status(s, f, &st);
    enum { N = 19 };
    uint8_t data[N][100];
    rl_entry_t e[N];
    memset(e, 0, sizeof(e));
    size_t n = 0;
#define ADD(...)                                                               \
    do {                                                                       \
        e[n].size = s_catalog_data(data[n], __VA_ARGS__);                      \
        n++;                                                                   \
    } while (0)
    /* 0: create a */
    ADD("RLG1", 1, 10, 0, "a");
    /* 1: create a again: ignored, no id taken */
    ADD("RLG1", 1, 20, 0, "a");
    /* 2: bad magic */
    ADD("RLX1", 1, 0, 0, "b");
    /* 3: a name that is not valid */
    ADD("RLG1", 1, 0, 0, "Bad");
    /* 4: default */
    ADD("RLG1", 1, 0, 0, "default");
    /* 5: an unknown verb */
    ADD("RLG1", 4, 0, 0, "b");
    /* 6: an entry size over the limit */
    ADD("RLG1", 1, 0, RL_MAX_ENTRY_SIZE + 1, "b");
    /* 7: a delete with settings */
    ADD("RLG1", 2, 5, 0, "a");
    /* 8: a name length that does not match the size */
    ADD("RLG1", 1, 0, 0, "bb");
    e[n - 1].size--;
    /* 9: nothing but the magic */
    memcpy(data[n], "RLG1", 4);
    e[n].size = 4;
    n++;
    /* a create without members, one with a member twice, a delete with
       members */
    ADD("RLG1", 1, 0, 0, "m");
    data[n - 1][27] = 0;
    e[n - 1].size -= 27;
    ADD("RLG1", 1, 0, 0, "m");
    data[n - 1][28 + 9] = 1; /* member 2 is 1 again */
    ADD("RLG1", 2, 0, 0, "a");
    data[n - 1][27] = 1;
    memset(data[n - 1] + 28, 7, 9);
    e[n - 1].size += 9;
    /* delete and configure a name that does not exist */
    ADD("RLG1", 2, 0, 0, "zz");
    ADD("RLG1", 3, 7, 0, "zz");
    /* 12: create b (the second id), 13: configure a, 14: delete a,
       15: create a (a new id) */
    ADD("RLG1", 1, 0, 0, "b");
    ADD("RLG1", 3, 30, 4, "a");
    ADD("RLG1", 2, 0, 0, "a");
    ADD("RLG1", 1, 40, 0, "a");
#undef ADD
    for (size_t i = 0; i < n; i++) {
        e[i].index = st.last_index + 1 + i;
        e[i].term = st.term;
        e[i].type = RL_ENTRY_CATALOG;
        e[i].data = data[i];
        e[i].time = st.last_time;
    }
    rl_msg_t m = s_peer(RL_MSG_APPEND, l);
    m.body.append.term = st.term;
    m.body.append.prev_index = st.last_index;
    m.body.append.prev_term = st.last_term;
    m.body.append.entries = e;
    m.body.append.entry_count = 17; /* up to the configure of a */
    m.body.append.commit = st.last_index + 17;
    rl_raft_t *fr = sim_raft(s, f);
    assert_int_equal(rl_raft_step(fr, &m), 0);
    size_t count = 0;
    const rl_raft_log_info_t *t = rl_raft_logs(fr, &count);
    assert_int_equal(count, 2);
    assert_string_equal(t[0].name, "a");
    assert_int_equal(t[0].group, 1);
    assert_int_equal(t[0].created, st.last_index + 1);
    assert_int_equal(t[0].settings.retention_bytes, 30);
    assert_int_equal(t[0].settings.max_entry_bytes, 4);
    assert_int_equal(t[0].member_count, 3);
    assert_string_equal(t[1].name, "b");
    assert_int_equal(t[1].group, 2);
    /* the rest: a deleted, and created again as group 3 */
    m.body.append.entry_count = n;
    m.body.append.commit = st.last_index + n;
    assert_int_equal(rl_raft_step(fr, &m), 0);
    t = rl_raft_logs(fr, &count);
    assert_int_equal(count, 2);
    assert_string_equal(t[0].name, "a");
    assert_int_equal(t[0].group, 3);
    assert_int_equal(t[0].created, st.last_index + n);
    assert_int_equal(t[0].settings.retention_bytes, 40);
    rl_raft_status(fr, &st);
    assert_int_equal(st.next_group, 4);
    assert_int_equal(st.log_count, 2);
    /* every change is handed out once durable: create a, create b,
       configure a, delete a, create a */
    rl_raft_persisted(fr, st.last_index, st.last_term);
    rl_raft_ready_t rd;
    assert_true(rl_raft_ready(fr, &rd));
    assert_int_equal(rd.log_change_count, 5);
    const uint8_t verbs[] = {1, 1, 3, 2, 1};
    const uint64_t groups[] = {1, 2, 1, 1, 3};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(rd.log_changes[i].verb, verbs[i]);
        assert_int_equal(rd.log_changes[i].log.group, groups[i]);
    }
    sim_destroy(&s);
}

/* Servers apply entries with one bound whatever their configuration: past
   RL_RAFT_LOG_LIMIT logs a create is ignored. */
static void test_no_catalog_holds_more_than_the_log_limit(void **state)
{
    (void)state;
    sim_t *s = s_cluster_logs(124, 0);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t idx = sim_propose_leader(s, 1, 100);
    assert_true(sim_wait_commit(s, idx, 1000));
    uint64_t f = s_follower(s, l);
    rl_raft_status_t st;
    sim_status(s, f, &st);
    size_t n = RL_RAFT_LOG_LIMIT + 1;
    rl_entry_t *e = calloc(n, sizeof(*e));
    uint8_t(*data)[64] = calloc(n, sizeof(*data));
    assert_non_null(e);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%05zu", i);
        e[i].index = st.last_index + 1 + i;
        e[i].term = st.term;
        e[i].type = RL_ENTRY_CATALOG;
        e[i].size = s_catalog_data(data[i], "RLG1", 1, 0, 0, name);
        e[i].data = data[i];
    }
    rl_msg_t m = s_peer(RL_MSG_APPEND, l);
    m.body.append.term = st.term;
    m.body.append.prev_index = st.last_index;
    m.body.append.prev_term = st.last_term;
    m.body.append.entries = e;
    m.body.append.entry_count = n;
    m.body.append.commit = st.last_index + n;
    rl_raft_t *fr = sim_raft(s, f);
    assert_int_equal(rl_raft_step(fr, &m), 0);
    size_t count = 0;
    const rl_raft_log_info_t *t = rl_raft_logs(fr, &count);
    assert_int_equal(count, RL_RAFT_LOG_LIMIT);
    assert_string_equal(t[count - 1].name, "n09999");
    assert_false(rl_raft_log_find(fr, rl_str("n10000"), NULL));
    rl_raft_status(fr, &st);
    assert_int_equal(st.next_group, RL_RAFT_LOG_LIMIT + 1);
    free(e);
    free(data);
    sim_destroy(&s);
}

/* ---- snapshot data: a core restarted from a snapshot ---- */

static uint64_t v_first(void *ctx)
{
    return *(uint64_t *)ctx + 1;
}

static uint64_t v_last(void *ctx)
{
    return *(uint64_t *)ctx;
}

static int v_term(void *ctx, uint64_t index, uint64_t *term)
{
    (void)ctx;
    (void)index;
    (void)term;
    return -1;
}

static int v_read(void *ctx, uint64_t from, size_t max_count, size_t max_bytes,
                  rl_entry_t *out, size_t *count)
{
    (void)ctx;
    (void)from;
    (void)max_count;
    (void)max_bytes;
    (void)out;
    *count = 0;
    return -1;
}

/* Starts a core whose log is only a snapshot at index 100 with data;
   returns it or NULL with *err. */
static rl_raft_t *s_core_from(const uint8_t *data, size_t size, int *err)
{
    static uint64_t last = 100;
    static rl_member_t member;
    member.id = 1;
    member.voter = true;
    rl_raft_snapshot_t snap = {100, 3, &member, 1, data, size};
    rl_raft_config_t cfg;
    rl_raft_config_defaults(&cfg);
    cfg.id = 1;
    cfg.view.ctx = &last;
    cfg.view.first_index = v_first;
    cfg.view.last_index = v_last;
    cfg.view.term_at = v_term;
    cfg.view.read = v_read;
    cfg.snapshot = &snap;
    cfg.term = 3;
    *err = 0;
    return rl_raft_new(&cfg, err);
}

/* Appends little-endian fields to a buffer. */
typedef struct {
    uint8_t bytes[512];
    size_t size;
} s_buf_t;

static void s_put(s_buf_t *b, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++) {
        b->bytes[b->size++] = (uint8_t)(v >> (8 * i));
    }
}

static void s_put_consumer(s_buf_t *b, const char *name, uint64_t index)
{
    size_t len = strlen(name);
    s_put(b, len, 1);
    memcpy(b->bytes + b->size, name, len);
    b->size += len;
    s_put(b, index, 8);
}

/* Version 2 with one producer; consumers added by the caller. */
static void s_v2(s_buf_t *b, uint32_t consumers)
{
    b->size = 0;
    memcpy(b->bytes, "RLS2", 4);
    b->size = 4;
    s_put(b, SIM_EPOCH_MS + 5, 8); /* time */
    s_put(b, 1, 4);                /* one producer */
    s_put(b, 42, 8);
    s_put(b, 7, 8);
    s_put(b, 90, 8);
    s_put(b, 91, 8);
    s_put(b, consumers, 4);
}

static void test_snapshot_data_is_read_in_both_versions(void **state)
{
    (void)state;
    int err = 0;
    s_buf_t b;
    s_v2(&b, 2);
    s_put_consumer(&b, "alpha", 99);
    s_put_consumer(&b, "beta", 0);
    rl_raft_t *r = s_core_from(b.bytes, b.size, &err);
    assert_non_null(r);
    size_t count = 0;
    const rl_raft_consumer_t *t = rl_raft_consumers(r, &count);
    assert_int_equal(count, 2);
    assert_string_equal(t[0].name, "alpha");
    assert_int_equal(t[0].index, 99);
    assert_string_equal(t[1].name, "beta");
    rl_raft_status_t st;
    rl_raft_status(r, &st);
    assert_int_equal(st.last_time, SIM_EPOCH_MS + 5);
    assert_int_equal(st.consumer_count, 2);
    rl_raft_destroy(&r);
    /* version 1: producers only, from before timestamps and consumers */
    b.size = 0;
    memcpy(b.bytes, "RLP1", 4);
    b.size = 4;
    s_put(&b, 1, 4);
    s_put(&b, 42, 8);
    s_put(&b, 7, 8);
    s_put(&b, 90, 8);
    s_put(&b, 91, 8);
    r = s_core_from(b.bytes, b.size, &err);
    assert_non_null(r);
    rl_raft_consumers(r, &count);
    assert_int_equal(count, 0);
    rl_raft_status(r, &st);
    assert_int_equal(st.last_time, 0);
    rl_raft_destroy(&r);
    r = s_core_from(NULL, 0, &err); /* empty: the bootstrap state */
    assert_non_null(r);
    rl_raft_destroy(&r);
}

static void test_malformed_snapshot_data_is_refused(void **state)
{
    (void)state;
    s_buf_t b;
    int err = 0;
    struct {
        const char *what;
        const char *first;
        uint64_t first_index;
        const char *second;
        uint64_t second_index;
        int extra; /* 1: a trailing byte, -1: one byte short */
    } cases[] = {
        {"unsorted", "beta", 1, "alpha", 1, 0},
        {"duplicate", "alpha", 1, "alpha", 2, 0},
        {"position at the snapshot's index", "alpha", 100, "beta", 1, 0},
        {"invalid name", "alpha", 1, "Beta", 1, 0},
        {"trailing byte", "alpha", 1, "beta", 1, 1},
        {"truncated", "alpha", 1, "beta", 1, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s_v2(&b, 2);
        s_put_consumer(&b, cases[i].first, cases[i].first_index);
        s_put_consumer(&b, cases[i].second, cases[i].second_index);
        if (cases[i].extra > 0) {
            s_put(&b, 0, 1);
        } else if (cases[i].extra < 0) {
            b.size--;
        }
        rl_raft_t *r = s_core_from(b.bytes, b.size, &err);
        if (r || err != RL_ERR_BAD_REQUEST) {
            fail_msg("%s: accepted", cases[i].what);
        }
    }
    s_v2(&b, 1000); /* more consumers than bytes */
    s_put_consumer(&b, "alpha", 1);
    assert_null(s_core_from(b.bytes, b.size, &err));
    assert_int_equal(err, RL_ERR_BAD_REQUEST);
    s_v2(&b, 0);
    memcpy(b.bytes, "RLS3", 4); /* a version not known */
    assert_null(s_core_from(b.bytes, b.size, &err));
    b.size = 0;
    memcpy(b.bytes, "RLP1", 4); /* version 1 with a count too large */
    b.size = 4;
    s_put(&b, 2, 4);
    s_put(&b, 42, 8); /* one producer of the two */
    s_put(&b, 7, 8);
    s_put(&b, 90, 8);
    s_put(&b, 91, 8);
    assert_null(s_core_from(b.bytes, b.size, &err));
    assert_null(s_core_from((const uint8_t *)"RLS2", 4, &err));
}

/* Version 3: version 2 and the catalog (snapshot_data.c). */
static void s_put_log(s_buf_t *b, const char *name, uint64_t group,
                      uint64_t created, uint32_t max_entry, uint8_t members)
{
    size_t len = strlen(name);
    s_put(b, len, 1);
    memcpy(b->bytes + b->size, name, len);
    b->size += len;
    s_put(b, group, 8);
    s_put(b, created, 8);
    s_put(b, 1000, 8); /* retention bytes */
    s_put(b, 2000, 8); /* retention ms */
    s_put(b, max_entry, 4);
    s_put(b, members, 1);
    for (uint8_t m = 0; m < members; m++) {
        s_put(b, m + 1, 8);
        s_put(b, m != 2, 1);
    }
}

static void s_v3(s_buf_t *b, uint64_t next_group, uint32_t logs)
{
    s_v2(b, 0);
    memcpy(b->bytes, "RLS3", 4);
    s_put(b, next_group, 8);
    s_put(b, logs, 4);
}

static void test_snapshot_data_version_3_carries_the_catalog(void **state)
{
    (void)state;
    int err = 0;
    s_buf_t b;
    s_v3(&b, 9, 2);
    s_put_log(&b, "billing", 7, 60, 0, 3);
    s_put_log(&b, "orders", 2, 100, RL_MAX_ENTRY_SIZE, 0);
    rl_raft_t *r = s_core_from(b.bytes, b.size, &err);
    assert_non_null(r);
    size_t count = 0;
    const rl_raft_log_info_t *t = rl_raft_logs(r, &count);
    assert_int_equal(count, 2);
    assert_string_equal(t[0].name, "billing");
    assert_int_equal(t[0].group, 7);
    assert_int_equal(t[0].created, 60);
    assert_int_equal(t[0].settings.retention_bytes, 1000);
    assert_int_equal(t[0].settings.retention_ms, 2000);
    assert_int_equal(t[0].member_count, 3);
    assert_int_equal(t[0].member_ids[2], 3);
    assert_false(t[0].member_voters[2]);
    assert_true(t[0].member_voters[1]);
    assert_string_equal(t[1].name, "orders");
    assert_int_equal(t[1].settings.max_entry_bytes, RL_MAX_ENTRY_SIZE);
    rl_raft_status_t st;
    rl_raft_status(r, &st);
    assert_int_equal(st.next_group, 9);
    assert_int_equal(st.log_count, 2);
    assert_int_equal(st.last_time, SIM_EPOCH_MS + 5);
    rl_raft_destroy(&r);
    /* an empty catalog whose ids were used */
    s_v3(&b, 5, 0);
    r = s_core_from(b.bytes, b.size, &err);
    assert_non_null(r);
    rl_raft_status(r, &st);
    assert_int_equal(st.next_group, 5);
    rl_raft_destroy(&r);
    /* version 2 has no catalog: the next id is 1 */
    s_v2(&b, 0);
    r = s_core_from(b.bytes, b.size, &err);
    assert_non_null(r);
    rl_raft_status(r, &st);
    assert_int_equal(st.next_group, 1);
    assert_int_equal(st.log_count, 0);
    rl_raft_destroy(&r);
    /* and a catalog that is not valid is refused */
    struct {
        const char *what;
        uint64_t next;
        const char *first;
        uint64_t first_group;
        const char *second;
        uint64_t second_group;
        uint64_t created;
        uint32_t max_entry;
        uint8_t members;
        int extra;
    } cases[] = {
        {"unsorted", 9, "orders", 1, "billing", 2, 5, 0, 3, 0},
        {"duplicate name", 9, "orders", 1, "orders", 2, 5, 0, 3, 0},
        {"duplicate group", 9, "a", 2, "b", 2, 5, 0, 3, 0},
        {"group 0", 9, "a", 0, "b", 2, 5, 0, 3, 0},
        {"group not below next", 9, "a", 1, "b", 9, 5, 0, 3, 0},
        {"next id 0", 0, "a", 1, "b", 2, 5, 0, 3, 0},
        {"created after the snapshot", 9, "a", 1, "b", 2, 101, 0, 3, 0},
        {"created at 0", 9, "a", 1, "b", 2, 0, 0, 3, 0},
        {"default", 9, "a", 1, "default", 2, 5, 0, 3, 0},
        {"invalid name", 9, "a", 1, "B", 2, 5, 0, 3, 0},
        {"entry size", 9, "a", 1, "b", 2, 5, RL_MAX_ENTRY_SIZE + 1, 3, 0},
        {"too many members", 9, "a", 1, "b", 2, 5, 0, RL_MAX_MEMBERS + 1, 0},
        {"trailing byte", 9, "a", 1, "b", 2, 5, 0, 3, 1},
        {"truncated", 9, "a", 1, "b", 2, 5, 0, 3, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s_v3(&b, cases[i].next, 2);
        s_put_log(&b, cases[i].first, cases[i].first_group, 5, 0, 3);
        s_put_log(&b, cases[i].second, cases[i].second_group, cases[i].created,
                  cases[i].max_entry, cases[i].members);
        if (cases[i].extra > 0) {
            s_put(&b, 0, 1);
        } else if (cases[i].extra < 0) {
            b.size--;
        }
        r = s_core_from(b.bytes, b.size, &err);
        if (r || err != RL_ERR_BAD_REQUEST) {
            fail_msg("%s: accepted", cases[i].what);
        }
    }
    s_v3(&b, 9, 1000); /* more logs than bytes */
    s_put_log(&b, "a", 1, 5, 0, 0);
    assert_null(s_core_from(b.bytes, b.size, &err));
    assert_int_equal(err, RL_ERR_BAD_REQUEST);
    s_v3(&b, 9, 1); /* a member id 0 */
    s_put_log(&b, "a", 1, 5, 0, 1);
    b.bytes[b.size - 9] = 0;
    assert_null(s_core_from(b.bytes, b.size, &err));
}

/* Version 4: version 2, where the snapshot's configuration came from
   (its CONFIG entry's index, and a named log's stamp), then the catalog
   (snapshot_data.c). Other versions give the snapshot's index and no
   stamp. */
static void s_v4(s_buf_t *b, uint64_t config_at, uint64_t mirrors)
{
    s_v2(b, 0);
    memcpy(b->bytes, "RLS4", 4);
    s_put(b, config_at, 8);
    s_put(b, mirrors, 8);
    s_put(b, 1, 8); /* next group */
    s_put(b, 0, 4); /* no log */
}

static void
test_snapshot_data_version_4_says_where_its_members_came_from(void **state)
{
    (void)state;
    int err = 0;
    s_buf_t b;
    s_v4(&b, 42, 7000);
    rl_raft_t *r = s_core_from(b.bytes, b.size, &err);
    assert_non_null(r);
    assert_int_equal(rl_raft_committed_config_index(r), 42);
    assert_int_equal(rl_raft_config_mirrors(r, true), 7000);
    assert_int_equal(rl_raft_config_mirrors(r, false), 7000);
    rl_raft_destroy(&r);
    /* the bootstrap members */
    s_v4(&b, 0, 0);
    r = s_core_from(b.bytes, b.size, &err);
    assert_non_null(r);
    assert_int_equal(rl_raft_committed_config_index(r), 0);
    rl_raft_destroy(&r);
    /* version 2: no configuration change between its index and the
       snapshot's, as far as anyone can tell */
    s_v2(&b, 0);
    r = s_core_from(b.bytes, b.size, &err);
    assert_non_null(r);
    assert_int_equal(rl_raft_committed_config_index(r), 100);
    assert_int_equal(rl_raft_config_mirrors(r, true), 0);
    rl_raft_destroy(&r);
    /* a configuration after the snapshot, or a cut field: refused */
    s_v4(&b, 101, 0);
    assert_null(s_core_from(b.bytes, b.size, &err));
    assert_int_equal(err, RL_ERR_BAD_REQUEST);
    s_v2(&b, 0);
    memcpy(b.bytes, "RLS4", 4);
    s_put(&b, 42, 8);
    assert_null(s_core_from(b.bytes, b.size, &err));
}

/* A core of group 5 (a named log's): it refuses catalog calls (group 0
   holds the catalog), ignores CATALOG entries, and drops messages of
   other groups; its own messages name its group. */
static void test_a_core_of_another_group_keeps_to_its_group(void **state)
{
    (void)state;
    uint64_t last = 0;
    rl_member_t members[2] = {{1, true, {NULL, 0}, {NULL, 0}},
                              {2, true, {NULL, 0}, {NULL, 0}}};
    rl_raft_config_t cfg;
    rl_raft_config_defaults(&cfg);
    cfg.id = 1;
    cfg.group = 5;
    cfg.view.ctx = &last;
    cfg.view.first_index = v_first;
    cfg.view.last_index = v_last;
    cfg.view.term_at = v_term;
    cfg.view.read = v_read;
    cfg.members = members;
    cfg.member_count = 2;
    int err = 0;
    rl_raft_t *r = rl_raft_new(&cfg, &err);
    assert_non_null(r);
    /* A vote request of group 0 from a member is dropped: no reply. */
    rl_msg_t m = s_peer(RL_MSG_VOTE, 2);
    m.cluster = rl_str(NULL);
    m.body.vote.term = 3;
    assert_int_equal(rl_raft_step(r, &m), 0);
    rl_raft_ready_t rd;
    rl_raft_ready(r, &rd);
    assert_int_equal(rd.message_count, 0);
    rl_raft_status_t st;
    rl_raft_status(r, &st);
    assert_int_equal(st.term, 0);
    assert_int_equal(st.group, 5);
    /* The same of group 5 is answered, in group 5. */
    m.group = 5;
    assert_int_equal(rl_raft_step(r, &m), 0);
    assert_true(rl_raft_ready(r, &rd));
    assert_int_equal(rd.message_count, 1);
    assert_int_equal(rd.messages[0].msg.group, 5);
    assert_true(rd.messages[0].msg.body.vote_reply.granted);
    rl_raft_proposal_t out;
    assert_int_equal(rl_raft_log_create(r, rl_str("a"), NULL, &out),
                     RL_RAFT_NOT_LEADER);
    assert_int_equal(out.leader, 0);
    /* Made leader (node 2 votes for it), it still refuses catalog calls. */
    while (rl_raft_status(r, &st), st.role == RL_RAFT_FOLLOWER) {
        rl_raft_tick(r);
    }
    rl_raft_ready(r, &rd);
    rl_msg_t yes = s_peer(RL_MSG_PREVOTE_REPLY, 2);
    yes.cluster = rl_str(NULL);
    yes.group = 5;
    yes.body.vote_reply.term = 4;
    yes.body.vote_reply.granted = true;
    rl_raft_step(r, &yes);
    yes.type = RL_MSG_VOTE_REPLY;
    rl_raft_step(r, &yes);
    rl_raft_status(r, &st);
    assert_int_equal(st.role, RL_RAFT_LEADER);
    assert_int_equal(rl_raft_log_create(r, rl_str("a"), NULL, &out),
                     RL_ERR_REJECTED);
    size_t count = 0;
    rl_raft_logs(r, &count);
    assert_int_equal(count, 0);
    rl_raft_destroy(&r);
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
    /* more consumers than any table holds */
    uint64_t last = 0;
    cfg.id = 1;
    cfg.view.ctx = &last;
    cfg.view.first_index = v_first;
    cfg.view.last_index = v_last;
    cfg.view.term_at = v_term;
    cfg.view.read = v_read;
    cfg.max_consumers = RL_RAFT_CONSUMER_LIMIT + 1;
    assert_null(rl_raft_new(&cfg, &err));
    assert_int_equal(err, RL_ERR_BAD_REQUEST);
    cfg.max_consumers = RL_RAFT_CONSUMER_LIMIT;
    rl_raft_t *ok = rl_raft_new(&cfg, &err);
    assert_non_null(ok);
    rl_raft_destroy(&ok);
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
        cmocka_unit_test(
            test_campaign_soon_ends_only_a_leaderless_followers_timeout),
        cmocka_unit_test(test_the_last_voter_cannot_be_removed),
        cmocka_unit_test(test_a_transfer_to_an_unreachable_follower_is_aborted),
        cmocka_unit_test(
            test_a_transfer_without_target_picks_the_most_up_to_date),
        cmocka_unit_test(test_a_truncated_configuration_entry_is_rolled_back),
        cmocka_unit_test(test_compaction_needs_something_new_and_durable),
        cmocka_unit_test(
            test_a_new_leader_has_committed_in_its_term_only_once_it_has),
        cmocka_unit_test(test_consumer_calls_need_the_leader_and_a_valid_name),
        cmocka_unit_test(
            test_a_new_leader_asks_consumers_to_retry_until_its_first_commit),
        cmocka_unit_test(test_consumer_entries_are_validated_where_applied),
        cmocka_unit_test(test_no_table_holds_more_than_the_consumer_limit),
        cmocka_unit_test(test_catalog_calls_need_the_leader_and_valid_input),
        cmocka_unit_test(
            test_a_new_leader_asks_catalog_calls_to_retry_until_its_first_commit),
        cmocka_unit_test(test_catalog_entries_are_validated_where_applied),
        cmocka_unit_test(test_no_catalog_holds_more_than_the_log_limit),
        cmocka_unit_test(test_snapshot_data_is_read_in_both_versions),
        cmocka_unit_test(test_malformed_snapshot_data_is_refused),
        cmocka_unit_test(test_snapshot_data_version_3_carries_the_catalog),
        cmocka_unit_test(
            test_snapshot_data_version_4_says_where_its_members_came_from),
        cmocka_unit_test(test_a_core_of_another_group_keeps_to_its_group),
        cmocka_unit_test(test_a_core_refuses_a_bad_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

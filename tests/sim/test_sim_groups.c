/*  test_sim_groups.c - named logs in the simulated cluster: several
    groups on the same nodes, created and destroyed by each node's host as
    group 0's catalog changes reach it, a new log's first leader,
    membership mirrored from group 0, quiet groups with node-level
    liveness. Faults are a node's, shared by
    all its groups; every invariant of sim.h is checked per group after
    every step; each test asserts what its name claims.
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

static const char *g_replay = "build/test/tests/sim/test_sim_groups "
                              "(deterministic scenario, seed %llu)";

static sim_t *s_cluster(unsigned nodes, uint64_t seed, bool quiesce)
{
    sim_options_t o;
    sim_options_default(&o);
    o.nodes = nodes;
    o.seed = seed;
    o.replay = g_replay;
    o.quiesce = quiesce;
    return sim_new(&o);
}

/* Runs until node id's commit index of group reaches index. */
static void s_wait_commit_on(sim_t *s, uint64_t id, uint64_t group,
                             uint64_t index)
{
    rl_raft_status_t st;
    for (unsigned t = 0; t < 5000; t++) {
        sim_group_status(s, id, group, &st);
        if (st.commit >= index) {
            return;
        }
        sim_run(s, 1);
    }
    fail_msg("node %llu does not commit %llu of group %llu",
             (unsigned long long)id, (unsigned long long)index,
             (unsigned long long)group);
}

/* True when every live node hosts group (hosts: true) or none does. */
static bool s_everywhere(sim_t *s, uint64_t group, bool hosts)
{
    for (uint64_t id = 1; id <= sim_node_count(s); id++) {
        if (sim_up(s, id) && sim_hosts(s, id, group) != hosts) {
            return false;
        }
    }
    return true;
}

static void s_wait_everywhere(sim_t *s, uint64_t group, bool hosts)
{
    for (unsigned t = 0; t < 5000 && !s_everywhere(s, group, hosts); t++) {
        sim_run(s, 1);
    }
    if (!s_everywhere(s, group, hosts)) {
        fail_msg("group %llu is %s some live node", (unsigned long long)group,
                 hosts ? "missing on" : "still on");
    }
}

/* A catalog call through group 0's leader, committed there. */
static int s_catalog(sim_t *s, rl_raft_log_verb_t verb, const char *name)
{
    for (unsigned attempt = 0; attempt < 50; attempt++) {
        uint64_t l = sim_wait_leader(s, 3000);
        assert_true(l != 0);
        rl_raft_proposal_t out;
        int rc = sim_log(s, l, verb, name, NULL, &out);
        if (rc == RL_ERR_BUSY || rc == RL_RAFT_NOT_LEADER) {
            sim_run(s, 50);
            continue;
        }
        if (rc == 0) {
            s_wait_commit_on(s, l, 0, out.last);
            assert_int_equal(sim_committed_term(s, out.last), out.term);
        }
        return rc;
    }
    fail_msg("group 0 does not take a catalog call");
    return -1;
}

/* Creates log name; returns its group, once every live node hosts it. */
static uint64_t s_create(sim_t *s, const char *name)
{
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_CREATE, name), 0);
    rl_raft_log_info_t log;
    assert_true(sim_log_find(s, sim_leader(s), name, &log));
    s_wait_everywhere(s, log.group, true);
    return log.group;
}

/* Proposes value to group's leader until it commits there; returns the
   index. */
static uint64_t s_commit_in(sim_t *s, uint64_t group, uint64_t value)
{
    for (unsigned attempt = 0; attempt < 50; attempt++) {
        uint64_t l = sim_group_wait_leader(s, group, 3000);
        assert_true(l != 0);
        rl_raft_proposal_t out;
        if (sim_group_propose(s, l, group, value, 0, 0, &out) != 0) {
            sim_run(s, 50);
            continue;
        }
        for (unsigned t = 0; t < 3000; t++) {
            uint64_t term = sim_group_committed_term(s, group, out.last);
            if (term == out.term) {
                return out.last;
            }
            if (term != 0) {
                break; /* lost: again */
            }
            sim_run(s, 1);
        }
    }
    fail_msg("group %llu does not commit", (unsigned long long)group);
    return 0;
}

/* True when every replica of every group on every live node is quiet. */
static bool s_all_quiet(sim_t *s)
{
    for (uint64_t id = 1; id <= sim_node_count(s); id++) {
        for (uint64_t g = 0; g < SIM_MAX_GROUPS && sim_up(s, id); g++) {
            rl_raft_t *r = sim_group_raft(s, id, g);
            if (r && !rl_raft_quiet(r)) {
                return false;
            }
        }
    }
    return true;
}

static bool s_wait_quiet(sim_t *s, unsigned max)
{
    for (unsigned t = 0; t < max && !s_all_quiet(s); t += 10) {
        sim_run(s, 10);
    }
    return s_all_quiet(s);
}

static void test_a_created_log_gets_a_group_on_every_node(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 801, false);
    uint64_t zero = sim_propose_leader(s, 1, 2000);
    assert_true(sim_wait_commit(s, zero, 2000));
    assert_false(sim_hosts(s, 1, 1));
    uint64_t g = s_create(s, "orders");
    assert_int_equal(g, 1);
    for (uint64_t id = 1; id <= 3; id++) {
        size_t count = 0;
        const rl_member_t *m =
            rl_raft_members(sim_group_raft(s, id, g), &count);
        assert_int_equal(count, 3);
        for (size_t i = 0; i < count; i++) {
            assert_true(m[i].voter);
        }
        rl_raft_status_t st;
        sim_group_status(s, id, g, &st);
        assert_int_equal(st.group, g);
    }
    uint64_t at = s_commit_in(s, g, 42);
    assert_true(sim_group_wait_commit(s, g, at, 2000));
    assert_true(sim_group_acked(s, g) >= 1);
    /* group 0 goes on by itself */
    uint64_t more = sim_propose_leader(s, 2, 2000);
    assert_true(sim_wait_commit(s, more, 2000));
    sim_final_check(s);
    sim_destroy(&s);
}

static void test_a_deleted_log_is_destroyed_on_every_node(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 802, false);
    uint64_t a = s_create(s, "a");
    uint64_t b = s_create(s, "b");
    s_commit_in(s, a, 1);
    s_commit_in(s, b, 2);
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_DELETE, "a"), 0);
    s_wait_everywhere(s, a, false);
    assert_true(s_everywhere(s, b, true));
    s_commit_in(s, b, 3);
    /* a log of the same name is a new group */
    uint64_t again = s_create(s, "a");
    assert_int_equal(again, 3);
    assert_false(sim_hosts(s, 1, a));
    const sim_stats_t *st = sim_stats(s);
    assert_int_equal(st->groups_created, 9);
    assert_int_equal(st->groups_destroyed, 3);
    sim_final_check(s);
    sim_destroy(&s);
}

/* The node leading three logs (and group 0) restarts: the others elect
   leaders for all of them, appends go on; it rejoins; nothing is lost. */
static void test_a_node_restarting_while_leading_several_logs(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 803, false);
    uint64_t groups[3];
    groups[0] = s_create(s, "a");
    groups[1] = s_create(s, "b");
    groups[2] = s_create(s, "c");
    uint64_t target = sim_leader(s);
    for (int i = 0; i < 3; i++) {
        uint64_t g = groups[i];
        for (unsigned attempt = 0; attempt < 20; attempt++) {
            uint64_t l = sim_group_wait_leader(s, g, 3000);
            if (l == target) {
                break;
            }
            rl_raft_transfer(sim_group_raft(s, l, g), target);
            sim_group_flush(s, l, g);
            sim_run(s, 300);
        }
        assert_int_equal(sim_group_leader(s, g), target);
        for (uint64_t v = 0; v < 5; v++) {
            s_commit_in(s, g, 100 * (i + 1) + v);
        }
    }
    sim_crash(s, target);
    for (int i = 0; i < 3; i++) {
        uint64_t l = sim_group_wait_leader(s, groups[i], 3000);
        assert_true(l != 0 && l != target);
        s_commit_in(s, groups[i], 1000 + i);
    }
    uint64_t l0 = sim_wait_leader(s, 3000);
    assert_true(l0 != 0 && l0 != target);
    sim_run(s, 500);
    sim_restart(s, target);
    for (int i = 0; i < 3; i++) {
        uint64_t at = s_commit_in(s, groups[i], 2000 + i);
        assert_true(sim_group_wait_commit(s, groups[i], at, 3000));
        assert_true(sim_group_acked(s, groups[i]) >= 7);
    }
    sim_final_check(s);
    sim_destroy(&s);
}

/* With quiet groups, what idle logs cost a node does not grow with their
   number: once every group rests, no core ticks and no core message is
   sent; the only traffic is one node-level heartbeat per peer per tick. */
static void test_idle_groups_cost_the_same_whatever_their_number(void **state)
{
    (void)state;
    uint64_t beats[2] = {0, 0};
    const unsigned logs[2] = {1, 12};
    for (int run = 0; run < 2; run++) {
        sim_t *s = s_cluster(3, 804, true);
        for (unsigned i = 0; i < logs[run]; i++) {
            char name[16];
            snprintf(name, sizeof(name), "log%u", i);
            uint64_t g = s_create(s, name);
            s_commit_in(s, g, i);
        }
        assert_true(s_wait_quiet(s, 10000));
        sim_stats_reset(s);
        sim_run(s, 3000);
        const sim_stats_t *st = sim_stats(s);
        assert_int_equal(st->total, 0);
        assert_int_equal(st->ticks, 0);
        assert_true(st->quiet_ticks >= 3 * 290 * (logs[run] + 1));
        beats[run] = st->beats;
        assert_true(s_all_quiet(s));
        sim_destroy(&s);
    }
    /* 300 ticks of 3 nodes, 2 peers each, whether 1 log or 12 */
    assert_true(beats[0] >= 2 * 3 * 290 && beats[0] <= 2 * 3 * 310);
    assert_true(beats[1] >= 2 * 3 * 290 && beats[1] <= 2 * 3 * 310);
}

/* Quiet groups wake when a node dies: those it led elect new leaders
   (their followers' hosts see its node silent), those it followed wake
   their leaders; every group commits again, and the healthy ones rest
   again once it is back. */
static void test_quiet_groups_wake_when_a_node_dies(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 805, true);
    uint64_t groups[8];
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof(name), "q%d", i);
        groups[i] = s_create(s, name);
        s_commit_in(s, groups[i], (uint64_t)i);
    }
    assert_true(s_wait_quiet(s, 10000));
    uint64_t victim = sim_group_leader(s, groups[0]);
    unsigned led = 0;
    for (int i = 0; i < 8; i++) {
        led += sim_group_leader(s, groups[i]) == victim;
    }
    sim_stats_reset(s);
    sim_crash(s, victim);
    for (int i = 0; i < 8; i++) {
        uint64_t l = sim_group_wait_leader(s, groups[i], 5000);
        for (unsigned t = 0; t < 3000 && (l == 0 || l == victim); t += 10) {
            sim_run(s, 10);
            l = sim_group_leader(s, groups[i]);
        }
        assert_true(l != 0 && l != victim);
        s_commit_in(s, groups[i], 100 + (uint64_t)i);
    }
    assert_true(sim_stats(s)->wakes >= 2 * led);
    sim_restart(s, victim);
    assert_true(s_wait_quiet(s, 20000));
    sim_final_check(s);
    sim_destroy(&s);
}

/* A log created after a member joined group 0 starts with it; logs
   created before get it mirrored by their leaders, and a removal from
   group 0 reaches them too. */
static void test_group_0s_membership_is_mirrored_into_every_log(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 806, false);
    uint64_t before = s_create(s, "before");
    uint64_t added = sim_add_node(s);
    rl_member_t m = {added, false, rl_str("sim://4"), rl_str("sim://4")};
    for (unsigned t = 0; t < 50; t++) {
        uint64_t l = sim_wait_leader(s, 3000);
        if (rl_raft_add_member(sim_raft(s, l), &m) == 0) {
            sim_flush(s, l);
            break;
        }
        sim_run(s, 50);
    }
    rl_raft_status_t st;
    for (unsigned t = 0; t < 5000; t++) {
        sim_status(s, added, &st);
        if (st.voter) {
            break;
        }
        sim_run(s, 1);
    }
    assert_true(st.voter);
    uint64_t after = s_create(s, "after");
    rl_raft_log_info_t log;
    assert_true(sim_log_find(s, 1, "after", &log));
    assert_int_equal(log.member_count, 4);
    assert_true(sim_log_find(s, 1, "before", &log));
    assert_int_equal(log.member_count, 3);
    /* mirrored: the new node becomes a voter of the older log */
    bool voter = false;
    for (unsigned t = 0; t < 10000 && !voter; t += 10) {
        sim_run(s, 10);
        sim_group_status(s, added, before, &st);
        voter = st.voter;
    }
    assert_true(voter);
    assert_true(sim_stats(s)->mirrored >= 1); /* its add (the promotion is
                                                 the core's own) */
    /* a removal from group 0 reaches both logs */
    for (unsigned t = 0; t < 50; t++) {
        uint64_t l = sim_wait_leader(s, 3000);
        if (rl_raft_remove_member(sim_raft(s, l), 2) == 0) {
            sim_flush(s, l);
            break;
        }
        sim_run(s, 50);
    }
    uint64_t logs[2] = {before, after};
    for (int i = 0; i < 2; i++) {
        bool gone = false;
        for (unsigned t = 0; t < 10000 && !gone; t += 10) {
            sim_run(s, 10);
            uint64_t l = sim_group_leader(s, logs[i]);
            if (!l) {
                continue;
            }
            size_t count = 0;
            const rl_member_t *mm =
                rl_raft_members(sim_group_raft(s, l, logs[i]), &count);
            gone = count == 3;
            for (size_t k = 0; k < count; k++) {
                gone = gone && mm[k].id != 2 && mm[k].voter;
            }
        }
        assert_true(gone);
    }
    /* an empty target (a server that knows no configuration) changes
       nothing */
    uint64_t l = sim_group_leader(s, before);
    rl_raft_mirror_t done = RL_RAFT_MIRROR_ADD;
    assert_int_equal(
        rl_raft_mirror(sim_group_raft(s, l, before), NULL, 0, 0, &done), 0);
    assert_int_equal(done, RL_RAFT_MIRROR_NONE);
    sim_final_check(s);
    sim_destroy(&s);
}

/* A node cut off while logs are created and deleted gets group 0's
   catalog by snapshot; its host then creates the logs it lacks and
   never the one deleted meanwhile. */
static void test_a_lagging_node_creates_its_groups_from_a_snapshot(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 807, false);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t lagging = l == 3 ? 2 : 3;
    sim_isolate(s, lagging);
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_CREATE, "a"), 0);
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_CREATE, "b"), 0);
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_CREATE, "c"), 0);
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_DELETE, "a"), 0);
    l = sim_leader(s);
    sim_run(s, 200);
    s_commit_in(s, 2, 7);
    assert_int_equal(sim_compact(s, l), 0);
    sim_heal(s);
    s_wait_everywhere(s, 2, true);
    s_wait_everywhere(s, 3, true);
    assert_false(sim_hosts(s, lagging, 1));
    size_t count = 0;
    sim_log_changes(s, lagging, &count);
    assert_int_equal(count, 0); /* it came by snapshot */
    uint64_t at = s_commit_in(s, 2, 8);
    assert_true(sim_group_wait_commit(s, 2, at, 3000));
    rl_raft_status_t st;
    sim_group_status(s, lagging, 2, &st);
    assert_int_equal(st.commit, at);
    sim_final_check(s);
    sim_destroy(&s);
}

/* A log created and deleted after group 0's last snapshot: after a restart
   of every node the changes are handed out again, and the hosts must not
   bring the deleted group back (raft.h: the highest id hosted; sim.c
   fails on a group created twice on a node). */
static void test_a_deleted_log_does_not_come_back_after_a_restart(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 808, true);
    uint64_t a = s_create(s, "a");
    s_commit_in(s, a, 1);
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_DELETE, "a"), 0);
    s_wait_everywhere(s, a, false);
    uint64_t b = s_create(s, "b");
    for (uint64_t id = 1; id <= 3; id++) {
        sim_crash(s, id);
    }
    for (uint64_t id = 1; id <= 3; id++) {
        sim_restart(s, id);
    }
    s_commit_in(s, b, 2);
    uint64_t zero = sim_propose_leader(s, 3, 3000);
    assert_true(sim_wait_commit(s, zero, 3000));
    assert_true(s_everywhere(s, a, false));
    assert_true(s_everywhere(s, b, true));
    sim_final_check(s);
    sim_destroy(&s);
}

/* A catalog client as a daemon's front door is one: it wants name to
   exist (or not), asks group 0's leader and waits for the entry to commit
   in its term, and asks again when the attempt was lost. REJECTED (the
   name exists, or does not, at the leader's tip: perhaps only in a tail
   it is about to lose) is an answer only once the leader's committed
   catalog says so; until then it asks again. Returns once it does. */
static void s_ensure(sim_t *s, const char *name, bool exists)
{
    rl_raft_log_verb_t verb = exists ? RL_RAFT_LOG_CREATE : RL_RAFT_LOG_DELETE;
    for (unsigned attempt = 0; attempt < 200; attempt++) {
        uint64_t l = sim_wait_leader(s, 3000);
        rl_raft_proposal_t out;
        int rc = l ? sim_log(s, l, verb, name, NULL, &out) : RL_ERR_NO_LEADER;
        if (rc == 0) {
            uint64_t term = 0;
            for (unsigned t = 0; t < 3000 && term == 0; t++) {
                sim_run(s, 1);
                term = sim_committed_term(s, out.last);
            }
            if (term == out.term) {
                return;
            }
        } else if (rc == RL_ERR_REJECTED &&
                   sim_log_find(s, l, name, NULL) == exists) {
            return; /* an earlier attempt committed */
        } else {
            sim_run(s, 50);
        }
    }
    fail_msg("log %s is never %s", name, exists ? "created" : "deleted");
}

/* Logs created and deleted while messages are dropped, duplicated and
   reordered, group 0's leader crashes just after appending a create, and
   a node is cut off while a log is deleted: the catalog holds each log
   once, with the first id (a lost create takes none), every node ends up
   hosting exactly the catalog's groups (the one cut off destroys the
   deleted log once back), appends to the logs are never lost, and every
   group takes group 0's configuration (sim_final_check). */
static void test_logs_are_created_and_deleted_under_faults(void **state)
{
    (void)state;
    for (uint64_t seed = 810; seed < 814; seed++) {
        sim_t *s = s_cluster(5, seed, seed % 2 == 0);
        sim_set_faults(s, 10, 5, 1, 20);
        /* the leader appends a create and crashes at once */
        uint64_t l = sim_wait_leader(s, 3000);
        assert_true(l != 0);
        rl_raft_proposal_t out;
        for (unsigned t = 0; t < 50; t++) {
            l = sim_wait_leader(s, 3000);
            if (sim_log(s, l, RL_RAFT_LOG_CREATE, "a", NULL, &out) == 0) {
                break;
            }
            sim_run(s, 50);
        }
        sim_crash(s, l);
        s_ensure(s, "a", true);
        rl_raft_log_info_t log;
        assert_true(sim_log_find(s, sim_leader(s), "a", &log));
        assert_int_equal(log.group, 1);
        sim_restart(s, l);
        s_wait_everywhere(s, 1, true);
        s_commit_in(s, 1, 11);
        /* a node cut off while b is created and a deleted */
        uint64_t cut = 1 + sim_random(s, 5);
        sim_isolate(s, cut);
        s_ensure(s, "b", true);
        assert_true(sim_log_find(s, sim_leader(s), "b", &log));
        uint64_t b = log.group;
        assert_int_equal(b, 2);
        s_commit_in(s, b, 21);
        s_ensure(s, "a", false);
        assert_true(sim_hosts(s, cut, 1));
        s_commit_in(s, b, 22);
        sim_heal(s);
        s_wait_everywhere(s, 1, false);
        s_wait_everywhere(s, b, true);
        /* group 0's leader crashes while c is created: retried, once */
        l = sim_wait_leader(s, 3000);
        if (sim_log(s, l, RL_RAFT_LOG_CREATE, "c", NULL, &out) == 0) {
            sim_crash(s, l);
        }
        s_ensure(s, "c", true);
        assert_true(sim_log_find(s, sim_leader(s), "c", &log));
        assert_int_equal(log.group, 3);
        s_commit_in(s, log.group, 31);
        sim_restart(s, l);
        s_wait_everywhere(s, log.group, true);
        size_t count = 0;
        rl_raft_logs(sim_raft(s, sim_leader(s)), &count);
        assert_int_equal(count, 2);
        assert_true(sim_group_acked(s, b) >= 2);
        sim_final_check(s);
        sim_destroy(&s);
    }
}

/* Runs until group has a leader, at most max units; returns it (0 for
   none) and the units it took in *took. */
static uint64_t s_leader_within(sim_t *s, uint64_t group, unsigned max,
                                unsigned *took)
{
    for (*took = 0; *took < max; (*took)++) {
        uint64_t l = sim_group_leader(s, group);
        if (l) {
            return l;
        }
        sim_run(s, 1);
    }
    return sim_group_leader(s, group);
}

/* Without faults, a new log's group has a leader a few ticks after its
   creation commits, not an election timeout (10 to 20 ticks) later: the
   node every host designates (rl_raft_log_first_leader) campaigns at
   its next tick. The first leaders go round the voters. */
static void test_a_new_log_is_led_by_its_first_leader_at_once(void **state)
{
    (void)state;
    for (uint64_t seed = 820; seed < 823; seed++) {
        bool quiesce = seed % 2 == 0;
        sim_t *s = s_cluster(3, seed, quiesce);
        assert_true(sim_wait_leader(s, 3000) != 0);
        unsigned led[4] = {0, 0, 0, 0};
        for (int i = 0; i < 12; i++) {
            char name[16];
            snprintf(name, sizeof(name), "new%d", i);
            /* committed on group 0's leader: its host creates the group */
            assert_int_equal(s_catalog(s, RL_RAFT_LOG_CREATE, name), 0);
            rl_raft_log_info_t log;
            assert_true(sim_log_find(s, sim_leader(s), name, &log));
            uint64_t first = rl_raft_log_first_leader(&log);
            assert_true(first >= 1 && first <= 3);
            /* 4 ticks of 10 units; an election timeout is 10 to 20 */
            unsigned took = 0;
            uint64_t l = s_leader_within(s, log.group, 40, &took);
            if (l != first) {
                fail_msg("seed %llu log %s (group %llu): leader %llu after "
                         "%u units, its first leader is %llu",
                         (unsigned long long)seed, name,
                         (unsigned long long)log.group, (unsigned long long)l,
                         took, (unsigned long long)first);
            }
            led[l]++;
            s_commit_in(s, log.group, (uint64_t)i);
            if (quiesce) {
                assert_true(s_wait_quiet(s, 10000));
            }
        }
        /* round the voters: 4 each */
        assert_int_equal(led[1], 4);
        assert_int_equal(led[2], 4);
        assert_int_equal(led[3], 4);
        sim_final_check(s);
        sim_destroy(&s);
    }
}

/* The first leader is down, or cut off, when a log is created: the
   others elect a leader by their election timeouts, as for any group. */
static void test_a_new_log_gets_a_leader_without_its_first_leader(void **state)
{
    (void)state;
    for (int cut = 0; cut < 2; cut++) {
        sim_t *s = s_cluster(3, 830 + (uint64_t)cut, false);
        uint64_t l0 = sim_wait_leader(s, 3000);
        assert_true(l0 != 0);
        /* a name whose group's first leader is not group 0's leader: the
           next group id is 1, and the voters 1, 2, 3 take groups in turn */
        uint64_t victim = 0;
        rl_raft_log_info_t probe;
        memset(&probe, 0, sizeof(probe));
        probe.group = 1;
        probe.member_count = 3;
        for (int i = 0; i < 3; i++) {
            probe.member_ids[i] = (uint64_t)i + 1;
            probe.member_voters[i] = true;
        }
        victim = rl_raft_log_first_leader(&probe);
        if (victim == l0) {
            /* move group 0's leadership away from it first */
            uint64_t to = victim == 1 ? 2 : 1;
            rl_raft_transfer(sim_raft(s, l0), to);
            sim_flush(s, l0);
            for (unsigned t = 0; t < 3000 && sim_leader(s) != to; t += 10) {
                sim_run(s, 10);
            }
            assert_int_equal(sim_leader(s), to);
        }
        if (cut) {
            sim_isolate(s, victim);
        } else {
            sim_crash(s, victim);
        }
        assert_int_equal(s_catalog(s, RL_RAFT_LOG_CREATE, "orphan"), 0);
        rl_raft_log_info_t log;
        assert_true(sim_log_find(s, sim_leader(s), "orphan", &log));
        assert_int_equal(log.group, 1);
        assert_int_equal(rl_raft_log_first_leader(&log), victim);
        unsigned took = 0;
        uint64_t l = s_leader_within(s, log.group, 3000, &took);
        assert_true(l != 0 && l != victim);
        assert_true(took >= 10 * 10 / 2); /* by an election timeout */
        s_commit_in(s, log.group, 7);
        if (cut) {
            sim_heal(s);
        } else {
            sim_restart(s, victim);
        }
        s_wait_everywhere(s, log.group, true);
        sim_final_check(s);
        sim_destroy(&s);
    }
}

/* Makes node `to` group 0's leader. */
static void s_lead_group_0(sim_t *s, uint64_t to)
{
    for (unsigned attempt = 0; attempt < 20 && sim_leader(s) != to; attempt++) {
        uint64_t l = sim_wait_leader(s, 3000);
        rl_raft_transfer(sim_raft(s, l), to);
        sim_flush(s, l);
        sim_run(s, 300);
    }
    assert_int_equal(sim_leader(s), to);
}

/* Removes id from group 0 through its leader, committed there. */
static void s_remove_from_group_0(sim_t *s, uint64_t id)
{
    for (unsigned attempt = 0; attempt < 50; attempt++) {
        uint64_t l = sim_wait_leader(s, 3000);
        if (sim_remove_member(s, l, id) == 0) {
            sim_flush(s, l);
            rl_raft_status_t st;
            sim_status(s, l, &st);
            s_wait_commit_on(s, l, 0, st.last_index);
            return;
        }
        sim_run(s, 50);
    }
    fail_msg("group 0 does not remove node %llu", (unsigned long long)id);
}

/* A node removed from group 0 while cut off comes back with faster
   ticks and times out first in a log's group: the members' hosts drop its
   vote requests (it could otherwise win, append its no-op where no
   member's host takes it, and hold the log up until CheckQuorum; in a
   log of two voters for ever). It never leads the log, and the members
   mirror its removal. */
static void
test_a_node_removed_from_group_0_cannot_win_a_logs_election(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 840, false);
    s_lead_group_0(s, 1);
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_CREATE, "three"), 0);
    rl_raft_log_info_t log;
    assert_true(sim_log_find(s, 1, "three", &log));
    assert_int_equal(log.member_count, 3);
    uint64_t g = log.group;
    s_commit_in(s, g, 1);
    sim_isolate(s, 3);
    s_remove_from_group_0(s, 3); /* group 0 is nodes 1 and 2 */
    sim_set_tick_period(s, 3, 4);
    sim_heal(s);
    /* Long enough for node 3 to time out many times once the members
       have mirrored its removal and stopped sending to it. */
    bool mirrored = false;
    for (unsigned t = 0; t < 5000; t += 10) {
        sim_run(s, 10);
        rl_raft_status_t st3;
        sim_group_status(s, 3, g, &st3);
        assert_int_not_equal(st3.role, RL_RAFT_LEADER);
        uint64_t l = sim_group_leader(s, g);
        if (!l)
            continue;
        rl_raft_status_t st;
        sim_group_status(s, l, g, &st);
        size_t count = 0;
        const rl_member_t *m = rl_raft_members(sim_group_raft(s, l, g), &count);
        mirrored = mirrored || (st.commit == st.last_index && count == 2 &&
                                m[0].id != 3 && m[1].id != 3);
    }
    assert_true(mirrored);
    assert_true(sim_stats(s)->refused > 0);
    s_commit_in(s, g, 2);
    sim_final_check(s);
    sim_destroy(&s);
}

/* Group 0 keeps two voters while a named log exists: each log's group
   has group 0's voters, a group of two needs both to remove one, and a
   node removed from group 0 may never agree (it never hosted the log, or
   its log is ahead while the member's host drops its requests): the log
   would have no leader for ever. Once the logs are gone it may shrink. */
static void test_group_0_keeps_two_voters_while_a_named_log_exists(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 841, false);
    s_lead_group_0(s, 1);
    s_remove_from_group_0(s, 3); /* no named log yet: allowed */
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_CREATE, "two"), 0);
    rl_raft_log_info_t log;
    assert_true(sim_log_find(s, 1, "two", &log));
    assert_int_equal(log.member_count, 2);
    s_commit_in(s, log.group, 1);
    uint64_t l = sim_wait_leader(s, 3000);
    assert_int_equal(rl_raft_remove_member(sim_raft(s, l), 2), RL_ERR_REJECTED);
    assert_int_equal(rl_raft_remove_member(sim_raft(s, l), 1), RL_ERR_REJECTED);
    /* a learner may go: the voters stay two */
    rl_member_t learner = {.id = 3,
                           .voter = false,
                           .peer_addr = rl_str("sim"),
                           .client_addr = rl_str("sim")};
    sim_isolate(s, 3); /* stays a learner: it cannot catch up */
    assert_int_equal(rl_raft_add_member(sim_raft(s, l), &learner), 0);
    sim_flush(s, l);
    s_remove_from_group_0(s, 3);
    sim_heal(s);
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_DELETE, "two"), 0);
    /* a create not yet committed counts */
    l = sim_wait_leader(s, 3000);
    rl_raft_proposal_t out;
    assert_int_equal(sim_log(s, l, RL_RAFT_LOG_CREATE, "late", NULL, &out), 0);
    assert_int_equal(rl_raft_remove_member(sim_raft(s, l), l == 1 ? 2 : 1),
                     RL_ERR_REJECTED);
    sim_flush(s, l);
    s_wait_commit_on(s, l, 0, out.last);
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_DELETE, "late"), 0);
    /* no named log left: group 0 may shrink to one voter */
    s_remove_from_group_0(s, 2);
    /* one voter and a named log: a learner may still go (only voters
       count) */
    assert_int_equal(s_catalog(s, RL_RAFT_LOG_CREATE, "solo"), 0);
    sim_isolate(s, 3); /* stays a learner */
    bool added = false;
    for (unsigned attempt = 0; attempt < 50 && !added; attempt++) {
        l = sim_wait_leader(s, 3000);
        added = rl_raft_add_member(sim_raft(s, l), &learner) == 0;
        sim_flush(s, l);
        sim_run(s, 50);
    }
    assert_true(added);
    s_remove_from_group_0(s, 3);
    sim_heal(s);
    sim_final_check(s);
    sim_destroy(&s);
}

/* A log's leader never mirrors a configuration of group 0 older than
   the one its group last mirrored (its stamp): a leader whose own group 0
   lags (restarted from an old snapshot, cut off from group 0's leader)
   would otherwise remove a voter group 0 has added since, leaving the
   log smaller than group 0's leader believes when it removes another.
   A target as recent as the stamp, with the same members, changes
   nothing; a later one only stamps the same members. */
static void test_a_logs_leader_never_mirrors_an_older_group_0(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 842, false);
    uint64_t g = s_create(s, "a");
    s_commit_in(s, g, 1);
    uint64_t l = sim_wait_leader(s, 3000);
    size_t count = 0;
    const rl_member_t *m = rl_raft_committed_members(sim_raft(s, l), &count);
    rl_member_t old[RL_MAX_MEMBERS];
    memcpy(old, m, count * sizeof(*m));
    size_t old_count = count;
    uint64_t old_at = rl_raft_committed_config_index(sim_raft(s, l));
    /* group 0 gains node 4; the log mirrors it and promotes it */
    uint64_t added = sim_add_node(s);
    rl_member_t four = {added, false, rl_str("sim://4"), rl_str("sim://4")};
    for (unsigned t = 0; t < 50; t++) {
        l = sim_wait_leader(s, 3000);
        if (rl_raft_add_member(sim_raft(s, l), &four) == 0) {
            sim_flush(s, l);
            break;
        }
        sim_run(s, 50);
    }
    bool caught_up = false;
    for (unsigned t = 0; t < 10000 && !caught_up; t += 10) {
        sim_run(s, 10);
        l = sim_wait_leader(s, 3000);
        uint64_t gl = sim_group_leader(s, g);
        if (!gl) {
            continue;
        }
        rl_raft_t *zero = sim_raft(s, l);
        rl_raft_t *log = sim_group_raft(s, gl, g);
        size_t z = 0, n = 0;
        const rl_member_t *zm = rl_raft_committed_members(zero, &z);
        const rl_member_t *lm = rl_raft_committed_members(log, &n);
        size_t voters = 0;
        for (size_t k = 0; k < n; k++) {
            voters += lm[k].voter ? 1 : 0;
        }
        caught_up = z == 4 && zm[3].voter && voters == 4 &&
                    rl_raft_config_mirrors(log, true) >=
                        rl_raft_committed_config_index(zero);
    }
    assert_true(caught_up);
    uint64_t gl = sim_group_leader(s, g);
    rl_raft_t *log = sim_group_raft(s, gl, g);
    uint64_t stamp = rl_raft_config_mirrors(log, false);
    assert_true(stamp > old_at);
    /* group 0 as it was before node 4, as a lagging node would see it */
    rl_raft_mirror_t done = RL_RAFT_MIRROR_ADD;
    assert_int_equal(rl_raft_mirror(log, old, old_count, old_at, &done), 0);
    assert_int_equal(done, RL_RAFT_MIRROR_NONE);
    rl_raft_members(log, &count);
    assert_int_equal(count, 4);
    /* the current target: nothing to do */
    l = sim_wait_leader(s, 3000);
    rl_raft_t *zero = sim_raft(s, l);
    size_t z = 0;
    const rl_member_t *zm = rl_raft_committed_members(zero, &z);
    rl_member_t now[RL_MAX_MEMBERS];
    memcpy(now, zm, z * sizeof(*zm));
    assert_int_equal(rl_raft_mirror(log, now, z, stamp, &done), 0);
    assert_int_equal(done, RL_RAFT_MIRROR_NONE);
    /* a later position with the same members: stamped, and committed */
    assert_int_equal(rl_raft_mirror(log, now, z, stamp + 7, &done), 0);
    assert_int_equal(done, RL_RAFT_MIRROR_STAMP);
    assert_int_equal(rl_raft_config_mirrors(log, false), stamp + 7);
    sim_flush(s, gl);
    bool stamped = false;
    for (unsigned t = 0; t < 3000 && !stamped; t++) {
        sim_run(s, 1);
        stamped =
            sim_group_raft(s, gl, g) &&
            rl_raft_config_mirrors(sim_group_raft(s, gl, g), true) == stamp + 7;
    }
    assert_true(stamped);
    rl_raft_members(sim_group_raft(s, gl, g), &count);
    assert_int_equal(count, 4);
    s_commit_in(s, g, 2);
    sim_final_check(s);
    sim_destroy(&s);
}

/* True when id is a voter of members[count]. */
static bool s_voter_in(const rl_member_t *members, size_t count, uint64_t id)
{
    for (size_t i = 0; i < count; i++) {
        if (members[i].id == id) {
            return members[i].voter;
        }
    }
    return false;
}

/* One voter (node 1) with log "a" (*group), and node 2 (*added) added
   to group 0 as a learner; with far, far away: messages take 15 ticks,
   more than an election timeout. Then group 0, written at every tick,
   never sees its learner end a round in time (thesis 4.2.1) and does not
   promote it, while the idle log's learner reaches the log's commit
   index. */
#define S_FAR 150 /* time units: 15 ticks */

static sim_t *s_one_voter_and_a_learner(uint64_t seed, bool quiesce, bool far,
                                        uint64_t *group, uint64_t *added)
{
    sim_t *s = s_cluster(1, seed, quiesce);
    *group = s_create(s, "a");
    s_commit_in(s, *group, 1);
    *added = sim_add_node(s);
    rl_member_t two = {*added, false, rl_str("sim://2"), rl_str("sim://2")};
    assert_int_equal(rl_raft_add_member(sim_raft(s, 1), &two), 0);
    sim_flush(s, 1);
    if (far) {
        sim_set_faults(s, 0, 0, S_FAR, S_FAR);
    }
    return s;
}

/* A write of value to group 0 on node lead, then units of time. */
static void s_write_and_run(sim_t *s, uint64_t lead, uint64_t value,
                            unsigned units)
{
    rl_raft_proposal_t out;
    sim_propose(s, lead, value, 0, 0, &out);
    sim_flush(s, lead);
    sim_run(s, units);
}

/* A log promotes a learner only once group 0 has: otherwise group 0 could
   remove it as a learner (which needs no log's agreement) while the log
   counts it as a voter, and a log of two voters would need it for good.
   Here group 0's learner (node 2) stays behind while the idle log's
   learner catches up; node 2 then goes, and the log goes on without
   it. */
static void test_a_log_promotes_only_group_0s_voters(void **state)
{
    (void)state;
    uint64_t g = 0, added = 0;
    sim_t *s = s_one_voter_and_a_learner(4242, false, true, &g, &added);
    bool learner_in_log = false;
    for (unsigned t = 0; t < 5000; t++) {
        s_write_and_run(s, 1, 50000 + t, 1);
        size_t z = 0, n = 0;
        const rl_member_t *zm = rl_raft_committed_members(sim_raft(s, 1), &z);
        const rl_member_t *lm = rl_raft_members(sim_group_raft(s, 1, g), &n);
        if (s_voter_in(lm, n, added)) {
            assert_true(s_voter_in(zm, z, added));
        }
        learner_in_log = learner_in_log || n == 2;
    }
    assert_true(learner_in_log); /* the log did add it */
    size_t z = 0;
    const rl_member_t *zm = rl_raft_committed_members(sim_raft(s, 1), &z);
    assert_false(s_voter_in(zm, z, added)); /* too far for group 0 */
    rl_raft_status_t leader, learner;
    sim_group_status(s, 1, g, &leader);
    sim_group_status(s, added, g, &learner);
    assert_true(learner.persisted >= leader.commit); /* the log's has */
    assert_int_equal(sim_remove_member(s, 1, added), 0);
    sim_flush(s, 1);
    sim_crash(s, added);
    s_commit_in(s, g, 2);
    sim_final_check(s);
    sim_destroy(&s);
}

/* A named log's learner that group 0 has not promoted yet does not keep
   the idle log awake (only group 0's learners wait to be promoted by
   their own group): the log goes quiet once it has caught up, and is
   woken when group 0 promotes it. */
static void test_a_logs_learner_does_not_keep_it_awake(void **state)
{
    (void)state;
    uint64_t g = 0, added = 0;
    sim_t *s = s_one_voter_and_a_learner(4243, true, true, &g, &added);
    bool quiet_with_learner = false;
    for (unsigned t = 0; t < 5000 && !quiet_with_learner; t++) {
        s_write_and_run(s, 1, 50000 + t, 1);
        size_t z = 0, n = 0;
        const rl_member_t *zm = rl_raft_committed_members(sim_raft(s, 1), &z);
        rl_raft_t *log = sim_group_raft(s, 1, g);
        rl_raft_members(log, &n);
        quiet_with_learner =
            n == 2 && !s_voter_in(zm, z, added) && rl_raft_quiet(log);
    }
    assert_true(quiet_with_learner);
    /* node 2 comes near: group 0 promotes it, under writes still; the log
       follows */
    sim_set_faults(s, 0, 0, 1, 5);
    bool voter = false;
    for (unsigned t = 0; t < 10000 && !voter; t++) {
        s_write_and_run(s, 1, 50000 + t, 1);
        size_t n = 0;
        const rl_member_t *lm =
            rl_raft_committed_members(sim_group_raft(s, 1, g), &n);
        voter = s_voter_in(lm, n, added);
    }
    assert_true(voter);
    s_commit_in(s, g, 2);
    sim_final_check(s);
    sim_destroy(&s);
}

/* A learner is promoted while its group takes a write at every tick, in
   group 0 (by its core) and in a named log (by the mirror): under steady
   writes the commit index moves on as fast as the one voter syncs, so a
   learner a hop behind is never seen at it, and only rounds (thesis
   4.2.1) let it through. */
static void test_a_learner_is_promoted_under_steady_writes(void **state)
{
    (void)state;
    uint64_t g = 0, added = 0;
    sim_t *s = s_one_voter_and_a_learner(4244, false, false, &g, &added);
    bool in_group_0 = false, in_log = false;
    unsigned writes = 0, t = 0;
    for (; t < 3000 && !(in_group_0 && in_log); t++) {
        rl_raft_proposal_t out;
        writes += sim_propose(s, 1, 60000 + t, 0, 0, &out) == 0;
        writes += sim_group_propose(s, 1, g, 70000 + t, 0, 0, &out) == 0;
        sim_flush(s, 1);
        sim_group_flush(s, 1, g);
        sim_run(s, 1);
        size_t z = 0, n = 0;
        const rl_member_t *zm = rl_raft_committed_members(sim_raft(s, 1), &z);
        const rl_member_t *lm =
            rl_raft_committed_members(sim_group_raft(s, 1, g), &n);
        in_group_0 = s_voter_in(zm, z, added);
        in_log = s_voter_in(lm, n, added);
    }
    assert_true(in_group_0);
    assert_true(in_log);
    assert_true(writes >= t); /* both were written at every tick */
    s_commit_in(s, g, 2);
    sim_final_check(s);
    sim_destroy(&s);
}

/* What befalls the learner in s_stale_rounds once it has caught up. */
typedef enum {
    S_SILENT,      /* cut off while the leader writes */
    S_SILENT_IDLE, /* cut off holding the leader's last index, no writes */
    S_LOST_LOG     /* restarts without its log */
} s_stale_t;

/* A learner is not promoted on the strength of rounds it ended before it
   stopped answering (S_SILENT: cut off for 15 ticks, more than an
   election timeout) or before it restarted without its log (S_LOST_LOG:
   it says so within a tick, and copying the long log again, an entry per
   message, takes it longer than an election timeout), nor on holding the
   commit index while it does not answer (S_SILENT_IDLE). Group 0 of
   three voters adds node 4 while its leader is cut off from the other
   voters, so the change cannot commit and the promotion waits; node 4
   catches up under writes, then the fault; then the change commits, at
   once up to the leader's last index (the S_SILENT learner's match is
   below it, the S_SILENT_IDLE one's at it). A silent learner stays one
   until it answers again; the emptied one is promoted only once it holds
   what the leader had when it restarted. */
static void s_stale_rounds(uint64_t seed, s_stale_t fault)
{
    bool lose_log = fault == S_LOST_LOG;
    sim_options_t o;
    sim_options_default(&o);
    o.nodes = 3;
    o.seed = seed;
    o.replay = g_replay;
    o.check_quorum = false; /* the leader cut off keeps leading */
    if (lose_log) {
        o.max_batch_entries = 1; /* a long log takes a learner ticks */
    }
    sim_t *s = sim_new(&o);
    uint64_t lead = sim_wait_leader(s, 3000);
    assert_true(lead != 0);
    unsigned written = 0;
    for (unsigned t = 0; t < (lose_log ? 20u : 0u); t++) {
        for (unsigned i = 0; i < 100; i++) {
            rl_raft_proposal_t out;
            written +=
                sim_propose(s, lead, 70000 + 100 * t + i, 0, 0, &out) == 0;
        }
        sim_flush(s, lead);
        sim_run(s, 50);
    }
    assert_true(written >= (lose_log ? 1000u : 0u));
    s_commit_in(s, 0, 1);
    uint64_t others[2], k = 0;
    for (uint64_t id = 1; id <= 3; id++) {
        if (id != lead) {
            others[k++] = id;
            sim_isolate(s, id);
        }
    }
    uint64_t added = sim_add_node(s);
    rl_member_t four = {added, false, rl_str("sim://4"), rl_str("sim://4")};
    assert_int_equal(rl_raft_add_member(sim_raft(s, lead), &four), 0);
    sim_flush(s, lead);
    rl_raft_status_t st, ls;
    unsigned after = 0; /* ticks since it caught up */
    for (unsigned t = 0; t < 2000 && after < 5; t++) {
        s_write_and_run(s, lead, 80000 + t, 10);
        sim_status(s, added, &st);
        sim_status(s, lead, &ls);
        after = st.persisted + 1 >= ls.last_index ? after + 1 : 0;
    }
    assert_int_equal(after, 5); /* it keeps up: its rounds end in time */
    if (fault == S_SILENT_IDLE) {
        sim_run(s, 50); /* the last writes reach it */
        sim_status(s, added, &st);
        sim_status(s, lead, &ls);
        assert_int_equal(st.persisted, ls.last_index);
    }
    uint64_t mark = ls.last_index;
    if (lose_log) {
        sim_crash_losing_everything(s, added);
        sim_restart(s, added);
        for (unsigned t = 0; t < 3; t++) { /* it says it has nothing */
            s_write_and_run(s, lead, 90000 + t, 10);
        }
    } else {
        sim_isolate(s, added);
        for (unsigned t = 0; t < 15; t++) {
            if (fault == S_SILENT) {
                s_write_and_run(s, lead, 90000 + t, 10);
            } else {
                sim_run(s, 10);
            }
        }
    }
    for (size_t i = 0; i < 2; i++) {
        sim_link(s, others[i], others[1 - i], true);
        sim_link(s, lead, others[i], true);
        sim_link(s, others[i], lead, true);
    }
    size_t n = 0;
    bool committed = false, voter = false, may_promote = lose_log;
    for (unsigned t = 0; t < 3000 && !voter; t++) {
        sim_run(s, 10);
        rl_raft_committed_members(sim_raft(s, lead), &n);
        committed = committed || n == 4;
        const rl_member_t *m = rl_raft_members(sim_raft(s, lead), &n);
        voter = s_voter_in(m, n, added);
        if (voter) {
            assert_true(may_promote); /* the silent one: not yet */
            sim_status(s, added, &st);
            assert_true(st.persisted >= mark);
        }
        if (!may_promote && t == 30) {
            assert_true(committed);
            if (fault == S_SILENT_IDLE) { /* it holds the commit index */
                sim_status(s, lead, &ls);
                assert_int_equal(ls.commit, mark);
            }
            sim_heal(s); /* it answers again */
            may_promote = true;
            mark = 0;
        }
    }
    assert_true(committed);
    assert_true(voter);
    assert_int_equal(sim_leader(s), lead);
    sim_final_check(s);
    sim_destroy(&s);
}

static void test_a_learner_that_stops_answering_is_not_promoted(void **state)
{
    (void)state;
    s_stale_rounds(4245, S_SILENT);
}

static void
test_a_learner_that_holds_the_commit_index_but_is_silent_is_not_promoted(
    void **state)
{
    (void)state;
    s_stale_rounds(4247, S_SILENT_IDLE);
}

static void
test_a_learner_that_lost_its_log_begins_its_rounds_again(void **state)
{
    (void)state;
    s_stale_rounds(4246, S_LOST_LOG);
}

/* Calls rl_raft_mirror on group's leader with target (at at) until it
   makes a change (the previous one commits first); returns it. */
static rl_raft_mirror_t s_mirror_until(sim_t *s, uint64_t group,
                                       const rl_member_t *target, size_t n,
                                       uint64_t at, uint64_t *id)
{
    for (unsigned t = 0; t < 5000; t++) {
        uint64_t l = sim_group_leader(s, group);
        if (l) {
            rl_raft_t *r = sim_group_raft(s, l, group);
            size_t before = 0;
            const rl_member_t *m = rl_raft_members(r, &before);
            rl_member_t old[RL_MAX_MEMBERS];
            memcpy(old, m, before * sizeof(*m));
            rl_raft_mirror_t done = RL_RAFT_MIRROR_NONE;
            rl_raft_mirror(r, target, n, at, &done);
            if (done != RL_RAFT_MIRROR_NONE) {
                size_t after = 0;
                m = rl_raft_members(r, &after);
                *id = 0; /* the member whose entry changed */
                for (size_t i = 0; i < after && !*id; i++) {
                    if (!s_voter_in(old, before, m[i].id) && m[i].voter) {
                        *id = m[i].id;
                    }
                }
                for (size_t i = 0; i < before && !*id; i++) {
                    bool still = false;
                    for (size_t k = 0; k < after; k++) {
                        still = still || m[k].id == old[i].id;
                    }
                    *id = still ? 0 : old[i].id;
                }
                sim_flush(s, l);
                return done;
            }
        }
        sim_run(s, 1);
    }
    fail_msg("group %llu makes no change", (unsigned long long)group);
    return RL_RAFT_MIRROR_NONE;
}

/* A learner that has caught up is promoted before a removal (the group
   is never smaller than it needs); one that is down is not waited for
   (rl_raft_mirror answers 0, not BUSY, so the host stops asking at every
   tick) and holds no removal back. The targets are made up, stamped
   past group 0's real ones so that the hosts' own mirroring leaves the
   log alone. */
static void test_a_caught_up_learner_is_promoted_before_a_removal(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 843, false);
    uint64_t g = s_create(s, "a");
    s_commit_in(s, g, 1);
    uint64_t added = sim_add_node(s);
    rl_member_t four = {added, false, rl_str("sim://4"), rl_str("sim://4")};
    for (unsigned t = 0; t < 50; t++) {
        uint64_t l = sim_wait_leader(s, 3000);
        if (rl_raft_add_member(sim_raft(s, l), &four) == 0) {
            sim_flush(s, l);
            break;
        }
        sim_run(s, 50);
    }
    s_wait_everywhere(s, g, true); /* node 4 hosts the log */
    uint64_t at = 1000;
    rl_member_t t[4];
    for (int i = 0; i < 3; i++) {
        t[i] =
            (rl_member_t){(uint64_t)i + 1, true, rl_str("sim"), rl_str("sim")};
    }
    t[3] = four; /* a learner */
    uint64_t id = 0;
    rl_raft_mirror_t done;
    /* {1, 2, 3, 4 learner}: node 4 a learner of the log, as of at */
    done = s_mirror_until(s, g, t, 4, at, &id);
    if (done == RL_RAFT_MIRROR_REMOVE) { /* it was a voter already */
        assert_int_equal(id, added);
        done = s_mirror_until(s, g, t, 4, at, &id);
    }
    assert_true(done == RL_RAFT_MIRROR_ADD || done == RL_RAFT_MIRROR_STAMP);
    size_t n = 0;
    const rl_member_t *m =
        rl_raft_members(sim_group_raft(s, sim_group_leader(s, g), g), &n);
    assert_int_equal(n, 4);
    assert_false(s_voter_in(m, n, added));
    s_commit_in(s, g, 2); /* node 4 has it all */
    sim_run(s, 200);
    /* {1, 2, 4}: 4 promoted first, then 3 removed */
    rl_member_t u[3] = {t[0], t[1], t[3]};
    u[2].voter = true;
    assert_int_equal(s_mirror_until(s, g, u, 3, at, &id),
                     RL_RAFT_MIRROR_PROMOTE);
    assert_int_equal(id, added);
    assert_int_equal(s_mirror_until(s, g, u, 3, at, &id),
                     RL_RAFT_MIRROR_REMOVE);
    assert_int_equal(id, 3);
    /* node 4 a learner again, then down: a target with it as a voter
       is not waited for */
    u[2].voter = false;
    assert_int_equal(s_mirror_until(s, g, u, 3, ++at, &id),
                     RL_RAFT_MIRROR_REMOVE);
    assert_int_equal(s_mirror_until(s, g, u, 3, at, &id), RL_RAFT_MIRROR_ADD);
    sim_crash(s, added);
    s_commit_in(s, g, 3);
    sim_run(s, 3000); /* an election timeout and more: not heard from */
    u[2].voter = true;
    uint64_t l = sim_group_wait_leader(s, g, 3000);
    rl_raft_t *r = sim_group_raft(s, l, g);
    assert_int_equal(rl_raft_mirror(r, u, 3, at, &done), 0);
    assert_int_equal(done, RL_RAFT_MIRROR_NONE);
    assert_int_equal(rl_raft_mirror(r, u, 3, at + 1, &done), 0);
    assert_int_equal(done, RL_RAFT_MIRROR_STAMP);
    sim_flush(s, l);
    s_commit_in(s, g, 4);
    /* No final check: the made-up stamps keep the log from following
       group 0 again, on purpose (the safety invariants held at every
       step). */
    sim_destroy(&s);
}

/* Group 0 of four whose fourth voter went down before the log promoted
   it: removing a third voter would leave the log two voters while group
   0 keeps three, and one more lost node would then stop the log alone.
   Group 0 waits (BUSY); removing the node that is down is allowed, and
   then the third. */
static void test_a_log_keeps_group_0s_fault_tolerance(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 77, false);
    s_lead_group_0(s, 1);
    uint64_t g = s_create(s, "a");
    s_commit_in(s, g, 1);
    uint64_t added = sim_add_node(s);
    rl_member_t four = {added, false, rl_str("sim://4"), rl_str("sim://4")};
    assert_int_equal(rl_raft_add_member(sim_raft(s, 1), &four), 0);
    sim_flush(s, 1);
    size_t n = 0;
    const rl_member_t *m = NULL;
    for (unsigned t = 0; t < 20000; t++) {
        m = rl_raft_committed_members(sim_raft(s, 1), &n);
        if (s_voter_in(m, n, added)) {
            break;
        }
        sim_run(s, 1);
    }
    assert_true(s_voter_in(m, n, added));
    sim_crash(s, added); /* before the log promotes it */
    uint64_t gl = sim_group_wait_leader(s, g, 3000);
    m = rl_raft_members(sim_group_raft(s, gl, g), &n);
    assert_false(s_voter_in(m, n, added));
    for (unsigned t = 0; t < 3000; t++) {
        assert_int_equal(sim_remove_member(s, 1, 3), RL_ERR_BUSY);
        sim_run(s, 1);
    }
    s_remove_from_group_0(s, added);
    s_remove_from_group_0(s, 3);
    bool mirrored = false;
    for (unsigned t = 0; t < 10000 && !mirrored; t += 10) {
        sim_run(s, 10);
        gl = sim_group_leader(s, g);
        m = gl ? rl_raft_committed_members(sim_group_raft(s, gl, g), &n) : NULL;
        mirrored = m && n == 2 && s_voter_in(m, n, 1) && s_voter_in(m, n, 2);
    }
    assert_true(mirrored);
    s_commit_in(s, g, 2);
    sim_final_check(s);
    sim_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_created_log_gets_a_group_on_every_node),
        cmocka_unit_test(test_a_deleted_log_is_destroyed_on_every_node),
        cmocka_unit_test(test_a_node_restarting_while_leading_several_logs),
        cmocka_unit_test(test_idle_groups_cost_the_same_whatever_their_number),
        cmocka_unit_test(test_quiet_groups_wake_when_a_node_dies),
        cmocka_unit_test(test_group_0s_membership_is_mirrored_into_every_log),
        cmocka_unit_test(test_a_logs_leader_never_mirrors_an_older_group_0),
        cmocka_unit_test(test_a_log_promotes_only_group_0s_voters),
        cmocka_unit_test(test_a_log_keeps_group_0s_fault_tolerance),
        cmocka_unit_test(test_a_logs_learner_does_not_keep_it_awake),
        cmocka_unit_test(test_a_learner_is_promoted_under_steady_writes),
        cmocka_unit_test(test_a_learner_that_stops_answering_is_not_promoted),
        cmocka_unit_test(
            test_a_learner_that_holds_the_commit_index_but_is_silent_is_not_promoted),
        cmocka_unit_test(
            test_a_learner_that_lost_its_log_begins_its_rounds_again),
        cmocka_unit_test(test_a_caught_up_learner_is_promoted_before_a_removal),
        cmocka_unit_test(
            test_a_lagging_node_creates_its_groups_from_a_snapshot),
        cmocka_unit_test(test_a_deleted_log_does_not_come_back_after_a_restart),
        cmocka_unit_test(test_logs_are_created_and_deleted_under_faults),
        cmocka_unit_test(test_a_new_log_is_led_by_its_first_leader_at_once),
        cmocka_unit_test(test_a_new_log_gets_a_leader_without_its_first_leader),
        cmocka_unit_test(
            test_a_node_removed_from_group_0_cannot_win_a_logs_election),
        cmocka_unit_test(
            test_group_0_keeps_two_voters_while_a_named_log_exists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  test_sim_catalog.c - the catalog of named logs in the simulated
    cluster (group 0 alone): logs created, deleted and configured through
    the leader, known to every server and to the next leader, carried by
    snapshots, under faults. sim.h checks after every step that the
    catalog changes only by catalog entries, that servers at one commit
    index hold one catalog, that a group id always names one log, and that
    every change handed to the host is committed, durable there and in
    order; each test asserts what its name claims.
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

static char g_replay[256];

static sim_t *s_cluster(unsigned nodes, uint64_t seed)
{
    sim_options_t o;
    sim_options_default(&o);
    o.nodes = nodes;
    o.seed = seed;
    o.replay = g_replay;
    return sim_new(&o);
}

/* Runs until node id's commit index reaches index. */
static void s_wait_commit_on(sim_t *s, uint64_t id, uint64_t index)
{
    rl_raft_status_t st;
    for (unsigned t = 0; t < 3000; t++) {
        sim_status(s, id, &st);
        if (st.commit >= index) {
            return;
        }
        sim_run(s, 1);
    }
    fail_msg("node %llu does not commit %llu", (unsigned long long)id,
             (unsigned long long)index);
}

/* A catalog call to the leader, waited for until the leader has
   committed it (and every live node it can reach); returns the call's
   result. */
static int s_log(sim_t *s, rl_raft_log_verb_t verb, const char *name,
                 uint64_t retention_bytes)
{
    uint64_t l = sim_wait_leader(s, 3000);
    assert_true(l != 0);
    /* a new leader answers BUSY until its first commit */
    rl_raft_status_t st;
    sim_status(s, l, &st);
    s_wait_commit_on(s, l, st.last_index);
    rl_raft_log_settings_t settings = {retention_bytes, 0, 0};
    rl_raft_proposal_t out;
    int rc = sim_log(s, l, verb, name, &settings, &out);
    if (rc == 0) {
        s_wait_commit_on(s, l, out.last);
        assert_int_equal(sim_term_at(s, l, out.last), out.term);
        sim_run(s, 200); /* the followers it reaches learn it */
    }
    return rc;
}

/* The group of log name on every live node, which must agree; 0 when no
   node has it. */
static uint64_t s_group_everywhere(sim_t *s, const char *name)
{
    uint64_t agreed = 0;
    bool first = true;
    for (uint64_t id = 1; id <= sim_node_count(s); id++) {
        if (!sim_up(s, id)) {
            continue;
        }
        rl_raft_log_info_t log;
        uint64_t here = sim_log_find(s, id, name, &log) ? log.group : 0;
        if (!first && here != agreed) {
            fail_msg("node %llu has %s as group %llu, another node as %llu",
                     (unsigned long long)id, name, (unsigned long long)here,
                     (unsigned long long)agreed);
        }
        agreed = here;
        first = false;
    }
    return agreed;
}

static void test_a_created_log_is_in_every_servers_catalog(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 501);
    assert_int_equal(s_group_everywhere(s, "orders"), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "orders", 1 << 20), 0);
    assert_int_equal(s_group_everywhere(s, "orders"), 1);
    for (uint64_t id = 1; id <= 3; id++) {
        rl_raft_log_info_t log;
        assert_true(sim_log_find(s, id, "orders", &log));
        assert_int_equal(log.settings.retention_bytes, 1 << 20);
        /* the group starts with group 0's configuration as of its create */
        assert_int_equal(log.member_count, 3);
        for (size_t m = 0; m < 3; m++) {
            assert_int_equal(log.member_ids[m], m + 1);
            assert_true(log.member_voters[m]);
        }
        /* and every host was handed the creation once */
        size_t count = 0;
        const rl_raft_log_change_t *c = sim_log_changes(s, id, &count);
        assert_int_equal(count, 1);
        assert_int_equal(c[0].verb, RL_RAFT_LOG_CREATE);
        assert_int_equal(c[0].log.group, 1);
        assert_int_equal(c[0].index, log.created);
        assert_string_equal(c[0].log.name, "orders");
    }
    sim_destroy(&s);
}

static void test_group_ids_are_never_reused(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 502);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "a", 0), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "b", 0), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_DELETE, "a", 0), 0);
    assert_int_equal(s_group_everywhere(s, "a"), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_DELETE, "a", 0), RL_ERR_REJECTED);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "a", 0), 0);
    assert_int_equal(s_group_everywhere(s, "a"), 3);
    assert_int_equal(s_group_everywhere(s, "b"), 2);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "b", 0), RL_ERR_REJECTED);
    size_t count = 0;
    const rl_raft_log_change_t *c = sim_log_changes(s, 2, &count);
    assert_int_equal(count, 4);
    const uint8_t verbs[] = {RL_RAFT_LOG_CREATE, RL_RAFT_LOG_CREATE,
                             RL_RAFT_LOG_DELETE, RL_RAFT_LOG_CREATE};
    const uint64_t groups[] = {1, 2, 1, 3};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(c[i].verb, verbs[i]);
        assert_int_equal(c[i].log.group, groups[i]);
    }
    sim_destroy(&s);
}

static void test_settings_change_on_every_server(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 503);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "metrics", 100), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CONFIGURE, "metrics", 200), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CONFIGURE, "nothing", 200),
                     RL_ERR_REJECTED);
    for (uint64_t id = 1; id <= 3; id++) {
        rl_raft_log_info_t log;
        assert_true(sim_log_find(s, id, "metrics", &log));
        assert_int_equal(log.settings.retention_bytes, 200);
        assert_int_equal(log.group, 1);
        size_t count = 0;
        const rl_raft_log_change_t *c = sim_log_changes(s, id, &count);
        assert_int_equal(count, 2);
        assert_int_equal(c[1].verb, RL_RAFT_LOG_CONFIGURE);
        assert_int_equal(c[1].log.settings.retention_bytes, 200);
    }
    sim_destroy(&s);
}

static void test_a_new_leader_knows_the_catalog(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 504);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "a", 0), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "b", 0), 0);
    uint64_t old = sim_leader(s);
    sim_crash(s, old);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "a", 0), RL_ERR_REJECTED);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "c", 0), 0);
    assert_int_equal(s_group_everywhere(s, "c"), 3);
    sim_restart(s, old);
    rl_raft_status_t st;
    sim_status(s, sim_leader(s), &st);
    assert_true(sim_wait_commit(s, st.commit, 3000));
    assert_int_equal(s_group_everywhere(s, "c"), 3);
    sim_final_check(s);
    sim_destroy(&s);
}

/* The whole cluster restarts: the catalog is read back from the log (and
   the commit index learnt again), with its next id. */
static void test_the_catalog_survives_a_restart_of_every_server(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 505);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "a", 0), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "b", 0), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_DELETE, "b", 0), 0);
    sim_compact(s, 1); /* node 1 restarts from a snapshot */
    for (uint64_t id = 1; id <= 3; id++) {
        sim_crash(s, id);
    }
    for (uint64_t id = 1; id <= 3; id++) {
        sim_restart(s, id);
    }
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "c", 0), 0);
    assert_int_equal(s_group_everywhere(s, "a"), 1);
    assert_int_equal(s_group_everywhere(s, "b"), 0);
    assert_int_equal(s_group_everywhere(s, "c"), 3);
    sim_destroy(&s);
}

/* A server cut off while logs are made and deleted gets the catalog, with
   its next id, by snapshot: its host reconciles with it (no changes are
   handed out for what the snapshot covers). */
static void test_a_lagging_follower_gets_the_catalog_by_snapshot(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 506);
    uint64_t l = sim_wait_leader(s, 2000);
    uint64_t lagging = l == 3 ? 2 : 3;
    sim_isolate(s, lagging);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "a", 0), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "b", 0), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "c", 0), 0);
    assert_int_equal(s_log(s, RL_RAFT_LOG_DELETE, "a", 0), 0);
    l = sim_leader(s);
    assert_int_equal(sim_compact(s, l), 0);
    sim_heal(s);
    rl_raft_status_t st;
    sim_status(s, l, &st);
    assert_true(sim_wait_commit(s, st.commit, 3000));
    rl_raft_status_t lag;
    sim_status(s, lagging, &lag);
    assert_true(lag.snapshot_index >= st.snapshot_index);
    assert_int_equal(lag.next_group, 4);
    assert_int_equal(lag.log_count, 2);
    assert_int_equal(s_group_everywhere(s, "a"), 0);
    assert_int_equal(s_group_everywhere(s, "c"), 3);
    size_t count = 0;
    sim_log_changes(s, lagging, &count);
    assert_int_equal(count, 0);
    /* and ids go on from there, whoever leads */
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "a", 0), 0);
    assert_int_equal(s_group_everywhere(s, "a"), 4);
    sim_destroy(&s);
}

/* A create appended by a leader cut off from the others never commits:
   it is truncated away, and takes no id. */
static void test_a_truncated_create_takes_no_id(void **state)
{
    (void)state;
    sim_t *s = s_cluster(3, 507);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "a", 0), 0);
    uint64_t old = sim_leader(s);
    sim_isolate(s, old);
    rl_raft_proposal_t out;
    assert_int_equal(sim_log(s, old, RL_RAFT_LOG_CREATE, "lost", NULL, &out),
                     0);
    sim_run(s, 2000);
    uint64_t l = sim_leader(s);
    assert_true(l != 0 && l != old);
    assert_int_equal(s_log(s, RL_RAFT_LOG_CREATE, "kept", 0), 0);
    sim_heal(s);
    rl_raft_status_t st;
    sim_status(s, l, &st);
    assert_true(sim_wait_commit(s, st.commit, 3000));
    assert_int_equal(s_group_everywhere(s, "lost"), 0);
    assert_int_equal(s_group_everywhere(s, "kept"), 2);
    assert_true(sim_committed_term(s, out.last) != out.term);
    sim_destroy(&s);
}

/* Is node id at the highest term any node reached? A leader cut off
   and not yet stepped down (a newer term exists) may lack calls
   acknowledged since: it refuses them, and the client asks again. */
static bool s_newest_term(sim_t *s, uint64_t id)
{
    rl_raft_status_t st;
    sim_status(s, id, &st);
    return st.term >= sim_max_term(s);
}

/* Create, delete and configure through the leaders under crashes,
   partitions, drops, duplicates, slow disks and compaction: at the end
   every member holds the catalog the acknowledged calls make, with ids
   in the order of their creation. */
static void test_the_catalog_holds_under_faults(void **state)
{
    (void)state;
    static const char *const names[] = {"a", "b.c", "d_e", "f-9"};
    enum { NAMES = 4 };
    const char *many = getenv("RL_SIM_SEEDS");
    uint64_t seeds = many ? strtoull(many, NULL, 10) : 12;
    uint64_t total = 0;
    for (uint64_t seed = 600; seed < 600 + seeds; seed++) {
        snprintf(g_replay, sizeof(g_replay),
                 "build/test/tests/sim/test_sim_catalog (seed %%llu of "
                 "test_the_catalog_holds_under_faults)");
        sim_options_t o;
        sim_options_default(&o);
        o.seed = seed;
        o.replay = g_replay;
        o.nodes = seed % 2 ? 3 : 5;
        o.disk_delay = (unsigned)(seed % 3);
        o.snapshot_chunk = 16 + seed % 32;
        sim_t *s = sim_new(&o);
        /* model: the acknowledged state of each name */
        bool exists[NAMES] = {false};
        uint64_t retention[NAMES] = {0};
        /* one call at a time, appended again only once lost for sure (its
           index committed with another term): a call is never judged
           twice, so a leader of the newest term never refuses one */
        int busy = -1;
        rl_raft_log_verb_t verb = RL_RAFT_LOG_CREATE;
        uint64_t value = 0;
        uint64_t at = 0, term = 0;
        unsigned acked = 0;
        unsigned creates = 0; /* appended: each takes at most one id */
        for (unsigned step = 0; step < 400; step++) {
            uint64_t r = sim_random(s, 100);
            uint64_t id = 1 + sim_random(s, sim_node_count(s));
            if (r < 4) {
                sim_crash(s, id);
            } else if (r < 10) {
                sim_restart(s, id);
            } else if (r < 13) {
                sim_isolate(s, id);
            } else if (r < 20) {
                sim_heal(s);
            } else if (r < 23) {
                sim_set_faults(s, (unsigned)sim_random(s, 20),
                               (unsigned)sim_random(s, 10), 1,
                               1 + (unsigned)sim_random(s, 20));
            } else if (r < 27) {
                sim_compact(s, id);
            }
            if (at != 0) {
                uint64_t t = sim_committed_term(s, at);
                if (t == term) {
                    if (verb == RL_RAFT_LOG_CREATE) {
                        exists[busy] = true;
                        retention[busy] = value;
                    } else if (verb == RL_RAFT_LOG_DELETE) {
                        exists[busy] = false;
                    } else {
                        retention[busy] = value;
                    }
                    acked++;
                    busy = -1;
                    at = 0;
                } else if (t != 0) {
                    at = 0; /* lost: the same call again */
                }
            }
            uint64_t l = sim_leader(s);
            if (l && at == 0) {
                if (busy < 0) {
                    busy = (int)sim_random(s, NAMES);
                    value = sim_random(s, 1000);
                    verb = !exists[busy]      ? RL_RAFT_LOG_CREATE
                           : sim_random(s, 2) ? RL_RAFT_LOG_DELETE
                                              : RL_RAFT_LOG_CONFIGURE;
                }
                /* The simulation holds SIM_MAX_GROUPS groups: enough ids
                   for one seed, then changes of settings only. */
                if (verb == RL_RAFT_LOG_CREATE &&
                    creates >= SIM_MAX_GROUPS - 8) {
                    busy = -1;
                    sim_run(s, 10);
                    continue;
                }
                rl_raft_log_settings_t set = {value, 0, 0};
                rl_raft_proposal_t out;
                int rc = sim_log(s, l, verb, names[busy], &set, &out);
                if (rc == 0) {
                    at = out.last;
                    term = out.term;
                    creates += verb == RL_RAFT_LOG_CREATE;
                } else if (rc == RL_ERR_REJECTED && s_newest_term(s, l)) {
                    fail_msg("seed %llu: the leader refused %s of %s",
                             (unsigned long long)seed,
                             verb == RL_RAFT_LOG_CREATE   ? "a create"
                             : verb == RL_RAFT_LOG_DELETE ? "a delete"
                                                          : "a change",
                             names[busy]);
                }
            }
            sim_run(s, 10);
        }
        sim_final_check(s);
        if (at != 0 && sim_committed_term(s, at) == term) {
            if (verb == RL_RAFT_LOG_CREATE) {
                exists[busy] = true;
                retention[busy] = value;
            } else if (verb == RL_RAFT_LOG_DELETE) {
                exists[busy] = false;
            } else {
                retention[busy] = value;
            }
        }
        uint64_t l = sim_leader(s);
        rl_raft_status_t st;
        sim_status(s, l, &st);
        assert_true(sim_wait_commit(s, st.commit, 5000));
        for (uint64_t id = 1; id <= sim_node_count(s); id++) {
            for (int k = 0; k < NAMES; k++) {
                rl_raft_log_info_t log;
                bool here = sim_log_find(s, id, names[k], &log);
                if (here != exists[k] ||
                    (here && log.settings.retention_bytes != retention[k])) {
                    fail_msg("seed %llu: log %s is %s on node %llu; the "
                             "acknowledged calls make it %s",
                             (unsigned long long)seed, names[k],
                             here ? "there" : "absent", (unsigned long long)id,
                             exists[k] ? "there" : "absent");
                }
            }
            /* ids in the order of creation */
            size_t count = 0;
            const rl_raft_log_info_t *t = rl_raft_logs(sim_raft(s, id), &count);
            for (size_t i = 0; i < count; i++) {
                for (size_t j = 0; j < count; j++) {
                    if (t[i].created < t[j].created &&
                        t[i].group >= t[j].group) {
                        fail_msg("seed %llu: %s created before %s has a "
                                 "higher id",
                                 (unsigned long long)seed, t[i].name,
                                 t[j].name);
                    }
                }
            }
        }
        total += acked;
        sim_destroy(&s);
    }
    /* The schedule leaves room for work: five calls a seed on average. */
    if (total < 5 * seeds) {
        fail_msg("%llu catalog calls acknowledged over %llu seeds",
                 (unsigned long long)total, (unsigned long long)seeds);
    }
}

int main(void)
{
    snprintf(g_replay, sizeof(g_replay),
             "build/test/tests/sim/test_sim_catalog (deterministic scenario, "
             "seed %%llu)");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_created_log_is_in_every_servers_catalog),
        cmocka_unit_test(test_group_ids_are_never_reused),
        cmocka_unit_test(test_settings_change_on_every_server),
        cmocka_unit_test(test_a_new_leader_knows_the_catalog),
        cmocka_unit_test(test_the_catalog_survives_a_restart_of_every_server),
        cmocka_unit_test(test_a_lagging_follower_gets_the_catalog_by_snapshot),
        cmocka_unit_test(test_a_truncated_create_takes_no_id),
        cmocka_unit_test(test_the_catalog_holds_under_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

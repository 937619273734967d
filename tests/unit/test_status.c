/*  test_status.c - STATUS assembly (node/rl_status.h): the STATUS_OK a
    node builds from its core's state, its configuration, its contacts,
    its fsync latencies and its counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include <string.h>

#include "rl_status.h"

static rl_member_t s_members[3] = {
    {1, true, {"tcp://a:1", 9}, {"tcp://a:2", 9}},
    {2, true, {"tcp://b:1", 9}, {"tcp://b:2", 9}},
    {3, false, {"tcp://c:1", 9}, {"tcp://c:2", 9}},
};

/* A STATUS input for node 1 of s_members, as leader at term 4. */
static void s_input(rl_status_input_t *in, const uint64_t *match,
                    rl_contacts_t *contacts, rl_latencies_t *latencies)
{
    memset(in, 0, sizeof(*in));
    in->node_id = 1;
    in->raft.role = RL_RAFT_LEADER;
    in->raft.term = 4;
    in->raft.leader = 1;
    in->raft.commit = 90;
    in->raft.last_index = 100;
    in->raft.persisted = 98;
    in->raft.member = true;
    in->raft.voter = true;
    in->members = s_members;
    in->member_count = 3;
    in->match = match;
    in->contacts = contacts;
    in->latencies = latencies;
    in->first = 1;
    in->last = 100;
    in->now = 5000;
}

static uint64_t s_counter(const rl_status_ok_t *s, const char *name)
{
    for (size_t i = 0; i < s->counter_count; i++)
        if (s->counters[i].name.size == strlen(name) &&
            memcmp(s->counters[i].name.ptr, name, s->counters[i].name.size) ==
                0)
            return s->counters[i].value;
    fail_msg("no counter %s", name);
    return 0;
}

static void
test_a_leader_reports_matches_contacts_and_the_largest_lag(void **state)
{
    (void)state;
    uint64_t match[3] = {0, 95, 60};
    rl_contacts_t contacts = {0};
    rl_contacts_touch(&contacts, 2, 4900);
    rl_latencies_t latencies = {0};
    rl_status_input_t in;
    s_input(&in, match, &contacts, &latencies);
    static rl_status_reply_t reply;
    rl_status_build(&in, 42, &reply);
    const rl_status_ok_t *s = &reply.msg.body.status_ok;
    assert_int_equal(reply.msg.type, RL_MSG_STATUS_OK);
    assert_int_equal(reply.msg.id, 42);
    assert_int_equal(s->id, 1);
    assert_int_equal(s->term, 4);
    assert_int_equal(s->member_count, 3);
    /* This node reports what it has made durable, and no contact gap. */
    assert_int_equal(s->members[0].match_index, 98);
    assert_int_equal(s->members[0].last_contact_ms, 0);
    assert_int_equal(s->members[1].match_index, 95);
    assert_int_equal(s->members[1].last_contact_ms, 100);
    assert_int_equal(s->members[2].last_contact_ms, -1);
    assert_int_equal(s_counter(s, "replication_lag"), 40);
    assert_int_equal(s->role.size, strlen("leader"));
}

static void test_a_follower_reports_no_lag(void **state)
{
    (void)state;
    uint64_t match[3] = {0, 0, 0};
    rl_contacts_t contacts = {0};
    rl_latencies_t latencies = {0};
    rl_status_input_t in;
    s_input(&in, match, &contacts, &latencies);
    in.raft.role = RL_RAFT_FOLLOWER;
    static rl_status_reply_t reply;
    rl_status_build(&in, 1, &reply);
    assert_int_equal(s_counter(&reply.msg.body.status_ok, "replication_lag"),
                     0);
}

static void test_roles_are_spelt_as_the_protocol_says(void **state)
{
    (void)state;
    uint64_t match[3] = {0};
    rl_contacts_t contacts = {0};
    rl_latencies_t latencies = {0};
    rl_status_input_t in;
    s_input(&in, match, &contacts, &latencies);
    static rl_status_reply_t reply;
    in.raft.role = RL_RAFT_FOLLOWER;
    in.raft.voter = false;
    rl_status_build(&in, 1, &reply);
    rl_str_t role = reply.msg.body.status_ok.role;
    assert_memory_equal(role.ptr, "learner", role.size);
    in.raft.role = RL_RAFT_PRE_CANDIDATE;
    in.raft.voter = true;
    rl_status_build(&in, 1, &reply);
    role = reply.msg.body.status_ok.role;
    assert_int_equal(role.size, strlen("precandidate"));
    assert_memory_equal(role.ptr, "precandidate", role.size);
}

static void test_fsync_percentiles_come_from_the_recent_latencies(void **state)
{
    (void)state;
    uint64_t match[3] = {0};
    rl_contacts_t contacts = {0};
    rl_latencies_t latencies = {0};
    static rl_status_reply_t reply;
    rl_status_input_t in;
    s_input(&in, match, &contacts, &latencies);
    rl_status_build(&in, 1, &reply);
    assert_int_equal(s_counter(&reply.msg.body.status_ok, "fsync_max_us"), 0);
    /* 1..100 us, then more than the window holds: only the last count. */
    for (int i = 1; i <= 100; i++)
        rl_latencies_add(&latencies, i);
    rl_status_build(&in, 1, &reply);
    const rl_status_ok_t *s = &reply.msg.body.status_ok;
    assert_int_equal(s_counter(s, "fsync_p50_us"), 51);
    assert_int_equal(s_counter(s, "fsync_p99_us"), 100);
    assert_int_equal(s_counter(s, "fsync_max_us"), 100);
    for (int i = 0; i < RL_STATUS_LATENCIES; i++)
        rl_latencies_add(&latencies, 7);
    rl_status_build(&in, 1, &reply);
    assert_int_equal(s_counter(&reply.msg.body.status_ok, "fsync_max_us"), 7);
}

static void test_counters_carry_the_nodes_figures_by_name(void **state)
{
    (void)state;
    uint64_t match[3] = {0};
    rl_contacts_t contacts = {0};
    rl_latencies_t latencies = {0};
    rl_status_input_t in;
    s_input(&in, match, &contacts, &latencies);
    in.counters.append_requests = 11;
    in.counters.bad_requests = 3;
    in.counters.pending_requests = 7;
    in.counters.uptime_ms = 1234;
    static rl_status_reply_t reply;
    rl_status_build(&in, 1, &reply);
    const rl_status_ok_t *s = &reply.msg.body.status_ok;
    assert_int_equal(s_counter(s, "append_requests"), 11);
    assert_int_equal(s_counter(s, "bad_requests"), 3);
    assert_int_equal(s_counter(s, "pending_requests"), 7);
    assert_int_equal(s_counter(s, "uptime_ms"), 1234);
    assert_true(s->counter_count <= RL_STATUS_MAX_COUNTERS);
}

static void
test_a_forgotten_contact_frees_its_row_without_duplicates(void **state)
{
    (void)state;
    rl_contacts_t contacts = {0};
    rl_contacts_touch(&contacts, 2, 10);
    rl_contacts_touch(&contacts, 3, 20);
    rl_contacts_touch(&contacts, 4, 30);
    rl_contacts_forget(&contacts, 2);
    assert_int_equal(rl_contacts_since(&contacts, 2, 100), -1);
    /* 4 moved into 2's row; touching it again must not add a second. */
    rl_contacts_touch(&contacts, 4, 50);
    rl_contacts_forget(&contacts, 4);
    assert_int_equal(rl_contacts_since(&contacts, 4, 100), -1);
    assert_int_equal(rl_contacts_since(&contacts, 3, 100), 80);
    for (uint64_t id = 10; id < 10 + RL_MAX_MEMBERS; id++)
        rl_contacts_touch(&contacts, id, 60);
    assert_int_equal(rl_contacts_since(&contacts, 3, 100), 80);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_a_leader_reports_matches_contacts_and_the_largest_lag),
        cmocka_unit_test(test_a_follower_reports_no_lag),
        cmocka_unit_test(test_roles_are_spelt_as_the_protocol_says),
        cmocka_unit_test(test_fsync_percentiles_come_from_the_recent_latencies),
        cmocka_unit_test(test_counters_carry_the_nodes_figures_by_name),
        cmocka_unit_test(
            test_a_forgotten_contact_frees_its_row_without_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

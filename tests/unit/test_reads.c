/*  test_reads.c - read planning (node/rl_reads.h): what a node does with
    a READ_REQUEST given the first index it retains and the commit index,
    and how Raft's own entries are skipped without a gap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include "rl_reads.h"

static rl_read_request_t s_req(uint64_t from, uint32_t max_entries,
                               uint32_t max_bytes, uint32_t wait_ms)
{
    return (rl_read_request_t){from, max_entries, max_bytes, wait_ms};
}

static void test_reading_from_zero_or_below_the_log_is_refused(void **state)
{
    (void)state;
    rl_read_plan_t plan;
    rl_read_request_t req = s_req(0, 0, 0, 0);
    assert_int_equal(rl_read_plan(&req, 1, 10, true, &plan), RL_READ_BAD_FROM);
    req = s_req(4, 0, 0, 0);
    assert_int_equal(rl_read_plan(&req, 5, 10, true, &plan),
                     RL_READ_BELOW_FIRST);
}

static void test_a_long_poll_past_the_commit_index_waits(void **state)
{
    (void)state;
    rl_read_plan_t plan;
    rl_read_request_t req = s_req(11, 0, 0, 500);
    assert_int_equal(rl_read_plan(&req, 1, 10, true, &plan), RL_READ_WAIT);
    /* Its time is up: answered, empty. */
    assert_int_equal(rl_read_plan(&req, 1, 10, false, &plan), RL_READ_NOW);
    assert_int_equal(plan.count, 0);
    assert_int_equal(plan.from, 11);
}

static void test_a_read_without_wait_past_the_commit_answers_empty(void **state)
{
    (void)state;
    rl_read_plan_t plan;
    rl_read_request_t req = s_req(11, 0, 0, 0);
    assert_int_equal(rl_read_plan(&req, 1, 10, true, &plan), RL_READ_NOW);
    assert_int_equal(plan.count, 0);
}

static void test_a_read_takes_what_is_committed_up_to_its_limits(void **state)
{
    (void)state;
    rl_read_plan_t plan;
    rl_read_request_t req = s_req(3, 0, 0, 0);
    assert_int_equal(rl_read_plan(&req, 1, 10, true, &plan), RL_READ_NOW);
    assert_int_equal(plan.from, 3);
    assert_int_equal(plan.count, 8);
    assert_int_equal(plan.max_bytes, RL_READ_DEFAULT_BYTES);
    req = s_req(3, 2, 100, 0);
    rl_read_plan(&req, 1, 10, true, &plan);
    assert_int_equal(plan.count, 2);
    assert_int_equal(plan.max_bytes, 100);
    /* Defaults and caps. */
    req = s_req(1, 0, UINT32_MAX, 0);
    rl_read_plan(&req, 1, 100000, true, &plan);
    assert_int_equal(plan.count, RL_READ_DEFAULT_ENTRIES);
    assert_int_equal(plan.max_bytes, RL_READ_MAX_BYTES);
    req = s_req(1, UINT32_MAX, 0, 0);
    rl_read_plan(&req, 1, UINT64_MAX - 1, true, &plan);
    assert_int_equal(plan.count, RL_MAX_BATCH_ENTRIES);
}

static void test_raft_entries_are_skipped_but_move_next(void **state)
{
    (void)state;
    rl_entry_t entries[4] = {
        {.index = 5, .type = RL_ENTRY_NOOP},
        {.index = 6, .type = RL_ENTRY_NORMAL, .size = 1},
        {.index = 7, .type = RL_ENTRY_CONFIG},
        {.index = 8, .type = RL_ENTRY_NORMAL, .size = 2},
    };
    size_t count = 4;
    uint64_t next = 5;
    rl_read_keep_user_entries(entries, &count, &next);
    assert_int_equal(count, 2);
    assert_int_equal(entries[0].index, 6);
    assert_int_equal(entries[1].index, 8);
    assert_int_equal(next, 9);
}

static void test_a_long_poll_that_found_only_raft_entries_waits_on(void **state)
{
    (void)state;
    rl_read_request_t poll = s_req(5, 0, 0, 500);
    rl_read_request_t plain = s_req(5, 0, 0, 0);
    assert_true(rl_read_wait_more(&poll, 0, 6, 5, true));
    assert_false(rl_read_wait_more(&poll, 1, 6, 5, true));
    assert_false(rl_read_wait_more(&poll, 0, 6, 5, false));
    assert_false(rl_read_wait_more(&plain, 0, 6, 5, true));
    /* More is committed than was read: answer now, next says where. */
    assert_false(rl_read_wait_more(&poll, 0, 6, 9, true));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reading_from_zero_or_below_the_log_is_refused),
        cmocka_unit_test(test_a_long_poll_past_the_commit_index_waits),
        cmocka_unit_test(
            test_a_read_without_wait_past_the_commit_answers_empty),
        cmocka_unit_test(test_a_read_takes_what_is_committed_up_to_its_limits),
        cmocka_unit_test(test_raft_entries_are_skipped_but_move_next),
        cmocka_unit_test(
            test_a_long_poll_that_found_only_raft_entries_waits_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

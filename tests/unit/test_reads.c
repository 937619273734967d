/*  test_reads.c - read planning (node/rl_reads.h): what a node does with
    a READ_REQUEST given the first index it retains and the commit index,
    where a READ from a time or a consumer starts, and how Raft's own
    entries are skipped without a gap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include "rl_reads.h"

static rl_read_request_t s_req(uint64_t from, uint32_t max_entries,
                               uint32_t max_bytes, uint32_t wait_ms)
{
    return (rl_read_request_t){.from = from,
                               .max_entries = max_entries,
                               .max_bytes = max_bytes,
                               .wait_ms = wait_ms};
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

static void test_a_read_names_exactly_one_start(void **state)
{
    (void)state;
    rl_read_request_t req = s_req(0, 0, 0, 0);
    assert_int_equal(rl_read_start(&req), RL_READ_START_BAD); /* none */
    req.from = 3;
    assert_int_equal(rl_read_start(&req), RL_READ_START_INDEX);
    req.from_time = 1767225600000;
    assert_int_equal(rl_read_start(&req), RL_READ_START_BAD); /* two */
    req.from = 0;
    assert_int_equal(rl_read_start(&req), RL_READ_START_TIME);
    req.consumer = rl_str("audit");
    assert_int_equal(rl_read_start(&req), RL_READ_START_BAD);
    req.from_time = 0;
    assert_int_equal(rl_read_start(&req), RL_READ_START_CONSUMER);
    req.from = 1;
    assert_int_equal(rl_read_start(&req), RL_READ_START_BAD);
}

static void
test_a_read_from_a_time_starts_at_the_entry_found_once_committed(void **state)
{
    (void)state;
    uint64_t from = 0;
    /* Found at 7, committed up to 10: read from 7. */
    assert_int_equal(rl_read_time_start(5000, 7, 1, 1000, 10, &from),
                     RL_READ_NOW);
    assert_int_equal(from, 7);
    /* Found past the commit index (or past the log, 11): wait. */
    assert_int_equal(rl_read_time_start(5000, 11, 1, 1000, 10, &from),
                     RL_READ_WAIT);
    assert_int_equal(rl_read_time_start(5000, 9, 1, 1000, 8, &from),
                     RL_READ_WAIT);
    /* A time before the first entry of a log that was never cut: from
       the start, nothing is missing. */
    assert_int_equal(rl_read_time_start(10, 1, 1, 1000, 10, &from),
                     RL_READ_NOW);
    assert_int_equal(from, 1);
    /* Cut by retention: a time before the retained start may name dropped
       entries (OUT_OF_RANGE); the start's own time does not. */
    assert_int_equal(rl_read_time_start(999, 40, 40, 1000, 50, &from),
                     RL_READ_BELOW_FIRST);
    assert_int_equal(rl_read_time_start(1000, 40, 40, 1000, 50, &from),
                     RL_READ_NOW);
    assert_int_equal(from, 40);
    /* A retained start written before timestamps (time 0) is before any
       time. */
    assert_int_equal(rl_read_time_start(5, 41, 40, 0, 50, &from), RL_READ_NOW);
    assert_int_equal(from, 41);
}

static void test_times_are_shown_in_iso_8601_utc(void **state)
{
    (void)state;
    char text[RL_READ_TIME_TEXT];
    assert_string_equal(rl_read_time_text(1764583200000, text),
                        "2025-12-01T10:00:00.000Z");
    assert_string_equal(rl_read_time_text(1767225600123, text),
                        "2026-01-01T00:00:00.123Z");
    assert_string_equal(rl_read_time_text(0, text), "no time");
    assert_string_equal(rl_read_time_text(UINT64_MAX, text),
                        "18446744073709551615 ms");
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
        cmocka_unit_test(test_a_read_names_exactly_one_start),
        cmocka_unit_test(
            test_a_read_from_a_time_starts_at_the_entry_found_once_committed),
        cmocka_unit_test(test_times_are_shown_in_iso_8601_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

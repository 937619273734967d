/*  test_storage_log.c - the file log's basic behaviour: entries appended and
    read back (also after a reopen), segments rolling over, truncation,
    compaction and retention, read limits (rl_log_append.c, rl_log_read.c,
    rl_log_truncate.c, rl_log_index.c).
*/
#include "storage_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static void
test_appended_entries_read_back_identical_before_and_after_reopen(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    assert_int_equal(rl_log_first_index(log), 1);
    assert_int_equal(rl_log_last_index(log), 0);
    storage_append_steps(log, 1, 100);
    storage_assert_contents(log, 1, 100, storage_term_steps);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    assert_null(log);
    rl_log_destroy(&log); /* idempotent */

    log = storage_open(world);
    storage_assert_contents(log, 1, 100, storage_term_steps);
    assert_int_equal(rl_log_last_term(log), 3);
    assert_int_equal(rl_log_durable_index(log), 100);
    uint64_t term;
    assert_int_equal(rl_log_term(log, 0, &term), 0);
    assert_int_equal(term, 0);
    assert_int_equal(rl_log_term(log, 101, &term), ERANGE);
    rl_log_destroy(&log);
}

static void
test_append_rejects_gaps_and_falling_terms_and_leaves_the_log_unchanged(
    void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    assert_int_equal(storage_append(log, 1, 5, 2), 0);
    assert_int_equal(storage_append(log, 7, 1, 2), EINVAL);
    assert_non_null(strstr(rl_log_error(log), "where 6 is next"));
    assert_int_equal(storage_append(log, 6, 1, 1), EINVAL);
    assert_int_equal(rl_log_last_index(log), 5);
    rl_log_destroy(&log);
}

static void test_segments_roll_over_at_the_configured_size_named_by_first_index(
    void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 100); /* about 13 KB in 4 KB segments */
    assert_int_equal(rl_log_sync(log), 0);
    char path[PATH_MAX];
    assert_int_equal(
        storage_file_size(storage_segment_path(world, 1, path)) <= 4096, 1);
    assert_true(storage_segment_count(world) >= 4);
    /* Every segment is named by its first index and no larger than the
       limit: walk them by following each one's last index. */
    uint64_t first = 1;
    size_t seen = 0;
    while (first <= 100) {
        struct stat st;
        assert_int_equal(stat(storage_segment_path(world, first, path), &st),
                         0);
        assert_true(st.st_size <= 4096);
        /* The header and the first record both say index first. */
        uint8_t head[48];
        int fd = open(path, O_RDONLY);
        assert_int_equal(pread(fd, head, sizeof head, 0), sizeof head);
        close(fd);
        uint64_t header_first = 0, record_index = 0;
        for (int i = 7; i >= 0; i--) {
            header_first = header_first << 8 | head[8 + i];
            record_index = record_index << 8 | head[40 + i];
        }
        assert_int_equal(header_first, first);
        assert_int_equal(record_index, first);
        seen++;
        uint64_t next = first + 1;
        while (next <= 101 &&
               stat(storage_segment_path(world, next, path), &st) != 0)
            next++;
        first = next;
    }
    assert_int_equal(seen, storage_segment_count(world));
    rl_log_destroy(&log);
}

static void
test_truncate_removes_the_suffix_durably_and_accepts_new_entries(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 100);
    assert_int_equal(rl_log_sync(log), 0);
    size_t before = storage_segment_count(world);
    assert_int_equal(rl_log_truncate(log, 45), 0);
    assert_int_equal(rl_log_last_index(log), 44);
    assert_int_equal(rl_log_last_term(log), 2);
    assert_int_equal(rl_log_durable_index(log), 44);
    assert_true(storage_segment_count(world) < before);
    assert_int_equal(rl_log_truncate(log, 100), ERANGE);
    storage_append_steps(log, 45, 60);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);

    log = storage_open(world);
    storage_assert_contents(log, 1, 60, storage_term_steps);
    /* Truncating at the first index empties the log. */
    assert_int_equal(rl_log_truncate(log, 1), 0);
    assert_int_equal(rl_log_last_index(log), 0);
    assert_int_equal(storage_append(log, 1, 3, 4), 0);
    rl_log_destroy(&log);
    log = storage_open(world);
    assert_int_equal(rl_log_last_index(log), 3);
    assert_int_equal(rl_log_last_term(log), 4);
    rl_log_destroy(&log);
}

static void
test_compact_drops_whole_segments_and_keeps_the_boundary_term(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 100);
    assert_int_equal(rl_log_compact(log, 60), 0);
    uint64_t first = rl_log_first_index(log);
    assert_true(first > 1 && first <= 60);
    uint64_t term;
    assert_int_equal(rl_log_term(log, first - 1, &term), 0);
    assert_int_equal(term, storage_term_steps(first - 1));
    assert_int_equal(rl_log_term(log, first - 2, &term), ERANGE);
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    assert_int_equal(rl_log_read(log, first - 1, 1, 0, &batch), ERANGE);
    rl_log_batch_close(&batch);
    /* Compaction never removes the segment taking appends. */
    assert_int_equal(rl_log_compact(log, 1000), 0);
    assert_int_equal(rl_log_last_index(log), 100);
    uint64_t first_after = rl_log_first_index(log);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);

    log = storage_open(world);
    storage_assert_contents(log, first_after, 100, storage_term_steps);
    assert_int_equal(rl_log_term(log, first_after - 1, &term), 0);
    assert_int_equal(term, storage_term_steps(first_after - 1));
    rl_log_destroy(&log);
}

static void
test_retention_index_keeps_about_the_newest_bytes_and_the_last_segment(
    void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 100);
    uint64_t total = rl_log_bytes(log);
    assert_true(total > 0);
    /* Keeping everything, or more than there is, drops nothing. */
    assert_int_equal(rl_log_retention_index(log, total), 0);
    assert_int_equal(rl_log_retention_index(log, total * 2), 0);
    /* Keeping nothing still keeps the segment taking appends. */
    uint64_t all = rl_log_retention_index(log, 0);
    assert_true(all > 1 && all <= 100);
    /* About half: some old segments go, and what stays holds at least
       half of the bytes. */
    uint64_t half = rl_log_retention_index(log, total / 2);
    assert_true(half > 1 && half <= all);
    assert_int_equal(rl_log_compact(log, half), 0);
    assert_int_equal(rl_log_first_index(log), half);
    assert_true(rl_log_bytes(log) >= total / 2 && rl_log_bytes(log) < total);
    assert_int_equal(rl_log_retention_index(log, total / 2), 0);
    rl_log_destroy(&log);
}

static void
test_append_read_truncate_compact_then_reopen_gives_same_contents(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 90);
    assert_int_equal(rl_log_truncate(log, 80), 0);
    storage_append_steps(log, 80, 120);
    assert_int_equal(rl_log_compact(log, 30), 0);
    uint64_t first = rl_log_first_index(log);
    assert_int_equal(rl_log_sync(log), 0);
    storage_assert_contents(log, first, 120, storage_term_steps);
    rl_log_destroy(&log);
    log = storage_open(world);
    storage_assert_contents(log, first, 120, storage_term_steps);
    rl_log_destroy(&log);
}

static void
test_read_stops_at_max_entries_or_max_bytes_but_returns_at_least_one_entry(
    void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 100);
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    assert_int_equal(rl_log_read(log, 10, 5, 0, &batch), 0);
    assert_int_equal(batch.count, 5);
    assert_int_equal(batch.entries[4].index, 14);
    assert_int_equal(rl_log_read(log, 10, 100, 1, &batch), 0);
    assert_int_equal(batch.count, 1);
    assert_int_equal(rl_log_read(log, 1, 1000, 0, &batch), 0);
    assert_int_equal(batch.count, 100); /* across segments */
    assert_int_equal(rl_log_read(log, 101, 1, 0, &batch), ERANGE);
    rl_log_batch_close(&batch);
    rl_log_batch_close(&batch);
    rl_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORAGE_TEST(
            test_appended_entries_read_back_identical_before_and_after_reopen),
        STORAGE_TEST(
            test_append_rejects_gaps_and_falling_terms_and_leaves_the_log_unchanged),
        STORAGE_TEST(
            test_segments_roll_over_at_the_configured_size_named_by_first_index),
        STORAGE_TEST(
            test_truncate_removes_the_suffix_durably_and_accepts_new_entries),
        STORAGE_TEST(
            test_compact_drops_whole_segments_and_keeps_the_boundary_term),
        STORAGE_TEST(
            test_retention_index_keeps_about_the_newest_bytes_and_the_last_segment),
        STORAGE_TEST(
            test_append_read_truncate_compact_then_reopen_gives_same_contents),
        STORAGE_TEST(
            test_read_stops_at_max_entries_or_max_bytes_but_returns_at_least_one_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

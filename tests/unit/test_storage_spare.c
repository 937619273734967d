/*  test_storage_spare.c - spare segments: made as synced zeros, adopted at a
    rollover, a crash while adopting, a failed spare (rl_log_spare.c); and
    zeros written ahead of appends (rl_log_segment_zero_ahead).
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

/* Makes the spare the log asks for, if it asks; returns what it did. */
static int s_make_spare(rl_log_t *log)
{
    rl_log_spare_t spare;
    if (!rl_log_spare_prepare(log, &spare))
        return -1;
    int rc = rl_log_spare_run(&spare);
    rl_log_spare_finish(log, &spare, rc);
    return rc;
}

/* Syncs, closes and reopens the world's log: it must read back 1..last
   (storage_term_steps terms) without a warning. */
static void s_reopens_intact(storage_world_t *world, rl_log_t *log,
                             uint64_t last)
{
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = storage_open(world);
    storage_assert_contents(log, 1, last, storage_term_steps);
    assert_string_equal(world->warnings, "");
    rl_log_destroy(&log);
}

static void test_spares_become_the_next_segments_and_reopen_intact(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    assert_int_equal(s_make_spare(log), -1); /* not half full yet */
    uint64_t index = 1;
    while (s_make_spare(log) != 0) {
        assert_int_equal(
            storage_append(log, index, 1, storage_term_steps(index)), 0);
        index++;
    }
    /* Half of 4096 bytes: more than a few entries, fewer than a full
       segment's. */
    assert_true(index > 5 && index < 40);
    assert_int_equal(s_make_spare(log), -1); /* one is ready */
    char spare[PATH_MAX];
    snprintf(spare, sizeof spare, "%s/spare.tmp", world->dir);
    assert_int_equal(storage_file_size(spare), 4096);
    for (; index <= 100; index++) {
        s_make_spare(log);
        assert_int_equal(
            storage_append(log, index, 1, storage_term_steps(index)), 0);
    }
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_stats_t stats;
    rl_log_stats(log, &stats);
    assert_true(stats.spares_used >= 3);
    /* Every segment but the first began as a spare: its full size, with
       zeros after its last record. */
    char path[PATH_MAX];
    size_t full = 0;
    for (uint64_t first = 2; first <= 100; first++) {
        struct stat st;
        if (stat(storage_segment_path(world, first, path), &st) == 0) {
            assert_int_equal(st.st_size, 4096);
            full++;
        }
    }
    assert_int_equal(full, stats.spares_used);
    storage_assert_contents(log, 1, 100, storage_term_steps);
    rl_log_destroy(&log);
    /* The spare made after the last rollover is left over: open removes
       it, and reads everything back without a warning. */
    assert_int_equal(access(spare, F_OK), 0);
    log = storage_open(world);
    assert_int_equal(access(spare, F_OK), -1);
    assert_string_equal(world->warnings, "");
    storage_assert_contents(log, 1, 100, storage_term_steps);
    /* Truncating into an adopted segment cuts its zeros too; the log
       goes on and reopens the same. */
    assert_int_equal(rl_log_truncate(log, 90), 0);
    storage_append_steps(log, 90, 110);
    s_reopens_intact(world, log, 110);
}

/* Appends one entry at index whose record takes record bytes. */
static void s_append_sized(rl_log_t *log, uint64_t index, size_t record)
{
    static uint8_t payload[4096];
    rl_entry_t entry = {.index = index,
                        .term = 1,
                        .data = payload,
                        .size = record - 8 - 41,
                        .time = index};
    assert_int_equal(rl_log_append(log, &entry, 1), 0);
}

static void
test_a_spare_segment_whose_last_record_ends_a_few_bytes_short_reopens(
    void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world); /* 4096-byte segments */
    /* Segment 1: one record filling it. Segment 2, a spare: records that
       end 3 bytes before its end, so that its zeros are shorter than a
       record header. Segment 3 holds an entry after it. */
    s_append_sized(log, 1, 4096 - 32);
    s_append_sized(log, 2, 2000);
    assert_int_equal(s_make_spare(log), -1); /* segment 2 is the last... */
    s_append_sized(log, 3, 2000);            /* ...half full now */
    assert_int_equal(s_make_spare(log), 0);
    s_append_sized(log, 4, 4096 - 32 - 3); /* a new segment: the spare */
    s_append_sized(log, 5, 100);           /* does not fit: segment 4 */
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_stats_t stats;
    rl_log_stats(log, &stats);
    assert_int_equal(stats.spares_used, 1);
    char path[PATH_MAX];
    assert_int_equal(storage_file_size(storage_segment_path(world, 4, path)),
                     4096);
    rl_log_destroy(&log);
    /* Three zero bytes after the last record are the segment's end, not a
       torn record header: a later segment holds entries, so that would
       stop the node from starting. */
    log = storage_open(world);
    assert_int_equal(rl_log_last_index(log), 5);
    assert_string_equal(world->warnings, "");
    rl_log_destroy(&log);
}

static void test_spare_is_written_as_zeros_in_synced_chunks(void **state)
{
    storage_world_t *world = *state;
    rl_log_spare_t spare = {.io = &storage_faulty_io,
                            .size = 3 * 1048576 + 100};
    snprintf(spare.path, sizeof spare.path, "%s/spare.tmp", world->root);
    assert_int_equal(rl_log_spare_run(&spare), 0);
    assert_int_equal(storage_file_size(spare.path), 3 * 1048576 + 100);
    assert_int_equal(storage_io.fdatasync_calls, 4); /* 3 whole chunks + 1 */
    int fd = open(spare.path, O_RDONLY);
    assert_true(fd >= 0);
    static uint8_t data[3 * 1048576 + 100];
    assert_int_equal(read(fd, data, sizeof data), sizeof data);
    close(fd);
    for (size_t i = 0; i < sizeof data; i++)
        if (data[i])
            fail_msg("byte %zu of the spare is %u", i, data[i]);
}

static void
test_segment_of_zeros_left_by_a_crash_while_adopting_is_removed(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    /* The rename reached the disk, the header page did not. */
    char path[PATH_MAX];
    storage_segment_path(world, 11, path);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096), 0);
    close(fd);
    log = storage_open(world);
    assert_int_equal(rl_log_last_index(log), 10);
    assert_non_null(strstr(world->warnings, "torn segment header"));
    assert_int_equal(access(path, F_OK), -1);
    storage_append_steps(log, 11, 60);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = storage_open(world);
    storage_assert_contents(log, 1, 60, storage_term_steps);
    rl_log_destroy(&log);
}

static void
test_failed_spare_is_a_warning_and_tried_after_the_next_rollover(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 20); /* over half of the first segment */
    storage_io.match = "spare";
    storage_io.pwrite_countdown = 0;
    storage_io.pwrite_errno = ENOSPC;
    assert_int_equal(s_make_spare(log), ENOSPC);
    assert_non_null(strstr(world->warnings, "cannot write zeros to"));
    assert_non_null(strstr(world->warnings, "No space left on device"));
    char spare[PATH_MAX];
    snprintf(spare, sizeof spare, "%s/spare.tmp", world->dir);
    assert_int_equal(access(spare, F_OK), -1);
    assert_int_equal(s_make_spare(log), -1); /* not before a rollover */
    storage_io.match = NULL;
    storage_append_steps(log, 21, 40); /* rolls over */
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(storage_segment_count(world), 2);
    uint64_t index = 41;
    while (s_make_spare(log) != 0 && index < 100) {
        assert_int_equal(
            storage_append(log, index, 1, storage_term_steps(index)), 0);
        index++;
    }
    assert_true(index < 100); /* made, once half of the new segment */
    rl_log_stats_t stats;
    rl_log_stats(log, &stats);
    assert_int_equal(stats.spares_used, 0);
    storage_assert_contents(log, 1, index - 1, storage_term_steps);
    rl_log_destroy(&log);
}

static void
test_zeros_written_ahead_keep_appends_over_zeros_and_reopen_intact(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 1u << 20;
    rl_log_t *log = storage_open(world);
    rl_log_set_zero_ahead(log, 256u << 10);
    char path[PATH_MAX];
    storage_segment_path(world, 1, path);
    storage_append_steps(log, 1, 1);
    /* The first append buys 64 KiB of zeros, not the 256 KiB maximum. */
    off_t first = storage_file_size(path);
    assert_true(first > 64 * 1024 && first < 64 * 1024 + 512);
    /* The next appends write over them: the file does not grow. */
    storage_append_steps(log, 2, 60);
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(storage_file_size(path), first);
    /* Once a segment holds more than the minimum, it is ahead by what it
       holds, up to the maximum. */
    uint64_t index = 61;
    while (storage_file_size(path) == first) {
        assert_int_equal(storage_append(log, index, 1, 3), 0);
        index++;
    }
    off_t grown = storage_file_size(path);
    assert_true(grown > 2 * first - 1024 && grown < 2 * first + 1024);
    while (storage_file_size(path) < 600 * 1024) {
        assert_int_equal(storage_append(log, index, 1, 3), 0);
        index++;
    }
    assert_int_equal(rl_log_sync(log), 0);
    off_t before = storage_file_size(path);
    rl_log_destroy(&log);
    /* The zeros are the segment's end: read back without a warning. */
    log = storage_open(world);
    assert_string_equal(world->warnings, "");
    assert_int_equal(rl_log_last_index(log), index - 1);
    assert_int_equal(storage_file_size(path), before);
    /* A truncation cuts the zeros with the rest; appends write new ones. */
    assert_int_equal(rl_log_truncate(log, 30), 0);
    off_t cut = storage_file_size(path);
    assert_true(cut < 64 * 1024);
    rl_log_set_zero_ahead(log, 256u << 10);
    storage_append_steps(log, 30, 40);
    assert_true(storage_file_size(path) > cut + 64 * 1024);
    s_reopens_intact(world, log, 40);
}

static void
test_zeros_ahead_stop_at_the_segment_size_and_are_off_by_default(void **state)
{
    storage_world_t *world = *state; /* 4096-byte segments */
    rl_log_t *log = storage_open(world);
    char path[PATH_MAX];
    storage_append_steps(log, 1, 1);
    off_t plain = storage_file_size(storage_segment_path(world, 1, path));
    assert_true(plain < 1024); /* no zeros unless asked */
    rl_log_set_zero_ahead(log, 1u << 20);
    storage_append_steps(log, 2, 100);
    assert_int_equal(rl_log_sync(log), 0);
    /* Every segment is zeros to its full size, never past it. */
    size_t segments = 0;
    for (uint64_t first = 1; first <= 100; first++)
        if (access(storage_segment_path(world, first, path), F_OK) == 0) {
            assert_int_equal(storage_file_size(path), 4096);
            segments++;
        }
    assert_true(segments >= 3);
    assert_int_equal(storage_segment_count(world), segments);
    s_reopens_intact(world, log, 100);
}

static void test_a_failed_write_of_zeros_leaves_the_append_done(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    rl_log_set_zero_ahead(log, 1u << 20);
    storage_io.match = ".log";
    storage_io.pwrite_countdown = 1; /* the records, then the zeros fail */
    storage_io.pwrite_errno = ENOSPC;
    assert_int_equal(storage_append(log, 1, 1, 1), 0);
    storage_io.match = NULL;
    char path[PATH_MAX];
    assert_true(storage_file_size(storage_segment_path(world, 1, path)) < 1024);
    assert_false(rl_log_failed(log));
    storage_append_steps(log, 2, 10); /* zeros again */
    assert_int_equal(storage_file_size(path), 4096);
    s_reopens_intact(world, log, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORAGE_TEST(test_spares_become_the_next_segments_and_reopen_intact),
        STORAGE_TEST(
            test_a_spare_segment_whose_last_record_ends_a_few_bytes_short_reopens),
        STORAGE_TEST(test_spare_is_written_as_zeros_in_synced_chunks),
        STORAGE_TEST(
            test_segment_of_zeros_left_by_a_crash_while_adopting_is_removed),
        STORAGE_TEST(
            test_failed_spare_is_a_warning_and_tried_after_the_next_rollover),
        STORAGE_TEST(
            test_zeros_written_ahead_keep_appends_over_zeros_and_reopen_intact),
        STORAGE_TEST(
            test_zeros_ahead_stop_at_the_segment_size_and_are_off_by_default),
        STORAGE_TEST(test_a_failed_write_of_zeros_leaves_the_append_done),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

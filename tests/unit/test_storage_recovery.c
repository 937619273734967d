/*  test_storage_recovery.c - what open does with a directory a crash or a bad
    disk left behind: torn tails cut at every byte, zeros at the end, bit
    flips, torn segment headers, and the read-only check (rl_log_recover.c,
    rl_log_read.c).
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
test_torn_tail_at_every_byte_offset_is_truncated_and_appends_go_on(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 1 << 20; /* one segment: offsets are simple */
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 20);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    char path[PATH_MAX], copy[PATH_MAX];
    storage_segment_path(world, 1, path);
    snprintf(copy, sizeof copy, "%s/original", world->root);
    off_t full = storage_file_size(path);
    uint8_t *original = malloc((size_t)full);
    int fd = open(path, O_RDONLY);
    assert_int_equal(pread(fd, original, (size_t)full, 0), full);
    close(fd);

    /* Record boundaries of the last three records, from record sizes. */
    off_t ends[21];
    ends[0] = 32;
    for (uint64_t index = 1; index <= 20; index++) {
        uint8_t scratch[200];
        ends[index] =
            ends[index - 1] + 8 + 41 + (off_t)storage_payload(index, scratch);
    }
    assert_int_equal(ends[20], full);
    for (uint64_t index = 18; index <= 20; index++) {
        for (off_t cut = ends[index - 1] + 1; cut < ends[index]; cut++) {
            fd = open(path, O_WRONLY | O_TRUNC);
            assert_int_equal(pwrite(fd, original, (size_t)cut, 0), cut);
            close(fd);
            world->warnings[0] = '\0';
            log = storage_open(world);
            assert_int_equal(rl_log_last_index(log), index - 1);
            assert_non_null(strstr(world->warnings, path));
            char where[64];
            snprintf(where, sizeof where, "offset %ld", (long)ends[index - 1]);
            assert_non_null(strstr(world->warnings, where));
            assert_int_equal(storage_file_size(path), ends[index - 1]);
            storage_append_steps(log, index, index);
            assert_int_equal(rl_log_sync(log), 0);
            rl_log_destroy(&log);
            log = storage_open(world);
            storage_assert_contents(log, 1, index, storage_term_steps);
            rl_log_destroy(&log);
        }
    }
    free(original);
}

static void
test_zero_filled_tail_is_the_end_and_appends_go_over_it(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    char path[PATH_MAX];
    storage_segment_path(world, 1, path);
    off_t size = storage_file_size(path);
    assert_int_equal(truncate(path, size + 512), 0); /* zeros */
    log = storage_open(world);
    assert_int_equal(rl_log_last_index(log), 10);
    assert_string_equal(world->warnings, "");
    assert_int_equal(storage_file_size(path), size + 512); /* kept */
    storage_append_steps(log, 11, 12);
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(storage_file_size(path), size + 512); /* written over */
    rl_log_destroy(&log);
    log = storage_open(world);
    storage_assert_contents(log, 1, 12, storage_term_steps);
    assert_string_equal(world->warnings, "");
    rl_log_destroy(&log);
}

static void
test_bit_flip_in_the_middle_refuses_open_naming_file_offset_index(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 1 << 20;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 20);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    char path[PATH_MAX], message[RL_LOG_ERROR_SIZE];
    storage_segment_path(world, 1, path);
    /* Record 6 starts after the header and records 1..5. */
    off_t offset = 32;
    uint8_t scratch[200];
    for (uint64_t index = 1; index <= 5; index++)
        offset += 8 + 41 + (off_t)storage_payload(index, scratch);
    storage_flip_bit(path, offset + 8 + 40); /* inside record 6's body */
    assert_int_equal(storage_open_fails(world, message, sizeof message),
                     EBADMSG);
    char expected[PATH_MAX + 128];
    snprintf(expected, sizeof expected,
             "%s: checksum mismatch at offset %ld (index 6)", path,
             (long)offset);
    if (!strstr(message, expected))
        fail_msg("message '%s' lacks '%s'", message, expected);
    assert_non_null(strstr(message, "not a torn write"));
    /* Nothing was changed. */
    FILE *null = fopen("/dev/null", "w");
    assert_int_equal(rl_log_check(world->dir, null), EBADMSG);
    fclose(null);
}

static void test_bit_flip_in_the_last_record_is_truncated_as_torn(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 1 << 20;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 20);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    char path[PATH_MAX];
    storage_segment_path(world, 1, path);
    off_t size = storage_file_size(path);
    storage_flip_bit(path, size - 3);
    log = storage_open(world);
    assert_int_equal(rl_log_last_index(log), 19);
    assert_non_null(strstr(world->warnings, "checksum mismatch"));
    storage_assert_contents(log, 1, 19, storage_term_steps);
    rl_log_destroy(&log);
}

static void
test_bit_flip_in_the_last_record_of_an_older_segment_refuses_open(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 100);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    /* The first segment's last record looks torn in isolation, but the
       segments after it hold entries: that is damage, not a crash. */
    char path[PATH_MAX], message[RL_LOG_ERROR_SIZE];
    storage_segment_path(world, 1, path);
    storage_flip_bit(path, storage_file_size(path) - 2);
    assert_int_equal(storage_open_fails(world, message, sizeof message),
                     EBADMSG);
    assert_non_null(strstr(message, path));
    assert_non_null(strstr(message, "later segment"));
}

static void
test_segment_torn_while_being_created_is_removed_on_open(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    /* A crash right after a rollover created the next segment: its header
       is only partly on disk. */
    char path[PATH_MAX];
    FILE *torn = fopen(storage_segment_path(world, 11, path), "w");
    fputs("RLSG", torn);
    fclose(torn);
    log = storage_open(world);
    assert_non_null(strstr(world->warnings, "torn segment header"));
    assert_int_equal(rl_log_last_index(log), 10);
    assert_int_equal(storage_append(log, 11, 1, 1), 0);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = storage_open(world);
    storage_assert_contents(log, 1, 11, storage_term_steps);
    rl_log_destroy(&log);
}

static void test_check_reports_a_clean_directory_and_damage(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 50);
    assert_int_equal(rl_log_set_hard_state(log, 3, 2), 0);
    rl_log_destroy(&log);
    char report[4096] = {0};
    FILE *out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(rl_log_check(world->dir, out), 0);
    fclose(out);
    assert_non_null(strstr(report, "cluster 'alpha' node 1"));
    assert_non_null(strstr(report, "entries 1..50"));
    assert_non_null(strstr(report, "term 3, voted for 2"));

    char path[PATH_MAX];
    storage_flip_bit(storage_segment_path(world, 1, path), 32 + 8 + 5);
    memset(report, 0, sizeof report);
    out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(rl_log_check(world->dir, out), EBADMSG);
    fclose(out);
    assert_non_null(strstr(report, "damage:"));
    assert_non_null(strstr(report, "index 1"));

    memset(report, 0, sizeof report);
    out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(rl_log_check(world->root, out), ENOENT);
    fclose(out);
}

static void test_check_changes_nothing_even_with_a_torn_tail(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    char path[PATH_MAX];
    storage_segment_path(world, 1, path);
    off_t size = storage_file_size(path);
    assert_int_equal(truncate(path, size - 5), 0);
    char report[4096] = {0};
    FILE *out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(rl_log_check(world->dir, out), 0);
    fclose(out);
    assert_non_null(strstr(report, "warning:"));
    assert_non_null(strstr(report, "would truncate"));
    assert_non_null(strstr(report, "entries 1..9"));
    assert_int_equal(storage_file_size(path), size - 5);
}

static void
test_corrupt_record_found_by_a_read_is_reported_not_returned(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 1 << 20;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    char path[PATH_MAX];
    storage_flip_bit(storage_segment_path(world, 1, path), 32 + 8 + 20);
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    assert_int_equal(rl_log_read(log, 1, 5, 0, &batch), EBADMSG);
    assert_int_equal(batch.count, 0);
    assert_non_null(strstr(rl_log_error(log), "index 1"));
    assert_non_null(strstr(rl_log_error(log), path));
    assert_int_equal(rl_log_read(log, 2, 5, 0, &batch), 0);
    assert_int_equal(batch.count, 5);
    rl_log_batch_close(&batch);
    rl_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORAGE_TEST(
            test_torn_tail_at_every_byte_offset_is_truncated_and_appends_go_on),
        STORAGE_TEST(test_zero_filled_tail_is_the_end_and_appends_go_over_it),
        STORAGE_TEST(
            test_bit_flip_in_the_middle_refuses_open_naming_file_offset_index),
        STORAGE_TEST(test_bit_flip_in_the_last_record_is_truncated_as_torn),
        STORAGE_TEST(
            test_bit_flip_in_the_last_record_of_an_older_segment_refuses_open),
        STORAGE_TEST(test_segment_torn_while_being_created_is_removed_on_open),
        STORAGE_TEST(test_check_reports_a_clean_directory_and_damage),
        STORAGE_TEST(test_check_changes_nothing_even_with_a_torn_tail),
        STORAGE_TEST(
            test_corrupt_record_found_by_a_read_is_reported_not_returned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

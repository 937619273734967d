/*  test_storage_time.c - entry times in the file log: the segment format
    versions (version 1 from before timestamps read with time 0 and
    followed by version 2 segments), the time index (the first index
    stamped at or after a time, by binary search), the times of the ends,
    and retention by age (rl_log_time.c, rl_log_recover.c,
    rl_log_segment.c, rl_log_append.c, rl_log_truncate.c).
*/
#include "storage_fixture.h"

#include "rl_crc32c.h"

#include <errno.h>
#include <fcntl.h>
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

static void s_put32(uint8_t *p, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(value >> (8 * i));
}

static void s_put64(uint8_t *p, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(value >> (8 * i));
}

/* Writes a segment of format version 1, as raftlog wrote before entry
   times (docs/STORAGE.md: header, then records of u32 CRC32C, u32
   length, and a body of index, term, producer, seq, type and payload),
   holding entries first..first+count-1 of term 1 with storage_payload
   data. Byte by byte, from the documented layout, not with this build's
   code. */
static void s_write_v1_segment(const char *path, uint64_t first, size_t count,
                               uint64_t prev_term)
{
    uint8_t *data = calloc(1, 32 + count * (8 + 33 + 200));
    assert_non_null(data);
    s_put32(data, 0x47534C52u); /* "RLSG" */
    s_put32(data + 4, 1);       /* version 1 */
    s_put64(data + 8, first);
    s_put64(data + 16, prev_term);
    s_put32(data + 28, rl_crc32c(0, data, 28));
    size_t at = 32;
    for (size_t i = 0; i < count; i++) {
        uint8_t *p = data + at, *b = p + 8;
        uint64_t index = first + i;
        size_t size = storage_payload(index, b + 33);
        s_put32(p + 4, (uint32_t)(33 + size));
        s_put64(b, index);
        s_put64(b + 8, 1);      /* term */
        s_put64(b + 16, 7);     /* producer */
        s_put64(b + 24, index); /* seq */
        b[32] = 0;              /* normal */
        s_put32(p, rl_crc32c(0, p + 4, 4 + 33 + size));
        at += 8 + 33 + size;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, data, at, 0), (ssize_t)at);
    close(fd);
    free(data);
}

/* The format version in the header of the segment starting at first. */
static uint32_t s_segment_version(storage_world_t *world, uint64_t first)
{
    char path[PATH_MAX];
    uint8_t header[8];
    int fd = open(storage_segment_path(world, first, path), O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, header, 8, 0), 8);
    close(fd);
    return (uint32_t)header[4] | (uint32_t)header[5] << 8 |
           (uint32_t)header[6] << 16 | (uint32_t)header[7] << 24;
}

/* A data directory (marker and all) whose log is one version 1 segment
   holding entries 1..count. */
static void s_v1_world(storage_world_t *world, size_t count)
{
    rl_log_t *log = storage_open(world);
    rl_log_destroy(&log);
    char path[PATH_MAX];
    s_write_v1_segment(storage_segment_path(world, 1, path), 1, count, 0);
}

/* The time of index in a read of one entry. */
static uint64_t s_time_of(rl_log_t *log, uint64_t index)
{
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    assert_int_equal(rl_log_read(log, index, 1, 0, &batch), 0);
    uint64_t time = batch.entries[0].time;
    rl_log_batch_close(&batch);
    return time;
}

static void test_a_version_1_segment_reads_back_with_time_0(void **state)
{
    storage_world_t *world = *state;
    s_v1_world(world, 30);
    rl_log_t *log = storage_open(world);
    assert_int_equal(rl_log_last_index(log), 30);
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    assert_int_equal(rl_log_read(log, 1, 30, 0, &batch), 0);
    assert_int_equal(batch.count, 30);
    uint8_t expected[200];
    for (size_t i = 0; i < 30; i++) {
        assert_int_equal(batch.entries[i].index, i + 1);
        assert_int_equal(batch.entries[i].time, 0);
        assert_int_equal(batch.entries[i].seq, i + 1);
        size_t size = storage_payload(i + 1, expected);
        assert_int_equal(batch.entries[i].size, size);
        if (size)
            assert_memory_equal(batch.entries[i].data, expected, size);
    }
    rl_log_batch_close(&batch);
    assert_int_equal(rl_log_first_time(log), 0);
    assert_int_equal(rl_log_last_time(log), 0);
    uint64_t index;
    assert_int_equal(rl_log_find_time(log, STORAGE_EPOCH_MS, &index), 0);
    assert_int_equal(index, 31); /* unstamped: older than any time */
    assert_int_equal(rl_log_find_time(log, 0, &index), 0);
    assert_int_equal(index, 1);
    rl_log_destroy(&log);
}

static void
test_appends_after_version_1_entries_go_to_a_new_version_2_segment(void **state)
{
    storage_world_t *world = *state;
    s_v1_world(world, 30);
    rl_log_t *log = storage_open(world);
    assert_int_equal(storage_append(log, 31, 10, 1), 0);
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(s_segment_version(world, 1), 1);  /* untouched */
    assert_int_equal(s_segment_version(world, 31), 2); /* the new one */
    rl_log_destroy(&log);

    log = storage_open(world);
    assert_int_equal(rl_log_last_index(log), 40);
    assert_int_equal(s_time_of(log, 30), 0);
    for (uint64_t index = 31; index <= 40; index++)
        assert_int_equal(s_time_of(log, index), storage_time(index));
    assert_int_equal(rl_log_first_time(log), 0);
    assert_int_equal(rl_log_last_time(log), storage_time(40));
    uint64_t index;
    assert_int_equal(rl_log_find_time(log, storage_time(31), &index), 0);
    assert_int_equal(index, 31);
    assert_int_equal(rl_log_find_time(log, 1, &index), 0);
    assert_int_equal(index, 31); /* the first stamped entry */
    rl_log_destroy(&log);
}

static void
test_an_empty_version_1_segment_is_replaced_by_version_2_at_the_first_append(
    void **state)
{
    storage_world_t *world = *state;
    s_v1_world(world, 0);
    rl_log_t *log = storage_open(world);
    assert_int_equal(rl_log_last_index(log), 0);
    assert_int_equal(s_segment_version(world, 1), 1);
    assert_int_equal(storage_append(log, 1, 5, 1), 0);
    assert_int_equal(s_segment_version(world, 1), 2);
    assert_int_equal(storage_segment_count(world), 1);
    storage_assert_contents(log, 1, 5, storage_term_steps);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = storage_open(world);
    storage_assert_contents(log, 1, 5, storage_term_steps);
    rl_log_destroy(&log);
}

static void
test_a_truncation_back_into_a_version_1_segment_appends_to_a_new_one(
    void **state)
{
    storage_world_t *world = *state;
    s_v1_world(world, 30);
    rl_log_t *log = storage_open(world);
    assert_int_equal(storage_append(log, 31, 10, 1), 0);
    /* A new leader's entries replace 21.. : the v2 segment goes, the v1
       one is cut and becomes the last. */
    assert_int_equal(rl_log_truncate(log, 21), 0);
    assert_int_equal(rl_log_last_time(log), 0);
    assert_int_equal(storage_append(log, 21, 5, 2), 0);
    assert_int_equal(s_segment_version(world, 21), 2);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = storage_open(world);
    assert_int_equal(rl_log_last_index(log), 25);
    assert_int_equal(s_time_of(log, 20), 0);
    assert_int_equal(s_time_of(log, 21), storage_time(21));
    rl_log_destroy(&log);
}

static void
test_a_segment_of_an_unknown_format_version_is_refused_by_name(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    assert_int_equal(storage_append(log, 1, 3, 1), 0);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    char path[PATH_MAX];
    storage_segment_path(world, 1, path);
    uint8_t header[32];
    int fd = open(path, O_RDWR);
    assert_int_equal(pread(fd, header, 32, 0), 32);
    s_put32(header + 4, 3);
    s_put32(header + 28, rl_crc32c(0, header, 28));
    assert_int_equal(pwrite(fd, header, 32, 0), 32);
    close(fd);
    char message[RL_LOG_ERROR_SIZE];
    assert_int_equal(storage_open_fails(world, message, sizeof message),
                     EBADMSG);
    assert_non_null(strstr(message, path));
    assert_non_null(strstr(message, "format version 3"));
    assert_non_null(strstr(message, "versions 1 and 2"));
}

static void
test_find_time_gives_the_first_entry_stamped_at_or_after_it(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 4096; /* about 35 entries a segment */
    rl_log_t *log = storage_open(world);
    for (uint64_t index = 1; index <= 1000; index += 50)
        assert_int_equal(storage_append(log, index, 50, 1), 0);
    assert_true(rl_log_segment_count(log) >= 20);
    uint64_t found;
    /* Two entries share each second: the first of the pair is found. */
    for (uint64_t index = 2; index <= 1000; index += 2) {
        assert_int_equal(rl_log_find_time(log, storage_time(index), &found), 0);
        assert_int_equal(found, index);
        /* A time between two seconds finds the next pair. */
        assert_int_equal(rl_log_find_time(log, storage_time(index) - 1, &found),
                         0);
        assert_int_equal(found, index);
        assert_int_equal(rl_log_find_time(log, storage_time(index) + 1, &found),
                         0);
        assert_int_equal(found, index + 2 > 1000 ? 1001 : index + 2);
    }
    assert_int_equal(rl_log_find_time(log, 0, &found), 0);
    assert_int_equal(found, 1);
    assert_int_equal(rl_log_find_time(log, STORAGE_EPOCH_MS, &found), 0);
    assert_int_equal(found, 1); /* entry 1 is stamped at the epoch */
    assert_int_equal(rl_log_find_time(log, UINT64_MAX, &found), 0);
    assert_int_equal(found, 1001); /* past the end */
    assert_int_equal(rl_log_first_time(log), storage_time(1));
    assert_int_equal(rl_log_last_time(log), storage_time(1000));
    /* Reopened: the index is rebuilt from the records. */
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = storage_open(world);
    assert_int_equal(rl_log_find_time(log, storage_time(500), &found), 0);
    assert_int_equal(found, 500);
    assert_int_equal(rl_log_last_time(log), storage_time(1000));
    /* After compaction, what was dropped is no longer found. */
    assert_int_equal(rl_log_compact(log, 600), 0);
    uint64_t first = rl_log_first_index(log);
    assert_true(first > 500 && first <= 600);
    assert_int_equal(rl_log_first_time(log), storage_time(first));
    assert_int_equal(rl_log_find_time(log, storage_time(10), &found), 0);
    assert_int_equal(found, first);
    rl_log_destroy(&log);
}

static void
test_find_time_is_a_binary_search_that_reads_a_few_records(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 1 << 20;
    rl_log_t *log = storage_open(world);
    for (uint64_t index = 1; index <= 20000; index += 1000)
        assert_int_equal(storage_append(log, index, 1000, 1), 0);
    uint64_t found;
    for (uint64_t index = 2; index <= 20000; index += 998) {
        uint64_t before = storage_io.pread_bytes;
        assert_int_equal(rl_log_find_time(log, storage_time(index), &found), 0);
        assert_int_equal(found, index);
        /* At most six records' fixed parts (49 bytes each) in a block of
           64: the segments and samples are searched in memory. A scan
           would read megabytes. */
        assert_true(storage_io.pread_bytes - before <= 6 * 49);
    }
    rl_log_destroy(&log);
}

static void
test_truncation_and_failed_appends_keep_the_last_time_right(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 4096;
    rl_log_t *log = storage_open(world);
    assert_int_equal(storage_append(log, 1, 100, 1), 0);
    assert_int_equal(rl_log_truncate(log, 58), 0);
    assert_int_equal(rl_log_last_time(log), storage_time(57));
    uint64_t found;
    assert_int_equal(rl_log_find_time(log, storage_time(57) + 1, &found), 0);
    assert_int_equal(found, 58);
    /* A failed append leaves the times as they were. */
    storage_io.match = ".log";
    storage_io.pwrite_countdown = 0;
    storage_io.pwrite_errno = ENOSPC;
    assert_int_equal(storage_append(log, 58, 80, 1), ENOSPC);
    storage_io.pwrite_countdown = -1;
    assert_int_equal(rl_log_last_index(log), 57);
    assert_int_equal(rl_log_last_time(log), storage_time(57));
    assert_int_equal(rl_log_find_time(log, storage_time(57) + 1, &found), 0);
    assert_int_equal(found, 58);
    assert_int_equal(storage_append(log, 58, 10, 1), 0);
    assert_int_equal(rl_log_last_time(log), storage_time(67));
    assert_int_equal(rl_log_find_time(log, storage_time(60), &found), 0);
    assert_int_equal(found, 60);
    rl_log_destroy(&log);
}

static void
test_age_retention_drops_segments_whose_last_entry_is_older(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 4096;
    rl_log_t *log = storage_open(world);
    assert_int_equal(storage_append(log, 1, 300, 1), 0);
    assert_true(rl_log_segment_count(log) >= 5);
    /* Nothing is older than the first entry. */
    assert_int_equal(rl_log_age_retention_index(log, storage_time(1)), 0);
    /* Before entry 100's time: the segments whose last entry is older go,
       the one holding 99 (stamped with 98) stays. */
    uint64_t boundary = rl_log_age_retention_index(log, storage_time(100));
    assert_true(boundary > 1 && boundary <= 100);
    /* The segment before the boundary ends older than the cut; the one
       at it does not, so nothing more goes once it leads the log. */
    assert_true(storage_time(boundary - 1) < storage_time(100));
    assert_int_equal(rl_log_compact(log, boundary), 0);
    assert_int_equal(rl_log_first_index(log), boundary);
    assert_int_equal(rl_log_age_retention_index(log, storage_time(100)), 0);
    assert_true(rl_log_last_time(log) >= storage_time(100));
    /* Even when everything is older, the last segment stays. */
    uint64_t all = rl_log_age_retention_index(log, UINT64_MAX);
    assert_int_equal(rl_log_compact(log, all), 0);
    assert_int_equal(storage_segment_count(world), 1);
    assert_int_equal(rl_log_last_index(log), 300);
    assert_int_equal(rl_log_age_retention_index(log, UINT64_MAX), 0);
    rl_log_destroy(&log);
}

static void
test_age_retention_bounds_unstamped_segments_by_the_next_stamp(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 4096;
    s_v1_world(world, 30);
    rl_log_t *log = storage_open(world);
    /* Only unstamped entries (and an empty last segment): no age known. */
    assert_int_equal(rl_log_age_retention_index(log, UINT64_MAX), 0);
    assert_int_equal(storage_append(log, 31, 100, 1), 0);
    /* The v1 segment is older than entry 31's time: it goes when the cut
       is after that time, not before. */
    assert_int_equal(rl_log_age_retention_index(log, storage_time(31)), 0);
    uint64_t boundary = rl_log_age_retention_index(log, storage_time(31) + 1);
    assert_int_equal(boundary, 31);
    rl_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORAGE_TEST(test_a_version_1_segment_reads_back_with_time_0),
        STORAGE_TEST(
            test_appends_after_version_1_entries_go_to_a_new_version_2_segment),
        STORAGE_TEST(
            test_an_empty_version_1_segment_is_replaced_by_version_2_at_the_first_append),
        STORAGE_TEST(
            test_a_truncation_back_into_a_version_1_segment_appends_to_a_new_one),
        STORAGE_TEST(
            test_a_segment_of_an_unknown_format_version_is_refused_by_name),
        STORAGE_TEST(
            test_find_time_gives_the_first_entry_stamped_at_or_after_it),
        STORAGE_TEST(
            test_find_time_is_a_binary_search_that_reads_a_few_records),
        STORAGE_TEST(
            test_truncation_and_failed_appends_keep_the_last_time_right),
        STORAGE_TEST(
            test_age_retention_drops_segments_whose_last_entry_is_older),
        STORAGE_TEST(
            test_age_retention_bounds_unstamped_segments_by_the_next_stamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

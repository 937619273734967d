/*  test_storage_hostile_disk.c - a disk that lies: every size, length and
    index the log reads back is range-checked before it sizes an
    allocation, moves an offset or becomes the log's first index; what is
    out of range is refused as damage, unread (rl_log_file.c,
    rl_log_recover.c, rl_log_read.c, rl_log_snapshot.c).
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

/* Makes path a file of size bytes that takes no space (a hole). */
static void s_sparse_file(const char *path, off_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, size), 0);
    close(fd);
}

/* Writes a segment holding only a valid header saying first_index. */
static void s_header_only_segment(const char *path, uint64_t first_index)
{
    uint8_t header[32] = {0};
    s_put32(header, 0x47534C52u); /* "RLSG" */
    s_put32(header + 4, 1);
    s_put64(header + 8, first_index);
    s_put32(header + 28, rl_crc32c(0, header, 28));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, header, sizeof header, 0), sizeof header);
    close(fd);
}

/* A log with entries 1..10 on disk, closed. */
static void s_small_log(storage_world_t *world)
{
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
}

/* Opens expecting EBADMSG with path in the message, having read at most
   a few KiB of everything on disk. */
static void s_refused_unread(storage_world_t *world, const char *path)
{
    char message[RL_LOG_ERROR_SIZE];
    storage_io.pread_bytes = 0;
    assert_int_equal(storage_open_fails(world, message, sizeof message),
                     EBADMSG);
    if (!strstr(message, path) || !strstr(message, "damaged"))
        fail_msg("message '%s' does not call %s damaged", message, path);
    if (storage_io.pread_bytes > 64 * 1024)
        fail_msg("read %llu bytes before refusing",
                 (unsigned long long)storage_io.pread_bytes);
}

static void
test_a_segment_file_larger_than_any_segment_is_refused_unread(void **state)
{
    storage_world_t *world = *state;
    s_small_log(world);
    /* A rollover's segment whose size the disk reports as 1 GiB and more:
       it would have been read whole into memory. */
    char path[PATH_MAX];
    storage_segment_path(world, 11, path);
    s_sparse_file(path, (off_t)RL_LOG_MAX_SEGMENT_SIZE + (4 << 20));
    s_refused_unread(world, path);
    FILE *null = fopen("/dev/null", "w");
    assert_int_equal(rl_log_check(world->dir, null), EBADMSG);
    fclose(null);
    assert_int_equal(access(path, F_OK), 0); /* not removed as torn */
    /* A configured size above the limit is refused before anything. */
    assert_int_equal(unlink(path), 0);
    rl_log_config_t config = storage_config(world);
    config.segment_size = (uint64_t)RL_LOG_MAX_SEGMENT_SIZE + 1;
    rl_log_t *log = rl_log_new(&config);
    assert_int_equal(rl_log_open(log), EINVAL);
    assert_non_null(strstr(rl_log_error(log), "segment size"));
    rl_log_destroy(&log);
    config.segment_size = RL_LOG_MAX_SEGMENT_SIZE;
    log = rl_log_new(&config);
    assert_int_equal(rl_log_open(log), 0);
    rl_log_destroy(&log);
}

static void
test_a_fifo_in_a_segments_place_is_refused_without_blocking(void **state)
{
    storage_world_t *world = *state;
    s_small_log(world);
    char path[PATH_MAX];
    storage_segment_path(world, 11, path);
    assert_int_equal(mkfifo(path, 0600), 0);
    /* Opened read-only, a FIFO would block the check until a writer
       came; opened read-write, it looked like an empty segment. */
    FILE *null = fopen("/dev/null", "w");
    assert_int_equal(rl_log_check(world->dir, null), EBADMSG);
    fclose(null);
    s_refused_unread(world, path);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode)); /* left for the operator */
}

static void
test_hard_state_snapshot_and_marker_claiming_too_much_are_refused_unread(
    void **state)
{
    storage_world_t *world = *state;
    static const struct {
        const char *name; /* file in the data directory */
        off_t size;       /* size the disk reports */
    } cases[] = {
        {"hardstate", 64 << 10},
        {"snapshot", (off_t)RL_LOG_MAX_SNAPSHOT_SIZE + (1 << 20)},
        {"raftlog.id", 1 << 20},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(world->dir, sizeof world->dir, "%s/data%zu", world->root, i);
        s_small_log(world);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", world->dir, cases[i].name);
        s_sparse_file(path, cases[i].size);
        s_refused_unread(world, path);
    }
    /* Not a regular file: a FIFO would block the open. */
    snprintf(world->dir, sizeof world->dir, "%s/data-fifo", world->root);
    s_small_log(world);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/hardstate", world->dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    s_refused_unread(world, path);
}

static void
test_a_record_whose_length_changed_after_open_is_reported_not_read_past(
    void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    /* Three records of 141, 141 and 230 bytes: 512 together, so that a
       fresh batch's buffer is exactly as large as what a read of all
       three puts in it. */
    static uint8_t payload[189];
    rl_entry_t entries[3];
    for (int i = 0; i < 3; i++)
        entries[i] = (rl_entry_t){.index = (uint64_t)i + 1,
                                  .term = 1,
                                  .data = payload,
                                  .size = i < 2 ? 92 : 181};
    assert_int_equal(rl_log_append(log, entries, 3), 0);
    assert_int_equal(rl_log_sync(log), 0);
    /* The disk now says record 1 is 508 bytes long, with a checksum that
       matches: its length ends 4 bytes before the end of record 3. */
    char path[PATH_MAX];
    storage_segment_path(world, 1, path);
    uint8_t records[512];
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, records, sizeof records, 32), 512);
    s_put32(records + 4, 500);
    s_put32(records, rl_crc32c(0, records + 4, 4 + 500));
    assert_int_equal(pwrite(fd, records, 8, 32), 8);
    close(fd);
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    assert_int_equal(rl_log_read(log, 1, 3, 0, &batch), EBADMSG);
    assert_int_equal(batch.count, 0);
    assert_non_null(strstr(rl_log_error(log), "index 1"));
    assert_non_null(strstr(rl_log_error(log), path));
    /* Entries after it are intact and still served. */
    assert_int_equal(rl_log_read(log, 2, 2, 0, &batch), 0);
    assert_int_equal(batch.count, 2);
    assert_int_equal(batch.entries[1].size, 181);
    rl_log_batch_close(&batch);
    rl_log_destroy(&log);
}

static void
test_indexes_outside_1_to_2_63_from_names_or_snapshots_are_refused(void **state)
{
    storage_world_t *world = *state;
    /* Segment names: index 0, and twenty digits past 2^64. */
    static const char *const names[] = {"00000000000000000000.log",
                                        "99999999999999999999.log",
                                        "09223372036854775808.log"};
    static const uint64_t firsts[] = {0, UINT64_MAX, UINT64_C(1) << 63};
    for (size_t i = 0; i < 3; i++) {
        snprintf(world->dir, sizeof world->dir, "%s/data%zu", world->root, i);
        rl_log_t *log = storage_open(world);
        rl_log_destroy(&log);
        char path[PATH_MAX], segment[PATH_MAX];
        assert_int_equal(unlink(storage_segment_path(world, 1, segment)), 0);
        snprintf(path, sizeof path, "%s/%s", world->dir, names[i]);
        s_header_only_segment(path, firsts[i]);
        char message[RL_LOG_ERROR_SIZE];
        assert_int_equal(storage_open_fails(world, message, sizeof message),
                         EBADMSG);
        if (!strstr(message, names[i]) || !strstr(message, "outside"))
            fail_msg("message '%s' does not refuse %s", message, names[i]);
    }

    /* A snapshot past the range: the log would restart after it. */
    snprintf(world->dir, sizeof world->dir, "%s/data-snapshot", world->root);
    rl_log_t *log = storage_open(world);
    rl_log_snapshot_t snapshot = {.last_index = UINT64_MAX - 2, .last_term = 1};
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), EINVAL);
    snapshot.last_index = INT64_MAX;
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), EINVAL);
    assert_int_equal(rl_log_first_index(log), 1);
    snapshot.last_index = INT64_MAX - 1; /* the last one that fits */
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), 0);
    assert_int_equal(rl_log_first_index(log), INT64_MAX);
    rl_log_destroy(&log);
    log = storage_open(world);
    assert_int_equal(rl_log_first_index(log), INT64_MAX);
    rl_log_destroy(&log);

    /* ... and one written by a disk that lies, with a valid checksum. */
    uint8_t file[44] = {0};
    s_put32(file, 0x4E534C52u); /* "RLSN" */
    s_put32(file + 4, 1);
    s_put64(file + 8, UINT64_MAX);
    s_put64(file + 16, 1);
    s_put32(file + 40, rl_crc32c(0, file, 40));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/snapshot", world->dir);
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, file, sizeof file), sizeof file);
    close(fd);
    char message[RL_LOG_ERROR_SIZE];
    assert_int_equal(storage_open_fails(world, message, sizeof message),
                     EBADMSG);
    assert_non_null(strstr(message, "last index 18446744073709551615"));
}

static void test_blobs_above_the_snapshot_limit_are_refused(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 10);
    /* Sizes only: the limit is checked before any byte is touched. */
    rl_log_snapshot_t snapshot = {.last_index = 5,
                                  .last_term = 1,
                                  .config = (const uint8_t *)"c",
                                  .config_size = RL_LOG_MAX_SNAPSHOT_SIZE,
                                  .state = (const uint8_t *)"s",
                                  .state_size = 1};
    assert_int_equal(rl_log_save_snapshot(log, &snapshot), EINVAL);
    assert_non_null(strstr(rl_log_error(log), "more than"));
    snapshot.config_size = SIZE_MAX;
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), EINVAL);
    assert_int_equal(rl_log_snapshot(log, &snapshot), ENOENT);
    rl_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORAGE_TEST(
            test_a_segment_file_larger_than_any_segment_is_refused_unread),
        STORAGE_TEST(
            test_a_fifo_in_a_segments_place_is_refused_without_blocking),
        STORAGE_TEST(
            test_hard_state_snapshot_and_marker_claiming_too_much_are_refused_unread),
        STORAGE_TEST(
            test_a_record_whose_length_changed_after_open_is_reported_not_read_past),
        STORAGE_TEST(
            test_indexes_outside_1_to_2_63_from_names_or_snapshots_are_refused),
        STORAGE_TEST(test_blobs_above_the_snapshot_limit_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  test_storage_sync.c - write and sync failures and group commit: rollback of
    a failed append, a failed fdatasync or directory fsync failing the log,
    one fdatasync per batch, the sync ticket on a helper thread
    (rl_log_sync.c, rl_log_append.c).
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
test_enospc_during_append_rolls_back_and_reports_the_errno_text(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    char path[PATH_MAX];
    off_t size = storage_file_size(storage_segment_path(world, 1, path));
    storage_io.match = ".log";
    storage_io.pwrite_countdown = 0;
    storage_io.pwrite_errno = ENOSPC;
    assert_int_equal(storage_append(log, 11, 5, 1), ENOSPC);
    assert_non_null(strstr(rl_log_error(log), "No space left on device"));
    assert_non_null(strstr(rl_log_error(log), "11..15"));
    assert_int_equal(rl_log_last_index(log), 10);
    assert_int_equal(storage_file_size(path), size);
    assert_false(rl_log_failed(log)); /* rolled back: still healthy */
    /* Space comes back: the log goes on where it was. */
    storage_io.match = NULL;
    storage_append_steps(log, 11, 12);
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(rl_log_durable_index(log), 12);
    rl_log_destroy(&log);
    log = storage_open(world);
    storage_assert_contents(log, 1, 12, storage_term_steps);
    rl_log_destroy(&log);
}

static void
test_short_write_then_error_is_rolled_back_and_never_durable(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 5);
    assert_int_equal(rl_log_sync(log), 0);
    storage_io.match = ".log";
    storage_io.pwrite_countdown = 0;
    storage_io.pwrite_short = true;
    storage_io.pwrite_errno = EIO;
    assert_int_equal(storage_append(log, 6, 8, 1), EIO);
    assert_non_null(strstr(rl_log_error(log), "Input/output error"));
    assert_int_equal(rl_log_last_index(log), 5);
    storage_io.match = NULL;
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(rl_log_durable_index(log), 5);
    rl_log_destroy(&log);
    log = storage_open(world);
    storage_assert_contents(log, 1, 5, storage_term_steps);
    rl_log_destroy(&log);
}

static void
test_failed_batch_across_a_rollover_removes_the_new_segment(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 10);
    size_t segments = storage_segment_count(world);
    /* The first pwrite fills the current segment; the header of the new
       segment is the second; the records in it are the third: fail it. */
    storage_io.match = ".log";
    storage_io.pwrite_countdown = 2;
    storage_io.pwrite_errno = ENOSPC;
    assert_int_equal(storage_append(log, 11, 60, 1), ENOSPC);
    assert_int_equal(rl_log_last_index(log), 10);
    assert_int_equal(storage_segment_count(world), segments);
    storage_io.match = NULL;
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = storage_open(world);
    storage_assert_contents(log, 1, 10, storage_term_steps);
    rl_log_destroy(&log);
}

static void
test_failed_fdatasync_fails_the_log_and_every_later_write(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 5);
    assert_int_equal(rl_log_sync(log), 0);
    storage_append_steps(log, 6, 8);
    storage_io.match = ".log";
    storage_io.fdatasync_errno = EIO;
    assert_int_equal(rl_log_sync(log), EIO);
    assert_non_null(strstr(rl_log_error(log), "fdatasync"));
    assert_non_null(strstr(rl_log_error(log), "restart"));
    assert_int_equal(rl_log_durable_index(log), 5);
    assert_true(rl_log_failed(log));
    /* No retry-and-pretend: even with the disk "healthy" again. */
    storage_io.fdatasync_errno = 0;
    assert_int_equal(rl_log_sync(log), EIO);
    assert_int_equal(storage_append(log, 9, 1, 1), EIO);
    assert_int_equal(rl_log_truncate(log, 3), EIO);
    assert_int_equal(rl_log_set_hard_state(log, 1, 1), EIO);
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    assert_int_equal(rl_log_read(log, 1, 1, 0, &batch), EIO);
    assert_int_equal(rl_log_durable_index(log), 5);
    assert_non_null(strstr(rl_log_error(log), "failed earlier"));
    rl_log_destroy(&log);
}

static void test_failed_directory_fsync_fails_the_log(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1,
                         100); /* creates segments: the directory is dirty */
    storage_io.match = world->dir; /* the directory (and its files) */
    storage_io.fsync_errno = EIO;  /* only fsync, which storage uses for it */
    int calls = storage_io.fdatasync_calls;
    assert_int_equal(rl_log_sync(log), EIO);
    assert_true(storage_io.fdatasync_calls > calls); /* segments synced fine */
    assert_non_null(strstr(rl_log_error(log), "directory"));
    storage_io.fsync_errno = 0;
    assert_int_equal(rl_log_sync(log), EIO);
    assert_int_equal(storage_append(log, 101, 1, 3), EIO);
    assert_int_equal(rl_log_durable_index(log), 0);
    rl_log_destroy(&log);
}

static void test_group_commit_calls_fdatasync_once_per_batch(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 1 << 20;
    rl_log_t *log = storage_open(world);
    rl_log_stats_t before, after;
    for (int batch = 0; batch < 5; batch++) {
        rl_log_stats(log, &before);
        int calls = storage_io.fdatasync_calls;
        uint64_t first = rl_log_last_index(log) + 1;
        for (int i = 0; i < 10; i++) /* ten appends, one sync */
            assert_int_equal(storage_append(log, first + (uint64_t)i * 3, 3, 1),
                             0);
        assert_int_equal(rl_log_durable_index(log), first - 1);
        assert_int_equal(rl_log_sync(log), 0);
        assert_int_equal(rl_log_durable_index(log), first + 29);
        rl_log_stats(log, &after);
        assert_int_equal(storage_io.fdatasync_calls - calls, 1);
        assert_int_equal(after.fdatasync_calls - before.fdatasync_calls, 1);
        assert_int_equal(after.write_calls - before.write_calls, 10);
        assert_int_equal(after.group_commits - before.group_commits, 1);
    }
    /* Nothing written: nothing to sync. */
    int calls = storage_io.fdatasync_calls;
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(storage_io.fdatasync_calls, calls);
    rl_log_destroy(&log);
}

/* The helper thread's side of a sync. */
static void *s_sync_thread(void *arg)
{
    rl_log_sync_ticket_t *ticket = arg;
    intptr_t rc = rl_log_sync_run(ticket);
    return (void *)rc;
}

static void
test_sync_on_a_helper_thread_covers_what_was_written_at_prepare(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 30);
    rl_log_sync_ticket_t ticket;
    assert_int_equal(rl_log_sync_prepare(log, &ticket), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_sync_thread, &ticket), 0);
    storage_append_steps(log, 31, 60); /* the loop keeps appending meanwhile */
    void *result;
    assert_int_equal(pthread_join(thread, &result), 0);
    assert_int_equal(rl_log_sync_finish(log, &ticket, (int)(intptr_t)result),
                     0);
    assert_int_equal(rl_log_durable_index(log), 30);
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(rl_log_durable_index(log), 60);
    rl_log_destroy(&log);
}

static void
test_truncate_during_an_outstanding_sync_caps_the_durable_index(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 30);
    assert_int_equal(rl_log_sync(log), 0);
    storage_append_steps(log, 31, 50);
    rl_log_sync_ticket_t ticket;
    assert_int_equal(rl_log_sync_prepare(log, &ticket), 0);
    /* A new leader overwrites 41.. while the sync of ..50 runs. */
    assert_int_equal(rl_log_truncate(log, 41), 0);
    for (uint64_t index = 41; index <= 45; index++)
        assert_int_equal(storage_append(log, index, 1, 9), 0);
    int rc = rl_log_sync_run(&ticket);
    assert_int_equal(rl_log_sync_finish(log, &ticket, rc), 0);
    assert_int_equal(rl_log_durable_index(log), 40);
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(rl_log_durable_index(log), 45);
    rl_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORAGE_TEST(
            test_enospc_during_append_rolls_back_and_reports_the_errno_text),
        STORAGE_TEST(
            test_short_write_then_error_is_rolled_back_and_never_durable),
        STORAGE_TEST(
            test_failed_batch_across_a_rollover_removes_the_new_segment),
        STORAGE_TEST(test_failed_fdatasync_fails_the_log_and_every_later_write),
        STORAGE_TEST(test_failed_directory_fsync_fails_the_log),
        STORAGE_TEST(test_group_commit_calls_fdatasync_once_per_batch),
        STORAGE_TEST(
            test_sync_on_a_helper_thread_covers_what_was_written_at_prepare),
        STORAGE_TEST(
            test_truncate_during_an_outstanding_sync_caps_the_durable_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  test_storage_state.c - what a data directory remembers besides entries: the
    hard state, the marker and the writer's lock, snapshots saved and
    installed (rl_log_hard_state.c, rl_log_dir.c, rl_log_snapshot.c).
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

static void test_hard_state_survives_reopen(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    uint64_t term, vote;
    rl_log_hard_state(log, &term, &vote);
    assert_int_equal(term, 0);
    assert_int_equal(vote, 0);
    assert_int_equal(rl_log_set_hard_state(log, 5, 3), 0);
    assert_int_equal(rl_log_set_hard_state(log, 6, 0), 0);
    rl_log_destroy(&log);
    log = storage_open(world);
    rl_log_hard_state(log, &term, &vote);
    assert_int_equal(term, 6);
    assert_int_equal(vote, 0);
    rl_log_destroy(&log);
}

static void test_torn_hard_state_write_leaves_the_previous_value(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    assert_int_equal(rl_log_set_hard_state(log, 5, 3), 0);
    storage_io.match = "hardstate.tmp";
    storage_io.pwrite_countdown = 0;
    storage_io.pwrite_short = true;
    storage_io.pwrite_errno = ENOSPC;
    assert_int_equal(rl_log_set_hard_state(log, 9, 9), ENOSPC);
    assert_non_null(strstr(rl_log_error(log), "No space left on device"));
    uint64_t term, vote;
    rl_log_hard_state(log, &term, &vote);
    assert_int_equal(term, 5);
    rl_log_destroy(&log);

    /* A crash mid-write leaves a torn temporary file: ignored. */
    char temp[PATH_MAX];
    snprintf(temp, sizeof temp, "%s/hardstate.tmp", world->dir);
    FILE *torn = fopen(temp, "w");
    fputs("RLHS", torn);
    fclose(torn);
    storage_io.match = NULL;
    log = storage_open(world);
    rl_log_hard_state(log, &term, &vote);
    assert_int_equal(term, 5);
    assert_int_equal(vote, 3);
    assert_int_equal(access(temp, F_OK), -1);
    rl_log_destroy(&log);

    /* A damaged hard state file itself is refused, never guessed. */
    char path[PATH_MAX], message[RL_LOG_ERROR_SIZE];
    snprintf(path, sizeof path, "%s/hardstate", world->dir);
    storage_flip_bit(path, 9);
    assert_int_equal(storage_open_fails(world, message, sizeof message),
                     EBADMSG);
    assert_non_null(strstr(message, "hard state"));
}

static void
test_marker_of_another_node_or_a_second_writer_refuses_open(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    rl_log_destroy(&log);
    rl_log_config_t config = storage_config(world);
    config.node_id = 2;
    log = rl_log_new(&config);
    assert_int_equal(rl_log_open(log), EXDEV);
    const char *message = rl_log_error(log);
    assert_non_null(strstr(message, "belongs to cluster 'alpha' node 1"));
    assert_non_null(strstr(message, "this node is cluster 'alpha' node 2"));
    assert_non_null(strstr(message, "move"));
    rl_log_destroy(&log);
    config.node_id = 1;
    config.cluster = "beta";
    log = rl_log_new(&config);
    assert_int_equal(rl_log_open(log), EXDEV);
    assert_non_null(strstr(rl_log_error(log), "cluster 'beta' node 1"));
    rl_log_destroy(&log);
    /* A second writer on the same directory is refused while the first
       has it open; a read-only check is not. */
    config.node_id = 1;
    config.cluster = "alpha";
    log = storage_open(world);
    rl_log_t *second = rl_log_new(&config);
    assert_int_equal(rl_log_open(second), EBUSY);
    assert_non_null(strstr(rl_log_error(second), "in use by another"));
    rl_log_destroy(&second);
    config.node_id = 2; /* busy and another node's: the marker is the news */
    second = rl_log_new(&config);
    assert_int_equal(rl_log_open(second), EXDEV);
    rl_log_destroy(&second);
    config.node_id = 1;
    FILE *null = fopen("/dev/null", "w");
    assert_int_equal(rl_log_check(world->dir, null), 0);
    fclose(null);
    rl_log_destroy(&log);
    /* Without create, an empty directory is not silently made a log. */
    config.cluster = "alpha";
    config.create = false;
    config.dir = world->root;
    log = rl_log_new(&config);
    assert_int_equal(rl_log_open(log), ENOENT);
    rl_log_destroy(&log);
}

static void
test_installed_snapshot_matching_the_log_keeps_later_entries(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 100);
    rl_log_snapshot_t snapshot = {.last_index = 60,
                                  .last_term = 2,
                                  .config = (const uint8_t *)"cfg",
                                  .config_size = 3,
                                  .state = (const uint8_t *)"sessions",
                                  .state_size = 8};
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), 0);
    assert_int_equal(rl_log_last_index(log), 100);
    assert_true(rl_log_first_index(log) <= 61);
    assert_true(rl_log_first_index(log) > 1);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = storage_open(world);
    assert_int_equal(rl_log_last_index(log), 100);
    rl_log_snapshot_t loaded;
    assert_int_equal(rl_log_snapshot(log, &loaded), 0);
    assert_int_equal(loaded.last_index, 60);
    assert_int_equal(loaded.last_term, 2);
    assert_int_equal(loaded.config_size, 3);
    assert_memory_equal(loaded.config, "cfg", 3);
    assert_int_equal(loaded.state_size, 8);
    assert_memory_equal(loaded.state, "sessions", 8);
    rl_log_destroy(&log);
}

static void
test_installed_snapshot_not_matching_the_log_discards_it(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 50);
    rl_log_snapshot_t snapshot = {.last_index = 45, .last_term = 7};
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), 0);
    assert_int_equal(rl_log_first_index(log), 46);
    assert_int_equal(rl_log_last_index(log), 45);
    assert_int_equal(rl_log_last_term(log), 7);
    assert_int_equal(rl_log_durable_index(log), 45);
    char path[PATH_MAX];
    assert_int_equal(storage_segment_count(world), 1);
    assert_int_equal(access(storage_segment_path(world, 46, path), F_OK), 0);
    assert_int_equal(storage_append(log, 46, 2, 7), 0);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = storage_open(world);
    assert_int_equal(rl_log_first_index(log), 46);
    assert_int_equal(rl_log_last_index(log), 47);
    uint64_t term;
    assert_int_equal(rl_log_term(log, 45, &term), 0);
    assert_int_equal(term, 7);
    /* A snapshot beyond the end of the log discards it too. */
    snapshot.last_index = 500;
    snapshot.last_term = 8;
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), 0);
    assert_int_equal(rl_log_first_index(log), 501);
    rl_log_destroy(&log);
}

static void test_interrupted_snapshot_install_is_finished_on_open(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 30);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    /* Write the snapshot file as the install would, then "crash" before
       the log is discarded: reopen with the snapshot but the old log. */
    storage_world_t scratch = *world;
    snprintf(scratch.dir, sizeof scratch.dir, "%s/other", world->root);
    const char *other = scratch.dir;
    log = storage_open(&scratch);
    rl_log_snapshot_t snapshot = {.last_index = 80, .last_term = 4};
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), 0);
    rl_log_destroy(&log);
    char from[PATH_MAX + 16], to[PATH_MAX + 16];
    snprintf(from, sizeof from, "%s/snapshot", other);
    snprintf(to, sizeof to, "%s/snapshot", world->dir);
    assert_int_equal(rename(from, to), 0);
    world->warnings[0] = '\0';
    log = storage_open(world);
    assert_non_null(strstr(world->warnings, "interrupted"));
    assert_int_equal(rl_log_first_index(log), 81);
    assert_int_equal(rl_log_last_index(log), 80);
    assert_int_equal(rl_log_last_term(log), 4);
    rl_log_destroy(&log);
}

static void
test_saving_a_snapshot_that_the_log_does_not_hold_is_refused(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = storage_open(world);
    storage_append_steps(log, 1, 50);
    rl_log_snapshot_t snapshot = {.last_index = 45, .last_term = 2};
    assert_int_equal(rl_log_save_snapshot(log, &snapshot), 0);
    snapshot.last_term = 3;
    assert_int_equal(rl_log_save_snapshot(log, &snapshot), EINVAL);
    rl_log_snapshot_t saved;
    assert_int_equal(rl_log_snapshot(log, &saved), 0);
    assert_int_equal(saved.last_term, 2);
    assert_int_equal(rl_log_last_index(log), 50);
    rl_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORAGE_TEST(test_hard_state_survives_reopen),
        STORAGE_TEST(test_torn_hard_state_write_leaves_the_previous_value),
        STORAGE_TEST(
            test_marker_of_another_node_or_a_second_writer_refuses_open),
        STORAGE_TEST(
            test_installed_snapshot_matching_the_log_keeps_later_entries),
        STORAGE_TEST(test_installed_snapshot_not_matching_the_log_discards_it),
        STORAGE_TEST(test_interrupted_snapshot_install_is_finished_on_open),
        STORAGE_TEST(
            test_saving_a_snapshot_that_the_log_does_not_hold_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  test_storage_sync_batch.c - group commit across logs
    (node/storage/rl_sync_batch.c): one batch of tickets, one per log
    written, run in one pass; every log's durable index rises to what its
    ticket covered; a failing log fails only itself; a batch runs on
    another thread while the owner goes on appending.
*/
#include "rl_sync_batch.h"
#include "storage_fixture.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define LOGS 4

/* Opens log i of the world, in ROOT/log-i, with the fixture's io. */
static rl_log_t *s_open(storage_world_t *world, int i)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/log-%d", world->root, i);
    rl_log_config_t config = storage_config(world);
    config.dir = dir;
    rl_log_t *log = rl_log_new(&config);
    assert_non_null(log);
    assert_int_equal(rl_log_open(log), 0);
    return log;
}

static void test_one_batch_makes_every_written_log_durable(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *logs[LOGS];
    rl_log_sync_ticket_t tickets[LOGS];
    rl_sync_batch_t batch;
    rl_sync_batch_init(&batch);
    for (int i = 0; i < LOGS; i++) {
        logs[i] = s_open(world, i);
        /* log i has 10 * (i + 1) entries: some span two segments */
        assert_int_equal(storage_append(logs[i], 1, 10 * (size_t)(i + 1), 1),
                         0);
        assert_int_equal(rl_log_durable_index(logs[i]), 0);
        assert_int_equal(rl_log_sync_prepare(logs[i], &tickets[i]), 0);
        assert_int_equal(rl_sync_batch_add(&batch, &tickets[i], logs[i]), 0);
    }
    int before = storage_io.fdatasync_calls;
    assert_int_equal(rl_sync_batch_run(&batch), 0);
    int segments = 0;
    for (int i = 0; i < LOGS; i++)
        segments += (int)tickets[i].fd_count;
    /* one fdatasync per dirty segment of each log, no more */
    assert_int_equal(storage_io.fdatasync_calls - before, segments);
    assert_int_equal(batch.count, LOGS);
    for (size_t i = 0; i < batch.count; i++) {
        rl_log_t *log = batch.items[i].owner;
        assert_int_equal(batch.items[i].result, 0);
        assert_int_equal(rl_log_sync_finish(log, batch.items[i].ticket,
                                            batch.items[i].result),
                         0);
        assert_int_equal(rl_log_durable_index(log), rl_log_last_index(log));
    }
    rl_sync_batch_close(&batch);
    rl_sync_batch_close(&batch); /* twice is harmless */
    for (int i = 0; i < LOGS; i++)
        rl_log_destroy(&logs[i]);
}

static void test_a_failing_log_fails_only_itself(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *logs[LOGS];
    rl_log_sync_ticket_t tickets[LOGS];
    rl_sync_batch_t batch;
    rl_sync_batch_init(&batch);
    for (int i = 0; i < LOGS; i++) {
        logs[i] = s_open(world, i);
        assert_int_equal(storage_append(logs[i], 1, 5, 1), 0);
        assert_int_equal(rl_log_sync_prepare(logs[i], &tickets[i]), 0);
        assert_int_equal(rl_sync_batch_add(&batch, &tickets[i], logs[i]), 0);
    }
    storage_io.match = "log-2/";
    storage_io.fdatasync_errno = EIO;
    assert_int_equal(rl_sync_batch_run(&batch), 1);
    storage_io.fdatasync_errno = 0;
    for (size_t i = 0; i < batch.count; i++) {
        rl_log_t *log = batch.items[i].owner;
        int rc = rl_log_sync_finish(log, batch.items[i].ticket,
                                    batch.items[i].result);
        if (i == 2) {
            assert_int_equal(batch.items[i].result, EIO);
            assert_int_equal(rc, EIO);
            assert_true(rl_log_failed(log));
            assert_int_equal(rl_log_durable_index(log), 0);
        } else {
            assert_int_equal(rc, 0);
            assert_false(rl_log_failed(log));
            assert_int_equal(rl_log_durable_index(log), 5);
            /* and goes on */
            assert_int_equal(storage_append(log, 6, 1, 1), 0);
            assert_int_equal(rl_log_sync(log), 0);
            assert_int_equal(rl_log_durable_index(log), 6);
        }
    }
    rl_sync_batch_close(&batch);
    for (int i = 0; i < LOGS; i++)
        rl_log_destroy(&logs[i]);
}

static void test_a_batch_of_one_costs_what_one_ticket_does(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *log = s_open(world, 0);
    rl_log_sync_ticket_t ticket;
    rl_sync_batch_t batch;
    rl_sync_batch_init(&batch);
    assert_int_equal(storage_append(log, 1, 3, 1), 0);
    assert_int_equal(rl_log_sync_prepare(log, &ticket), 0);
    assert_int_equal(rl_sync_batch_add(&batch, &ticket, log), 0);
    int before = storage_io.fdatasync_calls;
    assert_int_equal(rl_sync_batch_run(&batch), 0);
    assert_int_equal(storage_io.fdatasync_calls - before, 1);
    assert_int_equal(rl_log_sync_finish(log, &ticket, batch.items[0].result),
                     0);
    assert_int_equal(rl_log_durable_index(log), 3);
    rl_sync_batch_close(&batch);
    rl_log_destroy(&log);
}

static void test_a_batch_grows_and_clear_keeps_its_array(void **state)
{
    (void)state;
    rl_sync_batch_t batch;
    rl_sync_batch_init(&batch);
    rl_log_sync_ticket_t tickets[100];
    memset(tickets, 0, sizeof tickets);
    for (int i = 0; i < 100; i++)
        assert_int_equal(rl_sync_batch_add(&batch, &tickets[i], &tickets[i]),
                         0);
    assert_int_equal(batch.count, 100);
    for (int i = 0; i < 100; i++)
        assert_ptr_equal(batch.items[i].owner, &tickets[i]);
    size_t capacity = batch.capacity;
    rl_sync_batch_item_t *items = batch.items;
    rl_sync_batch_clear(&batch);
    assert_int_equal(batch.count, 0);
    assert_int_equal(batch.capacity, capacity);
    assert_ptr_equal(batch.items, items);
    /* an empty batch runs to nothing */
    assert_int_equal(rl_sync_batch_run(&batch), 0);
    rl_sync_batch_close(&batch);
    assert_null(batch.items);
}

static uint64_t s_term_one(uint64_t index)
{
    (void)index;
    return 1;
}

static void *s_run_thread(void *batch)
{
    return (void *)(intptr_t)rl_sync_batch_run(batch);
}

static void test_a_batch_runs_on_a_helper_while_the_owner_appends(void **state)
{
    storage_world_t *world = *state;
    rl_log_t *logs[LOGS];
    rl_log_sync_ticket_t tickets[LOGS];
    rl_sync_batch_t batch;
    rl_sync_batch_init(&batch);
    for (int i = 0; i < LOGS; i++) {
        logs[i] = s_open(world, i);
        assert_int_equal(storage_append(logs[i], 1, 20, 1), 0);
        assert_int_equal(rl_log_sync_prepare(logs[i], &tickets[i]), 0);
        assert_int_equal(rl_sync_batch_add(&batch, &tickets[i], logs[i]), 0);
    }
    pthread_t helper;
    assert_int_equal(pthread_create(&helper, NULL, s_run_thread, &batch), 0);
    /* the owner goes on writing every log meanwhile */
    for (int i = 0; i < LOGS; i++)
        assert_int_equal(storage_append(logs[i], 21, 30, 1), 0);
    void *failed;
    assert_int_equal(pthread_join(helper, &failed), 0);
    assert_int_equal((intptr_t)failed, 0);
    for (int i = 0; i < LOGS; i++) {
        assert_int_equal(rl_log_sync_finish(logs[i], &tickets[i], 0), 0);
        /* what the ticket covered, not what came after it */
        assert_int_equal(rl_log_durable_index(logs[i]), 20);
        assert_int_equal(rl_log_sync(logs[i]), 0);
        assert_int_equal(rl_log_durable_index(logs[i]), 50);
        storage_assert_contents(logs[i], 1, 50, s_term_one);
        rl_log_destroy(&logs[i]);
    }
    rl_sync_batch_close(&batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORAGE_TEST(test_one_batch_makes_every_written_log_durable),
        STORAGE_TEST(test_a_failing_log_fails_only_itself),
        STORAGE_TEST(test_a_batch_of_one_costs_what_one_ticket_does),
        STORAGE_TEST(test_a_batch_grows_and_clear_keeps_its_array),
        STORAGE_TEST(test_a_batch_runs_on_a_helper_while_the_owner_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

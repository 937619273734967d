/*  test_storage_sync_batch.c - group commit across logs
    (node/storage/rl_sync_batch.c): one batch of tickets, one per log
    written, run in one pass; every log's durable index rises to what its
    ticket covered; a failing log fails only itself; a batch runs on
    another thread while the owner goes on appending; the tickets of a
    batch are synced concurrently by its sync threads (a batch of one on
    the calling thread), each with its own result, and close joins them;
    with a shared filesystem, one syncfs makes the batch's logs on it
    durable, and a failed one leaves each log its own fdatasync's result.
*/
#include "rl_sync_batch.h"
#include "storage_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

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

/* ---- Concurrency: an io whose fdatasync counts who is inside ---- */

/* What the meeting fdatasync saw. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t arrived_cond;
    int expected;          /* fdatasyncs that must all be in at once, 0: none */
    int arrived;           /* fdatasyncs that came in */
    int inside;            /* fdatasyncs in progress */
    int most_inside;       /* the most in progress at once */
    int timed_out;         /* fdatasyncs that waited in vain */
    pthread_t callers[64]; /* the thread of each fdatasync, in order */
    int failing_fd[64];    /* fds whose fdatasync fails with EIO */
    int failing_count;
} s_meet = {.lock = PTHREAD_MUTEX_INITIALIZER,
            .arrived_cond = PTHREAD_COND_INITIALIZER};

static rl_io_t s_meeting_io;

/* Waits (10 s at most: a deadline, not a pause) until s_meet.expected
   fdatasyncs are in at once; so with expected > 1 it returns 0 only if
   the batch syncs concurrently. Fails the fds in failing_fd with EIO. */
static int s_meeting_fdatasync(int fd)
{
    pthread_mutex_lock(&s_meet.lock);
    if (s_meet.arrived < 64)
        s_meet.callers[s_meet.arrived] = pthread_self();
    s_meet.arrived++;
    s_meet.inside++;
    if (s_meet.inside > s_meet.most_inside)
        s_meet.most_inside = s_meet.inside;
    pthread_cond_broadcast(&s_meet.arrived_cond);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    int rc = 0;
    while (rc == 0 && s_meet.arrived < s_meet.expected)
        rc = pthread_cond_timedwait(&s_meet.arrived_cond, &s_meet.lock,
                                    &deadline);
    bool failing = false;
    for (int i = 0; i < s_meet.failing_count; i++)
        failing |= s_meet.failing_fd[i] == fd;
    if (rc != 0)
        s_meet.timed_out++;
    s_meet.inside--;
    pthread_mutex_unlock(&s_meet.lock);
    if (rc != 0 || failing) {
        errno = rc != 0 ? ETIMEDOUT : EIO;
        return -1;
    }
    return 0;
}

/* Clears what the meeting fdatasync saw, and from now on makes each wait
   for `expected` at once (opening a log syncs too: expect 0 meanwhile). */
static void s_meet_expect(int expected)
{
    pthread_mutex_lock(&s_meet.lock);
    s_meet.expected = expected;
    s_meet.arrived = s_meet.inside = s_meet.most_inside = 0;
    s_meet.timed_out = s_meet.failing_count = 0;
    pthread_mutex_unlock(&s_meet.lock);
}

/* The meeting io, on libc through the fixture's io, expecting nothing. */
static void s_meet_reset(void)
{
    s_meet_expect(0);
    s_meeting_io = storage_faulty_io;
    s_meeting_io.fdatasync = s_meeting_fdatasync;
}

/* Opens log i of the world with the meeting io. */
static rl_log_t *s_open_meeting(storage_world_t *world, int i)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/log-%d", world->root, i);
    rl_log_config_t config = storage_config(world);
    config.dir = dir;
    config.io = &s_meeting_io;
    rl_log_t *log = rl_log_new(&config);
    assert_non_null(log);
    assert_int_equal(rl_log_open(log), 0);
    return log;
}

/* This process's threads, from /proc/self/task. */
static int s_thread_count(void)
{
    DIR *dir = opendir("/proc/self/task");
    assert_non_null(dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)))
        count += entry->d_name[0] != '.';
    closedir(dir);
    return count;
}

static void test_a_batch_syncs_its_logs_concurrently(void **state)
{
    storage_world_t *world = *state;
    s_meet_reset();
    rl_log_t *logs[LOGS];
    rl_log_sync_ticket_t tickets[LOGS];
    rl_sync_batch_t batch;
    rl_sync_batch_init(&batch);
    for (int i = 0; i < LOGS; i++) {
        logs[i] = s_open_meeting(world, i);
        assert_int_equal(storage_append(logs[i], 1, 3, 1), 0);
        assert_int_equal(rl_log_sync_prepare(logs[i], &tickets[i]), 0);
        assert_int_equal(tickets[i].fd_count, 1);
        assert_int_equal(rl_sync_batch_add(&batch, &tickets[i], logs[i]), 0);
    }
    /* every fdatasync waits for all the others: one after another, the
       first would wait for the rest in vain */
    s_meet_expect(LOGS);
    assert_int_equal(rl_sync_batch_run(&batch), 0);
    assert_int_equal(s_meet.timed_out, 0);
    assert_int_equal(s_meet.most_inside, LOGS);
    /* the calling thread synced one of them, others the rest */
    bool by_caller = false;
    for (int i = 0; i < LOGS; i++)
        by_caller |= pthread_equal(s_meet.callers[i], pthread_self()) != 0;
    assert_true(by_caller);
    for (int i = 0; i < LOGS; i++) {
        assert_int_equal(batch.items[i].result, 0);
        assert_int_equal(rl_log_sync_finish(logs[i], &tickets[i], 0), 0);
        assert_int_equal(rl_log_durable_index(logs[i]), 3);
    }
    /* the threads stay for the next batch, and do it again */
    rl_sync_batch_clear(&batch);
    for (int i = 0; i < LOGS; i++) {
        assert_int_equal(storage_append(logs[i], 4, 2, 1), 0);
        assert_int_equal(rl_log_sync_prepare(logs[i], &tickets[i]), 0);
        assert_int_equal(rl_sync_batch_add(&batch, &tickets[i], logs[i]), 0);
    }
    s_meet_expect(LOGS);
    assert_int_equal(rl_sync_batch_run(&batch), 0);
    assert_int_equal(s_meet.timed_out, 0);
    for (int i = 0; i < LOGS; i++) {
        assert_int_equal(rl_log_sync_finish(logs[i], &tickets[i], 0), 0);
        assert_int_equal(rl_log_durable_index(logs[i]), 5);
        rl_log_destroy(&logs[i]);
    }
    rl_sync_batch_close(&batch);
}

static void test_a_batch_of_one_syncs_on_the_calling_thread(void **state)
{
    storage_world_t *world = *state;
    s_meet_reset();
    int threads = s_thread_count();
    rl_log_t *log = s_open_meeting(world, 0);
    rl_log_sync_ticket_t ticket;
    rl_sync_batch_t batch;
    rl_sync_batch_init(&batch);
    assert_int_equal(storage_append(log, 1, 3, 1), 0);
    assert_int_equal(rl_log_sync_prepare(log, &ticket), 0);
    assert_int_equal(rl_sync_batch_add(&batch, &ticket, log), 0);
    s_meet_expect(0);
    assert_int_equal(rl_sync_batch_run(&batch), 0);
    assert_int_equal(s_meet.arrived, 1);
    assert_true(pthread_equal(s_meet.callers[0], pthread_self()));
    /* and starts no thread */
    assert_null(batch.pool);
    assert_int_equal(s_thread_count(), threads);
    assert_int_equal(rl_log_sync_finish(log, &ticket, batch.items[0].result),
                     0);
    assert_int_equal(rl_log_durable_index(log), 3);
    rl_sync_batch_close(&batch);
    rl_log_destroy(&log);
}

#define MANY_LOGS (2 * RL_SYNC_BATCH_THREADS + 3)

static void test_more_logs_than_threads_each_get_their_own_result(void **state)
{
    storage_world_t *world = *state;
    s_meet_reset();
    int threads = s_thread_count();
    rl_log_t *logs[MANY_LOGS];
    rl_log_sync_ticket_t tickets[MANY_LOGS];
    rl_sync_batch_t batch;
    rl_sync_batch_init(&batch);
    for (int i = 0; i < MANY_LOGS; i++) {
        logs[i] = s_open_meeting(world, i);
        assert_int_equal(storage_append(logs[i], 1, 2, 1), 0);
        assert_int_equal(rl_log_sync_prepare(logs[i], &tickets[i]), 0);
        assert_int_equal(tickets[i].fd_count, 1);
        assert_int_equal(rl_sync_batch_add(&batch, &tickets[i], logs[i]), 0);
    }
    /* as many at once as the batch allows (the rest wait their turn);
       logs 3 and 11 fail, on whichever thread syncs them */
    s_meet_expect(RL_SYNC_BATCH_THREADS);
    s_meet.failing_fd[s_meet.failing_count++] = tickets[3].fds[0];
    s_meet.failing_fd[s_meet.failing_count++] = tickets[11].fds[0];
    assert_int_equal(rl_sync_batch_run(&batch), 2);
    assert_int_equal(s_meet.timed_out, 0);
    assert_int_equal(s_meet.arrived, MANY_LOGS);
    /* never more than the bound at once */
    assert_int_equal(s_meet.most_inside, RL_SYNC_BATCH_THREADS);
    assert_int_equal(s_thread_count(), threads + RL_SYNC_BATCH_THREADS - 1);
    for (int i = 0; i < MANY_LOGS; i++) {
        bool failing = i == 3 || i == 11;
        assert_ptr_equal(batch.items[i].owner, logs[i]);
        assert_int_equal(batch.items[i].result, failing ? EIO : 0);
        assert_int_equal(
            rl_log_sync_finish(logs[i], &tickets[i], batch.items[i].result),
            failing ? EIO : 0);
        assert_int_equal(rl_log_failed(logs[i]), failing);
        assert_int_equal(rl_log_durable_index(logs[i]), failing ? 0 : 2);
        rl_log_destroy(&logs[i]);
    }
    rl_sync_batch_close(&batch);
}

static void test_close_stops_and_joins_the_sync_threads(void **state)
{
    storage_world_t *world = *state;
    s_meet_reset();
    int threads = s_thread_count();
    rl_log_t *logs[LOGS];
    rl_log_sync_ticket_t tickets[LOGS];
    rl_sync_batch_t batch;
    rl_sync_batch_init(&batch);
    for (int i = 0; i < LOGS; i++) {
        logs[i] = s_open_meeting(world, i);
        assert_int_equal(storage_append(logs[i], 1, 1, 1), 0);
        assert_int_equal(rl_log_sync_prepare(logs[i], &tickets[i]), 0);
        assert_int_equal(rl_sync_batch_add(&batch, &tickets[i], logs[i]), 0);
    }
    assert_int_equal(rl_sync_batch_run(&batch), 0);
    assert_non_null(batch.pool);
    assert_int_equal(s_thread_count(), threads + LOGS - 1);
    for (int i = 0; i < LOGS; i++) {
        assert_int_equal(rl_log_sync_finish(logs[i], &tickets[i], 0), 0);
        rl_log_destroy(&logs[i]);
    }
    rl_sync_batch_close(&batch);
    /* joined: gone by the time close returns */
    assert_null(batch.pool);
    assert_int_equal(s_thread_count(), threads);
    rl_sync_batch_close(&batch); /* twice is harmless */
}

/* ---- One syncfs for the logs on a shared filesystem ---- */

/* LOGS logs, each with `count` entries from `from` written and its ticket
   in batch. */
static void s_write_all(rl_log_t **logs, rl_log_sync_ticket_t *tickets,
                        rl_sync_batch_t *batch, uint64_t from, size_t count)
{
    rl_sync_batch_clear(batch);
    for (int i = 0; i < LOGS; i++) {
        if (rl_log_failed(logs[i]))
            continue;
        assert_int_equal(storage_append(logs[i], from, count, 1), 0);
        assert_int_equal(rl_log_sync_prepare(logs[i], &tickets[i]), 0);
        assert_int_equal(rl_sync_batch_add(batch, &tickets[i], logs[i]), 0);
    }
}

/* Finishes every ticket of batch with its result; how many failed. */
static int s_finish_all(rl_sync_batch_t *batch)
{
    int failed = 0;
    for (size_t i = 0; i < batch->count; i++)
        failed +=
            rl_log_sync_finish(batch->items[i].owner, batch->items[i].ticket,
                               batch->items[i].result) != 0;
    return failed;
}

/* The world's root, where the LOGS logs live: the filesystem they share,
   opened before anything is written (rl_sync_batch_share_filesystem). */
static int s_open_root(storage_world_t *world)
{
    int fd = open(world->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

/* LOGS logs in the world's root and a batch sharing the root's
   filesystem from `from` tickets. */
typedef struct {
    int root;
    rl_log_t *logs[LOGS];
    rl_log_sync_ticket_t tickets[LOGS];
    rl_sync_batch_t batch;
} s_shared_t;

static void s_shared_open(storage_world_t *world, s_shared_t *w, size_t from)
{
    w->root = s_open_root(world);
    rl_sync_batch_init(&w->batch);
    assert_int_equal(rl_sync_batch_share_filesystem(&w->batch, w->root, from,
                                                    &storage_faulty_io),
                     0);
    for (int i = 0; i < LOGS; i++)
        w->logs[i] = s_open(world, i);
}

static void s_shared_close(s_shared_t *w)
{
    rl_sync_batch_close(&w->batch);
    for (int i = 0; i < LOGS; i++)
        rl_log_destroy(&w->logs[i]);
    close(w->root);
}

static void
test_one_syncfs_makes_every_log_on_the_filesystem_durable(void **state)
{
    storage_world_t *world = *state;
    s_shared_t w;
    s_shared_open(world, &w, 2);
    s_write_all(w.logs, w.tickets, &w.batch, 1, 10);
    int fdatasyncs = storage_io.fdatasync_calls;
    int fsyncs = storage_io.fsync_calls;
    assert_int_equal(rl_sync_batch_run(&w.batch), 0);
    /* one syncfs, and no fdatasync or directory fsync at all */
    assert_int_equal(storage_io.syncfs_calls, 1);
    assert_int_equal(storage_io.fdatasync_calls, fdatasyncs);
    assert_int_equal(storage_io.fsync_calls, fsyncs);
    assert_int_equal(w.batch.fs.calls, 1);
    assert_int_equal(s_finish_all(&w.batch), 0);
    for (int i = 0; i < LOGS; i++) {
        assert_int_equal(rl_log_durable_index(w.logs[i]), 10);
        rl_log_stats_t stats;
        rl_log_stats(w.logs[i], &stats);
        assert_int_equal(stats.filesystem_syncs, 1);
        assert_int_equal(stats.group_commits, 1);
    }
    s_shared_close(&w);
}

static void test_fewer_logs_than_syncfs_from_fdatasync_each(void **state)
{
    storage_world_t *world = *state;
    s_shared_t w;
    s_shared_open(world, &w, LOGS + 1);
    s_write_all(w.logs, w.tickets, &w.batch, 1, 3);
    int before = storage_io.fdatasync_calls;
    assert_int_equal(rl_sync_batch_run(&w.batch), 0);
    assert_int_equal(storage_io.syncfs_calls, 0);
    assert_int_equal(storage_io.fdatasync_calls - before, LOGS);
    assert_int_equal(s_finish_all(&w.batch), 0);
    for (int i = 0; i < LOGS; i++) {
        assert_int_equal(rl_log_durable_index(w.logs[i]), 3);
        rl_log_stats_t stats;
        rl_log_stats(w.logs[i], &stats);
        assert_int_equal(stats.filesystem_syncs, 0);
    }
    s_shared_close(&w);
}

static void test_syncfs_from_zero_never_syncs_the_filesystem(void **state)
{
    storage_world_t *world = *state;
    s_shared_t w;
    s_shared_open(world, &w, 0);
    assert_int_equal(w.batch.fs.fd, -1);
    s_write_all(w.logs, w.tickets, &w.batch, 1, 2);
    assert_int_equal(rl_sync_batch_run(&w.batch), 0);
    assert_int_equal(storage_io.syncfs_calls, 0);
    assert_int_equal(s_finish_all(&w.batch), 0);
    s_shared_close(&w);
}

/* A failed syncfs says nothing of which file lost a write: each log of
   the w.batch learns its own fate from its own fdatasync, and the batches
   after are all fdatasyncs (the failing file may be a log written after
   this w.batch was made) until the owner says every log is durable. */
static void test_a_failed_syncfs_leaves_each_log_its_own_result(void **state)
{
    storage_world_t *world = *state;
    s_shared_t w;
    s_shared_open(world, &w, 2);
    s_write_all(w.logs, w.tickets, &w.batch, 1, 5);
    storage_io.syncfs_errno = EIO;
    storage_io.match = "log-2/";
    storage_io.fdatasync_errno = EIO;
    int before = storage_io.fdatasync_calls;
    assert_int_equal(rl_sync_batch_run(&w.batch), 1);
    storage_io.syncfs_errno = 0;
    storage_io.fdatasync_errno = 0;
    assert_int_equal(storage_io.syncfs_calls, 1);
    assert_int_equal(w.batch.fs.failures, 1);
    assert_int_equal(storage_io.fdatasync_calls - before, LOGS);
    assert_int_equal(s_finish_all(&w.batch), 1);
    for (int i = 0; i < LOGS; i++) {
        rl_log_stats_t stats;
        rl_log_stats(w.logs[i], &stats);
        assert_int_equal(stats.filesystem_syncs, 0);
        assert_int_equal(rl_log_failed(w.logs[i]), i == 2);
        assert_int_equal(rl_log_durable_index(w.logs[i]), i == 2 ? 0 : 5);
    }

    /* the next w.batch: fdatasyncs only */
    s_write_all(w.logs, w.tickets, &w.batch, 6, 1);
    assert_int_equal(w.batch.count, LOGS - 1);
    before = storage_io.fdatasync_calls;
    assert_int_equal(rl_sync_batch_run(&w.batch), 0);
    assert_int_equal(storage_io.syncfs_calls, 1);
    assert_int_equal(storage_io.fdatasync_calls - before, LOGS - 1);
    assert_int_equal(s_finish_all(&w.batch), 0);

    /* and the one after, until the owner has synced every log */
    s_write_all(w.logs, w.tickets, &w.batch, 7, 1);
    before = storage_io.fdatasync_calls;
    assert_int_equal(rl_sync_batch_run(&w.batch), 0);
    assert_int_equal(storage_io.syncfs_calls, 1);
    assert_int_equal(storage_io.fdatasync_calls - before, LOGS - 1);
    assert_int_equal(s_finish_all(&w.batch), 0);

    /* then: one syncfs again */
    rl_sync_batch_rechecked(&w.batch);
    s_write_all(w.logs, w.tickets, &w.batch, 8, 1);
    before = storage_io.fdatasync_calls;
    assert_int_equal(rl_sync_batch_run(&w.batch), 0);
    assert_int_equal(storage_io.syncfs_calls, 2);
    assert_int_equal(storage_io.fdatasync_calls, before);
    assert_int_equal(s_finish_all(&w.batch), 0);
    for (int i = 0; i < LOGS; i++)
        if (i != 2)
            assert_int_equal(rl_log_durable_index(w.logs[i]), 8);
    s_shared_close(&w);
}

/* Logs on another filesystem (a mount under logs/) are not covered by
   the data directory's syncfs: they get their fdatasyncs, concurrently,
   beside the one syncfs of the others. */
static void test_logs_on_another_filesystem_get_their_own_syncs(void **state)
{
    storage_world_t *world = *state;
    s_shared_t w;
    s_shared_open(world, &w, 2);
    s_write_all(w.logs, w.tickets, &w.batch, 1, 4);
    /* as if logs 1 and 3 were on another device */
    w.tickets[1].dev = w.batch.fs.dev + 1;
    w.tickets[3].dev = w.batch.fs.dev + 1;
    int before = storage_io.fdatasync_calls;
    assert_int_equal(rl_sync_batch_run(&w.batch), 0);
    assert_int_equal(storage_io.syncfs_calls, 1);
    assert_int_equal(storage_io.fdatasync_calls - before, 2);
    assert_non_null(w.batch.pool); /* the two ran concurrently */
    assert_int_equal(s_finish_all(&w.batch), 0);
    for (int i = 0; i < LOGS; i++) {
        rl_log_stats_t stats;
        rl_log_stats(w.logs[i], &stats);
        assert_int_equal(stats.filesystem_syncs, i % 2 == 0);
        assert_int_equal(rl_log_durable_index(w.logs[i]), 4);
    }
    s_shared_close(&w);
}

/* syncfs reports write-back errors from 5.8, journal and flush errors
   from 5.17; only ext4 and XFS are trusted to report through it. */
static void test_syncfs_is_used_from_linux_5_17_on_ext4_and_xfs(void **state)
{
    (void)state;
    assert_true(rl_sync_batch_syncfs_reports_errors("5.17.0"));
    assert_true(rl_sync_batch_syncfs_reports_errors("6.1.0-18-cloud-amd64"));
    assert_true(rl_sync_batch_syncfs_reports_errors("6.18.44-fc-v1147"));
    assert_false(rl_sync_batch_syncfs_reports_errors("5.16.20"));
    assert_false(rl_sync_batch_syncfs_reports_errors("5.10.0-28-amd64"));
    assert_false(rl_sync_batch_syncfs_reports_errors("5.8.0"));
    assert_false(rl_sync_batch_syncfs_reports_errors("5.7.19"));
    assert_false(rl_sync_batch_syncfs_reports_errors("4.19.0-26-amd64"));
    assert_false(rl_sync_batch_syncfs_reports_errors("6"));
    assert_false(rl_sync_batch_syncfs_reports_errors(""));
    assert_false(rl_sync_batch_syncfs_reports_errors(NULL));
    assert_true(rl_sync_batch_syncfs_filesystem(0xEF53));      /* ext4 */
    assert_true(rl_sync_batch_syncfs_filesystem(0x58465342));  /* XFS */
    assert_false(rl_sync_batch_syncfs_filesystem(0x01021994)); /* tmpfs */
    assert_false(rl_sync_batch_syncfs_filesystem(0x794c7630)); /* overlay */
    assert_false(rl_sync_batch_syncfs_filesystem(0x9123683E)); /* btrfs */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORAGE_TEST(test_one_batch_makes_every_written_log_durable),
        STORAGE_TEST(test_a_failing_log_fails_only_itself),
        STORAGE_TEST(test_a_batch_of_one_costs_what_one_ticket_does),
        STORAGE_TEST(test_a_batch_grows_and_clear_keeps_its_array),
        STORAGE_TEST(test_a_batch_runs_on_a_helper_while_the_owner_appends),
        STORAGE_TEST(test_a_batch_syncs_its_logs_concurrently),
        STORAGE_TEST(test_a_batch_of_one_syncs_on_the_calling_thread),
        STORAGE_TEST(test_more_logs_than_threads_each_get_their_own_result),
        STORAGE_TEST(test_close_stops_and_joins_the_sync_threads),
        STORAGE_TEST(test_one_syncfs_makes_every_log_on_the_filesystem_durable),
        STORAGE_TEST(test_fewer_logs_than_syncfs_from_fdatasync_each),
        STORAGE_TEST(test_syncfs_from_zero_never_syncs_the_filesystem),
        STORAGE_TEST(test_a_failed_syncfs_leaves_each_log_its_own_result),
        STORAGE_TEST(test_logs_on_another_filesystem_get_their_own_syncs),
        cmocka_unit_test(test_syncfs_is_used_from_linux_5_17_on_ext4_and_xfs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

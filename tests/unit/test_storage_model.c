/*  test_storage_model.c - random operations (append, truncate, compact, sync,
    reopen, install a snapshot) against an in-memory model, compared after
    every step; RL_TEST_SEED=n runs another sequence.
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

/* The payload of (index, term) in the model test: depends on the term so
   that an entry overwritten after a truncation reads back differently. */
static size_t s_model_payload(uint64_t index, uint64_t term, uint8_t *buf)
{
    size_t size = (size_t)((index * 7 + term * 3) % 150);
    for (size_t i = 0; i < size; i++)
        buf[i] = (uint8_t)(index * 17 + term * 101 + i);
    return size;
}

/* What the log should hold. */
typedef struct {
    uint64_t first;       /* first index */
    uint64_t boundary;    /* term of first - 1 */
    uint64_t terms[4096]; /* terms[i]: term of index i (from first) */
    uint64_t times[4096]; /* times[i]: time of index i */
    uint64_t clock;       /* the latest time given, never going back */
    uint64_t last;        /* last index */
    uint64_t snapshot;    /* last index of the snapshot, 0 for none */
} s_model_t;

static void s_model_check(rl_log_t *log, const s_model_t *model,
                          rl_log_batch_t *batch, bool every_time)
{
    assert_int_equal(rl_log_first_index(log), model->first);
    assert_int_equal(rl_log_last_index(log), model->last);
    uint64_t term;
    assert_int_equal(rl_log_term(log, model->first - 1, &term), 0);
    assert_int_equal(term, model->boundary);
    uint8_t expected[160];
    for (uint64_t index = model->first; index <= model->last;) {
        assert_int_equal(rl_log_read(log, index, 37, 0, batch), 0);
        for (size_t i = 0; i < batch->count; i++, index++) {
            const rl_entry_t *entry = &batch->entries[i];
            assert_int_equal(entry->index, index);
            assert_int_equal(entry->term, model->terms[index]);
            size_t size = s_model_payload(index, entry->term, expected);
            assert_int_equal(entry->size, size);
            assert_int_equal(entry->time, model->times[index]);
            if (size)
                assert_memory_equal(entry->data, expected, size);
        }
    }
    /* The time index against a search of the model: the times of
       entries (every one after a reopen, 17 spread over the log after
       other steps), and the times just before and after each. */
    bool empty = model->last < model->first;
    assert_int_equal(rl_log_first_time(log),
                     empty ? 0 : model->times[model->first]);
    assert_int_equal(rl_log_last_time(log),
                     empty ? 0 : model->times[model->last]);
    uint64_t span = model->last + 2 - model->first;
    uint64_t stride = every_time || span < 16 ? 1 : span / 16;
    for (uint64_t at = model->first; at <= model->last + 1; at += stride) {
        uint64_t probe = at <= model->last ? model->times[at] : model->clock;
        for (uint64_t t = probe ? probe - 1 : 0; t <= probe + 1; t++) {
            uint64_t low = model->first, high = model->last + 1;
            while (low < high) {
                uint64_t mid = low + (high - low) / 2;
                if (model->times[mid] >= t)
                    high = mid;
                else
                    low = mid + 1;
            }
            uint64_t want = low;
            uint64_t found;
            assert_int_equal(rl_log_find_time(log, t, &found), 0);
            if (found != want)
                fail_msg("time %lu: found index %lu, the model says %lu",
                         (unsigned long)t, (unsigned long)found,
                         (unsigned long)want);
        }
    }
}

static void test_random_operations_match_a_model_across_reopens(void **state)
{
    storage_world_t *world = *state;
    world->segment_size = 1024;
    rl_log_t *log = storage_open(world);
    static s_model_t model;
    memset(&model, 0, sizeof model);
    model.first = 1;
    model.clock = 1000;
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    /* RL_TEST_SEED=n explores other sequences; a failure replays by its
       seed. */
    const char *env = getenv("RL_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 12345;
    rl_entry_t entries[20];
    uint8_t payloads[20][160];
    for (int step = 0; step < 600; step++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        unsigned op = (unsigned)(seed >> 33) % 100;
        unsigned arg = (unsigned)(seed >> 45);
        uint64_t last_term = model.last >= model.first ? model.terms[model.last]
                                                       : model.boundary;
        if (op < 50 && model.last + 20 < 4096) { /* append */
            size_t count = 1 + arg % 20;
            uint64_t term = last_term + (arg % 7 == 0);
            for (size_t i = 0; i < count; i++) {
                uint64_t index = model.last + 1 + i;
                /* Times never go back, and often repeat. */
                model.clock += (arg >> (i % 8)) % 3;
                entries[i] = (rl_entry_t){
                    .index = index, .term = term, .time = model.clock};
                entries[i].data = payloads[i];
                entries[i].size = s_model_payload(index, term, payloads[i]);
                model.terms[index] = term;
                model.times[index] = model.clock;
            }
            assert_int_equal(rl_log_append(log, entries, count), 0);
            model.last += count;
        } else if (op < 62) { /* truncate, never below the snapshot */
            uint64_t low = model.first > model.snapshot + 1
                               ? model.first
                               : model.snapshot + 1;
            if (low > model.last + 1)
                continue;
            uint64_t index = low + arg % (model.last + 2 - low);
            assert_int_equal(rl_log_truncate(log, index), 0);
            model.last = index - 1;
            if (model.snapshot >= model.first && model.snapshot < index - 1)
                assert_int_equal(rl_log_truncate(log, model.snapshot), EINVAL);
        } else if (op < 70) { /* compact */
            uint64_t index = model.first + arg % (model.last + 2 - model.first);
            assert_int_equal(rl_log_compact(log, index), 0);
            uint64_t first = rl_log_first_index(log);
            assert_true(first >= model.first && first <= model.last + 1);
            assert_true(first <= index || first == model.first);
            if (first > model.first)
                model.boundary = model.terms[first - 1];
            model.first = first;
        } else if (op < 85) { /* sync */
            assert_int_equal(rl_log_sync(log), 0);
            assert_int_equal(rl_log_durable_index(log), model.last);
        } else if (op < 95) { /* reopen */
            rl_log_destroy(&log);
            log = storage_open(world);
            s_model_check(log, &model, &batch, true);
        } else if (model.last + 50 < 4096) { /* install a snapshot */
            bool match = arg % 2 && model.last >= model.first;
            uint64_t index =
                match ? model.first + arg % (model.last + 1 - model.first)
                      : model.last + 1 + arg % 30;
            uint64_t term = match ? model.terms[index] : last_term + 1;
            rl_log_snapshot_t snapshot = {.last_index = index,
                                          .last_term = term};
            assert_int_equal(rl_log_install_snapshot(log, &snapshot), 0);
            model.snapshot = index;
            if (match) {
                uint64_t first = rl_log_first_index(log);
                if (first > model.first)
                    model.boundary = model.terms[first - 1];
                model.first = first;
            } else {
                model.first = index + 1;
                model.last = index;
                model.boundary = term;
            }
        }
        s_model_check(log, &model, &batch, false);
    }
    rl_log_batch_close(&batch);
    rl_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORAGE_TEST(test_random_operations_match_a_model_across_reopens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

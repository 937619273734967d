/*  rl_helper.h - a helper thread with one job, talked to by messages.

    The node has two, with fixed roles: the fsync helper runs sync tickets
    (rl_log_sync_run), so that the loop goes on replicating and taking
    proposals while the disk flushes (Raft thesis 10.2.1) - with named
    logs, one batch of them per loop turn, a ticket per log written
    (rl_sync_batch_run, storage/rl_sync_batch.h: group commit across
    logs, each log finished with its own result); the spare maker
    writes spare segments (rl_log_spare_run), 64 MiB of zeros that the
    fsyncs must not wait behind. Each runs one job at a time: the loop
    hands it a job (a pointer it keeps valid until the result), the
    helper runs it and answers with the job's int result on its pipe,
    which the loop polls like any socket (a czmq actor).
*/
#ifndef RL_HELPER_H
#define RL_HELPER_H

#include <czmq.h>
#include <stdbool.h>

/* Runs one job on the helper thread; returns its result. */
typedef int(rl_helper_run_fn)(void *job);

typedef struct rl_helper rl_helper_t;

/* Starts a helper thread that runs each job with run. NULL when the
   thread cannot be started. */
rl_helper_t *rl_helper_new(rl_helper_run_fn *run);

/* Waits for the job in hand, if any (its result is dropped), stops the
   thread and nulls *self_p. Idempotent. */
void rl_helper_destroy(rl_helper_t **self_p);

/* The pipe, readable when the job in hand is done: for the event loop. */
zsock_t *rl_helper_socket(rl_helper_t *self);

/* Hands job over; the helper must be idle. */
void rl_helper_start(rl_helper_t *self, void *job);

/* True while a job is in hand (started, result not yet taken). */
bool rl_helper_busy(const rl_helper_t *self);

/* Waits for the job in hand and returns its result (-1 when the helper
   died). The helper must be busy. */
int rl_helper_result(rl_helper_t *self);

#endif

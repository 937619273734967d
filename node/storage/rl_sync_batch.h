/*  rl_sync_batch.h - group commit across logs: the fsync helper's job is
    a batch of sync tickets, one per log written in a loop turn, run in
    one pass (issue 16, docs/STORAGE.md "Group commit across logs").

    A node hosting many logs must not pay one helper round trip per log
    per turn, nor let one slow log hold the others' fsyncs back a turn.
    So at the end of a turn the loop prepares a ticket for every log it
    wrote, adds them all to one batch and hands the batch to the fsync
    helper (rl_helper_t with rl_sync_batch_run as its run function). The
    helper runs them together: with more than one ticket it first starts
    the write-back of every ticket's files (so the disk gets all the logs'
    pages at once, and the fdatasyncs mostly wait for writes already under
    way), then fdatasyncs them concurrently, up to RL_SYNC_BATCH_THREADS
    tickets at once (the helper thread and the batch's own sync threads,
    each ticket whole on one thread): on ext4 each fdatasync that needs a
    journal commit waits for one, and concurrent ones share a commit, so
    a batch of N logs costs about one commit instead of N. With one
    ticket it does exactly what rl_log_sync_run does, on the helper
    thread, so a single log costs what it did. When the
    helper answers, the loop finishes every ticket on its own log with
    that ticket's own result: a failing log fails only itself (fsyncgate:
    the failed log stops, rl_log.h "Group commit"; the others go on).

    Part of storage (libc only) because a batch is made of storage's
    tickets and looks inside them; the node's fsync helper thread
    (node/rl_helper.h) runs it.

        turn end (owner):
            rl_sync_batch_clear(&batch);
            for each log written this turn, with no ticket outstanding:
                if (rl_log_sync_prepare(log, &ticket_of_log) == 0)
                    rl_sync_batch_add(&batch, &ticket_of_log, group);
            if (batch.count) rl_helper_start(syncer, &batch);
        helper:  rl_sync_batch_run(&batch)
        answer (owner):
            rl_helper_result(syncer);
            for (i = 0; i < batch.count; i++)
                rl_log_sync_finish(log of batch.items[i].owner,
                                   batch.items[i].ticket,
                                   batch.items[i].result);

    Ownership: the batch borrows the tickets (each lives in its log's
    group until finished) and the owner tags; it owns its array and its
    sync threads. While the helper runs it, the owner must not touch the
    batch or its tickets. A value type: init, clear and close on the
    owner thread, close only while no run is under way (it stops and
    joins the sync threads).

    Sync threads: none until the first batch of more than one ticket; that
    run starts them (up to RL_SYNC_BATCH_THREADS - 1, more as bigger
    batches come), and they wait for the next batch until close. Inside a
    run, tickets are handed out one at a time under the pool's mutex to
    whichever thread is free, the helper thread included; each thread
    sets its ticket's result and the run returns when every ticket has
    one. A thread that cannot be started only means fewer syncs at once
    (with none, the helper runs them one after another, as before).
*/
#ifndef RL_SYNC_BATCH_H
#define RL_SYNC_BATCH_H

#include "rl_log.h"

#include <stddef.h>

/* One log's part of a batch. */
typedef struct {
    rl_log_sync_ticket_t *ticket; /* the log's prepared ticket (borrowed) */
    void *owner;                  /* the caller's tag, e.g. its group */
    int result; /* rl_log_sync_run's result, set by rl_sync_batch_run */
} rl_sync_batch_item_t;

/* Tickets synced at once by one batch at most: the helper thread and
   RL_SYNC_BATCH_THREADS - 1 sync threads. Bounds the threads and the
   journal's queue, whatever the number of logs. */
#define RL_SYNC_BATCH_THREADS 8

/* The batch's sync threads (private to rl_sync_batch.c). */
typedef struct rl_sync_pool rl_sync_pool_t;

/* The tickets of one loop turn. */
typedef struct {
    rl_sync_batch_item_t *items; /* count items, in the order added */
    size_t count;                /* items in this batch */
    size_t capacity;             /* items allocated */
    rl_sync_pool_t *pool;        /* sync threads, NULL until a batch of two */
} rl_sync_batch_t;

/* An empty batch. */
void rl_sync_batch_init(rl_sync_batch_t *batch);

/* Adds a prepared ticket and its owner's tag. 0, or ENOMEM (then the
   caller must still finish the ticket, e.g. with rl_log_sync_run on its
   own thread). */
int rl_sync_batch_add(rl_sync_batch_t *batch, rl_log_sync_ticket_t *ticket,
                      void *owner);

/* Runs every ticket of the batch (a void * so that it is an
   rl_helper_run_fn): thread-safe as rl_log_sync_run is, one run of a
   batch at a time. A batch of one on the calling thread; more
   concurrently, on the calling thread and the batch's sync threads
   (started by the first such run). Sets each item's result; returns how
   many failed (0 when all are durable). */
int rl_sync_batch_run(void *batch);

/* Empties the batch, keeping its array for the next turn. */
void rl_sync_batch_clear(rl_sync_batch_t *batch);

/* Stops and joins the sync threads, frees the array. Not while a run is
   under way. Safe to call twice. */
void rl_sync_batch_close(rl_sync_batch_t *batch);

#endif

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
    ticket (and no syncfs, below) it does exactly what rl_log_sync_run
    does, on the helper thread, so a single log costs what it did. When
    the helper answers, the loop finishes every ticket on its own log
    with that ticket's own result: a failing log fails only itself
    (fsyncgate: the failed log stops, rl_log.h "Group commit"; the others
    go on).

    One syncfs instead (rl_sync_batch_share_filesystem): N fdatasyncs are
    still N device flushes and N thread wake-ups, and on a small machine
    the wake-ups cost as much as the flushes. So when a run has at least
    `from` tickets on the filesystem the owner named (the data
    directory's), one syncfs(2) of that filesystem makes them all durable
    (it writes back every dirty page of it, commits the journal, which
    holds the new segments' directory entries, and flushes the device
    once); tickets on other filesystems still get their fdatasyncs. The
    cost: syncfs also writes what other processes left dirty on that
    filesystem, so a data directory sharing its filesystem with a heavy
    writer should turn it off (--syncfs-from 0, docs/OPERATIONS.md).
    Errors: since Linux 5.8 the kernel reports a write-back error on the
    filesystem to syncfs once per open file, through the owner's one
    long-lived descriptor, so none is missed, and since 5.17 a failed
    journal commit or flush too; and it reports a write-back error to
    fdatasync once per open file of the inode, whatever syncfs said. So
    syncfs is used only there, on ext4 and XFS
    (rl_sync_batch_syncfs_usable). A failed syncfs (or a filesystem found
    read-only after it: syncfs then writes nothing and says 0) falls back
    to the batch's fdatasyncs, which tell each log its own fate, and
    makes every run fdatasyncs only until the owner has synced every log
    written meanwhile (rl_sync_batch_rechecked; s_sync_filesystem).

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
    bool done;  /* made durable by the run's syncfs (private to the run) */
} rl_sync_batch_item_t;

/* Tickets synced at once by one batch at most: the helper thread and
   RL_SYNC_BATCH_THREADS - 1 sync threads. Bounds the threads and the
   journal's queue, whatever the number of logs. */
#define RL_SYNC_BATCH_THREADS 8

/* The batch's sync threads (private to rl_sync_batch.c). */
typedef struct rl_sync_pool rl_sync_pool_t;

/* The shared filesystem of rl_sync_batch_share_filesystem: where one
   syncfs may stand for the fdatasyncs of many tickets. */
typedef struct {
    int fd;            /* open on the filesystem for the batch's whole
                          life (borrowed), -1: never syncfs */
    dev_t dev;         /* its device */
    size_t from;       /* tickets on it from which one syncfs serves */
    const rl_io_t *io; /* for syncfs */
    bool recheck;      /* a syncfs failed: runs fdatasync all until the
                          owner calls rl_sync_batch_rechecked */
    uint64_t calls;    /* syncfs calls made (read between runs) */
    uint64_t failures; /* of them, failed */
} rl_sync_batch_fs_t;

/* The tickets of one loop turn. */
typedef struct {
    rl_sync_batch_item_t *items; /* count items, in the order added */
    size_t count;                /* items in this batch */
    size_t capacity;             /* items allocated */
    rl_sync_pool_t *pool;        /* sync threads, NULL until a batch of two */
    rl_sync_batch_fs_t fs;       /* the shared filesystem, if any */
} rl_sync_batch_t;

/* An empty batch. */
void rl_sync_batch_init(rl_sync_batch_t *batch);

/* Adds a prepared ticket and its owner's tag. 0, or ENOMEM (then the
   caller must still finish the ticket, e.g. with rl_log_sync_run on its
   own thread). */
int rl_sync_batch_add(rl_sync_batch_t *batch, rl_log_sync_ticket_t *ticket,
                      void *owner);

/* Lets the batch make every ticket on fd's filesystem durable with one
   syncfs(2) of it, when a run has `from` or more such tickets (0: never,
   the default). fd must stay open, and be opened before anything the
   batch will sync was written, for as long as the batch is used: the
   kernel reports a write-back error to syncfs once per open file, so
   one long-lived descriptor sees every error exactly once. Check
   rl_sync_batch_syncfs_usable first: this only sets the batch up. 0, or
   an errno from fstat(2) of fd. */
int rl_sync_batch_share_filesystem(rl_sync_batch_t *batch, int fd, size_t from,
                                   const rl_io_t *io);

/* May fd's filesystem be synced with syncfs in place of fdatasyncs? Yes
   (0) on a kernel whose syncfs reports write-back and journal errors
   (Linux 5.17 and later; 5.8 to 5.16 report only the former) and on
   ext4 or XFS (overlayfs, say, does not report its upper layer's
   errors). ENOTSUP, or an errno of fstatfs(2), with why (size bytes)
   saying which. */
int rl_sync_batch_syncfs_usable(int fd, char *why, size_t size);

/* The two pure parts of that check: a kernel release (uname -r), and a
   filesystem type (statfs(2) f_type). */
bool rl_sync_batch_syncfs_reports_errors(const char *release);
bool rl_sync_batch_syncfs_filesystem(long type);

/* After a failed syncfs every run fdatasyncs every ticket (fs.recheck),
   for a log written while the failed one ran may hold the lost page and
   be in any later batch. The owner calls this once it has synced, with
   fdatasyncs, every log that was not durable when it learnt of the
   failure (fs.failures rose): syncfs may serve again. */
void rl_sync_batch_rechecked(rl_sync_batch_t *batch);

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

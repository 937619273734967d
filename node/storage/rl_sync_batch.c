/*  rl_sync_batch.c - group commit across logs: a batch of sync tickets,
    one per log written in a loop turn, run in one pass on the fsync
    helper thread and the batch's sync threads; see rl_sync_batch.h.
*/
#include "rl_sync_batch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>

/* The sync threads of a batch and the run they share. Every field is
   under lock, except threads and started, which only the running thread
   (while starting threads) and close (once no run is under way) touch. */
struct rl_sync_pool {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a run to help with, or stopping */
    pthread_cond_t done; /* the run's last ticket has its result */
    pthread_t threads[RL_SYNC_BATCH_THREADS - 1]; /* started ones */
    size_t started;                               /* threads running */
    rl_sync_batch_t *batch; /* the run under way, NULL between runs */
    size_t next;            /* the run's next ticket to hand out */
    size_t unfinished;      /* the run's tickets without a result yet */
    bool stopping;          /* close: threads leave */
};

void rl_sync_batch_init(rl_sync_batch_t *batch)
{
    batch->items = NULL;
    batch->count = 0;
    batch->capacity = 0;
    batch->pool = NULL;
    batch->fs = (rl_sync_batch_fs_t){.fd = -1};
}

bool rl_sync_batch_syncfs_reports_errors(const char *release)
{
    unsigned major = 0, minor = 0;
    if (!release || sscanf(release, "%u.%u", &major, &minor) != 2)
        return false;
    return major > 5 || (major == 5 && minor >= 17);
}

/* Filesystems whose syncfs is known to write, commit and flush what
   fdatasync would, and to report write-back errors through the
   superblock (statfs(2) magic numbers). */
#define S_EXT4_MAGIC 0xEF53     /* ext2, ext3 and ext4 */
#define S_XFS_MAGIC  0x58465342 /* "XFSB" */

bool rl_sync_batch_syncfs_filesystem(long type)
{
    return type == S_EXT4_MAGIC || type == S_XFS_MAGIC;
}

int rl_sync_batch_syncfs_usable(int fd, char *why, size_t size)
{
    struct utsname name;
    bool named = uname(&name) == 0;
    if (!named || !rl_sync_batch_syncfs_reports_errors(name.release)) {
        snprintf(why, size,
                 "the kernel (%s) may not report write errors to syncfs "
                 "(Linux 5.17 and later do)",
                 named ? name.release : "unknown");
        return ENOTSUP;
    }
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) {
        int rc = errno;
        snprintf(why, size, "cannot statfs the data directory: %s",
                 strerror(rc));
        return rc;
    }
    if (!rl_sync_batch_syncfs_filesystem((long)fs.f_type)) {
        snprintf(why, size,
                 "the data directory is on a filesystem (type 0x%lx) other "
                 "than ext4 or XFS",
                 (unsigned long)fs.f_type);
        return ENOTSUP;
    }
    return 0;
}

int rl_sync_batch_share_filesystem(rl_sync_batch_t *batch, int fd, size_t from,
                                   const rl_io_t *io)
{
    batch->fs = (rl_sync_batch_fs_t){.fd = -1};
    if (fd < 0 || from == 0)
        return 0;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return errno;
    batch->fs = (rl_sync_batch_fs_t){
        .fd = fd, .dev = st.st_dev, .from = from, .io = io};
    return 0;
}

void rl_sync_batch_rechecked(rl_sync_batch_t *batch)
{
    batch->fs.recheck = false;
}

/* True when the filesystem went read-only (ext4 remounts so on an
   aborted journal): syncfs then returns 0 having written nothing, where
   fdatasync would fail. */
static bool s_read_only(int fd)
{
    struct statvfs vfs;
    return fstatvfs(fd, &vfs) != 0 || (vfs.f_flag & ST_RDONLY);
}

/* Makes the tickets on the shared filesystem durable with one syncfs when
   there are at least fs.from of them, and marks them done; the rest are
   left to their own fdatasyncs. A failed syncfs marks none: which file
   lost a write it does not say, but each ticket's fdatasync will, as
   the kernel reports a write-back error to fdatasync on every open file
   of the inode that has not seen it, whatever syncfs reported. And a log
   not in this batch may be the one, written before this run ended: so
   every run is all fdatasyncs (recheck) until the owner has synced every
   log that was not durable (rl_sync_batch_rechecked). */
static void s_sync_filesystem(rl_sync_batch_t *batch)
{
    rl_sync_batch_fs_t *fs = &batch->fs;
    for (size_t i = 0; i < batch->count; i++)
        batch->items[i].done = false;
    if (fs->fd < 0 || fs->from == 0)
        return;
    if (fs->recheck)
        return;
    size_t on = 0;
    for (size_t i = 0; i < batch->count; i++)
        on += batch->items[i].ticket->dev == fs->dev;
    if (on < fs->from)
        return;
    fs->calls++;
    if (fs->io->syncfs(fs->fd) != 0 || s_read_only(fs->fd)) {
        fs->failures++;
        fs->recheck = true;
        return;
    }
    for (size_t i = 0; i < batch->count; i++) {
        rl_sync_batch_item_t *item = &batch->items[i];
        if (item->ticket->dev != fs->dev)
            continue;
        item->done = true;
        item->result = 0;
        item->ticket->filesystem_synced = true;
    }
}

int rl_sync_batch_add(rl_sync_batch_t *batch, rl_log_sync_ticket_t *ticket,
                      void *owner)
{
    if (batch->count == batch->capacity) {
        size_t capacity = batch->capacity ? batch->capacity * 2 : 8;
        rl_sync_batch_item_t *grown =
            realloc(batch->items, capacity * sizeof *grown);
        if (!grown)
            return ENOMEM;
        batch->items = grown;
        batch->capacity = capacity;
    }
    batch->items[batch->count++] =
        (rl_sync_batch_item_t){.ticket = ticket, .owner = owner, .result = 0};
    return 0;
}

/* Starts the write-back of a ticket's segments without waiting for it,
   so that the disk sees every log's pages before the first fdatasync
   blocks. A hint only (not through rl_io_t, its result ignored): the
   fdatasync that follows writes whatever this did not, and reports. */
static void s_start_writeback(const rl_log_sync_ticket_t *ticket)
{
    for (size_t i = 0; i < ticket->fd_count; i++)
        (void)sync_file_range(ticket->fds[i], 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* With pool->lock held: takes the run's tickets one at a time, syncing
   each with the lock released, until none is left to take. Each ticket
   is taken by exactly one thread, which alone writes its result. */
static void s_take_tickets(rl_sync_pool_t *pool)
{
    while (pool->batch && pool->next < pool->batch->count) {
        rl_sync_batch_item_t *item = &pool->batch->items[pool->next++];
        if (item->done)
            continue; /* the run's syncfs made it durable */
        pthread_mutex_unlock(&pool->lock);
        int result = rl_log_sync_run(item->ticket);
        pthread_mutex_lock(&pool->lock);
        item->result = result;
        if (--pool->unfinished == 0)
            pthread_cond_signal(&pool->done);
    }
}

/* A sync thread: helps with every run until close. */
static void *s_sync_thread(void *arg)
{
    rl_sync_pool_t *pool = arg;
    pthread_mutex_lock(&pool->lock);
    while (!pool->stopping) {
        s_take_tickets(pool);
        if (!pool->stopping)
            pthread_cond_wait(&pool->work, &pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* The pool with at least `wanted` threads, or as many as could be
   started; NULL when it cannot be made at all. On the running thread,
   with no run under way. */
static rl_sync_pool_t *s_pool(rl_sync_batch_t *batch, size_t wanted)
{
    rl_sync_pool_t *pool = batch->pool;
    if (!pool) {
        pool = calloc(1, sizeof *pool);
        if (!pool)
            return NULL;
        if (pthread_mutex_init(&pool->lock, NULL) != 0) {
            free(pool);
            return NULL;
        }
        if (pthread_cond_init(&pool->work, NULL) != 0) {
            pthread_mutex_destroy(&pool->lock);
            free(pool);
            return NULL;
        }
        if (pthread_cond_init(&pool->done, NULL) != 0) {
            pthread_cond_destroy(&pool->work);
            pthread_mutex_destroy(&pool->lock);
            free(pool);
            return NULL;
        }
        batch->pool = pool;
    }
    if (wanted > RL_SYNC_BATCH_THREADS - 1)
        wanted = RL_SYNC_BATCH_THREADS - 1;
    while (pool->started < wanted &&
           pthread_create(&pool->threads[pool->started], NULL, s_sync_thread,
                          pool) == 0)
        pool->started++;
    return pool;
}

int rl_sync_batch_run(void *job)
{
    rl_sync_batch_t *batch = job;
    s_sync_filesystem(batch);
    size_t left = 0;
    for (size_t i = 0; i < batch->count; i++)
        left += !batch->items[i].done;
    rl_sync_pool_t *pool = NULL;
    if (left > 1) {
        for (size_t i = 0; i < batch->count; i++)
            if (!batch->items[i].done)
                s_start_writeback(batch->items[i].ticket);
        pool = s_pool(batch, left - 1);
    }
    if (pool) {
        pthread_mutex_lock(&pool->lock);
        pool->batch = batch;
        pool->next = 0;
        pool->unfinished = left;
        /* As many helpers as there are tickets beside this thread's
           first: waking all of them for two tickets would only cost
           context switches. */
        for (size_t i = 1; i < left && i <= pool->started; i++)
            pthread_cond_signal(&pool->work);
        s_take_tickets(pool); /* this thread syncs too */
        while (pool->unfinished)
            pthread_cond_wait(&pool->done, &pool->lock);
        pool->batch = NULL;
        pthread_mutex_unlock(&pool->lock);
    } else {
        for (size_t i = 0; i < batch->count; i++)
            if (!batch->items[i].done)
                batch->items[i].result =
                    rl_log_sync_run(batch->items[i].ticket);
    }
    int failed = 0;
    for (size_t i = 0; i < batch->count; i++)
        failed += batch->items[i].result != 0;
    return failed;
}

void rl_sync_batch_clear(rl_sync_batch_t *batch)
{
    batch->count = 0;
}

void rl_sync_batch_close(rl_sync_batch_t *batch)
{
    rl_sync_pool_t *pool = batch->pool;
    if (pool) {
        pthread_mutex_lock(&pool->lock);
        pool->stopping = true;
        pthread_cond_broadcast(&pool->work);
        pthread_mutex_unlock(&pool->lock);
        for (size_t i = 0; i < pool->started; i++)
            pthread_join(pool->threads[i], NULL);
        pthread_cond_destroy(&pool->done);
        pthread_cond_destroy(&pool->work);
        pthread_mutex_destroy(&pool->lock);
        free(pool);
    }
    free(batch->items);
    rl_sync_batch_init(batch);
}

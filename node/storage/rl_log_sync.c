/*  rl_log_sync.c - group commit: the sync ticket protocol that makes
    written entries durable, either on the calling thread (rl_log_sync) or
    on a helper thread while the owner keeps appending
    (rl_log_sync_prepare / rl_log_sync_run / rl_log_sync_finish).

    Only rl_log_sync_run leaves the owner thread, and it touches its
    ticket alone: duplicated descriptors and the index they cover.
*/
#include "rl_log_internal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills ticket. With borrow (rl_log_sync: the same thread runs the sync
   at once, so nothing can close the descriptors meanwhile) the ticket
   uses the log's own descriptors and saves a dup and a close per
   segment, which shows on fast disks at batch size 1. */
static int s_sync_prepare(rl_log_t *log, rl_log_sync_ticket_t *ticket,
                          bool borrow)
{
    assert(!log->ticket_out);
    memset(ticket, 0, sizeof *ticket);
    ticket->dir_fd = -1;
    int rc = rl_log_require_writable(log);
    if (rc != 0)
        return rc;
    size_t dirty = 0;
    for (size_t i = 0; i < log->segment_count; i++)
        dirty += log->segments[i].dirty;
    ticket->fds = malloc((dirty ? dirty : 1) * sizeof(int));
    if (!ticket->fds)
        return rl_log_errorf(log, ENOMEM, "out of memory preparing a sync");
    for (size_t i = 0; i < log->segment_count && rc == 0; i++) {
        if (!log->segments[i].dirty)
            continue;
        int fd =
            borrow ? log->segments[i].fd : log->io->dup(log->segments[i].fd);
        if (fd < 0)
            rc = errno;
        else
            ticket->fds[ticket->fd_count++] = fd;
    }
    if (rc == 0 && log->dir_dirty &&
        (ticket->dir_fd = borrow ? log->dir_fd : log->io->dup(log->dir_fd)) < 0)
        rc = errno;
    if (rc != 0) {
        for (size_t i = 0; i < ticket->fd_count && !borrow; i++)
            log->io->close(ticket->fds[i]);
        free(ticket->fds);
        memset(ticket, 0, sizeof *ticket);
        ticket->dir_fd = -1;
        return rl_log_errorf(log, rc, "cannot prepare a sync (dup): %s",
                             strerror(rc));
    }
    /* Only now that nothing can fail: later writes mark them again. */
    for (size_t i = 0; i < log->segment_count; i++)
        log->segments[i].dirty = false;
    log->dir_dirty = false;
    ticket->last_index = rl_log_last_index(log);
    ticket->dev = log->dev;
    ticket->io = log->io;
    ticket->borrowed = borrow;
    log->ticket_out = true;
    log->ticket_limit = UINT64_MAX;
    return 0;
}

int rl_log_sync_prepare(rl_log_t *log, rl_log_sync_ticket_t *ticket)
{
    return s_sync_prepare(log, ticket, false);
}

int rl_log_sync_run(rl_log_sync_ticket_t *ticket)
{
    for (size_t i = 0; i < ticket->fd_count; i++) {
        ticket->fdatasync_calls++;
        if (ticket->io->fdatasync(ticket->fds[i]) != 0) {
            ticket->error = errno ? errno : EIO;
            snprintf(ticket->what, sizeof ticket->what, "fdatasync");
            return ticket->error;
        }
    }
    if (ticket->dir_fd >= 0) {
        ticket->fsync_calls++;
        if (ticket->io->fsync(ticket->dir_fd) != 0) {
            ticket->error = errno ? errno : EIO;
            snprintf(ticket->what, sizeof ticket->what,
                     "fsync of the directory");
            return ticket->error;
        }
    }
    return 0;
}

int rl_log_sync_finish(rl_log_t *log, rl_log_sync_ticket_t *ticket, int rc)
{
    assert(log->ticket_out);
    for (size_t i = 0; i < ticket->fd_count && !ticket->borrowed; i++)
        log->io->close(ticket->fds[i]);
    if (ticket->dir_fd >= 0 && !ticket->borrowed)
        log->io->close(ticket->dir_fd);
    free(ticket->fds);
    ticket->fds = NULL;
    ticket->fd_count = 0;
    ticket->dir_fd = -1;
    log->ticket_out = false;
    log->stats.fdatasync_calls += ticket->fdatasync_calls;
    log->stats.fsync_calls += ticket->fsync_calls;
    log->stats.filesystem_syncs += ticket->filesystem_synced;
    if (rc != 0) {
        char what[160];
        snprintf(what, sizeof what, "%s up to index %" PRIu64 " failed",
                 ticket->what[0] ? ticket->what : "sync", ticket->last_index);
        return rl_log_set_failed(log, rc, what);
    }
    if (log->failed)
        return rl_log_require_writable(log);
    uint64_t durable = ticket->last_index < log->ticket_limit
                           ? ticket->last_index
                           : log->ticket_limit;
    if (durable > log->durable_index)
        log->durable_index = durable;
    log->stats.group_commits++;
    return 0;
}

int rl_log_sync(rl_log_t *log)
{
    rl_log_sync_ticket_t ticket;
    int rc = s_sync_prepare(log, &ticket, true);
    if (rc != 0)
        return rc;
    return rl_log_sync_finish(log, &ticket, rl_log_sync_run(&ticket));
}

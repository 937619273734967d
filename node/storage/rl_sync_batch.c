/*  rl_sync_batch.c - group commit across logs: a batch of sync tickets,
    one per log written in a loop turn, run in one pass on the fsync
    helper thread; see rl_sync_batch.h.
*/
#include "rl_sync_batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

void rl_sync_batch_init(rl_sync_batch_t *batch)
{
    batch->items = NULL;
    batch->count = 0;
    batch->capacity = 0;
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

int rl_sync_batch_run(void *job)
{
    rl_sync_batch_t *batch = job;
    if (batch->count > 1)
        for (size_t i = 0; i < batch->count; i++)
            s_start_writeback(batch->items[i].ticket);
    int failed = 0;
    for (size_t i = 0; i < batch->count; i++) {
        batch->items[i].result = rl_log_sync_run(batch->items[i].ticket);
        failed += batch->items[i].result != 0;
    }
    return failed;
}

void rl_sync_batch_clear(rl_sync_batch_t *batch)
{
    batch->count = 0;
}

void rl_sync_batch_close(rl_sync_batch_t *batch)
{
    free(batch->items);
    rl_sync_batch_init(batch);
}

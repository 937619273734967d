/*  raftlog_append.c - appends in libraftlog: a batch encoded once with the
    client's producer id and next seq, and sent again byte for byte by
    every retry (raftlog_append_retry included), so that the cluster
    appends it once (PROTOCOL.md section 6); see raftlog.h.
*/
#include "raftlog_internal.h"

#include <assert.h>
#include <stdlib.h>

static int s_send_append(raftlog_t *self, uint64_t *first, uint64_t *last,
                         bool *duplicate)
{
    int rc = rl_client_call(self, &self->append, self->append_id,
                            RL_MSG_APPEND_OK, 0);
    if (rc)
        return rc;
    const rl_append_ok_t *ok = &self->last.reply.body.append_ok;
    if (first)
        *first = ok->first;
    if (last)
        *last = ok->last;
    if (duplicate)
        *duplicate = ok->duplicate;
    return 0;
}

int raftlog_append_batch(raftlog_t *self, const raftlog_data_t *entries,
                         size_t count, uint64_t *first, uint64_t *last,
                         bool *duplicate)
{
    assert(self && (entries || count == 0));
    self->unknown = false;
    if (count == 0 || count > RL_MAX_BATCH_ENTRIES)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "a batch holds 1 to %u entries, not %zu",
                              RL_MAX_BATCH_ENTRIES, count);
    for (size_t i = 0; i < count; i++)
        if (entries[i].size > RL_MAX_ENTRY_SIZE)
            return rl_client_fail(
                self, RAFTLOG_ERR_TOO_LARGE,
                "entry %zu is %zu bytes, over the limit of %u "
                "bytes",
                i + 1, entries[i].size, RL_MAX_ENTRY_SIZE);
    rl_str_t *strings = calloc(count, sizeof(rl_str_t));
    if (!strings)
        return rl_client_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < count; i++) {
        strings[i].ptr = entries[i].size ? entries[i].data : NULL;
        strings[i].size = entries[i].size;
    }
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND_REQUEST);
    msg.body.append_request.producer_id = self->producer_id;
    msg.body.append_request.seq = self->next_seq;
    msg.body.append_request.entries = strings;
    msg.body.append_request.entry_count = count;
    int rc = rl_client_encode(self, &msg, &self->append, &self->append_id);
    free(strings);
    if (rc)
        return rc;
    /* The seq is spent even if this batch fails: a later batch must never
       reuse it, or the cluster would answer it with this one's indexes. */
    self->next_seq++;
    self->have_append = true;
    return s_send_append(self, first, last, duplicate);
}

int raftlog_append(raftlog_t *self, const void *data, size_t size,
                   uint64_t *index)
{
    raftlog_data_t entry = {data, size};
    return raftlog_append_batch(self, &entry, 1, index, NULL, NULL);
}

int raftlog_append_retry(raftlog_t *self, uint64_t *first, uint64_t *last,
                         bool *duplicate)
{
    assert(self);
    if (!self->have_append)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "no batch to send again");
    return s_send_append(self, first, last, duplicate);
}

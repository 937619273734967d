/*  raftlog_read.c - reading the log in libraftlog: READ requests from an
    index, a time or a durable consumer's position, the entries checked
    for order as they are copied out, and the tail iterator built on them,
    which goes on from READ_OK.next on whichever node answers; see
    raftlog.h.
*/
#include "raftlog_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

struct _raftlog_tail_t {
    raftlog_t *client;  /* borrowed */
    uint64_t next;      /* the index of the next READ */
    uint64_t commit;    /* the last answer's commit index */
    bool from_start;    /* jump to the first retained index */
    uint64_t from_time; /* read from this time until an answer
                           has entries; 0: from next */
    char consumer[RAFTLOG_MAX_CONSUMER_NAME + 1]; /* read after its position
                                                     until an answer; "" */
    const raftlog_entry_t *batch; /* the last read's entries (client's) */
    size_t count;                 /* how many */
    size_t position;              /* the next one to hand out */
};

/* A READ from exactly one of req's starts (from, from_time, consumer). */
static int s_read(raftlog_t *self, const rl_read_request_t *req,
                  const raftlog_entry_t **entries, size_t *count,
                  uint64_t *next)
{
    *entries = NULL;
    *count = 0;
    self->unknown = false;
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_READ_REQUEST);
    msg.body.read_request = *req;
    uint64_t id;
    int rc = rl_client_encode(self, &msg, &self->request, &id);
    if (!rc)
        rc = rl_client_call(self, &self->request, id, RL_MSG_READ_OK,
                            req->wait_ms);
    if (rc == RAFTLOG_ERR_OUT_OF_RANGE)
        *next = self->last.reply.body.error.first;
    if (rc)
        return rc;
    const rl_read_ok_t *ok = &self->last.reply.body.read_ok;
    if (ok->entry_count > self->entry_capacity) {
        raftlog_entry_t *grown =
            realloc(self->entries, ok->entry_count * sizeof(raftlog_entry_t));
        if (!grown)
            return rl_client_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
        self->entries = grown;
        self->entry_capacity = ok->entry_count;
    }
    /* Entries of a READ from an index start there; from a time or a
       consumer, anywhere after 0. */
    uint64_t previous = req->from ? req->from - 1 : 0;
    uint64_t time = 0;
    for (size_t i = 0; i < ok->entry_count; i++) {
        const rl_entry_t *e = &ok->entries[i];
        if (e->index <= previous || e->index >= ok->next)
            return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                                  "%s sent entries out of order (index %" PRIu64
                                  " after %" PRIu64 ", next %" PRIu64 ")",
                                  self->answered, e->index, previous, ok->next);
        if (e->time && e->time < time)
            return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                                  "%s sent entry %" PRIu64 " stamped %" PRIu64
                                  ", before the entry before it (%" PRIu64 ")",
                                  self->answered, e->index, e->time, time);
        if (req->from_time && e->time && e->time < req->from_time)
            return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                                  "%s sent entry %" PRIu64 " stamped %" PRIu64
                                  " for a read from time %" PRIu64,
                                  self->answered, e->index, e->time,
                                  req->from_time);
        previous = e->index;
        time = e->time ? e->time : time;
        self->entries[i].index = e->index;
        self->entries[i].data = e->data;
        self->entries[i].size = e->size;
        self->entries[i].time = e->time;
    }
    if (req->from && ok->next < req->from)
        return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                              "%s sent next %" PRIu64
                              " for a read from %" PRIu64,
                              self->answered, ok->next, req->from);
    *entries = self->entries;
    *count = ok->entry_count;
    *next = ok->next;
    return 0;
}

int raftlog_read(raftlog_t *self, uint64_t from, uint32_t max_entries,
                 uint32_t wait_ms, const raftlog_entry_t **entries,
                 size_t *count, uint64_t *next)
{
    assert(self && entries && count && next);
    *entries = NULL;
    *count = 0;
    if (from == 0)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID, "indexes start at 1");
    rl_read_request_t req = {
        .from = from, .max_entries = max_entries, .wait_ms = wait_ms};
    return s_read(self, &req, entries, count, next);
}

int raftlog_read_from_time(raftlog_t *self, uint64_t time_ms,
                           uint32_t max_entries, uint32_t wait_ms,
                           const raftlog_entry_t **entries, size_t *count,
                           uint64_t *next)
{
    assert(self && entries && count && next);
    *entries = NULL;
    *count = 0;
    if (time_ms == 0)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "a time is 1 ms or more since the Unix epoch");
    rl_read_request_t req = {
        .from_time = time_ms, .max_entries = max_entries, .wait_ms = wait_ms};
    return s_read(self, &req, entries, count, next);
}

int raftlog_read_consumer(raftlog_t *self, const char *name,
                          uint32_t max_entries, uint32_t wait_ms,
                          const raftlog_entry_t **entries, size_t *count,
                          uint64_t *next)
{
    assert(self && entries && count && next);
    *entries = NULL;
    *count = 0;
    int rc = rl_client_consumer_name_check(self, name);
    if (rc)
        return rc;
    rl_read_request_t req = {.consumer = rl_str(name),
                             .max_entries = max_entries,
                             .wait_ms = wait_ms};
    return s_read(self, &req, entries, count, next);
}

/* ---- Tail ---- */

raftlog_tail_t *raftlog_tail_new(raftlog_t *client, uint64_t from)
{
    assert(client);
    raftlog_tail_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->client = client;
    self->from_start = from == RAFTLOG_TAIL_START;
    self->next = self->from_start ? 1 : from;
    return self;
}

raftlog_tail_t *raftlog_tail_new_at_time(raftlog_t *client, uint64_t time_ms)
{
    assert(client && time_ms > 0);
    raftlog_tail_t *self = raftlog_tail_new(client, 1);
    if (self)
        self->from_time = time_ms;
    return self;
}

raftlog_tail_t *raftlog_tail_new_consumer(raftlog_t *client, const char *name)
{
    assert(client);
    if (!rl_client_consumer_name_valid(name))
        return NULL;
    raftlog_tail_t *self = raftlog_tail_new(client, 1);
    if (self)
        snprintf(self->consumer, sizeof(self->consumer), "%s", name);
    return self;
}

void raftlog_tail_destroy(raftlog_tail_t **self_p)
{
    assert(self_p);
    free(*self_p);
    *self_p = NULL;
}

uint64_t raftlog_tail_position(const raftlog_tail_t *self)
{
    /* Not started yet at a time or after a consumer: no index yet. */
    if (self->from_time || self->consumer[0])
        return 0;
    return self->position < self->count ? self->batch[self->position].index
                                        : self->next;
}

uint64_t raftlog_tail_commit(const raftlog_tail_t *self)
{
    return self->commit;
}

int raftlog_tail_next(raftlog_tail_t *self, uint32_t wait_ms,
                      const raftlog_entry_t **entry)
{
    assert(self && entry);
    *entry = NULL;
    raftlog_t *client = self->client;
    if (self->next == RAFTLOG_TAIL_END) {
        raftlog_status_t *status = malloc(sizeof(*status));
        if (!status)
            return rl_client_fail(client, RAFTLOG_ERR_NO_MEMORY,
                                  "out of memory");
        int rc = raftlog_status(client, NULL, status);
        if (!rc)
            self->commit = status->commit;
        free(status);
        if (rc)
            return rc;
        self->next = self->commit + 1;
    }
    while (self->position == self->count) {
        self->batch = NULL;
        self->count = self->position = 0;
        uint64_t next = 0;
        int rc;
        if (self->consumer[0])
            rc = raftlog_read_consumer(client, self->consumer, 0, wait_ms,
                                       &self->batch, &self->count, &next);
        else if (self->from_time)
            rc = raftlog_read_from_time(client, self->from_time, 0, wait_ms,
                                        &self->batch, &self->count, &next);
        else
            rc = raftlog_read(client, self->next, 0, wait_ms, &self->batch,
                              &self->count, &next);
        if (rc == RAFTLOG_ERR_OUT_OF_RANGE && self->from_start &&
            next > self->next) {
            self->next = next;
            continue;
        }
        if (rc)
            return rc;
        /* A consumer's start is resolved by any answer; a time's only by
           one with entries (before, next says nothing: PROTOCOL.md). */
        self->consumer[0] = '\0';
        if (self->count)
            self->from_time = 0;
        self->next = next;
        self->commit = client->last.reply.body.read_ok.commit;
        /* An empty answer is the end only when the node has nothing more
           committed; otherwise it skipped Raft's own entries: read on. */
        if (self->count == 0 && (next > self->commit || self->from_time))
            return 0;
    }
    *entry = &self->batch[self->position++];
    return 0;
}

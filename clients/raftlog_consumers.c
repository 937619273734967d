/*  raftlog_consumers.c - durable consumers in libraftlog: committing a
    position, and the CONSUMERS requests (list, show, reset to an index or
    a time, delete); see raftlog.h, "Durable consumers".

    Each call is one request through rl_client_call (the Lazy Pirate loop,
    following NOT_LEADER to the leader) answered by CONSUMERS_OK, whose
    positions are copied out of the reply.
*/
#include "raftlog_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rl_client_consumer_name_valid(const char *name)
{
    size_t length = name ? strlen(name) : 0;
    if (length == 0 || length > RAFTLOG_MAX_CONSUMER_NAME)
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == length;
}

int rl_client_consumer_name_check(raftlog_t *self, const char *name)
{
    if (rl_client_consumer_name_valid(name))
        return 0;
    return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                          "'%.80s' is not a consumer name: 1 to %d "
                          "characters of a-z, 0-9, '.', '_' and '-'",
                          name ? name : "", RAFTLOG_MAX_CONSUMER_NAME);
}

/* Sends msg and waits for its CONSUMERS_OK (then in self->last.reply). */
static int s_call(raftlog_t *self, rl_msg_t *msg)
{
    self->unknown = false;
    uint64_t id;
    int rc = rl_client_encode(self, msg, &self->request, &id);
    if (!rc)
        rc = rl_client_call(self, &self->request, id, RL_MSG_CONSUMERS_OK, 0);
    return rc;
}

/* Copies a consumer out of the wire form; false when its name is not one
   (a reply that makes no sense). */
static bool s_copy(raftlog_consumer_t *out, const rl_consumer_position_t *in)
{
    if (in->name.size == 0 || in->name.size > RAFTLOG_MAX_CONSUMER_NAME)
        return false;
    memcpy(out->name, in->name.ptr, in->name.size);
    out->name[in->name.size] = '\0';
    out->index = in->index;
    return true;
}

/* The one consumer of a CONSUMERS_OK answering a request about name: its
   position in *position (may be NULL). A reply without it (the consumer
   was deleted meanwhile) leaves *position 0. */
static int s_one(raftlog_t *self, const char *name, uint64_t *position)
{
    const rl_consumers_ok_t *ok = &self->last.reply.body.consumers_ok;
    raftlog_consumer_t consumer = {{0}, 0};
    if (ok->consumer_count > 1 ||
        (ok->consumer_count == 1 && (!s_copy(&consumer, &ok->consumers[0]) ||
                                     strcmp(consumer.name, name) != 0)))
        return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                              "%s answered about another consumer than '%s'",
                              self->answered, name);
    if (position)
        *position = consumer.index;
    return 0;
}

/* The log's ends the leader reported. */
static void s_ends(const raftlog_t *self, uint64_t *commit, uint64_t *first)
{
    const rl_consumers_ok_t *ok = &self->last.reply.body.consumers_ok;
    if (commit)
        *commit = ok->commit;
    if (first)
        *first = ok->first;
}

int raftlog_consumer_commit(raftlog_t *self, const char *name, uint64_t index,
                            uint64_t *position)
{
    assert(self);
    int rc = rl_client_consumer_name_check(self, name);
    if (rc)
        return rc;
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_CONSUMER_COMMIT);
    msg.body.consumer_commit = (rl_consumer_commit_t){rl_str(name), index};
    rc = s_call(self, &msg);
    return rc ? rc : s_one(self, name, position);
}

/* A CONSUMERS request about one consumer. */
static int s_request(raftlog_t *self, uint8_t op, const char *name,
                     uint64_t index, uint64_t time, uint64_t *position)
{
    int rc = rl_client_consumer_name_check(self, name);
    if (rc)
        return rc;
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_CONSUMERS_REQUEST);
    msg.body.consumers_request =
        (rl_consumers_request_t){op, rl_str(name), index, time};
    rc = s_call(self, &msg);
    return rc ? rc : s_one(self, name, position);
}

int raftlog_consumer_show(raftlog_t *self, const char *name,
                          raftlog_consumer_t *consumer, uint64_t *commit,
                          uint64_t *first)
{
    assert(self && consumer);
    uint64_t position = 0;
    int rc = s_request(self, RL_CONSUMERS_SHOW, name, 0, 0, &position);
    if (rc)
        return rc;
    if (self->last.reply.body.consumers_ok.consumer_count != 1)
        return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                              "%s answered a show of '%s' without it",
                              self->answered, name);
    snprintf(consumer->name, sizeof(consumer->name), "%s", name);
    consumer->index = position;
    s_ends(self, commit, first);
    return 0;
}

int raftlog_consumers_list(raftlog_t *self,
                           const raftlog_consumer_t **consumers, size_t *count,
                           uint64_t *commit, uint64_t *first)
{
    assert(self && consumers && count);
    *consumers = NULL;
    *count = 0;
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_CONSUMERS_REQUEST);
    msg.body.consumers_request.op = RL_CONSUMERS_LIST;
    int rc = s_call(self, &msg);
    if (rc)
        return rc;
    const rl_consumers_ok_t *ok = &self->last.reply.body.consumers_ok;
    if (ok->consumer_count > self->consumer_capacity) {
        raftlog_consumer_t *grown = realloc(
            self->consumers, ok->consumer_count * sizeof(raftlog_consumer_t));
        if (!grown)
            return rl_client_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
        self->consumers = grown;
        self->consumer_capacity = ok->consumer_count;
    }
    for (size_t i = 0; i < ok->consumer_count; i++)
        if (!s_copy(&self->consumers[i], &ok->consumers[i]))
            return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                                  "%s listed a consumer without a valid name",
                                  self->answered);
    *consumers = self->consumers;
    *count = ok->consumer_count;
    s_ends(self, commit, first);
    return 0;
}

int raftlog_consumer_reset(raftlog_t *self, const char *name, uint64_t index,
                           uint64_t *position)
{
    assert(self);
    return s_request(self, RL_CONSUMERS_RESET, name, index, 0, position);
}

int raftlog_consumer_reset_to_time(raftlog_t *self, const char *name,
                                   uint64_t time_ms, uint64_t *position)
{
    assert(self);
    if (time_ms == 0)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "a time is 1 ms or more since the Unix epoch");
    return s_request(self, RL_CONSUMERS_RESET, name, 0, time_ms, position);
}

int raftlog_consumer_delete(raftlog_t *self, const char *name)
{
    assert(self);
    int rc = s_request(self, RL_CONSUMERS_DELETE, name, 0, 0, NULL);
    if (rc == 0 && self->last.reply.body.consumers_ok.consumer_count != 0)
        return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                              "%s answered a delete of '%s' with it still "
                              "there",
                              self->answered, name);
    return rc;
}

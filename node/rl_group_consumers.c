/*  rl_group_consumers.c - a group's durable consumer requests:
    CONSUMER_COMMIT and CONSUMERS list, show, reset and delete, proposed to
    the core and answered once committed, or answered from the leader's
    committed table. See rl_group.h.
*/
#include "rl_group_private.h"

#include <inttypes.h>
#include <string.h>

#include "rl_reads.h"

/* A consumer's position is read from the leader's committed table, once
   the leader has committed an entry of its term: a follower's table, or
   a new leader's before that, may lag behind a commit just acknowledged,
   and a consumer resuming from it would see entries again (or, for a
   consumer just made, all of them). Answers and returns false when this
   node may not answer. */
bool rl_group_may_tell_positions(rl_group_t *self, zmsg_t **envelope,
                                 uint64_t id)
{
    if (self->role != RL_RAFT_LEADER) {
        rl_group_reply_not_leader(self, envelope, id, self->leader);
        return false;
    }
    if (!rl_group_leads_committed(self)) {
        S_ERROR(self, envelope, id, RL_ERR_BUSY, 0,
                "node %" PRIu64 " was just elected and has not committed an "
                "entry of its term yet: the consumer positions it knows may "
                "be behind; retry in a moment",
                self->config->id);
        return false;
    }
    return true;
}

/* Checks a consumer name from a client: BAD_REQUEST when it is not one
   the core takes. */
bool rl_group_consumer_name_check(rl_group_t *self, zmsg_t **envelope,
                                  uint64_t id, const char *what, rl_str_t name)
{
    if (rl_raft_consumer_name_valid(name))
        return true;
    S_ERROR(self, envelope, id, RL_ERR_BAD_REQUEST, 0,
            "%s: a consumer's name is 1 to %u characters of a-z, 0-9, '.', "
            "'_' and '-'",
            what, RL_MAX_CONSUMER_NAME);
    return false;
}

/* Copies a valid name (at most RL_MAX_CONSUMER_NAME bytes) as a C string. */
void rl_group_name_copy(char *out, rl_str_t name)
{
    memcpy(out, name.ptr, name.size);
    out[name.size] = '\0';
}

/* ---- Durable consumers ---- */

/* Sends CONSUMERS_OK with count positions from positions. */
static void s_reply_consumers(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                              rl_consumer_position_t *positions, size_t count)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_CONSUMERS_OK);
    msg.id = id;
    msg.body.consumers_ok.consumers = positions;
    msg.body.consumers_ok.consumer_count = count;
    msg.body.consumers_ok.commit = rl_group_commit(self);
    msg.body.consumers_ok.first = rl_log_first_index(self->log);
    rl_group_reply(self, envelope, &msg);
}

/* Answers with one consumer's committed position, or none when it has
   none (deleted, or never made). */
static void s_reply_one_consumer(rl_group_t *self, zmsg_t **envelope,
                                 uint64_t id, const char *name)
{
    rl_consumer_position_t position = {rl_str(name), 0};
    bool found =
        rl_raft_consumer_position(self->raft, position.name, &position.index);
    s_reply_consumers(self, envelope, id, &position, found ? 1 : 0);
}

/* Answers with every consumer in the committed table, by name. */
static void s_reply_all_consumers(rl_group_t *self, zmsg_t **envelope,
                                  uint64_t id)
{
    size_t count;
    const rl_raft_consumer_t *table = rl_raft_consumers(self->raft, &count);
    if (count > self->positions_cap) {
        rl_consumer_position_t *grown =
            realloc(self->positions, count * sizeof(*grown));
        if (!grown) {
            S_ERROR(self, envelope, id, RL_ERR_INTERNAL, 0,
                    "out of memory on the node");
            return;
        }
        self->positions = grown;
        self->positions_cap = count;
    }
    for (size_t i = 0; i < count; i++)
        self->positions[i] =
            (rl_consumer_position_t){rl_str(table[i].name), table[i].index};
    s_reply_consumers(self, envelope, id, self->positions, count);
}

/* What a core refusal of a consumer proposal means, for the client. */
static void s_consumer_refused(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                               int rc, const char *name, uint64_t index)
{
    uint64_t commit = rl_group_commit(self), position = 0;
    bool known = rl_raft_consumer_position(self->raft, rl_str(name), &position);
    switch (rc) {
    case RL_ERR_BUSY:
        S_ERROR(self, envelope, id, rc, 0,
                "node %" PRIu64 " leads but has not committed an entry of "
                "its term yet, or too much data is waiting to commit; retry "
                "in a moment",
                self->config->id);
        break;
    case RL_ERR_REJECTED:
        S_ERROR(self, envelope, id, rc, 0,
                "index %" PRIu64 " is past the commit index %" PRIu64
                ": a consumer can only have processed committed entries",
                index, commit);
        break;
    case RL_ERR_STALE_SEQUENCE:
        if (known && position > index)
            S_ERROR(self, envelope, id, rc, 0,
                    "consumer '%s' is at index %" PRIu64 ", past %" PRIu64
                    ": a commit never moves a position back (a reset does: "
                    "CONSUMERS reset, for an admin key)",
                    name, position, index);
        else
            S_ERROR(self, envelope, id, rc, 0,
                    "consumer '%s' has a commit past %" PRIu64 " waiting to "
                    "commit: a commit never moves a position back (a reset "
                    "does: CONSUMERS reset, for an admin key)",
                    name, index);
        break;
    case RL_ERR_TOO_LARGE: {
        size_t count;
        rl_raft_consumers(self->raft, &count);
        S_ERROR(self, envelope, id, rc, 0,
                "this cluster keeps positions for at most %u consumers "
                "(--max-consumers of the leader, node %" PRIu64 ") and has "
                "%zu: delete one first (CONSUMERS delete), or raise the limit",
                self->config->max_consumers, self->config->id, count);
        break;
    }
    default:
        S_ERROR(self, envelope, id, rc, 0,
                "the leader refused the change to consumer '%s'", name);
    }
}

/* Proposes a consumer change (op: RL_CONSUMERS_LIST for a commit) and
   parks the request until its entry commits. */
static void s_propose_consumer(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                               uint8_t op, rl_str_t name, uint64_t index)
{
    char text[RL_MAX_CONSUMER_NAME + 1];
    rl_group_name_copy(text, name);
    rl_raft_proposal_t out;
    rl_group_clock(self);
    int rc = op == RL_CONSUMERS_RESET
                 ? rl_raft_consumer_reset(self->raft, name, index, &out)
             : op == RL_CONSUMERS_DELETE
                 ? rl_raft_consumer_delete(self->raft, name, &out)
                 : rl_raft_consumer_commit(self->raft, name, index, &out);
    if (rc == RL_RAFT_NOT_LEADER) {
        rl_group_reply_not_leader(self, envelope, id, out.leader);
        return;
    }
    if (rc != 0) {
        s_consumer_refused(self, envelope, id, rc, text, index);
        return;
    }
    rl_pending_t *p =
        rl_group_park(self, envelope, id, RL_PENDING_CONSUMER,
                      self->config->request_timeout_ms, out.last, NULL, NULL);
    if (p) {
        p->term = out.term;
        p->consumer_op = op;
        memcpy(p->consumer, text, sizeof(text));
    }
}

void rl_group_consumer_commit(rl_group_t *self, zmsg_t **envelope,
                              const rl_msg_t *msg)
{
    const rl_consumer_commit_t *req = &msg->body.consumer_commit;
    if (!rl_group_consumer_name_check(self, envelope, msg->id,
                                      "CONSUMER_COMMIT 'consumer'",
                                      req->consumer))
        return;
    s_propose_consumer(self, envelope, msg->id, RL_CONSUMERS_LIST,
                       req->consumer, req->index);
}

/* CONSUMERS reset: to an index (a position), or to a time (the consumer
   resumes at the first entry stamped at or after it: the position
   before). Refused below the retained start, where the consumer's next
   read would fail. */
static void s_consumers_reset(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                              const rl_consumers_request_t *req)
{
    uint64_t index = req->index;
    uint64_t first = rl_log_first_index(self->log);
    char when[RL_READ_TIME_TEXT], start[RL_READ_TIME_TEXT];
    if (req->time && req->index) {
        S_ERROR(self, envelope, id, RL_ERR_BAD_REQUEST, 0,
                "CONSUMERS reset: give 'index' or 'time', not both");
        return;
    }
    if (self->role != RL_RAFT_LEADER) {
        rl_group_reply_not_leader(self, envelope, id, self->leader);
        return;
    }
    if (req->time) {
        uint64_t found = 0, from = 0, commit = rl_group_commit(self);
        if (rl_log_find_time(self->log, req->time, &found) != 0) {
            S_ERROR(self, envelope, id, RL_ERR_INTERNAL, 0,
                    "reading the log failed: %s", rl_log_error(self->log));
            return;
        }
        switch (rl_read_time_start(req->time, found, first,
                                   rl_log_first_time(self->log), commit,
                                   &from)) {
        case RL_READ_BELOW_FIRST:
            S_OUT_OF_RANGE(
                self, envelope, id,
                "time %" PRIu64 " (%s) is before the retained log, which "
                "starts at index %" PRIu64 " stamped %s: reset to index "
                "%" PRIu64 " to go on from the start",
                req->time, rl_read_time_text(req->time, when), first,
                rl_read_time_text(rl_log_first_time(self->log), start),
                first - 1);
            return;
        case RL_READ_WAIT: /* nothing committed is that late: the end */
            index = commit;
            break;
        default:
            index = from - 1;
        }
    } else if (index + 1 < first) {
        S_OUT_OF_RANGE(
            self, envelope, id,
            "position %" PRIu64 " is behind the retained log, "
            "which starts at index %" PRIu64 " (stamped %s): the "
            "consumer's next read would fail; reset to %" PRIu64 " or more",
            index, first,
            rl_read_time_text(rl_log_first_time(self->log), start), first - 1);
        return;
    }
    s_propose_consumer(self, envelope, id, RL_CONSUMERS_RESET, req->consumer,
                       index);
}

void rl_group_consumers(rl_group_t *self, zmsg_t **envelope,
                        const rl_msg_t *msg)
{
    const rl_consumers_request_t *req = &msg->body.consumers_request;
    static const char *const names[] = {"list", "show", "reset", "delete"};
    char what[32];
    snprintf(what, sizeof(what), "CONSUMERS %s 'consumer'", names[req->op]);
    if (req->op != RL_CONSUMERS_LIST &&
        !rl_group_consumer_name_check(self, envelope, msg->id, what,
                                      req->consumer))
        return;
    if (req->op == RL_CONSUMERS_RESET) {
        s_consumers_reset(self, envelope, msg->id, req);
        return;
    }
    if (!rl_group_may_tell_positions(self, envelope, msg->id))
        return;
    if (req->op == RL_CONSUMERS_LIST) {
        s_reply_all_consumers(self, envelope, msg->id);
        return;
    }
    char name[RL_MAX_CONSUMER_NAME + 1];
    rl_group_name_copy(name, req->consumer);
    uint64_t position;
    if (!rl_raft_consumer_position(self->raft, req->consumer, &position)) {
        S_ERROR(self, envelope, msg->id, RL_ERR_NOT_FOUND, 0,
                "there is no consumer '%s'%s", name,
                req->op == RL_CONSUMERS_DELETE ? " (nothing to delete)" : "");
        return;
    }
    if (req->op == RL_CONSUMERS_SHOW)
        s_reply_one_consumer(self, envelope, msg->id, name);
    else
        s_propose_consumer(self, envelope, msg->id, RL_CONSUMERS_DELETE,
                           req->consumer, 0);
}

/* Answers a consumer change whose entry is committed: with the
   consumer's position as committed now (none after a delete). */
void rl_group_answer_consumer(rl_group_t *self, rl_pending_t *p)
{
    uint64_t term = 0;
    if (rl_log_term(self->log, p->index, &term) == 0 && term == p->term) {
        if (p->consumer_op == RL_CONSUMERS_DELETE)
            s_reply_consumers(self, &p->envelope, p->id, NULL, 0);
        else
            s_reply_one_consumer(self, &p->envelope, p->id, p->consumer);
    } else {
        /* Another leader's entries replaced ours: not done. */
        rl_group_reply_not_leader(self, &p->envelope, p->id, self->leader);
    }
}

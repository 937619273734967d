/*  rl_group_requests.c - a group's client requests that change the log or
    its leadership: APPEND, MEMBERS and TRANSFER, each answered at once or
    parked in the pending table; and the replies and the parking that the
    group's other request files share. READ is in rl_group_reads.c,
    durable consumers in rl_group_consumers.c, the answers of what waits
    in rl_group_answers.c. See rl_group.h.
*/
#include "rl_group_private.h"

#include <inttypes.h>
#include <string.h>

#include "rl_logging.h"

/* ---- Replies ---- */

void rl_group_reply(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg)
{
    rl_front_reply(self->links.front, envelope, msg);
}

/* NOT_LEADER naming leader (none when it is 0 or this node) and echoing
   log (empty: `default`, left implicit as before named logs). */
static void s_not_leader(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                         uint64_t leader, rl_str_t log)
{
    char endpoint[RL_MAX_ENDPOINT + 1] = "";
    if (leader && leader != self->config->id)
        rl_group_endpoint(self, leader, false, endpoint, sizeof(endpoint));
    else
        leader = 0;
    self->n_not_leader++;
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_NOT_LEADER);
    msg.id = id;
    msg.body.not_leader.leader = leader;
    msg.body.not_leader.leader_addr = rl_str(endpoint);
    msg.log = log;
    rl_group_reply(self, envelope, &msg);
}

void rl_group_reply_not_leader(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                               uint64_t leader)
{
    /* The log it is about, so that a broker or client following leaders
       per log knows whose leader this is. */
    s_not_leader(self, envelope, id, leader,
                 self->id ? rl_str(self->name) : rl_str(""));
}

void rl_group_redirect_to_catalog(rl_group_t *self, zmsg_t **envelope,
                                  uint64_t id, rl_str_t log)
{
    s_not_leader(self, envelope, id, self->leader, log);
}

void rl_group_reply_members(rl_group_t *self, zmsg_t **envelope, uint64_t id)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_MEMBERS_OK);
    msg.id = id;
    size_t count;
    const rl_member_t *members = rl_raft_members(self->raft, &count);
    msg.body.members_ok.members = (rl_member_t *)members;
    msg.body.members_ok.member_count = count;
    rl_group_reply(self, envelope, &msg);
}

/* A leadership transfer is done: leader leads (it may be this node, when
   it was asked to lead and already does). */
void rl_group_reply_transfer_ok(rl_group_t *self, zmsg_t **envelope,
                                uint64_t id, uint64_t leader)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_TRANSFER_OK);
    msg.id = id;
    msg.body.transfer_ok.leader = leader;
    rl_group_reply(self, envelope, &msg);
}

/* Parks a request: it waits in the pending table until settled. Returns
   the record to fill in (already in the table: fill only fields that do
   not order it), or NULL when out of memory (answered INTERNAL). */
rl_pending_t *rl_group_park(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                            int kind, uint32_t timeout_ms, uint64_t index,
                            const rl_read_request_t *read,
                            rl_front_held_t *owner)
{
    rl_pending_t *p =
        rl_pending_new(envelope, id, kind, zclock_mono() + timeout_ms);
    if (!p) {
        S_ERROR(self, envelope, id, RL_ERR_INTERNAL, 0,
                "out of memory on the node");
        return NULL;
    }
    p->index = index;
    p->owner = owner;
    p->accepted_us = zclock_usecs();
    if (read)
        p->read = *read;
    if (rl_pending_put(self->pending, p) != 0) {
        S_ERROR(self, &p->envelope, id, RL_ERR_INTERNAL, 0,
                "out of memory on the node");
        rl_pending_free(&p);
    }
    return p;
}

/* ---- APPEND ---- */

/* Copies the request's payloads into the proposal (entries borrowed).
   Returns 0, or -1 after answering TOO_LARGE or INTERNAL. */
static int s_fill_proposal(rl_group_t *self, zmsg_t **envelope,
                           const rl_msg_t *msg, size_t *bytes)
{
    const rl_append_request_t *req = &msg->body.append_request;
    const rl_config_t *config = self->config;
    if (req->entry_count > config->max_batch_entries) {
        S_ERROR(self, envelope, msg->id, RL_ERR_TOO_LARGE, 0,
                "a batch of %zu entries is over this node's limit of "
                "%u; split it",
                req->entry_count, config->max_batch_entries);
        return -1;
    }
    if (req->entry_count > self->proposal_cap) {
        rl_entry_t *grown =
            realloc(self->proposal, req->entry_count * sizeof(rl_entry_t));
        if (!grown) {
            S_ERROR(self, envelope, msg->id, RL_ERR_INTERNAL, 0,
                    "out of memory on the node");
            return -1;
        }
        self->proposal = grown;
        self->proposal_cap = req->entry_count;
    }
    *bytes = 0;
    for (size_t i = 0; i < req->entry_count; i++) {
        if (req->entries[i].size > self->max_entry_bytes) {
            S_ERROR(self, envelope, msg->id, RL_ERR_TOO_LARGE, 0,
                    "entry %zu is %zu bytes, over the limit of %u bytes "
                    "of %s%s",
                    i, req->entries[i].size, self->max_entry_bytes,
                    self->id ? "log " : "this node",
                    self->id ? self->name : "");
            return -1;
        }
        memset(&self->proposal[i], 0, sizeof(rl_entry_t));
        self->proposal[i].type = RL_ENTRY_NORMAL;
        self->proposal[i].data = (const uint8_t *)req->entries[i].ptr;
        self->proposal[i].size = req->entries[i].size;
        *bytes += req->entries[i].size;
    }
    return 0;
}

void rl_group_append(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg)
{
    const rl_append_request_t *req = &msg->body.append_request;
    size_t bytes;
    if (s_fill_proposal(self, envelope, msg, &bytes) != 0)
        return;
    if (self->disk_low && self->role == RL_RAFT_LEADER) {
        S_ERROR(self, envelope, msg->id, RL_ERR_NO_SPACE, 0,
                "node %" PRIu64 " has %" PRIu64 " bytes free, under "
                "its minimum of %" PRIu64 "; free space on its disk",
                self->config->id, self->disk_free,
                self->config->min_free_bytes);
        return;
    }
    rl_raft_proposal_t out;
    rl_group_clock(self);
    int rc = rl_raft_propose(self->raft, self->proposal, req->entry_count,
                             req->producer_id, req->seq, &out);
    if (rc == RL_RAFT_NOT_LEADER) {
        rl_group_reply_not_leader(self, envelope, msg->id, out.leader);
        return;
    }
    if (rc != 0) {
        const char *why =
            rc == RL_ERR_BUSY
                ? "too much data is waiting to commit (back-pressure); "
                  "retry after a pause"
            : rc == RL_ERR_STALE_SEQUENCE
                ? "this producer has already appended a later seq; this "
                  "batch was superseded"
            : rc == RL_ERR_REJECTED
                ? "only the first part of this batch reached the log before "
                  "a leader change, and it cannot be completed under this "
                  "seq: read the log from the index of your last "
                  "acknowledged append to see which entries landed, then "
                  "send the rest with a new seq"
                : "the leader refused the batch";
        S_ERROR(self, envelope, msg->id, rc, 0, "%s", why);
        return;
    }
    self->n_append_requests++;
    if (!out.duplicate) {
        self->n_appended += req->entry_count;
        self->n_append_bytes += bytes;
    }
    rl_pending_t *p =
        rl_group_park(self, envelope, msg->id, RL_PENDING_APPEND,
                      self->config->request_timeout_ms, out.last, NULL, NULL);
    if (p) {
        p->first = out.first;
        p->term = out.term;
        p->duplicate = out.duplicate;
    }
}

/* ---- MEMBERS and TRANSFER ---- */

/* Why the core refused to remove id (rl_raft_remove_member). */
static const char *s_remove_refused(rl_group_t *self, uint64_t id)
{
    size_t count = 0, voters = 0, logs = 0;
    const rl_member_t *members = rl_raft_members(self->raft, &count);
    bool member = false;
    for (size_t i = 0; i < count; i++) {
        voters += members[i].voter;
        member = member || members[i].id == id;
    }
    (void)rl_raft_logs(self->raft, &logs);
    if (!member)
        return "that id is not a member";
    if (voters <= 1)
        return "that is the last voter";
    return logs ? "that would leave one voter while named logs exist: each "
                  "log's group of two voters would need the removed node "
                  "to agree to its removal, which it may never do; add a "
                  "node first, or delete the named logs"
                : "that would leave one voter while a named log is being "
                  "created: add a node first, or delete the log once it is "
                  "created";
}

void rl_group_members(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg)
{
    const rl_members_request_t *req = &msg->body.members_request;
    char why[512];
    if (req->op == RL_MEMBERS_LIST) {
        rl_group_reply_members(self, envelope, msg->id);
        return;
    }
    int rc;
    if (req->op == RL_MEMBERS_ADD) {
        if (!req->member.id || !req->member.peer_addr.size ||
            !req->member.client_addr.size) {
            S_ERROR(self, envelope, msg->id, RL_ERR_BAD_REQUEST, 0,
                    "MEMBERS add needs the member's id, peer and "
                    "client endpoints");
            return;
        }
        rl_group_clock(self);
        rc = rl_raft_add_member(self->raft, &req->member);
    } else if (self->links.removal_safe &&
               rl_raft_can_remove_member(self->raft, req->member.id) == 0 &&
               !self->links.removal_safe(self->links.arg, req->member.id, why,
                                         sizeof(why))) {
        S_ERROR(self, envelope, msg->id, RL_ERR_BUSY, 0, "%s", why);
        return;
    } else {
        rl_group_clock(self);
        rc = rl_raft_remove_member(self->raft, req->member.id);
    }
    if (rc == RL_RAFT_NOT_LEADER) {
        rl_group_reply_not_leader(self, envelope, msg->id, self->leader);
        return;
    }
    if (rc != 0) {
        S_ERROR(self, envelope, msg->id, rc, 0, "%s",
                rc == RL_ERR_BUSY ? "another membership change is in progress, "
                                    "or the new leader has not committed yet; "
                                    "retry in a moment"
                : rc == RL_ERR_REJECTED
                    ? (req->op == RL_MEMBERS_ADD
                           ? "that id is already a member"
                           : s_remove_refused(self, req->member.id))
                    : "the membership change was refused");
        return;
    }
    rl_raft_status_t status;
    rl_raft_status(self->raft, &status);
    rl_logf(RL_LOG_INFO, "membership: %s node %" PRIu64 " proposed",
            req->op == RL_MEMBERS_ADD ? "adding" : "removing", req->member.id);
    rl_group_park(self, envelope, msg->id, RL_PENDING_MEMBERS,
                  self->config->request_timeout_ms, status.last_index, NULL,
                  NULL);
}

void rl_group_transfer(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg)
{
    uint64_t target = msg->body.transfer_request.target;
    rl_group_clock(self);
    int rc = rl_raft_transfer(self->raft, target);
    if (rc == RL_RAFT_NOT_LEADER)
        rl_group_reply_not_leader(self, envelope, msg->id, self->leader);
    else if (rc != 0)
        S_ERROR(self, envelope, msg->id, rc, 0,
                "the leadership transfer was refused (unknown "
                "target, or a transfer is under way)");
    else if (target == self->config->id)
        rl_group_reply_transfer_ok(self, envelope, msg->id, self->config->id);
    else
        rl_group_park(self, envelope, msg->id, RL_PENDING_TRANSFER,
                      self->config->request_timeout_ms, 0, NULL, NULL);
}

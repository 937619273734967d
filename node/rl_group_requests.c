/*  rl_group_requests.c - a group's client requests: APPEND, READ, MEMBERS
    and TRANSFER, each answered at once or parked in the pending table, and
    the answers a commit advance, a role change, a deadline, a failed write
    or the end of the node gives them. See rl_group.h.
*/
#include "rl_group_private.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "rl_logging.h"
#include "rl_reads.h"

/* ---- Replies ---- */

void rl_group_reply(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg)
{
    rl_front_reply(self->links.front, envelope, msg);
}

#define S_ERROR(self, envelope, id, code, first, ...)                          \
    rl_front_error((self)->links.front, envelope, id, code, first, __VA_ARGS__)

void rl_group_reply_not_leader(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                               uint64_t leader)
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
    rl_group_reply(self, envelope, &msg);
}

static void s_reply_members(rl_group_t *self, zmsg_t **envelope, uint64_t id)
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
static void s_reply_transfer_ok(rl_group_t *self, zmsg_t **envelope,
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
static rl_pending_t *s_park(rl_group_t *self, zmsg_t **envelope, uint64_t id,
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

/* ---- READ ---- */

/* Answers a READ from what is committed, or says it may wait. Returns
   true when answered (the envelope is consumed), false when it should be
   parked (req->from may have moved past Raft's own entries). */
static bool s_serve_read(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                         rl_read_request_t *req, bool may_wait)
{
    uint64_t first = rl_log_first_index(self->log);
    uint64_t commit = rl_group_commit(self);
    rl_read_plan_t plan;
    switch (rl_read_plan(req, first, commit, may_wait, &plan)) {
    case RL_READ_BAD_FROM:
        S_ERROR(self, envelope, id, RL_ERR_BAD_REQUEST, 0,
                "READ_REQUEST: 'from' must be 1 or more");
        return true;
    case RL_READ_BELOW_FIRST:
        S_ERROR(self, envelope, id, RL_ERR_OUT_OF_RANGE, first,
                "index %" PRIu64 " is no longer retained; the log "
                "starts at %" PRIu64 ": read from there",
                req->from, first);
        return true;
    case RL_READ_WAIT:
        return false;
    default:
        break;
    }
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_READ_OK);
    msg.id = id;
    uint64_t next = plan.from;
    if (plan.count) {
        /* Read in one go; Raft's own entries are skipped but still move
           `next`, so the reader never sees a gap. */
        if (rl_log_read(self->log, plan.from, plan.count, plan.max_bytes,
                        &self->read_batch) != 0) {
            S_ERROR(self, envelope, id, RL_ERR_INTERNAL, 0,
                    "reading the log failed: %s", rl_log_error(self->log));
            return true;
        }
        size_t kept = self->read_batch.count;
        rl_read_keep_user_entries(self->read_batch.entries, &kept, &next);
        /* Only Raft's own entries so far: a long-poll goes on waiting for
           a user entry after them rather than answering empty. */
        if (rl_read_wait_more(req, kept, next, commit, may_wait)) {
            req->from = next;
            return false;
        }
        msg.body.read_ok.entries = self->read_batch.entries;
        msg.body.read_ok.entry_count = kept;
    }
    msg.body.read_ok.next = next;
    msg.body.read_ok.commit = commit;
    msg.body.read_ok.first = first;
    self->n_reads++;
    rl_group_reply(self, envelope, &msg);
    return true;
}

void rl_group_read(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg,
                   rl_front_held_t *held)
{
    const rl_config_t *config = self->config;
    rl_read_request_t req = msg->body.read_request;
    /* A longer wait is cut: the reply comes back empty at the cut, and
       the consumer asks again (PROTOCOL.md, READ_REQUEST). */
    if (req.wait_ms > config->max_read_wait_ms) {
        req.wait_ms = config->max_read_wait_ms;
        self->n_waits_cut++;
    }
    if (s_serve_read(self, envelope, msg->id, &req, true))
        return;
    size_t parked = rl_pending_count_kind(self->pending, RL_PENDING_READ);
    if (parked >= config->max_parked_reads ||
        (held && held->count >= config->max_client_parked_reads)) {
        self->n_parked_refused++;
        S_ERROR(self, envelope, msg->id, RL_ERR_BUSY, 0,
                "node %" PRIu64 " has %zu long polls waiting, %zu of them "
                "from this connection (at most %u and %u: "
                "--max-parked-reads, --max-client-parked-reads); retry "
                "after a pause, or wait on fewer at once",
                config->id, parked, held ? held->count : 0,
                config->max_parked_reads, config->max_client_parked_reads);
        return;
    }
    s_park(self, envelope, msg->id, RL_PENDING_READ, req.wait_ms, 0, &req,
           held);
}

void rl_group_release(rl_group_t *self, rl_front_held_t *held)
{
    rl_pending_t *p;
    while ((p = rl_pending_take_owned(self->pending, held))) {
        self->n_parked_released++;
        rl_pending_free(&p);
    }
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
        if (req->entries[i].size > config->max_entry_bytes) {
            S_ERROR(self, envelope, msg->id, RL_ERR_TOO_LARGE, 0,
                    "entry %zu is %zu bytes, over this node's limit "
                    "of %u bytes",
                    i, req->entries[i].size, config->max_entry_bytes);
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
        s_park(self, envelope, msg->id, RL_PENDING_APPEND,
               self->config->request_timeout_ms, out.last, NULL, NULL);
    if (p) {
        p->first = out.first;
        p->term = out.term;
        p->duplicate = out.duplicate;
    }
}

/* ---- MEMBERS and TRANSFER ---- */

void rl_group_members(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg)
{
    const rl_members_request_t *req = &msg->body.members_request;
    if (req->op == RL_MEMBERS_LIST) {
        s_reply_members(self, envelope, msg->id);
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
        rc = rl_raft_add_member(self->raft, &req->member);
    } else {
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
                           : "that id is not a member (or is the last one)")
                    : "the membership change was refused");
        return;
    }
    rl_raft_status_t status;
    rl_raft_status(self->raft, &status);
    rl_logf(RL_LOG_INFO, "membership: %s node %" PRIu64 " proposed",
            req->op == RL_MEMBERS_ADD ? "adding" : "removing", req->member.id);
    s_park(self, envelope, msg->id, RL_PENDING_MEMBERS,
           self->config->request_timeout_ms, status.last_index, NULL, NULL);
}

void rl_group_transfer(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg)
{
    uint64_t target = msg->body.transfer_request.target;
    int rc = rl_raft_transfer(self->raft, target);
    if (rc == RL_RAFT_NOT_LEADER)
        rl_group_reply_not_leader(self, envelope, msg->id, self->leader);
    else if (rc != 0)
        S_ERROR(self, envelope, msg->id, rc, 0,
                "the leadership transfer was refused (unknown "
                "target, or a transfer is under way)");
    else if (target == self->config->id)
        s_reply_transfer_ok(self, envelope, msg->id, self->config->id);
    else
        s_park(self, envelope, msg->id, RL_PENDING_TRANSFER,
               self->config->request_timeout_ms, 0, NULL, NULL);
}

/* ---- Answering what waits ---- */

/* Answers an APPEND whose last index is committed. */
static void s_answer_append(rl_group_t *self, rl_pending_t *p)
{
    /* Term 0: a duplicate whose original was compacted away, which
       happens only to committed entries. */
    uint64_t term = 0;
    if (p->term == 0 ||
        (rl_log_term(self->log, p->index, &term) == 0 && term == p->term)) {
        rl_msg_t msg;
        rl_msg_init(&msg, RL_MSG_APPEND_OK);
        msg.id = p->id;
        msg.body.append_ok.first = p->first;
        msg.body.append_ok.last = p->index;
        msg.body.append_ok.duplicate = p->duplicate;
        rl_group_reply(self, &p->envelope, &msg);
        rl_histogram_observe(&self->append_histogram,
                             zclock_usecs() - p->accepted_us);
    } else {
        /* Another leader's entries replaced ours: not appended. */
        rl_group_reply_not_leader(self, &p->envelope, p->id, self->leader);
    }
}

void rl_group_answer_committed(rl_group_t *self)
{
    uint64_t commit = rl_group_commit(self);
    rl_pending_t *p;
    while ((p = rl_pending_take_committed(self->pending, commit))) {
        if (p->kind == RL_PENDING_APPEND) {
            s_answer_append(self, p);
        } else if (p->kind == RL_PENDING_MEMBERS) {
            s_reply_members(self, &p->envelope, p->id);
        } else if (!s_serve_read(self, &p->envelope, p->id, &p->read, true)) {
            /* Only Raft's own entries were committed: from moved past
               commit, so this loop will not take it again. */
            if (rl_pending_put(self->pending, p) == 0)
                continue;
            s_serve_read(self, &p->envelope, p->id, &p->read, false);
        }
        rl_pending_free(&p);
    }
}

void rl_group_answer_expired(rl_group_t *self, int64_t now)
{
    rl_pending_t *p;
    while ((p = rl_pending_take_expired(self->pending, now))) {
        if (p->kind == RL_PENDING_READ) {
            s_serve_read(self, &p->envelope, p->id, &p->read, false);
        } else {
            self->n_timeouts++;
            S_ERROR(self, &p->envelope, p->id, RL_ERR_TIMEOUT, 0,
                    "not done within %u ms (no quorum, or a leader "
                    "change); %s",
                    self->config->request_timeout_ms,
                    p->kind == RL_PENDING_APPEND
                        ? "the outcome is unknown: retry with the "
                          "same producer and seq"
                    : p->kind == RL_PENDING_TRANSFER
                        ? "no other node took over: check STATUS and "
                          "retry"
                        : "check the members (MEMBERS list) before "
                          "retrying");
        }
        rl_pending_free(&p);
    }
}

void rl_group_answer_transfers(rl_group_t *self, uint64_t leader)
{
    rl_pending_t *p;
    while ((p = rl_pending_take_kind(self->pending, RL_PENDING_TRANSFER))) {
        s_reply_transfer_ok(self, &p->envelope, p->id, leader);
        rl_pending_free(&p);
    }
}

void rl_group_answer_write_failure(rl_group_t *self, int error)
{
    static const int kinds[] = {RL_PENDING_APPEND, RL_PENDING_MEMBERS,
                                RL_PENDING_TRANSFER};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        rl_pending_t *p;
        while ((p = rl_pending_take_kind(self->pending, kinds[k]))) {
            S_ERROR(self, &p->envelope, p->id,
                    error == ENOSPC ? RL_ERR_NO_SPACE : RL_ERR_INTERNAL, 0,
                    "node %" PRIu64 " could not write its log (%s); the "
                    "outcome is unknown: retry with the same producer and "
                    "seq",
                    self->config->id, strerror(error));
            rl_pending_free(&p);
        }
    }
}

void rl_group_answer_all_shutting_down(rl_group_t *self)
{
    rl_pending_t *p;
    while ((p = rl_pending_take_any(self->pending))) {
        S_ERROR(self, &p->envelope, p->id, RL_ERR_SHUTTING_DOWN, 0,
                "node %" PRIu64 " is shutting down; retry on "
                "another node",
                self->config->id);
        rl_pending_free(&p);
    }
}

/*  rl_group_requests.c - a group's client requests: APPEND, READ (from an
    index, a time or a durable consumer's position), MEMBERS, TRANSFER,
    CONSUMER_COMMIT and CONSUMERS, each answered at once or parked in the
    pending table, and the answers a commit advance, a role change, a
    deadline, a failed write or the end of the node gives them. See
    rl_group.h.
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

/* OUT_OF_RANGE, naming the retained start (index and time) in its fields;
   the message (the rest) says which and what to do. */
#define S_OUT_OF_RANGE(self, envelope, id, ...)                                \
    rl_front_error_range((self)->links.front, envelope, id,                    \
                         RL_ERR_OUT_OF_RANGE, rl_log_first_index((self)->log), \
                         rl_log_first_time((self)->log), __VA_ARGS__)

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

/* Sends READ_OK with kept entries from read_batch (none when kept is 0),
   their times, next and the node's commit and first index. */
static void s_reply_read(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                         size_t kept, uint64_t next, uint64_t commit)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_READ_OK);
    msg.id = id;
    if (kept) {
        msg.body.read_ok.entries = self->read_batch.entries;
        msg.body.read_ok.entry_count = kept;
        /* Each entry's time, parallel to the entries: existing clients
           skip the field (PROTOCOL.md section 2). The read batch holds at
           least kept entries, so its capacity bounds ours. */
        if (kept > self->read_times_cap) {
            uint64_t *grown =
                realloc(self->read_times, kept * sizeof(uint64_t));
            if (!grown) {
                S_ERROR(self, envelope, id, RL_ERR_INTERNAL, 0,
                        "out of memory on the node");
                return;
            }
            self->read_times = grown;
            self->read_times_cap = kept;
        }
        for (size_t i = 0; i < kept; i++)
            self->read_times[i] = self->read_batch.entries[i].time;
        msg.body.read_ok.times = self->read_times;
        msg.body.read_ok.time_count = kept;
    }
    msg.body.read_ok.next = next;
    msg.body.read_ok.commit = commit;
    msg.body.read_ok.first = rl_log_first_index(self->log);
    self->n_reads++;
    rl_group_reply(self, envelope, &msg);
}

/* A READ from a time (req->from_time): turned into a READ from the index
   of the first entry stamped at or after it once one is committed.
   Returns 1 when answered (an error, or empty when it may not wait), 0
   when it should be parked, -1 when req->from is set and the read goes
   on. Parked, it waits for the entry found to commit (req->from = its
   index, from_time kept: it looks again then, as a truncation may have
   replaced that entry), or, when no entry is stamped that late at all,
   for an append of one (req->from = 0: the pending table's time order,
   so that commits do not wake it for nothing). */
static int s_start_at_time(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                           rl_read_request_t *req, uint64_t commit,
                           bool may_wait)
{
    uint64_t found;
    if (rl_log_find_time(self->log, req->from_time, &found) != 0) {
        S_ERROR(self, envelope, id, RL_ERR_INTERNAL, 0,
                "reading the log failed: %s", rl_log_error(self->log));
        return 1;
    }
    uint64_t first = rl_log_first_index(self->log);
    uint64_t first_time = rl_log_first_time(self->log);
    uint64_t from = 0;
    char asked[RL_READ_TIME_TEXT], start[RL_READ_TIME_TEXT];
    switch (rl_read_time_start(req->from_time, found, first, first_time, commit,
                               &from)) {
    case RL_READ_BELOW_FIRST:
        S_OUT_OF_RANGE(self, envelope, id,
                       "from_time %" PRIu64 " (%s) is before the retained "
                       "log, which starts at index %" PRIu64 " stamped "
                       "%" PRIu64 " (%s): entries stamped after the time "
                       "asked may have been dropped; read from there "
                       "('from' %" PRIu64 " or 'from_time' %" PRIu64 ")",
                       req->from_time, rl_read_time_text(req->from_time, asked),
                       first, first_time, rl_read_time_text(first_time, start),
                       first, first_time);
        return 1;
    case RL_READ_WAIT:
        req->from = found <= rl_log_last_index(self->log) ? found : 0;
        if (may_wait && req->wait_ms > 0)
            return 0;
        /* An empty answer: next is where the next entry goes, but the
           client asks again with the same from_time (PROTOCOL.md). */
        s_reply_read(self, envelope, id, 0, commit + 1, commit);
        return 1;
    default:
        req->from = from;
        req->from_time = 0;
        return -1;
    }
}

/* Answers a READ from what is committed, or says it may wait. Returns
   true when answered (the envelope is consumed), false when it should be
   parked (req->from may have moved past Raft's own entries). */
static bool s_serve_read(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                         rl_read_request_t *req, bool may_wait)
{
    uint64_t first = rl_log_first_index(self->log);
    uint64_t commit = rl_group_commit(self);
    if (req->from_time) {
        int started =
            s_start_at_time(self, envelope, id, req, commit, may_wait);
        if (started >= 0)
            return started == 1;
    }
    rl_read_plan_t plan;
    switch (rl_read_plan(req, first, commit, may_wait, &plan)) {
    case RL_READ_BAD_FROM:
        S_ERROR(self, envelope, id, RL_ERR_BAD_REQUEST, 0,
                "READ_REQUEST: 'from' must be 1 or more");
        return true;
    case RL_READ_BELOW_FIRST: {
        char start[RL_READ_TIME_TEXT];
        S_OUT_OF_RANGE(self, envelope, id,
                       "index %" PRIu64 " is no longer retained; the log "
                       "starts at %" PRIu64 " (stamped %s): read from there",
                       req->from, first,
                       rl_read_time_text(rl_log_first_time(self->log), start));
        return true;
    }
    case RL_READ_WAIT:
        return false;
    default:
        break;
    }
    uint64_t next = plan.from;
    size_t kept = 0;
    if (plan.count) {
        /* Read in one go; Raft's own entries are skipped but still move
           `next`, so the reader never sees a gap. */
        if (rl_log_read(self->log, plan.from, plan.count, plan.max_bytes,
                        &self->read_batch) != 0) {
            S_ERROR(self, envelope, id, RL_ERR_INTERNAL, 0,
                    "reading the log failed: %s", rl_log_error(self->log));
            return true;
        }
        kept = self->read_batch.count;
        rl_read_keep_user_entries(self->read_batch.entries, &kept, &next);
        /* Only Raft's own entries so far: a long-poll goes on waiting for
           a user entry after them rather than answering empty. */
        if (rl_read_wait_more(req, kept, next, commit, may_wait)) {
            req->from = next;
            return false;
        }
    }
    s_reply_read(self, envelope, id, kept, next, commit);
    return true;
}

/* A consumer's position is read from the leader's committed table, once
   the leader has committed an entry of its term: a follower's table, or
   a new leader's before that, may lag behind a commit just acknowledged,
   and a consumer resuming from it would see entries again (or, for a
   consumer just made, all of them). Answers and returns false when this
   node may not answer. */
static bool s_may_tell_positions(rl_group_t *self, zmsg_t **envelope,
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
static bool s_name_valid(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                         const char *what, rl_str_t name)
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
static void s_name_copy(char *out, rl_str_t name)
{
    memcpy(out, name.ptr, name.size);
    out[name.size] = '\0';
}

/* A READ after a consumer's position: turned into a READ from the index
   after it. Returns false when answered (an error). */
static bool s_start_at_consumer(rl_group_t *self, zmsg_t **envelope,
                                uint64_t id, rl_read_request_t *req)
{
    if (!s_name_valid(self, envelope, id, "READ_REQUEST 'consumer'",
                      req->consumer) ||
        !s_may_tell_positions(self, envelope, id))
        return false;
    char name[RL_MAX_CONSUMER_NAME + 1];
    s_name_copy(name, req->consumer);
    uint64_t position;
    if (!rl_raft_consumer_position(self->raft, req->consumer, &position)) {
        S_ERROR(self, envelope, id, RL_ERR_NOT_FOUND, 0,
                "consumer '%s' has no committed position (none was ever "
                "committed, or it was deleted): read with 'from' or "
                "'from_time', and commit a position (CONSUMER_COMMIT) to "
                "make it",
                name);
        return false;
    }
    uint64_t first = rl_log_first_index(self->log);
    if (position + 1 < first) {
        char start[RL_READ_TIME_TEXT];
        S_OUT_OF_RANGE(self, envelope, id,
                       "consumer '%s' is at index %" PRIu64 ", and its next "
                       "entry is no longer retained: the log starts at "
                       "%" PRIu64 " (stamped %s); entries in between were "
                       "dropped. Reset it to go on from the start "
                       "(CONSUMERS reset, index %" PRIu64 "; raftlog "
                       "consumers reset %s --to %" PRIu64 ")",
                       name, position, first,
                       rl_read_time_text(rl_log_first_time(self->log), start),
                       first - 1, name, first);
        return false;
    }
    req->from = position + 1;
    req->consumer = (rl_str_t){NULL, 0}; /* borrowed from the request */
    return true;
}

void rl_group_read(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg,
                   rl_front_held_t *held)
{
    const rl_config_t *config = self->config;
    rl_read_request_t req = msg->body.read_request;
    switch (rl_read_start(&req)) {
    case RL_READ_START_BAD:
        S_ERROR(self, envelope, msg->id, RL_ERR_BAD_REQUEST, 0,
                "READ_REQUEST: give exactly one of 'from' (an index, 1 or "
                "more), 'from_time' (ms since the Unix epoch, 1 or more) and "
                "'consumer' (a durable consumer's name)");
        return;
    case RL_READ_START_CONSUMER:
        if (!s_start_at_consumer(self, envelope, msg->id, &req))
            return;
        break;
    default:
        break;
    }
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
        rl_group_clock(self);
        rc = rl_raft_add_member(self->raft, &req->member);
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
    rl_group_clock(self);
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
static void s_reply_consumer(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                             const char *name)
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
    s_name_copy(text, name);
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
        s_park(self, envelope, id, RL_PENDING_CONSUMER,
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
    if (!s_name_valid(self, envelope, msg->id, "CONSUMER_COMMIT 'consumer'",
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
        !s_name_valid(self, envelope, msg->id, what, req->consumer))
        return;
    if (req->op == RL_CONSUMERS_RESET) {
        s_consumers_reset(self, envelope, msg->id, req);
        return;
    }
    if (!s_may_tell_positions(self, envelope, msg->id))
        return;
    if (req->op == RL_CONSUMERS_LIST) {
        s_reply_all_consumers(self, envelope, msg->id);
        return;
    }
    char name[RL_MAX_CONSUMER_NAME + 1];
    s_name_copy(name, req->consumer);
    uint64_t position;
    if (!rl_raft_consumer_position(self->raft, req->consumer, &position)) {
        S_ERROR(self, envelope, msg->id, RL_ERR_NOT_FOUND, 0,
                "there is no consumer '%s'%s", name,
                req->op == RL_CONSUMERS_DELETE ? " (nothing to delete)" : "");
        return;
    }
    if (req->op == RL_CONSUMERS_SHOW)
        s_reply_consumer(self, envelope, msg->id, name);
    else
        s_propose_consumer(self, envelope, msg->id, RL_CONSUMERS_DELETE,
                           req->consumer, 0);
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

/* Answers a consumer change whose entry is committed: with the
   consumer's position as committed now (none after a delete). */
static void s_answer_consumer(rl_group_t *self, rl_pending_t *p)
{
    uint64_t term = 0;
    if (rl_log_term(self->log, p->index, &term) == 0 && term == p->term) {
        if (p->consumer_op == RL_CONSUMERS_DELETE)
            s_reply_consumers(self, &p->envelope, p->id, NULL, 0);
        else
            s_reply_consumer(self, &p->envelope, p->id, p->consumer);
    } else {
        /* Another leader's entries replaced ours: not done. */
        rl_group_reply_not_leader(self, &p->envelope, p->id, self->leader);
    }
}

void rl_group_answer_committed(rl_group_t *self)
{
    uint64_t commit = rl_group_commit(self);
    rl_pending_t *p;
    /* READs from a time that an entry is now stamped at or after: served,
       or moved to wait for that entry's commit (never back here). */
    while ((p = rl_pending_take_stamped(self->pending,
                                        rl_log_last_time(self->log)))) {
        if (!s_serve_read(self, &p->envelope, p->id, &p->read, true)) {
            if (rl_pending_put(self->pending, p) == 0)
                continue;
            s_serve_read(self, &p->envelope, p->id, &p->read, false);
        }
        rl_pending_free(&p);
    }
    while ((p = rl_pending_take_committed(self->pending, commit))) {
        if (p->kind == RL_PENDING_APPEND) {
            s_answer_append(self, p);
        } else if (p->kind == RL_PENDING_CONSUMER) {
            s_answer_consumer(self, p);
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
                    : p->kind == RL_PENDING_CONSUMER
                        ? "the outcome is unknown: check the consumer "
                          "(CONSUMERS show) before retrying (a commit of "
                          "the same index may be sent again)"
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
                                RL_PENDING_TRANSFER, RL_PENDING_CONSUMER};
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

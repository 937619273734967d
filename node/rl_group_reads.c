/*  rl_group_reads.c - a group's READ requests: from an index, a time or a
    durable consumer's position, answered from what is committed or
    parked as a long poll until a commit, an append stamped late enough
    or the deadline settles them. See rl_group.h.
*/
#include "rl_group_private.h"

#include <inttypes.h>
#include <string.h>

#include "rl_reads.h"

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
bool rl_group_serve_read(rl_group_t *self, zmsg_t **envelope, uint64_t id,
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

/* A READ after a consumer's position: turned into a READ from the index
   after it. Returns false when answered (an error). */
static bool s_start_at_consumer(rl_group_t *self, zmsg_t **envelope,
                                uint64_t id, rl_read_request_t *req)
{
    if (!rl_group_consumer_name_check(
            self, envelope, id, "READ_REQUEST 'consumer'", req->consumer) ||
        !rl_group_may_tell_positions(self, envelope, id))
        return false;
    char name[RL_MAX_CONSUMER_NAME + 1];
    rl_group_name_copy(name, req->consumer);
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
    if (rl_group_serve_read(self, envelope, msg->id, &req, true))
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
    rl_group_park(self, envelope, msg->id, RL_PENDING_READ, req.wait_ms, 0,
                  &req, held);
}

void rl_group_release(rl_group_t *self, rl_pending_t **p_p)
{
    self->n_parked_released++;
    rl_pending_free(p_p);
}

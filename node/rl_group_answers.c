/*  rl_group_answers.c - the answers a group gives what waits in its
    pending table: a commit advance (appends, reads, consumer changes,
    membership changes), a leadership change (transfers), a deadline, a
    failed write or the end of the node. See rl_group.h.
*/
#include "rl_group_private.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

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
    /* READs from a time that an entry is now stamped at or after: served,
       or moved to wait for that entry's commit (never back here). */
    while ((p = rl_pending_take_stamped(self->pending,
                                        rl_log_last_time(self->log)))) {
        if (!rl_group_serve_read(self, &p->envelope, p->id, &p->read, true)) {
            if (rl_pending_put(self->pending, p) == 0)
                continue;
            rl_group_serve_read(self, &p->envelope, p->id, &p->read, false);
        }
        rl_pending_free(&p);
    }
    while ((p = rl_pending_take_committed(self->pending, commit))) {
        if (p->kind == RL_PENDING_APPEND) {
            s_answer_append(self, p);
        } else if (p->kind == RL_PENDING_CONSUMER) {
            rl_group_answer_consumer(self, p);
        } else if (p->kind == RL_PENDING_CATALOG) {
            rl_group_answer_catalog(self, p);
        } else if (p->kind == RL_PENDING_MEMBERS) {
            rl_group_reply_members(self, &p->envelope, p->id);
        } else if (!rl_group_serve_read(self, &p->envelope, p->id, &p->read,
                                        true)) {
            /* Only Raft's own entries were committed: from moved past
               commit, so this loop will not take it again. */
            if (rl_pending_put(self->pending, p) == 0)
                continue;
            rl_group_serve_read(self, &p->envelope, p->id, &p->read, false);
        }
        rl_pending_free(&p);
    }
}

void rl_group_answer_expired(rl_group_t *self, int64_t now)
{
    rl_pending_t *p;
    while ((p = rl_pending_take_expired(self->pending, now))) {
        if (p->kind == RL_PENDING_READ) {
            rl_group_serve_read(self, &p->envelope, p->id, &p->read, false);
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
                    : p->kind == RL_PENDING_CATALOG
                        ? "the outcome is unknown: check the logs (raftlog "
                          "logs list) before retrying"
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
        rl_group_reply_transfer_ok(self, &p->envelope, p->id, leader);
        rl_pending_free(&p);
    }
}

void rl_group_answer_write_failure(rl_group_t *self, int error)
{
    static const int kinds[] = {RL_PENDING_APPEND, RL_PENDING_MEMBERS,
                                RL_PENDING_TRANSFER, RL_PENDING_CONSUMER,
                                RL_PENDING_CATALOG};
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

void rl_group_deleted(rl_group_t *self)
{
    rl_group_wait_sync(self);
    rl_group_wait_spare(self);
    rl_pending_t *p;
    while ((p = rl_pending_take_any(self->pending))) {
        S_ERROR(self, &p->envelope, p->id, RL_ERR_NOT_FOUND, 0,
                "no log named %s: it was deleted; raftlog logs list",
                self->name);
        rl_pending_free(&p);
    }
}

/*  raft.c - the core's life cycle, inputs and the ready batch (raft.h).

    Term rules for every received message (paper 5.1, Fig. 2 "all
    servers"; thesis 9.6 for PreVote and the lease), applied in
    rl_raft_step() before the per-type handlers:
    - A higher term makes us a follower of that term, except: a PREVOTE
      never changes our term (it asks about a future one); a granted
      PREVOTE_REPLY carries the term asked about; and a (pre)vote request
      that arrives while we are in a leader lease is refused without a
      term change, unless it carries the transfer flag (the refusal names
      our leader, which a lagging candidate may not know).
    - A lower term is stale and ignored, except that an APPEND from a stale
      leader is answered with our term (with PreVote or CheckQuorum on, a
      server may have a higher term than a leader that cannot learn it
      otherwise; likewise a SNAPSHOT), and a PREVOTE is refused with our
      term.
*/
#include "raft_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Formats a trace line only when someone listens. */
void rl_raft_trace(rl_raft_t *r, int level, const char *format, ...)
{
    if (!r->cfg.trace) {
        return;
    }
    char text[256];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    r->cfg.trace(r->cfg.trace_ctx, level, text);
}

/* xorshift64*: the core's own PRNG (never rand()), seeded by the host. */
unsigned rl_raft_random(rl_raft_t *r, unsigned below)
{
    uint64_t x = r->prng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->prng = x;
    uint64_t v = x * 0x2545F4914F6CDD1DULL;
    return below ? (unsigned)((v >> 33) % below) : 0;
}

void rl_raft_set_term(rl_raft_t *r, uint64_t term)
{
    if (term != r->term) {
        r->term = term;
        r->vote = 0;
        r->hs_changed = true;
        r->role_changed = true;
    }
}

void rl_raft_become_follower(rl_raft_t *r, uint64_t term, uint64_t leader)
{
    rl_raft_set_term(r, term);
    if (r->role != RL_RAFT_FOLLOWER || r->leader != leader) {
        r->role_changed = true;
    }
    r->role = RL_RAFT_FOLLOWER;
    r->leader = leader;
    r->owed = false;
    rl_raft_abort_transfer(r);
    rl_raft_reset_timeout(r);
}

/* Queues msg for `to`; takes msg->owned (freed on failure). */
int rl_raft_send(rl_raft_t *r, uint64_t to, rl_msg_t *msg)
{
    if (r->msg_count == r->msg_cap) {
        size_t cap = r->msg_cap ? r->msg_cap * 2 : 16;
        rl_raft_envelope_t *p = realloc(r->msgs, cap * sizeof(*p));
        if (!p) {
            rl_msg_close(msg);
            return RL_ERR_INTERNAL;
        }
        r->msgs = p;
        r->msg_cap = cap;
    }
    msg->from = r->id;
    msg->group = r->cfg.group;
    msg->cluster.ptr = r->cluster;
    msg->cluster.size = r->cluster ? strlen(r->cluster) : 0;
    r->msgs[r->msg_count].to = to;
    r->msgs[r->msg_count].msg = *msg;
    r->msg_count++;
    return 0;
}

void rl_raft_config_defaults(rl_raft_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->election_ticks = 10;
    cfg->heartbeat_ticks = 1;
    cfg->pre_vote = true;
    cfg->check_quorum = true;
    cfg->max_inflight = 8;
    cfg->max_batch_bytes = 256 * 1024;
    cfg->max_batch_entries = 1024;
    cfg->max_uncommitted = 64u << 20;
    cfg->max_producers = 1024;
    cfg->max_consumers = 1024;
    cfg->max_logs = 1024;
    cfg->snapshot_chunk = 1u << 20;
}

/* Reads the log after the snapshot once: configuration entries,
   producer runs and consumer entries, all uncommitted as far as a
   restarted server knows; and the time of the last entry. */
static int s_scan(rl_raft_t *r)
{
    uint64_t from = r->snap_index + 1;
    r->last_time = r->snap_time;
    while (from <= r->last_index) {
        rl_entry_t *entries = NULL;
        size_t count = 0;
        rl_msg_t holder;
        rl_msg_init(&holder, RL_MSG_APPEND);
        int rc = rl_raft_log_read(r, from, 1024, 1u << 20, &holder, &entries,
                                  &count);
        if (rc == 0) {
            rc = rl_raft_tail_add(r, entries, count);
        }
        if (rc == 0 && count > 0) {
            r->last_time = entries[count - 1].time;
        }
        rl_msg_close(&holder);
        if (rc != 0) {
            return rc;
        }
        from += count;
    }
    return 0;
}

rl_raft_t *rl_raft_new(const rl_raft_config_t *cfg, int *error)
{
    int rc = RL_ERR_BAD_REQUEST;
    rl_raft_t *r = NULL;
    if (cfg && cfg->term > RL_RAFT_MAX_TERM) {
        rc = RL_ERR_OUT_OF_RANGE; /* see RL_RAFT_MAX_TERM */
        goto fail;
    }
    if (cfg && (cfg->known_count > RL_MAX_MEMBERS ||
                (cfg->known_count && !cfg->known))) {
        goto fail;
    }
    if (!cfg || cfg->id == 0 || cfg->election_ticks < 2 ||
        cfg->heartbeat_ticks == 0 ||
        cfg->heartbeat_ticks >= cfg->election_ticks || !cfg->view.term_at ||
        !cfg->view.read || !cfg->view.first_index || !cfg->view.last_index ||
        cfg->max_inflight == 0 || cfg->snapshot_chunk == 0 ||
        cfg->max_consumers > RL_RAFT_CONSUMER_LIMIT ||
        cfg->max_logs > RL_RAFT_LOG_LIMIT) {
        goto fail;
    }
    rc = RL_ERR_INTERNAL;
    r = calloc(1, sizeof(*r));
    if (!r) {
        goto fail;
    }
    r->cfg = *cfg;
    r->cfg.snapshot = NULL;
    r->cfg.members = NULL;
    r->cfg.member_count = 0;
    r->cfg.known = NULL;
    r->cfg.known_count = 0;
    if (cfg->known_count) {
        memcpy(r->known, cfg->known, cfg->known_count * sizeof(uint64_t));
    }
    r->known_count = cfg->known_count;
    if (cfg->cluster.size) {
        r->cluster = calloc(1, cfg->cluster.size + 1);
        if (!r->cluster) {
            goto fail;
        }
        memcpy(r->cluster, cfg->cluster.ptr, cfg->cluster.size);
    }
    r->id = cfg->id;
    r->prng = cfg->seed * 0x9E3779B97F4A7C15ULL + cfg->id;
    if (r->prng == 0) {
        r->prng = 0x853c49e6748fea9bULL;
    }
    if (rl_raft_producers_init(&r->prod_commit, cfg->max_producers) != 0 ||
        rl_raft_producers_init(&r->prod_tip, cfg->max_producers) != 0) {
        goto fail;
    }
    r->term = cfg->term;
    r->vote = cfg->vote;
    r->role = RL_RAFT_FOLLOWER;
    r->cat_commit.next_group = 1;
    r->cat_tip.next_group = 1;
    rl_raft_state_config_t from = {0, cfg->mirrors};
    if (cfg->snapshot) {
        const rl_raft_snapshot_t *s = cfg->snapshot;
        from.config_at = s->last_index; /* its data says better, if any */
        from.mirrors = 0;
        rc = rl_raft_snapshot_set(r, s->last_index, s->last_term, s->members,
                                  s->member_count, s->data, s->size);
        if (rc == 0) {
            rc = rl_raft_state_decode(s->data, s->size, s->last_index,
                                      &r->prod_commit, &r->cons_commit,
                                      &r->cat_commit, &r->snap_time, &from);
        }
        if (rc == 0) {
            rc = rl_raft_consumers_reserve(r, r->cons_commit.count);
        }
        if (rc == 0) {
            rc = rl_raft_catalog_reserve(r, r->cat_commit.count);
        }
        if (rc == 0) {
            rc = rl_raft_members_copy(&r->base_config, s->members,
                                      s->member_count);
        }
        if (rc != 0) {
            goto fail;
        }
        r->snap_index = s->last_index;
        r->snap_term = s->last_term;
    } else {
        rc = rl_raft_members_copy(&r->base_config, cfg->members,
                                  cfg->member_count);
        if (rc != 0) {
            goto fail;
        }
    }
    r->base_config.mirrors = from.mirrors;
    r->base_config_at = from.config_at;
    rc = RL_ERR_INTERNAL;
    if (rl_raft_members_copy(&r->config, r->base_config.members,
                             r->base_config.count) != 0) {
        goto fail;
    }
    r->config.mirrors = r->base_config.mirrors;
    rl_raft_producers_copy(&r->prod_tip, &r->prod_commit);
    rl_raft_consumers_copy(&r->cons_tip, &r->cons_commit);
    rl_raft_catalog_copy(&r->cat_tip, &r->cat_commit);
    r->commit = r->snap_index;
    r->last_index = cfg->view.last_index(cfg->view.ctx);
    if (r->last_index < r->snap_index) {
        r->last_index = r->snap_index;
    }
    r->pend_first = r->last_index + 1;
    if (rl_raft_log_term(r, r->last_index, &r->last_term) != 0) {
        rc = RL_ERR_BAD_REQUEST;
        goto fail;
    }
    /* Whatever a restarted host's log holds is durable (it syncs on
       open). */
    r->persisted = r->last_index;
    rc = s_scan(r);
    if (rc != 0) {
        goto fail;
    }
    r->commit_reported = r->commit;
    rl_raft_reset_timeout(r);
    return r;
fail:
    if (error) {
        *error = rc;
    }
    rl_raft_destroy(&r);
    return NULL;
}

static void s_free_msgs(rl_raft_envelope_t *msgs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        rl_msg_close(&msgs[i].msg);
    }
    free(msgs);
}

void rl_raft_destroy(rl_raft_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    rl_raft_t *r = *self_p;
    free(r->cluster);
    rl_raft_log_free_entries(r->pend, r->pend_count);
    rl_raft_log_free_entries(r->out_entries, r->out_entry_count);
    s_free_msgs(r->msgs, r->msg_count);
    s_free_msgs(r->out_msgs, r->out_msg_count);
    rl_raft_tail_clear(r);
    free(r->tail);
    rl_raft_producers_close(&r->prod_commit);
    rl_raft_producers_close(&r->prod_tip);
    rl_raft_consumers_close(&r->cons_commit);
    rl_raft_consumers_close(&r->cons_tip);
    rl_raft_catalog_close(&r->cat_commit);
    rl_raft_catalog_close(&r->cat_tip);
    free(r->cat_queue);
    free(r->cat_out);
    rl_raft_members_clear(&r->config);
    rl_raft_members_clear(&r->base_config);
    rl_raft_members_clear(&r->in_config);
    rl_raft_snapshot_free(r);
    free(r->in_data);
    free(r);
    *self_p = NULL;
}

void rl_raft_set_clock(rl_raft_t *r, uint64_t now_ms)
{
    r->clock = now_ms;
}

int rl_raft_tick(rl_raft_t *r)
{
    if (r->quiet) {
        return 0; /* quiesce.c: nothing to do until woken */
    }
    return rl_raft_tick_election(r);
}

static uint64_t s_msg_term(const rl_msg_t *m)
{
    switch (m->type) {
    case RL_MSG_PREVOTE:
    case RL_MSG_VOTE:
        return m->body.vote.term;
    case RL_MSG_PREVOTE_REPLY:
    case RL_MSG_VOTE_REPLY:
        return m->body.vote_reply.term;
    case RL_MSG_APPEND:
        return m->body.append.term;
    case RL_MSG_APPEND_REPLY:
        return m->body.append_reply.term;
    case RL_MSG_SNAPSHOT:
        return m->body.snapshot.term;
    case RL_MSG_SNAPSHOT_REPLY:
        return m->body.snapshot_reply.term;
    default:
        return m->body.timeout_now.term;
    }
}

static bool s_known(const rl_raft_t *r, uint64_t id)
{
    for (size_t i = 0; i < r->known_count; i++) {
        if (r->known[i] == id) {
            return true;
        }
    }
    return false;
}

/* May this server listen to msg? Raft's safety assumes messages come
   from members: members of the latest or the committed configuration,
   and the servers of the host's address book (its --member flags: the
   cluster as the operator configured this node; a server waiting to be
   added learns of the cluster from there). One more, as a leader only
   (APPEND, SNAPSHOT), where liveness needs it (thesis 4.1: servers accept
   a leader that is not in their configuration): a leader added by an
   entry this lagging server lacks, once a member named it in the refusal
   of a vote (vote replies name the voter's leader), at that term.
   A stranger can thus never raise a member's term, replace its leader or
   write to its log. */
static bool s_may_hear(rl_raft_t *r, const rl_msg_t *msg, uint64_t term)
{
    if (rl_raft_member(&r->config, msg->from) ||
        rl_raft_member(&r->base_config, msg->from) || s_known(r, msg->from)) {
        return true;
    }
    return (msg->type == RL_MSG_APPEND || msg->type == RL_MSG_SNAPSHOT) &&
           msg->from == r->vouched_leader && term == r->vouched_term;
}

static int s_step(rl_raft_t *r, const rl_msg_t *msg);

int rl_raft_step(rl_raft_t *r, const rl_msg_t *msg)
{
    bool was_quiet = r->quiet;
    rl_raft_role_t role = r->role;
    uint64_t term = r->term;
    uint64_t vote = r->vote;
    uint64_t leader = r->leader;
    int rc = s_step(r, msg);
    if (was_quiet && !r->quiet && rc == 0 && msg &&
        (msg->type == RL_MSG_PREVOTE || msg->type == RL_MSG_VOTE) &&
        r->role == role && r->term == term && r->vote == vote &&
        r->leader == leader &&
        (role == RL_RAFT_FOLLOWER ? msg->from != leader
                                  : !rl_raft_member(&r->config, msg->from))) {
        /* A (pre)vote refused under the lease (or a PreVote granted)
           changes nothing: the core stays quiet (quiesce.c). Not a
           follower asked by its leader (which then no longer leads: it
           restarted), nor a leader asked by a member (which does not hear
           it). */
        r->quiet = true;
    }
    return rc;
}

static int s_step(rl_raft_t *r, const rl_msg_t *msg)
{
    if (!msg || !rl_msg_is_peer(msg->type) || msg->from == 0 ||
        msg->from == r->id || msg->group != r->cfg.group) {
        return 0;
    }
    if (r->cluster &&
        (msg->cluster.size != strlen(r->cluster) ||
         memcmp(msg->cluster.ptr, r->cluster, msg->cluster.size) != 0)) {
        return 0;
    }
    uint64_t term = s_msg_term(msg);
    uint8_t type = msg->type;
    if (!s_may_hear(r, msg, term)) {
        r->dropped_non_member++;
        rl_raft_trace(r, RL_RAFT_TRACE_WARN,
                      "dropped %s from node %" PRIu64
                      ", which is not a member (term %" PRIu64 ")",
                      rl_msg_type_name(type), msg->from, term);
        return 0;
    }
    if (term > RL_RAFT_MAX_TERM ||
        (term > r->term && term - r->term > RL_RAFT_MAX_TERM_JUMP)) {
        r->dropped_bad_term++;
        rl_raft_trace(r, RL_RAFT_TRACE_WARN,
                      "dropped %s from node %" PRIu64 " with term %" PRIu64
                      ": beyond the maximum or too far ahead of ours (%" PRIu64
                      ")",
                      rl_msg_type_name(type), msg->from, term, r->term);
        return 0;
    }
    if (r->quiet && !rl_raft_quiet_keeps(r, msg, term)) {
        rl_raft_wake(r); /* quiesce.c: a message wakes a quiet group */
    }
    if ((type == RL_MSG_PREVOTE_REPLY || type == RL_MSG_VOTE_REPLY) &&
        !msg->body.vote_reply.granted && msg->body.vote_reply.leader &&
        msg->body.vote_reply.leader != r->id) {
        /* A member names the leader of its term: heard as a leader even
           if it is not in our configuration (s_may_hear). */
        r->vouched_leader = msg->body.vote_reply.leader;
        r->vouched_term = term;
    }
    if (term > r->term) {
        if (type == RL_MSG_PREVOTE || type == RL_MSG_VOTE) {
            if (rl_raft_in_lease(r) && !msg->body.vote.transfer) {
                /* Not even our term moves. The request is refused rather
                   than ignored: the refusal names our leader, which a
                   lagging candidate may not know (s_may_hear). */
                return rl_raft_reply_vote(r, msg, false);
            }
        }
        if (type == RL_MSG_PREVOTE ||
            (type == RL_MSG_PREVOTE_REPLY && msg->body.vote_reply.granted)) {
            /* no term change */
        } else {
            bool leads = type == RL_MSG_APPEND || type == RL_MSG_SNAPSHOT ||
                         type == RL_MSG_TIMEOUT_NOW;
            rl_raft_become_follower(r, term, leads ? msg->from : 0);
        }
    } else if (term < r->term) {
        if ((type == RL_MSG_APPEND || type == RL_MSG_SNAPSHOT) &&
            (r->cfg.check_quorum || r->cfg.pre_vote)) {
            rl_msg_t reply;
            rl_msg_init(&reply, RL_MSG_APPEND_REPLY);
            reply.body.append_reply.term = r->term;
            return rl_raft_send(r, msg->from, &reply);
        }
        if (type == RL_MSG_PREVOTE) {
            return rl_raft_reply_vote(r, msg, false);
        }
        return 0;
    }
    switch (type) {
    case RL_MSG_PREVOTE:
    case RL_MSG_VOTE:
        return rl_raft_step_vote(r, msg);
    case RL_MSG_PREVOTE_REPLY:
    case RL_MSG_VOTE_REPLY:
        return rl_raft_step_vote_reply(r, msg);
    case RL_MSG_APPEND: {
        if (r->role == RL_RAFT_LEADER) {
            return 0; /* two leaders in one term cannot happen */
        }
        int rc = rl_raft_step_append(r, msg);
        if (rc == 0) {
            rl_raft_quiesce_follower(r, msg);
        }
        return rc;
    }
    case RL_MSG_APPEND_REPLY:
        return r->role == RL_RAFT_LEADER ? rl_raft_step_append_reply(r, msg)
                                         : 0;
    case RL_MSG_SNAPSHOT:
        if (r->role == RL_RAFT_LEADER) {
            return 0;
        }
        return rl_raft_step_snapshot(r, msg);
    case RL_MSG_SNAPSHOT_REPLY:
        return r->role == RL_RAFT_LEADER ? rl_raft_step_snapshot_reply(r, msg)
                                         : 0;
    default:
        return rl_raft_step_timeout_now(r, msg);
    }
}

int rl_raft_propose(rl_raft_t *r, const rl_entry_t *entries, size_t count,
                    uint64_t producer_id, uint64_t seq, rl_raft_proposal_t *out)
{
    memset(out, 0, sizeof(*out));
    if (r->role != RL_RAFT_LEADER || r->transfer_to) {
        out->leader = r->role == RL_RAFT_LEADER ? r->transfer_to : r->leader;
        return RL_RAFT_NOT_LEADER;
    }
    if (count == 0 || !entries) {
        return RL_ERR_BAD_REQUEST;
    }
    if (count > RL_MAX_BATCH_ENTRIES) {
        return RL_ERR_TOO_LARGE;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++) {
        if (entries[i].size > RL_MAX_ENTRY_SIZE) {
            return RL_ERR_TOO_LARGE;
        }
        bytes += entries[i].size;
    }
    if (producer_id != 0) {
        const rl_raft_producer_t *p =
            rl_raft_producers_find(&r->prod_tip, producer_id);
        if (p && seq == p->seq && p->last - p->first + 1 != count) {
            /* The log holds only part of this batch: a leader change cut
               it short (a batch split across APPEND messages, or a crash
               mid-write). Answering "duplicate" would acknowledge entries
               that were never appended; appending again would repeat the
               part. Refuse: the producer learns the batch failed. */
            return RL_ERR_REJECTED;
        }
        if (p && seq == p->seq) {
            out->first = p->first;
            out->last = p->last;
            out->duplicate = true;
            if (rl_raft_log_term(r, p->last, &out->term) != 0) {
                out->term = 0; /* compacted: committed long ago */
            }
            return 0;
        }
        if (p && seq < p->seq) {
            return RL_ERR_STALE_SEQUENCE;
        }
    }
    /* Back-pressure: bound the bytes not yet committed (one batch always
       fits, so a batch larger than the bound still goes through alone). */
    if (r->tail_bytes > 0 && r->tail_bytes + bytes > r->cfg.max_uncommitted) {
        return RL_ERR_BUSY;
    }
    rl_entry_t *copy = malloc(count * sizeof(*copy));
    if (!copy) {
        return RL_ERR_INTERNAL;
    }
    for (size_t i = 0; i < count; i++) {
        copy[i] = entries[i];
        copy[i].type = RL_ENTRY_NORMAL;
        copy[i].producer_id = producer_id;
        copy[i].seq = producer_id ? seq : 0;
    }
    uint64_t first = r->last_index + 1;
    int rc = rl_raft_append_local(r, copy, count);
    free(copy);
    if (rc != 0) {
        return rc;
    }
    out->first = first;
    out->last = first + count - 1;
    out->term = r->term;
    return 0;
}

int rl_raft_persisted(rl_raft_t *r, uint64_t index, uint64_t term)
{
    uint64_t t = 0;
    if (index <= r->persisted || index > r->last_index ||
        rl_raft_log_term(r, index, &t) != 0 || t != term) {
        return 0;
    }
    r->persisted = index;
    int rc = rl_raft_maybe_commit(r);
    if (rc != 0) {
        return rc;
    }
    return rl_raft_flush_owed(r);
}

bool rl_raft_ready(rl_raft_t *r, rl_raft_ready_t *rd)
{
    s_free_msgs(r->out_msgs, r->out_msg_count);
    r->out_msgs = NULL;
    r->out_msg_count = 0;
    rl_raft_log_free_entries(r->out_entries, r->out_entry_count);
    r->out_entries = NULL;
    r->out_entry_count = 0;
    if (r->bcast_pending) {
        /* Entries appended since the last batch: one APPEND per follower
           for all of them. On failure (memory) the next batch retries. */
        r->bcast_pending =
            r->role == RL_RAFT_LEADER && rl_raft_broadcast(r, false) != 0;
    }
    if (r->role == RL_RAFT_LEADER) {
        (void)rl_raft_send_commit(r); /* on failure, the next heartbeat */
    }
    memset(rd, 0, sizeof(*rd));
    rd->term = r->term;
    rd->vote = r->vote;
    rd->role = r->role;
    rd->leader = r->leader;
    rd->commit_from = r->commit_reported;
    rd->commit = r->commit;
    size_t changes = rl_raft_catalog_ready(r);
    rd->log_changes = changes ? r->cat_out : NULL;
    rd->log_change_count = changes;
    if (!r->msg_count && !r->pend_count && !r->hs_changed && !r->role_changed &&
        !r->snap_install && !r->snap_taken && r->commit == r->commit_reported &&
        changes == 0) {
        return false;
    }
    rd->hard_state_changed = r->hs_changed;
    rd->role_changed = r->role_changed;
    rd->snapshot_install = r->snap_install;
    rd->snapshot_taken = r->snap_taken && !r->snap_install;
    if (r->snap_install || r->snap_taken) {
        rd->snapshot = &r->snap;
    }
    r->out_entries = r->pend;
    r->out_entry_count = r->pend_count;
    r->pend = NULL;
    r->pend_count = 0;
    r->pend_cap = 0;
    r->pend_first = r->last_index + 1;
    rd->entries = r->out_entries;
    rd->entry_count = r->out_entry_count;
    r->out_msgs = r->msgs;
    r->out_msg_count = r->msg_count;
    r->msgs = NULL;
    r->msg_count = 0;
    r->msg_cap = 0;
    rd->messages = r->out_msgs;
    rd->message_count = r->out_msg_count;
    r->commit_reported = r->commit;
    r->hs_changed = false;
    r->role_changed = false;
    r->snap_install = false;
    r->snap_taken = false;
    return true;
}

void rl_raft_status(const rl_raft_t *r, rl_raft_status_t *st)
{
    memset(st, 0, sizeof(*st));
    st->id = r->id;
    st->role = r->role;
    st->term = r->term;
    st->vote = r->vote;
    st->leader = r->leader;
    st->commit = r->commit;
    st->last_index = r->last_index;
    st->last_term = r->last_term;
    st->persisted = r->persisted;
    st->snapshot_index = r->snap_index;
    st->transfer_to = r->transfer_to;
    st->member_count = r->config.count;
    const rl_member_t *self = rl_raft_member(&r->config, r->id);
    st->member = self != NULL;
    st->voter = self && self->voter;
    st->dropped_non_member = r->dropped_non_member;
    st->dropped_bad_term = r->dropped_bad_term;
    st->consumer_count = r->cons_commit.count;
    st->clock = r->clock;
    st->last_time = r->last_time;
    st->group = r->cfg.group;
    st->quiet = r->quiet;
    st->term_committed =
        r->role == RL_RAFT_LEADER && r->commit >= r->term_start;
    st->log_count = r->cat_commit.count;
    st->next_group = r->cat_commit.next_group;
}

const rl_member_t *rl_raft_members(const rl_raft_t *r, size_t *count)
{
    *count = r->config.count;
    return r->config.members;
}

const rl_member_t *rl_raft_committed_members(const rl_raft_t *r, size_t *count)
{
    *count = r->base_config.count;
    return r->base_config.members;
}

uint64_t rl_raft_committed_config_index(const rl_raft_t *r)
{
    return r->base_config_at;
}

uint64_t rl_raft_config_mirrors(const rl_raft_t *r, bool committed)
{
    return committed ? r->base_config.mirrors : r->config.mirrors;
}

uint64_t rl_raft_match_of(const rl_raft_t *r, uint64_t id)
{
    for (size_t i = 0; i < r->pr_count; i++) {
        if (r->prs[i].id == id) {
            return r->prs[i].match;
        }
    }
    return 0;
}

const char *rl_raft_role_name(rl_raft_role_t role)
{
    switch (role) {
    case RL_RAFT_LEADER:
        return "leader";
    case RL_RAFT_CANDIDATE:
        return "candidate";
    case RL_RAFT_PRE_CANDIDATE:
        return "pre-candidate";
    default:
        return "follower";
    }
}

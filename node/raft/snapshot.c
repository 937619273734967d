/*  snapshot.c - compaction and InstallSnapshot (paper 7, thesis 5).

    For a log service the snapshot is small: the retention boundary
    (last_index, last_term), the configuration as of it, and its data:
    the time of its last entry and the producer and consumer tables and
    the catalog as of it (snapshot_data.c encodes them). The leader sends it
   when a follower needs an entry below the first one it retains, in chunks of
    snapshot_chunk bytes, one chunk in flight, resent after a few idle
    heartbeats. The follower rebuilds the snapshot from chunks in order;
    a chunk out of order is answered with the offset it expects, a new
    snapshot (offset 0) restarts the transfer, and a snapshot at or below
    its commit index is stale: answered done without installing. On
    install the follower discards its whole log (paper 7 allows keeping a
    matching suffix; discarding is simpler and always safe).
*/
#include "raft_internal.h"

#include <stdlib.h>
#include <string.h>

#define RL_RAFT_MAX_SNAPSHOT (64u << 20) /* bytes of snapshot data */

void rl_raft_snapshot_free(rl_raft_t *r)
{
    free((void *)r->snap.data);
    rl_raft_members_clear(&r->snap_config);
    memset(&r->snap, 0, sizeof(r->snap));
}

/* Makes (index, term, members, data) the latest snapshot, copying all. */
int rl_raft_snapshot_set(rl_raft_t *r, uint64_t index, uint64_t term,
                         const rl_member_t *members, size_t count,
                         const uint8_t *data, size_t size)
{
    rl_raft_members_t config;
    memset(&config, 0, sizeof(config));
    int rc = rl_raft_members_copy(&config, members, count);
    if (rc != 0) {
        return rc;
    }
    uint8_t *copy = NULL;
    if (size > 0) {
        copy = malloc(size);
        if (!copy) {
            rl_raft_members_clear(&config);
            return RL_ERR_INTERNAL;
        }
        memcpy(copy, data, size);
    }
    rl_raft_snapshot_free(r);
    rl_raft_members_assign(&r->snap_config, &config);
    r->snap.last_index = index;
    r->snap.last_term = term;
    r->snap.members = r->snap_config.members;
    r->snap.member_count = r->snap_config.count;
    r->snap.data = copy;
    r->snap.size = size;
    return 0;
}

/* Sends pr the chunk at its offset of the latest snapshot, starting over
   when the snapshot changed. */
int rl_raft_send_snapshot(rl_raft_t *r, rl_raft_progress_t *pr)
{
    if (r->snap.last_index == 0) {
        return 0; /* nothing below the log: cannot happen with a view */
    }
    if (pr->state != RL_RAFT_SNAPSHOT || pr->snap_index != r->snap.last_index) {
        rl_raft_progress_become(pr, RL_RAFT_SNAPSHOT, pr->next);
        pr->snap_index = r->snap.last_index;
        pr->snap_offset = 0;
    }
    pr->snap_idle = 0;
    uint64_t offset = pr->snap_offset;
    if (offset > r->snap.size) {
        offset = 0;
    }
    size_t chunk = r->snap.size - (size_t)offset;
    if (chunk > r->cfg.snapshot_chunk) {
        chunk = r->cfg.snapshot_chunk;
    }
    size_t strings = 0;
    for (size_t i = 0; i < r->snap.member_count; i++) {
        strings += r->snap.members[i].peer_addr.size +
                   r->snap.members[i].client_addr.size;
    }
    size_t members_size = r->snap.member_count * sizeof(rl_member_t);
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_SNAPSHOT);
    uint8_t *block = rl_msg_alloc(&msg, members_size + strings + chunk + 1);
    if (!block) {
        return RL_ERR_INTERNAL;
    }
    rl_member_t *members = (rl_member_t *)block;
    char *s = (char *)block + members_size;
    for (size_t i = 0; i < r->snap.member_count; i++) {
        members[i] = r->snap.members[i];
        rl_str_t *strs[2] = {&members[i].peer_addr, &members[i].client_addr};
        for (int k = 0; k < 2; k++) {
            if (strs[k]->size) {
                memcpy(s, strs[k]->ptr, strs[k]->size);
                strs[k]->ptr = s;
                s += strs[k]->size;
            }
        }
    }
    uint8_t *data = (uint8_t *)s;
    if (chunk) {
        memcpy(data, r->snap.data + offset, chunk);
    }
    msg.body.snapshot.term = r->term;
    msg.body.snapshot.last_index = r->snap.last_index;
    msg.body.snapshot.last_term = r->snap.last_term;
    msg.body.snapshot.members = members;
    msg.body.snapshot.member_count = r->snap.member_count;
    msg.body.snapshot.offset = offset;
    msg.body.snapshot.data = chunk ? data : NULL;
    msg.body.snapshot.size = chunk;
    msg.body.snapshot.done = offset + chunk >= r->snap.size;
    return rl_raft_send(r, pr->id, &msg);
}

static int s_reply(rl_raft_t *r, uint64_t to, uint64_t index, uint64_t next,
                   bool done)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_SNAPSHOT_REPLY);
    msg.body.snapshot_reply.term = r->term;
    msg.body.snapshot_reply.last_index = index;
    msg.body.snapshot_reply.next_offset = next;
    msg.body.snapshot_reply.done = done;
    return rl_raft_send(r, to, &msg);
}

/* Replaces the log, configuration, producer and consumer tables by the
   snapshot received in in_*. Everything that can fail comes first: the
   core is unchanged on failure. */
static int s_install(rl_raft_t *r)
{
    rl_raft_producers_t table;
    int rc = rl_raft_producers_init(&table, r->cfg.max_producers);
    if (rc != 0) {
        return rc;
    }
    rl_raft_consumers_t consumers;
    rl_raft_catalog_t catalog;
    uint64_t time = 0;
    rl_raft_state_config_t from = {r->in_index, 0};
    rc = rl_raft_state_decode(r->in_data, r->in_size, r->in_index, &table,
                              &consumers, &catalog, &time, &from);
    if (rc == 0) {
        /* The tip tables get room for them; the committed ones are these. */
        rc = rl_raft_consumers_reserve(r, consumers.count);
    }
    if (rc == 0) {
        rc = rl_raft_catalog_reserve(r, catalog.count);
    }
    if (rc == 0) {
        rc = rl_raft_snapshot_set(r, r->in_index, r->in_term,
                                  r->in_config.members, r->in_config.count,
                                  r->in_data, r->in_size);
    }
    if (rc != 0) {
        rl_raft_producers_close(&table);
        rl_raft_consumers_close(&consumers);
        rl_raft_catalog_close(&catalog);
        return rc;
    }
    rl_raft_log_truncate(r, 1);
    r->snap_index = r->in_index;
    r->snap_term = r->in_term;
    r->snap_time = time;
    r->last_time = time;
    r->last_index = r->in_index;
    r->last_term = r->in_term;
    r->pend_first = r->last_index + 1;
    r->persisted = r->last_index;
    r->commit = r->last_index;
    rl_raft_tail_clear(r);
    rl_raft_producers_close(&r->prod_commit);
    r->prod_commit = table;
    rl_raft_producers_copy(&r->prod_tip, &r->prod_commit);
    rl_raft_consumers_close(&r->cons_commit);
    r->cons_commit = consumers;
    rl_raft_consumers_copy(&r->cons_tip, &r->cons_commit);
    rl_raft_catalog_close(&r->cat_commit);
    r->cat_commit = catalog;
    rl_raft_catalog_copy(&r->cat_tip, &r->cat_commit);
    /* Changes not yet handed out are in the snapshot's past: the host
       reconciles with its catalog instead (raft.h, "Hosting groups"). */
    r->cat_queue_count = 0;
    rl_raft_members_assign(&r->base_config, &r->in_config);
    r->base_config.mirrors = from.mirrors;
    r->base_config_at = from.config_at;
    memset(&r->in_config, 0, sizeof(r->in_config));
    rl_raft_config_apply(r, &r->base_config, 0);
    r->snap_install = true;
    r->owed = false;
    return 0;
}

int rl_raft_step_snapshot(rl_raft_t *r, const rl_msg_t *msg)
{
    const rl_snapshot_t *s = &msg->body.snapshot;
    if (r->role != RL_RAFT_FOLLOWER || r->leader != msg->from) {
        rl_raft_become_follower(r, r->term, msg->from);
    }
    r->election_elapsed = 0;
    if (s->last_index == 0 || s->last_term > s->term ||
        s->size > RL_MAX_SNAPSHOT_CHUNK || (s->size && !s->data) ||
        s->member_count > RL_MAX_MEMBERS || (s->member_count && !s->members)) {
        return 0;
    }
    if (s->last_index <= r->commit) {
        /* Already have it: say done (the offset is only echoed, but it
           came from the wire, so it must not wrap). */
        uint64_t end =
            s->offset > UINT64_MAX - s->size ? UINT64_MAX : s->offset + s->size;
        return s_reply(r, msg->from, s->last_index, end, true);
    }
    if (s->offset == 0) {
        rl_raft_members_t config;
        memset(&config, 0, sizeof(config));
        int rc = rl_raft_members_copy(&config, s->members, s->member_count);
        if (rc == RL_ERR_INTERNAL) {
            return rc;
        }
        if (rc != 0) {
            return 0;
        }
        rl_raft_members_assign(&r->in_config, &config);
        r->in_index = s->last_index;
        r->in_term = s->last_term;
        r->in_from = msg->from;
        r->in_size = 0;
    }
    if (r->in_index != s->last_index || r->in_term != s->last_term ||
        r->in_from != msg->from || s->offset != r->in_size) {
        bool same = r->in_index == s->last_index &&
                    r->in_term == s->last_term && r->in_from == msg->from;
        uint64_t expect = same ? r->in_size : 0;
        return s_reply(r, msg->from, s->last_index, expect, false);
    }
    if (s->size > RL_RAFT_MAX_SNAPSHOT - r->in_size) {
        r->in_index = 0;
        return 0;
    }
    if (r->in_size + s->size > r->in_cap) {
        size_t cap = r->in_cap ? r->in_cap : 4096;
        while (cap < r->in_size + s->size) {
            cap *= 2;
        }
        uint8_t *p = realloc(r->in_data, cap);
        if (!p) {
            return RL_ERR_INTERNAL;
        }
        r->in_data = p;
        r->in_cap = cap;
    }
    if (s->size) {
        memcpy(r->in_data + r->in_size, s->data, s->size);
    }
    r->in_size += s->size;
    if (!s->done) {
        return s_reply(r, msg->from, s->last_index, r->in_size, false);
    }
    int rc = s_install(r);
    r->in_index = 0;
    r->in_size = 0;
    if (rc == RL_ERR_BAD_REQUEST) {
        return s_reply(r, msg->from, s->last_index, 0, false);
    }
    if (rc != 0) {
        return rc;
    }
    return s_reply(r, msg->from, s->last_index, s->offset + s->size, true);
}

int rl_raft_step_snapshot_reply(rl_raft_t *r, const rl_msg_t *msg)
{
    const rl_snapshot_reply_t *s = &msg->body.snapshot_reply;
    rl_raft_progress_t *pr = rl_raft_progress(r, msg->from);
    if (!pr) {
        return 0;
    }
    pr->recent_active = true;
    pr->silent_ticks = 0;
    if (s->done) {
        if (s->last_index > r->last_index) {
            return 0;
        }
        if (s->last_index > pr->match) {
            pr->match = s->last_index;
            rl_raft_round_check(r, pr);
        }
        if (pr->state == RL_RAFT_SNAPSHOT) {
            rl_raft_progress_become(pr, RL_RAFT_PROBE, pr->match + 1);
        }
        int rc = rl_raft_maybe_commit(r);
        if (rc != 0) {
            return rc;
        }
        pr = rl_raft_progress(r, msg->from);
        return pr ? rl_raft_send_append(r, pr, false) : 0;
    }
    if (pr->state != RL_RAFT_SNAPSHOT || s->last_index != pr->snap_index) {
        return 0;
    }
    pr->snap_offset = s->next_offset;
    return rl_raft_send_snapshot(r, pr);
}

int rl_raft_compact(rl_raft_t *r)
{
    /* At a run boundary at or below commit, where prod_commit is exact,
       and not past what is durable here (the entries it replaces are
       then dropped by the host, and a pending fsync acknowledgement for
       them would be lost). */
    uint64_t index = r->commit < r->persisted ? r->commit : r->persisted;
    if (index < r->commit) {
        return RL_ERR_BUSY;
    }
    if (r->tail_count > r->tail_first &&
        r->tail[r->tail_first].first <= index) {
        index = r->tail[r->tail_first].first - 1;
    }
    if (index <= r->snap_index) {
        return RL_ERR_REJECTED;
    }
    uint64_t term = 0;
    uint64_t time = 0;
    int rc = rl_raft_log_term(r, index, &term);
    if (rc == 0) {
        rc = rl_raft_log_time(r, index, &time);
    }
    if (rc != 0) {
        return RL_ERR_INTERNAL;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    rl_raft_state_config_t from = {r->base_config_at, r->base_config.mirrors};
    rc = rl_raft_state_encode(&r->prod_commit, &r->cons_commit, &r->cat_commit,
                              time, &from, &data, &size);
    if (rc != 0) {
        return rc;
    }
    rc = rl_raft_snapshot_set(r, index, term, r->base_config.members,
                              r->base_config.count, data, size);
    free(data);
    if (rc != 0) {
        return rc;
    }
    r->snap_index = index;
    r->snap_term = term;
    r->snap_time = time;
    r->snap_taken = true;
    return 0;
}

/*  membership.c - configurations and single-server changes (thesis ch. 4).

    Rules, with where they come from:
    - One server at a time (thesis 4.1): a change is refused (BUSY) while
      the previous configuration entry is uncommitted, so any two
      consecutive configurations have overlapping majorities.
    - A configuration takes effect as soon as its entry is appended, on
      every server, committed or not (thesis 4.1); truncating the entry
      rolls the configuration back (producers.c keeps the records).
    - A new leader proposes no change before an entry of its own term is
      committed (the 2015 raft-dev fix to thesis 4.1: otherwise a change
      of an earlier leader, not yet known committed, can be overlapped).
    - New servers join as non-voting learners and are promoted once caught
      up (thesis 4.2.1, in rounds: rl_raft_caught_up), so adding one does
      not make the cluster unavailable while it copies the log. In a named
      log's group the mirror promotes them, once group 0 has (mirror.c).
    - A leader that removes itself keeps leading until the entry commits,
      without counting itself, then steps down (thesis 4.2.2).
    - A removed server cannot disrupt: it does not campaign once its own
      configuration excludes it, and if it never learnt of its removal its
      (pre)votes are refused under the leader lease (election.c, 4.2.3).

    Encoding of a CONFIG entry's data (fixed width little endian):
      u32 magic 'RLC1', u32 count, count x (u64 id, u8 voter,
      u32 peer_len, peer bytes, u32 client_len, client bytes);
    or, in a named log's group once its leader has mirrored group 0
    (mirrors != 0, mirror.c), u32 magic 'RLC2', u32 count, u64 mirrors,
    then the same members. Group 0 writes 'RLC1' only, as before.
*/
#include "raft_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define RL_CONFIG_MAGIC  0x31434c52u /* "RLC1" */
#define RL_CONFIG_MAGIC2 0x32434c52u /* "RLC2": with mirrors */

const rl_member_t *rl_raft_member(const rl_raft_members_t *c, uint64_t id)
{
    for (size_t i = 0; i < c->count; i++) {
        if (c->members[i].id == id) {
            return &c->members[i];
        }
    }
    return NULL;
}

size_t rl_raft_voter_count(const rl_raft_members_t *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->count; i++) {
        n += c->members[i].voter ? 1 : 0;
    }
    return n;
}

void rl_raft_members_clear(rl_raft_members_t *c)
{
    c->count = 0;
}

/* Points each member's endpoints at its inline copies. */
static void s_fix(rl_raft_members_t *c)
{
    for (size_t i = 0; i < c->count; i++) {
        rl_member_t *m = &c->members[i];
        m->peer_addr.ptr = m->peer_addr.size ? c->endpoints[i][0] : NULL;
        m->client_addr.ptr = m->client_addr.size ? c->endpoints[i][1] : NULL;
    }
}

void rl_raft_members_assign(rl_raft_members_t *dst,
                            const rl_raft_members_t *src)
{
    if (dst != src) {
        memcpy(dst, src, sizeof(*dst));
        s_fix(dst);
    }
}

/* Copies a member list into dst. RL_ERR_BAD_REQUEST, dst unchanged, when
   the list is invalid: too long, id 0, duplicates, endpoints too long.
   Never allocates; src may point into dst. */
int rl_raft_members_copy(rl_raft_members_t *dst, const rl_member_t *src,
                         size_t count)
{
    if (count > RL_MAX_MEMBERS || (count > 0 && !src)) {
        return RL_ERR_BAD_REQUEST;
    }
    rl_raft_members_t tmp;
    tmp.count = 0;
    tmp.mirrors = 0; /* the caller's to set */
    for (size_t i = 0; i < count; i++) {
        if (src[i].id == 0 || rl_raft_member(&tmp, src[i].id) ||
            src[i].peer_addr.size > RL_MAX_ENDPOINT ||
            src[i].client_addr.size > RL_MAX_ENDPOINT ||
            (src[i].peer_addr.size && !src[i].peer_addr.ptr) ||
            (src[i].client_addr.size && !src[i].client_addr.ptr)) {
            return RL_ERR_BAD_REQUEST;
        }
        tmp.members[i] = src[i];
        if (src[i].peer_addr.size) {
            memcpy(tmp.endpoints[i][0], src[i].peer_addr.ptr,
                   src[i].peer_addr.size);
        }
        if (src[i].client_addr.size) {
            memcpy(tmp.endpoints[i][1], src[i].client_addr.ptr,
                   src[i].client_addr.size);
        }
        tmp.count = i + 1;
    }
    s_fix(&tmp);
    rl_raft_members_assign(dst, &tmp);
    return 0;
}

int rl_raft_config_encode(const rl_raft_members_t *c, uint8_t **data,
                          size_t *size)
{
    size_t head = c->mirrors ? 16 : 8;
    size_t n = head;
    for (size_t i = 0; i < c->count; i++) {
        n += 17 + c->members[i].peer_addr.size + c->members[i].client_addr.size;
    }
    uint8_t *p = malloc(n);
    if (!p) {
        return RL_ERR_INTERNAL;
    }
    rl_raft_put32(p, c->mirrors ? RL_CONFIG_MAGIC2 : RL_CONFIG_MAGIC);
    rl_raft_put32(p + 4, (uint32_t)c->count);
    if (c->mirrors) {
        rl_raft_put64(p + 8, c->mirrors);
    }
    uint8_t *q = p + head;
    for (size_t i = 0; i < c->count; i++) {
        const rl_member_t *m = &c->members[i];
        rl_raft_put64(q, m->id);
        q[8] = m->voter ? 1 : 0;
        q += 9;
        rl_raft_put32(q, (uint32_t)m->peer_addr.size);
        if (m->peer_addr.size) {
            memcpy(q + 4, m->peer_addr.ptr, m->peer_addr.size);
        }
        q += 4 + m->peer_addr.size;
        rl_raft_put32(q, (uint32_t)m->client_addr.size);
        if (m->client_addr.size) {
            memcpy(q + 4, m->client_addr.ptr, m->client_addr.size);
        }
        q += 4 + m->client_addr.size;
    }
    *data = p;
    *size = n;
    return 0;
}

/* Parses the encoding into members[RL_MAX_MEMBERS] (endpoints point into
   data), *count and *mirrors (0 in 'RLC1'); RL_ERR_BAD_REQUEST when
   malformed: it came from the network or the disk. */
static int s_parse(const uint8_t *data, size_t size, rl_member_t *members,
                   size_t *count_out, uint64_t *mirrors)
{
    if (!data || size < 8) {
        return RL_ERR_BAD_REQUEST;
    }
    uint32_t magic = rl_raft_get32(data);
    size_t pos = 8;
    *mirrors = 0;
    if (magic == RL_CONFIG_MAGIC2 && size >= 16) {
        *mirrors = rl_raft_get64(data + 8);
        pos = 16;
    } else if (magic != RL_CONFIG_MAGIC) {
        return RL_ERR_BAD_REQUEST;
    }
    uint32_t count = rl_raft_get32(data + 4);
    if (count > RL_MAX_MEMBERS) {
        return RL_ERR_BAD_REQUEST;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (size - pos < 13) {
            return RL_ERR_BAD_REQUEST;
        }
        members[i].id = rl_raft_get64(data + pos);
        members[i].voter = data[pos + 8] != 0;
        pos += 9;
        rl_str_t *strs[2] = {&members[i].peer_addr, &members[i].client_addr};
        for (int s = 0; s < 2; s++) {
            if (size - pos < 4) {
                return RL_ERR_BAD_REQUEST;
            }
            uint32_t len = rl_raft_get32(data + pos);
            pos += 4;
            if (len > RL_MAX_ENDPOINT || size - pos < len) {
                return RL_ERR_BAD_REQUEST;
            }
            strs[s]->ptr = len ? (const char *)data + pos : NULL;
            strs[s]->size = len;
            pos += len;
        }
    }
    if (pos != size) {
        return RL_ERR_BAD_REQUEST;
    }
    *count_out = count;
    return 0;
}

/* Decodes a CONFIG entry into c (cleared first); RL_ERR_BAD_REQUEST when
   malformed. */
int rl_raft_config_decode(const uint8_t *data, size_t size,
                          rl_raft_members_t *c)
{
    rl_member_t members[RL_MAX_MEMBERS];
    size_t count = 0;
    uint64_t mirrors = 0;
    int rc = s_parse(data, size, members, &count, &mirrors);
    if (rc == 0) {
        rc = rl_raft_members_copy(c, members, count);
    }
    if (rc == 0) {
        c->mirrors = mirrors;
    }
    return rc;
}

int rl_raft_members_encode(const rl_member_t *members, size_t count,
                           uint64_t mirrors, uint8_t **data, size_t *size)
{
    rl_raft_members_t c;
    int rc = rl_raft_members_copy(&c, members, count);
    c.mirrors = mirrors;
    return rc != 0 ? rc : rl_raft_config_encode(&c, data, size);
}

int rl_raft_members_decode(const uint8_t *data, size_t size,
                           rl_member_t *members, size_t *count,
                           uint64_t *mirrors)
{
    rl_raft_members_t check;
    uint64_t ignored = 0;
    int rc = s_parse(data, size, members, count, mirrors ? mirrors : &ignored);
    /* The same rules as any configuration: ids, duplicates, lengths. */
    return rc != 0 ? rc : rl_raft_members_copy(&check, members, *count);
}

/* Makes c the configuration in effect (appended at index, 0 for a
   snapshot's). */
int rl_raft_config_apply(rl_raft_t *r, const rl_raft_members_t *c,
                         uint64_t index)
{
    uint64_t mirrors = c->mirrors; /* the copy clears it, c may be ours */
    int rc = rl_raft_members_copy(&r->config, c->members, c->count);
    if (rc != 0) {
        return rc;
    }
    r->config.mirrors = mirrors;
    r->config_index = index;
    rl_raft_progress_sync(r);
    return 0;
}

/* After a truncation: the latest configuration left in the log. */
void rl_raft_config_rollback(rl_raft_t *r)
{
    for (size_t i = r->tail_count; i > r->tail_first; i--) {
        if (r->tail[i - 1].config) {
            if (r->config_index != r->tail[i - 1].first) {
                rl_raft_config_apply(r, r->tail[i - 1].config,
                                     r->tail[i - 1].first);
            }
            return;
        }
    }
    if (r->config_index > r->commit) {
        rl_raft_config_apply(r, &r->base_config, 0);
    }
}

/* The gate for proposing a configuration entry. */
static int s_can_change(rl_raft_t *r)
{
    if (r->role != RL_RAFT_LEADER || r->transfer_to) {
        return RL_RAFT_NOT_LEADER;
    }
    if (r->config_index > r->commit || r->commit < r->term_start) {
        return RL_ERR_BUSY;
    }
    return 0;
}

static int s_promote(rl_raft_t *r, rl_raft_progress_t *pr, uint64_t mirrors);

static int s_propose_config(rl_raft_t *r, const rl_raft_members_t *c)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = rl_raft_config_encode(c, &data, &size);
    if (rc != 0) {
        return rc;
    }
    rl_entry_t e = {0};
    e.type = RL_ENTRY_CONFIG;
    e.data = data;
    e.size = size;
    rc = rl_raft_append_local(r, &e, 1);
    free(data);
    return rc;
}

int rl_raft_add_member(rl_raft_t *r, const rl_member_t *member)
{
    return rl_raft_change_add(r, member, r->config.mirrors);
}

int rl_raft_remove_member(rl_raft_t *r, uint64_t id)
{
    return rl_raft_change_remove(r, id, r->config.mirrors);
}

/* Adds member as a learner, the new configuration stamped mirrors. */
int rl_raft_change_add(rl_raft_t *r, const rl_member_t *member,
                       uint64_t mirrors)
{
    int rc = s_can_change(r);
    if (rc != 0) {
        return rc;
    }
    if (!member || member->id == 0 || rl_raft_member(&r->config, member->id)) {
        return RL_ERR_REJECTED;
    }
    if (r->config.count >= RL_MAX_MEMBERS) {
        return RL_ERR_TOO_LARGE;
    }
    rl_member_t list[RL_MAX_MEMBERS];
    memcpy(list, r->config.members, r->config.count * sizeof(rl_member_t));
    list[r->config.count] = *member;
    list[r->config.count].voter = false;
    rl_raft_members_t next;
    memset(&next, 0, sizeof(next));
    rc = rl_raft_members_copy(&next, list, r->config.count + 1);
    if (rc != 0) {
        return rc;
    }
    next.mirrors = mirrors;
    rc = s_propose_config(r, &next);
    rl_raft_members_clear(&next);
    if (rc == 0) {
        rl_raft_progress_t *pr = rl_raft_progress(r, member->id);
        if (pr) {
            pr->promote = r->cfg.group == 0;
        }
    }
    return rc;
}

/* What rl_raft_remove_member would refuse removing id with, or 0; the
   members left in list[*n]. */
static int s_check_remove(rl_raft_t *r, uint64_t id, rl_member_t *list,
                          size_t *n_out)
{
    int rc = s_can_change(r);
    if (rc != 0) {
        return rc;
    }
    if (!rl_raft_member(&r->config, id)) {
        return RL_ERR_REJECTED;
    }
    size_t n = 0;
    for (size_t i = 0; i < r->config.count; i++) {
        if (r->config.members[i].id != id) {
            list[n++] = r->config.members[i];
        }
    }
    size_t voters = 0;
    for (size_t i = 0; i < n; i++) {
        voters += list[i].voter ? 1 : 0;
    }
    if (voters == 0) {
        return RL_ERR_REJECTED; /* the last voter stays */
    }
    /* Group 0 keeps two voters while a named log exists (its tip: a
       create not yet committed counts). Each log's group has group 0's
       voters, and a group of two needs both to remove one; a node group 0
       no longer has cannot be counted on for that (raft.h, "Leaders of
       named logs are members of group 0"), so the log could be left
       without a leader for ever. */
    if (r->cfg.group == 0 && voters == 1 && r->cat_tip.count > 0 &&
        rl_raft_member(&r->config, id)->voter) {
        return RL_ERR_REJECTED;
    }
    *n_out = n;
    return 0;
}

/* Removes member id, the new configuration stamped mirrors. */
int rl_raft_change_remove(rl_raft_t *r, uint64_t id, uint64_t mirrors)
{
    rl_member_t list[RL_MAX_MEMBERS];
    size_t n = 0;
    int rc = s_check_remove(r, id, list, &n);
    if (rc != 0) {
        return rc;
    }
    rl_raft_members_t next;
    memset(&next, 0, sizeof(next));
    rc = rl_raft_members_copy(&next, list, n);
    if (rc != 0) {
        return rc;
    }
    next.mirrors = mirrors;
    rc = s_propose_config(r, &next);
    rl_raft_members_clear(&next);
    return rc;
}

int rl_raft_can_remove_member(rl_raft_t *r, uint64_t id)
{
    rl_member_t list[RL_MAX_MEMBERS];
    size_t n = 0;
    return s_check_remove(r, id, list, &n);
}

/* Promotes a caught-up learner (rl_raft_caught_up) when no other change
   is pending. Group 0 only: in a named log's group a learner is promoted
   by the mirror, once group 0 has made it a voter
   (rl_raft_change_promote), so that the log's voters are always voters
   of group 0 (mirror.c). */
int rl_raft_maybe_promote(rl_raft_t *r, rl_raft_progress_t *pr)
{
    /* It must also have answered within an election timeout: one that
       holds the commit index but is down (an idle group, or a change that
       waited behind another) would become a voter counted in every
       majority that never answers, and a group of one voter would stop.
       Group 0's alone: it always ticks, where a quiet named log's leader
       does not count its silences, and a log promotes only a node that
       group 0 promoted while it answered. */
    if (r->cfg.group != 0 || !pr->promote || pr->voter ||
        pr->silent_ticks > r->cfg.election_ticks || s_can_change(r) != 0 ||
        !rl_raft_caught_up(r, pr)) {
        return 0;
    }
    return s_promote(r, pr, r->config.mirrors);
}

/* Promotes learner id, the new configuration stamped mirrors (mirror.c):
   RL_ERR_BUSY while it has not caught up (rl_raft_caught_up), or
   another change is pending; RL_ERR_REJECTED when it is no learner. */
int rl_raft_change_promote(rl_raft_t *r, uint64_t id, uint64_t mirrors)
{
    int rc = s_can_change(r);
    if (rc != 0) {
        return rc;
    }
    rl_raft_progress_t *pr = rl_raft_progress(r, id);
    if (!pr || pr->voter) {
        return RL_ERR_REJECTED;
    }
    if (!rl_raft_caught_up(r, pr)) {
        return RL_ERR_BUSY;
    }
    return s_promote(r, pr, mirrors);
}

/* Why rounds: under steady writes the commit index moves on as fast as
   the voters sync, so a learner a network hop and a sync behind them may
   never be seen at it, and "add a node" would wait for the writes to
   pause. A learner whose last round and current one together have run
   at most an election timeout holds everything the leader had that long
   ago (the last round's start): its lag is at most what an election
   timeout of writes adds, which is what promoting it may cost in
   availability (thesis 4.2.1). The current round counts too: a learner
   that stopped answering is no longer caught up. */
bool rl_raft_caught_up(const rl_raft_t *r, const rl_raft_progress_t *pr)
{
    unsigned timeout = r->cfg.election_ticks;
    return pr->match >= r->commit ||
           (pr->round_took <= timeout &&
            pr->round_ticks <= timeout - pr->round_took);
}

void rl_raft_round_check(rl_raft_t *r, rl_raft_progress_t *pr)
{
    if (pr->voter || pr->match < pr->round_end) {
        return;
    }
    pr->round_took = pr->round_ticks;
    pr->round_end = r->last_index;
    pr->round_ticks = 0;
}

void rl_raft_round_restart(rl_raft_t *r, rl_raft_progress_t *pr)
{
    pr->round_took = UINT_MAX;
    pr->round_end = r->last_index;
    pr->round_ticks = 0;
}

void rl_raft_round_tick(rl_raft_t *r)
{
    for (size_t i = 0; i < r->pr_count; i++) {
        rl_raft_progress_t *pr = &r->prs[i];
        if (pr->voter) {
            continue;
        }
        if (pr->round_ticks < UINT_MAX) {
            pr->round_ticks++;
        }
        if (pr->silent_ticks < UINT_MAX) {
            pr->silent_ticks++;
        }
    }
}

/* The change both promotions make. */
static int s_promote(rl_raft_t *r, rl_raft_progress_t *pr, uint64_t mirrors)
{
    rl_raft_members_t next;
    memset(&next, 0, sizeof(next));
    int rc = rl_raft_members_copy(&next, r->config.members, r->config.count);
    if (rc != 0) {
        return rc;
    }
    next.mirrors = mirrors;
    for (size_t i = 0; i < next.count; i++) {
        if (next.members[i].id == pr->id) {
            next.members[i].voter = true;
        }
    }
    uint64_t id = pr->id;
    rc = s_propose_config(r, &next);
    rl_raft_members_clear(&next);
    pr = rl_raft_progress(r, id);
    if (rc == 0 && pr) {
        pr->promote = false;
    }
    return rc;
}

/* The same members, stamped mirrors (> the current stamp): the group
   agreed with group 0 already, and now says as of where (mirror.c). */
int rl_raft_change_stamp(rl_raft_t *r, uint64_t mirrors)
{
    int rc = s_can_change(r);
    if (rc != 0) {
        return rc;
    }
    if (mirrors <= r->config.mirrors) {
        return RL_ERR_REJECTED;
    }
    rl_raft_members_t next;
    rl_raft_members_assign(&next, &r->config);
    next.mirrors = mirrors;
    return s_propose_config(r, &next);
}

/* After the commit index moved: a leader no longer in the committed
   configuration steps down (thesis 4.2.2); pending promotions retry. */
int rl_raft_config_committed(rl_raft_t *r)
{
    if (r->role != RL_RAFT_LEADER || r->config_index > r->commit) {
        return 0;
    }
    const rl_member_t *self = rl_raft_member(&r->config, r->id);
    if (!self || !self->voter) {
        rl_raft_become_follower(r, r->term, 0);
        return 0;
    }
    return rl_raft_promote_learners(r);
}

/* Also at the leader's ticks: a learner that held the commit index while
   it was silent may answer again with nothing new (its match does not
   rise), and the commit index may not move for a while; and a snapshot's
   last reply raises a match without a promotion check of its own. */
int rl_raft_promote_learners(rl_raft_t *r)
{
    if (r->role != RL_RAFT_LEADER) {
        return 0;
    }
    for (size_t i = 0; i < r->pr_count; i++) {
        int rc = rl_raft_maybe_promote(r, &r->prs[i]);
        if (rc != 0) {
            return rc;
        }
        if (r->config_index > r->commit) {
            break;
        }
    }
    return 0;
}

/*  replication.c - AppendEntries on both sides and the commit rule.

    Rules, with where they come from:
    - Consistency check (paper 5.3): an APPEND matches when the follower
      has prev_index with prev_term; conflicting entries and all after them
      are deleted, never committed ones (those match any leader's log,
      paper 5.4 Leader Completeness, so entries at or below the follower's
      commit index are skipped, not compared).
    - Fast backtracking (paper 5.3 end, thesis 5.2.1 hint): a rejection
      carries the conflicting term and the first index of that term in the
      follower's log (or its last index + 1); the leader jumps next to
      after its own last entry of that term, or to the hint.
    - A follower acknowledges only durable entries (paper Fig. 2, thesis
      10.2.1): its reply's match_index is min(verified, persisted), and a
      reply that waits for the disk is owed until rl_raft_persisted().
    - The leader sends before its own fsync and counts itself at its
      persisted index (thesis 10.2.1).
    - Commit (paper 5.4.2, Figure 8): the leader advances commit to the
      highest index stored on a majority of voters only if that entry is of
      its current term; earlier entries commit with it.
    - Followers set commit to min(leader commit, last index verified by
      this message), so heartbeats carry commit min(commit, match).
    - Pipelining (thesis 10.2.1): in REPLICATE at most max_inflight
      APPENDs of at most max_batch_bytes are outstanding per follower.
      New entries are sent once per ready batch, not once per proposal.
    - A commit index that advanced is sent to followers in the same ready
      batch (by the APPENDs, or an empty one), not at the next heartbeat.
    - A lost APPEND is sent again. In REPLICATE next moves on when an
      APPEND is sent, so a lost one is noticed when the follower rejects
      the next (its prev is missing) - but an idle group sends no next,
      and heartbeats (at match) succeed. So a follower that lags the last
      index and whose match has not moved for an election timeout's worth
      of heartbeats is probed again from its match (etcd-io/raft sends an
      APPEND on heartbeat responses from a lagging follower for the same
      reason). Without it an idle follower could stay behind until the
      next write, and a quiet group (quiesce.c) could never rest.
*/
#include "raft_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Sends one APPEND to pr (empty: a heartbeat at pr->match). */
int rl_raft_send_append(rl_raft_t *r, rl_raft_progress_t *pr, bool empty)
{
    if (pr->state == RL_RAFT_SNAPSHOT) {
        return 0;
    }
    uint64_t prev = empty ? pr->match : pr->next - 1;
    if (!empty && pr->next < rl_raft_log_first(r)) {
        return rl_raft_send_snapshot(r, pr);
    }
    uint64_t prev_term = 0;
    if (rl_raft_log_term(r, prev, &prev_term) != 0) {
        if (!empty) {
            return rl_raft_send_snapshot(r, pr);
        }
        /* match was compacted away: a heartbeat at the snapshot either
           matches or brings a rejection, hence a probe. */
        prev = r->snap_index;
        prev_term = r->snap_term;
    }
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND);
    msg.body.append.term = r->term;
    msg.body.append.prev_index = prev;
    msg.body.append.prev_term = prev_term;
    /* A heartbeat carries min(commit, match): the follower may not have
       the entries past match, or may have different ones there. */
    msg.body.append.commit =
        empty && pr->match < r->commit ? pr->match : r->commit;
    if (!empty && pr->next <= r->last_index) {
        rl_entry_t *entries = NULL;
        size_t count = 0;
        int rc =
            rl_raft_log_read(r, pr->next, r->cfg.max_batch_entries,
                             r->cfg.max_batch_bytes, &msg, &entries, &count);
        if (rc != 0) {
            rl_msg_close(&msg);
        }
        if (rc == RL_ERR_OUT_OF_RANGE) {
            return rl_raft_send_snapshot(r, pr);
        }
        if (rc != 0) {
            return rc;
        }
        msg.body.append.entries = entries;
        msg.body.append.entry_count = count;
    }
    uint64_t last = prev + msg.body.append.entry_count;
    uint64_t commit = msg.body.append.commit;
    int rc = rl_raft_send(r, pr->id, &msg);
    if (rc == 0 && commit > pr->commit_sent) {
        pr->commit_sent = commit;
    }
    if (rc != 0 || empty) {
        return rc;
    }
    if (pr->state == RL_RAFT_REPLICATE) {
        if (last >= pr->next) {
            pr->next = last + 1;
            rl_raft_progress_sent(pr, last);
        }
    } else {
        pr->probe_sent = true;
    }
    return 0;
}

/* Sends what pr may receive now: one probe, or batches up to the window. */
static int s_send_entries(rl_raft_t *r, rl_raft_progress_t *pr)
{
    if (pr->state == RL_RAFT_PROBE) {
        return pr->probe_sent ? 0 : rl_raft_send_append(r, pr, false);
    }
    while (pr->state == RL_RAFT_REPLICATE && pr->next <= r->last_index &&
           !rl_raft_progress_full(r, pr)) {
        uint64_t next = pr->next;
        int rc = rl_raft_send_append(r, pr, false);
        if (rc != 0) {
            return rc;
        }
        if (pr->next == next) {
            break;
        }
    }
    return 0;
}

/* At a heartbeat to a REPLICATE follower: has its match stood still,
   below the last index, for an election timeout's worth of heartbeats? */
static bool s_stalled(rl_raft_t *r, rl_raft_progress_t *pr)
{
    if (pr->match >= r->last_index || pr->match != pr->beat_match) {
        pr->beat_match = pr->match;
        pr->beat_stalls = 0;
        return false;
    }
    unsigned limit = r->cfg.election_ticks / r->cfg.heartbeat_ticks;
    if (++pr->beat_stalls < (limit > 2 ? limit : 2)) {
        return false;
    }
    pr->beat_stalls = 0;
    return true;
}

/* Heartbeats (every heartbeat interval) or new entries (after append). */
int rl_raft_broadcast(rl_raft_t *r, bool heartbeat)
{
    for (size_t i = 0; i < r->pr_count; i++) {
        rl_raft_progress_t *pr = &r->prs[i];
        int rc = 0;
        if (heartbeat) {
            if (pr->state == RL_RAFT_SNAPSHOT) {
                if (++pr->snap_idle >= 3) {
                    rc = rl_raft_send_snapshot(r, pr);
                }
            } else if (pr->state == RL_RAFT_PROBE) {
                /* One probe per heartbeat: it is the heartbeat, and a lost
                   probe or reply cannot stall the follower. */
                pr->probe_sent = false;
                rc = rl_raft_send_append(r, pr, false);
            } else if (s_stalled(r, pr)) {
                /* A lost APPEND (see above): probe from its match. */
                rl_raft_progress_become(pr, RL_RAFT_PROBE, pr->match + 1);
                rc = rl_raft_send_append(r, pr, false);
            } else {
                rc = rl_raft_send_append(r, pr, true);
            }
        } else {
            rc = s_send_entries(r, pr);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* A follower learns a new commit index at once, not at the next
   heartbeat, so that reads and tails served by followers see an entry as
   soon as it commits (etcd-io/raft does the same). Only where no APPEND
   of this batch already carried it: under load the APPENDs do. */
int rl_raft_send_commit(rl_raft_t *r)
{
    for (size_t i = 0; i < r->pr_count; i++) {
        rl_raft_progress_t *pr = &r->prs[i];
        uint64_t known = pr->match < r->commit ? pr->match : r->commit;
        if (pr->state == RL_RAFT_REPLICATE && known > pr->commit_sent) {
            int rc = rl_raft_send_append(r, pr, true);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

/* Appends to the log and records the runs, all or nothing: if recording
   fails the entries are taken back, so configuration and producer table
   always describe the log. */
static int s_append(rl_raft_t *r, const rl_entry_t *entries, size_t count)
{
    int rc = rl_raft_log_append(r, entries, count);
    if (rc != 0) {
        return rc;
    }
    rc = rl_raft_tail_add(r, entries, count);
    if (rc != 0) {
        rl_raft_log_truncate(r, entries[0].index);
        rl_raft_tail_truncate(r, entries[0].index);
    }
    return rc;
}

/* Leader: appends entries of its term (index, term and time are set
   here) and starts replicating them.

   Entry timestamps: every entry is stamped max(clock, time of the last
   entry), so along this leader's log times never decrease. They never
   decrease along any log, nor along the committed log, across leader
   changes too:
   - Every server's log is nondecreasing in time. By induction on its
     changes: a leader's append keeps it so (the stamp above); an APPEND
     a follower accepts leaves its log unchanged (every entry matched) or
     makes it a prefix of the sending leader's log (the consistency check
     and Log Matching, paper 5.3), which was nondecreasing; a truncation
     leaves a prefix; a snapshot
     install leaves no entries, the snapshot recording the time of its
     last entry, which stamps start from.
   - A new leader's last entry is at least as late as every committed
     entry: by Leader Completeness (paper 5.4.1) its log holds every
     committed entry, at or below its last index, and its log is
     nondecreasing. So what it appends is stamped no earlier than
     anything committed before it.
   - For committed entries i < j: the leader that appended j held i (j's
     prefix is committed, and by Log Matching is in every log holding j),
     and its log was nondecreasing: time(i) <= time(j).
   Entries written before timestamps (time 0) fit: 0 is the least time.
   The clock is the host's: skew between servers or a clock that steps
   back only holds stamps where they are until it catches up. */
int rl_raft_append_local(rl_raft_t *r, rl_entry_t *entries, size_t count)
{
    rl_raft_wake(r); /* anything a leader appends wakes it (quiesce.c) */
    uint64_t time = r->clock > r->last_time ? r->clock : r->last_time;
    for (size_t i = 0; i < count; i++) {
        entries[i].index = r->last_index + 1 + i;
        entries[i].term = r->term;
        entries[i].time = time;
    }
    int rc = s_append(r, entries, count);
    if (rc != 0) {
        return rc;
    }
    /* The APPENDs go out when the host takes the batch (rl_raft_ready):
       proposals that arrive in one turn of its loop share one message per
       follower instead of one each (group commit on the wire). */
    r->bcast_pending = true;
    return rl_raft_maybe_commit(r); /* a single voter commits alone */
}

void rl_raft_set_commit(rl_raft_t *r, uint64_t commit)
{
    if (commit <= r->commit) {
        return;
    }
    r->commit = commit;
    rl_raft_tail_commit(r, commit);
    rl_raft_config_committed(r);
}

static int s_cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? 1 : (x > y ? -1 : 0);
}

/* Figure 8: commit the highest index on a majority, if of this term. */
int rl_raft_maybe_commit(rl_raft_t *r)
{
    if (r->role != RL_RAFT_LEADER) {
        return 0;
    }
    uint64_t matches[RL_MAX_MEMBERS];
    size_t n = 0;
    const rl_member_t *self = rl_raft_member(&r->config, r->id);
    if (self && self->voter) {
        matches[n++] = r->persisted;
    }
    for (size_t i = 0; i < r->pr_count; i++) {
        if (r->prs[i].voter) {
            matches[n++] = r->prs[i].match;
        }
    }
    if (n == 0) {
        return 0;
    }
    qsort(matches, n, sizeof(matches[0]), s_cmp_desc);
    uint64_t candidate = matches[n / 2];
    uint64_t term = 0;
    if (candidate > r->commit && rl_raft_log_term(r, candidate, &term) == 0 &&
        term == r->term) {
        rl_raft_set_commit(r, candidate);
    }
    return 0;
}

static int s_reply(rl_raft_t *r, uint64_t to, bool success, uint64_t match,
                   uint64_t conflict_term, uint64_t conflict_index)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND_REPLY);
    msg.body.append_reply.term = r->term;
    msg.body.append_reply.success = success;
    msg.body.append_reply.match_index = match;
    msg.body.append_reply.conflict_term = conflict_term;
    msg.body.append_reply.conflict_index = conflict_index;
    return rl_raft_send(r, to, &msg);
}

/* Validates what a leader sent; anything off is ignored. */
static bool s_valid_append(const rl_append_t *a)
{
    if (a->entry_count > RL_MAX_BATCH_ENTRIES ||
        (a->entry_count > 0 && !a->entries) || a->prev_term > a->term) {
        return false;
    }
    uint64_t term = a->prev_term;
    for (size_t i = 0; i < a->entry_count; i++) {
        const rl_entry_t *e = &a->entries[i];
        if (e->index != a->prev_index + 1 + i || e->term < term ||
            e->term > a->term || e->type > RL_ENTRY_CATALOG ||
            e->size > RL_MAX_ENTRY_SIZE || (e->size > 0 && !e->data)) {
            return false;
        }
        term = e->term;
    }
    return true;
}

/* Follower side of APPEND, msg has our term. */
int rl_raft_step_append(rl_raft_t *r, const rl_msg_t *msg)
{
    const rl_append_t *a = &msg->body.append;
    if (r->role != RL_RAFT_FOLLOWER || r->leader != msg->from) {
        rl_raft_become_follower(r, r->term, msg->from);
    }
    r->election_elapsed = 0;
    if (!s_valid_append(a)) {
        return 0;
    }
    if (a->prev_index > r->last_index) {
        return s_reply(r, msg->from, false, 0, 0, r->last_index + 1);
    }
    /* Entries at or below our commit index match any leader's log. */
    size_t skip = 0;
    uint64_t prev = a->prev_index;
    if (prev < r->commit) {
        uint64_t gap = r->commit - prev;
        skip = gap < a->entry_count ? (size_t)gap : a->entry_count;
        prev += skip;
    } else {
        uint64_t term = 0;
        if (rl_raft_log_term(r, prev, &term) != 0) {
            return 0;
        }
        if (term != a->prev_term) {
            /* The hint: the first index of that term after our commit
               index (terms never decrease along a log: binary search). */
            uint64_t lo = r->commit + 1;
            uint64_t hi = prev;
            while (lo < hi) {
                uint64_t mid = lo + (hi - lo) / 2;
                uint64_t t = 0;
                if (rl_raft_log_term(r, mid, &t) != 0) {
                    return 0;
                }
                if (t < term) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return s_reply(r, msg->from, false, 0, term, lo);
        }
    }
    /* Matched: append what is new, truncating at the first conflict. */
    size_t i = skip;
    for (; i < a->entry_count; i++) {
        const rl_entry_t *e = &a->entries[i];
        if (e->index > r->last_index) {
            break;
        }
        uint64_t term = 0;
        if (rl_raft_log_term(r, e->index, &term) != 0) {
            return 0;
        }
        if (term != e->term) {
            if (e->index <= r->commit) {
                return 0; /* never truncate committed entries */
            }
            rl_raft_log_truncate(r, e->index);
            rl_raft_tail_truncate(r, e->index);
            break;
        }
    }
    if (i < a->entry_count) {
        int rc = s_append(r, a->entries + i, a->entry_count - i);
        if (rc != 0) {
            return rc;
        }
    }
    uint64_t verified = a->prev_index + a->entry_count;
    if (verified < r->commit) {
        verified = r->commit < r->last_index ? r->commit : r->last_index;
    }
    uint64_t commit = a->commit < verified ? a->commit : verified;
    rl_raft_set_commit(r, commit);
    if (verified <= r->persisted) {
        return s_reply(r, msg->from, true, verified, 0, 0);
    }
    if (!r->owed || r->owed_to != msg->from || r->owed_match < verified) {
        r->owed_match = verified;
    }
    r->owed = true;
    r->owed_to = msg->from;
    return rl_raft_flush_owed(r);
}

/* Sends the owed acknowledgement as far as the disk allows. */
int rl_raft_flush_owed(rl_raft_t *r)
{
    if (!r->owed || r->role != RL_RAFT_FOLLOWER || r->leader != r->owed_to) {
        r->owed = false;
        return 0;
    }
    if (r->persisted < r->owed_match) {
        return 0;
    }
    r->owed = false;
    return s_reply(r, r->owed_to, true, r->owed_match, 0, 0);
}

/* The leader's last index whose term is <= term (terms never decrease
   along the log, so binary search). */
static uint64_t s_last_of_term(rl_raft_t *r, uint64_t term, uint64_t hi)
{
    uint64_t lo = rl_raft_log_first(r) - 1;
    if (hi > r->last_index) {
        hi = r->last_index;
    }
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        uint64_t t = 0;
        if (rl_raft_log_term(r, mid, &t) != 0) {
            return 0;
        }
        if (t <= term) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    uint64_t t = 0;
    if (rl_raft_log_term(r, lo, &t) != 0 || t != term) {
        return 0;
    }
    return lo;
}

/* Leader side of APPEND_REPLY, msg has our term. */
int rl_raft_step_append_reply(rl_raft_t *r, const rl_msg_t *msg)
{
    const rl_append_reply_t *a = &msg->body.append_reply;
    rl_raft_progress_t *pr = rl_raft_progress(r, msg->from);
    if (!pr) {
        return 0;
    }
    pr->recent_active = true;
    pr->silent_ticks = 0;
    if (pr->state == RL_RAFT_SNAPSHOT) {
        return 0;
    }
    if (a->success) {
        uint64_t m = a->match_index;
        if (m > r->last_index) {
            return 0;
        }
        if (m > pr->match) {
            pr->match = m;
            rl_raft_progress_ack(pr, m);
            rl_raft_round_check(r, pr);
            int rc = rl_raft_maybe_commit(r);
            if (rc == 0) {
                rc = rl_raft_maybe_promote(r, pr);
            }
            pr = rl_raft_progress(r, msg->from);
            if (rc != 0 || !pr) {
                return rc;
            }
            rc = rl_raft_transfer_check(r, pr);
            if (rc != 0) {
                return rc;
            }
        } else if (pr->state == RL_RAFT_REPLICATE &&
                   rl_raft_progress_full(r, pr)) {
            /* A message may be lost: let one more through. */
            pr->inflight_head = (pr->inflight_head + 1) % RL_RAFT_MAX_INFLIGHT;
            pr->inflight_count--;
        }
        if (pr->state == RL_RAFT_PROBE) {
            if (pr->match + 1 >= pr->next) {
                rl_raft_progress_become(pr, RL_RAFT_REPLICATE, pr->match + 1);
            } else {
                pr->probe_sent = false;
            }
        }
        if (pr->next <= pr->match) {
            pr->next = pr->match + 1;
        }
        return s_send_entries(r, pr);
    }
    /* Rejected: back up using the hint. */
    uint64_t next = a->conflict_index;
    if (a->conflict_term != 0) {
        uint64_t last = s_last_of_term(r, a->conflict_term, r->last_index);
        if (last > 0) {
            next = last + 1;
        }
    }
    if (next > pr->next && pr->state == RL_RAFT_PROBE) {
        next = pr->next; /* a stale rejection: keep probing where we are */
    }
    if (a->conflict_index != 0 && a->conflict_index <= pr->match) {
        /* The follower says it lacks entries we counted as matching: it
           restarted without them (a lost data directory, a segment cut
           short: the one case in which a match index may decrease). Its
           word is the truth; otherwise we would probe at match + 1 for
           ever and it would never catch up. A log too short keeps the
           prefix it acknowledged; a conflicting term says nothing about
           the entries before it, so match drops to 0 until a probe
           matches. Lowering match is always safe (it only delays
           commits); a stale rejection, reordered from before match
           rose, costs one extra probe. */
        rl_raft_trace(r, RL_RAFT_TRACE_WARN,
                      "node %" PRIu64 " lacks entries it acknowledged (up to "
                      "%" PRIu64 "; it has %s %" PRIu64 "): it restarted "
                      "without them; sending them again",
                      pr->id, pr->match,
                      a->conflict_term == 0 ? "entries up to" : "a conflict at",
                      a->conflict_term == 0 ? a->conflict_index - 1
                                            : a->conflict_index);
        pr->match = a->conflict_term == 0 ? a->conflict_index - 1 : 0;
        rl_raft_round_restart(r, pr); /* a round it ended says nothing now */
        if (next > a->conflict_index) {
            next = a->conflict_index;
        }
    }
    if (next <= pr->match) {
        next = pr->match + 1;
    }
    if (next > r->last_index + 1) {
        next = r->last_index + 1;
    }
    if (next == 0) {
        next = 1;
    }
    rl_raft_progress_become(pr, RL_RAFT_PROBE, next);
    return rl_raft_send_append(r, pr, false);
}

/*  progress.c - the leader's view of each follower (paper 5.3 nextIndex
    and matchIndex; thesis 10.2.1 pipelining with bounded in-flight).

    PROBE: the leader does not know where the follower's log matches; it
    sends one APPEND per heartbeat and waits (a conflict hint moves next
    back, paper 5.3 "optimization"). REPLICATE: the last APPEND matched;
    the leader streams entries, next advancing optimistically, with at most
    max_inflight messages unacknowledged. SNAPSHOT: the follower needs
    entries the leader no longer has; chunks go one at a time.
*/
#include "raft_internal.h"

#include <string.h>

rl_raft_progress_t *rl_raft_progress(rl_raft_t *r, uint64_t id)
{
    for (size_t i = 0; i < r->pr_count; i++) {
        if (r->prs[i].id == id) {
            return &r->prs[i];
        }
    }
    return NULL;
}

static void s_init(rl_raft_t *r, rl_raft_progress_t *pr, const rl_member_t *m)
{
    memset(pr, 0, sizeof(*pr));
    pr->id = m->id;
    pr->voter = m->voter;
    /* Group 0 promotes its learners once caught up; a named log's are
       promoted by the mirror, and do not keep the group awake. */
    pr->promote = !m->voter && r->cfg.group == 0;
    pr->state = RL_RAFT_PROBE;
    pr->next = r->last_index + 1;
    rl_raft_round_restart(r, pr); /* its first round */
}

/* A new leader's view: everyone probed from its last index + 1. */
void rl_raft_progress_reset(rl_raft_t *r)
{
    r->pr_count = 0;
    for (size_t i = 0; i < r->config.count; i++) {
        const rl_member_t *m = &r->config.members[i];
        if (m->id != r->id) {
            s_init(r, &r->prs[r->pr_count++], m);
        }
    }
}

/* The configuration changed: keep the progress of those who stay. */
void rl_raft_progress_sync(rl_raft_t *r)
{
    rl_raft_progress_t old[RL_MAX_MEMBERS];
    size_t old_count = r->pr_count;
    memcpy(old, r->prs, old_count * sizeof(*old));
    r->pr_count = 0;
    for (size_t i = 0; i < r->config.count; i++) {
        const rl_member_t *m = &r->config.members[i];
        if (m->id == r->id) {
            continue;
        }
        rl_raft_progress_t *pr = &r->prs[r->pr_count++];
        size_t j = 0;
        while (j < old_count && old[j].id != m->id) {
            j++;
        }
        if (j < old_count) {
            *pr = old[j];
            pr->voter = m->voter;
        } else {
            s_init(r, pr, m);
        }
    }
}

void rl_raft_progress_become(rl_raft_progress_t *pr, rl_raft_pr_state_t s,
                             uint64_t next)
{
    pr->state = s;
    pr->next = next;
    pr->probe_sent = false;
    pr->inflight_count = 0;
    pr->inflight_head = 0;
    pr->snap_idle = 0;
    pr->beat_stalls = 0;
}

bool rl_raft_progress_full(rl_raft_t *r, const rl_raft_progress_t *pr)
{
    size_t max = r->cfg.max_inflight;
    if (max > RL_RAFT_MAX_INFLIGHT) {
        max = RL_RAFT_MAX_INFLIGHT;
    }
    return pr->inflight_count >= max;
}

void rl_raft_progress_sent(rl_raft_progress_t *pr, uint64_t last)
{
    if (pr->inflight_count == RL_RAFT_MAX_INFLIGHT) {
        pr->inflight_head = (pr->inflight_head + 1) % RL_RAFT_MAX_INFLIGHT;
        pr->inflight_count--;
    }
    size_t slot =
        (pr->inflight_head + pr->inflight_count) % RL_RAFT_MAX_INFLIGHT;
    pr->inflight[slot] = last;
    pr->inflight_count++;
}

/* Frees the in-flight slots of messages acknowledged up to match. */
void rl_raft_progress_ack(rl_raft_progress_t *pr, uint64_t match)
{
    while (pr->inflight_count > 0 && pr->inflight[pr->inflight_head] <= match) {
        pr->inflight_head = (pr->inflight_head + 1) % RL_RAFT_MAX_INFLIGHT;
        pr->inflight_count--;
    }
}

/* CheckQuorum (thesis 6.2): did a majority of voters, this leader
   included when it is a voter, talk to us in the last election timeout? */
bool rl_raft_quorum_active(rl_raft_t *r)
{
    size_t voters = rl_raft_voter_count(&r->config);
    size_t active = 0;
    const rl_member_t *self = rl_raft_member(&r->config, r->id);
    if (self && self->voter) {
        active++;
    }
    for (size_t i = 0; i < r->pr_count; i++) {
        if (r->prs[i].voter && r->prs[i].recent_active) {
            active++;
        }
    }
    return active >= voters / 2 + 1;
}

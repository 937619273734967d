/*  mirror.c - the one membership change a named log's group needs next
    to agree with group 0, as a pure function for its leader's host; and
    what a new log's group starts with: its bootstrap members and its
    first leader (rl_raft_log_members, rl_raft_log_first_leader).

    Membership changes are made in group 0 (the `default` log, which holds
    the cluster's configuration); the leader of every other group mirrors
    group 0's committed configuration into its own, one change at a time
    (thesis 4.1: single-server changes), until they agree:
    - a member of group 0 missing from the group is added first (as a
      learner), so that the group never has fewer members than it needs
      while another is removed;
    - then a member of the group that group 0 no longer has is removed (a
      leader removing itself steps down once the change commits, thesis
      4.2.2, and another leader carries on), and so is a voter of the
      group that group 0 has as a learner (it left group 0 and came back:
      it is added again, as a learner);
    - then a learner of the group that group 0 has made a voter is
      promoted, once caught up (rl_raft_caught_up: thesis 4.2.1's
      rounds). The group's core never promotes on its own
      (rl_raft_maybe_promote), so the group's voters are always voters
      of group 0, which its removal gate relies on
      (rl_raft_removal_check).
    Adds come first, in group 0's order; removals and promotions in the
    group's order, so that every leader proposes the same next change; a
    learner that has caught up is promoted before a removal
    (rl_raft_mirror: rl_raft_mirror_next, pure, knows no progress).

    Each configuration a leader makes this way is stamped with where in
    group 0's log the target took effect (rl_raft_members_t.mirrors), and
    a leader never mirrors a target older than its group's stamp. Without
    that, a leader whose own group 0 lags (it restarted from an old
    snapshot, or was cut off from group 0's leader) would take an old
    configuration for the target and could remove a voter group 0 added
    since, making the group smaller than group 0 thinks it is. The stamp
    is also what lets group 0's leader know, from the group's committed
    configuration alone, that the group has caught up before it removes
    a member (rl_raft_removal_check).

    The host calls it whenever it may have work (after group 0's commit
    index moved, or at its ticks) for every group it leads, and makes the
    change it names; the core refuses (BUSY) while the previous change is
    uncommitted or the leader has no commit of its term yet, and the host
    simply asks again later. It reads no state but its arguments.
*/
#include "raft_internal.h"

static const rl_member_t *s_find(const rl_member_t *members, size_t count,
                                 uint64_t id)
{
    for (size_t i = 0; i < count; i++) {
        if (members[i].id == id) {
            return &members[i];
        }
    }
    return NULL;
}

rl_raft_mirror_t rl_raft_mirror_next(const rl_member_t *target,
                                     size_t target_count,
                                     const rl_member_t *current,
                                     size_t current_count, rl_member_t *change)
{
    for (size_t i = 0; i < target_count; i++) {
        if (target[i].id != 0 &&
            !s_find(current, current_count, target[i].id) &&
            current_count < RL_MAX_MEMBERS) {
            *change = target[i];
            change->voter = false;
            return RL_RAFT_MIRROR_ADD;
        }
    }
    for (size_t i = 0; i < current_count; i++) {
        const rl_member_t *t = s_find(target, target_count, current[i].id);
        if (!t || (current[i].voter && !t->voter)) {
            *change = current[i];
            return RL_RAFT_MIRROR_REMOVE;
        }
    }
    for (size_t i = 0; i < current_count; i++) {
        const rl_member_t *t = s_find(target, target_count, current[i].id);
        if (!current[i].voter && t && t->voter) {
            *change = current[i];
            return RL_RAFT_MIRROR_PROMOTE;
        }
    }
    return RL_RAFT_MIRROR_NONE;
}

/* The first learner of the group that target has as a voter and that
   has caught up (0: none); *waiting says whether any such learner is
   still catching up (heard from this election timeout, or being sent
   entries or a snapshot: one that is down is not waited for, so that
   the host does not ask again at every tick). */
static uint64_t s_promotable(rl_raft_t *group, const rl_member_t *target,
                             size_t target_count, bool *waiting)
{
    *waiting = false;
    for (size_t i = 0; i < group->config.count; i++) {
        const rl_member_t *m = &group->config.members[i];
        const rl_member_t *t = s_find(target, target_count, m->id);
        if (m->voter || !t || !t->voter) {
            continue;
        }
        const rl_raft_progress_t *pr = rl_raft_progress(group, m->id);
        if (pr && rl_raft_caught_up(group, pr)) {
            return m->id;
        }
        *waiting =
            *waiting || (pr && (pr->recent_active || pr->inflight_count > 0 ||
                                pr->state == RL_RAFT_SNAPSHOT));
    }
    return 0;
}

int rl_raft_mirror(rl_raft_t *group, const rl_member_t *target,
                   size_t target_count, uint64_t target_at,
                   rl_raft_mirror_t *done)
{
    rl_raft_mirror_t what = RL_RAFT_MIRROR_NONE;
    if (done) {
        *done = what;
    }
    if (target_count == 0 || group->role != RL_RAFT_LEADER) {
        return 0; /* a server waiting to be added knows no target */
    }
    if (target_at < group->config.mirrors) {
        return 0; /* this server's group 0 lags: wait for it */
    }
    rl_member_t change;
    what = rl_raft_mirror_next(target, target_count, group->config.members,
                               group->config.count, &change);
    int rc = 0;
    if (what == RL_RAFT_MIRROR_REMOVE || what == RL_RAFT_MIRROR_PROMOTE) {
        /* A caught-up learner is promoted before a removal (the group is
           never smaller than it needs), and any one, so that one that
           cannot catch up (it is down) holds no other back; meanwhile
           the removal or the stamp goes on. */
        bool waiting = false;
        uint64_t id = s_promotable(group, target, target_count, &waiting);
        if (id != 0) {
            what = RL_RAFT_MIRROR_PROMOTE;
            change.id = id;
        } else if (what == RL_RAFT_MIRROR_PROMOTE) {
            what = RL_RAFT_MIRROR_NONE;
            rc = waiting ? RL_ERR_BUSY : 0;
        }
    }
    if (what == RL_RAFT_MIRROR_NONE && target_at > group->config.mirrors) {
        what = RL_RAFT_MIRROR_STAMP;
    }
    if (what == RL_RAFT_MIRROR_ADD) {
        rc = rl_raft_change_add(group, &change, target_at);
    } else if (what == RL_RAFT_MIRROR_REMOVE) {
        rc = rl_raft_change_remove(group, change.id, target_at);
    } else if (what == RL_RAFT_MIRROR_PROMOTE) {
        rc = rl_raft_change_promote(group, change.id, target_at);
    } else if (what == RL_RAFT_MIRROR_STAMP) {
        rc = rl_raft_change_stamp(group, target_at);
    }
    if (done) {
        *done = rc == 0 ? what : RL_RAFT_MIRROR_NONE;
    }
    return rc;
}

rl_raft_removal_t rl_raft_removal_check(const rl_member_t *zero,
                                        size_t zero_count, uint64_t zero_at,
                                        uint64_t gone, const rl_member_t *group,
                                        size_t group_count,
                                        uint64_t group_mirrors)
{
    if (group_mirrors < zero_at) {
        return RL_RAFT_REMOVAL_BEHIND;
    }
    size_t others = 0;       /* the group's voters but gone */
    bool voter_here = false; /* gone is one of the group's voters */
    for (size_t i = 0; i < group_count; i++) {
        if (!group[i].voter) {
            continue;
        }
        const rl_member_t *z = s_find(zero, zero_count, group[i].id);
        if (!z || !z->voter) {
            return RL_RAFT_REMOVAL_OUTSIDER;
        }
        if (group[i].id == gone) {
            voter_here = true;
        } else {
            others++;
        }
    }
    /* A learner of group 0 never becomes a voter of the group (its
       targets from now on have it as a learner, or not at all); a voter
       of group 0 may, and the group then needs two others to remove it
       without it. And a voter of the group that goes must not leave the
       group surviving fewer failures than group 0 will: with group 0 of
       four voters whose fourth the group has not promoted (it is down),
       removing a third would leave the group two voters and group 0
       three, and losing one more node would stop the group alone. */
    const rl_member_t *z = s_find(zero, zero_count, gone);
    if (z && z->voter) {
        size_t left = 0; /* group 0's voters after the removal */
        for (size_t i = 0; i < zero_count; i++) {
            left += zero[i].voter && zero[i].id != gone ? 1 : 0;
        }
        if (others < 2 || (voter_here && (others - 1) / 2 < (left - 1) / 2)) {
            return RL_RAFT_REMOVAL_TOO_FEW;
        }
    }
    return RL_RAFT_REMOVAL_SAFE;
}

size_t rl_raft_log_members(const rl_raft_log_info_t *log,
                           const rl_member_t *book, size_t book_count,
                           rl_member_t *out)
{
    size_t n = log->member_count <= RL_MAX_MEMBERS ? log->member_count
                                                   : RL_MAX_MEMBERS;
    for (size_t i = 0; i < n; i++) {
        const rl_member_t *known = s_find(book, book_count, log->member_ids[i]);
        if (known) {
            out[i] = *known;
        } else {
            rl_member_t none = {0};
            out[i] = none;
        }
        out[i].id = log->member_ids[i];
        out[i].voter = log->member_voters[i];
    }
    return n;
}

uint64_t rl_raft_log_first_leader(const rl_raft_log_info_t *log)
{
    uint64_t voters[RL_MAX_MEMBERS];
    size_t count = 0;
    size_t n = log->member_count <= RL_MAX_MEMBERS ? log->member_count
                                                   : RL_MAX_MEMBERS;
    /* Sorted by id as they are taken (at most 16: an insertion). */
    for (size_t i = 0; i < n; i++) {
        if (!log->member_voters[i]) {
            continue;
        }
        size_t at = count++;
        while (at > 0 && voters[at - 1] > log->member_ids[i]) {
            voters[at] = voters[at - 1];
            at--;
        }
        voters[at] = log->member_ids[i];
    }
    return count ? voters[log->group % count] : 0;
}

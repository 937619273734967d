/*  quiesce.c - quiet groups: an idle group stops ticking (CockroachDB's
    quiescence, TiKV's hibernation), so that a node hosting thousands of
    idle logs spends nothing on them.

    When (cfg.quiesce on; off by default, so that a single-log host keeps
    its behaviour):
    - A leader goes quiet at a heartbeat tick when nothing is left to do:
      its whole log is committed and durable here (commit == persisted ==
      last index, so no configuration change is pending), no transfer is
      under way, no entries wait to be sent, and every follower (voters and
      learners) is replicating, matches its last index, has no learner
      promotion pending (group 0), and was heard from since the leader's last
      CheckQuorum window began (recent_active). Instead of that tick's
      heartbeats it sends one APPEND heartbeat marked `quiesce` to each
      follower (carrying its commit index) and stops ticking.
    - A follower goes quiet on a `quiesce` heartbeat from its leader in its
      term when, having handled it, it is caught up: its last index is the
      heartbeat's prev_index, committed and durable, no reply owed. It
      answers the heartbeat as any other, and stops ticking.
    - A quiet core's tick does nothing (the host need not call it).

    Waking (quiet no more):
    - Any message that passes the checks of rl_raft_step wakes the core,
      but two: a quiet leader stays quiet on an APPEND_REPLY of its term
      that tells it nothing new (success, match not above what it knows:
      the answers to its own quiesce heartbeats); and a quiet follower
      stays quiet on a PREVOTE or VOTE that changes none of its term, vote
      and leader (refused under its lease, or a PreVote granted) and does
      not come from its leader (which would then no longer lead): waking
      it would only start its timer while its leader, quiet and silent,
      does not know (a server removed from the configuration, still in
      the address book, asks every election timeout), and its lease would
      expire into an election the leader never saw coming. A quiet leader
      likewise stays quiet on a (pre)vote it refuses from a server that is
      not in its configuration (it would not heartbeat it anyway), and
      wakes on one from a member: that follower does not hear it.
    - Anything a leader appends (a proposal, a consumer or catalog call, a
      configuration change) and a transfer wake it.
    - The host calls rl_raft_wake(): it keeps node-level liveness (any
      frame from a peer counts; a peer silent for an election timeout is
      down) and wakes every quiet follower whose leader is on a down node,
      and every quiet leader one of whose voters is on a down node.
    - A woken leader starts a fresh CheckQuorum window (election_elapsed
      0, every follower's recent_active false) and heartbeats at its next
      tick; it goes quiet again only after hearing from every follower.
      A woken follower's timer goes on from where it stopped.

    Safety. Quiescing changes no term, vote, log or commit index; it only
    withholds tick inputs. Raft's safety (Election Safety, Log Matching,
    Leader Completeness, State Machine Safety: paper 5.2-5.4) holds for
    any timing of inputs, so it holds with quiet groups. The one rule of
    the core that depends on time, the leader lease (a server that heard
    from a leader within an election timeout refuses (pre)votes: thesis
    9.6), only ever refuses: a lease frozen by quiescence can cost
    liveness, never safety. CheckQuorum (thesis 6.2) is also a liveness
    rule: a deposed leader never commits, whether or not it steps down.

    Liveness, case by case:
    - Leader fails (crash, or cut off from its followers): its followers'
      hosts see its node silent for an election timeout and wake them;
      their timers resume, the frozen leases expire within an election
      timeout, and an election proceeds as without quiescence. A leader
      whose node restarts faster than that comes back as a follower whose
      (pre)votes wake the others: refused while their leases last (and
      naming the old leader), granted after.
    - Leader cut off from a majority: its host sees the peers down and
      wakes it; its fresh CheckQuorum window ends without a majority heard
      and it steps down (thesis 6.2), as without quiescence.
    - Follower fails or is cut off: the leader's host wakes the leader; it
      heartbeats the follower and, missing its replies, stays awake (a
      quiet leader would not notice the follower come back lagging). A
      follower that restarts starts awake: its timeout brings a PreVote,
      refused (the others' leases are frozen, the leader's too) but waking
      them, and the leader's heartbeats bring it back.
    - A quiesce heartbeat lost: the leader is quiet, that follower is not;
      its timeout brings a PreVote, refused as above, which wakes the
      leader: heartbeats resume, then quiescence, a few messages later.
    - A message wakes a follower whose leader stays quiet (rl_raft_wake
      by mistake, a message for it): the same PreVote round brings it
      back; the other followers refuse it and stay quiet. With PreVote
      and CheckQuorum on (the defaults) no term is raised; without the
      lease a woken follower may win an election, as a slow follower may
      without quiescence.
    - Transfers: no quiescence while one is under way; rl_raft_transfer
      wakes the leader, TIMEOUT_NOW wakes the target, and its VOTE (with
      the transfer flag, which leases do not block) wakes the voters.
    - Membership: no quiescence while a change is uncommitted, a learner
      catches up or, in group 0, waits for promotion (a named log's
      learner waits for group 0's, which comes through rl_raft_mirror:
      the log may go quiet meanwhile); the calls append, so wake.
    - Snapshots: no quiescence while a follower is sent one.
*/
#include "raft_internal.h"

/* The leader's condition, checked at heartbeat ticks (see above). */
static bool s_leader_idle(rl_raft_t *r)
{
    if (!r->cfg.quiesce || r->role != RL_RAFT_LEADER || r->transfer_to ||
        r->bcast_pending || r->commit != r->last_index ||
        r->persisted != r->last_index) {
        return false;
    }
    for (size_t i = 0; i < r->pr_count; i++) {
        const rl_raft_progress_t *pr = &r->prs[i];
        if (pr->state != RL_RAFT_REPLICATE || pr->match != r->last_index ||
            !pr->recent_active || (pr->promote && !pr->voter)) {
            return false;
        }
    }
    return true;
}

/* At a leader's heartbeat tick: the quiesce heartbeats instead of the
   usual ones when idle; returns true when it went quiet (*rc set). */
bool rl_raft_quiesce_leader(rl_raft_t *r, int *rc)
{
    *rc = 0;
    if (!s_leader_idle(r)) {
        return false;
    }
    for (size_t i = 0; i < r->pr_count && *rc == 0; i++) {
        rl_msg_t msg;
        rl_msg_init(&msg, RL_MSG_APPEND);
        msg.body.append.term = r->term;
        msg.body.append.prev_index = r->last_index;
        msg.body.append.prev_term = r->last_term;
        msg.body.append.commit = r->commit;
        msg.body.append.quiesce = true;
        *rc = rl_raft_send(r, r->prs[i].id, &msg);
    }
    if (*rc != 0) {
        return true; /* out of memory: the next heartbeat tries again */
    }
    r->quiet = true;
    return true;
}

/* A follower, after handling an APPEND from its leader. */
void rl_raft_quiesce_follower(rl_raft_t *r, const rl_msg_t *msg)
{
    const rl_append_t *a = &msg->body.append;
    if (r->cfg.quiesce && a->quiesce && a->entry_count == 0 &&
        r->role == RL_RAFT_FOLLOWER && r->leader == msg->from &&
        a->term == r->term && r->last_index == a->prev_index &&
        r->commit == r->last_index && r->persisted == r->last_index &&
        !r->owed) {
        r->quiet = true;
    }
}

/* Does msg (of term `term`, which passed rl_raft_step's checks) leave a
   quiet core quiet? Only an answer that tells its leader nothing new. */
bool rl_raft_quiet_keeps(rl_raft_t *r, const rl_msg_t *msg, uint64_t term)
{
    if (r->role != RL_RAFT_LEADER || msg->type != RL_MSG_APPEND_REPLY ||
        term != r->term || !msg->body.append_reply.success) {
        return false;
    }
    const rl_raft_progress_t *pr = rl_raft_progress(r, msg->from);
    return pr && msg->body.append_reply.match_index <= pr->match;
}

bool rl_raft_quiet(const rl_raft_t *r)
{
    return r->quiet;
}

void rl_raft_wake(rl_raft_t *r)
{
    if (!r->quiet) {
        return;
    }
    r->quiet = false;
    if (r->role == RL_RAFT_LEADER) {
        r->election_elapsed = 0;
        r->heartbeat_elapsed =
            r->cfg.heartbeat_ticks > 0 ? r->cfg.heartbeat_ticks - 1 : 0;
        for (size_t i = 0; i < r->pr_count; i++) {
            r->prs[i].recent_active = false;
        }
    }
}

/*  election.c - leader election, PreVote, CheckQuorum, leadership transfer.

    Rules, with where they come from:
    - Randomized election timeouts in [T, 2T) from the core's own seeded
      PRNG (paper 5.2), so split votes resolve and runs replay exactly.
    - A candidate votes for itself and wins with a majority of the voters
      of its latest configuration (paper 5.2; thesis 4.1). A server grants
      one vote per term, to a log at least as up to date as its own
      (paper 5.4.1), and persists that vote before replying (raft.h rule 2).
    - PreVote (thesis 9.6): before raising its term a server asks whether
      it could win; a partitioned server that rejoins therefore does not
      force the term up and depose a working leader.
    - CheckQuorum and leader lease (thesis 6.2, 9.6): a leader that has not
      heard from a majority within an election timeout steps down; a server
      that heard from a leader within the election timeout refuses
      (pre)vote requests, unless the candidate was told to run by the
      leader (TIMEOUT_NOW, transfer flag). This is also what stops a
      removed server from disrupting the cluster (thesis 4.2.3).
    - Leadership transfer (thesis 3.10): the leader brings the target up to
      date, sends TIMEOUT_NOW, refuses proposals meanwhile, and gives up
      after an election timeout.
    - A new group's first leader (rl_raft_campaign_soon): the host of the
      replica every node designates (rl_raft_log_first_leader) ends its
      election timeout at the next tick instead of a randomized one, so
      that a new log is writable about one tick after its creation
      commits; and at the two ticks after, while its vote requests reach
      no one (the other replicas are made when they learn the creation,
      and drop what comes before). It changes only when a timeout ends,
      never the rules of the campaign (PreVote, promotability, votes):
      Raft's safety holds for any timing (paper 5.2), and a campaign lost
      otherwise is retried by the usual randomized timeouts.
*/
#include "raft_internal.h"

#include <inttypes.h>
#include <string.h>

static bool s_voter_of(const rl_raft_members_t *c, uint64_t id)
{
    const rl_member_t *m = rl_raft_member(c, id);
    return m && m->voter;
}

/* May this server campaign? When it is a voter of its latest
   configuration, of the committed one, or of one appended after its
   commit index: a leader that removed itself and stepped down before that
   change committed may hold the only log that can win, and the
   configuration it counts votes in (its latest) still makes the election
   safe (thesis 4.2.2: a leader need not be in its configuration). After a
   restart its commit index is only its snapshot's, so the configuration
   that made it a voter may be committed without its knowing: it looks in
   its whole uncommitted tail. Once the removal commits it stays quiet. */
static bool s_promotable(rl_raft_t *r)
{
    if (s_voter_of(&r->config, r->id) || s_voter_of(&r->base_config, r->id)) {
        return true;
    }
    for (size_t i = r->tail_first; i < r->tail_count; i++) {
        if (r->tail[i].config && s_voter_of(r->tail[i].config, r->id)) {
            return true;
        }
    }
    return false;
}

void rl_raft_reset_timeout(rl_raft_t *r)
{
    r->election_elapsed = 0;
    r->timeout =
        r->cfg.election_ticks + rl_raft_random(r, r->cfg.election_ticks);
}

bool rl_raft_in_lease(rl_raft_t *r)
{
    return r->cfg.check_quorum && r->leader != 0 &&
           r->election_elapsed < r->cfg.election_ticks;
}

static bool s_contains(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

/* Counts a vote from a voter of the latest configuration; returns 1 when
   won, -1 when lost, 0 while undecided. */
static int s_tally(rl_raft_t *r, uint64_t from, bool granted)
{
    const rl_member_t *m = rl_raft_member(&r->config, from);
    if (m && m->voter && !s_contains(r->votes_yes, r->votes_yes_count, from) &&
        !s_contains(r->votes_no, r->votes_no_count, from)) {
        if (granted) {
            r->votes_yes[r->votes_yes_count++] = from;
        } else {
            r->votes_no[r->votes_no_count++] = from;
        }
    }
    size_t quorum = rl_raft_voter_count(&r->config) / 2 + 1;
    if (r->votes_yes_count >= quorum) {
        return 1;
    }
    if (r->votes_no_count >= quorum) {
        return -1;
    }
    return 0;
}

/* Starts a (pre-)election; `transfer` marks a campaign ordered by the
   leader (TIMEOUT_NOW), which skips PreVote and overrides leases. */
int rl_raft_campaign(rl_raft_t *r, bool pre, bool transfer)
{
    if (!s_promotable(r)) {
        return 0;
    }
    if (r->term >= RL_RAFT_MAX_TERM) {
        /* Unreachable by honest elections; never wrap to term 0. */
        rl_raft_trace(r, RL_RAFT_TRACE_WARN,
                      "term %" PRIu64 " is the maximum: not campaigning",
                      r->term);
        rl_raft_reset_timeout(r);
        return 0;
    }
    uint64_t term = r->term + 1;
    if (pre) {
        r->role = RL_RAFT_PRE_CANDIDATE;
        r->leader = 0;
        r->role_changed = true;
    } else {
        rl_raft_set_term(r, term);
        r->vote = r->id;
        r->hs_changed = true;
        r->role = RL_RAFT_CANDIDATE;
        r->leader = 0;
        r->role_changed = true;
    }
    r->owed = false;
    rl_raft_reset_timeout(r);
    r->votes_yes_count = 0;
    r->votes_no_count = 0;
    rl_raft_trace(r, RL_RAFT_TRACE_DEBUG, "%s for term %" PRIu64 "%s",
                  pre ? "pre-campaigning" : "campaigning", term,
                  transfer ? " (leadership transfer)" : "");
    int won = s_tally(r, r->id, true);
    if (won == 1) {
        return pre ? rl_raft_campaign(r, false, transfer)
                   : rl_raft_become_leader(r);
    }
    for (size_t i = 0; i < r->config.count; i++) {
        const rl_member_t *m = &r->config.members[i];
        if (m->id == r->id || !m->voter) {
            continue;
        }
        rl_msg_t msg;
        rl_msg_init(&msg, pre ? RL_MSG_PREVOTE : RL_MSG_VOTE);
        msg.body.vote.term = term;
        msg.body.vote.last_log_index = r->last_index;
        msg.body.vote.last_log_term = r->last_term;
        msg.body.vote.transfer = transfer;
        int rc = rl_raft_send(r, m->id, &msg);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Answers a (pre)vote request. A refusal names the leader we follow: a
   lagging candidate may not know it (raft.c s_may_hear). */
int rl_raft_reply_vote(rl_raft_t *r, const rl_msg_t *msg, bool granted)
{
    bool pre = msg->type == RL_MSG_PREVOTE;
    rl_msg_t reply;
    rl_msg_init(&reply, pre ? RL_MSG_PREVOTE_REPLY : RL_MSG_VOTE_REPLY);
    reply.body.vote_reply.term = granted && pre ? msg->body.vote.term : r->term;
    reply.body.vote_reply.granted = granted;
    reply.body.vote_reply.leader = granted ? 0 : r->leader;
    return rl_raft_send(r, msg->from, &reply);
}

/* PREVOTE and VOTE, after raft.c's term rules (a VOTE here has our term,
   a PREVOTE a term above ours unless refused). */
int rl_raft_step_vote(rl_raft_t *r, const rl_msg_t *msg)
{
    const rl_vote_t *v = &msg->body.vote;
    bool pre = msg->type == RL_MSG_PREVOTE;
    bool granted = false;
    bool up_to_date =
        rl_raft_log_up_to_date(r, v->last_log_index, v->last_log_term);
    if (pre) {
        granted = v->term > r->term && up_to_date;
    } else {
        bool can_vote =
            r->vote == msg->from || (r->vote == 0 && r->leader == 0);
        granted = v->term == r->term && can_vote && up_to_date;
        if (granted) {
            r->vote = msg->from;
            r->hs_changed = true;
            r->election_elapsed = 0;
        }
    }
    return rl_raft_reply_vote(r, msg, granted);
}

int rl_raft_step_vote_reply(rl_raft_t *r, const rl_msg_t *msg)
{
    const rl_vote_reply_t *v = &msg->body.vote_reply;
    if (msg->type == RL_MSG_PREVOTE_REPLY) {
        if (r->role != RL_RAFT_PRE_CANDIDATE || v->term != r->term + 1) {
            return 0;
        }
    } else if (r->role != RL_RAFT_CANDIDATE || v->term != r->term) {
        return 0;
    }
    int won = s_tally(r, msg->from, v->granted);
    if (won == 1) {
        return r->role == RL_RAFT_PRE_CANDIDATE
                   ? rl_raft_campaign(r, false, false)
                   : rl_raft_become_leader(r);
    }
    if (won == -1) {
        rl_raft_become_follower(r, r->term, 0);
    }
    return 0;
}

/* TIMEOUT_NOW from our leader: campaign at once (thesis 3.10). */
int rl_raft_step_timeout_now(rl_raft_t *r, const rl_msg_t *msg)
{
    if (msg->body.timeout_now.term != r->term || r->role != RL_RAFT_FOLLOWER ||
        msg->from != r->leader) {
        return 0;
    }
    return rl_raft_campaign(r, false, true);
}

/* Paper 5.2 and 8: a new leader appends a no-op of its term, which lets it
   commit everything before it (Figure 8 rule in replication.c) and tells
   the host when the leader's view is current. */
int rl_raft_become_leader(rl_raft_t *r)
{
    r->role = RL_RAFT_LEADER;
    r->leader = r->id;
    r->role_changed = true;
    r->transfer_to = 0;
    r->election_elapsed = 0;
    r->heartbeat_elapsed = 0;
    r->owed = false;
    rl_raft_progress_reset(r);
    rl_entry_t noop = {0};
    noop.type = RL_ENTRY_NOOP;
    /* Set first: if the no-op cannot be appended, the first entry of this
       term the leader does append still gates configuration changes. */
    r->term_start = r->last_index + 1;
    return rl_raft_append_local(r, &noop, 1);
}

void rl_raft_abort_transfer(rl_raft_t *r)
{
    r->transfer_to = 0;
    r->transfer_elapsed = 0;
}

static int s_send_timeout_now(rl_raft_t *r, uint64_t to)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_TIMEOUT_NOW);
    msg.body.timeout_now.term = r->term;
    return rl_raft_send(r, to, &msg);
}

int rl_raft_transfer(rl_raft_t *r, uint64_t target)
{
    if (r->role != RL_RAFT_LEADER) {
        return RL_RAFT_NOT_LEADER;
    }
    rl_raft_wake(r);
    if (target == 0) {
        for (size_t i = 0; i < r->pr_count; i++) {
            if (!r->prs[i].voter) {
                continue;
            }
            rl_raft_progress_t *best = rl_raft_progress(r, target);
            if (!best || r->prs[i].match > best->match) {
                target = r->prs[i].id;
            }
        }
    }
    if (target == r->id) {
        return 0;
    }
    rl_raft_progress_t *pr = rl_raft_progress(r, target);
    if (!pr || !pr->voter) {
        return RL_ERR_REJECTED;
    }
    r->transfer_to = target;
    r->transfer_elapsed = 0;
    if (pr->match == r->last_index) {
        return s_send_timeout_now(r, target);
    }
    return rl_raft_send_append(r, pr, false);
}

/* Called by replication.c when the transfer target's match moved. */
int rl_raft_transfer_check(rl_raft_t *r, rl_raft_progress_t *pr)
{
    if (r->transfer_to == pr->id && pr->match == r->last_index) {
        return s_send_timeout_now(r, pr->id);
    }
    return 0;
}

/* Ticks in which a campaign_soon core ends its timeout early: the first
   tries at once; the next ones only if its vote requests reached no one
   (the others had not created the group yet, or a commit message that
   would have made them was lost: they learn it at the next heartbeat). */
#define S_SOON_TICKS 3

void rl_raft_campaign_soon(rl_raft_t *r)
{
    if (r->role != RL_RAFT_FOLLOWER || r->leader != 0) {
        return; /* a leader is known, or an election is under way */
    }
    r->soon_ticks = S_SOON_TICKS;
    /* A follower's tallies are an old election's: none answered yet. */
    r->votes_yes_count = 0;
    r->votes_no_count = 0;
    rl_raft_wake(r); /* a leaderless core is never quiet; to be sure */
}

/* At a tick within rl_raft_campaign_soon's window: does its election
   timeout end now? Only while no one answered its (pre)vote requests
   (an answer, granted or refused, means the others have the group: a
   lost campaign waits for a randomized timeout, as any), no leader is
   known and it voted for no other candidate; as a follower, a
   pre-candidate, or a candidate without PreVote (its round began at a
   tick; after PreVote, a candidate was answered). Anything else closes
   the window: the usual timeouts go on. */
static bool s_soon(rl_raft_t *r)
{
    r->soon_ticks--;
    bool voted_other = r->vote != 0 && r->vote != r->id;
    bool unanswered = r->votes_yes_count <= 1 && r->votes_no_count == 0;
    bool role = r->role == RL_RAFT_FOLLOWER ||
                r->role == RL_RAFT_PRE_CANDIDATE ||
                (r->role == RL_RAFT_CANDIDATE && !r->cfg.pre_vote);
    bool now = r->leader == 0 && !voted_other && unanswered && role;
    if (!now) {
        r->soon_ticks = 0;
    }
    return now;
}

int rl_raft_tick_election(rl_raft_t *r)
{
    r->election_elapsed++;
    if (r->soon_ticks > 0 && s_soon(r) && r->election_elapsed < r->timeout) {
        /* Then the rules below, as for any timeout: not promotable, no
           campaign; PreVote first when on. */
        r->election_elapsed = r->timeout;
    }
    if (r->role != RL_RAFT_LEADER) {
        if (r->election_elapsed >= r->timeout && !s_promotable(r)) {
            rl_raft_trace(r, RL_RAFT_TRACE_DEBUG,
                          "not campaigning: not a voter of the latest or "
                          "the committed configuration");
            rl_raft_reset_timeout(r);
            return 0;
        }
        if (r->election_elapsed >= r->timeout) {
            return rl_raft_campaign(r, r->cfg.pre_vote, false);
        }
        return 0;
    }
    rl_raft_round_tick(r);
    if (r->transfer_to && ++r->transfer_elapsed >= r->cfg.election_ticks) {
        rl_raft_abort_transfer(r);
    }
    if (r->election_elapsed >= r->cfg.election_ticks) {
        r->election_elapsed = 0;
        if (r->cfg.check_quorum) {
            if (!rl_raft_quorum_active(r)) {
                rl_raft_trace(r, RL_RAFT_TRACE_INFO,
                              "stepping down in term %" PRIu64
                              ": a majority was not heard from within an "
                              "election timeout",
                              r->term);
                rl_raft_become_follower(r, r->term, 0);
                return 0;
            }
            for (size_t i = 0; i < r->pr_count; i++) {
                r->prs[i].recent_active = false;
            }
        }
    }
    int rc = 0;
    if (++r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
        r->heartbeat_elapsed = 0;
        if (rl_raft_quiesce_leader(r, &rc)) {
            return rc; /* quiet: quiesce.c */
        }
        rc = rl_raft_broadcast(r, true);
        if (rc != 0) {
            return rc;
        }
    }
    return rl_raft_promote_learners(r);
}

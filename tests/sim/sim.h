/*  sim.h - a deterministic simulated cluster of Raft cores (label sim).

    Up to SIM_MAX_NODES nodes in one process, each hosting one core per
    group: group 0 (the default log) and the named logs of its catalog
    (sim.c has the host's rules, as raft.h "Hosting groups" gives them);
    faults are a node's, shared by all its groups; every invariant below
    is checked per group. Time is a counter; each node
    ticks every tick_period units (different periods model clock skew).
    The network is a priority queue of deep-copied messages with a seeded
    PRNG deciding delay (hence reordering), drop and duplication; a link
    matrix gives partitions of any shape, asymmetric included. Each node
    has an in-memory disk: a log (the core's log view), the hard state and
    a snapshot; entries become durable when a simulated fsync completes,
    and a crash keeps only durable state. Each node has a wall clock (the
    simulated time in ms from SIM_EPOCH_MS, plus a skew that tests change
    to any value, backwards too), set before every call into its core.

    After every step the invariants are checked (sim.c, s_check_*):
    at most one leader per term; Log Matching (same index and term, same
    prefix: a global table of prefix hashes); Leader Completeness (a new
    leader holds every entry committed so far); committed prefixes
    identical everywhere; commit never decreases on a node; no double vote
    in a term; a leader advances its commit index only onto an entry of its
    own term (Figure 8, paper 5.4.2); an acknowledged entry is never lost
    or changed; entry times never decrease along any node's log nor along
    the committed log, and a snapshot records the time of its last entry;
    durable consumers: positions are at most the node's commit index, go
    back (or vanish) only by a reset (or delete) entry just committed, and
    nodes at one commit index hold one table; the catalog of named logs:
    it changes only by a catalog entry just committed (or a snapshot),
    nodes at one commit index hold one catalog, it is sorted with unique
    group ids below its next id, a group id always names the same log
    (ids are never reused), the next id never goes back, and every change
    the core hands out is committed, durable on that node and in log
    order. A failure prints the seed and the
   command replaying it, then aborts; so does a crash, an assertion or a
   sanitizer report while a simulation is alive (a signal handler and the
   sanitizer's death callback print them).
*/
#ifndef RL_SIM_H
#define RL_SIM_H

#include "raft.h"

#include <stdbool.h>
#include <stdint.h>

#define SIM_MAX_NODES 8

/* Groups (named logs) a simulation can hold: group 0, the default log,
   on every node; group g >= 1 on each node from when its log's creation
   is handed to that node's host by group 0 until its deletion is. */
#define SIM_MAX_GROUPS 64

typedef struct sim sim_t;

/* Non-zero while the simulator is inside one of the core's input calls
   (tick, step, propose, persisted, compact): lets a test fail the core's
   allocations, and only the core's (test_raft_alloc.c). */
extern int sim_in_core;

typedef struct {
    unsigned nodes;           /* initial voters, ids 1..nodes */
    uint64_t seed;            /* everything random derives from it */
    const char *replay;       /* command printed on failure, e.g.
                                 "RL_SIM_SEED=%llu build/.../test_sim_random" */
    unsigned election_ticks;  /* core option */
    unsigned heartbeat_ticks; /* core option */
    bool pre_vote;            /* core option */
    bool check_quorum;        /* core option */
    unsigned tick_period;     /* time units per tick (default 10) */
    unsigned min_delay;       /* message delay range, time units */
    unsigned max_delay;
    unsigned disk_delay;      /* fsync latency; 0: synchronous */
    unsigned drop_pct;        /* percent of messages dropped */
    unsigned dup_pct;         /* percent duplicated */
    size_t max_uncommitted;   /* core option (0: default) */
    size_t max_batch_entries; /* core option (0: default) */
    size_t snapshot_chunk;    /* core option (0: default) */
    size_t max_producers;     /* core option (0: 64) */
    size_t max_consumers;     /* core option (0: the core's default) */
    size_t max_logs;          /* core option (0: the core's default) */
    bool quiesce;             /* core option; the hosts then keep
                                 node-level liveness: a heartbeat to every
                                 other node each tick, and a node silent
                                 for an election timeout is down: its quiet
                                 followers' and quiet leaders' groups are
                                 woken (rl_raft_wake) */
} sim_options_t;

/* The wall clock of simulated time 0 (2026-01-01T00:00:00Z). */
#define SIM_EPOCH_MS 1767225600000ULL

typedef enum {
    SIM_CONSUMER_COMMIT, /* rl_raft_consumer_commit */
    SIM_CONSUMER_RESET,  /* rl_raft_consumer_reset */
    SIM_CONSUMER_DELETE  /* rl_raft_consumer_delete (index unused) */
} sim_consumer_verb_t;

typedef struct {
    uint64_t sent[16];         /* messages sent, by type (index = type) */
    uint64_t total;            /* all messages sent */
    uint64_t append_rejects;   /* APPEND_REPLY with success false */
    uint64_t ticks;            /* ticks of cores */
    uint64_t quiet_ticks;      /* ticks skipped: the core was quiet */
    uint64_t beats;            /* node-level heartbeats sent (quiesce) */
    uint64_t wakes;            /* quiet cores the hosts woke (liveness) */
    uint64_t unhosted;         /* messages for a group not hosted there */
    uint64_t groups_created;   /* replicas the hosts created */
    uint64_t groups_destroyed; /* replicas the hosts destroyed */
    uint64_t mirrored;         /* membership changes the hosts mirrored */
    uint64_t refused; /* a named log's leader messages from a node not in
                         group 0, dropped by the host */
} sim_stats_t;

void sim_options_default(sim_options_t *o);
sim_t *sim_new(const sim_options_t *o);
void sim_destroy(sim_t **sim_p);

/* Runs `units` of simulated time. */
void sim_run(sim_t *s, unsigned units);
/* Runs until a live node leads (and, if stable, for a while after);
   returns its id or 0 after max units. */
uint64_t sim_wait_leader(sim_t *s, unsigned max);
/* The live leader with the highest term, 0 for none. */
uint64_t sim_leader(sim_t *s);
/* Runs until every live node has commit >= index, or max units. */
bool sim_wait_commit(sim_t *s, uint64_t index, unsigned max);

/* Proposes one entry with payload value to node id (the core's answer).
   Acknowledgement is tracked: the entry is "acknowledged" once that node
   sees it committed with the term it was proposed in. */
int sim_propose(sim_t *s, uint64_t id, uint64_t value, uint64_t producer,
                uint64_t seq, rl_raft_proposal_t *out);
/* Proposes to the current leader, retrying for up to max units; returns
   the index or 0. */
uint64_t sim_propose_leader(sim_t *s, uint64_t value, unsigned max);
/* A durable consumer call on node id (its clock set first), tracked for
   acknowledgement like sim_propose. */
int sim_consumer(sim_t *s, uint64_t id, sim_consumer_verb_t verb,
                 const char *name, uint64_t index, rl_raft_proposal_t *out);
/* A catalog call (rl_raft_log_create, _delete, _configure: settings
   unused by delete, NULL for zeros) on node id (its clock set first),
   tracked for acknowledgement like sim_propose. */
int sim_log(sim_t *s, uint64_t id, rl_raft_log_verb_t verb, const char *name,
            const rl_raft_log_settings_t *settings, rl_raft_proposal_t *out);
/* The committed catalog's log name on node id (false: none, or the node
   is down). */
bool sim_log_find(sim_t *s, uint64_t id, const char *name,
                  rl_raft_log_info_t *log);
/* Catalog changes node id's core handed out (ready.log_changes) since it
   last started, oldest first; borrowed until the next call into the
   simulation. */
const rl_raft_log_change_t *sim_log_changes(sim_t *s, uint64_t id,
                                            size_t *count);
/* The committed position of consumer name on node id (false: none, or
   the node is down). */
bool sim_consumer_position(sim_t *s, uint64_t id, const char *name,
                           uint64_t *index);
/* The term of the entry committed at index (by any node), 0 while none
   has committed it: a proposal (index, term) succeeded iff this returns
   its term. */
uint64_t sim_committed_term(sim_t *s, uint64_t index);
/* Acknowledged entries so far. */
size_t sim_acked(sim_t *s);

void sim_crash(sim_t *s, uint64_t id);
/* Operator faults outside Raft's model (it assumes stable storage): a
   crash after which the node's durable log is cut after index keep (a
   segment cut short, a torn disk), or its whole data directory is gone
   (log, snapshot, term and vote). The node restarts with the same id and
   its bootstrap configuration, as a real one started on an empty
   directory does. Losing acknowledged entries can break safety: tests
   use these on a quiet cluster, to check that the node catches up. */
void sim_crash_losing_tail(sim_t *s, uint64_t id, uint64_t keep);
void sim_crash_losing_everything(sim_t *s, uint64_t id);
void sim_restart(sim_t *s, uint64_t id);
bool sim_up(sim_t *s, uint64_t id);
/* Links: set one direction, cut/heal a node entirely, heal all. */
void sim_link(sim_t *s, uint64_t from, uint64_t to, bool up);
void sim_isolate(sim_t *s, uint64_t id);
void sim_heal(sim_t *s);
/* Network reliability. */
void sim_set_faults(sim_t *s, unsigned drop_pct, unsigned dup_pct,
                    unsigned min_delay, unsigned max_delay);
/* Clock skew: node ticks every period units. */
void sim_set_tick_period(sim_t *s, uint64_t id, unsigned period);
/* Wall clocks: node id reads SIM_EPOCH_MS + sim time + skew_ms (any
   value; changing it makes the clock jump, backwards too). */
void sim_set_clock_skew(sim_t *s, uint64_t id, int64_t skew_ms);
uint64_t sim_clock(sim_t *s, uint64_t id);
/* Time stamped on entry index in node id's log, 0 if absent. */
uint64_t sim_time_at(sim_t *s, uint64_t id, uint64_t index);

/* Adds a node with an empty configuration (it waits to be contacted);
   returns its id. */
uint64_t sim_add_node(sim_t *s);
/* Asks the node to compact (snapshot at commit; the disk then drops the
   entries the snapshot covers). */
int sim_compact(sim_t *s, uint64_t id);

rl_raft_t *sim_raft(sim_t *s, uint64_t id);
/* Carries out node id's ready batches (after calling its core directly). */
void sim_flush(sim_t *s, uint64_t id);
/* Delivers msg to node id now, as if from msg->from. */
void sim_deliver(sim_t *s, uint64_t id, const rl_msg_t *msg);
void sim_status(sim_t *s, uint64_t id, rl_raft_status_t *st);
const sim_stats_t *sim_stats(sim_t *s);
void sim_stats_reset(sim_t *s);
unsigned sim_node_count(sim_t *s);
uint64_t sim_now(sim_t *s);
/* Highest term any node reached. */
uint64_t sim_max_term(sim_t *s);
/* Final checks: heal, restart all, settle, every acknowledged entry is in
   every live node's committed log; producers' batches appear once (as
   sim_propose makes them: one entry each, so a test proposing larger
   producer batches through the core must not call this). The same for
   every group of the catalog; then each of them takes group 0's committed
   configuration (mirror.c), and every member of group 0 hosts exactly
   group 0 and the catalog's groups. */
void sim_final_check(sim_t *s);

/* Named logs: the same calls for any group (the ones above are for
   group 0). A node hosts group g >= 1 once its host was handed the
   creation of g's log (and until its deletion); each node's host also
   keeps node-level liveness (sim_options_t.quiesce) and mirrors group
   0's committed configuration into the groups it leads (mirror.c). */
bool sim_hosts(sim_t *s, uint64_t id, uint64_t group);

/* MEMBERS remove as a node takes it (rl_group_requests.c): BUSY while a
   log of leader's committed catalog is not hosted on leader, or cannot
   do without gone as of its committed configuration
   (rl_raft_removal_check); else rl_raft_remove_member on leader's group
   0. Flush leader afterwards. */
int sim_remove_member(sim_t *s, uint64_t leader, uint64_t gone);
rl_raft_t *sim_group_raft(sim_t *s, uint64_t id, uint64_t group);
void sim_group_status(sim_t *s, uint64_t id, uint64_t group,
                      rl_raft_status_t *st);
uint64_t sim_group_leader(sim_t *s, uint64_t group);
uint64_t sim_group_wait_leader(sim_t *s, uint64_t group, unsigned max);
bool sim_group_wait_commit(sim_t *s, uint64_t group, uint64_t index,
                           unsigned max);
int sim_group_propose(sim_t *s, uint64_t id, uint64_t group, uint64_t value,
                      uint64_t producer, uint64_t seq, rl_raft_proposal_t *out);
uint64_t sim_group_propose_leader(sim_t *s, uint64_t group, uint64_t value,
                                  unsigned max);
uint64_t sim_group_committed_term(sim_t *s, uint64_t group, uint64_t index);
size_t sim_group_acked(sim_t *s, uint64_t group);
uint64_t sim_group_term_at(sim_t *s, uint64_t id, uint64_t group,
                           uint64_t index);
int sim_group_compact(sim_t *s, uint64_t id, uint64_t group);
void sim_group_flush(sim_t *s, uint64_t id, uint64_t group);
/* Random numbers from the simulation's PRNG (for fault schedules). */
uint64_t sim_random(sim_t *s, uint64_t below);
/* Counts committed NORMAL entries with this value in node id's log. */
unsigned sim_count_value(sim_t *s, uint64_t id, uint64_t value);
/* Term of entry index in node id's log, 0 if absent. */
uint64_t sim_term_at(sim_t *s, uint64_t id, uint64_t index);

#endif

/*  raft.h - the Raft core of raftlog: a pure state machine, libc only.

    The core has no sockets, clock, files or threads. The host (the node
    daemon, or the simulator in tests/sim) feeds it inputs and carries out
    what it asks for:

      inputs   rl_raft_set_clock()   the wall clock, before the others
               rl_raft_tick()        one unit of logical time (not needed
                                     while rl_raft_quiet(): quiesce.c)
               rl_raft_wake()        the host woke a quiet group
               rl_raft_campaign_soon()  a new group's first leader:
                                     campaign at the next tick
               rl_raft_step()        a peer message received
               rl_raft_propose()     a batch of user entries (leader only)
               rl_raft_consumer_commit(), rl_raft_consumer_reset(),
               rl_raft_consumer_delete()  durable consumers (leader only)
               rl_raft_log_create(), rl_raft_log_delete(),
               rl_raft_log_configure()  the catalog of named logs
                                     (leader of group 0 only)
               rl_raft_add_member(), rl_raft_remove_member(),
               rl_raft_transfer()    admin calls (leader only)
               rl_raft_persisted()   entries durable up to (index, term)
               rl_raft_compact()     take a snapshot at the commit index
      output   rl_raft_ready()       a batch of work, see below

    The model is etcd-io/raft's Ready and cowsql/raft's step: every input
    adds to a pending batch; the host takes it with rl_raft_ready() and
    must carry it out, IN THIS ORDER, before its next input call:

      1. snapshot  (ready.snapshot, when ready.snapshot_install is true)
                   Replace the whole log by the snapshot: drop every entry,
                   the next entry will be last_index + 1. Store the snapshot
                   durably (it is the restart point).
      2. hard state (ready.hard_state_changed) Write term and vote durably
                   (fsync) BEFORE any message of this batch is sent: a vote
                   or a term that is sent but forgotten by a crash lets a
                   server vote twice in one term (paper 5.2, Fig. 2
                   "persistent state ... updated before responding").
      3. entries   Delete every entry with index >= entries[0].index (a
                   follower's conflicting suffix, paper 5.3), then append
                   the entries. They must be readable through the log view
                   before the next input call. They need NOT be durable
                   yet: when the host's fsync completes it calls
                   rl_raft_persisted(). The core never counts or
                   acknowledges an entry before that call, so the leader
                   may send AppendEntries for entries it has not yet synced
                   (thesis 10.2.1) and followers reply only once durable.
      4. messages  Send them (any order; the network reorders anyway). A
                   message is never sent before step 2, which is where
                   implementations most often go wrong.
      5. commit    Entries up to ready.commit are committed; those in
                   (ready.commit_from, ready.commit] are newly so. Read them
                   through the log view; answer the clients whose entries
                   they are (compare the term returned by propose).
      6. a taken snapshot (ready.snapshot_taken): store it; entries up to
                   its last_index may then be dropped from the log, at any
                   later time.

    Log storage. The core does NOT keep the log: it reads entries and terms
    through a read-only view supplied by the host (rl_raft_log_view_t),
    which the file log implements in production and the simulator in
    memory. Entries the core appended since the last rl_raft_ready() are
    held by the core (they are in the pending batch) and read from there;
    everything older must be readable through the view. So the core holds
    at most one batch of payloads, never the log.

    Restart. rl_raft_new() takes the durable hard state, the latest
    snapshot (or the bootstrap members) and the view; everything the view
    holds then counts as durable (the host syncs its log on open). The
    commit index is not persisted: it restarts at the snapshot and is
    learnt again from the leader. Installing a received snapshot is
    synchronous (rule 1): there is no separate acknowledgement, the reply
    that says "done" is in the same batch and sent after it.

    Ownership. Inputs are borrowed for the call: the core copies what it
    keeps. Everything rl_raft_ready() hands out (entries, messages,
    snapshot) belongs to the core and stays valid until the next call of
    rl_raft_ready() or rl_raft_destroy(). Entries returned by the view are
    borrowed by the core until the next view call.

    Entry timestamps. The core reads no clock: the host passes its wall
    clock (ms since the Unix epoch) with rl_raft_set_clock() before its
    input calls, at least before each tick, step and proposal. A leader
    stamps every entry it appends (user batches, its no-op,
    configuration and consumer entries) with max(clock, time of its last
    entry), so times never decrease along a log, across leader changes
    too (the proof is at rl_raft_append_local in replication.c), even
    when clocks are skewed or step back. Followers keep the leader's
    stamps. The host stores entry.time with the entry and returns it
    through the view: the core reads the last entry's time back after a
    restart and the time of a snapshot's last entry when compacting.

    Durable consumers. A consumer's position (the last index it has
    processed) is replicated state, like producer sessions: CONSUMER
    entries, applied in log order when committed, make the committed table
    (name -> index) that rl_raft_consumers() and
    rl_raft_consumer_position() read on any server, as of its commit
    index; snapshots carry it. See consumers.c for the rules.

    The catalog of named logs. Every named log is a Raft group of its
    own; group 0 (the `default` log) holds the catalog: which logs exist,
    their group ids and settings. CATALOG entries (create, delete,
    configure), applied in log order when committed, make the committed
    catalog that rl_raft_logs() reads on any server of group 0, as of its
    commit index; snapshots carry it. A new log's group id is assigned
    when its creation is applied (the next id; ids are never reused). Each
    creation committed, deletion and change of settings is handed to the
    host in ready.log_changes once it is committed AND durable on this
    server, so that the host creates or destroys the log's group then.
    See catalog.c for the rules and raft.h "Hosting groups" below for what
    the host does with them.

    Hosting groups (what a host of named logs does; the simulator in
    tests/sim does the same). Every server hosts one core per group:
    group 0 always, group G from when the creation of its log is handed
    out in ready.log_changes of group 0 until its deletion is.
    - Routing: every message a core hands out names its group (msg.group,
      the `group` key on the wire); the host gives a received message to
      its core of that group and drops it when it hosts none (not created
      here yet, or deleted: Raft's retries make up for it).
    - Create: a core with cfg.group = G, an empty log, and as bootstrap
      members rl_raft_log_members(&log, group 0's members) (a server not
      among them waits to be added, as any new server does). Its directory
      and files must be durable before anything is written in them. On
      the server rl_raft_log_first_leader(&log) names, call
      rl_raft_campaign_soon() on the new core, so that the group has a
      leader about a tick after its creation commits instead of after an
      election timeout (not for a group reopened at start, or created
      from a snapshot's catalog: it is not new, and likely has a leader).
    - Delete: destroy the core and its data.
    - Configure: apply the new settings.
    - Idempotence. After a restart, group 0's commit index restarts at
      its snapshot and changes after it are handed out again: the host
      opens every group it finds on disk at start, creates a group only
      when it hosts none with that id, and never creates again one it
      has deleted: it keeps, durably, the highest group id it ever
      hosted, and ignores a creation at or below it (ids are assigned in
      log order, and the host creates groups in increasing id order, so
      such a group was hosted here once and since deleted; without this a
      log created and deleted after group 0's snapshot would come back,
      empty, after a restart). At start it also creates the groups of the
      committed catalog (rl_raft_logs(), as of the snapshot) it lacks,
      above that id, in increasing id order.
    - A snapshot installed in group 0 (ready.snapshot_install) replaces
      the catalog: create the groups it lists that are missing (above
      that id, in increasing id order), destroy those it no longer lists.
      This is safe because changes are handed out only once durable here:
      a group this server created is never older than its committed,
      durable log, which the snapshot only moves past.
    - Membership: changes are made in group 0; the leader of every other
      group mirrors group 0's committed configuration into its own, one
      change at a time (rl_raft_mirror(), at its ticks), never one older
      than it mirrored before; group 0's leader removes a member only
      once every log's committed configuration can do without it
      (rl_raft_removal_check()).
    - Leaders of named logs are members of group 0: in a group G >= 1 the
      host drops APPEND, SNAPSHOT and TIMEOUT_NOW from a node that is in
      neither group 0's latest nor its committed configuration (here), and
      wakes a quiet follower of G whose leader is such a node. A node
      removed from group 0 never learns it (Raft stops sending to it when
      the removal is appended), so if it leads a group it would never
      mirror its own removal; this way it loses its followers, steps down
      (CheckQuorum) and a leader that knows group 0 takes over. The host
      also drops PREVOTE and VOTE from a node that is not in group 0's
      latest configuration (here): such a node could still win, append
      its no-op where no member takes it, and then, in a group whose
      quorum needs it (two voters), refuse every other candidate (its
      log is ahead) for ever. Its answers to others' requests still
      count. Dropping messages is always safe.
    - Quiet groups (cfg.quiesce): see rl_raft_quiet(); the host ticks only
      cores that are not quiet, keeps node-level liveness and wakes them.

    Tracing. An optional callback (rl_raft_config_t.trace) gets a line of
    text for each notable event, with a level: what a host should log.

    Errors. Functions return 0 (RL_OK) or an rl_error_t code from rl_msg.h,
    or RL_RAFT_NOT_LEADER. Allocation failure returns RL_ERR_INTERNAL and
    leaves the core usable; nothing received from the network is asserted:
    invalid messages are ignored.
*/
#ifndef RL_RAFT_H
#define RL_RAFT_H

#include "rl_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returned by proposals and admin calls on a server that is not the leader
   (or a leader handing over): the host answers RL_MSG_NOT_LEADER with the
   leader id it got back. Outside the wire range of rl_error_t on purpose. */
#define RL_RAFT_NOT_LEADER 100

/* Terms a message may carry. Honest terms grow by one per election, so no
   cluster comes near 2^48 (an election every millisecond for 8,900
   years), while a forged term at the edge of uint64_t would leave no term
   to campaign in: messages above the maximum are dropped, and so are
   those more than RL_RAFT_MAX_TERM_JUMP ahead of this server's term (a
   node restarted empty, at term 0, still follows any real cluster). */
#define RL_RAFT_MAX_TERM      (UINT64_C(1) << 48)
#define RL_RAFT_MAX_TERM_JUMP (UINT64_C(1) << 32)

/* Durable consumers: a name is 1..RL_RAFT_CONSUMER_NAME_MAX bytes of
   [a-z0-9._-]. Whatever cfg.max_consumers says, no table holds more than
   RL_RAFT_CONSUMER_LIMIT consumers: the bound every server applies
   entries with, so that servers configured with different max_consumers
   still derive the same table. */
#define RL_RAFT_CONSUMER_NAME_MAX 64
#define RL_RAFT_CONSUMER_LIMIT    65536

/* The catalog of named logs (catalog.c): a name is
   1..RL_RAFT_LOG_NAME_MAX bytes of [a-z0-9._-], `default` excepted (the
   log of group 0, which always exists and is not in the catalog). Whatever
   cfg.max_logs says, no catalog holds more than RL_RAFT_LOG_LIMIT logs:
   the bound every server applies entries with. Retention settings are at
   most RL_RAFT_LOG_RETENTION_MAX (they fit a signed 64-bit integer, so a
   host can add and subtract them from times and offsets). */
#define RL_RAFT_LOG_NAME_MAX      64
#define RL_RAFT_LOG_LIMIT         10000
#define RL_RAFT_LOG_RETENTION_MAX ((uint64_t)INT64_MAX)
#define RL_RAFT_DEFAULT_LOG       "default"

/* Levels of the core's trace lines (rl_raft_config_t.trace). */
typedef enum {
    RL_RAFT_TRACE_WARN = 0, /* input refused or data lost: tell operators */
    RL_RAFT_TRACE_INFO = 1, /* elections, role changes */
    RL_RAFT_TRACE_DEBUG = 2 /* for developers */
} rl_raft_trace_level_t;

typedef struct rl_raft rl_raft_t;

typedef enum {
    RL_RAFT_FOLLOWER = 0,      /* follows a leader or waits for one */
    RL_RAFT_PRE_CANDIDATE = 1, /* asking for pre-votes (thesis 9.6) */
    RL_RAFT_CANDIDATE = 2,     /* asking for votes (paper 5.2) */
    RL_RAFT_LEADER = 3         /* the leader of its term */
} rl_raft_role_t;

/* The read-only log view the host supplies. Indexes are positions in the
   log; the view holds entries first_index()..last_index() (empty when
   first > last). Every function gets ctx. */
typedef struct {
    void *ctx; /* the host's log object */
    /* First retained index (a snapshot's last_index + 1, or 1). */
    uint64_t (*first_index)(void *ctx);
    /* Last index written (not necessarily durable), 0 when empty. */
    uint64_t (*last_index)(void *ctx);
    /* Term of the entry at index in first..last; 0 on success. */
    int (*term_at)(void *ctx, uint64_t index, uint64_t *term);
    /* Entries from index `from` (first <= from <= last) into out[], at
       most max_count and about max_bytes of data, but at least one. Data
       is borrowed until the next call on the view. Sets *count; 0 on
       success. */
    int (*read)(void *ctx, uint64_t from, size_t max_count, size_t max_bytes,
                rl_entry_t *out, size_t *count);
} rl_raft_log_view_t;

/* A snapshot: the retention boundary and the state below it. */
typedef struct {
    uint64_t last_index;  /* the log is replaced up to this index */
    uint64_t last_term;   /* term of that entry */
    rl_member_t *members; /* configuration as of last_index */
    size_t member_count;  /* number of members */
    const uint8_t *data;  /* the replicated state below last_index (time
                             of its entry, producers, consumers): see
                             snapshot_data.c */
    size_t size;          /* bytes of data */
} rl_raft_snapshot_t;

/* A message with its destination. */
typedef struct {
    uint64_t to;  /* destination node id */
    rl_msg_t msg; /* the message; msg.from is this server */
} rl_raft_envelope_t;

/* Configuration and restored state for rl_raft_new(). */
typedef struct {
    uint64_t id;              /* this server, never 0 */
    rl_str_t cluster;         /* cluster id copied into peer messages */
    uint64_t seed;            /* PRNG seed for election timeouts */
    unsigned election_ticks;  /* election timeout (base), e.g. 10 */
    unsigned heartbeat_ticks; /* heartbeat interval, < election_ticks */
    bool pre_vote;            /* thesis 9.6 */
    bool check_quorum;        /* thesis 6.2 and 9.6 leader lease */
    size_t max_inflight;      /* APPEND in flight per follower, >= 1 */
    size_t max_batch_bytes;   /* data bytes per APPEND, about */
    size_t max_batch_entries; /* entries per APPEND */
    size_t max_uncommitted;   /* leader: uncommitted bytes before BUSY */
    size_t max_producers;     /* producer sessions kept */
    size_t max_consumers;     /* durable consumers a leader lets exist,
                                 at most RL_RAFT_CONSUMER_LIMIT (0: none) */
    size_t max_logs;          /* named logs a leader of group 0 lets exist,
                                 at most RL_RAFT_LOG_LIMIT (0: none) */
    bool quiesce;             /* idle groups go quiet (quiesce.c); off by
                                 default: the host must then keep
                                 node-level liveness and wake them */
    uint64_t group;           /* the group this core is (0: the default
                                 log, which holds the catalog); stamped on
                                 every message it sends (msg.group), and a
                                 received message of another group is
                                 dropped */
    size_t snapshot_chunk;    /* bytes per SNAPSHOT chunk */
    rl_raft_log_view_t view;  /* the log, see above */
    uint64_t term;            /* restored hard state: term */
    uint64_t vote;            /* restored hard state: vote */
    const rl_raft_snapshot_t *snapshot; /* restored snapshot, or NULL: then
                                           members is the bootstrap
                                           configuration */
    const rl_member_t *members;         /* bootstrap configuration (empty for a
                                           server that will be added later) */
    size_t member_count;                /* number of bootstrap members */
    uint64_t mirrors; /* a named log's group: the index of its create
                         entry in group 0 (its bootstrap members are group
                         0's configuration as of it: what they mirror,
                         rl_raft_mirror); 0 in group 0 */
    /* The host's address book: servers this one hears besides the
       members of its configurations (a server waiting to be added learns
       of the cluster from them). At most RL_MAX_MEMBERS. */
    const uint64_t *known;
    size_t known_count; /* number of ids in known */
    /* Optional tracer: one line of text per notable event (a refused
       message, a follower that lost data, an election), for logs and
       debugging. Called during input calls; text is valid for the call. */
    void (*trace)(void *ctx, int level, const char *text);
    void *trace_ctx; /* passed to trace */
} rl_raft_config_t;

/* The settings of a named log. The core only validates and replicates
   them; the host enforces them. */
typedef struct {
    uint64_t retention_bytes; /* bytes kept (0: keep all), at most
                                 RL_RAFT_LOG_RETENTION_MAX */
    uint64_t retention_ms;    /* age kept (0: no limit), at most
                                 RL_RAFT_LOG_RETENTION_MAX */
    uint32_t max_entry_bytes; /* largest entry (0: the node's --max-entry),
                                 at most RL_MAX_ENTRY_SIZE */
} rl_raft_log_settings_t;

/* One named log of the committed catalog. */
typedef struct {
    char name[RL_RAFT_LOG_NAME_MAX + 1]; /* NUL-terminated */
    uint64_t group;                      /* its Raft group, >= 1 */
    rl_raft_log_settings_t settings;     /* as last configured */
    uint64_t created;                    /* index of its create entry */
    /* Group 0's configuration as of `created`: the log's group starts
       with it on every server (its bootstrap members), so that all derive
       the same. Ids and voter flags only: endpoints are group 0's. */
    size_t member_count;                 /* number of members */
    uint64_t member_ids[RL_MAX_MEMBERS]; /* their ids */
    bool member_voters[RL_MAX_MEMBERS];  /* voter flags */
} rl_raft_log_info_t;

/* What a committed CATALOG entry did. */
typedef enum {
    RL_RAFT_LOG_CREATE = 1,   /* a new log: create its group */
    RL_RAFT_LOG_DELETE = 2,   /* a log deleted: destroy its group */
    RL_RAFT_LOG_CONFIGURE = 3 /* a log's settings changed */
} rl_raft_log_verb_t;

/* One change of the committed catalog, as the host gets it. */
typedef struct {
    uint8_t verb;           /* rl_raft_log_verb_t */
    uint64_t index;         /* index of the CATALOG entry */
    rl_raft_log_info_t log; /* the log after the change (delete: as it
                               was, its group now gone) */
} rl_raft_log_change_t;

/* The work rl_raft_ready() hands out; see the ordering rules above. */
typedef struct {
    bool snapshot_install;              /* 1: install snapshot, replacing log */
    bool snapshot_taken;                /* 6: store snapshot (compaction) */
    const rl_raft_snapshot_t *snapshot; /* the snapshot for 1 or 6 */
    bool hard_state_changed;            /* 2: term or vote changed */
    uint64_t term;                      /* current term */
    uint64_t vote;                      /* vote in that term, 0 for none */
    const rl_entry_t *entries;          /* 3: entries to write */
    size_t entry_count;                 /* number of entries */
    const rl_raft_envelope_t *messages; /* 4: messages to send */
    size_t message_count;               /* number of messages */
    uint64_t commit_from;               /* 5: commit index before this batch */
    uint64_t commit;                    /* 5: commit index now */
    bool role_changed;                  /* role, leader or term changed */
    rl_raft_role_t role;                /* current role */
    uint64_t leader;                    /* known leader, 0 for none */
    /* 5b: changes of the committed catalog (group 0 only), in log
       order, each committed and durable on this server: create or
       destroy the log's group, change its settings. After a snapshot is
       installed (1), the catalog was replaced instead: reconcile with
       rl_raft_logs(). See "Hosting groups" below. */
    const rl_raft_log_change_t *log_changes;
    size_t log_change_count; /* number of changes */
} rl_raft_ready_t;

/* Result of a proposal. */
typedef struct {
    uint64_t first;  /* index of the batch's first entry */
    uint64_t last;   /* index of its last entry */
    uint64_t term;   /* term they were appended in; the append succeeded
                        iff the entry at last has this term once
                        committed */
    bool duplicate;  /* a repeat of the producer's last seq */
    uint64_t leader; /* RL_RAFT_NOT_LEADER: the leader to ask, or 0 */
} rl_raft_proposal_t;

/* A snapshot of the core's state, for status replies and tests. */
typedef struct {
    uint64_t id;                 /* this server */
    rl_raft_role_t role;         /* current role */
    uint64_t term;               /* current term */
    uint64_t vote;               /* vote in this term */
    uint64_t leader;             /* known leader, 0 for none */
    uint64_t commit;             /* commit index */
    uint64_t last_index;         /* last log index */
    uint64_t last_term;          /* its term */
    uint64_t persisted;          /* durable up to here */
    uint64_t snapshot_index;     /* last snapshot's index */
    uint64_t transfer_to;        /* leadership transfer target, 0 for none */
    size_t member_count;         /* servers in the latest configuration */
    bool voter;                  /* this server votes in that configuration */
    bool member;                 /* this server is in that configuration */
    uint64_t dropped_non_member; /* peer messages from non-members */
    uint64_t dropped_bad_term;   /* peer messages with an impossible term */
    size_t consumer_count;       /* consumers in the committed table */
    uint64_t clock;              /* the host's clock, last set */
    uint64_t last_time;          /* time of the last entry */
    uint64_t group;              /* this core's group (cfg.group) */
    size_t log_count;            /* named logs in the committed catalog */
    uint64_t next_group;         /* the id the next log created gets */
    bool quiet;                  /* quiet: not ticking (rl_raft_quiet) */
    bool term_committed;         /* a leader an entry of whose term has
                                    committed: until then its commit index
                                    may lag the cluster's (paper 8), and so
                                    may what it has applied */
} rl_raft_status_t;

/* One durable consumer in the committed table. */
typedef struct {
    char name[RL_RAFT_CONSUMER_NAME_MAX + 1]; /* NUL-terminated */
    uint64_t index; /* last index it processed (0: none yet) */
} rl_raft_consumer_t;

/* Fills cfg with defaults (ticks 10/1, pre_vote and check_quorum on,
   limits: 1024 producers, 1024 consumers); the caller sets id, view and
   the rest. */
void rl_raft_config_defaults(rl_raft_config_t *cfg);

/* Creates a core from its restored state: hard state, snapshot and the log
   view (reads the log after the snapshot once, to rebuild configuration,
   producer and consumer tables and learn the last entry's time). Returns
   NULL and sets *error on failure: RL_ERR_BAD_REQUEST for a bad
   configuration or snapshot data that does not decode. */
rl_raft_t *rl_raft_new(const rl_raft_config_t *cfg, int *error);

/* Destroys the core and nulls *self_p. Idempotent. */
void rl_raft_destroy(rl_raft_t **self_p);

/* The host's wall clock, in milliseconds since the Unix epoch: call it
   before the other input calls (at least before each tick, step and
   proposal; the core uses the value last set). Entries a leader appends
   are stamped max(now_ms, time of the previous entry): a clock that
   steps back, or lags another server's, never makes times decrease along
   the log (it only holds them until the clock catches up), and one far
   ahead drags later stamps with it. Never fails. */
void rl_raft_set_clock(rl_raft_t *self, uint64_t now_ms);

/* One unit of logical time: election timeout, heartbeats, CheckQuorum,
   transfer abort. Does nothing while the core is quiet. */
int rl_raft_tick(rl_raft_t *self);

/* Quiet groups (cfg.quiesce; quiesce.c has the rules and why they are
   safe). An idle leader sends a last heartbeat marked quiesce and stops
   ticking; a caught-up follower that gets it stops too. While
   rl_raft_quiet() is true the host need not tick the core (a tick does
   nothing). Any message wakes it (but the acknowledgements of those
   heartbeats), and so does anything a leader appends or a transfer. The
   host keeps node-level liveness and calls rl_raft_wake() on every quiet
   core whose leader is on a node silent for an election timeout
   (followers: they can then elect another) and on every quiet leader one
   of whose voters is (CheckQuorum then runs). Waking a core that is not
   quiet does nothing. */
bool rl_raft_quiet(const rl_raft_t *self);
void rl_raft_wake(rl_raft_t *self);

/* Campaign soon: the election timeout of a follower that knows no leader
   ends at its next tick instead of after a randomized election_ticks ..
   2*election_ticks (its first leader: rl_raft_log_first_leader). Not at
   once: the other servers create a new group when they apply its
   creation, and a vote request reaching a server that has not yet is
   dropped; a tick later they mostly have. When no one answers its
   requests, it tries again at each of the next two ticks (the others
   learn of the creation by the next heartbeat at the latest). What
   follows is what any timeout brings (election.c): a server that may not
   campaign (not a voter) does not; PreVote first when cfg.pre_vote; a
   campaign lost otherwise is retried after a randomized timeout, as
   always. Does nothing when the core is a leader or candidate, or knows
   a leader; and a tick does not end the timeout early once the core has
   learnt a leader, voted for another candidate or had an answer. Wakes
   the core if it was quiet (the host then ticks it again). Never
   fails. */
void rl_raft_campaign_soon(rl_raft_t *self);

/* A received peer message (borrowed). Invalid or stale messages are
   ignored (returns 0); only allocation failure is an error. Raft's safety
   assumes messages come from members, so a message from a server in
   neither the latest nor the committed configuration nor the host's
   address book (cfg.known) is dropped (counted in
   status.dropped_non_member, traced). One exception, as liveness needs
   it: a lagging server hears a leader's APPEND and SNAPSHOT once a member
   named that leader in a refused vote (it was added by an entry the
   lagging server lacks). A term
   above RL_RAFT_MAX_TERM, or more than RL_RAFT_MAX_TERM_JUMP ahead of
   ours, is dropped too (status.dropped_bad_term). */
int rl_raft_step(rl_raft_t *self, const rl_msg_t *msg);

/* Appends a batch of user entries (data/size of each used, borrowed).
   Leader only: otherwise RL_RAFT_NOT_LEADER with out->leader. With
   producer_id != 0 the append is idempotent: seq equal to the producer's
   last seq returns the original indexes (duplicate), a lower one
   RL_ERR_STALE_SEQUENCE. RL_ERR_BUSY past max_uncommitted (retry later),
   RL_ERR_TOO_LARGE, RL_ERR_BAD_REQUEST for an empty batch. */
int rl_raft_propose(rl_raft_t *self, const rl_entry_t *entries, size_t count,
                    uint64_t producer_id, uint64_t seq,
                    rl_raft_proposal_t *out);

/* Durable consumers, leader only (like propose: RL_RAFT_NOT_LEADER with
   out->leader otherwise). Each appends one CONSUMER entry; out->last is
   its index and out->term its term: the change is made iff the entry at
   out->last has out->term once committed (then answer the client).
   name is borrowed for the call. Errors, in the order checked:
     RL_ERR_BAD_REQUEST  name not 1..64 bytes of [a-z0-9._-]
     RL_ERR_BUSY         this leader has not yet committed an entry of its
                         term (its commit index may lag the cluster's), or
                         uncommitted bytes above max_uncommitted: retry
     RL_ERR_REJECTED     index above the leader's commit index: nothing
                         not yet committed can have been processed
     RL_ERR_STALE_SEQUENCE  commit: index below the consumer's position
                         (as of the leader's last entry): positions never
                         move back but by reset
     RL_ERR_TOO_LARGE    a new name while max_consumers consumers exist:
                         delete one first (no position is ever evicted)
   commit sets the position to index (or keeps a higher one: the applied
   table only ever takes the maximum, whatever the order of entries) and
   creates the consumer if need be; an equal index is accepted (a
   retry). reset sets it to any index up to the commit index, creating
   the consumer if need be. delete removes it; deleting a name that does
   not exist is accepted and changes nothing, so that a retry after a
   leader change is safe (the host may check rl_raft_consumer_position
   first to tell a user that there was no such consumer). */
int rl_raft_consumer_commit(rl_raft_t *self, rl_str_t name, uint64_t index,
                            rl_raft_proposal_t *out);
int rl_raft_consumer_reset(rl_raft_t *self, rl_str_t name, uint64_t index,
                           rl_raft_proposal_t *out);
int rl_raft_consumer_delete(rl_raft_t *self, rl_str_t name,
                            rl_raft_proposal_t *out);

/* The committed position of consumer name (borrowed) on this server, as
   of its commit index: true and *index set when it exists. */
bool rl_raft_consumer_position(const rl_raft_t *self, rl_str_t name,
                               uint64_t *index);

/* The committed consumer table on this server, sorted by name (byte
   order); borrowed until the next input call. */
const rl_raft_consumer_t *rl_raft_consumers(const rl_raft_t *self,
                                            size_t *count);

/* True when name is a valid consumer name (1..64 bytes of [a-z0-9._-]):
   the rule the core applies, for the host to check client input with. */
bool rl_raft_consumer_name_valid(rl_str_t name);

/* The catalog of named logs: leader of group 0 only (RL_RAFT_NOT_LEADER
   with out->leader otherwise, like propose; RL_ERR_REJECTED on a core of
   another group). Each appends one CATALOG entry; the change is made iff
   the entry at out->last has out->term once committed (then answer the
   client). name and settings are borrowed for the call. Errors, in the
   order checked:
     RL_ERR_BAD_REQUEST  name not 1..64 bytes of [a-z0-9._-]; settings
                         out of range (see rl_raft_log_settings_t)
     RL_ERR_REJECTED     name is `default` (it always exists and is not
                         in the catalog); this core is not group 0
     RL_ERR_BUSY         no entry of this leader's term committed yet, or
                         uncommitted bytes above max_uncommitted: retry
     RL_ERR_REJECTED     create: a log of that name exists; delete and
                         configure: none does (as of the leader's last
                         entry)
     RL_ERR_TOO_LARGE    create: max_logs logs exist: delete one first
   The new log's group id is assigned when the entry is applied; the host
   learns it from ready.log_changes or rl_raft_log_find(). settings may
   be NULL for create (all zero: the node's defaults). */
int rl_raft_log_create(rl_raft_t *self, rl_str_t name,
                       const rl_raft_log_settings_t *settings,
                       rl_raft_proposal_t *out);
int rl_raft_log_delete(rl_raft_t *self, rl_str_t name, rl_raft_proposal_t *out);
int rl_raft_log_configure(rl_raft_t *self, rl_str_t name,
                          const rl_raft_log_settings_t *settings,
                          rl_raft_proposal_t *out);

/* The committed catalog on this server (as of its commit index), sorted
   by name (byte order), `default` not included; borrowed until the next
   input call. Empty on a core of another group than 0. */
const rl_raft_log_info_t *rl_raft_logs(const rl_raft_t *self, size_t *count);

/* The committed catalog's log named name (borrowed): true and *log
   filled (when not NULL) when it exists. */
bool rl_raft_log_find(const rl_raft_t *self, rl_str_t name,
                      rl_raft_log_info_t *log);

/* A log's name follows rl_log_name_valid (rl_msg.h: the protocol's rule,
   one for the core, storage, the codec and the clients). `default` is
   valid (it names group 0) but reserved: the catalog calls refuse it. */

/* Membership, one server at a time (thesis 4.1). add_member adds a
   learner; in group 0 the leader promotes it to voter once it has
   caught up (thesis 4.2.1; in a named log's group, rl_raft_mirror does,
   once group 0 has). RL_ERR_BUSY while another change is uncommitted or no
   entry of the leader's term is committed yet (thesis 4.1 and the bug fix
   of the raft-dev list, 2015): retry later. RL_ERR_REJECTED when the id is
   already in (add) or not in (remove) the configuration, for the last
   voter, and in group 0 for the second-last voter while a named log
   exists (the catalog as of the last index): a log's group of two voters
   needs both to remove one, and a node removed from group 0 may never
   cooperate again ("Leaders of named logs are members of group 0"). */
int rl_raft_add_member(rl_raft_t *self, const rl_member_t *member);
int rl_raft_remove_member(rl_raft_t *self, uint64_t id);
/* What rl_raft_remove_member(self, id) would return now, without making
   the change (0: it would propose it). */
int rl_raft_can_remove_member(rl_raft_t *self, uint64_t id);

/* Leadership transfer to target (0: the most up to date voter), thesis
   3.10. Proposals get RL_RAFT_NOT_LEADER until it ends; aborted after an
   election timeout. */
int rl_raft_transfer(rl_raft_t *self, uint64_t target);

/* The host's write of entries up to index (of term) is durable. Ignored
   when the log no longer has that entry (it was truncated since). */
int rl_raft_persisted(rl_raft_t *self, uint64_t index, uint64_t term);

/* Takes a snapshot at the commit index (producer and consumer tables,
   the time of the entry at the snapshot's index, and the configuration,
   as of then), handed out as ready.snapshot_taken; the host stores it
   durably and may then drop the entries it covers. When the commit index
   falls inside a producer's batch the snapshot stops before that batch.
   RL_ERR_BUSY while the commit index is not yet durable here (retry after
   rl_raft_persisted), RL_ERR_REJECTED when there is nothing new. */
int rl_raft_compact(rl_raft_t *self);

/* True when there is work; fills *ready (see the ordering rules above).
   The previous batch's buffers are released. */
bool rl_raft_ready(rl_raft_t *self, rl_raft_ready_t *ready);

/* Current state. */
void rl_raft_status(const rl_raft_t *self, rl_raft_status_t *status);

/* The latest configuration (borrowed until the next call). */
const rl_member_t *rl_raft_members(const rl_raft_t *self, size_t *count);

/* The configuration as of the commit index (borrowed until the next
   call): what the leaders of other groups mirror (mirror.c). */
const rl_member_t *rl_raft_committed_members(const rl_raft_t *self,
                                             size_t *count);

/* Where in this group's log the configuration as of the commit index
   took effect: its CONFIG entry's index (0: the bootstrap members). In
   group 0, what a mirror of it is stamped with (rl_raft_mirror). After a
   restart from a snapshot that does not say (version 2, which group 0
   still writes while no log was ever created, and version 3, written
   before this was kept), the snapshot's index: later, never earlier,
   with no change in between. */
uint64_t rl_raft_committed_config_index(const rl_raft_t *self);

/* In a named log's group: the stamp of its configuration (latest, or as
   of the commit index): where in group 0's log the configuration it
   mirrors took effect (rl_raft_mirror); its create entry's index for its
   bootstrap members; 0 before it ever mirrored with stamps. */
uint64_t rl_raft_config_mirrors(const rl_raft_t *self, bool committed);

/* Mirroring group 0's membership into a named log's group (mirror.c):
   the one change the group needs next to agree with target (group 0's
   committed configuration, rl_raft_committed_members of group 0) given
   current (the group's configuration, rl_raft_members): ADD (*change: the
   member to add, as a learner), REMOVE (*change: the member to remove:
   not in target, or a voter that target has as a learner), PROMOTE
   (*change: the first learner that target has as a voter) or NONE. Pure:
   reads only its arguments. */
typedef enum {
    RL_RAFT_MIRROR_NONE = 0,   /* they agree */
    RL_RAFT_MIRROR_ADD = 1,    /* add *change (a learner; promoted later) */
    RL_RAFT_MIRROR_REMOVE = 2, /* remove *change */
    RL_RAFT_MIRROR_STAMP = 3,  /* (rl_raft_mirror only) the same members
                                  stamped with a later target_at */
    RL_RAFT_MIRROR_PROMOTE = 4 /* promote *change (rl_raft_mirror: a
                                  learner that has caught up) */
} rl_raft_mirror_t;
rl_raft_mirror_t rl_raft_mirror_next(const rl_member_t *target,
                                     size_t target_count,
                                     const rl_member_t *current,
                                     size_t current_count, rl_member_t *change);

/* For a group's leader: makes the change rl_raft_mirror_next names, if
   any (nothing on a follower, or with an empty target), stamping the new
   configuration with target_at (rl_raft_committed_config_index of group
   0: where target took effect). A target older than the group's own
   stamp is this server's stale view of group 0 (it lags the server that
   made the last change) and is ignored: mirroring it could undo a newer
   change, such as remove a voter group 0 has added since. A learner is
   promoted here only (the group's core does not promote on its own),
   once group 0 has it as a voter and it has caught up; a caught-up
   learner is promoted before a removal. When there is no
   other change to make (or only promotions of learners still catching
   up) and target_at is later than the stamp, the same members are
   proposed with the new stamp (STAMP), so that group 0's leader can tell
   the group has caught up (rl_raft_removal_check). Returns the result of
   the change (RL_ERR_BUSY while the previous change is uncommitted, or a
   learner to promote is catching up, that is answering or being sent
   entries: call again at the next tick; one that is down is not waited
   for: calling again every election timeout is enough) and sets *done
   (when not NULL) to the change made. Call it
   for every group this server leads whenever group 0's committed
   configuration may have changed, or periodically; it appends (and so
   wakes a quiet group) only when there is a change to make. */
int rl_raft_mirror(rl_raft_t *group, const rl_member_t *target,
                   size_t target_count, uint64_t target_at,
                   rl_raft_mirror_t *done);

/* For group 0's leader before it removes member gone (a voter or a
   learner): whether a named log's group, as this server hosts it, can
   lose gone. group is the log's committed configuration
   (rl_raft_committed_members) and group_mirrors its stamp
   (rl_raft_config_mirrors); zero is group 0's committed configuration,
   which took effect at zero_at (rl_raft_committed_config_index). SAFE
   when the stamp is zero_at or later, every voter of the group is a
   voter of zero, and, if gone is a voter of zero, the group has two
   voters besides gone and, if gone is also one of the group's, those
   survive as many failures as group 0's voters will (its voters less
   one, halved, at least group 0's after the removal less one, halved).
   Otherwise BEHIND (the stamp is older), OUTSIDER (a voter group 0 does
   not have as one) or TOO_FEW (voters to promote first, or a node the
   group cannot promote to remove first). Pure: reads only its
   arguments.
   Why SAFE is enough: removing a node a log's quorum still needs would
   leave the log without a leader for good, as the removed node no longer
   cooperates ("Leaders of named logs are members of group 0"). A
   committed configuration is never undone, and every later one of the
   log is stamped zero_at or later (rl_raft_mirror ignores older
   targets), so its next changes follow zero or a later configuration of
   group 0: they add learners, promote learners that group 0 has as
   voters (gone among them if it is one), remove gone. Its voters stay
   voters of group 0, those besides gone stay, and a majority of them
   (while up: they survive as many failures as group 0 does) elect a
   leader that removes gone. One window no rule can close: until the log
   has committed gone's removal, its quorum still counts gone, so the
   log survives one failure fewer. Hosts answer BUSY until every log is
   SAFE. */
typedef enum {
    RL_RAFT_REMOVAL_SAFE = 0,     /* the log does without gone */
    RL_RAFT_REMOVAL_BEHIND = 1,   /* not yet stamped as of zero_at */
    RL_RAFT_REMOVAL_OUTSIDER = 2, /* a voter that is no voter of zero */
    RL_RAFT_REMOVAL_TOO_FEW = 3   /* fewer than two voters besides gone,
                                     or they would survive fewer failures
                                     than group 0's voters */
} rl_raft_removal_t;
rl_raft_removal_t rl_raft_removal_check(const rl_member_t *zero,
                                        size_t zero_count, uint64_t zero_at,
                                        uint64_t gone, const rl_member_t *group,
                                        size_t group_count,
                                        uint64_t group_mirrors);

/* The bootstrap members of a named log's group: log's ids and voter
   flags (group 0's configuration as of its creation) with the endpoints
   of the same ids in book (group 0's configuration now; empty when not
   there). out holds RL_MAX_MEMBERS; returns the count. */
size_t rl_raft_log_members(const rl_raft_log_info_t *log,
                           const rl_member_t *book, size_t book_count,
                           rl_member_t *out);

/* The first leader of a named log's new group, the same on every server
   from the catalog alone (no field on the wire or on disk): among the
   voters of its bootstrap members (log->member_ids with
   log->member_voters, what rl_raft_log_members gives), sorted by id, the
   one at position log->group % their count; 0 when it has none. So new
   logs' leaders go round the voters, spread from the start. Pure. The
   host of that server calls rl_raft_campaign_soon() on the group's core
   when it creates the group (a creation handed out in
   ready.log_changes, not a group reopened at start); the others wait for
   their election timeouts, as for any group without a leader. */
uint64_t rl_raft_log_first_leader(const rl_raft_log_info_t *log);

/* Leader's view of a follower's replication (match index), 0 if unknown. */
uint64_t rl_raft_match_of(const rl_raft_t *self, uint64_t id);

/* Name of a role ("leader"). */
const char *rl_raft_role_name(rl_raft_role_t role);

/* The one on-disk encoding of a member list, the one CONFIG entries use
   (docs/RAFT.md): a host stores a snapshot's configuration with it.
   encode: *data is malloc'ed, the caller frees it; RL_ERR_BAD_REQUEST for
   an invalid list. decode: members must hold RL_MAX_MEMBERS; their
   endpoints point into data (borrowed); RL_ERR_BAD_REQUEST when data is
   not a valid encoding. mirrors: the list's stamp (rl_raft_mirror), 0
   for none; decode sets *mirrors when it is not NULL. */
int rl_raft_members_encode(const rl_member_t *members, size_t count,
                           uint64_t mirrors, uint8_t **data, size_t *size);
int rl_raft_members_decode(const uint8_t *data, size_t size,
                           rl_member_t *members, size_t *count,
                           uint64_t *mirrors);

#endif

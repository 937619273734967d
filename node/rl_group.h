/*  rl_group.h - one replicated log on a node: a Raft core, the file log
    it is stored in, and the client requests waiting on them.

    The group is the node's unit of replication. It carries out the core's
    ready batches on the file log and the peer network (the storage glue),
    hands fsyncs and spare segments to the node's helper threads, answers
    the client requests the core settles, and applies retention. The node
    owns what groups would share: the sockets, the event loop, the helper
    threads, the signals, and the registry of its groups (rl_groups.h):
    group 0, the `default` log, and one group per named log, each with
    its own core, file log, producer sessions and pending table.

    The loop's one rule, from the core's header (node/raft/raft.h): after
    every input (tick, peer message, proposal, fsync completion), drain
    rl_raft_ready() and carry out each batch in order: snapshot, hard state
    (synchronously durable), entries (written, synced later by the fsync
    helper), messages, commit. rl_group_drive() does that; call it after
    every input, or after a drained batch of inputs (group commit).

    Everything a client waits for is a pending record (rl_pending.h)
    answered by a commit advance, a role change or its deadline; every
    request gets exactly one reply.

    Errors: a storage failure the group cannot survive (a failed fsync,
    say) is logged with what to do, and makes rl_group_drive() and the
    other inputs return -1; the node then stops with status 1.
*/
#ifndef RL_GROUP_H
#define RL_GROUP_H

#include <czmq.h>

#include "raft.h"
#include "rl_config.h"
#include "rl_front.h"
#include "rl_helper.h"
#include "rl_log.h"
#include "rl_metrics.h"
#include "rl_peers.h"
#include "rl_status.h"

typedef struct rl_group rl_group_t;

/* What the node lends a group; all borrowed, outliving the group. */
typedef struct {
    rl_front_t *front;       /* replies to clients */
    rl_peers_t *peers;       /* messages to peers */
    rl_helper_t *syncer;     /* runs the registry's batches of sync
                                tickets (rl_group_sync_prepare) */
    rl_helper_t *sparer;     /* runs rl_log_spare_run jobs */
    rl_contacts_t *contacts; /* forgotten for members that leave */
    /* Waits for the fsync helper's batch in hand and finishes every
       ticket of it (rl_group_sync_finish on each group), without
       driving: a group whose ticket is in flight calls it before it
       touches its log behind the helper's back (a rebuild, the end). */
    void (*wait_syncs)(void *arg);
    /* Group 0 only: changes of the committed catalog were handed out
       (rl_group_log_changes), called after the core's batches are
       carried out and before the clients they settle are answered, so
       that a log is hosted here by the time its creation is
       acknowledged. */
    void (*catalog_changed)(void *arg);
    /* Group 0 only, before it removes member gone: true when every
       named log can do without it (rl_raft_removal_check); else false,
       with why the first that cannot, and what to do, in why. */
    bool (*removal_safe)(void *arg, uint64_t gone, char *why, size_t why_size);
    void *arg;               /* for all three */
    struct rl_group *group0; /* the default log's group: a named log
                                finds members' endpoints there */
} rl_group_links_t;

/* Which group a node opens, and how. */
typedef struct {
    const char *name;                /* its log's name ("default": group 0) */
    uint64_t id;                     /* its group id */
    const char *dir;                 /* its log's directory */
    bool create;                     /* create the log's files when missing */
    const rl_member_t *boot;         /* a named log: its bootstrap members */
    size_t boot_count;               /* (group 0: the --member flags) */
    uint64_t boot_mirrors;           /* a named log: its create entry's
                                        index (rl_raft_config_t.mirrors) */
    const uint64_t *known;           /* ids heard besides the configuration's */
    size_t known_count;              /* (group 0: the --member flags) */
    rl_raft_log_settings_t settings; /* a named log's settings */
} rl_group_spec_t;

/* Opens the group's log directory (creating the log when spec->create)
   and restores the core from it. config is borrowed and must outlive
   the group; spec is borrowed for the call; io is the log's system calls
   (NULL: libc). Returns NULL with one line in err (512 bytes). No
   socket is touched: call rl_group_attach() before any input. */
rl_group_t *rl_group_new(const rl_config_t *config, const rl_group_spec_t *spec,
                         const rl_io_t *io, char *err);

/* Lends the group the node's sockets and helpers. */
void rl_group_attach(rl_group_t *self, const rl_group_links_t *links);

/* Waits for the helpers' jobs in hand, frees everything (waiting clients
   get no answer: see rl_group_finish) and nulls *self_p. Idempotent. */
void rl_group_destroy(rl_group_t **self_p);

/* ---- Inputs ---- */

/* Drains the core (every ready batch carried out), answers what the
   commit settled, and starts the next fsync. 0, or -1 when fatal. */
int rl_group_drive(rl_group_t *self);

/* A peer message for the core (borrowed). Drive afterwards. Returns false
   when the core refused it (a sender that is not a member, an impossible
   term: raft.h rl_raft_step), true when it was heard. */
bool rl_group_step(rl_group_t *self, const rl_msg_t *msg);

/* One heartbeat's worth of logical time, then drive. 0 or -1. */
int rl_group_tick(rl_group_t *self);

/* A named log's leader makes the next change that brings its group's
   configuration to target (group 0's committed one, which took effect at
   target_at in group 0's log), one at a time: learners first, promoted
   once caught up, then removals, or the same members stamped target_at
   (raft.h rl_raft_mirror). True when it made one, or one waits for the
   previous to commit: drive, and call again at the next tick. */
bool rl_group_mirror(rl_group_t *self, const rl_member_t *target, size_t count,
                     uint64_t target_at);

/* Starts a leadership transfer to target (leader spreading). Drive
   afterwards. */
void rl_group_handover(rl_group_t *self, uint64_t target);

/* The core is quiet (a named log idle: raft.h rl_raft_quiet): it needs
   no tick until something wakes it. */
bool rl_group_quiet(const rl_group_t *self);

/* Client requests wait in the group (their deadlines need sweeps). */
bool rl_group_has_pending(const rl_group_t *self);

/* Nothing to do until an input comes: quiet, no request waiting, its log
   durable, no helper job in hand. The registry keeps the groups that are
   not idle in a list of its own (its flag: rl_group_active_mark), so
   that a thousand idle logs cost no scans. */
bool rl_group_idle(const rl_group_t *self);
bool *rl_group_active_mark(rl_group_t *self);

/* Group commit across logs: at the end of a loop turn the registry asks
   every group for its ticket (the written-but-not-durable entries),
   NULL when it has none, and hands them all to the fsync helper in one
   batch. */
rl_log_sync_ticket_t *rl_group_sync_prepare(rl_group_t *self);
/* The helper ran this group's ticket with result: accounts for it
   (fatal when it failed). No drive. 0 or -1. */
int rl_group_sync_finish(rl_group_t *self, int result);
/* After rl_group_sync_finish: tells the core what is durable, drives. */
int rl_group_synced(rl_group_t *self);
/* True while this group's ticket is with the helper. */
bool rl_group_sync_in_flight(const rl_group_t *self);

/* The spare maker finished this group's job (rl_group_spare_in_flight). */
void rl_group_spared(rl_group_t *self);
bool rl_group_spare_in_flight(const rl_group_t *self);

/* Housekeeping at now (the node's sweep): answers requests past their
   deadline, hands leadership over when the disk stalls or is low,
   applies retention, keeps a spare segment coming. 0 or -1. */
int rl_group_sweep(rl_group_t *self, int64_t now);

/* Free space on the disk, as the node last saw it: low refuses appends
   with NO_SPACE and makes a leader hand over. */
void rl_group_set_disk(rl_group_t *self, bool low, uint64_t free_bytes);

/* The node is stopping: no more spares; a leader hands leadership over
   (then drive). 0 or -1. */
int rl_group_stop(rl_group_t *self);

/* At the end: finishes the helpers' jobs in hand, syncs the log, and
   answers every waiting client SHUTTING_DOWN. 0, or -1 when the last sync
   failed. */
int rl_group_finish(rl_group_t *self);

/* ---- Client requests (the envelope is taken over and nulled) ---- */

void rl_group_append(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg);
/* held is what the node holds for the request's client (NULL: unknown):
   a long poll is parked there, within the per-client and total caps. */
void rl_group_read(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg,
                   rl_front_held_t *held);

/* A client went away: its parked long poll *p_p, taken out of this
   group's table (rl_pending_take_owned; rl_groups_release finds each
   record's group), is dropped unanswered and freed; nulls *p_p. */
struct rl_pending;
void rl_group_release(rl_group_t *self, struct rl_pending **p_p);
void rl_group_members(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg);
/* Durable consumers: CONSUMER_COMMIT and CONSUMERS_REQUEST (the leader
   answers; a follower says NOT_LEADER). */
void rl_group_consumer_commit(rl_group_t *self, zmsg_t **envelope,
                              const rl_msg_t *msg);
void rl_group_consumers(rl_group_t *self, zmsg_t **envelope,
                        const rl_msg_t *msg);
void rl_group_transfer(rl_group_t *self, zmsg_t **envelope,
                       const rl_msg_t *msg);

/* LOGS_REQUEST, on group 0 (it holds the catalog): list answered from
   the committed catalog; create, delete and configure by the leader,
   once committed. */
void rl_group_logs(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg);

/* For group 0 on a node that is not its leader: answers a request for a
   log this node does not host with NOT_LEADER naming group 0's leader
   (which knows the committed catalog) and echoing log. */
void rl_group_redirect_to_catalog(rl_group_t *self, zmsg_t **envelope,
                                  uint64_t id, rl_str_t log);

/* The group's log was deleted: its helpers' jobs are finished and every
   waiting client gets NOT_FOUND. Destroy it next. */
void rl_group_deleted(rl_group_t *self);

/* ---- Named logs ---- */

/* Applies a named log's new settings (retention, max entry). */
void rl_group_configure(rl_group_t *self,
                        const rl_raft_log_settings_t *settings);

/* Group 0: the catalog changes handed out since the last
   rl_group_log_changes_clear (in log order), and whether a snapshot
   replaced the catalog meanwhile (then reconcile with rl_raft_logs). */
const rl_raft_log_change_t *rl_group_log_changes(const rl_group_t *self,
                                                 size_t *count, bool *replaced);
void rl_group_log_changes_clear(rl_group_t *self);

/* ---- State ---- */

/* The role the core last reported. */
rl_raft_role_t rl_group_role(const rl_group_t *self);

/* The endpoint of member id (peer: its peer endpoint, else its client
   one): from the --member flags, else the group's configuration, else
   group 0's. False when unknown. */
bool rl_group_endpoint(const rl_group_t *self, uint64_t id, bool peer,
                       char *out, size_t size);

/* The group's core (for the registry: catalog, membership, quiet). */
rl_raft_t *rl_group_raft(rl_group_t *self);
/* Its id, its log's name, its log's directory. */
uint64_t rl_group_id(const rl_group_t *self);
const char *rl_group_name(const rl_group_t *self);
const char *rl_group_dir(const rl_group_t *self);
/* Fills the group's line of STATUS_OK's `logs` (name, role borrowed). */
void rl_group_describe(rl_group_t *self, rl_log_desc_t *out);

/* What a group counts for /metrics beyond STATUS (rl_node_metrics.h).
   Pointers are into the group, valid until its next input. */
typedef struct {
    const rl_histogram_t *append_latency; /* accepted to APPEND_OK, us */
    const rl_histogram_t *fsync_latency;  /* each fdatasync ticket, us */
    uint64_t not_leader;                  /* NOT_LEADER replies */
    uint64_t snapshots_sent;      /* snapshot transfers begun (chunk 0) */
    uint64_t snapshot_bytes_sent; /* chunk bytes sent */
    uint64_t snapshots_received;  /* snapshots installed from a leader */
    uint64_t snapshots_taken;     /* snapshots of its own (retention) */
    uint64_t durable_index;       /* last index on disk (fsynced) */
    uint64_t segments;            /* segment files of the log */
    uint64_t log_bytes;           /* bytes of log on disk */
    int64_t sync_running_us;      /* age of the fsync in flight, 0: none */
    bool failed;                  /* a fatal storage error */
} rl_group_metrics_t;

/* Fills *out at now_us (zclock_usecs). */
void rl_group_metrics(rl_group_t *self, rl_group_metrics_t *out,
                      int64_t now_us);

/* Fills the group's part of a STATUS: core, configuration (with each
   member's match index in match, RL_MAX_MEMBERS slots), log, fsync
   latencies and the group's counters. */
void rl_group_status(rl_group_t *self, rl_status_input_t *in, uint64_t *match);

#endif

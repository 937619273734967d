/*  rl_group.h - one replicated log on a node: a Raft core, the file log
    it is stored in, and the client requests waiting on them.

    The group is the node's unit of replication. It carries out the core's
    ready batches on the file log and the peer network (the storage glue),
    hands fsyncs and spare segments to the node's helper threads, answers
    the client requests the core settles, and applies retention. The node
    owns what groups would share: the sockets, the event loop, the helper
    threads, the signals. Today a node has one group; named logs would
    give it one per log, each with its own core, file log and pending
    table.

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
    rl_helper_t *syncer;     /* runs rl_log_sync_run tickets */
    rl_helper_t *sparer;     /* runs rl_log_spare_run jobs */
    rl_contacts_t *contacts; /* forgotten for members that leave */
} rl_group_links_t;

/* Opens the data directory (creating it when new) and restores the core
   from it. config is borrowed and must outlive the group; io is the
   log's system calls (NULL: libc). Returns NULL with one line in err (512
   bytes). No socket is touched: call rl_group_attach() before any
   input. */
rl_group_t *rl_group_new(const rl_config_t *config, const rl_io_t *io,
                         char *err);

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

/* The fsync helper finished the ticket it had; then drive. 0 or -1. */
int rl_group_synced(rl_group_t *self);

/* The spare maker finished its job. */
void rl_group_spared(rl_group_t *self);

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

/* The client of held went away: its parked long polls are dropped
   unanswered (rl_front_gone_fn). */
void rl_group_release(rl_group_t *self, rl_front_held_t *held);
void rl_group_members(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg);
/* Durable consumers: CONSUMER_COMMIT and CONSUMERS_REQUEST (the leader
   answers; a follower says NOT_LEADER). */
void rl_group_consumer_commit(rl_group_t *self, zmsg_t **envelope,
                              const rl_msg_t *msg);
void rl_group_consumers(rl_group_t *self, zmsg_t **envelope,
                        const rl_msg_t *msg);
void rl_group_transfer(rl_group_t *self, zmsg_t **envelope,
                       const rl_msg_t *msg);

/* ---- State ---- */

/* The role the core last reported. */
rl_raft_role_t rl_group_role(const rl_group_t *self);

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

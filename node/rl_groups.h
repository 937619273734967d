/*  rl_groups.h - the registry of a node's groups: group 0 (the `default`
    log, which holds the catalog of named logs and the cluster's
    membership) and one group per named log (rl_group.h), each its own
    Raft group with its own core, file log (DATA/logs/NAME), producer
    sessions and waiting clients.

    Hosting (raft.h, "Hosting groups"): a group is created here when the
    creation of its log is handed out committed in group 0
    (ready.log_changes), destroyed, and its directory deleted, when the
    deletion is; at start every log directory on disk is opened and the
    logs of group 0's committed catalog missing here are created. The
    highest group id ever hosted is kept durably, and a creation at or
    below it is ignored: such a group was hosted here and deleted since.

    What the registry does for all groups at once: routes peer messages
    by their `group` (a group not hosted drops them: Raft retries), drives
    the groups that had input in a loop turn, and then runs one fsync
    pass for every log written in that turn (group commit across logs: the
    helper thread gets one batch of tickets), ticks and sweeps them.

    One thread (the node's loop) owns it, like everything in a node.
*/
#ifndef RL_GROUPS_H
#define RL_GROUPS_H

#include "rl_group.h"

typedef struct rl_groups rl_groups_t;

/* Opens group 0 and every named log on disk, then creates those of the
   committed catalog (as of group 0's snapshot) missing here. config is
   borrowed and must outlive the registry. NULL with one line in err
   (512 bytes). */
rl_groups_t *rl_groups_new(const rl_config_t *config, const rl_io_t *io,
                           char *err);

/* Lends every group (now and later) the node's sockets and helpers: the
   syncer's run function must be rl_sync_batch_run. */
void rl_groups_attach(rl_groups_t *self, const rl_group_links_t *links);

/* Frees every group and nulls *self_p. Idempotent. */
void rl_groups_destroy(rl_groups_t **self_p);

/* ---- Lookup ---- */

rl_group_t *rl_groups_default(rl_groups_t *self);
/* The group of id, or NULL when not hosted here. */
rl_group_t *rl_groups_by_id(rl_groups_t *self, uint64_t id);
/* The group of the log named name (empty: `default`), or NULL. */
rl_group_t *rl_groups_by_name(rl_groups_t *self, rl_str_t name);
size_t rl_groups_count(const rl_groups_t *self);
rl_group_t *rl_groups_at(rl_groups_t *self, size_t i);

/* ---- Inputs (each drives what it touched) ---- */

/* Notes that group had input: rl_groups_drive drives it. */
void rl_groups_touch(rl_groups_t *self, rl_group_t *group);

/* Drives every group touched since the last call, then hands the logs
   written to the fsync helper in one batch. 0 or -1 when fatal. */
int rl_groups_drive(rl_groups_t *self);

/* The fsync helper finished its batch: every ticket is finished on its
   log, and their groups driven. 0 or -1. */
int rl_groups_synced(rl_groups_t *self);

/* The spare maker finished a group's job. */
void rl_groups_spared(rl_groups_t *self);

/* One heartbeat of logical time for every group that is not quiet;
   first, node-level liveness (raft.h rl_raft_quiet): a peer of group 0
   not heard from (contacts) for an election timeout is down, and every
   quiet group whose leader is on a down node (a follower), or one of
   whose voters is (a leader), is woken. 0 or -1. */
int rl_groups_tick(rl_groups_t *self, const rl_contacts_t *contacts,
                   int64_t now);

/* Housekeeping (rl_group_sweep): group 0 and the groups with waiting
   requests at every call, the others in turn, each about once a second
   (retention, spares). 0 or -1. */
int rl_groups_sweep(rl_groups_t *self, int64_t now);

/* Whether a peer message of group from node from may be taken: in a
   named log's group, APPEND, SNAPSHOT and TIMEOUT_NOW only from a node in
   group 0's latest or committed configuration, PREVOTE and VOTE only from
   one in its latest (raft.h, "Leaders of named logs are members of group
   0"). */
bool rl_groups_sender_allowed(rl_groups_t *self, const rl_msg_t *msg);

void rl_groups_set_disk(rl_groups_t *self, bool low, uint64_t free_bytes);

/* A client went away: its long polls, in every group, are dropped. */
void rl_groups_release(rl_groups_t *self, rl_front_held_t *held);

/* The node is stopping: leaders hand over. 0 or -1. */
int rl_groups_stop(rl_groups_t *self);

/* Whether this node leads any group. */
bool rl_groups_leads_any(rl_groups_t *self);

/* The end: every group finished (rl_group_finish). 0, or -1. */
int rl_groups_finish(rl_groups_t *self);

/* Leader spreading, every few seconds (at most every RL_GROUPS_SPREAD_MS):
   a node leading more than ceil(groups / voters) groups transfers one
   (rl_raft_transfer) to the voter, up to date and heard from within an
   election timeout, that leads the fewest as this node sees it (each
   group's known leader); so leaders spread over the nodes, and a node
   that restarts gets its share back within a few rounds. */
#define RL_GROUPS_SPREAD_MS 2000
void rl_groups_spread(rl_groups_t *self, const rl_contacts_t *contacts,
                      int64_t now);

/* Whether id is in group 0's latest or committed configuration. */
bool rl_groups_member(rl_groups_t *self, uint64_t id);

/* Groups quiet now (idle named logs). */
size_t rl_groups_quiet_count(const rl_groups_t *self);

/* Peer messages dropped: for a group not hosted here. */
uint64_t rl_groups_dropped_unknown(const rl_groups_t *self);
void rl_groups_count_dropped(rl_groups_t *self);

#endif

/*  rl_groups_private.h - the inside of rl_groups_t, shared by the files
    that implement it: rl_groups.c (the array of groups, hosting named
    logs, life cycle), rl_groups_run.c (driving the groups of a loop turn,
    group commit across logs, the end) and rl_groups_cluster.c (ticks,
    node-level liveness, membership mirroring, leader spreading, sweeps).
    Nothing else includes it.
*/
#ifndef RL_GROUPS_PRIVATE_H
#define RL_GROUPS_PRIVATE_H

#include "rl_groups.h"
#include "rl_log_dirs.h"
#include "rl_sync_batch.h"

struct rl_groups {
    const rl_config_t *config; /* the node's, borrowed */
    const rl_io_t *io;         /* the logs' system calls, or NULL */
    rl_group_t **groups;       /* by increasing id; [0] is group 0 */
    size_t count;              /* hosted groups */
    size_t cap;                /* slots in groups */
    uint64_t max_group;        /* highest group id ever hosted here */
    rl_group_t **touched;      /* groups to drive (NULL: deleted since) */
    size_t touched_count;      /* entries in touched */
    size_t touched_cap;        /* slots in touched */
    rl_group_links_t links;    /* lent to every group */
    bool attached;             /* links set */
    rl_sync_batch_t batch;     /* with the fsync helper, or being made;
                                  items' owner: their group (NULL: gone) */
    bool batch_done;           /* its tickets finished, groups not yet
                                  told (rl_group_synced) */
    uint64_t syncfs_failures;  /* batch.fs.failures already handled */
    bool resync_all;           /* a syncfs failed: the next batch takes
                                  every group not durable, not only the
                                  active ones (rl_sync_batch_rechecked) */
    bool resyncing;            /* the batch with the helper is that one */
    uint64_t dropped_unknown;  /* peer messages for a group not here */
    int lock_fd;               /* the data directory's lock (rl_layout) */
    rl_layout_log_t *unbooted; /* logs on disk without their members file
                                  (a crash right after their directory
                                  was made): hosted when their creation
                                  is handed out again */
    size_t unbooted_count;     /* entries in unbooted */
    size_t sweep_next;         /* the next named group swept in turn */
    rl_group_t **active;       /* groups that are not idle (rl_group_idle),
                                  each once (its active mark); may hold
                                  NULL for one deleted */
    size_t active_count;       /* entries in active */
    size_t active_cap;         /* slots in active */
    size_t quiet;              /* groups quiet at the last tick */
    uint8_t *target_seen;      /* group 0's committed configuration the
                                  named logs were last mirrored to */
    size_t target_seen_size;   /* its bytes */
    int64_t mirrored_at;       /* zclock_mono() of the last full pass */
    int64_t spread_at;         /* zclock_mono() of the last spreading */
    int64_t started;           /* zclock_mono() at creation */
};

/* rl_groups_run.c */
/* links.wait_syncs: a group needs its ticket back now. */
void rl_groups_wait_syncs(void *arg);
/* Drops the idle (and the deleted) from the active list; counts the
   quiet groups. */
void rl_groups_prune(rl_groups_t *self);

#endif

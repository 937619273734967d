/*  rl_groups_run.c - driving a node's groups in a loop turn: the groups
    touched by an input, the active list (groups that are not idle), group
    commit across logs (one batch of sync tickets for every log written),
    the turn's peer messages flushed; and the end. See rl_groups.h.
*/
#include "rl_groups_private.h"
#include "rl_pending.h"

#include <string.h>

/* ---- Driving, group commit across logs ---- */

/* Puts group in the active list (once). */
static void s_activate(rl_groups_t *self, rl_group_t *group)
{
    bool *mark = rl_group_active_mark(group);
    if (*mark)
        return;
    if (self->active_count == self->active_cap) {
        size_t cap = self->active_cap ? self->active_cap * 2 : 64;
        rl_group_t **grown = realloc(self->active, cap * sizeof(*grown));
        if (!grown)
            return; /* swept in turn instead: late, not lost */
        self->active = grown;
        self->active_cap = cap;
    }
    self->active[self->active_count++] = group;
    *mark = true;
}

void rl_groups_prune(rl_groups_t *self)
{
    size_t kept = 0, awake = 0;
    for (size_t i = 0; i < self->active_count; i++) {
        rl_group_t *group = self->active[i];
        if (!group)
            continue;
        if (rl_group_idle(group)) {
            *rl_group_active_mark(group) = false;
            continue;
        }
        awake += !rl_group_quiet(group);
        self->active[kept++] = group;
    }
    self->active_count = kept;
    self->quiet = self->count - awake;
}

void rl_groups_touch(rl_groups_t *self, rl_group_t *group)
{
    /* Whatever touched it (a message, a request, a wake) may have woken
       it or written to its log. */
    s_activate(self, group);
    if (self->touched_count && self->touched[self->touched_count - 1] == group)
        return;
    if (self->touched_count == self->touched_cap) {
        size_t cap = self->touched_cap ? self->touched_cap * 2 : 64;
        rl_group_t **grown = realloc(self->touched, cap * sizeof(*grown));
        if (!grown) {
            /* Driven at the next tick instead: late, never lost. */
            return;
        }
        self->touched = grown;
        self->touched_cap = cap;
    }
    self->touched[self->touched_count++] = group;
}

/* Takes the helper's answer and finishes every ticket of the batch on
   its log; the groups are told (rl_group_synced) by s_settle_batch. A
   syncfs that failed since the last answer: said, and every group not
   durable is synced by fdatasync before syncfs serves again
   (rl_sync_batch.h). The helper's answer orders its writes to batch.fs
   before these reads. */
static void s_finish_batch(rl_groups_t *self)
{
    rl_helper_result(self->links.syncer);
    for (size_t i = 0; i < self->batch.count; i++)
        if (self->batch.items[i].owner)
            rl_group_sync_finish(self->batch.items[i].owner,
                                 self->batch.items[i].result);
    self->batch_done = true;
    if (self->batch.fs.failures != self->syncfs_failures) {
        static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
        self->syncfs_failures = self->batch.fs.failures;
        self->resync_all = true;
        rl_logf_limited(
            &limit, RL_LOG_WARN,
            "syncfs of the data directory's filesystem failed (a write "
            "error, maybe in another program's file there): each log is "
            "synced with its own fdatasync until all are durable, and a "
            "log that lost a write stops; check the disk (dmesg)");
    } else if (self->resyncing) {
        rl_sync_batch_rechecked(&self->batch);
    }
    self->resyncing = false;
}

/* links.wait_syncs: a group needs its ticket back now. */
void rl_groups_wait_syncs(void *arg)
{
    rl_groups_t *self = arg;
    if (rl_helper_busy(self->links.syncer))
        s_finish_batch(self);
}

/* Tells every group of a finished batch what is durable now (each is
   driven). -1 when one failed. */
static int s_settle_batch(rl_groups_t *self)
{
    if (!self->batch_done)
        return 0;
    self->batch_done = false;
    int rc = 0;
    for (size_t i = 0; i < self->batch.count; i++) {
        rl_group_t *group = self->batch.items[i].owner;
        if (group && rl_group_synced(group) != 0)
            rc = -1;
    }
    rl_sync_batch_clear(&self->batch);
    return rc;
}

/* Hands every log written and not yet durable to the fsync helper, in
   one batch, when it is idle. */
static int s_start_syncs(rl_groups_t *self)
{
    if (!self->config->fsync || rl_helper_busy(self->links.syncer) ||
        self->batch_done)
        return 0;
    rl_sync_batch_clear(&self->batch);
    /* Only a group that was not idle can have written; after a failed
       syncfs, every group (one the active list missed included). */
    bool all = self->resync_all;
    self->resync_all = false;
    self->resyncing = all;
    size_t count = all ? self->count : self->active_count;
    for (size_t i = 0; i < count; i++) {
        rl_group_t *group = all ? self->groups[i] : self->active[i];
        rl_log_sync_ticket_t *ticket =
            group ? rl_group_sync_prepare(group) : NULL;
        if (ticket && rl_sync_batch_add(&self->batch, ticket, group) != 0 &&
            /* No room: this one here, slower, still durable. */
            (rl_group_sync_finish(group, rl_log_sync_run(ticket)) != 0 ||
             rl_group_synced(group) != 0))
            return -1;
    }
    if (self->batch.count) {
        rl_helper_start(self->links.syncer, &self->batch);
    } else if (all) {
        /* every log durable already: syncfs may serve again */
        rl_sync_batch_rechecked(&self->batch);
        self->resyncing = false;
    }
    return 0;
}

int rl_groups_drive(rl_groups_t *self)
{
    int rc = 0;
    /* Driving may touch more (a log created by group 0's commit). */
    for (size_t i = 0; i < self->touched_count; i++) {
        rl_group_t *group = self->touched[i];
        if (group && rl_group_drive(group) != 0)
            rc = -1;
    }
    self->touched_count = 0;
    if (rc == 0)
        rc = s_settle_batch(self);
    if (rc == 0)
        rc = s_start_syncs(self);
    /* The turn's peer messages, one message per peer. */
    if (self->links.peers)
        rl_peers_flush(self->links.peers);
    return rc;
}

int rl_groups_synced(rl_groups_t *self)
{
    if (rl_helper_busy(self->links.syncer))
        s_finish_batch(self);
    return rl_groups_drive(self);
}

void rl_groups_spared(rl_groups_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        if (rl_group_spare_in_flight(self->groups[i])) {
            rl_group_spared(self->groups[i]);
            return;
        }
    if (rl_helper_busy(self->links.sparer))
        rl_helper_result(self->links.sparer); /* its group is gone */
}

void rl_groups_set_disk(rl_groups_t *self, bool low, uint64_t free_bytes)
{
    for (size_t i = 0; i < self->count; i++)
        rl_group_set_disk(self->groups[i], low, free_bytes);
}

void rl_groups_release(rl_groups_t *self, rl_front_held_t *held)
{
    (void)self;
    /* A client's records may wait in several logs' tables: each is taken
       from its own and counted by its own group. */
    while (held->head) {
        rl_group_t *group = rl_pending_user_of(held->head);
        rl_pending_t *p = rl_pending_take_owned(held);
        rl_group_release(group, &p);
    }
}

int rl_groups_stop(rl_groups_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        if (rl_group_stop(self->groups[i]) != 0)
            return -1;
    return rl_groups_drive(self);
}

bool rl_groups_leads_any(rl_groups_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        if (rl_group_role(self->groups[i]) == RL_RAFT_LEADER)
            return true;
    return false;
}

int rl_groups_finish(rl_groups_t *self)
{
    rl_groups_wait_syncs(self);
    self->batch_done = false;
    rl_sync_batch_clear(&self->batch);
    int rc = 0;
    for (size_t i = 0; i < self->count; i++)
        if (rl_group_finish(self->groups[i]) != 0)
            rc = -1;
    return rc;
}

size_t rl_groups_quiet_count(const rl_groups_t *self)
{
    return self->quiet;
}

uint64_t rl_groups_dropped_unknown(const rl_groups_t *self)
{
    return self->dropped_unknown;
}

void rl_groups_count_dropped(rl_groups_t *self)
{
    self->dropped_unknown++;
}

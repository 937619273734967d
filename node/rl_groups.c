/*  rl_groups.c - the registry of a node's groups: the array of groups
    by id, hosting named logs as group 0's catalog changes (create,
    delete, reconcile with a snapshot's catalog), and the life cycle; see
    rl_groups.h. Driving is in rl_groups_run.c, ticks and the cluster's
    housekeeping in rl_groups_cluster.c.
*/
#include "rl_groups_private.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "rl_logging.h"

/* ---- The array of groups ---- */

/* Index of the first group whose id is >= id. */
static size_t s_lower_bound(const rl_groups_t *self, uint64_t id)
{
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rl_group_id(self->groups[mid]) < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Puts group in its place by id. -1 when out of memory. */
static int s_insert(rl_groups_t *self, rl_group_t *group)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        rl_group_t **grown = realloc(self->groups, cap * sizeof(*grown));
        if (!grown)
            return -1;
        self->groups = grown;
        self->cap = cap;
    }
    size_t at = s_lower_bound(self, rl_group_id(group));
    memmove(self->groups + at + 1, self->groups + at,
            (self->count - at) * sizeof(*self->groups));
    self->groups[at] = group;
    self->count++;
    return 0;
}

rl_group_t *rl_groups_default(rl_groups_t *self)
{
    return self->groups[0];
}

rl_group_t *rl_groups_by_id(rl_groups_t *self, uint64_t id)
{
    size_t at = s_lower_bound(self, id);
    return at < self->count && rl_group_id(self->groups[at]) == id
               ? self->groups[at]
               : NULL;
}

rl_group_t *rl_groups_by_name(rl_groups_t *self, rl_str_t name)
{
    if (name.size == 0)
        return self->groups[0];
    /* Every request naming a log comes here: the committed catalog finds
       its group by binary search (ids are never reused, so the group of
       that id is that log). A log the catalog does not list (`default`,
       or one whose deletion commits before it is handed out) is looked
       for among the hosted groups one by one, as a name not hosted is. */
    rl_raft_log_info_t log;
    if (rl_raft_log_find(rl_group_raft(self->groups[0]), name, &log)) {
        rl_group_t *group = rl_groups_by_id(self, log.group);
        if (group)
            return group;
    }
    for (size_t i = 0; i < self->count; i++) {
        const char *own = rl_group_name(self->groups[i]);
        if (strlen(own) == name.size && memcmp(own, name.ptr, name.size) == 0)
            return self->groups[i];
    }
    return NULL;
}

size_t rl_groups_count(const rl_groups_t *self)
{
    return self->count;
}

rl_group_t *rl_groups_at(rl_groups_t *self, size_t i)
{
    return self->groups[i];
}

/* ---- Hosting named logs ---- */

/* The links a group gets: the node's, with the registry's hooks. */
static void s_attach(rl_groups_t *self, rl_group_t *group)
{
    if (self->attached)
        rl_group_attach(group, &self->links);
}

/* Opens (create: makes) the group of a named log. -1 with err. */
static int s_host(rl_groups_t *self, const char *name, uint64_t id,
                  const rl_raft_log_info_t *info, bool create, char *err)
{
    char dir[4096];
    if (rl_log_dirs_path(self->config->data_dir, name, dir, sizeof(dir)) != 0) {
        snprintf(err, 512, "the directory of log %s is too long", name);
        return -1;
    }
    /* Its bootstrap members: group 0's configuration as of the log's
       creation (ids and voters, the same on every node), with the
       endpoints group 0 knows for them now; kept in its directory, as a
       log without a snapshot restarts from them. */
    rl_member_t boot[RL_MAX_MEMBERS];
    size_t boot_count = 0;
    uint64_t boot_mirrors = 0; /* their stamp: the create entry's index */
    uint64_t known[RL_MAX_MEMBERS];
    size_t known_count = 0, book_count = 0;
    rl_raft_t *catalog = rl_group_raft(self->groups[0]);
    const rl_member_t *book = rl_raft_members(catalog, &book_count);
    void *saved = NULL;
    size_t saved_size = 0;
    bool saved_ok =
        !create && rl_log_dirs_load_members(self->config->data_dir, name,
                                            &saved, &saved_size) == 0;
    if (saved_ok) {
        if (rl_raft_members_decode(saved, saved_size, boot, &boot_count,
                                   &boot_mirrors) != 0) {
            free(saved);
            snprintf(err, 512,
                     "the members file of log %s is unreadable: move its "
                     "directory away; the node gets the log from the others",
                     name);
            return -1;
        }
    } else if (info) {
        boot_count = rl_raft_log_members(info, book, book_count, boot);
    } else {
        snprintf(err, 512, "log %s has no members file", name);
        return -1;
    }
    /* A members file of before the stamp has none. */
    if (boot_mirrors == 0 && info)
        boot_mirrors = info->created;
    if (create) {
        uint8_t *data = NULL;
        size_t size = 0;
        if (rl_raft_members_encode(boot, boot_count, boot_mirrors, &data,
                                   &size) != 0) {
            snprintf(err, 512, "cannot encode the members of log %s", name);
            return -1;
        }
        int rc = rl_log_dirs_create(self->config->data_dir, name, id, data,
                                    size, err);
        free(data);
        if (rc != 0)
            return -1;
    }
    for (size_t k = 0; k < book_count && known_count < RL_MAX_MEMBERS; k++)
        known[known_count++] = book[k].id;
    rl_group_spec_t spec = {
        .name = name,
        .id = id,
        .dir = dir,
        .create = true,
        .boot = boot,
        .boot_count = boot_count,
        .boot_mirrors = boot_mirrors,
        .known = known,
        .known_count = known_count,
    };
    if (info)
        spec.settings = info->settings;
    rl_group_t *group = rl_group_new(self->config, &spec, self->io, err);
    free(saved); /* the group copied the endpoints */
    if (!group)
        return -1;
    if (s_insert(self, group) != 0) {
        rl_group_destroy(&group);
        snprintf(err, 512, "out of memory");
        return -1;
    }
    if (id > self->max_group)
        self->max_group = id;
    s_attach(self, group);
    rl_groups_touch(self, group);
    return 0;
}

/* A creation of group 0's catalog: hosted unless it was here before.
   fresh: handed out in ready.log_changes (not the catalog of a snapshot
   or of the start); then, when the group is made here for the first
   time and this node is the log's first leader, its core campaigns at
   the next tick (raft.h rl_raft_campaign_soon): the new log is writable
   about a tick after its creation commits, not an election timeout. */
static void s_create(rl_groups_t *self, const rl_raft_log_info_t *log,
                     bool fresh)
{
    rl_group_t *hosted = rl_groups_by_id(self, log->group);
    if (hosted) {
        /* Handed out again after a restart: its settings as of then
           (later changes follow). */
        rl_group_configure(hosted, &log->settings);
        return;
    }
    bool unbooted = false;
    for (size_t i = 0; i < self->unbooted_count && !unbooted; i++)
        if (self->unbooted[i].group == log->group) {
            unbooted = true;
            self->unbooted[i] = self->unbooted[--self->unbooted_count];
        }
    if (!unbooted && log->group <= self->max_group)
        return;
    char err[512];
    if (s_host(self, log->name, log->group, log, !unbooted, err) != 0) {
        rl_logf(RL_LOG_ERROR,
                "cannot host the new log %s (group %" PRIu64 "): %s; it is "
                "served by the other nodes; restart this node once the "
                "cause is fixed",
                log->name, log->group, err);
        return;
    }
    bool first =
        fresh && !unbooted && rl_raft_log_first_leader(log) == self->config->id;
    rl_group_t *group = first ? rl_groups_by_id(self, log->group) : NULL;
    if (group) {
        rl_raft_campaign_soon(rl_group_raft(group));
        rl_groups_touch(self, group);
    }
    rl_logf(RL_LOG_INFO, "logs: %s created (group %" PRIu64 ")%s", log->name,
            log->group, group ? "; this node campaigns to lead it" : "");
}

/* A deletion handed out by group 0 (or a log a snapshot's catalog no
   longer lists): the group is closed, its clients answered NOT_FOUND,
   its directory removed. */
static void s_delete(rl_groups_t *self, uint64_t id)
{
    char err[512];
    for (size_t i = 0; i < self->unbooted_count; i++)
        if (self->unbooted[i].group == id) {
            if (rl_log_dirs_delete(self->config->data_dir,
                                   self->unbooted[i].name, id, err) != 0)
                rl_logf(RL_LOG_ERROR, "%s", err);
            self->unbooted[i] = self->unbooted[--self->unbooted_count];
            return;
        }
    rl_group_t *group = id ? rl_groups_by_id(self, id) : NULL;
    if (!group)
        return;
    char name[RL_RAFT_LOG_NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", rl_group_name(group));
    rl_group_deleted(group);
    for (size_t i = 0; i < self->touched_count; i++)
        if (self->touched[i] == group)
            self->touched[i] = NULL;
    for (size_t i = 0; i < self->batch.count; i++)
        if (self->batch.items[i].owner == group)
            self->batch.items[i].owner = NULL;
    for (size_t i = 0; i < self->active_count; i++)
        if (self->active[i] == group)
            self->active[i] = NULL;
    size_t at = s_lower_bound(self, id);
    memmove(self->groups + at, self->groups + at + 1,
            (self->count - at - 1) * sizeof(*self->groups));
    self->count--;
    rl_group_destroy(&group);
    if (rl_log_dirs_delete(self->config->data_dir, name, id, err) != 0)
        rl_logf(RL_LOG_ERROR,
                "log %s was deleted but its directory could not be removed "
                "(%s): remove it by hand",
                name, err);
    else
        rl_logf(RL_LOG_INFO, "logs: %s deleted (group %" PRIu64 ")", name, id);
}

static int s_by_id(const void *a, const void *b)
{
    uint64_t x = ((const rl_raft_log_info_t *)a)->group;
    uint64_t y = ((const rl_raft_log_info_t *)b)->group;
    return x < y ? -1 : x > y;
}

/* The catalog is group 0's committed one (at start, or after a snapshot
   replaced it): hosts the logs it lists that are missing here (above the
   highest id hosted, in increasing id order) and, when drop, closes those
   it no longer lists. */
static void s_reconcile(rl_groups_t *self, bool drop)
{
    size_t count;
    const rl_raft_log_info_t *table =
        rl_raft_logs(rl_group_raft(self->groups[0]), &count);
    rl_raft_log_info_t *logs = count ? malloc(count * sizeof(*logs)) : NULL;
    if (count && !logs) {
        rl_logf(RL_LOG_ERROR, "out of memory reconciling the catalog");
        return;
    }
    if (count)
        memcpy(logs, table, count * sizeof(*logs));
    if (count)
        qsort(logs, count, sizeof(*logs), s_by_id);
    for (size_t i = drop ? self->count : 0; i > 1; i--) {
        uint64_t id = rl_group_id(self->groups[i - 1]);
        bool listed = false;
        for (size_t k = 0; k < count && !listed; k++)
            listed = logs[k].group == id;
        if (!listed)
            s_delete(self, id);
    }
    for (size_t k = 0; k < count; k++)
        s_create(self, &logs[k], false);
    free(logs);
}

/* Before group 0 removes member gone (links.removal_safe): every log of
   the committed catalog is hosted here, and each can do without gone as
   of its committed configuration (rl_raft_removal_check). */
static bool s_removal_safe(void *arg, uint64_t gone, char *why, size_t why_size)
{
    rl_groups_t *self = arg;
    rl_raft_t *catalog = rl_group_raft(self->groups[0]);
    size_t logs = 0;
    const rl_raft_log_info_t *table = rl_raft_logs(catalog, &logs);
    for (size_t i = 0; i < logs; i++)
        if (!rl_groups_by_id(self, table[i].group)) {
            snprintf(why, why_size,
                     "log %s is not open on this node yet; retry in a "
                     "moment",
                     table[i].name);
            return false;
        }
    size_t zero_count = 0;
    const rl_member_t *zero = rl_raft_committed_members(catalog, &zero_count);
    uint64_t zero_at = rl_raft_committed_config_index(catalog);
    for (size_t i = 1; i < self->count; i++) {
        rl_group_t *group = self->groups[i];
        rl_raft_t *raft = rl_group_raft(group);
        size_t count = 0;
        const rl_member_t *members = rl_raft_committed_members(raft, &count);
        uint64_t stamp = rl_raft_config_mirrors(raft, true);
        switch (rl_raft_removal_check(zero, zero_count, zero_at, gone, members,
                                      count, stamp)) {
        case RL_RAFT_REMOVAL_SAFE:
            continue;
        case RL_RAFT_REMOVAL_BEHIND:
            snprintf(why, why_size,
                     "log %s has not yet committed the cluster's last "
                     "membership change (it follows the configuration of "
                     "index %" PRIu64 " of default, which is at %" PRIu64
                     "); retry once its leader has (raftlog status --log "
                     "%s)",
                     rl_group_name(group), stamp, zero_at,
                     rl_group_name(group));
            return false;
        case RL_RAFT_REMOVAL_OUTSIDER:
            snprintf(why, why_size,
                     "log %s still has a voter the cluster has removed or "
                     "not yet promoted; retry once its leader has followed "
                     "the cluster's configuration (raftlog status --log %s)",
                     rl_group_name(group), rl_group_name(group));
            return false;
        case RL_RAFT_REMOVAL_TOO_FEW:
            snprintf(why, why_size,
                     "log %s has not yet made enough of the cluster's voters "
                     "its own to lose node %" PRIu64
                     " and still survive as many failures as the cluster; "
                     "retry once its leader has promoted them (raftlog "
                     "status --log %s), or first remove a node it cannot "
                     "promote (one that is down)",
                     rl_group_name(group), gone, rl_group_name(group));
            return false;
        }
    }
    return true;
}

/* Group 0 handed out catalog changes (links.catalog_changed). */
static void s_catalog_changed(void *arg)
{
    rl_groups_t *self = arg;
    rl_group_t *catalog = self->groups[0];
    size_t count;
    bool replaced;
    const rl_raft_log_change_t *changes =
        rl_group_log_changes(catalog, &count, &replaced);
    for (size_t i = 0; i < count; i++) {
        const rl_raft_log_change_t *c = &changes[i];
        if (c->verb == RL_RAFT_LOG_CREATE) {
            s_create(self, &c->log, true);
        } else if (c->verb == RL_RAFT_LOG_DELETE) {
            s_delete(self, c->log.group);
        } else if (c->verb == RL_RAFT_LOG_CONFIGURE) {
            rl_group_t *group = rl_groups_by_id(self, c->log.group);
            if (group)
                rl_group_configure(group, &c->log.settings);
        }
    }
    if (replaced)
        s_reconcile(self, true);
    rl_group_log_changes_clear(catalog);
}

/* ---- Life cycle ---- */

/* Group commit across logs by one syncfs of the data directory's
   filesystem (rl_sync_batch.h), through the lock's descriptor: it is open
   for the node's life and was opened before any log was written. */
static void s_share_filesystem(rl_groups_t *self)
{
    const rl_config_t *c = self->config;
    if (!c->fsync || !c->syncfs_from)
        return;
    char why[256];
    int rc = rl_sync_batch_syncfs_usable(self->lock_fd, why, sizeof(why));
    if (rc != 0) {
        rl_logf(RL_LOG_INFO,
                "syncfs-from: %s, so every log is synced with its own "
                "fdatasync",
                why);
        return;
    }
    rc = rl_sync_batch_share_filesystem(&self->batch, self->lock_fd,
                                        c->syncfs_from,
                                        self->io ? self->io : rl_io_libc());
    if (rc != 0)
        rl_logf(RL_LOG_WARN,
                "syncfs-from: cannot stat the data directory (%s), so every "
                "log is synced with its own fdatasync",
                strerror(rc));
}

rl_groups_t *rl_groups_new(const rl_config_t *config, const rl_io_t *io,
                           char *err)
{
    rl_groups_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, 512, "out of memory");
        return NULL;
    }
    err[0] = '\0';
    self->started = zclock_mono();
    self->config = config;
    self->io = io;
    self->lock_fd = -1;
    rl_sync_batch_init(&self->batch);
    rl_layout_log_t *found = NULL;
    size_t found_count = 0;
    char dir[4096];
    if (rl_log_dirs_start(config->data_dir, &self->lock_fd, &found,
                          &found_count, &self->max_group, err) != 0 ||
        rl_log_dirs_path(config->data_dir, RL_RAFT_DEFAULT_LOG, dir,
                         sizeof(dir)) != 0) {
        if (!err[0])
            snprintf(err, 512, "the data directory's path is too long");
        free(found);
        rl_groups_destroy(&self);
        return NULL;
    }
    s_share_filesystem(self);
    rl_group_spec_t spec = {
        .name = RL_RAFT_DEFAULT_LOG, .id = 0, .dir = dir, .create = true};
    rl_group_t *zero = rl_group_new(config, &spec, io, err);
    if (!zero || s_insert(self, zero) != 0) {
        if (zero)
            snprintf(err, 512, "out of memory");
        rl_group_destroy(&zero);
        free(found);
        rl_groups_destroy(&self);
        return NULL;
    }
    /* Every log on disk, then the catalog's missing ones (raft.h,
       "Hosting groups": idempotence). */
    for (size_t i = 0; i < found_count; i++) {
        if (found[i].group == 0)
            continue; /* default: opened above */
        rl_raft_log_info_t info;
        bool listed = rl_raft_log_find(rl_group_raft(zero),
                                       rl_str(found[i].name), &info) &&
                      info.group == found[i].group;
        void *members = NULL;
        size_t size = 0;
        if (!listed && rl_log_dirs_load_members(config->data_dir, found[i].name,
                                                &members, &size) != 0) {
            /* Never opened: hosted when its creation comes again. */
            found[self->unbooted_count++] = found[i]; /* kept in place */
            continue;
        }
        free(members);
        char why[512];
        if (s_host(self, found[i].name, found[i].group, listed ? &info : NULL,
                   false, why) != 0) {
            snprintf(err, 512, "log %.64s: %.400s", found[i].name, why);
            free(found);
            rl_groups_destroy(&self);
            return NULL;
        }
    }
    self->unbooted = found; /* its first unbooted_count entries */
    s_reconcile(self, false);
    return self;
}

void rl_groups_attach(rl_groups_t *self, const rl_group_links_t *links)
{
    self->links = *links;
    self->links.wait_syncs = rl_groups_wait_syncs;
    self->links.catalog_changed = s_catalog_changed;
    self->links.removal_safe = s_removal_safe;
    self->links.arg = self;
    self->links.group0 = self->groups[0];
    self->attached = true;
    for (size_t i = 0; i < self->count; i++) {
        rl_group_attach(self->groups[i], &self->links);
        rl_groups_touch(self, self->groups[i]);
    }
}

void rl_groups_destroy(rl_groups_t **self_p)
{
    rl_groups_t *self = *self_p;
    if (!self)
        return;
    /* Named logs first: group 0 lends them its members' endpoints. */
    for (size_t i = self->count; i > 0; i--)
        rl_group_destroy(&self->groups[i - 1]);
    free(self->groups);
    free(self->touched);
    free(self->unbooted);
    free(self->target_seen);
    free(self->active);
    rl_sync_batch_close(&self->batch);
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    free(self);
    *self_p = NULL;
}

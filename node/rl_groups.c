/*  rl_groups.c - the registry of a node's groups; see rl_groups.h. */
#include "rl_groups.h"

#include <inttypes.h>
#include <string.h>

#include <unistd.h>

#include "rl_codec.h"
#include "rl_log_dirs.h"
#include "rl_logging.h"
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

static void s_wait_syncs(void *arg);

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
        if (rl_raft_members_decode(saved, saved_size, boot, &boot_count) != 0) {
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
    if (create) {
        uint8_t *data = NULL;
        size_t size = 0;
        if (rl_raft_members_encode(boot, boot_count, &data, &size) != 0) {
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

/* A creation handed out by group 0: hosted unless it was here before. */
static void s_create(rl_groups_t *self, const rl_raft_log_info_t *log)
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
    rl_logf(RL_LOG_INFO, "logs: %s created (group %" PRIu64 ")", log->name,
            log->group);
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
        s_create(self, &logs[k]);
    free(logs);
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
            s_create(self, &c->log);
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
    self->links.wait_syncs = s_wait_syncs;
    self->links.catalog_changed = s_catalog_changed;
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

/* Drops the idle (and the deleted) from the active list; counts the
   quiet groups. */
static void s_prune(rl_groups_t *self)
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
   its log; the groups are told (rl_group_synced) by s_settle_batch. */
static void s_finish_batch(rl_groups_t *self)
{
    rl_helper_result(self->links.syncer);
    for (size_t i = 0; i < self->batch.count; i++)
        if (self->batch.items[i].owner)
            rl_group_sync_finish(self->batch.items[i].owner,
                                 self->batch.items[i].result);
    self->batch_done = true;
}

/* links.wait_syncs: a group needs its ticket back now. */
static void s_wait_syncs(void *arg)
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
    /* Only a group that was not idle can have written. */
    for (size_t i = 0; i < self->active_count; i++) {
        rl_group_t *group = self->active[i];
        rl_log_sync_ticket_t *ticket =
            group ? rl_group_sync_prepare(group) : NULL;
        if (ticket && rl_sync_batch_add(&self->batch, ticket, group) != 0 &&
            /* No room: this one here, slower, still durable. */
            (rl_group_sync_finish(group, rl_log_sync_run(ticket)) != 0 ||
             rl_group_synced(group) != 0))
            return -1;
    }
    if (self->batch.count)
        rl_helper_start(self->links.syncer, &self->batch);
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

/* True when id is in members. */
static bool s_listed(const rl_member_t *members, size_t count, uint64_t id)
{
    for (size_t i = 0; i < count; i++)
        if (members[i].id == id)
            return true;
    return false;
}

bool rl_groups_member(rl_groups_t *self, uint64_t id)
{
    rl_raft_t *zero = rl_group_raft(self->groups[0]);
    size_t count;
    const rl_member_t *members = rl_raft_members(zero, &count);
    if (s_listed(members, count, id))
        return true;
    members = rl_raft_committed_members(zero, &count);
    return s_listed(members, count, id);
}

bool rl_groups_sender_allowed(rl_groups_t *self, const rl_msg_t *msg)
{
    if (msg->group == 0 ||
        (msg->type != RL_MSG_APPEND && msg->type != RL_MSG_SNAPSHOT &&
         msg->type != RL_MSG_TIMEOUT_NOW))
        return true;
    return rl_groups_member(self, msg->from);
}

/* Wakes the quiet groups that need it because of down peers (raft.h):
   followers whose leader is down, or not a member of group 0 any more;
   leaders one of whose voters is down. */
static void s_wake(rl_groups_t *self, const rl_contacts_t *contacts,
                   int64_t now)
{
    rl_raft_t *zero = rl_group_raft(self->groups[0]);
    size_t count;
    const rl_member_t *members = rl_raft_members(zero, &count);
    uint64_t down[RL_MAX_MEMBERS];
    size_t down_count = 0;
    int64_t timeout = self->config->election_timeout_ms;
    for (size_t i = 0; i < count && down_count < RL_MAX_MEMBERS; i++) {
        if (members[i].id == self->config->id)
            continue;
        int64_t since = rl_contacts_since(contacts, members[i].id, now);
        /* Never heard from: down once this node has been up as long. */
        if (since > timeout || (since < 0 && now - self->started > timeout))
            down[down_count++] = members[i].id;
    }
    if (down_count == 0)
        return;
    for (size_t g = 1; g < self->count; g++) {
        rl_group_t *group = self->groups[g];
        if (!rl_group_quiet(group))
            continue;
        rl_raft_t *raft = rl_group_raft(group);
        rl_raft_status_t st;
        rl_raft_status(raft, &st);
        bool wake = false;
        if (st.role == RL_RAFT_LEADER) {
            size_t n;
            const rl_member_t *own = rl_raft_members(raft, &n);
            for (size_t i = 0; i < n && !wake; i++)
                for (size_t k = 0; k < down_count && !wake; k++)
                    wake = own[i].voter && own[i].id == down[k];
        } else {
            for (size_t k = 0; k < down_count && !wake; k++)
                wake = st.leader == down[k];
            wake |= st.leader && !s_listed(members, count, st.leader);
        }
        if (wake) {
            rl_raft_wake(raft);
            rl_groups_touch(self, group);
        }
    }
}

/* Node-level liveness (raft.h rl_raft_quiet): a peer that gets nothing
   else from this node for a heartbeat interval gets a PING, so that it
   can tell this node is up while every group they share is quiet. Only
   while named logs are hosted: a single-log node sends what it always
   did. */
static void s_ping(rl_groups_t *self, int64_t now)
{
    if (self->count < 2 || !self->links.peers)
        return;
    rl_group_t *zero = self->groups[0];
    size_t count;
    const rl_member_t *members = rl_raft_members(rl_group_raft(zero), &count);
    rl_msg_t ping;
    rl_msg_init(&ping, RL_MSG_PING);
    ping.cluster = rl_str(self->config->cluster_id);
    ping.from = self->config->id;
    rl_buf_t buf;
    rl_buf_init(&buf);
    for (size_t i = 0; i < count; i++) {
        uint64_t id = members[i].id;
        char endpoint[RL_MAX_ENDPOINT + 1];
        if (id == self->config->id ||
            rl_peers_spoke_to(self->links.peers, id, now,
                              self->config->heartbeat_ms) ||
            !rl_group_endpoint(zero, id, true, endpoint, sizeof(endpoint)) ||
            rl_peers_connect(self->links.peers, id, endpoint) != 0)
            continue;
        if (buf.size == 0 && rl_codec_encode(&ping, &buf, NULL) != 0)
            break;
        rl_peers_send(self->links.peers, id, buf.data, buf.size);
    }
    rl_buf_close(&buf);
}

/* Membership is made in group 0; each named log's leader mirrors its
   committed configuration, one change at a time. Every group it leads
   is looked at when that configuration changed, and each tick until
   they all agree (a change waits for the previous one to commit, and a
   learner to be promoted); otherwise once every election timeout, for
   groups this node came to lead since: idle, it costs nothing. */
static void s_mirror(rl_groups_t *self, int64_t now)
{
    if (self->count < 2)
        return;
    size_t target_count;
    const rl_member_t *target = rl_raft_committed_members(
        rl_group_raft(self->groups[0]), &target_count);
    uint8_t *encoded = NULL;
    size_t size = 0;
    if (rl_raft_members_encode(target, target_count, &encoded, &size) != 0)
        return;
    bool changed = size != self->target_seen_size ||
                   memcmp(encoded, self->target_seen, size) != 0;
    if (!changed &&
        now - self->mirrored_at < (int64_t)self->config->election_timeout_ms) {
        free(encoded);
        return;
    }
    bool pending = false;
    for (size_t i = 1; i < self->count; i++) {
        rl_group_t *group = self->groups[i];
        if (rl_group_role(group) != RL_RAFT_LEADER)
            continue;
        if (rl_group_mirror(group, target, target_count)) {
            rl_groups_touch(self, group);
            pending = true;
        }
    }
    self->mirrored_at = now;
    if (pending) {
        free(encoded); /* not done: look again at the next tick */
        free(self->target_seen);
        self->target_seen = NULL;
        self->target_seen_size = 0;
        return;
    }
    free(self->target_seen);
    self->target_seen = encoded;
    self->target_seen_size = size;
}

int rl_groups_tick(rl_groups_t *self, const rl_contacts_t *contacts,
                   int64_t now)
{
    s_wake(self, contacts, now);
    s_mirror(self, now);
    s_prune(self);
    /* Only groups that are not quiet need their ticks (quiesce.c). */
    for (size_t i = 0; i < self->active_count; i++) {
        rl_group_t *group = self->active[i];
        if (group && !rl_group_quiet(group) && rl_group_tick(group) != 0)
            return -1;
    }
    s_ping(self, now);
    return rl_groups_drive(self);
}

void rl_groups_spread(rl_groups_t *self, const rl_contacts_t *contacts,
                      int64_t now)
{
    if (now - self->spread_at < RL_GROUPS_SPREAD_MS || self->count < 2)
        return;
    self->spread_at = now;
    rl_raft_t *zero = rl_group_raft(self->groups[0]);
    size_t count;
    const rl_member_t *members = rl_raft_members(zero, &count);
    uint64_t ids[RL_MAX_MEMBERS];
    size_t led[RL_MAX_MEMBERS] = {0}, voters = 0;
    for (size_t i = 0; i < count && voters < RL_MAX_MEMBERS; i++)
        if (members[i].voter)
            ids[voters++] = members[i].id;
    if (voters < 2)
        return;
    /* Who leads what, as this node sees it. */
    for (size_t g = 0; g < self->count; g++) {
        rl_raft_status_t st;
        rl_raft_status(rl_group_raft(self->groups[g]), &st);
        for (size_t k = 0; k < voters; k++)
            led[k] += st.leader == ids[k];
    }
    size_t share = (self->count + voters - 1) / voters, mine = 0;
    for (size_t k = 0; k < voters; k++)
        if (ids[k] == self->config->id)
            mine = led[k];
    if (mine <= share)
        return;
    int64_t timeout = self->config->election_timeout_ms;
    /* One transfer a round: a named log this node leads (default last:
       it also serves the catalog), to the up-to-date voter leading the
       fewest. */
    for (size_t j = 1; j <= self->count; j++) {
        rl_group_t *group = self->groups[j % self->count];
        rl_raft_t *raft = rl_group_raft(group);
        rl_raft_status_t st;
        rl_raft_status(raft, &st);
        if (st.role != RL_RAFT_LEADER || st.transfer_to)
            continue;
        uint64_t target = 0, best_match = 0;
        size_t fewest = SIZE_MAX;
        size_t n_members;
        const rl_member_t *own = rl_raft_members(raft, &n_members);
        for (size_t k = 0; k < voters; k++) {
            uint64_t id = ids[k];
            int64_t since = rl_contacts_since(contacts, id, now);
            bool voter = false;
            for (size_t m = 0; m < n_members && !voter; m++)
                voter = own[m].id == id && own[m].voter;
            uint64_t match = rl_raft_match_of(raft, id);
            /* Alive, a voter of this group, and holding what is
               committed: the transfer is then quick (thesis 3.10). */
            if (id == self->config->id || !voter || since < 0 ||
                since > timeout || match < st.commit)
                continue;
            if (led[k] < fewest || (led[k] == fewest && match > best_match)) {
                fewest = led[k];
                target = id;
                best_match = match;
            }
        }
        /* Only when it evens things out: no ping-pong. */
        if (!target || fewest + 1 >= mine || fewest >= share)
            continue;
        rl_logf(RL_LOG_INFO,
                "leaders: node %" PRIu64 " leads %zu of %zu logs (its share "
                "is %zu): handing %s to node %" PRIu64 ", which leads %zu",
                self->config->id, mine, self->count, share,
                rl_group_name(group), target, fewest);
        rl_group_handover(group, target);
        rl_groups_touch(self, group);
        return;
    }
}

/* Named groups swept in turn at each sweep: every one about once a
   second at the node's 10 ms sweeps. */
#define S_SWEEP_SLICES 100

int rl_groups_sweep(rl_groups_t *self, int64_t now)
{
    size_t named = self->count - 1;
    size_t slice = (named + S_SWEEP_SLICES - 1) / S_SWEEP_SLICES;
    size_t from = named ? self->sweep_next % named : 0;
    /* The active groups (group 0 among them: it never goes quiet) at
       every sweep: their deadlines; then a slice of the named groups in
       turn: retention and spares. */
    for (size_t i = 0; i < self->active_count; i++) {
        rl_group_t *group = self->active[i];
        if (!group)
            continue;
        if (rl_group_sweep(group, now) != 0)
            return -1;
        rl_groups_touch(self, group);
    }
    for (size_t k = 0; k < slice; k++) {
        rl_group_t *group = self->groups[1 + (from + k) % named];
        if (*rl_group_active_mark(group))
            continue; /* swept above */
        if (rl_group_sweep(group, now) != 0)
            return -1;
        if (!rl_group_idle(group))
            rl_groups_touch(self, group);
    }
    self->sweep_next = named ? (from + slice) % named : 0;
    return rl_groups_drive(self);
}

void rl_groups_set_disk(rl_groups_t *self, bool low, uint64_t free_bytes)
{
    for (size_t i = 0; i < self->count; i++)
        rl_group_set_disk(self->groups[i], low, free_bytes);
}

void rl_groups_release(rl_groups_t *self, rl_front_held_t *held)
{
    for (size_t i = 0; i < self->count && held->count; i++)
        rl_group_release(self->groups[i], held);
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
    s_wait_syncs(self);
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

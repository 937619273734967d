/*  rl_group.c - one replicated log on a node: the storage glue between
    the Raft core and the file log, and the core's inputs; see rl_group.h.
    The group's client requests are in rl_group_requests.c (and _reads,
    _consumers, _answers), its housekeeping in rl_group_upkeep.c.

    Group commit falls out of the loop's shape: the node drains a readable
    socket (up to a bound) before it drives the group, so proposals that
    arrive together become one write; while one fdatasync runs, later
    entries accumulate for the next one; and the registry syncs every log
    written in a turn in one batch (rl_groups.h).
*/
#include "rl_group_private.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "rl_codec.h"
#include "rl_logging.h"
#include "rl_reads.h"

/* The protocol's bound on a CONSUMERS_OK list is the core's on a table. */
_Static_assert(RL_MAX_CONSUMERS == RL_RAFT_CONSUMER_LIMIT,
               "CONSUMERS_OK must hold every consumer a table can");
_Static_assert(RL_MAX_CONSUMER_NAME == RL_RAFT_CONSUMER_NAME_MAX,
               "a consumer name on the wire is one the core takes");

/* ---- Small helpers ---- */

uint64_t rl_group_commit(const rl_group_t *self)
{
    rl_raft_status_t status;
    rl_raft_status(self->raft, &status);
    return status.commit;
}

/* The leader stamps the entries it appends with this clock (never going
   back along the log: the core takes max(clock, last entry's time)). */
void rl_group_clock(rl_group_t *self)
{
    int64_t now = zclock_time();
    rl_raft_set_clock(self->raft, now > 0 ? (uint64_t)now : 0);
}

bool rl_group_leads_committed(const rl_group_t *self)
{
    rl_raft_status_t status;
    rl_raft_status(self->raft, &status);
    uint64_t term = 0;
    return status.role == RL_RAFT_LEADER &&
           rl_log_term(self->log, status.commit, &term) == 0 &&
           term == status.term;
}

static const rl_member_t *s_member(const rl_group_t *self, uint64_t id)
{
    size_t count;
    const rl_member_t *members = rl_raft_members(self->raft, &count);
    for (size_t i = 0; i < count; i++)
        if (members[i].id == id)
            return &members[i];
    return NULL;
}

/* The endpoint of a member: from this node's own --member flags when they
   name it (the local address book wins, so that a node behind a proxy or
   NAT can be reached by another address than the one in the replicated
   configuration), else from the live configuration. */
bool rl_group_endpoint(const rl_group_t *self, uint64_t id, bool peer,
                       char *out, size_t size)
{
    const rl_config_member_t *c = rl_config_member(self->config, id);
    if (c) {
        snprintf(out, size, "%s", peer ? c->peer : c->client);
        return true;
    }
    const rl_member_t *m = s_member(self, id);
    if ((!m || !m->peer_addr.size) && self->links.group0 &&
        self->links.group0 != self)
        m = s_member(self->links.group0, id);
    if (m) {
        rl_str_t addr = peer ? m->peer_addr : m->client_addr;
        if (addr.size && addr.size < size) {
            memcpy(out, addr.ptr, addr.size);
            out[addr.size] = '\0';
            return true;
        }
    }
    return false;
}

/* A snapshot's configuration is stored in the core's own encoding of a
   member list (the one of CONFIG entries, docs/RAFT.md), not in a client
   message: the disk format does not follow the client protocol. Data
   written before stored an encoded MEMBERS_OK (msgpack), still read by
   s_decode_members. Stores the snapshot (install: replacing the log). */
static int s_store_snapshot(rl_group_t *self, const rl_raft_snapshot_t *s,
                            bool install)
{
    uint8_t *config = NULL;
    size_t config_size = 0;
    /* The configuration's stamp is in the snapshot's data. */
    if (rl_raft_members_encode(s->members, s->member_count, 0, &config,
                               &config_size) != 0)
        return rl_group_fatal(self, "cannot encode a snapshot configuration");
    rl_log_snapshot_t snap = {s->last_index, s->last_term, config,
                              config_size,   s->data,      s->size};
    int rc = install ? rl_log_install_snapshot(self->log, &snap)
                     : rl_log_save_snapshot(self->log, &snap);
    free(config);
    if (rc != 0)
        return rl_group_fatal(self, install ? "cannot install a snapshot"
                                            : "cannot save a snapshot");
    return 0;
}

/* Reads a stored snapshot configuration into members[RL_MAX_MEMBERS]
   (endpoints borrowed from data, or from *legacy, closed by the caller).
   0, or -1 with the reason in why. */
static int s_decode_members(const uint8_t *data, size_t size,
                            rl_member_t *members, size_t *count,
                            rl_msg_t *legacy, char *why)
{
    rl_msg_init(legacy, 0);
    if (rl_raft_members_decode(data, size, members, count, NULL) == 0)
        return 0;
    if (rl_codec_decode(data, size, legacy, why) != 0 ||
        legacy->type != RL_MSG_MEMBERS_OK ||
        legacy->body.members_ok.member_count > RL_MAX_MEMBERS) {
        if (!why[0])
            snprintf(why, RL_CODEC_ERROR_SIZE, "not a member list");
        return -1;
    }
    *count = legacy->body.members_ok.member_count;
    memcpy(members, legacy->body.members_ok.members,
           *count * sizeof(rl_member_t));
    return 0;
}

int rl_group_fatal(rl_group_t *self, const char *what)
{
    rl_logf(RL_LOG_ERROR,
            "%s%s%s%s: %s; stopping: restart the node once the "
            "cause is fixed (it recovers from the disk)",
            self->id ? "log " : "", self->id ? self->name : "",
            self->id ? ": " : "", what, rl_log_error(self->log));
    self->failed = true;
    return -1;
}

/* ---- The core's view of the file log ---- */

static uint64_t s_view_first(void *ctx)
{
    return rl_log_first_index(((rl_group_t *)ctx)->log);
}

static uint64_t s_view_last(void *ctx)
{
    return rl_log_last_index(((rl_group_t *)ctx)->log);
}

static int s_view_term(void *ctx, uint64_t index, uint64_t *term)
{
    return rl_log_term(((rl_group_t *)ctx)->log, index, term) ? -1 : 0;
}

static int s_view_read(void *ctx, uint64_t from, size_t max_count,
                       size_t max_bytes, rl_entry_t *out, size_t *count)
{
    rl_group_t *self = ctx;
    if (rl_log_read(self->log, from, max_count, max_bytes, &self->view_batch))
        return -1;
    memcpy(out, self->view_batch.entries,
           self->view_batch.count * sizeof(rl_entry_t));
    *count = self->view_batch.count;
    return 0;
}

/* ---- Restoring the core ---- */

/* The core's trace lines go to the log: warnings (refused messages, a
   follower that lost data) rate-limited, since a stranger can cause them
   at will; the rest at debug. The text holds numbers only. */
static void s_trace(void *ctx, int level, const char *text)
{
    (void)ctx;
    static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
    if (level == RL_RAFT_TRACE_WARN)
        rl_logf_limited(&limit, RL_LOG_WARN, "raft: %s", text);
    else
        rl_logf(level == RL_RAFT_TRACE_INFO ? RL_LOG_INFO : RL_LOG_DEBUG,
                "raft: %s", text);
}

/* Restores the core from the log's hard state and snapshot. */
static int s_open_core(rl_group_t *self, char *err)
{
    const rl_config_t *config = self->config;
    rl_raft_config_t cfg;
    rl_raft_config_defaults(&cfg);
    cfg.id = config->id;
    cfg.group = self->id;
    /* Only group 0 takes catalog changes: a bound elsewhere is moot. */
    cfg.max_logs = self->id == 0 ? config->max_logs : 0;
    /* Named logs go quiet when idle (quiesce.c), so that a node hosting
       thousands of idle logs spends nothing on them. `default` does not:
       its heartbeats keep the single-log behaviour exactly as it was
       (readiness, a follower's contact with its leader, STATUS), and they
       are the node-level liveness every quiet group relies on: each peer
       hears from the leader of group 0 every tick, so a silent peer is a
       down one. Coalesced, they cost one frame per peer per tick. */
    cfg.quiesce = self->id != 0;
    cfg.cluster = rl_str(config->cluster_id);
    cfg.seed = (uint64_t)zclock_usecs() ^ (config->id << 32) ^
               (self->id * 0x9e3779b97f4a7c15ull);
    cfg.heartbeat_ticks = 1;
    cfg.election_ticks = config->election_timeout_ms / config->heartbeat_ms;
    cfg.max_uncommitted = config->max_uncommitted_bytes;
    cfg.max_consumers = config->max_consumers;
    cfg.view = (rl_raft_log_view_t){self, s_view_first, s_view_last,
                                    s_view_term, s_view_read};
    rl_log_hard_state(self->log, &cfg.term, &cfg.vote);

    /* Group 0 starts from the --member flags; a named log from group 0's
       configuration as of its creation (the same on every node). */
    cfg.members = self->boot;
    cfg.member_count = self->boot_count;
    cfg.mirrors = self->boot_mirrors;
    /* The --member flags (and, for a named log, group 0's members) are
       the address book: those nodes are heard even before a
       configuration names them (a joining node). */
    cfg.known = self->known;
    cfg.known_count = self->known_count;
    cfg.trace = s_trace;
    cfg.trace_ctx = self;

    rl_log_snapshot_t stored;
    rl_raft_snapshot_t snapshot;
    rl_member_t snap_members[RL_MAX_MEMBERS];
    size_t snap_count = 0;
    rl_msg_t members;
    rl_msg_init(&members, 0);
    if (rl_log_snapshot(self->log, &stored) == 0) {
        char why[RL_CODEC_ERROR_SIZE] = "";
        if (s_decode_members(stored.config, stored.config_size, snap_members,
                             &snap_count, &members, why) != 0) {
            snprintf(err, 512,
                     "the snapshot in %.120s has an unreadable configuration "
                     "(%.80s); run raftlog-node --check %.120s",
                     self->dir, why, config->data_dir);
            rl_msg_close(&members);
            return -1;
        }
        snapshot = (rl_raft_snapshot_t){stored.last_index, stored.last_term,
                                        snap_members,      snap_count,
                                        stored.state,      stored.state_size};
        cfg.snapshot = &snapshot;
    }
    int rc = 0;
    self->raft = rl_raft_new(&cfg, &rc);
    rl_msg_close(&members);
    if (!self->raft && rc == RL_ERR_OUT_OF_RANGE) {
        snprintf(err, 512,
                 "the term saved in %.120s, %" PRIu64 ", is above the maximum "
                 "a cluster can reach (2^48): a forged message made an "
                 "older version save it; move this data directory away and "
                 "start the node empty, it catches up from the leader",
                 self->dir, cfg.term);
        return -1;
    }
    if (!self->raft) {
        snprintf(err, 512,
                 "cannot restore the Raft state from %.120s (%s); run "
                 "raftlog-node --check %.120s",
                 self->dir, rl_error_name(rc), config->data_dir);
        return -1;
    }
    return 0;
}

static void s_warn(void *arg, const char *message)
{
    (void)arg;
    rl_logf(RL_LOG_WARN, "storage: %s", message);
}

/* Copies the spec's bootstrap members, with their endpoints, and the
   ids it knows. -1 when out of memory. */
static int s_copy_spec(rl_group_t *self, const rl_group_spec_t *spec)
{
    const rl_config_t *config = self->config;
    snprintf(self->name, sizeof(self->name), "%s", spec->name);
    snprintf(self->dir, sizeof(self->dir), "%s", spec->dir);
    self->id = spec->id;
    if (spec->id == 0) {
        for (size_t i = 0; i < config->member_count; i++) {
            const rl_config_member_t *m = &config->members[i];
            self->boot[i] =
                (rl_member_t){m->id, true, rl_str(m->peer), rl_str(m->client)};
            self->known[i] = m->id;
        }
        self->boot_count = config->join ? 0 : config->member_count;
        self->known_count = config->member_count;
        self->retention_bytes = config->retention_bytes;
        self->retention_age_ms = config->retention_age_ms;
        self->max_entry_bytes = config->max_entry_bytes;
        return 0;
    }
    size_t count =
        spec->boot_count < RL_MAX_MEMBERS ? spec->boot_count : RL_MAX_MEMBERS;
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++)
        bytes += spec->boot[i].peer_addr.size + spec->boot[i].client_addr.size;
    self->boot_endpoints = malloc(bytes + 1);
    if (!self->boot_endpoints)
        return -1;
    char *at = self->boot_endpoints;
    for (size_t i = 0; i < count; i++) {
        const rl_member_t *m = &spec->boot[i];
        self->boot[i] = *m;
        memcpy(at, m->peer_addr.ptr ? m->peer_addr.ptr : "", m->peer_addr.size);
        self->boot[i].peer_addr = (rl_str_t){at, m->peer_addr.size};
        at += m->peer_addr.size;
        memcpy(at, m->client_addr.ptr ? m->client_addr.ptr : "",
               m->client_addr.size);
        self->boot[i].client_addr = (rl_str_t){at, m->client_addr.size};
        at += m->client_addr.size;
    }
    self->boot_count = count;
    self->boot_mirrors = spec->boot_mirrors;
    for (size_t i = 0; i < config->member_count; i++)
        self->known[self->known_count++] = config->members[i].id;
    for (size_t i = 0; i < spec->known_count && i < RL_MAX_MEMBERS; i++)
        self->known[self->known_count++] = spec->known[i];
    rl_group_configure(self, &spec->settings);
    return 0;
}

rl_group_t *rl_group_new(const rl_config_t *config, const rl_group_spec_t *spec,
                         const rl_io_t *io, char *err)
{
    rl_group_t *self = calloc(1, sizeof(*self));
    if (self)
        self->pending = rl_pending_table_new();
    if (self && self->pending) {
        rl_pending_table_set_user(self->pending, self);
        self->config = config;
        if (s_copy_spec(self, spec) != 0)
            rl_pending_table_destroy(&self->pending);
    }
    if (!self || !self->pending) {
        snprintf(err, 512, "out of memory");
        rl_group_destroy(&self);
        return NULL;
    }
    self->role = RL_RAFT_FOLLOWER;
    rl_buf_init(&self->buf);
    rl_log_batch_init(&self->view_batch);
    rl_log_batch_init(&self->read_batch);

    rl_log_config_t lc = {0};
    lc.dir = self->dir;
    lc.cluster = config->cluster_id;
    lc.node_id = config->id;
    lc.segment_size = config->segment_bytes;
    lc.create = spec->create;
    lc.warn = s_warn;
    lc.io = io;
    self->log = rl_log_new(&lc);
    if (!self->log || rl_log_open(self->log) != 0) {
        snprintf(err, 512, "%s",
                 self->log ? rl_log_error(self->log) : "out of memory");
        rl_group_destroy(&self);
        return NULL;
    }
    rl_group_set_disk(self, self->disk_low, self->disk_free); /* zeros ahead */
    rl_logf(RL_LOG_INFO,
            "storage: %s%s%s%s holds indexes %" PRIu64 "..%" PRIu64,
            self->id ? "log " : "", self->id ? self->name : "",
            self->id ? " in " : "", self->dir, rl_log_first_index(self->log),
            rl_log_last_index(self->log));
    if (s_open_core(self, err) != 0) {
        rl_group_destroy(&self);
        return NULL;
    }
    return self;
}

void rl_group_configure(rl_group_t *self,
                        const rl_raft_log_settings_t *settings)
{
    if (self->id == 0)
        return; /* the default log follows the node's flags */
    self->retention_bytes = settings->retention_bytes;
    self->retention_age_ms = settings->retention_ms;
    self->max_entry_bytes =
        settings->max_entry_bytes &&
                settings->max_entry_bytes < self->config->max_entry_bytes
            ? settings->max_entry_bytes
            : self->config->max_entry_bytes;
}

void rl_group_attach(rl_group_t *self, const rl_group_links_t *links)
{
    self->links = *links;
}

void rl_group_destroy(rl_group_t **self_p)
{
    rl_group_t *self = *self_p;
    if (!self)
        return;
    rl_group_wait_sync(self);
    rl_group_wait_spare(self);
    rl_pending_table_destroy(&self->pending);
    rl_raft_destroy(&self->raft);
    rl_log_batch_close(&self->view_batch);
    rl_log_batch_close(&self->read_batch);
    rl_log_destroy(&self->log);
    rl_buf_close(&self->buf);
    free(self->proposal);
    free(self->read_times);
    free(self->positions);
    free(self->boot_endpoints);
    free(self->changes);
    free(self);
    *self_p = NULL;
}

/* ---- Storage glue ---- */

/* A write that failed and was rolled back (ENOSPC, say) leaves the disk
   consistent, but the core believing in entries that are not there. Do
   what a restart would do, without leaving the process: rebuild the core
   from what the disk holds. A new core takes its log as durable, so the
   log is synced first. Clients waiting for an append get NO_SPACE (or
   INTERNAL): their outcome is unknown, and an idempotent retry is safe.
   Returns 1 (the current ready batch is void), or -1 when fatal. */
int rl_group_restart_core(rl_group_t *self, int error)
{
    rl_logf(RL_LOG_WARN, "%s; rebuilding the Raft state from the disk",
            rl_log_error(self->log));
    rl_group_wait_sync(self);
    if (self->failed)
        return -1;
    if (self->config->fsync && rl_log_sync(self->log) != 0)
        return rl_group_fatal(self, "fdatasync failed");
    rl_group_answer_write_failure(self, error);
    rl_raft_destroy(&self->raft);
    char err[512];
    if (s_open_core(self, err) != 0) {
        rl_logf(RL_LOG_ERROR, "%s", err);
        self->failed = true;
        return -1;
    }
    self->role = RL_RAFT_FOLLOWER;
    self->leader = 0;
    return 1;
}

/* The core reported a new role, leader or term. */
static void s_on_role(rl_group_t *self, const rl_raft_ready_t *ready)
{
    if (ready->role != self->role || ready->term != self->term) {
        if (ready->role == RL_RAFT_CANDIDATE)
            self->n_elections++;
        if (ready->role != self->role)
            rl_logf(self->id ? RL_LOG_DEBUG : RL_LOG_INFO,
                    "%s%s%s in term %" PRIu64, self->id ? self->name : "",
                    self->id ? ": " : "", rl_raft_role_name(ready->role),
                    ready->term);
    }
    if (ready->leader != self->leader) {
        self->n_leader_changes++;
        /* Named logs at debug: a node may host thousands. */
        int level = self->id ? RL_LOG_DEBUG : RL_LOG_INFO;
        const char *name = self->id ? self->name : "";
        const char *sep = self->id ? ": " : "";
        if (ready->leader)
            rl_logf(level, "%s%sleader is node %" PRIu64 " (term %" PRIu64 ")",
                    name, sep, ready->leader, ready->term);
        else
            rl_logf(level, "%s%sno leader known (term %" PRIu64 ")", name, sep,
                    ready->term);
    }
    self->role = ready->role;
    self->leader = ready->leader;
    self->term = ready->term;
    /* A transfer is done once someone else leads. */
    if (ready->leader && ready->leader != self->config->id)
        rl_group_answer_transfers(self, ready->leader);
}

/* Sends the batch's messages, connecting to peers on first use. */
static void s_send_messages(rl_group_t *self, const rl_raft_ready_t *ready)
{
    for (size_t i = 0; i < ready->message_count; i++) {
        const rl_raft_envelope_t *e = &ready->messages[i];
        char endpoint[RL_MAX_ENDPOINT + 1];
        if (!rl_group_endpoint(self, e->to, true, endpoint, sizeof(endpoint)) ||
            rl_peers_connect(self->links.peers, e->to, endpoint) != 0)
            continue;
        rl_buf_reset(&self->buf);
        char err[RL_CODEC_ERROR_SIZE];
        if (rl_codec_encode(&e->msg, &self->buf, err) != 0) {
            rl_logf(RL_LOG_ERROR, "cannot encode %s for node %" PRIu64 ": %s",
                    rl_msg_type_name(e->msg.type), e->to, err);
            continue;
        }
        rl_peers_send(self->links.peers, e->to, self->buf.data, self->buf.size);
        if (e->msg.type == RL_MSG_SNAPSHOT) {
            self->n_snapshots_sent += e->msg.body.snapshot.offset == 0;
            self->n_snapshot_bytes_sent += e->msg.body.snapshot.size;
        }
    }
}

/* Keeps the catalog changes of a batch (group 0) for the registry, which
   takes them once the batches are carried out (links.catalog_changed).
   -1 when out of memory: a change lost would leave a log unhosted. */
static int s_keep_log_changes(rl_group_t *self, const rl_raft_ready_t *ready)
{
    if (ready->log_change_count == 0)
        return 0;
    size_t need = self->change_count + ready->log_change_count;
    if (need > self->change_cap) {
        size_t cap = need < 16 ? 16 : need * 2;
        rl_raft_log_change_t *grown =
            realloc(self->changes, cap * sizeof(*grown));
        if (!grown) {
            rl_logf(RL_LOG_ERROR, "out of memory keeping changes of the "
                                  "catalog of logs; stopping: restart the "
                                  "node");
            self->failed = true;
            return -1;
        }
        self->changes = grown;
        self->change_cap = cap;
    }
    memcpy(self->changes + self->change_count, ready->log_changes,
           ready->log_change_count * sizeof(rl_raft_log_change_t));
    self->change_count = need;
    return 0;
}

const rl_raft_log_change_t *rl_group_log_changes(const rl_group_t *self,
                                                 size_t *count, bool *replaced)
{
    *count = self->change_count;
    *replaced = self->catalog_replaced;
    return self->changes;
}

void rl_group_log_changes_clear(rl_group_t *self)
{
    self->change_count = 0;
    self->catalog_replaced = false;
}

/* Carries out one ready batch, in the order raft.h prescribes. Returns 0,
   1 when the core was rebuilt (the batch is void), or -1 when fatal. */
static int s_carry_out(rl_group_t *self, rl_raft_ready_t *ready)
{
    if (ready->snapshot_install) {
        const rl_raft_snapshot_t *s = ready->snapshot;
        if (s_store_snapshot(self, s, true) != 0)
            return -1;
        rl_logf(RL_LOG_INFO, "%s%sinstalled a snapshot up to index %" PRIu64,
                self->id ? self->name : "", self->id ? ": " : "",
                s->last_index);
        self->n_snapshots_received++;
        /* Group 0's snapshot carries the catalog: reconcile with it. */
        self->catalog_replaced |= self->id == 0;
    }
    if (ready->hard_state_changed) {
        /* Nothing of this batch may go out before the term and vote are
           durable (paper, Fig. 2); a failed write keeps the old ones. */
        int rc = rl_log_set_hard_state(self->log, ready->term, ready->vote);
        if (rc != 0 && rl_log_failed(self->log))
            return rl_group_fatal(self, "cannot save the term and vote");
        if (rc != 0)
            return rl_group_restart_core(self, rc);
    }
    /* Entries the log already covers with its snapshot are committed and
       identical (Log Matching): skip them rather than truncate there. */
    size_t skip = 0;
    while (skip < ready->entry_count &&
           ready->entries[skip].index < rl_log_first_index(self->log))
        skip++;
    if (skip < ready->entry_count) {
        uint64_t from = ready->entries[skip].index;
        if (from <= rl_log_last_index(self->log) &&
            rl_log_truncate(self->log, from) != 0)
            return rl_group_fatal(self, "cannot truncate a conflicting suffix");
        int rc = rl_log_append(self->log, ready->entries + skip,
                               ready->entry_count - skip);
        if (rc != 0 && rl_log_failed(self->log))
            return rl_group_fatal(self, "cannot append to the log");
        if (rc != 0)
            return rl_group_restart_core(self, rc);
        if (!self->config->fsync)
            rl_group_report_durable(self);
    }
    s_send_messages(self, ready);
    if (ready->role_changed)
        s_on_role(self, ready);
    if (ready->snapshot_taken) {
        const rl_raft_snapshot_t *s = ready->snapshot;
        if (s_store_snapshot(self, s, false) != 0)
            return -1;
        self->n_snapshots_taken++;
    }
    return s_keep_log_changes(self, ready);
}

/* A member that left the latest configuration gets nothing more from
   the core: close the connection to it (its DEALER and what is queued
   on it) and forget when it was last heard from. Should it come back (a
   removal undone by a leader change, or added again), the next message
   to it connects anew. */
static void s_forget_leavers(rl_group_t *self)
{
    if (self->id != 0)
        return; /* connections follow the cluster's membership: group 0's */
    size_t count;
    const rl_member_t *members = rl_raft_members(self->raft, &count);
    if (count > RL_MAX_MEMBERS)
        count = RL_MAX_MEMBERS;
    bool same = count == self->member_count;
    for (size_t i = 0; i < count && same; i++)
        same = members[i].id == self->members[i];
    if (same)
        return;
    for (size_t i = 0; i < self->member_count; i++) {
        uint64_t id = self->members[i];
        bool stays = false;
        for (size_t k = 0; k < count && !stays; k++)
            stays = members[k].id == id;
        if (stays || id == self->config->id)
            continue;
        rl_peers_forget(self->links.peers, id);
        rl_contacts_forget(self->links.contacts, id);
        rl_logf(RL_LOG_INFO,
                "membership: node %" PRIu64 " left the configuration; "
                "closed the connection to it",
                id);
    }
    for (size_t i = 0; i < count; i++)
        self->members[i] = members[i].id;
    self->member_count = count;
}

int rl_group_drive(rl_group_t *self)
{
    if (self->failed)
        return -1;
    rl_raft_ready_t ready;
    while (rl_raft_ready(self->raft, &ready)) {
        if (s_carry_out(self, &ready) < 0)
            return -1;
    }
    s_forget_leavers(self);
    if (self->change_count || self->catalog_replaced) {
        if (self->links.catalog_changed)
            self->links.catalog_changed(self->links.arg);
        if (self->failed)
            return -1;
    }
    rl_group_answer_committed(self);
    return 0;
}

/* ---- Inputs ---- */

bool rl_group_step(rl_group_t *self, const rl_msg_t *msg)
{
    static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
    rl_raft_status_t before, after;
    rl_raft_status(self->raft, &before);
    rl_group_clock(self);
    if (rl_raft_step(self->raft, msg) != 0)
        rl_logf_limited(&limit, RL_LOG_WARN, "out of memory handling %s",
                        rl_msg_type_name(msg->type));
    rl_raft_status(self->raft, &after);
    return after.dropped_non_member == before.dropped_non_member &&
           after.dropped_bad_term == before.dropped_bad_term;
}

int rl_group_tick(rl_group_t *self)
{
    rl_group_clock(self);
    rl_raft_tick(self->raft);
    return rl_group_drive(self);
}

bool rl_group_mirror(rl_group_t *self, const rl_member_t *target, size_t count,
                     uint64_t target_at)
{
    if (self->id == 0 || self->role != RL_RAFT_LEADER)
        return false;
    rl_group_clock(self);
    rl_raft_mirror_t done = RL_RAFT_MIRROR_NONE;
    int rc = rl_raft_mirror(self->raft, target, count, target_at, &done);
    if (rc == 0 && done != RL_RAFT_MIRROR_NONE && done != RL_RAFT_MIRROR_STAMP)
        rl_logf(RL_LOG_INFO,
                "%s: membership: %s a member to follow the "
                "cluster's configuration",
                self->name,
                done == RL_RAFT_MIRROR_ADD      ? "adding"
                : done == RL_RAFT_MIRROR_REMOVE ? "removing"
                                                : "promoting");
    /* BUSY while the previous change is uncommitted: not done yet. */
    return rc == RL_ERR_BUSY || done != RL_RAFT_MIRROR_NONE;
}

void rl_group_handover(rl_group_t *self, uint64_t target)
{
    rl_group_clock(self);
    rl_raft_transfer(self->raft, target);
}

bool rl_group_quiet(const rl_group_t *self)
{
    return rl_raft_quiet(self->raft);
}

bool rl_group_has_pending(const rl_group_t *self)
{
    return rl_pending_count(self->pending) > 0;
}

bool rl_group_idle(const rl_group_t *self)
{
    return rl_raft_quiet(self->raft) && rl_pending_count(self->pending) == 0 &&
           !self->sync_in_flight && !self->spare_in_flight &&
           (!self->config->fsync ||
            rl_log_durable_index(self->log) >= rl_log_last_index(self->log));
}

bool *rl_group_active_mark(rl_group_t *self)
{
    return &self->active;
}

/*  rl_group.c - one replicated log on a node: the storage glue between
    the Raft core and the file log, and the core's inputs; see rl_group.h.
    The group's client requests are in rl_group_requests.c.

    Group commit falls out of the loop's shape: the node drains a readable
    socket (up to a bound) before it drives the group, so proposals that
    arrive together become one write; and while one fdatasync runs, later
    entries accumulate for the next one.
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

static int s_fatal(rl_group_t *self, const char *what);

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
    if (rl_raft_members_encode(s->members, s->member_count, &config,
                               &config_size) != 0)
        return s_fatal(self, "cannot encode a snapshot configuration");
    rl_log_snapshot_t snap = {s->last_index, s->last_term, config,
                              config_size,   s->data,      s->size};
    int rc = install ? rl_log_install_snapshot(self->log, &snap)
                     : rl_log_save_snapshot(self->log, &snap);
    free(config);
    if (rc != 0)
        return s_fatal(self, install ? "cannot install a snapshot"
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
    if (rl_raft_members_decode(data, size, members, count) == 0)
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

static int s_fatal(rl_group_t *self, const char *what)
{
    rl_logf(RL_LOG_ERROR,
            "%s: %s; stopping: restart the node once the "
            "cause is fixed (it recovers from the disk)",
            what, rl_log_error(self->log));
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
    cfg.cluster = rl_str(config->cluster_id);
    cfg.seed = (uint64_t)zclock_usecs() ^ (config->id << 32);
    cfg.heartbeat_ticks = 1;
    cfg.election_ticks = config->election_timeout_ms / config->heartbeat_ms;
    cfg.max_uncommitted = config->max_uncommitted_bytes;
    cfg.max_consumers = config->max_consumers;
    cfg.view = (rl_raft_log_view_t){self, s_view_first, s_view_last,
                                    s_view_term, s_view_read};
    rl_log_hard_state(self->log, &cfg.term, &cfg.vote);

    rl_member_t boot[RL_MAX_MEMBERS];
    for (size_t i = 0; i < config->member_count; i++) {
        const rl_config_member_t *m = &config->members[i];
        boot[i] =
            (rl_member_t){m->id, true, rl_str(m->peer), rl_str(m->client)};
    }
    cfg.members = boot;
    cfg.member_count = config->join ? 0 : config->member_count;
    /* The --member flags are the address book: those nodes are heard
       even before a configuration names them (a joining node). */
    uint64_t known[RL_MAX_MEMBERS];
    for (size_t i = 0; i < config->member_count; i++)
        known[i] = config->members[i].id;
    cfg.known = known;
    cfg.known_count = config->member_count;
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
                     config->data_dir, why, config->data_dir);
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
                 config->data_dir, cfg.term);
        return -1;
    }
    if (!self->raft) {
        snprintf(err, 512,
                 "cannot restore the Raft state from %.120s (%s); run "
                 "raftlog-node --check %.120s",
                 config->data_dir, rl_error_name(rc), config->data_dir);
        return -1;
    }
    return 0;
}

static void s_warn(void *arg, const char *message)
{
    (void)arg;
    rl_logf(RL_LOG_WARN, "storage: %s", message);
}

rl_group_t *rl_group_new(const rl_config_t *config, const rl_io_t *io,
                         char *err)
{
    rl_group_t *self = calloc(1, sizeof(*self));
    if (self)
        self->pending = rl_pending_table_new();
    if (!self || !self->pending) {
        snprintf(err, 512, "out of memory");
        rl_group_destroy(&self);
        return NULL;
    }
    self->config = config;
    self->role = RL_RAFT_FOLLOWER;
    rl_buf_init(&self->buf);
    rl_log_batch_init(&self->view_batch);
    rl_log_batch_init(&self->read_batch);

    rl_log_config_t lc = {0};
    lc.dir = config->data_dir;
    lc.cluster = config->cluster_id;
    lc.node_id = config->id;
    lc.segment_size = config->segment_bytes;
    lc.create = true;
    lc.warn = s_warn;
    lc.io = io;
    self->log = rl_log_new(&lc);
    if (!self->log || rl_log_open(self->log) != 0) {
        snprintf(err, 512, "%s",
                 self->log ? rl_log_error(self->log) : "out of memory");
        rl_group_destroy(&self);
        return NULL;
    }
    rl_logf(RL_LOG_INFO, "storage: %s holds indexes %" PRIu64 "..%" PRIu64,
            config->data_dir, rl_log_first_index(self->log),
            rl_log_last_index(self->log));
    if (s_open_core(self, err) != 0) {
        rl_group_destroy(&self);
        return NULL;
    }
    return self;
}

void rl_group_attach(rl_group_t *self, const rl_group_links_t *links)
{
    self->links = *links;
}

/* Takes the fsync helper's result and lets the log account for it. */
static int s_finish_sync(rl_group_t *self)
{
    int rc = rl_helper_result(self->links.syncer);
    return rl_log_sync_finish(self->log, &self->ticket, rc);
}

static void s_finish_spare(rl_group_t *self)
{
    int rc = rl_helper_result(self->links.sparer);
    rl_log_spare_finish(self->log, &self->spare, rc);
}

void rl_group_destroy(rl_group_t **self_p)
{
    rl_group_t *self = *self_p;
    if (!self)
        return;
    if (self->links.syncer && rl_helper_busy(self->links.syncer))
        s_finish_sync(self);
    if (self->links.sparer && rl_helper_busy(self->links.sparer))
        s_finish_spare(self);
    rl_pending_table_destroy(&self->pending);
    rl_raft_destroy(&self->raft);
    rl_log_batch_close(&self->view_batch);
    rl_log_batch_close(&self->read_batch);
    rl_log_destroy(&self->log);
    rl_buf_close(&self->buf);
    free(self->proposal);
    free(self->read_times);
    free(self->positions);
    free(self);
    *self_p = NULL;
}

/* ---- Storage glue ---- */

/* Hands the written-but-not-durable entries to the fsync helper. */
static int s_start_sync(rl_group_t *self)
{
    if (rl_helper_busy(self->links.syncer) || !self->config->fsync ||
        rl_log_durable_index(self->log) >= rl_log_last_index(self->log))
        return 0;
    if (rl_log_sync_prepare(self->log, &self->ticket) != 0)
        return s_fatal(self, "cannot start an fdatasync");
    self->sync_started = zclock_usecs();
    rl_helper_start(self->links.syncer, &self->ticket);
    return 0;
}

/* Tells the core what is durable now. */
static void s_report_durable(rl_group_t *self)
{
    uint64_t durable = self->config->fsync ? rl_log_durable_index(self->log)
                                           : rl_log_last_index(self->log);
    uint64_t term = 0;
    if (durable >= rl_log_first_index(self->log) &&
        rl_log_term(self->log, durable, &term) == 0) {
        rl_group_clock(self);
        rl_raft_persisted(self->raft, durable, term);
    }
}

/* A write that failed and was rolled back (ENOSPC, say) leaves the disk
   consistent, but the core believing in entries that are not there. Do
   what a restart would do, without leaving the process: rebuild the core
   from what the disk holds. A new core takes its log as durable, so the
   log is synced first. Clients waiting for an append get NO_SPACE (or
   INTERNAL): their outcome is unknown, and an idempotent retry is safe.
   Returns 1 (the current ready batch is void), or -1 when fatal. */
static int s_restart_core(rl_group_t *self, int error)
{
    rl_logf(RL_LOG_WARN, "%s; rebuilding the Raft state from the disk",
            rl_log_error(self->log));
    if (rl_helper_busy(self->links.syncer) && s_finish_sync(self) != 0)
        return s_fatal(self, "fdatasync failed");
    if (self->config->fsync && rl_log_sync(self->log) != 0)
        return s_fatal(self, "fdatasync failed");
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
            rl_logf(RL_LOG_INFO, "%s in term %" PRIu64,
                    rl_raft_role_name(ready->role), ready->term);
    }
    if (ready->leader != self->leader) {
        self->n_leader_changes++;
        if (ready->leader)
            rl_logf(RL_LOG_INFO,
                    "leader is node %" PRIu64 " (term %" PRIu64 ")",
                    ready->leader, ready->term);
        else
            rl_logf(RL_LOG_INFO, "no leader known (term %" PRIu64 ")",
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

/* Carries out one ready batch, in the order raft.h prescribes. Returns 0,
   1 when the core was rebuilt (the batch is void), or -1 when fatal. */
static int s_carry_out(rl_group_t *self, rl_raft_ready_t *ready)
{
    if (ready->snapshot_install) {
        const rl_raft_snapshot_t *s = ready->snapshot;
        if (s_store_snapshot(self, s, true) != 0)
            return -1;
        rl_logf(RL_LOG_INFO, "installed a snapshot up to index %" PRIu64,
                s->last_index);
        self->n_snapshots_received++;
    }
    if (ready->hard_state_changed) {
        /* Nothing of this batch may go out before the term and vote are
           durable (paper, Fig. 2); a failed write keeps the old ones. */
        int rc = rl_log_set_hard_state(self->log, ready->term, ready->vote);
        if (rc != 0 && rl_log_failed(self->log))
            return s_fatal(self, "cannot save the term and vote");
        if (rc != 0)
            return s_restart_core(self, rc);
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
            return s_fatal(self, "cannot truncate a conflicting suffix");
        int rc = rl_log_append(self->log, ready->entries + skip,
                               ready->entry_count - skip);
        if (rc != 0 && rl_log_failed(self->log))
            return s_fatal(self, "cannot append to the log");
        if (rc != 0)
            return s_restart_core(self, rc);
        if (!self->config->fsync)
            s_report_durable(self);
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
    return 0;
}

/* A member that left the latest configuration gets nothing more from
   the core: close the connection to it (its DEALER and what is queued
   on it) and forget when it was last heard from. Should it come back (a
   removal undone by a leader change, or added again), the next message
   to it connects anew. */
static void s_forget_leavers(rl_group_t *self)
{
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
    rl_group_answer_committed(self);
    return s_start_sync(self);
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

int rl_group_synced(rl_group_t *self)
{
    int64_t took = zclock_usecs() - self->sync_started;
    rl_latencies_add(&self->latencies, took);
    rl_histogram_observe(&self->fsync_histogram, took);
    if (s_finish_sync(self) != 0)
        return s_fatal(self, "fdatasync failed; durability cannot be "
                             "promised any more");
    s_report_durable(self);
    return rl_group_drive(self);
}

void rl_group_spared(rl_group_t *self)
{
    s_finish_spare(self);
}

void rl_group_set_disk(rl_group_t *self, bool low, uint64_t free_bytes)
{
    self->disk_low = low;
    self->disk_free = free_bytes;
}

/* Keeps a spare segment ready for the next rollover (rl_log.h: "Spare
   segments"), when fsync is on and the disk has room for it and two more
   segments above the minimum free space. */
static void s_start_spare(rl_group_t *self)
{
    if (rl_helper_busy(self->links.sparer) || !self->config->fsync ||
        self->stopping ||
        self->disk_free <
            self->config->min_free_bytes + 3 * self->config->segment_bytes)
        return;
    if (rl_log_spare_prepare(self->log, &self->spare))
        rl_helper_start(self->links.sparer, &self->spare);
}

/* Retention (--retention, --retention-age): once the log holds more than
   the configured bytes, or segments whose last entry is older than the
   configured age, drop those oldest whole segments, whichever limit asks
   for more. Only entries a snapshot covers can go (a follower that still
   needs them gets the snapshot instead), so first the core takes one at
   its commit index when the stored one is too old. Committed entries
   only: an uncommitted tail is never dropped. Ages are the entries'
   stamps (the leaders' clocks) against this node's clock. */
static int s_apply_retention(rl_group_t *self)
{
    const rl_config_t *config = self->config;
    if (!config->retention_bytes && !config->retention_age_ms)
        return 0;
    uint64_t boundary = 0;
    const char *why = "";
    if (config->retention_bytes) {
        boundary = rl_log_retention_index(self->log, config->retention_bytes);
        why = boundary ? "--retention" : "";
    }
    int64_t now = zclock_time();
    if (config->retention_age_ms && now > 0 &&
        (uint64_t)now > config->retention_age_ms) {
        uint64_t by_age = rl_log_age_retention_index(
            self->log, (uint64_t)now - config->retention_age_ms);
        if (by_age > boundary) {
            boundary = by_age;
            why = "--retention-age";
        }
    }
    if (boundary == 0)
        return 0;
    rl_log_snapshot_t snap;
    uint64_t covered =
        rl_log_snapshot(self->log, &snap) == 0 ? snap.last_index : 0;
    if (covered + 1 < boundary) {
        /* BUSY or REJECTED: nothing new to cover yet; try next sweep. */
        rl_group_clock(self);
        if (rl_raft_compact(self->raft) == 0 && rl_group_drive(self) != 0)
            return -1; /* the snapshot is stored by s_carry_out */
        covered = rl_log_snapshot(self->log, &snap) == 0 ? snap.last_index : 0;
    }
    uint64_t upto = boundary < covered + 1 ? boundary : covered + 1;
    uint64_t first = rl_log_first_index(self->log);
    if (upto <= first)
        return 0;
    if (rl_log_compact(self->log, upto) != 0)
        return rl_log_failed(self->log)
                   ? s_fatal(self, "cannot delete compacted segments")
                   : 0;
    if (rl_log_first_index(self->log) > first) {
        char when[RL_READ_TIME_TEXT];
        rl_logf(RL_LOG_INFO,
                "retention (%s): dropped indexes %" PRIu64 "..%" PRIu64
                "; the log starts at index %" PRIu64 " (stamped %s), %" PRIu64
                " bytes kept",
                why, first, rl_log_first_index(self->log) - 1,
                rl_log_first_index(self->log),
                rl_read_time_text(rl_log_first_time(self->log), when),
                rl_log_bytes(self->log));
    }
    return 0;
}

int rl_group_sweep(rl_group_t *self, int64_t now)
{
    rl_group_answer_expired(self, now);
    /* A leader whose disk stalls or fills must not go on heartbeating as
       if healthy: hand leadership to a node that can make progress. */
    bool stalled = rl_helper_busy(self->links.syncer) &&
                   zclock_usecs() - self->sync_started >
                       (int64_t)self->config->election_timeout_ms * 1000;
    if (self->role == RL_RAFT_LEADER && (stalled || self->disk_low)) {
        /* Once per episode: when every node is as sick, leadership would
           otherwise bounce between them for nothing. */
        if (!self->stall_reported) {
            rl_logf(RL_LOG_WARN, "%s; transferring leadership",
                    stalled ? "an fdatasync is taking longer than an "
                              "election timeout"
                            : "disk space is low");
            self->stall_reported = true;
            rl_group_clock(self);
            rl_raft_transfer(self->raft, 0);
        }
    } else if (!stalled && !self->disk_low) {
        self->stall_reported = false;
    }
    if (s_apply_retention(self) != 0)
        return -1;
    s_start_spare(self);
    return 0;
}

int rl_group_stop(rl_group_t *self)
{
    self->stopping = true;
    rl_group_clock(self);
    if (self->role == RL_RAFT_LEADER)
        rl_raft_transfer(self->raft, 0);
    return rl_group_drive(self);
}

int rl_group_finish(rl_group_t *self)
{
    int rc = self->failed ? -1 : 0;
    if (rl_helper_busy(self->links.sparer))
        s_finish_spare(self);
    if (rl_helper_busy(self->links.syncer) && s_finish_sync(self) != 0)
        rc = -1;
    if (rc == 0 && self->config->fsync && rl_log_sync(self->log) != 0)
        rc = -1;
    rl_group_answer_all_shutting_down(self);
    return rc;
}

/* ---- State ---- */

rl_raft_role_t rl_group_role(const rl_group_t *self)
{
    return self->role;
}

void rl_group_metrics(rl_group_t *self, rl_group_metrics_t *out, int64_t now_us)
{
    *out = (rl_group_metrics_t){
        .append_latency = &self->append_histogram,
        .fsync_latency = &self->fsync_histogram,
        .not_leader = self->n_not_leader,
        .snapshots_sent = self->n_snapshots_sent,
        .snapshot_bytes_sent = self->n_snapshot_bytes_sent,
        .snapshots_received = self->n_snapshots_received,
        .snapshots_taken = self->n_snapshots_taken,
        .durable_index = self->config->fsync ? rl_log_durable_index(self->log)
                                             : rl_log_last_index(self->log),
        .segments = rl_log_segment_count(self->log),
        .log_bytes = rl_log_bytes(self->log),
        .sync_running_us = rl_helper_busy(self->links.syncer)
                               ? now_us - self->sync_started
                               : 0,
        .failed = self->failed,
    };
}

void rl_group_status(rl_group_t *self, rl_status_input_t *in, uint64_t *match)
{
    rl_raft_status(self->raft, &in->raft);
    in->members = rl_raft_members(self->raft, &in->member_count);
    for (size_t i = 0; i < in->member_count && i < RL_MAX_MEMBERS; i++)
        match[i] = rl_raft_match_of(self->raft, in->members[i].id);
    in->match = match;
    in->latencies = &self->latencies;
    in->first = rl_log_first_index(self->log);
    in->first_time = rl_log_first_time(self->log);
    in->last = rl_log_last_index(self->log);
    rl_log_stats_t ls;
    rl_log_stats(self->log, &ls);
    rl_node_counters_t *c = &in->counters;
    c->append_requests = self->n_append_requests;
    c->appended_entries = self->n_appended;
    c->appended_bytes = self->n_append_bytes;
    c->reads = self->n_reads;
    c->elections = self->n_elections;
    c->leader_changes = self->n_leader_changes;
    c->timeouts = self->n_timeouts;
    c->fsyncs = ls.fdatasync_calls;
    c->group_commits = ls.group_commits;
    c->spare_segments = ls.spares_used;
    c->pending_requests = rl_pending_count(self->pending);
    c->parked_reads = rl_pending_count_kind(self->pending, RL_PENDING_READ);
    c->parked_reads_refused = self->n_parked_refused;
    c->parked_reads_released = self->n_parked_released;
    c->read_waits_cut = self->n_waits_cut;
}

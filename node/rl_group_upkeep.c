/*  rl_group_upkeep.c - a group's housekeeping and what it reports: its
    part of group commit across logs (the sync tickets the registry
    batches), spare segments, retention (the node's flags for `default`,
    the log's own settings for a named log), the sweep, the end, and the
    figures of STATUS and /metrics. See rl_group.h.
*/
#include "rl_group_private.h"

#include <inttypes.h>
#include <string.h>

#include "rl_logging.h"
#include "rl_reads.h"

/* ---- Group commit across logs ---- */

rl_log_sync_ticket_t *rl_group_sync_prepare(rl_group_t *self)
{
    if (self->sync_in_flight || self->failed || !self->config->fsync ||
        rl_log_durable_index(self->log) >= rl_log_last_index(self->log))
        return NULL;
    if (rl_log_sync_prepare(self->log, &self->ticket) != 0) {
        rl_group_fatal(self, "cannot start an fdatasync");
        return NULL;
    }
    self->sync_started = zclock_usecs();
    self->sync_in_flight = true;
    return &self->ticket;
}

int rl_group_sync_finish(rl_group_t *self, int result)
{
    if (!self->sync_in_flight)
        return 0;
    self->sync_in_flight = false;
    int64_t took = zclock_usecs() - self->sync_started;
    rl_latencies_add(&self->latencies, took);
    rl_histogram_observe(&self->fsync_histogram, took);
    if (rl_log_sync_finish(self->log, &self->ticket, result) != 0)
        return rl_group_fatal(self, "fdatasync failed; durability cannot be "
                                    "promised any more");
    return 0;
}

bool rl_group_sync_in_flight(const rl_group_t *self)
{
    return self->sync_in_flight;
}

void rl_group_wait_sync(rl_group_t *self)
{
    if (self->sync_in_flight && self->links.wait_syncs)
        self->links.wait_syncs(self->links.arg);
}

/* Tells the core what is durable now. */
void rl_group_report_durable(rl_group_t *self)
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

int rl_group_synced(rl_group_t *self)
{
    if (self->failed)
        return -1;
    rl_group_report_durable(self);
    return rl_group_drive(self);
}

/* ---- Spare segments ---- */

static void s_finish_spare(rl_group_t *self)
{
    int rc = rl_helper_result(self->links.sparer);
    self->spare_in_flight = false;
    rl_log_spare_finish(self->log, &self->spare, rc);
}

void rl_group_wait_spare(rl_group_t *self)
{
    if (self->spare_in_flight)
        s_finish_spare(self);
}

void rl_group_spared(rl_group_t *self)
{
    s_finish_spare(self);
}

bool rl_group_spare_in_flight(const rl_group_t *self)
{
    return self->spare_in_flight;
}

/* Zeros written ahead of appends, at most (rl_log.h "Zeros written
   ahead"); 1 MiB: one journal commit per MiB appended, and a flush that
   writes at most a MiB of zeros once in a while. */
#define ZERO_AHEAD_BYTES (1u << 20)

void rl_group_set_disk(rl_group_t *self, bool low, uint64_t free_bytes)
{
    self->disk_low = low;
    self->disk_free = free_bytes;
    /* Only with fsync on (they save journal commits, nothing else), and
       not on a disk short of room. */
    rl_log_set_zero_ahead(self->log,
                          self->config->fsync && !low ? ZERO_AHEAD_BYTES : 0);
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
    if (rl_log_spare_prepare(self->log, &self->spare)) {
        self->spare_in_flight = true;
        rl_helper_start(self->links.sparer, &self->spare);
    }
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
    bool named = self->id != 0;
    if (!self->retention_bytes && !self->retention_age_ms)
        return 0;
    uint64_t boundary = 0;
    const char *why = "";
    if (self->retention_bytes) {
        boundary = rl_log_retention_index(self->log, self->retention_bytes);
        why = !boundary ? "" : named ? "retention_bytes" : "--retention";
    }
    int64_t now = zclock_time();
    if (self->retention_age_ms && now > 0 &&
        (uint64_t)now > self->retention_age_ms) {
        uint64_t by_age = rl_log_age_retention_index(
            self->log, (uint64_t)now - self->retention_age_ms);
        if (by_age > boundary) {
            boundary = by_age;
            why = named ? "retention_ms" : "--retention-age";
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
                   ? rl_group_fatal(self, "cannot delete compacted segments")
                   : 0;
    if (rl_log_first_index(self->log) > first) {
        char when[RL_READ_TIME_TEXT];
        rl_logf(RL_LOG_INFO,
                "%s%sretention (%s): dropped indexes %" PRIu64 "..%" PRIu64
                "; the log starts at index %" PRIu64 " (stamped %s), %" PRIu64
                " bytes kept",
                named ? self->name : "", named ? ": " : "", why, first,
                rl_log_first_index(self->log) - 1,
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
    bool stalled = self->sync_in_flight &&
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
    rl_group_wait_spare(self);
    rl_group_wait_sync(self);
    if (self->failed)
        rc = -1;
    if (rc == 0 && self->config->fsync && rl_log_sync(self->log) != 0)
        rc = -1;
    rl_group_answer_all_shutting_down(self);
    return rc;
}

/* ---- State ---- */

rl_raft_t *rl_group_raft(rl_group_t *self)
{
    return self->raft;
}

uint64_t rl_group_id(const rl_group_t *self)
{
    return self->id;
}

const char *rl_group_name(const rl_group_t *self)
{
    return self->name;
}

const char *rl_group_dir(const rl_group_t *self)
{
    return self->dir;
}

void rl_group_describe(rl_group_t *self, rl_log_desc_t *out)
{
    rl_raft_status_t status;
    rl_raft_status(self->raft, &status);
    uint64_t last = rl_log_last_index(self->log);
    *out = (rl_log_desc_t){
        .name = rl_str(self->name),
        .group = self->id,
        .role = rl_str(rl_raft_role_name(status.role)),
        .leader = status.leader,
        .term = status.term,
        .commit = status.commit,
        .last = last,
        .first = rl_log_first_index(self->log),
        .lag = last > status.commit ? last - status.commit : 0,
    };
}

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
        .sync_running_us =
            self->sync_in_flight ? now_us - self->sync_started : 0,
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
    c->filesystem_syncs = ls.filesystem_syncs;
    c->pending_requests = rl_pending_count(self->pending);
    c->parked_reads = rl_pending_count_kind(self->pending, RL_PENDING_READ);
    c->parked_reads_refused = self->n_parked_refused;
    c->parked_reads_released = self->n_parked_released;
    c->read_waits_cut = self->n_waits_cut;
}

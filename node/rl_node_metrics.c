/*  rl_node_metrics.c - raftlog-node's /metrics and /readyz; see
    rl_node_metrics.h. The families are tables, in the order they are
    written; docs/METRICS.md lists them with their meaning.
*/
#include "rl_node_metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- Readiness ---- */

#define S_REASON(out, ...)                                                     \
    snprintf((out)->reason, sizeof((out)->reason), __VA_ARGS__)

/* Voters of the configuration heard from within `within` ms (this node
   counts when it votes), and how many vote. */
static size_t s_voters_heard(const rl_status_input_t *s, int64_t within,
                             size_t *voters)
{
    size_t heard = 0;
    *voters = 0;
    for (size_t i = 0; i < s->member_count; i++) {
        if (!s->members[i].voter)
            continue;
        (*voters)++;
        if (s->members[i].id == s->node_id) {
            heard++;
            continue;
        }
        int64_t since =
            rl_contacts_since(s->contacts, s->members[i].id, s->now);
        heard += since >= 0 && since <= within;
    }
    return heard;
}

void rl_node_readiness(const rl_node_metrics_input_t *in, rl_readiness_t *out)
{
    out->ready = false;
    if (in->group_count == 0) {
        S_REASON(out, "not ready: no log is open");
        return;
    }
    const rl_status_input_t *s = in->groups[0].status;
    const rl_group_metrics_t *g = in->groups[0].group;
    const rl_raft_status_t *r = &s->raft;
    int64_t timeout = in->election_timeout_ms;
    if (in->stopping) {
        S_REASON(out, "not ready: shutting down");
        return;
    }
    if (g->failed) {
        S_REASON(out, "not ready: a storage error stopped the node; see its "
                      "log");
        return;
    }
    if (in->disk_low) {
        S_REASON(out,
                 "not ready: disk space low: %" PRIu64 " bytes free, under "
                 "--min-free %" PRIu64,
                 s->counters.disk_free_bytes, in->min_free_bytes);
        return;
    }
    if (g->sync_running_us > timeout * 1000) {
        S_REASON(out,
                 "not ready: an fdatasync has been running for %" PRId64
                 " ms (election timeout %" PRId64 " ms): the disk stalls",
                 g->sync_running_us / 1000, timeout);
        return;
    }
    if (!r->member || !r->voter) {
        S_REASON(out,
                 "not ready: not a voting member (%s); a learner is "
                 "catching up",
                 r->member ? "a learner" : "not in the configuration");
        return;
    }
    if (!r->leader) {
        S_REASON(out, "not ready: no leader known in term %" PRIu64, r->term);
        return;
    }
    if (r->role == RL_RAFT_LEADER) {
        size_t voters;
        size_t heard = s_voters_heard(s, timeout, &voters);
        size_t needed = voters / 2 + 1;
        out->ready = heard >= needed;
        S_REASON(out,
                 "%s: leader of term %" PRIu64 "; %zu of %zu voters heard "
                 "within %" PRId64 " ms (%zu needed)",
                 out->ready ? "ready" : "not ready", r->term, heard, voters,
                 timeout, needed);
        return;
    }
    int64_t since = rl_contacts_since(s->contacts, r->leader, s->now);
    out->ready = since >= 0 && since <= timeout;
    if (out->ready)
        S_REASON(out,
                 "ready: follower of node %" PRIu64 " in term %" PRIu64
                 ", heard %" PRId64 " ms ago",
                 r->leader, r->term, since);
    else if (since < 0)
        S_REASON(out,
                 "not ready: follower of node %" PRIu64 " in term %" PRIu64
                 ", never heard from it",
                 r->leader, r->term);
    else
        S_REASON(out,
                 "not ready: follower of node %" PRIu64 " in term %" PRIu64
                 ", not heard from it for %" PRId64 " ms (election timeout "
                 "%" PRId64 " ms)",
                 r->leader, r->term, since, timeout);
}

/* ---- Families of a log (one group) ---- */

typedef const rl_node_metrics_group_t s_group_t;

#define S_GROUP_VALUE(fn, expr)                                                \
    static uint64_t fn(s_group_t *g)                                           \
    {                                                                          \
        return (expr);                                                         \
    }

S_GROUP_VALUE(s_term, g->status->raft.term)
S_GROUP_VALUE(s_leader, g->status->raft.leader)
S_GROUP_VALUE(s_has_leader, g->status->raft.leader != 0)
S_GROUP_VALUE(s_leader_changes, g->status->counters.leader_changes)
S_GROUP_VALUE(s_elections, g->status->counters.elections)
S_GROUP_VALUE(s_commit, g->status->raft.commit)
S_GROUP_VALUE(s_last, g->status->last)
S_GROUP_VALUE(s_first, g->status->first)
S_GROUP_VALUE(s_durable, g->group->durable_index)
S_GROUP_VALUE(s_append_requests, g->status->counters.append_requests)
S_GROUP_VALUE(s_appended_entries, g->status->counters.appended_entries)
S_GROUP_VALUE(s_appended_bytes, g->status->counters.appended_bytes)
S_GROUP_VALUE(s_reads, g->status->counters.reads)
S_GROUP_VALUE(s_not_leader, g->group->not_leader)
S_GROUP_VALUE(s_fsyncs, g->status->counters.fsyncs)
S_GROUP_VALUE(s_group_commits, g->status->counters.group_commits)
S_GROUP_VALUE(s_spares, g->status->counters.spare_segments)
S_GROUP_VALUE(s_filesystem_syncs, g->status->counters.filesystem_syncs)
S_GROUP_VALUE(s_segments, g->group->segments)
S_GROUP_VALUE(s_log_bytes, g->group->log_bytes)
S_GROUP_VALUE(s_pending, g->status->counters.pending_requests)
S_GROUP_VALUE(s_parked, g->status->counters.parked_reads)
S_GROUP_VALUE(s_parked_refused, g->status->counters.parked_reads_refused)
S_GROUP_VALUE(s_parked_released, g->status->counters.parked_reads_released)
S_GROUP_VALUE(s_waits_cut, g->status->counters.read_waits_cut)
S_GROUP_VALUE(s_snapshots_sent, g->group->snapshots_sent)
S_GROUP_VALUE(s_snapshot_bytes_sent, g->group->snapshot_bytes_sent)
S_GROUP_VALUE(s_snapshots_received, g->group->snapshots_received)
S_GROUP_VALUE(s_snapshots_taken, g->group->snapshots_taken)
S_GROUP_VALUE(s_members, g->status->member_count)

typedef struct {
    const char *name; /* the family */
    const char *type; /* counter or gauge */
    const char *help; /* its HELP line */
    uint64_t (*value)(s_group_t *g);
} s_family_t;

#define C RL_METRICS_COUNTER
#define G RL_METRICS_GAUGE

static const s_family_t s_group_families[] = {
    {"raftlog_term", G, "Current Raft term.", s_term},
    {"raftlog_leader_id", G, "Id of the leader this node knows, 0 for none.",
     s_leader},
    {"raftlog_has_leader", G, "1 when this node knows a leader.", s_has_leader},
    {"raftlog_leader_changes_total", C,
     "Changes of the leader this node knows (to none included).",
     s_leader_changes},
    {"raftlog_elections_total", C, "Times this node became a candidate.",
     s_elections},
    {"raftlog_members", G, "Servers in the latest configuration.", s_members},
    {"raftlog_commit_index", G, "Highest index known committed.", s_commit},
    {"raftlog_last_index", G, "Last index in this node's log.", s_last},
    {"raftlog_first_index", G, "First index this node retains.", s_first},
    {"raftlog_durable_index", G, "Last index fsynced on this node.", s_durable},
    {"raftlog_append_requests_total", C,
     "APPEND_REQUESTs this node accepted as leader (duplicates included).",
     s_append_requests},
    {"raftlog_appended_entries_total", C,
     "Entries those requests appended (duplicates excluded).",
     s_appended_entries},
    {"raftlog_appended_bytes_total", C,
     "Payload bytes of the entries appended.", s_appended_bytes},
    {"raftlog_reads_total", C, "READ_OK replies sent.", s_reads},
    {"raftlog_not_leader_replies_total", C,
     "NOT_LEADER replies sent (requests for the leader sent elsewhere).",
     s_not_leader},
    {"raftlog_fsyncs_total", C, "fdatasync calls on the log.", s_fsyncs},
    {"raftlog_group_commits_total", C,
     "fsyncs that made entries durable (each covers many appends).",
     s_group_commits},
    {"raftlog_filesystem_syncs_total", C,
     "Group commits made durable by one syncfs of the data directory's "
     "filesystem with other logs' (--syncfs-from), not by fdatasync.",
     s_filesystem_syncs},
    {"raftlog_spare_segments_total", C,
     "Segments that began as a spare written ahead.", s_spares},
    {"raftlog_log_segments", G, "Segment files of the log.", s_segments},
    {"raftlog_log_bytes", G, "Bytes of log on disk.", s_log_bytes},
    {"raftlog_pending_requests", G,
     "Client requests waiting for an answer (appends, long polls, ...).",
     s_pending},
    {"raftlog_parked_reads", G, "Long-poll READs waiting.", s_parked},
    {"raftlog_parked_reads_refused_total", C,
     "Long-poll READs refused BUSY: --max-parked-reads or "
     "--max-client-parked-reads reached.",
     s_parked_refused},
    {"raftlog_parked_reads_released_total", C,
     "Long-poll READs dropped because their client went away.",
     s_parked_released},
    {"raftlog_read_waits_cut_total", C, "READ wait_ms cut to --max-read-wait.",
     s_waits_cut},
    {"raftlog_snapshots_sent_total", C,
     "Snapshot transfers begun to followers (InstallSnapshot).",
     s_snapshots_sent},
    {"raftlog_snapshot_sent_bytes_total", C, "Snapshot chunk bytes sent.",
     s_snapshot_bytes_sent},
    {"raftlog_snapshots_received_total", C,
     "Snapshots received from a leader and installed.", s_snapshots_received},
    {"raftlog_snapshots_taken_total", C,
     "Snapshots this node took of its own log (retention).", s_snapshots_taken},
};

/* The roles a node reports, as STATUS spells them. */
static const char *const s_roles[] = {"follower", "learner", "precandidate",
                                      "candidate", "leader"};

static const char *s_role(const rl_raft_status_t *r)
{
    if (r->member && !r->voter && r->role == RL_RAFT_FOLLOWER)
        return "learner";
    switch (r->role) {
    case RL_RAFT_LEADER:
        return "leader";
    case RL_RAFT_CANDIDATE:
        return "candidate";
    case RL_RAFT_PRE_CANDIDATE:
        return "precandidate";
    default:
        return "follower";
    }
}

/* raftlog_role{role=...}: 1 for the role held, 0 for the others (a state
   set: `raftlog_role{role="leader"} == 1` finds the leader). */
static void s_render_roles(const rl_node_metrics_input_t *in, rl_metrics_t *out)
{
    rl_metrics_family(out, "raftlog_role", G,
                      "The Raft role this node holds (1) and the others (0).");
    for (size_t k = 0; k < in->group_count; k++) {
        const char *held = s_role(&in->groups[k].status->raft);
        for (size_t i = 0; i < sizeof(s_roles) / sizeof(s_roles[0]); i++) {
            rl_labels_t labels = in->groups[k].labels;
            rl_metrics_u64(out, "raftlog_role",
                           rl_labels_add(&labels, "role", s_roles[i]),
                           strcmp(held, s_roles[i]) == 0);
        }
    }
}

/* The leader's view of each peer: match index and lag (leader only), and
   how long since each was heard from (any role). */
static void s_render_peers(const rl_node_metrics_input_t *in, rl_metrics_t *out)
{
    static const char *const names[] = {"raftlog_peer_match_index",
                                        "raftlog_peer_lag_entries",
                                        "raftlog_peer_last_contact_seconds"};
    static const char *const helps[] = {
        "Leader only: the last index known replicated on each peer.",
        "Leader only: entries each peer is behind the leader's last index.",
        "Seconds since each peer was last heard from (absent: never)."};
    for (size_t f = 0; f < 3; f++) {
        rl_metrics_family(out, names[f], G, helps[f]);
        for (size_t k = 0; k < in->group_count; k++) {
            const rl_status_input_t *s = in->groups[k].status;
            bool leads = s->raft.role == RL_RAFT_LEADER;
            for (size_t i = 0; i < s->member_count && i < RL_MAX_MEMBERS; i++) {
                uint64_t id = s->members[i].id;
                if (id == s->node_id || (f < 2 && !leads))
                    continue;
                rl_labels_t labels = in->groups[k].labels;
                rl_labels_add_u64(&labels, "peer", id);
                uint64_t match = s->match[i];
                int64_t since = rl_contacts_since(s->contacts, id, s->now);
                if (f == 0)
                    rl_metrics_u64(out, names[f], &labels, match);
                else if (f == 1)
                    rl_metrics_u64(out, names[f], &labels,
                                   s->last > match ? s->last - match : 0);
                else if (since >= 0)
                    rl_metrics_double(out, names[f], &labels,
                                      (double)since / 1000.0);
            }
        }
    }
}

static void s_render_group_families(const rl_node_metrics_input_t *in,
                                    rl_metrics_t *out)
{
    for (size_t f = 0;
         f < sizeof(s_group_families) / sizeof(s_group_families[0]); f++) {
        const s_family_t *family = &s_group_families[f];
        rl_metrics_family(out, family->name, family->type, family->help);
        for (size_t k = 0; k < in->group_count; k++)
            rl_metrics_u64(out, family->name, &in->groups[k].labels,
                           family->value(&in->groups[k]));
    }
    rl_metrics_family(out, "raftlog_append_latency_seconds",
                      RL_METRICS_HISTOGRAM,
                      "From an APPEND_REQUEST accepted by the leader to its "
                      "APPEND_OK (committed on a majority).");
    for (size_t k = 0; k < in->group_count; k++)
        rl_metrics_histogram(out, "raftlog_append_latency_seconds",
                             &in->groups[k].labels,
                             in->groups[k].group->append_latency);
    rl_metrics_family(out, "raftlog_fsync_latency_seconds",
                      RL_METRICS_HISTOGRAM,
                      "Time of each fdatasync of the log (a group commit).");
    for (size_t k = 0; k < in->group_count; k++)
        rl_metrics_histogram(out, "raftlog_fsync_latency_seconds",
                             &in->groups[k].labels,
                             in->groups[k].group->fsync_latency);
}

/* ---- Families of the node ---- */

/* ERROR replies by code, as the front door counted them: every error a
   client got from this node, BUSY of the front door's own budgets
   included. Every code is written, zeros included, so that rate() works
   from the first error. */
static void s_render_errors(const rl_node_metrics_input_t *in,
                            rl_metrics_t *out)
{
    rl_metrics_family(out, "raftlog_errors_total", C,
                      "ERROR replies sent to clients, by code "
                      "(docs/PROTOCOL.md).");
    for (int code = 1; code < RL_ERR__COUNT; code++) {
        rl_labels_t labels = in->labels;
        rl_metrics_u64(out, "raftlog_errors_total",
                       rl_labels_add(&labels, "code", rl_error_name(code)),
                       in->errors[code]);
    }
}

static void s_render_rejected(const rl_node_metrics_input_t *in,
                              rl_metrics_t *out)
{
    uint64_t non_member = 0, bad_term = 0;
    for (size_t k = 0; k < in->group_count; k++) {
        non_member += in->groups[k].status->raft.dropped_non_member;
        bad_term += in->groups[k].status->raft.dropped_bad_term;
    }
    const struct {
        const char *reason;
        uint64_t value;
    } rows[] = {{"undecodable", in->peer_dropped_bad},
                {"wrong_cluster", in->peer_dropped_wrong_cluster},
                {"non_member", non_member},
                {"bad_term", bad_term},
                {"key", in->groups[0].status->counters.peer_dropped_key}};
    rl_metrics_family(out, "raftlog_peer_messages_rejected_total", C,
                      "Peer messages dropped: undecodable, from another "
                      "cluster, from a non-member, with an impossible "
                      "term, or (CURVE) on a connection whose key is not "
                      "the sender's node certificate.");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        rl_labels_t labels = in->labels;
        rl_metrics_u64(out, "raftlog_peer_messages_rejected_total",
                       rl_labels_add(&labels, "reason", rows[i].reason),
                       rows[i].value);
    }
}

/* The node-wide counters STATUS has, from the first group's input (the
   node fills them once). */
static void s_render_node_families(const rl_node_metrics_input_t *in,
                                   const rl_readiness_t *readiness,
                                   rl_metrics_t *out)
{
    const rl_node_counters_t *c = &in->groups[0].status->counters;
    const struct {
        const char *name, *type, *help;
        uint64_t value;
    } rows[] = {
        {"raftlog_ready", G,
         "1 when /readyz answers 200: part of a quorum with a leader, disk "
         "writable.",
         readiness->ready},
        {"raftlog_disk_free_bytes", G,
         "Free bytes on the data directory's file system.", c->disk_free_bytes},
        {"raftlog_disk_low", G,
         "1 while free space is under --min-free (appends refused "
         "NO_SPACE).",
         in->disk_low},
        {"raftlog_client_connections", G, "Client connections open.",
         c->clients},
        {"raftlog_client_connections_max", G,
         "The client connection limit in force.", c->max_clients},
        {"raftlog_client_connections_refused_total", C,
         "Client connections closed at once: over the limit.",
         c->clients_refused},
        {"raftlog_peer_connections", G, "Connections to the peer port.",
         c->peer_connections},
        {"raftlog_peer_connections_refused_total", C,
         "Peer port connections closed at once: over the limit.",
         c->peer_connections_refused},
        {"raftlog_queued_reply_bytes", G,
         "Reply bytes waiting to be written to clients.",
         c->queued_reply_bytes},
        {"raftlog_log_lines_suppressed_total", C,
         "Repeated warnings not printed (rate limit).",
         c->log_lines_suppressed},
        {"raftlog_insecure", G,
         "1 when the node runs without CURVE keys (docs/SECURITY.md).",
         c->insecure},
        {"raftlog_keys", G, "Certificates allowed in the --keys directory.",
         c->keys},
        {"raftlog_handshakes_failed_total", C,
         "Client and peer connections whose ZeroMQ handshake failed (a key "
         "refused, a wrong server key, no CURVE).",
         c->handshakes_failed},
        {"raftlog_keys_refused_total", C,
         "Handshakes refused: the key is not in the --keys directory.",
         c->keys_refused},
        {"raftlog_metrics_requests_total", C,
         "HTTP requests answered on this monitoring port.", in->http_requests},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        rl_metrics_family(out, rows[i].name, rows[i].type, rows[i].help);
        rl_metrics_u64(out, rows[i].name, &in->labels, rows[i].value);
    }
    s_render_errors(in, out);
    s_render_rejected(in, out);
}

void rl_node_metrics_render(const rl_node_metrics_input_t *in,
                            const rl_readiness_t *readiness, rl_metrics_t *out)
{
    rl_labels_t info = in->labels;
    rl_labels_add(&info, "version", in->version);
    rl_labels_add(&info, "cluster", in->cluster_id);
    rl_metrics_family(out, "raftlog_build_info", G,
                      "Always 1; the labels say the version and cluster.");
    rl_metrics_u64(out, "raftlog_build_info", &info, 1);
    if (in->group_count) {
        s_render_roles(in, out);
        s_render_group_families(in, out);
        s_render_peers(in, out);
        s_render_node_families(in, readiness, out);
    }
    rl_metrics_process(out, &in->labels, in->open_fds);
}

#undef C
#undef G

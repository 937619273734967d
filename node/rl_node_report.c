/*  rl_node_report.c - what a node says about itself: STATUS_OK (the
    request's log, and `logs`: every log it hosts), and every
    S_PUBLISH_MS the metrics page, one set of figures per log, with the
    readiness verdict, for the monitoring port and systemd. See
    rl_node.h.
*/
#include "rl_node_private.h"

#include <inttypes.h>
#include <string.h>

#include "rl_logging.h"
#include "rl_node_metrics.h"
#include "rl_service.h"

/* ---- STATUS ---- */

/* Gathers what STATUS reports (and /metrics, with more) about group. */
static void s_gather_status(rl_node_t *self, rl_group_t *group,
                            rl_status_input_t *in_p, uint64_t *match)
{
    rl_status_input_t in = {0};
    rl_group_status(group, &in, match);
    in.node_id = self->config.id;
    in.contacts = &self->contacts;
    in.now = zclock_mono();
    in.counters.bad_requests = self->n_bad_requests;
    in.counters.disk_free_bytes = self->disk_free;
    in.counters.uptime_ms = (uint64_t)(in.now - self->started);
    rl_front_stats_t front;
    rl_front_stats(self->front, &front);
    in.counters.clients = front.clients;
    in.counters.max_clients = front.max_clients;
    in.counters.clients_refused = front.clients_refused;
    in.counters.queued_reply_bytes = front.queued_bytes;
    in.counters.busy_queue_full = front.busy;
    in.counters.peer_connections = rl_conns_count(self->peer_conns);
    in.counters.peer_connections_refused = rl_conns_refused(self->peer_conns);
    in.counters.fd_limit = self->fd_limit;
    in.counters.fd_limit_at_start = self->fd_limit_at_start;
    in.counters.log_lines_suppressed = rl_logging_suppressed();
    in.counters.insecure = self->keys == NULL;
    in.counters.keys = self->keys ? rl_keys_count(self->keys) : 0;
    in.counters.forbidden = front.forbidden;
    in.counters.handshakes_failed =
        front.handshakes_failed + rl_conns_handshakes_failed(self->peer_conns);
    in.counters.keys_refused = rl_keys_auth_refused();
    in.counters.peer_dropped_key = self->intake.dropped_key;
    rl_peers_stats_t peers;
    rl_peers_stats(self->peers, &peers);
    in.counters.peer_messages_sent = peers.messages_sent;
    in.counters.peer_frames_sent = peers.frames_sent;
    in.counters.peer_dropped_frames = peers.dropped_frames;
    in.counters.peer_dropped_no_group = rl_groups_dropped_unknown(self->groups);
    in.counters.logs = rl_groups_count(self->groups);
    in.counters.logs_quiet = rl_groups_quiet_count(self->groups);
    *in_p = in;
}

/* A request named a log this node does not host. Only the leader of
   `default` (group 0, which holds the catalog) says it does not exist: a
   follower may not have applied the log's creation yet (a client that
   has just created it, and asks a follower first, must not be told
   NOT_FOUND), so it sends the client to that leader (NOT_LEADER echoing
   the log; no leader named when it knows none: ask again). Nor does a
   new leader before an entry of its term commits: a creation committed
   under the leader before may not have reached its commit index yet
   (BUSY: ask again). */
void rl_node_reply_no_log(rl_node_t *self, zmsg_t **envelope,
                          const rl_msg_t *msg)
{
    rl_group_t *catalog = rl_groups_default(self->groups);
    if (rl_group_role(catalog) != RL_RAFT_LEADER) {
        rl_group_redirect_to_catalog(catalog, envelope, msg->id, msg->log);
        return;
    }
    rl_raft_status_t status;
    rl_raft_status(rl_group_raft(catalog), &status);
    if (!status.term_committed) {
        rl_front_error(self->front, envelope, msg->id, RL_ERR_BUSY, 0,
                       "this node has just become the leader of default "
                       "and cannot yet say whether a log exists; try again");
        return;
    }
    char shown[RL_LOG_ESCAPE_SIZE(RL_MAX_LOG_NAME)];
    rl_log_escape(msg->log.ptr, msg->log.size, shown, sizeof(shown));
    rl_front_error(self->front, envelope, msg->id, RL_ERR_NOT_FOUND, 0,
                   "no log named %s: raftlog logs list", shown);
}

/* STATUS_OK: the fields of the request's log (`default` when it names
   none), and `logs`: every log this node hosts, or that one. */
void rl_node_reply_status(rl_node_t *self, zmsg_t **envelope,
                          const rl_msg_t *request)
{
    rl_group_t *group = rl_groups_by_name(self->groups, request->log);
    if (!group) {
        rl_node_reply_no_log(self, envelope, request);
        return;
    }
    rl_status_input_t in;
    uint64_t match[RL_MAX_MEMBERS];
    s_gather_status(self, group, &in, match);
    rl_status_reply_t reply;
    rl_status_build(&in, request->id, &reply);
    size_t count = request->log.size ? 1 : rl_groups_count(self->groups);
    rl_log_desc_t *logs = malloc(count * sizeof(*logs));
    if (logs) {
        for (size_t i = 0; i < count; i++)
            rl_group_describe(request->log.size ? group
                                                : rl_groups_at(self->groups, i),
                              &logs[i]);
        reply.msg.body.status_ok.logs = logs;
        reply.msg.body.status_ok.log_count = count;
    }
    rl_front_reply(self->front, envelope, &reply.msg);
    free(logs);
}

/* ---- Metrics, readiness, systemd ---- */

/* Renders the metrics page and judges readiness (rl_node_metrics.h),
   hands both to the monitoring port (rl_http.h), and tells systemd the
   verdict as the unit's status line. Every S_PUBLISH_MS, at start and
   when a stop begins. */
void rl_node_publish(rl_node_t *self)
{
    /* One set of figures per log, labelled node and (named logs) log. */
    size_t count = rl_groups_count(self->groups);
    rl_status_input_t *status = calloc(count, sizeof(*status));
    uint64_t(*match)[RL_MAX_MEMBERS] = calloc(count, sizeof(*match));
    rl_group_metrics_t *group = calloc(count, sizeof(*group));
    rl_node_metrics_group_t *groups = calloc(count, sizeof(*groups));
    if (!status || !match || !group || !groups) {
        rl_logf(RL_LOG_ERROR, "out of memory gathering the metrics");
        free(status);
        free(match);
        free(group);
        free(groups);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        rl_group_t *g = rl_groups_at(self->groups, i);
        s_gather_status(self, g, &status[i], match[i]);
        rl_group_metrics(g, &group[i], zclock_usecs());
        groups[i] =
            (rl_node_metrics_group_t){.status = &status[i], .group = &group[i]};
        rl_labels_add_u64(&groups[i].labels, "node", self->config.id);
        if (rl_group_id(g) != 0)
            rl_labels_add(&groups[i].labels, "log", rl_group_name(g));
    }
    rl_labels_t node = {0};
    rl_labels_add_u64(&node, "node", self->config.id);
    rl_node_metrics_input_t in = {
        .labels = node,
        .version = RL_VERSION,
        .cluster_id = self->config.cluster_id,
        .groups = groups,
        .group_count = count,
        .peer_dropped_bad = self->intake.dropped_bad,
        .peer_dropped_wrong_cluster = self->intake.dropped_wrong_cluster,
        .election_timeout_ms = self->config.election_timeout_ms,
        .min_free_bytes = self->config.min_free_bytes,
        .disk_low = self->disk_low,
        .stopping = self->stopping,
        .open_fds = self->open_fds,
    };
    rl_front_stats_t front;
    rl_front_stats(self->front, &front);
    memcpy(in.errors, front.errors, sizeof(in.errors));
    rl_readiness_t readiness;
    rl_node_readiness(&in, &readiness);
    rl_service_status(readiness.reason);
    if (!self->http) {
        free(status);
        free(match);
        free(group);
        free(groups);
        return;
    }
    rl_http_stats_t http;
    rl_http_stats(self->http, &http);
    in.http_requests = http.requests;
    rl_metrics_reset(&self->page);
    rl_node_metrics_render(&in, &readiness, &self->page);
    if (self->page.overflow)
        rl_logf(RL_LOG_ERROR, "the metrics page could not be rendered (out "
                              "of memory); /metrics answers 500");
    rl_http_publish(self->http, &self->page, readiness.ready, readiness.reason,
                    rl_http_now_ms());
    free(status);
    free(match);
    free(group);
    free(groups);
}

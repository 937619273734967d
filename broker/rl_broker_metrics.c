/*  rl_broker_metrics.c - what raftlog-broker exports on its monitoring
    port (docs/METRICS.md, "The broker"): its requests, retries, errors,
    its view of the leader and each node's health, and its readiness:
    ready while it knows a live leader to send appends to.

    The loop calls rl_broker_publish() every 500 ms (rl_broker.c); the
    page goes to common/rl_http, which serves it from its own thread.
    Series carry no constant label (a broker has no id; Prometheus adds
    the instance); a node's carry its endpoint and id.
*/
#include "rl_broker_private.h"

#include <inttypes.h>
#include <string.h>

#include "rl_logging.h"
#include "rl_loop.h"
#include "rl_service.h"

#define C RL_METRICS_COUNTER
#define G RL_METRICS_GAUGE

/* /readyz: a live leader is known and the broker is not stopping. */
static bool s_readiness(const rl_broker_t *self, char *reason, size_t size)
{
    size_t alive = 0;
    for (size_t i = 0; i < self->node_count; i++)
        alive += self->nodes[i].alive;
    if (self->stopping) {
        snprintf(reason, size, "not ready: shutting down");
        return false;
    }
    const rl_broker_log_t *log = &self->default_log;
    if (log->leader < 0) {
        snprintf(reason, size,
                 "not ready: no leader known for %" PRId64
                 " ms; %zu of %zu nodes answer",
                 log->leaderless ? zclock_mono() - log->leaderless : 0, alive,
                 self->node_count);
        return false;
    }
    snprintf(reason, size,
             "ready: node %" PRIu64 " leads term %" PRIu64
             "; %zu of %zu nodes answer",
             self->nodes[log->leader].id, log->leader_term, alive,
             self->node_count);
    return true;
}

static void s_one(rl_metrics_t *m, const char *name, const char *type,
                  const char *help, uint64_t value)
{
    rl_metrics_family(m, name, type, help);
    rl_metrics_u64(m, name, NULL, value);
}

static void s_render(const rl_broker_t *self, bool ready, rl_metrics_t *m)
{
    rl_front_stats_t front;
    rl_front_stats(self->front, &front);
    size_t alive = 0;
    for (size_t i = 0; i < self->node_count; i++)
        alive += self->nodes[i].alive;
    rl_labels_t info = {0};
    rl_labels_add(&info, "version", RL_VERSION);
    rl_metrics_family(m, "raftlog_broker_build_info", G,
                      "Always 1; the label says the version.");
    rl_metrics_u64(m, "raftlog_broker_build_info", &info, 1);
    s_one(m, "raftlog_broker_ready", G,
          "1 when /readyz answers 200: a live leader is known.", ready);
    const rl_broker_log_t *log = &self->default_log;
    s_one(m, "raftlog_broker_leader_id", G,
          "Node id the broker sends the default log's leader-bound requests "
          "to, 0 for none.",
          log->leader >= 0 ? self->nodes[log->leader].id : 0);
    s_one(m, "raftlog_broker_leader_term", G,
          "Highest term of the default log seen in any node's STATUS.",
          log->leader_term);
    s_one(m, "raftlog_broker_logs", G,
          "Named logs whose leaders the broker tracks (--max-logs).",
          rl_broker_log_count(self));
    s_one(m, "raftlog_broker_leader_changes_total", C,
          "Changes of the broker's leader view (to none included).",
          self->n_leader_changes);
    s_one(m, "raftlog_broker_nodes", G, "Nodes given.", self->node_count);
    s_one(m, "raftlog_broker_nodes_alive", G, "Nodes answering now.", alive);
    s_one(m, "raftlog_broker_node_deaths_total", C,
          "Nodes declared dead (missed --liveness heartbeats).",
          self->n_node_deaths);
    static const char *const node_names[] = {"raftlog_broker_node_up",
                                             "raftlog_broker_node_in_flight"};
    static const char *const node_helps[] = {
        "1 while the node answers the broker's heartbeats.",
        "Requests sent to the node, not yet answered."};
    for (size_t f = 0; f < 2; f++) {
        rl_metrics_family(m, node_names[f], G, node_helps[f]);
        for (size_t i = 0; i < self->node_count; i++) {
            const rl_broker_node_t *n = &self->nodes[i];
            rl_labels_t labels = {0};
            rl_labels_add(&labels, "endpoint", n->endpoint);
            rl_labels_add_u64(&labels, "node", n->id);
            rl_metrics_u64(m, node_names[f], &labels,
                           f == 0 ? n->alive : n->in_flight);
        }
    }
    s_one(m, "raftlog_broker_in_flight", G,
          "Requests held now, waiting or sent.", self->request_count);
    s_one(m, "raftlog_broker_requests_total", C, "Requests accepted.",
          self->n_requests);
    s_one(m, "raftlog_broker_retries_total", C,
          "Re-sends of a request to a node (NOT_LEADER, BUSY, a node's "
          "TIMEOUT, a lost attempt).",
          self->n_retries);
    s_one(m, "raftlog_broker_redirects_total", C,
          "NOT_LEADER replies followed.", self->n_redirects);
    s_one(m, "raftlog_broker_requests_released_total", C,
          "Requests forgotten because their client went away.",
          self->n_released);
    s_one(m, "raftlog_broker_read_waits_cut_total", C,
          "READ wait_ms cut to --max-read-wait.", self->n_waits_cut);
    rl_metrics_family(m, "raftlog_broker_errors_total", C,
                      "Requests the broker itself answered with an error, by "
                      "code (nodes' errors are passed on, not counted).");
    for (int code = 1; code < RL_ERR__COUNT; code++) {
        rl_labels_t labels = {0};
        rl_metrics_u64(m, "raftlog_broker_errors_total",
                       rl_labels_add(&labels, "code", rl_error_name(code)),
                       front.errors[code]);
    }
    s_one(m, "raftlog_broker_client_connections", G, "Client connections open.",
          front.clients);
    s_one(m, "raftlog_broker_client_connections_max", G,
          "The client connection limit in force.", front.max_clients);
    s_one(m, "raftlog_broker_client_connections_refused_total", C,
          "Client connections closed at once: over the limit.",
          front.clients_refused);
    s_one(m, "raftlog_broker_queued_reply_bytes", G,
          "Reply bytes waiting to be written to clients.", front.queued_bytes);
    s_one(m, "raftlog_broker_log_lines_suppressed_total", C,
          "Repeated warnings not printed (rate limit).",
          rl_logging_suppressed());
    s_one(m, "raftlog_broker_insecure", G,
          "1 when the broker runs without CURVE keys (docs/SECURITY.md).",
          self->keys == NULL);
    s_one(m, "raftlog_broker_handshakes_failed_total", C,
          "Client connections whose ZeroMQ handshake failed (a key refused, "
          "a wrong server key, no CURVE).",
          front.handshakes_failed);
    rl_http_stats_t http;
    rl_http_stats(self->http, &http);
    s_one(m, "raftlog_broker_metrics_requests_total", C,
          "HTTP requests answered on this monitoring port.", http.requests);
    rl_metrics_process(m, NULL, rl_loop_open_fds());
}

void rl_broker_publish(rl_broker_t *self)
{
    char reason[RL_HTTP_REASON_SIZE];
    bool ready = s_readiness(self, reason, sizeof(reason));
    rl_service_status(reason);
    if (!self->http)
        return;
    rl_metrics_reset(&self->page);
    s_render(self, ready, &self->page);
    if (self->page.overflow)
        rl_logf(RL_LOG_ERROR, "the metrics page could not be rendered (out "
                              "of memory); /metrics answers 500");
    rl_http_publish(self->http, &self->page, ready, reason, rl_http_now_ms());
}

#undef C
#undef G

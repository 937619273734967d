/*  rl_broker_status.c - STATUS through the broker: the answering node's
    STATUS_OK with the broker's own counters added (docs/BROKER.md,
    "STATUS through the broker"). The one reply the broker decodes and
    encodes again: the others pass through (rl_broker_route.c).
*/
#include "rl_broker_private.h"

#include <string.h>

#include "rl_logging.h"
/* Counters added to a STATUS reply, at most (and per node). */
#define S_BROKER_COUNTERS 31
#define S_NODE_COUNTERS   3

/* Adds the broker's counters to a STATUS_OK from a node and returns it to
   the client of r. */
void rl_broker_reply_status(rl_broker_t *self, rl_broker_request_t *r,
                            const rl_broker_log_t *log, rl_msg_t *msg)
{
    rl_status_ok_t *st = &msg->body.status_ok;
    size_t room = 256;
    size_t own = S_BROKER_COUNTERS + S_NODE_COUNTERS * self->node_count;
    size_t keep =
        st->counter_count + own > room ? room - own : st->counter_count;
    rl_counter_t counters[256];
    char names[RL_MAX_MEMBERS * S_NODE_COUNTERS][40];
    if (keep) /* a STATUS_OK may have none (counters is then NULL) */
        memcpy(counters, st->counters, keep * sizeof(rl_counter_t));
    size_t c = keep;
    size_t alive = 0;
    for (size_t i = 0; i < self->node_count; i++)
        alive += self->nodes[i].alive;
#define S_COUNTER(name, value)                                                 \
    counters[c++] = (rl_counter_t){rl_str(name), (uint64_t)(value)}
    S_COUNTER("broker_leader",
              log && log->leader >= 0 ? self->nodes[log->leader].id : 0);
    S_COUNTER("broker_leader_term", log ? log->leader_term : 0);
    S_COUNTER("broker_logs", rl_broker_log_count(self));
    S_COUNTER("broker_logs_untracked", self->n_logs_full);
    S_COUNTER("broker_nodes", self->node_count);
    S_COUNTER("broker_nodes_alive", alive);
    S_COUNTER("broker_in_flight", self->request_count);
    S_COUNTER("broker_requests", self->n_requests);
    S_COUNTER("broker_retries", self->n_retries);
    S_COUNTER("broker_redirects", self->n_redirects);
    S_COUNTER("broker_timeouts", self->n_timeouts);
    S_COUNTER("broker_no_leader", self->n_no_leader);
    S_COUNTER("broker_busy", self->n_busy);
    S_COUNTER("broker_bad_requests", self->n_bad_requests);
    S_COUNTER("broker_leader_changes", self->n_leader_changes);
    S_COUNTER("broker_node_deaths", self->n_node_deaths);
    S_COUNTER("broker_uptime_ms", zclock_mono() - self->started);
    rl_front_stats_t front;
    rl_front_stats(self->front, &front);
    S_COUNTER("broker_clients", front.clients);
    S_COUNTER("broker_max_clients", front.max_clients);
    S_COUNTER("broker_clients_refused", front.clients_refused);
    S_COUNTER("broker_queued_reply_bytes", front.queued_bytes);
    S_COUNTER("broker_busy_queue_full", front.busy);
    S_COUNTER("broker_busy_client_requests", self->n_client_busy);
    S_COUNTER("broker_requests_released", self->n_released);
    S_COUNTER("broker_read_waits_cut", self->n_waits_cut);
    S_COUNTER("broker_fd_limit", self->fd_limit);
    S_COUNTER("broker_fd_limit_at_start", self->fd_limit_at_start);
    S_COUNTER("broker_log_lines_suppressed", rl_logging_suppressed());
    S_COUNTER("broker_insecure", self->keys == NULL);
    S_COUNTER("broker_forbidden", front.forbidden);
    S_COUNTER("broker_handshakes_failed", front.handshakes_failed);
    for (size_t i = 0; i < self->node_count; i++) {
        const rl_broker_node_t *n = &self->nodes[i];
        const char *what[S_NODE_COUNTERS] = {"id", "alive", "in_flight"};
        uint64_t values[S_NODE_COUNTERS] = {n->id, n->alive, n->in_flight};
        for (size_t k = 0; k < S_NODE_COUNTERS; k++) {
            char *name = names[i * S_NODE_COUNTERS + k];
            snprintf(name, sizeof(names[0]), "broker_node%zu_%s", i + 1,
                     what[k]);
            S_COUNTER(name, values[k]);
        }
    }
#undef S_COUNTER
    st->counters = counters;
    st->counter_count = c;
    rl_broker_send_to_client(self, &r->envelope, r->client_id, msg);
    rl_broker_forget(self, r);
}

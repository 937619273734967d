/*  rl_broker.c - raftlog-broker's event loop and life cycle; see
    rl_broker.h and docs/BROKER.md.

    The loop reads the front door (rl_broker_admit takes each request into
    the table, rl_broker_route.c), each node's DEALER (rl_broker_from_node,
    rl_broker_nodes.c), a housekeeping timer and the signals.
*/
#include "rl_broker_private.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "rl_logging.h"
#include "rl_loop.h"
#include "rl_service.h"

/* Descriptors kept free beyond those open and the client connections:
   replaced DEALERs, reconnections. */
#define S_FD_RESERVE 64
/* How often the client limit is checked against the descriptors. */
#define S_FD_CHECK_MS 1000
/* How often the metrics page and readiness are published (rl_http.h). */
#define S_PUBLISH_MS 500
static int s_node_index(rl_broker_t *self, zsock_t *reader)
{
    for (size_t i = 0; i < self->node_count; i++)
        if (self->nodes[i].dealer == reader)
            return (int)i;
    return -1;
}

/* What s_take_reply needs: the broker and the node it reads from. */
typedef struct {
    rl_broker_t *broker; /* the broker */
    int index;           /* the node whose DEALER is readable */
} s_node_reader_t;

/* Takes one reply off a node's DEALER (an rl_loop_take_fn): its last
   frame (the broker sends one and gets one back), read in place. */
static int s_take_reply(void *arg)
{
    s_node_reader_t *reader = arg;
    rl_broker_t *self = reader->broker;
    rl_broker_node_t *n = &self->nodes[reader->index];
    void *socket = zsock_resolve(n->dealer);
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        return 0;
    }
    while (zmq_msg_more(&frame)) {
        zmq_msg_close(&frame);
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, socket, ZMQ_DONTWAIT) < 0)
            break; /* cannot be: parts arrive together */
    }
    const uint8_t *data = zmq_msg_data(&frame);
    size_t size = zmq_msg_size(&frame);
    rl_peek_reply_t reply;
    char err[RL_CODEC_ERROR_SIZE];
    if (rl_peek_reply(data, size, &reply, err) != 0) {
        static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
        char shown[RL_LOG_ESCAPE_SIZE(RL_CODEC_ERROR_SIZE)];
        rl_logf_limited(&limit, RL_LOG_WARN, "dropped a bad reply from %s: %s",
                        n->endpoint,
                        rl_log_escape(err, strlen(err), shown, sizeof(shown)));
    } else {
        rl_broker_from_node(self, reader->index, data, size, &reply);
    }
    zmq_msg_close(&frame);
    return 1;
}

int rl_broker_on_node(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    rl_broker_t *self = arg;
    int index = s_node_index(self, reader);
    if (index < 0)
        return 0; /* a replaced DEALER; it is in the graveyard */
    s_node_reader_t node_reader = {self, index};
    return rl_loop_drain(s_take_reply, &node_reader);
}

/* Takes one client request (an rl_loop_take_fn). */
static int s_take_request(void *arg)
{
    rl_broker_t *self = arg;
    rl_front_request_t request;
    int rc = rl_front_recv(self->front, &request);
    if (rc < 0)
        return 0;
    if (rc == 0)
        rl_broker_admit(self, &request);
    rl_front_request_close(&request);
    return 1;
}

static int s_on_front(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    return rl_loop_drain(s_take_request, arg);
}

/* A client's connection closed: the requests held for it go. */
static void s_client_gone(void *arg, rl_front_held_t *held)
{
    rl_broker_release(arg, held);
}

/* Keeps the client connection limit below the descriptor limit: what is
   open now (the nodes' DEALERs among it), less the client connections,
   plus a reserve for replaced DEALERs, must stay free. */
static void s_check_fds(rl_broker_t *self)
{
    rl_front_stats_t front;
    rl_front_stats(self->front, &front);
    uint32_t limit = rl_loop_client_limit(
        self->config.max_clients, self->fd_limit, rl_loop_open_fds(),
        (uint32_t)(front.clients + front.clients_closing), S_FD_RESERVE);
    if (limit == front.max_clients)
        return;
    rl_front_set_max_clients(self->front, limit);
    /* Said once at warn; later moves (a segment more or less) at debug. */
    bool first = front.max_clients == self->config.max_clients;
    if (limit < self->config.max_clients)
        rl_logf(first ? RL_LOG_WARN : RL_LOG_DEBUG,
                "at most %u client connections (not --max-clients %u): the "
                "descriptor limit is %" PRIu64 "; raise it (ulimit -n, "
                "LimitNOFILE) for more",
                limit, self->config.max_clients, self->fd_limit);
}

static int s_on_front_events(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    rl_broker_t *self = arg;
    rl_front_process_events(self->front);
    return 0;
}

static int s_on_sweep(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_broker_t *self = arg;
    zsock_t *old;
    while ((old = zlist_pop(self->graveyard)))
        zsock_destroy(&old);
    int64_t now = zclock_mono();
    if (self->watchdog_ms && now - self->watchdog_pinged >= self->watchdog_ms) {
        self->watchdog_pinged = now;
        rl_service_watchdog();
    }
    if (now - self->fds_checked >= S_FD_CHECK_MS) {
        self->fds_checked = now;
        s_check_fds(self);
    }
    rl_broker_sweep_nodes(self, now);
    rl_broker_sweep_requests(self, now);
    if (self->stopping &&
        (self->request_count == 0 || now >= self->stop_deadline))
        return -1; /* rl_broker_run answers what is left */
    return 0;
}

/* Logs what a load of the keys directory warned about. */
static void s_log_key_warnings(const rl_keys_t *keys)
{
    for (size_t i = 0; i < rl_keys_warning_count(keys); i++)
        rl_logf(RL_LOG_WARN, "%s", rl_keys_warning(keys, i));
}

/* The keys timer: the clients' directory reloaded when it changed (a
   removed certificate is refused, on open connections too, within a
   second), and what the DEALERs' handshakes said. */
static int s_on_keys(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_broker_t *self = arg;
    rl_broker_check_handshakes(self);
    if (!self->keys)
        return 0;
    int rc = rl_keys_refresh(self->keys);
    /* By the generation: the front door may have reloaded the map since
       (rl_keys_lookup_fresh). */
    if (rl_keys_generation(self->keys) != self->keys_generation) {
        self->keys_generation = rl_keys_generation(self->keys);
        s_log_key_warnings(self->keys);
        rl_logf(RL_LOG_INFO, "keys: %zu keys allowed now (%s changed)",
                rl_keys_count(self->keys), rl_keys_directory(self->keys));
    }
    if (rc < 0) {
        static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
        rl_logf_limited(&limit, RL_LOG_WARN,
                        "%s; the %zu keys loaded before stay in force",
                        rl_keys_error(self->keys), rl_keys_count(self->keys));
    }
    return 0;
}

static int s_on_publish(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_broker_publish(arg);
    return 0;
}

static int s_on_signal(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    rl_broker_t *self = arg;
    rl_loop_signal_take(item->fd);
    if (self->stopping)
        return 0;
    self->stopping = true;
    self->stop_deadline = zclock_mono() + self->config.drain_ms;
    /* What waits for a node and every long-poll is answered now: they
       were not sent, or are reads, so the client may retry elsewhere at
       once. Appends and admin requests in flight may finish. */
    rl_broker_request_t *r = self->requests;
    size_t drained = 0;
    while (r) {
        rl_broker_request_t *next = r->next;
        if (r->node < 0 || r->type == RL_MSG_READ_REQUEST)
            rl_broker_fail(
                self, r, RL_ERR_SHUTTING_DOWN,
                "the broker is shutting down; %s on another broker or "
                "node",
                rl_broker_outcome(r));
        else
            drained++;
        r = next;
    }
    rl_logf(RL_LOG_INFO, "stopping: %zu requests in flight may finish",
            drained);
    rl_service_stopping("stopping");
    rl_broker_publish(self); /* /readyz fails at once */
    return self->request_count == 0 ? -1 : 0;
}

/* Loads the broker's keys and starts the ZAP handler, before the front
   door binds. Returns 0, or -1 with err (512 bytes) saying what to fix. */
static int s_start_curve(rl_broker_t *self, char *err)
{
    const rl_broker_config_t *c = &self->config;
    char why[RL_KEYS_ERROR_SIZE];
    if (!rl_keys_curve_available()) {
        snprintf(err, 512,
                 "--cert and --keys need CURVE, and this libzmq has none (it "
                 "was built without libsodium): install one that has, or run "
                 "without keys on loopback");
        return -1;
    }
    self->cert = rl_keys_load_own(c->cert, RL_ROLE_BROKER, 0, why, sizeof(why));
    if (!self->cert) {
        snprintf(err, 512, "--cert: %.490s", why);
        return -1;
    }
    if (c->front_cert[0] &&
        !(self->front_cert = rl_keys_load_own(c->front_cert, RL_ROLE_NONE, 0,
                                              why, sizeof(why)))) {
        snprintf(err, 512, "--front-cert: %.490s", why);
        return -1;
    }
    if (rl_keys_load_public(c->server_key, self->server_key, why,
                            sizeof(why)) != 0) {
        snprintf(err, 512, "--server-key: %.490s", why);
        return -1;
    }
    self->keys = rl_keys_new(c->keys_dir);
    if (!self->keys) {
        snprintf(err, 512, "out of memory");
        return -1;
    }
    if (rl_keys_refresh(self->keys) < 0) {
        snprintf(err, 512, "--keys: %.490s", rl_keys_error(self->keys));
        return -1;
    }
    s_log_key_warnings(self->keys);
    self->keys_generation = rl_keys_generation(self->keys);
    self->auth = rl_keys_auth_new(c->keys_dir, why, sizeof(why));
    if (!self->auth) {
        snprintf(err, 512, "--keys: %.490s", why);
        return -1;
    }
    rl_logf(RL_LOG_INFO,
            "CURVE on: %zu client keys allowed (%s); broker key %s, front "
            "door key %s, nodes' key %s",
            rl_keys_count(self->keys), c->keys_dir,
            zcert_public_txt(self->cert),
            zcert_public_txt(self->front_cert ? self->front_cert : self->cert),
            self->server_key);
    return 0;
}

rl_broker_t *rl_broker_new(const rl_broker_config_t *config, char *err)
{
    rl_broker_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, 512, "out of memory");
        return NULL;
    }
    self->config = *config;
    if (rl_loop_raise_fd_limit(&self->fd_limit_at_start, &self->fd_limit) ==
            0 &&
        self->fd_limit > self->fd_limit_at_start)
        rl_logf(RL_LOG_INFO,
                "descriptor limit raised from %" PRIu64 " to %" PRIu64
                " (the hard limit)",
                self->fd_limit_at_start, self->fd_limit);
    self->next_bid = 1;
    self->started = zclock_mono();
    rl_buf_init(&self->buf);
    self->signal_fd = rl_loop_signals_open();
    if (self->signal_fd < 0) {
        snprintf(err, 512, "cannot create a signalfd: %s", strerror(errno));
        rl_broker_destroy(&self);
        return NULL;
    }
    if (config->cert[0] && s_start_curve(self, err) != 0) {
        rl_broker_destroy(&self);
        return NULL;
    }
    self->graveyard = zlist_new();
    self->table = rl_broker_table_new();
    if (!self->graveyard || !self->table || rl_broker_logs_new(self) != 0) {
        snprintf(err, 512, "out of memory");
        rl_broker_destroy(&self);
        return NULL;
    }
    rl_front_config_t front = {
        .endpoint = config->endpoint,
        .max_message = config->max_message_bytes,
        .max_clients = config->max_clients,
        .max_client_queue = config->max_client_queue_bytes,
        .max_queue = config->max_queue_bytes,
        .gone = s_client_gone,
        .gone_arg = self,
        .cert = self->front_cert ? self->front_cert : self->cert,
        .keys = self->keys,
        .peek_only = true, /* requests are forwarded, not carried out */
    };
    self->front = rl_front_new(&front, err);
    if (!self->front) {
        rl_broker_destroy(&self);
        return NULL;
    }
    self->node_count = config->node_count;
    for (size_t i = 0; i < config->node_count; i++) {
        rl_broker_node_t *n = &self->nodes[i];
        snprintf(n->endpoint, sizeof(n->endpoint), "%s", config->nodes[i]);
        n->liveness = config->liveness;
        n->poll_interval = config->heartbeat_ms;
        if (rl_broker_new_dealer(self, n) != 0) {
            snprintf(err, 512, "cannot connect to node %s: %s", n->endpoint,
                     zmq_strerror(zmq_errno()));
            rl_broker_destroy(&self);
            return NULL;
        }
    }
    if (config->metrics_endpoint[0]) {
        rl_http_config_t http = {config->metrics_endpoint,
                                 config->max_metrics_connections, 10, 10000};
        self->http = rl_http_new(&http, err);
        if (!self->http) {
            rl_broker_destroy(&self);
            return NULL;
        }
    }
    s_check_fds(self);
    self->fds_checked = zclock_mono();
    return self;
}

int rl_broker_run(rl_broker_t *self)
{
    self->loop = zloop_new();
    zloop_reader(self->loop, rl_front_socket(self->front), s_on_front, self);
    zloop_reader(self->loop, rl_front_events(self->front), s_on_front_events,
                 self);
    for (size_t i = 0; i < self->node_count; i++)
        zloop_reader(self->loop, self->nodes[i].dealer, rl_broker_on_node,
                     self);
    zmq_pollitem_t signals = {NULL, self->signal_fd, ZMQ_POLLIN, 0};
    zloop_poller(self->loop, &signals, s_on_signal, self);
    zloop_timer(self->loop, RL_BROKER_SWEEP_MS, 0, s_on_sweep, self);
    zloop_timer(self->loop, RL_BROKER_KEYS_CHECK_MS, 0, s_on_keys, self);
    zloop_timer(self->loop, S_PUBLISH_MS, 0, s_on_publish, self);
    self->watchdog_ms = rl_service_watchdog_ms();
    rl_logf(RL_LOG_INFO, "broker listening on %s for %zu nodes%s",
            self->config.endpoint, self->node_count,
            self->keys ? " (CURVE)" : " (no CURVE)");
    if (!self->keys)
        rl_logf(RL_LOG_WARN,
                "running WITHOUT CURVE%s: no authentication, no encryption; "
                "anyone who reaches %s may read, append and change the "
                "membership (give --cert, --keys and --server-key; "
                "docs/SECURITY.md)",
                self->config.insecure ? " (--insecure)"
                                      : ", on this machine only",
                self->config.endpoint);
    if (self->http)
        rl_logf(RL_LOG_INFO,
                "metrics on http://%s/metrics (also /healthz, /readyz)",
                self->config.metrics_endpoint);
    rl_broker_publish(self);
    rl_service_ready(NULL);
    zloop_start(self->loop);

    /* Whatever is left after the drain gets its one reply now. */
    while (self->requests)
        rl_broker_fail(self, self->requests, RL_ERR_SHUTTING_DOWN,
                       "the broker stopped before the request finished; %s",
                       rl_broker_outcome(self->requests));
    /* Let those last replies leave before the socket closes. */
    rl_front_set_linger(self->front, 1000);
    rl_logf(RL_LOG_INFO, "stopped");
    return 0;
}

void rl_broker_destroy(rl_broker_t **self_p)
{
    rl_broker_t *self = *self_p;
    if (!self)
        return;
    rl_http_destroy(&self->http);
    rl_metrics_close(&self->page);
    while (self->requests)
        rl_broker_forget(self, self->requests);
    zloop_destroy(&self->loop);
    rl_front_destroy(&self->front);
    for (size_t i = 0; i < self->node_count; i++) {
        zsock_destroy(&self->nodes[i].dealer);
        zsock_destroy(&self->nodes[i].monitor);
    }
    zsock_t *old;
    while (self->graveyard && (old = zlist_pop(self->graveyard)))
        zsock_destroy(&old);
    zlist_destroy(&self->graveyard);
    /* The ZAP handler after the sockets it answers for. */
    rl_keys_auth_destroy(&self->auth);
    rl_keys_destroy(&self->keys);
    zcert_destroy(&self->cert);
    zcert_destroy(&self->front_cert);
    zhashx_destroy(&self->table);
    rl_broker_logs_destroy(self);
    rl_buf_close(&self->buf);
    if (self->signal_fd >= 0)
        close(self->signal_fd);
    free(self);
    *self_p = NULL;
}

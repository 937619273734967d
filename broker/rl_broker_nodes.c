/*  rl_broker_nodes.c - the nodes behind the broker: one DEALER each,
    their liveness, and which of them leads.

    Nodes are watched in the Paranoid Pirate manner (ZeroMQ guide, chapter
    4): a STATUS poll to every node each heartbeat; any reply from a node
    counts as a heartbeat; a node that misses `liveness` heartbeats in a row
    is dead, gets nothing but (backed-off) polls until it answers again, and
    its DEALER is replaced so that nothing queued for it is delivered late.
    The STATUS polls also tell who leads each log (rl_broker_logs.c);
    NOT_LEADER hints correct that view between polls (rl_broker_route.c).
*/
#include "rl_broker_private.h"

#include <inttypes.h>
#include <string.h>

#include "rl_logging.h"

/* Polls of a dead node back off up to this period. */
#define S_DEAD_POLL_MAX_MS 1000

int rl_broker_node_by_id(rl_broker_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->node_count; i++)
        if (id && self->nodes[i].id == id)
            return (int)i;
    return -1;
}

int rl_broker_node_by_endpoint(rl_broker_t *self, rl_str_t endpoint)
{
    for (size_t i = 0; i < self->node_count; i++)
        if (endpoint.size == strlen(self->nodes[i].endpoint) &&
            memcmp(endpoint.ptr, self->nodes[i].endpoint, endpoint.size) == 0)
            return (int)i;
    return -1;
}

/* Learns from a node's STATUS_OK: its id, who leads the log it
   describes, and each log it lists. */
void rl_broker_learn_status(rl_broker_t *self, int index, rl_broker_log_t *log,
                            const rl_status_ok_t *st, const uint8_t *data,
                            size_t size)
{
    rl_broker_node_t *n = &self->nodes[index];
    if (n->id != st->id) {
        if (n->id == 0)
            rl_logf(RL_LOG_INFO, "node %" PRIu64 " at %s answers", st->id,
                    n->endpoint);
        int other = rl_broker_node_by_id(self, st->id);
        static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
        if (other >= 0 && other != index)
            rl_logf_limited(&limit, RL_LOG_WARN,
                            "%s and %s both say they are node %" PRIu64
                            "; check --nodes",
                            self->nodes[other].endpoint, n->endpoint, st->id);
        n->id = st->id;
    }
    bool leads = st->role.size == 6 && memcmp(st->role.ptr, "leader", 6) == 0;
    if (log)
        rl_broker_learn_leader(self, log, index, leads, st->term, st->leader);
    rl_broker_learn_logs(self, index, data, size);
}

int rl_broker_new_dealer(rl_broker_t *self, rl_broker_node_t *n)
{
    n->dealer = zsock_new(ZMQ_DEALER);
    if (!n->dealer)
        return -1;
    zsock_t *dealer = n->dealer;
    zsock_set_linger(dealer, 0);
    zsock_set_sndhwm(dealer, (int)self->config.node_queue);
    /* A node's reply is never larger than the protocol allows. */
    zsock_set_maxmsgsize(dealer, (int)RL_MAX_MESSAGE_SIZE);
    zsock_set_rcvhwm(dealer, 0);
    /* Reconnect fast: a restarted node should be used again quickly. */
    zsock_set_reconnect_ivl(dealer, 100);
    zsock_set_reconnect_ivl_max(dealer, 1000);
    if (self->cert)
        rl_keys_set_client(dealer, self->cert, self->server_key);
    /* The handshake's outcome, for rl_broker_check_handshakes; watched
       before the connect so that no event is missed, under a fresh name
       (a closed socket's monitor endpoint is released later). */
    static uint64_t monitors;
    char name[80];
    snprintf(name, sizeof(name), "inproc://rl-broker-node-%p-%" PRIu64,
             (void *)self, ++monitors);
    if (zmq_socket_monitor(zsock_resolve(dealer), name,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
        !(n->monitor = zsock_new_pair(name)) ||
        zsock_connect(dealer, "%s", n->endpoint) != 0) {
        zsock_destroy(&n->dealer);
        zsock_destroy(&n->monitor);
        return -1;
    }
    n->failing = false;
    return 0;
}

/* Logs one handshake event of the DEALER to node n. */
static void s_handshake_event(rl_broker_t *self, rl_broker_node_t *n, int event)
{
    /* A node that keeps refusing is tried up to once a second. */
    static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (n->failing)
            rl_logf(RL_LOG_INFO, "the handshake with the node at %s succeeded",
                    n->endpoint);
        n->failing = false;
        return;
    }
    n->failing = true;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        rl_logf_limited(&limit, RL_LOG_WARN,
                        "the node at %s refused the broker's key %s: put the "
                        "broker's public certificate (role broker) in the "
                        "nodes' --keys directories",
                        n->endpoint, zcert_public_txt(self->cert));
    else if (self->cert)
        rl_logf_limited(&limit, RL_LOG_WARN,
                        "the CURVE handshake with the node at %s failed: "
                        "does it use CURVE, and is --server-key (%s, key %s) "
                        "the nodes' front-door public certificate?",
                        n->endpoint, self->config.server_key, self->server_key);
    else
        rl_logf_limited(&limit, RL_LOG_WARN,
                        "the handshake with the node at %s failed: it uses "
                        "CURVE, and this broker does not (give it --cert, "
                        "--keys and --server-key)",
                        n->endpoint);
}

void rl_broker_check_handshakes(rl_broker_t *self)
{
    for (size_t i = 0; i < self->node_count; i++) {
        rl_broker_node_t *n = &self->nodes[i];
        while (n->monitor && (zsock_events(n->monitor) & ZMQ_POLLIN)) {
            /* [uint16 event, uint32 value][address] (libzmq 4.x, v1). */
            zmsg_t *event = zmsg_recv(n->monitor);
            zframe_t *head = event ? zmsg_first(event) : NULL;
            if (head && zframe_size(head) >= 2) {
                uint16_t code;
                memcpy(&code, zframe_data(head), sizeof(code));
                s_handshake_event(self, n, code);
            }
            zmsg_destroy(&event);
        }
    }
}

int rl_broker_send_to_node(rl_broker_t *self, int index, zmq_msg_t *frame)
{
    /* One frame, without the empty delimiter a REQ socket would add: the
       node replies along the frames before its payload, here none, so the
       reply is one frame too (with CURVE, each frame is one encryption on
       each side). */
    void *socket = zsock_resolve(self->nodes[index].dealer);
    if (zmq_msg_send(frame, socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(frame);
        return -1;
    }
    return 0;
}

static void s_poll_node(rl_broker_t *self, int index)
{
    rl_broker_node_t *n = &self->nodes[index];
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_STATUS_REQUEST);
    msg.id = n->poll_id = self->next_bid++;
    rl_buf_reset(&self->buf);
    zmq_msg_t frame;
    if (rl_codec_encode(&msg, &self->buf, NULL) == 0 &&
        zmq_msg_init_size(&frame, self->buf.size) == 0) {
        memcpy(zmq_msg_data(&frame), self->buf.data, self->buf.size);
        rl_broker_send_to_node(self, index, &frame);
    }
}

static void s_node_died(rl_broker_t *self, int index)
{
    rl_broker_node_t *n = &self->nodes[index];
    if (n->stopping)
        rl_logf(RL_LOG_WARN,
                "node %" PRIu64 " at %s went silent after shutting down: "
                "dead until it answers again",
                n->id, n->endpoint);
    else
        rl_logf(RL_LOG_WARN,
                "node %" PRIu64 " at %s missed %u heartbeats: dead until it "
                "answers again",
                n->id, n->endpoint, self->config.liveness);
    n->alive = false;
    n->stopping = false;
    self->n_node_deaths++;
    /* A fresh DEALER: what was queued for the dead node must not reach it
       (or its restarted self) late. The old socket may still be in this
       turn's poll set, so it is destroyed on the next sweep. */
    zsock_t *old_dealer = n->dealer, *old_monitor = n->monitor;
    if (rl_broker_new_dealer(self, n) == 0) {
        zloop_reader_end(self->loop, old_dealer);
        zlist_append(self->graveyard, old_dealer);
        zlist_append(self->graveyard, old_monitor);
        zloop_reader(self->loop, n->dealer, rl_broker_on_node, self);
    } else {
        n->dealer = old_dealer;
        n->monitor = old_monitor;
    }
    rl_broker_node_lost(self, index, "the leader died");
    rl_broker_request_t *r = self->requests;
    while (r) {
        rl_broker_request_t *next = r->next;
        if (r->node == index)
            rl_broker_attempt_lost(self, r, "the node stopped answering");
        r = next;
    }
}

static void s_node_heard(rl_broker_t *self, int index)
{
    rl_broker_node_t *n = &self->nodes[index];
    n->heard = true;
    n->liveness = self->config.liveness;
    n->stopping = false;
    if (!n->alive) {
        n->alive = true;
        n->poll_interval = self->config.heartbeat_ms;
        if (n->id) /* else its first STATUS names it (rl_broker_learn_status) */
            rl_logf(RL_LOG_INFO, "node %" PRIu64 " at %s answers", n->id,
                    n->endpoint);
    }
}

/* A node that said SHUTTING_DOWN is not sent more, and its polls do not
   revive it until it answers STATUS again (after a restart). */
void rl_broker_node_stopping(rl_broker_t *self, int index)
{
    rl_broker_node_t *n = &self->nodes[index];
    if (!n->alive)
        return;
    rl_logf(RL_LOG_INFO, "node %" PRIu64 " at %s is shutting down", n->id,
            n->endpoint);
    n->liveness = 1; /* dead after one more silent poll */
    n->alive = false;
    n->stopping = true;
    rl_broker_node_lost(self, index, "the leader is stopping");
}

void rl_broker_sweep_nodes(rl_broker_t *self, int64_t now)
{
    for (size_t i = 0; i < self->node_count; i++) {
        rl_broker_node_t *n = &self->nodes[i];
        if (now < n->next_poll)
            continue;
        if (n->poll_id && !n->heard && n->liveness > 0 && --n->liveness == 0 &&
            (n->alive || n->stopping))
            s_node_died(self, (int)i);
        /* A dead node is polled less and less often (Paranoid Pirate's
           back-off), but at least once a second or once a heartbeat,
           whichever is longer. */
        if (!n->alive && n->poll_id && !n->heard &&
            n->poll_interval < S_DEAD_POLL_MAX_MS) {
            n->poll_interval *= 2;
            if (n->poll_interval > S_DEAD_POLL_MAX_MS)
                n->poll_interval = S_DEAD_POLL_MAX_MS;
        }
        n->heard = false;
        s_poll_node(self, (int)i);
        uint32_t period =
            n->alive ? self->config.heartbeat_ms : n->poll_interval;
        /* Without a leader of the default log, or of a log a request
           waits for, look for the next one more often. */
        if (n->alive &&
            (self->default_log.leader < 0 || now < self->hunting_until))
            period = period / 5 > RL_BROKER_SWEEP_MS ? period / 5
                                                     : RL_BROKER_SWEEP_MS;
        n->next_poll = now + period;
    }
    rl_broker_sweep_logs(self, now);
}

void rl_broker_from_node(rl_broker_t *self, int index, const uint8_t *data,
                         size_t size, const rl_peek_reply_t *reply)
{
    rl_broker_node_t *n = &self->nodes[index];
    bool stopping =
        reply->type == RL_MSG_ERROR && reply->code == RL_ERR_SHUTTING_DOWN;
    if (reply->id == n->poll_id && stopping)
        rl_broker_node_stopping(self, index);
    else if (!stopping)
        s_node_heard(self, index); /* any reply is a heartbeat */
    if (reply->id != n->poll_id) {
        rl_broker_settle(self, index, data, size, reply);
        return;
    }
    if (reply->type != RL_MSG_STATUS_OK &&
        !(reply->type == RL_MSG_ERROR && reply->code == RL_ERR_FORBIDDEN))
        return;
    /* A poll's answer: decoded in full (a few a second). */
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    if (rl_codec_decode(data, size, &msg, err) != 0) {
        static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
        char shown[RL_LOG_ESCAPE_SIZE(RL_CODEC_ERROR_SIZE)];
        rl_logf_limited(&limit, RL_LOG_WARN, "dropped a bad STATUS from %s: %s",
                        n->endpoint,
                        rl_log_escape(err, strlen(err), shown, sizeof(shown)));
    } else if (msg.type == RL_MSG_STATUS_OK) {
        rl_broker_learn_status(self, index, &self->default_log,
                               &msg.body.status_ok, data, size);
    } else {
        /* The node refuses the broker itself: its key was removed from
           the node's --keys after the connection was made. Said, since
           clients then only see NO_LEADER. */
        static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
        char shown[RL_LOG_ESCAPE_SIZE(RL_MAX_ERROR_MESSAGE)];
        rl_logf_limited(
            &limit, RL_LOG_WARN,
            "the node at %s refuses the broker's own STATUS: %s", n->endpoint,
            rl_log_escape(msg.body.error.message.ptr,
                          msg.body.error.message.size, shown, sizeof(shown)));
    }
    rl_msg_close(&msg);
}

/*  rl_peers.c - the node's peer network; see rl_peers.h. */
#include "rl_peers.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "rl_codec.h"
#include "rl_conns.h"
#include "rl_logging.h"
#include "rl_msg.h"

typedef struct {
    uint64_t id;                        /* the peer's node id */
    char endpoint[RL_MAX_ENDPOINT + 1]; /* its peer endpoint */
    zsock_t *dealer;                    /* our DEALER connected to it, NULL
                                           while no key is known for it */
    zsock_t *monitor;                   /* the DEALER's handshake events */
    char server_key[RL_KEY_TEXT_SIZE];  /* the key it is expected to have
                                           (CURVE), "" none */
    bool failing;                       /* its last handshake failed */
    uint8_t *out;                       /* this turn's messages, back to back */
    size_t out_size;                    /* bytes in out */
    size_t out_cap;                     /* bytes allocated */
    size_t *ends;                       /* where each message ends in out */
    size_t ends_count;                  /* messages queued */
    size_t ends_cap;                    /* slots in ends */
    int64_t sent_at;                    /* zclock_mono() of the last send */
} s_peer_t;

struct rl_peers {
    uint64_t self_id;               /* our node id, the DEALERs' routing id */
    zsock_t *router;                /* where every peer message arrives */
    s_peer_t peers[RL_MAX_MEMBERS]; /* DEALERs, one per peer */
    size_t peer_count;              /* number of peers */
    rl_peers_curve_t curve;         /* keys; cert NULL without CURVE */
    zmsg_t *inbox;                  /* frames of a coalesced message left */
    rl_peers_stats_t stats;         /* for STATUS */
};

rl_peers_t *rl_peers_new(uint64_t self_id, const char *endpoint,
                         const rl_peers_curve_t *curve, char *err)
{
    rl_peers_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, 256, "out of memory");
        return NULL;
    }
    self->self_id = self_id;
    if (curve)
        self->curve = *curve;
    self->router = zsock_new(ZMQ_ROUTER);
    if (self->router) {
        zsock_set_linger(self->router, 0);
        zsock_set_rcvhwm(self->router, 100000);
        /* Before bind: a frame declaring more is refused by ZeroMQ
           before anything of it is allocated. */
        zsock_set_maxmsgsize(self->router, RL_MAX_MESSAGE_SIZE);
        /* Before the bind: options apply to binds made after them. */
        if (self->curve.cert)
            rl_keys_set_server(self->router, self->curve.cert);
    }
    if (!self->router || zsock_bind(self->router, "%s", endpoint) < 0) {
        snprintf(err, 256,
                 "cannot listen for peers on %s: %s (is the port in use, or "
                 "another node running?)",
                 endpoint, zmq_strerror(zmq_errno()));
        rl_peers_destroy(&self);
        return NULL;
    }
    return self;
}

/* Closes a peer's DEALER and its monitor, the monitor stopped first (as
   rl_conns_monitor_stop says why); the peer stays noted, what was queued
   for it is dropped. */
static void s_close(s_peer_t *peer)
{
    if (peer->dealer)
        rl_conns_monitor_stop(peer->dealer, &peer->monitor);
    zsock_destroy(&peer->monitor);
    zsock_destroy(&peer->dealer);
    peer->server_key[0] = '\0';
    peer->failing = false;
    peer->out_size = 0;
    peer->ends_count = 0;
}

/* Frees a peer's queue (it is forgotten). */
static void s_free_queue(s_peer_t *peer)
{
    free(peer->out);
    free(peer->ends);
    peer->out = NULL;
    peer->ends = NULL;
    peer->out_size = peer->out_cap = 0;
    peer->ends_count = peer->ends_cap = 0;
}

void rl_peers_destroy(rl_peers_t **self_p)
{
    rl_peers_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->peer_count; i++) {
        s_close(&self->peers[i]);
        s_free_queue(&self->peers[i]);
    }
    zmsg_destroy(&self->inbox);
    zsock_destroy(&self->router);
    free(self);
    *self_p = NULL;
}

zsock_t *rl_peers_socket(rl_peers_t *self)
{
    return self->router;
}

static s_peer_t *s_find(rl_peers_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->peer_count; i++)
        if (self->peers[i].id == id)
            return &self->peers[i];
    return NULL;
}

/* The key peer id is expected to have now ("" without CURVE), or NULL
   when CURVE is on and the keys directory has none for it. */
static const char *s_wanted_key(rl_peers_t *self, uint64_t id)
{
    if (!self->curve.cert)
        return "";
    const rl_key_t *k = rl_keys_node(self->curve.keys, id);
    return k ? k->key : NULL;
}

/* Opens the DEALER to a noted peer, with the key it should have; without
   one (CURVE on, no certificate for it), says so and leaves it closed.
   Returns 0, or -1 when out of sockets. */
static int s_open(rl_peers_t *self, s_peer_t *peer)
{
    const char *key = s_wanted_key(self, peer->id);
    if (!key) {
        rl_logf(RL_LOG_ERROR,
                "no certificate of node %" PRIu64 " in the keys directory "
                "%s: this node cannot reach it until one is added (its "
                "public certificate, made by raftlog keygen NAME --role node "
                "--node-id %" PRIu64 ")",
                peer->id, rl_keys_directory(self->curve.keys), peer->id);
        return 0;
    }
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    if (!dealer)
        return -1;
    /* No routing id: the peer's ROUTER gives each connection its own, so
       a stranger that connects claiming "3" cannot take node 3's place
       (a ROUTER refuses a second connection with a routing id in use).
       Who sent a message is its `from` field, checked by the core (and,
       with CURVE, against the connection's key by the intake). */
    zsock_set_linger(dealer, 0);
    zsock_set_sndhwm(dealer, RL_PEERS_QUEUE);
    /* Queue nothing toward a peer we are not connected to: after a crash
       it would otherwise get a burst of stale messages. */
    zsock_set_immediate(dealer, 1);
    zsock_set_reconnect_ivl(dealer, 100);
    zsock_set_reconnect_ivl_max(dealer, 1000);
    if (self->curve.cert)
        rl_keys_set_client(dealer, self->curve.cert, key);
    /* The handshake's outcome, for rl_peers_check_handshakes; watched
       before the connect so that no event is missed. */
    /* A fresh name each time: the endpoint of a closed socket's monitor
       is released later, by libzmq's reaper. */
    static uint64_t monitors;
    char monitor[80];
    snprintf(monitor, sizeof(monitor), "inproc://rl-peer-%p-%" PRIu64,
             (void *)self, ++monitors);
    if (zmq_socket_monitor(zsock_resolve(dealer), monitor,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
        !(peer->monitor = zsock_new_pair(monitor)) ||
        zsock_connect(dealer, "%s", peer->endpoint) < 0) {
        zmq_socket_monitor(zsock_resolve(dealer), NULL, 0); /* s_close */
        zsock_destroy(&peer->monitor);
        zsock_destroy(&dealer);
        return -1;
    }
    peer->dealer = dealer;
    snprintf(peer->server_key, sizeof(peer->server_key), "%s", key);
    return 0;
}

int rl_peers_connect(rl_peers_t *self, uint64_t id, const char *endpoint)
{
    if (id == self->self_id)
        return 0;
    s_peer_t *peer = s_find(self, id);
    if (peer && strcmp(peer->endpoint, endpoint) == 0)
        return 0;
    if (peer)
        rl_peers_forget(self, id);
    if (self->peer_count == RL_MAX_MEMBERS)
        return -1;
    peer = &self->peers[self->peer_count];
    memset(peer, 0, sizeof(*peer));
    peer->id = id;
    snprintf(peer->endpoint, sizeof(peer->endpoint), "%s", endpoint);
    if (s_open(self, peer) != 0)
        return -1;
    self->peer_count++;
    return 0;
}

void rl_peers_keys_changed(rl_peers_t *self)
{
    if (!self->curve.cert)
        return;
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers[i];
        const char *key = s_wanted_key(self, peer->id);
        if (peer->dealer && key && strcmp(key, peer->server_key) == 0)
            continue;
        if (!peer->dealer && !key)
            continue; /* still none: said when it was found missing */
        if (peer->dealer)
            rl_logf(RL_LOG_INFO,
                    "the key of node %" PRIu64 " in the keys directory "
                    "changed: connecting to it %s",
                    peer->id, key ? "with the new one" : "no more");
        s_close(peer);
        if (key && s_open(self, peer) != 0)
            rl_logf(RL_LOG_ERROR,
                    "cannot connect to node %" PRIu64 " again: %s", peer->id,
                    zmq_strerror(zmq_errno()));
    }
}

/* Logs one handshake event of the DEALER to peer. */
static void s_handshake_event(rl_peers_t *self, s_peer_t *peer, int event)
{
    /* A peer that keeps refusing reconnects up to once a second: one line
       per few seconds is enough. */
    static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (peer->failing)
            rl_logf(RL_LOG_INFO,
                    "the handshake with node %" PRIu64 " at %s succeeded",
                    peer->id, peer->endpoint);
        peer->failing = false;
        return;
    }
    peer->failing = true;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        rl_logf_limited(&limit, RL_LOG_WARN,
                        "node %" PRIu64 " at %s refused this node's key: put "
                        "this node's public certificate (role node, node-id "
                        "%" PRIu64 ") in node %" PRIu64 "'s --keys directory",
                        peer->id, peer->endpoint, self->self_id, peer->id);
    else if (self->curve.cert)
        rl_logf_limited(&limit, RL_LOG_WARN,
                        "the CURVE handshake with node %" PRIu64 " at %s "
                        "failed: does it use CURVE, and is the certificate "
                        "of node %" PRIu64 " in --keys (key %s) the one it "
                        "runs with (its --cert)?",
                        peer->id, peer->endpoint, peer->id, peer->server_key);
    else
        rl_logf_limited(&limit, RL_LOG_WARN,
                        "the handshake with node %" PRIu64 " at %s failed: "
                        "it uses CURVE, and this node does not (give every "
                        "node --cert and --keys, or none)",
                        peer->id, peer->endpoint);
}

void rl_peers_check_handshakes(rl_peers_t *self)
{
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers[i];
        while (peer->monitor && (zsock_events(peer->monitor) & ZMQ_POLLIN)) {
            /* [uint16 event, uint32 value][address] (libzmq 4.x, v1). */
            zmsg_t *event = zmsg_recv(peer->monitor);
            zframe_t *head = event ? zmsg_first(event) : NULL;
            if (head && zframe_size(head) >= 2) {
                uint16_t code;
                memcpy(&code, zframe_data(head), sizeof(code));
                s_handshake_event(self, peer, code);
            }
            zmsg_destroy(&event);
        }
    }
}

void rl_peers_forget(rl_peers_t *self, uint64_t id)
{
    s_peer_t *peer = s_find(self, id);
    if (!peer)
        return;
    s_close(peer);
    s_free_queue(peer);
    *peer = self->peers[--self->peer_count];
}

/* Sends peer's queue as one message (one frame each), or drops it when
   the DEALER cannot take it now. ZeroMQ delivers a multipart message
   whole or not at all, and once its first frame is taken the rest are. */
static void s_flush_peer(rl_peers_t *self, s_peer_t *peer)
{
    if (peer->ends_count && peer->dealer) {
        void *socket = zsock_resolve(peer->dealer);
        size_t start = 0;
        for (size_t i = 0; i < peer->ends_count; i++) {
            bool more = i + 1 < peer->ends_count;
            int rc = zmq_send(socket, peer->out + start, peer->ends[i] - start,
                              ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0));
            if (rc < 0)
                break; /* the first frame refused: nothing went */
            start = peer->ends[i];
            self->stats.frames_sent++;
            self->stats.messages_sent += !more;
        }
        peer->sent_at = zclock_mono();
    }
    peer->out_size = 0;
    peer->ends_count = 0;
}

int rl_peers_send(rl_peers_t *self, uint64_t id, const void *data, size_t size)
{
    s_peer_t *peer = s_find(self, id);
    if (!peer || !peer->dealer)
        return -1;
    if (peer->ends_count == RL_PEERS_MAX_FRAMES)
        s_flush_peer(self, peer);
    if (peer->out_size + size > peer->out_cap) {
        size_t cap = peer->out_cap ? peer->out_cap : 4096;
        while (cap < peer->out_size + size)
            cap *= 2;
        uint8_t *grown = realloc(peer->out, cap);
        if (!grown)
            return -1;
        peer->out = grown;
        peer->out_cap = cap;
    }
    if (peer->ends_count == peer->ends_cap) {
        size_t cap = peer->ends_cap ? peer->ends_cap * 2 : 16;
        size_t *grown = realloc(peer->ends, cap * sizeof(*grown));
        if (!grown)
            return -1;
        peer->ends = grown;
        peer->ends_cap = cap;
    }
    memcpy(peer->out + peer->out_size, data, size);
    peer->out_size += size;
    peer->ends[peer->ends_count++] = peer->out_size;
    return 0;
}

void rl_peers_flush(rl_peers_t *self)
{
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers[i];
        s_flush_peer(self, peer);
        /* A burst (a snapshot's chunks) may have grown the queue: give
           back what is well above a turn's usual needs. */
        if (peer->out_cap > (1u << 20)) {
            free(peer->out);
            peer->out = NULL;
            peer->out_cap = 0;
        }
    }
}

bool rl_peers_spoke_to(const rl_peers_t *self, uint64_t id, int64_t now,
                       int64_t ms)
{
    const s_peer_t *peer = s_find((rl_peers_t *)self, id);
    return peer &&
           (peer->ends_count || (peer->sent_at && now - peer->sent_at < ms));
}

void rl_peers_stats(const rl_peers_t *self, rl_peers_stats_t *out)
{
    *out = self->stats;
}

/* A client's request ([routing id][empty][payload], as REQ sends it)
   came to the peer port: someone gave a client this node's peer endpoint
   by mistake. Answer with an ERROR that says so, rather than leave the
   client waiting for a reply that never comes. */
static void s_reply_misdirected(rl_peers_t *self, zmsg_t *request)
{
    zframe_t *routing = zmsg_pop(request);
    zframe_t *empty = zmsg_pop(request);
    zframe_t *payload = zmsg_pop(request);
    /* The request id, when it can be read, so the client matches it. */
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    rl_codec_decode(zframe_data(payload), zframe_size(payload), &msg, err);
    uint64_t id = msg.id;
    rl_msg_close(&msg);
    char text[256];
    snprintf(text, sizeof(text),
             "this is the peer port of raftlog node %" PRIu64 ", where "
             "nodes talk to each other; connect clients to a node's client "
             "endpoint or to the broker",
             self->self_id);
    rl_msg_t reply;
    rl_msg_init(&reply, RL_MSG_ERROR);
    reply.id = id;
    reply.body.error.code = RL_ERR_BAD_REQUEST;
    reply.body.error.message = rl_str(text);
    rl_buf_t buf;
    rl_buf_init(&buf);
    if (rl_codec_encode(&reply, &buf, NULL) == 0) {
        zmsg_t *out = zmsg_new();
        zmsg_append(out, &routing);
        zmsg_append(out, &empty);
        zmsg_addmem(out, buf.data, buf.size);
        zmsg_send(&out, self->router); /* dropped if it went away */
        zmsg_destroy(&out);
    }
    rl_buf_close(&buf);
    zframe_destroy(&routing);
    zframe_destroy(&empty);
    zframe_destroy(&payload);
}

int rl_peers_recv(rl_peers_t *self, zframe_t **frame)
{
    /* The frames left of a coalesced message come first. */
    if (self->inbox && zmsg_size(self->inbox)) {
        *frame = zmsg_pop(self->inbox);
        return 0;
    }
    zmsg_destroy(&self->inbox);
    while (zsock_events(self->router) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv(self->router);
        if (!msg)
            return -1;
        size_t size = zmsg_size(msg);
        /* [routing id][empty][payload]: a client at the wrong port. */
        if (size == 3) {
            zmsg_first(msg);
            if (zframe_size(zmsg_next(msg)) == 0) {
                s_reply_misdirected(self, msg);
                zmsg_destroy(&msg);
                continue;
            }
        }
        /* [routing id][payload]...: a peer's DEALER, one frame per
           message (one, from a node of before coalescing). */
        if (size >= 2 && size - 1 <= RL_PEERS_MAX_FRAMES) {
            zframe_t *routing = zmsg_pop(msg);
            zframe_destroy(&routing);
            *frame = zmsg_pop(msg);
            if (zmsg_size(msg))
                self->inbox = msg;
            else
                zmsg_destroy(&msg);
            return 0;
        }
        if (size > RL_PEERS_MAX_FRAMES) {
            static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
            self->stats.dropped_frames++;
            rl_logf_limited(&limit, RL_LOG_WARN,
                            "dropped a peer message of %zu frames (at most "
                            "%u)",
                            size - 1, RL_PEERS_MAX_FRAMES);
        }
        zmsg_destroy(&msg);
    }
    return -1;
}

/*  rl_peers.c - the node's peer network; see rl_peers.h. */
#include "rl_peers.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "rl_codec.h"
#include "rl_msg.h"

typedef struct {
    uint64_t id;                        /* the peer's node id */
    char endpoint[RL_MAX_ENDPOINT + 1]; /* its peer endpoint */
    zsock_t *dealer;                    /* our DEALER connected to it */
} s_peer_t;

struct rl_peers {
    uint64_t self_id;               /* our node id, the DEALERs' routing id */
    zsock_t *router;                /* where every peer message arrives */
    s_peer_t peers[RL_MAX_MEMBERS]; /* DEALERs, one per peer */
    size_t peer_count;              /* number of peers */
};

rl_peers_t *rl_peers_new(uint64_t self_id, const char *endpoint, char *err)
{
    rl_peers_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, 256, "out of memory");
        return NULL;
    }
    self->self_id = self_id;
    self->router = zsock_new(ZMQ_ROUTER);
    if (self->router) {
        zsock_set_linger(self->router, 0);
        zsock_set_rcvhwm(self->router, 100000);
        /* Before bind: a frame declaring more is refused by ZeroMQ
           before anything of it is allocated. */
        zsock_set_maxmsgsize(self->router, RL_MAX_MESSAGE_SIZE);
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

void rl_peers_destroy(rl_peers_t **self_p)
{
    rl_peers_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->peer_count; i++)
        zsock_destroy(&self->peers[i].dealer);
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
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    if (!dealer)
        return -1;
    /* No routing id: the peer's ROUTER gives each connection its own, so
       a stranger that connects claiming "3" cannot take node 3's place
       (a ROUTER refuses a second connection with a routing id in use).
       Who sent a message is its `from` field, checked by the core. */
    zsock_set_linger(dealer, 0);
    zsock_set_sndhwm(dealer, RL_PEERS_QUEUE);
    /* Queue nothing toward a peer we are not connected to: after a crash
       it would otherwise get a burst of stale messages. */
    zsock_set_immediate(dealer, 1);
    zsock_set_reconnect_ivl(dealer, 100);
    zsock_set_reconnect_ivl_max(dealer, 1000);
    if (zsock_connect(dealer, "%s", endpoint) < 0) {
        zsock_destroy(&dealer);
        return -1;
    }
    peer = &self->peers[self->peer_count++];
    peer->id = id;
    snprintf(peer->endpoint, sizeof(peer->endpoint), "%s", endpoint);
    peer->dealer = dealer;
    return 0;
}

void rl_peers_forget(rl_peers_t *self, uint64_t id)
{
    s_peer_t *peer = s_find(self, id);
    if (!peer)
        return;
    zsock_destroy(&peer->dealer);
    *peer = self->peers[--self->peer_count];
}

int rl_peers_send(rl_peers_t *self, uint64_t id, const void *data, size_t size)
{
    s_peer_t *peer = s_find(self, id);
    if (!peer)
        return -1;
    int rc = zmq_send(zsock_resolve(peer->dealer), data, size, ZMQ_DONTWAIT);
    return rc < 0 ? -1 : 0;
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
    while (zsock_events(self->router) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv(self->router);
        if (!msg)
            return -1;
        /* [routing id][payload] from a peer's DEALER. */
        if (zmsg_size(msg) == 2) {
            zframe_t *routing = zmsg_pop(msg);
            zframe_destroy(&routing);
            *frame = zmsg_pop(msg);
            zmsg_destroy(&msg);
            return 0;
        }
        /* [routing id][empty][payload]: a client at the wrong port. */
        if (zmsg_size(msg) == 3) {
            zmsg_first(msg);
            if (zframe_size(zmsg_next(msg)) == 0)
                s_reply_misdirected(self, msg);
        }
        zmsg_destroy(&msg);
    }
    return -1;
}

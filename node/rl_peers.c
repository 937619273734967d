/*  rl_peers.c - the node's peer network; see rl_peers.h. */
#include "rl_peers.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

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
    char identity[24];
    snprintf(identity, sizeof(identity), "%" PRIu64, self->self_id);
    zsock_set_identity(dealer, identity);
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

int rl_peers_recv(rl_peers_t *self, zframe_t **frame)
{
    while (zsock_events(self->router) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv(self->router);
        if (!msg)
            return -1;
        /* [routing id][payload]; anything else is not a DEALER of ours. */
        if (zmsg_size(msg) == 2) {
            zframe_t *identity = zmsg_pop(msg);
            zframe_destroy(&identity);
            *frame = zmsg_pop(msg);
            zmsg_destroy(&msg);
            return 0;
        }
        zmsg_destroy(&msg);
    }
    return -1;
}

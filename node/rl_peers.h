/*  rl_peers.h - the node's peer network: one ROUTER in, one DEALER out
    per peer (docs/PROTOCOL.md section 1).

    A node receives every peer message on its ROUTER and sends every peer
    message on the DEALER it holds for that peer; replies are ordinary
    messages going the same way. Sending never blocks: toward a dead or
    slow peer the DEALER queues at most a bounded number of messages
    (send high-water mark), ZMQ_IMMEDIATE keeps it from queueing toward a
    peer it has never reached, and a full queue drops the message — Raft
    retries by design. ZeroMQ reconnects by itself, so a peer that comes
    back is talked to again without operator action. The DEALERs carry no
    routing id of their own: a connection cannot claim to be a node, so
    no stranger can squat a node's place on the ROUTER; a message's sender
    is its `from` field, which the Raft core checks against the
    configuration.
*/
#ifndef RL_PEERS_H
#define RL_PEERS_H

#include <czmq.h>
#include <stdint.h>

typedef struct rl_peers rl_peers_t;

/* Messages queued toward one peer before new ones are dropped. */
#define RL_PEERS_QUEUE 1000

/* Binds the ROUTER at endpoint. Returns NULL with a line in err (256
   bytes) when the endpoint cannot be bound (e.g. the port is in use). */
rl_peers_t *rl_peers_new(uint64_t self_id, const char *endpoint, char *err);

/* Closes every socket (linger 0) and nulls *self_p. Idempotent. */
void rl_peers_destroy(rl_peers_t **self_p);

/* The ROUTER, for the event loop. */
zsock_t *rl_peers_socket(rl_peers_t *self);

/* Makes sure a DEALER to peer id at endpoint exists (reconnecting when
   the endpoint changed). Returns 0 or -1 when out of memory/sockets. */
int rl_peers_connect(rl_peers_t *self, uint64_t id, const char *endpoint);

/* Closes the DEALER to id, if any. */
void rl_peers_forget(rl_peers_t *self, uint64_t id);

/* Sends one message to id without blocking. Returns 0, or -1 when there
   is no DEALER for id or its queue is full (the message is dropped). */
int rl_peers_send(rl_peers_t *self, uint64_t id, const void *data, size_t size);

/* Receives one message without blocking: *frame gets the payload (the
   caller destroys it). Returns 0, or -1 when nothing is waiting. Messages
   of the wrong shape are dropped here; a client's request (a REQ
   envelope) is answered with an ERROR saying this is a peer port. */
int rl_peers_recv(rl_peers_t *self, zframe_t **frame);

#endif

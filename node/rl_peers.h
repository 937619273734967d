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

    With CURVE (docs/SECURITY.md) the ROUTER is a CURVE server with this
    node's certificate, and each DEALER a CURVE client with it, expecting
    the public key that the keys directory holds for the target's node id
    (rl_keys_node). A peer without a certificate there gets no DEALER (an
    error line names what to add) until the directory has one; when the
    key for a peer changes (rl_peers_keys_changed), its DEALER is made
    again with the new one. Whether a received message may be taken (the
    connection's key is the certificate of the node in its `from`) is the
    intake's check (rl_intake.h). Each DEALER's handshake is watched, so
    that a peer refusing this node's key, or answering with another key
    than the one expected, is logged with what to fix.
*/
#ifndef RL_PEERS_H
#define RL_PEERS_H

#include <czmq.h>
#include <stdint.h>

#include "rl_keys.h"

typedef struct rl_peers rl_peers_t;

/* Messages queued toward one peer before new ones are dropped. */
#define RL_PEERS_QUEUE 1000

/* CURVE on the peer sockets. */
typedef struct {
    zcert_t *cert;   /* this node's certificate (borrowed) */
    rl_keys_t *keys; /* the keys directory's map (borrowed; the node keeps
                        it refreshed and calls rl_peers_keys_changed) */
} rl_peers_curve_t;

/* Binds the ROUTER at endpoint, a CURVE server when curve is not NULL
   (the ZAP handler must run by then). Returns NULL with a line in err
   (256 bytes) when the endpoint cannot be bound (e.g. the port is in
   use). */
rl_peers_t *rl_peers_new(uint64_t self_id, const char *endpoint,
                         const rl_peers_curve_t *curve, char *err);

/* Closes every socket (linger 0) and nulls *self_p. Idempotent. */
void rl_peers_destroy(rl_peers_t **self_p);

/* The ROUTER, for the event loop. */
zsock_t *rl_peers_socket(rl_peers_t *self);

/* Makes sure a DEALER to peer id at endpoint exists (reconnecting when
   the endpoint changed). With CURVE and no certificate for id in the
   keys directory, the peer is noted without a DEALER (messages to it are
   dropped) and the error logged once. Returns 0 or -1 when out of
   memory/sockets. */
int rl_peers_connect(rl_peers_t *self, uint64_t id, const char *endpoint);

/* The keys directory was reloaded: every DEALER whose peer's key changed
   (or appeared, or went) is made again with the key it has now. */
void rl_peers_keys_changed(rl_peers_t *self);

/* Logs what the DEALERs' handshakes reported since the last call (a peer
   that refused our key, a handshake that failed), rate-limited. */
void rl_peers_check_handshakes(rl_peers_t *self);

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

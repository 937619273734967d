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

/* Coalescing (issue 16): every peer message a node produces for one peer
   in one loop turn goes out as ONE ZeroMQ message, one frame per encoded
   message, so that the heartbeats of all its groups are one message per
   peer per tick. At most this many frames go in one (more start another);
   a received message with more is dropped whole, unread: no node sends
   one, and it bounds what one message can make a node hold. */
#define RL_PEERS_MAX_FRAMES 4096

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

/* Queues one message (copied) for id, to go out with the others of this
   loop turn at rl_peers_flush. Returns 0, or -1 when there is no DEALER
   for id (the message is dropped). */
int rl_peers_send(rl_peers_t *self, uint64_t id, const void *data, size_t size);

/* Sends what is queued for each peer, one multipart message per peer,
   without blocking: a peer whose queue is full (RL_PEERS_QUEUE messages)
   loses this turn's messages, which Raft retries by design. Call at the
   end of every loop turn. */
void rl_peers_flush(rl_peers_t *self);

/* Receives one peer message without blocking: *frame gets its payload
   (the caller destroys it); the frames of a coalesced message come one
   per call. Returns 0, or -1 when nothing is waiting. Messages of the
   wrong shape are dropped here; a client's request (a REQ envelope) is
   answered with an ERROR saying this is a peer port. */
int rl_peers_recv(rl_peers_t *self, zframe_t **frame);

/* Whether anything is queued for id this turn, or was sent to it less
   than ms milliseconds before now (zclock_mono): then a PING would add
   nothing to node-level liveness. */
bool rl_peers_spoke_to(const rl_peers_t *self, uint64_t id, int64_t now,
                       int64_t ms);

/* What went through: ZeroMQ messages sent and the frames (Raft
   messages) they carried; messages received with more than
   RL_PEERS_MAX_FRAMES frames, dropped whole. */
typedef struct {
    uint64_t messages_sent;  /* multipart messages sent */
    uint64_t frames_sent;    /* frames in them */
    uint64_t dropped_frames; /* received with too many frames */
} rl_peers_stats_t;
void rl_peers_stats(const rl_peers_t *self, rl_peers_stats_t *out);

#endif

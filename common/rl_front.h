/*  rl_front.h - a daemon's client front door: one ROUTER socket that REQ
    and DEALER clients connect to (docs/PROTOCOL.md section 1), as node and
    broker both run it, with the bounds on what one client can make the
    daemon hold (docs/SECURITY.md, "Limits").

    A request arrives as [routing frames...][empty][payload]. Everything
    before the payload is the envelope the reply goes back with; the
    payload is one message in the client protocol. rl_front_recv() splits
    and decodes it; rl_front_reply() encodes a reply and sends it along an
    envelope. Sending never blocks: a reply to a client that went away is
    dropped by the ROUTER.

    A daemon that forwards requests rather than carrying them out (the
    broker) sets peek_only: rl_front_recv() then reads each request in
    place (rl_peek.h) instead of decoding it, and rl_front_forward() sends
    a node's reply on with the client's id, its other bytes as they came.

    Bounds, each set by rl_front_config_t:
    - Message size: ZeroMQ refuses a frame over max_message as soon as its
      header declares it, and closes the connection (ZMQ_MAXMSGSIZE):
      nothing of it is allocated.
    - Connections: at most max_clients at once; a connection over the
      limit is closed as soon as it is accepted (rl_conns.h).
    - Queued replies: every reply's bytes count against its connection
      until ZeroMQ has written them to the socket (they are handed over
      without a copy, and ZeroMQ's thread returns them when written).
      While a connection has max_client_queue bytes or more waiting, or
      all connections together max_queue, its requests are answered BUSY
      here, unread; and a READ_OK that would take a connection past its
      bound is replaced by BUSY (one reply at a time always goes, so a
      large READ can never be stuck).
    - Held requests: the daemon lists what it holds for a client
      (rl_front_held_t, e.g. the node's parked long polls) and caps it
      itself; when the client's connection closes, the front calls the
      daemon's gone function to release them.

    Keys (docs/SECURITY.md): with a certificate and a keys map, the front
    door is a CURVE server, and every request is checked here, before the
    daemon sees it, against the map as it is now (the daemon refreshes
    it): the connection's key (its User-Id) must be in it, and its role
    must allow the request (rl_keys_role_allows). A request that carries
    as_key/as_role is taken only from a key with role broker, and is then
    checked against as_role. A refused request is answered FORBIDDEN with
    what to do. Without keys, no request may carry as_key/as_role.

    One thread owns a front (the daemon's loop thread); ZeroMQ's I/O
    thread only returns written replies, through atomic counters.
*/
#ifndef RL_FRONT_H
#define RL_FRONT_H

#include <czmq.h>

#include "rl_codec.h"
#include "rl_keys.h"
#include "rl_peek.h"

typedef struct rl_front rl_front_t;

/* What a daemon holds for one client connection: its own records,
   linked from head (the daemon's type), and their number. The daemon
   keeps both; the front only hands it over when the client goes. */
typedef struct {
    void *head;   /* the daemon's first record for this client, or NULL */
    size_t count; /* records held */
} rl_front_held_t;

/* The client of held went away: take out (and free) every record it
   holds; held->count must be 0 on return. */
typedef void(rl_front_gone_fn)(void *arg, rl_front_held_t *held);

/* How to run a front door. */
typedef struct {
    const char *endpoint;      /* where to bind */
    uint32_t max_message;      /* largest frame a client may send, bytes */
    uint32_t max_clients;      /* connections at once */
    uint64_t max_client_queue; /* reply bytes waiting for one connection */
    uint64_t max_queue;        /* reply bytes waiting for all of them */
    rl_front_gone_fn *gone;    /* told when a client holding records goes;
                                  NULL when the daemon holds none */
    void *gone_arg;            /* its argument */
    zcert_t *cert;             /* the front door's CURVE server certificate
                                  (borrowed; applied before the bind), NULL: no
                                  CURVE */
    rl_keys_t *keys;           /* with cert: the allowed keys and their roles
                                  (borrowed; the daemon keeps it refreshed) */
    bool peek_only;            /* requests are read in place, not decoded:
                                  msg has its header, its members or
                                  consumers op, an append's producer and
                                  seq and a read's wait_ms and consumer,
                                  nothing else (the broker) */
} rl_front_config_t;

/* What the front door has done, for STATUS. */
typedef struct {
    uint64_t clients;               /* connections now */
    uint64_t max_clients;           /* the limit in force */
    uint64_t clients_refused;       /* connections closed at once, over it */
    uint64_t clients_closing;       /* of those, still holding a descriptor */
    uint64_t queued_bytes;          /* reply bytes waiting to be written */
    uint64_t busy;                  /* requests and READ replies answered BUSY
                                       because replies were waiting */
    uint64_t errors[RL_ERR__COUNT]; /* ERROR replies sent, by code (all of
                                       them: rl_front_error's; 0: a code
                                       out of the table) */
    uint64_t forbidden;             /* requests answered FORBIDDEN */
    uint64_t handshakes_failed;     /* connections whose handshake failed */
} rl_front_stats_t;

/* A request taken off the front door. Close it with
   rl_front_request_close() whatever happened to it. */
typedef struct {
    zmsg_t *envelope;       /* routing frames to reply with (owned; a handler
                               that keeps the request waiting takes it over and
                               nulls this) */
    zframe_t *payload;      /* the request's bytes (owned), NULL when it had no
                               frames; byte fields of msg point into it */
    rl_msg_t msg;           /* the decoded request; msg.id is the request's id
                               even when error is set (0 when unreadable) */
    rl_peek_request_t peek; /* with peek_only: what was read in place, and
                               where (byte fields point into payload) */
    int error;              /* 0, or the rl_error_t to answer with */
    char why[RL_CODEC_ERROR_SIZE]; /* with error: what was wrong */
    rl_front_held_t *held; /* what the daemon holds for this client; NULL
                              when its connection is not known (inproc) */
    /* With keys, once admitted: on whose behalf the request came (the
       connection's key, or as_key from a broker) and that key's role. */
    char key[RL_KEY_TEXT_SIZE]; /* Z85; "" without CURVE */
    rl_role_t role;             /* RL_ROLE_NONE without CURVE */
    bool forwarded;             /* key and role came from a broker */
} rl_front_request_t;

/* Binds a ROUTER as config says. Returns NULL with one line in err (512
   bytes) when it cannot (e.g. the port is in use). */
rl_front_t *rl_front_new(const rl_front_config_t *config, char *err);

/* Closes the socket (its linger applies) and nulls *self_p. Idempotent.
   The daemon must hold nothing for any client by then. */
void rl_front_destroy(rl_front_t **self_p);

/* The ROUTER, for the event loop. */
zsock_t *rl_front_socket(rl_front_t *self);

/* The socket of connection events, for the event loop: when readable,
   call rl_front_process_events(). */
zsock_t *rl_front_events(rl_front_t *self);

/* Counts connections, closes those over the limit and releases what the
   daemon holds for clients that went away. */
void rl_front_process_events(rl_front_t *self);

/* Changes the connection limit (the daemon recomputes it from the
   descriptors it has, rl_loop.h). */
void rl_front_set_max_clients(rl_front_t *self, uint32_t max_clients);

/* Lets replies still queued leave for up to ms after the socket closes
   (a daemon stopping calls this after its last replies). */
void rl_front_set_linger(rl_front_t *self, int ms);

/* Takes one request without blocking. Returns 0 with *request filled (its
   error set when the payload does not decode) for the daemon to answer;
   1 when a request was taken and answered here (FORBIDDEN by its key, or
   BUSY: its client's replies are waiting), nothing to do; -1 when none
   waits. */
int rl_front_recv(rl_front_t *self, rl_front_request_t *request);

/* Frees what a request still owns. Safe to call twice. */
void rl_front_request_close(rl_front_request_t *request);

/* Encodes msg, sends it along *envelope (taken over and nulled, sent or
   not). A READ_OK that would take its connection's waiting replies past
   the bounds goes out as BUSY instead. Returns 0, or -1 when msg cannot
   be encoded (logged: a bug). */
int rl_front_reply(rl_front_t *self, zmsg_t **envelope, const rl_msg_t *msg);

/* Sends a reply a node gave, data[0..size) as rl_peek_reply() read it
   into peek, along *envelope (taken over like rl_front_reply()) with its
   id set to id (0: none), its other bytes unchanged. A READ_OK that would
   take its connection past the bounds goes out as BUSY instead. */
void rl_front_forward(rl_front_t *self, zmsg_t **envelope, uint64_t id,
                      const void *data, size_t size,
                      const rl_peek_reply_t *peek);

/* Sends an ERROR reply with code and a printf-style message (cut at the
   protocol's RL_MAX_ERROR_MESSAGE bytes); first is the OUT_OF_RANGE
   field, 0 otherwise. Takes over *envelope like rl_front_reply(). */
int rl_front_error(rl_front_t *self, zmsg_t **envelope, uint64_t id, int code,
                   uint64_t first, const char *format, ...)
    __attribute__((format(printf, 6, 7)));

/* The same with both OUT_OF_RANGE fields: the first retained index and
   its entry's time (ms since the Unix epoch). */
int rl_front_error_range(rl_front_t *self, zmsg_t **envelope, uint64_t id,
                         int code, uint64_t first, uint64_t first_time,
                         const char *format, ...)
    __attribute__((format(printf, 7, 8)));

/* Fills *stats. */
void rl_front_stats(const rl_front_t *self, rl_front_stats_t *stats);

#endif

/*  rl_conns.h - the connections of a bound ZeroMQ socket: counted, those
    over a limit closed at once, and every disconnect reported.

    ZeroMQ accepts connections by itself and has no call to refuse or
    close one. What it does give: its socket monitor reports ACCEPTED and
    DISCONNECTED events with the connection's file descriptor, and each
    message received carries the descriptor it came in on (ZMQ_SRCFD).
    That is enough to count connections, to tell a daemon which client
    went away, and to close a connection: shutdown(2) on the descriptor
    (never close(2): the descriptor is ZeroMQ's) makes ZeroMQ see its peer
    gone, close the descriptor itself and report DISCONNECTED.

    Why not ZMQ_ROUTER_NOTIFY, which would report disconnects in-band: it
    is a draft option in libzmq 4.3.4, and Debian 12's libzmq5 is built
    without draft APIs (zmq_setsockopt answers EINVAL). Why not czmq's
    zmonitor actor: it relays the same events through one more thread;
    the monitor's PAIR socket is read in the daemon's own loop instead.

    Before a descriptor is closed it is checked to be a connection of this
    socket (same local port, or same socket path), because an event read
    late may name a descriptor that has since been closed and reused.

    One thread (the daemon's loop) owns an rl_conns_t.
*/
#ifndef RL_CONNS_H
#define RL_CONNS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rl_conns rl_conns_t;

/* Stops the socket monitor of watched, then closes *monitor_p, the PAIR
   reading its events (nulled; safe with NULL). Every socket monitor must
   go this way, in this order, while watched is still open: libzmq sends
   each event with a blocking send from its I/O thread, and a socket
   closes asynchronously (its connections live on in that thread for a
   while after zsock_destroy), so an event sent once the reading PAIR is
   gone blocks the I/O thread for good, and with it every TCP connection
   of the process (libzmq issue 3575). Stopping a monitor is synchronous:
   no event follows it. */
void rl_conns_monitor_stop(zsock_t *watched, zsock_t **monitor_p);

/* A connection on descriptor fd went away (reported once per connection
   accepted while watched, refused ones included). */
typedef void(rl_conns_gone_fn)(void *arg, int fd);

/* Starts watching socket (before it is bound, so that no connection is
   missed). what names its connections in log lines ("client"), flag the
   option that sets the limit ("--max-clients"). limit is the most
   connections at once. gone, with arg, hears of every disconnect; it may
   be NULL. NULL when the monitor cannot be started. */
rl_conns_t *rl_conns_new(zsock_t *socket, const char *what, const char *flag,
                         uint32_t limit, rl_conns_gone_fn *gone, void *arg);

/* Stops watching and nulls *self_p. Idempotent. Call before the watched
   socket is destroyed. */
void rl_conns_destroy(rl_conns_t **self_p);

/* The monitor's socket, readable when events wait: for the loop, whose
   handler calls rl_conns_process(). */
zsock_t *rl_conns_socket(rl_conns_t *self);

/* Handles every event waiting: counts, closes what is over the limit,
   reports disconnects. */
void rl_conns_process(rl_conns_t *self);

/* Changes the limit (existing connections stay). */
void rl_conns_set_limit(rl_conns_t *self, uint32_t limit);

/* The limit, the connections now, and those closed for being over it. */
uint32_t rl_conns_limit(const rl_conns_t *self);
uint32_t rl_conns_count(const rl_conns_t *self);
uint64_t rl_conns_refused(const rl_conns_t *self);

/* Connections shut down for being over the limit whose descriptors
   ZeroMQ has not closed yet: they still hold a descriptor each. */
uint32_t rl_conns_closing(const rl_conns_t *self);

/* Connections whose ZeroMQ handshake failed: with CURVE, a key the ZAP
   handler refused, a client with the wrong server key, or one without
   CURVE. */
uint64_t rl_conns_handshakes_failed(const rl_conns_t *self);

/* The descriptor a message part came in on (ZMQ_SRCFD), -1 when unknown
   (inproc). */
int rl_conns_source_fd(zmq_msg_t *part);

#endif

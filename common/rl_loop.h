/*  rl_loop.h - the plumbing of a daemon's event loop that node and broker
    share: signals read as a file, and the bounded drain of a readable
    socket.

    Signals. A czmq zloop stops on any interrupted poll, so SIGINT and
    SIGTERM must never interrupt it: rl_loop_signals_open() blocks them in
    the calling thread, and so in every thread created after it (ZeroMQ's
    own I/O threads included), and hands back a signalfd that the loop
    polls like a socket. SIGPIPE is ignored. Call it first thing, before
    any other use of czmq or ZeroMQ.

    Draining. When a socket is readable, a handler takes what waits on it,
    but at most RL_LOOP_DRAIN_MAX messages, then returns to the loop so
    that the other sockets, timers and signals are served too. Work that
    depends on a batch (the node's group commit) happens after the drain,
    so that messages arriving together share it.

    Descriptors. Every client connection costs a descriptor, and a daemon
    out of descriptors cannot open a segment, reconnect to a peer or even
    step down. So it raises its soft limit to the hard one at start and
    keeps its client connections a reserve below it.
*/
#ifndef RL_LOOP_H
#define RL_LOOP_H

#include <stdint.h>

/* Messages taken from one socket per loop turn: large enough to group
   many proposals into one write, small enough to stay fair. */
#define RL_LOOP_DRAIN_MAX 512

/* Blocks SIGINT and SIGTERM, ignores SIGPIPE, and returns a non-blocking
   signalfd that becomes readable when one of the two arrives; -1 with
   errno set when it cannot be made. The caller closes it. */
int rl_loop_signals_open(void);

/* Reads one pending signal off fd (from rl_loop_signals_open) and returns
   its number, or 0 when none was pending. */
int rl_loop_signal_take(int fd);

/* Takes one message and handles it: returns 1 when it did, 0 when nothing
   was waiting, -1 to stop the loop (a fatal error). */
typedef int(rl_loop_take_fn)(void *arg);

/* Calls take(arg) until nothing waits, RL_LOOP_DRAIN_MAX messages were
   handled, or take returns -1. Returns -1 in that last case, else 0: the
   value a zloop handler returns. */
int rl_loop_drain(rl_loop_take_fn *take, void *arg);

/* ---- Descriptors ---- */

/* Raises the soft RLIMIT_NOFILE to the hard limit (a daemon's client
   connections are bounded below it instead). *before gets the soft limit
   found, *after the one in force. Returns 0, or -1 when the limits
   cannot be read. */
int rl_loop_raise_fd_limit(uint64_t *before, uint64_t *after);

/* Descriptors this process has open now (/proc/self/fd), -1 unknown. */
long rl_loop_open_fds(void);

/* The most client connections allowed: wanted, or fewer when the
   descriptor limit leaves less room. Of open descriptors, `counted` are
   connections already counted against limits (clients, peers), and
   `reserve` more must stay free for everything else the daemon opens
   later (segments, sockets, peers up to their limit). */
uint32_t rl_loop_client_limit(uint32_t wanted, uint64_t fd_limit, long open_fds,
                              uint32_t counted, uint32_t reserve);

#endif

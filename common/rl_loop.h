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
*/
#ifndef RL_LOOP_H
#define RL_LOOP_H

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

#endif

/*  rl_node.h - raftlog-node: the Raft core, the file log and the network
    joined by one event loop.

    One thread owns the node: a czmq zloop drives the peer ROUTER, the
    client front door (a ROUTER that REQ and DEALER clients connect to),
    the tick and housekeeping timers, signals, and the completions of two
    helper threads (rl_helper.h: fsync, spare segments). The replicated
    log itself, its Raft core, file log and waiting client requests, is
    the node's group (rl_group.h); the node owns what a group would share
    with others: sockets, loop, threads, signals, the disk check and
    STATUS.
*/
#ifndef RL_NODE_H
#define RL_NODE_H

#include "rl_config.h"

typedef struct rl_node rl_node_t;

/* Opens the data directory, restores the core, binds the sockets. Blocks
   SIGINT and SIGTERM in the calling thread (the loop reads them from a
   signalfd), so call it before any other use of czmq or ZeroMQ. Returns
   NULL with one line in err (512 bytes) naming the problem. */
rl_node_t *rl_node_new(const rl_config_t *config, char *err);

/* Runs until SIGINT/SIGTERM (graceful: leadership handed over when
   possible, the fsync in flight finished, waiting clients answered with
   SHUTTING_DOWN) or a fatal storage error. Returns the process's exit
   status: 0 after a clean stop, 1 after a fatal error. */
int rl_node_run(rl_node_t *self);

/* Frees everything and nulls *self_p. Idempotent. */
void rl_node_destroy(rl_node_t **self_p);

#endif

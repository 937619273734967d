/*  rl_broker.h - raftlog-broker: one stable front door in front of a
    raftlog cluster.

    Clients talk to the broker exactly as to a node (docs/PROTOCOL.md): a
    ROUTER front door that REQ and DEALER clients connect to. Behind it, one
    DEALER per node. The broker holds no state a client depends on: it keeps
    only a table of the requests in flight (broker id -> client envelope,
    client id, deadline, retry state), its view of which node leads, and
    each node's liveness. Several brokers can run side by side; a client
    that loses one can use another. docs/BROKER.md has the rules.

    One thread owns the broker: a czmq zloop drives the front door, the
    DEALERs, a housekeeping timer (heartbeats, deadlines, shutdown) and a
    signalfd for SIGINT/SIGTERM.
*/
#ifndef RL_BROKER_H
#define RL_BROKER_H

#include "rl_broker_config.h"

typedef struct rl_broker rl_broker_t;

/* Binds the front door and connects to every node. Blocks SIGINT and
   SIGTERM in the calling thread (the loop reads them from a signalfd), so
   call it before any other use of czmq or ZeroMQ. Returns NULL with one
   line in err (512 bytes) naming the problem. */
rl_broker_t *rl_broker_new(const rl_broker_config_t *config, char *err);

/* Runs until SIGINT/SIGTERM, then stops gracefully: new requests get
   SHUTTING_DOWN, waiting ones are answered, and requests in flight get up
   to drain_ms to finish. Returns the process's exit status (0). */
int rl_broker_run(rl_broker_t *self);

/* Frees everything and nulls *self_p. Idempotent. */
void rl_broker_destroy(rl_broker_t **self_p);

#endif

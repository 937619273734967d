/*  rl_intake.h - the peer-message intake: what a node does with each
    message that arrives on its peer ROUTER before the Raft core sees it.

    A message is decoded, must be a peer message of this node's cluster,
    with CURVE must have come on a connection whose key is the certificate
    of the node it claims to be from (rl_keys_peer_allowed: no node can
    pose as another, no client key can speak for a node), is noted as a
    contact from its sender (for STATUS) and is stepped into the group's
    core of the group it names (`group`: rl_groups.h), or dropped when
    this node hosts no such group. Anything else is dropped here and
    logged. The node drains its peer socket through rl_intake_take()
    (rl_loop_drain), then drives the groups touched once for the whole
    batch.
*/
#ifndef RL_INTAKE_H
#define RL_INTAKE_H

#include "rl_groups.h"
#include "rl_peers.h"
#include "rl_status.h"

typedef struct {
    rl_peers_t *peers;              /* where messages come from */
    const char *cluster_id;         /* this node's cluster */
    rl_contacts_t *contacts;        /* noted for every accepted message */
    rl_groups_t *groups;            /* whose cores take them */
    uint64_t dropped_bad;           /* undecodable, or not a peer message */
    uint64_t dropped_wrong_cluster; /* from another cluster */
    rl_keys_t *keys;      /* with CURVE: the allowed keys; NULL without */
    uint64_t dropped_key; /* dropped: the connection's key is not the
                             sender's node certificate (STATUS) */
} rl_intake_t;

/* Takes one message off the peer socket and handles it. Returns 1 when
   one was taken (stepped or dropped), 0 when none waited: an
   rl_loop_take_fn over an rl_intake_t. */
int rl_intake_take(void *intake);

#endif

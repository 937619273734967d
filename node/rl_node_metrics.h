/*  rl_node_metrics.h - what raftlog-node exports on its monitoring port:
    the Prometheus families of /metrics, and the readiness judgement of
    /readyz (docs/METRICS.md lists every family).

    The node gathers its figures on its loop thread (the same ones STATUS
    reports, plus histograms and counters STATUS has no room for) into an
    rl_node_metrics_input_t; this module judges readiness and writes the
    exposition. Pure: no sockets, no clock (times are given), so both are
    tested without a process (tests/unit/test_metrics.c).

    Labels: every family carries node="ID". The figures of a replicated
    log come in groups (rl_node_metrics_group_t), each with its own label
    set: today one, labelled by node only; a node serving named logs would
    pass one per log with a log="NAME" label added, and no family changes
    its name. Families of the node as a whole (disk, connections, the
    process) carry the node's labels.
*/
#ifndef RL_NODE_METRICS_H
#define RL_NODE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "rl_group.h"
#include "rl_metrics.h"
#include "rl_status.h"

/* One replicated log's figures. All borrowed. */
typedef struct {
    rl_labels_t labels;              /* node="1" (and log="..." one day) */
    const rl_status_input_t *status; /* as STATUS has them */
    const rl_group_metrics_t *group; /* histograms and the rest */
} rl_node_metrics_group_t;

/* Everything /metrics and /readyz say, gathered by the node. Borrowed. */
typedef struct {
    rl_labels_t labels;                    /* the node's: node="1" */
    const char *version;                   /* the build's */
    const char *cluster_id;                /* --cluster-id */
    const rl_node_metrics_group_t *groups; /* the logs (one today) */
    size_t group_count;                    /* their number */
    uint64_t errors[RL_ERR__COUNT];        /* ERROR replies sent, by code
                                              (the front door counts them
                                              all: rl_front_stats) */
    uint64_t peer_dropped_bad;             /* undecodable peer messages */
    uint64_t peer_dropped_wrong_cluster;   /* from another cluster */
    uint32_t election_timeout_ms;          /* --election-timeout */
    uint64_t min_free_bytes;               /* --min-free */
    bool disk_low;                         /* free space under it */
    bool stopping;                         /* SIGTERM received */
    long open_fds;                         /* descriptors open, -1 unknown */
    uint64_t http_requests;                /* answered on the port */
} rl_node_metrics_input_t;

/* Longest readiness reason, bytes. */
#define RL_READINESS_REASON_SIZE 256

/* /readyz's answer. */
typedef struct {
    bool ready;                            /* 200, else 503 */
    char reason[RL_READINESS_REASON_SIZE]; /* one line, either way */
} rl_readiness_t;

/* Judges whether the node should get traffic (/readyz), from its first
   group (the node's one log): ready when it is a voting member of a
   quorum that has a leader, and its disk can take writes. That is:
   - not stopping, and its storage has not failed;
   - a leader is known, and
     - this node leads, and a majority of the voters (itself included)
       were heard from within an election timeout; or
     - this node is a voting follower and heard from the leader within
       an election timeout;
   - the disk is not under --min-free, and no fsync has been running for
     longer than an election timeout.
   A learner (catching up, not yet a voter) is not ready. The reason says
   which rule held or failed, with the figures. */
void rl_node_readiness(const rl_node_metrics_input_t *in, rl_readiness_t *out);

/* Writes every family into out (appending). */
void rl_node_metrics_render(const rl_node_metrics_input_t *in,
                            const rl_readiness_t *readiness, rl_metrics_t *out);

#endif

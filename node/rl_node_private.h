/*  rl_node_private.h - the inside of rl_node_t, shared by rl_node.c (the
    loop, its handlers and the life cycle) and rl_node_report.c (STATUS,
    the metrics page, readiness). Nothing else includes it.
*/
#ifndef RL_NODE_PRIVATE_H
#define RL_NODE_PRIVATE_H

#include "rl_node.h"

#include <czmq.h>

#include "rl_conns.h"
#include "rl_front.h"
#include "rl_groups.h"
#include "rl_helper.h"
#include "rl_http.h"
#include "rl_intake.h"
#include "rl_keys.h"
#include "rl_metrics.h"
#include "rl_peers.h"
#include "rl_status.h"

struct rl_node {
    rl_config_t config;     /* as parsed (copied) */
    rl_groups_t *groups;    /* the replicated logs */
    rl_peers_t *peers;      /* peer ROUTER + DEALERs */
    rl_front_t *front;      /* client front door */
    rl_conns_t *peer_conns; /* connections to the peer port */
    rl_helper_t *syncer;    /* fsync helper thread */
    rl_helper_t *sparer;    /* spare segment helper thread */
    zloop_t *loop;          /* the event loop */
    int signal_fd;          /* SIGINT and SIGTERM, read as a file */
    rl_intake_t intake;     /* the peer-message intake */
    rl_contacts_t contacts; /* last message from each peer */
    int handled;            /* client requests since the last drive */

    bool disk_low;              /* free space under min_free_bytes */
    uint64_t disk_free;         /* bytes free at the last check */
    int64_t disk_checked;       /* zclock_mono() of the last check */
    bool stopping;              /* a signal asked us to stop */
    int64_t stop_deadline;      /* give up waiting for a transfer then */
    int64_t started;            /* zclock_mono() at start */
    uint64_t fd_limit;          /* RLIMIT_NOFILE in force */
    uint64_t fd_limit_at_start; /* the soft limit found at start */
    uint64_t n_bad_requests;    /* for STATUS */

    /* CURVE (docs/SECURITY.md); all NULL without. */
    zactor_t *auth;           /* the ZAP handler */
    rl_keys_t *keys;          /* the --keys directory, refreshed by a timer */
    zcert_t *cert;            /* this node's certificate (peers) */
    zcert_t *front_cert;      /* the client front door's */
    uint64_t keys_generation; /* of the map the peers last followed */
    long open_fds;            /* at the last descriptor check */
    rl_http_t *http;          /* the monitoring port, or NULL */
    rl_metrics_t page;        /* the next page, rendered here */
    int64_t watchdog_ms;      /* systemd watchdog ping period, 0 */
    int64_t watchdog_pinged;  /* zclock_mono() of the last ping */
};

/* rl_node_report.c */
/* A request named a log this node does not host: NOT_FOUND. */
void rl_node_reply_no_log(rl_node_t *self, zmsg_t **envelope,
                          const rl_msg_t *msg);
/* STATUS_OK for the request's log, with `logs`. */
void rl_node_reply_status(rl_node_t *self, zmsg_t **envelope,
                          const rl_msg_t *request);
/* Renders the metrics page and judges readiness, publishes both (the
   monitoring port) and tells systemd the verdict. */
void rl_node_publish(rl_node_t *self);

#endif

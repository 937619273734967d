/*  rl_broker_config.h - the configuration of raftlog-broker: flags and
    config file.

    The same pattern as the node's rl_config: one table of options, parsed
    by rl_options, gives the command-line flags, the keys of the optional
    ZPL config file and the --help text, so the three cannot disagree.
    Flags override the file. Validation happens before anything is bound,
    and a problem is reported as one line that names it and says what to
    do.
*/
#ifndef RL_BROKER_CONFIG_H
#define RL_BROKER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rl_msg.h"
#include "rl_options.h"

/* The default front door of the local cluster (scripts/run). */
#define RL_BROKER_DEFAULT_ENDPOINT "tcp://127.0.0.1:7100"

typedef struct {
    char endpoint[RL_MAX_ENDPOINT + 1];              /* front door to bind */
    char nodes[RL_MAX_MEMBERS][RL_MAX_ENDPOINT + 1]; /* nodes' client doors */
    size_t node_count;                               /* number of nodes */
    uint32_t heartbeat_ms;        /* STATUS poll period per node */
    uint32_t liveness;            /* missed heartbeats before a node is dead */
    uint32_t request_timeout_ms;  /* a request's time in the broker, all
                                     attempts included */
    uint32_t no_leader_ms;        /* wait this long for a leader, then
                                     NO_LEADER */
    uint32_t drain_ms;            /* graceful shutdown bound */
    uint32_t max_in_flight;       /* requests held at once; BUSY past it */
    uint32_t node_queue;          /* messages queued to one node (HWM) */
    uint32_t max_message_bytes;   /* largest frame a client may send */
    uint32_t max_clients;         /* client connections at once */
    uint32_t max_client_requests; /* requests held for one connection */
    uint64_t max_client_queue_bytes;  /* replies waiting for one client */
    uint64_t max_queue_bytes;         /* replies waiting for all clients */
    uint32_t max_read_wait_ms;        /* a long poll waits at most this long */
    uint32_t max_logs;                /* named logs whose leaders are tracked */
    char metrics_endpoint[256];       /* HOST:PORT for /metrics; "": off */
    uint32_t max_metrics_connections; /* HTTP connections at once */
    /* Keys (docs/SECURITY.md, docs/BROKER.md): all empty without CURVE. */
    char cert[4096];       /* the broker's certificate (role broker) */
    char front_cert[4096]; /* the front door's, "" for cert's */
    char keys_dir[4096];   /* the clients allowed, with their roles */
    char server_key[4096]; /* the nodes' front-door public certificate */
    bool insecure; /* no CURVE, even on a front door the network reaches */
    int log_level; /* rl_log_level_t */
    bool help;     /* --help was asked for */
} rl_broker_config_t;

/* Room for a configuration error message. */
#define RL_BROKER_CONFIG_ERROR_SIZE RL_OPTIONS_ERROR_SIZE

/* Fills config from defaults, then the file named by --config (if any),
   then the flags in argv, then validates it. Returns 0, or -1 with one
   line in err (RL_BROKER_CONFIG_ERROR_SIZE bytes). With --help returns 0
   with config->help set and skips validation. */
int rl_broker_config_parse(rl_broker_config_t *config, int argc, char **argv,
                           char *err);

/* Writes the --help text: every option, its config file key and default. */
void rl_broker_config_usage(FILE *out, const char *program);

#endif

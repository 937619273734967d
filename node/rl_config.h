/*  rl_config.h - the configuration of raftlog-node: flags and config file.

    One table of options (rl_config.c, parsed by rl_options) gives the
    command-line flags, the keys of the optional config file (czmq's ZPL
    format, read with zconfig) and the --help text, so the three cannot
    disagree. Flags override the file. Validation happens here, before
    anything is opened or bound, and a problem is reported as one line that
    names it and says what to do.
*/
#ifndef RL_CONFIG_H
#define RL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rl_logging.h" /* rl_log_level_t */
#include "rl_msg.h"
#include "rl_options.h"

/* One member of the initial configuration. */
typedef struct {
    uint64_t id;                      /* node id, >= 1 */
    char peer[RL_MAX_ENDPOINT + 1];   /* its peer ROUTER endpoint */
    char client[RL_MAX_ENDPOINT + 1]; /* its client front door endpoint */
} rl_config_member_t;

typedef struct {
    char cluster_id[RL_MAX_CLUSTER_ID + 1]; /* cluster this node belongs to */
    uint64_t id;                            /* this node's id */
    char data_dir[4096];                    /* its data directory */
    char peer[RL_MAX_ENDPOINT + 1];         /* endpoint to bind for peers */
    char client[RL_MAX_ENDPOINT + 1];       /* endpoint to bind for clients */
    rl_config_member_t members[RL_MAX_MEMBERS]; /* initial configuration */
    size_t member_count;                        /* number of members */
    bool join; /* start empty and wait to be added by the leader */
    uint32_t election_timeout_ms;     /* base election timeout */
    uint32_t heartbeat_ms;            /* leader heartbeat interval */
    uint32_t request_timeout_ms;      /* a client request's time limit */
    bool fsync;                       /* fdatasync before acknowledging */
    uint32_t syncfs_from;             /* logs written in a turn from which
                                         one syncfs syncs them, 0: never */
    uint64_t segment_bytes;           /* size of one log segment file */
    uint32_t max_entry_bytes;         /* largest entry accepted */
    uint32_t max_batch_entries;       /* most entries in one APPEND_REQUEST */
    uint64_t max_uncommitted_bytes;   /* back-pressure bound (BUSY past it) */
    uint64_t retention_bytes;         /* keep about this much log; 0: all */
    uint64_t retention_age_ms;        /* drop segments older; 0: keep all */
    uint64_t min_free_bytes;          /* refuse appends below this free space */
    uint32_t max_message_bytes;       /* largest frame a client or peer sends */
    uint32_t max_clients;             /* client connections at once */
    uint32_t max_peer_connections;    /* connections to the peer port at once */
    uint64_t max_client_queue_bytes;  /* replies waiting for one client */
    uint64_t max_queue_bytes;         /* replies waiting for all clients */
    uint32_t max_parked_reads;        /* long-poll READs waiting, in total */
    uint32_t max_client_parked_reads; /* long-poll READs of one client */
    uint32_t max_read_wait_ms;        /* a long poll waits at most this long */
    uint32_t max_consumers;           /* durable consumers the cluster keeps
                                         (as the leader sees it) */
    uint32_t max_logs;                /* named logs the cluster keeps (as
                                         the leader of group 0 sees it) */
    char metrics_endpoint[256];       /* HOST:PORT for /metrics; "": off */
    uint32_t max_metrics_connections; /* HTTP connections at once */
    /* Keys (docs/SECURITY.md): all three paths empty without CURVE. */
    char cert[4096];       /* this node's certificate (the _secret file) */
    char front_cert[4096]; /* the client front door's, "" for cert's */
    char keys_dir[4096];   /* the allowed public certificates */
    bool insecure;         /* no CURVE, even on endpoints the network reaches */
    int log_level;         /* rl_log_level_t */
    char check_dir[4096];  /* --check DIR: verify a data dir, exit */
    bool help;             /* --help was asked for */
} rl_config_t;

/* Room for a configuration error message. */
#define RL_CONFIG_ERROR_SIZE RL_OPTIONS_ERROR_SIZE

/* Fills config from defaults, then the config file named by --config (if
   any), then the flags in argv, then validates it. Returns 0, or -1 with
   one line in err (RL_CONFIG_ERROR_SIZE bytes) naming the problem. With
   --help or --check, returns 0 with config->help or config->check_dir set
   and skips the validation of the rest. */
int rl_config_parse(rl_config_t *config, int argc, char **argv, char *err);

/* Writes the --help text: every option, its config file key and default. */
void rl_config_usage(FILE *out, const char *program);

/* The member entry of id, or NULL. */
const rl_config_member_t *rl_config_member(const rl_config_t *config,
                                           uint64_t id);

#endif

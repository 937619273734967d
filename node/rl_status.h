/*  rl_status.h - STATUS assembly: the node's STATUS_OK reply from the
    figures the node gathers (docs/OPERATIONS.md, "Logs and status").

    Also the two small records STATUS needs kept between requests: when
    each peer was last heard from, and the recent fsync latencies for the
    percentiles. Pure: no core, no log, no sockets, no clock (times are
    given), so the reply's rules are tested without a process.
*/
#ifndef RL_STATUS_H
#define RL_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "raft.h"
#include "rl_msg.h"

/* fsync latencies remembered for the percentiles. */
#define RL_STATUS_LATENCIES 1024

/* Recent fsync times. Zero it to start. */
typedef struct {
    uint32_t samples[RL_STATUS_LATENCIES]; /* the last ones, microseconds */
    uint64_t count;                        /* measured since start */
} rl_latencies_t;

/* Remembers one fsync's time (capped at UINT32_MAX microseconds). */
void rl_latencies_add(rl_latencies_t *self, int64_t microseconds);

/* When the node last heard from each peer. Zero it to start. */
typedef struct {
    struct {
        uint64_t id;  /* peer id, 0: a free row */
        int64_t when; /* the caller's clock, ms */
    } rows[RL_MAX_MEMBERS];
} rl_contacts_t;

/* Notes a message from peer id at now. Peers beyond RL_MAX_MEMBERS
   distinct ids are not noted. */
void rl_contacts_touch(rl_contacts_t *self, uint64_t id, int64_t now);

/* Forgets id (a member that left), freeing its row. */
void rl_contacts_forget(rl_contacts_t *self, uint64_t id);

/* Milliseconds since id was last heard from at now, or -1 never. */
int64_t rl_contacts_since(const rl_contacts_t *self, uint64_t id, int64_t now);

/* The node's counters, in STATUS order (rl_status.c names them). */
typedef struct {
    uint64_t append_requests;  /* APPEND_REQUESTs accepted */
    uint64_t appended_entries; /* entries they appended (not duplicates) */
    uint64_t appended_bytes;   /* payload bytes of those */
    uint64_t reads;            /* READ_OKs sent */
    uint64_t elections;        /* times this node became a candidate */
    uint64_t leader_changes;   /* changes of the leader it knows */
    uint64_t timeouts;         /* requests answered TIMEOUT */
    uint64_t bad_requests;     /* requests that did not decode or fit */
    uint64_t fsyncs;           /* fdatasync calls of the log */
    uint64_t group_commits;    /* syncs that made entries durable */
    uint64_t spare_segments;   /* segments that began as a spare */
    uint64_t filesystem_syncs; /* syncs done by a syncfs of the filesystem */
    uint64_t pending_requests; /* client requests waiting now */
    uint64_t disk_free_bytes;  /* at the last check */
    uint64_t uptime_ms;        /* since start */
    /* Limits (docs/SECURITY.md): where each stands, and when hit. */
    uint64_t parked_reads;             /* long polls waiting now */
    uint64_t parked_reads_refused;     /* refused BUSY: a cap was reached */
    uint64_t parked_reads_released;    /* dropped: their client went away */
    uint64_t read_waits_cut;           /* wait_ms cut to --max-read-wait */
    uint64_t clients;                  /* client connections now */
    uint64_t max_clients;              /* their limit in force */
    uint64_t clients_refused;          /* closed at once: over the limit */
    uint64_t peer_connections;         /* connections to the peer port */
    uint64_t peer_connections_refused; /* closed at once: over the limit */
    uint64_t queued_reply_bytes;       /* replies waiting to be written */
    uint64_t busy_queue_full;          /* BUSY: replies were waiting */
    uint64_t fd_limit;                 /* RLIMIT_NOFILE in force */
    uint64_t fd_limit_at_start;        /* the soft limit found at start */
    uint64_t log_lines_suppressed;     /* repeated warnings not printed */
    /* Keys (docs/SECURITY.md). */
    uint64_t insecure;          /* 1: no CURVE (--insecure, or loopback) */
    uint64_t keys;              /* allowed keys loaded from --keys */
    uint64_t forbidden;         /* requests answered FORBIDDEN */
    uint64_t handshakes_failed; /* client and peer connections whose
                                   handshake failed */
    uint64_t keys_refused;      /* handshakes the ZAP handler refused */
    uint64_t peer_dropped_key;  /* peer messages whose connection's key is
                                   not their sender's node certificate */
    /* Named logs (issue 16). */
    uint64_t peer_messages_sent;    /* ZeroMQ messages sent to peers: one
                                       per peer per loop turn at most */
    uint64_t peer_frames_sent;      /* Raft messages they carried */
    uint64_t peer_dropped_no_group; /* for a group not hosted here */
    uint64_t peer_dropped_frames;   /* messages of too many frames */
    uint64_t logs;                  /* logs hosted here, default too */
    uint64_t logs_quiet;            /* of them quiet now (idle) */
} rl_node_counters_t;

/* Everything a STATUS_OK says, gathered by the node. Borrowed. */
typedef struct {
    uint64_t node_id;                /* this node */
    rl_raft_status_t raft;           /* the core's state */
    const rl_member_t *members;      /* the latest configuration */
    size_t member_count;             /* its size */
    const uint64_t *match;           /* leader's match index per member (same
                                        order), ignored for this node */
    const rl_contacts_t *contacts;   /* when peers were last heard from */
    const rl_latencies_t *latencies; /* fsync times */
    uint64_t first, last;            /* the log's first and last index */
    uint64_t first_time;             /* the first entry's time, 0: unknown */
    rl_node_counters_t counters;     /* the counters */
    int64_t now;                     /* the contacts' clock, now */
} rl_status_input_t;

/* Counters a STATUS_OK carries at most. */
#define RL_STATUS_MAX_COUNTERS 48

/* A STATUS_OK with the room its arrays need: keep it alive while msg is
   encoded. */
typedef struct {
    rl_msg_t msg;                                  /* the reply */
    rl_member_status_t rows[RL_MAX_MEMBERS];       /* msg's members */
    rl_counter_t counters[RL_STATUS_MAX_COUNTERS]; /* msg's counters */
} rl_status_reply_t;

/* Builds the STATUS_OK answering request id from in into *out. */
void rl_status_build(const rl_status_input_t *in, uint64_t id,
                     rl_status_reply_t *out);

#endif

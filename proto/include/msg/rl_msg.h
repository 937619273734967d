/*  rl_msg.h - the messages of raftlog as plain C values.

    Every message that crosses a socket in raftlog is one of the structs
    below. They are plain values with visible fields so that the Raft core,
    the simulator and the tests can build and inspect them on the stack.
    This header depends on libc only: the Raft core and the storage module
    include it without seeing msgpack. The encoding lives in rl_codec.h,
    and its byte layout in docs/PROTOCOL.md.

    Ownership: byte payloads (entry data, snapshot chunks, strings) are
    borrowed, never owned, by these structs. A message decoded by
    rl_codec_decode() borrows them from the buffer it was decoded from, so
    that buffer must outlive the message. Arrays of entries and members are
    allocated by the decoder and released by rl_msg_close().
*/
#ifndef RL_MSG_H
#define RL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The version every message carries; a peer or client speaking another
   version gets RL_ERR_UNSUPPORTED_VERSION. */
#define RL_PROTOCOL_VERSION 1

/* Limits enforced by the decoder. They bound what a peer or client can make
   a node allocate; a node may configure lower limits, never higher ones. */
#define RL_MAX_ENTRY_SIZE     (1u << 20)  /* bytes of one entry's data */
#define RL_MAX_BATCH_ENTRIES  65536u      /* entries in one message */
#define RL_MAX_MESSAGE_SIZE   (64u << 20) /* bytes of one encoded message */
#define RL_MAX_SNAPSHOT_CHUNK (4u << 20)  /* bytes of one snapshot chunk */
#define RL_MAX_MEMBERS        16u         /* servers in a configuration */
#define RL_MAX_ENDPOINT       256u        /* bytes of a ZeroMQ endpoint */
#define RL_MAX_CLUSTER_ID     64u         /* bytes of a cluster id */
#define RL_MAX_ERROR_MESSAGE  1024u       /* bytes of an error's text */
#define RL_KEY_TEXT           40u         /* bytes of a CURVE public key, Z85 */
#define RL_MAX_ROLE           16u         /* bytes of a role name (as_role) */
#define RL_MAX_CONSUMER_NAME  64u /* bytes of a durable consumer's name */
#define RL_MAX_LOG_NAME       64u /* bytes of a named log's name (`log`) */
#define RL_MAX_LOGS                                                            \
    10001u /* logs in one LOGS_OK or STATUS_OK: the most a cluster keeps       \
              (the Raft core's RL_RAFT_LOG_LIMIT) and `default` */
#define RL_MAX_CONSUMERS                                                       \
    65536u /* consumers in one CONSUMERS_OK: the                               \
              most a cluster keeps (the Raft                                   \
              core's RL_RAFT_CONSUMER_LIMIT) */

/* The message types, with the numbers they have on the wire. */
typedef enum {
    /* Peer RPC, node to node over ROUTER/DEALER. */
    RL_MSG_PREVOTE = 1,        /* would you vote for me? (thesis 9.6) */
    RL_MSG_PREVOTE_REPLY = 2,  /* answer to PREVOTE */
    RL_MSG_VOTE = 3,           /* RequestVote (Raft paper 5.2) */
    RL_MSG_VOTE_REPLY = 4,     /* answer to VOTE */
    RL_MSG_APPEND = 5,         /* AppendEntries, also the heartbeat */
    RL_MSG_APPEND_REPLY = 6,   /* answer to APPEND */
    RL_MSG_SNAPSHOT = 7,       /* InstallSnapshot, one chunk */
    RL_MSG_SNAPSHOT_REPLY = 8, /* answer to SNAPSHOT */
    RL_MSG_TIMEOUT_NOW = 9,    /* start an election now (thesis 3.10) */
    /* Node to node, for no Raft group: node-level liveness. */
    RL_MSG_PING = 10, /* "I am up": sent to a peer that got nothing else
                         for a heartbeat interval (quiet groups) */

    /* Client requests, through the REQ/REP front door. */
    RL_MSG_APPEND_REQUEST = 33,    /* append a batch of entries */
    RL_MSG_READ_REQUEST = 34,      /* read committed entries, maybe wait */
    RL_MSG_STATUS_REQUEST = 35,    /* describe this node and the cluster */
    RL_MSG_MEMBERS_REQUEST = 36,   /* list, add or remove members */
    RL_MSG_TRANSFER_REQUEST = 37,  /* transfer leadership */
    RL_MSG_CONSUMER_COMMIT = 38,   /* commit a durable consumer's position */
    RL_MSG_CONSUMERS_REQUEST = 39, /* list, show, reset, delete consumers */
    RL_MSG_LOGS_REQUEST = 40,      /* list, create, delete, configure logs */

    /* Replies to clients. */
    RL_MSG_APPEND_OK = 65,    /* entries committed at first..last */
    RL_MSG_READ_OK = 66,      /* committed entries */
    RL_MSG_STATUS_OK = 67,    /* node and cluster status */
    RL_MSG_MEMBERS_OK = 68,   /* the configuration after the request */
    RL_MSG_TRANSFER_OK = 69,  /* leadership moved */
    RL_MSG_CONSUMERS_OK = 70, /* consumers' positions after the request */
    RL_MSG_LOGS_OK = 71,      /* named logs after the request */
    RL_MSG_NOT_LEADER = 96,   /* ask the leader instead */
    RL_MSG_ERROR = 97         /* the request failed; see code */
} rl_msg_type_t;

/* Error codes, stable on the wire. The message table is in rl_msg.c
   (rl_error_name) and the meaning of each in docs/PROTOCOL.md. */
typedef enum {
    RL_OK = 0,
    RL_ERR_BAD_REQUEST = 1,         /* malformed, wrong field, bad value */
    RL_ERR_TOO_LARGE = 2,           /* entry or batch over the limits */
    RL_ERR_OUT_OF_RANGE = 3,        /* index below the retained range */
    RL_ERR_TIMEOUT = 4,             /* no quorum in time; outcome unknown */
    RL_ERR_SHUTTING_DOWN = 5,       /* the node is stopping */
    RL_ERR_UNSUPPORTED_VERSION = 6, /* protocol version not spoken here */
    RL_ERR_UNKNOWN_TYPE = 7,        /* message type not known */
    RL_ERR_BUSY = 8,                /* back-pressure; retry later */
    RL_ERR_NO_SPACE = 9,            /* the node's disk is (nearly) full */
    RL_ERR_NO_LEADER = 10,          /* no leader known; retry later */
    RL_ERR_REJECTED = 11,           /* valid but refused in this state */
    RL_ERR_STALE_SEQUENCE = 12,     /* producer sequence already passed */
    RL_ERR_WRONG_CLUSTER = 13,      /* message for another cluster */
    RL_ERR_INTERNAL = 14,           /* a bug or an I/O failure here */
    RL_ERR_FORBIDDEN = 15,          /* the key's role may not do this */
    RL_ERR_NOT_FOUND = 16,          /* no durable consumer or log of that
                                       name */
    RL_ERR__COUNT
} rl_error_t;

/* Kinds of log entries. Only NORMAL entries are the users'; the others
   are Raft's own and are skipped by READ. */
typedef enum {
    RL_ENTRY_NORMAL = 0,   /* a producer's payload */
    RL_ENTRY_NOOP = 1,     /* appended by each new leader (paper 8) */
    RL_ENTRY_CONFIG = 2,   /* a cluster configuration (thesis 4.1) */
    RL_ENTRY_CONSUMER = 3, /* a durable consumer's position (docs/RAFT.md) */
    RL_ENTRY_CATALOG = 4   /* group 0: a named log created, deleted or
                              configured (docs/RAFT.md) */
} rl_entry_type_t;

/* One log entry. data is borrowed (see ownership above). The producer
   fields travel with the entry so that every node can rebuild the table of
   idempotent producers from its log alone: all entries of one APPEND_REQUEST
   batch carry the same (producer_id, seq). time is the leader's wall clock
   when it appended the entry, never lower than the time of the entry
   before it (docs/RAFT.md, "Entry timestamps"); 0 for an entry written
   before timestamps existed. Last, so that initializers by position
   written before it still compile and leave it 0. */
typedef struct {
    uint64_t index;       /* position in the log, from 1 */
    uint64_t term;        /* term of the leader that created it */
    uint8_t type;         /* rl_entry_type_t */
    uint64_t producer_id; /* producer that appended it, 0 for none */
    uint64_t seq;         /* that producer's sequence number, 0 for none */
    const uint8_t *data;  /* payload, may be NULL when size is 0 */
    size_t size;          /* bytes of payload */
    uint64_t time;        /* ms since the Unix epoch, 0: not stamped */
} rl_entry_t;

/* A borrowed byte string; not NUL-terminated. */
typedef struct {
    const char *ptr; /* first byte, NULL when size is 0 */
    size_t size;     /* number of bytes */
} rl_str_t;

/* One server of a configuration. */
typedef struct {
    uint64_t id;          /* node id, never 0 */
    bool voter;           /* false for a learner catching up */
    rl_str_t peer_addr;   /* endpoint of its peer ROUTER */
    rl_str_t client_addr; /* endpoint of its client front door */
} rl_member_t;

/* ---- Peer RPC bodies ---- */

/* PREVOTE and VOTE (Raft paper 5.2, 5.4.1; thesis 9.6). */
typedef struct {
    uint64_t term; /* candidate's term (PREVOTE: the one it would use) */
    uint64_t last_log_index; /* index of candidate's last entry */
    uint64_t last_log_term;  /* term of candidate's last entry */
    bool transfer;           /* sent after TIMEOUT_NOW: ignore leader lease */
} rl_vote_t;

/* PREVOTE_REPLY and VOTE_REPLY. */
typedef struct {
    uint64_t term;   /* voter's term (PREVOTE_REPLY: the term asked about) */
    bool granted;    /* true when the vote is given */
    uint64_t leader; /* refused: the leader the voter follows, 0 for none
                        (a lagging server learns of a leader it does not
                        know yet from a member it knows) */
} rl_vote_reply_t;

/* APPEND: replicate entries after (prev_index, prev_term); no entries is a
   heartbeat. entries[i].index is prev_index + 1 + i. */
typedef struct {
    uint64_t term;       /* leader's term */
    uint64_t prev_index; /* index of the entry before the new ones */
    uint64_t prev_term;  /* term of that entry */
    uint64_t commit;     /* leader's commit index */
    rl_entry_t *entries; /* new entries, may be NULL when count is 0 */
    size_t entry_count;  /* number of entries */
    bool quiesce;        /* a heartbeat after which the group goes quiet:
                            the leader stops ticking (docs/RAFT.md) */
} rl_append_t;

/* APPEND_REPLY, with the conflict hint for fast backtracking (paper 5.3,
   thesis 5.2.1 "conflicting term and first index of that term"). */
typedef struct {
    uint64_t term;           /* follower's term */
    bool success;            /* prev matched and entries were appended */
    uint64_t match_index;    /* success: last index known to match */
    uint64_t conflict_term;  /* failure: term at prev_index, 0 if none */
    uint64_t conflict_index; /* failure: first index of conflict_term, or
                                follower's last index + 1 when its log is
                                too short */
} rl_append_reply_t;

/* SNAPSHOT: one chunk of InstallSnapshot (paper 7). For a log service the
   snapshot is the retention boundary (last_index, last_term), the
   configuration at that point, and the replicated state below it
   (producer sessions), which is opaque bytes to the protocol. */
typedef struct {
    uint64_t term;        /* leader's term */
    uint64_t last_index;  /* index the snapshot replaces the log up to */
    uint64_t last_term;   /* term of that entry */
    rl_member_t *members; /* configuration as of last_index */
    size_t member_count;  /* number of members */
    uint64_t offset;      /* where this chunk goes in the snapshot data */
    const uint8_t *data;  /* chunk bytes, borrowed */
    size_t size;          /* chunk size */
    bool done;            /* true on the last chunk */
} rl_snapshot_t;

/* SNAPSHOT_REPLY. */
typedef struct {
    uint64_t term;        /* follower's term */
    uint64_t last_index;  /* snapshot this answers */
    uint64_t next_offset; /* bytes received so far; the next chunk's offset */
    bool done;            /* snapshot installed */
} rl_snapshot_reply_t;

/* TIMEOUT_NOW: leadership transfer (thesis 3.10). */
typedef struct {
    uint64_t term; /* leader's term */
} rl_timeout_now_t;

/* ---- Client requests ---- */

/* APPEND_REQUEST: a batch of user entries. With producer_id != 0 the append
   is idempotent: the cluster remembers the last seq of each producer and
   answers a repeat of it with the original indexes. */
typedef struct {
    uint64_t producer_id; /* 0 for none */
    uint64_t seq;         /* producer's sequence number, increasing */
    rl_str_t *entries;    /* payloads, borrowed */
    size_t entry_count;   /* number of entries, at least 1 */
} rl_append_request_t;

/* READ_REQUEST: committed entries from an index, from a time, or after a
   durable consumer's position: exactly one of from, from_time and
   consumer. */
typedef struct {
    uint64_t from;        /* first index wanted (0: not given) */
    uint32_t max_entries; /* at most this many entries (0: server default) */
    uint32_t max_bytes;   /* at most about this many bytes (0: default) */
    uint32_t wait_ms;     /* long-poll up to this long when none ready */
    uint64_t from_time;   /* or: the first entry stamped at or after this,
                             ms since the Unix epoch (0: not given) */
    rl_str_t consumer;    /* or: after this consumer's committed position
                             (empty: not given) */
} rl_read_request_t;

/* CONSUMER_COMMIT: a durable consumer has processed everything up to and
   including index. */
typedef struct {
    rl_str_t consumer; /* its name, 1..RL_MAX_CONSUMER_NAME of [a-z0-9._-] */
    uint64_t index;    /* its new position */
} rl_consumer_commit_t;

typedef enum {
    RL_CONSUMERS_LIST = 0,  /* every consumer's position */
    RL_CONSUMERS_SHOW = 1,  /* one consumer's */
    RL_CONSUMERS_RESET = 2, /* move one to index (or to time) */
    RL_CONSUMERS_DELETE = 3 /* forget one */
} rl_consumers_op_t;

/* CONSUMERS_REQUEST. consumer for show, reset and delete; reset takes
   index (a position, 0 included) or, instead, time (the consumer then
   resumes at the first entry stamped at or after it). */
typedef struct {
    uint8_t op;        /* rl_consumers_op_t */
    rl_str_t consumer; /* its name */
    uint64_t index;    /* reset: the new position */
    uint64_t time;     /* reset: or this time, ms since the epoch (0: none) */
} rl_consumers_request_t;

typedef enum {
    RL_LOGS_LIST = 0,     /* every log of the committed catalog */
    RL_LOGS_CREATE = 1,   /* create a named log */
    RL_LOGS_DELETE = 2,   /* delete one */
    RL_LOGS_CONFIGURE = 3 /* change its settings */
} rl_logs_op_t;

/* LOGS_REQUEST: the catalog of named logs (docs/PROTOCOL.md). The
   settings are create's and configure's; 0 is the default (retention:
   keep all; max entry: the node's --max-entry). */
typedef struct {
    uint8_t op;               /* rl_logs_op_t */
    rl_str_t name;            /* the log (create, delete, configure) */
    uint64_t retention_bytes; /* bytes kept, 0: all */
    uint64_t retention_ms;    /* age kept, 0: no limit */
    uint32_t max_entry_bytes; /* largest entry, 0: the node's --max-entry */
} rl_logs_request_t;

typedef enum {
    RL_MEMBERS_LIST = 0,  /* list the configuration */
    RL_MEMBERS_ADD = 1,   /* add a server, as a learner first */
    RL_MEMBERS_REMOVE = 2 /* remove a server */
} rl_members_op_t;

/* MEMBERS_REQUEST. member is used by ADD (all fields) and REMOVE (id). */
typedef struct {
    uint8_t op;         /* rl_members_op_t */
    rl_member_t member; /* the server added or removed */
} rl_members_request_t;

/* TRANSFER_REQUEST. */
typedef struct {
    uint64_t target; /* node id to lead next, 0 for the most up to date */
} rl_transfer_request_t;

/* ---- Replies ---- */

/* APPEND_OK. */
typedef struct {
    uint64_t first; /* index of the first entry of the batch */
    uint64_t last;  /* index of the last entry of the batch */
    bool duplicate; /* true when this repeats an earlier append */
} rl_append_ok_t;

/* READ_OK: committed user entries (type NORMAL) in order. On the wire
   each entry's time travels in times, an array parallel to entries
   (encoded from times; a decoder fills times and copies each into
   entries[i].time). */
typedef struct {
    rl_entry_t *entries; /* index, data, size and time set; term, type 0 */
    size_t entry_count;  /* may be 0 after a long-poll timeout */
    uint64_t next;       /* the index to ask for next */
    uint64_t commit;     /* commit index known to the node answering */
    uint64_t first;      /* first index the node still retains */
    uint64_t *times;     /* times[i]: entries[i]'s time, ms since the epoch
                            (0: written before timestamps) */
    size_t time_count;   /* entry_count, or 0 (a node before timestamps) */
} rl_read_ok_t;

/* One durable consumer's position, in CONSUMERS_OK. */
typedef struct {
    rl_str_t name;  /* its name */
    uint64_t index; /* the last index it processed: it resumes after it */
} rl_consumer_position_t;

/* CONSUMERS_OK: the consumers a request concerns, after it (list: all,
   by name; show, commit, reset: the one; delete: none), and the log's
   ends as the answering node (the leader) sees them. */
typedef struct {
    rl_consumer_position_t *consumers; /* in name order */
    size_t consumer_count;             /* how many */
    uint64_t commit;                   /* the answering node's commit index */
    uint64_t first;                    /* its first retained index */
} rl_consumers_ok_t;

/* One named log: in LOGS_OK its settings, in STATUS_OK's `logs` the
   answering node's view of its group. */
typedef struct {
    rl_str_t name;            /* its name (`default` for group 0) */
    uint64_t group;           /* its Raft group */
    uint64_t retention_bytes; /* LOGS_OK: bytes kept, 0: all */
    uint64_t retention_ms;    /* LOGS_OK: age kept, 0: no limit */
    uint32_t max_entry_bytes; /* LOGS_OK: largest entry, 0: the node's */
    rl_str_t role;            /* STATUS_OK: this node's role in the group */
    uint64_t leader;          /* STATUS_OK: the leader it knows, 0: none */
    uint64_t term;            /* STATUS_OK: its term */
    uint64_t commit;          /* STATUS_OK: its commit index */
    uint64_t last;            /* STATUS_OK: its last index */
    uint64_t first;           /* STATUS_OK: its first retained index */
    uint64_t lag;             /* STATUS_OK: last - commit */
} rl_log_desc_t;

/* LOGS_OK: list: every log, by name (`default` first); create, delete,
   configure: the log concerned. */
typedef struct {
    rl_log_desc_t *logs; /* the logs */
    size_t log_count;    /* how many */
} rl_logs_ok_t;

/* One member's line in STATUS_OK. */
typedef struct {
    rl_member_t member;      /* identity and endpoints */
    uint64_t match_index;    /* leader's view: replicated up to here */
    int64_t last_contact_ms; /* leader's view: ms since heard, -1 unknown */
} rl_member_status_t;

/* One named counter in STATUS_OK (appends, bytes, elections, ...). */
typedef struct {
    rl_str_t name;  /* counter name, e.g. "appends" */
    uint64_t value; /* its value */
} rl_counter_t;

/* STATUS_OK. */
typedef struct {
    uint64_t id;                 /* node answering */
    rl_str_t role;               /* "leader", "follower", ... */
    uint64_t term;               /* current term */
    uint64_t leader;             /* leader id, 0 unknown */
    uint64_t commit;             /* commit index */
    uint64_t last;               /* last log index */
    uint64_t first;              /* first retained index */
    uint64_t first_time;         /* its entry's time (0: unknown) */
    rl_member_status_t *members; /* configuration with progress */
    size_t member_count;         /* number of members */
    rl_counter_t *counters;      /* counters, in the node's order */
    size_t counter_count;        /* number of counters */
    rl_log_desc_t *logs;         /* every log this node hosts (or the one
                                    the request named) */
    size_t log_count;            /* how many */
} rl_status_ok_t;

/* MEMBERS_OK. */
typedef struct {
    rl_member_t *members; /* the configuration */
    size_t member_count;  /* number of members */
} rl_members_ok_t;

/* TRANSFER_OK. */
typedef struct {
    uint64_t leader; /* the new leader */
} rl_transfer_ok_t;

/* NOT_LEADER. */
typedef struct {
    uint64_t leader;      /* leader id, 0 when unknown */
    rl_str_t leader_addr; /* leader's client endpoint, empty when unknown */
} rl_not_leader_t;

/* ERROR. */
typedef struct {
    uint16_t code;       /* rl_error_t */
    rl_str_t message;    /* human-readable, says what to do */
    uint64_t first;      /* OUT_OF_RANGE: first retained index, else 0 */
    uint64_t first_time; /* OUT_OF_RANGE: that entry's time, else 0 */
} rl_error_reply_t;

/* Any message: a header plus the body its type selects. */
typedef struct {
    uint8_t type;     /* rl_msg_type_t */
    rl_str_t cluster; /* cluster id; peer messages only */
    uint64_t from;    /* sender node id; peer messages only */
    uint64_t group;   /* peer messages: the Raft group (named log) it is
                         for, 0 for the default log (absent on the wire) */
    uint64_t id;      /* client requests: request id, echoed in the reply */
    /* Client requests forwarded by a broker: the client's CURVE public key
       (Z85, RL_KEY_TEXT bytes) and its role ("producer", ...), both or
       neither; empty otherwise. Never in replies. A node trusts them only
       from a connection with a broker's key (docs/SECURITY.md). */
    rl_str_t as_key;
    rl_str_t as_role;
    /* Client requests and NOT_LEADER: the named log it is about (at most
       RL_MAX_LOG_NAME bytes); empty: `default` (group 0). */
    rl_str_t log;
    void *owned; /* block the decoder allocated; rl_msg_close frees it */
    union {
        rl_vote_t vote;                         /* PREVOTE, VOTE */
        rl_vote_reply_t vote_reply;             /* PREVOTE_REPLY, VOTE_REPLY */
        rl_append_t append;                     /* APPEND */
        rl_append_reply_t append_reply;         /* APPEND_REPLY */
        rl_snapshot_t snapshot;                 /* SNAPSHOT */
        rl_snapshot_reply_t snapshot_reply;     /* SNAPSHOT_REPLY */
        rl_timeout_now_t timeout_now;           /* TIMEOUT_NOW */
        rl_append_request_t append_request;     /* APPEND_REQUEST */
        rl_read_request_t read_request;         /* READ_REQUEST */
        rl_members_request_t members_request;   /* MEMBERS_REQUEST */
        rl_transfer_request_t transfer_request; /* TRANSFER_REQUEST */
        rl_consumer_commit_t consumer_commit;   /* CONSUMER_COMMIT */
        rl_consumers_request_t consumers_request; /* CONSUMERS_REQUEST */
        rl_consumers_ok_t consumers_ok;           /* CONSUMERS_OK */
        rl_logs_request_t logs_request;           /* LOGS_REQUEST */
        rl_logs_ok_t logs_ok;                     /* LOGS_OK */
        rl_append_ok_t append_ok;                 /* APPEND_OK */
        rl_read_ok_t read_ok;                     /* READ_OK */
        rl_status_ok_t status_ok;                 /* STATUS_OK */
        rl_members_ok_t members_ok;               /* MEMBERS_OK */
        rl_transfer_ok_t transfer_ok;             /* TRANSFER_OK */
        rl_not_leader_t not_leader;               /* NOT_LEADER */
        rl_error_reply_t error;                   /* ERROR */
    } body;
} rl_msg_t;

/* True for the peer RPC types (1..9), which carry cluster and from. */
static inline bool rl_msg_is_peer(uint8_t type)
{
    return type >= RL_MSG_PREVOTE && type <= RL_MSG_TIMEOUT_NOW;
}

/* True for the messages between nodes (1..10): the Raft messages and
   PING, which carry cluster and from. */
static inline bool rl_msg_is_node(uint8_t type)
{
    return type >= RL_MSG_PREVOTE && type <= RL_MSG_PING;
}

/* True for the client request types (33..40), which may carry as_key,
   as_role and log. */
static inline bool rl_msg_is_request(uint8_t type)
{
    return type >= RL_MSG_APPEND_REQUEST && type <= RL_MSG_LOGS_REQUEST;
}

/* True for the replies that answer a request done (65..71). */
static inline bool rl_msg_is_done(uint8_t type)
{
    return type >= RL_MSG_APPEND_OK && type <= RL_MSG_LOGS_OK;
}

/* Makes an empty message of the given type (all fields zero). */
void rl_msg_init(rl_msg_t *msg, uint8_t type);

/* Releases the arrays a decoder allocated in msg (msg->owned) and zeroes
   msg. A message built by hand owns nothing (owned is NULL), so closing it
   only zeroes it. Safe to call twice. */
void rl_msg_close(rl_msg_t *msg);

/* Allocates size zeroed bytes owned by msg: rl_msg_close frees them. The
   decoder uses it for entry and member arrays; hosts may too. Returns NULL
   when out of memory. */
void *rl_msg_alloc(rl_msg_t *msg, size_t size);

/* Wraps a NUL-terminated C string (borrowed). NULL gives the empty string. */
rl_str_t rl_str(const char *cstr);

/* Whether name is a named log's name: 1..RL_MAX_LOG_NAME bytes of a-z,
   0-9, '.', '_' and '-', and neither "." nor ".." (a log's name is its
   directory's on every node, DATA/logs/NAME). The decoder holds the logs
   of LOGS_OK and STATUS_OK to it; clients check their own names with it. */
bool rl_log_name_valid(rl_str_t name);

/* Stable name of an error code ("TIMEOUT"), "UNKNOWN" for others. */
const char *rl_error_name(int code);

/* Stable name of a message type ("APPEND"), "UNKNOWN" for others. */
const char *rl_msg_type_name(int type);

#endif

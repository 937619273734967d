/*  rl_broker_private.h - the inside of rl_broker_t, shared by the files
    that implement it: rl_broker.c (the loop and life cycle),
    rl_broker_route.c (the request table, routing, retries),
    rl_broker_nodes.c (the nodes' DEALERs, liveness), rl_broker_logs.c
    (which node leads each log) and rl_broker_status.c (STATUS with the
    broker's counters). Nothing else includes it.
*/
#ifndef RL_BROKER_PRIVATE_H
#define RL_BROKER_PRIVATE_H

#include <czmq.h>

#include "rl_broker.h"
#include "rl_codec.h"
#include "rl_front.h"
#include "rl_http.h"
#include "rl_keys.h"
#include "rl_peek.h"

/* Housekeeping period: heartbeats, deadlines, shutdown progress. */
#define RL_BROKER_SWEEP_MS 10
/* How often the keys directory is checked for changes (a removed
   certificate is refused within twice this). */
#define RL_BROKER_KEYS_CHECK_MS 500

/* A log named nowhere is forgotten after this long (rl_broker_logs.c). */
#define RL_BROKER_LOG_GRACE_MS 5000

/* Where a request must go. */
typedef enum {
    RL_ROUTE_TO_LEADER, /* APPEND, MEMBERS, TRANSFER: its log's leader */
    RL_ROUTE_TO_ANY,    /* READ: a healthy node, its log's followers
                           preferred */
    RL_ROUTE_TO_STATUS  /* STATUS: its log's leader, else any healthy node */
} rl_broker_route_t;

/* One log as the broker sees it: which node leads it. Every log is its
   own Raft group, with its own leader and terms (docs/BROKER.md, "Leader
   tracking"); the default log always exists, named logs are learnt from
   the nodes (STATUS `logs`, NOT_LEADER naming one), never from a client. */
typedef struct {
    char name[RL_MAX_LOG_NAME + 1]; /* "" for the default log */
    int leader;           /* index of the node that leads it, -1 unknown */
    uint64_t leader_term; /* highest term seen for it */
    int64_t leaderless;   /* zclock_mono() since no leader known, 0 */
    uint64_t listed[RL_MAX_MEMBERS]; /* the logs_polls of node i whose
                                        STATUS listed it last */
    int64_t heard;                   /* zclock_mono() a node last named it */
} rl_broker_log_t;

/* One node behind the broker. */
typedef struct {
    char endpoint[RL_MAX_ENDPOINT + 1]; /* its client front door */
    zsock_t *dealer;                    /* our connection to it */
    zsock_t *monitor;                   /* the DEALER's handshake events */
    bool failing;                       /* its last handshake failed */
    uint64_t id;                        /* its node id, 0 until it answers */
    bool alive;                         /* answering; requests may go to it */
    bool stopping;     /* said SHUTTING_DOWN: dies if it then goes silent */
    uint32_t liveness; /* heartbeats it may still miss */
    bool heard;        /* it said something since the last poll */
    uint64_t poll_id;  /* broker id of the last STATUS poll */
    int64_t next_poll; /* zclock_mono() of the next poll */
    uint32_t poll_interval; /* current poll period, ms (backs off) */
    uint64_t logs_polls;    /* its STATUS replies that listed its logs */
    bool lists_logs;        /* its last STATUS listed them (`logs`) */
    size_t in_flight;       /* requests sent to it, not yet answered */
} rl_broker_node_t;

/* A client request the broker has not answered yet. */
typedef struct rl_broker_request {
    struct rl_broker_request *prev, *next; /* the list of all requests */
    uint64_t bid;                          /* broker id: the table's key */
    zmsg_t *envelope;       /* the client's routing frames (owned) */
    uint64_t client_id;     /* the id the client chose, echoed */
    uint8_t type;           /* rl_msg_type_t of the request */
    int route;              /* rl_broker_route_t */
    bool idempotent;        /* may be sent again after an attempt whose outcome
                               is unknown (producer appends, reads, lists) */
    zframe_t *payload;      /* the client's encoded request (owned) */
    rl_peek_request_t peek; /* what was read of it in place; its strings
                               (the log's name) point into payload */
    int node;               /* node it is in flight on, -1: waiting */
    int hint;               /* a node a NOT_LEADER named for a log the broker
                               cannot track (--max-logs), -1 */
    int64_t started;        /* zclock_mono() when it arrived */
    int64_t deadline;       /* answered with TIMEOUT by then */
    int64_t waiting;        /* when it began waiting for a node, 0 in flight */
    int64_t retry_at;       /* not sent again before (back-off) */
    uint32_t attempts;      /* times sent to a node */
    uint32_t wait_ms;       /* READ: the client's long-poll time */
    uint64_t last_node;     /* id of the node of the last attempt, for errors */
    rl_front_held_t *owner; /* its client connection's list, or NULL */
    struct rl_broker_request *owner_prev, *owner_next; /* that list */
    /* With CURVE: on whose behalf it is sent (as_key, as_role). */
    char as_key[RL_KEY_TEXT_SIZE]; /* the client's key, "" without CURVE */
    rl_str_t as_role; /* its role's name (rl_role_name's), empty without */
} rl_broker_request_t;

struct rl_broker {
    rl_broker_config_t config;              /* as parsed (copied) */
    rl_front_t *front;                      /* client front door */
    rl_broker_node_t nodes[RL_MAX_MEMBERS]; /* the nodes, in --nodes order */
    size_t node_count;                      /* their number */
    zlist_t *graveyard;            /* replaced DEALERs, destroyed next sweep */
    zhashx_t *table;               /* broker id -> rl_broker_request_t */
    rl_broker_request_t *requests; /* every request, newest first */
    size_t request_count;          /* their number */
    uint64_t next_bid;             /* the next broker id */
    zloop_t *loop;                 /* the event loop */
    int signal_fd;                 /* SIGINT and SIGTERM, read as a file */
    rl_buf_t buf;                  /* encoding buffer, reused */

    rl_broker_log_t default_log; /* the default log: always there */
    zhashx_t *logs;              /* name -> rl_broker_log_t, named logs */
    int64_t logs_checked;        /* zclock_mono() of the last forgetting */
    int64_t hunting_until;       /* poll fast until then: a request waits for a
                                    leader (rl_broker_sweep_nodes) */
    size_t read_cursor;          /* round robin among followers for READs */
    bool stopping;               /* a signal asked us to stop */
    int64_t stop_deadline;       /* answer the rest then */
    int64_t started;             /* zclock_mono() at start */
    uint64_t fd_limit;           /* RLIMIT_NOFILE in force */
    int64_t fds_checked;         /* zclock_mono() of the last check */
    uint64_t fd_limit_at_start;  /* the soft limit found at start */

    /* CURVE (docs/SECURITY.md); all NULL without. */
    zactor_t *auth;                    /* the ZAP handler */
    rl_keys_t *keys;                   /* the clients allowed */
    zcert_t *cert;                     /* the broker's (toward nodes) */
    zcert_t *front_cert;               /* the front door's */
    char server_key[RL_KEY_TEXT_SIZE]; /* the nodes' front door's key */
    uint64_t keys_generation;          /* of the map last logged */

    /* Counters for STATUS. */
    uint64_t n_requests, n_retries, n_redirects, n_timeouts, n_no_leader,
        n_bad_requests, n_busy, n_leader_changes, n_node_deaths;
    uint64_t n_client_busy; /* BUSY: a connection held too many requests */
    uint64_t n_released;    /* requests of clients that went away */
    uint64_t n_waits_cut;   /* wait_ms cut to --max-read-wait */
    uint64_t n_logs_full;   /* logs not tracked: --max-logs reached */

    rl_http_t *http;         /* the monitoring port, or NULL */
    rl_metrics_t page;       /* the next metrics page, rendered here */
    int64_t watchdog_ms;     /* systemd watchdog ping period, 0: off */
    int64_t watchdog_pinged; /* zclock_mono() of the last ping */
};

/* ---- rl_broker.c ---- */

/* The zloop handler of a node's DEALER (registered again when a dead
   node's DEALER is replaced). */
int rl_broker_on_node(zloop_t *loop, zsock_t *reader, void *arg);

/* ---- rl_broker_route.c: the table, routing and retries ---- */

/* A table keyed by the records' own bid fields (nothing copied). */
zhashx_t *rl_broker_table_new(void);

/* Removes r from the table and the list and frees it. */
void rl_broker_forget(rl_broker_t *self, rl_broker_request_t *r);

/* Sends msg to the client behind envelope (consumed), with the client's
   id. */
void rl_broker_send_to_client(rl_broker_t *self, zmsg_t **envelope,
                              uint64_t client_id, rl_msg_t *msg);

/* The log of r (the default log when it names none), or NULL when it
   names a log the broker does not know (yet). */
rl_broker_log_t *rl_broker_log_of(const rl_broker_t *self,
                                  const rl_broker_request_t *r);

/* Answers r with an error and forgets it. */
void rl_broker_fail(rl_broker_t *self, rl_broker_request_t *r, int code,
                    const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* The words that tell a client what an unanswered request means. */
const char *rl_broker_outcome(const rl_broker_request_t *r);

/* Sends every waiting request that can go now. */
void rl_broker_dispatch_waiting(rl_broker_t *self);

/* The attempt of r on its node will not be answered: send r elsewhere
   when that is safe, else tell the client the outcome is unknown. */
void rl_broker_attempt_lost(rl_broker_t *self, rl_broker_request_t *r,
                            const char *why);

/* A node's reply that is not a poll's, data[0..size) as peeked: settles
   the request it answers, if it still may. */
void rl_broker_settle(rl_broker_t *self, int index, const uint8_t *data,
                      size_t size, const rl_peek_reply_t *reply);

/* Takes a client request into the table and sends it on, or answers it
   at once. */
void rl_broker_admit(rl_broker_t *self, rl_front_request_t *request);

/* The client of held went away: its requests are forgotten, unanswered
   (a node's late reply to one is dropped). */
void rl_broker_release(rl_broker_t *self, rl_front_held_t *held);

/* Deadlines, no-leader waits and retries that are due. */
void rl_broker_sweep_requests(rl_broker_t *self, int64_t now);

/* ---- rl_broker_nodes.c: the nodes ---- */

int rl_broker_node_by_id(rl_broker_t *self, uint64_t id);
int rl_broker_node_by_endpoint(rl_broker_t *self, rl_str_t endpoint);

/* A new DEALER to node n's client endpoint (a CURVE client with the
   broker's key when CURVE is on), watched for its handshake's outcome:
   n->dealer and n->monitor. Returns 0, or -1 (both NULL). */
int rl_broker_new_dealer(rl_broker_t *self, rl_broker_node_t *n);

/* Logs what the DEALERs' handshakes reported since the last call. */
void rl_broker_check_handshakes(rl_broker_t *self);

/* Sends one message, as one frame (taken over, closed whatever
   happens), to node index without ever blocking. Returns 0, or -1 when
   its queue is full. */
int rl_broker_send_to_node(rl_broker_t *self, int index, zmq_msg_t *frame);

/* Learns from a node's STATUS_OK (data[0..size), decoded into st): the
   node's id, and who leads the log it describes (log: the default log
   for the broker's polls) and each log of its `logs`. */
void rl_broker_learn_status(rl_broker_t *self, int index, rl_broker_log_t *log,
                            const rl_status_ok_t *st, const uint8_t *data,
                            size_t size);

/* A node said SHUTTING_DOWN. */
void rl_broker_node_stopping(rl_broker_t *self, int index);

/* A message from node index, data[0..size) as peeked: a heartbeat, a
   poll's answer, or a request's reply (handed to rl_broker_settle). */
void rl_broker_from_node(rl_broker_t *self, int index, const uint8_t *data,
                         size_t size, const rl_peek_reply_t *reply);

/* Polls that are due, nodes that missed too many. */
void rl_broker_sweep_nodes(rl_broker_t *self, int64_t now);

/* ---- rl_broker_logs.c: which node leads each log ---- */

/* Sets up the default log and the table of named logs. Returns 0, or -1
   when out of memory. */
int rl_broker_logs_new(rl_broker_t *self);
void rl_broker_logs_destroy(rl_broker_t *self);

/* The log called name (empty or "default": the default log), or NULL
   when it is not tracked. */
rl_broker_log_t *rl_broker_log_find(const rl_broker_t *self, rl_str_t name);

/* The same, tracking it from now on when it is not (a node named it);
   NULL when --max-logs are tracked already. */
rl_broker_log_t *rl_broker_log_learn(rl_broker_t *self, rl_str_t name);

/* Named logs tracked. */
size_t rl_broker_log_count(const rl_broker_t *self);

/* Makes node index (or -1) the leader of log, from a source named by
   why. */
void rl_broker_set_leader(rl_broker_t *self, rl_broker_log_t *log, int index,
                          uint64_t term, const char *why);

/* Node index said, of log: it leads it or not, in term, and who it thinks
   leads (Raft's terms order the claims). */
void rl_broker_learn_leader(rl_broker_t *self, rl_broker_log_t *log, int index,
                            bool leads, uint64_t term, uint64_t leader_id);

/* Node index can no longer lead anything (it died or is stopping): no
   log is led by it. */
void rl_broker_node_lost(rl_broker_t *self, int index, const char *why);

/* Learns each log of a STATUS_OK's `logs` from node index. */
void rl_broker_learn_logs(rl_broker_t *self, int index, const uint8_t *data,
                          size_t size);

/* Forgets the named logs no node has named for a while (deleted). */
void rl_broker_sweep_logs(rl_broker_t *self, int64_t now);

/* ---- rl_broker_metrics.c ---- */

/* Renders the metrics page and judges readiness, hands both to the
   monitoring port (when on) and tells systemd the verdict. */
void rl_broker_publish(rl_broker_t *self);

/* ---- rl_broker_status.c ---- */

/* Adds the broker's counters to a STATUS_OK from a node and returns it to
   the client of r (forgotten then); log is r's log, or NULL. */
void rl_broker_reply_status(rl_broker_t *self, rl_broker_request_t *r,
                            const rl_broker_log_t *log, rl_msg_t *msg);

#endif

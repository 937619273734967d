/*  raftlog.h - the C client library of raftlog (libraftlog).

    A client talks to a raftlog cluster over the front door protocol
    (docs/PROTOCOL.md): to a list of node endpoints, or to a broker (which is
    just a one-endpoint list). It finds the leader by following NOT_LEADER
    redirects, and sends every request in the Lazy Pirate manner: one REQ
    socket at a time; when no reply comes in time the socket is closed and
    reopened (on the next endpoint), and the request is sent again, a
    bounded number of times with growing pauses, then the call fails with
    RAFTLOG_ERR_UNAVAILABLE and a message saying what was tried and what to
    check. Following a NOT_LEADER redirect is not a retry. A socket monitor
    sees a refused connection at once: a node that is down is skipped
    without waiting, and a client that has never reached any endpoint gives
    up without pausing when every one refuses (nothing listens there: a
    wrong endpoint or a cluster that is not running). A progress callback
    (raftlog_set_progress) hears of every retry that waits.

    Appends are idempotent: each client is a producer with a random 64-bit
    id and numbers its batches 1, 2, 3, ...; every retry of a batch sends
    the same producer, seq and entries, so a batch whose first attempt did
    commit is not appended twice, and the call returns its original
    indexes.

    Security: with raftlog_set_curve (or $RAFTLOG_KEY and
    $RAFTLOG_SERVER_KEY) every connection is CURVE-encrypted and
    authenticated with the client's certificate. A server that refuses
    the key, or a handshake that fails (a wrong server key, CURVE on one
    side only), is seen at once by the socket monitor: the call fails with
    RAFTLOG_ERR_AUTH and says which, without waiting for a timeout. A
    request the key's role does not allow gets RAFTLOG_ERR_FORBIDDEN, never
    retried.

    Entry times and durable consumers: every entry read back carries the
    time its leader stamped it with (raftlog_entry_t.time); reads and tails
    may start at a time (raftlog_read_from_time, raftlog_tail_new_at_time)
    or after a durable consumer's committed position (raftlog_read_consumer,
    raftlog_tail_new_consumer), and consumers commit their positions in
    the cluster (raftlog_consumer_commit and the raftlog_consumer_*
    calls). Delivery to a consumer that commits after processing is at
    least once: after a crash it resumes after its last committed position.

    Named logs: a cluster holds many logs, each its own Raft group with its
    own leader; one named `default` always exists. A client works on one
    log at a time (raftlog_set_log; none set: `default`, and its requests
    are exactly those of before named logs). Appends, reads, tails,
    STATUS, transfers and durable consumers all concern that log, and
    NOT_LEADER redirects lead to its leader. raftlog_log_create and the
    other raftlog_log*_ calls manage the catalog of logs.

    Errors: every call returns 0 or a positive raftlog_error_t; codes 1..16
    are the cluster's own (PROTOCOL.md section 4, ERROR), codes from 100 are
    the client's. raftlog_error() gives a one-line message for the last
    failed call.

    ABI: version 0.2.0 (soname libraftlog.so.1) added time to
    raftlog_entry_t: programs built against 0.1.0 must be built again.
    Version 0.3.0 only adds (named logs: functions and types), so the
    soname stays libraftlog.so.1: programs built against 0.2.0 run as
    they are.

    Threads: no global state; a client is thread-compatible (use one client
    per thread, or lock around it). Blocking calls return
    RAFTLOG_ERR_INTERRUPTED when a signal interrupts them.

    This header depends on libc only; link with `pkg-config --libs raftlog`.
*/
#ifndef RAFTLOG_H
#define RAFTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The shared library exports these declarations and nothing else. */
#pragma GCC visibility push(default)

#define RAFTLOG_VERSION "0.3.0"

/* The local cluster that scripts/run starts: the nodes' client endpoints
   and the broker's. Clients that are given no endpoints use
   $RAFTLOG_ENDPOINTS, else RAFTLOG_DEFAULT_NODES. */
#define RAFTLOG_DEFAULT_NODES                                                  \
    "tcp://127.0.0.1:7101,tcp://127.0.0.1:7102,tcp://127.0.0.1:7103"
#define RAFTLOG_DEFAULT_BROKER "tcp://127.0.0.1:7100"
#define RAFTLOG_ENDPOINTS_ENV  "RAFTLOG_ENDPOINTS"
/* The client's certificate (its _secret file) and the server's public
   certificate, when raftlog_set_curve() was not called. */
#define RAFTLOG_KEY_ENV        "RAFTLOG_KEY"
#define RAFTLOG_SERVER_KEY_ENV "RAFTLOG_SERVER_KEY"

/* Error codes. 1..16 come from the cluster, with the same numbers as on the
   wire; the others are the client's own. */
typedef enum {
    RAFTLOG_OK = 0,
    RAFTLOG_ERR_BAD_REQUEST = 1,         /* the cluster found it malformed */
    RAFTLOG_ERR_TOO_LARGE = 2,           /* an entry or batch over a limit */
    RAFTLOG_ERR_OUT_OF_RANGE = 3,        /* index below the retained log */
    RAFTLOG_ERR_TIMEOUT = 4,             /* not committed in time: unknown */
    RAFTLOG_ERR_SHUTTING_DOWN = 5,       /* the node is stopping */
    RAFTLOG_ERR_UNSUPPORTED_VERSION = 6, /* protocol version not spoken */
    RAFTLOG_ERR_UNKNOWN_TYPE = 7,        /* request type not known */
    RAFTLOG_ERR_BUSY = 8,                /* back-pressure */
    RAFTLOG_ERR_NO_SPACE = 9,            /* the nodes' disks are full */
    RAFTLOG_ERR_NO_LEADER = 10,          /* no leader known */
    RAFTLOG_ERR_REJECTED = 11,           /* refused in the current state */
    RAFTLOG_ERR_STALE_SEQUENCE = 12,     /* producer seq already passed */
    RAFTLOG_ERR_WRONG_CLUSTER = 13,      /* meant for another cluster */
    RAFTLOG_ERR_INTERNAL = 14,           /* a bug or I/O failure on a node */
    RAFTLOG_ERR_FORBIDDEN = 15,          /* the key's role may not do this */
    RAFTLOG_ERR_NOT_FOUND = 16,          /* no durable consumer or log of
                                            that name */
    RAFTLOG_ERR_UNAVAILABLE = 100,       /* no usable answer after retries */
    RAFTLOG_ERR_PROTOCOL = 101,          /* a reply that makes no sense */
    RAFTLOG_ERR_NO_MEMORY = 102,         /* out of memory in the client */
    RAFTLOG_ERR_INVALID = 103,           /* a bad argument (e.g. endpoint) */
    RAFTLOG_ERR_INTERRUPTED = 104,       /* a signal interrupted the call */
    RAFTLOG_ERR_AUTH = 105 /* the server refused our key, or the CURVE
                              handshake failed: not sent */
} raftlog_error_t;

/* A client: endpoints, the current connection, the producer identity and
   the last reply. Opaque. */
typedef struct _raftlog_t raftlog_t;

/* One payload to append (borrowed for the call). */
typedef struct {
    const void *data; /* the bytes; may be NULL when size is 0 */
    size_t size;      /* how many */
} raftlog_data_t;

/* One committed entry read back. data is owned by the client (or tail) that
   returned it and valid until its next call. */
typedef struct {
    uint64_t index;      /* position in the log, from 1 */
    const uint8_t *data; /* payload */
    size_t size;         /* bytes of payload */
    uint64_t time;       /* when its leader appended it, ms since the Unix
                            epoch (never below the entry before it); 0:
                            written before timestamps, or by a node of a
                            version without them */
} raftlog_entry_t;

/* Durable consumers: a name is 1..RAFTLOG_MAX_CONSUMER_NAME characters of
   a-z, 0-9, '.', '_' and '-'. */
#define RAFTLOG_MAX_CONSUMER_NAME 64

/* A durable consumer and its committed position. */
typedef struct {
    char name[RAFTLOG_MAX_CONSUMER_NAME + 1]; /* NUL-terminated */
    uint64_t index; /* the last index it processed: it resumes after it */
} raftlog_consumer_t;

#define RAFTLOG_MAX_MEMBERS    16
#define RAFTLOG_MAX_ENDPOINT   256
#define RAFTLOG_MAX_COUNTERS   64
#define RAFTLOG_MAX_ENTRY_SIZE (1u << 20) /* bytes of one entry (protocol) */

/* One server of the configuration, with the leader's view of it. */
typedef struct {
    uint64_t id;                           /* node id, >= 1 */
    bool voter;                            /* false for a learner */
    char peer[RAFTLOG_MAX_ENDPOINT + 1];   /* its peer endpoint */
    char client[RAFTLOG_MAX_ENDPOINT + 1]; /* its client endpoint */
    uint64_t match;          /* STATUS of the leader: replicated up to here */
    int64_t last_contact_ms; /* ms since the leader heard it, -1 unknown */
} raftlog_member_t;

/* One node's STATUS (a plain value; fits on the stack). */
typedef struct {
    uint64_t node;   /* the node that answered */
    char role[33];   /* leader, follower, candidate, precandidate, learner */
    uint64_t term;   /* its current term */
    uint64_t leader; /* the leader's id, 0 unknown */
    uint64_t commit; /* its commit index */
    uint64_t last;   /* its last log index */
    uint64_t first;  /* its first retained index */
    raftlog_member_t members[RAFTLOG_MAX_MEMBERS]; /* the configuration */
    size_t member_count;                           /* how many */
    struct {
        char name[48];                /* e.g. "appended_entries" */
        uint64_t value;               /* its value */
    } counters[RAFTLOG_MAX_COUNTERS]; /* the node's counters, in its order */
    size_t counter_count;             /* how many */
} raftlog_status_t;

/* One member's answer in raftlog_status_all() (a plain value of about
   13 KB: allocate an array of them rather than putting it on the stack). */
typedef struct {
    raftlog_member_t member; /* as the configuration lists it */
    int code;                /* 0: status holds its STATUS; else why not */
    char error[512];         /* code not 0: what went wrong, one line */
    double took_ms;          /* how long it took to answer (or to fail) */
    raftlog_status_t status; /* its STATUS, when code is 0 */
} raftlog_member_status_t;

/* Hears of a call that retries: message says what failed and what comes
   next, e.g. "no reply from tcp://127.0.0.1:7101 within 6000 ms;
   retrying (2/10) on tcp://127.0.0.1:7102 in 100 ms"; retry counts from 1
   to retries. Called on the calling thread, before the pause. */
typedef void(raftlog_progress_fn)(void *arg, const char *message, int retry,
                                  int retries);

/* ---- Life cycle and settings ---- */

/* Makes a client with no endpoints yet, a random producer id and the
   default settings. Returns NULL when out of memory. */
raftlog_t *raftlog_new(void);

/* Destroys the client (closing its socket) and nulls *self_p. Safe to call
   with *self_p NULL. */
void raftlog_destroy(raftlog_t **self_p);

/* Sets the endpoints to use: a list separated by commas or spaces
   (tcp://, ipc:// or inproc:// endpoints of nodes or of a broker). NULL
   or "" takes $RAFTLOG_ENDPOINTS, else RAFTLOG_DEFAULT_NODES. Does no I/O:
   the first request finds a node that answers. Returns 0, or
   RAFTLOG_ERR_INVALID when an endpoint is malformed or there are more than
   32 of them. Nodes named by NOT_LEADER redirects are added as found. */
int raftlog_connect(raftlog_t *self, const char *endpoints);

/* Secures every connection the client makes from now on with CURVE:
   key_file is the client's certificate, the NAME_secret file that
   `raftlog keygen NAME` wrote (it holds the secret key); server_key_file
   is the server's public certificate (a node's front door, or the
   broker's). Both are read now: returns 0, or RAFTLOG_ERR_INVALID with
   raftlog_error() saying which file is missing, unreadable or not a
   certificate of the right kind, or that this libzmq has no CURVE. Both
   NULL: no CURVE, whatever the environment says.

   A client on which this was never called takes $RAFTLOG_KEY and
   $RAFTLOG_SERVER_KEY at its first request (as raftlog_connect takes
   $RAFTLOG_ENDPOINTS): both set, CURVE as above (a bad file fails that
   request with RAFTLOG_ERR_INVALID); neither, no CURVE; only one,
   RAFTLOG_ERR_INVALID.

   czmq parses the files; one that looks like a certificate but has a
   syntax error may make czmq log a line on its log stream (stdout unless
   zsys_set_logstream says otherwise). */
int raftlog_set_curve(raftlog_t *self, const char *key_file,
                      const char *server_key_file);

/* Time to wait for one reply, in ms (default 6000: a bit more than a
   node's own request timeout, so the node's TIMEOUT answer comes first).
   Long-poll reads wait that much longer. */
void raftlog_set_timeout(raftlog_t *self, int timeout_ms);

/* Time to wait for a connection to an endpoint before trying the next
   one, in ms (default 1000). A node that is down is skipped that fast. */
void raftlog_set_connect_timeout(raftlog_t *self, int timeout_ms);

/* How many times a request is retried after a failed attempt (no reply, a
   refused connection, a retryable error) before the call gives up (default
   10). Pauses between attempts grow from 50 ms, doubling, up to 1 s.
   Following a NOT_LEADER redirect to the leader is not a retry (up to 4
   redirects in a row; more count as a failed attempt). While the client
   has never had an answer, a refused connection is retried without a
   pause, so that a call to endpoints where nothing listens fails at once;
   after the first answer a refusal pauses as any failure does (the
   cluster may be restarting). */
void raftlog_set_retries(raftlog_t *self, int retries);

/* Calls progress(arg, ...) before every retry that waits (NULL: none, the
   default). A command line tool prints the message on stderr, so that a
   long wait is never silent. */
void raftlog_set_progress(raftlog_t *self, raftlog_progress_fn *progress,
                          void *arg);

/* Sets the producer identity: id (not 0) and the seq the next batch gets.
   Use it to resume a producer across restarts: keep the id, and the seq
   after the last batch known appended. */
void raftlog_set_producer(raftlog_t *self, uint64_t producer_id,
                          uint64_t next_seq);

/* The producer id and the seq the next batch will get. */
void raftlog_producer(const raftlog_t *self, uint64_t *producer_id,
                      uint64_t *next_seq);

/* The message of the last failed call, one line; "" when none failed. */
const char *raftlog_error(const raftlog_t *self);

/* A short stable name of a code: "UNAVAILABLE", "REJECTED", ... */
const char *raftlog_error_name(int code);

/* The endpoint of the last node that answered, "" before any. */
const char *raftlog_endpoint(const raftlog_t *self);

/* After a failed call: whether its request may have taken effect all the
   same, because an attempt was sent and got no answer, or an answer that
   leaves the outcome open (TIMEOUT, SHUTTING_DOWN, NO_SPACE, INTERNAL, or
   a broker's NO_LEADER). For an append, true means the batch may be in the
   log (raftlog_append_retry finds out without appending it twice); false
   means it certainly is not: no attempt reached a node, or every node
   that answered refused it (NOT_LEADER with no leader known, BUSY,
   TOO_LARGE, ...). False after a call that succeeded. */
bool raftlog_outcome_unknown(const raftlog_t *self);

/* ---- Requests ---- */

/* Appends one entry; on success *index (may be NULL) is its index. The
   call returns once a majority has the entry on disk. */
int raftlog_append(raftlog_t *self, const void *data, size_t size,
                   uint64_t *index);

/* Appends count (1..65536) entries atomically and in order, as one batch
   with the next seq; on success *first and *last (may be NULL) are the
   indexes of the first and the last, and *duplicate (may be NULL) says
   whether the cluster already had this batch (a retry of a batch whose
   reply was lost). After a failure with an unknown outcome
   (RAFTLOG_ERR_UNAVAILABLE, RAFTLOG_ERR_TIMEOUT, RAFTLOG_ERR_INTERRUPTED)
   the batch may or may not be in the log; call raftlog_append_retry() to
   find out without appending it twice. */
int raftlog_append_batch(raftlog_t *self, const raftlog_data_t *entries,
                         size_t count, uint64_t *first, uint64_t *last,
                         bool *duplicate);

/* Sends the last batch again, with the same producer, seq and entries.
   Returns RAFTLOG_ERR_INVALID when no batch was sent yet. */
int raftlog_append_retry(raftlog_t *self, uint64_t *first, uint64_t *last,
                         bool *duplicate);

/* Reads committed entries from index from (>= 1), at most max_entries (0:
   the node's default), waiting up to wait_ms for one when none is ready.
   On success *entries and *count give them (owned by the client, valid
   until its next call; count may be 0) and *next the index to read next:
   always continue from *next. Reading below the retained log gives
   RAFTLOG_ERR_OUT_OF_RANGE, with the first retained index in *next. */
int raftlog_read(raftlog_t *self, uint64_t from, uint32_t max_entries,
                 uint32_t wait_ms, const raftlog_entry_t **entries,
                 size_t *count, uint64_t *next);

/* As raftlog_read, from the first entry stamped at or after time_ms (ms
   since the Unix epoch, >= 1). When no committed entry is stamped that
   late yet, it waits up to wait_ms for one; an answer without entries
   says nothing of where to go on: read again from the same time (not from
   *next). Once an answer has entries, go on from *next. A time before the
   retained log's start (once entries were dropped) gives
   RAFTLOG_ERR_OUT_OF_RANGE with the first retained index in *next. */
int raftlog_read_from_time(raftlog_t *self, uint64_t time_ms,
                           uint32_t max_entries, uint32_t wait_ms,
                           const raftlog_entry_t **entries, size_t *count,
                           uint64_t *next);

/* As raftlog_read, from the entry after the committed position of the
   durable consumer called name; then go on from *next. The leader
   answers (the call follows NOT_LEADER). RAFTLOG_ERR_NOT_FOUND when the
   consumer has no position (never committed, or deleted);
   RAFTLOG_ERR_OUT_OF_RANGE (first retained index in *next) when the entry
   after its position is no longer retained: only a reset moves it on
   (raftlog_consumer_reset, an admin's). */
int raftlog_read_consumer(raftlog_t *self, const char *name,
                          uint32_t max_entries, uint32_t wait_ms,
                          const raftlog_entry_t **entries, size_t *count,
                          uint64_t *next);

/* ---- Durable consumers ----

   A consumer's position (the last index it has processed) is kept by the
   cluster, committed through Raft: any node and any later leader know it.
   Every call below goes to the leader (following NOT_LEADER) and returns
   once done; commit, position and first (each may be NULL) get the
   consumer's committed position after the call, the leader's commit
   index and its first retained index. A name that is not valid is
   RAFTLOG_ERR_INVALID, checked before sending. */

/* Commits name's position: it has processed every entry up to and
   including index (at most the commit index: RAFTLOG_ERR_REJECTED above
   it). Creates the consumer if need be (RAFTLOG_ERR_TOO_LARGE when the
   cluster keeps as many as it may). A position never moves back: an
   index below it is RAFTLOG_ERR_STALE_SEQUENCE; the same index again is
   accepted, so a commit whose outcome is unknown may be sent again. */
int raftlog_consumer_commit(raftlog_t *self, const char *name, uint64_t index,
                            uint64_t *position);

/* name's position (RAFTLOG_ERR_NOT_FOUND when it has none). */
int raftlog_consumer_show(raftlog_t *self, const char *name,
                          raftlog_consumer_t *consumer, uint64_t *commit,
                          uint64_t *first);

/* Every consumer, by name, in *consumers (owned by the client, valid
   until its next call) and *count. */
int raftlog_consumers_list(raftlog_t *self,
                           const raftlog_consumer_t **consumers, size_t *count,
                           uint64_t *commit, uint64_t *first);

/* Moves name's position to index (it resumes at index + 1), back or
   forth, creating it if need be; an admin key's. RAFTLOG_ERR_OUT_OF_RANGE
   for a position behind the retained log (its next read would fail). */
int raftlog_consumer_reset(raftlog_t *self, const char *name, uint64_t index,
                           uint64_t *position);

/* Moves name's position so that it resumes at the first entry stamped at
   or after time_ms (>= 1); past every committed entry: at the next one
   committed. RAFTLOG_ERR_OUT_OF_RANGE for a time before the retained
   log's start. An admin key's. */
int raftlog_consumer_reset_to_time(raftlog_t *self, const char *name,
                                   uint64_t time_ms, uint64_t *position);

/* Forgets name (RAFTLOG_ERR_NOT_FOUND when it has no position); an admin
   key's. */
int raftlog_consumer_delete(raftlog_t *self, const char *name);

/* STATUS of whichever node answers (endpoint NULL), or of exactly the node
   at endpoint, tried once without retries (for a table of every member). */
int raftlog_status(raftlog_t *self, const char *endpoint,
                   raftlog_status_t *status);

/* Gets the configuration from whichever node answers (as raftlog_status
   with endpoint NULL, retries included), then asks every member for its
   STATUS at the same time, once each and without retries: a member that
   accepts no connection within the connect timeout, or does not answer
   within the timeout, gets an error in its entry. members holds room for
   RAFTLOG_MAX_MEMBERS; *count gets how many. Returns 0 once the
   configuration was found, whatever the members answered; otherwise the
   error of the first step. */
int raftlog_status_all(raftlog_t *self, raftlog_member_status_t *members,
                       size_t *count);

/* The configuration, as seen by the node that answers. members holds room
   for RAFTLOG_MAX_MEMBERS; *count gets how many. */
int raftlog_members(raftlog_t *self, raftlog_member_t *members, size_t *count);

/* Adds a server (as a learner, promoted once caught up); returns when the
   change has committed. members and count, when not NULL, get the new
   configuration. One change at a time: REJECTED otherwise. */
int raftlog_member_add(raftlog_t *self, uint64_t id, const char *peer,
                       const char *client, raftlog_member_t *members,
                       size_t *count);

/* Removes server id; as raftlog_member_add otherwise. */
int raftlog_member_remove(raftlog_t *self, uint64_t id,
                          raftlog_member_t *members, size_t *count);

/* Moves leadership to target (0: the most up-to-date follower); *leader
   (may be NULL) gets the new leader's id. */
int raftlog_transfer(raftlog_t *self, uint64_t target, uint64_t *leader);

/* ---- Named logs ----

   A log's name is 1..RAFTLOG_MAX_LOG_NAME characters of a-z, 0-9, '.',
   '_' and '-'; `default` always exists and cannot be created or deleted.
   A request about a log that does not exist fails with
   RAFTLOG_ERR_NOT_FOUND ("no log named orders: ..."), never retried. */
#define RAFTLOG_MAX_LOG_NAME 64
#define RAFTLOG_DEFAULT_LOG  "default"
/* The log command line tools use when given none (`raftlog --log`). The
   library itself never reads it: a program says which log it means. */
#define RAFTLOG_LOG_ENV "RAFTLOG_LOG"
/* The most logs a reply may list (the protocol's bound: 10,000 named logs
   and `default`); a reply with more is refused as not valid. */
#define RAFTLOG_MAX_LOGS 10001

/* A log's settings. 0 means the default in every field. */
typedef struct {
    uint64_t retention_bytes; /* keep about this many bytes; 0: keep all */
    uint64_t retention_ms;    /* drop entries older than this; 0: no age */
    uint32_t max_entry_bytes; /* largest entry; 0: the nodes' --max-entry */
} raftlog_log_settings_t;

/* A log of the catalog. */
typedef struct {
    char name[RAFTLOG_MAX_LOG_NAME + 1]; /* NUL-terminated */
    uint64_t group;                      /* its Raft group; 0: default */
    raftlog_log_settings_t settings;     /* its settings */
} raftlog_log_info_t;

/* One log as one node sees it (STATUS). */
typedef struct {
    char name[RAFTLOG_MAX_LOG_NAME + 1]; /* NUL-terminated */
    uint64_t group;                      /* its Raft group */
    char role[33];   /* that node's role in the log's group */
    uint64_t leader; /* the log's leader as that node knows it, 0 unknown */
    uint64_t term;   /* that node's term in the group */
    uint64_t commit; /* its commit index in the log */
    uint64_t last;   /* its last index */
    uint64_t first;  /* its first retained index */
    uint64_t lag;    /* entries it has that are not committed yet (last -
                        commit, as that node reports it) */
} raftlog_log_status_t;

/* Which settings raftlog_log_configure changes (a mask of these). */
#define RAFTLOG_SET_RETENTION_BYTES 1u
#define RAFTLOG_SET_RETENTION_MS    2u
#define RAFTLOG_SET_MAX_ENTRY_BYTES 4u
#define RAFTLOG_SET_ALL             7u

/* Whether name is a valid log name (`default` included). */
bool raftlog_log_name_valid(const char *name);

/* Makes every later request of this client concern the log called name
   (copied): appends, reads, tails, STATUS, transfers and durable
   consumers (membership is the cluster's, not a log's, and the calls
   below name their log themselves). NULL, "" or "default": the default
   log, sent as no `log` at all, as a client of before named logs does.
   Returns 0, or RAFTLOG_ERR_INVALID (the client's log is then unchanged)
   when name is not a log name. Does no I/O: a log that does not exist is
   found out by the first request (RAFTLOG_ERR_NOT_FOUND). Call it
   between requests, not while a tail of this client is in use. */
int raftlog_set_log(raftlog_t *self, const char *name);

/* The name of the client's log: "default" unless raftlog_set_log said
   otherwise. */
const char *raftlog_log_name(const raftlog_t *self);

/* Creates the log called name with settings (NULL: every default); log
   (may be NULL) gets it as created. Answered by the leader of the
   catalog (the `default` log's leader; the call follows NOT_LEADER) once
   the creation has committed. RAFTLOG_ERR_REJECTED when a log of that
   name exists (or name is `default`), RAFTLOG_ERR_TOO_LARGE when the
   cluster holds as many logs as it may. An admin key's. */
int raftlog_log_create(raftlog_t *self, const char *name,
                       const raftlog_log_settings_t *settings,
                       raftlog_log_info_t *log);

/* Deletes the log called name and every entry in it, for good (a log
   created again with that name is a new, empty one). RAFTLOG_ERR_NOT_FOUND
   when there is none, RAFTLOG_ERR_REJECTED for `default`. An admin key's.
   Answered once committed. */
int raftlog_log_delete(raftlog_t *self, const char *name);

/* Changes the settings of the log called name that which names (a mask of
   RAFTLOG_SET_*) to those in settings, keeping the others; log (may be
   NULL) gets the log as configured. Keeping the others takes a list
   first (the protocol sets all three at once): a change another client
   makes to one of them in between is undone. NOT_FOUND when there is no
   such log. An admin key's. Answered once committed. */
int raftlog_log_configure(raftlog_t *self, const char *name,
                          const raftlog_log_settings_t *settings,
                          unsigned which, raftlog_log_info_t *log);

/* Every log of the cluster's committed catalog, `default` included, in
   *logs (owned by the client, valid until its next call) and *count.
   Answered by any node (a follower may be a moment behind the leader). */
int raftlog_logs_list(raftlog_t *self, const raftlog_log_info_t **logs,
                      size_t *count);

/* The logs a node reported in its STATUS: after raftlog_status, of the
   node that answered (member 0); after raftlog_status_all, of
   members[member] (its code 0). In *logs (owned by the client, valid
   until its next call) and *count: the node's every log, or only the
   client's log when raftlog_set_log named one; none (count 0) from a
   node of before named logs. RAFTLOG_ERR_INVALID for a member that was
   not asked. */
int raftlog_status_logs(const raftlog_t *self, size_t member,
                        const raftlog_log_status_t **logs, size_t *count);

/* ---- Tail iterator ---- */

/* Reads the log in order, long-polling for new entries, across leader
   changes and node losses without gaps or repeats (it always continues
   from READ_OK.next, on whichever node answers). Borrows its client, which
   must outlive it and must not be used for anything else meanwhile. */
typedef struct _raftlog_tail_t raftlog_tail_t;

/* Start at the first index the cluster still retains. */
#define RAFTLOG_TAIL_START 0
/* Start after what is committed now: only new entries. */
#define RAFTLOG_TAIL_END UINT64_MAX

/* Makes a tail from index from (>= 1), or RAFTLOG_TAIL_START or
   RAFTLOG_TAIL_END. Returns NULL when out of memory. */
raftlog_tail_t *raftlog_tail_new(raftlog_t *client, uint64_t from);

/* Makes a tail from the first entry stamped at or after time_ms (>= 1, ms
   since the Unix epoch): it waits for one when none is committed yet,
   then goes on in index order. NULL when out of memory. */
raftlog_tail_t *raftlog_tail_new_at_time(raftlog_t *client, uint64_t time_ms);

/* Makes a tail from the entry after the committed position of the durable
   consumer called name (copied); its first raftlog_tail_next fails with
   RAFTLOG_ERR_NOT_FOUND when the consumer has none. The tail reads; the
   caller commits what it has processed (raftlog_consumer_commit, through
   another client: a tail borrows its own). NULL when out of memory or
   name is not valid. */
raftlog_tail_t *raftlog_tail_new_consumer(raftlog_t *client, const char *name);

/* Destroys the tail and nulls *self_p. */
void raftlog_tail_destroy(raftlog_tail_t **self_p);

/* The next entry in *entry (valid until the next call), or *entry NULL
   when none came within wait_ms (0: the caller is caught up with the
   commit index). Returns 0, or an error code (then the message is in
   raftlog_error() of the client). */
int raftlog_tail_next(raftlog_tail_t *self, uint32_t wait_ms,
                      const raftlog_entry_t **entry);

/* The index the tail reads next: save it to resume later with
   raftlog_tail_new(client, position). 0 while a tail at a time or after
   a consumer has not found its start yet. */
uint64_t raftlog_tail_position(const raftlog_tail_t *self);

/* The commit index the last answer reported (the end of the log as that
   node knew it), 0 before any answer. A tail whose position is past
   commit + 1 is waiting for an index that does not exist yet. */
uint64_t raftlog_tail_commit(const raftlog_tail_t *self);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif

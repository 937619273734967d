/*  raftlog_internal.h - what the files of libraftlog share: the client's
    state, the calls between its files, and one request's attempts over
    REQ sockets (raftlog_link.c).
    Not installed; nothing here is exported from the shared library.
*/
#ifndef RAFTLOG_INTERNAL_H
#define RAFTLOG_INTERNAL_H

#include "raftlog.h"

#include "rl_codec.h"

#include <czmq.h>

#define RL_CLIENT_MAX_ENDPOINTS 32

/* The keys a client's sockets use (raftlog_set_curve). */
typedef struct {
    zcert_t *cert;             /* the client's certificate, with its secret
                                  key; NULL: no CURVE */
    char server_key[41];       /* the server's public key, Z85 */
    char key_file[256];        /* where cert came from, for messages */
    char server_key_file[256]; /* where server_key came from */
} rl_curve_t;

/* A REQ socket to one endpoint, and the monitor that reports its
   connection events (a refused connection, a lost one) as they happen. */
typedef struct {
    zsock_t *socket;  /* REQ with ZMQ_IMMEDIATE; NULL when closed */
    zsock_t *monitor; /* PAIR getting the socket's events; NULL when the
                         monitor could not be set up (timeouts still work) */
} rl_link_t;

/* How one attempt at one endpoint ended. */
typedef enum {
    RL_ATTEMPT_ANSWERED = 0,  /* a reply to this request is in reply */
    RL_ATTEMPT_REFUSED,       /* the connection was refused: not sent */
    RL_ATTEMPT_NO_CONNECTION, /* no connection in time: not sent */
    RL_ATTEMPT_NO_REPLY,      /* sent, but no valid reply came in time */
    RL_ATTEMPT_AUTH,          /* the server refused our key, or one side
                                 has CURVE and the other not: not sent */
    RL_ATTEMPT_HANDSHAKE,     /* the handshake failed otherwise (a wrong
                                 server key, or the server closed the
                                 connection during it): not sent */
    RL_ATTEMPT_INTERRUPTED    /* a signal came first; sent says if it left */
} rl_attempt_result_t;

/* One request sent over one link, alone or alongside others
   (rl_attempts_run). The caller fills the first six fields. */
typedef struct {
    rl_link_t *link;            /* opened to endpoint when its socket is NULL */
    const rl_curve_t *curve;    /* the keys to open it with (borrowed) */
    const char *endpoint;       /* where to (borrowed) */
    const rl_buf_t *request;    /* the encoded request (borrowed) */
    uint64_t request_id;        /* the id a reply must carry */
    int reply_timeout_ms;       /* how long to wait for the reply once sent */
    rl_attempt_result_t result; /* how it ended */
    bool sent;                  /* the request was handed to a connection */
    double took_ms;             /* from the start to the end of the attempt */
    zmq_msg_t frame;            /* ANSWERED: the reply's bytes */
    bool frame_open;            /* frame must be closed */
    rl_msg_t reply;             /* ANSWERED: the reply, borrowing frame */
    char why[512];              /* not ANSWERED: what happened, one line */
    int state;                  /* rl_attempts_run's progress */
    int64_t deadline;           /* of the current state, zclock_mono() ms */
} rl_attempt_t;

/* The client (see raftlog.h). */
struct _raftlog_t {
    char endpoints[RL_CLIENT_MAX_ENDPOINTS][RAFTLOG_MAX_ENDPOINT + 1];
    size_t endpoint_count;         /* how many */
    size_t current;                /* the endpoint requests go to */
    rl_link_t link;                /* to endpoints[current] */
    int timeout_ms;                /* wait for one reply */
    int connect_timeout_ms;        /* wait for a connection */
    int retries;                   /* retries after a failed attempt */
    raftlog_progress_fn *progress; /* hears of retries, NULL none */
    void *progress_arg;            /* its argument */
    bool ever_answered;            /* some endpoint has answered this client */
    rl_curve_t curve;              /* CURVE keys; curve.cert NULL: none */
    bool curve_set;                /* raftlog_set_curve was called, or the
                                      environment was taken */
    bool curve_failed;             /* the keys could not be set: every
                                      request fails, with curve_why */
    char curve_why[1024];          /* why */
    bool unknown;             /* the last failed call may have taken effect */
    uint64_t producer_id;     /* this client's producer id, never 0 */
    uint64_t next_seq;        /* seq of the next batch */
    uint64_t request_id;      /* id of the last request encoded */
    rl_buf_t request;         /* the request being sent (not appends) */
    rl_buf_t append;          /* the last APPEND_REQUEST, kept for retries */
    uint64_t append_id;       /* its request id */
    bool have_append;         /* append holds a batch */
    rl_attempt_t last;        /* the last attempt; last.reply is the reply */
    raftlog_entry_t *entries; /* the last read's entries */
    size_t entry_capacity;    /* room in entries */
    raftlog_consumer_t *consumers;      /* the last consumers list */
    size_t consumer_capacity;           /* room in consumers */
    char log[RAFTLOG_MAX_LOG_NAME + 1]; /* the log requests concern;
                                           "": default (no `log` sent) */
    raftlog_log_info_t *logs;           /* the last logs list, or NULL */
    size_t log_count;                   /* how many */
    raftlog_log_status_t *status_logs[RAFTLOG_MAX_MEMBERS]; /* the `logs`
                                        of each answer to the last STATUS */
    size_t status_log_counts[RAFTLOG_MAX_MEMBERS]; /* how many in each */
    size_t status_asked; /* members the last STATUS call asked */
    char answered[RAFTLOG_MAX_ENDPOINT + 1]; /* who answered last */
    char error[1024];                        /* the last failure */
};

/* Sets self->error from a format; returns code. */
int rl_client_fail(raftlog_t *self, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds an endpoint unless present (raftlog.c); returns its position, or
   -1 when the list is full or the endpoint malformed. */
int rl_client_add_endpoint(raftlog_t *self, const char *endpoint,
                           size_t length);

/* Takes $RAFTLOG_KEY and $RAFTLOG_SERVER_KEY when raftlog_set_curve was
   never called (once); every path that opens sockets calls it first.
   Returns 0 or an error code with self->error (raftlog_curve.c). */
int rl_client_secure(raftlog_t *self);

/* Encodes msg (giving it the next request id, and the client's log unless
   it is about the cluster: MEMBERS_REQUEST, LOGS_REQUEST) into buf
   (raftlog_call.c). */
int rl_client_encode(raftlog_t *self, rl_msg_t *msg, rl_buf_t *buf,
                     uint64_t *request_id);

/* The Lazy Pirate loop over the client's endpoints (raftlog_call.c): 0 with
   self->last.reply of type expect, or an error code with self->error. */
int rl_client_call(raftlog_t *self, const rl_buf_t *request,
                   uint64_t request_id, uint8_t expect, uint32_t extra_wait_ms);

/* Whether name is a durable consumer's name; and the same, failing with
   RAFTLOG_ERR_INVALID and a message when it is not
   (raftlog_consumers.c). */
bool rl_client_consumer_name_valid(const char *name);
int rl_client_consumer_name_check(raftlog_t *self, const char *name);

/* Makes msg the LOGS_REQUEST of op (rl_logs_op_t) about name (NULL for
   list) with settings (create and configure; NULL: every default). Borrows
   name (raftlog_logs.c). */
void rl_client_logs_request(rl_msg_t *msg, uint8_t op, const char *name,
                            const raftlog_log_settings_t *settings);

/* Copies count logs (of a LOGS_OK, of a STATUS_OK) out of the wire form,
   which the codec has checked (names, bounds), into *out: allocated, the
   caller frees it; NULL when count is 0. Returns 0 or
   RAFTLOG_ERR_NO_MEMORY (raftlog_logs.c). */
int rl_client_logs_info(const rl_log_desc_t *logs, size_t count,
                        raftlog_log_info_t **out);
int rl_client_logs_status(const rl_log_desc_t *logs, size_t count,
                          raftlog_log_status_t **out);

/* Forgets the logs of the last STATUS (raftlog_logs.c). */
void rl_client_status_logs_clear(raftlog_t *self);

/* Keeps the `logs` of a STATUS_OK as member's (raftlog_logs.c). Returns 0
   or RAFTLOG_ERR_NO_MEMORY. */
int rl_client_status_logs_take(raftlog_t *self, size_t member,
                               const rl_status_ok_t *ok);

/* Copies a string of the wire form into dest (size bytes), cut to fit
   and NUL-terminated (raftlog_status.c). */
void rl_client_copy(char *dest, size_t size, rl_str_t str);

/* Copies a member out of the wire form (raftlog_status.c). */
void rl_client_member(raftlog_member_t *out, const rl_member_t *in);

/* Closes the link's sockets. */
void rl_link_close(rl_link_t *link);

/* Releases an attempt's reply and frame (idempotent). */
void rl_attempt_release(rl_attempt_t *attempt);

/* Runs count attempts at once: each connects (waiting at most
   connect_timeout_ms, less when the connection is refused), sends its
   request, and waits for its reply. Returns 0 once every attempt has a
   result, or RAFTLOG_ERR_INTERRUPTED when a signal came (unfinished
   attempts then end INTERRUPTED). The link of every attempt that did not
   end ANSWERED is closed, as Lazy Pirate says: a REQ socket that missed
   its reply cannot be used again. */
int rl_attempts_run(rl_attempt_t *attempts, size_t count,
                    int connect_timeout_ms);

#endif

/*  rl_peek.h - what a proxy reads of a client request or a reply in place,
    and the same bytes written again with new header values, without
    decoding or re-encoding the rest: the broker's pass-through
    (docs/BROKER.md, "Pass-through").

    A proxy needs a handful of fields to route a request (type, id, the
    log it names, the producer and seq of an append, a read's wait_ms and
    consumer, a membership or consumers op, the as_key/as_role of a broker
    in front of it), and of
    a reply (type, id, an error's code, NOT_LEADER's leader, endpoint and
    log). rl_peek_request() and rl_peek_reply() read those and note where
    they are, checking the framing of the whole message (one msgpack map
    filling the buffer, every value well formed) and the fields they read,
    with the decoder's rules and words (rl_codec.h). What they do not read
    (the entries, a READ's bounds, ...) is left for the receiver's decoder
    to check: a node decodes every request in full anyway.

    rl_peek_forward() then writes the request again for the node: the
    client's pairs as they came, byte for byte, except those it replaces
    (id, wait_ms, as_key, as_role), which go last with their new values;
    rl_peek_reply_write() does the same for a reply's id. Keys may come in
    any order (docs/PROTOCOL.md section 2), so the result is a message of
    the protocol that says what the original said with those values
    changed. Cost: a copy of the bytes, against a decode (an array per
    entry) and an encode.

    Rules: nothing here allocates. Byte strings in the peeks point into
    the caller's buffer, which must outlive them. The writers write
    exactly the size their _size function gave; the buffer is the
    caller's. Thread-safety: no state.
*/
#ifndef RL_PEEK_H
#define RL_PEEK_H

#include "rl_msg.h"

/* Where a key-value pair of the top-level map lies: bytes [start, end) of
   the buffer; end 0 when the pair is absent. */
typedef struct {
    size_t start; /* its key's first byte */
    size_t end;   /* one past its value's last byte */
} rl_peek_span_t;

/* What a proxy reads of a client request. */
typedef struct {
    uint8_t type;      /* rl_msg_type_t; 0 when unreadable */
    uint64_t id;       /* the client's request id, 0 when absent */
    rl_str_t log;      /* the log it names; empty: the default log */
    uint64_t producer; /* APPEND_REQUEST: producer id, 0 for none */
    uint64_t seq;      /* APPEND_REQUEST: its seq */
    uint32_t wait_ms;  /* READ_REQUEST: its long-poll time */
    rl_str_t consumer; /* READ_REQUEST: its durable consumer (at most
                          RL_MAX_CONSUMER_NAME bytes); empty: none */
    uint8_t op;        /* MEMBERS_REQUEST: rl_members_op_t;
                          CONSUMERS_REQUEST: rl_consumers_op_t */
    rl_str_t as_key;   /* a broker's client key (as rl_msg_t's) */
    rl_str_t as_role;  /* and its role */
    uint32_t pairs;    /* pairs of the top-level map */
    size_t body;       /* offset of its first pair */
    rl_peek_span_t id_at, wait_at, as_key_at, as_role_at; /* to replace */
} rl_peek_request_t;

/* Reads a client request from data[0..size). Returns 0, or an rl_error_t
   (BAD_REQUEST, TOO_LARGE, UNSUPPORTED_VERSION, UNKNOWN_TYPE) with what
   was wrong in err (RL_CODEC_ERROR_SIZE bytes, may be NULL): broken
   framing, a bad header (as rl_codec_decode), or a bad value of a field
   it reads, or a message that is not a client request (a peer message,
   a reply). type and id are kept whenever they could be read, so that an
   error reply can echo the id. */
int rl_peek_request(const void *data, size_t size, rl_peek_request_t *peek,
                    char *err);

/* The values a forwarded request gets. */
typedef struct {
    uint64_t id;      /* its id (the proxy's own) */
    bool set_wait;    /* replace wait_ms with the one below */
    uint32_t wait_ms; /* with set_wait; 0 leaves the key out */
    rl_str_t as_key;  /* on whose behalf: both or neither; any as_key */
    rl_str_t as_role; /* and as_role the request had are dropped */
} rl_peek_forward_t;

/* The size of the request peeked from data[0..size) written with how. */
size_t rl_peek_forward_size(const rl_peek_request_t *peek, size_t size,
                            const rl_peek_forward_t *how);

/* Writes that request into out, which has room for
   rl_peek_forward_size() bytes; returns the bytes written. */
size_t rl_peek_forward(const void *data, size_t size,
                       const rl_peek_request_t *peek,
                       const rl_peek_forward_t *how, uint8_t *out);

/* What a proxy reads of a reply. */
typedef struct {
    uint8_t type;         /* rl_msg_type_t */
    uint64_t id;          /* the request id it answers, 0 when absent */
    uint16_t code;        /* ERROR: its rl_error_t */
    uint64_t leader;      /* NOT_LEADER: the leader's id, 0 unknown */
    rl_str_t endpoint;    /* NOT_LEADER: the leader's client endpoint */
    rl_str_t log;         /* NOT_LEADER: the log it is about; empty: the
                             default log */
    uint32_t pairs;       /* pairs of the top-level map */
    size_t body;          /* offset of its first pair */
    rl_peek_span_t id_at; /* to replace */
} rl_peek_reply_t;

/* Reads a reply (types 64 and up) from data[0..size). Returns 0, or an
   rl_error_t with err as rl_peek_request(). */
int rl_peek_reply(const void *data, size_t size, rl_peek_reply_t *peek,
                  char *err);

/* The size of the reply peeked from data[0..size) with its id set to id
   (0: no id key, as an encoder leaves out a zero id). */
size_t rl_peek_reply_size(const rl_peek_reply_t *peek, size_t size,
                          uint64_t id);

/* Writes that reply into out (rl_peek_reply_size() bytes); returns the
   bytes written. */
size_t rl_peek_reply_write(const void *data, size_t size,
                           const rl_peek_reply_t *peek, uint64_t id,
                           uint8_t *out);

/* One log of a STATUS_OK's `logs` (docs/PROTOCOL.md). */
typedef struct {
    rl_str_t name;   /* its name */
    rl_str_t role;   /* the answering node's role in its group */
    uint64_t leader; /* the leader that node knows, 0 none */
    uint64_t term;   /* that node's term in the group */
} rl_peek_log_t;

/* Told each log of a STATUS_OK, in order. */
typedef void(rl_peek_log_fn)(void *arg, const rl_peek_log_t *log);

/* Reads the `logs` of a STATUS_OK in data[0..size) (one that decoded),
   calling fn for each. *found tells whether it has the key (a node of
   before named logs has none). Returns 0, or BAD_REQUEST/TOO_LARGE with
   err when `logs` is malformed (fn was called for the logs before the
   fault). */
int rl_peek_status_logs(const void *data, size_t size, rl_peek_log_fn *fn,
                        void *arg, bool *found, char *err);

#endif

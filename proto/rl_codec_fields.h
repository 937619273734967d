/*  rl_codec_fields.h - what the encoder and the decoder share, private to
    proto/: the table of fields of every message type (one table drives both
    directions, so they cannot disagree about a name, a type or a limit) and
    the error context that turns a failure into "TYPE: what went wrong".
    Not installed; on the include path only of what compiles proto's own
    sources (rl_proto, libraftlog's objects, the fuzzer).
*/
#ifndef RL_CODEC_FIELDS_H
#define RL_CODEC_FIELDS_H

#include "rl_codec.h"

/* How a field is represented on the wire and in the struct. */
typedef enum {
    /* unsigned integer -> uint64_t */
    RL_FIELD_U64,
    /* unsigned integer -> uint32_t */
    RL_FIELD_U32,
    /* unsigned integer -> uint16_t */
    RL_FIELD_U16,
    /* unsigned integer -> uint8_t, at most max */
    RL_FIELD_U8,
    /* unsigned integer >= 1 -> uint64_t (node ids) */
    RL_FIELD_ID,
    /* signed integer -> int64_t */
    RL_FIELD_I64,
    /* boolean -> bool */
    RL_FIELD_BOOL,
    /* str or bin, at most max bytes -> rl_str_t */
    RL_FIELD_STR,
    /* str or bin -> const uint8_t * + size_t */
    RL_FIELD_DATA,
    /* "list" | "add" | "remove" -> uint8_t */
    RL_FIELD_OP,
    /* map of rl_codec_member_fields -> rl_member_t */
    RL_FIELD_MEMBER,
    /* array of member maps -> rl_member_t * + size_t */
    RL_FIELD_MEMBERS,
    /* array of member status maps -> rl_member_status_t * + size_t */
    RL_FIELD_MEMBER_STATUSES,
    /* map str -> uint -> rl_counter_t * + size_t */
    RL_FIELD_COUNTERS,
    /* array of [term, type, producer, seq, data, time?] -> rl_entry_t *
       + size_t (time optional, 0 when absent) */
    RL_FIELD_PEER_ENTRIES,
    /* array of str/bin -> rl_str_t * + size_t */
    RL_FIELD_CLIENT_ENTRIES,
    /* array of [index, data] -> rl_entry_t * + size_t */
    RL_FIELD_READ_ENTRIES,
    /* array of unsigned integers -> uint64_t * + size_t */
    RL_FIELD_U64S,
    /* "list" | "show" | "reset" | "delete" -> uint8_t */
    RL_FIELD_CONSUMERS_OP,
    /* array of consumer maps -> rl_consumer_position_t * + size_t */
    RL_FIELD_CONSUMERS,
    /* "list" | "create" | "delete" | "configure" -> uint8_t */
    RL_FIELD_LOGS_OP,
    /* array of log maps (LOGS_OK) -> rl_log_desc_t * + size_t */
    RL_FIELD_LOGS,
    /* array of log status maps (STATUS_OK) -> rl_log_desc_t * + size_t */
    RL_FIELD_LOG_STATUSES,
    /* str or bin, a named log's name (rl_log_name_valid) -> rl_str_t */
    RL_FIELD_LOG_NAME
} rl_field_kind_t;

/* One field of a map. Offsets are into the struct the map decodes into:
   the message body for top-level fields, rl_member_t for members. */
typedef struct {
    const char *name;    /* key on the wire */
    uint8_t kind;        /* rl_field_kind_t */
    bool required;       /* decoding fails without it; optional fields are
                            omitted by the encoder when zero */
    size_t offset;       /* of the value */
    size_t count_offset; /* RL_FIELD_DATA and arrays: of the size_t count */
    uint64_t max;        /* integers: largest value; strings: bytes;
                            arrays: items (0: no limit beyond the type) */
    uint64_t min;        /* arrays: fewest items */
} rl_field_t;

/* The body's fields of a message type, ending with an entry whose name is
   NULL; NULL for an unknown type. */
const rl_field_t *rl_codec_fields(int type);

/* The fields of a member map, of a member's line in STATUS_OK, and of a
   consumer map in CONSUMERS_OK. */
extern const rl_field_t rl_codec_member_fields[];
extern const rl_field_t rl_codec_member_status_fields[];
extern const rl_field_t rl_codec_consumer_fields[];
extern const rl_field_t rl_codec_log_fields[];
extern const rl_field_t rl_codec_log_status_fields[];

/* The fields and item size of an array-of-maps kind (members, member
   statuses, consumers, logs, log statuses); NULL for other kinds. */
const rl_field_t *rl_codec_item_fields(uint8_t kind, size_t *item_size);

/* The fewest bytes one valid item of an array field of kind takes on the
   wire, so that a decoder catches a count no input could fill before
   allocating for it. */
size_t rl_codec_min_item_size(uint8_t kind);

/* The names of an op kind's values (RL_FIELD_OP, RL_FIELD_CONSUMERS_OP,
   RL_FIELD_LOGS_OP), their number and the words that list them; NULL for
   other kinds. */
const char *const *rl_codec_op_table(uint8_t kind, uint8_t *count,
                                     const char **words);

/* The names of rl_members_op_t and rl_consumers_op_t values on the wire,
   by value. */
extern const char *const rl_codec_op_names[3];
extern const char *const rl_codec_consumers_op_names[4];
extern const char *const rl_codec_logs_op_names[4];
/* And in words, for the error that names none of them. */
#define RL_CODEC_OP_WORDS "\"list\", \"add\" or \"remove\""
#define RL_CODEC_CONSUMERS_OP_WORDS                                            \
    "\"list\", \"show\", \"reset\" or \"delete\""
#define RL_CODEC_LOGS_OP_WORDS                                                 \
    "\"list\", \"create\", \"delete\" or \"configure\""
/* What a log's name is (RL_FIELD_LOG_NAME), for the error of one that
   is not. */
#define RL_CODEC_LOG_NAME_WORDS                                                \
    "1 to 64 of a-z, 0-9, '.', '_' and '-', not '.' or '..'"

/* What a codec call is working on, so that errors can say where. */
typedef struct {
    char *err;       /* caller's message buffer, may be NULL */
    const char *msg; /* name of the message type, for messages */
    rl_msg_t *owner; /* the message arrays are allocated for (decode) */
} rl_codec_ctx_t;

/* Records "TYPE: what went wrong" in ctx->err (when not NULL) and returns
   code. */
int rl_codec_fail(rl_codec_ctx_t *ctx, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif

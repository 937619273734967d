/*  rl_codec.c - msgpack encoding and decoding of every raftlog message.

    Both directions are driven by one table of fields per message type
    (s_specs below), so the encoder and the decoder cannot disagree about a
    name, a type or a limit, and docs/PROTOCOL.md can be checked against a
    single list. msgpack-c does the encoding of values; this file only maps
    them to and from the structs of rl_msg.h and enforces the limits.

    Decoding is zero-copy for byte strings: msgpack-c's unpacker points
    str/bin objects into the input buffer, and so do we.
*/
#include "rl_codec.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The byte buffer ---- */

void rl_buf_init(rl_buf_t *buf)
{
    memset(buf, 0, sizeof(*buf));
}

void rl_buf_reset(rl_buf_t *buf)
{
    buf->size = 0;
}

void rl_buf_close(rl_buf_t *buf)
{
    free(buf->data);
    rl_buf_init(buf);
}

/* msgpack_packer's write callback: append to an rl_buf_t, growing it by
   doubling so that encoding a batch costs amortised O(bytes). */
static int s_buf_write(void *data, const char *bytes, size_t len)
{
    rl_buf_t *buf = data;
    if (len > buf->capacity - buf->size) {
        if (len > SIZE_MAX / 2 - buf->size)
            return -1;
        size_t need = buf->size + len;
        size_t capacity = buf->capacity ? buf->capacity : 256;
        while (capacity < need)
            capacity *= 2;
        uint8_t *grown = realloc(buf->data, capacity);
        if (!grown)
            return -1;
        buf->data = grown;
        buf->capacity = capacity;
    }
    if (len)
        memcpy(buf->data + buf->size, bytes, len);
    buf->size += len;
    return 0;
}

/* ---- The field tables ---- */

/* How a field is represented on the wire and in the struct. */
typedef enum {
    K_U64,             /* unsigned integer -> uint64_t */
    K_U32,             /* unsigned integer -> uint32_t */
    K_U16,             /* unsigned integer -> uint16_t */
    K_U8,              /* unsigned integer -> uint8_t, at most max */
    K_ID,              /* unsigned integer >= 1 -> uint64_t (node ids) */
    K_I64,             /* signed integer -> int64_t */
    K_BOOL,            /* boolean -> bool */
    K_STR,             /* str or bin, at most max bytes -> rl_str_t */
    K_DATA,            /* str or bin -> const uint8_t * + size_t */
    K_OP,              /* "list" | "add" | "remove" -> uint8_t */
    K_MEMBER,          /* map of s_member_fields -> rl_member_t */
    K_MEMBERS,         /* array of K_MEMBER -> rl_member_t * + size_t */
    K_MEMBER_STATUSES, /* array of status maps -> rl_member_status_t * */
    K_COUNTERS,        /* map str -> uint -> rl_counter_t * + size_t */
    K_PEER_ENTRIES,    /* array of [term, type, producer, seq, data] */
    K_CLIENT_ENTRIES,  /* array of str/bin -> rl_str_t * + size_t */
    K_READ_ENTRIES     /* array of [index, data] -> rl_entry_t * */
} s_kind_t;

/* One field of a map. Offsets are into the struct the map decodes into:
   the message body for top-level fields, rl_member_t for members. */
typedef struct {
    const char *name;    /* key on the wire */
    uint8_t kind;        /* s_kind_t */
    bool required;       /* decoding fails without it; optional fields are
                            omitted by the encoder when zero */
    size_t offset;       /* of the value */
    size_t count_offset; /* K_DATA and arrays: of the size_t count */
    uint64_t max;        /* integers: largest value; strings: bytes;
                            arrays: items (0: no limit beyond the type) */
    uint64_t min;        /* arrays: fewest items */
} s_field_t;

#define REQ true
#define OPT false
#define FIELD(name, kind, req, type, member, max)                              \
    {                                                                          \
        name, kind, req, offsetof(type, member), 0, max, 0                     \
    }
#define ARRAY(name, kind, req, type, member, count, min, max)                  \
    {                                                                          \
        name, kind, req, offsetof(type, member), offsetof(type, count), max,   \
            min                                                                \
    }
#define END                                                                    \
    {                                                                          \
        NULL, 0, false, 0, 0, 0, 0                                             \
    }

static const s_field_t s_member_fields[] = {
    FIELD("id", K_ID, REQ, rl_member_t, id, 0),
    FIELD("voter", K_BOOL, OPT, rl_member_t, voter, 0),
    FIELD("peer", K_STR, OPT, rl_member_t, peer_addr, RL_MAX_ENDPOINT),
    FIELD("client", K_STR, OPT, rl_member_t, client_addr, RL_MAX_ENDPOINT),
    END};

static const s_field_t s_member_status_fields[] = {
    FIELD("id", K_ID, REQ, rl_member_status_t, member.id, 0),
    FIELD("voter", K_BOOL, OPT, rl_member_status_t, member.voter, 0),
    FIELD("peer", K_STR, OPT, rl_member_status_t, member.peer_addr,
          RL_MAX_ENDPOINT),
    FIELD("client", K_STR, OPT, rl_member_status_t, member.client_addr,
          RL_MAX_ENDPOINT),
    FIELD("match", K_U64, OPT, rl_member_status_t, match_index, 0),
    FIELD("last_contact_ms", K_I64, OPT, rl_member_status_t, last_contact_ms,
          0),
    END};

static const s_field_t s_vote_fields[] = {
    FIELD("term", K_U64, REQ, rl_vote_t, term, 0),
    FIELD("last_index", K_U64, REQ, rl_vote_t, last_log_index, 0),
    FIELD("last_term", K_U64, REQ, rl_vote_t, last_log_term, 0),
    FIELD("transfer", K_BOOL, OPT, rl_vote_t, transfer, 0), END};

static const s_field_t s_vote_reply_fields[] = {
    FIELD("term", K_U64, REQ, rl_vote_reply_t, term, 0),
    FIELD("granted", K_BOOL, REQ, rl_vote_reply_t, granted, 0),
    FIELD("leader", K_U64, OPT, rl_vote_reply_t, leader, 0), END};

static const s_field_t s_append_fields[] = {
    FIELD("term", K_U64, REQ, rl_append_t, term, 0),
    FIELD("prev_index", K_U64, REQ, rl_append_t, prev_index, 0),
    FIELD("prev_term", K_U64, REQ, rl_append_t, prev_term, 0),
    FIELD("commit", K_U64, REQ, rl_append_t, commit, 0),
    ARRAY("entries", K_PEER_ENTRIES, REQ, rl_append_t, entries, entry_count, 0,
          RL_MAX_BATCH_ENTRIES),
    END};

static const s_field_t s_append_reply_fields[] = {
    FIELD("term", K_U64, REQ, rl_append_reply_t, term, 0),
    FIELD("success", K_BOOL, REQ, rl_append_reply_t, success, 0),
    FIELD("match_index", K_U64, REQ, rl_append_reply_t, match_index, 0),
    FIELD("conflict_term", K_U64, REQ, rl_append_reply_t, conflict_term, 0),
    FIELD("conflict_index", K_U64, REQ, rl_append_reply_t, conflict_index, 0),
    END};

static const s_field_t s_snapshot_fields[] = {
    FIELD("term", K_U64, REQ, rl_snapshot_t, term, 0),
    FIELD("last_index", K_U64, REQ, rl_snapshot_t, last_index, 0),
    FIELD("last_term", K_U64, REQ, rl_snapshot_t, last_term, 0),
    ARRAY("members", K_MEMBERS, REQ, rl_snapshot_t, members, member_count, 0,
          RL_MAX_MEMBERS),
    FIELD("offset", K_U64, REQ, rl_snapshot_t, offset, 0),
    ARRAY("data", K_DATA, REQ, rl_snapshot_t, data, size, 0,
          RL_MAX_SNAPSHOT_CHUNK),
    FIELD("done", K_BOOL, REQ, rl_snapshot_t, done, 0),
    END};

static const s_field_t s_snapshot_reply_fields[] = {
    FIELD("term", K_U64, REQ, rl_snapshot_reply_t, term, 0),
    FIELD("last_index", K_U64, REQ, rl_snapshot_reply_t, last_index, 0),
    FIELD("next_offset", K_U64, REQ, rl_snapshot_reply_t, next_offset, 0),
    FIELD("done", K_BOOL, REQ, rl_snapshot_reply_t, done, 0), END};

static const s_field_t s_timeout_now_fields[] = {
    FIELD("term", K_U64, REQ, rl_timeout_now_t, term, 0), END};

static const s_field_t s_append_request_fields[] = {
    FIELD("producer", K_U64, OPT, rl_append_request_t, producer_id, 0),
    FIELD("seq", K_U64, OPT, rl_append_request_t, seq, 0),
    ARRAY("entries", K_CLIENT_ENTRIES, REQ, rl_append_request_t, entries,
          entry_count, 1, RL_MAX_BATCH_ENTRIES),
    END};

static const s_field_t s_read_request_fields[] = {
    FIELD("from", K_U64, REQ, rl_read_request_t, from, 0),
    FIELD("max_entries", K_U32, OPT, rl_read_request_t, max_entries, 0),
    FIELD("max_bytes", K_U32, OPT, rl_read_request_t, max_bytes, 0),
    FIELD("wait_ms", K_U32, OPT, rl_read_request_t, wait_ms, 0), END};

static const s_field_t s_empty_fields[] = {END};

static const s_field_t s_members_request_fields[] = {
    FIELD("op", K_OP, REQ, rl_members_request_t, op, RL_MEMBERS_REMOVE),
    FIELD("member", K_MEMBER, OPT, rl_members_request_t, member, 0), END};

static const s_field_t s_transfer_request_fields[] = {
    FIELD("target", K_U64, OPT, rl_transfer_request_t, target, 0), END};

static const s_field_t s_append_ok_fields[] = {
    FIELD("first", K_U64, REQ, rl_append_ok_t, first, 0),
    FIELD("last", K_U64, REQ, rl_append_ok_t, last, 0),
    FIELD("duplicate", K_BOOL, OPT, rl_append_ok_t, duplicate, 0), END};

static const s_field_t s_read_ok_fields[] = {
    ARRAY("entries", K_READ_ENTRIES, REQ, rl_read_ok_t, entries, entry_count, 0,
          RL_MAX_BATCH_ENTRIES),
    FIELD("next", K_U64, REQ, rl_read_ok_t, next, 0),
    FIELD("commit", K_U64, REQ, rl_read_ok_t, commit, 0),
    FIELD("first", K_U64, REQ, rl_read_ok_t, first, 0), END};

static const s_field_t s_status_ok_fields[] = {
    FIELD("node", K_ID, REQ, rl_status_ok_t, id, 0),
    FIELD("role", K_STR, REQ, rl_status_ok_t, role, 32),
    FIELD("term", K_U64, REQ, rl_status_ok_t, term, 0),
    FIELD("leader", K_U64, REQ, rl_status_ok_t, leader, 0),
    FIELD("commit", K_U64, REQ, rl_status_ok_t, commit, 0),
    FIELD("last", K_U64, REQ, rl_status_ok_t, last, 0),
    FIELD("first", K_U64, REQ, rl_status_ok_t, first, 0),
    ARRAY("members", K_MEMBER_STATUSES, REQ, rl_status_ok_t, members,
          member_count, 0, RL_MAX_MEMBERS),
    ARRAY("counters", K_COUNTERS, OPT, rl_status_ok_t, counters, counter_count,
          0, 256),
    END};

static const s_field_t s_members_ok_fields[] = {
    ARRAY("members", K_MEMBERS, REQ, rl_members_ok_t, members, member_count, 0,
          RL_MAX_MEMBERS),
    END};

static const s_field_t s_transfer_ok_fields[] = {
    FIELD("leader", K_U64, REQ, rl_transfer_ok_t, leader, 0), END};

static const s_field_t s_not_leader_fields[] = {
    FIELD("leader", K_U64, REQ, rl_not_leader_t, leader, 0),
    FIELD("endpoint", K_STR, OPT, rl_not_leader_t, leader_addr,
          RL_MAX_ENDPOINT),
    END};

static const s_field_t s_error_fields[] = {
    FIELD("code", K_U16, REQ, rl_error_reply_t, code, 0),
    FIELD("message", K_STR, REQ, rl_error_reply_t, message,
          RL_MAX_ERROR_MESSAGE),
    FIELD("first", K_U64, OPT, rl_error_reply_t, first, 0), END};

/* The body's fields for a message type, NULL for an unknown type. */
static const s_field_t *s_specs(int type)
{
    switch (type) {
    case RL_MSG_PREVOTE:
    case RL_MSG_VOTE:
        return s_vote_fields;
    case RL_MSG_PREVOTE_REPLY:
    case RL_MSG_VOTE_REPLY:
        return s_vote_reply_fields;
    case RL_MSG_APPEND:
        return s_append_fields;
    case RL_MSG_APPEND_REPLY:
        return s_append_reply_fields;
    case RL_MSG_SNAPSHOT:
        return s_snapshot_fields;
    case RL_MSG_SNAPSHOT_REPLY:
        return s_snapshot_reply_fields;
    case RL_MSG_TIMEOUT_NOW:
        return s_timeout_now_fields;
    case RL_MSG_APPEND_REQUEST:
        return s_append_request_fields;
    case RL_MSG_READ_REQUEST:
        return s_read_request_fields;
    case RL_MSG_STATUS_REQUEST:
        return s_empty_fields;
    case RL_MSG_MEMBERS_REQUEST:
        return s_members_request_fields;
    case RL_MSG_TRANSFER_REQUEST:
        return s_transfer_request_fields;
    case RL_MSG_APPEND_OK:
        return s_append_ok_fields;
    case RL_MSG_READ_OK:
        return s_read_ok_fields;
    case RL_MSG_STATUS_OK:
        return s_status_ok_fields;
    case RL_MSG_MEMBERS_OK:
        return s_members_ok_fields;
    case RL_MSG_TRANSFER_OK:
        return s_transfer_ok_fields;
    case RL_MSG_NOT_LEADER:
        return s_not_leader_fields;
    case RL_MSG_ERROR:
        return s_error_fields;
    default:
        return NULL;
    }
}

static const char *const s_op_names[] = {"list", "add", "remove"};

/* ---- Errors ---- */

/* What a codec call is working on, so that errors can say where. */
typedef struct {
    char *err;       /* caller's message buffer, may be NULL */
    const char *msg; /* name of the message type, for messages */
    rl_msg_t *owner; /* the message arrays are allocated for (decode) */
} s_ctx_t;

/* Records "TYPE: what went wrong" in ctx->err and returns code. */
static int s_fail(s_ctx_t *ctx, int code, const char *format, ...)
{
    if (ctx->err) {
        int n = snprintf(ctx->err, RL_CODEC_ERROR_SIZE,
                         "%s: ", ctx->msg ? ctx->msg : "message");
        if (n < 0 || n >= RL_CODEC_ERROR_SIZE)
            n = 0;
        va_list args;
        va_start(args, format);
        vsnprintf(ctx->err + n, RL_CODEC_ERROR_SIZE - (size_t)n, format, args);
        va_end(args);
    }
    return code;
}

/* ---- Encoding ---- */

static void *s_at(void *base, size_t offset)
{
    return (char *)base + offset;
}

static const void *s_cat(const void *base, size_t offset)
{
    return (const char *)base + offset;
}

/* True when an optional field holds its zero value and can be left out. */
static bool s_is_zero(const s_field_t *field, const void *base)
{
    const void *value = s_cat(base, field->offset);
    switch (field->kind) {
    case K_U64:
    case K_ID:
        return *(const uint64_t *)value == 0;
    case K_U32:
        return *(const uint32_t *)value == 0;
    case K_U16:
        return *(const uint16_t *)value == 0;
    case K_U8:
    case K_OP:
        return *(const uint8_t *)value == 0;
    case K_I64:
        return *(const int64_t *)value == 0;
    case K_BOOL:
        return !*(const bool *)value;
    case K_STR:
        return ((const rl_str_t *)value)->size == 0;
    case K_MEMBER:
        return ((const rl_member_t *)value)->id == 0;
    default:
        return *(const size_t *)s_cat(base, field->count_offset) == 0;
    }
}

static int s_pack_str(msgpack_packer *pk, const char *ptr, size_t size)
{
    if (size > UINT32_MAX)
        return -1;
    return msgpack_pack_str_with_body(pk, ptr, size);
}

static int s_pack_bin(msgpack_packer *pk, const void *ptr, size_t size)
{
    if (size > UINT32_MAX)
        return -1;
    return msgpack_pack_bin_with_body(pk, ptr, size);
}

static int s_encode_map(s_ctx_t *ctx, msgpack_packer *pk,
                        const s_field_t *fields, const void *base,
                        size_t extra_keys);

/* Checks an array's count against the field's limits before encoding it,
   so that we never send what a peer's decoder would refuse. */
static int s_check_count(s_ctx_t *ctx, const s_field_t *field, size_t count)
{
    if (count < field->min)
        return s_fail(ctx, RL_ERR_BAD_REQUEST,
                      "field '%s' needs at least %llu items, has %zu",
                      field->name, (unsigned long long)field->min, count);
    if (field->max && count > field->max)
        return s_fail(ctx, RL_ERR_TOO_LARGE,
                      "field '%s' has %zu items, over the limit of %llu",
                      field->name, count, (unsigned long long)field->max);
    return 0;
}

static int s_encode_value(s_ctx_t *ctx, msgpack_packer *pk,
                          const s_field_t *field, const void *base)
{
    const void *value = s_cat(base, field->offset);
    size_t count = 0;
    if (field->count_offset)
        count = *(const size_t *)s_cat(base, field->count_offset);
    int rc = 0;
    switch (field->kind) {
    case K_U64:
    case K_ID:
        return msgpack_pack_uint64(pk, *(const uint64_t *)value);
    case K_U32:
        return msgpack_pack_uint32(pk, *(const uint32_t *)value);
    case K_U16:
        return msgpack_pack_uint16(pk, *(const uint16_t *)value);
    case K_U8:
        return msgpack_pack_uint8(pk, *(const uint8_t *)value);
    case K_I64:
        return msgpack_pack_int64(pk, *(const int64_t *)value);
    case K_BOOL:
        return *(const bool *)value ? msgpack_pack_true(pk)
                                    : msgpack_pack_false(pk);
    case K_STR: {
        const rl_str_t *str = value;
        if (field->max && str->size > field->max)
            return s_fail(ctx, RL_ERR_TOO_LARGE,
                          "field '%s' is %zu bytes, over the limit of %llu",
                          field->name, str->size,
                          (unsigned long long)field->max);
        return s_pack_str(pk, str->ptr, str->size);
    }
    case K_DATA:
        if (field->max && count > field->max)
            return s_fail(ctx, RL_ERR_TOO_LARGE,
                          "field '%s' is %zu bytes, over the limit of %llu",
                          field->name, count, (unsigned long long)field->max);
        return s_pack_bin(pk, *(const uint8_t *const *)value, count);
    case K_OP: {
        uint8_t op = *(const uint8_t *)value;
        if (op > RL_MEMBERS_REMOVE)
            return s_fail(ctx, RL_ERR_BAD_REQUEST, "unknown members op %u", op);
        return s_pack_str(pk, s_op_names[op], strlen(s_op_names[op]));
    }
    case K_MEMBER:
        return s_encode_map(ctx, pk, s_member_fields, value, 0);
    case K_MEMBERS:
    case K_MEMBER_STATUSES: {
        if ((rc = s_check_count(ctx, field, count)))
            return rc;
        bool status = field->kind == K_MEMBER_STATUSES;
        const s_field_t *fields =
            status ? s_member_status_fields : s_member_fields;
        size_t size = status ? sizeof(rl_member_status_t) : sizeof(rl_member_t);
        const char *items = *(const void *const *)value;
        if (msgpack_pack_array(pk, count))
            return -1;
        for (size_t i = 0; i < count && rc == 0; i++)
            rc = s_encode_map(ctx, pk, fields, items + i * size, 0);
        return rc;
    }
    case K_COUNTERS: {
        if ((rc = s_check_count(ctx, field, count)))
            return rc;
        const rl_counter_t *counters = *(const rl_counter_t *const *)value;
        if (msgpack_pack_map(pk, count))
            return -1;
        for (size_t i = 0; i < count && rc == 0; i++) {
            rc = s_pack_str(pk, counters[i].name.ptr, counters[i].name.size);
            if (rc == 0)
                rc = msgpack_pack_uint64(pk, counters[i].value);
        }
        return rc;
    }
    case K_PEER_ENTRIES:
    case K_READ_ENTRIES: {
        if ((rc = s_check_count(ctx, field, count)))
            return rc;
        bool peer = field->kind == K_PEER_ENTRIES;
        const rl_entry_t *entries = *(const rl_entry_t *const *)value;
        if (msgpack_pack_array(pk, count))
            return -1;
        for (size_t i = 0; i < count && rc == 0; i++) {
            const rl_entry_t *entry = &entries[i];
            if (entry->size > RL_MAX_ENTRY_SIZE)
                return s_fail(ctx, RL_ERR_TOO_LARGE,
                              "entry %zu is %zu bytes, over the limit of %u", i,
                              entry->size, RL_MAX_ENTRY_SIZE);
            if (peer && entry->type > RL_ENTRY_CONFIG)
                return s_fail(ctx, RL_ERR_BAD_REQUEST,
                              "entry %zu has unknown type %u", i, entry->type);
            if (peer) {
                rc = msgpack_pack_array(pk, 5) ||
                     msgpack_pack_uint64(pk, entry->term) ||
                     msgpack_pack_uint8(pk, entry->type) ||
                     msgpack_pack_uint64(pk, entry->producer_id) ||
                     msgpack_pack_uint64(pk, entry->seq);
            } else {
                rc = msgpack_pack_array(pk, 2) ||
                     msgpack_pack_uint64(pk, entry->index);
            }
            if (rc == 0)
                rc = s_pack_bin(pk, entry->data, entry->size);
        }
        return rc;
    }
    case K_CLIENT_ENTRIES: {
        if ((rc = s_check_count(ctx, field, count)))
            return rc;
        const rl_str_t *entries = *(const rl_str_t *const *)value;
        if (msgpack_pack_array(pk, count))
            return -1;
        for (size_t i = 0; i < count && rc == 0; i++) {
            if (entries[i].size > RL_MAX_ENTRY_SIZE)
                return s_fail(ctx, RL_ERR_TOO_LARGE,
                              "entry %zu is %zu bytes, over the limit of %u", i,
                              entries[i].size, RL_MAX_ENTRY_SIZE);
            rc = s_pack_bin(pk, entries[i].ptr, entries[i].size);
        }
        return rc;
    }
    }
    return -1;
}

/* Encodes the fields of base as one map. extra_keys is the number of keys
   the caller has packed or will pack into the same map (the header). */
static int s_encode_fields(s_ctx_t *ctx, msgpack_packer *pk,
                           const s_field_t *fields, const void *base)
{
    for (const s_field_t *field = fields; field->name; field++) {
        if (!field->required && s_is_zero(field, base))
            continue;
        int rc = s_pack_str(pk, field->name, strlen(field->name));
        if (rc == 0)
            rc = s_encode_value(ctx, pk, field, base);
        if (rc)
            return rc;
    }
    return 0;
}

static size_t s_count_fields(const s_field_t *fields, const void *base)
{
    size_t count = 0;
    for (const s_field_t *field = fields; field->name; field++)
        if (field->required || !s_is_zero(field, base))
            count++;
    return count;
}

static int s_encode_map(s_ctx_t *ctx, msgpack_packer *pk,
                        const s_field_t *fields, const void *base,
                        size_t extra_keys)
{
    if (msgpack_pack_map(pk, s_count_fields(fields, base) + extra_keys))
        return -1;
    return s_encode_fields(ctx, pk, fields, base);
}

static int s_pack_key_uint(msgpack_packer *pk, const char *key, uint64_t v)
{
    if (s_pack_str(pk, key, strlen(key)))
        return -1;
    return msgpack_pack_uint64(pk, v);
}

int rl_codec_encode(const rl_msg_t *msg, rl_buf_t *buf, char *err)
{
    s_ctx_t ctx = {err, rl_msg_type_name(msg->type), NULL};
    const s_field_t *fields = s_specs(msg->type);
    if (!fields)
        return s_fail(&ctx, RL_ERR_BAD_REQUEST, "unknown message type %u",
                      msg->type);
    bool peer = rl_msg_is_peer(msg->type);
    if (peer && (msg->from == 0 || msg->cluster.size > RL_MAX_CLUSTER_ID))
        return s_fail(&ctx, RL_ERR_BAD_REQUEST,
                      "peer messages need a sender id and a cluster id of "
                      "at most %u bytes",
                      RL_MAX_CLUSTER_ID);

    size_t start = buf->size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, s_buf_write);
    /* The header: version and type always; cluster and from for peers; the
       request id for client messages when set. */
    size_t header = 2 + (peer ? 2 : (msg->id != 0));
    int rc = msgpack_pack_map(&pk, header + s_count_fields(fields, &msg->body));
    rc = rc || s_pack_key_uint(&pk, "version", RL_PROTOCOL_VERSION);
    rc = rc || s_pack_key_uint(&pk, "type", msg->type);
    if (peer) {
        rc = rc || s_pack_str(&pk, "cluster", 7);
        rc = rc || s_pack_str(&pk, msg->cluster.ptr, msg->cluster.size);
        rc = rc || s_pack_key_uint(&pk, "from", msg->from);
    } else if (msg->id != 0) {
        rc = rc || s_pack_key_uint(&pk, "id", msg->id);
    }
    if (rc == 0)
        rc = s_encode_fields(&ctx, &pk, fields, &msg->body);
    if (rc) {
        buf->size = start; /* leave no half message behind */
        if (rc < 0)
            return s_fail(&ctx, RL_ERR_INTERNAL, "out of memory");
    }
    return rc;
}

/* ---- Decoding ---- */

/* Checks the msgpack framing of data without building anything: exactly
   one object fills the buffer, nothing is truncated, and no array or map
   declares more items than there are bytes left (each item needs at least
   one). msgpack-c's C unpacker allocates room for every declared item as
   soon as it reads a container header, so without this check a five-byte
   message could make a node try to allocate 64 GiB. The C API has no
   limits of its own (the C++ one does), hence this hand-written walk. */
static int s_check_framing(s_ctx_t *ctx, const uint8_t *p, size_t size)
{
    size_t pos = 0;
    uint64_t pending = 1; /* objects still to read */
    while (pending > 0) {
        if (pos >= size)
            return s_fail(ctx, RL_ERR_BAD_REQUEST,
                          "truncated: the data ends at byte %zu inside an "
                          "object",
                          size);
        size_t at = pos;
        uint8_t b = p[pos++];
        pending--;
        uint64_t skip = 0, count = 0;
        unsigned length_bytes = 0; /* big-endian length that follows b */
        unsigned extra = 0;        /* bytes between length and payload */
        bool items = false;        /* the length counts items, not bytes */
        unsigned per_item = 1;     /* 2 for maps: a key and a value */
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            ;
        else if ((b & 0xf0) == 0x80)
            count = 2u * (b & 0x0f);
        else if ((b & 0xf0) == 0x90)
            count = b & 0x0f;
        else if ((b & 0xe0) == 0xa0)
            skip = b & 0x1f;
        else {
            switch (b) {
            case 0xc4:
            case 0xd9:
                length_bytes = 1;
                break;
            case 0xc5:
            case 0xda:
                length_bytes = 2;
                break;
            case 0xc6:
            case 0xdb:
                length_bytes = 4;
                break;
            case 0xc7:
                length_bytes = 1;
                extra = 1;
                break;
            case 0xc8:
                length_bytes = 2;
                extra = 1;
                break;
            case 0xc9:
                length_bytes = 4;
                extra = 1;
                break;
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xca:
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcb:
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xd4:
                skip = 2;
                break;
            case 0xd5:
                skip = 3;
                break;
            case 0xd6:
                skip = 5;
                break;
            case 0xd7:
                skip = 9;
                break;
            case 0xd8:
                skip = 17;
                break;
            case 0xdc:
                length_bytes = 2;
                items = true;
                break;
            case 0xdd:
                length_bytes = 4;
                items = true;
                break;
            case 0xde:
                length_bytes = 2;
                items = true;
                per_item = 2;
                break;
            case 0xdf:
                length_bytes = 4;
                items = true;
                per_item = 2;
                break;
            default:
                return s_fail(ctx, RL_ERR_BAD_REQUEST,
                              "byte 0x%02x at offset %zu is not msgpack", b,
                              at);
            }
        }
        if (length_bytes) {
            if (length_bytes > size - pos)
                return s_fail(ctx, RL_ERR_BAD_REQUEST,
                              "truncated: a length at byte %zu is cut off", at);
            uint64_t length = 0;
            for (unsigned i = 0; i < length_bytes; i++)
                length = length << 8 | p[pos++];
            if (items)
                count = length * per_item;
            else
                skip = length + extra;
        }
        if (skip > size - pos)
            return s_fail(ctx, RL_ERR_BAD_REQUEST,
                          "truncated: the value at byte %zu needs %llu bytes, "
                          "%zu are left",
                          at, (unsigned long long)skip, size - pos);
        pos += (size_t)skip;
        pending += count;
        if (pending > size - pos)
            return s_fail(ctx, RL_ERR_BAD_REQUEST,
                          "the array or map at byte %zu declares %llu items "
                          "but only %zu bytes follow",
                          at, (unsigned long long)count, size - pos);
    }
    if (pos != size)
        return s_fail(ctx, RL_ERR_BAD_REQUEST,
                      "%zu bytes of trailing data after the message",
                      size - pos);
    return 0;
}

static const char *s_type_name(const msgpack_object *obj)
{
    switch (obj->type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return "unsigned integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "negative integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "string";
    case MSGPACK_OBJECT_BIN:
        return "binary";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    default:
        return "extension";
    }
}

static int s_wrong_type(s_ctx_t *ctx, const char *name, const char *want,
                        const msgpack_object *obj)
{
    return s_fail(ctx, RL_ERR_BAD_REQUEST, "field '%s' must be %s, got %s",
                  name, want, s_type_name(obj));
}

static int s_get_uint(s_ctx_t *ctx, const char *name, const msgpack_object *obj,
                      uint64_t max, uint64_t *out)
{
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_wrong_type(ctx, name, "an unsigned integer", obj);
    if (obj->via.u64 > max)
        return s_fail(ctx, RL_ERR_BAD_REQUEST,
                      "field '%s' is %llu, over its maximum %llu", name,
                      (unsigned long long)obj->via.u64,
                      (unsigned long long)max);
    *out = obj->via.u64;
    return 0;
}

/* Reads a str or bin object: byte payloads may come as either, since some
   msgpack libraries cannot produce bin. */
static int s_get_bytes(s_ctx_t *ctx, const char *name,
                       const msgpack_object *obj, uint64_t max,
                       const char **ptr, size_t *size)
{
    uint32_t length;
    const char *bytes;
    if (obj->type == MSGPACK_OBJECT_STR) {
        bytes = obj->via.str.ptr;
        length = obj->via.str.size;
    } else if (obj->type == MSGPACK_OBJECT_BIN) {
        bytes = obj->via.bin.ptr;
        length = obj->via.bin.size;
    } else {
        return s_wrong_type(ctx, name, "a string or binary", obj);
    }
    if (max && length > max)
        return s_fail(ctx, RL_ERR_TOO_LARGE,
                      "field '%s' is %u bytes, over the limit of %llu", name,
                      length, (unsigned long long)max);
    *ptr = length ? bytes : NULL;
    *size = length;
    return 0;
}

static int s_decode_map(s_ctx_t *ctx, const msgpack_object *obj,
                        const s_field_t *fields, void *base, const char *name);

/* Checks an array object against a field's limits; returns its items. */
static int s_get_array(s_ctx_t *ctx, const s_field_t *field,
                       const msgpack_object *obj, uint32_t *count)
{
    if (obj->type != MSGPACK_OBJECT_ARRAY)
        return s_wrong_type(ctx, field->name, "an array", obj);
    *count = obj->via.array.size;
    if (*count < field->min)
        return s_fail(ctx, RL_ERR_BAD_REQUEST,
                      "field '%s' needs at least %llu items, has %u",
                      field->name, (unsigned long long)field->min, *count);
    if (field->max && *count > field->max)
        return s_fail(ctx, RL_ERR_TOO_LARGE,
                      "field '%s' has %u items, over the limit of %llu",
                      field->name, *count, (unsigned long long)field->max);
    return 0;
}

/* Allocates a zeroed array of count items owned by the message. */
static void *s_alloc_items(s_ctx_t *ctx, uint32_t count, size_t size)
{
    return rl_msg_alloc(ctx->owner, (size_t)count * size + 1);
}

static int s_decode_entry(s_ctx_t *ctx, const msgpack_object *obj, bool peer,
                          uint32_t i, rl_entry_t *entry)
{
    uint32_t want = peer ? 5 : 2;
    if (obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size != want)
        return s_fail(ctx, RL_ERR_BAD_REQUEST,
                      "entry %u must be an array of %u items%s", i, want,
                      peer ? " [term, type, producer, seq, data]"
                           : " [index, data]");
    const msgpack_object *item = obj->via.array.ptr;
    uint64_t type = 0;
    int rc;
    if (peer) {
        if ((rc = s_get_uint(ctx, "entries.term", &item[0], UINT64_MAX,
                             &entry->term)) ||
            (rc = s_get_uint(ctx, "entries.type", &item[1], RL_ENTRY_CONFIG,
                             &type)) ||
            (rc = s_get_uint(ctx, "entries.producer", &item[2], UINT64_MAX,
                             &entry->producer_id)) ||
            (rc = s_get_uint(ctx, "entries.seq", &item[3], UINT64_MAX,
                             &entry->seq)))
            return rc;
        entry->type = (uint8_t)type;
    } else if ((rc = s_get_uint(ctx, "entries.index", &item[0], UINT64_MAX,
                                &entry->index))) {
        return rc;
    }
    const char *data;
    if ((rc = s_get_bytes(ctx, "entries.data", &item[want - 1],
                          RL_MAX_ENTRY_SIZE, &data, &entry->size)))
        return rc;
    entry->data = (const uint8_t *)data;
    return 0;
}

static int s_decode_value(s_ctx_t *ctx, const s_field_t *field,
                          const msgpack_object *obj, void *base)
{
    void *value = s_at(base, field->offset);
    size_t *count_out =
        field->count_offset ? s_at(base, field->count_offset) : NULL;
    uint64_t number = 0;
    uint32_t count = 0;
    int rc = 0;
    switch (field->kind) {
    case K_U64:
        return s_get_uint(ctx, field->name, obj, UINT64_MAX, value);
    case K_ID:
        if ((rc = s_get_uint(ctx, field->name, obj, UINT64_MAX, value)))
            return rc;
        if (*(uint64_t *)value == 0)
            return s_fail(ctx, RL_ERR_BAD_REQUEST,
                          "field '%s' must be a node id of 1 or more",
                          field->name);
        return 0;
    case K_U32:
        rc = s_get_uint(ctx, field->name, obj, UINT32_MAX, &number);
        *(uint32_t *)value = (uint32_t)number;
        return rc;
    case K_U16:
        rc = s_get_uint(ctx, field->name, obj, UINT16_MAX, &number);
        *(uint16_t *)value = (uint16_t)number;
        return rc;
    case K_U8:
        rc = s_get_uint(ctx, field->name, obj, field->max, &number);
        *(uint8_t *)value = (uint8_t)number;
        return rc;
    case K_I64:
        if (obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            *(int64_t *)value = obj->via.i64;
            return 0;
        }
        if ((rc = s_get_uint(ctx, field->name, obj, INT64_MAX, &number)))
            return rc;
        *(int64_t *)value = (int64_t)number;
        return 0;
    case K_BOOL:
        if (obj->type != MSGPACK_OBJECT_BOOLEAN)
            return s_wrong_type(ctx, field->name, "a boolean", obj);
        *(bool *)value = obj->via.boolean;
        return 0;
    case K_STR: {
        rl_str_t *str = value;
        return s_get_bytes(ctx, field->name, obj, field->max, &str->ptr,
                           &str->size);
    }
    case K_DATA: {
        const char *ptr;
        if ((rc = s_get_bytes(ctx, field->name, obj, field->max, &ptr,
                              count_out)))
            return rc;
        *(const uint8_t **)value = (const uint8_t *)ptr;
        return 0;
    }
    case K_OP: {
        const char *ptr = NULL;
        size_t size = 0;
        if (obj->type != MSGPACK_OBJECT_STR)
            return s_wrong_type(ctx, field->name, "a string", obj);
        if ((rc = s_get_bytes(ctx, field->name, obj, 16, &ptr, &size)))
            return rc;
        for (uint8_t op = 0; op <= RL_MEMBERS_REMOVE; op++) {
            if (size == strlen(s_op_names[op]) &&
                memcmp(ptr, s_op_names[op], size) == 0) {
                *(uint8_t *)value = op;
                return 0;
            }
        }
        return s_fail(ctx, RL_ERR_BAD_REQUEST,
                      "field '%s' must be \"list\", \"add\" or \"remove\"",
                      field->name);
    }
    case K_MEMBER:
        return s_decode_map(ctx, obj, s_member_fields, value, field->name);
    case K_MEMBERS:
    case K_MEMBER_STATUSES: {
        if ((rc = s_get_array(ctx, field, obj, &count)))
            return rc;
        bool status = field->kind == K_MEMBER_STATUSES;
        size_t size = status ? sizeof(rl_member_status_t) : sizeof(rl_member_t);
        char *items = s_alloc_items(ctx, count, size);
        if (!items)
            return s_fail(ctx, RL_ERR_INTERNAL, "out of memory");
        for (uint32_t i = 0; i < count && rc == 0; i++)
            rc = s_decode_map(ctx, &obj->via.array.ptr[i],
                              status ? s_member_status_fields : s_member_fields,
                              items + i * size, field->name);
        *(void **)value = items;
        *count_out = count;
        return rc;
    }
    case K_COUNTERS: {
        if (obj->type != MSGPACK_OBJECT_MAP)
            return s_wrong_type(ctx, field->name, "a map", obj);
        count = obj->via.map.size;
        if (count > field->max)
            return s_fail(ctx, RL_ERR_TOO_LARGE,
                          "field '%s' has %u items, over the limit of %llu",
                          field->name, count, (unsigned long long)field->max);
        rl_counter_t *counters =
            s_alloc_items(ctx, count, sizeof(rl_counter_t));
        if (!counters)
            return s_fail(ctx, RL_ERR_INTERNAL, "out of memory");
        for (uint32_t i = 0; i < count && rc == 0; i++) {
            const msgpack_object_kv *kv = &obj->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                return s_wrong_type(ctx, "counters key", "a string", &kv->key);
            rc = s_get_bytes(ctx, "counters key", &kv->key, 64,
                             &counters[i].name.ptr, &counters[i].name.size);
            if (rc == 0)
                rc = s_get_uint(ctx, "counters value", &kv->val, UINT64_MAX,
                                &counters[i].value);
        }
        *(rl_counter_t **)value = counters;
        *count_out = count;
        return rc;
    }
    case K_PEER_ENTRIES:
    case K_READ_ENTRIES: {
        if ((rc = s_get_array(ctx, field, obj, &count)))
            return rc;
        rl_entry_t *entries = s_alloc_items(ctx, count, sizeof(rl_entry_t));
        if (!entries)
            return s_fail(ctx, RL_ERR_INTERNAL, "out of memory");
        for (uint32_t i = 0; i < count && rc == 0; i++)
            rc = s_decode_entry(ctx, &obj->via.array.ptr[i],
                                field->kind == K_PEER_ENTRIES, i, &entries[i]);
        *(rl_entry_t **)value = entries;
        *count_out = count;
        return rc;
    }
    case K_CLIENT_ENTRIES: {
        if ((rc = s_get_array(ctx, field, obj, &count)))
            return rc;
        rl_str_t *entries = s_alloc_items(ctx, count, sizeof(rl_str_t));
        if (!entries)
            return s_fail(ctx, RL_ERR_INTERNAL, "out of memory");
        for (uint32_t i = 0; i < count && rc == 0; i++)
            rc = s_get_bytes(ctx, "entries", &obj->via.array.ptr[i],
                             RL_MAX_ENTRY_SIZE, &entries[i].ptr,
                             &entries[i].size);
        *(rl_str_t **)value = entries;
        *count_out = count;
        return rc;
    }
    }
    return s_fail(ctx, RL_ERR_INTERNAL, "field kind %u unknown", field->kind);
}

/* True when key is the string name. */
static bool s_key_is(const msgpack_object *key, const char *name)
{
    size_t length = strlen(name);
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == length &&
           memcmp(key->via.str.ptr, name, length) == 0;
}

/* Decodes a map into base by the field table. Keys that the table does not
   name are skipped: later versions may add optional fields. (The header
   keys of a top-level map are read by s_decode_header and skipped here.) */
static int s_decode_map(s_ctx_t *ctx, const msgpack_object *obj,
                        const s_field_t *fields, void *base, const char *name)
{
    if (obj->type != MSGPACK_OBJECT_MAP)
        return s_wrong_type(ctx, name, "a map", obj);
    uint32_t seen = 0; /* bit i: fields[i] was present */
    for (uint32_t k = 0; k < obj->via.map.size; k++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr[k];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return s_fail(ctx, RL_ERR_BAD_REQUEST,
                          "keys of '%s' must be strings, got %s", name,
                          s_type_name(&kv->key));
        for (unsigned i = 0; fields[i].name; i++) {
            if (!s_key_is(&kv->key, fields[i].name))
                continue;
            if (seen & (1u << i))
                return s_fail(ctx, RL_ERR_BAD_REQUEST,
                              "field '%s' appears twice", fields[i].name);
            seen |= 1u << i;
            int rc = s_decode_value(ctx, &fields[i], &kv->val, base);
            if (rc)
                return rc;
            break;
        }
    }
    for (unsigned i = 0; fields[i].name; i++)
        if (fields[i].required && !(seen & (1u << i)))
            return s_fail(ctx, RL_ERR_BAD_REQUEST,
                          "required field '%s' is missing in %s",
                          fields[i].name, name);
    return 0;
}

/* Finds the value of key in a map object, NULL when absent; a repeated
   header key is an error (reported through *duplicate). */
static const msgpack_object *s_lookup(const msgpack_object *map,
                                      const char *key, bool *duplicate)
{
    const msgpack_object *found = NULL;
    for (uint32_t k = 0; k < map->via.map.size; k++) {
        if (s_key_is(&map->via.map.ptr[k].key, key)) {
            if (found)
                *duplicate = true;
            found = &map->via.map.ptr[k].val;
        }
    }
    return found;
}

/* Reads the header (version, type, id, cluster, from) of a top-level map
   into msg. The version is checked before the type, so that a message of
   a later protocol gets UNSUPPORTED_VERSION even if its type is new. */
static int s_decode_header(s_ctx_t *ctx, const msgpack_object *root,
                           rl_msg_t *msg)
{
    bool duplicate = false;
    const msgpack_object *version = s_lookup(root, "version", &duplicate);
    const msgpack_object *type = s_lookup(root, "type", &duplicate);
    const msgpack_object *id = s_lookup(root, "id", &duplicate);
    const msgpack_object *cluster = s_lookup(root, "cluster", &duplicate);
    const msgpack_object *from = s_lookup(root, "from", &duplicate);
    uint64_t number = 0;
    int rc;
    /* The id first, so that any later error can still be answered with it. */
    if (id && (rc = s_get_uint(ctx, "id", id, UINT64_MAX, &msg->id)))
        return rc;
    if (type && type->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        type->via.u64 <= UINT8_MAX)
        msg->type = (uint8_t)type->via.u64;
    if (duplicate)
        return s_fail(ctx, RL_ERR_BAD_REQUEST, "a header field appears twice");
    if (!version)
        return s_fail(ctx, RL_ERR_BAD_REQUEST,
                      "required field 'version' is missing");
    if ((rc = s_get_uint(ctx, "version", version, UINT64_MAX, &number)))
        return rc;
    if (number != RL_PROTOCOL_VERSION)
        return s_fail(ctx, RL_ERR_UNSUPPORTED_VERSION,
                      "protocol version %llu is not supported; this node "
                      "speaks version %d",
                      (unsigned long long)number, RL_PROTOCOL_VERSION);
    if (!type)
        return s_fail(ctx, RL_ERR_BAD_REQUEST,
                      "required field 'type' is missing");
    if ((rc = s_get_uint(ctx, "type", type, UINT64_MAX, &number)))
        return rc;
    if (!s_specs((int)(number <= 255 ? number : 0)))
        return s_fail(ctx, RL_ERR_UNKNOWN_TYPE,
                      "message type %llu is unknown; see docs/PROTOCOL.md",
                      (unsigned long long)number);
    ctx->msg = rl_msg_type_name(msg->type);
    if (rl_msg_is_peer(msg->type)) {
        if (!cluster || !from)
            return s_fail(ctx, RL_ERR_BAD_REQUEST,
                          "peer messages need 'cluster' and 'from'");
        if ((rc = s_get_bytes(ctx, "cluster", cluster, RL_MAX_CLUSTER_ID,
                              &msg->cluster.ptr, &msg->cluster.size)))
            return rc;
        if ((rc = s_get_uint(ctx, "from", from, UINT64_MAX, &msg->from)))
            return rc;
        if (msg->from == 0)
            return s_fail(ctx, RL_ERR_BAD_REQUEST,
                          "field 'from' must be a node id of 1 or more");
    }
    return 0;
}

/* Fills entries[i].index of an APPEND from prev_index, checking that the
   indexes do not wrap around. */
static int s_number_entries(s_ctx_t *ctx, rl_append_t *append)
{
    if (append->entry_count > UINT64_MAX - append->prev_index)
        return s_fail(ctx, RL_ERR_BAD_REQUEST,
                      "prev_index %llu plus %zu entries overflows",
                      (unsigned long long)append->prev_index,
                      append->entry_count);
    for (size_t i = 0; i < append->entry_count; i++)
        append->entries[i].index = append->prev_index + 1 + i;
    return 0;
}

int rl_codec_decode(const void *data, size_t size, rl_msg_t *msg, char *err)
{
    s_ctx_t ctx = {err, NULL, msg};
    rl_msg_init(msg, 0);
    if (err)
        err[0] = '\0';
    if (size == 0)
        return s_fail(&ctx, RL_ERR_BAD_REQUEST, "empty message");
    if (size > RL_MAX_MESSAGE_SIZE)
        return s_fail(&ctx, RL_ERR_TOO_LARGE,
                      "%zu bytes, over the limit of %u bytes", size,
                      RL_MAX_MESSAGE_SIZE);
    int rc = s_check_framing(&ctx, data, size);
    if (rc)
        return rc;

    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t offset = 0;
    msgpack_unpack_return ret =
        msgpack_unpack_next(&unpacked, data, size, &offset);
    if (ret != MSGPACK_UNPACK_SUCCESS) {
        rc = ret == MSGPACK_UNPACK_NOMEM_ERROR
                 ? s_fail(&ctx, RL_ERR_INTERNAL, "out of memory")
                 : s_fail(&ctx, RL_ERR_BAD_REQUEST,
                          "not valid msgpack (nested too deeply?)");
    } else if (unpacked.data.type != MSGPACK_OBJECT_MAP) {
        rc = s_fail(&ctx, RL_ERR_BAD_REQUEST,
                    "a message must be a msgpack map, got %s",
                    s_type_name(&unpacked.data));
    } else {
        rc = s_decode_header(&ctx, &unpacked.data, msg);
        if (rc == 0)
            rc = s_decode_map(&ctx, &unpacked.data, s_specs(msg->type),
                              &msg->body, "message");
        if (rc == 0 && msg->type == RL_MSG_APPEND)
            rc = s_number_entries(&ctx, &msg->body.append);
    }
    msgpack_unpacked_destroy(&unpacked);
    if (rc) {
        /* Keep what an error reply needs; drop the half-decoded body. */
        uint8_t type = msg->type;
        uint64_t id = msg->id;
        rl_msg_close(msg);
        msg->type = type;
        msg->id = id;
    }
    return rc;
}

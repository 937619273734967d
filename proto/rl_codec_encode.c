/*  rl_codec_encode.c - the encoder: turns an rl_msg_t into one msgpack map
    by the field tables (rl_codec_fields.c), checking the protocol's limits
    so that nothing is sent that a peer's decoder would refuse; and the
    growable byte buffer the encoded messages go into. msgpack-c's packer
    writes the values.
*/
#include "rl_codec_fields.h"

#include <msgpack.h>
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

/* ---- Encoding ---- */

static const void *s_cat(const void *base, size_t offset)
{
    return (const char *)base + offset;
}

/* True when an optional field holds its zero value and can be left out. */
static bool s_is_zero(const rl_field_t *field, const void *base)
{
    const void *value = s_cat(base, field->offset);
    switch (field->kind) {
    case RL_FIELD_U64:
    case RL_FIELD_ID:
        return *(const uint64_t *)value == 0;
    case RL_FIELD_U32:
        return *(const uint32_t *)value == 0;
    case RL_FIELD_U16:
        return *(const uint16_t *)value == 0;
    case RL_FIELD_U8:
    case RL_FIELD_OP:
    case RL_FIELD_CONSUMERS_OP:
    case RL_FIELD_LOGS_OP:
        return *(const uint8_t *)value == 0;
    case RL_FIELD_I64:
        return *(const int64_t *)value == 0;
    case RL_FIELD_BOOL:
        return !*(const bool *)value;
    case RL_FIELD_STR:
    case RL_FIELD_LOG_NAME:
        return ((const rl_str_t *)value)->size == 0;
    case RL_FIELD_MEMBER:
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

static int s_encode_map(rl_codec_ctx_t *ctx, msgpack_packer *pk,
                        const rl_field_t *fields, const void *base,
                        size_t extra_keys);

/* Checks an array's count against the field's limits before encoding it,
   so that we never send what a peer's decoder would refuse. */
static int s_check_count(rl_codec_ctx_t *ctx, const rl_field_t *field,
                         size_t count)
{
    if (count < field->min)
        return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                             "field '%s' needs at least %llu items, has %zu",
                             field->name, (unsigned long long)field->min,
                             count);
    if (field->max && count > field->max)
        return rl_codec_fail(ctx, RL_ERR_TOO_LARGE,
                             "field '%s' has %zu items, over the limit of %llu",
                             field->name, count,
                             (unsigned long long)field->max);
    return 0;
}

static int s_encode_value(rl_codec_ctx_t *ctx, msgpack_packer *pk,
                          const rl_field_t *field, const void *base)
{
    const void *value = s_cat(base, field->offset);
    size_t count = 0;
    if (field->count_offset)
        count = *(const size_t *)s_cat(base, field->count_offset);
    int rc = 0;
    switch (field->kind) {
    case RL_FIELD_U64:
    case RL_FIELD_ID:
        return msgpack_pack_uint64(pk, *(const uint64_t *)value);
    case RL_FIELD_U32:
        return msgpack_pack_uint32(pk, *(const uint32_t *)value);
    case RL_FIELD_U16:
        return msgpack_pack_uint16(pk, *(const uint16_t *)value);
    case RL_FIELD_U8:
        return msgpack_pack_uint8(pk, *(const uint8_t *)value);
    case RL_FIELD_I64:
        return msgpack_pack_int64(pk, *(const int64_t *)value);
    case RL_FIELD_BOOL:
        return *(const bool *)value ? msgpack_pack_true(pk)
                                    : msgpack_pack_false(pk);
    case RL_FIELD_STR:
    case RL_FIELD_LOG_NAME: {
        const rl_str_t *str = value;
        if (field->max && str->size > field->max)
            return rl_codec_fail(
                ctx, RL_ERR_TOO_LARGE,
                "field '%s' is %zu bytes, over the limit of %llu", field->name,
                str->size, (unsigned long long)field->max);
        if (field->kind == RL_FIELD_LOG_NAME && !rl_log_name_valid(*str))
            return rl_codec_fail(
                ctx, RL_ERR_BAD_REQUEST,
                "field '%s' is not a log name: " RL_CODEC_LOG_NAME_WORDS,
                field->name);
        return s_pack_str(pk, str->ptr, str->size);
    }
    case RL_FIELD_DATA:
        if (field->max && count > field->max)
            return rl_codec_fail(
                ctx, RL_ERR_TOO_LARGE,
                "field '%s' is %zu bytes, over the limit of %llu", field->name,
                count, (unsigned long long)field->max);
        return s_pack_bin(pk, *(const uint8_t *const *)value, count);
    case RL_FIELD_OP:
    case RL_FIELD_CONSUMERS_OP:
    case RL_FIELD_LOGS_OP: {
        uint8_t op = *(const uint8_t *)value, ops = 0;
        const char *words = "";
        const char *const *names = rl_codec_op_table(field->kind, &ops, &words);
        if (op >= ops)
            return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                                 "unknown op %u of field '%s'", op,
                                 field->name);
        return s_pack_str(pk, names[op], strlen(names[op]));
    }
    case RL_FIELD_MEMBER:
        return s_encode_map(ctx, pk, rl_codec_member_fields, value, 0);
    case RL_FIELD_MEMBERS:
    case RL_FIELD_MEMBER_STATUSES:
    case RL_FIELD_CONSUMERS:
    case RL_FIELD_LOGS:
    case RL_FIELD_LOG_STATUSES: {
        if ((rc = s_check_count(ctx, field, count)))
            return rc;
        size_t size = 0;
        const rl_field_t *fields = rl_codec_item_fields(field->kind, &size);
        const char *items = *(const void *const *)value;
        if (msgpack_pack_array(pk, count))
            return -1;
        for (size_t i = 0; i < count && rc == 0; i++)
            rc = s_encode_map(ctx, pk, fields, items + i * size, 0);
        return rc;
    }
    case RL_FIELD_COUNTERS: {
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
    case RL_FIELD_PEER_ENTRIES:
    case RL_FIELD_READ_ENTRIES: {
        if ((rc = s_check_count(ctx, field, count)))
            return rc;
        bool peer = field->kind == RL_FIELD_PEER_ENTRIES;
        const rl_entry_t *entries = *(const rl_entry_t *const *)value;
        if (msgpack_pack_array(pk, count))
            return -1;
        for (size_t i = 0; i < count && rc == 0; i++) {
            const rl_entry_t *entry = &entries[i];
            if (entry->size > RL_MAX_ENTRY_SIZE)
                return rl_codec_fail(
                    ctx, RL_ERR_TOO_LARGE,
                    "entry %zu is %zu bytes, over the limit of %u", i,
                    entry->size, RL_MAX_ENTRY_SIZE);
            if (peer && entry->type > RL_ENTRY_CATALOG)
                return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                                     "entry %zu has unknown type %u", i,
                                     entry->type);
            if (peer) {
                /* time is the optional sixth item, omitted when 0 (an
                   entry written before timestamps existed), as optional
                   fields of maps are. */
                rc = msgpack_pack_array(pk, entry->time ? 6 : 5) ||
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
            if (rc == 0 && peer && entry->time)
                rc = msgpack_pack_uint64(pk, entry->time);
        }
        return rc;
    }
    case RL_FIELD_U64S: {
        if ((rc = s_check_count(ctx, field, count)))
            return rc;
        const uint64_t *items = *(const uint64_t *const *)value;
        if (msgpack_pack_array(pk, count))
            return -1;
        for (size_t i = 0; i < count && rc == 0; i++)
            rc = msgpack_pack_uint64(pk, items[i]);
        return rc;
    }
    case RL_FIELD_CLIENT_ENTRIES: {
        if ((rc = s_check_count(ctx, field, count)))
            return rc;
        const rl_str_t *entries = *(const rl_str_t *const *)value;
        if (msgpack_pack_array(pk, count))
            return -1;
        for (size_t i = 0; i < count && rc == 0; i++) {
            if (entries[i].size > RL_MAX_ENTRY_SIZE)
                return rl_codec_fail(
                    ctx, RL_ERR_TOO_LARGE,
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
static int s_encode_fields(rl_codec_ctx_t *ctx, msgpack_packer *pk,
                           const rl_field_t *fields, const void *base)
{
    for (const rl_field_t *field = fields; field->name; field++) {
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

static size_t s_count_fields(const rl_field_t *fields, const void *base)
{
    size_t count = 0;
    for (const rl_field_t *field = fields; field->name; field++)
        if (field->required || !s_is_zero(field, base))
            count++;
    return count;
}

static int s_encode_map(rl_codec_ctx_t *ctx, msgpack_packer *pk,
                        const rl_field_t *fields, const void *base,
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
    rl_codec_ctx_t ctx = {err, rl_msg_type_name(msg->type), NULL};
    const rl_field_t *fields = rl_codec_fields(msg->type);
    if (!fields)
        return rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST,
                             "unknown message type %u", msg->type);
    bool peer = rl_msg_is_node(msg->type);
    if (peer && (msg->from == 0 || msg->cluster.size > RL_MAX_CLUSTER_ID))
        return rl_codec_fail(
            &ctx, RL_ERR_BAD_REQUEST,
            "peer messages need a sender id and a cluster id of "
            "at most %u bytes",
            RL_MAX_CLUSTER_ID);

    /* A forwarded identity goes on requests only (never on replies), whole:
       a key of RL_KEY_TEXT bytes and a role. */
    bool as = rl_msg_is_request(msg->type) && msg->as_key.size != 0;
    if (rl_msg_is_request(msg->type) &&
        ((msg->as_key.size != 0 && msg->as_key.size != RL_KEY_TEXT) ||
         (msg->as_key.size == 0) != (msg->as_role.size == 0) ||
         msg->as_role.size > RL_MAX_ROLE))
        return rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST,
                             "as_key (%u bytes) and as_role (at most %u "
                             "bytes) go together",
                             RL_KEY_TEXT, RL_MAX_ROLE);

    size_t start = buf->size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, s_buf_write);
    /* The header: version and type always; cluster and from for peers,
       and group when not 0; the request id for client messages when set;
       as_key and as_role for a request a broker forwards. */
    /* The named log of a request or a NOT_LEADER, when not `default`. */
    bool log =
        (rl_msg_is_request(msg->type) || msg->type == RL_MSG_NOT_LEADER) &&
        msg->log.size != 0;
    if (log && msg->log.size > RL_MAX_LOG_NAME)
        return rl_codec_fail(&ctx, RL_ERR_TOO_LARGE,
                             "field 'log' is %zu bytes, over the limit of %u",
                             msg->log.size, RL_MAX_LOG_NAME);
    size_t header = 2 + (peer ? 2 + (msg->group != 0) : (msg->id != 0)) +
                    (as ? 2 : 0) + (log ? 1 : 0);
    int rc = msgpack_pack_map(&pk, header + s_count_fields(fields, &msg->body));
    rc = rc || s_pack_key_uint(&pk, "version", RL_PROTOCOL_VERSION);
    rc = rc || s_pack_key_uint(&pk, "type", msg->type);
    if (peer) {
        rc = rc || s_pack_str(&pk, "cluster", 7);
        rc = rc || s_pack_str(&pk, msg->cluster.ptr, msg->cluster.size);
        rc = rc || s_pack_key_uint(&pk, "from", msg->from);
        if (msg->group != 0)
            rc = rc || s_pack_key_uint(&pk, "group", msg->group);
    } else if (msg->id != 0) {
        rc = rc || s_pack_key_uint(&pk, "id", msg->id);
    }
    if (log) {
        rc = rc || s_pack_str(&pk, "log", 3);
        rc = rc || s_pack_str(&pk, msg->log.ptr, msg->log.size);
    }
    if (as) {
        rc = rc || s_pack_str(&pk, "as_key", 6);
        rc = rc || s_pack_str(&pk, msg->as_key.ptr, msg->as_key.size);
        rc = rc || s_pack_str(&pk, "as_role", 7);
        rc = rc || s_pack_str(&pk, msg->as_role.ptr, msg->as_role.size);
    }
    if (rc == 0)
        rc = s_encode_fields(&ctx, &pk, fields, &msg->body);
    if (rc) {
        buf->size = start; /* leave no half message behind */
        if (rc < 0)
            return rl_codec_fail(&ctx, RL_ERR_INTERNAL, "out of memory");
    }
    return rc;
}

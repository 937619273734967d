/*  rl_codec_decode.c - the decoder: checks the msgpack framing of a
    buffer, then fills an rl_msg_t from it by the field tables
    (rl_codec_fields.c), enforcing every limit of the protocol.

    Decoding is zero-copy for byte strings: msgpack-c's unpacker points
    str/bin objects into the input buffer, and so do we.
*/
#include "rl_codec_fields.h"

#include <msgpack.h>
#include <string.h>

static void *s_at(void *base, size_t offset)
{
    return (char *)base + offset;
}

/* ---- Decoding ---- */

/* Checks the msgpack framing of data without building anything: exactly
   one object fills the buffer, nothing is truncated, and no array or map
   declares more items than there are bytes left (each item needs at least
   one). msgpack-c's C unpacker allocates room for every declared item as
   soon as it reads a container header, so without this check a five-byte
   message could make a node try to allocate 64 GiB. The C API has no
   limits of its own (the C++ one does), hence this hand-written walk. */
static int s_check_framing(rl_codec_ctx_t *ctx, const uint8_t *p, size_t size)
{
    size_t pos = 0;
    uint64_t pending = 1; /* objects still to read */
    while (pending > 0) {
        if (pos >= size)
            return rl_codec_fail(
                ctx, RL_ERR_BAD_REQUEST,
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
                return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                                     "byte 0x%02x at offset %zu is not msgpack",
                                     b, at);
            }
        }
        if (length_bytes) {
            if (length_bytes > size - pos)
                return rl_codec_fail(
                    ctx, RL_ERR_BAD_REQUEST,
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
            return rl_codec_fail(
                ctx, RL_ERR_BAD_REQUEST,
                "truncated: the value at byte %zu needs %llu bytes, "
                "%zu are left",
                at, (unsigned long long)skip, size - pos);
        pos += (size_t)skip;
        pending += count;
        if (pending > size - pos)
            return rl_codec_fail(
                ctx, RL_ERR_BAD_REQUEST,
                "the array or map at byte %zu declares %llu items "
                "but only %zu bytes follow",
                at, (unsigned long long)count, size - pos);
    }
    if (pos != size)
        return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
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

static int s_wrong_type(rl_codec_ctx_t *ctx, const char *name, const char *want,
                        const msgpack_object *obj)
{
    return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                         "field '%s' must be %s, got %s", name, want,
                         s_type_name(obj));
}

static int s_get_uint(rl_codec_ctx_t *ctx, const char *name,
                      const msgpack_object *obj, uint64_t max, uint64_t *out)
{
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_wrong_type(ctx, name, "an unsigned integer", obj);
    if (obj->via.u64 > max)
        return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                             "field '%s' is %llu, over its maximum %llu", name,
                             (unsigned long long)obj->via.u64,
                             (unsigned long long)max);
    *out = obj->via.u64;
    return 0;
}

/* Reads a str or bin object: byte payloads may come as either, since some
   msgpack libraries cannot produce bin. */
static int s_get_bytes(rl_codec_ctx_t *ctx, const char *name,
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
        return rl_codec_fail(ctx, RL_ERR_TOO_LARGE,
                             "field '%s' is %u bytes, over the limit of %llu",
                             name, length, (unsigned long long)max);
    *ptr = length ? bytes : NULL;
    *size = length;
    return 0;
}

static int s_decode_map(rl_codec_ctx_t *ctx, const msgpack_object *obj,
                        const rl_field_t *fields, void *base, const char *name);

/* Checks an array object against a field's limits; returns its items. */
static int s_get_array(rl_codec_ctx_t *ctx, const rl_field_t *field,
                       const msgpack_object *obj, uint32_t *count)
{
    if (obj->type != MSGPACK_OBJECT_ARRAY)
        return s_wrong_type(ctx, field->name, "an array", obj);
    *count = obj->via.array.size;
    if (*count < field->min)
        return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                             "field '%s' needs at least %llu items, has %u",
                             field->name, (unsigned long long)field->min,
                             *count);
    if (field->max && *count > field->max)
        return rl_codec_fail(ctx, RL_ERR_TOO_LARGE,
                             "field '%s' has %u items, over the limit of %llu",
                             field->name, *count,
                             (unsigned long long)field->max);
    return 0;
}

/* Allocates a zeroed array of count items owned by the message. */
static void *s_alloc_items(rl_codec_ctx_t *ctx, uint32_t count, size_t size)
{
    return rl_msg_alloc(ctx->owner, (size_t)count * size + 1);
}

static int s_decode_entry(rl_codec_ctx_t *ctx, const msgpack_object *obj,
                          bool peer, uint32_t i, rl_entry_t *entry)
{
    uint32_t want = peer ? 5 : 2;
    if (obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size != want)
        return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
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

static int s_decode_value(rl_codec_ctx_t *ctx, const rl_field_t *field,
                          const msgpack_object *obj, void *base)
{
    void *value = s_at(base, field->offset);
    size_t *count_out =
        field->count_offset ? s_at(base, field->count_offset) : NULL;
    uint64_t number = 0;
    uint32_t count = 0;
    int rc = 0;
    switch (field->kind) {
    case RL_FIELD_U64:
        return s_get_uint(ctx, field->name, obj, UINT64_MAX, value);
    case RL_FIELD_ID:
        if ((rc = s_get_uint(ctx, field->name, obj, UINT64_MAX, value)))
            return rc;
        if (*(uint64_t *)value == 0)
            return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                                 "field '%s' must be a node id of 1 or more",
                                 field->name);
        return 0;
    case RL_FIELD_U32:
        rc = s_get_uint(ctx, field->name, obj, UINT32_MAX, &number);
        *(uint32_t *)value = (uint32_t)number;
        return rc;
    case RL_FIELD_U16:
        rc = s_get_uint(ctx, field->name, obj, UINT16_MAX, &number);
        *(uint16_t *)value = (uint16_t)number;
        return rc;
    case RL_FIELD_U8:
        rc = s_get_uint(ctx, field->name, obj, field->max, &number);
        *(uint8_t *)value = (uint8_t)number;
        return rc;
    case RL_FIELD_I64:
        if (obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            *(int64_t *)value = obj->via.i64;
            return 0;
        }
        if ((rc = s_get_uint(ctx, field->name, obj, INT64_MAX, &number)))
            return rc;
        *(int64_t *)value = (int64_t)number;
        return 0;
    case RL_FIELD_BOOL:
        if (obj->type != MSGPACK_OBJECT_BOOLEAN)
            return s_wrong_type(ctx, field->name, "a boolean", obj);
        *(bool *)value = obj->via.boolean;
        return 0;
    case RL_FIELD_STR: {
        rl_str_t *str = value;
        return s_get_bytes(ctx, field->name, obj, field->max, &str->ptr,
                           &str->size);
    }
    case RL_FIELD_DATA: {
        const char *ptr;
        if ((rc = s_get_bytes(ctx, field->name, obj, field->max, &ptr,
                              count_out)))
            return rc;
        *(const uint8_t **)value = (const uint8_t *)ptr;
        return 0;
    }
    case RL_FIELD_OP: {
        const char *ptr = NULL;
        size_t size = 0;
        if (obj->type != MSGPACK_OBJECT_STR)
            return s_wrong_type(ctx, field->name, "a string", obj);
        if ((rc = s_get_bytes(ctx, field->name, obj, 16, &ptr, &size)))
            return rc;
        for (uint8_t op = 0; op <= RL_MEMBERS_REMOVE; op++) {
            if (size == strlen(rl_codec_op_names[op]) &&
                memcmp(ptr, rl_codec_op_names[op], size) == 0) {
                *(uint8_t *)value = op;
                return 0;
            }
        }
        return rl_codec_fail(
            ctx, RL_ERR_BAD_REQUEST,
            "field '%s' must be \"list\", \"add\" or \"remove\"", field->name);
    }
    case RL_FIELD_MEMBER:
        return s_decode_map(ctx, obj, rl_codec_member_fields, value,
                            field->name);
    case RL_FIELD_MEMBERS:
    case RL_FIELD_MEMBER_STATUSES: {
        if ((rc = s_get_array(ctx, field, obj, &count)))
            return rc;
        bool status = field->kind == RL_FIELD_MEMBER_STATUSES;
        size_t size = status ? sizeof(rl_member_status_t) : sizeof(rl_member_t);
        char *items = s_alloc_items(ctx, count, size);
        if (!items)
            return rl_codec_fail(ctx, RL_ERR_INTERNAL, "out of memory");
        for (uint32_t i = 0; i < count && rc == 0; i++)
            rc = s_decode_map(ctx, &obj->via.array.ptr[i],
                              status ? rl_codec_member_status_fields
                                     : rl_codec_member_fields,
                              items + i * size, field->name);
        *(void **)value = items;
        *count_out = count;
        return rc;
    }
    case RL_FIELD_COUNTERS: {
        if (obj->type != MSGPACK_OBJECT_MAP)
            return s_wrong_type(ctx, field->name, "a map", obj);
        count = obj->via.map.size;
        if (count > field->max)
            return rl_codec_fail(
                ctx, RL_ERR_TOO_LARGE,
                "field '%s' has %u items, over the limit of %llu", field->name,
                count, (unsigned long long)field->max);
        rl_counter_t *counters =
            s_alloc_items(ctx, count, sizeof(rl_counter_t));
        if (!counters)
            return rl_codec_fail(ctx, RL_ERR_INTERNAL, "out of memory");
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
    case RL_FIELD_PEER_ENTRIES:
    case RL_FIELD_READ_ENTRIES: {
        if ((rc = s_get_array(ctx, field, obj, &count)))
            return rc;
        rl_entry_t *entries = s_alloc_items(ctx, count, sizeof(rl_entry_t));
        if (!entries)
            return rl_codec_fail(ctx, RL_ERR_INTERNAL, "out of memory");
        for (uint32_t i = 0; i < count && rc == 0; i++)
            rc = s_decode_entry(ctx, &obj->via.array.ptr[i],
                                field->kind == RL_FIELD_PEER_ENTRIES, i,
                                &entries[i]);
        *(rl_entry_t **)value = entries;
        *count_out = count;
        return rc;
    }
    case RL_FIELD_CLIENT_ENTRIES: {
        if ((rc = s_get_array(ctx, field, obj, &count)))
            return rc;
        rl_str_t *entries = s_alloc_items(ctx, count, sizeof(rl_str_t));
        if (!entries)
            return rl_codec_fail(ctx, RL_ERR_INTERNAL, "out of memory");
        for (uint32_t i = 0; i < count && rc == 0; i++)
            rc = s_get_bytes(ctx, "entries", &obj->via.array.ptr[i],
                             RL_MAX_ENTRY_SIZE, &entries[i].ptr,
                             &entries[i].size);
        *(rl_str_t **)value = entries;
        *count_out = count;
        return rc;
    }
    }
    return rl_codec_fail(ctx, RL_ERR_INTERNAL, "field kind %u unknown",
                         field->kind);
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
static int s_decode_map(rl_codec_ctx_t *ctx, const msgpack_object *obj,
                        const rl_field_t *fields, void *base, const char *name)
{
    if (obj->type != MSGPACK_OBJECT_MAP)
        return s_wrong_type(ctx, name, "a map", obj);
    uint32_t seen = 0; /* bit i: fields[i] was present */
    for (uint32_t k = 0; k < obj->via.map.size; k++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr[k];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                                 "keys of '%s' must be strings, got %s", name,
                                 s_type_name(&kv->key));
        for (unsigned i = 0; fields[i].name; i++) {
            if (!s_key_is(&kv->key, fields[i].name))
                continue;
            if (seen & (1u << i))
                return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                                     "field '%s' appears twice",
                                     fields[i].name);
            seen |= 1u << i;
            int rc = s_decode_value(ctx, &fields[i], &kv->val, base);
            if (rc)
                return rc;
            break;
        }
    }
    for (unsigned i = 0; fields[i].name; i++)
        if (fields[i].required && !(seen & (1u << i)))
            return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
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
static int s_decode_header(rl_codec_ctx_t *ctx, const msgpack_object *root,
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
        return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                             "a header field appears twice");
    if (!version)
        return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                             "required field 'version' is missing");
    if ((rc = s_get_uint(ctx, "version", version, UINT64_MAX, &number)))
        return rc;
    if (number != RL_PROTOCOL_VERSION)
        return rl_codec_fail(
            ctx, RL_ERR_UNSUPPORTED_VERSION,
            "protocol version %llu is not supported; this node "
            "speaks version %d",
            (unsigned long long)number, RL_PROTOCOL_VERSION);
    if (!type)
        return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                             "required field 'type' is missing");
    if ((rc = s_get_uint(ctx, "type", type, UINT64_MAX, &number)))
        return rc;
    if (!rl_codec_fields((int)(number <= 255 ? number : 0)))
        return rl_codec_fail(
            ctx, RL_ERR_UNKNOWN_TYPE,
            "message type %llu is unknown; see docs/PROTOCOL.md",
            (unsigned long long)number);
    ctx->msg = rl_msg_type_name(msg->type);
    if (rl_msg_is_peer(msg->type)) {
        if (!cluster || !from)
            return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                                 "peer messages need 'cluster' and 'from'");
        if ((rc = s_get_bytes(ctx, "cluster", cluster, RL_MAX_CLUSTER_ID,
                              &msg->cluster.ptr, &msg->cluster.size)))
            return rc;
        if ((rc = s_get_uint(ctx, "from", from, UINT64_MAX, &msg->from)))
            return rc;
        if (msg->from == 0)
            return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                                 "field 'from' must be a node id of 1 or more");
    }
    return 0;
}

/* Fills entries[i].index of an APPEND from prev_index, checking that the
   indexes do not wrap around. */
static int s_number_entries(rl_codec_ctx_t *ctx, rl_append_t *append)
{
    if (append->entry_count > UINT64_MAX - append->prev_index)
        return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                             "prev_index %llu plus %zu entries overflows",
                             (unsigned long long)append->prev_index,
                             append->entry_count);
    for (size_t i = 0; i < append->entry_count; i++)
        append->entries[i].index = append->prev_index + 1 + i;
    return 0;
}

int rl_codec_decode(const void *data, size_t size, rl_msg_t *msg, char *err)
{
    rl_codec_ctx_t ctx = {err, NULL, msg};
    rl_msg_init(msg, 0);
    if (err)
        err[0] = '\0';
    if (size == 0)
        return rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST, "empty message");
    if (size > RL_MAX_MESSAGE_SIZE)
        return rl_codec_fail(&ctx, RL_ERR_TOO_LARGE,
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
                 ? rl_codec_fail(&ctx, RL_ERR_INTERNAL, "out of memory")
                 : rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST,
                                 "not valid msgpack (nested too deeply?)");
    } else if (unpacked.data.type != MSGPACK_OBJECT_MAP) {
        rc = rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST,
                           "a message must be a msgpack map, got %s",
                           s_type_name(&unpacked.data));
    } else {
        rc = s_decode_header(&ctx, &unpacked.data, msg);
        if (rc == 0)
            rc = s_decode_map(&ctx, &unpacked.data, rl_codec_fields(msg->type),
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

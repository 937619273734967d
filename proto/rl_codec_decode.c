/*  rl_codec_decode.c - the decoder: fills an rl_msg_t from one msgpack map,
    by the field tables (rl_codec_fields.c), enforcing every limit of the
    protocol. It reads the bytes in place with rl_msgpack_reader.c and
    builds nothing but the arrays the message returns.

    Two passes over the top-level map:
    1. The framing and the header (s_scan): every value is skipped, which
       checks that the buffer is well-formed msgpack, one map filling it
       exactly, before anything is decoded; the header keys (version, type,
       id, cluster, from, as_key, as_role, group) are noted where they
       are, since keys come in any order. When the framing is broken after the
   id, the error still carries the id (docs/PROTOCOL.md section 3).
    2. The body (s_decode_map): known keys are decoded straight into the
       struct, other keys are skipped again.

    Memory: nothing is allocated per value read or skipped, whatever its
    size, count or depth. The only allocations are the arrays the message
    returns (entries, members, counters), one per array field, each made
    after its count has been checked against the field's limit and against
    the bytes that could hold that many valid items. So a message costs at
    most those arrays: 64 bytes an entry, with an entry taking 3 bytes of
    input at least, and 65,536 entries at most (4 MiB).

    Zero-copy: byte strings point into the input buffer.
*/
#include "rl_msgpack_reader.h"

#include <string.h>

static void *s_at(void *base, size_t offset)
{
    return (char *)base + offset;
}

/* ---- Values ---- */

static int s_wrong_type(rl_mp_reader_t *reader, const char *name,
                        const char *want, const rl_mp_value_t *value)
{
    return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                         "field '%s' must be %s, got %s", name, want,
                         rl_mp_type_name(value->type));
}

/* Why value is not an unsigned integer of at most max. Out of line, so
   that s_get_uint stays small enough to inline on the hot path. */
static int s_not_uint(rl_mp_reader_t *reader, const char *name,
                      const rl_mp_value_t *value, uint64_t max)
{
    if (value->type != RL_MP_UINT)
        return s_wrong_type(reader, name, "an unsigned integer", value);
    return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                         "field '%s' is %llu, over its maximum %llu", name,
                         (unsigned long long)value->uint,
                         (unsigned long long)max);
}

static inline int s_get_uint(rl_mp_reader_t *reader, const char *name,
                             const rl_mp_value_t *value, uint64_t max,
                             uint64_t *out)
{
    if (value->type != RL_MP_UINT || value->uint > max)
        return s_not_uint(reader, name, value, max);
    *out = value->uint;
    return 0;
}

/* Reads the next value, an unsigned integer of at most max. */
static int s_read_uint(rl_mp_reader_t *reader, const char *name, uint64_t max,
                       uint64_t *out)
{
    rl_mp_value_t value;
    int rc = rl_mp_read(reader, &value);
    return rc ? rc : s_get_uint(reader, name, &value, max, out);
}

/* A str or bin value: byte payloads may come as either, since some msgpack
   libraries cannot produce bin. */
static int s_get_bytes(rl_mp_reader_t *reader, const char *name,
                       const rl_mp_value_t *value, uint64_t max,
                       const char **ptr, size_t *size)
{
    if (value->type != RL_MP_STR && value->type != RL_MP_BIN)
        return s_wrong_type(reader, name, "a string or binary", value);
    if (max && value->length > max)
        return rl_codec_fail(reader->ctx, RL_ERR_TOO_LARGE,
                             "field '%s' is %u bytes, over the limit of %llu",
                             name, value->length, (unsigned long long)max);
    *ptr = value->length ? (const char *)value->bytes : NULL;
    *size = value->length;
    return 0;
}

/* ---- Arrays ---- */

/* Checks an array value against a field's limits; returns its items. */
static int s_get_array(rl_mp_reader_t *reader, const rl_field_t *field,
                       const rl_mp_value_t *value, uint32_t *count)
{
    if (value->type != RL_MP_ARRAY)
        return s_wrong_type(reader, field->name, "an array", value);
    *count = value->length;
    if (*count < field->min)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "field '%s' needs at least %llu items, has %u",
                             field->name, (unsigned long long)field->min,
                             *count);
    if (field->max && *count > field->max)
        return rl_codec_fail(reader->ctx, RL_ERR_TOO_LARGE,
                             "field '%s' has %u items, over the limit of %llu",
                             field->name, *count,
                             (unsigned long long)field->max);
    return 0;
}

/* Allocates the zeroed array of count items of a field, owned by the
   message, when the bytes left can hold that many valid items. Otherwise
   returns NULL with *rc 0: an item is bound to be malformed, and the caller
   decodes the items into a scratch one until it finds which, so that the
   error names it. NULL with *rc set: out of memory. */
static void *s_alloc_items(rl_mp_reader_t *reader, const rl_field_t *field,
                           uint32_t count, size_t item_size, int *rc)
{
    *rc = 0;
    if ((uint64_t)count * rl_codec_min_item_size(field->kind) >
        rl_mp_left(reader))
        return NULL;
    void *items =
        rl_msg_alloc(reader->ctx->owner, (size_t)count * item_size + 1);
    if (!items)
        *rc = rl_codec_fail(reader->ctx, RL_ERR_INTERNAL, "out of memory");
    return items;
}

/* After a loop over count items with nowhere to put them: they all
   decoded, so s_min_item_size is wrong. Never happens; refuses rather than
   return an array that is not there. */
static int s_check_stored(rl_mp_reader_t *reader, const rl_field_t *field,
                          uint32_t count, const void *items)
{
    if (items || count == 0)
        return 0;
    return rl_codec_fail(reader->ctx, RL_ERR_INTERNAL,
                         "field '%s': %u items decoded in fewer bytes than "
                         "expected (a bug in the decoder)",
                         field->name, count);
}

static int s_decode_map(rl_mp_reader_t *reader, uint32_t pairs,
                        const rl_field_t *fields, void *base, const char *name);

/* One item of an array of maps (members, member statuses, consumers). */
static int s_decode_item_map(rl_mp_reader_t *reader, const rl_field_t *field,
                             const rl_field_t *fields, void *item)
{
    rl_mp_value_t value;
    int rc = rl_mp_read(reader, &value);
    if (rc)
        return rc;
    if (value.type != RL_MP_MAP)
        return s_wrong_type(reader, field->name, "a map", &value);
    return s_decode_map(reader, value.length, fields, item, field->name);
}

/* One item of an entries array: [term, type, producer, seq, data, time]
   from a peer, where time is optional (a node from before timestamps
   sends five items: time 0), [index, data] in READ_OK. */
static int s_decode_entry(rl_mp_reader_t *reader, bool peer, uint32_t i,
                          rl_entry_t *entry)
{
    rl_mp_value_t value;
    int rc = rl_mp_read(reader, &value);
    if (rc)
        return rc;
    bool fits =
        value.type == RL_MP_ARRAY &&
        (peer ? value.length == 5 || value.length == 6 : value.length == 2);
    if (!fits)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "entry %u must %s", i,
                             peer ? "be an array of 5 or 6 items [term, type, "
                                    "producer, seq, data, time]"
                                  : "be an array of 2 items [index, data]");
    uint32_t items = value.length;
    uint64_t type = 0;
    if (peer) {
        if ((rc = s_read_uint(reader, "entries.term", UINT64_MAX,
                              &entry->term)) ||
            (rc = s_read_uint(reader, "entries.type", RL_ENTRY_CATALOG,
                              &type)) ||
            (rc = s_read_uint(reader, "entries.producer", UINT64_MAX,
                              &entry->producer_id)) ||
            (rc = s_read_uint(reader, "entries.seq", UINT64_MAX, &entry->seq)))
            return rc;
        entry->type = (uint8_t)type;
    } else if ((rc = s_read_uint(reader, "entries.index", UINT64_MAX,
                                 &entry->index))) {
        return rc;
    }
    const char *data;
    if ((rc = rl_mp_read(reader, &value)) ||
        (rc = s_get_bytes(reader, "entries.data", &value, RL_MAX_ENTRY_SIZE,
                          &data, &entry->size)))
        return rc;
    entry->data = (const uint8_t *)data;
    entry->time = 0;
    if (peer && items == 6)
        return s_read_uint(reader, "entries.time", UINT64_MAX, &entry->time);
    return 0;
}

/* The arrays of maps: members, member statuses, consumers and logs. */
static int s_decode_maps(rl_mp_reader_t *reader, const rl_field_t *field,
                         const rl_mp_value_t *value, void **out,
                         size_t *count_out)
{
    uint32_t count = 0;
    size_t size = 0;
    const rl_field_t *fields = rl_codec_item_fields(field->kind, &size);
    int rc = s_get_array(reader, field, value, &count);
    if (rc)
        return rc;
    char *items = s_alloc_items(reader, field, count, size, &rc);
    if (rc)
        return rc;
    union {
        rl_member_status_t status;
        rl_consumer_position_t consumer;
        rl_log_desc_t log;
    } scratch; /* the largest item */
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        void *item = items ? items + i * size : memset(&scratch, 0, size);
        rc = s_decode_item_map(reader, field, fields, item);
    }
    *out = items;
    *count_out = items ? count : 0;
    return rc ? rc : s_check_stored(reader, field, count, items);
}

/* The counters map: name -> value. */
static int s_decode_counters(rl_mp_reader_t *reader, const rl_field_t *field,
                             const rl_mp_value_t *value, rl_counter_t **out,
                             size_t *count_out)
{
    if (value->type != RL_MP_MAP)
        return s_wrong_type(reader, field->name, "a map", value);
    uint32_t count = value->length;
    if (count > field->max)
        return rl_codec_fail(reader->ctx, RL_ERR_TOO_LARGE,
                             "field '%s' has %u items, over the limit of %llu",
                             field->name, count,
                             (unsigned long long)field->max);
    int rc;
    rl_counter_t *counters =
        s_alloc_items(reader, field, count, sizeof(rl_counter_t), &rc);
    rl_counter_t scratch;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        rl_counter_t *counter = counters ? &counters[i] : &scratch;
        rl_mp_value_t key;
        if ((rc = rl_mp_read(reader, &key)))
            break;
        if (key.type != RL_MP_STR)
            return s_wrong_type(reader, "counters key", "a string", &key);
        rc = s_get_bytes(reader, "counters key", &key, 64, &counter->name.ptr,
                         &counter->name.size);
        if (rc == 0)
            rc = s_read_uint(reader, "counters value", UINT64_MAX,
                             &counter->value);
    }
    *out = counters;
    *count_out = counters ? count : 0;
    return rc ? rc : s_check_stored(reader, field, count, counters);
}

/* The entries arrays of APPEND (peer) and READ_OK. */
static int s_decode_entries(rl_mp_reader_t *reader, const rl_field_t *field,
                            const rl_mp_value_t *value, rl_entry_t **out,
                            size_t *count_out)
{
    uint32_t count = 0;
    int rc = s_get_array(reader, field, value, &count);
    if (rc)
        return rc;
    rl_entry_t *entries =
        s_alloc_items(reader, field, count, sizeof(rl_entry_t), &rc);
    if (rc)
        return rc;
    bool peer = field->kind == RL_FIELD_PEER_ENTRIES;
    rl_entry_t scratch;
    for (uint32_t i = 0; i < count && rc == 0; i++)
        rc = s_decode_entry(reader, peer, i, entries ? &entries[i] : &scratch);
    *out = entries;
    *count_out = entries ? count : 0;
    return rc ? rc : s_check_stored(reader, field, count, entries);
}

/* The entries array of APPEND_REQUEST: payloads only. */
static int s_decode_client_entries(rl_mp_reader_t *reader,
                                   const rl_field_t *field,
                                   const rl_mp_value_t *value, rl_str_t **out,
                                   size_t *count_out)
{
    uint32_t count = 0;
    int rc = s_get_array(reader, field, value, &count);
    if (rc)
        return rc;
    rl_str_t *entries =
        s_alloc_items(reader, field, count, sizeof(rl_str_t), &rc);
    if (rc)
        return rc;
    rl_str_t scratch;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        rl_str_t *entry = entries ? &entries[i] : &scratch;
        rl_mp_value_t item;
        rc = rl_mp_read(reader, &item);
        if (rc == 0)
            rc = s_get_bytes(reader, "entries", &item, RL_MAX_ENTRY_SIZE,
                             &entry->ptr, &entry->size);
    }
    *out = entries;
    *count_out = entries ? count : 0;
    return rc ? rc : s_check_stored(reader, field, count, entries);
}

/* An array of unsigned integers (READ_OK's times). */
static int s_decode_u64s(rl_mp_reader_t *reader, const rl_field_t *field,
                         const rl_mp_value_t *value, uint64_t **out,
                         size_t *count_out)
{
    uint32_t count = 0;
    int rc = s_get_array(reader, field, value, &count);
    if (rc)
        return rc;
    uint64_t *items =
        s_alloc_items(reader, field, count, sizeof(uint64_t), &rc);
    if (rc)
        return rc;
    uint64_t scratch;
    for (uint32_t i = 0; i < count && rc == 0; i++)
        rc = s_read_uint(reader, field->name, UINT64_MAX,
                         items ? &items[i] : &scratch);
    *out = items;
    *count_out = items ? count : 0;
    return rc ? rc : s_check_stored(reader, field, count, items);
}

/* A string naming one of count operations (names, in words), into *out. */
static int s_decode_op(rl_mp_reader_t *reader, const rl_field_t *field,
                       const rl_mp_value_t *value, const char *const *names,
                       uint8_t count, const char *words, uint8_t *out)
{
    const char *ptr = NULL;
    size_t size = 0;
    int rc;
    if (value->type != RL_MP_STR)
        return s_wrong_type(reader, field->name, "a string", value);
    if ((rc = s_get_bytes(reader, field->name, value, 16, &ptr, &size)))
        return rc;
    for (uint8_t op = 0; op < count; op++) {
        if (size == strlen(names[op]) && memcmp(ptr, names[op], size) == 0) {
            *out = op;
            return 0;
        }
    }
    return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                         "field '%s' must be %s", field->name, words);
}

/* ---- Fields and maps ---- */

/* Reads the next value into base by the field's kind. */
static int s_decode_value(rl_mp_reader_t *reader, const rl_field_t *field,
                          void *base)
{
    void *out = s_at(base, field->offset);
    size_t *count_out =
        field->count_offset ? s_at(base, field->count_offset) : NULL;
    uint64_t number = 0;
    rl_mp_value_t value;
    int rc = rl_mp_read(reader, &value);
    if (rc)
        return rc;
    switch (field->kind) {
    case RL_FIELD_U64:
        return s_get_uint(reader, field->name, &value, UINT64_MAX, out);
    case RL_FIELD_ID:
        if ((rc = s_get_uint(reader, field->name, &value, UINT64_MAX, out)))
            return rc;
        if (*(uint64_t *)out == 0)
            return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                                 "field '%s' must be a node id of 1 or more",
                                 field->name);
        return 0;
    case RL_FIELD_U32:
        rc = s_get_uint(reader, field->name, &value, UINT32_MAX, &number);
        *(uint32_t *)out = (uint32_t)number;
        return rc;
    case RL_FIELD_U16:
        rc = s_get_uint(reader, field->name, &value, UINT16_MAX, &number);
        *(uint16_t *)out = (uint16_t)number;
        return rc;
    case RL_FIELD_U8:
        rc = s_get_uint(reader, field->name, &value, field->max, &number);
        *(uint8_t *)out = (uint8_t)number;
        return rc;
    case RL_FIELD_I64:
        if (value.type == RL_MP_NEGATIVE) {
            *(int64_t *)out = value.negative;
            return 0;
        }
        if ((rc = s_get_uint(reader, field->name, &value, INT64_MAX, &number)))
            return rc;
        *(int64_t *)out = (int64_t)number;
        return 0;
    case RL_FIELD_BOOL:
        if (value.type != RL_MP_BOOL)
            return s_wrong_type(reader, field->name, "a boolean", &value);
        *(bool *)out = value.boolean;
        return 0;
    case RL_FIELD_STR:
    case RL_FIELD_LOG_NAME: {
        rl_str_t *str = out;
        if ((rc = s_get_bytes(reader, field->name, &value, field->max,
                              &str->ptr, &str->size)))
            return rc;
        if (field->kind == RL_FIELD_LOG_NAME && !rl_log_name_valid(*str))
            return rl_codec_fail(
                reader->ctx, RL_ERR_BAD_REQUEST,
                "field '%s' is not a log name: " RL_CODEC_LOG_NAME_WORDS,
                field->name);
        return 0;
    }
    case RL_FIELD_DATA: {
        const char *ptr;
        if ((rc = s_get_bytes(reader, field->name, &value, field->max, &ptr,
                              count_out)))
            return rc;
        *(const uint8_t **)out = (const uint8_t *)ptr;
        return 0;
    }
    case RL_FIELD_OP:
    case RL_FIELD_CONSUMERS_OP:
    case RL_FIELD_LOGS_OP: {
        uint8_t count = 0;
        const char *words = "";
        const char *const *names =
            rl_codec_op_table(field->kind, &count, &words);
        return s_decode_op(reader, field, &value, names, count, words, out);
    }
    case RL_FIELD_MEMBER:
        if (value.type != RL_MP_MAP)
            return s_wrong_type(reader, field->name, "a map", &value);
        return s_decode_map(reader, value.length, rl_codec_member_fields, out,
                            field->name);
    case RL_FIELD_MEMBERS:
    case RL_FIELD_MEMBER_STATUSES:
    case RL_FIELD_CONSUMERS:
    case RL_FIELD_LOGS:
    case RL_FIELD_LOG_STATUSES:
        return s_decode_maps(reader, field, &value, out, count_out);
    case RL_FIELD_U64S:
        return s_decode_u64s(reader, field, &value, out, count_out);
    case RL_FIELD_COUNTERS:
        return s_decode_counters(reader, field, &value, out, count_out);
    case RL_FIELD_PEER_ENTRIES:
    case RL_FIELD_READ_ENTRIES:
        return s_decode_entries(reader, field, &value, out, count_out);
    case RL_FIELD_CLIENT_ENTRIES:
        return s_decode_client_entries(reader, field, &value, out, count_out);
    }
    return rl_codec_fail(reader->ctx, RL_ERR_INTERNAL, "field kind %u unknown",
                         field->kind);
}

/* True when a str value holds name. */
static bool s_key_is(const rl_mp_value_t *key, const char *name)
{
    size_t length = strlen(name);
    return key->type == RL_MP_STR && key->length == length &&
           memcmp(key->bytes, name, length) == 0;
}

/* Decodes the pairs of a map, whose header has been read, into base by the
   field table. Keys that the table does not name are skipped: later
   versions may add optional fields. (At the top level, the header keys are
   skipped here too; s_decode_header has read them.) */
static int s_decode_map(rl_mp_reader_t *reader, uint32_t pairs,
                        const rl_field_t *fields, void *base, const char *name)
{
    uint32_t seen = 0; /* bit i: fields[i] was present */
    for (uint32_t k = 0; k < pairs; k++) {
        rl_mp_value_t key;
        int rc = rl_mp_read(reader, &key);
        if (rc)
            return rc;
        if (key.type != RL_MP_STR)
            return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                                 "keys of '%s' must be strings, got %s", name,
                                 rl_mp_type_name(key.type));
        unsigned i = 0;
        while (fields[i].name && !s_key_is(&key, fields[i].name))
            i++;
        if (!fields[i].name) {
            rc = rl_mp_skip(reader);
        } else if (seen & (1u << i)) {
            return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                                 "field '%s' appears twice", fields[i].name);
        } else {
            seen |= 1u << i;
            rc = s_decode_value(reader, &fields[i], base);
        }
        if (rc)
            return rc;
    }
    for (unsigned i = 0; fields[i].name; i++)
        if (fields[i].required && !(seen & (1u << i)))
            return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                                 "required field '%s' is missing in %s",
                                 fields[i].name, name);
    return 0;
}

/* ---- The message ---- */

/* The header keys, in the order of s_header_names. */
enum {
    S_VERSION,
    S_TYPE,
    S_ID,
    S_CLUSTER,
    S_FROM,
    S_AS_KEY,
    S_AS_ROLE,
    S_GROUP,
    S_LOG,
    S_HEADER_KEYS
};
static const char *const s_header_names[S_HEADER_KEYS] = {
    "version", "type",    "id",    "cluster", "from",
    "as_key",  "as_role", "group", "log"};

/* Where the first pass found the header's values. */
typedef struct {
    bool found[S_HEADER_KEYS]; /* the key is present */
    size_t at[S_HEADER_KEYS];  /* offset of its (last) value */
    bool duplicate;            /* some header key appears twice */
} s_header_t;

/* Pass 1: walks the whole buffer (see the file's comment), leaving the
   reader after the root map's header in *body and noting the header. */
static int s_scan(rl_mp_reader_t *reader, rl_mp_value_t *root,
                  rl_mp_reader_t *body, s_header_t *header)
{
    int rc = rl_mp_read(reader, root);
    if (rc)
        return rc;
    *body = *reader;
    if (root->type != RL_MP_MAP) {
        rc = rl_mp_skip_items(reader, root);
    } else {
        for (uint32_t k = 0; k < root->length && rc == 0; k++) {
            rl_mp_value_t key;
            if ((rc = rl_mp_read(reader, &key)) ||
                (rc = rl_mp_skip_items(reader, &key)))
                break;
            for (int h = 0; h < S_HEADER_KEYS; h++) {
                if (s_key_is(&key, s_header_names[h])) {
                    header->duplicate |= header->found[h];
                    header->found[h] = true;
                    header->at[h] = reader->pos;
                }
            }
            rc = rl_mp_skip(reader);
        }
    }
    if (rc == 0 && rl_mp_left(reader) > 0)
        rc = rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                           "%zu bytes of trailing data after the message",
                           rl_mp_left(reader));
    if (rc == 0 && root->type != RL_MP_MAP)
        rc = rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                           "a message must be a msgpack map, got %s",
                           rl_mp_type_name(root->type));
    return rc;
}

/* Reads the header value h that s_scan found; false when absent. */
static bool s_header_value(const rl_mp_reader_t *reader,
                           const s_header_t *header, int h,
                           rl_mp_value_t *value)
{
    if (!header->found[h])
        return false;
    rl_mp_reader_t at = *reader;
    at.pos = header->at[h];
    return rl_mp_read(&at, value) == 0;
}

/* Keeps the request id and type of a message whose framing is broken, when
   their values came before the fault and are integers, so that the error
   reply can still be matched to its request. */
static void s_rescue_header(const rl_mp_reader_t *reader,
                            const s_header_t *header, rl_msg_t *msg)
{
    rl_codec_ctx_t quiet = {NULL, NULL, NULL}; /* keep the first error */
    rl_mp_reader_t at = *reader;
    at.ctx = &quiet;
    rl_mp_value_t value;
    if (s_header_value(&at, header, S_ID, &value) && value.type == RL_MP_UINT)
        msg->id = value.uint;
    if (s_header_value(&at, header, S_TYPE, &value) &&
        value.type == RL_MP_UINT && value.uint <= UINT8_MAX)
        msg->type = (uint8_t)value.uint;
}

/* Reads a request's forwarded identity, as_key and as_role: both or
   neither, the key exactly RL_KEY_TEXT bytes (a Z85 public key; whether it
   is one is the node's to check). */
static int s_decode_as(rl_mp_reader_t *reader, const s_header_t *header,
                       rl_msg_t *msg)
{
    rl_mp_value_t key, role;
    bool has_key = s_header_value(reader, header, S_AS_KEY, &key);
    bool has_role = s_header_value(reader, header, S_AS_ROLE, &role);
    if (!has_key && !has_role)
        return 0;
    if (has_key != has_role)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "'as_key' and 'as_role' go together");
    int rc;
    /* Sizes checked here, not by s_get_bytes: a wrong one is a bad
       request, not one too large. Both point into the input. */
    if ((rc = s_get_bytes(reader, "as_key", &key, 0, &msg->as_key.ptr,
                          &msg->as_key.size)) ||
        (rc = s_get_bytes(reader, "as_role", &role, 0, &msg->as_role.ptr,
                          &msg->as_role.size)))
        return rc;
    if (msg->as_key.size != RL_KEY_TEXT || msg->as_role.size == 0 ||
        msg->as_role.size > RL_MAX_ROLE)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "'as_key' must be a public key of %u characters "
                             "(Z85) and 'as_role' a role name of 1 to %u",
                             RL_KEY_TEXT, RL_MAX_ROLE);
    return 0;
}

/* Reads the header into msg. The id first, so that any later error can
   still be answered with it; the version before the type, so that a
   message of a later protocol gets UNSUPPORTED_VERSION even if its type is
   new. */
static int s_decode_header(rl_mp_reader_t *reader, const s_header_t *header,
                           rl_msg_t *msg)
{
    rl_mp_value_t value;
    uint64_t number = 0;
    int rc;
    if (s_header_value(reader, header, S_ID, &value) &&
        (rc = s_get_uint(reader, "id", &value, UINT64_MAX, &msg->id)))
        return rc;
    rl_mp_value_t type;
    bool has_type = s_header_value(reader, header, S_TYPE, &type);
    if (has_type && type.type == RL_MP_UINT && type.uint <= UINT8_MAX)
        msg->type = (uint8_t)type.uint;
    if (header->duplicate)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "a header field appears twice");
    if (!s_header_value(reader, header, S_VERSION, &value))
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "required field 'version' is missing");
    if ((rc = s_get_uint(reader, "version", &value, UINT64_MAX, &number)))
        return rc;
    if (number != RL_PROTOCOL_VERSION)
        return rl_codec_fail(reader->ctx, RL_ERR_UNSUPPORTED_VERSION,
                             "protocol version %llu is not supported; this "
                             "node speaks version %d",
                             (unsigned long long)number, RL_PROTOCOL_VERSION);
    if (!has_type)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "required field 'type' is missing");
    if ((rc = s_get_uint(reader, "type", &type, UINT64_MAX, &number)))
        return rc;
    if (!rl_codec_fields((int)(number <= 255 ? number : 0)))
        return rl_codec_fail(reader->ctx, RL_ERR_UNKNOWN_TYPE,
                             "message type %llu is unknown; see "
                             "docs/PROTOCOL.md",
                             (unsigned long long)number);
    reader->ctx->msg = rl_msg_type_name(msg->type);
    /* A request's (or NOT_LEADER's) log: absent or empty is `default`, as
       before named logs; whether it exists is the node's to say. */
    rl_mp_value_t log;
    if ((rl_msg_is_request(msg->type) || msg->type == RL_MSG_NOT_LEADER) &&
        s_header_value(reader, header, S_LOG, &log) &&
        (rc = s_get_bytes(reader, "log", &log, RL_MAX_LOG_NAME, &msg->log.ptr,
                          &msg->log.size)))
        return rc;
    if (rl_msg_is_request(msg->type))
        return s_decode_as(reader, header, msg);
    if (!rl_msg_is_node(msg->type))
        return 0; /* as_key and as_role on a reply are ignored */
    rl_mp_value_t cluster, from;
    if (!s_header_value(reader, header, S_CLUSTER, &cluster) ||
        !s_header_value(reader, header, S_FROM, &from))
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "peer messages need 'cluster' and 'from'");
    if ((rc = s_get_bytes(reader, "cluster", &cluster, RL_MAX_CLUSTER_ID,
                          &msg->cluster.ptr, &msg->cluster.size)) ||
        (rc = s_get_uint(reader, "from", &from, UINT64_MAX, &msg->from)))
        return rc;
    if (msg->from == 0)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "field 'from' must be a node id of 1 or more");
    /* The group (named log) a peer message is for: absent means 0, the
       default log, so that a node that knows no groups is understood. An
       id the node does not host is the node's to drop. */
    rl_mp_value_t group;
    if (s_header_value(reader, header, S_GROUP, &group) &&
        (rc = s_get_uint(reader, "group", &group, UINT64_MAX, &msg->group)))
        return rc;
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

/* READ_OK's times, when present, are one per entry: copied into the
   entries. */
static int s_attach_times(rl_codec_ctx_t *ctx, rl_read_ok_t *ok)
{
    if (ok->time_count == 0)
        return 0;
    if (ok->time_count != ok->entry_count)
        return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST,
                             "field 'times' has %zu items for %zu entries",
                             ok->time_count, ok->entry_count);
    for (size_t i = 0; i < ok->entry_count; i++)
        ok->entries[i].time = ok->times[i];
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
    /* Refused unread: the limit is what makes reading bounded. */
    if (size > RL_MAX_MESSAGE_SIZE)
        return rl_codec_fail(&ctx, RL_ERR_TOO_LARGE,
                             "%zu bytes, over the limit of %u bytes", size,
                             RL_MAX_MESSAGE_SIZE);
    rl_mp_reader_t reader, body;
    rl_mp_reader_init(&reader, data, size, &ctx);
    rl_mp_value_t root;
    s_header_t header;
    memset(&header, 0, sizeof(header));
    int rc = s_scan(&reader, &root, &body, &header);
    if (rc) {
        s_rescue_header(&reader, &header, msg);
    } else {
        rc = s_decode_header(&body, &header, msg);
        if (rc == 0)
            rc = s_decode_map(&body, root.length, rl_codec_fields(msg->type),
                              &msg->body, "message");
        if (rc == 0 && msg->type == RL_MSG_APPEND)
            rc = s_number_entries(&ctx, &msg->body.append);
        if (rc == 0 && msg->type == RL_MSG_READ_OK)
            rc = s_attach_times(&ctx, &msg->body.read_ok);
    }
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

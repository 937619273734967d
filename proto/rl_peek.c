/*  rl_peek.c - a proxy's reading of requests and replies in place, and
    their bytes written again with new header values; see rl_peek.h.

    Reading is one walk over the top-level map, as the decoder's first pass
    (rl_codec_decode.c, s_scan): every value is skipped, which checks the
    framing, and the keys a proxy needs are noted where they are. Then the
    header is checked in the decoder's order (the id first, so that any
    later error can still be answered with it; the version before the
    type), and then the few fields the caller routes by, with the same
    limits and the same words as the decoder.

    Writing copies the pairs between those to be replaced and appends the
    new ones. msgpack is written by hand here (a map header, an unsigned
    integer, a string: a few lines each): the writers fill a buffer whose
    size was computed first, which msgpack-c's packer (a growing stream
    with a callback) cannot do without a second copy.
*/
#include "rl_peek.h"

#include <string.h>

#include "rl_msgpack_reader.h"

/* The top-level keys a peek notes. The header's first, as the decoder
   lists them. */
enum {
    S_VERSION,
    S_TYPE,
    S_ID,
    S_CLUSTER,
    S_FROM,
    S_AS_KEY,
    S_AS_ROLE,
    S_HEADER_KEYS,
    S_LOG = S_HEADER_KEYS,
    S_PRODUCER,
    S_SEQ,
    S_WAIT,
    S_OP,
    S_CODE,
    S_LEADER,
    S_ENDPOINT,
    S_CONSUMER,
    S_KEYS
};
static const char *const s_names[S_KEYS] = {
    "version", "type",   "id",       "cluster", "from",    "as_key",
    "as_role", "log",    "producer", "seq",     "wait_ms", "op",
    "code",    "leader", "endpoint", "consumer"};
/* Their lengths: a key is compared only with the names of its length
   (no strlen per key and name: the walk runs on every message). */
static const uint8_t s_lengths[S_KEYS] = {7, 4, 2, 7, 4, 6, 7, 3,
                                          8, 3, 7, 2, 4, 6, 8, 8};

/* What the walk found. */
typedef struct {
    rl_peek_span_t at[S_KEYS]; /* each key's (last) pair; end 0: absent */
    size_t value[S_KEYS];      /* offset of that pair's value */
    uint32_t twice;            /* bit k: key k appears more than once */
    uint8_t bad_key;           /* rl_mp_type_t of the first key that is not
                                  a string; RL_MP_STR when none */
    bool has_bad_key;          /* there is one */
    uint32_t pairs;            /* pairs of the map */
    size_t body;               /* offset of the first */
} s_scan_t;

static int s_key_index(const rl_mp_value_t *key)
{
    if (key->length < 2 || key->length > 8)
        return -1;
    for (int k = 0; k < S_KEYS; k++)
        if (key->length == s_lengths[k] && key->bytes[0] == s_names[k][0] &&
            memcmp(key->bytes, s_names[k], key->length) == 0)
            return k;
    return -1;
}

/* Walks the whole buffer, noting the keys of s_names. */
static int s_walk(rl_mp_reader_t *reader, s_scan_t *scan)
{
    rl_mp_value_t root;
    int rc = rl_mp_read(reader, &root);
    if (rc)
        return rc;
    scan->body = reader->pos;
    if (root.type != RL_MP_MAP) {
        rc = rl_mp_skip_items(reader, &root);
    } else {
        scan->pairs = root.length;
        for (uint32_t p = 0; p < root.length && rc == 0; p++) {
            size_t start = reader->pos;
            rl_mp_value_t key;
            if ((rc = rl_mp_read(reader, &key)) ||
                (rc = rl_mp_skip_items(reader, &key)))
                break;
            int k = -1;
            if (key.type != RL_MP_STR) {
                if (!scan->has_bad_key)
                    scan->bad_key = key.type;
                scan->has_bad_key = true;
            } else {
                k = s_key_index(&key);
            }
            size_t value = reader->pos;
            if ((rc = rl_mp_skip(reader)))
                break;
            if (k >= 0) {
                if (scan->at[k].end)
                    scan->twice |= 1u << k;
                scan->at[k] = (rl_peek_span_t){start, reader->pos};
                scan->value[k] = value;
            }
        }
    }
    if (rc == 0 && rl_mp_left(reader) > 0)
        rc = rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                           "%zu bytes of trailing data after the message",
                           rl_mp_left(reader));
    if (rc == 0 && root.type != RL_MP_MAP)
        rc = rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                           "a message must be a msgpack map, got %s",
                           rl_mp_type_name(root.type));
    return rc;
}

/* Reads the value of key k that the walk found; false when absent. */
static bool s_value(const rl_mp_reader_t *reader, const s_scan_t *scan, int k,
                    rl_mp_value_t *value)
{
    if (!scan->at[k].end)
        return false;
    rl_mp_reader_t at = *reader;
    at.pos = scan->value[k];
    return rl_mp_read(&at, value) == 0;
}

static int s_wrong_type(rl_mp_reader_t *reader, int k, const char *want,
                        const rl_mp_value_t *value)
{
    return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                         "field '%s' must be %s, got %s", s_names[k], want,
                         rl_mp_type_name(value->type));
}

/* Key k, when present, as an unsigned integer of at most max. */
static int s_uint(rl_mp_reader_t *reader, const s_scan_t *scan, int k,
                  uint64_t max, uint64_t *out)
{
    rl_mp_value_t value;
    if (!s_value(reader, scan, k, &value))
        return 0;
    if (value.type != RL_MP_UINT)
        return s_wrong_type(reader, k, "an unsigned integer", &value);
    if (value.uint > max)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "field '%s' is %llu, over its maximum %llu",
                             s_names[k], (unsigned long long)value.uint,
                             (unsigned long long)max);
    *out = value.uint;
    return 0;
}

/* Key k, when present, as str or bin of at most max bytes (0: any). */
static int s_bytes(rl_mp_reader_t *reader, const s_scan_t *scan, int k,
                   uint64_t max, rl_str_t *out)
{
    rl_mp_value_t value;
    if (!s_value(reader, scan, k, &value))
        return 0;
    if (value.type != RL_MP_STR && value.type != RL_MP_BIN)
        return s_wrong_type(reader, k, "a string or binary", &value);
    if (max && value.length > max)
        return rl_codec_fail(reader->ctx, RL_ERR_TOO_LARGE,
                             "field '%s' is %u bytes, over the limit of %llu",
                             s_names[k], value.length, (unsigned long long)max);
    out->ptr = value.length ? (const char *)value.bytes : NULL;
    out->size = value.length;
    return 0;
}

/* Refuses a body key that appears twice, as the decoder does for the
   fields of a type. */
static int s_once(rl_mp_reader_t *reader, const s_scan_t *scan, int k)
{
    if (scan->twice & (1u << k))
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "field '%s' appears twice", s_names[k]);
    return 0;
}

/* The header, as rl_codec_decode reads it (s_decode_header there): the
   id, no header key twice, the version, a known type. Then the keys that
   are not strings, which the decoder refuses with the body. */
static int s_header(rl_mp_reader_t *reader, const s_scan_t *scan,
                    uint8_t *type_out, uint64_t *id_out)
{
    int rc;
    uint64_t number = 0;
    if ((rc = s_uint(reader, scan, S_ID, UINT64_MAX, id_out)))
        return rc;
    rl_mp_value_t type;
    bool has_type = s_value(reader, scan, S_TYPE, &type);
    if (has_type && type.type == RL_MP_UINT && type.uint <= UINT8_MAX)
        *type_out = (uint8_t)type.uint;
    if (scan->twice & ((1u << S_HEADER_KEYS) - 1))
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "a header field appears twice");
    if (!scan->at[S_VERSION].end)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "required field 'version' is missing");
    if ((rc = s_uint(reader, scan, S_VERSION, UINT64_MAX, &number)))
        return rc;
    if (number != RL_PROTOCOL_VERSION)
        return rl_codec_fail(reader->ctx, RL_ERR_UNSUPPORTED_VERSION,
                             "protocol version %llu is not supported; this "
                             "node speaks version %d",
                             (unsigned long long)number, RL_PROTOCOL_VERSION);
    if (!has_type)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "required field 'type' is missing");
    if ((rc = s_uint(reader, scan, S_TYPE, UINT64_MAX, &number)))
        return rc;
    if (number > UINT8_MAX || !rl_codec_fields((int)number))
        return rl_codec_fail(reader->ctx, RL_ERR_UNKNOWN_TYPE,
                             "message type %llu is unknown; see "
                             "docs/PROTOCOL.md",
                             (unsigned long long)number);
    reader->ctx->msg = rl_msg_type_name(*type_out);
    if (scan->has_bad_key)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "keys of 'message' must be strings, got %s",
                             rl_mp_type_name(scan->bad_key));
    return 0;
}

/* Starts a peek: the size limit, the walk and the header. On an error
   of the framing, the id and type read before the fault are kept. */
static int s_begin(const void *data, size_t size, rl_codec_ctx_t *ctx,
                   rl_mp_reader_t *reader, s_scan_t *scan, uint8_t *type,
                   uint64_t *id)
{
    memset(scan, 0, sizeof(*scan));
    if (size == 0)
        return rl_codec_fail(ctx, RL_ERR_BAD_REQUEST, "empty message");
    if (size > RL_MAX_MESSAGE_SIZE)
        return rl_codec_fail(ctx, RL_ERR_TOO_LARGE,
                             "%zu bytes, over the limit of %u bytes", size,
                             RL_MAX_MESSAGE_SIZE);
    rl_mp_reader_init(reader, data, size, ctx);
    int rc = s_walk(reader, scan);
    if (rc) {
        /* As the decoder's rescue: integers read before the fault. */
        rl_codec_ctx_t quiet = {NULL, NULL, NULL};
        rl_mp_reader_t at = *reader;
        at.ctx = &quiet;
        rl_mp_value_t value;
        if (s_value(&at, scan, S_ID, &value) && value.type == RL_MP_UINT)
            *id = value.uint;
        if (s_value(&at, scan, S_TYPE, &value) && value.type == RL_MP_UINT &&
            value.uint <= UINT8_MAX)
            *type = (uint8_t)value.uint;
        return rc;
    }
    return s_header(reader, scan, type, id);
}

/* as_key and as_role, as the decoder's s_decode_as: both or neither, the
   key exactly RL_KEY_TEXT bytes, the role 1 to RL_MAX_ROLE. */
static int s_as(rl_mp_reader_t *reader, const s_scan_t *scan,
                rl_peek_request_t *peek)
{
    bool has_key = scan->at[S_AS_KEY].end, has_role = scan->at[S_AS_ROLE].end;
    if (!has_key && !has_role)
        return 0;
    if (has_key != has_role)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "'as_key' and 'as_role' go together");
    int rc;
    if ((rc = s_bytes(reader, scan, S_AS_KEY, 0, &peek->as_key)) ||
        (rc = s_bytes(reader, scan, S_AS_ROLE, 0, &peek->as_role)))
        return rc;
    if (peek->as_key.size != RL_KEY_TEXT || peek->as_role.size == 0 ||
        peek->as_role.size > RL_MAX_ROLE)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "'as_key' must be a public key of %u characters "
                             "(Z85) and 'as_role' a role name of 1 to %u",
                             RL_KEY_TEXT, RL_MAX_ROLE);
    return 0;
}

/* MEMBERS_REQUEST's or CONSUMERS_REQUEST's op: required, one of the
   count names the codec knows (listed in words for the error). */
static int s_op(rl_mp_reader_t *reader, const s_scan_t *scan,
                const char *const *names, uint8_t count, const char *words,
                uint8_t *op)
{
    rl_mp_value_t value;
    if (!s_value(reader, scan, S_OP, &value))
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "required field 'op' is missing in message");
    if (value.type != RL_MP_STR)
        return s_wrong_type(reader, S_OP, "a string", &value);
    for (uint8_t o = 0; o < count; o++) {
        size_t length = strlen(names[o]);
        if (value.length == length &&
            memcmp(value.bytes, names[o], length) == 0) {
            *op = o;
            return 0;
        }
    }
    return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                         "field 'op' must be %s", words);
}

int rl_peek_request(const void *data, size_t size, rl_peek_request_t *peek,
                    char *err)
{
    memset(peek, 0, sizeof(*peek));
    if (err)
        err[0] = '\0';
    rl_codec_ctx_t ctx = {err, NULL, NULL};
    rl_mp_reader_t reader;
    s_scan_t scan;
    int rc = s_begin(data, size, &ctx, &reader, &scan, &peek->type, &peek->id);
    if (rc)
        return rc;
    peek->pairs = scan.pairs;
    peek->body = scan.body;
    if (!rl_msg_is_request(peek->type))
        return rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST,
                             "not a client request; see docs/PROTOCOL.md");
    peek->id_at = scan.at[S_ID];
    peek->as_key_at = scan.at[S_AS_KEY];
    peek->as_role_at = scan.at[S_AS_ROLE];
    if ((rc = s_as(&reader, &scan, peek)) ||
        (rc = s_once(&reader, &scan, S_LOG)) ||
        (rc = s_bytes(&reader, &scan, S_LOG, RL_MAX_LOG_NAME, &peek->log)))
        return rc;
    uint64_t number = 0;
    switch (peek->type) {
    case RL_MSG_APPEND_REQUEST:
        if ((rc = s_once(&reader, &scan, S_PRODUCER)) ||
            (rc = s_once(&reader, &scan, S_SEQ)) ||
            (rc = s_uint(&reader, &scan, S_PRODUCER, UINT64_MAX,
                         &peek->producer)) ||
            (rc = s_uint(&reader, &scan, S_SEQ, UINT64_MAX, &peek->seq)))
            return rc;
        break;
    case RL_MSG_READ_REQUEST:
        if ((rc = s_once(&reader, &scan, S_WAIT)) ||
            (rc = s_uint(&reader, &scan, S_WAIT, UINT32_MAX, &number)))
            return rc;
        peek->wait_ms = (uint32_t)number;
        peek->wait_at = scan.at[S_WAIT];
        /* Its consumer, if any: such a READ goes to the leader. The name's
           characters are the node's to check, as the decoder leaves them. */
        if ((rc = s_once(&reader, &scan, S_CONSUMER)) ||
            (rc = s_bytes(&reader, &scan, S_CONSUMER, RL_MAX_CONSUMER_NAME,
                          &peek->consumer)))
            return rc;
        break;
    case RL_MSG_MEMBERS_REQUEST:
        if ((rc = s_once(&reader, &scan, S_OP)) ||
            (rc = s_op(&reader, &scan, rl_codec_op_names, RL_MEMBERS_REMOVE + 1,
                       RL_CODEC_OP_WORDS, &peek->op)))
            return rc;
        break;
    case RL_MSG_CONSUMERS_REQUEST:
        if ((rc = s_once(&reader, &scan, S_OP)) ||
            (rc = s_op(&reader, &scan, rl_codec_consumers_op_names,
                       RL_CONSUMERS_DELETE + 1, RL_CODEC_CONSUMERS_OP_WORDS,
                       &peek->op)))
            return rc;
        break;
    default:
        break;
    }
    return 0;
}

int rl_peek_reply(const void *data, size_t size, rl_peek_reply_t *peek,
                  char *err)
{
    memset(peek, 0, sizeof(*peek));
    if (err)
        err[0] = '\0';
    rl_codec_ctx_t ctx = {err, NULL, NULL};
    rl_mp_reader_t reader;
    s_scan_t scan;
    int rc = s_begin(data, size, &ctx, &reader, &scan, &peek->type, &peek->id);
    if (rc)
        return rc;
    peek->pairs = scan.pairs;
    peek->body = scan.body;
    peek->id_at = scan.at[S_ID];
    if (peek->type < RL_MSG_APPEND_OK)
        return rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST, "not a reply");
    uint64_t number = 0;
    if (peek->type == RL_MSG_ERROR) {
        if (!scan.at[S_CODE].end)
            return rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST,
                                 "required field 'code' is missing in "
                                 "message");
        if ((rc = s_once(&reader, &scan, S_CODE)) ||
            (rc = s_uint(&reader, &scan, S_CODE, UINT16_MAX, &number)))
            return rc;
        peek->code = (uint16_t)number;
    } else if (peek->type == RL_MSG_NOT_LEADER) {
        if (!scan.at[S_LEADER].end)
            return rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST,
                                 "required field 'leader' is missing in "
                                 "message");
        if ((rc = s_once(&reader, &scan, S_LEADER)) ||
            (rc = s_once(&reader, &scan, S_ENDPOINT)) ||
            (rc = s_once(&reader, &scan, S_LOG)) ||
            (rc =
                 s_uint(&reader, &scan, S_LEADER, UINT64_MAX, &peek->leader)) ||
            (rc = s_bytes(&reader, &scan, S_ENDPOINT, RL_MAX_ENDPOINT,
                          &peek->endpoint)) ||
            (rc = s_bytes(&reader, &scan, S_LOG, RL_MAX_LOG_NAME, &peek->log)))
            return rc;
    }
    return 0;
}

/* ---- Writing ---- */

/* One pair to append: a key and an unsigned or a string value. */
typedef struct {
    const char *key; /* its name (short: a fixstr) */
    uint8_t length;  /* its length */
    bool is_str;     /* the value is str, else uint */
    uint64_t uint;   /* the uint */
    rl_str_t str;    /* the str */
} s_pair_t;

static size_t s_map_size(uint64_t pairs)
{
    return pairs <= 15 ? 1 : pairs <= UINT16_MAX ? 3 : 5;
}

static size_t s_uint_size(uint64_t v)
{
    return v <= 127          ? 1
           : v <= UINT8_MAX  ? 2
           : v <= UINT16_MAX ? 3
           : v <= UINT32_MAX ? 5
                             : 9;
}

static size_t s_str_size(size_t length)
{
    return length + (length <= 31           ? 1
                     : length <= UINT8_MAX  ? 2
                     : length <= UINT16_MAX ? 3
                                            : 5);
}

static size_t s_pair_size(const s_pair_t *p)
{
    return s_str_size(p->length) +
           (p->is_str ? s_str_size(p->str.size) : s_uint_size(p->uint));
}

/* Writes v's n low bytes big-endian at out. */
static uint8_t *s_be(uint8_t *out, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        *out++ = (uint8_t)(v >> (8 * i));
    return out;
}

static uint8_t *s_put_map(uint8_t *out, uint64_t pairs)
{
    if (pairs <= 15) {
        *out++ = (uint8_t)(0x80 | pairs);
        return out;
    }
    *out++ = pairs <= UINT16_MAX ? 0xde : 0xdf;
    return s_be(out, pairs, pairs <= UINT16_MAX ? 2 : 4);
}

static uint8_t *s_put_uint(uint8_t *out, uint64_t v)
{
    if (v <= 127) {
        *out++ = (uint8_t)v;
        return out;
    }
    int n = v <= UINT8_MAX ? 1 : v <= UINT16_MAX ? 2 : v <= UINT32_MAX ? 4 : 8;
    *out++ = n == 1 ? 0xcc : n == 2 ? 0xcd : n == 4 ? 0xce : 0xcf;
    return s_be(out, v, n);
}

static uint8_t *s_put_str(uint8_t *out, const char *ptr, size_t length)
{
    if (length <= 31) {
        *out++ = (uint8_t)(0xa0 | length);
    } else {
        int n = length <= UINT8_MAX ? 1 : length <= UINT16_MAX ? 2 : 4;
        *out++ = n == 1 ? 0xd9 : n == 2 ? 0xda : 0xdb;
        out = s_be(out, length, n);
    }
    if (length)
        memcpy(out, ptr, length);
    return out + length;
}

/* The spans to leave out, ascending, and how many there are. */
static size_t s_sorted(const rl_peek_span_t *spans, size_t count,
                       rl_peek_span_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (!spans[i].end)
            continue;
        size_t j = n++;
        while (j > 0 && out[j - 1].start > spans[i].start) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = spans[i];
    }
    return n;
}

/* The size of a map of pairs - drops + adds pairs written by s_rewrite. */
static size_t s_rewrite_size(uint32_t pairs, size_t body, size_t size,
                             const rl_peek_span_t *drop, size_t drops,
                             const s_pair_t *add, size_t adds)
{
    size_t total = size - body;
    for (size_t i = 0; i < drops; i++)
        total -= drop[i].end - drop[i].start;
    for (size_t i = 0; i < adds; i++)
        total += s_pair_size(&add[i]);
    return total + s_map_size((uint64_t)pairs - drops + adds);
}

/* A new map header, the original pairs but the dropped ones, then the
   added pairs. Returns the bytes written. */
static size_t s_rewrite(const uint8_t *data, uint32_t pairs, size_t body,
                        size_t size, const rl_peek_span_t *drop, size_t drops,
                        const s_pair_t *add, size_t adds, uint8_t *out)
{
    uint8_t *at = s_put_map(out, (uint64_t)pairs - drops + adds);
    size_t from = body;
    for (size_t i = 0; i < drops; i++) {
        memcpy(at, data + from, drop[i].start - from);
        at += drop[i].start - from;
        from = drop[i].end;
    }
    memcpy(at, data + from, size - from);
    at += size - from;
    for (size_t i = 0; i < adds; i++) {
        at = s_put_str(at, add[i].key, add[i].length);
        at = add[i].is_str ? s_put_str(at, add[i].str.ptr, add[i].str.size)
                           : s_put_uint(at, add[i].uint);
    }
    return (size_t)(at - out);
}

/* What rl_peek_forward leaves out and adds. */
static void s_forward_plan(const rl_peek_request_t *peek,
                           const rl_peek_forward_t *how, rl_peek_span_t *drop,
                           size_t *drops, s_pair_t *add, size_t *adds)
{
    rl_peek_span_t spans[4] = {peek->id_at, peek->as_key_at, peek->as_role_at,
                               how->set_wait ? peek->wait_at
                                             : (rl_peek_span_t){0, 0}};
    *drops = s_sorted(spans, 4, drop);
    size_t n = 0;
    add[n++] = (s_pair_t){"id", 2, false, how->id, {NULL, 0}};
    if (how->set_wait && how->wait_ms)
        add[n++] = (s_pair_t){"wait_ms", 7, false, how->wait_ms, {NULL, 0}};
    if (how->as_key.size) {
        add[n++] = (s_pair_t){"as_key", 6, true, 0, how->as_key};
        add[n++] = (s_pair_t){"as_role", 7, true, 0, how->as_role};
    }
    *adds = n;
}

size_t rl_peek_forward_size(const rl_peek_request_t *peek, size_t size,
                            const rl_peek_forward_t *how)
{
    rl_peek_span_t drop[4];
    s_pair_t add[4];
    size_t drops, adds;
    s_forward_plan(peek, how, drop, &drops, add, &adds);
    return s_rewrite_size(peek->pairs, peek->body, size, drop, drops, add,
                          adds);
}

size_t rl_peek_forward(const void *data, size_t size,
                       const rl_peek_request_t *peek,
                       const rl_peek_forward_t *how, uint8_t *out)
{
    rl_peek_span_t drop[4];
    s_pair_t add[4];
    size_t drops, adds;
    s_forward_plan(peek, how, drop, &drops, add, &adds);
    return s_rewrite(data, peek->pairs, peek->body, size, drop, drops, add,
                     adds, out);
}

size_t rl_peek_reply_size(const rl_peek_reply_t *peek, size_t size, uint64_t id)
{
    s_pair_t add = {"id", 2, false, id, {NULL, 0}};
    return s_rewrite_size(peek->pairs, peek->body, size, &peek->id_at,
                          peek->id_at.end ? 1 : 0, &add, id ? 1 : 0);
}

size_t rl_peek_reply_write(const void *data, size_t size,
                           const rl_peek_reply_t *peek, uint64_t id,
                           uint8_t *out)
{
    s_pair_t add = {"id", 2, false, id, {NULL, 0}};
    return s_rewrite(data, peek->pairs, peek->body, size, &peek->id_at,
                     peek->id_at.end ? 1 : 0, &add, id ? 1 : 0, out);
}

/* ---- STATUS_OK's logs ---- */

/* One map of `logs`, header read: name and role required. */
static int s_status_log(rl_mp_reader_t *reader, uint32_t pairs,
                        rl_peek_log_t *log)
{
    bool named = false, roled = false;
    memset(log, 0, sizeof(*log));
    for (uint32_t p = 0; p < pairs; p++) {
        rl_mp_value_t key, value;
        int rc;
        if ((rc = rl_mp_read(reader, &key)) ||
            (rc = rl_mp_skip_items(reader, &key)))
            return rc;
        bool is = key.type == RL_MP_STR;
        rl_str_t *text = NULL;
        uint64_t *number = NULL;
        size_t max = 0;
        if (is && key.length == 4 && memcmp(key.bytes, "name", 4) == 0) {
            text = &log->name;
            max = RL_MAX_LOG_NAME;
            named = true;
        } else if (is && key.length == 4 && memcmp(key.bytes, "role", 4) == 0) {
            text = &log->role;
            max = 32;
            roled = true;
        } else if (is && key.length == 6 &&
                   memcmp(key.bytes, "leader", 6) == 0) {
            number = &log->leader;
        } else if (is && key.length == 4 && memcmp(key.bytes, "term", 4) == 0) {
            number = &log->term;
        }
        if (!text && !number) {
            if ((rc = rl_mp_skip(reader)))
                return rc;
            continue;
        }
        if ((rc = rl_mp_read(reader, &value)))
            return rc;
        if (number) {
            if (value.type != RL_MP_UINT)
                return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                                     "a log's leader and term must be "
                                     "unsigned integers, got %s",
                                     rl_mp_type_name(value.type));
            *number = value.uint;
        } else {
            if (value.type != RL_MP_STR && value.type != RL_MP_BIN)
                return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                                     "a log's name and role must be strings, "
                                     "got %s",
                                     rl_mp_type_name(value.type));
            if (value.length > max)
                return rl_codec_fail(reader->ctx, RL_ERR_TOO_LARGE,
                                     "a log's name or role is %u bytes, over "
                                     "the limit of %zu",
                                     value.length, max);
            text->ptr = value.length ? (const char *)value.bytes : NULL;
            text->size = value.length;
        }
    }
    if (!named || !roled)
        return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                             "a log of 'logs' needs 'name' and 'role'");
    return 0;
}

int rl_peek_status_logs(const void *data, size_t size, rl_peek_log_fn *fn,
                        void *arg, bool *found, char *err)
{
    *found = false;
    if (err)
        err[0] = '\0';
    rl_codec_ctx_t ctx = {err, "STATUS_OK", NULL};
    rl_mp_reader_t reader;
    rl_mp_reader_init(&reader, data, size, &ctx);
    rl_mp_value_t root;
    int rc = rl_mp_read(&reader, &root);
    if (rc)
        return rc;
    if (root.type != RL_MP_MAP)
        return rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST, "not a map");
    for (uint32_t p = 0; p < root.length; p++) {
        rl_mp_value_t key, value;
        if ((rc = rl_mp_read(&reader, &key)) ||
            (rc = rl_mp_skip_items(&reader, &key)))
            return rc;
        if (key.type != RL_MP_STR || key.length != 4 ||
            memcmp(key.bytes, "logs", 4) != 0) {
            if ((rc = rl_mp_skip(&reader)))
                return rc;
            continue;
        }
        *found = true;
        if ((rc = rl_mp_read(&reader, &value)))
            return rc;
        if (value.type != RL_MP_ARRAY)
            return rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST,
                                 "field 'logs' must be an array, got %s",
                                 rl_mp_type_name(value.type));
        for (uint32_t i = 0; i < value.length; i++) {
            rl_mp_value_t item;
            if ((rc = rl_mp_read(&reader, &item)))
                return rc;
            if (item.type != RL_MP_MAP)
                return rl_codec_fail(&ctx, RL_ERR_BAD_REQUEST,
                                     "the logs of 'logs' must be maps, got %s",
                                     rl_mp_type_name(item.type));
            rl_peek_log_t log;
            if ((rc = s_status_log(&reader, item.length, &log)))
                return rc;
            fn(arg, &log);
        }
        return 0; /* a second `logs` key is not read */
    }
    return 0;
}

/*  rl_msgpack_reader.c - the in-place msgpack reader of
    rl_msgpack_reader.h: one function that knows the format's type bytes
    (rl_mp_read), and skipping built on it.

    The format, for the reader: a first byte gives the type and either the
    value itself (fixint, nil, booleans), the length (fixstr, fixarray,
    fixmap), or the size of a big-endian length or value that follows.
*/
#include "rl_msgpack_reader.h"

#include <endian.h>
#include <string.h>

void rl_mp_reader_init(rl_mp_reader_t *reader, const void *data, size_t size,
                       rl_codec_ctx_t *ctx)
{
    reader->data = data;
    reader->size = size;
    reader->pos = 0;
    reader->ctx = ctx;
}

/* The big-endian unsigned number of n bytes (1, 2, 4 or 8) at p. */
static uint64_t s_big_endian(const uint8_t *p, unsigned n)
{
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (n) {
    case 1:
        return p[0];
    case 2:
        memcpy(&u16, p, 2);
        return be16toh(u16);
    case 4:
        memcpy(&u32, p, 4);
        return be32toh(u32);
    default:
        memcpy(&u64, p, 8);
        return be64toh(u64);
    }
}

/* The errors, out of line and cold: reading stays a tight loop. */
#define S_COLD __attribute__((noinline, cold))

S_COLD static int s_ends(rl_mp_reader_t *reader)
{
    return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                         "truncated: the data ends at byte %zu inside an "
                         "object",
                         reader->size);
}

S_COLD static int s_cut_length(rl_mp_reader_t *reader, size_t at)
{
    return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                         "truncated: a length at byte %zu is cut off", at);
}

S_COLD static int s_cut_value(rl_mp_reader_t *reader, size_t at,
                              uint64_t payload, size_t left)
{
    return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                         "truncated: the value at byte %zu needs %llu bytes, "
                         "%zu are left",
                         at, (unsigned long long)payload, left);
}

S_COLD static int s_too_many_items(rl_mp_reader_t *reader, size_t at,
                                   uint64_t items, size_t left)
{
    return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                         "the array or map at byte %zu declares %llu items "
                         "but only %zu bytes follow",
                         at, (unsigned long long)items, left);
}

S_COLD static int s_not_msgpack(rl_mp_reader_t *reader, uint8_t b, size_t at)
{
    return rl_codec_fail(reader->ctx, RL_ERR_BAD_REQUEST,
                         "byte 0x%02x at offset %zu is not msgpack", b, at);
}

/* One function with a label per family, rather than helpers, so that the
   compiler keeps it a single tight block: the decoder calls it for every
   value that is not a positive fixint. The cursor moves only on success. */
int rl_mp_read_any(rl_mp_reader_t *reader, rl_mp_value_t *value)
{
    const uint8_t *data = reader->data;
    size_t size = reader->size;
    size_t at = reader->pos;
    if (at >= size)
        return s_ends(reader);
    uint8_t b = data[at];
    size_t pos = at + 1;   /* after the type byte */
    unsigned length_bytes; /* of a big-endian length or integer */
    uint64_t length;       /* of a str, bin, ext payload; items */
    uint8_t type;          /* of a str, bin, array or map */
    if (b <= 0x7f) {
        value->type = RL_MP_UINT;
        value->uint = b;
        reader->pos = pos;
        return 0;
    }
    if (b >= 0xe0) {
        value->type = RL_MP_NEGATIVE;
        value->negative = (int64_t)b - 256;
        reader->pos = pos;
        return 0;
    }
    if (b <= 0x9f) {
        type = b <= 0x8f ? RL_MP_MAP : RL_MP_ARRAY;
        length = b & 0x0f;
        goto container;
    }
    if (b <= 0xbf) {
        type = RL_MP_STR;
        length = b & 0x1f;
        goto bytes;
    }
    switch (b) {
    case 0xc0:
        value->type = RL_MP_NIL;
        reader->pos = pos;
        return 0;
    case 0xc2:
    case 0xc3:
        value->type = RL_MP_BOOL;
        value->boolean = b == 0xc3;
        reader->pos = pos;
        return 0;
    case 0xc4: /* bin 8 (the encoder's choice for most payloads), 16, 32 */
        type = RL_MP_BIN;
        if (pos >= size)
            return s_cut_length(reader, at);
        length = data[pos++];
        goto bytes;
    case 0xc5:
    case 0xc6:
        type = RL_MP_BIN;
        length_bytes = 1u << (b - 0xc4);
        goto sized_bytes;
    case 0xd9: /* str 8, 16, 32 */
    case 0xda:
    case 0xdb:
        type = RL_MP_STR;
        length_bytes = 1u << (b - 0xd9);
        goto sized_bytes;
    case 0xc7: /* ext 8, 16, 32: a length, a type byte, the data */
    case 0xc8:
    case 0xc9:
        length_bytes = 1u << (b - 0xc7);
        if (length_bytes > size - pos)
            return s_cut_length(reader, at);
        length = s_big_endian(data + pos, length_bytes) + 1;
        pos += length_bytes;
        if (length > size - pos)
            return s_cut_value(reader, at, length, size - pos);
        value->type = RL_MP_EXT;
        reader->pos = pos + length;
        return 0;
    case 0xca: /* float 32, 64 */
    case 0xcb:
        length = b == 0xca ? 4 : 8;
        if (length > size - pos)
            return s_cut_value(reader, at, length, size - pos);
        value->type = RL_MP_FLOAT;
        reader->pos = pos + length;
        return 0;
    case 0xcc: /* uint 8, 16, 32, 64 */
    case 0xcd:
    case 0xce:
    case 0xcf:
        length_bytes = 1u << (b - 0xcc);
        if (length_bytes > size - pos)
            return s_cut_value(reader, at, length_bytes, size - pos);
        value->type = RL_MP_UINT;
        value->uint = s_big_endian(data + pos, length_bytes);
        reader->pos = pos + length_bytes;
        return 0;
    case 0xd0: /* int 8, 16, 32, 64 */
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        length_bytes = 1u << (b - 0xd0);
        if (length_bytes > size - pos)
            return s_cut_value(reader, at, length_bytes, size - pos);
        uint64_t bits = s_big_endian(data + pos, length_bytes);
        if (data[pos] & 0x80) {
            /* Negative: sign-extend, then convert without relying on the
               implementation-defined conversion of large unsigned values. */
            if (length_bytes < 8)
                bits |= UINT64_MAX << (8 * length_bytes);
            value->type = RL_MP_NEGATIVE;
            value->negative = -(int64_t)(~bits) - 1;
        } else {
            /* msgpack-c reads a signed encoding of a value >= 0 as a
               positive integer, and so do we: senders may use either. */
            value->type = RL_MP_UINT;
            value->uint = bits;
        }
        reader->pos = pos + length_bytes;
        return 0;
    }
    case 0xd4: /* fixext 1, 2, 4, 8, 16: a type byte, the data */
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        length = 1 + (1u << (b - 0xd4));
        if (length > size - pos)
            return s_cut_value(reader, at, length, size - pos);
        value->type = RL_MP_EXT;
        reader->pos = pos + length;
        return 0;
    case 0xdc: /* array 16, 32 */
    case 0xdd:
    case 0xde: /* map 16, 32 */
    case 0xdf:
        type = b <= 0xdd ? RL_MP_ARRAY : RL_MP_MAP;
        length_bytes = b == 0xdc || b == 0xde ? 2 : 4;
        if (length_bytes > size - pos)
            return s_cut_length(reader, at);
        length = s_big_endian(data + pos, length_bytes);
        pos += length_bytes;
        goto container;
    default: /* 0xc1, never used */
        return s_not_msgpack(reader, b, at);
    }

sized_bytes:
    if (length_bytes > size - pos)
        return s_cut_length(reader, at);
    length = s_big_endian(data + pos, length_bytes);
    pos += length_bytes;
bytes:
    if (length > size - pos)
        return s_cut_value(reader, at, length, size - pos);
    value->type = type;
    value->bytes = data + pos;
    value->length = (uint32_t)length;
    reader->pos = pos + length;
    return 0;

container : {
    /* Each item takes a byte at least: more items than bytes left is a
       lie, refused before anyone allocates for it. */
    uint64_t items = type == RL_MP_MAP ? 2 * length : length;
    if (items > size - pos)
        return s_too_many_items(reader, at, items, size - pos);
    value->type = type;
    value->length = (uint32_t)length;
    reader->pos = pos;
    return 0;
}
}

/* Bytes taken by the values of fixed size whose type byte is 0xc0 + i,
   type byte included; 0 for the others (variable, or 0xc1). */
static const uint8_t s_fixed_size[32] = {
    [0x00] = 1, [0x02] = 1, [0x03] = 1,                          /* nil, bool */
    [0x0a] = 5, [0x0b] = 9,                                      /* float */
    [0x0c] = 2, [0x0d] = 3, [0x0e] = 5, [0x0f] = 9,              /* uint */
    [0x10] = 2, [0x11] = 3, [0x12] = 5, [0x13] = 9,              /* int */
    [0x14] = 3, [0x15] = 4, [0x16] = 6, [0x17] = 10, [0x18] = 18 /* fixext */
};

/* Skips pending values from the cursor. The count of values still to
   read replaces a stack, so nesting costs nothing; whenever it grows it is
   checked against the bytes left, so it stays below the buffer's size and
   cannot overflow.

   The common values (fixints, fixstrs, 8-bit lengths, fixed sizes) are
   stepped over here without filling a value; the rest go through
   rl_mp_read_any, the one place that knows the whole format. Skipping
   runs over every byte structure of a message once (the decoder's first
   pass), so it is on the hot path of every APPEND. */
static int s_skip_values(rl_mp_reader_t *reader, uint64_t pending)
{
    const uint8_t *data = reader->data;
    size_t size = reader->size;
    size_t pos = reader->pos;
    while (pending > 0) {
        size_t take = 0; /* bytes of a scalar, str or bin; 0: slow path */
        if (pos < size) {
            uint8_t b = data[pos];
            if (b <= 0x7f || b >= 0xe0)
                take = 1;
            else if ((b & 0xe0) == 0xa0)
                take = 1 + (size_t)(b & 0x1f);
            else if (b >= 0xc0 && s_fixed_size[b - 0xc0])
                take = s_fixed_size[b - 0xc0];
            else if ((b == 0xc4 || b == 0xd9) && size - pos >= 2)
                take = 2 + (size_t)data[pos + 1];
            else if (b <= 0x9f) { /* fixmap, fixarray: items follow */
                uint64_t items = b <= 0x8f ? 2u * (b & 0x0f) : b & 0x0f;
                if (pending - 1 + items <= size - pos - 1) {
                    pos++;
                    pending += items - 1;
                    continue;
                }
            }
        }
        if (take && take <= size - pos) {
            pos += take;
            pending--;
            continue;
        }
        rl_mp_value_t value;
        size_t at = pos;
        reader->pos = pos;
        int rc = rl_mp_read_any(reader, &value);
        if (rc)
            return rc;
        pos = reader->pos;
        pending--;
        if (value.type != RL_MP_ARRAY && value.type != RL_MP_MAP)
            continue;
        uint64_t items =
            value.type == RL_MP_MAP ? 2 * (uint64_t)value.length : value.length;
        pending += items;
        /* This container fits (rl_mp_read_any checked), but perhaps not
           together with the items its enclosing ones still owe. */
        if (pending > size - pos)
            return s_too_many_items(reader, at, items, size - pos);
    }
    reader->pos = pos;
    return 0;
}

int rl_mp_skip(rl_mp_reader_t *reader)
{
    return s_skip_values(reader, 1);
}

int rl_mp_skip_items(rl_mp_reader_t *reader, const rl_mp_value_t *value)
{
    if (value->type == RL_MP_ARRAY)
        return s_skip_values(reader, value->length);
    if (value->type == RL_MP_MAP)
        return s_skip_values(reader, 2 * (uint64_t)value->length);
    return 0;
}

const char *rl_mp_type_name(uint8_t type)
{
    switch (type) {
    case RL_MP_NIL:
        return "nil";
    case RL_MP_BOOL:
        return "boolean";
    case RL_MP_UINT:
        return "unsigned integer";
    case RL_MP_NEGATIVE:
        return "negative integer";
    case RL_MP_FLOAT:
        return "float";
    case RL_MP_STR:
        return "string";
    case RL_MP_BIN:
        return "binary";
    case RL_MP_ARRAY:
        return "array";
    case RL_MP_MAP:
        return "map";
    default:
        return "extension";
    }
}

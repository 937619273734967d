/*  rl_msgpack_reader.h - reads msgpack in place, one value at a time,
    without allocating; private to proto/ (the decoder's cursor).

    Why hand-written rather than msgpack-c: msgpack-c's C API can only
    unpack a whole message into a tree of msgpack_object (24 bytes each,
    in a zone), and has no way to skip a value or to limit what it builds
    (the C++ API has limits, the C one does not). A 60 MiB message of nils
    under an unknown key cost a node 1.5 GB that way. The decoder needs the
    opposite: read the few fields it knows straight into an rl_msg_t and
    step over everything else for free. Reading msgpack is small (a type
    byte, a big-endian length or value, a payload), so it is done here;
    writing stays with msgpack-c's packer (rl_codec_encode.c).

    Rules:
    - Every read is checked against the end of the buffer: a truncated or
      malformed buffer gives RL_ERR_BAD_REQUEST and a message saying where
      (reported through the reader's rl_codec_ctx_t), never a read past it.
    - An array's or map's count is checked against the bytes that follow
      (each item takes one byte at least) as soon as its header is read, so
      no caller can be made to act on items that are not there.
    - Skipping is iterative: any nesting depth costs no stack and no memory.
*/
#ifndef RL_MSGPACK_READER_H
#define RL_MSGPACK_READER_H

#include "rl_codec_fields.h"

/* The kinds of msgpack value the decoder tells apart. */
typedef enum {
    RL_MP_NIL,      /* nil */
    RL_MP_BOOL,     /* true, false */
    RL_MP_UINT,     /* an integer >= 0, in any encoding (int8..64 too) */
    RL_MP_NEGATIVE, /* an integer < 0 */
    RL_MP_FLOAT,    /* float32, float64 */
    RL_MP_STR,      /* str */
    RL_MP_BIN,      /* bin */
    RL_MP_ARRAY,    /* array: the header only, the items follow */
    RL_MP_MAP,      /* map: the header only, the pairs follow */
    RL_MP_EXT       /* ext, fixext */
} rl_mp_type_t;

/* One value as read. */
typedef struct {
    uint8_t type;         /* rl_mp_type_t */
    bool boolean;         /* BOOL: the value */
    uint64_t uint;        /* UINT: the value */
    int64_t negative;     /* NEGATIVE: the value */
    const uint8_t *bytes; /* STR, BIN: the first byte, in the buffer */
    uint32_t length;      /* STR, BIN: bytes; ARRAY: items; MAP: pairs */
} rl_mp_value_t;

/* A position in a buffer. Plain value: copy it to read ahead and come
   back. */
typedef struct {
    const uint8_t *data; /* the buffer, borrowed */
    size_t size;         /* its length */
    size_t pos;          /* offset of the next byte to read */
    rl_codec_ctx_t *ctx; /* where errors are reported */
} rl_mp_reader_t;

/* Starts a reader at the first byte of data[0..size). */
void rl_mp_reader_init(rl_mp_reader_t *reader, const void *data, size_t size,
                       rl_codec_ctx_t *ctx);

/* Bytes not read yet. */
static inline size_t rl_mp_left(const rl_mp_reader_t *reader)
{
    return reader->size - reader->pos;
}

/* Reads the value at the cursor into value and moves past it; for an array
   or a map, moves past its header only, to its first item. Returns 0, or
   RL_ERR_BAD_REQUEST (the reader is then left where it was). */
int rl_mp_read_any(rl_mp_reader_t *reader, rl_mp_value_t *value);

/* rl_mp_read_any, with the commonest value (a positive fixint: terms, types,
   small sequence numbers) read inline: the decoder reads several per
   entry. */
static inline int rl_mp_read(rl_mp_reader_t *reader, rl_mp_value_t *value)
{
    if (reader->pos < reader->size && reader->data[reader->pos] <= 0x7f) {
        value->type = RL_MP_UINT;
        value->uint = reader->data[reader->pos++];
        return 0;
    }
    return rl_mp_read_any(reader, value);
}

/* Moves past the value at the cursor, items and all. Returns 0 or
   RL_ERR_BAD_REQUEST: whatever rl_mp_read would refuse anywhere inside. */
int rl_mp_skip(rl_mp_reader_t *reader);

/* Moves past the items of an array or map whose header rl_mp_read has just
   read into value; does nothing for other values. */
int rl_mp_skip_items(rl_mp_reader_t *reader, const rl_mp_value_t *value);

/* "unsigned integer", "map", ...: for messages saying what was found. */
const char *rl_mp_type_name(uint8_t type);

#endif

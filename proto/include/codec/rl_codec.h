/*  rl_codec.h - msgpack encoding and decoding of every raftlog message.

    The one place where raftlog's bytes on the wire are defined; the layout
    is specified in docs/PROTOCOL.md. Every message is one msgpack map whose
    keys are short lowercase strings; "version" and "type" are always
    present. The decoder is strict: a wrong type, a missing field, a value
    out of range, an oversized array or string, a truncated buffer or
    trailing bytes give an error code and a message saying what was wrong;
    it never reads out of bounds, never crashes and never leaks. Unknown
    keys are ignored so that later versions can add optional fields, and
    skipped without being built. Memory: decoding allocates the arrays the
    message returns (entries, members, counters) and nothing else, whatever
    the input's size, counts or nesting.

    Thread-safety: the functions keep no state; buffers belong to callers.
*/
#ifndef RL_CODEC_H
#define RL_CODEC_H

#include "rl_msg.h"

/* A growable byte buffer for encoded messages. Reuse one across encodes:
   rl_codec_encode() appends, rl_buf_reset() empties without freeing. */
typedef struct {
    uint8_t *data;   /* the bytes, NULL until the first write */
    size_t size;     /* bytes in use */
    size_t capacity; /* bytes allocated */
} rl_buf_t;

/* Makes an empty buffer. */
void rl_buf_init(rl_buf_t *buf);

/* Forgets the contents, keeps the memory for the next encode. */
void rl_buf_reset(rl_buf_t *buf);

/* Frees the memory; the buffer is empty and usable again. */
void rl_buf_close(rl_buf_t *buf);

/* Room for a decoder's error message, including its NUL. */
#define RL_CODEC_ERROR_SIZE 256

/* Appends the encoding of msg to buf. Returns 0, or RL_ERR_INTERNAL when
   out of memory, or RL_ERR_BAD_REQUEST when msg->type is unknown or a
   field is out of the protocol's limits (a bug of the caller; err, when not
   NULL, says which). */
int rl_codec_encode(const rl_msg_t *msg, rl_buf_t *buf, char *err);

/* Decodes one message from data[0..size). Returns 0 and fills msg, or an
   rl_error_t code (BAD_REQUEST, TOO_LARGE, UNSUPPORTED_VERSION,
   UNKNOWN_TYPE, INTERNAL for out of memory) with a message in err (at
   least RL_CODEC_ERROR_SIZE bytes, may be NULL).

   Ownership: byte fields of msg point into data, which must outlive msg;
   arrays are owned by msg. Call rl_msg_close(msg) after use, whatever the
   result (on error msg owns nothing, but msg->type and msg->id are kept
   when they could be read, so that the error reply can echo the id: also
   when the bytes after them are broken; not when size is over
   RL_MAX_MESSAGE_SIZE, which is refused unread). */
int rl_codec_decode(const void *data, size_t size, rl_msg_t *msg, char *err);

#endif

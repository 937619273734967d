/*  raftlog_wire.h - the named-logs part of the front door protocol as
    libraftlog writes and reads it (docs/PROTOCOL.md, "Named logs"): a
    request's `log` key, LOGS_REQUEST (40), LOGS_OK (71), the `logs` of
    STATUS_OK and the `log` a NOT_LEADER echoes.

    Why not proto's codec: the codec of this tree does not know these
    yet (the nodes' side adds them at the same time), and a client must
    speak them now. So what the codec encodes is extended in place (a
    pair added to its map) and what it cannot decode is read here with
    proto's in-place reader (rl_msgpack_reader.h), with the decoder's
    rules: every count checked against the bytes that follow, every
    string against its bound, a name against the rule for names. Once
    the codec carries them, a codec that does changes nothing here: it
    never writes `log` unless told, and these readers read the same bytes.

    Not installed; nothing here is exported from the shared library.
*/
#ifndef RAFTLOG_WIRE_H
#define RAFTLOG_WIRE_H

#include "raftlog.h"

#include "rl_codec.h"

/* The message types and ops of named logs (decided numbers). */
#define RL_WIRE_LOGS_REQUEST 40
#define RL_WIRE_LOGS_OK      71

typedef enum {
    RL_WIRE_LOGS_LIST = 0,
    RL_WIRE_LOGS_CREATE = 1,
    RL_WIRE_LOGS_DELETE = 2,
    RL_WIRE_LOGS_CONFIGURE = 3
} rl_wire_logs_op_t;

/* Adds the pair `log: name` to the message encoded in buf (one msgpack
   map, as rl_codec_encode writes it), whose pair count it raises. name is
   1..RAFTLOG_MAX_LOG_NAME bytes. Returns 0, RL_ERR_INTERNAL when out of
   memory, or RL_ERR_BAD_REQUEST when buf holds no map (a bug). */
int rl_wire_add_log(rl_buf_t *buf, const char *name);

/* Encodes a LOGS_REQUEST into buf (emptied first): request id, op, name
   (NULL for list) and, for create and configure, all three settings.
   Returns 0 or RL_ERR_INTERNAL (out of memory). */
int rl_wire_logs_request(rl_buf_t *buf, uint64_t id, uint8_t op,
                         const char *name,
                         const raftlog_log_settings_t *settings);

/* Decodes a reply: rl_codec_decode, and for a type the codec does not
   know but this client does (LOGS_OK), the header only (version, type,
   id; the body is read by rl_wire_logs_ok). Returns as rl_codec_decode. */
int rl_wire_decode_reply(const void *data, size_t size, rl_msg_t *msg,
                         char *err);

/* Reads the `logs` of a LOGS_OK in data[0..size) into *logs (allocated,
   the caller frees it; NULL when count is 0) and *count. Returns 0, or
   RL_ERR_BAD_REQUEST with err (RL_CODEC_ERROR_SIZE bytes) saying what is
   wrong: no `logs`, a malformed item, a name that is not one, more than
   RAFTLOG_MAX_LOGS, or RL_ERR_INTERNAL when out of memory. */
int rl_wire_logs_ok(const void *data, size_t size, raftlog_log_info_t **logs,
                    size_t *count, char *err);

/* The same for the `logs` of a STATUS_OK: absent (a node of before named
   logs) is no logs. */
int rl_wire_status_logs(const void *data, size_t size,
                        raftlog_log_status_t **logs, size_t *count, char *err);

/* The `log` a reply (NOT_LEADER) names, copied into name (NUL-terminated,
   "" when absent). Returns 0, or RL_ERR_BAD_REQUEST when it is not a
   string of at most RAFTLOG_MAX_LOG_NAME bytes. */
int rl_wire_reply_log(const void *data, size_t size,
                      char name[RAFTLOG_MAX_LOG_NAME + 1], char *err);

#endif

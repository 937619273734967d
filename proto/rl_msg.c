/*  rl_msg.c - helpers for the plain message values of rl_msg.h.

    Kept apart from the codec so that the Raft core and storage can use the
    names and the close function without linking msgpack.
*/
#include "rl_msg.h"

#include <stdlib.h>
#include <string.h>

void rl_msg_init(rl_msg_t *msg, uint8_t type)
{
    memset(msg, 0, sizeof(*msg));
    msg->type = type;
}

/* Blocks owned by a message form a singly linked list headed by
   msg->owned, so one message can own several arrays without the decoder
   having to size them all up front. */
typedef struct s_block {
    struct s_block *next; /* the block allocated before this one */
    max_align_t data[];   /* the caller's bytes, suitably aligned */
} s_block_t;

void *rl_msg_alloc(rl_msg_t *msg, size_t size)
{
    if (size > SIZE_MAX - sizeof(s_block_t))
        return NULL;
    s_block_t *block = calloc(1, sizeof(s_block_t) + size);
    if (!block)
        return NULL;
    block->next = msg->owned;
    msg->owned = block;
    return block->data;
}

void rl_msg_close(rl_msg_t *msg)
{
    s_block_t *block = msg->owned;
    while (block) {
        s_block_t *next = block->next;
        free(block);
        block = next;
    }
    memset(msg, 0, sizeof(*msg));
}

rl_str_t rl_str(const char *cstr)
{
    rl_str_t str = {NULL, 0};
    if (cstr && *cstr) {
        str.ptr = cstr;
        str.size = strlen(cstr);
    }
    return str;
}

bool rl_log_name_valid(rl_str_t name)
{
    if (!name.ptr || name.size == 0 || name.size > RL_MAX_LOG_NAME)
        return false;
    if (name.size <= 2 && memcmp(name.ptr, "..", name.size) == 0)
        return false; /* "." and ".." */
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";
    for (size_t i = 0; i < name.size; i++)
        if (!memchr(allowed, name.ptr[i], sizeof(allowed) - 1))
            return false;
    return true;
}

/* The X-macro keeps codes and names in one table. */
#define RL_ERROR_TABLE(X)                                                      \
    X(RL_OK, "OK")                                                             \
    X(RL_ERR_BAD_REQUEST, "BAD_REQUEST")                                       \
    X(RL_ERR_TOO_LARGE, "TOO_LARGE")                                           \
    X(RL_ERR_OUT_OF_RANGE, "OUT_OF_RANGE")                                     \
    X(RL_ERR_TIMEOUT, "TIMEOUT")                                               \
    X(RL_ERR_SHUTTING_DOWN, "SHUTTING_DOWN")                                   \
    X(RL_ERR_UNSUPPORTED_VERSION, "UNSUPPORTED_VERSION")                       \
    X(RL_ERR_UNKNOWN_TYPE, "UNKNOWN_TYPE")                                     \
    X(RL_ERR_BUSY, "BUSY")                                                     \
    X(RL_ERR_NO_SPACE, "NO_SPACE")                                             \
    X(RL_ERR_NO_LEADER, "NO_LEADER")                                           \
    X(RL_ERR_REJECTED, "REJECTED")                                             \
    X(RL_ERR_STALE_SEQUENCE, "STALE_SEQUENCE")                                 \
    X(RL_ERR_WRONG_CLUSTER, "WRONG_CLUSTER")                                   \
    X(RL_ERR_INTERNAL, "INTERNAL")                                             \
    X(RL_ERR_FORBIDDEN, "FORBIDDEN")                                           \
    X(RL_ERR_NOT_FOUND, "NOT_FOUND")

const char *rl_error_name(int code)
{
    switch (code) {
#define X(code_, name_)                                                        \
    case code_:                                                                \
        return name_;
        RL_ERROR_TABLE(X)
#undef X
    default:
        return "UNKNOWN";
    }
}

#define RL_MSG_TYPE_TABLE(X)                                                   \
    X(RL_MSG_PREVOTE, "PREVOTE")                                               \
    X(RL_MSG_PREVOTE_REPLY, "PREVOTE_REPLY")                                   \
    X(RL_MSG_VOTE, "VOTE")                                                     \
    X(RL_MSG_VOTE_REPLY, "VOTE_REPLY")                                         \
    X(RL_MSG_APPEND, "APPEND")                                                 \
    X(RL_MSG_APPEND_REPLY, "APPEND_REPLY")                                     \
    X(RL_MSG_SNAPSHOT, "SNAPSHOT")                                             \
    X(RL_MSG_SNAPSHOT_REPLY, "SNAPSHOT_REPLY")                                 \
    X(RL_MSG_TIMEOUT_NOW, "TIMEOUT_NOW")                                       \
    X(RL_MSG_PING, "PING")                                                     \
    X(RL_MSG_APPEND_REQUEST, "APPEND_REQUEST")                                 \
    X(RL_MSG_READ_REQUEST, "READ_REQUEST")                                     \
    X(RL_MSG_STATUS_REQUEST, "STATUS_REQUEST")                                 \
    X(RL_MSG_MEMBERS_REQUEST, "MEMBERS_REQUEST")                               \
    X(RL_MSG_TRANSFER_REQUEST, "TRANSFER_REQUEST")                             \
    X(RL_MSG_CONSUMER_COMMIT, "CONSUMER_COMMIT")                               \
    X(RL_MSG_CONSUMERS_REQUEST, "CONSUMERS_REQUEST")                           \
    X(RL_MSG_LOGS_REQUEST, "LOGS_REQUEST")                                     \
    X(RL_MSG_APPEND_OK, "APPEND_OK")                                           \
    X(RL_MSG_READ_OK, "READ_OK")                                               \
    X(RL_MSG_STATUS_OK, "STATUS_OK")                                           \
    X(RL_MSG_MEMBERS_OK, "MEMBERS_OK")                                         \
    X(RL_MSG_TRANSFER_OK, "TRANSFER_OK")                                       \
    X(RL_MSG_CONSUMERS_OK, "CONSUMERS_OK")                                     \
    X(RL_MSG_LOGS_OK, "LOGS_OK")                                               \
    X(RL_MSG_NOT_LEADER, "NOT_LEADER")                                         \
    X(RL_MSG_ERROR, "ERROR")

const char *rl_msg_type_name(int type)
{
    switch (type) {
#define X(code_, name_)                                                        \
    case code_:                                                                \
        return name_;
        RL_MSG_TYPE_TABLE(X)
#undef X
    default:
        return "UNKNOWN";
    }
}

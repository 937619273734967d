/*  rl_codec_fields.c - the table of fields of every message type, shared
    by the encoder (rl_codec_encode.c) and the decoder (rl_codec_decode.c),
    and the error helper both use. docs/PROTOCOL.md lists the same fields.
*/
#include "rl_codec_fields.h"

#include <stdarg.h>
#include <stdio.h>

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

const rl_field_t rl_codec_member_fields[] = {
    FIELD("id", RL_FIELD_ID, REQ, rl_member_t, id, 0),
    FIELD("voter", RL_FIELD_BOOL, OPT, rl_member_t, voter, 0),
    FIELD("peer", RL_FIELD_STR, OPT, rl_member_t, peer_addr, RL_MAX_ENDPOINT),
    FIELD("client", RL_FIELD_STR, OPT, rl_member_t, client_addr,
          RL_MAX_ENDPOINT),
    END};

const rl_field_t rl_codec_member_status_fields[] = {
    FIELD("id", RL_FIELD_ID, REQ, rl_member_status_t, member.id, 0),
    FIELD("voter", RL_FIELD_BOOL, OPT, rl_member_status_t, member.voter, 0),
    FIELD("peer", RL_FIELD_STR, OPT, rl_member_status_t, member.peer_addr,
          RL_MAX_ENDPOINT),
    FIELD("client", RL_FIELD_STR, OPT, rl_member_status_t, member.client_addr,
          RL_MAX_ENDPOINT),
    FIELD("match", RL_FIELD_U64, OPT, rl_member_status_t, match_index, 0),
    FIELD("last_contact_ms", RL_FIELD_I64, OPT, rl_member_status_t,
          last_contact_ms, 0),
    END};

const rl_field_t rl_codec_consumer_fields[] = {
    FIELD("name", RL_FIELD_STR, REQ, rl_consumer_position_t, name,
          RL_MAX_CONSUMER_NAME),
    FIELD("index", RL_FIELD_U64, REQ, rl_consumer_position_t, index, 0), END};

const rl_field_t rl_codec_log_fields[] = {
    FIELD("name", RL_FIELD_LOG_NAME, REQ, rl_log_desc_t, name, RL_MAX_LOG_NAME),
    FIELD("group", RL_FIELD_U64, REQ, rl_log_desc_t, group, 0),
    FIELD("retention_bytes", RL_FIELD_U64, OPT, rl_log_desc_t, retention_bytes,
          0),
    FIELD("retention_ms", RL_FIELD_U64, OPT, rl_log_desc_t, retention_ms, 0),
    FIELD("max_entry_bytes", RL_FIELD_U32, OPT, rl_log_desc_t, max_entry_bytes,
          0),
    END};

const rl_field_t rl_codec_log_status_fields[] = {
    FIELD("name", RL_FIELD_LOG_NAME, REQ, rl_log_desc_t, name, RL_MAX_LOG_NAME),
    FIELD("group", RL_FIELD_U64, REQ, rl_log_desc_t, group, 0),
    FIELD("role", RL_FIELD_STR, REQ, rl_log_desc_t, role, 32),
    FIELD("leader", RL_FIELD_U64, REQ, rl_log_desc_t, leader, 0),
    FIELD("term", RL_FIELD_U64, REQ, rl_log_desc_t, term, 0),
    FIELD("commit", RL_FIELD_U64, REQ, rl_log_desc_t, commit, 0),
    FIELD("last", RL_FIELD_U64, REQ, rl_log_desc_t, last, 0),
    FIELD("first", RL_FIELD_U64, REQ, rl_log_desc_t, first, 0),
    FIELD("lag", RL_FIELD_U64, REQ, rl_log_desc_t, lag, 0),
    END};

static const rl_field_t s_vote_fields[] = {
    FIELD("term", RL_FIELD_U64, REQ, rl_vote_t, term, 0),
    FIELD("last_index", RL_FIELD_U64, REQ, rl_vote_t, last_log_index, 0),
    FIELD("last_term", RL_FIELD_U64, REQ, rl_vote_t, last_log_term, 0),
    FIELD("transfer", RL_FIELD_BOOL, OPT, rl_vote_t, transfer, 0), END};

static const rl_field_t s_vote_reply_fields[] = {
    FIELD("term", RL_FIELD_U64, REQ, rl_vote_reply_t, term, 0),
    FIELD("granted", RL_FIELD_BOOL, REQ, rl_vote_reply_t, granted, 0),
    FIELD("leader", RL_FIELD_U64, OPT, rl_vote_reply_t, leader, 0), END};

static const rl_field_t s_append_fields[] = {
    FIELD("term", RL_FIELD_U64, REQ, rl_append_t, term, 0),
    FIELD("prev_index", RL_FIELD_U64, REQ, rl_append_t, prev_index, 0),
    FIELD("prev_term", RL_FIELD_U64, REQ, rl_append_t, prev_term, 0),
    FIELD("commit", RL_FIELD_U64, REQ, rl_append_t, commit, 0),
    ARRAY("entries", RL_FIELD_PEER_ENTRIES, REQ, rl_append_t, entries,
          entry_count, 0, RL_MAX_BATCH_ENTRIES),
    FIELD("quiesce", RL_FIELD_BOOL, OPT, rl_append_t, quiesce, 0),
    END};

static const rl_field_t s_append_reply_fields[] = {
    FIELD("term", RL_FIELD_U64, REQ, rl_append_reply_t, term, 0),
    FIELD("success", RL_FIELD_BOOL, REQ, rl_append_reply_t, success, 0),
    FIELD("match_index", RL_FIELD_U64, REQ, rl_append_reply_t, match_index, 0),
    FIELD("conflict_term", RL_FIELD_U64, REQ, rl_append_reply_t, conflict_term,
          0),
    FIELD("conflict_index", RL_FIELD_U64, REQ, rl_append_reply_t,
          conflict_index, 0),
    END};

static const rl_field_t s_snapshot_fields[] = {
    FIELD("term", RL_FIELD_U64, REQ, rl_snapshot_t, term, 0),
    FIELD("last_index", RL_FIELD_U64, REQ, rl_snapshot_t, last_index, 0),
    FIELD("last_term", RL_FIELD_U64, REQ, rl_snapshot_t, last_term, 0),
    ARRAY("members", RL_FIELD_MEMBERS, REQ, rl_snapshot_t, members,
          member_count, 0, RL_MAX_MEMBERS),
    FIELD("offset", RL_FIELD_U64, REQ, rl_snapshot_t, offset, 0),
    ARRAY("data", RL_FIELD_DATA, REQ, rl_snapshot_t, data, size, 0,
          RL_MAX_SNAPSHOT_CHUNK),
    FIELD("done", RL_FIELD_BOOL, REQ, rl_snapshot_t, done, 0),
    END};

static const rl_field_t s_snapshot_reply_fields[] = {
    FIELD("term", RL_FIELD_U64, REQ, rl_snapshot_reply_t, term, 0),
    FIELD("last_index", RL_FIELD_U64, REQ, rl_snapshot_reply_t, last_index, 0),
    FIELD("next_offset", RL_FIELD_U64, REQ, rl_snapshot_reply_t, next_offset,
          0),
    FIELD("done", RL_FIELD_BOOL, REQ, rl_snapshot_reply_t, done, 0), END};

static const rl_field_t s_timeout_now_fields[] = {
    FIELD("term", RL_FIELD_U64, REQ, rl_timeout_now_t, term, 0), END};

static const rl_field_t s_append_request_fields[] = {
    FIELD("producer", RL_FIELD_U64, OPT, rl_append_request_t, producer_id, 0),
    FIELD("seq", RL_FIELD_U64, OPT, rl_append_request_t, seq, 0),
    ARRAY("entries", RL_FIELD_CLIENT_ENTRIES, REQ, rl_append_request_t, entries,
          entry_count, 1, RL_MAX_BATCH_ENTRIES),
    END};

/* from, from_time, consumer: exactly one, which the node checks (a
   decoder cannot tell an absent field from a zero one). */
static const rl_field_t s_read_request_fields[] = {
    FIELD("from", RL_FIELD_U64, OPT, rl_read_request_t, from, 0),
    FIELD("max_entries", RL_FIELD_U32, OPT, rl_read_request_t, max_entries, 0),
    FIELD("max_bytes", RL_FIELD_U32, OPT, rl_read_request_t, max_bytes, 0),
    FIELD("wait_ms", RL_FIELD_U32, OPT, rl_read_request_t, wait_ms, 0),
    FIELD("from_time", RL_FIELD_U64, OPT, rl_read_request_t, from_time, 0),
    FIELD("consumer", RL_FIELD_STR, OPT, rl_read_request_t, consumer,
          RL_MAX_CONSUMER_NAME),
    END};

static const rl_field_t s_consumer_commit_fields[] = {
    FIELD("consumer", RL_FIELD_STR, REQ, rl_consumer_commit_t, consumer,
          RL_MAX_CONSUMER_NAME),
    FIELD("index", RL_FIELD_U64, REQ, rl_consumer_commit_t, index, 0), END};

static const rl_field_t s_consumers_request_fields[] = {
    FIELD("op", RL_FIELD_CONSUMERS_OP, REQ, rl_consumers_request_t, op,
          RL_CONSUMERS_DELETE),
    FIELD("consumer", RL_FIELD_STR, OPT, rl_consumers_request_t, consumer,
          RL_MAX_CONSUMER_NAME),
    FIELD("index", RL_FIELD_U64, OPT, rl_consumers_request_t, index, 0),
    FIELD("time", RL_FIELD_U64, OPT, rl_consumers_request_t, time, 0), END};

static const rl_field_t s_logs_request_fields[] = {
    FIELD("op", RL_FIELD_LOGS_OP, REQ, rl_logs_request_t, op,
          RL_LOGS_CONFIGURE),
    FIELD("name", RL_FIELD_STR, OPT, rl_logs_request_t, name, RL_MAX_LOG_NAME),
    FIELD("retention_bytes", RL_FIELD_U64, OPT, rl_logs_request_t,
          retention_bytes, 0),
    FIELD("retention_ms", RL_FIELD_U64, OPT, rl_logs_request_t, retention_ms,
          0),
    FIELD("max_entry_bytes", RL_FIELD_U32, OPT, rl_logs_request_t,
          max_entry_bytes, 0),
    END};

static const rl_field_t s_empty_fields[] = {END};

static const rl_field_t s_members_request_fields[] = {
    FIELD("op", RL_FIELD_OP, REQ, rl_members_request_t, op, RL_MEMBERS_REMOVE),
    FIELD("member", RL_FIELD_MEMBER, OPT, rl_members_request_t, member, 0),
    END};

static const rl_field_t s_transfer_request_fields[] = {
    FIELD("target", RL_FIELD_U64, OPT, rl_transfer_request_t, target, 0), END};

static const rl_field_t s_append_ok_fields[] = {
    FIELD("first", RL_FIELD_U64, REQ, rl_append_ok_t, first, 0),
    FIELD("last", RL_FIELD_U64, REQ, rl_append_ok_t, last, 0),
    FIELD("duplicate", RL_FIELD_BOOL, OPT, rl_append_ok_t, duplicate, 0), END};

static const rl_field_t s_read_ok_fields[] = {
    ARRAY("entries", RL_FIELD_READ_ENTRIES, REQ, rl_read_ok_t, entries,
          entry_count, 0, RL_MAX_BATCH_ENTRIES),
    FIELD("next", RL_FIELD_U64, REQ, rl_read_ok_t, next, 0),
    FIELD("commit", RL_FIELD_U64, REQ, rl_read_ok_t, commit, 0),
    FIELD("first", RL_FIELD_U64, REQ, rl_read_ok_t, first, 0),
    ARRAY("times", RL_FIELD_U64S, OPT, rl_read_ok_t, times, time_count, 0,
          RL_MAX_BATCH_ENTRIES),
    END};

static const rl_field_t s_logs_ok_fields[] = {ARRAY("logs", RL_FIELD_LOGS, REQ,
                                                    rl_logs_ok_t, logs,
                                                    log_count, 0, RL_MAX_LOGS),
                                              END};

static const rl_field_t s_consumers_ok_fields[] = {
    ARRAY("consumers", RL_FIELD_CONSUMERS, REQ, rl_consumers_ok_t, consumers,
          consumer_count, 0, RL_MAX_CONSUMERS),
    FIELD("commit", RL_FIELD_U64, REQ, rl_consumers_ok_t, commit, 0),
    FIELD("first", RL_FIELD_U64, REQ, rl_consumers_ok_t, first, 0), END};

static const rl_field_t s_status_ok_fields[] = {
    FIELD("node", RL_FIELD_ID, REQ, rl_status_ok_t, id, 0),
    FIELD("role", RL_FIELD_STR, REQ, rl_status_ok_t, role, 32),
    FIELD("term", RL_FIELD_U64, REQ, rl_status_ok_t, term, 0),
    FIELD("leader", RL_FIELD_U64, REQ, rl_status_ok_t, leader, 0),
    FIELD("commit", RL_FIELD_U64, REQ, rl_status_ok_t, commit, 0),
    FIELD("last", RL_FIELD_U64, REQ, rl_status_ok_t, last, 0),
    FIELD("first", RL_FIELD_U64, REQ, rl_status_ok_t, first, 0),
    FIELD("first_time", RL_FIELD_U64, OPT, rl_status_ok_t, first_time, 0),
    ARRAY("members", RL_FIELD_MEMBER_STATUSES, REQ, rl_status_ok_t, members,
          member_count, 0, RL_MAX_MEMBERS),
    ARRAY("counters", RL_FIELD_COUNTERS, OPT, rl_status_ok_t, counters,
          counter_count, 0, 256),
    ARRAY("logs", RL_FIELD_LOG_STATUSES, OPT, rl_status_ok_t, logs, log_count,
          0, RL_MAX_LOGS),
    END};

static const rl_field_t s_members_ok_fields[] = {
    ARRAY("members", RL_FIELD_MEMBERS, REQ, rl_members_ok_t, members,
          member_count, 0, RL_MAX_MEMBERS),
    END};

static const rl_field_t s_transfer_ok_fields[] = {
    FIELD("leader", RL_FIELD_U64, REQ, rl_transfer_ok_t, leader, 0), END};

static const rl_field_t s_not_leader_fields[] = {
    FIELD("leader", RL_FIELD_U64, REQ, rl_not_leader_t, leader, 0),
    FIELD("endpoint", RL_FIELD_STR, OPT, rl_not_leader_t, leader_addr,
          RL_MAX_ENDPOINT),
    END};

static const rl_field_t s_error_fields[] = {
    FIELD("code", RL_FIELD_U16, REQ, rl_error_reply_t, code, 0),
    FIELD("message", RL_FIELD_STR, REQ, rl_error_reply_t, message,
          RL_MAX_ERROR_MESSAGE),
    FIELD("first", RL_FIELD_U64, OPT, rl_error_reply_t, first, 0),
    FIELD("first_time", RL_FIELD_U64, OPT, rl_error_reply_t, first_time, 0),
    END};

const rl_field_t *rl_codec_fields(int type)
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
    case RL_MSG_PING:
        return s_empty_fields;
    case RL_MSG_MEMBERS_REQUEST:
        return s_members_request_fields;
    case RL_MSG_TRANSFER_REQUEST:
        return s_transfer_request_fields;
    case RL_MSG_CONSUMER_COMMIT:
        return s_consumer_commit_fields;
    case RL_MSG_CONSUMERS_REQUEST:
        return s_consumers_request_fields;
    case RL_MSG_CONSUMERS_OK:
        return s_consumers_ok_fields;
    case RL_MSG_LOGS_REQUEST:
        return s_logs_request_fields;
    case RL_MSG_LOGS_OK:
        return s_logs_ok_fields;
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

const char *const rl_codec_op_names[3] = {"list", "add", "remove"};
const char *const rl_codec_consumers_op_names[4] = {"list", "show", "reset",
                                                    "delete"};
const char *const rl_codec_logs_op_names[4] = {"list", "create", "delete",
                                               "configure"};

const rl_field_t *rl_codec_item_fields(uint8_t kind, size_t *item_size)
{
    switch (kind) {
    case RL_FIELD_MEMBERS:
        *item_size = sizeof(rl_member_t);
        return rl_codec_member_fields;
    case RL_FIELD_MEMBER_STATUSES:
        *item_size = sizeof(rl_member_status_t);
        return rl_codec_member_status_fields;
    case RL_FIELD_CONSUMERS:
        *item_size = sizeof(rl_consumer_position_t);
        return rl_codec_consumer_fields;
    case RL_FIELD_LOGS:
        *item_size = sizeof(rl_log_desc_t);
        return rl_codec_log_fields;
    case RL_FIELD_LOG_STATUSES:
        *item_size = sizeof(rl_log_desc_t);
        return rl_codec_log_status_fields;
    default:
        return NULL;
    }
}

const char *const *rl_codec_op_table(uint8_t kind, uint8_t *count,
                                     const char **words)
{
    switch (kind) {
    case RL_FIELD_OP:
        *count = 3;
        *words = RL_CODEC_OP_WORDS;
        return rl_codec_op_names;
    case RL_FIELD_CONSUMERS_OP:
        *count = 4;
        *words = RL_CODEC_CONSUMERS_OP_WORDS;
        return rl_codec_consumers_op_names;
    case RL_FIELD_LOGS_OP:
        *count = 4;
        *words = RL_CODEC_LOGS_OP_WORDS;
        return rl_codec_logs_op_names;
    default:
        return NULL;
    }
}

/* The fewest bytes one valid item of an array field takes on the wire, so
   that a count no input could fill is caught before allocating for it. */
size_t rl_codec_min_item_size(uint8_t kind)
{
    switch (kind) {
    case RL_FIELD_PEER_ENTRIES:
        return 6; /* fixarray, four fixints, an empty fixstr */
    case RL_FIELD_READ_ENTRIES:
        return 3; /* fixarray, a fixint, an empty fixstr */
    case RL_FIELD_MEMBERS:
    case RL_FIELD_MEMBER_STATUSES:
        return 5; /* fixmap, fixstr "id", a fixint */
    case RL_FIELD_COUNTERS:
        return 2; /* a pair: an empty fixstr, a fixint */
    case RL_FIELD_CONSUMERS:
        /* fixmap, fixstr "name", a 1-byte fixstr, fixstr "index", a
           fixint: both keys are required */
        return 15;
    case RL_FIELD_LOGS:
    case RL_FIELD_LOG_STATUSES:
        /* fixmap, fixstr "name", a 1-byte fixstr (a log's name), fixstr
           "group", a fixint: at least these required keys */
        return 15;
    default:
        return 1; /* RL_FIELD_CLIENT_ENTRIES: an empty fixstr */
    }
}

int rl_codec_fail(rl_codec_ctx_t *ctx, int code, const char *format, ...)
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

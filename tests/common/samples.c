/*  samples.c - example messages of every type; see samples.h. */
#include "samples.h"

#include <stdlib.h>
#include <string.h>

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static const uint8_t s_bytes[] = "hello\0world"; /* contains a NUL */

/* Times: 0 (an entry from before timestamps: five items on the wire), a
   real one, the largest. */
static rl_entry_t s_peer_entries[] = {
    {0, 1, RL_ENTRY_NOOP, 0, 0, NULL, 0, 0},
    {0, 1, RL_ENTRY_NORMAL, 42, 7, s_bytes, sizeof(s_bytes), 1767225600000},
    {0, UINT64_MAX, RL_ENTRY_CONFIG, UINT64_MAX, UINT64_MAX, s_bytes, 1,
     UINT64_MAX},
    {0, UINT64_MAX, RL_ENTRY_CONSUMER, 0, 0, s_bytes, 5, 1},
    {0, UINT64_MAX, RL_ENTRY_CATALOG, 0, 0, s_bytes, 7, 2},
};

static rl_entry_t s_read_entries[] = {
    {1, 0, 0, 0, 0, s_bytes, 5, 0},
    {UINT64_MAX, 0, 0, 0, 0, NULL, 0, 0},
};

/* Read back with times: READ_OK carries them in `times`, one per entry;
   the decoder copies each into its entry. */
static rl_entry_t s_timed_read_entries[] = {
    {5, 0, 0, 0, 0, s_bytes, 5, 1767225600000},
    {6, 0, 0, 0, 0, NULL, 0, 1767225600000},
    {UINT64_MAX, 0, 0, 0, 0, s_bytes, 1, UINT64_MAX},
};
static uint64_t s_read_times[] = {1767225600000, 1767225600000, UINT64_MAX};

static rl_consumer_position_t s_consumers[] = {
    {{"audit", 5}, 0},
    {{"billing.eu-1_x", 14}, UINT64_MAX},
    {{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64},
     41},
};

static rl_str_t s_client_entries[] = {
    {"a", 1},
    {NULL, 0},
    {"hello\0world", 11},
};

static rl_member_t s_members[] = {
    {1, true, {"tcp://127.0.0.1:7001", 20}, {"tcp://127.0.0.1:7101", 20}},
    {UINT64_MAX, false, {NULL, 0}, {NULL, 0}},
};

static rl_member_status_t s_member_statuses[] = {
    {{1, true, {"tcp://127.0.0.1:7001", 20}, {"tcp://127.0.0.1:7101", 20}},
     100,
     3},
    {{2, false, {NULL, 0}, {NULL, 0}}, 0, -1},
};

static rl_counter_t s_counters[] = {
    {{"appends", 7}, 1000},
    {{"fsyncs", 6}, UINT64_MAX},
};

/* Logs: LOGS_OK's settings (0: defaults, left out), STATUS_OK's view. */
static rl_log_desc_t s_logs[] = {
    {{"default", 7}, 0, 0, 0, 0, {NULL, 0}, 0, 0, 0, 0, 0, 0},
    {{"orders", 6}, 1, 1u << 30, 86400000, 65536, {NULL, 0}, 0, 0, 0, 0, 0, 0},
    {{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64},
     UINT64_MAX,
     UINT64_MAX,
     UINT64_MAX,
     UINT32_MAX,
     {NULL, 0},
     0,
     0,
     0,
     0,
     0,
     0},
};
static rl_log_desc_t s_log_statuses[] = {
    {{"default", 7}, 0, 0, 0, 0, {"leader", 6}, 1, 7, 100, 101, 1, 1},
    {{"orders", 6}, 1, 0, 0, 0, {"follower", 8}, 2, 3, 0, 0, 1, 0},
};

static rl_msg_t s_samples[96];
static size_t s_count;

static rl_msg_t *s_add(uint8_t type)
{
    rl_msg_t *msg = &s_samples[s_count++];
    rl_msg_init(msg, type);
    if (rl_msg_is_node(type)) {
        msg->cluster = rl_str("test-cluster");
        msg->from = 3;
    }
    return msg;
}

static void s_build(void)
{
    rl_msg_t *m;
    m = s_add(RL_MSG_PREVOTE);
    m->body.vote = (rl_vote_t){5, 10, 4, false};
    m = s_add(RL_MSG_VOTE);
    m->body.vote = (rl_vote_t){UINT64_MAX, UINT64_MAX, UINT64_MAX, true};
    m->from = UINT64_MAX;
    m = s_add(RL_MSG_VOTE);
    m->body.vote = (rl_vote_t){0, 0, 0, false};
    m = s_add(RL_MSG_PREVOTE_REPLY);
    m->body.vote_reply = (rl_vote_reply_t){6, true, 0};
    m = s_add(RL_MSG_VOTE_REPLY);
    m->body.vote_reply = (rl_vote_reply_t){7, false, 3};
    m = s_add(RL_MSG_APPEND); /* heartbeat: no entries */
    m->body.append = (rl_append_t){2, 10, 2, 9, NULL, 0, false};
    m = s_add(RL_MSG_APPEND);
    m->body.append = (rl_append_t){
        UINT64_MAX, 0, 0, UINT64_MAX, s_peer_entries, COUNT(s_peer_entries),
        false};
    for (size_t i = 0; i < COUNT(s_peer_entries); i++)
        s_peer_entries[i].index = 1 + i;
    /* A named log's group, and the heartbeat after which it goes quiet. */
    m = s_add(RL_MSG_APPEND);
    m->group = 7;
    m->body.append = (rl_append_t){2, 10, 2, 10, NULL, 0, true};
    m = s_add(RL_MSG_APPEND_REPLY);
    m->group = UINT64_MAX;
    m->body.append_reply = (rl_append_reply_t){3, true, 12, 0, 0};
    m = s_add(RL_MSG_APPEND_REPLY);
    m->body.append_reply =
        (rl_append_reply_t){UINT64_MAX, false, 0, UINT64_MAX, UINT64_MAX};
    m = s_add(RL_MSG_SNAPSHOT);
    m->body.snapshot = (rl_snapshot_t){
        4, 100, 3, s_members, COUNT(s_members), 0, s_bytes, 5, false};
    m = s_add(RL_MSG_SNAPSHOT);
    m->body.snapshot =
        (rl_snapshot_t){4, UINT64_MAX, 3, NULL, 0, 5, NULL, 0, true};
    m = s_add(RL_MSG_SNAPSHOT_REPLY);
    m->body.snapshot_reply = (rl_snapshot_reply_t){4, 100, 5, true};
    m = s_add(RL_MSG_TIMEOUT_NOW);
    m->body.timeout_now = (rl_timeout_now_t){UINT64_MAX};

    m = s_add(RL_MSG_APPEND_REQUEST);
    m->id = 1;
    m->body.append_request =
        (rl_append_request_t){0, 0, s_client_entries, COUNT(s_client_entries)};
    m = s_add(RL_MSG_APPEND_REQUEST);
    m->id = UINT64_MAX;
    m->body.append_request =
        (rl_append_request_t){UINT64_MAX, UINT64_MAX, s_client_entries, 1};
    m = s_add(RL_MSG_READ_REQUEST);
    m->body.read_request = (rl_read_request_t){1, 0, 0, 0, 0, {NULL, 0}};
    m = s_add(RL_MSG_READ_REQUEST);
    m->id = 9;
    m->body.read_request = (rl_read_request_t){
        UINT64_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, 0, {NULL, 0}};
    m = s_add(RL_MSG_READ_REQUEST); /* from a time */
    m->id = 10;
    m->body.read_request.from_time = 1767225600000;
    m->body.read_request.wait_ms = 5000;
    m = s_add(RL_MSG_READ_REQUEST); /* after a consumer's position */
    m->body.read_request.consumer = rl_str("billing.eu-1_x");
    m->body.read_request.max_entries = 100;
    m = s_add(RL_MSG_STATUS_REQUEST);
    m = s_add(RL_MSG_CONSUMER_COMMIT);
    m->id = 13;
    m->body.consumer_commit = (rl_consumer_commit_t){rl_str("audit"), 1234567};
    m = s_add(RL_MSG_CONSUMER_COMMIT);
    m->body.consumer_commit = (rl_consumer_commit_t){s_consumers[2].name, 0};
    m = s_add(RL_MSG_CONSUMERS_REQUEST);
    m->body.consumers_request.op = RL_CONSUMERS_LIST;
    m = s_add(RL_MSG_CONSUMERS_REQUEST);
    m->body.consumers_request.op = RL_CONSUMERS_SHOW;
    m->body.consumers_request.consumer = rl_str("audit");
    m = s_add(RL_MSG_CONSUMERS_REQUEST);
    m->body.consumers_request =
        (rl_consumers_request_t){RL_CONSUMERS_RESET, rl_str("audit"), 99, 0};
    m = s_add(RL_MSG_CONSUMERS_REQUEST);
    m->body.consumers_request = (rl_consumers_request_t){
        RL_CONSUMERS_RESET, rl_str("audit"), 0, UINT64_MAX};
    m = s_add(RL_MSG_CONSUMERS_REQUEST);
    m->body.consumers_request.op = RL_CONSUMERS_DELETE;
    m->body.consumers_request.consumer = rl_str("audit");
    /* Forwarded by a broker: the client's key and role. */
    m = s_add(RL_MSG_APPEND_REQUEST);
    m->id = 12;
    m->as_key = rl_str("rq:rj2=?3:3JAt]^KXh(Hb6^SvSA.c&BmE5[&!Kv");
    m->as_role = rl_str("producer");
    m->body.append_request = (rl_append_request_t){5, 6, s_client_entries, 1};
    /* Node-level liveness. */
    s_add(RL_MSG_PING);
    /* Named logs: a request for one, and the catalog's requests. */
    m = s_add(RL_MSG_APPEND_REQUEST);
    m->id = 14;
    m->log = rl_str("orders");
    m->body.append_request = (rl_append_request_t){5, 7, s_client_entries, 1};
    m = s_add(RL_MSG_READ_REQUEST);
    m->log =
        rl_str("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaa");
    m->body.read_request = (rl_read_request_t){1, 0, 0, 0, 0, {NULL, 0}};
    m = s_add(RL_MSG_LOGS_REQUEST);
    m->body.logs_request.op = RL_LOGS_LIST;
    m = s_add(RL_MSG_LOGS_REQUEST);
    m->body.logs_request = (rl_logs_request_t){RL_LOGS_CREATE, rl_str("orders"),
                                               1u << 30, 86400000, 65536};
    m = s_add(RL_MSG_LOGS_REQUEST);
    m->body.logs_request =
        (rl_logs_request_t){RL_LOGS_CONFIGURE, rl_str("orders"), UINT64_MAX,
                            UINT64_MAX, UINT32_MAX};
    m = s_add(RL_MSG_LOGS_REQUEST);
    m->id = 15;
    m->log = rl_str("ignored");
    m->body.logs_request.op = RL_LOGS_DELETE;
    m->body.logs_request.name = rl_str("orders");
    m = s_add(RL_MSG_MEMBERS_REQUEST);
    m->body.members_request.op = RL_MEMBERS_LIST;
    m = s_add(RL_MSG_MEMBERS_REQUEST);
    m->body.members_request.op = RL_MEMBERS_ADD;
    m->body.members_request.member = s_members[0];
    m->body.members_request.member.voter = false;
    m = s_add(RL_MSG_MEMBERS_REQUEST);
    m->body.members_request.op = RL_MEMBERS_REMOVE;
    m->body.members_request.member.id = 2;
    m = s_add(RL_MSG_TRANSFER_REQUEST);
    m = s_add(RL_MSG_TRANSFER_REQUEST);
    m->body.transfer_request.target = 2;

    m = s_add(RL_MSG_APPEND_OK);
    m->id = 1;
    m->body.append_ok = (rl_append_ok_t){1, 3, false};
    m = s_add(RL_MSG_APPEND_OK);
    m->body.append_ok = (rl_append_ok_t){UINT64_MAX, UINT64_MAX, true};
    m = s_add(RL_MSG_READ_OK);
    m->body.read_ok = (rl_read_ok_t){s_read_entries,
                                     COUNT(s_read_entries),
                                     UINT64_MAX,
                                     UINT64_MAX,
                                     1,
                                     NULL,
                                     0};
    m = s_add(RL_MSG_READ_OK);
    m->body.read_ok = (rl_read_ok_t){NULL, 0, 5, 4, 1, NULL, 0};
    m = s_add(RL_MSG_READ_OK);
    m->body.read_ok = (rl_read_ok_t){
        s_timed_read_entries, COUNT(s_timed_read_entries), UINT64_MAX, 7, 2,
        s_read_times,         COUNT(s_read_times)};
    m = s_add(RL_MSG_CONSUMERS_OK);
    m->id = 13;
    m->body.consumers_ok =
        (rl_consumers_ok_t){s_consumers, COUNT(s_consumers), 100, 1};
    m = s_add(RL_MSG_CONSUMERS_OK); /* a delete's answer: none */
    m->body.consumers_ok = (rl_consumers_ok_t){NULL, 0, UINT64_MAX, 0};
    m = s_add(RL_MSG_STATUS_OK);
    m->body.status_ok = (rl_status_ok_t){1,
                                         rl_str("leader"),
                                         7,
                                         1,
                                         100,
                                         101,
                                         1,
                                         1767225600000,
                                         s_member_statuses,
                                         COUNT(s_member_statuses),
                                         s_counters,
                                         COUNT(s_counters),
                                         NULL,
                                         0};
    m = s_add(RL_MSG_STATUS_OK); /* with the logs this node hosts */
    m->body.status_ok = (rl_status_ok_t){1,
                                         rl_str("leader"),
                                         7,
                                         1,
                                         100,
                                         101,
                                         1,
                                         0,
                                         NULL,
                                         0,
                                         NULL,
                                         0,
                                         s_log_statuses,
                                         COUNT(s_log_statuses)};
    m = s_add(RL_MSG_LOGS_OK);
    m->id = 16;
    m->body.logs_ok = (rl_logs_ok_t){s_logs, COUNT(s_logs)};
    m = s_add(RL_MSG_LOGS_OK); /* none: an empty list cannot happen (default
                                  is always there), but decodes */
    m = s_add(RL_MSG_NOT_LEADER);
    m->log = rl_str("orders");
    m->body.not_leader = (rl_not_leader_t){3, rl_str("tcp://127.0.0.1:7103")};
    m = s_add(RL_MSG_MEMBERS_OK);
    m->body.members_ok = (rl_members_ok_t){s_members, COUNT(s_members)};
    m = s_add(RL_MSG_TRANSFER_OK);
    m->body.transfer_ok.leader = 2;
    m = s_add(RL_MSG_NOT_LEADER);
    m->body.not_leader = (rl_not_leader_t){2, rl_str("tcp://127.0.0.1:7102")};
    m = s_add(RL_MSG_NOT_LEADER);
    m = s_add(RL_MSG_ERROR);
    m->id = 77;
    m->body.error =
        (rl_error_reply_t){RL_ERR_OUT_OF_RANGE, rl_str("index 1 was compacted"),
                           500, 1767225600000};
    m = s_add(RL_MSG_ERROR);
    m->body.error = (rl_error_reply_t){UINT16_MAX, rl_str(""), 0, 0};
}

size_t rl_samples(const rl_msg_t **samples)
{
    if (s_count == 0)
        s_build();
    *samples = s_samples;
    return s_count;
}

static bool s_bytes_equal(const void *a, size_t a_size, const void *b,
                          size_t b_size)
{
    return a_size == b_size && (a_size == 0 || memcmp(a, b, a_size) == 0);
}

static bool s_str_equal(rl_str_t a, rl_str_t b)
{
    return s_bytes_equal(a.ptr, a.size, b.ptr, b.size);
}

static bool s_member_equal(const rl_member_t *a, const rl_member_t *b)
{
    return a->id == b->id && a->voter == b->voter &&
           s_str_equal(a->peer_addr, b->peer_addr) &&
           s_str_equal(a->client_addr, b->client_addr);
}

static bool s_members_equal(const rl_member_t *a, size_t a_count,
                            const rl_member_t *b, size_t b_count)
{
    if (a_count != b_count)
        return false;
    for (size_t i = 0; i < a_count; i++)
        if (!s_member_equal(&a[i], &b[i]))
            return false;
    return true;
}

static bool s_entries_equal(const rl_entry_t *a, size_t a_count,
                            const rl_entry_t *b, size_t b_count)
{
    if (a_count != b_count)
        return false;
    for (size_t i = 0; i < a_count; i++)
        if (a[i].index != b[i].index || a[i].term != b[i].term ||
            a[i].type != b[i].type || a[i].producer_id != b[i].producer_id ||
            a[i].seq != b[i].seq || a[i].time != b[i].time ||
            !s_bytes_equal(a[i].data, a[i].size, b[i].data, b[i].size))
            return false;
    return true;
}

static bool s_logs_equal(const rl_log_desc_t *a, size_t a_count,
                         const rl_log_desc_t *b, size_t b_count)
{
    if (a_count != b_count)
        return false;
    for (size_t i = 0; i < a_count; i++)
        if (!s_str_equal(a[i].name, b[i].name) || a[i].group != b[i].group ||
            a[i].retention_bytes != b[i].retention_bytes ||
            a[i].retention_ms != b[i].retention_ms ||
            a[i].max_entry_bytes != b[i].max_entry_bytes ||
            !s_str_equal(a[i].role, b[i].role) || a[i].leader != b[i].leader ||
            a[i].term != b[i].term || a[i].commit != b[i].commit ||
            a[i].last != b[i].last || a[i].first != b[i].first ||
            a[i].lag != b[i].lag)
            return false;
    return true;
}

bool rl_msg_equal(const rl_msg_t *a, const rl_msg_t *b)
{
    if (a->type != b->type || a->id != b->id || a->from != b->from ||
        a->group != b->group || !s_str_equal(a->cluster, b->cluster) ||
        !s_str_equal(a->as_key, b->as_key) ||
        !s_str_equal(a->as_role, b->as_role) || !s_str_equal(a->log, b->log))
        return false;
    const rl_msg_t *x = a, *y = b;
    switch (a->type) {
    case RL_MSG_PREVOTE:
    case RL_MSG_VOTE:
        return x->body.vote.term == y->body.vote.term &&
               x->body.vote.last_log_index == y->body.vote.last_log_index &&
               x->body.vote.last_log_term == y->body.vote.last_log_term &&
               x->body.vote.transfer == y->body.vote.transfer;
    case RL_MSG_PREVOTE_REPLY:
    case RL_MSG_VOTE_REPLY:
        return x->body.vote_reply.term == y->body.vote_reply.term &&
               x->body.vote_reply.granted == y->body.vote_reply.granted;
    case RL_MSG_APPEND: {
        const rl_append_t *p = &x->body.append, *q = &y->body.append;
        return p->term == q->term && p->prev_index == q->prev_index &&
               p->prev_term == q->prev_term && p->commit == q->commit &&
               p->quiesce == q->quiesce &&
               s_entries_equal(p->entries, p->entry_count, q->entries,
                               q->entry_count);
    }
    case RL_MSG_APPEND_REPLY: {
        const rl_append_reply_t *p = &x->body.append_reply,
                                *q = &y->body.append_reply;
        return p->term == q->term && p->success == q->success &&
               p->match_index == q->match_index &&
               p->conflict_term == q->conflict_term &&
               p->conflict_index == q->conflict_index;
    }
    case RL_MSG_SNAPSHOT: {
        const rl_snapshot_t *p = &x->body.snapshot, *q = &y->body.snapshot;
        return p->term == q->term && p->last_index == q->last_index &&
               p->last_term == q->last_term && p->offset == q->offset &&
               p->done == q->done &&
               s_members_equal(p->members, p->member_count, q->members,
                               q->member_count) &&
               s_bytes_equal(p->data, p->size, q->data, q->size);
    }
    case RL_MSG_SNAPSHOT_REPLY: {
        const rl_snapshot_reply_t *p = &x->body.snapshot_reply,
                                  *q = &y->body.snapshot_reply;
        return p->term == q->term && p->last_index == q->last_index &&
               p->next_offset == q->next_offset && p->done == q->done;
    }
    case RL_MSG_TIMEOUT_NOW:
        return x->body.timeout_now.term == y->body.timeout_now.term;
    case RL_MSG_APPEND_REQUEST: {
        const rl_append_request_t *p = &x->body.append_request,
                                  *q = &y->body.append_request;
        if (p->producer_id != q->producer_id || p->seq != q->seq ||
            p->entry_count != q->entry_count)
            return false;
        for (size_t i = 0; i < p->entry_count; i++)
            if (!s_str_equal(p->entries[i], q->entries[i]))
                return false;
        return true;
    }
    case RL_MSG_READ_REQUEST:
        return x->body.read_request.from == y->body.read_request.from &&
               x->body.read_request.max_entries ==
                   y->body.read_request.max_entries &&
               x->body.read_request.max_bytes ==
                   y->body.read_request.max_bytes &&
               x->body.read_request.wait_ms == y->body.read_request.wait_ms &&
               x->body.read_request.from_time ==
                   y->body.read_request.from_time &&
               s_str_equal(x->body.read_request.consumer,
                           y->body.read_request.consumer);
    case RL_MSG_CONSUMER_COMMIT:
        return s_str_equal(x->body.consumer_commit.consumer,
                           y->body.consumer_commit.consumer) &&
               x->body.consumer_commit.index == y->body.consumer_commit.index;
    case RL_MSG_CONSUMERS_REQUEST: {
        const rl_consumers_request_t *p = &x->body.consumers_request,
                                     *q = &y->body.consumers_request;
        return p->op == q->op && s_str_equal(p->consumer, q->consumer) &&
               p->index == q->index && p->time == q->time;
    }
    case RL_MSG_CONSUMERS_OK: {
        const rl_consumers_ok_t *p = &x->body.consumers_ok,
                                *q = &y->body.consumers_ok;
        if (p->commit != q->commit || p->first != q->first ||
            p->consumer_count != q->consumer_count)
            return false;
        for (size_t i = 0; i < p->consumer_count; i++)
            if (!s_str_equal(p->consumers[i].name, q->consumers[i].name) ||
                p->consumers[i].index != q->consumers[i].index)
                return false;
        return true;
    }
    case RL_MSG_STATUS_REQUEST:
    case RL_MSG_PING:
        return true;
    case RL_MSG_MEMBERS_REQUEST:
        return x->body.members_request.op == y->body.members_request.op &&
               s_member_equal(&x->body.members_request.member,
                              &y->body.members_request.member);
    case RL_MSG_TRANSFER_REQUEST:
        return x->body.transfer_request.target ==
               y->body.transfer_request.target;
    case RL_MSG_APPEND_OK:
        return x->body.append_ok.first == y->body.append_ok.first &&
               x->body.append_ok.last == y->body.append_ok.last &&
               x->body.append_ok.duplicate == y->body.append_ok.duplicate;
    case RL_MSG_READ_OK: {
        const rl_read_ok_t *p = &x->body.read_ok, *q = &y->body.read_ok;
        if (p->time_count != q->time_count)
            return false;
        for (size_t i = 0; i < p->time_count; i++)
            if (p->times[i] != q->times[i])
                return false;
        return p->next == q->next && p->commit == q->commit &&
               p->first == q->first &&
               s_entries_equal(p->entries, p->entry_count, q->entries,
                               q->entry_count);
    }
    case RL_MSG_STATUS_OK: {
        const rl_status_ok_t *p = &x->body.status_ok, *q = &y->body.status_ok;
        if (p->id != q->id || !s_str_equal(p->role, q->role) ||
            p->term != q->term || p->leader != q->leader ||
            p->commit != q->commit || p->last != q->last ||
            p->first != q->first || p->first_time != q->first_time ||
            p->member_count != q->member_count ||
            p->counter_count != q->counter_count)
            return false;
        for (size_t i = 0; i < p->member_count; i++)
            if (!s_member_equal(&p->members[i].member, &q->members[i].member) ||
                p->members[i].match_index != q->members[i].match_index ||
                p->members[i].last_contact_ms != q->members[i].last_contact_ms)
                return false;
        for (size_t i = 0; i < p->counter_count; i++)
            if (!s_str_equal(p->counters[i].name, q->counters[i].name) ||
                p->counters[i].value != q->counters[i].value)
                return false;
        return s_logs_equal(p->logs, p->log_count, q->logs, q->log_count);
    }
    case RL_MSG_LOGS_REQUEST: {
        const rl_logs_request_t *p = &x->body.logs_request,
                                *q = &y->body.logs_request;
        return p->op == q->op && s_str_equal(p->name, q->name) &&
               p->retention_bytes == q->retention_bytes &&
               p->retention_ms == q->retention_ms &&
               p->max_entry_bytes == q->max_entry_bytes;
    }
    case RL_MSG_LOGS_OK:
        return s_logs_equal(x->body.logs_ok.logs, x->body.logs_ok.log_count,
                            y->body.logs_ok.logs, y->body.logs_ok.log_count);
    case RL_MSG_MEMBERS_OK:
        return s_members_equal(
            x->body.members_ok.members, x->body.members_ok.member_count,
            y->body.members_ok.members, y->body.members_ok.member_count);
    case RL_MSG_TRANSFER_OK:
        return x->body.transfer_ok.leader == y->body.transfer_ok.leader;
    case RL_MSG_NOT_LEADER:
        return x->body.not_leader.leader == y->body.not_leader.leader &&
               s_str_equal(x->body.not_leader.leader_addr,
                           y->body.not_leader.leader_addr);
    case RL_MSG_ERROR:
        return x->body.error.code == y->body.error.code &&
               x->body.error.first == y->body.error.first &&
               x->body.error.first_time == y->body.error.first_time &&
               s_str_equal(x->body.error.message, y->body.error.message);
    default:
        return false;
    }
}

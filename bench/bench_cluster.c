/*  bench_cluster.c - talking to a running cluster for the benchmarks:
    keys, a socket per endpoint, a request and its reply, leaders, named
    logs created when missing (bench_cluster.h). */
#include "bench_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static zcert_t *s_key, *s_server_key;

int bench_keys_load(void)
{
    const char *key = getenv("RAFTLOG_KEY");
    const char *server = getenv("RAFTLOG_SERVER_KEY");
    if (!key && !server)
        return 0;
    s_key = key ? zcert_load(key) : NULL;
    s_server_key = server ? zcert_load(server) : NULL;
    if (!s_key || !s_server_key) {
        fprintf(stderr, "raftlog-bench: $RAFTLOG_KEY and $RAFTLOG_SERVER_KEY "
                        "must both name certificates\n");
        bench_keys_free();
        return -1;
    }
    return 0;
}

void bench_keys_free(void)
{
    zcert_destroy(&s_key);
    zcert_destroy(&s_server_key);
}

zsock_t *bench_connect(int type, const char *endpoint)
{
    zsock_t *socket = zsock_new(type);
    if (!socket)
        return NULL;
    zsock_set_linger(socket, 0);
    if (type == ZMQ_DEALER) {
        /* A benchmark's queue is its producers: no limit of ZeroMQ's. */
        zsock_set_sndhwm(socket, 0);
        zsock_set_rcvhwm(socket, 0);
    }
    if (s_key) {
        zcert_apply(s_key, socket);
        zsock_set_curve_serverkey(socket, zcert_public_txt(s_server_key));
    }
    if (zsock_connect(socket, "%s", endpoint) != 0)
        zsock_destroy(&socket);
    return socket;
}

int64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void bench_pool_init(bench_pool_t *pool)
{
    memset(pool, 0, sizeof(*pool));
    pool->next_id = 1;
}

void bench_pool_close(bench_pool_t *pool)
{
    for (size_t i = 0; i < pool->count; i++)
        zsock_destroy(&pool->socket[i]);
    pool->count = 0;
}

int bench_pool_index(bench_pool_t *pool, const char *endpoint, size_t size)
{
    if (size == 0 || size >= BENCH_ENDPOINT_SIZE)
        return -1;
    for (size_t i = 0; i < pool->count; i++)
        if (strlen(pool->endpoint[i]) == size &&
            memcmp(pool->endpoint[i], endpoint, size) == 0)
            return (int)i;
    if (pool->count == BENCH_MAX_ENDPOINTS)
        return -1;
    char *text = pool->endpoint[pool->count];
    memcpy(text, endpoint, size);
    text[size] = '\0';
    zsock_t *socket = bench_connect(ZMQ_DEALER, text);
    if (!socket)
        return -1;
    pool->socket[pool->count] = socket;
    return (int)pool->count++;
}

size_t bench_pool_add_list(bench_pool_t *pool, const char *endpoints)
{
    const char *at = endpoints;
    while (*at) {
        const char *comma = strchr(at, ',');
        size_t size = comma ? (size_t)(comma - at) : strlen(at);
        if (size)
            bench_pool_index(pool, at, size);
        at += size + (comma != NULL);
    }
    return pool->count;
}

void bench_reply_close(bench_reply_t *reply)
{
    rl_msg_close(&reply->msg);
    zframe_destroy(&reply->frame);
}

int bench_call(bench_pool_t *pool, int at, rl_msg_t *request,
               bench_reply_t *reply, int timeout_ms)
{
    memset(reply, 0, sizeof(*reply));
    if (at < 0 || (size_t)at >= pool->count)
        return -1;
    void *socket = zsock_resolve(pool->socket[at]);
    request->id = pool->next_id++;
    rl_buf_t buf;
    rl_buf_init(&buf);
    int rc = rl_codec_encode(request, &buf, NULL);
    if (rc == 0) {
        zmq_send(socket, "", 0, ZMQ_SNDMORE);
        zmq_send(socket, buf.data, buf.size, 0);
    }
    rl_buf_close(&buf);
    if (rc != 0)
        return -1;
    int64_t deadline = bench_now_us() + (int64_t)timeout_ms * 1000;
    zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
    for (;;) {
        int64_t left = (deadline - bench_now_us()) / 1000;
        if (left <= 0 || zmq_poll(&item, 1, (long)left) <= 0)
            return -1;
        /* The empty delimiter, then the reply. */
        zframe_t *frame = zframe_recv(pool->socket[at]);
        if (frame && zframe_size(frame) == 0 && zframe_more(frame)) {
            zframe_destroy(&frame);
            frame = zframe_recv(pool->socket[at]);
        }
        if (!frame)
            continue;
        rl_msg_t msg;
        if (rl_codec_decode(zframe_data(frame), zframe_size(frame), &msg,
                            NULL) == 0 &&
            msg.id == request->id) {
            reply->frame = frame;
            reply->msg = msg;
            return 0;
        }
        /* A late reply to an earlier request. */
        rl_msg_close(&msg);
        zframe_destroy(&frame);
    }
}

/* The pool index of the client endpoint of member id in a STATUS_OK (from
   the node's view of the cluster), or -1. */
static int s_member_index(bench_pool_t *pool, const rl_status_ok_t *status,
                          uint64_t id)
{
    for (size_t i = 0; id && i < status->member_count; i++) {
        const rl_member_t *m = &status->members[i].member;
        if (m->id == id)
            return bench_pool_index(pool, m->client_addr.ptr,
                                    m->client_addr.size);
    }
    return -1;
}

int bench_find_leader(bench_pool_t *pool, const char *log, int timeout_ms)
{
    int64_t deadline = bench_now_us() + (int64_t)timeout_ms * 1000;
    size_t asked = 0;
    while (bench_now_us() < deadline) {
        size_t count = pool->count;
        for (size_t i = 0; i < count; i++, asked++) {
            rl_msg_t request;
            rl_msg_init(&request, RL_MSG_STATUS_REQUEST);
            request.log = rl_str(log);
            bench_reply_t reply;
            if (bench_call(pool, (int)i, &request, &reply, 1000) != 0)
                continue;
            int at = -1;
            if (reply.msg.type == RL_MSG_STATUS_OK)
                at = s_member_index(pool, &reply.msg.body.status_ok,
                                    reply.msg.body.status_ok.leader);
            bench_reply_close(&reply);
            if (at >= 0)
                return at;
        }
        if (asked >= count)
            zclock_sleep(50);
    }
    return -1;
}

int bench_call_leader(bench_pool_t *pool, int *at, rl_msg_t *request,
                      bench_reply_t *reply, int timeout_ms)
{
    int64_t deadline = bench_now_us() + (int64_t)timeout_ms * 1000;
    int node = *at >= 0 ? *at : 0;
    size_t tried = 0;
    while (bench_now_us() < deadline) {
        int left = (int)((deadline - bench_now_us()) / 1000);
        if (bench_call(pool, node, request, reply, left < 2000 ? left : 2000) !=
            0) {
            /* No answer: try the next node. */
            node = (int)((size_t)(node + 1) % pool->count);
            continue;
        }
        rl_msg_t *m = &reply->msg;
        if (m->type == RL_MSG_NOT_LEADER) {
            int next =
                bench_pool_index(pool, m->body.not_leader.leader_addr.ptr,
                                 m->body.not_leader.leader_addr.size);
            bench_reply_close(reply);
            if (next >= 0)
                node = next;
            else {
                /* No leader known yet (an election): the next node, and
                   a pause once all were asked. */
                node = (int)((size_t)(node + 1) % pool->count);
                if (++tried % pool->count == 0)
                    zclock_sleep(10);
            }
            continue;
        }
        if (m->type == RL_MSG_ERROR &&
            (m->body.error.code == RL_ERR_BUSY ||
             m->body.error.code == RL_ERR_TIMEOUT ||
             m->body.error.code == RL_ERR_NO_LEADER)) {
            bench_reply_close(reply);
            zclock_sleep(10);
            continue;
        }
        *at = node;
        return 0;
    }
    return -1;
}

/* Leader ids of the logs named prefix1..prefixN as the node at pool index
   `at` sees them: fills leader[0..count) (0: none known) and returns 0,
   or -1 when it did not answer. */
static int s_leaders(bench_pool_t *pool, int at, const char *prefix,
                     unsigned count, uint64_t *leader)
{
    rl_msg_t request;
    rl_msg_init(&request, RL_MSG_STATUS_REQUEST);
    bench_reply_t reply;
    if (bench_call(pool, at, &request, &reply, 2000) != 0)
        return -1;
    memset(leader, 0, count * sizeof(*leader));
    int rc = reply.msg.type == RL_MSG_STATUS_OK ? 0 : -1;
    size_t prefix_size = strlen(prefix);
    const rl_status_ok_t *s = &reply.msg.body.status_ok;
    for (size_t i = 0; rc == 0 && i < s->log_count; i++) {
        rl_str_t name = s->logs[i].name;
        if (name.size <= prefix_size || name.size > prefix_size + 10 ||
            memcmp(name.ptr, prefix, prefix_size) != 0)
            continue;
        char digits[16];
        memcpy(digits, name.ptr + prefix_size, name.size - prefix_size);
        digits[name.size - prefix_size] = '\0';
        char *end;
        unsigned long k = strtoul(digits, &end, 10);
        if (*end == '\0' && k >= 1 && k <= count)
            leader[k - 1] = s->logs[i].leader;
    }
    bench_reply_close(&reply);
    return rc;
}

int bench_logs_ensure(bench_pool_t *pool, const char *prefix, unsigned count,
                      int timeout_ms)
{
    int64_t deadline = bench_now_us() + (int64_t)timeout_ms * 1000;
    uint64_t *leader = calloc(count ? count : 1, sizeof(*leader));
    bool *exists = calloc(count ? count : 1, sizeof(*exists));
    int created = 0, at = -1;
    /* Which exist: any node answers a list from its committed catalog. */
    rl_msg_t request;
    rl_msg_init(&request, RL_MSG_LOGS_REQUEST);
    request.body.logs_request.op = RL_LOGS_LIST;
    bench_reply_t reply;
    if (bench_call_leader(pool, &at, &request, &reply, timeout_ms) != 0 ||
        reply.msg.type != RL_MSG_LOGS_OK) {
        fprintf(stderr,
                "raftlog-bench: no node answered LOGS list%s%s; is the "
                "cluster running (and of a version with named logs)?\n",
                reply.frame ? ": " : "",
                reply.frame ? rl_msg_type_name(reply.msg.type) : "");
        bench_reply_close(&reply);
        created = -1;
        goto done;
    }
    size_t prefix_size = strlen(prefix);
    for (size_t i = 0; i < reply.msg.body.logs_ok.log_count; i++) {
        rl_str_t name = reply.msg.body.logs_ok.logs[i].name;
        char text[RL_MAX_LOG_NAME + 1];
        if (name.size <= prefix_size || name.size > RL_MAX_LOG_NAME ||
            memcmp(name.ptr, prefix, prefix_size) != 0)
            continue;
        memcpy(text, name.ptr, name.size);
        text[name.size] = '\0';
        char *end;
        unsigned long k = strtoul(text + prefix_size, &end, 10);
        if (*end == '\0' && k >= 1 && k <= count)
            exists[k - 1] = true;
    }
    bench_reply_close(&reply);
    for (unsigned k = 1; k <= count; k++) {
        if (exists[k - 1])
            continue;
        char name[RL_MAX_LOG_NAME + 1];
        snprintf(name, sizeof(name), "%s%u", prefix, k);
        rl_msg_init(&request, RL_MSG_LOGS_REQUEST);
        request.body.logs_request.op = RL_LOGS_CREATE;
        request.body.logs_request.name = rl_str(name);
        int left = (int)((deadline - bench_now_us()) / 1000);
        if (bench_call_leader(pool, &at, &request, &reply, left) != 0) {
            fprintf(stderr, "raftlog-bench: creating log %s: no answer\n",
                    name);
            created = -1;
            goto done;
        }
        bool ok = reply.msg.type == RL_MSG_LOGS_OK;
        /* REJECTED: it exists (made since the list, by another run). */
        bool exists_now = reply.msg.type == RL_MSG_ERROR &&
                          reply.msg.body.error.code == RL_ERR_REJECTED;
        if (!ok && !exists_now) {
            fprintf(stderr, "raftlog-bench: creating log %s: %s %.*s\n", name,
                    reply.msg.type == RL_MSG_ERROR
                        ? rl_error_name(reply.msg.body.error.code)
                        : rl_msg_type_name(reply.msg.type),
                    reply.msg.type == RL_MSG_ERROR
                        ? (int)reply.msg.body.error.message.size
                        : 0,
                    reply.msg.type == RL_MSG_ERROR
                        ? reply.msg.body.error.message.ptr
                        : "");
            bench_reply_close(&reply);
            created = -1;
            goto done;
        }
        created += ok;
        bench_reply_close(&reply);
    }
    /* Every log led: each node's view, until one sees them all led. */
    for (;;) {
        for (size_t i = 0; i < pool->count; i++) {
            if (s_leaders(pool, (int)i, prefix, count, leader) != 0)
                continue;
            unsigned led = 0;
            for (unsigned k = 0; k < count; k++)
                led += leader[k] != 0;
            if (led == count)
                goto done;
        }
        if (bench_now_us() >= deadline) {
            fprintf(stderr,
                    "raftlog-bench: logs %s1..%s%u not all led after %d ms\n",
                    prefix, prefix, count, timeout_ms);
            created = -1;
            goto done;
        }
        zclock_sleep(100);
    }
done:
    free(leader);
    free(exists);
    return created;
}

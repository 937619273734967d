/*  bench_append.c - raftlog-bench append: load on a running cluster.

    Closed loop (default): N producers, each with exactly one APPEND in
    flight; a producer sends its next request the moment its reply comes.
    Open loop (--rate R): requests leave at R per second whatever the
    replies do, and latency is measured from when a request was due, not
    when it left, so a stalled cluster cannot hide its queueing
    (coordinated omission). Batch mode (--batch K): K entries per request.

    All producers share one DEALER socket (each request carries an id; the
    node's front door answers every request on its envelope), so 1024
    producers cost one connection, and the load generator itself is one
    thread that stays far below the node's cost per request.

    Every producer is idempotent (producer id + seq), so the benchmark
    exercises the same path as a careful client.

    Named logs (--logs K): the producers are spread over K logs
    (bench-1..bench-K, created when missing), producer i on log i mod K,
    each request sent to its log's leader: one DEALER per node, each log's
    leader learnt from the nodes' STATUS `logs` and followed on
    NOT_LEADER. So 64 producers over 8 logs against 64 on one log (the
    default, --logs 0) shows what spreading leaders over the nodes buys.

    CURVE: with $RAFTLOG_KEY (the client's _secret certificate) and
    $RAFTLOG_SERVER_KEY (the server's public one) set, as for every
    client, every socket connects with CURVE (scripts/bench compares).
*/
#include <czmq.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "rl_codec.h"

typedef struct {
    const char *endpoints; /* comma-separated client endpoints */
    unsigned producers;    /* concurrent producers (closed loop) */
    unsigned size;         /* bytes per entry */
    unsigned batch;        /* entries per request */
    double seconds;        /* measured duration */
    double warmup;         /* unmeasured start */
    double rate;           /* open loop: requests per second, 0 closed */
    const char *csv;       /* per-second rows to this file, or NULL */
    const char *latencies; /* the latency distribution to this file */
    int watch_pid;         /* report this process's RSS, 0 none */
    unsigned logs;         /* spread over this many named logs, 0: default */
} s_options_t;

/* Named logs at most (--logs), and nodes (client endpoints). */
#define S_MAX_LOGS  64
#define S_MAX_NODES 16

/* One named log of --logs. */
typedef struct {
    char name[16];   /* bench-N */
    unsigned leader; /* index of its leader's endpoint */
} s_log_t;

/* One request in flight. */
typedef struct {
    int64_t due;  /* when it was due (us), the latency's start */
    uint64_t seq; /* its producer's seq */
    bool busy;    /* in flight */
} s_slot_t;

typedef struct {
    uint32_t *values; /* latencies in us */
    size_t count;     /* used */
    size_t capacity;  /* allocated */
} s_samples_t;

static void s_sample(s_samples_t *s, int64_t us)
{
    if (s->count == s->capacity) {
        size_t capacity = s->capacity ? s->capacity * 2 : 65536;
        uint32_t *grown = realloc(s->values, capacity * sizeof(uint32_t));
        if (!grown)
            return;
        s->values = grown;
        s->capacity = capacity;
    }
    s->values[s->count++] = us < 0            ? 0
                            : us > UINT32_MAX ? UINT32_MAX
                                              : (uint32_t)us;
}

static int s_compare(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile of values[from..count), sorting that range in place. */
static double s_quantile_ms(s_samples_t *s, size_t from, double q)
{
    size_t n = s->count - from;
    if (n == 0)
        return 0;
    qsort(s->values + from, n, sizeof(uint32_t), s_compare);
    size_t k = (size_t)ceil(q * (double)n);
    if (k > 0)
        k--;
    return s->values[from + (k < n ? k : n - 1)] / 1000.0;
}

/* Writes the distribution of every measured latency (sorted by now):
   quantile,latency_ms, at 1 - 10^(-k/10) for k = 0..50 (0 to 99.999%),
   then the maximum at 1 -- an HdrHistogram-style percentile plot. */
static int s_write_latencies(const char *path, const s_samples_t *s)
{
    FILE *file = fopen(path, "w");
    if (!file)
        return -1;
    fprintf(file, "quantile,latency_ms\n");
    for (int k = 0; k <= 50 && s->count; k++) {
        double q = 1.0 - pow(10.0, -k / 10.0);
        size_t at = (size_t)ceil(q * (double)s->count);
        at = at ? at - 1 : 0;
        if (at >= s->count)
            break;
        fprintf(file, "%.6f,%.3f\n", q, s->values[at] / 1000.0);
    }
    if (s->count)
        fprintf(file, "1,%.3f\n", s->values[s->count - 1] / 1000.0);
    return fclose(file);
}

static long s_rss_kib(int pid)
{
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *file = fopen(path, "r");
    long kib = -1;
    while (file && fgets(line, sizeof(line), file))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (file)
        fclose(file);
    return kib;
}

/* The client's and the server's certificates from $RAFTLOG_KEY and
   $RAFTLOG_SERVER_KEY, both or neither (a benchmark, not a client: no
   more checks than loading them). */
static zcert_t *s_key, *s_server_key;

static int s_load_keys(void)
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
        return -1;
    }
    return 0;
}

/* A socket of type to endpoint, with CURVE when keys were given. */
static zsock_t *s_connect(int type, const char *endpoint)
{
    zsock_t *socket = zsock_new(type);
    if (!socket)
        return NULL;
    if (s_key) {
        zcert_apply(s_key, socket);
        zsock_set_curve_serverkey(socket, zcert_public_txt(s_server_key));
    }
    if (zsock_connect(socket, "%s", endpoint) != 0)
        zsock_destroy(&socket);
    return socket;
}

/* Asks each endpoint for STATUS until one says who leads; returns its
   client endpoint in out. */
static int s_find_leader(const char *endpoints, char *out, size_t size)
{
    char list[4096];
    snprintf(list, sizeof(list), "%s", endpoints);
    for (int attempt = 0; attempt < 50; attempt++) {
        for (char *save = NULL, *e = strtok_r(list, ",", &save); e;
             e = strtok_r(NULL, ",", &save)) {
            zsock_t *req = s_connect(ZMQ_REQ, e);
            if (!req)
                continue;
            zsock_set_linger(req, 0);
            zsock_set_rcvtimeo(req, 1000);
            rl_msg_t msg;
            rl_msg_init(&msg, RL_MSG_STATUS_REQUEST);
            rl_buf_t buf;
            rl_buf_init(&buf);
            rl_codec_encode(&msg, &buf, NULL);
            zmq_send(zsock_resolve(req), buf.data, buf.size, 0);
            rl_buf_close(&buf);
            zframe_t *frame = zframe_recv(req);
            bool found = false;
            if (frame &&
                rl_codec_decode(zframe_data(frame), zframe_size(frame), &msg,
                                NULL) == 0 &&
                msg.type == RL_MSG_STATUS_OK) {
                rl_status_ok_t *s = &msg.body.status_ok;
                for (size_t i = 0; i < s->member_count; i++) {
                    rl_member_t *m = &s->members[i].member;
                    if (s->leader && m->id == s->leader &&
                        m->client_addr.size < size) {
                        memcpy(out, m->client_addr.ptr, m->client_addr.size);
                        out[m->client_addr.size] = '\0';
                        found = true;
                    }
                }
            }
            rl_msg_close(&msg);
            zframe_destroy(&frame);
            zsock_destroy(&req);
            if (found)
                return 0;
        }
        snprintf(list, sizeof(list), "%s", endpoints);
        zclock_sleep(100);
    }
    return -1;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: raftlog-bench append [options]\n"
            "  --cluster E1,E2,...  client endpoints to find the leader "
            "among\n"
            "                       (default tcp://127.0.0.1:7101,:7102,"
            ":7103)\n"
            "  --endpoint E         send straight to E (a leader or a "
            "broker)\n"
            "  --producers N        concurrent producers, 1..4096 (default "
            "64)\n"
            "  --size BYTES         bytes per entry (default 100)\n"
            "  --batch K            entries per request (default 1)\n"
            "  --rate R             open loop: R requests/s in total\n"
            "  --seconds S          measured time (default 10)\n"
            "  --warmup S           unmeasured time first (default 1)\n"
            "  --csv FILE           one row per second\n"
            "  --latencies FILE     the latency distribution: one row per "
            "quantile\n"
            "  --watch-pid PID      report that process's resident size\n"
            "  --logs K             spread the producers over K named logs "
            "(bench-1..K,\n"
            "                       created when missing), each request to "
            "its log's leader\n"
            "with $RAFTLOG_KEY and $RAFTLOG_SERVER_KEY: CURVE\n");
}

static int s_parse(s_options_t *o, int argc, char **argv)
{
    *o = (s_options_t){"tcp://127.0.0.1:7101,tcp://127.0.0.1:7102,"
                       "tcp://127.0.0.1:7103",
                       64,
                       100,
                       1,
                       10,
                       1,
                       0,
                       NULL,
                       NULL,
                       0,
                       0};
    static char endpoint[512];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0) {
            s_usage(stdout);
            return 1;
        }
        if (!value) {
            fprintf(stderr, "raftlog-bench append: %s needs a value\n", arg);
            return -1;
        }
        i++;
        if (strcmp(arg, "--cluster") == 0)
            o->endpoints = value;
        else if (strcmp(arg, "--endpoint") == 0) {
            snprintf(endpoint, sizeof(endpoint), "=%s", value);
            o->endpoints = endpoint;
        } else if (strcmp(arg, "--producers") == 0)
            o->producers = (unsigned)atoi(value);
        else if (strcmp(arg, "--size") == 0)
            o->size = (unsigned)atoi(value);
        else if (strcmp(arg, "--batch") == 0)
            o->batch = (unsigned)atoi(value);
        else if (strcmp(arg, "--rate") == 0)
            o->rate = atof(value);
        else if (strcmp(arg, "--seconds") == 0)
            o->seconds = atof(value);
        else if (strcmp(arg, "--warmup") == 0)
            o->warmup = atof(value);
        else if (strcmp(arg, "--csv") == 0)
            o->csv = value;
        else if (strcmp(arg, "--latencies") == 0)
            o->latencies = value;
        else if (strcmp(arg, "--watch-pid") == 0)
            o->watch_pid = atoi(value);
        else if (strcmp(arg, "--logs") == 0)
            o->logs = (unsigned)atoi(value);
        else {
            fprintf(stderr,
                    "raftlog-bench append: unknown option %s (try "
                    "--help)\n",
                    arg);
            return -1;
        }
    }
    if (o->producers < 1 || o->producers > 4096 || o->batch < 1 ||
        o->batch > RL_MAX_BATCH_ENTRIES || o->size > RL_MAX_ENTRY_SIZE ||
        o->seconds <= 0 || o->logs > S_MAX_LOGS ||
        (o->logs && (o->endpoints[0] == '=' || o->rate > 0))) {
        fprintf(stderr, "raftlog-bench append: producers 1..4096, batch "
                        "1..65536, size up to 1 MiB, seconds > 0, logs "
                        "0..64 (with --cluster, closed loop)\n");
        return -1;
    }
    return 0;
}

/* ---- Named logs (--logs) ---- */

/* One request and its reply over a fresh REQ socket (1 s): 0 and *reply
   decoded from *frame (the caller closes and destroys both), or -1. */
static int s_ask(const char *endpoint, const rl_msg_t *msg, rl_msg_t *reply,
                 zframe_t **frame)
{
    *frame = NULL;
    rl_msg_init(reply, 0);
    zsock_t *req = s_connect(ZMQ_REQ, endpoint);
    if (!req)
        return -1;
    zsock_set_linger(req, 0);
    zsock_set_rcvtimeo(req, 1000);
    rl_buf_t buf;
    rl_buf_init(&buf);
    rl_codec_encode(msg, &buf, NULL);
    zmq_send(zsock_resolve(req), buf.data, buf.size, 0);
    rl_buf_close(&buf);
    *frame = zframe_recv(req);
    zsock_destroy(&req);
    if (!*frame || rl_codec_decode(zframe_data(*frame), zframe_size(*frame),
                                   reply, NULL) != 0) {
        zframe_destroy(frame);
        return -1;
    }
    return 0;
}

/* Creates each log that is missing, through the leader of `default`. */
static int s_create_logs(const char *endpoints, s_log_t *logs, unsigned count)
{
    for (unsigned k = 0; k < count; k++) {
        bool done = false;
        for (int attempt = 0; attempt < 100 && !done; attempt++) {
            char leader[512];
            if (s_find_leader(endpoints, leader, sizeof(leader)) != 0)
                return -1;
            rl_msg_t msg, reply;
            rl_msg_init(&msg, RL_MSG_LOGS_REQUEST);
            msg.body.logs_request.op = RL_LOGS_CREATE;
            msg.body.logs_request.name = rl_str(logs[k].name);
            zframe_t *frame;
            if (s_ask(leader, &msg, &reply, &frame) == 0)
                done = reply.type == RL_MSG_LOGS_OK ||
                       (reply.type == RL_MSG_ERROR &&
                        reply.body.error.code == RL_ERR_REJECTED);
            rl_msg_close(&reply);
            zframe_destroy(&frame);
            if (!done)
                zclock_sleep(100);
        }
        if (!done)
            return -1;
    }
    return 0;
}

/* Learns each log's leader from the nodes' STATUS `logs` (10 s at most).
   0 when every log has one. */
static int s_find_log_leaders(char eps[][512], size_t nodes, s_log_t *logs,
                              unsigned count)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned found = 0;
        for (unsigned k = 0; k < count; k++)
            logs[k].leader = UINT32_MAX;
        for (size_t n = 0; n < nodes; n++) {
            rl_msg_t msg, reply;
            rl_msg_init(&msg, RL_MSG_STATUS_REQUEST);
            zframe_t *frame;
            if (s_ask(eps[n], &msg, &reply, &frame) == 0 &&
                reply.type == RL_MSG_STATUS_OK) {
                const rl_status_ok_t *st = &reply.body.status_ok;
                for (size_t i = 0; i < st->log_count; i++)
                    for (unsigned k = 0; k < count; k++)
                        if (st->logs[i].role.size == 6 &&
                            memcmp(st->logs[i].role.ptr, "leader", 6) == 0 &&
                            st->logs[i].name.size == strlen(logs[k].name) &&
                            memcmp(st->logs[i].name.ptr, logs[k].name,
                                   st->logs[i].name.size) == 0 &&
                            logs[k].leader == UINT32_MAX) {
                            logs[k].leader = (unsigned)n;
                            found++;
                        }
            }
            rl_msg_close(&reply);
            zframe_destroy(&frame);
        }
        if (found == count)
            return 0;
        zclock_sleep(100);
    }
    return -1;
}

int bench_append(int argc, char **argv)
{
    s_options_t o;
    int rc = s_parse(&o, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    zsys_handler_set(NULL);
    if (s_load_keys() != 0)
        return 2;
    char leader[512];
    if (o.endpoints[0] == '=')
        snprintf(leader, sizeof(leader), "%s", o.endpoints + 1);
    else if (s_find_leader(o.endpoints, leader, sizeof(leader)) != 0) {
        fprintf(stderr,
                "raftlog-bench: no leader found among %s; is the "
                "cluster running?\n",
                o.endpoints);
        return 1;
    }
    FILE *csv = o.csv ? fopen(o.csv, "w") : NULL;
    if (o.csv && !csv) {
        fprintf(stderr, "raftlog-bench: cannot write %s\n", o.csv);
        return 1;
    }
    if (csv)
        fprintf(csv, "second,requests,entries,p50_ms,p99_ms,p999_ms,"
                     "errors,rss_kib\n");

    /* One DEALER to the leader; with --logs, one to every node. */
    static char eps[S_MAX_NODES][512];
    size_t nodes = 1;
    snprintf(eps[0], sizeof(eps[0]), "%s", leader);
    s_log_t logs[S_MAX_LOGS];
    if (o.logs) {
        char list[4096];
        snprintf(list, sizeof(list), "%s", o.endpoints);
        nodes = 0;
        for (char *save = NULL, *e = strtok_r(list, ",", &save);
             e && nodes < S_MAX_NODES; e = strtok_r(NULL, ",", &save))
            snprintf(eps[nodes++], sizeof(eps[0]), "%s", e);
        for (unsigned k = 0; k < o.logs; k++)
            snprintf(logs[k].name, sizeof(logs[k].name), "bench-%u", k + 1);
        if (s_create_logs(o.endpoints, logs, o.logs) != 0 ||
            s_find_log_leaders(eps, nodes, logs, o.logs) != 0) {
            fprintf(stderr, "raftlog-bench: cannot create the logs or find "
                            "their leaders (do the nodes serve named "
                            "logs?)\n");
            return 1;
        }
    }
    zsock_t *dealers[S_MAX_NODES];
    void *sockets[S_MAX_NODES];
    zmq_pollitem_t items[S_MAX_NODES];
    for (size_t n = 0; n < nodes; n++) {
        zsock_t *dealer = dealers[n] = zsock_new(ZMQ_DEALER);
        zsock_set_linger(dealer, 0);
        zsock_set_sndhwm(dealer, 0);
        zsock_set_rcvhwm(dealer, 0);
        if (s_key) {
            zcert_apply(s_key, dealer);
            zsock_set_curve_serverkey(dealer, zcert_public_txt(s_server_key));
        }
        zsock_connect(dealer, "%s", eps[n]);
        sockets[n] = zsock_resolve(dealer);
        items[n] = (zmq_pollitem_t){sockets[n], 0, ZMQ_POLLIN, 0};
    }

    /* One payload shared by every entry: the cluster copies it anyway. */
    uint8_t *payload = calloc(1, o.size ? o.size : 1);
    memset(payload, 'x', o.size);
    rl_str_t *entries = calloc(o.batch, sizeof(rl_str_t));
    for (unsigned i = 0; i < o.batch; i++)
        entries[i] = (rl_str_t){(const char *)payload, o.size};
    unsigned slots = o.rate > 0 ? 65536 : o.producers;
    s_slot_t *slot = calloc(slots, sizeof(s_slot_t));
    uint64_t producer_base = (uint64_t)zclock_usecs() << 12;
    rl_buf_t buf;
    rl_buf_init(&buf);
    s_samples_t samples = {0};

    int64_t start = zclock_usecs();
    int64_t measure_from = start + (int64_t)(o.warmup * 1e6);
    int64_t end = measure_from + (int64_t)(o.seconds * 1e6);
    int64_t next_report = measure_from + 1000000;
    size_t second_from = 0;
    uint64_t requests = 0, errors = 0, not_leader = 0, in_flight = 0;
    uint64_t second_requests = 0, second_errors = 0, sent = 0;
    uint64_t next_slot = 0;
    bool progress = isatty(2);
    int second = 0;

    /* Sends request number `which` for slot s. */
#define SEND(s, due_us)                                                        \
    do {                                                                       \
        rl_msg_t m;                                                            \
        rl_msg_init(&m, RL_MSG_APPEND_REQUEST);                                \
        m.id = (s) + 1;                                                        \
        m.body.append_request.producer_id = producer_base + (s);               \
        m.body.append_request.seq = ++slot[s].seq;                             \
        m.body.append_request.entries = entries;                               \
        m.body.append_request.entry_count = o.batch;                           \
        void *to = sockets[0];                                                 \
        if (o.logs) {                                                          \
            s_log_t *lg = &logs[(s) % o.logs];                                 \
            m.log = rl_str(lg->name);                                          \
            to = sockets[lg->leader];                                          \
        }                                                                      \
        rl_buf_reset(&buf);                                                    \
        rl_codec_encode(&m, &buf, NULL);                                       \
        zmq_send(to, "", 0, ZMQ_SNDMORE);                                      \
        zmq_send(to, buf.data, buf.size, 0);                                   \
        slot[s].due = (due_us);                                                \
        slot[s].busy = true;                                                   \
        in_flight++;                                                           \
        sent++;                                                                \
    } while (0)

    if (o.rate <= 0)
        for (unsigned s = 0; s < o.producers; s++)
            SEND(s, zclock_usecs());
    for (;;) {
        int64_t now = zclock_usecs();
        if (now >= end)
            break;
        if (o.rate > 0) {
            /* Open loop: every request that is due goes now. */
            int64_t due = start + (int64_t)((double)sent * 1e6 / o.rate);
            while (due <= now && in_flight < slots) {
                unsigned s = (unsigned)(next_slot++ % slots);
                if (slot[s].busy)
                    break;
                SEND(s, due);
                due = start + (int64_t)((double)sent * 1e6 / o.rate);
            }
        }
        long timeout = o.rate > 0 ? 1 : 100;
        if (zmq_poll(items, (int)nodes, timeout) < 0)
            break;
        for (size_t n = 0; n < nodes; n++)
            while (zmq_recv(sockets[n], NULL, 0, ZMQ_DONTWAIT) >= 0) {
                void *socket = sockets[n];
                zmq_msg_t reply;
                zmq_msg_init(&reply);
                if (zmq_msg_recv(&reply, socket, 0) < 0) {
                    zmq_msg_close(&reply);
                    break;
                }
                now = zclock_usecs();
                rl_msg_t m;
                unsigned s = 0;
                if (rl_codec_decode(zmq_msg_data(&reply), zmq_msg_size(&reply),
                                    &m, NULL) == 0 &&
                    m.id >= 1 && m.id <= slots && slot[m.id - 1].busy) {
                    s = (unsigned)(m.id - 1);
                    slot[s].busy = false;
                    in_flight--;
                    if (m.type == RL_MSG_APPEND_OK) {
                        if (now >= measure_from) {
                            requests++;
                            second_requests++;
                            s_sample(&samples, now - slot[s].due);
                        }
                    } else {
                        errors++;
                        second_errors++;
                        if (m.type == RL_MSG_NOT_LEADER)
                            not_leader++;
                        /* A log's leader moved: follow it. */
                        rl_str_t at = m.body.not_leader.leader_addr;
                        for (size_t e = 0;
                             o.logs && m.type == RL_MSG_NOT_LEADER && e < nodes;
                             e++)
                            if (strlen(eps[e]) == at.size &&
                                memcmp(eps[e], at.ptr, at.size) == 0)
                                logs[s % o.logs].leader = (unsigned)e;
                        slot[s].seq--; /* retry the same seq: idempotent */
                    }
                    if (o.rate <= 0)
                        SEND(s, now);
                }
                rl_msg_close(&m);
                zmq_msg_close(&reply);
            }
        if (now >= next_report) {
            second++;
            double p50 = s_quantile_ms(&samples, second_from, 0.50);
            double p99 = s_quantile_ms(&samples, second_from, 0.99);
            double p999 = s_quantile_ms(&samples, second_from, 0.999);
            long rss = s_rss_kib(o.watch_pid);
            if (progress)
                fprintf(stderr,
                        "\r%3ds %8" PRIu64 " req/s %9" PRIu64
                        " entries/s p50 %.2f ms p99 %.2f ms%s",
                        second, second_requests, second_requests * o.batch, p50,
                        p99, errors ? " (errors)" : "");
            if (csv)
                fprintf(csv,
                        "%d,%" PRIu64 ",%" PRIu64 ",%.3f,%.3f,%.3f,%" PRIu64
                        ",%ld\n",
                        second, second_requests, second_requests * o.batch, p50,
                        p99, p999, second_errors, rss);
            second_from = samples.count;
            second_requests = 0;
            second_errors = 0;
            next_report += 1000000;
        }
    }
    if (progress)
        fprintf(stderr, "\n");
    double p50 = s_quantile_ms(&samples, 0, 0.50);
    double p99 = s_quantile_ms(&samples, 0, 0.99);
    double p999 = s_quantile_ms(&samples, 0, 0.999);
    double max = samples.count ? samples.values[samples.count - 1] / 1000.0 : 0;
    long rss = s_rss_kib(o.watch_pid);
    if (o.logs)
        snprintf(leader, sizeof(leader), "%u logs over %zu nodes", o.logs,
                 nodes);
    printf("append: %s, %u %s, %u x %u bytes per request%s\n", leader,
           o.rate > 0 ? (unsigned)o.rate : o.producers,
           o.rate > 0 ? "req/s offered" : "producers", o.batch, o.size,
           o.rate > 0 ? " (open loop)" : "");
    printf("  %.0f requests/s, %.0f entries/s, %.1f MB/s over %.1f s\n",
           requests / o.seconds, requests * o.batch / o.seconds,
           requests * o.batch * (double)o.size / o.seconds / 1e6, o.seconds);
    printf("  latency ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", p50, p99,
           p999, max);
    printf("  errors %" PRIu64 " (not leader %" PRIu64 ")", errors, not_leader);
    if (rss >= 0)
        printf(", watched process RSS %ld KiB", rss);
    printf("\n");
    if (csv)
        fclose(csv);
    if (o.latencies && s_write_latencies(o.latencies, &samples) != 0)
        fprintf(stderr, "raftlog-bench: cannot write %s\n", o.latencies);
    free(samples.values);
    rl_buf_close(&buf);
    free(slot);
    free(entries);
    free(payload);
    for (size_t n = 0; n < nodes; n++)
        zsock_destroy(&dealers[n]);
    zcert_destroy(&s_key);
    zcert_destroy(&s_server_key);
    return requests > 0 ? 0 : 1;
}

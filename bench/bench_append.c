/*  bench_append.c - raftlog-bench append: load on a running cluster.

    Closed loop (default): N producers, each with exactly one APPEND in
    flight; a producer sends its next request the moment its reply comes.
    Open loop (--rate R): requests leave at R per second whatever the
    replies do, and latency is measured from when a request was due, not
    when it left, so a stalled cluster cannot hide its queueing
    (coordinated omission). Batch mode (--batch K): K entries per request.

    All producers of one node share one DEALER socket (each request
    carries an id; the node's front door answers every request on its
    envelope), so 1024 producers cost one connection per node, and the load
   generator itself is one thread that stays far below the node's cost per
   request.

    Every producer is idempotent (producer id + seq), so the benchmark
    exercises the same path as a careful client.

    Named logs (--logs K): the producers are spread round-robin over the
    logs PREFIX1..PREFIXK (default bench-1..bench-K), created first when
    missing; each log's requests go to its own leader (one DEALER socket
    per node), and a NOT_LEADER moves that log's producers to the leader
    it names, as a client of that log would. The summary adds each log's
    throughput and latency and how the leaders were spread.

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
#include "bench_cluster.h"
#include "rl_codec.h"

/* Named logs one run spreads its producers over, at most. */
#define S_MAX_LOGS 1024

typedef struct {
    const char *endpoints; /* comma-separated client endpoints */
    bool direct;           /* --endpoint: send there, follow no NOT_LEADER */
    unsigned producers;    /* concurrent producers (closed loop) */
    unsigned size;         /* bytes per entry */
    unsigned batch;        /* entries per request */
    double seconds;        /* measured duration */
    double warmup;         /* unmeasured start */
    double rate;           /* open loop: requests per second, 0 closed */
    unsigned logs;         /* named logs PREFIX1..PREFIXK, 0: default */
    const char *prefix;    /* their names' prefix */
    const char *csv;       /* per-second rows to this file, or NULL */
    const char *latencies; /* the latency distribution to this file */
    int watch_pid;         /* report this process's RSS, 0 none */
} s_options_t;

/* One request in flight. */
typedef struct {
    int64_t due;      /* when it was due (us), the latency's start */
    int64_t retry_at; /* resend then (no leader known yet), 0: not */
    uint64_t seq;     /* its producer's seq */
    unsigned log;     /* its log: an index into the run's logs */
    bool busy;        /* in flight or waiting to be resent */
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

/* One log of the run and where its requests go. */
typedef struct {
    char name[RL_MAX_LOG_NAME + 1]; /* empty: the default log */
    int at;                         /* pool index of its leader */
    uint64_t requests;              /* acknowledged while measured */
    uint64_t not_leader;            /* NOT_LEADER replies */
    uint64_t errors;                /* other error replies */
    s_samples_t samples;            /* its latencies */
} s_log_t;

/* True when prefix is made of the characters of a log's name. */
static bool s_prefix_ok(const char *prefix)
{
    for (const char *c = prefix; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '_' || *c == '-'))
            return false;
    return true;
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
            "  --logs K             spread the producers round-robin over K "
            "named logs,\n"
            "                       1..1024, created first when missing, "
            "each sent to its\n"
            "                       own leader (default 0: the default "
            "log)\n"
            "  --prefix P           the named logs are P1..PK (default "
            "bench-)\n"
            "  --size BYTES         bytes per entry (default 100)\n"
            "  --batch K            entries per request (default 1)\n"
            "  --rate R             open loop: R requests/s in total\n"
            "  --seconds S          measured time (default 10)\n"
            "  --warmup S           unmeasured time first (default 1)\n"
            "  --csv FILE           one row per second\n"
            "  --latencies FILE     the latency distribution: one row per "
            "quantile\n"
            "  --watch-pid PID      report that process's resident size\n"
            "with $RAFTLOG_KEY and $RAFTLOG_SERVER_KEY: CURVE\n");
}

static int s_parse(s_options_t *o, int argc, char **argv)
{
    *o = (s_options_t){.endpoints = "tcp://127.0.0.1:7101,"
                                    "tcp://127.0.0.1:7102,"
                                    "tcp://127.0.0.1:7103",
                       .producers = 64,
                       .size = 100,
                       .batch = 1,
                       .seconds = 10,
                       .warmup = 1,
                       .prefix = "bench-"};
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
            o->endpoints = value;
            o->direct = true;
        } else if (strcmp(arg, "--producers") == 0)
            o->producers = (unsigned)atoi(value);
        else if (strcmp(arg, "--logs") == 0)
            o->logs = (unsigned)atoi(value);
        else if (strcmp(arg, "--prefix") == 0)
            o->prefix = value;
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
        o->seconds <= 0 || o->logs > S_MAX_LOGS) {
        fprintf(stderr, "raftlog-bench append: producers 1..4096, batch "
                        "1..65536, size up to 1 MiB, seconds > 0, logs "
                        "0..1024\n");
        return -1;
    }
    /* A name is PREFIX and up to 4 digits. */
    if (o->logs &&
        (strlen(o->prefix) + 4 > RL_MAX_LOG_NAME || !s_prefix_ok(o->prefix))) {
        fprintf(stderr,
                "raftlog-bench append: --prefix: up to %u of "
                "a-z 0-9 . _ -\n",
                RL_MAX_LOG_NAME - 4);
        return -1;
    }
    return 0;
}

/* The run: its logs, sockets and producers. */
typedef struct {
    s_options_t o;          /* what was asked */
    bench_pool_t pool;      /* a DEALER per node */
    s_log_t *log;           /* the logs, or the default one */
    unsigned log_count;     /* how many */
    s_slot_t *slot;         /* the producers' requests */
    unsigned slots;         /* how many */
    rl_str_t *entries;      /* one request's entries */
    uint64_t producer_base; /* producer ids: base + slot */
    rl_buf_t buf;           /* encoding */
    uint64_t in_flight;     /* requests sent, not answered */
    uint64_t sent;          /* requests sent */
    unsigned retrying;      /* slots waiting for retry_at */
} s_run_t;

/* Sends slot s's request (its next seq, or the same again after an error)
   to its log's leader; the latency counts from due. */
static void s_send(s_run_t *run, unsigned s, int64_t due)
{
    s_slot_t *slot = &run->slot[s];
    s_log_t *log = &run->log[slot->log];
    rl_msg_t m;
    rl_msg_init(&m, RL_MSG_APPEND_REQUEST);
    m.id = s + 1;
    m.log = rl_str(log->name);
    m.body.append_request.producer_id = run->producer_base + s;
    m.body.append_request.seq = ++slot->seq;
    m.body.append_request.entries = run->entries;
    m.body.append_request.entry_count = run->o.batch;
    rl_buf_reset(&run->buf);
    rl_codec_encode(&m, &run->buf, NULL);
    void *socket = zsock_resolve(run->pool.socket[log->at]);
    zmq_send(socket, "", 0, ZMQ_SNDMORE);
    zmq_send(socket, run->buf.data, run->buf.size, 0);
    if (!slot->busy)
        run->in_flight++;
    slot->due = due;
    slot->busy = true;
    run->sent++;
}

/* Where each log's requests go first: its leader as the nodes see it
   (straight to --endpoint when given). Returns 0, or -1 with a message. */
static int s_route(s_run_t *run)
{
    for (unsigned k = 0; k < run->log_count; k++) {
        s_log_t *log = &run->log[k];
        log->at =
            run->o.direct ? 0 : bench_find_leader(&run->pool, log->name, 5000);
        if (log->at < 0) {
            fprintf(stderr,
                    "raftlog-bench: no leader of log %s found among %s; is "
                    "the cluster running?\n",
                    log->name[0] ? log->name : "default", run->o.endpoints);
            return -1;
        }
    }
    return 0;
}

/* A reply other than APPEND_OK for slot s: the same seq again, to the
   leader a NOT_LEADER names, or to the same node a little later when it
   knows none (an election) or when sending straight to --endpoint.
   Returns -1 when the run cannot go on (the log does not exist). */
static int s_retry(s_run_t *run, unsigned s, const rl_msg_t *m, int64_t now)
{
    s_slot_t *slot = &run->slot[s];
    s_log_t *log = &run->log[slot->log];
    slot->seq--; /* the same seq: idempotent */
    if (m->type == RL_MSG_ERROR && m->body.error.code == RL_ERR_NOT_FOUND) {
        fprintf(stderr, "raftlog-bench: %.*s\n",
                (int)m->body.error.message.size, m->body.error.message.ptr);
        return -1;
    }
    if (m->type != RL_MSG_NOT_LEADER) {
        log->errors++;
        return 0; /* sent again at once, as before named logs */
    }
    log->not_leader++;
    const rl_str_t *to = &m->body.not_leader.leader_addr;
    int at =
        run->o.direct ? -1 : bench_pool_index(&run->pool, to->ptr, to->size);
    if (at >= 0) {
        log->at = at;
        return 0;
    }
    slot->retry_at = now + 20000;
    run->retrying++;
    return 0;
}

/* Prints the run's summary line for a set of samples. */
static void s_print_latency(const char *indent, s_samples_t *samples)
{
    double p50 = s_quantile_ms(samples, 0, 0.50);
    double p99 = s_quantile_ms(samples, 0, 0.99);
    double p999 = s_quantile_ms(samples, 0, 0.999);
    double max =
        samples->count ? samples->values[samples->count - 1] / 1000.0 : 0;
    printf("%slatency ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", indent,
           p50, p99, p999, max);
}

int bench_append(int argc, char **argv)
{
    s_run_t run = {0};
    s_options_t *o = &run.o;
    int rc = s_parse(o, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    zsys_handler_set(NULL);
    if (bench_keys_load() != 0)
        return 2;
    int status = 1;
    FILE *csv = NULL;
    s_samples_t samples = {0};
    bench_pool_init(&run.pool);
    rl_buf_init(&run.buf);
    uint8_t *payload = calloc(1, o->size ? o->size : 1);
    run.entries = calloc(o->batch, sizeof(rl_str_t));
    run.log_count = o->logs ? o->logs : 1;
    run.log = calloc(run.log_count, sizeof(s_log_t));
    run.slots = o->rate > 0 ? 65536 : o->producers;
    run.slot = calloc(run.slots, sizeof(s_slot_t));
    if (!payload || !run.entries || !run.log || !run.slot)
        goto done;
    if (bench_pool_add_list(&run.pool, o->endpoints) == 0) {
        fprintf(stderr, "raftlog-bench: no endpoint in '%s'\n", o->endpoints);
        goto done;
    }
    for (unsigned k = 0; o->logs && k < run.log_count; k++)
        snprintf(run.log[k].name, sizeof(run.log[k].name), "%s%u", o->prefix,
                 k + 1);
    if (o->logs && !o->direct) {
        int created = bench_logs_ensure(&run.pool, o->prefix, o->logs, 60000);
        if (created < 0)
            goto done;
        if (created)
            fprintf(stderr, "raftlog-bench: created %d of the logs %s1..%s%u\n",
                    created, o->prefix, o->prefix, o->logs);
    }
    if (s_route(&run) != 0)
        goto done;
    csv = o->csv ? fopen(o->csv, "w") : NULL;
    if (o->csv && !csv) {
        fprintf(stderr, "raftlog-bench: cannot write %s\n", o->csv);
        goto done;
    }
    if (csv)
        fprintf(csv, "second,requests,entries,p50_ms,p99_ms,p999_ms,"
                     "errors,rss_kib\n");

    /* One payload shared by every entry: the cluster copies it anyway. */
    memset(payload, 'x', o->size);
    for (unsigned i = 0; i < o->batch; i++)
        run.entries[i] = (rl_str_t){(const char *)payload, o->size};
    for (unsigned s = 0; s < run.slots; s++)
        run.slot[s].log = s % run.log_count;
    run.producer_base = (uint64_t)zclock_usecs() << 12;

    int64_t start = zclock_usecs();
    int64_t measure_from = start + (int64_t)(o->warmup * 1e6);
    int64_t end = measure_from + (int64_t)(o->seconds * 1e6);
    int64_t next_report = measure_from + 1000000;
    size_t second_from = 0;
    uint64_t requests = 0, errors = 0, not_leader = 0;
    uint64_t second_requests = 0, second_errors = 0;
    uint64_t next_slot = 0;
    bool progress = isatty(2);
    int second = 0;

    if (o->rate <= 0)
        for (unsigned s = 0; s < o->producers; s++)
            s_send(&run, s, zclock_usecs());
    zmq_pollitem_t items[BENCH_MAX_ENDPOINTS];
    for (;;) {
        int64_t now = zclock_usecs();
        if (now >= end)
            break;
        if (o->rate > 0) {
            /* Open loop: every request that is due goes now. */
            int64_t due = start + (int64_t)((double)run.sent * 1e6 / o->rate);
            while (due <= now && run.in_flight < run.slots) {
                unsigned s = (unsigned)(next_slot++ % run.slots);
                if (run.slot[s].busy)
                    break;
                s_send(&run, s, due);
                due = start + (int64_t)((double)run.sent * 1e6 / o->rate);
            }
        }
        /* Requests that wait for a leader to be known. */
        for (unsigned s = 0; run.retrying && s < run.slots; s++)
            if (run.slot[s].retry_at && run.slot[s].retry_at <= now) {
                run.slot[s].retry_at = 0;
                run.retrying--;
                s_send(&run, s, run.slot[s].due);
            }
        size_t n = run.pool.count;
        for (size_t i = 0; i < n; i++)
            items[i] = (zmq_pollitem_t){zsock_resolve(run.pool.socket[i]), 0,
                                        ZMQ_POLLIN, 0};
        long timeout = o->rate > 0 || run.retrying ? 1 : 100;
        if (zmq_poll(items, (int)n, timeout) < 0)
            break;
        for (size_t i = 0; i < n; i++) {
            void *socket = items[i].socket;
            while (zmq_recv(socket, NULL, 0, ZMQ_DONTWAIT) >= 0) {
                zmq_msg_t reply;
                zmq_msg_init(&reply);
                if (zmq_msg_recv(&reply, socket, 0) < 0) {
                    zmq_msg_close(&reply);
                    break;
                }
                now = zclock_usecs();
                rl_msg_t m;
                if (rl_codec_decode(zmq_msg_data(&reply), zmq_msg_size(&reply),
                                    &m, NULL) == 0 &&
                    m.id >= 1 && m.id <= run.slots && run.slot[m.id - 1].busy &&
                    !run.slot[m.id - 1].retry_at) {
                    unsigned s = (unsigned)(m.id - 1);
                    s_slot_t *slot = &run.slot[s];
                    s_log_t *log = &run.log[slot->log];
                    if (m.type == RL_MSG_APPEND_OK) {
                        slot->busy = false;
                        run.in_flight--;
                        if (now >= measure_from) {
                            requests++;
                            second_requests++;
                            log->requests++;
                            s_sample(&samples, now - slot->due);
                            s_sample(&log->samples, now - slot->due);
                        }
                        if (o->rate <= 0)
                            s_send(&run, s, now);
                    } else {
                        errors++;
                        second_errors++;
                        not_leader += m.type == RL_MSG_NOT_LEADER;
                        if (s_retry(&run, s, &m, now) != 0) {
                            rl_msg_close(&m);
                            zmq_msg_close(&reply);
                            goto done;
                        }
                        /* Closed loop: again now, or at retry_at. Open
                           loop: the latency keeps counting from due. */
                        if (!slot->retry_at)
                            s_send(&run, s, slot->due);
                    }
                }
                rl_msg_close(&m);
                zmq_msg_close(&reply);
            }
        }
        if (now >= next_report) {
            second++;
            double p50 = s_quantile_ms(&samples, second_from, 0.50);
            double p99 = s_quantile_ms(&samples, second_from, 0.99);
            double p999 = s_quantile_ms(&samples, second_from, 0.999);
            long rss = s_rss_kib(o->watch_pid);
            if (progress)
                fprintf(stderr,
                        "\r%3ds %8" PRIu64 " req/s %9" PRIu64
                        " entries/s p50 %.2f ms p99 %.2f ms%s",
                        second, second_requests, second_requests * o->batch,
                        p50, p99, errors ? " (errors)" : "");
            if (csv)
                fprintf(csv,
                        "%d,%" PRIu64 ",%" PRIu64 ",%.3f,%.3f,%.3f,%" PRIu64
                        ",%ld\n",
                        second, second_requests, second_requests * o->batch,
                        p50, p99, p999, second_errors, rss);
            second_from = samples.count;
            second_requests = 0;
            second_errors = 0;
            next_report += 1000000;
        }
    }
    if (progress)
        fprintf(stderr, "\n");
    long rss = s_rss_kib(o->watch_pid);
    if (o->logs)
        printf("append: %u %s over %u log%s (%s1..%s%u), %u x %u bytes per "
               "request%s\n",
               o->rate > 0 ? (unsigned)o->rate : o->producers,
               o->rate > 0 ? "req/s offered" : "producers", o->logs,
               o->logs == 1 ? "" : "s", o->prefix, o->prefix, o->logs, o->batch,
               o->size, o->rate > 0 ? " (open loop)" : "");
    else
        printf("append: %s, %u %s, %u x %u bytes per request%s\n",
               run.pool.endpoint[run.log[0].at],
               o->rate > 0 ? (unsigned)o->rate : o->producers,
               o->rate > 0 ? "req/s offered" : "producers", o->batch, o->size,
               o->rate > 0 ? " (open loop)" : "");
    printf("  %.0f requests/s, %.0f entries/s, %.1f MB/s over %.1f s\n",
           requests / o->seconds, requests * o->batch / o->seconds,
           requests * o->batch * (double)o->size / o->seconds / 1e6,
           o->seconds);
    s_print_latency("  ", &samples);
    printf("  errors %" PRIu64 " (not leader %" PRIu64 ")", errors, not_leader);
    if (rss >= 0)
        printf(", watched process RSS %ld KiB", rss);
    printf("\n");
    if (o->logs) {
        /* Each log, then how many of them each node led at the end. */
        for (unsigned k = 0; k < run.log_count; k++) {
            s_log_t *log = &run.log[k];
            printf("  log %s at %s: %.0f requests/s, not leader %" PRIu64
                   ", errors %" PRIu64 ", ",
                   log->name, run.pool.endpoint[log->at],
                   log->requests / o->seconds, log->not_leader, log->errors);
            s_print_latency("", &log->samples);
        }
        printf("  leaders at the end:");
        for (size_t i = 0; i < run.pool.count; i++) {
            unsigned led = 0;
            for (unsigned k = 0; k < run.log_count; k++)
                led += run.log[k].at == (int)i;
            printf(" %s %u%s", run.pool.endpoint[i], led,
                   i + 1 < run.pool.count ? "," : "\n");
        }
    }
    if (o->latencies && s_write_latencies(o->latencies, &samples) != 0)
        fprintf(stderr, "raftlog-bench: cannot write %s\n", o->latencies);
    status = requests > 0 ? 0 : 1;
done:
    if (csv)
        fclose(csv);
    free(samples.values);
    for (unsigned k = 0; run.log && k < run.log_count; k++)
        free(run.log[k].samples.values);
    rl_buf_close(&run.buf);
    free(run.slot);
    free(run.log);
    free(run.entries);
    free(payload);
    bench_pool_close(&run.pool);
    bench_keys_free();
    return status;
}

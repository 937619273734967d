/*  bench_logs.c - raftlog-bench logs: what named logs cost on a running
    cluster, apart from appends.

    Creation (--creates N, default 50): N logs PREFIX1..PREFIXN created one
    after the other at the leader of `default`, each timed from sending
    LOGS create to its LOGS_OK (answered once the creation is committed,
    docs/PROTOCOL.md), then from sending it to the first APPEND to the new
    log acknowledged (the log's own group has then elected a leader and
    committed an entry: when a producer can use it). Then they are deleted
    again, each delete timed the same way (--keep leaves them).

    Idle logs (--idle N): the logs idle-1..idle-N created when missing,
    then every node's STATUS polled until all its named logs are quiet
    (the counters `logs` and `logs_quiet`; `default` never goes quiet) or
    --wait-quiet seconds pass. What idle logs cost a node is then measured
    from outside, by scripts/bench (`--only logs`: each node's CPU time
    and resident size from /proc over a minute): the benchmark only brings
    the cluster to that state and reports how long it took and how the
    leaders were spread.

    CURVE as for append: $RAFTLOG_KEY and $RAFTLOG_SERVER_KEY.
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

typedef struct {
    const char *endpoints; /* comma-separated client endpoints */
    unsigned creates;      /* logs created and timed, one at a time */
    const char *prefix;    /* their names' prefix */
    bool keep;             /* leave them (no deletes) */
    bool append;           /* time the first append too */
    unsigned idle;         /* logs idle-1..idle-N to bring to quiet */
    double wait_quiet;     /* seconds to wait for them to go quiet */
} s_options_t;

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: raftlog-bench logs [options]\n"
            "  --cluster E1,E2,...  the nodes' client endpoints\n"
            "                       (default tcp://127.0.0.1:7101,:7102,"
            ":7103)\n"
            "  --creates N          create N logs one at a time and time "
            "each (default 50;\n"
            "                       0: none), then delete them\n"
            "  --prefix P           their names: P1..PN (default create-)\n"
            "  --keep               do not delete them\n"
            "  --no-append          do not time the first append to each\n"
            "  --idle N             then make sure logs idle-1..idle-N exist "
            "and wait\n"
            "                       until every node's named logs are "
            "quiet\n"
            "  --wait-quiet S       for at most S seconds (default 300)\n"
            "with $RAFTLOG_KEY and $RAFTLOG_SERVER_KEY: CURVE (creating and "
            "deleting\nlogs needs an admin key then)\n");
}

static int s_parse(s_options_t *o, int argc, char **argv)
{
    *o = (s_options_t){.endpoints = "tcp://127.0.0.1:7101,"
                                    "tcp://127.0.0.1:7102,"
                                    "tcp://127.0.0.1:7103",
                       .creates = 50,
                       .prefix = "create-",
                       .append = true,
                       .wait_quiet = 300};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0) {
            s_usage(stdout);
            return 1;
        }
        if (strcmp(arg, "--keep") == 0) {
            o->keep = true;
            continue;
        }
        if (strcmp(arg, "--no-append") == 0) {
            o->append = false;
            continue;
        }
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value) {
            fprintf(stderr, "raftlog-bench logs: %s needs a value\n", arg);
            return -1;
        }
        i++;
        if (strcmp(arg, "--cluster") == 0)
            o->endpoints = value;
        else if (strcmp(arg, "--creates") == 0)
            o->creates = (unsigned)atoi(value);
        else if (strcmp(arg, "--prefix") == 0)
            o->prefix = value;
        else if (strcmp(arg, "--idle") == 0)
            o->idle = (unsigned)atoi(value);
        else if (strcmp(arg, "--wait-quiet") == 0)
            o->wait_quiet = atof(value);
        else {
            fprintf(stderr,
                    "raftlog-bench logs: unknown option %s (try --help)\n",
                    arg);
            return -1;
        }
    }
    if (o->creates > 10000 || o->idle > 10000 ||
        strlen(o->prefix) + 5 > RL_MAX_LOG_NAME) {
        fprintf(stderr, "raftlog-bench logs: creates and idle 0..10000, a "
                        "prefix of up to 59 characters\n");
        return -1;
    }
    return 0;
}

/* Latencies in microseconds, and their quantiles. */
typedef struct {
    int64_t *us;  /* the samples */
    size_t count; /* how many */
} s_times_t;

static int s_compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void s_print_times(const char *what, s_times_t *t)
{
    if (t->count == 0) {
        printf("  %s: none\n", what);
        return;
    }
    qsort(t->us, t->count, sizeof(int64_t), s_compare);
    double q[3] = {0.50, 0.99, 1.0};
    double ms[3];
    for (int i = 0; i < 3; i++) {
        size_t k = (size_t)ceil(q[i] * (double)t->count);
        ms[i] = t->us[(k ? k - 1 : 0)] / 1000.0;
    }
    printf("  %s: p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu)\n", what, ms[0],
           ms[1], ms[2], t->count);
}

/* Says what an unexpected reply was, for a message on stderr. */
static void s_complain(const char *what, const char *name,
                       const bench_reply_t *reply)
{
    const rl_msg_t *m = &reply->msg;
    if (!reply->frame)
        fprintf(stderr, "raftlog-bench logs: %s %s: no answer\n", what, name);
    else if (m->type == RL_MSG_ERROR)
        fprintf(stderr, "raftlog-bench logs: %s %s: %s: %.*s\n", what, name,
                rl_error_name(m->body.error.code),
                (int)m->body.error.message.size, m->body.error.message.ptr);
    else
        fprintf(stderr, "raftlog-bench logs: %s %s: got %s\n", what, name,
                rl_msg_type_name(m->type));
}

/* One LOGS create or delete of name at the leader of default (*at:
   where to start, left at the node that answered); 0 when done. */
static int s_logs_op(bench_pool_t *pool, int *at, uint8_t op, const char *name)
{
    rl_msg_t request;
    rl_msg_init(&request, RL_MSG_LOGS_REQUEST);
    request.body.logs_request.op = op;
    request.body.logs_request.name = rl_str(name);
    bench_reply_t reply;
    int rc = bench_call_leader(pool, at, &request, &reply, 10000);
    if (rc != 0 || reply.msg.type != RL_MSG_LOGS_OK) {
        s_complain(op == RL_LOGS_CREATE ? "creating" : "deleting", name,
                   &reply);
        rc = -1;
    }
    bench_reply_close(&reply);
    return rc;
}

/* Appends one entry to log, from node *at on, following NOT_LEADER and
   waiting while its group has no leader yet; 0 once acknowledged. A node
   that has not applied the creation yet answers NOT_FOUND (LOGS_OK
   comes once the leader of `default` has applied it; the others apply it
   when they hear of the commit): counted in *not_found, and tried again
   a little later, as a client would just after creating a log. */
static int s_first_append(bench_pool_t *pool, int *at, const char *name,
                          uint64_t producer, unsigned *not_found)
{
    rl_str_t entry = rl_str("first");
    rl_msg_t request;
    rl_msg_init(&request, RL_MSG_APPEND_REQUEST);
    request.log = rl_str(name);
    request.body.append_request.producer_id = producer;
    request.body.append_request.seq = 1;
    request.body.append_request.entries = &entry;
    request.body.append_request.entry_count = 1;
    int64_t deadline = bench_now_us() + 10000000;
    for (;;) {
        bench_reply_t reply;
        int rc = bench_call_leader(pool, at, &request, &reply, 10000);
        bool missing = rc == 0 && reply.msg.type == RL_MSG_ERROR &&
                       reply.msg.body.error.code == RL_ERR_NOT_FOUND;
        if (missing && bench_now_us() < deadline) {
            (*not_found)++;
            bench_reply_close(&reply);
            zclock_sleep(5);
            continue;
        }
        if (rc != 0 || reply.msg.type != RL_MSG_APPEND_OK) {
            s_complain("appending to", name, &reply);
            rc = -1;
        }
        bench_reply_close(&reply);
        return rc;
    }
}

/* Creates, times and deletes the logs of --creates. */
static int s_creates(bench_pool_t *pool, const s_options_t *o)
{
    s_times_t created = {calloc(o->creates, sizeof(int64_t)), 0};
    s_times_t writable = {calloc(o->creates, sizeof(int64_t)), 0};
    s_times_t deleted = {calloc(o->creates, sizeof(int64_t)), 0};
    int rc = -1;
    if (!created.us || !writable.us || !deleted.us)
        goto done;
    int at = bench_find_leader(pool, NULL, 10000);
    if (at < 0) {
        fprintf(stderr,
                "raftlog-bench logs: no leader among %s; is the "
                "cluster running?\n",
                o->endpoints);
        goto done;
    }
    uint64_t producer = (uint64_t)zclock_usecs() << 12;
    unsigned not_found = 0;
    for (unsigned k = 1; k <= o->creates; k++) {
        char name[RL_MAX_LOG_NAME + 1];
        snprintf(name, sizeof(name), "%s%u", o->prefix, k);
        int64_t start = bench_now_us();
        if (s_logs_op(pool, &at, RL_LOGS_CREATE, name) != 0) {
            fprintf(stderr, "  (an earlier run's logs? delete them, or "
                            "choose another --prefix)\n");
            goto done;
        }
        created.us[created.count++] = bench_now_us() - start;
        int node = at;
        if (o->append) {
            if (s_first_append(pool, &node, name, producer + k, &not_found) !=
                0)
                goto done;
            writable.us[writable.count++] = bench_now_us() - start;
        }
    }
    for (unsigned k = 1; !o->keep && k <= o->creates; k++) {
        char name[RL_MAX_LOG_NAME + 1];
        snprintf(name, sizeof(name), "%s%u", o->prefix, k);
        int64_t start = bench_now_us();
        if (s_logs_op(pool, &at, RL_LOGS_DELETE, name) != 0)
            goto done;
        deleted.us[deleted.count++] = bench_now_us() - start;
    }
    printf("logs: %u created one at a time at %s, the leader of default\n",
           o->creates, pool->endpoint[at]);
    s_print_times("create, until committed (LOGS_OK)", &created);
    if (o->append) {
        s_print_times("create, until a first append is acknowledged",
                      &writable);
        printf("  (NOT_FOUND from a node that had not applied a creation "
               "yet: %u, retried)\n",
               not_found);
    }
    if (!o->keep)
        s_print_times("delete, until committed (LOGS_OK)", &deleted);
    rc = 0;
done:
    free(created.us);
    free(writable.us);
    free(deleted.us);
    return rc;
}

/* The value of counter name in a STATUS_OK, or -1. */
static int64_t s_counter(const rl_status_ok_t *s, const char *name)
{
    size_t size = strlen(name);
    for (size_t i = 0; i < s->counter_count; i++)
        if (s->counters[i].name.size == size &&
            memcmp(s->counters[i].name.ptr, name, size) == 0)
            return (int64_t)s->counters[i].value;
    return -1;
}

/* Brings idle-1..idle-N into being and waits until they are quiet. */
static int s_idle(bench_pool_t *pool, const s_options_t *o)
{
    int64_t start = bench_now_us();
    size_t nodes = pool->count;
    int created = bench_logs_ensure(pool, "idle-", o->idle, 3600 * 1000);
    if (created < 0)
        return -1;
    double made_s = (bench_now_us() - start) / 1e6;
    printf("logs: idle-1..idle-%u exist (%d created now, in %.1f s, every "
           "one led)\n",
           o->idle, created, made_s);
    int64_t since = bench_now_us();
    int64_t deadline = since + (int64_t)(o->wait_quiet * 1e6);
    int rc = -1;
    for (;;) {
        size_t all_quiet = 0;
        int64_t logs[BENCH_MAX_ENDPOINTS], quiet[BENCH_MAX_ENDPOINTS];
        uint64_t leads[BENCH_MAX_ENDPOINTS] = {0}, ids[BENCH_MAX_ENDPOINTS];
        for (size_t i = 0; i < nodes; i++) {
            rl_msg_t request;
            rl_msg_init(&request, RL_MSG_STATUS_REQUEST);
            bench_reply_t reply;
            logs[i] = quiet[i] = -1;
            ids[i] = 0;
            if (bench_call(pool, (int)i, &request, &reply, 2000) == 0 &&
                reply.msg.type == RL_MSG_STATUS_OK) {
                const rl_status_ok_t *s = &reply.msg.body.status_ok;
                logs[i] = s_counter(s, "logs");
                quiet[i] = s_counter(s, "logs_quiet");
                ids[i] = s->id;
                for (size_t g = 0; g < s->log_count; g++)
                    leads[i] += s->logs[g].leader == s->id;
            }
            bench_reply_close(&reply);
            /* `default` (counted in logs) never goes quiet. */
            all_quiet += logs[i] > 0 && quiet[i] >= logs[i] - 1;
        }
        int64_t now = bench_now_us();
        if (all_quiet == nodes || now >= deadline) {
            printf("  %s after %.1f s:",
                   all_quiet == nodes ? "quiet" : "NOT quiet",
                   (now - since) / 1e6);
            for (size_t i = 0; i < nodes; i++)
                printf(" node %" PRIu64 " hosts %" PRId64 " logs, %" PRId64
                       " quiet, leads %" PRIu64 "%s",
                       ids[i], logs[i], quiet[i], leads[i],
                       i + 1 < nodes ? ";" : "\n");
            rc = all_quiet == nodes ? 0 : 1;
            break;
        }
        zclock_sleep(500);
    }
    return rc;
}

int bench_logs(int argc, char **argv)
{
    s_options_t o;
    int rc = s_parse(&o, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    zsys_handler_set(NULL);
    if (bench_keys_load() != 0)
        return 2;
    bench_pool_t pool;
    bench_pool_init(&pool);
    int status = 1;
    if (bench_pool_add_list(&pool, o.endpoints) == 0)
        fprintf(stderr, "raftlog-bench logs: no endpoint in '%s'\n",
                o.endpoints);
    else if ((o.creates == 0 || s_creates(&pool, &o) == 0) &&
             (o.idle == 0 || s_idle(&pool, &o) == 0))
        status = 0;
    bench_pool_close(&pool);
    bench_keys_free();
    return status;
}

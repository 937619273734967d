/*  rl_broker_config.c - flags and config file of raftlog-broker; see
    rl_broker_config.h.

    The config file is ZPL (czmq's zconfig), e.g.:

        broker
            endpoint = tcp://127.0.0.1:7100
            heartbeat_ms = 250
        nodes
            1 = tcp://127.0.0.1:7101
            2 = tcp://127.0.0.1:7102
            3 = tcp://127.0.0.1:7103

    The names under "nodes" are labels only: the broker learns each node's
    id from its STATUS replies.
*/
#include "rl_broker_config.h"

#include <string.h>

#include "rl_http.h"
#include "rl_logging.h"
#include "rl_options.h"

static int s_check_endpoint(const char *name, const char *v, char *err)
{
    if (rl_options_endpoint(name, v, "tcp://127.0.0.1:7101", err))
        return -1;
    if (strlen(v) > RL_MAX_ENDPOINT)
        return rl_options_fail(err,
                               "%s: '%.40s...' is longer than %u characters",
                               name, v, RL_MAX_ENDPOINT);
    return 0;
}

static int s_set_endpoint(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    if (s_check_endpoint("front endpoint", v, err))
        return -1;
    snprintf(c->endpoint, sizeof(c->endpoint), "%s", v);
    return 0;
}

static int s_add_node(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    if (s_check_endpoint("node endpoint", v, err))
        return -1;
    for (size_t i = 0; i < c->node_count; i++)
        if (strcmp(c->nodes[i], v) == 0)
            return rl_options_fail(err, "node endpoint %s is given twice", v);
    if (c->node_count == RL_MAX_MEMBERS)
        return rl_options_fail(err, "at most %u nodes can be given",
                               RL_MAX_MEMBERS);
    snprintf(c->nodes[c->node_count++], RL_MAX_ENDPOINT + 1, "%s", v);
    return 0;
}

/* --nodes A,B,C (commas or spaces). */
static int s_set_nodes(void *config, const char *v, char *err)
{
    char copy[RL_MAX_MEMBERS * (RL_MAX_ENDPOINT + 1)];
    if (strlen(v) >= sizeof(copy))
        return rl_options_fail(err, "--nodes: the list is too long");
    strcpy(copy, v);
    char *save = NULL;
    for (char *one = strtok_r(copy, ", ", &save); one;
         one = strtok_r(NULL, ", ", &save))
        if (s_add_node(config, one, err))
            return -1;
    return 0;
}

#define S_U32_SETTER(fn, field, name, min, max)                                \
    static int fn(void *config, const char *v, char *err)                      \
    {                                                                          \
        rl_broker_config_t *c = config;                                        \
        return rl_options_u32(name, v, min, max, false, &c->field, err);       \
    }

S_U32_SETTER(s_set_heartbeat, heartbeat_ms, "heartbeat interval", 1, 60000)
S_U32_SETTER(s_set_liveness, liveness, "liveness", 1, 100)
S_U32_SETTER(s_set_request_timeout, request_timeout_ms, "request timeout", 1,
             3600000)
S_U32_SETTER(s_set_no_leader, no_leader_ms, "no-leader timeout", 0, 3600000)
S_U32_SETTER(s_set_drain, drain_ms, "drain timeout", 0, 3600000)
S_U32_SETTER(s_set_max_in_flight, max_in_flight, "maximum in flight", 1,
             10000000)
S_U32_SETTER(s_set_node_queue, node_queue, "node queue", 1, 10000000)
S_U32_SETTER(s_set_max_clients, max_clients, "maximum clients", 1, 10000000)
S_U32_SETTER(s_set_max_client_requests, max_client_requests,
             "maximum requests per client", 1, 10000000)
S_U32_SETTER(s_set_max_read_wait, max_read_wait_ms, "maximum read wait", 0,
             UINT32_MAX)
S_U32_SETTER(s_set_max_logs, max_logs, "maximum logs", 1, 10000000)

static int s_set_max_message(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    return rl_options_u32("maximum message size", v, 64u << 10,
                          RL_MAX_MESSAGE_SIZE, true, &c->max_message_bytes,
                          err);
}

static int s_set_max_client_queue(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    return rl_options_u64("maximum client queue", v, 64u << 10, UINT64_MAX,
                          true, &c->max_client_queue_bytes, err);
}

static int s_set_max_queue(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    return rl_options_u64("maximum queue", v, 64u << 10, UINT64_MAX, true,
                          &c->max_queue_bytes, err);
}

/* Copies a path option's value. */
static int s_path(const char *name, const char *v, char *dest, size_t size,
                  char *err)
{
    if (!*v || strlen(v) >= size)
        return rl_options_fail(err, "%s: '%.40s' must be 1 to %zu characters",
                               name, v, size - 1);
    strcpy(dest, v);
    return 0;
}

static int s_set_cert(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    return s_path("--cert", v, c->cert, sizeof(c->cert), err);
}

static int s_set_front_cert(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    return s_path("--front-cert", v, c->front_cert, sizeof(c->front_cert), err);
}

static int s_set_keys(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    return s_path("--keys", v, c->keys_dir, sizeof(c->keys_dir), err);
}

static int s_set_server_key(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    return s_path("--server-key", v, c->server_key, sizeof(c->server_key), err);
}

static int s_set_insecure(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    /* The flag gives "true"; the file may say on, off, true or false. */
    if (strcmp(v, "true") == 0)
        v = "on";
    else if (strcmp(v, "false") == 0)
        v = "off";
    return rl_options_on_off("insecure", v, &c->insecure, err);
}

static int s_set_log_level(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    return rl_options_log_level(v, &c->log_level, err);
}

/* --metrics-endpoint HOST:PORT; "off" (or empty) turns it off. */
static int s_set_metrics(void *config, const char *v, char *err)
{
    rl_broker_config_t *c = config;
    char why[256];
    if (!v[0] || strcmp(v, "off") == 0)
        c->metrics_endpoint[0] = '\0';
    else if (rl_http_check_listen(v, why) != 0)
        return rl_options_fail(err, "metrics endpoint: %s", why);
    else if (strlen(v) >= sizeof(c->metrics_endpoint))
        return rl_options_fail(err, "metrics endpoint: '%.40s...' is too long",
                               v);
    else
        snprintf(c->metrics_endpoint, sizeof(c->metrics_endpoint), "%s", v);
    return 0;
}

S_U32_SETTER(s_set_max_metrics_connections, max_metrics_connections,
             "maximum metrics connections", 1, 1024)

/* The options, in --help order. "config" is handled before the others. */
static const rl_option_t s_options[] = {
    RL_OPTION_CONFIG,
    {"endpoint", "broker/endpoint", "ENDPOINT", RL_BROKER_DEFAULT_ENDPOINT,
     "where clients connect (the broker's front door)", s_set_endpoint, false},
    {"nodes", NULL, "LIST", NULL,
     "the nodes' client endpoints, separated by commas, required (file: "
     "nodes/NAME = ENDPOINT, one per node)",
     s_set_nodes, true},
    {"node", NULL, "ENDPOINT", NULL, "one node's client endpoint, repeatable",
     s_add_node, true},
    {"heartbeat", "broker/heartbeat_ms", "MS", "250",
     "poll each node's STATUS this often (the heartbeat)", s_set_heartbeat,
     false},
    {"liveness", "broker/liveness", "N", "3",
     "a node that misses N heartbeats in a row is dead until it answers "
     "again",
     s_set_liveness, false},
    {"request-timeout", "broker/request_timeout_ms", "MS", "5000",
     "a request not answered by then, retries included, gets TIMEOUT "
     "(long-poll reads: wait_ms more)",
     s_set_request_timeout, false},
    {"no-leader-timeout", "broker/no_leader_ms", "MS", "3000",
     "a request that needs the leader waits this long for one, then gets "
     "NO_LEADER",
     s_set_no_leader, false},
    {"drain-timeout", "broker/drain_ms", "MS", "5000",
     "on SIGINT/SIGTERM, let requests in flight finish for this long",
     s_set_drain, false},
    {"max-in-flight", "limits/max_in_flight", "N", "100000",
     "requests held at once; more get BUSY", s_set_max_in_flight, false},
    {"node-queue", "limits/node_queue", "N", "10000",
     "messages queued to one node; a full queue is not waited on",
     s_set_node_queue, false},
    {"max-message", "limits/max_message_bytes", "BYTES", "64M",
     "largest message a client may send (at most 64M); a bigger one closes "
     "its connection",
     s_set_max_message, false},
    {"max-clients", "limits/max_clients", "N", "10000",
     "client connections at once (fewer when the descriptor limit is "
     "lower); more are closed when they connect",
     s_set_max_clients, false},
    {"max-client-requests", "limits/max_client_requests", "N", "10000",
     "requests held for one client connection; more get BUSY",
     s_set_max_client_requests, false},
    {"max-client-queue", "limits/max_client_queue_bytes", "BYTES", "64M",
     "replies waiting to be read by one client connection; past it its "
     "requests get BUSY",
     s_set_max_client_queue, false},
    {"max-queue", "limits/max_queue_bytes", "BYTES", "512M",
     "replies waiting to be read by all clients; past it requests get BUSY",
     s_set_max_queue, false},
    {"max-read-wait", "limits/max_read_wait_ms", "MS", "60000",
     "a long poll waits at most this long (a longer wait_ms is cut to it)",
     s_set_max_read_wait, false},
    {"max-logs", "limits/max_logs", "N", "10000",
     "named logs whose leaders the broker tracks (learnt from the nodes); "
     "requests for others follow each NOT_LEADER on their own",
     s_set_max_logs, false},
    {"metrics-endpoint", "metrics/endpoint", "HOST:PORT", "off",
     "serve /metrics (Prometheus), /healthz and /readyz over HTTP there; "
     "unauthenticated: use 127.0.0.1 or a monitoring-only interface",
     s_set_metrics, false},
    {"max-metrics-connections", "limits/max_metrics_connections", "N", "16",
     "HTTP connections to the metrics endpoint at once (1-1024)",
     s_set_max_metrics_connections, false},
    {"cert", "security/cert", "FILE", NULL,
     "the broker's CURVE certificate (the NAME_secret file of raftlog "
     "keygen NAME --role broker): its identity to the nodes, and the front "
     "door's unless --front-cert; with --keys and --server-key, turns CURVE "
     "on",
     s_set_cert, false},
    {"front-cert", "security/front_cert", "FILE", "--cert",
     "the front door's certificate, when clients should see another key",
     s_set_front_cert, false},
    {"keys", "security/keys", "DIR", NULL,
     "directory of the public certificates of the clients allowed, each "
     "with its role; re-read when it changes",
     s_set_keys, false},
    {"server-key", "security/server_key", "FILE", NULL,
     "the nodes' front-door public certificate (their --front-cert, or "
     "--cert)",
     s_set_server_key, false},
    {"insecure", "security/insecure", NULL, "off",
     "run without CURVE even where the network reaches (see "
     "docs/SECURITY.md)",
     s_set_insecure, false},
    {"log-level", "log/level", "LEVEL", "info",
     "error, warn, info or debug (logs go to stderr)", s_set_log_level, false},
    RL_OPTION_HELP,
};

/* The file's nodes section: nodes/NAME = ENDPOINT, one per node. */
static int s_load_nodes(void *config, zconfig_t *root, char *err)
{
    zconfig_t *nodes = zconfig_locate(root, "nodes");
    for (zconfig_t *n = nodes ? zconfig_child(nodes) : NULL; n;
         n = zconfig_next(n)) {
        const char *value = zconfig_value(n);
        if (s_add_node(config, value ? value : "", err))
            return -1;
    }
    return 0;
}

static void s_clear_nodes(void *config)
{
    rl_broker_config_t *c = config;
    c->node_count = 0;
}

static const rl_options_t s_spec = {
    .options = s_options,
    .count = sizeof(s_options) / sizeof(s_options[0]),
    .flag_width = 28,
    .load_list = s_load_nodes,
    .list_key = "nodes",
    .clear_list = s_clear_nodes,
};

void rl_broker_config_usage(FILE *out, const char *program)
{
    fprintf(out,
            "usage: %s --nodes ENDPOINT,ENDPOINT,... [options]\n"
            "       %s --config FILE [options]\n\n"
            "One stable front door to a raftlog cluster: clients talk to it "
            "as to a node\n(docs/PROTOCOL.md) and it routes each request to "
            "the right node. Options\n(config file key in brackets):\n",
            program, program);
    rl_options_print(&s_spec, out);
    fprintf(out,
            "\nExample, the local cluster of scripts/run:\n  %s "
            "--nodes tcp://127.0.0.1:7101,tcp://127.0.0.1:7102,"
            "tcp://127.0.0.1:7103\nSee docs/BROKER.md.\n",
            program);
}

static void s_defaults(rl_broker_config_t *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->endpoint, RL_BROKER_DEFAULT_ENDPOINT);
    c->heartbeat_ms = 250;
    c->liveness = 3;
    c->request_timeout_ms = 5000;
    c->no_leader_ms = 3000;
    c->drain_ms = 5000;
    c->max_in_flight = 100000;
    c->node_queue = 10000;
    c->max_message_bytes = RL_MAX_MESSAGE_SIZE;
    c->max_clients = 10000;
    c->max_client_requests = 10000;
    c->max_client_queue_bytes = 64u << 20;
    c->max_queue_bytes = 512u << 20;
    c->max_read_wait_ms = 60000;
    c->max_logs = 10000;
    c->max_metrics_connections = 16;
    c->log_level = RL_LOG_INFO;
}

/* The keys, or the lack of them (docs/SECURITY.md): all or none, and
   none only on a front door this machine alone reaches, or --insecure. */
static int s_validate_keys(rl_broker_config_t *c, char *err)
{
    bool any =
        c->cert[0] || c->keys_dir[0] || c->server_key[0] || c->front_cert[0];
    if (c->insecure && any)
        return rl_options_fail(err, "--insecure turns CURVE off, and keys are "
                                    "given (--cert, --front-cert, --keys or "
                                    "--server-key): drop one or the other");
    if (any && (!c->cert[0] || !c->keys_dir[0] || !c->server_key[0]))
        return rl_options_fail(
            err, "CURVE needs --cert (the broker's certificate, role "
                 "broker), --keys (the clients' public certificates) and "
                 "--server-key (the nodes' front-door public certificate); "
                 "see docs/SECURITY.md");
    if (!any && !c->insecure && !rl_options_endpoint_is_local(c->endpoint))
        return rl_options_fail(
            err,
            "%s may be reached from the network, and this broker has no "
            "keys: give --cert, --keys and --server-key (docs/SECURITY.md), "
            "or --insecure to run without authentication and encryption "
            "anyway",
            c->endpoint);
    return 0;
}

int rl_broker_config_parse(rl_broker_config_t *c, int argc, char **argv,
                           char *err)
{
    s_defaults(c);
    if (rl_options_parse(&s_spec, c, argc, argv, &c->help, err))
        return -1;
    if (c->help)
        return 0;
    if (c->node_count == 0)
        return rl_options_fail(
            err, "no nodes: give --nodes with the client endpoints "
                 "of the cluster's nodes (or a nodes section in "
                 "the config file)");
    if (c->max_queue_bytes < c->max_client_queue_bytes)
        return rl_options_fail(err, "--max-queue must be at least "
                                    "--max-client-queue");
    for (size_t i = 0; i < c->node_count; i++)
        if (strcmp(c->nodes[i], c->endpoint) == 0)
            return rl_options_fail(
                err,
                "the front endpoint %s is also given as a node; "
                "the broker needs its own port",
                c->endpoint);
    return s_validate_keys(c, err);
}

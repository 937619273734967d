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

#include <czmq.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "rl_config.h" /* rl_log_level_t, shared with the node's logging */

typedef int (*s_setter_fn)(rl_broker_config_t *config, const char *value,
                           char *err);

/* One option: a flag, its config file key, and how to apply a value. */
typedef struct {
    const char *flag;    /* long flag without "--" */
    const char *key;     /* ZPL path in the config file, NULL: flag only */
    const char *metavar; /* argument's name, NULL: a switch */
    const char *def;     /* default, as shown by --help */
    const char *help;    /* one line of --help */
    s_setter_fn set;     /* applies a value (a switch gets "true") */
} s_option_t;

static int s_fail(char *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int s_fail(char *err, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(err, RL_BROKER_CONFIG_ERROR_SIZE, format, args);
    va_end(args);
    return -1;
}

static int s_number(const char *name, const char *value, uint64_t min,
                    uint64_t max, uint32_t *out, char *err)
{
    errno = 0;
    char *end = NULL;
    unsigned long long number =
        value && *value && *value != '-' && *value != '+'
            ? strtoull(value, &end, 10)
            : 0;
    if (!value || !*value || *value == '-' || *value == '+' || errno ||
        end == value || *end || number < min || number > max)
        return s_fail(err,
                      "%s: '%s' is not a whole number from %llu to %llu; fix "
                      "the value",
                      name, value ? value : "", (unsigned long long)min,
                      (unsigned long long)max);
    *out = (uint32_t)number;
    return 0;
}

static int s_check_endpoint(const char *name, const char *v, char *err)
{
    if (strncmp(v, "tcp://", 6) && strncmp(v, "ipc://", 6) &&
        strncmp(v, "inproc://", 9))
        return s_fail(err,
                      "%s: '%s' is not a ZeroMQ endpoint; write it like "
                      "tcp://127.0.0.1:7101",
                      name, v);
    if (strlen(v) > RL_MAX_ENDPOINT)
        return s_fail(err, "%s: '%.40s...' is longer than %u characters", name,
                      v, RL_MAX_ENDPOINT);
    return 0;
}

static int s_set_endpoint(rl_broker_config_t *c, const char *v, char *err)
{
    if (s_check_endpoint("front endpoint", v, err))
        return -1;
    snprintf(c->endpoint, sizeof(c->endpoint), "%s", v);
    return 0;
}

static int s_add_node(rl_broker_config_t *c, const char *v, char *err)
{
    if (s_check_endpoint("node endpoint", v, err))
        return -1;
    for (size_t i = 0; i < c->node_count; i++)
        if (strcmp(c->nodes[i], v) == 0)
            return s_fail(err, "node endpoint %s is given twice", v);
    if (c->node_count == RL_MAX_MEMBERS)
        return s_fail(err, "at most %u nodes can be given", RL_MAX_MEMBERS);
    snprintf(c->nodes[c->node_count++], RL_MAX_ENDPOINT + 1, "%s", v);
    return 0;
}

/* --nodes A,B,C (commas or spaces). */
static int s_set_nodes(rl_broker_config_t *c, const char *v, char *err)
{
    char copy[RL_MAX_MEMBERS * (RL_MAX_ENDPOINT + 1)];
    if (strlen(v) >= sizeof(copy))
        return s_fail(err, "--nodes: the list is too long");
    strcpy(copy, v);
    char *save = NULL;
    for (char *one = strtok_r(copy, ", ", &save); one;
         one = strtok_r(NULL, ", ", &save))
        if (s_add_node(c, one, err))
            return -1;
    return 0;
}

#define S_U32_SETTER(fn, field, name, min, max)                                \
    static int fn(rl_broker_config_t *c, const char *v, char *err)             \
    {                                                                          \
        return s_number(name, v, min, max, &c->field, err);                    \
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

static int s_set_log_level(rl_broker_config_t *c, const char *v, char *err)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int level = 0; level < 4; level++)
        if (strcmp(v, names[level]) == 0) {
            c->log_level = level;
            return 0;
        }
    return s_fail(err, "log level: '%s' must be error, warn, info or debug", v);
}

static int s_set_help(rl_broker_config_t *c, const char *v, char *err)
{
    (void)v;
    (void)err;
    c->help = true;
    return 0;
}

/* The options, in --help order. "config" is handled before the others. */
static const s_option_t s_options[] = {
    {"config", NULL, "FILE", NULL,
     "read settings from FILE (ZPL format; flags override it)", NULL},
    {"endpoint", "broker/endpoint", "ENDPOINT", RL_BROKER_DEFAULT_ENDPOINT,
     "where clients connect (the broker's front door)", s_set_endpoint},
    {"nodes", NULL, "LIST", NULL,
     "the nodes' client endpoints, separated by commas, required (file: "
     "nodes/NAME = ENDPOINT, one per node)",
     s_set_nodes},
    {"node", NULL, "ENDPOINT", NULL, "one node's client endpoint, repeatable",
     s_add_node},
    {"heartbeat", "broker/heartbeat_ms", "MS", "250",
     "poll each node's STATUS this often (the heartbeat)", s_set_heartbeat},
    {"liveness", "broker/liveness", "N", "3",
     "a node that misses N heartbeats in a row is dead until it answers "
     "again",
     s_set_liveness},
    {"request-timeout", "broker/request_timeout_ms", "MS", "5000",
     "a request not answered by then, retries included, gets TIMEOUT "
     "(long-poll reads: wait_ms more)",
     s_set_request_timeout},
    {"no-leader-timeout", "broker/no_leader_ms", "MS", "3000",
     "a request that needs the leader waits this long for one, then gets "
     "NO_LEADER",
     s_set_no_leader},
    {"drain-timeout", "broker/drain_ms", "MS", "5000",
     "on SIGINT/SIGTERM, let requests in flight finish for this long",
     s_set_drain},
    {"max-in-flight", "limits/max_in_flight", "N", "100000",
     "requests held at once; more get BUSY", s_set_max_in_flight},
    {"node-queue", "limits/node_queue", "N", "10000",
     "messages queued to one node; a full queue is not waited on",
     s_set_node_queue},
    {"log-level", "log/level", "LEVEL", "info",
     "error, warn, info or debug (logs go to stderr)", s_set_log_level},
    {"help", NULL, NULL, NULL, "show this help and exit", s_set_help},
};

#define S_OPTION_COUNT (sizeof(s_options) / sizeof(s_options[0]))

void rl_broker_config_usage(FILE *out, const char *program)
{
    fprintf(out,
            "usage: %s --nodes ENDPOINT,ENDPOINT,... [options]\n"
            "       %s --config FILE [options]\n\n"
            "One stable front door to a raftlog cluster: clients talk to it "
            "as to a node\n(docs/PROTOCOL.md) and it routes each request to "
            "the right node. Options\n(config file key in brackets):\n",
            program, program);
    for (size_t i = 0; i < S_OPTION_COUNT; i++) {
        const s_option_t *o = &s_options[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->flag, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-28s %s", left, o->help);
        if (o->def)
            fprintf(out, "; default %s", o->def);
        if (o->key)
            fprintf(out, " [%s]", o->key);
        fprintf(out, "\n");
    }
    fprintf(out,
            "\nExample, the local cluster of scripts/run:\n  %s "
            "--nodes tcp://127.0.0.1:7101,tcp://127.0.0.1:7102,"
            "tcp://127.0.0.1:7103\nSee docs/BROKER.md.\n",
            program);
}

static const s_option_t *s_find(const char *flag, size_t length)
{
    for (size_t i = 0; i < S_OPTION_COUNT; i++)
        if (strlen(s_options[i].flag) == length &&
            strncmp(s_options[i].flag, flag, length) == 0)
            return &s_options[i];
    return NULL;
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
    c->log_level = RL_LOG_INFO;
}

static int s_load_file(rl_broker_config_t *c, const char *path, char *err)
{
    zconfig_t *root = zconfig_load(path);
    if (!root)
        return s_fail(err,
                      "config file %s cannot be read or is not valid ZPL "
                      "(indent with 4 spaces, 'key = value')",
                      path);
    int rc = 0;
    for (size_t i = 0; i < S_OPTION_COUNT && rc == 0; i++) {
        const s_option_t *o = &s_options[i];
        if (!o->key)
            continue;
        const char *value = zconfig_get(root, o->key, NULL);
        if (value && (rc = o->set(c, value, err)) != 0) {
            char inner[RL_BROKER_CONFIG_ERROR_SIZE];
            snprintf(inner, sizeof(inner), "%s", err);
            s_fail(err, "%s: %s: %.400s", path, o->key, inner);
        }
    }
    zconfig_t *nodes = zconfig_locate(root, "nodes");
    for (zconfig_t *n = nodes ? zconfig_child(nodes) : NULL; n && rc == 0;
         n = zconfig_next(n)) {
        const char *value = zconfig_value(n);
        rc = s_add_node(c, value ? value : "", err);
    }
    zconfig_destroy(&root);
    return rc;
}

int rl_broker_config_parse(rl_broker_config_t *c, int argc, char **argv,
                           char *err)
{
    s_defaults(c);
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        if (strncmp(argv[i], "--config=", 9) == 0)
            value = argv[i] + 9;
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            value = argv[i + 1];
        if (value && s_load_file(c, value, err))
            return -1;
    }
    bool nodes_from_flags = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0)
            return s_fail(err, "unexpected argument '%s'; see --help", arg);
        const char *name = arg + 2;
        const char *equals = strchr(name, '=');
        size_t length = equals ? (size_t)(equals - name) : strlen(name);
        const s_option_t *o = s_find(name, length);
        if (!o)
            return s_fail(err, "unknown option '%s'; see --help", arg);
        const char *value = "true";
        if (o->metavar) {
            if (equals)
                value = equals + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return s_fail(err, "option --%s needs a value (%s)", o->flag,
                              o->metavar);
        } else if (equals) {
            return s_fail(err, "option --%s takes no value", o->flag);
        }
        if (!o->set)
            continue; /* --config, already applied */
        if ((o->set == s_set_nodes || o->set == s_add_node) &&
            !nodes_from_flags) {
            c->node_count = 0; /* flags replace the file's nodes */
            nodes_from_flags = true;
        }
        if (o->set(c, value, err))
            return -1;
    }
    if (c->help)
        return 0;
    if (c->node_count == 0)
        return s_fail(err, "no nodes: give --nodes with the client endpoints "
                           "of the cluster's nodes (or a nodes section in "
                           "the config file)");
    for (size_t i = 0; i < c->node_count; i++)
        if (strcmp(c->nodes[i], c->endpoint) == 0)
            return s_fail(err,
                          "the front endpoint %s is also given as a node; "
                          "the broker needs its own port",
                          c->endpoint);
    return 0;
}

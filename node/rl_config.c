/*  rl_config.c - flags and config file of raftlog-node; see rl_config.h.

    The config file is ZPL (czmq's zconfig), e.g.:

        cluster
            id = demo
        node
            id = 1
            data = ./var/node1
        members
            1
                peer = tcp://127.0.0.1:7001
                client = tcp://127.0.0.1:7101
            2
                ...
        raft
            election_timeout_ms = 1000
*/
#include "rl_config.h"

#include <czmq.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

typedef int (*s_setter_fn)(rl_config_t *config, const char *value, char *err);

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
{
    va_list args;
    va_start(args, format);
    vsnprintf(err, RL_CONFIG_ERROR_SIZE, format, args);
    va_end(args);
    return -1;
}

/* Parses a whole decimal number with an optional binary size suffix
   (K, M, G, T, with or without "iB"/"B"). */
static int s_parse_size(const char *value, bool suffixes, uint64_t *out)
{
    if (!value || !*value || *value == '-' || *value == '+')
        return -1;
    errno = 0;
    char *end;
    unsigned long long number = strtoull(value, &end, 10);
    if (errno || end == value)
        return -1;
    unsigned shift = 0;
    if (suffixes && *end) {
        const char *units = "KMGT";
        const char *unit = strchr(units, *end);
        if (!unit)
            return -1;
        shift = 10u * (unsigned)(unit - units + 1);
        end++;
        if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
            end += strlen(end);
    }
    if (*end)
        return -1;
    if (shift && number > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)number << shift;
    return 0;
}

static int s_number(const char *name, const char *value, uint64_t max,
                    bool suffixes, uint64_t *out, char *err)
{
    if (s_parse_size(value, suffixes, out) || *out > max)
        return s_fail(
            err, "%s: '%s' is not a %s from 0 to %llu%s; fix the value", name,
            value, suffixes ? "size" : "whole number", (unsigned long long)max,
            suffixes ? " (suffixes K, M, G, T allowed)" : "");
    return 0;
}

static int s_copy(const char *name, const char *value, char *dest, size_t size,
                  char *err)
{
    size_t length = strlen(value);
    if (length == 0 || length >= size)
        return s_fail(err, "%s: '%s' must be 1 to %zu characters", name, value,
                      size - 1);
    memcpy(dest, value, length + 1);
    return 0;
}

static int s_set_cluster(rl_config_t *c, const char *v, char *err)
{
    return s_copy("cluster id", v, c->cluster_id, sizeof(c->cluster_id), err);
}

static int s_set_id(rl_config_t *c, const char *v, char *err)
{
    if (s_number("node id", v, UINT64_MAX, false, &c->id, err))
        return -1;
    if (c->id == 0)
        return s_fail(err, "node id: must be 1 or more");
    return 0;
}

static int s_set_data(rl_config_t *c, const char *v, char *err)
{
    return s_copy("data directory", v, c->data_dir, sizeof(c->data_dir), err);
}

static int s_check_endpoint(const char *name, const char *v, char *err)
{
    if (strncmp(v, "tcp://", 6) && strncmp(v, "ipc://", 6) &&
        strncmp(v, "inproc://", 9))
        return s_fail(err,
                      "%s: '%s' is not a ZeroMQ endpoint; write it like "
                      "tcp://127.0.0.1:7001",
                      name, v);
    return 0;
}

static int s_set_peer(rl_config_t *c, const char *v, char *err)
{
    return s_check_endpoint("peer endpoint", v, err) ||
           s_copy("peer endpoint", v, c->peer, sizeof(c->peer), err);
}

static int s_set_client(rl_config_t *c, const char *v, char *err)
{
    return s_check_endpoint("client endpoint", v, err) ||
           s_copy("client endpoint", v, c->client, sizeof(c->client), err);
}

/* Adds a member from its id and endpoints. */
static int s_add_member(rl_config_t *c, const char *id, const char *peer,
                        const char *client, char *err)
{
    if (c->member_count == RL_MAX_MEMBERS)
        return s_fail(err, "member %s: at most %u members are allowed", id,
                      RL_MAX_MEMBERS);
    rl_config_member_t *m = &c->members[c->member_count];
    memset(m, 0, sizeof(*m));
    if (s_number("member id", id, UINT64_MAX, false, &m->id, err))
        return -1;
    if (m->id == 0)
        return s_fail(err, "member id: must be 1 or more");
    if (!peer || !client || !*peer || !*client)
        return s_fail(err, "member %s: needs a peer and a client endpoint", id);
    if (s_check_endpoint("member peer endpoint", peer, err) ||
        s_check_endpoint("member client endpoint", client, err) ||
        s_copy("member peer endpoint", peer, m->peer, sizeof(m->peer), err) ||
        s_copy("member client endpoint", client, m->client, sizeof(m->client),
               err))
        return -1;
    c->member_count++;
    return 0;
}

/* --member ID=PEER,CLIENT */
static int s_set_member(rl_config_t *c, const char *v, char *err)
{
    char copy[2 * RL_MAX_ENDPOINT + 64];
    if (strlen(v) >= sizeof(copy))
        return s_fail(err, "--member: '%.40s...' is too long", v);
    strcpy(copy, v);
    char *equals = strchr(copy, '=');
    char *comma = equals ? strchr(equals, ',') : NULL;
    if (!equals || !comma)
        return s_fail(err,
                      "--member: '%s' must look like "
                      "ID=PEER_ENDPOINT,CLIENT_ENDPOINT",
                      v);
    *equals = '\0';
    *comma = '\0';
    return s_add_member(c, copy, equals + 1, comma + 1, err);
}

static int s_set_join(rl_config_t *c, const char *v, char *err)
{
    (void)err;
    c->join = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    return 0;
}

#define S_U32_SETTER(fn, field, name, suffixes)                                \
    static int fn(rl_config_t *c, const char *v, char *err)                    \
    {                                                                          \
        uint64_t n;                                                            \
        if (s_number(name, v, UINT32_MAX, suffixes, &n, err))                  \
            return -1;                                                         \
        c->field = (uint32_t)n;                                                \
        return 0;                                                              \
    }
#define S_U64_SETTER(fn, field, name)                                          \
    static int fn(rl_config_t *c, const char *v, char *err)                    \
    {                                                                          \
        return s_number(name, v, UINT64_MAX, true, &c->field, err);            \
    }

S_U32_SETTER(s_set_election, election_timeout_ms, "election timeout", false)
S_U32_SETTER(s_set_heartbeat, heartbeat_ms, "heartbeat interval", false)
S_U32_SETTER(s_set_request_timeout, request_timeout_ms, "request timeout",
             false)
S_U32_SETTER(s_set_max_entry, max_entry_bytes, "maximum entry size", true)
S_U32_SETTER(s_set_max_batch, max_batch_entries, "maximum batch", false)
S_U64_SETTER(s_set_segment, segment_bytes, "segment size")
S_U64_SETTER(s_set_uncommitted, max_uncommitted_bytes,
             "maximum uncommitted bytes")
S_U64_SETTER(s_set_retention, retention_bytes, "retention")
S_U64_SETTER(s_set_min_free, min_free_bytes, "minimum free space")

static int s_set_fsync(rl_config_t *c, const char *v, char *err)
{
    if (strcmp(v, "on") == 0 || strcmp(v, "always") == 0)
        c->fsync = true;
    else if (strcmp(v, "off") == 0)
        c->fsync = false;
    else
        return s_fail(err, "fsync: '%s' must be 'on' or 'off'", v);
    return 0;
}

static int s_set_log_level(rl_config_t *c, const char *v, char *err)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int level = 0; level < 4; level++)
        if (strcmp(v, names[level]) == 0) {
            c->log_level = level;
            return 0;
        }
    return s_fail(err, "log level: '%s' must be error, warn, info or debug", v);
}

static int s_set_check(rl_config_t *c, const char *v, char *err)
{
    return s_copy("--check", v, c->check_dir, sizeof(c->check_dir), err);
}

static int s_set_help(rl_config_t *c, const char *v, char *err)
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
    {"cluster-id", "cluster/id", "NAME", "raftlog",
     "the cluster's name; nodes refuse peers and data of another cluster",
     s_set_cluster},
    {"id", "node/id", "N", NULL, "this node's id (1 or more), required",
     s_set_id},
    {"data", "node/data", "DIR", NULL,
     "data directory (created if missing), required", s_set_data},
    {"member", NULL, "ID=PEER,CLIENT", NULL,
     "a member of the initial cluster, repeated for each (file: members/ID/"
     "peer and members/ID/client)",
     s_set_member},
    {"peer-endpoint", "node/peer", "ENDPOINT", "own member's peer endpoint",
     "where to listen for peers", s_set_peer},
    {"client-endpoint", "node/client", "ENDPOINT",
     "own member's client endpoint", "where to listen for clients",
     s_set_client},
    {"join", "node/join", NULL, "off",
     "start with an empty log and wait to be added to a running cluster "
     "(MEMBERS add); --member flags then only tell where the running "
     "members are",
     s_set_join},
    {"election-timeout", "raft/election_timeout_ms", "MS", "1000",
     "election timeout in ms (randomised between 1x and 2x)", s_set_election},
    {"heartbeat", "raft/heartbeat_ms", "MS", "100",
     "leader heartbeat interval in ms", s_set_heartbeat},
    {"request-timeout", "raft/request_timeout_ms", "MS", "5000",
     "a client request not committed by then gets a TIMEOUT error",
     s_set_request_timeout},
    {"fsync", "storage/fsync", "on|off", "on",
     "fdatasync before acknowledging; off gives up durability (benchmarks "
     "only)",
     s_set_fsync},
    {"segment-size", "storage/segment_bytes", "BYTES", "64M",
     "size of one log segment file", s_set_segment},
    {"retention", "storage/retention_bytes", "BYTES", "0 (keep all)",
     "drop the oldest segments beyond about this much log", s_set_retention},
    {"min-free", "storage/min_free_bytes", "BYTES", "64M",
     "refuse appends with NO_SPACE when the disk has less free space",
     s_set_min_free},
    {"max-entry", "limits/max_entry_bytes", "BYTES", "1M",
     "largest entry accepted (at most 1M)", s_set_max_entry},
    {"max-batch", "limits/max_batch_entries", "N", "65536",
     "most entries in one append request (at most 65536)", s_set_max_batch},
    {"max-uncommitted", "limits/max_uncommitted_bytes", "BYTES", "64M",
     "refuse appends with BUSY past this much uncommitted data",
     s_set_uncommitted},
    {"log-level", "log/level", "LEVEL", "info",
     "error, warn, info or debug (logs go to stderr)", s_set_log_level},
    {"check", NULL, "DIR", NULL,
     "verify the data directory DIR, report, and exit (0 clean, 1 damaged)",
     s_set_check},
    {"help", NULL, NULL, NULL, "show this help and exit", s_set_help},
};

#define S_OPTION_COUNT (sizeof(s_options) / sizeof(s_options[0]))

void rl_config_usage(FILE *out, const char *program)
{
    fprintf(out,
            "usage: %s --id N --data DIR --member ID=PEER,CLIENT ... "
            "[options]\n"
            "       %s --config FILE [options]\n"
            "       %s --check DIR\n\n"
            "A member of a raftlog cluster. Options (config file key in "
            "brackets):\n",
            program, program, program);
    for (size_t i = 0; i < S_OPTION_COUNT; i++) {
        const s_option_t *o = &s_options[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->flag, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-32s %s", left, o->help);
        if (o->def)
            fprintf(out, "; default %s", o->def);
        if (o->key)
            fprintf(out, " [%s]", o->key);
        fprintf(out, "\n");
    }
    fprintf(out, "\nBootstrap a new 3-node cluster: start each node with "
                 "the same three --member\nflags and its own --id. Join a "
                 "running cluster: start the new node with --join,\n"
                 "--peer-endpoint, --client-endpoint and the running "
                 "members' --member flags, then\nadd it (raftlog members "
                 "add ID PEER CLIENT). See docs/OPERATIONS.md.\n");
}

static const s_option_t *s_find(const char *flag, size_t length)
{
    for (size_t i = 0; i < S_OPTION_COUNT; i++)
        if (strlen(s_options[i].flag) == length &&
            strncmp(s_options[i].flag, flag, length) == 0)
            return &s_options[i];
    return NULL;
}

static void s_defaults(rl_config_t *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->cluster_id, "raftlog");
    c->election_timeout_ms = 1000;
    c->heartbeat_ms = 100;
    c->request_timeout_ms = 5000;
    c->fsync = true;
    c->segment_bytes = 64u << 20;
    c->max_entry_bytes = RL_MAX_ENTRY_SIZE;
    c->max_batch_entries = RL_MAX_BATCH_ENTRIES;
    c->max_uncommitted_bytes = 64u << 20;
    c->min_free_bytes = 64u << 20;
    c->log_level = RL_LOG_INFO;
}

/* Applies the config file: every keyed option, then the members section. */
static int s_load_file(rl_config_t *c, const char *path, char *err)
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
            char inner[RL_CONFIG_ERROR_SIZE];
            snprintf(inner, sizeof(inner), "%s", err);
            s_fail(err, "%s: %s: %s", path, o->key, inner);
        }
    }
    zconfig_t *members = zconfig_locate(root, "members");
    for (zconfig_t *m = members ? zconfig_child(members) : NULL; m && rc == 0;
         m = zconfig_next(m)) {
        rc = s_add_member(c, zconfig_name(m), zconfig_get(m, "peer", NULL),
                          zconfig_get(m, "client", NULL), err);
    }
    zconfig_destroy(&root);
    return rc;
}

static int s_validate(rl_config_t *c, char *err)
{
    if (c->id == 0)
        return s_fail(err, "no node id: give --id N (or node/id in the "
                           "config file)");
    if (!c->data_dir[0])
        return s_fail(err, "no data directory: give --data DIR (or "
                           "node/data in the config file)");
    for (size_t i = 0; i < c->member_count; i++)
        for (size_t j = i + 1; j < c->member_count; j++) {
            const rl_config_member_t *a = &c->members[i], *b = &c->members[j];
            if (a->id == b->id)
                return s_fail(err,
                              "member id %llu appears twice; give each "
                              "member its own id",
                              (unsigned long long)a->id);
            if (!strcmp(a->peer, b->peer) || !strcmp(a->client, b->client) ||
                !strcmp(a->peer, b->client) || !strcmp(a->client, b->peer))
                return s_fail(err,
                              "members %llu and %llu share an endpoint; "
                              "each needs its own ports",
                              (unsigned long long)a->id,
                              (unsigned long long)b->id);
        }
    const rl_config_member_t *self = rl_config_member(c, c->id);
    if (!c->join) {
        if (c->member_count == 0)
            return s_fail(err, "no members: give --member ID=PEER,CLIENT for "
                               "each node of the cluster, or --join to join "
                               "a running one");
        if (!self)
            return s_fail(err,
                          "node id %llu is not one of the members; add "
                          "--member %llu=PEER,CLIENT or use --join",
                          (unsigned long long)c->id, (unsigned long long)c->id);
    }
    if (self && !c->peer[0])
        strcpy(c->peer, self->peer);
    if (self && !c->client[0])
        strcpy(c->client, self->client);
    if (!c->peer[0] || !c->client[0])
        return s_fail(err, "a joining node needs --peer-endpoint and "
                           "--client-endpoint");
    if (c->heartbeat_ms == 0 || c->election_timeout_ms < 3ull * c->heartbeat_ms)
        return s_fail(err,
                      "election timeout %u ms must be at least 3 heartbeats "
                      "(heartbeat %u ms, at least 1)",
                      c->election_timeout_ms, c->heartbeat_ms);
    if (c->max_entry_bytes == 0 || c->max_entry_bytes > RL_MAX_ENTRY_SIZE)
        return s_fail(err, "maximum entry size %u must be 1 to %u bytes",
                      c->max_entry_bytes, RL_MAX_ENTRY_SIZE);
    if (c->max_batch_entries == 0 ||
        c->max_batch_entries > RL_MAX_BATCH_ENTRIES)
        return s_fail(err, "maximum batch %u must be 1 to %u entries",
                      c->max_batch_entries, RL_MAX_BATCH_ENTRIES);
    if (c->segment_bytes < (1u << 20) ||
        c->segment_bytes < 2ull * c->max_entry_bytes)
        return s_fail(err,
                      "segment size %llu must be at least 1M and twice the "
                      "maximum entry size (%llu): raise --segment-size or "
                      "lower --max-entry",
                      (unsigned long long)c->segment_bytes,
                      (unsigned long long)c->max_entry_bytes);
    if (c->request_timeout_ms < c->election_timeout_ms)
        return s_fail(err,
                      "request timeout %u ms must be at least the election "
                      "timeout (%u ms), or clients time out during every "
                      "election",
                      c->request_timeout_ms, c->election_timeout_ms);
    return 0;
}

int rl_config_parse(rl_config_t *c, int argc, char **argv, char *err)
{
    s_defaults(c);
    /* The config file first, wherever --config stands, so flags win. */
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        if (strncmp(argv[i], "--config=", 9) == 0)
            value = argv[i] + 9;
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            value = argv[i + 1];
        if (value && s_load_file(c, value, err))
            return -1;
    }
    bool members_from_flags = false;
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
        if (o->set == s_set_member && !members_from_flags) {
            c->member_count = 0; /* flags replace the file's members */
            members_from_flags = true;
        }
        if (o->set(c, value, err))
            return -1;
    }
    if (c->help || c->check_dir[0])
        return 0;
    return s_validate(c, err);
}

const rl_config_member_t *rl_config_member(const rl_config_t *config,
                                           uint64_t id)
{
    for (size_t i = 0; i < config->member_count; i++)
        if (config->members[i].id == id)
            return &config->members[i];
    return NULL;
}

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

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rl_shared_options.h"

static int s_copy(const char *name, const char *value, char *dest, size_t size,
                  char *err)
{
    size_t length = strlen(value);
    if (length == 0 || length >= size)
        return rl_options_fail(err, "%s: '%s' must be 1 to %zu characters",
                               name, value, size - 1);
    memcpy(dest, value, length + 1);
    return 0;
}

static int s_set_cluster(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    return s_copy("cluster id", v, c->cluster_id, sizeof(c->cluster_id), err);
}

static int s_set_id(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    if (rl_options_u64("node id", v, 0, UINT64_MAX, false, &c->id, err))
        return -1;
    if (c->id == 0)
        return rl_options_fail(err, "node id: must be 1 or more");
    return 0;
}

static int s_set_data(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    return s_copy("data directory", v, c->data_dir, sizeof(c->data_dir), err);
}

/* The endpoint error messages show one of the local cluster's peer
   endpoints (scripts/run). */
#define S_EXAMPLE_ENDPOINT "tcp://127.0.0.1:7001"

static int s_set_peer(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    return rl_options_endpoint("peer endpoint", v, S_EXAMPLE_ENDPOINT, err) ||
           s_copy("peer endpoint", v, c->peer, sizeof(c->peer), err);
}

static int s_set_client(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    return rl_options_endpoint("client endpoint", v, S_EXAMPLE_ENDPOINT, err) ||
           s_copy("client endpoint", v, c->client, sizeof(c->client), err);
}

/* Adds a member from its id and endpoints. */
static int s_add_member(rl_config_t *c, const char *id, const char *peer,
                        const char *client, char *err)
{
    if (c->member_count == RL_MAX_MEMBERS)
        return rl_options_fail(err, "member %s: at most %u members are allowed",
                               id, RL_MAX_MEMBERS);
    rl_config_member_t *m = &c->members[c->member_count];
    memset(m, 0, sizeof(*m));
    if (rl_options_u64("member id", id, 0, UINT64_MAX, false, &m->id, err))
        return -1;
    if (m->id == 0)
        return rl_options_fail(err, "member id: must be 1 or more");
    if (!peer || !client || !*peer || !*client)
        return rl_options_fail(
            err, "member %s: needs a peer and a client endpoint", id);
    if (rl_options_endpoint("member peer endpoint", peer, S_EXAMPLE_ENDPOINT,
                            err) ||
        rl_options_endpoint("member client endpoint", client,
                            S_EXAMPLE_ENDPOINT, err) ||
        s_copy("member peer endpoint", peer, m->peer, sizeof(m->peer), err) ||
        s_copy("member client endpoint", client, m->client, sizeof(m->client),
               err))
        return -1;
    c->member_count++;
    return 0;
}

/* --member ID=PEER,CLIENT */
static int s_set_member(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    char copy[2 * RL_MAX_ENDPOINT + 64];
    if (strlen(v) >= sizeof(copy))
        return rl_options_fail(err, "--member: '%.40s...' is too long", v);
    strcpy(copy, v);
    char *equals = strchr(copy, '=');
    char *comma = equals ? strchr(equals, ',') : NULL;
    if (!equals || !comma)
        return rl_options_fail(err,
                               "--member: '%s' must look like "
                               "ID=PEER_ENDPOINT,CLIENT_ENDPOINT",
                               v);
    *equals = '\0';
    *comma = '\0';
    return s_add_member(c, copy, equals + 1, comma + 1, err);
}

static int s_set_join(void *config, const char *v, char *err)
{
    (void)err;
    rl_config_t *c = config;
    c->join = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    return 0;
}

#define S_U32_SETTER(fn, field, name, sizes)                                   \
    static int fn(void *config, const char *v, char *err)                      \
    {                                                                          \
        rl_config_t *c = config;                                               \
        return rl_options_u32(name, v, 0, UINT32_MAX, sizes, &c->field, err);  \
    }
#define S_U64_SETTER(fn, field, name)                                          \
    static int fn(void *config, const char *v, char *err)                      \
    {                                                                          \
        rl_config_t *c = config;                                               \
        return rl_options_u64(name, v, 0, UINT64_MAX, true, &c->field, err);   \
    }

S_U32_SETTER(s_set_election, election_timeout_ms, "election timeout", false)
S_U32_SETTER(s_set_heartbeat, heartbeat_ms, "heartbeat interval", false)
S_U32_SETTER(s_set_request_timeout, request_timeout_ms, "request timeout",
             false)
S_U32_SETTER(s_set_max_entry, max_entry_bytes, "maximum entry size", true)
S_U32_SETTER(s_set_max_batch, max_batch_entries, "maximum batch", false)
S_U32_SETTER(s_set_syncfs_from, syncfs_from, "syncfs-from", false)
S_U64_SETTER(s_set_segment, segment_bytes, "segment size")
S_U64_SETTER(s_set_uncommitted, max_uncommitted_bytes,
             "maximum uncommitted bytes")
S_U64_SETTER(s_set_retention, retention_bytes, "retention")
S_U64_SETTER(s_set_min_free, min_free_bytes, "minimum free space")
S_U32_SETTER(s_set_max_peer_connections, max_peer_connections,
             "maximum peer connections", false)
S_U32_SETTER(s_set_max_parked, max_parked_reads, "maximum parked reads", false)
S_U32_SETTER(s_set_max_client_parked, max_client_parked_reads,
             "maximum parked reads per client", false)
S_U32_SETTER(s_set_max_consumers, max_consumers, "maximum consumers", false)
S_U32_SETTER(s_set_max_logs, max_logs, "maximum logs", false)

/* A duration: a whole number and a unit, ms, s, m, h, d or w ("7d",
   "90m"); "0" alone is none. The largest is 100 years, far from
   overflowing the milliseconds it becomes. */
static int s_duration(const char *name, const char *v, uint64_t *out_ms,
                      char *err)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
                 {"h", 3600000}, {"d", 86400000}, {"w", 604800000}};
    const uint64_t max_ms = UINT64_C(100) * 365 * 86400000;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v || *v == '-' || errno)
        return rl_options_fail(err,
                               "%s: '%s' is not a duration: give a whole "
                               "number and a unit, ms, s, m, h, d or w "
                               "(e.g. 7d), or 0 for none",
                               name, v);
    if (!*end && n == 0) {
        *out_ms = 0;
        return 0;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(end, units[i].unit) == 0) {
            if (n > max_ms / units[i].ms)
                return rl_options_fail(err,
                                       "%s: '%s' is over 100 years; give "
                                       "less, or 0 to keep everything",
                                       name, v);
            *out_ms = n * units[i].ms;
            return 0;
        }
    return rl_options_fail(err,
                           "%s: '%s' needs a unit: ms, s, m, h, d or w "
                           "(e.g. 7d), or 0 for none",
                           name, v);
}

static int s_set_retention_age(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    return s_duration("retention age", v, &c->retention_age_ms, err);
}

/* "always" is an older spelling of "on". */
static int s_set_fsync(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    if (strcmp(v, "always") == 0)
        v = "on";
    return rl_options_on_off("fsync", v, &c->fsync, err);
}

static int s_set_cert(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    return s_copy("--cert", v, c->cert, sizeof(c->cert), err);
}

static int s_set_front_cert(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    return s_copy("--front-cert", v, c->front_cert, sizeof(c->front_cert), err);
}

static int s_set_keys(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    return s_copy("--keys", v, c->keys_dir, sizeof(c->keys_dir), err);
}

static int s_set_check(void *config, const char *v, char *err)
{
    rl_config_t *c = config;
    return s_copy("--check", v, c->check_dir, sizeof(c->check_dir), err);
}

RL_SHARED_OPTION_SETTERS(rl_config_t)

/* The options, in --help order. "config" is handled before the others. */
static const rl_option_t s_options[] = {
    RL_OPTION_CONFIG,
    {"cluster-id", "cluster/id", "NAME", "raftlog",
     "the cluster's name; nodes refuse peers and data of another cluster",
     s_set_cluster, false},
    {"id", "node/id", "N", NULL, "this node's id (1 or more), required",
     s_set_id, false},
    {"data", "node/data", "DIR", NULL,
     "data directory (created if missing), required", s_set_data, false},
    {"member", NULL, "ID=PEER,CLIENT", NULL,
     "a member of the initial cluster, repeated for each (file: members/ID/"
     "peer and members/ID/client)",
     s_set_member, true},
    {"peer-endpoint", "node/peer", "ENDPOINT", "own member's peer endpoint",
     "where to listen for peers", s_set_peer, false},
    {"client-endpoint", "node/client", "ENDPOINT",
     "own member's client endpoint", "where to listen for clients",
     s_set_client, false},
    {"join", "node/join", NULL, "off",
     "start with an empty log and wait to be added to a running cluster "
     "(MEMBERS add); --member flags then only tell where the running "
     "members are",
     s_set_join, false},
    {"election-timeout", "raft/election_timeout_ms", "MS", "1000",
     "election timeout in ms (randomised between 1x and 2x)", s_set_election,
     false},
    {"heartbeat", "raft/heartbeat_ms", "MS", "100",
     "leader heartbeat interval in ms", s_set_heartbeat, false},
    {"request-timeout", "raft/request_timeout_ms", "MS", "5000",
     "a client request not committed by then gets a TIMEOUT error",
     s_set_request_timeout, false},
    {"fsync", "storage/fsync", "on|off", "on",
     "fdatasync before acknowledging; off gives up durability (benchmarks "
     "only)",
     s_set_fsync, false},
    {"syncfs-from", "storage/syncfs_from", "N", "2",
     "when a loop turn wrote N or more logs on the data directory's "
     "filesystem, make them durable with one syncfs(2) instead of an "
     "fdatasync each (docs/STORAGE.md); 0: an fdatasync per log always",
     s_set_syncfs_from, false},
    {"segment-size", "storage/segment_bytes", "BYTES", "64M",
     "size of one log segment file", s_set_segment, false},
    {"retention", "storage/retention_bytes", "BYTES", "0 (keep all)",
     "drop the oldest segments beyond about this much log", s_set_retention,
     false},
    {"retention-age", "storage/retention_age", "DURATION", "0 (keep all)",
     "drop the oldest segments whose last entry is older than this (e.g. "
     "7d; units ms, s, m, h, d, w); with --retention, whichever comes first",
     s_set_retention_age, false},
    {"min-free", "storage/min_free_bytes", "BYTES", "64M",
     "refuse appends with NO_SPACE when the disk has less free space",
     s_set_min_free, false},
    {"max-entry", "limits/max_entry_bytes", "BYTES", "1M",
     "largest entry accepted (at most 1M)", s_set_max_entry, false},
    {"max-batch", "limits/max_batch_entries", "N", "65536",
     "most entries in one append request (at most 65536)", s_set_max_batch,
     false},
    {"max-uncommitted", "limits/max_uncommitted_bytes", "BYTES", "64M",
     "refuse appends with BUSY past this much uncommitted data",
     s_set_uncommitted, false},
    RL_FRONT_LIMIT_OPTIONS,
    {"max-peer-connections", "limits/max_peer_connections", "N", "64",
     "connections to the peer port at once; more are closed",
     s_set_max_peer_connections, false},
    {"max-parked-reads", "limits/max_parked_reads", "N", "50000",
     "long-poll READs waiting at once; more get BUSY", s_set_max_parked, false},
    {"max-client-parked-reads", "limits/max_client_parked_reads", "N", "10000",
     "long-poll READs of one client connection; more get BUSY",
     s_set_max_client_parked, false},
    {"max-consumers", "limits/max_consumers", "N", "1024",
     "durable consumers the cluster keeps positions for, while this node "
     "leads (at most 65536); committing a new one past it gets TOO_LARGE",
     s_set_max_consumers, false},
    {"max-logs", "limits/max_logs", "N", "1000",
     "named logs the cluster keeps, while this node leads the default log "
     "(at most 10000); creating one past it gets TOO_LARGE",
     s_set_max_logs, false},
    RL_METRICS_OPTIONS,
    {"cert", "security/cert", "FILE", NULL,
     "this node's CURVE certificate (the NAME_secret file of raftlog keygen "
     "NAME --role node --node-id ID): its identity to peers, and the front "
     "door's unless --front-cert; with --keys, turns CURVE on",
     s_set_cert, false},
    {"front-cert", "security/front_cert", "FILE", "--cert",
     "the client front door's certificate (give every node the same one: "
     "clients then need one server key)",
     s_set_front_cert, false},
    {"keys", "security/keys", "DIR", NULL,
     "directory of the public certificates allowed to connect (nodes, "
     "brokers, clients, each with its role); re-read when it changes",
     s_set_keys, false},
    {"insecure", "security/insecure", NULL, "off",
     "run without CURVE even where the network reaches (anyone who reaches "
     "a port may then do anything; see docs/SECURITY.md)",
     s_shared_insecure, false},
    RL_OPTION_LOG_LEVEL,
    {"check", NULL, "DIR", NULL,
     "verify the data directory DIR, report, and exit (0 clean, 1 damaged)",
     s_set_check, false},
    RL_OPTION_HELP,
};

/* The file's members section: members/ID/peer and members/ID/client. */
static int s_load_members(void *config, zconfig_t *root, char *err)
{
    rl_config_t *c = config;
    zconfig_t *members = zconfig_locate(root, "members");
    for (zconfig_t *m = members ? zconfig_child(members) : NULL; m;
         m = zconfig_next(m))
        if (s_add_member(c, zconfig_name(m), zconfig_get(m, "peer", NULL),
                         zconfig_get(m, "client", NULL), err))
            return -1;
    return 0;
}

static void s_clear_members(void *config)
{
    rl_config_t *c = config;
    c->member_count = 0;
}

static const rl_options_t s_spec = {
    .options = s_options,
    .count = sizeof(s_options) / sizeof(s_options[0]),
    .flag_width = 32,
    .load_list = s_load_members,
    .list_key = "members",
    .clear_list = s_clear_members,
};

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
    rl_options_print(&s_spec, out);
    fprintf(out, "\nBootstrap a new 3-node cluster: start each node with "
                 "the same three --member\nflags and its own --id. Join a "
                 "running cluster: start the new node with --join,\n"
                 "--peer-endpoint, --client-endpoint and the running "
                 "members' --member flags, then\nadd it (raftlog members "
                 "add ID PEER CLIENT). See docs/OPERATIONS.md.\n");
}

static void s_defaults(rl_config_t *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->cluster_id, "raftlog");
    c->election_timeout_ms = 1000;
    c->heartbeat_ms = 100;
    c->request_timeout_ms = 5000;
    c->fsync = true;
    c->syncfs_from = 2;
    c->segment_bytes = 64u << 20;
    c->max_entry_bytes = RL_MAX_ENTRY_SIZE;
    c->max_batch_entries = RL_MAX_BATCH_ENTRIES;
    c->max_uncommitted_bytes = 64u << 20;
    c->min_free_bytes = 64u << 20;
    c->max_message_bytes = RL_MAX_MESSAGE_SIZE;
    c->max_clients = 10000;
    c->max_peer_connections = 64;
    c->max_client_queue_bytes = 64u << 20;
    c->max_queue_bytes = 512u << 20;
    c->max_parked_reads = 50000;
    c->max_client_parked_reads = 10000;
    c->max_read_wait_ms = 60000;
    c->max_consumers = 1024;
    c->max_logs = 1000;
    c->max_metrics_connections = 16;
    c->log_level = RL_LOG_INFO;
}

/* The keys, or the lack of them (docs/SECURITY.md). */
static int s_validate_keys(rl_config_t *c, char *err)
{
    if (c->insecure && (c->cert[0] || c->keys_dir[0] || c->front_cert[0]))
        return rl_options_fail(err, "--insecure turns CURVE off, and keys are "
                                    "given (--cert, --front-cert or --keys): "
                                    "drop one or the other");
    if (!c->cert[0] != !c->keys_dir[0])
        return rl_options_fail(
            err, "CURVE needs both --cert (this node's certificate) and "
                 "--keys (the directory of allowed public certificates); "
                 "see docs/SECURITY.md");
    if (c->front_cert[0] && !c->cert[0])
        return rl_options_fail(err, "--front-cert needs --cert and --keys");
    if (c->cert[0] || c->insecure)
        return 0;
    const char *endpoints[] = {c->peer, c->client};
    for (size_t i = 0; i < 2; i++)
        if (!rl_options_endpoint_is_local(endpoints[i]))
            return rl_options_fail(
                err,
                "%s may be reached from the network, and this node has no "
                "keys: give --cert and --keys (raftlog keygen; "
                "docs/SECURITY.md), or --insecure to run without "
                "authentication and encryption anyway",
                endpoints[i]);
    return 0;
}

static int s_validate(rl_config_t *c, char *err)
{
    if (c->id == 0)
        return rl_options_fail(err,
                               "no node id: give --id N (or node/id in the "
                               "config file)");
    if (!c->data_dir[0])
        return rl_options_fail(err, "no data directory: give --data DIR (or "
                                    "node/data in the config file)");
    for (size_t i = 0; i < c->member_count; i++)
        for (size_t j = i + 1; j < c->member_count; j++) {
            const rl_config_member_t *a = &c->members[i], *b = &c->members[j];
            if (a->id == b->id)
                return rl_options_fail(
                    err,
                    "member id %llu appears twice; give each "
                    "member its own id",
                    (unsigned long long)a->id);
            if (!strcmp(a->peer, b->peer) || !strcmp(a->client, b->client) ||
                !strcmp(a->peer, b->client) || !strcmp(a->client, b->peer))
                return rl_options_fail(
                    err,
                    "members %llu and %llu share an endpoint; "
                    "each needs its own ports",
                    (unsigned long long)a->id, (unsigned long long)b->id);
        }
    const rl_config_member_t *self = rl_config_member(c, c->id);
    if (!c->join) {
        if (c->member_count == 0)
            return rl_options_fail(
                err, "no members: give --member ID=PEER,CLIENT for "
                     "each node of the cluster, or --join to join "
                     "a running one");
        if (!self)
            return rl_options_fail(
                err,
                "node id %llu is not one of the members; add "
                "--member %llu=PEER,CLIENT or use --join",
                (unsigned long long)c->id, (unsigned long long)c->id);
    }
    if (self && !c->peer[0])
        strcpy(c->peer, self->peer);
    if (self && !c->client[0])
        strcpy(c->client, self->client);
    if (!c->peer[0] || !c->client[0])
        return rl_options_fail(err, "a joining node needs --peer-endpoint and "
                                    "--client-endpoint");
    if (c->heartbeat_ms == 0 || c->election_timeout_ms < 3ull * c->heartbeat_ms)
        return rl_options_fail(
            err,
            "election timeout %u ms must be at least 3 heartbeats "
            "(heartbeat %u ms, at least 1)",
            c->election_timeout_ms, c->heartbeat_ms);
    if (c->max_entry_bytes == 0 || c->max_entry_bytes > RL_MAX_ENTRY_SIZE)
        return rl_options_fail(err,
                               "maximum entry size %u must be 1 to %u bytes",
                               c->max_entry_bytes, RL_MAX_ENTRY_SIZE);
    if (c->max_batch_entries == 0 ||
        c->max_batch_entries > RL_MAX_BATCH_ENTRIES)
        return rl_options_fail(err, "maximum batch %u must be 1 to %u entries",
                               c->max_batch_entries, RL_MAX_BATCH_ENTRIES);
    if (c->segment_bytes < (1u << 20) ||
        c->segment_bytes < 2ull * c->max_entry_bytes)
        return rl_options_fail(
            err,
            "segment size %llu must be at least 1M and twice the "
            "maximum entry size (%llu): raise --segment-size or "
            "lower --max-entry",
            (unsigned long long)c->segment_bytes,
            (unsigned long long)c->max_entry_bytes);
    /* The front door's limits are checked one by one as they are read
       (rl_shared_options.h); here, what they mean together. */
    if (c->max_peer_connections < 2)
        return rl_options_fail(err, "--max-peer-connections must be 2 or "
                                    "more");
    if (c->max_queue_bytes < c->max_client_queue_bytes)
        return rl_options_fail(err, "--max-queue must be at least "
                                    "--max-client-queue");
    if (c->max_consumers > RL_MAX_CONSUMERS)
        return rl_options_fail(err,
                               "--max-consumers %u is over the limit of %u "
                               "consumers every node applies",
                               c->max_consumers, RL_MAX_CONSUMERS);
    if (c->max_logs > RL_MAX_LOGS - 1)
        return rl_options_fail(err,
                               "--max-logs %u is over the limit of %u logs "
                               "every node applies",
                               c->max_logs, RL_MAX_LOGS - 1);
    if (c->max_client_parked_reads > c->max_parked_reads)
        return rl_options_fail(err,
                               "--max-client-parked-reads %u is over "
                               "--max-parked-reads %u",
                               c->max_client_parked_reads, c->max_parked_reads);
    if (s_validate_keys(c, err) != 0)
        return -1;
    if (c->request_timeout_ms < c->election_timeout_ms)
        return rl_options_fail(
            err,
            "request timeout %u ms must be at least the election "
            "timeout (%u ms), or clients time out during every "
            "election",
            c->request_timeout_ms, c->election_timeout_ms);
    return 0;
}

int rl_config_parse(rl_config_t *c, int argc, char **argv, char *err)
{
    s_defaults(c);
    if (rl_options_parse(&s_spec, c, argc, argv, &c->help, err))
        return -1;
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

/*  sim.c - the simulated cluster; see sim.h for the model and invariants.

    Three levels of state:
    - a node (sim_node_t): its life (up, crashes), its clocks, its host's
      node-level liveness, and the groups it hosts;
    - a replica (sim_replica_t): one group on one node, its core and its
      disk (log, hard state, snapshot) and what the checks last saw;
    - a group (sim_group_t): the cluster-wide invariant state of one group
      (Log Matching table, committed prefix, leaders per term, the
      proposals it acknowledged).
    Group 0 (the default log) is hosted by every node from the start;
    other groups are created and destroyed by the nodes' hosts as group
    0's catalog changes are handed to them, by the rules of raft.h
    ("Hosting groups"), as the daemon does.
 */
#include "sim.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- an entry on a simulated disk ---- */
typedef struct {
    uint64_t term;
    uint8_t type;
    uint64_t producer_id;
    uint64_t seq;
    uint8_t *data;
    size_t size;
    uint64_t time;  /* the leader's stamp */
    uint64_t chain; /* hash of the whole prefix up to this entry */
} sim_entry_t;

typedef struct sim_node sim_node_t;

/* One group on one node: its core and its disk. */
typedef struct {
    sim_t *sim;
    sim_node_t *node;
    uint64_t id;     /* the node's id */
    uint64_t group;  /* the group's id */
    rl_raft_t *raft; /* NULL while the node is down */
    /* disk */
    sim_entry_t *log;
    size_t count;
    size_t cap;
    uint64_t first;   /* index of log[0] */
    uint64_t durable; /* entries up to here survive a crash */
    uint64_t hs_term;
    uint64_t hs_vote;
    bool has_snap;
    rl_raft_snapshot_t snap;
    uint64_t snap_chain;
    uint64_t snap_time; /* time of the entry at snap.last_index */
    /* bootstrap members, used while there is no snapshot */
    rl_member_t boot[RL_MAX_MEMBERS];
    size_t boot_count;
    uint64_t boot_mirrors; /* their stamp: a named log's create index */
    /* durable consumers, the committed table last seen (at commit) */
    rl_raft_consumer_t *consumers;
    size_t consumer_count;
    size_t consumer_cap;
    uint64_t consumer_table_hash; /* of that table */
    /* the catalog of named logs last seen (at commit), by its hash */
    uint64_t catalog_hash;
    uint64_t next_group; /* its next id */
    /* catalog changes the core handed out since the node started */
    rl_raft_log_change_t *changes;
    size_t change_count;
    size_t change_cap;
    /* observed */
    uint64_t commit;
    uint64_t led_term; /* term it led at its last batch, 0: not leader */
} sim_replica_t;

struct sim_node {
    sim_t *sim;
    uint64_t id;
    bool up;
    bool boot;            /* bootstrapped with the initial configuration */
    unsigned incarnation; /* bumped at each crash */
    /* clock */
    unsigned tick_period;
    unsigned tick_phase;
    int64_t skew; /* wall clock = SIM_EPOCH_MS + now + skew */
    /* node-level liveness (quiesce): when each node was last heard */
    uint64_t heard[SIM_MAX_NODES + 1];
    /* the groups it hosts (their disks survive crashes), by id */
    sim_replica_t *groups[SIM_MAX_GROUPS];
    uint64_t watermark;        /* highest group id it ever hosted */
    bool ever[SIM_MAX_GROUPS]; /* it hosted that group once (checks) */
};

typedef enum { EV_PACKET, EV_SYNC, EV_BEAT } sim_ev_kind_t;

typedef struct {
    uint64_t at;
    uint64_t order;
    sim_ev_kind_t kind;
    uint64_t to;
    uint64_t group; /* EV_SYNC: the replica's group */
    unsigned incarnation;
    uint64_t index;
    uint64_t term;
    rl_msg_t msg;
} sim_event_t;

typedef struct {
    uint64_t key_index;
    uint64_t key_term;
    uint64_t chain;
} sim_slot_t;

typedef struct {
    uint64_t node;
    uint64_t first;
    uint64_t last;
    uint64_t term;
    bool waiting;
} sim_pending_t;

typedef struct {
    uint64_t index;
    uint64_t term;
} sim_ack_t;

/* The cluster-wide invariant state of one group. */
typedef struct sim_group {
    uint64_t id;
    sim_slot_t *table; /* (index, term) -> chain */
    size_t table_cap;
    size_t table_count;
    uint64_t *committed;      /* committed[i] = chain at i */
    uint64_t *committed_time; /* committed_time[i] = time of entry i + 1 */
    uint64_t *committed_term; /* committed_term[i] = term of entry i + 1 */
    uint64_t *consumer_hash;  /* [i]: 1 + hash of the consumer table as of
                                 commit index i, 0: not seen yet */
    uint64_t *catalog_hash;   /* [i]: the same for the catalog */
    size_t committed_cap;
    uint64_t max_commit;
    uint64_t *leaders; /* leaders[term] = id */
    size_t leaders_cap;
    sim_pending_t *pending;
    size_t pending_count;
    size_t pending_cap;
    sim_ack_t *acks;
    size_t ack_count;
    size_t ack_cap;
    bool deleted; /* its log's deletion was handed to a host: replicas are
                     being destroyed, its data is no longer anyone's */
} sim_group_t;

struct sim {
    sim_options_t o;
    uint64_t prng;
    uint64_t now;
    uint64_t order;
    sim_node_t nodes[SIM_MAX_NODES];
    unsigned n;
    bool link[SIM_MAX_NODES + 1][SIM_MAX_NODES + 1];
    rl_member_t boot[SIM_MAX_NODES];
    char addr[SIM_MAX_NODES][16];
    unsigned boot_count;
    /* events: binary heap */
    sim_event_t *heap;
    size_t heap_count;
    size_t heap_cap;
    /* invariants, by group */
    sim_group_t *groups[SIM_MAX_GROUPS];
    bool catalog_used;     /* some node wrote a CATALOG entry */
    uint64_t *group_names; /* [g]: hash of (name, created) of group g,
                              0: not seen */
    size_t group_cap;
    sim_stats_t stats;
    bool trace; /* RL_SIM_TRACE: print role and configuration changes */
};

int sim_in_core = 0;

/* ---- reporting the seed of a failing run ----

   s_fail() prints the seed and the replay command; so must any other way
   a run can die: a crash or an assertion in the core (a signal), or a
   sanitizer report. The simulation alive at that moment is g_running. */

static sim_t *g_running;
static volatile sig_atomic_t g_reported;
static const int g_fatal_signals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
static struct sigaction g_previous[sizeof(g_fatal_signals) / sizeof(int)];

static void s_report_seed(void)
{
    sim_t *s = g_running;
    if (g_reported || !s) {
        return;
    }
    g_reported = 1;
    fprintf(stderr, "\nseed %" PRIu64 "; replay with: ", s->o.seed);
    if (s->o.replay) {
        fprintf(stderr, s->o.replay, (unsigned long long)s->o.seed);
    }
    fprintf(stderr, "\n");
}

/* Prints the seed (stdio in a handler: the process is dying anyway), puts
   back the handler that was there before (the sanitizer's, cmocka's or the
   default) and returns: a fault re-executes and reaches it, abort() raises
   again. */
static void s_on_fatal_signal(int sig)
{
    s_report_seed();
    for (size_t i = 0; i < sizeof(g_fatal_signals) / sizeof(int); i++) {
        if (g_fatal_signals[i] == sig) {
            sigaction(sig, &g_previous[i], NULL);
        }
    }
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SIM_SANITIZER 1
#endif
#ifdef SIM_SANITIZER
/* sanitizer/common_interface_defs.h: called when a sanitizer ends the
   process (without abort_on_error it exits and no signal is raised). */
void __sanitizer_set_death_callback(void (*callback)(void));
#endif

static void s_watch_fatal_signals(sim_t *s)
{
    g_running = s;
    g_reported = 0;
#ifdef SIM_SANITIZER
    __sanitizer_set_death_callback(s_report_seed);
#endif
    for (size_t i = 0; i < sizeof(g_fatal_signals) / sizeof(int); i++) {
        struct sigaction current;
        sigaction(g_fatal_signals[i], NULL, &current);
        if (!(current.sa_flags & SA_SIGINFO) &&
            current.sa_handler == s_on_fatal_signal) {
            continue; /* already ours (cmocka restores its own per test) */
        }
        struct sigaction ours;
        memset(&ours, 0, sizeof(ours));
        ours.sa_handler = s_on_fatal_signal;
        sigemptyset(&ours.sa_mask);
        sigaction(g_fatal_signals[i], &ours, &g_previous[i]);
    }
}

static void s_fail(sim_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\nSIM INVARIANT VIOLATED at time %" PRIu64 ": ", s->now);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    for (unsigned i = 0; i < s->n; i++) {
        sim_node_t *node = &s->nodes[i];
        for (unsigned g = 0; g < SIM_MAX_GROUPS; g++) {
            sim_replica_t *n = node->groups[g];
            if (!n) {
                continue;
            }
            rl_raft_status_t st;
            memset(&st, 0, sizeof(st));
            if (n->raft) {
                rl_raft_status(n->raft, &st);
            }
            fprintf(stderr,
                    "\n  node %" PRIu64 " group %u %s %s%s term %" PRIu64
                    " leader %" PRIu64 " commit %" PRIu64 " last %" PRIu64
                    "/%" PRIu64 " persisted %" PRIu64 " snap %" PRIu64
                    " member %d voter %d"
                    " | disk first %" PRIu64 " count %zu durable %" PRIu64,
                    node->id, g, node->up ? "up" : "DOWN",
                    rl_raft_role_name(st.role), st.quiet ? " (quiet)" : "",
                    st.term, st.leader, st.commit, st.last_index, st.last_term,
                    st.persisted, st.snapshot_index, st.member, st.voter,
                    n->first, n->count, n->durable);
            if (n->raft) {
                size_t count = 0;
                const rl_member_t *m = rl_raft_members(n->raft, &count);
                fprintf(stderr, " | config");
                for (size_t k = 0; k < count; k++) {
                    fprintf(stderr, " %" PRIu64 "%s", m[k].id,
                            m[k].voter ? "" : "L");
                }
                m = rl_raft_committed_members(n->raft, &count);
                fprintf(stderr, " committed");
                for (size_t k = 0; k < count; k++) {
                    fprintf(stderr, " %" PRIu64 "%s", m[k].id,
                            m[k].voter ? "" : "L");
                }
            }
        }
    }
    g_running = s;
    g_reported = 0;
    s_report_seed();
    abort();
}

uint64_t sim_random(sim_t *s, uint64_t below)
{
    /* splitmix64 */
    uint64_t z = (s->prng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return below ? z % below : 0;
}

static uint64_t s_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint64_t s_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

static uint64_t s_chain(uint64_t prev, uint64_t index, const rl_entry_t *e)
{
    uint64_t h = s_mix(prev, index);
    h = s_mix(h, e->term);
    h = s_mix(h, e->type);
    h = s_mix(h, e->producer_id);
    h = s_mix(h, e->seq);
    h = s_mix(h, e->time);
    for (size_t i = 0; i < e->size; i++) {
        h = s_mix(h, e->data[i]);
    }
    return h;
}

/* ---- the global (index, term) -> chain table: Log Matching ---- */

static sim_slot_t *s_table_find(sim_group_t *s, uint64_t index, uint64_t term)
{
    size_t mask = s->table_cap - 1;
    size_t i = (size_t)s_mix(index, term) & mask;
    while (s->table[i].key_index != 0) {
        if (s->table[i].key_index == index && s->table[i].key_term == term) {
            return &s->table[i];
        }
        i = (i + 1) & mask;
    }
    return &s->table[i];
}

static void s_table_grow(sim_group_t *s)
{
    sim_slot_t *old = s->table;
    size_t old_cap = s->table_cap;
    s->table_cap = old_cap ? old_cap * 2 : 1024;
    s->table = calloc(s->table_cap, sizeof(*s->table));
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key_index) {
            *s_table_find(s, old[i].key_index, old[i].key_term) = old[i];
        }
    }
    free(old);
}

static void s_check_matching(sim_t *s, sim_group_t *g, uint64_t node,
                             uint64_t index, uint64_t term, uint64_t chain)
{
    if ((g->table_count + 1) * 2 > g->table_cap) {
        s_table_grow(g);
    }
    sim_slot_t *slot = s_table_find(g, index, term);
    if (slot->key_index == 0) {
        slot->key_index = index;
        slot->key_term = term;
        slot->chain = chain;
        g->table_count++;
    } else if (slot->chain != chain) {
        s_fail(s,
               "Log Matching: node %" PRIu64 " has entry %" PRIu64
               " term %" PRIu64 " of group %" PRIu64
               " with a different prefix than another node",
               node, index, term, g->id);
    }
}

/* ---- event heap ---- */

static bool s_before(const sim_event_t *a, const sim_event_t *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void s_push(sim_t *s, sim_event_t *ev)
{
    if (s->heap_count == s->heap_cap) {
        s->heap_cap = s->heap_cap ? s->heap_cap * 2 : 256;
        s->heap = realloc(s->heap, s->heap_cap * sizeof(*s->heap));
    }
    ev->order = s->order++;
    size_t i = s->heap_count++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!s_before(ev, &s->heap[p])) {
            break;
        }
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = *ev;
}

static void s_pop(sim_t *s, sim_event_t *out)
{
    *out = s->heap[0];
    sim_event_t last = s->heap[--s->heap_count];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_count) {
            break;
        }
        if (c + 1 < s->heap_count && s_before(&s->heap[c + 1], &s->heap[c])) {
            c++;
        }
        if (!s_before(&s->heap[c], &last)) {
            break;
        }
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->heap_count > 0) {
        s->heap[i] = last;
    }
}

/* Deep copy of a message into one owned block. */
static void s_copy_msg(rl_msg_t *dst, const rl_msg_t *src)
{
    *dst = *src;
    dst->owned = NULL;
    dst->cluster.ptr = NULL;
    dst->cluster.size = 0;
    if (src->type == RL_MSG_APPEND && src->body.append.entry_count) {
        const rl_append_t *a = &src->body.append;
        size_t bytes = 0;
        for (size_t i = 0; i < a->entry_count; i++) {
            bytes += a->entries[i].size;
        }
        uint8_t *block =
            rl_msg_alloc(dst, a->entry_count * sizeof(rl_entry_t) + bytes);
        rl_entry_t *e = (rl_entry_t *)block;
        uint8_t *d = block + a->entry_count * sizeof(rl_entry_t);
        for (size_t i = 0; i < a->entry_count; i++) {
            e[i] = a->entries[i];
            if (e[i].size) {
                memcpy(d, a->entries[i].data, e[i].size);
                e[i].data = d;
                d += e[i].size;
            }
        }
        dst->body.append.entries = e;
    } else if (src->type == RL_MSG_SNAPSHOT) {
        const rl_snapshot_t *sn = &src->body.snapshot;
        size_t bytes = sn->size;
        for (size_t i = 0; i < sn->member_count; i++) {
            bytes +=
                sn->members[i].peer_addr.size + sn->members[i].client_addr.size;
        }
        uint8_t *block = rl_msg_alloc(
            dst, sn->member_count * sizeof(rl_member_t) + bytes + 1);
        rl_member_t *m = (rl_member_t *)block;
        uint8_t *d = block + sn->member_count * sizeof(rl_member_t);
        for (size_t i = 0; i < sn->member_count; i++) {
            m[i] = sn->members[i];
            rl_str_t *strs[2] = {&m[i].peer_addr, &m[i].client_addr};
            for (int k = 0; k < 2; k++) {
                if (strs[k]->size) {
                    memcpy(d, strs[k]->ptr, strs[k]->size);
                    strs[k]->ptr = (const char *)d;
                    d += strs[k]->size;
                }
            }
        }
        if (sn->size) {
            memcpy(d, sn->data, sn->size);
            dst->body.snapshot.data = d;
        }
        dst->body.snapshot.members = sn->member_count ? m : NULL;
    }
}

/* ---- the log view over a node's disk ---- */

static uint64_t v_first(void *ctx)
{
    return ((sim_replica_t *)ctx)->first;
}

static uint64_t v_last(void *ctx)
{
    sim_replica_t *n = ctx;
    return n->first + n->count - 1;
}

static int v_term(void *ctx, uint64_t index, uint64_t *term)
{
    sim_replica_t *n = ctx;
    if (index < n->first || index >= n->first + n->count) {
        return -1;
    }
    *term = n->log[index - n->first].term;
    return 0;
}

static int v_read(void *ctx, uint64_t from, size_t max_count, size_t max_bytes,
                  rl_entry_t *out, size_t *count)
{
    sim_replica_t *n = ctx;
    *count = 0;
    if (from < n->first || from >= n->first + n->count) {
        return -1;
    }
    size_t bytes = 0;
    for (uint64_t i = from; i < n->first + n->count && *count < max_count;
         i++) {
        const sim_entry_t *e = &n->log[i - n->first];
        if (*count > 0 && bytes + e->size > max_bytes) {
            break;
        }
        rl_entry_t *o = &out[(*count)++];
        o->index = i;
        o->term = e->term;
        o->type = e->type;
        o->producer_id = e->producer_id;
        o->seq = e->seq;
        o->data = e->data;
        o->size = e->size;
        o->time = e->time;
        bytes += e->size;
    }
    return 0;
}

static sim_node_t *s_node(sim_t *s, uint64_t id)
{
    if (id == 0 || id > s->n) {
        return NULL;
    }
    return &s->nodes[id - 1];
}

/* Node id's replica of group, NULL when it hosts none. */
static sim_replica_t *s_replica(sim_t *s, uint64_t id, uint64_t group)
{
    sim_node_t *node = s_node(s, id);
    return node && group < SIM_MAX_GROUPS ? node->groups[group] : NULL;
}

/* The same, when up (its core running). */
static sim_replica_t *s_live(sim_t *s, uint64_t id, uint64_t group)
{
    sim_replica_t *n = s_replica(s, id, group);
    return n && n->raft ? n : NULL;
}

/* The invariant state of group, made on first use. */
static sim_group_t *s_group(sim_t *s, uint64_t group)
{
    if (group >= SIM_MAX_GROUPS) {
        return NULL;
    }
    if (!s->groups[group]) {
        sim_group_t *g = calloc(1, sizeof(*g));
        g->id = group;
        s_table_grow(g);
        s->groups[group] = g;
    }
    return s->groups[group];
}

static void s_group_free(sim_group_t *g)
{
    if (!g) {
        return;
    }
    free(g->table);
    free(g->committed);
    free(g->committed_time);
    free(g->committed_term);
    free(g->consumer_hash);
    free(g->catalog_hash);
    free(g->leaders);
    free(g->pending);
    free(g->acks);
    free(g);
}

/* Node n's wall clock, in ms since the epoch (a time unit is a ms). */
static uint64_t s_wall(sim_t *s, sim_node_t *n)
{
    int64_t t = (int64_t)SIM_EPOCH_MS + (int64_t)s->now + n->skew;
    return t > 0 ? (uint64_t)t : 0;
}

/* Before every input call, as a host does (raft.h). */
static void s_set_clock(sim_t *s, sim_replica_t *n)
{
    rl_raft_set_clock(n->raft, s_wall(s, n->node));
}

static uint64_t s_chain_at(sim_replica_t *n, uint64_t index)
{
    if (index == 0) {
        return 0;
    }
    if (n->has_snap && index == n->snap.last_index) {
        return n->snap_chain;
    }
    if (index < n->first || index >= n->first + n->count) {
        return 0;
    }
    return n->log[index - n->first].chain;
}

static uint64_t s_term_of(const sim_replica_t *n, uint64_t index)
{
    if (index < n->first || index >= n->first + n->count) {
        return 0;
    }
    return n->log[index - n->first].term;
}

static void s_log_truncate(sim_replica_t *n, uint64_t from)
{
    while (n->count > 0 && n->first + n->count - 1 >= from) {
        free(n->log[--n->count].data);
    }
    if (n->durable >= from) {
        n->durable = from - 1;
    }
}

static void s_log_drop_prefix(sim_replica_t *n, uint64_t upto)
{
    size_t k = 0;
    while (k < n->count && n->first + k <= upto) {
        free(n->log[k].data);
        k++;
    }
    memmove(n->log, n->log + k, (n->count - k) * sizeof(*n->log));
    n->count -= k;
    n->first += k;
    if (n->count == 0) {
        n->first = upto + 1;
    }
}

static void s_snap_free(rl_raft_snapshot_t *sn)
{
    for (size_t i = 0; i < sn->member_count; i++) {
        free((void *)sn->members[i].peer_addr.ptr);
        free((void *)sn->members[i].client_addr.ptr);
    }
    free(sn->members);
    free((void *)sn->data);
    memset(sn, 0, sizeof(*sn));
}

static void s_snap_store(sim_t *s, sim_replica_t *n,
                         const rl_raft_snapshot_t *in)
{
    sim_group_t *g = s_group(s, n->group);
    rl_raft_snapshot_t sn = *in;
    sn.members = calloc(in->member_count + 1, sizeof(rl_member_t));
    for (size_t i = 0; i < in->member_count; i++) {
        sn.members[i] = in->members[i];
        rl_str_t *strs[2] = {&sn.members[i].peer_addr,
                             &sn.members[i].client_addr};
        for (int k = 0; k < 2; k++) {
            if (strs[k]->size) {
                char *p = malloc(strs[k]->size);
                memcpy(p, strs[k]->ptr, strs[k]->size);
                strs[k]->ptr = p;
            }
        }
    }
    if (in->size) {
        uint8_t *d = malloc(in->size);
        memcpy(d, in->data, in->size);
        sn.data = d;
    }
    if (n->has_snap) {
        s_snap_free(&n->snap);
    }
    n->snap = sn;
    n->has_snap = true;
    sim_slot_t *slot = s_table_find(g, sn.last_index, sn.last_term);
    if (slot->key_index == 0) {
        s_fail(s,
               "node %" PRIu64 " got a snapshot of group %" PRIu64
               " at %" PRIu64 " term %" PRIu64
               " that no node ever had in its log",
               n->id, n->group, sn.last_index, sn.last_term);
    }
    n->snap_chain = slot->chain;
    /* The snapshot's data records the time of its last entry (versions 2
       to 4, snapshot_data.c): it must be that entry's, or a leader elected
       with only the snapshot would stamp from a wrong time. */
    n->snap_time = 0;
    if (sn.size >= 12 &&
        (memcmp(sn.data, "RLS2", 4) == 0 || memcmp(sn.data, "RLS3", 4) == 0 ||
         memcmp(sn.data, "RLS4", 4) == 0)) {
        n->snap_time = s_get64(sn.data + 4);
    }
    uint64_t at = sn.last_index;
    if (at <= g->max_commit && g->committed[at - 1] != 0 &&
        g->committed_time[at - 1] != n->snap_time) {
        s_fail(s,
               "node %" PRIu64 " got a snapshot at %" PRIu64 " recording time "
               "%" PRIu64 ", but that entry is stamped %" PRIu64,
               n->id, at, n->snap_time, g->committed_time[at - 1]);
    }
}

/* ---- carrying out a ready batch, checking as we go ---- */

static void s_send(sim_t *s, uint64_t from, const rl_raft_envelope_t *env)
{
    s->stats.total++;
    if (env->msg.type < 16) {
        s->stats.sent[env->msg.type]++;
    }
    if (env->msg.type == RL_MSG_APPEND_REPLY &&
        !env->msg.body.append_reply.success) {
        s->stats.append_rejects++;
    }
    if (env->to == 0 || env->to > s->n || !s->link[from][env->to]) {
        return;
    }
    if (sim_random(s, 100) < s->o.drop_pct) {
        return;
    }
    unsigned copies = sim_random(s, 100) < s->o.dup_pct ? 2 : 1;
    for (unsigned c = 0; c < copies; c++) {
        sim_event_t ev;
        memset(&ev, 0, sizeof(ev));
        ev.kind = EV_PACKET;
        ev.to = env->to;
        unsigned span = s->o.max_delay - s->o.min_delay + 1;
        ev.at = s->now + s->o.min_delay + sim_random(s, span);
        s_copy_msg(&ev.msg, &env->msg);
        ev.msg.from = from;
        s_push(s, &ev);
    }
}

/* Forgets the proposals no longer waiting, so that each commit step
   scans only those that are. */
static void s_pending_compact(sim_group_t *g)
{
    size_t kept = 0;
    for (size_t k = 0; k < g->pending_count; k++) {
        if (g->pending[k].waiting) {
            g->pending[kept++] = g->pending[k];
        }
    }
    g->pending_count = kept;
}

static void s_ack(sim_group_t *g, uint64_t index, uint64_t term)
{
    if (g->ack_count == g->ack_cap) {
        g->ack_cap = g->ack_cap ? g->ack_cap * 2 : 64;
        g->acks = realloc(g->acks, g->ack_cap * sizeof(*g->acks));
    }
    g->acks[g->ack_count].index = index;
    g->acks[g->ack_count].term = term;
    g->ack_count++;
}

static void s_check_commit(sim_t *s, sim_replica_t *n, uint64_t commit)
{
    sim_group_t *g = s_group(s, n->group);
    if (commit < n->commit) {
        s_fail(s,
               "node %" PRIu64 " commit of group %" PRIu64
               " went back from %" PRIu64 " to %" PRIu64,
               n->id, n->group, n->commit, commit);
    }
    if (commit > g->committed_cap) {
        size_t cap = g->committed_cap ? g->committed_cap : 1024;
        while (cap < commit + 1) {
            cap *= 2;
        }
        g->committed = realloc(g->committed, cap * sizeof(uint64_t));
        g->committed_time = realloc(g->committed_time, cap * sizeof(uint64_t));
        g->committed_term = realloc(g->committed_term, cap * sizeof(uint64_t));
        g->consumer_hash = realloc(g->consumer_hash, cap * sizeof(uint64_t));
        g->catalog_hash = realloc(g->catalog_hash, cap * sizeof(uint64_t));
        size_t grown = (cap - g->committed_cap) * sizeof(uint64_t);
        memset(g->committed + g->committed_cap, 0, grown);
        memset(g->committed_time + g->committed_cap, 0, grown);
        memset(g->committed_term + g->committed_cap, 0, grown);
        memset(g->consumer_hash + g->committed_cap, 0, grown);
        memset(g->catalog_hash + g->committed_cap, 0, grown);
        g->committed_cap = cap;
    }
    for (uint64_t i = n->commit + 1; i <= commit; i++) {
        uint64_t c = s_chain_at(n, i);
        if (c == 0) {
            if (i > n->first + n->count - 1) {
                s_fail(s,
                       "node %" PRIu64 " commits %" PRIu64
                       " beyond its log of group %" PRIu64,
                       n->id, i, n->group);
            }
            continue; /* below its snapshot */
        }
        if (i <= g->max_commit && g->committed[i - 1] != 0 &&
            g->committed[i - 1] != c) {
            s_fail(s,
                   "committed entry %" PRIu64 " of group %" PRIu64
                   " differs on node %" PRIu64,
                   i, n->group, n->id);
        }
        /* Entry timestamps: committed times never decrease with the
           index (the chain covers the time, so this holds for every
           node's committed prefix). */
        uint64_t t = i >= n->first && i < n->first + n->count
                         ? n->log[i - n->first].time
                         : n->snap_time; /* i is its snapshot's index */
        if ((i >= 2 && g->committed[i - 2] != 0 &&
             g->committed_time[i - 2] > t) ||
            (i < g->max_commit && g->committed[i] != 0 &&
             g->committed_time[i] < t)) {
            s_fail(s,
                   "committed entry %" PRIu64 " (node %" PRIu64
                   ") is stamped %" PRIu64 ", out of order with its "
                   "neighbours (%" PRIu64 " before, %" PRIu64 " after)",
                   i, n->id, t, i >= 2 ? g->committed_time[i - 2] : 0,
                   i < g->max_commit ? g->committed_time[i] : 0);
        }
        g->committed[i - 1] = c;
        g->committed_time[i - 1] = t;
        g->committed_term[i - 1] = i >= n->first && i < n->first + n->count
                                       ? n->log[i - n->first].term
                                       : n->snap.last_term;
        if (i > g->max_commit) {
            g->max_commit = i;
        }
    }
    n->commit = commit;
    /* Acknowledge the proposals this node answers. */
    for (size_t k = 0; k < g->pending_count; k++) {
        sim_pending_t *p = &g->pending[k];
        if (!p->waiting || p->node != n->id || p->last > commit) {
            continue;
        }
        p->waiting = false;
        if (p->last >= n->first && p->last < n->first + n->count &&
            n->log[p->last - n->first].term == p->term) {
            s_ack(g, p->last, p->term);
        }
    }
    s_pending_compact(g);
}
/* The verb of a CONSUMER entry on a disk ('RLO1', u8 verb, u64 index,
   u8 name_len, name: consumers.c) and its name; 0 when malformed. */
static unsigned s_consumer_verb(const sim_entry_t *e, const char **name,
                                size_t *len)
{
    if (e->type != RL_ENTRY_CONSUMER || e->size < 15 ||
        memcmp(e->data, "RLO1", 4) != 0 || 14u + e->data[13] != e->size) {
        return 0;
    }
    *name = (const char *)e->data + 14;
    *len = e->data[13];
    return e->data[4];
}

#define SIM_RESETS 64 /* reset or delete entries followed per commit step */

/* Durable consumers, after node n's commit index moved from `from` to
   `to` (by a snapshot when installed): every position is at most the
   commit index; nodes at the same commit index have the same table
   (their committed prefixes are identical, so must their tables be); a
   position never goes back, nor a consumer vanish, but by a reset or a
   delete entry among the entries just committed; with no consumer entry
   among them the table does not change at all. */
static void s_check_consumers(sim_t *s, sim_replica_t *n, uint64_t from,
                              uint64_t to, bool installed)
{
    size_t count = 0;
    const rl_raft_consumer_t *t = rl_raft_consumers(n->raft, &count);
    bool known = !installed && to >= from;
    bool any = false;
    const char *names[SIM_RESETS];
    size_t lens[SIM_RESETS];
    size_t resets = 0;
    for (uint64_t i = from + 1; known && i <= to; i++) {
        if (i < n->first || i >= n->first + n->count) {
            known = false;
            break;
        }
        const sim_entry_t *e = &n->log[i - n->first];
        const char *name = NULL;
        size_t len = 0;
        unsigned verb = s_consumer_verb(e, &name, &len);
        any = any || e->type == RL_ENTRY_CONSUMER;
        if (verb == 2 || verb == 3) {
            if (resets == SIM_RESETS) {
                known = false;
                break;
            }
            names[resets] = name;
            lens[resets++] = len;
        }
    }
    uint64_t h = n->consumer_table_hash;
    if (known && !any) {
        bool same = count == n->consumer_count;
        for (size_t i = 0; same && i < count; i++) {
            same = t[i].index == n->consumers[i].index &&
                   strcmp(t[i].name, n->consumers[i].name) == 0;
        }
        if (!same) {
            s_fail(s,
                   "node %" PRIu64 "'s consumer table changed (commit %" PRIu64
                   " to %" PRIu64 ") without a consumer entry committed",
                   n->id, from, to);
        }
    } else {
        h = 0x5bd1e995;
        for (size_t i = 0; i < count; i++) {
            if (t[i].index > to) {
                s_fail(s,
                       "consumer %s is at %" PRIu64 " on node %" PRIu64
                       ", beyond its commit index %" PRIu64,
                       t[i].name, t[i].index, n->id, to);
            }
            if (i > 0 && strcmp(t[i - 1].name, t[i].name) >= 0) {
                s_fail(s, "node %" PRIu64 "'s consumers are not sorted", n->id);
            }
            for (const char *c = t[i].name; *c; c++) {
                h = s_mix(h, (uint8_t)*c);
            }
            h = s_mix(s_mix(h, 0x100), t[i].index);
        }
        h = s_mix(h, count);
        h = h ? h : 1;
        for (size_t k = 0; known && k < n->consumer_count; k++) {
            const rl_raft_consumer_t *p = &n->consumers[k];
            bool reset = false;
            for (size_t j = 0; j < resets && !reset; j++) {
                reset = lens[j] == strlen(p->name) &&
                        memcmp(names[j], p->name, lens[j]) == 0;
            }
            if (reset) {
                continue;
            }
            uint64_t now = 0;
            bool found =
                rl_raft_consumer_position(n->raft, rl_str(p->name), &now);
            if (!found || now < p->index) {
                s_fail(s,
                       "consumer %s %s on node %" PRIu64 " (commit %" PRIu64
                       " to %" PRIu64 ") without a reset or delete entry",
                       p->name, found ? "went back" : "vanished", n->id, from,
                       to);
            }
        }
        if (count > n->consumer_cap) {
            free(n->consumers);
            n->consumers = malloc(count * sizeof(*t));
            n->consumer_cap = count;
        }
        if (count > 0) {
            memcpy(n->consumers, t, count * sizeof(*t));
        }
        n->consumer_count = count;
        n->consumer_table_hash = h;
    }
    sim_group_t *g = s_group(s, n->group);
    if (to > 0 && to < g->committed_cap) {
        if (g->consumer_hash[to] != 0 && g->consumer_hash[to] != h) {
            s_fail(s,
                   "node %" PRIu64 " has another consumer table than a node "
                   "before it at the same commit index %" PRIu64,
                   n->id, to);
        }
        g->consumer_hash[to] = h;
    }
}

static uint64_t s_hash_text(uint64_t h, const char *text)
{
    for (const char *c = text; *c; c++) {
        h = s_mix(h, (uint8_t)*c);
    }
    return s_mix(h, 0x100);
}

/* The catalog of named logs, after node n's commit index moved from
   `from` to `to` (by a snapshot when installed): sorted by name, group
   ids unique, from 1 and below the next id; a group id always names the
   same log (name and create index: ids are never reused); the next id
   never goes back; with no catalog entry among those just committed the
   catalog does not change; nodes at the same commit index hold the same
   catalog. Skipped while no node ever wrote a catalog entry. */
static void s_check_catalog(sim_t *s, sim_replica_t *n, uint64_t from,
                            uint64_t to, bool installed)
{
    if (!s->catalog_used || n->group != 0) {
        return;
    }
    size_t count = 0;
    const rl_raft_log_info_t *t = rl_raft_logs(n->raft, &count);
    rl_raft_status_t st;
    rl_raft_status(n->raft, &st);
    bool known = !installed && to >= from;
    bool any = false;
    for (uint64_t i = from + 1; known && i <= to; i++) {
        if (i < n->first || i >= n->first + n->count) {
            known = false;
        } else {
            any = any || n->log[i - n->first].type == RL_ENTRY_CATALOG;
        }
    }
    uint64_t h = s_mix(0x2545f491, st.next_group);
    for (size_t i = 0; i < count; i++) {
        const rl_raft_log_info_t *l = &t[i];
        if (i > 0 && strcmp(t[i - 1].name, l->name) >= 0) {
            s_fail(s, "node %" PRIu64 "'s catalog is not sorted", n->id);
        }
        if (l->group == 0 || l->group >= st.next_group || l->created == 0 ||
            l->created > to) {
            s_fail(s,
                   "node %" PRIu64 "'s log %s has group %" PRIu64
                   " (next %" PRIu64 ") created at %" PRIu64
                   ", commit index %" PRIu64,
                   n->id, l->name, l->group, st.next_group, l->created, to);
        }
        for (size_t k = 0; k < i; k++) {
            if (t[k].group == l->group) {
                s_fail(s,
                       "node %" PRIu64 "'s logs %s and %s share group %" PRIu64,
                       n->id, t[k].name, l->name, l->group);
            }
        }
        uint64_t name = s_mix(s_hash_text(0x51, l->name), l->created) | 1;
        if (l->group >= s->group_cap) {
            size_t cap = s->group_cap ? s->group_cap : 64;
            while (cap <= l->group) {
                cap *= 2;
            }
            s->group_names = realloc(s->group_names, cap * sizeof(uint64_t));
            memset(s->group_names + s->group_cap, 0,
                   (cap - s->group_cap) * sizeof(uint64_t));
            s->group_cap = cap;
        }
        if (s->group_names[l->group] != 0 && s->group_names[l->group] != name) {
            s_fail(s,
                   "group %" PRIu64 " is log %s created at %" PRIu64
                   " on node %" PRIu64 ", but named another log before: "
                   "a group id was reused",
                   l->group, l->name, l->created, n->id);
        }
        s->group_names[l->group] = name;
        h = s_hash_text(h, l->name);
        h = s_mix(h, l->group);
        h = s_mix(h, l->created);
        h = s_mix(h, l->settings.retention_bytes);
        h = s_mix(h, l->settings.retention_ms);
        h = s_mix(h, l->settings.max_entry_bytes);
        for (size_t m = 0; m < l->member_count; m++) {
            h = s_mix(h, l->member_ids[m] * 2 + l->member_voters[m]);
        }
    }
    h = s_mix(h, count) | 1;
    if (st.next_group < n->next_group) {
        s_fail(s,
               "node %" PRIu64 "'s next group id went back from %" PRIu64
               " to %" PRIu64,
               n->id, n->next_group, st.next_group);
    }
    if (known && !any && n->catalog_hash != 0 && h != n->catalog_hash) {
        s_fail(s,
               "node %" PRIu64 "'s catalog changed (commit %" PRIu64
               " to %" PRIu64 ") without a catalog entry committed",
               n->id, from, to);
    }
    n->catalog_hash = h;
    n->next_group = st.next_group;
    sim_group_t *g = s_group(s, n->group);
    if (to > 0 && to < g->committed_cap) {
        if (g->catalog_hash[to] != 0 && g->catalog_hash[to] != h) {
            s_fail(s,
                   "node %" PRIu64 " has another catalog than a node before "
                   "it at the same commit index %" PRIu64,
                   n->id, to);
        }
        g->catalog_hash[to] = h;
    }
}

/* The catalog changes a batch hands out: each committed, durable on this
   node, after the one before (log order), and at most one per entry. */
static void s_take_changes(sim_t *s, sim_replica_t *n,
                           const rl_raft_ready_t *rd)
{
    for (size_t i = 0; i < rd->log_change_count; i++) {
        const rl_raft_log_change_t *c = &rd->log_changes[i];
        uint64_t before =
            n->change_count ? n->changes[n->change_count - 1].index : 0;
        if (c->index > rd->commit || c->index > n->durable ||
            c->index <= before) {
            s_fail(s,
                   "node %" PRIu64 " was handed catalog change %" PRIu64
                   " (commit %" PRIu64 ", durable %" PRIu64
                   ", previous change %" PRIu64 ")",
                   n->id, c->index, rd->commit, n->durable, before);
        }
        if (n->change_count == n->change_cap) {
            n->change_cap = n->change_cap ? n->change_cap * 2 : 16;
            n->changes =
                realloc(n->changes, n->change_cap * sizeof(*n->changes));
        }
        n->changes[n->change_count++] = *c;
    }
}

static void s_check_leader(sim_t *s, sim_replica_t *n, uint64_t term)
{
    sim_group_t *g = s_group(s, n->group);
    if (term >= g->leaders_cap) {
        size_t cap = g->leaders_cap ? g->leaders_cap : 64;
        while (cap <= term) {
            cap *= 2;
        }
        g->leaders = realloc(g->leaders, cap * sizeof(uint64_t));
        memset(g->leaders + g->leaders_cap, 0,
               (cap - g->leaders_cap) * sizeof(uint64_t));
        g->leaders_cap = cap;
    }
    if (g->leaders[term] == n->id) {
        return;
    }
    if (g->leaders[term] != 0) {
        s_fail(s,
               "two leaders of group %" PRIu64 " in term %" PRIu64 ": %" PRIu64
               " and %" PRIu64,
               n->group, term, g->leaders[term], n->id);
    }
    g->leaders[term] = n->id;
    /* Leader Completeness: it holds every committed entry. */
    uint64_t c = g->max_commit;
    if (c > 0 && !(n->has_snap && c < n->snap.last_index)) {
        if (s_chain_at(n, c) != g->committed[c - 1]) {
            s_fail(s,
                   "Leader Completeness: leader %" PRIu64 " of term %" PRIu64
                   " of group %" PRIu64 " lacks committed entry %" PRIu64,
                   n->id, term, n->group, c);
        }
    }
}

static void s_process(sim_t *s, sim_replica_t *n);

/* How many of the voters of members[count] hold commit durably, with the
   same prefix as leader n; *voters gets their number. */
static size_t s_durable_voters(sim_t *s, sim_replica_t *n, uint64_t commit,
                               const rl_member_t *m, size_t count,
                               size_t *voters)
{
    uint64_t chain = s_chain_at(n, commit);
    size_t have = 0;
    *voters = 0;
    for (size_t i = 0; i < count; i++) {
        if (!m[i].voter) {
            continue;
        }
        (*voters)++;
        sim_replica_t *o = s_replica(s, m[i].id, n->group);
        if (!o) {
            continue;
        }
        if (o->has_snap && o->snap.last_index >= commit) {
            have++;
        } else if (o->durable >= commit && chain != 0 &&
                   s_chain_at(o, commit) == chain) {
            have++;
        }
    }
    return have;
}

/* True when configuration to is configuration from with one learner
   made a voter (the same members, in the same order: s_promote). */
static bool s_one_promotion(const rl_member_t *from, size_t from_count,
                            const rl_member_t *to, size_t to_count)
{
    if (from_count != to_count) {
        return false;
    }
    size_t promoted = 0;
    for (size_t i = 0; i < to_count; i++) {
        if (from[i].id != to[i].id || (from[i].voter && !to[i].voter)) {
            return false;
        }
        promoted += !from[i].voter && to[i].voter;
    }
    return promoted == 1;
}

/* A leader's commit index is durable on a majority of the voters of its
   configuration, with the same prefix (what "committed" means). One
   exception: when the batch that advanced it also appended the promotion
   of a learner (thesis 4.2.1: one up to a round behind may be promoted),
   a majority of the committed configuration's voters holding it is
   enough, since any majority of the new one overlaps that one (one
   server differs, thesis 4.1). */
static void s_check_quorum_durable(sim_t *s, sim_replica_t *n,
                                   const rl_raft_ready_t *rd)
{
    uint64_t commit = rd->commit;
    if (s_group(s, n->group)->deleted) {
        return; /* replicas destroyed hold nothing any more */
    }
    if (s_chain_at(n, commit) == 0) {
        return; /* not in its log view (compacted): nothing to compare */
    }
    size_t count = 0, voters = 0;
    const rl_member_t *m = rl_raft_members(n->raft, &count);
    size_t have = s_durable_voters(s, n, commit, m, count, &voters);
    if (have >= voters / 2 + 1) {
        return;
    }
    bool appended = false;
    for (size_t i = 0; i < rd->entry_count; i++) {
        appended = appended || (rd->entries[i].type == RL_ENTRY_CONFIG &&
                                rd->entries[i].index > commit);
    }
    size_t was_count = 0, was_voters = 0;
    const rl_member_t *was = rl_raft_committed_members(n->raft, &was_count);
    if (appended && s_one_promotion(was, was_count, m, count) &&
        s_durable_voters(s, n, commit, was, was_count, &was_voters) >=
            was_voters / 2 + 1) {
        return;
    }
    s_fail(s,
           "leader %" PRIu64 " of group %" PRIu64 " commits %" PRIu64
           " held durably by %zu of %zu voters",
           n->id, n->group, commit, have, voters);
}

static void s_sync(sim_t *s, sim_replica_t *n)
{
    uint64_t last = n->first + n->count - 1;
    if (n->count == 0 || last <= n->durable) {
        return;
    }
    uint64_t term = n->log[n->count - 1].term;
    if (s->o.disk_delay == 0) {
        n->durable = last;
        s_set_clock(s, n);
        sim_in_core++;
        rl_raft_persisted(n->raft, last, term);
        sim_in_core--;
        return;
    }
    sim_event_t ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EV_SYNC;
    ev.to = n->id;
    ev.group = n->group;
    ev.incarnation = n->node->incarnation;
    ev.index = last;
    ev.term = term;
    ev.at = s->now + 1 + sim_random(s, s->o.disk_delay);
    s_push(s, &ev);
}

/* ---- the host: groups created and destroyed by group 0's catalog ---- */

static void s_start_replica(sim_t *s, sim_replica_t *n);

static void s_replica_free(sim_replica_t *n)
{
    rl_raft_destroy(&n->raft);
    s_log_truncate(n, 1);
    free(n->log);
    if (n->has_snap) {
        s_snap_free(&n->snap);
    }
    free(n->consumers);
    free(n->changes);
    free(n);
}

/* A new replica of group on node (an empty disk, these bootstrap
   members), started if the node is up. Its directory is durable at once
   (the daemon fsyncs it before writing in it). mirrors: the members'
   stamp (rl_raft_config_t.mirrors). */
static sim_replica_t *s_replica_new(sim_t *s, sim_node_t *node, uint64_t group,
                                    const rl_member_t *members, size_t count,
                                    uint64_t mirrors)
{
    if (group >= SIM_MAX_GROUPS) {
        s_fail(s, "group %" PRIu64 ": the simulation holds %d groups", group,
               SIM_MAX_GROUPS);
    }
    sim_replica_t *n = calloc(1, sizeof(*n));
    n->sim = s;
    n->node = node;
    n->id = node->id;
    n->group = group;
    n->first = 1;
    n->boot_count = count;
    n->boot_mirrors = mirrors;
    if (count) {
        memcpy(n->boot, members, count * sizeof(*members));
    }
    node->groups[group] = n;
    node->ever[group] = true;
    if (group > node->watermark) {
        node->watermark = group;
    }
    if (node->up) {
        s_start_replica(s, n);
    }
    return n;
}

/* A log's creation reached node's host: a replica of its group with the
   log's initial members, unless the node hosts it already (a change
   handed out again after a restart) or hosted it once and deleted it
   since (at or below the highest id it ever hosted: raft.h). fresh: the
   creation was handed out in ready.log_changes (not a snapshot's
   catalog, nor one found at start); then the log's first leader
   (rl_raft_log_first_leader) campaigns at its next tick, as the daemon's
   does (node/rl_groups.c). */
static void s_host_create(sim_t *s, sim_node_t *node,
                          const rl_raft_log_info_t *log, bool fresh)
{
    if (log->group >= SIM_MAX_GROUPS) {
        s_fail(s, "group %" PRIu64 ": the simulation holds %d groups",
               log->group, SIM_MAX_GROUPS);
    }
    if (node->groups[log->group] || log->group <= node->watermark) {
        return;
    }
    if (node->ever[log->group]) {
        s_fail(s, "node %" PRIu64 " creates group %" PRIu64 " a second time",
               node->id, log->group);
    }
    rl_member_t members[RL_MAX_MEMBERS];
    size_t count = rl_raft_log_members(log, s->boot, SIM_MAX_NODES, members);
    s->stats.groups_created++;
    if (s->trace) {
        fprintf(stderr,
                "t=%" PRIu64 " node %" PRIu64 " creates group %" PRIu64
                " (%s)\n",
                s->now, node->id, log->group, log->name);
    }
    sim_replica_t *n =
        s_replica_new(s, node, log->group, members, count, log->created);
    if (fresh && n->raft && rl_raft_log_first_leader(log) == node->id) {
        if (s->trace) {
            fprintf(stderr,
                    "t=%" PRIu64 " node %" PRIu64 " group %" PRIu64
                    " campaigns soon: its first leader\n",
                    s->now, node->id, log->group);
        }
        sim_in_core++;
        rl_raft_campaign_soon(n->raft);
        sim_in_core--;
    }
}

static void s_host_destroy(sim_t *s, sim_node_t *node, uint64_t group)
{
    if (group == 0 || group >= SIM_MAX_GROUPS || !node->groups[group]) {
        return;
    }
    sim_replica_t *n = node->groups[group];
    node->groups[group] = NULL;
    s_group(s, group)->deleted = true;
    s->stats.groups_destroyed++;
    if (s->trace) {
        fprintf(stderr,
                "t=%" PRIu64 " node %" PRIu64 " destroys group %" PRIu64 "\n",
                s->now, node->id, group);
    }
    s_replica_free(n);
}

/* The groups of group 0's committed catalog that node lacks are created,
   in increasing id order (the highest id hosted only grows); with
   destroy (group 0 installed a snapshot) those it no longer lists are
   destroyed. */
static void s_host_reconcile(sim_t *s, sim_node_t *node, bool destroy)
{
    sim_replica_t *zero = node->groups[0];
    if (!zero || !zero->raft) {
        return;
    }
    size_t count = 0;
    const rl_raft_log_info_t *logs = rl_raft_logs(zero->raft, &count);
    bool listed[SIM_MAX_GROUPS] = {false};
    for (size_t i = 0; i < count; i++) {
        if (logs[i].group < SIM_MAX_GROUPS) {
            listed[logs[i].group] = true;
        }
    }
    for (uint64_t g = 1; g < SIM_MAX_GROUPS; g++) {
        if (listed[g] && !node->groups[g]) {
            for (size_t i = 0; i < count; i++) {
                if (logs[i].group == g) {
                    s_host_create(s, node, &logs[i], false);
                }
            }
        } else if (!listed[g] && node->groups[g] && destroy) {
            s_host_destroy(s, node, g);
        }
    }
}

/* Group 0's batch, once carried out: its catalog changes (committed and
   durable here) create and destroy groups; a snapshot replaced the
   catalog. */
static void s_host_catalog(sim_t *s, sim_replica_t *zero,
                           const rl_raft_ready_t *rd)
{
    sim_node_t *node = zero->node;
    if (rd->snapshot_install) {
        s_host_reconcile(s, node, true);
    }
    for (size_t i = 0; i < rd->log_change_count; i++) {
        const rl_raft_log_change_t *c = &rd->log_changes[i];
        if (c->verb == RL_RAFT_LOG_CREATE) {
            s_host_create(s, node, &c->log, true);
        } else if (c->verb == RL_RAFT_LOG_DELETE) {
            s_host_destroy(s, node, c->log.group);
        }
    }
}

static void s_process(sim_t *s, sim_replica_t *n)
{
    rl_raft_ready_t rd;
    sim_group_t *g = s_group(s, n->group);
    for (int rounds = 0; rounds < 1000; rounds++) {
        if (!rl_raft_ready(n->raft, &rd)) {
            return;
        }
        if (s->trace && rd.role_changed) {
            size_t mc = 0;
            const rl_member_t *mm = rl_raft_members(n->raft, &mc);
            fprintf(stderr,
                    "t=%" PRIu64 " node %" PRIu64 " group %" PRIu64
                    " %s term %" PRIu64 " leader %" PRIu64 " commit %" PRIu64
                    " config",
                    s->now, n->id, n->group, rl_raft_role_name(rd.role),
                    rd.term, rd.leader, rd.commit);
            for (size_t i = 0; i < mc; i++) {
                fprintf(stderr, " %" PRIu64 "%s", mm[i].id,
                        mm[i].voter ? "" : "L");
            }
            fprintf(stderr, "\n");
        }
        if (s->trace) {
            for (size_t i = 0; i < rd.entry_count; i++) {
                if (rd.entries[i].type == RL_ENTRY_CONFIG) {
                    fprintf(stderr,
                            "t=%" PRIu64 " node %" PRIu64 " group %" PRIu64
                            " writes config entry %" PRIu64 " term %" PRIu64
                            "\n",
                            s->now, n->id, n->group, rd.entries[i].index,
                            rd.entries[i].term);
                }
            }
            if (rd.snapshot_install) {
                fprintf(stderr,
                        "t=%" PRIu64 " node %" PRIu64 " group %" PRIu64
                        " installs snapshot %" PRIu64 "\n",
                        s->now, n->id, n->group, rd.snapshot->last_index);
            }
        }
        if (rd.snapshot_install) {
            s_log_truncate(n, 1);
            n->first = rd.snapshot->last_index + 1;
            n->durable = rd.snapshot->last_index;
            s_snap_store(s, n, rd.snapshot);
        }
        if (rd.hard_state_changed) {
            if (rd.term < n->hs_term) {
                s_fail(s, "node %" PRIu64 " term went back", n->id);
            }
            if (rd.term == n->hs_term && n->hs_vote != 0 &&
                rd.vote != n->hs_vote) {
                s_fail(s,
                       "node %" PRIu64 " voted twice in term %" PRIu64
                       " of group %" PRIu64,
                       n->id, rd.term, n->group);
            }
            n->hs_term = rd.term;
            n->hs_vote = rd.vote;
        }
        if (rd.entry_count > 0) {
            uint64_t at = rd.entries[0].index;
            if (at < n->first || at > n->first + n->count) {
                s_fail(s,
                       "node %" PRIu64 " asked to write entry %" PRIu64
                       " outside its log",
                       n->id, at);
            }
            if (at <= n->commit) {
                s_fail(s, "node %" PRIu64 " truncates committed entry %" PRIu64,
                       n->id, at);
            }
            s_log_truncate(n, at);
            if (n->count + rd.entry_count > n->cap) {
                n->cap = (n->count + rd.entry_count) * 2;
                n->log = realloc(n->log, n->cap * sizeof(*n->log));
            }
            for (size_t i = 0; i < rd.entry_count; i++) {
                const rl_entry_t *e = &rd.entries[i];
                sim_entry_t *d = &n->log[n->count];
                uint64_t prev = s_chain_at(n, e->index - 1);
                d->term = e->term;
                d->type = e->type;
                d->producer_id = e->producer_id;
                d->seq = e->seq;
                d->size = e->size;
                d->time = e->time;
                d->data = NULL;
                if (e->size) {
                    d->data = malloc(e->size);
                    memcpy(d->data, e->data, e->size);
                }
                d->chain = s_chain(prev, e->index, e);
                /* Entry timestamps never decrease along a log: what a
                   leader appends is stamped at or after the entry before
                   it, and followers copy prefixes of leaders' logs. */
                uint64_t before = 0;
                bool have = true;
                if (n->count > 0) {
                    before = n->log[n->count - 1].time;
                } else if (n->has_snap && n->snap.last_index == e->index - 1) {
                    before = n->snap_time;
                } else {
                    have = e->index == 1;
                }
                if (have && e->time < before) {
                    bool own = rd.role == RL_RAFT_LEADER && e->term == rd.term;
                    s_fail(s,
                           "%s %" PRIu64 " writes entry %" PRIu64
                           " (term %" PRIu64 ") stamped %" PRIu64
                           ", before the entry ahead of it (%" PRIu64 ")",
                           own ? "leader" : "node", n->id, e->index, e->term,
                           e->time, before);
                }
                n->count++;
                s->catalog_used |= e->type == RL_ENTRY_CATALOG;
                s_check_matching(s, g, n->id, e->index, e->term, d->chain);
            }
        }
        for (size_t i = 0; i < rd.message_count; i++) {
            if (rd.messages[i].msg.group != n->group) {
                s_fail(s,
                       "node %" PRIu64 "'s core of group %" PRIu64
                       " sends a message of group %" PRIu64,
                       n->id, n->group, rd.messages[i].msg.group);
            }
            s_send(s, n->id, &rd.messages[i]);
        }
        if (rd.commit != n->commit) {
            if (rd.role == RL_RAFT_LEADER && n->led_term == rd.term &&
                s_term_of(n, rd.commit) != rd.term) {
                s_fail(s,
                       "Figure 8: leader %" PRIu64 " of term %" PRIu64
                       " commits entry %" PRIu64 " of term %" PRIu64
                       " by counting replicas",
                       n->id, rd.term, rd.commit, s_term_of(n, rd.commit));
            }
            uint64_t was = n->commit;
            s_check_commit(s, n, rd.commit);
            s_check_consumers(s, n, was, rd.commit, rd.snapshot_install);
            s_check_catalog(s, n, was, rd.commit, rd.snapshot_install);
            if (rd.role == RL_RAFT_LEADER) {
                s_check_quorum_durable(s, n, &rd);
            }
        }
        s_take_changes(s, n, &rd);
        n->led_term = rd.role == RL_RAFT_LEADER ? rd.term : 0;
        if (rd.role == RL_RAFT_LEADER) {
            s_check_leader(s, n, rd.term);
        }
        if (rd.snapshot_taken) {
            s_snap_store(s, n, rd.snapshot);
            s_log_drop_prefix(n, rd.snapshot->last_index);
        }
        if (n->group == 0) {
            s_host_catalog(s, n, &rd);
        }
        s_sync(s, n);
    }
    s_fail(s, "node %" PRIu64 " never stops producing work", n->id);
}

/* ---- life cycle ---- */

void sim_options_default(sim_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->nodes = 3;
    o->seed = 1;
    o->election_ticks = 10;
    o->heartbeat_ticks = 2;
    o->pre_vote = true;
    o->check_quorum = true;
    o->tick_period = 10;
    o->min_delay = 1;
    o->max_delay = 5;
}

/* The core's trace lines, with RL_SIM_TRACE. */
static void s_trace(void *ctx, int level, const char *text)
{
    sim_replica_t *n = ctx;
    (void)level;
    fprintf(stderr,
            "t=%" PRIu64 " node %" PRIu64 " group %" PRIu64 " trace: %s\n",
            n->sim->now, n->id, n->group, text);
}

/* Starts replica n's core from its disk (the node is up). */
static void s_start_replica(sim_t *s, sim_replica_t *n)
{
    sim_node_t *node = n->node;
    rl_raft_config_t cfg;
    rl_raft_config_defaults(&cfg);
    cfg.id = n->id;
    cfg.group = n->group;
    cfg.cluster = rl_str("sim");
    cfg.seed = s->o.seed * 1000003u + n->id * 7919u + node->incarnation +
               n->group * 104729u;
    cfg.election_ticks = s->o.election_ticks;
    cfg.heartbeat_ticks = s->o.heartbeat_ticks;
    cfg.pre_vote = s->o.pre_vote;
    cfg.check_quorum = s->o.check_quorum;
    cfg.max_inflight = 4;
    cfg.max_batch_bytes = 4096;
    if (s->o.max_batch_entries) {
        cfg.max_batch_entries = s->o.max_batch_entries;
    }
    if (s->o.max_uncommitted) {
        cfg.max_uncommitted = s->o.max_uncommitted;
    }
    cfg.max_producers = s->o.max_producers ? s->o.max_producers : 64;
    if (s->o.max_consumers) {
        cfg.max_consumers = s->o.max_consumers;
    }
    if (s->o.max_logs) {
        cfg.max_logs = s->o.max_logs;
    }
    cfg.quiesce = s->o.quiesce;
    cfg.snapshot_chunk = s->o.snapshot_chunk ? s->o.snapshot_chunk : 64;
    cfg.view.ctx = n;
    cfg.view.first_index = v_first;
    cfg.view.last_index = v_last;
    cfg.view.term_at = v_term;
    cfg.view.read = v_read;
    /* The address book, as operators give it: the bootstrap members to
       each of them; to a node added later, the nodes there were then. */
    uint64_t known[SIM_MAX_NODES];
    size_t known_count = node->boot ? s->boot_count : n->id;
    for (size_t i = 0; i < known_count; i++) {
        known[i] = i + 1;
    }
    cfg.known = known;
    cfg.known_count = known_count;
    if (s->trace) {
        cfg.trace = s_trace;
        cfg.trace_ctx = n;
    }
    cfg.term = n->hs_term;
    cfg.vote = n->hs_vote;
    cfg.mirrors = n->boot_mirrors;
    if (n->has_snap) {
        cfg.snapshot = &n->snap;
    } else {
        cfg.members = n->boot;
        cfg.member_count = n->boot_count;
    }
    int err = 0;
    n->raft = rl_raft_new(&cfg, &err);
    if (!n->raft) {
        s_fail(s, "node %" PRIu64 " cannot start group %" PRIu64 ": %s", n->id,
               n->group, rl_error_name(err));
    }
    n->led_term = 0;
    n->commit = n->has_snap ? n->snap.last_index : 0;
    s_set_clock(s, n);
    /* The consumer table restarts with the commit index: at the
       snapshot's. */
    n->consumer_count = 0;
    s_check_consumers(s, n, n->commit, n->commit, true);
    /* So does the catalog, and the changes handed out start over. */
    n->catalog_hash = 0;
    n->next_group = 0;
    n->change_count = 0;
    s_check_catalog(s, n, n->commit, n->commit, true);
}

/* Starts node n: every group it hosts, then (its host, raft.h) the
   groups of group 0's committed catalog it lacks. */
static void s_start(sim_t *s, sim_node_t *node)
{
    node->up = true;
    for (unsigned p = 0; p <= SIM_MAX_NODES; p++) {
        node->heard[p] = s->now; /* a node starts believing everyone up */
    }
    for (unsigned g = 0; g < SIM_MAX_GROUPS; g++) {
        if (node->groups[g]) {
            s_start_replica(s, node->groups[g]);
        }
    }
    s_host_reconcile(s, node, false);
    node->tick_phase = (unsigned)sim_random(s, node->tick_period);
}

static void s_process_node(sim_t *s, sim_node_t *node)
{
    for (unsigned g = 0; g < SIM_MAX_GROUPS; g++) {
        if (node->groups[g] && node->groups[g]->raft) {
            s_process(s, node->groups[g]);
        }
    }
}

sim_t *sim_new(const sim_options_t *o)
{
    sim_t *s = calloc(1, sizeof(*s));
    s->o = *o;
    if (s->o.max_delay < s->o.min_delay) {
        s->o.max_delay = s->o.min_delay;
    }
    s->prng = o->seed ^ 0x5DEECE66DULL;
    s_watch_fatal_signals(s);
    s->trace = getenv("RL_SIM_TRACE") != NULL;
    s_group(s, 0);
    s->n = o->nodes;
    s->boot_count = o->nodes;
    for (unsigned i = 0; i < SIM_MAX_NODES; i++) {
        snprintf(s->addr[i], sizeof(s->addr[i]), "sim://%u", i + 1);
        s->boot[i].id = i + 1;
        s->boot[i].voter = true;
        s->boot[i].peer_addr = rl_str(s->addr[i]);
        s->boot[i].client_addr = rl_str(s->addr[i]);
    }
    for (unsigned a = 0; a <= SIM_MAX_NODES; a++) {
        for (unsigned b = 0; b <= SIM_MAX_NODES; b++) {
            s->link[a][b] = true;
        }
    }
    for (unsigned i = 0; i < s->n; i++) {
        sim_node_t *n = &s->nodes[i];
        n->sim = s;
        n->id = i + 1;
        n->boot = true;
        n->tick_period = o->tick_period;
        s_replica_new(s, n, 0, s->boot, s->boot_count, 0);
        s_start(s, n);
    }
    return s;
}

void sim_destroy(sim_t **sim_p)
{
    sim_t *s = *sim_p;
    if (!s) {
        return;
    }
    for (unsigned i = 0; i < s->n; i++) {
        for (unsigned g = 0; g < SIM_MAX_GROUPS; g++) {
            if (s->nodes[i].groups[g]) {
                s_replica_free(s->nodes[i].groups[g]);
            }
        }
    }
    for (size_t i = 0; i < s->heap_count; i++) {
        rl_msg_close(&s->heap[i].msg);
    }
    free(s->heap);
    for (unsigned g = 0; g < SIM_MAX_GROUPS; g++) {
        s_group_free(s->groups[g]);
    }
    free(s->group_names);
    if (g_running == s) {
        g_running = NULL;
    }
    free(s);
    *sim_p = NULL;
}

uint64_t sim_add_node(sim_t *s)
{
    if (s->n >= SIM_MAX_NODES) {
        return 0;
    }
    sim_node_t *n = &s->nodes[s->n++];
    n->sim = s;
    n->id = s->n;
    n->boot = false;
    n->tick_period = s->o.tick_period;
    s_replica_new(s, n, 0, NULL, 0, 0);
    s_start(s, n);
    return n->id;
}

void sim_crash(sim_t *s, uint64_t id)
{
    sim_node_t *node = s_node(s, id);
    if (!node || !node->up) {
        return;
    }
    node->up = false;
    node->incarnation++;
    for (unsigned g = 0; g < SIM_MAX_GROUPS; g++) {
        sim_replica_t *n = node->groups[g];
        if (n) {
            rl_raft_destroy(&n->raft);
            s_log_truncate(n, n->durable + 1);
        }
        sim_group_t *grp = s->groups[g];
        for (size_t k = 0; grp && k < grp->pending_count; k++) {
            if (grp->pending[k].node == id) {
                grp->pending[k].waiting = false;
            }
        }
        if (grp) {
            s_pending_compact(grp);
        }
    }
}

void sim_crash_losing_tail(sim_t *s, uint64_t id, uint64_t keep)
{
    sim_replica_t *n = s_replica(s, id, 0);
    if (!n) {
        return;
    }
    sim_crash(s, id);
    if (keep + 1 >= n->first) {
        s_log_truncate(n, keep + 1);
    }
}

void sim_crash_losing_everything(sim_t *s, uint64_t id)
{
    sim_node_t *node = s_node(s, id);
    if (!node) {
        return;
    }
    sim_crash(s, id);
    for (unsigned g = 1; g < SIM_MAX_GROUPS; g++) {
        if (node->groups[g]) {
            s_replica_free(node->groups[g]);
            node->groups[g] = NULL;
        }
        node->ever[g] = false;
    }
    node->watermark = 0;
    sim_replica_t *n = node->groups[0];
    s_log_truncate(n, n->first);
    n->first = 1;
    n->durable = 0;
    n->hs_term = 0;
    n->hs_vote = 0;
    if (n->has_snap) {
        s_snap_free(&n->snap);
        n->has_snap = false;
    }
    n->snap_chain = 0;
    n->snap_time = 0;
}

void sim_restart(sim_t *s, uint64_t id)
{
    sim_node_t *node = s_node(s, id);
    if (!node || node->up) {
        return;
    }
    s_start(s, node);
    s_process_node(s, node);
}

bool sim_up(sim_t *s, uint64_t id)
{
    sim_node_t *n = s_node(s, id);
    return n && n->up;
}

/* ---- time ---- */

/* Is id in the latest configuration of node's group 0? */
static bool s_in_latest_group_0(sim_node_t *node, uint64_t id)
{
    sim_replica_t *zero = node->groups[0];
    if (!zero || !zero->raft) {
        return false;
    }
    size_t count = 0;
    const rl_member_t *m = rl_raft_members(zero->raft, &count);
    for (size_t i = 0; i < count; i++) {
        if (m[i].id == id) {
            return true;
        }
    }
    return false;
}

/* Is id a member of node's group 0 (its latest or committed
   configuration)? */
static bool s_in_group_0(sim_node_t *node, uint64_t id)
{
    sim_replica_t *zero = node->groups[0];
    if (!zero || !zero->raft) {
        return false;
    }
    if (s_in_latest_group_0(node, id)) {
        return true;
    }
    size_t count = 0;
    const rl_member_t *m = rl_raft_committed_members(zero->raft, &count);
    for (size_t i = 0; i < count; i++) {
        if (m[i].id == id) {
            return true;
        }
    }
    return false;
}

/* In a named log's group a host lets through a leader's messages only
   from a member of its group 0 (raft.h, "Hosting groups"): a node
   removed from group 0 never learns it (Raft stops sending to it when
   the removal is appended), so its view of group 0 stays stale and, if it
   leads a group, it would never mirror its own removal. Its followers
   stop following it; it steps down (CheckQuorum) and a leader that knows
   group 0 takes over. Nor does a host let through a (pre)vote request
   from a node not in its group 0's latest configuration: such a node
   could win, append its no-op where no one takes it, and then, in a
   group whose quorum needs it (two voters), refuse every other
   candidate for ever (its log is ahead). Dropping messages is always
   safe. */
static bool s_host_admits(sim_node_t *node, const rl_msg_t *msg)
{
    if (msg->group != 0 &&
        (msg->type == RL_MSG_PREVOTE || msg->type == RL_MSG_VOTE)) {
        return s_in_latest_group_0(node, msg->from);
    }
    return msg->group == 0 ||
           (msg->type != RL_MSG_APPEND && msg->type != RL_MSG_SNAPSHOT &&
            msg->type != RL_MSG_TIMEOUT_NOW) ||
           s_in_group_0(node, msg->from);
}

static void s_deliver(sim_t *s, sim_event_t *ev)
{
    sim_node_t *node = s_node(s, ev->to);
    if (ev->kind == EV_SYNC) {
        sim_replica_t *n = s_live(s, ev->to, ev->group);
        if (n && node->incarnation == ev->incarnation &&
            ev->index >= n->first && ev->index < n->first + n->count &&
            n->log[ev->index - n->first].term == ev->term) {
            if (ev->index > n->durable) {
                n->durable = ev->index;
            }
            s_set_clock(s, n);
            sim_in_core++;
            rl_raft_persisted(n->raft, ev->index, ev->term);
            sim_in_core--;
            s_process(s, n);
        }
        return;
    }
    if (ev->kind == EV_BEAT) {
        if (node && node->up && s->link[ev->msg.from][ev->to]) {
            node->heard[ev->msg.from] = s->now;
        }
        return;
    }
    if (node && node->up && s->link[ev->msg.from][ev->to]) {
        node->heard[ev->msg.from] = s->now;
        sim_replica_t *n = s_live(s, ev->to, ev->msg.group);
        if (n && !s_host_admits(node, &ev->msg)) {
            s->stats.refused++;
        } else if (n) {
            ev->msg.cluster = rl_str("sim");
            s_set_clock(s, n);
            sim_in_core++;
            rl_raft_step(n->raft, &ev->msg);
            sim_in_core--;
            s_process(s, n);
        } else {
            s->stats.unhosted++; /* not created here yet, or deleted */
        }
    }
    rl_msg_close(&ev->msg);
}

/* Node-level liveness, as a host with quiet groups keeps it: a
   heartbeat to every other node each tick (any frame counts), through the
   network like messages. */
static void s_beat(sim_t *s, sim_node_t *n)
{
    for (unsigned p = 1; p <= s->n; p++) {
        if (p == n->id) {
            continue;
        }
        s->stats.beats++;
        if (!s->link[n->id][p] || sim_random(s, 100) < s->o.drop_pct) {
            continue;
        }
        sim_event_t ev;
        memset(&ev, 0, sizeof(ev));
        ev.kind = EV_BEAT;
        ev.to = p;
        unsigned span = s->o.max_delay - s->o.min_delay + 1;
        ev.at = s->now + s->o.min_delay + sim_random(s, span);
        ev.msg.from = n->id;
        s_push(s, &ev);
    }
}

/* Is peer silent for an election timeout, as node n sees it? */
static bool s_down(sim_t *s, sim_node_t *n, uint64_t peer)
{
    uint64_t timeout = (uint64_t)s->o.election_ticks * n->tick_period;
    return peer != n->id && peer <= SIM_MAX_NODES &&
           s->now - n->heard[peer] > timeout;
}

/* Wakes core if quiet and it needs a down node: a follower whose leader
   is down (or, in a named log's group, no longer a member of group 0:
   see s_host_admits), a leader one of whose voters is down (raft.h
   rl_raft_wake). */
static void s_wake_if_needed(sim_t *s, sim_node_t *n, uint64_t group,
                             rl_raft_t *core)
{
    if (!rl_raft_quiet(core)) {
        return;
    }
    rl_raft_status_t st;
    rl_raft_status(core, &st);
    bool wake = false;
    if (st.role == RL_RAFT_LEADER) {
        size_t count = 0;
        const rl_member_t *m = rl_raft_members(core, &count);
        for (size_t i = 0; i < count && !wake; i++) {
            wake = m[i].voter && s_down(s, n, m[i].id);
        }
    } else {
        wake = st.leader != 0 && (s_down(s, n, st.leader) ||
                                  (group != 0 && !s_in_group_0(n, st.leader)));
    }
    if (wake) {
        s->stats.wakes++;
        rl_raft_wake(core);
    }
}

/* The host mirrors group 0's committed configuration into every other
   group this node leads, one change at a time (mirror.c). */
static void s_host_mirror(sim_t *s, sim_node_t *node)
{
    sim_replica_t *zero = node->groups[0];
    if (!zero || !zero->raft || node->watermark == 0) {
        return;
    }
    size_t count = 0;
    const rl_member_t *target = rl_raft_committed_members(zero->raft, &count);
    uint64_t target_at = rl_raft_committed_config_index(zero->raft);
    for (unsigned g = 1; g < SIM_MAX_GROUPS; g++) {
        sim_replica_t *n = node->groups[g];
        if (!n || !n->raft || n->led_term == 0) {
            continue;
        }
        rl_raft_mirror_t done = RL_RAFT_MIRROR_NONE;
        s_set_clock(s, n);
        sim_in_core++;
        rl_raft_mirror(n->raft, target, count, target_at, &done);
        sim_in_core--;
        if (done != RL_RAFT_MIRROR_NONE) {
            s->stats.mirrored++;
            s_process(s, n);
        }
    }
}

/* One tick of node n: its host's duties (liveness, mirroring), then each
   of its groups' cores unless quiet (a quiet core's tick does nothing;
   the host skips it). */
static void s_tick_node(sim_t *s, sim_node_t *node)
{
    if (s->o.quiesce) {
        s_beat(s, node);
    }
    s_host_mirror(s, node);
    for (unsigned g = 0; g < SIM_MAX_GROUPS; g++) {
        sim_replica_t *n = node->groups[g];
        if (!n || !n->raft) {
            continue;
        }
        s_set_clock(s, n);
        if (s->o.quiesce) {
            s_wake_if_needed(s, node, g, n->raft);
        }
        if (rl_raft_quiet(n->raft)) {
            s->stats.quiet_ticks++;
            continue;
        }
        s->stats.ticks++;
        sim_in_core++;
        rl_raft_tick(n->raft);
        sim_in_core--;
        s_process(s, n);
    }
}

static void s_step_time(sim_t *s)
{
    s->now++;
    for (unsigned i = 0; i < s->n; i++) {
        sim_node_t *n = &s->nodes[i];
        if (n->up && (s->now + n->tick_phase) % n->tick_period == 0) {
            s_tick_node(s, n);
        }
    }
    while (s->heap_count > 0 && s->heap[0].at <= s->now) {
        sim_event_t ev;
        s_pop(s, &ev);
        s_deliver(s, &ev);
    }
}

void sim_run(sim_t *s, unsigned units)
{
    for (unsigned i = 0; i < units; i++) {
        s_step_time(s);
    }
}

/* ---- the API: groups ---- */

uint64_t sim_group_leader(sim_t *s, uint64_t group)
{
    uint64_t best = 0;
    uint64_t best_term = 0;
    for (unsigned i = 0; i < s->n; i++) {
        sim_replica_t *n = s_live(s, i + 1, group);
        rl_raft_status_t st;
        if (!n) {
            continue;
        }
        rl_raft_status(n->raft, &st);
        if (st.role == RL_RAFT_LEADER && st.term >= best_term) {
            best = n->id;
            best_term = st.term;
        }
    }
    return best;
}

uint64_t sim_leader(sim_t *s)
{
    return sim_group_leader(s, 0);
}

uint64_t sim_group_wait_leader(sim_t *s, uint64_t group, unsigned max)
{
    for (unsigned t = 0; t < max; t++) {
        uint64_t l = sim_group_leader(s, group);
        if (l) {
            return l;
        }
        s_step_time(s);
    }
    return sim_group_leader(s, group);
}

uint64_t sim_wait_leader(sim_t *s, unsigned max)
{
    return sim_group_wait_leader(s, 0, max);
}

bool sim_group_wait_commit(sim_t *s, uint64_t group, uint64_t index,
                           unsigned max)
{
    for (unsigned t = 0; t <= max; t++) {
        bool all = true;
        for (unsigned i = 0; i < s->n; i++) {
            sim_replica_t *n = s_live(s, i + 1, group);
            if (n && n->commit < index) {
                all = false;
            }
        }
        if (all) {
            return true;
        }
        s_step_time(s);
    }
    return false;
}

bool sim_wait_commit(sim_t *s, uint64_t index, unsigned max)
{
    return sim_group_wait_commit(s, 0, index, max);
}

/* After a proposal to replica n: tracks it for acknowledgement (the entry
   is acknowledged once n sees it committed in the term it was proposed
   in) and carries out n's work. */
static void s_after_proposal(sim_t *s, sim_replica_t *n, int rc,
                             const rl_raft_proposal_t *out)
{
    sim_group_t *g = s_group(s, n->group);
    if (rc == 0) {
        if (g->pending_count == g->pending_cap) {
            g->pending_cap = g->pending_cap ? g->pending_cap * 2 : 64;
            g->pending =
                realloc(g->pending, g->pending_cap * sizeof(*g->pending));
        }
        sim_pending_t *p = &g->pending[g->pending_count++];
        p->node = n->id;
        p->first = out->first;
        p->last = out->last;
        p->term = out->term;
        p->waiting = true;
    }
    s_process(s, n);
    if (rc == 0 && n->raft && n->commit >= out->last) {
        /* Already committed (a duplicate): acknowledge now. */
        uint64_t c = n->commit;
        for (size_t k = 0; k < g->pending_count; k++) {
            sim_pending_t *p = &g->pending[k];
            if (p->waiting && p->node == n->id && p->last <= c) {
                p->waiting = false;
                if (p->last >= n->first && p->last < n->first + n->count &&
                    n->log[p->last - n->first].term == p->term) {
                    s_ack(g, p->last, p->term);
                }
            }
        }
        s_pending_compact(g);
    }
}

int sim_group_propose(sim_t *s, uint64_t id, uint64_t group, uint64_t value,
                      uint64_t producer, uint64_t seq, rl_raft_proposal_t *out)
{
    sim_replica_t *n = s_live(s, id, group);
    rl_raft_proposal_t tmp;
    if (!out) {
        out = &tmp;
    }
    if (!n) {
        memset(out, 0, sizeof(*out));
        return RL_ERR_NO_LEADER;
    }
    uint8_t data[8];
    for (int i = 0; i < 8; i++) {
        data[i] = (uint8_t)(value >> (8 * i));
    }
    rl_entry_t e;
    memset(&e, 0, sizeof(e));
    e.data = data;
    e.size = sizeof(data);
    s_set_clock(s, n);
    sim_in_core++;
    int rc = rl_raft_propose(n->raft, &e, 1, producer, seq, out);
    sim_in_core--;
    s_after_proposal(s, n, rc, out);
    return rc;
}

int sim_propose(sim_t *s, uint64_t id, uint64_t value, uint64_t producer,
                uint64_t seq, rl_raft_proposal_t *out)
{
    return sim_group_propose(s, id, 0, value, producer, seq, out);
}

int sim_consumer(sim_t *s, uint64_t id, sim_consumer_verb_t verb,
                 const char *name, uint64_t index, rl_raft_proposal_t *out)
{
    sim_replica_t *n = s_live(s, id, 0);
    rl_raft_proposal_t tmp;
    if (!out) {
        out = &tmp;
    }
    if (!n) {
        memset(out, 0, sizeof(*out));
        return RL_ERR_NO_LEADER;
    }
    s_set_clock(s, n);
    sim_in_core++;
    int rc;
    if (verb == SIM_CONSUMER_COMMIT) {
        rc = rl_raft_consumer_commit(n->raft, rl_str(name), index, out);
    } else if (verb == SIM_CONSUMER_RESET) {
        rc = rl_raft_consumer_reset(n->raft, rl_str(name), index, out);
    } else {
        rc = rl_raft_consumer_delete(n->raft, rl_str(name), out);
    }
    sim_in_core--;
    s_after_proposal(s, n, rc, out);
    return rc;
}

int sim_log(sim_t *s, uint64_t id, rl_raft_log_verb_t verb, const char *name,
            const rl_raft_log_settings_t *settings, rl_raft_proposal_t *out)
{
    sim_replica_t *n = s_live(s, id, 0);
    rl_raft_proposal_t tmp;
    if (!out) {
        out = &tmp;
    }
    if (!n) {
        memset(out, 0, sizeof(*out));
        return RL_ERR_NO_LEADER;
    }
    s_set_clock(s, n);
    sim_in_core++;
    int rc;
    if (verb == RL_RAFT_LOG_CREATE) {
        rc = rl_raft_log_create(n->raft, rl_str(name), settings, out);
    } else if (verb == RL_RAFT_LOG_DELETE) {
        rc = rl_raft_log_delete(n->raft, rl_str(name), out);
    } else {
        rc = rl_raft_log_configure(n->raft, rl_str(name), settings, out);
    }
    sim_in_core--;
    s_after_proposal(s, n, rc, out);
    return rc;
}

bool sim_log_find(sim_t *s, uint64_t id, const char *name,
                  rl_raft_log_info_t *log)
{
    sim_replica_t *n = s_live(s, id, 0);
    return n && rl_raft_log_find(n->raft, rl_str(name), log);
}

const rl_raft_log_change_t *sim_log_changes(sim_t *s, uint64_t id,
                                            size_t *count)
{
    sim_replica_t *n = s_replica(s, id, 0);
    *count = n ? n->change_count : 0;
    return n ? n->changes : NULL;
}

bool sim_consumer_position(sim_t *s, uint64_t id, const char *name,
                           uint64_t *index)
{
    sim_replica_t *n = s_live(s, id, 0);
    return n && rl_raft_consumer_position(n->raft, rl_str(name), index);
}

void sim_set_clock_skew(sim_t *s, uint64_t id, int64_t skew_ms)
{
    sim_node_t *n = s_node(s, id);
    if (n) {
        n->skew = skew_ms;
    }
}

uint64_t sim_clock(sim_t *s, uint64_t id)
{
    sim_node_t *n = s_node(s, id);
    return n ? s_wall(s, n) : 0;
}

uint64_t sim_group_committed_term(sim_t *s, uint64_t group, uint64_t index)
{
    sim_group_t *g = group < SIM_MAX_GROUPS ? s->groups[group] : NULL;
    if (!g || index == 0 || index > g->max_commit ||
        g->committed[index - 1] == 0) {
        return 0;
    }
    return g->committed_term[index - 1];
}

uint64_t sim_committed_term(sim_t *s, uint64_t index)
{
    return sim_group_committed_term(s, 0, index);
}

uint64_t sim_time_at(sim_t *s, uint64_t id, uint64_t index)
{
    sim_replica_t *n = s_replica(s, id, 0);
    if (!n || index < n->first || index >= n->first + n->count) {
        return 0;
    }
    return n->log[index - n->first].time;
}

uint64_t sim_group_propose_leader(sim_t *s, uint64_t group, uint64_t value,
                                  unsigned max)
{
    for (unsigned t = 0; t < max; t++) {
        uint64_t l = sim_group_leader(s, group);
        rl_raft_proposal_t out;
        if (l && sim_group_propose(s, l, group, value, 0, 0, &out) == 0) {
            return out.last;
        }
        s_step_time(s);
    }
    return 0;
}

uint64_t sim_propose_leader(sim_t *s, uint64_t value, unsigned max)
{
    return sim_group_propose_leader(s, 0, value, max);
}

size_t sim_group_acked(sim_t *s, uint64_t group)
{
    sim_group_t *g = group < SIM_MAX_GROUPS ? s->groups[group] : NULL;
    return g ? g->ack_count : 0;
}

size_t sim_acked(sim_t *s)
{
    return sim_group_acked(s, 0);
}

/* ---- network and clocks ---- */

void sim_link(sim_t *s, uint64_t from, uint64_t to, bool up)
{
    if (from <= SIM_MAX_NODES && to <= SIM_MAX_NODES) {
        s->link[from][to] = up;
    }
}

void sim_isolate(sim_t *s, uint64_t id)
{
    for (unsigned i = 1; i <= SIM_MAX_NODES; i++) {
        if (i != id) {
            sim_link(s, id, i, false);
            sim_link(s, i, id, false);
        }
    }
}

void sim_heal(sim_t *s)
{
    for (unsigned a = 0; a <= SIM_MAX_NODES; a++) {
        for (unsigned b = 0; b <= SIM_MAX_NODES; b++) {
            s->link[a][b] = true;
        }
    }
}

void sim_set_faults(sim_t *s, unsigned drop_pct, unsigned dup_pct,
                    unsigned min_delay, unsigned max_delay)
{
    s->o.drop_pct = drop_pct;
    s->o.dup_pct = dup_pct;
    s->o.min_delay = min_delay;
    s->o.max_delay = max_delay < min_delay ? min_delay : max_delay;
}

void sim_set_tick_period(sim_t *s, uint64_t id, unsigned period)
{
    sim_node_t *n = s_node(s, id);
    if (n && period > 0) {
        n->tick_period = period;
    }
}

int sim_group_compact(sim_t *s, uint64_t id, uint64_t group)
{
    sim_replica_t *n = s_live(s, id, group);
    if (!n) {
        return RL_ERR_REJECTED;
    }
    s_set_clock(s, n);
    sim_in_core++;
    int rc = rl_raft_compact(n->raft);
    sim_in_core--;
    s_process(s, n);
    return rc;
}

int sim_compact(sim_t *s, uint64_t id)
{
    return sim_group_compact(s, id, 0);
}

void sim_group_flush(sim_t *s, uint64_t id, uint64_t group)
{
    sim_replica_t *n = s_live(s, id, group);
    if (n) {
        s_process(s, n);
    }
}

void sim_flush(sim_t *s, uint64_t id)
{
    sim_group_flush(s, id, 0);
}

void sim_deliver(sim_t *s, uint64_t id, const rl_msg_t *msg)
{
    sim_replica_t *n = s_live(s, id, msg->group);
    if (n) {
        s_set_clock(s, n);
        sim_in_core++;
        rl_raft_step(n->raft, msg);
        sim_in_core--;
        s_process(s, n);
    }
}

rl_raft_t *sim_group_raft(sim_t *s, uint64_t id, uint64_t group)
{
    sim_replica_t *n = s_live(s, id, group);
    return n ? n->raft : NULL;
}

rl_raft_t *sim_raft(sim_t *s, uint64_t id)
{
    return sim_group_raft(s, id, 0);
}

bool sim_hosts(sim_t *s, uint64_t id, uint64_t group)
{
    return s_replica(s, id, group) != NULL;
}

int sim_remove_member(sim_t *s, uint64_t leader, uint64_t gone)
{
    sim_replica_t *zero = s_live(s, leader, 0);
    if (!zero) {
        return RL_RAFT_NOT_LEADER;
    }
    int rc = rl_raft_can_remove_member(zero->raft, gone);
    if (rc != 0) {
        return rc; /* refused whatever the logs */
    }
    size_t count = 0;
    const rl_member_t *m = rl_raft_committed_members(zero->raft, &count);
    uint64_t at = rl_raft_committed_config_index(zero->raft);
    size_t logs = 0;
    const rl_raft_log_info_t *table = rl_raft_logs(zero->raft, &logs);
    for (size_t i = 0; i < logs; i++) {
        if (!s_live(s, leader, table[i].group)) {
            return RL_ERR_BUSY; /* not hosted here yet */
        }
    }
    for (unsigned g = 1; g < SIM_MAX_GROUPS; g++) {
        sim_replica_t *n = s_live(s, leader, g);
        if (!n) {
            continue;
        }
        size_t n_count = 0;
        const rl_member_t *n_members =
            rl_raft_committed_members(n->raft, &n_count);
        if (rl_raft_removal_check(m, count, at, gone, n_members, n_count,
                                  rl_raft_config_mirrors(n->raft, true)) !=
            RL_RAFT_REMOVAL_SAFE) {
            return RL_ERR_BUSY;
        }
    }
    return rl_raft_remove_member(zero->raft, gone);
}

void sim_group_status(sim_t *s, uint64_t id, uint64_t group,
                      rl_raft_status_t *st)
{
    memset(st, 0, sizeof(*st));
    sim_replica_t *n = s_live(s, id, group);
    if (n) {
        rl_raft_status(n->raft, st);
    }
}

void sim_status(sim_t *s, uint64_t id, rl_raft_status_t *st)
{
    sim_group_status(s, id, 0, st);
}

const sim_stats_t *sim_stats(sim_t *s)
{
    return &s->stats;
}

void sim_stats_reset(sim_t *s)
{
    memset(&s->stats, 0, sizeof(s->stats));
}

unsigned sim_node_count(sim_t *s)
{
    return s->n;
}

uint64_t sim_now(sim_t *s)
{
    return s->now;
}

uint64_t sim_max_term(sim_t *s)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < s->n; i++) {
        sim_replica_t *n = s->nodes[i].groups[0];
        if (n && n->hs_term > t) {
            t = n->hs_term;
        }
    }
    return t;
}

uint64_t sim_term_at(sim_t *s, uint64_t id, uint64_t index)
{
    return sim_group_term_at(s, id, 0, index);
}

uint64_t sim_group_term_at(sim_t *s, uint64_t id, uint64_t group,
                           uint64_t index)
{
    sim_replica_t *n = s_replica(s, id, group);
    if (!n || index < n->first || index >= n->first + n->count) {
        return 0;
    }
    return n->log[index - n->first].term;
}

unsigned sim_count_value(sim_t *s, uint64_t id, uint64_t value)
{
    sim_replica_t *n = s_replica(s, id, 0);
    unsigned count = 0;
    for (size_t i = 0; n && i < n->count; i++) {
        const sim_entry_t *e = &n->log[i];
        if (n->first + i > n->commit || e->type != RL_ENTRY_NORMAL ||
            e->size != 8) {
            continue;
        }
        uint64_t v = 0;
        for (int b = 7; b >= 0; b--) {
            v = (v << 8) | e->data[b];
        }
        count += v == value;
    }
    return count;
}

/* Group's final check, the network healed and every node up: a fresh
   entry commits in its leader's term (committing everything before it),
   every member of its configuration converges on it, every acknowledged
   entry is committed unchanged, and each producer batch appears once
   (as sim_propose makes them: one entry each). Returns its leader. */
static uint64_t s_final_group(sim_t *s, uint64_t group)
{
    sim_group_t *g = s_group(s, group);
    uint64_t want = 0;
    for (size_t k = 0; k < g->ack_count; k++) {
        if (g->acks[k].index > want) {
            want = g->acks[k].index;
        }
    }
    /* A fresh entry in the leader's term commits everything before it. */
    bool done = false;
    uint64_t leader = 0;
    for (unsigned attempt = 0; attempt < 20 && !done; attempt++) {
        uint64_t l = sim_group_wait_leader(s, group, 5000);
        rl_raft_proposal_t out;
        if (!l || sim_group_propose(s, l, group, 0xF1A1, 0, 0, &out) != 0) {
            sim_run(s, 100); /* e.g. a transfer is under way */
            continue;
        }
        for (unsigned t = 0; t < 3000; t++) {
            sim_replica_t *n = s_live(s, l, group);
            if (!n || n->commit >= out.last) {
                break;
            }
            s_step_time(s);
        }
        sim_replica_t *n = s_live(s, l, group);
        if (n && n->commit >= out.last &&
            sim_group_term_at(s, l, group, out.last) == out.term) {
            done = true;
            leader = l;
            if (out.last > want) {
                want = out.last;
            }
        }
    }
    if (!done) {
        s_fail(s, "no leader of group %" PRIu64 " commits after healing",
               group);
    }
    /* Members only: a server removed from the configuration is not
       replicated to any more. The configuration may still change (the
       leader mirrors group 0's), so it is read again as time goes. */
    size_t mcount = 0;
    rl_member_t members[RL_MAX_MEMBERS];
    for (unsigned t = 0; t < 40000; t++) {
        uint64_t l = sim_group_leader(s, group);
        if (l) {
            leader = l;
            const rl_member_t *m =
                rl_raft_members(sim_group_raft(s, l, group), &mcount);
            memcpy(members, m, mcount * sizeof(*m));
        }
        bool all = l != 0;
        for (size_t m = 0; m < mcount && all; m++) {
            sim_node_t *node = s_node(s, members[m].id);
            sim_replica_t *n = s_live(s, members[m].id, group);
            if (node && node->up && (!n || n->commit < want)) {
                all = false;
            }
        }
        if (all) {
            break;
        }
        if (t == 39999) {
            s_fail(s, "group %" PRIu64 " does not converge on commit %" PRIu64,
                   group, want);
        }
        s_step_time(s);
    }
    for (size_t k = 0; k < g->ack_count; k++) {
        const sim_ack_t *a = &g->acks[k];
        if (g->committed[a->index - 1] == 0) {
            s_fail(s,
                   "acknowledged entry %" PRIu64 " of group %" PRIu64
                   " not committed",
                   a->index, group);
        }
        sim_slot_t *slot = s_table_find(g, a->index, a->term);
        if (slot->key_index == 0 || slot->chain != g->committed[a->index - 1]) {
            s_fail(s,
                   "acknowledged entry %" PRIu64 " term %" PRIu64
                   " of group %" PRIu64 " was lost or changed",
                   a->index, a->term, group);
        }
    }
    /* Idempotent producers: each (producer, seq) batch appears once in the
       committed log of every member. */
    for (size_t m = 0; m < mcount; m++) {
        sim_replica_t *n = s_replica(s, members[m].id, group);
        for (size_t i = 0; n && i < n->count; i++) {
            const sim_entry_t *e = &n->log[i];
            if (e->producer_id == 0 || n->first + i > n->commit) {
                continue;
            }
            for (size_t j = i + 1; j < n->count && n->first + j <= n->commit;
                 j++) {
                if (n->log[j].producer_id == e->producer_id &&
                    n->log[j].seq == e->seq) {
                    s_fail(s,
                           "producer %" PRIu64 " seq %" PRIu64
                           " appended twice (node %" PRIu64 ", group %" PRIu64
                           ")",
                           e->producer_id, e->seq, n->id, group);
                }
            }
        }
    }
    return leader;
}

/* Do a and b name the same servers, each a voter in both or in neither? */
static bool s_same_members(const rl_member_t *a, size_t a_count,
                           const rl_member_t *b, size_t b_count)
{
    if (a_count != b_count) {
        return false;
    }
    for (size_t i = 0; i < a_count; i++) {
        bool found = false;
        for (size_t k = 0; k < b_count && !found; k++) {
            found = a[i].id == b[k].id && a[i].voter == b[k].voter;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

/* Is group's configuration, at its leader, committed and group 0's
   committed configuration (at group 0's leader)? */
static bool s_mirrored(sim_t *s, uint64_t group)
{
    uint64_t zero = sim_group_leader(s, 0);
    uint64_t l = sim_group_leader(s, group);
    if (!zero || !l) {
        return false;
    }
    size_t target_count = 0;
    size_t latest_count = 0;
    size_t committed_count = 0;
    const rl_member_t *target =
        rl_raft_committed_members(sim_group_raft(s, zero, 0), &target_count);
    const rl_member_t *latest =
        rl_raft_members(sim_group_raft(s, l, group), &latest_count);
    const rl_member_t *committed = rl_raft_committed_members(
        sim_group_raft(s, l, group), &committed_count);
    return s_same_members(latest, latest_count, committed, committed_count) &&
           s_same_members(target, target_count, committed, committed_count);
}

/* Membership of group 0 mirrored into every named log (mirror.c): once
   healed, each group's committed configuration becomes group 0's, voters
   and learners alike (learners are promoted in both). */
static void s_final_mirror(sim_t *s, const uint64_t *groups, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        unsigned t = 0;
        while (!s_mirrored(s, groups[i]) && t++ < 40000) {
            s_step_time(s);
        }
        if (!s_mirrored(s, groups[i])) {
            s_fail(s, "group %" PRIu64 " does not take group 0's configuration",
                   groups[i]);
        }
    }
}

/* Once healed, group 0's leader promotes every learner (each was added to
   become a voter: rl_raft_add_member), also one that was down or cut off
   when its promotion came due (rl_raft_maybe_promote). */
static bool s_all_voters(sim_t *s)
{
    uint64_t l = sim_group_leader(s, 0);
    if (!l) {
        return false;
    }
    size_t n = 0;
    const rl_member_t *m =
        rl_raft_committed_members(sim_group_raft(s, l, 0), &n);
    for (size_t i = 0; i < n; i++) {
        if (!m[i].voter) {
            return false;
        }
    }
    return true;
}

static void s_final_promoted(sim_t *s)
{
    for (unsigned t = 0; t < 40000 && !s_all_voters(s); t++) {
        s_step_time(s);
    }
    if (!s_all_voters(s)) {
        s_fail(s, "group 0 does not promote its learners once healed");
    }
}

void sim_final_check(sim_t *s)
{
    sim_heal(s);
    sim_set_faults(s, 0, 0, 1, 5);
    for (unsigned i = 0; i < s->n; i++) {
        s->nodes[i].tick_period = s->o.tick_period;
        sim_restart(s, s->nodes[i].id);
    }
    uint64_t leader = s_final_group(s, 0);
    s_final_promoted(s);
    if (!s->catalog_used) {
        return;
    }
    /* Every named log of the catalog. */
    size_t count = 0;
    const rl_raft_log_info_t *logs =
        rl_raft_logs(sim_group_raft(s, leader, 0), &count);
    uint64_t groups[SIM_MAX_GROUPS];
    size_t n_groups = 0;
    for (size_t i = 0; i < count && n_groups < SIM_MAX_GROUPS; i++) {
        groups[n_groups++] = logs[i].group;
    }
    for (size_t i = 0; i < n_groups; i++) {
        s_final_group(s, groups[i]);
    }
    s_final_mirror(s, groups, n_groups);
    /* The hosts agree with the catalog: every member of group 0 at its
       leader's commit index hosts group 0 and the catalog's groups, and
       no other (every deletion destroyed its group). */
    rl_raft_status_t lst;
    sim_group_status(s, leader, 0, &lst);
    size_t mcount = 0;
    const rl_member_t *members =
        rl_raft_members(sim_group_raft(s, leader, 0), &mcount);
    rl_member_t copy[RL_MAX_MEMBERS];
    memcpy(copy, members, mcount * sizeof(*members));
    sim_run(s, 200);
    for (size_t m = 0; m < mcount; m++) {
        sim_node_t *node = s_node(s, copy[m].id);
        sim_replica_t *zero = s_live(s, copy[m].id, 0);
        if (!node || !zero || zero->commit < lst.commit) {
            continue;
        }
        for (uint64_t g = 1; g < SIM_MAX_GROUPS; g++) {
            bool listed = false;
            for (size_t i = 0; i < n_groups; i++) {
                listed = listed || groups[i] == g;
            }
            if (listed != (node->groups[g] != NULL)) {
                s_fail(s,
                       "node %" PRIu64 " %s group %" PRIu64
                       ", which the catalog %s",
                       node->id, listed ? "lacks" : "hosts", g,
                       listed ? "lists" : "does not list");
            }
        }
    }
}

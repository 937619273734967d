/*  test_sim_random.c - randomized fault schedules in the simulated cluster.

    Each seed builds a cluster of 3 or 5 nodes and runs a mixed schedule:
    crashes and restarts (unsynced entries lost), partitions of any shape
    (asymmetric too), message drop, duplication and reordering, clock
    skew, slow disks, compaction with snapshot installs, membership
    changes, leadership transfers, idempotent producers retrying across
    leader changes, wall clocks that jump (backwards too) and durable
    consumers committing, resetting and deleting positions through the
    leaders (at most three of the four names may exist at a time on odd
    seeds: the bound refuses the others).
    Invariants are checked after every step (sim.h); at the end the
    network heals and every acknowledged entry must be committed on every
    member, each producer batch exactly once, and every member that has
    committed the acknowledged consumer operations must hold the table
    they make.

    Usage:
      test_sim_random                  seeds 1..RL_SIM_SEEDS (default
                                       1000)
      RL_SIM_SHARD=k/n test_sim_random only seeds with seed % n == k (ctest
                                       runs four shards in parallel)
      RL_SIM_SEEDS=100000 test_sim_random      a longer soak
      RL_SIM_FIRST=5001 RL_SIM_SEEDS=1000      seeds 5001..6000
      RL_SIM_SEED=1234 test_sim_random         replay one seed
      RL_SIM_VERBOSE=1                         print each seed's figures
*/
#include "sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static unsigned g_shard = 0;
static unsigned g_shards = 1;
static char g_replay[512];

typedef struct {
    uint64_t producer; /* producer id */
    uint64_t seq;      /* current seq */
    uint64_t node;     /* node asked, 0 for none */
    uint64_t last;     /* index it answered */
    uint64_t term;     /* term it answered */
    uint64_t deadline; /* retry after */
    unsigned acked;    /* acknowledged appends */
} client_t;

static void s_client_step(sim_t *s, client_t *c)
{
    if (c->node) {
        rl_raft_status_t st;
        sim_status(s, c->node, &st);
        if (st.commit >= c->last && sim_up(s, c->node)) {
            uint64_t t = sim_term_at(s, c->node, c->last);
            if (t == c->term || (t == 0 && st.snapshot_index >= c->last)) {
                c->acked++;
                c->seq++;
                c->node = 0;
                return;
            }
            c->node = 0; /* lost: retry the same seq */
        } else if (sim_now(s) < c->deadline) {
            return;
        }
    }
    uint64_t l = sim_leader(s);
    if (!l) {
        return;
    }
    rl_raft_proposal_t out;
    int rc = sim_propose(s, l, c->producer * 1000000 + c->seq, c->producer,
                         c->seq, &out);
    if (rc == 0) {
        c->node = l;
        c->last = out.last;
        c->term = out.term;
        c->deadline = sim_now(s) + 400;
    } else if (rc == RL_ERR_STALE_SEQUENCE) {
        c->seq++;
    }
}

/* The clock jumps and consumer choices draw from a PRNG of their own, so
   that they leave the fault schedule's draws alone. */
static uint64_t s_draw(uint64_t *state, uint64_t below)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return below ? x % below : 0;
}

/* Two names per client: client i owns names 2i and 2i + 1. */
#define CONSUMER_NAMES 4

static const char *const s_names[CONSUMER_NAMES] = {"billing", "audit.v2",
                                                    "search-idx", "etl_0"};

/* What the acknowledged operations made of each consumer. */
typedef struct {
    bool exists;
    uint64_t index;
} model_t;

/* A client of durable consumers: one operation at a time, retried (the
   same operation) until acknowledged once it may have been appended. */
typedef struct {
    unsigned name;     /* s_names[name] of the operation in flight */
    unsigned verb;     /* sim_consumer_verb_t */
    uint64_t index;    /* its index */
    bool busy;         /* an operation is in flight (maybe appended) */
    uint64_t node;     /* node that accepted it last, 0 for none */
    uint64_t last;     /* index of its entry there */
    uint64_t term;     /* term of its entry */
    uint64_t deadline; /* retry after */
    uint64_t acked_at; /* index of the last acknowledged one */
    unsigned acked;    /* acknowledged operations */
    unsigned refused;  /* refused at once (stale, full, ...) */
} consumer_client_t;

static void s_model_apply(model_t *m, unsigned verb, uint64_t index)
{
    if (verb == SIM_CONSUMER_DELETE) {
        m->exists = false;
        m->index = 0;
    } else if (verb == SIM_CONSUMER_RESET || !m->exists || index > m->index) {
        m->exists = true;
        m->index = index;
    }
}

static void s_consumer_step(sim_t *s, consumer_client_t *c, unsigned first,
                            model_t *model, uint64_t *prng)
{
    if (c->node) {
        /* Decided by what the cluster committed at its index (a node's
           own log may have compacted the entry away). */
        uint64_t t = sim_committed_term(s, c->last);
        if (t == c->term) {
            s_model_apply(&model[c->name], c->verb, c->index);
            c->acked_at = c->last;
            c->acked++;
            c->busy = false;
            c->node = 0;
            return;
        }
        if (t != 0) {
            c->node = 0; /* lost: retry the same operation */
        } else if (sim_now(s) < c->deadline) {
            return;
        }
    }
    uint64_t l = sim_leader(s);
    if (!l) {
        return;
    }
    rl_raft_status_t st;
    sim_status(s, l, &st);
    if (!c->busy) {
        /* A new operation on one of this client's two names: mostly a
           commit at the leader's commit index, sometimes one below the
           position (refused as stale), a reset anywhere up to the commit
           index, or a delete. */
        c->name = first + (unsigned)s_draw(prng, 2);
        uint64_t r = s_draw(prng, 100);
        model_t *m = &model[c->name];
        if (r < 70) {
            c->verb = SIM_CONSUMER_COMMIT;
            c->index = st.commit;
            if (r < 10 && m->exists && m->index > 0) {
                c->index = m->index - 1;
            }
        } else if (r < 92) {
            c->verb = SIM_CONSUMER_RESET;
            c->index = s_draw(prng, st.commit + 1);
        } else {
            c->verb = SIM_CONSUMER_DELETE;
            c->index = 0;
        }
    }
    rl_raft_proposal_t out;
    int rc = sim_consumer(s, l, (sim_consumer_verb_t)c->verb, s_names[c->name],
                          c->index, &out);
    if (rc == 0) {
        c->busy = true;
        c->node = l;
        c->last = out.last;
        c->term = out.term;
        c->deadline = sim_now(s) + 400;
    } else if (!c->busy) {
        c->refused++; /* never appended: the next operation */
    }
}
/* After the final check: every member that has committed every
   acknowledged operation holds the table they make, for the names whose
   last operation was acknowledged (one still in flight may or may not
   have been applied). */
static void s_check_model(sim_t *s, uint64_t seed,
                          const consumer_client_t *clients,
                          const model_t *model)
{
    uint64_t want = 0;
    for (unsigned i = 0; i < 2; i++) {
        if (clients[i].acked_at > want) {
            want = clients[i].acked_at;
        }
    }
    unsigned checked = 0;
    for (uint64_t id = 1; id <= sim_node_count(s); id++) {
        rl_raft_status_t st;
        sim_status(s, id, &st);
        if (!sim_up(s, id) || !st.member || st.commit < want) {
            continue;
        }
        checked++;
        for (unsigned k = 0; k < CONSUMER_NAMES; k++) {
            const consumer_client_t *c = &clients[k / 2];
            if (c->busy && c->name == k) {
                continue;
            }
            uint64_t index = 0;
            bool exists = sim_consumer_position(s, id, s_names[k], &index);
            if (exists != model[k].exists ||
                (exists && index != model[k].index)) {
                fail_msg("seed %llu (replay with RL_SIM_SEED=%llu): node "
                         "%llu: consumer %s is %s%llu, the acknowledged "
                         "operations make it %s%llu",
                         (unsigned long long)seed, (unsigned long long)seed,
                         (unsigned long long)id, s_names[k],
                         exists ? "at " : "absent ", (unsigned long long)index,
                         model[k].exists ? "at " : "absent ",
                         (unsigned long long)model[k].index);
            }
        }
    }
    if (checked == 0) {
        fail_msg("seed %llu: no member has committed every acknowledged "
                 "consumer operation (up to %llu)",
                 (unsigned long long)seed, (unsigned long long)want);
    }
}

/* consumers: run the consumer clients. A regression seed found before
   they existed runs without them, which replays its schedule as found
   (the clock jumps draw from their own PRNG and change nothing else). */
static void s_run_seed(uint64_t seed, bool consumers_on, bool verbose)
{
    sim_options_t o;
    sim_options_default(&o);
    o.seed = seed;
    o.replay = g_replay;
    o.nodes = seed % 2 ? 3 : 5;
    o.disk_delay = (unsigned)(seed % 4);
    o.pre_vote = seed % 7 != 0;
    o.check_quorum = seed % 5 != 0;
    o.max_batch_entries = 1 + seed % 5;
    o.snapshot_chunk = 16 + seed % 64;
    o.max_consumers = seed % 2 ? 3 : 0;
    sim_t *s = sim_new(&o);
    client_t clients[3];
    for (unsigned i = 0; i < 3; i++) {
        clients[i] = (client_t){.producer = i + 1, .seq = 1};
    }
    uint64_t prng = seed * 0x9E3779B97F4A7C15ULL | 1;
    consumer_client_t consumers[2];
    memset(consumers, 0, sizeof(consumers));
    model_t model[CONSUMER_NAMES];
    memset(model, 0, sizeof(model));
    uint64_t removed = 0;
    for (unsigned step = 0; step < 1500; step++) {
        uint64_t r = sim_random(s, 100);
        uint64_t id = 1 + sim_random(s, sim_node_count(s));
        if (r < 4) {
            sim_crash(s, id);
        } else if (r < 10) {
            sim_restart(s, id);
        } else if (r < 13) {
            /* a random partition: each node on side 0 or 1 */
            unsigned side[SIM_MAX_NODES + 1];
            for (unsigned i = 1; i <= sim_node_count(s); i++) {
                side[i] = (unsigned)sim_random(s, 2);
            }
            for (unsigned a = 1; a <= sim_node_count(s); a++) {
                for (unsigned b = 1; b <= sim_node_count(s); b++) {
                    sim_link(s, a, b, side[a] == side[b]);
                }
            }
        } else if (r < 15) {
            uint64_t other = 1 + sim_random(s, sim_node_count(s));
            sim_link(s, id, other, false); /* asymmetric cut */
        } else if (r < 20) {
            sim_heal(s);
        } else if (r < 23) {
            unsigned lo = 1 + (unsigned)sim_random(s, 5);
            sim_set_faults(s, (unsigned)sim_random(s, 20),
                           (unsigned)sim_random(s, 10), lo,
                           lo + (unsigned)sim_random(s, 30));
        } else if (r < 25) {
            sim_set_tick_period(s, id, 7 + (unsigned)sim_random(s, 7));
        } else if (r < 28) {
            sim_compact(s, id);
        } else if (r < 29 && seed % 4 == 1) {
            /* leadership transfer to a random server (maybe lagging, maybe
               cut off: then it is aborted) */
            uint64_t l = sim_leader(s);
            if (l) {
                rl_raft_transfer(sim_raft(s, l), id);
                sim_flush(s, l);
            }
        } else if (r < 29 && seed % 3 == 0) {
            /* membership: remove a server, later add it back */
            uint64_t l = sim_leader(s);
            rl_raft_t *lr = l ? sim_raft(s, l) : NULL;
            if (lr && !removed) {
                if (rl_raft_remove_member(lr, id) == 0) {
                    removed = id;
                }
            } else if (lr && removed) {
                rl_member_t m = {.id = removed,
                                 .voter = false,
                                 .peer_addr = rl_str("sim"),
                                 .client_addr = rl_str("sim")};
                if (rl_raft_add_member(lr, &m) == 0) {
                    removed = 0;
                }
            }
            sim_flush(s, l);
        }
        for (unsigned i = 0; i < 3; i++) {
            s_client_step(s, &clients[i]);
        }
        if (s_draw(&prng, 100) < 3) {
            /* a wall clock jumps, by up to 5 s either way */
            uint64_t node = 1 + s_draw(&prng, sim_node_count(s));
            sim_set_clock_skew(s, node, (int64_t)s_draw(&prng, 10001) - 5000);
        }
        for (unsigned i = 0; i < 2 && consumers_on; i++) {
            if (s_draw(&prng, 8) == 0) {
                s_consumer_step(s, &consumers[i], i * 2, model, &prng);
            }
        }
        sim_run(s, 10);
    }
    sim_final_check(s);
    s_check_model(s, seed, consumers, model);
    if (verbose) {
        printf("seed %llu: nodes %u, time %llu, acked %zu, max term %llu, "
               "messages %llu, consumer operations acked %u refused %u\n",
               (unsigned long long)seed, o.nodes,
               (unsigned long long)sim_now(s), sim_acked(s),
               (unsigned long long)sim_max_term(s),
               (unsigned long long)sim_stats(s)->total,
               consumers[0].acked + consumers[1].acked,
               consumers[0].refused + consumers[1].refused);
    }
    sim_destroy(&s);
}

/* Seeds beyond the default range that once failed, run every time (in
   their shard), each with what it found; those found before the consumer
   clients existed run without them (s_run_seed). */
static const struct {
    uint64_t seed;
    bool consumers;
} s_regressions[] = {
    {2355, false}, /* a leader that removed itself restarted before the
                      removal committed, with a snapshot older than its
                      promotion: it must still campaign (election.c
                      s_promotable), or the cluster is wedged */
};

static void test_random_fault_schedules_keep_every_invariant(void **state)
{
    (void)state;
    const char *one = getenv("RL_SIM_SEED");
    const char *many = getenv("RL_SIM_SEEDS");
    bool verbose = getenv("RL_SIM_VERBOSE") != NULL;
    if (one) {
        uint64_t seed = strtoull(one, NULL, 10);
        bool consumers = true;
        for (size_t i = 0; i < sizeof(s_regressions) / sizeof(s_regressions[0]);
             i++) {
            if (s_regressions[i].seed == seed) {
                consumers = s_regressions[i].consumers;
            }
        }
        s_run_seed(seed, consumers, true);
        return;
    }
    const char *first_env = getenv("RL_SIM_FIRST");
    uint64_t first = first_env ? strtoull(first_env, NULL, 10) : 1;
    uint64_t seeds = many ? strtoull(many, NULL, 10) : 1000;
    unsigned ran = 0;
    for (uint64_t seed = first; seed < first + seeds; seed++) {
        if (seed % g_shards == g_shard) {
            s_run_seed(seed, true, verbose);
            ran++;
        }
    }
    for (size_t i = 0; i < sizeof(s_regressions) / sizeof(s_regressions[0]);
         i++) {
        uint64_t seed = s_regressions[i].seed;
        if (seed % g_shards == g_shard &&
            (seed < first || seed >= first + seeds)) {
            s_run_seed(seed, s_regressions[i].consumers, verbose);
            ran++;
        }
    }
    printf("ran %u seeds (shard %u of %u)\n", ran, g_shard, g_shards);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *shard = getenv("RL_SIM_SHARD");
    if (shard && sscanf(shard, "%u/%u", &g_shard, &g_shards) != 2) {
        g_shard = 0;
        g_shards = 1;
    }
    if (g_shards == 0 || g_shard >= g_shards) {
        g_shard = 0;
        g_shards = 1;
    }
    snprintf(g_replay, sizeof(g_replay), "RL_SIM_SEED=%%llu %s", argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_fault_schedules_keep_every_invariant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

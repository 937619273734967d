/*  test_sim_groups_random.c - randomized fault schedules with named logs:
    several groups on the same simulated nodes.

    Each seed builds a cluster of 3 or 5 nodes (quiet groups on, but on
    one seed in four) and runs a mixed schedule: logs created and deleted
    through group 0's leader (one call at a time, retried until its
    outcome is known), idempotent producers appending to group 0 and to
    every log that exists, crashes and restarts, partitions of any shape
    (asymmetric too), drop, duplication and reordering, clock skew, slow
    disks, compaction of any group, leadership transfers in any group,
    membership changes in group 0 (mirrored into every log by its
    leader), and idle stretches in which the groups may rest. Faults are
    a node's, shared by all its groups. Every invariant of sim.h is
    checked after every step, per group; at the end the network heals,
    every acknowledged entry of every live log is committed everywhere,
    each producer batch once, every member of group 0 hosts exactly the
    logs of the catalog, and the catalog is what the acknowledged calls
    make.

    Usage (as test_sim_random):
      test_sim_groups_random                  seeds 1..RL_SIM_SEEDS
                                              (default 300)
      RL_SIM_SHARD=k/n, RL_SIM_SEEDS=N, RL_SIM_FIRST=F, RL_SIM_SEED=S,
      RL_SIM_VERBOSE=1
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

#define NAMES 5
static const char *const s_names[NAMES] = {"orders", "audit.v2", "m-1", "x_y",
                                           "zz"};

/* An idempotent producer of one group: one append at a time, the same
   seq again until acknowledged. */
typedef struct {
    uint64_t group;    /* its group; 0 and unused when the log is gone */
    uint64_t seq;      /* current seq */
    uint64_t node;     /* node asked, 0 for none */
    uint64_t last;     /* index it answered */
    uint64_t term;     /* term it answered */
    uint64_t deadline; /* retry after */
    unsigned acked;    /* acknowledged appends */
} producer_t;

static void s_produce(sim_t *s, producer_t *p, uint64_t producer_id)
{
    if (p->node) {
        uint64_t t = sim_group_committed_term(s, p->group, p->last);
        if (t == p->term) {
            p->acked++;
            p->seq++;
            p->node = 0;
            return;
        }
        if (t == 0 && sim_now(s) < p->deadline) {
            return;
        }
        p->node = 0; /* lost or slow: the same seq again */
    }
    uint64_t l = sim_group_leader(s, p->group);
    if (!l) {
        return;
    }
    rl_raft_proposal_t out;
    int rc = sim_group_propose(s, l, p->group, producer_id * 1000000 + p->seq,
                               producer_id, p->seq, &out);
    if (rc == 0) {
        p->node = l;
        p->last = out.last;
        p->term = out.term;
        p->deadline = sim_now(s) + 400;
    } else if (rc == RL_ERR_STALE_SEQUENCE) {
        p->seq++;
    }
}

/* The catalog client: one call at a time, appended again only once lost
   for sure; the model is what the acknowledged calls make. */
typedef struct {
    bool exists[NAMES]; /* the model */
    int busy;           /* name of the call in flight, -1: none */
    rl_raft_log_verb_t verb;
    uint64_t at;   /* its entry, 0: not appended (or lost) */
    uint64_t term; /* its term */
    unsigned acked;
    unsigned refused; /* REJECTED by a stale leader */
    unsigned creates; /* appended creates (ids are bounded) */
} catalog_client_t;

static uint64_t s_draw(uint64_t *state, uint64_t below)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return below ? x % below : 0;
}

static void s_catalog_step(sim_t *s, catalog_client_t *c, uint64_t *prng)
{
    if (c->at != 0) {
        uint64_t t = sim_committed_term(s, c->at);
        if (t == c->term) {
            c->exists[c->busy] = c->verb == RL_RAFT_LOG_CREATE;
            c->acked++;
            c->busy = -1;
            c->at = 0;
        } else if (t != 0) {
            c->at = 0;
        } else {
            return;
        }
    }
    uint64_t l = sim_leader(s);
    if (!l) {
        return;
    }
    if (c->busy < 0) {
        c->busy = (int)s_draw(prng, NAMES);
        c->verb = c->exists[c->busy] ? RL_RAFT_LOG_DELETE : RL_RAFT_LOG_CREATE;
        if (c->verb == RL_RAFT_LOG_CREATE && c->creates >= 24) {
            c->busy = -1; /* enough ids used for one seed */
            return;
        }
    }
    rl_raft_proposal_t out;
    int rc = sim_log(s, l, c->verb, s_names[c->busy], NULL, &out);
    if (rc == 0) {
        c->at = out.last;
        c->term = out.term;
        c->creates += c->verb == RL_RAFT_LOG_CREATE;
    } else if (rc == RL_ERR_REJECTED) {
        /* A stale leader (cut off, not yet stepped down) may still hold
           a lost attempt in its log: ask again later. The catalog's final
           check against the model catches any real disagreement. */
        c->refused++;
    }
}

static void s_run_seed(uint64_t seed, bool verbose)
{
    sim_options_t o;
    sim_options_default(&o);
    o.seed = seed;
    o.replay = g_replay;
    o.nodes = seed % 2 ? 3 : 5;
    o.disk_delay = (unsigned)(seed % 4);
    o.quiesce = seed % 4 != 3;
    o.pre_vote = seed % 7 != 0;
    o.check_quorum = seed % 11 != 0;
    o.max_batch_entries = 1 + seed % 5;
    o.snapshot_chunk = 16 + seed % 64;
    sim_t *s = sim_new(&o);
    uint64_t prng = seed * 0x9E3779B97F4A7C15ULL | 1;
    producer_t zero = {.group = 0, .seq = 1};
    producer_t logs[NAMES];
    memset(logs, 0, sizeof(logs));
    catalog_client_t catalog;
    memset(&catalog, 0, sizeof(catalog));
    catalog.busy = -1;
    uint64_t removed = 0;
    for (unsigned step = 0; step < 500; step++) {
        uint64_t r = sim_random(s, 100);
        uint64_t id = 1 + sim_random(s, sim_node_count(s));
        uint64_t group = sim_random(s, SIM_MAX_GROUPS);
        if (r < 3) {
            sim_crash(s, id);
        } else if (r < 8) {
            sim_restart(s, id);
        } else if (r < 10) {
            unsigned side[SIM_MAX_NODES + 1];
            for (unsigned i = 1; i <= sim_node_count(s); i++) {
                side[i] = (unsigned)sim_random(s, 2);
            }
            for (unsigned a = 1; a <= sim_node_count(s); a++) {
                for (unsigned b = 1; b <= sim_node_count(s); b++) {
                    sim_link(s, a, b, side[a] == side[b]);
                }
            }
        } else if (r < 11) {
            uint64_t other = 1 + sim_random(s, sim_node_count(s));
            sim_link(s, id, other, false);
        } else if (r < 16) {
            sim_heal(s);
        } else if (r < 18) {
            unsigned lo = 1 + (unsigned)sim_random(s, 5);
            sim_set_faults(s, (unsigned)sim_random(s, 15),
                           (unsigned)sim_random(s, 10), lo,
                           lo + (unsigned)sim_random(s, 25));
        } else if (r < 19) {
            sim_set_tick_period(s, id, 7 + (unsigned)sim_random(s, 7));
        } else if (r < 22) {
            sim_group_compact(s, id, sim_hosts(s, id, group) ? group : 0);
        } else if (r < 23) {
            uint64_t g = sim_hosts(s, id, group) ? group : 0;
            uint64_t l = sim_group_leader(s, g);
            if (l) {
                rl_raft_transfer(sim_group_raft(s, l, g), id);
                sim_group_flush(s, l, g);
            }
        } else if (r < 24 && seed % 3 == 0) {
            /* membership of group 0: remove a server, later add it back */
            uint64_t l = sim_leader(s);
            rl_raft_t *lr = l ? sim_raft(s, l) : NULL;
            if (lr && !removed) {
                if (sim_remove_member(s, l, id) == 0) {
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
        bool idle = (step / 50) % 3 == 2; /* stretches in which logs rest */
        if (!idle && s_draw(&prng, 4) == 0) {
            s_catalog_step(s, &catalog, &prng);
        }
        if (!idle) {
            s_produce(s, &zero, 1);
            for (int k = 0; k < NAMES; k++) {
                rl_raft_log_info_t log;
                uint64_t l = sim_leader(s);
                bool there = l && sim_log_find(s, l, s_names[k], &log);
                if (there && logs[k].group != log.group) {
                    logs[k] = (producer_t){.group = log.group, .seq = 1};
                }
                if (there && s_draw(&prng, 2) == 0) {
                    s_produce(s, &logs[k], 2 + (uint64_t)k);
                }
            }
        }
        sim_run(s, 10);
    }
    sim_final_check(s);
    /* The catalog is what the acknowledged calls make (the call still in
       flight, if any, may or may not have been made). */
    if (catalog.at != 0 && sim_committed_term(s, catalog.at) == catalog.term) {
        catalog.exists[catalog.busy] = catalog.verb == RL_RAFT_LOG_CREATE;
        catalog.busy = -1;
    }
    /* Group 0 may be electing (without PreVote a follower woken late
       disrupts its leader): the catalog of the leader it ends up with. */
    uint64_t l = sim_wait_leader(s, 3000);
    for (int k = 0; k < NAMES; k++) {
        bool there = sim_log_find(s, l, s_names[k], NULL);
        if (k != catalog.busy && there != catalog.exists[k]) {
            fail_msg("seed %llu (replay with RL_SIM_SEED=%llu): log %s is "
                     "%s, the acknowledged calls make it %s",
                     (unsigned long long)seed, (unsigned long long)seed,
                     s_names[k], there ? "there" : "absent",
                     catalog.exists[k] ? "there" : "absent");
        }
    }
    if (verbose) {
        const sim_stats_t *st = sim_stats(s);
        unsigned appends = zero.acked;
        for (int k = 0; k < NAMES; k++) {
            appends += logs[k].acked;
        }
        printf("seed %llu: nodes %u, quiesce %d, time %llu, catalog calls "
               "%u, groups created %llu destroyed %llu, appends acked %u, "
               "messages %llu, ticks %llu skipped %llu, wakes %llu, "
               "mirrored %llu\n",
               (unsigned long long)seed, o.nodes, o.quiesce,
               (unsigned long long)sim_now(s), catalog.acked,
               (unsigned long long)st->groups_created,
               (unsigned long long)st->groups_destroyed, appends,
               (unsigned long long)st->total, (unsigned long long)st->ticks,
               (unsigned long long)st->quiet_ticks,
               (unsigned long long)st->wakes, (unsigned long long)st->mirrored);
    }
    sim_destroy(&s);
}

static void
test_random_schedules_with_named_logs_keep_every_invariant(void **state)
{
    (void)state;
    const char *one = getenv("RL_SIM_SEED");
    const char *many = getenv("RL_SIM_SEEDS");
    bool verbose = getenv("RL_SIM_VERBOSE") != NULL;
    if (one) {
        s_run_seed(strtoull(one, NULL, 10), true);
        return;
    }
    const char *first_env = getenv("RL_SIM_FIRST");
    uint64_t first = first_env ? strtoull(first_env, NULL, 10) : 1;
    uint64_t seeds = many ? strtoull(many, NULL, 10) : 300;
    unsigned ran = 0;
    for (uint64_t seed = first; seed < first + seeds; seed++) {
        /* Shards by a hash of the seed: the seed's low bits choose its
           cluster (3 or 5 nodes, quiet groups), so seed % shards would
           give one shard all the 5-node clusters. */
        if ((seed * 0x9E3779B97F4A7C15ULL >> 32) % g_shards == g_shard) {
            s_run_seed(seed, verbose);
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
        cmocka_unit_test(
            test_random_schedules_with_named_logs_keep_every_invariant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

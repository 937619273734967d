/*  test_raft_alloc.c - the core under allocation failure (label sim).

    The executable is linked with --wrap=malloc,calloc,realloc: while the
    simulator is inside one of the core's input calls (sim_in_core), a
    seeded share of allocations fails. The core must return errors, never
    crash or leak, and every safety invariant of the simulated cluster must
    still hold; once failures stop, the cluster must converge (liveness)
    with every acknowledged entry kept. Producers append and durable
    consumers commit, reset and delete. RL_ALLOC_SEEDS=N runs N seeds
    (default 6) at failure rates from 1% to 15%.
*/
#include "sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);

static unsigned g_fail_pct = 0;
static uint64_t g_rng = 88172645463325252ULL;
static uint64_t g_failed = 0;

static bool s_fail_now(void)
{
    if (!g_fail_pct || !sim_in_core) {
        return false;
    }
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    if (g_rng % 100 < g_fail_pct) {
        g_failed++;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t size)
{
    return s_fail_now() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return s_fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return s_fail_now() ? NULL : __real_realloc(p, size);
}

static void s_run(uint64_t seed, unsigned pct)
{
    sim_options_t o;
    sim_options_default(&o);
    o.nodes = 5;
    o.seed = seed;
    o.disk_delay = 2;
    o.replay = "build/test/tests/sim/test_raft_alloc (seed %llu)";
    sim_t *s = sim_new(&o);
    g_rng = seed * 2654435761u + 1;
    g_fail_pct = pct;
    for (unsigned it = 0; it < 300; it++) {
        uint64_t id = 1 + sim_random(s, 5);
        unsigned r = (unsigned)sim_random(s, 100);
        if (r < 5) {
            sim_crash(s, id);
        } else if (r < 20) {
            sim_restart(s, id);
        } else if (r < 23) {
            sim_compact(s, id);
        }
        uint64_t l = sim_leader(s);
        if (l) {
            sim_propose(s, l, 1000 + it, 1 + it % 3, 1 + it, NULL);
        }
        l = sim_leader(s);
        if (l) {
            /* durable consumers, with new names enough to grow the tables
               (reserving room is one of the allocations that fail) */
            char name[16];
            snprintf(name, sizeof(name), "c%u", it % 20);
            rl_raft_status_t st;
            sim_status(s, l, &st);
            sim_consumer(s, l,
                         it % 7 == 0   ? SIM_CONSUMER_DELETE
                         : it % 3 == 0 ? SIM_CONSUMER_RESET
                                       : SIM_CONSUMER_COMMIT,
                         name, st.commit, NULL);
        }
        sim_run(s, 10 + sim_random(s, 40));
    }
    g_fail_pct = 0;
    sim_final_check(s);
    sim_destroy(&s);
}

static void
test_allocation_failures_in_the_core_break_no_invariant(void **state)
{
    (void)state;
    const char *env = getenv("RL_ALLOC_SEEDS");
    uint64_t seeds = env ? strtoull(env, NULL, 10) : 6;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        s_run(seed, seed % 2 ? 1 : 5 + (unsigned)(seed % 11));
    }
    printf("%llu allocations failed\n", (unsigned long long)g_failed);
    assert_true(g_failed > 100); /* failures were really injected */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_allocation_failures_in_the_core_break_no_invariant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  test_loop.c - the daemons' loop plumbing (common/rl_loop.h): the
    bounded drain, and the client connection limit kept below the
    descriptor limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include "rl_loop.h"

static int s_waiting; /* messages "waiting" for s_take */

static int s_take(void *arg)
{
    int *taken = arg;
    if (s_waiting == 0)
        return 0;
    s_waiting--;
    (*taken)++;
    return 1;
}

static int s_fail_third(void *arg)
{
    int *taken = arg;
    return ++*taken == 3 ? -1 : 1;
}

static void test_a_drain_stops_at_its_bound_or_when_nothing_waits(void **state)
{
    (void)state;
    int taken = 0;
    s_waiting = 10 * RL_LOOP_DRAIN_MAX;
    assert_int_equal(rl_loop_drain(s_take, &taken), 0);
    assert_int_equal(taken, RL_LOOP_DRAIN_MAX);
    taken = 0;
    s_waiting = 5;
    assert_int_equal(rl_loop_drain(s_take, &taken), 0);
    assert_int_equal(taken, 5);
    taken = 0;
    assert_int_equal(rl_loop_drain(s_fail_third, &taken), -1);
    assert_int_equal(taken, 3);
}

static void test_clients_are_limited_below_the_descriptor_limit(void **state)
{
    (void)state;
    /* 1,024 descriptors, 100 open of which 40 are counted connections,
       a reserve of 64 + 40 peers allowed: 1024 - 60 - 104 = 860. */
    assert_int_equal(rl_loop_client_limit(10000, 1024, 100, 40, 104), 860);
    /* The wanted limit when it is lower. */
    assert_int_equal(rl_loop_client_limit(500, 1024, 100, 40, 104), 500);
    /* No room at all, and an unknown count. */
    assert_int_equal(rl_loop_client_limit(500, 100, 90, 0, 64), 0);
    assert_int_equal(rl_loop_client_limit(500, 100, -1, 0, 64), 500);
}

static void test_the_descriptor_limit_is_raised_to_the_hard_one(void **state)
{
    (void)state;
    uint64_t before = 0, after = 0;
    assert_int_equal(rl_loop_raise_fd_limit(&before, &after), 0);
    assert_true(after >= before);
    assert_true(rl_loop_open_fds() >= 3); /* stdin, stdout, stderr */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_drain_stops_at_its_bound_or_when_nothing_waits),
        cmocka_unit_test(test_clients_are_limited_below_the_descriptor_limit),
        cmocka_unit_test(test_the_descriptor_limit_is_raised_to_the_hard_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

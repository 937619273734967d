/*  test_raft_mirror.c - node/raft/mirror.c: the one membership change a
    named log's group needs next to agree with group 0, and a log's
    bootstrap members and first leader. Pure functions: no cluster
    needed.
*/
#include "raft.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static rl_member_t s_m(uint64_t id, bool voter)
{
    rl_member_t m;
    memset(&m, 0, sizeof(m));
    m.id = id;
    m.voter = voter;
    m.peer_addr = rl_str("tcp://peer");
    m.client_addr = rl_str("tcp://client");
    return m;
}

/* A log of the catalog whose bootstrap members are ids with voters. */
static rl_raft_log_info_t s_log(const uint64_t *ids, const bool *voters,
                                size_t count)
{
    rl_raft_log_info_t log;
    memset(&log, 0, sizeof(log));
    log.member_count = count;
    for (size_t i = 0; i < count; i++) {
        log.member_ids[i] = ids[i];
        log.member_voters[i] = voters[i];
    }
    return log;
}

static void test_agreeing_configurations_need_no_change(void **state)
{
    (void)state;
    rl_member_t a[] = {s_m(1, true), s_m(2, true), s_m(3, true)};
    rl_member_t b[] = {s_m(3, true), s_m(1, true), s_m(2, true)};
    rl_member_t change;
    assert_int_equal(rl_raft_mirror_next(a, 3, b, 3, &change),
                     RL_RAFT_MIRROR_NONE);
}

/* The group's voters are always voters of group 0: a learner is promoted
   once group 0 has made it a voter (the group's core never promotes on
   its own), and a voter that group 0 has as a learner (it left and came
   back) is removed, to be added again as a learner. */
static void test_a_group_promotes_only_group_0s_voters(void **state)
{
    (void)state;
    rl_member_t a[] = {s_m(1, true), s_m(2, true), s_m(3, true)};
    rl_member_t b[] = {s_m(3, false), s_m(1, true), s_m(2, true)};
    rl_member_t change;
    assert_int_equal(rl_raft_mirror_next(a, 3, b, 3, &change),
                     RL_RAFT_MIRROR_PROMOTE);
    assert_int_equal(change.id, 3);
    /* not yet a voter of group 0: nothing to do */
    a[2].voter = false;
    assert_int_equal(rl_raft_mirror_next(a, 3, b, 3, &change),
                     RL_RAFT_MIRROR_NONE);
    /* a voter of the group, a learner of group 0 */
    b[0].voter = true;
    assert_int_equal(rl_raft_mirror_next(a, 3, b, 3, &change),
                     RL_RAFT_MIRROR_REMOVE);
    assert_int_equal(change.id, 3);
    /* removals before promotions: one that cannot catch up holds none */
    rl_member_t c[] = {s_m(1, true), s_m(2, true), s_m(4, true)};
    rl_member_t d[] = {s_m(4, false), s_m(1, true), s_m(2, true), s_m(3, true)};
    assert_int_equal(rl_raft_mirror_next(c, 3, d, 4, &change),
                     RL_RAFT_MIRROR_REMOVE);
    assert_int_equal(change.id, 3);
}

static void test_a_missing_member_is_added_first_as_a_learner(void **state)
{
    (void)state;
    /* group 0 replaced 3 by 4: add 4 before removing 3 */
    rl_member_t target[] = {s_m(1, true), s_m(2, true), s_m(4, true)};
    rl_member_t current[] = {s_m(1, true), s_m(2, true), s_m(3, true)};
    rl_member_t change;
    assert_int_equal(rl_raft_mirror_next(target, 3, current, 3, &change),
                     RL_RAFT_MIRROR_ADD);
    assert_int_equal(change.id, 4);
    assert_false(change.voter);
    assert_int_equal(change.peer_addr.size, strlen("tcp://peer"));
    /* once added, the removal */
    rl_member_t next[] = {s_m(1, true), s_m(2, true), s_m(3, true),
                          s_m(4, false)};
    assert_int_equal(rl_raft_mirror_next(target, 3, next, 4, &change),
                     RL_RAFT_MIRROR_REMOVE);
    assert_int_equal(change.id, 3);
    /* then its promotion (once caught up: rl_raft_mirror), then nothing */
    rl_member_t learner[] = {s_m(1, true), s_m(2, true), s_m(4, false)};
    assert_int_equal(rl_raft_mirror_next(target, 3, learner, 3, &change),
                     RL_RAFT_MIRROR_PROMOTE);
    assert_int_equal(change.id, 4);
    rl_member_t done[] = {s_m(1, true), s_m(2, true), s_m(4, true)};
    assert_int_equal(rl_raft_mirror_next(target, 3, done, 3, &change),
                     RL_RAFT_MIRROR_NONE);
}

static void
test_adds_follow_group_0s_order_and_removals_the_groups(void **state)
{
    (void)state;
    rl_member_t target[] = {s_m(5, true), s_m(1, true), s_m(6, false)};
    rl_member_t current[] = {s_m(7, true), s_m(1, true), s_m(8, true)};
    rl_member_t change;
    assert_int_equal(rl_raft_mirror_next(target, 3, current, 3, &change),
                     RL_RAFT_MIRROR_ADD);
    assert_int_equal(change.id, 5);
    rl_member_t more[] = {s_m(7, true), s_m(1, true), s_m(8, true),
                          s_m(5, false), s_m(6, false)};
    assert_int_equal(rl_raft_mirror_next(target, 3, more, 5, &change),
                     RL_RAFT_MIRROR_REMOVE);
    assert_int_equal(change.id, 7);
}

/* A group at RL_MAX_MEMBERS cannot add first: it removes first. */
static void test_a_full_group_removes_before_it_adds(void **state)
{
    (void)state;
    rl_member_t current[RL_MAX_MEMBERS];
    rl_member_t target[RL_MAX_MEMBERS];
    for (size_t i = 0; i < RL_MAX_MEMBERS; i++) {
        current[i] = s_m(i + 1, true);
        target[i] = s_m(i + 2, true); /* 1 out, 17 in */
    }
    rl_member_t change;
    assert_int_equal(rl_raft_mirror_next(target, RL_MAX_MEMBERS, current,
                                         RL_MAX_MEMBERS, &change),
                     RL_RAFT_MIRROR_REMOVE);
    assert_int_equal(change.id, 1);
    assert_int_equal(rl_raft_mirror_next(target, RL_MAX_MEMBERS, current + 1,
                                         RL_MAX_MEMBERS - 1, &change),
                     RL_RAFT_MIRROR_ADD);
    assert_int_equal(change.id, RL_MAX_MEMBERS + 1);
}

static void test_a_logs_bootstrap_members_take_group_0s_endpoints(void **state)
{
    (void)state;
    /* 9 gone from group 0 since */
    rl_raft_log_info_t log =
        s_log((uint64_t[]){1, 2, 9}, (bool[]){true, true, false}, 3);
    rl_member_t book[] = {s_m(2, false), s_m(1, true)};
    book[0].peer_addr = rl_str("tcp://two");
    rl_member_t out[RL_MAX_MEMBERS];
    size_t n = rl_raft_log_members(&log, book, 2, out);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].id, 1);
    assert_true(out[0].voter);
    assert_int_equal(out[1].id, 2);
    assert_true(out[1].voter); /* the log's flag, not the book's */
    assert_int_equal(out[1].peer_addr.size, strlen("tcp://two"));
    assert_int_equal(out[2].id, 9);
    assert_false(out[2].voter);
    assert_int_equal(out[2].peer_addr.size, 0);
}

/* Every server derives a new log's first leader from the catalog alone:
   the voters sorted by id, taken in turn by group id; learners never. */
static void test_a_logs_first_leader_goes_round_its_voters(void **state)
{
    (void)state;
    /* group 0's order, not sorted; 5 a learner */
    rl_raft_log_info_t log =
        s_log((uint64_t[]){7, 5, 2, 4}, (bool[]){true, false, true, true}, 4);
    const uint64_t expected[] = {2, 4, 7, 2, 4, 7};
    for (uint64_t g = 0; g < 6; g++) {
        log.group = g + 3;
        assert_int_equal(rl_raft_log_first_leader(&log), expected[(g + 3) % 3]);
    }
    /* the same whatever the order of the members */
    rl_raft_log_info_t other = log;
    other.member_ids[0] = 4;
    other.member_ids[3] = 7;
    for (uint64_t g = 1; g < 10; g++) {
        log.group = other.group = g;
        assert_int_equal(rl_raft_log_first_leader(&log),
                         rl_raft_log_first_leader(&other));
    }
    /* no voter: none */
    log.member_voters[0] = log.member_voters[2] = log.member_voters[3] = false;
    assert_int_equal(rl_raft_log_first_leader(&log), 0);
    log.member_count = 0;
    assert_int_equal(rl_raft_log_first_leader(&log), 0);
}

/* Group 0 removes a member only once every log's committed configuration
   can do without it: stamped as of group 0's configuration or later, its
   voters all voters of group 0, and two of them besides a voter that
   goes. A log of two voters with the third not yet promoted would
   otherwise need the removed node. */
static void
test_a_log_lets_group_0_remove_a_member_it_does_without(void **state)
{
    (void)state;
    rl_member_t zero[] = {s_m(2, true), s_m(3, true), s_m(1, true)};
    rl_member_t same[] = {s_m(1, true), s_m(2, true), s_m(3, true)};
    assert_int_equal(rl_raft_removal_check(zero, 3, 40, 3, same, 3, 40),
                     RL_RAFT_REMOVAL_SAFE);
    assert_int_equal(rl_raft_removal_check(zero, 3, 40, 3, same, 3, 41),
                     RL_RAFT_REMOVAL_SAFE);
    /* the same voters, but mirrored from an older configuration of group
       0: a leader of the log whose group 0 lags could still mirror that
       one (rl_raft_mirror refuses only targets older than the stamp) */
    assert_int_equal(rl_raft_removal_check(zero, 3, 40, 3, same, 3, 39),
                     RL_RAFT_REMOVAL_BEHIND);
    assert_int_equal(rl_raft_removal_check(zero, 3, 40, 3, same, 3, 0),
                     RL_RAFT_REMOVAL_BEHIND);
    /* the third still a learner of the log, or not yet in it: it may go
       (two voters stay, and the log never needs it), not another */
    rl_member_t lagging[] = {s_m(2, true), s_m(3, true), s_m(1, false)};
    assert_int_equal(rl_raft_removal_check(zero, 3, 40, 1, lagging, 3, 40),
                     RL_RAFT_REMOVAL_SAFE);
    assert_int_equal(rl_raft_removal_check(zero, 3, 40, 1, lagging, 2, 40),
                     RL_RAFT_REMOVAL_SAFE);
    assert_int_equal(rl_raft_removal_check(zero, 3, 40, 3, lagging, 3, 40),
                     RL_RAFT_REMOVAL_TOO_FEW);
    assert_int_equal(rl_raft_removal_check(zero, 3, 40, 2, lagging, 2, 40),
                     RL_RAFT_REMOVAL_TOO_FEW);
    /* a voter group 0 no longer has, or has as a learner only */
    rl_member_t extra[] = {s_m(1, true), s_m(2, true), s_m(3, true),
                           s_m(4, true)};
    assert_int_equal(rl_raft_removal_check(zero, 3, 40, 3, extra, 4, 40),
                     RL_RAFT_REMOVAL_OUTSIDER);
    rl_member_t zero_learner[] = {s_m(2, true), s_m(3, true), s_m(1, true),
                                  s_m(5, false)};
    rl_member_t promoted[] = {s_m(1, true), s_m(2, true), s_m(3, true),
                              s_m(5, true)};
    assert_int_equal(
        rl_raft_removal_check(zero_learner, 4, 40, 5, promoted, 4, 40),
        RL_RAFT_REMOVAL_OUTSIDER);
    /* a learner of group 0 may go while the log's voters are group 0's;
       learners of the log do not count */
    rl_member_t log_learner[] = {s_m(1, true), s_m(2, true), s_m(3, true),
                                 s_m(6, false)};
    assert_int_equal(
        rl_raft_removal_check(zero_learner, 4, 40, 5, log_learner, 4, 40),
        RL_RAFT_REMOVAL_SAFE);
    /* a one-voter log: a learner of group 0 may go, a voter may not (the
       log could promote it, and then need it to remove it) */
    rl_member_t one[] = {s_m(1, true)};
    rl_member_t zero_one[] = {s_m(1, true), s_m(7, false)};
    assert_int_equal(rl_raft_removal_check(zero_one, 2, 40, 7, one, 1, 40),
                     RL_RAFT_REMOVAL_SAFE);
    rl_member_t zero_three[] = {s_m(1, true), s_m(7, true), s_m(8, true)};
    assert_int_equal(rl_raft_removal_check(zero_three, 3, 40, 7, one, 1, 40),
                     RL_RAFT_REMOVAL_TOO_FEW);
    /* group 0 of four whose fourth the log has not promoted (it is
       down): a third may not go (the log would survive no failure, group
       0 one), the fourth may, and then the third */
    rl_member_t four[] = {s_m(1, true), s_m(2, true), s_m(3, true),
                          s_m(4, true)};
    rl_member_t three[] = {s_m(1, true), s_m(2, true), s_m(3, true),
                           s_m(4, false)};
    assert_int_equal(rl_raft_removal_check(four, 4, 40, 3, three, 4, 40),
                     RL_RAFT_REMOVAL_TOO_FEW);
    assert_int_equal(rl_raft_removal_check(four, 4, 40, 4, three, 4, 40),
                     RL_RAFT_REMOVAL_SAFE);
    assert_int_equal(rl_raft_removal_check(four, 3, 50, 3, three, 3, 50),
                     RL_RAFT_REMOVAL_SAFE);
    /* five voters, all the log's: any may go (four survive one failure,
       as group 0's four will); with two not promoted, none of the three
       may */
    rl_member_t five[] = {s_m(1, true), s_m(2, true), s_m(3, true),
                          s_m(4, true), s_m(5, true)};
    assert_int_equal(rl_raft_removal_check(five, 5, 40, 5, five, 5, 40),
                     RL_RAFT_REMOVAL_SAFE);
    rl_member_t half[] = {s_m(1, true), s_m(2, true), s_m(3, true),
                          s_m(4, false), s_m(5, false)};
    assert_int_equal(rl_raft_removal_check(five, 5, 40, 3, half, 5, 40),
                     RL_RAFT_REMOVAL_TOO_FEW);
    assert_int_equal(rl_raft_removal_check(five, 5, 40, 5, half, 5, 40),
                     RL_RAFT_REMOVAL_SAFE);
}

/* A configuration's stamp is kept in its CONFIG entry's encoding (and in
   a members file); one without a stamp keeps the encoding of before. */
static void test_a_members_stamp_survives_its_encoding(void **state)
{
    (void)state;
    rl_member_t list[] = {s_m(1, true), s_m(2, false)};
    uint8_t *plain = NULL, *stamped = NULL;
    size_t plain_size = 0, stamped_size = 0;
    assert_int_equal(rl_raft_members_encode(list, 2, 0, &plain, &plain_size),
                     0);
    assert_int_equal(
        rl_raft_members_encode(list, 2, 1234, &stamped, &stamped_size), 0);
    assert_memory_equal(plain, "RLC1", 4);
    assert_memory_equal(stamped, "RLC2", 4);
    assert_int_equal(stamped_size, plain_size + 8);
    rl_member_t out[RL_MAX_MEMBERS];
    size_t count = 0;
    uint64_t mirrors = 99;
    assert_int_equal(
        rl_raft_members_decode(plain, plain_size, out, &count, &mirrors), 0);
    assert_int_equal(count, 2);
    assert_int_equal(mirrors, 0);
    assert_int_equal(
        rl_raft_members_decode(stamped, stamped_size, out, &count, &mirrors),
        0);
    assert_int_equal(count, 2);
    assert_int_equal(mirrors, 1234);
    assert_int_equal(out[1].id, 2);
    assert_false(out[1].voter);
    assert_int_equal(out[0].peer_addr.size, strlen("tcp://peer"));
    /* cut anywhere: refused */
    for (size_t cut = 0; cut < stamped_size; cut++) {
        assert_int_equal(
            rl_raft_members_decode(stamped, cut, out, &count, NULL),
            RL_ERR_BAD_REQUEST);
    }
    free(plain);
    free(stamped);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agreeing_configurations_need_no_change),
        cmocka_unit_test(test_a_group_promotes_only_group_0s_voters),
        cmocka_unit_test(test_a_missing_member_is_added_first_as_a_learner),
        cmocka_unit_test(
            test_adds_follow_group_0s_order_and_removals_the_groups),
        cmocka_unit_test(test_a_full_group_removes_before_it_adds),
        cmocka_unit_test(test_a_logs_bootstrap_members_take_group_0s_endpoints),
        cmocka_unit_test(test_a_logs_first_leader_goes_round_its_voters),
        cmocka_unit_test(
            test_a_log_lets_group_0_remove_a_member_it_does_without),
        cmocka_unit_test(test_a_members_stamp_survives_its_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

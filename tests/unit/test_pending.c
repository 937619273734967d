/*  test_pending.c - the node's table of waiting client requests
    (node/rl_pending.h): what a commit advance, a deadline, a role change
    or shutdown takes out of it, and in which order. No sockets: envelopes
    are plain czmq messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include <stdlib.h>

#include "rl_pending.h"

/* A record of kind waiting for index (READ: from) until deadline. */
static rl_pending_t *s_put(rl_pending_table_t *t, int kind, uint64_t index,
                           int64_t deadline, uint64_t id)
{
    zmsg_t *envelope = zmsg_new();
    zmsg_addstr(envelope, "client");
    rl_pending_t *p = rl_pending_new(&envelope, id, kind, deadline);
    assert_non_null(p);
    assert_null(envelope);
    if (kind == RL_PENDING_READ)
        p->read.from = index;
    else
        p->index = index;
    assert_int_equal(rl_pending_put(t, p), 0);
    return p;
}

static void test_a_commit_takes_out_only_the_records_it_settles(void **state)
{
    (void)state;
    rl_pending_table_t *t = rl_pending_table_new();
    s_put(t, RL_PENDING_APPEND, 5, 1000, 1);
    s_put(t, RL_PENDING_MEMBERS, 7, 1000, 2);
    s_put(t, RL_PENDING_READ, 9, 1000, 3);
    assert_null(rl_pending_take_committed(t, 4));
    rl_pending_t *p = rl_pending_take_committed(t, 7);
    assert_non_null(p);
    assert_int_equal(p->id, 1);
    rl_pending_free(&p);
    assert_null(p);
    p = rl_pending_take_committed(t, 7);
    assert_int_equal(p->id, 2);
    rl_pending_free(&p);
    assert_null(rl_pending_take_committed(t, 8));
    assert_int_equal(rl_pending_next_index(t), 9);
    assert_int_equal(rl_pending_count(t), 1);
    rl_pending_table_destroy(&t);
    assert_null(t);
}

static void
test_records_come_out_in_index_order_whatever_order_they_went_in(void **state)
{
    (void)state;
    rl_pending_table_t *t = rl_pending_table_new();
    srand(15);
    for (int i = 0; i < 2000; i++)
        s_put(t, i % 2 ? RL_PENDING_READ : RL_PENDING_APPEND,
              (uint64_t)(rand() % 500) + 1, 1000, (uint64_t)i);
    uint64_t last = 0;
    size_t taken = 0;
    rl_pending_t *p;
    while ((p = rl_pending_take_committed(t, UINT64_MAX))) {
        uint64_t key = p->kind == RL_PENDING_READ ? p->read.from : p->index;
        assert_true(key >= last);
        last = key;
        taken++;
        rl_pending_free(&p);
    }
    assert_int_equal(taken, 2000);
    assert_int_equal(rl_pending_count(t), 0);
    rl_pending_table_destroy(&t);
}

static void test_expired_records_come_out_by_deadline_and_leave_the_index_order(
    void **state)
{
    (void)state;
    rl_pending_table_t *t = rl_pending_table_new();
    s_put(t, RL_PENDING_READ, 10, 300, 1);
    s_put(t, RL_PENDING_APPEND, 3, 100, 2);
    s_put(t, RL_PENDING_READ, 4, 200, 3);
    assert_null(rl_pending_take_expired(t, 99));
    rl_pending_t *p = rl_pending_take_expired(t, 250);
    assert_int_equal(p->id, 2);
    rl_pending_free(&p);
    p = rl_pending_take_expired(t, 250);
    assert_int_equal(p->id, 3);
    rl_pending_free(&p);
    assert_null(rl_pending_take_expired(t, 250));
    /* What expired is gone from the index order too. */
    p = rl_pending_take_committed(t, UINT64_MAX);
    assert_int_equal(p->id, 1);
    rl_pending_free(&p);
    assert_null(rl_pending_take_committed(t, UINT64_MAX));
    rl_pending_table_destroy(&t);
}

static void test_transfers_wait_for_no_index_and_come_out_by_kind(void **state)
{
    (void)state;
    rl_pending_table_t *t = rl_pending_table_new();
    s_put(t, RL_PENDING_TRANSFER, 0, 1000, 1);
    s_put(t, RL_PENDING_APPEND, 2, 1000, 2);
    s_put(t, RL_PENDING_TRANSFER, 0, 1000, 3);
    assert_int_equal(rl_pending_count_kind(t, RL_PENDING_TRANSFER), 2);
    rl_pending_t *p = rl_pending_take_committed(t, UINT64_MAX);
    assert_int_equal(p->id, 2);
    rl_pending_free(&p);
    assert_null(rl_pending_take_committed(t, UINT64_MAX));
    assert_null(rl_pending_take_kind(t, RL_PENDING_READ));
    int found = 0;
    while ((p = rl_pending_take_kind(t, RL_PENDING_TRANSFER))) {
        found += (int)p->id;
        rl_pending_free(&p);
    }
    assert_int_equal(found, 4);
    assert_int_equal(rl_pending_count(t), 0);
    assert_null(rl_pending_take_any(t));
    rl_pending_table_destroy(&t);
}

static void test_a_read_put_back_with_a_later_from_waits_for_it(void **state)
{
    (void)state;
    rl_pending_table_t *t = rl_pending_table_new();
    s_put(t, RL_PENDING_READ, 5, 1000, 1);
    rl_pending_t *p = rl_pending_take_committed(t, 6);
    assert_non_null(p);
    /* Only Raft's own entries were committed: it waits past them. */
    p->read.from = 7;
    assert_int_equal(rl_pending_put(t, p), 0);
    assert_null(rl_pending_take_committed(t, 6));
    assert_int_equal(rl_pending_count_kind(t, RL_PENDING_READ), 1);
    p = rl_pending_take_committed(t, 7);
    assert_int_equal(p->id, 1);
    rl_pending_free(&p);
    rl_pending_table_destroy(&t);
}

static void
test_a_read_from_a_time_waits_for_a_stamp_not_for_commits(void **state)
{
    (void)state;
    rl_pending_table_t *t = rl_pending_table_new();
    /* No entry is stamped at or after 5000 yet: from 0, from_time 5000. */
    rl_pending_t *p = s_put(t, RL_PENDING_READ, 0, 1000, 1);
    rl_pending_take_kind(t, RL_PENDING_READ); /* set its time, put again */
    p->read.from_time = 5000;
    assert_int_equal(rl_pending_put(t, p), 0);
    s_put(t, RL_PENDING_READ, 3, 1000, 2);
    /* Commits do not wake it, whatever they reach. */
    p = rl_pending_take_committed(t, UINT64_MAX);
    assert_int_equal(p->id, 2);
    rl_pending_free(&p);
    assert_null(rl_pending_take_committed(t, UINT64_MAX));
    assert_int_equal(rl_pending_next_index(t), UINT64_MAX);
    /* An entry stamped before it does not either; one at it does. */
    assert_null(rl_pending_take_stamped(t, 4999));
    p = rl_pending_take_stamped(t, 5000);
    assert_int_equal(p->id, 1);
    /* Put back waiting for the index found, it is in the index order. */
    p->read.from = 42;
    assert_int_equal(rl_pending_put(t, p), 0);
    assert_null(rl_pending_take_stamped(t, UINT64_MAX));
    assert_null(rl_pending_take_committed(t, 41));
    p = rl_pending_take_committed(t, 42);
    assert_int_equal(p->id, 1);
    /* Back in the time order, its deadline still takes it out. */
    p->read.from = 0;
    assert_int_equal(rl_pending_put(t, p), 0);
    p = rl_pending_take_expired(t, 1000);
    assert_int_equal(p->id, 1);
    rl_pending_free(&p);
    assert_int_equal(rl_pending_count(t), 0);
    rl_pending_table_destroy(&t);
}

static void test_shutdown_takes_out_every_record_once(void **state)
{
    (void)state;
    rl_pending_table_t *t = rl_pending_table_new();
    for (int i = 0; i < 100; i++)
        s_put(t, i % RL_PENDING_KINDS, (uint64_t)i + 1, 1000 - i, (uint64_t)i);
    int seen[100] = {0};
    rl_pending_t *p;
    while ((p = rl_pending_take_any(t))) {
        seen[p->id]++;
        rl_pending_free(&p);
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    for (int k = 0; k < RL_PENDING_KINDS; k++)
        assert_int_equal(rl_pending_count_kind(t, k), 0);
    rl_pending_table_destroy(&t);
}

static void test_a_client_that_goes_takes_out_its_own_records_only(void **state)
{
    (void)state;
    rl_pending_table_t *t = rl_pending_table_new();
    rl_front_held_t mine = {0}, theirs = {0};
    for (int i = 0; i < 50; i++) {
        zmsg_t *envelope = zmsg_new();
        rl_pending_t *p =
            rl_pending_new(&envelope, (uint64_t)i, RL_PENDING_READ, 1000 + i);
        p->read.from = (uint64_t)(100 + i);
        p->owner = i % 2 ? &mine : &theirs;
        assert_int_equal(rl_pending_put(t, p), 0);
    }
    s_put(t, RL_PENDING_APPEND, 3, 1000, 99); /* no owner */
    assert_int_equal(mine.count, 25);
    assert_int_equal(theirs.count, 25);
    /* Some of mine are settled by a commit first: they leave my list. */
    rl_pending_t *p;
    while ((p = rl_pending_take_committed(t, 110))) {
        if (p->owner == &mine)
            assert_true(p->id % 2 == 1);
        rl_pending_free(&p);
    }
    assert_int_equal(mine.count, 20);
    size_t taken = 0;
    while ((p = rl_pending_take_owned(&mine))) {
        assert_ptr_equal(p->owner, &mine);
        taken++;
        rl_pending_free(&p);
    }
    assert_int_equal(taken, 20);
    assert_int_equal(mine.count, 0);
    assert_null(mine.head);
    assert_int_equal(theirs.count, 19);
    assert_int_equal(rl_pending_count(t), 19); /* the APPEND committed */
    rl_pending_table_destroy(&t);
    assert_int_equal(theirs.count, 0);
}

/* One client's long polls on two logs wait in two tables (one per group):
   when it goes, each record leaves its own table, which says whose it is
   (the chaos soak on named logs found a record taken out through the
   wrong table: a heap count below zero, then a use after free). */
static void test_a_client_with_records_in_two_tables_releases_each_from_its_own(
    void **state)
{
    (void)state;
    rl_pending_table_t *a = rl_pending_table_new(), *b = rl_pending_table_new();
    int user_a, user_b;
    rl_pending_table_set_user(a, &user_a);
    rl_pending_table_set_user(b, &user_b);
    rl_front_held_t client = {0};
    for (int i = 0; i < 10; i++) {
        zmsg_t *envelope = zmsg_new();
        rl_pending_t *p =
            rl_pending_new(&envelope, (uint64_t)i, RL_PENDING_READ, 1000 + i);
        p->read.from = (uint64_t)(100 + i);
        p->owner = &client;
        assert_int_equal(rl_pending_put(i % 3 ? a : b, p), 0);
        assert_ptr_equal(rl_pending_user_of(p), i % 3 ? &user_a : &user_b);
    }
    assert_int_equal(client.count, 10);
    size_t from_a = 0, from_b = 0;
    while (client.head) {
        void *user = rl_pending_user_of(client.head);
        rl_pending_t *p = rl_pending_take_owned(&client);
        assert_non_null(p);
        assert_null(rl_pending_user_of(p)); /* out of every table */
        if (user == &user_a)
            from_a++;
        else if (user == &user_b)
            from_b++;
        else
            fail_msg("a record of no table");
        rl_pending_free(&p);
    }
    assert_int_equal(from_a, 6);
    assert_int_equal(from_b, 4);
    assert_int_equal(rl_pending_count(a), 0);
    assert_int_equal(rl_pending_count(b), 0);
    assert_null(rl_pending_take_owned(&client));
    assert_null(rl_pending_take_any(a));
    assert_null(rl_pending_take_any(b));
    rl_pending_table_destroy(&a);
    rl_pending_table_destroy(&b);
}

/* Random puts and takes of every kind against a plain array: the table
   hands out exactly what the model says, in the model's order. */
typedef struct {
    uint64_t id, key;
    int64_t deadline;
    int kind;
    bool in;
} s_model_t;

static void test_random_operations_match_a_plain_model(void **state)
{
    (void)state;
    enum { N = 8000 };
    static s_model_t model[N];
    rl_pending_table_t *t = rl_pending_table_new();
    srand(12);
    size_t made = 0;
    for (int step = 0; step < 20000; step++) {
        /* Puts win while the table is small, so that it holds hundreds of
           records and takes hit every part of the heaps. */
        int op = rand() % 10 < (rl_pending_count(t) < 300 ? 6 : 3)
                     ? 0
                     : 1 + rand() % 3;
        if (op == 0 && made < N) {
            s_model_t *m = &model[made];
            m->id = made;
            m->kind = rand() % RL_PENDING_KINDS;
            m->key = (uint64_t)(rand() % 1000);
            m->deadline = rand() % 1000;
            m->in = true;
            s_put(t, m->kind, m->key, m->deadline, m->id);
            made++;
        } else if (op == 1) {
            uint64_t commit = (uint64_t)(rand() % 1000);
            rl_pending_t *p = rl_pending_take_committed(t, commit);
            uint64_t best = UINT64_MAX;
            for (size_t i = 0; i < made; i++)
                if (model[i].in && model[i].kind != RL_PENDING_TRANSFER &&
                    model[i].key < best)
                    best = model[i].key;
            if (best > commit) {
                assert_null(p);
                continue;
            }
            assert_non_null(p);
            assert_int_equal(model[p->id].key, best);
            model[p->id].in = false;
            rl_pending_free(&p);
        } else if (op == 2) {
            int64_t now = rand() % 1000;
            rl_pending_t *p = rl_pending_take_expired(t, now);
            int64_t best = INT64_MAX;
            for (size_t i = 0; i < made; i++)
                if (model[i].in && model[i].deadline < best)
                    best = model[i].deadline;
            if (best > now) {
                assert_null(p);
                continue;
            }
            assert_non_null(p);
            assert_int_equal(model[p->id].deadline, best);
            model[p->id].in = false;
            rl_pending_free(&p);
        } else {
            int kind = rand() % RL_PENDING_KINDS;
            rl_pending_t *p = rl_pending_take_kind(t, kind);
            size_t of_kind = 0;
            for (size_t i = 0; i < made; i++)
                of_kind += model[i].in && model[i].kind == kind;
            assert_int_equal(p != NULL, of_kind > 0);
            if (p) {
                assert_int_equal(p->kind, kind);
                assert_true(model[p->id].in);
                model[p->id].in = false;
                rl_pending_free(&p);
            }
        }
        size_t in = 0;
        for (size_t i = 0; i < made; i++)
            in += model[i].in;
        assert_int_equal(rl_pending_count(t), in);
    }
    rl_pending_table_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_commit_takes_out_only_the_records_it_settles),
        cmocka_unit_test(
            test_records_come_out_in_index_order_whatever_order_they_went_in),
        cmocka_unit_test(
            test_expired_records_come_out_by_deadline_and_leave_the_index_order),
        cmocka_unit_test(test_transfers_wait_for_no_index_and_come_out_by_kind),
        cmocka_unit_test(test_a_read_put_back_with_a_later_from_waits_for_it),
        cmocka_unit_test(
            test_a_read_from_a_time_waits_for_a_stamp_not_for_commits),
        cmocka_unit_test(test_shutdown_takes_out_every_record_once),
        cmocka_unit_test(
            test_a_client_that_goes_takes_out_its_own_records_only),
        cmocka_unit_test(
            test_a_client_with_records_in_two_tables_releases_each_from_its_own),
        cmocka_unit_test(test_random_operations_match_a_plain_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

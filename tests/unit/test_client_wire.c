/*  test_client_wire.c - libraftlog's named-logs wire (clients/raftlog_wire.c):
    the `log` pair added to encoded requests, LOGS_REQUEST as written,
    LOGS_OK and STATUS_OK `logs` and NOT_LEADER's `log` as read, against
    stand-in replies built here with msgpack-c, hostile ones included.
    No sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "raftlog_wire.h"

/* ---- helpers ---- */

static void s_str(msgpack_packer *pk, const char *text)
{
    msgpack_pack_str(pk, strlen(text));
    msgpack_pack_str_body(pk, text, strlen(text));
}

static void s_key_uint(msgpack_packer *pk, const char *key, uint64_t value)
{
    s_str(pk, key);
    msgpack_pack_uint64(pk, value);
}

static void s_key_str(msgpack_packer *pk, const char *key, const char *value)
{
    s_str(pk, key);
    s_str(pk, value);
}

/* The value of key in the top-level map of obj, or NULL. */
static const msgpack_object *s_get(const msgpack_object *obj, const char *key)
{
    assert_int_equal(obj->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR &&
            kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, strlen(key)) == 0)
            return &kv->val;
    }
    return NULL;
}

static void s_assert_str(const msgpack_object *obj, const char *text)
{
    assert_non_null(obj);
    assert_int_equal(obj->type, MSGPACK_OBJECT_STR);
    assert_int_equal(obj->via.str.size, strlen(text));
    assert_memory_equal(obj->via.str.ptr, text, strlen(text));
}

static void s_assert_uint(const msgpack_object *obj, uint64_t value)
{
    assert_non_null(obj);
    assert_int_equal(obj->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(obj->via.u64, value);
}

/* ---- the `log` pair ---- */

static void
test_a_request_with_a_log_decodes_as_before_and_names_it(void **state)
{
    (void)state;
    rl_str_t entries[2] = {rl_str("one"), rl_str("two")};
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND_REQUEST);
    msg.id = 9;
    msg.body.append_request = (rl_append_request_t){
        .producer_id = 77, .seq = 3, .entries = entries, .entry_count = 2};
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(&msg, &buf, NULL), 0);
    assert_int_equal(rl_wire_add_log(&buf, "orders"), 0);

    rl_msg_t decoded;
    assert_int_equal(rl_codec_decode(buf.data, buf.size, &decoded, NULL), 0);
    assert_int_equal(decoded.type, RL_MSG_APPEND_REQUEST);
    assert_int_equal(decoded.id, 9);
    assert_int_equal(decoded.body.append_request.producer_id, 77);
    assert_int_equal(decoded.body.append_request.seq, 3);
    assert_int_equal(decoded.body.append_request.entry_count, 2);
    assert_memory_equal(decoded.body.append_request.entries[1].ptr, "two", 3);
    rl_msg_close(&decoded);

    char log[RAFTLOG_MAX_LOG_NAME + 1];
    assert_int_equal(rl_wire_reply_log(buf.data, buf.size, log, NULL), 0);
    assert_string_equal(log, "orders");
    rl_buf_close(&buf);
}

static void test_a_log_added_to_fifteen_pairs_makes_a_map16(void **state)
{
    (void)state;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 15);
    for (int i = 0; i < 15; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i);
        s_key_uint(&pk, key, (uint64_t)i);
    }
    rl_buf_t buf;
    rl_buf_init(&buf);
    buf.data = malloc(sbuf.size);
    assert_non_null(buf.data);
    memcpy(buf.data, sbuf.data, sbuf.size);
    buf.size = buf.capacity = sbuf.size;
    msgpack_sbuffer_destroy(&sbuf);

    /* A long name: str8 rather than fixstr. */
    const char *name = "a-name-of-more-than-thirty-one-characters.x";
    assert_int_equal(rl_wire_add_log(&buf, name), 0);
    assert_int_equal(buf.data[0], 0xde);
    assert_int_equal(buf.data[1], 0);
    assert_int_equal(buf.data[2], 16);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t offset = 0;
    assert_int_equal(msgpack_unpack_next(&unpacked, (const char *)buf.data,
                                         buf.size, &offset),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(offset, buf.size);
    s_assert_uint(s_get(&unpacked.data, "k0"), 0);
    s_assert_uint(s_get(&unpacked.data, "k14"), 14);
    s_assert_str(s_get(&unpacked.data, "log"), name);

    /* And once more: a map16's count goes up. */
    assert_int_equal(rl_wire_add_log(&buf, "again"), 0);
    assert_int_equal(buf.data[2], 17);
    msgpack_unpacked_destroy(&unpacked);
    rl_buf_close(&buf);
}

static void test_a_log_is_not_added_to_what_is_not_a_map(void **state)
{
    (void)state;
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_wire_add_log(&buf, "orders"), RL_ERR_BAD_REQUEST);
    uint8_t array = 0x90;
    buf.data = malloc(1);
    assert_non_null(buf.data);
    buf.data[0] = array;
    buf.size = buf.capacity = 1;
    assert_int_equal(rl_wire_add_log(&buf, "orders"), RL_ERR_BAD_REQUEST);
    rl_buf_close(&buf);
}

/* ---- LOGS_REQUEST ---- */

static void test_a_logs_request_carries_op_name_and_every_setting(void **state)
{
    (void)state;
    rl_buf_t buf;
    rl_buf_init(&buf);
    raftlog_log_settings_t settings = {5000000000ull, 3600000, 1024};
    assert_int_equal(rl_wire_logs_request(&buf, 300, RL_WIRE_LOGS_CREATE,
                                          "orders", &settings),
                     0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t offset = 0;
    assert_int_equal(msgpack_unpack_next(&unpacked, (const char *)buf.data,
                                         buf.size, &offset),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(offset, buf.size);
    const msgpack_object *m = &unpacked.data;
    assert_int_equal(m->via.map.size, 8);
    s_assert_uint(s_get(m, "version"), 1);
    s_assert_uint(s_get(m, "type"), 40);
    s_assert_uint(s_get(m, "id"), 300);
    s_assert_str(s_get(m, "op"), "create");
    s_assert_str(s_get(m, "name"), "orders");
    s_assert_uint(s_get(m, "retention_bytes"), 5000000000ull);
    s_assert_uint(s_get(m, "retention_ms"), 3600000);
    s_assert_uint(s_get(m, "max_entry_bytes"), 1024);
    assert_null(s_get(m, "log"));

    /* A list names nothing and sets nothing. */
    assert_int_equal(
        rl_wire_logs_request(&buf, 301, RL_WIRE_LOGS_LIST, NULL, NULL), 0);
    offset = 0;
    assert_int_equal(msgpack_unpack_next(&unpacked, (const char *)buf.data,
                                         buf.size, &offset),
                     MSGPACK_UNPACK_SUCCESS);
    m = &unpacked.data;
    assert_int_equal(m->via.map.size, 4);
    s_assert_str(s_get(m, "op"), "list");
    assert_null(s_get(m, "name"));

    /* Configure without settings sends zeros: the defaults. */
    assert_int_equal(
        rl_wire_logs_request(&buf, 302, RL_WIRE_LOGS_CONFIGURE, "orders", NULL),
        0);
    offset = 0;
    assert_int_equal(msgpack_unpack_next(&unpacked, (const char *)buf.data,
                                         buf.size, &offset),
                     MSGPACK_UNPACK_SUCCESS);
    s_assert_str(s_get(&unpacked.data, "op"), "configure");
    s_assert_uint(s_get(&unpacked.data, "retention_bytes"), 0);
    msgpack_unpacked_destroy(&unpacked);
    rl_buf_close(&buf);
}

/* ---- LOGS_OK ---- */

/* A LOGS_OK with id 5 and count logs named name0, name1, ..., with one
   unknown key per log and one at the top. */
static void s_logs_ok(msgpack_sbuffer *sbuf, const char *const *names,
                      size_t count)
{
    msgpack_sbuffer_init(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    s_key_uint(&pk, "version", 1);
    s_key_uint(&pk, "type", 71);
    s_key_uint(&pk, "id", 5);
    s_str(&pk, "later");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 1);
    s_key_uint(&pk, "x", 1);
    msgpack_pack_nil(&pk);
    s_str(&pk, "logs");
    msgpack_pack_array(&pk, count);
    for (size_t i = 0; i < count; i++) {
        msgpack_pack_map(&pk, 6);
        s_key_str(&pk, "name", names[i]);
        s_key_uint(&pk, "group", i);
        s_key_uint(&pk, "retention_bytes", 1000 * i);
        s_key_uint(&pk, "retention_ms", 60000);
        s_key_uint(&pk, "max_entry_bytes", 4096);
        s_key_str(&pk, "someday", "ignored");
    }
}

static void test_a_logs_ok_is_read_whatever_the_codec_knows(void **state)
{
    (void)state;
    const char *names[] = {"default", "orders", "a.b_c-9"};
    msgpack_sbuffer sbuf;
    s_logs_ok(&sbuf, names, 3);

    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE] = "";
    assert_int_equal(rl_wire_decode_reply(sbuf.data, sbuf.size, &msg, err), 0);
    assert_int_equal(msg.type, RL_WIRE_LOGS_OK);
    assert_int_equal(msg.id, 5);
    rl_msg_close(&msg);

    raftlog_log_info_t *logs = NULL;
    size_t count = 0;
    assert_int_equal(rl_wire_logs_ok(sbuf.data, sbuf.size, &logs, &count, err),
                     0);
    assert_int_equal(count, 3);
    assert_string_equal(logs[1].name, "orders");
    assert_int_equal(logs[1].group, 1);
    assert_int_equal(logs[2].settings.retention_bytes, 2000);
    assert_int_equal(logs[2].settings.retention_ms, 60000);
    assert_int_equal(logs[2].settings.max_entry_bytes, 4096);
    assert_string_equal(logs[2].name, "a.b_c-9");
    free(logs);
    msgpack_sbuffer_destroy(&sbuf);
}

static void test_a_logs_ok_with_a_bad_name_or_truncated_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"Orders"};
    msgpack_sbuffer sbuf;
    s_logs_ok(&sbuf, bad, 1);
    raftlog_log_info_t *logs = NULL;
    size_t count = 0;
    char err[RL_CODEC_ERROR_SIZE] = "";
    assert_int_equal(rl_wire_logs_ok(sbuf.data, sbuf.size, &logs, &count, err),
                     RL_ERR_BAD_REQUEST);
    assert_null(logs);
    assert_non_null(strstr(err, "valid 'name'"));
    msgpack_sbuffer_destroy(&sbuf);

    /* Every truncation of a good one is refused by both readers, and
       never read past its end (ASan watches the copies). */
    const char *good[] = {"default", "orders"};
    s_logs_ok(&sbuf, good, 2);
    for (size_t cut = 0; cut < sbuf.size; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        assert_non_null(copy);
        memcpy(copy, sbuf.data, cut);
        rl_msg_t msg;
        assert_int_not_equal(rl_wire_decode_reply(copy, cut, &msg, NULL), 0);
        rl_msg_close(&msg);
        assert_int_not_equal(rl_wire_logs_ok(copy, cut, &logs, &count, NULL),
                             0);
        assert_null(logs);
        free(copy);
    }
    msgpack_sbuffer_destroy(&sbuf);
}

static void
test_a_logs_ok_claiming_more_logs_than_bytes_allocates_nothing(void **state)
{
    (void)state;
    /* {"logs": array32 of 4 billion items} with nothing after it. */
    uint8_t hostile[] = {0x81, 0xa4, 'l',  'o',  'g', 's',
                         0xdd, 0xff, 0xff, 0xff, 0xff};
    raftlog_log_info_t *logs = NULL;
    size_t count = 0;
    char err[RL_CODEC_ERROR_SIZE] = "";
    assert_int_equal(
        rl_wire_logs_ok(hostile, sizeof(hostile), &logs, &count, err),
        RL_ERR_BAD_REQUEST);
    assert_null(logs);
    assert_non_null(strstr(err, "declares"));

    /* Over the client's bound with the bytes there: refused too. */
    size_t n = RAFTLOG_MAX_LOGS + 1;
    uint8_t *big = calloc(1, 11 + n);
    assert_non_null(big);
    memcpy(big, hostile, 7);
    big[7] = (uint8_t)(n >> 24);
    big[8] = (uint8_t)(n >> 16);
    big[9] = (uint8_t)(n >> 8);
    big[10] = (uint8_t)n;
    assert_int_equal(rl_wire_logs_ok(big, 11 + n, &logs, &count, err),
                     RL_ERR_BAD_REQUEST);
    assert_non_null(strstr(err, "over the limit"));
    free(big);
}

static void test_an_unknown_reply_type_keeps_the_codecs_error(void **state)
{
    (void)state;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    s_key_uint(&pk, "version", 1);
    s_key_uint(&pk, "type", 72);
    s_key_uint(&pk, "id", 5);
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE] = "";
    assert_int_equal(rl_wire_decode_reply(sbuf.data, sbuf.size, &msg, err),
                     RL_ERR_UNKNOWN_TYPE);
    assert_non_null(strstr(err, "72"));
    rl_msg_close(&msg);
    msgpack_sbuffer_destroy(&sbuf);
}

/* ---- STATUS_OK logs, NOT_LEADER log ---- */

static void test_status_logs_are_read_and_absent_ones_are_none(void **state)
{
    (void)state;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    s_key_uint(&pk, "type", 67);
    s_str(&pk, "logs");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 9);
    s_key_str(&pk, "name", "orders");
    s_key_uint(&pk, "group", 3);
    s_key_str(&pk, "role", "leader");
    s_key_uint(&pk, "leader", 2);
    s_key_uint(&pk, "term", 7);
    s_key_uint(&pk, "commit", 40);
    s_key_uint(&pk, "last", 42);
    s_key_uint(&pk, "first", 1);
    s_key_uint(&pk, "lag", 2);
    raftlog_log_status_t *logs = NULL;
    size_t count = 0;
    char err[RL_CODEC_ERROR_SIZE] = "";
    assert_int_equal(
        rl_wire_status_logs(sbuf.data, sbuf.size, &logs, &count, err), 0);
    assert_int_equal(count, 1);
    assert_string_equal(logs[0].name, "orders");
    assert_string_equal(logs[0].role, "leader");
    assert_int_equal(logs[0].group, 3);
    assert_int_equal(logs[0].leader, 2);
    assert_int_equal(logs[0].term, 7);
    assert_int_equal(logs[0].commit, 40);
    assert_int_equal(logs[0].last, 42);
    assert_int_equal(logs[0].lag, 2);
    free(logs);
    msgpack_sbuffer_destroy(&sbuf);

    uint8_t none[] = {0x81, 0xa4, 't', 'y', 'p', 'e', 67};
    assert_int_equal(
        rl_wire_status_logs(none, sizeof(none), &logs, &count, err), 0);
    assert_int_equal(count, 0);
    assert_null(logs);
}

static void test_a_not_leaders_log_is_read_when_there(void **state)
{
    (void)state;
    char log[RAFTLOG_MAX_LOG_NAME + 1] = "x";
    uint8_t without[] = {0x81, 0xa6, 'l', 'e', 'a', 'd', 'e', 'r', 2};
    assert_int_equal(rl_wire_reply_log(without, sizeof(without), log, NULL), 0);
    assert_string_equal(log, "");
    uint8_t with[] = {0x82, 0xa6, 'l', 'e', 'a',  'd', 'e', 'r', 2,
                      0xa3, 'l',  'o', 'g', 0xa3, 'a', 'b', 'c'};
    assert_int_equal(rl_wire_reply_log(with, sizeof(with), log, NULL), 0);
    assert_string_equal(log, "abc");
    with[13] = 0x05; /* not a string */
    char err[RL_CODEC_ERROR_SIZE] = "";
    assert_int_equal(rl_wire_reply_log(with, 14, log, err), RL_ERR_BAD_REQUEST);
    assert_non_null(strstr(err, "'log'"));
}

static void test_log_names_follow_the_rule(void **state)
{
    (void)state;
    assert_true(raftlog_log_name_valid("orders"));
    assert_true(raftlog_log_name_valid("default"));
    assert_true(raftlog_log_name_valid("a.b_c-9"));
    char longest[RAFTLOG_MAX_LOG_NAME + 2];
    memset(longest, 'x', sizeof(longest));
    longest[RAFTLOG_MAX_LOG_NAME] = '\0';
    assert_true(raftlog_log_name_valid(longest));
    longest[RAFTLOG_MAX_LOG_NAME] = 'x';
    longest[RAFTLOG_MAX_LOG_NAME + 1] = '\0';
    assert_false(raftlog_log_name_valid(longest));
    assert_false(raftlog_log_name_valid(""));
    assert_false(raftlog_log_name_valid(NULL));
    assert_false(raftlog_log_name_valid("Orders"));
    assert_false(raftlog_log_name_valid("or ders"));
    assert_false(raftlog_log_name_valid("a/b"));
    assert_false(raftlog_log_name_valid("."));
    assert_false(raftlog_log_name_valid(".."));
    assert_true(raftlog_log_name_valid("..."));
}

static void test_a_client_sends_its_log_only_when_one_is_set(void **state)
{
    (void)state;
    raftlog_t *client = raftlog_new();
    assert_non_null(client);
    assert_string_equal(raftlog_log_name(client), "default");
    assert_int_equal(raftlog_set_log(client, "Bad Name"), RAFTLOG_ERR_INVALID);
    assert_non_null(strstr(raftlog_error(client), "not a log name"));
    assert_string_equal(raftlog_log_name(client), "default");
    assert_int_equal(raftlog_set_log(client, "orders"), 0);
    assert_string_equal(raftlog_log_name(client), "orders");
    assert_int_equal(raftlog_set_log(client, "default"), 0);
    assert_string_equal(raftlog_log_name(client), "default");
    assert_int_equal(raftlog_set_log(client, NULL), 0);
    const raftlog_log_status_t *logs;
    size_t count;
    assert_int_equal(raftlog_status_logs(client, 0, &logs, &count),
                     RAFTLOG_ERR_INVALID);
    raftlog_destroy(&client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_a_request_with_a_log_decodes_as_before_and_names_it),
        cmocka_unit_test(test_a_log_added_to_fifteen_pairs_makes_a_map16),
        cmocka_unit_test(test_a_log_is_not_added_to_what_is_not_a_map),
        cmocka_unit_test(test_a_logs_request_carries_op_name_and_every_setting),
        cmocka_unit_test(test_a_logs_ok_is_read_whatever_the_codec_knows),
        cmocka_unit_test(
            test_a_logs_ok_with_a_bad_name_or_truncated_is_refused),
        cmocka_unit_test(
            test_a_logs_ok_claiming_more_logs_than_bytes_allocates_nothing),
        cmocka_unit_test(test_an_unknown_reply_type_keeps_the_codecs_error),
        cmocka_unit_test(test_status_logs_are_read_and_absent_ones_are_none),
        cmocka_unit_test(test_a_not_leaders_log_is_read_when_there),
        cmocka_unit_test(test_log_names_follow_the_rule),
        cmocka_unit_test(test_a_client_sends_its_log_only_when_one_is_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  test_client_logs.c - named logs in libraftlog on proto's codec: the
    `log` its requests carry (rl_client_encode), the LOGS_REQUEST it
    builds (rl_client_logs_request), and the logs of LOGS_OK and STATUS_OK
    and the `log` of NOT_LEADER as the codec reads them and the client
    copies them out (rl_client_logs_info, rl_client_logs_status), against
    stand-in replies built here with msgpack-c, hostile ones included. The
    codec's own rules for these are test_codec's. No sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "raftlog_internal.h"

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

/* Unpacks buf, which must hold exactly one msgpack value. */
static void s_unpack(const rl_buf_t *buf, msgpack_unpacked *unpacked)
{
    size_t offset = 0;
    assert_int_equal(msgpack_unpack_next(unpacked, (const char *)buf->data,
                                         buf->size, &offset),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(offset, buf->size);
}

static bool s_str_is(rl_str_t str, const char *text)
{
    return str.size == strlen(text) && memcmp(str.ptr, text, str.size) == 0;
}

/* A client whose log is `orders`, for a test's *state. */
static int s_client_setup(void **state)
{
    raftlog_t *client = raftlog_new();
    if (!client || raftlog_set_log(client, "orders") != 0)
        return -1;
    *state = client;
    return 0;
}

static int s_client_teardown(void **state)
{
    raftlog_t *client = *state;
    raftlog_destroy(&client);
    return 0;
}

/* ---- The `log` of requests ---- */

static void
test_a_request_with_a_log_decodes_as_before_and_names_it(void **state)
{
    raftlog_t *client = *state;
    rl_str_t entries[2] = {rl_str("one"), rl_str("two")};
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND_REQUEST);
    msg.body.append_request = (rl_append_request_t){
        .producer_id = 77, .seq = 3, .entries = entries, .entry_count = 2};
    rl_buf_t buf;
    rl_buf_init(&buf);
    uint64_t id = 0;
    assert_int_equal(rl_client_encode(client, &msg, &buf, &id), 0);
    assert_int_not_equal(id, 0);

    rl_msg_t decoded;
    assert_int_equal(rl_codec_decode(buf.data, buf.size, &decoded, NULL), 0);
    assert_int_equal(decoded.type, RL_MSG_APPEND_REQUEST);
    assert_int_equal(decoded.id, id);
    assert_true(s_str_is(decoded.log, "orders"));
    assert_int_equal(decoded.body.append_request.producer_id, 77);
    assert_int_equal(decoded.body.append_request.seq, 3);
    assert_int_equal(decoded.body.append_request.entry_count, 2);
    assert_memory_equal(decoded.body.append_request.entries[1].ptr, "two", 3);
    rl_msg_close(&decoded);

    /* One map filling the buffer, whose header counts every pair: version,
       type, id, log, producer, seq, entries. */
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    s_unpack(&buf, &unpacked);
    assert_int_equal(unpacked.data.via.map.size, 7);
    s_assert_str(s_get(&unpacked.data, "log"), "orders");
    msgpack_unpacked_destroy(&unpacked);
    rl_buf_close(&buf);
}

static void
test_membership_and_catalog_requests_and_default_carry_no_log(void **state)
{
    raftlog_t *client = *state;
    rl_buf_t buf;
    rl_buf_init(&buf);
    uint64_t id;
    static const uint8_t types[] = {RL_MSG_MEMBERS_REQUEST,
                                    RL_MSG_LOGS_REQUEST};
    for (size_t i = 0; i < sizeof(types); i++) {
        rl_msg_t msg;
        rl_msg_init(&msg, types[i]);
        assert_int_equal(rl_client_encode(client, &msg, &buf, &id), 0);
        rl_msg_t decoded;
        assert_int_equal(rl_codec_decode(buf.data, buf.size, &decoded, NULL),
                         0);
        assert_int_equal(decoded.type, types[i]);
        assert_int_equal(decoded.log.size, 0);
        rl_msg_close(&decoded);
    }
    /* The default log is no `log` at all, as before named logs. */
    assert_int_equal(raftlog_set_log(client, "default"), 0);
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_STATUS_REQUEST);
    assert_int_equal(rl_client_encode(client, &msg, &buf, &id), 0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    s_unpack(&buf, &unpacked);
    assert_null(s_get(&unpacked.data, "log"));
    msgpack_unpacked_destroy(&unpacked);
    rl_buf_close(&buf);
}

/* ---- LOGS_REQUEST ---- */

static void test_a_logs_request_carries_op_name_and_every_setting(void **state)
{
    /* The client's own log (`orders`) does not go with a catalog
       request. */
    raftlog_t *client = *state;
    rl_buf_t buf;
    rl_buf_init(&buf);
    uint64_t id;
    raftlog_log_settings_t settings = {5000000000ull, 3600000, 1024};
    rl_msg_t msg;
    rl_client_logs_request(&msg, RL_LOGS_CREATE, "orders", &settings);
    assert_int_equal(rl_client_encode(client, &msg, &buf, &id), 0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    s_unpack(&buf, &unpacked);
    const msgpack_object *m = &unpacked.data;
    assert_int_equal(m->via.map.size, 8);
    s_assert_uint(s_get(m, "version"), 1);
    s_assert_uint(s_get(m, "type"), 40);
    s_assert_uint(s_get(m, "id"), id);
    s_assert_str(s_get(m, "op"), "create");
    s_assert_str(s_get(m, "name"), "orders");
    s_assert_uint(s_get(m, "retention_bytes"), 5000000000ull);
    s_assert_uint(s_get(m, "retention_ms"), 3600000);
    s_assert_uint(s_get(m, "max_entry_bytes"), 1024);
    assert_null(s_get(m, "log"));

    /* A list names nothing and sets nothing, whatever it is handed. */
    rl_client_logs_request(&msg, RL_LOGS_LIST, NULL, &settings);
    assert_int_equal(rl_client_encode(client, &msg, &buf, &id), 0);
    s_unpack(&buf, &unpacked);
    m = &unpacked.data;
    assert_int_equal(m->via.map.size, 4);
    s_assert_str(s_get(m, "op"), "list");
    assert_null(s_get(m, "name"));
    assert_null(s_get(m, "retention_bytes"));

    /* Configure without settings sets the defaults: 0 in each, which the
       protocol writes as no key (docs/PROTOCOL.md: "0 or absent"). */
    rl_client_logs_request(&msg, RL_LOGS_CONFIGURE, "orders", NULL);
    assert_int_equal(rl_client_encode(client, &msg, &buf, &id), 0);
    s_unpack(&buf, &unpacked);
    s_assert_str(s_get(&unpacked.data, "op"), "configure");
    s_assert_str(s_get(&unpacked.data, "name"), "orders");
    msgpack_unpacked_destroy(&unpacked);
    rl_msg_t decoded;
    assert_int_equal(rl_codec_decode(buf.data, buf.size, &decoded, NULL), 0);
    assert_int_equal(decoded.body.logs_request.op, RL_LOGS_CONFIGURE);
    assert_int_equal(decoded.body.logs_request.retention_bytes, 0);
    assert_int_equal(decoded.body.logs_request.retention_ms, 0);
    assert_int_equal(decoded.body.logs_request.max_entry_bytes, 0);
    rl_msg_close(&decoded);
    rl_buf_close(&buf);
}

/* ---- LOGS_OK ---- */

/* A LOGS_OK with id 5 and count logs named names[0], names[1], ..., with
   one unknown key per log and one at the top (a later version's). */
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

static void test_a_logs_ok_is_read_and_copied_out_whole(void **state)
{
    (void)state;
    const char *names[] = {"default", "orders", "a.b_c-9"};
    msgpack_sbuffer sbuf;
    s_logs_ok(&sbuf, names, 3);

    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE] = "";
    assert_int_equal(rl_codec_decode(sbuf.data, sbuf.size, &msg, err), 0);
    assert_int_equal(msg.type, RL_MSG_LOGS_OK);
    assert_int_equal(msg.id, 5);

    raftlog_log_info_t *logs = NULL;
    const rl_logs_ok_t *ok = &msg.body.logs_ok;
    assert_int_equal(ok->log_count, 3);
    assert_int_equal(rl_client_logs_info(ok->logs, ok->log_count, &logs), 0);
    rl_msg_close(&msg); /* the copies are the client's own */
    msgpack_sbuffer_destroy(&sbuf);
    assert_string_equal(logs[0].name, "default");
    assert_int_equal(logs[0].group, 0);
    assert_string_equal(logs[1].name, "orders");
    assert_int_equal(logs[1].group, 1);
    assert_int_equal(logs[1].settings.retention_bytes, 1000);
    assert_int_equal(logs[2].settings.retention_bytes, 2000);
    assert_int_equal(logs[2].settings.retention_ms, 60000);
    assert_int_equal(logs[2].settings.max_entry_bytes, 4096);
    assert_string_equal(logs[2].name, "a.b_c-9");
    free(logs);

    /* None: nothing allocated. */
    logs = (raftlog_log_info_t *)1;
    assert_int_equal(rl_client_logs_info(NULL, 0, &logs), 0);
    assert_null(logs);
}

static void test_a_logs_ok_with_a_bad_name_or_truncated_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"Orders"};
    msgpack_sbuffer sbuf;
    s_logs_ok(&sbuf, bad, 1);
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE] = "";
    assert_int_equal(rl_codec_decode(sbuf.data, sbuf.size, &msg, err),
                     RL_ERR_BAD_REQUEST);
    assert_non_null(strstr(err, "'name' is not a log name"));
    assert_int_equal(msg.body.logs_ok.log_count, 0);
    rl_msg_close(&msg);
    msgpack_sbuffer_destroy(&sbuf);

    /* Every truncation of a good one is refused, and never read past its
       end (ASan watches the copies). */
    const char *good[] = {"default", "orders"};
    s_logs_ok(&sbuf, good, 2);
    for (size_t cut = 0; cut < sbuf.size; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        assert_non_null(copy);
        memcpy(copy, sbuf.data, cut);
        assert_int_not_equal(rl_codec_decode(copy, cut, &msg, NULL), 0);
        assert_int_equal(msg.body.logs_ok.log_count, 0);
        rl_msg_close(&msg);
        free(copy);
    }
    msgpack_sbuffer_destroy(&sbuf);
}

static void
test_a_logs_ok_claiming_more_logs_than_allowed_is_refused(void **state)
{
    (void)state;
    /* {version:1, type:71, logs: array32 of 4 billion items}, and nothing
       after it. */
    uint8_t hostile[] = {0x83, 0xa7, 'v', 'e',  'r',  's',  'i',  'o',  'n',
                         0x01, 0xa4, 't', 'y',  'p',  'e',  71,   0xa4, 'l',
                         'o',  'g',  's', 0xdd, 0xff, 0xff, 0xff, 0xff};
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE] = "";
    assert_int_equal(rl_codec_decode(hostile, sizeof(hostile), &msg, err),
                     RL_ERR_BAD_REQUEST);
    assert_non_null(strstr(err, "declares"));
    rl_msg_close(&msg);

    /* Over the client's bound, RAFTLOG_MAX_LOGS, with the bytes there
       (each a 0): refused too. */
    size_t n = RAFTLOG_MAX_LOGS + 1;
    size_t head = sizeof(hostile) - 4;
    uint8_t *big = calloc(1, head + 4 + n);
    assert_non_null(big);
    memcpy(big, hostile, head);
    big[head] = (uint8_t)(n >> 24);
    big[head + 1] = (uint8_t)(n >> 16);
    big[head + 2] = (uint8_t)(n >> 8);
    big[head + 3] = (uint8_t)n;
    assert_int_equal(rl_codec_decode(big, head + 4 + n, &msg, err),
                     RL_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "over the limit"));
    rl_msg_close(&msg);
    free(big);
}

/* ---- STATUS_OK logs, NOT_LEADER log ---- */

/* A STATUS_OK of node 1, with count logs (0: no `logs`, as a node of
   before named logs sends). */
static void s_status_ok(msgpack_sbuffer *sbuf, size_t count)
{
    msgpack_sbuffer_init(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, count ? 11 : 10);
    s_key_uint(&pk, "version", 1);
    s_key_uint(&pk, "type", 67);
    s_key_uint(&pk, "node", 1);
    s_key_str(&pk, "role", "leader");
    s_key_uint(&pk, "term", 7);
    s_key_uint(&pk, "leader", 1);
    s_key_uint(&pk, "commit", 40);
    s_key_uint(&pk, "last", 42);
    s_key_uint(&pk, "first", 1);
    s_str(&pk, "members");
    msgpack_pack_array(&pk, 0);
    if (!count)
        return;
    s_str(&pk, "logs");
    msgpack_pack_array(&pk, count);
    for (size_t i = 0; i < count; i++) {
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
    }
}

static void test_status_logs_are_read_and_absent_ones_are_none(void **state)
{
    raftlog_t *client = *state;
    msgpack_sbuffer sbuf;
    s_status_ok(&sbuf, 1);
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE] = "";
    assert_int_equal(rl_codec_decode(sbuf.data, sbuf.size, &msg, err), 0);
    assert_int_equal(rl_client_status_logs_take(client, 0, &msg.body.status_ok),
                     0);
    rl_msg_close(&msg);
    msgpack_sbuffer_destroy(&sbuf);
    const raftlog_log_status_t *logs = client->status_logs[0];
    assert_int_equal(client->status_log_counts[0], 1);
    assert_string_equal(logs[0].name, "orders");
    assert_string_equal(logs[0].role, "leader");
    assert_int_equal(logs[0].group, 3);
    assert_int_equal(logs[0].leader, 2);
    assert_int_equal(logs[0].term, 7);
    assert_int_equal(logs[0].commit, 40);
    assert_int_equal(logs[0].last, 42);
    assert_int_equal(logs[0].first, 1);
    assert_int_equal(logs[0].lag, 2);

    /* A node of before named logs sends no `logs`: none, and what an
       earlier STATUS kept for that member is gone. */
    s_status_ok(&sbuf, 0);
    assert_int_equal(rl_codec_decode(sbuf.data, sbuf.size, &msg, err), 0);
    assert_int_equal(msg.body.status_ok.log_count, 0);
    assert_int_equal(rl_client_status_logs_take(client, 0, &msg.body.status_ok),
                     0);
    assert_int_equal(client->status_log_counts[0], 0);
    assert_null(client->status_logs[0]);
    rl_msg_close(&msg);
    msgpack_sbuffer_destroy(&sbuf);
}

static void test_a_not_leaders_log_is_read_when_there(void **state)
{
    (void)state;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    s_key_uint(&pk, "version", 1);
    s_key_uint(&pk, "type", 96);
    s_key_uint(&pk, "id", 1);
    s_key_uint(&pk, "leader", 2);
    rl_msg_t msg;
    assert_int_equal(rl_codec_decode(sbuf.data, sbuf.size, &msg, NULL), 0);
    assert_int_equal(msg.log.size, 0); /* none: `default` */
    rl_msg_close(&msg);
    msgpack_sbuffer_destroy(&sbuf);

    for (int bad = 0; bad < 2; bad++) {
        msgpack_sbuffer_init(&sbuf);
        msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 5);
        s_key_uint(&pk, "version", 1);
        s_key_uint(&pk, "type", 96);
        s_key_uint(&pk, "id", 1);
        s_key_uint(&pk, "leader", 2);
        if (bad)
            s_key_uint(&pk, "log", 5); /* not a string */
        else
            s_key_str(&pk, "log", "abc");
        char err[RL_CODEC_ERROR_SIZE] = "";
        int rc = rl_codec_decode(sbuf.data, sbuf.size, &msg, err);
        if (bad) {
            assert_int_equal(rc, RL_ERR_BAD_REQUEST);
            assert_non_null(strstr(err, "'log'"));
        } else {
            assert_int_equal(rc, 0);
            assert_true(s_str_is(msg.log, "abc"));
        }
        rl_msg_close(&msg);
        msgpack_sbuffer_destroy(&sbuf);
    }
}

/* ---- Names ---- */

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
        cmocka_unit_test_setup_teardown(
            test_a_request_with_a_log_decodes_as_before_and_names_it,
            s_client_setup, s_client_teardown),
        cmocka_unit_test_setup_teardown(
            test_membership_and_catalog_requests_and_default_carry_no_log,
            s_client_setup, s_client_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_logs_request_carries_op_name_and_every_setting,
            s_client_setup, s_client_teardown),
        cmocka_unit_test(test_a_logs_ok_is_read_and_copied_out_whole),
        cmocka_unit_test(
            test_a_logs_ok_with_a_bad_name_or_truncated_is_refused),
        cmocka_unit_test(
            test_a_logs_ok_claiming_more_logs_than_allowed_is_refused),
        cmocka_unit_test_setup_teardown(
            test_status_logs_are_read_and_absent_ones_are_none, s_client_setup,
            s_client_teardown),
        cmocka_unit_test(test_a_not_leaders_log_is_read_when_there),
        cmocka_unit_test(test_log_names_follow_the_rule),
        cmocka_unit_test(test_a_client_sends_its_log_only_when_one_is_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  test_peek.c - a proxy's in-place reading of requests and replies
    (proto/rl_peek): it reads what the decoder reads, refuses what the
    decoder refuses among what it reads, and a request or reply written
    again decodes to the same message with the new header values.

    Every sample message (tests/common/samples.c) is peeked and rewritten
    and checked against rl_codec_decode; malformed cases are packed with
    msgpack-c by hand.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_codec.h"
#include "rl_peek.h"
#include "samples.h"

static const char *const s_key =
    "rq:rj2=?3:3JAt]^KXh(Hb6^SvSA.c&BmE5[&!Kv"; /* 40 characters */

/* Encodes msg into a fresh buffer (freed by the caller). */
static uint8_t *s_encode(const rl_msg_t *msg, size_t *size)
{
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(msg, &buf, NULL), 0);
    *size = buf.size;
    return buf.data;
}

static bool s_str_is(rl_str_t s, rl_str_t t)
{
    return s.size == t.size &&
           (s.size == 0 || memcmp(s.ptr, t.ptr, s.size) == 0);
}

/* ---- Requests ---- */

static void every_sample_request_is_peeked_as_the_decoder_reads_it(void **state)
{
    (void)state;
    const rl_msg_t *samples;
    size_t count = rl_samples(&samples), requests = 0, consumer_reads = 0;
    unsigned consumers_ops = 0; /* bit op: a CONSUMERS_REQUEST of op seen */
    for (size_t i = 0; i < count; i++) {
        const rl_msg_t *m = &samples[i];
        if (!rl_msg_is_request(m->type))
            continue;
        requests++;
        size_t size;
        uint8_t *data = s_encode(m, &size);
        rl_peek_request_t peek;
        char err[RL_CODEC_ERROR_SIZE];
        assert_int_equal(rl_peek_request(data, size, &peek, err), 0);
        assert_int_equal(peek.type, m->type);
        assert_true(peek.id == m->id);
        assert_true(s_str_is(peek.as_key, m->as_key));
        assert_true(s_str_is(peek.as_role, m->as_role));
        assert_true(s_str_is(peek.log, m->log));
        if (m->type == RL_MSG_APPEND_REQUEST) {
            assert_true(peek.producer == m->body.append_request.producer_id);
            assert_true(peek.seq == m->body.append_request.seq);
        } else if (m->type == RL_MSG_READ_REQUEST) {
            assert_int_equal(peek.wait_ms, m->body.read_request.wait_ms);
            /* A consumer's READ goes to the leader: the peek tells it. */
            assert_true(s_str_is(peek.consumer, m->body.read_request.consumer));
            consumer_reads += peek.consumer.size > 0;
        } else if (m->type == RL_MSG_MEMBERS_REQUEST) {
            assert_int_equal(peek.op, m->body.members_request.op);
        } else if (m->type == RL_MSG_CONSUMERS_REQUEST) {
            /* delete is not idempotent, and the role check needs it. */
            assert_int_equal(peek.op, m->body.consumers_request.op);
            consumers_ops |= 1u << peek.op;
        }
        if (m->type != RL_MSG_READ_REQUEST)
            assert_int_equal(peek.consumer.size, 0);
        free(data);
    }
    assert_true(requests >= 5);
    assert_true(consumer_reads >= 1);
    assert_int_equal(consumers_ops, 0xf); /* list, show, reset, delete */
}

/* Forwards the encoding of m with how into a buffer of exactly the size
   announced (so that ASan sees a write past it) and decodes it. */
static void s_check_forward(const rl_msg_t *m, const rl_peek_forward_t *how)
{
    size_t size;
    uint8_t *data = s_encode(m, &size);
    rl_peek_request_t peek;
    assert_int_equal(rl_peek_request(data, size, &peek, NULL), 0);
    size_t out_size = rl_peek_forward_size(&peek, size, how);
    uint8_t *out = malloc(out_size);
    assert_int_equal(rl_peek_forward(data, size, &peek, how, out), out_size);
    rl_msg_t got, want = *m;
    char err[RL_CODEC_ERROR_SIZE];
    int rc = rl_codec_decode(out, out_size, &got, err);
    if (rc)
        fail_msg("%s: %s", rl_msg_type_name(m->type), err);
    want.id = how->id;
    want.as_key = how->as_key;
    want.as_role = how->as_role;
    if (how->set_wait && m->type == RL_MSG_READ_REQUEST)
        want.body.read_request.wait_ms = how->wait_ms;
    assert_true(rl_msg_equal(&got, &want));
    /* And it peeks again to the same values. */
    rl_peek_request_t again;
    assert_int_equal(rl_peek_request(out, out_size, &again, NULL), 0);
    assert_true(again.id == how->id);
    rl_msg_close(&got);
    free(out);
    free(data);
}

static void
a_forwarded_request_decodes_to_itself_with_the_new_values(void **state)
{
    (void)state;
    const rl_msg_t *samples;
    size_t count = rl_samples(&samples);
    const rl_peek_forward_t hows[] = {
        {1, false, 0, {NULL, 0}, {NULL, 0}},
        {UINT64_MAX, false, 0, {s_key, 40}, {"producer", 8}},
        {300, true, 0, {NULL, 0}, {NULL, 0}},
        {127, true, 4999, {s_key, 40}, {"admin", 5}},
        {128, true, UINT32_MAX, {NULL, 0}, {NULL, 0}},
    };
    for (size_t i = 0; i < count; i++) {
        if (!rl_msg_is_request(samples[i].type))
            continue;
        for (size_t h = 0; h < sizeof(hows) / sizeof(hows[0]); h++) {
            rl_peek_forward_t how = hows[h];
            how.set_wait &= samples[i].type == RL_MSG_READ_REQUEST;
            s_check_forward(&samples[i], &how);
        }
    }
}

/* Packs a map of n pairs: "version" 1, "type" type, then n - 2 pairs
   "kK": K (unknown keys). */
static void s_pack_padded(msgpack_sbuffer *sbuf, uint8_t type, uint32_t n)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sbuf);
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    msgpack_pack_str_with_body(&pk, "version", 7);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_uint8(&pk, type);
    for (uint32_t k = 2; k < n; k++) {
        char key[16];
        int length = snprintf(key, sizeof(key), "k%u", k);
        msgpack_pack_str_with_body(&pk, key, (size_t)length);
        msgpack_pack_uint32(&pk, k);
    }
}

static void
a_request_without_an_id_gets_one_and_keeps_its_other_pairs(void **state)
{
    (void)state;
    /* 14 pairs + id + as_key + as_role: the header grows from fixmap to
       map16; 70000 pairs stay a map32. Unknown keys travel unchanged. */
    const uint32_t sizes[] = {2, 14, 15, 70000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        msgpack_sbuffer sbuf;
        s_pack_padded(&sbuf, RL_MSG_STATUS_REQUEST, sizes[s]);
        rl_peek_request_t peek;
        assert_int_equal(rl_peek_request(sbuf.data, sbuf.size, &peek, NULL), 0);
        assert_true(peek.id == 0 && peek.id_at.end == 0);
        rl_peek_forward_t how = {77, false, 0, {s_key, 40}, {"consumer", 8}};
        size_t out_size = rl_peek_forward_size(&peek, sbuf.size, &how);
        uint8_t *out = malloc(out_size);
        assert_int_equal(
            rl_peek_forward(sbuf.data, sbuf.size, &peek, &how, out), out_size);
        rl_msg_t got;
        assert_int_equal(rl_codec_decode(out, out_size, &got, NULL), 0);
        assert_true(got.id == 77 && got.type == RL_MSG_STATUS_REQUEST);
        assert_true(s_str_is(got.as_key, rl_str(s_key)));
        rl_msg_close(&got);
        rl_peek_request_t again;
        assert_int_equal(rl_peek_request(out, out_size, &again, NULL), 0);
        assert_int_equal(again.pairs, sizes[s] + 3);
        /* Every pair but the header's came through byte for byte. */
        assert_true(out_size >= sbuf.size - peek.body);
        assert_memory_equal(out + again.body, sbuf.data + peek.body,
                            sbuf.size - peek.body);
        free(out);
        msgpack_sbuffer_destroy(&sbuf);
    }
}

static void
a_broker_in_front_has_its_identity_replaced_not_doubled(void **state)
{
    (void)state;
    rl_msg_t m;
    rl_msg_init(&m, RL_MSG_STATUS_REQUEST);
    m.id = 9;
    m.as_key = rl_str(s_key);
    m.as_role = rl_str("admin");
    rl_peek_forward_t how = {10,
                             false,
                             0,
                             {"0123456789012345678901234567890123456789", 40},
                             {"consumer", 8}};
    s_check_forward(&m, &how); /* decodes: no key twice */
    rl_peek_forward_t none = {11, false, 0, {NULL, 0}, {NULL, 0}};
    s_check_forward(&m, &none); /* dropped without a replacement */
}

/* ---- Malformed requests ---- */

typedef struct {
    const char *what; /* the case */
    int code;         /* the peek's error */
    bool decoder_too; /* rl_codec_decode refuses it too, with code */
} s_bad_t;

/* Packs case k of the table below. */
static void s_pack_bad(int k, msgpack_sbuffer *sbuf)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sbuf);
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
#define STR(s) msgpack_pack_str_with_body(&pk, s, strlen(s))
#define HEAD(n, type)                                                          \
    do {                                                                       \
        msgpack_pack_map(&pk, n);                                              \
        STR("version");                                                        \
        msgpack_pack_uint8(&pk, 1);                                            \
        STR("type");                                                           \
        msgpack_pack_uint8(&pk, type);                                         \
        STR("id");                                                             \
        msgpack_pack_uint8(&pk, 42);                                           \
    } while (0)
    switch (k) {
    case 0: /* trailing bytes */
        HEAD(3, RL_MSG_STATUS_REQUEST);
        msgpack_pack_nil(&pk);
        break;
    case 1: /* a version of later */
        msgpack_pack_map(&pk, 2);
        STR("version");
        msgpack_pack_uint8(&pk, 2);
        STR("type");
        msgpack_pack_uint8(&pk, 99);
        break;
    case 2: /* an unknown type */
        HEAD(3, 99);
        break;
    case 3: /* type twice */
        HEAD(4, RL_MSG_STATUS_REQUEST);
        STR("type");
        msgpack_pack_uint8(&pk, RL_MSG_STATUS_REQUEST);
        break;
    case 4: /* as_key alone */
        HEAD(4, RL_MSG_STATUS_REQUEST);
        STR("as_key");
        STR(s_key);
        break;
    case 5: /* as_key of the wrong length */
        HEAD(5, RL_MSG_STATUS_REQUEST);
        STR("as_key");
        STR("short");
        STR("as_role");
        STR("admin");
        break;
    case 6: /* a log name too long */
        HEAD(4, RL_MSG_STATUS_REQUEST);
        STR("log");
        STR("0123456789012345678901234567890123456789012345678901234567890123"
            "4");
        break;
    case 7: /* a log that is no string */
        HEAD(4, RL_MSG_STATUS_REQUEST);
        STR("log");
        msgpack_pack_uint8(&pk, 5);
        break;
    case 8: /* a producer that is no integer */
        HEAD(5, RL_MSG_APPEND_REQUEST);
        STR("producer");
        STR("me");
        STR("entries");
        msgpack_pack_array(&pk, 0);
        break;
    case 9: /* wait_ms over 32 bits */
        HEAD(5, RL_MSG_READ_REQUEST);
        STR("from");
        msgpack_pack_uint8(&pk, 1);
        STR("wait_ms");
        msgpack_pack_uint64(&pk, 1ull << 32);
        break;
    case 10: /* an op of no name */
        HEAD(4, RL_MSG_MEMBERS_REQUEST);
        STR("op");
        STR("frob");
        break;
    case 11: /* no op */
        HEAD(3, RL_MSG_MEMBERS_REQUEST);
        break;
    case 12: /* seq twice */
        HEAD(6, RL_MSG_APPEND_REQUEST);
        STR("seq");
        msgpack_pack_uint8(&pk, 1);
        STR("seq");
        msgpack_pack_uint8(&pk, 2);
        STR("entries");
        msgpack_pack_array(&pk, 0);
        break;
    case 13: /* a key that is no string */
        HEAD(4, RL_MSG_STATUS_REQUEST);
        msgpack_pack_uint8(&pk, 1);
        msgpack_pack_uint8(&pk, 2);
        break;
    case 14: /* not a map */
        msgpack_pack_array(&pk, 1);
        msgpack_pack_uint8(&pk, 1);
        break;
    case 15: /* no version */
        msgpack_pack_map(&pk, 1);
        STR("type");
        msgpack_pack_uint8(&pk, RL_MSG_STATUS_REQUEST);
        break;
    case 16: /* a peer message at a client door */
        HEAD(3, RL_MSG_APPEND);
        break;
    case 17: /* a reply */
        HEAD(5, RL_MSG_ERROR);
        STR("code");
        msgpack_pack_uint8(&pk, 1);
        STR("message");
        STR("no");
        break;
    case 18: /* a consumer name too long */
        HEAD(4, RL_MSG_READ_REQUEST);
        STR("consumer");
        STR("0123456789012345678901234567890123456789012345678901234567890123"
            "4");
        break;
    case 19: /* a consumer that is no string */
        HEAD(4, RL_MSG_READ_REQUEST);
        STR("consumer");
        msgpack_pack_uint8(&pk, 7);
        break;
    case 20: /* consumer twice */
        HEAD(5, RL_MSG_READ_REQUEST);
        STR("consumer");
        STR("audit");
        STR("consumer");
        STR("audit");
        break;
    case 21: /* a consumers op of no name (a members op) */
        HEAD(4, RL_MSG_CONSUMERS_REQUEST);
        STR("op");
        STR("add");
        break;
    case 22: /* no consumers op */
        HEAD(4, RL_MSG_CONSUMERS_REQUEST);
        STR("consumer");
        STR("audit");
        break;
    case 23: /* a consumers op that is no string */
        HEAD(4, RL_MSG_CONSUMERS_REQUEST);
        STR("op");
        msgpack_pack_uint8(&pk, 3);
        break;
    }
#undef HEAD
#undef STR
}

static void
each_malformed_request_is_refused_as_the_decoder_refuses_it(void **state)
{
    (void)state;
    const s_bad_t cases[] = {
        {"trailing bytes", RL_ERR_BAD_REQUEST, true},
        {"version 2", RL_ERR_UNSUPPORTED_VERSION, true},
        {"unknown type", RL_ERR_UNKNOWN_TYPE, true},
        {"type twice", RL_ERR_BAD_REQUEST, true},
        {"as_key alone", RL_ERR_BAD_REQUEST, true},
        {"as_key short", RL_ERR_BAD_REQUEST, true},
        /* The decoder of today has no `log` field (named logs come), so
           it skips one: the peek, which routes by it, does not. */
        {"log too long", RL_ERR_TOO_LARGE, false},
        {"log not a string", RL_ERR_BAD_REQUEST, false},
        {"producer not a uint", RL_ERR_BAD_REQUEST, true},
        {"wait_ms over 32 bits", RL_ERR_BAD_REQUEST, true},
        {"op unknown", RL_ERR_BAD_REQUEST, true},
        {"op missing", RL_ERR_BAD_REQUEST, true},
        {"seq twice", RL_ERR_BAD_REQUEST, true},
        {"key not a string", RL_ERR_BAD_REQUEST, true},
        {"not a map", RL_ERR_BAD_REQUEST, true},
        {"no version", RL_ERR_BAD_REQUEST, true},
        {"a peer message", RL_ERR_BAD_REQUEST, true},
        /* The decoder reads replies too; the request's peek does not. */
        {"a reply", RL_ERR_BAD_REQUEST, false},
        {"consumer too long", RL_ERR_TOO_LARGE, true},
        {"consumer not a string", RL_ERR_BAD_REQUEST, true},
        {"consumer twice", RL_ERR_BAD_REQUEST, true},
        {"consumers op unknown", RL_ERR_BAD_REQUEST, true},
        {"consumers op missing", RL_ERR_BAD_REQUEST, true},
        {"consumers op not a string", RL_ERR_BAD_REQUEST, true},
    };
    for (int k = 0; k < (int)(sizeof(cases) / sizeof(cases[0])); k++) {
        msgpack_sbuffer sbuf;
        s_pack_bad(k, &sbuf);
        rl_peek_request_t peek;
        char err[RL_CODEC_ERROR_SIZE];
        int rc = rl_peek_request(sbuf.data, sbuf.size, &peek, err);
        if (rc != cases[k].code)
            fail_msg("%s: got %d (%s), want %d", cases[k].what, rc, err,
                     cases[k].code);
        assert_true(strlen(err) > 10);
        /* The id is kept for the error reply, when there is one. */
        if (k != 1 && k != 14 && k != 15)
            assert_true(peek.id == 42);
        rl_msg_t msg;
        char derr[RL_CODEC_ERROR_SIZE];
        int drc = rl_codec_decode(sbuf.data, sbuf.size, &msg, derr);
        rl_msg_close(&msg);
        if (cases[k].decoder_too && drc != rc)
            fail_msg("%s: the decoder says %d (%s), the peek %d (%s)",
                     cases[k].what, drc, derr, rc, err);
        msgpack_sbuffer_destroy(&sbuf);
    }
    rl_peek_request_t peek;
    assert_int_equal(rl_peek_request("", 0, &peek, NULL), RL_ERR_BAD_REQUEST);
    assert_int_equal(rl_peek_request("\xc1", 1, &peek, NULL),
                     RL_ERR_BAD_REQUEST);
}

static void a_request_cut_short_after_its_id_keeps_the_id(void **state)
{
    (void)state;
    rl_msg_t m;
    rl_msg_init(&m, RL_MSG_READ_REQUEST);
    m.id = 12345;
    m.body.read_request.from = 1;
    m.body.read_request.wait_ms = 100;
    size_t size;
    uint8_t *data = s_encode(&m, &size);
    rl_peek_request_t peek;
    for (size_t cut = 1; cut < size; cut++) {
        int rc = rl_peek_request(data, cut, &peek, NULL);
        assert_int_equal(rc, RL_ERR_BAD_REQUEST);
        rl_msg_t msg;
        rl_codec_decode(data, cut, &msg, NULL);
        assert_true(peek.id == msg.id); /* as the decoder rescues it */
        rl_msg_close(&msg);
    }
    free(data);
}

static void a_log_name_is_read_from_any_request(void **state)
{
    (void)state;
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "log", 3);
    msgpack_pack_str_with_body(&pk, "orders", 6);
    msgpack_pack_str_with_body(&pk, "version", 7);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_uint8(&pk, RL_MSG_READ_REQUEST);
    msgpack_pack_str_with_body(&pk, "from", 4);
    msgpack_pack_uint8(&pk, 1);
    rl_peek_request_t peek;
    assert_int_equal(rl_peek_request(sbuf.data, sbuf.size, &peek, NULL), 0);
    assert_true(s_str_is(peek.log, rl_str("orders")));
    assert_int_equal(peek.wait_ms, 0);
    /* A forward keeps it (the node routes by it too). */
    rl_peek_forward_t how = {5, true, 30, {NULL, 0}, {NULL, 0}};
    size_t out_size = rl_peek_forward_size(&peek, sbuf.size, &how);
    uint8_t *out = malloc(out_size);
    rl_peek_forward(sbuf.data, sbuf.size, &peek, &how, out);
    rl_peek_request_t again;
    assert_int_equal(rl_peek_request(out, out_size, &again, NULL), 0);
    assert_true(s_str_is(again.log, rl_str("orders")));
    assert_int_equal(again.wait_ms, 30);
    free(out);
    msgpack_sbuffer_destroy(&sbuf);
}

/* ---- Replies ---- */

static void
every_sample_reply_is_peeked_and_written_with_the_client_id(void **state)
{
    (void)state;
    const rl_msg_t *samples;
    size_t count = rl_samples(&samples), replies = 0;
    const uint64_t ids[] = {0, 1, 128, UINT64_MAX};
    for (size_t i = 0; i < count; i++) {
        const rl_msg_t *m = &samples[i];
        if (m->type < RL_MSG_APPEND_OK)
            continue;
        replies++;
        size_t size;
        uint8_t *data = s_encode(m, &size);
        rl_peek_reply_t peek;
        assert_int_equal(rl_peek_reply(data, size, &peek, NULL), 0);
        assert_int_equal(peek.type, m->type);
        assert_true(peek.id == m->id);
        if (m->type == RL_MSG_ERROR)
            assert_int_equal(peek.code, m->body.error.code);
        if (m->type == RL_MSG_NOT_LEADER) {
            assert_true(peek.leader == m->body.not_leader.leader);
            assert_true(
                s_str_is(peek.endpoint, m->body.not_leader.leader_addr));
        }
        for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
            size_t out_size = rl_peek_reply_size(&peek, size, ids[k]);
            uint8_t *out = malloc(out_size ? out_size : 1);
            assert_int_equal(
                rl_peek_reply_write(data, size, &peek, ids[k], out), out_size);
            rl_msg_t got, want = *m;
            want.id = ids[k];
            assert_int_equal(rl_codec_decode(out, out_size, &got, NULL), 0);
            assert_true(rl_msg_equal(&got, &want));
            rl_msg_close(&got);
            free(out);
        }
        free(data);
    }
    assert_true(replies >= 7);
}

static void a_not_leader_names_its_log_and_a_request_is_no_reply(void **state)
{
    (void)state;
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    msgpack_pack_str_with_body(&pk, "version", 7);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_uint8(&pk, RL_MSG_NOT_LEADER);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_uint64(&pk, 1000);
    msgpack_pack_str_with_body(&pk, "leader", 6);
    msgpack_pack_uint8(&pk, 3);
    msgpack_pack_str_with_body(&pk, "log", 3);
    msgpack_pack_str_with_body(&pk, "orders", 6);
    rl_peek_reply_t peek;
    assert_int_equal(rl_peek_reply(sbuf.data, sbuf.size, &peek, NULL), 0);
    assert_true(peek.leader == 3 && peek.id == 1000);
    assert_true(s_str_is(peek.log, rl_str("orders")));
    msgpack_sbuffer_destroy(&sbuf);
    /* A NOT_LEADER without its leader, or a request, is no reply. */
    rl_msg_t m;
    rl_msg_init(&m, RL_MSG_STATUS_REQUEST);
    size_t size;
    uint8_t *data = s_encode(&m, &size);
    char err[RL_CODEC_ERROR_SIZE];
    assert_int_equal(rl_peek_reply(data, size, &peek, err), RL_ERR_BAD_REQUEST);
    free(data);
    msgpack_sbuffer_init(&sbuf);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "version", 7);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_uint8(&pk, RL_MSG_NOT_LEADER);
    assert_int_equal(rl_peek_reply(sbuf.data, sbuf.size, &peek, err),
                     RL_ERR_BAD_REQUEST);
    assert_non_null(strstr(err, "leader"));
    msgpack_sbuffer_destroy(&sbuf);
}

/* ---- STATUS_OK's logs ---- */

typedef struct {
    rl_peek_log_t logs[4]; /* those told */
    size_t count;          /* their number */
} s_told_t;

static void s_tell(void *arg, const rl_peek_log_t *log)
{
    s_told_t *told = arg;
    if (told->count < 4)
        told->logs[told->count] = *log;
    told->count++;
}

/* A STATUS_OK of version, type and logs; bad k spoils it one way. */
static void s_pack_status(msgpack_sbuffer *sbuf, int bad)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sbuf);
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "version", 7);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "logs", 4);
    if (bad == 1) {
        msgpack_pack_uint8(&pk, 1);
    } else {
        msgpack_pack_array(&pk, 2);
        msgpack_pack_map(&pk, 5);
        msgpack_pack_str_with_body(&pk, "name", 4);
        msgpack_pack_str_with_body(&pk, "default", 7);
        msgpack_pack_str_with_body(&pk, "group", 5);
        msgpack_pack_uint8(&pk, 0);
        msgpack_pack_str_with_body(&pk, "role", 4);
        msgpack_pack_str_with_body(&pk, "leader", 6);
        msgpack_pack_str_with_body(&pk, "leader", 6);
        msgpack_pack_uint8(&pk, 2);
        msgpack_pack_str_with_body(&pk, "term", 4);
        msgpack_pack_uint64(&pk, 1ull << 40);
        if (bad == 2) {
            msgpack_pack_uint8(&pk, 7); /* not a map */
        } else {
            msgpack_pack_map(&pk, bad == 3 ? 1 : 2);
            msgpack_pack_str_with_body(&pk, "name", 4);
            msgpack_pack_str_with_body(&pk, "orders", 6);
            if (bad != 3) {
                msgpack_pack_str_with_body(&pk, "role", 4);
                msgpack_pack_str_with_body(&pk, "follower", 8);
            }
        }
    }
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_uint8(&pk, RL_MSG_STATUS_OK);
}

static void the_logs_of_a_status_are_told_one_by_one(void **state)
{
    (void)state;
    msgpack_sbuffer sbuf;
    s_pack_status(&sbuf, 0);
    s_told_t told = {0};
    bool found;
    assert_int_equal(
        rl_peek_status_logs(sbuf.data, sbuf.size, s_tell, &told, &found, NULL),
        0);
    assert_true(found);
    assert_int_equal(told.count, 2);
    assert_true(s_str_is(told.logs[0].name, rl_str("default")));
    assert_true(s_str_is(told.logs[0].role, rl_str("leader")));
    assert_true(told.logs[0].leader == 2 && told.logs[0].term == 1ull << 40);
    assert_true(s_str_is(told.logs[1].name, rl_str("orders")));
    assert_true(told.logs[1].leader == 0 && told.logs[1].term == 0);
    msgpack_sbuffer_destroy(&sbuf);
    for (int bad = 1; bad <= 3; bad++) {
        s_pack_status(&sbuf, bad);
        char err[RL_CODEC_ERROR_SIZE];
        told.count = 0;
        assert_int_equal(rl_peek_status_logs(sbuf.data, sbuf.size, s_tell,
                                             &told, &found, err),
                         RL_ERR_BAD_REQUEST);
        assert_true(found && strlen(err) > 10);
        msgpack_sbuffer_destroy(&sbuf);
    }
    /* A STATUS_OK of a node of before named logs has none. */
    const rl_msg_t *samples;
    size_t count = rl_samples(&samples);
    for (size_t i = 0; i < count; i++) {
        if (samples[i].type != RL_MSG_STATUS_OK ||
            samples[i].body.status_ok.log_count)
            continue;
        size_t size;
        uint8_t *data = s_encode(&samples[i], &size);
        told.count = 0;
        assert_int_equal(
            rl_peek_status_logs(data, size, s_tell, &told, &found, NULL), 0);
        assert_false(found);
        assert_int_equal(told.count, 0);
        free(data);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            every_sample_request_is_peeked_as_the_decoder_reads_it),
        cmocka_unit_test(
            a_forwarded_request_decodes_to_itself_with_the_new_values),
        cmocka_unit_test(
            a_request_without_an_id_gets_one_and_keeps_its_other_pairs),
        cmocka_unit_test(
            a_broker_in_front_has_its_identity_replaced_not_doubled),
        cmocka_unit_test(
            each_malformed_request_is_refused_as_the_decoder_refuses_it),
        cmocka_unit_test(a_request_cut_short_after_its_id_keeps_the_id),
        cmocka_unit_test(a_log_name_is_read_from_any_request),
        cmocka_unit_test(
            every_sample_reply_is_peeked_and_written_with_the_client_id),
        cmocka_unit_test(a_not_leader_names_its_log_and_a_request_is_no_reply),
        cmocka_unit_test(the_logs_of_a_status_are_told_one_by_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

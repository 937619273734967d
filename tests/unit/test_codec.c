/*  test_codec.c - the wire protocol: round trips and malformed input.

    Malformed messages are written in a small text notation turned into
    msgpack by s_pack_text(), so that each case of the table reads like the
    message it sends:

        {version:1, type:33, entries:[b"x"]}   a map with string keys
        5  -3  1.5  true  false  nil           scalars
        "text"  b"bytes"                       str and bin
        bin(N)  str(N)                         N bytes of 'x' as bin or str

    Cases that no text can express (broken framing, huge inputs) replace
    the last value of a text, a nil, by raw bytes (s_text_then).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include <ctype.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_meter.h"
#include "rl_codec.h"
#include "samples.h"

/* ---- The text notation ---- */

typedef struct {
    const char *p; /* next character of the text */
} s_text_t;

static void s_skip_space(s_text_t *t)
{
    while (*t->p == ' ' || *t->p == ',')
        t->p++;
}

static void s_pack_value(s_text_t *t, msgpack_packer *pk);

/* Packs the items of a container into their own buffer first, since a
   msgpack header needs the count before the items. */
static void s_pack_container(s_text_t *t, msgpack_packer *pk, bool map)
{
    char close = map ? '}' : ']';
    msgpack_sbuffer items;
    msgpack_sbuffer_init(&items);
    msgpack_packer item_pk;
    msgpack_packer_init(&item_pk, &items, msgpack_sbuffer_write);
    size_t count = 0;
    t->p++;
    s_skip_space(t);
    while (*t->p != close) {
        assert_true(*t->p != '\0');
        if (map && (isalpha((unsigned char)*t->p) || *t->p == '_')) {
            const char *start = t->p; /* a bare word key */
            while (isalnum((unsigned char)*t->p) || *t->p == '_')
                t->p++;
            msgpack_pack_str_with_body(&item_pk, start, (size_t)(t->p - start));
        } else if (map) {
            s_pack_value(t, &item_pk);
        }
        if (map) {
            assert_int_equal(*t->p, ':');
            t->p++;
        }
        s_pack_value(t, &item_pk);
        count++;
        s_skip_space(t);
    }
    t->p++;
    if (map)
        msgpack_pack_map(pk, count);
    else
        msgpack_pack_array(pk, count);
    msgpack_pack_str_body(pk, items.data, items.size);
    msgpack_sbuffer_destroy(&items);
}

static void s_pack_value(s_text_t *t, msgpack_packer *pk)
{
    s_skip_space(t);
    if (*t->p == '{' || *t->p == '[') {
        s_pack_container(t, pk, *t->p == '{');
    } else if (*t->p == '"' || strncmp(t->p, "b\"", 2) == 0) {
        bool bin = *t->p == 'b';
        const char *start = t->p + (bin ? 2 : 1);
        const char *end = strchr(start, '"');
        assert_non_null(end);
        if (bin)
            msgpack_pack_bin_with_body(pk, start, (size_t)(end - start));
        else
            msgpack_pack_str_with_body(pk, start, (size_t)(end - start));
        t->p = end + 1;
    } else if (strncmp(t->p, "bin(", 4) == 0 || strncmp(t->p, "str(", 4) == 0) {
        bool bin = *t->p == 'b';
        size_t size = strtoull(t->p + 4, (char **)&t->p, 10);
        t->p++; /* ')' */
        char *body = malloc(size + 1);
        memset(body, 'x', size);
        if (bin)
            msgpack_pack_bin_with_body(pk, body, size);
        else
            msgpack_pack_str_with_body(pk, body, size);
        free(body);
    } else if (strncmp(t->p, "true", 4) == 0) {
        msgpack_pack_true(pk);
        t->p += 4;
    } else if (strncmp(t->p, "false", 5) == 0) {
        msgpack_pack_false(pk);
        t->p += 5;
    } else if (strncmp(t->p, "nil", 3) == 0) {
        msgpack_pack_nil(pk);
        t->p += 3;
    } else {
        char *end;
        double real = strtod(t->p, &end);
        const char *dot = memchr(t->p, '.', (size_t)(end - t->p));
        if (dot)
            msgpack_pack_double(pk, real);
        else if (*t->p == '-')
            msgpack_pack_int64(pk, strtoll(t->p, &end, 10));
        else
            msgpack_pack_uint64(pk, strtoull(t->p, &end, 10));
        assert_true(end != t->p);
        t->p = end;
    }
}

/* Encodes text into sbuf (initialised by the caller). */
static void s_pack_text(const char *text, msgpack_sbuffer *sbuf)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    s_text_t t = {text};
    s_pack_value(&t, &pk);
    s_skip_space(&t);
    assert_int_equal(*t.p, '\0');
}

/* Decodes text and returns the result; err receives the message. */
static int s_decode_text(const char *text, rl_msg_t *msg, char *err)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_text(text, &sbuf);
    int rc = rl_codec_decode(sbuf.data, sbuf.size, msg, err);
    /* The message borrows from sbuf: keep nothing past this point. */
    uint8_t type = msg->type;
    uint64_t id = msg->id;
    rl_msg_close(msg);
    msg->type = type;
    msg->id = id;
    msgpack_sbuffer_destroy(&sbuf);
    return rc;
}

/* Packs text, whose last byte must be a nil (the last value of the map),
   and replaces that nil by tail[0..tail_size). Returns a malloc'd buffer
   of *size bytes. */
static uint8_t *s_text_then(const char *text, const void *tail,
                            size_t tail_size, size_t *size)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_text(text, &sbuf);
    assert_true(sbuf.size > 0 && (uint8_t)sbuf.data[sbuf.size - 1] == 0xc0);
    *size = sbuf.size - 1 + tail_size;
    uint8_t *bytes = malloc(*size);
    assert_non_null(bytes);
    memcpy(bytes, sbuf.data, sbuf.size - 1);
    memcpy(bytes + sbuf.size - 1, tail, tail_size);
    msgpack_sbuffer_destroy(&sbuf);
    return bytes;
}

/* A msgpack array32 header of count items, at out[0..5). */
static void s_array32(uint8_t *out, uint32_t count)
{
    out[0] = 0xdd;
    out[1] = (uint8_t)(count >> 24);
    out[2] = (uint8_t)(count >> 16);
    out[3] = (uint8_t)(count >> 8);
    out[4] = (uint8_t)count;
}

/* ---- Round trips ---- */

static void every_sample_message_survives_a_round_trip(void **state)
{
    (void)state;
    const rl_msg_t *samples;
    size_t count = rl_samples(&samples);
    assert_true(count >= 30);
    rl_buf_t buf;
    rl_buf_init(&buf);
    char err[RL_CODEC_ERROR_SIZE];
    for (size_t i = 0; i < count; i++) {
        rl_buf_reset(&buf);
        int rc = rl_codec_encode(&samples[i], &buf, err);
        if (rc)
            fail_msg("sample %zu (%s): encode failed: %s", i,
                     rl_msg_type_name(samples[i].type), err);
        rl_msg_t decoded;
        rc = rl_codec_decode(buf.data, buf.size, &decoded, err);
        if (rc)
            fail_msg("sample %zu (%s): decode failed: %s", i,
                     rl_msg_type_name(samples[i].type), err);
        if (!rl_msg_equal(&samples[i], &decoded))
            fail_msg("sample %zu (%s) differs after a round trip", i,
                     rl_msg_type_name(samples[i].type));
        rl_msg_close(&decoded);
    }
    rl_buf_close(&buf);
}

static void every_message_type_has_a_sample(void **state)
{
    (void)state;
    const rl_msg_t *samples;
    size_t count = rl_samples(&samples);
    for (int type = 0; type < 256; type++) {
        if (strcmp(rl_msg_type_name(type), "UNKNOWN") == 0)
            continue;
        bool found = false;
        for (size_t i = 0; i < count; i++)
            found = found || samples[i].type == type;
        if (!found)
            fail_msg("no sample of %s", rl_msg_type_name(type));
    }
}

static void decoded_payloads_point_into_the_input_buffer(void **state)
{
    (void)state;
    const char *payload = "zero-copy payload";
    rl_str_t entry = rl_str(payload);
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND_REQUEST);
    msg.body.append_request.entries = &entry;
    msg.body.append_request.entry_count = 1;
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(&msg, &buf, NULL), 0);
    rl_msg_t decoded;
    assert_int_equal(rl_codec_decode(buf.data, buf.size, &decoded, NULL), 0);
    const char *ptr = decoded.body.append_request.entries[0].ptr;
    assert_true(ptr >= (const char *)buf.data &&
                ptr < (const char *)buf.data + buf.size);
    assert_memory_equal(ptr, payload, strlen(payload));
    rl_msg_close(&decoded);
    rl_buf_close(&buf);
}

static void a_batch_of_the_maximum_size_round_trips(void **state)
{
    (void)state;
    size_t count = RL_MAX_BATCH_ENTRIES;
    rl_entry_t *entries = calloc(count, sizeof(*entries));
    for (size_t i = 0; i < count; i++) {
        entries[i].index = 1001 + i;
        entries[i].term = 9;
        entries[i].data = (const uint8_t *)"abc";
        entries[i].size = 3;
    }
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND);
    msg.cluster = rl_str("c");
    msg.from = 1;
    msg.body.append = (rl_append_t){9, 1000, 8, 999, entries, count, false};
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(&msg, &buf, NULL), 0);
    rl_msg_t decoded;
    assert_int_equal(rl_codec_decode(buf.data, buf.size, &decoded, NULL), 0);
    assert_true(rl_msg_equal(&msg, &decoded));
    assert_int_equal(decoded.body.append.entries[count - 1].index,
                     1000 + count);
    rl_msg_close(&decoded);
    rl_buf_close(&buf);
    free(entries);
}

static void an_entry_of_the_maximum_size_round_trips(void **state)
{
    (void)state;
    char *big = calloc(1, RL_MAX_ENTRY_SIZE);
    rl_str_t entry = {big, RL_MAX_ENTRY_SIZE};
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND_REQUEST);
    msg.body.append_request.entries = &entry;
    msg.body.append_request.entry_count = 1;
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(&msg, &buf, NULL), 0);
    rl_msg_t decoded;
    assert_int_equal(rl_codec_decode(buf.data, buf.size, &decoded, NULL), 0);
    assert_int_equal(decoded.body.append_request.entries[0].size,
                     RL_MAX_ENTRY_SIZE);
    rl_msg_close(&decoded);
    rl_buf_close(&buf);
    free(big);
}

static void the_encoder_refuses_an_entry_over_the_limit(void **state)
{
    (void)state;
    char *big = calloc(1, RL_MAX_ENTRY_SIZE + 1);
    rl_str_t entry = {big, RL_MAX_ENTRY_SIZE + 1};
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND_REQUEST);
    msg.body.append_request.entries = &entry;
    msg.body.append_request.entry_count = 1;
    rl_buf_t buf;
    rl_buf_init(&buf);
    char err[RL_CODEC_ERROR_SIZE];
    assert_int_equal(rl_codec_encode(&msg, &buf, err), RL_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "over the limit"));
    assert_int_equal(buf.size, 0); /* no half message left behind */
    rl_buf_close(&buf);
    free(big);
}

static void the_encoder_refuses_a_peer_message_without_sender(void **state)
{
    (void)state;
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_TIMEOUT_NOW);
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(&msg, &buf, NULL), RL_ERR_BAD_REQUEST);
    rl_buf_close(&buf);
}

/* The hex dump of docs/PROTOCOL.md's first worked example, checked here so
   that the document cannot drift from the code. */
static void the_documented_append_request_example_is_exact(void **state)
{
    (void)state;
    rl_str_t entries[] = {rl_str("hello"), rl_str("world")};
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND_REQUEST);
    msg.id = 7;
    msg.body.append_request = (rl_append_request_t){42, 1, entries, 2};
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(&msg, &buf, NULL), 0);
    static const uint8_t expected[] = {
        0x86, 0xa7, 'v', 'e',  'r',  's',  'i',  'o',  'n',  0x01, 0xa4, 't',
        'y',  'p',  'e', 0x21, 0xa2, 'i',  'd',  0x07, 0xa8, 'p',  'r',  'o',
        'd',  'u',  'c', 'e',  'r',  0x2a, 0xa3, 's',  'e',  'q',  0x01, 0xa7,
        'e',  'n',  't', 'r',  'i',  'e',  's',  0x92, 0xc4, 0x05, 'h',  'e',
        'l',  'l',  'o', 0xc4, 0x05, 'w',  'o',  'r',  'l',  'd'};
    assert_int_equal(buf.size, sizeof(expected));
    assert_memory_equal(buf.data, expected, sizeof(expected));
    rl_buf_close(&buf);
}

/* Encodes msg and compares it with hex, a dump of docs/PROTOCOL.md
   ("85 a7 76 ..."; spaces and newlines ignored). */
static void s_expect_hex(const rl_msg_t *msg, const char *hex)
{
    uint8_t expected[256];
    size_t size = 0;
    for (const char *c = hex; *c;) {
        if (*c == ' ' || *c == '\n') {
            c++;
            continue;
        }
        unsigned byte;
        assert_int_equal(sscanf(c, "%2x", &byte), 1);
        assert_true(size < sizeof(expected));
        expected[size++] = (uint8_t)byte;
        c += 2;
    }
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(msg, &buf, NULL), 0);
    assert_int_equal(buf.size, size);
    assert_memory_equal(buf.data, expected, size);
    /* And it reads back as the same message. */
    rl_msg_t decoded;
    assert_int_equal(rl_codec_decode(buf.data, buf.size, &decoded, NULL), 0);
    assert_true(rl_msg_equal(msg, &decoded));
    rl_msg_close(&decoded);
    rl_buf_close(&buf);
}

/* The worked examples of entry times and durable consumers in
   docs/PROTOCOL.md section 8, byte for byte. 2026-12-01T10:00:00Z is
   1796119200000 ms. */
static void the_documented_time_and_consumer_examples_are_exact(void **state)
{
    (void)state;
    const uint64_t t = UINT64_C(1796119200000);
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_READ_REQUEST);
    msg.id = 9;
    msg.body.read_request.from_time = t;
    msg.body.read_request.wait_ms = 5000;
    s_expect_hex(&msg, "85 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 22"
                       "a2 69 64 09 a7 77 61 69 74 5f 6d 73 cd 13 88 a9"
                       "66 72 6f 6d 5f 74 69 6d 65 cf 00 00 01 a2 31 0c"
                       "01 00");
    rl_entry_t entries[] = {
        {.index = 11, .data = (const uint8_t *)"hello", .size = 5, .time = t},
        {.index = 12,
         .data = (const uint8_t *)"world",
         .size = 5,
         .time = t + 1}};
    uint64_t times[] = {t, t + 1};
    rl_msg_init(&msg, RL_MSG_READ_OK);
    msg.id = 8;
    msg.body.read_ok = (rl_read_ok_t){entries, 2, 13, 12, 1, times, 2};
    s_expect_hex(&msg, "88 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 42"
                       "a2 69 64 08 a7 65 6e 74 72 69 65 73 92 92 0b c4"
                       "05 68 65 6c 6c 6f 92 0c c4 05 77 6f 72 6c 64 a4"
                       "6e 65 78 74 0d a6 63 6f 6d 6d 69 74 0c a5 66 69"
                       "72 73 74 01 a5 74 69 6d 65 73 92 cf 00 00 01 a2"
                       "31 0c 01 00 cf 00 00 01 a2 31 0c 01 01");
    rl_msg_init(&msg, RL_MSG_ERROR);
    msg.id = 9;
    msg.body.error = (rl_error_reply_t){
        RL_ERR_OUT_OF_RANGE, rl_str("from_time is before the retained log"),
        500, t + 5000};
    s_expect_hex(&msg, "87 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 61"
                       "a2 69 64 09 a4 63 6f 64 65 03 a7 6d 65 73 73 61"
                       "67 65 d9 24 66 72 6f 6d 5f 74 69 6d 65 20 69 73"
                       "20 62 65 66 6f 72 65 20 74 68 65 20 72 65 74 61"
                       "69 6e 65 64 20 6c 6f 67 a5 66 69 72 73 74 cd 01"
                       "f4 aa 66 69 72 73 74 5f 74 69 6d 65 cf 00 00 01"
                       "a2 31 0c 14 88");
    rl_msg_init(&msg, RL_MSG_READ_REQUEST);
    msg.id = 10;
    msg.body.read_request.consumer = rl_str("audit");
    s_expect_hex(&msg, "84 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 22"
                       "a2 69 64 0a a8 63 6f 6e 73 75 6d 65 72 a5 61 75"
                       "64 69 74");
    rl_msg_init(&msg, RL_MSG_CONSUMER_COMMIT);
    msg.id = 11;
    msg.body.consumer_commit = (rl_consumer_commit_t){rl_str("audit"), 12};
    s_expect_hex(&msg, "85 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 26"
                       "a2 69 64 0b a8 63 6f 6e 73 75 6d 65 72 a5 61 75"
                       "64 69 74 a5 69 6e 64 65 78 0c");
    rl_consumer_position_t audit = {rl_str("audit"), 12};
    rl_msg_init(&msg, RL_MSG_CONSUMERS_OK);
    msg.id = 11;
    msg.body.consumers_ok = (rl_consumers_ok_t){&audit, 1, 13, 1};
    s_expect_hex(&msg, "86 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 46"
                       "a2 69 64 0b a9 63 6f 6e 73 75 6d 65 72 73 91 82"
                       "a4 6e 61 6d 65 a5 61 75 64 69 74 a5 69 6e 64 65"
                       "78 0c a6 63 6f 6d 6d 69 74 0d a5 66 69 72 73 74"
                       "01");
    rl_msg_init(&msg, RL_MSG_CONSUMERS_REQUEST);
    msg.id = 12;
    msg.body.consumers_request =
        (rl_consumers_request_t){RL_CONSUMERS_RESET, rl_str("audit"), 0, t};
    s_expect_hex(&msg, "86 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 27"
                       "a2 69 64 0c a2 6f 70 a5 72 65 73 65 74 a8 63 6f"
                       "6e 73 75 6d 65 72 a5 61 75 64 69 74 a4 74 69 6d"
                       "65 cf 00 00 01 a2 31 0c 01 00");
}

/* A reply from a node before times (no `times`) reads with time 0; with
   them, each entry gets its own. (An older client skips `times` as any
   unknown key: unknown_keys_are_ignored_for_forward_compatibility.) */
/* docs/PROTOCOL.md section 8, "Named logs": byte for byte. */
static void the_documented_named_log_examples_are_exact(void **state)
{
    (void)state;
    rl_str_t hello = rl_str("hello");
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND_REQUEST);
    msg.id = 3;
    msg.log = rl_str("orders");
    msg.body.append_request = (rl_append_request_t){0, 0, &hello, 1};
    s_expect_hex(&msg, "85 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 21"
                       "a2 69 64 03 a3 6c 6f 67 a6 6f 72 64 65 72 73 a7"
                       "65 6e 74 72 69 65 73 91 c4 05 68 65 6c 6c 6f");
    rl_msg_init(&msg, RL_MSG_LOGS_REQUEST);
    msg.id = 4;
    msg.body.logs_request = (rl_logs_request_t){
        RL_LOGS_CREATE, rl_str("orders"), UINT64_C(1) << 30, 0, 0};
    s_expect_hex(&msg, "86 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 28"
                       "a2 69 64 04 a2 6f 70 a6 63 72 65 61 74 65 a4 6e"
                       "61 6d 65 a6 6f 72 64 65 72 73 af 72 65 74 65 6e"
                       "74 69 6f 6e 5f 62 79 74 65 73 ce 40 00 00 00");
    rl_log_desc_t orders = {.name = rl_str("orders"),
                            .group = 1,
                            .retention_bytes = UINT64_C(1) << 30};
    rl_msg_init(&msg, RL_MSG_LOGS_OK);
    msg.id = 4;
    msg.body.logs_ok = (rl_logs_ok_t){&orders, 1};
    s_expect_hex(&msg, "84 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 47"
                       "a2 69 64 04 a4 6c 6f 67 73 91 83 a4 6e 61 6d 65"
                       "a6 6f 72 64 65 72 73 a5 67 72 6f 75 70 01 af 72"
                       "65 74 65 6e 74 69 6f 6e 5f 62 79 74 65 73 ce 40"
                       "00 00 00");
    rl_msg_init(&msg, RL_MSG_NOT_LEADER);
    msg.id = 3;
    msg.log = rl_str("orders");
    msg.body.not_leader = (rl_not_leader_t){2, rl_str("tcp://10.0.0.2:7001")};
    s_expect_hex(&msg, "86 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 60"
                       "a2 69 64 03 a3 6c 6f 67 a6 6f 72 64 65 72 73 a6"
                       "6c 65 61 64 65 72 02 a8 65 6e 64 70 6f 69 6e 74"
                       "b3 74 63 70 3a 2f 2f 31 30 2e 30 2e 30 2e 32 3a"
                       "37 30 30 31");
    rl_msg_init(&msg, RL_MSG_ERROR);
    msg.id = 5;
    msg.body.error = (rl_error_reply_t){
        RL_ERR_NOT_FOUND, rl_str("no log named ordres: raftlog logs list"), 0,
        0};
    s_expect_hex(&msg, "85 a7 76 65 72 73 69 6f 6e 01 a4 74 79 70 65 61"
                       "a2 69 64 05 a4 63 6f 64 65 10 a7 6d 65 73 73 61"
                       "67 65 d9 26 6e 6f 20 6c 6f 67 20 6e 61 6d 65 64"
                       "20 6f 72 64 72 65 73 3a 20 72 61 66 74 6c 6f 67"
                       "20 6c 6f 67 73 20 6c 69 73 74");
}

/* A log name over 64 bytes is refused with TOO_LARGE; `log` on a reply
   other than NOT_LEADER, or on a peer message, is not read. */
static void a_log_name_is_bounded_and_read_where_it_belongs(void **state)
{
    (void)state;
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    char name[66];
    memset(name, 'a', 65);
    name[65] = '\0';
    rl_msg_init(&msg, RL_MSG_READ_REQUEST);
    msg.log = rl_str(name);
    msg.body.read_request.from = 1;
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(&msg, &buf, err), RL_ERR_TOO_LARGE);
    rl_buf_close(&buf);
    msgpack_sbuffer sbuf; /* the message borrows from it */
    msgpack_sbuffer_init(&sbuf);
    s_pack_text("{version:1, type:34, from:1, log:str(65)}", &sbuf);
    assert_int_equal(rl_codec_decode(sbuf.data, sbuf.size, &msg, err),
                     RL_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "'log'"));
    rl_msg_close(&msg);
    msgpack_sbuffer_destroy(&sbuf);
    msgpack_sbuffer_init(&sbuf);
    s_pack_text("{version:1, type:34, from:1, log:\"orders\"}", &sbuf);
    assert_int_equal(rl_codec_decode(sbuf.data, sbuf.size, &msg, err), 0);
    assert_int_equal(msg.log.size, 6);
    rl_msg_close(&msg);
    msgpack_sbuffer_destroy(&sbuf);
    /* TRANSFER_OK has no log: the key is skipped as unknown. */
    msgpack_sbuffer_init(&sbuf);
    s_pack_text("{version:1, type:69, leader:2, log:\"x\"}", &sbuf);
    assert_int_equal(rl_codec_decode(sbuf.data, sbuf.size, &msg, err), 0);
    assert_int_equal(msg.log.size, 0);
    rl_msg_close(&msg);
    msgpack_sbuffer_destroy(&sbuf);
}

static void a_read_reply_with_times_reads_without_them_too(void **state)
{
    (void)state;
    uint64_t times[] = {7};
    rl_entry_t entry = {.index = 3, .data = (const uint8_t *)"x", .size = 1};
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_READ_OK);
    msg.body.read_ok = (rl_read_ok_t){&entry, 1, 4, 3, 1, NULL, 0};
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(&msg, &buf, NULL), 0);
    rl_msg_t decoded;
    assert_int_equal(rl_codec_decode(buf.data, buf.size, &decoded, NULL), 0);
    assert_int_equal(decoded.body.read_ok.entries[0].time, 0);
    assert_int_equal(decoded.body.read_ok.time_count, 0);
    rl_msg_close(&decoded);
    msg.body.read_ok.times = times;
    msg.body.read_ok.time_count = 1;
    rl_buf_reset(&buf);
    assert_int_equal(rl_codec_encode(&msg, &buf, NULL), 0);
    assert_int_equal(rl_codec_decode(buf.data, buf.size, &decoded, NULL), 0);
    assert_int_equal(decoded.body.read_ok.entries[0].time, 7);
    rl_msg_close(&decoded);
    rl_buf_close(&buf);
}

/* ---- Malformed input ---- */

typedef struct {
    const char *text; /* the message, in the notation above */
    int code;         /* the error expected */
    const char *says; /* a part of the error message expected */
} s_bad_case_t;

#define PEER "version:1, cluster:\"c\", from:2, "

static const s_bad_case_t s_bad_cases[] = {
    /* Not a message at all. */
    {"5", RL_ERR_BAD_REQUEST, "must be a msgpack map"},
    {"[1, 2]", RL_ERR_BAD_REQUEST, "must be a msgpack map"},
    {"{}", RL_ERR_BAD_REQUEST, "'version' is missing"},
    {"{type:35}", RL_ERR_BAD_REQUEST, "'version' is missing"},
    {"{version:1}", RL_ERR_BAD_REQUEST, "'type' is missing"},
    {"{version:\"1\", type:35}", RL_ERR_BAD_REQUEST, "'version' must be"},
    {"{version:2, type:35}", RL_ERR_UNSUPPORTED_VERSION, "version 2"},
    {"{version:0, type:35}", RL_ERR_UNSUPPORTED_VERSION, "version 0"},
    {"{version:2, type:250}", RL_ERR_UNSUPPORTED_VERSION, "not supported"},
    {"{version:1, type:250}", RL_ERR_UNKNOWN_TYPE, "type 250 is unknown"},
    {"{version:1, type:0}", RL_ERR_UNKNOWN_TYPE, "unknown"},
    {"{version:1, type:99999}", RL_ERR_UNKNOWN_TYPE, "unknown"},
    {"{version:1, type:-1}", RL_ERR_BAD_REQUEST, "'type' must be"},
    {"{version:1, version:1, type:35}", RL_ERR_BAD_REQUEST, "twice"},
    {"{version:1, type:35, 5:1}", RL_ERR_BAD_REQUEST, "keys of"},
    {"{version:1, type:35, id:-4}", RL_ERR_BAD_REQUEST, "'id' must be"},
    /* Peer RPC. */
    {"{version:1, type:1, term:1, last_index:1, last_term:1}",
     RL_ERR_BAD_REQUEST, "need 'cluster' and 'from'"},
    {"{" PEER "type:1, term:1, last_index:1}", RL_ERR_BAD_REQUEST,
     "'last_term' is missing"},
    {"{" PEER "type:1, term:-1, last_index:1, last_term:1}", RL_ERR_BAD_REQUEST,
     "'term' must be an unsigned integer"},
    {"{" PEER "type:3, term:1, last_index:1, last_term:1, transfer:1}",
     RL_ERR_BAD_REQUEST, "'transfer' must be a boolean"},
    {"{version:1, cluster:\"c\", from:0, type:9, term:1}", RL_ERR_BAD_REQUEST,
     "'from' must be a node id"},
    {"{version:1, cluster:str(65), from:1, type:9, term:1}", RL_ERR_TOO_LARGE,
     "'cluster' is 65 bytes"},
    {"{" PEER "type:2, term:1}", RL_ERR_BAD_REQUEST, "'granted' is missing"},
    {"{" PEER "type:4, term:1.5, granted:true}", RL_ERR_BAD_REQUEST,
     "got float"},
    {"{" PEER "type:5, term:1, prev_index:0, prev_term:0, commit:0}",
     RL_ERR_BAD_REQUEST, "'entries' is missing"},
    {"{" PEER "type:5, term:1, prev_index:0, prev_term:0, commit:0, "
     "entries:{}}",
     RL_ERR_BAD_REQUEST, "'entries' must be an array"},
    {"{" PEER "type:5, term:1, prev_index:0, prev_term:0, commit:0, "
     "entries:[[1, 0, 0, 0]]}",
     RL_ERR_BAD_REQUEST, "array of 5 or 6 items"},
    {"{" PEER "type:5, term:1, prev_index:0, prev_term:0, commit:0, "
     "entries:[[1, 0, 0, 0, b\"\", 5, 6]]}",
     RL_ERR_BAD_REQUEST, "array of 5 or 6 items"},
    {"{" PEER "type:5, term:1, prev_index:0, prev_term:0, commit:0, "
     "entries:[[1, 5, 0, 0, b\"\"]]}",
     RL_ERR_BAD_REQUEST, "'entries.type' is 5"},
    {"{" PEER "type:5, term:1, prev_index:0, prev_term:0, commit:0, "
     "entries:[[1, 0, 0, 0, b\"\", -1]]}",
     RL_ERR_BAD_REQUEST, "'entries.time' must be an unsigned integer"},
    {"{" PEER "type:5, term:1, prev_index:0, prev_term:0, commit:0, "
     "entries:[[1, 0, 0, 0, 7]]}",
     RL_ERR_BAD_REQUEST, "'entries.data' must be a string or binary"},
    {"{" PEER "type:5, term:1, prev_index:0, prev_term:0, commit:0, "
     "entries:[[1, 0, 0, 0, bin(1048577)]]}",
     RL_ERR_TOO_LARGE, "over the limit of 1048576"},
    {"{" PEER "type:5, term:1, prev_index:18446744073709551615, prev_term:0, "
     "commit:0, entries:[[1, 0, 0, 0, b\"\"]]}",
     RL_ERR_BAD_REQUEST, "overflows"},
    {"{" PEER "type:6, term:1, success:true, match_index:1, conflict_term:0}",
     RL_ERR_BAD_REQUEST, "'conflict_index' is missing"},
    {"{" PEER "type:7, term:1, last_index:1, last_term:1, members:[{}], "
     "offset:0, data:b\"\", done:true}",
     RL_ERR_BAD_REQUEST, "'id' is missing"},
    {"{" PEER "type:7, term:1, last_index:1, last_term:1, members:[{id:0}], "
     "offset:0, data:b\"\", done:true}",
     RL_ERR_BAD_REQUEST, "'id' must be a node id"},
    {"{" PEER "type:7, term:1, last_index:1, last_term:1, members:[{id:1, "
     "peer:str(257)}], offset:0, data:b\"\", done:true}",
     RL_ERR_TOO_LARGE, "'peer' is 257 bytes"},
    {"{" PEER "type:7, term:1, last_index:1, last_term:1, members:[{id:1},"
     "{id:2},{id:3},{id:4},{id:5},{id:6},{id:7},{id:8},{id:9},{id:10},"
     "{id:11},{id:12},{id:13},{id:14},{id:15},{id:16},{id:17}], offset:0, "
     "data:b\"\", done:true}",
     RL_ERR_TOO_LARGE, "'members' has 17 items"},
    {"{" PEER "type:7, term:1, last_index:1, last_term:1, members:[], "
     "offset:0, data:bin(4194305), done:true}",
     RL_ERR_TOO_LARGE, "'data' is 4194305 bytes"},
    {"{" PEER "type:8, term:1, last_index:1, next_offset:0, done:nil}",
     RL_ERR_BAD_REQUEST, "'done' must be a boolean, got nil"},
    {"{" PEER "type:9}", RL_ERR_BAD_REQUEST, "'term' is missing"},
    /* Client requests. */
    {"{version:1, type:33}", RL_ERR_BAD_REQUEST, "'entries' is missing"},
    {"{version:1, id:5, type:33, entries:[]}", RL_ERR_BAD_REQUEST,
     "at least 1 items"},
    {"{version:1, type:33, entries:[5]}", RL_ERR_BAD_REQUEST,
     "must be a string or binary"},
    {"{version:1, type:33, entries:[bin(1048577)]}", RL_ERR_TOO_LARGE,
     "1048577 bytes, over the limit"},
    {"{version:1, type:33, producer:\"p\", entries:[b\"x\"]}",
     RL_ERR_BAD_REQUEST, "'producer' must be an unsigned integer"},
    {"{version:1, type:33, seq:-1, entries:[b\"x\"]}", RL_ERR_BAD_REQUEST,
     "'seq' must be"},
    {"{version:1, type:33, entries:[b\"x\"], entries:[b\"x\"]}",
     RL_ERR_BAD_REQUEST, "'entries' appears twice"},
    /* READ's from, from_time and consumer are each optional to the
       decoder; that exactly one is given is the node's check
       (node/rl_reads.c). */
    {"{version:1, type:34, from:1, max_entries:4294967296}", RL_ERR_BAD_REQUEST,
     "over its maximum 4294967295"},
    {"{version:1, type:34, from_time:-5}", RL_ERR_BAD_REQUEST,
     "'from_time' must be an unsigned integer"},
    {"{version:1, type:34, consumer:str(65)}", RL_ERR_TOO_LARGE,
     "'consumer' is 65 bytes"},
    {"{version:1, type:34, consumer:7}", RL_ERR_BAD_REQUEST,
     "'consumer' must be a string or binary"},
    {"{version:1, type:38, index:5}", RL_ERR_BAD_REQUEST,
     "'consumer' is missing"},
    {"{version:1, type:38, consumer:\"a\"}", RL_ERR_BAD_REQUEST,
     "'index' is missing"},
    {"{version:1, type:38, consumer:\"a\", index:-1}", RL_ERR_BAD_REQUEST,
     "'index' must be an unsigned integer"},
    {"{version:1, type:39}", RL_ERR_BAD_REQUEST, "'op' is missing"},
    {"{version:1, type:39, op:\"drop\"}", RL_ERR_BAD_REQUEST,
     "\"list\", \"show\", \"reset\" or \"delete\""},
    {"{version:1, type:39, op:\"reset\", consumer:str(65)}", RL_ERR_TOO_LARGE,
     "'consumer' is 65 bytes"},
    {"{version:1, type:39, op:\"reset\", time:\"now\"}", RL_ERR_BAD_REQUEST,
     "'time' must be an unsigned integer"},
    {"{version:1, type:34, from:1, wait_ms:true}", RL_ERR_BAD_REQUEST,
     "'wait_ms' must be an unsigned integer, got boolean"},
    {"{version:1, type:36}", RL_ERR_BAD_REQUEST, "'op' is missing"},
    {"{version:1, type:36, op:\"grow\"}", RL_ERR_BAD_REQUEST,
     "\"list\", \"add\" or \"remove\""},
    {"{version:1, type:36, op:1}", RL_ERR_BAD_REQUEST, "'op' must be a string"},
    /* Found by the fuzzer: a long op once read an unset pointer. */
    {"{version:1, type:36, op:str(18)}", RL_ERR_TOO_LARGE, "'op' is 18 bytes"},
    {"{version:1, type:36, op:\"add\", member:[1]}", RL_ERR_BAD_REQUEST,
     "'member' must be a map"},
    {"{version:1, type:37, target:b\"2\"}", RL_ERR_BAD_REQUEST,
     "'target' must be"},
    /* A forwarded identity (as_key, as_role): both, the key 40 bytes. */
    {"{version:1, type:35, as_key:str(40)}", RL_ERR_BAD_REQUEST,
     "'as_key' and 'as_role' go together"},
    {"{version:1, type:35, as_role:\"admin\"}", RL_ERR_BAD_REQUEST,
     "'as_key' and 'as_role' go together"},
    {"{version:1, type:35, as_key:str(39), as_role:\"admin\"}",
     RL_ERR_BAD_REQUEST, "public key of 40 characters"},
    {"{version:1, type:35, as_key:str(41), as_role:\"admin\"}",
     RL_ERR_BAD_REQUEST, "public key of 40 characters"},
    {"{version:1, type:35, as_key:str(40), as_role:str(17)}",
     RL_ERR_BAD_REQUEST, "a role name of 1 to 16"},
    {"{version:1, type:35, as_key:str(40), as_role:\"\"}", RL_ERR_BAD_REQUEST,
     "a role name of 1 to 16"},
    {"{version:1, type:35, as_key:5, as_role:\"admin\"}", RL_ERR_BAD_REQUEST,
     "'as_key' must be a string or binary"},
    {"{version:1, type:35, as_key:str(40), as_key:str(40), "
     "as_role:\"admin\"}",
     RL_ERR_BAD_REQUEST, "a header field appears twice"},
    /* Named logs: `log` on any request, LOGS_REQUEST's op. */
    {"{version:1, type:33, log:5, entries:[b\"x\"]}", RL_ERR_BAD_REQUEST,
     "'log' must be a string or binary"},
    {"{version:1, type:35, log:\"a\", log:\"b\"}", RL_ERR_BAD_REQUEST,
     "a header field appears twice"},
    {"{version:1, type:40}", RL_ERR_BAD_REQUEST, "'op' is missing"},
    {"{version:1, type:40, op:\"drop\"}", RL_ERR_BAD_REQUEST,
     "\"list\", \"create\", \"delete\" or \"configure\""},
    {"{version:1, type:40, op:\"create\", name:str(65)}", RL_ERR_TOO_LARGE,
     "'name'"},
    {"{version:1, type:71, logs:[{group:1}]}", RL_ERR_BAD_REQUEST,
     "'name' is missing"},
    /* A LOGS_OK's and a STATUS_OK's logs: bounded, named as logs are,
       whole; a NOT_LEADER's log a string (docs/PROTOCOL.md). */
    {"{version:1, type:71}", RL_ERR_BAD_REQUEST, "'logs' is missing"},
    {"{version:1, type:71, logs:5}", RL_ERR_BAD_REQUEST,
     "'logs' must be an array"},
    {"{version:1, type:71, logs:[5]}", RL_ERR_BAD_REQUEST,
     "'logs' must be a map"},
    {"{version:1, type:71, logs:[{name:\"orders\"}]}", RL_ERR_BAD_REQUEST,
     "'group' is missing"},
    {"{version:1, type:71, logs:[{name:\"Orders\", group:1}]}",
     RL_ERR_BAD_REQUEST, "'name' is not a log name"},
    {"{version:1, type:71, logs:[{name:\"\", group:1}]}", RL_ERR_BAD_REQUEST,
     "'name' is not a log name"},
    {"{version:1, type:71, logs:[{name:\"..\", group:1}]}", RL_ERR_BAD_REQUEST,
     "'name' is not a log name"},
    {"{version:1, type:71, logs:[{name:\"a/b\", group:1}]}", RL_ERR_BAD_REQUEST,
     "'name' is not a log name"},
    {"{version:1, type:71, logs:[{name:str(65), group:1}]}", RL_ERR_TOO_LARGE,
     "'name' is 65 bytes"},
    {"{version:1, type:71, logs:[{name:5, group:1}]}", RL_ERR_BAD_REQUEST,
     "'name' must be a string or binary"},
    {"{version:1, type:71, logs:[{name:\"a\", group:-1}]}", RL_ERR_BAD_REQUEST,
     "'group' must be an unsigned integer"},
    {"{version:1, type:71, logs:[{name:\"a\", group:1, "
     "max_entry_bytes:4294967296}]}",
     RL_ERR_BAD_REQUEST, "over its maximum 4294967295"},
    {"{version:1, type:71, logs:[{name:\"a\", group:1, name:\"b\"}]}",
     RL_ERR_BAD_REQUEST, "'name' appears twice"},
    {"{version:1, type:67, node:1, role:\"x\", term:1, leader:1, commit:1, "
     "last:1, first:1, members:[], logs:[{name:\"Bad\", group:1, "
     "role:\"leader\", leader:1, term:1, commit:1, last:1, first:1, lag:0}]}",
     RL_ERR_BAD_REQUEST, "'name' is not a log name"},
    {"{version:1, type:67, node:1, role:\"x\", term:1, leader:1, commit:1, "
     "last:1, first:1, members:[], logs:[{name:\"a\", group:1}]}",
     RL_ERR_BAD_REQUEST, "'role' is missing"},
    {"{version:1, type:67, node:1, role:\"x\", term:1, leader:1, commit:1, "
     "last:1, first:1, members:[], logs:5}",
     RL_ERR_BAD_REQUEST, "'logs' must be an array"},
    {"{version:1, type:96, leader:2, log:5}", RL_ERR_BAD_REQUEST,
     "'log' must be a string or binary"},
    {"{version:1, type:96, leader:2, log:str(65)}", RL_ERR_TOO_LARGE,
     "'log' is 65 bytes"},
    /* A reply of a later version's type: the codec's words, with it. */
    {"{version:1, type:72, id:5}", RL_ERR_UNKNOWN_TYPE, "type 72 is unknown"},
    /* Replies. */
    {"{version:1, type:65, first:1}", RL_ERR_BAD_REQUEST, "'last' is missing"},
    {"{version:1, type:66, entries:[[1]], next:2, commit:1, first:1}",
     RL_ERR_BAD_REQUEST, "array of 2 items"},
    {"{version:1, type:66, entries:[[1, b\"x\"]], next:2, commit:1, "
     "first:1, times:[1, 2]}",
     RL_ERR_BAD_REQUEST, "'times' has 2 items for 1 entries"},
    {"{version:1, type:66, entries:[], next:2, commit:1, first:1, "
     "times:[1]}",
     RL_ERR_BAD_REQUEST, "'times' has 1 items for 0 entries"},
    {"{version:1, type:66, entries:[[1, b\"x\"]], next:2, commit:1, "
     "first:1, times:[-1]}",
     RL_ERR_BAD_REQUEST, "'times' must be an unsigned integer"},
    {"{version:1, type:66, entries:[[1, b\"x\"]], next:2, commit:1, "
     "first:1, times:5}",
     RL_ERR_BAD_REQUEST, "'times' must be an array"},
    {"{version:1, type:70, consumers:[{name:\"a\"}], commit:1, first:1}",
     RL_ERR_BAD_REQUEST, "'index' is missing"},
    {"{version:1, type:70, consumers:[{name:str(65), index:1}], commit:1, "
     "first:1}",
     RL_ERR_TOO_LARGE, "'name' is 65 bytes"},
    {"{version:1, type:70, consumers:[], first:1}", RL_ERR_BAD_REQUEST,
     "'commit' is missing"},
    {"{version:1, type:67, node:1, role:\"leader\", term:1, leader:1, "
     "commit:1, "
     "last:1, first:1, members:[], counters:{1:2}}",
     RL_ERR_BAD_REQUEST, "'counters key' must be a string"},
    {"{version:1, type:67, node:1, role:str(33), term:1, leader:1, commit:1, "
     "last:1, first:1, members:[]}",
     RL_ERR_TOO_LARGE, "'role' is 33 bytes"},
    {"{version:1, type:67, node:1, role:\"x\", term:1, leader:1, commit:1, "
     "last:1, first:1, members:[{id:1, last_contact_ms:\"x\"}]}",
     RL_ERR_BAD_REQUEST, "'last_contact_ms' must be"},
    {"{version:1, type:68, members:5}", RL_ERR_BAD_REQUEST,
     "'members' must be an array"},
    {"{version:1, type:69}", RL_ERR_BAD_REQUEST, "'leader' is missing"},
    {"{version:1, type:96, leader:1, endpoint:5}", RL_ERR_BAD_REQUEST,
     "'endpoint' must be a string"},
    {"{version:1, type:97, code:65536, message:\"\"}", RL_ERR_BAD_REQUEST,
     "over its maximum 65535"},
    {"{version:1, type:97, code:1, message:str(1025)}", RL_ERR_TOO_LARGE,
     "'message' is 1025 bytes"},
};

static void each_malformed_message_gets_its_specific_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s_bad_cases) / sizeof(s_bad_cases[0]); i++) {
        const s_bad_case_t *c = &s_bad_cases[i];
        rl_msg_t msg;
        char err[RL_CODEC_ERROR_SIZE];
        int rc = s_decode_text(c->text, &msg, err);
        if (rc != c->code || !strstr(err, c->says))
            fail_msg("case %zu %s\n  expected %s with \"%s\"\n  got %s: %s", i,
                     c->text, rl_error_name(c->code), c->says,
                     rl_error_name(rc), err);
        rl_msg_close(&msg);
    }
}

static void a_forwarded_identity_is_read_on_requests_only(void **state)
{
    (void)state;
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    msgpack_sbuffer sbuf; /* the message borrows from it */
    msgpack_sbuffer_init(&sbuf);
    s_pack_text("{version:1, type:33, as_key:str(40), as_role:\"producer\", "
                "entries:[b\"x\"]}",
                &sbuf);
    assert_int_equal(rl_codec_decode(sbuf.data, sbuf.size, &msg, err), 0);
    assert_int_equal(msg.as_key.size, 40);
    assert_int_equal(msg.as_role.size, 8);
    assert_memory_equal(msg.as_role.ptr, "producer", 8);
    rl_msg_close(&msg);
    msgpack_sbuffer_destroy(&sbuf);
    /* On a reply (or a peer message) they are ignored, and never sent. */
    msgpack_sbuffer_init(&sbuf);
    s_pack_text("{version:1, type:69, leader:2, as_key:str(40), "
                "as_role:\"admin\"}",
                &sbuf);
    assert_int_equal(rl_codec_decode(sbuf.data, sbuf.size, &msg, err), 0);
    assert_int_equal(msg.as_key.size, 0);
    assert_int_equal(msg.as_role.size, 0);
    rl_msg_close(&msg);
    msgpack_sbuffer_destroy(&sbuf);
    rl_msg_t reply;
    rl_msg_init(&reply, RL_MSG_TRANSFER_OK);
    reply.as_key = rl_str("0123456789012345678901234567890123456789");
    reply.as_role = rl_str("admin");
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(&reply, &buf, err), 0);
    for (size_t i = 0; i + 6 <= buf.size; i++)
        assert_false(memcmp(buf.data + i, "as_key", 6) == 0);
    rl_buf_close(&buf);
    /* The encoder refuses half an identity, or a key of the wrong size. */
    rl_msg_t request;
    rl_msg_init(&request, RL_MSG_STATUS_REQUEST);
    request.as_key = rl_str("short");
    request.as_role = rl_str("admin");
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(&request, &buf, err), RL_ERR_BAD_REQUEST);
    request.as_key = rl_str("0123456789012345678901234567890123456789");
    request.as_role = rl_str("");
    assert_int_equal(rl_codec_encode(&request, &buf, err), RL_ERR_BAD_REQUEST);
    assert_int_equal(buf.size, 0);
    rl_buf_close(&buf);
}

/* Entry timestamps on the peer wire: the sixth item of an entry,
   optional so that entries from a node of before timestamps (five items)
   still decode, with time 0; the encoder leaves a zero time out. */
static void a_peer_entry_time_is_an_optional_sixth_item(void **state)
{
    (void)state;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_text("{" PEER "type:5, term:1, prev_index:0, prev_term:0, "
                "commit:0, entries:[[1, 0, 0, 0, b\"old\"], "
                "[1, 3, 0, 0, b\"new\", 1767225600000]]}",
                &sbuf);
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    int rc = rl_codec_decode(sbuf.data, sbuf.size, &msg, err);
    if (rc)
        fail_msg("decode failed: %s", err);
    assert_int_equal(msg.body.append.entry_count, 2);
    assert_int_equal(msg.body.append.entries[0].time, 0);
    assert_int_equal(msg.body.append.entries[1].time, 1767225600000);
    assert_int_equal(msg.body.append.entries[1].type, RL_ENTRY_CONSUMER);

    /* Encoded again: five items for the unstamped entry, six for the
       other. */
    rl_buf_t buf;
    rl_buf_init(&buf);
    assert_int_equal(rl_codec_encode(&msg, &buf, NULL), 0);
    rl_msg_close(&msg);
    msgpack_sbuffer_destroy(&sbuf);
    msgpack_unpacked top;
    msgpack_unpacked_init(&top);
    assert_int_equal(
        msgpack_unpack_next(&top, (const char *)buf.data, buf.size, NULL),
        MSGPACK_UNPACK_SUCCESS);
    const msgpack_object_map *map = &top.data.via.map;
    const msgpack_object *entries = NULL;
    for (uint32_t i = 0; i < map->size; i++)
        if (map->ptr[i].key.type == MSGPACK_OBJECT_STR &&
            map->ptr[i].key.via.str.size == 7 &&
            memcmp(map->ptr[i].key.via.str.ptr, "entries", 7) == 0)
            entries = &map->ptr[i].val;
    assert_non_null(entries);
    assert_int_equal(entries->via.array.size, 2);
    assert_int_equal(entries->via.array.ptr[0].via.array.size, 5);
    assert_int_equal(entries->via.array.ptr[1].via.array.size, 6);
    assert_int_equal(entries->via.array.ptr[1].via.array.ptr[5].via.u64,
                     1767225600000);
    msgpack_unpacked_destroy(&top);
    rl_buf_close(&buf);
}

static void unknown_keys_are_ignored_for_forward_compatibility(void **state)
{
    (void)state;
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    assert_int_equal(
        s_decode_text("{version:1, type:35, colour:\"blue\", extra:[1,{}]}",
                      &msg, err),
        0);
    assert_int_equal(msg.type, RL_MSG_STATUS_REQUEST);
}

static void an_error_keeps_the_request_id_for_the_reply(void **state)
{
    (void)state;
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    assert_int_equal(
        s_decode_text("{version:1, id:31, type:33, entries:[]}", &msg, err),
        RL_ERR_BAD_REQUEST);
    assert_int_equal(msg.id, 31);
    assert_int_equal(msg.type, RL_MSG_APPEND_REQUEST);
}

/* Every malformed message of the table again, with a request id in front:
   wherever the id could be read, the error keeps it (PROTOCOL.md 3). */
static void every_error_after_a_readable_id_keeps_the_id(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s_bad_cases) / sizeof(s_bad_cases[0]); i++) {
        const s_bad_case_t *c = &s_bad_cases[i];
        if (c->text[0] != '{' || strstr(c->text, " id:"))
            continue; /* not a map, or one with an id of its own */
        char text[1024];
        snprintf(text, sizeof(text), "{id:77, %s", c->text + 1);
        rl_msg_t msg;
        char err[RL_CODEC_ERROR_SIZE];
        int rc = s_decode_text(text, &msg, err);
        if (rc != c->code || msg.id != 77)
            fail_msg("case %zu %s\n  expected %s with id 77\n  got %s with "
                     "id %llu: %s",
                     i, text, rl_error_name(c->code), rl_error_name(rc),
                     (unsigned long long)msg.id, err);
        rl_msg_close(&msg);
    }
}

/* Decodes bytes expecting an error with the given text; returns the id
   and type the error kept. */
static void s_expect_error_with_id(const uint8_t *bytes, size_t size, int code,
                                   const char *says, uint64_t id, uint8_t type)
{
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    int rc = rl_codec_decode(bytes, size, &msg, err);
    if (rc != code || !strstr(err, says) || msg.id != id || msg.type != type)
        fail_msg("expected %s with \"%s\", id %llu, type %u\n  got %s, id "
                 "%llu, type %u: %s",
                 rl_error_name(code), says, (unsigned long long)id, type,
                 rl_error_name(rc), (unsigned long long)msg.id, msg.type, err);
    rl_msg_close(&msg);
}

static void an_error_for_bytes_after_the_map_keeps_the_request_id(void **state)
{
    (void)state;
    static const uint8_t junk[] = {0xc0, 0x00, 0x01};
    size_t size;
    uint8_t *bytes =
        s_text_then("{version:1, type:35, id:77, x:nil}", junk, 3, &size);
    s_expect_error_with_id(bytes, size, RL_ERR_BAD_REQUEST,
                           "2 bytes of trailing data", 77,
                           RL_MSG_STATUS_REQUEST);
    free(bytes);
}

static void
an_error_for_a_huge_array_after_the_id_keeps_the_request_id(void **state)
{
    (void)state;
    uint8_t huge[5];
    s_array32(huge, UINT32_MAX);
    size_t size;
    uint8_t *bytes = s_text_then("{version:1, type:33, id:77, entries:nil}",
                                 huge, sizeof(huge), &size);
    s_expect_error_with_id(bytes, size, RL_ERR_BAD_REQUEST,
                           "declares 4294967295 items", 77,
                           RL_MSG_APPEND_REQUEST);
    free(bytes);
}

static void
an_error_for_broken_msgpack_after_the_id_keeps_the_request_id(void **state)
{
    (void)state;
    static const uint8_t never_used[] = {0xc1};
    static const uint8_t cut_short[] = {0x92, 0xc4, 0x05, 'h', 'e'};
    size_t size;
    uint8_t *bytes = s_text_then("{version:1, id:77, type:33, entries:nil}",
                                 never_used, sizeof(never_used), &size);
    s_expect_error_with_id(bytes, size, RL_ERR_BAD_REQUEST, "not msgpack", 77,
                           RL_MSG_APPEND_REQUEST);
    free(bytes);
    bytes = s_text_then("{version:1, id:77, type:33, entries:nil}", cut_short,
                        sizeof(cut_short), &size);
    s_expect_error_with_id(bytes, size, RL_ERR_BAD_REQUEST, "truncated", 77,
                           RL_MSG_APPEND_REQUEST);
    free(bytes);
}

static void s_expect_raw(const uint8_t *bytes, size_t size, int code,
                         const char *says);

/* The decoder reads msgpack itself (proto/rl_msgpack_reader.c): every
   integer encoding must give the same value msgpack-c would, a signed
   encoding of a value >= 0 included. */
static void integers_are_read_in_every_msgpack_encoding(void **state)
{
    (void)state;
    static const struct {
        uint8_t bytes[9]; /* the encoding of 5 */
        size_t size;
    } fives[] = {
        {{0x05}, 1},
        {{0xcc, 5}, 2},
        {{0xcd, 0, 5}, 3},
        {{0xce, 0, 0, 0, 5}, 5},
        {{0xcf, 0, 0, 0, 0, 0, 0, 0, 5}, 9},
        {{0xd0, 5}, 2},
        {{0xd1, 0, 5}, 3},
        {{0xd2, 0, 0, 0, 5}, 5},
        {{0xd3, 0, 0, 0, 0, 0, 0, 0, 5}, 9},
    };
    for (size_t i = 0; i < sizeof(fives) / sizeof(fives[0]); i++) {
        size_t size;
        uint8_t *bytes = s_text_then("{version:1, type:34, from:nil}",
                                     fives[i].bytes, fives[i].size, &size);
        rl_msg_t msg;
        char err[RL_CODEC_ERROR_SIZE];
        if (rl_codec_decode(bytes, size, &msg, err) != 0 ||
            msg.body.read_request.from != 5)
            fail_msg("encoding %zu of 5: %s", i, err);
        rl_msg_close(&msg);
        free(bytes);
    }
    static const struct {
        uint8_t bytes[9]; /* a negative number */
        size_t size;
        int64_t value; /* its value */
    } negatives[] = {
        {{0xff}, 1, -1},
        {{0xe0}, 1, -32},
        {{0xd0, 0x80}, 2, -128},
        {{0xd1, 0xff, 0xfe}, 3, -2},
        {{0xd2, 0x80, 0, 0, 0}, 5, INT32_MIN},
        {{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9, INT64_MIN},
        {{0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd}, 9, -3},
    };
    for (size_t i = 0; i < sizeof(negatives) / sizeof(negatives[0]); i++) {
        size_t size;
        uint8_t *bytes = s_text_then(
            "{version:1, type:67, node:1, role:\"x\", term:1, leader:1, "
            "commit:1, last:1, first:1, members:[{id:1, last_contact_ms:nil}]}",
            negatives[i].bytes, negatives[i].size, &size);
        rl_msg_t msg;
        char err[RL_CODEC_ERROR_SIZE];
        if (rl_codec_decode(bytes, size, &msg, err) != 0 ||
            msg.body.status_ok.members[0].last_contact_ms != negatives[i].value)
            fail_msg("negative %zu: %s", i, err);
        rl_msg_close(&msg);
        free(bytes);
    }
    /* A negative number, a float, an extension where a uint belongs. */
    static const struct {
        uint8_t bytes[9];
        size_t size;
        const char *got;
    } wrong[] = {
        {{0xd0, 0xfb}, 2, "got negative integer"},
        {{0xca, 0, 0, 0, 0}, 5, "got float"},
        {{0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, 9, "got float"},
        {{0xd4, 1, 0}, 3, "got extension"},
        {{0xc7, 1, 7, 0}, 4, "got extension"},
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        size_t size;
        uint8_t *bytes = s_text_then("{version:1, type:34, from:nil}",
                                     wrong[i].bytes, wrong[i].size, &size);
        s_expect_raw(bytes, size, RL_ERR_BAD_REQUEST, wrong[i].got);
        free(bytes);
    }
}

/* ---- Memory: decoding allocates its result, nothing in proportion to
   what it skips (issue 12: 60 MiB of nils once cost 1.5 GB) ---- */

/* What decoding may allocate besides the arrays it returns: nothing today;
   room for the sanitizer's or libc's own small buffers. */
#define S_DECODE_SLACK 4096

/* Decodes bytes with the heap meter on; returns the result code and sets
 *peak to the most bytes live at once during the decode. */
static int s_decode_metered(const uint8_t *bytes, size_t size, size_t *peak,
                            char *err)
{
    rl_msg_t msg;
    rl_alloc_meter_start();
    int rc = rl_codec_decode(bytes, size, &msg, err);
    *peak = rl_alloc_meter_stop();
    rl_msg_close(&msg);
    return rc;
}

static void
a_nil_array_under_an_unknown_key_is_skipped_without_materialising(void **state)
{
    (void)state;
    if (!rl_alloc_meter_works())
        skip(); /* needs the sanitizer allocator's hooks (scripts/test) */
    size_t nils = 8u << 20; /* 8 MiB of nils: 192 MiB as msgpack objects */
    uint8_t *tail = malloc(5 + nils);
    assert_non_null(tail);
    s_array32(tail, (uint32_t)nils);
    memset(tail + 5, 0xc0, nils);
    size_t size;
    uint8_t *bytes = s_text_then("{version:1, type:35, id:3, colour:nil}", tail,
                                 5 + nils, &size);
    free(tail);
    size_t peak;
    char err[RL_CODEC_ERROR_SIZE];
    assert_int_equal(s_decode_metered(bytes, size, &peak, err), 0);
    if (peak > S_DECODE_SLACK)
        fail_msg("decoding %zu bytes allocated %zu bytes at peak", size, peak);
    free(bytes);
}

static void a_deeply_nested_value_under_an_unknown_key_is_skipped(void **state)
{
    (void)state;
    /* The result is checked in every build, the memory where the
       meter works (ASan: scripts/test). */
    size_t depth = 1u << 20;
    uint8_t *tail = malloc(2 * depth + 1);
    assert_non_null(tail);
    /* A million arrays of one item each, then maps of one pair each (key
       the empty string), around a nil. */
    memset(tail, 0x91, depth);
    for (size_t i = 0; i < depth / 2; i++) {
        tail[depth + 2 * i] = 0x81;
        tail[depth + 2 * i + 1] = 0xa0;
    }
    tail[2 * depth] = 0xc0;
    size_t size;
    uint8_t *bytes = s_text_then("{version:1, type:35, deep:nil}", tail,
                                 2 * depth + 1, &size);
    free(tail);
    size_t peak;
    char err[RL_CODEC_ERROR_SIZE];
    int rc = s_decode_metered(bytes, size, &peak, err);
    if (rc != 0)
        fail_msg("a deep unknown value was refused: %s", err);
    if (peak > S_DECODE_SLACK)
        fail_msg("decoding %zu bytes allocated %zu bytes at peak", size, peak);
    free(bytes);
}

static void a_huge_declared_count_with_few_bytes_allocates_nothing(void **state)
{
    (void)state;
    if (!rl_alloc_meter_works())
        skip();
    static const char *const texts[] = {
        "{version:1, type:35, colour:nil}",
        "{version:1, type:33, entries:nil}",
        ("{version:1, type:67, node:1, role:\"x\", term:1, leader:1, "
         "commit:1, last:1, first:1, members:nil}"),
        "{version:1, type:71, logs:nil}",
        ("{version:1, type:67, node:1, role:\"x\", term:1, leader:1, "
         "commit:1, last:1, first:1, members:[], logs:nil}"),
    };
    uint8_t tail[5 + 64];
    memset(tail, 0xc0, sizeof(tail));
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        for (int k = 0; k < 2; k++) {
            /* 4 billion items, and the largest count under the limits */
            s_array32(tail, k == 0 ? UINT32_MAX : RL_MAX_BATCH_ENTRIES);
            size_t size;
            uint8_t *bytes = s_text_then(texts[i], tail, sizeof(tail), &size);
            size_t peak;
            char err[RL_CODEC_ERROR_SIZE];
            int rc = s_decode_metered(bytes, size, &peak, err);
            if (rc == 0 || peak > S_DECODE_SLACK)
                fail_msg("case %zu/%d: %s, %zu bytes at peak", i, k,
                         rc ? err : "decoded", peak);
            free(bytes);
        }
    }
}

/* Found while removing the amplification: an array was allocated for as
   many items as there were bytes left, before any item was read, so 64 KiB
   of nils under 'entries' cost 4 MiB of rl_entry_t (64 bytes a byte). A
   declared count is now checked against the smallest encoding of an item
   (a READ_OK entry [index, data] takes 3 bytes at least). */
static void
entries_too_small_to_be_valid_are_refused_before_allocating(void **state)
{
    (void)state;
    /* The result is checked in every build, the memory where the
       meter works (ASan: scripts/test). */
    size_t count = RL_MAX_BATCH_ENTRIES - 1;
    uint8_t *tail = malloc(5 + count);
    assert_non_null(tail);
    s_array32(tail, (uint32_t)count);
    memset(tail + 5, 0xc0, count);
    size_t size;
    uint8_t *bytes = s_text_then("{version:1, type:66, next:2, commit:1, "
                                 "first:1, entries:nil}",
                                 tail, 5 + count, &size);
    free(tail);
    size_t peak;
    char err[RL_CODEC_ERROR_SIZE];
    int rc = s_decode_metered(bytes, size, &peak, err);
    if (rc != RL_ERR_BAD_REQUEST || !strstr(err, "entry 0 must be an array"))
        fail_msg("expected entry 0's error, got %s: %s", rl_error_name(rc),
                 err);
    if (peak > 4 * size + S_DECODE_SLACK)
        fail_msg("decoding %zu bytes allocated %zu bytes at peak", size, peak);
    free(bytes);
}

/* The smallest valid items: all the decoder allocates is the array it
   returns. */
static void many_small_entries_cost_only_their_decoded_array(void **state)
{
    (void)state;
    if (!rl_alloc_meter_works())
        skip();
    size_t count = RL_MAX_BATCH_ENTRIES;
    static const uint8_t peer_entry[] = {0x95, 0, 0, 0, 0, 0xa0};
    static const uint8_t client_entry[] = {0xa0};
    uint8_t *tail = malloc(5 + count * sizeof(peer_entry));
    assert_non_null(tail);
    s_array32(tail, (uint32_t)count);
    for (int peer = 0; peer < 2; peer++) {
        size_t item_size = peer ? sizeof(peer_entry) : 1;
        for (size_t i = 0; i < count; i++)
            memcpy(tail + 5 + i * item_size, peer ? peer_entry : client_entry,
                   item_size);
        const char *text =
            peer ? "{version:1, type:5, cluster:\"c\", from:1, term:1, "
                   "prev_index:0, prev_term:0, commit:0, entries:nil}"
                 : "{version:1, type:33, entries:nil}";
        size_t size;
        uint8_t *bytes = s_text_then(text, tail, 5 + count * item_size, &size);
        size_t peak;
        char err[RL_CODEC_ERROR_SIZE];
        int rc = s_decode_metered(bytes, size, &peak, err);
        if (rc != 0)
            fail_msg("%s: %s", peer ? "APPEND" : "APPEND_REQUEST", err);
        size_t array = count * (peer ? sizeof(rl_entry_t) : sizeof(rl_str_t));
        if (peak > array + S_DECODE_SLACK)
            fail_msg("%s of %zu bytes: %zu bytes at peak for a %zu-byte array",
                     peer ? "APPEND" : "APPEND_REQUEST", size, peak, array);
        free(bytes);
    }
    free(tail);
}

/* RL_MAX_LOGS logs decode; one more is refused before an item is
   decoded or the array allocated, in LOGS_OK and STATUS_OK alike, whether
   the bytes for them are there or not (4 billion declared). */
static void logs_over_the_limit_are_refused_before_allocating(void **state)
{
    (void)state;
    /* The smallest valid log map: {name: "a", group: 0}, 15 bytes. */
    static const uint8_t item[] = {0x82, 0xa4, 'n', 'a', 'm', 'e', 0xa1, 'a',
                                   0xa5, 'g',  'r', 'o', 'u', 'p', 0x00};
    size_t count = RL_MAX_LOGS;
    uint8_t *tail = malloc(5 + (count + 1) * sizeof(item));
    assert_non_null(tail);
    s_array32(tail, (uint32_t)count);
    for (size_t i = 0; i <= count; i++)
        memcpy(tail + 5 + i * sizeof(item), item, sizeof(item));
    size_t size;
    uint8_t *bytes = s_text_then("{version:1, type:71, logs:nil}", tail,
                                 5 + count * sizeof(item), &size);
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    assert_int_equal(rl_codec_decode(bytes, size, &msg, err), 0);
    assert_int_equal(msg.body.logs_ok.log_count, RL_MAX_LOGS);
    assert_int_equal(msg.body.logs_ok.logs[RL_MAX_LOGS - 1].name.size, 1);
    rl_msg_close(&msg);
    free(bytes);

    static const char *const texts[] = {
        "{version:1, type:71, logs:nil}",
        ("{version:1, type:67, node:1, role:\"x\", term:1, leader:1, "
         "commit:1, last:1, first:1, members:[], logs:nil}"),
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        s_array32(tail, (uint32_t)count + 1);
        bytes =
            s_text_then(texts[i], tail, 5 + (count + 1) * sizeof(item), &size);
        size_t peak;
        int rc = s_decode_metered(bytes, size, &peak, err);
        if (rc != RL_ERR_TOO_LARGE || !strstr(err, "'logs' has 10002 items"))
            fail_msg("case %zu: expected TOO_LARGE, got %s: %s", i,
                     rl_error_name(rc), err);
        if (rl_alloc_meter_works() && peak > S_DECODE_SLACK)
            fail_msg("case %zu: %zu bytes at peak", i, peak);
        free(bytes);
    }
    free(tail);
}

/* The encoder holds the logs it writes to the rule the decoder reads them
   by: a node never lists a log a client would refuse. */
static void the_encoder_refuses_a_log_not_named_as_logs_are(void **state)
{
    (void)state;
    char long_name[RL_MAX_LOG_NAME + 2];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    static const struct {
        const char *name;
        int code;
    } cases[] = {{"Orders", RL_ERR_BAD_REQUEST},
                 {"", RL_ERR_BAD_REQUEST},
                 {".", RL_ERR_BAD_REQUEST},
                 {NULL, RL_ERR_TOO_LARGE}}; /* NULL: long_name */
    rl_buf_t buf;
    rl_buf_init(&buf);
    char err[RL_CODEC_ERROR_SIZE];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rl_log_desc_t log = {
            .name = rl_str(cases[i].name ? cases[i].name : long_name),
            .group = 1};
        for (int status = 0; status < 2; status++) {
            rl_msg_t msg;
            rl_msg_init(&msg, status ? RL_MSG_STATUS_OK : RL_MSG_LOGS_OK);
            if (status) {
                msg.body.status_ok.id = 1;
                msg.body.status_ok.logs = &log;
                msg.body.status_ok.log_count = 1;
            } else {
                msg.body.logs_ok = (rl_logs_ok_t){&log, 1};
            }
            int rc = rl_codec_encode(&msg, &buf, err);
            if (rc != cases[i].code || !strstr(err, "'name'"))
                fail_msg("'%s' in %s: expected %s, got %s: %s",
                         cases[i].name ? cases[i].name : "a*65",
                         status ? "STATUS_OK" : "LOGS_OK",
                         rl_error_name(cases[i].code), rl_error_name(rc), err);
            assert_int_equal(buf.size, 0); /* no half message left behind */
        }
    }
    rl_buf_close(&buf);
}

static void log_names_follow_the_rule(void **state)
{
    (void)state;
    assert_true(rl_log_name_valid(rl_str("orders")));
    assert_true(rl_log_name_valid(rl_str("default")));
    assert_true(rl_log_name_valid(rl_str("a.b_c-9")));
    assert_true(rl_log_name_valid(rl_str("...")));
    assert_true(rl_log_name_valid((rl_str_t){"orders!", 6})); /* a slice */
    char longest[RL_MAX_LOG_NAME + 1];
    memset(longest, 'x', sizeof(longest));
    assert_true(rl_log_name_valid((rl_str_t){longest, RL_MAX_LOG_NAME}));
    assert_false(rl_log_name_valid((rl_str_t){longest, RL_MAX_LOG_NAME + 1}));
    assert_false(rl_log_name_valid((rl_str_t){NULL, 0}));
    assert_false(rl_log_name_valid(rl_str("Orders")));
    assert_false(rl_log_name_valid(rl_str("or ders")));
    assert_false(rl_log_name_valid(rl_str("a/b")));
    assert_false(rl_log_name_valid(rl_str(".")));
    assert_false(rl_log_name_valid(rl_str("..")));
    assert_false(rl_log_name_valid((rl_str_t){"a\0b", 3}));
}

/* Raw byte cases: framing errors no text can express. */
static void s_expect_raw(const uint8_t *bytes, size_t size, int code,
                         const char *says)
{
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    int rc = rl_codec_decode(bytes, size, &msg, err);
    if (rc != code || !strstr(err, says))
        fail_msg("expected %s with \"%s\", got %s: %s", rl_error_name(code),
                 says, rl_error_name(rc), err);
    rl_msg_close(&msg);
}

static void an_empty_buffer_is_refused(void **state)
{
    (void)state;
    s_expect_raw((const uint8_t *)"", 0, RL_ERR_BAD_REQUEST, "empty message");
}

static void a_huge_declared_array_is_refused_before_allocating(void **state)
{
    (void)state;
    /* {"entries": array32 of 4 billion items}: five bytes of promise. */
    static const uint8_t bytes[] = {0x81, 0xa7, 'e',  'n',  't',  'r',  'i',
                                    'e',  's',  0xdd, 0xff, 0xff, 0xff, 0xff};
    s_expect_raw(bytes, sizeof(bytes), RL_ERR_BAD_REQUEST,
                 "declares 4294967295 items but only 0 bytes follow");
    static const uint8_t map32[] = {0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01};
    s_expect_raw(map32, sizeof(map32), RL_ERR_BAD_REQUEST, "declares");
}

static void the_never_used_byte_is_refused(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0x81, 0xc1, 0x01};
    s_expect_raw(bytes, sizeof(bytes), RL_ERR_BAD_REQUEST,
                 "byte 0xc1 at offset 1 is not msgpack");
}

static void trailing_garbage_is_refused(void **state)
{
    (void)state;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_text("{version:1, type:35}", &sbuf);
    msgpack_sbuffer_write(&sbuf, "\x00\x01", 2);
    s_expect_raw((const uint8_t *)sbuf.data, sbuf.size, RL_ERR_BAD_REQUEST,
                 "2 bytes of trailing data");
    msgpack_sbuffer_destroy(&sbuf);
}

static void a_message_over_the_size_limit_is_refused(void **state)
{
    (void)state;
    static const uint8_t byte = 0x80;
    s_expect_raw(&byte, (size_t)RL_MAX_MESSAGE_SIZE + 1, RL_ERR_TOO_LARGE,
                 "over the limit");
}

static void every_truncation_of_every_sample_is_refused_cleanly(void **state)
{
    (void)state;
    const rl_msg_t *samples;
    size_t count = rl_samples(&samples);
    rl_buf_t buf;
    rl_buf_init(&buf);
    for (size_t i = 0; i < count; i++) {
        rl_buf_reset(&buf);
        assert_int_equal(rl_codec_encode(&samples[i], &buf, NULL), 0);
        for (size_t cut = 0; cut < buf.size; cut++) {
            /* A copy of exactly cut bytes, so ASan sees any over-read. */
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, buf.data, cut);
            rl_msg_t msg;
            char err[RL_CODEC_ERROR_SIZE];
            int rc = rl_codec_decode(copy, cut, &msg, err);
            if (rc == 0)
                fail_msg("sample %zu cut at %zu of %zu decoded", i, cut,
                         buf.size);
            rl_msg_close(&msg);
            free(copy);
        }
    }
    rl_buf_close(&buf);
}

static void error_and_type_names_are_stable(void **state)
{
    (void)state;
    assert_string_equal(rl_error_name(RL_ERR_TIMEOUT), "TIMEOUT");
    assert_string_equal(rl_error_name(RL_ERR_NO_SPACE), "NO_SPACE");
    assert_string_equal(rl_error_name(999), "UNKNOWN");
    assert_string_equal(rl_msg_type_name(RL_MSG_APPEND_REQUEST),
                        "APPEND_REQUEST");
    assert_string_equal(rl_msg_type_name(200), "UNKNOWN");
    for (int code = 0; code < RL_ERR__COUNT; code++)
        assert_string_not_equal(rl_error_name(code), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_sample_message_survives_a_round_trip),
        cmocka_unit_test(every_message_type_has_a_sample),
        cmocka_unit_test(decoded_payloads_point_into_the_input_buffer),
        cmocka_unit_test(a_batch_of_the_maximum_size_round_trips),
        cmocka_unit_test(an_entry_of_the_maximum_size_round_trips),
        cmocka_unit_test(the_encoder_refuses_an_entry_over_the_limit),
        cmocka_unit_test(the_encoder_refuses_a_peer_message_without_sender),
        cmocka_unit_test(the_documented_append_request_example_is_exact),
        cmocka_unit_test(the_documented_time_and_consumer_examples_are_exact),
        cmocka_unit_test(the_documented_named_log_examples_are_exact),
        cmocka_unit_test(a_log_name_is_bounded_and_read_where_it_belongs),
        cmocka_unit_test(a_read_reply_with_times_reads_without_them_too),
        cmocka_unit_test(each_malformed_message_gets_its_specific_error),
        cmocka_unit_test(a_forwarded_identity_is_read_on_requests_only),
        cmocka_unit_test(a_peer_entry_time_is_an_optional_sixth_item),
        cmocka_unit_test(unknown_keys_are_ignored_for_forward_compatibility),
        cmocka_unit_test(an_error_keeps_the_request_id_for_the_reply),
        cmocka_unit_test(every_error_after_a_readable_id_keeps_the_id),
        cmocka_unit_test(an_error_for_bytes_after_the_map_keeps_the_request_id),
        cmocka_unit_test(
            an_error_for_a_huge_array_after_the_id_keeps_the_request_id),
        cmocka_unit_test(
            an_error_for_broken_msgpack_after_the_id_keeps_the_request_id),
        cmocka_unit_test(integers_are_read_in_every_msgpack_encoding),
        cmocka_unit_test(
            a_nil_array_under_an_unknown_key_is_skipped_without_materialising),
        cmocka_unit_test(a_deeply_nested_value_under_an_unknown_key_is_skipped),
        cmocka_unit_test(
            a_huge_declared_count_with_few_bytes_allocates_nothing),
        cmocka_unit_test(
            entries_too_small_to_be_valid_are_refused_before_allocating),
        cmocka_unit_test(many_small_entries_cost_only_their_decoded_array),
        cmocka_unit_test(logs_over_the_limit_are_refused_before_allocating),
        cmocka_unit_test(the_encoder_refuses_a_log_not_named_as_logs_are),
        cmocka_unit_test(log_names_follow_the_rule),
        cmocka_unit_test(an_empty_buffer_is_refused),
        cmocka_unit_test(a_huge_declared_array_is_refused_before_allocating),
        cmocka_unit_test(the_never_used_byte_is_refused),
        cmocka_unit_test(trailing_garbage_is_refused),
        cmocka_unit_test(a_message_over_the_size_limit_is_refused),
        cmocka_unit_test(every_truncation_of_every_sample_is_refused_cleanly),
        cmocka_unit_test(error_and_type_names_are_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

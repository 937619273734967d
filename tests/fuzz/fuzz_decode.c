/*  fuzz_decode.c - libFuzzer target for the protocol decoder.

    Any byte string must decode to a message or to an error, without a
    crash, an out-of-bounds read or a leak (ASan and UBSan watch). When it
    decodes, encoding the result and decoding that again must give the same
    message: the decoder accepts nothing the encoder cannot say.

    And no input may make decoding allocate out of proportion to its size
    (issue 12: 60 MiB of nils once cost a node 1.5 GB). The heap meter
    (tests/common/alloc_meter.c) gives the peak of bytes live during the
    decode, and the link wraps rl_msg_alloc to count the arrays the decoder
    returns (entries, members, counters). The target aborts when
    - the peak exceeds 4 x the input + 4 KiB besides those arrays (today
      the decoder allocates nothing else at all), or
    - the arrays exceed what the protocol's limits allow: 19 bytes per
      input byte (an item is at most 56 bytes, rl_entry_t, and takes 3
      bytes of input at least, a READ_OK entry) and 3.6 MiB in all (65,536
      entries, 16 members, 256 counters).

    The broker's in-place reading (rl_peek.h) gets every input too: it
    must not crash or allocate at all; of a request or a reply that
    decodes it must read what the decoder read (a `log` it refuses aside:
    the decoder of today skips that key), and written again with new
    header values it must decode to the same message with those values.

    Run longer than the test suite does (see docs/RELIABILITY.md):
        build/test/tests/fuzz/fuzz_decode -max_total_time=600 \
            build/test/tests/fuzz/corpus build/test/tests/fuzz/seed
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_meter.h"
#include "rl_codec.h"
#include "rl_peek.h"
#include "samples.h"

/* What decoding may allocate besides its arrays, over 4 bytes an input
   byte: room for a runtime's small buffers and the arrays' block headers. */
#define S_SLACK 4096

/* The most the arrays of one message can take. */
#define S_MAX_ARRAY_BYTES                                                      \
    (RL_MAX_BATCH_ENTRIES * sizeof(rl_entry_t) +                               \
     RL_MAX_MEMBERS * sizeof(rl_member_status_t) +                             \
     256 * sizeof(rl_counter_t) + 3)

/* Bytes the decoder asked rl_msg_alloc for since the last reset (the link
   has -Wl,--wrap=rl_msg_alloc). */
static size_t s_array_bytes;

void *__real_rl_msg_alloc(rl_msg_t *msg, size_t size);
void *__wrap_rl_msg_alloc(rl_msg_t *msg, size_t size);

void *__wrap_rl_msg_alloc(rl_msg_t *msg, size_t size)
{
    s_array_bytes += size;
    return __real_rl_msg_alloc(msg, size);
}

static void s_check_memory(size_t size, size_t peak, size_t arrays)
{
    size_t per_input_byte = sizeof(rl_entry_t) / 3 + 1;
    if (peak > 4 * size + S_SLACK + arrays || arrays > S_MAX_ARRAY_BYTES ||
        arrays > per_input_byte * size + 3) {
        fprintf(stderr,
                "decoding %zu bytes allocated %zu bytes at peak, %zu of "
                "them for the decoded arrays\n",
                size, peak, arrays);
        abort();
    }
}

static void s_fail(const char *what, const rl_msg_t *msg, const char *err)
{
    fprintf(stderr, "peek of a %s: %s (%s)\n", rl_msg_type_name(msg->type),
            what, err);
    abort();
}

/* A request that decoded to msg: peeked the same, forwarded unchanged
   but for the new values. */
static void s_check_request(const uint8_t *data, size_t size,
                            const rl_msg_t *msg, const rl_peek_request_t *peek)
{
    bool same = peek->type == msg->type && peek->id == msg->id &&
                peek->as_key.size == msg->as_key.size &&
                peek->as_role.size == msg->as_role.size &&
                (msg->type != RL_MSG_APPEND_REQUEST ||
                 (peek->producer == msg->body.append_request.producer_id &&
                  peek->seq == msg->body.append_request.seq)) &&
                (msg->type != RL_MSG_READ_REQUEST ||
                 peek->wait_ms == msg->body.read_request.wait_ms) &&
                (msg->type != RL_MSG_MEMBERS_REQUEST ||
                 peek->op == msg->body.members_request.op);
    if (!same)
        s_fail("read other values than the decoder", msg, "");
    rl_peek_forward_t how = {size, true, (uint32_t)size,
                             rl_str("0123456789012345678901234567890123456789"),
                             rl_str("producer")};
    how.set_wait = msg->type == RL_MSG_READ_REQUEST;
    size_t out_size = rl_peek_forward_size(peek, size, &how);
    uint8_t *out = malloc(out_size);
    if (!out || rl_peek_forward(data, size, peek, &how, out) != out_size)
        s_fail("forward wrote another size than it said", msg, "");
    rl_msg_t got, want = *msg;
    want.id = how.id;
    want.as_key = how.as_key;
    want.as_role = how.as_role;
    if (how.set_wait)
        want.body.read_request.wait_ms = how.wait_ms;
    char err[RL_CODEC_ERROR_SIZE];
    if (rl_codec_decode(out, out_size, &got, err) != 0 ||
        !rl_msg_equal(&got, &want))
        s_fail("forwarded, it decodes to another message", msg, err);
    rl_msg_close(&got);
    free(out);
}

/* A reply that decoded to msg: peeked the same, written again with
   another id. */
static void s_check_reply(const uint8_t *data, size_t size, const rl_msg_t *msg,
                          const rl_peek_reply_t *peek)
{
    if (peek->type != msg->type || peek->id != msg->id ||
        (msg->type == RL_MSG_ERROR && peek->code != msg->body.error.code) ||
        (msg->type == RL_MSG_NOT_LEADER &&
         (peek->leader != msg->body.not_leader.leader ||
          peek->endpoint.size != msg->body.not_leader.leader_addr.size)))
        s_fail("read other values than the decoder", msg, "");
    uint64_t id = size & 1 ? 0 : size;
    size_t out_size = rl_peek_reply_size(peek, size, id);
    uint8_t *out = malloc(out_size);
    if (!out || rl_peek_reply_write(data, size, peek, id, out) != out_size)
        s_fail("wrote another size than it said", msg, "");
    rl_msg_t got, want = *msg;
    want.id = id;
    char err[RL_CODEC_ERROR_SIZE];
    if (rl_codec_decode(out, out_size, &got, err) != 0 ||
        !rl_msg_equal(&got, &want))
        s_fail("written again, it decodes to another message", msg, err);
    rl_msg_close(&got);
    free(out);
}

/* The peeks of any input: nothing allocated; of a decoded request or
   reply, what the decoder read. */
static void s_check_peek(const uint8_t *data, size_t size, int decoded,
                         const rl_msg_t *msg)
{
    rl_peek_request_t request;
    rl_peek_reply_t reply;
    char err[RL_CODEC_ERROR_SIZE], reply_err[RL_CODEC_ERROR_SIZE];
    rl_alloc_meter_start();
    int rc = rl_peek_request(data, size, &request, err);
    int reply_rc = rl_peek_reply(data, size, &reply, reply_err);
    if (rl_alloc_meter_stop() != 0)
        s_fail("allocated", msg, "");
    if (decoded != 0)
        return;
    if (rl_msg_is_request(msg->type)) {
        if (rc != 0 && !strstr(err, "'log'"))
            s_fail("refused a request the decoder took", msg, err);
        if (rc == 0)
            s_check_request(data, size, msg, &request);
    } else if (msg->type >= RL_MSG_APPEND_OK) {
        if (reply_rc != 0 && !strstr(reply_err, "'log'"))
            s_fail("refused a reply the decoder took", msg, reply_err);
        if (reply_rc == 0)
            s_check_reply(data, size, msg, &reply);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rl_alloc_meter_works()) {
        fprintf(stderr, "fuzz_decode: the heap meter needs ASan\n");
        abort();
    }
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    s_array_bytes = 0;
    rl_alloc_meter_start();
    int rc = rl_codec_decode(data, size, &msg, err);
    size_t peak = rl_alloc_meter_stop();
    s_check_memory(size, peak, s_array_bytes);
    s_check_peek(data, size, rc, &msg);
    if (rc == 0) {
        rl_buf_t buf;
        rl_buf_init(&buf);
        if (rl_codec_encode(&msg, &buf, err) != 0) {
            fprintf(stderr, "decoded %s but cannot encode it: %s\n",
                    rl_msg_type_name(msg.type), err);
            abort();
        }
        rl_msg_t again;
        if (rl_codec_decode(buf.data, buf.size, &again, err) != 0 ||
            !rl_msg_equal(&msg, &again)) {
            fprintf(stderr, "%s changed in a round trip: %s\n",
                    rl_msg_type_name(msg.type), err);
            abort();
        }
        rl_msg_close(&again);
        rl_buf_close(&buf);
    }
    rl_msg_close(&msg);
    return 0;
}

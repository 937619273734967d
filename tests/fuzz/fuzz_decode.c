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

    Run longer than the test suite does (see docs/RELIABILITY.md):
        build/test/tests/fuzz/fuzz_decode -max_total_time=600 \
            build/test/tests/fuzz/corpus build/test/tests/fuzz/seed
*/
#include <stdio.h>
#include <stdlib.h>

#include "alloc_meter.h"
#include "rl_codec.h"
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

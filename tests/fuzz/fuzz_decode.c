/*  fuzz_decode.c - libFuzzer target for the protocol decoder.

    Any byte string must decode to a message or to an error, without a
    crash, an out-of-bounds read or a leak (ASan and UBSan watch). When it
    decodes, encoding the result and decoding that again must give the same
    message: the decoder accepts nothing the encoder cannot say.

    Run longer than the test suite does (see README):
        build/test/tests/fuzz/fuzz_decode -max_total_time=600 \
            build/test/tests/fuzz/corpus build/test/tests/fuzz/seed
*/
#include <stdio.h>
#include <stdlib.h>

#include "rl_codec.h"
#include "samples.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    if (rl_codec_decode(data, size, &msg, err) == 0) {
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

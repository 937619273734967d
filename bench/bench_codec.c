/*  bench_codec.c - raftlog-bench codec: the cost of decoding the two
    messages that carry entries on the hot path, a client's APPEND_REQUEST
    batch and a leader's peer APPEND, each with 100-byte entries.

    It prints nanoseconds per decode (wall clock, noisy on a shared
    machine). For figures that do not move with the load, count
    instructions instead; only rl_codec_decode is counted:
        valgrind --tool=callgrind --toggle-collect=rl_codec_decode \
            raftlog-bench codec --iterations 200 --message request
    (then --message append) and divide the "Collected" total by the decodes the
   run reports.
*/
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "rl_codec.h"

/* Encodes msg into buf; returns 0 or prints why not. */
static int s_encode(const rl_msg_t *msg, rl_buf_t *buf)
{
    char err[RL_CODEC_ERROR_SIZE];
    if (rl_codec_encode(msg, buf, err) != 0) {
        fprintf(stderr, "raftlog-bench codec: cannot encode: %s\n", err);
        return -1;
    }
    return 0;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Decodes buf iterations times; prints ns per decode. */
static int s_time_decode(const char *what, const rl_buf_t *buf,
                         unsigned iterations)
{
    char err[RL_CODEC_ERROR_SIZE];
    double start = s_now();
    for (unsigned i = 0; i < iterations; i++) {
        rl_msg_t msg;
        if (rl_codec_decode(buf->data, buf->size, &msg, err) != 0) {
            fprintf(stderr, "raftlog-bench codec: cannot decode %s: %s\n", what,
                    err);
            rl_msg_close(&msg);
            return -1;
        }
        rl_msg_close(&msg);
    }
    double seconds = s_now() - start;
    printf("decode %-34s %7zu bytes  %9.0f ns  (%u decodes)\n", what, buf->size,
           seconds * 1e9 / iterations, iterations);
    return 0;
}

int bench_codec(int argc, char **argv)
{
    unsigned iterations = 2000;
    const char *only = "both";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            iterations = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--message") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: raftlog-bench codec [--iterations N] "
                    "[--message request|append|both]\n"
                    "  --iterations N  decodes of each message "
                    "(default 2000)\n"
                    "  --message M     only the APPEND_REQUEST (request) or "
                    "the peer APPEND (append)\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (iterations == 0) {
        fprintf(stderr, "raftlog-bench codec: --iterations must be > 0\n");
        return 2;
    }
    enum { CLIENT_ENTRIES = 256, PEER_ENTRIES = 1024, ENTRY_SIZE = 100 };
    static uint8_t payload[ENTRY_SIZE];
    memset(payload, 'x', sizeof(payload));

    rl_str_t client_entries[CLIENT_ENTRIES];
    for (size_t i = 0; i < CLIENT_ENTRIES; i++)
        client_entries[i] = (rl_str_t){(const char *)payload, ENTRY_SIZE};
    rl_msg_t request;
    rl_msg_init(&request, RL_MSG_APPEND_REQUEST);
    request.id = 12345;
    request.body.append_request = (rl_append_request_t){
        0x1234567890abcdefULL, 77, client_entries, CLIENT_ENTRIES};

    static rl_entry_t peer_entries[PEER_ENTRIES];
    for (size_t i = 0; i < PEER_ENTRIES; i++)
        peer_entries[i] = (rl_entry_t){.term = 7,
                                       .type = RL_ENTRY_NORMAL,
                                       .producer_id = 0x1234567890abcdefULL,
                                       .seq = 77 + i / 256,
                                       .data = payload,
                                       .size = ENTRY_SIZE};
    rl_msg_t append;
    rl_msg_init(&append, RL_MSG_APPEND);
    append.cluster = rl_str("raftlog");
    append.from = 1;
    append.body.append =
        (rl_append_t){7, 100000, 7, 99999, peer_entries, PEER_ENTRIES, false};

    rl_buf_t request_buf, append_buf;
    rl_buf_init(&request_buf);
    rl_buf_init(&append_buf);
    int rc = 1;
    bool request_too = strcmp(only, "append") != 0;
    bool append_too = strcmp(only, "request") != 0;
    if (s_encode(&request, &request_buf) == 0 &&
        s_encode(&append, &append_buf) == 0 &&
        (!request_too || s_time_decode("APPEND_REQUEST, 256 entries",
                                       &request_buf, iterations) == 0) &&
        (!append_too || s_time_decode("APPEND (peer), 1024 entries",
                                      &append_buf, iterations) == 0))
        rc = 0;
    rl_buf_close(&request_buf);
    rl_buf_close(&append_buf);
    return rc;
}

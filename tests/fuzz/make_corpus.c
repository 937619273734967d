/*  make_corpus.c - writes the seed corpus of the decoder fuzzer: one file
    per sample message of tests/common/samples.c, encoded. Generated at
    test time rather than committed, so that it follows the protocol.

    Usage: make_corpus SEED_DIR [CORPUS_DIR]  (both are created) */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rl_codec.h"
#include "samples.h"

static int s_mkdir(const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_corpus: cannot create %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: make_corpus SEED_DIR [CORPUS_DIR]\n");
        return 2;
    }
    if (s_mkdir(argv[1]) || (argc > 2 && s_mkdir(argv[2])))
        return 1;
    const rl_msg_t *samples;
    size_t count = rl_samples(&samples);
    rl_buf_t buf;
    rl_buf_init(&buf);
    for (size_t i = 0; i < count; i++) {
        rl_buf_reset(&buf);
        char err[RL_CODEC_ERROR_SIZE];
        if (rl_codec_encode(&samples[i], &buf, err) != 0) {
            fprintf(stderr, "make_corpus: sample %zu: %s\n", i, err);
            return 1;
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s/sample-%02zu-%s", argv[1], i,
                 rl_msg_type_name(samples[i].type));
        FILE *file = fopen(path, "wb");
        if (!file || fwrite(buf.data, 1, buf.size, file) != buf.size ||
            fclose(file) != 0) {
            fprintf(stderr, "make_corpus: cannot write %s\n", path);
            return 1;
        }
    }
    rl_buf_close(&buf);
    printf("make_corpus: %zu seeds in %s\n", count, argv[1]);
    return 0;
}

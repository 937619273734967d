/*  test_crc32c.c - CRC32C (node/storage/rl_crc32c.h): both paths against RFC
   3720 vectors and against each other.
*/
#include "rl_crc32c.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static void test_crc32c_software_path_matches_known_vectors(void **state)
{
    (void)state;
    assert_int_equal(rl_crc32c_software(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(rl_crc32c_software(0, "", 0), 0);
    uint8_t zeros[32] = {0}, ones[32];
    memset(ones, 0xFF, sizeof ones);
    /* RFC 3720 (iSCSI) appendix B.4 vectors. */
    assert_int_equal(rl_crc32c_software(0, zeros, 32), 0x8A9136AAu);
    assert_int_equal(rl_crc32c_software(0, ones, 32), 0x62A8AB43u);
    /* Incremental use equals one call. */
    uint32_t crc = rl_crc32c_software(0, "1234", 4);
    assert_int_equal(rl_crc32c_software(crc, "56789", 5), 0xE3069283u);
}

static void
test_crc32c_hardware_path_matches_known_vectors_and_software(void **state)
{
    (void)state;
    if (!rl_crc32c_hardware_available())
        skip();
    assert_int_equal(rl_crc32c_hardware(0, "123456789", 9), 0xE3069283u);
    uint8_t zeros[32] = {0};
    assert_int_equal(rl_crc32c_hardware(0, zeros, 32), 0x8A9136AAu);
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    for (size_t start = 0; start < 9; start++)
        for (size_t size = 0; size + start <= sizeof data; size += 13)
            assert_int_equal(rl_crc32c_hardware(5, data + start, size),
                             rl_crc32c_software(5, data + start, size));
    /* Lengths around the three-stream blocks (3 x 256, 3 x 8192). */
    size_t big = 3 * 8192 * 2 + 3 * 256 * 2 + 100;
    uint8_t *random = malloc(big);
    uint64_t x = 88172645463325252u;
    for (size_t i = 0; i < big; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        random[i] = (uint8_t)x;
    }
    static const size_t sizes[] = {767,   768,   769,   1000,  1543, 4137,
                                   24575, 24576, 24577, 25344, 50000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t start = 0; start < 3; start++)
            assert_int_equal(rl_crc32c_hardware(0, random + start, sizes[i]),
                             rl_crc32c_software(0, random + start, sizes[i]));
    assert_int_equal(rl_crc32c_hardware(7, random, big),
                     rl_crc32c_software(7, random, big));
    free(random);
    assert_int_equal(rl_crc32c(0, "123456789", 9), 0xE3069283u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_software_path_matches_known_vectors),
        cmocka_unit_test(
            test_crc32c_hardware_path_matches_known_vectors_and_software),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  rl_crc32c.c - CRC32C with the SSE4.2 instruction or slicing-by-8.

    The tables are built by a constructor, before main(), so that no thread
    can ever see them half built and no call needs a "have we initialised"
    branch. Building them takes about 40,000 table lookups.
*/
#include "rl_crc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

/* Reflected Castagnoli polynomial. */
#define CRC32C_POLY 0x82F63B78u

/* The instruction has a latency of 3 cycles but can start one every
   cycle, so the hardware path runs three independent streams over
   adjacent blocks and joins them: the CRC is linear, so the CRC of A then
   B is the CRC of A "shifted" over len(B) zero bytes, xor the CRC of B
   from zero. The shift is a 32x32 bit matrix, kept as four byte tables
   per block size (the approach of Mark Adler's crc32c.c). */
#define BLOCK_LONG  8192u /* each stream's block for long buffers */
#define BLOCK_SHORT 256u  /* ...and for the rest, down to 768 bytes */

/* s_table[k][b]: CRC of byte b followed by k zero bytes. */
static uint32_t s_table[8][256];
/* s_long[k][b]: byte k of a CRC state equal to b, shifted BLOCK_LONG. */
static uint32_t s_long[4][256];
/* s_short[k][b]: the same for BLOCK_SHORT. */
static uint32_t s_short[4][256];
/* Chosen once by the constructor: the instruction when the CPU has it. */
static bool s_hardware;

/* Runs a raw CRC state (no inversions) over size zero bytes, size a
   multiple of 8. */
static uint32_t s_zeros(uint32_t crc, size_t size)
{
    for (; size; size -= 8)
        crc = s_table[7][crc & 0xFF] ^ s_table[6][(crc >> 8) & 0xFF] ^
              s_table[5][(crc >> 16) & 0xFF] ^ s_table[4][crc >> 24];
    return crc;
}

/* Builds the tables that shift a state over size zero bytes, from the
   images of the 32 single-bit states (the operator is linear). */
static void s_shift_table(uint32_t table[4][256], size_t size)
{
    uint32_t image[32];
    for (int bit = 0; bit < 32; bit++)
        image[bit] = s_zeros(1u << bit, size);
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t value = 0;
            for (int bit = 0; bit < 8; bit++)
                if (b >> bit & 1)
                    value ^= image[8 * k + bit];
            table[k][b] = value;
        }
}

static uint32_t s_shift(const uint32_t table[4][256], uint32_t crc)
{
    return table[0][crc & 0xFF] ^ table[1][(crc >> 8) & 0xFF] ^
           table[2][(crc >> 16) & 0xFF] ^ table[3][crc >> 24];
}

__attribute__((constructor)) static void s_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t crc = b;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1) ? (crc >> 1) ^ CRC32C_POLY : crc >> 1;
        s_table[0][b] = crc;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            s_table[k][b] =
                (s_table[k - 1][b] >> 8) ^ s_table[0][s_table[k - 1][b] & 0xFF];
    s_shift_table(s_long, BLOCK_LONG);
    s_shift_table(s_short, BLOCK_SHORT);
#if defined(__x86_64__)
    __builtin_cpu_init();
    s_hardware = __builtin_cpu_supports("sse4.2");
#endif
}

uint32_t rl_crc32c_software(uint32_t crc, const void *data, size_t size)
{
    const uint8_t *p = data;
    crc = ~crc;
    while (size >= 8) {
        /* Byte by byte rather than one 64-bit load, so the result does not
           depend on the host's byte order. */
        uint32_t low = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                              (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = s_table[7][low & 0xFF] ^ s_table[6][(low >> 8) & 0xFF] ^
              s_table[5][(low >> 16) & 0xFF] ^ s_table[4][low >> 24] ^
              s_table[3][p[4]] ^ s_table[2][p[5]] ^ s_table[1][p[6]] ^
              s_table[0][p[7]];
        p += 8;
        size -= 8;
    }
    while (size--)
        crc = (crc >> 8) ^ s_table[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

bool rl_crc32c_hardware_available(void)
{
    return s_hardware;
}

#if defined(__x86_64__)
/* Compiled for SSE4.2 whatever the build flags say; only reached after the
   run-time check above. */
static inline uint64_t s_load64(const uint8_t *p)
{
    uint64_t word;
    memcpy(&word, p, 8); /* an unaligned load, one instruction */
    return word;
}

/* Compiled for SSE4.2 whatever the build flags say; only reached after the
   run-time check above. */
__attribute__((target("sse4.2"))) uint32_t
rl_crc32c_hardware(uint32_t crc, const void *data, size_t size)
{
    const uint8_t *p = data;
    uint64_t value = ~crc;
    while (size >= 3 * BLOCK_LONG) {
        uint64_t value1 = 0, value2 = 0;
        for (size_t i = 0; i < BLOCK_LONG; i += 8) {
            value = _mm_crc32_u64(value, s_load64(p + i));
            value1 = _mm_crc32_u64(value1, s_load64(p + BLOCK_LONG + i));
            value2 = _mm_crc32_u64(value2, s_load64(p + 2 * BLOCK_LONG + i));
        }
        value = s_shift(s_long, (uint32_t)value) ^ (uint32_t)value1;
        value = s_shift(s_long, (uint32_t)value) ^ (uint32_t)value2;
        p += 3 * BLOCK_LONG;
        size -= 3 * BLOCK_LONG;
    }
    while (size >= 3 * BLOCK_SHORT) {
        uint64_t value1 = 0, value2 = 0;
        for (size_t i = 0; i < BLOCK_SHORT; i += 8) {
            value = _mm_crc32_u64(value, s_load64(p + i));
            value1 = _mm_crc32_u64(value1, s_load64(p + BLOCK_SHORT + i));
            value2 = _mm_crc32_u64(value2, s_load64(p + 2 * BLOCK_SHORT + i));
        }
        value = s_shift(s_short, (uint32_t)value) ^ (uint32_t)value1;
        value = s_shift(s_short, (uint32_t)value) ^ (uint32_t)value2;
        p += 3 * BLOCK_SHORT;
        size -= 3 * BLOCK_SHORT;
    }
    while (size >= 8) {
        value = _mm_crc32_u64(value, s_load64(p));
        p += 8;
        size -= 8;
    }
    uint32_t value32 = (uint32_t)value;
    while (size--)
        value32 = _mm_crc32_u8(value32, *p++);
    return ~value32;
}
#else
uint32_t rl_crc32c_hardware(uint32_t crc, const void *data, size_t size)
{
    return rl_crc32c_software(crc, data, size);
}
#endif

uint32_t rl_crc32c(uint32_t crc, const void *data, size_t size)
{
    if (s_hardware)
        return rl_crc32c_hardware(crc, data, size);
    return rl_crc32c_software(crc, data, size);
}

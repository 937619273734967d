/*  rl_crc32c.h - CRC32C (Castagnoli), the checksum of every record on disk.

    CRC32C is used rather than zlib's CRC32 because x86-64 computes it with
    one instruction (SSE4.2 crc32, 8 bytes per instruction), which keeps
    the checksum off the profile of the write path. rl_crc32c() checks the
    CPU once, at load time (__builtin_cpu_supports), and uses the
    instruction when present; otherwise, and on other architectures, it
    falls back to slicing-by-8 tables in software. Both give the same
    result; the tests check both against known vectors.
*/
#ifndef RL_CRC32C_H
#define RL_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) with size bytes of data and returns the new
   value, like zlib's crc32(): rl_crc32c(rl_crc32c(0, a, n), b, m) equals
   the CRC of a followed by b. CRC32C("123456789") is 0xE3069283.
   Thread-safe. */
uint32_t rl_crc32c(uint32_t crc, const void *data, size_t size);

/* The software (slicing-by-8) path, always available. For tests and the
   benchmark; everything else calls rl_crc32c(). */
uint32_t rl_crc32c_software(uint32_t crc, const void *data, size_t size);

/* True when this CPU has the SSE4.2 crc32 instruction. */
bool rl_crc32c_hardware_available(void);

/* The instruction path. Must only be called when
   rl_crc32c_hardware_available() is true (it would fault otherwise). */
uint32_t rl_crc32c_hardware(uint32_t crc, const void *data, size_t size);

#endif

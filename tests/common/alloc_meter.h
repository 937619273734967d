/*  alloc_meter.h - measures how much heap a stretch of code uses: the peak
    of bytes allocated and not yet freed between rl_alloc_meter_start() and
    rl_alloc_meter_stop(), by the calling thread, through the sanitizer
    allocator's malloc and free hooks. They see every allocation, those of
    shared libraries included (msgpack-c's, for instance), which wrapping
    malloc at link time would not.

    Works in the sanitized builds the tests run in (ASan, gcc or clang);
    elsewhere rl_alloc_meter_works() is false and the meter reads 0.
*/
#ifndef RL_TEST_ALLOC_METER_H
#define RL_TEST_ALLOC_METER_H

#include <stdbool.h>
#include <stddef.h>

/* True when the meter can measure in this build. */
bool rl_alloc_meter_works(void);

/* Starts counting from zero (the hooks are installed on the first call). */
void rl_alloc_meter_start(void);

/* Stops counting; returns the peak of bytes live at once since the start
   (blocks allocated before the start and freed since count as negative). */
size_t rl_alloc_meter_stop(void);

#endif

/*  samples.h - example messages of every type, for tests and the fuzz
    corpus. The samples use boundary values (0 and UINT64_MAX indexes and
    terms, empty and maximum batches) and borrow static storage: they stay
    valid for the whole program and must not be closed. */
#ifndef RL_TEST_SAMPLES_H
#define RL_TEST_SAMPLES_H

#include "rl_msg.h"

/* Returns the number of samples and points *samples at them. */
size_t rl_samples(const rl_msg_t **samples);

/* True when a and b hold the same values (deep: entries, members, bytes). */
bool rl_msg_equal(const rl_msg_t *a, const rl_msg_t *b);

#endif

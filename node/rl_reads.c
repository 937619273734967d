/*  rl_reads.c - read planning; see rl_reads.h. */
#include "rl_reads.h"

int rl_read_plan(const rl_read_request_t *req, uint64_t first, uint64_t commit,
                 bool may_wait, rl_read_plan_t *plan)
{
    if (req->from == 0)
        return RL_READ_BAD_FROM;
    if (req->from < first)
        return RL_READ_BELOW_FIRST;
    if (req->from > commit && may_wait && req->wait_ms > 0)
        return RL_READ_WAIT;
    uint32_t max_entries =
        req->max_entries ? req->max_entries : RL_READ_DEFAULT_ENTRIES;
    if (max_entries > RL_MAX_BATCH_ENTRIES)
        max_entries = RL_MAX_BATCH_ENTRIES;
    uint32_t max_bytes =
        req->max_bytes ? req->max_bytes : RL_READ_DEFAULT_BYTES;
    if (max_bytes > RL_READ_MAX_BYTES)
        max_bytes = RL_READ_MAX_BYTES;
    plan->from = req->from;
    plan->count = 0;
    plan->max_bytes = max_bytes;
    if (req->from <= commit) {
        uint64_t ready = commit - req->from + 1;
        plan->count = ready < max_entries ? (size_t)ready : max_entries;
    }
    return RL_READ_NOW;
}

void rl_read_keep_user_entries(rl_entry_t *entries, size_t *count,
                               uint64_t *next)
{
    size_t kept = 0;
    for (size_t i = 0; i < *count; i++) {
        if (entries[i].type == RL_ENTRY_NORMAL)
            entries[kept++] = entries[i];
        *next = entries[i].index + 1;
    }
    *count = kept;
}

bool rl_read_wait_more(const rl_read_request_t *req, size_t kept, uint64_t next,
                       uint64_t commit, bool may_wait)
{
    return kept == 0 && next > commit && may_wait && req->wait_ms > 0;
}

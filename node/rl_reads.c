/*  rl_reads.c - read planning; see rl_reads.h. */
#include "rl_reads.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

int rl_read_start(const rl_read_request_t *req)
{
    int given =
        (req->from != 0) + (req->from_time != 0) + (req->consumer.size != 0);
    if (given != 1)
        return RL_READ_START_BAD;
    return req->from        ? RL_READ_START_INDEX
           : req->from_time ? RL_READ_START_TIME
                            : RL_READ_START_CONSUMER;
}

int rl_read_time_start(uint64_t from_time, uint64_t found, uint64_t first,
                       uint64_t first_time, uint64_t commit, uint64_t *from)
{
    /* The first retained entry is stamped after from_time, and entries
       before it were dropped: some of those may have been stamped at or
       after from_time too. (Equal: the answer is the first retained
       entry, as a client that read first_time from an OUT_OF_RANGE and
       asks again with it expects; entries of that same millisecond
       before it may have gone.) */
    if (first > 1 && from_time < first_time)
        return RL_READ_BELOW_FIRST;
    if (found > commit)
        return RL_READ_WAIT;
    *from = found;
    return RL_READ_NOW;
}

const char *rl_read_time_text(uint64_t ms, char *out)
{
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    if (ms == 0 || ms / 1000 > (uint64_t)INT32_MAX * 2 ||
        !gmtime_r(&seconds, &tm)) {
        snprintf(out, RL_READ_TIME_TEXT, ms ? "%" PRIu64 " ms" : "no time", ms);
        return out;
    }
    snprintf(out, RL_READ_TIME_TEXT, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
    return out;
}

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

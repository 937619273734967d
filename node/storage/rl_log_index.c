/*  rl_log_index.c - the in-memory index of the log, and the questions it
    answers without touching the disk: first and last index, the term of
    any entry, which segment holds an index, how many bytes the log takes.

    Per segment it keeps the file offset of every record, and for the whole
    log the runs of equal terms (a term changes rarely, so this is a
    handful of pairs): a lookup by index is arithmetic plus one pread, a
    term lookup a binary search. 8 bytes per entry; open rebuilds it.
*/
#include "rl_log_internal.h"

#include <errno.h>
#include <string.h>

uint64_t rl_log_first_index(const rl_log_t *log)
{
    if (log->segment_count > 0)
        return log->segments[0].first_index;
    return log->has_snapshot ? log->snapshot_index + 1 : 1;
}

uint64_t rl_log_last_index(const rl_log_t *log)
{
    if (log->segment_count == 0)
        return rl_log_first_index(log) - 1;
    const rl_log_segment_t *last = &log->segments[log->segment_count - 1];
    return last->first_index + last->count - 1;
}

uint64_t rl_log_boundary_term(const rl_log_t *log)
{
    if (log->segment_count > 0)
        return log->segments[0].prev_term;
    return log->has_snapshot ? log->snapshot_term : 0;
}

uint64_t rl_log_last_term(const rl_log_t *log)
{
    return log->run_count ? log->runs[log->run_count - 1].term
                          : rl_log_boundary_term(log);
}

uint64_t rl_log_durable_index(const rl_log_t *log)
{
    return log->durable_index;
}

int rl_log_term(const rl_log_t *log, uint64_t index, uint64_t *term)
{
    uint64_t first = rl_log_first_index(log);
    if (index == 0) {
        *term = 0;
        return 0;
    }
    if (index == first - 1) {
        *term = rl_log_boundary_term(log);
        return 0;
    }
    if (index < first || index > rl_log_last_index(log))
        return ERANGE;
    size_t low = 0, high = log->run_count; /* find the last run <= index */
    while (high - low > 1) {
        size_t mid = low + (high - low) / 2;
        if (log->runs[mid].first_index <= index)
            low = mid;
        else
            high = mid;
    }
    *term = log->runs[low].term;
    return 0;
}

void rl_log_runs_truncate(rl_log_t *log, uint64_t index)
{
    while (log->run_count && log->runs[log->run_count - 1].first_index >= index)
        log->run_count--;
}

void rl_log_runs_compact(rl_log_t *log, uint64_t first)
{
    size_t drop = 0;
    while (drop + 1 < log->run_count &&
           log->runs[drop + 1].first_index <= first)
        drop++;
    memmove(log->runs, log->runs + drop,
            (log->run_count - drop) * sizeof *log->runs);
    log->run_count -= drop;
    if (log->run_count && log->runs[0].first_index < first)
        log->runs[0].first_index = first;
}

rl_log_segment_t *rl_log_segment_of(rl_log_t *log, uint64_t index)
{
    size_t low = 0, high = log->segment_count;
    while (high - low > 1) {
        size_t mid = low + (high - low) / 2;
        if (log->segments[mid].first_index <= index)
            low = mid;
        else
            high = mid;
    }
    return &log->segments[low];
}

uint64_t rl_log_retention_index(const rl_log_t *log, uint64_t keep_bytes)
{
    uint64_t kept = 0;
    size_t oldest = log->segment_count;
    while (oldest > 0 && (oldest == log->segment_count || kept < keep_bytes))
        kept += log->segments[--oldest].size;
    return oldest > 0 ? log->segments[oldest].first_index : 0;
}

uint64_t rl_log_bytes(const rl_log_t *log)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < log->segment_count; i++)
        bytes += log->segments[i].size;
    return bytes;
}

size_t rl_log_segment_count(const rl_log_t *log)
{
    return log->segment_count;
}

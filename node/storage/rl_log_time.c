/*  rl_log_time.c - entry times in the file log: the time of one record,
    the first index stamped at or after a time (reading from a time), the
    time of the retained start, and retention by age.

    The Raft core stamps every entry with its leader's wall clock and
    guarantees that times never decrease along a log (docs/RAFT.md,
    "Entry timestamps"); entries written before timestamps have time 0,
    and come before every stamped one. So the times of a log are a
    non-decreasing sequence, and "the first entry stamped at or after T"
    is found by binary search: over the segments (by the time of their
    first entry), then over the chosen segment's samples (the time of
    every TIME_SAMPLE_EVERY-th record, kept in memory), then over the
    records of one block of TIME_SAMPLE_EVERY, each read from the disk:
    at most log2(64) = 6 small preads, whatever the size of the log.

    Should a log hold a time 0 after stamped entries (only when a leader
    of a version before timestamps led after one of this version, which
    the upgrade order of docs/PROTOCOL.md section 5 excludes), the times
    are not sorted there and a lookup may stop at an entry stamped at or
    after T with an unstamped one after it: it still returns an index of
    the log, never reads out of it.
*/
#include "rl_log_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

int rl_log_record_time(rl_log_t *log, const rl_log_segment_t *segment,
                       uint64_t k, uint64_t *time)
{
    *time = 0;
    if (segment->version == SEGMENT_VERSION_V1)
        return 0;
    uint8_t record[RECORD_HEADER_SIZE + RECORD_BODY_FIXED];
    uint64_t begin = segment->offsets[k];
    uint64_t end =
        k + 1 < segment->count ? segment->offsets[k + 1] : segment->size;
    size_t got = 0;
    int rc = rl_log_file_pread_all(log->io, segment->fd, record, sizeof record,
                                   begin, &got);
    const uint8_t *b = record + RECORD_HEADER_SIZE;
    if (rc == 0 && (got != sizeof record ||
                    RECORD_HEADER_SIZE + (uint64_t)rl_log_record_body(record) !=
                        end - begin ||
                    rl_log_get64(b) != segment->first_index + k))
        rc = EBADMSG;
    if (rc != 0) {
        char path[PATH_MAX];
        rl_log_segment_path(log, path, segment->first_index);
        return rl_log_errorf(log, rc,
                             "reading the time of index %" PRIu64
                             " in %s at offset %" PRIu64 " failed: %s",
                             segment->first_index + k, path, begin,
                             rc == EBADMSG ? "the record does not fill its "
                                             "slot (the disk changed under "
                                             "the log; run raftlog-node "
                                             "--check)"
                                           : strerror(rc));
    }
    *time = rl_log_body_time(b, segment->version);
    return 0;
}

/* Segments that hold entries: all but an empty last one. */
static size_t s_filled(const rl_log_t *log)
{
    size_t n = log->segment_count;
    if (n > 0 && log->segments[n - 1].count == 0)
        n--;
    return n;
}

/* The first k in segment whose time is at or after time, knowing that
   record 0's is before it; segment->count when none is. */
static int s_find_in_segment(rl_log_t *log, const rl_log_segment_t *segment,
                             uint64_t time, uint64_t *k_out)
{
    /* The first sample at or after time, among samples 1..samples-1. */
    size_t samples =
        (size_t)((segment->count + TIME_SAMPLE_EVERY - 1) / TIME_SAMPLE_EVERY);
    size_t low = 1, high = samples;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (segment->times[mid] >= time)
            high = mid;
        else
            low = mid + 1;
    }
    /* Records (below, above) of the block before it: below's time is
       before time, above's (or the segment's end) at or after it. */
    uint64_t below = (uint64_t)(low - 1) * TIME_SAMPLE_EVERY;
    uint64_t above =
        low < samples ? (uint64_t)low * TIME_SAMPLE_EVERY : segment->count;
    while (above - below > 1) {
        uint64_t mid = below + (above - below) / 2, mid_time;
        int rc = rl_log_record_time(log, segment, mid, &mid_time);
        if (rc != 0)
            return rc;
        if (mid_time >= time)
            above = mid;
        else
            below = mid;
    }
    *k_out = above;
    return 0;
}

int rl_log_find_time(rl_log_t *log, uint64_t time, uint64_t *index)
{
    *index = rl_log_last_index(log) + 1;
    if (log->failed)
        return rl_log_require_writable(log);
    size_t filled = s_filled(log);
    /* Later than the last entry: none, known from memory. */
    if (filled == 0 || time > log->segments[filled - 1].last_time)
        return 0;
    /* The first segment whose first entry is stamped at or after time. */
    size_t low = 0, high = filled;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (log->segments[mid].times[0] >= time)
            high = mid;
        else
            low = mid + 1;
    }
    if (low == 0) {
        *index = log->segments[0].first_index;
        return 0;
    }
    /* In the segment before it, after its first entry, or else the first
       entry of the next segment (or past the end). */
    const rl_log_segment_t *segment = &log->segments[low - 1];
    uint64_t k;
    int rc = s_find_in_segment(log, segment, time, &k);
    if (rc == 0)
        *index = segment->first_index + k;
    return rc;
}

uint64_t rl_log_first_time(const rl_log_t *log)
{
    return s_filled(log) ? log->segments[0].times[0] : 0;
}

uint64_t rl_log_last_time(const rl_log_t *log)
{
    size_t filled = s_filled(log);
    return filled ? log->segments[filled - 1].last_time : 0;
}

uint64_t rl_log_age_retention_index(const rl_log_t *log, uint64_t before)
{
    size_t drop = 0;
    while (drop + 1 < log->segment_count) {
        /* The time of its last entry; for entries written before
           timestamps (0), the first stamped time after them bounds it. */
        uint64_t last = log->segments[drop].last_time;
        for (size_t next = drop + 1; last == 0 && next < log->segment_count;
             next++)
            if (log->segments[next].count)
                last = log->segments[next].times[0];
        if (last == 0 || last >= before)
            break;
        drop++;
    }
    return drop ? log->segments[drop].first_index : 0;
}

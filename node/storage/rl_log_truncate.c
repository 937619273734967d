/*  rl_log_truncate.c - removing entries: a suffix after a Raft conflict
    (truncate, newest first so that a crash leaves a prefix of the old
    log), a prefix below a snapshot or for retention (compact, whole
    segments oldest first so that a crash leaves a suffix). Both are
    durable on return.
*/
#include "rl_log_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

int rl_log_truncate(rl_log_t *log, uint64_t index)
{
    int rc = rl_log_require_writable(log);
    if (rc != 0)
        return rc;
    uint64_t first = rl_log_first_index(log), last = rl_log_last_index(log);
    if (index < first || index > last + 1)
        return rl_log_errorf(log, ERANGE,
                             "truncate from %" PRIu64
                             " outside the log [%" PRIu64 ", %" PRIu64 "]",
                             index, first, last + 1);
    if (log->has_snapshot && index <= log->snapshot_index)
        return rl_log_errorf(log, EINVAL,
                             "truncate from %" PRIu64 " would remove entries "
                             "the snapshot at %" PRIu64 " covers; those are "
                             "committed and Raft never truncates them",
                             index, log->snapshot_index);
    if (index == last + 1)
        return 0;
    /* Whole segments first, newest last... removed from the end so that a
       crash leaves a log that is a prefix of the old one. */
    size_t keep = log->segment_count;
    while (keep > 1 && log->segments[keep - 1].first_index >= index)
        keep--;
    rl_log_segment_t *segment = &log->segments[keep - 1];
    uint64_t count = index - segment->first_index;
    /* The new last entry's time, read before anything goes (a failed
       read changes nothing). */
    uint64_t last_time = segment->last_time;
    if (count < segment->count) {
        last_time = 0;
        if (count > 0 &&
            (rc = rl_log_record_time(log, segment, count - 1, &last_time)))
            return rc;
    }
    bool removed = keep < log->segment_count;
    rc = rl_log_segments_remove(log, keep);
    if (rc == 0 && removed)
        rc = rl_log_dir_sync(log);
    if (rc != 0)
        return rc;
    if (count < segment->count) {
        uint64_t size = segment->offsets[count];
        if (log->io->ftruncate(segment->fd, (off_t)size) != 0)
            return rl_log_set_failed(log, errno,
                                     "truncate (ftruncate) of a segment");
        segment->size = size;
        segment->zeroed = size; /* cut with the rest */
        segment->count = count; /* the time samples past it are ignored */
        segment->last_time = last_time;
        log->stats.fdatasync_calls++;
        if (log->io->fdatasync(segment->fd) != 0)
            return rl_log_set_failed(log, errno, "fdatasync after truncate");
    }
    rl_log_runs_truncate(log, index);
    if (log->durable_index > index - 1)
        log->durable_index = index - 1;
    if (log->ticket_out && log->ticket_limit > index - 1)
        log->ticket_limit = index - 1;
    return 0;
}

int rl_log_compact(rl_log_t *log, uint64_t index)
{
    int rc = rl_log_require_writable(log);
    if (rc != 0)
        return rc;
    size_t drop = 0;
    while (drop + 1 < log->segment_count &&
           log->segments[drop + 1].first_index <= index)
        drop++;
    if (drop == 0)
        return 0;
    /* Oldest first, so that a crash leaves a contiguous suffix. */
    for (size_t i = 0; i < drop && rc == 0; i++) {
        char path[PATH_MAX];
        rl_log_segment_path(log, path, log->segments[i].first_index);
        rl_log_segment_close(log, &log->segments[i]);
        if (log->io->unlink(path) != 0)
            rc = rl_log_set_failed(log, errno, "unlink of a compacted segment");
    }
    memmove(log->segments, log->segments + drop,
            (log->segment_count - drop) * sizeof *log->segments);
    log->segment_count -= drop;
    if (rc != 0)
        return rc;
    rl_log_runs_compact(log, log->segments[0].first_index);
    return rl_log_dir_sync(log);
}

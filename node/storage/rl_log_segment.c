/*  rl_log_segment.c - segment files: a new one created after the last
    (its header written, or a spare adopted), closed, removed.

    A segment is named by the index of its first entry in 20 digits
    (00000000000000000001.log), so a listing sorts in log order. Header,
    32 bytes: magic "RLSG", version (2; 1 before entry times), first index,
    term of the entry before it (the boundary term, which survives
    compaction), reserved, CRC32C of the 28 bytes before it. Records follow
    (rl_log_append.c writes them, rl_log_recover.c checks them).
*/
#include "rl_log_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rl_log_segment_close(rl_log_t *log, rl_log_segment_t *segment)
{
    if (segment->fd >= 0)
        log->io->close(segment->fd);
    segment->fd = -1;
    free(segment->offsets);
    segment->offsets = NULL;
    segment->offsets_cap = 0;
    free(segment->times);
    segment->times = NULL;
    segment->times_cap = 0;
}

/* The least zeros written ahead at a time: below this, the writes of
   zeros would cost more than the journal commits they save. */
#define ZERO_AHEAD_MIN (64u << 10)

void rl_log_segment_zero_ahead(rl_log_t *log, rl_log_segment_t *segment)
{
    static const uint8_t zeros[64 << 10];
    if (!log->zero_ahead || segment->zeroed > segment->size)
        return;
    /* Ahead by what the segment already holds, within the bounds: a
       log's first appends do not buy it a MiB of zeros. */
    uint64_t ahead =
        segment->size < ZERO_AHEAD_MIN ? ZERO_AHEAD_MIN : segment->size;
    if (ahead > log->zero_ahead)
        ahead = log->zero_ahead;
    uint64_t end = segment->size + ahead;
    if (end > log->segment_size)
        end = log->segment_size;
    /* Only past the last record: what lies there is no entry (a rollback
       or a reopen cuts or ignores it), so nothing is overwritten. */
    uint64_t at = segment->size;
    while (at < end) {
        size_t n = end - at < sizeof zeros ? (size_t)(end - at) : sizeof zeros;
        if (rl_log_file_pwrite_all(log->io, segment->fd, zeros, n, at) != 0)
            break; /* a full disk: the appends grow the file, as without */
        log->stats.write_calls++;
        at += n;
    }
    segment->zeroed = at;
}

int rl_log_segments_remove(rl_log_t *log, size_t from)
{
    int rc = 0;
    for (size_t i = log->segment_count; i-- > from;) {
        char path[PATH_MAX];
        rl_log_segment_path(log, path, log->segments[i].first_index);
        rl_log_segment_close(log, &log->segments[i]);
        if (log->io->unlink(path) != 0 && rc == 0)
            rc = rl_log_set_failed(log, errno, "unlink of a segment failed");
    }
    if (from < log->segment_count)
        log->segment_count = from;
    return rc;
}

int rl_log_segment_create(rl_log_t *log, uint64_t first_index,
                          uint64_t prev_term)
{
    if (rl_log_grow((void **)&log->segments, &log->segment_cap,
                    log->segment_count + 1, sizeof *log->segments))
        return rl_log_errorf(log, ENOMEM, "out of memory adding a segment");
    char path[PATH_MAX];
    rl_log_segment_path(log, path, first_index);
    uint8_t header[SEGMENT_HEADER_SIZE] = {0};
    rl_log_put32(header, SEGMENT_MAGIC);
    rl_log_put32(header + 4, SEGMENT_VERSION);
    rl_log_put64(header + 8, first_index);
    rl_log_put64(header + 16, prev_term);
    rl_log_put32(header + 28, rl_crc32c(0, header, 28));
    int fd = log->spare == RL_LOG_SPARE_READY
                 ? rl_log_spare_adopt(log, path, header)
                 : -1;
    uint64_t zeroed = SEGMENT_HEADER_SIZE;
    if (fd >= 0) {
        log->stats.spares_used++;
        zeroed = log->segment_size; /* the spare's zeros */
    } else {
        if (log->spare == RL_LOG_SPARE_FAILED)
            log->spare = RL_LOG_SPARE_NONE; /* one try per segment */
        fd = rl_log_file_create(log->io, path, O_RDWR | O_EXCL | O_CLOEXEC);
        if (fd < 0)
            return rl_log_errorf(log, errno, "cannot create segment %s: %s",
                                 path, strerror(errno));
        int rc = rl_log_file_pwrite_all(log->io, fd, header, sizeof header, 0);
        log->stats.write_calls++;
        if (rc != 0) {
            log->io->close(fd);
            log->io->unlink(path);
            return rl_log_errorf(log, rc,
                                 "cannot write the header of segment %s: %s",
                                 path, strerror(rc));
        }
    }
    rl_log_segment_t *segment = &log->segments[log->segment_count++];
    memset(segment, 0, sizeof *segment);
    segment->first_index = first_index;
    segment->prev_term = prev_term;
    segment->version = SEGMENT_VERSION;
    segment->size = SEGMENT_HEADER_SIZE;
    segment->zeroed = zeroed;
    segment->fd = fd;
    segment->dirty = true;
    log->dir_dirty = true;
    return 0;
}

int rl_log_segment_upgrade(rl_log_t *log)
{
    rl_log_segment_t *last = &log->segments[log->segment_count - 1];
    if (last->version == SEGMENT_VERSION)
        return 0;
    if (last->count > 0)
        return rl_log_segment_create(log, rl_log_last_index(log) + 1,
                                     rl_log_last_term(log));
    /* Empty: the same name, so replace it whole (a segment of header and
       zeros, as a spare leaves, shrinks to its header). */
    uint8_t header[SEGMENT_HEADER_SIZE] = {0};
    rl_log_put32(header, SEGMENT_MAGIC);
    rl_log_put32(header + 4, SEGMENT_VERSION);
    rl_log_put64(header + 8, last->first_index);
    rl_log_put64(header + 16, last->prev_term);
    rl_log_put32(header + 28, rl_crc32c(0, header, 28));
    char path[PATH_MAX], name[32];
    rl_log_segment_path(log, path, last->first_index);
    snprintf(name, sizeof name, "%020" PRIu64 SEGMENT_SUFFIX,
             last->first_index);
    int rc = rl_log_file_replace(log, name, header, sizeof header);
    if (rc != 0)
        return rc;
    int fd = log->io->open(path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return rl_log_set_failed(log, errno,
                                 "reopening a segment replaced by version 2");
    log->io->close(last->fd);
    last->fd = fd;
    last->version = SEGMENT_VERSION;
    last->size = SEGMENT_HEADER_SIZE;
    last->zeroed = SEGMENT_HEADER_SIZE;
    last->dirty = false;
    return 0;
}

/*  rl_log_append.c - appending a batch of entries: encoded into one
    buffer, written with one pwrite per segment touched, rolled over to a
    new segment when one is full, and rolled back whole when a write fails.

    Record (segment version 2): u32 CRC32C of what follows it, u32 body
    length, then the body: index, term, producer id, seq (u64 each), type
    (u8), time (u64), payload. Appends always write version 2: a last
    segment of version 1 (data from before entry times) is first replaced
    by a new segment (rl_log_segment_upgrade).
*/
#include "rl_log_internal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

/* Appends gather records in one buffer and write it with one pwrite; a
   batch larger than this is written in pieces of about this size so that
   the buffer stays bounded. */
#define WRITE_BUFFER_LIMIT (16u << 20)

/* Encodes one record at p; returns its size. The checksum comes first so
   that it covers one contiguous range, the length and the body: one CRC
   call per record. */
static size_t s_encode(uint8_t *p, const rl_entry_t *entry)
{
    uint32_t body = RECORD_BODY_FIXED + (uint32_t)entry->size;
    rl_log_put32(p + 4, body);
    uint8_t *b = p + RECORD_HEADER_SIZE;
    rl_log_put64(b, entry->index);
    rl_log_put64(b + 8, entry->term);
    rl_log_put64(b + 16, entry->producer_id);
    rl_log_put64(b + 24, entry->seq);
    b[32] = entry->type;
    rl_log_put64(b + RECORD_TIME_AT, entry->time);
    if (entry->size)
        memcpy(b + RECORD_BODY_FIXED, entry->data, entry->size);
    rl_log_put32(p, rl_crc32c(0, p + 4, 4 + body));
    return RECORD_HEADER_SIZE + body;
}

/* Undoes a failed append: removes segments it created, cuts the segment
   it started in back to its old size. Order matters for a crash in
   between: the directory must forget the new segments before the old one
   shrinks, or a reopened log would see a gap in its indexes. */
static int s_rollback(rl_log_t *log, size_t segment_count, uint64_t size,
                      uint64_t count, uint64_t last_time, size_t run_count)
{
    int rc = 0;
    if (log->segment_count > segment_count) {
        rc = rl_log_segments_remove(log, segment_count);
        if (rc == 0)
            rc = rl_log_dir_sync(log);
    }
    /* Always cut: a short write may have left bytes past segment->size,
       which a reopen would otherwise read as valid entries. */
    rl_log_segment_t *segment = &log->segments[segment_count - 1];
    if (rc == 0 && log->io->ftruncate(segment->fd, (off_t)size) != 0)
        rc = rl_log_set_failed(log, errno,
                               "rollback (ftruncate) of a failed append");
    segment->size = size;
    segment->zeroed = size; /* cut with the rest */
    segment->count = count; /* the time samples past it are ignored */
    segment->last_time = last_time;
    log->run_count = run_count;
    return rc;
}

/* Checks the rules of rl_log_append (rl_log.h) before anything moves. */
static int s_check_batch(rl_log_t *log, const rl_entry_t *entries, size_t count)
{
    uint64_t next = rl_log_last_index(log) + 1;
    uint64_t term = rl_log_last_term(log);
    for (size_t i = 0; i < count; i++) {
        const rl_entry_t *entry = &entries[i];
        if (entry->index != next + i)
            return rl_log_errorf(log, EINVAL,
                                 "append of index %" PRIu64 " where %" PRIu64
                                 " is next",
                                 entry->index, next + i);
        if (entry->term < term)
            return rl_log_errorf(log, EINVAL,
                                 "append of index %" PRIu64
                                 " with term %" PRIu64
                                 " below the term %" PRIu64 " before it",
                                 entry->index, entry->term, term);
        if (entry->size > RL_MAX_ENTRY_SIZE || (entry->size && !entry->data))
            return rl_log_errorf(log, EINVAL,
                                 "entry %" PRIu64 " has %zu bytes (at most %u)",
                                 entry->index, entry->size, RL_MAX_ENTRY_SIZE);
        term = entry->term;
    }
    return 0;
}

int rl_log_append(rl_log_t *log, const rl_entry_t *entries, size_t count)
{
    assert(entries && count > 0);
    int rc = rl_log_require_writable(log);
    if (rc == 0)
        rc = s_check_batch(log, entries, count);
    if (rc == 0)
        rc = rl_log_segment_upgrade(log);
    if (rc != 0)
        return rc;

    /* What to roll back to if a write fails. */
    size_t old_segments = log->segment_count;
    rl_log_segment_t *start = &log->segments[old_segments - 1];
    uint64_t old_size = start->size, old_count = start->count;
    uint64_t old_time = start->last_time;
    size_t old_runs = log->run_count;

    size_t i = 0;
    while (i < count) {
        rl_log_segment_t *segment = &log->segments[log->segment_count - 1];
        if (rl_log_grow((void **)&segment->offsets, &segment->offsets_cap,
                        segment->count + (count - i), sizeof(uint64_t))) {
            rc = rl_log_errorf(log, ENOMEM, "out of memory appending");
            break;
        }
        size_t used = 0, added = 0;
        while (i < count) {
            size_t record =
                RECORD_HEADER_SIZE + RECORD_BODY_FIXED + entries[i].size;
            bool has_entries = segment->count + added > 0;
            if (has_entries &&
                segment->size + used + record > log->segment_size)
                break; /* roll over: this segment is full */
            if (used > 0 && used + record > WRITE_BUFFER_LIMIT)
                break; /* write what we have, then continue here */
            if (rl_log_grow((void **)&log->write_buf, &log->write_cap,
                            used + record, 1)) {
                rc = rl_log_errorf(log, ENOMEM, "out of memory appending");
                break;
            }
            segment->offsets[segment->count + added] = segment->size + used;
            used += s_encode(log->write_buf + used, &entries[i]);
            if (rl_log_runs_push(log, entries[i].index, entries[i].term) ||
                rl_log_times_push(segment, segment->count + added,
                                  entries[i].time)) {
                rc = rl_log_errorf(log, ENOMEM, "out of memory appending");
                break;
            }
            added++;
            i++;
        }
        if (rc != 0)
            break;
        if (used > 0) {
            log->stats.write_calls++;
            rc = rl_log_file_pwrite_all(log->io, segment->fd, log->write_buf,
                                        used, segment->size);
            if (rc != 0) {
                char path[PATH_MAX];
                rl_log_segment_path(log, path, segment->first_index);
                rl_log_errorf(log, rc,
                              "append of entries %" PRIu64 "..%" PRIu64
                              " to %s at offset %" PRIu64 " failed: %s",
                              entries[0].index, entries[count - 1].index, path,
                              segment->size, strerror(rc));
                break;
            }
            log->stats.bytes_written += used;
            segment->size += used;
            segment->count += added;
            segment->dirty = true;
            rl_log_segment_zero_ahead(log, segment);
        }
        if (i < count && segment->size + RECORD_HEADER_SIZE +
                                 RECORD_BODY_FIXED + entries[i].size >
                             log->segment_size) {
            rc = rl_log_segment_create(log, entries[i].index,
                                       i > 0 ? entries[i - 1].term
                                             : rl_log_last_term(log));
            if (rc != 0)
                break;
        }
    }
    if (rc != 0) {
        /* Keep the message of the original failure, not the rollback's,
           unless the rollback itself failed the log. */
        char message[RL_LOG_ERROR_SIZE];
        memcpy(message, log->error, sizeof message);
        if (s_rollback(log, old_segments, old_size, old_count, old_time,
                       old_runs) == 0)
            memcpy(log->error, message, sizeof message);
        return rc;
    }
    log->stats.appends += count;
    return 0;
}

/*  rl_log_read.c - reading entries back: whole runs of records with one
    pread per segment into a batch the caller reuses, then every record
    verified again (checksum, index, length) before it is handed out, in
    the layout of its segment's version (version 1: time 0).
*/
#include "rl_log_internal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void rl_log_batch_init(rl_log_batch_t *batch)
{
    memset(batch, 0, sizeof *batch);
}

void rl_log_batch_close(rl_log_batch_t *batch)
{
    free(batch->entries);
    free(batch->buf);
    memset(batch, 0, sizeof *batch);
}

/* Phase 1 of a read: preads the records of at most max_entries entries
   from index from (and within max_bytes) into batch->buf, back to back.
   Sets *count and *used. */
static int s_read_records(rl_log_t *log, uint64_t from, size_t max_entries,
                          size_t max_bytes, rl_log_batch_t *batch,
                          size_t *count_out, size_t *used_out)
{
    uint64_t last = rl_log_last_index(log);
    size_t used = 0, count = 0;
    uint64_t index = from;
    while (index <= last && count < max_entries) {
        rl_log_segment_t *segment = rl_log_segment_of(log, index);
        uint64_t k = index - segment->first_index;
        uint64_t begin = segment->offsets[k], end = begin;
        size_t n = 0;
        while (k + n < segment->count && count + n < max_entries) {
            uint64_t next = k + n + 1 < segment->count
                                ? segment->offsets[k + n + 1]
                                : segment->size;
            if (max_bytes && count + n > 0 && used + (next - begin) > max_bytes)
                break;
            end = next;
            n++;
        }
        if (n == 0)
            break;
        size_t size = (size_t)(end - begin), got;
        if (rl_log_grow((void **)&batch->buf, &batch->buf_cap, used + size, 1))
            return rl_log_errorf(log, ENOMEM, "out of memory reading");
        int rc = rl_log_file_pread_all(log->io, segment->fd, batch->buf + used,
                                       size, begin, &got);
        if (rc == 0 && got != size)
            rc = EBADMSG;
        if (rc != 0) {
            char path[PATH_MAX];
            rl_log_segment_path(log, path, segment->first_index);
            return rl_log_errorf(log, rc,
                                 "read of %s at offset %" PRIu64
                                 " (index %" PRIu64 ") failed: %s",
                                 path, begin, index,
                                 got != size ? "file shorter than its index"
                                             : strerror(rc));
        }
        used += size;
        count += n;
        index += n;
    }
    *count_out = count;
    *used_out = used;
    return 0;
}

int rl_log_read(rl_log_t *log, uint64_t from, size_t max_entries,
                size_t max_bytes, rl_log_batch_t *batch)
{
    assert(log->opened && max_entries >= 1);
    batch->count = 0;
    if (log->failed)
        return rl_log_require_writable(log);
    uint64_t first = rl_log_first_index(log), last = rl_log_last_index(log);
    if (from < first || from > last)
        return rl_log_errorf(log, ERANGE,
                             "read from %" PRIu64 " outside the log [%" PRIu64
                             ", %" PRIu64 "]",
                             from, first, last);
    /* Pointers into batch->buf are set in phase 2, after the buffer has
       stopped moving. */
    size_t count = 0, used = 0;
    int rc =
        s_read_records(log, from, max_entries, max_bytes, batch, &count, &used);
    if (rc != 0)
        return rc;
    if (rl_log_grow((void **)&batch->entries, &batch->entries_cap, count,
                    sizeof *batch->entries))
        return rl_log_errorf(log, ENOMEM, "out of memory reading");
    /* Phase 2: verify and decode. Each record must fill exactly its slot
       in the index, walked along with it: the disk may have changed since
       open, and a length read from it must not move the decoding off the
       bytes phase 1 read. */
    rl_log_segment_t *segment = rl_log_segment_of(log, from);
    uint64_t k = from - segment->first_index;
    size_t offset = 0;
    for (size_t i = 0; i < count; i++, k++) {
        if (k == segment->count) {
            segment++;
            k = 0;
        }
        uint64_t slot =
            (k + 1 < segment->count ? segment->offsets[k + 1] : segment->size) -
            segment->offsets[k];
        const uint8_t *p = batch->buf + offset;
        uint32_t body = slot >= RECORD_HEADER_SIZE ? rl_log_record_body(p) : 0;
        const uint8_t *b = p + RECORD_HEADER_SIZE;
        uint32_t fixed = rl_log_body_fixed(segment->version);
        if (body < fixed || RECORD_HEADER_SIZE + (uint64_t)body != slot ||
            !rl_log_record_ok(p, body) || rl_log_get64(b) != from + i) {
            char path[PATH_MAX];
            rl_log_segment_path(log, path, segment->first_index);
            return rl_log_errorf(
                log, EBADMSG,
                "record of index %" PRIu64 " in %s at offset %" PRIu64
                " is corrupt (checksum, length or sequence): the disk "
                "changed under the log; run raftlog-node --check",
                from + i, path, segment->offsets[k]);
        }
        rl_entry_t *entry = &batch->entries[i];
        entry->index = rl_log_get64(b);
        entry->term = rl_log_get64(b + 8);
        entry->producer_id = rl_log_get64(b + 16);
        entry->seq = rl_log_get64(b + 24);
        entry->type = b[32];
        entry->time = rl_log_body_time(b, segment->version);
        entry->size = body - fixed;
        entry->data = entry->size ? b + fixed : NULL;
        offset += RECORD_HEADER_SIZE + body;
    }
    batch->count = count;
    return 0;
}

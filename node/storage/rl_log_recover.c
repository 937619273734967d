/*  rl_log_recover.c - what open does with the segments it finds: list
    them, read and check every record, rebuild the in-memory index, and
    tell a write torn by a crash (cut away, with a warning) from corruption
    (refused, naming file, offset and index); and the offline check
    (rl_log_check), which is the same open read-only.

    The rules are docs/STORAGE.md, "Recovery rules (open)". Everything read
    here is the disk's word: a length or a size is range-checked before it
    sizes an allocation or moves an offset.
*/
#include "rl_log_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a scan of one segment found. */
typedef struct {
    bool header_torn;    /* shorter than its header, or all zeros */
    bool damaged;        /* a bad record was found */
    bool torn;           /* ...and nothing valid follows it */
    uint64_t bad_offset; /* where the bad record starts */
    const char *reason;  /* why it is bad */
    uint64_t file_size;  /* bytes in the file */
} s_scan_t;

/* True when a record that passes every check starts somewhere in
   data[from + 1, size) with an index of at least min_index. Used to tell
   a torn tail (nothing valid after it: a crash in mid-write) from
   corruption (valid records after it: those were written, maybe
   acknowledged, and must never be dropped silently). */
static bool s_valid_record_after(const uint8_t *data, size_t size, size_t from,
                                 uint64_t min_index, uint32_t fixed)
{
    for (size_t p = from + 1; p + RECORD_HEADER_SIZE + fixed <= size; p++) {
        uint32_t body = rl_log_record_body(data + p);
        if (body < fixed || body > fixed + RL_MAX_ENTRY_SIZE ||
            p + RECORD_HEADER_SIZE + body > size)
            continue;
        uint64_t index = rl_log_get64(data + p + RECORD_HEADER_SIZE);
        if (index < min_index || index - min_index > size)
            continue;
        if (rl_log_record_ok(data + p, body))
            return true;
    }
    return false;
}

static bool s_all_zero(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (data[i])
            return false;
    return true;
}

/* Reads the whole segment file into log->scan_buf; *size_out its bytes. */
static int s_segment_read(rl_log_t *log, rl_log_segment_t *segment,
                          const char *path, size_t *size_out)
{
    struct stat st;
    if (fstat(segment->fd, &st) != 0)
        return rl_log_errorf(log, errno, "cannot stat %s: %s", path,
                             strerror(errno));
    /* The size is the disk's word and is about to size an allocation: no
       segment this build writes is larger. */
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SEGMENT_MAX_FILE_SIZE)
        return rl_log_errorf(
            log, EBADMSG,
            "segment %s is damaged: %s of %jd bytes, where a segment has at "
            "most %" PRIu64 "; run raftlog-node --check, restore it from a "
            "backup, or move the data directory away",
            path, S_ISREG(st.st_mode) ? "a file" : "not a regular file",
            (intmax_t)st.st_size, SEGMENT_MAX_FILE_SIZE);
    size_t size = (size_t)st.st_size, got;
    if (rl_log_grow((void **)&log->scan_buf, &log->scan_cap, size + 1, 1))
        return rl_log_errorf(log, ENOMEM, "out of memory reading %s", path);
    int rc = rl_log_file_pread_all(log->io, segment->fd, log->scan_buf, size, 0,
                                   &got);
    if (rc != 0 || got != size)
        return rl_log_errorf(log, rc ? rc : EIO, "cannot read %s: %s", path,
                             rc ? strerror(rc) : "short read");
    *size_out = size;
    return 0;
}

/* Reads segment (its first_index set from the name, fd open) and builds
   its offsets; stops at the first bad record, described in scan. Returns
   an error only for what is damage whatever follows (bad header, a record
   with a valid checksum out of sequence). *term carries the last term
   across segments. */
static int s_segment_scan(rl_log_t *log, rl_log_segment_t *segment,
                          uint64_t *term, s_scan_t *scan)
{
    char path[PATH_MAX];
    rl_log_segment_path(log, path, segment->first_index);
    memset(scan, 0, sizeof *scan);
    size_t size = 0;
    int rc = s_segment_read(log, segment, path, &size);
    if (rc != 0)
        return rc;
    const uint8_t *data = log->scan_buf;
    scan->file_size = size;
    if (size < SEGMENT_HEADER_SIZE || s_all_zero(data, size)) {
        /* A crash while creating it, or while adopting a spare. */
        scan->header_torn = true;
        segment->size = size < SEGMENT_HEADER_SIZE ? size : 0;
        return 0;
    }
    if (rl_log_get32(data) != SEGMENT_MAGIC ||
        rl_log_get32(data + 28) != rl_crc32c(0, data, 28) ||
        rl_log_get64(data + 8) != segment->first_index)
        return rl_log_errorf(log, EBADMSG,
                             "segment %s has a damaged header (magic, "
                             "checksum or first index); restore it or move "
                             "the data directory away",
                             path);
    uint32_t version = rl_log_get32(data + 4);
    if (version != SEGMENT_VERSION && version != SEGMENT_VERSION_V1)
        return rl_log_errorf(log, EBADMSG,
                             "segment %s has format version %u, this build "
                             "reads versions %u and %u: it was written by a "
                             "later raftlog, or is damaged",
                             path, version, SEGMENT_VERSION_V1,
                             SEGMENT_VERSION);
    segment->version = version;
    uint32_t fixed = rl_log_body_fixed(version);
    segment->prev_term = rl_log_get64(data + 16);
    if (*term > segment->prev_term)
        return rl_log_errorf(log, EBADMSG,
                             "segment %s says the entry before it has term "
                             "%" PRIu64 " but the previous segment ends with "
                             "term %" PRIu64,
                             path, segment->prev_term, *term);
    *term = segment->prev_term;
    size_t offset = SEGMENT_HEADER_SIZE;
    uint64_t index = segment->first_index;
    while (offset < size) {
        const char *reason = NULL;
        uint32_t body = 0;
        /* Zeros to the end of the file: a spare's unused space (or pages
           a crash left unwritten), however few bytes of it are left after
           the last record. No record follows: the end. */
        if (s_all_zero(data + offset, size - offset)) {
            segment->zeroed = size;
            break;
        }
        if (size - offset < RECORD_HEADER_SIZE) {
            reason = "partial record header";
        } else {
            body = rl_log_record_body(data + offset);
            if (body < fixed || body > fixed + RL_MAX_ENTRY_SIZE)
                reason = "impossible record length";
            else if (offset + RECORD_HEADER_SIZE + body > size)
                reason = "record runs past the end of the file";
            else if (!rl_log_record_ok(data + offset, body))
                reason = "checksum mismatch";
        }
        if (reason) {
            scan->damaged = true;
            scan->reason = reason;
            scan->bad_offset = offset;
            scan->torn =
                !s_valid_record_after(data, size, offset, index, fixed);
            break;
        }
        const uint8_t *b = data + offset + RECORD_HEADER_SIZE;
        uint64_t record_term = rl_log_get64(b + 8);
        if (rl_log_get64(b) != index || record_term < *term)
            return rl_log_errorf(
                log, EBADMSG,
                "segment %s at offset %zu: record with a valid checksum has "
                "index %" PRIu64 " term %" PRIu64 " where index %" PRIu64
                " with term >= %" PRIu64 " belongs; the log is damaged",
                path, offset, rl_log_get64(b), record_term, index, *term);
        if (rl_log_grow((void **)&segment->offsets, &segment->offsets_cap,
                        segment->count + 1, sizeof(uint64_t)) ||
            rl_log_runs_push(log, index, record_term) ||
            rl_log_times_push(segment, segment->count,
                              rl_log_body_time(b, version)))
            return rl_log_errorf(log, ENOMEM, "out of memory reading %s", path);
        segment->offsets[segment->count++] = offset;
        *term = record_term;
        index++;
        offset += RECORD_HEADER_SIZE + body;
    }
    segment->size = offset;
    if (segment->zeroed < offset)
        segment->zeroed = offset;
    return 0;
}

static int s_compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lists the segment files (20 digits + ".log"), sorted by first index;
   removes leftover temporary files unless read-only. */
static int s_list_segments(rl_log_t *log, uint64_t **firsts, size_t *count)
{
    *firsts = NULL;
    *count = 0;
    size_t cap = 0;
    DIR *dir = opendir(log->dir);
    if (!dir)
        return rl_log_errorf(log, errno, "cannot list %s: %s", log->dir,
                             strerror(errno));
    struct dirent *entry;
    int rc = 0;
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        size_t len = strlen(name);
        if (len > 4 && strcmp(name + len - 4, TEMP_SUFFIX) == 0) {
            /* A replace interrupted before its rename: the old file is
               the valid one, the temporary is garbage. */
            if (!log->read_only) {
                char path[PATH_MAX];
                rl_log_path(log, path, name);
                log->io->unlink(path);
            }
            continue;
        }
        if (len != 24 || strcmp(name + 20, SEGMENT_SUFFIX) != 0 ||
            strspn(name, "0123456789") != 20)
            continue;
        /* Twenty digits can say more than 64 bits hold, or index 0. */
        errno = 0;
        uint64_t first = strtoull(name, NULL, 10);
        if (errno == ERANGE || first == 0 || first > MAX_INDEX)
            rc =
                rl_log_errorf(log, EBADMSG,
                              "segment %s/%s names an index outside 1..%" PRIu64
                              ": it is damaged or not raftlog's; move it "
                              "away",
                              log->dir, name, MAX_INDEX);
        else if (rl_log_grow((void **)firsts, &cap, *count + 1,
                             sizeof(uint64_t)))
            rc = rl_log_errorf(log, ENOMEM, "out of memory listing %s",
                               log->dir);
        else
            (*firsts)[(*count)++] = first;
    }
    closedir(dir);
    if (rc == 0 && *count > 1)
        qsort(*firsts, *count, sizeof(uint64_t), s_compare_u64);
    return rc;
}

/* A torn tail found by the scan (damage, in the segment at damaged_at):
   cut it off, drop the empty segments after it, sync. Read-only, only
   warns. */
static int s_cut_torn_tail(rl_log_t *log, const s_scan_t *damage,
                           size_t damaged_at)
{
    rl_log_segment_t *segment = &log->segments[damaged_at];
    char path[PATH_MAX];
    rl_log_segment_path(log, path, segment->first_index);
    const char *action = log->read_only ? "would truncate" : "truncated";
    if (damage->header_torn)
        rl_log_warnf(log,
                     "%s: torn segment header (%" PRIu64 " bytes, a crash "
                     "while creating it); %s: the segment is %s",
                     path, damage->file_size, action,
                     log->read_only ? "would be removed" : "removed");
    else
        rl_log_warnf(log,
                     "%s: %s at offset %" PRIu64 " (index %" PRIu64
                     ", a write torn by a crash); %s the file to %" PRIu64
                     " bytes, dropping %" PRIu64 " bytes and %zu later empty "
                     "segments",
                     path, damage->reason, damage->bad_offset,
                     segment->first_index + segment->count, action,
                     damage->bad_offset, damage->file_size - damage->bad_offset,
                     log->segment_count - damaged_at - 1);
    if (log->read_only)
        return 0;
    size_t keep = damage->header_torn ? damaged_at : damaged_at + 1;
    int rc = rl_log_segments_remove(log, keep);
    if (rc == 0 && !damage->header_torn) {
        if (log->io->ftruncate(segment->fd, (off_t)segment->size) != 0)
            return rl_log_errorf(log, errno, "cannot truncate %s: %s", path,
                                 strerror(errno));
        segment->zeroed = segment->size;
        log->stats.fdatasync_calls++;
        if (log->io->fdatasync(segment->fd) != 0)
            return rl_log_errorf(log, errno, "cannot sync %s: %s", path,
                                 strerror(errno));
    }
    if (rc == 0)
        rc = rl_log_dir_sync(log);
    return rc;
}

int rl_log_segments_load(rl_log_t *log)
{
    uint64_t *firsts;
    size_t count;
    int rc = s_list_segments(log, &firsts, &count);
    if (rc != 0) {
        free(firsts);
        return rc;
    }
    if (count && rl_log_grow((void **)&log->segments, &log->segment_cap, count,
                             sizeof *log->segments)) {
        free(firsts);
        return rl_log_errorf(log, ENOMEM, "out of memory opening %s", log->dir);
    }
    uint64_t term = 0;
    s_scan_t damage = {0};
    size_t damaged_at = SIZE_MAX; /* segment with the first bad record */
    for (size_t i = 0; i < count && rc == 0; i++) {
        rl_log_segment_t *segment = &log->segments[log->segment_count];
        memset(segment, 0, sizeof *segment);
        segment->first_index = firsts[i];
        char path[PATH_MAX];
        rl_log_segment_path(log, path, firsts[i]);
        /* O_NONBLOCK: a FIFO in a segment's place must not hang the open
           (it is refused by the scan); regular files ignore the flag. */
        segment->fd = log->io->open(
            path, (log->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK,
            0);
        if (segment->fd < 0) {
            rc = rl_log_errorf(log, errno, "cannot open %s: %s", path,
                               strerror(errno));
            break;
        }
        log->segment_count++;
        s_scan_t scan;
        rc = s_segment_scan(log, segment, &term, &scan);
        if (rc != 0)
            break;
        if (damaged_at != SIZE_MAX) {
            /* After a torn record only empty segments may follow: a
               crash right after a rollover. Entries would be damage. */
            if (segment->count > 0) {
                char bad[PATH_MAX];
                rl_log_segment_path(log, bad,
                                    log->segments[damaged_at].first_index);
                rc = rl_log_errorf(
                    log, EBADMSG,
                    "%s: %s at offset %" PRIu64 " (index %" PRIu64
                    "), but later segment %s holds entries; the log is "
                    "damaged: run raftlog-node --check, restore from a "
                    "backup or move the directory away",
                    bad, damage.reason, damage.bad_offset,
                    log->segments[damaged_at].first_index +
                        log->segments[damaged_at].count,
                    path);
            }
            continue;
        }
        if (i > 0) {
            rl_log_segment_t *prev = &log->segments[log->segment_count - 2];
            if (prev->first_index + prev->count != segment->first_index) {
                rc = rl_log_errorf(log, EBADMSG,
                                   "segment %s starts at index %" PRIu64
                                   " but the previous segment ends at %" PRIu64
                                   ": a segment is missing or damaged",
                                   path, segment->first_index,
                                   prev->first_index + prev->count - 1);
                break;
            }
        }
        if (scan.header_torn && i + 1 < count) {
            rc = rl_log_errorf(log, EBADMSG,
                               "segment %s is shorter than its header but is "
                               "not the last segment; the log is damaged",
                               path);
            break;
        }
        if (scan.header_torn || scan.damaged) {
            if (!scan.header_torn && !scan.torn) {
                rc = rl_log_errorf(
                    log, EBADMSG,
                    "%s: %s at offset %" PRIu64 " (index %" PRIu64
                    ") with valid records after it: this is corruption, not "
                    "a torn write, and the log will not drop it; run "
                    "raftlog-node --check, restore from a backup, or move "
                    "the data directory away to let the node catch up from "
                    "the leader",
                    path, scan.reason, scan.bad_offset,
                    segment->first_index + segment->count);
                break;
            }
            damage = scan;
            damaged_at = log->segment_count - 1;
        }
    }
    free(firsts);
    if (rc != 0 || damaged_at == SIZE_MAX)
        return rc;
    return s_cut_torn_tail(log, &damage, damaged_at);
}

/* ---- Check ---- */

static void s_check_warn(void *arg, const char *message)
{
    fprintf((FILE *)arg, "warning: %s\n", message);
}

int rl_log_check(const char *dir, FILE *report)
{
    rl_log_config_t config = {.dir = dir,
                              .read_only = true,
                              .warn = s_check_warn,
                              .warn_arg = report};
    rl_log_t *log = rl_log_new(&config);
    if (!log) {
        fprintf(report, "error: out of memory\n");
        return ENOMEM;
    }
    int rc = rl_log_open(log);
    if (rc != 0) {
        fprintf(report, "%s: %s\n", rc == EBADMSG ? "damage" : "error",
                rl_log_error(log));
        rl_log_destroy(&log);
        return rc;
    }
    fprintf(report, "data directory %s: cluster '%s' node %" PRIu64 "\n", dir,
            log->cluster, log->node_id);
    size_t old_segments = 0;
    for (size_t i = 0; i < log->segment_count; i++)
        old_segments += log->segments[i].version == SEGMENT_VERSION_V1;
    fprintf(report,
            "log: %zu segments, entries %" PRIu64 "..%" PRIu64
            " (last term %" PRIu64 "), every checksum verified\n",
            log->segment_count, rl_log_first_index(log), rl_log_last_index(log),
            rl_log_last_term(log));
    fprintf(report,
            "entry times: %" PRIu64 "..%" PRIu64 " ms since the Unix epoch "
            "(0: written before timestamps); %zu segments of format "
            "version %u, %zu of version %u (before timestamps)\n",
            rl_log_first_time(log), rl_log_last_time(log),
            log->segment_count - old_segments, SEGMENT_VERSION, old_segments,
            SEGMENT_VERSION_V1);
    fprintf(report, "hard state: term %" PRIu64 ", voted for %" PRIu64 "\n",
            log->hard_term, log->hard_vote);
    if (log->has_snapshot)
        fprintf(report,
                "snapshot: last index %" PRIu64 ", last term %" PRIu64
                ", %zu bytes of configuration, %zu bytes of state\n",
                log->snapshot_index, log->snapshot_term, log->snapshot_config,
                log->snapshot_state);
    else
        fprintf(report, "snapshot: none\n");
    rl_log_destroy(&log);
    return 0;
}

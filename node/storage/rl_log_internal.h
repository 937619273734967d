/*  rl_log_internal.h - what the modules of the file log share and nobody
    else sees: the log object's fields, the on-disk constants, the
    little-endian helpers, and the functions one module offers the others.

    The log (API in rl_log.h, byte layout in docs/STORAGE.md) is split by
    job, one file each:
      rl_log.c            the object: new, open (the order of its steps),
                          destroy, and the error state every module reports to
      rl_log_file.c       whole reads and writes, private file creation,
                          atomic replacement of small files, directory sync
      rl_log_dir.c        the data directory: created private, locked against
                          a second writer, permissions tightened, the marker
      rl_log_hard_state.c the Raft hard state file
      rl_log_snapshot.c   the snapshot file; saving and installing snapshots
      rl_log_index.c      the in-memory index: segment offsets, term runs
      rl_log_segment.c    segment files: header, create, close, remove
      rl_log_append.c     appending a batch, and rolling it back on failure
      rl_log_truncate.c   removing a suffix (truncate) or a prefix (compact)
      rl_log_read.c       reading entries back
      rl_log_time.c       entry times: lookups by time, retention by age
      rl_log_sync.c       group commit: the sync ticket protocol
      rl_log_spare.c      spare segments: made ahead, adopted at a rollover
      rl_log_recover.c    scanning segments on open, torn tails; the check

    The functions below are not API: they keep the rl_log_ prefix so that
    a stack trace names the module, and every one is declared here only.
    All run on the owner thread unless their comment says otherwise.
*/
#ifndef RL_LOG_INTERNAL_H
#define RL_LOG_INTERNAL_H

#include "rl_crc32c.h"
#include "rl_log.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- On-disk constants (docs/STORAGE.md) ---- */

#define SEGMENT_MAGIC   0x47534C52u /* "RLSG" */
#define HARDSTATE_MAGIC 0x53484C52u /* "RLHS" */
#define SNAPSHOT_MAGIC  0x4E534C52u /* "RLSN" */
#define FORMAT_VERSION  1u          /* of the hard state and snapshot files */

/* Segments: version 2 records carry the entry's time; version 1 (before
   timestamps) is still read, its entries with time 0. New segments are
   always version 2; a log whose last segment is version 1 rolls over to
   a new one before its next append (rl_log_append.c). */
#define SEGMENT_VERSION    2u
#define SEGMENT_VERSION_V1 1u

#define SEGMENT_HEADER_SIZE  32u
#define RECORD_HEADER_SIZE   8u  /* crc, length */
#define RECORD_BODY_FIXED_V1 33u /* index, term, producer, seq, type */
#define RECORD_BODY_FIXED    41u /* ..., type, time (version 2) */
#define RECORD_TIME_AT       33u /* offset of the time in a v2 body */
#define RECORD_MAX_BODY      (RECORD_BODY_FIXED + RL_MAX_ENTRY_SIZE)

/* The time index keeps the time of every TIME_SAMPLE_EVERY-th record of
   each segment (its first included): 8 bytes per 64 entries, next to the
   8 bytes per entry of the offsets. A lookup by time is a binary search
   over segments, then over a segment's samples, then over the records of
   one block, read from disk (about six small preads). */
#define TIME_SAMPLE_EVERY 64u
#define HARDSTATE_SIZE    32u
#define SNAPSHOT_HEADER   40u

#define MARKER_NAME    "raftlog.id"
#define HARDSTATE_NAME "hardstate"
#define SNAPSHOT_NAME  "snapshot"
#define SEGMENT_SUFFIX ".log"
#define TEMP_SUFFIX    ".tmp"
#define SPARE_NAME     "spare" TEMP_SUFFIX /* removed by open if left over */

/* Permissions of everything in a data directory: the log holds client
   data, so only the user running the node may read it (umask aside). */
#define PRIVATE_DIR_MODE  0700
#define PRIVATE_FILE_MODE 0600

/* The largest segment file this build writes: the segment size limit,
   or one record past the header when a record is larger than a small
   configured size. A file claiming more is damage, refused before its
   size reaches an allocation. */
#define SEGMENT_MAX_FILE_SIZE                                                  \
    ((uint64_t)RL_LOG_MAX_SEGMENT_SIZE + SEGMENT_HEADER_SIZE +                 \
     RECORD_HEADER_SIZE + RECORD_MAX_BODY)

/* Indexes from the disk must lie in [1, MAX_INDEX]: index 0 never exists
   in Raft, and an index this far from the top can always be counted up
   from (2^63 entries take 290,000 years at a million a second). */
#define MAX_INDEX ((uint64_t)INT64_MAX)

/* ---- Types ---- */

/* One segment file and its part of the in-memory index. */
typedef struct {
    uint64_t first_index; /* index of its first entry; also its name */
    uint64_t prev_term;   /* term of entry first_index - 1, 0 for none */
    uint32_t version;     /* record format, SEGMENT_VERSION or _V1 */
    uint64_t count;       /* entries it holds */
    uint64_t *offsets;    /* file offset of each entry's record */
    size_t offsets_cap;   /* slots allocated in offsets */
    uint64_t *times;      /* time of records 0, 64, 128, ...: the first
                             (count + 63) / 64 slots are valid */
    size_t times_cap;     /* slots allocated in times */
    uint64_t last_time;   /* time of its last entry (0 when empty) */
    uint64_t size;        /* end of the last whole record: next write */
    uint64_t zeroed;      /* the file holds records or zeros up to here
                             (rl_log_segment_zero_ahead); a hint only */
    int fd;               /* open file, -1 when closed */
    bool dirty;           /* written since the last sync ticket */
} rl_log_segment_t;

/* Entries from first_index up to the next run's first index share term. */
typedef struct {
    uint64_t first_index; /* first entry of the run */
    uint64_t term;        /* term of every entry in the run */
} rl_log_term_run_t;

/* Where the spare segment is (rl_log.h: "Spare segments"). */
typedef enum {
    RL_LOG_SPARE_NONE,   /* none: one may be prepared */
    RL_LOG_SPARE_MAKING, /* with the helper thread */
    RL_LOG_SPARE_READY,  /* made: the next rollover adopts it */
    RL_LOG_SPARE_FAILED  /* the last try failed: none until the next rollover */
} rl_log_spare_state_t;

struct rl_log {
    char *dir;                     /* data directory */
    char *cluster;                 /* expected cluster id, NULL for any */
    uint64_t node_id;              /* expected node id */
    uint64_t segment_size;         /* rollover threshold in bytes */
    uint64_t zero_ahead;           /* zeros written past appends, at most
                                      (rl_log_set_zero_ahead), 0: none */
    bool create;                   /* may create directory and marker */
    bool read_only;                /* never change anything on disk */
    const rl_io_t *io;             /* system calls */
    rl_log_warn_fn *warn;          /* recovery warnings, may be NULL */
    void *warn_arg;                /* passed to warn */
    bool opened;                   /* rl_log_open succeeded */
    int dir_fd;                    /* the directory, for fsync; -1 closed */
    dev_t dev;                     /* the filesystem dir_fd is on */
    bool dir_dirty;                /* a segment was created since last ticket */
    rl_log_segment_t *segments;    /* oldest first; the last takes appends */
    size_t segment_count;          /* segments in use */
    size_t segment_cap;            /* segments allocated */
    rl_log_term_run_t *runs;       /* term runs of the entries, oldest first */
    size_t run_count;              /* runs in use */
    size_t run_cap;                /* runs allocated */
    uint64_t durable_index;        /* highest index on stable storage */
    uint64_t hard_term;            /* saved current term */
    uint64_t hard_vote;            /* saved voted-for, 0 for none */
    bool has_snapshot;             /* a snapshot file exists */
    uint64_t snapshot_index;       /* its last index */
    uint64_t snapshot_term;        /* its last term */
    uint8_t *snapshot_blobs;       /* config then state, owned */
    size_t snapshot_config;        /* bytes of config in snapshot_blobs */
    size_t snapshot_state;         /* bytes of state after the config */
    uint8_t *write_buf;            /* records being appended, reused */
    size_t write_cap;              /* bytes allocated in write_buf */
    uint8_t *scan_buf;             /* a segment's bytes while opening */
    size_t scan_cap;               /* bytes allocated in scan_buf */
    bool ticket_out;               /* a sync ticket is outstanding */
    rl_log_spare_state_t spare;    /* the spare segment's state */
    uint64_t ticket_limit;         /* truncations since prepare cap it here */
    int failed;                    /* errno that failed the log, 0 if healthy */
    char failure[512];             /* what failed it, for later errors */
    rl_log_stats_t stats;          /* counters */
    char error[RL_LOG_ERROR_SIZE]; /* last error or warning */
};

/* ---- Little-endian integers at any alignment (memcpy: no UB) ---- */

static inline void rl_log_put32(uint8_t *p, uint32_t value)
{
    value = htole32(value);
    memcpy(p, &value, sizeof value);
}

static inline void rl_log_put64(uint8_t *p, uint64_t value)
{
    value = htole64(value);
    memcpy(p, &value, sizeof value);
}

static inline uint32_t rl_log_get32(const uint8_t *p)
{
    uint32_t value;
    memcpy(&value, p, sizeof value);
    return le32toh(value);
}

static inline uint64_t rl_log_get64(const uint8_t *p)
{
    uint64_t value;
    memcpy(&value, p, sizeof value);
    return le64toh(value);
}

/* ---- Records (inline: the read and scan loops call them per record) ---- */

/* The body length the record at p claims. */
static inline uint32_t rl_log_record_body(const uint8_t *p)
{
    return rl_log_get32(p + 4);
}

/* True when the record at p, whose body length was checked to be in the
   buffer, carries the right checksum. */
static inline bool rl_log_record_ok(const uint8_t *p, uint32_t body)
{
    return rl_log_get32(p) == rl_crc32c(0, p + 4, 4 + body);
}

/* The fixed part of a record body in a segment of version. */
static inline uint32_t rl_log_body_fixed(uint32_t version)
{
    return version == SEGMENT_VERSION_V1 ? RECORD_BODY_FIXED_V1
                                         : RECORD_BODY_FIXED;
}

/* The time in the record body b of a segment of version (0 in v1). */
static inline uint64_t rl_log_body_time(const uint8_t *b, uint32_t version)
{
    return version == SEGMENT_VERSION_V1 ? 0 : rl_log_get64(b + RECORD_TIME_AT);
}

/* ---- Error state (rl_log.c) ---- */

/* Sets the error message and returns code, so that failures read
   "return rl_log_errorf(log, ENOSPC, ...)". */
__attribute__((format(printf, 3, 4))) int
rl_log_errorf(rl_log_t *log, int code, const char *format, ...);

/* Reports a warning through the callback, and keeps it in the error
   buffer too. */
__attribute__((format(printf, 2, 3))) void
rl_log_warnf(rl_log_t *log, const char *format, ...);

/* Enters the failed state (what: the call that failed): from now on only
   destroy is useful. Returns the error code. */
int rl_log_set_failed(rl_log_t *log, int code, const char *what);

/* 0 when writes are allowed, else the error explaining why not. */
int rl_log_require_writable(rl_log_t *log);

/* ---- Files (rl_log_file.c) ---- */

/* Formats dir/name into path (PATH_MAX bytes). */
void rl_log_path(const rl_log_t *log, char *path, const char *name);

/* Formats the path of the segment starting at first_index. */
void rl_log_segment_path(const rl_log_t *log, char *path, uint64_t first_index);

/* Writes all of buf at offset, continuing after short writes; returns 0
   or an errno (ENOSPC when a write makes no progress). Thread-safe. */
int rl_log_file_pwrite_all(const rl_io_t *io, int fd, const uint8_t *buf,
                           size_t size, uint64_t offset);

/* Reads up to size bytes at offset; *got tells how many (short at EOF).
   Returns 0 or an errno. */
int rl_log_file_pread_all(const rl_io_t *io, int fd, uint8_t *buf, size_t size,
                          uint64_t offset, size_t *got);

/* Opens path with flags | O_CREAT and makes it PRIVATE_FILE_MODE whatever
   the umask (open's mode is masked by it, and O_TRUNC keeps the mode of
   a file left over by an older version). Returns the fd, or -1 with errno
   set and nothing left behind. Thread-safe. */
int rl_log_file_create(const rl_io_t *io, const char *path, int flags);

/* Replaces dir/name with data atomically and durably (temporary file,
   fdatasync, rename, directory fsync). */
int rl_log_file_replace(rl_log_t *log, const char *name, const uint8_t *data,
                        size_t size);

/* Reads the whole small file dir/name into a new buffer (*data, free it).
   ENOENT, with no message, when absent. A file that is not a regular
   file or is over max_size bytes is damage (EBADMSG), refused before it
   is read: what (e.g. "hard state") names it in the message. */
int rl_log_file_load(rl_log_t *log, const char *name, const char *what,
                     size_t max_size, uint8_t **data, size_t *size);

/* fsync of the directory: after creating, renaming or removing a file,
   the directory entry itself must reach the disk. A failure fails the
   log. */
int rl_log_dir_sync(rl_log_t *log);

/* Grows *ptr (an array of *cap items of unit bytes) to hold need items,
   doubling. 0, or ENOMEM (also when the size would overflow). Inline:
   the append loop calls it per record and it rarely has work. */
int rl_log_grow_slow(void **ptr, size_t *cap, size_t need, size_t unit);

static inline int rl_log_grow(void **ptr, size_t *cap, size_t need, size_t unit)
{
    return need <= *cap ? 0 : rl_log_grow_slow(ptr, cap, need, unit);
}

/* ---- Data directory (rl_log_dir.c) ---- */

/* Creates the directory when asked (private), opens it, takes the
   writer's lock, checks (or writes) the marker, and tightens permissions
   left wider by an older version. */
int rl_log_dir_open(rl_log_t *log);

/* ---- Hard state and snapshot files ---- */

/* Loads the hard state file, if any (rl_log_hard_state.c). */
int rl_log_hard_state_load(rl_log_t *log);

/* Loads the snapshot file, if any (rl_log_snapshot.c). */
int rl_log_snapshot_load(rl_log_t *log);

/* On open, after the segments are loaded: discards a log that does not
   hold the snapshot's last entry (an interrupted install). */
int rl_log_snapshot_reconcile(rl_log_t *log);

/* ---- In-memory index (rl_log_index.c) ---- */

/* Term of first index - 1: the oldest segment's header, else the
   snapshot's last term, else 0. */
uint64_t rl_log_boundary_term(const rl_log_t *log);

/* The segment holding index (which must be in the log). */
rl_log_segment_t *rl_log_segment_of(rl_log_t *log, uint64_t index);

/* Drops the runs of entries from index on. */
void rl_log_runs_truncate(rl_log_t *log, uint64_t index);

/* Drops the runs wholly before the new first index. */
void rl_log_runs_compact(rl_log_t *log, uint64_t first);

/* Records that the entry at index has term. Inline: called per record. */
static inline int rl_log_runs_push(rl_log_t *log, uint64_t index, uint64_t term)
{
    if (log->run_count && log->runs[log->run_count - 1].term == term)
        return 0;
    if (rl_log_grow((void **)&log->runs, &log->run_cap, log->run_count + 1,
                    sizeof *log->runs))
        return ENOMEM;
    log->runs[log->run_count].first_index = index;
    log->runs[log->run_count].term = term;
    log->run_count++;
    return 0;
}

/* Records the time of the k-th record of segment (k = its count before
   the record is counted): sampled every TIME_SAMPLE_EVERY records, and
   kept as the segment's last time. Inline: called per record. */
static inline int rl_log_times_push(rl_log_segment_t *segment, uint64_t k,
                                    uint64_t time)
{
    if (k % TIME_SAMPLE_EVERY == 0) {
        size_t slot = (size_t)(k / TIME_SAMPLE_EVERY);
        if (rl_log_grow((void **)&segment->times, &segment->times_cap, slot + 1,
                        sizeof *segment->times))
            return ENOMEM;
        segment->times[slot] = time;
    }
    segment->last_time = time;
    return 0;
}

/* The time of the k-th record of segment, read from the disk (the fixed
   part of its record only: the time guides a search, and whatever is
   then read is verified whole). 0 or an error (EBADMSG for a record that
   does not fill its slot or has another index). (rl_log_time.c) */
int rl_log_record_time(rl_log_t *log, const rl_log_segment_t *segment,
                       uint64_t k, uint64_t *time);

/* ---- Segments (rl_log_segment.c) ---- */

/* Creates a new segment after the last one (adopting the spare when one
   is ready) and writes its header; not synced (the next ticket syncs it
   and the directory). */
int rl_log_segment_create(rl_log_t *log, uint64_t first_index,
                          uint64_t prev_term);

/* Makes sure the last segment takes version 2 records: a last segment of
   version 1 (written before entry times) that holds entries is followed
   by a new segment, as at a rollover (synced by the next ticket); an
   empty one is replaced by an empty version 2 segment of the same name,
   atomically (temporary file, fdatasync, rename, directory fsync). */
int rl_log_segment_upgrade(rl_log_t *log);

/* After an append to segment: zeros past its last record, ahead of the
   next appends, when the log asks for them (rl_log_set_zero_ahead).
   Never fails: a hint. */
void rl_log_segment_zero_ahead(rl_log_t *log, rl_log_segment_t *segment);

/* Closes segment's file and frees its offsets and time samples. */
void rl_log_segment_close(rl_log_t *log, rl_log_segment_t *segment);

/* Removes the segments from position from on, newest first, so that a
   crash part way leaves a prefix of the old log. The caller syncs the
   directory. A failed unlink fails the log. */
int rl_log_segments_remove(rl_log_t *log, size_t from);

/* ---- Spare segments (rl_log_spare.c) ---- */

/* Turns the ready spare into the segment at path, header written; returns
   its fd, or -1 when it cannot (the spare is then gone and the caller
   creates the segment the ordinary way). */
int rl_log_spare_adopt(rl_log_t *log, const char *path, const uint8_t *header);

/* ---- Recovery (rl_log_recover.c) ---- */

/* Lists, scans and checks every segment, rebuilding the index, and cuts
   a torn tail (or, read-only, reports it). */
int rl_log_segments_load(rl_log_t *log);

#endif

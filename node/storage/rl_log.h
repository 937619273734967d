/*  rl_log.h - the append-only file log of one raftlog node.

    One data directory holds everything a node must not forget:
      - the log entries, in segment files named by their first index
        (00000000000000000001.log), each record framed with its length and
        a CRC32C so that a torn or corrupt record is always detected;
      - the Raft hard state (current term, voted-for), replaced atomically;
      - the latest snapshot: its last index and term plus two opaque blobs
        (the configuration and the replicated state), replaced atomically;
      - a marker naming the cluster and node the directory belongs to.
    The byte layout and the recovery rules are in docs/STORAGE.md. The
    directory is private: 0700, its files 0600, whatever the umask.

    Threading: an rl_log_t belongs to one thread (the node's event loop)
    and takes no locks. The exceptions are rl_log_sync_run() and
    rl_log_spare_run(), which only touch the ticket they are given and may
    run on helper threads while the owner keeps appending; see "Group
    commit" and "Spare segments" below.

    Errors: functions return 0 or an errno value, and rl_log_error() says
    what happened with context (file, offset, index, what to do):
      EBADMSG  corrupt data on disk (checksum, sequence, format)
      ERANGE   an index outside [rl_log_first_index - 1, rl_log_last_index]
      EINVAL   entries or a snapshot that do not fit the log
      EXDEV    the data directory belongs to another cluster or node
      EBUSY    another process has the data directory open for writing
      ENOENT   no log in the directory (read-only, or create not asked)
      EIO      the log is failed (an fsync failed earlier); restart the node
      EROFS    a write on a log opened read-only
      others   from the system call that failed (ENOSPC, EIO, EMFILE, ...)
*/
#ifndef RL_LOG_H
#define RL_LOG_H

#include "rl_io.h"
#include "rl_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Segment size when the configuration says 0. */
#define RL_LOG_DEFAULT_SEGMENT_SIZE (64u << 20)

/* The largest segment size rl_log_open accepts (EINVAL above it). Open
   reads a segment whole, so this bounds its memory; a segment file
   larger than any this build writes is refused as damage. */
#define RL_LOG_MAX_SEGMENT_SIZE (1u << 30)

/* The most bytes of blobs (configuration and state together) a snapshot
   may carry: save and install refuse more (EINVAL), open refuses a
   snapshot file claiming more as damage. */
#define RL_LOG_MAX_SNAPSHOT_SIZE (256u << 20)

/* Bytes of the error message buffer, terminator included. */
#define RL_LOG_ERROR_SIZE 1024

typedef struct rl_log rl_log_t;

/* Receives recovery warnings (a torn tail truncated, an interrupted
   snapshot install finished). message is borrowed for the call. The
   library never prints; without a callback the last warning stays in the
   error buffer. */
typedef void(rl_log_warn_fn)(void *arg, const char *message);

/* How to open a data directory. Strings are copied by rl_log_new(). */
typedef struct {
    const char *dir;       /* data directory */
    const char *cluster;   /* cluster id it must belong to (NULL only when
                              read_only: then any marker is accepted) */
    uint64_t node_id;      /* node id it must belong to (ignored when
                              cluster is NULL) */
    uint64_t segment_size; /* roll over to a new segment after about this
                              many bytes; 0 for the default */
    bool create;           /* create the directory and its marker when the
                              directory is missing or empty */
    bool read_only;        /* change nothing on disk (rl_log_check) */
    const rl_io_t *io;     /* system calls; NULL for libc. Borrowed: must
                              outlive the log */
    rl_log_warn_fn *warn;  /* recovery warnings; NULL for none */
    void *warn_arg;        /* passed to warn */
} rl_log_config_t;

/* Snapshot metadata and blobs (Raft paper section 7). The blobs are
   opaque to storage. In arguments they are borrowed for the call; from
   rl_log_snapshot() they are owned by the log and valid until the next
   snapshot call or rl_log_destroy(). */
typedef struct {
    uint64_t last_index;   /* last index the snapshot replaces */
    uint64_t last_term;    /* term of that entry */
    const uint8_t *config; /* configuration as of last_index */
    size_t config_size;    /* bytes of config */
    const uint8_t *state;  /* replicated state (producer sessions) */
    size_t state_size;     /* bytes of state */
} rl_log_snapshot_t;

/* Counters, so tests and the benchmark can assert how often we sync. */
typedef struct {
    uint64_t appends;          /* entries appended */
    uint64_t write_calls;      /* pwrite calls on segments */
    uint64_t bytes_written;    /* bytes written to segments */
    uint64_t group_commits;    /* successful rl_log_sync_finish calls */
    uint64_t fdatasync_calls;  /* fdatasync calls, tickets included */
    uint64_t fsync_calls;      /* fsync calls (directories) */
    uint64_t spares_used;      /* segments that began as a spare */
    uint64_t filesystem_syncs; /* tickets made durable by a syncfs of the
                                  whole filesystem (rl_sync_batch.h)
                                  instead of their own fdatasyncs */
} rl_log_stats_t;

/* Entries read by rl_log_read(): a value the caller owns and reuses, so
   that a tailing reader allocates nothing in the steady state. */
typedef struct {
    rl_entry_t *entries; /* count entries; data points into buf */
    size_t count;        /* entries read by the last rl_log_read */
    size_t entries_cap;  /* slots allocated in entries */
    uint8_t *buf;        /* records as read from disk */
    size_t buf_cap;      /* bytes allocated in buf */
} rl_log_batch_t;

/* What rl_log_sync_prepare() hands to rl_log_sync_run(): duplicated file
   descriptors, so that the owner may truncate, compact or close segments
   while the sync runs without the helper touching a reused descriptor.
   Treat the fields as private. */
typedef struct {
    int *fds;            /* dup'd segment fds to fdatasync */
    size_t fd_count;     /* number of fds */
    int dir_fd;          /* dup'd directory fd to fsync, or -1 */
    dev_t dev;           /* the filesystem the log's directory is on */
    uint64_t last_index; /* durable once the ticket completes */
    const rl_io_t *io;   /* the log's system calls */
    bool borrowed;       /* fds are the log's own (rl_log_sync): no close */
    uint64_t fdatasync_calls; /* made by rl_log_sync_run */
    uint64_t fsync_calls;     /* made by rl_log_sync_run */
    bool filesystem_synced;   /* made durable by a syncfs instead (set by
                                 rl_sync_batch_run, never by the owner) */
    int error;                /* errno of the failed call, 0 for none */
    char what[64];            /* which call failed, for the message */
} rl_log_sync_ticket_t;

/* ---- Life cycle ---- */

/* Makes a log for config; nothing is touched on disk until
   rl_log_open(). Returns NULL only when out of memory. */
rl_log_t *rl_log_new(const rl_log_config_t *config);

/* Opens (creating when config->create) the data directory, checks its
   marker, loads hard state and snapshot, scans every segment to rebuild
   the in-memory index, and recovers from a crash:
     - a torn or partial last record is truncated away with a warning
       naming file and offset; nothing before it is touched;
     - a damaged record that is not at the tail (a valid record follows it)
       stops the open with EBADMSG naming file, offset and index;
     - a snapshot whose last entry the log does not hold discards the log
       (an interrupted rl_log_install_snapshot).
   Everything found on disk is synced once and counts as durable. A
   writable log holds an exclusive flock(2) on the directory until it is
   destroyed (EBUSY for a second writer). A new directory is made 0700 and
   every file 0600, whatever the umask; an existing directory or file with
   wider permissions (group or other bits, as older versions left them) is
   tightened, with one warning (read-only: only the warning). EINVAL for a
   segment size above RL_LOG_MAX_SEGMENT_SIZE. Call once. On failure the
   log can only be destroyed. */
int rl_log_open(rl_log_t *log);

/* Closes files and frees the log. Idempotent; nulls *log_p. A log must
   have no sync ticket outstanding. Unsynced entries stay in the page cache
   and may or may not reach the disk. */
void rl_log_destroy(rl_log_t **log_p);

/* The message of the last error or warning, with context. Never NULL;
   valid until the next call on the log. */
const char *rl_log_error(const rl_log_t *log);

/* True once the log is failed (a failed fsync, or a write it could not
   roll back): only destroy is useful then. A write error that was rolled
   back (ENOSPC, say) leaves the log healthy and false here. */
bool rl_log_failed(const rl_log_t *log);

/* ---- State ---- */

/* First index held (1 for a new log; after compaction or a snapshot the
   index after the boundary). */
uint64_t rl_log_first_index(const rl_log_t *log);

/* Last index written (first index - 1 when empty). Written is not
   durable: see rl_log_durable_index(). */
uint64_t rl_log_last_index(const rl_log_t *log);

/* Term of the last entry, or of the boundary when the log is empty. */
uint64_t rl_log_last_term(const rl_log_t *log);

/* Highest index known to be on stable storage. A follower acknowledges,
   and a leader counts itself for commitment, only up to here (paper 5.3
   and thesis 10.2.1). */
uint64_t rl_log_durable_index(const rl_log_t *log);

/* Term of the entry at index, in O(log terms) from memory. The boundary
   (first index - 1) is answered too, as is index 0 (term 0). ERANGE for
   anything else outside the log. */
int rl_log_term(const rl_log_t *log, uint64_t index, uint64_t *term);

/* Copies the counters. */
void rl_log_stats(const rl_log_t *log, rl_log_stats_t *stats);

/* ---- Entries ---- */

/* Appends count entries (count >= 1). Rules:
     - entries[i].index must be rl_log_last_index() + 1 + i;
     - terms must not decrease, and not be below rl_log_last_term();
     - payloads are at most RL_MAX_ENTRY_SIZE bytes.
   All records go to disk with one pwrite per segment touched, from a
   buffer the log reuses; nothing is synced (see group commit). On a write
   error (ENOSPC, EIO, a short write) the whole batch is rolled back with
   ftruncate and the log is as before the call; if even the rollback fails
   the log enters the failed state. entries and their data are borrowed. */
int rl_log_append(rl_log_t *log, const rl_entry_t *entries, size_t count);

/* Reads entries from index from: at most max_entries (>= 1), stopping
   before max_bytes of records would be exceeded (0: no byte limit), but
   always at least one. Written entries may be read before they are
   durable (a leader replicates while it syncs). Every record's checksum
   is verified again (EBADMSG). batch's previous contents are replaced;
   entry data points into batch->buf until the next read into batch.

   Reads use pread(2), not mmap: a truncated or deleted segment then gives
   a short read instead of SIGBUS, and there is no mapping whose lifetime
   must be tied to readers. A read holds nothing: appends can go on at
   once. ERANGE when from is outside [first, last]. */
int rl_log_read(rl_log_t *log, uint64_t from, size_t max_entries,
                size_t max_bytes, rl_log_batch_t *batch);

/* ---- Entry times ----

   Every entry carries the time its leader stamped it with (rl_entry_t
   .time, ms since the Unix epoch), stored in its record (segment format
   version 2) and returned by rl_log_read; entries of version 1 segments,
   written before timestamps, read back with time 0. The Raft core keeps
   times non-decreasing along a log, which these lookups rely on (see
   rl_log_time.c for what they do with a log where that does not hold). */

/* The first index in [first, last] whose entry is stamped at or after
   time, found by binary search (an in-memory sample of every 64th
   record's time per segment, then at most six small preads); last + 1
   when none is. Entries with time 0 count as older than any time, so
   time 0 gives the first index. 0, or an error reading the disk
   (EBADMSG, EIO). */
int rl_log_find_time(rl_log_t *log, uint64_t time, uint64_t *index);

/* The time of the first retained entry, and of the last one; 0 when the
   log is empty or that entry was written before timestamps. */
uint64_t rl_log_first_time(const rl_log_t *log);
uint64_t rl_log_last_time(const rl_log_t *log);

/* A batch with no entries and no buffers. */
void rl_log_batch_init(rl_log_batch_t *batch);

/* Frees a batch's buffers and empties it. Safe to call twice. */
void rl_log_batch_close(rl_log_batch_t *batch);

/* Removes every entry from index on (a Raft conflict, paper 5.3),
   durably: when this returns 0 the removal survives a crash. index must be
   in [first, last + 1] (ERANGE otherwise) and above the snapshot's last
   index (EINVAL: those entries are committed, and the snapshot would no
   longer match the log); truncating at first empties the log but keeps
   its boundary. The durable index drops to at most
   index - 1, also for a sync ticket outstanding now. */
int rl_log_truncate(rl_log_t *log, uint64_t index);

/* Deletes the whole segments that hold only entries below index
   (retention, or compaction below a snapshot); never the last segment.
   The first index becomes the first index of the oldest segment kept,
   whose header keeps the boundary's term. Durable on return. Compacting
   beyond the snapshot is the caller's choice; storage does not forbid it.
*/
int rl_log_compact(rl_log_t *log, uint64_t index);

/* Retention: the index below which whole segments can go so that about
   keep_bytes of log remain (the newest segments whose sizes add up to at
   least keep_bytes, and never the last one are kept). 0 when nothing
   would be dropped. */
uint64_t rl_log_retention_index(const rl_log_t *log, uint64_t keep_bytes);

/* Retention by age: the index below which whole segments can go because
   their last entry is stamped before `before` (ms since the Unix epoch);
   never the last segment. A segment of entries written before timestamps
   (time 0) counts as stamped at the first stamped entry after it, and is
   kept while none follows. 0 when nothing would be dropped. */
uint64_t rl_log_age_retention_index(const rl_log_t *log, uint64_t before);

/* Bytes of log on disk (all segments). */
uint64_t rl_log_bytes(const rl_log_t *log);

/* Segment files in use (the spare, not yet adopted, is not one). */
size_t rl_log_segment_count(const rl_log_t *log);

/* ---- Group commit ----

   Appends only write; syncing is separate, so that many appends share
   one fdatasync (Redis AOF's pattern: write during an event-loop turn,
   sync once). Two ways to sync:

     rl_log_sync(log): prepare, run and finish on the calling thread.

     On a helper thread, while the owner keeps appending:
       owner:  rl_log_sync_prepare(log, &ticket)   (captures last index)
       helper: rl_log_sync_run(&ticket)            (only fdatasync/fsync)
       owner:  rl_log_sync_finish(log, &ticket, rc)

   Only rl_log_sync_run() is thread-safe, and only with respect to the
   owner's calls on the log: it touches the ticket alone. At most one
   ticket may be outstanding per log. Entries appended after prepare are
   not covered; the next ticket syncs them.

   A failed fdatasync is fatal (see PostgreSQL's "fsyncgate"): the kernel
   may have dropped the dirty pages, so retrying could "succeed" without
   the data. The log enters the failed state: every later write, sync and
   read returns EIO; restart the node, which recovers from what the disk
   really holds. */

/* Captures what must be synced: dup'd descriptors of the segments written
   since the last ticket (and of the directory if a segment was created)
   and the last index written. On 0 the caller must finish the ticket
   (also when rl_log_sync_run fails); on an error there is nothing to
   finish. */
int rl_log_sync_prepare(rl_log_t *log, rl_log_sync_ticket_t *ticket);

/* Syncs the ticket's descriptors. Thread-safe (see above). Returns 0 or
   the errno of the first failing call, also kept in the ticket. */
int rl_log_sync_run(rl_log_sync_ticket_t *ticket);

/* Takes the result of rl_log_sync_run (rc) back on the owner thread:
   closes the descriptors, and on success raises the durable index to the
   ticket's last index (lowered by any truncation since prepare); on
   failure puts the log in the failed state. Returns 0 or rc. */
int rl_log_sync_finish(rl_log_t *log, rl_log_sync_ticket_t *ticket, int rc);

/* All three on this thread. On return 0 every entry written so far is
   durable. */
int rl_log_sync(rl_log_t *log);

/* ---- Spare segments ----

   An fdatasync that must also record a grown file size commits the file
   system's journal (ext4), which every file on the disk shares; one of
   bytes written over zeros the file already holds on disk flushes data
   only. So the owner may keep a spare: a file of segment_size zeros,
   made and synced by a helper thread ahead of need, which the next
   rollover adopts as the new segment (its header written over the first
   zeros, then renamed into place). Without a spare, a rollover creates an
   empty segment that grows as it is written, as before. The zeros after
   a segment's last record are its end (docs/STORAGE.md).

       owner:  if (rl_log_spare_prepare(log, &spare))  (one is wanted)
       helper: rc = rl_log_spare_run(&spare)           (create, fill, sync)
       owner:  rl_log_spare_finish(log, &spare, rc)

   A spare is wanted once the last segment is half full. A failed spare
   is reported as a warning and tried again after the next rollover; a
   leftover spare file is removed by the next open. */

/* Zeros written ahead. The first segment of a log, or one made without a
   spare, grows with every append, and each of its fdatasyncs commits the
   journal. So after each append the log writes zeros past it: as many
   bytes as the segment holds, at least 64 KiB and at most `bytes` (and
   never past segment_size), so that the following fdatasyncs write over
   zeros. A log written little keeps little zeros. 0 (the default) turns
   it off: with fsync off, or with the disk low, zeros only cost writes.
   Best effort: a failed write of zeros leaves the next append to grow the
   file, as without. */
void rl_log_set_zero_ahead(rl_log_t *log, uint64_t bytes);

/* What rl_log_spare_prepare() hands to rl_log_spare_run(). */
typedef struct {
    const rl_io_t *io;      /* the log's system calls */
    char path[4096];        /* the spare file to make */
    uint64_t size;          /* its size in bytes */
    char error[4096 + 160]; /* what failed, for rl_log_spare_finish */
} rl_log_spare_t;

/* True when the log wants a spare made (it is open for writing, healthy,
   has none made or being made, and its last segment is half full); fills
   spare. The caller must then run and finish it. */
bool rl_log_spare_prepare(rl_log_t *log, rl_log_spare_t *spare);

/* Makes the spare: creates the file, writes its zeros and fdatasyncs it.
   Thread-safe: touches the ticket and its file alone. Returns 0 or an
   errno (then the file is removed). */
int rl_log_spare_run(rl_log_spare_t *spare);

/* Takes the result back on the owner thread: on 0 the next rollover
   adopts the spare. */
void rl_log_spare_finish(rl_log_t *log, rl_log_spare_t *spare, int rc);

/* ---- Hard state and snapshot ---- */

/* Replaces the Raft hard state durably (temp file, fdatasync, rename,
   directory fsync) before returning 0. Call it, and wait for it, before
   acting on a new term or a vote (paper figure 2, "persistent state").
   A failure before the rename leaves the previous value in place. */
int rl_log_set_hard_state(rl_log_t *log, uint64_t term, uint64_t voted_for);

/* The hard state last saved; both 0 for a new directory. */
void rl_log_hard_state(const rl_log_t *log, uint64_t *term,
                       uint64_t *voted_for);

/* Saves a snapshot the node took itself, durably and atomically; the log
   is not changed (compact separately, e.g. keeping a trailing window for
   slow followers). The log must hold (last_index, last_term) or have it
   as its boundary; EINVAL otherwise, and when the blobs exceed
   RL_LOG_MAX_SNAPSHOT_SIZE. */
int rl_log_save_snapshot(rl_log_t *log, const rl_log_snapshot_t *snapshot);

/* Installs a snapshot received from the leader (paper figure 13, steps
   5-7): saves it durably, then, if the log holds an entry with the
   snapshot's last index and term, keeps the entries after it and deletes
   the segments wholly covered; otherwise discards the entire log, which
   then starts at last_index + 1 with last_term as its boundary. Durable on
   return; a crash in between is finished by rl_log_open(). EINVAL when the
   snapshot is older than the log's first index - 1, when its blobs exceed
   RL_LOG_MAX_SNAPSHOT_SIZE, or when its last index is 2^63 - 1 or more
   (beyond any index a log can reach: the log would restart past it). */
int rl_log_install_snapshot(rl_log_t *log, const rl_log_snapshot_t *snapshot);

/* The latest snapshot saved or installed (blobs owned by the log, see
   rl_log_snapshot_t). ENOENT when there is none. */
int rl_log_snapshot(const rl_log_t *log, rl_log_snapshot_t *snapshot);

/* ---- Offline check ---- */

/* Opens dir read-only (any cluster, any node), verifies the marker, the
   hard state, the snapshot and every record's checksum and sequence, and
   writes what it finds to report (a summary, then warnings and damage).
   Returns 0 when the directory is clean or needs only what rl_log_open
   repairs by itself (a torn tail), otherwise the error code (EBADMSG for
   damage, ENOENT for no log there). Changes nothing. */
int rl_log_check(const char *dir, FILE *report);

#endif

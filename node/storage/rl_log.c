/*  rl_log.c - the append-only file log: segments, recovery, group commit,
    hard state and snapshot files.

    Layout (docs/STORAGE.md has it byte by byte), all integers little
    endian:
      raftlog.id            marker: cluster and node id, text
      hardstate             term, voted-for, CRC32C; replaced atomically
      snapshot              last index/term, two blobs, CRC32C; replaced
                            atomically
      <first index>.log     segment: 32-byte header, then records
    Segment header: magic "RLSG", version, first index, term of the entry
    before it (the boundary term, kept across compaction), CRC32C.
    Record: u32 CRC32C of the next two fields, u32 length of the body,
    body = index, term, producer id, seq (u64 each), type (u8), payload.

    The in-memory index keeps, per segment, the file offset of every
    record, and for the whole log the runs of equal terms, so a lookup by
    index is arithmetic plus one pread and a term lookup a binary search.
*/
#include "rl_log.h"

#include "rl_crc32c.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEGMENT_MAGIC   0x47534C52u /* "RLSG" */
#define HARDSTATE_MAGIC 0x53484C52u /* "RLHS" */
#define SNAPSHOT_MAGIC  0x4E534C52u /* "RLSN" */
#define FORMAT_VERSION  1u

#define SEGMENT_HEADER_SIZE 32u
#define RECORD_HEADER_SIZE  8u  /* crc, length */
#define RECORD_BODY_FIXED   33u /* index, term, producer, seq, type */
#define RECORD_MAX_BODY     (RECORD_BODY_FIXED + RL_MAX_ENTRY_SIZE)
#define HARDSTATE_SIZE      32u
#define SNAPSHOT_HEADER     40u

#define MARKER_NAME    "raftlog.id"
#define HARDSTATE_NAME "hardstate"
#define SNAPSHOT_NAME  "snapshot"
#define SEGMENT_SUFFIX ".log"
#define TEMP_SUFFIX    ".tmp"
#define SPARE_NAME     "spare" TEMP_SUFFIX /* removed by open if left over */
#define SPARE_CHUNK    (1u << 20) /* zeros written and synced at a time */
#define SPARE_PAUSE_NS 10000000L  /* then a pause: at most ~100 MB/s */

/* Appends gather records in one buffer and write it with one pwrite; a
   batch larger than this is written in pieces of about this size so that
   the buffer stays bounded. */
#define WRITE_BUFFER_LIMIT (16u << 20)

/* One segment file and its part of the in-memory index. */
typedef struct {
    uint64_t first_index; /* index of its first entry; also its name */
    uint64_t prev_term;   /* term of entry first_index - 1, 0 for none */
    uint64_t count;       /* entries it holds */
    uint64_t *offsets;    /* file offset of each entry's record */
    size_t offsets_cap;   /* slots allocated in offsets */
    uint64_t size;        /* end of the last whole record: next write */
    int fd;               /* open file, -1 when closed */
    bool dirty;           /* written since the last sync ticket */
} s_segment_t;

/* Entries from first_index up to the next run's first index share term. */
typedef struct {
    uint64_t first_index; /* first entry of the run */
    uint64_t term;        /* term of every entry in the run */
} s_term_run_t;

/* Where the spare segment is (rl_log.h: "Spare segments"). */
typedef enum {
    S_SPARE_NONE,   /* none: one may be prepared */
    S_SPARE_MAKING, /* with the helper thread */
    S_SPARE_READY,  /* made: the next rollover adopts it */
    S_SPARE_FAILED  /* the last try failed: none until the next rollover */
} s_spare_state_t;

struct rl_log {
    char *dir;                     /* data directory */
    char *cluster;                 /* expected cluster id, NULL for any */
    uint64_t node_id;              /* expected node id */
    uint64_t segment_size;         /* rollover threshold in bytes */
    bool create;                   /* may create directory and marker */
    bool read_only;                /* never change anything on disk */
    const rl_io_t *io;             /* system calls */
    rl_log_warn_fn *warn;          /* recovery warnings, may be NULL */
    void *warn_arg;                /* passed to warn */
    bool opened;                   /* rl_log_open succeeded */
    int dir_fd;                    /* the directory, for fsync; -1 closed */
    bool dir_dirty;                /* a segment was created since last ticket */
    s_segment_t *segments;         /* oldest first; the last takes appends */
    size_t segment_count;          /* segments in use */
    size_t segment_cap;            /* segments allocated */
    s_term_run_t *runs;            /* term runs of the entries, oldest first */
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
    s_spare_state_t spare;         /* the spare segment's state */
    uint64_t ticket_limit;         /* truncations since prepare cap it here */
    int failed;                    /* errno that failed the log, 0 if healthy */
    char failure[512];             /* what failed it, for later errors */
    rl_log_stats_t stats;          /* counters */
    char error[RL_LOG_ERROR_SIZE]; /* last error or warning */
};

/* ---- Little helpers ---- */

static void s_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void s_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t s_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t s_get64(const uint8_t *p)
{
    return (uint64_t)s_get32(p) | (uint64_t)s_get32(p + 4) << 32;
}

/* Sets the error message and returns code, so that failures read
   "return s_fail(log, ENOSPC, ...)". */
__attribute__((format(printf, 3, 4))) static int s_fail(rl_log_t *log, int code,
                                                        const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(log->error, sizeof log->error, format, args);
    va_end(args);
    return code;
}

/* Reports a recovery warning through the callback, and keeps it in the
   error buffer too. */
__attribute__((format(printf, 2, 3))) static void
s_warn(rl_log_t *log, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(log->error, sizeof log->error, format, args);
    va_end(args);
    if (log->warn)
        log->warn(log->warn_arg, log->error);
}

/* Enters the failed state: from now on only destroy is useful. */
static int s_failed(rl_log_t *log, int code, const char *what)
{
    log->failed = code ? code : EIO;
    snprintf(log->failure, sizeof log->failure, "%s: %s", what,
             strerror(log->failed));
    return s_fail(log, log->failed,
                  "%s; the log is now failed and refuses further writes: "
                  "restart the node, which recovers from what the disk holds",
                  log->failure);
}

/* 0 when writes are allowed, else the error explaining why not. */
static int s_writable(rl_log_t *log)
{
    assert(log->opened);
    if (log->failed)
        return s_fail(log, EIO,
                      "log failed earlier (%s); restart the node to recover "
                      "from what is on disk",
                      log->failure);
    if (log->read_only)
        return s_fail(log, EROFS, "log %s was opened read-only", log->dir);
    return 0;
}

static void s_path(const rl_log_t *log, char *path, const char *name)
{
    snprintf(path, PATH_MAX, "%s/%s", log->dir, name);
}

static void s_segment_name(char *name, uint64_t first_index)
{
    snprintf(name, 32, "%020" PRIu64 SEGMENT_SUFFIX, first_index);
}

static void s_segment_path(const rl_log_t *log, char *path,
                           uint64_t first_index)
{
    char name[32];
    s_segment_name(name, first_index);
    s_path(log, path, name);
}

/* Writes all of buf at offset, continuing after short writes; a short
   write followed by an error returns the error. */
static int s_pwrite_all(const rl_io_t *io, int fd, const uint8_t *buf,
                        size_t size, uint64_t offset)
{
    while (size > 0) {
        ssize_t done = io->pwrite(fd, buf, size, (off_t)offset);
        if (done < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        if (done == 0)
            return ENOSPC; /* no progress and no error: treat as full */
        buf += done;
        size -= (size_t)done;
        offset += (uint64_t)done;
    }
    return 0;
}

/* Reads up to size bytes at offset; *got tells how many (short at EOF). */
static int s_pread_all(const rl_io_t *io, int fd, uint8_t *buf, size_t size,
                       uint64_t offset, size_t *got)
{
    *got = 0;
    while (*got < size) {
        ssize_t done =
            io->pread(fd, buf + *got, size - *got, (off_t)(offset + *got));
        if (done < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        if (done == 0)
            break;
        *got += (size_t)done;
    }
    return 0;
}

static int s_grow(void **ptr, size_t *cap, size_t need, size_t unit)
{
    if (need <= *cap)
        return 0;
    size_t new_cap = *cap ? *cap : 16;
    while (new_cap < need)
        new_cap *= 2;
    void *grown = realloc(*ptr, new_cap * unit);
    if (!grown)
        return ENOMEM;
    *ptr = grown;
    *cap = new_cap;
    return 0;
}

/* fsync of the directory: after creating, renaming or removing a file,
   the directory entry itself must reach the disk, or the file (or its
   removal) may be undone by a power loss. */
static int s_sync_dir(rl_log_t *log)
{
    log->stats.fsync_calls++;
    if (log->io->fsync(log->dir_fd) != 0)
        return s_failed(log, errno, "fsync of directory failed");
    return 0;
}

/* ---- Atomically replaced small files ---- */

/* Replaces dir/name with data: write name.tmp, fdatasync it, rename it
   over name, fsync the directory. A crash or error before the rename
   leaves the old file; a failed directory fsync after it fails the log,
   because we cannot know which version the disk will keep. */
static int s_replace_file(rl_log_t *log, const char *name, const uint8_t *data,
                          size_t size)
{
    char path[PATH_MAX], temp[PATH_MAX], temp_name[64];
    snprintf(temp_name, sizeof temp_name, "%s" TEMP_SUFFIX, name);
    s_path(log, path, name);
    s_path(log, temp, temp_name);
    const rl_io_t *io = log->io;
    int fd = io->open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return s_fail(log, errno, "cannot create %s: %s", temp,
                      strerror(errno));
    int rc = s_pwrite_all(io, fd, data, size, 0);
    const char *what = "write";
    if (rc == 0) {
        log->stats.fdatasync_calls++;
        if (io->fdatasync(fd) != 0) {
            rc = errno;
            what = "fdatasync";
        }
    }
    io->close(fd);
    if (rc == 0 && io->rename(temp, path) != 0) {
        rc = errno;
        what = "rename";
    }
    if (rc != 0) {
        /* The temporary file is discarded, so a failed fdatasync here
           promises nothing and does not fail the log. */
        io->unlink(temp);
        return s_fail(log, rc, "cannot replace %s (%s failed): %s", path, what,
                      strerror(rc));
    }
    return s_sync_dir(log);
}

/* Reads a whole small file into a new buffer. ENOENT when absent. */
static int s_read_file(rl_log_t *log, const char *name, uint8_t **data,
                       size_t *size)
{
    char path[PATH_MAX];
    s_path(log, path, name);
    *data = NULL;
    *size = 0;
    int fd = log->io->open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ENOENT ? ENOENT
                               : s_fail(log, errno, "cannot open %s: %s", path,
                                        strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = errno;
    else if (!(*data = malloc(st.st_size ? (size_t)st.st_size : 1)))
        rc = ENOMEM;
    else
        rc = s_pread_all(log->io, fd, *data, (size_t)st.st_size, 0, size);
    log->io->close(fd);
    if (rc != 0) {
        free(*data);
        *data = NULL;
        return s_fail(log, rc, "cannot read %s: %s", path, strerror(rc));
    }
    return 0;
}

/* ---- Marker ---- */

static int s_marker_write(rl_log_t *log)
{
    char text[256];
    int size =
        snprintf(text, sizeof text,
                 "raftlog data directory v1\ncluster %s\nnode %" PRIu64 "\n",
                 log->cluster, log->node_id);
    return s_replace_file(log, MARKER_NAME, (const uint8_t *)text,
                          (size_t)size);
}

/* True when the directory holds a file that only a log would create. */
static bool s_dir_has_log_files(rl_log_t *log)
{
    DIR *dir = opendir(log->dir);
    if (!dir)
        return false;
    bool found = false;
    struct dirent *entry;
    while (!found && (entry = readdir(dir)) != NULL) {
        size_t len = strlen(entry->d_name);
        found = strcmp(entry->d_name, HARDSTATE_NAME) == 0 ||
                strcmp(entry->d_name, SNAPSHOT_NAME) == 0 ||
                (len > 4 && strcmp(entry->d_name + len - 4, ".log") == 0);
    }
    closedir(dir);
    return found;
}

static int s_marker_check(rl_log_t *log)
{
    uint8_t *data;
    size_t size;
    char path[PATH_MAX];
    s_path(log, path, MARKER_NAME);
    int rc = s_read_file(log, MARKER_NAME, &data, &size);
    if (rc == ENOENT) {
        if (s_dir_has_log_files(log))
            return s_fail(log, EBADMSG,
                          "%s holds log files but no marker %s: it was not "
                          "made by raftlog or the marker was removed; restore "
                          "the marker from a backup or move the directory "
                          "away",
                          log->dir, MARKER_NAME);
        if (log->read_only)
            return s_fail(log, ENOENT, "%s holds no raftlog data", log->dir);
        if (!log->create)
            return s_fail(log, ENOENT,
                          "%s holds no raftlog data and creating it was not "
                          "asked for",
                          log->dir);
        return s_marker_write(log);
    }
    if (rc != 0)
        return rc;
    char text[256], cluster[RL_MAX_CLUSTER_ID + 2];
    uint64_t node = 0;
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    free(data);
    if (sscanf(text, "raftlog data directory v1\ncluster %65s\nnode %" SCNu64,
               cluster, &node) != 2)
        return s_fail(log, EBADMSG,
                      "marker %s is not in the expected format; restore it "
                      "from a backup",
                      path);
    if (log->cluster &&
        (strcmp(cluster, log->cluster) != 0 || node != log->node_id))
        return s_fail(log, EXDEV,
                      "data directory %s belongs to cluster '%s' node %" PRIu64
                      ", but this node is cluster '%s' node %" PRIu64
                      ": point this node at its own data directory, or move "
                      "%s away to start this node empty (it then catches up "
                      "from the leader)",
                      log->dir, cluster, node, log->cluster, log->node_id,
                      log->dir);
    if (!log->cluster) {
        free(log->cluster);
        log->cluster = strdup(cluster);
        log->node_id = node;
        if (!log->cluster)
            return s_fail(log, ENOMEM, "out of memory");
    }
    return 0;
}

/* ---- Hard state ---- */

static int s_hard_state_load(rl_log_t *log)
{
    uint8_t *data;
    size_t size;
    int rc = s_read_file(log, HARDSTATE_NAME, &data, &size);
    if (rc == ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    char path[PATH_MAX];
    s_path(log, path, HARDSTATE_NAME);
    /* The file is replaced by rename, never written in place, so it cannot
       be torn: any damage is real and must not be papered over (a node
       forgetting its vote could vote twice in one term). */
    if (size != HARDSTATE_SIZE || s_get32(data) != HARDSTATE_MAGIC ||
        s_get32(data + 28) != rl_crc32c(0, data, 28)) {
        free(data);
        return s_fail(log, EBADMSG,
                      "hard state %s is damaged (size %zu, bad magic or "
                      "checksum); restore it from a backup, or move the data "
                      "directory away to start this node empty",
                      path, size);
    }
    log->hard_term = s_get64(data + 8);
    log->hard_vote = s_get64(data + 16);
    free(data);
    return 0;
}

int rl_log_set_hard_state(rl_log_t *log, uint64_t term, uint64_t voted_for)
{
    int rc = s_writable(log);
    if (rc != 0)
        return rc;
    uint8_t data[HARDSTATE_SIZE] = {0};
    s_put32(data, HARDSTATE_MAGIC);
    s_put32(data + 4, FORMAT_VERSION);
    s_put64(data + 8, term);
    s_put64(data + 16, voted_for);
    s_put32(data + 28, rl_crc32c(0, data, 28));
    rc = s_replace_file(log, HARDSTATE_NAME, data, sizeof data);
    if (rc == 0) {
        log->hard_term = term;
        log->hard_vote = voted_for;
    }
    return rc;
}

void rl_log_hard_state(const rl_log_t *log, uint64_t *term, uint64_t *voted_for)
{
    *term = log->hard_term;
    *voted_for = log->hard_vote;
}

/* ---- Snapshot file ---- */

static int s_snapshot_load(rl_log_t *log)
{
    uint8_t *data;
    size_t size;
    int rc = s_read_file(log, SNAPSHOT_NAME, &data, &size);
    if (rc == ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    char path[PATH_MAX];
    s_path(log, path, SNAPSHOT_NAME);
    uint64_t config = size >= SNAPSHOT_HEADER ? s_get64(data + 24) : 0;
    uint64_t state = size >= SNAPSHOT_HEADER ? s_get64(data + 32) : 0;
    if (size < SNAPSHOT_HEADER + 4 || s_get32(data) != SNAPSHOT_MAGIC ||
        config > size || state > size ||
        SNAPSHOT_HEADER + config + state + 4 != size ||
        s_get32(data + size - 4) != rl_crc32c(0, data, size - 4)) {
        free(data);
        return s_fail(log, EBADMSG,
                      "snapshot %s is damaged (bad size, magic or checksum); "
                      "move the data directory away to start this node "
                      "empty (it then receives a snapshot from the leader)",
                      path);
    }
    log->has_snapshot = true;
    log->snapshot_index = s_get64(data + 8);
    log->snapshot_term = s_get64(data + 16);
    log->snapshot_config = (size_t)config;
    log->snapshot_state = (size_t)state;
    /* Keep only the blobs: slide them to the front of the buffer. */
    memmove(data, data + SNAPSHOT_HEADER, (size_t)(config + state));
    free(log->snapshot_blobs);
    log->snapshot_blobs = data;
    return 0;
}

static int s_snapshot_write(rl_log_t *log, const rl_log_snapshot_t *snap)
{
    size_t size = SNAPSHOT_HEADER + snap->config_size + snap->state_size + 4;
    uint8_t *data = malloc(size);
    uint8_t *blobs = malloc(snap->config_size + snap->state_size + 1);
    if (!data || !blobs) {
        free(data);
        free(blobs);
        return s_fail(log, ENOMEM, "out of memory saving a snapshot");
    }
    s_put32(data, SNAPSHOT_MAGIC);
    s_put32(data + 4, FORMAT_VERSION);
    s_put64(data + 8, snap->last_index);
    s_put64(data + 16, snap->last_term);
    s_put64(data + 24, snap->config_size);
    s_put64(data + 32, snap->state_size);
    if (snap->config_size)
        memcpy(data + SNAPSHOT_HEADER, snap->config, snap->config_size);
    if (snap->state_size)
        memcpy(data + SNAPSHOT_HEADER + snap->config_size, snap->state,
               snap->state_size);
    s_put32(data + size - 4, rl_crc32c(0, data, size - 4));
    int rc = s_replace_file(log, SNAPSHOT_NAME, data, size);
    if (rc == 0) {
        memcpy(blobs, data + SNAPSHOT_HEADER,
               snap->config_size + snap->state_size);
        free(log->snapshot_blobs);
        log->snapshot_blobs = blobs;
        blobs = NULL;
        log->has_snapshot = true;
        log->snapshot_index = snap->last_index;
        log->snapshot_term = snap->last_term;
        log->snapshot_config = snap->config_size;
        log->snapshot_state = snap->state_size;
    }
    free(blobs);
    free(data);
    return rc;
}

int rl_log_snapshot(const rl_log_t *log, rl_log_snapshot_t *snapshot)
{
    if (!log->has_snapshot)
        return ENOENT;
    snapshot->last_index = log->snapshot_index;
    snapshot->last_term = log->snapshot_term;
    snapshot->config = log->snapshot_blobs;
    snapshot->config_size = log->snapshot_config;
    snapshot->state = log->snapshot_blobs + log->snapshot_config;
    snapshot->state_size = log->snapshot_state;
    return 0;
}

/* ---- Index and terms ---- */

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
    const s_segment_t *last = &log->segments[log->segment_count - 1];
    return last->first_index + last->count - 1;
}

static uint64_t s_boundary_term(const rl_log_t *log)
{
    if (log->segment_count > 0)
        return log->segments[0].prev_term;
    return log->has_snapshot ? log->snapshot_term : 0;
}

uint64_t rl_log_last_term(const rl_log_t *log)
{
    return log->run_count ? log->runs[log->run_count - 1].term
                          : s_boundary_term(log);
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
        *term = s_boundary_term(log);
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

void rl_log_stats(const rl_log_t *log, rl_log_stats_t *stats)
{
    *stats = log->stats;
}

static int s_run_push(rl_log_t *log, uint64_t index, uint64_t term)
{
    if (log->run_count && log->runs[log->run_count - 1].term == term)
        return 0;
    if (s_grow((void **)&log->runs, &log->run_cap, log->run_count + 1,
               sizeof *log->runs))
        return ENOMEM;
    log->runs[log->run_count].first_index = index;
    log->runs[log->run_count].term = term;
    log->run_count++;
    return 0;
}

/* Drops the runs of entries from index on. */
static void s_runs_truncate(rl_log_t *log, uint64_t index)
{
    while (log->run_count && log->runs[log->run_count - 1].first_index >= index)
        log->run_count--;
}

/* Drops the runs wholly before the new first index. */
static void s_runs_compact(rl_log_t *log, uint64_t first)
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

/* The segment holding index (which must be in the log). */
static s_segment_t *s_segment_of(rl_log_t *log, uint64_t index)
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

/* ---- Segments ---- */

static void s_segment_close(rl_log_t *log, s_segment_t *segment)
{
    if (segment->fd >= 0)
        log->io->close(segment->fd);
    segment->fd = -1;
    free(segment->offsets);
    segment->offsets = NULL;
    segment->offsets_cap = 0;
}

/* Removes the segments from position from on: close, unlink, newest
   first, so that a crash part way leaves a log without a gap (a prefix of
   the old one). The caller syncs the directory. */
static int s_segments_remove(rl_log_t *log, size_t from)
{
    int rc = 0;
    for (size_t i = log->segment_count; i-- > from;) {
        char path[PATH_MAX];
        s_segment_path(log, path, log->segments[i].first_index);
        s_segment_close(log, &log->segments[i]);
        if (log->io->unlink(path) != 0 && rc == 0)
            rc = s_failed(log, errno, "unlink of a segment failed");
    }
    if (from < log->segment_count)
        log->segment_count = from;
    return rc;
}

/* Turns the ready spare into segment path with header; returns its fd,
   or -1 when it cannot (the spare is then gone and the caller creates the
   segment the ordinary way). The header goes in before the rename, so
   that a crash leaves either a spare (removed on open) or a segment with
   its header, unless the header page was not yet on disk: a segment of
   zeros only, which open treats as torn at creation. */
static int s_spare_adopt(rl_log_t *log, const char *path, const uint8_t *header)
{
    char spare[PATH_MAX];
    s_path(log, spare, SPARE_NAME);
    log->spare = S_SPARE_NONE;
    int fd = log->io->open(spare, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    bool ok = access(path, F_OK) != 0;
    if (ok) {
        log->stats.write_calls++;
        ok = s_pwrite_all(log->io, fd, header, SEGMENT_HEADER_SIZE, 0) == 0 &&
             log->io->rename(spare, path) == 0;
    }
    if (!ok) {
        log->io->close(fd);
        log->io->unlink(spare);
        return -1;
    }
    return fd;
}

/* Creates a new empty segment after the last one and writes its header;
   not synced (the next ticket syncs it and the directory). */
static int s_segment_create(rl_log_t *log, uint64_t first_index,
                            uint64_t prev_term)
{
    if (s_grow((void **)&log->segments, &log->segment_cap,
               log->segment_count + 1, sizeof *log->segments))
        return s_fail(log, ENOMEM, "out of memory adding a segment");
    char path[PATH_MAX];
    s_segment_path(log, path, first_index);
    uint8_t header[SEGMENT_HEADER_SIZE] = {0};
    s_put32(header, SEGMENT_MAGIC);
    s_put32(header + 4, FORMAT_VERSION);
    s_put64(header + 8, first_index);
    s_put64(header + 16, prev_term);
    s_put32(header + 28, rl_crc32c(0, header, 28));
    int fd =
        log->spare == S_SPARE_READY ? s_spare_adopt(log, path, header) : -1;
    if (fd >= 0) {
        log->stats.spares_used++;
    } else {
        if (log->spare == S_SPARE_FAILED)
            log->spare = S_SPARE_NONE; /* one try per segment */
        fd = log->io->open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            return s_fail(log, errno, "cannot create segment %s: %s", path,
                          strerror(errno));
        int rc = s_pwrite_all(log->io, fd, header, sizeof header, 0);
        log->stats.write_calls++;
        if (rc != 0) {
            log->io->close(fd);
            log->io->unlink(path);
            return s_fail(log, rc, "cannot write the header of segment %s: %s",
                          path, strerror(rc));
        }
    }
    s_segment_t *segment = &log->segments[log->segment_count++];
    memset(segment, 0, sizeof *segment);
    segment->first_index = first_index;
    segment->prev_term = prev_term;
    segment->size = SEGMENT_HEADER_SIZE;
    segment->fd = fd;
    segment->dirty = true;
    log->dir_dirty = true;
    return 0;
}

/* ---- Append ---- */

/* Encodes one record at p; returns its size. The checksum comes first so
   that it covers one contiguous range, the length and the body: one CRC
   call per record. */
static size_t s_encode(uint8_t *p, const rl_entry_t *entry)
{
    uint32_t body = RECORD_BODY_FIXED + (uint32_t)entry->size;
    s_put32(p + 4, body);
    uint8_t *b = p + RECORD_HEADER_SIZE;
    s_put64(b, entry->index);
    s_put64(b + 8, entry->term);
    s_put64(b + 16, entry->producer_id);
    s_put64(b + 24, entry->seq);
    b[32] = entry->type;
    if (entry->size)
        memcpy(b + RECORD_BODY_FIXED, entry->data, entry->size);
    s_put32(p, rl_crc32c(0, p + 4, 4 + body));
    return RECORD_HEADER_SIZE + body;
}

/* The body length the record at p claims. */
static uint32_t s_record_body(const uint8_t *p)
{
    return s_get32(p + 4);
}

/* True when the record at p, whose body length was checked to be in the
   buffer, carries the right checksum. */
static bool s_record_ok(const uint8_t *p, uint32_t body)
{
    return s_get32(p) == rl_crc32c(0, p + 4, 4 + body);
}

/* Undoes a failed append: removes segments it created, cuts the segment
   it started in back to its old size. Order matters for a crash in
   between: the directory must forget the new segments before the old one
   shrinks, or a reopened log would see a gap in its indexes. */
static int s_rollback(rl_log_t *log, size_t segment_count, uint64_t size,
                      uint64_t count, size_t run_count)
{
    int rc = 0;
    if (log->segment_count > segment_count) {
        rc = s_segments_remove(log, segment_count);
        if (rc == 0)
            rc = s_sync_dir(log);
    }
    /* Always cut: a short write may have left bytes past segment->size,
       which a reopen would otherwise read as valid entries. */
    s_segment_t *segment = &log->segments[segment_count - 1];
    if (rc == 0 && log->io->ftruncate(segment->fd, (off_t)size) != 0)
        rc = s_failed(log, errno, "rollback (ftruncate) of a failed append");
    segment->size = size;
    segment->count = count;
    log->run_count = run_count;
    return rc;
}

int rl_log_append(rl_log_t *log, const rl_entry_t *entries, size_t count)
{
    assert(entries && count > 0);
    int rc = s_writable(log);
    if (rc != 0)
        return rc;
    uint64_t next = rl_log_last_index(log) + 1;
    uint64_t term = rl_log_last_term(log);
    for (size_t i = 0; i < count; i++) {
        const rl_entry_t *entry = &entries[i];
        if (entry->index != next + i)
            return s_fail(log, EINVAL,
                          "append of index %" PRIu64 " where %" PRIu64
                          " is next",
                          entry->index, next + i);
        if (entry->term < term)
            return s_fail(log, EINVAL,
                          "append of index %" PRIu64 " with term %" PRIu64
                          " below the term %" PRIu64 " before it",
                          entry->index, entry->term, term);
        if (entry->size > RL_MAX_ENTRY_SIZE || (entry->size && !entry->data))
            return s_fail(log, EINVAL,
                          "entry %" PRIu64 " has %zu bytes (at most %u)",
                          entry->index, entry->size, RL_MAX_ENTRY_SIZE);
        term = entry->term;
    }

    /* What to roll back to if a write fails. */
    size_t old_segments = log->segment_count;
    s_segment_t *start = &log->segments[old_segments - 1];
    uint64_t old_size = start->size, old_count = start->count;
    size_t old_runs = log->run_count;

    size_t i = 0;
    while (i < count) {
        s_segment_t *segment = &log->segments[log->segment_count - 1];
        if (s_grow((void **)&segment->offsets, &segment->offsets_cap,
                   segment->count + (count - i), sizeof(uint64_t))) {
            rc = s_fail(log, ENOMEM, "out of memory appending");
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
            if (s_grow((void **)&log->write_buf, &log->write_cap, used + record,
                       1)) {
                rc = s_fail(log, ENOMEM, "out of memory appending");
                break;
            }
            segment->offsets[segment->count + added] = segment->size + used;
            used += s_encode(log->write_buf + used, &entries[i]);
            if (s_run_push(log, entries[i].index, entries[i].term)) {
                rc = s_fail(log, ENOMEM, "out of memory appending");
                break;
            }
            added++;
            i++;
        }
        if (rc != 0)
            break;
        if (used > 0) {
            log->stats.write_calls++;
            rc = s_pwrite_all(log->io, segment->fd, log->write_buf, used,
                              segment->size);
            if (rc != 0) {
                char path[PATH_MAX];
                s_segment_path(log, path, segment->first_index);
                s_fail(log, rc,
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
        }
        if (i < count && segment->size + RECORD_HEADER_SIZE +
                                 RECORD_BODY_FIXED + entries[i].size >
                             log->segment_size) {
            rc = s_segment_create(log, entries[i].index,
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
        if (s_rollback(log, old_segments, old_size, old_count, old_runs) == 0)
            memcpy(log->error, message, sizeof message);
        return rc;
    }
    log->stats.appends += count;
    return 0;
}

/* ---- Group commit ---- */

/* Fills ticket. With borrow (rl_log_sync: the same thread runs the sync
   at once, so nothing can close the descriptors meanwhile) the ticket
   uses the log's own descriptors and saves a dup and a close per
   segment, which shows on fast disks at batch size 1. */
static int s_sync_prepare(rl_log_t *log, rl_log_sync_ticket_t *ticket,
                          bool borrow)
{
    assert(!log->ticket_out);
    memset(ticket, 0, sizeof *ticket);
    ticket->dir_fd = -1;
    int rc = s_writable(log);
    if (rc != 0)
        return rc;
    size_t dirty = 0;
    for (size_t i = 0; i < log->segment_count; i++)
        dirty += log->segments[i].dirty;
    ticket->fds = malloc((dirty ? dirty : 1) * sizeof(int));
    if (!ticket->fds)
        return s_fail(log, ENOMEM, "out of memory preparing a sync");
    for (size_t i = 0; i < log->segment_count && rc == 0; i++) {
        if (!log->segments[i].dirty)
            continue;
        int fd =
            borrow ? log->segments[i].fd : log->io->dup(log->segments[i].fd);
        if (fd < 0)
            rc = errno;
        else
            ticket->fds[ticket->fd_count++] = fd;
    }
    if (rc == 0 && log->dir_dirty &&
        (ticket->dir_fd = borrow ? log->dir_fd : log->io->dup(log->dir_fd)) < 0)
        rc = errno;
    if (rc != 0) {
        for (size_t i = 0; i < ticket->fd_count && !borrow; i++)
            log->io->close(ticket->fds[i]);
        free(ticket->fds);
        memset(ticket, 0, sizeof *ticket);
        ticket->dir_fd = -1;
        return s_fail(log, rc, "cannot prepare a sync (dup): %s", strerror(rc));
    }
    /* Only now that nothing can fail: later writes mark them again. */
    for (size_t i = 0; i < log->segment_count; i++)
        log->segments[i].dirty = false;
    log->dir_dirty = false;
    ticket->last_index = rl_log_last_index(log);
    ticket->io = log->io;
    ticket->borrowed = borrow;
    log->ticket_out = true;
    log->ticket_limit = UINT64_MAX;
    return 0;
}

int rl_log_sync_prepare(rl_log_t *log, rl_log_sync_ticket_t *ticket)
{
    return s_sync_prepare(log, ticket, false);
}

int rl_log_sync_run(rl_log_sync_ticket_t *ticket)
{
    for (size_t i = 0; i < ticket->fd_count; i++) {
        ticket->fdatasync_calls++;
        if (ticket->io->fdatasync(ticket->fds[i]) != 0) {
            ticket->error = errno ? errno : EIO;
            snprintf(ticket->what, sizeof ticket->what, "fdatasync");
            return ticket->error;
        }
    }
    if (ticket->dir_fd >= 0) {
        ticket->fsync_calls++;
        if (ticket->io->fsync(ticket->dir_fd) != 0) {
            ticket->error = errno ? errno : EIO;
            snprintf(ticket->what, sizeof ticket->what,
                     "fsync of the directory");
            return ticket->error;
        }
    }
    return 0;
}

int rl_log_sync_finish(rl_log_t *log, rl_log_sync_ticket_t *ticket, int rc)
{
    assert(log->ticket_out);
    for (size_t i = 0; i < ticket->fd_count && !ticket->borrowed; i++)
        log->io->close(ticket->fds[i]);
    if (ticket->dir_fd >= 0 && !ticket->borrowed)
        log->io->close(ticket->dir_fd);
    free(ticket->fds);
    ticket->fds = NULL;
    ticket->fd_count = 0;
    ticket->dir_fd = -1;
    log->ticket_out = false;
    log->stats.fdatasync_calls += ticket->fdatasync_calls;
    log->stats.fsync_calls += ticket->fsync_calls;
    if (rc != 0) {
        char what[160];
        snprintf(what, sizeof what, "%s up to index %" PRIu64 " failed",
                 ticket->what[0] ? ticket->what : "sync", ticket->last_index);
        return s_failed(log, rc, what);
    }
    if (log->failed)
        return s_writable(log);
    uint64_t durable = ticket->last_index < log->ticket_limit
                           ? ticket->last_index
                           : log->ticket_limit;
    if (durable > log->durable_index)
        log->durable_index = durable;
    log->stats.group_commits++;
    return 0;
}

int rl_log_sync(rl_log_t *log)
{
    rl_log_sync_ticket_t ticket;
    int rc = s_sync_prepare(log, &ticket, true);
    if (rc != 0)
        return rc;
    return rl_log_sync_finish(log, &ticket, rl_log_sync_run(&ticket));
}

/* ---- Spare segments ---- */

bool rl_log_spare_prepare(rl_log_t *log, rl_log_spare_t *spare)
{
    if (!log->opened || log->read_only || log->failed ||
        log->spare != S_SPARE_NONE || log->segment_count == 0)
        return false;
    /* Not before the last segment is half full: a node that runs briefly
       (tests, restarts) writes no spare it will not use. */
    if (log->segments[log->segment_count - 1].size < log->segment_size / 2)
        return false;
    memset(spare, 0, sizeof *spare);
    spare->io = log->io;
    spare->size = log->segment_size;
    snprintf(spare->path, sizeof spare->path, "%s/%s", log->dir, SPARE_NAME);
    log->spare = S_SPARE_MAKING;
    return true;
}

int rl_log_spare_run(rl_log_spare_t *spare)
{
    static const uint8_t zeros[64 * 1024];
    const rl_io_t *io = spare->io;
    io->unlink(spare->path); /* a failed try's, if any */
    int fd = io->open(spare->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = fd < 0 ? errno : 0;
    const char *what = "create";
    /* A chunk at a time, synced, then a pause: the disk is shared with
       the segments' own flushes, which must not queue behind 64 MiB of
       zeros. */
    for (uint64_t at = 0; rc == 0 && at < spare->size;) {
        uint64_t end =
            spare->size - at < SPARE_CHUNK ? spare->size : at + SPARE_CHUNK;
        what = "write zeros to";
        while (rc == 0 && at < end) {
            size_t n =
                end - at < sizeof zeros ? (size_t)(end - at) : sizeof zeros;
            rc = s_pwrite_all(io, fd, zeros, n, at);
            at += n;
        }
        if (rc == 0 && io->fdatasync(fd) != 0) {
            rc = errno ? errno : EIO;
            what = "fdatasync";
        }
        if (rc == 0 && at < spare->size)
            nanosleep(&(struct timespec){0, SPARE_PAUSE_NS}, NULL);
    }
    if (fd >= 0)
        io->close(fd);
    if (rc != 0) {
        snprintf(spare->error, sizeof spare->error, "cannot %s %s: %s", what,
                 spare->path, strerror(rc));
        io->unlink(spare->path);
    }
    return rc;
}

void rl_log_spare_finish(rl_log_t *log, rl_log_spare_t *spare, int rc)
{
    if (log->spare != S_SPARE_MAKING)
        return;
    if (rc != 0) {
        s_warn(log,
               "%s; new segments grow as they are written until a "
               "spare can be made (tried again after the next one)",
               spare->error);
        log->spare = S_SPARE_FAILED;
        return;
    }
    log->spare = S_SPARE_READY;
}

/* ---- Truncate and compact ---- */

int rl_log_truncate(rl_log_t *log, uint64_t index)
{
    int rc = s_writable(log);
    if (rc != 0)
        return rc;
    uint64_t first = rl_log_first_index(log), last = rl_log_last_index(log);
    if (index < first || index > last + 1)
        return s_fail(log, ERANGE,
                      "truncate from %" PRIu64 " outside the log [%" PRIu64
                      ", %" PRIu64 "]",
                      index, first, last + 1);
    if (log->has_snapshot && index <= log->snapshot_index)
        return s_fail(log, EINVAL,
                      "truncate from %" PRIu64 " would remove entries the "
                      "snapshot at %" PRIu64 " covers; those are committed "
                      "and Raft never truncates them",
                      index, log->snapshot_index);
    if (index == last + 1)
        return 0;
    /* Whole segments first, newest last... removed from the end so that a
       crash leaves a log that is a prefix of the old one. */
    size_t keep = log->segment_count;
    while (keep > 1 && log->segments[keep - 1].first_index >= index)
        keep--;
    bool removed = keep < log->segment_count;
    rc = s_segments_remove(log, keep);
    if (rc == 0 && removed)
        rc = s_sync_dir(log);
    if (rc != 0)
        return rc;
    s_segment_t *segment = &log->segments[keep - 1];
    uint64_t count = index - segment->first_index;
    if (count < segment->count) {
        uint64_t size = segment->offsets[count];
        if (log->io->ftruncate(segment->fd, (off_t)size) != 0)
            return s_failed(log, errno, "truncate (ftruncate) of a segment");
        segment->size = size;
        segment->count = count;
        log->stats.fdatasync_calls++;
        if (log->io->fdatasync(segment->fd) != 0)
            return s_failed(log, errno, "fdatasync after truncate");
    }
    s_runs_truncate(log, index);
    if (log->durable_index > index - 1)
        log->durable_index = index - 1;
    if (log->ticket_out && log->ticket_limit > index - 1)
        log->ticket_limit = index - 1;
    return 0;
}

int rl_log_compact(rl_log_t *log, uint64_t index)
{
    int rc = s_writable(log);
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
        s_segment_path(log, path, log->segments[i].first_index);
        s_segment_close(log, &log->segments[i]);
        if (log->io->unlink(path) != 0)
            rc = s_failed(log, errno, "unlink of a compacted segment");
    }
    memmove(log->segments, log->segments + drop,
            (log->segment_count - drop) * sizeof *log->segments);
    log->segment_count -= drop;
    if (rc != 0)
        return rc;
    s_runs_compact(log, log->segments[0].first_index);
    return s_sync_dir(log);
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

/* ---- Snapshots ---- */

int rl_log_save_snapshot(rl_log_t *log, const rl_log_snapshot_t *snapshot)
{
    int rc = s_writable(log);
    if (rc != 0)
        return rc;
    uint64_t term;
    if (rl_log_term(log, snapshot->last_index, &term) != 0 ||
        term != snapshot->last_term)
        return s_fail(log, EINVAL,
                      "snapshot at index %" PRIu64 " term %" PRIu64
                      " does not match the log [%" PRIu64 ", %" PRIu64 "]",
                      snapshot->last_index, snapshot->last_term,
                      rl_log_first_index(log), rl_log_last_index(log));
    return s_snapshot_write(log, snapshot);
}

/* Empties the log and restarts it after (index, term): an installed
   snapshot that the log does not match (figure 13, step 7). */
static int s_reset(rl_log_t *log, uint64_t index, uint64_t term)
{
    int rc = s_segments_remove(log, 0);
    log->run_count = 0;
    if (rc == 0)
        rc = s_segment_create(log, index + 1, term);
    if (rc == 0)
        rc = s_sync_dir(log);
    if (rc == 0) {
        log->segments[0].dirty = false;
        log->stats.fdatasync_calls++;
        if (log->io->fdatasync(log->segments[0].fd) != 0)
            rc = s_failed(log, errno, "fdatasync of a new segment");
    }
    log->dir_dirty = false;
    if (rc == 0) {
        log->durable_index = index;
        if (log->ticket_out)
            log->ticket_limit = index;
    }
    return rc;
}

int rl_log_install_snapshot(rl_log_t *log, const rl_log_snapshot_t *snapshot)
{
    int rc = s_writable(log);
    if (rc != 0)
        return rc;
    uint64_t first = rl_log_first_index(log);
    if (snapshot->last_index + 1 < first)
        return s_fail(log, EINVAL,
                      "snapshot at index %" PRIu64
                      " is older than the log, which starts at %" PRIu64,
                      snapshot->last_index, first);
    /* Saved first: a crash after this point is finished by rl_log_open,
       which applies the same rule to the snapshot file it finds. */
    rc = s_snapshot_write(log, snapshot);
    if (rc != 0)
        return rc;
    uint64_t term;
    if (rl_log_term(log, snapshot->last_index, &term) == 0 &&
        term == snapshot->last_term) /* step 6: keep what follows */
        return rl_log_compact(log, snapshot->last_index + 1);
    return s_reset(log, snapshot->last_index, snapshot->last_term);
}

/* ---- Read ---- */

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

int rl_log_read(rl_log_t *log, uint64_t from, size_t max_entries,
                size_t max_bytes, rl_log_batch_t *batch)
{
    assert(log->opened && max_entries >= 1);
    batch->count = 0;
    if (log->failed)
        return s_writable(log);
    uint64_t first = rl_log_first_index(log), last = rl_log_last_index(log);
    if (from < first || from > last)
        return s_fail(log, ERANGE,
                      "read from %" PRIu64 " outside the log [%" PRIu64
                      ", %" PRIu64 "]",
                      from, first, last);
    /* Phase 1: pread whole runs of records, one call per segment, into
       batch->buf back to back. Pointers are set in phase 2, after the
       buffer has stopped moving. */
    size_t used = 0, count = 0;
    uint64_t index = from;
    while (index <= last && count < max_entries) {
        s_segment_t *segment = s_segment_of(log, index);
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
        if (s_grow((void **)&batch->buf, &batch->buf_cap, used + size, 1))
            return s_fail(log, ENOMEM, "out of memory reading");
        int rc = s_pread_all(log->io, segment->fd, batch->buf + used, size,
                             begin, &got);
        if (rc == 0 && got != size)
            rc = EBADMSG;
        if (rc != 0) {
            char path[PATH_MAX];
            s_segment_path(log, path, segment->first_index);
            return s_fail(log, rc,
                          "read of %s at offset %" PRIu64 " (index %" PRIu64
                          ") failed: %s",
                          path, begin, index,
                          got != size ? "file shorter than its index"
                                      : strerror(rc));
        }
        used += size;
        count += n;
        index += n;
    }
    if (s_grow((void **)&batch->entries, &batch->entries_cap, count,
               sizeof *batch->entries))
        return s_fail(log, ENOMEM, "out of memory reading");
    /* Phase 2: verify and decode. */
    size_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = batch->buf + offset;
        uint32_t body = s_record_body(p);
        const uint8_t *b = p + RECORD_HEADER_SIZE;
        if (body < RECORD_BODY_FIXED ||
            offset + RECORD_HEADER_SIZE + body > used ||
            !s_record_ok(p, body) || s_get64(b) != from + i) {
            s_segment_t *segment = s_segment_of(log, from + i);
            char path[PATH_MAX];
            s_segment_path(log, path, segment->first_index);
            return s_fail(
                log, EBADMSG,
                "record of index %" PRIu64 " in %s at offset %" PRIu64
                " is corrupt (checksum or sequence): the disk changed under "
                "the log; run raftlog-node --check",
                from + i, path,
                segment->offsets[from + i - segment->first_index]);
        }
        rl_entry_t *entry = &batch->entries[i];
        entry->index = s_get64(b);
        entry->term = s_get64(b + 8);
        entry->producer_id = s_get64(b + 16);
        entry->seq = s_get64(b + 24);
        entry->type = b[32];
        entry->size = body - RECORD_BODY_FIXED;
        entry->data = entry->size ? b + RECORD_BODY_FIXED : NULL;
        offset += RECORD_HEADER_SIZE + body;
    }
    batch->count = count;
    return 0;
}

/* ---- Open: scanning and recovery ---- */

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
                                 uint64_t min_index)
{
    for (size_t p = from + 1;
         p + RECORD_HEADER_SIZE + RECORD_BODY_FIXED <= size; p++) {
        uint32_t body = s_record_body(data + p);
        if (body < RECORD_BODY_FIXED || body > RECORD_MAX_BODY ||
            p + RECORD_HEADER_SIZE + body > size)
            continue;
        uint64_t index = s_get64(data + p + RECORD_HEADER_SIZE);
        if (index < min_index || index - min_index > size)
            continue;
        if (s_record_ok(data + p, body))
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

/* Reads segment (its first_index set from the name, fd open) and builds
   its offsets; stops at the first bad record, described in scan. Returns
   an error only for what is damage whatever follows (bad header, a record
   with a valid checksum out of sequence). *term carries the last term
   across segments. */
static int s_segment_scan(rl_log_t *log, s_segment_t *segment, uint64_t *term,
                          s_scan_t *scan)
{
    char path[PATH_MAX];
    s_segment_path(log, path, segment->first_index);
    memset(scan, 0, sizeof *scan);
    struct stat st;
    if (fstat(segment->fd, &st) != 0)
        return s_fail(log, errno, "cannot stat %s: %s", path, strerror(errno));
    size_t size = (size_t)st.st_size, got;
    scan->file_size = size;
    if (s_grow((void **)&log->scan_buf, &log->scan_cap, size + 1, 1))
        return s_fail(log, ENOMEM, "out of memory reading %s", path);
    uint8_t *data = log->scan_buf;
    int rc = s_pread_all(log->io, segment->fd, data, size, 0, &got);
    if (rc != 0 || got != size)
        return s_fail(log, rc ? rc : EIO, "cannot read %s: %s", path,
                      rc ? strerror(rc) : "short read");
    if (size < SEGMENT_HEADER_SIZE || s_all_zero(data, size)) {
        /* A crash while creating it, or while adopting a spare. */
        scan->header_torn = true;
        segment->size = size < SEGMENT_HEADER_SIZE ? size : 0;
        return 0;
    }
    if (s_get32(data) != SEGMENT_MAGIC ||
        s_get32(data + 28) != rl_crc32c(0, data, 28) ||
        s_get64(data + 8) != segment->first_index)
        return s_fail(log, EBADMSG,
                      "segment %s has a damaged header (magic, checksum or "
                      "first index); restore it or move the data directory "
                      "away",
                      path);
    if (s_get32(data + 4) != FORMAT_VERSION)
        return s_fail(log, EBADMSG,
                      "segment %s has format version %u, this build reads "
                      "version %u",
                      path, s_get32(data + 4), FORMAT_VERSION);
    segment->prev_term = s_get64(data + 16);
    if (*term > segment->prev_term)
        return s_fail(log, EBADMSG,
                      "segment %s says the entry before it has term %" PRIu64
                      " but the previous segment ends with term %" PRIu64,
                      path, segment->prev_term, *term);
    *term = segment->prev_term;
    size_t offset = SEGMENT_HEADER_SIZE;
    uint64_t index = segment->first_index;
    while (offset < size) {
        const char *reason = NULL;
        uint32_t body = 0;
        if (size - offset < RECORD_HEADER_SIZE) {
            reason = "partial record header";
        } else {
            body = s_record_body(data + offset);
            /* Zeros to the end of the file: a spare's unused space (or
               pages a crash left unwritten). No record follows: the end. */
            if (body == 0 && s_all_zero(data + offset, size - offset))
                break;
            if (body < RECORD_BODY_FIXED || body > RECORD_MAX_BODY)
                reason = "impossible record length";
            else if (offset + RECORD_HEADER_SIZE + body > size)
                reason = "record runs past the end of the file";
            else if (!s_record_ok(data + offset, body))
                reason = "checksum mismatch";
        }
        if (reason) {
            scan->damaged = true;
            scan->reason = reason;
            scan->bad_offset = offset;
            scan->torn = !s_valid_record_after(data, size, offset, index);
            break;
        }
        const uint8_t *b = data + offset + RECORD_HEADER_SIZE;
        uint64_t record_term = s_get64(b + 8);
        if (s_get64(b) != index || record_term < *term)
            return s_fail(log, EBADMSG,
                          "segment %s at offset %zu: record with a valid "
                          "checksum has index %" PRIu64 " term %" PRIu64
                          " where index %" PRIu64 " with term >= %" PRIu64
                          " belongs; the log is damaged",
                          path, offset, s_get64(b), record_term, index, *term);
        if (s_grow((void **)&segment->offsets, &segment->offsets_cap,
                   segment->count + 1, sizeof(uint64_t)) ||
            s_run_push(log, index, record_term))
            return s_fail(log, ENOMEM, "out of memory reading %s", path);
        segment->offsets[segment->count++] = offset;
        *term = record_term;
        index++;
        offset += RECORD_HEADER_SIZE + body;
    }
    segment->size = offset;
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
        return s_fail(log, errno, "cannot list %s: %s", log->dir,
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
                s_path(log, path, name);
                log->io->unlink(path);
            }
            continue;
        }
        if (len != 24 || strcmp(name + 20, SEGMENT_SUFFIX) != 0 ||
            strspn(name, "0123456789") != 20)
            continue;
        if (s_grow((void **)firsts, &cap, *count + 1, sizeof(uint64_t)))
            rc = s_fail(log, ENOMEM, "out of memory listing %s", log->dir);
        else
            (*firsts)[(*count)++] = strtoull(name, NULL, 10);
    }
    closedir(dir);
    if (rc == 0 && *count > 1)
        qsort(*firsts, *count, sizeof(uint64_t), s_compare_u64);
    return rc;
}

static int s_segments_load(rl_log_t *log)
{
    uint64_t *firsts;
    size_t count;
    int rc = s_list_segments(log, &firsts, &count);
    if (rc != 0)
        return rc;
    if (count && s_grow((void **)&log->segments, &log->segment_cap, count,
                        sizeof *log->segments)) {
        free(firsts);
        return s_fail(log, ENOMEM, "out of memory opening %s", log->dir);
    }
    uint64_t term = 0;
    s_scan_t damage = {0};
    size_t damaged_at = SIZE_MAX; /* segment with the first bad record */
    for (size_t i = 0; i < count && rc == 0; i++) {
        s_segment_t *segment = &log->segments[log->segment_count];
        memset(segment, 0, sizeof *segment);
        segment->first_index = firsts[i];
        char path[PATH_MAX];
        s_segment_path(log, path, firsts[i]);
        segment->fd = log->io->open(
            path, (log->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
        if (segment->fd < 0) {
            rc =
                s_fail(log, errno, "cannot open %s: %s", path, strerror(errno));
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
                s_segment_path(log, bad, log->segments[damaged_at].first_index);
                rc = s_fail(log, EBADMSG,
                            "%s: %s at offset %" PRIu64 " (index %" PRIu64
                            "), but later segment %s holds entries; the log "
                            "is damaged: run raftlog-node --check, restore "
                            "from a backup or move the directory away",
                            bad, damage.reason, damage.bad_offset,
                            log->segments[damaged_at].first_index +
                                log->segments[damaged_at].count,
                            path);
            }
            continue;
        }
        if (i > 0) {
            s_segment_t *prev = &log->segments[log->segment_count - 2];
            if (prev->first_index + prev->count != segment->first_index) {
                rc = s_fail(log, EBADMSG,
                            "segment %s starts at index %" PRIu64
                            " but the previous segment ends at %" PRIu64
                            ": a segment is missing or damaged",
                            path, segment->first_index,
                            prev->first_index + prev->count - 1);
                break;
            }
        }
        if (scan.header_torn && i + 1 < count) {
            rc = s_fail(log, EBADMSG,
                        "segment %s is shorter than its header but is not "
                        "the last segment; the log is damaged",
                        path);
            break;
        }
        if (scan.header_torn || scan.damaged) {
            if (!scan.header_torn && !scan.torn) {
                rc = s_fail(log, EBADMSG,
                            "%s: %s at offset %" PRIu64 " (index %" PRIu64
                            ") with valid records after it: this is "
                            "corruption, not a torn write, and the log will "
                            "not drop it; run raftlog-node --check, restore "
                            "from a backup, or move the data directory away "
                            "to let the node catch up from the leader",
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

    /* A torn tail: cut it off, drop what follows, sync. */
    s_segment_t *segment = &log->segments[damaged_at];
    char path[PATH_MAX];
    s_segment_path(log, path, segment->first_index);
    const char *action = log->read_only ? "would truncate" : "truncated";
    if (damage.header_torn)
        s_warn(log,
               "%s: torn segment header (%" PRIu64 " bytes, a crash while "
               "creating it); %s: the segment is %s",
               path, damage.file_size, action,
               log->read_only ? "would be removed" : "removed");
    else
        s_warn(log,
               "%s: %s at offset %" PRIu64 " (index %" PRIu64
               ", a write torn by a crash); %s the file to %" PRIu64
               " bytes, dropping %" PRIu64 " bytes and %zu later empty "
               "segments",
               path, damage.reason, damage.bad_offset,
               segment->first_index + segment->count, action, damage.bad_offset,
               damage.file_size - damage.bad_offset,
               log->segment_count - damaged_at - 1);
    if (log->read_only)
        return 0;
    size_t keep = damage.header_torn ? damaged_at : damaged_at + 1;
    rc = s_segments_remove(log, keep);
    if (rc == 0 && !damage.header_torn) {
        if (log->io->ftruncate(segment->fd, (off_t)segment->size) != 0)
            return s_fail(log, errno, "cannot truncate %s: %s", path,
                          strerror(errno));
        log->stats.fdatasync_calls++;
        if (log->io->fdatasync(segment->fd) != 0)
            return s_fail(log, errno, "cannot sync %s: %s", path,
                          strerror(errno));
    }
    if (rc == 0)
        rc = s_sync_dir(log);
    return rc;
}

/* Applies figure 13 step 7 to what the disk holds: when the saved
   snapshot's last entry is not in the log, the log predates an install
   that a crash interrupted, and is discarded. */
static int s_snapshot_reconcile(rl_log_t *log)
{
    if (!log->has_snapshot || log->segment_count == 0)
        return 0;
    uint64_t term, first = rl_log_first_index(log);
    if (log->snapshot_index + 1 < first) {
        s_warn(log,
               "snapshot at index %" PRIu64 " is older than the log, which "
               "starts at %" PRIu64 "; entries in between are gone",
               log->snapshot_index, first);
        return 0;
    }
    if (rl_log_term(log, log->snapshot_index, &term) == 0 &&
        term == log->snapshot_term)
        return 0;
    s_warn(log,
           "the log [%" PRIu64 ", %" PRIu64 "] does not hold the snapshot's "
           "last entry (index %" PRIu64 ", term %" PRIu64 "): an install was "
           "interrupted; %s the log",
           first, rl_log_last_index(log), log->snapshot_index,
           log->snapshot_term, log->read_only ? "would discard" : "discarding");
    if (log->read_only)
        return 0;
    return s_reset(log, log->snapshot_index, log->snapshot_term);
}

rl_log_t *rl_log_new(const rl_log_config_t *config)
{
    assert(config && config->dir);
    assert(config->cluster || config->read_only);
    assert(strlen(config->dir) < PATH_MAX - 64);
    rl_log_t *log = calloc(1, sizeof *log);
    if (!log)
        return NULL;
    log->dir = strdup(config->dir);
    log->cluster = config->cluster ? strdup(config->cluster) : NULL;
    if (!log->dir || (config->cluster && !log->cluster)) {
        rl_log_destroy(&log);
        return NULL;
    }
    if (config->cluster)
        assert(strlen(config->cluster) > 0 &&
               strlen(config->cluster) <= RL_MAX_CLUSTER_ID &&
               strcspn(config->cluster, " \t\r\n") == strlen(config->cluster));
    log->node_id = config->node_id;
    log->segment_size = config->segment_size ? config->segment_size
                                             : RL_LOG_DEFAULT_SEGMENT_SIZE;
    log->create = config->create;
    log->read_only = config->read_only;
    log->io = config->io ? config->io : rl_io_libc();
    log->warn = config->warn;
    log->warn_arg = config->warn_arg;
    log->dir_fd = -1;
    return log;
}

int rl_log_open(rl_log_t *log)
{
    assert(!log->opened && log->dir_fd < 0);
    if (log->create && !log->read_only && mkdir(log->dir, 0755) != 0 &&
        errno != EEXIST)
        return s_fail(log, errno, "cannot create data directory %s: %s",
                      log->dir, strerror(errno));
    log->dir_fd =
        log->io->open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (log->dir_fd < 0)
        return s_fail(log, errno, "cannot open data directory %s: %s", log->dir,
                      strerror(errno));
    /* Two processes appending to one directory would interleave records
       and corrupt it: the first writer holds an exclusive lock for as long
       as the log is open (released when the descriptor closes, also when
       the process dies). A read-only check takes no lock. */
    if (!log->read_only && flock(log->dir_fd, LOCK_EX | LOCK_NB) != 0) {
        int code = errno == EWOULDBLOCK ? EBUSY : errno;
        /* When the directory is not even this node's, say that instead:
           it is the mistake to fix. Reading the marker changes nothing. */
        bool create = log->create;
        log->create = false;
        int marker = s_marker_check(log);
        log->create = create;
        if (marker == EXDEV)
            return marker;
        return s_fail(log, code,
                      "data directory %s is in use by another process (a "
                      "running raftlog-node?): stop it first, or give this "
                      "node its own directory",
                      log->dir);
    }
    int rc = s_marker_check(log);
    if (rc == 0)
        rc = s_hard_state_load(log);
    if (rc == 0)
        rc = s_snapshot_load(log);
    if (rc == 0)
        rc = s_segments_load(log);
    if (rc == 0)
        rc = s_snapshot_reconcile(log);
    if (rc == 0 && log->segment_count == 0 && !log->read_only) {
        rc = s_segment_create(log, rl_log_first_index(log),
                              s_boundary_term(log));
        if (rc == 0)
            rc = s_sync_dir(log);
    }
    /* Whatever we found may still sit in the page cache only (the process
       died, the machine did not): sync it before calling it durable. */
    for (size_t i = 0; rc == 0 && !log->read_only && i < log->segment_count;
         i++) {
        log->stats.fdatasync_calls++;
        if (log->io->fdatasync(log->segments[i].fd) != 0)
            rc = s_fail(log, errno, "cannot sync a segment of %s: %s", log->dir,
                        strerror(errno));
        log->segments[i].dirty = false;
    }
    log->dir_dirty = false;
    free(log->scan_buf);
    log->scan_buf = NULL;
    log->scan_cap = 0;
    if (rc != 0)
        return rc;
    log->durable_index = rl_log_last_index(log);
    log->opened = true;
    return 0;
}

void rl_log_destroy(rl_log_t **log_p)
{
    assert(log_p);
    rl_log_t *log = *log_p;
    if (!log)
        return;
    assert(!log->ticket_out);
    for (size_t i = 0; i < log->segment_count; i++)
        s_segment_close(log, &log->segments[i]);
    if (log->dir_fd >= 0)
        log->io->close(log->dir_fd);
    free(log->segments);
    free(log->runs);
    free(log->snapshot_blobs);
    free(log->write_buf);
    free(log->scan_buf);
    free(log->dir);
    free(log->cluster);
    free(log);
    *log_p = NULL;
}

const char *rl_log_error(const rl_log_t *log)
{
    return log->error;
}

bool rl_log_failed(const rl_log_t *log)
{
    return log->failed != 0;
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
    fprintf(report,
            "log: %zu segments, entries %" PRIu64 "..%" PRIu64
            " (last term %" PRIu64 "), every checksum verified\n",
            log->segment_count, rl_log_first_index(log), rl_log_last_index(log),
            rl_log_last_term(log));
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

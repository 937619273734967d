/*  rl_log_spare.c - spare segments: a file of zeros made and synced by a
    helper thread ahead of need (rl_log_spare_prepare / _run / _finish),
    which the next rollover adopts as the new segment, so that syncs write
    over zeros instead of growing a file (docs/STORAGE.md says why).
*/
#include "rl_log_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SPARE_CHUNK    (1u << 20) /* zeros written and synced at a time */
#define SPARE_PAUSE_NS 10000000L  /* then a pause: at most ~100 MB/s */

bool rl_log_spare_prepare(rl_log_t *log, rl_log_spare_t *spare)
{
    if (!log->opened || log->read_only || log->failed ||
        log->spare != RL_LOG_SPARE_NONE || log->segment_count == 0)
        return false;
    /* Not before the last segment is half full: a node that runs briefly
       (tests, restarts) writes no spare it will not use. */
    if (log->segments[log->segment_count - 1].size < log->segment_size / 2)
        return false;
    memset(spare, 0, sizeof *spare);
    spare->io = log->io;
    spare->size = log->segment_size;
    snprintf(spare->path, sizeof spare->path, "%s/%s", log->dir, SPARE_NAME);
    log->spare = RL_LOG_SPARE_MAKING;
    return true;
}

int rl_log_spare_run(rl_log_spare_t *spare)
{
    static const uint8_t zeros[64 * 1024];
    const rl_io_t *io = spare->io;
    io->unlink(spare->path); /* a failed try's, if any */
    int fd = rl_log_file_create(io, spare->path, O_RDWR | O_EXCL | O_CLOEXEC);
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
            rc = rl_log_file_pwrite_all(io, fd, zeros, n, at);
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
    if (log->spare != RL_LOG_SPARE_MAKING)
        return;
    if (rc != 0) {
        rl_log_warnf(log,
                     "%s; new segments grow as they are written until a "
                     "spare can be made (tried again after the next one)",
                     spare->error);
        log->spare = RL_LOG_SPARE_FAILED;
        return;
    }
    log->spare = RL_LOG_SPARE_READY;
}

/* The header goes in before the rename, so that a crash leaves either a
   spare (removed on open) or a segment with its header, unless the header
   page was not yet on disk: a segment of zeros only, which open treats as
   torn at creation. */
int rl_log_spare_adopt(rl_log_t *log, const char *path, const uint8_t *header)
{
    char spare[PATH_MAX];
    rl_log_path(log, spare, SPARE_NAME);
    log->spare = RL_LOG_SPARE_NONE;
    int fd = log->io->open(spare, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    bool ok = access(path, F_OK) != 0;
    if (ok) {
        log->stats.write_calls++;
        ok = rl_log_file_pwrite_all(log->io, fd, header, SEGMENT_HEADER_SIZE,
                                    0) == 0 &&
             log->io->rename(spare, path) == 0;
    }
    if (!ok) {
        log->io->close(fd);
        log->io->unlink(spare);
        return -1;
    }
    return fd;
}

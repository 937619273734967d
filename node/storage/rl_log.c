/*  rl_log.c - the file log as an object: made, opened (the order of the
    recovery steps), destroyed, and the error state every module of the
    log reports into.

    What each step does lives in its own module (rl_log_internal.h lists
    them); this file only says in which order they run and what the log
    may promise afterwards.
*/
#include "rl_log_internal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Error state ---- */

int rl_log_errorf(rl_log_t *log, int code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(log->error, sizeof log->error, format, args);
    va_end(args);
    return code;
}

void rl_log_warnf(rl_log_t *log, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(log->error, sizeof log->error, format, args);
    va_end(args);
    if (log->warn)
        log->warn(log->warn_arg, log->error);
}

int rl_log_set_failed(rl_log_t *log, int code, const char *what)
{
    log->failed = code ? code : EIO;
    snprintf(log->failure, sizeof log->failure, "%s: %s", what,
             strerror(log->failed));
    return rl_log_errorf(
        log, log->failed,
        "%s; the log is now failed and refuses further writes: "
        "restart the node, which recovers from what the disk holds",
        log->failure);
}

int rl_log_require_writable(rl_log_t *log)
{
    assert(log->opened);
    if (log->failed)
        return rl_log_errorf(log, EIO,
                             "log failed earlier (%s); restart the node to "
                             "recover from what is on disk",
                             log->failure);
    if (log->read_only)
        return rl_log_errorf(log, EROFS, "log %s was opened read-only",
                             log->dir);
    return 0;
}

const char *rl_log_error(const rl_log_t *log)
{
    return log->error;
}

bool rl_log_failed(const rl_log_t *log)
{
    return log->failed != 0;
}

void rl_log_stats(const rl_log_t *log, rl_log_stats_t *stats)
{
    *stats = log->stats;
}

void rl_log_set_zero_ahead(rl_log_t *log, uint64_t bytes)
{
    log->zero_ahead = bytes;
}

/* ---- Life cycle ---- */

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
    /* Open reads a segment whole: the limit bounds that memory, and lets
       open refuse a file claiming more as damage. */
    if (log->segment_size > RL_LOG_MAX_SEGMENT_SIZE)
        return rl_log_errorf(log, EINVAL,
                             "segment size %" PRIu64 " is above the maximum "
                             "of %u bytes: configure a smaller one",
                             log->segment_size, RL_LOG_MAX_SEGMENT_SIZE);
    int rc = rl_log_dir_open(log);
    if (rc == 0)
        rc = rl_log_hard_state_load(log);
    if (rc == 0)
        rc = rl_log_snapshot_load(log);
    if (rc == 0)
        rc = rl_log_segments_load(log);
    if (rc == 0)
        rc = rl_log_snapshot_reconcile(log);
    if (rc == 0 && log->segment_count == 0 && !log->read_only) {
        rc = rl_log_segment_create(log, rl_log_first_index(log),
                                   rl_log_boundary_term(log));
        if (rc == 0)
            rc = rl_log_dir_sync(log);
    }
    /* Whatever we found may still sit in the page cache only (the process
       died, the machine did not): sync it before calling it durable. */
    for (size_t i = 0; rc == 0 && !log->read_only && i < log->segment_count;
         i++) {
        log->stats.fdatasync_calls++;
        if (log->io->fdatasync(log->segments[i].fd) != 0)
            rc = rl_log_errorf(log, errno, "cannot sync a segment of %s: %s",
                               log->dir, strerror(errno));
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
        rl_log_segment_close(log, &log->segments[i]);
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

/*  rl_log_snapshot.c - snapshots in the log: the snapshot file (saved and
    loaded), saving one the node took, installing one from the leader
    (paper figure 13, steps 5-7), and finishing an install that a crash
    interrupted.

    snapshot: magic "RLSN", version, last index, last term, C and S (bytes
    of the two blobs), the configuration blob, the state blob, CRC32C of
    everything before it. Replaced atomically.
*/
#include "rl_log_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

int rl_log_snapshot_load(rl_log_t *log)
{
    uint8_t *data;
    size_t size;
    int rc = rl_log_file_load(log, SNAPSHOT_NAME, "snapshot",
                              SNAPSHOT_HEADER + RL_LOG_MAX_SNAPSHOT_SIZE + 4,
                              &data, &size);
    if (rc == ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    char path[PATH_MAX];
    rl_log_path(log, path, SNAPSHOT_NAME);
    uint64_t config = size >= SNAPSHOT_HEADER ? rl_log_get64(data + 24) : 0;
    uint64_t state = size >= SNAPSHOT_HEADER ? rl_log_get64(data + 32) : 0;
    if (size < SNAPSHOT_HEADER + 4 || rl_log_get32(data) != SNAPSHOT_MAGIC ||
        config > size || state > size ||
        SNAPSHOT_HEADER + config + state + 4 != size ||
        rl_log_get32(data + size - 4) != rl_crc32c(0, data, size - 4)) {
        free(data);
        return rl_log_errorf(
            log, EBADMSG,
            "snapshot %s is damaged (bad size, magic or checksum); move the "
            "data directory away to start this node empty (it then "
            "receives a snapshot from the leader)",
            path);
    }
    uint64_t last_index = rl_log_get64(data + 8);
    if (last_index >= MAX_INDEX) {
        /* The log would start at last_index + 1: past the range. */
        free(data);
        return rl_log_errorf(log, EBADMSG,
                             "snapshot %s has last index %" PRIu64
                             ", beyond any index a log reaches: it is "
                             "damaged; move the data directory away to start "
                             "this node empty",
                             path, last_index);
    }
    log->has_snapshot = true;
    log->snapshot_index = last_index;
    log->snapshot_term = rl_log_get64(data + 16);
    log->snapshot_config = (size_t)config;
    log->snapshot_state = (size_t)state;
    /* Keep only the blobs: slide them to the front of the buffer. */
    memmove(data, data + SNAPSHOT_HEADER, (size_t)(config + state));
    free(log->snapshot_blobs);
    log->snapshot_blobs = data;
    return 0;
}

/* 0 when snap may be stored: the log is writable, and snap could be
   loaded back (blobs within the limit, an index within the range; EINVAL
   otherwise). */
static int s_may_store(rl_log_t *log, const rl_log_snapshot_t *snap)
{
    int rc = rl_log_require_writable(log);
    if (rc != 0)
        return rc;
    if (snap->config_size > RL_LOG_MAX_SNAPSHOT_SIZE ||
        snap->state_size > RL_LOG_MAX_SNAPSHOT_SIZE - snap->config_size)
        return rl_log_errorf(log, EINVAL,
                             "snapshot at index %" PRIu64 " has %zu + %zu "
                             "bytes of blobs, more than the %u a snapshot "
                             "file holds",
                             snap->last_index, snap->config_size,
                             snap->state_size, RL_LOG_MAX_SNAPSHOT_SIZE);
    if (snap->last_index >= MAX_INDEX)
        return rl_log_errorf(log, EINVAL,
                             "snapshot at index %" PRIu64 " is beyond any "
                             "index a log reaches (%" PRIu64 ")",
                             snap->last_index, MAX_INDEX - 1);
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
        return rl_log_errorf(log, ENOMEM, "out of memory saving a snapshot");
    }
    rl_log_put32(data, SNAPSHOT_MAGIC);
    rl_log_put32(data + 4, FORMAT_VERSION);
    rl_log_put64(data + 8, snap->last_index);
    rl_log_put64(data + 16, snap->last_term);
    rl_log_put64(data + 24, snap->config_size);
    rl_log_put64(data + 32, snap->state_size);
    if (snap->config_size)
        memcpy(data + SNAPSHOT_HEADER, snap->config, snap->config_size);
    if (snap->state_size)
        memcpy(data + SNAPSHOT_HEADER + snap->config_size, snap->state,
               snap->state_size);
    rl_log_put32(data + size - 4, rl_crc32c(0, data, size - 4));
    int rc = rl_log_file_replace(log, SNAPSHOT_NAME, data, size);
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

int rl_log_save_snapshot(rl_log_t *log, const rl_log_snapshot_t *snapshot)
{
    int rc = s_may_store(log, snapshot);
    if (rc != 0)
        return rc;
    uint64_t term;
    if (rl_log_term(log, snapshot->last_index, &term) != 0 ||
        term != snapshot->last_term)
        return rl_log_errorf(log, EINVAL,
                             "snapshot at index %" PRIu64 " term %" PRIu64
                             " does not match the log [%" PRIu64 ", %" PRIu64
                             "]",
                             snapshot->last_index, snapshot->last_term,
                             rl_log_first_index(log), rl_log_last_index(log));
    return s_snapshot_write(log, snapshot);
}

/* Empties the log and restarts it after (index, term): an installed
   snapshot that the log does not match (figure 13, step 7). */
static int s_reset(rl_log_t *log, uint64_t index, uint64_t term)
{
    int rc = rl_log_segments_remove(log, 0);
    log->run_count = 0;
    if (rc == 0)
        rc = rl_log_segment_create(log, index + 1, term);
    if (rc == 0)
        rc = rl_log_dir_sync(log);
    if (rc == 0) {
        log->segments[0].dirty = false;
        log->stats.fdatasync_calls++;
        if (log->io->fdatasync(log->segments[0].fd) != 0)
            rc = rl_log_set_failed(log, errno, "fdatasync of a new segment");
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
    int rc = s_may_store(log, snapshot);
    if (rc != 0)
        return rc;
    uint64_t first = rl_log_first_index(log);
    if (snapshot->last_index + 1 < first)
        return rl_log_errorf(log, EINVAL,
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

int rl_log_snapshot_reconcile(rl_log_t *log)
{
    if (!log->has_snapshot || log->segment_count == 0)
        return 0;
    uint64_t term, first = rl_log_first_index(log);
    if (log->snapshot_index + 1 < first) {
        rl_log_warnf(log,
                     "snapshot at index %" PRIu64 " is older than the log, "
                     "which starts at %" PRIu64 "; entries in between are gone",
                     log->snapshot_index, first);
        return 0;
    }
    if (rl_log_term(log, log->snapshot_index, &term) == 0 &&
        term == log->snapshot_term)
        return 0;
    rl_log_warnf(log,
                 "the log [%" PRIu64 ", %" PRIu64 "] does not hold the "
                 "snapshot's last entry (index %" PRIu64 ", term %" PRIu64
                 "): an install was interrupted; %s the log",
                 first, rl_log_last_index(log), log->snapshot_index,
                 log->snapshot_term,
                 log->read_only ? "would discard" : "discarding");
    if (log->read_only)
        return 0;
    return s_reset(log, log->snapshot_index, log->snapshot_term);
}

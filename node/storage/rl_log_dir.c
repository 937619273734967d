/*  rl_log_dir.c - the data directory as a whole: created, locked against
    a second writer, and the marker raftlog.id that says which cluster and
    node it belongs to.
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
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Marker ---- */

static int s_marker_write(rl_log_t *log)
{
    char text[256];
    int size =
        snprintf(text, sizeof text,
                 "raftlog data directory v1\ncluster %s\nnode %" PRIu64 "\n",
                 log->cluster, log->node_id);
    return rl_log_file_replace(log, MARKER_NAME, (const uint8_t *)text,
                               (size_t)size);
}

static bool s_has_suffix(const char *name, const char *suffix)
{
    size_t len = strlen(name), suffix_len = strlen(suffix);
    return len > suffix_len && strcmp(name + len - suffix_len, suffix) == 0;
}

/* True when the directory holds a file that only a log would create. */
static bool s_dir_has_log_files(rl_log_t *log)
{
    DIR *dir = opendir(log->dir);
    if (!dir)
        return false;
    bool found = false;
    struct dirent *entry;
    while (!found && (entry = readdir(dir)) != NULL)
        found = strcmp(entry->d_name, HARDSTATE_NAME) == 0 ||
                strcmp(entry->d_name, SNAPSHOT_NAME) == 0 ||
                s_has_suffix(entry->d_name, SEGMENT_SUFFIX);
    closedir(dir);
    return found;
}

static int s_marker_check(rl_log_t *log)
{
    uint8_t *data;
    size_t size;
    char path[PATH_MAX];
    rl_log_path(log, path, MARKER_NAME);
    int rc = rl_log_file_load(log, MARKER_NAME, &data, &size);
    if (rc == ENOENT) {
        if (s_dir_has_log_files(log))
            return rl_log_errorf(
                log, EBADMSG,
                "%s holds log files but no marker %s: it was not made by "
                "raftlog or the marker was removed; restore the marker from "
                "a backup or move the directory away",
                log->dir, MARKER_NAME);
        if (log->read_only)
            return rl_log_errorf(log, ENOENT, "%s holds no raftlog data",
                                 log->dir);
        if (!log->create)
            return rl_log_errorf(log, ENOENT,
                                 "%s holds no raftlog data and creating it "
                                 "was not asked for",
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
        return rl_log_errorf(log, EBADMSG,
                             "marker %s is not in the expected format; "
                             "restore it from a backup",
                             path);
    if (log->cluster &&
        (strcmp(cluster, log->cluster) != 0 || node != log->node_id))
        return rl_log_errorf(
            log, EXDEV,
            "data directory %s belongs to cluster '%s' node %" PRIu64
            ", but this node is cluster '%s' node %" PRIu64
            ": point this node at its own data directory, or move "
            "%s away to start this node empty (it then catches up "
            "from the leader)",
            log->dir, cluster, node, log->cluster, log->node_id, log->dir);
    if (!log->cluster) {
        free(log->cluster);
        log->cluster = strdup(cluster);
        log->node_id = node;
        if (!log->cluster)
            return rl_log_errorf(log, ENOMEM, "out of memory");
    }
    return 0;
}

/* ---- Open ---- */

int rl_log_dir_open(rl_log_t *log)
{
    if (log->create && !log->read_only && mkdir(log->dir, 0755) != 0 &&
        errno != EEXIST)
        return rl_log_errorf(log, errno, "cannot create data directory %s: %s",
                             log->dir, strerror(errno));
    log->dir_fd =
        log->io->open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (log->dir_fd < 0)
        return rl_log_errorf(log, errno, "cannot open data directory %s: %s",
                             log->dir, strerror(errno));
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
        return rl_log_errorf(log, code,
                             "data directory %s is in use by another process "
                             "(a running raftlog-node?): stop it first, or "
                             "give this node its own directory",
                             log->dir);
    }
    return s_marker_check(log);
}

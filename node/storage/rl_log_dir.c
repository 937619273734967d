/*  rl_log_dir.c - the data directory as a whole: created private, locked
    against a second writer, made private again when an older version left
    it readable by others, and the marker raftlog.id that says which
    cluster and node it belongs to.

    Private means the directory 0700 and every file 0600, whatever the
    umask: the log holds what clients wrote, which is nobody else's to
    read. mkdir(2) and open(2) modes are masked by the umask, so creation
    sets the mode explicitly afterwards (chmod, fchmod).
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

/* Bytes of the largest marker read; a real one is under 128. */
#define MARKER_MAX_SIZE 4096u

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
    int rc = rl_log_file_load(log, MARKER_NAME, "marker", MARKER_MAX_SIZE,
                              &data, &size);
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

/* ---- Permissions ---- */

/* True for the names a log creates: the ones whose permissions it owns. */
static bool s_is_log_file(const char *name)
{
    return strcmp(name, MARKER_NAME) == 0 ||
           strcmp(name, HARDSTATE_NAME) == 0 ||
           strcmp(name, SNAPSHOT_NAME) == 0 ||
           s_has_suffix(name, SEGMENT_SUFFIX) ||
           s_has_suffix(name, TEMP_SUFFIX);
}

/* Takes the group and other bits off the directory and the log's files
   (older versions made them 0755 and 0644 under the usual umask), never
   adding any, and says so in one warning. Read-only, it only says what
   it would do. A failure to change a mode is part of the warning, not an
   error: the log works, it is only too readable. */
static void s_tighten(rl_log_t *log)
{
    struct stat st;
    if (fstat(log->dir_fd, &st) != 0)
        return;
    mode_t dir_mode = st.st_mode & 07777;
    size_t wide = 0, failed = 0;
    char example[160] = "", failure[PATH_MAX + 64] = "";
    DIR *dir = opendir(log->dir);
    struct dirent *entry;
    while (dir && (entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        struct stat file;
        if (!s_is_log_file(name) || fstatat(dirfd(dir), name, &file, 0) != 0 ||
            !S_ISREG(file.st_mode) || !(file.st_mode & 077))
            continue;
        if (wide++ == 0)
            snprintf(example, sizeof example, " such as %s %04o", name,
                     (unsigned)(file.st_mode & 07777));
        if (!log->read_only &&
            fchmodat(dirfd(dir), name, file.st_mode & 07700, 0) != 0 &&
            failed++ == 0)
            snprintf(failure, sizeof failure, "%s: %s", name, strerror(errno));
    }
    if (dir)
        closedir(dir);
    bool dir_wide = dir_mode & 077;
    if (dir_wide && !log->read_only && fchmod(log->dir_fd, dir_mode & 07700) &&
        failed++ == 0)
        snprintf(failure, sizeof failure, "the directory: %s", strerror(errno));
    if (!dir_wide && wide == 0)
        return;
    char dir_part[64] = "";
    if (dir_wide)
        snprintf(dir_part, sizeof dir_part, "directory %04o%s",
                 (unsigned)dir_mode, wide ? ", " : "");
    char files_part[200] = "";
    if (wide)
        snprintf(files_part, sizeof files_part, "%zu files%s", wide, example);
    if (log->read_only)
        rl_log_warnf(log,
                     "data directory %s is readable by others (%s%s); the "
                     "node makes it 0700 and its files 0600 when it next "
                     "opens it",
                     log->dir, dir_part, files_part);
    else if (failed)
        rl_log_warnf(log,
                     "data directory %s was readable by others (%s%s); "
                     "%zu of them could not be made private (%s): run "
                     "chmod -R go-rwx %s as its owner",
                     log->dir, dir_part, files_part, failed, failure, log->dir);
    else
        rl_log_warnf(log,
                     "data directory %s was readable by others (%s%s); made "
                     "it 0700 and its files 0600, as this version creates "
                     "them",
                     log->dir, dir_part, files_part);
}

/* ---- Open ---- */

int rl_log_dir_open(rl_log_t *log)
{
    if (log->create && !log->read_only) {
        if (mkdir(log->dir, PRIVATE_DIR_MODE) == 0) {
            /* mkdir's mode went through the umask: set it exactly. */
            if (chmod(log->dir, PRIVATE_DIR_MODE) != 0)
                return rl_log_errorf(log, errno,
                                     "cannot make data directory %s private "
                                     "(chmod 0700): %s",
                                     log->dir, strerror(errno));
        } else if (errno != EEXIST) {
            return rl_log_errorf(log, errno,
                                 "cannot create data directory %s: %s",
                                 log->dir, strerror(errno));
        }
    }
    log->dir_fd =
        log->io->open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (log->dir_fd < 0)
        return rl_log_errorf(log, errno, "cannot open data directory %s: %s",
                             log->dir, strerror(errno));
    /* Which filesystem: a sync batch may make the log durable with one
       syncfs of the filesystem it shares with others (rl_sync_batch.h). */
    struct stat st;
    if (fstat(log->dir_fd, &st) != 0)
        return rl_log_errorf(log, errno, "cannot stat data directory %s: %s",
                             log->dir, strerror(errno));
    log->dev = st.st_dev;
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
    int rc = s_marker_check(log);
    /* Only once the marker says the directory is this node's. */
    if (rc == 0)
        s_tighten(log);
    return rc;
}

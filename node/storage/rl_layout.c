/*  rl_layout.c - the data directory of a node hosting named logs: one
    directory per log under DATA/logs/ (made and removed by
    rl_layout_logs.c), its lock, its listing, the in-place upgrade of a
    single-log data directory and the leftovers rl_layout_prepare
    finishes, and the highest group id ever hosted. The layout and every
    step's crash analysis: docs/STORAGE.md, "Named logs: the data
    directory". API: rl_layout.h.
*/
#include "rl_layout_internal.h"
#include "rl_msg.h"

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

/* The text of the layout marker at the top of DATA. A build from before
   named logs reads only "v1" markers and refuses this one ("not in the
   expected format") instead of starting an empty log in DATA, which
   would forget the node's vote. */
static const char s_marker_v2[] = LAYOUT_MARKER_V2
    "layout named logs: one directory per log in logs/ (docs/STORAGE.md)\n"
    "a raftlog-node from before named logs cannot use this directory\n";

_Static_assert(RL_LAYOUT_NAME_MAX == RL_MAX_LOG_NAME,
               "a log's directory is named by the log's name");

bool rl_layout_name_valid(const char *name)
{
    return name && rl_log_name_valid(rl_str(name));
}

int rl_layout_log_dir(const char *data_dir, const char *name, char *path,
                      size_t size)
{
    if (!rl_layout_name_valid(name))
        return EINVAL;
    int n = snprintf(path, size, "%s/" LAYOUT_LOGS "/%s", data_dir, name);
    return n < 0 || (size_t)n >= size ? ENAMETOOLONG : 0;
}

/* A name and group id that may go together: group 0 is `default`'s. */
int rl_layout_check_log(const char *name, uint64_t group, char *err,
                        size_t errlen)
{
    if (!rl_layout_name_valid(name))
        return rl_layout_errorf(err, errlen, EINVAL,
                                "bad log name '%.80s': a name is 1 to %d of "
                                "a-z 0-9 . _ - (not . or ..)",
                                name ? name : "(null)", RL_LAYOUT_NAME_MAX);
    if ((group == 0) != (strcmp(name, RL_LAYOUT_DEFAULT_LOG) == 0))
        return rl_layout_errorf(err, errlen, EINVAL,
                                "log '%s' with group %" PRIu64
                                ": group 0 is the log '" RL_LAYOUT_DEFAULT_LOG
                                "' and only it",
                                name, group);
    return 0;
}

int rl_layout_lock(const char *data_dir, int *lock_fd, char *err, size_t errlen)
{
    *lock_fd = -1;
    bool made;
    int rc = rl_layout_mkdir(data_dir, &made);
    if (rc != 0)
        return rl_layout_errorf(err, errlen, rc,
                                "cannot create data directory %s: %s", data_dir,
                                strerror(rc));
    int fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return rl_layout_errorf(err, errlen, errno,
                                "cannot open data directory %s: %s", data_dir,
                                strerror(errno));
    /* One process at a time: two would both move, create and delete log
       directories. Each log's rl_log also locks its own directory. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int code = errno == EWOULDBLOCK ? EBUSY : errno;
        close(fd);
        return rl_layout_errorf(err, errlen, code,
                                "data directory %s is in use by another "
                                "process (a running raftlog-node?): stop it "
                                "first, or give this node its own directory",
                                data_dir);
    }
    *lock_fd = fd;
    return 0;
}

/* ---- max-group ---- */

int rl_layout_raise_max_group_io(const rl_io_t *io, const char *data_dir,
                                 uint64_t group, char *err, size_t errlen)
{
    uint64_t current;
    int rc = rl_layout_max_group_file(data_dir, &current);
    if (rc != 0)
        return rl_layout_errorf(err, errlen, rc,
                                "%s/" LAYOUT_MAX_GROUP
                                " is not a max-group file (%s): restore it "
                                "from a backup, or write the highest group "
                                "id in %s/" LAYOUT_LOGS " into it as "
                                "docs/STORAGE.md shows",
                                data_dir, strerror(rc), data_dir);
    if (group <= current)
        return 0;
    char text[128];
    int size =
        snprintf(text, sizeof text, LAYOUT_MAX_V1 "%" PRIu64 "\n", group);
    const char *what;
    rc = rl_layout_replace_file(io, data_dir, LAYOUT_MAX_GROUP,
                                LAYOUT_TOP_TEMP_SUFFIX, text, (size_t)size,
                                &what);
    if (rc != 0)
        return rl_layout_errorf(err, errlen, rc,
                                "cannot record group %" PRIu64
                                " in %s/" LAYOUT_MAX_GROUP " (%s failed): %s",
                                group, data_dir, what, strerror(rc));
    return 0;
}

int rl_layout_raise_max_group(const char *data_dir, uint64_t group, char *err,
                              size_t errlen)
{
    return rl_layout_raise_max_group_io(rl_io_libc(), data_dir, group, err,
                                        errlen);
}

/* The highest group named in a directory of "<group>-<name>" entries. */
static uint64_t s_max_staged(const char *dir_path)
{
    uint64_t max = 0;
    DIR *dir = opendir(dir_path);
    struct dirent *entry;
    while (dir && (entry = readdir(dir)) != NULL) {
        uint64_t group;
        char name[RL_LAYOUT_NAME_MAX + 1];
        if (rl_layout_parse_staged(entry->d_name, &group, name) && group > max)
            max = group;
    }
    if (dir)
        closedir(dir);
    return max;
}

/* ---- Listing ---- */

static int s_compare_group(const void *a, const void *b)
{
    uint64_t x = ((const rl_layout_log_t *)a)->group;
    uint64_t y = ((const rl_layout_log_t *)b)->group;
    return x < y ? -1 : x > y;
}

/* The log in DATA/logs/entry, into log. */
int rl_layout_read_log(const char *logs_dir, const char *entry,
                       rl_layout_log_t *log, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (rl_layout_pathf(path, "%s/%s", logs_dir, entry))
        return rl_layout_errorf(err, errlen, ENAMETOOLONG,
                                "path too long: %s/%s", logs_dir, entry);
    if (!rl_layout_name_valid(entry) || !rl_layout_is_dir(path))
        return rl_layout_errorf(err, errlen, EBADMSG,
                                "%s is not a log's directory, and %s holds "
                                "only those: move it elsewhere",
                                path, logs_dir);
    char name[RL_LAYOUT_NAME_MAX + 1];
    uint64_t group;
    int rc = rl_layout_log_id_read(path, name, &group);
    if (rc == ENOENT && strcmp(entry, RL_LAYOUT_DEFAULT_LOG) == 0) {
        /* Compatible with a default log whose marker is missing: it can
           only be group 0. */
        snprintf(log->name, sizeof log->name, "%s", entry);
        log->group = 0;
        return 0;
    }
    if (rc == ENOENT)
        return rl_layout_errorf(err, errlen, EBADMSG,
                                "%s has no " LAYOUT_LOG_ID
                                " naming its group: it was not made by "
                                "raftlog-node, or the marker was removed; "
                                "restore it from a backup or move the "
                                "directory out of %s",
                                path, logs_dir);
    if (rc != 0)
        return rl_layout_errorf(err, errlen, rc == EBADMSG ? EBADMSG : rc,
                                "%s/" LAYOUT_LOG_ID
                                " is not a log marker (%s): restore it "
                                "from a backup or move the directory out "
                                "of %s",
                                path, strerror(rc), logs_dir);
    if (strcmp(name, entry) != 0 ||
        rl_layout_check_log(name, group, NULL, 0) != 0)
        return rl_layout_errorf(err, errlen, EBADMSG,
                                "%s/" LAYOUT_LOG_ID " names log '%s' group "
                                "%" PRIu64 ": a log's directory is named "
                                "after its log (renamed by hand?); rename it "
                                "back to %s/%s",
                                path, name, group, logs_dir, name);
    snprintf(log->name, sizeof log->name, "%s", name);
    log->group = group;
    return 0;
}

int rl_layout_list(const char *data_dir, rl_layout_log_t **logs, size_t *count,
                   char *err, size_t errlen)
{
    *logs = NULL;
    *count = 0;
    char logs_dir[PATH_MAX];
    if (rl_layout_pathf(logs_dir, "%s/" LAYOUT_LOGS, data_dir))
        return rl_layout_errorf(err, errlen, ENAMETOOLONG, "path too long: %s",
                                data_dir);
    DIR *dir = opendir(logs_dir);
    if (!dir)
        return rl_layout_errorf(err, errlen, errno,
                                "cannot list %s: %s (rl_layout_prepare makes "
                                "it)",
                                logs_dir, strerror(errno));
    rl_layout_log_t *found = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t new_cap = cap ? cap * 2 : 16;
            rl_layout_log_t *grown = realloc(found, new_cap * sizeof *found);
            if (!grown) {
                rc = rl_layout_errorf(err, errlen, ENOMEM,
                                      "out of memory listing %s", logs_dir);
                break;
            }
            found = grown;
            cap = new_cap;
        }
        rc =
            rl_layout_read_log(logs_dir, entry->d_name, &found[n], err, errlen);
        if (rc == 0)
            n++;
    }
    closedir(dir);
    if (rc == 0 && n > 1) {
        qsort(found, n, sizeof *found, s_compare_group);
        for (size_t i = 1; i < n && rc == 0; i++)
            if (found[i].group == found[i - 1].group)
                rc = rl_layout_errorf(
                    err, errlen, EBADMSG,
                    "%s/%s and %s/%s both say they are group %" PRIu64
                    ": one was copied by hand; move the one that is not in "
                    "the catalog (raftlog logs list) out of %s",
                    logs_dir, found[i - 1].name, logs_dir, found[i].name,
                    found[i].group, logs_dir);
    }
    if (rc != 0) {
        free(found);
        return rc;
    }
    *logs = found;
    *count = n;
    return 0;
}

int rl_layout_max_group(const char *data_dir, uint64_t *group, char *err,
                        size_t errlen)
{
    *group = 0;
    int rc = rl_layout_max_group_file(data_dir, group);
    if (rc != 0)
        return rl_layout_errorf(err, errlen, rc,
                                "%s/" LAYOUT_MAX_GROUP
                                " is not a max-group file (%s): restore it "
                                "from a backup (docs/STORAGE.md)",
                                data_dir, strerror(rc));
    rl_layout_log_t *logs;
    size_t count;
    rc = rl_layout_list(data_dir, &logs, &count, err, errlen);
    if (rc != 0)
        return rc;
    if (count && logs[count - 1].group > *group)
        *group = logs[count - 1].group;
    free(logs);
    char deleting[PATH_MAX];
    if (rl_layout_pathf(deleting, "%s/" LAYOUT_DELETING, data_dir) == 0) {
        uint64_t staged = s_max_staged(deleting);
        if (staged > *group)
            *group = staged;
    }
    return 0;
}

/* ---- The upgrade of a single-log directory ---- */

/* Moves DATA/name into DATA/logs.new/default/name. */
static int s_move_into_default(const rl_io_t *io, const char *data_dir,
                               const char *name, char *err, size_t errlen)
{
    char from[PATH_MAX], to[PATH_MAX];
    if (rl_layout_pathf(from, "%s/%s", data_dir, name) ||
        rl_layout_pathf(to,
                        "%s/" LAYOUT_UPGRADING "/" RL_LAYOUT_DEFAULT_LOG "/%s",
                        data_dir, name))
        return rl_layout_errorf(err, errlen, ENAMETOOLONG,
                                "path too long: %s/%s", data_dir, name);
    if (io->rename(from, to) != 0)
        return rl_layout_errorf(err, errlen, errno,
                                "upgrading %s: cannot move %s to %s: %s; fix "
                                "the cause and start the node again (it "
                                "goes on from there)",
                                data_dir, from, to, strerror(errno));
    return 0;
}

/* Steps, each finished before the next (docs/STORAGE.md, "The upgrade"):
     1. make logs.new/ and logs.new/default/, fsync them and DATA;
     2. move a "v1" raftlog.id into logs.new/default/, fsync both;
     3. write the "v2" marker at the top (atomic replace): from here a
        build from before named logs refuses the directory;
     4. write logs.new/default/log.id (group 0);
     5. move every single-log file (hardstate, snapshot, segments, *.tmp)
        into logs.new/default/, fsync it, then DATA;
     6. rename logs.new to logs, fsync DATA: the upgrade is done.
   Every step is idempotent and the state after any crash is recognised
   by rl_layout_prepare (logs.new/ exists, logs/ does not), which runs
   them all again: steps already done do nothing. */
static int s_upgrade(const rl_io_t *io, const char *data_dir, char *err,
                     size_t errlen)
{
    char upgrading[PATH_MAX], def[PATH_MAX], logs[PATH_MAX];
    if (rl_layout_pathf(upgrading, "%s/" LAYOUT_UPGRADING, data_dir) ||
        rl_layout_pathf(def, "%s/" RL_LAYOUT_DEFAULT_LOG, upgrading) ||
        rl_layout_pathf(logs, "%s/" LAYOUT_LOGS, data_dir))
        return rl_layout_errorf(err, errlen, ENAMETOOLONG, "path too long: %s",
                                data_dir);
    const char *what = "mkdir";
    bool made_upgrading, made_def;
    int rc = rl_layout_mkdir(upgrading, &made_upgrading);
    if (rc == 0)
        rc = rl_layout_mkdir(def, &made_def);
    if (rc == 0 && (made_upgrading || made_def)) {
        what = "fsync";
        rc = rl_layout_sync_dir(io, upgrading);
        if (rc == 0)
            rc = rl_layout_sync_dir(io, data_dir);
    }
    if (rc != 0)
        return rl_layout_errorf(err, errlen, rc,
                                "upgrading %s: cannot make %s (%s): %s; fix "
                                "the cause and start the node again",
                                data_dir, def, what, strerror(rc));

    rl_layout_marker_t marker = rl_layout_marker_kind(data_dir);
    if (marker == LAYOUT_MARKER_SINGLE) {
        rc = s_move_into_default(io, data_dir, LAYOUT_MARKER, err, errlen);
        if (rc != 0)
            return rc;
        if ((rc = rl_layout_sync_dir(io, def)) == 0)
            rc = rl_layout_sync_dir(io, data_dir);
        if (rc != 0)
            return rl_layout_errorf(err, errlen, rc,
                                    "upgrading %s: cannot move its marker "
                                    "into %s: %s; fix the cause and start the "
                                    "node again",
                                    data_dir, def, strerror(rc));
        marker = LAYOUT_MARKER_NONE;
    }
    if (marker != LAYOUT_MARKER_NAMED) {
        rc = rl_layout_replace_file(io, data_dir, LAYOUT_MARKER,
                                    LAYOUT_TOP_TEMP_SUFFIX, s_marker_v2,
                                    strlen(s_marker_v2), &what);
        if (rc != 0)
            return rl_layout_errorf(err, errlen, rc,
                                    "upgrading %s: cannot write its layout "
                                    "marker (%s failed): %s; fix the cause "
                                    "and start the node again",
                                    data_dir, what, strerror(rc));
    }

    char name[RL_LAYOUT_NAME_MAX + 1];
    uint64_t group;
    if (rl_layout_log_id_read(def, name, &group) != 0 ||
        strcmp(name, RL_LAYOUT_DEFAULT_LOG) != 0 || group != 0) {
        char text[256];
        size_t size = rl_layout_log_id_format(RL_LAYOUT_DEFAULT_LOG, 0, text);
        rc = rl_layout_replace_file(io, def, LAYOUT_LOG_ID,
                                    LAYOUT_LOG_TEMP_SUFFIX, text, size, &what);
        if (rc != 0)
            return rl_layout_errorf(
                err, errlen, rc,
                "upgrading %s: cannot write %s/" LAYOUT_LOG_ID
                " (%s failed): %s; fix the cause and "
                "start the node again",
                data_dir, def, what, strerror(rc));
    }

    DIR *dir = opendir(data_dir);
    if (!dir)
        return rl_layout_errorf(err, errlen, errno,
                                "upgrading %s: cannot list it: %s", data_dir,
                                strerror(errno));
    size_t moved = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (!rl_layout_is_single_log_file(entry->d_name))
            continue;
        rc = s_move_into_default(io, data_dir, entry->d_name, err, errlen);
        moved++;
    }
    closedir(dir);
    if (rc != 0)
        return rc;
    if (moved && ((rc = rl_layout_sync_dir(io, def)) != 0 ||
                  (rc = rl_layout_sync_dir(io, data_dir)) != 0))
        return rl_layout_errorf(err, errlen, rc,
                                "upgrading %s: fsync after moving its files: "
                                "%s; fix the cause and start the node again",
                                data_dir, strerror(rc));

    if (io->rename(upgrading, logs) != 0 ||
        (rc = rl_layout_sync_dir(io, data_dir)) != 0) {
        rc = rc ? rc : errno;
        return rl_layout_errorf(err, errlen, rc,
                                "upgrading %s: cannot rename %s to %s: %s; "
                                "fix the cause and start the node again",
                                data_dir, upgrading, logs, strerror(rc));
    }
    return 0;
}

/* ---- Prepare ---- */

/* True when DATA holds a file of a single-log directory at its top. */
static bool s_has_single_log_files(const char *data_dir, char *example)
{
    DIR *dir = opendir(data_dir);
    bool found = false;
    struct dirent *entry;
    while (dir && !found && (entry = readdir(dir)) != NULL)
        if (rl_layout_is_single_log_file(entry->d_name)) {
            found = true;
            snprintf(example, 300, "%s", entry->d_name);
        }
    if (dir)
        closedir(dir);
    return found;
}

/* Removes every entry of DATA/sub (logs.creating, logs.deleting), and
   syncs it. *removed counts them. */
static int s_empty_dir(const rl_io_t *io, const char *data_dir, const char *sub,
                       size_t *removed, char *err, size_t errlen)
{
    char path[PATH_MAX];
    *removed = 0;
    if (rl_layout_pathf(path, "%s/%s", data_dir, sub))
        return rl_layout_errorf(err, errlen, ENAMETOOLONG, "path too long: %s",
                                data_dir);
    DIR *dir = opendir(path);
    if (!dir)
        return errno == ENOENT
                   ? 0
                   : rl_layout_errorf(err, errlen, errno, "cannot list %s: %s",
                                      path, strerror(errno));
    int rc = 0;
    struct dirent *entry;
    char failed[PATH_MAX] = "";
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char child[PATH_MAX];
        rc = rl_layout_pathf(child, "%s/%s", path, entry->d_name);
        if (rc == 0)
            rc = rl_layout_remove_tree(io, child, failed);
        (*removed)++;
    }
    closedir(dir);
    if (rc == 0 && *removed)
        rc = rl_layout_sync_dir(io, path);
    if (rc != 0)
        return rl_layout_errorf(err, errlen, rc,
                                "cannot remove the leftovers in %s (%s): %s; "
                                "fix the cause (the permissions of %s?) and "
                                "start the node again",
                                path, failed[0] ? failed : path, strerror(rc),
                                path);
    return 0;
}

int rl_layout_prepare_io(const rl_io_t *io, const char *data_dir, char *err,
                         size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    char logs[PATH_MAX], upgrading[PATH_MAX], example[300] = "";
    if (rl_layout_pathf(logs, "%s/" LAYOUT_LOGS, data_dir) ||
        rl_layout_pathf(upgrading, "%s/" LAYOUT_UPGRADING, data_dir))
        return rl_layout_errorf(err, errlen, ENAMETOOLONG, "path too long: %s",
                                data_dir);
    bool made;
    int rc = rl_layout_mkdir(data_dir, &made);
    if (rc != 0)
        return rl_layout_errorf(err, errlen, rc,
                                "cannot create data directory %s: %s", data_dir,
                                strerror(rc));
    rl_layout_marker_t marker = rl_layout_marker_kind(data_dir);
    bool has_logs = rl_layout_exists(logs);
    bool upgrading_now = rl_layout_exists(upgrading);
    bool single_files = s_has_single_log_files(data_dir, example);
    if (marker == LAYOUT_MARKER_BAD)
        return rl_layout_errorf(err, errlen, EBADMSG,
                                "%s/" LAYOUT_MARKER
                                " is not a raftlog marker: this is not a "
                                "raftlog data directory, or its marker is "
                                "damaged; restore it from a backup, or point "
                                "the node at another directory",
                                data_dir);
    if (has_logs && !rl_layout_is_dir(logs))
        return rl_layout_errorf(err, errlen, EBADMSG,
                                "%s is not a directory: move it away", logs);
    if (has_logs &&
        (marker == LAYOUT_MARKER_SINGLE || single_files || upgrading_now))
        return rl_layout_errorf(
            err, errlen, EBADMSG,
            "%s holds both layouts: a logs/ directory and %s at its top: "
            "files were copied in by hand; move %s out of %s (the node "
            "uses %s)",
            data_dir,
            upgrading_now ? LAYOUT_UPGRADING "/"
            : marker == LAYOUT_MARKER_SINGLE
                ? "a single-log marker " LAYOUT_MARKER
                : example,
            upgrading_now                    ? LAYOUT_UPGRADING "/"
            : marker == LAYOUT_MARKER_SINGLE ? LAYOUT_MARKER
                                             : example,
            data_dir, logs);
    if (!has_logs && !upgrading_now && single_files &&
        marker == LAYOUT_MARKER_NAMED)
        return rl_layout_errorf(err, errlen, EBADMSG,
                                "%s holds both layouts: the named-logs marker "
                                "%s/" LAYOUT_MARKER " and %s at its top: "
                                "files were copied in by hand; move %s out "
                                "of %s",
                                data_dir, data_dir, example, example, data_dir);
    if (!has_logs && !upgrading_now && single_files &&
        marker == LAYOUT_MARKER_NONE)
        return rl_layout_errorf(err, errlen, EBADMSG,
                                "%s holds log files (%s) but no marker "
                                "%s/" LAYOUT_MARKER
                                ": it was not made by raftlog or the marker "
                                "was removed; restore the marker from a "
                                "backup or move the directory away",
                                data_dir, example, data_dir);

    bool upgraded = false;
    if (!has_logs && (upgrading_now || marker == LAYOUT_MARKER_SINGLE)) {
        rc = s_upgrade(io, data_dir, err, errlen);
        if (rc != 0)
            return rc;
        upgraded = true;
    } else {
        const char *what = "mkdir";
        if (marker != LAYOUT_MARKER_NAMED)
            rc = rl_layout_replace_file(io, data_dir, LAYOUT_MARKER,
                                        LAYOUT_TOP_TEMP_SUFFIX, s_marker_v2,
                                        strlen(s_marker_v2), &what);
        bool made_logs = false;
        if (rc == 0 && (rc = rl_layout_mkdir(logs, &made_logs)) == 0 &&
            made_logs) {
            what = "fsync";
            rc = rl_layout_sync_dir(io, data_dir);
        }
        if (rc != 0)
            return rl_layout_errorf(err, errlen, rc,
                                    "cannot set up %s (%s failed): %s", logs,
                                    what, strerror(rc));
    }

    /* Leftovers: temporary files of ours at the top, interrupted
       creations (never visible in logs/: removed), interrupted deletions
       (already gone from logs/: finished). max-group first, so that the
       groups of the tombstones are never forgotten. */
    const char *tops[] = {LAYOUT_MARKER LAYOUT_TOP_TEMP_SUFFIX,
                          LAYOUT_MAX_GROUP LAYOUT_TOP_TEMP_SUFFIX};
    for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++) {
        char path[PATH_MAX];
        if (rl_layout_pathf(path, "%s/%s", data_dir, tops[i]) == 0)
            io->unlink(path); /* ENOENT as a rule: nothing to do */
    }
    uint64_t max;
    rc = rl_layout_max_group(data_dir, &max, err, errlen);
    if (rc == 0)
        rc = rl_layout_raise_max_group_io(io, data_dir, max, err, errlen);
    size_t creations = 0, deletions = 0;
    if (rc == 0)
        rc =
            s_empty_dir(io, data_dir, LAYOUT_CREATING, &creations, err, errlen);
    if (rc == 0)
        rc =
            s_empty_dir(io, data_dir, LAYOUT_DELETING, &deletions, err, errlen);
    if (rc != 0)
        return rc;
    /* On success err says what was done, for the node's log. */
    if (upgraded || creations || deletions)
        rl_layout_errorf(err, errlen, 0,
                         "%s%s%s; %zu interrupted log creations undone, %zu "
                         "interrupted deletions finished",
                         upgraded ? "upgraded the single-log data directory "
                                  : "data directory ",
                         data_dir,
                         upgraded ? " in place: its log is now the log "
                                    "'" RL_LAYOUT_DEFAULT_LOG
                                    "' in logs/" RL_LAYOUT_DEFAULT_LOG
                                  : "",
                         creations, deletions);
    return 0;
}

int rl_layout_prepare(const char *data_dir, char *err, size_t errlen)
{
    return rl_layout_prepare_io(rl_io_libc(), data_dir, err, errlen);
}

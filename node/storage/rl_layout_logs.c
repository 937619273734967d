/*  rl_layout_logs.c - creating and deleting one named log's directory in
    the data directory, each so that a crash at any step leaves the whole
    change or none of it (or a leftover the next rl_layout_prepare
    finishes). The steps and their crash analysis: docs/STORAGE.md, "Named
    logs: the data directory". API: rl_layout.h.
*/
#include "rl_layout_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* The steps create and delete share, each 0 or an errno with *what set
   to what failed. A log moves between logs/ and a staging directory of
   DATA (creating/ or deleting/), which must itself be durable first. */

/* Makes the staging directory, and DATA durable when it was new. */
static int s_staging_dir(const rl_io_t *io, const char *data_dir,
                         const char *staging, const char **what)
{
    bool made;
    *what = "mkdir";
    int rc = rl_layout_mkdir(staging, &made);
    if (rc == 0 && made) {
        *what = "fsync";
        rc = rl_layout_sync_dir(io, data_dir);
    }
    return rc;
}

/* Renames from to to, then makes logs/ and the staging directory, the
   two directories the rename touched, durable (logs/ first). */
static int s_move(const rl_io_t *io, const char *from, const char *to,
                  const char *logs, const char *staging, const char **what)
{
    *what = "rename";
    if (io->rename(from, to) != 0)
        return errno;
    *what = "fsync";
    int rc = rl_layout_sync_dir(io, logs);
    if (rc == 0)
        rc = rl_layout_sync_dir(io, staging);
    return rc;
}

int rl_layout_create_log_io(const rl_io_t *io, const char *data_dir,
                            const char *name, uint64_t group, char *err,
                            size_t errlen)
{
    int rc = rl_layout_check_log(name, group, err, errlen);
    if (rc != 0)
        return rc;
    char logs[PATH_MAX], final[PATH_MAX], creating[PATH_MAX], stage[PATH_MAX],
        marker[PATH_MAX];
    if (rl_layout_pathf(logs, "%s/" LAYOUT_LOGS, data_dir) ||
        rl_layout_pathf(final, "%s/%s", logs, name) ||
        rl_layout_pathf(creating, "%s/" LAYOUT_CREATING, data_dir) ||
        rl_layout_pathf(stage, "%s/%" PRIu64 "-%s", creating, group, name) ||
        rl_layout_pathf(marker, "%s/" LAYOUT_LOG_ID, stage))
        return rl_layout_errorf(err, errlen, ENAMETOOLONG, "path too long: %s",
                                data_dir);
    if (rl_layout_exists(final)) {
        rl_layout_log_t found;
        rc = rl_layout_read_log(logs, name, &found, err, errlen);
        if (rc != 0)
            return rc;
        if (found.group != group)
            return rl_layout_errorf(err, errlen, EEXIST,
                                    "cannot create log '%s' (group %" PRIu64
                                    "): %s holds its "
                                    "group %" PRIu64 "; delete that one first",
                                    name, group, final, found.group);
        return rl_layout_raise_max_group_io(io, data_dir, group, err, errlen);
    }
    bool made;
    const char *what;
    char failed[PATH_MAX] = "";
    rc = s_staging_dir(io, data_dir, creating, &what);
    if (rc == 0) {
        /* A leftover of an earlier try that crashed: start over. */
        what = "removal of a leftover";
        rc = rl_layout_remove_tree(io, stage, failed);
    }
    if (rc == 0) {
        what = "mkdir";
        rc = rl_layout_mkdir(stage, &made);
    }
    if (rc == 0) {
        char text[256];
        size_t size = rl_layout_log_id_format(name, group, text);
        what = "write of " LAYOUT_LOG_ID;
        rc = rl_layout_write_file(io, marker, text, size);
    }
    if (rc == 0) {
        what = "fsync";
        rc = rl_layout_sync_dir(io, stage);
    }
    if (rc == 0)
        rc = s_move(io, stage, final, logs, creating, &what);
    if (rc != 0)
        return rl_layout_errorf(err, errlen, rc,
                                "cannot create %s for log '%s' (%s failed, "
                                "in %s): %s; the node removes what is left "
                                "at its next start",
                                final, name, what, stage, strerror(rc));
    /* After the directory, never before: a crash in between leaves a
       group on disk above max-group, which prepare and
       rl_layout_max_group count; the other order could leave max-group
       at a group never created here, which would then never be. */
    rc = rl_layout_raise_max_group_io(io, data_dir, group, err, errlen);
    if (rc != 0 && err && errlen) {
        char why[RL_LAYOUT_ERROR_SIZE];
        snprintf(why, sizeof why, "%s", err);
        rl_layout_errorf(err, errlen, rc,
                         "log '%s' is created in %s, but %s; the node "
                         "records it at its next start",
                         name, final, why);
    }
    return rc;
}

int rl_layout_create_log(const char *data_dir, const char *name, uint64_t group,
                         char *err, size_t errlen)
{
    return rl_layout_create_log_io(rl_io_libc(), data_dir, name, group, err,
                                   errlen);
}

int rl_layout_delete_log_io(const rl_io_t *io, const char *data_dir,
                            const char *name, uint64_t group, char *err,
                            size_t errlen)
{
    int rc = rl_layout_check_log(name, group, err, errlen);
    if (rc != 0)
        return rc;
    if (group == 0)
        return rl_layout_errorf(err, errlen, EINVAL,
                                "the log '" RL_LAYOUT_DEFAULT_LOG
                                "' (group 0) is never deleted");
    char logs[PATH_MAX], path[PATH_MAX], deleting[PATH_MAX], tomb[PATH_MAX];
    if (rl_layout_pathf(logs, "%s/" LAYOUT_LOGS, data_dir) ||
        rl_layout_pathf(path, "%s/%s", logs, name) ||
        rl_layout_pathf(deleting, "%s/" LAYOUT_DELETING, data_dir) ||
        rl_layout_pathf(tomb, "%s/%" PRIu64 "-%s", deleting, group, name))
        return rl_layout_errorf(err, errlen, ENAMETOOLONG, "path too long: %s",
                                data_dir);
    char failed[PATH_MAX] = "";
    if (rl_layout_exists(path)) {
        rl_layout_log_t found;
        rc = rl_layout_read_log(logs, name, &found, err, errlen);
        if (rc != 0)
            return rc;
        if (found.group != group)
            return rl_layout_errorf(err, errlen, EXDEV,
                                    "not deleting %s: it holds group %" PRIu64
                                    " of log '%s', not group %" PRIu64
                                    " (the log was created again since)",
                                    path, found.group, name, group);
        /* Before the rename: once the tombstone is gone, nothing else on
           disk says this group was here. */
        rc = rl_layout_raise_max_group_io(io, data_dir, group, err, errlen);
        if (rc != 0) {
            char why[RL_LAYOUT_ERROR_SIZE];
            snprintf(why, sizeof why, "%s", err ? err : "");
            return rl_layout_errorf(err, errlen, rc,
                                    "not deleting log '%s' (%s): %s", name,
                                    path, why);
        }
        const char *what;
        rc = s_staging_dir(io, data_dir, deleting, &what);
        if (rc == 0) {
            what = "removal of a leftover";
            rc = rl_layout_remove_tree(io, tomb, failed);
        }
        if (rc == 0)
            rc = s_move(io, path, tomb, logs, deleting, &what);
        if (rc != 0)
            return rl_layout_errorf(err, errlen, rc,
                                    "cannot delete %s (%s failed): %s; fix "
                                    "the cause and delete again, or restart "
                                    "the node",
                                    path, what, strerror(rc));
    }
    /* The log is gone from logs/; its files go now, or at the next
       prepare if this fails or the node dies meanwhile. */
    rc = rl_layout_remove_tree(io, tomb, failed);
    if (rc == 0 && rl_layout_exists(deleting))
        rc = rl_layout_sync_dir(io, deleting);
    if (rc != 0)
        return rl_layout_errorf(err, errlen, rc,
                                "log '%s' is deleted but its files in %s "
                                "could not all be removed (%s): %s; the node "
                                "tries again at its next start",
                                name, tomb, failed[0] ? failed : tomb,
                                strerror(rc));
    return 0;
}

int rl_layout_delete_log(const char *data_dir, const char *name, uint64_t group,
                         char *err, size_t errlen)
{
    return rl_layout_delete_log_io(rl_io_libc(), data_dir, name, group, err,
                                   errlen);
}

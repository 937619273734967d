/*  rl_layout.h - the layout of a node's data directory: one directory per
    named log (DATA/logs/NAME), how they are created and deleted without a
    crash leaving half of either, the upgrade of a single-log directory,
    and the highest group id this node ever hosted.

    Each log's own files (segments, hard state, snapshot, raftlog.id) are
    rl_log's business (rl_log.h); this module only decides where each
    log's directory is and keeps the directories themselves consistent.
    docs/STORAGE.md ("Named logs: the data directory") has the layout, the
    order of every step and what a crash at each leaves.

        DATA/
          raftlog.id        "raftlog data directory v2": the layout marker
                            (a build from before named logs refuses it
                            instead of starting an empty log here)
          max-group         highest group id ever hosted (text, replaced
                            atomically)
          logs/             one directory per log, nothing else:
            default/        group 0: an rl_log directory, plus log.id
            orders/         another log: rl_log files, plus log.id
          logs.creating/    a log being created: <group>-<name>, renamed
                            into logs/ once its marker is durable
          logs.deleting/    tombstones: <group>-<name>, being removed
          logs.new/         only during the upgrade of a single-log DATA

    Every directory made here is 0700 and every file 0600, whatever the
    umask (the logs hold what clients wrote).

    Calling order at start: rl_layout_lock (keep the descriptor until
    exit), rl_layout_prepare, rl_layout_list (open the logs the catalog
    lists with rl_log, rl_layout_delete_log the others; on a new DATA
    `default` is not there yet: rl_layout_create_log(DATA, "default", 0)),
    rl_layout_max_group. At run time: rl_layout_create_log before the
    rl_log_open of a new log (rl_log_config_t.create true, .dir from
    rl_layout_log_dir); rl_log_destroy, then rl_layout_delete_log.

    Errors: functions return 0 or an errno value and write into err
    (errlen bytes, RL_LAYOUT_ERROR_SIZE is enough) a message naming the
    path, what is wrong and what to do:
      EINVAL   a bad log name (rl_layout_name_valid) or group id
      EBUSY    another process holds the data directory
      EEXIST   a log of that name exists with another group id
      EXDEV    a log directory's marker names another group than asked
      EBADMSG  a marker or max-group file that is not in its format, or a
               directory holding both layouts (nothing is changed then)
      others   from the system call that failed (ENOSPC, EIO, EACCES...)
    A failure leaves the directory in a state rl_layout_prepare (the next
    start) finishes or undoes; nothing acknowledged is ever removed by it.

    Threading: plain functions, no state; call them from the thread that
    owns the logs (the node's loop). They sync what they change before
    returning, so they block for a few fsyncs: creation and deletion of
    logs are rare.
*/
#ifndef RL_LAYOUT_H
#define RL_LAYOUT_H

#include "rl_io.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Longest log name, bytes (the core's RL_RAFT_LOG_NAME_MAX). */
#define RL_LAYOUT_NAME_MAX 64

/* The log of group 0, which every node hosts. */
#define RL_LAYOUT_DEFAULT_LOG "default"

/* Bytes of an error buffer that holds any message of this module. */
#define RL_LAYOUT_ERROR_SIZE 1024

/* A log found on disk. */
typedef struct {
    char name[RL_LAYOUT_NAME_MAX + 1]; /* its name, NUL-terminated */
    uint64_t group;                    /* its group id, from its log.id */
} rl_layout_log_t;

/* True for a name [a-z0-9._-]{1,64} that is not "." or ".." (which
   cannot be directory names; the core must refuse them too). */
bool rl_layout_name_valid(const char *name);

/* Writes DATA/logs/NAME into path (size bytes). 0, EINVAL for a bad
   name, ENAMETOOLONG when it does not fit. */
int rl_layout_log_dir(const char *data_dir, const char *name, char *path,
                      size_t size);

/* Creates DATA (0700) when missing, opens it and locks it against a
   second process (flock, released when *lock_fd is closed or the process
   dies). Call first; close(*lock_fd) at exit. EBUSY when another process
   (a running raftlog-node) holds it. */
int rl_layout_lock(const char *data_dir, int *lock_fd, char *err,
                   size_t errlen);

/* Brings DATA to the named-logs layout, durably, and cleans up:
     - an empty or new DATA: writes the layout marker and makes logs/;
     - a single-log DATA (rl_log files and a "v1" raftlog.id at its top):
       moves them into logs/default/ (the upgrade; docs/STORAGE.md), also
       finishing one a crash interrupted;
     - removes what an interrupted rl_layout_create_log left in
       logs.creating/ and finishes rl_layout_delete_log's removals in
       logs.deleting/;
     - raises max-group to the highest group id found in logs/ and
       logs.deleting/ (so a crash between a creation and its max-group
       write loses nothing).
   Refuses (EBADMSG, changing nothing) a DATA holding both a logs/
   directory and single-log files at its top. Files it does not know are
   left alone. Logs it finds are not opened: rl_log does that. */
int rl_layout_prepare(const char *data_dir, char *err, size_t errlen);

/* The logs in DATA/logs/, sorted by group id, each with its group id
   from its log.id marker (logs/default without one, as a build of this
   version before markers could leave, is group 0). *logs is malloc'd,
   the caller frees it; *count may be 0 (then *logs may be NULL).
   EBADMSG for a directory without a valid marker or two with one group
   id (the message names it and what to do). Call after prepare. */
int rl_layout_list(const char *data_dir, rl_layout_log_t **logs, size_t *count,
                   char *err, size_t errlen);

/* Creates DATA/logs/NAME for group, durably, before anything is written
   in it: made as logs.creating/<group>-NAME (0700), its log.id written
   and synced, renamed into logs/, both parents fsynced; then raises
   max-group to group. 0 too when the log already exists with this group
   (creating twice is harmless); EEXIST when it exists with another one.
   The directory holds only log.id: rl_log_open with create true makes
   its raftlog.id and the rest. */
int rl_layout_create_log(const char *data_dir, const char *name, uint64_t group,
                         char *err, size_t errlen);

/* Deletes DATA/logs/NAME, which must hold group (EXDEV when its marker
   says another group: then nothing is removed), crash-safely: raises
   max-group to group, renames the directory to logs.deleting/<group>-NAME
   (fsyncing both parents: from then on the log is gone, whatever
   happens), then removes it recursively. 0 when the log is not there (a
   second delete is harmless). group 0 (`default`) is refused (EINVAL).
   The log must be closed (rl_log_destroy) first. */
int rl_layout_delete_log(const char *data_dir, const char *name, uint64_t group,
                         char *err, size_t errlen);

/* The highest group id this node ever hosted: the larger of DATA/
   max-group (0 when missing) and the group ids in logs/ and
   logs.deleting/. A host never creates a group at or below it again
   (raft.h, "Hosting groups"). */
int rl_layout_max_group(const char *data_dir, uint64_t *group, char *err,
                        size_t errlen);

/* Raises DATA/max-group to group (atomically: temporary file, fdatasync,
   rename, directory fsync); does nothing when it is already at or above
   it. create_log and delete_log call it; a host may too. */
int rl_layout_raise_max_group(const char *data_dir, uint64_t group, char *err,
                              size_t errlen);

/* The offline check of raftlog-node --check DATA, read-only: a
   single-log DATA is checked as one log (rl_log_check); a named-logs DATA
   log by log, every line of a log's report prefixed with its name, then
   a summary of each log. Leftovers of interrupted operations are
   reported (the node finishes them at start). 0 when every log is clean
   (or needs only what open repairs), otherwise an error code: EBADMSG for
   damage in any log, ENOENT for no raftlog data, EAGAIN for an upgrade in
   progress (start the node once, which finishes it, then check). */
int rl_layout_check(const char *data_dir, FILE *report);

/* ---- Test seams ----
   The same functions with the system calls that change the disk (open,
   pwrite, fdatasync, fsync, rename, unlink, close) taken from io, so that
   tests can stop an operation after any step, as a crash would. mkdir,
   rmdir and directory listings go to libc. */
int rl_layout_prepare_io(const rl_io_t *io, const char *data_dir, char *err,
                         size_t errlen);
int rl_layout_create_log_io(const rl_io_t *io, const char *data_dir,
                            const char *name, uint64_t group, char *err,
                            size_t errlen);
int rl_layout_delete_log_io(const rl_io_t *io, const char *data_dir,
                            const char *name, uint64_t group, char *err,
                            size_t errlen);

#endif

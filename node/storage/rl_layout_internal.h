/*  rl_layout_internal.h - what the modules of the data directory's layout
    share and nobody else sees: the names of the layout's files and
    directories, and the file operations they build on.

      rl_layout.c        prepare (the upgrade, the clean-up), list, create,
                         delete, max-group
      rl_layout_fs.c     paths, private directories and files, directory
                         fsync, small files read whole or replaced
                         atomically, recursive removal, the markers
      rl_layout_check.c  the offline check of either layout

    The layout is docs/STORAGE.md, "Named logs: the data directory".
*/
#ifndef RL_LAYOUT_INTERNAL_H
#define RL_LAYOUT_INTERNAL_H

#include "rl_layout.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Names (docs/STORAGE.md) ---- */

#define LAYOUT_MARKER    "raftlog.id" /* at the top of DATA: v1 or v2 */
#define LAYOUT_MAX_GROUP "max-group"  /* at the top of DATA */
#define LAYOUT_LOGS      "logs"       /* one directory per log */
#define LAYOUT_CREATING  "logs.creating"
#define LAYOUT_DELETING  "logs.deleting"
#define LAYOUT_UPGRADING "logs.new" /* the upgrade's logs/, until renamed */
#define LAYOUT_LOG_ID    "log.id"   /* in each log's directory */

/* Temporary names of the files replaced at the top of DATA. Not ".tmp":
   at the top of a single-log DATA, "*.tmp" are rl_log's, moved by the
   upgrade. */
#define LAYOUT_TOP_TEMP_SUFFIX ".new"
/* ... and in a log's directory, where rl_log's open removes leftovers. */
#define LAYOUT_LOG_TEMP_SUFFIX ".tmp"

#define LAYOUT_MARKER_V1 "raftlog data directory v1\n"
#define LAYOUT_MARKER_V2 "raftlog data directory v2\n"
#define LAYOUT_LOG_ID_V1 "raftlog log v1\n"
#define LAYOUT_MAX_V1    "raftlog max-group v1\n"

/* Bytes of the largest marker or max-group file read. */
#define LAYOUT_SMALL_FILE_MAX 4096u

#define LAYOUT_DIR_MODE  0700
#define LAYOUT_FILE_MODE 0600

/* What DATA/raftlog.id says. */
typedef enum {
    LAYOUT_MARKER_NONE,   /* missing */
    LAYOUT_MARKER_SINGLE, /* v1: a single-log directory (rl_log's marker) */
    LAYOUT_MARKER_NAMED,  /* v2: the named-logs layout */
    LAYOUT_MARKER_BAD     /* something else */
} rl_layout_marker_t;

/* ---- rl_layout_fs.c ---- */

/* Formats a message into err and returns code. */
int rl_layout_errorf(char *err, size_t errlen, int code, const char *format,
                     ...) __attribute__((format(printf, 4, 5)));

/* snprintf into path (PATH_MAX bytes): 0 or ENAMETOOLONG. */
int rl_layout_pathf(char *path, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* True when path is a directory (following symlinks). */
bool rl_layout_is_dir(const char *path);

/* True when path exists (not following a final symlink). */
bool rl_layout_exists(const char *path);

/* Makes path a private directory (0700, whatever the umask) when it is
   missing; *made says whether it did. 0 or errno (ENOTDIR when something
   else is in its place). */
int rl_layout_mkdir(const char *path, bool *made);

/* fsyncs the directory path. 0 or errno. */
int rl_layout_sync_dir(const rl_io_t *io, const char *path);

/* Writes a private file dir/name holding data: created (truncated),
   written, fdatasynced, closed. 0 or errno. Not atomic on its own. */
int rl_layout_write_file(const rl_io_t *io, const char *path, const char *data,
                         size_t size);

/* Replaces dir/name atomically: dir/name+temp_suffix written and
   fdatasynced, renamed over dir/name, dir fsynced. 0 or errno (with
   *what the step that failed). */
int rl_layout_replace_file(const rl_io_t *io, const char *dir, const char *name,
                           const char *temp_suffix, const char *data,
                           size_t size, const char **what);

/* Reads a small file whole into text (LAYOUT_SMALL_FILE_MAX + 1 bytes,
   NUL-terminated). ENOENT when missing, EBADMSG when not a regular file
   or too large, or errno. */
int rl_layout_read_small(const char *path, char *text);

/* Removes path and, when it is a directory, everything under it, never
   following symlinks (a symlink is removed, not its target). 0 when
   removed or missing, or errno (with the failing path in failed,
   PATH_MAX bytes). */
int rl_layout_remove_tree(const rl_io_t *io, const char *path, char *failed);

/* What DATA/raftlog.id is. */
rl_layout_marker_t rl_layout_marker_kind(const char *data_dir);

/* Parses a log.id: 0 with name (RL_LAYOUT_NAME_MAX + 1 bytes) and group,
   ENOENT when missing, EBADMSG when not in its format. */
int rl_layout_log_id_read(const char *log_dir, char *name, uint64_t *group);

/* The text of a log.id, into text (256 bytes); its length. */
size_t rl_layout_log_id_format(const char *name, uint64_t group, char *text);

/* Parses DATA/max-group: 0 (with *group 0 when missing), EBADMSG. */
int rl_layout_max_group_file(const char *data_dir, uint64_t *group);

/* True for the files of a single-log directory that the upgrade moves:
   hardstate, snapshot, segments (20 digits, ".log") and rl_log's
   temporary files (*.tmp). The v1 raftlog.id is decided by its content,
   separately. */
bool rl_layout_is_single_log_file(const char *name);

/* Parses "<group>-<name>" (the names in logs.creating/ and
   logs.deleting/). */
bool rl_layout_parse_staged(const char *entry, uint64_t *group, char *name);

/* Shared by rl_layout.c and rl_layout_logs.c. */

/* A name and group id that may go together (group 0 is `default`'s):
   0, or an errno with err set. */
int rl_layout_check_log(const char *name, uint64_t group, char *err,
                        size_t errlen);

/* Raises DATA/max-group to group (never lowers it), durably. */
int rl_layout_raise_max_group_io(const rl_io_t *io, const char *data_dir,
                                 uint64_t group, char *err, size_t errlen);

/* The log in DATA/logs/entry (its marker read and checked), into log. */
int rl_layout_read_log(const char *logs_dir, const char *entry,
                       rl_layout_log_t *log, char *err, size_t errlen);

#endif

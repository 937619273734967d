/*  rl_log_dirs.h - where each log of a node lives on disk and how its
    directory is made and removed: the node's one seam to the data
    directory's layout (storage/rl_layout.h once merged), so that the
    registry of groups does not care how.

    `default` (group 0) is the data directory itself, as before named
    logs; a named log is DATA/logs/NAME, holding a marker file naming its
    group id (`group`), and DATA/logs/max-group keeps the highest group
    id ever hosted. Creation: the directory, then its marker (synced),
    then max-group; deletion: max-group, the marker removed (synced),
    then the rest. A directory without its marker is a half-made or
    half-removed one, removed at start.
*/
#ifndef RL_LOG_DIRS_H
#define RL_LOG_DIRS_H

#include <stddef.h>
#include <stdint.h>

/* A named log found on disk. */
typedef struct {
    char name[65];  /* its name */
    uint64_t group; /* its group id */
} rl_log_dir_t;

/* Writes the directory of log name (NULL or "default": group 0) into
   path (size bytes). 0, or -1 when it does not fit. */
int rl_log_dirs_path(const char *data_dir, const char *name, char *path,
                     size_t size);

/* The named logs on disk, sorted by group id (*logs malloc'd, the caller
   frees it), removing directories without a marker, and the highest
   group id ever hosted (max-group or the logs found, whichever is
   higher). 0, or -1 with err (512 bytes). */
int rl_log_dirs_list(const char *data_dir, rl_log_dir_t **logs, size_t *count,
                     uint64_t *max_group, char *err);

/* Makes DATA/logs/NAME for group, durably, with its bootstrap members
   (size bytes of rl_raft_members_encode), then its marker, then raises
   max-group. 0, or -1 with err. */
int rl_log_dirs_create(const char *data_dir, const char *name, uint64_t group,
                       const void *members, size_t size, char *err);

/* Removes DATA/logs/NAME (raising max-group to group first). 0, or -1
   with err. */
int rl_log_dirs_delete(const char *data_dir, const char *name, uint64_t group,
                       char *err);

/* A named log's bootstrap members (rl_raft_members_encode), kept in its
   directory (`members`) from its creation on: a log without a snapshot
   restarts from them, as group 0 does from the --member flags. Mallocs
   *data (the caller frees it). 0, or -1. */
int rl_log_dirs_load_members(const char *data_dir, const char *name,
                             void **data, size_t *size);

#endif

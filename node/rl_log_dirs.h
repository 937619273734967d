/*  rl_log_dirs.h - the node's seam to the layout of its data directory
    (storage/rl_layout.h): where each log lives (DATA/logs/NAME), the
    start-up steps (lock, prepare: the upgrade of a single-log directory
    into logs/default, list, max-group), creation and deletion; plus one
    file of the node's own in a named log's directory, `members`: the
    log's bootstrap members (rl_raft_members_encode), written once when
    the log is created, from which a log without a snapshot restarts (as
    group 0 does from the --member flags).
*/
#ifndef RL_LOG_DIRS_H
#define RL_LOG_DIRS_H

#include <stddef.h>
#include <stdint.h>

#include "rl_layout.h"

/* Writes the directory of log name into path (size bytes). 0, or -1. */
int rl_log_dirs_path(const char *data_dir, const char *name, char *path,
                     size_t size);

/* Start-up: locks DATA (*lock_fd, kept until exit), brings it to the
   named-logs layout (upgrading a single-log directory, finishing what a
   crash interrupted), lists the logs on disk by group id (*logs
   malloc'd, `default` among them as group 0) and reads the highest group
   id ever hosted. 0, or -1 with err (512 bytes). */
int rl_log_dirs_start(const char *data_dir, int *lock_fd,
                      rl_layout_log_t **logs, size_t *count,
                      uint64_t *max_group, char *err);

/* Makes DATA/logs/NAME for group, durably, with its members file. 0, or
   -1 with err (512 bytes). */
int rl_log_dirs_create(const char *data_dir, const char *name, uint64_t group,
                       const void *members, size_t size, char *err);

/* Removes DATA/logs/NAME (its log closed first). 0, or -1 with err. */
int rl_log_dirs_delete(const char *data_dir, const char *name, uint64_t group,
                       char *err);

/* Reads a named log's members file (*data malloc'd). 0, or -1 when it
   is missing (a crash right after the directory was made: the log was
   never opened) or unreadable. */
int rl_log_dirs_load_members(const char *data_dir, const char *name,
                             void **data, size_t *size);

#endif

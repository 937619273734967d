/*  rl_io.h - the system calls of the storage module, behind a table.

    Every call that writes, syncs, renames or removes goes through an
    rl_io_t so that tests can inject the failures real disks produce
    (ENOSPC, EIO, short writes, a failing fdatasync) and count syncs,
    as SQLite's test VFS does. Reads of directory listings and fstat go
    to libc directly: they change nothing and have no failure worth
    simulating; so do chmod and fchmod, which only make files private. The
   functions have the libc signatures and errno conventions (-1 and errno set).

    Thread safety: rl_log_sync_run() calls fdatasync, fsync and close,
    and rl_sync_batch_run() syncfs, from helper threads, so those four
    must be thread-safe (libc's are).
*/
#ifndef RL_IO_H
#define RL_IO_H

#include <sys/types.h>

typedef struct {
    int (*open)(const char *path, int flags, mode_t mode); /* open(2) */
    int (*close)(int fd);                                  /* close(2) */
    ssize_t (*pwrite)(int fd, const void *buf, size_t size,
                      off_t offset); /* pwrite(2), may be short */
    ssize_t (*pread)(int fd, void *buf, size_t size,
                     off_t offset);       /* pread(2), may be short */
    int (*fdatasync)(int fd);             /* fdatasync(2): segment data */
    int (*fsync)(int fd);                 /* fsync(2): directories */
    int (*ftruncate)(int fd, off_t size); /* ftruncate(2) */
    int (*rename)(const char *from, const char *to); /* rename(2) */
    int (*unlink)(const char *path);                 /* unlink(2) */
    int (*dup)(int fd);                              /* dup(2) */
    int (*syncfs)(int fd); /* syncfs(2): a whole filesystem (rl_sync_batch) */
} rl_io_t;

/* The table that calls libc. Static storage; never freed. */
const rl_io_t *rl_io_libc(void);

#endif

/*  rl_log_file.c - the file operations every module of the log builds
    on: whole writes and reads despite short calls, private file creation,
    atomic replacement of a small file, bounded loading of one, the
    directory fsync, and buffer growth.
*/
#include "rl_log_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void rl_log_path(const rl_log_t *log, char *path, const char *name)
{
    snprintf(path, PATH_MAX, "%s/%s", log->dir, name);
}

void rl_log_segment_path(const rl_log_t *log, char *path, uint64_t first_index)
{
    char name[32];
    snprintf(name, sizeof name, "%020" PRIu64 SEGMENT_SUFFIX, first_index);
    rl_log_path(log, path, name);
}

int rl_log_file_pwrite_all(const rl_io_t *io, int fd, const uint8_t *buf,
                           size_t size, uint64_t offset)
{
    while (size > 0) {
        ssize_t done = io->pwrite(fd, buf, size, (off_t)offset);
        if (done < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        if (done == 0)
            return ENOSPC; /* no progress and no error: treat as full */
        buf += done;
        size -= (size_t)done;
        offset += (uint64_t)done;
    }
    return 0;
}

int rl_log_file_pread_all(const rl_io_t *io, int fd, uint8_t *buf, size_t size,
                          uint64_t offset, size_t *got)
{
    *got = 0;
    while (*got < size) {
        ssize_t done =
            io->pread(fd, buf + *got, size - *got, (off_t)(offset + *got));
        if (done < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        if (done == 0)
            break;
        *got += (size_t)done;
    }
    return 0;
}

int rl_log_grow_slow(void **ptr, size_t *cap, size_t need, size_t unit)
{
    /* Sizes come from lengths on disk too: refuse what cannot be doubled
       to instead of wrapping around. */
    if (need > SIZE_MAX / 2 / unit)
        return ENOMEM;
    size_t new_cap = *cap ? *cap : 16;
    while (new_cap < need)
        new_cap *= 2;
    void *grown = realloc(*ptr, new_cap * unit);
    if (!grown)
        return ENOMEM;
    *ptr = grown;
    *cap = new_cap;
    return 0;
}

int rl_log_file_create(const rl_io_t *io, const char *path, int flags)
{
    int fd = io->open(path, flags | O_CREAT, PRIVATE_FILE_MODE);
    if (fd < 0)
        return -1;
    /* Not through io: fchmod sets permissions only, and has no failure
       worth simulating on a file we have just opened for writing. */
    if (fchmod(fd, PRIVATE_FILE_MODE) != 0) {
        int code = errno;
        io->close(fd);
        io->unlink(path);
        errno = code;
        return -1;
    }
    return fd;
}

int rl_log_dir_sync(rl_log_t *log)
{
    log->stats.fsync_calls++;
    if (log->io->fsync(log->dir_fd) != 0)
        return rl_log_set_failed(log, errno, "fsync of directory failed");
    return 0;
}

/* A crash or error before the rename leaves the old file; a failed
   directory fsync after it fails the log, because we cannot know which
   version the disk will keep. */
int rl_log_file_replace(rl_log_t *log, const char *name, const uint8_t *data,
                        size_t size)
{
    char path[PATH_MAX], temp[PATH_MAX], temp_name[64];
    snprintf(temp_name, sizeof temp_name, "%s" TEMP_SUFFIX, name);
    rl_log_path(log, path, name);
    rl_log_path(log, temp, temp_name);
    const rl_io_t *io = log->io;
    int fd = rl_log_file_create(io, temp, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return rl_log_errorf(log, errno, "cannot create %s: %s", temp,
                             strerror(errno));
    int rc = rl_log_file_pwrite_all(io, fd, data, size, 0);
    const char *what = "write";
    if (rc == 0) {
        log->stats.fdatasync_calls++;
        if (io->fdatasync(fd) != 0) {
            rc = errno;
            what = "fdatasync";
        }
    }
    io->close(fd);
    if (rc == 0 && io->rename(temp, path) != 0) {
        rc = errno;
        what = "rename";
    }
    if (rc != 0) {
        /* The temporary file is discarded, so a failed fdatasync here
           promises nothing and does not fail the log. */
        io->unlink(temp);
        return rl_log_errorf(log, rc, "cannot replace %s (%s failed): %s", path,
                             what, strerror(rc));
    }
    return rl_log_dir_sync(log);
}

int rl_log_file_load(rl_log_t *log, const char *name, const char *what,
                     size_t max_size, uint8_t **data, size_t *size)
{
    char path[PATH_MAX];
    rl_log_path(log, path, name);
    *data = NULL;
    *size = 0;
    /* O_NONBLOCK: a FIFO in the file's place must not hang the open. */
    int fd = log->io->open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0)
        return errno == ENOENT ? ENOENT
                               : rl_log_errorf(log, errno, "cannot open %s: %s",
                                               path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = errno;
    } else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max_size) {
        /* The size is the disk's word: it must not size an allocation
           unchecked. */
        log->io->close(fd);
        return rl_log_errorf(
            log, EBADMSG,
            "%s %s is damaged: %s of %jd bytes where a %s has at most %zu; "
            "restore it from a backup, or move the data directory away to "
            "start this node empty (it then catches up from the leader)",
            what, path, S_ISREG(st.st_mode) ? "a file" : "not a regular file",
            (intmax_t)st.st_size, what, max_size);
    } else if (!(*data = malloc(st.st_size ? (size_t)st.st_size : 1))) {
        rc = ENOMEM;
    } else {
        rc = rl_log_file_pread_all(log->io, fd, *data, (size_t)st.st_size, 0,
                                   size);
    }
    log->io->close(fd);
    if (rc != 0) {
        free(*data);
        *data = NULL;
        return rl_log_errorf(log, rc, "cannot read %s: %s", path, strerror(rc));
    }
    return 0;
}

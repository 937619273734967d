/*  rl_layout_fs.c - the file operations the layout of the data directory
    builds on: paths, private directories and files, directory fsync,
    small files read whole or replaced atomically, recursive removal that
    never follows a symlink, and the markers' formats.

    Durability (SQLite's rule): a file created, renamed or removed is only
    durable once its directory is fsynced, so every caller that changes a
    directory syncs it before it relies on the change.
*/
#include "rl_layout_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rl_layout_errorf(char *err, size_t errlen, int code, const char *format,
                     ...)
{
    if (err && errlen) {
        va_list args;
        va_start(args, format);
        vsnprintf(err, errlen, format, args);
        va_end(args);
    }
    return code;
}

int rl_layout_pathf(char *path, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = vsnprintf(path, PATH_MAX, format, args);
    va_end(args);
    return n < 0 || n >= PATH_MAX ? ENAMETOOLONG : 0;
}

bool rl_layout_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool rl_layout_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int rl_layout_mkdir(const char *path, bool *made)
{
    *made = false;
    if (mkdir(path, LAYOUT_DIR_MODE) == 0) {
        *made = true;
        /* mkdir's mode went through the umask: set it exactly. */
        return chmod(path, LAYOUT_DIR_MODE) == 0 ? 0 : errno;
    }
    if (errno != EEXIST)
        return errno;
    return rl_layout_is_dir(path) ? 0 : ENOTDIR;
}

int rl_layout_sync_dir(const rl_io_t *io, const char *path)
{
    int fd = io->open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int rc = io->fsync(fd) == 0 ? 0 : (errno ? errno : EIO);
    io->close(fd);
    return rc;
}

int rl_layout_write_file(const rl_io_t *io, const char *path, const char *data,
                         size_t size)
{
    int fd = io->open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      LAYOUT_FILE_MODE);
    if (fd < 0)
        return errno;
    int rc = 0;
    /* Not through io, as in rl_log_file.c: it sets permissions only. */
    if (fchmod(fd, LAYOUT_FILE_MODE) != 0)
        rc = errno;
    size_t done = 0;
    while (rc == 0 && done < size) {
        ssize_t n = io->pwrite(fd, data + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = n < 0 ? errno : ENOSPC;
        else
            done += (size_t)n;
    }
    if (rc == 0 && io->fdatasync(fd) != 0)
        rc = errno ? errno : EIO;
    io->close(fd);
    return rc;
}

int rl_layout_replace_file(const rl_io_t *io, const char *dir, const char *name,
                           const char *temp_suffix, const char *data,
                           size_t size, const char **what)
{
    char path[PATH_MAX], temp[PATH_MAX];
    *what = "path";
    if (rl_layout_pathf(path, "%s/%s", dir, name) ||
        rl_layout_pathf(temp, "%s/%s%s", dir, name, temp_suffix))
        return ENAMETOOLONG;
    *what = "write";
    int rc = rl_layout_write_file(io, temp, data, size);
    if (rc == 0) {
        *what = "rename";
        if (io->rename(temp, path) != 0)
            rc = errno;
    }
    if (rc != 0) {
        io->unlink(temp);
        return rc;
    }
    *what = "fsync of the directory";
    return rl_layout_sync_dir(io, dir);
}

int rl_layout_read_small(const char *path, char *text)
{
    /* O_NONBLOCK: a FIFO in the file's place must not hang the open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = errno;
    else if (!S_ISREG(st.st_mode) || st.st_size > LAYOUT_SMALL_FILE_MAX)
        rc = EBADMSG;
    size_t got = 0;
    while (rc == 0 && got < (size_t)st.st_size) {
        ssize_t n = pread(fd, text + got, (size_t)st.st_size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = errno;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    text[got] = '\0';
    return rc;
}

int rl_layout_remove_tree(const rl_io_t *io, const char *path, char *failed)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(failed, PATH_MAX, "%s", path);
        return errno;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (io->unlink(path) == 0 || errno == ENOENT)
            return 0;
        snprintf(failed, PATH_MAX, "%s", path);
        return errno;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        snprintf(failed, PATH_MAX, "%s", path);
        return errno;
    }
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char child[PATH_MAX];
        rc = rl_layout_pathf(child, "%s/%s", path, entry->d_name);
        if (rc != 0)
            snprintf(failed, PATH_MAX, "%s", path);
        else
            rc = rl_layout_remove_tree(io, child, failed);
    }
    closedir(dir);
    if (rc == 0 && rmdir(path) != 0 && errno != ENOENT) {
        rc = errno;
        snprintf(failed, PATH_MAX, "%s", path);
    }
    return rc;
}

rl_layout_marker_t rl_layout_marker_kind(const char *data_dir)
{
    char path[PATH_MAX], text[LAYOUT_SMALL_FILE_MAX + 1];
    if (rl_layout_pathf(path, "%s/" LAYOUT_MARKER, data_dir))
        return LAYOUT_MARKER_BAD;
    int rc = rl_layout_read_small(path, text);
    if (rc == ENOENT)
        return LAYOUT_MARKER_NONE;
    if (rc != 0)
        return LAYOUT_MARKER_BAD;
    if (strncmp(text, LAYOUT_MARKER_V1, strlen(LAYOUT_MARKER_V1)) == 0)
        return LAYOUT_MARKER_SINGLE;
    if (strncmp(text, LAYOUT_MARKER_V2, strlen(LAYOUT_MARKER_V2)) == 0)
        return LAYOUT_MARKER_NAMED;
    return LAYOUT_MARKER_BAD;
}

/* Parses a decimal u64 of 1 to 20 digits at *p, ending at a newline
   (consumed). */
static bool s_parse_u64_line(const char **p, uint64_t *value)
{
    const char *s = *p;
    uint64_t v = 0;
    size_t digits = 0;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        s++;
        digits++;
    }
    if (digits == 0 || *s != '\n')
        return false;
    *p = s + 1;
    *value = v;
    return true;
}

int rl_layout_log_id_read(const char *log_dir, char *name, uint64_t *group)
{
    char path[PATH_MAX], text[LAYOUT_SMALL_FILE_MAX + 1];
    if (rl_layout_pathf(path, "%s/" LAYOUT_LOG_ID, log_dir))
        return ENAMETOOLONG;
    int rc = rl_layout_read_small(path, text);
    if (rc != 0)
        return rc;
    const char *p = text;
    size_t header = strlen(LAYOUT_LOG_ID_V1);
    if (strncmp(p, LAYOUT_LOG_ID_V1, header) != 0)
        return EBADMSG;
    p += header;
    if (strncmp(p, "name ", 5) != 0)
        return EBADMSG;
    p += 5;
    const char *end = strchr(p, '\n');
    if (!end || end - p > RL_LAYOUT_NAME_MAX)
        return EBADMSG;
    memcpy(name, p, (size_t)(end - p));
    name[end - p] = '\0';
    if (!rl_layout_name_valid(name))
        return EBADMSG;
    p = end + 1;
    if (strncmp(p, "group ", 6) != 0)
        return EBADMSG;
    p += 6;
    if (!s_parse_u64_line(&p, group) || *p != '\0')
        return EBADMSG;
    return 0;
}

size_t rl_layout_log_id_format(const char *name, uint64_t group, char *text)
{
    return (size_t)snprintf(text, 256,
                            LAYOUT_LOG_ID_V1 "name %s\ngroup %" PRIu64 "\n",
                            name, group);
}

int rl_layout_max_group_file(const char *data_dir, uint64_t *group)
{
    char path[PATH_MAX], text[LAYOUT_SMALL_FILE_MAX + 1];
    *group = 0;
    if (rl_layout_pathf(path, "%s/" LAYOUT_MAX_GROUP, data_dir))
        return ENAMETOOLONG;
    int rc = rl_layout_read_small(path, text);
    if (rc == ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    const char *p = text;
    size_t header = strlen(LAYOUT_MAX_V1);
    if (strncmp(p, LAYOUT_MAX_V1, header) != 0)
        return EBADMSG;
    p += header;
    if (!s_parse_u64_line(&p, group) || *p != '\0')
        return EBADMSG;
    return 0;
}

static bool s_has_suffix(const char *name, const char *suffix)
{
    size_t len = strlen(name), suffix_len = strlen(suffix);
    return len > suffix_len && strcmp(name + len - suffix_len, suffix) == 0;
}

bool rl_layout_is_single_log_file(const char *name)
{
    return strcmp(name, "hardstate") == 0 || strcmp(name, "snapshot") == 0 ||
           s_has_suffix(name, ".log") || s_has_suffix(name, ".tmp");
}

bool rl_layout_parse_staged(const char *entry, uint64_t *group, char *name)
{
    const char *dash = strchr(entry, '-');
    if (!dash || dash == entry)
        return false;
    char digits[32];
    size_t n = (size_t)(dash - entry);
    if (n >= sizeof digits - 1)
        return false;
    memcpy(digits, entry, n);
    digits[n] = '\n';
    digits[n + 1] = '\0';
    const char *p = digits;
    if (!s_parse_u64_line(&p, group))
        return false;
    if (strlen(dash + 1) > RL_LAYOUT_NAME_MAX)
        return false;
    strcpy(name, dash + 1);
    return rl_layout_name_valid(name);
}

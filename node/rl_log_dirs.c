/*  rl_log_dirs.c - the directories of a node's logs; see rl_log_dirs.h.

    Every change is made durable before the next step (SQLite's rule: a
    new or renamed entry may vanish after power loss until its directory
    is fsynced).
*/
#define _XOPEN_SOURCE 700
#include "rl_log_dirs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MARKER    "group"
#define S_MEMBERS   "members"
#define S_MAX_GROUP "max-group"

int rl_log_dirs_path(const char *data_dir, const char *name, char *path,
                     size_t size)
{
    int n = !name || strcmp(name, "default") == 0
                ? snprintf(path, size, "%s", data_dir)
                : snprintf(path, size, "%s/logs/%s", data_dir, name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* fsyncs a directory, so that the entries made or removed in it last. */
static int s_sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Writes size bytes to dir/file durably (temporary file, fdatasync,
   rename, the directory fsynced). */
static int s_write_bytes(const char *dir, const char *file, const void *text,
                         size_t size)
{
    char tmp[4200], path[4200];
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, file);
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    int rc =
        write(fd, text, size) == (ssize_t)size && fdatasync(fd) == 0 ? 0 : -1;
    close(fd);
    if (rc == 0)
        rc = rename(tmp, path);
    return rc == 0 ? s_sync_dir(dir) : -1;
}

static int s_write_file(const char *dir, const char *file, const char *text)
{
    return s_write_bytes(dir, file, text, strlen(text));
}

/* Reads a decimal id from dir/file: 0 and *id, or -1. */
static int s_read_id(const char *dir, const char *file, uint64_t *id)
{
    char path[4200], text[32] = "";
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || end == text)
        return -1;
    *id = value;
    return 0;
}

static int s_remove_one(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int s_remove_tree(const char *path)
{
    return nftw(path, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Raises DATA/logs/max-group to group (never lowers it). */
static int s_raise_max(const char *logs_dir, uint64_t group)
{
    uint64_t max = 0;
    if (s_read_id(logs_dir, S_MAX_GROUP, &max) == 0 && max >= group)
        return 0;
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64 "\n", group);
    return s_write_file(logs_dir, S_MAX_GROUP, text);
}

/* Makes DATA/logs (0700) when missing, durably. */
static int s_logs_dir(const char *data_dir, char *logs, size_t size)
{
    snprintf(logs, size, "%s/logs", data_dir);
    if (mkdir(logs, 0700) == 0)
        return s_sync_dir(data_dir);
    return errno == EEXIST ? 0 : -1;
}

static int s_by_group(const void *a, const void *b)
{
    uint64_t x = ((const rl_log_dir_t *)a)->group;
    uint64_t y = ((const rl_log_dir_t *)b)->group;
    return x < y ? -1 : x > y;
}

int rl_log_dirs_list(const char *data_dir, rl_log_dir_t **logs_p,
                     size_t *count_p, uint64_t *max_group, char *err)
{
    *logs_p = NULL;
    *count_p = 0;
    *max_group = 0;
    char logs[4200];
    snprintf(logs, sizeof(logs), "%s/logs", data_dir);
    DIR *dir = opendir(logs);
    if (!dir) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, 512, "cannot read %.400s: %s", logs, strerror(errno));
        return -1;
    }
    s_read_id(logs, S_MAX_GROUP, max_group);
    rl_log_dir_t *found = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(dir))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, S_MAX_GROUP) == 0 ||
            strlen(e->d_name) > 64 || strstr(e->d_name, ".tmp"))
            continue;
        char path[4300];
        snprintf(path, sizeof(path), "%s/%s", logs, e->d_name);
        uint64_t group = 0;
        if (s_read_id(path, S_MARKER, &group) != 0 || group == 0) {
            /* Half made, or half removed: nothing acknowledged in it. */
            s_remove_tree(path);
            continue;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            rl_log_dir_t *grown = realloc(found, cap * sizeof(*grown));
            if (!grown) {
                snprintf(err, 512, "out of memory");
                rc = -1;
                break;
            }
            found = grown;
        }
        snprintf(found[count].name, sizeof(found[count].name), "%s", e->d_name);
        found[count].group = group;
        if (group > *max_group)
            *max_group = group;
        count++;
    }
    closedir(dir);
    if (rc != 0) {
        free(found);
        return -1;
    }
    if (count)
        qsort(found, count, sizeof(*found), s_by_group);
    *logs_p = found;
    *count_p = count;
    return 0;
}

int rl_log_dirs_create(const char *data_dir, const char *name, uint64_t group,
                       const void *members, size_t size, char *err)
{
    char logs[4200], path[4300], text[32];
    snprintf(path, sizeof(path), "%s/logs/%s", data_dir, name);
    snprintf(text, sizeof(text), "%" PRIu64 "\n", group);
    if (s_logs_dir(data_dir, logs, sizeof(logs)) != 0 ||
        (mkdir(path, 0700) != 0 && errno != EEXIST) || s_sync_dir(logs) != 0 ||
        s_write_bytes(path, S_MEMBERS, members, size) != 0 ||
        s_write_file(path, S_MARKER, text) != 0 ||
        s_raise_max(logs, group) != 0) {
        snprintf(err, 512, "cannot create the directory %.400s: %s", path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

int rl_log_dirs_delete(const char *data_dir, const char *name, uint64_t group,
                       char *err)
{
    char logs[4200], path[4300], marker[4400];
    snprintf(logs, sizeof(logs), "%s/logs", data_dir);
    snprintf(path, sizeof(path), "%s/%s", logs, name);
    snprintf(marker, sizeof(marker), "%s/%s", path, S_MARKER);
    if (s_raise_max(logs, group) != 0 ||
        (unlink(marker) != 0 && errno != ENOENT) || s_sync_dir(path) != 0 ||
        s_remove_tree(path) != 0 || s_sync_dir(logs) != 0) {
        snprintf(err, 512, "cannot delete the directory %.400s: %s", path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

#define S_MEMBERS_MAX (64u << 10)

int rl_log_dirs_load_members(const char *data_dir, const char *name,
                             void **data, size_t *size)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/logs/%s/%s", data_dir, name, S_MEMBERS);
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = malloc(S_MEMBERS_MAX);
    size_t n = buf ? fread(buf, 1, S_MEMBERS_MAX, f) : 0;
    fclose(f);
    if (!buf || n == 0 || n == S_MEMBERS_MAX) {
        free(buf);
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}

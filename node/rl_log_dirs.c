/*  rl_log_dirs.c - the node's seam to its data directory's layout; see
    rl_log_dirs.h. The members file is made durable as SQLite would: a
    temporary file, fdatasync, rename, the directory fsynced.
*/
#include "rl_log_dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MEMBERS     "members"
#define S_MEMBERS_MAX (64u << 10)

int rl_log_dirs_path(const char *data_dir, const char *name, char *path,
                     size_t size)
{
    return rl_layout_log_dir(data_dir, name, path, size) == 0 ? 0 : -1;
}

/* Whose data a locked directory holds, from the default log's marker
   (either layout): " (cluster 'C' node N)", or "". */
static void s_owner(const char *data_dir, char *out, size_t size)
{
    out[0] = '\0';
    const char *const where[] = {"%s/logs/default/raftlog.id", "%s/raftlog.id"};
    for (size_t i = 0; i < 2 && !out[0]; i++) {
        char path[4200], text[256] = "", cluster[66];
        snprintf(path, sizeof(path), where[i], data_dir);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[n] = '\0';
        unsigned long long node;
        if (sscanf(text, "raftlog data directory v1\ncluster %65s\nnode %llu",
                   cluster, &node) == 2)
            snprintf(out, size, " (it holds cluster '%s' node %llu)", cluster,
                     node);
    }
}

int rl_log_dirs_start(const char *data_dir, int *lock_fd,
                      rl_layout_log_t **logs, size_t *count,
                      uint64_t *max_group, char *err)
{
    char why[RL_LAYOUT_ERROR_SIZE];
    *logs = NULL;
    *count = 0;
    int locked = rl_layout_lock(data_dir, lock_fd, why, sizeof(why));
    if (locked == EBUSY) {
        char owner[128];
        s_owner(data_dir, owner, sizeof(owner));
        snprintf(err, 512, "%.380s%s", why, owner);
        return -1;
    }
    if (locked != 0 || rl_layout_prepare(data_dir, why, sizeof(why)) != 0 ||
        rl_layout_list(data_dir, logs, count, why, sizeof(why)) != 0 ||
        rl_layout_max_group(data_dir, max_group, why, sizeof(why)) != 0) {
        snprintf(err, 512, "%.511s", why);
        free(*logs);
        *logs = NULL;
        return -1;
    }
    return 0;
}

/* Writes size bytes to dir/file durably. */
static int s_write_durably(const char *dir, const char *file, const void *data,
                           size_t size)
{
    char tmp[4200], path[4200];
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, file);
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc =
        write(fd, data, size) == (ssize_t)size && fdatasync(fd) == 0 ? 0 : -1;
    close(fd);
    if (rc == 0)
        rc = rename(tmp, path);
    if (rc != 0)
        return -1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    rc = fsync(dfd);
    close(dfd);
    return rc;
}

int rl_log_dirs_create(const char *data_dir, const char *name, uint64_t group,
                       const void *members, size_t size, char *err)
{
    char why[RL_LAYOUT_ERROR_SIZE], dir[4096];
    if (rl_layout_create_log(data_dir, name, group, why, sizeof(why)) != 0) {
        snprintf(err, 512, "%.511s", why);
        return -1;
    }
    if (rl_log_dirs_path(data_dir, name, dir, sizeof(dir)) != 0 ||
        s_write_durably(dir, S_MEMBERS, members, size) != 0) {
        snprintf(err, 512,
                 "cannot write the members of log %.64s in %.300s: %s", name,
                 dir, strerror(errno));
        return -1;
    }
    return 0;
}

int rl_log_dirs_delete(const char *data_dir, const char *name, uint64_t group,
                       char *err)
{
    char why[RL_LAYOUT_ERROR_SIZE];
    if (rl_layout_delete_log(data_dir, name, group, why, sizeof(why)) != 0) {
        snprintf(err, 512, "%.511s", why);
        return -1;
    }
    return 0;
}

int rl_log_dirs_load_members(const char *data_dir, const char *name,
                             void **data, size_t *size)
{
    char dir[4096], path[4200];
    *data = NULL;
    *size = 0;
    if (rl_log_dirs_path(data_dir, name, dir, sizeof(dir)) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/%s", dir, S_MEMBERS);
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

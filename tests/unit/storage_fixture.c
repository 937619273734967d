/*  storage_fixture.c - the shared set-up of the storage tests
    (storage_fixture.h says what it offers).
*/
#include "storage_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- Fault-injecting I/O ---- */

storage_io_t storage_io;

static int s_io_open(const char *path, int flags, mode_t mode)
{
    int fd = open(path, flags, mode);
    if (fd >= 0 && fd < 1024)
        snprintf(storage_io.paths[fd], PATH_MAX, "%s", path);
    return fd;
}

static int s_io_dup(int fd)
{
    int copy = dup(fd);
    if (copy >= 0 && copy < 1024 && fd < 1024)
        memcpy(storage_io.paths[copy], storage_io.paths[fd], PATH_MAX);
    return copy;
}

static bool s_io_matches(int fd)
{
    return storage_io.match && fd < 1024 &&
           strstr(storage_io.paths[fd], storage_io.match);
}

static ssize_t s_io_pwrite(int fd, const void *buf, size_t size, off_t off)
{
    if (s_io_matches(fd) && storage_io.pwrite_countdown >= 0 &&
        storage_io.pwrite_countdown-- == 0) {
        if (storage_io.pwrite_short) {
            storage_io.pwrite_short = false;
            storage_io.pwrite_countdown = 0; /* the next call fails */
            return pwrite(fd, buf, size / 2, off);
        }
        errno = storage_io.pwrite_errno;
        storage_io.pwrite_countdown = 0; /* keep failing */
        return -1;
    }
    return pwrite(fd, buf, size, off);
}

/* The syncs are counted, and fail on demand, but do not reach the disk:
   these tests simulate crashes by editing files, not by cutting power, so
   a real sync would only make them slow (seconds on a busy disk). */
static int s_io_fdatasync(int fd)
{
    __atomic_fetch_add(&storage_io.fdatasync_calls, 1, __ATOMIC_RELAXED);
    if (storage_io.fdatasync_errno && s_io_matches(fd)) {
        errno = storage_io.fdatasync_errno;
        return -1;
    }
    return 0;
}

static int s_io_fsync(int fd)
{
    __atomic_fetch_add(&storage_io.fsync_calls, 1, __ATOMIC_RELAXED);
    if (storage_io.fsync_errno && s_io_matches(fd)) {
        errno = storage_io.fsync_errno;
        return -1;
    }
    return 0;
}

/* Fails whatever fd it is given: a syncfs error names no file. */
static int s_io_syncfs(int fd)
{
    (void)fd;
    __atomic_fetch_add(&storage_io.syncfs_calls, 1, __ATOMIC_RELAXED);
    if (storage_io.syncfs_errno) {
        errno = storage_io.syncfs_errno;
        return -1;
    }
    return 0;
}

static int s_io_rename(const char *from, const char *to)
{
    return rename(from, to);
}

static ssize_t s_io_pread(int fd, void *buf, size_t size, off_t off)
{
    ssize_t done = pread(fd, buf, size, off);
    if (done > 0)
        storage_io.pread_bytes += (uint64_t)done;
    return done;
}

const rl_io_t storage_faulty_io = {
    .open = s_io_open,
    .close = close,
    .pwrite = s_io_pwrite,
    .pread = s_io_pread,
    .fdatasync = s_io_fdatasync,
    .fsync = s_io_fsync,
    .ftruncate = ftruncate,
    .rename = s_io_rename,
    .unlink = unlink,
    .dup = s_io_dup,
    .syncfs = s_io_syncfs,
};

static void s_on_warn(void *arg, const char *message)
{
    storage_world_t *world = arg;
    size_t used = strlen(world->warnings);
    snprintf(world->warnings + used, sizeof world->warnings - used, "%s\n",
             message);
}

int storage_setup(void **state)
{
    storage_world_t *world = calloc(1, sizeof *world);
    assert_non_null(world);
    const char *tmp = getenv("TMPDIR");
    snprintf(world->root, sizeof world->root, "%s/rl_storage_XXXXXX",
             tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    assert_non_null(mkdtemp(world->root));
    snprintf(world->dir, sizeof world->dir, "%s/data", world->root);
    world->segment_size = 4096;
    memset(&storage_io, 0, sizeof storage_io);
    storage_io.pwrite_countdown = -1;
    *state = world;
    return 0;
}

static int s_remove_one(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int storage_teardown(void **state)
{
    storage_world_t *world = *state;
    nftw(world->root, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(world);
    return 0;
}

rl_log_config_t storage_config(storage_world_t *world)
{
    rl_log_config_t config = {.dir = world->dir,
                              .cluster = "alpha",
                              .node_id = 1,
                              .segment_size = world->segment_size,
                              .create = true,
                              .io = &storage_faulty_io,
                              .warn = s_on_warn,
                              .warn_arg = world};
    return config;
}

rl_log_t *storage_open(storage_world_t *world)
{
    rl_log_config_t config = storage_config(world);
    rl_log_t *log = rl_log_new(&config);
    assert_non_null(log);
    int rc = rl_log_open(log);
    if (rc != 0)
        fail_msg("open failed: %s", rl_log_error(log));
    return log;
}

int storage_open_fails(storage_world_t *world, char *message, size_t size)
{
    rl_log_config_t config = storage_config(world);
    rl_log_t *log = rl_log_new(&config);
    assert_non_null(log);
    int rc = rl_log_open(log);
    snprintf(message, size, "%s", rl_log_error(log));
    rl_log_destroy(&log);
    return rc;
}

size_t storage_payload(uint64_t index, uint8_t *buf)
{
    size_t size = (size_t)(index * 37 % 200);
    for (size_t i = 0; i < size; i++)
        buf[i] = (uint8_t)(index * 131 + i);
    return size;
}

uint64_t storage_time(uint64_t index)
{
    return STORAGE_EPOCH_MS + index / 2 * 1000;
}

int storage_append(rl_log_t *log, uint64_t first, size_t count, uint64_t term)
{
    rl_entry_t *entries = calloc(count, sizeof *entries);
    uint8_t *data = malloc(count * 200);
    assert_true(entries && data);
    for (size_t i = 0; i < count; i++) {
        entries[i].index = first + i;
        entries[i].term = term;
        entries[i].type = RL_ENTRY_NORMAL;
        entries[i].producer_id = 7;
        entries[i].seq = first + i;
        entries[i].data = data + i * 200;
        entries[i].size = storage_payload(first + i, data + i * 200);
        entries[i].time = storage_time(first + i);
    }
    int rc = rl_log_append(log, entries, count);
    free(entries);
    free(data);
    return rc;
}

void storage_assert_contents(rl_log_t *log, uint64_t first, uint64_t last,
                             uint64_t (*term_of)(uint64_t))
{
    assert_int_equal(rl_log_first_index(log), first);
    assert_int_equal(rl_log_last_index(log), last);
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    uint8_t expected[200];
    for (uint64_t index = first; index <= last;) {
        int rc = rl_log_read(log, index, 50, 0, &batch);
        if (rc != 0)
            fail_msg("read %lu: %s", (unsigned long)index, rl_log_error(log));
        assert_true(batch.count >= 1);
        for (size_t i = 0; i < batch.count; i++, index++) {
            const rl_entry_t *entry = &batch.entries[i];
            assert_int_equal(entry->index, index);
            assert_int_equal(entry->term, term_of(index));
            assert_int_equal(entry->seq, index);
            assert_int_equal(entry->producer_id, 7);
            assert_int_equal(entry->time, storage_time(index));
            size_t size = storage_payload(index, expected);
            assert_int_equal(entry->size, size);
            if (size)
                assert_memory_equal(entry->data, expected, size);
            uint64_t term;
            assert_int_equal(rl_log_term(log, index, &term), 0);
            assert_int_equal(term, term_of(index));
        }
    }
    rl_log_batch_close(&batch);
}

uint64_t storage_term_steps(uint64_t index)
{
    return index <= 40 ? 1 : index <= 70 ? 2 : 3;
}

void storage_append_steps(rl_log_t *log, uint64_t first, uint64_t last)
{
    for (uint64_t index = first; index <= last; index++)
        assert_int_equal(
            storage_append(log, index, 1, storage_term_steps(index)), 0);
}

char *storage_segment_path(storage_world_t *world, uint64_t first, char *path)
{
    snprintf(path, PATH_MAX, "%s/%020lu.log", world->dir, (unsigned long)first);
    return path;
}

size_t storage_segment_count(storage_world_t *world)
{
    char path[PATH_MAX];
    size_t count = 0;
    for (uint64_t first = 1; first <= 400; first++) {
        struct stat st;
        if (stat(storage_segment_path(world, first, path), &st) == 0)
            count++;
    }
    return count;
}

off_t storage_file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

void storage_flip_bit(const char *path, off_t offset)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t byte;
    assert_int_equal(pread(fd, &byte, 1, offset), 1);
    byte ^= 0x10;
    assert_int_equal(pwrite(fd, &byte, 1, offset), 1);
    close(fd);
}

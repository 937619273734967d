/*  test_storage.c - the append-only file log (node/storage/rl_log.h).

    Every test works in its own mkdtemp directory, removed at the end.
    Failures are injected through an rl_io_t that wraps libc and can fail
    or shorten writes and syncs on files whose path contains a given
    string; it also counts fdatasync calls, so group commit is asserted.
*/
#include "rl_crc32c.h"
#include "rl_log.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- Fault-injecting I/O ---- */

/* What the injected io does; reset before every test. */
static struct {
    char paths[1024][PATH_MAX]; /* path of each open fd, to filter faults */
    const char *match;          /* faults only on paths containing this */
    int pwrite_countdown;       /* pwrites that succeed before faults; -1 */
    int pwrite_errno;           /* errno of a failing pwrite */
    bool pwrite_short;          /* the first faulty pwrite writes half */
    int fdatasync_errno;        /* errno of fdatasync, 0 for success */
    int fsync_errno;            /* errno of fsync, 0 for success */
    int fdatasync_calls;        /* fdatasync calls on any file */
    int fsync_calls;            /* fsync calls (directories) */
} s_io;

static int s_io_open(const char *path, int flags, mode_t mode)
{
    int fd = open(path, flags, mode);
    if (fd >= 0 && fd < 1024)
        snprintf(s_io.paths[fd], PATH_MAX, "%s", path);
    return fd;
}

static int s_io_dup(int fd)
{
    int copy = dup(fd);
    if (copy >= 0 && copy < 1024 && fd < 1024)
        memcpy(s_io.paths[copy], s_io.paths[fd], PATH_MAX);
    return copy;
}

static bool s_io_matches(int fd)
{
    return s_io.match && fd < 1024 && strstr(s_io.paths[fd], s_io.match);
}

static ssize_t s_io_pwrite(int fd, const void *buf, size_t size, off_t off)
{
    if (s_io_matches(fd) && s_io.pwrite_countdown >= 0 &&
        s_io.pwrite_countdown-- == 0) {
        if (s_io.pwrite_short) {
            s_io.pwrite_short = false;
            s_io.pwrite_countdown = 0; /* the next call fails */
            return pwrite(fd, buf, size / 2, off);
        }
        errno = s_io.pwrite_errno;
        s_io.pwrite_countdown = 0; /* keep failing */
        return -1;
    }
    return pwrite(fd, buf, size, off);
}

/* The syncs are counted, and fail on demand, but do not reach the disk:
   these tests simulate crashes by editing files, not by cutting power, so
   a real sync would only make them slow (seconds on a busy disk). */
static int s_io_fdatasync(int fd)
{
    __atomic_fetch_add(&s_io.fdatasync_calls, 1, __ATOMIC_RELAXED);
    if (s_io.fdatasync_errno && s_io_matches(fd)) {
        errno = s_io.fdatasync_errno;
        return -1;
    }
    return 0;
}

static int s_io_fsync(int fd)
{
    __atomic_fetch_add(&s_io.fsync_calls, 1, __ATOMIC_RELAXED);
    if (s_io.fsync_errno && s_io_matches(fd)) {
        errno = s_io.fsync_errno;
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
    return pread(fd, buf, size, off);
}

static const rl_io_t s_faulty = {
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
};

/* ---- Fixture ---- */

/* One test's world. */
typedef struct {
    char root[64];         /* the mkdtemp directory */
    char dir[96];          /* the data directory inside it */
    char warnings[8192];   /* warnings received, one per line */
    uint64_t segment_size; /* for s_open */
} s_world_t;

static void s_on_warn(void *arg, const char *message)
{
    s_world_t *world = arg;
    size_t used = strlen(world->warnings);
    snprintf(world->warnings + used, sizeof world->warnings - used, "%s\n",
             message);
}

static int s_setup(void **state)
{
    s_world_t *world = calloc(1, sizeof *world);
    assert_non_null(world);
    const char *tmp = getenv("TMPDIR");
    snprintf(world->root, sizeof world->root, "%s/rl_storage_XXXXXX",
             tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    assert_non_null(mkdtemp(world->root));
    snprintf(world->dir, sizeof world->dir, "%s/data", world->root);
    world->segment_size = 4096;
    memset(&s_io, 0, sizeof s_io);
    s_io.pwrite_countdown = -1;
    *state = world;
    return 0;
}

static int s_remove_one(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int s_teardown(void **state)
{
    s_world_t *world = *state;
    nftw(world->root, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(world);
    return 0;
}

static rl_log_config_t s_config(s_world_t *world)
{
    rl_log_config_t config = {.dir = world->dir,
                              .cluster = "alpha",
                              .node_id = 1,
                              .segment_size = world->segment_size,
                              .create = true,
                              .io = &s_faulty,
                              .warn = s_on_warn,
                              .warn_arg = world};
    return config;
}

static rl_log_t *s_open(s_world_t *world)
{
    rl_log_config_t config = s_config(world);
    rl_log_t *log = rl_log_new(&config);
    assert_non_null(log);
    int rc = rl_log_open(log);
    if (rc != 0)
        fail_msg("open failed: %s", rl_log_error(log));
    return log;
}

/* Opens expecting failure; returns the code, message in message. */
static int s_open_fails(s_world_t *world, char *message, size_t size)
{
    rl_log_config_t config = s_config(world);
    rl_log_t *log = rl_log_new(&config);
    assert_non_null(log);
    int rc = rl_log_open(log);
    snprintf(message, size, "%s", rl_log_error(log));
    rl_log_destroy(&log);
    return rc;
}

/* The payload of entry index: size bytes derived from the index, so that
   a read can be checked without remembering what was written. */
static size_t s_payload(uint64_t index, uint8_t *buf)
{
    size_t size = (size_t)(index * 37 % 200);
    for (size_t i = 0; i < size; i++)
        buf[i] = (uint8_t)(index * 131 + i);
    return size;
}

static int s_append(rl_log_t *log, uint64_t first, size_t count, uint64_t term)
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
        entries[i].size = s_payload(first + i, data + i * 200);
    }
    int rc = rl_log_append(log, entries, count);
    free(entries);
    free(data);
    return rc;
}

/* Asserts the log holds exactly [first, last] with the expected payloads
   and term for every index (term_of(index)). */
static void s_assert_contents(rl_log_t *log, uint64_t first, uint64_t last,
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
            size_t size = s_payload(index, expected);
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

/* Terms 1 for 1..40, 2 for 41..70, 3 after. */
static uint64_t s_term_steps(uint64_t index)
{
    return index <= 40 ? 1 : index <= 70 ? 2 : 3;
}

static void s_append_steps(rl_log_t *log, uint64_t first, uint64_t last)
{
    for (uint64_t index = first; index <= last; index++)
        assert_int_equal(s_append(log, index, 1, s_term_steps(index)), 0);
}

static char *s_segment_path(s_world_t *world, uint64_t first, char *path)
{
    snprintf(path, PATH_MAX, "%s/%020lu.log", world->dir, (unsigned long)first);
    return path;
}

static size_t s_segment_count(s_world_t *world)
{
    char path[PATH_MAX];
    size_t count = 0;
    for (uint64_t first = 1; first <= 400; first++) {
        struct stat st;
        if (stat(s_segment_path(world, first, path), &st) == 0)
            count++;
    }
    return count;
}

static off_t s_file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void s_flip_bit(const char *path, off_t offset)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t byte;
    assert_int_equal(pread(fd, &byte, 1, offset), 1);
    byte ^= 0x10;
    assert_int_equal(pwrite(fd, &byte, 1, offset), 1);
    close(fd);
}

/* ---- CRC32C ---- */

static void test_crc32c_software_path_matches_known_vectors(void **state)
{
    (void)state;
    assert_int_equal(rl_crc32c_software(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(rl_crc32c_software(0, "", 0), 0);
    uint8_t zeros[32] = {0}, ones[32];
    memset(ones, 0xFF, sizeof ones);
    /* RFC 3720 (iSCSI) appendix B.4 vectors. */
    assert_int_equal(rl_crc32c_software(0, zeros, 32), 0x8A9136AAu);
    assert_int_equal(rl_crc32c_software(0, ones, 32), 0x62A8AB43u);
    /* Incremental use equals one call. */
    uint32_t crc = rl_crc32c_software(0, "1234", 4);
    assert_int_equal(rl_crc32c_software(crc, "56789", 5), 0xE3069283u);
}

static void
test_crc32c_hardware_path_matches_known_vectors_and_software(void **state)
{
    (void)state;
    if (!rl_crc32c_hardware_available())
        skip();
    assert_int_equal(rl_crc32c_hardware(0, "123456789", 9), 0xE3069283u);
    uint8_t zeros[32] = {0};
    assert_int_equal(rl_crc32c_hardware(0, zeros, 32), 0x8A9136AAu);
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    for (size_t start = 0; start < 9; start++)
        for (size_t size = 0; size + start <= sizeof data; size += 13)
            assert_int_equal(rl_crc32c_hardware(5, data + start, size),
                             rl_crc32c_software(5, data + start, size));
    /* Lengths around the three-stream blocks (3 x 256, 3 x 8192). */
    size_t big = 3 * 8192 * 2 + 3 * 256 * 2 + 100;
    uint8_t *random = malloc(big);
    uint64_t x = 88172645463325252u;
    for (size_t i = 0; i < big; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        random[i] = (uint8_t)x;
    }
    static const size_t sizes[] = {767,   768,   769,   1000,  1543, 4137,
                                   24575, 24576, 24577, 25344, 50000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t start = 0; start < 3; start++)
            assert_int_equal(rl_crc32c_hardware(0, random + start, sizes[i]),
                             rl_crc32c_software(0, random + start, sizes[i]));
    assert_int_equal(rl_crc32c_hardware(7, random, big),
                     rl_crc32c_software(7, random, big));
    free(random);
    assert_int_equal(rl_crc32c(0, "123456789", 9), 0xE3069283u);
}

/* ---- Basic behaviour ---- */

static void
test_appended_entries_read_back_identical_before_and_after_reopen(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    assert_int_equal(rl_log_first_index(log), 1);
    assert_int_equal(rl_log_last_index(log), 0);
    s_append_steps(log, 1, 100);
    s_assert_contents(log, 1, 100, s_term_steps);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    assert_null(log);
    rl_log_destroy(&log); /* idempotent */

    log = s_open(world);
    s_assert_contents(log, 1, 100, s_term_steps);
    assert_int_equal(rl_log_last_term(log), 3);
    assert_int_equal(rl_log_durable_index(log), 100);
    uint64_t term;
    assert_int_equal(rl_log_term(log, 0, &term), 0);
    assert_int_equal(term, 0);
    assert_int_equal(rl_log_term(log, 101, &term), ERANGE);
    rl_log_destroy(&log);
}

static void
test_append_rejects_gaps_and_falling_terms_and_leaves_the_log_unchanged(
    void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    assert_int_equal(s_append(log, 1, 5, 2), 0);
    assert_int_equal(s_append(log, 7, 1, 2), EINVAL);
    assert_non_null(strstr(rl_log_error(log), "where 6 is next"));
    assert_int_equal(s_append(log, 6, 1, 1), EINVAL);
    assert_int_equal(rl_log_last_index(log), 5);
    rl_log_destroy(&log);
}

static void test_segments_roll_over_at_the_configured_size_named_by_first_index(
    void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 100); /* about 13 KB in 4 KB segments */
    assert_int_equal(rl_log_sync(log), 0);
    char path[PATH_MAX];
    assert_int_equal(s_file_size(s_segment_path(world, 1, path)) <= 4096, 1);
    assert_true(s_segment_count(world) >= 4);
    /* Every segment is named by its first index and no larger than the
       limit: walk them by following each one's last index. */
    uint64_t first = 1;
    size_t seen = 0;
    while (first <= 100) {
        struct stat st;
        assert_int_equal(stat(s_segment_path(world, first, path), &st), 0);
        assert_true(st.st_size <= 4096);
        /* The header and the first record both say index first. */
        uint8_t head[48];
        int fd = open(path, O_RDONLY);
        assert_int_equal(pread(fd, head, sizeof head, 0), sizeof head);
        close(fd);
        uint64_t header_first = 0, record_index = 0;
        for (int i = 7; i >= 0; i--) {
            header_first = header_first << 8 | head[8 + i];
            record_index = record_index << 8 | head[40 + i];
        }
        assert_int_equal(header_first, first);
        assert_int_equal(record_index, first);
        seen++;
        uint64_t next = first + 1;
        while (next <= 101 && stat(s_segment_path(world, next, path), &st) != 0)
            next++;
        first = next;
    }
    assert_int_equal(seen, s_segment_count(world));
    rl_log_destroy(&log);
}

static void
test_truncate_removes_the_suffix_durably_and_accepts_new_entries(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 100);
    assert_int_equal(rl_log_sync(log), 0);
    size_t before = s_segment_count(world);
    assert_int_equal(rl_log_truncate(log, 45), 0);
    assert_int_equal(rl_log_last_index(log), 44);
    assert_int_equal(rl_log_last_term(log), 2);
    assert_int_equal(rl_log_durable_index(log), 44);
    assert_true(s_segment_count(world) < before);
    assert_int_equal(rl_log_truncate(log, 100), ERANGE);
    s_append_steps(log, 45, 60);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);

    log = s_open(world);
    s_assert_contents(log, 1, 60, s_term_steps);
    /* Truncating at the first index empties the log. */
    assert_int_equal(rl_log_truncate(log, 1), 0);
    assert_int_equal(rl_log_last_index(log), 0);
    assert_int_equal(s_append(log, 1, 3, 4), 0);
    rl_log_destroy(&log);
    log = s_open(world);
    assert_int_equal(rl_log_last_index(log), 3);
    assert_int_equal(rl_log_last_term(log), 4);
    rl_log_destroy(&log);
}

static void
test_compact_drops_whole_segments_and_keeps_the_boundary_term(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 100);
    assert_int_equal(rl_log_compact(log, 60), 0);
    uint64_t first = rl_log_first_index(log);
    assert_true(first > 1 && first <= 60);
    uint64_t term;
    assert_int_equal(rl_log_term(log, first - 1, &term), 0);
    assert_int_equal(term, s_term_steps(first - 1));
    assert_int_equal(rl_log_term(log, first - 2, &term), ERANGE);
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    assert_int_equal(rl_log_read(log, first - 1, 1, 0, &batch), ERANGE);
    rl_log_batch_close(&batch);
    /* Compaction never removes the segment taking appends. */
    assert_int_equal(rl_log_compact(log, 1000), 0);
    assert_int_equal(rl_log_last_index(log), 100);
    uint64_t first_after = rl_log_first_index(log);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);

    log = s_open(world);
    s_assert_contents(log, first_after, 100, s_term_steps);
    assert_int_equal(rl_log_term(log, first_after - 1, &term), 0);
    assert_int_equal(term, s_term_steps(first_after - 1));
    rl_log_destroy(&log);
}

static void
test_retention_index_keeps_about_the_newest_bytes_and_the_last_segment(
    void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 100);
    uint64_t total = rl_log_bytes(log);
    assert_true(total > 0);
    /* Keeping everything, or more than there is, drops nothing. */
    assert_int_equal(rl_log_retention_index(log, total), 0);
    assert_int_equal(rl_log_retention_index(log, total * 2), 0);
    /* Keeping nothing still keeps the segment taking appends. */
    uint64_t all = rl_log_retention_index(log, 0);
    assert_true(all > 1 && all <= 100);
    /* About half: some old segments go, and what stays holds at least
       half of the bytes. */
    uint64_t half = rl_log_retention_index(log, total / 2);
    assert_true(half > 1 && half <= all);
    assert_int_equal(rl_log_compact(log, half), 0);
    assert_int_equal(rl_log_first_index(log), half);
    assert_true(rl_log_bytes(log) >= total / 2 && rl_log_bytes(log) < total);
    assert_int_equal(rl_log_retention_index(log, total / 2), 0);
    rl_log_destroy(&log);
}

static void
test_append_read_truncate_compact_then_reopen_gives_same_contents(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 90);
    assert_int_equal(rl_log_truncate(log, 80), 0);
    s_append_steps(log, 80, 120);
    assert_int_equal(rl_log_compact(log, 30), 0);
    uint64_t first = rl_log_first_index(log);
    assert_int_equal(rl_log_sync(log), 0);
    s_assert_contents(log, first, 120, s_term_steps);
    rl_log_destroy(&log);
    log = s_open(world);
    s_assert_contents(log, first, 120, s_term_steps);
    rl_log_destroy(&log);
}

static void
test_read_stops_at_max_entries_or_max_bytes_but_returns_at_least_one_entry(
    void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 100);
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    assert_int_equal(rl_log_read(log, 10, 5, 0, &batch), 0);
    assert_int_equal(batch.count, 5);
    assert_int_equal(batch.entries[4].index, 14);
    assert_int_equal(rl_log_read(log, 10, 100, 1, &batch), 0);
    assert_int_equal(batch.count, 1);
    assert_int_equal(rl_log_read(log, 1, 1000, 0, &batch), 0);
    assert_int_equal(batch.count, 100); /* across segments */
    assert_int_equal(rl_log_read(log, 101, 1, 0, &batch), ERANGE);
    rl_log_batch_close(&batch);
    rl_log_batch_close(&batch);
    rl_log_destroy(&log);
}

/* ---- Crashes and corruption ---- */

static void
test_torn_tail_at_every_byte_offset_is_truncated_and_appends_go_on(void **state)
{
    s_world_t *world = *state;
    world->segment_size = 1 << 20; /* one segment: offsets are simple */
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 20);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    char path[PATH_MAX], copy[PATH_MAX];
    s_segment_path(world, 1, path);
    snprintf(copy, sizeof copy, "%s/original", world->root);
    off_t full = s_file_size(path);
    uint8_t *original = malloc((size_t)full);
    int fd = open(path, O_RDONLY);
    assert_int_equal(pread(fd, original, (size_t)full, 0), full);
    close(fd);

    /* Record boundaries of the last three records, from record sizes. */
    off_t ends[21];
    ends[0] = 32;
    for (uint64_t index = 1; index <= 20; index++) {
        uint8_t scratch[200];
        ends[index] =
            ends[index - 1] + 8 + 33 + (off_t)s_payload(index, scratch);
    }
    assert_int_equal(ends[20], full);
    for (uint64_t index = 18; index <= 20; index++) {
        for (off_t cut = ends[index - 1] + 1; cut < ends[index]; cut++) {
            fd = open(path, O_WRONLY | O_TRUNC);
            assert_int_equal(pwrite(fd, original, (size_t)cut, 0), cut);
            close(fd);
            world->warnings[0] = '\0';
            log = s_open(world);
            assert_int_equal(rl_log_last_index(log), index - 1);
            assert_non_null(strstr(world->warnings, path));
            char where[64];
            snprintf(where, sizeof where, "offset %ld", (long)ends[index - 1]);
            assert_non_null(strstr(world->warnings, where));
            assert_int_equal(s_file_size(path), ends[index - 1]);
            s_append_steps(log, index, index);
            assert_int_equal(rl_log_sync(log), 0);
            rl_log_destroy(&log);
            log = s_open(world);
            s_assert_contents(log, 1, index, s_term_steps);
            rl_log_destroy(&log);
        }
    }
    free(original);
}

static void
test_zero_filled_tail_is_the_end_and_appends_go_over_it(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    char path[PATH_MAX];
    s_segment_path(world, 1, path);
    off_t size = s_file_size(path);
    assert_int_equal(truncate(path, size + 512), 0); /* zeros */
    log = s_open(world);
    assert_int_equal(rl_log_last_index(log), 10);
    assert_string_equal(world->warnings, "");
    assert_int_equal(s_file_size(path), size + 512); /* kept */
    s_append_steps(log, 11, 12);
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(s_file_size(path), size + 512); /* written over */
    rl_log_destroy(&log);
    log = s_open(world);
    s_assert_contents(log, 1, 12, s_term_steps);
    assert_string_equal(world->warnings, "");
    rl_log_destroy(&log);
}

/* Makes the spare the log asks for, if it asks; returns what it did. */
static int s_make_spare(rl_log_t *log)
{
    rl_log_spare_t spare;
    if (!rl_log_spare_prepare(log, &spare))
        return -1;
    int rc = rl_log_spare_run(&spare);
    rl_log_spare_finish(log, &spare, rc);
    return rc;
}

static void test_spares_become_the_next_segments_and_reopen_intact(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    assert_int_equal(s_make_spare(log), -1); /* not half full yet */
    uint64_t index = 1;
    while (s_make_spare(log) != 0) {
        assert_int_equal(s_append(log, index, 1, s_term_steps(index)), 0);
        index++;
    }
    /* Half of 4096 bytes: more than a few entries, fewer than a full
       segment's. */
    assert_true(index > 5 && index < 40);
    assert_int_equal(s_make_spare(log), -1); /* one is ready */
    char spare[PATH_MAX];
    snprintf(spare, sizeof spare, "%s/spare.tmp", world->dir);
    assert_int_equal(s_file_size(spare), 4096);
    for (; index <= 100; index++) {
        s_make_spare(log);
        assert_int_equal(s_append(log, index, 1, s_term_steps(index)), 0);
    }
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_stats_t stats;
    rl_log_stats(log, &stats);
    assert_true(stats.spares_used >= 3);
    /* Every segment but the first began as a spare: its full size, with
       zeros after its last record. */
    char path[PATH_MAX];
    size_t full = 0;
    for (uint64_t first = 2; first <= 100; first++) {
        struct stat st;
        if (stat(s_segment_path(world, first, path), &st) == 0) {
            assert_int_equal(st.st_size, 4096);
            full++;
        }
    }
    assert_int_equal(full, stats.spares_used);
    s_assert_contents(log, 1, 100, s_term_steps);
    rl_log_destroy(&log);
    /* The spare made after the last rollover is left over: open removes
       it, and reads everything back without a warning. */
    assert_int_equal(access(spare, F_OK), 0);
    log = s_open(world);
    assert_int_equal(access(spare, F_OK), -1);
    assert_string_equal(world->warnings, "");
    s_assert_contents(log, 1, 100, s_term_steps);
    /* Truncating into an adopted segment cuts its zeros too; the log
       goes on and reopens the same. */
    assert_int_equal(rl_log_truncate(log, 90), 0);
    s_append_steps(log, 90, 110);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = s_open(world);
    s_assert_contents(log, 1, 110, s_term_steps);
    assert_string_equal(world->warnings, "");
    rl_log_destroy(&log);
}

static void test_spare_is_written_as_zeros_in_synced_chunks(void **state)
{
    s_world_t *world = *state;
    rl_log_spare_t spare = {.io = &s_faulty, .size = 3 * 1048576 + 100};
    snprintf(spare.path, sizeof spare.path, "%s/spare.tmp", world->root);
    assert_int_equal(rl_log_spare_run(&spare), 0);
    assert_int_equal(s_file_size(spare.path), 3 * 1048576 + 100);
    assert_int_equal(s_io.fdatasync_calls, 4); /* 3 whole chunks + 1 */
    int fd = open(spare.path, O_RDONLY);
    assert_true(fd >= 0);
    static uint8_t data[3 * 1048576 + 100];
    assert_int_equal(read(fd, data, sizeof data), sizeof data);
    close(fd);
    for (size_t i = 0; i < sizeof data; i++)
        if (data[i])
            fail_msg("byte %zu of the spare is %u", i, data[i]);
}

static void
test_segment_of_zeros_left_by_a_crash_while_adopting_is_removed(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    /* The rename reached the disk, the header page did not. */
    char path[PATH_MAX];
    s_segment_path(world, 11, path);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096), 0);
    close(fd);
    log = s_open(world);
    assert_int_equal(rl_log_last_index(log), 10);
    assert_non_null(strstr(world->warnings, "torn segment header"));
    assert_int_equal(access(path, F_OK), -1);
    s_append_steps(log, 11, 60);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = s_open(world);
    s_assert_contents(log, 1, 60, s_term_steps);
    rl_log_destroy(&log);
}

static void
test_failed_spare_is_a_warning_and_tried_after_the_next_rollover(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 20); /* over half of the first segment */
    s_io.match = "spare";
    s_io.pwrite_countdown = 0;
    s_io.pwrite_errno = ENOSPC;
    assert_int_equal(s_make_spare(log), ENOSPC);
    assert_non_null(strstr(world->warnings, "cannot write zeros to"));
    assert_non_null(strstr(world->warnings, "No space left on device"));
    char spare[PATH_MAX];
    snprintf(spare, sizeof spare, "%s/spare.tmp", world->dir);
    assert_int_equal(access(spare, F_OK), -1);
    assert_int_equal(s_make_spare(log), -1); /* not before a rollover */
    s_io.match = NULL;
    s_append_steps(log, 21, 40); /* rolls over */
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(s_segment_count(world), 2);
    uint64_t index = 41;
    while (s_make_spare(log) != 0 && index < 100) {
        assert_int_equal(s_append(log, index, 1, s_term_steps(index)), 0);
        index++;
    }
    assert_true(index < 100); /* made, once half of the new segment */
    rl_log_stats_t stats;
    rl_log_stats(log, &stats);
    assert_int_equal(stats.spares_used, 0);
    s_assert_contents(log, 1, index - 1, s_term_steps);
    rl_log_destroy(&log);
}

static void
test_bit_flip_in_the_middle_refuses_open_naming_file_offset_index(void **state)
{
    s_world_t *world = *state;
    world->segment_size = 1 << 20;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 20);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    char path[PATH_MAX], message[RL_LOG_ERROR_SIZE];
    s_segment_path(world, 1, path);
    /* Record 6 starts after the header and records 1..5. */
    off_t offset = 32;
    uint8_t scratch[200];
    for (uint64_t index = 1; index <= 5; index++)
        offset += 8 + 33 + (off_t)s_payload(index, scratch);
    s_flip_bit(path, offset + 8 + 40); /* inside record 6's body */
    assert_int_equal(s_open_fails(world, message, sizeof message), EBADMSG);
    char expected[PATH_MAX + 128];
    snprintf(expected, sizeof expected,
             "%s: checksum mismatch at offset %ld (index 6)", path,
             (long)offset);
    if (!strstr(message, expected))
        fail_msg("message '%s' lacks '%s'", message, expected);
    assert_non_null(strstr(message, "not a torn write"));
    /* Nothing was changed. */
    FILE *null = fopen("/dev/null", "w");
    assert_int_equal(rl_log_check(world->dir, null), EBADMSG);
    fclose(null);
}

static void test_bit_flip_in_the_last_record_is_truncated_as_torn(void **state)
{
    s_world_t *world = *state;
    world->segment_size = 1 << 20;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 20);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    char path[PATH_MAX];
    s_segment_path(world, 1, path);
    off_t size = s_file_size(path);
    s_flip_bit(path, size - 3);
    log = s_open(world);
    assert_int_equal(rl_log_last_index(log), 19);
    assert_non_null(strstr(world->warnings, "checksum mismatch"));
    s_assert_contents(log, 1, 19, s_term_steps);
    rl_log_destroy(&log);
}

static void
test_bit_flip_in_the_last_record_of_an_older_segment_refuses_open(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 100);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    /* The first segment's last record looks torn in isolation, but the
       segments after it hold entries: that is damage, not a crash. */
    char path[PATH_MAX], message[RL_LOG_ERROR_SIZE];
    s_segment_path(world, 1, path);
    s_flip_bit(path, s_file_size(path) - 2);
    assert_int_equal(s_open_fails(world, message, sizeof message), EBADMSG);
    assert_non_null(strstr(message, path));
    assert_non_null(strstr(message, "later segment"));
}

static void
test_segment_torn_while_being_created_is_removed_on_open(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    /* A crash right after a rollover created the next segment: its header
       is only partly on disk. */
    char path[PATH_MAX];
    FILE *torn = fopen(s_segment_path(world, 11, path), "w");
    fputs("RLSG", torn);
    fclose(torn);
    log = s_open(world);
    assert_non_null(strstr(world->warnings, "torn segment header"));
    assert_int_equal(rl_log_last_index(log), 10);
    assert_int_equal(s_append(log, 11, 1, 1), 0);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = s_open(world);
    s_assert_contents(log, 1, 11, s_term_steps);
    rl_log_destroy(&log);
}

static void test_check_reports_a_clean_directory_and_damage(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 50);
    assert_int_equal(rl_log_set_hard_state(log, 3, 2), 0);
    rl_log_destroy(&log);
    char report[4096] = {0};
    FILE *out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(rl_log_check(world->dir, out), 0);
    fclose(out);
    assert_non_null(strstr(report, "cluster 'alpha' node 1"));
    assert_non_null(strstr(report, "entries 1..50"));
    assert_non_null(strstr(report, "term 3, voted for 2"));

    char path[PATH_MAX];
    s_flip_bit(s_segment_path(world, 1, path), 32 + 8 + 5);
    memset(report, 0, sizeof report);
    out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(rl_log_check(world->dir, out), EBADMSG);
    fclose(out);
    assert_non_null(strstr(report, "damage:"));
    assert_non_null(strstr(report, "index 1"));

    memset(report, 0, sizeof report);
    out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(rl_log_check(world->root, out), ENOENT);
    fclose(out);
}

/* ---- Hard state and marker ---- */

static void test_hard_state_survives_reopen(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    uint64_t term, vote;
    rl_log_hard_state(log, &term, &vote);
    assert_int_equal(term, 0);
    assert_int_equal(vote, 0);
    assert_int_equal(rl_log_set_hard_state(log, 5, 3), 0);
    assert_int_equal(rl_log_set_hard_state(log, 6, 0), 0);
    rl_log_destroy(&log);
    log = s_open(world);
    rl_log_hard_state(log, &term, &vote);
    assert_int_equal(term, 6);
    assert_int_equal(vote, 0);
    rl_log_destroy(&log);
}

static void test_torn_hard_state_write_leaves_the_previous_value(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    assert_int_equal(rl_log_set_hard_state(log, 5, 3), 0);
    s_io.match = "hardstate.tmp";
    s_io.pwrite_countdown = 0;
    s_io.pwrite_short = true;
    s_io.pwrite_errno = ENOSPC;
    assert_int_equal(rl_log_set_hard_state(log, 9, 9), ENOSPC);
    assert_non_null(strstr(rl_log_error(log), "No space left on device"));
    uint64_t term, vote;
    rl_log_hard_state(log, &term, &vote);
    assert_int_equal(term, 5);
    rl_log_destroy(&log);

    /* A crash mid-write leaves a torn temporary file: ignored. */
    char temp[PATH_MAX];
    snprintf(temp, sizeof temp, "%s/hardstate.tmp", world->dir);
    FILE *torn = fopen(temp, "w");
    fputs("RLHS", torn);
    fclose(torn);
    s_io.match = NULL;
    log = s_open(world);
    rl_log_hard_state(log, &term, &vote);
    assert_int_equal(term, 5);
    assert_int_equal(vote, 3);
    assert_int_equal(access(temp, F_OK), -1);
    rl_log_destroy(&log);

    /* A damaged hard state file itself is refused, never guessed. */
    char path[PATH_MAX], message[RL_LOG_ERROR_SIZE];
    snprintf(path, sizeof path, "%s/hardstate", world->dir);
    s_flip_bit(path, 9);
    assert_int_equal(s_open_fails(world, message, sizeof message), EBADMSG);
    assert_non_null(strstr(message, "hard state"));
}

static void
test_marker_of_another_node_or_a_second_writer_refuses_open(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    rl_log_destroy(&log);
    rl_log_config_t config = s_config(world);
    config.node_id = 2;
    log = rl_log_new(&config);
    assert_int_equal(rl_log_open(log), EXDEV);
    const char *message = rl_log_error(log);
    assert_non_null(strstr(message, "belongs to cluster 'alpha' node 1"));
    assert_non_null(strstr(message, "this node is cluster 'alpha' node 2"));
    assert_non_null(strstr(message, "move"));
    rl_log_destroy(&log);
    config.node_id = 1;
    config.cluster = "beta";
    log = rl_log_new(&config);
    assert_int_equal(rl_log_open(log), EXDEV);
    assert_non_null(strstr(rl_log_error(log), "cluster 'beta' node 1"));
    rl_log_destroy(&log);
    /* A second writer on the same directory is refused while the first
       has it open; a read-only check is not. */
    config.node_id = 1;
    config.cluster = "alpha";
    log = s_open(world);
    rl_log_t *second = rl_log_new(&config);
    assert_int_equal(rl_log_open(second), EBUSY);
    assert_non_null(strstr(rl_log_error(second), "in use by another"));
    rl_log_destroy(&second);
    config.node_id = 2; /* busy and another node's: the marker is the news */
    second = rl_log_new(&config);
    assert_int_equal(rl_log_open(second), EXDEV);
    rl_log_destroy(&second);
    config.node_id = 1;
    FILE *null = fopen("/dev/null", "w");
    assert_int_equal(rl_log_check(world->dir, null), 0);
    fclose(null);
    rl_log_destroy(&log);
    /* Without create, an empty directory is not silently made a log. */
    config.cluster = "alpha";
    config.create = false;
    config.dir = world->root;
    log = rl_log_new(&config);
    assert_int_equal(rl_log_open(log), ENOENT);
    rl_log_destroy(&log);
}

/* ---- Write and sync failures ---- */

static void
test_enospc_during_append_rolls_back_and_reports_the_errno_text(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    char path[PATH_MAX];
    off_t size = s_file_size(s_segment_path(world, 1, path));
    s_io.match = ".log";
    s_io.pwrite_countdown = 0;
    s_io.pwrite_errno = ENOSPC;
    assert_int_equal(s_append(log, 11, 5, 1), ENOSPC);
    assert_non_null(strstr(rl_log_error(log), "No space left on device"));
    assert_non_null(strstr(rl_log_error(log), "11..15"));
    assert_int_equal(rl_log_last_index(log), 10);
    assert_int_equal(s_file_size(path), size);
    assert_false(rl_log_failed(log)); /* rolled back: still healthy */
    /* Space comes back: the log goes on where it was. */
    s_io.match = NULL;
    s_append_steps(log, 11, 12);
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(rl_log_durable_index(log), 12);
    rl_log_destroy(&log);
    log = s_open(world);
    s_assert_contents(log, 1, 12, s_term_steps);
    rl_log_destroy(&log);
}

static void
test_short_write_then_error_is_rolled_back_and_never_durable(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 5);
    assert_int_equal(rl_log_sync(log), 0);
    s_io.match = ".log";
    s_io.pwrite_countdown = 0;
    s_io.pwrite_short = true;
    s_io.pwrite_errno = EIO;
    assert_int_equal(s_append(log, 6, 8, 1), EIO);
    assert_non_null(strstr(rl_log_error(log), "Input/output error"));
    assert_int_equal(rl_log_last_index(log), 5);
    s_io.match = NULL;
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(rl_log_durable_index(log), 5);
    rl_log_destroy(&log);
    log = s_open(world);
    s_assert_contents(log, 1, 5, s_term_steps);
    rl_log_destroy(&log);
}

static void
test_failed_batch_across_a_rollover_removes_the_new_segment(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 10);
    size_t segments = s_segment_count(world);
    /* The first pwrite fills the current segment; the header of the new
       segment is the second; the records in it are the third: fail it. */
    s_io.match = ".log";
    s_io.pwrite_countdown = 2;
    s_io.pwrite_errno = ENOSPC;
    assert_int_equal(s_append(log, 11, 60, 1), ENOSPC);
    assert_int_equal(rl_log_last_index(log), 10);
    assert_int_equal(s_segment_count(world), segments);
    s_io.match = NULL;
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = s_open(world);
    s_assert_contents(log, 1, 10, s_term_steps);
    rl_log_destroy(&log);
}

static void
test_failed_fdatasync_fails_the_log_and_every_later_write(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 5);
    assert_int_equal(rl_log_sync(log), 0);
    s_append_steps(log, 6, 8);
    s_io.match = ".log";
    s_io.fdatasync_errno = EIO;
    assert_int_equal(rl_log_sync(log), EIO);
    assert_non_null(strstr(rl_log_error(log), "fdatasync"));
    assert_non_null(strstr(rl_log_error(log), "restart"));
    assert_int_equal(rl_log_durable_index(log), 5);
    assert_true(rl_log_failed(log));
    /* No retry-and-pretend: even with the disk "healthy" again. */
    s_io.fdatasync_errno = 0;
    assert_int_equal(rl_log_sync(log), EIO);
    assert_int_equal(s_append(log, 9, 1, 1), EIO);
    assert_int_equal(rl_log_truncate(log, 3), EIO);
    assert_int_equal(rl_log_set_hard_state(log, 1, 1), EIO);
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    assert_int_equal(rl_log_read(log, 1, 1, 0, &batch), EIO);
    assert_int_equal(rl_log_durable_index(log), 5);
    assert_non_null(strstr(rl_log_error(log), "failed earlier"));
    rl_log_destroy(&log);
}

/* ---- Group commit ---- */

static void test_group_commit_calls_fdatasync_once_per_batch(void **state)
{
    s_world_t *world = *state;
    world->segment_size = 1 << 20;
    rl_log_t *log = s_open(world);
    rl_log_stats_t before, after;
    for (int batch = 0; batch < 5; batch++) {
        rl_log_stats(log, &before);
        int calls = s_io.fdatasync_calls;
        uint64_t first = rl_log_last_index(log) + 1;
        for (int i = 0; i < 10; i++) /* ten appends, one sync */
            assert_int_equal(s_append(log, first + (uint64_t)i * 3, 3, 1), 0);
        assert_int_equal(rl_log_durable_index(log), first - 1);
        assert_int_equal(rl_log_sync(log), 0);
        assert_int_equal(rl_log_durable_index(log), first + 29);
        rl_log_stats(log, &after);
        assert_int_equal(s_io.fdatasync_calls - calls, 1);
        assert_int_equal(after.fdatasync_calls - before.fdatasync_calls, 1);
        assert_int_equal(after.write_calls - before.write_calls, 10);
        assert_int_equal(after.group_commits - before.group_commits, 1);
    }
    /* Nothing written: nothing to sync. */
    int calls = s_io.fdatasync_calls;
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(s_io.fdatasync_calls, calls);
    rl_log_destroy(&log);
}

/* The helper thread's side of a sync. */
static void *s_sync_thread(void *arg)
{
    rl_log_sync_ticket_t *ticket = arg;
    intptr_t rc = rl_log_sync_run(ticket);
    return (void *)rc;
}

static void
test_sync_on_a_helper_thread_covers_what_was_written_at_prepare(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 30);
    rl_log_sync_ticket_t ticket;
    assert_int_equal(rl_log_sync_prepare(log, &ticket), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_sync_thread, &ticket), 0);
    s_append_steps(log, 31, 60); /* the loop keeps appending meanwhile */
    void *result;
    assert_int_equal(pthread_join(thread, &result), 0);
    assert_int_equal(rl_log_sync_finish(log, &ticket, (int)(intptr_t)result),
                     0);
    assert_int_equal(rl_log_durable_index(log), 30);
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(rl_log_durable_index(log), 60);
    rl_log_destroy(&log);
}

static void
test_truncate_during_an_outstanding_sync_caps_the_durable_index(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 30);
    assert_int_equal(rl_log_sync(log), 0);
    s_append_steps(log, 31, 50);
    rl_log_sync_ticket_t ticket;
    assert_int_equal(rl_log_sync_prepare(log, &ticket), 0);
    /* A new leader overwrites 41.. while the sync of ..50 runs. */
    assert_int_equal(rl_log_truncate(log, 41), 0);
    for (uint64_t index = 41; index <= 45; index++)
        assert_int_equal(s_append(log, index, 1, 9), 0);
    int rc = rl_log_sync_run(&ticket);
    assert_int_equal(rl_log_sync_finish(log, &ticket, rc), 0);
    assert_int_equal(rl_log_durable_index(log), 40);
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(rl_log_durable_index(log), 45);
    rl_log_destroy(&log);
}

/* ---- Snapshots ---- */

static void
test_installed_snapshot_matching_the_log_keeps_later_entries(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 100);
    rl_log_snapshot_t snapshot = {.last_index = 60,
                                  .last_term = 2,
                                  .config = (const uint8_t *)"cfg",
                                  .config_size = 3,
                                  .state = (const uint8_t *)"sessions",
                                  .state_size = 8};
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), 0);
    assert_int_equal(rl_log_last_index(log), 100);
    assert_true(rl_log_first_index(log) <= 61);
    assert_true(rl_log_first_index(log) > 1);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = s_open(world);
    assert_int_equal(rl_log_last_index(log), 100);
    rl_log_snapshot_t loaded;
    assert_int_equal(rl_log_snapshot(log, &loaded), 0);
    assert_int_equal(loaded.last_index, 60);
    assert_int_equal(loaded.last_term, 2);
    assert_int_equal(loaded.config_size, 3);
    assert_memory_equal(loaded.config, "cfg", 3);
    assert_int_equal(loaded.state_size, 8);
    assert_memory_equal(loaded.state, "sessions", 8);
    rl_log_destroy(&log);
}

static void
test_installed_snapshot_not_matching_the_log_discards_it(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 50);
    rl_log_snapshot_t snapshot = {.last_index = 45, .last_term = 7};
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), 0);
    assert_int_equal(rl_log_first_index(log), 46);
    assert_int_equal(rl_log_last_index(log), 45);
    assert_int_equal(rl_log_last_term(log), 7);
    assert_int_equal(rl_log_durable_index(log), 45);
    char path[PATH_MAX];
    assert_int_equal(s_segment_count(world), 1);
    assert_int_equal(access(s_segment_path(world, 46, path), F_OK), 0);
    assert_int_equal(s_append(log, 46, 2, 7), 0);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    log = s_open(world);
    assert_int_equal(rl_log_first_index(log), 46);
    assert_int_equal(rl_log_last_index(log), 47);
    uint64_t term;
    assert_int_equal(rl_log_term(log, 45, &term), 0);
    assert_int_equal(term, 7);
    /* A snapshot beyond the end of the log discards it too. */
    snapshot.last_index = 500;
    snapshot.last_term = 8;
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), 0);
    assert_int_equal(rl_log_first_index(log), 501);
    rl_log_destroy(&log);
}

static void test_interrupted_snapshot_install_is_finished_on_open(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 30);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    /* Write the snapshot file as the install would, then "crash" before
       the log is discarded: reopen with the snapshot but the old log. */
    s_world_t scratch = *world;
    snprintf(scratch.dir, sizeof scratch.dir, "%s/other", world->root);
    const char *other = scratch.dir;
    log = s_open(&scratch);
    rl_log_snapshot_t snapshot = {.last_index = 80, .last_term = 4};
    assert_int_equal(rl_log_install_snapshot(log, &snapshot), 0);
    rl_log_destroy(&log);
    char from[PATH_MAX + 16], to[PATH_MAX + 16];
    snprintf(from, sizeof from, "%s/snapshot", other);
    snprintf(to, sizeof to, "%s/snapshot", world->dir);
    assert_int_equal(rename(from, to), 0);
    world->warnings[0] = '\0';
    log = s_open(world);
    assert_non_null(strstr(world->warnings, "interrupted"));
    assert_int_equal(rl_log_first_index(log), 81);
    assert_int_equal(rl_log_last_index(log), 80);
    assert_int_equal(rl_log_last_term(log), 4);
    rl_log_destroy(&log);
}

static void
test_saving_a_snapshot_that_the_log_does_not_hold_is_refused(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 50);
    rl_log_snapshot_t snapshot = {.last_index = 45, .last_term = 2};
    assert_int_equal(rl_log_save_snapshot(log, &snapshot), 0);
    snapshot.last_term = 3;
    assert_int_equal(rl_log_save_snapshot(log, &snapshot), EINVAL);
    rl_log_snapshot_t saved;
    assert_int_equal(rl_log_snapshot(log, &saved), 0);
    assert_int_equal(saved.last_term, 2);
    assert_int_equal(rl_log_last_index(log), 50);
    rl_log_destroy(&log);
}

/* ---- Random operations against a model ---- */

/* The payload of (index, term) in the model test: depends on the term so
   that an entry overwritten after a truncation reads back differently. */
static size_t s_model_payload(uint64_t index, uint64_t term, uint8_t *buf)
{
    size_t size = (size_t)((index * 7 + term * 3) % 150);
    for (size_t i = 0; i < size; i++)
        buf[i] = (uint8_t)(index * 17 + term * 101 + i);
    return size;
}

/* What the log should hold. */
typedef struct {
    uint64_t first;       /* first index */
    uint64_t boundary;    /* term of first - 1 */
    uint64_t terms[4096]; /* terms[i]: term of index i (from first) */
    uint64_t last;        /* last index */
    uint64_t snapshot;    /* last index of the snapshot, 0 for none */
} s_model_t;

static void s_model_check(rl_log_t *log, const s_model_t *model,
                          rl_log_batch_t *batch)
{
    assert_int_equal(rl_log_first_index(log), model->first);
    assert_int_equal(rl_log_last_index(log), model->last);
    uint64_t term;
    assert_int_equal(rl_log_term(log, model->first - 1, &term), 0);
    assert_int_equal(term, model->boundary);
    uint8_t expected[160];
    for (uint64_t index = model->first; index <= model->last;) {
        assert_int_equal(rl_log_read(log, index, 37, 0, batch), 0);
        for (size_t i = 0; i < batch->count; i++, index++) {
            const rl_entry_t *entry = &batch->entries[i];
            assert_int_equal(entry->index, index);
            assert_int_equal(entry->term, model->terms[index]);
            size_t size = s_model_payload(index, entry->term, expected);
            assert_int_equal(entry->size, size);
            if (size)
                assert_memory_equal(entry->data, expected, size);
        }
    }
}

static void test_random_operations_match_a_model_across_reopens(void **state)
{
    s_world_t *world = *state;
    world->segment_size = 1024;
    rl_log_t *log = s_open(world);
    static s_model_t model;
    memset(&model, 0, sizeof model);
    model.first = 1;
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    /* RL_TEST_SEED=n explores other sequences; a failure replays by its
       seed. */
    const char *env = getenv("RL_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 12345;
    rl_entry_t entries[20];
    uint8_t payloads[20][160];
    for (int step = 0; step < 600; step++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        unsigned op = (unsigned)(seed >> 33) % 100;
        unsigned arg = (unsigned)(seed >> 45);
        uint64_t last_term = model.last >= model.first ? model.terms[model.last]
                                                       : model.boundary;
        if (op < 50 && model.last + 20 < 4096) { /* append */
            size_t count = 1 + arg % 20;
            uint64_t term = last_term + (arg % 7 == 0);
            for (size_t i = 0; i < count; i++) {
                uint64_t index = model.last + 1 + i;
                entries[i] = (rl_entry_t){.index = index, .term = term};
                entries[i].data = payloads[i];
                entries[i].size = s_model_payload(index, term, payloads[i]);
                model.terms[index] = term;
            }
            assert_int_equal(rl_log_append(log, entries, count), 0);
            model.last += count;
        } else if (op < 62) { /* truncate, never below the snapshot */
            uint64_t low = model.first > model.snapshot + 1
                               ? model.first
                               : model.snapshot + 1;
            if (low > model.last + 1)
                continue;
            uint64_t index = low + arg % (model.last + 2 - low);
            assert_int_equal(rl_log_truncate(log, index), 0);
            model.last = index - 1;
            if (model.snapshot >= model.first && model.snapshot < index - 1)
                assert_int_equal(rl_log_truncate(log, model.snapshot), EINVAL);
        } else if (op < 70) { /* compact */
            uint64_t index = model.first + arg % (model.last + 2 - model.first);
            assert_int_equal(rl_log_compact(log, index), 0);
            uint64_t first = rl_log_first_index(log);
            assert_true(first >= model.first && first <= model.last + 1);
            assert_true(first <= index || first == model.first);
            if (first > model.first)
                model.boundary = model.terms[first - 1];
            model.first = first;
        } else if (op < 85) { /* sync */
            assert_int_equal(rl_log_sync(log), 0);
            assert_int_equal(rl_log_durable_index(log), model.last);
        } else if (op < 95) { /* reopen */
            rl_log_destroy(&log);
            log = s_open(world);
            s_model_check(log, &model, &batch);
        } else if (model.last + 50 < 4096) { /* install a snapshot */
            bool match = arg % 2 && model.last >= model.first;
            uint64_t index =
                match ? model.first + arg % (model.last + 1 - model.first)
                      : model.last + 1 + arg % 30;
            uint64_t term = match ? model.terms[index] : last_term + 1;
            rl_log_snapshot_t snapshot = {.last_index = index,
                                          .last_term = term};
            assert_int_equal(rl_log_install_snapshot(log, &snapshot), 0);
            model.snapshot = index;
            if (match) {
                uint64_t first = rl_log_first_index(log);
                if (first > model.first)
                    model.boundary = model.terms[first - 1];
                model.first = first;
            } else {
                model.first = index + 1;
                model.last = index;
                model.boundary = term;
            }
        }
        s_model_check(log, &model, &batch);
    }
    rl_log_batch_close(&batch);
    rl_log_destroy(&log);
}

static void test_check_changes_nothing_even_with_a_torn_tail(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    rl_log_destroy(&log);
    char path[PATH_MAX];
    s_segment_path(world, 1, path);
    off_t size = s_file_size(path);
    assert_int_equal(truncate(path, size - 5), 0);
    char report[4096] = {0};
    FILE *out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(rl_log_check(world->dir, out), 0);
    fclose(out);
    assert_non_null(strstr(report, "warning:"));
    assert_non_null(strstr(report, "would truncate"));
    assert_non_null(strstr(report, "entries 1..9"));
    assert_int_equal(s_file_size(path), size - 5);
}

static void test_failed_directory_fsync_fails_the_log(void **state)
{
    s_world_t *world = *state;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 100); /* creates segments: the directory is dirty */
    s_io.match = world->dir;     /* the directory (and its files) */
    s_io.fsync_errno = EIO;      /* only fsync, which storage uses for it */
    int calls = s_io.fdatasync_calls;
    assert_int_equal(rl_log_sync(log), EIO);
    assert_true(s_io.fdatasync_calls > calls); /* segments synced fine */
    assert_non_null(strstr(rl_log_error(log), "directory"));
    s_io.fsync_errno = 0;
    assert_int_equal(rl_log_sync(log), EIO);
    assert_int_equal(s_append(log, 101, 1, 3), EIO);
    assert_int_equal(rl_log_durable_index(log), 0);
    rl_log_destroy(&log);
}

static void
test_corrupt_record_found_by_a_read_is_reported_not_returned(void **state)
{
    s_world_t *world = *state;
    world->segment_size = 1 << 20;
    rl_log_t *log = s_open(world);
    s_append_steps(log, 1, 10);
    assert_int_equal(rl_log_sync(log), 0);
    char path[PATH_MAX];
    s_flip_bit(s_segment_path(world, 1, path), 32 + 8 + 20);
    rl_log_batch_t batch;
    rl_log_batch_init(&batch);
    assert_int_equal(rl_log_read(log, 1, 5, 0, &batch), EBADMSG);
    assert_int_equal(batch.count, 0);
    assert_non_null(strstr(rl_log_error(log), "index 1"));
    assert_non_null(strstr(rl_log_error(log), path));
    assert_int_equal(rl_log_read(log, 2, 5, 0, &batch), 0);
    assert_int_equal(batch.count, 5);
    rl_log_batch_close(&batch);
    rl_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
        T(test_crc32c_software_path_matches_known_vectors),
        T(test_crc32c_hardware_path_matches_known_vectors_and_software),
        T(test_appended_entries_read_back_identical_before_and_after_reopen),
        T(test_append_rejects_gaps_and_falling_terms_and_leaves_the_log_unchanged),
        T(test_segments_roll_over_at_the_configured_size_named_by_first_index),
        T(test_truncate_removes_the_suffix_durably_and_accepts_new_entries),
        T(test_compact_drops_whole_segments_and_keeps_the_boundary_term),
        T(test_retention_index_keeps_about_the_newest_bytes_and_the_last_segment),
        T(test_append_read_truncate_compact_then_reopen_gives_same_contents),
        T(test_read_stops_at_max_entries_or_max_bytes_but_returns_at_least_one_entry),
        T(test_torn_tail_at_every_byte_offset_is_truncated_and_appends_go_on),
        T(test_zero_filled_tail_is_the_end_and_appends_go_over_it),
        T(test_spares_become_the_next_segments_and_reopen_intact),
        T(test_spare_is_written_as_zeros_in_synced_chunks),
        T(test_segment_of_zeros_left_by_a_crash_while_adopting_is_removed),
        T(test_failed_spare_is_a_warning_and_tried_after_the_next_rollover),
        T(test_bit_flip_in_the_middle_refuses_open_naming_file_offset_index),
        T(test_bit_flip_in_the_last_record_is_truncated_as_torn),
        T(test_bit_flip_in_the_last_record_of_an_older_segment_refuses_open),
        T(test_segment_torn_while_being_created_is_removed_on_open),
        T(test_check_reports_a_clean_directory_and_damage),
        T(test_hard_state_survives_reopen),
        T(test_torn_hard_state_write_leaves_the_previous_value),
        T(test_marker_of_another_node_or_a_second_writer_refuses_open),
        T(test_enospc_during_append_rolls_back_and_reports_the_errno_text),
        T(test_short_write_then_error_is_rolled_back_and_never_durable),
        T(test_failed_batch_across_a_rollover_removes_the_new_segment),
        T(test_failed_fdatasync_fails_the_log_and_every_later_write),
        T(test_group_commit_calls_fdatasync_once_per_batch),
        T(test_sync_on_a_helper_thread_covers_what_was_written_at_prepare),
        T(test_truncate_during_an_outstanding_sync_caps_the_durable_index),
        T(test_installed_snapshot_matching_the_log_keeps_later_entries),
        T(test_installed_snapshot_not_matching_the_log_discards_it),
        T(test_interrupted_snapshot_install_is_finished_on_open),
        T(test_saving_a_snapshot_that_the_log_does_not_hold_is_refused),
        T(test_random_operations_match_a_model_across_reopens),
        T(test_check_changes_nothing_even_with_a_torn_tail),
        T(test_failed_directory_fsync_fails_the_log),
        T(test_corrupt_record_found_by_a_read_is_reported_not_returned),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

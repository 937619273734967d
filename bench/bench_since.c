/*  bench_since.c - raftlog-bench since: how long finding "the first entry
    stamped at or after T" takes in a large log (a READ with from_time,
    `raftlog tail --since`), through the file log's time index.

    It builds a log of --entries entries (default 10 million, --size bytes
    of payload each, 16 by default) in --dir with the storage API, in
    batches of 4096 without syncs (one sync at the end), each entry
    stamped as a leader would: ten entries a millisecond, times never
    decreasing. A log already there with enough entries is reused
    (--keep leaves it for the next run). Then it opens the log again (as
    a restarted node does: the open reads every segment and rebuilds the
    index; its time is printed), and times --lookups lookups of random
    times between the first and the last entry's: rl_log_find_time alone,
    and followed by the read a node then makes (rl_log_read of up to 1000
    entries and 1 MiB, the default READ). Each lookup is checked: the entry
    found is stamped at or after the time, the one before it before. With
    --cold, the log's pages are dropped from the page cache before each
    lookup (posix_fadvise DONTNEED on its segment files, which touches
    nothing else on the machine), so that every record a lookup reads
    comes from the disk.
*/
#include "bench.h"

#include "rl_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_BATCH        4096
#define S_EPOCH_MS     UINT64_C(1790000000000) /* 2026-09-21 */
#define S_PER_MS       10                      /* entries a millisecond */
#define S_READ_ENTRIES 1000                    /* a default READ */
#define S_READ_BYTES   (1u << 20)

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t s_time_of(uint64_t index)
{
    return S_EPOCH_MS + index / S_PER_MS;
}

static int s_remove_one(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static rl_log_t *s_open(const char *dir)
{
    rl_log_config_t config = {
        .dir = dir, .cluster = "bench", .node_id = 1, .create = true};
    rl_log_t *log = rl_log_new(&config);
    if (!log || rl_log_open(log) != 0) {
        fprintf(stderr, "raftlog-bench since: cannot open %s: %s\n", dir,
                log ? rl_log_error(log) : "out of memory");
        rl_log_destroy(&log);
        return NULL;
    }
    return log;
}

/* Appends entries up to count, each stamped s_time_of(index). */
static int s_build(rl_log_t *log, uint64_t count, size_t size)
{
    rl_entry_t *entries = calloc(S_BATCH, sizeof(*entries));
    uint8_t *payload = calloc(1, size ? size : 1);
    if (!entries || !payload) {
        free(entries);
        free(payload);
        fprintf(stderr, "raftlog-bench since: out of memory\n");
        return 1;
    }
    double started = s_now();
    uint64_t next = rl_log_last_index(log) + 1;
    int rc = 0;
    while (rc == 0 && next <= count) {
        size_t n =
            count - next + 1 < S_BATCH ? (size_t)(count - next + 1) : S_BATCH;
        for (size_t i = 0; i < n; i++)
            entries[i] = (rl_entry_t){.index = next + i,
                                      .term = 1,
                                      .type = RL_ENTRY_NORMAL,
                                      .data = payload,
                                      .size = size,
                                      .time = s_time_of(next + i)};
        rc = rl_log_append(log, entries, n);
        next += n;
    }
    if (rc == 0)
        rc = rl_log_sync(log);
    if (rc != 0)
        fprintf(stderr, "raftlog-bench since: building the log: %s\n",
                rl_log_error(log));
    else
        printf("built: %" PRIu64 " entries of %zu bytes in %.1f s\n", count,
               size, s_now() - started);
    free(entries);
    free(payload);
    return rc ? 1 : 0;
}

static int s_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void s_report(const char *what, double *us, size_t count)
{
    qsort(us, count, sizeof(double), s_compare);
    double sum = 0;
    for (size_t i = 0; i < count; i++)
        sum += us[i];
    printf("%-40s p50 %8.1f us  p99 %8.1f us  max %8.1f us  mean %8.1f us\n",
           what, us[count / 2], us[count * 99 / 100], us[count - 1],
           sum / (double)count);
}

/* Drops the pages of dir's segment files from the page cache (they are
   synced: clean pages only). */
static void s_drop_cache(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            close(fd);
        }
    }
    if (d)
        closedir(d);
}

/* Times lookups of random times; checks each answer. */
static int s_lookups(rl_log_t *log, size_t lookups, unsigned seed,
                     const char *cold)
{
    uint64_t first_time = rl_log_first_time(log);
    uint64_t last_time = rl_log_last_time(log);
    double *find_us = calloc(lookups, sizeof(double));
    double *read_us = calloc(lookups, sizeof(double));
    rl_log_batch_t batch, check;
    rl_log_batch_init(&batch);
    rl_log_batch_init(&check);
    int rc = find_us && read_us ? 0 : 1;
    srand(seed);
    for (size_t k = 0; rc == 0 && k < lookups; k++) {
        uint64_t span = last_time - first_time + 1;
        uint64_t t =
            first_time + ((uint64_t)rand() << 31 ^ (uint64_t)rand()) % span;
        uint64_t index = 0;
        if (cold)
            s_drop_cache(cold);
        double started = s_now();
        rc = rl_log_find_time(log, t, &index);
        double found = s_now();
        if (rc == 0 && index <= rl_log_last_index(log))
            rc = rl_log_read(log, index, S_READ_ENTRIES, S_READ_BYTES, &batch);
        double read = s_now();
        find_us[k] = (found - started) * 1e6;
        read_us[k] = (read - started) * 1e6;
        /* The answer: stamped at or after t, the entry before it before. */
        if (rc == 0 && (batch.count == 0 || batch.entries[0].time < t))
            rc = EINVAL;
        if (rc == 0 && index > rl_log_first_index(log) &&
            (rl_log_read(log, index - 1, 1, 0, &check) != 0 ||
             check.entries[0].time >= t))
            rc = EINVAL;
        if (rc)
            fprintf(stderr,
                    "raftlog-bench since: lookup of %" PRIu64 " gave index "
                    "%" PRIu64 ": %s\n",
                    t, index, rc == EINVAL ? "wrong" : rl_log_error(log));
    }
    if (rc == 0) {
        printf("%zu lookups of random times in [%" PRIu64 ", %" PRIu64
               "], every answer checked%s:\n",
               lookups, first_time, last_time,
               cold ? ", the log's pages dropped from the cache before each"
                    : "");
        s_report("rl_log_find_time", find_us, lookups);
        s_report("rl_log_find_time + rl_log_read (READ)", read_us, lookups);
    }
    rl_log_batch_close(&batch);
    rl_log_batch_close(&check);
    free(find_us);
    free(read_us);
    return rc ? 1 : 0;
}

int bench_since(int argc, char **argv)
{
    const char *dir = "/tmp/raftlog-bench-since";
    uint64_t entries = 10000000;
    size_t size = 16, lookups = 1000;
    bool keep = false, cold = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--entries") == 0 && i + 1 < argc)
            entries = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            size = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--lookups") == 0 && i + 1 < argc)
            lookups = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--keep") == 0)
            keep = true;
        else if (strcmp(argv[i], "--cold") == 0)
            cold = true;
        else {
            fprintf(i + 1 < argc && strcmp(argv[i], "--help") ? stderr : stdout,
                    "usage: raftlog-bench since [--dir D] [--entries N] "
                    "[--size B] [--lookups K] [--keep] [--cold]\n"
                    "  builds (or reuses) a log of N entries (default "
                    "10000000) of B bytes (16) in D\n"
                    "  (default /tmp/raftlog-bench-since), reopens it and "
                    "times K (1000) lookups\n  by time; --keep leaves the "
                    "log for the next run\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (entries == 0 || lookups == 0 || size > RL_MAX_ENTRY_SIZE) {
        fprintf(stderr, "raftlog-bench since: --entries and --lookups must "
                        "be 1 or more, --size at most 1 MiB\n");
        return 2;
    }
    rl_log_t *log = s_open(dir);
    if (!log)
        return 1;
    int rc = rl_log_last_index(log) < entries ? s_build(log, entries, size) : 0;
    rl_log_destroy(&log);
    if (rc == 0) {
        double started = s_now();
        log = s_open(dir);
        if (!log)
            rc = 1;
        else
            printf("reopened: %" PRIu64 " entries in %zu segments, %.1f MB, "
                   "in %.2f s (every record read and checked)\n",
                   rl_log_last_index(log), rl_log_segment_count(log),
                   (double)rl_log_bytes(log) / 1e6, s_now() - started);
    }
    if (rc == 0)
        rc = s_lookups(log, lookups, 17, cold ? dir : NULL);
    rl_log_destroy(&log);
    if (!keep)
        nftw(dir, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

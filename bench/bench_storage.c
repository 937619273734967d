/*  bench_storage.c - raftlog-bench storage: how fast the file log appends
    with group commit, next to what the same disk does raw in the same run.

    For entries of 100 bytes and 4 KiB, and batches of 1, 16, 256 and 4096
    entries, it appends one batch and syncs it (rl_log_append +
    rl_log_sync, as a node does once per event-loop turn) in a fresh log
    under --dir. The raw baselines use plain pwrite + fdatasync on one file
    of the same directory:
      - fdatasync rate: append 100 bytes, fdatasync, repeat;
      - sequential bandwidth: append 4 MiB, fdatasync, repeat;
      - per case, the same bytes per sync as the log writes per batch: the
        fair ceiling, so "log vs raw" is the log's own overhead.
    A last table runs the pipelined pattern of the node: appends continue
    while a helper thread runs rl_log_sync_run.

    Virtual disks change speed from second to second, so the two sides of
    each comparison alternate in quarter-second slices, each on a fresh
    file (setup and cleanup untimed); --seconds is the total per side.
    Everything written is removed.
*/
#include "bench.h"

#include "rl_crc32c.h"
#include "rl_log.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Bytes of each raw bandwidth write. */
#define RAW_CHUNK (4u << 20)

/* What one case measured. */
typedef struct {
    double seconds;   /* elapsed */
    uint64_t entries; /* entries appended (raw: writes) */
    uint64_t payload; /* payload bytes */
    uint64_t written; /* bytes written to the file, framing included */
    uint64_t syncs;   /* fdatasync calls */
} s_result_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_add(s_result_t *total, const s_result_t *slice)
{
    total->seconds += slice->seconds;
    total->entries += slice->entries;
    total->payload += slice->payload;
    total->written += slice->written;
    total->syncs += slice->syncs;
}

static int s_remove_one(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void s_remove_tree(const char *path)
{
    nftw(path, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Appends batches of batch entries of size bytes for seconds. */
static int s_run_log(const char *root, size_t size, size_t batch,
                     double seconds, s_result_t *result)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/log-%zu-%zu", root, size, batch);
    s_remove_tree(dir);
    rl_log_config_t config = {
        .dir = dir, .cluster = "bench", .node_id = 1, .create = true};
    rl_log_t *log = rl_log_new(&config);
    rl_entry_t *entries = calloc(batch, sizeof *entries);
    uint8_t *payload = malloc(size);
    if (!log || !entries || !payload) {
        fprintf(stderr, "raftlog-bench: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < size; i++)
        payload[i] = (uint8_t)(i * 31 + 7);
    int rc = rl_log_open(log);
    memset(result, 0, sizeof *result);
    uint64_t next = 1;
    double start = s_now(), now = start;
    while (rc == 0 && now - start < seconds) {
        for (size_t i = 0; i < batch; i++) {
            entries[i].index = next + i;
            entries[i].term = 1;
            entries[i].producer_id = 1;
            entries[i].seq = next;
            entries[i].data = payload;
            entries[i].size = size;
        }
        rc = rl_log_append(log, entries, batch);
        if (rc == 0)
            rc = rl_log_sync(log);
        next += batch;
        now = s_now();
    }
    if (rc != 0)
        fprintf(stderr, "raftlog-bench: %s\n", rl_log_error(log));
    rl_log_stats_t stats;
    rl_log_stats(log, &stats);
    result->seconds = now - start;
    result->entries = stats.appends;
    result->payload = stats.appends * size;
    result->written = stats.bytes_written;
    result->syncs = stats.group_commits;
    rl_log_destroy(&log);
    free(entries);
    free(payload);
    s_remove_tree(dir);
    return rc == 0 ? 0 : 1;
}

/* The helper thread of the pipelined case: runs the tickets it is handed,
   as the node's sync thread does. */
typedef struct {
    pthread_mutex_t lock;         /* guards the fields below */
    pthread_cond_t changed;       /* signalled on every change */
    rl_log_sync_ticket_t *ticket; /* to run; NULL when idle */
    bool done;                    /* the ticket ran; rc is its result */
    int rc;                       /* rl_log_sync_run's result */
    bool stop;                    /* the thread should exit */
} s_syncer_t;

static void *s_syncer_run(void *arg)
{
    s_syncer_t *syncer = arg;
    pthread_mutex_lock(&syncer->lock);
    while (!syncer->stop) {
        if (!syncer->ticket || syncer->done) {
            pthread_cond_wait(&syncer->changed, &syncer->lock);
            continue;
        }
        rl_log_sync_ticket_t *ticket = syncer->ticket;
        pthread_mutex_unlock(&syncer->lock);
        int rc = rl_log_sync_run(ticket);
        pthread_mutex_lock(&syncer->lock);
        syncer->rc = rc;
        syncer->done = true;
        pthread_cond_broadcast(&syncer->changed);
    }
    pthread_mutex_unlock(&syncer->lock);
    return NULL;
}

/* Pipelined group commit: the loop keeps appending batches while the
   helper thread syncs the previous ones, with at most window entries
   written but not yet durable (the back-pressure a node applies). Counts
   only what became durable. */
static int s_run_pipelined(const char *root, size_t size, size_t batch,
                           uint64_t window, double seconds, s_result_t *result)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/pipe-%zu-%zu", root, size, batch);
    s_remove_tree(dir);
    rl_log_config_t config = {
        .dir = dir, .cluster = "bench", .node_id = 1, .create = true};
    rl_log_t *log = rl_log_new(&config);
    rl_entry_t *entries = calloc(batch, sizeof *entries);
    uint8_t *payload = calloc(1, size);
    if (!log || !entries || !payload || rl_log_open(log) != 0) {
        fprintf(stderr, "raftlog-bench: %s\n",
                log ? rl_log_error(log) : "out of memory");
        return 1;
    }
    s_syncer_t syncer = {.lock = PTHREAD_MUTEX_INITIALIZER,
                         .changed = PTHREAD_COND_INITIALIZER};
    pthread_t thread;
    pthread_create(&thread, NULL, s_syncer_run, &syncer);
    rl_log_sync_ticket_t ticket;
    bool outstanding = false;
    int rc = 0;
    uint64_t next = 1;
    memset(result, 0, sizeof *result);
    double start = s_now(), now = start;
    while (rc == 0) {
        bool stopping = now - start >= seconds;
        bool room = rl_log_last_index(log) - rl_log_durable_index(log) < window;
        if (!stopping && room) {
            for (size_t i = 0; i < batch; i++)
                entries[i] = (rl_entry_t){.index = next + i,
                                          .term = 1,
                                          .data = payload,
                                          .size = size};
            rc = rl_log_append(log, entries, batch);
            next += batch;
        }
        pthread_mutex_lock(&syncer.lock);
        if (outstanding && (syncer.done || !room || stopping)) {
            while (!syncer.done)
                pthread_cond_wait(&syncer.changed, &syncer.lock);
            syncer.ticket = NULL;
            syncer.done = false;
            outstanding = false;
            pthread_mutex_unlock(&syncer.lock);
            if (rc == 0)
                rc = rl_log_sync_finish(log, &ticket, syncer.rc);
            else
                rl_log_sync_finish(log, &ticket, syncer.rc);
            pthread_mutex_lock(&syncer.lock);
        }
        if (rc == 0 && !outstanding &&
            rl_log_durable_index(log) < rl_log_last_index(log)) {
            rc = rl_log_sync_prepare(log, &ticket);
            if (rc == 0) {
                syncer.ticket = &ticket;
                outstanding = true;
                pthread_cond_broadcast(&syncer.changed);
            }
        }
        pthread_mutex_unlock(&syncer.lock);
        now = s_now();
        if (stopping && !outstanding &&
            rl_log_durable_index(log) == rl_log_last_index(log))
            break;
    }
    pthread_mutex_lock(&syncer.lock);
    syncer.stop = true;
    pthread_cond_broadcast(&syncer.changed);
    pthread_mutex_unlock(&syncer.lock);
    pthread_join(thread, NULL);
    if (rc != 0)
        fprintf(stderr, "raftlog-bench: %s\n", rl_log_error(log));
    rl_log_stats_t stats;
    rl_log_stats(log, &stats);
    result->seconds = now - start;
    result->entries = rl_log_durable_index(log);
    result->payload = result->entries * size;
    result->written = stats.bytes_written;
    result->syncs = stats.group_commits;
    rl_log_destroy(&log);
    free(entries);
    free(payload);
    s_remove_tree(dir);
    return rc == 0 ? 0 : 1;
}

/* Raw baseline: appends chunk bytes then fdatasync, for seconds. */
static int s_run_raw(const char *root, size_t chunk, double seconds,
                     s_result_t *result)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/raw-%zu", root, chunk);
    uint8_t *buf = malloc(chunk);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (!buf || fd < 0) {
        fprintf(stderr, "raftlog-bench: cannot create %s: %s\n", path,
                strerror(errno));
        free(buf);
        return 1;
    }
    for (size_t i = 0; i < chunk; i++)
        buf[i] = (uint8_t)(i * 13 + 1);
    memset(result, 0, sizeof *result);
    /* The file's creation is synced outside the timed loop, as the log's
       segment creation is (rarely) part of its loop. */
    fsync(fd);
    double start = s_now(), now = start;
    int rc = 0;
    while (now - start < seconds) {
        if (pwrite(fd, buf, chunk, (off_t)result->written) != (ssize_t)chunk ||
            fdatasync(fd) != 0) {
            fprintf(stderr, "raftlog-bench: raw write to %s: %s\n", path,
                    strerror(errno));
            rc = 1;
            break;
        }
        result->entries++;
        result->written += chunk;
        result->syncs++;
        now = s_now();
    }
    result->seconds = now - start;
    result->payload = result->written;
    close(fd);
    unlink(path);
    free(buf);
    return rc;
}

static const char *s_fs_name(const char *dir)
{
    struct statfs st;
    if (statfs(dir, &st) != 0)
        return "unknown";
    switch ((unsigned long)st.f_type) {
    case 0xEF53:
        return "ext2/3/4";
    case 0x58465342:
        return "xfs";
    case 0x9123683E:
        return "btrfs";
    case 0x01021994:
        return "tmpfs (fdatasync is free: numbers mean nothing)";
    case 0x794C7630:
        return "overlayfs";
    default:
        return "other";
    }
}

static void s_machine(FILE *out, const char *dir)
{
    struct utsname uts;
    uname(&uts);
    char model[256] = "unknown";
    FILE *cpu = fopen("/proc/cpuinfo", "r");
    if (cpu) {
        char line[512];
        while (fgets(line, sizeof line, cpu))
            if (strncmp(line, "model name", 10) == 0) {
                char *colon = strchr(line, ':');
                if (colon)
                    snprintf(model, sizeof model, "%s", colon + 2);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        fclose(cpu);
    }
    fprintf(out,
            "machine: %s %s, %s, %ld CPUs; filesystem of %s: %s; CRC32C: "
            "%s\n",
            uts.sysname, uts.release, model, sysconf(_SC_NPROCESSORS_ONLN), dir,
            s_fs_name(dir),
            rl_crc32c_hardware_available() ? "SSE4.2 instruction"
                                           : "software (slicing-by-8)");
}

static void s_usage(FILE *out)
{
    fprintf(
        out,
        "usage: raftlog-bench storage [--dir D] [--seconds S]\n"
        "  --dir D       where to write (default ./raftlog-bench.tmp); "
        "must be on the\n"
        "                disk to measure, not tmpfs; removed afterwards\n"
        "  --seconds S   duration of each of the 11 comparisons (default 1)\n");
}

int bench_storage(int argc, char **argv)
{
    const char *dir = "./raftlog-bench.tmp";
    double seconds = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "raftlog-bench storage: unknown option '%s'\n",
                    argv[i]);
            s_usage(stderr);
            return 2;
        }
    }
    if (seconds <= 0) {
        fprintf(stderr, "raftlog-bench storage: --seconds must be > 0\n");
        return 2;
    }
    bool made = mkdir(dir, 0755) == 0;
    if (!made && errno != EEXIST) {
        fprintf(stderr, "raftlog-bench storage: cannot create %s: %s\n", dir,
                strerror(errno));
        return 1;
    }
    s_machine(stdout, dir);

    /* The disk of a shared or virtual machine changes speed from one
       second to the next, so each comparison interleaves its two sides in
       slices of a quarter second (setup and cleanup untimed) rather than
       running one after the other. */
    double slice = seconds < 0.25 ? seconds : 0.25;
    int rounds = (int)(seconds / slice + 0.5);
    s_result_t sync_rate = {0}, bandwidth = {0}, r;
    for (int round = 0; round < rounds; round++) {
        if (s_run_raw(dir, 100, slice, &r))
            return 1;
        s_add(&sync_rate, &r);
        if (s_run_raw(dir, RAW_CHUNK, slice, &r))
            return 1;
        s_add(&bandwidth, &r);
    }
    double raw_syncs = (double)sync_rate.syncs / sync_rate.seconds;
    double raw_mb = (double)bandwidth.written / bandwidth.seconds / 1e6;
    printf("raw disk: %.0f fdatasync/s (100-byte append + fdatasync); "
           "%.1f MB/s sequential (4 MiB append + fdatasync)\n\n",
           raw_syncs, raw_mb);
    printf("| entry | batch | appends/s | payload MB/s | written MB/s | "
           "fsyncs/s | raw fsyncs/s, same bytes | log vs raw |\n");
    printf("|------:|------:|----------:|-------------:|-------------:|"
           "---------:|-------------------------:|-----------:|\n");
    static const size_t sizes[] = {100, 4096};
    static const size_t batches[] = {1, 16, 256, 4096};
    for (size_t s = 0; s < 2; s++)
        for (size_t b = 0; b < 4; b++) {
            /* The fair ceiling for this case: the same bytes per sync,
               written raw (one pwrite of a batch's records + fdatasync). */
            size_t batch_bytes = batches[b] * (49 + sizes[s]); /* 8 + 41 */
            s_result_t log = {0}, raw = {0};
            for (int round = 0; round < rounds; round++) {
                if (s_run_log(dir, sizes[s], batches[b], slice, &r))
                    return 1;
                s_add(&log, &r);
                if (s_run_raw(dir, batch_bytes, slice, &r))
                    return 1;
                s_add(&raw, &r);
            }
            double syncs = (double)log.syncs / log.seconds;
            double raw_same = (double)raw.syncs / raw.seconds;
            printf("| %5s | %5zu | %9.0f | %12.1f | %12.1f | %8.0f | "
                   "%24.0f | %9.0f%% |\n",
                   sizes[s] == 100 ? "100 B" : "4 KiB", batches[b],
                   (double)log.entries / log.seconds,
                   (double)log.payload / log.seconds / 1e6,
                   (double)log.written / log.seconds / 1e6, syncs, raw_same,
                   100 * syncs / raw_same);
            fflush(stdout);
        }
    printf("\npipelined: batches of 256 appended while a helper thread "
           "syncs (rl_log_sync_prepare/run/finish), at most 64 batches "
           "not yet durable; vs raw 4 MiB sequential bandwidth measured in "
           "alternate slices\n\n");
    printf("| entry | durable entries/s | payload MB/s | written MB/s | "
           "fsyncs/s | entries per fsync | raw MB/s | vs raw |\n");
    printf("|------:|------------------:|-------------:|-------------:|"
           "---------:|------------------:|---------:|-------:|\n");
    for (size_t s = 0; s < 2; s++) {
        s_result_t pipe = {0}, raw = {0};
        for (int round = 0; round < rounds; round++) {
            if (s_run_pipelined(dir, sizes[s], 256, 64 * 256, slice, &r))
                return 1;
            s_add(&pipe, &r);
            if (s_run_raw(dir, RAW_CHUNK, slice, &r))
                return 1;
            s_add(&raw, &r);
        }
        double written = (double)pipe.written / pipe.seconds / 1e6;
        double raw_written = (double)raw.written / raw.seconds / 1e6;
        printf("| %5s | %17.0f | %12.1f | %12.1f | %8.0f | %17.0f | %8.1f | "
               "%5.0f%% |\n",
               sizes[s] == 100 ? "100 B" : "4 KiB",
               (double)pipe.entries / pipe.seconds,
               (double)pipe.payload / pipe.seconds / 1e6, written,
               (double)pipe.syncs / pipe.seconds,
               pipe.syncs ? (double)pipe.entries / (double)pipe.syncs : 0.0,
               raw_written, 100 * written / raw_written);
        fflush(stdout);
    }
    if (made)
        rmdir(dir);
    return 0;
}

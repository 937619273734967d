/*  storage_fixture.h - what the storage tests share: a fault-injecting
    rl_io_t, one mkdtemp directory per test, and helpers that write and
    check entries whose payload follows from their index.

    Every test works in its own mkdtemp directory, removed at the end.
    Failures are injected through an rl_io_t that wraps libc and can fail
    or shorten writes and syncs on files whose path contains a given
    string; it also counts fdatasync calls, so group commit is asserted.
*/
#ifndef STORAGE_FIXTURE_H
#define STORAGE_FIXTURE_H

#include "rl_log.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* cmocka's registration of a test with the fixture. */
#define STORAGE_TEST(name)                                                     \
    cmocka_unit_test_setup_teardown(name, storage_setup, storage_teardown)

/* One test's world. */
typedef struct {
    char root[64];         /* the mkdtemp directory */
    char dir[96];          /* the data directory inside it */
    char warnings[8192];   /* warnings received, one per line */
    uint64_t segment_size; /* for storage_open */
} storage_world_t;

/* What the injected io does; reset before every test. */
typedef struct {
    char paths[1024][PATH_MAX]; /* path of each open fd, to filter faults */
    const char *match;          /* faults only on paths containing this */
    int pwrite_countdown;       /* pwrites that succeed before faults; -1 */
    int pwrite_errno;           /* errno of a failing pwrite */
    bool pwrite_short;          /* the first faulty pwrite writes half */
    int fdatasync_errno;        /* errno of fdatasync, 0 for success */
    int fsync_errno;            /* errno of fsync, 0 for success */
    int fdatasync_calls;        /* fdatasync calls on any file */
    int fsync_calls;            /* fsync calls (directories) */
    int syncfs_errno;           /* errno of syncfs (any fd), 0: success */
    int syncfs_calls;           /* syncfs calls */
    uint64_t pread_bytes;       /* bytes read by pread, any file */
} storage_io_t;
extern storage_io_t storage_io;

/* An rl_io_t over libc that injects what storage_io says. */
extern const rl_io_t storage_faulty_io;

/* cmocka set-up: a fresh mkdtemp directory and a reset storage_io. */
int storage_setup(void **state);

/* cmocka tear-down: removes the directory and everything in it. */
int storage_teardown(void **state);

/* The configuration of the world's log: cluster "alpha", node 1,
   create, the faulty io, warnings gathered in world->warnings. */
rl_log_config_t storage_config(storage_world_t *world);

/* Opens the world's log; fails the test if it cannot. */
rl_log_t *storage_open(storage_world_t *world);

/* Opens expecting failure; returns the code, message in message. */
int storage_open_fails(storage_world_t *world, char *message, size_t size);

/* The payload of entry index: size bytes derived from the index, so that
   a read can be checked without remembering what was written. */
size_t storage_payload(uint64_t index, uint8_t *buf);

/* The time entry index is stamped with by storage_append: two entries a
   second from STORAGE_EPOCH_MS (2023-11-14), so that neighbours share a
   time and times never decrease. */
#define STORAGE_EPOCH_MS UINT64_C(1700000000000)
uint64_t storage_time(uint64_t index);

/* Appends count entries from first with term, storage_payload data and
   storage_time times; returns rl_log_append's code. */
int storage_append(rl_log_t *log, uint64_t first, size_t count, uint64_t term);

/* Asserts the log holds exactly [first, last] with the expected payloads,
   times and term for every index (term_of(index)). */
void storage_assert_contents(rl_log_t *log, uint64_t first, uint64_t last,
                             uint64_t (*term_of)(uint64_t));

/* Terms 1 for 1..40, 2 for 41..70, 3 after. */
uint64_t storage_term_steps(uint64_t index);

/* Appends first..last one at a time with storage_term_steps terms. */
void storage_append_steps(rl_log_t *log, uint64_t first, uint64_t last);

/* The path of the segment starting at first (path: PATH_MAX bytes). */
char *storage_segment_path(storage_world_t *world, uint64_t first, char *path);

/* Segment files starting at indexes 1 to 400. */
size_t storage_segment_count(storage_world_t *world);

/* The size of path, which must exist. */
off_t storage_file_size(const char *path);

/* Flips one bit of the byte at offset in path. */
void storage_flip_bit(const char *path, off_t offset);

#endif

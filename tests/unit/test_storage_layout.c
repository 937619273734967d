/*  test_storage_layout.c - the named-logs layout of a data directory
    (node/storage/rl_layout*.c): names, the upgrade of a single-log
    directory, creation and deletion of a log's directory, the max-group
    file, the marker of each log, permissions, the lock, and the check of
    either layout.

    Crashes are simulated by an rl_io_t that lets only the first k calls
    that change the disk (an open for writing, pwrite, fdatasync, fsync,
    rename, unlink) through and fails every later one: the operation stops
    after step k, as if the node died there. The next rl_layout_prepare
    with libc must then reach one of the two allowed states, for every k.
*/
#include "rl_layout.h"
#include "storage_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

/* ---- A disk that stops after k changes ---- */

static int s_budget = -1; /* changes still allowed; -1: no limit */
static int s_changes;     /* changes made */

static bool s_change(void)
{
    if (s_budget == 0) {
        errno = EIO;
        return false;
    }
    if (s_budget > 0)
        s_budget--;
    s_changes++;
    return true;
}

static int s_open(const char *path, int flags, mode_t mode)
{
    if ((flags & (O_WRONLY | O_RDWR | O_CREAT)) && !s_change())
        return -1;
    return open(path, flags, mode);
}

static ssize_t s_pwrite(int fd, const void *buf, size_t size, off_t offset)
{
    return s_change() ? pwrite(fd, buf, size, offset) : -1;
}

static int s_fdatasync(int fd)
{
    return s_change() ? fdatasync(fd) : -1;
}

static int s_fsync(int fd)
{
    return s_change() ? fsync(fd) : -1;
}

static int s_rename(const char *from, const char *to)
{
    return s_change() ? rename(from, to) : -1;
}

static int s_unlink(const char *path)
{
    return s_change() ? unlink(path) : -1;
}

static const rl_io_t s_crashing_io = {
    .open = s_open,
    .close = close,
    .pwrite = s_pwrite,
    .pread = pread,
    .fdatasync = s_fdatasync,
    .fsync = s_fsync,
    .ftruncate = ftruncate,
    .rename = s_rename,
    .unlink = s_unlink,
    .dup = dup,
};

/* Lets k changes through from now on (-1: all). */
static void s_crash_after(int k)
{
    s_budget = k;
    s_changes = 0;
}

/* ---- Helpers ---- */

static char s_err[RL_LAYOUT_ERROR_SIZE];

static char *s_path(char *buf, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(buf, PATH_MAX, format, args);
    va_end(args);
    return buf;
}

static bool s_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static mode_t s_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Entries of dir, not . and ..; 0 when it does not exist. */
static size_t s_entries(const char *dir)
{
    DIR *listing = opendir(dir);
    size_t count = 0;
    struct dirent *entry;
    while (listing && (entry = readdir(listing)) != NULL)
        count +=
            strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
    if (listing)
        closedir(listing);
    return count;
}

static void s_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void s_read_text(const char *path, char *text, size_t size)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, size - 1, f);
    text[n] = '\0';
    fclose(f);
}

/* A log of cluster "alpha" node 1 in dir, 4 KiB segments, libc io. */
static rl_log_t *s_log_open(const char *dir)
{
    rl_log_config_t config = {.dir = dir,
                              .cluster = "alpha",
                              .node_id = 1,
                              .segment_size = 4096,
                              .create = true};
    rl_log_t *log = rl_log_new(&config);
    assert_non_null(log);
    int rc = rl_log_open(log);
    if (rc != 0)
        fail_msg("open %s: %s", dir, rl_log_error(log));
    return log;
}

static const uint8_t s_config_blob[] = "members";
static const uint8_t s_state_blob[] = "sessions";

/* What a node of today leaves in its data directory: segments (entries
   1..120 over several segments), a hard state, a snapshot, the marker,
   plus a file of the operator's that must stay where it is. */
static void s_make_single_log(const char *dir)
{
    rl_log_t *log = s_log_open(dir);
    storage_append_steps(log, 1, 120);
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(rl_log_set_hard_state(log, 3, 2), 0);
    rl_log_snapshot_t snapshot = {.last_index = 50,
                                  .last_term = storage_term_steps(50),
                                  .config = s_config_blob,
                                  .config_size = sizeof s_config_blob,
                                  .state = s_state_blob,
                                  .state_size = sizeof s_state_blob};
    assert_int_equal(rl_log_save_snapshot(log, &snapshot), 0);
    assert_true(rl_log_segment_count(log) > 3);
    rl_log_destroy(&log);
    char path[PATH_MAX];
    s_write_text(s_path(path, "%s/notes.txt", dir), "the operator's\n");
}

/* The log of s_make_single_log, whole, in dir. */
static void s_assert_single_log(const char *dir)
{
    rl_log_t *log = s_log_open(dir);
    storage_assert_contents(log, 1, 120, storage_term_steps);
    uint64_t term, vote;
    rl_log_hard_state(log, &term, &vote);
    assert_int_equal(term, 3);
    assert_int_equal(vote, 2);
    rl_log_snapshot_t snapshot;
    assert_int_equal(rl_log_snapshot(log, &snapshot), 0);
    assert_int_equal(snapshot.last_index, 50);
    assert_int_equal(snapshot.state_size, sizeof s_state_blob);
    assert_memory_equal(snapshot.state, s_state_blob, sizeof s_state_blob);
    rl_log_destroy(&log);
}

/* A DATA already upgraded: the whole log in logs/default, the v2 marker,
   the operator's file still at the top, nothing left in between. */
static void s_assert_upgraded(const char *data)
{
    char path[PATH_MAX], text[512];
    assert_false(s_exists(s_path(path, "%s/logs.new", data)));
    assert_false(s_exists(s_path(path, "%s/hardstate", data)));
    assert_false(s_exists(s_path(path, "%s/snapshot", data)));
    assert_false(s_exists(s_path(path, "%s/00000000000000000001.log", data)));
    assert_true(s_exists(s_path(path, "%s/notes.txt", data)));
    s_read_text(s_path(path, "%s/raftlog.id", data), text, sizeof text);
    assert_non_null(strstr(text, "raftlog data directory v2\n"));
    rl_layout_log_t *logs;
    size_t count;
    assert_int_equal(rl_layout_list(data, &logs, &count, s_err, sizeof s_err),
                     0);
    assert_int_equal(count, 1);
    assert_string_equal(logs[0].name, "default");
    assert_int_equal(logs[0].group, 0);
    free(logs);
    s_assert_single_log(s_path(path, "%s/logs/default", data));
}

static void s_prepare_ok(const char *data)
{
    int rc = rl_layout_prepare(data, s_err, sizeof s_err);
    if (rc != 0)
        fail_msg("prepare %s: %s", data, s_err);
}

static void s_create_ok(const char *data, const char *name, uint64_t group)
{
    int rc = rl_layout_create_log(data, name, group, s_err, sizeof s_err);
    if (rc != 0)
        fail_msg("create %s: %s", name, s_err);
}

static uint64_t s_max_group(const char *data)
{
    uint64_t max = 99999;
    int rc = rl_layout_max_group(data, &max, s_err, sizeof s_err);
    if (rc != 0)
        fail_msg("max group: %s", s_err);
    return max;
}

/* The group of log name in DATA, or -1 when it is not listed. */
static int64_t s_listed(const char *data, const char *name)
{
    rl_layout_log_t *logs;
    size_t count;
    int rc = rl_layout_list(data, &logs, &count, s_err, sizeof s_err);
    if (rc != 0)
        fail_msg("list: %s", s_err);
    int64_t group = -1;
    for (size_t i = 0; i < count; i++)
        if (strcmp(logs[i].name, name) == 0)
            group = (int64_t)logs[i].group;
    free(logs);
    return group;
}

/* ---- Names and paths ---- */

static void
test_names_are_lowercase_digits_dot_underscore_dash_up_to_64(void **state)
{
    (void)state;
    char longest[66];
    memset(longest, 'a', 64);
    longest[64] = '\0';
    assert_true(rl_layout_name_valid("default"));
    assert_true(rl_layout_name_valid("orders.eu-west_2"));
    assert_true(rl_layout_name_valid("..."));
    assert_true(rl_layout_name_valid(".hidden"));
    assert_true(rl_layout_name_valid(longest));
    longest[64] = 'a';
    longest[65] = '\0';
    assert_false(rl_layout_name_valid(longest));
    assert_false(rl_layout_name_valid(""));
    assert_false(rl_layout_name_valid(NULL));
    assert_false(rl_layout_name_valid("."));
    assert_false(rl_layout_name_valid(".."));
    assert_false(rl_layout_name_valid("Orders"));
    assert_false(rl_layout_name_valid("a/b"));
    assert_false(rl_layout_name_valid("a b"));
    assert_false(rl_layout_name_valid("caf\xc3\xa9"));
}

static void test_a_log_directory_is_data_logs_name(void **state)
{
    (void)state;
    char path[64];
    assert_int_equal(rl_layout_log_dir("/d", "orders", path, sizeof path), 0);
    assert_string_equal(path, "/d/logs/orders");
    assert_int_equal(rl_layout_log_dir("/d", "..", path, sizeof path), EINVAL);
    assert_int_equal(rl_layout_log_dir("/d", "a/b", path, sizeof path), EINVAL);
    assert_int_equal(rl_layout_log_dir("/d", "orders", path, 10), ENAMETOOLONG);
}

static void
test_bad_names_and_groups_are_refused_with_nothing_created(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    assert_int_equal(
        rl_layout_create_log(world->dir, "..", 3, s_err, sizeof s_err), EINVAL);
    assert_non_null(strstr(s_err, "bad log name"));
    assert_int_equal(
        rl_layout_create_log(world->dir, "Orders", 3, s_err, sizeof s_err),
        EINVAL);
    /* group 0 is default's, and default is group 0 */
    assert_int_equal(
        rl_layout_create_log(world->dir, "orders", 0, s_err, sizeof s_err),
        EINVAL);
    assert_int_equal(
        rl_layout_create_log(world->dir, "default", 4, s_err, sizeof s_err),
        EINVAL);
    assert_int_equal(
        rl_layout_delete_log(world->dir, "default", 0, s_err, sizeof s_err),
        EINVAL);
    char path[PATH_MAX];
    assert_int_equal(s_entries(s_path(path, "%s/logs", world->dir)), 0);
}

/* ---- A new data directory ---- */

static void
test_prepare_makes_a_new_data_directory_in_the_named_layout(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    assert_string_equal(s_err, "");
    char path[PATH_MAX], text[512];
    assert_true(s_exists(s_path(path, "%s/logs", world->dir)));
    s_read_text(s_path(path, "%s/raftlog.id", world->dir), text, sizeof text);
    assert_non_null(strstr(text, "raftlog data directory v2\n"));
    assert_int_equal(s_max_group(world->dir), 0);
    assert_int_equal(s_listed(world->dir, "default"), -1);
    /* again: nothing to do */
    s_prepare_ok(world->dir);
    assert_string_equal(s_err, "");
    /* the default log is created like any other */
    s_create_ok(world->dir, "default", 0);
    assert_int_equal(s_listed(world->dir, "default"), 0);
}

static void
test_a_build_from_before_named_logs_refuses_the_new_layout(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    /* What an older raftlog-node does with DATA: open it as its log. */
    rl_log_config_t config = {
        .dir = world->dir, .cluster = "alpha", .node_id = 1, .create = true};
    rl_log_t *log = rl_log_new(&config);
    assert_int_equal(rl_log_open(log), EBADMSG);
    assert_non_null(strstr(rl_log_error(log), "raftlog.id"));
    rl_log_destroy(&log);
}

/* ---- The upgrade ---- */

static void
test_a_single_log_directory_is_upgraded_into_logs_default(void **state)
{
    storage_world_t *world = *state;
    s_make_single_log(world->dir);
    s_prepare_ok(world->dir);
    assert_non_null(strstr(s_err, "upgraded"));
    s_assert_upgraded(world->dir);
    /* the next start does nothing more */
    s_prepare_ok(world->dir);
    assert_string_equal(s_err, "");
    s_assert_upgraded(world->dir);
    char path[PATH_MAX], text[256];
    s_read_text(s_path(path, "%s/logs/default/log.id", world->dir), text,
                sizeof text);
    assert_string_equal(text, "raftlog log v1\nname default\ngroup 0\n");
}

/* Every k: the upgrade stopped after k changes; then a build from before
   named logs either still finds the whole old log or refuses DATA (it
   never starts on part of it, which could forget a vote), and the next
   prepare finishes the upgrade with nothing lost. */
static void
test_an_upgrade_interrupted_at_any_step_is_finished_by_prepare(void **state)
{
    storage_world_t *world = *state;
    int interrupted = 0;
    for (int k = 0; k < 200; k++) {
        char data[PATH_MAX];
        s_path(data, "%s/data-%d", world->root, k);
        s_make_single_log(data);
        s_crash_after(k);
        int rc =
            rl_layout_prepare_io(&s_crashing_io, data, s_err, sizeof s_err);
        s_crash_after(-1);
        if (rc == 0) {
            s_assert_upgraded(data);
            break;
        }
        interrupted++;
        assert_non_null(strstr(s_err, data));
        /* an older build on this directory */
        rl_log_config_t config = {.dir = data,
                                  .cluster = "alpha",
                                  .node_id = 1,
                                  .segment_size = 4096,
                                  .read_only = true};
        rl_log_t *old = rl_log_new(&config);
        if (rl_log_open(old) == 0) {
            assert_int_equal(rl_log_first_index(old), 1);
            assert_int_equal(rl_log_last_index(old), 120);
            uint64_t term, vote;
            rl_log_hard_state(old, &term, &vote);
            assert_int_equal(term, 3);
        }
        rl_log_destroy(&old);
        /* --check says an upgrade is in progress, or checks the old log */
        FILE *sink = fopen("/dev/null", "w");
        rc = rl_layout_check(data, sink);
        fclose(sink);
        assert_true(rc == 0 || rc == EAGAIN);
        s_prepare_ok(data);
        s_assert_upgraded(data);
    }
    assert_true(interrupted > 8);
}

static void
test_an_upgrade_leaves_an_interrupted_one_of_a_crash_before_it(void **state)
{
    /* A crash after the first moves, then the node of this version
       restarts: the state on disk is the one the steps say, and prepare
       goes on from there. Built by hand, step by step. */
    storage_world_t *world = *state;
    s_make_single_log(world->dir);
    char path[PATH_MAX], to[PATH_MAX];
    assert_int_equal(mkdir(s_path(path, "%s/logs.new", world->dir), 0700), 0);
    assert_int_equal(
        mkdir(s_path(path, "%s/logs.new/default", world->dir), 0700), 0);
    assert_int_equal(
        rename(s_path(path, "%s/raftlog.id", world->dir),
               s_path(to, "%s/logs.new/default/raftlog.id", world->dir)),
        0);
    assert_int_equal(
        rename(s_path(path, "%s/hardstate", world->dir),
               s_path(to, "%s/logs.new/default/hardstate", world->dir)),
        0);
    FILE *out = tmpfile();
    assert_int_equal(rl_layout_check(world->dir, out), EAGAIN);
    fclose(out);
    s_prepare_ok(world->dir);
    s_assert_upgraded(world->dir);
}

static void
test_a_directory_with_both_layouts_is_refused_unchanged(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    char path[PATH_MAX];
    s_write_text(s_path(path, "%s/hardstate", world->dir), "x");
    assert_int_equal(rl_layout_prepare(world->dir, s_err, sizeof s_err),
                     EBADMSG);
    assert_non_null(strstr(s_err, "both layouts"));
    assert_non_null(strstr(s_err, "hardstate"));
    assert_true(s_exists(path));
}

static void test_log_files_without_a_marker_are_refused_unchanged(void **state)
{
    storage_world_t *world = *state;
    s_make_single_log(world->dir);
    char path[PATH_MAX];
    assert_int_equal(unlink(s_path(path, "%s/raftlog.id", world->dir)), 0);
    assert_int_equal(rl_layout_prepare(world->dir, s_err, sizeof s_err),
                     EBADMSG);
    assert_non_null(strstr(s_err, "no marker"));
    assert_false(s_exists(s_path(path, "%s/logs.new", world->dir)));
    assert_false(s_exists(s_path(path, "%s/logs", world->dir)));
}

static void test_a_foreign_marker_is_refused(void **state)
{
    storage_world_t *world = *state;
    assert_int_equal(mkdir(world->dir, 0700), 0);
    char path[PATH_MAX];
    s_write_text(s_path(path, "%s/raftlog.id", world->dir), "something\n");
    assert_int_equal(rl_layout_prepare(world->dir, s_err, sizeof s_err),
                     EBADMSG);
    assert_non_null(strstr(s_err, "not a raftlog marker"));
}

/* ---- Creation ---- */

static void
test_a_created_log_has_its_marker_and_is_listed_by_group(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    s_create_ok(world->dir, "default", 0);
    s_create_ok(world->dir, "orders", 7);
    s_create_ok(world->dir, "audit", 3);
    char path[PATH_MAX], text[256];
    s_read_text(s_path(path, "%s/logs/orders/log.id", world->dir), text,
                sizeof text);
    assert_string_equal(text, "raftlog log v1\nname orders\ngroup 7\n");
    rl_layout_log_t *logs;
    size_t count;
    assert_int_equal(
        rl_layout_list(world->dir, &logs, &count, s_err, sizeof s_err), 0);
    assert_int_equal(count, 3);
    assert_string_equal(logs[0].name, "default");
    assert_string_equal(logs[1].name, "audit");
    assert_int_equal(logs[1].group, 3);
    assert_string_equal(logs[2].name, "orders");
    assert_int_equal(logs[2].group, 7);
    free(logs);
    assert_int_equal(s_max_group(world->dir), 7);
    /* rl_log makes its files in it */
    rl_log_t *log = s_log_open(s_path(path, "%s/logs/orders", world->dir));
    storage_append_steps(log, 1, 10);
    rl_log_destroy(&log);
    assert_int_equal(s_listed(world->dir, "orders"), 7);
    /* creating again is harmless; with another group it is refused */
    s_create_ok(world->dir, "orders", 7);
    assert_int_equal(
        rl_layout_create_log(world->dir, "orders", 9, s_err, sizeof s_err),
        EEXIST);
    assert_non_null(strstr(s_err, "group 7"));
    log = s_log_open(s_path(path, "%s/logs/orders", world->dir));
    assert_int_equal(rl_log_last_index(log), 10);
    rl_log_destroy(&log);
}

/* Every k: the creation stopped after k changes; after prepare the log is
   either there with its marker, or not at all (and nothing is left in
   logs.creating); max-group covers it when it is there. */
static void
test_a_creation_interrupted_at_any_step_is_all_or_nothing(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    int interrupted = 0;
    char path[PATH_MAX];
    for (int k = 0; k < 100; k++) {
        s_crash_after(k);
        int rc = rl_layout_create_log_io(&s_crashing_io, world->dir, "orders",
                                         5, s_err, sizeof s_err);
        s_crash_after(-1);
        if (rc != 0) {
            interrupted++;
            assert_non_null(strstr(s_err, "orders"));
        }
        s_prepare_ok(world->dir);
        assert_int_equal(
            s_entries(s_path(path, "%s/logs.creating", world->dir)), 0);
        int64_t group = s_listed(world->dir, "orders");
        assert_true(group == -1 || group == 5);
        if (group == 5)
            assert_true(s_max_group(world->dir) >= 5);
        else
            assert_int_equal(s_max_group(world->dir), 0);
        if (rc == 0) {
            assert_int_equal(group, 5);
            break;
        }
        if (group == 5) {
            char unused[RL_LAYOUT_ERROR_SIZE];
            assert_int_equal(rl_layout_delete_log(world->dir, "orders", 5,
                                                  unused, sizeof unused),
                             0);
            /* start the next k from a clean slate */
            unlink(s_path(path, "%s/max-group", world->dir));
        }
    }
    assert_true(interrupted > 4);
}

/* ---- Deletion ---- */

static void test_a_deleted_log_is_gone_and_its_group_remembered(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    s_create_ok(world->dir, "orders", 4);
    char path[PATH_MAX];
    rl_log_t *log = s_log_open(s_path(path, "%s/logs/orders", world->dir));
    storage_append_steps(log, 1, 100);
    rl_log_destroy(&log);
    /* a deletion of another incarnation of the name removes nothing */
    assert_int_equal(
        rl_layout_delete_log(world->dir, "orders", 2, s_err, sizeof s_err),
        EXDEV);
    assert_int_equal(s_listed(world->dir, "orders"), 4);
    assert_int_equal(
        rl_layout_delete_log(world->dir, "orders", 4, s_err, sizeof s_err), 0);
    assert_false(s_exists(s_path(path, "%s/logs/orders", world->dir)));
    assert_int_equal(s_entries(s_path(path, "%s/logs.deleting", world->dir)),
                     0);
    assert_int_equal(s_max_group(world->dir), 4);
    /* twice is harmless */
    assert_int_equal(
        rl_layout_delete_log(world->dir, "orders", 4, s_err, sizeof s_err), 0);
}

/* Every k: the deletion stopped after k changes; after prepare the log is
   either whole (every entry readable) or gone with nothing left, and
   max-group still covers its group. */
static void
test_a_deletion_interrupted_at_any_step_is_finished_by_prepare(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    int interrupted = 0;
    char path[PATH_MAX];
    for (int k = 0; k < 200; k++) {
        /* a fresh incarnation of the log for each k */
        uint64_t group = (uint64_t)k + 1;
        s_create_ok(world->dir, "orders", group);
        unlink(s_path(path, "%s/max-group", world->dir));
        rl_log_t *log = s_log_open(s_path(path, "%s/logs/orders", world->dir));
        storage_append_steps(log, 1, 60);
        rl_log_destroy(&log);
        s_crash_after(k);
        int rc = rl_layout_delete_log_io(&s_crashing_io, world->dir, "orders",
                                         group, s_err, sizeof s_err);
        s_crash_after(-1);
        if (rc != 0)
            interrupted++;
        s_prepare_ok(world->dir);
        assert_int_equal(
            s_entries(s_path(path, "%s/logs.deleting", world->dir)), 0);
        int64_t listed = s_listed(world->dir, "orders");
        if (listed >= 0) {
            assert_int_equal(listed, (int64_t)group);
            log = s_log_open(s_path(path, "%s/logs/orders", world->dir));
            storage_assert_contents(log, 1, 60, storage_term_steps);
            rl_log_destroy(&log);
            assert_int_equal(rl_layout_delete_log(world->dir, "orders", group,
                                                  s_err, sizeof s_err),
                             0);
        }
        assert_true(s_max_group(world->dir) >= group);
        if (rc == 0)
            break;
    }
    assert_true(interrupted > 4);
}

static void
test_leftover_tombstones_are_removed_and_counted_by_prepare(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    char path[PATH_MAX];
    assert_int_equal(mkdir(s_path(path, "%s/logs.deleting", world->dir), 0700),
                     0);
    assert_int_equal(
        mkdir(s_path(path, "%s/logs.deleting/12-orders", world->dir), 0700), 0);
    s_write_text(s_path(path,
                        "%s/logs.deleting/12-orders/00000000000000000001.log",
                        world->dir),
                 "data");
    assert_int_equal(
        mkdir(s_path(path, "%s/logs.deleting/12-orders/sub", world->dir), 0700),
        0);
    assert_int_equal(
        symlink("/etc", s_path(path, "%s/logs.deleting/12-orders/sub/link",
                               world->dir)),
        0);
    s_prepare_ok(world->dir);
    assert_non_null(strstr(s_err, "1 interrupted deletions finished"));
    assert_int_equal(s_entries(s_path(path, "%s/logs.deleting", world->dir)),
                     0);
    assert_true(s_exists("/etc/passwd")); /* the link, not its target */
    assert_int_equal(s_max_group(world->dir), 12);
    s_read_text(s_path(path, "%s/max-group", world->dir), path, sizeof path);
    assert_string_equal(path, "raftlog max-group v1\n12\n");
}

/* ---- max-group ---- */

static void test_max_group_only_rises_and_survives_in_its_file(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    assert_int_equal(
        rl_layout_raise_max_group(world->dir, 5, s_err, sizeof s_err), 0);
    assert_int_equal(
        rl_layout_raise_max_group(world->dir, 3, s_err, sizeof s_err), 0);
    assert_int_equal(s_max_group(world->dir), 5);
    char path[PATH_MAX], text[128];
    s_read_text(s_path(path, "%s/max-group", world->dir), text, sizeof text);
    assert_string_equal(text, "raftlog max-group v1\n5\n");
    assert_false(s_exists(s_path(path, "%s/max-group.new", world->dir)));
    /* a group on disk above the file counts (a crash between a creation
       and its max-group write) */
    s_create_ok(world->dir, "orders", 9);
    unlink(s_path(path, "%s/max-group", world->dir));
    s_write_text(path, "raftlog max-group v1\n5\n");
    assert_int_equal(s_max_group(world->dir), 9);
    s_prepare_ok(world->dir);
    s_read_text(path, text, sizeof text);
    assert_string_equal(text, "raftlog max-group v1\n9\n");
    /* the largest id there is */
    assert_int_equal(
        rl_layout_raise_max_group(world->dir, UINT64_MAX, s_err, sizeof s_err),
        0);
    assert_true(s_max_group(world->dir) == UINT64_MAX);
}

static void test_a_damaged_max_group_file_is_refused(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    char path[PATH_MAX];
    const char *bad[] = {"",
                         "7\n",
                         "raftlog max-group v1\n",
                         "raftlog max-group v1\n7",
                         "raftlog max-group v1\n-7\n",
                         "raftlog max-group v1\n18446744073709551616\n",
                         "raftlog max-group v1\n7\n8\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_write_text(s_path(path, "%s/max-group", world->dir), bad[i]);
        uint64_t max;
        assert_int_equal(
            rl_layout_max_group(world->dir, &max, s_err, sizeof s_err),
            EBADMSG);
        assert_non_null(strstr(s_err, "max-group"));
        assert_int_equal(rl_layout_prepare(world->dir, s_err, sizeof s_err),
                         EBADMSG);
    }
}

/* ---- Markers ---- */

static void
test_a_log_directory_with_a_wrong_or_missing_marker_is_refused(void **state)
{
    storage_world_t *world = *state;
    s_prepare_ok(world->dir);
    s_create_ok(world->dir, "orders", 2);
    char path[PATH_MAX], to[PATH_MAX];
    /* renamed by hand */
    assert_int_equal(rename(s_path(path, "%s/logs/orders", world->dir),
                            s_path(to, "%s/logs/sales", world->dir)),
                     0);
    rl_layout_log_t *logs;
    size_t count;
    assert_int_equal(
        rl_layout_list(world->dir, &logs, &count, s_err, sizeof s_err),
        EBADMSG);
    assert_non_null(strstr(s_err, "rename it back"));
    /* marker removed */
    assert_int_equal(unlink(s_path(path, "%s/logs/sales/log.id", world->dir)),
                     0);
    assert_int_equal(
        rl_layout_list(world->dir, &logs, &count, s_err, sizeof s_err),
        EBADMSG);
    assert_non_null(strstr(s_err, "no log.id"));
    /* a stray file */
    assert_int_equal(rmdir(to), 0);
    s_write_text(s_path(path, "%s/logs/README", world->dir), "x");
    assert_int_equal(
        rl_layout_list(world->dir, &logs, &count, s_err, sizeof s_err),
        EBADMSG);
    assert_non_null(strstr(s_err, "not a log's directory"));
    assert_int_equal(unlink(path), 0);
    /* default without a marker is group 0 */
    assert_int_equal(mkdir(s_path(path, "%s/logs/default", world->dir), 0700),
                     0);
    assert_int_equal(s_listed(world->dir, "default"), 0);
    /* two directories claiming one group */
    s_create_ok(world->dir, "a", 3);
    s_create_ok(world->dir, "b", 4);
    s_write_text(s_path(path, "%s/logs/b/log.id", world->dir),
                 "raftlog log v1\nname b\ngroup 3\n");
    assert_int_equal(
        rl_layout_list(world->dir, &logs, &count, s_err, sizeof s_err),
        EBADMSG);
    assert_non_null(strstr(s_err, "both say they are group 3"));
}

/* ---- Permissions and the lock ---- */

static void
test_everything_the_layout_makes_is_private_whatever_the_umask(void **state)
{
    storage_world_t *world = *state;
    mode_t saved = umask(0);
    s_make_single_log(world->dir);
    s_prepare_ok(world->dir);
    s_create_ok(world->dir, "orders", 2);
    s_create_ok(world->dir, "gone", 3);
    assert_int_equal(
        rl_layout_delete_log(world->dir, "gone", 3, s_err, sizeof s_err), 0);
    umask(saved);
    char path[PATH_MAX];
    const char *dirs[] = {"",
                          "/logs",
                          "/logs/default",
                          "/logs/orders",
                          "/logs.creating",
                          "/logs.deleting"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        assert_int_equal(s_mode(s_path(path, "%s%s", world->dir, dirs[i])),
                         0700);
    const char *files[] = {"/raftlog.id", "/max-group", "/logs/default/log.id",
                           "/logs/orders/log.id"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        assert_int_equal(s_mode(s_path(path, "%s%s", world->dir, files[i])),
                         0600);
}

static void test_a_second_process_cannot_lock_the_data_directory(void **state)
{
    storage_world_t *world = *state;
    int first, second;
    assert_int_equal(rl_layout_lock(world->dir, &first, s_err, sizeof s_err),
                     0);
    /* flock is per open file: a second open in this process conflicts
       as another process would */
    assert_int_equal(rl_layout_lock(world->dir, &second, s_err, sizeof s_err),
                     EBUSY);
    assert_int_equal(second, -1);
    assert_non_null(strstr(s_err, "in use by another process"));
    close(first);
    assert_int_equal(rl_layout_lock(world->dir, &second, s_err, sizeof s_err),
                     0);
    close(second);
}

/* ---- The check ---- */

/* rl_layout_check's report, into report (size bytes); its code. */
static int s_check(const char *data, char *report, size_t size)
{
    FILE *out = tmpfile();
    assert_non_null(out);
    int rc = rl_layout_check(data, out);
    rewind(out);
    size_t n = fread(report, 1, size - 1, out);
    report[n] = '\0';
    fclose(out);
    return rc;
}

static void test_check_reads_a_single_log_directory(void **state)
{
    storage_world_t *world = *state;
    static char report[16384];
    s_make_single_log(world->dir);
    assert_int_equal(s_check(world->dir, report, sizeof report), 0);
    assert_non_null(strstr(report, "a single log"));
    assert_non_null(strstr(report, "entries 1..120"));
    /* changes nothing */
    char path[PATH_MAX];
    assert_false(s_exists(s_path(path, "%s/logs", world->dir)));
    s_assert_single_log(world->dir);
}

static void test_check_reads_every_log_and_names_the_damaged_one(void **state)
{
    storage_world_t *world = *state;
    static char report[32768];
    s_make_single_log(world->dir);
    s_prepare_ok(world->dir);
    s_create_ok(world->dir, "orders", 5);
    s_create_ok(world->dir, "empty", 6);
    char path[PATH_MAX];
    rl_log_t *log = s_log_open(s_path(path, "%s/logs/orders", world->dir));
    storage_append_steps(log, 1, 30);
    rl_log_destroy(&log);
    assert_int_equal(s_check(world->dir, report, sizeof report), 0);
    assert_non_null(strstr(report, "3 logs"));
    assert_non_null(strstr(report, "[default] log: "));
    assert_non_null(strstr(report, "entries 1..120"));
    assert_non_null(strstr(report, "[orders] log: "));
    assert_non_null(strstr(report, "entries 1..30"));
    assert_non_null(strstr(report, "[empty] created, nothing written yet"));
    assert_non_null(strstr(report, "max-group: 6"));
    assert_non_null(strstr(report, "3 clean"));
    /* a flipped bit in the middle of orders' first segment */
    storage_flip_bit(
        s_path(path, "%s/logs/orders/00000000000000000001.log", world->dir),
        100);
    assert_int_equal(s_check(world->dir, report, sizeof report), EBADMSG);
    assert_non_null(strstr(report, "[orders] damage: "));
    assert_null(strstr(report, "[default] damage"));
    assert_non_null(strstr(report, "with problems: orders (damage)"));
}

static void test_check_reports_leftovers_and_a_log_of_another_node(void **state)
{
    storage_world_t *world = *state;
    static char report[32768];
    s_prepare_ok(world->dir);
    s_create_ok(world->dir, "default", 0);
    s_create_ok(world->dir, "orders", 2);
    char path[PATH_MAX];
    rl_log_t *log = s_log_open(s_path(path, "%s/logs/default", world->dir));
    rl_log_destroy(&log);
    rl_log_config_t config = {.dir = s_path(path, "%s/logs/orders", world->dir),
                              .cluster = "beta",
                              .node_id = 2,
                              .create = true};
    log = rl_log_new(&config);
    assert_int_equal(rl_log_open(log), 0);
    rl_log_destroy(&log);
    assert_int_equal(mkdir(s_path(path, "%s/logs.deleting", world->dir), 0700),
                     0);
    assert_int_equal(
        mkdir(s_path(path, "%s/logs.deleting/9-old", world->dir), 0700), 0);
    assert_int_equal(s_check(world->dir, report, sizeof report), EBADMSG);
    assert_non_null(strstr(report, "belongs to cluster"));
    assert_non_null(strstr(report, "9-old is a deletion in progress"));
    /* the check removed nothing */
    assert_true(s_exists(path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_names_are_lowercase_digits_dot_underscore_dash_up_to_64),
        cmocka_unit_test(test_a_log_directory_is_data_logs_name),
        STORAGE_TEST(
            test_bad_names_and_groups_are_refused_with_nothing_created),
        STORAGE_TEST(
            test_prepare_makes_a_new_data_directory_in_the_named_layout),
        STORAGE_TEST(
            test_a_build_from_before_named_logs_refuses_the_new_layout),
        STORAGE_TEST(test_a_single_log_directory_is_upgraded_into_logs_default),
        STORAGE_TEST(
            test_an_upgrade_interrupted_at_any_step_is_finished_by_prepare),
        STORAGE_TEST(
            test_an_upgrade_leaves_an_interrupted_one_of_a_crash_before_it),
        STORAGE_TEST(test_a_directory_with_both_layouts_is_refused_unchanged),
        STORAGE_TEST(test_log_files_without_a_marker_are_refused_unchanged),
        STORAGE_TEST(test_a_foreign_marker_is_refused),
        STORAGE_TEST(test_a_created_log_has_its_marker_and_is_listed_by_group),
        STORAGE_TEST(test_a_creation_interrupted_at_any_step_is_all_or_nothing),
        STORAGE_TEST(test_a_deleted_log_is_gone_and_its_group_remembered),
        STORAGE_TEST(
            test_a_deletion_interrupted_at_any_step_is_finished_by_prepare),
        STORAGE_TEST(
            test_leftover_tombstones_are_removed_and_counted_by_prepare),
        STORAGE_TEST(test_max_group_only_rises_and_survives_in_its_file),
        STORAGE_TEST(test_a_damaged_max_group_file_is_refused),
        STORAGE_TEST(
            test_a_log_directory_with_a_wrong_or_missing_marker_is_refused),
        STORAGE_TEST(
            test_everything_the_layout_makes_is_private_whatever_the_umask),
        STORAGE_TEST(test_a_second_process_cannot_lock_the_data_directory),
        STORAGE_TEST(test_check_reads_a_single_log_directory),
        STORAGE_TEST(test_check_reads_every_log_and_names_the_damaged_one),
        STORAGE_TEST(test_check_reports_leftovers_and_a_log_of_another_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

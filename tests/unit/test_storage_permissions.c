/*  test_storage_permissions.c - a data directory is private: the
    directory 0700 and every file in it 0600 whatever the umask, and a
    layout left readable by an older version is tightened on open with one
    warning (rl_log_dir.c, rl_log_file.c).
*/
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

/* The umask of the process before the test, restored after it even when
   an assertion fails (umask is process-wide). */
static mode_t s_saved_umask;

static int s_setup(void **state)
{
    s_saved_umask = umask(022);
    umask(s_saved_umask);
    return storage_setup(state);
}

static int s_teardown(void **state)
{
    umask(s_saved_umask);
    return storage_teardown(state);
}

/* Renames seen by s_rename: the temporary files of atomic replacements
   and the spare, checked at the moment they are renamed into place. */
static struct {
    char names[32][64]; /* base name of each renamed file */
    mode_t modes[32];   /* its permission bits then */
    size_t count;       /* renames recorded */
} s_renames;

static int s_rename(const char *from, const char *to)
{
    struct stat st;
    if (s_renames.count < 32 && stat(from, &st) == 0) {
        const char *base = strrchr(from, '/');
        snprintf(s_renames.names[s_renames.count], 64, "%s",
                 base ? base + 1 : from);
        s_renames.modes[s_renames.count++] = st.st_mode & 07777;
    }
    return rename(from, to);
}

static mode_t s_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* The paths of the files in dir, not . and .. (more than 64 fails the
   test); how many in *count. Static storage, valid until the next call. */
static char (*s_files(const char *dir, size_t *count))[PATH_MAX]
{
    static char paths[64][PATH_MAX];
    DIR *listing = opendir(dir);
    assert_non_null(listing);
    *count = 0;
    struct dirent *entry;
    while ((entry = readdir(listing)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        assert_true(*count < 64);
        snprintf(paths[(*count)++], PATH_MAX, "%s/%s", dir, entry->d_name);
    }
    closedir(listing);
    return paths;
}

/* Asserts dir is 0700 and every file in it 0600; returns the file count. */
static size_t s_assert_private(const char *dir)
{
    assert_int_equal(s_mode(dir), 0700);
    size_t count;
    char(*paths)[PATH_MAX] = s_files(dir, &count);
    for (size_t i = 0; i < count; i++)
        if (s_mode(paths[i]) != 0600)
            fail_msg("%s has mode %04o, not 0600", paths[i], s_mode(paths[i]));
    return count;
}

/* Makes the spare the log asks for, if it asks. */
static void s_make_spare(rl_log_t *log)
{
    rl_log_spare_t spare;
    if (rl_log_spare_prepare(log, &spare))
        rl_log_spare_finish(log, &spare, rl_log_spare_run(&spare));
}

/* Creates a log with every kind of file in it: segments (the second one
   a spare adopted), a spare left over, hard state, snapshot, marker. */
static void s_fill(storage_world_t *world, const rl_io_t *io)
{
    rl_log_config_t config = storage_config(world);
    config.io = io;
    rl_log_t *log = rl_log_new(&config);
    assert_non_null(log);
    if (rl_log_open(log) != 0)
        fail_msg("open failed: %s", rl_log_error(log));
    for (uint64_t index = 1; index <= 100; index++) {
        s_make_spare(log);
        assert_int_equal(
            storage_append(log, index, 1, storage_term_steps(index)), 0);
    }
    assert_int_equal(rl_log_sync(log), 0);
    assert_int_equal(rl_log_set_hard_state(log, 3, 1), 0);
    rl_log_snapshot_t snapshot = {.last_index = 50,
                                  .last_term = storage_term_steps(50),
                                  .config = (const uint8_t *)"cfg",
                                  .config_size = 3};
    assert_int_equal(rl_log_save_snapshot(log, &snapshot), 0);
    rl_log_stats_t stats;
    rl_log_stats(log, &stats);
    assert_true(stats.spares_used >= 1);
    rl_log_destroy(&log);
}

static void
test_a_new_log_is_private_whatever_the_umask_temporary_files_too(void **state)
{
    storage_world_t *world = *state;
    rl_io_t io = storage_faulty_io;
    io.rename = s_rename;
    static const mode_t umasks[] = {0, 022, 0777};
    for (size_t i = 0; i < sizeof umasks / sizeof umasks[0]; i++) {
        snprintf(world->dir, sizeof world->dir, "%s/data%zu", world->root, i);
        memset(&s_renames, 0, sizeof s_renames);
        umask(umasks[i]);
        s_fill(world, &io);
        umask(s_saved_umask);
        /* raftlog.id, hardstate, snapshot, spare.tmp and the segments. */
        size_t files = s_assert_private(world->dir);
        assert_true(files >= 6);
        char spare[PATH_MAX];
        snprintf(spare, sizeof spare, "%s/spare.tmp", world->dir);
        assert_int_equal(access(spare, F_OK), 0);
        /* Every temporary file was private before it was renamed: the
           marker's, the hard state's, the snapshot's and the spares. */
        bool seen[4] = {false};
        static const char *const kinds[] = {"raftlog.id.tmp", "hardstate.tmp",
                                            "snapshot.tmp", "spare.tmp"};
        for (size_t r = 0; r < s_renames.count; r++) {
            if (s_renames.modes[r] != 0600)
                fail_msg("umask %04o: %s was %04o when renamed",
                         (unsigned)umasks[i], s_renames.names[r],
                         (unsigned)s_renames.modes[r]);
            for (size_t k = 0; k < 4; k++)
                seen[k] |= strcmp(s_renames.names[r], kinds[k]) == 0;
        }
        for (size_t k = 0; k < 4; k++)
            if (!seen[k])
                fail_msg("umask %04o: no %s was renamed", (unsigned)umasks[i],
                         kinds[k]);
        assert_string_equal(world->warnings, "");
    }
}

/* Sets the permissions older versions gave under umask 022. */
static void s_widen(const char *dir)
{
    assert_int_equal(chmod(dir, 0755), 0);
    size_t count;
    char(*paths)[PATH_MAX] = s_files(dir, &count);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(chmod(paths[i], 0644), 0);
}

static size_t s_lines(const char *text)
{
    size_t lines = 0;
    for (; *text; text++)
        lines += *text == '\n';
    return lines;
}

static void test_an_older_readable_layout_is_tightened_on_open_with_one_warning(
    void **state)
{
    storage_world_t *world = *state;
    s_fill(world, &storage_faulty_io);
    s_widen(world->dir);
    char hardstate[PATH_MAX], segment[PATH_MAX];
    snprintf(hardstate, sizeof hardstate, "%s/hardstate", world->dir);
    storage_segment_path(world, 1, segment);
    assert_int_equal(chmod(segment, 0640), 0);
    /* Not the log's: left as the operator made it. */
    char notes[PATH_MAX];
    snprintf(notes, sizeof notes, "%s/NOTES", world->dir);
    FILE *file = fopen(notes, "w");
    assert_non_null(file);
    fclose(file);
    assert_int_equal(chmod(notes, 0644), 0);

    /* The read-only check says so and changes nothing. */
    char report[4096] = {0};
    FILE *out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(rl_log_check(world->dir, out), 0);
    fclose(out);
    assert_non_null(strstr(report, "readable by others"));
    assert_non_null(strstr(report, "directory 0755"));
    assert_int_equal(s_mode(world->dir), 0755);
    assert_int_equal(s_mode(hardstate), 0644);

    world->warnings[0] = '\0';
    rl_log_t *log = storage_open(world);
    assert_int_equal(s_lines(world->warnings), 1);
    assert_non_null(strstr(world->warnings, world->dir));
    assert_non_null(strstr(world->warnings, "directory 0755"));
    assert_non_null(strstr(world->warnings, "made it 0700"));
    assert_int_equal(s_mode(world->dir), 0700);
    assert_int_equal(s_mode(hardstate), 0600);
    assert_int_equal(s_mode(segment), 0600);
    assert_int_equal(s_mode(notes), 0644);
    storage_assert_contents(log, 1, 100, storage_term_steps);
    rl_log_destroy(&log);

    /* Private now: the next open has nothing to say. */
    assert_int_equal(unlink(notes), 0);
    s_assert_private(world->dir);
    world->warnings[0] = '\0';
    log = storage_open(world);
    assert_string_equal(world->warnings, "");
    rl_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
        T(test_a_new_log_is_private_whatever_the_umask_temporary_files_too),
        T(test_an_older_readable_layout_is_tightened_on_open_with_one_warning),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

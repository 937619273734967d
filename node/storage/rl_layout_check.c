/*  rl_layout_check.c - raftlog-node --check DATA for either layout: a
    single-log data directory (from before named logs) is one rl_log_check;
    a named-logs one is checked log by log, every line of a log's report
    prefixed with the log's name so that damage always says where it is,
    then the layout's own files and leftovers, then a summary. Read-only:
    changes nothing (the node finishes interrupted operations at start).
*/
#include "rl_layout_internal.h"
#include "rl_log.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The result of one log's check, for the summary. */
typedef struct {
    char name[RL_LAYOUT_NAME_MAX + 1]; /* directory name in logs/ */
    uint64_t group;                    /* from its log.id; 0 when unknown */
    int rc;                            /* 0 clean, or the error */
    char cluster[80];                  /* from its raftlog.id, or "" */
    uint64_t node;                     /* from its raftlog.id */
} s_checked_t;

static int s_compare_name(const void *a, const void *b)
{
    return strcmp(((const s_checked_t *)a)->name,
                  ((const s_checked_t *)b)->name);
}

/* Copies text to report, each line prefixed. */
static void s_prefixed(FILE *report, const char *prefix, const char *text)
{
    while (*text) {
        const char *end = strchr(text, '\n');
        size_t len = end ? (size_t)(end - text) : strlen(text);
        fprintf(report, "%s%.*s\n", prefix, (int)len, text);
        text += len + (end ? 1 : 0);
    }
}

/* True when the directory holds anything but log.id (and rl_log's
   temporary files): rl_log has opened it at least once. */
static bool s_written(const char *path)
{
    DIR *dir = opendir(path);
    bool found = false;
    struct dirent *entry;
    while (dir && !found && (entry = readdir(dir)) != NULL) {
        const char *n = entry->d_name;
        found = strcmp(n, ".") != 0 && strcmp(n, "..") != 0 &&
                strcmp(n, LAYOUT_LOG_ID) != 0 &&
                strcmp(n, LAYOUT_LOG_ID LAYOUT_LOG_TEMP_SUFFIX) != 0;
    }
    if (dir)
        closedir(dir);
    return found;
}

/* Reads the cluster and node of a log's raftlog.id, when it has one. */
static void s_owner(const char *path, s_checked_t *checked)
{
    char marker[PATH_MAX], text[LAYOUT_SMALL_FILE_MAX + 1];
    checked->cluster[0] = '\0';
    if (rl_layout_pathf(marker, "%s/" LAYOUT_MARKER, path) ||
        rl_layout_read_small(marker, text) != 0)
        return;
    char cluster[70];
    uint64_t node;
    if (sscanf(text, "raftlog data directory v1\ncluster %65s\nnode %" SCNu64,
               cluster, &node) == 2) {
        snprintf(checked->cluster, sizeof checked->cluster, "%s", cluster);
        checked->node = node;
    }
}

/* Checks DATA/logs/entry into report; fills checked. */
static void s_check_log(const char *logs_dir, const char *entry,
                        s_checked_t *checked, FILE *report)
{
    memset(checked, 0, sizeof *checked);
    snprintf(checked->name, sizeof checked->name, "%.*s", RL_LAYOUT_NAME_MAX,
             entry);
    char prefix[RL_LAYOUT_NAME_MAX + 8], path[PATH_MAX];
    snprintf(prefix, sizeof prefix, "[%s] ", checked->name);
    if (!rl_layout_name_valid(entry) ||
        rl_layout_pathf(path, "%s/%s", logs_dir, entry) ||
        !rl_layout_is_dir(path)) {
        fprintf(report,
                "damage: %s/%s is not a log's directory, and %s holds only "
                "those: move it elsewhere\n",
                logs_dir, entry, logs_dir);
        checked->rc = EBADMSG;
        return;
    }
    char name[RL_LAYOUT_NAME_MAX + 1];
    int rc = rl_layout_log_id_read(path, name, &checked->group);
    if (rc == ENOENT && strcmp(entry, RL_LAYOUT_DEFAULT_LOG) == 0) {
        checked->group = 0;
    } else if (rc != 0) {
        fprintf(report,
                "%sdamage: %s/" LAYOUT_LOG_ID " is %s: the node refuses "
                "this directory; restore the marker from a backup or move the "
                "directory out of %s\n",
                prefix, path, rc == ENOENT ? "missing" : "not a log marker",
                logs_dir);
        checked->rc = EBADMSG;
        return;
    } else if (strcmp(name, entry) != 0) {
        fprintf(report,
                "%sdamage: %s/" LAYOUT_LOG_ID " names the log '%s': rename "
                "the directory back to %s/%s\n",
                prefix, path, name, logs_dir, name);
        checked->rc = EBADMSG;
        return;
    }
    fprintf(report, "%slog '%s', group %" PRIu64 ": %s\n", prefix,
            checked->name, checked->group, path);
    if (!s_written(path)) {
        fprintf(report, "%screated, nothing written yet\n", prefix);
        return;
    }
    s_owner(path, checked);
    char *text = NULL;
    size_t size = 0;
    FILE *captured = open_memstream(&text, &size);
    if (!captured) {
        fprintf(report, "%serror: out of memory\n", prefix);
        checked->rc = ENOMEM;
        return;
    }
    checked->rc = rl_log_check(path, captured);
    fclose(captured);
    s_prefixed(report, prefix, text ? text : "");
    free(text);
}

/* The layout's own files and leftovers. Returns EBADMSG for damage. */
static int s_check_layout_files(const char *data_dir, FILE *report)
{
    int rc = 0;
    uint64_t max;
    int max_rc = rl_layout_max_group_file(data_dir, &max);
    if (max_rc != 0) {
        fprintf(report,
                "damage: %s/" LAYOUT_MAX_GROUP " is not a max-group file "
                "(%s): the node refuses to start; restore it from a backup "
                "(docs/STORAGE.md)\n",
                data_dir, strerror(max_rc));
        rc = EBADMSG;
    } else {
        fprintf(report, "max-group: %" PRIu64 " (highest group id hosted)\n",
                max);
    }
    const char *subs[] = {LAYOUT_CREATING, LAYOUT_DELETING};
    const char *what[] = {"an interrupted creation, undone",
                          "a deletion in progress, finished"};
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX];
        if (rl_layout_pathf(path, "%s/%s", data_dir, subs[i]))
            continue;
        DIR *dir = opendir(path);
        struct dirent *entry;
        while (dir && (entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 ||
                strcmp(entry->d_name, "..") == 0)
                continue;
            uint64_t group;
            char name[RL_LAYOUT_NAME_MAX + 1];
            if (rl_layout_parse_staged(entry->d_name, &group, name))
                fprintf(report,
                        "note: %s/%s is %s by the node at its next start "
                        "(log '%s', group %" PRIu64 ")\n",
                        path, entry->d_name, what[i], name, group);
            else
                fprintf(report,
                        "note: %s/%s is not the node's; the node removes "
                        "it at its next start\n",
                        path, entry->d_name);
        }
        if (dir)
            closedir(dir);
    }
    return rc;
}

/* True when a single-log file sits at the top of DATA. */
static bool s_top_single_files(const char *data_dir)
{
    DIR *dir = opendir(data_dir);
    bool found = false;
    struct dirent *entry;
    while (dir && !found && (entry = readdir(dir)) != NULL)
        found = rl_layout_is_single_log_file(entry->d_name);
    if (dir)
        closedir(dir);
    return found;
}

static int s_check_named(const char *data_dir, FILE *report)
{
    char logs_dir[PATH_MAX];
    if (rl_layout_pathf(logs_dir, "%s/" LAYOUT_LOGS, data_dir))
        return ENAMETOOLONG;
    DIR *dir = opendir(logs_dir);
    if (!dir) {
        fprintf(report, "error: cannot list %s: %s\n", logs_dir,
                strerror(errno));
        return errno;
    }
    s_checked_t *checked = NULL;
    size_t count = 0, cap = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (count == cap) {
            size_t new_cap = cap ? cap * 2 : 16;
            s_checked_t *grown = realloc(checked, new_cap * sizeof *checked);
            if (!grown) {
                closedir(dir);
                free(checked);
                fprintf(report, "error: out of memory\n");
                return ENOMEM;
            }
            checked = grown;
            cap = new_cap;
        }
        snprintf(checked[count++].name, RL_LAYOUT_NAME_MAX + 1, "%.*s",
                 RL_LAYOUT_NAME_MAX, entry->d_name);
    }
    closedir(dir);
    if (count > 1)
        qsort(checked, count, sizeof *checked, s_compare_name);
    fprintf(report,
            "data directory %s: named logs (one directory per log in %s), "
            "%zu logs\n",
            data_dir, logs_dir, count);
    int worst = 0;
    for (size_t i = 0; i < count; i++) {
        char entry_name[RL_LAYOUT_NAME_MAX + 1];
        memcpy(entry_name, checked[i].name, sizeof entry_name);
        s_check_log(logs_dir, entry_name, &checked[i], report);
    }
    int layout_rc = s_check_layout_files(data_dir, report);
    /* Two directories of one group, or of two nodes, are damage that no
       single log's check sees. */
    for (size_t i = 0; i < count; i++)
        for (size_t j = i + 1; j < count; j++) {
            if (checked[i].rc == 0 && checked[j].rc == 0 &&
                checked[i].group == checked[j].group) {
                fprintf(report,
                        "damage: logs '%s' and '%s' both say they are group "
                        "%" PRIu64 ": one was copied by hand; move the one "
                        "not in the catalog out of %s\n",
                        checked[i].name, checked[j].name, checked[i].group,
                        logs_dir);
                layout_rc = EBADMSG;
            }
            if (checked[i].cluster[0] && checked[j].cluster[0] &&
                (strcmp(checked[i].cluster, checked[j].cluster) != 0 ||
                 checked[i].node != checked[j].node)) {
                fprintf(report,
                        "damage: log '%s' belongs to cluster '%s' node "
                        "%" PRIu64 " but log '%s' to cluster '%s' node "
                        "%" PRIu64 ": a log's directory was copied from "
                        "another node; move it out of %s\n",
                        checked[i].name, checked[i].cluster, checked[i].node,
                        checked[j].name, checked[j].cluster, checked[j].node,
                        logs_dir);
                layout_rc = EBADMSG;
            }
        }
    size_t bad = 0;
    for (size_t i = 0; i < count; i++)
        if (checked[i].rc != 0) {
            bad++;
            if (worst != EBADMSG)
                worst = checked[i].rc;
        }
    fprintf(report, "summary: %zu logs, %zu clean, %zu with problems%s", count,
            count - bad, bad, bad ? ":" : "");
    for (size_t i = 0; i < count; i++)
        if (checked[i].rc != 0)
            fprintf(report, " %s (%s)", checked[i].name,
                    checked[i].rc == EBADMSG ? "damage"
                                             : strerror(checked[i].rc));
    fprintf(report, "\n");
    free(checked);
    if (layout_rc != 0 && worst != EBADMSG)
        worst = layout_rc;
    return worst;
}

int rl_layout_check(const char *data_dir, FILE *report)
{
    char logs[PATH_MAX], upgrading[PATH_MAX];
    if (rl_layout_pathf(logs, "%s/" LAYOUT_LOGS, data_dir) ||
        rl_layout_pathf(upgrading, "%s/" LAYOUT_UPGRADING, data_dir)) {
        fprintf(report, "error: path too long: %s\n", data_dir);
        return ENAMETOOLONG;
    }
    if (!rl_layout_is_dir(data_dir)) {
        fprintf(report, "error: %s is not a directory\n", data_dir);
        return ENOENT;
    }
    rl_layout_marker_t marker = rl_layout_marker_kind(data_dir);
    bool has_logs = rl_layout_exists(logs);
    if (marker == LAYOUT_MARKER_BAD) {
        fprintf(report,
                "damage: %s/" LAYOUT_MARKER " is not a raftlog marker: "
                "this is not a raftlog data directory, or its marker is "
                "damaged\n",
                data_dir);
        return EBADMSG;
    }
    if (rl_layout_exists(upgrading) && !has_logs) {
        fprintf(report,
                "not checked: the upgrade of %s to named logs was "
                "interrupted (%s exists); start the node once, which "
                "finishes it, then check again\n",
                data_dir, upgrading);
        return EAGAIN;
    }
    if (has_logs) {
        int rc = s_check_named(data_dir, report);
        if (marker == LAYOUT_MARKER_SINGLE || s_top_single_files(data_dir)) {
            fprintf(report,
                    "damage: %s holds both layouts (%s and single-log files "
                    "or marker at its top): the node refuses to start; move "
                    "the files at the top out of %s\n",
                    data_dir, logs, data_dir);
            rc = EBADMSG;
        }
        return rc;
    }
    if (marker == LAYOUT_MARKER_NAMED) {
        fprintf(report,
                "data directory %s: named logs, none created yet (no %s)\n",
                data_dir, logs);
        return 0;
    }
    /* A single-log directory, or none: rl_log says which, as before. */
    if (marker == LAYOUT_MARKER_SINGLE)
        fprintf(report,
                "data directory %s: a single log (from before named logs; "
                "the node moves it to %s/" RL_LAYOUT_DEFAULT_LOG
                " at its next start)\n",
                data_dir, logs);
    return rl_log_check(data_dir, report);
}

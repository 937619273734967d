/*  client_driver.c - drives libraftlog for the integration tests.

        client_driver [--timeout MS] [--connect-timeout MS] [--retries N]
                      [--progress 1] [--key FILE --server-key FILE]
                      [--log NAME] ENDPOINTS COMMAND [ARGS]

    test_clients.py runs it against real nodes; it calls the library and
    prints what came back, one line per result, flushed at once so that the
    test can act (kill a leader) while it runs:

        append N PREFIX     N single-entry appends "PREFIX-k":
                            "INDEX DUPLICATE(0|1) ENDPOINT" per entry
        retry               appends "again", then sends it again with
                            raftlog_append_retry: "INDEX DUPLICATE" twice
        tail FROM COUNT     tails COUNT entries from FROM (0: the start):
                            "INDEX DATA" per entry, then "position P"
        status              "node N role R leader L"
        status-all          "node N CODE" per member (0: it answered)
        tail-time MS COUNT  tails COUNT entries from the first stamped at
                            or after MS: "INDEX TIME DATA" per entry
        consume NAME COUNT  tails COUNT entries after consumer NAME's
                            position (NOT_FOUND: from the start), printing
                            "INDEX TIME DATA" and committing each, then
                            "position P" (P as committed)
        commit NAME INDEX   "position P"
        show NAME           "NAME INDEX COMMIT FIRST"
        list                "NAME INDEX" per consumer, then "commit C"
        reset NAME INDEX    "position P"
        reset-time NAME MS  "position P"
        delete NAME         "deleted"
        logs-list           "NAME GROUP RETENTION_BYTES RETENTION_MS
                            MAX_ENTRY_BYTES" per log
        logs-create NAME RB RMS MEB      the same line for the log created
        logs-configure NAME WHICH RB RMS MEB   WHICH: a RAFTLOG_SET_* mask;
                            the same line for the log configured
        logs-delete NAME    "deleted"
        status-logs         status-all, then "log NODE NAME GROUP ROLE
                            LEADER TERM COMMIT LAST FIRST LAG" per log each
                            member reported

    --log NAME goes to raftlog_set_log (an invalid name: "error INVALID").

    Any failure prints "error NAME: message" on stderr and exits with the
    library's code (100 for UNAVAILABLE, ...); after a failed append the
    line ends with " [outcome unknown]" or " [not appended]"
    (raftlog_outcome_unknown). --progress 1 prints each retry the library
    reports as "progress: message" on stderr. --key and --server-key go
    to raftlog_set_curve (given both, or neither: then the library takes
    $RAFTLOG_KEY and $RAFTLOG_SERVER_KEY); a bad file is an error before
    the command, "error INVALID: ...".

    Why a driver rather than cmocka tests that start nodes: the harness
    already knows how to start, kill and pause real raftlog-node processes
    and to wait on conditions with deadlines; a C driver keeps that logic in
    one place (Python), and lets one test kill a leader while the library
    is in the middle of a call.
*/
#include "raftlog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What main was given, for a second client (consume). */
static const char *s_endpoints, *s_key, *s_server_key, *s_log;

static void s_print_log(const raftlog_log_info_t *log)
{
    printf("%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu32 "\n", log->name,
           log->group, log->settings.retention_bytes,
           log->settings.retention_ms, log->settings.max_entry_bytes);
}

static int s_fail(raftlog_t *client, int rc)
{
    fprintf(stderr, "error %s: %s\n", raftlog_error_name(rc),
            raftlog_error(client));
    return rc;
}

static int s_append_fail(raftlog_t *client, int rc)
{
    fprintf(stderr, "error %s: %s [%s]\n", raftlog_error_name(rc),
            raftlog_error(client),
            raftlog_outcome_unknown(client) ? "outcome unknown"
                                            : "not appended");
    return rc;
}

static void s_progress(void *arg, const char *message, int retry, int retries)
{
    (void)arg;
    fprintf(stderr, "progress: %s [%d/%d]\n", message, retry, retries);
}

static int s_run(raftlog_t *client, int argc, char **argv)
{
    const char *command = argv[0];
    int rc = 0;
    if (strcmp(command, "append") == 0 && argc == 3) {
        long count = atol(argv[1]);
        for (long k = 0; k < count; k++) {
            char data[128];
            int size = snprintf(data, sizeof(data), "%s-%ld", argv[2], k);
            uint64_t first = 0, last = 0;
            bool duplicate = false;
            raftlog_data_t entry = {data, (size_t)size};
            rc = raftlog_append_batch(client, &entry, 1, &first, &last,
                                      &duplicate);
            if (rc)
                return s_append_fail(client, rc);
            printf("%" PRIu64 " %d %s\n", first, duplicate,
                   raftlog_endpoint(client));
            fflush(stdout);
        }
    } else if (strcmp(command, "retry") == 0 && argc == 1) {
        uint64_t index = 0;
        bool duplicate = false;
        rc = raftlog_append_batch(client, &(raftlog_data_t){"again", 5}, 1,
                                  &index, NULL, &duplicate);
        if (rc)
            return s_fail(client, rc);
        printf("%" PRIu64 " %d\n", index, duplicate);
        rc = raftlog_append_retry(client, &index, NULL, &duplicate);
        if (rc)
            return s_fail(client, rc);
        printf("%" PRIu64 " %d\n", index, duplicate);
    } else if (strcmp(command, "tail") == 0 && argc == 3) {
        raftlog_tail_t *tail =
            raftlog_tail_new(client, strtoull(argv[1], NULL, 10));
        long count = atol(argv[2]);
        for (long k = 0; k < count && !rc;) {
            const raftlog_entry_t *entry;
            rc = raftlog_tail_next(tail, 2000, &entry);
            if (!rc && entry) {
                printf("%" PRIu64 " %.*s\n", entry->index, (int)entry->size,
                       (const char *)entry->data);
                fflush(stdout);
                k++;
            }
        }
        if (!rc)
            printf("position %" PRIu64 "\n", raftlog_tail_position(tail));
        raftlog_tail_destroy(&tail);
        if (rc)
            return s_fail(client, rc);
    } else if (strcmp(command, "tail-time") == 0 && argc == 3) {
        raftlog_tail_t *tail =
            raftlog_tail_new_at_time(client, strtoull(argv[1], NULL, 10));
        long count = atol(argv[2]);
        for (long k = 0; k < count && !rc;) {
            const raftlog_entry_t *entry;
            rc = raftlog_tail_next(tail, 2000, &entry);
            if (!rc && entry) {
                printf("%" PRIu64 " %" PRIu64 " %.*s\n", entry->index,
                       entry->time, (int)entry->size,
                       (const char *)entry->data);
                fflush(stdout);
                k++;
            }
        }
        raftlog_tail_destroy(&tail);
        if (rc)
            return s_fail(client, rc);
    } else if (strcmp(command, "consume") == 0 && argc == 3) {
        /* A tail borrows its client: commits go through another. */
        raftlog_t *committer = raftlog_new();
        raftlog_consumer_t consumer;
        raftlog_connect(committer, s_endpoints);
        raftlog_set_log(committer, s_log);
        if (s_key)
            raftlog_set_curve(committer, s_key, s_server_key);
        rc = raftlog_consumer_show(client, argv[1], &consumer, NULL, NULL);
        raftlog_tail_t *tail = rc == RAFTLOG_ERR_NOT_FOUND
                                   ? raftlog_tail_new(client, 1)
                                   : raftlog_tail_new_consumer(client, argv[1]);
        rc = rc == RAFTLOG_ERR_NOT_FOUND ? 0 : rc;
        long count = atol(argv[2]);
        uint64_t position = 0;
        for (long k = 0; k < count && !rc;) {
            const raftlog_entry_t *entry;
            rc = raftlog_tail_next(tail, 2000, &entry);
            if (!rc && entry) {
                printf("%" PRIu64 " %" PRIu64 " %.*s\n", entry->index,
                       entry->time, (int)entry->size,
                       (const char *)entry->data);
                fflush(stdout);
                rc = raftlog_consumer_commit(committer, argv[1], entry->index,
                                             &position);
                if (rc)
                    s_fail(committer, rc);
                k++;
            }
        }
        if (!rc)
            printf("position %" PRIu64 "\n", position);
        raftlog_tail_destroy(&tail);
        raftlog_destroy(&committer);
        if (rc)
            return s_fail(client, rc);
    } else if ((strcmp(command, "commit") == 0 ||
                strcmp(command, "reset") == 0 ||
                strcmp(command, "reset-time") == 0) &&
               argc == 3) {
        uint64_t value = strtoull(argv[2], NULL, 10), position = 0;
        rc = command[0] == 'c'
                 ? raftlog_consumer_commit(client, argv[1], value, &position)
             : strcmp(command, "reset") == 0
                 ? raftlog_consumer_reset(client, argv[1], value, &position)
                 : raftlog_consumer_reset_to_time(client, argv[1], value,
                                                  &position);
        if (rc)
            return s_fail(client, rc);
        printf("position %" PRIu64 "\n", position);
    } else if (strcmp(command, "show") == 0 && argc == 2) {
        raftlog_consumer_t consumer;
        uint64_t commit = 0, first = 0;
        rc = raftlog_consumer_show(client, argv[1], &consumer, &commit, &first);
        if (rc)
            return s_fail(client, rc);
        printf("%s %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", consumer.name,
               consumer.index, commit, first);
    } else if (strcmp(command, "list") == 0 && argc == 1) {
        const raftlog_consumer_t *consumers;
        size_t count;
        uint64_t commit = 0;
        rc = raftlog_consumers_list(client, &consumers, &count, &commit, NULL);
        if (rc)
            return s_fail(client, rc);
        for (size_t k = 0; k < count; k++)
            printf("%s %" PRIu64 "\n", consumers[k].name, consumers[k].index);
        printf("commit %" PRIu64 "\n", commit);
    } else if (strcmp(command, "delete") == 0 && argc == 2) {
        rc = raftlog_consumer_delete(client, argv[1]);
        if (rc)
            return s_fail(client, rc);
        printf("deleted\n");
    } else if (strcmp(command, "status") == 0 && argc == 1) {
        raftlog_status_t *status = malloc(sizeof(*status));
        rc = raftlog_status(client, NULL, status);
        if (!rc)
            printf("node %" PRIu64 " role %s leader %" PRIu64 "\n",
                   status->node, status->role, status->leader);
        free(status);
        if (rc)
            return s_fail(client, rc);
    } else if (strcmp(command, "status-all") == 0 && argc == 1) {
        raftlog_member_status_t *members =
            calloc(RAFTLOG_MAX_MEMBERS, sizeof(*members));
        size_t count = 0;
        rc = members ? raftlog_status_all(client, members, &count)
                     : RAFTLOG_ERR_NO_MEMORY;
        for (size_t i = 0; !rc && i < count; i++)
            printf("node %" PRIu64 " %d\n", members[i].member.id,
                   members[i].code);
        free(members);
        if (rc)
            return s_fail(client, rc);
    } else if (strcmp(command, "logs-list") == 0 && argc == 1) {
        const raftlog_log_info_t *logs;
        size_t count;
        rc = raftlog_logs_list(client, &logs, &count);
        if (rc)
            return s_fail(client, rc);
        for (size_t i = 0; i < count; i++)
            s_print_log(&logs[i]);
    } else if ((strcmp(command, "logs-create") == 0 && argc == 5) ||
               (strcmp(command, "logs-configure") == 0 && argc == 6)) {
        bool create = argc == 5;
        unsigned which = create ? 0 : (unsigned)atoi(argv[2]);
        raftlog_log_settings_t settings = {
            strtoull(argv[argc - 3], NULL, 10),
            strtoull(argv[argc - 2], NULL, 10),
            (uint32_t)strtoul(argv[argc - 1], NULL, 10)};
        raftlog_log_info_t log;
        rc = create ? raftlog_log_create(client, argv[1], &settings, &log)
                    : raftlog_log_configure(client, argv[1], &settings, which,
                                            &log);
        if (rc)
            return s_fail(client, rc);
        s_print_log(&log);
    } else if (strcmp(command, "logs-delete") == 0 && argc == 2) {
        rc = raftlog_log_delete(client, argv[1]);
        if (rc)
            return s_fail(client, rc);
        printf("deleted\n");
    } else if (strcmp(command, "status-logs") == 0 && argc == 1) {
        raftlog_member_status_t *members =
            calloc(RAFTLOG_MAX_MEMBERS, sizeof(*members));
        size_t count = 0;
        rc = members ? raftlog_status_all(client, members, &count)
                     : RAFTLOG_ERR_NO_MEMORY;
        for (size_t i = 0; !rc && i < count; i++) {
            const raftlog_log_status_t *logs;
            size_t n = 0;
            if (members[i].code == 0 &&
                raftlog_status_logs(client, i, &logs, &n) == 0)
                for (size_t k = 0; k < n; k++)
                    printf("log %" PRIu64 " %s %" PRIu64 " %s %" PRIu64
                           " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                           " %" PRIu64 "\n",
                           members[i].member.id, logs[k].name, logs[k].group,
                           logs[k].role, logs[k].leader, logs[k].term,
                           logs[k].commit, logs[k].last, logs[k].first,
                           logs[k].lag);
        }
        free(members);
        if (rc)
            return s_fail(client, rc);
    } else {
        fprintf(stderr, "client_driver: bad command; see the source\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    raftlog_t *client = raftlog_new();
    const char *key = NULL, *server_key = NULL;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        int value = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--key") == 0)
            key = argv[i + 1];
        else if (strcmp(argv[i], "--server-key") == 0)
            server_key = argv[i + 1];
        else if (strcmp(argv[i], "--timeout") == 0)
            raftlog_set_timeout(client, value);
        else if (strcmp(argv[i], "--connect-timeout") == 0)
            raftlog_set_connect_timeout(client, value);
        else if (strcmp(argv[i], "--retries") == 0)
            raftlog_set_retries(client, value);
        else if (strcmp(argv[i], "--log") == 0)
            s_log = argv[i + 1];
        else if (strcmp(argv[i], "--progress") == 0 && value)
            raftlog_set_progress(client, s_progress, NULL);
    }
    int rc = 2;
    s_key = key;
    s_server_key = server_key;
    if (i + 1 < argc) {
        s_endpoints = argv[i];
        rc = raftlog_connect(client, argv[i]);
        if (!rc)
            rc = raftlog_set_log(client, s_log);
        if (!rc && (key || server_key))
            rc = raftlog_set_curve(client, key, server_key);
        if (rc)
            s_fail(client, rc);
        else
            rc = s_run(client, argc - i - 1, argv + i + 1);
    } else {
        fprintf(stderr, "usage: client_driver [options] ENDPOINTS COMMAND\n");
    }
    raftlog_destroy(&client);
    return rc;
}

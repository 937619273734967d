/*  append_and_tail.c - append one entry to raftlog, then read the log back
    up to it: the C example of the README's "Using raftlog".

        cc append_and_tail.c $(pkg-config --cflags --libs raftlog) \
            -o append_and_tail
        ./append_and_tail [ENDPOINTS [TEXT]]

    ENDPOINTS (comma-separated) defaults to $RAFTLOG_ENDPOINTS, else the
    local cluster of scripts/run. Prints the new entry's index, then the
    last few entries up to and including it as "INDEX: DATA". On failure it
    prints the error's name and message and exits with 1.
*/
#include <raftlog.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *text = argc > 2 ? argv[2] : "hello from C";
    raftlog_t *log = raftlog_new();
    raftlog_tail_t *tail = NULL;
    uint64_t index = 0;
    if (!log)
        return 1;
    /* NULL: $RAFTLOG_ENDPOINTS, else RAFTLOG_DEFAULT_NODES. No I/O yet. */
    int rc = raftlog_connect(log, argc > 1 ? argv[1] : NULL);
    if (rc == 0) /* returns once a majority has the entry on disk */
        rc = raftlog_append(log, text, strlen(text), &index);
    if (rc == 0) {
        printf("appended at index %" PRIu64 "\n", index);
        /* Read from three entries before ours (or the oldest kept). */
        uint64_t from = index > 3 ? index - 3 : RAFTLOG_TAIL_START;
        tail = raftlog_tail_new(log, from);
        rc = tail ? 0 : RAFTLOG_ERR_NO_MEMORY;
    }
    while (rc == 0) {
        const raftlog_entry_t *entry = NULL;
        rc = raftlog_tail_next(tail, 2000, &entry);
        if (rc || !entry) /* an error, or nothing new within 2 s */
            break;
        printf("%" PRIu64 ": %.*s\n", entry->index, (int)entry->size,
               (const char *)entry->data);
        if (entry->index >= index)
            break;
    }
    if (rc)
        fprintf(stderr, "append_and_tail: %s: %s\n", raftlog_error_name(rc),
                raftlog_error(log));
    raftlog_tail_destroy(&tail);
    raftlog_destroy(&log);
    return rc ? 1 : 0;
}

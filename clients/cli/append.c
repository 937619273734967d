/*  append.c - `raftlog append`: appends the entries given as arguments,
    or read from stdin (lines, or length-prefixed binary frames), in
    batches, and prints their indexes.

    Each batch is appended atomically and at most once (the library's
    idempotent producer). An entry over the size limit stops the command
    after everything before it was appended, or, with --skip-oversized, is
    reported on stderr and skipped. The limit is the protocol's 1 MiB,
    checked here before sending; a node configured lower (--max-entry)
    answers TOO_LARGE for the whole batch, which is then split in halves
    until the entry it refuses is found, so that the valid entries around
    it still go in, in order.
*/
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A batch also ends at this many payload bytes. */
#define S_BATCH_BYTES (8u << 20)

static const cli_option_t s_options[] = {
    {CLI_O_FORMAT, "format", 0, "lines|binary",
     "stdin format: one entry per line (default), or frames of a 4-byte "
     "big-endian length and that many bytes"},
    {CLI_O_BATCH, "batch", 'b', "N",
     "send up to N entries per request (default 100)"},
    {CLI_O_QUIET, "quiet", 'q', NULL,
     "print one summary line instead of every index"},
    {CLI_O_SKIP_OVERSIZED, "skip-oversized", 0, NULL,
     "skip an entry over the size limit (each reported on stderr) instead "
     "of stopping at it"},
    {CLI_O_JSON, "json", 0, NULL,
     "print {\"first\",\"last\",\"count\"} per batch appended; with --quiet "
     "one {\"appended\",\"first\",\"last\",\"skipped\"}"},
    CLI_LOG_OPTION,
    {0, NULL, 0, NULL, NULL}};

/* A batch being gathered: copies of the entries, and where each came
   from (its line, frame or argument number). */
typedef struct {
    raftlog_data_t *entries; /* count of them, data malloc'd */
    uint64_t *numbers;       /* the source number of each */
    size_t count;            /* entries gathered */
    size_t bytes;            /* their payload bytes */
    size_t capacity;         /* room in entries and numbers */
} s_batch_t;

/* The state of one append command. */
typedef struct {
    raftlog_t *client;      /* borrowed */
    const cli_args_t *args; /* borrowed */
    const char *unit;       /* what a source number counts: "line", ... */
    s_batch_t batch;        /* being gathered */
    uint64_t appended;      /* entries acknowledged */
    uint64_t bytes;         /* their bytes */
    uint64_t first;         /* first index acknowledged, 0 none */
    uint64_t last;          /* last index acknowledged */
    uint64_t skipped;       /* entries skipped as oversized */
    size_t refused_size;    /* the smallest entry the cluster refused as too
                               large; entries this size or more are too */
    bool progress;          /* stderr is a terminal: show progress */
    double started;         /* when the command started */
    double shown;           /* when progress was last shown */
} s_append_t;

static void s_batch_clear(s_batch_t *b)
{
    for (size_t i = 0; i < b->count; i++)
        free((void *)b->entries[i].data);
    b->count = 0;
    b->bytes = 0;
}

/* Takes over data (malloc'd). */
static int s_batch_add(s_batch_t *b, void *data, size_t size, uint64_t number)
{
    if (b->count == b->capacity) {
        size_t capacity = b->capacity ? 2 * b->capacity : 64;
        raftlog_data_t *entries =
            realloc(b->entries, capacity * sizeof(raftlog_data_t));
        if (entries)
            b->entries = entries;
        uint64_t *numbers =
            entries ? realloc(b->numbers, capacity * sizeof(uint64_t)) : NULL;
        if (numbers)
            b->numbers = numbers;
        if (!entries || !numbers) {
            free(data);
            return -1;
        }
        b->capacity = capacity;
    }
    b->entries[b->count] = (raftlog_data_t){data, size};
    b->numbers[b->count] = number;
    b->count++;
    b->bytes += size;
    return 0;
}

static void s_show_progress(s_append_t *self)
{
    double now = cli_now();
    if (self->progress && now - self->started > 1.0 &&
        now - self->shown > 0.5) {
        fprintf(stderr, "\rappended %" PRIu64 " entries, %.1f MB, %.0f/s   ",
                self->appended, (double)self->bytes / 1e6,
                (double)self->appended / (now - self->started));
        self->shown = now;
    }
}

static void s_end_progress_line(s_append_t *self)
{
    if (self->progress && self->shown > 0) {
        fprintf(stderr, "\r%60s\r", "");
        self->shown = 0;
    }
}

/* A batch was appended at first..last. */
static int s_acknowledged(s_append_t *self, const raftlog_data_t *entries,
                          size_t count, uint64_t first, uint64_t last)
{
    int rc = 0;
    if (self->args->json && !self->args->quiet) {
        rc = cli_json_print(
            json_pack("{s:o,s:o,s:I}", "first", cli_json_uint(first), "last",
                      cli_json_uint(last), "count", (json_int_t)count));
    } else if (!self->args->quiet) {
        /* A batch's indexes are consecutive: first..last. */
        for (uint64_t index = first; index <= last && index != 0; index++)
            printf("%" PRIu64 "\n", index);
    }
    if (!self->first)
        self->first = first;
    self->last = last;
    self->appended += count;
    for (size_t i = 0; i < count; i++)
        self->bytes += entries[i].size;
    s_show_progress(self);
    return rc;
}

/* Entry number (of self->unit) cannot be appended: it is size bytes, over
   a limit (why). Skips it with --skip-oversized, else stops there. */
static int s_oversized(s_append_t *self, uint64_t number, size_t size,
                       const char *why)
{
    s_end_progress_line(self);
    if (self->args->skip_oversized) {
        cli_note("skipped %s %" PRIu64 ": %zu bytes, %s", self->unit, number,
                 size, why);
        self->skipped++;
        return 0;
    }
    return cli_fail(CLI_EXIT_REJECTED,
                    "%s %" PRIu64 " is %zu bytes, %s; stopped there, after "
                    "appending the %" PRIu64 " %s before it "
                    "(--skip-oversized skips such entries)",
                    self->unit, number, size, why, self->appended,
                    self->appended == 1 ? "entry" : "entries");
}

/* Appends entries[0..count) as one batch; when the cluster finds it too
   large, as two halves, down to the one entry it refuses. */
static int s_send(s_append_t *self, const raftlog_data_t *entries,
                  const uint64_t *numbers, size_t count)
{
    uint64_t first = 0, last = 0;
    int rc =
        raftlog_append_batch(self->client, entries, count, &first, &last, NULL);
    if (rc == 0)
        return s_acknowledged(self, entries, count, first, last);
    if (rc == RAFTLOG_ERR_TOO_LARGE && count > 1) {
        size_t half = count / 2;
        rc = s_send(self, entries, numbers, half);
        return rc ? rc
                  : s_send(self, entries + half, numbers + half, count - half);
    }
    if (rc == RAFTLOG_ERR_TOO_LARGE) {
        if (entries[0].size < self->refused_size)
            self->refused_size = entries[0].size;
        char why[600];
        snprintf(why, sizeof(why), "which the cluster refused (%s)",
                 raftlog_error(self->client));
        return s_oversized(self, numbers[0], entries[0].size, why);
    }
    s_end_progress_line(self);
    const char *origin =
        rc == RAFTLOG_ERR_UNAVAILABLE ? cli_endpoints_origin() : "";
    return cli_fail(cli_exit_code(rc),
                    "%s%s%s%s; %" PRIu64 " %s appended before this batch of "
                    "%zu, %s",
                    raftlog_error(self->client),
                    *origin ? " (endpoints from " : "", origin,
                    *origin ? ")" : "", self->appended,
                    self->appended == 1 ? "entry was" : "entries were", count,
                    raftlog_outcome_unknown(self->client)
                        ? "whose outcome is unknown: it may be in the log"
                        : "which was not appended");
}

static int s_flush(s_append_t *self)
{
    s_batch_t *b = &self->batch;
    int rc = b->count ? s_send(self, b->entries, b->numbers, b->count) : 0;
    s_batch_clear(b);
    return rc;
}

/* Adds entry number (data, malloc'd, taken over) to the batch, sending the
   batch when it is full. */
static int s_add(s_append_t *self, void *data, size_t size, uint64_t number)
{
    if (size > RAFTLOG_MAX_ENTRY_SIZE || size >= self->refused_size) {
        free(data);
        char why[160];
        if (size > RAFTLOG_MAX_ENTRY_SIZE)
            snprintf(why, sizeof(why),
                     "over the limit of %u bytes for one "
                     "entry",
                     RAFTLOG_MAX_ENTRY_SIZE);
        else
            snprintf(why, sizeof(why),
                     "over the cluster's limit (it "
                     "refused an entry of %zu bytes)",
                     self->refused_size);
        /* What came before goes in first. */
        int rc = self->args->skip_oversized ? 0 : s_flush(self);
        return rc ? rc : s_oversized(self, number, size, why);
    }
    if (s_batch_add(&self->batch, data, size, number))
        return cli_fail(CLI_EXIT_FAILED, "out of memory");
    if (self->batch.count >= (size_t)self->args->batch ||
        self->batch.bytes >= S_BATCH_BYTES)
        return s_flush(self);
    return 0;
}

/* Reads one line of stdin, without its newline, keeping at most keep
   bytes of it (a line longer than any entry may be is only counted, so
   that it costs no memory). *size gets its whole length. Returns 1 for a
   line, 0 at the end of the input, -1 on an error. */
static int s_read_line(char **line, size_t *room, size_t keep, size_t *size)
{
    size_t length = 0;
    int c;
    while ((c = getc_unlocked(stdin)) != EOF && c != '\n') {
        if (length < keep) {
            if (length + 1 >= *room) {
                size_t grown = *room ? 2 * *room : 4096;
                char *bigger = realloc(*line, grown);
                if (!bigger)
                    return -1;
                *line = bigger;
                *room = grown;
            }
            (*line)[length] = (char)c;
        }
        length++;
    }
    *size = length;
    if (ferror(stdin))
        return -1;
    return c == '\n' || length > 0 ? 1 : 0;
}

static int s_read_lines(s_append_t *self)
{
    char *line = NULL;
    size_t room = 0, size = 0;
    int rc = 0, got;
    uint64_t number = 0;
    while (!rc && (got = s_read_line(&line, &room, RAFTLOG_MAX_ENTRY_SIZE + 1,
                                     &size)) == 1) {
        number++;
        size_t kept = size > RAFTLOG_MAX_ENTRY_SIZE ? 0 : size;
        char *copy = malloc(kept + 1);
        if (!copy) {
            rc = cli_fail(CLI_EXIT_FAILED, "out of memory");
            break;
        }
        if (kept)
            memcpy(copy, line, kept);
        rc = s_add(self, copy, size, number);
    }
    free(line);
    if (!rc && got < 0)
        rc = cli_fail(CLI_EXIT_FAILED, "stdin: %s",
                      ferror(stdin) ? strerror(errno) : "out of memory");
    return rc;
}

/* Reads the bytes of a frame (or, for one over every limit, skips them). */
static int s_read_frame_data(uint64_t number, uint32_t length, void **data)
{
    bool keep = length <= RAFTLOG_MAX_ENTRY_SIZE;
    *data = keep ? malloc(length ? length : 1) : NULL;
    if (keep && !*data)
        return cli_fail(CLI_EXIT_FAILED, "out of memory");
    char scratch[65536];
    for (uint32_t done = 0; done < length;) {
        size_t want = length - done;
        if (!keep && want > sizeof(scratch))
            want = sizeof(scratch);
        size_t got =
            fread(keep ? (char *)*data + done : scratch, 1, want, stdin);
        if (got == 0) {
            free(*data);
            *data = NULL;
            return cli_fail(CLI_EXIT_FAILED,
                            "stdin: frame %" PRIu64 " is cut short (%u "
                            "bytes declared)",
                            number, length);
        }
        done += (uint32_t)got;
    }
    return 0;
}

static int s_read_frames(s_append_t *self)
{
    for (uint64_t number = 1;; number++) {
        unsigned char header[4];
        size_t got = fread(header, 1, 4, stdin);
        if (got == 0 && feof(stdin))
            return 0;
        if (got != 4 && ferror(stdin))
            return cli_fail(CLI_EXIT_FAILED, "stdin: %s", strerror(errno));
        if (got != 4)
            return cli_fail(CLI_EXIT_FAILED,
                            "stdin: frame %" PRIu64 " is cut short in its "
                            "length",
                            number);
        uint32_t length = (uint32_t)header[0] << 24 |
                          (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 |
                          header[3];
        if (length > RAFTLOG_MAX_ENTRY_SIZE && !self->args->skip_oversized) {
            int rc = s_flush(self);
            return rc ? rc
                      : cli_fail(CLI_EXIT_REJECTED,
                                 "stdin: frame %" PRIu64 " declares %u "
                                 "bytes, over the 1 MiB entry limit (is the "
                                 "input really --format binary? "
                                 "--skip-oversized skips such frames); "
                                 "%" PRIu64 " before it were appended",
                                 number, length, self->appended);
        }
        void *data = NULL;
        int rc = s_read_frame_data(number, length, &data);
        if (!rc)
            rc = s_add(self, data, length, number);
        if (rc)
            return rc;
    }
}

static int s_read_arguments(s_append_t *self)
{
    int rc = 0;
    for (int i = 0; i < self->args->arg_count && !rc; i++) {
        size_t size = strlen(self->args->args[i]);
        char *copy = strdup(self->args->args[i]);
        rc = copy ? s_add(self, copy, size, (uint64_t)i + 1)
                  : cli_fail(CLI_EXIT_FAILED, "out of memory");
    }
    return rc;
}

static int s_summary(const s_append_t *self)
{
    if (self->args->json)
        return cli_json_print(json_pack(
            "{s:o,s:o,s:o,s:o}", "appended", cli_json_uint(self->appended),
            "first", self->appended ? cli_json_uint(self->first) : json_null(),
            "last", self->appended ? cli_json_uint(self->last) : json_null(),
            "skipped", cli_json_uint(self->skipped)));
    if (self->appended)
        printf("appended %" PRIu64 " entries at indexes %" PRIu64 "..%" PRIu64,
               self->appended, self->first, self->last);
    else
        printf("appended 0 entries");
    if (self->skipped)
        printf(", skipped %" PRIu64, self->skipped);
    printf("\n");
    return 0;
}

static int s_append(raftlog_t *client, cli_args_t *a)
{
    int log_rc = cli_use_log(client, a);
    if (log_rc)
        return log_rc;
    bool binary = false;
    if (a->format && strcmp(a->format, "binary") == 0)
        binary = true;
    else if (a->format && strcmp(a->format, "lines") != 0)
        return cli_fail(CLI_EXIT_USAGE,
                        "--format: '%s' must be lines or binary", a->format);
    if (a->arg_count && a->format)
        return cli_fail(CLI_EXIT_USAGE, "--format is for stdin; entries were "
                                        "given as arguments");
    s_append_t self;
    memset(&self, 0, sizeof(self));
    self.client = client;
    self.args = a;
    self.unit = a->arg_count ? "argument" : binary ? "frame" : "line";
    self.refused_size = SIZE_MAX;
    self.progress = isatty(2) == 1;
    self.started = cli_now();
    int rc = a->arg_count ? s_read_arguments(&self)
             : binary     ? s_read_frames(&self)
                          : s_read_lines(&self);
    if (!rc)
        rc = s_flush(&self);
    s_batch_clear(&self.batch);
    free(self.batch.entries);
    free(self.batch.numbers);
    if (!rc)
        s_end_progress_line(&self);
    if (!rc && a->quiet)
        rc = s_summary(&self);
    if (!rc && self.appended == 0 && self.skipped == 0 && a->arg_count == 0 &&
        !a->quiet)
        cli_note("stdin held no entries");
    if (fflush(stdout) != 0 && !rc)
        rc = cli_fail(CLI_EXIT_FAILED, "stdout: %s", strerror(errno));
    return rc;
}

const cli_command_t cli_append = {
    "append",
    "[OPTIONS] [ENTRY...]",
    "append entries, print their indexes",
    "Appends each ENTRY, or, with none, the entries on stdin: one per line\n"
    "(--format lines; the newline is not part of the entry) or framed as a\n"
    "4-byte big-endian length followed by that many bytes (--format "
    "binary).\nEntries go in batches of --batch; each batch is appended "
    "atomically, at most\nonce even when retried (idempotent producer). "
    "Prints one assigned index per\nline, or a summary with --quiet; shows "
    "progress on stderr when it is a\nterminal and the input is large. An "
    "entry over the size limit (1 MiB, or\nless if the nodes say so) stops "
    "the command after the entries before it\nwere appended; "
    "--skip-oversized skips it instead. When a batch fails, the\nmessage "
    "says whether its outcome is unknown (it may be in the log) or it\nwas "
    "not appended. --log NAME appends to that named log.",
    s_options,
    s_append,
    false};

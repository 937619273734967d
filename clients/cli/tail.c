/*  tail.c - `raftlog tail`: prints committed entries in index order, and
    with -f keeps waiting for new ones, in one of four formats; from an
    index, a time (--since, --from-time), or after a durable consumer's
    committed position (--consumer), committing that position as it goes.

    The library's tail (raftlog_tail_next) does the work: it survives a
    leader change or the loss of a node without gaps or repeats. This file
    chooses where to start, prints, commits, and says where the log ends
    when the start is past it. JSON goes through jansson: an entry that is
    valid UTF-8 is printed as "data", any other as "data_base64" (czmq's
    zarmour).

    --consumer NAME is at least once: an entry's index is committed only
    after the entry was written out (stdout flushed), every --commit-every
    entries or --commit-interval ms, and on the way out (the end, --max,
    an error, or SIGINT/SIGTERM, which are caught then). A kill -9 loses
    nothing but the position of what was printed since the last commit:
    those entries are printed again by the next run.
*/
#include "cli.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>

/* How long to let a node that lags behind the leader learn the commit
   index before saying that the start is past the end of the log: a few
   heartbeats (100 ms by default). */
#define S_PAST_END_WAIT_MS 300
/* Long-poll wait with -f. */
#define S_FOLLOW_WAIT_MS 5000
/* --consumer: commit at least every so many entries, or ms. */
#define S_COMMIT_EVERY       1000
#define S_COMMIT_INTERVAL_MS 1000

static const cli_option_t s_options[] = {
    {CLI_O_FROM, "from", 0, "N", "start at index N (default: the oldest kept)"},
    {CLI_O_FROM_END, "from-end", 0, NULL, "start after what is committed now"},
    {CLI_O_SINCE, "since", 0, "DURATION",
     "start at the first entry stamped at most DURATION ago (10m, 2h, 7d; "
     "units ms, s, m, h, d, w)"},
    {CLI_O_FROM_TIME, "from-time", 0, "TIME",
     "start at the first entry stamped at or after TIME: ISO 8601 with a "
     "zone (2026-12-01T10:00:00Z) or ms since the Unix epoch"},
    {CLI_O_CONSUMER, "consumer", 0, "NAME",
     "resume after durable consumer NAME's committed position, and commit "
     "it as entries are printed (a new consumer starts where --from, "
     "--since, --from-time or --from-end say, else at the oldest entry)"},
    {CLI_O_COMMIT_EVERY, "commit-every", 0, "N",
     "--consumer: commit after every N entries printed (default 1000)"},
    {CLI_O_COMMIT_INTERVAL, "commit-interval", 0, "MS",
     "--consumer: commit what was printed at least every MS ms (default "
     "1000)"},
    {CLI_O_FOLLOW, "follow", 'f', NULL, "keep waiting for new entries"},
    {CLI_O_FORMAT, "format", 0, "raw|json|hex|binary",
     "raw: the data and a newline (default); json: {\"index\",\"time\","
     "\"data\"} per line (\"data_base64\" when not UTF-8); hex: index and "
     "hex data; binary: the framing of append --format binary"},
    {CLI_O_JSON, "json", 0, NULL, "the same as --format json"},
    {CLI_O_SHOW_TIME, "show-time", 0, NULL,
     "raw and hex: start each line with the entry's time (ISO 8601 UTC, "
     "\"-\" for an entry written before timestamps) and a tab"},
    {CLI_O_MAX, "max", 'n', "N", "stop after N entries"},
    CLI_LOG_OPTION,
    {0, NULL, 0, NULL, NULL}};

enum { S_RAW, S_JSON, S_HEX, S_BINARY };

/* Set by SIGINT or SIGTERM while a consumer tails: commit, then exit. */
static volatile sig_atomic_t s_signal;

static void s_on_signal(int signal)
{
    s_signal = signal;
}

/* One entry as a JSON object. */
static json_t *s_json_entry(zarmour_t *armour, const raftlog_entry_t *e)
{
    json_t *time = e->time ? cli_json_uint(e->time) : json_null();
    json_t *data = json_stringn((const char *)e->data, e->size);
    if (data)
        return json_pack("{s:o,s:o,s:o}", "index", cli_json_uint(e->index),
                         "time", time, "data", data);
    /* Not UTF-8 (jansson checks it strictly). zarmour asserts its input
       is not NULL, which an empty entry's may be. */
    char *base64 =
        zarmour_encode(armour, e->size ? e->data : (byte *)"", e->size);
    json_t *object =
        base64 ? json_pack("{s:o,s:o,s:s}", "index", cli_json_uint(e->index),
                           "time", time, "data_base64", base64)
               : NULL;
    if (!object)
        json_decref(time);
    zstr_free(&base64);
    return object;
}

static int s_print_entry(int format, bool show_time, zarmour_t *armour,
                         const raftlog_entry_t *e)
{
    char when[CLI_TIME_TEXT];
    switch (format) {
    case S_RAW:
        if (show_time)
            printf("%s\t", cli_time_text(e->time, when));
        fwrite(e->data, 1, e->size, stdout);
        fputc('\n', stdout);
        break;
    case S_JSON:
        return cli_json_print(s_json_entry(armour, e));
    case S_HEX:
        printf("%" PRIu64 "\t", e->index);
        if (show_time)
            printf("%s\t", cli_time_text(e->time, when));
        for (size_t i = 0; i < e->size; i++)
            printf("%02x", e->data[i]);
        fputc('\n', stdout);
        break;
    case S_BINARY: {
        uint32_t n = (uint32_t)e->size;
        unsigned char header[4] = {(unsigned char)(n >> 24),
                                   (unsigned char)(n >> 16),
                                   (unsigned char)(n >> 8), (unsigned char)n};
        fwrite(header, 1, 4, stdout);
        fwrite(e->data, 1, e->size, stdout);
        break;
    }
    }
    return 0;
}

static int s_format(const cli_args_t *a, int *format)
{
    static const char *const names[] = {"raw", "json", "hex", "binary"};
    if (a->json && a->format && strcmp(a->format, "json") != 0)
        return cli_fail(CLI_EXIT_USAGE,
                        "--json and --format %s exclude each "
                        "other",
                        a->format);
    const char *wanted = a->json ? "json" : a->format ? a->format : "raw";
    for (int i = 0; i < 4; i++)
        if (strcmp(wanted, names[i]) == 0) {
            *format = i;
            if (a->show_time && (i == S_BINARY || i == S_JSON))
                return cli_fail(CLI_EXIT_USAGE,
                                "--show-time is for --format raw and hex (json "
                                "always has \"time\"; binary has no room)");
            return 0;
        }
    return cli_fail(CLI_EXIT_USAGE,
                    "--format: '%s' must be raw, json, hex or binary", wanted);
}

/* Where a tail starts without a consumer's position: the index, the time
   (ms, 0: none), or the end. */
typedef struct {
    uint64_t from;   /* an index, RAFTLOG_TAIL_START or RAFTLOG_TAIL_END */
    uint64_t time;   /* ms since the epoch, 0: not from a time */
    const char *how; /* for the note of a new consumer */
} s_start_t;

static int s_start(const cli_args_t *a, s_start_t *start)
{
    int given = (a->from != 0) + a->from_end + (a->since != NULL) +
                (a->from_time != NULL);
    if (given > 1)
        return cli_fail(CLI_EXIT_USAGE,
                        "--from, --from-end, --since and --from-time exclude "
                        "each other");
    *start = (s_start_t){RAFTLOG_TAIL_START, 0, "at the oldest entry kept"};
    if (a->from)
        *start = (s_start_t){a->from, 0, "at the index of --from"};
    if (a->from_end)
        *start = (s_start_t){RAFTLOG_TAIL_END, 0,
                             "after what is committed now (--from-end)"};
    uint64_t ms = 0;
    if (a->since) {
        if (cli_duration("since", a->since, &ms))
            return CLI_EXIT_USAGE;
        uint64_t now = cli_wall_ms();
        *start = (s_start_t){1, now > ms ? now - ms : 1, "at --since"};
    }
    if (a->from_time) {
        if (cli_time("from-time", a->from_time, &ms))
            return CLI_EXIT_USAGE;
        *start = (s_start_t){1, ms, "at --from-time"};
    }
    return 0;
}

static raftlog_tail_t *s_new_tail(raftlog_t *client, const s_start_t *start)
{
    return start->time ? raftlog_tail_new_at_time(client, start->time)
                       : raftlog_tail_new(client, start->from);
}

/* Nothing was printed and the tail stands past the end of the log: say
   where the log ends. The node that answered may lag behind the leader
   by a heartbeat, so ask once more with a short wait first. Returns 0
   (an entry came after all: *entry) or the exit code. */
static int s_past_end(raftlog_tail_t *tail, raftlog_t *client,
                      const raftlog_entry_t **entry)
{
    int rc = raftlog_tail_next(tail, S_PAST_END_WAIT_MS, entry);
    if (rc)
        return cli_client_fail(client, rc, NULL);
    uint64_t position = raftlog_tail_position(tail);
    uint64_t commit = raftlog_tail_commit(tail);
    if (*entry || position <= commit + 1)
        return 0;
    return cli_fail(CLI_EXIT_REJECTED,
                    "index %" PRIu64 " is past the end of the log: the last "
                    "committed index is %" PRIu64 " (--from %" PRIu64
                    " or less; -f waits for new entries)",
                    position, commit, commit + 1);
}

/* A durable consumer's side of a tail: what was printed and what is
   committed. */
typedef struct {
    const char *name;      /* NULL: no consumer */
    raftlog_t *client;     /* its own: the tail borrows the other */
    uint64_t printed;      /* the last index written out */
    uint64_t committed;    /* the last index committed */
    uint64_t since_commit; /* entries printed since */
    double committed_at;   /* cli_now() of the last commit (or start) */
    bool create;           /* a new consumer: commit its start */
    bool resolved;         /* the start is known (printed is real) */
    uint64_t every;        /* --commit-every */
    double interval;       /* --commit-interval, seconds */
    bool stale_reported;   /* a STALE_SEQUENCE was said once */
} s_consumer_t;

/* Commits what was printed, once it is out of stdout's buffer. Returns 0
   or the exit code of a failure (reported). */
static int s_commit(s_consumer_t *c)
{
    if (!c->name || !c->resolved || (c->printed <= c->committed && !c->create))
        return 0;
    if (fflush(stdout) != 0)
        return cli_fail(CLI_EXIT_FAILED,
                        "stdout: %s; consumer %s not committed past %" PRIu64,
                        strerror(errno), c->name, c->committed);
    uint64_t position = 0;
    int rc = raftlog_consumer_commit(c->client, c->name, c->printed, &position);
    c->committed_at = cli_now();
    if (rc == RAFTLOG_ERR_STALE_SEQUENCE) {
        /* Someone moved it past us (a reset, or another tail of the same
           consumer): say so once, and go on printing. */
        if (!c->stale_reported)
            cli_note("consumer %s: %s (is another process tailing it?)",
                     c->name, raftlog_error(c->client));
        c->stale_reported = true;
        c->committed = c->printed;
        c->since_commit = 0;
        return 0;
    }
    if (rc)
        return cli_client_fail(c->client, rc, "committing the position");
    c->committed = c->printed;
    c->since_commit = 0;
    c->create = false;
    return 0;
}

/* After an entry was printed (or none came): commit when due. */
static int s_commit_due(s_consumer_t *c)
{
    if (c->create)
        return s_commit(c); /* the start of a new consumer, at once */
    if (!c->name || c->printed <= c->committed)
        return 0;
    if (c->since_commit >= c->every ||
        cli_now() - c->committed_at >= c->interval)
        return s_commit(c);
    return 0;
}

/* Catches SIGINT and SIGTERM without SA_RESTART: the call that waits
   returns RAFTLOG_ERR_INTERRUPTED, and the tail commits on its way out. */
static void s_catch_signals(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = s_on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

/* Makes the tail: after the consumer's position when it has one, else at
   start (a new consumer, said on stderr). */
static int s_open_tail(raftlog_t *client, const cli_args_t *a,
                       const s_start_t *start, s_consumer_t *consumer,
                       raftlog_tail_t **tail)
{
    if (!a->consumer) {
        *tail = s_new_tail(client, start);
        return *tail ? 0 : cli_fail(CLI_EXIT_FAILED, "out of memory");
    }
    raftlog_consumer_t cons;
    int rc = raftlog_consumer_show(client, a->consumer, &cons, NULL, NULL);
    if (rc == RAFTLOG_ERR_NOT_FOUND) {
        cli_note("consumer %s has no committed position: it starts %s",
                 a->consumer, start->how);
        consumer->create = true; /* made at its start once that is known */
        *tail = s_new_tail(client, start);
        return *tail ? 0 : cli_fail(CLI_EXIT_FAILED, "out of memory");
    }
    if (rc)
        return cli_client_fail(client, rc, NULL);
    if (a->from || a->from_end || a->since || a->from_time)
        cli_note("consumer %s resumes after its position, index %" PRIu64
                 " (a start option only places a new consumer; `raftlog "
                 "consumers reset` moves this one)",
                 a->consumer, cons.index);
    consumer->printed = consumer->committed = cons.index;
    consumer->resolved = true;
    *tail = raftlog_tail_new_consumer(client, a->consumer);
    return *tail ? 0 : cli_fail(CLI_EXIT_FAILED, "out of memory");
}

static int s_tail(raftlog_t *client, cli_args_t *a)
{
    int format = 0;
    s_start_t start = {RAFTLOG_TAIL_START, 0, ""};
    int rc = cli_use_log(client, a);
    if (!rc)
        rc = s_format(a, &format);
    if (!rc)
        rc = s_start(a, &start);
    if (rc)
        return rc;
    if (a->arg_count)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a->args[0]);
    if ((a->commit_every || a->commit_interval_ms) && !a->consumer)
        return cli_fail(CLI_EXIT_USAGE,
                        "--commit-every and --commit-interval go with "
                        "--consumer");
    s_consumer_t consumer = {
        .name = a->consumer,
        .every = a->commit_every ? a->commit_every : S_COMMIT_EVERY,
        .interval = (a->commit_interval_ms ? (double)a->commit_interval_ms
                                           : S_COMMIT_INTERVAL_MS) /
                    1000.0,
        .committed_at = cli_now()};
    if (a->consumer) {
        size_t length = strlen(a->consumer);
        if (length == 0 || length > RAFTLOG_MAX_CONSUMER_NAME ||
            strspn(a->consumer, "abcdefghijklmnopqrstuvwxyz0123456789._-") !=
                length)
            return cli_fail(CLI_EXIT_USAGE,
                            "--consumer: '%s' is not a consumer name: 1 to "
                            "%d characters of a-z, 0-9, '.', '_' and '-'",
                            a->consumer, RAFTLOG_MAX_CONSUMER_NAME);
        consumer.client = raftlog_new();
        if (!consumer.client)
            return cli_fail(CLI_EXIT_FAILED, "out of memory");
        rc = cli_connect(consumer.client, a);
        if (!rc)
            rc = cli_use_log(consumer.client, a);
        if (rc) {
            raftlog_destroy(&consumer.client);
            return rc;
        }
        s_catch_signals();
    }
    raftlog_tail_t *tail = NULL;
    rc = s_open_tail(client, a, &start, &consumer, &tail);
    zarmour_t *armour = zarmour_new();
    if (!rc && !armour)
        rc = cli_fail(CLI_EXIT_FAILED, "out of memory");
    uint64_t printed = 0;
    bool told_past_end = false;
    bool first = true; /* the first read answers at once: what is there */
    while (!rc && (!a->max || printed < a->max) && !s_signal) {
        const raftlog_entry_t *entry;
        /* With a position to commit, wait no longer than its interval. */
        uint32_t wait = a->follow && !first ? S_FOLLOW_WAIT_MS : 0;
        if (wait && consumer.printed > consumer.committed)
            wait = (uint32_t)(consumer.interval * 1000) + 1;
        rc = raftlog_tail_next(tail, wait, &entry);
        first = false;
        if (rc == RAFTLOG_ERR_INTERRUPTED && s_signal) {
            rc = 0;
            break;
        }
        if (rc) {
            fflush(stdout);
            const char *origin =
                rc == RAFTLOG_ERR_UNAVAILABLE ? cli_endpoints_origin() : "";
            uint64_t position = raftlog_tail_position(tail);
            char resume[64] = "";
            if (position)
                snprintf(resume, sizeof(resume),
                         " (resume with --from %" PRIu64 ")", position);
            rc =
                cli_fail(cli_exit_code(rc), "%s%s%s%s%s", raftlog_error(client),
                         *origin ? " (endpoints from " : "", origin,
                         *origin ? ")" : "", resume);
            break;
        }
        if (!entry && printed == 0 && a->from && !a->consumer &&
            !told_past_end &&
            raftlog_tail_position(tail) > raftlog_tail_commit(tail) + 1) {
            told_past_end = true;
            if (a->follow)
                cli_note("waiting for index %" PRIu64 "; the last committed "
                         "index is %" PRIu64,
                         raftlog_tail_position(tail),
                         raftlog_tail_commit(tail));
            else
                rc = s_past_end(tail, client, &entry);
        }
        if (!entry) {
            fflush(stdout);
            /* Caught up: a new consumer's start is known now (the index
               read next, less one), if the tail found it. */
            uint64_t position = raftlog_tail_position(tail);
            if (consumer.create && !consumer.resolved && position) {
                consumer.printed = position - 1;
                consumer.resolved = true;
            }
            if (!rc)
                rc = s_commit_due(&consumer);
            if (!a->follow)
                break;
            continue;
        }
        rc = s_print_entry(format, a->show_time, armour, entry);
        printed++;
        consumer.printed = entry->index;
        consumer.resolved = true;
        consumer.since_commit++;
        if (a->follow)
            fflush(stdout);
        if (!rc)
            rc = s_commit_due(&consumer);
    }
    /* On the way out, whatever ended it: commit what was printed. */
    int committed = s_commit(&consumer);
    rc = rc ? rc : committed;
    raftlog_tail_destroy(&tail);
    zarmour_destroy(&armour);
    raftlog_destroy(&consumer.client);
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = rc ? rc : cli_fail(CLI_EXIT_FAILED, "stdout: %s", strerror(errno));
    if (s_signal)
        return rc ? rc : 128 + s_signal;
    return rc;
}

const cli_command_t cli_tail = {
    "tail",
    "[OPTIONS]",
    "print committed entries, optionally following",
    "Prints committed entries in index order, from the oldest kept (or\n"
    "--from N, --from-end, --since 10m, --from-time TIME), and with -f waits\n"
    "for new ones. It survives a leader change or the loss of a node without\n"
    "gaps or repeats: it always continues from the index the last answer\n"
    "named, on any node. A --from past the end of the log (more than one\n"
    "past the last committed index) is an error (exit 4) that names the last\n"
    "index; with -f it is waited for.\n\n"
    "--consumer NAME resumes after that durable consumer's committed\n"
    "position and commits the position of what it printed, every\n"
    "--commit-every entries or --commit-interval ms and on exit (Ctrl-C\n"
    "included): at least once, an entry printed after the last commit is\n"
    "printed again by the next run if this one is killed. --log NAME reads\n"
    "that named log (its consumers are its own).",
    s_options,
    s_tail,
    false};

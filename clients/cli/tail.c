/*  tail.c - `raftlog tail`: prints committed entries in index order, and
    with -f keeps waiting for new ones, in one of four formats.

    The library's tail (raftlog_tail_next) does the work: it survives a
    leader change or the loss of a node without gaps or repeats. This file
    chooses where to start, prints, and says where the log ends when the
    start is past it. JSON goes through jansson: an entry that is valid
    UTF-8 is printed as "data", any other as "data_base64" (czmq's
    zarmour).
*/
#include "cli.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* How long to let a node that lags behind the leader learn the commit
   index before saying that the start is past the end of the log: a few
   heartbeats (100 ms by default). */
#define S_PAST_END_WAIT_MS 300

static const cli_option_t s_options[] = {
    {CLI_O_FROM, "from", 0, "N", "start at index N (default: the oldest kept)"},
    {CLI_O_FROM_END, "from-end", 0, NULL, "start after what is committed now"},
    {CLI_O_FOLLOW, "follow", 'f', NULL, "keep waiting for new entries"},
    {CLI_O_FORMAT, "format", 0, "raw|json|hex|binary",
     "raw: the data and a newline (default); json: {\"index\",\"data\"} "
     "per line (\"data_base64\" when not UTF-8); hex: index and hex "
     "data; binary: the framing of append --format binary"},
    {CLI_O_JSON, "json", 0, NULL, "the same as --format json"},
    {CLI_O_MAX, "max", 'n', "N", "stop after N entries"},
    {0, NULL, 0, NULL, NULL}};

enum { S_RAW, S_JSON, S_HEX, S_BINARY };

/* One entry as a JSON object. */
static json_t *s_json_entry(zarmour_t *armour, const raftlog_entry_t *e)
{
    json_t *data = json_stringn((const char *)e->data, e->size);
    if (data)
        return json_pack("{s:o,s:o}", "index", cli_json_uint(e->index), "data",
                         data);
    /* Not UTF-8 (jansson checks it strictly). zarmour asserts its input
       is not NULL, which an empty entry's may be. */
    char *base64 =
        zarmour_encode(armour, e->size ? e->data : (byte *)"", e->size);
    json_t *object =
        base64 ? json_pack("{s:o,s:s}", "index", cli_json_uint(e->index),
                           "data_base64", base64)
               : NULL;
    zstr_free(&base64);
    return object;
}

static int s_print_entry(int format, zarmour_t *armour,
                         const raftlog_entry_t *e)
{
    switch (format) {
    case S_RAW:
        fwrite(e->data, 1, e->size, stdout);
        fputc('\n', stdout);
        break;
    case S_JSON:
        return cli_json_print(s_json_entry(armour, e));
    case S_HEX:
        printf("%" PRIu64 "\t", e->index);
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
            return 0;
        }
    return cli_fail(CLI_EXIT_USAGE,
                    "--format: '%s' must be raw, json, hex or binary", wanted);
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

static int s_tail(raftlog_t *client, cli_args_t *a)
{
    int format = 0;
    int rc = s_format(a, &format);
    if (rc)
        return rc;
    if (a->from && a->from_end)
        return cli_fail(CLI_EXIT_USAGE,
                        "--from and --from-end exclude each other");
    if (a->arg_count)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a->args[0]);
    uint64_t from = a->from_end ? RAFTLOG_TAIL_END
                    : a->from   ? a->from
                                : RAFTLOG_TAIL_START;
    raftlog_tail_t *tail = raftlog_tail_new(client, from);
    zarmour_t *armour = zarmour_new();
    if (!tail || !armour) {
        raftlog_tail_destroy(&tail);
        zarmour_destroy(&armour);
        return cli_fail(CLI_EXIT_FAILED, "out of memory");
    }
    uint64_t printed = 0;
    bool told_past_end = false;
    bool first = true; /* the first read answers at once: what is there */
    while (!rc && (!a->max || printed < a->max)) {
        const raftlog_entry_t *entry;
        rc = raftlog_tail_next(tail, a->follow && !first ? 5000 : 0, &entry);
        first = false;
        if (rc) {
            fflush(stdout);
            const char *origin =
                rc == RAFTLOG_ERR_UNAVAILABLE ? cli_endpoints_origin() : "";
            rc = cli_fail(
                cli_exit_code(rc), "%s%s%s%s (resume with --from %" PRIu64 ")",
                raftlog_error(client), *origin ? " (endpoints from " : "",
                origin, *origin ? ")" : "", raftlog_tail_position(tail));
            break;
        }
        if (!entry && printed == 0 && a->from && !told_past_end &&
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
            if (!a->follow)
                break;
            continue;
        }
        rc = s_print_entry(format, armour, entry);
        printed++;
        if (a->follow)
            fflush(stdout);
    }
    raftlog_tail_destroy(&tail);
    zarmour_destroy(&armour);
    if (fflush(stdout) != 0 || ferror(stdout))
        return rc ? rc
                  : cli_fail(CLI_EXIT_FAILED, "stdout: %s", strerror(errno));
    return rc;
}

const cli_command_t cli_tail = {
    "tail",
    "[OPTIONS]",
    "print committed entries, optionally following",
    "Prints committed entries in index order, from the oldest kept (or\n"
    "--from N, or --from-end), and with -f waits for new ones. It survives a\n"
    "leader change or the loss of a node without gaps or repeats: it "
    "always\ncontinues from the index the last answer named, on any node. "
    "A --from past\nthe end of the log (more than one past the last "
    "committed index) is an\nerror (exit 4) that names the last index; with "
    "-f it is waited for.",
    s_options,
    s_tail,
    false};

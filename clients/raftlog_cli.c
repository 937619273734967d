/*  raftlog_cli.c - `raftlog`, the command line client.

        raftlog [OPTIONS] COMMAND [ARGS]     (raftlog help for the list)

    Each command has one table of options, which drives both the parser
    and its --help, so the two cannot disagree. Everything goes through
    libraftlog (raftlog.h); this file only turns arguments into calls and
    answers into text. Errors are one line on stderr and an exit code:

        0  done
        1  failed otherwise (unreadable input, I/O error, a bad reply)
        2  usage error (unknown option, bad value, malformed endpoint)
        3  unavailable: no node answered, no leader, or no quorum in time
           (for append: the last batch's outcome is unknown)
        4  rejected: the cluster refused the request (too large, out of
           range, a membership change under way, ...)
*/
#include "raftlog.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    S_EXIT_OK = 0,
    S_EXIT_FAILED = 1,
    S_EXIT_USAGE = 2,
    S_EXIT_UNAVAILABLE = 3,
    S_EXIT_REJECTED = 4
};

/* Option identities; one namespace for every command. */
enum {
    O_HELP = 1,
    O_CLUSTER,
    O_BROKER,
    O_TIMEOUT,
    O_CONNECT_TIMEOUT,
    O_RETRIES,
    O_FORMAT,
    O_BATCH,
    O_QUIET,
    O_FROM,
    O_FROM_END,
    O_FOLLOW,
    O_MAX,
    O_JSON
};

/* One option of a command. */
typedef struct {
    int id;              /* O_... */
    const char *name;    /* long name without "--" */
    char letter;         /* short form, 0 for none */
    const char *metavar; /* its value's name; NULL: a switch */
    const char *help;    /* one line of --help */
} s_option_t;

/* What the parser gathered. */
typedef struct {
    const char *endpoints; /* --cluster or --broker, NULL: environment */
    int timeout_ms;        /* --timeout, 0: the library's default */
    int connect_timeout_ms;
    int retries;        /* --retries, -1: the library's default */
    const char *format; /* --format */
    long batch;         /* --batch */
    bool quiet;         /* --quiet */
    uint64_t from;      /* --from, 0: the start */
    bool from_end;      /* --from-end */
    bool follow;        /* -f */
    uint64_t max;       /* --max, 0: no limit */
    bool json;          /* --json */
    bool help;          /* --help */
    char **args;        /* positional arguments */
    int arg_count;      /* how many */
} s_args_t;

typedef int (*s_command_fn)(raftlog_t *client, s_args_t *args);

/* One command. */
typedef struct {
    const char *name;          /* as typed */
    const char *synopsis;      /* after "raftlog NAME " */
    const char *summary;       /* one line for the command list */
    const char *details;       /* paragraphs for its --help */
    const s_option_t *options; /* its own options, then the common ones */
    s_command_fn run;          /* does it */
} s_command_t;

static const char *s_command_name = "raftlog";

static int s_fail(int code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "raftlog: %s: ", s_command_name);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    return code;
}

/* The exit code for a library error code. */
static int s_exit_code(int code)
{
    switch (code) {
    case RAFTLOG_OK:
        return S_EXIT_OK;
    case RAFTLOG_ERR_UNAVAILABLE:
    case RAFTLOG_ERR_TIMEOUT:
    case RAFTLOG_ERR_SHUTTING_DOWN:
    case RAFTLOG_ERR_BUSY:
    case RAFTLOG_ERR_NO_SPACE:
    case RAFTLOG_ERR_NO_LEADER:
    case RAFTLOG_ERR_INTERNAL:
        return S_EXIT_UNAVAILABLE;
    case RAFTLOG_ERR_INVALID:
        return S_EXIT_USAGE;
    case RAFTLOG_ERR_INTERRUPTED:
        return 130;
    case RAFTLOG_ERR_PROTOCOL:
    case RAFTLOG_ERR_NO_MEMORY:
        return S_EXIT_FAILED;
    default:
        return S_EXIT_REJECTED;
    }
}

static int s_client_fail(raftlog_t *client, int code, const char *what)
{
    return s_fail(s_exit_code(code), "%s%s%s", what ? what : "",
                  what ? ": " : "", raftlog_error(client));
}

/* ---- Options ---- */

static const s_option_t s_common[] = {
    {O_CLUSTER, "cluster", 'c', "ENDPOINTS",
     "the nodes' client endpoints, comma-separated (default "
     "$" RAFTLOG_ENDPOINTS_ENV ", else " RAFTLOG_DEFAULT_NODES ")"},
    {O_BROKER, "broker", 0, "[=ENDPOINT]",
     "talk to a broker instead (default " RAFTLOG_DEFAULT_BROKER ")"},
    {O_TIMEOUT, "timeout", 0, "MS",
     "wait this long for one reply (default 6000)"},
    {O_CONNECT_TIMEOUT, "connect-timeout", 0, "MS",
     "skip a node that accepts no connection this long (default 1000)"},
    {O_RETRIES, "retries", 0, "N",
     "give up after N retries (default 10; pauses grow to 1 s)"},
    {O_HELP, "help", 'h', NULL, "show this help and exit"},
    {0, NULL, 0, NULL, NULL}};

static const s_option_t s_append_options[] = {
    {O_FORMAT, "format", 0, "lines|binary",
     "stdin format: one entry per line (default), or frames of a 4-byte "
     "big-endian length and that many bytes"},
    {O_BATCH, "batch", 'b', "N",
     "send up to N entries per request (default 100)"},
    {O_QUIET, "quiet", 'q', NULL,
     "print one summary line instead of every index"},
    {0, NULL, 0, NULL, NULL}};

static const s_option_t s_tail_options[] = {
    {O_FROM, "from", 0, "N", "start at index N (default: the oldest kept)"},
    {O_FROM_END, "from-end", 0, NULL, "start after what is committed now"},
    {O_FOLLOW, "follow", 'f', NULL, "keep waiting for new entries"},
    {O_FORMAT, "format", 0, "raw|json|hex|binary",
     "raw: the data and a newline (default); json: {\"index\",\"data\"} "
     "per line (\"data_base64\" when not UTF-8); hex: index and hex "
     "data; binary: the framing of append --format binary"},
    {O_MAX, "max", 'n', "N", "stop after N entries"},
    {0, NULL, 0, NULL, NULL}};

static const s_option_t s_json_options[] = {
    {O_JSON, "json", 0, NULL, "print JSON instead of a table"},
    {0, NULL, 0, NULL, NULL}};

static const s_option_t s_no_options[] = {{0, NULL, 0, NULL, NULL}};

static const s_option_t *s_find(const s_option_t *table, const char *name,
                                size_t length, char letter)
{
    for (const s_option_t *o = table; o->name; o++)
        if (letter ? o->letter == letter
                   : strlen(o->name) == length &&
                         strncmp(o->name, name, length) == 0)
            return o;
    return NULL;
}

static int s_number(const char *option, const char *value, uint64_t min,
                    uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (!*value || *value == '-' || *end || errno || n < min || n > max)
        return s_fail(S_EXIT_USAGE,
                      "--%s: '%s' is not a whole number from %" PRIu64
                      " to %" PRIu64,
                      option, value, min, max);
    *out = n;
    return 0;
}

static int s_apply(s_args_t *a, const s_option_t *o, const char *value)
{
    uint64_t n = 0;
    switch (o->id) {
    case O_HELP:
        a->help = true;
        break;
    case O_CLUSTER:
        a->endpoints = value;
        break;
    case O_BROKER:
        a->endpoints = value ? value : RAFTLOG_DEFAULT_BROKER;
        break;
    case O_TIMEOUT:
    case O_CONNECT_TIMEOUT:
        if (s_number(o->name, value, 1, 3600000, &n))
            return S_EXIT_USAGE;
        *(o->id == O_TIMEOUT ? &a->timeout_ms : &a->connect_timeout_ms) =
            (int)n;
        break;
    case O_RETRIES:
        if (s_number(o->name, value, 0, 1000000, &n))
            return S_EXIT_USAGE;
        a->retries = (int)n;
        break;
    case O_FORMAT:
        a->format = value;
        break;
    case O_BATCH:
        if (s_number(o->name, value, 1, 65536, &n))
            return S_EXIT_USAGE;
        a->batch = (long)n;
        break;
    case O_QUIET:
        a->quiet = true;
        break;
    case O_FROM:
        if (s_number(o->name, value, 1, UINT64_MAX - 1, &a->from))
            return S_EXIT_USAGE;
        break;
    case O_FROM_END:
        a->from_end = true;
        break;
    case O_FOLLOW:
        a->follow = true;
        break;
    case O_MAX:
        if (s_number(o->name, value, 1, UINT64_MAX, &a->max))
            return S_EXIT_USAGE;
        break;
    case O_JSON:
        a->json = true;
        break;
    }
    return 0;
}

/* Parses argv[0..argc) against the command's options and the common ones;
   anything else is positional. */
static int s_parse(const s_command_t *command, int argc, char **argv,
                   s_args_t *a)
{
    bool options_done = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            a->args[a->arg_count++] = argv[i];
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        const s_option_t *o = NULL;
        const char *value = NULL;
        bool long_form = arg[1] == '-';
        if (long_form) {
            const char *name = arg + 2;
            const char *equals = strchr(name, '=');
            size_t length = equals ? (size_t)(equals - name) : strlen(name);
            o = s_find(command->options, name, length, 0);
            if (!o)
                o = s_find(s_common, name, length, 0);
            if (o && equals)
                value = equals + 1;
        } else if (arg[2] == '\0') {
            o = s_find(command->options, NULL, 0, arg[1]);
            if (!o)
                o = s_find(s_common, NULL, 0, arg[1]);
        }
        if (!o)
            return s_fail(S_EXIT_USAGE,
                          "unknown option '%s'; see 'raftlog %s "
                          "--help'",
                          arg, command->name);
        bool optional = o->metavar && o->metavar[0] == '[';
        if (o->metavar && !optional && !value) {
            if (i + 1 == argc)
                return s_fail(S_EXIT_USAGE, "option %s needs a value (%s)", arg,
                              o->metavar);
            value = argv[++i];
        } else if (!o->metavar && value) {
            return s_fail(S_EXIT_USAGE, "option --%s takes no value", o->name);
        }
        if (s_apply(a, o, value))
            return S_EXIT_USAGE;
    }
    return 0;
}

/* Prints text from column `at`, wrapped at spaces to fit in 80 columns;
   continuation lines start at column `at` too. A word that does not fit
   (a list of endpoints) may also break after a comma. */
static void s_print_wrapped(FILE *out, const char *text, int at)
{
    int column = at;
    bool glued = false; /* this piece continues a word broken at a comma */
    while (*text) {
        int word = (int)strcspn(text, " ");
        const char *comma = memchr(text, ',', (size_t)word);
        bool split =
            column + !glued + word > 79 && comma && comma + 1 < text + word;
        if (split)
            word = (int)(comma + 1 - text);
        if (column > at && column + !glued + word > 79) {
            fprintf(out, "\n%*s", at, "");
            column = at;
        } else if (column > at && !glued) {
            fputc(' ', out);
            column++;
        }
        fprintf(out, "%.*s", word, text);
        column += word;
        text += word;
        if (!split)
            text += strspn(text, " ");
        glued = split;
    }
    fputc('\n', out);
}

/* One option per entry, GNU style: "  -b, --batch N", long-only options
   lined up under the long names, the help from column 32 (on a line of its
   own below a left side too long for that). */
static void s_print_options(FILE *out, const s_option_t *table)
{
    enum { S_HELP_COLUMN = 32 };
    for (const s_option_t *o = table; o->name; o++) {
        char left[64], letter[8] = "    ";
        bool optional = o->metavar && o->metavar[0] == '[';
        if (o->letter)
            snprintf(letter, sizeof(letter), "-%c, ", o->letter);
        int width = snprintf(left, sizeof(left), "  %s--%s%s%s", letter,
                             o->name, o->metavar && !optional ? " " : "",
                             o->metavar ? o->metavar : "");
        if (width >= S_HELP_COLUMN)
            fprintf(out, "%s\n%*s", left, S_HELP_COLUMN, "");
        else
            fprintf(out, "%-*s", S_HELP_COLUMN, left);
        s_print_wrapped(out, o->help, S_HELP_COLUMN);
    }
}

static const char s_exit_codes[] =
    "Exit status: 0 done; 1 failed otherwise (bad input data, I/O); 2 usage "
    "error;\n3 unavailable (no node answered, no leader or no quorum in "
    "time; for append,\nthe last batch's outcome is unknown); 4 rejected by "
    "the cluster.\n";

static void s_command_help(const s_command_t *c)
{
    printf("usage: raftlog %s %s\n\n%s\n\n", c->name, c->synopsis, c->details);
    if (c->options[0].name) {
        printf("Options:\n");
        s_print_options(stdout, c->options);
        printf("\n");
    }
    printf("Connection options:\n");
    s_print_options(stdout, s_common);
    printf("\n%s", s_exit_codes);
}

/* ---- Connecting ---- */

static int s_setup(raftlog_t *client, const s_args_t *a)
{
    int rc = raftlog_connect(client, a->endpoints);
    if (rc)
        return s_fail(S_EXIT_USAGE, "%s", raftlog_error(client));
    if (a->timeout_ms)
        raftlog_set_timeout(client, a->timeout_ms);
    if (a->connect_timeout_ms)
        raftlog_set_connect_timeout(client, a->connect_timeout_ms);
    if (a->retries >= 0)
        raftlog_set_retries(client, a->retries);
    return 0;
}

static double s_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* ---- append ---- */

/* A batch being gathered: copies of the entries. */
typedef struct {
    raftlog_data_t *entries; /* count of them, data malloc'd */
    size_t count;            /* entries gathered */
    size_t bytes;            /* their payload bytes */
    size_t capacity;         /* room in entries */
} s_batch_t;

static void s_batch_clear(s_batch_t *b)
{
    for (size_t i = 0; i < b->count; i++)
        free((void *)b->entries[i].data);
    b->count = 0;
    b->bytes = 0;
}

/* Takes over data (malloc'd). */
static int s_batch_add(s_batch_t *b, void *data, size_t size)
{
    if (b->count == b->capacity) {
        size_t capacity = b->capacity ? 2 * b->capacity : 64;
        raftlog_data_t *grown =
            realloc(b->entries, capacity * sizeof(raftlog_data_t));
        if (!grown) {
            free(data);
            return -1;
        }
        b->entries = grown;
        b->capacity = capacity;
    }
    b->entries[b->count].data = data;
    b->entries[b->count].size = size;
    b->count++;
    b->bytes += size;
    return 0;
}

/* The state of one append command. */
typedef struct {
    raftlog_t *client; /* borrowed */
    const s_args_t *args;
    uint64_t appended; /* entries acknowledged */
    uint64_t bytes;    /* their bytes */
    uint64_t first;    /* first index acknowledged, 0 none */
    uint64_t last;     /* last index acknowledged */
    bool progress;     /* stderr is a terminal: show progress */
    double started;    /* when the command started */
    double shown;      /* when progress was last shown */
} s_append_t;

static int s_flush(s_append_t *self, s_batch_t *batch)
{
    if (batch->count == 0)
        return 0;
    uint64_t first = 0, last = 0;
    int rc = raftlog_append_batch(self->client, batch->entries, batch->count,
                                  &first, &last, NULL);
    if (rc) {
        if (self->progress && self->shown > 0)
            fputc('\n', stderr);
        return s_fail(s_exit_code(rc),
                      "%s (%" PRIu64 " entries appended "
                      "before this batch of %zu%s)",
                      raftlog_error(self->client), self->appended, batch->count,
                      s_exit_code(rc) == S_EXIT_UNAVAILABLE
                          ? ", whose outcome is unknown"
                          : ", which was not appended");
    }
    if (!self->args->quiet) {
        /* A batch's indexes are consecutive: first..last. */
        for (uint64_t index = first; index <= last; index++)
            printf("%" PRIu64 "\n", index);
    }
    if (!self->first)
        self->first = first;
    self->last = last;
    self->appended += batch->count;
    self->bytes += batch->bytes;
    s_batch_clear(batch);
    double now = s_now();
    if (self->progress && now - self->started > 1.0 &&
        now - self->shown > 0.5) {
        fprintf(stderr, "\rappended %" PRIu64 " entries, %.1f MB, %.0f/s   ",
                self->appended, (double)self->bytes / 1e6,
                (double)self->appended / (now - self->started));
        self->shown = now;
    }
    return 0;
}

static int s_add_or_flush(s_append_t *self, s_batch_t *batch, void *data,
                          size_t size)
{
    if (s_batch_add(batch, data, size))
        return s_fail(S_EXIT_FAILED, "out of memory");
    if (batch->count >= (size_t)self->args->batch || batch->bytes >= (8u << 20))
        return s_flush(self, batch);
    return 0;
}

/* Reads one frame of --format binary: 0 with *data, -1 at a clean end
   (not 1, which is S_EXIT_FAILED), or an exit code. */
static int s_read_frame(uint64_t number, void **data, size_t *size)
{
    unsigned char header[4];
    size_t got = fread(header, 1, 4, stdin);
    if (got == 0 && feof(stdin))
        return -1;
    if (got != 4)
        return s_fail(S_EXIT_FAILED,
                      ferror(stdin) ? "stdin: %s"
                                    : "stdin: frame %" PRIu64
                                      " is cut short in its length",
                      ferror(stdin) ? strerror(errno) : "", number);
    uint32_t length = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
                      (uint32_t)header[2] << 8 | header[3];
    if (length > (1u << 20))
        return s_fail(S_EXIT_REJECTED,
                      "stdin: frame %" PRIu64 " declares %u bytes, over the "
                      "1 MiB entry limit (is the input really --format "
                      "binary?)",
                      number, length);
    *data = malloc(length ? length : 1);
    if (!*data)
        return s_fail(S_EXIT_FAILED, "out of memory");
    if (fread(*data, 1, length, stdin) != length) {
        free(*data);
        return s_fail(S_EXIT_FAILED,
                      "stdin: frame %" PRIu64 " is cut short (%u bytes "
                      "declared)",
                      number, length);
    }
    *size = length;
    return 0;
}

static int s_append(raftlog_t *client, s_args_t *a)
{
    bool binary = false;
    if (a->format && strcmp(a->format, "binary") == 0)
        binary = true;
    else if (a->format && strcmp(a->format, "lines") != 0)
        return s_fail(S_EXIT_USAGE, "--format: '%s' must be lines or binary",
                      a->format);
    if (a->arg_count && a->format)
        return s_fail(S_EXIT_USAGE,
                      "--format is for stdin; entries were given as "
                      "arguments");
    s_append_t self = {client, a, 0, 0, 0, 0, isatty(2) == 1, s_now(), 0};
    s_batch_t batch = {NULL, 0, 0, 0};
    int rc = 0;
    if (a->arg_count) {
        for (int i = 0; i < a->arg_count && !rc; i++) {
            size_t size = strlen(a->args[i]);
            char *copy = strdup(a->args[i]);
            rc = copy ? s_add_or_flush(&self, &batch, copy, size)
                      : s_fail(S_EXIT_FAILED, "out of memory");
        }
    } else if (binary) {
        for (uint64_t number = 1; !rc; number++) {
            void *data = NULL;
            size_t size = 0;
            int got = s_read_frame(number, &data, &size);
            if (got == -1)
                break;
            rc = got ? got : s_add_or_flush(&self, &batch, data, size);
        }
    } else {
        char *line = NULL;
        size_t room = 0;
        ssize_t length;
        while (!rc && (length = getline(&line, &room, stdin)) >= 0) {
            if (length > 0 && line[length - 1] == '\n')
                line[--length] = '\0';
            char *copy = malloc((size_t)length + 1);
            if (!copy) {
                rc = s_fail(S_EXIT_FAILED, "out of memory");
                break;
            }
            memcpy(copy, line, (size_t)length + 1);
            rc = s_add_or_flush(&self, &batch, copy, (size_t)length);
        }
        free(line);
        if (!rc && ferror(stdin))
            rc = s_fail(S_EXIT_FAILED, "stdin: %s", strerror(errno));
    }
    if (!rc)
        rc = s_flush(&self, &batch);
    s_batch_clear(&batch);
    free(batch.entries);
    if (self.progress && self.shown > 0 && !rc)
        fprintf(stderr, "\r%60s\r", "");
    if (!rc && a->quiet) {
        if (self.appended)
            printf("appended %" PRIu64 " entries at indexes %" PRIu64
                   "..%" PRIu64 "\n",
                   self.appended, self.first, self.last);
        else
            printf("appended 0 entries\n");
    }
    if (!rc && self.appended == 0 && a->arg_count == 0 && !a->quiet)
        fprintf(stderr, "raftlog: append: stdin held no entries\n");
    return rc;
}

/* ---- tail ---- */

static bool s_is_utf8(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t more = c < 0x80         ? 0
                      : (c >> 5) == 6  ? 1
                      : (c >> 4) == 14 ? 2
                      : (c >> 3) == 30 ? 3
                                       : 9;
        if (more == 9 || i + more >= n + (more ? 0 : 1))
            return false;
        for (size_t k = 1; k <= more; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
        i += more + 1;
    }
    return true;
}

static void s_json_string(FILE *out, const uint8_t *p, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void s_base64(FILE *out, const uint8_t *p, size_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        fputc(digits[v >> 18 & 63], out);
        fputc(digits[v >> 12 & 63], out);
        fputc(i + 1 < n ? digits[v >> 6 & 63] : '=', out);
        fputc(i + 2 < n ? digits[v & 63] : '=', out);
    }
}

enum { S_RAW, S_JSON, S_HEX, S_BINARY };

static void s_print_entry(int format, const raftlog_entry_t *e)
{
    switch (format) {
    case S_RAW:
        fwrite(e->data, 1, e->size, stdout);
        fputc('\n', stdout);
        break;
    case S_JSON:
        printf("{\"index\":%" PRIu64 ",", e->index);
        if (s_is_utf8(e->data, e->size)) {
            fputs("\"data\":", stdout);
            s_json_string(stdout, e->data, e->size);
        } else {
            fputs("\"data_base64\":\"", stdout);
            s_base64(stdout, e->data, e->size);
            fputc('"', stdout);
        }
        fputs("}\n", stdout);
        break;
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
}

static int s_tail(raftlog_t *client, s_args_t *a)
{
    static const char *const formats[] = {"raw", "json", "hex", "binary"};
    int format = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(a->format ? a->format : "raw", formats[i]) == 0)
            format = i;
    if (format < 0)
        return s_fail(S_EXIT_USAGE,
                      "--format: '%s' must be raw, json, hex or binary",
                      a->format);
    if (a->from && a->from_end)
        return s_fail(S_EXIT_USAGE, "--from and --from-end exclude each other");
    if (a->arg_count)
        return s_fail(S_EXIT_USAGE, "unexpected argument '%s'", a->args[0]);
    uint64_t from = a->from_end ? RAFTLOG_TAIL_END
                    : a->from   ? a->from
                                : RAFTLOG_TAIL_START;
    raftlog_tail_t *tail = raftlog_tail_new(client, from);
    if (!tail)
        return s_fail(S_EXIT_FAILED, "out of memory");
    int rc = 0;
    uint64_t printed = 0;
    while (!a->max || printed < a->max) {
        const raftlog_entry_t *entry;
        rc = raftlog_tail_next(tail, a->follow ? 5000 : 0, &entry);
        if (rc) {
            fflush(stdout);
            rc = s_fail(s_exit_code(rc), "%s (resume with --from %" PRIu64 ")",
                        raftlog_error(client), raftlog_tail_position(tail));
            break;
        }
        if (!entry) {
            fflush(stdout);
            if (!a->follow)
                break;
            continue;
        }
        s_print_entry(format, entry);
        printed++;
        if (a->follow)
            fflush(stdout);
    }
    raftlog_tail_destroy(&tail);
    if (fflush(stdout) != 0 || ferror(stdout))
        return rc ? rc : s_fail(S_EXIT_FAILED, "stdout: %s", strerror(errno));
    return rc;
}

/* ---- status ---- */

/* One row of the cluster table. */
typedef struct {
    raftlog_member_t member;  /* from the configuration */
    raftlog_status_t *status; /* its own STATUS, NULL unreachable */
    char why[160];            /* why it is unreachable */
} s_row_t;

static const raftlog_member_t *s_view(const raftlog_status_t *leader,
                                      uint64_t id)
{
    for (size_t i = 0; leader && i < leader->member_count; i++)
        if (leader->members[i].id == id)
            return &leader->members[i];
    return NULL;
}

static int s_status(raftlog_t *client, s_args_t *a)
{
    if (a->arg_count)
        return s_fail(S_EXIT_USAGE, "unexpected argument '%s'", a->args[0]);
    raftlog_status_t *first = malloc(sizeof(*first));
    if (!first)
        return s_fail(S_EXIT_FAILED, "out of memory");
    int rc = raftlog_status(client, NULL, first);
    if (rc) {
        free(first);
        return s_client_fail(client, rc, NULL);
    }
    size_t count = first->member_count;
    s_row_t rows[RAFTLOG_MAX_MEMBERS];
    const raftlog_status_t *leader = NULL;
    /* Every member is asked once, with no retries: a member that does not
       answer is shown as unreachable rather than holding up the table. */
    raftlog_set_retries(client, 0);
    for (size_t i = 0; i < count; i++) {
        rows[i].member = first->members[i];
        rows[i].why[0] = '\0';
        rows[i].status = malloc(sizeof(raftlog_status_t));
        if (rows[i].status &&
            raftlog_status(client, rows[i].member.client, rows[i].status)) {
            snprintf(rows[i].why, sizeof(rows[i].why), "%s",
                     raftlog_error(client));
            free(rows[i].status);
            rows[i].status = NULL;
        }
        const raftlog_status_t *s = rows[i].status;
        if (s && strcmp(s->role, "leader") == 0 &&
            (!leader || s->term > leader->term))
            leader = s;
    }
    if (a->json) {
        printf("{\"leader\":%" PRIu64 ",\"term\":%" PRIu64
               ",\"commit\":%" PRIu64 ",\"members\":[",
               leader ? leader->node : 0, leader ? leader->term : 0,
               leader ? leader->commit : 0);
        for (size_t i = 0; i < count; i++) {
            const raftlog_member_t *m = &rows[i].member;
            const raftlog_status_t *s = rows[i].status;
            const raftlog_member_t *v = s_view(leader, m->id);
            printf("%s{\"id\":%" PRIu64 ",\"voter\":%s,\"client\":",
                   i ? "," : "", m->id, m->voter ? "true" : "false");
            s_json_string(stdout, (const uint8_t *)m->client,
                          strlen(m->client));
            printf(",\"peer\":");
            s_json_string(stdout, (const uint8_t *)m->peer, strlen(m->peer));
            printf(",\"reachable\":%s", s ? "true" : "false");
            if (s) {
                printf(",\"role\":\"%s\",\"term\":%" PRIu64
                       ",\"leader\":%" PRIu64 ",\"commit\":%" PRIu64
                       ",\"last\":%" PRIu64 ",\"first\":%" PRIu64,
                       s->role, s->term, s->leader, s->commit, s->last,
                       s->first);
            } else {
                printf(",\"error\":");
                s_json_string(stdout, (const uint8_t *)rows[i].why,
                              strlen(rows[i].why));
            }
            if (leader && v)
                printf(",\"match\":%" PRIu64 ",\"lag\":%" PRIu64
                       ",\"last_contact_ms\":%" PRId64,
                       v->match,
                       leader->last > v->match ? leader->last - v->match : 0,
                       v->last_contact_ms);
            printf("}");
        }
        printf("]}\n");
    } else {
        if (leader)
            printf("leader: node %" PRIu64 ", term %" PRIu64 ", commit %" PRIu64
                   ", last %" PRIu64 "\n\n",
                   leader->node, leader->term, leader->commit, leader->last);
        else
            printf("leader: none known (an election may be under way)\n\n");
        printf("%-4s %-26s %-12s %6s %10s %10s %8s %8s\n", "ID", "ENDPOINT",
               "ROLE", "TERM", "COMMIT", "LAST", "LAG", "CONTACT");
        for (size_t i = 0; i < count; i++) {
            const raftlog_member_t *m = &rows[i].member;
            const raftlog_status_t *s = rows[i].status;
            const raftlog_member_t *v = s_view(leader, m->id);
            char lag[24] = "-", contact[24] = "-";
            if (leader && v) {
                snprintf(lag, sizeof(lag), "%" PRIu64,
                         leader->last > v->match ? leader->last - v->match : 0);
                if (v->last_contact_ms >= 0 && m->id != leader->node)
                    snprintf(contact, sizeof(contact), "%" PRId64 "ms",
                             v->last_contact_ms);
            }
            if (s)
                printf("%-4" PRIu64 " %-26s %-12s %6" PRIu64 " %10" PRIu64
                       " %10" PRIu64 " %8s %8s\n",
                       m->id, m->client, s->role, s->term, s->commit, s->last,
                       lag, contact);
            else
                printf("%-4" PRIu64 " %-26s %-12s %6s %10s %10s %8s %8s\n",
                       m->id, m->client, "unreachable", "-", "-", "-", lag,
                       contact);
        }
        for (size_t i = 0; i < count; i++)
            if (!rows[i].status)
                printf("\nnode %" PRIu64 ": %s", rows[i].member.id,
                       rows[i].why);
        if (count && !leader)
            printf("\n");
        for (size_t i = 0; i < count; i++)
            if (!rows[i].status) {
                printf("\n");
                break;
            }
    }
    for (size_t i = 0; i < count; i++)
        free(rows[i].status);
    free(first);
    return 0;
}

/* ---- members, transfer-leader ---- */

static void s_print_members(const raftlog_member_t *m, size_t count, bool json)
{
    if (json) {
        printf("[");
        for (size_t i = 0; i < count; i++) {
            printf("%s{\"id\":%" PRIu64 ",\"voter\":%s,\"peer\":", i ? "," : "",
                   m[i].id, m[i].voter ? "true" : "false");
            s_json_string(stdout, (const uint8_t *)m[i].peer,
                          strlen(m[i].peer));
            printf(",\"client\":");
            s_json_string(stdout, (const uint8_t *)m[i].client,
                          strlen(m[i].client));
            printf("}");
        }
        printf("]\n");
        return;
    }
    printf("%-4s %-8s %-28s %s\n", "ID", "KIND", "PEER", "CLIENT");
    for (size_t i = 0; i < count; i++)
        printf("%-4" PRIu64 " %-8s %-28s %s\n", m[i].id,
               m[i].voter ? "voter" : "learner", m[i].peer, m[i].client);
}

static int s_members(raftlog_t *client, s_args_t *a)
{
    raftlog_member_t members[RAFTLOG_MAX_MEMBERS];
    size_t count = 0;
    const char *op = a->arg_count ? a->args[0] : "list";
    int rc;
    uint64_t id = 0;
    if (strcmp(op, "list") == 0) {
        if (a->arg_count > 1)
            return s_fail(S_EXIT_USAGE, "list takes no arguments");
        rc = raftlog_members(client, members, &count);
    } else if (strcmp(op, "add") == 0) {
        if (a->arg_count != 4)
            return s_fail(S_EXIT_USAGE, "usage: raftlog members add ID "
                                        "PEER_ENDPOINT CLIENT_ENDPOINT");
        if (s_number("members add ID", a->args[1], 1, UINT64_MAX, &id))
            return S_EXIT_USAGE;
        rc = raftlog_member_add(client, id, a->args[2], a->args[3], members,
                                &count);
    } else if (strcmp(op, "remove") == 0) {
        if (a->arg_count != 2)
            return s_fail(S_EXIT_USAGE, "usage: raftlog members remove ID");
        if (s_number("members remove ID", a->args[1], 1, UINT64_MAX, &id))
            return S_EXIT_USAGE;
        rc = raftlog_member_remove(client, id, members, &count);
    } else {
        return s_fail(S_EXIT_USAGE,
                      "'%s' is not list, add or remove; see 'raftlog members "
                      "--help'",
                      op);
    }
    if (rc)
        return s_client_fail(client, rc, NULL);
    s_print_members(members, count, a->json);
    return 0;
}

static int s_transfer(raftlog_t *client, s_args_t *a)
{
    uint64_t target = 0, leader = 0;
    if (a->arg_count > 1)
        return s_fail(S_EXIT_USAGE, "give at most one node id");
    if (a->arg_count &&
        s_number("transfer-leader ID", a->args[0], 1, UINT64_MAX, &target))
        return S_EXIT_USAGE;
    int rc = raftlog_transfer(client, target, &leader);
    if (rc)
        return s_client_fail(client, rc, NULL);
    printf("node %" PRIu64 " leads now\n", leader);
    return 0;
}

/* ---- Commands ---- */

static const s_command_t s_commands[] = {
    {"append", "[OPTIONS] [ENTRY...]", "append entries, print their indexes",
     "Appends each ENTRY, or, with none, the entries on stdin: one per line\n"
     "(--format lines; the newline is not part of the entry) or framed as a\n"
     "4-byte big-endian length followed by that many bytes (--format "
     "binary).\nEntries go in batches of --batch; each batch is appended "
     "atomically, at most\nonce even when retried (idempotent producer). "
     "Prints one assigned index per\nline, or a summary with --quiet; shows "
     "progress on stderr when it is a\nterminal and the input is large.",
     s_append_options, s_append},
    {"tail", "[OPTIONS]", "print committed entries, optionally following",
     "Prints committed entries in index order, from the oldest kept (or\n"
     "--from N, or --from-end), and with -f waits for new ones. It survives a\n"
     "leader change or the loss of a node without gaps or repeats: it "
     "always\ncontinues from the index the last answer named, on any node.",
     s_tail_options, s_tail},
    {"status", "[--json]", "the cluster at a glance",
     "Asks every member for its STATUS and prints one row each: role, term,\n"
     "commit and last index, and, from the leader's view, replication lag\n"
     "(entries behind the leader's last index) and time since last contact.",
     s_json_options, s_status},
    {"members", "list|add ID PEER CLIENT|remove ID [--json]",
     "list, add or remove cluster members",
     "list prints the configuration. add makes a new server (started with\n"
     "raftlog-node --join) a learner, promoted to voter once caught up; "
     "remove\ntakes one out. Both return once the change has committed and "
     "print the new\nconfiguration; one change at a time.",
     s_json_options, s_members},
    {"transfer-leader", "[ID]", "move leadership to node ID (or the best)",
     "Asks the leader to hand over to node ID, or with no ID to the most\n"
     "up-to-date follower, and prints the new leader.",
     s_no_options, s_transfer},
};

#define S_COMMAND_COUNT (sizeof(s_commands) / sizeof(s_commands[0]))

static void s_usage(FILE *out)
{
    fprintf(out, "usage: raftlog [--cluster ENDPOINTS | --broker[=ENDPOINT]] "
                 "COMMAND [ARGS]\n\nThe command line client of raftlog, a "
                 "replicated append-only log.\n\nCommands:\n");
    for (size_t i = 0; i < S_COMMAND_COUNT; i++)
        fprintf(out, "  %-16s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf(out,
            "  %-16s %s\n\nConnection options (before or after the "
            "command):\n",
            "help [COMMAND]", "this help, or a command's");
    s_print_options(out, s_common);
    fprintf(out,
            "\nEndpoints: --cluster, else --broker, else $%s, else\n%s.\n\n%s",
            RAFTLOG_ENDPOINTS_ENV, RAFTLOG_DEFAULT_NODES, s_exit_codes);
}

static const s_command_t *s_lookup(const char *name)
{
    for (size_t i = 0; i < S_COMMAND_COUNT; i++)
        if (strcmp(s_commands[i].name, name) == 0)
            return &s_commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    /* A command line tool dies on Ctrl-C like any other; czmq must not
       catch the signal. */
    zsys_handler_set(NULL);
    s_args_t a;
    memset(&a, 0, sizeof(a));
    a.retries = -1;
    a.batch = 100;
    a.args = calloc((size_t)argc + 1, sizeof(char *));
    if (!a.args)
        return S_EXIT_FAILED;
    /* Connection options may come before the command. */
    static const s_command_t global = {"", "", "", "", s_no_options, NULL};
    int i = 1;
    while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--version")) {
        const s_option_t *o = NULL;
        const char *name = argv[i] + (argv[i][1] == '-' ? 2 : 1);
        size_t length = strcspn(name, "=");
        if (argv[i][1] == '-')
            o = s_find(s_common, name, length, 0);
        else if (argv[i][1] && !argv[i][2])
            o = s_find(s_common, NULL, 0, argv[i][1]);
        int take =
            o && o->metavar && o->metavar[0] != '[' && !name[length] ? 2 : 1;
        if (!o || i + take > argc)
            break;
        int rc = s_parse(&global, take, argv + i, &a);
        if (rc) {
            free(a.args);
            return rc;
        }
        i += take;
    }
    int rc = 0;
    if (i < argc && strcmp(argv[i], "--version") == 0) {
        printf("raftlog %s\n", RAFTLOG_VERSION);
    } else if (i == argc && !a.help) {
        s_usage(stderr);
        rc = S_EXIT_USAGE;
    } else if (a.help || strcmp(argv[i], "help") == 0) {
        const char *name = i == argc                 ? NULL
                           : strcmp(argv[i], "help") ? argv[i]
                           : i + 1 < argc            ? argv[i + 1]
                                                     : NULL;
        const s_command_t *c = name ? s_lookup(name) : NULL;
        if (name && !c)
            rc = s_fail(S_EXIT_USAGE,
                        "'%s' is not a command; see 'raftlog "
                        "help'",
                        name);
        else if (c)
            s_command_help(c);
        else
            s_usage(stdout);
    } else {
        const s_command_t *c = s_lookup(argv[i]);
        if (!c) {
            rc = s_fail(S_EXIT_USAGE,
                        "'%s' is not a command; see 'raftlog "
                        "help'",
                        argv[i]);
        } else {
            s_command_name = c->name;
            rc = s_parse(c, argc - i - 1, argv + i + 1, &a);
            if (!rc && a.help) {
                s_command_help(c);
            } else if (!rc) {
                raftlog_t *client = raftlog_new();
                if (!client)
                    rc = s_fail(S_EXIT_FAILED, "out of memory");
                else if (!(rc = s_setup(client, &a)))
                    rc = c->run(client, &a);
                raftlog_destroy(&client);
            }
        }
    }
    free(a.args);
    return rc;
}

/*  options.c - `raftlog`'s options: parsing with getopt_long, --help's
    option tables, and "did you mean" for a mistyped word.

    Each command has one table of options (cli_option_t), which drives both
    the parser and its --help, so the two cannot disagree. The table is
    turned into getopt_long's struct option array and short-option string
    on the fly. getopt_long runs with opterr = 0: its errors are reported
    here, in raftlog's one-line format and with a suggestion.
*/
#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const cli_option_t cli_common_options[] = {
    {CLI_O_CLUSTER, "cluster", 'c', "ENDPOINTS",
     "the nodes' client endpoints, comma-separated (default "
     "$" RAFTLOG_ENDPOINTS_ENV ", else " RAFTLOG_DEFAULT_NODES ")"},
    {CLI_O_BROKER, "broker", 0, "[=ENDPOINT]",
     "talk to a broker instead (default " RAFTLOG_DEFAULT_BROKER ")"},
    {CLI_O_TIMEOUT, "timeout", 0, "MS",
     "wait this long for one reply (default 6000)"},
    {CLI_O_CONNECT_TIMEOUT, "connect-timeout", 0, "MS",
     "skip a node that accepts no connection this long (default 1000)"},
    {CLI_O_RETRIES, "retries", 0, "N",
     "give up after N retries (default 10; pauses grow to 1 s; following "
     "a redirect to the leader is not a retry)"},
    {CLI_O_KEY, "key", 0, "FILE",
     "this client's certificate, the NAME_secret file of `raftlog keygen "
     "NAME` (default $" RAFTLOG_KEY_ENV "): connect with CURVE"},
    {CLI_O_SERVER_KEY, "server-key", 0, "FILE",
     "the server's public certificate (the nodes' front door, or the "
     "broker's; default $" RAFTLOG_SERVER_KEY_ENV ")"},
    {CLI_O_HELP, "help", 'h', NULL, "show this help and exit"},
    {0, NULL, 0, NULL, NULL}};

/* What a local command (keygen) accepts besides its own options. */
static const cli_option_t s_help_only[] = {
    {CLI_O_HELP, "help", 'h', NULL, "show this help and exit"},
    {0, NULL, 0, NULL, NULL}};

/* Only before a command. */
static const cli_option_t s_global_only[] = {
    {CLI_O_VERSION, "version", 0, NULL, "print the version and exit"},
    {0, NULL, 0, NULL, NULL}};

/* Every option of every command, for telling "unknown" from "misplaced". */
static const cli_command_t *const s_commands[] = {
    &cli_append,    &cli_tail,     &cli_status, &cli_health,
    &cli_members,   &cli_transfer, &cli_keygen, &cli_top,
    &cli_consumers, &cli_logs,     NULL};

#define S_MAX_OPTIONS 32

/* The options a parse accepts: tables joined, and their getopt form. */
typedef struct {
    const cli_option_t *all[S_MAX_OPTIONS]; /* joined tables */
    size_t count;                           /* how many */
    struct option longs[S_MAX_OPTIONS + 1]; /* for getopt_long */
    char shorts[2 * S_MAX_OPTIONS + 4];     /* for getopt_long */
} s_accepted_t;

static void s_accept(s_accepted_t *self, const cli_option_t *table)
{
    for (const cli_option_t *o = table; o && o->name; o++) {
        assert(self->count < S_MAX_OPTIONS);
        self->all[self->count] = o;
        bool optional = o->metavar && o->metavar[0] == '[';
        self->longs[self->count] =
            (struct option){o->name,
                            !o->metavar ? no_argument
                            : optional  ? optional_argument
                                        : required_argument,
                            NULL, o->id};
        if (o->letter) {
            size_t n = strlen(self->shorts);
            self->shorts[n++] = o->letter;
            if (o->metavar)
                self->shorts[n++] = ':';
            self->shorts[n] = '\0';
        }
        self->count++;
    }
    self->longs[self->count] = (struct option){NULL, 0, NULL, 0};
}

static const cli_option_t *s_by_id(const s_accepted_t *self, int id)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->all[i]->id == id || (id < 256 && self->all[i]->letter == id))
            return self->all[i];
    return NULL;
}

/* Levenshtein distance, for suggestions; words are short. */
static size_t s_distance(const char *a, const char *b)
{
    size_t n = strlen(b);
    if (n > 63)
        return 64;
    size_t row[64];
    for (size_t j = 0; j <= n; j++)
        row[j] = j;
    for (size_t i = 1; a[i - 1]; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= n; j++) {
            size_t above = row[j];
            size_t best = diagonal + (a[i - 1] != b[j - 1]);
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[n];
}

const char *cli_suggest(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    size_t best_distance = SIZE_MAX;
    size_t length = strlen(word);
    for (const char *const *c = candidates; *c; c++) {
        /* A word that starts the candidate ("trans", "stat") counts as a
           near miss too. */
        size_t d = length >= 2 && strncmp(*c, word, length) == 0
                       ? 1
                       : s_distance(word, *c);
        if (d < best_distance) {
            best = *c;
            best_distance = d;
        }
    }
    /* One or two edits, and fewer than a third of the word. */
    size_t allowed = length < 4 ? 1 : length < 7 ? 2 : 3;
    return best_distance <= allowed ? best : NULL;
}

/* "; did you mean '--NAME'?" for an unknown long option, or "". */
static void s_option_suggestion(const s_accepted_t *accepted, const char *arg,
                                char *out, size_t size)
{
    out[0] = '\0';
    if (strncmp(arg, "--", 2) != 0)
        return;
    char word[64];
    snprintf(word, sizeof(word), "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
    const char *names[S_MAX_OPTIONS + 1];
    for (size_t i = 0; i < accepted->count; i++)
        names[i] = accepted->all[i]->name;
    names[accepted->count] = NULL;
    const char *best = cli_suggest(word, names);
    if (best)
        snprintf(out, size, "; did you mean '--%s'?", best);
}

/* The commands that have this long option (so it is misplaced, not
   unknown): how many, and the first in *first. */
static size_t s_owners(const char *arg, const cli_command_t **first)
{
    size_t count = 0;
    if (strncmp(arg, "--", 2) != 0)
        return 0;
    size_t length = strcspn(arg + 2, "=");
    for (const cli_command_t *const *c = s_commands; *c; c++)
        for (const cli_option_t *o = (*c)->options; o->name; o++)
            if (strlen(o->name) == length &&
                strncmp(o->name, arg + 2, length) == 0) {
                if (count++ == 0)
                    *first = *c;
                break;
            }
    return count;
}

static int s_apply(cli_args_t *a, const cli_option_t *o, const char *value)
{
    uint64_t n = 0;
    switch (o->id) {
    case CLI_O_HELP:
        a->help = true;
        break;
    case CLI_O_VERSION:
        a->version = true;
        break;
    case CLI_O_CLUSTER:
        /* --cluster wins over --broker, wherever each is. */
        a->endpoints = value;
        a->endpoints_flag = "--cluster";
        break;
    case CLI_O_BROKER:
        if (a->endpoints_flag && strcmp(a->endpoints_flag, "--cluster") == 0)
            break;
        a->endpoints = value ? value : RAFTLOG_DEFAULT_BROKER;
        a->endpoints_flag = "--broker";
        break;
    case CLI_O_TIMEOUT:
    case CLI_O_CONNECT_TIMEOUT:
        if (cli_number(o->name, value, 1, 3600000, &n))
            return CLI_EXIT_USAGE;
        *(o->id == CLI_O_TIMEOUT ? &a->timeout_ms : &a->connect_timeout_ms) =
            (int)n;
        break;
    case CLI_O_RETRIES:
        if (cli_number(o->name, value, 0, 1000000, &n))
            return CLI_EXIT_USAGE;
        a->retries = (int)n;
        break;
    case CLI_O_FORMAT:
        a->format = value;
        break;
    case CLI_O_BATCH:
        if (cli_number(o->name, value, 1, 65536, &n))
            return CLI_EXIT_USAGE;
        a->batch = (long)n;
        break;
    case CLI_O_QUIET:
        a->quiet = true;
        break;
    case CLI_O_SKIP_OVERSIZED:
        a->skip_oversized = true;
        break;
    case CLI_O_FROM:
        if (cli_number(o->name, value, 1, UINT64_MAX - 1, &a->from))
            return CLI_EXIT_USAGE;
        break;
    case CLI_O_FROM_END:
        a->from_end = true;
        break;
    case CLI_O_FOLLOW:
        a->follow = true;
        break;
    case CLI_O_MAX:
        if (cli_number(o->name, value, 1, UINT64_MAX, &a->max))
            return CLI_EXIT_USAGE;
        break;
    case CLI_O_JSON:
        a->json = true;
        break;
    case CLI_O_KEY:
        a->key = value;
        break;
    case CLI_O_SERVER_KEY:
        a->server_key = value;
        break;
    case CLI_O_ROLE:
        a->role = value;
        break;
    case CLI_O_NODE_ID:
        if (cli_number(o->name, value, 1, UINT64_MAX, &a->node_id))
            return CLI_EXIT_USAGE;
        break;
    case CLI_O_DIR:
        a->dir = value;
        break;
    case CLI_O_FORCE:
        a->force = true;
        break;
    case CLI_O_ONCE:
        a->once = true;
        break;
    case CLI_O_INTERVAL:
        if (cli_number(o->name, value, 100, 3600000, &n))
            return CLI_EXIT_USAGE;
        a->interval_ms = (int)n;
        break;
    case CLI_O_SHOW_TIME:
        a->show_time = true;
        break;
    case CLI_O_SINCE:
        a->since = value;
        break;
    case CLI_O_FROM_TIME:
        a->from_time = value;
        break;
    case CLI_O_CONSUMER:
        a->consumer = value;
        break;
    case CLI_O_COMMIT_EVERY:
        if (cli_number(o->name, value, 1, UINT32_MAX, &a->commit_every))
            return CLI_EXIT_USAGE;
        break;
    case CLI_O_COMMIT_INTERVAL:
        if (cli_number(o->name, value, 1, 3600000, &a->commit_interval_ms))
            return CLI_EXIT_USAGE;
        break;
    case CLI_O_TO:
        a->to = value;
        break;
    case CLI_O_TO_TIME:
        a->to_time = value;
        break;
    case CLI_O_LOG:
        a->log = value;
        break;
    case CLI_O_RETENTION:
        a->retention = value;
        break;
    case CLI_O_RETENTION_AGE:
        a->retention_age = value;
        break;
    case CLI_O_MAX_ENTRY:
        a->max_entry = value;
        break;
    }
    return 0;
}

/* getopt_long said '?' or ':' about argv[optind - 1]: explain. */
static int s_explain(const cli_command_t *command, const s_accepted_t *accepted,
                     int result, const char *arg)
{
    const cli_option_t *o = optopt ? s_by_id(accepted, optopt) : NULL;
    if (result == ':' && o)
        return cli_fail(CLI_EXIT_USAGE, "option --%s needs a value (%s)",
                        o->name, o->metavar);
    if (o && strchr(arg, '='))
        return cli_fail(CLI_EXIT_USAGE, "option --%s takes no value", o->name);
    char shown[80];
    if (optopt && optopt < 256)
        snprintf(shown, sizeof(shown), "-%c", optopt);
    else
        snprintf(shown, sizeof(shown), "%.*s", (int)strcspn(arg, "="), arg);
    const cli_command_t *owner = NULL;
    size_t owners = command ? 0 : s_owners(arg, &owner);
    if (owners)
        return cli_fail(CLI_EXIT_USAGE,
                        "%s is an option of %s, not of raftlog itself: put it "
                        "after the command (raftlog %s %s)",
                        shown, owners == 1 ? owner->name : "commands",
                        owners == 1 ? owner->name : "COMMAND", shown);
    char suggestion[80];
    s_option_suggestion(accepted, shown, suggestion, sizeof(suggestion));
    if (command)
        return cli_fail(CLI_EXIT_USAGE,
                        "unknown option '%s'%s (see 'raftlog %s "
                        "--help')",
                        shown, suggestion, command->name);
    return cli_fail(CLI_EXIT_USAGE,
                    "unknown option '%s'%s (see 'raftlog --help')", shown,
                    suggestion);
}

int cli_parse(const cli_command_t *command, int argc, char **argv,
              cli_args_t *a, int *next)
{
    s_accepted_t accepted;
    memset(&accepted, 0, sizeof(accepted));
    /* '+': stop at the command; ':': report a missing value as ':'. */
    strcpy(accepted.shorts, command ? ":" : "+:");
    if (command)
        s_accept(&accepted, command->options);
    s_accept(&accepted,
             command && command->local ? s_help_only : cli_common_options);
    if (!command)
        s_accept(&accepted, s_global_only);
    optind = 0; /* glibc: start afresh (the previous parse used another
                   option string) */
    opterr = 0;
    int result;
    while ((result = getopt_long(argc, argv, accepted.shorts, accepted.longs,
                                 NULL)) != -1) {
        if (result == '?' || result == ':')
            return s_explain(command, &accepted, result, argv[optind - 1]);
        int rc = s_apply(a, s_by_id(&accepted, result), optarg);
        if (rc)
            return rc;
    }
    if (next)
        *next = optind;
    if (command)
        for (int i = optind; i < argc; i++)
            a->args[a->arg_count++] = argv[i];
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

void cli_print_options(FILE *out, const cli_option_t *table)
{
    enum { S_HELP_COLUMN = 32 };
    for (const cli_option_t *o = table; o->name; o++) {
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

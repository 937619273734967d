/*  cli.h - what the files of `raftlog`, the command line client, share:
    the parsed arguments, the shape of a command, exit codes, and the
    helpers for errors, JSON output and the cluster view.

    One file per command (append.c, tail.c, status.c, health.c,
    members.c, transfer.c, keygen.c, top.c, consumers.c, logs.c) defines
    its cli_command_t; main.c
    dispatches; options.c parses with getopt_long and prints help;
    output.c holds errors, exit codes and JSON; connect.c sets up the
    client (endpoints, keys); cluster.c asks every member and judges the
    quorum.
*/
#ifndef RAFTLOG_CLI_H
#define RAFTLOG_CLI_H

#include "raftlog.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (docs/CLIENTS.md, "Exit status"). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILED = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_UNAVAILABLE = 3,
    CLI_EXIT_REJECTED = 4
};

/* Option identities: getopt_long's value for the long form, above every
   character so that a short form (its letter) can never be mistaken for
   another option. One namespace for every command. */
enum {
    CLI_O_HELP = 256,
    CLI_O_CLUSTER,
    CLI_O_BROKER,
    CLI_O_TIMEOUT,
    CLI_O_CONNECT_TIMEOUT,
    CLI_O_RETRIES,
    CLI_O_VERSION,
    CLI_O_FORMAT,
    CLI_O_BATCH,
    CLI_O_QUIET,
    CLI_O_SKIP_OVERSIZED,
    CLI_O_FROM,
    CLI_O_FROM_END,
    CLI_O_FOLLOW,
    CLI_O_MAX,
    CLI_O_JSON,
    CLI_O_KEY,
    CLI_O_SERVER_KEY,
    CLI_O_ROLE,
    CLI_O_NODE_ID,
    CLI_O_DIR,
    CLI_O_FORCE,
    CLI_O_ONCE,            /* top */
    CLI_O_INTERVAL,        /* top */
    CLI_O_SHOW_TIME,       /* tail */
    CLI_O_SINCE,           /* tail */
    CLI_O_FROM_TIME,       /* tail */
    CLI_O_CONSUMER,        /* tail */
    CLI_O_COMMIT_EVERY,    /* tail --consumer */
    CLI_O_COMMIT_INTERVAL, /* tail --consumer */
    CLI_O_TO,              /* consumers reset */
    CLI_O_TO_TIME,         /* consumers reset */
    CLI_O_LOG,             /* append, tail, status, consumers */
    CLI_O_RETENTION,       /* logs create, configure */
    CLI_O_RETENTION_AGE,   /* logs create, configure */
    CLI_O_MAX_ENTRY        /* logs create, configure */
};

/* One option of a command; a table ends with a NULL name. */
typedef struct {
    int id;              /* CLI_O_... */
    const char *name;    /* long name without "--" */
    char letter;         /* short form, 0 for none */
    const char *metavar; /* its value's name; NULL: a switch; "[=X]":
                            an optional value, given with '=' */
    const char *help;    /* one line of --help (wrapped when printed) */
} cli_option_t;

/* What the parser gathered. */
typedef struct {
    const char *endpoints;       /* --cluster or --broker; NULL: environment */
    const char *endpoints_flag;  /* "--cluster" or "--broker", NULL none */
    int timeout_ms;              /* --timeout, 0: the library's default */
    int connect_timeout_ms;      /* --connect-timeout, 0: the default */
    int retries;                 /* --retries, -1: the library's default */
    const char *key;             /* --key, NULL: $RAFTLOG_KEY */
    const char *server_key;      /* --server-key, NULL: $RAFTLOG_SERVER_KEY */
    const char *format;          /* --format */
    long batch;                  /* --batch */
    bool quiet;                  /* --quiet */
    bool skip_oversized;         /* --skip-oversized */
    uint64_t from;               /* --from, 0: the start */
    bool from_end;               /* --from-end */
    bool follow;                 /* --follow */
    uint64_t max;                /* --max, 0: no limit */
    bool json;                   /* --json */
    const char *role;            /* keygen --role, NULL: consumer */
    uint64_t node_id;            /* keygen --node-id, 0: none */
    const char *dir;             /* keygen --dir, NULL: "." */
    bool force;                  /* keygen --force */
    bool once;                   /* --once (top) */
    int interval_ms;             /* --interval (top), 0: its default */
    bool show_time;              /* tail --show-time */
    const char *since;           /* tail --since DURATION, NULL: none */
    const char *from_time;       /* tail --from-time TIME, NULL: none */
    const char *consumer;        /* tail --consumer NAME, NULL: none */
    uint64_t commit_every;       /* tail --commit-every N, 0: default */
    uint64_t commit_interval_ms; /* tail --commit-interval MS, 0: default */
    const char *to;              /* consumers reset --to, NULL: none */
    const char *to_time;         /* consumers reset --to-time, NULL: none */
    const char *log;             /* --log NAME, NULL: $RAFTLOG_LOG */
    const char *retention;       /* logs --retention SIZE, NULL: none */
    const char *retention_age;   /* logs --retention-age DUR, NULL: none */
    const char *max_entry;       /* logs --max-entry SIZE, NULL: none */
    bool help;                   /* --help */
    bool version;                /* --version */
    char **args;                 /* positional arguments */
    int arg_count;               /* how many */
} cli_args_t;

/* One command. */
typedef struct {
    const char *name;            /* as typed */
    const char *synopsis;        /* after "raftlog NAME " in its usage */
    const char *summary;         /* one line for the command list */
    const char *details;         /* paragraphs for its --help */
    const cli_option_t *options; /* its own options (the common ones too,
                                    unless local) */
    int (*run)(raftlog_t *client, cli_args_t *args);
    bool local; /* talks to no server: no client (run gets NULL), no
                   connection options */
} cli_command_t;

extern const cli_command_t cli_append;
extern const cli_command_t cli_tail;
extern const cli_command_t cli_status;
extern const cli_command_t cli_health;
extern const cli_command_t cli_members;
extern const cli_command_t cli_transfer;
extern const cli_command_t cli_keygen;
extern const cli_command_t cli_top;
extern const cli_command_t cli_consumers;
extern const cli_command_t cli_logs;

/* The --log option of the commands that work on one log. */
#define CLI_LOG_OPTION                                                         \
    {                                                                          \
        CLI_O_LOG, "log", 0, "NAME",                                           \
            "the named log to work on (default $" RAFTLOG_LOG_ENV              \
            ", else " RAFTLOG_DEFAULT_LOG "; see `raftlog logs list`)"         \
    }

/* ---- options.c ---- */

/* The connection options, valid before or after any command. */
extern const cli_option_t cli_common_options[];

/* Parses argv[1..argc) (argv[0] is the command's or program's name):
   for command NULL the options before the command (stopping at the first
   word that is not an option; *next gets its position), otherwise the
   command's options and the common ones in any order, the rest being
   positional. Returns 0 or an exit code, with the error printed. */
int cli_parse(const cli_command_t *command, int argc, char **argv,
              cli_args_t *args, int *next);

/* Prints a table of options, GNU style, wrapped at 80 columns. */
void cli_print_options(FILE *out, const cli_option_t *table);

/* The candidate closest to word (a typo of it, or a word it starts),
   NULL when none is close. candidates ends with NULL. */
const char *cli_suggest(const char *word, const char *const *candidates);

/* ---- output.c ---- */

/* The name errors are prefixed with ("raftlog: NAME: ..."); NULL: none. */
void cli_set_command(const char *name);

/* Prints "raftlog: [COMMAND: ]message" on stderr; returns code. */
int cli_fail(int code, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "raftlog: COMMAND: message" on stderr (a note, not a failure). */
void cli_note(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* The exit code for a library error code. */
int cli_exit_code(int code);

/* Reports the library's failure (with what, if not NULL, before it) and
   returns its exit code. When the cluster was unreachable it says where
   the endpoints came from. */
int cli_client_fail(raftlog_t *client, int code, const char *what);

/* Parses a whole number from min to max for option (named in the error). */
int cli_number(const char *option, const char *value, uint64_t min,
               uint64_t max, uint64_t *out);

/* A size for option: a whole number of bytes with an optional binary
   suffix K, M, G or T (KiB and KB mean the same: 1024), from min to max,
   into *bytes. Returns 0 or an exit code with the error printed. */
int cli_size(const char *option, const char *value, uint64_t min, uint64_t max,
             uint64_t *bytes);

/* Seconds on a monotonic clock. */
double cli_now(void);

/* A duration for option: a whole number and a unit, ms, s, m, h, d or w
   ("10m"), into *ms. Returns 0 or an exit code with the error printed. */
int cli_duration(const char *option, const char *value, uint64_t *ms);

/* A point in time for option: ISO 8601 with a zone, as
   2026-12-01T10:00:00Z, 2026-12-01T10:00:00.250+01:00 (seconds and
   fraction optional), or a plain number of ms since the Unix epoch; into
   *ms (>= 1). Returns 0 or an exit code with the error printed. */
int cli_time(const char *option, const char *value, uint64_t *ms);

/* ms since the epoch as ISO 8601 UTC with milliseconds into out
   (CLI_TIME_TEXT bytes); "-" for 0 (an entry written before timestamps). */
#define CLI_TIME_TEXT 64
const char *cli_time_text(uint64_t ms, char *out);

/* The wall clock, ms since the Unix epoch. */
uint64_t cli_wall_ms(void);

/* Copies text from the network into out (size bytes) for a terminal: any
   control character or byte that is not printable ASCII becomes '?'. */
const char *cli_printable(const char *text, char *out, size_t size);

/* JSON values (jansson). A number from the network may exceed what JSON
   readers hold exactly; above INT64_MAX it is given as a string. */
json_t *cli_json_uint(uint64_t value);
/* A JSON string of text that came from the network: as it is when it is
   valid UTF-8, else with every byte outside ASCII replaced by '?'. */
json_t *cli_json_text(const char *text);

/* A JSON array of item(context, i) for i in 0..count; NULL when out of
   memory (an item may be NULL for that reason too). */
json_t *cli_json_array(size_t count,
                       json_t *(*item)(const void *context, size_t i),
                       const void *context);

/* Prints value as one line of compact JSON on stdout and releases it.
   Returns 0, or an exit code (out of memory: value NULL). */
int cli_json_print(json_t *value);

/* ---- connect.c ---- */

/* Sets the client up from the options: endpoints, CURVE keys, timeouts,
   retries, and progress reports on stderr. Returns 0 or an exit code. */
int cli_connect(raftlog_t *client, const cli_args_t *args);

/* Makes the client work on the log --log names, else $RAFTLOG_LOG, else
   the default log. Returns 0, or a usage error (printed) for a name that
   is not one, saying where it came from. */
int cli_use_log(raftlog_t *client, const cli_args_t *args);

/* Where the endpoints came from, for error messages: "" when unknown. */
const char *cli_endpoints_origin(void);

/* ---- cluster.c ---- */

/* Every member's STATUS and what they add up to. */
typedef struct {
    raftlog_member_status_t *members; /* count of them (malloc'd) */
    size_t count;                     /* members in the configuration */
    const raftlog_status_t *leader;   /* the leader of the highest term
                                         among those that answer, or NULL */
    size_t voters;                    /* voting members */
    size_t answering;                 /* voting members that answer */
    size_t following;                 /* voting members in the leader's
                                         term that name it (it included) */
    size_t needed;                    /* a majority of the voters */
    bool quorum;                      /* answering >= needed */
    bool healthy;                     /* a leader and following >= needed */
} cli_cluster_t;

/* Asks every member at once (raftlog_status_all). Returns 0, or an exit
   code with the error printed. */
int cli_cluster_ask(raftlog_t *client, cli_cluster_t *cluster);

/* Whether member i follows the leader (or is it). */
bool cli_cluster_member_healthy(const cli_cluster_t *cluster, size_t i);

/* A short judgement: "node 2 leads term 3; 3 of 3 voting members answer",
   "no quorum: 1 of 3 voting members answer (2 needed)", ... */
void cli_cluster_verdict(const cli_cluster_t *cluster, char *out, size_t size);

void cli_cluster_close(cli_cluster_t *cluster);

#endif

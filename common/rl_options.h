/*  rl_options.h - command-line flags and a ZPL config file from one table.

    A daemon describes each option once, as a row of rl_option_t: its flag,
    its key in the optional config file (czmq's ZPL, read with zconfig), its
    line of --help and a setter that checks and stores a value. The parser
    and the --help printer both walk that table, so flags, file keys and
    help cannot disagree. The config file named by --config is read first,
    wherever the flag stands, so that flags override it.

    Shared by raftlog-node (rl_config) and raftlog-broker
    (rl_broker_config): each keeps only its table, setters, defaults and
    validation (the rows both take alike are rl_shared_options.h's). The
    value parsers below give both daemons the same words for the same
    mistakes.

    Errors: every function that can fail returns 0 or -1 and leaves one
    line in err (RL_OPTIONS_ERROR_SIZE bytes) naming the option and saying
    what to do.
*/
#ifndef RL_OPTIONS_H
#define RL_OPTIONS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Room for a configuration error message. */
#define RL_OPTIONS_ERROR_SIZE 512

/* Checks value and stores it in config (the daemon's own struct). A switch
   is given "true". Returns 0, or -1 with err set. */
typedef int (*rl_option_set_fn)(void *config, const char *value, char *err);

/* One option: a flag, its config file key, and how to apply a value. */
typedef struct {
    const char *flag;     /* long flag without "--" */
    const char *key;      /* ZPL path in the config file, NULL: flag only */
    const char *metavar;  /* argument's name, NULL: a switch */
    const char *def;      /* default, as shown by --help */
    const char *help;     /* one line of --help */
    rl_option_set_fn set; /* applies a value; NULL: --config, --help */
    bool list;            /* adds to the list (see clear_list) */
} rl_option_t;

/* The --config row, first in every daemon's table, and the --help row,
   last. rl_options_parse() handles both itself. */
#define RL_OPTION_CONFIG                                                       \
    {                                                                          \
        "config", NULL, "FILE", NULL,                                          \
            "read settings from FILE (ZPL format; flags override it)", NULL,   \
            false                                                              \
    }
#define RL_OPTION_HELP                                                         \
    {                                                                          \
        "help", NULL, NULL, NULL, "show this help and exit", NULL, false       \
    }

/* A daemon's options. */
typedef struct {
    const rl_option_t *options; /* the table, in --help order */
    size_t count;               /* rows in the table */
    int flag_width;             /* width of --help's flag column */
    /* Reads the file's list section (members, nodes) after its keys; NULL
       when there is none. Returns 0, or -1 with err set. */
    int (*load_list)(void *config, zconfig_t *root, char *err);
    /* The list section's name in the file ("members"), whose keys
       load_list reads; any other key must be an option's. */
    const char *list_key;
    /* Empties the list before the first list flag is applied, so that list
       flags replace the file's list instead of adding to it. */
    void (*clear_list)(void *config);
} rl_options_t;

/* Applies the file named by --config (if any), then every flag of argv,
   to config, which the caller has filled with defaults, and sets *help to
   whether --help was given. Values are checked by the setters; what the
   options mean together is the caller's to validate afterwards (not after
   --help, which only asks for the usage). Returns 0, or -1 with err set
   at the first
   problem: an unknown option, a stray argument, a missing or unexpected
   value, an unreadable file or a bad value (from the file, prefixed with
   the file's path and key). */
int rl_options_parse(const rl_options_t *spec, void *config, int argc,
                     char **argv, bool *help, char *err);

/* Writes one --help line per option: flag and metavar, help, default and
   config file key. */
void rl_options_print(const rl_options_t *spec, FILE *out);

/* Writes the printf-style message into err and returns -1, so that a
   setter can "return rl_options_fail(err, ...)". */
int rl_options_fail(char *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses a whole decimal number from min to max. With sizes, a binary
   suffix may follow: K, M, G or T, alone or with "B" or "iB" (64K, 8MiB).
   name opens the error message. *out is written only on success. */
int rl_options_u64(const char *name, const char *value, uint64_t min,
                   uint64_t max, bool sizes, uint64_t *out, char *err);

/* The same for a 32-bit field. */
int rl_options_u32(const char *name, const char *value, uint32_t min,
                   uint32_t max, bool sizes, uint32_t *out, char *err);

/* Checks that value is a ZeroMQ endpoint (tcp://, ipc:// or inproc://);
   the error shows example, one the daemon would take. */
int rl_options_endpoint(const char *name, const char *value,
                        const char *example, char *err);

/* Whether a daemon binding endpoint listens on this machine only: tcp://
   on a loopback address (127.0.0.0/8, ::1, localhost, the interface lo),
   or ipc:// and inproc://. Anything else (the wildcard host '*', 0.0.0.0,
   another address, a host or interface name) may be reached from the
   network: a daemon without CURVE refuses to bind it unless --insecure. */
bool rl_options_endpoint_is_local(const char *endpoint);

/* Parses "on" or "off". */
int rl_options_on_off(const char *name, const char *value, bool *out,
                      char *err);

/* Parses a log level name (error, warn, info, debug) into an
   rl_log_level_t. */
int rl_options_log_level(const char *value, int *level, char *err);

#endif

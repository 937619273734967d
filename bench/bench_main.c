/*  bench_main.c - raftlog-bench: dispatches to one benchmark by name. */
#include "bench.h"

#include <stdio.h>
#include <string.h>

/* One subcommand. */
typedef struct {
    const char *name;                  /* as typed on the command line */
    int (*run)(int argc, char **argv); /* argv[0] is the name */
    const char *summary;               /* one line for the usage text */
} s_command_t;

static const s_command_t s_commands[] = {
    {"storage", bench_storage,
     "append-only file log: appends/s, MB/s, fsyncs/s vs the raw disk"},
    {"append", bench_append,
     "a running cluster: appends/s and latency, closed or open loop,\n"
     "             to the default log or over K named logs"},
    {"logs", bench_logs,
     "named logs: create/delete latency; N idle logs brought to quiet"},
    {"codec", bench_codec,
     "decoding APPEND_REQUEST and peer APPEND batches: ns per decode"},
    {"since", bench_since,
     "lookups by time in a large log (READ from_time, tail --since)"},
};

static void s_usage(FILE *out)
{
    fprintf(out, "usage: raftlog-bench SUBCOMMAND [options]   (SUBCOMMAND "
                 "--help for its options)\nsubcommands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf(out, "  %-10s %s\n", s_commands[i].name, s_commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0)
            return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "raftlog-bench: unknown subcommand '%s'\n", argv[1]);
    s_usage(stderr);
    return 2;
}

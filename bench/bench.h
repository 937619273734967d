/*  bench.h - the subcommands of raftlog-bench. Each takes the arguments
    after its name (argv[0] is the subcommand) and returns the exit
    status: 0 done, 1 failed, 2 usage. */
#ifndef RL_BENCH_H
#define RL_BENCH_H

/* raftlog-bench storage [--dir D] [--seconds S]: append throughput of the
   file log next to the raw fdatasync rate and bandwidth of the disk. */
int bench_storage(int argc, char **argv);

/* raftlog-bench append [--producers N] [--logs K] [--size B] [--batch K]
   [--rate R] ...: closed- or open-loop appends against a running cluster,
   to the default log or spread over K named logs. */
int bench_append(int argc, char **argv);

/* raftlog-bench logs [--creates N] [--idle N] ...: how long creating and
   deleting a named log take, and a cluster brought to N quiet logs (whose
   cost scripts/bench measures). */
int bench_logs(int argc, char **argv);

/* raftlog-bench codec [--iterations N]: ns per decode of a 256-entry
   APPEND_REQUEST and a 1024-entry peer APPEND (instruction counts with
   callgrind: see bench_codec.c). */
int bench_codec(int argc, char **argv);

/* raftlog-bench since [--dir D] [--entries N] [--size B] [--lookups K]
   [--keep] [--cold]: lookups by time (the first entry stamped at or after T) in
   a log of N entries built with the storage API. */
int bench_since(int argc, char **argv);

#endif

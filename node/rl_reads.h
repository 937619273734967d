/*  rl_reads.h - read planning: what a node does with a READ_REQUEST, given
    the first index it retains and the commit index it knows.

    A READ starts at an index (`from`), at the first entry stamped at or
    after a time (`from_time`), or after a durable consumer's committed
    position (`consumer`): exactly one. The node turns a time or a
    consumer into an index (rl_read_time_start; a consumer's position + 1),
    then the READ is refused (below the retained log), parked (a long poll
    with nothing committed at or after `from` yet), or served: the plan
    says which committed entries to read and within which limits. After
    the read, Raft's own entries (no-ops, configurations, consumer
    positions) are dropped from the reply but still move `next`, so that a
    reader never sees a gap; a long poll that found only those goes on
    waiting from the new `next`. docs/PROTOCOL.md, READ_REQUEST, has the
    rules as a client sees them.

    Pure functions of their arguments: no log, no sockets, no clock.
*/
#ifndef RL_READS_H
#define RL_READS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rl_msg.h"

/* READ limits when the request leaves them at 0, and caps. */
#define RL_READ_DEFAULT_ENTRIES 1000u
#define RL_READ_DEFAULT_BYTES   (1u << 20)
#define RL_READ_MAX_BYTES       (16u << 20)

typedef enum {
    RL_READ_BAD_FROM = 0,    /* from is 0: BAD_REQUEST */
    RL_READ_BELOW_FIRST = 1, /* from is below the log: OUT_OF_RANGE */
    RL_READ_WAIT = 2,        /* park it until from commits (or wait_ms) */
    RL_READ_NOW = 3          /* answer now, reading what the plan says */
} rl_read_action_t;

typedef struct {
    uint64_t from;    /* first index to read */
    size_t count;     /* entries to read, 0: none committed at from (the
                         answer is empty, next = from) */
    size_t max_bytes; /* stop before about this many payload bytes */
} rl_read_plan_t;

/* Where a READ starts. */
typedef enum {
    RL_READ_START_BAD = 0,     /* none, or more than one: BAD_REQUEST */
    RL_READ_START_INDEX = 1,   /* from */
    RL_READ_START_TIME = 2,    /* from_time */
    RL_READ_START_CONSUMER = 3 /* consumer */
} rl_read_start_t;

/* Which start req names: exactly one of from, from_time and consumer
   (a zero from or from_time is none). */
int rl_read_start(const rl_read_request_t *req);

/* A READ from a time. found is the first index stamped at or after
   from_time (the log's last index + 1 when none is); first and
   first_time are the retained start and its entry's time. Returns
   RL_READ_BELOW_FIRST when entries stamped at or after from_time may have
   been dropped (the log no longer starts at index 1, and from_time is
   before the first retained entry's time), RL_READ_WAIT when no committed
   entry is stamped at or after it yet (found > commit), else RL_READ_NOW
   with *from = found. */
int rl_read_time_start(uint64_t from_time, uint64_t found, uint64_t first,
                       uint64_t first_time, uint64_t commit, uint64_t *from);

/* ms since the Unix epoch as ISO 8601 UTC with milliseconds,
   "2026-12-01T10:00:00.000Z", into out (RL_READ_TIME_TEXT bytes); "no
   time" for 0 (an entry written before timestamps). */
#define RL_READ_TIME_TEXT 64
const char *rl_read_time_text(uint64_t ms, char *out);

/* Plans req against the log's first retained index and the commit index.
   may_wait is false once a parked READ's time is up: it is answered with
   whatever is there. Fills *plan for RL_READ_NOW; returns the action. */
int rl_read_plan(const rl_read_request_t *req, uint64_t first, uint64_t commit,
                 bool may_wait, rl_read_plan_t *plan);

/* Keeps the user entries of entries[0..*count) in place, in order, and
   sets *next past every entry read (Raft's own too). */
void rl_read_keep_user_entries(rl_entry_t *entries, size_t *count,
                               uint64_t *next);

/* After a read that kept `kept` user entries and moved next past commit:
   true when a long poll should go on waiting (from next) rather than
   answer empty. */
bool rl_read_wait_more(const rl_read_request_t *req, size_t kept, uint64_t next,
                       uint64_t commit, bool may_wait);

#endif

/*  rl_reads.h - read planning: what a node does with a READ_REQUEST, given
    the first index it retains and the commit index it knows.

    A READ is refused (from 0, or below the retained log), parked (a long
    poll with nothing committed at or after `from` yet), or served: the
    plan says which committed entries to read and within which limits.
    After the read, Raft's own entries (no-ops, configurations) are
    dropped from the reply but still move `next`, so that a reader never
    sees a gap; a long poll that found only those goes on waiting from
    the new `next`. docs/PROTOCOL.md, READ_REQUEST, has the rules as a
    client sees them.

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

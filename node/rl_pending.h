/*  rl_pending.h - the table of client requests a node has not answered
    yet, ordered by what settles them.

    Every request that cannot be answered at once waits here as a record:
    an APPEND until its last index commits, a READ (a long poll) until an
    entry at or after its `from` commits, a MEMBERS change until its
    configuration entry commits, a TRANSFER until another node leads, a
    CONSUMER_COMMIT or a CONSUMERS reset or delete until its consumer entry
    commits. Each
    record also has a deadline. The table keeps three orders, so that a
    commit advance, an append and a deadline sweep touch only the records
    they settle (O(log n) each) however many wait: a min-heap by the index
    each record waits for, a min-heap by deadline, and a min-heap by time
    for the READs from a time that no entry is stamped at or after yet
    (read.from 0; they wait for an append, not for every commit: a client
    cannot make every commit revisit them); and a list per kind, for the
    rare events that settle a kind (a leader change, a core restart); and
    a list per owner (a client connection), for the client that goes.
    Transfers wait for no index.

    The table only stores and orders: it never sends anything. The node
    takes settled records out, answers them, and frees them (or puts a
    READ back with a later `from`). No sockets, no clock: times are given.

    Ownership: a record owns its envelope (the routing frames to reply
    with). rl_pending_take_*() hands a record over to the caller, who
    either frees it (rl_pending_free) or puts it back (rl_pending_put).
*/
#ifndef RL_PENDING_H
#define RL_PENDING_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "rl_front.h"
#include "rl_msg.h"

typedef enum {
    RL_PENDING_APPEND = 0,   /* waits for its last index to commit */
    RL_PENDING_READ = 1,     /* waits for an entry at or after from */
    RL_PENDING_MEMBERS = 2,  /* waits for the configuration entry */
    RL_PENDING_TRANSFER = 3, /* waits for another node to lead */
    RL_PENDING_CONSUMER = 4, /* waits for its CONSUMER entry */
    RL_PENDING_CATALOG = 5   /* waits for its CATALOG entry (group 0) */
} rl_pending_kind_t;

#define RL_PENDING_KINDS 6

/* A client request waiting for its answer. The fields above the line are
   the caller's; the rest belong to the table. */
typedef struct rl_pending {
    zmsg_t *envelope;    /* routing frames to reply with (owned) */
    uint64_t id;         /* request id to echo */
    int kind;            /* rl_pending_kind_t */
    int64_t deadline;    /* when it times out (the caller's clock, ms) */
    int64_t accepted_us; /* when it was accepted (zclock_usecs), for
                            the append latency histogram */
    uint64_t first;      /* APPEND: first index */
    uint64_t index;      /* APPEND: last index; MEMBERS, CONSUMER: entry
                            index */
    uint64_t term;       /* APPEND, CONSUMER: term it was appended in */
    char consumer[RL_MAX_CONSUMER_NAME + 1]; /* CONSUMER, CATALOG: the
                                                consumer's or log's name */
    uint8_t consumer_op;    /* CONSUMER: RL_CONSUMERS_RESET, _DELETE, or
                               RL_CONSUMERS_LIST for a commit; CATALOG:
                               the rl_logs_op_t */
    bool duplicate;         /* APPEND: a repeat of the producer's seq */
    rl_read_request_t read; /* READ: the request (from moves on) */
    rl_front_held_t *owner; /* the client's list it is held in, or NULL
                               (a long poll's: released when the client's
                               connection closes) */
    /* ---- */
    size_t slot[3]; /* position in each heap, SIZE_MAX when out */
    struct rl_pending *kind_prev, *kind_next;   /* its kind's list */
    struct rl_pending *owner_prev, *owner_next; /* its owner's list, which
                                                   spans tables */
    struct rl_pending_table *table; /* the table it waits in, or NULL */
} rl_pending_t;

typedef struct rl_pending_table rl_pending_table_t;

/* An empty table; NULL when out of memory. */
rl_pending_table_t *rl_pending_table_new(void);

/* Frees every record still in the table and the table; nulls *self_p.
   Idempotent. */
void rl_pending_table_destroy(rl_pending_table_t **self_p);

/* A new record of kind taking over *envelope (nulled), with id and
   deadline, not yet in the table: fill in the kind's fields, then
   rl_pending_put(). NULL when out of memory (*envelope untouched). */
rl_pending_t *rl_pending_new(zmsg_t **envelope, uint64_t id, int kind,
                             int64_t deadline);

/* Puts p into the table (taking it over), ordered by the index it waits
   for (APPEND, MEMBERS and CONSUMER: index, READ: read.from) or, for a
   READ with read.from 0 and read.from_time set, by that time; and by its
   deadline,
   listed with its kind, and with its owner when it has one (then counted
   in owner->count).
   Returns 0, or -1 when out of memory: p is then not in the table and
   still the caller's. */
int rl_pending_put(rl_pending_table_t *self, rl_pending_t *p);

/* Takes out a record that waits for an index at or below commit, or
   returns NULL when none does. */
rl_pending_t *rl_pending_take_committed(rl_pending_table_t *self,
                                        uint64_t commit);

/* Takes out a READ waiting for an entry stamped at or after a time at or
   before time (the log's last entry's), or NULL. */
rl_pending_t *rl_pending_take_stamped(rl_pending_table_t *self, uint64_t time);

/* Takes out a record whose deadline is at or before now, or NULL. */
rl_pending_t *rl_pending_take_expired(rl_pending_table_t *self, int64_t now);

/* Takes out a record of kind (the latest put), or NULL. */
rl_pending_t *rl_pending_take_kind(rl_pending_table_t *self, int kind);

/* Takes out owner's first record, from whichever table it is in (a
   client's records may wait in several tables: one per log), or NULL:
   for a client that went away. The record's table's user
   (rl_pending_user_of, before the take) says whose it was. */
rl_pending_t *rl_pending_take_owned(rl_front_held_t *owner);

/* What a table belongs to (the host's group), for rl_pending_user_of. */
void rl_pending_table_set_user(rl_pending_table_t *self, void *user);

/* The user of the table p waits in; NULL when p is in none. */
void *rl_pending_user_of(const rl_pending_t *p);

/* Takes out any record (the earliest deadline), or NULL: for shutdown. */
rl_pending_t *rl_pending_take_any(rl_pending_table_t *self);

/* Frees a record taken out (or never put) and its envelope; nulls *p_p. */
void rl_pending_free(rl_pending_t **p_p);

/* Records in the table, all kinds, and of one kind. */
size_t rl_pending_count(const rl_pending_table_t *self);
size_t rl_pending_count_kind(const rl_pending_table_t *self, int kind);

/* The smallest index a record waits for, UINT64_MAX when none: the node
   scans only when the commit index reaches it. */
uint64_t rl_pending_next_index(const rl_pending_table_t *self);

#endif

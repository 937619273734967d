/*  raft_internal.h - the core's state and the functions its files share.

    Not installed, not included by the host. One struct, split by concern
    into the files named below; every function here is rl_raft_ prefixed
    and documented where it is defined.
*/
#ifndef RL_RAFT_INTERNAL_H
#define RL_RAFT_INTERNAL_H

#include "raft.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

/* Fixed-width little-endian fields of the core's encodings (CONFIG
   entries, the producer table), at any alignment. */
static inline void rl_raft_put32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, sizeof(v));
}

static inline void rl_raft_put64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, sizeof(v));
}

static inline uint32_t rl_raft_get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return le32toh(v);
}

static inline uint64_t rl_raft_get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return le64toh(v);
}

/* Grows the array *items (*cap elements of size bytes) to hold count,
   doubling from 8, never past limit (count above it gets limit). 0, or
   RL_ERR_INTERNAL when out of memory (*items and *cap as they were).
   The bounded tables (consumers.c, catalog.c) share it. */
static inline int rl_raft_grow(void **items, size_t *cap, size_t count,
                               size_t limit, size_t size)
{
    if (*cap >= count) {
        return 0;
    }
    size_t grown = *cap ? *cap : 8;
    while (grown < count) {
        grown *= 2;
    }
    if (grown > limit) {
        grown = limit;
    }
    void *p = realloc(*items, grown * size);
    if (!p) {
        return RL_ERR_INTERNAL;
    }
    *items = p;
    *cap = grown;
    return 0;
}

#define RL_RAFT_MAX_INFLIGHT 64

/* A configuration: members with copies of their endpoints kept inline, so
   that copying one (applying, rolling back) never allocates and so never
   fails half way. Copy with rl_raft_members_assign, not `=`: the members
   point into endpoints. */
typedef struct {
    rl_member_t members[RL_MAX_MEMBERS];                /* ids, roles */
    char endpoints[RL_MAX_MEMBERS][2][RL_MAX_ENDPOINT]; /* peer, client */
    size_t count;                                       /* number of members */
    /* In a named log's group: where in group 0's log the configuration it
       follows took effect (mirror.c), 0 in group 0. Kept with the
       configuration in its CONFIG entry and in snapshots. */
    uint64_t mirrors;
} rl_raft_members_t;

/* Replication state of one follower, kept by the leader (paper 5.3
   nextIndex/matchIndex, thesis 10.2 pipelining). */
typedef enum {
    RL_RAFT_PROBE = 0,     /* one APPEND per heartbeat until one matches */
    RL_RAFT_REPLICATE = 1, /* pipelined: next moves on optimistically */
    RL_RAFT_SNAPSHOT = 2   /* sending a snapshot in chunks */
} rl_raft_pr_state_t;

typedef struct {
    uint64_t id;              /* follower id */
    bool voter;               /* counts toward quorum */
    bool promote;             /* learner to promote once caught up */
    rl_raft_pr_state_t state; /* see above */
    uint64_t match;           /* highest index known durable there */
    uint64_t next;            /* next index to send */
    bool probe_sent;          /* PROBE: an APPEND is out, wait */
    bool recent_active;       /* heard from within this election timeout */
    uint64_t commit_sent;     /* commit index the last APPEND carried */
    uint64_t inflight[RL_RAFT_MAX_INFLIGHT]; /* last index of each APPEND */
    size_t inflight_head;                    /* oldest slot */
    size_t inflight_count;                   /* used slots */
    uint64_t snap_index;                     /* SNAPSHOT: snapshot being sent */
    uint64_t snap_offset;                    /* SNAPSHOT: next byte to send */
    unsigned snap_idle;   /* SNAPSHOT: ticks without a reply */
    uint64_t beat_match;  /* REPLICATE: match at the last heartbeat */
    unsigned beat_stalls; /* REPLICATE: heartbeats since match moved,
                             while it lags the last index */
    /* A learner catches up in rounds (thesis 4.2.1): each round ends when
       its match reaches the leader's last index as of the round's start,
       and the next begins (rl_raft_caught_up). */
    uint64_t round_end;    /* learner: the index this round must reach */
    unsigned round_ticks;  /* learner: leader's ticks since it began */
    unsigned round_took;   /* learner: ticks the last round took
                              (UINT_MAX: none since the first began) */
    unsigned silent_ticks; /* learner: leader's ticks since it last
                              answered, or since this leader or
                              configuration began tracking it (group 0's
                              promotion: rl_raft_maybe_promote) */
} rl_raft_progress_t;

/* What a CONSUMER entry does (consumers.c). */
typedef enum {
    RL_RAFT_CONSUMER_COMMIT = 1, /* position = max(position, index) */
    RL_RAFT_CONSUMER_RESET = 2,  /* position = index */
    RL_RAFT_CONSUMER_DELETE = 3  /* forget the consumer */
} rl_raft_consumer_verb_t;

/* A decoded CONSUMER entry. */
typedef struct {
    uint8_t verb;                             /* rl_raft_consumer_verb_t */
    uint64_t index;                           /* position it names */
    char name[RL_RAFT_CONSUMER_NAME_MAX + 1]; /* NUL-terminated */
} rl_raft_consumer_op_t;

/* A consumer table, sorted by name. Both of the core's tables (as of the
   commit index, as of the last index) have room for every consumer they
   can hold before the next rl_raft_consumers_reserve(), so applying an
   entry or copying one table into the other never allocates and so never
   fails half way (see consumers.c). */
typedef struct {
    rl_raft_consumer_t *items; /* sorted by name (strcmp) */
    size_t count;              /* used */
    size_t cap;                /* allocated */
} rl_raft_consumers_t;

/* A decoded CATALOG entry (catalog.c), with group 0's configuration as
   of its index (filled when it is recorded, for a create). */
typedef struct {
    uint8_t verb;                        /* rl_raft_log_verb_t */
    rl_raft_log_settings_t settings;     /* create, configure */
    char name[RL_RAFT_LOG_NAME_MAX + 1]; /* NUL-terminated */
    size_t member_count;                 /* configuration as of the entry */
    uint64_t member_ids[RL_MAX_MEMBERS]; /* its ids */
    bool member_voters[RL_MAX_MEMBERS];  /* their voter flags */
} rl_raft_catalog_op_t;

/* A catalog, sorted by name, and the id the next log created gets. Like
   the consumer tables, both of the core's catalogs have room for every
   log they can hold before the next rl_raft_catalog_reserve(), so that
   applying an entry never allocates (catalog.c). */
typedef struct {
    rl_raft_log_info_t *items; /* sorted by name (strcmp) */
    size_t count;              /* used */
    size_t cap;                /* allocated */
    uint64_t next_group;       /* >= 1; never decreases */
} rl_raft_catalog_t;

/* One run of appended entries past the commit index: the metadata the
   core needs to roll back configuration, producer and consumer tables on
   truncation and to count uncommitted bytes, without keeping payloads. */
typedef struct {
    uint64_t first;                  /* first index of the run */
    uint64_t last;                   /* last index of the run */
    uint64_t producer_id;            /* producer, 0 for none */
    uint64_t seq;                    /* its seq */
    size_t bytes;                    /* payload bytes of the run */
    rl_raft_members_t *config;       /* CONFIG entry: the configuration,
                                        owned */
    rl_raft_consumer_op_t *consumer; /* CONSUMER entry: what it does, owned
                                        (NULL when malformed: ignored) */
    rl_raft_catalog_op_t *catalog;   /* CATALOG entry: what it does, owned
                                        (NULL when malformed: ignored) */
} rl_raft_record_t;

/* One producer session (the replicated state, see producers.c). */
typedef struct {
    uint64_t id;    /* producer id */
    uint64_t seq;   /* last seq appended */
    uint64_t first; /* first index of that append */
    uint64_t last;  /* last index of that append */
} rl_raft_producer_t;

typedef struct {
    rl_raft_producer_t *items; /* sessions, unordered */
    size_t count;              /* used */
    size_t max;                /* capacity (max_producers) */
} rl_raft_producers_t;

struct rl_raft {
    rl_raft_config_t cfg; /* options; cfg.cluster points at cluster */
    char *cluster;        /* owned copy of the cluster id */
    uint64_t id;          /* this server */
    uint64_t prng;        /* xorshift state for timeouts */

    /* Persistent state (paper Fig. 2). */
    uint64_t term; /* current term */
    uint64_t vote; /* voted for in term */

    /* Volatile state. */
    rl_raft_role_t role; /* role */
    uint64_t leader;     /* known leader of term */
    uint64_t commit;     /* commit index */

    /* The log, as far as the core tracks it (log.c). */
    uint64_t snap_index; /* latest snapshot's last index */
    uint64_t snap_term;  /* its term */
    uint64_t last_index; /* last entry */
    uint64_t last_term;  /* its term */
    uint64_t persisted;  /* durable up to here */
    rl_entry_t *pend;    /* entries appended since the last ready */
    size_t pend_count;   /* number */
    size_t pend_cap;     /* capacity */
    uint64_t pend_first; /* index of pend[0] (truncation point) */

    /* Configuration (membership.c). */
    rl_raft_members_t config;      /* latest appended: in effect */
    uint64_t config_index;         /* its entry, 0 for snapshot/bootstrap */
    rl_raft_members_t base_config; /* as of the commit index */
    uint64_t base_config_at;       /* where it took effect: its entry's
                                      index, 0 for the bootstrap members;
                                      at most the snapshot's index when
                                      only a snapshot of before this
                                      field was kept (nothing changed it
                                      between the two) */

    /* Uncommitted runs and producer sessions (producers.c). */
    rl_raft_record_t *tail;          /* runs after the commit index */
    size_t tail_first;               /* first live run (older ones were
                                        committed; reclaimed lazily) */
    size_t tail_count;               /* end of the live runs */
    size_t tail_cap;                 /* capacity */
    size_t tail_bytes;               /* their payload bytes */
    rl_raft_producers_t prod_commit; /* sessions as of commit */
    rl_raft_producers_t prod_tip;    /* sessions as of last_index */
    rl_raft_consumers_t cons_commit; /* consumers as of commit */
    rl_raft_consumers_t cons_tip;    /* consumers as of last_index */
    rl_raft_catalog_t cat_commit;    /* catalog as of commit */
    rl_raft_catalog_t cat_tip;       /* catalog as of last_index */
    size_t cat_records;              /* catalog runs in the tail */
    rl_raft_log_change_t *cat_queue; /* changes committed, not yet handed
                                        out (waiting for persisted) */
    size_t cat_queue_count;          /* number */
    rl_raft_log_change_t *cat_out;   /* changes handed out by ready */
    size_t cat_out_count;            /* number */
    size_t cat_events_cap;           /* capacity of both arrays */

    /* Entry timestamps (log.c, replication.c). */
    uint64_t clock;     /* the host's wall clock, last set */
    uint64_t last_time; /* time of the entry at last_index (an upper bound
                           if it could not be read back after a
                           truncation) */
    uint64_t snap_time; /* time of the entry at snap_index */

    /* Snapshots (snapshot.c). */
    rl_raft_snapshot_t snap;       /* latest snapshot, owned */
    rl_raft_members_t snap_config; /* its members' owned storage */
    uint64_t in_index;             /* incoming snapshot's last index */
    uint64_t in_term;              /* its term */
    uint64_t in_from;              /* its sender */
    rl_raft_members_t in_config;   /* its configuration */
    uint8_t *in_data;              /* bytes received so far */
    size_t in_size;                /* count */
    size_t in_cap;                 /* capacity */

    /* Elections (election.c). */
    unsigned election_elapsed;          /* ticks since reset */
    unsigned heartbeat_elapsed;         /* leader: ticks since heartbeat */
    unsigned timeout;                   /* randomized election timeout */
    unsigned soon_ticks;                /* ticks left that may end the
                                           timeout early
                                           (rl_raft_campaign_soon) */
    uint64_t votes_yes[RL_MAX_MEMBERS]; /* who granted */
    size_t votes_yes_count;
    uint64_t votes_no[RL_MAX_MEMBERS]; /* who refused */
    size_t votes_no_count;

    /* Leader (replication.c, progress.c). */
    rl_raft_progress_t prs[RL_MAX_MEMBERS]; /* one per other member */
    size_t pr_count;                        /* number */
    uint64_t term_start;                    /* index of this term's no-op */
    uint64_t transfer_to;                   /* transfer target, 0 for none */
    unsigned transfer_elapsed;              /* ticks since it began */

    /* Follower: APPEND_REPLY owed once entries are durable. */
    bool owed;           /* a reply is owed */
    uint64_t owed_to;    /* to this leader */
    uint64_t owed_match; /* up to this index */

    /* Quiet groups (quiesce.c). */
    bool quiet; /* no ticks until woken */

    /* The pending ready batch. */
    rl_raft_envelope_t *msgs; /* messages */
    size_t msg_count;
    size_t msg_cap;
    bool hs_changed;          /* term or vote changed */
    bool role_changed;        /* role, term or leader changed */
    bool bcast_pending;       /* entries appended, not yet sent (ready) */
    bool snap_install;        /* a snapshot was installed */
    bool snap_taken;          /* a snapshot was taken */
    uint64_t commit_reported; /* commit in the last ready */

    /* The host's address book (cfg.known), copied. */
    uint64_t known[RL_MAX_MEMBERS];
    size_t known_count;

    /* A leader a member named in a refused vote (raft.c s_may_hear). */
    uint64_t vouched_leader; /* its id, 0 for none */
    uint64_t vouched_term;   /* the term it leads */

    /* Refused input (rl_raft_status). */
    uint64_t dropped_non_member; /* messages from non-members */
    uint64_t dropped_bad_term;   /* messages with an impossible term */

    /* The batch handed out, released at the next ready. */
    rl_raft_envelope_t *out_msgs;
    size_t out_msg_count;
    rl_entry_t *out_entries;
    size_t out_entry_count;
};

/* raft.c */
void rl_raft_trace(rl_raft_t *r, int level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
unsigned rl_raft_random(rl_raft_t *r, unsigned below);
int rl_raft_send(rl_raft_t *r, uint64_t to, rl_msg_t *msg);
void rl_raft_become_follower(rl_raft_t *r, uint64_t term, uint64_t leader);
void rl_raft_set_term(rl_raft_t *r, uint64_t term);

/* log.c */
int rl_raft_log_term(rl_raft_t *r, uint64_t index, uint64_t *term);
int rl_raft_log_time(rl_raft_t *r, uint64_t index, uint64_t *time);
uint64_t rl_raft_log_first(rl_raft_t *r);
int rl_raft_log_read(rl_raft_t *r, uint64_t from, size_t max_count,
                     size_t max_bytes, rl_msg_t *owner, rl_entry_t **out,
                     size_t *count);
int rl_raft_log_append(rl_raft_t *r, const rl_entry_t *entries, size_t count);
void rl_raft_log_truncate(rl_raft_t *r, uint64_t from);
void rl_raft_log_free_entries(rl_entry_t *entries, size_t count);
bool rl_raft_log_up_to_date(rl_raft_t *r, uint64_t last_index,
                            uint64_t last_term);

/* election.c */
void rl_raft_reset_timeout(rl_raft_t *r);
int rl_raft_campaign(rl_raft_t *r, bool pre, bool transfer);
int rl_raft_step_vote(rl_raft_t *r, const rl_msg_t *msg);
int rl_raft_reply_vote(rl_raft_t *r, const rl_msg_t *msg, bool granted);
int rl_raft_step_vote_reply(rl_raft_t *r, const rl_msg_t *msg);
int rl_raft_step_timeout_now(rl_raft_t *r, const rl_msg_t *msg);
bool rl_raft_in_lease(rl_raft_t *r);
int rl_raft_tick_election(rl_raft_t *r);
int rl_raft_become_leader(rl_raft_t *r);
void rl_raft_abort_transfer(rl_raft_t *r);
int rl_raft_transfer_check(rl_raft_t *r, rl_raft_progress_t *pr);

/* replication.c */
int rl_raft_send_append(rl_raft_t *r, rl_raft_progress_t *pr, bool empty);
int rl_raft_broadcast(rl_raft_t *r, bool heartbeat);
int rl_raft_send_commit(rl_raft_t *r);
int rl_raft_step_append(rl_raft_t *r, const rl_msg_t *msg);
int rl_raft_step_append_reply(rl_raft_t *r, const rl_msg_t *msg);
int rl_raft_maybe_commit(rl_raft_t *r);
void rl_raft_set_commit(rl_raft_t *r, uint64_t commit);
int rl_raft_flush_owed(rl_raft_t *r);
int rl_raft_append_local(rl_raft_t *r, rl_entry_t *entries, size_t count);

/* progress.c */
rl_raft_progress_t *rl_raft_progress(rl_raft_t *r, uint64_t id);
void rl_raft_progress_reset(rl_raft_t *r);
void rl_raft_progress_sync(rl_raft_t *r);
void rl_raft_progress_become(rl_raft_progress_t *pr, rl_raft_pr_state_t s,
                             uint64_t next);
bool rl_raft_progress_full(rl_raft_t *r, const rl_raft_progress_t *pr);
void rl_raft_progress_sent(rl_raft_progress_t *pr, uint64_t last);
void rl_raft_progress_ack(rl_raft_progress_t *pr, uint64_t match);
bool rl_raft_quorum_active(rl_raft_t *r);

/* membership.c */
const rl_member_t *rl_raft_member(const rl_raft_members_t *c, uint64_t id);
size_t rl_raft_voter_count(const rl_raft_members_t *c);
int rl_raft_members_copy(rl_raft_members_t *dst, const rl_member_t *src,
                         size_t count);
void rl_raft_members_clear(rl_raft_members_t *c);
void rl_raft_members_assign(rl_raft_members_t *dst,
                            const rl_raft_members_t *src);
int rl_raft_config_encode(const rl_raft_members_t *c, uint8_t **data,
                          size_t *size);
int rl_raft_config_decode(const uint8_t *data, size_t size,
                          rl_raft_members_t *c);
int rl_raft_config_apply(rl_raft_t *r, const rl_raft_members_t *c,
                         uint64_t index);
void rl_raft_config_rollback(rl_raft_t *r);
int rl_raft_maybe_promote(rl_raft_t *r, rl_raft_progress_t *pr);
/* A learner has caught up when its match reaches the commit index, or
   when it holds what the leader had at most an election timeout ago: its
   last round and the current one together have not run longer (thesis
   4.2.1). The one rule of both promotions (group 0's core, which also
   wants it to have answered within an election timeout, and the
   mirror). */
bool rl_raft_caught_up(const rl_raft_t *r, const rl_raft_progress_t *pr);
/* Group 0's leader: proposes the first promotion rl_raft_maybe_promote
   allows (at commits and ticks). */
int rl_raft_promote_learners(rl_raft_t *r);
/* A learner's match rose: ends its round when it reached the round's
   index, and begins the next at the leader's last index. */
void rl_raft_round_check(rl_raft_t *r, rl_raft_progress_t *pr);
/* Begins a learner's rounds again, none ended (a new progress, or one
   whose match fell: it lost entries it had acknowledged). */
void rl_raft_round_restart(rl_raft_t *r, rl_raft_progress_t *pr);
/* A leader's tick: each learner's round and silence have run one tick
   longer. */
void rl_raft_round_tick(rl_raft_t *r);
int rl_raft_change_add(rl_raft_t *r, const rl_member_t *member,
                       uint64_t mirrors);
int rl_raft_change_remove(rl_raft_t *r, uint64_t id, uint64_t mirrors);
int rl_raft_change_promote(rl_raft_t *r, uint64_t id, uint64_t mirrors);
int rl_raft_change_stamp(rl_raft_t *r, uint64_t mirrors);
int rl_raft_config_committed(rl_raft_t *r);

/* producers.c */
int rl_raft_producers_init(rl_raft_producers_t *t, size_t max);
void rl_raft_producers_close(rl_raft_producers_t *t);
const rl_raft_producer_t *rl_raft_producers_find(const rl_raft_producers_t *t,
                                                 uint64_t id);
void rl_raft_producers_apply(rl_raft_producers_t *t, uint64_t id, uint64_t seq,
                             uint64_t first, uint64_t last);
int rl_raft_producers_copy(rl_raft_producers_t *dst,
                           const rl_raft_producers_t *src);
int rl_raft_tail_add(rl_raft_t *r, const rl_entry_t *e, size_t count);
void rl_raft_tail_truncate(rl_raft_t *r, uint64_t from);
int rl_raft_tail_commit(rl_raft_t *r, uint64_t commit);
void rl_raft_tail_clear(rl_raft_t *r);

/* consumers.c */
bool rl_raft_consumer_op_decode(const rl_entry_t *e, rl_raft_consumer_op_t *op);
void rl_raft_consumers_close(rl_raft_consumers_t *t);
int rl_raft_consumers_reserve(rl_raft_t *r, size_t count);
const rl_raft_consumer_t *rl_raft_consumers_find(const rl_raft_consumers_t *t,
                                                 const char *name, size_t len);
void rl_raft_consumers_apply(rl_raft_consumers_t *t,
                             const rl_raft_consumer_op_t *op);
void rl_raft_consumers_copy(rl_raft_consumers_t *dst,
                            const rl_raft_consumers_t *src);
bool rl_raft_consumer_name_ok(const char *name, size_t len);

/* catalog.c */
bool rl_raft_catalog_op_decode(const rl_entry_t *e, rl_raft_catalog_op_t *op);
void rl_raft_catalog_close(rl_raft_catalog_t *t);
int rl_raft_catalog_record(rl_raft_t *r, const rl_entry_t *e,
                           rl_raft_record_t *rec);
bool rl_raft_catalog_apply(rl_raft_catalog_t *t, const rl_raft_catalog_op_t *op,
                           uint64_t index, rl_raft_log_change_t *change);
void rl_raft_catalog_copy(rl_raft_catalog_t *dst, const rl_raft_catalog_t *src);
int rl_raft_catalog_reserve(rl_raft_t *r, size_t count);
void rl_raft_catalog_committed(rl_raft_t *r, const rl_raft_catalog_op_t *op,
                               uint64_t index);
size_t rl_raft_catalog_ready(rl_raft_t *r);
bool rl_raft_catalog_settings_ok(const rl_raft_log_settings_t *s);

/* snapshot_data.c */
/* Where a snapshot's configuration came from: config_at (the index its
   CONFIG entry had, 0 for the bootstrap members) and mirrors (its
   rl_raft_members_t.mirrors). */
typedef struct {
    uint64_t config_at;
    uint64_t mirrors;
} rl_raft_state_config_t;
int rl_raft_state_encode(const rl_raft_producers_t *producers,
                         const rl_raft_consumers_t *consumers,
                         const rl_raft_catalog_t *catalog, uint64_t time,
                         const rl_raft_state_config_t *config, uint8_t **data,
                         size_t *size);
int rl_raft_state_decode(const uint8_t *data, size_t size, uint64_t last_index,
                         rl_raft_producers_t *producers,
                         rl_raft_consumers_t *consumers,
                         rl_raft_catalog_t *catalog, uint64_t *time,
                         rl_raft_state_config_t *config);

/* quiesce.c */
bool rl_raft_quiesce_leader(rl_raft_t *r, int *rc);
void rl_raft_quiesce_follower(rl_raft_t *r, const rl_msg_t *msg);
bool rl_raft_quiet_keeps(rl_raft_t *r, const rl_msg_t *msg, uint64_t term);

/* snapshot.c */
int rl_raft_send_snapshot(rl_raft_t *r, rl_raft_progress_t *pr);
int rl_raft_step_snapshot(rl_raft_t *r, const rl_msg_t *msg);
int rl_raft_step_snapshot_reply(rl_raft_t *r, const rl_msg_t *msg);
int rl_raft_snapshot_set(rl_raft_t *r, uint64_t index, uint64_t term,
                         const rl_member_t *members, size_t count,
                         const uint8_t *data, size_t size);
void rl_raft_snapshot_free(rl_raft_t *r);

#endif

/*  rl_group_private.h - the inside of rl_group_t, shared by the files
    that implement it: rl_group.c (the storage glue and the core's
    inputs), rl_group_requests.c (APPEND, MEMBERS, TRANSFER and the
    shared replies), rl_group_reads.c (READ), rl_group_consumers.c
    (durable consumers) and rl_group_answers.c (what settles waiting
    requests). Nothing else includes it.
*/
#ifndef RL_GROUP_PRIVATE_H
#define RL_GROUP_PRIVATE_H

#include "rl_group.h"
#include "rl_pending.h"

struct rl_group {
    const rl_config_t *config;           /* the node's, borrowed */
    char name[RL_RAFT_LOG_NAME_MAX + 1]; /* its log's name */
    uint64_t id;                         /* its group id (cfg.group) */
    char dir[4096];                      /* its log's directory */
    rl_member_t boot[RL_MAX_MEMBERS];    /* bootstrap members (endpoints
                                            in boot_endpoints) */
    size_t boot_count;                   /* their number */
    uint64_t boot_mirrors;               /* their stamp (a named log) */
    char *boot_endpoints;                /* owned copies, or NULL */
    uint64_t known[2 * RL_MAX_MEMBERS];  /* ids heard besides members */
    size_t known_count;                  /* their number */
    uint64_t retention_bytes;            /* --retention or the log's */
    uint64_t retention_age_ms;           /* --retention-age or the log's */
    uint32_t max_entry_bytes;            /* --max-entry or the log's */
    rl_group_links_t links;              /* sockets and helpers, borrowed */
    rl_log_t *log;                       /* the file log */
    rl_raft_t *raft;                     /* the core */
    rl_pending_table_t *pending;         /* every waiting client request */
    rl_buf_t buf;                        /* encoding buffer, reused */
    rl_log_batch_t view_batch;           /* entries read for the core */
    rl_log_batch_t read_batch;           /* entries read for clients */
    rl_entry_t *proposal;  /* entries of one APPEND_REQUEST, reused */
    size_t proposal_cap;   /* slots in proposal */
    uint64_t *read_times;  /* READ_OK's times, reused */
    size_t read_times_cap; /* slots in read_times */
    rl_consumer_position_t *positions; /* CONSUMERS_OK's list, reused */
    size_t positions_cap;              /* slots in positions */

    rl_log_sync_ticket_t ticket;    /* the ticket with the fsync helper */
    bool sync_in_flight;            /* ticket is with the helper */
    rl_log_spare_t spare;           /* the job with the spare maker */
    bool spare_in_flight;           /* spare is with the spare maker */
    rl_raft_log_change_t *changes;  /* group 0: catalog changes handed out */
    size_t change_count;            /* their number */
    size_t change_cap;              /* slots in changes */
    bool catalog_replaced;          /* a snapshot replaced the catalog */
    bool active;                    /* in the registry's active list */
    int64_t sync_started;           /* zclock_usecs() when it was handed over */
    rl_latencies_t latencies;       /* recent fsync times */
    rl_histogram_t fsync_histogram; /* every fsync time, for /metrics */
    rl_histogram_t append_histogram; /* accepted to APPEND_OK, /metrics */

    rl_raft_role_t role;              /* last role reported by the core */
    uint64_t leader;                  /* last leader reported */
    uint64_t term;                    /* last term reported */
    uint64_t members[RL_MAX_MEMBERS]; /* ids of the last configuration */
    size_t member_count;              /* their number */
    bool disk_low;                    /* see rl_group_set_disk */
    uint64_t disk_free;               /* bytes free at the last check */
    bool stall_reported;              /* a stalled fsync handled */
    bool stopping;                    /* the node is stopping */
    bool failed;                      /* a fatal storage error */

    /* Counters for STATUS. */
    uint64_t n_append_requests, n_appended, n_append_bytes, n_reads,
        n_elections, n_leader_changes, n_timeouts;
    uint64_t n_parked_refused;      /* long polls refused: caps reached */
    uint64_t n_waits_cut;           /* wait_ms cut to --max-read-wait */
    uint64_t n_parked_released;     /* long polls of clients that went away */
    uint64_t n_not_leader;          /* NOT_LEADER replies */
    uint64_t n_snapshots_sent;      /* snapshot transfers begun */
    uint64_t n_snapshot_bytes_sent; /* their chunks' bytes */
    uint64_t n_snapshots_received;  /* snapshots installed */
    uint64_t n_snapshots_taken;     /* snapshots of our own */
};

/* An ERROR reply with a formatted message (rl_front_error). */
#define S_ERROR(self, envelope, id, code, first, ...)                          \
    rl_front_error((self)->links.front, envelope, id, code, first, __VA_ARGS__)

/* OUT_OF_RANGE, naming the retained start (index and time) in its fields;
   the message (the rest) says which and what to do. */
#define S_OUT_OF_RANGE(self, envelope, id, ...)                                \
    rl_front_error_range((self)->links.front, envelope, id,                    \
                         RL_ERR_OUT_OF_RANGE, rl_log_first_index((self)->log), \
                         rl_log_first_time((self)->log), __VA_ARGS__)

/* rl_group.c */
uint64_t rl_group_commit(const rl_group_t *self);
int rl_group_fatal(rl_group_t *self, const char *what);
/* Rebuilds the core from the disk after a write that failed and was
   rolled back; 1 (the ready batch is void), -1 when fatal. */
int rl_group_restart_core(rl_group_t *self, int error);
/* Waits for this group's ticket with the fsync helper, if any. */
void rl_group_wait_sync(rl_group_t *self);

/* rl_group_upkeep.c */
/* Tells the core what is durable now. */
void rl_group_report_durable(rl_group_t *self);
/* Waits for this group's job with the spare maker, if any. */
void rl_group_wait_spare(rl_group_t *self);
/* Gives the core the wall clock, before every input call (raft.h). */
void rl_group_clock(rl_group_t *self);
/* Whether this node leads and has committed an entry of its term: its
   commit index is then the cluster's, and its consumer table current. */
bool rl_group_leads_committed(const rl_group_t *self);

/* rl_group_requests.c */
void rl_group_reply(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg);
void rl_group_reply_not_leader(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                               uint64_t leader);
void rl_group_reply_members(rl_group_t *self, zmsg_t **envelope, uint64_t id);
void rl_group_reply_transfer_ok(rl_group_t *self, zmsg_t **envelope,
                                uint64_t id, uint64_t leader);
/* Parks a request: it waits in the pending table until settled. Returns
   the record to fill in (already in the table: fill only fields that do
   not order it), or NULL when out of memory (answered INTERNAL). */
rl_pending_t *rl_group_park(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                            int kind, uint32_t timeout_ms, uint64_t index,
                            const rl_read_request_t *read,
                            rl_front_held_t *owner);

/* rl_group_reads.c */
/* Answers a READ from what is committed, or says it may wait: true when
   answered (the envelope is consumed), false when it should be parked. */
bool rl_group_serve_read(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                         rl_read_request_t *req, bool may_wait);

/* rl_group_consumers.c */
/* Whether this node may tell consumer positions (the leader, once it
   committed in its term); answers NOT_LEADER or BUSY when not. */
bool rl_group_may_tell_positions(rl_group_t *self, zmsg_t **envelope,
                                 uint64_t id);
/* Checks a consumer name from a client; answers BAD_REQUEST when bad. */
bool rl_group_consumer_name_check(rl_group_t *self, zmsg_t **envelope,
                                  uint64_t id, const char *what, rl_str_t name);
/* Copies a valid name (at most RL_MAX_CONSUMER_NAME bytes) as a C string. */
void rl_group_name_copy(char *out, rl_str_t name);
/* Answers a consumer change whose entry is committed. */
void rl_group_answer_consumer(rl_group_t *self, rl_pending_t *p);

/* rl_group_logs.c */
/* Answers a catalog change whose entry is committed. */
void rl_group_answer_catalog(rl_group_t *self, rl_pending_t *p);

/* rl_group_answers.c */
void rl_group_answer_committed(rl_group_t *self);
void rl_group_answer_expired(rl_group_t *self, int64_t now);
void rl_group_answer_transfers(rl_group_t *self, uint64_t leader);
void rl_group_answer_write_failure(rl_group_t *self, int error);
void rl_group_answer_all_shutting_down(rl_group_t *self);

#endif

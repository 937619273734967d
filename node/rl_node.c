/*  rl_node.c - raftlog-node's event loop; see rl_node.h.

    The loop's one rule, from the core's header (node/raft/raft.h): after
    every input (tick, peer message, proposal, fsync completion), drain
    rl_raft_ready() and carry out each batch in order — snapshot, hard
    state (synchronously durable), entries (written, synced later by the
    helper thread), messages, commit. Everything a client waits for is a
    "pending" record answered by a commit advance, a role change or its
    deadline; every request gets exactly one reply.

    Group commit falls out of the loop's shape: a readable socket is
    drained (up to a bound) before the core's ready batch is taken, so
    proposals that arrive together become one write; and while one
    fdatasync runs, later entries accumulate for the next one.
*/
#include "rl_node.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "raft.h"
#include "rl_codec.h"
#include "rl_front.h"
#include "rl_log.h"
#include "rl_logging.h"
#include "rl_peers.h"

/* Messages taken from one socket before the core's batch is processed:
   large enough to group many proposals, small enough to stay fair. */
#define S_DRAIN_MAX 512
/* Housekeeping period: deadlines, disk checks, shutdown progress. */
#define S_SWEEP_MS 10
/* Free-space check period. */
#define S_DISK_CHECK_MS 1000
/* READ defaults when the request leaves them at 0, and caps. */
#define S_READ_DEFAULT_ENTRIES 1000u
#define S_READ_DEFAULT_BYTES   (1u << 20)
#define S_READ_MAX_BYTES       (16u << 20)
/* fsync latencies remembered for the percentiles in STATUS. */
#define S_LATENCIES 1024

typedef enum {
    S_APPEND,  /* waits for its last index to commit */
    S_READ,    /* waits for an entry at or after from to commit */
    S_MEMBERS, /* waits for the configuration entry to commit */
    S_TRANSFER /* waits for another node to lead */
} s_kind_t;

/* A client request waiting for its answer. */
typedef struct s_pending {
    struct s_pending *next; /* next in its list */
    zmsg_t *envelope;       /* routing frames to reply with (owned) */
    uint64_t id;            /* request id to echo */
    int kind;               /* s_kind_t */
    int64_t deadline;       /* zclock_mono() ms when it times out */
    uint64_t first;         /* APPEND: first index */
    uint64_t index;         /* APPEND: last index; MEMBERS: entry index */
    uint64_t term;          /* APPEND: term it was appended in */
    bool duplicate;         /* APPEND: a repeat of the producer's seq */
    rl_read_request_t read; /* READ: the request */
} s_pending_t;

/* When we last heard from a peer, for STATUS. */
typedef struct {
    uint64_t id;  /* peer id */
    int64_t when; /* zclock_mono() ms, 0 never */
} s_contact_t;

struct rl_node {
    rl_config_t config;        /* as parsed (copied) */
    rl_log_t *log;             /* the file log */
    rl_raft_t *raft;           /* the core */
    rl_peers_t *peers;         /* peer ROUTER + DEALERs */
    zsock_t *front;            /* client front door (ROUTER) */
    zactor_t *syncer;          /* fsync helper thread */
    zactor_t *sparer;          /* spare segment helper thread */
    zloop_t *loop;             /* the event loop */
    int signal_fd;             /* SIGINT and SIGTERM, read as a file */
    rl_buf_t buf;              /* encoding buffer, reused */
    rl_log_batch_t view_batch; /* entries read for the core */
    rl_log_batch_t read_batch; /* entries read for clients */
    rl_entry_t *proposal;      /* entries of one APPEND_REQUEST, reused */
    size_t proposal_cap;       /* slots in proposal */

    bool syncing;                    /* a ticket is with the helper thread */
    rl_log_sync_ticket_t ticket;     /* that ticket */
    bool sparing;                    /* a spare is with its helper thread */
    rl_log_spare_t spare;            /* that spare */
    int64_t sync_started;            /* zclock_usecs() when it was sent */
    uint32_t latencies[S_LATENCIES]; /* recent fsync times, us */
    uint64_t latency_count;          /* fsyncs measured */

    s_pending_t *pending;     /* every waiting client request */
    bool new_pending;         /* one was added since the last scan */
    uint64_t answered_commit; /* commit index of the last scan */
    size_t pending_count;     /* their number */

    rl_raft_role_t role;                  /* last role reported by the core */
    uint64_t leader;                      /* last leader reported */
    uint64_t term;                        /* last term reported */
    s_contact_t contacts[RL_MAX_MEMBERS]; /* last message from each peer */

    bool disk_low;         /* free space under min_free_bytes */
    uint64_t disk_free;    /* bytes free at the last check */
    int64_t disk_checked;  /* zclock_mono() of the last check */
    bool stall_reported;   /* a stalled fsync already handled */
    bool stopping;         /* a signal asked us to stop */
    int64_t stop_deadline; /* give up waiting for a transfer then */
    int exit_status;       /* returned by rl_node_run */
    int64_t started;       /* zclock_mono() at start */

    /* Counters for STATUS. */
    uint64_t n_append_requests, n_appended, n_append_bytes, n_reads,
        n_elections, n_leader_changes, n_timeouts, n_bad_requests;
};

/* ---- Small helpers ---- */

static uint64_t s_commit(rl_node_t *self)
{
    rl_raft_status_t status;
    rl_raft_status(self->raft, &status);
    return status.commit;
}

static const rl_member_t *s_member(rl_node_t *self, uint64_t id)
{
    size_t count;
    const rl_member_t *members = rl_raft_members(self->raft, &count);
    for (size_t i = 0; i < count; i++)
        if (members[i].id == id)
            return &members[i];
    return NULL;
}

/* The endpoint of a member: from this node's own --member flags when they
   name it (the local address book wins, so that a node behind a proxy or
   NAT can be reached by another address than the one in the replicated
   configuration), else from the live configuration. */
static bool s_endpoint(rl_node_t *self, uint64_t id, bool peer, char *out,
                       size_t size)
{
    const rl_config_member_t *c = rl_config_member(&self->config, id);
    if (c) {
        snprintf(out, size, "%s", peer ? c->peer : c->client);
        return true;
    }
    const rl_member_t *m = s_member(self, id);
    if (m) {
        rl_str_t addr = peer ? m->peer_addr : m->client_addr;
        if (addr.size && addr.size < size) {
            memcpy(out, addr.ptr, addr.size);
            out[addr.size] = '\0';
            return true;
        }
    }
    return false;
}

/* ---- Replies ---- */

/* Sends msg to the client behind envelope (which is consumed). */
static void s_reply(rl_node_t *self, zmsg_t **envelope, rl_msg_t *msg)
{
    rl_buf_reset(&self->buf);
    char err[RL_CODEC_ERROR_SIZE];
    if (rl_codec_encode(msg, &self->buf, err) != 0) {
        rl_logf(RL_LOG_ERROR, "cannot encode a %s reply: %s",
                rl_msg_type_name(msg->type), err);
        zmsg_destroy(envelope);
        return;
    }
    zmsg_addmem(*envelope, self->buf.data, self->buf.size);
    /* A client that went away makes the ROUTER drop this; never block. */
    zmsg_send(envelope, self->front);
    zmsg_destroy(envelope);
}

static void s_reply_error(rl_node_t *self, zmsg_t **envelope, uint64_t id,
                          int code, uint64_t first, const char *format, ...)
    __attribute__((format(printf, 6, 7)));

static void s_reply_error(rl_node_t *self, zmsg_t **envelope, uint64_t id,
                          int code, uint64_t first, const char *format, ...)
{
    char text[RL_MAX_ERROR_MESSAGE];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_ERROR);
    msg.id = id;
    msg.body.error.code = (uint16_t)code;
    msg.body.error.message = rl_str(text);
    msg.body.error.first = first;
    s_reply(self, envelope, &msg);
}

static void s_reply_not_leader(rl_node_t *self, zmsg_t **envelope, uint64_t id,
                               uint64_t leader)
{
    char endpoint[RL_MAX_ENDPOINT + 1] = "";
    if (leader && leader != self->config.id)
        s_endpoint(self, leader, false, endpoint, sizeof(endpoint));
    else
        leader = 0;
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_NOT_LEADER);
    msg.id = id;
    msg.body.not_leader.leader = leader;
    msg.body.not_leader.leader_addr = rl_str(endpoint);
    s_reply(self, envelope, &msg);
}

static void s_reply_members(rl_node_t *self, zmsg_t **envelope, uint64_t id)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_MEMBERS_OK);
    msg.id = id;
    size_t count;
    const rl_member_t *members = rl_raft_members(self->raft, &count);
    msg.body.members_ok.members = (rl_member_t *)members;
    msg.body.members_ok.member_count = count;
    s_reply(self, envelope, &msg);
}

/* ---- Pending requests ---- */

static s_pending_t *s_pend(rl_node_t *self, zmsg_t **envelope, uint64_t id,
                           int kind, uint32_t timeout_ms)
{
    s_pending_t *p = calloc(1, sizeof(*p));
    if (!p) {
        s_reply_error(self, envelope, id, RL_ERR_INTERNAL, 0,
                      "out of memory on the node");
        return NULL;
    }
    p->envelope = *envelope;
    *envelope = NULL;
    p->id = id;
    p->kind = kind;
    p->deadline = zclock_mono() + timeout_ms;
    p->next = self->pending;
    self->pending = p;
    self->pending_count++;
    self->new_pending = true;
    return p;
}

static void s_unlink(rl_node_t *self, s_pending_t **link)
{
    s_pending_t *p = *link;
    *link = p->next;
    zmsg_destroy(&p->envelope);
    free(p);
    self->pending_count--;
}

/* ---- READ ---- */

/* Answers a READ from what is committed, or parks it when it may wait.
   Returns true when answered. */
static bool s_serve_read(rl_node_t *self, zmsg_t **envelope, uint64_t id,
                         rl_read_request_t *req, bool may_wait)
{
    uint64_t first = rl_log_first_index(self->log);
    uint64_t commit = s_commit(self);
    if (req->from == 0) {
        s_reply_error(self, envelope, id, RL_ERR_BAD_REQUEST, 0,
                      "READ_REQUEST: 'from' must be 1 or more");
        return true;
    }
    if (req->from < first) {
        s_reply_error(self, envelope, id, RL_ERR_OUT_OF_RANGE, first,
                      "index %" PRIu64 " is no longer retained; the log "
                      "starts at %" PRIu64 ": read from there",
                      req->from, first);
        return true;
    }
    if (req->from > commit && may_wait && req->wait_ms > 0)
        return false;

    uint32_t max_entries =
        req->max_entries ? req->max_entries : S_READ_DEFAULT_ENTRIES;
    if (max_entries > RL_MAX_BATCH_ENTRIES)
        max_entries = RL_MAX_BATCH_ENTRIES;
    uint32_t max_bytes = req->max_bytes ? req->max_bytes : S_READ_DEFAULT_BYTES;
    if (max_bytes > S_READ_MAX_BYTES)
        max_bytes = S_READ_MAX_BYTES;

    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_READ_OK);
    msg.id = id;
    uint64_t next = req->from;
    /* Read in one go; Raft's own entries (no-ops, configurations) are
       skipped but still move `next`, so the reader never sees a gap. */
    if (next <= commit) {
        size_t want = (size_t)(commit - next + 1);
        if (want > max_entries)
            want = max_entries;
        int rc =
            rl_log_read(self->log, next, want, max_bytes, &self->read_batch);
        if (rc != 0) {
            s_reply_error(self, envelope, id, RL_ERR_INTERNAL, 0,
                          "reading the log failed: %s",
                          rl_log_error(self->log));
            return true;
        }
        size_t kept = 0;
        rl_entry_t *entries = self->read_batch.entries;
        for (size_t i = 0; i < self->read_batch.count; i++) {
            if (entries[i].type == RL_ENTRY_NORMAL)
                entries[kept++] = entries[i];
            next = entries[i].index + 1;
        }
        msg.body.read_ok.entries = entries;
        msg.body.read_ok.entry_count = kept;
        /* Only Raft's own entries so far: a long-poll goes on waiting for
           a user entry after them rather than answering empty. */
        if (kept == 0 && next > commit && may_wait && req->wait_ms > 0) {
            req->from = next;
            return false;
        }
    }
    msg.body.read_ok.next = next;
    msg.body.read_ok.commit = commit;
    msg.body.read_ok.first = first;
    self->n_reads++;
    s_reply(self, envelope, &msg);
    return true;
}

/* ---- Answering what waits ---- */

/* Answers the pending requests that the commit index now settles. */
static void s_answer_committed(rl_node_t *self)
{
    uint64_t commit = s_commit(self);
    s_pending_t **link = &self->pending;
    while (*link) {
        s_pending_t *p = *link;
        bool done = false;
        if (p->kind == S_APPEND && p->index <= commit) {
            /* Term 0: a duplicate whose original was compacted away,
               which happens only to committed entries. */
            uint64_t term = 0;
            if (p->term == 0 || (rl_log_term(self->log, p->index, &term) == 0 &&
                                 term == p->term)) {
                rl_msg_t msg;
                rl_msg_init(&msg, RL_MSG_APPEND_OK);
                msg.id = p->id;
                msg.body.append_ok.first = p->first;
                msg.body.append_ok.last = p->index;
                msg.body.append_ok.duplicate = p->duplicate;
                s_reply(self, &p->envelope, &msg);
            } else {
                /* Another leader's entries replaced ours: not appended. */
                s_reply_not_leader(self, &p->envelope, p->id, self->leader);
            }
            done = true;
        } else if (p->kind == S_READ && p->read.from <= commit) {
            done = s_serve_read(self, &p->envelope, p->id, &p->read, true);
        } else if (p->kind == S_MEMBERS && p->index <= commit) {
            s_reply_members(self, &p->envelope, p->id);
            done = true;
        }
        if (done)
            s_unlink(self, link);
        else
            link = &p->next;
    }
}

/* Answers the requests whose deadline passed, or all of them with
   SHUTTING_DOWN when all is true. */
static void s_answer_expired(rl_node_t *self, bool all)
{
    int64_t now = zclock_mono();
    s_pending_t **link = &self->pending;
    while (*link) {
        s_pending_t *p = *link;
        if (!all && p->deadline > now) {
            link = &p->next;
            continue;
        }
        if (all) {
            s_reply_error(self, &p->envelope, p->id, RL_ERR_SHUTTING_DOWN, 0,
                          "node %" PRIu64 " is shutting down; retry on "
                          "another node",
                          self->config.id);
        } else if (p->kind == S_READ) {
            s_serve_read(self, &p->envelope, p->id, &p->read, false);
        } else {
            self->n_timeouts++;
            s_reply_error(self, &p->envelope, p->id, RL_ERR_TIMEOUT, 0,
                          "not done within %u ms (no quorum, or a leader "
                          "change); %s",
                          self->config.request_timeout_ms,
                          p->kind == S_APPEND
                              ? "the outcome is unknown: retry with the "
                                "same producer and seq"
                          : p->kind == S_TRANSFER
                              ? "no other node took over: check STATUS and "
                                "retry"
                              : "check the members (MEMBERS list) before "
                                "retrying");
        }
        s_unlink(self, link);
    }
}

/* A leadership transfer is done: leader leads (it may be this node, when
   it was asked to lead and already does). */
static void s_reply_transfer_ok(rl_node_t *self, zmsg_t **envelope, uint64_t id,
                                uint64_t leader)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_TRANSFER_OK);
    msg.id = id;
    msg.body.transfer_ok.leader = leader;
    s_reply(self, envelope, &msg);
}

/* The core reported a new role, leader or term. */
static void s_on_role(rl_node_t *self, const rl_raft_ready_t *ready)
{
    if (ready->role != self->role || ready->term != self->term) {
        if (ready->role == RL_RAFT_CANDIDATE)
            self->n_elections++;
        if (ready->role != self->role)
            rl_logf(RL_LOG_INFO, "%s in term %" PRIu64,
                    rl_raft_role_name(ready->role), ready->term);
    }
    if (ready->leader != self->leader) {
        self->n_leader_changes++;
        if (ready->leader)
            rl_logf(RL_LOG_INFO,
                    "leader is node %" PRIu64 " (term %" PRIu64 ")",
                    ready->leader, ready->term);
        else
            rl_logf(RL_LOG_INFO, "no leader known (term %" PRIu64 ")",
                    ready->term);
    }
    self->role = ready->role;
    self->leader = ready->leader;
    self->term = ready->term;
    /* A transfer is done once someone else leads. */
    if (ready->leader && ready->leader != self->config.id) {
        s_pending_t **link = &self->pending;
        while (*link) {
            s_pending_t *p = *link;
            if (p->kind == S_TRANSFER) {
                s_reply_transfer_ok(self, &p->envelope, p->id, ready->leader);
                s_unlink(self, link);
            } else {
                link = &p->next;
            }
        }
    }
}

/* ---- Storage glue ---- */

/* Snapshot configurations are stored as an encoded MEMBERS_OK message:
   the codec already knows how to write and check a member list. */
static int s_encode_members(rl_node_t *self, const rl_member_t *members,
                            size_t count)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_MEMBERS_OK);
    msg.body.members_ok.members = (rl_member_t *)members;
    msg.body.members_ok.member_count = count;
    rl_buf_reset(&self->buf);
    return rl_codec_encode(&msg, &self->buf, NULL);
}

static int s_fatal(rl_node_t *self, const char *what)
{
    rl_logf(RL_LOG_ERROR,
            "%s: %s; stopping: restart the node once the "
            "cause is fixed (it recovers from the disk)",
            what, rl_log_error(self->log));
    self->exit_status = 1;
    return -1;
}

/* Hands the written-but-not-durable entries to the fsync helper. */
static int s_start_sync(rl_node_t *self)
{
    if (self->syncing || !self->config.fsync ||
        rl_log_durable_index(self->log) >= rl_log_last_index(self->log))
        return 0;
    if (rl_log_sync_prepare(self->log, &self->ticket) != 0)
        return s_fatal(self, "cannot start an fdatasync");
    self->syncing = true;
    self->sync_started = zclock_usecs();
    zsock_send(self->syncer, "p", &self->ticket);
    return 0;
}

/* Tells the core what is durable now. */
static void s_report_durable(rl_node_t *self)
{
    uint64_t durable = self->config.fsync ? rl_log_durable_index(self->log)
                                          : rl_log_last_index(self->log);
    uint64_t term = 0;
    if (durable >= rl_log_first_index(self->log) &&
        rl_log_term(self->log, durable, &term) == 0)
        rl_raft_persisted(self->raft, durable, term);
}

static int s_open_core(rl_node_t *self, char *err);

/* A write that failed and was rolled back (ENOSPC, say) leaves the disk
   consistent, but the core believing in entries that are not there. Do
   what a restart would do, without leaving the process: rebuild the core
   from what the disk holds. A new core takes its log as durable, so the
   log is synced first. Clients waiting for an append get NO_SPACE (or
   INTERNAL): their outcome is unknown, and an idempotent retry is safe.
   Returns 1 (the current ready batch is void), or -1 when fatal. */
static int s_restart_core(rl_node_t *self, int error)
{
    rl_logf(RL_LOG_WARN, "%s; rebuilding the Raft state from the disk",
            rl_log_error(self->log));
    if (self->syncing) {
        int rc = -1;
        zsock_recv(self->syncer, "i", &rc);
        self->syncing = false;
        if (rl_log_sync_finish(self->log, &self->ticket, rc) != 0)
            return s_fatal(self, "fdatasync failed");
    }
    if (self->config.fsync && rl_log_sync(self->log) != 0)
        return s_fatal(self, "fdatasync failed");
    s_pending_t **link = &self->pending;
    while (*link) {
        s_pending_t *p = *link;
        if (p->kind == S_READ) {
            link = &p->next;
            continue;
        }
        s_reply_error(self, &p->envelope, p->id,
                      error == ENOSPC ? RL_ERR_NO_SPACE : RL_ERR_INTERNAL, 0,
                      "node %" PRIu64 " could not write its log (%s); the "
                      "outcome is unknown: retry with the same producer and "
                      "seq",
                      self->config.id, strerror(error));
        s_unlink(self, link);
    }
    rl_raft_destroy(&self->raft);
    char err[512];
    if (s_open_core(self, err) != 0) {
        rl_logf(RL_LOG_ERROR, "%s", err);
        self->exit_status = 1;
        return -1;
    }
    self->role = RL_RAFT_FOLLOWER;
    self->leader = 0;
    return 1;
}

/* Carries out one ready batch, in the order raft.h prescribes. Returns 0,
   1 when the core was rebuilt (the batch is void), or -1 when fatal. */
static int s_carry_out(rl_node_t *self, rl_raft_ready_t *ready)
{
    if (ready->snapshot_install) {
        const rl_raft_snapshot_t *s = ready->snapshot;
        if (s_encode_members(self, s->members, s->member_count) != 0)
            return s_fatal(self, "cannot encode a snapshot configuration");
        rl_log_snapshot_t snap = {s->last_index,  s->last_term, self->buf.data,
                                  self->buf.size, s->data,      s->size};
        if (rl_log_install_snapshot(self->log, &snap) != 0)
            return s_fatal(self, "cannot install a snapshot");
        rl_logf(RL_LOG_INFO, "installed a snapshot up to index %" PRIu64,
                s->last_index);
    }
    if (ready->hard_state_changed) {
        /* Nothing of this batch may go out before the term and vote are
           durable (paper, Fig. 2); a failed write keeps the old ones. */
        int rc = rl_log_set_hard_state(self->log, ready->term, ready->vote);
        if (rc != 0 && rl_log_failed(self->log))
            return s_fatal(self, "cannot save the term and vote");
        if (rc != 0)
            return s_restart_core(self, rc);
    }
    /* Entries the log already covers with its snapshot are committed and
       identical (Log Matching): skip them rather than truncate there. */
    size_t skip = 0;
    while (skip < ready->entry_count &&
           ready->entries[skip].index < rl_log_first_index(self->log))
        skip++;
    if (skip < ready->entry_count) {
        uint64_t from = ready->entries[skip].index;
        if (from <= rl_log_last_index(self->log) &&
            rl_log_truncate(self->log, from) != 0)
            return s_fatal(self, "cannot truncate a conflicting suffix");
        int rc = rl_log_append(self->log, ready->entries + skip,
                               ready->entry_count - skip);
        if (rc != 0 && rl_log_failed(self->log))
            return s_fatal(self, "cannot append to the log");
        if (rc != 0)
            return s_restart_core(self, rc);
        if (!self->config.fsync)
            s_report_durable(self);
    }
    for (size_t i = 0; i < ready->message_count; i++) {
        const rl_raft_envelope_t *e = &ready->messages[i];
        char endpoint[RL_MAX_ENDPOINT + 1];
        if (!s_endpoint(self, e->to, true, endpoint, sizeof(endpoint)) ||
            rl_peers_connect(self->peers, e->to, endpoint) != 0)
            continue;
        rl_buf_reset(&self->buf);
        char err[RL_CODEC_ERROR_SIZE];
        if (rl_codec_encode(&e->msg, &self->buf, err) != 0) {
            rl_logf(RL_LOG_ERROR, "cannot encode %s for node %" PRIu64 ": %s",
                    rl_msg_type_name(e->msg.type), e->to, err);
            continue;
        }
        rl_peers_send(self->peers, e->to, self->buf.data, self->buf.size);
    }
    if (ready->role_changed)
        s_on_role(self, ready);
    if (ready->snapshot_taken) {
        const rl_raft_snapshot_t *s = ready->snapshot;
        if (s_encode_members(self, s->members, s->member_count) != 0)
            return s_fatal(self, "cannot encode a snapshot configuration");
        rl_log_snapshot_t snap = {s->last_index,  s->last_term, self->buf.data,
                                  self->buf.size, s->data,      s->size};
        if (rl_log_save_snapshot(self->log, &snap) != 0)
            return s_fatal(self, "cannot save a snapshot");
    }
    return 0;
}

/* Drains the core: every ready batch, then answers and the next fsync. */
static int s_drive(rl_node_t *self)
{
    rl_raft_ready_t ready;
    while (rl_raft_ready(self->raft, &ready)) {
        if (s_carry_out(self, &ready) < 0)
            return -1;
    }
    /* Scan the waiting requests only when something can have settled one:
       with thousands of long-polls waiting, most loop turns change
       nothing for them. */
    uint64_t commit = s_commit(self);
    if (commit != self->answered_commit || self->new_pending) {
        self->answered_commit = commit;
        self->new_pending = false;
        s_answer_committed(self);
    }
    return s_start_sync(self);
}

/* ---- The core's view of the file log ---- */

static uint64_t s_view_first(void *ctx)
{
    return rl_log_first_index(((rl_node_t *)ctx)->log);
}

static uint64_t s_view_last(void *ctx)
{
    return rl_log_last_index(((rl_node_t *)ctx)->log);
}

static int s_view_term(void *ctx, uint64_t index, uint64_t *term)
{
    return rl_log_term(((rl_node_t *)ctx)->log, index, term) ? -1 : 0;
}

static int s_view_read(void *ctx, uint64_t from, size_t max_count,
                       size_t max_bytes, rl_entry_t *out, size_t *count)
{
    rl_node_t *self = ctx;
    if (rl_log_read(self->log, from, max_count, max_bytes, &self->view_batch))
        return -1;
    memcpy(out, self->view_batch.entries,
           self->view_batch.count * sizeof(rl_entry_t));
    *count = self->view_batch.count;
    return 0;
}

/* ---- Inputs ---- */

static void s_touch(rl_node_t *self, uint64_t id)
{
    for (size_t i = 0; i < RL_MAX_MEMBERS; i++) {
        if (self->contacts[i].id == id || self->contacts[i].id == 0) {
            self->contacts[i].id = id;
            self->contacts[i].when = zclock_mono();
            return;
        }
    }
}

static int s_on_peer(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    rl_node_t *self = arg;
    zframe_t *frame;
    for (int n = 0; n < S_DRAIN_MAX && rl_peers_recv(self->peers, &frame) == 0;
         n++) {
        rl_msg_t msg;
        char err[RL_CODEC_ERROR_SIZE];
        if (rl_codec_decode(zframe_data(frame), zframe_size(frame), &msg,
                            err) != 0 ||
            !rl_msg_is_peer(msg.type)) {
            rl_logf(RL_LOG_DEBUG, "dropped a bad peer message: %s", err);
        } else if (msg.cluster.size != strlen(self->config.cluster_id) ||
                   memcmp(msg.cluster.ptr, self->config.cluster_id,
                          msg.cluster.size) != 0) {
            rl_logf(RL_LOG_WARN,
                    "dropped a message from node %" PRIu64 " of cluster "
                    "'%.*s'; this node is in cluster '%s': check its "
                    "--cluster-id",
                    msg.from, (int)msg.cluster.size, msg.cluster.ptr,
                    self->config.cluster_id);
        } else {
            s_touch(self, msg.from);
            if (rl_raft_step(self->raft, &msg) != 0)
                rl_logf(RL_LOG_WARN, "out of memory handling %s",
                        rl_msg_type_name(msg.type));
        }
        rl_msg_close(&msg);
        zframe_destroy(&frame);
    }
    return s_drive(self);
}

static void s_handle_append(rl_node_t *self, zmsg_t **envelope,
                            const rl_msg_t *msg)
{
    const rl_append_request_t *req = &msg->body.append_request;
    if (req->entry_count > self->config.max_batch_entries) {
        s_reply_error(self, envelope, msg->id, RL_ERR_TOO_LARGE, 0,
                      "a batch of %zu entries is over this node's limit of "
                      "%u; split it",
                      req->entry_count, self->config.max_batch_entries);
        return;
    }
    if (req->entry_count > self->proposal_cap) {
        rl_entry_t *grown =
            realloc(self->proposal, req->entry_count * sizeof(rl_entry_t));
        if (!grown) {
            s_reply_error(self, envelope, msg->id, RL_ERR_INTERNAL, 0,
                          "out of memory on the node");
            return;
        }
        self->proposal = grown;
        self->proposal_cap = req->entry_count;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < req->entry_count; i++) {
        if (req->entries[i].size > self->config.max_entry_bytes) {
            s_reply_error(self, envelope, msg->id, RL_ERR_TOO_LARGE, 0,
                          "entry %zu is %zu bytes, over this node's limit "
                          "of %u bytes",
                          i, req->entries[i].size,
                          self->config.max_entry_bytes);
            return;
        }
        memset(&self->proposal[i], 0, sizeof(rl_entry_t));
        self->proposal[i].type = RL_ENTRY_NORMAL;
        self->proposal[i].data = (const uint8_t *)req->entries[i].ptr;
        self->proposal[i].size = req->entries[i].size;
        bytes += req->entries[i].size;
    }
    if (self->disk_low && self->role == RL_RAFT_LEADER) {
        s_reply_error(self, envelope, msg->id, RL_ERR_NO_SPACE, 0,
                      "node %" PRIu64 " has %" PRIu64 " bytes free, under "
                      "its minimum of %" PRIu64 "; free space on its disk",
                      self->config.id, self->disk_free,
                      self->config.min_free_bytes);
        return;
    }
    rl_raft_proposal_t out;
    int rc = rl_raft_propose(self->raft, self->proposal, req->entry_count,
                             req->producer_id, req->seq, &out);
    if (rc == RL_RAFT_NOT_LEADER) {
        s_reply_not_leader(self, envelope, msg->id, out.leader);
        return;
    }
    if (rc != 0) {
        const char *why =
            rc == RL_ERR_BUSY
                ? "too much data is waiting to commit (back-pressure); "
                  "retry after a pause"
            : rc == RL_ERR_STALE_SEQUENCE
                ? "this producer has already appended a later seq; this "
                  "batch was superseded"
            : rc == RL_ERR_REJECTED
                ? "only the first part of this batch reached the log before "
                  "a leader change, and it cannot be completed under this "
                  "seq: read the log from the index of your last "
                  "acknowledged append to see which entries landed, then "
                  "send the rest with a new seq"
                : "the leader refused the batch";
        s_reply_error(self, envelope, msg->id, rc, 0, "%s", why);
        return;
    }
    self->n_append_requests++;
    if (!out.duplicate) {
        self->n_appended += req->entry_count;
        self->n_append_bytes += bytes;
    }
    s_pending_t *p = s_pend(self, envelope, msg->id, S_APPEND,
                            self->config.request_timeout_ms);
    if (p) {
        p->first = out.first;
        p->index = out.last;
        p->term = out.term;
        p->duplicate = out.duplicate;
    }
}

static void s_reply_status(rl_node_t *self, zmsg_t **envelope, uint64_t id);

static void s_handle_members(rl_node_t *self, zmsg_t **envelope,
                             const rl_msg_t *msg)
{
    const rl_members_request_t *req = &msg->body.members_request;
    if (req->op == RL_MEMBERS_LIST) {
        s_reply_members(self, envelope, msg->id);
        return;
    }
    int rc;
    if (req->op == RL_MEMBERS_ADD) {
        if (!req->member.id || !req->member.peer_addr.size ||
            !req->member.client_addr.size) {
            s_reply_error(self, envelope, msg->id, RL_ERR_BAD_REQUEST, 0,
                          "MEMBERS add needs the member's id, peer and "
                          "client endpoints");
            return;
        }
        rc = rl_raft_add_member(self->raft, &req->member);
    } else {
        rc = rl_raft_remove_member(self->raft, req->member.id);
    }
    if (rc == RL_RAFT_NOT_LEADER) {
        s_reply_not_leader(self, envelope, msg->id, self->leader);
        return;
    }
    if (rc != 0) {
        s_reply_error(
            self, envelope, msg->id, rc, 0, "%s",
            rc == RL_ERR_BUSY ? "another membership change is in progress, "
                                "or the new leader has not committed yet; "
                                "retry in a moment"
            : rc == RL_ERR_REJECTED
                ? (req->op == RL_MEMBERS_ADD
                       ? "that id is already a member"
                       : "that id is not a member (or is the last one)")
                : "the membership change was refused");
        return;
    }
    rl_raft_status_t status;
    rl_raft_status(self->raft, &status);
    rl_logf(RL_LOG_INFO, "membership: %s node %" PRIu64 " proposed",
            req->op == RL_MEMBERS_ADD ? "adding" : "removing", req->member.id);
    s_pending_t *p = s_pend(self, envelope, msg->id, S_MEMBERS,
                            self->config.request_timeout_ms);
    if (p)
        p->index = status.last_index;
}

static void s_handle_client(rl_node_t *self, zmsg_t *request)
{
    zmsg_t *envelope;
    zframe_t *payload;
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    int rc = rl_front_split(&request, &envelope, &payload, &msg, err);
    if (rc != 0) {
        self->n_bad_requests++;
        s_reply_error(self, &envelope, msg.id, rc, 0, "%s", err);
    } else if (self->stopping) {
        s_reply_error(self, &envelope, msg.id, RL_ERR_SHUTTING_DOWN, 0,
                      "node %" PRIu64 " is shutting down; retry on another "
                      "node",
                      self->config.id);
    } else {
        switch (msg.type) {
        case RL_MSG_APPEND_REQUEST:
            s_handle_append(self, &envelope, &msg);
            break;
        case RL_MSG_READ_REQUEST:
            if (!s_serve_read(self, &envelope, msg.id, &msg.body.read_request,
                              true)) {
                s_pending_t *p = s_pend(self, &envelope, msg.id, S_READ,
                                        msg.body.read_request.wait_ms);
                if (p)
                    p->read = msg.body.read_request;
            }
            break;
        case RL_MSG_STATUS_REQUEST:
            s_reply_status(self, &envelope, msg.id);
            break;
        case RL_MSG_MEMBERS_REQUEST:
            s_handle_members(self, &envelope, &msg);
            break;
        case RL_MSG_TRANSFER_REQUEST:
            rc = rl_raft_transfer(self->raft, msg.body.transfer_request.target);
            if (rc == RL_RAFT_NOT_LEADER)
                s_reply_not_leader(self, &envelope, msg.id, self->leader);
            else if (rc != 0)
                s_reply_error(self, &envelope, msg.id, rc, 0,
                              "the leadership transfer was refused (unknown "
                              "target, or a transfer is under way)");
            else if (msg.body.transfer_request.target == self->config.id)
                s_reply_transfer_ok(self, &envelope, msg.id, self->config.id);
            else
                s_pend(self, &envelope, msg.id, S_TRANSFER,
                       self->config.request_timeout_ms);
            break;
        default:
            self->n_bad_requests++;
            s_reply_error(self, &envelope, msg.id, RL_ERR_BAD_REQUEST, 0,
                          "%s is not a client request; see "
                          "docs/PROTOCOL.md",
                          rl_msg_type_name(msg.type));
        }
    }
    rl_msg_close(&msg);
    zframe_destroy(&payload);
    zmsg_destroy(&envelope);
}

static int s_on_client(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    rl_node_t *self = arg;
    for (int n = 0; n < S_DRAIN_MAX && (zsock_events(reader) & ZMQ_POLLIN);
         n++) {
        zmsg_t *request = zmsg_recv(reader);
        if (!request)
            break;
        s_handle_client(self, request);
        /* Take the core's batch now and then: one proposal's entries must
           not wait behind hundreds of reads. */
        if (n % 64 == 63 && s_drive(self) != 0)
            return -1;
    }
    return s_drive(self);
}

static int s_on_synced(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    rl_node_t *self = arg;
    int rc = -1;
    if (zsock_recv(reader, "i", &rc) != 0)
        return 0;
    int64_t took = zclock_usecs() - self->sync_started;
    self->latencies[self->latency_count++ % S_LATENCIES] =
        (uint32_t)(took > UINT32_MAX ? UINT32_MAX : took);
    self->syncing = false;
    if (rl_log_sync_finish(self->log, &self->ticket, rc) != 0)
        return s_fatal(self, "fdatasync failed; durability cannot be "
                             "promised any more");
    s_report_durable(self);
    return s_drive(self);
}

/* Keeps a spare segment ready for the next rollover (rl_log.h: "Spare
   segments"), when fsync is on and the disk has room for it and two more
   segments above the minimum free space. */
static void s_start_spare(rl_node_t *self)
{
    if (self->sparing || !self->config.fsync || self->stopping ||
        self->disk_free <
            self->config.min_free_bytes + 3 * self->config.segment_bytes)
        return;
    if (rl_log_spare_prepare(self->log, &self->spare)) {
        self->sparing = true;
        zsock_send(self->sparer, "p", &self->spare);
    }
}

static void s_finish_spare(rl_node_t *self)
{
    int rc = -1;
    zsock_recv(self->sparer, "i", &rc);
    self->sparing = false;
    rl_log_spare_finish(self->log, &self->spare, rc);
}

static int s_on_spared(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    s_finish_spare(arg);
    return 0;
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_node_t *self = arg;
    rl_raft_tick(self->raft);
    return s_drive(self);
}

/* Free space on the data directory's file system. */
static void s_check_disk(rl_node_t *self)
{
    struct statvfs fs;
    if (statvfs(self->config.data_dir, &fs) != 0)
        return;
    self->disk_free = (uint64_t)fs.f_bavail * fs.f_frsize;
    bool low = self->disk_free < self->config.min_free_bytes;
    if (low != self->disk_low)
        rl_logf(low ? RL_LOG_WARN : RL_LOG_INFO,
                "disk space %s: %" PRIu64 " bytes free (minimum %" PRIu64 ")%s",
                low ? "low" : "back", self->disk_free,
                self->config.min_free_bytes,
                low ? "; refusing appends with NO_SPACE" : "");
    self->disk_low = low;
}

/* Retention (--retention): once the log holds more than the configured
   bytes, drop its oldest whole segments. Only entries a snapshot covers
   can go (a follower that still needs them gets the snapshot instead), so
   first the core takes one at its commit index when the stored one is
   too old. Committed entries only: an uncommitted tail is never dropped. */
static int s_apply_retention(rl_node_t *self)
{
    if (!self->config.retention_bytes)
        return 0;
    uint64_t boundary =
        rl_log_retention_index(self->log, self->config.retention_bytes);
    if (boundary == 0)
        return 0;
    rl_log_snapshot_t snap;
    uint64_t covered =
        rl_log_snapshot(self->log, &snap) == 0 ? snap.last_index : 0;
    if (covered + 1 < boundary) {
        /* BUSY or REJECTED: nothing new to cover yet; try next sweep. */
        if (rl_raft_compact(self->raft) == 0 && s_drive(self) != 0)
            return -1; /* the snapshot is stored by s_carry_out */
        covered = rl_log_snapshot(self->log, &snap) == 0 ? snap.last_index : 0;
    }
    uint64_t upto = boundary < covered + 1 ? boundary : covered + 1;
    uint64_t first = rl_log_first_index(self->log);
    if (upto <= first)
        return 0;
    if (rl_log_compact(self->log, upto) != 0)
        return rl_log_failed(self->log)
                   ? s_fatal(self, "cannot delete compacted segments")
                   : 0;
    if (rl_log_first_index(self->log) > first)
        rl_logf(RL_LOG_INFO,
                "retention: dropped indexes %" PRIu64 "..%" PRIu64 ", %" PRIu64
                " bytes of log kept",
                first, rl_log_first_index(self->log) - 1,
                rl_log_bytes(self->log));
    return 0;
}

static int s_on_sweep(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_node_t *self = arg;
    int64_t now = zclock_mono();
    s_answer_expired(self, false);
    if (now - self->disk_checked >= S_DISK_CHECK_MS) {
        self->disk_checked = now;
        s_check_disk(self);
    }
    /* A leader whose disk stalls or fills must not go on heartbeating as
       if healthy: hand leadership to a node that can make progress. */
    bool stalled =
        self->syncing && zclock_usecs() - self->sync_started >
                             (int64_t)self->config.election_timeout_ms * 1000;
    if (self->role == RL_RAFT_LEADER && (stalled || self->disk_low)) {
        /* Once per episode: when every node is as sick, leadership would
           otherwise bounce between them for nothing. */
        if (!self->stall_reported) {
            rl_logf(RL_LOG_WARN, "%s; transferring leadership",
                    stalled ? "an fdatasync is taking longer than an "
                              "election timeout"
                            : "disk space is low");
            self->stall_reported = true;
            rl_raft_transfer(self->raft, 0);
        }
    } else if (!stalled && !self->disk_low) {
        self->stall_reported = false;
    }
    if (s_apply_retention(self) != 0)
        return -1;
    s_start_spare(self);
    if (self->stopping) {
        bool handed_over = self->role != RL_RAFT_LEADER;
        if (handed_over || now >= self->stop_deadline)
            return -1; /* rl_node_run finishes the shutdown */
    }
    return s_drive(self);
}

static int s_on_signal(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    rl_node_t *self = arg;
    struct signalfd_siginfo info;
    ssize_t n = read(item->fd, &info, sizeof(info));
    (void)n;
    if (self->stopping)
        return 0;
    self->stopping = true;
    self->stop_deadline =
        zclock_mono() + (int64_t)self->config.election_timeout_ms;
    rl_logf(RL_LOG_INFO, "stopping: %s",
            self->role == RL_RAFT_LEADER ? "handing leadership over first"
                                         : "answering waiting clients");
    if (self->role == RL_RAFT_LEADER)
        rl_raft_transfer(self->raft, 0);
    return s_drive(self);
}

/* ---- STATUS ---- */

static int s_compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void s_reply_status(rl_node_t *self, zmsg_t **envelope, uint64_t id)
{
    rl_raft_status_t st;
    rl_raft_status(self->raft, &st);
    size_t count;
    const rl_member_t *members = rl_raft_members(self->raft, &count);
    rl_member_status_t rows[RL_MAX_MEMBERS];
    int64_t now = zclock_mono();
    uint64_t lag = 0;
    for (size_t i = 0; i < count && i < RL_MAX_MEMBERS; i++) {
        rows[i].member = members[i];
        rows[i].match_index = members[i].id == self->config.id
                                  ? st.persisted
                                  : rl_raft_match_of(self->raft, members[i].id);
        rows[i].last_contact_ms = members[i].id == self->config.id ? 0 : -1;
        for (size_t c = 0; c < RL_MAX_MEMBERS; c++)
            if (self->contacts[c].id == members[i].id && self->contacts[c].when)
                rows[i].last_contact_ms = now - self->contacts[c].when;
        if (st.role == RL_RAFT_LEADER &&
            st.last_index - rows[i].match_index > lag)
            lag = st.last_index - rows[i].match_index;
    }
    size_t measured = self->latency_count < S_LATENCIES
                          ? (size_t)self->latency_count
                          : S_LATENCIES;
    uint32_t sorted[S_LATENCIES];
    memcpy(sorted, self->latencies, measured * sizeof(uint32_t));
    qsort(sorted, measured, sizeof(uint32_t), s_compare_u32);
    rl_log_stats_t ls;
    rl_log_stats(self->log, &ls);
    rl_counter_t counters[] = {
        {rl_str("append_requests"), self->n_append_requests},
        {rl_str("appended_entries"), self->n_appended},
        {rl_str("appended_bytes"), self->n_append_bytes},
        {rl_str("reads"), self->n_reads},
        {rl_str("elections"), self->n_elections},
        {rl_str("leader_changes"), self->n_leader_changes},
        {rl_str("timeouts"), self->n_timeouts},
        {rl_str("bad_requests"), self->n_bad_requests},
        {rl_str("fsyncs"), ls.fdatasync_calls},
        {rl_str("group_commits"), ls.group_commits},
        {rl_str("spare_segments"), ls.spares_used},
        {rl_str("fsync_p50_us"), measured ? sorted[measured / 2] : 0},
        {rl_str("fsync_p99_us"), measured ? sorted[(measured * 99) / 100] : 0},
        {rl_str("fsync_max_us"), measured ? sorted[measured - 1] : 0},
        {rl_str("replication_lag"), lag},
        {rl_str("pending_requests"), self->pending_count},
        {rl_str("disk_free_bytes"), self->disk_free},
        {rl_str("uptime_ms"), (uint64_t)(now - self->started)},
    };
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_STATUS_OK);
    msg.id = id;
    rl_status_ok_t *s = &msg.body.status_ok;
    s->id = self->config.id;
    s->role =
        rl_str(st.member && !st.voter && st.role == RL_RAFT_FOLLOWER ? "learner"
               : st.role == RL_RAFT_PRE_CANDIDATE ? "precandidate"
                                                  : rl_raft_role_name(st.role));
    s->term = st.term;
    s->leader = st.leader;
    s->commit = st.commit;
    s->last = rl_log_last_index(self->log);
    s->first = rl_log_first_index(self->log);
    s->members = rows;
    s->member_count = count < RL_MAX_MEMBERS ? count : RL_MAX_MEMBERS;
    s->counters = counters;
    s->counter_count = sizeof(counters) / sizeof(counters[0]);
    s_reply(self, envelope, &msg);
}

/* ---- Life cycle ---- */

/* A helper thread with one job: runs each job it is handed (a pointer),
   one at a time, and answers with its result. Two of them, with fixed
   roles: the fsync helper runs sync tickets, so that the loop goes on
   while the disk flushes; the spare maker writes spare segments, 64 MiB
   of zeros that the fsyncs must not wait behind. */
typedef int(s_job_fn)(void *job);

static int s_run_sync(void *job)
{
    return rl_log_sync_run(job);
}

static int s_run_spare(void *job)
{
    return rl_log_spare_run(job);
}

static s_job_fn *s_sync_job = s_run_sync;
static s_job_fn *s_spare_job = s_run_spare;

static void s_helper(zsock_t *pipe, void *args)
{
    s_job_fn *run = *(s_job_fn **)args;
    zsock_signal(pipe, 0);
    for (;;) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg)
            break;
        zframe_t *first = zmsg_first(msg);
        bool term = zframe_streq(first, "$TERM");
        void *job = NULL;
        if (!term && zframe_size(first) == sizeof(job))
            memcpy(&job, zframe_data(first), sizeof(job));
        zmsg_destroy(&msg);
        if (term)
            break;
        if (job)
            zsock_send(pipe, "i", run(job));
    }
}

#ifdef RL_FAULT_INJECTION
/* Test builds only (cmake -DRL_FAULT_INJECTION=ON, as scripts/test does):
   while the file named by $RL_TEST_SLOW_DISK exists, every fdatasync
   waits for it to go away (at most 30 s). The chaos test makes a disk
   stall from outside the process this way; release builds have no such
   path. */
static const char *s_slow_disk_file;
static rl_io_t s_slow_io;

static int s_slow_fdatasync(int fd)
{
    for (int i = 0; i < 3000 && access(s_slow_disk_file, F_OK) == 0; i++)
        usleep(10000);
    return fdatasync(fd);
}

static const rl_io_t *s_test_io(void)
{
    s_slow_disk_file = getenv("RL_TEST_SLOW_DISK");
    if (!s_slow_disk_file)
        return NULL;
    s_slow_io = *rl_io_libc();
    s_slow_io.fdatasync = s_slow_fdatasync;
    rl_logf(RL_LOG_WARN, "test build: fdatasync stalls while %s exists",
            s_slow_disk_file);
    return &s_slow_io;
}
#else
static const rl_io_t *s_test_io(void)
{
    return NULL;
}
#endif

static void s_warn(void *arg, const char *message)
{
    (void)arg;
    rl_logf(RL_LOG_WARN, "storage: %s", message);
}

/* The core's trace lines go to the log: warnings (refused messages, a
   follower that lost data) at most 10 a second, with a count of those
   suppressed, since a stranger can trigger them at will; the rest at
   debug. */
static void s_trace(void *ctx, int level, const char *text)
{
    (void)ctx;
    static int64_t window;
    static unsigned shown, suppressed;
    if (level != RL_RAFT_TRACE_WARN) {
        rl_logf(RL_LOG_DEBUG, "raft: %s", text);
        return;
    }
    int64_t now = zclock_mono();
    if (now - window >= 1000) {
        if (suppressed)
            rl_logf(RL_LOG_WARN, "raft: %u similar warnings suppressed",
                    suppressed);
        window = now;
        shown = suppressed = 0;
    }
    if (shown++ < 10)
        rl_logf(RL_LOG_WARN, "raft: %s", text);
    else
        suppressed++;
}

/* Restores the core from the log's hard state and snapshot. */
static int s_open_core(rl_node_t *self, char *err)
{
    rl_raft_config_t cfg;
    rl_raft_config_defaults(&cfg);
    cfg.id = self->config.id;
    cfg.cluster = rl_str(self->config.cluster_id);
    cfg.seed = (uint64_t)zclock_usecs() ^ (self->config.id << 32);
    cfg.heartbeat_ticks = 1;
    cfg.election_ticks =
        self->config.election_timeout_ms / self->config.heartbeat_ms;
    cfg.max_uncommitted = self->config.max_uncommitted_bytes;
    cfg.view = (rl_raft_log_view_t){self, s_view_first, s_view_last,
                                    s_view_term, s_view_read};
    rl_log_hard_state(self->log, &cfg.term, &cfg.vote);

    rl_member_t boot[RL_MAX_MEMBERS];
    for (size_t i = 0; i < self->config.member_count; i++) {
        const rl_config_member_t *m = &self->config.members[i];
        boot[i] =
            (rl_member_t){m->id, true, rl_str(m->peer), rl_str(m->client)};
    }
    cfg.members = boot;
    cfg.member_count = self->config.join ? 0 : self->config.member_count;
    /* The --member flags are the address book: those nodes are heard
       even before a configuration names them (a joining node). */
    uint64_t known[RL_MAX_MEMBERS];
    for (size_t i = 0; i < self->config.member_count; i++)
        known[i] = self->config.members[i].id;
    cfg.known = known;
    cfg.known_count = self->config.member_count;
    cfg.trace = s_trace;
    cfg.trace_ctx = self;

    rl_log_snapshot_t stored;
    rl_raft_snapshot_t snapshot;
    rl_msg_t members;
    rl_msg_init(&members, 0);
    if (rl_log_snapshot(self->log, &stored) == 0) {
        char why[RL_CODEC_ERROR_SIZE] = "";
        if (rl_codec_decode(stored.config, stored.config_size, &members, why) !=
                0 ||
            members.type != RL_MSG_MEMBERS_OK) {
            snprintf(err, 512,
                     "the snapshot in %.120s has an unreadable configuration "
                     "(%.80s); run raftlog-node --check %.120s",
                     self->config.data_dir, why, self->config.data_dir);
            rl_msg_close(&members);
            return -1;
        }
        snapshot = (rl_raft_snapshot_t){stored.last_index,
                                        stored.last_term,
                                        members.body.members_ok.members,
                                        members.body.members_ok.member_count,
                                        stored.state,
                                        stored.state_size};
        cfg.snapshot = &snapshot;
    }
    int rc = 0;
    self->raft = rl_raft_new(&cfg, &rc);
    rl_msg_close(&members);
    if (!self->raft && rc == RL_ERR_OUT_OF_RANGE) {
        snprintf(err, 512,
                 "the term saved in %.120s, %" PRIu64 ", is above the maximum "
                 "a cluster can reach (2^48): a forged message made an "
                 "older version save it; move this data directory away and "
                 "start the node empty, it catches up from the leader",
                 self->config.data_dir, cfg.term);
        return -1;
    }
    if (!self->raft) {
        snprintf(err, 512,
                 "cannot restore the Raft state from %.120s (%s); run "
                 "raftlog-node --check %.120s",
                 self->config.data_dir, rl_error_name(rc),
                 self->config.data_dir);
        return -1;
    }
    return 0;
}

rl_node_t *rl_node_new(const rl_config_t *config, char *err)
{
    rl_node_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, 512, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->signal_fd = -1;
    /* zloop stops on any interrupted poll, so signals must never interrupt
       it: block them in this thread and in every thread created after
       (ZeroMQ's own), and read them from a signalfd in the loop. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    self->started = zclock_mono();
    self->role = RL_RAFT_FOLLOWER;
    rl_buf_init(&self->buf);
    rl_log_batch_init(&self->view_batch);
    rl_log_batch_init(&self->read_batch);

    rl_log_config_t lc = {0};
    lc.dir = config->data_dir;
    lc.cluster = config->cluster_id;
    lc.node_id = config->id;
    lc.segment_size = config->segment_bytes;
    lc.create = true;
    lc.warn = s_warn;
    lc.io = s_test_io();
    self->log = rl_log_new(&lc);
    if (!self->log || rl_log_open(self->log) != 0) {
        snprintf(err, 512, "%s",
                 self->log ? rl_log_error(self->log) : "out of memory");
        rl_node_destroy(&self);
        return NULL;
    }
    rl_logf(RL_LOG_INFO, "storage: %s holds indexes %" PRIu64 "..%" PRIu64,
            config->data_dir, rl_log_first_index(self->log),
            rl_log_last_index(self->log));
    if (s_open_core(self, err) != 0) {
        rl_node_destroy(&self);
        return NULL;
    }
    char why[256];
    self->peers = rl_peers_new(config->id, config->peer, why);
    if (!self->peers) {
        snprintf(err, 512, "%s", why);
        rl_node_destroy(&self);
        return NULL;
    }
    self->front = zsock_new(ZMQ_ROUTER);
    if (self->front) {
        zsock_set_linger(self->front, 0);
        zsock_set_sndhwm(self->front, 100000);
        zsock_set_rcvhwm(self->front, 100000);
    }
    if (!self->front || zsock_bind(self->front, "%s", config->client) < 0) {
        snprintf(err, 512,
                 "cannot listen for clients on %s: %s (is the port in use?)",
                 config->client, zmq_strerror(zmq_errno()));
        rl_node_destroy(&self);
        return NULL;
    }
    self->syncer = zactor_new(s_helper, &s_sync_job);
    self->sparer = zactor_new(s_helper, &s_spare_job);
    self->signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->signal_fd < 0) {
        snprintf(err, 512, "cannot create a signalfd: %s", strerror(errno));
        rl_node_destroy(&self);
        return NULL;
    }
    s_check_disk(self);
    self->disk_checked = zclock_mono();
    return self;
}

int rl_node_run(rl_node_t *self)
{
    self->loop = zloop_new();
    zloop_reader(self->loop, rl_peers_socket(self->peers), s_on_peer, self);
    zloop_reader(self->loop, self->front, s_on_client, self);
    zloop_reader(self->loop, (zsock_t *)self->syncer, s_on_synced, self);
    zloop_reader(self->loop, (zsock_t *)self->sparer, s_on_spared, self);
    zmq_pollitem_t signals = {NULL, self->signal_fd, ZMQ_POLLIN, 0};
    zloop_poller(self->loop, &signals, s_on_signal, self);
    zloop_timer(self->loop, self->config.heartbeat_ms, 0, s_on_tick, self);
    zloop_timer(self->loop, S_SWEEP_MS, 0, s_on_sweep, self);

    rl_logf(RL_LOG_INFO,
            "node %" PRIu64 " of cluster '%s' listening: peers %s, clients "
            "%s%s",
            self->config.id, self->config.cluster_id, self->config.peer,
            self->config.client,
            self->config.fsync ? "" : " (fsync OFF: not durable)");
    s_drive(self);
    zloop_start(self->loop);

    /* Shutting down: finish the fsync in flight, answer everyone. */
    if (self->sparing)
        s_finish_spare(self);
    if (self->syncing) {
        int rc = -1;
        zsock_recv(self->syncer, "i", &rc);
        self->syncing = false;
        if (rl_log_sync_finish(self->log, &self->ticket, rc) != 0)
            self->exit_status = 1;
    }
    if (self->exit_status == 0 && self->config.fsync &&
        rl_log_sync(self->log) != 0)
        self->exit_status = 1;
    s_answer_expired(self, true);
    rl_logf(RL_LOG_INFO, "stopped%s",
            self->exit_status ? " after a fatal error" : "");
    return self->exit_status;
}

void rl_node_destroy(rl_node_t **self_p)
{
    rl_node_t *self = *self_p;
    if (!self)
        return;
    if (self->syncing) {
        int rc = -1;
        zsock_recv(self->syncer, "i", &rc);
        rl_log_sync_finish(self->log, &self->ticket, rc);
    }
    if (self->sparing)
        s_finish_spare(self);
    while (self->pending)
        s_unlink(self, &self->pending);
    zactor_destroy(&self->syncer);
    zactor_destroy(&self->sparer);
    zloop_destroy(&self->loop);
    zsock_destroy(&self->front);
    rl_peers_destroy(&self->peers);
    rl_raft_destroy(&self->raft);
    rl_log_batch_close(&self->view_batch);
    rl_log_batch_close(&self->read_batch);
    rl_log_destroy(&self->log);
    rl_buf_close(&self->buf);
    free(self->proposal);
    if (self->signal_fd >= 0)
        close(self->signal_fd);
    free(self);
    *self_p = NULL;
}

/*  rl_broker.c - raftlog-broker's event loop; see rl_broker.h and
    docs/BROKER.md.

    Every client request becomes a record in one table, keyed by an id the
    broker chooses (the "broker id"): clients pick their own ids, which are
    only unique per connection, so they cannot be sent on to the nodes. The
    record remembers the client's envelope and id, the request's bytes, its
    deadline and its retry state. The request is re-encoded with the broker
    id and sent to one node; the node's reply is matched by that id, given
    the client's id back and returned along the client's envelope. Every
    request gets exactly one reply: from a node, or from the broker when a
    deadline passes or the broker stops.

    Nodes are watched in the Paranoid Pirate manner (ZeroMQ guide, chapter
    4): a STATUS poll to every node each heartbeat; any reply from a node
    counts as a heartbeat; a node that misses `liveness` heartbeats in a row
    is dead, gets nothing but (backed-off) polls until it answers again, and
    its DEALER is replaced so that nothing queued for it is delivered late.
    The STATUS polls also tell who leads; NOT_LEADER hints correct that
    view between polls.
*/
#include "rl_broker.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "rl_codec.h"
#include "rl_front.h"
#include "rl_logging.h"
#include "rl_loop.h"

/* Housekeeping period: heartbeats, deadlines, shutdown progress. */
#define S_SWEEP_MS 10
/* Polls of a dead node back off up to this period. */
#define S_DEAD_POLL_MAX_MS 1000
/* Counters added to a STATUS reply, at most (and per node). */
#define S_BROKER_COUNTERS 15
#define S_NODE_COUNTERS   3

/* Where a request must go. */
typedef enum {
    S_TO_LEADER, /* APPEND, MEMBERS, TRANSFER */
    S_TO_ANY,    /* READ: a healthy node, followers preferred */
    S_TO_STATUS  /* STATUS: the leader, else any healthy node */
} s_route_t;

/* One node behind the broker. */
typedef struct {
    char endpoint[RL_MAX_ENDPOINT + 1]; /* its client front door */
    zsock_t *dealer;                    /* our connection to it */
    uint64_t id;                        /* its node id, 0 until it answers */
    bool alive;                         /* answering; requests may go to it */
    bool stopping;     /* said SHUTTING_DOWN: dies if it then goes silent */
    uint32_t liveness; /* heartbeats it may still miss */
    bool heard;        /* it said something since the last poll */
    uint64_t poll_id;  /* broker id of the last STATUS poll */
    int64_t next_poll; /* zclock_mono() of the next poll */
    uint32_t poll_interval; /* current poll period, ms (backs off) */
    bool is_leader;         /* its last STATUS said role leader */
    uint64_t term;          /* term of its last STATUS */
    size_t in_flight;       /* requests sent to it, not yet answered */
} s_node_t;

/* A client request the broker has not answered yet. */
typedef struct s_request {
    struct s_request *prev, *next; /* the list of all requests */
    uint64_t bid;                  /* broker id: the table's key */
    zmsg_t *envelope;              /* the client's routing frames (owned) */
    uint64_t client_id;            /* the id the client chose, echoed */
    uint8_t type;                  /* rl_msg_type_t of the request */
    int route;                     /* s_route_t */
    bool idempotent;    /* may be sent again after an attempt whose outcome
                           is unknown (producer appends, reads, lists) */
    zframe_t *payload;  /* the client's encoded request (owned) */
    int node;           /* node it is in flight on, -1: waiting */
    int64_t started;    /* zclock_mono() when it arrived */
    int64_t deadline;   /* answered with TIMEOUT by then */
    int64_t waiting;    /* when it began waiting for a node, 0 in flight */
    int64_t retry_at;   /* not sent again before (back-off) */
    uint32_t attempts;  /* times sent to a node */
    uint32_t wait_ms;   /* READ: the client's long-poll time */
    uint64_t last_node; /* id of the node of the last attempt, for errors */
} s_request_t;

struct rl_broker {
    rl_broker_config_t config;      /* as parsed (copied) */
    rl_front_t *front;              /* client front door */
    s_node_t nodes[RL_MAX_MEMBERS]; /* the nodes, in --nodes order */
    size_t node_count;              /* their number */
    zlist_t *graveyard;             /* replaced DEALERs, destroyed next sweep */
    zhashx_t *table;                /* broker id -> s_request_t */
    s_request_t *requests;          /* every request, newest first */
    size_t request_count;           /* their number */
    uint64_t next_bid;              /* the next broker id */
    zloop_t *loop;                  /* the event loop */
    int signal_fd;                  /* SIGINT and SIGTERM, read as a file */
    rl_buf_t buf;                   /* encoding buffer, reused */

    int leader;            /* index of the node that leads, -1 unknown */
    uint64_t leader_term;  /* highest term seen in any STATUS */
    int64_t leaderless;    /* zclock_mono() since no leader known, 0 */
    size_t read_cursor;    /* round robin among followers for READs */
    bool stopping;         /* a signal asked us to stop */
    int64_t stop_deadline; /* answer the rest then */
    int64_t started;       /* zclock_mono() at start */

    /* Counters for STATUS. */
    uint64_t n_requests, n_retries, n_redirects, n_timeouts, n_no_leader,
        n_bad_requests, n_busy, n_leader_changes, n_node_deaths;
};

static void s_dispatch(rl_broker_t *self, s_request_t *r, rl_msg_t *decoded);

/* ---- The table ---- */

static size_t s_hash_bid(const void *key)
{
    uint64_t x = *(const uint64_t *)key;
    /* splitmix64's finaliser: consecutive ids spread over the buckets. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (size_t)x;
}

static int s_compare_bid(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Removes r from the table and the list and frees it. */
static void s_forget(rl_broker_t *self, s_request_t *r)
{
    if (r->node >= 0 && self->nodes[r->node].in_flight)
        self->nodes[r->node].in_flight--;
    zhashx_delete(self->table, &r->bid);
    if (r->prev)
        r->prev->next = r->next;
    else
        self->requests = r->next;
    if (r->next)
        r->next->prev = r->prev;
    zmsg_destroy(&r->envelope);
    zframe_destroy(&r->payload);
    free(r);
    self->request_count--;
}

/* ---- Replies to clients ---- */

/* Sends msg to the client behind envelope (consumed), with the client's
   id. */
static void s_send_to_client(rl_broker_t *self, zmsg_t **envelope,
                             uint64_t client_id, rl_msg_t *msg)
{
    msg->id = client_id;
    rl_front_reply(self->front, envelope, msg);
}

static void s_error_to_client(rl_broker_t *self, zmsg_t **envelope,
                              uint64_t client_id, int code, const char *text)
{
    rl_front_error(self->front, envelope, client_id, code, 0, "%s", text);
}

/* Answers r with an error and forgets it. */
static void s_fail(rl_broker_t *self, s_request_t *r, int code,
                   const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static void s_fail(rl_broker_t *self, s_request_t *r, int code,
                   const char *format, ...)
{
    char text[RL_MAX_ERROR_MESSAGE];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    if (code == RL_ERR_TIMEOUT)
        self->n_timeouts++;
    else if (code == RL_ERR_NO_LEADER)
        self->n_no_leader++;
    else if (code == RL_ERR_BUSY)
        self->n_busy++;
    s_error_to_client(self, &r->envelope, r->client_id, code, text);
    s_forget(self, r);
}

/* The words that tell a client what an unanswered request means. */
static const char *s_outcome(const s_request_t *r)
{
    if (r->type != RL_MSG_APPEND_REQUEST && r->type != RL_MSG_MEMBERS_REQUEST &&
        r->type != RL_MSG_TRANSFER_REQUEST)
        return "retry it";
    if (!r->attempts)
        return "it was not sent to any node: retry it";
    if (r->idempotent)
        return "its outcome is unknown: retry with the same producer and seq";
    if (r->type == RL_MSG_APPEND_REQUEST)
        return "its outcome is unknown (an append without a producer id "
               "cannot be retried safely)";
    return r->type == RL_MSG_TRANSFER_REQUEST
               ? "its outcome is unknown: check STATUS before retrying"
               : "its outcome is unknown: check the members (MEMBERS list) "
                 "before retrying";
}

/* ---- Leader tracking ---- */

static int s_node_by_id(rl_broker_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->node_count; i++)
        if (id && self->nodes[i].id == id)
            return (int)i;
    return -1;
}

static int s_node_by_endpoint(rl_broker_t *self, rl_str_t endpoint)
{
    for (size_t i = 0; i < self->node_count; i++)
        if (endpoint.size == strlen(self->nodes[i].endpoint) &&
            memcmp(endpoint.ptr, self->nodes[i].endpoint, endpoint.size) == 0)
            return (int)i;
    return -1;
}

/* Sends every waiting request that can go now. */
static void s_dispatch_waiting(rl_broker_t *self)
{
    int64_t now = zclock_mono();
    s_request_t *r = self->requests;
    while (r) {
        s_request_t *next = r->next; /* r may be answered and freed */
        if (r->node < 0 && r->retry_at <= now)
            s_dispatch(self, r, NULL);
        r = next;
    }
}

/* Makes node index (or -1) the leader, from a source named by why. */
static void s_set_leader(rl_broker_t *self, int index, uint64_t term,
                         const char *why)
{
    if (term > self->leader_term)
        self->leader_term = term;
    if (index == self->leader)
        return;
    self->n_leader_changes++;
    self->leader = index;
    if (index < 0) {
        self->leaderless = zclock_mono();
        rl_logf(RL_LOG_INFO, "no leader known (term %" PRIu64 ", %s)",
                self->leader_term, why);
        /* Poll everyone at once: the next leader is found sooner. */
        for (size_t i = 0; i < self->node_count; i++)
            if (self->nodes[i].alive)
                self->nodes[i].next_poll = 0;
        return;
    }
    self->leaderless = 0;
    rl_logf(RL_LOG_INFO,
            "leader is node %" PRIu64 " at %s (term %" PRIu64 ", %s)",
            self->nodes[index].id, self->nodes[index].endpoint,
            self->leader_term, why);
    s_dispatch_waiting(self);
}

/* Learns from a node's STATUS_OK: its id, its role and who it thinks
   leads. Terms order the claims: a claim of an older term than one
   already seen is ignored (Raft paper 5.1: terms act as a logical
   clock). */
static void s_learn_status(rl_broker_t *self, int index,
                           const rl_status_ok_t *st)
{
    s_node_t *n = &self->nodes[index];
    if (n->id != st->id) {
        if (n->id == 0)
            rl_logf(RL_LOG_INFO, "node %" PRIu64 " at %s answers", st->id,
                    n->endpoint);
        int other = s_node_by_id(self, st->id);
        if (other >= 0 && other != index)
            rl_logf(RL_LOG_WARN,
                    "%s and %s both say they are node %" PRIu64
                    "; check --nodes",
                    self->nodes[other].endpoint, n->endpoint, st->id);
        n->id = st->id;
    }
    n->term = st->term;
    n->is_leader = st->role.size == 6 && memcmp(st->role.ptr, "leader", 6) == 0;
    if (n->is_leader && st->term >= self->leader_term) {
        s_set_leader(self, index, st->term, "its STATUS");
    } else if (!n->is_leader && st->term > self->leader_term) {
        /* A newer term: whoever led before is deposed. */
        int claimed = s_node_by_id(self, st->leader);
        if (claimed >= 0 && self->nodes[claimed].alive)
            s_set_leader(self, claimed, st->term, "a follower's STATUS");
        else
            s_set_leader(self, -1, st->term, "a newer term began");
    } else if (!n->is_leader && index == self->leader &&
               st->term >= self->leader_term) {
        s_set_leader(self, -1, st->term, "the leader stepped down");
    }
}

/* ---- Nodes ---- */

static int s_on_node(zloop_t *loop, zsock_t *reader, void *arg);

static zsock_t *s_new_dealer(rl_broker_t *self, const char *endpoint)
{
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    if (!dealer)
        return NULL;
    zsock_set_linger(dealer, 0);
    zsock_set_sndhwm(dealer, (int)self->config.node_queue);
    zsock_set_rcvhwm(dealer, 0);
    /* Reconnect fast: a restarted node should be used again quickly. */
    zsock_set_reconnect_ivl(dealer, 100);
    zsock_set_reconnect_ivl_max(dealer, 1000);
    if (zsock_connect(dealer, "%s", endpoint) != 0) {
        zsock_destroy(&dealer);
        return NULL;
    }
    return dealer;
}

/* Sends one encoded message to node index without ever blocking. Returns
   0, or -1 when its queue is full. */
static int s_send_to_node(rl_broker_t *self, int index, const void *data,
                          size_t size)
{
    void *socket = zsock_resolve(self->nodes[index].dealer);
    /* Once the first part is queued, ZeroMQ queues the whole message. */
    if (zmq_send(socket, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) != 0)
        return -1;
    zmq_send(socket, data, size, ZMQ_DONTWAIT);
    return 0;
}

static void s_poll_node(rl_broker_t *self, int index)
{
    s_node_t *n = &self->nodes[index];
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_STATUS_REQUEST);
    msg.id = n->poll_id = self->next_bid++;
    rl_buf_reset(&self->buf);
    if (rl_codec_encode(&msg, &self->buf, NULL) == 0)
        s_send_to_node(self, index, self->buf.data, self->buf.size);
}

/* Sends a request again, or answers it when it cannot be. */
static void s_retry(rl_broker_t *self, s_request_t *r, int64_t pause_ms)
{
    r->retry_at = zclock_mono() + pause_ms;
    if (pause_ms == 0)
        s_dispatch(self, r, NULL);
    else if (!r->waiting)
        r->waiting = zclock_mono();
}

/* The attempt of r on its node will not be answered (the node died, or
   said it could not finish): send r elsewhere when that is safe, else
   tell the client the outcome is unknown. */
static void s_attempt_lost(rl_broker_t *self, s_request_t *r, const char *why)
{
    if (r->node >= 0 && self->nodes[r->node].in_flight)
        self->nodes[r->node].in_flight--;
    r->node = -1;
    r->waiting = zclock_mono();
    if (!r->idempotent) {
        s_fail(self, r, RL_ERR_TIMEOUT, "%s (node %" PRIu64 "); %s", why,
               r->last_node, s_outcome(r));
        return;
    }
    s_retry(self, r, 0); /* counted in broker_retries when sent */
}

static void s_node_died(rl_broker_t *self, int index)
{
    s_node_t *n = &self->nodes[index];
    if (n->stopping)
        rl_logf(RL_LOG_WARN,
                "node %" PRIu64 " at %s went silent after shutting down: "
                "dead until it answers again",
                n->id, n->endpoint);
    else
        rl_logf(RL_LOG_WARN,
                "node %" PRIu64 " at %s missed %u heartbeats: dead until it "
                "answers again",
                n->id, n->endpoint, self->config.liveness);
    n->alive = false;
    n->stopping = false;
    n->is_leader = false;
    self->n_node_deaths++;
    /* A fresh DEALER: what was queued for the dead node must not reach it
       (or its restarted self) late. The old socket may still be in this
       turn's poll set, so it is destroyed on the next sweep. */
    zsock_t *fresh = s_new_dealer(self, n->endpoint);
    if (fresh) {
        zloop_reader_end(self->loop, n->dealer);
        zlist_append(self->graveyard, n->dealer);
        n->dealer = fresh;
        zloop_reader(self->loop, n->dealer, s_on_node, self);
    }
    if (self->leader == index)
        s_set_leader(self, -1, self->leader_term, "the leader died");
    s_request_t *r = self->requests;
    while (r) {
        s_request_t *next = r->next;
        if (r->node == index)
            s_attempt_lost(self, r, "the node stopped answering");
        r = next;
    }
}

static void s_node_heard(rl_broker_t *self, int index)
{
    s_node_t *n = &self->nodes[index];
    n->heard = true;
    n->liveness = self->config.liveness;
    n->stopping = false;
    if (!n->alive) {
        n->alive = true;
        n->poll_interval = self->config.heartbeat_ms;
        if (n->id) /* else its first STATUS names it (s_learn_status) */
            rl_logf(RL_LOG_INFO, "node %" PRIu64 " at %s answers", n->id,
                    n->endpoint);
    }
}

/* A node that said SHUTTING_DOWN is not sent more, and its polls do not
   revive it until it answers STATUS again (after a restart). */
static void s_node_stopping(rl_broker_t *self, int index)
{
    s_node_t *n = &self->nodes[index];
    if (!n->alive)
        return;
    rl_logf(RL_LOG_INFO, "node %" PRIu64 " at %s is shutting down", n->id,
            n->endpoint);
    n->liveness = 1; /* dead after one more silent poll */
    n->alive = false;
    n->stopping = true;
    n->is_leader = false;
    if (self->leader == index)
        s_set_leader(self, -1, self->leader_term, "the leader is stopping");
}

/* ---- Sending requests ---- */

/* The node a request should go to now, or -1. */
static int s_choose(rl_broker_t *self, const s_request_t *r)
{
    bool leader_ok = self->leader >= 0 && self->nodes[self->leader].alive;
    if (r->route == S_TO_LEADER)
        return leader_ok ? self->leader : -1;
    if (r->route == S_TO_STATUS && leader_ok)
        return self->leader;
    /* READ (or STATUS without a leader): the least loaded live follower,
       starting the scan at a moving cursor so that ties rotate. */
    int best = -1;
    for (size_t k = 0; k < self->node_count; k++) {
        size_t i = (self->read_cursor + k) % self->node_count;
        const s_node_t *n = &self->nodes[i];
        if (!n->alive || (int)i == self->leader)
            continue;
        if (best < 0 || n->in_flight < self->nodes[best].in_flight)
            best = (int)i;
    }
    self->read_cursor++;
    if (best < 0 && leader_ok)
        best = self->leader;
    return best;
}

/* Sends r to the node it should go to, or leaves it waiting (the sweep
   answers it when it has waited too long). decoded is the request when
   the caller has it decoded, else NULL. */
static void s_dispatch(rl_broker_t *self, s_request_t *r, rl_msg_t *decoded)
{
    int64_t now = zclock_mono();
    int index = s_choose(self, r);
    if (index < 0) {
        if (!r->waiting)
            r->waiting = now;
        if (r->route == S_TO_LEADER && self->leaderless &&
            now - self->leaderless >= self->config.no_leader_ms)
            s_fail(self, r, RL_ERR_NO_LEADER,
                   "no leader known for %" PRId64 " ms; %s after a pause",
                   now - self->leaderless, s_outcome(r));
        return;
    }
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    if (!decoded) {
        if (rl_codec_decode(zframe_data(r->payload), zframe_size(r->payload),
                            &msg, err) != 0) {
            rl_msg_close(&msg);
            s_fail(self, r, RL_ERR_INTERNAL, "broker: %s", err);
            return;
        }
        decoded = &msg;
    }
    decoded->id = r->bid;
    if (r->type == RL_MSG_READ_REQUEST && r->wait_ms) {
        /* A retried long-poll waits only what is left of its time. */
        int64_t left = (int64_t)r->wait_ms - (now - r->started);
        decoded->body.read_request.wait_ms = left > 0 ? (uint32_t)left : 0;
    }
    rl_buf_reset(&self->buf);
    int rc = rl_codec_encode(decoded, &self->buf, err);
    if (decoded == &msg)
        rl_msg_close(&msg);
    if (rc != 0) {
        s_fail(self, r, RL_ERR_BAD_REQUEST, "%s", err);
        return;
    }
    s_node_t *n = &self->nodes[index];
    if (s_send_to_node(self, index, self->buf.data, self->buf.size) != 0) {
        s_fail(self, r, RL_ERR_BUSY,
               "the broker's queue to node %" PRIu64 " (%s) is full; retry "
               "after a pause",
               n->id, n->endpoint);
        return;
    }
    if (r->attempts)
        self->n_retries++;
    r->attempts++;
    r->node = index;
    r->last_node = n->id;
    r->waiting = 0;
    n->in_flight++;
}

/* ---- Replies from nodes ---- */

/* Adds the broker's counters to a STATUS_OK from a node and returns it to
   the client of r. */
static void s_reply_status(rl_broker_t *self, s_request_t *r, rl_msg_t *msg)
{
    rl_status_ok_t *st = &msg->body.status_ok;
    size_t room = 256;
    size_t own = S_BROKER_COUNTERS + S_NODE_COUNTERS * self->node_count;
    size_t keep =
        st->counter_count + own > room ? room - own : st->counter_count;
    rl_counter_t counters[256];
    char names[RL_MAX_MEMBERS * S_NODE_COUNTERS][40];
    memcpy(counters, st->counters, keep * sizeof(rl_counter_t));
    size_t c = keep;
    size_t alive = 0;
    for (size_t i = 0; i < self->node_count; i++)
        alive += self->nodes[i].alive;
#define S_COUNTER(name, value)                                                 \
    counters[c++] = (rl_counter_t){rl_str(name), (uint64_t)(value)}
    S_COUNTER("broker_leader",
              self->leader >= 0 ? self->nodes[self->leader].id : 0);
    S_COUNTER("broker_leader_term", self->leader_term);
    S_COUNTER("broker_nodes", self->node_count);
    S_COUNTER("broker_nodes_alive", alive);
    S_COUNTER("broker_in_flight", self->request_count);
    S_COUNTER("broker_requests", self->n_requests);
    S_COUNTER("broker_retries", self->n_retries);
    S_COUNTER("broker_redirects", self->n_redirects);
    S_COUNTER("broker_timeouts", self->n_timeouts);
    S_COUNTER("broker_no_leader", self->n_no_leader);
    S_COUNTER("broker_busy", self->n_busy);
    S_COUNTER("broker_bad_requests", self->n_bad_requests);
    S_COUNTER("broker_leader_changes", self->n_leader_changes);
    S_COUNTER("broker_node_deaths", self->n_node_deaths);
    S_COUNTER("broker_uptime_ms", zclock_mono() - self->started);
    for (size_t i = 0; i < self->node_count; i++) {
        const s_node_t *n = &self->nodes[i];
        const char *what[S_NODE_COUNTERS] = {"id", "alive", "in_flight"};
        uint64_t values[S_NODE_COUNTERS] = {n->id, n->alive, n->in_flight};
        for (size_t k = 0; k < S_NODE_COUNTERS; k++) {
            char *name = names[i * S_NODE_COUNTERS + k];
            snprintf(name, sizeof(names[0]), "broker_node%zu_%s", i + 1,
                     what[k]);
            S_COUNTER(name, values[k]);
        }
    }
#undef S_COUNTER
    st->counters = counters;
    st->counter_count = c;
    s_send_to_client(self, &r->envelope, r->client_id, msg);
    s_forget(self, r);
}

/* Handles a node's reply to request r. */
static void s_on_reply(rl_broker_t *self, int index, s_request_t *r,
                       rl_msg_t *msg)
{
    s_node_t *n = &self->nodes[index];
    if (msg->type == RL_MSG_NOT_LEADER) {
        /* Only a leader-bound request gets this. The node knows better
           than we do: believe its hint (and confirm it by polling). */
        const rl_not_leader_t *nl = &msg->body.not_leader;
        int hinted = s_node_by_id(self, nl->leader);
        if (hinted < 0 && nl->leader_addr.size)
            hinted = s_node_by_endpoint(self, nl->leader_addr);
        n->is_leader = false;
        if (hinted >= 0 && hinted != index && self->nodes[hinted].alive) {
            self->nodes[hinted].next_poll = 0;
            s_set_leader(self, hinted, self->leader_term, "a NOT_LEADER hint");
        } else if (self->leader == index) {
            s_set_leader(self, -1, self->leader_term, "the leader said no");
        }
        self->nodes[r->node].in_flight--;
        r->node = -1;
        self->n_redirects++;
        /* The request was not appended: safe to send again, idempotent or
           not. Bounce quickly the first times, then back off so that two
           nodes with stale views cannot make a hot loop. */
        int64_t pause = r->attempts <= 2 ? 0 : 25 * (int64_t)r->attempts;
        s_retry(self, r, pause > 250 ? 250 : pause);
        return;
    }
    if (msg->type == RL_MSG_ERROR) {
        int code = msg->body.error.code;
        if (code == RL_ERR_SHUTTING_DOWN) {
            s_node_stopping(self, index);
            s_attempt_lost(self, r, "the node is shutting down");
            return;
        }
        if (code == RL_ERR_TIMEOUT &&
            zclock_mono() + self->config.heartbeat_ms < r->deadline) {
            /* The node could not commit in time (a leader losing its
               quorum, an election): a producer append is safe to send
               again, to whoever leads by then. */
            if (r->idempotent) {
                self->nodes[r->node].in_flight--;
                r->node = -1;
                s_retry(self, r, self->config.heartbeat_ms);
                return;
            }
        }
        if (code == RL_ERR_BUSY &&
            zclock_mono() + 50 * (int64_t)r->attempts < r->deadline) {
            /* Refused, not appended: wait out the back-pressure here. */
            self->nodes[r->node].in_flight--;
            r->node = -1;
            s_retry(self, r, 50 * (int64_t)r->attempts);
            return;
        }
    }
    if (msg->type == RL_MSG_STATUS_OK)
        s_learn_status(self, index, &msg->body.status_ok);
    if (msg->type == RL_MSG_STATUS_OK && r->type == RL_MSG_STATUS_REQUEST) {
        s_reply_status(self, r, msg);
        return;
    }
    s_send_to_client(self, &r->envelope, r->client_id, msg);
    s_forget(self, r);
}

/* True for replies that end a request wherever they come from. */
static bool s_final(const rl_msg_t *msg)
{
    return msg->type >= RL_MSG_APPEND_OK && msg->type <= RL_MSG_TRANSFER_OK;
}

static int s_node_index(rl_broker_t *self, zsock_t *reader)
{
    for (size_t i = 0; i < self->node_count; i++)
        if (self->nodes[i].dealer == reader)
            return (int)i;
    return -1;
}

/* What s_take_reply needs: the broker and the node it reads from. */
typedef struct {
    rl_broker_t *broker; /* the broker */
    int index;           /* the node whose DEALER is readable */
} s_node_reader_t;

/* Takes one reply off a node's DEALER (an rl_loop_take_fn). */
static int s_take_reply(void *arg)
{
    s_node_reader_t *reader = arg;
    rl_broker_t *self = reader->broker;
    int index = reader->index;
    s_node_t *n = &self->nodes[index];
    if (!(zsock_events(n->dealer) & ZMQ_POLLIN))
        return 0;
    zmsg_t *reply = zmsg_recv(n->dealer);
    if (!reply)
        return 0;
    zframe_t *payload = zmsg_last(reply);
    rl_msg_t msg;
    char err[RL_CODEC_ERROR_SIZE];
    if (!payload || rl_codec_decode(zframe_data(payload), zframe_size(payload),
                                    &msg, err) != 0) {
        rl_logf(RL_LOG_WARN, "dropped a bad reply from %s: %s", n->endpoint,
                payload ? err : "no frames");
        if (payload)
            rl_msg_close(&msg);
        zmsg_destroy(&reply);
        return 1;
    }
    bool stopping =
        msg.type == RL_MSG_ERROR && msg.body.error.code == RL_ERR_SHUTTING_DOWN;
    if (msg.id == n->poll_id && stopping)
        s_node_stopping(self, index);
    else if (!stopping)
        s_node_heard(self, index); /* any reply is a heartbeat */
    if (msg.id == n->poll_id) {
        if (msg.type == RL_MSG_STATUS_OK)
            s_learn_status(self, index, &msg.body.status_ok);
    } else {
        s_request_t *r = zhashx_lookup(self->table, &msg.id);
        /* A reply to an earlier attempt on another node counts only
           when it settles the request: an APPEND_OK there is as true
           as one here would be. */
        if (r && (r->node == index ||
                  (s_final(&msg) && r->node >= 0 && r->node != index))) {
            if (r->node != index) {
                self->nodes[r->node].in_flight--;
                r->node = index;
                n->in_flight++;
            }
            s_on_reply(self, index, r, &msg);
        }
    }
    rl_msg_close(&msg);
    zmsg_destroy(&reply);
    return 1;
}

static int s_on_node(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    rl_broker_t *self = arg;
    int index = s_node_index(self, reader);
    if (index < 0)
        return 0; /* a replaced DEALER; it is in the graveyard */
    s_node_reader_t node_reader = {self, index};
    return rl_loop_drain(s_take_reply, &node_reader);
}

/* ---- Requests from clients ---- */

/* Where a request goes and whether it may be sent twice. */
static void s_classify(s_request_t *r, const rl_msg_t *msg)
{
    switch (msg->type) {
    case RL_MSG_APPEND_REQUEST:
        r->route = S_TO_LEADER;
        r->idempotent = msg->body.append_request.producer_id != 0;
        break;
    case RL_MSG_READ_REQUEST:
        r->route = S_TO_ANY;
        r->idempotent = true;
        r->wait_ms = msg->body.read_request.wait_ms;
        r->deadline += r->wait_ms;
        break;
    case RL_MSG_STATUS_REQUEST:
        r->route = S_TO_STATUS;
        r->idempotent = true;
        break;
    case RL_MSG_MEMBERS_REQUEST:
        r->route = S_TO_LEADER;
        r->idempotent = msg->body.members_request.op == RL_MEMBERS_LIST;
        break;
    default:
        r->route = S_TO_LEADER;
        r->idempotent = false;
    }
}

/* Takes a decoded client request into the table and sends it on, or
   answers it at once. */
static void s_on_request(rl_broker_t *self, rl_front_request_t *request)
{
    rl_msg_t *msg = &request->msg;
    zmsg_t **envelope = &request->envelope;
    if (request->error == 0 && (msg->type < RL_MSG_APPEND_REQUEST ||
                                msg->type > RL_MSG_TRANSFER_REQUEST)) {
        request->error = RL_ERR_BAD_REQUEST;
        snprintf(request->why, sizeof(request->why),
                 "%s is not a client request; see docs/PROTOCOL.md",
                 rl_msg_type_name(msg->type));
    }
    if (request->error) {
        self->n_bad_requests++;
        s_error_to_client(self, envelope, msg->id, request->error,
                          request->why);
        return;
    }
    if (self->stopping) {
        s_error_to_client(self, envelope, msg->id, RL_ERR_SHUTTING_DOWN,
                          "the broker is shutting down; retry on another "
                          "broker or node");
        return;
    }
    if (self->request_count >= self->config.max_in_flight) {
        self->n_busy++;
        s_error_to_client(self, envelope, msg->id, RL_ERR_BUSY,
                          "the broker holds too many requests; retry after "
                          "a pause");
        return;
    }
    s_request_t *r = calloc(1, sizeof(*r));
    if (!r) {
        s_error_to_client(self, envelope, msg->id, RL_ERR_INTERNAL,
                          "out of memory in the broker");
        return;
    }
    int64_t now = zclock_mono();
    self->n_requests++;
    r->bid = self->next_bid++;
    r->envelope = *envelope;
    *envelope = NULL;
    r->client_id = msg->id;
    r->type = msg->type;
    r->node = -1;
    r->started = now;
    r->deadline = now + self->config.request_timeout_ms;
    s_classify(r, msg);
    r->payload = request->payload; /* msg's bytes stay valid: same frame */
    request->payload = NULL;
    r->next = self->requests;
    if (r->next)
        r->next->prev = r;
    self->requests = r;
    self->request_count++;
    zhashx_insert(self->table, &r->bid, r);
    s_dispatch(self, r, msg);
}

/* Takes one client request (an rl_loop_take_fn). */
static int s_take_request(void *arg)
{
    rl_broker_t *self = arg;
    rl_front_request_t request;
    if (rl_front_recv(self->front, &request) != 0)
        return 0;
    s_on_request(self, &request);
    rl_front_request_close(&request);
    return 1;
}

static int s_on_front(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    return rl_loop_drain(s_take_request, arg);
}

/* ---- Housekeeping ---- */

static void s_sweep_nodes(rl_broker_t *self, int64_t now)
{
    for (size_t i = 0; i < self->node_count; i++) {
        s_node_t *n = &self->nodes[i];
        if (now < n->next_poll)
            continue;
        if (n->poll_id && !n->heard && n->liveness > 0 && --n->liveness == 0 &&
            (n->alive || n->stopping))
            s_node_died(self, (int)i);
        /* A dead node is polled less and less often (Paranoid Pirate's
           back-off), but at least once a second or once a heartbeat,
           whichever is longer. */
        if (!n->alive && n->poll_id && !n->heard &&
            n->poll_interval < S_DEAD_POLL_MAX_MS) {
            n->poll_interval *= 2;
            if (n->poll_interval > S_DEAD_POLL_MAX_MS)
                n->poll_interval = S_DEAD_POLL_MAX_MS;
        }
        n->heard = false;
        s_poll_node(self, (int)i);
        uint32_t period =
            n->alive ? self->config.heartbeat_ms : n->poll_interval;
        /* Without a leader, look for the next one more often. */
        if (n->alive && self->leader < 0)
            period = period / 5 > S_SWEEP_MS ? period / 5 : S_SWEEP_MS;
        n->next_poll = now + period;
    }
}

static void s_sweep_requests(rl_broker_t *self, int64_t now)
{
    s_request_t *r = self->requests;
    while (r) {
        s_request_t *next = r->next;
        if (now >= r->deadline) {
            s_fail(self, r, RL_ERR_TIMEOUT,
                   "no answer in %" PRId64 " ms (%u attempts, last on node "
                   "%" PRIu64 "); %s",
                   now - r->started, r->attempts, r->last_node, s_outcome(r));
        } else if (r->node < 0 && r->waiting &&
                   now - r->waiting >= self->config.no_leader_ms &&
                   r->route == S_TO_LEADER) {
            s_fail(self, r, RL_ERR_NO_LEADER,
                   "no leader known for %" PRId64 " ms; %s after a pause",
                   now - r->waiting, s_outcome(r));
        } else if (r->node < 0 && r->waiting &&
                   now - r->waiting >= self->config.no_leader_ms) {
            s_fail(self, r, RL_ERR_NO_LEADER,
                   "no node of the cluster answers the broker; retry after "
                   "a pause");
        } else if (r->node < 0 && r->retry_at <= now) {
            s_dispatch(self, r, NULL);
        }
        r = next;
    }
}

static int s_on_sweep(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_broker_t *self = arg;
    zsock_t *old;
    while ((old = zlist_pop(self->graveyard)))
        zsock_destroy(&old);
    int64_t now = zclock_mono();
    s_sweep_nodes(self, now);
    s_sweep_requests(self, now);
    if (self->stopping &&
        (self->request_count == 0 || now >= self->stop_deadline))
        return -1; /* rl_broker_run answers what is left */
    return 0;
}

static int s_on_signal(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    rl_broker_t *self = arg;
    rl_loop_signal_take(item->fd);
    if (self->stopping)
        return 0;
    self->stopping = true;
    self->stop_deadline = zclock_mono() + self->config.drain_ms;
    /* What waits for a node and every long-poll is answered now: they
       were not sent, or are reads, so the client may retry elsewhere at
       once. Appends and admin requests in flight may finish. */
    s_request_t *r = self->requests;
    size_t drained = 0;
    while (r) {
        s_request_t *next = r->next;
        if (r->node < 0 || r->type == RL_MSG_READ_REQUEST)
            s_fail(self, r, RL_ERR_SHUTTING_DOWN,
                   "the broker is shutting down; %s on another broker or "
                   "node",
                   s_outcome(r));
        else
            drained++;
        r = next;
    }
    rl_logf(RL_LOG_INFO, "stopping: %zu requests in flight may finish",
            drained);
    return self->request_count == 0 ? -1 : 0;
}

/* ---- Life cycle ---- */

rl_broker_t *rl_broker_new(const rl_broker_config_t *config, char *err)
{
    rl_broker_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, 512, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->signal_fd = -1;
    self->leader = -1;
    self->next_bid = 1;
    self->started = zclock_mono();
    self->leaderless = self->started;
    rl_buf_init(&self->buf);
    self->signal_fd = rl_loop_signals_open();
    if (self->signal_fd < 0) {
        snprintf(err, 512, "cannot create a signalfd: %s", strerror(errno));
        rl_broker_destroy(&self);
        return NULL;
    }
    self->graveyard = zlist_new();
    self->table = zhashx_new();
    if (!self->graveyard || !self->table) {
        snprintf(err, 512, "out of memory");
        rl_broker_destroy(&self);
        return NULL;
    }
    /* Keys are the records' own bid fields: nothing to copy or free. */
    zhashx_set_key_hasher(self->table, s_hash_bid);
    zhashx_set_key_comparator(self->table, s_compare_bid);
    zhashx_set_key_duplicator(self->table, NULL);
    zhashx_set_key_destructor(self->table, NULL);

    self->front = rl_front_new(config->endpoint, err);
    if (!self->front) {
        rl_broker_destroy(&self);
        return NULL;
    }
    self->node_count = config->node_count;
    for (size_t i = 0; i < config->node_count; i++) {
        s_node_t *n = &self->nodes[i];
        snprintf(n->endpoint, sizeof(n->endpoint), "%s", config->nodes[i]);
        n->liveness = config->liveness;
        n->poll_interval = config->heartbeat_ms;
        n->dealer = s_new_dealer(self, n->endpoint);
        if (!n->dealer) {
            snprintf(err, 512, "cannot connect to node %s: %s", n->endpoint,
                     zmq_strerror(zmq_errno()));
            rl_broker_destroy(&self);
            return NULL;
        }
    }
    return self;
}

int rl_broker_run(rl_broker_t *self)
{
    self->loop = zloop_new();
    zloop_reader(self->loop, rl_front_socket(self->front), s_on_front, self);
    for (size_t i = 0; i < self->node_count; i++)
        zloop_reader(self->loop, self->nodes[i].dealer, s_on_node, self);
    zmq_pollitem_t signals = {NULL, self->signal_fd, ZMQ_POLLIN, 0};
    zloop_poller(self->loop, &signals, s_on_signal, self);
    zloop_timer(self->loop, S_SWEEP_MS, 0, s_on_sweep, self);
    rl_logf(RL_LOG_INFO, "broker listening on %s for %zu nodes",
            self->config.endpoint, self->node_count);
    zloop_start(self->loop);

    /* Whatever is left after the drain gets its one reply now. */
    while (self->requests)
        s_fail(self, self->requests, RL_ERR_SHUTTING_DOWN,
               "the broker stopped before the request finished; %s",
               s_outcome(self->requests));
    /* Let those last replies leave before the socket closes. */
    rl_front_set_linger(self->front, 1000);
    rl_logf(RL_LOG_INFO, "stopped");
    return 0;
}

void rl_broker_destroy(rl_broker_t **self_p)
{
    rl_broker_t *self = *self_p;
    if (!self)
        return;
    while (self->requests)
        s_forget(self, self->requests);
    zloop_destroy(&self->loop);
    rl_front_destroy(&self->front);
    for (size_t i = 0; i < self->node_count; i++)
        zsock_destroy(&self->nodes[i].dealer);
    zsock_t *old;
    while (self->graveyard && (old = zlist_pop(self->graveyard)))
        zsock_destroy(&old);
    zlist_destroy(&self->graveyard);
    zhashx_destroy(&self->table);
    rl_buf_close(&self->buf);
    if (self->signal_fd >= 0)
        close(self->signal_fd);
    free(self);
    *self_p = NULL;
}

/*  rl_broker_route.c - the broker's table of requests, where each one is
    sent, and what happens when an attempt fails.

    Every client request becomes a record in one table, keyed by an id the
    broker chooses (the "broker id"): clients pick their own ids, which are
    only unique per connection, so they cannot be sent on to the nodes. The
    record remembers the client's envelope and id, the request's bytes and
    what was read of them in place (rl_peek.h: type, id, log, producer and
    seq, wait_ms), its deadline and its retry state. The request goes to
    one node as the client sent it but for the broker id, the time a long
    poll has left and on whose behalf (rl_peek_forward: its other pairs
    are copied, not decoded and encoded again); the node's reply is matched
    by that id, and goes back along the client's envelope with the client's
    id, its other bytes as they came (rl_front_forward). Every request gets
    exactly one reply: from a node, or from the broker when a deadline
    passes or the broker stops. docs/BROKER.md has the rules.
*/
#include "rl_broker_private.h"

#include <inttypes.h>
#include <string.h>

#include "rl_logging.h"

static void s_dispatch(rl_broker_t *self, rl_broker_request_t *r);

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

zhashx_t *rl_broker_table_new(void)
{
    zhashx_t *table = zhashx_new();
    if (!table)
        return NULL;
    /* Keys are the records' own bid fields: nothing to copy or free. */
    zhashx_set_key_hasher(table, s_hash_bid);
    zhashx_set_key_comparator(table, s_compare_bid);
    zhashx_set_key_duplicator(table, NULL);
    zhashx_set_key_destructor(table, NULL);
    return table;
}

/* Removes r from the table and the list and frees it. */
void rl_broker_forget(rl_broker_t *self, rl_broker_request_t *r)
{
    if (r->owner) {
        if (r->owner_prev)
            r->owner_prev->owner_next = r->owner_next;
        else
            r->owner->head = r->owner_next;
        if (r->owner_next)
            r->owner_next->owner_prev = r->owner_prev;
        r->owner->count--;
    }
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

/* Sends msg to the client behind envelope (consumed), with the client's
   id. */
void rl_broker_send_to_client(rl_broker_t *self, zmsg_t **envelope,
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

void rl_broker_fail(rl_broker_t *self, rl_broker_request_t *r, int code,
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
    rl_broker_forget(self, r);
}

/* The words that tell a client what an unanswered request means. */
const char *rl_broker_outcome(const rl_broker_request_t *r)
{
    if (r->type == RL_MSG_READ_REQUEST || r->type == RL_MSG_STATUS_REQUEST)
        return "retry it";
    if (!r->attempts)
        return "it was not sent to any node: retry it";
    if (r->type == RL_MSG_APPEND_REQUEST)
        return r->idempotent ? "its outcome is unknown: retry with the same "
                               "producer and seq"
                             : "its outcome is unknown (an append without a "
                               "producer id cannot be retried safely)";
    if (r->idempotent) /* MEMBERS list; CONSUMER_COMMIT (the same index
                          again is accepted), CONSUMERS list, show, reset */
        return "retry it";
    if (r->type == RL_MSG_TRANSFER_REQUEST)
        return "its outcome is unknown: check STATUS before retrying";
    if (r->type == RL_MSG_MEMBERS_REQUEST)
        return "its outcome is unknown: check the members (MEMBERS list) "
               "before retrying";
    if (r->type == RL_MSG_CONSUMERS_REQUEST) /* delete */
        return "its outcome is unknown: check the consumer (CONSUMERS show) "
               "before retrying";
    return "its outcome is unknown: check before retrying";
}

/* Sends every waiting request that can go now. */
void rl_broker_dispatch_waiting(rl_broker_t *self)
{
    int64_t now = zclock_mono();
    rl_broker_request_t *r = self->requests;
    while (r) {
        rl_broker_request_t *next = r->next; /* r may be answered and freed */
        if (r->node < 0 && r->retry_at <= now)
            s_dispatch(self, r);
        r = next;
    }
}

/* Sends a request again, or answers it when it cannot be. */
static void s_retry(rl_broker_t *self, rl_broker_request_t *r, int64_t pause_ms)
{
    r->retry_at = zclock_mono() + pause_ms;
    if (pause_ms == 0)
        s_dispatch(self, r);
    else if (!r->waiting)
        r->waiting = zclock_mono();
}

/* The attempt of r on its node will not be answered (the node died, or
   said it could not finish): send r elsewhere when that is safe, else
   tell the client the outcome is unknown. */
void rl_broker_attempt_lost(rl_broker_t *self, rl_broker_request_t *r,
                            const char *why)
{
    if (r->node >= 0 && self->nodes[r->node].in_flight)
        self->nodes[r->node].in_flight--;
    r->node = -1;
    r->waiting = zclock_mono();
    if (!r->idempotent) {
        rl_broker_fail(self, r, RL_ERR_TIMEOUT, "%s (node %" PRIu64 "); %s",
                       why, r->last_node, rl_broker_outcome(r));
        return;
    }
    s_retry(self, r, 0); /* counted in broker_retries when sent */
}

rl_broker_log_t *rl_broker_log_of(const rl_broker_t *self,
                                  const rl_broker_request_t *r)
{
    return rl_broker_log_find(self, r->peek.log);
}

/* The least loaded live node other than avoid (ties rotate: the scan
   starts at a moving cursor), or -1. */
static int s_least_loaded(rl_broker_t *self, int avoid)
{
    int best = -1;
    for (size_t k = 0; k < self->node_count; k++) {
        size_t i = (self->read_cursor + k) % self->node_count;
        const rl_broker_node_t *n = &self->nodes[i];
        if (!n->alive || (int)i == avoid)
            continue;
        if (best < 0 || n->in_flight < self->nodes[best].in_flight)
            best = (int)i;
    }
    self->read_cursor++;
    return best;
}

/* The node a request should go to now, or -1. log is r's log, NULL when
   the broker does not know it (yet). */
static int s_choose(rl_broker_t *self, rl_broker_request_t *r,
                    const rl_broker_log_t *log)
{
    if (r->hint >= 0) {
        /* A NOT_LEADER named the leader of a log the broker cannot track
           (--max-logs): once. */
        int hint = r->hint;
        r->hint = -1;
        if (self->nodes[hint].alive)
            return hint;
    }
    int leader = log ? log->leader : -1;
    bool leader_ok = leader >= 0 && self->nodes[leader].alive;
    if (r->route == RL_ROUTE_TO_LEADER) {
        if (leader_ok || log)
            return leader_ok ? leader : -1;
        /* A log not known yet: any node knows who leads it, or that it
           does not exist, and says so (NOT_LEADER naming it, NOT_FOUND);
           the default log's leader leads it as likely as any other. */
        int fallback = self->default_log.leader;
        if (fallback >= 0 && self->nodes[fallback].alive)
            return fallback;
        return s_least_loaded(self, -1);
    }
    if (r->route == RL_ROUTE_TO_STATUS && leader_ok)
        return leader;
    /* READ (or STATUS without a leader): the least loaded live follower
       of its log; its leader only when no follower is live. */
    int best = s_least_loaded(self, leader);
    if (best < 0 && leader_ok)
        best = leader;
    return best;
}

/* Sends r to the node it should go to, or leaves it waiting (the sweep
   answers it when it has waited too long). */
static void s_dispatch(rl_broker_t *self, rl_broker_request_t *r)
{
    int64_t now = zclock_mono();
    rl_broker_log_t *log = rl_broker_log_of(self, r);
    int index = s_choose(self, r, log);
    if (index < 0) {
        if (!r->waiting)
            r->waiting = now;
        if (r->route != RL_ROUTE_TO_LEADER)
            return;
        /* Poll more often while a request waits for a leader. */
        self->hunting_until = now + self->config.heartbeat_ms;
        const rl_broker_log_t *waited = log ? log : &self->default_log;
        if (waited->leaderless &&
            now - waited->leaderless >= self->config.no_leader_ms)
            rl_broker_fail(self, r, RL_ERR_NO_LEADER,
                           "no leader known for %" PRId64
                           " ms; %s after a pause",
                           now - waited->leaderless, rl_broker_outcome(r));
        return;
    }
    /* The client's bytes with the broker id, what is left of a long
       poll's time (a retried long poll waits only that), and, with CURVE,
       on whose behalf: the node checks that role again, and takes it only
       because this connection's key is a broker's. */
    int64_t left = (int64_t)r->wait_ms - (now - r->started);
    rl_peek_forward_t how = {
        .id = r->bid,
        .set_wait = r->type == RL_MSG_READ_REQUEST,
        .wait_ms = left > 0 ? (uint32_t)left : 0,
        .as_key = {r->as_key, r->as_key[0] ? RL_KEY_TEXT : 0},
        .as_role = r->as_key[0] ? r->as_role : (rl_str_t){NULL, 0},
    };
    const uint8_t *data = zframe_data(r->payload);
    size_t size = zframe_size(r->payload);
    size_t out_size = rl_peek_forward_size(&r->peek, size, &how);
    zmq_msg_t frame;
    if (zmq_msg_init_size(&frame, out_size) != 0) {
        rl_broker_fail(self, r, RL_ERR_INTERNAL, "out of memory in the broker");
        return;
    }
    rl_peek_forward(data, size, &r->peek, &how, zmq_msg_data(&frame));
    rl_broker_node_t *n = &self->nodes[index];
    if (rl_broker_send_to_node(self, index, &frame) != 0) {
        rl_broker_fail(self, r, RL_ERR_BUSY,
                       "the broker's queue to node %" PRIu64
                       " (%s) is full; retry "
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

/* A NOT_LEADER for r from node index: the node knows better than we do.
   Its hint (matched by id, else by endpoint) becomes the leader of the
   log it names (and is polled to confirm); without a usable hint, the
   leader the broker thought it was is no more. */
static void s_not_leader(rl_broker_t *self, int index, rl_broker_request_t *r,
                         const rl_peek_reply_t *reply)
{
    int hinted = rl_broker_node_by_id(self, reply->leader);
    if (hinted < 0 && reply->endpoint.size)
        hinted = rl_broker_node_by_endpoint(self, reply->endpoint);
    bool usable = hinted >= 0 && hinted != index && self->nodes[hinted].alive;
    /* The log it is about: the one it names, the default log when it names
       none (a node of before named logs only has that one). */
    rl_broker_log_t *log = rl_broker_log_learn(self, reply->log);
    if (log) {
        log->heard = zclock_mono();
        if (usable) {
            self->nodes[hinted].next_poll = 0;
            rl_broker_set_leader(self, log, hinted, log->leader_term,
                                 "a NOT_LEADER hint");
        } else if (log->leader == index) {
            rl_broker_set_leader(self, log, -1, log->leader_term,
                                 "the leader said no");
        }
    } else if (usable) {
        r->hint = hinted;
    }
}

/* Handles a node's reply to request r. */
static void s_on_reply(rl_broker_t *self, int index, rl_broker_request_t *r,
                       const uint8_t *data, size_t size,
                       const rl_peek_reply_t *reply)
{
    if (reply->type == RL_MSG_NOT_LEADER) {
        s_not_leader(self, index, r, reply);
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
    if (reply->type == RL_MSG_ERROR) {
        int code = reply->code;
        if (code == RL_ERR_SHUTTING_DOWN) {
            rl_broker_node_stopping(self, index);
            rl_broker_attempt_lost(self, r, "the node is shutting down");
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
    if (reply->type == RL_MSG_STATUS_OK) {
        /* Decoded in full: the broker learns from it, and adds its
           counters to it when it answers a STATUS. */
        rl_msg_t msg;
        char err[RL_CODEC_ERROR_SIZE];
        if (rl_codec_decode(data, size, &msg, err) != 0) {
            rl_msg_close(&msg);
            rl_broker_fail(self, r, RL_ERR_INTERNAL,
                           "node %" PRIu64 " sent a STATUS that does not "
                           "decode: %s",
                           self->nodes[index].id, err);
            return;
        }
        rl_broker_log_t *log = rl_broker_log_of(self, r);
        rl_broker_learn_status(self, index, log, &msg.body.status_ok, data,
                               size);
        if (r->type == RL_MSG_STATUS_REQUEST) {
            rl_broker_reply_status(self, r, log, &msg);
            rl_msg_close(&msg);
            return;
        }
        rl_msg_close(&msg);
    }
    rl_front_forward(self->front, &r->envelope, r->client_id, data, size,
                     reply);
    rl_broker_forget(self, r);
}

/* True for replies that end a request wherever they come from: any
   success (not NOT_LEADER, not ERROR). */
static bool s_final(uint8_t type)
{
    return rl_msg_is_done(type);
}

void rl_broker_settle(rl_broker_t *self, int index, const uint8_t *data,
                      size_t size, const rl_peek_reply_t *reply)
{
    rl_broker_request_t *r = zhashx_lookup(self->table, &reply->id);
    /* A reply to an earlier attempt on another node counts only when it
       settles the request: an APPEND_OK there is as true as one here
       would be. */
    if (!r || !(r->node == index || (s_final(reply->type) && r->node >= 0)))
        return;
    if (r->node != index) {
        self->nodes[r->node].in_flight--;
        r->node = index;
        self->nodes[index].in_flight++;
    }
    s_on_reply(self, index, r, data, size, reply);
}

/* Where a request goes and whether it may be sent twice. */
static void s_classify(rl_broker_request_t *r, const rl_msg_t *msg)
{
    switch (msg->type) {
    case RL_MSG_APPEND_REQUEST:
        r->route = RL_ROUTE_TO_LEADER;
        r->idempotent = msg->body.append_request.producer_id != 0;
        break;
    case RL_MSG_READ_REQUEST:
        /* A consumer's position is told by the leader alone (PROTOCOL.md,
           READ_REQUEST); any node reads from an index or a time. */
        r->route = msg->body.read_request.consumer.size ? RL_ROUTE_TO_LEADER
                                                        : RL_ROUTE_TO_ANY;
        r->idempotent = true;
        r->wait_ms = msg->body.read_request.wait_ms;
        r->deadline += r->wait_ms;
        break;
    case RL_MSG_STATUS_REQUEST:
        r->route = RL_ROUTE_TO_STATUS;
        r->idempotent = true;
        break;
    case RL_MSG_MEMBERS_REQUEST:
        r->route = RL_ROUTE_TO_LEADER;
        r->idempotent = msg->body.members_request.op == RL_MEMBERS_LIST;
        break;
    case RL_MSG_CONSUMER_COMMIT: /* the same index again is accepted */
        r->route = RL_ROUTE_TO_LEADER;
        r->idempotent = true;
        break;
    case RL_MSG_CONSUMERS_REQUEST: /* a delete done twice: NOT_FOUND */
        r->route = RL_ROUTE_TO_LEADER;
        r->idempotent = msg->body.consumers_request.op != RL_CONSUMERS_DELETE;
        break;
    default: /* TRANSFER, and any later request type: to the leader */
        r->route = RL_ROUTE_TO_LEADER;
        r->idempotent = false;
    }
}

/* Takes a client request (read in place by the front door) into the
   table and sends it on, or answers it at once. */
void rl_broker_admit(rl_broker_t *self, rl_front_request_t *request)
{
    rl_msg_t *msg = &request->msg;
    zmsg_t **envelope = &request->envelope;
    if (request->error == 0 && !rl_msg_is_request(msg->type)) {
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
    if (request->held &&
        request->held->count >= self->config.max_client_requests) {
        self->n_client_busy++;
        char text[RL_MAX_ERROR_MESSAGE];
        snprintf(text, sizeof(text),
                 "the broker holds %zu requests of this connection (at "
                 "most %u: --max-client-requests); wait for their replies, "
                 "then retry",
                 request->held->count, self->config.max_client_requests);
        s_error_to_client(self, envelope, msg->id, RL_ERR_BUSY, text);
        return;
    }
    if (msg->type == RL_MSG_READ_REQUEST &&
        msg->body.read_request.wait_ms > self->config.max_read_wait_ms) {
        /* Cut like a node cuts it: answered empty at the cut. */
        msg->body.read_request.wait_ms = self->config.max_read_wait_ms;
        self->n_waits_cut++;
    }
    rl_broker_request_t *r = calloc(1, sizeof(*r));
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
    r->hint = -1;
    r->started = now;
    r->deadline = now + self->config.request_timeout_ms;
    s_classify(r, msg);
    if (self->keys) { /* admitted by the front door: key and role known */
        memcpy(r->as_key, request->key, sizeof(r->as_key));
        r->as_role = rl_str(rl_role_name(request->role));
    }
    r->payload = request->payload; /* the peek's strings point into it */
    request->payload = NULL;
    r->peek = request->peek;
    r->next = self->requests;
    if (r->next)
        r->next->prev = r;
    self->requests = r;
    self->request_count++;
    r->owner = request->held;
    if (r->owner) {
        r->owner_next = r->owner->head;
        if (r->owner_next)
            r->owner_next->owner_prev = r;
        r->owner->head = r;
        r->owner->count++;
    }
    zhashx_insert(self->table, &r->bid, r);
    s_dispatch(self, r);
}

void rl_broker_release(rl_broker_t *self, rl_front_held_t *held)
{
    while (held->head) {
        self->n_released++;
        rl_broker_forget(self, held->head);
    }
}

void rl_broker_sweep_requests(rl_broker_t *self, int64_t now)
{
    rl_broker_request_t *r = self->requests;
    while (r) {
        rl_broker_request_t *next = r->next;
        if (now >= r->deadline) {
            rl_broker_fail(self, r, RL_ERR_TIMEOUT,
                           "no answer in %" PRId64
                           " ms (%u attempts, last on node "
                           "%" PRIu64 "); %s",
                           now - r->started, r->attempts, r->last_node,
                           rl_broker_outcome(r));
        } else if (r->node < 0 && r->waiting &&
                   now - r->waiting >= self->config.no_leader_ms &&
                   r->route == RL_ROUTE_TO_LEADER) {
            rl_broker_fail(self, r, RL_ERR_NO_LEADER,
                           "no leader known for %" PRId64
                           " ms; %s after a pause",
                           now - r->waiting, rl_broker_outcome(r));
        } else if (r->node < 0 && r->waiting &&
                   now - r->waiting >= self->config.no_leader_ms) {
            rl_broker_fail(
                self, r, RL_ERR_NO_LEADER,
                "no node of the cluster answers the broker; retry after "
                "a pause");
        } else if (r->node < 0 && r->retry_at <= now) {
            s_dispatch(self, r);
        }
        r = next;
    }
}

/*  rl_front.c - a daemon's client front door; see rl_front.h.

    Each client connection that sent a request has a record, keyed by its
    routing id and mapped from the descriptor its messages come in on
    (rl_conns.h tells which descriptor closed). Replies are counted
    against a budget (per connection, and one for all of them): a reply
    leaves as a zero-copy ZeroMQ message whose free function, run by
    ZeroMQ's I/O thread once the bytes are written to the socket (or
    dropped with the connection), takes them off the budgets. Budgets are
    reference counted, so that a connection or the front may go while
    ZeroMQ still holds replies of theirs.
*/
#include "rl_front.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "rl_conns.h"
#include "rl_logging.h"
#include "rl_loop.h"

/* Replies queued out and requests queued in per client connection, in
   messages (ZeroMQ's high-water marks); the byte budgets bound the rest.
   Past the send mark ZeroMQ drops replies to that connection. */
#define S_QUEUE_MESSAGES 100000

/* Reply bytes not yet written out, for all connections or one. */
typedef struct s_budget {
    atomic_size_t queued;   /* bytes handed to ZeroMQ, not yet written */
    atomic_uint refs;       /* its owner's + one per reply in ZeroMQ */
    struct s_budget *total; /* the front's all-connections budget, or NULL
                               for that one itself */
} s_budget_t;

/* A reply in ZeroMQ's hands; the encoded bytes follow. */
typedef struct {
    s_budget_t *budget; /* charged with size */
    size_t size;        /* bytes of the reply */
} s_sent_t;

/* Routing ids are at most 255 bytes (ZMTP). The key's bytes after size
   are never read. */
typedef struct {
    uint8_t size;       /* bytes of the routing id */
    uint8_t bytes[255]; /* the routing id */
} s_key_t;

/* One client connection that sent a request. */
typedef struct {
    s_key_t key;          /* its routing id: the table's key (first) */
    int fd;               /* the descriptor its messages came in on */
    rl_front_held_t held; /* what the daemon holds for it */
    s_budget_t *budget;   /* its replies waiting */
} s_client_t;

struct rl_front {
    rl_front_config_t config; /* as given (endpoint not kept) */
    zsock_t *router;          /* the front door */
    rl_conns_t *conns;        /* its connections */
    rl_buf_t buf;             /* encoding buffer, reused */
    zhashx_t *clients;        /* routing id -> s_client_t */
    s_client_t **by_fd;       /* by_fd[fd]: the client on that descriptor */
    size_t by_fd_cap;         /* slots in by_fd */
    s_budget_t *total;        /* every reply waiting */
    s_budget_t *nobody;       /* replies to connections without a record */
    uint64_t busy;            /* answered BUSY for waiting replies */
    uint64_t errors[RL_ERR__COUNT]; /* ERROR replies sent, by code */
};

/* ---- Budgets (touched by ZeroMQ's thread too: atomics only) ---- */

static s_budget_t *s_budget_new(s_budget_t *total)
{
    s_budget_t *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    atomic_init(&b->queued, 0);
    atomic_init(&b->refs, 1);
    b->total = total;
    if (total)
        atomic_fetch_add(&total->refs, 1);
    return b;
}

static void s_budget_unref(s_budget_t **b_p)
{
    s_budget_t *b = *b_p;
    if (!b)
        return;
    *b_p = NULL;
    if (atomic_fetch_sub(&b->refs, 1) == 1) {
        s_budget_unref(&b->total);
        free(b);
    }
}

/* ZeroMQ is done with a reply: written to the socket, or dropped. */
static void s_sent(void *data, void *hint)
{
    (void)data;
    s_sent_t *sent = hint;
    s_budget_t *b = sent->budget;
    atomic_fetch_sub(&b->queued, sent->size);
    atomic_fetch_sub(&b->total->queued, sent->size);
    s_budget_unref(&b);
    free(sent);
}

/* ---- The client table ---- */

static size_t s_hash_key(const void *key)
{
    const s_key_t *k = key;
    size_t hash = 14695981039346656037ull; /* FNV-1a */
    for (size_t i = 0; i < k->size; i++) {
        hash ^= k->bytes[i];
        hash *= 1099511628211ull;
    }
    return hash;
}

static int s_compare_keys(const void *a, const void *b)
{
    const s_key_t *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return memcmp(x->bytes, y->bytes, x->size);
}

static void s_key_of(s_key_t *key, const void *data, size_t size)
{
    key->size =
        (uint8_t)(size > sizeof(key->bytes) ? sizeof(key->bytes) : size);
    memcpy(key->bytes, data, key->size);
}

static void s_client_free(rl_front_t *self, s_client_t *client)
{
    if (client->held.count && self->config.gone)
        self->config.gone(self->config.gone_arg, &client->held);
    assert(client->held.count == 0);
    if (client->fd >= 0 && (size_t)client->fd < self->by_fd_cap &&
        self->by_fd[client->fd] == client)
        self->by_fd[client->fd] = NULL;
    zhashx_delete(self->clients, &client->key);
    s_budget_unref(&client->budget);
    free(client);
}

/* A client's connection closed (from rl_conns). */
static void s_gone(void *arg, int fd)
{
    rl_front_t *self = arg;
    if ((size_t)fd < self->by_fd_cap && self->by_fd[fd])
        s_client_free(self, self->by_fd[fd]);
}

static int s_map_fd(rl_front_t *self, s_client_t *client)
{
    int fd = client->fd;
    if ((size_t)fd >= self->by_fd_cap) {
        size_t cap = self->by_fd_cap ? self->by_fd_cap : 1024;
        while (cap <= (size_t)fd)
            cap *= 2;
        s_client_t **grown = realloc(self->by_fd, cap * sizeof(*grown));
        if (!grown)
            return -1;
        memset(grown + self->by_fd_cap, 0,
               (cap - self->by_fd_cap) * sizeof(*grown));
        self->by_fd = grown;
        self->by_fd_cap = cap;
    }
    self->by_fd[fd] = client;
    return 0;
}

/* The record of the client with routing id key on descriptor fd, made
   when new; NULL when its connection is not known or out of memory. */
static s_client_t *s_client(rl_front_t *self, const s_key_t *key, int fd)
{
    if (fd < 0)
        return NULL;
    s_client_t *client = zhashx_lookup(self->clients, key);
    if (client && client->fd == fd)
        return client;
    /* A connection not seen yet. Its descriptor may be one that closed a
       moment ago, or the routing id one that reconnected: take in the
       connection events first, so that the record of the closed
       connection is released before this one is made. Every event of an
       older connection on fd was queued before this connection's first
       message could arrive. */
    rl_conns_process(self->conns);
    client = zhashx_lookup(self->clients, key);
    if (client) {
        /* The same routing id on another live connection (a client that
           sets its own): follow it to the new descriptor. */
        if ((size_t)client->fd < self->by_fd_cap &&
            self->by_fd[client->fd] == client)
            self->by_fd[client->fd] = NULL;
        client->fd = fd;
    } else {
        client = calloc(1, sizeof(*client));
        if (!client)
            return NULL;
        client->key = *key;
        client->fd = fd;
        client->budget = s_budget_new(self->total);
        if (!client->budget) {
            free(client);
            return NULL;
        }
        zhashx_insert(self->clients, &client->key, client);
    }
    if ((size_t)fd < self->by_fd_cap && self->by_fd[fd] &&
        self->by_fd[fd] != client)
        s_client_free(self, self->by_fd[fd]); /* a stale record */
    if (s_map_fd(self, client) != 0) {
        s_client_free(self, client);
        return NULL;
    }
    return client;
}

/* ---- Life cycle ---- */

rl_front_t *rl_front_new(const rl_front_config_t *config, char *err)
{
    rl_front_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, 512, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->config.endpoint = NULL;
    rl_buf_init(&self->buf);
    self->total = s_budget_new(NULL);
    self->nobody = self->total ? s_budget_new(self->total) : NULL;
    self->clients = zhashx_new();
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->total || !self->nobody || !self->clients || !self->router) {
        snprintf(err, 512, "out of memory");
        rl_front_destroy(&self);
        return NULL;
    }
    zhashx_set_key_hasher(self->clients, s_hash_key);
    zhashx_set_key_comparator(self->clients, s_compare_keys);
    zhashx_set_key_duplicator(self->clients, NULL);
    zhashx_set_key_destructor(self->clients, NULL);
    zsock_set_linger(self->router, 0);
    zsock_set_sndhwm(self->router, S_QUEUE_MESSAGES);
    zsock_set_rcvhwm(self->router, S_QUEUE_MESSAGES);
    zsock_set_maxmsgsize(self->router, (int)config->max_message);
    /* Before the bind: options apply to binds made after them. */
    if (config->cert)
        rl_keys_set_server(self->router, config->cert);
    self->conns = rl_conns_new(self->router, "client", "--max-clients",
                               config->max_clients, s_gone, self);
    if (!self->conns) {
        snprintf(err, 512, "cannot watch the client connections: %s",
                 zmq_strerror(zmq_errno()));
        rl_front_destroy(&self);
        return NULL;
    }
    if (zsock_bind(self->router, "%s", config->endpoint) < 0) {
        snprintf(err, 512,
                 "cannot listen for clients on %s: %s (is the port in use?)",
                 config->endpoint, zmq_strerror(zmq_errno()));
        rl_front_destroy(&self);
        return NULL;
    }
    return self;
}

void rl_front_destroy(rl_front_t **self_p)
{
    rl_front_t *self = *self_p;
    if (!self)
        return;
    rl_conns_destroy(&self->conns);
    zsock_destroy(&self->router);
    if (self->clients) {
        s_client_t *client;
        while ((client = zhashx_first(self->clients)))
            s_client_free(self, client);
        zhashx_destroy(&self->clients);
    }
    free(self->by_fd);
    s_budget_unref(&self->nobody);
    s_budget_unref(&self->total);
    rl_buf_close(&self->buf);
    free(self);
    *self_p = NULL;
}

zsock_t *rl_front_socket(rl_front_t *self)
{
    return self->router;
}

zsock_t *rl_front_events(rl_front_t *self)
{
    return rl_conns_socket(self->conns);
}

void rl_front_process_events(rl_front_t *self)
{
    rl_conns_process(self->conns);
}

void rl_front_set_max_clients(rl_front_t *self, uint32_t max_clients)
{
    rl_conns_set_limit(self->conns, max_clients);
}

uint32_t rl_front_fit_clients(rl_front_t *self, uint32_t wanted,
                              uint64_t fd_limit, long open_fds,
                              uint32_t other_connections, uint32_t reserve)
{
    uint32_t now = rl_conns_limit(self->conns);
    uint32_t connections =
        rl_conns_count(self->conns) + rl_conns_closing(self->conns);
    uint32_t limit = rl_loop_client_limit(
        wanted, fd_limit, open_fds, connections + other_connections, reserve);
    if (limit == now)
        return limit;
    rl_conns_set_limit(self->conns, limit);
    /* Said once at warn; later moves (a segment more or less) at debug. */
    if (limit < wanted)
        rl_logf(now == wanted ? RL_LOG_WARN : RL_LOG_DEBUG,
                "at most %u client connections (not --max-clients %u): the "
                "descriptor limit is %" PRIu64 "; raise it (ulimit -n, "
                "LimitNOFILE) for more",
                limit, wanted, fd_limit);
    return limit;
}

void rl_front_set_linger(rl_front_t *self, int ms)
{
    zsock_set_linger(self->router, ms);
}

void rl_front_stats(const rl_front_t *self, rl_front_stats_t *stats)
{
    stats->clients = rl_conns_count(self->conns);
    stats->max_clients = rl_conns_limit(self->conns);
    stats->clients_refused = rl_conns_refused(self->conns);
    stats->clients_closing = rl_conns_closing(self->conns);
    stats->queued_bytes = atomic_load(&self->total->queued);
    stats->busy = self->busy;
    memcpy(stats->errors, self->errors, sizeof(stats->errors));
    /* FORBIDDEN is the front door's own (s_admit). */
    stats->forbidden = self->errors[RL_ERR_FORBIDDEN];
    stats->handshakes_failed = rl_conns_handshakes_failed(self->conns);
}

/* ---- Requests ---- */

/* True when a connection whose replies wait in budget may not be given
   size bytes more (0: may it be given anything). One reply always goes
   to a connection with nothing waiting. */
static bool s_full(const rl_front_t *self, s_budget_t *budget, size_t size)
{
    size_t mine = atomic_load(&budget->queued);
    size_t all = atomic_load(&self->total->queued);
    if (size == 0)
        return mine >= self->config.max_client_queue ||
               all >= self->config.max_queue;
    return mine > 0 && (mine + size > self->config.max_client_queue ||
                        all + size > self->config.max_queue);
}

/* Receives one message part into a new frame; *fd gets the descriptor it
   came in on (-1 unknown), *more whether parts follow, key (when not NULL)
   the connection's CURVE key ("" without CURVE). NULL when nothing
   waits. */
static zframe_t *s_recv_part(void *handle, int *fd, bool *more, char *key)
{
    zmq_msg_t part;
    zmq_msg_init(&part);
    if (zmq_msg_recv(&part, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&part);
        return NULL;
    }
    *fd = rl_conns_source_fd(&part);
    *more = zmq_msg_more(&part);
    if (key) {
        const char *user_id = zmq_msg_gets(&part, "User-Id");
        size_t length = user_id ? strnlen(user_id, RL_KEY_TEXT_SIZE) : 0;
        if (length != RL_KEY_TEXT_SIZE - 1)
            length = 0;
        memcpy(key, user_id ? user_id : "", length);
        key[length] = '\0';
    }
    zframe_t *frame = zframe_new(zmq_msg_data(&part), zmq_msg_size(&part));
    zmq_msg_close(&part);
    return frame;
}

/* Refuses a request with FORBIDDEN (its envelope taken). Returns -1. */
static int s_forbid(rl_front_t *self, rl_front_request_t *request,
                    const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int s_forbid(rl_front_t *self, rl_front_request_t *request,
                    const char *format, ...)
{
    char text[RL_MAX_ERROR_MESSAGE];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    rl_front_error(self, &request->envelope, request->msg.id, RL_ERR_FORBIDDEN,
                   0, "%s", text);
    return -1;
}

/* Whether a request may be carried out, by the key of the connection it
   came on (docs/SECURITY.md, "Roles"): 0 with request->key and ->role set
   (or, for a request that did not decode, with its error left for the
   daemon to answer), or -1 when it was answered FORBIDDEN here. A key
   no longer allowed gets FORBIDDEN whatever it sent. */
static int s_admit(rl_front_t *self, rl_front_request_t *request,
                   const char *key)
{
    const rl_msg_t *msg = &request->msg;
    bool as = msg->as_key.size != 0;
    if (!self->config.keys) {
        if (as && !request->error)
            return s_forbid(self, request,
                            "as_key and as_role are taken only from a "
                            "broker's CURVE connection, and this server does "
                            "not use CURVE; send the request without them");
        return 0;
    }
    const rl_key_t *k =
        rl_keys_lookup_fresh(self->config.keys, key, zclock_mono());
    if (!k)
        return s_forbid(self, request,
                        "your key %s is not in this server's --keys "
                        "directory (any more: it was removed); ask an "
                        "operator to put your public certificate back",
                        key[0] ? key : "(none)");
    rl_role_t role = k->role;
    snprintf(request->key, sizeof(request->key), "%s", k->key);
    request->role = role;
    if (request->error)
        return 0;
    if (as) {
        /* A broker speaks for its client: only a broker may. */
        if (role != RL_ROLE_BROKER)
            return s_forbid(self, request,
                            "as_key and as_role are taken only from a broker "
                            "(your key %s has role %s); send the request "
                            "without them",
                            k->name, rl_role_name(role));
        char as_role[RL_MAX_ROLE + 1];
        memcpy(as_role, msg->as_role.ptr, msg->as_role.size);
        as_role[msg->as_role.size] = '\0';
        role = rl_role_parse(as_role);
        if (role == RL_ROLE_NONE) {
            char shown[RL_LOG_ESCAPE_SIZE(RL_MAX_ROLE)];
            return s_forbid(self, request,
                            "the broker forwarded role '%s', which is no "
                            "role (consumer, producer or admin)",
                            rl_log_escape(msg->as_role.ptr, msg->as_role.size,
                                          shown, sizeof(shown)));
        }
        memcpy(request->key, msg->as_key.ptr, RL_KEY_TEXT);
        request->key[RL_KEY_TEXT] = '\0';
        request->forwarded = true;
    }
    request->role = role;
    int op = msg->type == RL_MSG_MEMBERS_REQUEST ? msg->body.members_request.op
             : msg->type == RL_MSG_CONSUMERS_REQUEST
                 ? msg->body.consumers_request.op
             : msg->type == RL_MSG_LOGS_REQUEST ? msg->body.logs_request.op
                                                : 0;
    if (!rl_keys_role_allows(role, msg->type, op)) {
        char text[RL_KEYS_ERROR_SIZE];
        rl_keys_forbidden(role, msg->type, op, text, sizeof(text));
        return s_forbid(self, request, "%s", text);
    }
    return 0;
}

/* With peek_only: reads the request in place, and puts in msg what the
   key check (s_admit) and the daemon use. */
static void s_peek(rl_front_request_t *request)
{
    rl_peek_request_t *peek = &request->peek;
    request->error =
        rl_peek_request(zframe_data(request->payload),
                        zframe_size(request->payload), peek, request->why);
    rl_msg_t *msg = &request->msg;
    rl_msg_init(msg, peek->type);
    msg->id = peek->id;
    if (request->error)
        return;
    msg->as_key = peek->as_key;
    msg->as_role = peek->as_role;
    if (peek->type == RL_MSG_APPEND_REQUEST) {
        msg->body.append_request.producer_id = peek->producer;
        msg->body.append_request.seq = peek->seq;
    } else if (peek->type == RL_MSG_READ_REQUEST) {
        msg->body.read_request.wait_ms = peek->wait_ms;
        msg->body.read_request.consumer = peek->consumer;
    } else if (peek->type == RL_MSG_MEMBERS_REQUEST) {
        msg->body.members_request.op = peek->op;
    } else if (peek->type == RL_MSG_CONSUMERS_REQUEST) {
        msg->body.consumers_request.op = peek->op; /* for the role check */
    }
}

int rl_front_recv(rl_front_t *self, rl_front_request_t *request)
{
    memset(request, 0, sizeof(*request));
    void *handle = zsock_resolve(self->router);
    /* The routing id and the next part are read by hand: the descriptor a
       request came in on is a property of the parts the connection sent
       (the routing id is made up by the ROUTER, and when it was
       prefetched by a poll it does not carry one). The next part is the
       empty delimiter of a well-formed request, so nothing large is
       copied; the rest is taken as czmq frames. */
    int fd = -1, id_fd;
    bool more;
    zframe_t *id = s_recv_part(handle, &id_fd, &more, NULL);
    if (!id)
        return -1;
    s_key_t key;
    s_key_of(&key, zframe_data(id), zframe_size(id));
    zmsg_t *frames = zmsg_new();
    zmsg_append(frames, &id);
    /* The connection's key, from the second part like its descriptor. */
    char curve_key[RL_KEY_TEXT_SIZE] = "";
    if (more) {
        zframe_t *second = s_recv_part(handle, &fd, &more, curve_key);
        if (second)
            zmsg_append(frames, &second);
        /* The rest, without a copy: the parts of a message arrive
           together. */
        zframe_t *frame;
        while (more && (frame = zframe_recv(handle))) {
            more = zframe_more(frame);
            zmsg_append(frames, &frame);
        }
    }
    request->payload = zmsg_size(frames) > 1 ? zmsg_last(frames) : NULL;
    if (request->payload)
        zmsg_remove(frames, request->payload);
    request->envelope = frames;
    s_client_t *client = s_client(self, &key, fd);
    request->held = client ? &client->held : NULL;
    if (!request->payload) {
        rl_msg_init(&request->msg, 0);
        snprintf(request->why, sizeof(request->why), "empty request");
        request->error = RL_ERR_BAD_REQUEST;
        return 0;
    }
    if (self->config.peek_only)
        s_peek(request);
    else
        request->error = rl_codec_decode(zframe_data(request->payload),
                                         zframe_size(request->payload),
                                         &request->msg, request->why);
    if (s_admit(self, request, curve_key) != 0) {
        rl_front_request_close(request);
        return 1;
    }
    if (request->error == 0 &&
        s_full(self, client ? client->budget : self->nobody, 0)) {
        self->busy++;
        rl_front_error(
            self, &request->envelope, request->msg.id, RL_ERR_BUSY, 0,
            "%zu bytes of replies to this connection are not "
            "read yet (%zu for all clients; the bounds are "
            "--max-client-queue and --max-queue): read them, "
            "then retry",
            atomic_load(&(client ? client->budget : self->nobody)->queued),
            atomic_load(&self->total->queued));
        rl_front_request_close(request);
        return 1;
    }
    return 0;
}

void rl_front_request_close(rl_front_request_t *request)
{
    rl_msg_close(&request->msg);
    zframe_destroy(&request->payload);
    zmsg_destroy(&request->envelope);
}

/* ---- Replies ---- */

/* Sends the envelope's frames and then the sent->size bytes that follow
   sent (malloc'ed by the caller, taken over) as one message, charging
   budget until ZeroMQ has written it. */
static void s_send_sent(rl_front_t *self, zmsg_t *envelope, s_budget_t *budget,
                        s_sent_t *sent)
{
    void *handle = zsock_resolve(self->router);
    size_t size = sent->size;
    for (zframe_t *f = zmsg_first(envelope); f; f = zmsg_next(envelope))
        zmq_send(handle, zframe_data(f), zframe_size(f),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT);
    sent->budget = budget;
    atomic_fetch_add(&budget->refs, 1);
    atomic_fetch_add(&budget->queued, size);
    atomic_fetch_add(&budget->total->queued, size);
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, sent + 1, size, s_sent, sent) != 0) {
        s_sent(sent + 1, sent);
        return;
    }
    /* A client that went away, or a full queue (the send high-water
       mark), makes the ROUTER drop this; it never blocks. */
    if (zmq_msg_send(&msg, handle, ZMQ_DONTWAIT) < 0)
        zmq_msg_close(&msg); /* runs s_sent */
}

/* s_send_sent of a copy of data[0..size). */
static void s_send(rl_front_t *self, zmsg_t *envelope, s_budget_t *budget,
                   const void *data, size_t size)
{
    s_sent_t *sent = malloc(sizeof(*sent) + size);
    if (!sent)
        return;
    memcpy(sent + 1, data, size);
    sent->size = size;
    s_send_sent(self, envelope, budget, sent);
}

/* The budget of the client behind envelope. */
static s_budget_t *s_budget_of(rl_front_t *self, zmsg_t *envelope)
{
    zframe_t *first = zmsg_first(envelope);
    s_client_t *client = NULL;
    if (first) {
        s_key_t key;
        s_key_of(&key, zframe_data(first), zframe_size(first));
        client = zhashx_lookup(self->clients, &key);
    }
    return client ? client->budget : self->nobody;
}

/* BUSY for a READ_OK of size bytes to a connection whose replies wait in
   budget. */
static int s_busy_read(rl_front_t *self, zmsg_t **envelope, uint64_t id,
                       s_budget_t *budget, size_t size)
{
    self->busy++;
    return rl_front_error(
        self, envelope, id, RL_ERR_BUSY, 0,
        "this read's %zu bytes would wait behind %zu bytes of replies "
        "to this connection not read yet (%zu for all clients; the "
        "bounds are --max-client-queue and --max-queue): read them, "
        "then retry",
        size, atomic_load(&budget->queued), atomic_load(&self->total->queued));
}

void rl_front_forward(rl_front_t *self, zmsg_t **envelope, uint64_t id,
                      const void *data, size_t size,
                      const rl_peek_reply_t *peek)
{
    size_t out_size = rl_peek_reply_size(peek, size, id);
    s_budget_t *budget = s_budget_of(self, *envelope);
    if (peek->type == RL_MSG_READ_OK && s_full(self, budget, out_size)) {
        s_busy_read(self, envelope, id, budget, out_size);
        return;
    }
    s_sent_t *sent = malloc(sizeof(*sent) + out_size);
    if (sent) {
        sent->size =
            rl_peek_reply_write(data, size, peek, id, (uint8_t *)(sent + 1));
        s_send_sent(self, *envelope, budget, sent);
    }
    zmsg_destroy(envelope);
}

int rl_front_reply(rl_front_t *self, zmsg_t **envelope, const rl_msg_t *msg)
{
    rl_buf_reset(&self->buf);
    char err[RL_CODEC_ERROR_SIZE];
    if (rl_codec_encode(msg, &self->buf, err) != 0) {
        rl_logf(RL_LOG_ERROR, "cannot encode a %s reply: %s",
                rl_msg_type_name(msg->type), err);
        zmsg_destroy(envelope);
        return -1;
    }
    s_budget_t *budget = s_budget_of(self, *envelope);
    if (msg->type == RL_MSG_READ_OK && s_full(self, budget, self->buf.size))
        return s_busy_read(self, envelope, msg->id, budget, self->buf.size);
    s_send(self, *envelope, budget, self->buf.data, self->buf.size);
    zmsg_destroy(envelope);
    return 0;
}

static int s_error(rl_front_t *self, zmsg_t **envelope, uint64_t id, int code,
                   uint64_t first, uint64_t first_time, const char *format,
                   va_list args)
{
    char text[RL_MAX_ERROR_MESSAGE];
    vsnprintf(text, sizeof(text), format, args);
    self->errors[code > 0 && code < RL_ERR__COUNT ? code : 0]++;
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_ERROR);
    msg.id = id;
    msg.body.error.code = (uint16_t)code;
    msg.body.error.message = rl_str(text);
    msg.body.error.first = first;
    msg.body.error.first_time = first_time;
    return rl_front_reply(self, envelope, &msg);
}

int rl_front_error(rl_front_t *self, zmsg_t **envelope, uint64_t id, int code,
                   uint64_t first, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int rc = s_error(self, envelope, id, code, first, 0, format, args);
    va_end(args);
    return rc;
}

int rl_front_error_range(rl_front_t *self, zmsg_t **envelope, uint64_t id,
                         int code, uint64_t first, uint64_t first_time,
                         const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int rc = s_error(self, envelope, id, code, first, first_time, format, args);
    va_end(args);
    return rc;
}

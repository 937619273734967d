/*  raftlog.c - the C client library; see raftlog.h for the contract.

    One REQ socket at a time, to the "current" endpoint. Every request goes
    through s_call(), the Lazy Pirate loop of the ZeroMQ guide (chapter 4):
    send, wait for the reply with a deadline, and when none comes close the
    socket (a REQ socket that missed its reply is stuck), move to the next
    endpoint, pause, and send the very same bytes again. Because the bytes
    are the same, an APPEND_REQUEST keeps its producer and seq across every
    retry, which is what makes it idempotent (PROTOCOL.md section 6).

    The socket is opened with ZMQ_IMMEDIATE, so it only becomes writable
    once a connection to a live peer exists: a node that is down is skipped
    after the connect timeout, instead of swallowing the request and costing
    a whole reply timeout.
*/
#include "raftlog.h"

#include "rl_codec.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define S_MAX_ENDPOINTS 32
#define S_PAUSE_FIRST   50   /* ms before the first retry */
#define S_PAUSE_MAX     1000 /* ms, the longest pause between retries */

struct _raftlog_t {
    char endpoints[S_MAX_ENDPOINTS][RAFTLOG_MAX_ENDPOINT + 1]; /* to try */
    size_t endpoint_count;                                     /* how many */
    size_t current;           /* the endpoint requests go to */
    zsock_t *socket;          /* REQ to endpoints[current], NULL when closed */
    int timeout_ms;           /* wait for one reply */
    int connect_timeout_ms;   /* wait for a connection */
    int retries;              /* retries after a failed attempt */
    uint64_t producer_id;     /* this client's producer id, never 0 */
    uint64_t next_seq;        /* seq of the next batch */
    uint64_t request_id;      /* id of the last request encoded */
    rl_buf_t request;         /* the request being sent (not appends) */
    rl_buf_t append;          /* the last APPEND_REQUEST, kept for retries */
    uint64_t append_id;       /* its request id */
    bool have_append;         /* append holds a batch */
    zmq_msg_t frame;          /* the last reply's bytes; reply borrows them */
    bool frame_open;          /* frame must be closed */
    rl_msg_t reply;           /* the last reply, decoded */
    raftlog_entry_t *entries; /* the last read's entries */
    size_t entry_capacity;    /* room in entries */
    char answered[RAFTLOG_MAX_ENDPOINT + 1]; /* who answered last */
    char error[768];                         /* the last failure */
};

struct _raftlog_tail_t {
    raftlog_t *client;            /* borrowed */
    uint64_t next;                /* the index of the next READ */
    bool from_start;              /* jump to the first retained index */
    const raftlog_entry_t *batch; /* the last read's entries (client's) */
    size_t count;                 /* how many */
    size_t position;              /* the next one to hand out */
};

/* ---- Errors ---- */

static int s_fail(raftlog_t *self, int code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(self->error, sizeof(self->error), format, args);
    va_end(args);
    return code;
}

const char *raftlog_error_name(int code)
{
    switch (code) {
    case RAFTLOG_ERR_UNAVAILABLE:
        return "UNAVAILABLE";
    case RAFTLOG_ERR_PROTOCOL:
        return "PROTOCOL";
    case RAFTLOG_ERR_NO_MEMORY:
        return "NO_MEMORY";
    case RAFTLOG_ERR_INVALID:
        return "INVALID";
    case RAFTLOG_ERR_INTERRUPTED:
        return "INTERRUPTED";
    default:
        return rl_error_name(code);
    }
}

const char *raftlog_error(const raftlog_t *self)
{
    return self->error;
}

const char *raftlog_endpoint(const raftlog_t *self)
{
    return self->answered;
}

/* ---- Life cycle ---- */

static uint64_t s_random_id(void)
{
    uint64_t id = 0;
    if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        id = ((uint64_t)now.tv_sec << 32) ^ (uint64_t)now.tv_nsec ^
             ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)&id;
    }
    return id ? id : 1;
}

raftlog_t *raftlog_new(void)
{
    raftlog_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->timeout_ms = 6000;
    self->connect_timeout_ms = 1000;
    self->retries = 10;
    self->producer_id = s_random_id();
    self->next_seq = 1;
    rl_buf_init(&self->request);
    rl_buf_init(&self->append);
    return self;
}

static void s_release_reply(raftlog_t *self)
{
    rl_msg_close(&self->reply);
    if (self->frame_open) {
        zmq_msg_close(&self->frame);
        self->frame_open = false;
    }
}

void raftlog_destroy(raftlog_t **self_p)
{
    assert(self_p);
    raftlog_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy(&self->socket);
    s_release_reply(self);
    rl_buf_close(&self->request);
    rl_buf_close(&self->append);
    free(self->entries);
    free(self);
    *self_p = NULL;
}

/* Adds an endpoint unless present; returns its position, or -1 when the
   list is full or the endpoint malformed. */
static int s_add_endpoint(raftlog_t *self, const char *endpoint, size_t length)
{
    if (length == 0 || length > RAFTLOG_MAX_ENDPOINT ||
        (strncmp(endpoint, "tcp://", 6) && strncmp(endpoint, "ipc://", 6) &&
         strncmp(endpoint, "inproc://", 9)))
        return -1;
    for (size_t i = 0; i < self->endpoint_count; i++)
        if (strlen(self->endpoints[i]) == length &&
            memcmp(self->endpoints[i], endpoint, length) == 0)
            return (int)i;
    if (self->endpoint_count == S_MAX_ENDPOINTS)
        return -1;
    memcpy(self->endpoints[self->endpoint_count], endpoint, length);
    self->endpoints[self->endpoint_count][length] = '\0';
    return (int)self->endpoint_count++;
}

int raftlog_connect(raftlog_t *self, const char *endpoints)
{
    assert(self);
    if (!endpoints || !*endpoints)
        endpoints = getenv(RAFTLOG_ENDPOINTS_ENV);
    if (!endpoints || !*endpoints)
        endpoints = RAFTLOG_DEFAULT_NODES;
    zsock_destroy(&self->socket);
    self->endpoint_count = 0;
    self->current = 0;
    const char *p = endpoints;
    while (*p) {
        size_t skip = strspn(p, ", \t\n");
        p += skip;
        size_t length = strcspn(p, ", \t\n");
        if (length == 0)
            break;
        if (s_add_endpoint(self, p, length) < 0) {
            int shown = length > 80 ? 80 : (int)length;
            self->endpoint_count = 0;
            return s_fail(self, RAFTLOG_ERR_INVALID,
                          "'%.*s' is not a usable endpoint (write it like "
                          "tcp://127.0.0.1:7101; at most %d of them)",
                          shown, p, S_MAX_ENDPOINTS);
        }
        p += length;
    }
    if (self->endpoint_count == 0)
        return s_fail(self, RAFTLOG_ERR_INVALID, "no endpoints given");
    self->error[0] = '\0';
    return 0;
}

void raftlog_set_timeout(raftlog_t *self, int timeout_ms)
{
    assert(self && timeout_ms > 0);
    self->timeout_ms = timeout_ms;
}

void raftlog_set_connect_timeout(raftlog_t *self, int timeout_ms)
{
    assert(self && timeout_ms > 0);
    self->connect_timeout_ms = timeout_ms;
}

void raftlog_set_retries(raftlog_t *self, int retries)
{
    assert(self && retries >= 0);
    self->retries = retries;
}

void raftlog_set_producer(raftlog_t *self, uint64_t producer_id,
                          uint64_t next_seq)
{
    assert(self && producer_id != 0 && next_seq != 0);
    self->producer_id = producer_id;
    self->next_seq = next_seq;
    self->have_append = false;
}

void raftlog_producer(const raftlog_t *self, uint64_t *producer_id,
                      uint64_t *next_seq)
{
    if (producer_id)
        *producer_id = self->producer_id;
    if (next_seq)
        *next_seq = self->next_seq;
}

/* ---- One exchange ---- */

/* The exchange got no usable answer: try elsewhere. */
#define S_NO_ANSWER (-1)

static int s_sleep(raftlog_t *self, int ms)
{
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
    if (nanosleep(&pause, NULL) != 0 && errno == EINTR)
        return s_fail(self, RAFTLOG_ERR_INTERRUPTED, "interrupted by a signal");
    return 0;
}

/* Sends request over *socket_p (opened to endpoint when NULL) and decodes
   the reply into self->reply. Returns 0; S_NO_ANSWER with why filled (the
   socket is then destroyed, as Lazy Pirate says); or
   RAFTLOG_ERR_INTERRUPTED. */
static int s_exchange(raftlog_t *self, zsock_t **socket_p, const char *endpoint,
                      const rl_buf_t *request, uint64_t request_id,
                      int reply_timeout_ms, char *why, size_t why_size)
{
    s_release_reply(self);
    if (!*socket_p) {
        zsock_t *socket = zsock_new(ZMQ_REQ);
        if (!socket) {
            snprintf(why, why_size, "cannot make a ZeroMQ socket");
            return S_NO_ANSWER;
        }
        zsock_set_linger(socket, 0);
        zsock_set_immediate(socket, 1);
        if (zsock_connect(socket, "%s", endpoint) != 0) {
            snprintf(why, why_size, "cannot connect to %s: %s", endpoint,
                     zmq_strerror(zmq_errno()));
            zsock_destroy(&socket);
            return S_NO_ANSWER;
        }
        *socket_p = socket;
    }
    void *handle = zsock_resolve(*socket_p);
    zmq_pollitem_t item = {handle, 0, ZMQ_POLLOUT, 0};
    int rc = zmq_poll(&item, 1, self->connect_timeout_ms);
    if (rc == 0) {
        snprintf(why, why_size, "no connection to %s within %d ms", endpoint,
                 self->connect_timeout_ms);
        goto no_answer;
    }
    if (rc > 0 && zmq_send(handle, request->data, request->size,
                           ZMQ_DONTWAIT) == (int)request->size) {
        item.events = ZMQ_POLLIN;
        rc = zmq_poll(&item, 1, reply_timeout_ms);
        if (rc == 0) {
            snprintf(why, why_size, "no reply from %s within %d ms", endpoint,
                     reply_timeout_ms);
            goto no_answer;
        }
    }
    if (rc < 0 && zmq_errno() == EINTR) {
        zsock_destroy(socket_p);
        return s_fail(self, RAFTLOG_ERR_INTERRUPTED, "interrupted by a signal");
    }
    zmq_msg_init(&self->frame);
    self->frame_open = true;
    if (rc < 0 || zmq_msg_recv(&self->frame, handle, ZMQ_DONTWAIT) < 0) {
        snprintf(why, why_size, "%s: %s", endpoint, zmq_strerror(zmq_errno()));
        goto no_answer;
    }
    char err[RL_CODEC_ERROR_SIZE];
    if (zmq_msg_more(&self->frame) ||
        rl_codec_decode(zmq_msg_data(&self->frame), zmq_msg_size(&self->frame),
                        &self->reply, err) != 0) {
        snprintf(why, why_size, "%s sent a reply that is not valid: %s",
                 endpoint, zmq_msg_more(&self->frame) ? "several frames" : err);
        goto no_answer;
    }
    if (self->reply.id != request_id) {
        snprintf(why, why_size,
                 "%s answered request %" PRIu64 " instead of %" PRIu64,
                 endpoint, self->reply.id, request_id);
        goto no_answer;
    }
    return 0;
no_answer:
    s_release_reply(self);
    zsock_destroy(socket_p);
    return S_NO_ANSWER;
}

/* Encodes msg (giving it the next request id) into buf. */
static int s_encode(raftlog_t *self, rl_msg_t *msg, rl_buf_t *buf,
                    uint64_t *request_id)
{
    msg->id = ++self->request_id;
    *request_id = msg->id;
    rl_buf_reset(buf);
    char err[RL_CODEC_ERROR_SIZE] = "";
    int rc = rl_codec_encode(msg, buf, err);
    if (rc == RL_ERR_INTERNAL)
        return s_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
    if (rc != 0)
        return s_fail(self, RAFTLOG_ERR_INVALID, "%s", err);
    if (buf->size > RL_MAX_MESSAGE_SIZE)
        return s_fail(self, RAFTLOG_ERR_TOO_LARGE,
                      "the request is %zu bytes, over the limit of %u; "
                      "send smaller batches",
                      buf->size, RL_MAX_MESSAGE_SIZE);
    return 0;
}

static void s_next_endpoint(raftlog_t *self)
{
    zsock_destroy(&self->socket);
    self->current = (self->current + 1) % self->endpoint_count;
}

/* The Lazy Pirate loop: sends request until a reply of type expect comes,
   following redirects and retrying what may be retried. Returns 0 with
   self->reply of type expect, or an error code with self->error set (for a
   definite ERROR reply, self->reply holds it). */
static int s_call(raftlog_t *self, const rl_buf_t *request, uint64_t request_id,
                  uint8_t expect, uint32_t extra_wait_ms)
{
    if (self->endpoint_count == 0) {
        int rc = raftlog_connect(self, NULL);
        if (rc)
            return rc;
    }
    char why[512] = "";
    int pause = S_PAUSE_FIRST;
    int64_t timeout = (int64_t)self->timeout_ms + extra_wait_ms;
    if (timeout > INT32_MAX)
        timeout = INT32_MAX;
    for (int attempt = 0; attempt <= self->retries; attempt++) {
        const char *endpoint = self->endpoints[self->current];
        int rc = s_exchange(self, &self->socket, endpoint, request, request_id,
                            (int)timeout, why, sizeof(why));
        if (rc == RAFTLOG_ERR_INTERRUPTED)
            return rc;
        bool move = true;
        bool wait = true;
        if (rc == 0) {
            const rl_msg_t *reply = &self->reply;
            if (reply->type == expect) {
                snprintf(self->answered, sizeof(self->answered), "%s",
                         endpoint);
                self->error[0] = '\0';
                return 0;
            }
            if (reply->type == RL_MSG_NOT_LEADER) {
                const rl_not_leader_t *nl = &reply->body.not_leader;
                int at = nl->leader_addr.size
                             ? s_add_endpoint(self, nl->leader_addr.ptr,
                                              nl->leader_addr.size)
                             : -1;
                if (at >= 0 && (size_t)at != self->current) {
                    zsock_destroy(&self->socket);
                    self->current = (size_t)at;
                    continue; /* straight to the leader, no pause */
                }
                snprintf(why, sizeof(why),
                         "%s is not the leader and knows no leader yet",
                         endpoint);
            } else if (reply->type == RL_MSG_ERROR) {
                const rl_error_reply_t *e = &reply->body.error;
                snprintf(why, sizeof(why), "%s (%s): %.*s", endpoint,
                         rl_error_name(e->code), (int)e->message.size,
                         e->message.ptr ? e->message.ptr : "");
                switch (e->code) {
                case RL_ERR_TIMEOUT:
                case RL_ERR_BUSY:
                case RL_ERR_NO_LEADER:
                    move = false; /* the same node, after a pause */
                    break;
                case RL_ERR_SHUTTING_DOWN:
                case RL_ERR_NO_SPACE:
                case RL_ERR_INTERNAL:
                    break; /* another node */
                default:
                    return s_fail(self, e->code, "%s: %.*s",
                                  rl_error_name(e->code), (int)e->message.size,
                                  e->message.ptr ? e->message.ptr : "");
                }
            } else {
                snprintf(why, sizeof(why), "%s answered %s to a request for %s",
                         endpoint, rl_msg_type_name(reply->type),
                         rl_msg_type_name(expect));
            }
        }
        if (move)
            s_next_endpoint(self);
        if (wait && attempt < self->retries) {
            rc = s_sleep(self, pause);
            if (rc)
                return rc;
            pause = pause * 2 > S_PAUSE_MAX ? S_PAUSE_MAX : pause * 2;
        }
    }
    int code = RAFTLOG_ERR_UNAVAILABLE;
    if (self->reply.type == RL_MSG_ERROR && self->reply.body.error.code)
        code = self->reply.body.error.code;
    return s_fail(self, code, "gave up after %d attempts; last: %s",
                  self->retries + 1, why);
}

/* ---- Appends ---- */

static int s_send_append(raftlog_t *self, uint64_t *first, uint64_t *last,
                         bool *duplicate)
{
    int rc = s_call(self, &self->append, self->append_id, RL_MSG_APPEND_OK, 0);
    if (rc)
        return rc;
    const rl_append_ok_t *ok = &self->reply.body.append_ok;
    if (first)
        *first = ok->first;
    if (last)
        *last = ok->last;
    if (duplicate)
        *duplicate = ok->duplicate;
    return 0;
}

int raftlog_append_batch(raftlog_t *self, const raftlog_data_t *entries,
                         size_t count, uint64_t *first, uint64_t *last,
                         bool *duplicate)
{
    assert(self && (entries || count == 0));
    if (count == 0 || count > RL_MAX_BATCH_ENTRIES)
        return s_fail(self, RAFTLOG_ERR_INVALID,
                      "a batch holds 1 to %u entries, not %zu",
                      RL_MAX_BATCH_ENTRIES, count);
    for (size_t i = 0; i < count; i++)
        if (entries[i].size > RL_MAX_ENTRY_SIZE)
            return s_fail(self, RAFTLOG_ERR_TOO_LARGE,
                          "entry %zu is %zu bytes, over the limit of %u "
                          "bytes",
                          i + 1, entries[i].size, RL_MAX_ENTRY_SIZE);
    rl_str_t *strings = calloc(count, sizeof(rl_str_t));
    if (!strings)
        return s_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < count; i++) {
        strings[i].ptr = entries[i].size ? entries[i].data : NULL;
        strings[i].size = entries[i].size;
    }
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_APPEND_REQUEST);
    msg.body.append_request.producer_id = self->producer_id;
    msg.body.append_request.seq = self->next_seq;
    msg.body.append_request.entries = strings;
    msg.body.append_request.entry_count = count;
    int rc = s_encode(self, &msg, &self->append, &self->append_id);
    free(strings);
    if (rc)
        return rc;
    /* The seq is spent even if this batch fails: a later batch must never
       reuse it, or the cluster would answer it with this one's indexes. */
    self->next_seq++;
    self->have_append = true;
    return s_send_append(self, first, last, duplicate);
}

int raftlog_append(raftlog_t *self, const void *data, size_t size,
                   uint64_t *index)
{
    raftlog_data_t entry = {data, size};
    return raftlog_append_batch(self, &entry, 1, index, NULL, NULL);
}

int raftlog_append_retry(raftlog_t *self, uint64_t *first, uint64_t *last,
                         bool *duplicate)
{
    assert(self);
    if (!self->have_append)
        return s_fail(self, RAFTLOG_ERR_INVALID, "no batch to send again");
    return s_send_append(self, first, last, duplicate);
}

/* ---- Reads ---- */

int raftlog_read(raftlog_t *self, uint64_t from, uint32_t max_entries,
                 uint32_t wait_ms, const raftlog_entry_t **entries,
                 size_t *count, uint64_t *next)
{
    assert(self && entries && count && next);
    *entries = NULL;
    *count = 0;
    if (from == 0)
        return s_fail(self, RAFTLOG_ERR_INVALID, "indexes start at 1");
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_READ_REQUEST);
    msg.body.read_request.from = from;
    msg.body.read_request.max_entries = max_entries;
    msg.body.read_request.wait_ms = wait_ms;
    uint64_t id;
    int rc = s_encode(self, &msg, &self->request, &id);
    if (!rc)
        rc = s_call(self, &self->request, id, RL_MSG_READ_OK, wait_ms);
    if (rc == RAFTLOG_ERR_OUT_OF_RANGE)
        *next = self->reply.body.error.first;
    if (rc)
        return rc;
    const rl_read_ok_t *ok = &self->reply.body.read_ok;
    if (ok->entry_count > self->entry_capacity) {
        raftlog_entry_t *grown =
            realloc(self->entries, ok->entry_count * sizeof(raftlog_entry_t));
        if (!grown)
            return s_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
        self->entries = grown;
        self->entry_capacity = ok->entry_count;
    }
    uint64_t previous = from - 1;
    for (size_t i = 0; i < ok->entry_count; i++) {
        const rl_entry_t *e = &ok->entries[i];
        if (e->index <= previous || e->index >= ok->next)
            return s_fail(self, RAFTLOG_ERR_PROTOCOL,
                          "%s sent entries out of order (index %" PRIu64
                          " after %" PRIu64 ", next %" PRIu64 ")",
                          self->answered, e->index, previous, ok->next);
        previous = e->index;
        self->entries[i].index = e->index;
        self->entries[i].data = e->data;
        self->entries[i].size = e->size;
    }
    if (ok->next < from)
        return s_fail(self, RAFTLOG_ERR_PROTOCOL,
                      "%s sent next %" PRIu64 " for a read from %" PRIu64,
                      self->answered, ok->next, from);
    *entries = self->entries;
    *count = ok->entry_count;
    *next = ok->next;
    return 0;
}

/* ---- Status, members, transfer ---- */

static void s_copy(char *dest, size_t size, rl_str_t str)
{
    size_t length = str.size < size - 1 ? str.size : size - 1;
    if (length)
        memcpy(dest, str.ptr, length);
    dest[length] = '\0';
}

static void s_member(raftlog_member_t *out, const rl_member_t *in)
{
    memset(out, 0, sizeof(*out));
    out->id = in->id;
    out->voter = in->voter;
    s_copy(out->peer, sizeof(out->peer), in->peer_addr);
    s_copy(out->client, sizeof(out->client), in->client_addr);
    out->last_contact_ms = -1;
}

int raftlog_status(raftlog_t *self, const char *endpoint,
                   raftlog_status_t *status)
{
    assert(self && status);
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_STATUS_REQUEST);
    uint64_t id;
    int rc = s_encode(self, &msg, &self->request, &id);
    if (rc)
        return rc;
    if (endpoint) {
        zsock_t *socket = NULL;
        char why[512];
        rc = s_exchange(self, &socket, endpoint, &self->request, id,
                        self->timeout_ms, why, sizeof(why));
        zsock_destroy(&socket);
        if (rc == S_NO_ANSWER)
            return s_fail(self, RAFTLOG_ERR_UNAVAILABLE, "%s", why);
        if (rc)
            return rc;
        if (self->reply.type == RL_MSG_ERROR)
            return s_fail(self, self->reply.body.error.code, "%s: %.*s",
                          rl_error_name(self->reply.body.error.code),
                          (int)self->reply.body.error.message.size,
                          self->reply.body.error.message.ptr
                              ? self->reply.body.error.message.ptr
                              : "");
        if (self->reply.type != RL_MSG_STATUS_OK)
            return s_fail(self, RAFTLOG_ERR_PROTOCOL,
                          "%s answered %s to STATUS", endpoint,
                          rl_msg_type_name(self->reply.type));
        snprintf(self->answered, sizeof(self->answered), "%s", endpoint);
    } else if ((rc = s_call(self, &self->request, id, RL_MSG_STATUS_OK, 0))) {
        return rc;
    }
    const rl_status_ok_t *ok = &self->reply.body.status_ok;
    memset(status, 0, sizeof(*status));
    status->node = ok->id;
    s_copy(status->role, sizeof(status->role), ok->role);
    status->term = ok->term;
    status->leader = ok->leader;
    status->commit = ok->commit;
    status->last = ok->last;
    status->first = ok->first;
    for (size_t i = 0; i < ok->member_count && i < RAFTLOG_MAX_MEMBERS; i++) {
        s_member(&status->members[i], &ok->members[i].member);
        status->members[i].match = ok->members[i].match_index;
        status->members[i].last_contact_ms = ok->members[i].last_contact_ms;
        status->member_count++;
    }
    for (size_t i = 0; i < ok->counter_count && i < RAFTLOG_MAX_COUNTERS; i++) {
        s_copy(status->counters[i].name, sizeof(status->counters[i].name),
               ok->counters[i].name);
        status->counters[i].value = ok->counters[i].value;
        status->counter_count++;
    }
    return 0;
}

/* Sends a MEMBERS_REQUEST and copies the configuration out. */
static int s_members(raftlog_t *self, uint8_t op, const rl_member_t *member,
                     raftlog_member_t *members, size_t *count)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_MEMBERS_REQUEST);
    msg.body.members_request.op = op;
    if (member)
        msg.body.members_request.member = *member;
    uint64_t id;
    int rc = s_encode(self, &msg, &self->request, &id);
    if (!rc)
        rc = s_call(self, &self->request, id, RL_MSG_MEMBERS_OK, 0);
    if (rc)
        return rc;
    const rl_members_ok_t *ok = &self->reply.body.members_ok;
    if (count)
        *count = 0;
    for (size_t i = 0;
         members && count && i < ok->member_count && i < RAFTLOG_MAX_MEMBERS;
         i++) {
        s_member(&members[i], &ok->members[i]);
        (*count)++;
    }
    return 0;
}

int raftlog_members(raftlog_t *self, raftlog_member_t *members, size_t *count)
{
    assert(self && members && count);
    return s_members(self, RL_MEMBERS_LIST, NULL, members, count);
}

int raftlog_member_add(raftlog_t *self, uint64_t id, const char *peer,
                       const char *client, raftlog_member_t *members,
                       size_t *count)
{
    assert(self);
    if (id == 0 || !peer || !client || !*peer || !*client ||
        strlen(peer) > RAFTLOG_MAX_ENDPOINT ||
        strlen(client) > RAFTLOG_MAX_ENDPOINT)
        return s_fail(self, RAFTLOG_ERR_INVALID,
                      "adding a member needs an id (1 or more), a peer and "
                      "a client endpoint (at most %d bytes each)",
                      RAFTLOG_MAX_ENDPOINT);
    rl_member_t member = {id, false, rl_str(peer), rl_str(client)};
    return s_members(self, RL_MEMBERS_ADD, &member, members, count);
}

int raftlog_member_remove(raftlog_t *self, uint64_t id,
                          raftlog_member_t *members, size_t *count)
{
    assert(self);
    if (id == 0)
        return s_fail(self, RAFTLOG_ERR_INVALID, "member ids start at 1");
    rl_member_t member = {id, false, {NULL, 0}, {NULL, 0}};
    return s_members(self, RL_MEMBERS_REMOVE, &member, members, count);
}

int raftlog_transfer(raftlog_t *self, uint64_t target, uint64_t *leader)
{
    assert(self);
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_TRANSFER_REQUEST);
    msg.body.transfer_request.target = target;
    uint64_t id;
    int rc = s_encode(self, &msg, &self->request, &id);
    if (!rc)
        rc = s_call(self, &self->request, id, RL_MSG_TRANSFER_OK, 0);
    if (!rc && leader)
        *leader = self->reply.body.transfer_ok.leader;
    return rc;
}

/* ---- Tail ---- */

raftlog_tail_t *raftlog_tail_new(raftlog_t *client, uint64_t from)
{
    assert(client);
    raftlog_tail_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->client = client;
    self->from_start = from == RAFTLOG_TAIL_START;
    self->next = self->from_start ? 1 : from;
    return self;
}

void raftlog_tail_destroy(raftlog_tail_t **self_p)
{
    assert(self_p);
    free(*self_p);
    *self_p = NULL;
}

uint64_t raftlog_tail_position(const raftlog_tail_t *self)
{
    return self->position < self->count ? self->batch[self->position].index
                                        : self->next;
}

int raftlog_tail_next(raftlog_tail_t *self, uint32_t wait_ms,
                      const raftlog_entry_t **entry)
{
    assert(self && entry);
    *entry = NULL;
    raftlog_t *client = self->client;
    if (self->next == RAFTLOG_TAIL_END) {
        raftlog_status_t *status = malloc(sizeof(*status));
        if (!status)
            return s_fail(client, RAFTLOG_ERR_NO_MEMORY, "out of memory");
        int rc = raftlog_status(client, NULL, status);
        uint64_t commit = status->commit;
        free(status);
        if (rc)
            return rc;
        self->next = commit + 1;
    }
    while (self->position == self->count) {
        self->batch = NULL;
        self->count = self->position = 0;
        uint64_t next = 0;
        int rc = raftlog_read(client, self->next, 0, wait_ms, &self->batch,
                              &self->count, &next);
        if (rc == RAFTLOG_ERR_OUT_OF_RANGE && self->from_start &&
            next > self->next) {
            self->next = next;
            continue;
        }
        if (rc)
            return rc;
        self->next = next;
        /* An empty answer is the end only when the node has nothing more
           committed; otherwise it skipped Raft's own entries: read on. */
        if (self->count == 0 && next > client->reply.body.read_ok.commit)
            return 0;
    }
    *entry = &self->batch[self->position++];
    return 0;
}

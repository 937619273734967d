/*  raftlog.c - the C client library; see raftlog.h for the contract.

    One REQ socket at a time, to the "current" endpoint. Every request goes
    through rl_client_call(), the Lazy Pirate loop of the ZeroMQ guide
    (chapter 4): send, wait for the reply with a deadline, and when none
    comes close the socket (a REQ socket that missed its reply is stuck),
    move to the next endpoint, pause, and send the very same bytes again.
    Because the bytes are the same, an APPEND_REQUEST keeps its producer and
    seq across every retry, which is what makes it idempotent (PROTOCOL.md
    section 6). One attempt (connect, send, wait) is raftlog_link.c's job;
    STATUS, alone or of every member at once, is raftlog_status.c's;
    durable consumers' positions are raftlog_consumers.c's.
*/
#include "raftlog_internal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define S_PAUSE_FIRST   50   /* ms before the first retry */
#define S_PAUSE_MAX     1000 /* ms, the longest pause between retries */
#define S_MAX_REDIRECTS 4    /* redirects in a row that are not a retry */

struct _raftlog_tail_t {
    raftlog_t *client;  /* borrowed */
    uint64_t next;      /* the index of the next READ */
    uint64_t commit;    /* the last answer's commit index */
    bool from_start;    /* jump to the first retained index */
    uint64_t from_time; /* read from this time until an answer
                           has entries; 0: from next */
    char consumer[RAFTLOG_MAX_CONSUMER_NAME + 1]; /* read after its position
                                                     until an answer; "" */
    const raftlog_entry_t *batch; /* the last read's entries (client's) */
    size_t count;                 /* how many */
    size_t position;              /* the next one to hand out */
};

/* ---- Errors ---- */

int rl_client_fail(raftlog_t *self, int code, const char *format, ...)
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
    case RAFTLOG_ERR_AUTH:
        return "AUTH";
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

bool raftlog_outcome_unknown(const raftlog_t *self)
{
    return self->unknown;
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

void raftlog_destroy(raftlog_t **self_p)
{
    assert(self_p);
    raftlog_t *self = *self_p;
    if (!self)
        return;
    rl_link_close(&self->link);
    zcert_destroy(&self->curve.cert);
    rl_attempt_release(&self->last);
    rl_buf_close(&self->request);
    rl_buf_close(&self->append);
    free(self->entries);
    free(self->consumers);
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
    if (self->endpoint_count == RL_CLIENT_MAX_ENDPOINTS)
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
    rl_link_close(&self->link);
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
            return rl_client_fail(
                self, RAFTLOG_ERR_INVALID,
                "'%.*s' is not a usable endpoint (write it like "
                "tcp://127.0.0.1:7101; at most %d of them)",
                shown, p, RL_CLIENT_MAX_ENDPOINTS);
        }
        p += length;
    }
    if (self->endpoint_count == 0)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID, "no endpoints given");
    self->error[0] = '\0';
    return 0;
}

/* ---- CURVE ---- */

/* Reads the certificate at path (named what in messages, e.g. "--key
   FILE" is the caller's; here "the client's certificate") into *cert.
   A file that plainly is no certificate is refused before czmq parses it:
   zconfig logs its syntax errors on czmq's log stream. Returns 0, or
   RAFTLOG_ERR_INVALID with self->error. */
static int s_load_cert(raftlog_t *self, const char *path, const char *what,
                       bool need_secret, zcert_t **cert)
{
    *cert = NULL;
    FILE *file = fopen(path, "re");
    if (!file)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID, "%s %s: %s", what,
                              path, strerror(errno));
    char text[8192];
    size_t length = fread(text, 1, sizeof(text) - 1, file);
    bool whole = feof(file) && !ferror(file);
    int error = ferror(file) ? errno : 0;
    fclose(file);
    text[length] = '\0';
    if (error)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID, "%s %s: %s", what,
                              path, strerror(error));
    bool looks_right = whole && strlen(text) == length &&
                       strstr(text, "curve") && strstr(text, "public-key");
    bool has_secret = looks_right && strstr(text, "secret-key");
    memset(text, 0, sizeof(text)); /* it may hold a secret key */
    /* zcert_load would read PATH_secret instead when there is one; the
       file named is the one meant. */
    zconfig_t *root = looks_right ? zconfig_load(path) : NULL;
    const char *public_text =
        root ? zconfig_get(root, "curve/public-key", NULL) : NULL;
    const char *secret_text =
        root ? zconfig_get(root, "curve/secret-key", NULL) : NULL;
    uint8_t public_key[32], secret_key[32] = {0};
    static const uint8_t zero[32];
    int rc = 0;
    if (!public_text || strlen(public_text) != 40 ||
        !zmq_z85_decode(public_key, public_text))
        rc = rl_client_fail(self, RAFTLOG_ERR_INVALID,
                            "%s %s is not a CURVE certificate (czmq's zcert "
                            "format, as `raftlog keygen` writes it)",
                            what, path);
    else if (need_secret &&
             (!has_secret || !secret_text || strlen(secret_text) != 40 ||
              !zmq_z85_decode(secret_key, secret_text) ||
              memcmp(secret_key, zero, sizeof(zero)) == 0))
        rc = rl_client_fail(self, RAFTLOG_ERR_INVALID,
                            "%s %s holds no secret key: give the NAME_secret "
                            "file that `raftlog keygen NAME` wrote",
                            what, path);
    else if (!(*cert = zcert_new_from(public_key, secret_key)))
        rc = rl_client_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
    zconfig_t *secret_item =
        root ? zconfig_locate(root, "curve/secret-key") : NULL;
    if (secret_item && zconfig_value(secret_item))
        memset(zconfig_value(secret_item), 0,
               strlen(zconfig_value(secret_item)));
    zconfig_destroy(&root);
    memset(secret_key, 0, sizeof(secret_key));
    return rc;
}

/* Loads both files into self->curve. Returns 0 or an error code. */
static int s_set_curve(raftlog_t *self, const char *key_file,
                       const char *server_key_file)
{
    if (!key_file || !server_key_file || !*key_file || !*server_key_file)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "CURVE needs two files: the client's "
                              "certificate (its _secret file) and the "
                              "server's public certificate");
    if (!zsys_has_curve())
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "this libzmq has no CURVE (it was built "
                              "without libsodium): a client with keys "
                              "needs one that has");
    zcert_t *cert, *server;
    int rc =
        s_load_cert(self, key_file, "the client's certificate", true, &cert);
    if (rc)
        return rc;
    rc = s_load_cert(self, server_key_file, "the server's certificate", false,
                     &server);
    if (rc) {
        zcert_destroy(&cert);
        return rc;
    }
    self->curve.cert = cert;
    snprintf(self->curve.server_key, sizeof(self->curve.server_key), "%s",
             zcert_public_txt(server));
    zcert_destroy(&server);
    snprintf(self->curve.key_file, sizeof(self->curve.key_file), "%s",
             key_file);
    snprintf(self->curve.server_key_file, sizeof(self->curve.server_key_file),
             "%s", server_key_file);
    return 0;
}

/* Keys that could not be set leave the client refusing every request
   (with why) until they are: never a silent fall back to no security. */
static int s_curve_failed(raftlog_t *self, int rc)
{
    self->curve_failed = true;
    snprintf(self->curve_why, sizeof(self->curve_why), "%s", self->error);
    return rc;
}

int raftlog_set_curve(raftlog_t *self, const char *key_file,
                      const char *server_key_file)
{
    assert(self);
    rl_link_close(&self->link); /* its connection used the old keys */
    zcert_destroy(&self->curve.cert);
    self->curve_set = true;
    self->curve_failed = false;
    if (!key_file && !server_key_file)
        return 0;
    int rc = s_set_curve(self, key_file, server_key_file);
    if (rc)
        return s_curve_failed(self, rc);
    self->error[0] = '\0';
    return 0;
}

int rl_client_secure(raftlog_t *self)
{
    if (!self->curve_set) {
        self->curve_set = true;
        const char *key = getenv(RAFTLOG_KEY_ENV);
        const char *server_key = getenv(RAFTLOG_SERVER_KEY_ENV);
        key = key && *key ? key : NULL;
        server_key = server_key && *server_key ? server_key : NULL;
        if (!key != !server_key)
            return s_curve_failed(
                self, rl_client_fail(
                          self, RAFTLOG_ERR_INVALID,
                          "$%s is set and $%s is not: a client with a key "
                          "needs both (its own certificate and the server's "
                          "public one)",
                          key ? RAFTLOG_KEY_ENV : RAFTLOG_SERVER_KEY_ENV,
                          key ? RAFTLOG_SERVER_KEY_ENV : RAFTLOG_KEY_ENV));
        int rc = key ? s_set_curve(self, key, server_key) : 0;
        if (rc) {
            char message[sizeof(self->error)];
            snprintf(message, sizeof(message), "%s", self->error);
            return s_curve_failed(
                self,
                rl_client_fail(self, rc, "%.900s (from $%s and $%s)", message,
                               RAFTLOG_KEY_ENV, RAFTLOG_SERVER_KEY_ENV));
        }
    }
    if (self->curve_failed)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID, "%s", self->curve_why);
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

void raftlog_set_progress(raftlog_t *self, raftlog_progress_fn *progress,
                          void *arg)
{
    assert(self);
    self->progress = progress;
    self->progress_arg = arg;
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

/* ---- The Lazy Pirate loop ---- */

static int s_sleep(raftlog_t *self, int ms)
{
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
    if (nanosleep(&pause, NULL) != 0 && errno == EINTR)
        return rl_client_fail(self, RAFTLOG_ERR_INTERRUPTED,
                              "interrupted by a signal");
    return 0;
}

int rl_client_encode(raftlog_t *self, rl_msg_t *msg, rl_buf_t *buf,
                     uint64_t *request_id)
{
    self->unknown = false;
    msg->id = ++self->request_id;
    *request_id = msg->id;
    rl_buf_reset(buf);
    char err[RL_CODEC_ERROR_SIZE] = "";
    int rc = rl_codec_encode(msg, buf, err);
    if (rc == RL_ERR_INTERNAL)
        return rl_client_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
    if (rc != 0)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID, "%s", err);
    if (buf->size > RL_MAX_MESSAGE_SIZE)
        return rl_client_fail(self, RAFTLOG_ERR_TOO_LARGE,
                              "the request is %zu bytes, over the limit of "
                              "%u; send smaller batches",
                              buf->size, RL_MAX_MESSAGE_SIZE);
    return 0;
}

static void s_next_endpoint(raftlog_t *self)
{
    rl_link_close(&self->link);
    self->current = (self->current + 1) % self->endpoint_count;
}

/* What to check after a failure of this kind; "" when the message says it
   all. */
static const char *s_hint(const rl_attempt_t *attempt)
{
    if (attempt->result == RL_ATTEMPT_NO_CONNECTION)
        return " (is a node running there, and reachable from here?)";
    if (attempt->result == RL_ATTEMPT_NO_REPLY)
        return " (is that the client endpoint of a node or broker, not a "
               "node's peer endpoint? is the node paused or overloaded?)";
    if (attempt->result != RL_ATTEMPT_ANSWERED)
        return "";
    const rl_msg_t *reply = &attempt->reply;
    if (reply->type == RL_MSG_NOT_LEADER ||
        (reply->type == RL_MSG_ERROR &&
         reply->body.error.code == RL_ERR_NO_LEADER))
        return " (a majority of the voting members must be running and "
               "connected to elect a leader)";
    if (reply->type == RL_MSG_ERROR && reply->body.error.code == RL_ERR_TIMEOUT)
        return " (a majority of the voting members must be running and "
               "connected to commit)";
    return "";
}

/* The reply in self->last is not the one expected: says why in why, and
   in *move whether to try another node; notes whether the request may
   have taken effect. Returns 0 to go on, or the code of a definite error
   to return. */
static int s_judge(raftlog_t *self, uint8_t expect, char *why, size_t why_size,
                   bool *move)
{
    const rl_msg_t *reply = &self->last.reply;
    const char *endpoint = self->last.endpoint;
    *move = true;
    if (reply->type == RL_MSG_NOT_LEADER) {
        /* A node that is not the leader did not take the request. */
        snprintf(why, why_size,
                 "%s is not the leader and knows no leader yet (an election "
                 "may be under way)",
                 endpoint);
        return 0;
    }
    if (reply->type != RL_MSG_ERROR) {
        self->unknown = true;
        snprintf(why, why_size, "%s answered %s to a request for %s", endpoint,
                 rl_msg_type_name(reply->type), rl_msg_type_name(expect));
        return 0;
    }
    const rl_error_reply_t *e = &reply->body.error;
    snprintf(why, why_size, "%s (%s): %.*s", endpoint, rl_error_name(e->code),
             (int)e->message.size, e->message.ptr ? e->message.ptr : "");
    switch (e->code) {
    case RL_ERR_BUSY: /* refused before anything was done */
        *move = false;
        return 0;
    case RL_ERR_TIMEOUT:
    case RL_ERR_NO_LEADER: /* a broker may have had an uncertain attempt */
        self->unknown = true;
        *move = false; /* the same node, after a pause */
        return 0;
    case RL_ERR_SHUTTING_DOWN:
    case RL_ERR_NO_SPACE:
    case RL_ERR_INTERNAL:
        self->unknown = true; /* a pending request may be answered so */
        return 0;             /* another node */
    default:
        return rl_client_fail(self, e->code, "%s: %.*s", rl_error_name(e->code),
                              (int)e->message.size,
                              e->message.ptr ? e->message.ptr : "");
    }
}

/* The message of a call that gave up after attempts attempts: the last
   failure, and when that was only a refused or missing connection, the
   last one from a node that was reached, which tells more (no leader, no
   quorum, no reply). */
static int s_give_up(raftlog_t *self, int attempts, bool all_refused,
                     const char *why, const char *hint, const char *reached)
{
    int code = RAFTLOG_ERR_UNAVAILABLE;
    const rl_msg_t *reply = &self->last.reply;
    if (self->last.result == RL_ATTEMPT_ANSWERED &&
        reply->type == RL_MSG_ERROR && reply->body.error.code)
        code = reply->body.error.code;
    if (!all_refused && *reached && strncmp(reached, why, strlen(why)) != 0)
        return rl_client_fail(self, code,
                              "gave up after %d attempts; last: %s; before "
                              "that: %s",
                              attempts, why, reached);
    if (!all_refused)
        return rl_client_fail(self, code,
                              "gave up after %d attempts; last: %s%s", attempts,
                              why, hint);
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < self->endpoint_count && used < sizeof(list); i++)
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                                 i == 0                          ? ""
                                 : i + 1 == self->endpoint_count ? " or "
                                                                 : ", ",
                                 self->endpoints[i]);
    return rl_client_fail(self, code,
                          "gave up after %d attempts: nothing listens at %s "
                          "(connection refused); is the cluster running, and "
                          "are these the client endpoints of its nodes or of "
                          "its broker?",
                          attempts, list);
}

/* Whether mask has the bit of every endpoint. */
static bool s_every_endpoint(const raftlog_t *self, uint64_t mask)
{
    for (size_t i = 0; i < self->endpoint_count; i++)
        if (!(mask & ((uint64_t)1 << i)))
            return false;
    return true;
}

int rl_client_call(raftlog_t *self, const rl_buf_t *request,
                   uint64_t request_id, uint8_t expect, uint32_t extra_wait_ms)
{
    if (self->endpoint_count == 0) {
        int rc = raftlog_connect(self, NULL);
        if (rc)
            return rc;
    }
    int secure = rl_client_secure(self);
    if (secure)
        return secure;
    char why[768] = "";
    const char *hint = "";
    char reached[768] = ""; /* the last failure at a node that was reached */
    int pause = S_PAUSE_FIRST;
    int64_t timeout = (int64_t)self->timeout_ms + extra_wait_ms;
    if (timeout > INT32_MAX)
        timeout = INT32_MAX;
    int failed = 0;          /* attempts that failed */
    int redirects = 0;       /* redirects followed since the last failure */
    bool all_refused = true; /* every failed attempt was refused */
    /* Endpoints that refused the connection or our key since the last
       answer, and the last refusal of our key: once every endpoint has
       turned us away and one of them for our key, the call fails at once
       with RAFTLOG_ERR_AUTH, as no retry will change a key. */
    uint64_t turned_away = 0;
    char key_refused[512] = "";
    rl_attempt_t *a = &self->last;
    for (;;) {
        a->link = &self->link;
        a->curve = &self->curve;
        a->endpoint = self->endpoints[self->current];
        a->request = request;
        a->request_id = request_id;
        a->reply_timeout_ms = (int)timeout;
        int rc = rl_attempts_run(a, 1, self->connect_timeout_ms);
        if (a->sent && a->result != RL_ATTEMPT_ANSWERED)
            self->unknown = true;
        if (rc == RAFTLOG_ERR_INTERRUPTED)
            return rl_client_fail(self, rc, "interrupted by a signal");
        bool move = true;
        if (a->result == RL_ATTEMPT_ANSWERED) {
            self->ever_answered = true;
            turned_away = 0;
            key_refused[0] = '\0';
            const rl_msg_t *reply = &a->reply;
            if (reply->type == expect) {
                snprintf(self->answered, sizeof(self->answered), "%s",
                         a->endpoint);
                self->error[0] = '\0';
                self->unknown = false;
                return 0;
            }
            const rl_not_leader_t *nl = &reply->body.not_leader;
            int at = reply->type == RL_MSG_NOT_LEADER && nl->leader_addr.size
                         ? s_add_endpoint(self, nl->leader_addr.ptr,
                                          nl->leader_addr.size)
                         : -1;
            if (at >= 0 && (size_t)at != self->current &&
                redirects < S_MAX_REDIRECTS) {
                /* Straight to the leader: not a retry, no pause. */
                rl_link_close(&self->link);
                self->current = (size_t)at;
                redirects++;
                continue;
            }
            if ((rc = s_judge(self, expect, why, sizeof(why), &move)))
                return rc;
            if (at >= 0)
                snprintf(why, sizeof(why),
                         "%s redirects to %s, after %d redirects in a row "
                         "that found no leader",
                         a->endpoint, self->endpoints[at], redirects);
        } else {
            snprintf(why, sizeof(why), "%s", a->why);
        }
        hint = s_hint(a);
        bool refused = a->result == RL_ATTEMPT_REFUSED;
        /* A handshake that failed without saying why is final too until a
           first answer (a wrong server key); after one it may as well be
           a node dying during the handshake, and is retried. */
        bool key = a->result == RL_ATTEMPT_AUTH ||
                   (a->result == RL_ATTEMPT_HANDSHAKE && !self->ever_answered);
        if (!refused && a->result != RL_ATTEMPT_NO_CONNECTION)
            snprintf(reached, sizeof(reached), "%s%s", why, hint);
        all_refused = all_refused && refused;
        if (refused || key)
            turned_away |= (uint64_t)1 << self->current;
        if (key)
            snprintf(key_refused, sizeof(key_refused), "%s", a->why);
        if (*key_refused && s_every_endpoint(self, turned_away))
            return rl_client_fail(self, RAFTLOG_ERR_AUTH, "%s", key_refused);
        failed++;
        redirects = 0;
        if (failed > self->retries)
            break;
        if (move)
            s_next_endpoint(self);
        /* Nothing listens, and nothing ever answered this client: a
           wrong endpoint or a cluster that is not running. Try the others
           at once, so that the call fails fast. A server that refused our
           key: the others may not (one whose --keys directory is behind),
           so ask them, at once too. */
        if ((refused && !self->ever_answered) || key)
            continue;
        if (self->progress) {
            char message[1024];
            snprintf(message, sizeof(message),
                     "%s; retrying (%d/%d) on %s in %d ms", why, failed,
                     self->retries, self->endpoints[self->current], pause);
            self->progress(self->progress_arg, message, failed, self->retries);
        }
        rc = s_sleep(self, pause);
        if (rc)
            return rc;
        pause = pause * 2 > S_PAUSE_MAX ? S_PAUSE_MAX : pause * 2;
    }
    if (*key_refused)
        return rl_client_fail(self, RAFTLOG_ERR_AUTH, "%s", key_refused);
    return s_give_up(self, failed, all_refused, why, hint, reached);
}

/* ---- Appends ---- */

static int s_send_append(raftlog_t *self, uint64_t *first, uint64_t *last,
                         bool *duplicate)
{
    int rc = rl_client_call(self, &self->append, self->append_id,
                            RL_MSG_APPEND_OK, 0);
    if (rc)
        return rc;
    const rl_append_ok_t *ok = &self->last.reply.body.append_ok;
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
    self->unknown = false;
    if (count == 0 || count > RL_MAX_BATCH_ENTRIES)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "a batch holds 1 to %u entries, not %zu",
                              RL_MAX_BATCH_ENTRIES, count);
    for (size_t i = 0; i < count; i++)
        if (entries[i].size > RL_MAX_ENTRY_SIZE)
            return rl_client_fail(
                self, RAFTLOG_ERR_TOO_LARGE,
                "entry %zu is %zu bytes, over the limit of %u "
                "bytes",
                i + 1, entries[i].size, RL_MAX_ENTRY_SIZE);
    rl_str_t *strings = calloc(count, sizeof(rl_str_t));
    if (!strings)
        return rl_client_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
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
    int rc = rl_client_encode(self, &msg, &self->append, &self->append_id);
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
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "no batch to send again");
    return s_send_append(self, first, last, duplicate);
}

/* ---- Reads ---- */

bool rl_client_consumer_name_valid(const char *name)
{
    size_t length = name ? strlen(name) : 0;
    if (length == 0 || length > RAFTLOG_MAX_CONSUMER_NAME)
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == length;
}

int rl_client_consumer_name_check(raftlog_t *self, const char *name)
{
    if (rl_client_consumer_name_valid(name))
        return 0;
    return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                          "'%.80s' is not a consumer name: 1 to %d "
                          "characters of a-z, 0-9, '.', '_' and '-'",
                          name ? name : "", RAFTLOG_MAX_CONSUMER_NAME);
}

/* A READ from exactly one of req's starts (from, from_time, consumer). */
static int s_read(raftlog_t *self, const rl_read_request_t *req,
                  const raftlog_entry_t **entries, size_t *count,
                  uint64_t *next)
{
    *entries = NULL;
    *count = 0;
    self->unknown = false;
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_READ_REQUEST);
    msg.body.read_request = *req;
    uint64_t id;
    int rc = rl_client_encode(self, &msg, &self->request, &id);
    if (!rc)
        rc = rl_client_call(self, &self->request, id, RL_MSG_READ_OK,
                            req->wait_ms);
    if (rc == RAFTLOG_ERR_OUT_OF_RANGE)
        *next = self->last.reply.body.error.first;
    if (rc)
        return rc;
    const rl_read_ok_t *ok = &self->last.reply.body.read_ok;
    if (ok->entry_count > self->entry_capacity) {
        raftlog_entry_t *grown =
            realloc(self->entries, ok->entry_count * sizeof(raftlog_entry_t));
        if (!grown)
            return rl_client_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
        self->entries = grown;
        self->entry_capacity = ok->entry_count;
    }
    /* Entries of a READ from an index start there; from a time or a
       consumer, anywhere after 0. */
    uint64_t previous = req->from ? req->from - 1 : 0;
    uint64_t time = 0;
    for (size_t i = 0; i < ok->entry_count; i++) {
        const rl_entry_t *e = &ok->entries[i];
        if (e->index <= previous || e->index >= ok->next)
            return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                                  "%s sent entries out of order (index %" PRIu64
                                  " after %" PRIu64 ", next %" PRIu64 ")",
                                  self->answered, e->index, previous, ok->next);
        if (e->time && e->time < time)
            return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                                  "%s sent entry %" PRIu64 " stamped %" PRIu64
                                  ", before the entry before it (%" PRIu64 ")",
                                  self->answered, e->index, e->time, time);
        if (req->from_time && e->time && e->time < req->from_time)
            return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                                  "%s sent entry %" PRIu64 " stamped %" PRIu64
                                  " for a read from time %" PRIu64,
                                  self->answered, e->index, e->time,
                                  req->from_time);
        previous = e->index;
        time = e->time ? e->time : time;
        self->entries[i].index = e->index;
        self->entries[i].data = e->data;
        self->entries[i].size = e->size;
        self->entries[i].time = e->time;
    }
    if (req->from && ok->next < req->from)
        return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                              "%s sent next %" PRIu64
                              " for a read from %" PRIu64,
                              self->answered, ok->next, req->from);
    *entries = self->entries;
    *count = ok->entry_count;
    *next = ok->next;
    return 0;
}

int raftlog_read(raftlog_t *self, uint64_t from, uint32_t max_entries,
                 uint32_t wait_ms, const raftlog_entry_t **entries,
                 size_t *count, uint64_t *next)
{
    assert(self && entries && count && next);
    *entries = NULL;
    *count = 0;
    if (from == 0)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID, "indexes start at 1");
    rl_read_request_t req = {
        .from = from, .max_entries = max_entries, .wait_ms = wait_ms};
    return s_read(self, &req, entries, count, next);
}

int raftlog_read_from_time(raftlog_t *self, uint64_t time_ms,
                           uint32_t max_entries, uint32_t wait_ms,
                           const raftlog_entry_t **entries, size_t *count,
                           uint64_t *next)
{
    assert(self && entries && count && next);
    *entries = NULL;
    *count = 0;
    if (time_ms == 0)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "a time is 1 ms or more since the Unix epoch");
    rl_read_request_t req = {
        .from_time = time_ms, .max_entries = max_entries, .wait_ms = wait_ms};
    return s_read(self, &req, entries, count, next);
}

int raftlog_read_consumer(raftlog_t *self, const char *name,
                          uint32_t max_entries, uint32_t wait_ms,
                          const raftlog_entry_t **entries, size_t *count,
                          uint64_t *next)
{
    assert(self && entries && count && next);
    *entries = NULL;
    *count = 0;
    int rc = rl_client_consumer_name_check(self, name);
    if (rc)
        return rc;
    rl_read_request_t req = {.consumer = rl_str(name),
                             .max_entries = max_entries,
                             .wait_ms = wait_ms};
    return s_read(self, &req, entries, count, next);
}

/* ---- Members, transfer ---- */

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
    int rc = rl_client_encode(self, &msg, &self->request, &id);
    if (!rc)
        rc = rl_client_call(self, &self->request, id, RL_MSG_MEMBERS_OK, 0);
    if (rc)
        return rc;
    const rl_members_ok_t *ok = &self->last.reply.body.members_ok;
    if (count)
        *count = 0;
    for (size_t i = 0;
         members && count && i < ok->member_count && i < RAFTLOG_MAX_MEMBERS;
         i++) {
        rl_client_member(&members[i], &ok->members[i]);
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
        return rl_client_fail(
            self, RAFTLOG_ERR_INVALID,
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
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "member ids start at 1");
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
    int rc = rl_client_encode(self, &msg, &self->request, &id);
    if (!rc)
        rc = rl_client_call(self, &self->request, id, RL_MSG_TRANSFER_OK, 0);
    if (!rc && leader)
        *leader = self->last.reply.body.transfer_ok.leader;
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

raftlog_tail_t *raftlog_tail_new_at_time(raftlog_t *client, uint64_t time_ms)
{
    assert(client && time_ms > 0);
    raftlog_tail_t *self = raftlog_tail_new(client, 1);
    if (self)
        self->from_time = time_ms;
    return self;
}

raftlog_tail_t *raftlog_tail_new_consumer(raftlog_t *client, const char *name)
{
    assert(client);
    if (!rl_client_consumer_name_valid(name))
        return NULL;
    raftlog_tail_t *self = raftlog_tail_new(client, 1);
    if (self)
        snprintf(self->consumer, sizeof(self->consumer), "%s", name);
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
    /* Not started yet at a time or after a consumer: no index yet. */
    if (self->from_time || self->consumer[0])
        return 0;
    return self->position < self->count ? self->batch[self->position].index
                                        : self->next;
}

uint64_t raftlog_tail_commit(const raftlog_tail_t *self)
{
    return self->commit;
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
            return rl_client_fail(client, RAFTLOG_ERR_NO_MEMORY,
                                  "out of memory");
        int rc = raftlog_status(client, NULL, status);
        if (!rc)
            self->commit = status->commit;
        free(status);
        if (rc)
            return rc;
        self->next = self->commit + 1;
    }
    while (self->position == self->count) {
        self->batch = NULL;
        self->count = self->position = 0;
        uint64_t next = 0;
        int rc;
        if (self->consumer[0])
            rc = raftlog_read_consumer(client, self->consumer, 0, wait_ms,
                                       &self->batch, &self->count, &next);
        else if (self->from_time)
            rc = raftlog_read_from_time(client, self->from_time, 0, wait_ms,
                                        &self->batch, &self->count, &next);
        else
            rc = raftlog_read(client, self->next, 0, wait_ms, &self->batch,
                              &self->count, &next);
        if (rc == RAFTLOG_ERR_OUT_OF_RANGE && self->from_start &&
            next > self->next) {
            self->next = next;
            continue;
        }
        if (rc)
            return rc;
        /* A consumer's start is resolved by any answer; a time's only by
           one with entries (before, next says nothing: PROTOCOL.md). */
        self->consumer[0] = '\0';
        if (self->count)
            self->from_time = 0;
        self->next = next;
        self->commit = client->last.reply.body.read_ok.commit;
        /* An empty answer is the end only when the node has nothing more
           committed; otherwise it skipped Raft's own entries: read on. */
        if (self->count == 0 && (next > self->commit || self->from_time))
            return 0;
    }
    *entry = &self->batch[self->position++];
    return 0;
}

/*  raftlog_call.c - the Lazy Pirate loop every request of libraftlog goes
    through (rl_client_call), and the encoding of requests.

    One REQ socket at a time, to the "current" endpoint: send, wait for the
    reply with a deadline, and when none comes close the socket (a REQ
    socket that missed its reply is stuck), move to the next endpoint,
    pause, and send the very same bytes again (the ZeroMQ guide, chapter
    4). Because the bytes are the same, an APPEND_REQUEST keeps its
    producer and seq across every retry, which is what makes it idempotent
    (PROTOCOL.md section 6). NOT_LEADER redirects are followed without a
    pause. One attempt (connect, send, wait) is raftlog_link.c's job.
*/
#include "raftlog_internal.h"

#include "rl_peek.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define S_PAUSE_FIRST   50   /* ms before the first retry */
#define S_PAUSE_MAX     1000 /* ms, the longest pause between retries */
#define S_MAX_REDIRECTS 4    /* redirects in a row that are not a retry */

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
    /* The log it concerns; membership and the catalog are the cluster's
       (a LOGS_REQUEST names its log in `name`, and goes to the catalog's
       leader, `default`'s, whatever the client's log). */
    if (msg->type != RL_MSG_MEMBERS_REQUEST && msg->type != RL_MSG_LOGS_REQUEST)
        msg->log = rl_str(self->log);
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
    case RL_ERR_NOT_FOUND:
        if (e->message.size == 0)
            return rl_client_fail(self, e->code,
                                  "NOT_FOUND: %s knows no log or consumer of "
                                  "the name given (log '%s'): see `raftlog "
                                  "logs list`",
                                  endpoint, raftlog_log_name(self));
        /* The node's message says which. */
        /* fall through */
    default:
        return rl_client_fail(self, e->code, "%s: %.*s", rl_error_name(e->code),
                              (int)e->message.size,
                              e->message.ptr ? e->message.ptr : "");
    }
}

/* Whether the NOT_LEADER in self->last is about the log request names
   (the `log` it echoes, which the codec has read; a node of before named
   logs echoes none); when not, says so in why. */
static bool s_same_log(raftlog_t *self, const rl_buf_t *request, char *why,
                       size_t why_size)
{
    const rl_attempt_t *a = &self->last;
    rl_str_t echoed = a->reply.log;
    if (echoed.size == 0)
        return true;
    /* The log the request names, read back from its bytes (a retried
       append's may predate the client's log of now). */
    rl_peek_request_t sent;
    rl_str_t want = rl_str(RAFTLOG_DEFAULT_LOG);
    if (rl_peek_request(request->data, request->size, &sent, NULL) == 0 &&
        sent.log.size)
        want = sent.log;
    if (echoed.size == want.size &&
        memcmp(echoed.ptr, want.ptr, want.size) == 0)
        return true;
    snprintf(why, why_size,
             "%s answered NOT_LEADER about log '%.*s' to a request about log "
             "'%.*s'",
             a->endpoint, (int)echoed.size, echoed.ptr, (int)want.size,
             want.ptr);
    return false;
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
        bool confused = false;
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
            /* A NOT_LEADER about another log than ours comes from a
               confused node: no redirect to follow, and it did not take
               the request; another node is asked, after a pause. */
            confused = reply->type == RL_MSG_NOT_LEADER &&
                       !s_same_log(self, request, why, sizeof(why));
            const rl_not_leader_t *nl = &reply->body.not_leader;
            int at = !confused && reply->type == RL_MSG_NOT_LEADER &&
                             nl->leader_addr.size
                         ? rl_client_add_endpoint(self, nl->leader_addr.ptr,
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
            if (!confused &&
                (rc = s_judge(self, expect, why, sizeof(why), &move)))
                return rc;
            if (at >= 0)
                snprintf(why, sizeof(why),
                         "%s redirects to %s, after %d redirects in a row "
                         "that found no leader",
                         a->endpoint, self->endpoints[at], redirects);
        } else {
            snprintf(why, sizeof(why), "%s", a->why);
        }
        hint = confused ? "" : s_hint(a);
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

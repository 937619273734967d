/*  raftlog_link.c - libraftlog's attempts: one request to one endpoint,
    or to several at once, each over its own REQ socket.

    A socket is opened with ZMQ_IMMEDIATE, so it becomes writable only once
    a connection to a live peer exists: the request is never queued for an
    endpoint nobody listens at. A socket monitor (zmq_socket_monitor)
    reports the connection's events as they happen: a refused connection
    (ZMQ_EVENT_CONNECT_RETRIED) ends the attempt at once instead of after
    the connect timeout, and a connection lost while waiting for the reply
    (the node died) ends it within a moment rather than after the reply
    timeout. Everything else is bounded by the two timeouts. Several
    attempts share one zmq_poll loop, so asking every member of a cluster
    takes as long as the slowest one, not the sum.

    With CURVE keys (raftlog_set_curve) each socket gets them before it
    connects. The monitor also reports a failed handshake: a server that
    refused our key (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), one that does not
    speak CURVE while we do or the other way round (a mechanism mismatch),
    or a handshake that failed otherwise (a wrong server key). Each ends
    the attempt at once as RL_ATTEMPT_AUTH, with a message saying which.
*/
#include "raftlog_internal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/* What an attempt is waiting for. */
enum { S_CONNECTING, S_WAITING, S_DONE };

/* A reply may still be on its way when the lost connection is reported:
   how long to wait for it then. */
#define S_GRACE_MS 100

#define S_EVENTS                                                               \
    (ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |                      \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                                    \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

void rl_link_close(rl_link_t *link)
{
    /* Stop the monitor before its reader goes: libzmq's I/O thread sends
       it events with a blocking send, and one sent after the reader is
       gone blocks that thread, and every connection of the process, for
       good (libzmq issue 3575). Stopping is synchronous. */
    if (link->monitor && link->socket)
        zmq_socket_monitor(zsock_resolve(link->socket), NULL, 0);
    zsock_destroy(&link->monitor);
    zsock_destroy(&link->socket);
}

void rl_attempt_release(rl_attempt_t *attempt)
{
    rl_msg_close(&attempt->reply);
    if (attempt->frame_open) {
        zmq_msg_close(&attempt->frame);
        attempt->frame_open = false;
    }
}

/* Opens link to endpoint, with a monitor when one can be had. Returns 0,
   or -1 with why filled. */
static int s_open(rl_link_t *link, const char *endpoint,
                  const rl_curve_t *curve, char *why, size_t why_size)
{
    link->socket = zsock_new(ZMQ_REQ);
    if (!link->socket) {
        snprintf(why, why_size, "cannot make a ZeroMQ socket");
        return -1;
    }
    zsock_set_linger(link->socket, 0);
    zsock_set_immediate(link->socket, 1);
    /* Security options apply to connections made after them. */
    if (curve && curve->cert) {
        zcert_apply(curve->cert, link->socket);
        zsock_set_curve_serverkey(link->socket, curve->server_key);
    }
    /* The monitor's inproc name must be unique in the process; a random
       part keeps it so without any global state. */
    uint64_t unique = 0;
    if (getrandom(&unique, sizeof(unique), GRND_NONBLOCK) < 0)
        unique = (uint64_t)zclock_usecs();
    char name[96];
    snprintf(name, sizeof(name), "inproc://raftlog-monitor-%p-%016" PRIx64,
             (void *)link, unique);
    if (zmq_socket_monitor(zsock_resolve(link->socket), name, S_EVENTS) == 0) {
        link->monitor = zsock_new(ZMQ_PAIR);
        if (link->monitor && zsock_connect(link->monitor, "%s", name) != 0)
            zsock_destroy(&link->monitor);
        if (!link->monitor)
            zmq_socket_monitor(zsock_resolve(link->socket), NULL, 0);
    }
    if (zsock_connect(link->socket, "%s", endpoint) != 0) {
        snprintf(why, why_size, "cannot connect to %s: %s", endpoint,
                 zmq_strerror(zmq_errno()));
        rl_link_close(link);
        return -1;
    }
    return 0;
}

/* Reads one event off a monitor: its number, or 0 when none could be
   read; *value (may be NULL) gets its value (for a failed handshake, the
   ZMQ_PROTOCOL_ERROR_... or the ZAP status code). */
static unsigned s_event(zsock_t *monitor, uint32_t *value)
{
    zmq_msg_t part;
    zmq_msg_init(&part);
    unsigned event = 0;
    void *handle = zsock_resolve(monitor);
    if (zmq_msg_recv(&part, handle, ZMQ_DONTWAIT) >= 6) {
        uint16_t number;
        memcpy(&number, zmq_msg_data(&part), sizeof(number));
        event = number;
        if (value)
            memcpy(value, (const uint8_t *)zmq_msg_data(&part) + 2,
                   sizeof(*value));
    }
    /* The second part names the endpoint; drop it. */
    while (zmq_msg_more(&part) &&
           zmq_msg_recv(&part, handle, ZMQ_DONTWAIT) >= 0) {
    }
    zmq_msg_close(&part);
    return event;
}

static void s_end(rl_attempt_t *a, rl_attempt_result_t result, int64_t started)
{
    a->result = result;
    a->state = S_DONE;
    a->took_ms = (double)(zclock_usecs() - started) / 1000.0;
    if (result != RL_ATTEMPT_ANSWERED) {
        rl_attempt_release(a);
        rl_link_close(a->link);
    }
}

/* The reply is waiting on the socket: take it and check it answers this
   request. */
static void s_receive(rl_attempt_t *a, int64_t started)
{
    zmq_msg_init(&a->frame);
    a->frame_open = true;
    if (zmq_msg_recv(&a->frame, zsock_resolve(a->link->socket), ZMQ_DONTWAIT) <
        0) {
        snprintf(a->why, sizeof(a->why), "%s: %s", a->endpoint,
                 zmq_strerror(zmq_errno()));
        s_end(a, RL_ATTEMPT_NO_REPLY, started);
        return;
    }
    char err[RL_CODEC_ERROR_SIZE];
    if (zmq_msg_more(&a->frame) ||
        rl_codec_decode(zmq_msg_data(&a->frame), zmq_msg_size(&a->frame),
                        &a->reply, err) != 0) {
        snprintf(a->why, sizeof(a->why),
                 "%s sent a reply that is not valid: %s", a->endpoint,
                 zmq_msg_more(&a->frame) ? "several frames" : err);
        s_end(a, RL_ATTEMPT_NO_REPLY, started);
        return;
    }
    if (a->reply.id != a->request_id) {
        snprintf(a->why, sizeof(a->why),
                 "%s answered request %" PRIu64 " instead of %" PRIu64,
                 a->endpoint, a->reply.id, a->request_id);
        s_end(a, RL_ATTEMPT_NO_REPLY, started);
        return;
    }
    s_end(a, RL_ATTEMPT_ANSWERED, started);
}

/* A failed handshake: says why in a->why and ends the attempt. A refused
   key or CURVE on one side only ends it as RL_ATTEMPT_AUTH: trying again
   will not help. Any other failure (libzmq gives no detail) ends it as
   RL_ATTEMPT_HANDSHAKE: with CURVE it is mostly a wrong server key, but a
   server that closes the connection during the handshake (a mechanism
   mismatch seen first by the server, a server dying) looks the same, so
   the caller decides (rl_client_call: final until the first answer). */
static void s_on_handshake_failed(rl_attempt_t *a, unsigned event,
                                  uint32_t value, int64_t started)
{
    bool secured = a->curve && a->curve->cert;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && secured) {
        snprintf(a->why, sizeof(a->why),
                 "the server at %s refused our key (%s, from %s): it is not "
                 "in the server's --keys directory, or was removed; ask an "
                 "operator to put our public certificate there",
                 a->endpoint, zcert_public_txt(a->curve->cert),
                 a->curve->key_file);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        snprintf(a->why, sizeof(a->why),
                 "the server at %s refused us (ZAP status %u): it wants a "
                 "key this client does not have",
                 a->endpoint, value);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
               value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH && secured) {
        snprintf(a->why, sizeof(a->why),
                 "%s does not use CURVE, and this client does (its key is "
                 "from %s): is that the right endpoint, and was its server "
                 "started with keys?",
                 a->endpoint, a->curve->key_file);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
               value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        snprintf(a->why, sizeof(a->why),
                 "%s requires CURVE, and this client has no key: give it the "
                 "client's certificate and the server's public certificate "
                 "(--key and --server-key, $" RAFTLOG_KEY_ENV
                 " and $" RAFTLOG_SERVER_KEY_ENV ", or raftlog_set_curve)",
                 a->endpoint);
    } else if (secured) {
        /* Mostly a wrong server key; also a server without CURVE that
           closed the connection before its greeting was read. */
        snprintf(a->why, sizeof(a->why),
                 "CURVE handshake with %s failed: is the server key (%s) "
                 "that server's public certificate, and does it use CURVE?",
                 a->endpoint, a->curve->server_key_file);
        s_end(a, RL_ATTEMPT_HANDSHAKE, started);
        return;
    } else {
        snprintf(a->why, sizeof(a->why),
                 "%s accepts connections but the ZeroMQ handshake failed: "
                 "is it a raftlog node or broker, and does it require CURVE "
                 "(then give this client keys)?",
                 a->endpoint);
        s_end(a, RL_ATTEMPT_HANDSHAKE, started);
        return;
    }
    s_end(a, RL_ATTEMPT_AUTH, started);
}

/* The monitor reported event, with value. */
static void s_on_event(rl_attempt_t *a, unsigned event, uint32_t value,
                       int64_t now, int64_t started)
{
    if (a->state == S_CONNECTING && event == ZMQ_EVENT_CONNECT_RETRIED) {
        snprintf(a->why, sizeof(a->why),
                 "nothing listens at %s (connection refused)", a->endpoint);
        s_end(a, RL_ATTEMPT_REFUSED, started);
    } else if (a->state == S_CONNECTING &&
               (event & (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))) {
        s_on_handshake_failed(a, event, value, started);
    } else if (a->state == S_WAITING && event == ZMQ_EVENT_DISCONNECTED &&
               a->deadline > now + S_GRACE_MS) {
        snprintf(a->why, sizeof(a->why),
                 "%s closed the connection before replying", a->endpoint);
        a->deadline = now + S_GRACE_MS;
    }
}

int rl_attempts_run(rl_attempt_t *attempts, size_t count,
                    int connect_timeout_ms)
{
    int64_t start = zclock_mono();
    int64_t started = zclock_usecs();
    for (size_t i = 0; i < count; i++) {
        rl_attempt_t *a = &attempts[i];
        rl_attempt_release(a);
        a->sent = false;
        a->why[0] = '\0';
        a->took_ms = 0;
        a->state = S_CONNECTING;
        a->deadline = start + connect_timeout_ms;
        if (!a->link->socket) {
            if (s_open(a->link, a->endpoint, a->curve, a->why,
                       sizeof(a->why)) != 0)
                s_end(a, RL_ATTEMPT_NO_CONNECTION, started);
        } else if (a->link->monitor) {
            /* A link kept from an earlier call may have events queued
               from then (a node restarted and reconnected since): they
               say nothing about this attempt. */
            while (s_event(a->link->monitor, NULL)) {
            }
        }
    }
    /* Two poll items per attempt: its socket, its monitor. */
    zmq_pollitem_t items[2 * RAFTLOG_MAX_MEMBERS];
    rl_attempt_t *owner[2 * RAFTLOG_MAX_MEMBERS];
    bool is_monitor[2 * RAFTLOG_MAX_MEMBERS];
    assert(count <= RAFTLOG_MAX_MEMBERS);
    for (;;) {
        int64_t now = zclock_mono();
        int64_t wake = INT64_MAX;
        int n = 0;
        for (size_t i = 0; i < count; i++) {
            rl_attempt_t *a = &attempts[i];
            if (a->state == S_DONE)
                continue;
            if (now >= a->deadline) {
                if (a->state == S_CONNECTING)
                    snprintf(a->why, sizeof(a->why),
                             "no connection to %s within %d ms", a->endpoint,
                             connect_timeout_ms);
                else if (!a->why[0])
                    snprintf(a->why, sizeof(a->why),
                             "no reply from %s within %d ms", a->endpoint,
                             a->reply_timeout_ms);
                s_end(a,
                      a->state == S_CONNECTING ? RL_ATTEMPT_NO_CONNECTION
                                               : RL_ATTEMPT_NO_REPLY,
                      started);
                continue;
            }
            wake = a->deadline < wake ? a->deadline : wake;
            short events = a->state == S_CONNECTING ? ZMQ_POLLOUT : ZMQ_POLLIN;
            items[n] =
                (zmq_pollitem_t){zsock_resolve(a->link->socket), 0, events, 0};
            is_monitor[n] = false;
            owner[n++] = a;
            if (a->link->monitor) {
                items[n] = (zmq_pollitem_t){zsock_resolve(a->link->monitor), 0,
                                            ZMQ_POLLIN, 0};
                is_monitor[n] = true;
                owner[n++] = a;
            }
        }
        if (n == 0)
            return 0;
        int rc = zmq_poll(items, n, (long)(wake - now));
        if (rc < 0) {
            int error = zmq_errno();
            for (size_t i = 0; i < count; i++)
                if (attempts[i].state != S_DONE) {
                    snprintf(attempts[i].why, sizeof(attempts[i].why), "%s",
                             error == EINTR ? "interrupted by a signal"
                                            : zmq_strerror(error));
                    s_end(&attempts[i],
                          error == EINTR ? RL_ATTEMPT_INTERRUPTED
                                         : RL_ATTEMPT_NO_REPLY,
                          started);
                }
            return error == EINTR ? RAFTLOG_ERR_INTERRUPTED : 0;
        }
        now = zclock_mono();
        /* Sockets first: a reply that came with the news of a closed
           connection still counts. */
        for (int k = 0; k < n; k++) {
            rl_attempt_t *a = owner[k];
            if (is_monitor[k] || a->state == S_DONE || !items[k].revents)
                continue;
            if (a->state == S_WAITING) {
                s_receive(a, started);
            } else if (zmq_send(items[k].socket, a->request->data,
                                a->request->size,
                                ZMQ_DONTWAIT) == (int)a->request->size) {
                a->sent = true;
                a->state = S_WAITING;
                a->deadline = now + a->reply_timeout_ms;
            }
        }
        for (int k = 0; k < n; k++) {
            rl_attempt_t *a = owner[k];
            if (!is_monitor[k] || a->state == S_DONE || !items[k].revents)
                continue;
            unsigned event;
            uint32_t value = 0;
            while (a->state != S_DONE &&
                   (event = s_event(a->link->monitor, &value)))
                s_on_event(a, event, value, now, started);
        }
    }
}

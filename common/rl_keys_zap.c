/*  rl_keys_zap.c - CURVE on sockets: the process's ZAP handler (RFC 27,
    on its own thread), which lets a CURVE connection in only when its
    key is in the --keys directory, and the socket options that make a
    socket a CURVE server or client; see rl_keys.h for the contract.
*/
#include "rl_keys.h"

#include "rl_logging.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ---- CURVE on sockets ---- */

bool rl_keys_curve_available(void)
{
    return zsys_has_curve();
}

/* ---- The ZAP handler ----

   Why not czmq's zauth: in czmq 4.2.1 (Debian 12) zauth's certificate
   store asserts that no two files of the directory hold the same public
   key (zcertstore_insert), so one `cp alice alice.bak` in a --keys
   directory aborts every daemon that reads it at its next handshake. It
   also reads subdirectories and certificates without a role, which the
   role map then refuses message by message. This handler answers ZAP
   (RFC 27) from an rl_keys_t map of the same directory instead, so the
   handshake and the per-message checks agree on which keys exist, and a
   bad file is a warning, never a crash. */

/* Where libzmq sends ZAP requests. */
#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* One ZAP handler per process: libzmq has one endpoint for it. */
static atomic_bool s_auth_running;
/* Handshakes refused since start, for STATUS. */
static atomic_uint_fast64_t s_auth_refused;

/* Appends one ZMTP property (name, value) to the metadata in out (size
   used *used of room bytes); false when it does not fit. */
static bool s_property(uint8_t *out, size_t room, size_t *used,
                       const char *name, const char *value)
{
    size_t name_size = strlen(name), value_size = strlen(value);
    if (name_size > 255 || *used + 1 + name_size + 4 + value_size > room)
        return false;
    uint8_t *p = out + *used;
    *p++ = (uint8_t)name_size;
    memcpy(p, name, name_size);
    p += name_size;
    *p++ = (uint8_t)(value_size >> 24);
    *p++ = (uint8_t)(value_size >> 16);
    *p++ = (uint8_t)(value_size >> 8);
    *p++ = (uint8_t)value_size;
    memcpy(p, value, value_size);
    *used += 1 + name_size + 4 + value_size;
    return true;
}

/* Answers one ZAP request waiting on handler from the map. */
static void s_zap_answer(rl_keys_t *keys, zsock_t *handler)
{
    zmsg_t *request = zmsg_recv(handler);
    if (!request)
        return;
    /* version, request id, domain, address, routing id, mechanism,
       credentials... */
    char *version = zmsg_popstr(request);
    zframe_t *request_id = zmsg_pop(request);
    char *domain = zmsg_popstr(request);
    char *address = zmsg_popstr(request);
    zframe_t *routing_id = zmsg_pop(request);
    char *mechanism = zmsg_popstr(request);
    zframe_t *credentials = zmsg_pop(request);

    const char *status = "400", *text = "not allowed";
    char user_id[RL_KEY_TEXT_SIZE] = "";
    uint8_t metadata[512];
    size_t metadata_size = 0;
    if (!version || strcmp(version, "1.0") != 0 || !request_id) {
        status = "500";
        text = "ZAP version 1.0 expected";
    } else if (mechanism && strcmp(mechanism, "NULL") == 0) {
        /* No CURVE on this connection: nothing to check here (every
           socket a daemon binds for clients or peers is a CURVE server
           once keys are given; NULL only meets inproc ones). */
        status = "200";
        text = "OK";
    } else if (mechanism && strcmp(mechanism, "CURVE") == 0 && credentials &&
               zframe_size(credentials) == 32) {
        zmq_z85_encode(user_id, zframe_data(credentials), 32);
        /* The directory as it is now: a removed certificate is refused at
           the next handshake, a new one taken at once (a stat per file,
           as zauth does per handshake). A directory that cannot be read
           leaves the last map in force. */
        rl_keys_refresh(keys);
        const rl_key_t *k = rl_keys_lookup(keys, user_id);
        if (k) {
            char node_id[24] = "";
            if (k->role == RL_ROLE_NODE)
                snprintf(node_id, sizeof(node_id), "%" PRIu64, k->node_id);
            if (s_property(metadata, sizeof(metadata), &metadata_size, "role",
                           rl_role_name(k->role)) &&
                s_property(metadata, sizeof(metadata), &metadata_size, "name",
                           k->name) &&
                (!node_id[0] ||
                 s_property(metadata, sizeof(metadata), &metadata_size,
                            "node-id", node_id))) {
                status = "200";
                text = "OK";
            }
        } else {
            /* Anyone who reaches a port can cause this line: limited, and
               the address escaped (it is libzmq's, but a log line takes
               nothing from the network unescaped). */
            static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
            char shown[RL_LOG_ESCAPE_SIZE(64)];
            rl_logf_limited(&limit, RL_LOG_WARN,
                            "refused a CURVE connection from %s: key %s is "
                            "not in the keys directory %s",
                            rl_log_escape(address ? address : "?",
                                          address ? strlen(address) : 1, shown,
                                          sizeof(shown)),
                            user_id, rl_keys_directory(keys));
            text = "the key is not in the --keys directory";
        }
    } else {
        text = "only CURVE is taken here";
    }
    if (strcmp(status, "200") != 0) {
        user_id[0] = '\0';
        metadata_size = 0;
        atomic_fetch_add(&s_auth_refused, 1);
    }
    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, "1.0");
    if (request_id)
        zmsg_append(reply, &request_id);
    else
        zmsg_addmem(reply, "", 0);
    zmsg_addstr(reply, status);
    zmsg_addstr(reply, text);
    zmsg_addstr(reply, user_id);
    zmsg_addmem(reply, metadata, metadata_size);
    zmsg_send(&reply, handler);
    zmsg_destroy(&reply);
    zstr_free(&version);
    zframe_destroy(&request_id);
    zstr_free(&domain);
    zstr_free(&address);
    zframe_destroy(&routing_id);
    zstr_free(&mechanism);
    zframe_destroy(&credentials);
    zmsg_destroy(&request);
}

/* The ZAP handler's thread (a zactor): a REP socket on the ZAP endpoint
   and its own map of the directory (args, copied before the first
   signal). Two signals: the one zactor_new waits for, then whether the
   socket is bound (0) or not (1: the actor then only waits for $TERM). */
static void s_zap_actor(zsock_t *pipe, void *args)
{
    rl_keys_t *keys = rl_keys_new((const char *)args);
    zsock_signal(pipe, 0);
    zsock_t *handler = zsock_new(ZMQ_REP);
    if (!keys || !handler || zsock_bind(handler, S_ZAP_ENDPOINT) != 0) {
        zsock_destroy(&handler);
        rl_keys_destroy(&keys);
        zsock_signal(pipe, 1);
        char *command = zstr_recv(pipe);
        zstr_free(&command);
        return;
    }
    zsock_set_linger(handler, 0);
    rl_keys_refresh(keys);
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, handler, NULL);
    bool running = poller != NULL;
    while (running) {
        /* A bounded wait (house rule); nothing happens on a timeout. */
        zsock_t *which = zpoller_wait(poller, 1000);
        if (which == handler) {
            s_zap_answer(keys, handler);
        } else if (which == pipe) {
            char *command = zstr_recv(pipe);
            running = command && strcmp(command, "$TERM") != 0;
            zstr_free(&command);
        } else if (zpoller_terminated(poller)) {
            running = false;
        }
    }
    zpoller_destroy(&poller);
    /* Unbound by hand: a closed socket's inproc endpoint is released
       later, by libzmq's reaper, and a handler started again at once
       (rl_keys_auth_new after rl_keys_auth_destroy) would find it taken. */
    zsock_unbind(handler, S_ZAP_ENDPOINT);
    zsock_destroy(&handler);
    rl_keys_destroy(&keys);
}

zactor_t *rl_keys_auth_new(const char *directory, char *error,
                           size_t error_size)
{
    assert(directory);
    if (!zsys_has_curve()) {
        snprintf(error, error_size,
                 "this libzmq has no CURVE (it was built without libsodium): "
                 "install one that has, or run without keys");
        return NULL;
    }
    struct stat st;
    int found = stat(directory, &st);
    if (found != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(error, error_size, "the keys directory %s: %s", directory,
                 found != 0 ? strerror(errno) : "not a directory");
        return NULL;
    }
    if (atomic_exchange(&s_auth_running, true)) {
        snprintf(error, error_size,
                 "a ZAP handler is already running in this process (one "
                 "per process)");
        return NULL;
    }
    /* The actor's second signal says whether it is bound: once it is,
       every handshake that follows is asked about. */
    zactor_t *auth = zactor_new(s_zap_actor, (void *)directory);
    if (!auth || zsock_wait(auth) != 0) {
        zactor_destroy(&auth);
        snprintf(error, error_size,
                 "cannot start the ZAP handler for %s (is another ZAP "
                 "handler, such as czmq's zauth, bound in this process?)",
                 directory);
        atomic_store(&s_auth_running, false);
        return NULL;
    }
    return auth;
}

void rl_keys_auth_destroy(zactor_t **auth_p)
{
    assert(auth_p);
    if (!*auth_p)
        return;
    zactor_destroy(auth_p);
    atomic_store(&s_auth_running, false);
}

uint64_t rl_keys_auth_refused(void)
{
    return atomic_load(&s_auth_refused);
}

void rl_keys_set_server(zsock_t *socket, zcert_t *cert)
{
    assert(socket && cert);
    zcert_apply(cert, socket);
    zsock_set_curve_server(socket, 1);
}

void rl_keys_set_client(zsock_t *socket, zcert_t *cert, const char *server_key)
{
    assert(socket && cert && server_key && strlen(server_key) == 40);
    zcert_apply(cert, socket);
    zsock_set_curve_serverkey(socket, server_key);
}

const char *rl_keys_frame_key(zframe_t *frame)
{
    assert(frame);
    const char *key = zframe_meta(frame, "User-Id");
    return key && strlen(key) == 40 ? key : NULL;
}

/*  rl_keys.h - the daemons' CURVE keys (docs/SECURITY.md, issue 14): the
    map of allowed public keys from a --keys directory, a process's own
    certificate, the roles table, and the one way raftlog starts its ZAP
    handler and makes a socket a CURVE server or client. One header, five
    files: rl_keys.c (the directory's map), rl_keys_cert.c (reading a
    certificate; one's own), rl_keys_roles.c (the roles table),
    rl_keys_zap.c (the ZAP handler, CURVE socket options) and
    rl_keys_daemon.c (the map and handler as a daemon's loop keeps them).

    The --keys directory holds czmq certificates (zcert files, as `raftlog
    keygen` writes them), one per allowed key, each with metadata `role`
    (consumer, producer, admin, node, broker), `name`, and for a node
    `node-id`. Files ending in `_secret`, hidden files (starting with '.')
    and subdirectories are not read. Two checks use it, both needed:

    - The ZAP handler (rl_keys_auth_new) refuses a connection whose key has
      no certificate in the directory, at the CURVE handshake. It decides
      once per connection. (It is raftlog's own, not czmq's zauth: see
      rl_keys_zap.c for why.)
    - The daemon keeps an rl_keys_t map of the same directory, reloaded
      when the directory changes (rl_keys_refresh, called every 500 ms
      from the daemon's timer), and checks every message's CURVE identity
      against it: the frame's "User-Id" property (rl_keys_frame_key) is
      the client's public key in Z85, and rl_keys_lookup gives its role.
      So a certificate removed from the directory is refused within a
      second on connections already open too, and a role is always the
      one the directory says now.

    The ZAP handler also hands a certificate's role, name and node-id to
    libzmq, so zframe_meta(frame, "role") gives the role the certificate had
    when the connection was made (the unit tests show it). Do not use it:
    it is not updated when the certificate changes or goes; rl_keys_lookup
    is.

    Threads: an rl_keys_t belongs to one thread (the daemon's loop); no
    locks. The role functions are pure. rl_keys_auth_new may run once per
    process at a time (libzmq's rule: one ZAP handler per process); its
    thread has a map of its own.

    Layers: libc, czmq, rl_msg.h (request types) and rl_logging (the ZAP
    handler logs refusals, rate-limited); no sockets of its own
    besides the ZAP handler's.
*/
#ifndef RL_KEYS_H
#define RL_KEYS_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A public key in Z85 text (40 characters) and its NUL. */
#define RL_KEY_TEXT_SIZE 41
/* A certificate's name (metadata `name`, else its file name), bounded. */
#define RL_KEYS_NAME_SIZE 65
/* A file name in the directory (longer names are skipped with a warning). */
#define RL_KEYS_FILE_SIZE 256
/* Bounds on what a --keys directory can make a daemon hold: files read
   (the rest are skipped with a warning) and bytes of one certificate. */
#define RL_KEYS_MAX_FILES      10000
#define RL_KEYS_MAX_FILE_BYTES 65536
/* Room for any message this module writes. */
#define RL_KEYS_ERROR_SIZE 512

/* Who a key is. The order of the client roles is their rights: each has
   what the one before has, and more. */
typedef enum {
    RL_ROLE_NONE = 0, /* no role, or not one of these */
    RL_ROLE_CONSUMER, /* READ, STATUS, MEMBERS list */
    RL_ROLE_PRODUCER, /* + APPEND */
    RL_ROLE_ADMIN,    /* + MEMBERS add/remove, TRANSFER */
    RL_ROLE_NODE,     /* the peer protocol only, on peer ports */
    RL_ROLE_BROKER    /* forwards clients' requests (with as_role) */
} rl_role_t;

/* One allowed key of a --keys directory. */
typedef struct {
    char key[RL_KEY_TEXT_SIZE];   /* the public key, Z85 */
    rl_role_t role;               /* never RL_ROLE_NONE */
    uint64_t node_id;             /* role node: its id (>= 1); else 0 */
    char name[RL_KEYS_NAME_SIZE]; /* metadata `name`, else the file name;
                                     printable ASCII only */
    char file[RL_KEYS_FILE_SIZE]; /* its file name in the directory */
    int64_t modified_ns;          /* the file's mtime, ns since the epoch */
} rl_key_t;

/* The keys of one directory, as last loaded. Opaque. */
typedef struct _rl_keys_t rl_keys_t;

/* ---- Roles ---- */

/* "consumer", "producer", "admin", "node", "broker"; "none". */
const char *rl_role_name(rl_role_t role);

/* The role called text, or RL_ROLE_NONE when text names none. */
rl_role_t rl_role_parse(const char *text);

/* Whether a key of this role may make a client request of this type
   (RL_MSG_*_REQUEST, RL_MSG_CONSUMER_COMMIT); op is a MEMBERS_REQUEST's
   op (RL_MEMBERS_LIST, _ADD, _REMOVE) or a CONSUMERS_REQUEST's
   (RL_CONSUMERS_LIST, _SHOW, _RESET, _DELETE), ignored for other types.
   The roles table of docs/SECURITY.md:

   - consumer: READ (from an index, a time or a consumer's position),
     STATUS, MEMBERS list, CONSUMER_COMMIT, CONSUMERS list and show;
     producer: and APPEND; admin: and MEMBERS add/remove, TRANSFER and
     CONSUMERS reset and delete (an unknown MEMBERS or CONSUMERS op needs
     admin).
   - node: nothing (node keys speak the peer protocol on peer ports).
   - broker: what a consumer may, for the broker's own requests (it finds
     the leader with STATUS). A request a broker forwards for a client
     carries as_role: check that role instead, on a connection whose key
     is a broker's.
   - Any other type (a peer message, an unknown type): false. */
bool rl_keys_role_allows(rl_role_t role, int request_type, int op);

/* The message of the FORBIDDEN answer to a request rl_keys_role_allows
   refused, for the client: "your key (role consumer) may not APPEND; ask
   an operator for a producer key". At most out_size bytes with the NUL. */
void rl_keys_forbidden(rl_role_t role, int request_type, int op, char *out,
                       size_t out_size);

/* ---- The --keys directory ---- */

/* A map of the public certificates in directory (copied). No I/O: call
   rl_keys_refresh to load. Returns NULL when out of memory. */
rl_keys_t *rl_keys_new(const char *directory);

/* Destroys the map and nulls *self_p; safe with *self_p NULL. */
void rl_keys_destroy(rl_keys_t **self_p);

/* Loads the directory when it changed since the last load (the first call
   always loads). The check is cheap enough for every 500 ms: a stat of
   the directory and of each file in it, compared with the last load's
   signature (names, sizes, mtimes, inodes). Returns:

    1  loaded: the map is the directory's now (rl_keys_warning gives the
       files that were skipped, to log once);
    0  unchanged: nothing was read;
   -1  the directory cannot be read: the map is unchanged and
       rl_keys_error says why (log it; the next call tries again).

   Every rl_key_t pointer from this map is invalid after a call that
   returned 1. A file is skipped, with a warning naming it, when it is not
   a certificate, has no role or an unknown one, is a node's without a
   valid node-id, is larger than RL_KEYS_MAX_FILE_BYTES, or has the public
   key of a file before it (in name order). A certificate that holds a
   secret key is loaded but warned about (secrets do not belong there).
   When two certificates name the same node, both keys are accepted for
   it and rl_keys_node gives the newer file's (key rotation; warned). */
int rl_keys_refresh(rl_keys_t *self);

/* Why the last rl_keys_refresh returned -1; "" otherwise. */
const char *rl_keys_error(const rl_keys_t *self);

/* The warnings of the last load (files skipped, secrets found, a node
   with two keys), one line each naming the file; valid until the next
   load. */
size_t rl_keys_warning_count(const rl_keys_t *self);
const char *rl_keys_warning(const rl_keys_t *self, size_t index);

/* The directory, as given. */
const char *rl_keys_directory(const rl_keys_t *self);

/* How many keys the map holds, and each (in file-name order); valid until
   the next load. */
size_t rl_keys_count(const rl_keys_t *self);
const rl_key_t *rl_keys_at(const rl_keys_t *self, size_t index);

/* The entry of a public key (Z85, as rl_keys_frame_key gives it), or NULL
   when the directory has no certificate for it (key NULL too). Valid until
   the next load. */
const rl_key_t *rl_keys_lookup(const rl_keys_t *self, const char *key);

/* Reloads before a lookup that would fail: rl_keys_lookup, and when key
   is not in the map, one rl_keys_refresh first, provided the last one
   this function made is RL_KEYS_RETRY_MS or more before now_ms (any
   monotonic clock, ms). The ZAP handler reads the directory at every
   handshake, the daemon's map every 500 ms: without this, a key added a
   moment ago would pass the handshake and then be refused message by
   message until the next reload. The bound keeps a revoked client from
   making every request a directory scan. Like rl_keys_refresh, a reload
   invalidates every rl_key_t pointer (rl_keys_generation tells). */
#define RL_KEYS_RETRY_MS 100
const rl_key_t *rl_keys_lookup_fresh(rl_keys_t *self, const char *key,
                                     int64_t now_ms);

/* The certificate of node node_id (role node), for connecting to that
   node's peer port as a CURVE client: its key is the server key. NULL when
   none. With two, the newer file's (see rl_keys_refresh). */
const rl_key_t *rl_keys_node(const rl_keys_t *self, uint64_t node_id);

/* Whether a peer message claiming to come from node `from` may be taken
   from a connection whose key is key: only when key's certificate is a
   node's with node-id from. Returns true, or false with why (at most
   why_size bytes; may be NULL) saying what is wrong, for the log. */
bool rl_keys_peer_allowed(const rl_keys_t *self, const char *key, uint64_t from,
                          char *why, size_t why_size);

/* Counts the loads: changes whenever the map does, so that a daemon can
   tell when to look again at the keys it uses (a peer's server key). */
uint64_t rl_keys_generation(const rl_keys_t *self);

/* ---- Certificates of one's own ---- */

/* Loads a daemon's own certificate (--cert, --front-cert: the `_secret`
   file keygen wrote) and checks it: it must hold a secret key; with role
   not RL_ROLE_NONE its metadata role must be that one, and for
   RL_ROLE_NODE its node-id must be node_id. Returns the certificate (the
   caller owns it: zcert_destroy), or NULL with error (error_size bytes)
   saying what is wrong and what to do. */
zcert_t *rl_keys_load_own(const char *path, rl_role_t role, uint64_t node_id,
                          char *error, size_t error_size);

/* Loads the public key of a server's certificate (the broker's
   --server-key: the nodes' front-door public certificate) into key, Z85.
   Returns 0, or -1 with error filled. */
int rl_keys_load_public(const char *path, char key[RL_KEY_TEXT_SIZE],
                        char *error, size_t error_size);

/* ---- CURVE on sockets ---- */

/* Whether this libzmq can do CURVE (built with libsodium). A daemon asked
   for keys without it must stop and say so. */
bool rl_keys_curve_available(void);

/* Starts the ZAP handler (RFC 27, on its own thread), allowing CURVE
   clients whose public certificate is in directory, as an rl_keys_t map
   of it says (refreshed at each handshake: a certificate added is taken
   at once, one removed refused at the next connection). It passes the
   key as the connection's User-Id and the certificate's role, name and
   node-id as its properties. NULL-mechanism (plain) connections are let
   through; any other mechanism is refused. Call it before any CURVE
   socket binds: libzmq lets every client in on a CURVE socket while no
   ZAP handler runs. One per process: a second call while one runs fails.
   Returns the actor (stop it with rl_keys_auth_destroy, after closing the
   sockets), or NULL with error filled (no CURVE, not a directory, already
   running, the ZAP endpoint taken). */
zactor_t *rl_keys_auth_new(const char *directory, char *error,
                           size_t error_size);

/* Stops the ZAP handler and nulls *auth_p; safe with *auth_p NULL. */
void rl_keys_auth_destroy(zactor_t **auth_p);

/* Handshakes the ZAP handler refused since the process started (keys not
   in the directory, other mechanisms), for STATUS. Any thread. */
uint64_t rl_keys_auth_refused(void);

/* Makes socket a CURVE server with cert's keys. Before its bind (options
   apply to later binds only), and after rl_keys_auth_new. */
void rl_keys_set_server(zsock_t *socket, zcert_t *cert);

/* Makes socket a CURVE client with cert's keys, for a server whose public
   key is server_key (Z85). Before its connect. */
void rl_keys_set_client(zsock_t *socket, zcert_t *cert, const char *server_key);

/* The CURVE identity of the connection frame came in on: the client's
   public key in Z85 (libzmq's "User-Id" property, which the ZAP handler
   sets to the key), or NULL when the connection is not CURVE. The text belongs
   to the frame. For a zmq_msg_t: zmq_msg_gets(msg, "User-Id"). */
const char *rl_keys_frame_key(zframe_t *frame);

/* ---- The keys in a daemon's loop (rl_keys_daemon.c) ---- */

/* Opens directory for a daemon: a map of it, loaded, its warnings logged,
   and the ZAP handler started (rl_keys_auth_new; call it before any CURVE
   socket binds). Returns 0 with *keys_p, *auth_p and *generation (of the
   map as loaded) set; or -1 with error (error_size bytes) saying what to
   fix, nothing left open. */
int rl_keys_open_logged(const char *directory, rl_keys_t **keys_p,
                        zactor_t **auth_p, uint64_t *generation, char *error,
                        size_t error_size);

/* The daemon's keys timer (every 500 ms): rl_keys_refresh, and when the
   map is not the one of *generation any more (reloaded now, or by a
   lookup since), its warnings and size logged and *generation moved on;
   a directory that cannot be read is logged (rate-limited) and the map
   kept. Returns whether the map changed (a daemon looks again at the keys
   it uses, a peer's server key). */
bool rl_keys_reload_logged(rl_keys_t *keys, uint64_t *generation);

#endif

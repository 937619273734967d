/*  bench_cluster.h - what the cluster benchmarks share for talking to a
    running cluster: the CURVE keys of the environment, one DEALER socket
    per node endpoint, one request and its reply, who leads a log, and
    named logs created when missing.

    A benchmark, not a client: no more checks than the measurement needs,
    and every reply is matched to its request by id (a late reply to an
    earlier, timed-out request is dropped, so a socket is never stuck as a
    REQ socket would be). */
#ifndef RL_BENCH_CLUSTER_H
#define RL_BENCH_CLUSTER_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "rl_codec.h"

/* Endpoints a pool keeps a socket to: a 3- or 5-node cluster and the
   endpoints NOT_LEADER names, with room to spare. */
#define BENCH_MAX_ENDPOINTS 32

/* Room for one endpoint's text. */
#define BENCH_ENDPOINT_SIZE 256

/* Loads $RAFTLOG_KEY (the client's _secret certificate) and
   $RAFTLOG_SERVER_KEY (the server's public one), both or neither; with
   them every socket connects with CURVE. Returns 0, or -1 with a message
   on stderr. */
int bench_keys_load(void);

/* Frees the keys. */
void bench_keys_free(void);

/* A socket of type connected to endpoint, with CURVE when keys were
   loaded; NULL when it could not be made. */
zsock_t *bench_connect(int type, const char *endpoint);

/* One DEALER socket per endpoint, made on first use, and the request ids
   of bench_call. */
typedef struct {
    char endpoint[BENCH_MAX_ENDPOINTS][BENCH_ENDPOINT_SIZE]; /* by index */
    zsock_t *socket[BENCH_MAX_ENDPOINTS]; /* DEALER to endpoint[i] */
    size_t count;                         /* endpoints known */
    uint64_t next_id;                     /* bench_call's request ids */
} bench_pool_t;

/* An empty pool. */
void bench_pool_init(bench_pool_t *pool);

/* Closes every socket. */
void bench_pool_close(bench_pool_t *pool);

/* The index of endpoint's socket (connected now when new), or -1 when the
   pool is full or the socket could not be made. */
int bench_pool_index(bench_pool_t *pool, const char *endpoint, size_t size);

/* A decoded reply: msg's byte fields point into frame. */
typedef struct {
    zframe_t *frame; /* the reply's bytes */
    rl_msg_t msg;    /* decoded */
} bench_reply_t;

/* Frees a reply (safe on a zeroed one, and twice). */
void bench_reply_close(bench_reply_t *reply);

/* Sends request (its id is set here) to the pool's endpoint `at` and
   waits up to timeout_ms for the reply with that id. Returns 0 with
   reply filled (the caller closes it), or -1 on a timeout or a reply that
   does not decode. */
int bench_call(bench_pool_t *pool, int at, rl_msg_t *request,
               bench_reply_t *reply, int timeout_ms);

/* Adds every endpoint of the comma-separated list to the pool. Returns
   how many there are now, 0 when none could be added. */
size_t bench_pool_add_list(bench_pool_t *pool, const char *endpoints);

/* The pool index of the node that leads log (NULL or "": default), asking
   each endpoint of the pool for STATUS in turn for up to timeout_ms.
   Returns -1 when no node named a leader with a known endpoint in time. */
int bench_find_leader(bench_pool_t *pool, const char *log, int timeout_ms);

/* Sends request to the leader of its log (default's for LOGS changes:
   pass log NULL), following NOT_LEADER and retrying while no leader is
   known, BUSY, NO_LEADER or TIMEOUT, until a final reply or timeout_ms. *at is
   where to start (a pool index, -1: the first endpoint) and is left at the node
   that answered. Returns 0 with reply filled, -1 at the deadline. */
int bench_call_leader(bench_pool_t *pool, int *at, rl_msg_t *request,
                      bench_reply_t *reply, int timeout_ms);

/* Creates the logs named prefix1..prefixN that do not exist yet (a LOGS
   list first, then one create at a time, each answered once committed),
   and waits until every one of them has a leader, for up to timeout_ms.
   Returns how many it created, or -1 with a message on stderr. */
int bench_logs_ensure(bench_pool_t *pool, const char *prefix, unsigned count,
                      int timeout_ms);

/* Microseconds on a monotonic clock. */
int64_t bench_now_us(void);

#endif

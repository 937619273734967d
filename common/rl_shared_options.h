/*  rl_shared_options.h - the option rows raftlog-node and raftlog-broker
    take alike, written once: the front door's limits, the monitoring
    port, --insecure's switch and the log level (flag, file key, default,
    help and range check). A daemon defines the rows' setters for its
    config struct once, then puts the rows in its own table (rl_options.h)
    where it wants them in --help:

        RL_SHARED_OPTION_SETTERS(rl_broker_config_t)

        static const rl_option_t s_options[] = {
            RL_OPTION_CONFIG,
            ...
            RL_FRONT_LIMIT_OPTIONS,
            RL_METRICS_OPTIONS,
            {"insecure", ..., its own help, s_shared_insecure, false},
            RL_OPTION_LOG_LEVEL,
            RL_OPTION_HELP,
        };

    Each row stores into the field of the same name in the daemon's config
    struct; the compiler checks the field's type against the setter's.
    What the values mean together (--max-queue at least
    --max-client-queue) each daemon checks itself.
*/
#ifndef RL_SHARED_OPTIONS_H
#define RL_SHARED_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "rl_options.h"

/* Room for a --metrics-endpoint (HOST:PORT) with its NUL: the size of the
   daemons' metrics_endpoint field. */
#define RL_METRICS_ENDPOINT_SIZE 256

/* The checks and stores, one per row. */
int rl_shared_set_max_message(uint32_t *field, const char *value, char *err);
int rl_shared_set_max_clients(uint32_t *field, const char *value, char *err);
int rl_shared_set_max_client_queue(uint64_t *field, const char *value,
                                   char *err);
int rl_shared_set_max_queue(uint64_t *field, const char *value, char *err);
int rl_shared_set_max_read_wait(uint32_t *field, const char *value, char *err);
int rl_shared_set_metrics_endpoint(char (*field)[RL_METRICS_ENDPOINT_SIZE],
                                   const char *value, char *err);
int rl_shared_set_max_metrics_connections(uint32_t *field, const char *value,
                                          char *err);
int rl_shared_set_log_level(int *field, const char *value, char *err);
/* --insecure: the flag gives "true", the file on, off, true or false. */
int rl_shared_set_insecure(bool *field, const char *value, char *err);

/* One rl_option_set_fn for a daemon's config struct type: the shared
   setter given the field of that name. */
#define RL_SHARED_SETTER(type, name, field)                                    \
    static int s_shared_##name(void *config, const char *value, char *err)     \
    {                                                                          \
        return rl_shared_set_##name(&((type *)config)->field, value, err);     \
    }

/* The setters of all the rows below, for config struct type: fields
   uint32_t max_message_bytes, max_clients, max_read_wait_ms,
   max_metrics_connections; uint64_t max_client_queue_bytes,
   max_queue_bytes; char metrics_endpoint[RL_METRICS_ENDPOINT_SIZE] ("":
   off); bool insecure; int log_level (an rl_log_level_t). */
#define RL_SHARED_OPTION_SETTERS(type)                                         \
    RL_SHARED_SETTER(type, max_message, max_message_bytes)                     \
    RL_SHARED_SETTER(type, max_clients, max_clients)                           \
    RL_SHARED_SETTER(type, max_client_queue, max_client_queue_bytes)           \
    RL_SHARED_SETTER(type, max_queue, max_queue_bytes)                         \
    RL_SHARED_SETTER(type, max_read_wait, max_read_wait_ms)                    \
    RL_SHARED_SETTER(type, metrics_endpoint, metrics_endpoint)                 \
    RL_SHARED_SETTER(type, max_metrics_connections, max_metrics_connections)   \
    RL_SHARED_SETTER(type, log_level, log_level)                               \
    RL_SHARED_SETTER(type, insecure, insecure)

/* The rows, each a flag, its file key, metavar, default, help and setter
   (s_shared_NAME, from RL_SHARED_OPTION_SETTERS). */
#define RL_OPTION_MAX_MESSAGE                                                  \
    {                                                                          \
        "max-message", "limits/max_message_bytes", "BYTES", "64M",             \
            "largest message a client may send (at most 64M); a bigger one "   \
            "closes its connection",                                           \
            s_shared_max_message, false                                        \
    }
#define RL_OPTION_MAX_CLIENTS                                                  \
    {                                                                          \
        "max-clients", "limits/max_clients", "N", "10000",                     \
            "client connections at once (fewer when the descriptor limit is "  \
            "lower); more are closed when they connect",                       \
            s_shared_max_clients, false                                        \
    }
#define RL_OPTION_MAX_CLIENT_QUEUE                                             \
    {                                                                          \
        "max-client-queue", "limits/max_client_queue_bytes", "BYTES", "64M",   \
            "replies waiting to be read by one client connection; past it "    \
            "its requests get BUSY",                                           \
            s_shared_max_client_queue, false                                   \
    }
#define RL_OPTION_MAX_QUEUE                                                    \
    {                                                                          \
        "max-queue", "limits/max_queue_bytes", "BYTES", "512M",                \
            "replies waiting to be read by all clients; past it requests get " \
            "BUSY",                                                            \
            s_shared_max_queue, false                                          \
    }
#define RL_OPTION_MAX_READ_WAIT                                                \
    {                                                                          \
        "max-read-wait", "limits/max_read_wait_ms", "MS", "60000",             \
            "a long poll waits at most this long (a longer wait_ms is cut to " \
            "it)",                                                             \
            s_shared_max_read_wait, false                                      \
    }
#define RL_OPTION_METRICS_ENDPOINT                                             \
    {                                                                          \
        "metrics-endpoint", "metrics/endpoint", "HOST:PORT", "off",            \
            "serve /metrics (Prometheus), /healthz and /readyz over HTTP "     \
            "there; unauthenticated: use 127.0.0.1 or a monitoring-only "      \
            "interface",                                                       \
            s_shared_metrics_endpoint, false                                   \
    }
#define RL_OPTION_MAX_METRICS_CONNECTIONS                                      \
    {                                                                          \
        "max-metrics-connections", "limits/max_metrics_connections", "N",      \
            "16",                                                              \
            "HTTP connections to the metrics endpoint at once (1-1024); more " \
            "wait",                                                            \
            s_shared_max_metrics_connections, false                            \
    }
#define RL_OPTION_LOG_LEVEL                                                    \
    {                                                                          \
        "log-level", "log/level", "LEVEL", "info",                             \
            "error, warn, info or debug (logs go to stderr)",                  \
            s_shared_log_level, false                                          \
    }

/* The front door's limits (rl_front.h, docs/SECURITY.md "Limits"), in
   their --help order. */
#define RL_FRONT_LIMIT_OPTIONS                                                 \
    RL_OPTION_MAX_MESSAGE, RL_OPTION_MAX_CLIENTS, RL_OPTION_MAX_CLIENT_QUEUE,  \
        RL_OPTION_MAX_QUEUE, RL_OPTION_MAX_READ_WAIT

/* The monitoring port (rl_http.h). */
#define RL_METRICS_OPTIONS                                                     \
    RL_OPTION_METRICS_ENDPOINT, RL_OPTION_MAX_METRICS_CONNECTIONS

#endif

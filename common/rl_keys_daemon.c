/*  rl_keys_daemon.c - the --keys directory as a daemon's loop keeps it:
    opened with its ZAP handler and its warnings logged, then reloaded by
    the daemon's timer with what changed logged (rl_keys_open_logged,
    rl_keys_reload_logged in rl_keys.h). What raftlog-node and
    raftlog-broker both do with their keys, written once.
*/
#include "rl_keys.h"

#include "rl_logging.h"

#include <assert.h>
#include <stdio.h>

/* Logs what the last load of the directory warned about. */
static void s_log_warnings(const rl_keys_t *keys)
{
    for (size_t i = 0; i < rl_keys_warning_count(keys); i++)
        rl_logf(RL_LOG_WARN, "%s", rl_keys_warning(keys, i));
}

int rl_keys_open_logged(const char *directory, rl_keys_t **keys_p,
                        zactor_t **auth_p, uint64_t *generation, char *error,
                        size_t error_size)
{
    assert(directory && keys_p && auth_p && generation);
    char why[RL_KEYS_ERROR_SIZE];
    rl_keys_t *keys = rl_keys_new(directory);
    if (!keys) {
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    if (rl_keys_refresh(keys) < 0) {
        snprintf(error, error_size, "--keys: %.490s", rl_keys_error(keys));
        rl_keys_destroy(&keys);
        return -1;
    }
    s_log_warnings(keys);
    /* The handler before any CURVE socket binds: libzmq lets every
       client in while none runs. */
    zactor_t *auth = rl_keys_auth_new(directory, why, sizeof(why));
    if (!auth) {
        snprintf(error, error_size, "--keys: %.490s", why);
        rl_keys_destroy(&keys);
        return -1;
    }
    *generation = rl_keys_generation(keys);
    *keys_p = keys;
    *auth_p = auth;
    return 0;
}

bool rl_keys_reload_logged(rl_keys_t *keys, uint64_t *generation)
{
    int rc = rl_keys_refresh(keys);
    /* By the generation: the front door (or the node's intake) may have
       reloaded the map since the last call (rl_keys_lookup_fresh). */
    bool changed = rl_keys_generation(keys) != *generation;
    if (changed) {
        *generation = rl_keys_generation(keys);
        s_log_warnings(keys);
        rl_logf(RL_LOG_INFO, "keys: %zu keys allowed now (%s changed)",
                rl_keys_count(keys), rl_keys_directory(keys));
    }
    if (rc < 0) {
        /* Every 500 ms while it lasts: limited. */
        static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
        rl_logf_limited(&limit, RL_LOG_WARN,
                        "%s; the %zu keys loaded before stay in force",
                        rl_keys_error(keys), rl_keys_count(keys));
    }
    return changed;
}

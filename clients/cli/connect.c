/*  connect.c - sets up `raftlog`'s client from its options: which
    endpoints (and where they came from, for the error messages), the
    timeouts and retries, and progress reports on stderr while a request
    is being retried, so that no wait is silent.

    Which endpoints: --cluster, else --broker, else $RAFTLOG_ENDPOINTS,
    else the nodes of scripts/run. A flag beats the environment, as with
    etcdctl's --endpoints and ETCDCTL_ENDPOINTS; when a flag overrides a
    $RAFTLOG_ENDPOINTS that is set, errors about reaching the cluster say
    so.

    Keys the same way: --key, else $RAFTLOG_KEY; --server-key, else
    $RAFTLOG_SERVER_KEY; each flag beats its own variable. Both or
    neither: one alone is a usage error, never a silent connection without
    CURVE. The files are read before anything is sent, and an error names
    where the file came from.
*/
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static char s_origin[160]; /* where the endpoints came from */

const char *cli_endpoints_origin(void)
{
    return s_origin;
}

/* Prints a retry on stderr: "raftlog: tail: no reply from ...; retrying
   (2/10) on ...". */
static void s_progress(void *arg, const char *message, int retry, int retries)
{
    (void)arg;
    (void)retry;
    (void)retries;
    cli_note("%s", message);
}

/* One of the two key files: the flag's, else the environment's (NULL:
   neither), and its origin for messages. */
static const char *s_key_file(const char *flag_value, const char *flag,
                              const char *variable, char *origin,
                              size_t origin_size)
{
    const char *environment = getenv(variable);
    if (flag_value) {
        snprintf(origin, origin_size, "%s", flag);
        return flag_value;
    }
    if (environment && *environment) {
        snprintf(origin, origin_size, "$%s", variable);
        return environment;
    }
    snprintf(origin, origin_size, "neither %s nor $%s", flag, variable);
    return NULL;
}

/* Sets the client's CURVE keys from the options. */
static int s_keys(raftlog_t *client, const cli_args_t *a)
{
    char key_origin[64], server_origin[64];
    const char *key = s_key_file(a->key, "--key", RAFTLOG_KEY_ENV, key_origin,
                                 sizeof(key_origin));
    const char *server_key =
        s_key_file(a->server_key, "--server-key", RAFTLOG_SERVER_KEY_ENV,
                   server_origin, sizeof(server_origin));
    if (!key != !server_key)
        return cli_fail(CLI_EXIT_USAGE,
                        "a key needs a server key: %s gives %s, and %s is "
                        "given (CURVE needs this client's certificate, "
                        "--key, and the server's public certificate, "
                        "--server-key)",
                        key ? key_origin : server_origin,
                        key ? "this client's certificate"
                            : "the server's certificate",
                        key ? server_origin : key_origin);
    /* Explicitly, so that the library does not look at the environment
       again. */
    if (raftlog_set_curve(client, key, server_key) != 0)
        return cli_fail(CLI_EXIT_USAGE, "%s (from %s and %s)",
                        raftlog_error(client), key_origin, server_origin);
    return 0;
}

int cli_use_log(raftlog_t *client, const cli_args_t *a)
{
    const char *environment = getenv(RAFTLOG_LOG_ENV);
    const char *name = a->log ? a->log : environment;
    if (!name || !*name)
        return 0;
    if (raftlog_set_log(client, name) != 0) {
        char shown[96];
        return cli_fail(CLI_EXIT_USAGE,
                        "%s '%s' is not a log name: 1 to %d characters of "
                        "a-z, 0-9, '.', '_' and '-' (see `raftlog logs "
                        "list`)",
                        a->log ? "--log" : "$" RAFTLOG_LOG_ENV,
                        cli_printable(name, shown, sizeof(shown)),
                        RAFTLOG_MAX_LOG_NAME);
    }
    return 0;
}

int cli_connect(raftlog_t *client, const cli_args_t *a)
{
    const char *environment = getenv(RAFTLOG_ENDPOINTS_ENV);
    bool from_environment = environment && *environment;
    if (a->endpoints_flag && from_environment)
        snprintf(s_origin, sizeof(s_origin), "%s, which overrides $%s",
                 a->endpoints_flag, RAFTLOG_ENDPOINTS_ENV);
    else if (a->endpoints_flag)
        snprintf(s_origin, sizeof(s_origin), "%s", a->endpoints_flag);
    else if (from_environment)
        snprintf(s_origin, sizeof(s_origin), "$%s", RAFTLOG_ENDPOINTS_ENV);
    else
        snprintf(s_origin, sizeof(s_origin),
                 "the default, scripts/run's nodes; give --cluster or set "
                 "$%s",
                 RAFTLOG_ENDPOINTS_ENV);
    int rc = raftlog_connect(client, a->endpoints);
    if (rc)
        return cli_fail(CLI_EXIT_USAGE, "%s (endpoints from %s)",
                        raftlog_error(client), s_origin);
    rc = s_keys(client, a);
    if (rc)
        return rc;
    if (a->timeout_ms)
        raftlog_set_timeout(client, a->timeout_ms);
    if (a->connect_timeout_ms)
        raftlog_set_connect_timeout(client, a->connect_timeout_ms);
    if (a->retries >= 0)
        raftlog_set_retries(client, a->retries);
    raftlog_set_progress(client, s_progress, NULL);
    return 0;
}

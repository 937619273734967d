/*  connect.c - sets up `raftlog`'s client from its options: which
    endpoints (and where they came from, for the error messages), the
    timeouts and retries, and progress reports on stderr while a request
    is being retried, so that no wait is silent.

    Which endpoints: --cluster, else --broker, else $RAFTLOG_ENDPOINTS,
    else the nodes of scripts/run. A flag beats the environment, as with
    etcdctl's --endpoints and ETCDCTL_ENDPOINTS; when a flag overrides a
    $RAFTLOG_ENDPOINTS that is set, errors about reaching the cluster say
    so.
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
    if (a->timeout_ms)
        raftlog_set_timeout(client, a->timeout_ms);
    if (a->connect_timeout_ms)
        raftlog_set_connect_timeout(client, a->connect_timeout_ms);
    if (a->retries >= 0)
        raftlog_set_retries(client, a->retries);
    raftlog_set_progress(client, s_progress, NULL);
    return 0;
}

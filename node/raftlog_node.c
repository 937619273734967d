/*  raftlog_node.c - raftlog-node, a member of a raftlog cluster.

    raftlog-node --help lists the options; docs/OPERATIONS.md shows how to
    bootstrap a cluster and how to join one. --check DIR verifies a data
    directory offline: either layout (a single log from before named logs,
    or one directory per log in DIR/logs), every log of it.

    Exit status: 0 after a clean stop (or a clean --check), 1 after a fatal
    error (or damage found by --check), 2 for a configuration error.
*/
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>

#include "rl_config.h"
#include "rl_layout.h"
#include "rl_logging.h"
#include "rl_node.h"

int main(int argc, char **argv)
{
    /* The node owns its signals (graceful shutdown); tell czmq before it
       initialises itself on the first socket. */
    zsys_handler_set(NULL);
    /* czmq's own log lines (rare: a socket left open at exit) go where
       the node's go, not to stdout. */
    zsys_set_logstream(stderr);
    rl_config_t config;
    char err[RL_CONFIG_ERROR_SIZE];
    if (rl_config_parse(&config, argc, argv, err) != 0) {
        fprintf(stderr, "raftlog-node: %s\n", err);
        return 2;
    }
    if (config.help) {
        rl_config_usage(stdout, "raftlog-node");
        return 0;
    }
    if (config.check_dir[0])
        return rl_layout_check(config.check_dir, stdout) == 0 ? 0 : 1;

    char name[32];
    snprintf(name, sizeof(name), "node %" PRIu64, config.id);
    rl_logging_init(name, config.log_level);
    char why[512];
    rl_node_t *node = rl_node_new(&config, why);
    if (!node) {
        fprintf(stderr, "raftlog-node: %s\n", why);
        return 1;
    }
    int status = rl_node_run(node);
    rl_node_destroy(&node);
    return status;
}

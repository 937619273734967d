/*  raftlog_broker.c - raftlog-broker, one stable front door in front of a
    raftlog cluster.

    raftlog-broker --help lists the options; docs/BROKER.md explains what
    the broker does with each request.

    Exit status: 0 after a clean stop, 1 when it cannot start, 2 for a
    configuration error.
*/
#include <czmq.h>
#include <stdio.h>

#include "rl_broker.h"
#include "rl_broker_config.h"
#include "rl_logging.h"

int main(int argc, char **argv)
{
    /* The broker owns its signals (graceful shutdown); tell czmq before it
       initialises itself on the first socket. */
    zsys_handler_set(NULL);
    /* czmq's own log lines (rare: a socket left open at exit) go where
       the broker's go, not to stdout. */
    zsys_set_logstream(stderr);
    rl_broker_config_t config;
    char err[RL_BROKER_CONFIG_ERROR_SIZE];
    if (rl_broker_config_parse(&config, argc, argv, err) != 0) {
        fprintf(stderr, "raftlog-broker: %s\n", err);
        return 2;
    }
    if (config.help) {
        rl_broker_config_usage(stdout, "raftlog-broker");
        return 0;
    }
    rl_logging_init("broker", config.log_level);
    char why[512];
    rl_broker_t *broker = rl_broker_new(&config, why);
    if (!broker) {
        fprintf(stderr, "raftlog-broker: %s\n", why);
        return 1;
    }
    int status = rl_broker_run(broker);
    rl_broker_destroy(&broker);
    return status;
}

/*  transfer.c - `raftlog transfer-leader`: asks the leader of a log (the
    default one, or --log NAME's) to hand over to a given node, or to the
    most up-to-date follower, and says who leads it.
*/
#include "cli.h"

#include <inttypes.h>

static const cli_option_t s_options[] = {
    CLI_LOG_OPTION,
    {CLI_O_JSON, "json", 0, NULL,
     "print {\"leader\":ID} instead of a sentence"},
    {0, NULL, 0, NULL, NULL}};

static int s_transfer(raftlog_t *client, cli_args_t *a)
{
    uint64_t target = 0, leader = 0;
    if (a->arg_count > 1)
        return cli_fail(CLI_EXIT_USAGE, "give at most one node id");
    if (a->arg_count &&
        cli_number("transfer-leader ID", a->args[0], 1, UINT64_MAX, &target))
        return CLI_EXIT_USAGE;
    int rc = cli_use_log(client, a);
    if (rc)
        return rc;
    rc = raftlog_transfer(client, target, &leader);
    if (rc)
        return cli_client_fail(client, rc, NULL);
    if (a->json)
        return cli_json_print(
            json_pack("{s:o}", "leader", cli_json_uint(leader)));
    printf("node %" PRIu64 " leads now\n", leader);
    return 0;
}

const cli_command_t cli_transfer = {
    "transfer-leader",
    "[ID] [--log NAME] [--json]",
    "move a log's leadership to node ID (or the best)",
    "Asks the leader to hand over to node ID, or with no ID to the most\n"
    "up-to-date follower, and prints the new leader. --log NAME moves\n"
    "that named log's leader (each log has its own); the nodes also\n"
    "spread the logs' leaders by themselves, so a log moved by hand may\n"
    "be moved back when its new leader leads more than its share.",
    s_options,
    s_transfer,
    false};

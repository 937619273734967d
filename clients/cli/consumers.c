/*  consumers.c - `raftlog consumers`: the durable consumers' positions the
    cluster keeps: list them, show one, reset one to an index or a time,
    delete one. The leader answers (the library follows NOT_LEADER).
*/
#include "cli.h"

#include <inttypes.h>
#include <string.h>

static const cli_option_t s_options[] = {
    {CLI_O_TO, "to", 0, "INDEX|start|end",
     "reset: the consumer resumes at INDEX (its position becomes INDEX - "
     "1), at the oldest entry kept, or after what is committed now"},
    {CLI_O_TO_TIME, "to-time", 0, "TIME",
     "reset: the consumer resumes at the first entry stamped at or after "
     "TIME (ISO 8601 with a zone, or ms since the Unix epoch)"},
    {CLI_O_JSON, "json", 0, NULL, "print JSON instead of text"},
    CLI_LOG_OPTION,
    {0, NULL, 0, NULL, NULL}};

/* How far behind the commit index a position is, and whether its next
   entry is gone. */
static uint64_t s_lag(uint64_t index, uint64_t commit)
{
    return commit > index ? commit - index : 0;
}

static bool s_behind(uint64_t index, uint64_t first)
{
    return index + 1 < first;
}

static json_t *s_json_named(const raftlog_consumer_t *c, uint64_t commit,
                            uint64_t first)
{
    return json_pack("{s:s,s:o,s:o,s:b}", "name", c->name, "index",
                     cli_json_uint(c->index), "lag",
                     cli_json_uint(s_lag(c->index, commit)), "behind",
                     s_behind(c->index, first));
}

static int s_list(raftlog_t *client, const cli_args_t *a)
{
    const raftlog_consumer_t *consumers;
    size_t count;
    uint64_t commit = 0, first = 0;
    int rc =
        raftlog_consumers_list(client, &consumers, &count, &commit, &first);
    if (rc)
        return cli_client_fail(client, rc, NULL);
    if (a->json) {
        json_t *array = json_array();
        for (size_t i = 0; array && i < count; i++)
            if (json_array_append_new(
                    array, s_json_named(&consumers[i], commit, first)) != 0) {
                json_decref(array);
                array = NULL;
            }
        return cli_json_print(
            array ? json_pack("{s:o,s:o,s:o}", "commit", cli_json_uint(commit),
                              "first", cli_json_uint(first), "consumers", array)
                  : NULL);
    }
    if (count == 0) {
        printf("no consumers (commit %" PRIu64 ")\n", commit);
        return 0;
    }
    printf("%-32s %12s %12s %10s\n", "NAME", "POSITION", "NEXT", "LAG");
    for (size_t i = 0; i < count; i++) {
        const raftlog_consumer_t *c = &consumers[i];
        printf("%-32s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 "%s\n", c->name,
               c->index, c->index + 1, s_lag(c->index, commit),
               s_behind(c->index, first) ? "  behind the retained start" : "");
    }
    printf("\ncommit %" PRIu64 ", the log starts at index %" PRIu64 "\n",
           commit, first);
    return 0;
}

static int s_show(raftlog_t *client, const cli_args_t *a, const char *name)
{
    raftlog_consumer_t c;
    uint64_t commit = 0, first = 0;
    int rc = raftlog_consumer_show(client, name, &c, &commit, &first);
    if (rc)
        return cli_client_fail(client, rc, NULL);
    if (a->json) {
        json_t *object = s_json_named(&c, commit, first);
        if (object &&
            (json_object_set_new(object, "commit", cli_json_uint(commit)) ||
             json_object_set_new(object, "first", cli_json_uint(first)))) {
            json_decref(object);
            object = NULL;
        }
        return cli_json_print(object);
    }
    printf("consumer %s: position %" PRIu64 " (next read from %" PRIu64
           "), %" PRIu64 " behind the commit index %" PRIu64 "\n",
           c.name, c.index, c.index + 1, s_lag(c.index, commit), commit);
    if (s_behind(c.index, first))
        printf("its next entry is no longer retained: the log starts at "
               "index %" PRIu64 "; reset it to go on (raftlog consumers reset "
               "%s --to start)\n",
               first, c.name);
    return 0;
}

/* --to INDEX|start|end: the position to reset to (the consumer resumes
   after it). start and end ask the leader where the log starts and ends. */
static int s_target(raftlog_t *client, const char *to, uint64_t *position)
{
    if (strcmp(to, "start") == 0 || strcmp(to, "end") == 0) {
        const raftlog_consumer_t *consumers;
        size_t count;
        uint64_t commit = 0, first = 0;
        int rc =
            raftlog_consumers_list(client, &consumers, &count, &commit, &first);
        if (rc)
            return cli_client_fail(client, rc, NULL);
        *position = to[0] == 's' ? first - 1 : commit;
        return 0;
    }
    uint64_t index;
    if (cli_number("to", to, 1, UINT64_MAX, &index))
        return cli_fail(CLI_EXIT_USAGE,
                        "--to takes an index (1 or more), start or end");
    *position = index - 1;
    return 0;
}

static int s_reset(raftlog_t *client, const cli_args_t *a, const char *name)
{
    if (!a->to == !a->to_time)
        return cli_fail(CLI_EXIT_USAGE,
                        "reset needs --to INDEX|start|end or --to-time TIME "
                        "(one of them)");
    uint64_t position = 0;
    int rc;
    if (a->to_time) {
        uint64_t time;
        if (cli_time("to-time", a->to_time, &time))
            return CLI_EXIT_USAGE;
        rc = raftlog_consumer_reset_to_time(client, name, time, &position);
    } else {
        uint64_t target = 0;
        if ((rc = s_target(client, a->to, &target)))
            return rc;
        rc = raftlog_consumer_reset(client, name, target, &position);
    }
    if (rc)
        return cli_client_fail(client, rc,
                               rc == RAFTLOG_ERR_UNAVAILABLE &&
                                       raftlog_outcome_unknown(client)
                                   ? "the reset's outcome is unknown"
                                   : NULL);
    if (a->json)
        return cli_json_print(json_pack("{s:s,s:o}", "name", name, "index",
                                        cli_json_uint(position)));
    printf("consumer %s reset: position %" PRIu64 ", next read from %" PRIu64
           "\n",
           name, position, position + 1);
    return 0;
}

static int s_delete(raftlog_t *client, const cli_args_t *a, const char *name)
{
    int rc = raftlog_consumer_delete(client, name);
    if (rc)
        return cli_client_fail(client, rc, NULL);
    if (a->json)
        return cli_json_print(
            json_pack("{s:s,s:b}", "name", name, "deleted", true));
    printf("consumer %s deleted\n", name);
    return 0;
}

static int s_consumers(raftlog_t *client, cli_args_t *a)
{
    int log_rc = cli_use_log(client, a);
    if (log_rc)
        return log_rc;
    const char *op = a->arg_count ? a->args[0] : "list";
    bool named = strcmp(op, "show") == 0 || strcmp(op, "reset") == 0 ||
                 strcmp(op, "delete") == 0;
    if (strcmp(op, "list") != 0 && !named) {
        static const char *const ops[] = {"list", "show", "reset", "delete",
                                          NULL};
        const char *close = cli_suggest(op, ops);
        return cli_fail(CLI_EXIT_USAGE,
                        "'%s' is not list, show, reset or delete%s%s%s (see "
                        "'raftlog consumers --help')",
                        op, close ? "; did you mean '" : "", close ? close : "",
                        close ? "'?" : "");
    }
    if (named && a->arg_count != 2)
        return cli_fail(
            CLI_EXIT_USAGE, "usage: raftlog consumers %s NAME%s", op,
            strcmp(op, "reset") == 0 ? " --to INDEX|start|end | --to-time TIME"
                                     : "");
    if (!named && a->arg_count > 1)
        return cli_fail(CLI_EXIT_USAGE, "list takes no arguments");
    if ((a->to || a->to_time) && strcmp(op, "reset") != 0)
        return cli_fail(CLI_EXIT_USAGE, "--to and --to-time go with reset");
    if (!named)
        return s_list(client, a);
    const char *name = a->args[1];
    if (strcmp(op, "show") == 0)
        return s_show(client, a, name);
    if (strcmp(op, "reset") == 0)
        return s_reset(client, a, name);
    return s_delete(client, a, name);
}

const cli_command_t cli_consumers = {
    "consumers",
    "[list | show NAME | reset NAME --to INDEX|start|end | reset NAME "
    "--to-time TIME | delete NAME] [--log NAME] [--json]",
    "list, show, reset or delete durable consumers",
    "The positions the cluster keeps for durable consumers (raftlog tail\n"
    "--consumer NAME commits them): a position is the last index the\n"
    "consumer processed; it resumes at the next. list prints every consumer\n"
    "with its lag behind the commit index; show one. reset moves one back or\n"
    "forth (stop its tails first: a running one commits over it) and\n"
    "delete forgets one: both need an admin key. Each log has consumers of\n"
    "its own: --log NAME names the log.",
    s_options,
    s_consumers,
    false};

/*  members.c - `raftlog members`: lists the configuration, or adds or
    removes a server, one change at a time.
*/
#include "cli.h"

#include <inttypes.h>
#include <string.h>

static const cli_option_t s_options[] = {
    {CLI_O_JSON, "json", 0, NULL,
     "print [{\"id\",\"voter\",\"peer\",\"client\"}, ...] instead of a table"},
    {0, NULL, 0, NULL, NULL}};

static json_t *s_json_member(const void *context, size_t i)
{
    const raftlog_member_t *m = (const raftlog_member_t *)context + i;
    return json_pack("{s:o,s:b,s:o,s:o}", "id", cli_json_uint(m->id), "voter",
                     m->voter, "peer", cli_json_text(m->peer), "client",
                     cli_json_text(m->client));
}

static int s_print(const raftlog_member_t *m, size_t count, bool json)
{
    if (json)
        return cli_json_print(cli_json_array(count, s_json_member, m));
    printf("%-4s %-8s %-28s %s\n", "ID", "KIND", "PEER", "CLIENT");
    for (size_t i = 0; i < count; i++) {
        char peer[RAFTLOG_MAX_ENDPOINT + 1], client[RAFTLOG_MAX_ENDPOINT + 1];
        printf("%-4" PRIu64 " %-8s %-28s %s\n", m[i].id,
               m[i].voter ? "voter" : "learner",
               cli_printable(m[i].peer, peer, sizeof(peer)),
               cli_printable(m[i].client, client, sizeof(client)));
    }
    return 0;
}

static int s_members(raftlog_t *client, cli_args_t *a)
{
    raftlog_member_t members[RAFTLOG_MAX_MEMBERS];
    size_t count = 0;
    const char *op = a->arg_count ? a->args[0] : "list";
    int rc;
    uint64_t id = 0;
    if (strcmp(op, "list") == 0) {
        if (a->arg_count > 1)
            return cli_fail(CLI_EXIT_USAGE, "list takes no arguments");
        rc = raftlog_members(client, members, &count);
    } else if (strcmp(op, "add") == 0) {
        if (a->arg_count != 4)
            return cli_fail(CLI_EXIT_USAGE, "usage: raftlog members add ID "
                                            "PEER_ENDPOINT CLIENT_ENDPOINT");
        if (cli_number("members add ID", a->args[1], 1, UINT64_MAX, &id))
            return CLI_EXIT_USAGE;
        rc = raftlog_member_add(client, id, a->args[2], a->args[3], members,
                                &count);
    } else if (strcmp(op, "remove") == 0) {
        if (a->arg_count != 2)
            return cli_fail(CLI_EXIT_USAGE, "usage: raftlog members remove ID");
        if (cli_number("members remove ID", a->args[1], 1, UINT64_MAX, &id))
            return CLI_EXIT_USAGE;
        rc = raftlog_member_remove(client, id, members, &count);
    } else {
        static const char *const ops[] = {"list", "add", "remove", NULL};
        const char *close = cli_suggest(op, ops);
        return cli_fail(CLI_EXIT_USAGE,
                        "'%s' is not list, add or remove%s%s%s (see 'raftlog "
                        "members --help')",
                        op, close ? "; did you mean '" : "", close ? close : "",
                        close ? "'?" : "");
    }
    if (rc)
        return cli_client_fail(client, rc,
                               rc != RAFTLOG_ERR_UNAVAILABLE || !id ? NULL
                               : raftlog_outcome_unknown(client)
                                   ? "the change's outcome is unknown"
                                   : "the change was not made");
    return s_print(members, count, a->json);
}

const cli_command_t cli_members = {
    "members",
    "list|add ID PEER CLIENT|remove ID [--json]",
    "list, add or remove cluster members",
    "list prints the configuration. add makes a new server (started with\n"
    "raftlog-node --join) a learner, promoted to voter once caught up; "
    "remove\ntakes one out. Both return once the change has committed and "
    "print the new\nconfiguration; one change at a time.",
    s_options,
    s_members,
    false};

/*  main.c - `raftlog`, the command line client: finds the command, parses
    its options and runs it.

        raftlog [CONNECTION OPTIONS] COMMAND [OPTIONS] [ARGS]

    Everything goes through libraftlog (raftlog.h); each command lives in
    a file of its own (append.c, tail.c, ...). Errors are one line on
    stderr, "raftlog: COMMAND: message" (or "raftlog: message" before a
    command is known), and an exit code:

        0  done
        1  failed otherwise (unreadable input, I/O error, a bad reply)
        2  usage error (unknown option, bad value, malformed endpoint)
        3  unavailable: no node answered, no leader, no quorum, or not
           committed in time
        4  rejected: the cluster refused the request (too large, out of
           range, a membership change under way, FORBIDDEN by the key's
           role, ...), or refused our key
*/
#include "cli.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

static const cli_command_t *const s_commands[] = {
    &cli_append,    &cli_tail,     &cli_status, &cli_health,
    &cli_members,   &cli_transfer, &cli_keygen, &cli_top,
    &cli_consumers, &cli_logs,     NULL};

static const char s_exit_codes[] =
    "Exit status: 0 done; 1 failed otherwise (bad input data, I/O); 2 usage "
    "error;\n3 unavailable (no node answered, no leader, no quorum, or not "
    "committed in\ntime); 4 rejected (the cluster refused the request, or "
    "our key).\n";

static void s_command_help(const cli_command_t *c)
{
    printf("usage: raftlog %s %s\n\n%s\n\n", c->name, c->synopsis, c->details);
    if (c->options[0].name) {
        printf("Options:\n");
        cli_print_options(stdout, c->options);
        printf("\n");
    }
    if (c->local) {
        printf("Exit status: 0 done; 1 failed (I/O, a file in the way); 2 "
               "usage error.\n");
        return;
    }
    printf("Connection options:\n");
    cli_print_options(stdout, cli_common_options);
    printf("\n%s", s_exit_codes);
}

static void s_usage(FILE *out)
{
    fprintf(out, "usage: raftlog [--cluster ENDPOINTS | --broker[=ENDPOINT]] "
                 "COMMAND [ARGS]\n\nThe command line client of raftlog, a "
                 "replicated append-only log.\n\nCommands:\n");
    for (const cli_command_t *const *c = s_commands; *c; c++)
        fprintf(out, "  %-16s %s\n", (*c)->name, (*c)->summary);
    fprintf(out,
            "  %-16s %s\n\nConnection options (before or after the "
            "command):\n",
            "help [COMMAND]", "this help, or a command's");
    cli_print_options(out, cli_common_options);
    fprintf(out,
            "\nEndpoints: --cluster, else --broker, else $%s, else\n%s.\n"
            "Keys (CURVE): --key and --server-key, else $%s and $%s.\n"
            "Log (append, tail, status, consumers): --log, else $%s, else "
            "%s.\n"
            "A flag beats the environment.\n\n%s",
            RAFTLOG_ENDPOINTS_ENV, RAFTLOG_DEFAULT_NODES, RAFTLOG_KEY_ENV,
            RAFTLOG_SERVER_KEY_ENV, RAFTLOG_LOG_ENV, RAFTLOG_DEFAULT_LOG,
            s_exit_codes);
}

/* The command called name, or NULL with the error printed. */
static const cli_command_t *s_lookup(const char *name)
{
    const char *names[sizeof(s_commands) / sizeof(s_commands[0]) + 1];
    size_t n = 0;
    for (const cli_command_t *const *c = s_commands; *c; c++) {
        if (strcmp((*c)->name, name) == 0)
            return *c;
        names[n++] = (*c)->name;
    }
    names[n++] = "help";
    names[n] = NULL;
    const char *close = cli_suggest(name, names);
    if (close)
        cli_fail(CLI_EXIT_USAGE,
                 "'%s' is not a command; did you mean '%s'? (see 'raftlog "
                 "help')",
                 name, close);
    else
        cli_fail(CLI_EXIT_USAGE, "'%s' is not a command (see 'raftlog help')",
                 name);
    return NULL;
}

/* raftlog help [COMMAND], raftlog --help, raftlog COMMAND --help. */
static int s_help(const char *name)
{
    if (!name) {
        s_usage(stdout);
        return 0;
    }
    const cli_command_t *c = s_lookup(name);
    if (!c)
        return CLI_EXIT_USAGE;
    s_command_help(c);
    return 0;
}

static int s_run(const cli_command_t *c, int argc, char **argv, cli_args_t *a)
{
    cli_set_command(c->name);
    int rc = cli_parse(c, argc, argv, a, NULL);
    if (rc)
        return rc;
    if (a->help) {
        s_command_help(c);
        return 0;
    }
    if (c->local)
        return c->run(NULL, a);
    raftlog_t *client = raftlog_new();
    if (!client)
        return cli_fail(CLI_EXIT_FAILED, "out of memory");
    rc = cli_connect(client, a);
    if (!rc)
        rc = c->run(client, a);
    raftlog_destroy(&client);
    return rc;
}

int main(int argc, char **argv)
{
    /* A command line tool dies on Ctrl-C like any other; czmq must not
       catch the signal. */
    zsys_handler_set(NULL);
    /* czmq logs on stdout by default (a parse error in a certificate
       file, for one): stdout is the command's output, and every error
       the command line has is said on stderr in its own words. */
    zsys_set_logstream(NULL);
    cli_args_t a;
    memset(&a, 0, sizeof(a));
    a.retries = -1;
    a.batch = 100;
    a.args = calloc((size_t)argc + 1, sizeof(char *));
    if (!a.args)
        return CLI_EXIT_FAILED;
    /* Connection options may come before the command. */
    int at = 1;
    int rc = cli_parse(NULL, argc, argv, &a, &at);
    if (rc) {
    } else if (a.version) {
        printf("raftlog %s\n", RAFTLOG_VERSION);
    } else if (at == argc && !a.help) {
        s_usage(stderr);
        rc = CLI_EXIT_USAGE;
    } else if (at == argc || strcmp(argv[at], "help") == 0) {
        const char *name = at == argc      ? NULL
                           : at + 1 < argc ? argv[at + 1]
                                           : NULL;
        rc = s_help(name);
    } else if (a.help) {
        rc = s_help(argv[at]);
    } else {
        const cli_command_t *c = s_lookup(argv[at]);
        rc = c ? s_run(c, argc - at, argv + at, &a) : CLI_EXIT_USAGE;
    }
    free(a.args);
    return rc;
}

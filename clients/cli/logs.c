/*  logs.c - `raftlog logs`: the cluster's named logs: list them, create
    one with its settings, change a log's settings, delete one. The
    catalog's leader (the default log's) answers create, configure and
    delete once committed; any node answers list (the library follows
    NOT_LEADER).
*/
#include "cli.h"

#include <inttypes.h>
#include <string.h>

static const cli_option_t s_options[] = {
    {CLI_O_RETENTION, "retention", 0, "SIZE",
     "create, configure: keep about SIZE bytes of the log, dropping the "
     "oldest segments (K, M, G, T suffixes; 0: keep all, the default)"},
    {CLI_O_RETENTION_AGE, "retention-age", 0, "DURATION",
     "create, configure: drop entries older than this (e.g. 7d; 0: no "
     "age limit, the default)"},
    {CLI_O_MAX_ENTRY, "max-entry", 0, "SIZE",
     "create, configure: the largest entry the log takes (at most 1M; 0: "
     "the nodes' --max-entry, the default)"},
    {CLI_O_JSON, "json", 0, NULL, "print JSON instead of text"},
    {CLI_O_FORMAT, "format", 0, "text|json", "--format json: as --json"},
    {0, NULL, 0, NULL, NULL}};

/* "1 GiB", "512 KiB", "100 B": a size for people; "keep all" for 0. */
static const char *s_size_text(uint64_t bytes, const char *zero, char *out,
                               size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes == 0)
        return zero;
    size_t unit = 0;
    while (unit < 4 && bytes % 1024 == 0 && bytes >= 1024) {
        bytes /= 1024;
        unit++;
    }
    snprintf(out, size, "%" PRIu64 " %s", bytes, units[unit]);
    return out;
}

/* "7d", "90m", "1500ms": a duration for people; "none" for 0. */
static const char *s_age_text(uint64_t ms, char *out, size_t size)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"w", 604800000}, {"d", 86400000}, {"h", 3600000},
                 {"m", 60000},     {"s", 1000},     {"ms", 1}};
    if (ms == 0)
        return "none";
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (ms % units[i].ms == 0) {
            snprintf(out, size, "%" PRIu64 "%s", ms / units[i].ms,
                     units[i].unit);
            break;
        }
    return out;
}

static json_t *s_json_log(const raftlog_log_info_t *log)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "name", cli_json_text(log->name),
                     "group", cli_json_uint(log->group), "retention_bytes",
                     cli_json_uint(log->settings.retention_bytes),
                     "retention_ms", cli_json_uint(log->settings.retention_ms),
                     "max_entry_bytes",
                     cli_json_uint(log->settings.max_entry_bytes));
}

static void s_print_header(void)
{
    printf("%-32s %8s %14s %12s %12s\n", "NAME", "GROUP", "RETENTION", "AGE",
           "MAX ENTRY");
}

static void s_print_log(const raftlog_log_info_t *log)
{
    char retention[32], age[32], max_entry[32];
    printf("%-32s %8" PRIu64 " %14s %12s %12s\n", log->name, log->group,
           s_size_text(log->settings.retention_bytes, "keep all", retention,
                       sizeof(retention)),
           s_age_text(log->settings.retention_ms, age, sizeof(age)),
           s_size_text(log->settings.max_entry_bytes, "node's", max_entry,
                       sizeof(max_entry)));
}

/* Whether the output is JSON: --json or --format json. */
static int s_json(const cli_args_t *a, bool *json)
{
    *json = a->json;
    if (!a->format || strcmp(a->format, "text") == 0)
        return 0;
    if (strcmp(a->format, "json") == 0) {
        *json = true;
        return 0;
    }
    return cli_fail(CLI_EXIT_USAGE, "--format: '%s' must be text or json",
                    a->format);
}

/* The settings the options give, and which of them they give. */
static int s_settings(const cli_args_t *a, raftlog_log_settings_t *settings,
                      unsigned *which)
{
    memset(settings, 0, sizeof(*settings));
    *which = 0;
    uint64_t value = 0;
    if (a->retention) {
        if (cli_size("retention", a->retention, 0, UINT64_MAX, &value))
            return CLI_EXIT_USAGE;
        settings->retention_bytes = value;
        *which |= RAFTLOG_SET_RETENTION_BYTES;
    }
    if (a->retention_age) {
        if (strcmp(a->retention_age, "0") == 0)
            value = 0;
        else if (cli_duration("retention-age", a->retention_age, &value))
            return CLI_EXIT_USAGE;
        settings->retention_ms = value;
        *which |= RAFTLOG_SET_RETENTION_MS;
    }
    if (a->max_entry) {
        if (cli_size("max-entry", a->max_entry, 0, RAFTLOG_MAX_ENTRY_SIZE,
                     &value))
            return CLI_EXIT_USAGE;
        settings->max_entry_bytes = (uint32_t)value;
        *which |= RAFTLOG_SET_MAX_ENTRY_BYTES;
    }
    return 0;
}

/* Reports a failed catalog request; nodes of before named logs do not
   know LOGS_REQUEST at all. */
static int s_fail(raftlog_t *client, int rc)
{
    return cli_client_fail(client, rc,
                           rc == RAFTLOG_ERR_UNKNOWN_TYPE
                               ? "the nodes do not know named logs (a "
                                 "version before them: upgrade every node)"
                               : NULL);
}

static int s_list(raftlog_t *client, bool json)
{
    const raftlog_log_info_t *logs;
    size_t count;
    int rc = raftlog_logs_list(client, &logs, &count);
    if (rc)
        return s_fail(client, rc);
    if (json) {
        json_t *array = json_array();
        for (size_t i = 0; array && i < count; i++)
            if (json_array_append_new(array, s_json_log(&logs[i])) != 0) {
                json_decref(array);
                array = NULL;
            }
        return cli_json_print(array ? json_pack("{s:o}", "logs", array) : NULL);
    }
    s_print_header();
    for (size_t i = 0; i < count; i++)
        s_print_log(&logs[i]);
    return 0;
}

/* Prints the log a create or configure returned. */
static int s_print_one(const raftlog_log_info_t *log, bool json,
                       const char *done)
{
    if (json)
        return cli_json_print(s_json_log(log));
    printf("%s log %s (group %" PRIu64 ")\n\n", done, log->name, log->group);
    s_print_header();
    s_print_log(log);
    return 0;
}

static int s_logs(raftlog_t *client, cli_args_t *a)
{
    static const char *const ops[] = {"list", "create", "delete", "configure",
                                      NULL};
    const char *op = a->arg_count ? a->args[0] : "list";
    bool json = false;
    int rc = s_json(a, &json);
    if (rc)
        return rc;
    size_t op_index = 0;
    while (ops[op_index] && strcmp(ops[op_index], op) != 0)
        op_index++;
    if (!ops[op_index]) {
        const char *close = cli_suggest(op, ops);
        return cli_fail(CLI_EXIT_USAGE,
                        "'%s' is not list, create, delete or configure%s%s%s",
                        op, close ? "; did you mean '" : "", close ? close : "",
                        close ? "'?" : "");
    }
    bool named = op_index != 0;
    if (named && a->arg_count < 2)
        return cli_fail(CLI_EXIT_USAGE,
                        "logs %s needs the log's name: raftlog logs %s NAME",
                        op, op);
    if (a->arg_count > (named ? 2 : 1))
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'",
                        a->args[named ? 2 : 1]);
    const char *name = named ? a->args[1] : NULL;
    if (name && !raftlog_log_name_valid(name)) {
        char shown[96];
        return cli_fail(CLI_EXIT_USAGE,
                        "'%s' is not a log name: 1 to %d characters of a-z, "
                        "0-9, '.', '_' and '-'",
                        cli_printable(name, shown, sizeof(shown)),
                        RAFTLOG_MAX_LOG_NAME);
    }
    raftlog_log_settings_t settings;
    unsigned which;
    if ((rc = s_settings(a, &settings, &which)))
        return rc;
    bool takes_settings =
        strcmp(op, "create") == 0 || strcmp(op, "configure") == 0;
    if (which && !takes_settings)
        return cli_fail(CLI_EXIT_USAGE,
                        "--retention, --retention-age and --max-entry go "
                        "with create and configure, not %s",
                        op);
    raftlog_log_info_t log;
    if (strcmp(op, "list") == 0)
        return s_list(client, json);
    if (strcmp(op, "create") == 0) {
        rc = raftlog_log_create(client, name, &settings, &log);
        return rc ? s_fail(client, rc) : s_print_one(&log, json, "created");
    }
    if (strcmp(op, "configure") == 0) {
        if (!which)
            return cli_fail(CLI_EXIT_USAGE,
                            "logs configure %s changes nothing: give "
                            "--retention, --retention-age or --max-entry",
                            name);
        rc = raftlog_log_configure(client, name, &settings, which, &log);
        return rc ? s_fail(client, rc) : s_print_one(&log, json, "configured");
    }
    rc = raftlog_log_delete(client, name);
    if (rc)
        return s_fail(client, rc);
    if (json)
        return cli_json_print(
            json_pack("{s:o,s:b}", "name", cli_json_text(name), "deleted", 1));
    printf("deleted log %s\n", name);
    return 0;
}

const cli_command_t cli_logs = {
    "logs",
    "[list | create NAME [--retention SIZE] [--retention-age DURATION] "
    "[--max-entry SIZE] | configure NAME [SETTINGS] | delete NAME] [--json]",
    "list, create, configure or delete named logs",
    "A cluster holds many logs, each replicated on its own (its own Raft\n"
    "group and leader); the log called default always exists. list prints\n"
    "every log with its settings. create makes a new one (a name is 1 to 64\n"
    "characters of a-z, 0-9, '.', '_' and '-'); configure changes the\n"
    "settings it is given and keeps the others; delete removes a log and\n"
    "every entry in it, for good. create, configure and delete need an\n"
    "admin key and return once committed. Work on a log with --log NAME\n"
    "(or $" RAFTLOG_LOG_ENV ") on append, tail, status and consumers.",
    s_options,
    s_logs,
    false};

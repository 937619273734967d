/*  rl_options.c - flags and ZPL config files from an option table; see
    rl_options.h.
*/
#include "rl_options.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "rl_logging.h"

int rl_options_fail(char *err, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(err, RL_OPTIONS_ERROR_SIZE, format, args);
    va_end(args);
    return -1;
}

static const rl_option_t *s_find(const rl_options_t *spec, const char *flag,
                                 size_t length)
{
    for (size_t i = 0; i < spec->count; i++)
        if (strlen(spec->options[i].flag) == length &&
            strncmp(spec->options[i].flag, flag, length) == 0)
            return &spec->options[i];
    return NULL;
}

/* Applies the config file: every keyed option, then the list section. */
/* Finds a key of the file that no option has (a typo would otherwise
   leave the default in place without a word): 0, or -1 with err set. */
static int s_check_keys(const rl_options_t *spec, zconfig_t *section,
                        const char *prefix, const char *path, char *err)
{
    for (zconfig_t *c = zconfig_child(section); c; c = zconfig_next(c)) {
        char key[256];
        snprintf(key, sizeof(key), "%s%s", prefix, zconfig_name(c));
        if (spec->list_key && strcmp(key, spec->list_key) == 0)
            continue;
        if (zconfig_child(c)) {
            char inner[sizeof(key) + 1];
            snprintf(inner, sizeof(inner), "%s/", key);
            if (s_check_keys(spec, c, inner, path, err) != 0)
                return -1;
            continue;
        }
        bool known = false;
        for (size_t i = 0; i < spec->count && !known; i++)
            known =
                spec->options[i].key && strcmp(spec->options[i].key, key) == 0;
        if (!known)
            return rl_options_fail(err,
                                   "%s: unknown key '%s'; see --help for "
                                   "the keys (in brackets)",
                                   path, key);
    }
    return 0;
}

static int s_load_file(const rl_options_t *spec, void *config, const char *path,
                       char *err)
{
    zconfig_t *root = zconfig_load(path);
    if (!root)
        return rl_options_fail(err,
                               "config file %s cannot be read or is not "
                               "valid ZPL (indent with 4 spaces, 'key = "
                               "value')",
                               path);
    int rc = s_check_keys(spec, root, "", path, err);
    for (size_t i = 0; i < spec->count && rc == 0; i++) {
        const rl_option_t *o = &spec->options[i];
        if (!o->key)
            continue;
        const char *value = zconfig_get(root, o->key, NULL);
        if (value && (rc = o->set(config, value, err)) != 0) {
            char inner[RL_OPTIONS_ERROR_SIZE];
            snprintf(inner, sizeof(inner), "%s", err);
            rl_options_fail(err, "%s: %s: %s", path, o->key, inner);
        }
    }
    if (rc == 0 && spec->load_list)
        rc = spec->load_list(config, root, err);
    zconfig_destroy(&root);
    return rc;
}

int rl_options_parse(const rl_options_t *spec, void *config, int argc,
                     char **argv, bool *help, char *err)
{
    *help = false;
    /* The config file first, wherever --config stands, so flags win. */
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        if (strncmp(argv[i], "--config=", 9) == 0)
            value = argv[i] + 9;
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            value = argv[i + 1];
        if (value && s_load_file(spec, config, value, err))
            return -1;
    }
    bool list_from_flags = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0)
            return rl_options_fail(err, "unexpected argument '%s'; see --help",
                                   arg);
        const char *name = arg + 2;
        const char *equals = strchr(name, '=');
        size_t length = equals ? (size_t)(equals - name) : strlen(name);
        const rl_option_t *o = s_find(spec, name, length);
        if (!o)
            return rl_options_fail(err, "unknown option '%s'; see --help", arg);
        const char *value = "true";
        if (o->metavar) {
            if (equals)
                value = equals + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return rl_options_fail(err, "option --%s needs a value (%s)",
                                       o->flag, o->metavar);
        } else if (equals) {
            return rl_options_fail(err, "option --%s takes no value", o->flag);
        }
        if (!o->set) { /* --config, already applied, or --help */
            *help = *help || strcmp(o->flag, "help") == 0;
            continue;
        }
        if (o->list && !list_from_flags) {
            spec->clear_list(config);
            list_from_flags = true;
        }
        if (o->set(config, value, err))
            return -1;
    }
    return 0;
}

void rl_options_print(const rl_options_t *spec, FILE *out)
{
    for (size_t i = 0; i < spec->count; i++) {
        const rl_option_t *o = &spec->options[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->flag, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-*s %s", spec->flag_width, left, o->help);
        if (o->def)
            fprintf(out, "; default %s", o->def);
        if (o->key)
            fprintf(out, " [%s]", o->key);
        fprintf(out, "\n");
    }
}

/* Parses a whole decimal number with an optional binary size suffix.
   Signs are refused here because strtoull would accept "-1" as a huge
   number. */
static int s_parse_number(const char *value, bool sizes, uint64_t *out)
{
    if (!value || !*value || *value == '-' || *value == '+')
        return -1;
    errno = 0;
    char *end;
    unsigned long long number = strtoull(value, &end, 10);
    if (errno || end == value)
        return -1;
    unsigned shift = 0;
    if (sizes && *end) {
        const char *units = "KMGT";
        const char *unit = strchr(units, *end);
        if (!unit)
            return -1;
        shift = 10u * (unsigned)(unit - units + 1);
        end++;
        if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
            end += strlen(end);
    }
    if (*end)
        return -1;
    if (shift && number > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)number << shift;
    return 0;
}

int rl_options_u64(const char *name, const char *value, uint64_t min,
                   uint64_t max, bool sizes, uint64_t *out, char *err)
{
    uint64_t number;
    if (s_parse_number(value, sizes, &number) || number < min || number > max)
        return rl_options_fail(
            err, "%s: '%s' is not a %s from %llu to %llu%s; fix the value",
            name, value ? value : "", sizes ? "size" : "whole number",
            (unsigned long long)min, (unsigned long long)max,
            sizes ? " (suffixes K, M, G, T allowed)" : "");
    *out = number;
    return 0;
}

int rl_options_u32(const char *name, const char *value, uint32_t min,
                   uint32_t max, bool sizes, uint32_t *out, char *err)
{
    uint64_t number;
    if (rl_options_u64(name, value, min, max, sizes, &number, err))
        return -1;
    *out = (uint32_t)number;
    return 0;
}

int rl_options_endpoint(const char *name, const char *value,
                        const char *example, char *err)
{
    if (strncmp(value, "tcp://", 6) && strncmp(value, "ipc://", 6) &&
        strncmp(value, "inproc://", 9))
        return rl_options_fail(err,
                               "%s: '%s' is not a ZeroMQ endpoint; write it "
                               "like %s",
                               name, value, example);
    return 0;
}

bool rl_options_endpoint_is_local(const char *endpoint)
{
    /* ipc:// is a file on this machine, inproc:// inside the process. */
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return true;
    const char *host = endpoint + 6;
    const char *colon = strrchr(host, ':');
    size_t length = colon ? (size_t)(colon - host) : strlen(host);
    char name[RL_OPTIONS_ERROR_SIZE];
    if (length >= sizeof(name))
        return false;
    memcpy(name, host, length);
    name[length] = '\0';
    if (strcmp(name, "localhost") == 0 || strcmp(name, "lo") == 0 ||
        strcmp(name, "[::1]") == 0 || strcmp(name, "::1") == 0)
        return true;
    /* 127.0.0.0/8, written as four decimal numbers. */
    unsigned a, b, c, d;
    char rest;
    return sscanf(name, "%u.%u.%u.%u%c", &a, &b, &c, &d, &rest) == 4 &&
           a == 127 && b < 256 && c < 256 && d < 256;
}

int rl_options_on_off(const char *name, const char *value, bool *out, char *err)
{
    if (strcmp(value, "on") == 0)
        *out = true;
    else if (strcmp(value, "off") == 0)
        *out = false;
    else
        return rl_options_fail(err, "%s: '%s' must be 'on' or 'off'", name,
                               value);
    return 0;
}

int rl_options_log_level(const char *value, int *level, char *err)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = RL_LOG_ERROR; i <= RL_LOG_DEBUG; i++)
        if (strcmp(value, names[i]) == 0) {
            *level = i;
            return 0;
        }
    return rl_options_fail(
        err, "log level: '%s' must be error, warn, info or debug", value);
}

/*  output.c - how `raftlog` speaks: one-line errors on stderr with one
    prefix, exit codes from the library's error codes, numbers from the
    command line, text from the network made safe for a terminal, and JSON
    through jansson (which escapes strings and rejects UTF-8 that is not
    valid, overlong encodings and surrogates included).
*/
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *s_command; /* for the error prefix; NULL: none */

void cli_set_command(const char *name)
{
    s_command = name;
}

/* One line on stderr. Messages carry text from the network (a node's
   error message, endpoints): control characters become '?', so that
   nothing a server sends can move the cursor or recolour a terminal. */
static void s_say(const char *format, va_list args)
{
    char line[2048];
    vsnprintf(line, sizeof(line), format, args);
    for (char *c = line; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    if (s_command)
        fprintf(stderr, "raftlog: %s: %s\n", s_command, line);
    else
        fprintf(stderr, "raftlog: %s\n", line);
}

int cli_fail(int code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    s_say(format, args);
    va_end(args);
    return code;
}

void cli_note(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    s_say(format, args);
    va_end(args);
}

int cli_exit_code(int code)
{
    switch (code) {
    case RAFTLOG_OK:
        return CLI_EXIT_OK;
    case RAFTLOG_ERR_UNAVAILABLE:
    case RAFTLOG_ERR_TIMEOUT:
    case RAFTLOG_ERR_SHUTTING_DOWN:
    case RAFTLOG_ERR_BUSY:
    case RAFTLOG_ERR_NO_SPACE:
    case RAFTLOG_ERR_NO_LEADER:
    case RAFTLOG_ERR_INTERNAL:
        return CLI_EXIT_UNAVAILABLE;
    case RAFTLOG_ERR_INVALID:
        return CLI_EXIT_USAGE;
    case RAFTLOG_ERR_INTERRUPTED:
        return 130;
    case RAFTLOG_ERR_PROTOCOL:
    case RAFTLOG_ERR_NO_MEMORY:
        return CLI_EXIT_FAILED;
    case RAFTLOG_ERR_AUTH:      /* the server refused our key */
    case RAFTLOG_ERR_FORBIDDEN: /* our key's role may not do this */
        return CLI_EXIT_REJECTED;
    default:
        return CLI_EXIT_REJECTED;
    }
}

int cli_client_fail(raftlog_t *client, int code, const char *what)
{
    const char *origin =
        code == RAFTLOG_ERR_UNAVAILABLE ? cli_endpoints_origin() : "";
    /* A log that does not exist: say how to find the ones that do, when
       the cluster's message does not. */
    const char *hint =
        code == RAFTLOG_ERR_NOT_FOUND &&
                strcmp(raftlog_log_name(client), RAFTLOG_DEFAULT_LOG) != 0 &&
                !strstr(raftlog_error(client), "logs list")
            ? " (log names: `raftlog logs list`)"
            : "";
    return cli_fail(cli_exit_code(code), "%s%s%s%s%s%s%s", what ? what : "",
                    what ? ": " : "", raftlog_error(client), hint,
                    *origin ? " (endpoints from " : "", origin,
                    *origin ? ")" : "");
}

int cli_number(const char *option, const char *value, uint64_t min,
               uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (!*value || *value == '-' || *end || errno || n < min || n > max)
        return cli_fail(CLI_EXIT_USAGE,
                        "--%s: '%s' is not a whole number from %" PRIu64
                        " to %" PRIu64,
                        option, value, min, max);
    *out = n;
    return 0;
}

int cli_size(const char *option, const char *value, uint64_t min, uint64_t max,
             uint64_t *bytes)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    unsigned shift = 0;
    const char *units = "KMGT", *unit = *end ? strchr(units, *end) : NULL;
    bool ok = *value && *value != '-' && *value != '+' && end != value &&
              !errno && (!*end || unit);
    if (ok && unit) {
        shift = 10u * (unsigned)(unit - units + 1);
        end++;
        ok = !*end || strcmp(end, "iB") == 0 || strcmp(end, "B") == 0;
    }
    if (ok && shift && n > (UINT64_MAX >> shift))
        ok = false;
    uint64_t size = ok ? (uint64_t)n << shift : 0;
    if (!ok || size < min || size > max)
        return cli_fail(CLI_EXIT_USAGE,
                        "--%s: '%s' is not a size from %" PRIu64 " to %" PRIu64
                        " bytes (a whole number, suffixes K, M, G, T "
                        "allowed: 512M)",
                        option, value, min, max);
    *bytes = size;
    return 0;
}

double cli_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

uint64_t cli_wall_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

int cli_duration(const char *option, const char *value, uint64_t *ms)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
                 {"h", 3600000}, {"d", 86400000}, {"w", 604800000}};
    char *end;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (end != value && *value != '-' && !errno)
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strcmp(end, units[i].unit) == 0 &&
                n <= UINT64_MAX / units[i].ms) {
                *ms = n * units[i].ms;
                return 0;
            }
    return cli_fail(CLI_EXIT_USAGE,
                    "--%s: '%s' is not a duration: a whole number and a "
                    "unit, ms, s, m, h, d or w (e.g. 10m)",
                    option, value);
}

/* Reads n digits (exactly) at *p into *out; advances *p. */
static bool s_digits(const char **p, int n, int *out)
{
    *out = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return false;
        *out = *out * 10 + (**p - '0');
    }
    return true;
}

/* ISO 8601: DATE 'T' HH:MM[:SS[.fff]] ZONE, ZONE 'Z' or +HH:MM / -HH:MM. */
static bool s_iso_time(const char *p, uint64_t *ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int year, month, day, hour, minute, second = 0, millis = 0;
    if (!s_digits(&p, 4, &year) || *p++ != '-' || !s_digits(&p, 2, &month) ||
        *p++ != '-' || !s_digits(&p, 2, &day))
        return false;
    if (*p != 'T' && *p != 't')
        return false;
    p++;
    if (!s_digits(&p, 2, &hour) || *p++ != ':' || !s_digits(&p, 2, &minute))
        return false;
    if (*p == ':') {
        p++;
        if (!s_digits(&p, 2, &second))
            return false;
        if (*p == '.' || *p == ',') {
            p++;
            int scale = 100, digits = 0;
            while (*p >= '0' && *p <= '9') {
                millis += (*p++ - '0') * scale;
                scale /= 10;
                digits++;
            }
            if (digits == 0)
                return false;
        }
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!s_digits(&p, 2, &oh) || *p++ != ':' || !s_digits(&p, 2, &om) ||
            oh > 23 || om > 59)
            return false;
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return false; /* a time without a zone means nothing here */
    }
    if (*p || year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 ||
        hour > 23 || minute > 59 || second > 60)
        return false;
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != day) /* 2026-02-30 moved on */
        return false;
    int64_t seconds = (int64_t)t - offset_s;
    if (seconds < 0)
        return false;
    *ms = (uint64_t)seconds * 1000 + (uint64_t)millis;
    return *ms > 0;
}

int cli_time(const char *option, const char *value, uint64_t *ms)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (end != value && !*end && *value != '-' && !errno && n > 0) {
        *ms = n;
        return 0;
    }
    if (s_iso_time(value, ms))
        return 0;
    return cli_fail(CLI_EXIT_USAGE,
                    "--%s: '%s' is not a time: give ISO 8601 with a zone "
                    "(2026-12-01T10:00:00Z, 2026-12-01T11:00:00+01:00) or "
                    "ms since the Unix epoch",
                    option, value);
}

const char *cli_time_text(uint64_t ms, char *out)
{
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    if (ms == 0 || !gmtime_r(&seconds, &tm) || tm.tm_year > 9999 - 1900) {
        snprintf(out, CLI_TIME_TEXT, ms ? "%" PRIu64 : "-", ms);
        return out;
    }
    snprintf(out, CLI_TIME_TEXT, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
    return out;
}

const char *cli_printable(const char *text, char *out, size_t size)
{
    size_t i = 0;
    for (; text[i] && i + 1 < size; i++)
        out[i] = (unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f
                     ? '?'
                     : text[i];
    out[i] = '\0';
    return out;
}

json_t *cli_json_uint(uint64_t value)
{
    if (value <= INT64_MAX)
        return json_integer((json_int_t)value);
    char digits[24];
    snprintf(digits, sizeof(digits), "%" PRIu64, value);
    return json_string(digits);
}

json_t *cli_json_text(const char *text)
{
    json_t *string = json_string(text);
    if (string)
        return string;
    /* Not UTF-8 (or no memory): keep the ASCII, mark the rest. */
    size_t length = strlen(text);
    char *ascii = malloc(length + 1);
    if (!ascii)
        return NULL;
    for (size_t i = 0; i <= length; i++)
        ascii[i] = (unsigned char)text[i] >= 0x80 ? '?' : text[i];
    string = json_string(ascii);
    free(ascii);
    return string;
}

json_t *cli_json_array(size_t count,
                       json_t *(*item)(const void *context, size_t i),
                       const void *context)
{
    json_t *array = json_array();
    for (size_t i = 0; array && i < count; i++)
        if (json_array_append_new(array, item(context, i)) != 0) {
            json_decref(array);
            array = NULL;
        }
    return array;
}

int cli_json_print(json_t *value)
{
    if (!value)
        return cli_fail(CLI_EXIT_FAILED, "out of memory");
    int rc = json_dumpf(value, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(value);
    if (rc != 0 || fputc('\n', stdout) == EOF)
        return cli_fail(CLI_EXIT_FAILED, "stdout: %s", strerror(errno));
    return 0;
}

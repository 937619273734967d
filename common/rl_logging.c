/*  rl_logging.c - log lines on stderr; see rl_logging.h. */
#include "rl_logging.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static char s_name[32] = "raftlog";
static int s_level = RL_LOG_INFO;
/* Lines suppressed by every limiter. Atomic: the ZAP handler's thread
   (rl_keys) has limiters of its own. */
static atomic_uint_fast64_t s_suppressed;

void rl_logging_init(const char *name, int level)
{
    snprintf(s_name, sizeof(s_name), "%s", name);
    s_level = level;
}

bool rl_logging_enabled(int level)
{
    return level <= s_level;
}

static void s_vlogf(int level, const char *suffix, const char *format,
                    va_list args)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    struct timeval now;
    gettimeofday(&now, NULL);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char line[2048];
    int n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, (int)(now.tv_usec / 1000),
                     names[level < 0   ? 0
                           : level > 3 ? 3
                                       : level],
                     s_name);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    vsnprintf(line + n, sizeof(line) - (size_t)n, format, args);
    size_t length = strlen(line);
    if (suffix && length + strlen(suffix) + 1 < sizeof(line)) {
        memcpy(line + length, suffix, strlen(suffix) + 1);
        length += strlen(suffix);
    }
    /* One write per line, so lines of concurrent processes do not mix. */
    if (length + 1 < sizeof(line)) {
        line[length++] = '\n';
        line[length] = '\0';
    }
    fputs(line, stderr);
}

void rl_logf(int level, const char *format, ...)
{
    if (!rl_logging_enabled(level))
        return;
    va_list args;
    va_start(args, format);
    s_vlogf(level, NULL, format, args);
    va_end(args);
}

bool rl_log_limit_pass(rl_log_limit_t *limit, int64_t now, uint64_t *suppressed)
{
    if (limit->window_start == 0 ||
        now - limit->window_start >= RL_LOG_LIMIT_WINDOW_MS) {
        limit->window_start = now ? now : 1;
        limit->passed = 0;
    }
    if (limit->passed >= RL_LOG_LIMIT_BURST) {
        limit->suppressed++;
        return false;
    }
    limit->passed++;
    *suppressed = limit->suppressed;
    limit->suppressed = 0;
    return true;
}

uint64_t rl_logging_suppressed(void)
{
    return atomic_load(&s_suppressed);
}

void rl_logf_limited(rl_log_limit_t *limit, int level, const char *format, ...)
{
    if (!rl_logging_enabled(level))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    uint64_t suppressed;
    if (!rl_log_limit_pass(limit, now, &suppressed)) {
        atomic_fetch_add(&s_suppressed, 1);
        return;
    }
    char suffix[64] = "";
    if (suppressed)
        snprintf(suffix, sizeof(suffix), " (%llu similar lines suppressed)",
                 (unsigned long long)suppressed);
    va_list args;
    va_start(args, format);
    s_vlogf(level, suffix, format, args);
    va_end(args);
}

/* The escaped form of byte c into piece (4 bytes); returns its length. */
static size_t s_escape_byte(unsigned char c, char *piece)
{
    static const char hex[] = "0123456789abcdef";
    if (c >= 0x20 && c <= 0x7e && c != '\\' && c != '\'' && c != '"') {
        piece[0] = (char)c;
        return 1;
    }
    piece[0] = '\\';
    switch (c) {
    case '\\':
    case '\'':
    case '"':
        piece[1] = (char)c;
        return 2;
    case '\n':
        piece[1] = 'n';
        return 2;
    case '\r':
        piece[1] = 'r';
        return 2;
    case '\t':
        piece[1] = 't';
        return 2;
    default:
        piece[1] = 'x';
        piece[2] = hex[c >> 4];
        piece[3] = hex[c & 15];
        return 4;
    }
}

const char *rl_log_escape(const void *bytes, size_t size, char *out,
                          size_t out_size)
{
    const unsigned char *in = bytes;
    char piece[4];
    size_t needed = 0;
    for (size_t i = 0; i < size; i++)
        needed += s_escape_byte(in[i], piece);
    /* When it all fits, all of it; else as much as leaves room for the
       "..." that marks the cut, and the NUL. */
    size_t room = needed < out_size ? out_size - 1 : out_size - 4;
    size_t used = 0;
    for (size_t i = 0; i < size; i++) {
        size_t length = s_escape_byte(in[i], piece);
        if (used + length > room)
            break;
        memcpy(out + used, piece, length);
        used += length;
    }
    if (needed >= out_size) {
        memcpy(out + used, "...", 3);
        used += 3;
    }
    out[used] = '\0';
    return out;
}

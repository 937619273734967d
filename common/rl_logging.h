/*  rl_logging.h - the node's and broker's log lines on stderr.

    One line per event: an ISO-8601 UTC timestamp with milliseconds, the
    level, the process's name, and the text. Role changes, elections,
    membership changes and storage recovery are logged at info.
*/
#ifndef RL_LOGGING_H
#define RL_LOGGING_H

#include <stdbool.h>

typedef enum {
    RL_LOG_ERROR = 0, /* only what stops the node or loses service */
    RL_LOG_WARN = 1,  /* recoverable trouble: torn tail, slow peer */
    RL_LOG_INFO = 2,  /* role changes, elections, membership, recovery */
    RL_LOG_DEBUG = 3  /* everything, for developers */
} rl_log_level_t;

/* Sets the name printed on every line and the most verbose level shown. */
void rl_logging_init(const char *name, int level);

/* True when a line of this level would be printed. */
bool rl_logging_enabled(int level);

/* Prints one line at level (rl_log_level_t) when enabled. */
void rl_logf(int level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif

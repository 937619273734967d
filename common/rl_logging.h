/*  rl_logging.h - the node's and broker's log lines on stderr.

    One line per event: an ISO-8601 UTC timestamp with milliseconds, the
    level, the process's name, and the text. Role changes, elections,
    membership changes and storage recovery are logged at info.

    Two rules for lines that the network can cause (docs/SECURITY.md,
    "Limits"):

    - Rate-limited. A warning a peer or a client can trigger at will (a
      message from another cluster, a bad frame, a refused connection)
      goes through its own call site's limiter, so that a flood of them
      cannot fill the disk or drown the lines that matter:

          static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
          rl_logf_limited(&limit, RL_LOG_WARN, "dropped ... from %s", ...);

      At most RL_LOG_LIMIT_BURST lines per RL_LOG_LIMIT_WINDOW_MS pass per
      limiter; the others are counted, and the next line that passes ends
      with "(N similar lines suppressed)". rl_logging_suppressed() gives
      the total for STATUS. One limiter per call site, static, used by one
      thread (the loop's, or the ZAP handler's for its own call sites).

    - Escaped. Bytes from the wire (a cluster id, a role, a key) are
      passed through rl_log_escape() before they are formatted, so that a
      newline cannot forge a log line and a terminal escape cannot reach
      an operator's terminal:

          char shown[RL_LOG_ESCAPE_SIZE(RL_MAX_CLUSTER_ID)];
          rl_log_escape(msg.cluster.ptr, msg.cluster.size, shown,
                        sizeof(shown));
*/
#ifndef RL_LOGGING_H
#define RL_LOGGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* ---- Rate limiting ---- */

/* Lines a limiter lets pass per window, and the window. */
#define RL_LOG_LIMIT_BURST     10
#define RL_LOG_LIMIT_WINDOW_MS 10000

/* One call site's limiter. Start it with RL_LOG_LIMIT_INIT. */
typedef struct {
    int64_t window_start; /* monotonic ms when the window began, 0 none */
    uint32_t passed;      /* lines printed in this window */
    uint64_t suppressed;  /* lines dropped since the last one printed */
} rl_log_limit_t;

#define RL_LOG_LIMIT_INIT                                                      \
    {                                                                          \
        0, 0, 0                                                                \
    }

/* Prints one line like rl_logf() unless limit has let RL_LOG_LIMIT_BURST
   lines pass in the current window; then counts it as suppressed. */
void rl_logf_limited(rl_log_limit_t *limit, int level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* The limiter's decision at now (monotonic ms), for rl_logf_limited and
   tests: true when a line may pass, with *suppressed set to the number
   dropped before it (then reset); false when it is dropped (counted). */
bool rl_log_limit_pass(rl_log_limit_t *limit, int64_t now,
                       uint64_t *suppressed);

/* Lines suppressed by every limiter since start. */
uint64_t rl_logging_suppressed(void);

/* ---- Escaping ---- */

/* Room for n escaped bytes (each at most \xHH), the "..." of a cut and
   the NUL. */
#define RL_LOG_ESCAPE_SIZE(n) (4 * (size_t)(n) + 4)

/* Writes bytes[0..size) into out (out_size bytes, at least 4) as
   printable ASCII: backslash as \\, tab, newline and carriage return as
   \t \n \r, quotes as \' and \", every other byte outside 0x20-0x7e as
   \xHH. What does not fit is cut and marked "...". Returns out. */
const char *rl_log_escape(const void *bytes, size_t size, char *out,
                          size_t out_size);

#endif

/*  rl_metrics.h - the Prometheus text exposition format (version 0.0.4),
    written by hand, and the histograms it reports.

    Debian 12 packages no C Prometheus client, and the format is small: a
    family is announced once by its HELP and TYPE lines, then its samples
    follow, one per line, "name{label="value",...} value". This module
    writes exactly that into a growing buffer, escaping help text and label
    values as the format requires, so a daemon's renderer only says which
    families and values it has (node/rl_node_metrics.c).

    Rules a renderer keeps (the format's, checked by the integration test's
    parser): every sample of a family follows its HELP and TYPE lines with
    no other family in between; a series (name and label set) appears once;
    names follow Prometheus conventions (raftlog_..._total for counters,
    base units: _seconds, _bytes).

    Labels are built once per series with rl_labels_add() and passed
    pre-rendered, so that a family can be written for several label sets
    (one per node today, one per named log later: adding a `log` label
    renames nothing).

    Histograms (rl_histogram_t) count observations in fixed buckets, in
    microseconds, with no floating point and no allocation on the hot path;
    they are rendered cumulatively as _bucket{le="..."}, _sum and _count
    in seconds.

    Not thread-safe: one thread renders. Pure apart from
    rl_metrics_process(), which reads /proc/self.
*/
#ifndef RL_METRICS_H
#define RL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- The text being written ---- */

/* A growing text buffer. Zero it (or rl_metrics_init) to start. */
typedef struct {
    char *data;    /* the text, NUL-terminated once anything is written */
    size_t size;   /* bytes of text */
    size_t cap;    /* bytes allocated */
    bool overflow; /* out of memory, or over RL_METRICS_MAX_SIZE: the text
                      is cut and must not be served */
} rl_metrics_t;

/* The largest exposition written: far above what a node renders (about
   20 KB), a backstop against a bug rather than a limit anyone meets. */
#define RL_METRICS_MAX_SIZE (4u << 20)

void rl_metrics_init(rl_metrics_t *self);

/* Empties the text, keeping the allocation for the next rendering. */
void rl_metrics_reset(rl_metrics_t *self);

/* Frees the text. */
void rl_metrics_close(rl_metrics_t *self);

/* Family types. */
#define RL_METRICS_COUNTER   "counter"
#define RL_METRICS_GAUGE     "gauge"
#define RL_METRICS_HISTOGRAM "histogram"

/* Announces a family: its HELP line (help escaped) and TYPE line. name
   must be a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*); an invalid one
   marks the text overflow (never served). */
void rl_metrics_family(rl_metrics_t *self, const char *name, const char *type,
                       const char *help);

/* ---- Labels ---- */

/* A label set, rendered: `node="1",peer="2"`. Zero it to start. */
typedef struct {
    char text[512]; /* the rendered labels, without braces */
    size_t size;    /* bytes used */
    bool overflow;  /* a label did not fit: the set is unusable */
} rl_labels_t;

/* Appends key="value" (value escaped: backslash, double quote and newline
   become \\, \" and \n); an invalid key marks the set overflow. Returns
   self, for chaining onto a copy. */
rl_labels_t *rl_labels_add(rl_labels_t *self, const char *key,
                           const char *value);

/* The same with an unsigned number as the value. */
rl_labels_t *rl_labels_add_u64(rl_labels_t *self, const char *key,
                               uint64_t value);

/* ---- Samples ---- */

/* One sample: name{labels} value. labels may be NULL (no labels). */
void rl_metrics_u64(rl_metrics_t *self, const char *name,
                    const rl_labels_t *labels, uint64_t value);
void rl_metrics_double(rl_metrics_t *self, const char *name,
                       const rl_labels_t *labels, double value);

/* ---- Histograms ---- */

/* Bucket upper bounds, in microseconds: 50 us to 10 s, roughly three per
   decade. Both histograms a node keeps (append latency, fsync latency)
   use them, so their buckets line up on one dashboard. */
#define RL_HISTOGRAM_BUCKETS 17
extern const uint32_t rl_histogram_bounds_us[RL_HISTOGRAM_BUCKETS];

/* Counts of observations per bucket (not cumulative), plus the ones above
   the last bound, their sum and their number. Zero it to start. */
typedef struct {
    uint64_t buckets[RL_HISTOGRAM_BUCKETS + 1]; /* the last: above 10 s */
    uint64_t sum_us;                            /* of every observation */
    uint64_t count;                             /* observations */
} rl_histogram_t;

/* Records one observation (a negative one counts as 0). */
void rl_histogram_observe(rl_histogram_t *self, int64_t microseconds);

/* The smallest bucket bound (us) under which at least q (0..1) of the
   observations fall: an upper bound of the q-quantile; UINT32_MAX when it
   lies above the last bound, 0 when nothing was observed. */
uint32_t rl_histogram_quantile_bound(const rl_histogram_t *self, double q);

/* Writes the histogram's series (the family must be announced as a
   histogram): name_bucket{labels,le="..."} cumulatively, le="+Inf",
   name_sum in seconds and name_count. */
void rl_metrics_histogram(rl_metrics_t *self, const char *name,
                          const rl_labels_t *labels,
                          const rl_histogram_t *histogram);

/* ---- The process ---- */

/* Writes the standard process_* families of Prometheus clients, from
   /proc/self: process_cpu_seconds_total, process_resident_memory_bytes,
   process_virtual_memory_bytes, process_open_fds (given: the daemon
   counts them already; negative skips it), process_max_fds and
   process_start_time_seconds. A value that cannot be read is left out. */
void rl_metrics_process(rl_metrics_t *self, const rl_labels_t *labels,
                        long open_fds);

#endif

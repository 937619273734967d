/*  rl_metrics.c - the Prometheus text exposition format; see rl_metrics.h.
 */
#include "rl_metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

const uint32_t rl_histogram_bounds_us[RL_HISTOGRAM_BUCKETS] = {
    50,    100,    250,    500,    1000,    2500,    5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

void rl_metrics_init(rl_metrics_t *self)
{
    memset(self, 0, sizeof(*self));
}

void rl_metrics_reset(rl_metrics_t *self)
{
    self->size = 0;
    self->overflow = false;
    if (self->data)
        self->data[0] = '\0';
}

void rl_metrics_close(rl_metrics_t *self)
{
    free(self->data);
    rl_metrics_init(self);
}

/* Makes room for `more` bytes and the NUL; false (and overflow) when it
   cannot. */
static bool s_room(rl_metrics_t *self, size_t more)
{
    if (self->overflow)
        return false;
    size_t need = self->size + more + 1;
    if (need > RL_METRICS_MAX_SIZE) {
        self->overflow = true;
        return false;
    }
    if (need <= self->cap)
        return true;
    size_t cap = self->cap ? self->cap : 4096;
    while (cap < need)
        cap *= 2;
    char *grown = realloc(self->data, cap);
    if (!grown) {
        self->overflow = true;
        return false;
    }
    self->data = grown;
    self->cap = cap;
    return true;
}

static void s_write(rl_metrics_t *self, const char *text, size_t size)
{
    if (!s_room(self, size))
        return;
    memcpy(self->data + self->size, text, size);
    self->size += size;
    self->data[self->size] = '\0';
}

static void s_puts(rl_metrics_t *self, const char *text)
{
    s_write(self, text, strlen(text));
}

static void s_printf(rl_metrics_t *self, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void s_printf(rl_metrics_t *self, const char *format, ...)
{
    char line[256];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof(line), format, args);
    va_end(args);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        self->overflow = true; /* our own formats are short: a bug */
        return;
    }
    s_write(self, line, (size_t)n);
}

static bool s_valid_name(const char *name)
{
    if (!name[0] || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || *c == ':'))
            return false;
    return true;
}

void rl_metrics_family(rl_metrics_t *self, const char *name, const char *type,
                       const char *help)
{
    if (!s_valid_name(name)) {
        self->overflow = true; /* a bug: never serve a malformed page */
        return;
    }
    s_printf(self, "# HELP %s ", name);
    /* HELP text escapes backslash and newline (not quotes). */
    for (const char *c = help; *c; c++) {
        if (*c == '\\')
            s_puts(self, "\\\\");
        else if (*c == '\n')
            s_puts(self, "\\n");
        else
            s_write(self, c, 1);
    }
    s_printf(self, "\n# TYPE %s %s\n", name, type);
}

/* ---- Labels ---- */

static void s_label_put(rl_labels_t *self, const char *text, size_t size)
{
    if (self->overflow || self->size + size >= sizeof(self->text)) {
        self->overflow = true;
        return;
    }
    memcpy(self->text + self->size, text, size);
    self->size += size;
    self->text[self->size] = '\0';
}

rl_labels_t *rl_labels_add(rl_labels_t *self, const char *key,
                           const char *value)
{
    if (!s_valid_name(key) || strchr(key, ':')) {
        self->overflow = true; /* a bug: the set is not used */
        return self;
    }
    if (self->size)
        s_label_put(self, ",", 1);
    s_label_put(self, key, strlen(key));
    s_label_put(self, "=\"", 2);
    for (const char *c = value; *c; c++) {
        if (*c == '\\')
            s_label_put(self, "\\\\", 2);
        else if (*c == '"')
            s_label_put(self, "\\\"", 2);
        else if (*c == '\n')
            s_label_put(self, "\\n", 2);
        else
            s_label_put(self, c, 1);
    }
    s_label_put(self, "\"", 1);
    return self;
}

rl_labels_t *rl_labels_add_u64(rl_labels_t *self, const char *key,
                               uint64_t value)
{
    char text[24];
    snprintf(text, sizeof(text), "%" PRIu64, value);
    return rl_labels_add(self, key, text);
}

/* ---- Samples ---- */

/* name{labels[,extra]} with no value yet. */
static void s_series(rl_metrics_t *self, const char *name, const char *suffix,
                     const rl_labels_t *labels, const char *extra)
{
    if (labels && labels->overflow) {
        self->overflow = true;
        return;
    }
    s_puts(self, name);
    s_puts(self, suffix);
    bool any = labels && labels->size;
    if (any || extra) {
        s_puts(self, "{");
        if (any)
            s_write(self, labels->text, labels->size);
        if (any && extra)
            s_puts(self, ",");
        if (extra)
            s_puts(self, extra);
        s_puts(self, "}");
    }
}

void rl_metrics_u64(rl_metrics_t *self, const char *name,
                    const rl_labels_t *labels, uint64_t value)
{
    s_series(self, name, "", labels, NULL);
    s_printf(self, " %" PRIu64 "\n", value);
}

/* A float as the format reads it: +Inf, -Inf, NaN, or shortest exact. */
static void s_double(rl_metrics_t *self, double value)
{
    if (value != value)
        s_puts(self, "NaN");
    else if (value > 1.7976931348623157e308)
        s_puts(self, "+Inf");
    else if (value < -1.7976931348623157e308)
        s_puts(self, "-Inf");
    else {
        /* The shortest form that reads back as the same double. */
        char text[32];
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(text, sizeof(text), "%.*g", digits, value);
            if (strtod(text, NULL) == value)
                break;
        }
        s_puts(self, text);
    }
}

void rl_metrics_double(rl_metrics_t *self, const char *name,
                       const rl_labels_t *labels, double value)
{
    s_series(self, name, "", labels, NULL);
    s_puts(self, " ");
    s_double(self, value);
    s_puts(self, "\n");
}

/* ---- Histograms ---- */

void rl_histogram_observe(rl_histogram_t *self, int64_t microseconds)
{
    uint64_t us = microseconds < 0 ? 0 : (uint64_t)microseconds;
    size_t n = RL_HISTOGRAM_BUCKETS, i = 0;
    while (i < n && us > rl_histogram_bounds_us[i])
        i++;
    self->buckets[i]++; /* i == n: above the last bound */
    self->sum_us += us;
    self->count++;
}

uint32_t rl_histogram_quantile_bound(const rl_histogram_t *self, double q)
{
    if (!self->count)
        return 0;
    double want = q * (double)self->count;
    uint64_t seen = 0;
    size_t n = RL_HISTOGRAM_BUCKETS;
    for (size_t i = 0; i < n; i++) {
        seen += self->buckets[i];
        if ((double)seen >= want)
            return rl_histogram_bounds_us[i];
    }
    return UINT32_MAX;
}

void rl_metrics_histogram(rl_metrics_t *self, const char *name,
                          const rl_labels_t *labels,
                          const rl_histogram_t *histogram)
{
    uint64_t cumulative = 0;
    size_t n = RL_HISTOGRAM_BUCKETS;
    for (size_t i = 0; i <= n; i++) {
        cumulative += histogram->buckets[i];
        char le[40];
        if (i < n)
            snprintf(le, sizeof(le), "le=\"%.6g\"",
                     rl_histogram_bounds_us[i] / 1e6);
        else
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        s_series(self, name, "_bucket", labels, le);
        s_printf(self, " %" PRIu64 "\n", cumulative);
    }
    s_series(self, name, "_sum", labels, NULL);
    s_puts(self, " ");
    s_double(self, (double)histogram->sum_us / 1e6);
    s_puts(self, "\n");
    s_series(self, name, "_count", labels, NULL);
    s_printf(self, " %" PRIu64 "\n", histogram->count);
}

/* ---- The process ---- */

/* Reads a small /proc file into buf; false when it cannot. */
static bool s_read_proc(const char *path, char *buf, size_t size)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return false;
    size_t n = fread(buf, 1, size - 1, file);
    fclose(file);
    buf[n] = '\0';
    return n > 0;
}

/* The system's boot time (seconds since the epoch), 0 unknown. */
static uint64_t s_boot_time(void)
{
    char buf[8192];
    if (!s_read_proc("/proc/stat", buf, sizeof(buf)))
        return 0;
    const char *line = strstr(buf, "\nbtime ");
    unsigned long long btime = 0;
    if (line && sscanf(line + 7, "%llu", &btime) == 1)
        return btime;
    return 0;
}

void rl_metrics_process(rl_metrics_t *self, const rl_labels_t *labels,
                        long open_fds)
{
    long ticks = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    char buf[1024];
    /* /proc/self/stat: fields after the command's closing parenthesis;
       utime and stime are fields 14 and 15, starttime field 22. */
    unsigned long long utime = 0, stime = 0, start = 0;
    bool have_stat = false;
    if (ticks > 0 && s_read_proc("/proc/self/stat", buf, sizeof(buf))) {
        const char *after = strrchr(buf, ')');
        have_stat = after && sscanf(after + 2,
                                    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                                    "%*u %llu %llu %*d %*d %*d %*d %*d %*d "
                                    "%llu",
                                    &utime, &stime, &start) == 3;
    }
    if (have_stat) {
        rl_metrics_family(self, "process_cpu_seconds_total", RL_METRICS_COUNTER,
                          "User and system CPU time spent in seconds.");
        rl_metrics_double(self, "process_cpu_seconds_total", labels,
                          (double)(utime + stime) / (double)ticks);
    }
    unsigned long long virtual_pages = 0, resident_pages = 0;
    if (page > 0 && s_read_proc("/proc/self/statm", buf, sizeof(buf)) &&
        sscanf(buf, "%llu %llu", &virtual_pages, &resident_pages) == 2) {
        rl_metrics_family(self, "process_resident_memory_bytes",
                          RL_METRICS_GAUGE, "Resident memory size in bytes.");
        rl_metrics_u64(self, "process_resident_memory_bytes", labels,
                       (uint64_t)resident_pages * (uint64_t)page);
        rl_metrics_family(self, "process_virtual_memory_bytes",
                          RL_METRICS_GAUGE, "Virtual memory size in bytes.");
        rl_metrics_u64(self, "process_virtual_memory_bytes", labels,
                       (uint64_t)virtual_pages * (uint64_t)page);
    }
    if (open_fds >= 0) {
        rl_metrics_family(self, "process_open_fds", RL_METRICS_GAUGE,
                          "Number of open file descriptors.");
        rl_metrics_u64(self, "process_open_fds", labels, (uint64_t)open_fds);
    }
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        rl_metrics_family(self, "process_max_fds", RL_METRICS_GAUGE,
                          "Maximum number of open file descriptors.");
        rl_metrics_u64(self, "process_max_fds", labels,
                       (uint64_t)limit.rlim_cur);
    }
    uint64_t boot = s_boot_time();
    if (have_stat && boot) {
        rl_metrics_family(self, "process_start_time_seconds", RL_METRICS_GAUGE,
                          "Start time of the process since unix epoch in "
                          "seconds.");
        rl_metrics_double(self, "process_start_time_seconds", labels,
                          (double)boot + (double)start / (double)ticks);
    }
}

/*  top.c - `raftlog top`: a live table of every member, like `nats top`:
    role, term, commit, replication lag, appends per second and fsync p99,
    refreshed every --interval (1 s).

    Each refresh asks every member for its STATUS at once (as `raftlog
    status` does, cluster.c); appends per second come from the difference
    of each node's appended_entries counter between two refreshes (only a
    leader appends, so followers show 0; a counter that went back, a
    restarted node, shows "-" once), fsync p99 from its fsync_p99_us
    counter (its last 1024 fsyncs), lag and contact from the leader's
    view.

    On a terminal it draws in the alternate screen, in place (ANSI), until
    q or Ctrl-C; the terminal is given back as it was. When stdout is not
    a terminal, or with --once, it takes two samples one interval apart
    (so that the rates are real) and prints the table once; --json prints
    one JSON object per refresh instead (one in all with --once or into a
    pipe). The one-shot form exits like `raftlog status`: 3 when no
    majority of the voting members answers.

    Signals: SIGINT, SIGTERM and SIGHUP are blocked except while waiting
    between refreshes (ppoll), so a Ctrl-C never interrupts a STATUS in
    the middle and always ends with the terminal restored.
*/
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const cli_option_t s_options[] = {
    {CLI_O_INTERVAL, "interval", 0, "MS",
     "time between refreshes, 100 to 3600000 (default 1000)"},
    {CLI_O_ONCE, "once", 0, NULL,
     "take two samples an interval apart, print once and exit (the "
     "default when stdout is not a terminal)"},
    {CLI_O_JSON, "json", 0, NULL, "print one JSON object per refresh"},
    {0, NULL, 0, NULL, NULL}};

/* One member's previous sample, for the rates. */
typedef struct {
    uint64_t id;       /* member id, 0: none */
    uint64_t appended; /* its appended_entries counter */
    double at;         /* cli_now() of the sample */
} s_previous_t;

typedef struct {
    s_previous_t previous[RAFTLOG_MAX_MEMBERS]; /* last refresh */
    size_t previous_count;                      /* rows used */
    bool terminal;                              /* drawing in place */
    int interval_ms;                            /* between refreshes */
} s_top_t;

static volatile sig_atomic_t s_stop;

static void s_on_signal(int signal_number)
{
    (void)signal_number;
    s_stop = 1;
}

/* A counter of a member's STATUS, or -1 when it has none. */
static int64_t s_counter(const raftlog_status_t *s, const char *name)
{
    for (size_t i = 0; i < s->counter_count; i++)
        if (strcmp(s->counters[i].name, name) == 0)
            return (int64_t)s->counters[i].value;
    return -1;
}

static const raftlog_member_t *s_view(const raftlog_status_t *leader,
                                      uint64_t id)
{
    for (size_t i = 0; leader && i < leader->member_count; i++)
        if (leader->members[i].id == id)
            return &leader->members[i];
    return NULL;
}

/* One row's figures, worked out from the sample and the previous one. */
typedef struct {
    const raftlog_member_status_t *row; /* the member's answer */
    const raftlog_status_t *status;     /* NULL: unreachable */
    const raftlog_member_t *view;       /* the leader's view, or NULL */
    int64_t lag;                        /* entries behind, -1 unknown */
    double rate;                        /* appends/s, NAN unknown */
    double fsync_p99_ms;                /* NAN unknown */
} s_row_t;

static void s_rows(s_top_t *top, const cli_cluster_t *c, s_row_t *rows,
                   double now)
{
    s_previous_t next[RAFTLOG_MAX_MEMBERS];
    size_t next_count = 0;
    for (size_t i = 0; i < c->count; i++) {
        s_row_t *r = &rows[i];
        r->row = &c->members[i];
        r->status = r->row->code == 0 ? &r->row->status : NULL;
        r->view = s_view(c->leader, r->row->member.id);
        r->lag = r->view && c->leader->last >= r->view->match
                     ? (int64_t)(c->leader->last - r->view->match)
                     : -1;
        r->rate = NAN;
        r->fsync_p99_ms = NAN;
        if (!r->status)
            continue;
        int64_t p99 = s_counter(r->status, "fsync_p99_us");
        if (p99 >= 0)
            r->fsync_p99_ms = (double)p99 / 1000.0;
        int64_t appended = s_counter(r->status, "appended_entries");
        if (appended < 0)
            continue;
        for (size_t k = 0; k < top->previous_count; k++) {
            const s_previous_t *p = &top->previous[k];
            if (p->id == r->row->member.id &&
                (uint64_t)appended >= p->appended && now > p->at)
                r->rate =
                    (double)((uint64_t)appended - p->appended) / (now - p->at);
        }
        next[next_count++] =
            (s_previous_t){r->row->member.id, (uint64_t)appended, now};
    }
    memcpy(top->previous, next, next_count * sizeof(s_previous_t));
    top->previous_count = next_count;
}

/* ---- Output ---- */

/* Ends a line: on the terminal, clearing what an earlier frame left. */
static void s_end_line(const s_top_t *top)
{
    fputs(top->terminal ? "\033[K\n" : "\n", stdout);
}

static void s_print_table(const s_top_t *top, const cli_cluster_t *c,
                          const s_row_t *rows)
{
    char verdict[200], clock[16];
    cli_cluster_verdict(c, verdict, sizeof(verdict));
    time_t t = time(NULL);
    struct tm tm;
    strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&t, &tm));
    const raftlog_status_t *l = c->leader;
    if (l)
        printf("raftlog top %s  leader: node %" PRIu64 ", term %" PRIu64
               ", commit %" PRIu64 "; %zu of %zu voting members follow it "
               "(%zu needed)",
               clock, l->node, l->term, l->commit, c->following, c->voters,
               c->needed);
    else
        printf("raftlog top %s  leader: none (%s)", clock, verdict);
    s_end_line(top);
    double total = 0;
    bool any = false;
    for (size_t i = 0; i < c->count; i++)
        if (!isnan(rows[i].rate)) {
            total += rows[i].rate;
            any = true;
        }
    char rate[32] = "-";
    if (any)
        snprintf(rate, sizeof(rate), "%.0f", total);
    printf("appends/s %s, every %.1f s%s", rate, top->interval_ms / 1000.0,
           top->terminal ? "; q or Ctrl-C quits" : "");
    s_end_line(top);
    s_end_line(top);
    printf("%-4s %-12s %6s %10s %8s %10s %10s %8s", "ID", "ROLE", "TERM",
           "COMMIT", "LAG", "APPENDS/S", "FSYNC-P99", "CONTACT");
    s_end_line(top);
    for (size_t i = 0; i < c->count; i++) {
        const s_row_t *r = &rows[i];
        uint64_t id = r->row->member.id;
        char lag[24] = "-", appends[24] = "-", p99[24] = "-", contact[24] = "-";
        char role[40];
        if (r->lag >= 0)
            snprintf(lag, sizeof(lag), "%" PRId64, r->lag);
        if (!isnan(r->rate))
            snprintf(appends, sizeof(appends), "%.0f", r->rate);
        if (!isnan(r->fsync_p99_ms))
            snprintf(p99, sizeof(p99), "%.2fms", r->fsync_p99_ms);
        if (r->view && l && id != l->node && r->view->last_contact_ms >= 0)
            snprintf(contact, sizeof(contact), "%" PRId64 "ms",
                     r->view->last_contact_ms);
        if (r->status)
            printf("%-4" PRIu64 " %-12s %6" PRIu64 " %10" PRIu64
                   " %8s %10s %10s %8s",
                   id, cli_printable(r->status->role, role, sizeof(role)),
                   r->status->term, r->status->commit, lag, appends, p99,
                   contact);
        else
            printf("%-4" PRIu64 " %-12s %6s %10s %8s %10s %10s %8s", id,
                   "unreachable", "-", "-", lag, "-", "-", contact);
        s_end_line(top);
    }
    for (size_t i = 0; i < c->count; i++)
        if (rows[i].row->code != 0) {
            char why[sizeof(rows[i].row->error)];
            s_end_line(top);
            printf("node %" PRIu64 ": %s", rows[i].row->member.id,
                   cli_printable(rows[i].row->error, why, sizeof(why)));
            s_end_line(top);
        }
}

static json_t *s_json_number(double value)
{
    return isnan(value) ? json_null() : json_real(value);
}

static json_t *s_json_row(const void *context, size_t i)
{
    const s_row_t *r = &((const s_row_t *)context)[i];
    json_t *o = json_pack(
        "{s:o,s:o,s:b}", "id", cli_json_uint(r->row->member.id), "client",
        cli_json_text(r->row->member.client), "reachable", r->status != NULL);
    if (!o)
        return NULL;
    if (r->status)
        json_object_update_new(
            o, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "role",
                         cli_json_text(r->status->role), "term",
                         cli_json_uint(r->status->term), "commit",
                         cli_json_uint(r->status->commit), "last",
                         cli_json_uint(r->status->last), "appends_per_second",
                         isnan(r->rate)
                             ? json_null()
                             : json_integer((json_int_t)llround(r->rate)),
                         "fsync_p99_ms", s_json_number(r->fsync_p99_ms)));
    else
        json_object_set_new(o, "error", cli_json_text(r->row->error));
    json_object_set_new(o, "lag",
                        r->lag >= 0 ? json_integer(r->lag) : json_null());
    json_object_set_new(o, "last_contact_ms",
                        r->view ? json_integer(r->view->last_contact_ms)
                                : json_null());
    return o;
}

static int s_print_json(const s_top_t *top, const cli_cluster_t *c,
                        const s_row_t *rows)
{
    const raftlog_status_t *l = c->leader;
    int rc = cli_json_print(json_pack(
        "{s:I,s:o,s:o,s:o,s:b,s:o}", "interval_ms",
        (json_int_t)top->interval_ms, "leader", cli_json_uint(l ? l->node : 0),
        "term", cli_json_uint(l ? l->term : 0), "commit",
        cli_json_uint(l ? l->commit : 0), "quorum", c->quorum, "members",
        cli_json_array(c->count, s_json_row, rows)));
    fflush(stdout);
    return rc;
}

/* ---- The loop ---- */

/* Waits up to ms for a key or a signal, signals unblocked only here.
   Returns true when the user asked to quit. */
static bool s_wait(const s_top_t *top, int ms, const sigset_t *open)
{
    double until = cli_now() + ms / 1000.0;
    bool keys = top->terminal && isatty(STDIN_FILENO);
    while (!s_stop) {
        double left = until - cli_now();
        if (left <= 0)
            return false;
        struct timespec timeout = {(time_t)left,
                                   (long)((left - (time_t)left) * 1e9)};
        struct pollfd in = {STDIN_FILENO, POLLIN, 0};
        int n = ppoll(keys ? &in : NULL, keys ? 1 : 0, &timeout, open);
        if (n > 0) {
            char key;
            ssize_t got = read(STDIN_FILENO, &key, 1);
            if (got <= 0)
                keys = false; /* stdin closed: only signals now */
            else if (key == 'q' || key == 'Q')
                return true;
        }
    }
    return true;
}

/* One refresh: ask, work out, print. Returns 0 or an exit code. */
static int s_refresh(s_top_t *top, raftlog_t *client, const cli_args_t *a,
                     bool print, bool *quorum)
{
    cli_cluster_t cluster;
    int rc = cli_cluster_ask(client, &cluster);
    if (rc)
        return rc;
    s_row_t rows[RAFTLOG_MAX_MEMBERS];
    s_rows(top, &cluster, rows, cli_now());
    if (print && a->json)
        rc = s_print_json(top, &cluster, rows);
    else if (print) {
        if (top->terminal)
            fputs("\033[H", stdout);
        s_print_table(top, &cluster, rows);
        if (top->terminal)
            fputs("\033[J", stdout);
        fflush(stdout);
    }
    *quorum = cluster.quorum;
    cli_cluster_close(&cluster);
    return rc;
}

static int s_top(raftlog_t *client, cli_args_t *a)
{
    if (a->arg_count)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a->args[0]);
    s_top_t top = {.interval_ms = a->interval_ms ? a->interval_ms : 1000};
    bool once = a->once || !isatty(STDOUT_FILENO);
    top.terminal = !once && !a->json;
    bool quorum = false;
    if (once) {
        int rc = s_refresh(&top, client, a, false, &quorum);
        if (!rc) {
            struct timespec pause = {top.interval_ms / 1000,
                                     (top.interval_ms % 1000) * 1000000L};
            nanosleep(&pause, NULL); /* the rates need a second sample */
            rc = s_refresh(&top, client, a, true, &quorum);
        }
        return rc ? rc : quorum ? 0 : CLI_EXIT_UNAVAILABLE;
    }

    sigset_t blocked, open;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGHUP);
    sigprocmask(SIG_BLOCK, &blocked, &open);
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = s_on_signal;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    struct termios saved;
    bool raw = top.terminal && isatty(STDIN_FILENO) &&
               tcgetattr(STDIN_FILENO, &saved) == 0;
    if (raw) {
        struct termios keys = saved;
        keys.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        keys.c_cc[VMIN] = 1;
        keys.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &keys);
    }
    if (top.terminal)
        fputs("\033[?1049h\033[?25l", stdout); /* alternate screen */
    int rc = 0;
    while (!rc) {
        rc = s_refresh(&top, client, a, true, &quorum);
        if (rc || s_wait(&top, top.interval_ms, &open))
            break;
    }
    if (top.terminal) {
        fputs("\033[?25h\033[?1049l", stdout);
        fflush(stdout);
    }
    if (raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    sigprocmask(SIG_SETMASK, &open, NULL);
    /* Said again on the normal screen: the first time it went to the
       alternate one, gone with it. */
    if (rc && top.terminal && rc != CLI_EXIT_USAGE)
        cli_client_fail(client, rc, NULL);
    return rc;
}

const cli_command_t cli_top = {
    "top",
    "[--interval MS] [--once] [--json]",
    "a live table of every member",
    "Asks every member for its STATUS every --interval and shows one row "
    "each:\nrole, term, commit index, replication lag (from the leader's "
    "view), appends\nper second (from each node's appended_entries "
    "counter; only the leader\nappends), fsync p99 (its last 1024 "
    "fsyncs) and time since the leader last\nheard from it. On a "
    "terminal the table refreshes in place until q or\nCtrl-C. When "
    "stdout is not a terminal, or with --once, it takes two samples\none "
    "interval apart and prints once; then it exits 3 when no majority of "
    "the\nvoting members answers, else 0. --json prints one object per "
    "refresh.",
    s_options,
    s_top,
    false};

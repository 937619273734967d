/*  rl_node.c - raftlog-node's event loop and life cycle; see rl_node.h.

    The node owns what does not belong to one replicated log: the peer and
    client sockets, the event loop, the helper threads, signals, the disk
    check and STATUS. Its one group (rl_group.h) holds the Raft core, the
    file log and the waiting client requests. Every handler ends by
    driving the group, so that the core's ready batches are carried out
    after each input or drained batch of inputs.
*/
#include "rl_node.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "rl_front.h"
#include "rl_group.h"
#include "rl_helper.h"
#include "rl_intake.h"
#include "rl_logging.h"
#include "rl_loop.h"
#include "rl_peers.h"
#include "rl_status.h"

/* Housekeeping period: deadlines, disk checks, shutdown progress. */
#define S_SWEEP_MS 10
/* Free-space check period. */
#define S_DISK_CHECK_MS 1000
/* Client requests handled between two drives of the group: one proposal's
   entries must not wait behind hundreds of reads. */
#define S_DRIVE_EVERY 64

struct rl_node {
    rl_config_t config;     /* as parsed (copied) */
    rl_group_t *group;      /* the replicated log */
    rl_peers_t *peers;      /* peer ROUTER + DEALERs */
    rl_front_t *front;      /* client front door */
    rl_helper_t *syncer;    /* fsync helper thread */
    rl_helper_t *sparer;    /* spare segment helper thread */
    zloop_t *loop;          /* the event loop */
    int signal_fd;          /* SIGINT and SIGTERM, read as a file */
    rl_intake_t intake;     /* the peer-message intake */
    rl_contacts_t contacts; /* last message from each peer */
    int handled;            /* client requests since the last drive */

    bool disk_low;           /* free space under min_free_bytes */
    uint64_t disk_free;      /* bytes free at the last check */
    int64_t disk_checked;    /* zclock_mono() of the last check */
    bool stopping;           /* a signal asked us to stop */
    int64_t stop_deadline;   /* give up waiting for a transfer then */
    int64_t started;         /* zclock_mono() at start */
    uint64_t n_bad_requests; /* for STATUS */
};

/* ---- STATUS ---- */

static void s_reply_status(rl_node_t *self, zmsg_t **envelope, uint64_t id)
{
    rl_status_input_t in = {0};
    uint64_t match[RL_MAX_MEMBERS];
    rl_group_status(self->group, &in, match);
    in.node_id = self->config.id;
    in.contacts = &self->contacts;
    in.now = zclock_mono();
    in.counters.bad_requests = self->n_bad_requests;
    in.counters.disk_free_bytes = self->disk_free;
    in.counters.uptime_ms = (uint64_t)(in.now - self->started);
    rl_status_reply_t reply;
    rl_status_build(&in, id, &reply);
    rl_front_reply(self->front, envelope, &reply.msg);
}

/* ---- Client requests ---- */

static void s_handle_client(rl_node_t *self, rl_front_request_t *request)
{
    const rl_msg_t *msg = &request->msg;
    zmsg_t **envelope = &request->envelope;
    if (request->error) {
        self->n_bad_requests++;
        rl_front_error(self->front, envelope, msg->id, request->error, 0, "%s",
                       request->why);
        return;
    }
    if (self->stopping) {
        rl_front_error(self->front, envelope, msg->id, RL_ERR_SHUTTING_DOWN, 0,
                       "node %" PRIu64 " is shutting down; retry on another "
                       "node",
                       self->config.id);
        return;
    }
    switch (msg->type) {
    case RL_MSG_APPEND_REQUEST:
        rl_group_append(self->group, envelope, msg);
        break;
    case RL_MSG_READ_REQUEST:
        rl_group_read(self->group, envelope, msg);
        break;
    case RL_MSG_STATUS_REQUEST:
        s_reply_status(self, envelope, msg->id);
        break;
    case RL_MSG_MEMBERS_REQUEST:
        rl_group_members(self->group, envelope, msg);
        break;
    case RL_MSG_TRANSFER_REQUEST:
        rl_group_transfer(self->group, envelope, msg);
        break;
    default:
        self->n_bad_requests++;
        rl_front_error(self->front, envelope, msg->id, RL_ERR_BAD_REQUEST, 0,
                       "%s is not a client request; see docs/PROTOCOL.md",
                       rl_msg_type_name(msg->type));
    }
}

/* Takes one client request (an rl_loop_take_fn). */
static int s_take_client(void *arg)
{
    rl_node_t *self = arg;
    rl_front_request_t request;
    if (rl_front_recv(self->front, &request) != 0)
        return 0;
    s_handle_client(self, &request);
    rl_front_request_close(&request);
    if (++self->handled % S_DRIVE_EVERY == 0 &&
        rl_group_drive(self->group) != 0)
        return -1;
    return 1;
}

/* ---- Loop handlers ---- */

static int s_on_client(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    rl_node_t *self = arg;
    self->handled = 0;
    if (rl_loop_drain(s_take_client, self) != 0)
        return -1;
    return rl_group_drive(self->group);
}

static int s_on_peer(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    rl_node_t *self = arg;
    rl_loop_drain(rl_intake_take, &self->intake);
    return rl_group_drive(self->group);
}

static int s_on_synced(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    rl_node_t *self = arg;
    return rl_group_synced(self->group);
}

static int s_on_spared(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    rl_node_t *self = arg;
    rl_group_spared(self->group);
    return 0;
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_node_t *self = arg;
    return rl_group_tick(self->group);
}

/* Free space on the data directory's file system. */
static void s_check_disk(rl_node_t *self)
{
    struct statvfs fs;
    if (statvfs(self->config.data_dir, &fs) != 0)
        return;
    self->disk_free = (uint64_t)fs.f_bavail * fs.f_frsize;
    bool low = self->disk_free < self->config.min_free_bytes;
    if (low != self->disk_low)
        rl_logf(low ? RL_LOG_WARN : RL_LOG_INFO,
                "disk space %s: %" PRIu64 " bytes free (minimum %" PRIu64 ")%s",
                low ? "low" : "back", self->disk_free,
                self->config.min_free_bytes,
                low ? "; refusing appends with NO_SPACE" : "");
    self->disk_low = low;
    rl_group_set_disk(self->group, low, self->disk_free);
}

static int s_on_sweep(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_node_t *self = arg;
    int64_t now = zclock_mono();
    if (now - self->disk_checked >= S_DISK_CHECK_MS) {
        self->disk_checked = now;
        s_check_disk(self);
    }
    if (rl_group_sweep(self->group, now) != 0)
        return -1;
    if (self->stopping) {
        bool handed_over = rl_group_role(self->group) != RL_RAFT_LEADER;
        if (handed_over || now >= self->stop_deadline)
            return -1; /* rl_node_run finishes the shutdown */
    }
    return rl_group_drive(self->group);
}

static int s_on_signal(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    rl_node_t *self = arg;
    rl_loop_signal_take(item->fd);
    if (self->stopping)
        return 0;
    self->stopping = true;
    self->stop_deadline =
        zclock_mono() + (int64_t)self->config.election_timeout_ms;
    bool leads = rl_group_role(self->group) == RL_RAFT_LEADER;
    rl_logf(RL_LOG_INFO, "stopping: %s",
            leads ? "handing leadership over first"
                  : "answering waiting clients");
    return rl_group_stop(self->group);
}

/* ---- Life cycle ---- */

#ifdef RL_FAULT_INJECTION
/* Test builds only (cmake -DRL_FAULT_INJECTION=ON, as scripts/test does):
   while the file named by $RL_TEST_SLOW_DISK exists, every fdatasync
   waits for it to go away (at most 30 s). The chaos test makes a disk
   stall from outside the process this way; release builds have no such
   path. */
static const char *s_slow_disk_file;
static rl_io_t s_slow_io;

static int s_slow_fdatasync(int fd)
{
    for (int i = 0; i < 3000 && access(s_slow_disk_file, F_OK) == 0; i++)
        usleep(10000);
    return fdatasync(fd);
}

static const rl_io_t *s_test_io(void)
{
    s_slow_disk_file = getenv("RL_TEST_SLOW_DISK");
    if (!s_slow_disk_file)
        return NULL;
    s_slow_io = *rl_io_libc();
    s_slow_io.fdatasync = s_slow_fdatasync;
    rl_logf(RL_LOG_WARN, "test build: fdatasync stalls while %s exists",
            s_slow_disk_file);
    return &s_slow_io;
}
#else
static const rl_io_t *s_test_io(void)
{
    return NULL;
}
#endif

static int s_run_sync(void *job)
{
    return rl_log_sync_run(job);
}

static int s_run_spare(void *job)
{
    return rl_log_spare_run(job);
}

rl_node_t *rl_node_new(const rl_config_t *config, char *err)
{
    rl_node_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, 512, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->started = zclock_mono();
    self->signal_fd = rl_loop_signals_open();
    if (self->signal_fd < 0) {
        snprintf(err, 512, "cannot create a signalfd: %s", strerror(errno));
        rl_node_destroy(&self);
        return NULL;
    }
    self->group = rl_group_new(&self->config, s_test_io(), err);
    if (!self->group) {
        rl_node_destroy(&self);
        return NULL;
    }
    char why[256];
    self->peers = rl_peers_new(config->id, config->peer, why);
    if (!self->peers) {
        snprintf(err, 512, "%s", why);
        rl_node_destroy(&self);
        return NULL;
    }
    self->front = rl_front_new(config->client, err);
    if (!self->front) {
        rl_node_destroy(&self);
        return NULL;
    }
    self->syncer = rl_helper_new(s_run_sync);
    self->sparer = rl_helper_new(s_run_spare);
    if (!self->syncer || !self->sparer) {
        snprintf(err, 512, "cannot start the helper threads");
        rl_node_destroy(&self);
        return NULL;
    }
    rl_group_links_t links = {self->front, self->peers, self->syncer,
                              self->sparer, &self->contacts};
    rl_group_attach(self->group, &links);
    self->intake = (rl_intake_t){self->peers, self->config.cluster_id,
                                 &self->contacts, self->group};
    s_check_disk(self);
    self->disk_checked = zclock_mono();
    return self;
}

int rl_node_run(rl_node_t *self)
{
    self->loop = zloop_new();
    zloop_reader(self->loop, rl_peers_socket(self->peers), s_on_peer, self);
    zloop_reader(self->loop, rl_front_socket(self->front), s_on_client, self);
    zloop_reader(self->loop, rl_helper_socket(self->syncer), s_on_synced, self);
    zloop_reader(self->loop, rl_helper_socket(self->sparer), s_on_spared, self);
    zmq_pollitem_t signals = {NULL, self->signal_fd, ZMQ_POLLIN, 0};
    zloop_poller(self->loop, &signals, s_on_signal, self);
    zloop_timer(self->loop, self->config.heartbeat_ms, 0, s_on_tick, self);
    zloop_timer(self->loop, S_SWEEP_MS, 0, s_on_sweep, self);

    rl_logf(RL_LOG_INFO,
            "node %" PRIu64 " of cluster '%s' listening: peers %s, clients "
            "%s%s",
            self->config.id, self->config.cluster_id, self->config.peer,
            self->config.client,
            self->config.fsync ? "" : " (fsync OFF: not durable)");
    rl_group_drive(self->group);
    zloop_start(self->loop);

    /* Shutting down: finish the fsync in flight, answer everyone. */
    int status = rl_group_finish(self->group) == 0 ? 0 : 1;
    rl_logf(RL_LOG_INFO, "stopped%s", status ? " after a fatal error" : "");
    return status;
}

void rl_node_destroy(rl_node_t **self_p)
{
    rl_node_t *self = *self_p;
    if (!self)
        return;
    /* The group first: it waits for the helpers' jobs in hand. */
    rl_group_destroy(&self->group);
    rl_helper_destroy(&self->syncer);
    rl_helper_destroy(&self->sparer);
    zloop_destroy(&self->loop);
    rl_front_destroy(&self->front);
    rl_peers_destroy(&self->peers);
    if (self->signal_fd >= 0)
        close(self->signal_fd);
    free(self);
    *self_p = NULL;
}

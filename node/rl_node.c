/*  rl_node.c - raftlog-node's event loop and life cycle; see rl_node.h.

    The node owns what does not belong to one replicated log: the peer and
    client sockets, the event loop, the helper threads, signals, the disk
    check, STATUS, and the monitoring port (a page of metrics and the
    readiness verdict published every S_PUBLISH_MS, rl_http.h) with its
    systemd notifications (rl_service.h). Its groups (rl_groups.h: the
    `default` log and one per named log) each hold a Raft core, a file log
    and the waiting client requests; a client request goes to the group of
    its `log`. Every handler ends by driving the groups it touched, so
    that the cores' ready batches are carried out after each input or
    drained batch of inputs, and then syncs every log written in one
    batch.
*/
#include "rl_node_private.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "rl_conns.h"
#include "rl_front.h"
#include "rl_groups.h"
#include "rl_helper.h"
#include "rl_http.h"
#include "rl_intake.h"
#include "rl_keys.h"
#include "rl_logging.h"
#include "rl_loop.h"
#include "rl_node_metrics.h"
#include "rl_peers.h"
#include "rl_service.h"
#include "rl_status.h"
#include "rl_sync_batch.h"

/* Housekeeping period: deadlines, disk checks, shutdown progress. */
#define S_SWEEP_MS 10
/* Free-space check period. */
#define S_DISK_CHECK_MS 1000
/* Client requests handled between two drives of the group: one proposal's
   entries must not wait behind hundreds of reads. */
#define S_DRIVE_EVERY 64
/* Descriptors kept free beyond those open, the client connections and
   the peer connections allowed: new segments, sockets, a snapshot. */
#define S_FD_RESERVE 64
/* How often the keys directory is checked for changes (a removed
   certificate is refused within twice this). */
#define S_KEYS_CHECK_MS 500
/* How often the loop publishes its metrics page and readiness to the
   monitoring port (rl_http.h): a scrape sees values at most this old. */
#define S_PUBLISH_MS 500
/* /healthz fails once the loop has not published for this long. */
#define S_STALE_MS 10000
/* An idle monitoring connection is closed after this many seconds. */
#define S_HTTP_TIMEOUT_S 10

/* ---- Metrics, readiness, systemd (rl_node_report.c) ---- */

static int s_on_publish(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_node_publish(arg);
    return 0;
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
    if (msg->type == RL_MSG_STATUS_REQUEST) {
        rl_node_reply_status(self, envelope, msg);
        return;
    }
    /* Membership and the catalog are group 0's, whatever `log` says. */
    bool cluster_wide =
        msg->type == RL_MSG_MEMBERS_REQUEST || msg->type == RL_MSG_LOGS_REQUEST;
    rl_group_t *group = cluster_wide
                            ? rl_groups_default(self->groups)
                            : rl_groups_by_name(self->groups, msg->log);
    if (!group) {
        rl_node_reply_no_log(self, envelope, msg);
        return;
    }
    switch (msg->type) {
    case RL_MSG_APPEND_REQUEST:
        rl_group_append(group, envelope, msg);
        break;
    case RL_MSG_READ_REQUEST:
        rl_group_read(group, envelope, msg, request->held);
        break;
    case RL_MSG_MEMBERS_REQUEST:
        rl_group_members(group, envelope, msg);
        break;
    case RL_MSG_TRANSFER_REQUEST:
        rl_group_transfer(group, envelope, msg);
        break;
    case RL_MSG_CONSUMER_COMMIT:
        rl_group_consumer_commit(group, envelope, msg);
        break;
    case RL_MSG_CONSUMERS_REQUEST:
        rl_group_consumers(group, envelope, msg);
        break;
    case RL_MSG_LOGS_REQUEST:
        rl_group_logs(group, envelope, msg);
        break;
    default:
        self->n_bad_requests++;
        rl_front_error(self->front, envelope, msg->id, RL_ERR_BAD_REQUEST, 0,
                       "%s is not a client request; see docs/PROTOCOL.md",
                       rl_msg_type_name(msg->type));
        return;
    }
    rl_groups_touch(self->groups, group);
}

/* Takes one client request (an rl_loop_take_fn). */
static int s_take_client(void *arg)
{
    rl_node_t *self = arg;
    rl_front_request_t request;
    int rc = rl_front_recv(self->front, &request);
    if (rc < 0)
        return 0;
    if (rc == 0)
        s_handle_client(self, &request);
    rl_front_request_close(&request);
    if (++self->handled % S_DRIVE_EVERY == 0 &&
        rl_groups_drive(self->groups) != 0)
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
    return rl_groups_drive(self->groups);
}

/* A client's connection closed: what it held is released. */
static void s_client_gone(void *arg, rl_front_held_t *held)
{
    rl_node_t *self = arg;
    rl_groups_release(self->groups, held);
}

static int s_on_client_events(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    rl_node_t *self = arg;
    rl_front_process_events(self->front);
    return 0;
}

static int s_on_peer_events(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    rl_node_t *self = arg;
    rl_conns_process(self->peer_conns);
    return 0;
}

static int s_on_peer(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    rl_node_t *self = arg;
    rl_loop_drain(rl_intake_take, &self->intake);
    return rl_groups_drive(self->groups);
}

static int s_on_synced(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    rl_node_t *self = arg;
    return rl_groups_synced(self->groups);
}

static int s_on_spared(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    rl_node_t *self = arg;
    rl_groups_spared(self->groups);
    return 0;
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_node_t *self = arg;
    return rl_groups_tick(self->groups, &self->contacts, zclock_mono());
}

/* Keeps the client connection limit below the descriptor limit: what is
   open now, less the connections counted (peers' among them), plus the
   peer connections still allowed and a reserve, must stay free. */
static void s_check_fds(rl_node_t *self)
{
    uint32_t peers =
        rl_conns_count(self->peer_conns) + rl_conns_closing(self->peer_conns);
    uint32_t peers_allowed = self->config.max_peer_connections > peers
                                 ? self->config.max_peer_connections - peers
                                 : 0;
    self->open_fds = rl_loop_open_fds();
    rl_front_fit_clients(self->front, self->config.max_clients, self->fd_limit,
                         self->open_fds, peers, S_FD_RESERVE + peers_allowed);
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
    rl_groups_set_disk(self->groups, low, self->disk_free);
}

static int s_on_sweep(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_node_t *self = arg;
    int64_t now = zclock_mono();
    if (self->watchdog_ms && now - self->watchdog_pinged >= self->watchdog_ms) {
        self->watchdog_pinged = now;
        rl_service_watchdog();
    }
    if (now - self->disk_checked >= S_DISK_CHECK_MS) {
        self->disk_checked = now;
        s_check_disk(self);
        s_check_fds(self);
    }
    if (!self->stopping)
        rl_groups_spread(self->groups, &self->contacts, now);
    if (rl_groups_sweep(self->groups, now) != 0)
        return -1;
    if (self->stopping) {
        bool handed_over = !rl_groups_leads_any(self->groups);
        if (handed_over || now >= self->stop_deadline)
            return -1; /* rl_node_run finishes the shutdown */
    }
    return rl_groups_drive(self->groups);
}

/* The keys timer: the directory reloaded when it changed (so that a
   removed certificate is refused, on open connections too, within a
   second), peers' DEALERs following their keys, and what the DEALERs'
   handshakes said. */
static int s_on_keys(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    rl_node_t *self = arg;
    rl_peers_check_handshakes(self->peers);
    if (self->keys && rl_keys_reload_logged(self->keys, &self->keys_generation))
        rl_peers_keys_changed(self->peers);
    return 0;
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
    bool leads = rl_groups_leads_any(self->groups);
    rl_logf(RL_LOG_INFO, "stopping: %s",
            leads ? "handing leadership over first"
                  : "answering waiting clients");
    rl_service_stopping("stopping");
    rl_node_publish(self); /* /readyz fails at once: load balancers move away */
    return rl_groups_stop(self->groups);
}

/* ---- Life cycle ---- */

#ifdef RL_FAULT_INJECTION
/* Test builds only (cmake -DRL_FAULT_INJECTION=ON, as scripts/test does):
   while the file named by $RL_TEST_SLOW_DISK exists, every fdatasync
   and syncfs waits for it to go away (at most 30 s); while the file named
   by $RL_TEST_SYNCFS_FAILS exists, every syncfs fails with EIO (having
   synced: the data is safe, only the report is made up). The chaos test
   and the integration tests make a disk stall or fail from outside the
   process this way; release builds have no such path. */
static const char *s_slow_disk_file;
static const char *s_syncfs_fails_file;
static rl_io_t s_test_table;

static void s_slow_disk_wait(void)
{
    for (int i = 0;
         s_slow_disk_file && i < 3000 && access(s_slow_disk_file, F_OK) == 0;
         i++)
        usleep(10000);
}

static int s_test_fdatasync(int fd)
{
    s_slow_disk_wait();
    return fdatasync(fd);
}

static int s_test_syncfs(int fd)
{
    s_slow_disk_wait();
    int rc = syncfs(fd);
    if (rc == 0 && s_syncfs_fails_file &&
        access(s_syncfs_fails_file, F_OK) == 0) {
        errno = EIO;
        return -1;
    }
    return rc;
}

static const rl_io_t *s_test_io(void)
{
    s_slow_disk_file = getenv("RL_TEST_SLOW_DISK");
    s_syncfs_fails_file = getenv("RL_TEST_SYNCFS_FAILS");
    if (!s_slow_disk_file && !s_syncfs_fails_file)
        return NULL;
    s_test_table = *rl_io_libc();
    s_test_table.fdatasync = s_test_fdatasync;
    s_test_table.syncfs = s_test_syncfs;
    if (s_slow_disk_file)
        rl_logf(RL_LOG_WARN,
                "test build: fdatasync and syncfs stall while %s exists",
                s_slow_disk_file);
    if (s_syncfs_fails_file)
        rl_logf(RL_LOG_WARN, "test build: syncfs fails while %s exists",
                s_syncfs_fails_file);
    return &s_test_table;
}
#else
static const rl_io_t *s_test_io(void)
{
    return NULL;
}
#endif

static int s_run_spare(void *job)
{
    return rl_log_spare_run(job);
}

/* Loads the node's keys and starts the ZAP handler, before any socket is
   bound (libzmq lets anyone in on a CURVE socket while no ZAP handler
   runs). Returns 0, or -1 with err (512 bytes) saying what to fix. */
static int s_start_curve(rl_node_t *self, char *err)
{
    const rl_config_t *c = &self->config;
    char why[RL_KEYS_ERROR_SIZE];
    if (!rl_keys_curve_available()) {
        snprintf(err, 512,
                 "--cert and --keys need CURVE, and this libzmq has none (it "
                 "was built without libsodium): install one that has, or run "
                 "without keys on loopback");
        return -1;
    }
    self->cert =
        rl_keys_load_own(c->cert, RL_ROLE_NODE, c->id, why, sizeof(why));
    if (!self->cert) {
        snprintf(err, 512, "--cert: %.490s", why);
        return -1;
    }
    if (c->front_cert[0]) {
        self->front_cert =
            rl_keys_load_own(c->front_cert, RL_ROLE_NONE, 0, why, sizeof(why));
        if (!self->front_cert) {
            snprintf(err, 512, "--front-cert: %.490s", why);
            return -1;
        }
    }
    if (rl_keys_open_logged(c->keys_dir, &self->keys, &self->auth,
                            &self->keys_generation, err, 512) != 0)
        return -1;
    const rl_key_t *mine = rl_keys_node(self->keys, c->id);
    if (!mine || strcmp(mine->key, zcert_public_txt(self->cert)) != 0)
        rl_logf(RL_LOG_WARN,
                "the keys directory %s has no certificate with this node's "
                "public key %s for node %" PRIu64 ": its peers need it in "
                "theirs to take its messages",
                c->keys_dir, zcert_public_txt(self->cert), c->id);
    rl_logf(RL_LOG_INFO,
            "CURVE on: %zu keys allowed (%s); node key %s, front door key %s",
            rl_keys_count(self->keys), c->keys_dir,
            zcert_public_txt(self->cert),
            zcert_public_txt(self->front_cert ? self->front_cert : self->cert));
    return 0;
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
    if (rl_loop_raise_fd_limit(&self->fd_limit_at_start, &self->fd_limit) ==
            0 &&
        self->fd_limit > self->fd_limit_at_start)
        rl_logf(RL_LOG_INFO,
                "descriptor limit raised from %" PRIu64 " to %" PRIu64
                " (the hard limit)",
                self->fd_limit_at_start, self->fd_limit);
    self->signal_fd = rl_loop_signals_open();
    if (self->signal_fd < 0) {
        snprintf(err, 512, "cannot create a signalfd: %s", strerror(errno));
        rl_node_destroy(&self);
        return NULL;
    }
    if (config->cert[0] && s_start_curve(self, err) != 0) {
        rl_node_destroy(&self);
        return NULL;
    }
    self->groups = rl_groups_new(&self->config, s_test_io(), err);
    if (!self->groups) {
        rl_node_destroy(&self);
        return NULL;
    }
    char why[256];
    rl_peers_curve_t curve = {self->cert, self->keys};
    self->peers =
        rl_peers_new(config->id, config->peer, self->keys ? &curve : NULL, why);
    if (!self->peers) {
        snprintf(err, 512, "%s", why);
        rl_node_destroy(&self);
        return NULL;
    }
    self->peer_conns = rl_conns_new(rl_peers_socket(self->peers), "peer",
                                    "--max-peer-connections",
                                    config->max_peer_connections, NULL, NULL);
    if (!self->peer_conns) {
        snprintf(err, 512, "cannot watch the peer connections: %s",
                 zmq_strerror(zmq_errno()));
        rl_node_destroy(&self);
        return NULL;
    }
    rl_front_config_t front = {
        .endpoint = config->client,
        .max_message = config->max_message_bytes,
        .max_clients = config->max_clients,
        .max_client_queue = config->max_client_queue_bytes,
        .max_queue = config->max_queue_bytes,
        .gone = s_client_gone,
        .gone_arg = self,
        .cert = self->front_cert ? self->front_cert : self->cert,
        .keys = self->keys,
    };
    self->front = rl_front_new(&front, err);
    if (!self->front) {
        rl_node_destroy(&self);
        return NULL;
    }
    self->syncer = rl_helper_new(rl_sync_batch_run);
    self->sparer = rl_helper_new(s_run_spare);
    if (!self->syncer || !self->sparer) {
        snprintf(err, 512, "cannot start the helper threads");
        rl_node_destroy(&self);
        return NULL;
    }
    rl_group_links_t links = {.front = self->front,
                              .peers = self->peers,
                              .syncer = self->syncer,
                              .sparer = self->sparer,
                              .contacts = &self->contacts};
    rl_groups_attach(self->groups, &links);
    self->intake = (rl_intake_t){.peers = self->peers,
                                 .cluster_id = self->config.cluster_id,
                                 .contacts = &self->contacts,
                                 .groups = self->groups,
                                 .keys = self->keys};
    if (config->metrics_endpoint[0]) {
        rl_http_config_t http = {config->metrics_endpoint,
                                 config->max_metrics_connections,
                                 S_HTTP_TIMEOUT_S, S_STALE_MS};
        self->http = rl_http_new(&http, err);
        if (!self->http) {
            rl_node_destroy(&self);
            return NULL;
        }
    }
    s_check_disk(self);
    s_check_fds(self);
    self->disk_checked = zclock_mono();
    return self;
}

int rl_node_run(rl_node_t *self)
{
    self->loop = zloop_new();
    zloop_reader(self->loop, rl_peers_socket(self->peers), s_on_peer, self);
    zloop_reader(self->loop, rl_front_socket(self->front), s_on_client, self);
    zloop_reader(self->loop, rl_front_events(self->front), s_on_client_events,
                 self);
    zloop_reader(self->loop, rl_conns_socket(self->peer_conns),
                 s_on_peer_events, self);
    zloop_reader(self->loop, rl_helper_socket(self->syncer), s_on_synced, self);
    zloop_reader(self->loop, rl_helper_socket(self->sparer), s_on_spared, self);
    zmq_pollitem_t signals = {NULL, self->signal_fd, ZMQ_POLLIN, 0};
    zloop_poller(self->loop, &signals, s_on_signal, self);
    zloop_timer(self->loop, self->config.heartbeat_ms, 0, s_on_tick, self);
    zloop_timer(self->loop, S_SWEEP_MS, 0, s_on_sweep, self);
    zloop_timer(self->loop, S_KEYS_CHECK_MS, 0, s_on_keys, self);
    zloop_timer(self->loop, S_PUBLISH_MS, 0, s_on_publish, self);
    self->watchdog_ms = rl_service_watchdog_ms();

    rl_logf(RL_LOG_INFO,
            "node %" PRIu64 " of cluster '%s' listening: peers %s, clients "
            "%s%s%s",
            self->config.id, self->config.cluster_id, self->config.peer,
            self->config.client, self->keys ? " (CURVE)" : " (no CURVE)",
            self->config.fsync ? "" : " (fsync OFF: not durable)");
    if (!self->keys)
        rl_logf(RL_LOG_WARN,
                "running WITHOUT CURVE%s: no authentication, no encryption; "
                "anyone who reaches %s or %s may read, append and change the "
                "membership (give --cert and --keys; docs/SECURITY.md)",
                self->config.insecure ? " (--insecure)"
                                      : ", on this machine only",
                self->config.peer, self->config.client);
    if (self->http)
        rl_logf(RL_LOG_INFO,
                "metrics on http://%s/metrics (also /healthz, /readyz)",
                self->config.metrics_endpoint);
    rl_groups_drive(self->groups);
    rl_node_publish(self); /* also the unit's first status line */
    rl_service_ready(NULL);
    zloop_start(self->loop);

    /* Shutting down: finish the fsync in flight, answer everyone. */
    int status = rl_groups_finish(self->groups) == 0 ? 0 : 1;
    rl_logf(RL_LOG_INFO, "stopped%s", status ? " after a fatal error" : "");
    return status;
}

void rl_node_destroy(rl_node_t **self_p)
{
    rl_node_t *self = *self_p;
    if (!self)
        return;
    /* The monitoring port holds nothing of the node's but its own copy
       of the page. */
    rl_http_destroy(&self->http);
    rl_metrics_close(&self->page);
    /* The groups first: they wait for the helpers' jobs in hand. */
    rl_groups_destroy(&self->groups);
    rl_helper_destroy(&self->syncer);
    rl_helper_destroy(&self->sparer);
    zloop_destroy(&self->loop);
    rl_front_destroy(&self->front);
    rl_conns_destroy(&self->peer_conns);
    rl_peers_destroy(&self->peers);
    /* The ZAP handler after the sockets it answers for. */
    rl_keys_auth_destroy(&self->auth);
    rl_keys_destroy(&self->keys);
    zcert_destroy(&self->cert);
    zcert_destroy(&self->front_cert);
    if (self->signal_fd >= 0)
        close(self->signal_fd);
    free(self);
    *self_p = NULL;
}

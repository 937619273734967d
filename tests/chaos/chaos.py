#!/usr/bin/python3
"""Chaos test: real raftlog-node processes, real faults, concurrent
clients, and a checker over the recorded history (in the manner of
Jepsen).

    chaos.py --binary PATH [--nodes 3|5] [--seconds S] [--seed N]
             [--logs L] [--fault-workers W|auto] [--producers P]
             [--consumers C] [--history FILE] [--curve on|off]
             [--broker PATH [--brokers B] [--broker-share F]]

What it does:
  1. starts a cluster whose peer links all go through a fault-injecting
     proxy (faultnet.py), each node with its own data directory, every
     node, broker and client with CURVE keys unless --curve off (the
     proxy forwards the encrypted bytes as they are);
  2. creates L named logs (chaos-0 ... chaos-L-1; --logs, RL_CHAOS_LOGS,
     default 2; 0: the default log only), each its own Raft group, and
     waits until every node hosts them and each has a leader;
  3. runs, on each log and on `default`, P idempotent producers and C
     tailing consumers, recording every operation with its log, start and
     end time and outcome (ok with index, error, or unknown after a
     timeout); half of default's clients name it (`log: default`), the
     others send no `log`, as clients of before named logs do; with
     --broker, a share of each log's clients (--broker-share, by default
     half) talk to B raftlog-brokers instead of the nodes, picking a
     broker at random for each request, so that a retry may go through
     the other broker (the brokers route by log);
  4. injects faults on a schedule drawn from the seed: kill -9 and restart
     of any node (the leader of a log drawn at random included), SIGSTOP/
     SIGCONT pauses longer than an election timeout, partitions (majority/
     minority, isolated leader of a log, asymmetric bridge), stalled
     fsyncs, restart of the whole cluster, and with brokers kill -9 and
     restart of a broker; with W fault workers, up to W faults overlap,
     each on processes of its own;
  5. heals everything, waits for every node to converge on every log (a
     marker appended to each and committed everywhere), checks that every
     node lists and hosts exactly the logs created, reads every log in
     full from every node, and checks each log's history on its own
     (checker.py: no acknowledged entry lost, changed, reordered or
     duplicated, every node's copy of a log the same);
  6. stops every node and broker with SIGTERM and checks that each exits
     with status 0 (a sanitizer build reports leaks then), that no process
     died on its own during the run, that no log holds a sanitizer report,
     and that `raftlog-node --check` finds every data directory intact.

The fault schedule replays exactly from its seed; thread timing does not,
so a failure that depends on a race may need a few runs. A failing run
prints the command that replays its seed and keeps its directory (node
logs, data directories, history.json). The summary gives, per log, the
appends by outcome and door, the final log's length and term, what the
consumers saw and the violations. Exit status 0 when everything holds,
1 with the first violation of each log.
"""
import argparse
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from checker import DEFAULT_LOG, check_named_logs  # noqa: E402
from faultnet import FaultNet  # noqa: E402
from harness import (APPEND, APPEND_OK, CURVE, ERROR, NOT_LEADER,  # noqa
                     READ, READ_OK, STATUS_OK, Cluster, free_ports,
                     wait_for)

import msgpack  # noqa: E402
import zmq  # noqa: E402

STALE_SEQUENCE = 12
NOT_FOUND = 16
LOGS_REQUEST, LOGS_OK = 40, 71
# Errors of a LOGS or marker request worth another try: TIMEOUT,
# SHUTTING_DOWN, BUSY, NO_LEADER.
RETRY = (4, 5, 8, 10)
# The producer id of the markers appended at the end (one per log); the
# run's producers are 1000 and up.
MARKER_PRODUCER = 999
# Definite errors: the batch was refused as such and is not in the log.
# (Every other code is retried with the same producer and seq.)
DEFINITE = (1, 2, 6, 7, 13)
SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer",
                   b"runtime error:", b"SUMMARY: UndefinedBehavior")


class ChaosCluster(Cluster):
    """A cluster whose node i reaches node j through the proxy (i, j)."""

    def __init__(self, size, binary, net, **kw):
        super().__init__(size, binary, **kw)
        self.net = net
        self.keep = False
        self.expected_down = set(self.nodes)  # not started, or we killed it
        self.crashes = []  # [node, exit status, time] of deaths not ours
        self.routes = {}
        for i, a in self.nodes.items():
            for j, b in self.nodes.items():
                if i != j:
                    port = int(b.peer.rsplit(":", 1)[1])
                    self.routes[(i, j)] = net.add_link(i, j, port)

    def slow_disk_file(self, i):
        return os.path.join(self.dir, "slow-disk-%d" % i)

    def env_for(self, i):
        # Test builds stall fdatasync while this file exists.
        return dict(os.environ, RL_TEST_SLOW_DISK=self.slow_disk_file(i))

    def member_args_for(self, i):
        args = []
        for n in self.nodes.values():
            peer = n.peer if n.id == i else self.routes[(i, n.id)]
            args += ["--member", "%d=%s,%s" % (n.id, peer, n.client)]
        return args

    def start(self, i, extra=()):
        super().start(i, extra)
        self.expected_down.discard(i)

    def kill(self, i, sig=signal.SIGKILL):
        if sig in (signal.SIGKILL, signal.SIGTERM):
            self.expected_down.add(i)
        super().kill(i, sig)

    def find_crashes(self, now):
        """Records (and restarts) every node that died without being
        killed: a crash, e.g. a sanitizer report or an assertion."""
        for i, n in self.nodes.items():
            if i not in self.expected_down and n.proc is not None and \
                    n.proc.poll() is not None:
                self.crashes.append([i, n.proc.returncode, round(now, 3)])
                print("chaos: node %d died on its own (exit status %d) at "
                      "%.1f s; see %s" % (i, n.proc.returncode, now,
                                          n.log_path), flush=True)
                self.start(i)

    def close(self):
        if self.keep:
            os.environ["RL_KEEP_TEST_DIRS"] = "1"
        super().close()


class Brokers:
    """raftlog-broker processes in front of the cluster, each on a port of
    its own that it keeps across restarts."""

    def __init__(self, c, binary, count):
        self.c, self.binary = c, binary
        self.ports = free_ports(count)
        self.procs = [None] * count
        self.expected_down = set(range(count))
        self.crashes = []

    def endpoint(self, k):
        return "tcp://127.0.0.1:%d" % self.ports[k]

    def log_path(self, k):
        return os.path.join(self.c.dir, "broker%d.log" % k)

    def start(self, k):
        log = open(self.log_path(k), "ab")
        nodes = ",".join(n.client for n in self.c.nodes.values())
        self.procs[k] = subprocess.Popen(
            [self.binary, "--endpoint", self.endpoint(k), "--nodes", nodes,
             "--heartbeat", "50", "--liveness", "3",
             "--no-leader-timeout", "2500", "--request-timeout", "3000"]
            + self.c.broker_args(),
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.expected_down.discard(k)

    def start_all(self):
        for k in range(len(self.procs)):
            self.start(k)

    def kill(self, k):
        p = self.procs[k]
        self.expected_down.add(k)
        if p is not None and p.poll() is None:
            p.kill()
            p.wait(timeout=30)

    def find_crashes(self, now):
        for k, p in enumerate(self.procs):
            if k not in self.expected_down and p is not None and \
                    p.poll() is not None:
                self.crashes.append(["broker%d" % k, p.returncode,
                                     round(now, 3)])
                print("chaos: broker %d died on its own (exit status %d)"
                      % (k, p.returncode), flush=True)
                self.start(k)

    def stop_all(self):
        """SIGTERM each broker; returns [[broker, exit status], ...] of
        those that did not exit with 0."""
        bad = []
        for k, p in enumerate(self.procs):
            if p is not None and p.poll() is None:
                self.expected_down.add(k)
                p.send_signal(signal.SIGTERM)
                try:
                    status = p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    status = p.wait()
                if status != 0:
                    bad.append(["broker%d" % k, status])
        return bad

    def close(self):
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


class Door:
    """Where one client of one log sends its requests: the nodes directly
    (following NOT_LEADER) or the brokers (one picked at random per
    request). Each request goes on a fresh REQ socket (Lazy Pirate) and
    names the client's log, unless the client is one of default's that
    leaves `log` out (named=False)."""

    def __init__(self, c, brokers, rng, log=DEFAULT_LOG, named=True):
        self.c, self.brokers, self.rng = c, brokers, rng
        self.log = log
        self.log_field = {"log": log} if named else {}
        self.target = rng.choice(list(c.nodes))

    def name(self):
        return "broker" if self.brokers else "node"

    def request(self, msg, timeout):
        """The reply, or None after timeout or when the node is down."""
        msg = dict(msg, **self.log_field)
        if not self.brokers:
            if not self.c.alive(self.target):
                return None
            return self.c.request(self.target, msg, timeout=timeout)
        k = self.rng.randrange(len(self.brokers.procs))
        msg = dict(msg, version=1, id=self.c.next_id)
        self.c.next_id += 1
        s = self.c.socket(zmq.REQ)
        s.connect(self.brokers.endpoint(k))
        try:
            s.send(msgpack.packb(msg))
            if not s.poll(int(timeout * 1000)):
                return None
            reply = msgpack.unpackb(s.recv())
        finally:
            s.close()
        return reply if reply.get("id") == msg["id"] else None

    def elsewhere(self, leader=None):
        """After trouble: the leader named in a redirect, or another
        node (the brokers choose for themselves)."""
        self.target = leader or self.rng.choice(list(self.c.nodes))


class History:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []
        self.t0 = time.monotonic()
        self.not_found = {}  # log -> NOT_FOUND replies for a log we made

    def now(self):
        return time.monotonic() - self.t0

    def add(self, op):
        with self.lock:
            self.ops.append(op)

    def note_not_found(self, log):
        with self.lock:
            self.not_found[log] = self.not_found.get(log, 0) + 1


def log_status(c, i, log, timeout=1.0):
    """Node i's STATUS_OK about log (its top-level role, term, leader,
    commit describe that log; `logs` lists every log the node hosts), or
    None when the node is down or does not answer so."""
    reply = c.status(i, timeout, log)
    return reply if reply is not None and reply["type"] == STATUS_OK \
        else None


def logs_request(c, msg, timeout):
    """A LOGS request to the leader of `default` (which commits the
    catalog), following NOT_LEADER and retrying what may be retried.
    Returns the reply and how many attempts may have proposed an entry
    (every one but those answered NOT_LEADER)."""
    msg = dict(msg, type=LOGS_REQUEST)
    deadline = time.monotonic() + timeout
    target, proposals = None, 0
    while time.monotonic() < deadline:
        live = [i for i in c.nodes if c.alive(i)]
        target = target or c.leader() or random.choice(live)
        reply = c.request(target, msg, timeout=3.0)
        if reply is None or reply["type"] != NOT_LEADER:
            proposals += 1
        if reply is None:
            target = None
            continue
        if reply["type"] == NOT_LEADER:
            target = reply["leader"] or None
            if target is None:
                time.sleep(0.05)
            continue
        if reply["type"] == ERROR and reply["code"] in RETRY:
            target = None
            time.sleep(0.05)
            continue
        return reply, proposals
    raise RuntimeError("LOGS %r had no answer within %.0f s"
                       % (msg, timeout))


def hosted_logs(c, i):
    """The names of the logs node i hosts (STATUS `logs`), or None."""
    st = log_status(c, i, DEFAULT_LOG, 2.0)
    return None if st is None else sorted(l["name"] for l in st["logs"])


def listed_logs(c, i):
    """The names in node i's committed catalog (LOGS list), or None."""
    if not c.alive(i):
        return None
    reply = c.request(i, {"type": LOGS_REQUEST, "op": "list"}, 2.0)
    if reply is None or reply["type"] != LOGS_OK:
        return None
    return sorted(l["name"] for l in reply["logs"])


def create_logs(c, names, timeout=60):
    """Creates the named logs, then waits until every node lists and
    hosts them all and each has a leader. Returns how many catalog
    entries the creations may have committed in `default` (an attempt
    whose answer was lost may have committed; its retry is then
    REJECTED: exists)."""
    catalog_entries = 0
    for name in names:
        reply, proposals = logs_request(c, {"op": "create", "name": name},
                                        timeout)
        catalog_entries += proposals
        if reply["type"] == LOGS_OK or (
                reply["type"] == ERROR and reply["code"] == 11 and
                proposals > 1):  # REJECTED: an earlier attempt committed
            continue
        raise RuntimeError("creating log %s: %r" % (name, reply))
    want = sorted([DEFAULT_LOG] + names)
    for i in c.nodes:
        wait_for(lambda: listed_logs(c, i) == want and
                 hosted_logs(c, i) == want, timeout,
                 "node %d to list and host the logs %s" % (i, want))
    for name in names:
        wait_for(lambda: c.leader(log=name), timeout,
                 "a leader of log %s" % name)
    return catalog_entries


def producer(door, history, pid, stop):
    """Appends unique values, one batch at a time, retrying each seq with
    the same producer id and seq until acknowledged or a deadline. Through
    a broker the timeouts are longer than the broker's own (3 s), which
    retries on the new leader itself."""
    direct = door.brokers is None
    per_request, patience = (1.0, 4.0) if direct else (4.0, 10.0)
    seq = 0
    while not stop.is_set():
        seq += 1
        value = ("p%d-s%d" % (pid, seq)).encode()
        op = {"kind": "append", "log": door.log, "producer": pid,
              "seq": seq, "value": value.decode(), "start": history.now(),
              "via": door.name()}
        msg = {"type": APPEND, "producer": pid, "seq": seq,
               "entries": [value]}
        deadline = time.monotonic() + patience
        outcome = None
        while time.monotonic() < deadline and not stop.is_set():
            reply = door.request(msg, per_request)
            if reply is None:
                door.elsewhere()
                continue
            if reply["type"] == APPEND_OK:
                outcome = ("ok", reply["first"])
                break
            if reply["type"] == NOT_LEADER and reply["leader"]:
                door.elsewhere(reply["leader"])
                continue
            if reply["type"] == ERROR and reply["code"] == STALE_SEQUENCE:
                outcome = ("stale", reply["code"])
                break
            if reply["type"] == ERROR and reply["code"] in DEFINITE:
                outcome = ("error", reply["code"])
                break
            if reply["type"] == ERROR and reply["code"] == NOT_FOUND:
                # Every node hosted the log before the clients started: a
                # node that does not know it (yet, after a restart) is
                # counted and reported, and another node asked.
                history.note_not_found(door.log)
            time.sleep(0.02)
            door.elsewhere()
        op["end"] = history.now()
        if outcome and outcome[0] == "ok":
            op["outcome"], op["index"] = "ok", outcome[1]
        elif outcome:
            op["outcome"], op["code"] = outcome
        else:
            op["outcome"] = "unknown"
        history.add(op)


def consumer(door, history, cid, stop, rng):
    """Tails from index 1, switching node on any trouble and now and then
    on purpose; records every entry it sees, in order."""
    seen = []
    frm = 1
    timeout = 1.5 if door.brokers is None else 4.0
    while not stop.is_set():
        if rng.random() < 0.05:
            door.elsewhere()
        reply = door.request({"type": READ, "from": frm, "max_entries": 100,
                              "wait_ms": 300}, timeout)
        if reply is None or reply["type"] != READ_OK:
            if reply is not None and reply["type"] == ERROR and \
                    reply["code"] == NOT_FOUND:
                history.note_not_found(door.log)
            door.elsewhere()
            continue
        for index, data in reply["entries"]:
            seen.append([index, data.decode()])
        frm = reply["next"]
    history.add({"kind": "consume", "log": door.log, "consumer": cid,
                 "via": door.name(), "seen": seen})


class Faults:
    """The fault schedule: drawn from the seed, applied in order by one or
    more workers (--fault-workers). With several, faults overlap: each
    worker reserves the nodes (or broker) its fault touches, so no two
    faults act on one process at once (a node is never killed while
    paused, say); a partition's links are blocked by count, so healing one
    fault never heals another's. The faults on a leader (kill, isolate,
    slow disk) aim at the leader of a log drawn at random among the
    run's."""

    def __init__(self, c, net, election_ms, log, history, brokers,
                 logs=(DEFAULT_LOG,)):
        self.c, self.net, self.log = c, net, log
        self.logs = list(logs)
        self.history, self.brokers = history, brokers
        self.pause = 2.0 * election_ms / 1000.0
        self.counts = {}
        self.lock = threading.Lock()
        # Process starts, kills and the crash check are serialized, so
        # that a worker's kill is never mistaken for a crash by another.
        self.proc_lock = threading.RLock()
        self.busy = set()   # node ids and "brokerK" under a fault now
        self.blocks = {}    # (src, dst) -> how many faults block the link

    def record(self, kind, detail):
        """Times are the history's (seconds since the clients started), so
        that faults and operations can be read side by side."""
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.log.append({"t": round(self.history.now(), 3),
                             "fault": kind, "detail": detail})

    def reserve(self, who):
        with self.lock:
            if self.busy & set(who):
                return False
            self.busy |= set(who)
            return True

    def release(self, who):
        with self.lock:
            self.busy -= set(who)

    def block(self, links):
        with self.lock:
            for link in links:
                self.blocks[link] = self.blocks.get(link, 0) + 1
                if self.blocks[link] == 1:
                    self.net.block(*link)

    def heal(self, links):
        with self.lock:
            for link in links:
                self.blocks[link] -= 1
                if self.blocks[link] == 0:
                    self.net.heal(*link)

    def kill(self, i, sig=signal.SIGKILL):
        with self.proc_lock:
            self.c.kill(i, sig)

    def start(self, i):
        with self.proc_lock:
            self.c.start(i)

    def find_crashes(self):
        with self.proc_lock:
            self.c.find_crashes(self.history.now())
            if self.brokers:
                self.brokers.find_crashes(self.history.now())

    def one(self, rng):
        """Draws one fault and applies it; returns False without acting
        when the processes it needs are under another worker's fault."""
        c = self.c
        self.find_crashes()
        ids = list(c.nodes)
        kinds = ["kill", "kill_leader", "pause", "partition",
                 "isolate_leader", "bridge", "kill", "partition",
                 "slow_disk",
                 "restart_all" if rng.random() < 0.3 else "pause"]
        if self.brokers:
            kinds.append("kill_broker")
        kind = rng.choice(kinds)
        target_log = rng.choice(self.logs)
        leader = None
        if kind in ("kill_leader", "isolate_leader"):
            leader = c.leader(log=target_log) or rng.choice(ids)
        if kind in ("kill", "kill_leader"):
            victim = leader or rng.choice(ids)
            who = [victim]
        elif kind == "pause":
            victim = rng.choice(ids)
            who = [victim]
        elif kind in ("partition", "isolate_leader"):
            if kind == "isolate_leader":
                minority = [leader]
            else:
                minority = rng.sample(ids, (len(ids) - 1) // 2)
            who = minority
            links = [(a, b) for a in minority for b in ids
                     if b not in minority]
            links += [(b, a) for a, b in links]
        elif kind == "bridge":
            # Asymmetric: a hears b but b does not hear a.
            a, b = rng.sample(ids, 2)
            who = [a]
            links = [(a, b)]
        elif kind == "slow_disk":
            # fdatasync stalls (test builds): the leader's, half the time.
            victim = (c.leader(log=target_log) if rng.random() < 0.5
                      else None) or rng.choice(ids)
            who = [victim]
        elif kind == "restart_all":
            who = ids
        elif kind == "kill_broker":
            k = rng.randrange(len(self.brokers.procs))
            who = ["broker%d" % k]
        # Every draw above is made whether or not the fault goes ahead,
        # so one worker's schedule does not depend on the others'.
        hold = rng.uniform(0.2, 1.5)
        pause = rng.uniform(self.pause, 2 * self.pause)
        cut = rng.uniform(1.0, 3.0)
        gap = rng.uniform(0.3, 1.5)
        if not self.reserve(who):
            time.sleep(0.1)
            return False
        try:
            if kind in ("kill", "kill_leader"):
                self.record(kind, victim if kind == "kill" else
                            {"node": victim, "log": target_log})
                self.kill(victim)
                time.sleep(hold)
                self.start(victim)
            elif kind == "pause":
                self.record(kind, victim)
                self.kill(victim, signal.SIGSTOP)
                time.sleep(pause)
                self.kill(victim, signal.SIGCONT)
            elif kind in ("partition", "isolate_leader", "bridge"):
                if kind == "bridge":
                    detail = [a, b]
                elif kind == "isolate_leader":
                    detail = {"node": who[0], "log": target_log}
                else:
                    detail = who
                self.record(kind, detail)
                self.block(links)
                time.sleep(cut)
                self.heal(links)
            elif kind == "slow_disk":
                self.record(kind, {"node": victim, "log": target_log})
                path = c.slow_disk_file(victim)
                open(path, "w").close()
                time.sleep(pause)
                os.unlink(path)
            elif kind == "restart_all":
                self.record(kind, ids)
                for i in ids:
                    self.kill(i)
                time.sleep(0.3)
                for i in ids:
                    self.start(i)
            elif kind == "kill_broker":
                # kill -9: requests it held are lost; their clients retry
                # through the other broker or through this one once it is
                # back.
                self.record(kind, who[0])
                with self.proc_lock:
                    self.brokers.kill(k)
                time.sleep(hold)
                with self.proc_lock:
                    self.brokers.start(k)
        finally:
            self.release(who)
        time.sleep(gap)
        return True


def append_marker(c, log, value, timeout):
    """Appends value to log through its leader, following NOT_LEADER and
    retrying with the same producer and seq (so that a retry never
    duplicates it); returns its index."""
    msg = {"type": APPEND, "entries": [value.encode()],
           "producer": MARKER_PRODUCER, "seq": 1}
    if log != DEFAULT_LOG:
        msg["log"] = log
    deadline = time.monotonic() + timeout
    target, tried = None, 0
    while time.monotonic() < deadline:
        live = [i for i in c.nodes if c.alive(i)]
        if target not in live:
            target = c.leader(log=log) or live[tried % len(live)]
            tried += 1
        reply = c.request(target, msg, timeout=3.0)
        if reply is None:
            target = None
            continue
        if reply["type"] == APPEND_OK:
            return reply["first"]
        if reply["type"] == NOT_LEADER:
            target = reply["leader"] or None
            if target is None:
                time.sleep(0.05)
            continue
        if reply["type"] == ERROR and (reply["code"] in RETRY or
                                       reply["code"] == NOT_FOUND):
            target = None
            time.sleep(0.05)
            continue
        raise RuntimeError("the marker append to log %s failed: %r"
                           % (log, reply))
    raise RuntimeError("the marker append to log %s did not succeed "
                       "within %.0f s" % (log, timeout))


def converge(c, history, names, catalog_entries, timeout=120):
    """Heals, waits for a leader of `default`, then on every log appends
    a marker (recorded as one more acknowledged append) and waits until
    every node has committed it. Returns every node's full copy of every
    log, {log: {node: entries}}, the STATUS of each (commit, term; and in
    `default`, the catalog entries as `extra`) taken after the log was
    read, and the problems found: a node that does not list or host
    exactly the logs created."""
    c.net.heal_all()
    for i in c.nodes:
        if os.path.exists(c.slow_disk_file(i)):
            os.unlink(c.slow_disk_file(i))
    for i in c.nodes:
        if c.alive(i):
            c.kill(i, signal.SIGCONT)
        else:
            c.start(i)
    c.wait_leader(timeout=timeout)
    logs, meta = {}, {}
    for log in [DEFAULT_LOG] + names:
        value = "chaos-end" if log == DEFAULT_LOG else "chaos-end@" + log
        op = {"kind": "append", "log": log, "producer": MARKER_PRODUCER,
              "seq": 1, "value": value, "start": history.now(),
              "via": "harness"}
        marker = append_marker(c, log, value, timeout)
        op.update(end=history.now(), outcome="ok", index=marker)
        history.add(op)
        for i in c.nodes:
            wait_for(lambda: (log_status(c, i, log) or {}).get(
                "commit", 0) >= marker, timeout,
                "node %d to commit index %d of log %s" % (i, marker, log))
        logs[log], meta[log] = {}, {}
        for i in c.nodes:
            logs[log][i] = read_log(c, i, log, 10 * timeout)
            st = wait_for(lambda: log_status(c, i, log, timeout=5.0),
                          timeout, "node %d's STATUS of log %s" % (i, log))
            meta[log][i] = {"commit": st["commit"], "term": st["term"]}
            if log == DEFAULT_LOG:
                meta[log][i]["extra"] = catalog_entries
    problems = []
    want = sorted([DEFAULT_LOG] + names)
    for i in c.nodes:
        listed, hosted = listed_logs(c, i), hosted_logs(c, i)
        if listed != want or hosted != want:
            problems.append("node %d lists the logs %r and hosts %r at the "
                            "end; the run created %r"
                            % (i, listed, hosted, want))
    return logs, meta, problems


def read_log(c, i, log, timeout):
    """Every committed user entry of node i's copy of log, as [index,
    value]. Unlike the harness's read_all, a slow READ (a long log, a
    loaded machine, a sanitizer build) is retried rather than fatal."""
    entries, frm = [], 1
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = {"type": READ, "from": frm}
        if log != DEFAULT_LOG:
            msg["log"] = log
        reply = c.request(i, msg, timeout=10.0)
        if reply is None:
            continue
        if reply["type"] != READ_OK:
            raise RuntimeError("READ of log %s from node %d failed: %r"
                               % (log, i, reply))
        entries += [[index, data.decode()] for index, data in
                    reply["entries"]]
        frm = reply["next"]
        if frm > reply["commit"]:
            return entries
    raise RuntimeError("reading node %d's log %s took over %.0f s"
                       % (i, log, timeout))


def shut_down(c, brokers):
    """Stops every broker and node with SIGTERM and checks what they left:
    exit statuses (leaks are reported at exit), sanitizer reports in any
    log, and `raftlog-node --check` of every data directory. Returns a list
    of problems, empty when all is well."""
    problems = []
    if brokers:
        problems += ["%s exited with status %d on SIGTERM" % (b, status)
                     for b, status in brokers.stop_all()]
    for i in c.nodes:
        if c.alive(i):
            c.expected_down.add(i)
            status = c.stop(i)
            if status != 0:
                problems.append("node %d exited with status %d on SIGTERM"
                                % (i, status))
    for i, n in c.nodes.items():
        check = subprocess.run([c.binary, "--check", n.data_dir],
                               capture_output=True, timeout=600)
        if check.returncode != 0:
            problems.append("raftlog-node --check %s: %s" % (
                n.data_dir, (check.stdout + check.stderr).decode(
                    errors="replace").strip()))
    logs = [n.log_path for n in c.nodes.values()]
    if brokers:
        logs += [brokers.log_path(k) for k in range(len(brokers.procs))]
    for path in logs:
        try:
            with open(path, "rb") as f:
                text = f.read()
        except OSError:
            continue
        for mark in SANITIZER_MARKS:
            if mark in text:
                at = text.index(mark)
                problems.append("%s holds a sanitizer report: %s" % (
                    path, text[max(0, at - 200):at + 600].decode(
                        errors="replace")))
                break
    return problems


def summarize(appends):
    """Appends by outcome, and by outcome and door, in words."""
    outcomes = {}
    for o in appends:
        key = o["outcome"] + ("/" + o["via"] if o.get("via") else "")
        outcomes[key] = outcomes.get(key, 0) + 1
    return ("%d appends (%d ok, %d unknown, %d error, %d stale), by outcome "
            "and door %s" % (len(appends),
                             sum(o["outcome"] == "ok" for o in appends),
                             sum(o["outcome"] == "unknown" for o in appends),
                             sum(o["outcome"] == "error" for o in appends),
                             sum(o["outcome"] == "stale" for o in appends),
                             json.dumps(outcomes, sort_keys=True)))


def replay_command(args):
    """The command that reruns this test with the same seed."""
    cmd = [sys.executable, os.path.abspath(__file__),
           "--binary", os.path.abspath(args.binary),
           "--nodes", str(args.nodes), "--seconds", "%g" % args.seconds,
           "--seed", str(args.seed), "--logs", str(args.logs),
           "--producers", str(args.producers),
           "--consumers", str(args.consumers),
           "--fault-workers", str(args.fault_workers),
           "--curve", args.curve]
    if args.broker:
        cmd += ["--broker", os.path.abspath(args.broker), "--brokers",
                str(args.brokers), "--broker-share",
                "%g" % args.broker_share]
    env = ""
    if os.environ.get("ASAN_OPTIONS"):
        env = "ASAN_OPTIONS=%s " % shlex.quote(os.environ["ASAN_OPTIONS"])
    return env + " ".join(shlex.quote(a) for a in cmd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("RL_CHAOS_SECONDS", 45)))
    ap.add_argument("--seed", type=int,
                    default=int(os.environ.get("RL_CHAOS_SEED",
                                               time.time_ns() % 100000)))
    ap.add_argument("--fault-workers", default="1",
                    help="how many faults may be under way at once, each "
                         "on processes of its own; 'auto': as many as a "
                         "majority of the nodes (2 of 3, 3 of 5)")
    ap.add_argument("--logs", type=int,
                    default=int(os.environ.get("RL_CHAOS_LOGS", 2)),
                    help="named logs to create besides default (default: "
                         "RL_CHAOS_LOGS, else 2)")
    ap.add_argument("--producers", type=int, default=4,
                    help="producers on each log (default included)")
    ap.add_argument("--consumers", type=int, default=2,
                    help="consumers on each log (default included)")
    ap.add_argument("--history", default=None,
                    help="write the history (seed, schedule, operations, "
                         "logs) to this JSON file")
    ap.add_argument("--broker", default=None,
                    help="raftlog-broker binary: run a share of the clients "
                         "through brokers, and kill brokers too")
    ap.add_argument("--brokers", type=int, default=2)
    ap.add_argument("--curve", choices=("on", "off"),
                    default="on" if CURVE else "off",
                    help="CURVE keys on every node, broker and client "
                         "(default: on, off with RL_TEST_CURVE=0)")
    ap.add_argument("--broker-share", type=float, default=0.5,
                    help="the share of producers and of consumers that go "
                         "through the brokers (rounded up)")
    args = ap.parse_args()
    if not 0 <= args.logs <= 100 or not 0 <= args.producers < 100:
        ap.error("--logs: 0 to 100; --producers: 0 to 99 (their ids are "
                 "1000 + 100 * log + producer)")
    args.fault_workers = (args.nodes + 1) // 2 \
        if args.fault_workers == "auto" else int(args.fault_workers)

    print("chaos: seed %d, %d nodes, %.0f s, %d fault worker%s, "
          "%d named logs and default, %d producers and %d consumers on "
          "each, CURVE %s%s"
          % (args.seed, args.nodes, args.seconds, args.fault_workers,
             "s" if args.fault_workers > 1 else "", args.logs,
             args.producers, args.consumers, args.curve,
             ", %d brokers for %.0f%% of the clients"
             % (args.brokers, 100 * args.broker_share)
             if args.broker else ""), flush=True)
    print("chaos: replay with: %s" % replay_command(args), flush=True)
    rng = random.Random(args.seed)
    net = FaultNet()
    election_ms = 600
    # 1 MiB segments (the smallest allowed): rollovers, spare segments
    # and their recovery happen under the faults too.
    c = ChaosCluster(args.nodes, args.binary, net, election_ms=election_ms,
                     heartbeat_ms=60, request_timeout_ms=2000,
                     extra=["--segment-size", "1M", "--max-entry", "64K"],
                     curve=args.curve == "on")
    brokers = Brokers(c, args.broker, args.brokers) if args.broker else None
    print("chaos: directory %s" % c.dir, flush=True)
    history = History()
    names = ["chaos-%d" % k for k in range(args.logs)]
    schedule = []
    stop = threading.Event()
    threads = []
    ok = False
    started = time.time()
    try:
        net.start()
        c.start_all()
        if brokers:
            brokers.start_all()
        c.wait_leader()
        catalog_entries = create_logs(c, names)
        print("chaos: created the logs %s; every node hosts them, each "
              "has a leader (%s)"
              % (", ".join(names) or "(none)",
                 ", ".join("%s: node %s" % (n, c.leader(log=n))
                           for n in [DEFAULT_LOG] + names)), flush=True)
        history.t0 = time.monotonic()

        def via_broker(k, total):
            share = -(-args.broker_share * total // 1) if brokers else 0
            return brokers if k < share else None

        for k, log in enumerate([DEFAULT_LOG] + names):
            for p in range(args.producers):
                # Half of default's clients leave `log` out.
                door = Door(c, via_broker(p, args.producers),
                            random.Random(rng.random()), log,
                            named=log != DEFAULT_LOG or p % 2 == 1)
                threads.append(threading.Thread(
                    target=producer,
                    args=(door, history, 1000 + 100 * k + p, stop)))
            for j in range(args.consumers):
                crng = random.Random(rng.random())
                door = Door(c, via_broker(j, args.consumers), crng, log,
                            named=log != DEFAULT_LOG or j % 2 == 1)
                threads.append(threading.Thread(
                    target=consumer,
                    args=(door, history, "%s/%d" % (log, j), stop, crng)))
        for t in threads:
            t.start()
        faults = Faults(c, net, election_ms, schedule, history, brokers,
                        [DEFAULT_LOG] + names)
        end = time.monotonic() + args.seconds

        def fault_worker(wrng):
            while time.monotonic() < end:
                faults.one(wrng)

        # Worker 0 draws from the run's generator, the others from their
        # own, seeded from the run's seed and their number.
        workers = [threading.Thread(
            target=fault_worker,
            args=(rng if w == 0 else
                  random.Random("%d/%d" % (args.seed, w)),))
            for w in range(args.fault_workers)]
        for t in workers:
            t.start()
        progress = time.monotonic() + 60
        while any(t.is_alive() for t in workers):
            next(t for t in workers if t.is_alive()).join(
                timeout=max(0.1, progress - time.monotonic()))
            if time.monotonic() >= progress and \
                    any(t.is_alive() for t in workers):
                progress += 60
                with history.lock:
                    done = {}
                    for o in history.ops:
                        done[o["log"]] = done.get(o["log"], 0) + 1
                print("chaos: %.0f s, %d appends done (%s), %d faults"
                      % (history.now(), sum(done.values()),
                         ", ".join("%s %d" % (log, done.get(log, 0))
                                   for log in [DEFAULT_LOG] + names),
                         len(schedule)), flush=True)
        # Clients stop first (an append still in flight finishes or gives
        # up within its own deadline), so the final logs hold everything
        # any client was told.
        stop.set()
        for t in threads:
            t.join(timeout=30)
        c.find_crashes(history.now())
        logs, meta, converge_problems = converge(c, history, names,
                                                 catalog_entries)
        reports = check_named_logs(history.ops, logs, meta)
        violations = {log: r for log, r in reports.items() if r}
        problems = converge_problems + shut_down(c, brokers)
        crashes = c.crashes + (brokers.crashes if brokers else [])
        problems = ["process died on its own: %s exit status %d at %.1f s"
                    % (str(who), status, t) for who, status, t in crashes] \
            + problems
        appends = [o for o in history.ops if o["kind"] == "append"]
        print("chaos: %.0f s, all logs: %s; %d user entries in the final "
              "logs" % (time.time() - started, summarize(appends),
                        sum(len(next(iter(copies.values())))
                            for copies in logs.values())))
        for log in [DEFAULT_LOG] + names:
            consumed = [len(o["seen"]) for o in history.ops
                        if o["kind"] == "consume" and o["log"] == log]
            first = next(iter(meta[log].values()))
            print("chaos: log %s: %s; %d user entries in the final log, "
                  "commit %d, term %d; consumers saw %s entries; NOT_FOUND "
                  "answers %d; violations: %d"
                  % (log, summarize([o for o in appends if o["log"] == log]),
                     len(next(iter(logs[log].values()))), first["commit"],
                     max(m["term"] for m in meta[log].values()), consumed,
                     history.not_found.get(log, 0),
                     1 if reports.get(log) else 0))
        print("chaos: faults %s (%d in all)"
              % (json.dumps(faults.counts, sort_keys=True),
                 sum(faults.counts.values())))
        failed = bool(violations or problems)
        history_path = args.history or (
            os.path.join(c.dir, "history.json") if failed else None)
        if history_path:
            with open(history_path, "w") as f:
                json.dump({"seed": args.seed, "command": replay_command(args),
                           "schedule": schedule, "ops": history.ops,
                           "logs": logs, "meta": meta}, f)
        for log, report in sorted(violations.items()):
            print("chaos: VIOLATION (seed %d, log %s): %s"
                  % (args.seed, log, report))
        for problem in problems:
            print("chaos: FAILURE (seed %d): %s" % (args.seed, problem))
        if failed:
            print("chaos: fault schedule (t in s since the clients "
                  "started): %s" % json.dumps(schedule))
            print("chaos: replay with: %s" % replay_command(args))
            print("chaos: kept %s (node logs, data, history.json)" % c.dir)
            c.keep = True
            c.dump_logs()
        else:
            print("chaos: the histories of %d logs checked, violations: 0; "
                  "every node's copy of each log the same; clean shutdown, "
                  "data directories intact" % len(reports))
            ok = True
    except Exception:
        c.keep = True
        print("chaos: ERROR (seed %d); replay with: %s; kept %s"
              % (args.seed, replay_command(args), c.dir), flush=True)
        print("chaos: fault schedule so far: %s" % json.dumps(schedule))
        c.dump_logs()
        raise
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        if brokers:
            brokers.close()
        c.close()
        net.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Chaos test: real raftlog-node processes, real faults, concurrent
clients, and a checker over the recorded history (in the manner of
Jepsen).

    chaos.py --binary PATH [--nodes 3|5] [--seconds S] [--seed N]
             [--producers P] [--consumers C] [--history FILE]

What it does:
  1. starts a cluster whose peer links all go through a fault-injecting
     proxy (faultnet.py), each node with its own data directory;
  2. runs P idempotent producers and C tailing consumers, recording every
     operation with its start and end time and outcome (ok with index,
     error, or unknown after a timeout);
  3. injects faults on a schedule drawn from the seed: kill -9 and restart
     of any node (the leader included), SIGSTOP/SIGCONT pauses longer than
     an election timeout, partitions (majority/minority, isolated leader,
     asymmetric bridge), restart of the whole cluster;
  4. heals everything, waits for every node to converge, reads the full log
     from every node, and checks the history (checker.py).

The fault schedule replays exactly from its seed; thread timing does not,
so a failure that depends on a race may need a few runs. Exit status 0
when the history is correct, 1 with the first violation.
"""
import argparse
import json
import os
import random
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from checker import check_history  # noqa: E402
from faultnet import FaultNet  # noqa: E402
from harness import (APPEND, APPEND_OK, ERROR, NOT_LEADER, READ,  # noqa
                     READ_OK, Cluster, wait_for)

STALE_SEQUENCE = 12


class ChaosCluster(Cluster):
    """A cluster whose node i reaches node j through the proxy (i, j)."""

    def __init__(self, size, binary, net, **kw):
        super().__init__(size, binary, **kw)
        self.net = net
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


class History:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []
        self.t0 = time.monotonic()

    def now(self):
        return time.monotonic() - self.t0

    def add(self, op):
        with self.lock:
            self.ops.append(op)


def producer(c, history, pid, stop, rng):
    """Appends unique values, one batch at a time, retrying each seq with
    the same producer id and seq until acknowledged or a deadline."""
    seq = 0
    while not stop.is_set():
        seq += 1
        value = ("p%d-s%d" % (pid, seq)).encode()
        op = {"kind": "append", "producer": pid, "seq": seq,
              "value": value.decode(), "start": history.now()}
        msg = {"type": APPEND, "producer": pid, "seq": seq,
               "entries": [value]}
        deadline = time.monotonic() + 4.0
        target = rng.choice(list(c.nodes))
        outcome = None
        while time.monotonic() < deadline and not stop.is_set():
            reply = c.request(target, msg, timeout=1.0) \
                if c.alive(target) else None
            if reply is None:
                target = rng.choice(list(c.nodes))
                continue
            if reply["type"] == APPEND_OK:
                outcome = ("ok", reply["first"])
                break
            if reply["type"] == NOT_LEADER and reply["leader"]:
                target = reply["leader"]
                continue
            if reply["type"] == ERROR and reply["code"] == STALE_SEQUENCE:
                outcome = ("error", reply["code"])
                break
            time.sleep(0.02)
            target = rng.choice(list(c.nodes))
        op["end"] = history.now()
        if outcome and outcome[0] == "ok":
            op["outcome"], op["index"] = "ok", outcome[1]
        elif outcome:
            op["outcome"] = "error"
        else:
            op["outcome"] = "unknown"
        history.add(op)


def consumer(c, history, cid, stop, rng):
    """Tails from index 1, switching node on any trouble and now and then
    on purpose; records every entry it sees, in order."""
    seen = []
    frm = 1
    target = rng.choice(list(c.nodes))
    while not stop.is_set():
        if rng.random() < 0.05 or not c.alive(target):
            target = rng.choice(list(c.nodes))
        reply = c.request(target, {"type": READ, "from": frm,
                                   "max_entries": 100, "wait_ms": 300},
                          timeout=1.5) if c.alive(target) else None
        if reply is None or reply["type"] != READ_OK:
            target = rng.choice(list(c.nodes))
            continue
        for index, data in reply["entries"]:
            seen.append([index, data.decode()])
        frm = reply["next"]
    history.add({"kind": "consume", "consumer": cid, "seen": seen})


class Faults:
    """The fault schedule: drawn from the seed, applied in order."""

    def __init__(self, c, net, rng, election_ms, log):
        self.c, self.net, self.rng, self.log = c, net, rng, log
        self.pause = 2.0 * election_ms / 1000.0
        self.counts = {}

    def record(self, kind, detail):
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.log.append({"t": round(time.monotonic(), 3), "fault": kind,
                         "detail": detail})

    def one(self):
        c, rng = self.c, self.rng
        ids = list(c.nodes)
        kind = rng.choice(["kill", "kill_leader", "pause", "partition",
                           "isolate_leader", "bridge", "kill", "partition",
                           "slow_disk",
                           "restart_all" if rng.random() < 0.3 else "pause"])
        leader = None
        if kind in ("kill_leader", "isolate_leader"):
            leader = c.leader() or rng.choice(ids)
        if kind in ("kill", "kill_leader"):
            victim = leader or rng.choice(ids)
            self.record(kind, victim)
            c.kill(victim)
            time.sleep(rng.uniform(0.2, 1.5))
            c.start(victim)
        elif kind == "pause":
            victim = rng.choice(ids)
            self.record(kind, victim)
            c.kill(victim, signal.SIGSTOP)
            time.sleep(rng.uniform(self.pause, 2 * self.pause))
            c.kill(victim, signal.SIGCONT)
        elif kind in ("partition", "isolate_leader"):
            if kind == "isolate_leader":
                minority = [leader]
            else:
                minority = rng.sample(ids, (len(ids) - 1) // 2)
            self.record(kind, minority)
            for a in minority:
                for b in ids:
                    if b not in minority:
                        self.net.block(a, b)
                        self.net.block(b, a)
            time.sleep(rng.uniform(1.0, 3.0))
            self.net.heal_all()
        elif kind == "bridge":
            # Asymmetric: a hears b but b does not hear a.
            a, b = rng.sample(ids, 2)
            self.record(kind, [a, b])
            self.net.block(a, b)
            time.sleep(rng.uniform(1.0, 3.0))
            self.net.heal_all()
        elif kind == "slow_disk":
            # fdatasync stalls (test builds): the leader's, half the time.
            victim = (c.leader() if rng.random() < 0.5 else None) or \
                rng.choice(ids)
            self.record(kind, victim)
            path = c.slow_disk_file(victim)
            open(path, "w").close()
            time.sleep(rng.uniform(self.pause, 2 * self.pause))
            os.unlink(path)
        elif kind == "restart_all":
            self.record(kind, ids)
            for i in ids:
                c.kill(i)
            time.sleep(0.3)
            for i in ids:
                c.start(i)
        time.sleep(rng.uniform(0.3, 1.5))


def converge(c, timeout=60):
    """Heals, waits for a leader, appends a marker and waits until every
    node has committed it; returns the full logs."""
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
    marker = c.append([b"chaos-end"], timeout=timeout)["first"]
    for i in c.nodes:
        c.wait_commit(i, marker, timeout=timeout)
    return {i: [[index, data.decode()] for index, data in c.read_all(i)]
            for i in c.nodes}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("RL_CHAOS_SECONDS", 45)))
    ap.add_argument("--seed", type=int,
                    default=int(os.environ.get("RL_CHAOS_SEED",
                                               time.time_ns() % 100000)))
    ap.add_argument("--producers", type=int, default=4)
    ap.add_argument("--consumers", type=int, default=2)
    ap.add_argument("--history", default=None)
    args = ap.parse_args()

    print("chaos: seed %d, %d nodes, %.0f s; replay with --seed %d"
          % (args.seed, args.nodes, args.seconds, args.seed), flush=True)
    rng = random.Random(args.seed)
    net = FaultNet()
    election_ms = 600
    c = ChaosCluster(args.nodes, args.binary, net, election_ms=election_ms,
                     heartbeat_ms=60, request_timeout_ms=2000)
    history = History()
    schedule = []
    stop = threading.Event()
    threads = []
    ok = False
    try:
        net.start()
        c.start_all()
        c.wait_leader()
        for p in range(args.producers):
            threads.append(threading.Thread(
                target=producer, args=(c, history, 1000 + p, stop,
                                       random.Random(rng.random()))))
        for k in range(args.consumers):
            threads.append(threading.Thread(
                target=consumer, args=(c, history, k, stop,
                                       random.Random(rng.random()))))
        for t in threads:
            t.start()
        faults = Faults(c, net, rng, election_ms, schedule)
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            faults.one()
        # Clients stop first (an append still in flight finishes or gives
        # up within its own deadline), so the final logs hold everything
        # any client was told.
        stop.set()
        for t in threads:
            t.join(timeout=30)
        logs = converge(c)
        report = check_history(history.ops, logs)
        appends = [o for o in history.ops if o["kind"] == "append"]
        print("chaos: %d appends (%d ok, %d unknown, %d error), faults %s"
              % (len(appends),
                 sum(o["outcome"] == "ok" for o in appends),
                 sum(o["outcome"] == "unknown" for o in appends),
                 sum(o["outcome"] == "error" for o in appends),
                 json.dumps(faults.counts, sort_keys=True)))
        if args.history:
            with open(args.history, "w") as f:
                json.dump({"seed": args.seed, "schedule": schedule,
                           "ops": history.ops, "logs": logs}, f)
        if report:
            print("chaos: VIOLATION (seed %d): %s" % (args.seed, report))
            print("chaos: fault schedule: %s" % json.dumps(schedule))
            c.dump_logs()
        else:
            print("chaos: history checked, violations: 0")
            ok = True
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        c.close()
        net.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

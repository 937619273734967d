#!/usr/bin/python3
"""raftlog-broker's routing by log (docs/BROKER.md, "Leader tracking"),
against stand-in nodes that speak the named-logs protocol of
LOGS_DESIGN.md: every request may name a `log`; STATUS_OK lists each log a
node hosts (`logs`: name, role, leader, term); NOT_LEADER names the leader
of the request's log and echoes `log`; a log that does not exist gets
ERROR NOT_FOUND (16).

    test_broker_logs.py --broker BROKER TEST    run one test
    test_broker_logs.py --broker BROKER --list  the tests

The stand-ins are three ROUTER sockets served by one thread of this
process, each answering as one node of a cluster whose leaders the test
sets: no Raft, only what the broker sees of one. Each test starts its own
stand-ins and broker (without CURVE, on 127.0.0.1), stops the broker by
PID, and waits on conditions with deadlines.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import zmq

from harness import (APPEND, APPEND_OK, ERROR, ERR_NO_LEADER, READ, READ_OK,
                     STATUS, STATUS_OK, TestFailure, check, free_ports,
                     run_tests, wait_for)

BROKER = None
NOT_LEADER = 96
ERR_NOT_FOUND = 16
ERR_TIMEOUT = 4
CONSUMER_COMMIT, CONSUMERS, CONSUMERS_OK = 38, 39, 70


class StandIns:
    """Three stand-in nodes (ids 1-3). leaders maps each log to the id of
    the node that leads it (0: none); terms each log's term. A log in
    hidden exists but is left out of STATUS `logs` (as one created since
    the broker's last poll). served records (node, type, log) of every
    request answered for real, not_leaders (node, log) of every
    NOT_LEADER sent."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.ports = free_ports(3)
        self.endpoints = ["tcp://127.0.0.1:%d" % p for p in self.ports]
        self.sockets = []
        for endpoint in self.endpoints:
            s = self.ctx.socket(zmq.ROUTER)
            s.setsockopt(zmq.LINGER, 0)
            s.bind(endpoint)
            self.sockets.append(s)
        self.lock = threading.Lock()
        self.leaders = {"default": 1}
        self.terms = {"default": 1}
        self.hidden = set()
        self.served = []
        self.not_leaders = []
        self.indexes = {}
        self.timeouts = {}  # request type: TIMEOUT answers its leader owes
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def set_leader(self, log, node):
        """Makes node (0: none) the leader of log, in a newer term."""
        with self.lock:
            self.leaders[log] = node
            self.terms[log] = self.terms.get(log, 0) + 1

    def delete(self, log):
        with self.lock:
            self.leaders.pop(log, None)
            self.terms.pop(log, None)

    def count(self, node=None, type_=None, log=None):
        with self.lock:
            return sum(1 for (n, t, l) in self.served
                       if (node is None or n == node) and
                       (type_ is None or t == type_) and
                       (log is None or l == log))

    def _status(self, node, msg):
        log = msg.get("log") or "default"
        listed = [l for l in sorted(self.leaders) if l not in self.hidden]
        if msg.get("log"):
            listed = [l for l in listed if l == log]

        def one(name):
            return {"name": name, "group": sorted(self.leaders).index(name),
                    "role": "leader" if self.leaders[name] == node
                    else "follower",
                    "leader": self.leaders[name], "term": self.terms[name],
                    "commit": 0, "last": 0, "first": 1, "lag": 0}
        members = [{"id": i + 1, "voter": True, "peer": "tcp://unused",
                    "client": e, "match": 0, "last_contact_ms": 0}
                   for i, e in enumerate(self.endpoints)]
        head = one(log) if log in self.leaders else one("default")
        return {"type": STATUS_OK, "node": node, "role": head["role"],
                "term": head["term"], "leader": head["leader"],
                "commit": 0, "last": 0, "first": 1, "members": members,
                "logs": [one(l) for l in listed]}

    def _answer(self, node, msg):
        log = msg.get("log") or "default"
        kind = msg.get("type")
        if kind == STATUS:
            return self._status(node, msg)
        if log not in self.leaders:
            return {"type": ERROR, "code": ERR_NOT_FOUND,
                    "message": "no log named %s: raftlog logs list" % log}
        if kind in (CONSUMER_COMMIT, CONSUMERS) or (kind == READ and
                                                    msg.get("consumer")):
            return self._leader_only(node, msg, log, kind)
        if kind == READ:
            self.served.append((node, READ, log))
            return {"type": READ_OK, "entries": [], "next": msg["from"],
                    "commit": 0, "first": 1}
        if kind == APPEND:
            leader = self.leaders[log]
            if leader != node:
                self.not_leaders.append((node, log))
                reply = {"type": NOT_LEADER, "leader": leader, "log": log}
                if leader:
                    reply["endpoint"] = self.endpoints[leader - 1]
                return reply
            self.served.append((node, APPEND, log))
            first = self.indexes.get(log, 0) + 1
            self.indexes[log] = first + len(msg["entries"]) - 1
            return {"type": APPEND_OK, "first": first,
                    "last": self.indexes[log]}
        return {"type": ERROR, "code": 7, "message": "not in the stand-in"}

    def _leader_only(self, node, msg, log, kind):
        """A consumer's request, as a node answers it: NOT_LEADER but on
        the leader (only it tells positions); there, TIMEOUT while
        timeouts[kind] says so (could not commit in time)."""
        leader = self.leaders[log]
        if leader != node:
            self.not_leaders.append((node, log))
            reply = {"type": NOT_LEADER, "leader": leader, "log": log}
            if leader:
                reply["endpoint"] = self.endpoints[leader - 1]
            return reply
        self.served.append((node, kind, log))
        if self.timeouts.get(kind):
            self.timeouts[kind] -= 1
            return {"type": ERROR, "code": ERR_TIMEOUT,
                    "message": "could not commit in time"}
        if kind == READ:
            return {"type": READ_OK, "entries": [], "next": 8,
                    "commit": 7, "first": 1}
        return {"type": CONSUMERS_OK, "consumers": [], "commit": 7,
                "first": 1}

    def _serve(self):
        poller = zmq.Poller()
        for s in self.sockets:
            poller.register(s, zmq.POLLIN)
        while not self.stopping:
            for s, _ in poller.poll(50):
                frames = s.recv_multipart()
                node = self.sockets.index(s) + 1
                msg = msgpack.unpackb(frames[-1])
                with self.lock:
                    reply = self._answer(node, msg)
                reply.update({"version": 1, "id": msg.get("id", 0)})
                s.send_multipart(frames[:-1] + [msgpack.packb(reply)])

    def close(self):
        self.stopping = True
        self.thread.join()
        for s in self.sockets:
            s.close()
        self.ctx.term()


class Setup:
    """Stand-ins and a broker in front of them."""

    def __init__(self, leaders, extra=()):
        self.nodes = StandIns()
        for log, node in leaders.items():
            self.nodes.set_leader(log, node)
        self.dir = tempfile.mkdtemp(prefix="raftlog-broker-logs-")
        self.port, = free_ports(1)
        self.endpoint = "tcp://127.0.0.1:%d" % self.port
        self.log_path = os.path.join(self.dir, "broker.log")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BROKER, "--endpoint", self.endpoint,
             "--nodes", ",".join(self.nodes.endpoints),
             "--heartbeat", "50", "--no-leader-timeout", "1000",
             "--request-timeout", "5000", "--log-level", "debug"] +
            list(extra), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.ctx = zmq.Context()
        self.next_id = 1

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.ctx.destroy(linger=0)
        self.nodes.close()
        if kind is not None or os.environ.get("RL_KEEP_TEST_DIRS"):
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            print("---- broker log (last 40 lines) ----")
            print("\n".join(lines[-40:]))
        return False

    def via(self, msg, timeout=5.0):
        msg = dict(msg)
        msg.setdefault("version", 1)
        msg["id"] = self.next_id
        self.next_id += 1
        s = self.ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.endpoint)
        try:
            s.send(msgpack.packb(msg))
            if not s.poll(int(timeout * 1000)):
                return None
            reply = msgpack.unpackb(s.recv())
        finally:
            s.close()
        check(reply.get("id") == msg["id"],
              "reply id %r for request id %r" % (reply.get("id"), msg["id"]))
        return reply

    def append(self, log, text=b"x"):
        msg = {"type": APPEND, "entries": [text]}
        if log:
            msg["log"] = log
        return self.via(msg)

    def counters(self):
        reply = self.via({"type": STATUS}, timeout=2.0)
        if not reply or reply["type"] != STATUS_OK:
            return {}
        return reply.get("counters", {})

    def wait_logs(self, count):
        """Until the broker tracks count named logs and the default log's
        leader."""
        return wait_for(lambda: self.counters().get("broker_logs") == count
                        and self.counters().get("broker_leader"), 10,
                        "the broker to track %d logs" % count)


def test_each_log_goes_to_the_leader_its_nodes_name():
    with Setup({"a": 1, "b": 2, "c": 3}) as s:
        s.wait_logs(3)
        for log, node in (("a", 1), ("b", 2), ("c", 3), (None, 1),
                          ("default", 1)):
            for _ in range(3):
                reply = s.append(log)
                check(reply and reply["type"] == APPEND_OK,
                      "append to %r: %r" % (log, reply))
            check(s.nodes.count(node, APPEND, log or "default") >= 3,
                  "appends to %r did not reach node %d: %r"
                  % (log, node, s.nodes.served))
        # Learnt from STATUS `logs`: not one NOT_LEADER was needed.
        check(s.nodes.not_leaders == [],
              "redirects: %r" % s.nodes.not_leaders)


def test_a_not_leader_naming_a_log_teaches_its_leader():
    with Setup({"a": 2}) as s:
        s.wait_logs(1)
        # d exists but no STATUS lists it yet (created since the last
        # poll): the broker asks the default log's leader, node 1, which
        # names d's leader, node 3.
        s.nodes.hidden.add("d")
        s.nodes.set_leader("d", 3)
        for k in range(3):
            reply = s.append("d")
            check(reply and reply["type"] == APPEND_OK and
                  reply["first"] == k + 1, "append to d: %r" % reply)
        check(s.nodes.count(3, APPEND, "d") == 3, "served: %r"
              % s.nodes.served)
        check(s.nodes.not_leaders == [(1, "d")],
              "one redirect, then straight to d's leader: %r"
              % s.nodes.not_leaders)
        # A leader that moves: its old leader's NOT_LEADER moves that log
        # only; a's appends still go straight to node 2.
        s.nodes.set_leader("d", 2)
        reply = s.append("d")
        check(reply and reply["type"] == APPEND_OK, "append to d: %r" % reply)
        check(s.nodes.count(2, APPEND, "d") == 1 and
              s.nodes.not_leaders[-1] == (3, "d"), "served %r, redirects %r"
              % (s.nodes.served, s.nodes.not_leaders))
        before = len(s.nodes.not_leaders)
        reply = s.append("a")
        check(reply and reply["type"] == APPEND_OK and
              len(s.nodes.not_leaders) == before and
              s.nodes.count(2, APPEND, "a") == 1,
              "a's append: %r, redirects %r" % (reply, s.nodes.not_leaders))


def test_reads_of_a_log_go_to_its_followers():
    with Setup({"b": 2}) as s:
        s.wait_logs(1)
        for _ in range(30):
            reply = s.via({"type": READ, "from": 1, "log": "b"})
            check(reply and reply["type"] == READ_OK, "read: %r" % reply)
        check(s.nodes.count(2, READ, "b") == 0 and
              s.nodes.count(1, READ, "b") > 0 and
              s.nodes.count(3, READ, "b") > 0,
              "reads of b by node: %r" % [s.nodes.count(n, READ, "b")
                                          for n in (1, 2, 3)])
        # The default log's reads avoid its own leader, node 1.
        for _ in range(10):
            s.via({"type": READ, "from": 1})
        check(s.nodes.count(1, READ, "default") == 0 and
              s.nodes.count(None, READ, "default") == 10,
              "reads of the default log went to its leader")


def test_consumer_requests_go_to_the_leader_and_a_delete_is_not_resent():
    with Setup({"b": 2}) as s:
        s.wait_logs(1)
        asks = [{"type": READ, "consumer": "audit", "log": "b"},
                {"type": CONSUMER_COMMIT, "consumer": "audit", "index": 7,
                 "log": "b"}]
        asks += [{"type": CONSUMERS, "op": op, "consumer": "audit",
                  "log": "b"} for op in ("list", "show", "reset", "delete")]
        for ask in asks:
            for _ in range(5):
                reply = s.via(ask)
                check(reply and reply["type"] in (READ_OK, CONSUMERS_OK),
                      "%r: %r" % (ask, reply))
        # Straight to b's leader, node 2: no follower asked first (a READ
        # from an index goes to a follower: the test above).
        check(s.nodes.not_leaders == [] and
              s.nodes.count(2, None, "b") == 5 * len(asks) and
              s.nodes.count(None, None, "b") == 5 * len(asks),
              "served %r, redirects %r" % (s.nodes.served,
                                           s.nodes.not_leaders))
        # A commit whose outcome is unknown (the leader's TIMEOUT) is sent
        # again: the same index twice is harmless.
        s.nodes.timeouts[CONSUMER_COMMIT] = 1
        before = s.nodes.count(2, CONSUMER_COMMIT, "b")
        reply = s.via(asks[1])
        check(reply and reply["type"] == CONSUMERS_OK and
              s.nodes.count(2, CONSUMER_COMMIT, "b") == before + 2,
              "a commit after a TIMEOUT: %r" % reply)
        # A delete is not: done twice, the second says NOT_FOUND. The
        # client gets the TIMEOUT.
        s.nodes.timeouts[CONSUMERS] = 1
        before = s.nodes.count(2, CONSUMERS, "b")
        reply = s.via(asks[-1])
        check(reply and reply["type"] == ERROR and
              reply["code"] == ERR_TIMEOUT and
              s.nodes.count(2, CONSUMERS, "b") == before + 1,
              "a delete after a TIMEOUT: %r" % reply)


def test_a_log_without_a_leader_gets_no_leader_while_others_are_served():
    with Setup({"e": 0}) as s:
        s.wait_logs(1)
        start = time.monotonic()
        waiting = s.ctx.socket(zmq.REQ)
        waiting.connect(s.endpoint)
        waiting.send(msgpack.packb({"version": 1, "type": APPEND, "id": 99,
                                    "log": "e", "entries": [b"e"]}))
        # Meanwhile the default log is served.
        reply = s.append(None)
        check(reply and reply["type"] == APPEND_OK, "default: %r" % reply)
        check(waiting.poll(5000), "no answer for log e")
        reply = msgpack.unpackb(waiting.recv())
        waiting.close()
        check(reply["type"] == ERROR and reply["code"] == ERR_NO_LEADER and
              time.monotonic() - start < 4, "log e: %r" % reply)
        # Once a leader is named, it is used.
        s.nodes.set_leader("e", 3)
        reply = wait_for(lambda: (lambda r: r if r and r["type"] ==
                                  APPEND_OK else None)(s.append("e")),
                         10, "an append to e once it has a leader")
        check(s.nodes.count(3, APPEND, "e") == 1, "served: %r"
              % s.nodes.served)


def test_a_log_that_does_not_exist_is_not_found_and_not_tracked():
    with Setup({"a": 2}) as s:
        s.wait_logs(1)
        reply = s.append("nope")
        check(reply and reply["type"] == ERROR and
              reply["code"] == ERR_NOT_FOUND and b"nope" in
              (reply["message"] if isinstance(reply["message"], bytes)
               else reply["message"].encode()),
              "append to a log that is not: %r" % reply)
        check(s.counters().get("broker_logs") == 1,
              "a client's log name made the broker track it")


def test_a_deleted_log_is_forgotten_and_max_logs_bounds_the_table():
    with Setup({"a": 1, "b": 2, "c": 3}, extra=["--max-logs", "2"]) as s:
        wait_for(lambda: s.counters().get("broker_logs") == 2 and
                 s.counters().get("broker_logs_untracked", 0) > 0, 10,
                 "the broker to track 2 logs of 3 (--max-logs 2)")
        # The log it could not track is still served: its request follows
        # the NOT_LEADER it gets.
        for log in ("a", "b", "c"):
            reply = s.append(log)
            check(reply and reply["type"] == APPEND_OK,
                  "append to %s: %r" % (log, reply))
            check(s.nodes.count(s.nodes.leaders[log], APPEND, log) == 1,
                  "served: %r" % s.nodes.served)
        for log in ("a", "b", "c"):
            s.nodes.delete(log)
        wait_for(lambda: s.counters().get("broker_logs") == 0, 15,
                 "the deleted logs to be forgotten")


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:], {"--broker": "BROKER"}))

#!/usr/bin/python3
"""Named logs from the clients' side (issue 16): libraftlog (through
client_driver), the raftlog command line and the Python client against
stand-in nodes that speak the named-logs protocol of LOGS_DESIGN.md and
docs/PROTOCOL.md: a request's optional `log`; LOGS_REQUEST (40) answered
by LOGS_OK (71); STATUS_OK `logs`; NOT_LEADER naming its log's leader and
echoing `log`; ERROR NOT_FOUND (16) for a log that does not exist.

    test_clients_logs.py --cli CLI --driver DRIVER --python-dir DIR TEST
    test_clients_logs.py ... --list

The stand-ins are three ROUTER sockets served by one thread of this
process, each answering as one node whose logs' leaders the test sets: no
Raft, only what a client sees of one. They record every request as it
came (its msgpack map), so that a test can assert what was sent. No node
processes: these run in the default suite; the same behaviours against a
real cluster are test_logs_e2e.py's (label logs_e2e).
"""
import json
import os
import subprocess
import sys
import threading

import msgpack
import zmq

from harness import (APPEND, APPEND_OK, ERROR, NOT_LEADER, READ, READ_OK,
                     STATUS, STATUS_OK, check, free_ports, run_tests)

CLI = DRIVER = PYTHON_DIR = None
LOGS, LOGS_OK = 40, 71
ERR_NOT_FOUND, ERR_REJECTED = 16, 11


class StandIns:
    """Three stand-in nodes (ids 1-3). leaders maps each log to the id of
    the node that leads it; catalog each log to its settings. wrong_log,
    when set, is the log every NOT_LEADER names instead of the request's
    (a confused node). requests records (node, request map) of every
    request received."""

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
        self.catalog = {"default": (0, {"retention_bytes": 0,
                                        "retention_ms": 0,
                                        "max_entry_bytes": 0})}
        self.next_group = 1
        self.indexes = {}
        self.wrong_log = None
        self.requests = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def add_log(self, name, leader, **settings):
        with self.lock:
            base = {"retention_bytes": 0, "retention_ms": 0,
                    "max_entry_bytes": 0}
            base.update(settings)
            self.catalog[name] = (self.next_group, base)
            self.next_group += 1
            self.leaders[name] = leader

    def sent(self, type_=None):
        """The requests of a type received so far (node, map)."""
        with self.lock:
            return [(n, m) for n, m in self.requests
                    if type_ is None or m.get("type") == type_]

    def clear(self):
        with self.lock:
            self.requests = []

    def _log_map(self, name):
        group, settings = self.catalog[name]
        return dict(name=name, group=group, **settings)

    def _status(self, node, msg):
        asked = msg.get("log")
        names = sorted(self.catalog) if not asked else \
            [asked] if asked in self.catalog else []

        def one(name):
            leader = self.leaders[name]
            last = self.indexes.get(name, 0)
            # Node 3 is two entries behind on every log, to show a lag.
            mine = max(0, last - 2) if node == 3 else last
            return {"name": name, "group": self.catalog[name][0],
                    "role": "leader" if leader == node else "follower",
                    "leader": leader, "term": 5, "commit": mine,
                    "last": mine, "first": 1, "lag": 0}
        members = [{"id": i + 1, "voter": True, "peer": "tcp://unused",
                    "client": e, "match": 0, "last_contact_ms": 0}
                   for i, e in enumerate(self.endpoints)]
        head = one(asked if asked in self.catalog else "default")
        return {"type": STATUS_OK, "node": node, "role": head["role"],
                "term": head["term"], "leader": head["leader"],
                "commit": head["commit"], "last": head["last"], "first": 1,
                "members": members, "logs": [one(n) for n in names]}

    def _not_leader(self, log, leader):
        reply = {"type": NOT_LEADER, "leader": leader,
                 "log": self.wrong_log or log}
        if leader:
            reply["endpoint"] = self.endpoints[leader - 1]
        return reply

    def _logs(self, node, msg):
        op, name = msg.get("op"), msg.get("name")
        if op == "list":
            return {"type": LOGS_OK,
                    "logs": [self._log_map(n) for n in sorted(self.catalog)]}
        if self.leaders["default"] != node:
            return self._not_leader("default", self.leaders["default"])
        settings = {k: msg.get(k, 0) for k in
                    ("retention_bytes", "retention_ms", "max_entry_bytes")}
        if op == "create":
            if name in self.catalog:
                return {"type": ERROR, "code": ERR_REJECTED,
                        "message": "a log named %s exists" % name}
            self.catalog[name] = (self.next_group, settings)
            self.next_group += 1
            self.leaders[name] = 2
            return {"type": LOGS_OK, "logs": [self._log_map(name)]}
        if name not in self.catalog:
            return {"type": ERROR, "code": ERR_NOT_FOUND,
                    "message": "no log named %s: raftlog logs list" % name}
        if op == "configure":
            self.catalog[name] = (self.catalog[name][0], settings)
            return {"type": LOGS_OK, "logs": [self._log_map(name)]}
        reply = {"type": LOGS_OK, "logs": [self._log_map(name)]}
        del self.catalog[name], self.leaders[name]
        return reply

    def _answer(self, node, msg):
        kind = msg.get("type")
        if kind == STATUS:
            return self._status(node, msg)
        if kind == LOGS:
            return self._logs(node, msg)
        log = msg.get("log") or "default"
        if log not in self.catalog:
            return {"type": ERROR, "code": ERR_NOT_FOUND,
                    "message": "no log named %s: raftlog logs list" % log}
        leader = self.leaders[log]
        if leader != node:
            return self._not_leader(log, leader)
        if kind == APPEND:
            first = self.indexes.get(log, 0) + 1
            self.indexes[log] = first + len(msg["entries"]) - 1
            return {"type": APPEND_OK, "first": first,
                    "last": self.indexes[log]}
        if kind == READ:
            # No entries: as if every one were Raft's own, skipped.
            commit = self.indexes.get(log, 0)
            return {"type": READ_OK, "entries": [], "next": commit + 1,
                    "commit": commit, "first": 1}
        return {"type": ERROR, "code": 7, "message": "not in the stand-in"}

    def _serve(self):
        poller = zmq.Poller()
        for s in self.sockets:
            poller.register(s, zmq.POLLIN)
        while not self.stopping:
            for s, _ in poller.poll(50):
                frames = s.recv_multipart()
                node = self.sockets.index(s) + 1
                msg = msgpack.unpackb(frames[-1], raw=False)
                with self.lock:
                    self.requests.append((node, msg))
                    reply = self._answer(node, msg)
                reply.update({"version": 1, "id": msg.get("id", 0)})
                s.send_multipart(frames[:-1] + [msgpack.packb(reply)])

    def close(self):
        self.stopping = True
        self.thread.join()
        for s in self.sockets:
            s.close()
        self.ctx.term()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run(argv, env=None, timeout=30):
    environment = dict(os.environ)
    environment.pop("RAFTLOG_LOG", None)
    environment.update(env or {})
    p = subprocess.run(argv, capture_output=True, timeout=timeout,
                       env=environment)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def driver(s, *args, endpoint=0, log=None, retries=2):
    extra = ["--log", log] if log else []
    return run([DRIVER, "--retries", str(retries), "--timeout", "2000"] +
               extra + [s.endpoints[endpoint]] + list(args))


def cli(s, *args, endpoint=0, env=None, retries=2):
    return run([CLI, "--cluster", s.endpoints[endpoint], "--retries",
                str(retries), "--timeout", "2000"] + list(args), env)


def python_client(s, endpoint=0, retries=2, **kw):
    if PYTHON_DIR not in sys.path:
        sys.path.insert(0, PYTHON_DIR)
    import raftlog
    return raftlog, raftlog.Client(s.endpoints[endpoint], timeout=2.0,
                                   retries=retries, **kw)


def test_a_client_without_a_log_sends_none_and_with_one_names_it():
    with StandIns() as s:
        s.add_log("orders", leader=1)
        rc, out, err = driver(s, "append", "1", "x")
        check(rc == 0, "driver append: %d %r" % (rc, err))
        rc, out, err = cli(s, "append", "y")
        check(rc == 0, "cli append: %d %r" % (rc, err))
        raftlog, client = python_client(s)
        with client:
            client.append(b"z")
        sent = s.sent(APPEND)
        check(len(sent) == 3 and all("log" not in m for _, m in sent),
              "a client without a log sent no `log`: %r" % sent)
        s.clear()
        rc, out, err = driver(s, "append", "1", "x", log="orders")
        check(rc == 0, "driver append --log: %d %r" % (rc, err))
        rc, out, err = cli(s, "append", "--log", "orders", "y")
        check(rc == 0, "cli append --log: %d %r" % (rc, err))
        rc, out, err = cli(s, "append", "y", env={"RAFTLOG_LOG": "orders"})
        check(rc == 0, "cli append $RAFTLOG_LOG: %d %r" % (rc, err))
        raftlog, client = python_client(s, log="orders")
        with client:
            client.append(b"z")
        sent = s.sent(APPEND)
        check(len(sent) == 4 and all(m.get("log") == "orders"
                                     for _, m in sent),
              "every client names its log: %r" % sent)
        # A flag beats the environment, and `default` sends nothing.
        s.clear()
        rc, out, err = cli(s, "append", "--log", "default", "y",
                           env={"RAFTLOG_LOG": "orders"})
        check(rc == 0 and "log" not in s.sent(APPEND)[0][1],
              "--log default over $RAFTLOG_LOG: %d %r %r" % (
                  rc, err, s.sent(APPEND)))
        # Status and tail name it too; members never do.
        s.clear()
        rc, out, err = cli(s, "tail", "--log", "orders")
        check(rc == 0 and all(m.get("log") == "orders"
                              for _, m in s.sent(READ)) and s.sent(READ),
              "tail --log: %d %r %r" % (rc, err, s.sent(READ)))


def test_a_bad_log_name_is_refused_before_anything_is_sent():
    with StandIns() as s:
        rc, out, err = driver(s, "append", "1", "x", log="Orders")
        check(rc == 103 and "not a log name" in err,
              "driver: %d %r" % (rc, err))
        rc, out, err = cli(s, "append", "--log", "a/b", "x")
        check(rc == 2 and "--log 'a/b' is not a log name" in err,
              "cli --log: %d %r" % (rc, err))
        rc, out, err = cli(s, "status", env={"RAFTLOG_LOG": "x" * 65})
        check(rc == 2 and "$RAFTLOG_LOG" in err, "cli env: %d %r" % (rc, err))
        rc, out, err = cli(s, "logs", "create", "Bad")
        check(rc == 2 and "not a log name" in err, "logs create: %r" % err)
        raised = None
        try:
            python_client(s, log="no good")
        except ValueError as e:
            raised = e
        check(raised is not None and "not a log name" in str(raised),
              "python: %r" % raised)
        check(not s.sent(), "nothing sent: %r" % s.sent())


def test_a_not_leader_for_a_log_leads_to_that_logs_leader():
    with StandIns() as s:
        s.add_log("orders", leader=3)
        rc, out, err = driver(s, "append", "2", "x", log="orders", retries=0)
        check(rc == 0 and s.endpoints[2] in out,
              "driver follows to node 3: %d %r %r" % (rc, out, err))
        rc, out, err = cli(s, "append", "--log", "orders", "y", retries=0)
        check(rc == 0, "cli follows: %d %r" % (rc, err))
        raftlog, client = python_client(s, log="orders", retries=0)
        with client:
            client.append(b"z")
        served = [n for n, m in s.sent(APPEND)]
        check(served == [1, 3, 3, 1, 3, 1, 3],
              "each went to node 1, then to orders' leader: %r" % served)


def test_a_not_leader_about_another_log_is_not_followed():
    with StandIns() as s:
        s.add_log("orders", leader=3)
        s.wrong_log = "other"
        rc, out, err = driver(s, "append", "1", "x", log="orders", retries=0)
        check(rc == 100 and "about log 'other'" in err,
              "driver: %d %r" % (rc, err))
        rc, out, err = cli(s, "append", "--log", "orders", "y", retries=0)
        check(rc == 3 and "about log 'other'" in err, "cli: %d %r" % (rc, err))
        raftlog, client = python_client(s, log="orders", retries=0)
        raised = None
        with client:
            try:
                client.append(b"z")
            except raftlog.RaftlogError as e:
                raised = e
        check(raised is not None and raised.code == raftlog.UNAVAILABLE
              and "about log 'other'" in raised.message,
              "python: %r" % raised)
        check(all(n == 1 for n, _ in s.sent(APPEND)),
              "never went to the leader of another log: %r" % s.sent(APPEND))


def test_a_log_that_does_not_exist_is_not_found_and_says_what_to_do():
    with StandIns() as s:
        rc, out, err = driver(s, "append", "1", "x", log="missing")
        check(rc == 16 and "NOT_FOUND" in err and "no log named missing" in err
              and "raftlog logs list" in err, "driver: %d %r" % (rc, err))
        for command in (["append", "y"], ["tail"], ["consumers"]):
            rc, out, err = cli(s, *command, "--log", "missing")
            check(rc == 4 and "no log named missing" in err
                  and "logs list" in err, "cli %s: %d %r" % (command, rc, err))
        raftlog, client = python_client(s, log="missing")
        raised = None
        with client:
            try:
                client.append(b"z")
            except raftlog.RaftlogError as e:
                raised = e
        check(raised is not None and raised.code == raftlog.NOT_FOUND
              and "no log named missing" in raised.message
              and not raised.unknown, "python: %r" % raised)
        # Never retried: one request each (driver, command line, Python).
        check(len(s.sent(APPEND)) == 3, "no retries: %r" % s.sent(APPEND))


def test_logs_are_created_listed_configured_and_deleted_by_every_client():
    with StandIns() as s:
        # The command line, to node 2: NOT_LEADER leads to the catalog's
        # leader (node 1).
        rc, out, err = cli(s, "logs", "create", "orders", "--retention", "1G",
                           "--retention-age", "7d", "--max-entry", "64K",
                           endpoint=1)
        check(rc == 0 and "created log orders" in out and "1 GiB" in out
              and "1w" in out and "64 KiB" in out, "create: %d %r %r" % (
                  rc, out, err))
        create = s.sent(LOGS)[-1][1]
        check(create == dict(create, op="create", name="orders",
                             retention_bytes=1 << 30,
                             retention_ms=7 * 86400000,
                             max_entry_bytes=65536)
              and "log" not in create, "create sent %r" % create)
        rc, out, err = cli(s, "logs", "create", "orders")
        check(rc == 4 and "exists" in err, "create again: %d %r" % (rc, err))
        rc, out, err = cli(s, "logs", "list", "--format", "json")
        logs = json.loads(out)["logs"]
        check(rc == 0 and [l["name"] for l in logs] == ["default", "orders"]
              and logs[1]["retention_bytes"] == 1 << 30
              and logs[1]["retention_ms"] == 7 * 86400000,
              "list json: %d %r" % (rc, out))
        rc, out, err = cli(s, "logs")
        check(rc == 0 and "NAME" in out and "orders" in out
              and "keep all" in out, "list text: %r" % out)
        # Configure one setting: the others are kept (read first).
        rc, out, err = cli(s, "logs", "configure", "orders", "--retention",
                           "2G", "--json")
        log = json.loads(out)
        check(rc == 0 and log["retention_bytes"] == 2 << 30
              and log["retention_ms"] == 7 * 86400000
              and log["max_entry_bytes"] == 65536,
              "configure: %d %r %r" % (rc, out, err))
        rc, out, err = cli(s, "logs", "configure", "orders")
        check(rc == 2 and "changes nothing" in err, "no setting: %r" % err)
        rc, out, err = cli(s, "logs", "delete", "orders")
        check(rc == 0 and "deleted log orders" in out, "delete: %r" % out)
        rc, out, err = cli(s, "logs", "delete", "orders")
        check(rc == 4 and "no log named orders" in err,
              "delete again: %d %r" % (rc, err))

        # The library.
        rc, out, err = driver(s, "logs-create", "events", "100", "2000", "512",
                              endpoint=2)
        check(rc == 0 and out.split()[0] == "events"
              and out.split()[2:] == ["100", "2000", "512"],
              "lib create: %d %r %r" % (rc, out, err))
        rc, out, err = driver(s, "logs-configure", "events", "2", "0", "60000",
                              "0")
        check(rc == 0 and out.split()[2:] == ["100", "60000", "512"],
              "lib configure keeps the others: %d %r %r" % (rc, out, err))
        rc, out, err = driver(s, "logs-list")
        check(rc == 0 and [l.split()[0] for l in out.splitlines()] ==
              ["default", "events"], "lib list: %r" % out)
        rc, out, err = driver(s, "logs-delete", "events")
        check(rc == 0 and out.strip() == "deleted", "lib delete: %r" % err)
        rc, out, err = driver(s, "logs-delete", "events")
        check(rc == 16 and "no log named events" in err,
              "lib delete again: %d %r" % (rc, err))

        # Python.
        raftlog, client = python_client(s, endpoint=1)
        with client:
            made = client.create_log("clicks", retention_ms=3600000)
            check(made["name"] == "clicks" and made["retention_ms"] == 3600000,
                  "python create: %r" % made)
            changed = client.configure_log("clicks", max_entry_bytes=1024)
            check(changed["retention_ms"] == 3600000
                  and changed["max_entry_bytes"] == 1024,
                  "python configure keeps the others: %r" % changed)
            check([l["name"] for l in client.logs()] == ["clicks", "default"],
                  "python list: %r" % client.logs())
            client.delete_log("clicks")
            raised = None
            try:
                client.delete_log("clicks")
            except raftlog.RaftlogError as e:
                raised = e
            check(raised is not None and raised.code == raftlog.NOT_FOUND,
                  "python delete again: %r" % raised)


def test_status_shows_each_logs_leader_term_commit_and_lag():
    with StandIns() as s:
        s.add_log("orders", leader=2)
        s.indexes.update({"default": 10, "orders": 7})
        rc, out, err = cli(s, "status")
        check(rc == 0 and "LOG" in out, "status: %d %r %r" % (rc, out, err))
        rows = {line.split()[0]: line.split() for line in out.splitlines()
                if line.split() and line.split()[0] in ("default", "orders")}
        # LOG GROUP LEADER TERM COMMIT LAST LAG; node 3 is 2 behind.
        check(rows.get("default") == ["default", "0", "1", "5", "10", "10",
                                      "2"]
              and rows.get("orders") == ["orders", "1", "2", "5", "7", "7",
                                         "2"], "rows: %r" % rows)
        rc, out, err = cli(s, "status", "--json")
        view = json.loads(out)
        logs = {l["name"]: l for l in view["logs"]}
        check(rc == 0 and logs["orders"]["leader"] == 2
              and logs["orders"]["commit"] == 7 and logs["orders"]["lag"] == 2
              and len(logs["orders"]["nodes"]) == 3
              and view["log"] == "default", "json: %r" % view)
        # --log narrows: every STATUS names it, one row.
        s.clear()
        rc, out, err = cli(s, "status", "--log", "orders", "--json")
        view = json.loads(out)
        check(rc == 0 and [l["name"] for l in view["logs"]] == ["orders"]
              and view["log"] == "orders" and view["leader"] == 2
              and all(m.get("log") == "orders" for _, m in s.sent(STATUS)),
              "--log: %r %r" % (view, s.sent(STATUS)))
        rc, out, err = driver(s, "status-logs", log="orders")
        lines = [l.split() for l in out.splitlines()]
        check(rc == 0 and len(lines) == 3
              and all(l[2] == "orders" and l[6] == "5" for l in lines)
              and [l[4] for l in lines] == ["follower", "leader", "follower"],
              "lib status logs: %d %r %r" % (rc, out, err))
        raftlog, client = python_client(s, log="orders")
        with client:
            status = client.status()
        check(status["leader"] == 2 and [l["name"] for l in status["logs"]]
              == ["orders"], "python status: %r" % status)


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:],
                       {"--cli": "CLI", "--driver": "DRIVER",
                        "--python-dir": "PYTHON_DIR"}))

#!/usr/bin/python3
"""Integration tests of the clients: libraftlog (through client_driver),
the raftlog command line and the Python client, against real 3-node
clusters on 127.0.0.1 (with CURVE when the suite uses it: the clients
find the cluster's admin key in $RAFTLOG_KEY and $RAFTLOG_SERVER_KEY
inside its `with` block, harness.py).

    test_clients.py --node PATH --cli PATH --driver PATH --python-dir DIR TEST
    test_clients.py --list

Every process a test starts is stopped by PID (the Cluster's nodes by the
harness, the clients here); every wait is a condition with a deadline.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import zmq

from harness import (APPEND_OK, Cluster, TestFailure, check, free_ports,
                     run_tests, wait_for)

NODE = CLI = DRIVER = PYTHON_DIR = None
EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_REJECTED = 2, 3, 4
NOT_LEADER, ERROR, ERR_TIMEOUT = 96, 97, 4


# ---- helpers ----

def endpoints(c, order=None):
    return ",".join(c.nodes[i].client for i in (order or c.nodes))


def run(args, stdin=b"", timeout=60, env=None):
    """Runs a client to completion; (exit status, stdout, stderr)."""
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        out, err = p.communicate(stdin, timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, out, err.decode(errors="replace")


def cli(c, *args, stdin=b"", cluster=None):
    return run([CLI, "--cluster", cluster or endpoints(c)] + list(args),
               stdin)


class Background:
    """A client running in the background whose stdout lines are gathered
    by a thread; stopped by PID when the `with` block ends. Its stderr goes
    to a file, so that reading it never waits for the client."""

    def __init__(self, args, env=None):
        self.errors = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=self.errors, env=env)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip(b"\n"))

    def stderr(self):
        self.errors.seek(0)
        return self.errors.read().decode(errors="replace")

    def wait_lines(self, count, timeout, what):
        try:
            wait_for(lambda: len(self.lines) >= count or self.proc.poll()
                     is not None, timeout, what)
        except TestFailure as failure:
            raise TestFailure("%s; %d lines so far; its stderr: %s"
                              % (failure, len(self.lines), self.stderr()))
        if len(self.lines) < count:
            self.reader.join(5)
        check(len(self.lines) >= count,
              "%s: the client exited (%r) after %d lines: %s"
              % (what, self.proc.returncode, len(self.lines), self.stderr()))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)


class DroppingProxy:
    """Stands between a client and one node and loses the first `drop`
    APPEND_OK replies on the way back: the append happened, the client
    never hears of it. The client must retry, and the retry must not
    append again."""

    def __init__(self, cluster, target, drop):
        self.endpoint = "tcp://127.0.0.1:%d" % free_ports(1)[0]
        self.cluster, self.target, self.drop = cluster, target, drop
        self.dropped, self.forwarded = 0, 0
        self.running = True
        self.front = cluster.context.socket(zmq.ROUTER)
        self.front.setsockopt(zmq.LINGER, 0)
        curve_server(self.front, cluster.keys)
        self.front.bind(self.endpoint)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            if not self.front.poll(50):
                continue
            frames = self.front.recv_multipart()
            back = self.cluster.socket(zmq.REQ)
            back.connect(self.target)
            back.send(frames[-1])
            if back.poll(10000):
                reply = back.recv()
                if (msgpack.unpackb(reply)["type"] == APPEND_OK
                        and self.dropped < self.drop):
                    self.dropped += 1
                else:
                    self.forwarded += 1
                    self.front.send_multipart(frames[:-1] + [reply])
            back.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join(5)
        self.front.close()


class StandIn:
    """A server on a free 127.0.0.1 port that reads client requests and
    answers each with answer(request): a dict (sent back with the
    request's version and id), or None for no reply at all. Keeps every
    request with the time it arrived. Stopped by the `with` block."""

    def __init__(self, context, answer, keys=None):
        self.endpoint = "tcp://127.0.0.1:%d" % free_ports(1)[0]
        self.answer = answer
        self.requests = []  # (time.monotonic(), request)
        self.running = True
        self.socket = context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        curve_server(self.socket, keys)  # with a cluster's keys
        self.socket.bind(self.endpoint)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            if not self.socket.poll(50):
                continue
            frames = self.socket.recv_multipart()
            request = msgpack.unpackb(frames[-1])
            self.requests.append((time.monotonic(), request))
            reply = self.answer(request)
            if reply is not None:
                reply = dict(reply, version=1, id=request.get("id"))
                self.socket.send_multipart(frames[:-1]
                                           + [msgpack.packb(reply)])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join(5)
        self.socket.close()


def curve_server(socket, keys):
    """With a cluster's keys (ClusterKeys), makes a stand-in's socket a
    CURVE server with the nodes' front-door certificate, so that the
    clients of the cluster's `with` block (which have its keys in their
    environment) reach it; no ZAP handler runs in this process, so libzmq
    lets any client key in. Before the bind."""
    if keys is None:
        return
    import zmq.auth
    public, secret = zmq.auth.load_certificate(keys.secret("front"))
    socket.curve_secretkey = secret
    socket.curve_publickey = public
    socket.curve_server = True


def log_of(c, i):
    return c.read_all(i)


def check_exactly_once(log, payloads):
    datas = [d for _, d in log]
    for p in payloads:
        check(datas.count(p) == 1, "%r is in the log %d times"
              % (p, datas.count(p)))


# ---- libraftlog, through client_driver ----

def test_lib_follows_a_redirect_to_a_leader_it_was_not_given():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        follower = next(i for i in c.nodes if i != leader)
        rc, out, err = run([DRIVER, c.nodes[follower].client,
                            "append", "3", "redirected"])
        check(rc == 0, "append through a follower failed: %s" % err)
        rows = [line.split() for line in out.decode().splitlines()]
        check(len(rows) == 3, "expected 3 results, got %r" % rows)
        check(all(r[2] == c.nodes[leader].client for r in rows),
              "answers did not come from the leader %s: %r"
              % (c.nodes[leader].client, rows))
        log = log_of(c, leader)
        for r, k in zip(rows, range(3)):
            check((int(r[0]), b"redirected-%d" % k) in log,
                  "entry %d not at its index %s" % (k, r[0]))


def test_lib_retries_after_the_leader_is_killed_and_appends_each_once():
    with Cluster(3, NODE) as c:
        c.start_all()
        old = c.wait_leader()
        order = [old] + [i for i in c.nodes if i != old]
        with Background([DRIVER, "--timeout", "3000", endpoints(c, order),
                         "append", "60", "survivor"]) as d:
            d.wait_lines(10, 20, "the first 10 appends")
            c.kill(old)
            d.wait_lines(60, 60, "all 60 appends after the leader died")
            check(d.proc.wait(10) == 0, "the driver failed: %s"
                  % d.stderr())
            indexes = [int(line.split()[0]) for line in d.lines]
        check(indexes == sorted(set(indexes)), "indexes not increasing: %r"
              % indexes)
        new = c.wait_leader(among=[i for i in c.nodes if i != old])
        c.wait_commit(new, indexes[-1])
        log = log_of(c, new)
        check_exactly_once(log, [b"survivor-%d" % k for k in range(60)])
        for k, index in enumerate(indexes):
            check((index, b"survivor-%d" % k) in log,
                  "survivor-%d is not at its acknowledged index %d"
                  % (k, index))


def test_lib_retry_after_a_lost_reply_appends_once_and_returns_the_index():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        with DroppingProxy(c, c.nodes[leader].client, 1) as proxy:
            rc, out, err = run([DRIVER, "--timeout", "1500", "--retries",
                                "3", proxy.endpoint, "append", "1", "once"])
            check(rc == 0, "the append failed: %s" % err)
            check(proxy.dropped == 1, "the proxy dropped no reply")
        index, duplicate = (int(x) for x in out.split()[:2])
        check(duplicate == 1, "the retry was not answered as a duplicate")
        log = log_of(c, leader)
        check_exactly_once(log, [b"once-0"])
        check((index, b"once-0") in log, "once-0 not at index %d" % index)
        # raftlog_append_retry resends the last batch on purpose.
        rc, out, err = run([DRIVER, endpoints(c), "retry"])
        check(rc == 0, "retry failed: %s" % err)
        first, second = out.decode().splitlines()
        check(first.split()[1] == "0" and second.split()[1] == "1"
              and first.split()[0] == second.split()[0],
              "append_retry did not return the original index: %r"
              % out)
        check_exactly_once(log_of(c, leader), [b"again"])


def test_lib_tail_across_a_leader_change_has_no_gap_or_repeat():
    with Cluster(3, NODE) as c:
        c.start_all()
        old = c.wait_leader()
        order = [old] + [i for i in c.nodes if i != old]
        first = [c.append([b"t-%d" % k])["first"] for k in range(20)]
        # The tail reads from the leader first, which then dies.
        with Background([DRIVER, "--timeout", "3000", endpoints(c, order),
                         "tail", "0", "40"]) as d:
            d.wait_lines(20, 20, "the first 20 entries")
            c.kill(old)
            for k in range(20, 40):
                c.append([b"t-%d" % k])
            d.wait_lines(41, 60, "40 entries and the position")
            check(d.proc.wait(10) == 0, "the tail failed")
            lines = list(d.lines)
        got = [line.split(b" ", 1)[1] for line in lines[:40]]
        check(got == [b"t-%d" % k for k in range(40)],
              "tail saw %r" % got)
        indexes = [int(line.split()[0]) for line in lines[:40]]
        check(indexes[:20] == first, "wrong indexes %r" % indexes[:20])
        check(lines[40].startswith(b"position ")
              and int(lines[40].split()[1]) == indexes[-1] + 1,
              "position line %r" % lines[40])


def test_lib_gives_a_clear_error_when_no_node_answers():
    ports = free_ports(2)
    dead = ",".join("tcp://127.0.0.1:%d" % p for p in ports)
    started = time.monotonic()
    rc, out, err = run([DRIVER, "--timeout", "300", "--connect-timeout",
                        "200", "--retries", "2", dead, "status"])
    took = time.monotonic() - started
    check(rc == 100, "exit %d, expected 100 (UNAVAILABLE): %s" % (rc, err))
    check(err.startswith("error UNAVAILABLE: gave up after 3 attempts")
          and "127.0.0.1:%d" % ports[0] in err and err.count("\n") == 1,
          "unclear error: %r" % err)
    check(took < 5, "giving up took %.1f s" % took)
    rc, out, err = run([DRIVER, "not-an-endpoint", "status"])
    check(rc == 103 and "not a usable endpoint" in err,
          "bad endpoint: %d %r" % (rc, err))


def test_lib_follows_a_redirect_with_no_retries_left():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        follower = next(i for i in c.nodes if i != leader)
        rc, out, err = run([DRIVER, "--retries", "0",
                            c.nodes[follower].client, "append", "1", "r0"])
        check(rc == 0 and out.split()[2].decode() == c.nodes[leader].client,
              "a redirect with --retries 0: %d %r %r" % (rc, out, err))


def test_lib_reports_retries_and_whether_a_failed_append_may_be_in_the_log():
    context = zmq.Context()
    try:
        with StandIn(context, lambda r: None) as silent:
            rc, out, err = run([DRIVER, "--timeout", "300", "--retries", "2",
                                "--progress", "1", silent.endpoint, "append",
                                "1", "x"])
        lines = err.splitlines()
        check(rc == 100 and len(lines) == 3 and all(
            lines[k].startswith("progress: no reply from %s within 300 ms; "
                                "retrying (%d/2)" % (silent.endpoint, k + 1))
            and lines[k].endswith("[%d/2]" % (k + 1)) for k in (0, 1))
            and lines[2].endswith("[outcome unknown]"),
            "no reply: %d %r" % (rc, err))
        with StandIn(context, lambda r: {"type": NOT_LEADER,
                                         "leader": 0}) as lost:
            rc, out, err = run([DRIVER, "--retries", "1", lost.endpoint,
                                "append", "1", "x"])
        check(rc == 100 and err.endswith("[not appended]\n")
              and "knows no leader" in err, "NOT_LEADER: %d %r" % (rc, err))
        dead = "tcp://127.0.0.1:%d" % free_ports(1)[0]
        rc, out, err = run([DRIVER, "--progress", "1", dead, "append", "1",
                            "x"])
        check(rc == 100 and err.count("\n") == 1 and "progress" not in err
              and "nothing listens at %s" % dead in err
              and err.endswith("[not appended]\n"),
              "nothing listening: %d %r" % (rc, err))
    finally:
        context.destroy(linger=0)


def test_lib_asks_every_member_at_once_and_reports_each():
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        c.kill(2)
        rc, out, err = run([DRIVER, "--connect-timeout", "500",
                            endpoints(c), "status-all"])
        check(rc == 0 and out.decode().splitlines() ==
              ["node 1 0", "node 2 100", "node 3 0"],
              "status-all: %d %r %r" % (rc, out, err))


# ---- the raftlog command line ----

def test_cli_append_and_tail_in_every_format():
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        rc, out, err = cli(c, "append", "hello", "world")
        check(rc == 0 and err == "", "append: %d %r" % (rc, err))
        i1, i2 = (int(x) for x in out.split())
        check(i2 == i1 + 1, "indexes %d %d" % (i1, i2))
        rc, out, err = cli(c, "append", "--batch", "2",
                           stdin=b"one\ntwo\n\nlast without newline")
        check(rc == 0 and len(out.split()) == 4, "lines: %r %r" % (out, err))
        frames = b"".join(len(d).to_bytes(4, "big") + d
                          for d in (b"bin\x00\xff", b"", b"x" * 70000))
        rc, out, err = cli(c, "append", "--format", "binary", "--quiet",
                           stdin=frames)
        check(rc == 0 and out.startswith(b"appended 3 entries at indexes "),
              "binary: %r %r" % (out, err))
        written = [b"hello", b"world", b"one", b"two", b"",
                   b"last without newline", b"bin\x00\xff", b"", b"x" * 70000]
        rc, out, err = cli(c, "tail", "--format", "binary")
        check(rc == 0, "tail: %r" % err)
        got, at = [], 0
        while at < len(out):
            n = int.from_bytes(out[at:at + 4], "big")
            got.append(out[at + 4:at + 4 + n])
            at += 4 + n
        check(got == written, "binary tail %r" % got[:8])
        rc, out, err = cli(c, "tail", "--from", str(i2), "--max", "2")
        check(out == b"world\none\n", "raw tail %r" % out)
        rc, out, err = cli(c, "tail", "--format", "json", "--from",
                           str(i1), "--max", "7")
        rows = [json.loads(line) for line in out.decode().splitlines()]
        # Each row has its entry's time (ms since the epoch; the leader's
        # clock, never going back along the log).
        times = [row.pop("time") for row in rows]
        check(all(isinstance(t, int) and t > 1.7e12 for t in times)
              and times == sorted(times), "json times %r" % times)
        check(rows[0] == {"index": i1, "data": "hello"} and
              rows[6] == {"index": rows[6]["index"], "data_base64": "YmluAP8="},
              "json tail %r" % rows)
        rc, out, err = cli(c, "tail", "--format", "hex", "--from", str(i1),
                           "--max", "1")
        check(out == b"%d\t68656c6c6f\n" % i1, "hex tail %r" % out)
        rc, out, err = cli(c, "tail", "--from-end")
        check(rc == 0 and out == b"", "--from-end printed %r" % out)


def test_cli_tail_follow_survives_a_leader_kill_without_gap_or_repeat():
    with Cluster(3, NODE) as c:
        c.start_all()
        old = c.wait_leader()
        order = [old] + [i for i in c.nodes if i != old]
        for k in range(10):
            c.append([b"f-%d" % k])
        with Background([CLI, "--cluster", endpoints(c, order), "tail",
                         "-f", "--format", "json"]) as t:
            t.wait_lines(10, 20, "the first 10 entries")
            c.kill(old)
            for k in range(10, 30):
                c.append([b"f-%d" % k])
            t.wait_lines(30, 60, "30 entries")
            got = [json.loads(line)["data"] for line in t.lines]
            check(t.proc.poll() is None, "tail -f exited")
        check(got[:30] == ["f-%d" % k for k in range(30)] and len(got) == 30,
              "tail -f saw %r" % got)


def test_cli_status_members_and_transfer_leader():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        c.append([b"x"])
        rc, out, err = cli(c, "status")
        text = out.decode()
        check(rc == 0 and ("leader: node %d" % leader) in text
              and text.count("follower") == 2, "status table:\n%s" % text)
        for head in ("ROLE", "TERM", "COMMIT", "LAST", "LAG", "CONTACT"):
            check(head in text, "no %s column" % head)
        rc, out, err = cli(c, "status", "--json")
        s = json.loads(out)
        check(s["leader"] == leader and len(s["members"]) == 3 and
              all(m["reachable"] and "lag" in m for m in s["members"]),
              "status --json %r" % s)
        rc, out, err = cli(c, "members", "list", "--json")
        ids = sorted(m["id"] for m in json.loads(out))
        check(rc == 0 and ids == [1, 2, 3], "members list %r" % out)
        target = next(i for i in c.nodes if i != leader)
        rc, out, err = cli(c, "transfer-leader", str(target))
        check(rc == 0 and out == b"node %d leads now\n" % target,
              "transfer-leader: %d %r %r" % (rc, out, err))
        wait_for(lambda: c.leader() == target, 10, "node %d to lead" % target)
        # To the node that leads already: answered at once, nothing moves.
        started = time.monotonic()
        rc, out, err = cli(c, "transfer-leader", str(target))
        check(rc == 0 and out == b"node %d leads now\n" % target
              and time.monotonic() - started < 2,
              "transfer to the leader itself: %d %r %r" % (rc, out, err))
        # Refused by the cluster: exit 4, one line.
        rc, out, err = cli(c, "members", "remove", "9")
        check(rc == EXIT_REJECTED and err.count("\n") == 1
              and "REJECTED" in err, "remove 9: %d %r" % (rc, err))
        # A node down shows as unreachable, and status still answers.
        victim = next(i for i in c.nodes if i != target)
        c.kill(victim)
        rc, out, err = cli(c, "--connect-timeout", "300", "status")
        check(rc == 0 and b"unreachable" in out, "status with a node down:"
              " %d %r" % (rc, out))


def test_cli_help_usage_errors_and_unavailable_exit_codes():
    for command in ("append", "tail", "status", "members", "transfer-leader"):
        rc, out, err = run([CLI, command, "--help"])
        check(rc == 0 and out.startswith(b"usage: raftlog " +
                                          command.encode())
              and b"Exit status" in out, "%s --help: %d" % (command, rc))
    rc, out, err = run([CLI, "--help"])
    check(rc == 0 and b"transfer-leader" in out, "--help %r" % out)
    usage = [["tail", "--bogus"], ["tail", "--format", "xml"],
             ["append", "--batch", "0", "x"], ["frobnicate"],
             ["members", "add", "4"], ["--cluster", "nonsense", "status"],
             ["tail", "--from", "-3"], []]
    for args in usage:
        rc, out, err = run([CLI] + args)
        check(rc == EXIT_USAGE and (not args or err.count("\n") == 1),
              "%r: exit %d, stderr %r" % (args, rc, err))
    dead = "tcp://127.0.0.1:%d" % free_ports(1)[0]
    for args in (["append", "x"], ["tail"], ["status"], ["members", "list"],
                 ["transfer-leader"]):
        rc, out, err = run([CLI, "--cluster", dead, "--timeout", "300",
                            "--connect-timeout", "200", "--retries", "1"]
                           + args)
        check(rc == EXIT_UNAVAILABLE and err.count("\n") == 1 and dead in err,
              "%r with no node: exit %d, %r" % (args, rc, err))
    env = dict(os.environ, RAFTLOG_ENDPOINTS=dead)
    rc, out, err = run([CLI, "--retries", "0", "--connect-timeout", "200",
                        "status"], env=env)
    check(rc == EXIT_UNAVAILABLE and dead in err,
          "RAFTLOG_ENDPOINTS not used: %r" % err)


def test_cli_append_of_an_oversized_entry_is_rejected():
    with Cluster(3, NODE, extra=["--max-entry", "1K"]) as c:
        c.start_all()
        c.wait_leader()
        rc, out, err = cli(c, "append", "small", "y" * 2000)
        check(rc == EXIT_REJECTED and "TOO_LARGE" in err
              and err.count("\n") == 1, "oversized: %d %r" % (rc, err))
        rc, out, err = cli(c, "append", "--format", "binary",
                           stdin=b"\x00\x00\x00\x05ab")
        check(rc == 1 and "cut short" in err, "truncated frame: %d %r"
              % (rc, err))


# ---- the Python client ----

def python_client(c, **kw):
    sys.path.insert(0, PYTHON_DIR)
    import raftlog
    return raftlog, raftlog.Client(endpoints(c, kw.pop("order", None)), **kw)


def test_python_client_appends_idempotently_and_tails_across_a_leader_kill():
    with Cluster(3, NODE) as c:
        c.start_all()
        old = c.wait_leader()
        order = [old] + [i for i in c.nodes if i != old]
        raftlog, log = python_client(c, order=order, timeout=3.0)
        with log:
            first, last = log.append([b"p-0", "p-1"])
            check(last == first + 1, "batch indexes %d %d" % (first, last))
            # Idempotence: the same producer and seq again is not appended.
            log.seq -= 1
            again = log.append([b"p-0", b"p-1"])
            check(again == (first, last), "a resent batch got %r" % (again,))
            s = log.status()
            check(s["role"] in ("leader", "follower") and s["commit"] >= last,
                  "status %r" % s)
            tail = log.tail(start=first)
            seen = [next(tail) for _ in range(2)]
            c.kill(old)
            for k in range(2, 12):
                c.append([b"p-%d" % k])
            seen += [next(tail) for _ in range(10)]
            check([d for _, d in seen] == [b"p-%d" % k for k in range(12)],
                  "tail across the kill saw %r" % seen)
            # A follower learns a commit with the next heartbeat: let every
            # live node know the last one before a read that stops at the
            # end of what its node knows.
            for i in c.nodes:
                if c.alive(i):
                    c.wait_commit(i, seen[-1][0])
            with raftlog.Client(log.endpoints, timeout=3.0) as other:
                batch = [d for _, d in other.tail(follow=False)]
            check(batch == [b"p-%d" % k for k in range(12)],
                  "a full read saw %r" % batch)
        dead = "tcp://127.0.0.1:%d" % free_ports(1)[0]
        with raftlog.Client(dead, timeout=0.3, connect_timeout=0.2,
                            retries=1) as nobody:
            try:
                nobody.status()
                check(False, "status of no node succeeded")
            except raftlog.RaftlogError as e:
                check(e.name == "UNAVAILABLE" and dead in e.message,
                      "unclear error %s" % e)


def test_python_client_follows_a_redirect_fails_fast_and_reports_retries():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        follower = next(i for i in c.nodes if i != leader)
        raftlog, log = python_client(c, order=[follower], retries=0)
        with log:
            first, last = log.append([b"redirected"])
            check(first == last and log.endpoints[log.current]
                  == c.nodes[leader].client, "append through a follower "
                  "with retries=0 went to %r" % log.endpoints[log.current])
        dead = "tcp://127.0.0.1:%d" % free_ports(1)[0]
        heard = []
        with raftlog.Client(dead, progress=heard.append) as nobody:
            try:
                nobody.append([b"x"])
                check(False, "an append to nobody succeeded")
            except raftlog.RaftlogError as e:
                check(e.name == "UNAVAILABLE" and not e.unknown and
                      "nothing listens at %s" % dead in e.message
                      and heard == [], "nothing listening: %s %r %r"
                      % (e, e.unknown, heard))
    context = zmq.Context()
    try:
        with StandIn(context, lambda r: None) as silent, \
                raftlog.Client(silent.endpoint, timeout=0.3, retries=2,
                               progress=heard.append) as client:
            try:
                client.append([b"x"])
                check(False, "an append to a silent server succeeded")
            except raftlog.RaftlogError as e:
                check(e.unknown and len(heard) == 2 and
                      heard[0].startswith("no reply from %s" % silent.endpoint)
                      and "retrying (1/2)" in heard[0]
                      and "retrying (2/2)" in heard[1],
                      "no reply: %s %r %r" % (e, e.unknown, heard))
    finally:
        context.destroy(linger=0)


def test_python_examples_produce_lines_and_tail():
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        path = os.path.join(c.dir, "lines.txt")
        with open(path, "w") as f:
            f.write("".join("line %d\n" % k for k in range(250)))
        env = dict(os.environ, RAFTLOG_ENDPOINTS=endpoints(c))
        examples = os.path.join(PYTHON_DIR, "examples")
        rc, out, err = run([os.path.join(examples, "produce_lines.py"), path],
                           env=env)
        check(rc == 0 and out.startswith(b"appended 250 lines at indexes "),
              "produce_lines: %d %r %r" % (rc, out, err))
        rc, out, err = run([os.path.join(examples, "tail.py"),
                            "--no-follow"], env=env)
        lines = out.decode().splitlines()
        check(rc == 0 and len(lines) == 250 and
              lines[-1].endswith(": line 249"), "tail.py: %r" % lines[-3:])
        with Background([os.path.join(examples, "tail.py")], env=env) as t:
            t.wait_lines(250, 20, "tail.py to catch up")
            c.append([b"fresh"])
            t.wait_lines(251, 20, "tail.py to follow")
            check(t.lines[250].endswith(b": fresh"), "got %r" % t.lines[250])


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:],
                       {"--node": "NODE", "--cli": "CLI", "--driver": "DRIVER",
                       "--python-dir": "PYTHON_DIR"}))

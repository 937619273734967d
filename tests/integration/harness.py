#!/usr/bin/python3
"""Real raftlog-node processes on 127.0.0.1 for the integration tests.

A Cluster starts nodes on free ports, each with its own data directory
under a temporary directory, talks to them over the client protocol
(docs/PROTOCOL.md) with a fresh REQ socket per request (Lazy Pirate), and
stops every process it started, by PID, when the `with` block ends. Waits
are conditions polled until a deadline, never bare sleeps.

Uses Debian's python3-zmq and python3-msgpack only.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import msgpack
import zmq

APPEND, READ, STATUS, MEMBERS, TRANSFER = 33, 34, 35, 36, 37
APPEND_OK, READ_OK, STATUS_OK, MEMBERS_OK, TRANSFER_OK = 65, 66, 67, 68, 69
NOT_LEADER, ERROR = 96, 97
ERR_TOO_LARGE, ERR_OUT_OF_RANGE, ERR_TIMEOUT, ERR_SHUTTING_DOWN = 2, 3, 4, 5
ERR_BAD_REQUEST, ERR_UNSUPPORTED_VERSION, ERR_NO_LEADER = 1, 6, 10


class TestFailure(Exception):
    """A test's expectation did not hold."""


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def free_ports(count):
    """Ports that were free a moment ago on 127.0.0.1, drawn at random
    below Linux's ephemeral range (32768-60999): a port the kernel hands
    out for port 0 or for an outgoing connection (every ZeroMQ connect
    takes one) could be taken again by a parallel test before our node
    binds it."""
    ports = []
    while len(ports) < count:
        port = random.randint(20000, 32000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        if port not in ports:
            ports.append(port)
    return ports


def wait_for(condition, timeout, what):
    """Polls condition() until it returns a true value or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TestFailure("timed out after %.1f s waiting for %s"
                              % (timeout, what))
        time.sleep(0.02)


class Node:
    def __init__(self, node_id, peer_port, client_port, data_dir, log_path):
        self.id = node_id
        self.peer = "tcp://127.0.0.1:%d" % peer_port
        self.client = "tcp://127.0.0.1:%d" % client_port
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = None


class Cluster:
    def __init__(self, size, binary, election_ms=600, heartbeat_ms=60,
                 request_timeout_ms=3000, extra=()):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="raftlog-it-")
        self.election_ms = election_ms
        self.args = ["--election-timeout", str(election_ms),
                     "--heartbeat", str(heartbeat_ms),
                     "--request-timeout", str(request_timeout_ms),
                     "--cluster-id", "it"] + list(extra)
        ports = free_ports(2 * size)
        self.nodes = {}
        for i in range(1, size + 1):
            self.nodes[i] = Node(i, ports[2 * i - 2], ports[2 * i - 1],
                                 os.path.join(self.dir, "node%d" % i),
                                 os.path.join(self.dir, "node%d.log" % i))
        self.context = zmq.Context()
        self.next_id = 1

    # -- processes --

    def member_args(self):
        args = []
        for n in self.nodes.values():
            args += ["--member", "%d=%s,%s" % (n.id, n.peer, n.client)]
        return args

    def env_for(self, i):
        """The environment node i starts with (None: ours)."""
        return None

    def member_args_for(self, i):
        """The --member flags node i starts with (a subclass may route a
        node's peer traffic through proxies)."""
        return self.member_args()

    def start(self, i, extra=()):
        n = self.nodes[i]
        log = open(n.log_path, "ab")
        n.proc = subprocess.Popen(
            [self.binary, "--id", str(i), "--data", n.data_dir]
            + self.member_args_for(i) + self.args + list(extra),
            stdout=log, stderr=subprocess.STDOUT, env=self.env_for(i))
        log.close()

    def start_all(self):
        for i in self.nodes:
            self.start(i)

    def alive(self, i):
        p = self.nodes[i].proc
        return p is not None and p.poll() is None

    def kill(self, i, sig=signal.SIGKILL):
        p = self.nodes[i].proc
        if p is not None and p.poll() is None:
            p.send_signal(sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                p.wait(timeout=30)

    def stop(self, i):
        """SIGTERM and wait; returns the exit status."""
        p = self.nodes[i].proc
        p.send_signal(signal.SIGTERM)
        return p.wait(timeout=30)

    def close(self):
        for n in self.nodes.values():
            if n.proc is not None and n.proc.poll() is None:
                n.proc.send_signal(signal.SIGCONT)
                n.proc.kill()
                n.proc.wait()
        self.context.destroy(linger=0)
        if os.environ.get("RL_KEEP_TEST_DIRS"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, trace):
        if kind is not None:
            self.dump_logs()
        self.close()

    def dump_logs(self):
        for n in self.nodes.values():
            try:
                with open(n.log_path, "rb") as f:
                    lines = f.read().decode(errors="replace").splitlines()
                print("---- node %d log (last 30 lines) ----" % n.id)
                print("\n".join(lines[-30:]))
            except OSError:
                pass

    # -- requests --

    def raw(self, i, payload, timeout=2.0):
        """Sends raw bytes to node i's front door; the decoded reply or
        None after timeout."""
        s = self.context.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.nodes[i].client)
        try:
            s.send(payload)
            if not s.poll(int(timeout * 1000)):
                return None
            return msgpack.unpackb(s.recv())
        finally:
            s.close()

    def request(self, i, msg, timeout=2.0):
        msg = dict(msg)
        msg.setdefault("version", 1)
        msg.setdefault("id", self.next_id)
        self.next_id += 1
        reply = self.raw(i, msgpack.packb(msg), timeout)
        if reply is not None:
            check(reply.get("id") == msg["id"],
                  "reply id %r for request id %r" % (reply.get("id"),
                                                     msg["id"]))
        return reply

    def status(self, i, timeout=1.0):
        if not self.alive(i):
            return None
        return self.request(i, {"type": STATUS}, timeout)

    def leader(self, among=None):
        """The id of the node that leads the highest term among the nodes
        that answer (a paused node does not), provided every answering
        node of that term agrees; or None."""
        ids = [i for i in (among or self.nodes) if self.alive(i)]
        answers = {i: s for i, s in ((i, self.status(i, 0.5)) for i in ids)
                   if s}
        leaders = sorted((s["term"], i) for i, s in answers.items()
                         if s["role"] == "leader")
        if not leaders:
            return None
        term, leader = leaders[-1]
        agree = all(s["leader"] == leader for s in answers.values()
                    if s["term"] == term)
        return leader if agree else None

    def wait_leader(self, among=None, timeout=None):
        timeout = timeout or 20 * self.election_ms / 1000.0
        return wait_for(lambda: self.leader(among), timeout, "a leader")

    def append(self, entries, producer=None, seq=None, timeout=10.0,
               to=None):
        """Appends through whichever live node leads, following NOT_LEADER
        and retrying on timeouts with the same producer and seq. Returns
        the APPEND_OK reply; raises on a definite error or the deadline."""
        msg = {"type": APPEND, "entries": entries}
        if producer is not None:
            msg["producer"], msg["seq"] = producer, seq
        deadline = time.monotonic() + timeout
        target = to
        tried = 0
        while time.monotonic() < deadline:
            if target is None or not self.alive(target):
                live = [i for i in self.nodes if self.alive(i)]
                if not live:
                    raise TestFailure("no live node to append to")
                target = self.leader() or live[tried % len(live)]
                tried += 1
            reply = self.request(target, msg, timeout=3.0)
            if reply is None:
                target = None
                continue
            if reply["type"] == APPEND_OK:
                return reply
            if reply["type"] == NOT_LEADER:
                target = reply["leader"] or None
                if target is None:
                    time.sleep(0.05)
                continue
            if reply["type"] == ERROR and reply["code"] in (
                    ERR_TIMEOUT, ERR_SHUTTING_DOWN, ERR_NO_LEADER, 8):
                target = None
                continue
            raise TestFailure("append failed: %r" % reply)
        raise TestFailure("append did not succeed within %.1f s" % timeout)

    def read_all(self, i, start=1, timeout=5.0):
        """Every committed user entry node i knows, as (index, data)."""
        entries, frm = [], start
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self.request(i, {"type": READ, "from": frm})
            check(reply is not None and reply["type"] == READ_OK,
                  "READ from node %d failed: %r" % (i, reply))
            entries += [tuple(e) for e in reply["entries"]]
            frm = reply["next"]
            if frm > reply["commit"]:
                return entries
        raise TestFailure("read_all of node %d did not finish" % i)

    def wait_commit(self, i, index, timeout=10.0):
        return wait_for(
            lambda: (self.status(i) or {}).get("commit", 0) >= index,
            timeout, "node %d to commit index %d" % (i, index))


def run_tests(module, argv, options):
    """The command line of a test file: `[--OPTION VALUE]... TEST` runs one
    test function (test_TEST), `[--OPTION VALUE]... --list` lists them
    (`--OPTION=VALUE` works too, for values that start with a dash).
    module is the file's globals(); options maps each --OPTION to the
    global it sets: "NAME" for a required path (made absolute), ("NAME",)
    for a required plain value, ("NAME", None) for an optional one.
    Returns the exit status: 0 passed, 1 failed, 2 usage."""
    tests = {name[5:]: fn for name, fn in sorted(module.items())
             if name.startswith("test_")}
    args = list(argv)
    while args and args[0].split("=", 1)[0] in options:
        if "=" in args[0]:
            flag, value = args[0].split("=", 1)
            args = args[1:]
        elif len(args) > 1:
            flag, value = args[0], args[1]
            args = args[2:]
        else:
            break
        name = options[flag]
        if isinstance(name, tuple):
            module[name[0]] = value
        else:
            module[name] = os.path.abspath(value)
    if args == ["--list"]:
        print("\n".join(tests))
        return 0
    required = [n if isinstance(n, str) else n[0] for n in options.values()
                if isinstance(n, str) or len(n) == 1]
    if len(args) != 1 or args[0] not in tests or \
            not all(module.get(n) for n in required):
        print(module.get("__doc__"))
        return 2
    try:
        tests[args[0]]()
    except TestFailure as failure:
        print("FAILED:", failure)
        return 1
    print("passed:", args[0])
    return 0

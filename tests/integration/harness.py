#!/usr/bin/python3
"""Real raftlog-node processes on 127.0.0.1 for the integration tests.

A Cluster starts nodes on free ports, each with its own data directory
under a temporary directory, talks to them over the client protocol
(docs/PROTOCOL.md) with a fresh REQ socket per request (Lazy Pirate), and
stops every process it started, by PID, when the `with` block ends. Waits
are conditions polled until a deadline, never bare sleeps.

CURVE (docs/SECURITY.md) is on by default: each Cluster makes its own
certificates in its temporary directory (ClusterKeys), starts its nodes
(and, through broker_args(), its brokers) with them, connects its own
sockets with an admin key (socket(), raw(), request()), and inside its
`with` block exports $RAFTLOG_KEY and $RAFTLOG_SERVER_KEY so that the
clients a test starts connect with keys too. RL_TEST_CURVE=0 runs
everything without keys (the nodes listen on 127.0.0.1, where no keys are
needed); a test whose point is the threat model without CURVE passes
curve=False.

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

# CURVE unless RL_TEST_CURVE=0 (docs/SECURITY.md; README, Tests).
CURVE = os.environ.get("RL_TEST_CURVE", "1") != "0"

APPEND, READ, STATUS, MEMBERS, TRANSFER = 33, 34, 35, 36, 37
APPEND_OK, READ_OK, STATUS_OK, MEMBERS_OK, TRANSFER_OK = 65, 66, 67, 68, 69
NOT_LEADER, ERROR = 96, 97
ERR_TOO_LARGE, ERR_OUT_OF_RANGE, ERR_TIMEOUT, ERR_SHUTTING_DOWN = 2, 3, 4, 5
ERR_BAD_REQUEST, ERR_UNSUPPORTED_VERSION, ERR_NO_LEADER = 1, 6, 10
ERR_FORBIDDEN = 15


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


def write_certificate(directory, name, role, node_id=None):
    """Writes a new key pair as czmq certificates, the files `raftlog
    keygen NAME --role ROLE [--node-id N]` writes (DIRECTORY/NAME public,
    0644; DIRECTORY/NAME_secret, 0600), in Python so that tests need no
    client binary. Returns the public key (Z85 text)."""
    public, secret = zmq.curve_keypair()
    meta = ["    name = \"%s\"" % name, "    role = \"%s\"" % role]
    if node_id is not None:
        meta.append("    node-id = \"%d\"" % node_id)
    for path, kind, keys in (
            (os.path.join(directory, name), "Public",
             ["    public-key = \"%s\"" % public.decode()]),
            (os.path.join(directory, name + "_secret"), "**Secret**",
             ["    public-key = \"%s\"" % public.decode(),
              "    secret-key = \"%s\"" % secret.decode()])):
        text = "\n".join(["#   ZeroMQ CURVE %s Certificate (raftlog tests)"
                          % kind, "", "metadata"] + meta + ["curve"] + keys)
        mode = 0o600 if kind != "Public" else 0o644
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
    return public.decode()


def read_public_key(path):
    """The public key (Z85 text) of a czmq certificate file."""
    import zmq.auth
    return zmq.auth.load_certificate(path)[0].decode()


class ClusterKeys:
    """The certificates of one test cluster, in DIRECTORY: nodeN (role node,
    node-id N, made on demand), front (the nodes' shared front door, also
    the brokers'), broker, and one client key per role (admin, producer,
    consumer). The public certificates of the nodes, the broker and the
    clients are in DIRECTORY/allowed, every daemon's --keys."""

    def __init__(self, directory):
        self.dir = directory
        self.allowed = os.path.join(directory, "allowed")
        os.makedirs(self.allowed, mode=0o700)
        self.make("front", "consumer", allow=False)
        for role in ("broker", "admin", "producer", "consumer"):
            self.make(role, role)

    def make(self, name, role, node_id=None, allow=True):
        """A new certificate NAME; its public file also in allowed/."""
        key = write_certificate(self.dir, name, role, node_id)
        if allow:
            shutil.copy(os.path.join(self.dir, name), self.allowed)
        return key

    def node(self, i):
        """Node i's certificate (its _secret path), made on first use."""
        if not os.path.exists(self.secret("node%d" % i)):
            self.make("node%d" % i, "node", node_id=i)
        return self.secret("node%d" % i)

    def secret(self, name):
        return os.path.join(self.dir, name + "_secret")

    def public(self, name):
        return os.path.join(self.dir, name)

    def revoke(self, name):
        """Removes NAME's public certificate from allowed/."""
        os.unlink(os.path.join(self.allowed, name))

    def node_args(self, i):
        return ["--cert", self.node(i), "--front-cert", self.secret("front"),
                "--keys", self.allowed]

    def broker_args(self):
        return ["--cert", self.secret("broker"),
                "--front-cert", self.secret("front"),
                "--keys", self.allowed, "--server-key", self.public("front")]

    def client_env(self, role="admin"):
        """The environment that gives the clients (raftlog, libraftlog,
        raftlog.py) the key of role and the front door's certificate."""
        return {"RAFTLOG_KEY": self.secret(role),
                "RAFTLOG_SERVER_KEY": self.public("front")}

    def apply(self, socket, role="admin", server="front"):
        """Makes a pyzmq socket a CURVE client with role's key, for the
        server whose certificate is SERVER (before its connect)."""
        import zmq.auth
        public, secret = zmq.auth.load_certificate(self.secret(role))
        socket.curve_secretkey = secret
        socket.curve_publickey = public
        socket.curve_serverkey = zmq.auth.load_certificate(
            self.public(server))[0]


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
                 request_timeout_ms=3000, extra=(), curve=None):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="raftlog-it-")
        # CURVE unless the test or RL_TEST_CURVE=0 says otherwise.
        self.curve = CURVE if curve is None else curve
        self.keys = ClusterKeys(os.path.join(self.dir, "keys")) \
            if self.curve else None
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

    def key_args(self, i):
        """The key flags node i starts with ([] without CURVE)."""
        return self.keys.node_args(i) if self.keys else []

    def broker_args(self):
        """The key flags of a broker in front of this cluster ([] without
        CURVE): the broker's key toward the nodes, the nodes' front-door
        certificate as its own (so clients need one server key), the
        cluster's --keys."""
        return self.keys.broker_args() if self.keys else []

    def client_env(self, role="admin"):
        """Environment variables that give a client process the key of
        role ({} without CURVE)."""
        return self.keys.client_env(role) if self.keys else {}

    def socket(self, kind, role="admin"):
        """A socket of this cluster's context, LINGER 0, with the key of
        role when CURVE is on (connect it to a node or broker)."""
        s = self.context.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        if self.keys:
            self.keys.apply(s, role)
        return s

    def start(self, i, extra=()):
        n = self.nodes[i]
        log = open(n.log_path, "ab")
        n.proc = subprocess.Popen(
            [self.binary, "--id", str(i), "--data", n.data_dir]
            + self.member_args_for(i) + self.args + self.key_args(i)
            + list(extra),
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
        # Inside the block, client processes the test starts (and the
        # Python client) find the admin key and the front door's
        # certificate in $RAFTLOG_KEY and $RAFTLOG_SERVER_KEY, as a user
        # who exported them would; restored when the block ends.
        self.saved_env = {k: os.environ.get(k) for k in
                          ("RAFTLOG_KEY", "RAFTLOG_SERVER_KEY")}
        os.environ.update(self.client_env())
        return self

    def __exit__(self, kind, value, trace):
        for name, value in self.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
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

    def raw(self, i, payload, timeout=2.0, role="admin"):
        """Sends raw bytes to node i's front door (with the key of role,
        with CURVE); the decoded reply or None after timeout."""
        s = self.socket(zmq.REQ, role)
        s.connect(self.nodes[i].client)
        try:
            s.send(payload)
            if not s.poll(int(timeout * 1000)):
                return None
            return msgpack.unpackb(s.recv())
        finally:
            s.close()

    def request(self, i, msg, timeout=2.0, role="admin"):
        msg = dict(msg)
        msg.setdefault("version", 1)
        msg.setdefault("id", self.next_id)
        self.next_id += 1
        reply = self.raw(i, msgpack.packb(msg), timeout, role)
        if reply is not None:
            check(reply.get("id") == msg["id"],
                  "reply id %r for request id %r" % (reply.get("id"),
                                                     msg["id"]))
        return reply

    def status(self, i, timeout=1.0, log=None):
        """Node i's reply to STATUS (about log when named: a STATUS_OK's
        top-level role, term, leader and commit are that log's), or None
        when it is down or does not answer."""
        if not self.alive(i):
            return None
        msg = {"type": STATUS}
        if log and log != "default":
            msg["log"] = log
        return self.request(i, msg, timeout)

    def leader(self, among=None, log=None):
        """The id of the node that leads the highest term (of log, when
        named) among the nodes that answer STATUS_OK (a paused node does
        not; one that does not host log sends it elsewhere), provided every
        answering node of that term agrees; or None."""
        ids = [i for i in (among or self.nodes) if self.alive(i)]
        answers = {i: s for i, s in
                   ((i, self.status(i, 0.5, log)) for i in ids)
                   if s and s["type"] == STATUS_OK}
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

#!/usr/bin/python3
"""Integration tests of the clients' CURVE security (issue 14): `raftlog
keygen`, and the command line, libraftlog (through client_driver) and the
Python client against a CURVE server.

The server here is a stand-in (CurveStandIn), so that each client
error can be made on purpose and the clients are tested alone (the real
nodes and broker with CURVE are test_curve.py's): a ROUTER that is a
CURVE server, behind pyzmq's ThreadAuthenticator (the ZAP handler)
allowing the public certificates of a --keys directory, answering a few requests of docs/PROTOCOL.md as a
node would, with the role of each message's key (its "User-Id", looked
up in the directory): FORBIDDEN when the role may not. Certificates are
made with `raftlog keygen`.

    test_clients_curve.py --cli PATH --driver PATH --python-dir DIR
                          --readme FILE TEST
    test_clients_curve.py --list

Every process a test starts is stopped by PID; every wait is a condition
with a deadline. A refused key must fail well within one reply timeout
(the clients run with --timeout 3000 and 5 retries: a retry loop would take
15 s or more); no test asserts exact timings.
"""
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from harness import check, free_ports, run_tests

CLI = DRIVER = PYTHON_DIR = README = None
EXIT_USAGE, EXIT_FAILED, EXIT_REJECTED = 2, 1, 4
APPEND, READ, STATUS, MEMBERS = 33, 34, 35, 36
APPEND_OK, READ_OK, STATUS_OK, MEMBERS_OK = 65, 66, 67, 68
ERROR, FORBIDDEN = 97, 15
LIB_AUTH, LIB_INVALID = 105, 103   # client_driver exits with the code
TIMEOUT_MS, RETRIES = 3000, 5
FAST = 2.5   # seconds: well under one reply timeout (3 s), let alone 5


# ---- keys ----

def keygen(directory, name, *args, umask=None):
    """Runs `raftlog keygen NAME --dir DIRECTORY ARGS`: (status, stdout,
    stderr)."""
    def set_umask():
        os.umask(umask)
    p = subprocess.run([CLI, "keygen", name, "--dir", directory] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30,
                       preexec_fn=set_umask if umask is not None else None)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def metadata(path):
    """The metadata section of a zcert file, as a dict."""
    meta, section = {}, None
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            if not line.startswith(" "):
                section = line.strip()
            elif section == "metadata" and "=" in line:
                name, value = line.split("=", 1)
                meta[name.strip()] = value.strip().strip('"')
    return meta


class Keys:
    """A directory with certificates made by keygen: server (the stand-in's
    own), alice (producer), carol (consumer), root (admin), all allowed
    (their public files in allowed/), and mallory (producer), not allowed.
    Removed by the `with` block."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="raftlog-curve-")
        self.mine = os.path.join(self.dir, "mine")
        self.allowed = os.path.join(self.dir, "allowed")
        os.mkdir(self.allowed)
        for name, role in (("server", "admin"), ("alice", "producer"),
                           ("carol", "consumer"), ("root", "admin"),
                           ("mallory", "producer")):
            rc, out, err = keygen(self.mine, name, "--role", role)
            check(rc == 0, "keygen %s: %d %s" % (name, rc, err))
            if name not in ("server", "mallory"):
                shutil.copy(os.path.join(self.mine, name), self.allowed)

    def secret(self, name):
        return os.path.join(self.mine, name + "_secret")

    def public(self, name):
        return os.path.join(self.mine, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- the stand-in server ----

class _Allowed:
    """pyzmq's credentials provider: the keys of a directory's public
    certificates, with their roles, read again at each new connection."""

    def __init__(self, directory):
        self.directory = directory
        self.roles = {}
        self._load()

    def _load(self):
        roles = {}
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            if name.endswith("_secret") or name.startswith("."):
                continue
            public, _ = zmq.auth.load_certificate(path)
            roles[public.decode()] = metadata(path).get("role")
        self.roles = roles

    def callback(self, domain, key):
        self._load()
        return key.decode() in self.roles


def forbidden(role, what, needed):
    return ("your key (role %s) may not %s; ask an operator for a%s %s key"
            % (role, what, "n" if needed == "admin" else "", needed))


def node_answer(request, role, endpoint):
    """What a node with CURVE would answer, alone in its cluster at
    endpoint: by the roles table of docs/PROTOCOL.md (FORBIDDEN)."""
    kind = request.get("type")
    rank = {"consumer": 1, "producer": 2, "admin": 3}.get(role, 0)
    if kind == STATUS:
        return {"type": STATUS_OK, "node": 1, "role": b"leader", "term": 1,
                "leader": 1, "commit": 0, "last": 0, "first": 1,
                "members": [{"id": 1, "voter": True,
                             "peer": b"tcp://127.0.0.1:1",
                             "client": endpoint.encode(), "match": 0,
                             "last_contact_ms": -1}]}
    if kind == READ:
        return {"type": READ_OK, "entries": [], "next": request["from"],
                "commit": 0, "first": 1}
    if kind == APPEND and rank < 2:
        return {"type": ERROR, "code": FORBIDDEN,
                "message": forbidden(role, "APPEND", "producer").encode()}
    if kind == APPEND:
        return {"type": APPEND_OK, "first": 7,
                "last": 6 + len(request["entries"])}
    if kind == MEMBERS and request.get("op", 0) != 0 and rank < 3:
        return {"type": ERROR, "code": FORBIDDEN,
                "message": forbidden(role, "MEMBERS add", "admin").encode()}
    if kind == MEMBERS:
        return {"type": MEMBERS_OK, "members": []}
    return {"type": ERROR, "code": 7, "message": b"unknown type"}


class CurveStandIn:
    """A CURVE server on a free 127.0.0.1 port allowing the keys of
    keys.allowed, answering as node_answer does. Keeps every request with
    the role it came with. Stopped by the `with` block."""

    def __init__(self, keys):
        self.context = zmq.Context()
        self.auth = ThreadAuthenticator(self.context)
        self.auth.start()
        self.allowed = _Allowed(keys.allowed)
        self.auth.configure_curve_callback(domain="*",
                                           credentials_provider=self.allowed)
        public, secret = zmq.auth.load_certificate(keys.secret("server"))
        self.endpoint = "tcp://127.0.0.1:%d" % free_ports(1)[0]
        self.requests = []     # (role, request)
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.curve_secretkey = secret
        self.socket.curve_publickey = public
        self.socket.curve_server = True   # before bind
        self.socket.bind(self.endpoint)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            if not self.socket.poll(50):
                continue
            frames = self.socket.recv_multipart(copy=False)
            key = frames[-1].get("User-Id")
            role = self.allowed.roles.get(key)
            request = msgpack.unpackb(frames[-1].bytes)
            self.requests.append((role, request))
            reply = dict(node_answer(request, role, self.endpoint), version=1,
                         id=request.get("id"))
            self.socket.send_multipart([f.bytes for f in frames[:-1]]
                                       + [msgpack.packb(reply)])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join(5)
        self.socket.close()
        self.auth.stop()
        self.context.term()


class PlainStandIn:
    """A server without CURVE answering STATUS (for a client with keys)."""

    def __init__(self):
        self.context = zmq.Context()
        self.endpoint = "tcp://127.0.0.1:%d" % free_ports(1)[0]
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(self.endpoint)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.socket.close()
        self.context.term()


# ---- running the clients ----

def run(args, env=None, timeout=60):
    """Runs a program to completion: (status, stdout text, stderr text,
    seconds taken). The environment has no RAFTLOG_ variables unless env
    gives them."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("RAFTLOG_")}
    started = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(base, **(env or {})))
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return (p.returncode, out.decode(errors="replace"),
            err.decode(errors="replace"), time.monotonic() - started)


def cli(endpoint, *args, key=None, server_key=None, env=None):
    flags = ["--cluster", endpoint, "--timeout", str(TIMEOUT_MS),
             "--retries", str(RETRIES)]
    if key:
        flags += ["--key", key]
    if server_key:
        flags += ["--server-key", server_key]
    return run([CLI] + flags + list(args), env=env)


def driver(endpoint, *args, key=None, server_key=None, env=None):
    flags = ["--timeout", str(TIMEOUT_MS), "--retries", str(RETRIES)]
    if key:
        flags += ["--key", key, "--server-key", server_key]
    return run([DRIVER] + flags + [endpoint] + list(args), env=env)


def python_client(endpoint, **kw):
    if PYTHON_DIR not in sys.path:
        sys.path.insert(0, PYTHON_DIR)
    import raftlog
    return raftlog, raftlog.Client(endpoint, timeout=TIMEOUT_MS / 1000.0,
                                   retries=RETRIES, **kw)


# ---- keygen ----

def test_keygen_writes_a_private_pair_with_its_role_and_never_overwrites():
    top = tempfile.mkdtemp(prefix="raftlog-keygen-")
    try:
        keys = os.path.join(top, "new", "keys")
        # umask 0: the secret must still be 0600, the new directories 0700.
        rc, out, err = keygen(keys, "n2", "--role", "node", "--node-id", "2",
                              "--json", umask=0)
        check(rc == 0, "keygen: %d %s" % (rc, err))
        made = json.loads(out)
        public, secret = os.path.join(keys, "n2"), os.path.join(keys,
                                                                "n2_secret")
        check(made["public"] == public and made["secret"] == secret and
              made["role"] == "node" and made["node_id"] == 2 and
              made["name"] == "n2", "keygen --json: %r" % made)
        modes = {p: stat.S_IMODE(os.stat(p).st_mode)
                 for p in (public, secret, keys, os.path.dirname(keys))}
        check(modes == {public: 0o644, secret: 0o600, keys: 0o700,
                        os.path.dirname(keys): 0o700}, "modes %r" %
              {p: oct(m) for p, m in modes.items()})
        check(sorted(os.listdir(keys)) == ["n2", "n2_secret"],
              "left behind: %r" % os.listdir(keys))
        key, none = zmq.auth.load_certificate(public)
        check(key.decode() == made["public_key"] and none is None,
              "the public file has %r, %r" % (key, none))
        check(zmq.auth.load_certificate(secret)[1] is not None,
              "the secret file has no secret key")
        for path in (public, secret):
            check(metadata(path) == {"name": "n2", "role": "node",
                                     "node-id": "2"},
                  "metadata of %s: %r" % (path, metadata(path)))

        rc, out, err = keygen(keys, "n2", "--role", "node", "--node-id", "2")
        check(rc == EXIT_FAILED and "exists" in err and "--force" in err
              and zmq.auth.load_certificate(public)[0] == key,
              "a second keygen: %d %r" % (rc, err))
        rc, out, err = keygen(keys, "n2", "--role", "node", "--node-id", "2",
                              "--force")
        check(rc == 0 and zmq.auth.load_certificate(public)[0] != key and
              out.startswith("public key: ") and public in out and secret in
              out, "keygen --force: %d %r %r" % (rc, out, err))

        rc, out, err = keygen(keys, "plain")
        check(rc == 0 and metadata(os.path.join(keys, "plain"))["role"] ==
              "consumer", "the default role: %d %r" % (rc, err))
        for args, says in ((["--role", "node"], "needs --node-id"),
                           (["--role", "nod"], "did you mean 'node'"),
                           (["--node-id", "3"], "--role node only")):
            rc, out, err = keygen(keys, "bad", *args)
            check(rc == EXIT_USAGE and says in err and err.count("\n") == 1
                  and not os.path.exists(os.path.join(keys, "bad")),
                  "keygen %r: %d %r" % (args, rc, err))
        rc, out, err = keygen(keys, "../escape")
        check(rc == EXIT_USAGE and "cannot name a key" in err,
              "keygen ../escape: %d %r" % (rc, err))
    finally:
        shutil.rmtree(top, ignore_errors=True)


# ---- the command line ----

def test_cli_with_an_allowed_key_gets_answers_and_flags_beat_the_environment():
    with Keys() as keys, CurveStandIn(keys) as server:
        rc, out, err, _ = cli(server.endpoint, "append", "x", "y",
                              key=keys.secret("alice"),
                              server_key=keys.public("server"))
        check(rc == 0 and out.split() == ["7", "8"],
              "append with alice's key: %d %r %r" % (rc, out, err))
        check(server.requests[-1][0] == "producer",
              "the server saw role %r" % server.requests[-1][0])
        # The environment alone.
        env = {"RAFTLOG_KEY": keys.secret("carol"),
               "RAFTLOG_SERVER_KEY": keys.public("server")}
        rc, out, err, _ = cli(server.endpoint, "tail", env=env)
        check(rc == 0 and server.requests[-1][0] == "consumer",
              "tail with $RAFTLOG_KEY: %d %r" % (rc, err))
        # A flag beats its variable: mallory's key in the environment is
        # not used.
        env["RAFTLOG_KEY"] = keys.secret("mallory")
        rc, out, err, _ = cli(server.endpoint, "append", "z",
                              key=keys.secret("alice"), env=env)
        check(rc == 0 and server.requests[-1][0] == "producer",
              "--key over $RAFTLOG_KEY: %d %r" % (rc, err))
        # A key alone is a usage error, not a connection without CURVE.
        asked = len(server.requests)
        rc, out, err, _ = cli(server.endpoint, "status",
                              key=keys.secret("alice"))
        check(rc == EXIT_USAGE and "needs a server key" in err and
              "--server-key" in err and len(server.requests) == asked,
              "--key alone: %d %r" % (rc, err))
        rc, out, err, _ = cli(server.endpoint, "status",
                              env={"RAFTLOG_SERVER_KEY":
                                   keys.public("server")})
        check(rc == EXIT_USAGE and "$RAFTLOG_SERVER_KEY" in err,
              "$RAFTLOG_SERVER_KEY alone: %d %r" % (rc, err))


def test_cli_refused_key_fails_at_once_with_a_clear_error():
    with Keys() as keys, CurveStandIn(keys) as server:
        for command in (["append", "x"], ["status"], ["members"]):
            rc, out, err, took = cli(server.endpoint, *command,
                                     key=keys.secret("mallory"),
                                     server_key=keys.public("server"))
            check(rc == EXIT_REJECTED and "refused our key" in err and
                  "--keys directory" in err and err.count("\n") == 1,
                  "%s with an unknown key: %d %r" % (command, rc, err))
            check(took < FAST, "%s with an unknown key took %.1f s"
                  % (command, took))
        check(server.requests == [], "requests got through: %r"
              % server.requests)
        # A wrong server key, and no key at all.
        rc, out, err, took = cli(server.endpoint, "status",
                                 key=keys.secret("alice"),
                                 server_key=keys.public("carol"))
        check(rc == EXIT_REJECTED and "CURVE handshake with" in err and
              keys.public("carol") in err and took < FAST,
              "a wrong server key: %d %r (%.1f s)" % (rc, err, took))
        # libzmq reports the mechanism mismatch, or, when the server
        # closed the connection first, only that the handshake failed.
        rc, out, err, took = cli(server.endpoint, "status")
        check(rc == EXIT_REJECTED and ("requires CURVE" in err and "--key" in
                                       err or "does it require CURVE" in err)
              and took < FAST, "no key: %d %r (%.1f s)" % (rc, err, took))
    with Keys() as keys, PlainStandIn() as plain:
        rc, out, err, took = cli(plain.endpoint, "status",
                                 key=keys.secret("alice"),
                                 server_key=keys.public("server"))
        # Said either way: libzmq reports the mechanism mismatch, or, when
        # the server closed first, only that the handshake failed.
        check(rc == EXIT_REJECTED and ("does not use CURVE" in err or
                                       "does it use CURVE?" in err) and
              took < FAST, "keys for a plain server: %d %r (%.1f s)"
              % (rc, err, took))


def test_cli_forbidden_is_shown_as_it_is_with_exit_4_and_not_retried():
    with Keys() as keys, CurveStandIn(keys) as server:
        rc, out, err, _ = cli(server.endpoint, "append", "x",
                              key=keys.secret("carol"),
                              server_key=keys.public("server"))
        check(rc == EXIT_REJECTED and
              "FORBIDDEN: your key (role consumer) may not APPEND; ask an "
              "operator for a producer key" in err and
              "which was not appended" in err,
              "a consumer appending: %d %r" % (rc, err))
        check([r["type"] for _, r in server.requests] == [APPEND],
              "asked %d times" % len(server.requests))
        rc, out, err, _ = cli(server.endpoint, "members", "add", "4",
                              "tcp://127.0.0.1:1", "tcp://127.0.0.1:2",
                              key=keys.secret("alice"),
                              server_key=keys.public("server"))
        check(rc == EXIT_REJECTED and "FORBIDDEN: your key (role producer) "
              "may not MEMBERS add" in err and len(server.requests) == 2,
              "a producer changing membership: %d %r" % (rc, err))
        rc, out, err, _ = cli(server.endpoint, "members", "add", "4",
                              "tcp://127.0.0.1:1", "tcp://127.0.0.1:2",
                              key=keys.secret("root"),
                              server_key=keys.public("server"))
        check(rc == 0, "an admin changing membership: %d %r" % (rc, err))


def test_cli_bad_key_files_are_usage_errors_naming_the_file():
    with Keys() as keys, CurveStandIn(keys) as server:
        junk = os.path.join(keys.dir, "junk")
        with open(junk, "w") as f:
            f.write("curve\n    public-key = = = broken\n")
        missing = os.path.join(keys.dir, "missing_secret")
        for key, server_key, says in (
                (missing, keys.public("server"), "No such file"),
                (keys.public("alice"), keys.public("server"),
                 "holds no secret key"),
                (junk, keys.public("server"), "not a CURVE certificate"),
                (keys.secret("alice"), junk, "not a CURVE certificate")):
            rc, out, err, _ = cli(server.endpoint, "status", key=key,
                                  server_key=server_key)
            bad = key if says != "not a CURVE certificate" or key == junk \
                else server_key
            check(rc == EXIT_USAGE and says in err and bad in err and
                  "--key" in err and err.count("\n") == 1 and out == "",
                  "--key %s --server-key %s: %d %r %r"
                  % (key, server_key, rc, out, err))
        rc, out, err, _ = cli(server.endpoint, "status",
                              env={"RAFTLOG_KEY": missing,
                                   "RAFTLOG_SERVER_KEY":
                                   keys.public("server")})
        check(rc == EXIT_USAGE and "$RAFTLOG_KEY" in err and missing in err,
              "a missing $RAFTLOG_KEY: %d %r" % (rc, err))
        check(server.requests == [], "requests got through")


def readme_keys_example():
    """The README's shell lines that show keygen and the key flags."""
    with open(README) as f:
        text = f.read()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    block = next(b for b in blocks if "raftlog keygen" in b)
    return [line.split("#")[0].strip() for line in block.splitlines()
            if line.split("#")[0].strip()]


def test_cli_keys_work_as_the_readme_says():
    with Keys() as keys, CurveStandIn(keys) as server:
        work = os.path.join(keys.dir, "work")
        os.mkdir(work)
        env = {}
        ran = []
        for line in readme_keys_example():
            line = line.replace("SERVER_CERT", keys.public("server"))
            words = [os.path.expandvars(w).replace("$PWD", work)
                     for w in shlex.split(line.replace("$PWD", work))]
            if words[0] == "export":
                for assignment in words[1:]:
                    name, value = assignment.split("=", 1)
                    env[name] = value
                continue
            check(words[0] == "raftlog", "README line %r" % line)
            args = words[1:]
            if "keygen" not in args:
                args = ["--cluster", server.endpoint] + args
            p = subprocess.run([CLI] + args, cwd=work, env=dict(
                {k: v for k, v in os.environ.items()
                 if not k.startswith("RAFTLOG_")}, **env),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            check(p.returncode == 0, "README line %r: exit %d, %r"
                  % (line, p.returncode, p.stderr))
            ran.append(args)
            if "keygen" in args:
                # The public file goes into the server's --keys directory.
                name = args[args.index("keygen") + 1]
                directory = args[args.index("--dir") + 1]
                shutil.copy(os.path.join(work, directory, name),
                            keys.allowed)
        check(any("keygen" in a for a in ran) and
              any("--key" in a for a in ran) and "RAFTLOG_KEY" in env,
              "the README's example misses a step: %r %r" % (ran, env))
        # The exported variables work alone.
        rc, out, err, _ = run([CLI, "--cluster", server.endpoint, "append",
                               "from-the-readme"], env=env)
        check(rc == 0 and server.requests[-1][0] == "producer",
              "after the README's export: %d %r %r"
              % (rc, err, server.requests[-1:]))


# ---- libraftlog ----

def test_lib_uses_keys_refuses_fast_and_reports_forbidden():
    with Keys() as keys, CurveStandIn(keys) as server:
        rc, out, err, _ = driver(server.endpoint, "append", "2", "e",
                                 key=keys.secret("alice"),
                                 server_key=keys.public("server"))
        check(rc == 0 and len(out.splitlines()) == 2,
              "appends with alice's key: %d %r %r" % (rc, out, err))
        # From the environment, without raftlog_set_curve.
        env = {"RAFTLOG_KEY": keys.secret("carol"),
               "RAFTLOG_SERVER_KEY": keys.public("server")}
        rc, out, err, _ = driver(server.endpoint, "status", env=env)
        check(rc == 0 and out.startswith("node 1 role leader") and
              server.requests[-1][0] == "consumer",
              "status with $RAFTLOG_KEY: %d %r" % (rc, err))
        rc, out, err, _ = driver(server.endpoint, "append", "1", "e",
                                 env=env)
        check(rc == FORBIDDEN and "error FORBIDDEN: FORBIDDEN: your key (role "
              "consumer) may not APPEND" in err and "[not appended]" in err,
              "a consumer appending: %d %r" % (rc, err))
        asked = len(server.requests)
        for command in (["append", "1", "e"], ["status"], ["status-all"]):
            rc, out, err, took = driver(server.endpoint, *command,
                                        key=keys.secret("mallory"),
                                        server_key=keys.public("server"))
            check(rc == LIB_AUTH and "error AUTH: the server at %s refused "
                  "our key" % server.endpoint in err and took < FAST,
                  "%s with an unknown key: %d %r (%.1f s)"
                  % (command, rc, err, took))
        check(len(server.requests) == asked, "a refused key got through")
        env["RAFTLOG_KEY"] = os.path.join(keys.dir, "missing")
        rc, out, err, _ = driver(server.endpoint, "status", env=env)
        check(rc == LIB_INVALID and "from $RAFTLOG_KEY" in err,
              "a missing $RAFTLOG_KEY: %d %r" % (rc, err))


# ---- the Python client ----

def test_python_client_uses_keys_refuses_fast_and_reports_forbidden():
    with Keys() as keys, CurveStandIn(keys) as server:
        raftlog, log = python_client(server.endpoint,
                                     key=keys.secret("alice"),
                                     server_key=keys.public("server"))
        with log:
            check(log.append([b"a", b"b"]) == (7, 8), "append")
            check(server.requests[-1][0] == "producer", "role")
        raftlog, log = python_client(server.endpoint,
                                     key=keys.secret("carol"),
                                     server_key=keys.public("server"))
        with log:
            try:
                log.append([b"x"])
                check(False, "a consumer appended")
            except raftlog.RaftlogError as e:
                check(e.name == "FORBIDDEN" and e.message.startswith(
                      "your key (role consumer) may not APPEND") and
                      not e.unknown and server.requests[-1][0] == "consumer"
                      and [r["type"] for _, r in server.requests[-1:]] ==
                      [APPEND] and len(server.requests) == 2,
                      "FORBIDDEN: %s %r" % (e, len(server.requests)))
        asked = len(server.requests)
        raftlog, log = python_client(server.endpoint,
                                     key=keys.secret("mallory"),
                                     server_key=keys.public("server"))
        with log:
            started = time.monotonic()
            try:
                log.status()
                check(False, "status with a refused key succeeded")
            except raftlog.RaftlogError as e:
                took = time.monotonic() - started
                check(e.name == "AUTH" and "refused our key" in e.message
                      and took < FAST, "refused: %s (%.1f s)" % (e, took))
        check(len(server.requests) == asked, "a refused key got through")
        # The environment.
        saved = dict(os.environ)
        os.environ.update(RAFTLOG_KEY=keys.secret("root"),
                          RAFTLOG_SERVER_KEY=keys.public("server"))
        try:
            raftlog, log = python_client(server.endpoint)
            with log:
                log.status()
                check(server.requests[-1][0] == "admin",
                      "role %r" % server.requests[-1][0])
            del os.environ["RAFTLOG_SERVER_KEY"]
            try:
                python_client(server.endpoint)
                check(False, "$RAFTLOG_KEY alone was accepted")
            except ValueError as e:
                check("$RAFTLOG_KEY gives" in str(e) and
                      "$RAFTLOG_SERVER_KEY no server's certificate" in str(e),
                      "unclear: %s" % e)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        for key, says in ((keys.public("alice"), "holds no secret key"),
                          (os.path.join(keys.dir, "nothing"), "nothing")):
            try:
                python_client(server.endpoint, key=key,
                              server_key=keys.public("server"))
                check(False, "key %s was accepted" % key)
            except ValueError as e:
                check(says in str(e), "unclear: %s" % e)
        # No key at all.
        raftlog, log = python_client(server.endpoint)
        with log:
            try:
                log.status()
                check(False, "status without a key succeeded")
            except raftlog.RaftlogError as e:
                check(e.name == "AUTH" and ("requires CURVE" in e.message or
                                            "does it require CURVE" in
                                            e.message), "no key: %s" % e)


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:],
                       {"--cli": "CLI", "--driver": "DRIVER",
                        "--python-dir": "PYTHON_DIR", "--readme": "README"}))

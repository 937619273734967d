#!/usr/bin/python3
"""CURVE on real nodes and brokers (issue 14, docs/SECURITY.md): who gets
in, what each role may do, revocation, a rogue at the peer ports, the
broker passing identities on, and what a node says when it runs without
keys or with bad ones.

    test_curve.py --binary NODE --broker BROKER --cli RAFTLOG TEST
    test_curve.py --list

Every cluster here uses CURVE whatever RL_TEST_CURVE says (curve=True),
with the certificates the harness makes (harness.py, ClusterKeys): node1..
nodeN, the front door's, broker, admin, producer, consumer. Every process
a test starts is stopped by PID; every wait is a condition with a
deadline.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

import msgpack
import zmq
from zmq.utils.monitor import recv_monitor_message

from harness import (APPEND, APPEND_OK, ERROR, ERR_FORBIDDEN, MEMBERS,
                     MEMBERS_OK, READ, READ_OK, STATUS, STATUS_OK, TRANSFER,
                     TRANSFER_OK, Cluster, check, free_ports, run_tests,
                     wait_for)

BINARY = BROKER = CLI = None
EXIT_USAGE, EXIT_REJECTED = 2, 4
PREVOTE, VOTE, APPEND_PEER = 1, 3, 5
HANDSHAKE_EVENTS = (zmq.EVENT_HANDSHAKE_SUCCEEDED |
                    zmq.EVENT_HANDSHAKE_FAILED_AUTH |
                    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL |
                    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)


# ---- helpers ----

def secured(size=3, **kw):
    return Cluster(size, BINARY, curve=True, **kw)


def counters(c, i):
    return (c.status(i) or {}).get("counters", {})


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def run_cli(*args, env=None):
    """The command line with no key unless env gives one: (status, stdout,
    stderr, seconds)."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("RAFTLOG_")}
    started = time.monotonic()
    p = subprocess.run([CLI, "--timeout", "3000", "--retries", "3"]
                       + list(args), capture_output=True, timeout=60,
                       env=dict(base, **(env or {})))
    return (p.returncode, p.stdout.decode(), p.stderr.decode(),
            time.monotonic() - started)


def handshake(context, endpoint, setup, timeout=5.0):
    """Connects a DEALER (set up by setup(socket)) to endpoint and returns
    it with how its first handshake ended: "ok", "auth" (the server
    refused the key) or "failed"."""
    s = context.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    setup(s)
    monitor = s.get_monitor_socket(HANDSHAKE_EVENTS)
    s.connect(endpoint)
    outcome = None
    deadline = time.monotonic() + timeout
    while outcome is None and time.monotonic() < deadline:
        if monitor.poll(100):
            event = recv_monitor_message(monitor)["event"]
            outcome = {zmq.EVENT_HANDSHAKE_SUCCEEDED: "ok",
                       zmq.EVENT_HANDSHAKE_FAILED_AUTH: "auth"}.get(
                           event, "failed")
    s.disable_monitor()
    monitor.close(0)
    check(outcome is not None, "no handshake event from %s" % endpoint)
    return s, outcome


def with_key(keys, name, server):
    """A socket setup: CURVE client with certificate name, for the server
    whose public certificate is the file server."""
    import zmq.auth

    def setup(s):
        public, secret = zmq.auth.load_certificate(keys.secret(name))
        s.curve_publickey, s.curve_secretkey = public, secret
        s.curve_serverkey = zmq.auth.load_certificate(server)[0]
    return setup


def ask(s, msg, timeout=5.0):
    """Sends msg on DEALER s and returns the reply with its id."""
    msg = dict(msg, version=1)
    try:
        s.send_multipart([b"", msgpack.packb(msg)], zmq.DONTWAIT)
    except zmq.Again:
        return None  # no connection to send on (its handshake failed)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if s.poll(50):
            reply = msgpack.unpackb(s.recv_multipart()[-1])
            if reply.get("id") == msg.get("id"):
                return reply
    return None


def forbidden(reply, says):
    return (reply is not None and reply["type"] == ERROR and
            reply["code"] == ERR_FORBIDDEN and says in text(reply["message"]))


def peer_message(kind, sender, term, **fields):
    return msgpack.packb(dict({"version": 1, "type": kind, "cluster": "it",
                               "from": sender, "term": term}, **fields))


# ---- who gets in ----

def test_a_client_without_a_key_is_refused_with_a_clear_error():
    with secured() as c:
        c.start_all()
        leader = c.wait_leader()
        rc, out, err, took = run_cli("--cluster", c.nodes[leader].client,
                                     "status")
        check(rc == EXIT_REJECTED and err.count("\n") == 1 and
              ("requires CURVE" in err or "does it require CURVE" in err)
              and took < 5, "no key: exit %d, %r (%.1f s)" % (rc, err, took))
        # A plain ZeroMQ client is never answered: no handshake, no frame.
        s, outcome = handshake(c.context, c.nodes[leader].client,
                               lambda s: None)
        check(outcome == "failed", "a plain client's handshake: %s" % outcome)
        check(ask(s, {"type": STATUS, "id": 1}, timeout=1.0) is None,
              "a client without a key got an answer")
        s.close(0)
        check(counters(c, leader)["handshakes_failed"] >= 2,
              "failed handshakes not counted: %r" % counters(c, leader))


def test_an_unknown_key_is_refused_at_the_handshake_with_a_clear_error():
    with secured() as c:
        c.start_all()
        leader = c.wait_leader()
        c.keys.make("mallory", "admin", allow=False)
        rc, out, err, took = run_cli(
            "--cluster", c.nodes[leader].client, "append", "x",
            env={"RAFTLOG_KEY": c.keys.secret("mallory"),
                 "RAFTLOG_SERVER_KEY": c.keys.public("front")})
        check(rc == EXIT_REJECTED and err.count("\n") == 1 and
              "refused our key" in err and "--keys directory" in err and
              took < 5, "an unknown key: exit %d, %r (%.1f s)"
              % (rc, err, took))
        s, outcome = handshake(c.context, c.nodes[leader].client,
                               with_key(c.keys, "mallory",
                                        c.keys.public("front")))
        s.close(0)
        check(outcome == "auth", "an unknown key's handshake: %s" % outcome)
        got = counters(c, leader)
        check(got["keys_refused"] >= 2 and got["append_requests"] == 0,
              "refusals not counted, or an append got in: %r" % got)
        # The refusal is in the node's log, with the key.
        public = open(c.keys.public("mallory")).read()
        key = public.split('public-key = "')[1].split('"')[0]
        with open(c.nodes[leader].log_path) as f:
            check(key in f.read(), "the refused key is not in the log")


# ---- roles ----

def test_a_consumer_appending_is_forbidden_and_nothing_is_appended():
    with secured() as c:
        c.start_all()
        leader = c.wait_leader()
        before = c.status(leader)["last"]
        reply = c.request(leader, {"type": APPEND, "entries": [b"no"]},
                          role="consumer")
        check(forbidden(reply, "your key (role consumer) may not APPEND; "
                               "ask an operator for a producer key"),
              "a consumer's APPEND: %r" % reply)
        rc, out, err, took = run_cli(
            "--cluster", c.nodes[leader].client, "append", "no",
            env=c.client_env("consumer"))
        check(rc == EXIT_REJECTED and "FORBIDDEN: your key (role consumer)"
              in err, "the command line: exit %d, %r" % (rc, err))
        # What a consumer may do.
        for msg, kind in (({"type": READ, "from": 1}, READ_OK),
                          ({"type": STATUS}, STATUS_OK),
                          ({"type": MEMBERS, "op": "list"}, MEMBERS_OK)):
            reply = c.request(leader, msg, role="consumer")
            check(reply is not None and reply["type"] == kind,
                  "a consumer's %r: %r" % (msg, reply))
        check(c.status(leader)["last"] == before, "something was appended")
        check(counters(c, leader)["forbidden"] == 2,
              "FORBIDDEN not counted: %r" % counters(c, leader))


def test_a_producer_changing_membership_or_leadership_is_forbidden():
    with secured() as c:
        c.start_all()
        leader = c.wait_leader()
        reply = c.request(leader, {"type": APPEND, "entries": [b"yes"]},
                          role="producer")
        check(reply["type"] == APPEND_OK, "a producer's APPEND: %r" % reply)
        target = next(i for i in c.nodes if i != leader)
        for msg, says in (
                ({"type": MEMBERS, "op": "add",
                  "member": {"id": 4, "peer": "tcp://127.0.0.1:1",
                             "client": "tcp://127.0.0.1:2"}},
                 "may not MEMBERS add; ask an operator for an admin key"),
                ({"type": MEMBERS, "op": "remove", "member": {"id": target}},
                 "may not MEMBERS remove"),
                ({"type": TRANSFER, "target": target}, "may not TRANSFER")):
            reply = c.request(leader, msg, role="producer")
            check(forbidden(reply, "your key (role producer) " + says),
                  "a producer's %r: %r" % (msg, reply))
        rc, out, err, took = run_cli(
            "--cluster", c.nodes[leader].client, "members", "remove",
            str(target), env=c.client_env("producer"))
        check(rc == EXIT_REJECTED and "FORBIDDEN" in err,
              "the command line: exit %d, %r" % (rc, err))
        check(len(c.request(leader, {"type": MEMBERS, "op": "list"})
                  ["members"]) == 3, "the membership changed")
        # An admin may.
        reply = c.request(leader, {"type": TRANSFER, "target": target},
                          timeout=10.0)
        check(reply["type"] == TRANSFER_OK, "an admin's TRANSFER: %r" % reply)
        # A node's key is for the peer port only.
        s, outcome = handshake(c.context, c.nodes[target].client,
                               with_key(c.keys, "node1",
                                        c.keys.public("front")))
        check(outcome == "ok" and forbidden(
            ask(s, {"type": STATUS, "id": 7}),
            "your key (role node) may not STATUS"),
            "a node's key at the front door was not refused")
        s.close(0)


def test_a_revoked_key_is_forbidden_within_a_second_on_an_open_connection():
    with secured() as c:
        c.start_all()
        leader = c.wait_leader()
        s, outcome = handshake(c.context, c.nodes[leader].client,
                               with_key(c.keys, "producer",
                                        c.keys.public("front")))
        check(outcome == "ok", "the producer's handshake: %s" % outcome)
        reply = ask(s, {"type": APPEND, "id": 1, "entries": [b"before"]})
        check(reply["type"] == APPEND_OK, "append before: %r" % reply)
        # A copy of a certificate under another name (the same key twice)
        # is a warning, not a crash (czmq's zauth aborted on it).
        shutil.copy(c.keys.public("admin"),
                    os.path.join(c.keys.allowed, "admin.bak"))
        c.keys.revoke("producer")
        revoked = time.monotonic()
        asked = [1]

        def refused():
            asked[0] += 1
            reply = ask(s, {"type": STATUS, "id": asked[0]}, timeout=0.5)
            return forbidden(reply, "is not in this server's --keys "
                                    "directory")
        wait_for(refused, 1.0, "the revoked key's requests on the open "
                 "connection to get FORBIDDEN within a second")
        took = time.monotonic() - revoked
        reply = ask(s, {"type": APPEND, "id": 1000, "entries": [b"after"]})
        check(forbidden(reply, "removed"), "append after: %r" % reply)
        # A new connection with it is refused at the handshake.
        fresh, outcome = handshake(c.context, c.nodes[leader].client,
                                   with_key(c.keys, "producer",
                                            c.keys.public("front")))
        fresh.close(0)
        check(outcome == "auth", "a new connection with a revoked key: %s"
              % outcome)
        # Put back, it works again on the same connection.
        shutil.copy(c.keys.public("producer"), c.keys.allowed)
        asked[0] = 2000
        wait_for(lambda: (ask(s, {"type": STATUS, "id": asked[0]},
                              timeout=0.5) or {}).get("type") == STATUS_OK,
                 2.0, "the key put back to be taken again")
        s.close(0)
        for i in c.nodes:
            check(c.alive(i), "node %d died" % i)
        with open(c.nodes[leader].log_path) as f:
            check("admin.bak has the same key as admin" in f.read(),
                  "the duplicate was not warned about")
        print("revoked: FORBIDDEN after %.0f ms" % (took * 1000))


# ---- a rogue at the peer ports ----

def test_a_rogue_without_a_member_key_cannot_vote_append_or_disturb_the_leader():
    with secured() as c:
        c.start_all()
        leader = c.wait_leader()
        c.append([b"before"])
        term = c.status(leader)["term"]
        # Known to everyone: the nodes' public certificates. The rogue
        # also has a key of its own, unknown to the cluster, and a client
        # key the cluster does allow (a producer's).
        c.keys.make("rogue", "node", node_id=1, allow=False)
        context = zmq.Context()
        try:
            refused = []
            for setup in (lambda s: None,
                          lambda s: with_key(c.keys, "rogue",
                                             c.keys.public("node%d"
                                                           % leader))(s)):
                s, outcome = handshake(context, c.nodes[leader].peer, setup)
                refused.append(outcome)
                for k in range(50):
                    try:
                        s.send(peer_message(VOTE, 2, 10 ** 9,
                                            last_index=10 ** 9,
                                            last_term=10 ** 9, transfer=True),
                               zmq.DONTWAIT)
                    except zmq.Again:
                        pass  # no connection to send on: the point
                s.close(0)
            check(refused == ["failed", "auth"],
                  "the rogue's handshakes at the peer port: %r" % refused)
            # With an allowed client key it gets in, and is not heard: its
            # votes, heartbeats and entries claiming to be node 2 or 3 are
            # dropped for their key.
            s, outcome = handshake(context, c.nodes[leader].peer,
                                   with_key(c.keys, "producer",
                                            c.keys.public("node%d" % leader)))
            check(outcome == "ok", "an allowed key's handshake: %s" % outcome)
            others = [i for i in c.nodes if i != leader]
            for k in range(20):
                for sender in others:
                    for kind in (PREVOTE, VOTE):
                        s.send(peer_message(kind, sender, term + 1000,
                                            last_index=10 ** 9,
                                            last_term=term + 1000,
                                            transfer=True))
                    s.send(peer_message(APPEND_PEER, sender, term + 1000,
                                        prev_index=0, prev_term=0,
                                        commit=10 ** 6,
                                        entries=[[term + 1000, 0, 0, 0,
                                                  b"rogue entry"]]))
            wait_for(lambda: counters(c, leader).get("peer_dropped_key", 0)
                     >= 60, 10, "the rogue's messages to be dropped")
            s.close(0)
        finally:
            context.destroy(linger=0)
        # The leader still leads, in the same term, and appends commit.
        check(c.wait_leader() == leader and
              c.status(leader)["term"] == term,
              "the rogue disturbed the leader: %r" % c.status(leader))
        c.append([b"after"])
        for i in c.nodes:
            log = c.read_all(i)
            check(b"rogue entry" not in [d for _, d in log],
                  "node %d took the rogue's entry" % i)
        got = counters(c, leader)
        check(got["handshakes_failed"] >= 2 and got["keys_refused"] >= 1,
              "the refused handshakes are not counted: %r" % got)
        with open(c.nodes[leader].log_path) as f:
            check("whose role is producer, not node" in f.read(),
                  "the dropped messages are not in the log")


def test_a_node_key_of_another_id_cannot_pose_as_a_member():
    with secured() as c:
        c.start_all()
        leader = c.wait_leader()
        term = c.status(leader)["term"]
        # A real node certificate, of a node that is not a member (9), in
        # every node's --keys: it gets in, but claiming to be node 2 or 3
        # (or the leader itself) it is not heard.
        c.keys.make("node9", "node", node_id=9)
        context = zmq.Context()
        try:
            def connected():
                s, outcome = handshake(context, c.nodes[leader].peer,
                                       with_key(c.keys, "node9",
                                                c.keys.public(
                                                    "node%d" % leader)))
                if outcome != "ok":
                    s.close(0)
                    return None
                return s
            s = wait_for(connected, 5, "node 9's key to be taken")
            for sender in c.nodes:
                s.send(peer_message(VOTE, sender, term + 50,
                                    last_index=10 ** 9,
                                    last_term=term + 50, transfer=True))
                s.send(peer_message(APPEND_PEER, sender, term + 50,
                                    prev_index=0, prev_term=0, commit=0,
                                    entries=[]))
            # As itself it passes the key check, and the core drops a
            # non-member.
            s.send(peer_message(VOTE, 9, term + 50, last_index=10 ** 9,
                                last_term=term + 50, transfer=True))
            wait_for(lambda: counters(c, leader).get("peer_dropped_key", 0)
                     >= 6 and counters(c, leader).get(
                         "peer_dropped_non_member", 0) >= 1, 10,
                     "node 9's messages to be dropped")
            s.close(0)
        finally:
            context.destroy(linger=0)
        check(c.wait_leader() == leader and c.status(leader)["term"] == term,
              "node 9 disturbed the leader: %r" % c.status(leader))
        with open(c.nodes[leader].log_path) as f:
            check("one node posing as another" in f.read(),
                  "the posing is not in the log")
        c.append([b"still"])


# ---- the broker ----

def start_broker(c, extra=(), keys_dir=None):
    """A broker in front of c with its keys; returns (process, endpoint)."""
    port, = free_ports(1)
    endpoint = "tcp://127.0.0.1:%d" % port
    args = c.broker_args()
    if keys_dir:
        args[args.index("--keys") + 1] = keys_dir
    log = open(os.path.join(c.dir, "broker-%d.log" % port), "ab")
    proc = subprocess.Popen(
        [BROKER, "--endpoint", endpoint, "--nodes",
         ",".join(n.client for n in c.nodes.values()), "--heartbeat", "50"]
        + args + list(extra), stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return proc, endpoint


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_through_the_broker_roles_are_enforced_and_the_identity_passed_on():
    with secured() as c:
        c.start_all()
        leader = c.wait_leader()
        # The broker's --keys: the harness's, plus dave, a producer the
        # nodes do not know.
        broker_keys = os.path.join(c.dir, "broker-keys")
        shutil.copytree(c.keys.allowed, broker_keys)
        c.keys.make("dave", "producer", allow=False)
        shutil.copy(c.keys.public("dave"), broker_keys)
        proc, endpoint = start_broker(c, keys_dir=broker_keys)
        try:
            def via(role, msg, timeout=8.0):
                s, outcome = handshake(c.context, endpoint,
                                       with_key(c.keys, role,
                                                c.keys.public("front")))
                try:
                    check(outcome == "ok", "%s at the broker: %s"
                          % (role, outcome))
                    return ask(s, dict(msg, id=1), timeout)
                finally:
                    s.close(0)
            wait_for(lambda: (via("admin", {"type": STATUS}) or {}).get(
                         "counters", {}).get("broker_leader"), 20,
                     "the broker to know the leader")
            # The broker enforces the roles itself: the node never sees
            # the consumer's append.
            reply = via("consumer", {"type": APPEND, "entries": [b"no"]})
            check(forbidden(reply, "your key (role consumer) may not "
                                   "APPEND"), "a consumer: %r" % reply)
            reply = via("producer", {"type": TRANSFER})
            check(forbidden(reply, "your key (role producer) may not "
                                   "TRANSFER"), "a producer: %r" % reply)
            check(sum(counters(c, i)["forbidden"] for i in c.nodes) == 0,
                  "a refused request reached a node")
            status = via("admin", {"type": STATUS})
            check(status["counters"]["broker_forbidden"] == 2 and
                  status["counters"]["broker_insecure"] == 0,
                  "the broker's counters: %r" % status["counters"])
            # Identity passed on: dave is only in the broker's directory;
            # the node takes his role from the broker's as_role.
            reply = via("dave", {"type": APPEND, "entries": [b"from dave"]})
            check(reply is not None and reply["type"] == APPEND_OK,
                  "dave through the broker: %r" % reply)
            reply = via("producer", {"type": APPEND, "entries": [b"ok"]})
            check(reply["type"] == APPEND_OK, "a producer: %r" % reply)
            # Revoked at the broker: FORBIDDEN there within a second, on
            # dave's open connection.
            s, outcome = handshake(c.context, endpoint,
                                   with_key(c.keys, "dave",
                                            c.keys.public("front")))
            check(ask(s, {"type": STATUS, "id": 1})["type"] == STATUS_OK,
                  "dave's STATUS before")
            os.unlink(os.path.join(broker_keys, "dave"))
            asked = [1]

            def refused():
                asked[0] += 1
                return forbidden(ask(s, {"type": STATUS, "id": asked[0]},
                                     timeout=0.5),
                                 "is not in this server's --keys")
            wait_for(refused, 1.0, "dave's revocation at the broker")
            s.close(0)
        finally:
            stop(proc)
        # The node enforces the role again: a request with the broker's
        # key and as_role consumer is refused; as_role producer is taken.
        consumer_key = open(c.keys.public("consumer")).read().split(
            'public-key = "')[1].split('"')[0]
        s, outcome = handshake(c.context, c.nodes[leader].client,
                               with_key(c.keys, "broker",
                                        c.keys.public("front")))
        check(outcome == "ok", "the broker's key at a node: %s" % outcome)
        reply = ask(s, {"type": APPEND, "id": 1, "entries": [b"x"],
                        "as_key": consumer_key, "as_role": "consumer"})
        check(forbidden(reply, "your key (role consumer) may not APPEND"),
              "as_role consumer from a broker: %r" % reply)
        reply = ask(s, {"type": APPEND, "id": 2, "entries": [b"x"],
                        "as_key": consumer_key, "as_role": "producer"})
        check(reply["type"] == APPEND_OK, "as_role producer: %r" % reply)
        reply = ask(s, {"type": APPEND, "id": 3, "entries": [b"x"]})
        check(forbidden(reply, "your key (role broker) may not APPEND on "
                               "its own behalf"),
              "the broker on its own behalf: %r" % reply)
        s.close(0)
        # From anyone but a broker, as_key/as_role are refused.
        reply = c.request(leader, {"type": STATUS, "as_key": consumer_key,
                                   "as_role": "admin"})
        check(forbidden(reply, "taken only from a broker"),
              "as_key from an admin: %r" % reply)


# ---- starting without keys, or with bad ones ----

def test_without_keys_a_node_listens_on_loopback_only_unless_insecure():
    peer, client = free_ports(2)
    member = "1=tcp://0.0.0.0:%d,tcp://127.0.0.1:%d" % (peer, client)
    data = os.path.join("/tmp", "raftlog-curve-%d" % os.getpid())
    try:
        # Refused before anything is bound.
        p = subprocess.run([BINARY, "--id", "1", "--data", data, "--member",
                            member], capture_output=True, timeout=30)
        err = p.stderr.decode()
        check(p.returncode == 2 and err.count("\n") == 1 and
              "tcp://0.0.0.0:%d may be reached from the network" % peer in err
              and "--insecure" in err, "no keys, 0.0.0.0: %d %r"
              % (p.returncode, err))
        p = subprocess.run([BROKER, "--endpoint", "tcp://*:%d" % peer,
                            "--nodes", "tcp://127.0.0.1:%d" % client],
                           capture_output=True, timeout=30)
        err = p.stderr.decode()
        check(p.returncode == 2 and "may be reached from the network" in err,
              "a broker without keys on *: %d %r" % (p.returncode, err))
        p = subprocess.run([BINARY, "--id", "1", "--data", data, "--member",
                            member, "--insecure", "--keys", "k"],
                           capture_output=True, timeout=30)
        check(p.returncode == 2 and b"--insecure turns CURVE off" in
              p.stderr, "--insecure with keys: %r" % p.stderr)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    # Without keys (on loopback, as the tests' nodes listen) a node says
    # so in its log and in STATUS; --insecure too.
    with Cluster(3, BINARY, curve=False, extra=["--insecure"]) as c:
        c.start_all()
        leader = c.wait_leader()
        check(counters(c, leader)["insecure"] == 1, "STATUS insecure")
        with open(c.nodes[leader].log_path) as f:
            check("running WITHOUT CURVE (--insecure)" in f.read(),
                  "no warning in the log")
    with secured() as c:
        c.start_all()
        leader = c.wait_leader()
        got = counters(c, leader)
        check(got["insecure"] == 0 and got["keys"] == 7,
              "STATUS with keys: %r" % got)


def test_bad_keys_stop_start_up_with_what_to_fix():
    with secured(1) as c:
        base = [BINARY, "--id", "1", "--data", c.nodes[1].data_dir] + \
            c.member_args() + c.args
        c.keys.node(1)
        c.keys.make("node2", "node", node_id=2)
        for args, says in (
                (["--cert", c.keys.public("node1"), "--keys", c.keys.allowed],
                 "holds no secret key"),
                (["--cert", c.keys.secret("node2"), "--keys",
                  c.keys.allowed], "is node 2's, and this is node 1"),
                (["--cert", c.keys.secret("admin"), "--keys", c.keys.allowed],
                 "has role admin, and this process needs one with role node"),
                (["--cert", c.keys.secret("node1"), "--keys",
                  os.path.join(c.dir, "nowhere")], "--keys"),
                (["--cert", c.keys.secret("node1")], "needs both --cert")):
            p = subprocess.run(base + args, capture_output=True, timeout=30)
            err = p.stderr.decode()
            check(p.returncode in (1, 2) and says in err and
                  err.splitlines()[-1].startswith("raftlog-node: "),
                  "%r: exit %d, %r" % (args[-3:], p.returncode, err))
        p = subprocess.run([BROKER, "--nodes", c.nodes[1].client,
                            "--cert", c.keys.secret("admin"), "--keys",
                            c.keys.allowed, "--server-key",
                            c.keys.public("front")],
                           capture_output=True, timeout=30)
        check(p.returncode == 1 and b"needs one with role broker" in p.stderr,
              "a broker with an admin key: %d %r"
              % (p.returncode, p.stderr))


# ---- rotation ----

def test_a_node_key_is_rotated_one_node_at_a_time_without_losing_a_write():
    """docs/SECURITY.md, "Rotating keys": the new public certificate
    added, the node restarted with the new pair, the old one removed."""
    with secured() as c:
        c.start_all()
        leader = c.wait_leader()
        node = next(i for i in c.nodes if i != leader)
        written = [b"before"]
        c.append(written[-1:])
        # 1. The new pair of the node; its public file allowed everywhere
        #    (one shared directory here). Peers now reach the node with
        #    the newer key, which it does not have yet: it is cut off
        #    until step 2, like a node restarting.
        c.keys.make("node%d-new" % node, "node", node_id=node)
        wait_for(lambda: all(counters(c, i).get("keys") == 8
                             for i in c.nodes if i != node), 5,
                 "the others to read the new key")
        # 2. The node restarted with it.
        c.stop(node)
        args = c.key_args(node)
        args[args.index("--cert") + 1] = c.keys.secret("node%d-new" % node)
        n = c.nodes[node]
        log = open(n.log_path, "ab")
        n.proc = subprocess.Popen(
            [BINARY, "--id", str(node), "--data", n.data_dir]
            + c.member_args() + c.args + args, stdout=log,
            stderr=subprocess.STDOUT)
        log.close()
        written.append(b"during")
        index = c.append(written[-1:])["first"]
        c.wait_commit(node, index, timeout=20)
        # 3. The old public certificate removed everywhere.
        os.unlink(os.path.join(c.keys.allowed, "node%d" % node))
        wait_for(lambda: all(counters(c, i).get("keys") == 7
                             for i in c.nodes), 5,
                 "every node to read the removal")
        written.append(b"after")
        index = c.append(written[-1:])["first"]
        c.wait_commit(node, index, timeout=20)
        check([d for _, d in c.read_all(node)] == written,
              "node %d's log: %r" % (node, c.read_all(node)))
        with open(c.nodes[leader].log_path) as f:
            check("node %d has two keys" % node in f.read(),
                  "the rotation's two keys were not said")


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:],
                       {"--binary": "BINARY", "--broker": "BROKER",
                        "--cli": "CLI"}))

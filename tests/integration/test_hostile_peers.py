#!/usr/bin/python3
"""A stranger on the network, at the peer ports of a real cluster.

The stranger knows the cluster id (it is not a secret) and speaks the
peer protocol (docs/PROTOCOL.md section 5) from its own DEALER sockets.
After each attack the cluster still elects a leader within the usual
time and appends still succeed.

These clusters run WITHOUT CURVE on purpose (curve=False, whatever
RL_TEST_CURVE says): they show what the Raft core and the intake hold
against a stranger who can reach the peer ports, the threat model of
docs/SECURITY.md without CURVE, where a stranger can still claim a
member's id. With CURVE the stranger cannot even complete a handshake
(test_curve.py).

usage: test_hostile_peers.py --binary PATH/raftlog-node TEST
       test_hostile_peers.py --list
"""
import os
import sys
import threading
import time

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Cluster, ERROR, ERR_BAD_REQUEST, check,  # noqa: E402
                     run_tests, wait_for)

BINARY = None
PREVOTE, VOTE, APPEND_PEER, TIMEOUT_NOW = 1, 3, 5, 9
MAX_U64 = 2 ** 64 - 1


class Stranger:
    """DEALER sockets to every node's peer port, sending forged peer
    messages of cluster "it"."""

    def __init__(self, cluster, identity=None):
        self.context = zmq.Context()
        self.sockets = {}
        for i, node in cluster.nodes.items():
            s = self.context.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.SNDHWM, 100000)
            if identity is not None:
                s.setsockopt(zmq.ROUTING_ID, identity)
            s.connect(node.peer)
            self.sockets[i] = s

    def send(self, i, message):
        message = dict(message)
        message.setdefault("version", 1)
        message.setdefault("cluster", "it")
        try:
            self.sockets[i].send(msgpack.packb(message), zmq.DONTWAIT)
        except zmq.Again:
            pass

    def vote(self, i, sender, term, pre=False):
        self.send(i, {"type": PREVOTE if pre else VOTE, "from": sender,
                      "term": term, "last_index": MAX_U64 // 2,
                      "last_term": term, "transfer": True})

    def heartbeat(self, i, sender, term):
        self.send(i, {"type": APPEND_PEER, "from": sender, "term": term,
                      "prev_index": 0, "prev_term": 0, "commit": 0,
                      "entries": []})

    def close(self):
        self.context.destroy(linger=0)


def s_terms(cluster):
    return {i: (cluster.status(i) or {}).get("term") for i in cluster.nodes}


def s_log_mentions(cluster, text):
    for node in cluster.nodes.values():
        with open(node.log_path, "rb") as f:
            if text.encode() in f.read():
                return True
    return False


def test_forged_maximum_terms_then_a_restart_of_the_whole_cluster_elect_a_leader():
    with Cluster(3, BINARY, curve=False) as c:
        c.start_all()
        c.wait_leader()
        c.append([b"before"])
        stranger = Stranger(c)
        try:
            for i in c.nodes:
                # a stranger's id, and each member's id: the member ids are
                # let through the membership check but not the term bound
                for sender in (9, 1, 2, 3):
                    if sender == i:
                        continue
                    stranger.vote(i, sender, MAX_U64)
                    stranger.vote(i, sender, MAX_U64, pre=True)
                    stranger.heartbeat(i, sender, MAX_U64)
                    stranger.heartbeat(i, sender, 2 ** 62)
            wait_for(lambda: s_log_mentions(c, "which is not a member") and
                     s_log_mentions(c, "too far ahead"), 10,
                     "the nodes to log the dropped messages")
            for i in c.nodes:
                counters = c.status(i)["counters"]
                check(counters["peer_dropped_non_member"] >= 3 and
                      counters["peer_dropped_bad_term"] >= 6,
                      "node %d counted %r" % (i, counters))
        finally:
            stranger.close()
        terms = s_terms(c)
        check(all(t is not None and t < 1000 for t in terms.values()),
              "terms moved: %r" % terms)
        c.append([b"after the attack"])
        for i in c.nodes:
            c.kill(i)
        c.start_all()
        c.wait_leader()
        reply = c.append([b"after a restart of all"])
        terms = s_terms(c)
        check(all(t is not None and t < 1000 for t in terms.values()),
              "terms after the restart: %r" % terms)
        check(reply["last"] > 0, "append after the restart: %r" % reply)


def test_forged_votes_and_heartbeats_from_a_stranger_do_not_stop_appends():
    with Cluster(3, BINARY, curve=False) as c:
        c.start_all()
        c.wait_leader()
        stop = threading.Event()
        stranger = Stranger(c)

        def attack():
            term = 1
            while not stop.is_set():
                term = max(term, max((t or 0) for t in s_terms(c).values()))
                for i in c.nodes:
                    stranger.vote(i, 9, term + 1)
                    stranger.vote(i, 9, term + 1, pre=True)
                    stranger.heartbeat(i, 9, term + 1)
                    stranger.send(i, {"type": TIMEOUT_NOW, "from": 9,
                                      "term": term})
                stop.wait(0.05)

        thread = threading.Thread(target=attack)
        thread.start()
        try:
            started = time.monotonic()
            for k in range(100):
                c.append([b"entry %d" % k], timeout=10.0)
            took = time.monotonic() - started
        finally:
            stop.set()
            thread.join()
            stranger.close()
        # Every append went through; the limit is generous (the suite
        # runs on a shared machine) but far below "stopped".
        check(took < 60, "100 appends took %.1f s under attack" % took)
        leader = c.wait_leader()
        status = c.status(leader)
        check(status["term"] < 100, "the term rose to %d" % status["term"])


def test_a_stranger_squatting_the_node_ids_cannot_silence_a_member():
    with Cluster(3, BINARY, curve=False) as c:
        c.start_all()
        leader = c.wait_leader()
        c.append([b"before"])
        # DEALERs claiming to be "1", "2" and "3" at every node: earlier
        # versions keyed peers by that routing id, and the real node's
        # connection was refused while the stranger held it.
        squatters = [Stranger(c, identity=str(i).encode()) for i in c.nodes]
        try:
            for s in squatters:
                for i in c.nodes:
                    s.heartbeat(i, 9, 1)
            c.kill(leader)
            rest = [i for i in c.nodes if i != leader]
            new_leader = c.wait_leader(among=rest)
            check(new_leader != leader, "no new leader")
            reply = c.append([b"after the leader was killed"])
            c.start(leader)
            wait_for(lambda: (c.status(leader) or {}).get("commit", 0)
                     >= reply["last"], 20,
                     "the restarted node to catch up")
        finally:
            for s in squatters:
                s.close()


def test_a_client_request_at_a_peer_port_gets_an_error_naming_it():
    with Cluster(3, BINARY, curve=False) as c:
        c.start_all()
        c.wait_leader()
        context = zmq.Context()
        try:
            s = context.socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(c.nodes[1].peer)
            s.send(msgpack.packb({"version": 1, "type": 35, "id": 77}))
            check(s.poll(5000), "no reply from the peer port")
            reply = msgpack.unpackb(s.recv())
        finally:
            context.destroy(linger=0)
        check(reply["type"] == ERROR and reply["code"] == ERR_BAD_REQUEST,
              "reply %r" % reply)
        check(reply.get("id") == 77, "id not echoed: %r" % reply)
        check(b"peer port" in reply["message"] if isinstance(
            reply["message"], bytes) else "peer port" in reply["message"],
            "message %r" % reply["message"])


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:], {"--binary": "BINARY"}))

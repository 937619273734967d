#!/usr/bin/python3
"""Integration tests of raftlog-broker: real nodes and brokers on 127.0.0.1.

    test_broker.py --binary NODE --broker BROKER TEST   run one test
    test_broker.py --binary NODE --broker BROKER --list the tests

Clients here talk only to the broker, as a user would: they never learn
which node leads. Each test names the behaviour it checks, stops what it
started by PID, and waits on conditions with deadlines, never on timing.
Set RL_KEEP_TEST_DIRS=1 to keep data directories and logs.
"""
import os
import signal
import subprocess
import sys
import time

import msgpack
import zmq

from harness import (APPEND, APPEND_OK, Cluster, ERROR, ERR_BAD_REQUEST,
                     ERR_NO_LEADER, ERR_SHUTTING_DOWN, ERR_TIMEOUT,
                     ERR_UNSUPPORTED_VERSION, READ, READ_OK, STATUS, STATUS_OK,
                     TestFailure, check, free_ports, run_tests, wait_for)

BINARY = None
BROKER = None
ERR_BUSY = 8
RETRYABLE = (ERR_TIMEOUT, ERR_SHUTTING_DOWN, ERR_BUSY, ERR_NO_LEADER)


class BrokerCluster(Cluster):
    """A Cluster plus raftlog-broker processes in front of it."""

    def __init__(self, size, **kwargs):
        super().__init__(size, BINARY, **kwargs)
        self.brokers = []

    def start_broker(self, extra=()):
        """Starts a broker on a free port; returns its index."""
        port, = free_ports(1)
        k = len(self.brokers)
        log_path = os.path.join(self.dir, "broker%d.log" % k)
        log = open(log_path, "ab")
        nodes = ",".join(n.client for n in self.nodes.values())
        proc = subprocess.Popen(
            [BROKER, "--endpoint", "tcp://127.0.0.1:%d" % port,
             "--nodes", nodes, "--heartbeat", "50", "--liveness", "3",
             "--no-leader-timeout", "2500", "--request-timeout", "5000",
             "--log-level", "debug"] + self.broker_args() + list(extra),
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.brokers.append({"proc": proc, "port": port, "log": log_path,
                             "endpoint": "tcp://127.0.0.1:%d" % port})
        return k

    def close(self):
        for b in self.brokers:
            if b["proc"].poll() is None:
                b["proc"].kill()
                b["proc"].wait()
        super().close()

    def dump_logs(self):
        super().dump_logs()
        for k, b in enumerate(self.brokers):
            try:
                with open(b["log"], "rb") as f:
                    lines = f.read().decode(errors="replace").splitlines()
                print("---- broker %d log (last 40 lines) ----" % k)
                print("\n".join(lines[-40:]))
            except OSError:
                pass

    def via(self, msg, broker=0, timeout=8.0):
        """One request through a broker on a fresh REQ socket; the reply
        or None after timeout."""
        msg = dict(msg)
        msg.setdefault("version", 1)
        msg.setdefault("id", self.next_id)
        self.next_id += 1
        s = self.socket(zmq.REQ)
        s.connect(self.brokers[broker]["endpoint"])
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

    def broker_status(self, broker=0):
        reply = self.via({"type": STATUS}, broker, timeout=3.0)
        if reply is None or reply["type"] != STATUS_OK:
            return None
        return reply

    def wait_broker_ready(self, broker=0):
        """Waits until the broker knows a leader."""
        return wait_for(
            lambda: (self.broker_status(broker) or {}).get(
                "counters", {}).get("broker_leader"),
            20, "broker %d to know a leader" % broker)

    def produce(self, producer, seq, entries, broker=0, deadline=30.0):
        """Appends one idempotent batch through the broker, retrying on
        retryable errors and silence with the same producer and seq (as a
        client library does). Returns (reply, client retries)."""
        msg = {"type": APPEND, "producer": producer, "seq": seq,
               "entries": entries}
        end = time.monotonic() + deadline
        retries = 0
        while time.monotonic() < end:
            reply = self.via(msg, broker)
            if reply is not None and reply["type"] == APPEND_OK:
                return reply, retries
            check(reply is None or (reply["type"] == ERROR and
                                    reply["code"] in RETRYABLE),
                  "append through the broker failed: %r" % reply)
            retries += 1
            time.sleep(0.05)
        raise TestFailure("seq %d not appended in %.0f s" % (seq, deadline))


def check_exactly_once(c, node, acked, sent):
    """node's log holds every acked payload exactly once at its acked index,
    and no payload that was sent more than once."""
    log = c.read_all(node)
    counts = {}
    for index, data in log:
        counts[data] = counts.get(data, 0) + 1
    dups = [d for d, n in counts.items() if n > 1 and d in sent]
    check(not dups, "node %d holds %r more than once" % (node, dups[:5]))
    where = {data: index for index, data in log}
    for data, index in acked.items():
        check(where.get(data) == index,
              "acked %r at index %d, node %d has it at %r"
              % (data, index, node, where.get(data)))


def read_counter(c, node, name):
    return (c.status(node) or {}).get("counters", {}).get(name, 0)


# ---- the tests ----

def test_appends_through_the_broker_survive_two_leader_kills():
    with BrokerCluster(3) as c:
        c.start_all()
        c.start_broker()
        c.wait_broker_ready()
        acked, sent, client_retries, killed = {}, set(), 0, []
        for seq in range(1, 91):
            data = b"stream-%d" % seq
            sent.add(data)
            reply, retries = c.produce(4242, seq, [data])
            client_retries += retries
            acked[data] = reply["first"]
            if seq in (30, 60):
                victim = c.wait_leader()
                c.kill(victim)
                killed.append(victim)
            if seq == 45:
                c.start(killed[0])  # back as a follower: a majority again
        indexes = [acked[b"stream-%d" % s] for s in range(1, 91)]
        check(indexes == sorted(indexes) and len(set(indexes)) == 90,
              "acked indexes are not increasing: %r" % indexes)
        live = [i for i in c.nodes if c.alive(i)]
        for i in live:
            c.wait_commit(i, max(indexes))
            check_exactly_once(c, i, acked, sent)
        # The broker hid both changes: at most a few retries by the client.
        check(client_retries <= 6,
              "the client had to retry %d times" % client_retries)
        st = c.broker_status()
        check(st["counters"]["broker_leader"] == c.wait_leader(),
              "the broker's leader is not the cluster's: %r" % st["counters"])


def test_a_tail_through_the_broker_survives_a_follower_dying():
    with BrokerCluster(3) as c:
        c.start_all()
        c.start_broker()
        c.wait_broker_ready()
        leader = c.wait_leader()
        for seq in range(1, 21):
            c.produce(1, seq, [b"tail-%d" % seq])
        # A consumer reads everything so far through the broker...
        got, frm = [], 1
        while True:
            reply = c.via({"type": READ, "from": frm})
            check(reply["type"] == READ_OK, "READ failed: %r" % reply)
            got += [d for _, d in reply["entries"]]
            frm = reply["next"]
            if len(got) >= 20:
                break
        # ...then long-polls for the next entry. The broker sends it to a
        # follower; that follower dies while the poll waits.
        s = c.socket(zmq.REQ)
        s.connect(c.brokers[0]["endpoint"])
        s.send(msgpack.packb({"version": 1, "type": READ, "id": 77,
                              "from": frm, "wait_ms": 15000}))
        followers = [i for i in c.nodes if i != leader]
        holder = wait_for(
            lambda: next((i for i in followers if read_counter(
                c, i, "pending_requests") > 0), None),
            10, "the long-poll to wait on a follower")
        c.kill(holder)
        for seq in range(21, 41):
            c.produce(1, seq, [b"tail-%d" % seq])
        check(s.poll(10000), "the long-poll was not answered after its "
                             "follower died")
        reply = msgpack.unpackb(s.recv())
        s.close()
        check(reply["type"] == READ_OK and reply["id"] == 77 and
              reply["entries"], "long-poll got %r" % reply)
        got += [d for _, d in reply["entries"]]
        frm = reply["next"]
        while len(got) < 40:
            reply = c.via({"type": READ, "from": frm, "wait_ms": 2000})
            check(reply["type"] == READ_OK, "READ failed: %r" % reply)
            got += [d for _, d in reply["entries"]]
            frm = reply["next"]
        check(got == [b"tail-%d" % k for k in range(1, 41)],
              "the tail has gaps or repeats: %r" % got)


def test_a_node_restarted_under_a_new_leader_is_used_again():
    with BrokerCluster(3) as c:
        c.start_all()
        c.start_broker()
        c.wait_broker_ready()
        old = c.wait_leader()
        c.kill(old)
        new = c.wait_leader(among=[i for i in c.nodes if i != old])
        c.produce(5, 1, [b"under new leader"])
        c.start(old)
        position = list(c.nodes).index(old) + 1
        wait_for(lambda: (c.broker_status() or {}).get("counters", {}).get(
            "broker_node%d_alive" % position) == 1, 20,
            "the broker to see node %d again" % old)
        check(c.broker_status()["counters"]["broker_leader"] == new,
              "the broker does not follow the new leader")
        # Reads prefer followers: the restarted node serves its share.
        before = read_counter(c, old, "reads")
        for _ in range(30):
            reply = c.via({"type": READ, "from": 1})
            check(reply["type"] == READ_OK, "READ failed: %r" % reply)
        check(read_counter(c, old, "reads") > before,
              "the restarted node %d got no reads" % old)
        check(c.produce(5, 2, [b"after restart"])[0]["type"] == APPEND_OK,
              "append after the restart failed")


def test_garbage_from_a_client_gets_an_error_and_others_are_served():
    with BrokerCluster(3) as c:
        c.start_all()
        c.start_broker()
        c.wait_broker_ready()
        # Another client's long-poll is in flight meanwhile.
        waiting = c.socket(zmq.REQ)
        waiting.connect(c.brokers[0]["endpoint"])
        waiting.send(msgpack.packb({"version": 1, "type": READ, "id": 5,
                                    "from": 1, "wait_ms": 20000}))
        cases = [
            (b"\xc1garbage", ERR_BAD_REQUEST),
            (b"", ERR_BAD_REQUEST),
            (msgpack.packb({"version": 9, "type": STATUS}),
             ERR_UNSUPPORTED_VERSION),
            (msgpack.packb({"version": 1, "type": APPEND,
                            "entries": "not a list"}), ERR_BAD_REQUEST),
            (msgpack.packb({"version": 1, "type": 5, "id": 3}),
             ERR_BAD_REQUEST),  # a peer message on the client door
            (msgpack.packb([1, 2, 3]), ERR_BAD_REQUEST),
        ]
        for payload, code in cases:
            s = c.socket(zmq.REQ)
            s.connect(c.brokers[0]["endpoint"])
            s.send(payload)
            check(s.poll(3000), "no reply to %r" % payload[:20])
            reply = msgpack.unpackb(s.recv())
            s.close()
            check(reply["type"] == ERROR and reply["code"] == code and
                  len(reply["message"]) > 10,
                  "payload %r: expected error %d, got %r"
                  % (payload[:20], code, reply))
        # A DEALER that sends frames in odd shapes does not hurt either.
        d = c.socket(zmq.DEALER)
        d.connect(c.brokers[0]["endpoint"])
        d.send_multipart([b"a", b"b", b"c"])
        d.send_multipart([b""])
        d.close()
        check(c.produce(9, 1, [b"still serving"])[0]["type"] == APPEND_OK,
              "the broker stopped serving after garbage")
        check(c.brokers[0]["proc"].poll() is None, "the broker died")
        check(waiting.poll(10000), "the other client's long-poll was lost")
        reply = msgpack.unpackb(waiting.recv())
        waiting.close()
        check(reply["type"] == READ_OK and reply["id"] == 5,
              "the other client got %r" % reply)


def test_many_clients_with_the_same_request_ids_get_their_own_replies():
    with BrokerCluster(3) as c:
        c.start_all()
        c.start_broker()
        c.wait_broker_ready()
        clients = []
        for k in range(20):
            d = c.socket(zmq.DEALER)
            d.connect(c.brokers[0]["endpoint"])
            clients.append(d)
        # Every client uses ids 1..5, several requests in flight each.
        for k, d in enumerate(clients):
            for rid in range(1, 6):
                d.send_multipart([b"", msgpack.packb(
                    {"version": 1, "type": APPEND, "id": rid,
                     "producer": 1000 + k * 10 + rid, "seq": 1,
                     "entries": [b"c%d-r%d" % (k, rid)]})])
        acked = {}
        for k, d in enumerate(clients):
            for _ in range(5):
                check(d.poll(10000), "client %d is missing replies" % k)
                empty, raw = d.recv_multipart()
                reply = msgpack.unpackb(raw)
                check(empty == b"" and reply["type"] == APPEND_OK,
                      "client %d got %r" % (k, reply))
                acked[b"c%d-r%d" % (k, reply["id"])] = reply["first"]
            d.close()
        check(len(acked) == 100, "%d distinct replies, not 100" % len(acked))
        leader = c.wait_leader()
        check_exactly_once(c, leader, acked, set(acked))


def test_without_a_leader_requests_get_no_leader_not_a_hang():
    with BrokerCluster(3) as c:
        c.start_all()
        c.start_broker()
        c.wait_broker_ready()
        leader = c.wait_leader()
        other = next(i for i in c.nodes if i != leader)
        c.kill(leader)
        c.kill(other)  # one node left: no election can succeed
        started = time.monotonic()
        reply = c.via({"type": APPEND, "producer": 3, "seq": 1,
                       "entries": [b"x"]}, timeout=15.0)
        took = time.monotonic() - started
        check(reply is not None, "no answer: the client hangs")
        check(reply["type"] == ERROR and reply["code"] == ERR_NO_LEADER,
              "expected NO_LEADER, got %r" % reply)
        check(took < 8.0, "NO_LEADER came after %.1f s" % took)
        # Once the broker has waited long enough, the answer is immediate.
        started = time.monotonic()
        reply = c.via({"type": APPEND, "entries": [b"y"]}, timeout=5.0)
        check(reply is not None and reply["type"] == ERROR and
              reply["code"] == ERR_NO_LEADER and
              time.monotonic() - started < 1.0,
              "a second request: %r after %.1f s"
              % (reply, time.monotonic() - started))


def test_broker_status_reports_leader_nodes_and_counters():
    with BrokerCluster(3) as c:
        c.start_all()
        c.start_broker()
        c.wait_broker_ready()
        leader = c.wait_leader()
        c.produce(6, 1, [b"counted"])
        st = c.broker_status()
        k = st["counters"]
        check(st["node"] == leader and st["role"] == "leader",
              "STATUS through the broker is not the leader's: %r" % st)
        check(k["broker_leader"] == leader and k["broker_nodes"] == 3 and
              k["broker_nodes_alive"] == 3 and k["broker_requests"] >= 2 and
              "broker_retries" in k and k["broker_in_flight"] >= 1,
              "broker counters: %r" % k)
        ids = sorted(k["broker_node%d_id" % p] for p in (1, 2, 3))
        check(ids == [1, 2, 3], "node ids learned: %r" % ids)


def test_two_brokers_side_by_side_serve_one_producer():
    with BrokerCluster(3) as c:
        c.start_all()
        c.start_broker()
        c.start_broker()
        c.wait_broker_ready(0)
        c.wait_broker_ready(1)
        acked = {}
        for seq in range(1, 21):
            reply, _ = c.produce(8, seq, [b"two-%d" % seq], broker=seq % 2)
            acked[b"two-%d" % seq] = reply["first"]
        # A retry through the other broker is recognised as a duplicate.
        again, _ = c.produce(8, 20, [b"two-20"], broker=1)
        check(again.get("duplicate") and
              again["first"] == acked[b"two-20"],
              "a retry through the other broker: %r" % again)
        c.brokers[0]["proc"].kill()
        c.brokers[0]["proc"].wait()
        reply, _ = c.produce(8, 21, [b"two-21"], broker=1)
        acked[b"two-21"] = reply["first"]
        check_exactly_once(c, c.wait_leader(), acked, set(acked))


def test_broker_shuts_down_gracefully_and_answers_waiting_clients():
    with BrokerCluster(3) as c:
        c.start_all()
        c.start_broker()
        c.wait_broker_ready()
        s = c.socket(zmq.REQ)
        s.connect(c.brokers[0]["endpoint"])
        s.send(msgpack.packb({"version": 1, "type": READ, "id": 99,
                              "from": 1000000, "wait_ms": 60000}))
        proc = c.brokers[0]["proc"]
        wait_for(lambda: (c.broker_status() or {}).get("counters", {}).get(
            "broker_in_flight", 0) >= 2, 10, "the long-poll to be held")
        proc.send_signal(signal.SIGTERM)
        check(s.poll(5000), "the waiting client got no answer")
        reply = msgpack.unpackb(s.recv())
        s.close()
        check(reply["type"] == ERROR and reply["code"] == ERR_SHUTTING_DOWN
              and reply["id"] == 99,
              "expected SHUTTING_DOWN, got %r" % reply)
        check(proc.wait(timeout=10) == 0, "exit status %r" % proc.returncode)


def test_broker_help_and_bad_configuration():
    run = subprocess.run([BROKER, "--help"], capture_output=True, timeout=30)
    out = run.stdout.decode()
    check(run.returncode == 0 and "--nodes" in out and
          "broker/heartbeat_ms" in out, "--help: %r" % out[:200])
    cases = [([], "no nodes"),
             (["--nodes", "nonsense"], "not a ZeroMQ endpoint"),
             (["--nodes", "tcp://127.0.0.1:1", "--heartbeat", "x"],
              "heartbeat"),
             (["--bogus"], "unknown option")]
    for args, says in cases:
        run = subprocess.run([BROKER] + args, capture_output=True,
                             timeout=30)
        err = run.stderr.decode()
        check(run.returncode == 2 and says in err and err.count("\n") == 1,
              "%r: exit %d, %r" % (args, run.returncode, err))


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:],
                       {"--binary": "BINARY", "--broker": "BROKER"}))

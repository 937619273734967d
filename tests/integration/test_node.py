#!/usr/bin/python3
"""Integration tests of raftlog-node: real processes on 127.0.0.1.

    test_node.py --binary PATH TEST      run one test (ctest runs each)
    test_node.py --binary PATH --list    the tests

Each test names the behaviour it checks and fails with a message saying
what did not hold. Set RL_KEEP_TEST_DIRS=1 to keep data directories and
logs for a post-mortem.
"""
import os
import signal
import subprocess
import sys
import time

import msgpack

from harness import (APPEND, APPEND_OK, Cluster, ERROR, ERR_BAD_REQUEST,
                     ERR_OUT_OF_RANGE, ERR_SHUTTING_DOWN, ERR_TIMEOUT,
                     ERR_TOO_LARGE, ERR_UNSUPPORTED_VERSION, MEMBERS,
                     MEMBERS_OK, NOT_LEADER, Node, READ, READ_OK, STATUS,
                     TestFailure, check, free_ports, run_tests, wait_for)

BINARY = None


def payloads(prefix, count):
    return [("%s-%d" % (prefix, k)).encode() for k in range(count)]


def acked_stream(c, prefix, count, producer=None):
    """Appends count single-entry batches; returns {data: index} acked."""
    acked = {}
    for k, data in enumerate(payloads(prefix, count)):
        seq = k + 1 if producer else None
        reply = c.append([data], producer=producer, seq=seq)
        acked[data] = reply["first"]
    return acked


def check_log_has(c, i, acked):
    """Node i's committed log holds every acked entry exactly once, at the
    index it was acknowledged with."""
    log = c.read_all(i)
    seen = {}
    for index, data in log:
        check(data not in seen or data not in acked,
              "node %d holds %r twice (indexes %d and %d)"
              % (i, data, seen.get(data, 0), index))
        seen[data] = index
    for data, index in acked.items():
        check(seen.get(data) == index,
              "node %d: acked %r at index %d, log has it at %r"
              % (i, data, index, seen.get(data)))
    indexes = [index for index, _ in log]
    check(indexes == sorted(indexes), "node %d log out of order" % i)
    return log


# ---- the tests ----

def test_three_nodes_elect_one_leader():
    with Cluster(3, BINARY) as c:
        c.start_all()
        leader = c.wait_leader()
        roles = [c.status(i)["role"] for i in c.nodes]
        check(roles.count("leader") == 1,
              "expected exactly one leader, roles are %r" % roles)
        check(c.status(leader)["term"] >= 1, "leader's term is 0")


def test_appends_commit_and_read_back_identically_from_every_node():
    with Cluster(3, BINARY) as c:
        c.start_all()
        c.wait_leader()
        acked = acked_stream(c, "entry", 50)
        batch = c.append([b"a", b"", b"\x00\xffbinary"])
        check(batch["last"] - batch["first"] == 2,
              "a batch of 3 got indexes %r" % batch)
        last = batch["last"]
        logs = []
        for i in c.nodes:
            c.wait_commit(i, last)
            logs.append(check_log_has(c, i, acked))
        check(logs[0] == logs[1] == logs[2], "the nodes' logs differ")
        check(logs[0][-3:] == [(batch["first"], b"a"),
                               (batch["first"] + 1, b""),
                               (last, b"\x00\xffbinary")],
              "the batch did not read back as written: %r" % logs[0][-3:])


def test_a_killed_leader_is_replaced_and_nothing_acked_is_lost():
    with Cluster(3, BINARY) as c:
        c.start_all()
        old = c.wait_leader()
        acked = acked_stream(c, "before", 20, producer=7)
        c.kill(old)
        killed_at = time.monotonic()
        new = c.wait_leader(among=[i for i in c.nodes if i != old])
        took = time.monotonic() - killed_at
        check(new != old, "the killed node still leads")
        check(took < 10 * c.election_ms / 1000.0,
              "a new leader took %.1f s (election timeout %d ms)"
              % (took, c.election_ms))
        for data, index in acked_stream(c, "after", 20, producer=8).items():
            acked[data] = index
        for i in c.nodes:
            if i != old:
                c.wait_commit(i, max(acked.values()))
                check_log_has(c, i, acked)
        # The old leader comes back and catches up.
        c.start(old)
        last = max(acked.values())
        c.wait_commit(old, last)
        check_log_has(c, old, acked)


def test_a_paused_follower_does_not_stop_the_cluster_and_catches_up():
    with Cluster(3, BINARY) as c:
        c.start_all()
        leader = c.wait_leader()
        follower = next(i for i in c.nodes if i != leader)
        c.kill(follower, signal.SIGSTOP)
        try:
            acked = acked_stream(c, "paused", 30)
        finally:
            c.kill(follower, signal.SIGCONT)
        c.wait_commit(follower, max(acked.values()))
        check_log_has(c, follower, acked)


def test_a_minority_cannot_commit_and_its_clients_get_errors():
    with Cluster(3, BINARY) as c:
        c.start_all()
        leader = c.wait_leader()
        others = [i for i in c.nodes if i != leader]
        for i in others:
            c.kill(i)
        # The old leader alone: an append must get an answer, not hang,
        # and the answer must not be success.
        started = time.monotonic()
        reply = c.request(leader, {"type": APPEND, "entries": [b"lonely"]},
                          timeout=10.0)
        check(reply is not None, "no reply within 10 s: the client hangs")
        check(reply["type"] in (ERROR, NOT_LEADER),
              "a minority acknowledged an append: %r" % reply)
        if reply["type"] == ERROR:
            check(reply["code"] == ERR_TIMEOUT,
                  "expected TIMEOUT, got %r" % reply)
        check(time.monotonic() - started < 9.0, "the error came too late")
        check(all(e[1] != b"lonely" for e in c.read_all(leader)),
              "the lonely entry is committed")


def test_the_whole_cluster_restarts_with_its_log_intact():
    with Cluster(3, BINARY) as c:
        c.start_all()
        c.wait_leader()
        acked = acked_stream(c, "durable", 30)
        for i in c.nodes:
            c.kill(i)  # kill -9: only what was fsynced survives
        c.start_all()
        c.wait_leader()
        c.append([b"after-restart"])
        for i in c.nodes:
            c.wait_commit(i, max(acked.values()))
            check_log_has(c, i, acked)


def test_five_nodes_survive_two_failures():
    with Cluster(5, BINARY) as c:
        c.start_all()
        leader = c.wait_leader()
        victims = [leader, next(i for i in c.nodes if i != leader)]
        for i in victims:
            c.kill(i)
        survivors = [i for i in c.nodes if i not in victims]
        c.wait_leader(among=survivors)
        acked = acked_stream(c, "five", 20)
        for i in survivors:
            c.wait_commit(i, max(acked.values()))
            check_log_has(c, i, acked)


def test_malformed_requests_get_errors_and_the_node_keeps_serving():
    with Cluster(3, BINARY, extra=["--max-entry", "1K"]) as c:
        c.start_all()
        leader = c.wait_leader()
        cases = [
            (b"\xc1garbage", ERR_BAD_REQUEST),
            (b"", ERR_BAD_REQUEST),
            (msgpack.packb({"version": 9, "type": STATUS}),
             ERR_UNSUPPORTED_VERSION),
            (msgpack.packb({"version": 1, "type": APPEND,
                            "entries": [b"x" * 2000]}), ERR_TOO_LARGE),
            (msgpack.packb({"version": 1, "type": APPEND,
                            "entries": "not a list"}), ERR_BAD_REQUEST),
            (msgpack.packb([1, 2, 3]), ERR_BAD_REQUEST),
        ]
        for payload, code in cases:
            reply = c.raw(leader, payload)
            check(reply is not None and reply["type"] == ERROR
                  and reply["code"] == code,
                  "payload %r: expected error %d, got %r"
                  % (payload[:20], code, reply))
            check(len(reply["message"]) > 10, "an error without a message")
        check(c.append([b"still serving"])["type"] == APPEND_OK,
              "the node stopped serving after bad input")


def test_graceful_shutdown_answers_waiting_clients():
    with Cluster(3, BINARY) as c:
        c.start_all()
        leader = c.wait_leader()
        follower = next(i for i in c.nodes if i != leader)
        # A long-poll READ far in the future waits on the follower...
        s = c.socket(__import__("zmq").REQ)
        s.connect(c.nodes[follower].client)
        s.send(msgpack.packb({"version": 1, "type": READ, "id": 99,
                              "from": 1000000, "wait_ms": 60000}))
        wait_for(lambda: (c.status(follower) or {}).get(
                     "counters", {}).get("pending_requests", 0) >= 1,
                 5, "the long poll to wait on node %d" % follower)
        # ...and SIGTERM must answer it, then exit 0.
        status = c.stop(follower)
        check(s.poll(5000), "the waiting client got no answer")
        reply = msgpack.unpackb(s.recv())
        s.close()
        check(reply["type"] == ERROR and reply["code"] == ERR_SHUTTING_DOWN
              and reply["id"] == 99,
              "expected SHUTTING_DOWN, got %r" % reply)
        check(status == 0, "exit status %d after SIGTERM" % status)
        # The leader hands over before it stops.
        check(c.stop(leader) == 0, "the leader did not exit cleanly")


def test_a_long_poll_read_returns_as_soon_as_an_entry_commits():
    with Cluster(3, BINARY) as c:
        c.start_all()
        leader = c.wait_leader()
        follower = next(i for i in c.nodes if i != leader)
        first = c.append([b"one"])["first"]
        c.wait_commit(follower, first)
        import zmq
        s = c.socket(zmq.REQ)
        s.connect(c.nodes[follower].client)
        s.send(msgpack.packb({"version": 1, "type": READ, "id": 5,
                              "from": first + 1, "wait_ms": 20000}))
        check(not s.poll(300), "the long-poll answered before any append")
        c.append([b"two"])
        check(s.poll(5000), "the long-poll did not wake on the commit")
        reply = msgpack.unpackb(s.recv())
        s.close()
        check(reply["type"] == READ_OK and
              [e[1] for e in reply["entries"]] == [b"two"],
              "long-poll got %r" % reply)


def test_reading_below_the_log_start_or_from_zero_is_refused():
    with Cluster(3, BINARY) as c:
        c.start_all()
        leader = c.wait_leader()
        reply = c.request(leader, {"type": READ, "from": 0})
        check(reply["type"] == ERROR and reply["code"] == ERR_BAD_REQUEST,
              "READ from 0: %r" % reply)


def test_retention_drops_old_segments_and_a_lagging_follower_gets_a_snapshot():
    # 1 MiB segments, keep about 2 MiB: 5 MB of appends leave 2 or 3.
    with Cluster(3, BINARY, extra=["--segment-size", "1M", "--max-entry",
                                   "64K", "--retention", "2M"]) as c:
        c.start_all()
        leader = c.wait_leader()
        lagging = next(i for i in c.nodes if i != leader)
        c.kill(lagging)
        written = [b"%06d" % k + b"r" * 3994 for k in range(1280)]
        last = 0
        for k in range(0, len(written), 16):
            last = c.append(written[k:k + 16])["last"]
        wait_for(lambda: (c.status(leader) or {}).get("first", 1) > 1, 10,
                 "the leader to drop old segments")
        reply = c.request(leader, {"type": READ, "from": 1})
        check(reply["type"] == ERROR and reply["code"] == ERR_OUT_OF_RANGE
              and reply.get("first", 0) > 1,
              "READ below the retained range: %r" % reply)

        def read_retained():
            # Retention may still drop a segment between STATUS and READ.
            first = c.status(leader)["first"]
            try:
                return first, c.read_all(leader, start=first)
            except TestFailure:
                return None
        first, kept = wait_for(read_retained, 10, "a read of what is kept")
        segments = [f for f in os.listdir(c.nodes[leader].data_dir)
                    if f.endswith(".log")]
        check(0 < len(kept) < len(written) and
              [d for _, d in kept] == written[-len(kept):],
              "the retained suffix differs from what was written")
        check(kept[-1][0] == last, "last kept %d, last written %d"
              % (kept[-1][0], last))
        # The follower that missed the dropped entries gets a snapshot.
        c.start(lagging)
        c.wait_commit(lagging, last, timeout=30)
        # Its log starts after the snapshot, past the leader's first.
        theirs = c.read_all(lagging, start=c.status(lagging)["first"])
        check(theirs and theirs == kept[-len(theirs):],
              "the restarted follower's log differs from the leader's")
        check(b"installed a snapshot" in open(c.nodes[lagging].log_path,
                                              "rb").read(),
              "the lagging follower did not install a snapshot")
        check(len(segments) <= 4, "segments kept: %r" % segments)
        # Past the first, the leader's segments began as spares: 1 MiB of
        # zeros made ahead by its helper thread (docs/STORAGE.md).
        spares = c.status(leader)["counters"]["spare_segments"]
        check(spares >= 3, "segments made from spares: %d" % spares)


def test_followers_serve_a_committed_entry_without_waiting_for_a_heartbeat():
    # Heartbeats every 2 s: a follower that learnt commits only from them
    # would serve the entry up to 2 s late.
    with Cluster(3, BINARY, election_ms=6000, heartbeat_ms=2000,
                 request_timeout_ms=20000) as c:
        c.start_all()
        leader = c.wait_leader(timeout=40)
        for k in range(3):
            index = c.append([b"fresh-%d" % k])["last"]
            for i in c.nodes:
                if i == leader:
                    continue
                wait_for(lambda: (index, b"fresh-%d" % k) in
                         [tuple(e) for e in c.request(
                             i, {"type": READ, "from": index})["entries"]],
                         1.0, "node %d to serve index %d" % (i, index))


def test_bad_configuration_stops_start_up_with_one_clear_line():
    peer, client = free_ports(2)
    me = "1=tcp://127.0.0.1:%d,tcp://127.0.0.1:%d" % (peer, client)
    twin = "1=tcp://127.0.0.1:%d,tcp://127.0.0.1:%d" % (peer + 1, client + 1)
    cases = [
        (["--id", "1", "--data", "/tmp/x", "--member", me, "--member", twin],
         "appears twice"),
        (["--id", "4", "--data", "/tmp/x", "--member", me],
         "not one of the members"),
        (["--id", "1", "--member", me], "no data directory"),
        (["--bogus"], "unknown option"),
    ]
    for args, says in cases:
        run = subprocess.run([BINARY] + args, capture_output=True,
                             timeout=30)
        err = run.stderr.decode()
        check(run.returncode == 2, "%r: exit %d" % (args, run.returncode))
        check(says in err and err.count("\n") == 1,
              "%r: expected one line with %r, got %r" % (args, says, err))


def test_a_port_in_use_or_another_nodes_data_stops_start_up():
    with Cluster(3, BINARY) as c:
        c.start_all()
        c.wait_leader()
        n1, n2 = c.nodes[1], c.nodes[2]
        # Node 2's ports are taken by the running node 2.
        run = subprocess.run(
            [BINARY, "--id", "2", "--data", os.path.join(c.dir, "other")]
            + c.member_args() + c.args + c.key_args(2), capture_output=True,
            timeout=30)
        err = run.stderr.decode()
        check(run.returncode == 1 and "in use" in err,
              "port in use: exit %d, %r" % (run.returncode, err))
        # Node 1's data directory given to a node 2.
        c.kill(2)
        run = subprocess.run(
            [BINARY, "--id", "2", "--data", n1.data_dir]
            + c.member_args() + c.args + c.key_args(2), capture_output=True,
            timeout=30)
        err = run.stderr.decode()
        check(run.returncode == 1 and "node 1" in err,
              "another node's data: exit %d, %r" % (run.returncode, err))
        del n2


def test_an_idempotent_retry_across_a_leader_change_appends_once():
    with Cluster(3, BINARY) as c:
        c.start_all()
        old = c.wait_leader()
        first = c.append([b"once"], producer=77, seq=1)
        again = c.append([b"once"], producer=77, seq=1)
        check(again["first"] == first["first"] and again.get("duplicate"),
              "a retry on the same leader: %r then %r" % (first, again))
        c.kill(old)
        c.wait_leader(among=[i for i in c.nodes if i != old])
        after = c.append([b"once"], producer=77, seq=1)
        check(after["first"] == first["first"] and after.get("duplicate"),
              "a retry on the new leader: %r then %r" % (first, after))
        stale = c.request(c.wait_leader(), {"type": APPEND, "producer": 77,
                                            "seq": 0, "entries": [b"old"]})
        check(stale["type"] == ERROR and stale["code"] == 12,
              "an older seq: expected STALE_SEQUENCE, got %r" % stale)
        survivor = next(i for i in c.nodes if i != old)
        log = c.read_all(survivor)
        check([d for _, d in log].count(b"once") == 1,
              "the entry is in the log %d times"
              % [d for _, d in log].count(b"once"))


def established_to(pid, port):
    """The established TCP connections process pid holds to port on
    127.0.0.1 (its socket inodes matched in /proc's TCP tables)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            if state == "01" and int(remote.split(":")[1], 16) == port \
                    and inode in inodes:
                count += 1
    return count


def test_a_node_joins_a_running_cluster_and_is_removed_again():
    with Cluster(3, BINARY) as c:
        c.start_all()
        leader = c.wait_leader()
        acked = acked_stream(c, "early", 10)
        # Node 4 starts empty with --join, then is added by the operator.
        peer, client = free_ports(2)
        n4 = Node(4, peer, client, os.path.join(c.dir, "node4"),
                  os.path.join(c.dir, "node4.log"))
        # Its --member flags are an address book of the running members,
        # not a configuration: the configuration comes from the leader.
        book = c.member_args()
        c.nodes[4] = n4
        log = open(n4.log_path, "ab")
        n4.proc = subprocess.Popen(
            [BINARY, "--id", "4", "--data", n4.data_dir, "--join",
             "--peer-endpoint", n4.peer, "--client-endpoint", n4.client]
            + book + c.args + c.key_args(4), stdout=log,
            stderr=subprocess.STDOUT)
        log.close()
        member = {"id": 4, "peer": n4.peer, "client": n4.client}
        reply = wait_for(lambda: c.request(
            c.leader() or leader, {"type": MEMBERS, "op": "add",
                                   "member": member}, timeout=5.0),
            20, "MEMBERS add to be answered")
        check(reply["type"] == MEMBERS_OK,
              "MEMBERS add failed: %r" % reply)
        check(any(m["id"] == 4 for m in reply["members"]),
              "node 4 is not in %r" % reply["members"])
        c.wait_commit(4, max(acked.values()), timeout=20)
        check_log_has(c, 4, acked)
        # Caught up, it is promoted to a voter.
        wait_for(lambda: any(m["id"] == 4 and m.get("voter")
                             for m in c.status(c.wait_leader())["members"]),
                 20, "node 4 to become a voter")
        # And removed again.
        reply = c.request(c.wait_leader(), {"type": MEMBERS, "op": "remove",
                                             "member": {"id": 4}}, 5.0)
        check(reply is not None and reply["type"] == MEMBERS_OK and
              all(m["id"] != 4 for m in reply["members"]),
              "MEMBERS remove failed: %r" % reply)
        # The leader closed its connection to the removed node (which runs
        # on: only the configuration changed). Checked before node 4's
        # election timeout, after which its campaign could be answered.
        remover = c.wait_leader()
        wait_for(lambda: established_to(c.nodes[remover].proc.pid,
                                        peer) == 0,
                 2, "node %d to close its connection to node 4" % remover)
        check(c.append([b"after removal"])["type"] == APPEND_OK,
              "the cluster stopped after the removal")


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:],
                       {"--binary": "BINARY"}))

#!/usr/bin/python3
"""Integration tests of named logs on the nodes (issue 16): LOGS_REQUEST
create, list, configure and delete; appends and tails on two logs at
once; a leader killed while three logs have leaders on three nodes;
NOT_FOUND for a log that does not exist; the roles of the catalog's
requests; a request without `log` served by `default` as before.

They speak the client protocol directly (docs/PROTOCOL.md) to real
3-node clusters on 127.0.0.1, with CURVE keys as the harness gives them
by default. Every wait is a condition with a deadline; every process a
test starts is stopped by PID.

    test_logs.py --binary PATH TEST
    test_logs.py --list
"""
import os
import platform
import subprocess
import sys
import time

from test_layout import flatten_named

from harness import (APPEND, APPEND_OK, ERR_BAD_REQUEST, ERR_FORBIDDEN,
                     ERROR, NOT_LEADER, READ, READ_OK, STATUS, Cluster, Node,
                     TestFailure, check, free_ports, run_tests, wait_for)

BINARY = None
LOGS, LOGS_OK = 40, 71
ERR_NOT_FOUND, ERR_REJECTED, ERR_BUSY, ERR_NO_LEADER = 16, 11, 8, 10
RETRY = (4, 5, ERR_BUSY, ERR_NO_LEADER)  # TIMEOUT, SHUTTING_DOWN, ...


# ---- helpers ----

def logs_request(c, msg, timeout=10.0, role="admin"):
    """A LOGS request sent to the leader of `default`, following
    NOT_LEADER and retrying what may be retried; the reply."""
    msg = dict(msg, type=LOGS)
    deadline = time.monotonic() + timeout
    target = None
    while time.monotonic() < deadline:
        live = [i for i in c.nodes if c.alive(i)]
        target = target or c.leader() or live[0]
        reply = c.request(target, msg, timeout=3.0, role=role)
        if reply is None:
            target = None
            continue
        if reply["type"] == NOT_LEADER:
            target = reply["leader"] or None
            if target is None:
                time.sleep(0.05)
            continue
        if reply["type"] == ERROR and reply["code"] in RETRY:
            target = None
            time.sleep(0.05)
            continue
        return reply
    raise TestFailure("LOGS %r had no answer within %.1f s" % (msg, timeout))


def create(c, name, **settings):
    reply = logs_request(c, dict(settings, op="create", name=name))
    check(reply["type"] == LOGS_OK, "create %s: %r" % (name, reply))
    check(len(reply["logs"]) == 1 and reply["logs"][0]["name"] == name and
          reply["logs"][0]["group"] >= 1, "create %s: %r" % (name, reply))
    return reply["logs"][0]


def names(c, i):
    reply = c.request(i, {"type": LOGS, "op": "list"})
    check(reply is not None and reply["type"] == LOGS_OK,
          "LOGS list from node %d: %r" % (i, reply))
    return [log["name"] for log in reply["logs"]]


def append(c, log, entries, producer=None, seq=None, timeout=15.0):
    """Appends to log through its leader, following NOT_LEADER (which
    must name the log), retrying with the same producer and seq."""
    msg = {"type": APPEND, "entries": entries, "log": log}
    if producer is not None:
        msg["producer"], msg["seq"] = producer, seq
    deadline = time.monotonic() + timeout
    target = None
    while time.monotonic() < deadline:
        live = [i for i in c.nodes if c.alive(i)]
        target = target if target in live else None
        target = target or c.leader(log=log) or live[0]
        reply = c.request(target, msg, timeout=3.0)
        if reply is None:
            target = None
            continue
        if reply["type"] == APPEND_OK:
            return reply
        if reply["type"] == NOT_LEADER:
            if log != "default":
                check(reply.get("log") == log,
                      "NOT_LEADER for %s names log %r" % (log,
                                                          reply.get("log")))
            target = reply["leader"] or None
            if target is None:
                time.sleep(0.05)
            continue
        if reply["type"] == ERROR and reply["code"] in RETRY:
            target = None
            time.sleep(0.05)
            continue
        raise TestFailure("append to %s failed: %r" % (log, reply))
    raise TestFailure("append to %s did not succeed in %.1f s" % (log,
                                                                   timeout))


def read_all(c, i, log, timeout=10.0):
    """Every committed user entry of log node i knows, as (index, data)."""
    entries, frm = [], 1
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = c.request(i, {"type": READ, "from": frm, "log": log})
        check(reply is not None and reply["type"] == READ_OK,
              "READ of %s from node %d: %r" % (log, i, reply))
        entries += [tuple(e) for e in reply["entries"]]
        frm = reply["next"]
        if frm > reply["commit"]:
            return entries
    raise TestFailure("read_all of %s on node %d did not end" % (log, i))


def wait_read(c, i, log, want, timeout=15.0):
    """Waits until node i serves exactly the payloads want from log."""
    return wait_for(lambda: [d for _, d in read_all(c, i, log)] == want,
                    timeout, "node %d to serve %d entries of %s" %
                    (i, len(want), log))


def cluster(extra=()):
    c = Cluster(3, BINARY, extra=extra)
    c.start_all()
    return c


# ---- tests ----

def test_logs_are_created_listed_configured_and_deleted():
    with cluster() as c:
        c.wait_leader()
        check(names(c, 1) == ["default"], "a new cluster lists default only")
        orders = create(c, "orders", retention_bytes=1 << 30)
        audit = create(c, "audit.eu-1_x")
        check(orders["retention_bytes"] == 1 << 30, "settings: %r" % orders)
        check(audit["group"] > orders["group"], "ids grow: %r %r" %
              (orders, audit))
        for i in c.nodes:  # every node's committed catalog
            wait_for(lambda: names(c, i) ==
                     ["default", "audit.eu-1_x", "orders"], 10,
                     "node %d to list the logs" % i)
        # Every node hosts the new logs' groups (STATUS logs).
        for i in c.nodes:
            wait_for(lambda: {l["name"] for l in c.status(i)["logs"]} ==
                     {"default", "orders", "audit.eu-1_x"}, 10,
                     "node %d to host the logs" % i)
        again = logs_request(c, {"op": "create", "name": "orders"})
        check(again["type"] == ERROR and again["code"] == ERR_REJECTED,
              "a second create: %r" % again)
        bad = logs_request(c, {"op": "create", "name": "Bad/Name"})
        check(bad["type"] == ERROR and bad["code"] == ERR_BAD_REQUEST,
              "a bad name: %r" % bad)
        reserved = logs_request(c, {"op": "delete", "name": "default"})
        check(reserved["type"] == ERROR and reserved["code"] == ERR_REJECTED
              and "always exists" in reserved["message"],
              "deleting default: %r" % reserved)
        changed = logs_request(c, {"op": "configure", "name": "orders",
                                   "max_entry_bytes": 1000})
        check(changed["type"] == LOGS_OK and
              changed["logs"][0]["max_entry_bytes"] == 1000,
              "configure: %r" % changed)
        append(c, "orders", [b"x" * 1000])
        leader = c.leader(log="orders")
        big = c.request(leader, {"type": APPEND, "log": "orders",
                                 "entries": [b"x" * 1001]})
        check(big["type"] == ERROR and big["code"] == 2,  # TOO_LARGE
              "an entry over the log's max_entry_bytes: %r" % big)
        gone = logs_request(c, {"op": "delete", "name": "orders"})
        check(gone["type"] == LOGS_OK and
              gone["logs"][0]["name"] == "orders", "delete: %r" % gone)
        for i in c.nodes:
            wait_for(lambda: "orders" not in
                     {l["name"] for l in c.status(i)["logs"]}, 10,
                     "node %d to drop orders" % i)
            check(names(c, i) == ["default", "audit.eu-1_x"],
                  "node %d lists %r" % (i, names(c, i)))
        again = logs_request(c, {"op": "delete", "name": "orders"})
        check(again["type"] == ERROR and again["code"] == ERR_NOT_FOUND,
              "a second delete: %r" % again)
        # Created again, it is a new, empty log with a new group id.
        fresh = create(c, "orders")
        check(fresh["group"] > audit["group"], "no id reused: %r" % fresh)
        append(c, "orders", [b"new"])
        wait_read(c, 1, "orders", [b"new"])


def syncfs_usable(path):
    """What rl_sync_batch_syncfs_usable says of path: Linux 5.17 or later,
    on ext4 or XFS."""
    kind = subprocess.run(["stat", "-f", "-c", "%t", path],
                          capture_output=True, check=True).stdout
    major, minor = (int(x) for x in platform.release().split(".")[:2])
    return (int(kind.strip(), 16) in (0xEF53, 0x58465342)
            and (major, minor) >= (5, 17))


def test_logs_written_together_are_made_durable_by_one_syncfs():
    """--syncfs-from 1 makes every group commit on the data directory's
    filesystem one syncfs where it may be used (Linux 5.17+, ext4 or XFS;
    docs/STORAGE.md), and 0 never: fdatasyncs. Either way every log has
    what was acknowledged, and reads it back after every node restarts
    (a kill -9 keeps the page cache: this is no power-loss test)."""
    def counters(c, i, log):
        return c.status(i, 3.0, log=log)["counters"]

    for syncfs_from in (1, 0):
        with cluster(extra=("--syncfs-from", str(syncfs_from))) as c:
            usable = syncfs_usable(c.dir)
            c.wait_leader()
            logs = ["a", "b"]
            for name in logs:
                create(c, name)
            acked = {name: [] for name in logs}
            for n in range(10):
                for name in logs:
                    payload = b"%s-%d" % (name.encode(), n)
                    append(c, name, [payload], producer=3, seq=n + 1)
                    acked[name].append(payload)
            for i in c.nodes:
                for name in logs:
                    wait_read(c, i, name, acked[name])
                    got = counters(c, i, name)
                    if syncfs_from and usable:
                        check(got["filesystem_syncs"] > 0,
                              "node %d made %s durable without a syncfs: %r"
                              % (i, name, got))
                    else:
                        check(got["filesystem_syncs"] == 0 and
                              got["fsyncs"] > 0,
                              "node %d with --syncfs-from %d on %s: %r"
                              % (i, syncfs_from, name, got))
            for i in c.nodes:
                c.kill(i)
            for i in c.nodes:
                c.start(i)
            for i in c.nodes:
                for name in logs:
                    wait_read(c, i, name, acked[name], timeout=30)


def test_a_cluster_with_named_logs_keeps_two_voters():
    """Removing the second-last voter while a named log exists is refused,
    saying what to do (docs/RAFT.md: each log's group of two would need
    the removed node to agree); once the logs are gone it is done."""
    def remove(c, node):
        def answer():
            lead = c.leader()
            reply = lead and c.request(
                lead, {"type": 36, "op": "remove", "member": {"id": node}},
                5.0)
            if reply and reply["type"] == ERROR and reply["code"] in RETRY:
                return None
            return reply
        return wait_for(answer, 20, "an answer to removing node %d" % node)

    with Cluster(2, BINARY) as c:
        c.start_all()
        c.wait_leader()
        create(c, "kept")
        append(c, "kept", [b"x"])
        refused = remove(c, 2)
        check(refused["type"] == ERROR and refused["code"] == ERR_REJECTED
              and "add a node first, or delete the named logs"
              in refused["message"], "removing node 2: %r" % refused)
        gone = logs_request(c, {"op": "delete", "name": "kept"})
        check(gone["type"] == LOGS_OK, "delete: %r" % gone)
        done = remove(c, 2)
        check(done["type"] == 68 and [m["id"] for m in done["members"]]
              == [1], "removing node 2 with no named log: %r" % done)


class SyncfsFailsCluster(Cluster):
    """Test builds fail a node's syncfs while its file exists (the data
    is synced; only the error is made up: rl_node.c)."""

    def fail_file(self, i):
        return os.path.join(self.dir, "syncfs-fails-%d" % i)

    def env_for(self, i):
        return dict(os.environ, RL_TEST_SYNCFS_FAILS=self.fail_file(i))


def test_a_failed_syncfs_falls_back_to_each_logs_fdatasync():
    """A node whose syncfs fails says so, syncs each log with its own
    fdatasync until every log is durable, and goes on taking appends; it
    goes back to syncfs once it stops failing (docs/STORAGE.md)."""
    with SyncfsFailsCluster(3, BINARY, extra=("--syncfs-from", "1")) as c:
        c.start_all()
        c.wait_leader()
        if not syncfs_usable(c.dir):
            print("skipped: syncfs is not used here (kernel or filesystem)")
            return
        logs = ["a", "b"]
        for name in logs:
            create(c, name)
        acked = {name: [] for name in logs}

        def write(n):
            for name in logs:
                payload = b"%s-%d" % (name.encode(), n)
                append(c, name, [payload], producer=5, seq=n + 1)
                acked[name].append(payload)

        def counters(name):
            return c.status(1, 3.0, log=name)["counters"]
        for n in range(5):
            write(n)
        for name in logs:
            wait_read(c, 1, name, acked[name])
        before = {name: counters(name) for name in logs}
        check(all(before[name]["filesystem_syncs"] > 0 for name in logs),
              "node 1 used no syncfs: %r" % before)
        open(c.fail_file(1), "w").close()
        for n in range(5, 15):
            write(n)
        wait_for(lambda: b"syncfs of the data directory's filesystem failed"
                 in open(c.nodes[1].log_path, "rb").read(), 10,
                 "node 1 to say its syncfs failed")
        for name in logs:
            wait_read(c, 1, name, acked[name])
        check(c.alive(1), "node 1 stopped on a failed syncfs")
        during = {name: counters(name) for name in logs}
        check(all(during[name]["fsyncs"] > before[name]["fsyncs"]
                  for name in logs),
              "node 1 did not fall back to fdatasync: %r then %r"
              % (before, during))
        os.remove(c.fail_file(1))
        n = 15

        def back_to_syncfs():
            nonlocal n
            write(n)
            n += 1
            return all(counters(name)["filesystem_syncs"] >
                       during[name]["filesystem_syncs"] for name in logs)
        wait_for(back_to_syncfs, 20, "node 1 to use syncfs again")
        for i in c.nodes:
            for name in logs:
                wait_read(c, i, name, acked[name])


def test_two_logs_take_appends_and_tails_at_once_apart_from_default():
    with cluster() as c:
        c.wait_leader()
        create(c, "a")
        create(c, "b")
        c.append([b"d1"])  # no `log`: default, as before named logs
        for n in range(20):
            append(c, "a", [b"a%d" % n], producer=11, seq=n + 1)
            append(c, "b", [b"b%d" % n, b"b%d'" % n], producer=11,
                   seq=n + 1)
        # A producer's seq is per log: the same producer and seq on
        # another log is another append.
        want_a = [b"a%d" % n for n in range(20)]
        want_b = [x for n in range(20) for x in (b"b%d" % n, b"b%d'" % n)]
        for i in c.nodes:
            wait_read(c, i, "a", want_a)
            wait_read(c, i, "b", want_b)
            wait_read(c, i, "default", [b"d1"])
            check([d for _, d in c.read_all(i)] == [b"d1"],
                  "a READ without log reads default on node %d" % i)
        # A long poll on each log wakes for its own log's append only.
        a_next = read_all(c, 1, "a")[-1][0] + 1
        b_next = read_all(c, 1, "b")[-1][0] + 1
        sa = c.socket(__import__("zmq").REQ)
        sb = c.socket(__import__("zmq").REQ)
        try:
            import msgpack
            sa.connect(c.nodes[2].client)
            sb.connect(c.nodes[2].client)
            sa.send(msgpack.packb({"version": 1, "type": READ, "id": 1,
                                   "log": "a", "from": a_next,
                                   "wait_ms": 10000}))
            sb.send(msgpack.packb({"version": 1, "type": READ, "id": 2,
                                   "log": "b", "from": b_next,
                                   "wait_ms": 10000}))
            append(c, "a", [b"late-a"])
            check(sa.poll(8000), "the tail of a woke")
            got = msgpack.unpackb(sa.recv())
            check([e[1] for e in got["entries"]] == [b"late-a"],
                  "the tail of a got %r" % got)
            check(not sb.poll(300), "the tail of b stays parked")
            append(c, "b", [b"late-b"])
            check(sb.poll(8000), "the tail of b woke")
            got = msgpack.unpackb(sb.recv())
            check([e[1] for e in got["entries"]] == [b"late-b"],
                  "the tail of b got %r" % got)
        finally:
            sa.close()
            sb.close()


def test_a_killed_node_leading_logs_is_replaced_and_nothing_acked_is_lost():
    with cluster() as c:
        c.wait_leader()
        logs = ["l1", "l2", "l3"]
        for name in logs:
            create(c, name)
        for name in logs:
            wait_for(lambda: c.leader(log=name), 20, "a leader of " + name)
        # Three logs led by three nodes: hand leadership around.
        for node, name in zip(sorted(c.nodes), logs):
            def moved():
                lead = c.leader(log=name)
                if lead == node:
                    return True
                if lead:
                    c.request(lead, {"type": 37, "target": node,
                                     "log": name}, timeout=3.0)
                return False
            wait_for(moved, 20, "node %d to lead %s" % (node, name))
        acked = {name: [] for name in logs}
        for n in range(10):
            for name in logs:
                append(c, name, [b"%s-%d" % (name.encode(), n)],
                       producer=7, seq=n + 1)
                acked[name].append(b"%s-%d" % (name.encode(), n))
        victim = c.leader(log="l2")
        c.kill(victim)
        survivors = [i for i in c.nodes if i != victim]
        for name in logs:
            wait_for(lambda: c.leader(log=name) in survivors, 20,
                     "a surviving leader of " + name)
        for n in range(10, 15):
            for name in logs:
                append(c, name, [b"%s-%d" % (name.encode(), n)],
                       producer=7, seq=n + 1)
                acked[name].append(b"%s-%d" % (name.encode(), n))
        for i in survivors:
            for name in logs:
                wait_read(c, i, name, acked[name])
        c.start(victim)
        # The logs stay live while it comes back: it must catch up with
        # logs that go on taking appends (an idle log's leader resends
        # what a dead follower lost too, after an election timeout of
        # heartbeats: raft/replication.c).
        seq = {name: 16 for name in logs}

        def caught_up(name):
            up = c.status(victim, 0.5)
            if up and [d for _, d in read_all(c, victim, name)] == \
                    acked[name]:
                return True
            payload = b"after-%d" % seq[name]
            append(c, name, [payload], producer=7, seq=seq[name])
            acked[name].append(payload)
            seq[name] += 1
            return False
        for name in logs:
            wait_for(lambda: caught_up(name), 30,
                     "node %d to catch up on %s" % (victim, name))
        for i in c.nodes:
            for name in logs:
                wait_read(c, i, name, acked[name])


def test_a_single_log_data_directory_is_upgraded_in_place_to_default():
    with cluster() as c:
        c.wait_leader()
        acked = [c.append([b"old-%d" % k])["last"] for k in range(5)]
        for i in c.nodes:
            c.wait_commit(i, acked[-1])
        # Every node's data as a node of before named logs leaves it:
        # segments, hard state and raftlog.id at the top.
        for i in c.nodes:
            check(c.stop(i) == 0, "node %d did not stop cleanly" % i)
            flatten_named(c.nodes[i].data_dir)
            check(not os.path.exists(os.path.join(c.nodes[i].data_dir,
                                                  "logs")),
                  "node %d's data is single-log" % i)
        c.start_all()
        c.wait_leader()
        for i in c.nodes:
            data = c.nodes[i].data_dir
            wait_for(lambda: [d for _, d in c.read_all(i)] ==
                     [b"old-%d" % k for k in range(5)], 15,
                     "node %d to serve the old entries under default" % i)
            check(os.path.isdir(os.path.join(data, "logs", "default")) and
                  not [f for f in os.listdir(data) if f.endswith(".log")],
                  "node %d's data upgraded: %r" % (i, os.listdir(data)))
        # And it goes on: appends to default, and a named log beside it.
        c.append([b"new"])
        create(c, "beside")
        append(c, "beside", [b"b"])
        wait_read(c, 1, "default", [b"old-%d" % k for k in range(5)] +
                  [b"new"])


def test_peer_messages_of_all_logs_go_to_a_peer_as_one_message_per_turn():
    with cluster() as c:
        c.wait_leader()
        names_ = ["c%d" % k for k in range(10)]
        for name in names_:
            create(c, name)
        for name in names_:
            wait_for(lambda: c.leader(log=name), 20, "a leader of " + name)
        # Idle logs go quiet; with a node down their leaders stay awake
        # (a voter is missing) and heartbeat every tick.
        victim = [i for i in c.nodes if i != c.leader()][0]
        c.kill(victim)
        live = [i for i in c.nodes if i != victim]
        for name in names_:
            wait_for(lambda: c.leader(log=name) in live, 20,
                     "a live leader of " + name)

        def sent():
            total = [0, 0]
            for i in live:
                counters = c.status(i)["counters"]
                total[0] += counters["peer_messages_sent"]
                total[1] += counters["peer_frames_sent"]
            return total
        before = sent()
        wait_for(lambda: sent()[0] - before[0] >= 200, 20,
                 "200 peer messages")
        after = sent()
        messages, frames = after[0] - before[0], after[1] - before[1]
        # Eleven groups heartbeat every tick: coalesced, a message carries
        # the frames of every group its node leads, or the replies to
        # them (about 11 / 2 a message; one without coalescing).
        check(frames >= 2 * messages,
              "%d frames in %d messages: not coalesced" % (frames, messages))


def test_idle_logs_go_quiet_and_wake_for_an_append_or_a_dead_leader():
    with cluster() as c:
        c.wait_leader()
        names_ = ["q%d" % k for k in range(8)]
        for name in names_:
            create(c, name)

        def quiet(i):
            s = c.status(i)["counters"]
            return s["logs"] == 9 and s["logs_quiet"] == 8
        # Leaders spread first (a transfer wakes its log), then rest.
        wait_for(lambda: sum(leaders_by_node(c).values()) == 9 and
                 max(leaders_by_node(c).values()) <= 3, 40,
                 "the leaders to spread")
        for i in c.nodes:
            wait_for(lambda: quiet(i), 20, "node %d's 8 logs to go quiet" % i)
        # Quiet, only default heartbeats: one frame per message.
        before = [c.status(i)["counters"] for i in c.nodes]
        time.sleep(1.0)  # a window to count in, not a synchronisation
        after = [c.status(i)["counters"] for i in c.nodes]
        frames = sum(a["peer_frames_sent"] - b["peer_frames_sent"]
                     for a, b in zip(after, before))
        messages = sum(a["peer_messages_sent"] - b["peer_messages_sent"]
                       for a, b in zip(after, before))
        check(frames <= messages + 4,
              "quiet logs still send: %d frames in %d messages" %
              (frames, messages))
        # An append wakes its log, which goes quiet again after.
        append(c, "q3", [b"wake"])
        for i in c.nodes:
            wait_read(c, i, "q3", [b"wake"])
            wait_for(lambda: quiet(i), 20, "node %d quiet again" % i)
        # The node leading quiet logs dies: their followers wake (node-level
        # liveness) and elect another leader, which serves appends.
        led = {name: c.leader(log=name) for name in names_}
        victim = max(set(led.values()), key=list(led.values()).count)
        c.kill(victim)
        for name in names_:
            if led[name] == victim:
                append(c, name, [b"after"], timeout=30)
                check(c.leader(log=name) != victim, "a new leader of " +
                      name)


def test_a_node_added_to_the_cluster_joins_every_log_and_leaves_them():
    with cluster() as c:
        c.wait_leader()
        create(c, "m")
        for n in range(5):
            append(c, "m", [b"m%d" % n])
        peer, client = free_ports(2)
        n4 = Node(4, peer, client, os.path.join(c.dir, "node4"),
                  os.path.join(c.dir, "node4.log"))
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
            c.leader([1, 2, 3]) or 1, {"type": 36, "op": "add",
                                       "member": member}, timeout=5.0),
            20, "MEMBERS add to be answered")
        check(reply["type"] == 68, "MEMBERS add: %r" % reply)
        # The log's leader mirrors the cluster's configuration: node 4 is
        # added to the log's group, catches up and votes there.

        def voter_in_m():
            lead = c.leader(log="m")
            s = c.request(lead, {"type": STATUS, "log": "m"}) if lead else None
            return s and any(m["id"] == 4 and m.get("voter")
                             for m in s["members"])
        wait_for(voter_in_m, 30, "node 4 to vote in log m")
        wait_read(c, 4, "m", [b"m%d" % n for n in range(5)], timeout=30)
        # Removed from the cluster, it leaves the log's group too. The
        # removal waits (BUSY, retried as clients do) until log m has
        # committed the cluster's configuration, stamped (docs/RAFT.md).

        def removed():
            r = c.request(c.leader([1, 2, 3]) or 1,
                          {"type": 36, "op": "remove", "member": {"id": 4}},
                          5.0)
            busy = r and r["type"] == ERROR and r["code"] == ERR_BUSY
            return None if busy else r
        reply = wait_for(removed, 30, "MEMBERS remove to be taken")
        check(reply["type"] == 68, "MEMBERS remove: %r" % reply)

        def gone_from_m():
            lead = c.leader(log="m")
            s = c.request(lead, {"type": STATUS, "log": "m"}) if lead else None
            return s and all(m["id"] != 4 for m in s["members"])
        wait_for(gone_from_m, 30, "node 4 to leave log m")
        append(c, "m", [b"after"])


def leaders_by_node(c):
    """How many logs each live node leads, by STATUS `logs` (a node leads
    a log when its own STATUS says so)."""
    counts = {}
    for i in c.nodes:
        s = c.status(i, 0.5) if c.alive(i) else None
        if s:
            counts[i] = sum(1 for l in s["logs"] if l["role"] == "leader")
    return counts


def test_leaders_spread_over_the_nodes_and_a_restarted_node_gets_its_share():
    with cluster() as c:
        c.wait_leader()
        for k in range(8):
            create(c, "s%d" % k)
        # Nine groups, three voters: each node leads at most three.
        wait_for(lambda: sum(leaders_by_node(c).values()) == 9 and
                 max(leaders_by_node(c).values()) <= 3, 40,
                 "the leaders of 9 logs spread over 3 nodes")
        victim = max(leaders_by_node(c).items(), key=lambda x: x[1])[0]
        c.kill(victim)
        live = [i for i in c.nodes if i != victim]
        wait_for(lambda: sum(leaders_by_node(c).get(i, 0)
                             for i in live) == 9, 30,
                 "the two others to lead every log")
        c.start(victim)
        wait_for(lambda: leaders_by_node(c).get(victim, 0) >= 2 and
                 sum(leaders_by_node(c).values()) == 9, 60,
                 "node %d to get its share of leaders back" % victim)


def test_a_log_that_does_not_exist_is_not_found_by_the_catalogs_leader():
    """Only the leader of `default` (which holds the catalog) says a log
    does not exist; the other nodes send the client to it (NOT_LEADER
    echoing the log), as they may not have applied a creation yet."""
    with cluster() as c:
        leader = c.wait_leader()
        for msg in ({"type": APPEND, "entries": [b"x"]},
                    {"type": READ, "from": 1},
                    {"type": STATUS},
                    {"type": 38, "consumer": "c", "index": 0},
                    {"type": 37}):
            for i in c.nodes:
                reply = c.request(i, dict(msg, log="nope"))
                if i == leader:
                    check(reply["type"] == ERROR and
                          reply["code"] == ERR_NOT_FOUND and
                          reply["message"] ==
                          "no log named nope: raftlog logs list",
                          "type %d on the leader %d: %r" % (
                              msg["type"], i, reply))
                else:
                    check(reply["type"] == NOT_LEADER and
                          reply.get("leader") == leader and
                          reply.get("log") in (b"nope", "nope"),
                          "type %d on follower %d: %r" % (
                              msg["type"], i, reply))
        # Empty `log` is default, as if absent.
        reply = c.request(1, {"type": READ, "from": 1, "log": ""})
        check(reply["type"] == READ_OK, "an empty log is default: %r" %
              reply)


def test_a_client_gone_with_a_long_poll_on_a_named_log_is_released():
    """A client whose connection closes while its long poll waits on a
    named log: the READ leaves that log's table of waiting requests (the
    chaos soak on named logs found it taken out through the default log's:
    a heap count below zero, then a use after free), and the node serves
    on."""
    import msgpack
    import zmq
    with cluster() as c:
        c.wait_leader()
        create(c, "a")
        nxt = append(c, "a", [b"x"])["first"] + 1

        def parked():
            reply = c.request(1, {"type": STATUS, "log": "a"})
            counters = dict(reply["counters"]) if reply else {}
            return (counters.get("parked_reads"),
                    counters.get("parked_reads_released"))

        wait_for(lambda: c.request(1, {"type": STATUS, "log": "a"})
                 .get("type") == 67, 10, "node 1 to host log a")
        s = c.socket(zmq.DEALER)
        s.connect(c.nodes[1].client)
        s.send_multipart([b"", msgpack.packb(
            {"version": 1, "type": READ, "id": 1, "log": "a", "from": nxt,
             "wait_ms": 30000})])
        wait_for(lambda: parked() == (1, 0), 10, "the long poll to park")
        s.close()
        wait_for(lambda: parked() == (0, 1), 10,
                 "the long poll to be released with its connection")
        check(c.nodes[1].proc.poll() is None, "node 1 still runs")
        append(c, "a", [b"y"])
        reply = c.request(1, {"type": READ, "log": "a", "from": 1})
        check(reply["type"] == READ_OK and
              [e[1] for e in reply["entries"]] == [b"x", b"y"],
              "node 1 serves log a on: %r" % reply)


def test_logs_requests_need_admin_to_change_and_consumer_to_list():
    with cluster() as c:
        if not c.keys:
            return  # roles exist with CURVE only
        c.wait_leader()
        for role in ("consumer", "producer"):
            for op in ("create", "delete", "configure"):
                leader = c.wait_leader()
                reply = c.request(leader, {"type": LOGS, "op": op,
                                           "name": "x"}, role=role)
                check(reply["type"] == ERROR and
                      reply["code"] == ERR_FORBIDDEN and
                      "LOGS %s" % op in reply["message"],
                      "%s may not %s: %r" % (role, op, reply))
            reply = c.request(1, {"type": LOGS, "op": "list"}, role=role)
            check(reply["type"] == LOGS_OK, "%s may list: %r" %
                  (role, reply))
        check(create(c, "x")["name"] == "x", "admin may create")


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:], {"--binary": "BINARY"}))

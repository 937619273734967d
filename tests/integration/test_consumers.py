#!/usr/bin/python3
"""Integration tests of entry times and durable consumers (issue 17):
every entry stamped by its leader and read back with its time by the
three clients; reading from a time (`tail --since`, `--from-time`)
across several segments; retention by age; a consumer killed mid-tail
(kill -9 of the command line) resuming without a gap, the entries after
its last commit printed again (at least once); Ctrl-C committing what
was printed; the consumers command and its roles; positions known by a
new leader and through a broker.

They run against real 3-node clusters on 127.0.0.1, with CURVE keys as
the harness gives them by default.

    test_consumers.py --node PATH --cli PATH --driver PATH
                      --python-dir DIR [--broker PATH] TEST
    test_consumers.py --list

Retention by age is tested with a short age (seconds) and waiting for
the entries to grow that old: the stamps are the leader's real clock,
with no test-only clock offset in the node. Every wait is a condition
with a deadline; every process a test starts is stopped by PID.
"""
import datetime
import json
import os
import signal
import subprocess
import sys
import time

import msgpack
import zmq

from harness import (ERROR, ERR_BAD_REQUEST, ERR_OUT_OF_RANGE, NOT_LEADER,
                     READ, READ_OK, STATUS, Cluster, check, free_ports,
                     run_tests, wait_for)
from test_clients import Background, endpoints, run

NODE = CLI = DRIVER = PYTHON_DIR = BROKER = None
EXIT_REJECTED = 4
CONSUMER_COMMIT, CONSUMERS, CONSUMERS_OK = 38, 39, 70
ERR_NOT_FOUND, ERR_BUSY = 16, 8


# Small segments for tests that need several: 1 MiB, the least a node
# takes, with entries of at most a quarter of it.
SMALL_SEGMENTS = ["--segment-size", "1M", "--max-entry", "256K"]


# ---- helpers ----

def cli(c, *args, cluster=None):
    """The command line against c (or cluster), with the environment's
    key (the cluster's admin key inside its `with` block)."""
    return run([CLI, "--cluster", cluster or endpoints(c)] + list(args))


def now_ms():
    return int(time.time() * 1000)


def wait_past(ms):
    """Waits until the wall clock is past ms: entries appended then are
    stamped later than ms by the leader (on this machine's clock)."""
    wait_for(lambda: now_ms() > ms, 10, "the clock to pass %d" % ms)


def read_timed(c, i, start=1):
    """Every committed user entry node i knows: [(index, data, time)]."""
    out, frm = [], start
    while True:
        reply = c.request(i, {"type": READ, "from": frm})
        check(reply and reply["type"] == READ_OK, "READ failed: %r" % reply)
        times = reply.get("times", [0] * len(reply["entries"]))
        check(len(times) == len(reply["entries"]),
              "times %r for %d entries" % (times, len(reply["entries"])))
        out += [(e[0], e[1], t) for e, t in zip(reply["entries"], times)]
        frm = reply["next"]
        if frm > reply["commit"]:
            return out


def json_rows(out):
    return [json.loads(line) for line in out.decode().splitlines()]


def consumer_cli(c, role, *args):
    """The command line with the key of role (the cluster's admin key by
    default, in the environment)."""
    env = dict(os.environ, **c.client_env(role)) if c.keys else None
    return run([CLI, "--cluster", endpoints(c)] + list(args), env=env)


def iso(ms):
    return datetime.datetime.fromtimestamp(
        ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---- times ----

def test_every_entry_carries_its_leaders_time_in_every_client():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        before = now_ms()
        c.append([b"a", b"b"])
        wait_past(now_ms() + 2)
        c.append([b"c"])
        after = now_ms()
        entries = read_timed(c, leader)
        times = [t for _, _, t in entries]
        check(all(before <= t <= after for t in times),
              "times %r outside [%d, %d]" % (times, before, after))
        check(times == sorted(times) and times[0] == times[1] < times[2],
              "a batch shares its stamp, later appends are later: %r" % times)
        # Followers hold the leader's stamps.
        for i in c.nodes:
            c.wait_commit(i, entries[-1][0])
            check(read_timed(c, i) == entries, "node %d's times differ" % i)
        # The command line: json always, --show-time for raw.
        rc, out, err = cli(c, "tail", "--format", "json")
        check(rc == 0 and [r["time"] for r in json_rows(out)] == times,
              "json times: %r %r" % (out, err))
        rc, out, err = cli(c, "tail", "--show-time")
        check(rc == 0 and out.decode().splitlines() ==
              ["%s\t%s" % (iso(t)[:-4] + "Z", d.decode())
               for _, d, t in entries], "--show-time: %r" % out)
        # libraftlog (a tail from a time) and the Python client.
        rc, out, err = run([DRIVER, endpoints(c), "tail-time", "1", "3"])
        check(rc == 0 and [tuple(line.split()) for line in
                           out.decode().splitlines()] ==
              [(str(i), str(t), d.decode()) for i, d, t in entries],
              "driver: %r %r" % (out, err))
        sys.path.insert(0, PYTHON_DIR)
        from raftlog import Client
        with Client(endpoints(c)) as log:
            got, _ = log.read(1, times=True)
            check(got == entries, "python read %r" % got)


def test_since_finds_the_right_entry_across_several_segments():
    with Cluster(3, NODE, extra=SMALL_SEGMENTS) as c:
        c.start_all()
        leader = c.wait_leader()
        payload = b"x" * 60000
        # Ten groups of 6 entries (360 KB each), each stamped later than the
        # one before: 3.6 MB, four segments or more.
        marks = []
        for g in range(10):
            wait_past(now_ms() + 2)
            marks.append(now_ms())
            c.append([b"%d-%d-" % (g, k) + payload for k in range(6)])
        segments = [f for f in os.listdir(os.path.join(
                        c.nodes[leader].data_dir, "logs", "default"))
                    if f.endswith(".log")]
        check(len(segments) >= 4, "only %d segments" % len(segments))
        entries = read_timed(c, leader)
        check(len(entries) == 60, "%d entries" % len(entries))
        # The first entry of each group: the first stamped at or after the
        # moment just before its group was appended.
        for g in (0, 3, 7, 9):
            want = entries[6 * g]
            check(want[1].startswith(b"%d-0-" % g), "group %d" % g)
            for start in (str(marks[g]), iso(marks[g])):
                rc, out, err = cli(c, "tail", "--from-time", start, "--json",
                                   "--max", "1")
                rows = json_rows(out)
                check(rc == 0 and rows and rows[0]["index"] == want[0],
                      "--from-time %s gave %r %r, want index %d"
                      % (start, rows[:1], err, want[0]))
            # Any node answers a READ from a time, a follower too.
            follower = [i for i in c.nodes if i != leader][0]
            c.wait_commit(follower, entries[-1][0])
            reply = c.request(follower, {"type": READ, "from_time": marks[g],
                                         "max_entries": 2})
            check(reply["entries"][0][0] == want[0] and
                  reply["times"][0] == want[2], "follower: %r" % reply)
        # --since: everything is younger than an hour; nothing younger than
        # a millisecond once the clock has moved on.
        rc, out, err = cli(c, "tail", "--since", "1h", "--format", "hex")
        check(rc == 0 and len(out.splitlines()) == 60, "--since 1h: %r" % err)
        wait_past(entries[-1][2] + 5)
        rc, out, err = cli(c, "tail", "--since", "1ms")
        check(rc == 0 and out == b"", "--since 1ms printed %r %r" % (out, err))
        # A time past every entry waits (a long poll) until one is stamped
        # at or after it, and is answered by that one.
        future = now_ms() + 1500
        with Background([CLI, "--cluster", endpoints(c), "tail", "-f",
                         "--from-time", str(future), "--json"]) as t:
            c.append([b"too early"])
            wait_past(future + 1)
            c.append([b"late enough"])
            t.wait_lines(1, 20, "the entry stamped after the time")
            check(json_rows(t.lines[0])[0]["data"] == "late enough",
                  "tail -f --from-time printed %r first" % t.lines[0])


def test_a_read_names_exactly_one_start():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        for msg in ({"type": READ}, {"type": READ, "from": 1, "from_time": 5},
                    {"type": READ, "from": 1, "consumer": "a"}):
            reply = c.request(leader, msg)
            check(reply["type"] == ERROR and reply["code"] == ERR_BAD_REQUEST
                  and "exactly one of 'from'" in reply["message"],
                  "%r: %r" % (msg, reply))


# ---- retention by age ----

def test_age_retention_drops_old_segments_and_reports_the_new_start():
    with Cluster(3, NODE,
                 extra=SMALL_SEGMENTS + ["--retention-age", "3s"]) as c:
        c.start_all()
        leader = c.wait_leader()
        payload = b"y" * 100000
        for k in range(40):  # 4 MB: four segments or more
            c.append([b"old-%d-" % k + payload])
        old = read_timed(c, leader)
        # Until entries are 3 s old, nothing goes.
        check(all((c.status(i) or {}).get("first") == 1 for i in c.nodes),
              "dropped too early")
        wait_past(old[-1][2] + 3000)
        c.append([b"new"])
        # Each node drops the segments whose last entry is older than 3 s
        # (never the last one), and reports where its log starts now.
        for i in c.nodes:
            status = wait_for(lambda: (c.status(i) or {}).get("first", 1) > 1
                              and c.status(i), 20,
                              "node %d to drop old segments" % i)
            first = status["first"]
            reply = c.request(i, {"type": READ, "from": first})
            check(reply["type"] == READ_OK and
                  reply["times"][0] == status["first_time"],
                  "first_time %r, entry %r" % (status.get("first_time"),
                                               reply))
            reply = c.request(i, {"type": READ, "from": 1})
            check(reply["type"] == ERROR and
                  reply["code"] == ERR_OUT_OF_RANGE and
                  reply["first"] == first and
                  reply["first_time"] == status["first_time"],
                  "READ from 1: %r" % reply)
            # What is kept is intact, up to the new entry.
            kept = read_timed(c, i, first)
            check(kept[-1][1] == b"new" and
                  [e for e in old if e[0] >= first] == kept[:-1],
                  "node %d kept %r" % (i, [e[0] for e in kept]))
        with open(c.nodes[leader].log_path, "rb") as f:
            check(b"retention (--retention-age): dropped indexes 1.."
                  in f.read(), "no retention log line")
        # A time before the retained start is out of range too, naming it.
        rc, out, err = cli(c, "tail", "--from-time", str(old[0][2]))
        check(rc == EXIT_REJECTED and "before the retained log" in err,
              "tail --from-time before the start: %d %r" % (rc, err))


# ---- durable consumers ----

def test_a_consumer_killed_mid_tail_resumes_without_gap_at_least_once():
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        for k in range(0, 600, 100):
            c.append([b"e-%d" % n for n in range(k, k + 100)])
        args = [CLI, "--cluster", endpoints(c), "tail", "--consumer", "app",
                "--format", "json", "-f", "--commit-every", "40",
                "--commit-interval", "600000"]
        # The first run is killed (-9) once it has printed 250 entries or
        # more: it cannot commit on its way out.
        with Background(args) as first:
            first.wait_lines(250, 30, "250 entries")
            first.proc.send_signal(signal.SIGKILL)
            first.proc.wait(10)
            first.reader.join(5)
            printed = [json.loads(line) for line in first.lines]
        last_printed = printed[-1]["index"]
        rc, out, err = consumer_cli(c, "admin", "consumers", "show", "app",
                                    "--json")
        position = json.loads(out)["index"]
        check(rc == 0 and printed[0]["index"] <= position <= last_printed,
              "position %r after printing up to %d: %r" % (out, last_printed,
                                                           err))
        # Committed every 40 entries printed, each commit made after its
        # 40th entry is out: the uncommitted tail is at most 40 (all 40
        # when the kill lands between that entry and its commit).
        redelivered = [r for r in printed if r["index"] > position]
        check(len(redelivered) <= 40, "%d printed after the last commit"
              % len(redelivered))
        # The second run resumes right after the committed position.
        rc, out, err = cli(c, "tail", "--consumer", "app", "--format", "json")
        second = json_rows(out)
        check(rc == 0 and second[0]["index"] == position + 1 or
              (position == printed[-1]["index"] and not redelivered),
              "resumed at %r after position %d: %r" % (second[:1], position,
                                                      err))
        # Together: every entry, in order; the only ones seen twice are
        # those printed after the last commit of the killed run.
        seen = [r["data"] for r in printed] + [r["data"] for r in second]
        unique = list(dict.fromkeys(seen))
        check(unique == ["e-%d" % n for n in range(600)],
              "a gap or disorder: %r" % [d for d in unique[:5]])
        twice = [r["data"] for r in second if r["index"] <= last_printed]
        check(twice == [r["data"] for r in redelivered],
              "seen twice %r, printed after the last commit %r"
              % (twice, [r["data"] for r in redelivered]))
        # The second run committed its end.
        rc, out, err = consumer_cli(c, "admin", "consumers", "show", "app",
                                    "--json")
        check(json.loads(out)["index"] == second[-1]["index"],
              "final position %r" % out)


def test_ctrl_c_commits_what_was_printed():
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        c.append([b"i-%d" % n for n in range(200)])
        with Background([CLI, "--cluster", endpoints(c), "tail", "-f",
                         "--consumer", "ui", "--commit-every", "100000",
                         "--commit-interval", "600000"]) as t:
            t.wait_lines(200, 30, "200 entries")
            t.proc.send_signal(signal.SIGINT)
            check(t.proc.wait(10) == 130, "exit status %r: %s"
                  % (t.proc.returncode, t.stderr()))
        rc, out, err = cli(c, "consumers", "show", "ui", "--json")
        check(rc == 0 and json.loads(out)["index"] ==
              read_timed(c, c.wait_leader())[-1][0],
              "after Ctrl-C: %r %r" % (out, err))
        rc, out, err = cli(c, "tail", "--consumer", "ui")
        check(rc == 0 and out == b"", "printed again: %r" % out[:100])


def test_a_new_consumer_starts_where_told_and_is_made_at_its_start():
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        c.append([b"before"])
        rc, out, err = cli(c, "tail", "--consumer", "late", "--from-end")
        check(rc == 0 and out == b"" and "no committed position" in err,
              "a new consumer: %d %r %r" % (rc, out, err))
        # Made at the end it started from: what comes next is its.
        c.append([b"after"])
        rc, out, err = cli(c, "tail", "--consumer", "late")
        check(rc == 0 and out == b"after\n", "resumed with %r %r" % (out, err))
        # An unknown consumer read by the protocol is NOT_FOUND.
        reply = c.request(c.wait_leader(), {"type": READ, "consumer": "nope"})
        check(reply["type"] == ERROR and reply["code"] == ERR_NOT_FOUND,
              "READ consumer nope: %r" % reply)


def test_consumers_command_roles_and_a_position_behind_the_start():
    with Cluster(3, NODE, extra=SMALL_SEGMENTS + ["--retention", "1M"]) as c:
        c.start_all()
        leader = c.wait_leader()
        a = c.append([b"a", b"b", b"c"])["first"]
        rc, out, err = consumer_cli(c, "consumer", "tail", "--consumer",
                                    "reader")
        check(rc == 0 and out == b"a\nb\nc\n", "tail: %r %r" % (out, err))
        rc, out, err = consumer_cli(c, "consumer", "consumers", "list",
                                    "--json")
        listed = json.loads(out)
        check(rc == 0 and [x["name"] for x in listed["consumers"]] ==
              ["reader"] and listed["consumers"][0]["lag"] >= 0,
              "list: %r %r" % (out, err))
        # A consumer key may look and commit, not reset or delete.
        for args in (("reset", "reader", "--to", "1"),
                     ("delete", "reader")):
            rc, out, err = consumer_cli(c, "consumer", "consumers", *args)
            check(rc == EXIT_REJECTED and "FORBIDDEN" in err and
                  "admin key" in err, "%r with a consumer key: %d %r"
                  % (args, rc, err))
        rc, out, err = consumer_cli(c, "admin", "consumers", "reset",
                                    "reader", "--to", str(a + 1))
        check(rc == 0 and "position %d, next read from %d" % (a, a + 1)
              in out.decode(), "reset --to %d: %r %r" % (a + 1, out, err))
        rc, out, err = consumer_cli(c, "consumer", "tail", "--consumer",
                                    "reader")
        check(out == b"b\nc\n", "after the reset: %r" % out)
        # Retention drops what the consumer has not read: it is told, and
        # not moved until an admin says so.
        rc, out, err = consumer_cli(c, "admin", "consumers", "reset",
                                    "reader", "--to", "1")
        for k in range(30):
            c.append([b"z" * 100000])
        status = wait_for(lambda: (c.status(leader) or {}).get("first", 1) > 2
                          and c.status(leader), 20, "retention")
        rc, out, err = consumer_cli(c, "consumer", "tail", "--consumer",
                                    "reader")
        check(rc == EXIT_REJECTED and "no longer retained" in err and
              "the log starts at %d" % status["first"] in err and
              "consumers reset reader --to %d" % status["first"] in err,
              "behind the start: %d %r" % (rc, err))
        rc, out, err = consumer_cli(c, "consumer", "consumers", "show",
                                    "reader")
        check(rc == 0 and "no longer retained" in out.decode(),
              "show: %r" % out)
        rc, out, err = consumer_cli(c, "admin", "consumers", "reset",
                                    "reader", "--to", "start")
        rc, out, err = consumer_cli(c, "consumer", "tail", "--consumer",
                                    "reader", "--max", "1", "--format", "hex")
        check(rc == 0 and out.startswith(b"%d\t" % status["first"]),
              "after --to start: %r %r" % (out, err))
        rc, out, err = consumer_cli(c, "admin", "consumers", "delete",
                                    "reader")
        check(rc == 0, "delete: %r" % err)
        rc, out, err = consumer_cli(c, "consumer", "consumers", "show",
                                    "reader")
        check(rc == EXIT_REJECTED and "NOT_FOUND" in err, "show: %r" % err)


def test_a_new_leader_knows_every_position():
    with Cluster(3, NODE) as c:
        c.start_all()
        old = c.wait_leader()
        c.append([b"p-%d" % n for n in range(10)])
        rc, out, err = run([DRIVER, endpoints(c), "consume", "keep", "7"])
        check(rc == 0 and out.decode().splitlines()[-1].startswith("position"),
              "consume: %r %r" % (out, err))
        position = int(out.decode().splitlines()[-1].split()[1])
        # Only the leader answers for positions: a follower redirects.
        follower = [i for i in c.nodes if i != old][0]
        reply = c.request(follower, {"type": CONSUMERS, "op": "show",
                                     "consumer": "keep"})
        check(reply["type"] == NOT_LEADER, "a follower answered %r" % reply)
        c.kill(old)
        new = c.wait_leader(among=[i for i in c.nodes if i != old])
        reply = wait_for(lambda: (lambda r: r if r and r["type"] ==
                                  CONSUMERS_OK else None)(
            c.request(new, {"type": CONSUMERS, "op": "show",
                            "consumer": "keep"})), 10, "the new leader")
        check(reply["consumers"] == [{"name": "keep", "index": position}],
              "the new leader says %r, the old one committed %d"
              % (reply, position))
        rc, out, err = run([DRIVER, endpoints(c), "consume", "keep", "3"])
        got = [line.split()[2] for line in out.decode().splitlines()[:3]]
        check(rc == 0 and got == [b"p-7".decode(), "p-8", "p-9"],
              "resumed with %r %r" % (got, err))
        # The library's other calls.
        for args, want in ((["commit", "keep", "1"], None),
                           (["reset", "keep", "3"], "position 3"),
                           (["show", "keep"], "keep 3 "),
                           (["list"], "keep 3"),
                           (["reset-time", "keep", str(now_ms() + 60000)],
                            "position "),
                           (["delete", "keep"], "deleted")):
            rc, out, err = run([DRIVER, endpoints(c)] + args)
            if want is None:
                check(rc == 12 and "STALE_SEQUENCE" in err,
                      "commit back: %d %r" % (rc, err))
            else:
                check(rc == 0 and want in out.decode(),
                      "%r: %d %r %r" % (args, rc, out, err))


def test_python_client_reads_from_a_time_and_keeps_positions():
    sys.path.insert(0, PYTHON_DIR)
    from raftlog import Client, RaftlogError
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        c.append([b"old"])
        wait_past(now_ms() + 2)
        mark = now_ms()
        c.append([b"new-1", b"new-2"])
        with Client(endpoints(c)) as log:
            got = [d for _, d in log.tail(from_time=mark, follow=False)]
            check(got == [b"new-1", b"new-2"], "from_time: %r" % got)
            got = list(log.tail(since=3600, follow=False, times=True))
            check([d for _, d, _ in got] == [b"old", b"new-1", b"new-2"] and
                  all(t >= mark - 3600000 for _, _, t in got),
                  "since: %r" % got)
            try:
                list(log.tail(consumer="py", follow=False))
                check(False, "an unknown consumer was read")
            except RaftlogError as e:
                check(e.name == "NOT_FOUND", "unknown consumer: %r" % e)
            index = got[1][0]
            check(log.commit("py", index) == index, "commit")
            check([d for _, d in log.tail(consumer="py", follow=False)] ==
                  [b"new-2"], "resume")
            check(log.consumer("py")["index"] == index, "show")
            check([x["name"] for x in log.consumers()["consumers"]] ==
                  ["py"], "list")
            check(log.reset_consumer("py", index=0) == 0, "reset")
            check(log.reset_consumer("py", time=mark) == index - 1,
                  "reset to a time")
            log.delete_consumer("py")
            try:
                log.consumer("py")
                check(False, "a deleted consumer was shown")
            except RaftlogError as e:
                check(e.name == "NOT_FOUND", "deleted: %r" % e)


def test_positions_through_a_broker():
    if not BROKER:
        print("no broker binary given: skipped")
        return
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        c.append([b"q-%d" % n for n in range(5)])
        port = free_ports(1)[0]
        broker = "tcp://127.0.0.1:%d" % port
        log_path = os.path.join(c.dir, "broker.log")
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [BROKER, "--endpoint", broker, "--nodes", endpoints(c)]
                + c.broker_args(), stdout=log, stderr=subprocess.STDOUT)
        try:
            def answers():
                s = c.socket(zmq.REQ)
                s.connect(broker)
                try:
                    s.send(msgpack.packb({"version": 1, "type": STATUS,
                                          "id": 1}))
                    return s.poll(500) and msgpack.unpackb(s.recv())
                finally:
                    s.close()
            wait_for(answers, 20, "the broker to answer")
            rc, out, err = run([CLI, "--cluster", broker, "tail",
                                "--consumer", "via", "--max", "3"])
            check(rc == 0 and out == b"q-0\nq-1\nq-2\n",
                  "through the broker: %r %r" % (out, err))
            rc, out, err = run([CLI, "--cluster", broker, "tail",
                                "--consumer", "via"])
            check(rc == 0 and out == b"q-3\nq-4\n",
                  "resumed through the broker: %r %r" % (out, err))
            rc, out, err = run([CLI, "--cluster", broker, "consumers",
                                "--json"])
            check(rc == 0 and json.loads(out)["consumers"][0]["name"] == "via",
                  "list through the broker: %r %r" % (out, err))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:],
                       {"--node": "NODE", "--cli": "CLI",
                        "--driver": "DRIVER", "--python-dir": "PYTHON_DIR",
                        "--broker": ("BROKER", None)}))

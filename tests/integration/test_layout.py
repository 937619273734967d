#!/usr/bin/python3
"""raftlog-node --check on both layouts of a data directory (issue 16).

A data directory written by a node of today (one log: segments, hard
state, snapshot and the raftlog.id marker at its top) is checked as one
log; the same log laid out as named logs (docs/STORAGE.md, "Named logs:
the data directory": DATA/logs/NAME with a log.id each, the v2 marker at
the top), built here by hand as the upgrade lays it out, is checked log
by log, and damage is reported with the name of the log it is in. The
upgrade itself on a node's restart is tested with the node runtime that
runs it (the named-logs node, test_logs.py).

usage: test_layout.py --binary PATH/raftlog-node TEST
       test_layout.py --list
"""
import glob
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, check, run_tests  # noqa: E402

BINARY = None

MARKER_V2 = (b"raftlog data directory v2\n"
             b"layout named logs: one directory per log in logs/ "
             b"(docs/STORAGE.md)\n")


def s_check(data_dir):
    """raftlog-node --check DATA: (exit status, output)."""
    done = subprocess.run([BINARY, "--check", data_dir],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=60)
    return done.returncode, done.stdout.decode(errors="replace")


def flatten_named(data):
    """A node of this version lays its data out as named logs: put its
    default log back at the top of data, as a node of before named logs
    left it (its v1 raftlog.id in place of the v2 marker)."""
    default = os.path.join(data, "logs", "default")
    if not os.path.isdir(default):
        return
    for name in os.listdir(default):
        if name not in ("log.id", "members"):
            os.replace(os.path.join(default, name), os.path.join(data, name))
    shutil.rmtree(os.path.join(data, "logs"))
    for name in ("max-group", "logs.creating", "logs.deleting"):
        path = os.path.join(data, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def s_node_of_today(c, entries):
    """Starts one node, appends entries, stops it: its data directory."""
    c.start(1)
    c.wait_leader()
    reply = None
    for k in range(entries):
        reply = c.append([b"entry %d" % k])
    check(c.stop(1) == 0, "node 1 did not stop cleanly")
    data = c.nodes[1].data_dir
    flatten_named(data)
    check(os.path.exists(os.path.join(data, "raftlog.id")) and
          glob.glob(os.path.join(data, "*.log")),
          "no single-log data directory in %s: %r" % (data, os.listdir(data)))
    return data, reply["last"]


def s_lay_out_named(data, target, logs):
    """Lays the single-log directory data out in target as named logs:
    logs is {name: group}, each a copy of data's log."""
    os.makedirs(os.path.join(target, "logs"), mode=0o700)
    with open(os.path.join(target, "raftlog.id"), "wb") as f:
        f.write(MARKER_V2)
    for name, group in logs.items():
        log_dir = os.path.join(target, "logs", name)
        shutil.copytree(data, log_dir)
        with open(os.path.join(log_dir, "log.id"), "w") as f:
            f.write("raftlog log v1\nname %s\ngroup %d\n" % (name, group))
    with open(os.path.join(target, "max-group"), "w") as f:
        f.write("raftlog max-group v1\n%d\n" % max(logs.values()))


def test_check_reads_the_data_directory_of_a_node_of_today():
    with Cluster(1, BINARY) as c:
        data, last = s_node_of_today(c, 30)
        before = sorted(os.listdir(data))
        status, out = s_check(data)
        check(status == 0, "--check exit %d:\n%s" % (status, out))
        check("a single log" in out, "layout not named:\n%s" % out)
        check("..%d " % last in out, "entries up to %d not reported:\n%s"
              % (last, out))
        check(sorted(os.listdir(data)) == before,
              "--check changed %s: %r -> %r" % (data, before,
                                                 sorted(os.listdir(data))))


def test_check_reads_every_named_log_and_names_the_damaged_one():
    with Cluster(1, BINARY) as c:
        data, last = s_node_of_today(c, 30)
        named = os.path.join(c.dir, "named")
        s_lay_out_named(data, named, {"default": 0, "orders": 4})
        status, out = s_check(named)
        check(status == 0, "--check exit %d:\n%s" % (status, out))
        for name in ("default", "orders"):
            check("[%s] log: " % name in out,
                  "log %s not checked:\n%s" % (name, out))
        check("2 clean" in out, "summary missing:\n%s" % out)
        # A flipped bit in a record of orders' first segment.
        segment = sorted(glob.glob(os.path.join(named, "logs", "orders",
                                                "*.log")))[0]
        with open(segment, "r+b") as f:
            f.seek(60)
            byte = f.read(1)
            f.seek(60)
            f.write(bytes([byte[0] ^ 0x10]))
        status, out = s_check(named)
        check(status == 1, "damage not reported, exit %d:\n%s" % (status, out))
        check("[orders] damage: " in out, "damage not named:\n%s" % out)
        check("[default] damage" not in out, "default blamed:\n%s" % out)
        check("orders (damage)" in out, "summary misses it:\n%s" % out)


def test_check_of_an_interrupted_upgrade_says_to_start_the_node():
    with Cluster(1, BINARY) as c:
        data, _ = s_node_of_today(c, 5)
        os.makedirs(os.path.join(data, "logs.new", "default"))
        os.rename(os.path.join(data, "raftlog.id"),
                  os.path.join(data, "logs.new", "default", "raftlog.id"))
        status, out = s_check(data)
        check(status == 1, "exit %d:\n%s" % (status, out))
        check("interrupted" in out and "start the node once" in out,
              "no advice:\n%s" % out)


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:], {"--binary": "BINARY"}))

#!/usr/bin/python3
"""A node that lost its data catches up again from the same leader.

What docs/STORAGE.md tells an operator to do with a corrupt data
directory (move it away and start the node empty), and what a segment
cut short does (the node restarts with a warning, a few entries short):
in both cases the leader holds a match index above what the follower now
has, and must believe the follower and resend, from the log or by
snapshot, without an election.

usage: test_recovery.py --binary PATH/raftlog-node TEST
       test_recovery.py --list
"""
import glob
import os
import struct
import sys

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, check, run_tests, wait_for  # noqa: E402

BINARY = None


def s_follower(c, leader):
    return next(i for i in c.nodes if i != leader)


def s_caught_up(c, i, last):
    status = c.status(i) or {}
    return status.get("last", 0) >= last and status.get("commit", 0) >= last


def s_assert_same_leader(c, leader, term):
    status = c.status(leader)
    check(status["role"] == "leader" and status["term"] == term,
          "leadership moved: %r (was node %d, term %d)" %
          (status, leader, term))


def test_a_follower_restarted_with_an_empty_data_directory_catches_up():
    with Cluster(3, BINARY) as c:
        c.start_all()
        leader = c.wait_leader()
        for k in range(20):
            reply = c.append([b"entry %d" % k])
        term = c.status(leader)["term"]
        f = s_follower(c, leader)
        wait_for(lambda: s_caught_up(c, f, reply["last"]), 10,
                 "node %d to have every entry" % f)
        c.stop(f)
        os.rename(c.nodes[f].data_dir, c.nodes[f].data_dir + ".moved")
        c.start(f)
        wait_for(lambda: s_caught_up(c, f, reply["last"]), 15,
                 "node %d, started empty, to catch up" % f)
        s_assert_same_leader(c, leader, term)
        entries = c.read_all(f)
        check([e[1] for e in entries] == [b"entry %d" % k for k in range(20)],
              "node %d serves %r" % (f, entries))


def s_default_log(data_dir):
    """The default log's directory: DATA/logs/default (named logs,
    docs/STORAGE.md; a single-log DATA is moved there at start)."""
    return os.path.join(data_dir, "logs", "default")


def s_cut_last_record(data_dir):
    """Cuts the newest segment in the middle of its last record (the
    record layout of docs/STORAGE.md); returns the index it held."""
    segment = sorted(glob.glob(os.path.join(data_dir, "*.log")))[-1]
    with open(segment, "rb") as f:
        data = f.read()
    offset, last = 32, None
    while offset + 8 <= len(data):
        length = struct.unpack_from("<I", data, offset + 4)[0]
        if length == 0 or offset + 8 + length > len(data):
            break
        last = (offset, length, struct.unpack_from("<Q", data, offset + 8)[0])
        offset += 8 + length
    check(last is not None, "no record in %s" % segment)
    start, length, index = last
    with open(segment, "r+b") as f:
        f.truncate(start + 8 + length // 2)
    return index


def test_a_follower_whose_last_record_was_cut_gets_it_again():
    with Cluster(3, BINARY) as c:
        c.start_all()
        leader = c.wait_leader()
        for k in range(10):
            reply = c.append([b"entry %d" % k])
        term = c.status(leader)["term"]
        f = s_follower(c, leader)
        wait_for(lambda: s_caught_up(c, f, reply["last"]), 10,
                 "node %d to have every entry" % f)
        c.stop(f)
        cut = s_cut_last_record(s_default_log(c.nodes[f].data_dir))
        check(cut == reply["last"], "cut index %d, last %d" %
              (cut, reply["last"]))
        c.start(f)
        wait_for(lambda: (c.status(f) or {}).get("last", 0) >= cut - 1, 10,
                 "node %d to restart" % f)
        wait_for(lambda: s_caught_up(c, f, reply["last"]), 15,
                 "node %d to get index %d again" % (f, cut))
        s_assert_same_leader(c, leader, term)


def s_crc32c(data):
    """CRC32C (Castagnoli), as docs/STORAGE.md uses it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def s_legacy_snapshot(path, members):
    """Rewrites a snapshot file's configuration in the layout of data
    written before the node stored it in the core's own encoding: an
    encoded MEMBERS_OK client message (docs/STORAGE.md, `snapshot`)."""
    with open(path, "rb") as f:
        data = f.read()
    magic, version, last, term, csize, ssize = struct.unpack_from(
        "<4sIQQQQ", data)
    check(magic == b"RLSN" and data[40:44] == b"RLC1",
          "unexpected snapshot layout in %s" % path)
    state = data[40 + csize:40 + csize + ssize]
    config = msgpack.packb({"version": 1, "type": 68, "members": [
        {"id": m["id"], "voter": m["voter"], "peer": m["peer"],
         "client": m["client"]} for m in members]})
    body = struct.pack("<4sIQQQQ", magic, version, last, term, len(config),
                       len(state)) + config + state
    with open(path, "wb") as f:
        f.write(body + struct.pack("<I", s_crc32c(body)))


def test_a_snapshot_written_before_the_core_encoding_of_members_is_read():
    with Cluster(3, BINARY, extra=["--segment-size", "1M", "--max-entry",
                                   "64K", "--retention", "2M"]) as c:
        c.start_all()
        leader = c.wait_leader()
        for k in range(0, 1280, 16):
            last = c.append([b"%06d" % j + b"r" * 3994
                             for j in range(k, k + 16)])["last"]
        wait_for(lambda: os.path.exists(os.path.join(
            s_default_log(c.nodes[leader].data_dir), "snapshot")), 10,
            "a snapshot")
        members = c.request(leader, {"type": 36, "op": "list"})["members"]
        c.stop(leader)
        s_legacy_snapshot(os.path.join(s_default_log(c.nodes[leader].data_dir),
                                       "snapshot"),
                          members)
        c.start(leader)
        wait_for(lambda: (c.status(leader) or {}).get("last", 0) >= last, 10,
                 "node %d to restart on the older snapshot" % leader)
        status = c.status(leader)
        check(sorted(m["id"] for m in status["members"]) == [1, 2, 3],
              "members after the restart: %r" % status["members"])
        c.append([b"after"])


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:], {"--binary": "BINARY"}))

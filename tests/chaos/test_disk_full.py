#!/usr/bin/python3
"""Disk full: a 3-node cluster whose data directories share a small tmpfs.

    test_disk_full.py --binary PATH

1. Under the --min-free threshold, the cluster refuses appends with a
   clear NO_SPACE error before the disk is really full.
2. With no threshold, the disk really fills: writes fail with ENOSPC, the
   nodes roll them back, clients get errors (never a false success), and
   no node exits.
3. When space returns, appends succeed again, and every acknowledged entry
   is in every node's log exactly once, at its index.

Needs root to mount the tmpfs; without it the test is skipped (exit 77).
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import (APPEND, APPEND_OK, ERROR, Cluster,  # noqa: E402
                     TestFailure, check, wait_for)

NO_SPACE = 9
SKIP = 77


def fill(path, leave_bytes):
    """Writes a filler file leaving about leave_bytes free on path's file
    system; returns the filler's path."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    filler = os.path.join(path, "filler")
    with open(filler, "ab") as f:
        chunk = b"\0" * (1 << 20)
        left = free - leave_bytes
        while left > 0:
            try:
                f.write(chunk[:min(left, len(chunk))])
                f.flush()
            except OSError:
                break
            left -= len(chunk)
    return filler


def try_append(c, data):
    """One attempt through whoever leads; the reply or None."""
    leader = c.leader()
    if leader is None:
        return None
    return c.request(leader, {"type": APPEND, "entries": [data]}, timeout=3)


def run(binary, disk):
    acked = {}

    def append_ok(data):
        reply = c.append([data], timeout=20)
        acked[data] = reply["first"]

    c = Cluster(3, binary, extra=["--segment-size", "1M", "--max-entry", "256K",
                                  "--min-free", "6M"])
    for n in c.nodes.values():
        n.data_dir = os.path.join(disk, "node%d" % n.id)
    try:
        c.start_all()
        c.wait_leader()
        for k in range(20):
            append_ok(b"before-%d" % k)

        # 1. Under the threshold: NO_SPACE, clearly, before ENOSPC.
        filler = fill(disk, 3 << 20)
        reply = wait_for(
            lambda: (lambda r: r if r and r["type"] == ERROR and
                     r["code"] == NO_SPACE else None)(
                try_append(c, b"refused")),
            20, "appends to be refused with NO_SPACE")
        check("free" in reply["message"],
              "NO_SPACE without a useful message: %r" % reply)
        os.unlink(filler)
        wait_for(lambda: (try_append(c, b"x") or {}).get("type") ==
                 APPEND_OK, 20, "appends to resume after space returned")
        for k in range(5):
            append_ok(b"middle-%d" % k)
        for i in c.nodes:
            c.stop(i)

        # 2. No threshold: the disk really fills.
        c.args += ["--min-free", "0"]
        c.start_all()
        c.wait_leader()
        filler = fill(disk, 64 << 10)
        errors = 0
        for k in range(40):
            reply = try_append(c, b"y%d" % k + b"y" * 100000)
            if reply is None or reply["type"] != APPEND_OK:
                errors += 1
            else:
                acked[b"y%d" % k + b"y" * 100000] = reply["first"]
        check(errors > 0, "a full disk never refused an append")
        for i in c.nodes:
            check(c.alive(i), "node %d exited on a full disk" % i)

        # 3. Space returns: the cluster works again, nothing acked is lost.
        os.unlink(filler)
        c.wait_leader(timeout=30)
        for k in range(5):
            append_ok(b"after-%d" % k)
        last = max(acked.values())
        for i in c.nodes:
            c.wait_commit(i, last, timeout=20)
            log = dict((data, index) for index, data in c.read_all(i))
            for data, index in acked.items():
                check(log.get(data) == index,
                      "node %d: acked %r at %d, log has %r"
                      % (i, data[:20], index, log.get(data)))
    except TestFailure:
        c.dump_logs()
        raise
    finally:
        c.close()


def main(argv):
    if len(argv) != 3 or argv[1] != "--binary":
        print(__doc__)
        return 2
    disk = os.path.join("/tmp", "raftlog-disk-full-%d" % os.getpid())
    os.makedirs(disk)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m",
                              "tmpfs", disk], capture_output=True)
    if mounted.returncode != 0:
        os.rmdir(disk)
        print("skipped: cannot mount a tmpfs (needs root): %s"
              % mounted.stderr.decode().strip())
        return SKIP
    try:
        run(os.path.abspath(argv[2]), disk)
    except TestFailure as failure:
        print("FAILED:", failure)
        return 1
    finally:
        subprocess.run(["umount", "-l", disk])
        os.rmdir(disk)
    print("passed: disk full")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
"""produce_lines.py FILE - append each line of FILE to raftlog.

Lines go in batches of 100; each batch is appended at most once even when
a leader changes mid-way (raftlog.Client is an idempotent producer). The
cluster is $RAFTLOG_ENDPOINTS, or the local one of scripts/run.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from raftlog import Client, RaftlogError  # noqa: E402


def main(path):
    with Client() as log, open(path, "rb") as lines:
        batch, first, count = [], None, 0
        for line in lines:
            batch.append(line.rstrip(b"\n"))
            if len(batch) == 100:
                start, last = log.append(batch)
                first, count, batch = first or start, count + len(batch), []
        if batch:
            start, last = log.append(batch)
            first, count = first or start, count + len(batch)
        if count:
            print("appended %d lines at indexes %d..%d" % (count, first, last))
        else:
            print("%s holds no lines" % path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip())
    try:
        main(sys.argv[1])
    except (RaftlogError, OSError) as e:
        sys.exit("produce_lines: %s" % e)

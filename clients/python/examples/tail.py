#!/usr/bin/python3
"""tail.py [--from N] [--no-follow] - print raftlog's entries as they commit.

Prints "INDEX: DATA" per entry, from index N (default: the oldest kept),
and keeps waiting for new ones unless --no-follow. The cluster is
$RAFTLOG_ENDPOINTS, or the local one of scripts/run.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from raftlog import Client, RaftlogError  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description="print raftlog entries")
    parser.add_argument("--from", dest="start", type=int, default=None)
    parser.add_argument("--no-follow", action="store_true")
    args = parser.parse_args()
    with Client() as log:
        for index, data in log.tail(args.start, follow=not args.no_follow):
            print("%d: %s" % (index, data.decode(errors="replace")),
                  flush=True)


if __name__ == "__main__":
    try:
        main()
    except RaftlogError as e:
        sys.exit("tail: %s" % e)
    except KeyboardInterrupt:
        sys.exit(130)

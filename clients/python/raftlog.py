#!/usr/bin/python3
"""raftlog.py - a small raftlog client, written from docs/PROTOCOL.md alone.

Needs only Debian's python3-zmq and python3-msgpack. Also a worked example
of talking to raftlog from any language: every request is one msgpack map
over a ZeroMQ REQ socket, sent again (on a fresh socket, to the next node)
when no reply comes in time -- the "Lazy Pirate" pattern.

    from raftlog import Client
    log = Client("tcp://127.0.0.1:7101,tcp://127.0.0.1:7102")
    first, last = log.append([b"hello", b"world"])
    for index, data in log.tail(start=1, follow=False):
        print(index, data)
    print(log.status()["role"])

Endpoints default to $RAFTLOG_ENDPOINTS, then the local cluster of
scripts/run. Errors raise RaftlogError (.code, .name, .message).
"""
import os
import random
import time

import msgpack
import zmq

DEFAULT_ENDPOINTS = \
    "tcp://127.0.0.1:7101,tcp://127.0.0.1:7102,tcp://127.0.0.1:7103"

APPEND, READ, STATUS = 33, 34, 35                  # request types
APPEND_OK, READ_OK, STATUS_OK = 65, 66, 67         # their replies
NOT_LEADER, ERROR = 96, 97
OUT_OF_RANGE = 3
RETRY_HERE = {4: "TIMEOUT", 8: "BUSY", 10: "NO_LEADER"}
RETRY_ELSEWHERE = {5: "SHUTTING_DOWN", 9: "NO_SPACE", 14: "INTERNAL"}
NAMES = {1: "BAD_REQUEST", 2: "TOO_LARGE", 3: "OUT_OF_RANGE",
         6: "UNSUPPORTED_VERSION", 7: "UNKNOWN_TYPE", 11: "REJECTED",
         12: "STALE_SEQUENCE", 13: "WRONG_CLUSTER", 100: "UNAVAILABLE",
         **RETRY_HERE, **RETRY_ELSEWHERE}
UNAVAILABLE = 100                                   # the client gave up


def _text(value):
    """Byte fields arrive as msgpack bin (bytes); show them as str."""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


class RaftlogError(Exception):
    """The cluster refused a request, or no node answered (UNAVAILABLE)."""

    def __init__(self, code, message, first=None):
        super().__init__("%s: %s" % (NAMES.get(code, code), message))
        self.code, self.name = code, NAMES.get(code, str(code))
        self.message, self.first = message, first


class Client:
    def __init__(self, endpoints=None, timeout=6.0, connect_timeout=1.0,
                 retries=10, producer=None):
        endpoints = (endpoints or os.environ.get("RAFTLOG_ENDPOINTS")
                     or DEFAULT_ENDPOINTS)
        if isinstance(endpoints, str):
            endpoints = endpoints.replace(",", " ").split()
        self.endpoints = list(endpoints)
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.retries = retries
        # Idempotent producer: a random id; each batch gets the next seq,
        # and every retry of a batch resends the same id, seq and entries.
        self.producer = producer or random.getrandbits(64) or 1
        self.seq = 0
        self.context = zmq.Context()
        self.socket = None
        self.current = 0
        self.request_id = 0

    def close(self):
        self._drop_socket()
        self.context.term()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the public calls --

    def append(self, entries):
        """Appends a batch (a list of bytes or str; or one of them) at most
        once; returns (first, last) indexes once a majority has it."""
        if isinstance(entries, (bytes, str)):
            entries = [entries]
        entries = [e.encode() if isinstance(e, str) else bytes(e)
                   for e in entries]
        self.seq += 1
        reply = self._call({"type": APPEND, "entries": entries,
                            "producer": self.producer, "seq": self.seq},
                           APPEND_OK)
        return reply["first"], reply["last"]

    def read(self, start, max_entries=0, wait=0.0):
        """Committed entries from index start, waiting up to wait seconds
        for one: ([(index, data)], next). Always continue from next."""
        reply = self._read(start, max_entries, wait)
        return [(i, d) for i, d in reply["entries"]], reply["next"]

    def _read(self, start, max_entries, wait):
        return self._call({"type": READ, "from": start,
                           "max_entries": max_entries,
                           "wait_ms": int(wait * 1000)}, READ_OK, wait)

    def tail(self, start=None, follow=True, wait=5.0):
        """Yields (index, data) in order from start (None: the oldest kept;
        "end": only new ones), across leader changes and node losses, with
        no gap or repeat: it always continues from the reply's `next`.
        Without follow it stops once caught up."""
        if start == "end":
            start = self.status()["commit"] + 1
        position = start or 1
        while True:
            try:
                reply = self._read(position, 0, wait if follow else 0.0)
            except RaftlogError as e:
                if e.code == OUT_OF_RANGE and start is None and e.first:
                    position = e.first      # the oldest entries are gone
                    continue
                raise
            for index, data in reply["entries"]:
                yield index, data
            position = reply["next"]
            if not (follow or reply["entries"]) and position > reply["commit"]:
                return

    def status(self, endpoint=None):
        """STATUS of any node (or once of the one at endpoint), as a dict
        (PROTOCOL.md: node, role, term, leader, commit, last, members...)."""
        saved = self.endpoints, self.current, self.retries
        if endpoint is not None:
            self._drop_socket()
            self.endpoints, self.current, self.retries = [endpoint], 0, 0
        try:
            reply = self._call({"type": STATUS}, STATUS_OK)
        finally:
            if endpoint is not None:
                self._drop_socket()
                self.endpoints, self.current, self.retries = saved
        reply["role"] = _text(reply["role"])
        for member in reply["members"]:
            for key in ("peer", "client"):
                member[key] = _text(member.get(key, ""))
        return reply

    # -- Lazy Pirate --

    def _drop_socket(self):
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None

    def _next_endpoint(self):
        self._drop_socket()
        self.current = (self.current + 1) % len(self.endpoints)

    def _exchange(self, payload, timeout):
        """One attempt: the decoded reply, or None (the socket is then
        closed: a REQ socket that missed its reply cannot be reused)."""
        if self.socket is None:
            self.socket = self.context.socket(zmq.REQ)
            self.socket.setsockopt(zmq.LINGER, 0)
            self.socket.setsockopt(zmq.IMMEDIATE, 1)  # writable once connected
            self.socket.connect(self.endpoints[self.current])
        if self.socket.poll(int(self.connect_timeout * 1000), zmq.POLLOUT):
            self.socket.send(payload)
            if self.socket.poll(int(timeout * 1000)):
                reply = msgpack.unpackb(self.socket.recv())
                if isinstance(reply, dict) and \
                        reply.get("id") == self.request_id:
                    return reply
        self._drop_socket()
        return None

    def _call(self, request, expect, extra_wait=0.0):
        self.request_id += 1
        request.update(version=1, id=self.request_id)
        payload = msgpack.packb(request)
        pause, why = 0.05, ""
        for attempt in range(self.retries + 1):
            endpoint = self.endpoints[self.current]
            reply = self._exchange(payload, self.timeout + extra_wait)
            kind = reply and reply.get("type")
            if kind == expect:
                return reply
            if reply is None:
                why = "no reply from %s" % endpoint
                self._next_endpoint()
            elif kind == NOT_LEADER and reply.get("endpoint"):
                leader = _text(reply["endpoint"])
                if leader not in self.endpoints:
                    self.endpoints.append(leader)
                self._drop_socket()
                self.current = self.endpoints.index(leader)
                continue                       # straight there, no pause
            elif kind == NOT_LEADER:
                why = "%s knows no leader yet" % endpoint
                self._next_endpoint()
            elif kind == ERROR:
                code, text = reply["code"], _text(reply["message"])
                why = "%s: %s" % (NAMES.get(code, code), text)
                if code in RETRY_ELSEWHERE:
                    self._next_endpoint()
                elif code not in RETRY_HERE:
                    raise RaftlogError(code, text, reply.get("first"))
            else:
                why = "%s sent an unexpected reply %r" % (endpoint, kind)
                self._next_endpoint()
            if attempt < self.retries:
                time.sleep(pause)
                pause = min(2 * pause, 1.0)
        raise RaftlogError(UNAVAILABLE, "gave up after %d attempts; last: %s"
                           % (self.retries + 1, why))

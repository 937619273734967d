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
scripts/run. Errors raise RaftlogError (.code, .name, .message, and
.unknown: whether a failed request may have taken effect all the same).

Behaves as the C library does: following a NOT_LEADER redirect is not a
retry; a socket monitor sees a refused connection at once, so a client
that has never reached any endpoint fails fast when nothing listens; and
Client(progress=callable) hears of every retry that waits.
"""
import os
import random
import time

import msgpack
import zmq
from zmq.utils.monitor import recv_monitor_message

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
# Answers that leave a request's outcome open: it may have been done.
OUTCOME_UNKNOWN = {4, 5, 9, 10, 14}  # TIMEOUT, SHUTTING_DOWN, NO_SPACE,
#                                      NO_LEADER (a broker's), INTERNAL
MAX_REDIRECTS = 4                    # in a row, before one counts as a retry


def _text(value):
    """Byte fields arrive as msgpack bin (bytes); show them as str."""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


class RaftlogError(Exception):
    """The cluster refused a request, or no node answered (UNAVAILABLE).
    unknown: the request may have taken effect all the same (it was sent
    and got no answer, or an answer such as TIMEOUT); for an append, the
    batch may be in the log. False: it certainly was not done."""

    def __init__(self, code, message, first=None, unknown=False):
        super().__init__("%s: %s" % (NAMES.get(code, code), message))
        self.code, self.name = code, NAMES.get(code, str(code))
        self.message, self.first, self.unknown = message, first, unknown


class Client:
    def __init__(self, endpoints=None, timeout=6.0, connect_timeout=1.0,
                 retries=10, producer=None, progress=None):
        endpoints = (endpoints or os.environ.get("RAFTLOG_ENDPOINTS")
                     or DEFAULT_ENDPOINTS)
        if isinstance(endpoints, str):
            endpoints = endpoints.replace(",", " ").split()
        self.endpoints = list(endpoints)
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.retries = retries
        # progress(message) hears of each retry that waits, e.g. "no reply
        # from tcp://...:7101 within 6.0 s; retrying (2/10) on ...".
        self.progress = progress
        self.answered = False      # some endpoint has ever answered
        # Idempotent producer: a random id; each batch gets the next seq,
        # and every retry of a batch resends the same id, seq and entries.
        self.producer = producer or random.getrandbits(64) or 1
        self.seq = 0
        self.context = zmq.Context()
        self.socket = None
        self.monitor = None
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
            if self.monitor is not None:
                self.socket.disable_monitor()
                self.monitor.close(linger=0)
                self.monitor = None
            self.socket.close(linger=0)
            self.socket = None

    def _next_endpoint(self):
        self._drop_socket()
        self.current = (self.current + 1) % len(self.endpoints)

    def _exchange(self, payload, timeout):
        """One attempt: (reply, outcome, sent). outcome is None when the
        reply came, else what happened ("nothing listens at ...", "no
        reply from ..."). On failure the socket is closed: a REQ socket
        that missed its reply cannot be reused."""
        endpoint = self.endpoints[self.current]
        if self.socket is None:
            self.socket = self.context.socket(zmq.REQ)
            self.socket.setsockopt(zmq.LINGER, 0)
            self.socket.setsockopt(zmq.IMMEDIATE, 1)  # writable once connected
            # The monitor reports a refused connection at once, and a lost
            # one while the reply is awaited.
            self.monitor = self.socket.get_monitor_socket(
                zmq.EVENT_CONNECT_RETRIED | zmq.EVENT_DISCONNECTED)
            self.socket.connect(endpoint)
        else:
            # Events queued by an earlier call (a node that restarted and
            # reconnected since) say nothing about this attempt.
            while self.monitor.poll(0):
                recv_monitor_message(self.monitor)
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLOUT)
        poller.register(self.monitor, zmq.POLLIN)
        deadline = time.monotonic() + self.connect_timeout
        sent, why = False, "no connection to %s within %.1f s" % (
            endpoint, self.connect_timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready = dict(poller.poll(int(left * 1000) + 1))
            if not sent and ready.get(self.socket, 0) & zmq.POLLOUT:
                self.socket.send(payload)
                sent, deadline = True, time.monotonic() + timeout
                why = "no reply from %s within %.1f s" % (endpoint, timeout)
                poller.modify(self.socket, zmq.POLLIN)
            elif sent and ready.get(self.socket, 0) & zmq.POLLIN:
                reply = msgpack.unpackb(self.socket.recv())
                if isinstance(reply, dict) and \
                        reply.get("id") == self.request_id:
                    return reply, None, True
                why = "%s sent a reply to another request" % endpoint
                break
            if self.monitor in ready:
                event = recv_monitor_message(self.monitor)["event"]
                if not sent and event == zmq.EVENT_CONNECT_RETRIED:
                    self._drop_socket()
                    return None, "nothing listens at %s (connection " \
                        "refused)" % endpoint, False
                if sent and event == zmq.EVENT_DISCONNECTED:
                    # A reply may still be on its way: a moment more.
                    why = "%s closed the connection before replying" % endpoint
                    deadline = min(deadline, time.monotonic() + 0.1)
        self._drop_socket()
        return None, why, sent

    def _call(self, request, expect, extra_wait=0.0):
        self.request_id += 1
        request.update(version=1, id=self.request_id)
        payload = msgpack.packb(request)
        pause, why, hint = 0.05, "", ""
        failed, redirects, unknown, all_refused = 0, 0, False, True
        reached = ""
        while True:
            endpoint = self.endpoints[self.current]
            reply, why, sent = self._exchange(payload,
                                              self.timeout + extra_wait)
            kind = reply and reply.get("type")
            move, refused, hint = True, why is not None and not sent and \
                why.startswith("nothing listens"), ""
            if reply is not None:
                self.answered = True
            if kind == expect:
                return reply
            if reply is None:
                unknown = unknown or sent
                hint = "" if refused else (
                    " (is that the client endpoint of a node or broker, not "
                    "a node's peer endpoint?)" if sent else
                    " (is a node running there, and reachable from here?)")
            elif kind == NOT_LEADER and reply.get("endpoint"):
                leader = _text(reply["endpoint"])
                if leader not in self.endpoints:
                    self.endpoints.append(leader)
                if self.endpoints.index(leader) != self.current and \
                        redirects < MAX_REDIRECTS:
                    self._drop_socket()
                    self.current = self.endpoints.index(leader)
                    redirects += 1
                    continue           # straight there: not a retry
                why = "%s redirects to %s, after %d redirects in a row" % (
                    endpoint, leader, redirects)
            elif kind == NOT_LEADER:
                why = "%s is not the leader and knows no leader yet" % endpoint
                hint = " (a majority of the voting members must be running " \
                    "and connected to elect a leader)"
            elif kind == ERROR:
                code, text = reply["code"], _text(reply["message"])
                why = "%s (%s): %s" % (endpoint, NAMES.get(code, code), text)
                unknown = unknown or code in OUTCOME_UNKNOWN
                if code in RETRY_HERE:
                    move = False
                elif code not in RETRY_ELSEWHERE:
                    raise RaftlogError(code, text, reply.get("first"), unknown)
            else:
                why = "%s sent an unexpected reply %r" % (endpoint, kind)
                unknown = True
            all_refused = all_refused and refused
            if sent or reply is not None:
                reached = why + hint   # tells more than a refusal
            failed, redirects = failed + 1, 0
            if failed > self.retries:
                break
            if move:
                self._next_endpoint()
            if refused and not self.answered:
                continue               # nothing listens: fail fast
            if self.progress:
                self.progress("%s; retrying (%d/%d) on %s in %d ms" % (
                    why, failed, self.retries, self.endpoints[self.current],
                    pause * 1000))
            time.sleep(pause)
            pause = min(2 * pause, 1.0)
        if all_refused:
            raise RaftlogError(UNAVAILABLE, "gave up after %d attempts: nothing "
                               "listens at %s (connection refused); is the "
                               "cluster running, and are these its client "
                               "endpoints?" % (failed,
                                               ", ".join(self.endpoints)),
                               unknown=unknown)
        if reached and not reached.startswith(why):
            hint = "; before that: " + reached
        raise RaftlogError(UNAVAILABLE, "gave up after %d attempts; last: %s%s"
                           % (failed, why, hint), unknown=unknown)

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

Entry times and durable consumers: read(..., times=True) and
tail(..., times=True) give (index, data, time) with each entry's time (ms
since the Unix epoch, 0: written before timestamps); they start at a time
(from_time=MS, or tail's since=SECONDS) or after a durable consumer's
committed position (consumer=NAME); commit(NAME, index) commits one;
consumers(), consumer(NAME), reset_consumer(NAME, index=|time=) and
delete_consumer(NAME) do the rest (PROTOCOL.md, CONSUMER_COMMIT and
CONSUMERS_REQUEST).

Named logs: a cluster holds many logs, each with its own leader; one
called "default" always exists. Client(log="orders") makes every request
concern that log (appends, reads, tails, status, consumers; sent as the
request's `log`, which a client without a log never sends). logs(),
create_log(NAME, ...), configure_log(NAME, ...) and delete_log(NAME)
manage them (PROTOCOL.md, LOGS_REQUEST). A request about a log that does
not exist raises RaftlogError NOT_FOUND.

Endpoints default to $RAFTLOG_ENDPOINTS, then the local cluster of
scripts/run. Errors raise RaftlogError (.code, .name, .message, and
.unknown: whether a failed request may have taken effect all the same).

Behaves as the C library does: following a NOT_LEADER redirect is not a
retry; a socket monitor sees a refused connection at once, so a client
that has never reached any endpoint fails fast when nothing listens; and
Client(progress=callable) hears of every retry that waits.

Security: Client(key=PATH, server_key=PATH), or $RAFTLOG_KEY and
$RAFTLOG_SERVER_KEY, makes every connection CURVE: key is this client's
certificate (the NAME_secret file of `raftlog keygen NAME`), server_key
the server's public certificate (czmq's zcert files, which
zmq.auth.load_certificate reads). A server that refuses the key, or a
CURVE handshake that fails, raises RaftlogError AUTH at once (the socket
monitor sees it); a request the key's role may not make raises FORBIDDEN.
"""
import os
import random
import re
import time

import msgpack
import zmq
import zmq.auth
from zmq.utils import z85
from zmq.utils.monitor import recv_monitor_message

DEFAULT_ENDPOINTS = \
    "tcp://127.0.0.1:7101,tcp://127.0.0.1:7102,tcp://127.0.0.1:7103"

APPEND, READ, STATUS = 33, 34, 35                  # request types
CONSUMER_COMMIT, CONSUMERS, LOGS = 38, 39, 40
APPEND_OK, READ_OK, STATUS_OK = 65, 66, 67         # their replies
CONSUMERS_OK, LOGS_OK = 70, 71
DEFAULT_LOG = "default"
LOG_NAME = re.compile(r"(?!\.\.?\Z)[a-z0-9._-]{1,64}\Z")  # a log's name
NOT_LEADER, ERROR = 96, 97
OUT_OF_RANGE, NOT_FOUND = 3, 16
RETRY_HERE = {4: "TIMEOUT", 8: "BUSY", 10: "NO_LEADER"}
RETRY_ELSEWHERE = {5: "SHUTTING_DOWN", 9: "NO_SPACE", 14: "INTERNAL"}
NAMES = {1: "BAD_REQUEST", 2: "TOO_LARGE", 3: "OUT_OF_RANGE",
         6: "UNSUPPORTED_VERSION", 7: "UNKNOWN_TYPE", 11: "REJECTED",
         12: "STALE_SEQUENCE", 13: "WRONG_CLUSTER", 15: "FORBIDDEN",
         16: "NOT_FOUND", 100: "UNAVAILABLE", 105: "AUTH", **RETRY_HERE,
         **RETRY_ELSEWHERE}
UNAVAILABLE = 100                                   # the client gave up
AUTH = 105                   # the server refused our key, or the CURVE
#                              handshake failed
HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
# Answers that leave a request's outcome open: it may have been done.
OUTCOME_UNKNOWN = {4, 5, 9, 10, 14}  # TIMEOUT, SHUTTING_DOWN, NO_SPACE,
#                                      NO_LEADER (a broker's), INTERNAL
MAX_REDIRECTS = 4                    # in a row, before one counts as a retry


def _text(value):
    """Byte fields arrive as msgpack bin (bytes); show them as str."""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _entries(reply, times):
    """A READ_OK's entries, with their times when asked (0 when the node
    sent none: a version before timestamps)."""
    if not times:
        return [(i, d) for i, d in reply["entries"]]
    stamps = reply.get("times") or [0] * len(reply["entries"])
    return [(i, d, t) for (i, d), t in zip(reply["entries"], stamps)]


def _log(item):
    """A log of LOGS_OK (or of STATUS_OK's `logs`) with its names as str."""
    log = dict(item)
    for key in ("name", "role"):
        if key in log:
            log[key] = _text(log[key])
    return log


def _position(reply, name):
    """The position of name in a CONSUMERS_OK (0 when it is not there)."""
    for c in reply["consumers"]:
        if _text(c["name"]) == name:
            return c["index"]
    return 0


class RaftlogError(Exception):
    """The cluster refused a request, or no node answered (UNAVAILABLE).
    unknown: the request may have taken effect all the same (it was sent
    and got no answer, or an answer such as TIMEOUT); for an append, the
    batch may be in the log. False: it certainly was not done."""

    def __init__(self, code, message, first=None, unknown=False,
                 first_time=None):
        super().__init__("%s: %s" % (NAMES.get(code, code), message))
        self.code, self.name = code, NAMES.get(code, str(code))
        self.message, self.first, self.unknown = message, first, unknown
        # OUT_OF_RANGE: where the retained log starts, and that entry's time
        self.first_time = first_time


def _load_key(path, what, secret):
    """(public, secret) of the zcert file at path, both Z85 bytes; raises
    ValueError saying what is wrong with it."""
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as e:
        raise ValueError("%s %s: %s" % (what, path, e)) from None
    def valid(key):
        try:
            return key is not None and len(key) == 40 and \
                len(z85.decode(key)) == 32
        except (ValueError, KeyError, TypeError):
            return False
    if not valid(public):
        raise ValueError("%s %s is not a CURVE certificate (czmq's zcert "
                         "format, as `raftlog keygen` writes it)"
                         % (what, path))
    if secret and not (valid(secret_key) and
                       z85.decode(secret_key) != bytes(32)):
        raise ValueError("%s %s holds no secret key: give the NAME_secret "
                         "file that `raftlog keygen NAME` wrote"
                         % (what, path))
    return public, secret_key


class Client:
    def __init__(self, endpoints=None, timeout=6.0, connect_timeout=1.0,
                 retries=10, producer=None, progress=None, key=None,
                 server_key=None, log=None):
        endpoints = (endpoints or os.environ.get("RAFTLOG_ENDPOINTS")
                     or DEFAULT_ENDPOINTS)
        if isinstance(endpoints, str):
            endpoints = endpoints.replace(",", " ").split()
        self.endpoints = list(endpoints)
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.retries = retries
        # The log every request concerns; None: the default log, whose
        # requests carry no `log` at all (as before named logs).
        if log is not None and not LOG_NAME.match(log):
            raise ValueError("log %r is not a log name: 1 to 64 characters "
                             "of a-z, 0-9, '.', '_' and '-'" % (log,))
        self.log = None if log in (None, DEFAULT_LOG) else log
        # progress(message) hears of each retry that waits, e.g. "no reply
        # from tcp://...:7101 within 6.0 s; retrying (2/10) on ...".
        self.progress = progress
        self.answered = False      # some endpoint has ever answered
        # Idempotent producer: a random id; each batch gets the next seq,
        # and every retry of a batch resends the same id, seq and entries.
        self.producer = producer or random.getrandbits(64) or 1
        self.seq = 0
        # CURVE: this client's certificate and the server's public one,
        # each from its argument, else its environment variable.
        names = ("key=" if key is not None else "$RAFTLOG_KEY",
                 "server_key=" if server_key is not None
                 else "$RAFTLOG_SERVER_KEY")
        key = key if key is not None else os.environ.get("RAFTLOG_KEY")
        server_key = server_key if server_key is not None else \
            os.environ.get("RAFTLOG_SERVER_KEY")
        # (public, secret, server public, key file, server key file)
        self.curve = None
        if bool(key) != bool(server_key):
            raise ValueError("%s gives this client's certificate and %s no "
                             "server's certificate: CURVE needs both" % (
                                 names if key else names[::-1]))
        if key:
            if not zmq.has("curve"):
                raise RuntimeError("this libzmq has no CURVE (built without "
                                   "libsodium): a client with keys needs one "
                                   "that has")
            public, secret = _load_key(key, "the client's certificate", True)
            server, _ = _load_key(server_key, "the server's certificate",
                                  False)
            self.curve = (public, secret, server, key, server_key)
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

    def read(self, start=None, max_entries=0, wait=0.0, from_time=None,
             consumer=None, times=False):
        """Committed entries from index start, or from the first entry
        stamped at or after from_time (ms since the Unix epoch), or after
        the durable consumer consumer's committed position (exactly one),
        waiting up to wait seconds for one: ([(index, data)], next), with
        times=True [(index, data, time)]. Always continue from next: with
        from_time, once an answer has entries (an empty one says nothing
        of where: ask again with the same from_time)."""
        reply = self._read(start, max_entries, wait, from_time, consumer)
        return _entries(reply, times), reply["next"]

    def _read(self, start, max_entries, wait, from_time=None, consumer=None):
        if sum(x is not None for x in (start, from_time, consumer)) != 1:
            raise ValueError("read from exactly one of start, from_time and "
                             "consumer")
        request = {"type": READ, "max_entries": max_entries,
                   "wait_ms": int(wait * 1000)}
        if start is not None:
            request["from"] = start
        elif from_time is not None:
            request["from_time"] = int(from_time)
        else:
            request["consumer"] = consumer
        return self._call(request, READ_OK, wait)

    def tail(self, start=None, follow=True, wait=5.0, since=None,
             from_time=None, consumer=None, times=False):
        """Yields (index, data) in order -- (index, data, time) with
        times=True -- from start (None: the oldest kept; "end": only new
        ones), or from since seconds ago, or from from_time (ms since the
        Unix epoch), or after the durable consumer consumer's committed
        position, across leader changes and node losses, with no gap or
        repeat: it always continues from the reply's `next`. Without
        follow it stops once caught up. It does not commit: call
        commit(consumer, index) once entries are processed."""
        if since is not None:
            from_time = max(1, int((time.time() - since) * 1000))
        if from_time is not None or consumer is not None:
            if start is not None:
                raise ValueError("start, since, from_time and consumer "
                                 "exclude each other")
        elif start == "end":
            start = self.status()["commit"] + 1
        position = None if from_time or consumer else (start or 1)
        while True:
            try:
                reply = self._read(position, 0, wait if follow else 0.0,
                                   from_time if position is None else None,
                                   consumer if position is None else None)
            except RaftlogError as e:
                if e.code == OUT_OF_RANGE and start is None and e.first and \
                        position is not None:
                    position = e.first      # the oldest entries are gone
                    continue
                raise
            for entry in _entries(reply, times):
                yield entry
            # A consumer's start is known from any answer; a time's only
            # from one with entries.
            if consumer is not None or reply["entries"]:
                position, consumer, from_time = reply["next"], None, None
            if not (follow or reply["entries"]) and \
                    (position is None or position > reply["commit"]):
                return

    # -- durable consumers (each answered by the leader once committed) --

    def commit(self, consumer, index):
        """Commits consumer's position: it has processed every entry up to
        and including index. Returns the position committed. Safe to send
        again with the same index."""
        reply = self._call({"type": CONSUMER_COMMIT, "consumer": consumer,
                            "index": index}, CONSUMERS_OK)
        return _position(reply, consumer)

    def consumers(self):
        """Every durable consumer: {"consumers": [{"name", "index"}, ...],
        "commit": the leader's commit index, "first": its first index}."""
        reply = self._call({"type": CONSUMERS, "op": "list"}, CONSUMERS_OK)
        return {"consumers": [{"name": _text(c["name"]), "index": c["index"]}
                              for c in reply["consumers"]],
                "commit": reply["commit"], "first": reply["first"]}

    def consumer(self, name):
        """One consumer: {"name", "index", "commit", "first"}; NOT_FOUND
        when it has no position."""
        reply = self._call({"type": CONSUMERS, "op": "show",
                            "consumer": name}, CONSUMERS_OK)
        return {"name": name, "index": _position(reply, name),
                "commit": reply["commit"], "first": reply["first"]}

    def reset_consumer(self, name, index=None, time=None):
        """Moves name's position to index (it resumes at index + 1), or so
        that it resumes at the first entry stamped at or after time (ms
        since the Unix epoch); an admin key's. Returns the new position."""
        if (index is None) == (time is None):
            raise ValueError("reset to an index or to a time (one of them)")
        request = {"type": CONSUMERS, "op": "reset", "consumer": name}
        if index is not None:
            request["index"] = index
        else:
            request["time"] = int(time)
        return _position(self._call(request, CONSUMERS_OK), name)

    def delete_consumer(self, name):
        """Forgets name (NOT_FOUND when it has none); an admin key's."""
        self._call({"type": CONSUMERS, "op": "delete", "consumer": name},
                   CONSUMERS_OK)

    # -- named logs (create, configure, delete: an admin key's, answered
    #    by the catalog's leader once committed; list by any node) --

    def logs(self):
        """Every log of the cluster: [{"name", "group", "retention_bytes",
        "retention_ms", "max_entry_bytes"}, ...], `default` included."""
        reply = self._call({"type": LOGS, "op": "list"}, LOGS_OK)
        return [_log(item) for item in reply["logs"]]

    def create_log(self, name, retention_bytes=0, retention_ms=0,
                   max_entry_bytes=0):
        """Creates the log called name (0: the default of each setting);
        returns it as logs() lists it. REJECTED when it exists."""
        return self._logs_one("create", name, retention_bytes, retention_ms,
                              max_entry_bytes)

    def configure_log(self, name, retention_bytes=None, retention_ms=None,
                      max_entry_bytes=None):
        """Changes the settings given (None: kept as they are; the protocol
        sets all three, so the others are read first) of the log called
        name; returns it. NOT_FOUND when there is none."""
        wanted = (retention_bytes, retention_ms, max_entry_bytes)
        if all(value is None for value in wanted):
            raise ValueError("configure_log(%r) changes nothing: give a "
                             "setting" % (name,))
        if any(value is None for value in wanted):
            now = next((log for log in self.logs() if log["name"] == name),
                       None)
            if now is None:
                raise RaftlogError(NOT_FOUND, "no log named %s: see "
                                   "Client.logs()" % name)
            wanted = tuple(now.get(key, 0) if value is None else value
                           for key, value in zip(
                               ("retention_bytes", "retention_ms",
                                "max_entry_bytes"), wanted))
        return self._logs_one("configure", name, *wanted)

    def delete_log(self, name):
        """Deletes the log called name and every entry in it, for good.
        NOT_FOUND when there is none; REJECTED for `default`."""
        self._check_log_name(name)
        self._call({"type": LOGS, "op": "delete", "name": name}, LOGS_OK)

    def _check_log_name(self, name):
        if not isinstance(name, str) or not LOG_NAME.match(name):
            raise ValueError("%r is not a log name: 1 to 64 characters of "
                             "a-z, 0-9, '.', '_' and '-'" % (name,))

    def _logs_one(self, op, name, retention_bytes, retention_ms,
                  max_entry_bytes):
        self._check_log_name(name)
        reply = self._call({"type": LOGS, "op": op, "name": name,
                            "retention_bytes": int(retention_bytes),
                            "retention_ms": int(retention_ms),
                            "max_entry_bytes": int(max_entry_bytes)},
                           LOGS_OK)
        logs = [_log(item) for item in reply["logs"]]
        if len(logs) != 1 or logs[0]["name"] != name:
            raise RaftlogError(UNAVAILABLE, "the answer to %s %s is about "
                               "%r" % (op, name, [l["name"] for l in logs]))
        return logs[0]

    def status(self, endpoint=None):
        """STATUS of any node (or once of the one at endpoint), as a dict
        (PROTOCOL.md: node, role, term, leader, commit, last, members...),
        of the client's log; "logs" lists every log that node hosts (only
        the client's log when it has one), each {"name", "group", "role",
        "leader", "term", "commit", "last", "first", "lag"} ([] from a node
        of before named logs)."""
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
        reply["logs"] = [_log(item) for item in reply.get("logs") or []]
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

    def _handshake_failed(self, endpoint, event, value):
        """What a failed handshake means: (why, kind). kind "auth": a
        refused key or CURVE on one side only, which no retry mends
        (RaftlogError AUTH); "handshake": libzmq gave no detail -- mostly
        a wrong server key, but a server closing the connection during the
        handshake (a mechanism mismatch it saw first, a server dying)
        looks the same: final only until a first answer."""
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH and self.curve:
            return ("the server at %s refused our key (%s, from %s): it is "
                    "not in the server's --keys directory, or was removed; "
                    "ask an operator to put our public certificate there"
                    % (endpoint, self.curve[0].decode(), self.curve[3]),
                    "auth")
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            return ("the server at %s refused us (ZAP status %d): it wants a "
                    "key this client does not have" % (endpoint, value),
                    "auth")
        mismatch = event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL and \
            value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
        if mismatch and self.curve:
            return ("%s does not use CURVE, and this client does (its key "
                    "is from %s): is that the right endpoint, and was its "
                    "server started with keys?" % (endpoint, self.curve[3]),
                    "auth")
        if mismatch:
            return ("%s requires CURVE, and this client has no key: give "
                    "it the client's certificate and the server's public "
                    "certificate (key= and server_key=, or $RAFTLOG_KEY and "
                    "$RAFTLOG_SERVER_KEY)" % endpoint, "auth")
        if self.curve:             # mostly a wrong server key
            return ("CURVE handshake with %s failed: is the server key (%s) "
                    "that server's public certificate, and does it use "
                    "CURVE?" % (endpoint, self.curve[4]), "handshake")
        return ("%s accepts connections but the ZeroMQ handshake failed: is "
                "it a raftlog node or broker, and does it require CURVE "
                "(then give this client keys)?" % endpoint, "handshake")

    def _exchange(self, payload, timeout):
        """One attempt: (reply, outcome, sent, failed). outcome is None
        when the reply came, else what happened ("nothing listens at ...",
        "no reply from ..."); failed: "auth" or "handshake" when the
        handshake failed (see _handshake_failed), else None. On failure
        the socket is closed: a REQ socket that missed its reply cannot be
        reused."""
        endpoint = self.endpoints[self.current]
        if self.socket is None:
            self.socket = self.context.socket(zmq.REQ)
            self.socket.setsockopt(zmq.LINGER, 0)
            self.socket.setsockopt(zmq.IMMEDIATE, 1)  # writable once connected
            if self.curve:         # before connecting: options apply then
                public, secret, server = self.curve[:3]
                self.socket.curve_publickey = public
                self.socket.curve_secretkey = secret
                self.socket.curve_serverkey = server
            # The monitor reports a refused connection at once, a lost
            # one while the reply is awaited, and a failed handshake.
            self.monitor = self.socket.get_monitor_socket(
                zmq.EVENT_CONNECT_RETRIED | zmq.EVENT_DISCONNECTED
                | HANDSHAKE_FAILED)
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
                    return reply, None, True, None
                why = "%s sent a reply to another request" % endpoint
                break
            if self.monitor in ready:
                message = recv_monitor_message(self.monitor)
                event = message["event"]
                if not sent and event == zmq.EVENT_CONNECT_RETRIED:
                    self._drop_socket()
                    return None, "nothing listens at %s (connection " \
                        "refused)" % endpoint, False, None
                if not sent and event & HANDSHAKE_FAILED:
                    self._drop_socket()
                    why, kind = self._handshake_failed(endpoint, event,
                                                       message["value"])
                    return None, why, False, kind
                if sent and event == zmq.EVENT_DISCONNECTED:
                    # A reply may still be on its way: a moment more.
                    why = "%s closed the connection before replying" % endpoint
                    deadline = min(deadline, time.monotonic() + 0.1)
        self._drop_socket()
        return None, why, sent, None

    def _call(self, request, expect, extra_wait=0.0):
        self.request_id += 1
        request.update(version=1, id=self.request_id)
        # The log it concerns (LOGS names its own; membership is the
        # cluster's): with none, no key at all.
        if self.log and request["type"] != LOGS:
            request["log"] = self.log
        want_log = request.get("log") or DEFAULT_LOG
        payload = msgpack.packb(request)
        pause, why, hint = 0.05, "", ""
        failed, redirects, unknown, all_refused = 0, 0, False, True
        reached = ""
        # Endpoints that refused the connection or our key since the last
        # answer, and the last refusal of our key: once every endpoint has
        # turned us away and one for our key, fail with AUTH at once.
        turned_away, key_refused = set(), None
        while True:
            endpoint = self.endpoints[self.current]
            reply, why, sent, failed_how = self._exchange(
                payload, self.timeout + extra_wait)
            # A handshake that failed without detail is final too until a
            # first answer; after one it may be a node dying, and retried.
            auth = failed_how == "auth" or (failed_how == "handshake"
                                           and not self.answered)
            kind = reply and reply.get("type")
            move, refused, hint = True, why is not None and not sent and \
                why.startswith("nothing listens"), ""
            if reply is not None:
                self.answered = True
                turned_away, key_refused = set(), None
            if kind == expect:
                return reply
            if refused or auth:
                turned_away.add(endpoint)
            if auth:
                key_refused = why
            if key_refused and turned_away >= set(self.endpoints):
                raise RaftlogError(AUTH, key_refused)
            if reply is None:
                unknown = unknown or sent
                hint = "" if refused or auth else (
                    " (is that the client endpoint of a node or broker, not "
                    "a node's peer endpoint?)" if sent else
                    " (is a node running there, and reachable from here?)")
            elif kind == NOT_LEADER and reply.get("log") and \
                    _text(reply["log"]) != want_log:
                # A node confused about the log: no redirect to follow.
                why = "%s answered NOT_LEADER about log %r to a request " \
                    "about log %r" % (endpoint, _text(reply["log"]), want_log)
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
                    if code == NOT_FOUND and not text:
                        text = "no log or consumer of the name given (log " \
                            "%r): see Client.logs()" % want_log
                    raise RaftlogError(code, text, reply.get("first"), unknown,
                                       reply.get("first_time"))
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
            if (refused and not self.answered) or auth:
                continue               # nothing listens, or our key was
                #                        refused: ask the others at once
            if self.progress:
                self.progress("%s; retrying (%d/%d) on %s in %d ms" % (
                    why, failed, self.retries, self.endpoints[self.current],
                    pause * 1000))
            time.sleep(pause)
            pause = min(2 * pause, 1.0)
        if key_refused:
            raise RaftlogError(AUTH, key_refused)
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

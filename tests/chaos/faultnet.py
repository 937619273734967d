#!/usr/bin/python3
"""A fault-injecting TCP proxy for the links between raftlog nodes.

Every directed link (node i sends to node j) gets its own listening port:
node i's DEALER toward j connects to the proxy, which forwards to j's real
peer endpoint. Peer messages are one-way (docs/PROTOCOL.md: a node sends
only on its DEALERs), so blocking link (i, j) cuts exactly the messages
from i to j: partitions of any shape, asymmetric ones included, are made
on the network and never by code inside the node.

A blocked link closes its connections and refuses new ones (ZeroMQ keeps
reconnecting, up to once a second); a healed link forwards again.

One thread runs every link with a selector; the test drives it with
block(), heal() and heal_all().
"""
import selectors
import socket
import threading


class _Link:
    def __init__(self, src, dst, target):
        self.src, self.dst, self.target = src, dst, target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.blocked = False
        self.pairs = []  # [client socket, upstream socket]


class FaultNet:
    def __init__(self):
        self.links = {}
        self.selector = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.pending = {}  # socket -> bytes not yet written
        self.peer_of = {}  # socket -> the socket it forwards to
        self.link_of = {}  # socket -> its link
        self.running = True
        self.thread = None

    def add_link(self, src, dst, target_port):
        """Creates the proxy for messages from src to dst; returns the
        endpoint src must use to reach dst."""
        link = _Link(src, dst, ("127.0.0.1", target_port))
        self.links[(src, dst)] = link
        self.selector.register(link.listener, selectors.EVENT_READ,
                               ("accept", link))
        return "tcp://127.0.0.1:%d" % link.port

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self):
        self.running = False
        if self.thread:
            self.thread.join(timeout=5)
        with self.lock:
            for link in self.links.values():
                self._close_link(link)
                self.selector.unregister(link.listener)
                link.listener.close()

    # -- faults --

    def block(self, src, dst):
        with self.lock:
            link = self.links[(src, dst)]
            link.blocked = True
            self._close_link(link)

    def heal(self, src, dst):
        with self.lock:
            self.links[(src, dst)].blocked = False

    def heal_all(self):
        with self.lock:
            for link in self.links.values():
                link.blocked = False

    def blocked(self):
        return sorted(k for k, link in self.links.items() if link.blocked)

    # -- the forwarding loop --

    def _close_link(self, link):
        for pair in link.pairs:
            for s in pair:
                self._drop(s)
        link.pairs = []

    def _drop(self, s):
        try:
            self.selector.unregister(s)
        except (KeyError, ValueError):
            pass
        self.pending.pop(s, None)
        self.peer_of.pop(s, None)
        self.link_of.pop(s, None)
        s.close()

    def _close_pair(self, s):
        link = self.link_of.get(s)
        other = self.peer_of.get(s)
        self._drop(s)
        if other is not None:
            self._drop(other)
        if link is not None:
            link.pairs = [p for p in link.pairs if s not in p]

    def _accept(self, link):
        try:
            client, _ = link.listener.accept()
        except BlockingIOError:
            return
        if link.blocked:
            client.close()
            return
        upstream = socket.socket()
        upstream.setblocking(False)
        try:
            upstream.connect(link.target)
        except BlockingIOError:
            pass
        except OSError:
            client.close()
            upstream.close()
            return
        client.setblocking(False)
        for s, other in ((client, upstream), (upstream, client)):
            self.peer_of[s] = other
            self.link_of[s] = link
            self.pending[s] = b""
            self.selector.register(s, selectors.EVENT_READ, ("data", link))
        link.pairs.append([client, upstream])

    def _forward(self, s):
        other = self.peer_of.get(s)
        if other is None:
            return
        try:
            data = s.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close_pair(s)
            return
        buffered = self.pending.get(other, b"") + data
        try:
            sent = other.send(buffered)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close_pair(s)
            return
        self.pending[other] = buffered[sent:]
        if self.pending[other]:
            self.selector.modify(other, selectors.EVENT_READ |
                                 selectors.EVENT_WRITE, ("data", None))

    def _flush(self, s):
        data = self.pending.get(s, b"")
        try:
            sent = s.send(data) if data else 0
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close_pair(s)
            return
        self.pending[s] = data[sent:]
        if not self.pending[s]:
            self.selector.modify(s, selectors.EVENT_READ, ("data", None))

    def _run(self):
        while self.running:
            with self.lock:
                events = self.selector.select(timeout=0.05)
                for key, mask in events:
                    kind, link = key.data
                    if kind == "accept":
                        self._accept(link)
                        continue
                    if key.fileobj not in self.peer_of:
                        continue
                    if mask & selectors.EVENT_WRITE:
                        self._flush(key.fileobj)
                    if mask & selectors.EVENT_READ and \
                            key.fileobj in self.peer_of:
                        self._forward(key.fileobj)

#!/usr/bin/python3
"""Integration tests of the monitoring port and the live view (issue 18):
/metrics scraped during load from real 3-node clusters, parsed strictly
(a malformed line fails the test), its counters checked against the
appends made; the leader-changes counter after a kill; /readyz on a node
left with a minority; the port's answers and bounds; `raftlog top` in
one-shot, JSON and terminal mode.

    test_metrics.py --node PATH --cli PATH --broker PATH TEST
    test_metrics.py --list

Every process is stopped by PID (the nodes by the harness); every wait
is a condition with a deadline.
"""
import http.client
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import threading
import time

import msgpack
import zmq

from harness import (APPEND, APPEND_OK, ERROR, Cluster, TestFailure, check,
                     free_ports, run_tests, wait_for)

NODE = CLI = BROKER = None


# ---- The Prometheus text format, read strictly ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
LABEL_VALUE = r'"((?:[^"\\\n]|\\[\\"n])*)"'
FLOAT = r"[+-]?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf)|NaN"
SAMPLE = re.compile(r"^(%s)(?:\{(.*)\})? (%s)(?: -?\d+)?$" % (NAME, FLOAT))
LABEL = re.compile(r"(%s)=%s(,|$)" % (LABEL_NAME, LABEL_VALUE))
HELP = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$"
                  % NAME)


def unescape(value):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n"
                  else m.group(1), value)


def parse_labels(text, where):
    labels, at = {}, 0
    while at < len(text):
        m = LABEL.match(text, at)
        if not m:
            raise TestFailure("%s: malformed labels at %r" % (where,
                                                                text[at:]))
        if m.group(1) in labels:
            raise TestFailure("%s: label %s twice" % (where, m.group(1)))
        labels[m.group(1)] = unescape(m.group(2))
        at = m.end()
    return labels


def parse_exposition(text):
    """Parses text format 0.0.4 as Prometheus would, failing on anything
    malformed: a bad line, a sample before its family's TYPE, a family
    whose samples are not together, a series given twice, a histogram
    whose buckets are not cumulative up to +Inf == _count. Returns
    ({(name, ((label, value), ...)): float}, {family: type})."""
    check(text.endswith("\n"), "the exposition does not end with a newline")
    samples, types, helps = {}, {}, set()
    current, closed = None, set()
    for number, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d %r" % (number, line)
        if line.startswith("#"):
            m = HELP.match(line) or TYPE.match(line)
            if line.startswith("# HELP "):
                check(m is not None, "%s: malformed HELP" % where)
                check(m.group(1) not in helps, "%s: HELP twice" % where)
                helps.add(m.group(1))
                family = m.group(1)
            elif line.startswith("# TYPE "):
                check(m is not None, "%s: malformed TYPE" % where)
                check(m.group(1) not in types, "%s: TYPE twice" % where)
                types[m.group(1)] = m.group(2)
                family = m.group(1)
            else:
                continue  # a comment
            if family != current:
                check(family not in closed,
                      "%s: family %s comes back after another" % (where,
                                                                   family))
                if current:
                    closed.add(current)
                current = family
            continue
        m = SAMPLE.match(line)
        check(m is not None, "%s: malformed sample" % where)
        name, label_text, value = m.groups()
        family = name
        if current and types.get(current) == "histogram" and \
                name in (current + "_bucket", current + "_sum",
                         current + "_count"):
            family = current
        check(family == current and family in types,
              "%s: sample outside its family's TYPE (current %s)"
              % (where, current))
        labels = parse_labels(label_text or "", where)
        key = (name, tuple(sorted(labels.items())))
        check(key not in samples, "%s: series given twice" % where)
        samples[key] = float(value)
        if types[family] == "counter":
            check(name.endswith("_total") and samples[key] >= 0,
                  "%s: a counter must end in _total and be >= 0" % where)
    for family, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for (name, labels), value in samples.items():
            if name == family + "_bucket":
                rest = tuple(kv for kv in labels if kv[0] != "le")
                le = dict(labels)["le"]
                series.setdefault(rest, []).append(
                    (float("inf") if le == "+Inf" else float(le), value))
        check(series, "histogram %s has no buckets" % family)
        for rest, buckets in series.items():
            counts = [v for _, v in sorted(buckets)]
            check(counts == sorted(counts),
                  "histogram %s%r: buckets not cumulative" % (family, rest))
            check(sorted(buckets)[-1][0] == float("inf"),
                  "histogram %s%r: no +Inf bucket" % (family, rest))
            check(samples.get((family + "_count", rest)) == counts[-1],
                  "histogram %s%r: +Inf != _count" % (family, rest))
            check((family + "_sum", rest) in samples,
                  "histogram %s%r: no _sum" % (family, rest))
    return samples, types


def value(samples, name, **labels):
    """The value of one series (labels given as keywords, plus any the
    series has that are not given must not exist), or None."""
    want = tuple(sorted((k, str(v)) for k, v in labels.items()))
    return samples.get((name, want))


# ---- A cluster with the port on ----

class MetricsCluster(Cluster):
    def __init__(self, size, **kw):
        super().__init__(size, NODE, **kw)
        self.http_ports = dict(zip(self.nodes, free_ports(size)))

    def start(self, i, extra=()):
        super().start(i, ["--metrics-endpoint",
                          "127.0.0.1:%d" % self.http_ports[i]] + list(extra))

    def get(self, i, path, method="GET", timeout=5.0):
        """(status, body text) of an HTTP request to node i's port."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.http_ports[i], timeout=timeout)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def scrape(self, i):
        status, text = self.get(i, "/metrics")
        check(status == 200, "node %d /metrics: %d %s" % (i, status, text))
        return parse_exposition(text)[0]

    def wait_port(self, i):
        def up():
            try:
                return self.get(i, "/metrics", timeout=1.0)[0] == 200
            except OSError:
                return False
        wait_for(up, 20, "node %d's metrics port" % i)


class Load:
    """Appends from a thread through one DEALER to the leader, `depth`
    requests in flight, until `requests` were sent and answered. Counts
    the APPEND_OKs and the entries they acknowledged."""

    def __init__(self, c, endpoint, requests, depth=16):
        self.socket = c.socket(zmq.DEALER)  # with c's keys under CURVE
        self.socket.connect(endpoint)
        self.requests, self.depth = requests, depth
        self.ok = self.entries = self.errors = 0
        self.failure = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _send(self, n):
        batch = [b"entry-%d-%d" % (n, k) for k in range(1 + n % 4)]
        self.batches[n] = len(batch)
        self.socket.send_multipart([b"", msgpack.packb(
            {"version": 1, "type": APPEND, "id": n, "entries": batch})])

    def _run(self):
        try:
            self.batches, sent, answered = {}, 0, 0
            while sent < min(self.depth, self.requests):
                sent += 1
                self._send(sent)
            deadline = time.monotonic() + 60
            while answered < self.requests and time.monotonic() < deadline:
                if not self.socket.poll(1000):
                    continue
                reply = msgpack.unpackb(self.socket.recv_multipart()[-1])
                answered += 1
                if reply["type"] == APPEND_OK:
                    self.ok += 1
                    self.entries += self.batches[reply["id"]]
                else:
                    self.errors += 1
                if sent < self.requests:
                    sent += 1
                    self._send(sent)
            if answered < self.requests:
                self.failure = "only %d of %d appends answered" % (
                    answered, self.requests)
        except Exception as e:  # reported by the test
            self.failure = repr(e)

    def join(self):
        self.thread.join(90)
        self.socket.close()
        check(self.failure is None, "load: %s" % self.failure)


# ---- /metrics ----

def test_scrapes_during_load_parse_and_count_every_append():
    with MetricsCluster(3) as c:
        c.start_all()
        leader = c.wait_leader()
        for i in c.nodes:
            c.wait_port(i)
        before = {i: c.scrape(i) for i in c.nodes}
        for i in c.nodes:
            check(value(before[i], "raftlog_appended_entries_total",
                        node=i) == 0, "a fresh node counts appends")
        load = Load(c, c.nodes[leader].client, 3000)
        scrapes, last = 0, dict(before)
        while load.thread.is_alive():
            for i in c.nodes:
                now = c.scrape(i)
                scrapes += 1
                # Counters never go back between two scrapes.
                for key, v in now.items():
                    if key[0].endswith(("_total", "_count")) and \
                            key in last[i]:
                        check(v >= last[i][key], "node %d: %s went from %s "
                              "to %s" % (i, key, last[i][key], v))
                last[i] = now
        load.join()
        check(load.errors == 0 and load.ok == 3000,
              "load: %d ok, %d errors" % (load.ok, load.errors))
        check(scrapes >= 6, "only %d scrapes during the load" % scrapes)

        # The page is at most 500 ms old: wait for it to show the end.
        def settled():
            s = c.scrape(leader)
            return s if value(s, "raftlog_append_latency_seconds_count",
                              node=leader) == load.ok else None
        s = wait_for(settled, 10, "the leader's page to count every append")
        check(value(s, "raftlog_appended_entries_total", node=leader)
              == load.entries,
              "appended entries %s, made %d" % (
                  value(s, "raftlog_appended_entries_total", node=leader),
                  load.entries))
        check(value(s, "raftlog_append_requests_total", node=leader)
              == load.ok, "append requests != %d" % load.ok)
        check(value(s, "raftlog_appended_bytes_total", node=leader)
              == sum(len(b"entry-%d-%d" % (n, k))
                     for n in range(1, 3001) for k in range(1 + n % 4)),
              "appended bytes differ")
        check(value(s, "raftlog_role", node=leader, role="leader") == 1
              and value(s, "raftlog_role", node=leader,
                        role="follower") == 0, "the leader's role")
        check(value(s, "raftlog_commit_index", node=leader) >= load.entries
              and value(s, "raftlog_fsyncs_total", node=leader) > 0
              and value(s, "raftlog_fsync_latency_seconds_count",
                        node=leader) > 0
              and value(s, "raftlog_log_segments", node=leader) >= 1
              and value(s, "raftlog_log_bytes", node=leader) > 0
              and value(s, "raftlog_disk_free_bytes", node=leader) > 0,
              "indexes, fsyncs, segments or disk not reported")
        for peer in c.nodes:
            if peer != leader:
                check(value(s, "raftlog_peer_lag_entries", node=leader,
                            peer=peer) is not None
                      and value(s, "raftlog_peer_last_contact_seconds",
                                node=leader, peer=peer) < 1.0,
                      "no lag or contact for peer %d" % peer)
        for i in c.nodes:
            if i != leader:
                f = c.scrape(i)
                check(value(f, "raftlog_appended_entries_total", node=i) == 0
                      and value(f, "raftlog_role", node=i,
                                role="follower") == 1
                      and value(f, "raftlog_leader_id", node=i) == leader,
                      "follower %d's figures" % i)


def test_the_leader_changes_counter_increases_after_a_kill():
    with MetricsCluster(3) as c:
        c.start_all()
        old = c.wait_leader()
        for i in c.nodes:
            c.wait_port(i)
        survivors = [i for i in c.nodes if i != old]

        def changes(i):
            return value(c.scrape(i), "raftlog_leader_changes_total", node=i)
        before = {i: wait_for(lambda i=i: changes(i), 10, "a leader known")
                  for i in survivors}
        term = value(c.scrape(survivors[0]), "raftlog_term",
                     node=survivors[0])
        c.kill(old)
        new = c.wait_leader(among=survivors)
        for i in survivors:
            wait_for(lambda i=i: changes(i) > before[i], 10,
                     "node %d's leader changes to rise past %d"
                     % (i, before[i]))
            s = c.scrape(i)
            check(value(s, "raftlog_term", node=i) > term
                  and value(s, "raftlog_leader_id", node=i) in (new, 0),
                  "node %d: term or leader did not move" % i)
        wait_for(lambda: value(c.scrape(new), "raftlog_role", node=new,
                               role="leader") == 1, 10, "the new leader")


def test_readiness_goes_false_on_a_minority_node():
    with MetricsCluster(3) as c:
        c.start_all()
        c.wait_leader()
        for i in c.nodes:
            wait_for(lambda i=i: c.get(i, "/readyz")[0] == 200, 20,
                     "node %d ready" % i)
            status, body = c.get(i, "/readyz")
            check(body.startswith("ready: "), "ready body: %r" % body)
        survivor = 3
        c.kill(1)
        c.kill(2)
        status, body = wait_for(
            lambda: (lambda r: r if r[0] == 503 else None)(
                c.get(survivor, "/readyz")),
            10, "the node left alone to become unready")
        check(body.startswith("not ready: ") and body.endswith("\n")
              and body.count("\n") == 1, "unready body: %r" % body)
        check(c.get(survivor, "/healthz") == (200, "ok\n"),
              "a node with a minority is still alive")
        check(value(c.scrape(survivor), "raftlog_ready", node=survivor) == 0,
              "raftlog_ready stays 1")
        # A majority again: ready again.
        c.start(2)
        wait_for(lambda: c.get(survivor, "/readyz")[0] == 200, 30,
                 "readiness to come back with a majority")
        # A stop begins: unready at once, while still answering.
        c.nodes[survivor].proc.send_signal(signal.SIGTERM)
        c.nodes[survivor].proc.wait(timeout=30)


def test_the_port_answers_only_what_it_serves_and_counts_errors():
    with MetricsCluster(1, extra=["--max-batch", "4"]) as c:
        c.start_all()
        c.wait_leader()
        c.wait_port(1)
        check(c.get(1, "/healthz") == (200, "ok\n"), "healthz")
        status, body = c.get(1, "/nothing")
        check(status == 404 and "/metrics, /healthz and /readyz" in body,
              "unknown path: %d %r" % (status, body))
        check(c.get(1, "/metrics", method="POST")[0] == 405, "POST")
        check(c.get(1, "/metrics", method="HEAD") == (200, ""), "HEAD")
        # Errors by code: a batch over this node's --max-batch.
        reply = c.request(1, {"type": APPEND, "entries": [b"x"] * 5})
        check(reply["type"] == ERROR and reply["code"] == 2, repr(reply))
        wait_for(lambda: value(c.scrape(1), "raftlog_errors_total", node=1,
                               code="TOO_LARGE") == 1, 5,
                 "TOO_LARGE counted")
        s = c.scrape(1)
        check(value(s, "raftlog_errors_total", node=1, code="BUSY") == 0
              and value(s, "raftlog_metrics_requests_total", node=1) > 0
              and value(s, "process_open_fds", node=1) > 0,
              "error codes, requests or process figures missing")
    # A malformed endpoint is a configuration error (exit 2).
    port = free_ports(2)
    result = subprocess.run(
        [NODE, "--id", "1", "--data", "/nonexistent/never-made",
         "--member", "1=tcp://127.0.0.1:%d,tcp://127.0.0.1:%d" % tuple(port),
         "--metrics-endpoint", "127.0.0.1:notaport"],
        capture_output=True, text=True, timeout=30)
    check(result.returncode == 2 and "metrics endpoint" in result.stderr
          and "not a number" in result.stderr,
          "a bad endpoint: %d %r" % (result.returncode, result.stderr))


def test_a_port_in_use_stops_start_up():
    holder = __import__("socket").socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        with Cluster(1, NODE) as c:
            c.start(1, ["--metrics-endpoint",
                        "127.0.0.1:%d" % holder.getsockname()[1]])
            status = c.nodes[1].proc.wait(timeout=30)
            with open(c.nodes[1].log_path) as f:
                log = f.read()
            check(status == 1 and "cannot listen on 127.0.0.1:" in log
                  and "Address already in use" in log,
                  "exit %d, log %r" % (status, log))
    finally:
        holder.close()


# ---- The broker ----

def test_the_broker_exports_its_view_of_the_nodes_and_readiness():
    with MetricsCluster(3) as c:
        c.start_all()
        leader = c.wait_leader()
        front, http_port = free_ports(2)
        broker = subprocess.Popen(
            [BROKER, "--endpoint", "tcp://127.0.0.1:%d" % front,
             "--nodes", endpoints(c), "--heartbeat", "50",
             "--metrics-endpoint", "127.0.0.1:%d" % http_port]
            + c.broker_args(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def get(path):
                connection = http.client.HTTPConnection(
                    "127.0.0.1", http_port, timeout=5)
                try:
                    connection.request("GET", path)
                    r = connection.getresponse()
                    return r.status, r.read().decode()
                except OSError:
                    return None, ""
                finally:
                    connection.close()

            def scrape():
                status, text = get("/metrics")
                check(status == 200, "broker /metrics: %r" % status)
                return parse_exposition(text)[0]
            status, body = wait_for(
                lambda: (lambda r: r if r[0] == 200 else None)(
                    get("/readyz")), 20, "the broker ready")
            check(body.startswith("ready: node %d leads" % leader),
                  "broker ready: %r" % body)
            sock = c.socket(zmq.REQ)
            sock.connect("tcp://127.0.0.1:%d" % front)
            for n in range(5):
                sock.send(msgpack.packb({"version": 1, "type": APPEND,
                                         "id": n + 1, "entries": [b"b"]}))
                check(sock.poll(10000), "no reply through the broker")
                check(msgpack.unpackb(sock.recv())["type"] == APPEND_OK,
                      "append through the broker")
            sock.close()
            s = wait_for(lambda: (lambda s: s if value(
                s, "raftlog_broker_requests_total") >= 5 else None)(scrape()),
                10, "the broker's page to count the appends")
            check(value(s, "raftlog_broker_nodes_alive") == 3
                  and value(s, "raftlog_broker_leader_id") == leader
                  and value(s, "raftlog_broker_ready") == 1
                  and value(s, "raftlog_broker_errors_total",
                            code="TIMEOUT") == 0,
                  "the broker's view")
            for i, n in c.nodes.items():
                check(value(s, "raftlog_broker_node_up", endpoint=n.client,
                            node=i) == 1, "node %d up" % i)
            changes = value(s, "raftlog_broker_leader_changes_total")
            c.kill(leader)
            wait_for(lambda: value(
                scrape(), "raftlog_broker_leader_changes_total") > changes
                and value(scrape(), "raftlog_broker_nodes_alive") == 2,
                20, "the broker to see the leader go")
        finally:
            broker.send_signal(signal.SIGTERM)
            check(broker.wait(timeout=30) == 0, "the broker's exit status")


# ---- raftlog top ----

TOP_ROW = re.compile(r"^(\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)"
                     r"\s+(\S+)\s*$")


def top_rows(text):
    """The member rows of top's table: id -> (role, term, commit, lag,
    appends/s, fsync p99, contact)."""
    rows = {}
    for line in text.splitlines():
        m = TOP_ROW.match(line)
        if m:
            rows[int(m.group(1))] = m.groups()[1:]
    return rows


def endpoints(c):
    return ",".join(n.client for n in c.nodes.values())


def test_top_prints_every_member_once_when_not_on_a_terminal():
    with MetricsCluster(3) as c:
        c.start_all()
        leader = c.wait_leader()
        load = Load(c, c.nodes[leader].client, 4000, depth=4)
        result = subprocess.run([CLI, "--cluster", endpoints(c), "top"],
                                capture_output=True, text=True, timeout=60)
        load.join()
        out = result.stdout
        check(result.returncode == 0, "top exit %d: %s %s" % (
            result.returncode, out, result.stderr))
        check("\x1b[" not in out, "terminal escapes in a pipe: %r" % out)
        rows = top_rows(out)
        check(sorted(rows) == [1, 2, 3], "rows %r in:\n%s" % (rows, out))
        check(rows[leader][0] == "leader" and all(
            rows[i][0] == "follower" for i in rows if i != leader),
            "roles:\n%s" % out)
        terms = {rows[i][1] for i in rows}
        check(len(terms) == 1, "terms differ:\n%s" % out)
        rate = rows[leader][4]
        check(re.fullmatch(r"\d+", rate) and int(rate) > 0,
              "the leader's appends/s under load: %r\n%s" % (rate, out))
        check(all(rows[i][4] == "0" for i in rows if i != leader),
              "followers append nothing:\n%s" % out)
        check(re.fullmatch(r"\d+\.\d\dms", rows[leader][5]),
              "fsync p99 %r" % rows[leader][5])
        check("leader: node %d" % leader in out.splitlines()[0],
              "header: %r" % out.splitlines()[0])


def test_top_json_gives_one_object_with_rates():
    with MetricsCluster(3) as c:
        c.start_all()
        leader = c.wait_leader()
        c.append([b"a", b"b"])
        c.kill(2 if leader != 2 else 3)
        result = subprocess.run(
            [CLI, "--cluster", endpoints(c), "--connect-timeout", "300",
             "top", "--json", "--once", "--interval", "200"],
            capture_output=True, text=True, timeout=60)
        check(result.returncode == 0, "exit %d %s" % (result.returncode,
                                                      result.stderr))
        lines = result.stdout.splitlines()
        check(len(lines) == 1, "one line of JSON: %r" % result.stdout)
        o = json.loads(lines[0])
        check(o["leader"] == leader and o["interval_ms"] == 200
              and len(o["members"]) == 3, "object: %r" % o)
        dead = [m for m in o["members"] if not m["reachable"]]
        check(len(dead) == 1 and "error" in dead[0], "dead: %r" % dead)
        live = {m["id"]: m for m in o["members"] if m["reachable"]}
        check(live[leader]["role"] == "leader"
              and live[leader]["appends_per_second"] == 0
              and isinstance(live[leader]["fsync_p99_ms"], float),
              "leader row: %r" % live[leader])


def test_top_on_a_terminal_refreshes_in_place_and_quits_on_q():
    with MetricsCluster(3) as c:
        c.start_all()
        c.wait_leader()
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(CLI, [CLI, "--cluster", endpoints(c), "top",
                           "--interval", "200"])
        output = b""
        try:
            def refreshed():
                nonlocal output
                if select.select([fd], [], [], 0.1)[0]:
                    try:
                        output += os.read(fd, 65536)
                    except OSError:
                        pass
                return output.count(b"\x1b[H") >= 3
            wait_for(refreshed, 20, "three refreshes")
            os.write(fd, b"q")
            deadline = time.monotonic() + 10
            status = None
            while time.monotonic() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                refreshed()
            check(done == pid, "top did not quit on q")
            pid = None
            check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
                  "exit status %r" % status)
            text = output.decode(errors="replace")
            check("\x1b[?1049h" in text and "\x1b[?1049l" in text,
                  "no alternate screen entered and left")
            check("q or Ctrl-C quits" in text, "no hint")
            check(len(top_rows(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "",
                                      text.split("\x1b[H")[-1]))) == 3,
                  "the last screen lacks rows: %r" % text[-2000:])
        finally:
            if pid:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:],
                       {"--node": "NODE", "--cli": "CLI",
                        "--broker": "BROKER"}))

#!/usr/bin/python3
"""Integration tests of the raftlog command line as a new user meets it
(issue 13, "What a new user trips over"): quick and clear failures,
progress while a request is retried, outcomes said only when known, tail
past the end, status and health without a quorum, which endpoints are
used, oversized input, one error prefix, and JSON on every command.

They run against real 3-node clusters on 127.0.0.1, and
against stand-in servers (StandIn) that answer as a test needs: not at
all, with an error, or with a hostile STATUS.

    test_cli.py --node PATH --cli PATH --readme FILE TEST
    test_cli.py --list

Every process a test starts is stopped by PID (the nodes by the
harness); every wait is a condition with a deadline.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import time

import zmq

from harness import Cluster, check, free_ports, run_tests, wait_for
from test_clients import Background, StandIn

NODE = CLI = README = None
EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_REJECTED = 2, 3, 4
STATUS_OK, NOT_LEADER, ERROR = 67, 96, 97
ERR_BAD_REQUEST, ERR_TIMEOUT = 1, 4


# ---- helpers ----

def endpoints(c, order=None):
    return ",".join(c.nodes[i].client for i in (order or c.nodes))


def run(args, stdin=b"", timeout=60, env=None):
    """Runs the command line to completion: (exit status, stdout bytes,
    stderr text, seconds taken)."""
    started = time.monotonic()
    p = subprocess.Popen([CLI] + list(args), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env)
    try:
        out, err = p.communicate(stdin, timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return (p.returncode, out, err.decode(errors="replace"),
            time.monotonic() - started)


def cli(c, *args, stdin=b"", cluster=None, env=None):
    return run(["--cluster", cluster or endpoints(c)] + list(args), stdin,
               env=env)


def dead_endpoint():
    return "tcp://127.0.0.1:%d" % free_ports(1)[0]


def status_ok(node, members, role=b"leader"):
    """A STATUS_OK from node `node` listing members [(id, client)]."""
    return {"type": STATUS_OK, "node": node, "role": role, "term": 1,
            "leader": node, "commit": 0, "last": 0, "first": 1,
            "members": [{"id": i, "voter": True, "peer": b"tcp://127.0.0.1:1",
                         "client": e.encode(), "match": 0,
                         "last_contact_ms": -1} for i, e in members]}


def one_line(err):
    return err.count("\n") == 1


# ---- 2. no long silent waits ----

def test_fails_at_once_when_nothing_listens_and_says_what_to_check():
    dead = dead_endpoint()
    # Default retries and timeouts: 11 attempts, each refused at once.
    rc, out, err, took = run(["--cluster", dead, "status"])
    check(rc == EXIT_UNAVAILABLE and one_line(err)
          and "nothing listens at %s (connection refused)" % dead in err
          and "is the cluster running" in err
          and "(endpoints from --cluster)" in err,
          "nothing listening: exit %d, %r" % (rc, err))
    # The old client waited 17.6 s here, a connect timeout per attempt; a
    # refusal now ends an attempt at once. Generous: not a speed goal.
    check(took < 10, "giving up took %.1f s" % took)
    rc, out, err, took = run(["--broker=%s" % dead, "append", "x"])
    check(rc == EXIT_UNAVAILABLE and "(endpoints from --broker)" in err
          and "which was not appended" in err,
          "no broker: exit %d, %r" % (rc, err))


def test_shows_progress_while_a_server_does_not_answer():
    context = zmq.Context()
    try:
        with StandIn(context, lambda request: None) as silent:
            rc, out, err, took = run(["--cluster", silent.endpoint,
                                      "--timeout", "300", "--retries", "2",
                                      "status"])
        lines = err.splitlines()
        check(rc == EXIT_UNAVAILABLE and len(lines) == 3,
              "exit %d, stderr %r" % (rc, err))
        for k in (1, 2):
            check(lines[k - 1].startswith(
                "raftlog: status: no reply from %s within 300 ms; retrying "
                "(%d/2)" % (silent.endpoint, k)),
                "progress line %d: %r" % (k, lines[k - 1]))
        check("gave up after 3 attempts" in lines[2]
              and "not a node's peer endpoint" in lines[2],
              "final line says nothing to check: %r" % lines[2])
        # A node's peer port, given by mistake: whether the node answers
        # with an error that says so, or not at all, the user reads
        # "peer".
        with StandIn(context, lambda request: {
                "type": ERROR, "code": ERR_BAD_REQUEST,
                "message": b"this is the peer endpoint of node 1, not its "
                           b"client endpoint (tcp://127.0.0.1:7101)"}) as peer:
            rc, out, err, took = run(["--cluster", peer.endpoint, "status"])
        check(rc == EXIT_REJECTED and one_line(err) and err ==
              "raftlog: status: BAD_REQUEST: this is the peer endpoint of "
              "node 1, not its client endpoint (tcp://127.0.0.1:7101)\n",
              "the node's own message was not shown as it is: %r" % err)
    finally:
        context.destroy(linger=0)


def test_given_a_peer_port_says_so():
    # Without CURVE the node answers that this is its peer port. With
    # CURVE (below) the client cannot complete a handshake with a peer
    # port (it has the front door's key, not the node's): it fails at
    # once, saying the handshake failed.
    with Cluster(3, NODE, curve=False) as c:
        c.start_all()
        c.wait_leader()
        rc, out, err, took = run(["--cluster", c.nodes[1].peer, "--timeout",
                                  "500", "--retries", "1", "status"])
        check(rc != 0 and "peer" in err.splitlines()[-1],
              "a peer port: exit %d, %r" % (rc, err))
    with Cluster(3, NODE, curve=True) as c:
        c.start_all()
        c.wait_leader()
        rc, out, err, took = run(["--cluster", c.nodes[1].peer, "--timeout",
                                  "500", "--retries", "1", "status"])
        check(rc == EXIT_REJECTED and one_line(err) and
              "handshake" in err and took < 5,
              "a peer port with CURVE: exit %d, %r (%.1f s)"
              % (rc, err, took))


def test_append_without_a_quorum_shows_progress_and_what_to_check():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        for i in c.nodes:
            if i != leader:
                c.kill(i)
        rc, out, err, took = run(["--cluster", c.nodes[leader].client,
                                  "--retries", "1", "append", "lonely"])
        lines = err.splitlines()
        # The leader answers TIMEOUT (not committed in time), or, once it
        # has stepped down, "not the leader, no leader known": either way
        # the user learns what is being retried and what to check.
        check(rc == EXIT_UNAVAILABLE and len(lines) == 2
              and "retrying (1/1) on %s" % c.nodes[leader].client in lines[0]
              and "a majority of the voting members must be running"
              in lines[1], "no quorum: exit %d, %r" % (rc, err))
        check(("whose outcome is unknown" in lines[1]) ==
              ("TIMEOUT" in err), "outcome: %r" % err)


# ---- 3. "outcome unknown" only when it is; a redirect is not a retry ----

def test_says_outcome_unknown_only_when_it_is():
    context = zmq.Context()
    try:
        # Never sent: nothing listens.
        rc, out, err, took = run(["--cluster", dead_endpoint(), "append",
                                  "x"])
        check(rc == EXIT_UNAVAILABLE and "which was not appended" in err
              and "unknown" not in err, "never sent: %r" % err)
        # Answered "not the leader, and no leader known": not appended.
        with StandIn(context, lambda r: {"type": NOT_LEADER,
                                         "leader": 0}) as follower:
            rc, out, err, took = run(["--cluster", follower.endpoint,
                                      "--retries", "1", "append", "x"])
        check(rc == EXIT_UNAVAILABLE and "which was not appended" in err
              and "knows no leader" in err and "unknown" not in err,
              "NOT_LEADER without a leader: %r" % err)
        # Sent, and no reply: unknown.
        with StandIn(context, lambda r: None) as silent:
            rc, out, err, took = run(["--cluster", silent.endpoint,
                                      "--timeout", "300", "--retries", "0",
                                      "append", "x"])
        check(rc == EXIT_UNAVAILABLE and "whose outcome is unknown" in err,
              "no reply: %r" % err)
        # Answered TIMEOUT: unknown.
        with StandIn(context, lambda r: {
                "type": ERROR, "code": ERR_TIMEOUT,
                "message": b"not committed in time"}) as slow:
            rc, out, err, took = run(["--cluster", slow.endpoint,
                                      "--retries", "0", "append", "x"])
        check(rc == EXIT_UNAVAILABLE and "whose outcome is unknown" in err,
              "TIMEOUT: %r" % err)
    finally:
        context.destroy(linger=0)


def test_follows_a_redirect_to_the_leader_with_no_retries():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        follower = next(i for i in c.nodes if i != leader)
        rc, out, err, took = cli(c, "--retries", "0", "append", "redirected",
                                 cluster=c.nodes[follower].client)
        check(rc == 0 and err == "", "--retries 0 through a follower: exit "
              "%d, %r" % (rc, err))
        index = int(out)
        c.wait_commit(leader, index)
        check((index, b"redirected") in c.read_all(leader),
              "the entry is not at index %d" % index)


# ---- 4. tail past the end ----

def test_tail_from_past_the_end_names_the_last_index():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        last = c.append([b"a", b"b"])["last"]
        for i in c.nodes:
            c.wait_commit(i, last)
        rc, out, err, took = cli(c, "tail", "--from", "999999")
        check(rc == EXIT_REJECTED and out == b"" and one_line(err)
              and "index 999999 is past the end of the log: the last "
              "committed index is %d" % last in err,
              "tail past the end: exit %d, %r" % (rc, err))
        # Just past the end is where a reader waits for the next entry:
        # nothing to say, exit 0.
        rc, out, err, took = cli(c, "tail", "--from", str(last + 1))
        check(rc == 0 and out == b"" and err == "",
              "tail from the next index: exit %d, %r" % (rc, err))
        # Following, it waits for the index, and says so once.
        with Background([CLI, "--cluster", endpoints(c), "tail", "-f",
                         "--from", str(last + 3)]) as t:
            wait_for(lambda: "\n" in t.stderr(), 20, "tail -f to say "
                     "what it waits for")
            check(t.stderr() == "raftlog: tail: waiting for index %d; the "
                  "last committed index is %d\n" % (last + 3, last),
                  "tail -f note %r" % t.stderr())
            c.append([b"c", b"d", b"e"], to=leader)
            t.wait_lines(1, 20, "tail -f to print from its index")
            check(t.lines[:1] == [b"e"], "tail -f printed %r" % t.lines)


# ---- 5. status and health ----

def test_status_and_health_say_no_quorum_and_exit_non_zero():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        rc, out, err, took = cli(c, "health")
        text = out.decode()
        check(rc == 0 and text.count(": healthy (") == 3 and
              "cluster: healthy: node %d leads term" % leader in text,
              "health of a whole cluster: %d %r %r" % (rc, text, err))
        down = [i for i in c.nodes if i != leader]
        c.kill(down[0])
        rc, out, err, took = cli(c, "health", "--json")
        h = json.loads(out)
        check(rc == 0 and h["healthy"] and h["answering"] == 2
              and sorted(m["healthy"] for m in h["members"])
              == [False, True, True], "health with one down: %d %r"
              % (rc, h))
        c.kill(down[1])
        rc, out, err, took = cli(c, "status")
        text = out.decode()
        check(rc == EXIT_UNAVAILABLE and
              "no quorum: 1 of 3 voting members answer (2 needed)" in text
              and "election may be under way" not in text
              and text.count("unreachable") == 2,
              "status without a quorum: exit %d\n%s%s" % (rc, text, err))
        rc, out, err, took = cli(c, "status", "--json")
        s = json.loads(out)
        check(rc == EXIT_UNAVAILABLE and s["quorum"] is False
              and s["answering"] == 1 and s["needed"] == 2,
              "status --json without a quorum: %d %r" % (rc, s))
        rc, out, err, took = cli(c, "health")
        check(rc == EXIT_UNAVAILABLE and "cluster: unhealthy: no quorum: 1 "
              "of 3 voting members answer (2 needed)" in out.decode(),
              "health without a quorum: %d %r" % (rc, out))


def test_status_asks_every_member_at_once():
    context = zmq.Context()
    try:
        with StandIn(context, lambda r: None) as b, \
                StandIn(context, lambda r: None) as c2:
            members = []
            with StandIn(context, lambda r: status_ok(1, members)) as a:
                members += [(1, a.endpoint), (2, b.endpoint),
                            (3, c2.endpoint)]
                rc, out, err, took = run(["--cluster", a.endpoint,
                                          "--timeout", "2000", "status"])
            check(rc == EXIT_UNAVAILABLE and out.decode().count(
                "no reply from") == 2, "status: %d %r" % (rc, out))
            check(len(b.requests) == 1 and len(c2.requests) == 1,
                  "members asked %d and %d times"
                  % (len(b.requests), len(c2.requests)))
            # One after another, the second would be asked when the first
            # gave up, 2 s later.
            apart = abs(b.requests[0][0] - c2.requests[0][0])
            check(apart < 1.0, "the silent members were asked %.2f s apart"
                  % apart)
    finally:
        context.destroy(linger=0)


def test_json_and_tables_escape_what_the_network_sends():
    context = zmq.Context()
    try:
        hostile = b'le"ad\\er\n\x1b[31m\xc0\xaf'  # quote, escape, overlong
        members = []
        with StandIn(context, lambda r: status_ok(1, members,
                                                  role=hostile)) as a:
            members.append((1, a.endpoint))
            rc, out, err, took = run(["--cluster", a.endpoint, "status",
                                      "--json"])
            check(rc == 0, "status --json: %d %r" % (rc, err))
            s = json.loads(out)
            check(s["members"][0]["role"] == 'le"ad\\er\n\x1b[31m??',
                  "role %r" % s["members"][0]["role"])
            rc, out, err, took = run(["--cluster", a.endpoint, "status"])
            check(rc == 0 and b"\x1b" not in out and b"\xc0" not in out,
                  "the table passes control bytes to the terminal: %r" % out)
        # An error message from the network reaches stderr without its
        # control characters.
        with StandIn(context, lambda r: {
                "type": ERROR, "code": ERR_BAD_REQUEST,
                "message": b"bad\x1b[2J\nrequest"}) as rude:
            rc, out, err, took = run(["--cluster", rude.endpoint, "status"])
            check(rc == EXIT_REJECTED and err == "raftlog: status: "
                  "BAD_REQUEST: bad?[2J?request\n", "stderr %r" % err)
    finally:
        context.destroy(linger=0)


# ---- 6. which endpoints ----

def readme_environment_example():
    """The README's shell lines that show $RAFTLOG_ENDPOINTS at work."""
    with open(README) as f:
        text = f.read()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    block = next(b for b in blocks if "export RAFTLOG_ENDPOINTS=" in b)
    return [line.split("#")[0].strip() for line in block.splitlines()
            if line.split("#")[0].strip()]


def test_environment_and_flags_work_as_the_readme_says():
    context = zmq.Context()
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        ports = {"7100": None}
        for i in (1, 2, 3):
            ports["710%d" % i] = c.nodes[i].client.rsplit(":", 1)[1]
        env = dict(os.environ)
        members = []
        # The broker of the README's example is a stand-in that says it
        # is node 9: then its answer shows that --broker was used.
        with StandIn(context, lambda r: status_ok(9, members),
                     keys=c.keys) as broker:
            members.append((9, broker.endpoint))
            ports["7100"] = broker.endpoint.rsplit(":", 1)[1]
            ran = []
            for line in readme_environment_example():
                for old, new in ports.items():
                    line = line.replace("127.0.0.1:" + old, "127.0.0.1:" + new)
                words = shlex.split(line)
                if words[0] == "export":
                    name, value = words[1].split("=", 1)
                    env[name] = value
                elif words[0] == "unset":
                    env.pop(words[1], None)
                elif words[0] == "raftlog":
                    args = ["--broker=" + broker.endpoint if w == "--broker"
                            else w for w in words[1:]]
                    rc, out, err, took = run(args, env=env)
                    check(rc == 0, "README line %r: exit %d, %r"
                          % (line, rc, err))
                    ran.append((args, out))
        check(any(a[-1] == "status" and "--broker=" in a[0] and
                  b"leader: node 9," in out for a, out in ran),
              "the README's --broker line did not ask the broker: %r" % ran)
        appended = [(a, out) for a, out in ran if "append" in a]
        check(appended, "the README's example appends nothing: %r" % ran)
        index = int(appended[0][1].split()[0])
        c.wait_commit(leader, index)
        check((index, appended[0][0][-1].encode()) in c.read_all(leader),
              "the append with $RAFTLOG_ENDPOINTS did not reach this cluster")
        # A flag beats the environment, and an error says so.
        dead = dead_endpoint()
        env = dict(os.environ, RAFTLOG_ENDPOINTS=endpoints(c))
        rc, out, err, took = run(["--broker=" + dead, "status"], env=env)
        check(rc == EXIT_UNAVAILABLE and dead in err and
              "(endpoints from --broker, which overrides $RAFTLOG_ENDPOINTS)"
              in err, "a flag and the environment: %d %r" % (rc, err))
        rc, out, err, took = run(["status"], env=env)
        check(rc == 0 and b"leader: node %d" % leader in out,
              "$RAFTLOG_ENDPOINTS alone: %d %r" % (rc, err))
    context.destroy(linger=0)


# ---- 7. oversized entries ----

def test_append_stops_at_or_skips_an_oversized_line():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        big = b"z" * (2 << 20)
        lines = b"before\n" + big + b"\nafter\n"
        rc, out, err, took = cli(c, "append", stdin=lines)
        check(rc == EXIT_REJECTED and len(out.split()) == 1 and one_line(err)
              and "line 2 is 2097152 bytes" in err
              and "--skip-oversized" in err,
              "a 2 MiB line: exit %d, %r %r" % (rc, out, err))
        rc, out, err, took = cli(c, "append", "--skip-oversized", "--json",
                                 "-q", stdin=lines)
        check(rc == 0 and json.loads(out)["appended"] == 2
              and json.loads(out)["skipped"] == 1 and one_line(err)
              and err.startswith("raftlog: append: skipped line 2: 2097152 "
                                 "bytes"),
              "--skip-oversized: exit %d, %r %r" % (rc, out, err))
        last = json.loads(out)["last"]
        c.wait_commit(leader, last)
        datas = [d for _, d in c.read_all(leader)]
        check(datas == [b"before", b"before", b"after"],
              "the log holds %r" % [d[:10] for d in datas])
    # A node configured with a lower limit refuses a batch; the entries
    # around the one it refuses still go in, in order.
    with Cluster(3, NODE, extra=["--max-entry", "1K"]) as c:
        c.start_all()
        leader = c.wait_leader()
        lines = b"".join(b"%d\n" % k for k in range(5)) + b"y" * 2000 + \
            b"\n" + b"".join(b"%d\n" % k for k in range(5, 10))
        rc, out, err, took = cli(c, "append", "--skip-oversized", stdin=lines)
        check(rc == 0 and len(out.split()) == 10 and one_line(err)
              and "skipped line 6: 2000 bytes, which the cluster refused"
              in err, "a node's limit: exit %d, %r %r" % (rc, out, err))
        c.wait_commit(leader, int(out.split()[-1]))
        datas = [d for _, d in c.read_all(leader)]
        check(datas == [b"%d" % k for k in range(10)],
              "the log holds %r" % datas)


# ---- 9. errors ----

def test_unknown_command_has_one_prefix_and_a_suggestion():
    rc, out, err, took = run(["frobnicate"])
    check(rc == EXIT_USAGE and err ==
          "raftlog: 'frobnicate' is not a command (see 'raftlog help')\n",
          "frobnicate: %r" % err)
    rc, out, err, took = run(["stauts"])
    check(rc == EXIT_USAGE and err == "raftlog: 'stauts' is not a command; "
          "did you mean 'status'? (see 'raftlog help')\n", "stauts: %r" % err)
    rc, out, err, took = run(["help", "tial"])
    check(rc == EXIT_USAGE and "did you mean 'tail'?" in err, "help tial")
    rc, out, err, took = run(["tail", "--follwo"])
    check(rc == EXIT_USAGE and err == "raftlog: tail: unknown option "
          "'--follwo'; did you mean '--follow'? (see 'raftlog tail --help')\n",
          "--follwo: %r" % err)
    rc, out, err, took = run(["--json", "status"])
    check(rc == EXIT_USAGE and one_line(err) and "after the command" in err,
          "an option before its command: %r" % err)
    for args in (["frobnicate"], ["tail", "--bogus"], ["--bogus"]):
        rc, out, err, took = run(args)
        check(not err.startswith("raftlog: raftlog:"), "two prefixes: %r"
              % err)


# ---- 10. JSON on every command ----

def test_every_command_prints_json():
    with Cluster(3, NODE) as c:
        c.start_all()
        leader = c.wait_leader()
        rc, out, err, took = cli(c, "append", "--json", "a", "b")
        batch = json.loads(out)
        check(rc == 0 and batch["count"] == 2
              and batch["last"] == batch["first"] + 1, "append %r" % out)
        rc, out, err, took = cli(c, "append", "--json", "--quiet",
                                 stdin=b"c\nd\n")
        summary = json.loads(out)
        check(rc == 0 and summary["appended"] == 2
              and summary["first"] == batch["last"] + 1, "append -q %r" % out)
        c.wait_commit(leader, summary["last"])
        for i in c.nodes:
            c.wait_commit(i, summary["last"])
        rc, out, err, took = cli(c, "tail", "--json")
        rows = [json.loads(line) for line in out.splitlines()]
        check(rc == 0 and [r["data"] for r in rows] == ["a", "b", "c", "d"],
              "tail --json %r" % rows)
        outputs = {}
        for command in (["status"], ["health"], ["members"],
                        ["members", "list"]):
            rc, out, err, took = cli(c, *(command + ["--json"]))
            check(rc == 0, "%s --json: %d %r" % (command, rc, err))
            outputs[command[0]] = json.loads(out)
        check(outputs["status"]["leader"] == leader
              and outputs["health"]["healthy"] is True
              and len(outputs["members"]) == 3, "json %r" % outputs)
        target = next(i for i in c.nodes if i != leader)
        rc, out, err, took = cli(c, "transfer-leader", "--json", str(target))
        check(rc == 0 and json.loads(out) == {"leader": target},
              "transfer-leader --json %r %r" % (out, err))


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:], {
        "--node": "NODE", "--cli": "CLI", "--readme": "README"}))

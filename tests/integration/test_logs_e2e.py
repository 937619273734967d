#!/usr/bin/python3
"""Named logs end to end (issue 16): the raftlog command line, libraftlog
(through client_driver) and the Python client against a real 3-node
cluster: create, list, append and tail on two logs at once, configure,
delete, NOT_FOUND, a redirect to a log's leader, a log's leadership moved
by hand, and status per log.

    test_logs_e2e.py --node NODE --cli CLI --driver DRIVER --python-dir DIR
                     TEST
    test_logs_e2e.py ... --list

Label logs_e2e, outside the default suite until the nodes speak named
logs (the lead enables it then): `ctest -L logs_e2e`. Clusters run with
CURVE and the admin key in $RAFTLOG_KEY, as harness.Cluster sets up;
every wait has a deadline, every process is stopped by PID.
"""
import json
import subprocess
import sys

from harness import Cluster, check, run_tests, wait_for

NODE = CLI = DRIVER = PYTHON_DIR = None
EXIT_REJECTED = 4


def endpoints(c, order=None):
    return ",".join(c.nodes[i].client for i in (order or c.nodes))


def run(args, stdin=b"", timeout=60):
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(stdin, timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, out.decode(errors="replace"), \
        err.decode(errors="replace")


def cli(c, *args, stdin=b"", order=None):
    return run([CLI, "--cluster", endpoints(c, order)] + list(args), stdin)


def driver(c, *args, log=None, order=None):
    extra = ["--log", log] if log else []
    return run([DRIVER] + extra + [endpoints(c, order)] + list(args))


def python_client(c, **kw):
    if PYTHON_DIR not in sys.path:
        sys.path.insert(0, PYTHON_DIR)
    import raftlog
    return raftlog, raftlog.Client(endpoints(c, kw.pop("order", None)), **kw)


def tail_all(c, log):
    """Every entry of log, as the command line prints them (raw)."""
    rc, out, err = cli(c, "tail", "--log", log)
    check(rc == 0, "tail --log %s: %d %r" % (log, rc, err))
    return out.splitlines()


def test_logs_are_created_listed_and_deleted_with_the_command_line():
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        rc, out, err = cli(c, "logs", "create", "orders", "--retention",
                           "1G", "--retention-age", "7d", "--max-entry", "64K")
        check(rc == 0 and "created log orders" in out,
              "create: %d %r %r" % (rc, out, err))
        rc, out, err = cli(c, "logs", "create", "orders")
        check(rc == EXIT_REJECTED, "create twice: %d %r" % (rc, err))
        rc, out, err = cli(c, "logs", "list", "--json")
        logs = {l["name"]: l for l in json.loads(out)["logs"]}
        check(rc == 0 and set(logs) == {"default", "orders"}
              and logs["orders"]["retention_bytes"] == 1 << 30
              and logs["orders"]["retention_ms"] == 7 * 86400000
              and logs["orders"]["max_entry_bytes"] == 65536
              and logs["default"]["group"] == 0, "list: %r" % out)
        rc, out, err = cli(c, "logs", "configure", "orders", "--retention",
                           "2G", "--json")
        log = json.loads(out) if rc == 0 else {}
        check(log.get("retention_bytes") == 2 << 30
              and log.get("retention_ms") == 7 * 86400000,
              "configure keeps the others: %d %r %r" % (rc, out, err))
        rc, out, err = cli(c, "logs", "delete", "default")
        check(rc == EXIT_REJECTED, "delete default: %d %r" % (rc, err))
        rc, out, err = cli(c, "logs", "delete", "orders")
        check(rc == 0 and "deleted log orders" in out, "delete: %r" % err)
        rc, out, err = cli(c, "logs", "list", "--json")
        check([l["name"] for l in json.loads(out)["logs"]] == ["default"],
              "list after delete: %r" % out)
        rc, out, err = cli(c, "append", "--log", "orders", "x")
        check(rc == EXIT_REJECTED and "no log named orders" in err
              and "logs list" in err, "append to a deleted log: %d %r" % (
                  rc, err))


def test_appends_and_tails_on_two_logs_stay_apart_in_every_client():
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        for name in ("orders", "clicks"):
            rc, out, err = cli(c, "logs", "create", name)
            check(rc == 0, "create %s: %d %r" % (name, rc, err))
        # The command line, the library and Python, into both logs.
        rc, out, err = cli(c, "append", "--log", "orders", "o1", "o2")
        check(rc == 0, "cli append orders: %r" % err)
        rc, out, err = cli(c, "append", "--log", "clicks", "c1")
        check(rc == 0, "cli append clicks: %r" % err)
        rc, out, err = driver(c, "append", "2", "lib", log="clicks")
        check(rc == 0, "lib append clicks: %d %r" % (rc, err))
        raftlog, client = python_client(c, log="orders")
        with client:
            client.append([b"py1", b"py2"])
            got = [d for _, d in client.tail(start=None, follow=False)]
        check(got == [b"o1", b"o2", b"py1", b"py2"], "python tail %r" % got)
        check(tail_all(c, "orders") == ["o1", "o2", "py1", "py2"],
              "orders holds only its own entries")
        check(tail_all(c, "clicks") == ["c1", "lib-0", "lib-1"],
              "clicks holds only its own: %r" % tail_all(c, "clicks"))
        check(tail_all(c, "default") == [], "default untouched")
        rc, out, err = driver(c, "tail", "0", "3", log="clicks")
        check(rc == 0 and [l.split(" ", 1)[1] for l in out.splitlines()
                           if not l.startswith("position")]
              == ["c1", "lib-0", "lib-1"], "lib tail: %r" % out)
        # Status per log: each log's leader, term and commit.
        rc, out, err = cli(c, "status", "--json")
        view = json.loads(out)
        logs = {l["name"]: l for l in view["logs"]}
        check(rc == 0 and set(logs) == {"default", "orders", "clicks"}
              and logs["clicks"]["commit"] >= 3 and logs["orders"]["leader"],
              "status logs: %r" % view["logs"])
        rc, out, err = cli(c, "status", "--log", "orders", "--json")
        view = json.loads(out)
        check(rc == 0 and [l["name"] for l in view["logs"]] == ["orders"],
              "status --log: %r" % view)


def test_a_request_for_a_log_that_does_not_exist_is_not_found_everywhere():
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        rc, out, err = cli(c, "append", "--log", "nope", "x")
        check(rc == EXIT_REJECTED and "no log named nope" in err,
              "cli: %d %r" % (rc, err))
        rc, out, err = driver(c, "append", "1", "x", log="nope")
        check(rc == 16 and "NOT_FOUND" in err, "lib: %d %r" % (rc, err))
        raftlog, client = python_client(c, log="nope")
        raised = None
        with client:
            try:
                client.append(b"x")
            except raftlog.RaftlogError as e:
                raised = e
        check(raised is not None and raised.code == raftlog.NOT_FOUND,
              "python: %r" % raised)


def test_a_client_asking_a_follower_is_led_to_its_logs_leader():
    with Cluster(3, NODE) as c:
        c.start_all()
        c.wait_leader()
        rc, out, err = cli(c, "logs", "create", "orders")
        check(rc == 0, "create: %r" % err)
        # The leader of orders, from the nodes' own STATUS logs.
        leader = {}

        def orders_leader():
            rc, out, err = cli(c, "status", "--log", "orders", "--json")
            if rc != 0:
                return False
            logs = json.loads(out)["logs"]
            leader["id"] = logs[0]["leader"] if logs else 0
            return leader["id"] != 0
        wait_for(orders_leader, 10.0, "a leader of orders")
        follower = next(i for i in c.nodes if i != leader["id"])
        # Only a follower given: the library follows NOT_LEADER there.
        rc, out, err = driver(c, "append", "1", "x", log="orders",
                              order=[follower])
        check(rc == 0 and c.nodes[leader["id"]].client in out,
              "led to orders' leader: %d %r %r" % (rc, out, err))
        # transfer-leader --log moves that log's leader, not default's; to
        # a node leading neither, so that spreading leaves it there.
        default_leader = c.wait_leader()
        target = next(i for i in c.nodes
                      if i not in (leader["id"], default_leader))
        rc, out, err = cli(c, "transfer-leader", "--log", "orders", "--json",
                           str(target))
        check(rc == 0 and json.loads(out) == {"leader": target},
              "transfer-leader --log orders: %d %r %r" % (rc, out, err))
        wait_for(lambda: orders_leader() and leader["id"] == target, 10.0,
                 "node %d to lead orders" % target)
        check(c.wait_leader() == default_leader,
              "default's leader stays node %d" % default_leader)


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:],
                       {"--node": "NODE", "--cli": "CLI", "--driver": "DRIVER",
                        "--python-dir": "PYTHON_DIR"}))

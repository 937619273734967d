#!/usr/bin/python3
"""Integration tests of scripts/run, the local cluster a new user starts
first (issue 13, item 1): a node that dies (kill -9) leaves the others
running, scripts/run says which one died and how to start it again
(scripts/run --restart N), and its exit status tells whether the run ended
on a failure.

    test_cli_run.py --run PATH --bin DIR --cli PATH TEST
    test_cli_run.py --list

scripts/run runs the binaries of --bin DIR (no build), with its data in a
temporary directory and its seven ports moved to free ones (--base-port).
Every process is stopped by PID however the test ends: scripts/run by
SIGTERM, and whatever it started and left behind by the PIDs it printed.
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

from harness import check, run_tests, wait_for

RUN = BIN = CLI = None


def free_base_port():
    """A base port P such that P+1..P+3 and P+100..P+103 are free."""
    while True:
        base = random.randint(20000, 31000)
        ports = [base + k for k in (1, 2, 3, 100, 101, 102, 103)]
        sockets = []
        try:
            for port in ports:
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()


class LocalRun:
    """scripts/run in the background, on a temporary data directory."""

    def __init__(self, again=None):
        """again: a LocalRun whose directory and ports to run on again
        (that one removes the directory)."""
        self.owner = again is None
        self.dir = tempfile.mkdtemp(prefix="raftlog-run-") if self.owner \
            else again.dir
        self.data = os.path.join(self.dir, "var")
        self.base = free_base_port() if self.owner else again.base
        suffix = "" if self.owner else ".again"
        self.out_path = os.path.join(self.dir, "run.out" + suffix)
        self.err_path = os.path.join(self.dir, "run.err" + suffix)
        self.pids = set()
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [RUN, "--bin", BIN, "--data", self.data, "--base-port",
                 str(self.base)], stdout=out, stderr=err)
        self.nodes = ",".join("tcp://127.0.0.1:%d" % (self.base + 100 + i)
                              for i in (1, 2, 3))
        self.broker = "tcp://127.0.0.1:%d" % (self.base + 100)

    def output(self):
        with open(self.out_path) as f:
            return f.read()

    def errors(self):
        with open(self.err_path) as f:
            return f.read()

    def pid(self, name):
        with open(os.path.join(self.data, name + ".pid")) as f:
            pid = int(f.read())
        self.pids.add(pid)
        return pid

    def started(self):
        """Waits for scripts/run to report its processes, and the cluster
        to be healthy."""
        def running():
            check(self.proc.poll() is None, "scripts/run exited %r: %s%s"
                  % (self.proc.returncode, self.output(), self.errors()))
            return "raftlog is running" in self.output()
        wait_for(running, 60, "scripts/run to start the cluster")
        for name in re.findall(r"(node\d|broker) (\d+)", self.output()):
            self.pids.add(int(name[1]))
        wait_for(lambda: self.cli("health")[0] == 0, 30,
                 "the cluster of scripts/run to be healthy")

    def env(self, role="admin"):
        """The environment of a client with scripts/run's key of role."""
        keys = os.path.join(self.data, "keys")
        return dict(os.environ,
                    RAFTLOG_KEY=os.path.join(keys, role + "_secret"),
                    RAFTLOG_SERVER_KEY=os.path.join(keys, "front"))

    def cli(self, *args, role="admin"):
        p = subprocess.run([CLI, "--cluster", self.nodes, "--connect-timeout",
                            "300", "--retries", "2"] + list(args),
                           capture_output=True, timeout=60,
                           env=self.env(role))
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def stop(self):
        """SIGTERM to scripts/run; its exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, trace):
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(60)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            for pid in self.pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if kind is not None:
                print("---- scripts/run stdout ----\n" + self.output())
                print("---- scripts/run stderr ----\n" + self.errors())
        finally:
            if self.owner:
                shutil.rmtree(self.dir, ignore_errors=True)


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # A zombie is dead too: look at its state.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_kill_of_a_node_leaves_the_others_running_until_it_is_restarted():
    with LocalRun() as r:
        r.started()
        victim = r.pid("node2")
        os.kill(victim, signal.SIGKILL)
        said = ("run: node 2 (pid %d) was killed by signal 9 (SIGKILL); "
                "still running: node 1, node 3 and the broker. Start it "
                "again with: scripts/run --restart 2 --data %s"
                % (victim, r.data))
        wait_for(lambda: said in r.errors(), 30, "scripts/run to say that "
                 "node 2 died and how to start it again")
        check(r.proc.poll() is None, "scripts/run stopped: %s" % r.errors())
        for name in ("node1", "node3", "broker"):
            check(alive(r.pid(name)), "%s was stopped too" % name)
        # The cluster still takes appends, through the broker too.
        p = subprocess.run([CLI, "--broker=" + r.broker, "append", "still"],
                           capture_output=True, timeout=60, env=r.env())
        check(p.returncode == 0, "append with node 2 down: %r" % p.stderr)
        rc, out, err = r.cli("health")
        check(rc == 0 and "node 2 tcp" in out and "unhealthy" in out,
              "health with node 2 down: %d %r" % (rc, out))

        p = subprocess.run([RUN, "--restart", "2", "--data", r.data],
                           capture_output=True, timeout=60)
        check(p.returncode == 0 and b"node 2 runs, pid" in p.stderr,
              "scripts/run --restart 2: %d %r" % (p.returncode, p.stderr))
        restarted = r.pid("node2")
        check(restarted != victim and alive(restarted),
              "node 2 was not started again")
        wait_for(lambda: r.cli("health")[1].count(": healthy (") == 3, 30,
                 "node 2 to rejoin")
        check(r.stop() == 0, "scripts/run, every process running, ended "
              "with %r: %s" % (r.proc.returncode, r.errors()))
        for pid in list(r.pids) + [restarted]:
            check(not alive(pid), "process %d is still running" % pid)


def test_runs_secured_and_the_commands_it_prints_work():
    with LocalRun() as r:
        r.started()
        out = r.output()
        keys = os.path.join(r.data, "keys")
        # Keys were made once, the secrets private, and the public
        # certificates of the nodes, the broker and the clients allowed.
        for name in ("node1", "node2", "node3", "front", "broker", "admin",
                     "producer", "consumer"):
            mode = os.stat(os.path.join(keys, name + "_secret")).st_mode
            check(mode & 0o077 == 0, "%s_secret is mode %o" % (name, mode))
        check(sorted(os.listdir(os.path.join(keys, "allowed"))) ==
              ["admin", "broker", "consumer", "node1", "node2", "node3",
               "producer"], "allowed: %r"
              % os.listdir(os.path.join(keys, "allowed")))
        check("secured with CURVE" in out and
              "producer_secret  a client key that may append" in out,
              "scripts/run does not say which key has which role:\n" + out)
        # The commands it prints, as printed (an export, then raftlog).
        lines = [line.strip() for line in out.splitlines()]
        export = next(line for line in lines if line.startswith("export "))
        env = dict(os.environ)
        for assignment in export.split()[1:]:
            name, value = assignment.split("=", 1)
            env[name] = value
        commands = [line.split() for line in lines
                    if line.startswith(os.path.join(BIN, "clients"))
                    or line.startswith(CLI)]
        check(commands, "no raftlog command printed:\n" + out)
        for words in commands:
            if "-f" in words:
                continue  # tail -f runs until stopped
            p = subprocess.run(words, capture_output=True, timeout=60,
                               env=env)
            check(p.returncode == 0, "%r: exit %d, %r"
                  % (words, p.returncode, p.stderr))
        # No key: refused at once, with the clear error.
        bare = {k: v for k, v in os.environ.items()
                if not k.startswith("RAFTLOG_")}
        p = subprocess.run([CLI, "--broker=" + r.broker, "status"],
                           capture_output=True, timeout=60, env=bare)
        check(p.returncode == 4 and b"CURVE" in p.stderr,
              "no key: exit %d, %r" % (p.returncode, p.stderr))
        # A consumer may read, not append.
        rc, out, err = r.cli("append", "x", role="consumer")
        check(rc == 4 and "FORBIDDEN" in err, "a consumer appending: %d %r"
              % (rc, err))
        # Started again on the same directory, scripts/run keeps the keys
        # it made: the same admin key still works.
        with open(os.path.join(keys, "admin")) as f:
            before = f.read()
        check(r.stop() == 0, "scripts/run ended with %r" % r.proc.returncode)
        with LocalRun(again=r) as second:
            second.started()
            with open(os.path.join(keys, "admin")) as f:
                check(f.read() == before, "the admin key was made again")
            check(second.stop() == 0, "the second scripts/run ended with %r"
                  % second.proc.returncode)


def test_ends_with_a_failure_status_when_a_node_stayed_down():
    with LocalRun() as r:
        r.started()
        victim = r.pid("node3")
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: "node 3 (pid %d) was killed" % victim in r.errors(),
                 30, "scripts/run to say that node 3 died")
        status = r.stop()
        check(status == 1 and "node 3 had died and not been started again"
              in r.errors(), "scripts/run ended with %r: %s"
              % (status, r.errors()))
        # Asking a scripts/run that is not running for a restart fails
        # clearly.
        p = subprocess.run([RUN, "--restart", "3", "--data", r.data],
                           capture_output=True, timeout=60)
        check(p.returncode == 1 and b"no scripts/run is running on" in
              p.stderr, "--restart without scripts/run: %d %r"
              % (p.returncode, p.stderr))


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:], {
        "--run": "RUN", "--bin": "BIN", "--cli": "CLI"}))

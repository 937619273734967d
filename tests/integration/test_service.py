#!/usr/bin/python3
"""Integration tests of running raftlog as a service (issue 18, item 4):
what `cmake --install` lays out (binaries, systemd units naming them,
the sysusers.d entry, sample configurations), that the units pass
`systemd-analyze verify`, that the samples are valid configurations, and
that node and broker speak systemd's notify protocol: READY=1 once
listening, a STATUS= line, WATCHDOG=1 pings when asked, STOPPING=1 on
SIGTERM, then a clean exit.

The notify protocol is tested without systemd: the test binds the unix
datagram socket that $NOTIFY_SOCKET names, as systemd would.

    test_service.py --node PATH --broker PATH --cmake PATH --build-dir DIR
                    --source DIR TEST
    test_service.py --list
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from harness import Cluster, check, free_ports, run_tests, wait_for

NODE = BROKER = CMAKE = BUILD_DIR = SOURCE = None


def test_install_lays_out_units_samples_and_binaries():
    prefix = tempfile.mkdtemp(prefix="raftlog-service-")
    try:
        result = subprocess.run([CMAKE, "--install", BUILD_DIR, "--prefix",
                                 prefix], capture_output=True, text=True,
                                timeout=300)
        check(result.returncode == 0, "install: %s" % result.stderr)
        for daemon in ("raftlog-node", "raftlog-broker"):
            binary = os.path.join(prefix, "bin", daemon)
            check(os.access(binary, os.X_OK), "%s not installed" % binary)
            unit = os.path.join(prefix, "lib/systemd/system",
                                daemon + ".service")
            with open(unit) as f:
                text = f.read()
            conf = "node" if daemon == "raftlog-node" else "broker"
            check("\nExecStart=%s --config /etc/raftlog/%s.conf\n"
                  % (binary, conf) in text,
                  "%s: ExecStart does not name the installed binary:\n%s"
                  % (unit, text))
            check("\nType=notify\n" in text and "\nWatchdogSec=" in text
                  and "\nRestartPreventExitStatus=2\n" in text,
                  "%s: not a notify unit with a watchdog" % unit)
            sample = os.path.join(prefix, "share/raftlog", daemon + ".conf")
            check(os.path.isfile(sample), "no sample %s" % sample)
        check(os.path.isfile(os.path.join(prefix,
                                          "lib/sysusers.d/raftlog.conf")),
              "no sysusers.d entry")
        analyze = shutil.which("systemd-analyze")
        if analyze:
            units = [os.path.join(prefix, "lib/systemd/system", u)
                     for u in ("raftlog-node.service",
                               "raftlog-broker.service")]
            result = subprocess.run([analyze, "verify"] + units,
                                    capture_output=True, text=True,
                                    timeout=60)
            check(result.returncode == 0 and not result.stderr.strip(),
                  "systemd-analyze verify: %s" % result.stderr)
        else:
            print("systemd-analyze not found: units not verified")
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


class Notifications:
    """The socket $NOTIFY_SOCKET names: gathers every datagram."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="raftlog-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(self.path)
        self.socket.setblocking(False)
        self.messages = []

    def read(self):
        while True:
            try:
                self.messages.append(self.socket.recv(4096).decode())
            except BlockingIOError:
                return self.messages

    def seen(self, line):
        return any(line in m.split("\n") for m in self.read())

    def env(self, watchdog_usec=None):
        env = dict(os.environ, NOTIFY_SOCKET=self.path)
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        return env

    def close(self):
        self.socket.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_notified(args, notify, log_path, env, ready):
    """Starts a daemon with $NOTIFY_SOCKET set; waits for READY=1, the
    status line `ready` (a prefix) and WATCHDOG=1, then SIGTERM,
    STOPPING=1 and exit 0. Returns the messages."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                env=env)
    try:
        wait_for(lambda: notify.seen("READY=1"), 30, "READY=1")
        wait_for(lambda: any(line.startswith("STATUS=" + ready) for m in
                             notify.read() for line in m.split("\n")),
                 30, "the status line %r" % ready)
        wait_for(lambda: notify.seen("WATCHDOG=1"), 10, "a WATCHDOG=1 ping")
        check(not notify.seen("STOPPING=1"), "STOPPING before a signal")
        proc.send_signal(signal.SIGTERM)
        wait_for(lambda: notify.seen("STOPPING=1"), 30, "STOPPING=1")
        status = proc.wait(timeout=30)
        check(status == 0, "exit status %d after SIGTERM" % status)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return notify.read()


def test_the_node_with_the_sample_config_tells_systemd_it_runs():
    # With keys whatever RL_TEST_CURVE says: the sample has some.
    with Cluster(1, NODE, curve=True) as c:
        n = c.nodes[1]
        http = free_ports(1)[0]
        notify = Notifications()
        try:
            # The sample as installed, with the addresses of this machine:
            # --member flags replace the file's members.
            messages = run_notified(
                [NODE, "--config",
                 os.path.join(SOURCE, "packaging/raftlog-node.conf"),
                 "--data", n.data_dir,
                 "--member", "1=%s,%s" % (n.peer, n.client),
                 "--metrics-endpoint", "127.0.0.1:%d" % http]
                # The sample's keys are /etc/raftlog's: this cluster's
                # instead.
                + c.key_args(1),
                notify, n.log_path, notify.env(watchdog_usec=200000),
                "ready: leader of term")
        finally:
            notify.close()
        statuses = [line for m in messages for line in m.split("\n")
                    if line.startswith("STATUS=")]
        check(statuses[-1] == "STATUS=not ready: shutting down"
              or "STATUS=stopping" in statuses,
              "the last status line: %r" % statuses[-1])


def test_the_broker_with_the_sample_config_tells_systemd_it_runs():
    # With keys whatever RL_TEST_CURVE says: the sample has some.
    with Cluster(1, NODE, curve=True) as c:
        c.start_all()
        c.wait_leader()
        front, http = free_ports(2)
        notify = Notifications()
        try:
            messages = run_notified(
                [BROKER, "--config",
                 os.path.join(SOURCE, "packaging/raftlog-broker.conf"),
                 "--endpoint", "tcp://127.0.0.1:%d" % front,
                 "--nodes", c.nodes[1].client,
                 "--metrics-endpoint", "127.0.0.1:%d" % http]
                + c.broker_args(),
                notify, os.path.join(c.dir, "broker.log"),
                notify.env(watchdog_usec=200000), "ready: node 1 leads")
        finally:
            notify.close()
        check(messages.index("READY=1") < len(messages) - 1
              and "STOPPING=1\nSTATUS=stopping" in messages,
              "the broker's messages: %r" % messages)


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:],
                       {"--node": "NODE", "--broker": "BROKER",
                        "--cmake": "CMAKE", "--build-dir": "BUILD_DIR",
                        "--source": "SOURCE"}))

#!/usr/bin/python3
"""Integration test of raftlog as users get it: `cmake --install` into a
temporary prefix (the library, its header and raftlog.pc, and the
programs raftlog, raftlog-node and raftlog-broker), then the README's C
example (clients/examples/append_and_tail.c) built with nothing but the
installed raftlog.pc, and run against a real 3-node cluster on 127.0.0.1
without LD_LIBRARY_PATH: raftlog.pc gives programs the library's directory
as their rpath. `pkg-config --cflags raftlog` names raftlog's include
directory and nothing else (raftlog.h needs libc only).

    test_install.py --node PATH --cmake PATH --build-dir DIR --libdir DIR
                    --cc PATH --link-flags=FLAGS --example FILE TEST
    test_install.py --list

--libdir is CMAKE_INSTALL_LIBDIR (lib, or lib/<multiarch> under /usr).
--link-flags are the flags the build linked everything with. A sanitized
build (RL_SANITIZE: -fsanitize=address,undefined) installs a library whose
code calls the sanitizer runtimes, which only an executable linked with the
same -fsanitize flags brings; likewise --coverage. So the example is
linked with exactly those flags, by the compiler the build used, and with
no others: everything else comes from pkg-config. In a plain build they are
empty and the command is the README's (with -Wall -Wextra -Werror added).

The temporary prefix is removed and every process stopped (the nodes by
the harness) however the test ends.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import Cluster, check, run_tests

NODE = CMAKE = BUILD_DIR = LIBDIR = CC = EXAMPLE = None
LINK_FLAGS = ""


def run(args, env=None, timeout=60, stdin=None):
    """Runs a command to completion: (exit status, stdout, stderr) as text."""
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        out, err = p.communicate(stdin, timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return (p.returncode, out.decode(errors="replace"),
            err.decode(errors="replace"))


def declared_functions(header):
    """The function names raftlog.h declares (a name followed by '(' at the
    start of a declaration, after its return type)."""
    with open(header) as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    return set(re.findall(r"^[a-z0-9_ ]+[ *](raftlog_\w+)\(", text, re.M))


def install(top):
    """cmake --install into TOP/prefix; returns the prefix."""
    prefix = os.path.join(top, "prefix")
    rc, out, err = run([CMAKE, "--install", BUILD_DIR, "--prefix", prefix])
    check(rc == 0, "cmake --install failed: %s%s" % (out, err))
    return prefix


def test_installed_library_builds_and_runs_the_c_example_and_exports_only_its_api():
    top = tempfile.mkdtemp(prefix="raftlog-install-")
    try:
        prefix = install(top)
        libdir = os.path.join(prefix, LIBDIR)
        header = os.path.join(prefix, "include", "raftlog.h")
        library = os.path.join(libdir, "libraftlog.so")
        pc_dir = os.path.join(libdir, "pkgconfig")
        for path in (header, library, os.path.join(libdir, "libraftlog.a"),
                     os.path.join(pc_dir, "raftlog.pc")):
            check(os.path.exists(path), "%s was not installed" % path)

        # The installed header stands alone: libc only, strict C11.
        rc, out, err = run([CC, "-std=c11", "-pedantic", "-Wall", "-Wextra",
                            "-Werror", "-fsyntax-only", "-I",
                            os.path.dirname(header), "-x", "c", "-"],
                           stdin=b"#include <raftlog.h>\n")
        check(rc == 0, "raftlog.h does not compile on its own:\n%s" % err)

        # The shared library exports its API and nothing else.
        rc, out, err = run(["nm", "-D", "--defined-only", library])
        check(rc == 0, "nm failed: %s" % err)
        exported = {line.split()[-1] for line in out.splitlines()
                    if line.strip()}
        strays = sorted(s for s in exported if not s.startswith("raftlog_"))
        check(not strays, "libraftlog.so exports %s" % ", ".join(strays))
        declared = declared_functions(header)
        check(len(declared) > 20 and exported == declared,
              "exported but not declared: %s; declared but not exported: %s"
              % (sorted(exported - declared), sorted(declared - exported)))

        # The README's command, with the installed raftlog.pc and only it.
        example = os.path.join(top, "append_and_tail")
        env = dict(os.environ, PKG_CONFIG_PATH=pc_dir, RL_CC=CC,
                   RL_LINK_FLAGS=LINK_FLAGS, RL_EXAMPLE=EXAMPLE,
                   RL_OUT=example)
        rc, out, err = run(["pkg-config", "--cflags", "--libs", "raftlog"],
                           env=env)
        check(rc == 0 and "-I%s/" % pc_dir in out and "-lraftlog" in out,
              "pkg-config did not find the installed raftlog.pc: %r %r"
              % (out, err))
        rc, out, err = run(["sh", "-c",
                            '"$RL_CC" $RL_LINK_FLAGS -Wall -Wextra -Werror '
                            '"$RL_EXAMPLE" $(pkg-config --cflags --libs '
                            'raftlog) -o "$RL_OUT"'], env=env)
        check(rc == 0, "the example does not build:\n%s%s" % (out, err))

        # It runs on the installed shared library, not on the build tree's,
        # and finds it without LD_LIBRARY_PATH.
        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)
        rc, out, err = run(["ldd", example], env=env)
        loaded = re.search(r"libraftlog\.so\.1 => (\S+)", out)
        check(loaded and os.path.realpath(loaded.group(1)) ==
              os.path.realpath("%s/libraftlog.so.1" % libdir),
              "the example does not load the installed library:\n%s" % out)

        with Cluster(3, NODE) as c:
            c.start_all()
            leader = c.wait_leader()
            before = [c.append([b"before-%d" % k])["first"] for k in range(4)]
            endpoints = ",".join(n.client for n in c.nodes.values())
            # With CURVE, the example takes its keys from the environment,
            # as libraftlog does for every program ($RAFTLOG_KEY).
            env.update(c.client_env())
            text = "hello from the installed library"
            rc, out, err = run([example, endpoints,
                                text], env=env)
            check(rc == 0 and err == "", "the example failed (exit %d): %s"
                  % (rc, err))
            lines = out.splitlines()
            match = re.fullmatch(r"appended at index (\d+)", lines[0])
            check(match, "no index in %r" % lines[:1])
            index = int(match.group(1))
            check(index > before[-1], "index %d is not after %d"
                  % (index, before[-1]))
            expected = ["%d: before-%d" % (i, k) for k, i in enumerate(before)
                        if i >= index - 3] + ["%d: %s" % (index, text)]
            check(lines[1:] == expected, "the example printed %r, expected "
                  "%r" % (lines[1:], expected))
            c.wait_commit(leader, index)
            check((index, text.encode()) in c.read_all(leader),
                  "the entry is not at index %d in the log" % index)

            # No arguments: the endpoints come from $RAFTLOG_ENDPOINTS.
            rc, out, err = run([example],
                               env=dict(env, RAFTLOG_ENDPOINTS=endpoints))
            check(rc == 0 and out.splitlines()[-1].endswith(": hello from C"),
                  "with $RAFTLOG_ENDPOINTS: exit %d %r %s" % (rc, out, err))

        # Errors come out through raftlog_error_name() and raftlog_error().
        rc, out, err = run([example, "not-an-endpoint"],
                           env=env)
        check(rc == 1 and out == "" and err.startswith(
            "append_and_tail: INVALID: 'not-an-endpoint' is not a usable "
            "endpoint") and err.count("\n") == 1,
            "a bad endpoint: exit %d, %r" % (rc, err))
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_install_puts_the_programs_in_bin_and_pkg_config_names_only_raftlog():
    top = tempfile.mkdtemp(prefix="raftlog-install-")
    try:
        prefix = install(top)
        for program in ("raftlog", "raftlog-node", "raftlog-broker"):
            path = os.path.join(prefix, "bin", program)
            check(os.access(path, os.X_OK), "%s was not installed" % path)
            rc, out, err = run([path, "--help"])
            check(rc == 0 and out, "%s --help: exit %d %s" % (path, rc, err))
        # raftlog.h needs libc only: the flags name raftlog's include
        # directory and nothing else (not czmq's private ones).
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(
            prefix, LIBDIR, "pkgconfig"))
        rc, out, err = run(["pkg-config", "--cflags", "raftlog"], env=env)
        flags = out.split()
        check(rc == 0 and len(flags) == 1 and flags[0].startswith("-I") and
              os.path.realpath(flags[0][2:]) ==
              os.path.realpath(os.path.join(prefix, "include")),
              "pkg-config --cflags raftlog gives %r" % out)
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv[1:], {
        "--node": "NODE", "--cmake": ("CMAKE",), "--build-dir": "BUILD_DIR",
        "--libdir": ("LIBDIR",), "--cc": ("CC",), "--example": "EXAMPLE",
        "--link-flags": ("LINK_FLAGS", None)}))

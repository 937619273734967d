#!/usr/bin/python3
"""Self-test of the chaos history checker (checker.py): a correct history
passes, and each kind of violation, planted in an otherwise correct
history, is caught and named, with the operations involved; with named
logs, each log is checked on its own and a violation is reported for the
log it is in.

    test_checker.py        run every test (exit 0 when all pass)
"""
import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from checker import check_history, check_named_logs  # noqa: E402


def append(producer, seq, start, end, outcome="ok", index=None, via=None):
    op = {"kind": "append", "producer": producer, "seq": seq,
          "value": "p%d-s%d" % (producer, seq), "start": start, "end": end,
          "outcome": outcome}
    if index is not None:
        op["index"] = index
    if via:
        op["via"] = via
    return op


def good_history():
    """Two producers, one through a broker; index 1 and 5 are no-ops (two
    terms), p2-s2 timed out and is in the log, p1-s3 timed out and is
    not; two consumers, one caught up, one behind."""
    ops = [
        append(1, 1, 0.0, 0.1, index=2),
        append(2, 1, 0.05, 0.2, index=3, via="broker0"),
        append(1, 2, 0.15, 0.3, index=4),
        append(2, 2, 0.25, 4.0, outcome="unknown", via="broker0"),
        append(1, 3, 0.35, 4.2, outcome="unknown"),
        append(1, 4, 4.3, 4.5, index=7),
    ]
    log = [[2, "p1-s1"], [3, "p2-s1"], [4, "p1-s2"], [6, "p2-s2"],
           [7, "p1-s4"]]
    ops += [{"kind": "consume", "consumer": 0, "seen": copy.deepcopy(log)},
            {"kind": "consume", "consumer": 1, "seen": log[:2]}]
    logs = {1: copy.deepcopy(log), 2: copy.deepcopy(log),
            3: copy.deepcopy(log)}
    meta = {n: {"commit": 7, "term": 2} for n in logs}
    return ops, logs, meta


def named_history():
    """The good history on three logs: `default` as is (its ops without
    `log`, as a run of before named logs records them), and `a` and `b`
    with the same shape but values of producers of their own (11, 12 on
    a; 21, 22 on b); default's log also holds two catalog entries (the
    creation of a and b), its meta says so with extra."""
    ops, logs, meta = good_history()
    for n in logs:
        logs[n] = [[index + 2, value] for index, value in logs[n]]
        meta[n] = {"commit": 9, "term": 2, "extra": 2}
    for o in ops:
        if "index" in o:
            o["index"] += 2
        if o["kind"] == "consume":
            o["seen"] = [[index + 2, value] for index, value in o["seen"]]
    all_ops, all_logs, all_meta = ops, {"default": logs}, {"default": meta}
    for name, base in (("a", 10), ("b", 20)):
        ops, logs, meta = good_history()
        rename = {"p1": "p%d" % (base + 1), "p2": "p%d" % (base + 2)}

        def renamed(value):
            head, tail = value.split("-")
            return rename[head] + "-" + tail
        for o in ops:
            o["log"] = name
            if o["kind"] == "append":
                o["producer"] += base
                o["value"] = renamed(o["value"])
            else:
                o["seen"] = [[i, renamed(v)] for i, v in o["seen"]]
        for n in logs:
            logs[n] = [[i, renamed(v)] for i, v in logs[n]]
        all_ops += ops
        all_logs[name], all_meta[name] = logs, meta
    return all_ops, all_logs, all_meta


def find(ops, value):
    return next(o for o in ops if o.get("value") == value)


class CheckerTest(unittest.TestCase):
    def assert_caught(self, ops, logs, meta, *words):
        report = check_history(ops, logs, meta)
        self.assertIsNotNone(report, "the violation was not caught")
        for w in words:
            self.assertIn(w, report)
        return report

    def test_a_correct_history_passes(self):
        self.assertIsNone(check_history(*good_history()))

    def test_a_correct_history_passes_without_status_figures(self):
        ops, logs, _ = good_history()
        self.assertIsNone(check_history(ops, logs))

    def test_an_acknowledged_append_missing_from_the_log_is_caught(self):
        ops, logs, meta = good_history()
        for n in logs:
            logs[n] = [e for e in logs[n] if e[1] != "p1-s2"]
        for o in ops:
            if o["kind"] == "consume":
                o["seen"] = [e for e in o["seen"] if e[1] != "p1-s2"]
        self.assert_caught(ops, logs, meta, "p1-s2", "ok at 4", "None")

    def test_an_acknowledged_append_at_another_index_is_caught(self):
        ops, logs, meta = good_history()
        find(ops, "p1-s4")["index"] = 6
        self.assert_caught(ops, logs, meta, "p1-s4", "ok at 6", "at 7")

    def test_an_acknowledged_append_twice_in_the_log_is_caught(self):
        ops, logs, meta = good_history()
        for n in logs:
            logs[n].append([8, "p1-s1"])
        meta = {n: {"commit": 8, "term": 2} for n in logs}
        self.assert_caught(ops, logs, meta, "'p1-s1' is in the log twice",
                           "at 2 and 8")

    def test_a_timed_out_append_twice_in_the_log_is_caught(self):
        ops, logs, meta = good_history()
        for n in logs:
            logs[n].append([8, "p2-s2"])
        meta = {n: {"commit": 8, "term": 2} for n in logs}
        self.assert_caught(ops, logs, meta, "'p2-s2' is in the log twice",
                           "unknown")

    def test_an_append_that_got_a_definite_error_in_the_log_is_caught(self):
        ops, logs, meta = good_history()
        find(ops, "p2-s2")["outcome"] = "error"
        self.assert_caught(ops, logs, meta, "p2-s2", "definite error")

    def test_an_entry_no_append_sent_is_caught(self):
        ops, logs, meta = good_history()
        for n in logs:
            logs[n][3] = [6, "p9-s9"]
        self.assert_caught(ops, logs, meta, "p9-s9", "no append sent")

    def test_nodes_with_different_logs_are_caught(self):
        ops, logs, meta = good_history()
        logs[3][2] = [4, "p2-s2"]
        self.assert_caught(ops, logs, meta, "node 3", "differs",
                           "position 2")

    def test_a_node_missing_the_tail_is_caught(self):
        ops, logs, meta = good_history()
        logs[2] = logs[2][:-1]
        self.assert_caught(ops, logs, meta, "node 2", "differs")

    def test_a_log_whose_indexes_do_not_increase_is_caught(self):
        ops, logs, meta = good_history()
        for n in logs:
            logs[n][2][0] = 3
        self.assert_caught(ops, logs, meta, "do not increase", "3 then 3")

    def test_a_log_with_a_hole_is_caught(self):
        ops, logs, meta = good_history()
        # Commit 9 with five user entries in term 2: four indexes are not
        # user entries, but only two no-ops (terms 1 and 2) can exist.
        meta = {n: {"commit": 9, "term": 2} for n in logs}
        self.assert_caught(ops, logs, meta, "not dense")

    def test_an_index_above_the_commit_index_is_caught(self):
        ops, logs, meta = good_history()
        meta[1]["commit"] = 6
        self.assert_caught(ops, logs, meta, "node 1", "above its commit")

    def test_a_stale_sequence_without_a_later_seq_is_caught(self):
        ops, logs, meta = good_history()
        find(ops, "p1-s3")["outcome"] = "stale"
        self.assert_caught(ops, logs, meta, "p1-s3", "STALE_SEQUENCE")

    def test_a_stale_sequence_after_a_later_seq_passes(self):
        ops, logs, meta = good_history()
        stale = find(ops, "p1-s3")
        stale["outcome"], stale["end"] = "stale", 4.4
        self.assertIsNone(check_history(ops, logs, meta))

    def test_a_real_time_order_violation_is_caught(self):
        ops, logs, meta = good_history()
        # p1-s1 (acknowledged at 0.1 s) and p1-s2 (began at 0.15 s) swap
        # places in every log: p1-s2 now precedes what was acked before it.
        for n in logs:
            logs[n][0], logs[n][2] = [2, "p1-s2"], [4, "p1-s1"]
        find(ops, "p1-s1")["index"], find(ops, "p1-s2")["index"] = 4, 2
        for o in ops:
            if o["kind"] == "consume":
                o["seen"] = copy.deepcopy(logs[1][:len(o["seen"])])
        self.assert_caught(ops, logs, meta, "real-time order",
                           "p1-s1 (ok at 4", "p1-s2 (ok at 2")

    def test_concurrent_appends_may_land_in_either_order(self):
        ops, logs, meta = good_history()
        # p1-s1 and p2-s1 overlap in time: either order is linearizable.
        find(ops, "p1-s1")["index"], find(ops, "p2-s1")["index"] = 3, 2
        for n in logs:
            logs[n][0], logs[n][1] = [2, "p2-s1"], [3, "p1-s1"]
        for o in ops:
            if o["kind"] == "consume":
                o["seen"] = copy.deepcopy(logs[1][:len(o["seen"])])
        self.assertIsNone(check_history(ops, logs, meta))

    def test_a_consumer_with_a_gap_is_caught(self):
        ops, logs, meta = good_history()
        ops[-2]["seen"] = [e for e in ops[-2]["seen"] if e[1] != "p1-s2"]
        self.assert_caught(ops, logs, meta, "consumer 0", "not a prefix",
                           "position 2")

    def test_a_consumer_with_a_repeat_is_caught(self):
        ops, logs, meta = good_history()
        ops[-1]["seen"].append(list(ops[-1]["seen"][-1]))
        self.assert_caught(ops, logs, meta, "consumer 1", "not a prefix",
                           "p2-s1")

    def test_a_consumer_out_of_order_is_caught(self):
        ops, logs, meta = good_history()
        seen = ops[-2]["seen"]
        seen[0], seen[1] = seen[1], seen[0]
        self.assert_caught(ops, logs, meta, "consumer 0", "position 0")

    def test_a_consumer_that_saw_an_entry_the_log_lost_is_caught(self):
        ops, logs, meta = good_history()
        ops[-2]["seen"].append([8, "p1-s3"])
        self.assert_caught(ops, logs, meta, "consumer 0", "position 5",
                           "p1-s3 (unknown")



class NamedLogsTest(unittest.TestCase):
    def assert_only(self, reports, log, *words):
        """reports names a violation in log, and in no other log."""
        self.assertIsNotNone(reports[log], "the violation was not caught")
        for w in words:
            self.assertIn(w, reports[log])
        for other, report in reports.items():
            if other != log:
                self.assertIsNone(report, "log %s: %s" % (other, report))

    def test_correct_histories_of_three_logs_pass(self):
        reports = check_named_logs(*named_history())
        self.assertEqual(reports, {"default": None, "a": None, "b": None})

    def test_the_same_index_in_two_logs_is_no_violation(self):
        # Each log has its own indexes: a and b both hold index 2, and
        # so do their acknowledgements.
        ops, logs, meta = named_history()
        self.assertEqual(logs["a"][1][0][0], logs["b"][1][0][0])
        self.assertEqual(find(ops, "p11-s1")["index"],
                         find(ops, "p21-s1")["index"])
        reports = check_named_logs(ops, logs, meta)
        self.assertEqual(set(reports.values()), {None})

    def test_default_catalog_entries_need_their_allowance(self):
        ops, logs, meta = named_history()
        for n in meta["default"]:
            del meta["default"][n]["extra"]
        self.assert_only(check_named_logs(ops, logs, meta), "default",
                         "not dense")

    def test_an_acknowledged_append_lost_from_one_log_is_named_there(self):
        ops, logs, meta = named_history()
        for n in logs["b"]:
            logs["b"][n] = [e for e in logs["b"][n] if e[1] != "p21-s4"]
        self.assert_only(check_named_logs(ops, logs, meta), "b",
                         "p21-s4", "ok at 7", "None")

    def test_an_entry_of_one_log_found_in_another_is_caught_in_both(self):
        ops, logs, meta = named_history()
        moved = [7, "p11-s4"]
        for n in logs["a"]:
            logs["a"][n] = [e for e in logs["a"][n] if e != moved]
            logs["b"][n][-1] = list(moved)
        reports = check_named_logs(ops, logs, meta)
        self.assertIn("p11-s4", reports["a"])
        self.assertIn("no append sent", reports["b"])
        self.assertIsNone(reports["default"])

    def test_nodes_that_disagree_on_one_log_are_named_there(self):
        ops, logs, meta = named_history()
        logs["a"][2] = logs["a"][2][:-1]
        self.assert_only(check_named_logs(ops, logs, meta), "a", "node 2",
                         "differs")

    def test_a_consumer_of_one_log_fed_from_another_is_caught(self):
        ops, logs, meta = named_history()
        viewer = next(o for o in ops
                      if o["kind"] == "consume" and o.get("log") == "b")
        viewer["seen"][0] = [2, "p11-s1"]
        self.assert_only(check_named_logs(ops, logs, meta), "b",
                         "not a prefix", "p11-s1")

    def test_operations_on_a_log_missing_from_the_final_logs_are_caught(self):
        ops, logs, meta = named_history()
        del logs["b"]
        self.assert_only(check_named_logs(ops, logs, meta), "b",
                         "operations on log b", "no node")


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""The history checker of the chaos test.

check_history(ops, logs, meta) returns None when the history of one log
is correct, or a sentence describing the first violation with the
operations involved. check_named_logs(ops, logs, meta) checks each named
log of a run on its own (every log is its own Raft group: its own
indexes, terms, producer sessions) and returns {log: report or None}.
The rules, in the order they are checked:

  1. logs: every node's committed log is the same sequence of user
     entries, at strictly increasing indexes, no index above the node's
     commit index;
  2. no value is in the log twice, and every value in the log was sent by
     some append (nothing comes from nowhere);
  3. every acknowledged append is in the log exactly once, at the index it
     was acknowledged with; an append that got a definite error is not in
     it; an append whose outcome is unknown (timed out) is in it at most
     once (rule 2); and the logs are dense: the indexes READ skips are
     Raft's own entries, at most one no-op per term (a chaos run makes no
     membership changes) plus the node's `extra` (the catalog entries that
     created the named logs, in `default`), so commit - user entries <=
     term + extra (checked after the acknowledgements, so that a lost
     entry is named as such);
  4. a producer is told STALE_SEQUENCE only when it had already sent a
     later seq (one batch at a time: our producers never do, so the
     cluster's session table would be wrong);
  5. real-time order: if append A was acknowledged before append B began,
     index(A) < index(B);
  6. every consumer's view is a prefix of the final log: in order, no gaps,
     no repeats, nothing that is not (or not there) in the final log.

ops: appends {kind: append, producer, seq, value, start, end, outcome:
ok|error|unknown|stale, index (when ok), via (optional: which door)} and
consumer views {kind: consume, consumer, seen: [[index, value], ...]};
logs: {node: [[index, value], ...]}, every node's committed user entries
after convergence; meta (optional): {node: {commit, term}} from each
node's STATUS at the end, optionally with `extra`: how many of the
log's committed indexes may be Raft's own entries other than no-ops.

check_named_logs: ops as above, each with `log` (its log's name; absent:
"default"); logs: {log: {node: [[index, value], ...]}}; meta (optional):
{log: {node: {commit, term, extra}}}. An operation on a log that is not
in logs is a violation of its own (the run lost a whole log).
"""

DEFAULT_LOG = "default"


def _describe(op):
    """An append for a report: value, outcome, times and door."""
    if op is None:
        return "no append"
    text = "%s (%s" % (op["value"], op["outcome"])
    if op["outcome"] == "ok":
        text += " at %d" % op["index"]
    text += ", %.3f-%.3f s" % (op["start"], op["end"])
    if op.get("via"):
        text += ", via %s" % op["via"]
    return text + ")"


def _first_difference(a, b):
    return next((k for k, (x, y) in enumerate(zip(a, b)) if x != y),
                min(len(a), len(b)))


def _check_logs(logs, meta, sent):
    nodes = sorted(logs)
    final = logs[nodes[0]]
    for n in nodes:
        if logs[n] != final:
            k = _first_difference(logs[n], final)
            ours = logs[n][k] if k < len(logs[n]) else None
            theirs = final[k] if k < len(final) else None
            return ("node %s's log differs from node %s's at position %d: "
                    "%r vs %r (appends: %s; %s)"
                    % (n, nodes[0], k, ours, theirs,
                       _describe(sent.get(ours[1])) if ours else "none",
                       _describe(sent.get(theirs[1])) if theirs else
                       "none"))
    for n in nodes:
        indexes = [index for index, _ in logs[n]]
        for a, b in zip(indexes, indexes[1:]):
            if b <= a:
                return ("node %s's log indexes do not increase: %d then %d"
                        % (n, a, b))
        if n not in meta:
            continue
        commit = meta[n]["commit"]
        if indexes and indexes[-1] > commit:
            return ("node %s returned index %d above its commit index %d"
                    % (n, indexes[-1], commit))
    return None


def _check_dense(logs, meta):
    for n in sorted(meta):
        commit, term = meta[n]["commit"], meta[n]["term"]
        extra = meta[n].get("extra", 0)
        skipped = commit - len(logs[n])
        if skipped > term + extra:
            return ("node %s's log is not dense: %d of its %d committed "
                    "indexes are not user entries, more than one no-op per "
                    "term (term %d) and %d other entries of Raft's own"
                    % (n, skipped, commit, term, extra))
    return None


def check_history(ops, logs, meta=None):
    meta = meta or {}
    appends = [o for o in ops if o["kind"] == "append"]
    sent = {}
    for o in appends:
        sent.setdefault(o["value"], o)
    report = _check_logs(logs, meta, sent)
    if report:
        return report
    final = logs[sorted(logs)[0]]

    # 2. Uniqueness and provenance.
    where = {}
    for index, value in final:
        if value in where:
            return ("%r is in the log twice, at %d and %d; it was sent by %s"
                    % (value, where[value], index,
                       _describe(sent.get(value))))
        if value not in sent:
            return ("the log holds %r at %d, which no append sent"
                    % (value, index))
        where[value] = index

    # 3. Acknowledged appends at their index; definite errors absent.
    for o in appends:
        if o["outcome"] == "ok" and where.get(o["value"]) != o["index"]:
            return ("append %s: the log has it at %r"
                    % (_describe(o), where.get(o["value"])))
        if o["outcome"] == "error" and o["value"] in where:
            return ("append %s got a definite error but the log has it at "
                    "%d" % (_describe(o), where[o["value"]]))
    # Density after acknowledgements: a lost acknowledged entry is named
    # as such rather than as a hole.
    report = _check_dense(logs, meta)
    if report:
        return report

    # 4. STALE_SEQUENCE only after a later seq was sent.
    started = {}
    for o in appends:
        started.setdefault(o["producer"], []).append(o)
    for o in appends:
        if o["outcome"] != "stale":
            continue
        later = [p for p in started[o["producer"]]
                 if p["seq"] > o["seq"] and p["start"] < o["end"]]
        if not later:
            return ("append %s was answered STALE_SEQUENCE, but producer %s "
                    "had sent no later seq" % (_describe(o), o["producer"]))

    # 5. Real-time order. For each acknowledged B, compare it with the
    # highest index acknowledged before B began: that one must be lower.
    acked = sorted((o for o in appends if o["outcome"] == "ok"),
                   key=lambda o: o["end"])
    by_start = sorted((o for o in appends if o["outcome"] == "ok"),
                      key=lambda o: o["start"])
    highest, k = None, 0
    for b in by_start:
        while k < len(acked) and acked[k]["end"] < b["start"]:
            if highest is None or acked[k]["index"] > highest["index"]:
                highest = acked[k]
            k += 1
        if highest is not None and highest["index"] >= b["index"]:
            return ("real-time order violated: %s was acknowledged before "
                    "%s began, yet got a higher or equal index"
                    % (_describe(highest), _describe(b)))

    # 6. Consumers saw prefixes of the final log.
    for o in ops:
        if o["kind"] != "consume":
            continue
        seen = o["seen"]
        if seen != final[:len(seen)]:
            k = _first_difference(seen, final)
            got = seen[k] if k < len(seen) else None
            return ("consumer %s's view is not a prefix of the log: at "
                    "position %d it saw %r, the log has %r (entries before "
                    "it: %r; the append it saw: %s)"
                    % (o["consumer"], k, got, final[k:k + 1],
                       seen[max(0, k - 2):k],
                       _describe(sent.get(got[1])) if got else "none"))
    return None


def check_named_logs(ops, logs, meta=None):
    """{log: None or the first violation in that log} for every log in
    logs and every log an operation names; each log is checked on its own
    with check_history."""
    meta = meta or {}
    by_log = {}
    for o in ops:
        by_log.setdefault(o.get("log", DEFAULT_LOG), []).append(o)
    reports = {}
    for name in sorted(set(logs) | set(by_log)):
        if name not in logs:
            reports[name] = ("%d operations on log %s, but no node's final "
                             "logs include it" % (len(by_log[name]), name))
            continue
        reports[name] = check_history(by_log.get(name, []), logs[name],
                                      meta.get(name))
    return reports

#!/usr/bin/python3
"""The history checker of the chaos test.

check_history(ops, logs) returns None when the history is correct, or a
sentence describing the first violation with the operations involved.

ops: appends {kind: append, producer, seq, value, start, end, outcome:
ok|error|unknown, index (when ok)} and consumer views {kind: consume,
consumer, seen: [[index, value], ...]}; logs: {node: [[index, value],
...]}, every node's committed user entries after convergence.
"""


def check_history(ops, logs):
    nodes = sorted(logs)
    final = logs[nodes[0]]

    # Every node's committed log is the same sequence, indexes increasing.
    for n in nodes:
        if logs[n] != final:
            first = next((k for k, (a, b) in enumerate(zip(logs[n], final))
                          if a != b), min(len(logs[n]), len(final)))
            return ("node %s's log differs from node %s's at position %d: "
                    "%r vs %r" % (n, nodes[0], first,
                                  logs[n][first:first + 1],
                                  final[first:first + 1]))
    indexes = [index for index, _ in final]
    for a, b in zip(indexes, indexes[1:]):
        if b <= a:
            return "the log's indexes do not increase: %d then %d" % (a, b)

    # No value twice: values are unique per (producer, seq).
    where = {}
    for index, value in final:
        if value in where:
            return ("%r is in the log twice, at %d and %d"
                    % (value, where[value], index))
        where[value] = index

    appends = [o for o in ops if o["kind"] == "append"]
    # Every acknowledged append is in the log once, at its index. Timed-out
    # (unknown) appends are at most once: covered by the uniqueness above.
    for o in appends:
        if o["outcome"] == "ok" and where.get(o["value"]) != o["index"]:
            return ("append %r was acknowledged at index %d but the log has "
                    "it at %r (op %r)" % (o["value"], o["index"],
                                          where.get(o["value"]), o))
        if o["outcome"] == "error" and o["value"] in where:
            return ("append %r got an error but is in the log at %d (op %r)"
                    % (o["value"], where[o["value"]], o))

    # Real-time order: acknowledged before another began -> lower index.
    acked = sorted((o for o in appends if o["outcome"] == "ok"),
                   key=lambda o: o["end"])
    by_start = sorted((o for o in appends if o["outcome"] == "ok"),
                      key=lambda o: o["start"])
    # For each op B, every A with A.end < B.start must have A.index <
    # B.index: compare B with the highest index acknowledged before it
    # began.
    highest, k = None, 0
    for b in by_start:
        while k < len(acked) and acked[k]["end"] < b["start"]:
            if highest is None or acked[k]["index"] > highest["index"]:
                highest = acked[k]
            k += 1
        if highest is not None and highest["index"] >= b["index"]:
            return ("real-time order violated: %r was acknowledged at index "
                    "%d before %r began, which got index %d"
                    % (highest["value"], highest["index"], b["value"],
                       b["index"]))

    # Every consumer saw a prefix of the log, in order, no gaps or repeats.
    for o in ops:
        if o["kind"] != "consume":
            continue
        seen = o["seen"]
        if seen != final[:len(seen)]:
            first = next((k for k, (a, b) in enumerate(zip(seen, final))
                          if a != b), min(len(seen), len(final)))
            return ("consumer %d's view is not a prefix of the log: at "
                    "position %d it saw %r, the log has %r"
                    % (o["consumer"], first, seen[first:first + 1],
                       final[first:first + 1]))
    return None

"""Print one order's trace from a span file written by `schemabus run --trace-file`.

    .venv/bin/python -m services.trace .demo/traces.jsonl ord-1234

Finds the trace whose spans carry the order id as the CloudEvents subject (the aggregate
id) and prints its spans as a tree, in time order, with the service that recorded each.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any


def load(path: Path) -> list[dict[str, Any]]:
    spans = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        if isinstance(record, dict) and "trace_id" in record:
            spans.append(record)
    return spans


def trace_of(spans: list[dict[str, Any]], order_id: str) -> list[dict[str, Any]]:
    trace_ids = {
        s["trace_id"]
        for s in spans
        if s.get("attributes", {}).get("cloudevents.event_subject") == order_id
    }
    if not trace_ids:
        return []
    first = min(trace_ids, key=lambda t: min(s["start_ns"] for s in spans if s["trace_id"] == t))
    return [s for s in spans if s["trace_id"] == first]


def render(trace: list[dict[str, Any]]) -> list[str]:
    by_parent: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    ids = {s["span_id"] for s in trace}
    for s in trace:
        parent = s["parent_id"] if s["parent_id"] in ids else None
        by_parent[parent].append(s)
    start = min(s["start_ns"] for s in trace)
    lines = [f"trace {trace[0]['trace_id']}"]

    def walk(parent: str | None, depth: int) -> None:
        for s in sorted(by_parent[parent], key=lambda x: x["start_ns"]):
            at = (s["start_ns"] - start) / 1e6
            took = (s["end_ns"] - s["start_ns"]) / 1e6
            attrs = s.get("attributes", {})
            kind = s["kind"].lower()
            what = attrs.get("cloudevents.event_type", "")
            lines.append(
                f"{'  ' * depth}+{at:8.1f} ms  {s['service']:<10} {kind:<8} {s['name']:<30} "
                f"{what} ({took:.1f} ms)"
            )
            walk(s["span_id"], depth + 1)

    walk(None, 0)
    return lines


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m services.trace TRACE_FILE ORDER_ID", file=sys.stderr)
        return 2
    path, order_id = Path(args[0]), args[1]
    if not path.is_file():
        print(f"trace: no such file {path}", file=sys.stderr)
        return 2
    trace = trace_of(load(path), order_id)
    if not trace:
        print(f"trace: no spans for order {order_id} in {path}", file=sys.stderr)
        return 1
    print("\n".join(render(trace)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

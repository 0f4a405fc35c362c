"""`codegen check --samples URL|FILE`: real entries, decoded by every reader that will
read them, through the runtime's own decode path.

The readers are the consumers these contracts declare and, with `--deployed`, every
deployed replica as it runs (its reader version, known versions, read plans and
upcasters). The decoding itself happens in `python -m runtime.probe`, run in the project
(codegen never imports the runtime or the generated code), which answers in JSON; this
module turns that into findings, one per entry and problem:

* SAMPLE_UNREADABLE: a reader would dead-letter the entry (with the runtime's reason);
* SAMPLE_OFF_CONTRACT: the payload breaks the contract of the version it claims (its
  model rejects it, or it holds a null the schema forbids);
* SAMPLE_UNDECLARED_PROPERTY: it holds a property its version does not declare, while
  the type is judged with `runtime` semantics, which assume writers never do that;
* SAMPLE_UNKNOWN_EVENT / SAMPLE_MALFORMED: not a version of these contracts / not an
  envelope at all.

Payloads appear only with `--show-payloads` (they may hold personal data).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from codegen.background import Background
from codegen.build import CATALOG_REL
from codegen.deployed import Snapshot, is_url, redact
from codegen.errors import BadInput, Finding
from codegen.ir import Project

#: Findings printed per stream and rule; the rest are counted in one more finding.
MAX_FINDINGS = 100


def _readers(project: Project, snapshot: Snapshot | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for svc in project.services:
        for type_name, version in svc.consumes:
            out.append(
                {
                    "label": f"{svc.name} (reads v{version} in these contracts)",
                    "type": type_name,
                    "version": version,
                }
            )
    for replica in snapshot.replicas if snapshot else ():
        for r in replica.consumes:
            out.append(
                {
                    "label": f"deployed {replica.service} replica {replica.replica} "
                    f"(reads v{r.version})",
                    "type": r.type,
                    "version": r.version,
                    "known": {str(k): v for k, v in r.known.items()},
                    "plans": {
                        str(k): {"via": route.via, "upcasters": [list(u) for u in route.upcasters]}
                        for k, route in r.reads.items()
                    },
                    "upcasters": sorted(list(u) for u in r.upcasters),
                }
            )
    return out


def _streams(project: Project, snapshot: Snapshot | None) -> list[tuple[str, int]]:
    streams = {
        (t.config.stream, t.config.partitions)
        for t in project.types
        if t.config.delivery == "durable" and t.config.stream
    }
    for replica in snapshot.replicas if snapshot else ():
        used = [(r.delivery, r.destination, r.partitions) for r in replica.consumes]
        used += [(w.delivery, w.destination, w.partitions) for w in replica.produces]
        streams.update((dest, n) for delivery, dest, n in used if delivery == "durable")
    return sorted(streams)


def _source(where: str) -> dict[str, str]:
    if is_url(where):
        return {"where": where, "label": redact(where)}
    return {"where": str(Path(where).resolve()), "label": where}


def _fail(where: str, message: str) -> BadInput:
    return BadInput([Finding(where, 0, message, "SAMPLES_UNREADABLE")])


def _message(f: dict[str, Any], project: Project) -> str:
    what = f"{f['type']} v{f['version']}" if f["type"] else "an entry"
    head = f"{f['key']} entry {f['id']} ({what}): "
    rule = f["rule"]
    if rule == "SAMPLE_UNREADABLE":
        body = f"{', '.join(f['readers'])} would dead-letter it ({f['dlq_reason']}): {f['reason']}"
    elif rule == "SAMPLE_UNDECLARED_PROPERTY":
        body = (
            f"{f['reason']}. {f['type']} is judged with runtime semantics: fix the producer, "
            "or set `semantics: strict` for the type in the catalog."
        )
    elif rule == "SAMPLE_UNKNOWN_EVENT":
        body = (
            f"{f['reason']}; its consumers would dead-letter it, and nothing here says what "
            "it may contain."
        )
    elif rule == "SAMPLE_MALFORMED":
        body = f"{f['reason']}; every consumer group of the stream would dead-letter it."
    else:
        body = f"{f['reason']}."
    text = head + body
    if "payload" in f:
        payload = f["payload"]
        text += f" Payload: {payload if len(payload) <= 2000 else payload[:1997] + '...'}"
    return text


def _path(f: dict[str, Any], project: Project) -> str:
    try:
        return project.version(f["type"], int(f["version"])).path
    except (KeyError, TypeError, ValueError):
        return CATALOG_REL


def not_checked() -> Finding:
    return Finding(
        "generated/",
        0,
        "Samples were not checked: decoding them needs generated/ to match these contracts; "
        "fix the findings above (and run `make gen`) first.",
        "SAMPLES_NOT_CHECKED",
    )


class SampleJob:
    """`python -m runtime.probe` for these sources, started at once; `findings()` waits."""

    def __init__(
        self,
        root: Path,
        project: Project,
        sources: list[str],
        *,
        snapshot: Snapshot | None,
        count: int,
        show_payloads: bool,
    ) -> None:
        self.project = project
        where = [_source(s) for s in sources]
        self.label = ", ".join(s["label"] for s in where)
        request = {
            "sources": where,
            "streams": _streams(project, snapshot),
            "count": count,
            "readers": _readers(project, snapshot),
            "semantics": {t.name: t.config.semantics for t in project.types},
            "show_payloads": show_payloads,
        }
        self._job = Background("runtime.probe", [], cwd=root, stdin=json.dumps(request))

    def cancel(self) -> None:
        self._job.cancel()

    def _answer(self) -> dict[str, Any]:
        code, out, err = self._job.wait()
        try:
            answer: dict[str, Any] = json.loads(out)
        except ValueError:
            lines = (err or out).strip().splitlines()
            raise _fail(
                self.label, f"The sample check failed: {lines[-1] if lines else code}."
            ) from None
        if "error" in answer:
            raise _fail(self.label, f"Cannot check samples: {answer['error']}.")
        return answer

    def findings(self, notes: list[str]) -> list[Finding]:
        """The findings (waits for the probe); raises BadInput when the samples cannot be
        read at all. Per-stream counts and readers that could not be reproduced go to
        `notes`."""
        project = self.project
        answer = self._answer()
        findings: list[Finding] = []
        for result in answer["results"]:
            streams = result["streams"]
            if not streams:
                notes.append(f"samples: {result['source']}: no entries")
            for stream, c in streams.items():
                notes.append(
                    f"samples: {result['source']}: {stream}: {c['checked']} checked, "
                    f"{c['passed']} passed"
                )
            by_group: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for f in result["findings"]:
                by_group[(f["stream"], f["rule"])].append(f)
            for (stream, rule), group in sorted(by_group.items()):
                for f in group[:MAX_FINDINGS]:
                    findings.append(Finding(_path(f, project), 0, _message(f, project), rule))
                if len(group) > MAX_FINDINGS:
                    findings.append(
                        Finding(
                            CATALOG_REL,
                            0,
                            f"{stream}: {len(group) - MAX_FINDINGS} more findings like the "
                            f"above in {result['source']} (the first {MAX_FINDINGS} are shown).",
                            rule,
                        )
                    )
        for skipped in answer.get("skipped", []):
            notes.append(f"samples: not decoded as {skipped['reader']}: {skipped['reason']}")
        return findings

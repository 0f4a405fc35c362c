"""`codegen check --deployed`: these contracts against the services running right now.

On top of the catalog checks, which judge versions against each other, this judges the
change against what is deployed (the snapshot's replicas, each with its own build):

* every version these contracts produce must be readable by every deployed consumer of
  its type as that replica runs now: directly or through the upcasters it loaded, and only
  if its registry knows the version at all (DEPLOYED_CONSUMER_BREAKS, or
  DEPLOYED_CONSUMER_OUTDATED when rebuilding it from these contracts would be enough);
* every version a deployed producer still writes must be readable by the consumers these
  contracts declare (DEPLOYED_PRODUCER_UNREADABLE);
* a version that deployed services still write or read must not disappear from the
  contracts (DEPLOYED_VERSION_RETIRED), move to another stream, subject or partition
  count (DEPLOYED_VERSION_MOVED), or differ from the build they run
  (DEPLOYED_SCHEMA_MISMATCH).

Replicas of one service that fail the same way are reported together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from codegen.build import CATALOG_REL
from codegen.deployed import Replica, Snapshot
from codegen.errors import Finding
from codegen.ir import EventType, Project
from codegen.readability import BREAKS, Judge, plural, short

CONSUMER_BREAKS = "DEPLOYED_CONSUMER_BREAKS"
CONSUMER_OUTDATED = "DEPLOYED_CONSUMER_OUTDATED"
PRODUCER_UNREADABLE = "DEPLOYED_PRODUCER_UNREADABLE"
VERSION_RETIRED = "DEPLOYED_VERSION_RETIRED"
VERSION_MOVED = "DEPLOYED_VERSION_MOVED"
SCHEMA_MISMATCH = "DEPLOYED_SCHEMA_MISMATCH"


def _grouped(items: Iterable[tuple[str, str, int, str, str, str]]) -> list[Finding]:
    """(rule, path, line, service, replica, message with `{who}`) -> one finding per
    service and message, naming all its replicas."""
    groups: dict[tuple[str, str, int, str, str], list[str]] = defaultdict(list)
    for rule, path, line, service, replica, message in items:
        groups[(rule, path, line, service, message)].append(replica)
    out = []
    for (rule, path, line, service, message), replicas in groups.items():
        who = f"deployed {service} {plural(sorted(set(replicas)), 'replica', 'replicas')}"
        out.append(Finding(path, line, message.replace("{who}", who), rule))
    return out


def _sentence(text: str) -> str:
    return text if text.endswith((".", "}", "]", '"')) else text + "."


def _destination(t: EventType) -> tuple[str, str, int]:
    c = t.config
    if c.delivery == "durable" and c.stream:
        return ("durable", c.stream, c.partitions)
    return (c.delivery, c.subject, 1)


def _where(delivery: str, destination: str, partitions: int) -> str:
    if delivery == "durable":
        n = f" ({partitions} partitions)" if partitions > 1 else ""
        return f"stream {destination}{n}"
    return f"subject {destination}"


def deployed_findings(project: Project, snap: Snapshot) -> list[Finding]:
    judge = Judge(project)
    items: list[tuple[str, str, int, str, str, str]] = []
    for replica in snap.replicas:
        items += _consumer_items(project, judge, replica)
        items += _contract_items(project, judge, replica)
    items += _producer_items(project, judge, snap)
    return sorted(set(_grouped(items)))


def _consumer_items(
    project: Project, judge: Judge, replica: Replica
) -> list[tuple[str, str, int, str, str, str]]:
    """Versions these contracts produce against one deployed replica's readers."""
    out = []
    for reader in replica.consumes:
        writers: dict[int, list[str]] = defaultdict(list)
        for svc in project.services:
            for type_name, version in svc.produces:
                if type_name == reader.type:
                    writers[version].append(svc.name)
        for written, services in sorted(writers.items()):
            verdict = judge.deployed_reads(reader, written)
            if verdict.ok:
                continue
            by = f"{reader.type} v{written}, which {', '.join(sorted(services))} "
            by += "writes in these contracts,"
            subject = (
                f"{{who}} (reads {reader.type} at v{reader.version}, registry "
                f"{short(replica.registry)})"
            )
            w = judge.version(reader.type, written)
            path = verdict.path or (w.path if w else CATALOG_REL)
            if verdict.kind == BREAKS:
                msg = (
                    f"{by} cannot be read by {subject}: {_sentence(verdict.reason)} Deploy "
                    f"{replica.service} reading a version that reads v{written} before "
                    f"anything writes v{written} (`codegen rollout` prints the order)."
                )
                out.append(
                    (CONSUMER_BREAKS, path, verdict.line, replica.service, replica.replica, msg)
                )
            else:
                msg = (
                    f"{by} is unknown to {subject}: {verdict.reason}. Deploy "
                    f"{replica.service} built from these contracts (no code change needed) "
                    f"before anything writes v{written} (`codegen rollout` prints the order)."
                )
                out.append(
                    (CONSUMER_OUTDATED, path, verdict.line, replica.service, replica.replica, msg)
                )
    return out


def _contract_items(
    project: Project, judge: Judge, replica: Replica
) -> list[tuple[str, str, int, str, str, str]]:
    """Retired, moved or altered versions that one replica still reads or writes."""
    out = []
    types = {t.name: t for t in project.types}
    uses = [
        ("reads", r.type, r.version, (r.delivery, r.destination, r.partitions), "from")
        for r in replica.consumes
    ] + [
        ("writes", w.type, w.version, (w.delivery, w.destination, w.partitions), "to")
        for w in replica.produces
    ]
    for verb, type_name, version, where, prep in uses:
        t = types.get(type_name)
        v = judge.version(type_name, version)
        if t is None or v is None:
            gone = "the type" if t is None else f"v{version}"
            msg = (
                f"{type_name} v{version} is not in these contracts ({gone} was removed), but "
                f"{{who}} still {verb} it. Keep it until no deployed service writes or reads "
                "it (`schemabus deployed` shows who does)."
            )
            out.append((VERSION_RETIRED, CATALOG_REL, 0, replica.service, replica.replica, msg))
            continue
        now = _destination(t)
        if where != now:
            msg = (
                f"These contracts move {type_name} to {_where(*now)}, but {{who}} still "
                f"{verb} v{version} {prep} {_where(*where)}: consumers on one side would never "
                "see what producers on the other write. Drain the old destination and deploy "
                "in steps (README: Partitions and replicas)."
            )
            out.append(
                (
                    VERSION_MOVED,
                    CATALOG_REL,
                    t.config.catalog_line,
                    replica.service,
                    replica.replica,
                    msg,
                )
            )
    fingerprints: dict[tuple[str, int], str] = {}
    for r in replica.consumes:
        fingerprints.update({(r.type, n): fp for n, fp in r.known.items()})
    for w in replica.produces:
        fingerprints[(w.type, w.version)] = w.fingerprint
    for (type_name, number), fp in sorted(fingerprints.items()):
        v = judge.version(type_name, number)
        if v is not None and v.fingerprint != fp:
            msg = (
                f"{{who}} runs a build whose {type_name} v{number} ({short(fp)}) differs from "
                f"the one in these contracts ({short(v.fingerprint)}). A published version "
                "must never change: find out which one is right and make the change a new "
                "version."
            )
            out.append((SCHEMA_MISMATCH, v.path, 1, replica.service, replica.replica, msg))
    return out


def _producer_items(
    project: Project, judge: Judge, snap: Snapshot
) -> list[tuple[str, str, int, str, str, str]]:
    """What deployed producers write, against the consumers these contracts declare."""
    out = []
    for replica in snap.replicas:
        for w in replica.produces:
            if judge.version(w.type, w.version) is None:
                continue  # reported as retired
            for svc in project.services:
                for type_name, reads in svc.consumes:
                    if type_name != w.type or svc.name == replica.service:
                        continue
                    if judge.target_reads(w.type, reads, w.version):
                        continue
                    verdict = judge.explain(w.type, reads, w.version)
                    why = _sentence(verdict.reason)
                    msg = (
                        f"{svc.name} reads {w.type} at v{reads} in these contracts and cannot "
                        f"read v{w.version}, which {{who}} still writes: {why} "
                        f"Deploying {svc.name} now would dead-letter those events; deploy "
                        f"{replica.service} writing a version v{reads} reads first."
                    )
                    out.append(
                        (
                            PRODUCER_UNREADABLE,
                            verdict.path,
                            verdict.line,
                            replica.service,
                            replica.replica,
                            msg,
                        )
                    )
    return out

"""Who can read what: a deployed replica (what its build really does) or a reader built
from these contracts (what the gate proves). Shared by `check --deployed` and `rollout`.

A deployed replica decodes an event of version W only if its own registry knows W and
has a read plan for it (the runtime dead-letters unknown versions, however compatible:
a build cannot know what a later version will look like). A reader built from these
contracts knows every version; it reads older versions directly or through upcasters
(`gen` requires them) and newer ones when the gate proves forward compatibility.
"""

from __future__ import annotations

from dataclasses import dataclass

from codegen.deployed import Reader
from codegen.gate import can_read, locate, read_failures, witness_text
from codegen.ir import EventType, Project, Version

OK = "ok"
UNKNOWN = "unknown"  # its build does not know the version; a rebuild would read it
BREAKS = "breaks"  # its reader version cannot read it (or its build has no plan)


@dataclass(frozen=True)
class Verdict:
    kind: str
    reason: str = ""  # a sentence (without the subject) saying why, for BREAKS / UNKNOWN
    path: str = ""  # where the reason points (the writer's schema)
    line: int = 0

    @property
    def ok(self) -> bool:
        return self.kind == OK


class Judge:
    def __init__(self, project: Project) -> None:
        self.types = {t.name: t for t in project.types}

    def version(self, type_name: str, number: int) -> Version | None:
        t = self.types.get(type_name)
        if t is None:
            return None
        return next((v for v in t.versions if v.version == number), None)

    def target_reads(self, type_name: str, reader: int, written: int) -> bool:
        """Does a reader on `reader`, built from these contracts, read `written` events?"""
        t = self.types.get(type_name)
        r, w = self.version(type_name, reader), self.version(type_name, written)
        if t is None or r is None or w is None:
            return False
        # Older versions: directly, or through the upcasters `gen` insists on.
        return written <= reader or can_read(t, w, r)

    def explain(self, type_name: str, reader: int, written: int) -> Verdict:
        """Why a reader on `reader` cannot read `written` events, located in the writer."""
        t = self.types[type_name]
        r, w = self.version(type_name, reader), self.version(type_name, written)
        assert r is not None and w is not None
        found = read_failures(t, w, r)
        who = f"a reader of v{reader} must read v{written} events"
        if not found:
            return Verdict(BREAKS, f"{who}, and the gate could not prove it can.", w.path, 1)
        f = found[0]
        path, line = locate(w, f.old_pointer if written < reader else f.new_pointer)
        text = f"{who}: {f.message}"
        if f.has_witness:
            text += f" Example that breaks: {witness_text(f.witness)}"
        return Verdict(BREAKS, text, path, line)

    def deployed_reads(self, reader: Reader, written: int) -> Verdict:
        """Does this deployed replica read `written` events of its type, as it runs now?"""
        if written == reader.version:
            return Verdict(OK)
        t = self.types.get(reader.type)
        if written not in reader.known:
            if t is not None and self.target_reads(reader.type, reader.version, written):
                w = self.version(reader.type, written)
                return Verdict(
                    UNKNOWN,
                    f"its build does not know v{written} (a replica dead-letters versions its "
                    f"registry lacks), although v{reader.version} can read v{written}",
                    w.path if w else "",
                    1,
                )
            if t is None or self.version(reader.type, written) is None:
                return Verdict(BREAKS, f"v{written} is not in these contracts either")
            if self.version(reader.type, reader.version) is None:
                return Verdict(BREAKS, f"v{reader.version} is not in these contracts any more")
            return self.explain(reader.type, reader.version, written)
        route = reader.reads.get(written)
        if route is None:
            if (
                t is not None
                and self.version(reader.type, written)
                and self.version(reader.type, reader.version)
            ):
                base = self.explain(reader.type, reader.version, written)
                return Verdict(
                    BREAKS,
                    f"its registry has no read plan for v{written}; {base.reason}",
                    base.path,
                    base.line,
                )
            return Verdict(BREAKS, f"its registry has no read plan for v{written}")
        missing = [k for k in route.upcasters if k not in reader.upcasters]
        if missing:
            steps = ", ".join(f"{a}->{b}" for _, a, b in missing)
            return Verdict(BREAKS, f"it reads v{written} through upcasters it lacks ({steps})")
        return Verdict(OK)


def describe_change(t: EventType, old: Version, new: Version) -> tuple[str, str]:
    """('backward only' | 'forward only' | 'full' | 'breaking', the sentence saying so)."""
    back = can_read(t, old, new)  # a reader on new reads old events
    fwd = can_read(t, new, old)  # a reader on old reads new events
    a, b = old.version, new.version
    kind = {
        (True, True): "full",
        (True, False): "backward only",
        (False, True): "forward only",
        (False, False): "breaking",
    }[(back, fwd)]
    parts = [
        f"readers on v{b} {'read' if back else 'cannot read'} v{a} events"
        + ("" if back else " (without upcasters)"),
        f"readers on v{a} {'read' if fwd else 'cannot read'} v{b} events",
    ]
    return kind, "; ".join(parts)


def short(fingerprint: str) -> str:
    return fingerprint.removeprefix("sha256:")[:12]


def plural(items: list[str], one: str, many: str) -> str:
    return f"{one if len(items) == 1 else many} {', '.join(items)}"

"""Which live member of a group should own which partition: a pure function.

Every member computes the assignment itself from the same two inputs (the sorted list of
live members, read from the broker, and the partitions of the streams the group reads),
so there is no coordinator to elect: members agree because the function is deterministic.

Rendezvous (highest-random-weight) hashing with a load cap. For each partition the members
are ranked by a stable hash of (partition, member); partitions are then placed, in sorted
order, on the best-ranked member that still has room: every member ends with
floor(partitions / members) or one more. Without the cap, 4 partitions over 3 members
often put 3 on one member; with it the load differs by at most one. Rendezvous ranking
keeps movement small: when a member joins, a partition moves only where the newcomer
ranks first (about 1/(m+1) of them, plus rare cap spill-over); when one leaves, mostly
its own partitions move (tests measure both).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence


def _weight(partition: str, member: str) -> bytes:
    return hashlib.blake2b(f"{partition}\x00{member}".encode(), digest_size=8).digest()


def assign(partitions: Iterable[str], members: Iterable[str]) -> dict[str, list[str]]:
    """member -> the partitions it should own (every partition exactly once)."""
    live = sorted(set(members))
    units = sorted(set(partitions))
    out: dict[str, list[str]] = {m: [] for m in live}
    if not live:
        return out
    # Loads end up exactly floor or floor + 1, with `extra` members at floor + 1.
    floor, extra = divmod(len(units), len(live))
    for unit in units:
        ranked = sorted(live, key=lambda m: _weight(unit, m), reverse=True)
        for member in ranked:
            load = len(out[member])
            if load < floor or (load == floor and extra > 0):
                if load == floor:
                    extra -= 1
                out[member].append(unit)
                break
    return out


def owned_by(member: str, partitions: Sequence[str], members: Iterable[str]) -> list[str]:
    """The partitions `member` should own."""
    return assign(partitions, members).get(member, [])

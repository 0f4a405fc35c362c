"""Partition routing and assignment: pure functions, pinned so they never drift.

A change to `partition_of` would send an aggregate's new events to a different partition
than its old ones (and break producers in other languages that route the same way), so
known values are pinned here, not recomputed.
"""

from __future__ import annotations

import itertools
import zlib

import pytest

from runtime import constants as C
from runtime.assignment import assign
from runtime.partitioning import (
    colocated_key,
    hash_tag,
    partition_key,
    partition_keys,
    partition_of,
    slot_tag,
    split_partition,
)

PINNED = {
    # key: partitions for N = 1, 2, 4, 8, 16
    "ord-1": [0, 1, 3, 7, 15],
    "ord-1002": [0, 0, 2, 2, 2],
    "a": [0, 1, 3, 3, 3],
    "": [0, 0, 0, 0, 0],
    "héllo": [0, 0, 2, 6, 6],
    "o42": [0, 0, 0, 0, 8],
}


@pytest.mark.parametrize("key", sorted(PINNED))
def test_partition_of_is_pinned(key: str) -> None:
    assert [partition_of(key, n) for n in (1, 2, 4, 8, 16)] == PINNED[key]


def test_partition_of_is_crc32_of_utf8_mod_n() -> None:
    # The documented rule, so a producer in another language can route the same way.
    for key in ("ord-1", "héllo", "x" * 300):
        assert partition_of(key, 7) == zlib.crc32(key.encode()) % 7


def test_keys_and_hash_tags() -> None:
    assert partition_key("orders", 0, 1) == "orders"
    assert partition_keys("orders", 4) == ["orders:{0}", "orders:{1}", "orders:{2}", "orders:{3}"]
    assert split_partition("orders:{3}") == ("orders", 3)
    assert split_partition("orders") == ("orders", None)
    assert hash_tag("orders:{3}") == "orders:{3}"
    assert hash_tag("orders") == "{orders}"
    # Every key derived from a partition carries the partition's hash tag (one slot).
    for p in ("orders", "orders:{2}"):
        tag = "{orders}" if p == "orders" else "{2}"
        for derived in (
            C.dead_letter_stream(p),
            C.lease_key(p, "payment"),
            C.idempotency_key(p, "payment", "e1"),
        ):
            assert tag in derived, derived
        assert C.source_of_dead_letter_stream(C.dead_letter_stream(p)) == p


def _units(n: int) -> list[str]:
    return partition_keys("orders", n) + partition_keys("payments", n)


def test_assignment_covers_every_partition_once_and_balances() -> None:
    for n_units, n_members in itertools.product((1, 4, 8, 16), (1, 2, 3, 5)):
        units = partition_keys("orders", n_units)
        members = [f"m{i}" for i in range(n_members)]
        result = assign(units, members)
        owned = [u for us in result.values() for u in us]
        assert sorted(owned) == sorted(units)
        loads = [len(us) for us in result.values()]
        assert max(loads) - min(loads) <= 1, (n_units, n_members, result)


def test_assignment_is_deterministic_whatever_the_order() -> None:
    units = _units(8)
    a = assign(units, ["x", "y", "z"])
    b = assign(list(reversed(units)), ["z", "x", "y", "x"])
    assert a == b


def test_assignment_moves_little_when_members_come_and_go() -> None:
    units = _units(16)  # 32 partitions
    members = [f"pod-{i}" for i in range(4)]
    before = assign(units, members)
    owner = {u: m for m, us in before.items() for u in us}

    joined = assign(units, [*members, "pod-new"])
    moved = [u for m, us in joined.items() for u in us if owner[u] != m]
    # The newcomer takes its fair share (about 1/5) and little else moves.
    assert len(joined["pod-new"]) in (6, 7)
    assert len(moved) <= len(joined["pod-new"]) + 3

    left = assign(units, members[1:])
    moved = [u for m, us in left.items() for u in us if owner[u] != m]
    # Mostly the leaver's partitions move.
    assert set(before["pod-0"]) <= set(moved)
    assert len(moved) <= len(before["pod-0"]) + 3


def test_no_members_no_assignment() -> None:
    assert assign(["orders"], []) == {}


@pytest.mark.parametrize(
    ("partition", "tag"), [("orders:{2}", "{2}"), ("orders", "{orders}"), ("a.b-c", "{a.b-c}")]
)
def test_colocated_keys_share_the_partitions_slot(partition: str, tag: str) -> None:
    from redis.crc import key_slot

    assert slot_tag(partition) == tag
    key = colocated_key(partition, "ledger")
    assert key == f"ledger:{tag}"
    slot = key_slot(partition.encode())
    # ... the slot of every key the framework derives from the partition, too.
    for derived in (key, C.lease_key(partition, "g"), C.dead_letter_stream(partition)):
        assert key_slot(derived.encode()) == slot
    assert key_slot(C.idempotency_key(partition, "g", "e1").encode()) == slot


def test_colocated_key_refuses_braces_in_the_name() -> None:
    with pytest.raises(ValueError, match="brace"):
        colocated_key("orders:{2}", "ledger:{x}")

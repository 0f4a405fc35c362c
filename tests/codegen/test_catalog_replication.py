"""Catalog `durability: replicated` (durable events) and `replicas: R` (JetStream) reach
the generated registry's EventSpecs; misplaced ones are located catalog errors."""

from __future__ import annotations

from pathlib import Path

from tests.codegen.golden import run_codegen
from tests.codegen.test_gate_e2e import repo  # noqa: F401  (the fixture)


def _add(root: Path, event: str, *lines: str) -> None:
    """Append setting lines to one event's entry in the catalog."""
    catalog = root / "schemas" / "catalog.yaml"
    out: list[str] = []
    for line in catalog.read_text().splitlines(keepends=True):
        out.append(line)
        if line == f"  {event}:\n":
            out += [f"    {x}\n" for x in lines]
    catalog.write_text("".join(out))


def test_durability_and_replicas_reach_the_registry(repo: Path) -> None:  # noqa: F811
    _add(repo, "order.created", "durability: replicated")
    _add(repo, "inventory.update", "jetstream: true", "replicas: 3")
    code, out, err = run_codegen(repo, "gen")
    assert code == 0, out + err
    registry = (repo / "generated" / "registry.py").read_text()
    created = registry[registry.index("ORDER_CREATED_V2 = EventSpec(") :]
    created = created[: created.index("\n)\n")]
    assert 'durability="replicated"' in created and "replicas=" not in created
    update = registry[registry.index("INVENTORY_UPDATE_V1 = EventSpec(") :]
    update = update[: update.index("\n)\n")]
    assert "replicas=3" in update and "durability=" not in update
    # Events that keep the defaults are generated exactly as before.
    processed = registry[registry.index("PAYMENT_PROCESSED_V1 = EventSpec(") :]
    processed = processed[: processed.index("\n)\n")]
    assert "durability=" not in processed and "replicas=" not in processed
    assert run_codegen(repo, "check")[0] == 0


def test_durability_needs_a_durable_event(repo: Path) -> None:  # noqa: F811
    _add(repo, "inventory.update", "durability: replicated")
    code, out, _ = run_codegen(repo, "check")
    assert code == 1, out
    assert "schemas/catalog.yaml:" in out and "(CATALOG_INVALID)" in out
    assert "events.inventory.update.delivery: 'durable' was expected" in out


def test_replicas_need_jetstream(repo: Path) -> None:  # noqa: F811
    _add(repo, "order.created", "replicas: 3")
    code, out, _ = run_codegen(repo, "check")
    assert code == 1, out
    assert "(CATALOG_INVALID)" in out and "events.order.created" in out and "jetstream" in out

"""The gate end to end on a temporary copy of this repository's contracts: a breaking edit
fails with a located finding and a witness, a compatible edit passes, editing a published
version asks for a new version, `--against` catches deletions, and a declared breaking
version requires an upcaster."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.codegen.golden import run_codegen

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    work = tmp_path / "repo"
    shutil.copytree(REPO / "schemas", work / "schemas")
    shutil.copytree(REPO / "generated", work / "generated")
    (work / "services").mkdir()
    shutil.copy(REPO / "services" / "upcasters.py", work / "services" / "upcasters.py")
    for name in ("order", "payment", "inventory"):
        (work / "services" / name).mkdir()
    assert run_codegen(work, "check")[0] == 0
    return work


def _bump(repo: Path, type_name: str, edit: dict[str, object]) -> Path:
    assert run_codegen(repo, "bump", type_name)[0] == 0
    folder = repo / "schemas" / "events" / type_name
    latest = max(folder.glob("v*.json"), key=lambda p: int(p.stem[1:]))
    doc = json.loads(latest.read_text())
    for key, value in edit.items():
        if value is None:
            doc["properties"].pop(key)
        else:
            doc["properties"][key] = value
    latest.write_text(json.dumps(doc, indent=2))
    return latest


def test_compatible_edit_passes(repo: Path) -> None:
    _bump(repo, "payment.failed", {"retryable": {"type": "boolean"}})
    assert run_codegen(repo, "gen")[0] == 0
    code, out, _ = run_codegen(repo, "check")
    assert (code, out) == (0, "")


def test_breaking_edit_fails_with_location_and_witness(repo: Path) -> None:
    path = _bump(repo, "payment.failed", {"reason": {"type": "string", "enum": ["limit_exceeded"]}})
    code, out, _ = run_codegen(repo, "check")
    assert code == 1
    line = next(x for x in out.splitlines() if "schemas/events/payment.failed/v2.json:" in x)
    assert line.endswith(")") and "Example that breaks:" in line
    lineno = int(line.split(":")[1])
    lines = path.read_text().splitlines()
    # The finding points into the narrowed property: its enum, or the property itself.
    assert '"enum"' in lines[lineno - 1] or '"reason"' in lines[lineno - 1]
    assert any('"reason"' in x for x in lines[lineno - 3 : lineno])
    assert run_codegen(repo, "gen")[0] == 1, "gen refuses to write a breaking version"
    code, gh, _ = run_codegen(repo, "check", "--format", "github")
    assert code == 1 and gh.startswith("::error file=schemas/events/payment.failed/v2.json,line=")
    code, js, _ = run_codegen(repo, "check", "--format", "json")
    assert code == 1 and json.loads(js)[0]["path"] == "schemas/events/payment.failed/v2.json"


def test_editing_a_published_version_asks_for_a_new_one(repo: Path) -> None:
    v1 = repo / "schemas" / "events" / "payment.failed" / "v1.json"
    doc = json.loads(v1.read_text())
    doc["properties"]["detail"]["maxLength"] = 100
    v1.write_text(json.dumps(doc, indent=2))
    code, out, _ = run_codegen(repo, "check")
    assert code == 1
    assert "(LOCK_CHANGED)" in out and "codegen bump payment.failed" in out
    assert run_codegen(repo, "gen")[0] == 1


def test_editing_a_shared_def_changes_every_version_that_uses_it(repo: Path) -> None:
    money = repo / "schemas" / "defs" / "money.json"
    money.write_text(money.read_text().replace('"minimum": 0', '"minimum": 1'))
    code, out, _ = run_codegen(repo, "check")
    assert code == 1
    assert "order.created v1 is published" in out and "payment.processed v1" in out


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_against_a_git_ref_catches_deleted_and_rewritten_versions(repo: Path) -> None:
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    assert run_codegen(repo, "check", "--against", "HEAD")[0] == 0
    # Delete a published version AND drop it from the lock: only --against can notice.
    shutil.rmtree(repo / "schemas" / "events" / "order.created")
    lock = json.loads((repo / "schemas" / "schemas.lock").read_text())
    lock["versions"] = {
        k: v for k, v in lock["versions"].items() if not k.startswith("order.created@")
    }
    (repo / "schemas" / "schemas.lock").write_text(json.dumps(lock))
    catalog = repo / "schemas" / "catalog.yaml"
    text = catalog.read_text()
    text = text.replace("      order.created: 2\n", "      payment.failed: 1\n")
    text = text.replace("order.created@2, ", "")
    start = text.index("  order.created:\n")
    end = text.index("  payment.processed:\n")
    catalog.write_text(text[:start] + text[end:])
    code, out, _ = run_codegen(repo, "check", "--against", "HEAD")
    assert code == 1
    assert "(EVENT_TYPE_DELETED)" in out
    code, out, _ = run_codegen(repo, "check", "--against", "no-such-ref")
    assert code == 1 and "(GIT_ERROR)" in out


def test_declared_breaking_version_requires_an_upcaster(repo: Path) -> None:
    _bump(
        repo,
        "order.created",
        {"channel": None, "customer_id": None, "customer": {"type": "string"}},
    )
    v3 = repo / "schemas" / "events" / "order.created" / "v3.json"
    doc = json.loads(v3.read_text())
    doc["required"] = ["order_id", "customer", "items", "total"]
    for example in doc["examples"]:
        example["customer"] = example.pop("customer_id")
        example.pop("channel", None)
    v3.write_text(json.dumps(doc, indent=2))
    catalog = repo / "schemas" / "catalog.yaml"
    text = catalog.read_text().replace(
        "    aggregate_id: order_id\n    retention: {maxlen: 1000000}\n  payment.processed:",
        "    aggregate_id: order_id\n    retention: {maxlen: 1000000}\n"
        "    breaking_versions: [3]\n  payment.processed:",
        1,
    )
    text = text.replace("      order.created: 2\n", "      order.created: 3\n")
    catalog.write_text(text)
    code, out, _ = run_codegen(repo, "gen")
    assert code == 1
    assert "(UPCASTER_MISSING)" in out and "v2 to v3" in out
    upcasters = (repo / "services" / "upcasters.py").read_text()
    assert "def upcast_order_created_v2_to_v3(" in upcasters, "gen writes the stub"
    code, out, _ = run_codegen(repo, "check")
    assert code == 1 and "(UPCASTER_NOT_IMPLEMENTED)" in out
    implemented = upcasters.replace(
        '    raise NotImplementedError("write the order.created v2 -> v3 upcaster")',
        "    new = {k: v for k, v in old.items() if k not in ('customer_id', 'channel')}\n"
        "    new['customer'] = old['customer_id']\n"
        "    return new",
    )
    (repo / "services" / "upcasters.py").write_text(implemented)
    assert run_codegen(repo, "gen")[0] == 0
    registry = (repo / "generated" / "registry.py").read_text()
    assert 'ReadPlan("order.created", 2, 3, "upcast", (("order.created", 2, 3),))' in registry
    assert 'ReadPlan("order.created", 1, 3, "upcast", (("order.created", 2, 3),))' in registry


def _set_partitions(repo: Path, events: dict[str, int]) -> None:
    """Set (or add) `partitions:` in the catalog entries of these events."""
    catalog = repo / "schemas" / "catalog.yaml"
    lines = catalog.read_text().splitlines(keepends=True)
    out: list[str] = []
    current: str | None = None
    for line in lines:
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            current = line.strip()[:-1]
            out.append(line)
            if current in events:
                out.append(f"    partitions: {events[current]}\n")
            continue
        if current in events and line.strip().startswith("partitions:"):
            continue
        if not line.startswith("  "):
            current = None
        out.append(line)
    catalog.write_text("".join(out))


def test_changing_a_published_streams_partitions_is_reported(repo: Path) -> None:
    _set_partitions(repo, {"order.created": 8})
    code, out, _ = run_codegen(repo, "check")
    assert code == 1
    (line,) = [x for x in out.splitlines() if "(STREAM_PARTITIONS_CHANGED)" in x]
    catalog = (repo / "schemas" / "catalog.yaml").read_text().splitlines()
    lineno = int(line.split(":")[1])
    assert line.startswith("schemas/catalog.yaml:") and "partitions: 8" in catalog[lineno - 1]
    assert "published with 4 partition(s)" in line and "codegen repartition orders" in line
    assert run_codegen(repo, "gen")[0] == 1  # gen refuses too, and writes nothing
    # After draining, the user records the new count; then everything passes.
    code, out, _ = run_codegen(repo, "repartition", "orders")
    assert code == 0 and "8 partition(s)" in out
    assert run_codegen(repo, "gen")[0] == 0
    assert run_codegen(repo, "check")[0] == 0
    lock = json.loads((repo / "schemas" / "schemas.lock").read_text())
    assert lock["streams"]["orders"] == {"partitions": 8}
    assert "partitions=8" in (repo / "generated" / "registry.py").read_text()


def test_event_types_on_one_stream_must_agree_on_partitions(repo: Path) -> None:
    _set_partitions(repo, {"payment.failed": 2})
    code, out, _ = run_codegen(repo, "check")
    assert code == 1
    assert any(
        "(CATALOG_PARTITIONS_MISMATCH)" in x and "payment.failed" in x for x in out.splitlines()
    ), out

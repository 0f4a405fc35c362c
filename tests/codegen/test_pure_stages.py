"""The pipeline's stages are pure: `plan()` reads the tree and its cache and writes
nothing, the cache is passed explicitly and keyed by what decides its entries, the IR
carries everything the renderers show (routing defaults, the compatibility matrix), and
every write goes through write.py's territories."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from codegen.cache import DEPENDENCIES, Cache, installed_versions, package_fingerprint
from codegen.catalog import retry_defaults
from codegen.pipeline import plan
from codegen.write import CONTRACTS, GENERATED, INSIDE, SERVICES, write_files
from runtime.spec import RetryPolicy
from tests.codegen.golden import copy_input, run_codegen

CODEGEN = Path(__file__).resolve().parents[2] / "codegen"


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_plan_writes_nothing_and_fills_the_cache_in_memory(tmp_path: Path) -> None:
    work = copy_input("shared_shapes", tmp_path / "repo")
    before = _snapshot(work)
    cache = Cache.for_root(work)
    result = plan(work, cache=cache)
    assert result.files and not result.findings
    assert _snapshot(work) == before  # not even the cache directory
    pending = cache.pending()
    assert {rel.split("/")[0] for rel in pending} == {
        "catalog",
        "lint",
        "compat",
        "models",
        "rendered",
    }

    cache.flush()  # the command line does this once the command is done
    base = work / ".cache" / "codegen"
    packs = sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())
    assert [p.split("/")[0] for p in packs] == [
        "catalog",
        "compat",
        "lint",
        "models",
        "rendered",
    ]  # one pack each
    on_disk = {
        f"{p.split('/')[0]}/{k}": v
        for p in packs
        for k, v in json.loads((base / p).read_text()).items()
    }
    assert on_disk == pending
    again = Cache.for_root(work)
    assert plan(work, cache=again).files == result.files
    assert again.pending() == {}  # every lint pass, verdict, model source and render was a hit


def test_packs_are_merged_and_a_broken_one_only_costs_a_miss(tmp_path: Path) -> None:
    for run in range(Cache.MERGE_AT + 3):
        cache = Cache(tmp_path)
        cache.put("compat", f"k{run}", f"v{run}")
        cache.flush()
        assert len(list((tmp_path / "compat").glob("pack-*.json"))) <= Cache.MERGE_AT
    again = Cache(tmp_path)
    assert [again.get("compat", f"k{r}") for r in range(Cache.MERGE_AT + 3)] == [
        f"v{r}" for r in range(Cache.MERGE_AT + 3)
    ]
    (tmp_path / "compat" / "pack-broken.json").write_text("{not json")
    (tmp_path / "compat" / "pack-list.json").write_text("[1, 2]")
    broken = Cache(tmp_path)
    assert broken.get("compat", "k0") == "v0" and broken.get("compat", "nope") is None
    assert Cache(tmp_path / "missing").get("compat", "k0") is None


def test_cache_keys_follow_the_code_and_the_dependencies(tmp_path: Path) -> None:
    copy = tmp_path / "codegen"
    shutil.copytree(CODEGEN, copy, ignore=shutil.ignore_patterns("__pycache__"))
    first = package_fingerprint(copy)
    assert package_fingerprint(copy) == first
    lint = copy / "lint.py"
    lint.write_text(lint.read_text("utf-8") + "\n# a tightened rule\n", "utf-8")
    assert package_fingerprint(copy) != first  # no revision constant to forget to bump
    assert "datamodel-code-generator" in DEPENDENCIES and "jsonschema" in DEPENDENCIES
    assert Cache.key(b"lint", b"x") != Cache.key(b"compat", b"x")


def test_dependency_versions_are_the_installed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib.metadata import version

    assert installed_versions(DEPENDENCIES) == {n: version(n) for n in DEPENDENCIES}
    # the first folder on the path wins, as for imports
    (tmp_path / "jsonschema-0.0.1.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    assert installed_versions(("jsonschema",)) == {"jsonschema": "0.0.1"}
    monkeypatch.setattr("sys.path", [str(tmp_path / "none")])
    assert installed_versions(("no-such-dist",)) == {}


def test_the_cache_directory_is_passed_not_global(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCHEMABUS_CACHE_DIR", raising=False)
    assert Cache.for_root(tmp_path).directory == tmp_path / ".cache" / "codegen"
    monkeypatch.setenv("SCHEMABUS_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert Cache.for_root(tmp_path).directory == tmp_path / "elsewhere"
    memory = Cache()
    memory.put("lint", "k", "")
    assert memory.get("lint", "k") == "" and memory.pending() == {}


def test_dump_ir_shows_every_subject(tmp_path: Path) -> None:
    work = copy_input("basic", tmp_path / "repo")
    code, out, _ = run_codegen(work, "dump-ir")
    assert code == 0
    ir = json.loads(out)
    subjects = {t["name"]: t["config"]["subject"] for t in ir["types"]}
    assert subjects["shop.ping"] == "evt.shop.ping"
    assert subjects["shop.quote.request"] == "msg.shop.quote.request"
    assert subjects["shop.quote.reply"] == "msg.shop.quote.reply"
    assert [op["subject"] for op in ir["operations"]] == ["rpc.shop.quote"]


def test_the_compatibility_matrix_is_in_the_ir_before_rendering(tmp_path: Path) -> None:
    work = copy_input("shared_shapes", tmp_path / "repo")
    placed = plan(work).project.type("shop.order.placed")
    # v2 changes the shape of Money: neither generated model reads the other's events
    assert placed.readable == ()
    page = plan(work).files["generated/docs/events/shop.order.placed.md"]
    assert "| v1 | reads | no |" in page and "| v2 | no | reads |" in page


def test_retry_defaults_have_one_home_and_are_always_explicit(tmp_path: Path) -> None:
    assert retry_defaults() == {"max_deliveries": 5, "backoff_ms": 100, "backoff_max_ms": 5000}
    # the runtime's own defaults (for hand-built specs) agree with the catalog's
    assert dataclasses.asdict(RetryPolicy()) == retry_defaults()
    work = copy_input("basic", tmp_path / "repo")
    registry = plan(work).files["generated/registry.py"]
    assert registry.count("max_deliveries=") == registry.count("retry=RetryPolicy(")
    assert "max_deliveries=3," in registry and "max_deliveries=5," in registry


@pytest.mark.parametrize(
    ("territory", "allowed", "refused"),
    [
        (GENERATED, ["generated/x.py", "schemas/schemas.lock"], ["schemas/catalog.yaml", "x.py"]),
        (SERVICES, ["services/upcasters.py"], ["generated/x.py", "schemas/x.json"]),
        (CONTRACTS, ["schemas/events/a/v1.json", "schemas/schemas.lock"], ["services/x.py"]),
        (INSIDE, ["asyncapi.json", "events/a.md"], ["../escape.md", "/etc/passwd"]),
    ],
)
def test_writes_stay_in_their_territory(
    tmp_path: Path, territory: object, allowed: list[str], refused: list[str]
) -> None:
    for rel in refused:
        with pytest.raises(ValueError, match="refusing to write"):
            write_files(tmp_path, {allowed[0]: "", rel: "x"}, territory)  # type: ignore[arg-type]
        assert not (tmp_path / allowed[0]).exists()  # nothing at all is written
    assert write_files(tmp_path, dict.fromkeys(allowed, "x"), territory) == sorted(allowed)  # type: ignore[arg-type]
    assert write_files(tmp_path, dict.fromkeys(allowed, "x"), territory) == []  # unchanged

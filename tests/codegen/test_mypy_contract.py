"""A contract change surfaces as a type error in the services that depend on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.codegen.golden import copy_input, run_codegen

SHOP_IMPL = textwrap.dedent(
    """
    from __future__ import annotations

    from generated.models import ShopOrderPlacedV1, ShopQuoteReplyV1, ShopQuoteRequestV1
    from generated.services.shop import ShopHandlers, wire
    from runtime.spec import Context, ServiceWiring


    class ShopService(ShopHandlers):
        def __init__(self) -> None:
            self.seen: list[str] = []

        async def on_shop_order_placed(self, event: ShopOrderPlacedV1, ctx: Context) -> None:
            self.seen.append(event.order_id)

        async def handle_shop_quote(
            self, request: ShopQuoteRequestV1, ctx: Context
        ) -> ShopQuoteReplyV1:
            return ShopQuoteReplyV1.model_validate({"price": {"cents": 1, "currency": "EUR"}})


    def wiring() -> ServiceWiring:
        return wire(ShopService())
    """
)


def _mypy(work: Path) -> subprocess.CompletedProcess[str]:
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "MYPYPATH": str(work), "PYTHONPATH": f"{work}{os.pathsep}{repo}"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "--config-file",
            str(repo / "pyproject.toml"),
            "services/shop",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_renamed_field_and_missing_handler_are_mypy_errors(tmp_path: Path) -> None:
    work = copy_input("basic", tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    (work / "services" / "shop" / "__init__.py").write_text(SHOP_IMPL)
    ok = _mypy(work)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # Rename order_id -> order_ref in the contract (v1 was never released: unlock it).
    schema = work / "schemas" / "events" / "shop.order.placed" / "v1.json"
    doc = json.loads(schema.read_text())
    doc["properties"]["order_ref"] = doc["properties"].pop("order_id")
    doc["required"] = ["order_ref", "total"]
    doc["examples"] = [{"order_ref": "o-1", "total": {"cents": 1, "currency": "EUR"}}]
    schema.write_text(json.dumps(doc))
    catalog = work / "schemas" / "catalog.yaml"
    catalog.write_text(
        catalog.read_text().replace("aggregate_id: order_id", "aggregate_id: order_ref")
    )
    assert run_codegen(work, "unlock", "shop.order.placed@1")[0] == 0
    assert run_codegen(work, "gen")[0] == 0
    broken = _mypy(work)
    assert broken.returncode == 1
    assert '"ShopOrderPlacedV1" has no attribute "order_id"' in broken.stdout

    # A new consumed event without a handler: the implementation can no longer be built.
    catalog.write_text(
        catalog.read_text().replace(
            "consumes: {shop.order.placed: 1}", "consumes: {shop.order.placed: 1, shop.ping: 1}"
        )
    )
    assert run_codegen(work, "gen")[0] == 0
    missing = _mypy(work)
    assert missing.returncode == 1
    assert "on_shop_ping" in missing.stdout

"""A contract change surfaces as a type error in the services that depend on it: reading a
field that is gone, leaving a handler out, and building a message with a wrong type, a
missing field or an unknown keyword (the pydantic mypy plugin runs with `init_typed` and
`init_forbid_extra`, see pyproject.toml)."""

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

    from generated.models import Money, ShopOrderPlacedV1, ShopQuoteReplyV1, ShopQuoteRequestV1
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
            return ShopQuoteReplyV1(price=Money(cents=1, currency="EUR"))


    def wiring() -> ServiceWiring:
        return wire(ShopService())
    """
)


# Three mistakes in building a message; each must be reported with the field and the type.
BAD_CONSTRUCTORS = textwrap.dedent(
    """
    from __future__ import annotations

    from generated.models import Money, ShopOrderPlacedV1, ShopQuoteReplyV1


    def wrong_type(order: ShopOrderPlacedV1) -> ShopQuoteReplyV1:
        return ShopQuoteReplyV1(price="ten euros")


    def missing_field() -> Money:
        return Money(cents=1)


    def unknown_keyword(order: ShopOrderPlacedV1) -> ShopQuoteReplyV1:
        return ShopQuoteReplyV1(price=order.total, discount=3)
    """
)

# The example from the issue, checked against this repository's own generated models.
ISSUE_EXAMPLE = textwrap.dedent(
    """
    from __future__ import annotations

    from generated.models import OrderCreatedV2, PaymentProcessedV1


    def make(order: OrderCreatedV2) -> PaymentProcessedV1:
        return PaymentProcessedV1(order_id=123, payment_id=None, amount="ten euros")
    """
)

REPO = Path(__file__).resolve().parents[2]


def _mypy(work: Path, target: str = "services/shop") -> subprocess.CompletedProcess[str]:
    repo = REPO
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
            target,
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

    # Building messages is checked too: type, required fields and unknown keywords.
    bad = work / "services" / "shop" / "build.py"
    bad.write_text(BAD_CONSTRUCTORS)
    built = _mypy(work)
    assert built.returncode == 1
    assert (
        'Argument "price" to "ShopQuoteReplyV1" has incompatible type "str"; expected "Money"'
        in built.stdout
    ), built.stdout
    assert 'Missing named argument "currency" for "Money"' in built.stdout, built.stdout
    assert 'Unexpected keyword argument "discount" for "ShopQuoteReplyV1"' in built.stdout
    assert built.stdout.count("error:") == 3, built.stdout
    bad.unlink()

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


def test_the_issue_example_fails_type_checking(tmp_path: Path) -> None:
    """`make check` runs mypy with the project's configuration; this is that run on the example
    from the README's promise: every wrong argument is named with the type it needs."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "make_payment.py").write_text(ISSUE_EXAMPLE)
    proc = _mypy(work, "make_payment.py")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    expected = [
        'Argument "order_id" to "PaymentProcessedV1" has incompatible type "int"; expected "str"',
        'Argument "payment_id" to "PaymentProcessedV1" has incompatible type "None"; '
        'expected "str"',
        'Argument "amount" to "PaymentProcessedV1" has incompatible type "str"; expected "Money"',
    ]
    for message in expected:
        assert message in proc.stdout, proc.stdout
    assert proc.stdout.count("error:") == 3, proc.stdout

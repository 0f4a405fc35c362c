"""Shared shapes (schemas/defs/) are one class each in generated/models/defs.py, identified by
content: the golden case `shared_shapes` has a Money that changed shape between two versions of
shop.order.placed (the old shape kept in schemas/defs/archive/), an archived copy that differs
only in its description, a recursive def, an enum def, an event with a local `$defs/Money`, and
an event that points into a shared shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from codegen.build import build_project
from codegen.catalog import retry_defaults
from codegen.ir import EventConfig, EventType, Retry, Version
from codegen.shapes import share
from tests.codegen.golden import copy_input, run_codegen


def _defs(root: Path) -> dict[str, Any]:
    project, findings = build_project(root)
    assert findings == []
    return {d.class_name: d for d in project.defs}


def _run(work: Path, script: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=work, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_a_changed_def_keeps_one_class_per_shape(tmp_path: Path) -> None:
    work = copy_input("shared_shapes", tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    defs = _defs(work)
    old_money = next(n for n in defs if n.startswith("MoneyShape"))
    old_item = next(n for n in defs if n.startswith("LineItemShape"))
    assert sorted(defs) == sorted(
        ["Address", "Category", "Currency", "Field", "LineItem", "Money", old_item, old_money]
    )
    assert defs["Money"].current and not defs[old_money].current
    assert defs[old_money].sources == ("schemas/defs/archive/money.json",)
    # The archived address differs only in its description: the same class.
    assert defs["Address"].sources == (
        "schemas/defs/address.json",
        "schemas/defs/archive/address.json",
    )
    # The archived line item has the same text as the current one, but reaches the old Money.
    assert defs[old_item].sources == ("schemas/defs/archive/line_item.json",)

    script = f"""
import typing
import generated.models as m
from generated.models import defs
from generated.models import shop_refund_issued_v1, shop_price_checked_v1

def ann(model, field):
    model.model_rebuild()  # resolve annotations that name classes defined further down
    return model.model_fields[field].annotation

def inner(tp):
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return inner(args[0]) if args else tp

# The current shapes: exported, and the very class every current model uses.
assert m.Money is defs.Money and m.LineItem is defs.LineItem and m.Address is defs.Address
assert ann(m.ShopOrderPlacedV2, "total") is defs.Money
assert inner(ann(m.ShopOrderPlacedV2, "items")) is defs.LineItem
assert inner(ann(m.ShopOrderPlacedV2, "category")) is defs.Category
assert ann(m.ShopRefundIssuedV1, "amount") is defs.Money
assert ann(m.ShopPriceCheckedV1, "price") is defs.Money
assert inner(ann(m.ShopPriceCheckedV1, "quoted_in")) is defs.Currency
assert ann(defs.Money, "currency") is defs.Currency
# The old shape: a class of its own, used by v1 only, not exported as the plain name.
assert ann(m.ShopOrderPlacedV1, "total") is defs.{old_money}
assert inner(ann(m.ShopOrderPlacedV1, "items")) is defs.{old_item}
assert ann(defs.{old_item}, "unit_price") is defs.{old_money}
assert inner(ann(m.ShopOrderPlacedV1, "ship_to")) is defs.Address
assert "{old_money}" not in m.__all__ and "Money" in m.__all__
# Names that would have collided were moved, not the shared ones.
assert shop_refund_issued_v1.Money is defs.Money
# A shape called like pydantic's Field: the module aliases pydantic's import instead.
assert inner(ann(m.ShopRefundIssuedV1, "reason")) is defs.Field is m.Field
assert m.ShopRefundIssuedV1.model_fields["order_id"].annotation is str
assert inner(ann(m.ShopRefundIssuedV1, "legacy")).__name__ == "Money1"
assert inner(ann(defs.Category, "money")) is defs.Money1 and defs.Money1 is not defs.Money
assert not hasattr(shop_price_checked_v1, "Currency1")
# A shared object passes through another event unchanged (no copy, no conversion).
order = m.ShopOrderPlacedV2.model_validate(
    {{"order_id": "o", "items": [], "total": {{"amount_minor": 5, "currency": "EUR"}}}}
)
refund = m.ShopRefundIssuedV1(order_id="o", amount=order.total)
assert refund.amount is order.total
# ... and an old shape is not silently accepted where the current one is expected.
old = m.ShopOrderPlacedV1.model_validate(
    {{"order_id": "o", "items": [], "total": {{"cents": 5, "currency": "EUR"}}}}
)
try:
    m.ShopRefundIssuedV1(order_id="o", amount=old.total)
except Exception as exc:
    assert "amount" in str(exc)
else:
    raise AssertionError("an old Money was accepted as the current one")
print("ok")
"""
    assert _run(work, script).strip() == "ok"


def test_old_shape_names_are_stable(tmp_path: Path) -> None:
    """The suffix comes from the old shape's content: editing the current shape, or adding a
    version that uses the current one, leaves the old class name alone."""
    work = copy_input("shared_shapes", tmp_path / "repo")
    before = _defs(work)
    old = {n for n in before if "Shape" in n}

    money = work / "schemas" / "defs" / "money.json"
    doc = json.loads(money.read_text())
    doc["properties"]["note"] = {"type": "string"}
    money.write_text(json.dumps(doc))
    after = _defs(work)
    assert {n for n in after if "Shape" in n} == old
    assert after["Money"].identity != before["Money"].identity
    assert after["Money"].schema["properties"]["note"] == {"type": "string"}


def _bundle(money: dict[str, Any], item_extra: dict[str, Any]) -> tuple[Any, Any]:
    """A bundled event with LineItem -> Money, as load.Bundler makes it."""
    files = {
        "Money": SimpleNamespace(rel="schemas/defs/money.json"),
        "LineItem": SimpleNamespace(rel="schemas/defs/line_item.json"),
    }
    schema = {
        "type": "object",
        "properties": {"i": {"$ref": "#/$defs/LineItem"}},
        "$defs": {
            "LineItem": {
                "type": "object",
                "properties": {"p": {"$ref": "#/$defs/Money"}},
                **item_extra,
            },
            "Money": money,
        },
    }
    return schema, SimpleNamespace(def_files=files)


def _types(*bundles: tuple[Any, Any]) -> tuple[EventType, ...]:
    config = EventConfig("durable", "s", "evt.a", "i", retry=Retry(**retry_defaults()))
    versions = tuple(
        Version("a", n, f"v{n}.json", raw=None, bundled=b, source=s)
        for n, (b, s) in enumerate(bundles, start=1)
    )
    return (EventType("a", config, versions),)


def test_identity_ignores_annotations_and_follows_references() -> None:
    money = {"type": "object", "properties": {"c": {"type": "integer"}}}
    described = {**money, "description": "same shape, other words"}
    defs, per_version = share(_types(_bundle(money, {}), _bundle(described, {"title": "x"})))
    assert [d.class_name for d in defs] == ["LineItem", "Money"]
    assert per_version[("a", 1)] == per_version[("a", 2)]

    other = {"type": "object", "properties": {"c": {"type": "string"}}}
    defs, _ = share(_types(_bundle(money, {}), _bundle(other, {})))
    names = sorted(d.class_name for d in defs)
    # Money changed, so the LineItem reaching it changed too (same text, other closure).
    assert len(names) == 4 and names[0] == "LineItem" and names[2] == "Money"
    assert names[1].startswith("LineItemShape") and names[3].startswith("MoneyShape")


def test_recursive_shapes_hash_the_same_in_every_bundle() -> None:
    tree = {"type": "object", "properties": {"kids": {"items": {"$ref": "#/$defs/LineItem"}}}}
    money = {"type": "object"}
    first = _bundle(money, {})
    first[0]["$defs"]["LineItem"]["properties"]["self"] = {"$ref": "#/$defs/LineItem"}
    second = _bundle(money, {})
    second[0]["$defs"]["LineItem"]["properties"]["self"] = {"$ref": "#/$defs/LineItem"}
    defs, _ = share(_types(first, second))
    assert [d.class_name for d in defs] == ["LineItem", "Money"]
    third = _bundle(money, {"properties": tree["properties"]})
    defs, _ = share(_types(first, third))
    assert len(defs) == 3


def test_a_pointer_into_a_part_that_points_into_a_shape_keeps_the_def_local(
    tmp_path: Path,
) -> None:
    """The one case a placeholder cannot serve: the event uses a part of a shared shape that
    itself points into another shared shape. That def stays a class of the event module."""
    work = copy_input("shared_shapes", tmp_path / "repo")
    defs_dir = work / "schemas" / "defs"
    (defs_dir / "quote.json").write_text(
        json.dumps(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "Quote",
                "type": "object",
                "properties": {"code": {"$ref": "money.json#/properties/currency"}},
            }
        )
    )
    event = work / "schemas" / "events" / "shop.price.checked" / "v1.json"
    doc = json.loads(event.read_text())
    doc["properties"]["code"] = {"$ref": "../../defs/quote.json#/properties/code"}
    event.write_text(json.dumps(doc))
    assert run_codegen(work, "gen")[0] == 0
    source = (work / "generated" / "models" / "shop_price_checked_v1.py").read_text()
    assert "class Quote(BaseModel)" in source
    assert "from generated.models.defs import Currency, Money" in source
    script = (
        "from generated.models import ShopPriceCheckedV1 as E, defs\n"
        "print(E.model_validate({'sku': 'a', 'price': {'amount_minor': 1, 'currency': 'EUR'},"
        " 'code': 'GBP'}).price.__class__ is defs.Money)\n"
    )
    assert _run(work, script).strip() == "True"

"""Small hand-built contracts for runtime tests (the runtime never depends on generated/)."""

from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel, ConfigDict

from runtime.spec import EventSpec, OperationSpec, ReadPlan, Registry, RetryPolicy


class OrderCreatedV1(BaseModel):
    model_config = ConfigDict(extra="ignore")
    order_id: str
    total: int


class OrderCreatedV2(BaseModel):
    model_config = ConfigDict(extra="ignore")
    order_id: str
    total: int
    currency: str = "EUR"


class OrderCreatedV3(BaseModel):
    """v3 renamed `total` to `amount_cents`: needs an upcaster from v2."""

    model_config = ConfigDict(extra="ignore")
    order_id: str
    amount_cents: int
    currency: str


class PaymentProcessedV1(BaseModel):
    order_id: str
    ok: bool = True


class StockChangedV1(BaseModel):
    sku: str
    delta: int


class ReserveRequestV1(BaseModel):
    sku: str
    qty: int


class ReserveReplyV1(BaseModel):
    sku: str
    reserved: bool


FAST_RETRY = RetryPolicy(max_deliveries=3, backoff_ms=10, backoff_max_ms=40)


def _spec(
    type_: str,
    version: int,
    model: type[BaseModel],
    *,
    delivery: str = "durable",
    stream: str | None = "orders",
    aggregate: str | None = "order_id",
) -> EventSpec:
    return EventSpec(
        type=type_,
        version=version,
        model=model,
        schema_json="{}",
        fingerprint=f"fp-{type_}-{version}",
        delivery=delivery,  # type: ignore[arg-type]
        stream=stream if delivery == "durable" else None,
        subject=type_,
        aggregate_field=aggregate,
        retry=FAST_RETRY,
    )


ORDER_V1 = _spec("order.created", 1, OrderCreatedV1)
ORDER_V2 = _spec("order.created", 2, OrderCreatedV2)
ORDER_V3 = _spec("order.created", 3, OrderCreatedV3)
PAYMENT = _spec("payment.processed", 1, PaymentProcessedV1, stream="payments")
STOCK = _spec("stock.changed", 1, StockChangedV1, delivery="realtime", aggregate="sku")
RESERVE_REQ = _spec("reserve.request", 1, ReserveRequestV1, delivery="message", aggregate=None)
RESERVE_REPLY = _spec("reserve.reply", 1, ReserveReplyV1, delivery="message", aggregate=None)
RESERVE = OperationSpec(
    "inventory.reserve", "svc.inventory.reserve", RESERVE_REQ, RESERVE_REPLY, 500
)


def upcast_v2_v3(doc: dict[str, object]) -> dict[str, object]:
    doc = dict(doc)
    doc["amount_cents"] = doc.pop("total")
    doc.setdefault("currency", "EUR")
    return doc


UPCASTERS = {("order.created", 2, 3): upcast_v2_v3}

REGISTRY = Registry.build(
    [ORDER_V1, ORDER_V2, ORDER_V3, PAYMENT, STOCK, RESERVE_REQ, RESERVE_REPLY],
    operations=[RESERVE],
    read_plans=[
        ReadPlan("order.created", 1, 2, "direct"),  # v2 added a defaulted field
        ReadPlan("order.created", 2, 1, "direct"),  # v1 ignores the extra field
        ReadPlan("order.created", 2, 3, "upcast", (("order.created", 2, 3),)),
        # 1 -> 3 is not declared: v1 events cannot be read by a v3 consumer.
    ],
)

#: order.created v2 on `orders` split into 4 partitions (scale-out tests). Publishers and
#: consumers of one test must share it: the partition count decides where events go.
PARTITIONS = 4
ORDER_V2_P4 = replace(ORDER_V2, partitions=PARTITIONS)
PARTITIONED = Registry.build([ORDER_V2_P4])

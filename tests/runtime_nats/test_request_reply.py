"""Request/reply over NATS: success, timeout, no responders, load-balanced responders."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from nats.aio.msg import Msg

from runtime.envelope import Envelope
from runtime.errors import NoRespondersError, RequestTimeoutError, TransportError
from tests.runtime_nats.helpers import connect, envelope

pytestmark = pytest.mark.nats


def reply_to(request: Envelope, body: dict[str, object]) -> Envelope:
    return Envelope.new(
        source="responder",
        type="reserve.reply",
        dataversion=1,
        data=orjson.dumps(body),
        correlationid=request.correlationid,
        causationid=request.id,
    )


async def test_request_gets_the_reply_envelope(nats_url: str) -> None:
    server = await connect(nats_url)
    client = await connect(nats_url)
    try:
        seen: list[Envelope] = []

        async def handler(request: Envelope) -> Envelope:
            seen.append(request)
            return reply_to(request, {"ok": True, "n": orjson.loads(request.data)["n"]})

        closer = await server.serve("rpc.reserve.ok", "inventory", handler)
        sent = envelope(5)
        answer = await client.request("rpc.reserve.ok", sent, timeout_s=5)
        assert seen == [sent]
        assert orjson.loads(answer.data) == {"ok": True, "n": 5}
        assert answer.causationid == sent.id
        assert answer.correlationid == sent.correlationid
        await closer.close()
    finally:
        await server.close()
        await client.close()


async def test_no_responders_is_a_clear_error(nats_url: str) -> None:
    client = await connect(nats_url)
    try:
        with pytest.raises(NoRespondersError, match=r"no service is serving 'rpc\.nobody'"):
            await client.request("rpc.nobody", envelope(), timeout_s=5)
    finally:
        await client.close()


async def test_slow_responder_times_out(nats_url: str) -> None:
    server = await connect(nats_url)
    client = await connect(nats_url)
    release = asyncio.Event()
    try:

        async def handler(request: Envelope) -> Envelope:
            await release.wait()
            return reply_to(request, {})

        closer = await server.serve("rpc.reserve.slow", "inventory", handler)
        with pytest.raises(
            RequestTimeoutError, match=r"no reply on 'rpc\.reserve\.slow' within 0\.2s"
        ):
            await client.request("rpc.reserve.slow", envelope(), timeout_s=0.2)
        release.set()
        await closer.close()
    finally:
        await server.close()
        await client.close()


async def test_closed_responder_leaves_no_responders(nats_url: str) -> None:
    server = await connect(nats_url)
    try:

        async def handler(request: Envelope) -> Envelope:
            return reply_to(request, {})

        closer = await server.serve("rpc.reserve.closed", "inventory", handler)
        await server.request("rpc.reserve.closed", envelope(), timeout_s=5)
        await closer.close()
        with pytest.raises(NoRespondersError):
            await server.request("rpc.reserve.closed", envelope(), timeout_s=5)
    finally:
        await server.close()


async def test_requests_are_balanced_and_answered_concurrently(nats_url: str) -> None:
    instances = [await connect(nats_url) for _ in range(2)]
    client = await connect(nats_url)
    answered_by: list[int] = []
    try:
        closers = []
        for n, t in enumerate(instances):

            async def handler(request: Envelope, n: int = n) -> Envelope:
                answered_by.append(n)
                await asyncio.sleep(0.01)  # overlap requests; not a timing assertion
                return reply_to(request, {"by": n})

            closers.append(await t.serve("rpc.reserve.lb", "inventory", handler))
        answers = await asyncio.gather(
            *(client.request("rpc.reserve.lb", envelope(i), timeout_s=10) for i in range(60))
        )
        assert len(answers) == 60
        # One queue group: every request answered exactly once, by either instance.
        assert len(answered_by) == 60
        assert set(answered_by) == {0, 1}
        for c in closers:
            await c.close()
    finally:
        for t in [*instances, client]:
            await t.close()


async def test_malformed_request_gets_an_error_reply(nats_url: str) -> None:
    server = await connect(nats_url)
    try:

        async def handler(request: Envelope) -> Envelope:
            raise AssertionError("never called for a malformed request")

        closer = await server.serve("rpc.reserve.bad", "inventory", handler)
        msg = await server.nc.request("rpc.reserve.bad", b"{}", timeout=5)
        answer = Envelope.from_headers(msg.headers, msg.data)
        assert answer.type == "schemabus.error"
        assert orjson.loads(answer.data)["error_type"] == "MalformedEnvelope"
        await closer.close()
    finally:
        await server.close()


async def test_reply_that_is_not_an_envelope_is_a_transport_error(nats_url: str) -> None:
    client = await connect(nats_url)

    async def foreign(msg: Msg) -> None:
        # Not msg.respond(): nats-py copies the request's headers into that reply.
        await client.nc.publish(msg.reply, b"plain")

    raw = await client.nc.subscribe("rpc.reserve.foreign", cb=foreign)
    try:
        with pytest.raises(TransportError, match="is not an envelope"):
            await client.request("rpc.reserve.foreign", envelope(), timeout_s=5)
    finally:
        await raw.unsubscribe()
        await client.close()

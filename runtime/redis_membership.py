"""Group membership and partition leases in Redis (`runtime.transport.Membership`).

Keys (see `runtime.constants`): a sorted set of live members per group, scored by expiry
(the broker's clock), a small hash of details per member, and one lease hash per
partition and group: `owner`, `epoch` (the fencing token, which only grows), `expires`
and `since`. The lease of a partition lives in the partition's hash slot, so the scripts
that read and acknowledge the partition can check it in the same atomic step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime import constants as C
from runtime.redis_errors import raise_reply, transient
from runtime.redis_scripts import SCRIPTS, run_many


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _streams(csv: str) -> frozenset[str]:
    return frozenset(s for s in csv.split(",") if s)


class RedisMembership:
    def __init__(self, client: Any, group: str) -> None:
        self._r = client
        self.group = group

    async def heartbeat(
        self, member: str, ttl_ms: int, info: Mapping[str, str]
    ) -> dict[str, frozenset[str]]:
        args: list[Any] = [member, ttl_ms, C.member_key(self.group, "")]
        for key, value in sorted(info.items()):
            args += (key, value)
        keys = [C.members_key(self.group), C.member_key(self.group, member)]
        async with transient():
            reply = await SCRIPTS["heartbeat"](self._r, keys, args)
        it = iter(reply)
        return {_s(name): _streams(_s(streams)) for name, streams in zip(it, it, strict=True)}

    async def leave(self, member: str) -> None:
        async with transient():
            await self._r.zrem(C.members_key(self.group), member)
            await self._r.delete(C.member_key(self.group, member))

    async def acquire(self, partition: str, member: str, ttl_ms: int) -> int | None:
        keys = [C.lease_key(partition, self.group)]
        async with transient():
            token, _holder, _left = await SCRIPTS["acquire"](self._r, keys, [member, ttl_ms])
        return int(token) or None

    async def renew(self, leases: Mapping[str, int], member: str, ttl_ms: int) -> set[str]:
        if not leases:
            return set()
        order = sorted(leases)
        script = SCRIPTS["renew"]
        async with transient():
            if len(order) == 1:
                p = order[0]
                ok = await script(
                    self._r, [C.lease_key(p, self.group)], [member, leases[p], ttl_ms]
                )
                return {p} if int(ok) else set()
            calls = [
                (script, [C.lease_key(p, self.group)], [member, leases[p], ttl_ms]) for p in order
            ]
            replies = await run_many(self._r, calls)
        for reply in replies:
            raise_reply(reply)
        return {p for p, ok in zip(order, replies, strict=True) if int(ok)}

    async def release(self, partition: str, member: str, token: int) -> None:
        keys = [C.lease_key(partition, self.group)]
        async with transient():
            await SCRIPTS["release"](self._r, keys, [member, token])

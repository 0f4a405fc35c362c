"""Keeps one replica's advertisement in the deployed registry (`runtime.deployed`).

Every `ServiceRunner` runs one, whatever the service does (consume, produce, serve), so
`schemabus deployed` sees producers and responders too, not only consumer-group members.
It is its own small loop, apart from partition ownership: a slow or failing registry
never delays a lease renewal, and the hot path does not know it exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import orjson

from runtime.deployed import Doc, member_id
from runtime.transport import Deployments

log = logging.getLogger("schemabus.deployed")


class Advertiser:
    def __init__(
        self, store: Deployments, document: Doc, *, ttl_ms: int, heartbeat_ms: int
    ) -> None:
        self._store = store
        self.member = member_id(document)
        self._document = orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
        self._ttl_ms = ttl_ms
        self._heartbeat_s = heartbeat_ms / 1000
        # One process, one boot id: a restart under the same name starts a new `since`.
        self._boot = uuid.uuid4().hex
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.beats = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"advertise {self.member}")

    async def _run(self) -> None:
        failing = False
        while not self._stopping.is_set():
            try:
                await self._store.advertise(self.member, self._ttl_ms, self._boot, self._document)
                self.beats += 1
                if failing:
                    log.info("%s: advertising again in the deployed registry", self.member)
                failing = False
            except Exception as exc:
                # Never take the service down for its advertisement; say so once per outage.
                if not failing:
                    log.warning(
                        "%s: cannot advertise in the deployed registry (%s)", self.member, exc
                    )
                failing = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._heartbeat_s)

    async def stop(self) -> None:
        """Stop the heartbeat and remove the advertisement (a stopped replica reads and
        writes nothing, so it should not hold back a gate until its TTL runs out)."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        try:
            await self._store.withdraw(self.member, self._boot)
        except Exception as exc:
            log.warning("%s: could not withdraw from the deployed registry (%s)", self.member, exc)

"""`schemabus dlq list|show|replay|purge` (the command line over `runtime.dlq`).

Every value read from Redis is printed through `runtime.terminal`, so control characters
in an entry never reach the terminal raw. `replay` prints one line per dead letter,
however it ends: `replayed ID -> NEW_ID` on stdout, `kept ID: why` (or `unknown ID: ...`
when the connection failed while replaying it) on stderr.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from runtime import constants as C
from runtime import dlq
from runtime.envelope import Envelope
from runtime.errors import ConfigError, SchemabusError
from runtime.spec import Registry
from runtime.terminal import json_text, printable, table

#: Stream ids: milliseconds, optionally "-sequence".
_ID = re.compile(r"[0-9]{1,20}(-[0-9]{1,20})?")


class UsageError(SchemabusError):
    pass


def add_parser(sub: Any, default_registry: str) -> None:
    dlq_parser = sub.add_parser("dlq", help="inspect, replay and purge dead letters")
    dsub = dlq_parser.add_subparsers(dest="dlq_command", required=True)
    ls = dsub.add_parser("list")
    ls.add_argument("--stream", help="source stream (default: all)")
    ls.add_argument("--count", type=int, default=100, help="per dead-letter stream")
    ls.add_argument("--json", action="store_true")
    show = dsub.add_parser("show")
    show.add_argument("id")
    show.add_argument("--stream")
    for name, text in (("replay", "append back to the original stream"), ("purge", "delete")):
        cmd = dsub.add_parser(name, help=text)
        cmd.add_argument("ids", nargs="*")
        cmd.add_argument("--all", action="store_true")
        cmd.add_argument("--stream", help="only the dead letters of this source stream")
        if name == "replay":
            cmd.add_argument(
                "--to",
                help="append to this stream instead of the one whose dead letters they are "
                "(it must exist as a stream)",
            )
            cmd.add_argument(
                "--validate",
                action="store_true",
                help="keep entries over SCHEMABUS_MAX_PAYLOAD_BYTES or that the registry's "
                "models reject",
            )
            cmd.add_argument("--registry", help=f"default: {default_registry}")


def check_ids(ids: list[str]) -> None:
    for dlq_id in ids:
        if not _ID.fullmatch(dlq_id):
            raise UsageError(
                f"{printable(dlq_id)!r} is not a dead-letter id: ids look like "
                "1718000000000-0 (`schemabus dlq list` shows them)"
            )


async def run(
    client: Any, args: argparse.Namespace, *, max_bytes: int, registry: Callable[[], Registry]
) -> int:
    if args.dlq_command == "list":
        return await _list(client, args)
    if args.dlq_command == "show":
        check_ids([args.id])
        entry = await dlq.find_dead_letter(client, args.id, args.stream, detail=True)
        print(json_text(entry.detail(), indent=True))
        return 0
    if args.all and args.ids:
        raise UsageError("give dead-letter ids or --all, not both")
    if not args.all and not args.ids:
        raise UsageError("give one or more dead-letter ids (see `schemabus dlq list`) or --all")
    check_ids(args.ids)
    if args.dlq_command == "purge":
        return await _purge(client, args)
    validate = _validator(registry()) if args.validate else None
    return await _replay(client, args, validate, max_bytes if args.validate else None)


async def _list(client: Any, args: argparse.Namespace) -> int:
    entries = await dlq.dead_letters(client, args.stream, count=args.count)
    if args.json:
        print(json_text([e.summary() for e in entries]))
    elif not entries:
        print("no dead letters")
    else:
        rows = [
            [
                s["id"],
                s["stream"],
                s["type"],
                s["version"],
                s["reason"],
                s["attempts"],
                (s["error_type"] + ": " + s["error"])[:80],
            ]
            for s in (e.summary() for e in entries)
        ]
        print(table(["ID", "STREAM", "TYPE", "V", "REASON", "ATTEMPTS", "ERROR"], rows))
    return 0


async def _replay(
    client: Any,
    args: argparse.Namespace,
    validate: dlq.Validator | None,
    max_bytes: int | None,
) -> int:
    result = dlq.ReplayResult()
    names = await dlq.dead_letter_streams(client, args.stream)
    if args.all:
        targets = [args.to] if args.to else [C.source_of_dead_letter_stream(n) for n in names]
        entries: list[dlq.DeadLetterEntry] | AsyncIterator[dlq.DeadLetterEntry] = _walk_all(
            client, names
        )
    else:
        found = []
        for dlq_id in dict.fromkeys(args.ids):
            try:
                found.append(await dlq.find_dead_letter(client, dlq_id, dlq_streams=names))
            except LookupError:
                result.add(dlq_id, "kept", "no dead letter has this id")
        entries = found
        targets = [args.to] if args.to else [e.stream for e in found]
    # Every target is checked before anything is written (and again, atomically, per entry).
    types = await dlq.stream_types(client, targets)
    done = await dlq.replay(
        client, entries, to=args.to, validate=validate, max_bytes=max_bytes, target_types=types
    )
    result.outcomes += done.outcomes
    if not args.all:  # in the order given
        position = {dlq_id: i for i, dlq_id in enumerate(dict.fromkeys(args.ids))}
        result.outcomes.sort(key=lambda o: position[o[0]])
    for dlq_id, outcome, detail in result.outcomes:
        if outcome == "replayed":
            print(f"replayed {dlq_id} -> {detail}")
        else:
            print(f"{outcome} {dlq_id}: {printable(detail)}", file=sys.stderr)
    if done.error is not None:
        print("replay stopped: dead letters not listed above were not attempted", file=sys.stderr)
        raise done.error
    return 1 if result.rejected else 0


async def _walk_all(client: Any, names: list[str]) -> AsyncIterator[dlq.DeadLetterEntry]:
    for name in names:
        async for entry in dlq.walk(client, name):
            yield entry


async def _purge(client: Any, args: argparse.Namespace) -> int:
    if args.all:
        purged = 0
        for name in await dlq.dead_letter_streams(client, args.stream):
            pipe = client.pipeline(transaction=True)
            pipe.xlen(name)
            pipe.unlink(name)
            length, _ = await pipe.execute()
            purged += int(length)
        print(f"purged {purged} dead letters")
        return 0
    names = await dlq.dead_letter_streams(client, args.stream)
    entries = []
    for dlq_id in args.ids:
        entries.append(await dlq.find_dead_letter(client, dlq_id, dlq_streams=names))
    print(f"purged {await dlq.purge(client, entries)} dead letters")
    return 0


def _validator(registry: Registry) -> dlq.Validator:
    def validate(env: Envelope) -> None:
        registry.spec(env.type, env.dataversion).model.model_validate_json(env.data)

    return validate


def load_registry(path: str, load: Callable[[str, str], Any]) -> Registry:
    registry = load(path, "registry")
    if not isinstance(registry, Registry):
        raise ConfigError("the registry object is not a runtime.spec.Registry")
    return registry

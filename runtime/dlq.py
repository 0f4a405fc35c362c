"""Dead-letter streams: list, show, replay, purge (`schemabus dlq ...`).

Plain async functions over a redis.asyncio client (bytes responses), so tests and scripts
can call them too. Two rules shape them:

* **Bounded reads.** A dead letter may be huge (an oversized entry written before bounded
  dead letters, or by another tool). Listing and showing read entries through a script
  that cuts every value to a prefix and returns the real sizes; entries are read in
  pages. Only a validating replay reads a whole entry, after checking its size.
* **Replay writes only where it may.** An entry goes back to the stream whose dead-letter
  stream holds it (`schemabus:dlq:<stream>` -> `<stream>`), never to whatever its
  `dlq_stream` field names, unless the caller names a target explicitly. The target must
  already be a stream. Appending and deleting happen in one script that checks the type
  again and that the dead letter is still there, so an entry is never in both or neither,
  and two concurrent replays do not duplicate it. Every entry ends up reported as
  replayed, kept (with the reason) or, when the connection failed mid-way, unknown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from runtime import constants as C
from runtime.deadletter import original_fields
from runtime.envelope import Envelope, entry_size
from runtime.partitioning import slot_tag
from runtime.status import stream_keys as streams

#: Dead letters read per round trip when walking a whole dead-letter stream.
PAGE = 100
#: What `list` and `show` read of each field value (sizes are reported in full).
SUMMARY_VALUE_BYTES = 4000
DETAIL_VALUE_BYTES = 64 * 1024
#: Fields read per entry at most (an entry can have millions).
MAX_FIELDS = 1000
#: Redis' Lua `unpack` stops near 8,000 values: larger entries cannot be replayed by script.
MAX_REPLAY_FIELDS = 3900

_SUMMARY_FIELDS = (
    "id",
    "type",
    "dataversion",
    C.DLQ_REASON,
    C.DLQ_ERROR_TYPE,
    C.DLQ_ERROR_MESSAGE,
    C.DLQ_ATTEMPTS,
    C.DLQ_ORIGINAL_STREAM,
    C.DLQ_ORIGINAL_ID,
    C.DLQ_GROUP,
    C.DLQ_TIME,
    C.DLQ_TRUNCATED,
)

# Entries from ARGV[1] to ARGV[2] (COUNT ARGV[3]), each as {id, entry bytes, field count,
# {name (cut to 1 KiB), value cut to ARGV[4] bytes, value bytes, ...}} with at most
# ARGV[5] fields, and only the names listed after ARGV[5] when there are any. The server
# holds the entry anyway; what crosses the network is bounded.
PEEK_LUA = """
local rows = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', ARGV[3])
local cut, maxf = tonumber(ARGV[4]), tonumber(ARGV[5])
local want = nil
if #ARGV > 5 then
  want = {}
  for i = 6, #ARGV do want[ARGV[i]] = true end
end
local out = {}
for _, row in ipairs(rows) do
  local f, kept, total = row[2], {}, 0
  for i = 1, #f, 2 do
    local name, value = f[i], f[i + 1]
    total = total + #name + #value
    if (want == nil or want[name]) and #kept < 3 * maxf then
      kept[#kept + 1] = string.sub(name, 1, 1024)
      kept[#kept + 1] = string.sub(value, 1, cut)
      kept[#kept + 1] = #value
    end
  end
  out[#out + 1] = {row[1], total, #f / 2, kept}
end
return out
"""

# Replay one dead letter (KEYS[1], id ARGV[1]) to KEYS[2], dropping the fields named in
# ARGV[3..]; at most ARGV[2] fields. Checked here again, atomically with the write: the
# target is a stream, the dead letter still exists and is not a bounded stand-in.
REPLAY_LUA = """
local kind = redis.call('TYPE', KEYS[2])['ok']
if kind ~= 'stream' then return {'not_stream', kind} end
local rows = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #rows == 0 then return {'gone'} end
local strip = {}
for i = 3, #ARGV do strip[ARGV[i]] = true end
local f, args = rows[1][2], {}
for i = 1, #f, 2 do
  if f[i] == 'dlq_truncated' then return {'truncated'} end
  if not strip[f[i]] then
    args[#args + 1] = f[i]
    args[#args + 1] = f[i + 1]
  end
end
if #args == 0 then return {'empty'} end
if #args > 2 * tonumber(ARGV[2]) then return {'too_many', #args / 2} end
local id = redis.call('XADD', KEYS[2], '*', unpack(args))
redis.call('XDEL', KEYS[1], ARGV[1])
return {'ok', id}
"""


def _s(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@dataclass(slots=True)
class DeadLetterEntry:
    """One dead letter as read: field values possibly cut (see `sizes`)."""

    dlq_stream: str
    dlq_id: str
    fields: dict[bytes, bytes]
    sizes: dict[bytes, int] = field(default_factory=dict)  # real value sizes
    entry_bytes: int = 0
    entry_fields: int = 0

    def get(self, name: str) -> str:
        value = self.fields.get(name.encode())
        return "" if value is None else value.decode(errors="replace")

    @property
    def stream(self) -> str:
        """The stream this is a dead letter of: where replay sends it."""
        return C.source_of_dead_letter_stream(self.dlq_stream)

    @property
    def named_stream(self) -> str:
        """What its `dlq_stream` field says (set by whoever wrote the dead letter)."""
        return self.get(C.DLQ_ORIGINAL_STREAM)

    @property
    def truncated(self) -> bool:
        """Holds only the bounded form of an oversized entry (cannot be replayed)."""
        return C.DLQ_TRUNCATED.encode() in self.fields

    def cut(self, name: bytes) -> bool:
        return self.sizes.get(name, 0) > len(self.fields.get(name, b""))

    def summary(self) -> dict[str, Any]:
        out = {
            "id": self.dlq_id,
            "stream": self.stream,
            "original_id": self.get(C.DLQ_ORIGINAL_ID),
            "type": self.get("type"),
            "version": self.get("dataversion"),
            "event_id": self.get("id"),
            "reason": self.get(C.DLQ_REASON),
            "error_type": self.get(C.DLQ_ERROR_TYPE),
            "error": self.get(C.DLQ_ERROR_MESSAGE),
            "attempts": self.get(C.DLQ_ATTEMPTS),
            "group": self.get(C.DLQ_GROUP),
            "time": self.get(C.DLQ_TIME),
            "bytes": self.entry_bytes,
        }
        if self.named_stream and self.named_stream != self.stream:
            out["named_stream"] = self.named_stream
        if self.truncated:
            try:
                out["truncated"] = orjson.loads(self.fields[C.DLQ_TRUNCATED.encode()])
            except orjson.JSONDecodeError:
                out["truncated"] = True
        return out

    def detail(self) -> dict[str, Any]:
        out = self.summary()
        data = self.fields.get(b"data")
        if data is not None and not self.cut(b"data"):
            try:
                out["data"] = orjson.loads(data)
            except orjson.JSONDecodeError:
                out["data"] = data.decode(errors="replace")
        else:
            out["data"] = None if data is None else data.decode(errors="replace")
        dlq_names = {f.encode() for f in C.DLQ_FIELDS} | {b"data"}
        out["attributes"] = {
            k.decode(errors="replace"): v.decode(errors="replace")
            for k, v in self.fields.items()
            if k not in dlq_names
        }
        cut = {k.decode(errors="replace"): self.sizes[k] for k in self.fields if self.cut(k)}
        if cut:
            out["cut_fields"] = cut  # shown as a prefix; the value has this many bytes
        if self.entry_fields > len(self.fields):
            out["fields_not_shown"] = self.entry_fields - len(self.fields)
        return out


async def _peek(
    client: Any,
    dlq_stream: str,
    start: str,
    end: str,
    count: int,
    *,
    value_bytes: int,
    names: Sequence[str] = (),
) -> list[DeadLetterEntry]:
    rows = await client.eval(
        PEEK_LUA, 1, dlq_stream, start, end, count, value_bytes, MAX_FIELDS, *names
    )
    out: list[DeadLetterEntry] = []
    for entry_id, total, nfields, flat in rows:
        fields: dict[bytes, bytes] = {}
        sizes: dict[bytes, int] = {}
        for i in range(0, len(flat), 3):
            fields[flat[i]] = flat[i + 1]
            sizes[flat[i]] = int(flat[i + 2])
        out.append(
            DeadLetterEntry(dlq_stream, _s(entry_id), fields, sizes, int(total), int(nfields))
        )
    return out


async def dead_letter_streams(client: Any, stream: str | None = None) -> list[str]:
    return [C.dead_letter_stream(stream)] if stream else (await streams(client))[1]


async def dead_letters(
    client: Any, stream: str | None = None, *, count: int = 100
) -> list[DeadLetterEntry]:
    """Up to `count` dead letters per dead-letter stream, oldest first, summary fields
    only (each value cut to `SUMMARY_VALUE_BYTES`)."""
    out: list[DeadLetterEntry] = []
    for name in await dead_letter_streams(client, stream):
        out += await _peek(
            client, name, "-", "+", count, value_bytes=SUMMARY_VALUE_BYTES, names=_SUMMARY_FIELDS
        )
    return out


async def walk(
    client: Any, dlq_stream: str, *, names: Sequence[str] = _SUMMARY_FIELDS
) -> AsyncIterator[DeadLetterEntry]:
    """Every dead letter of one dead-letter stream, a page at a time."""
    start = "-"
    while True:
        page = await _peek(
            client, dlq_stream, start, "+", PAGE, value_bytes=SUMMARY_VALUE_BYTES, names=names
        )
        for entry in page:
            yield entry
        if len(page) < PAGE:
            return
        start = "(" + page[-1].dlq_id


async def find_dead_letter(
    client: Any,
    dlq_id: str,
    stream: str | None = None,
    *,
    detail: bool = False,
    dlq_streams: Sequence[str] | None = None,
) -> DeadLetterEntry:
    """One dead letter by id (summary fields, or every field with `detail`, values cut),
    looked for in `dlq_streams` (default: those of `stream`, or all)."""
    names: Sequence[str] = () if detail else _SUMMARY_FIELDS
    size = DETAIL_VALUE_BYTES if detail else SUMMARY_VALUE_BYTES
    if dlq_streams is None:
        dlq_streams = await dead_letter_streams(client, stream)
    for name in dlq_streams:
        found = await _peek(client, name, dlq_id, dlq_id, 1, value_bytes=size, names=names)
        if found:
            return found[0]
    raise LookupError(f"no dead letter {dlq_id!r}; `schemabus dlq list` shows the ids")


Validator = Callable[[Envelope], None]
Outcome = Literal["replayed", "kept", "unknown"]


@dataclass(slots=True)
class ReplayResult:
    #: (dead-letter id, outcome, new entry id when replayed, else the reason), in order.
    outcomes: list[tuple[str, Outcome, str]] = field(default_factory=list)
    #: The error that stopped the replay; entries after it are reported as kept.
    error: BaseException | None = None

    def add(self, dlq_id: str, outcome: Outcome, detail: str) -> None:
        self.outcomes.append((dlq_id, outcome, detail))

    @property
    def replayed(self) -> list[tuple[str, str]]:
        return [(i, d) for i, o, d in self.outcomes if o == "replayed"]

    @property
    def rejected(self) -> list[tuple[str, str]]:
        return [(i, d) for i, o, d in self.outcomes if o != "replayed"]


async def stream_types(client: Any, names: Sequence[str]) -> dict[str, str]:
    """TYPE of each name ('none' when missing)."""
    return {n: _s(await client.type(n)) for n in dict.fromkeys(names)}


def target_problem(kind: str, target: str) -> str | None:
    if kind == "stream":
        return None
    if kind == "none":
        return f"the target stream {target!r} does not exist (replay never creates one)"
    return f"the target {target!r} is a {kind}, not a stream"


async def replay(
    client: Any,
    entries: Sequence[DeadLetterEntry] | AsyncIterator[DeadLetterEntry],
    *,
    to: str | None = None,
    validate: Validator | None = None,
    max_bytes: int | None = None,
    target_types: dict[str, str] | None = None,
) -> ReplayResult:
    """Replay dead letters (see the module docstring for the rules). `max_bytes` keeps
    entries larger than that; `validate` keeps entries whose envelope or payload it
    rejects (it raises). `target_types` are the TYPEs the caller already checked."""
    result = ReplayResult()
    types = dict(target_types or {})
    current: str | None = None  # the entry being checked
    writing = False  # ... and whether its replay script was sent
    try:
        async for entry in _aiter(entries):
            current, writing = entry.dlq_id, False
            target = to or entry.stream
            if target not in types:
                types.update(await stream_types(client, [target]))
            why = await _keep_reason(client, entry, target, to, types, validate, max_bytes)
            if why is not None:
                result.add(entry.dlq_id, "kept", why)
            else:
                writing = True
                result.add(entry.dlq_id, *await _replay_one(client, entry, target))
            current = None
    except Exception as exc:
        result.error = exc
        failure = f"{type(exc).__name__} while replaying it"
        if current is not None and writing:
            result.add(
                current,
                "unknown",
                f"{failure}; the script may or may not have run: `schemabus dlq list` shows "
                "whether it is still a dead letter",
            )
        elif current is not None:
            result.add(current, "kept", f"not replayed: {failure}")
        if isinstance(entries, Sequence):
            done = {i for i, _, _ in result.outcomes}
            for entry in entries:
                if entry.dlq_id not in done:
                    result.add(entry.dlq_id, "kept", "not attempted: replay stopped at an error")
    return result


async def _aiter(
    entries: Sequence[DeadLetterEntry] | AsyncIterator[DeadLetterEntry],
) -> AsyncIterator[DeadLetterEntry]:
    if isinstance(entries, Sequence):
        for entry in entries:
            yield entry
    else:
        async for entry in entries:
            yield entry


async def _keep_reason(
    client: Any,
    entry: DeadLetterEntry,
    target: str,
    to: str | None,
    types: dict[str, str],
    validate: Validator | None,
    max_bytes: int | None,
) -> str | None:
    if entry.truncated:
        return (
            "holds only a bounded prefix of an oversized entry "
            f"({entry.entry_bytes} bytes kept); it cannot be replayed"
        )
    if to is None and entry.named_stream and entry.named_stream != entry.stream:
        return (
            f"it names stream {entry.named_stream!r} but is a dead letter of "
            f"{entry.stream!r}; replay sends entries only to the stream whose dead letters "
            f"they are, unless --to names a target"
        )
    problem = target_problem(types[target], target)
    if problem is not None:
        return problem
    if isinstance(client, RedisCluster) and key_slot(target.encode()) != key_slot(
        entry.dlq_stream.encode()
    ):
        return (
            f"on a Redis Cluster replay moves an entry in one atomic step, so the target must "
            f"be in the slot of {entry.dlq_stream!r} (hash tag {slot_tag(entry.stream)}); "
            f"{target!r} is not: replay it to its own stream, then copy it over"
        )
    if validate is None and max_bytes is None:
        return None
    full = await _read_whole(client, entry, max_bytes)
    if isinstance(full, str):
        return full
    if validate is not None:
        try:
            validate(Envelope.from_fields(full))
        except Exception as exc:
            return one_line_reason(exc)
    return None


async def _read_whole(
    client: Any, entry: DeadLetterEntry, max_bytes: int | None
) -> dict[bytes, bytes] | str:
    """The entry's original fields, or why not (too large: checked before reading)."""
    gone = "no longer a dead letter (replayed or purged meanwhile)"
    probe = await _peek(
        client, entry.dlq_stream, entry.dlq_id, entry.dlq_id, 1, value_bytes=0, names=C.DLQ_FIELDS
    )
    if not probe:
        return gone
    found = probe[0]
    size = found.entry_bytes - sum(len(name) + found.sizes[name] for name in found.fields)
    if max_bytes is not None and size > max_bytes:
        return _too_large(size, max_bytes)
    rows = await client.xrange(entry.dlq_stream, min=entry.dlq_id, max=entry.dlq_id)
    if not rows:
        return gone
    fields = original_fields(dict(rows[0][1]))
    size = entry_size(fields)
    if max_bytes is not None and size > max_bytes:  # rewritten in between
        return _too_large(size, max_bytes)
    return fields


def _too_large(size: int, max_bytes: int) -> str:
    return (
        f"the event is {size} bytes as a stream entry, over the limit of {max_bytes} "
        "(SCHEMABUS_MAX_PAYLOAD_BYTES); consumers would dead-letter it again"
    )


async def _replay_one(client: Any, entry: DeadLetterEntry, target: str) -> tuple[Outcome, str]:
    answer = await client.eval(
        REPLAY_LUA, 2, entry.dlq_stream, target, entry.dlq_id, MAX_REPLAY_FIELDS, *C.DLQ_FIELDS
    )
    status = _s(answer[0])
    if status == "ok":
        return "replayed", _s(answer[1])
    reasons = {
        "gone": "no longer a dead letter (replayed or purged meanwhile)",
        "truncated": "holds only a bounded prefix of an oversized entry; it cannot be replayed",
        "empty": "has no fields besides the dead-letter ones; nothing to replay",
    }
    if status == "not_stream":
        return "kept", target_problem(_s(answer[1]), target) or "the target changed type"
    if status == "too_many":
        return "kept", f"has {int(answer[1])} fields, too many to replay in one script"
    return "kept", reasons.get(status, f"replay script answered {status!r}")


def one_line_reason(exc: BaseException) -> str:
    """A validation failure in one line (a pydantic error lists every field otherwise)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False)
        if errors:
            first = errors[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "(payload)"
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return f"invalid {exc.title} payload: {where}: {first.get('msg', '')}{more}"
    # str(KeyError) adds quotes around its message.
    text = str(exc.args[0]) if isinstance(exc, LookupError) and exc.args else str(exc)
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__


async def purge(client: Any, entries: Sequence[DeadLetterEntry]) -> int:
    pipe = client.pipeline(transaction=False)
    for entry in entries:
        pipe.xdel(entry.dlq_stream, entry.dlq_id)
    return sum(int(n) for n in await pipe.execute()) if entries else 0

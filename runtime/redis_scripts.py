"""The Lua scripts the Redis transport runs, one per atomic step, and how to call them.

Each script that touches a partition first checks its lease (`owner` and `epoch` of
`schemabus:lease:<partition>:<group>`) against the caller's name and fencing token, and
does nothing but answer `FENCED` when they differ. So a member that lost a partition
(paused, partitioned away, slow) can neither read new entries of it, nor acknowledge,
dead-letter or redeliver them, nor apply staged effects: its late work is discarded and
the new owner redoes it. The lease's expiry is deliberately *not* checked there: while
nobody else acquired the partition (which bumps the epoch) nobody else can be handling
it, so a member whose renewal was late loses nothing.

Every key a script touches is derived from the partition key with its hash tag, so in a
Redis Cluster one call stays in one slot. Times come from the server (`TIME`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from redis.exceptions import NoScriptError

from runtime.redis_pipeline import Keyed, ReplicaWait, pipeline

NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: lease. ARGV: member, ttl_ms -> {token or 0, holder, expires_in_ms}
ACQUIRE = (
    NOW
    + """
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch', 'expires')
local owner, epoch, expires = cur[1], tonumber(cur[2]) or 0, tonumber(cur[3]) or 0
if owner and owner ~= '' and owner ~= ARGV[1] and expires > now then
  return {0, owner, expires - now}
end
epoch = epoch + 1
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'epoch', epoch,
           'expires', now + tonumber(ARGV[2]), 'since', now)
return {epoch, ARGV[1], tonumber(ARGV[2])}
"""
)

# KEYS: lease. ARGV: member, token, ttl_ms -> 1 renewed, 0 lost
RENEW = (
    NOW
    + """
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'expires', now + tonumber(ARGV[3]))
return 1
"""
)

# KEYS: lease. ARGV: member, token -> 1 released, 0 not held
RELEASE = """
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'owner', '', 'expires', 0)
return 1
"""

# KEYS: members zset, member hash. ARGV: member, ttl_ms, member-hash prefix, then
# field/value pairs of details -> live members and the streams each reads:
# {name, streams (comma-separated), name, streams, ...}
HEARTBEAT = (
    NOW
    + """
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if #ARGV > 3 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 4))
end
redis.call('HSET', KEYS[2], 'seen', now)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
redis.call('PEXPIRE', KEYS[1], ttl * 10)
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGET', ARGV[3] .. m, 'streams') or ''
end
return out
"""
)

# The deployed registry (runtime.deployed). KEYS: registry zset, replica hash.
# ARGV: member, ttl_ms, boot id, advertisement (JSON) -> since (ms, broker time).
# A new boot id (the process restarted under the same name) resets `since`.
ADVERTISE = (
    NOW
    + """
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ttl * 10)
if redis.call('HGET', KEYS[2], 'boot') ~= ARGV[3] then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'boot', ARGV[3], 'since', now)
end
redis.call('HSET', KEYS[2], 'ad', ARGV[4], 'seen', now)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
return tonumber(redis.call('HGET', KEYS[2], 'since'))
"""
)

# KEYS: registry zset, replica hash. ARGV: member, boot id -> 1 withdrawn, 0 not ours
# (a newer process under the same name advertises there now).
WITHDRAW = """
if redis.call('HGET', KEYS[2], 'boot') ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
"""

LEASE_CHECK = """
local lease = redis.call('HMGET', KEYS[2], 'owner', 'epoch')
if lease[1] ~= ARGV[2] or lease[2] ~= ARGV[3] then return {'FENCED'} end
"""

# KEYS: stream, lease (the marks share their hash tag).
# ARGV: group, member, token, count, start ('>' new, else an id: own pending after it),
#       mark prefix, dedupe ('always' | 'redelivered' | 'off'), max entry bytes,
#       max batch bytes, prefix bytes kept of an oversized entry's fields
# -> {'FENCED'} | {'OK', last stream id (only when nothing was read), entries}
#    entry = {id, fields (flat; false when deleted), attempts, completed 0/1, size}
# An entry over `max entry bytes` (all names and values) comes back as a bounded stand-in:
# each field cut to `prefix bytes`, plus `schemabus-oversized` = its size and
# `schemabus-sha1` = SHA-1 of its values (Redis's Lua has no SHA-256). Entries past the
# batch budget come back without fields (`deferred`): they are pending now and the
# client reads them again from its own history.
FETCH = (
    LEASE_CHECK
    + """
local start = ARGV[5]
local history = start ~= '>'
local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[4],
                         'STREAMS', KEYS[1], start)
if not reply or #reply[1][2] == 0 then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  return {'OK', last[1] and last[1][1] or '0-0', {}}
end
local entries = reply[1][2]
local counts = {}
if history then
  local rows = redis.call('XPENDING', KEYS[1], ARGV[1], entries[1][1],
                          entries[#entries][1], #entries, ARGV[2])
  for _, row in ipairs(rows) do counts[row[1]] = row[4] end
end
local prefix, mode = ARGV[6], ARGV[7]
local max_entry, budget, keep = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local out, used = {}, 0
for i, e in ipairs(entries) do
  local id, fields = e[1], e[2]
  local attempts = 1
  if history then attempts = counts[id] or 2 end
  local done, size = 0, 0
  if fields then
    for j = 1, #fields do size = size + #fields[j] end
    if size > max_entry then
      local values = {}
      local stub = {'schemabus-oversized', tostring(size)}
      for j = 1, #fields, 2 do
        values[#values + 1] = fields[j + 1]
        stub[#stub + 1] = string.sub(fields[j], 1, keep)
        stub[#stub + 1] = string.sub(fields[j + 1], 1, keep)
      end
      stub[#stub + 1] = 'schemabus-sha1'
      stub[#stub + 1] = redis.sha1hex(table.concat(values))
      fields = stub
    elseif i > 1 and used + size > budget then
      fields = 'deferred'
    else
      used = used + size
      if mode == 'always' or (mode == 'redelivered' and attempts > 1) then
        for j = 1, #fields, 2 do
          if fields[j] == 'id' then
            if fields[j + 1] ~= '' and redis.call('EXISTS', prefix .. fields[j + 1]) == 1 then
              done = 1
            end
            break
          end
        end
      end
    end
  end
  out[i] = {id, fields, attempts, done, size}
end
return {'OK', false, out}
"""
)

# KEYS: stream, lease, dead-letter stream.
# ARGV: group, member, token, ttl, mark prefix, n done, n dead, dead-letter maxlen,
#       n entry ids, n event ids ('' = no idempotency key),
#       per dead letter: entry id, field count, fields...,
#       per done entry with effects: its index (1-based), its number of effects, and per
#       effect: argc, args...
# Entries whose marker already existed (completed before, by anyone) skip their effects.
# A staged command that fails (WRONGTYPE, a key outside the slot, ...) fails its entry
# only: its mark is removed, it is not acknowledged, and {'OK', k, error, ...} names it
# (commands of that entry before the failing one stay applied: Lua cannot roll back).
SETTLE = (
    LEASE_CHECK
    + """
local group, ttl, prefix = ARGV[1], ARGV[4], ARGV[5]
local n, ndead, maxlen = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local fresh = {}
for k = 1, n do
  local event_id = ARGV[8 + n + k]
  if event_id == '' then
    fresh[k] = true
  else
    fresh[k] = redis.call('SET', prefix .. event_id, '1', 'NX', 'EX', ttl)
  end
end
local i = 9 + 2 * n
for _ = 1, ndead do
  local entry_id, count = ARGV[i], tonumber(ARGV[i + 1])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', maxlen, '*', unpack(ARGV, i + 2, i + 1 + count))
  redis.call('XACK', KEYS[1], group, entry_id)
  i = i + 2 + count
end
local total = #ARGV
local failed = {}
while i <= total do
  local k, effects = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  i = i + 2
  for _ = 1, effects do
    local argc = tonumber(ARGV[i])
    if fresh[k] and not failed[k] then
      local result = redis.pcall(unpack(ARGV, i + 1, i + argc))
      if type(result) == 'table' and result.err then failed[k] = result.err end
    end
    i = i + 1 + argc
  end
end
local out, acks = {'OK'}, {}
for k = 1, n do
  if failed[k] then
    -- Not completed: forget its mark, leave it pending, tell the caller why.
    local event_id = ARGV[8 + n + k]
    if event_id ~= '' then redis.call('DEL', prefix .. event_id) end
    out[#out + 1] = k
    out[#out + 1] = failed[k]
  else
    acks[#acks + 1] = ARGV[8 + k]
  end
end
for first = 1, #acks, 1000 do
  redis.call('XACK', KEYS[1], group, unpack(acks, first, math.min(first + 999, #acks)))
end
return out
"""
)

# KEYS: stream. ARGV: trim ('' | 'MAXLEN' | 'MINID'), trim value, then per entry: its
# field count and fields -> entries appended. One call appends a whole batch to one stream
# partition: one command to pack and one reply to parse, instead of one per event (what
# makes `publish_many` cheaper than pipelined XADDs on the client).
APPEND = """
local n, i = #ARGV, 3
local trim, limit = ARGV[1], ARGV[2]
local count = 0
while i <= n do
  local c = tonumber(ARGV[i])
  if trim == '' then
    redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + c))
  else
    redis.call('XADD', KEYS[1], trim, '~', limit, '*', unpack(ARGV, i + 1, i + c))
  end
  count = count + 1
  i = i + 1 + c
end
return count
"""

# KEYS: stream, lease. ARGV: group, member, token, entry id -> {'OK', deliveries}
# (JUSTID would not count the delivery, so the count is set explicitly; no fields travel.)
REDELIVER = (
    LEASE_CHECK
    + """
local rows = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[4], ARGV[4], 1)
local count = 1
if rows[1] then count = rows[1][4] + 1 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[4], 'RETRYCOUNT', count, 'JUSTID')
return {'OK', count}
"""
)

# KEYS: stream, lease. ARGV: group, member, token, cursor, count
# -> {'OK', next cursor ('0-0' when done), claimed, ids deleted from the stream}
# JUSTID does not count a delivery; reading the claimed entries from the new owner's
# history does, exactly once. Redis >= 7 drops pending entries whose entry was deleted
# (trimmed) from the pending list as it claims, and names them: the caller reports them.
CLAIM = (
    LEASE_CHECK
    + """
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[4],
                     'COUNT', ARGV[5], 'JUSTID')
return {'OK', r[1], #r[2], r[3] or {}}
"""
)


class Script:
    """A Lua script run by EVALSHA, loaded again when the server lost it (a restart)."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, client: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.execute_command("EVAL", self.source, len(keys), *keys, *args)


Call = tuple[Script, list[str], list[Any]]


async def run_many(client: Any, calls: list[Call], wait: ReplicaWait | None = None) -> list[Any]:
    """Run script calls in one pipelined round trip (per node on a cluster); one result
    per call, errors returned in place (not raised). Calls that failed only because the
    server lost its scripts (a restart, a promoted replica) are loaded and run again, so
    no call runs twice. `wait`: each node's calls are followed by WAIT for replicas (see
    `runtime.redis_pipeline`)."""
    results = await pipeline(client, [_evalsha(c) for c in calls], wait)
    again = [k for k, r in enumerate(results) if isinstance(r, NoScriptError)]
    if again:
        await load_all(client)
        retried = await pipeline(client, [_evalsha(calls[k]) for k in again], wait)
        for k, r in zip(again, retried, strict=True):
            results[k] = r
    return results


def _evalsha(call: Call) -> Keyed:
    script, keys, args = call
    # Every key of a call shares one hash tag: the first one routes it on a cluster.
    return (keys[0], ("EVALSHA", script.sha, len(keys), *keys, *args))


SCRIPTS = {
    name: Script(src)
    for name, src in (
        ("acquire", ACQUIRE),
        ("renew", RENEW),
        ("release", RELEASE),
        ("heartbeat", HEARTBEAT),
        ("advertise", ADVERTISE),
        ("withdraw", WITHDRAW),
        ("fetch", FETCH),
        ("settle", SETTLE),
        ("redeliver", REDELIVER),
        ("claim", CLAIM),
        ("append", APPEND),
    )
}


async def load_all(client: Any) -> None:
    """SCRIPT LOAD every script (after connecting, and after a NOSCRIPT in a pipeline);
    on a cluster redis-py sends it to every primary."""
    for script in SCRIPTS.values():
        await client.script_load(script.source)

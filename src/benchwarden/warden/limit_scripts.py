"""The shared limiter's server-side scripts (Lua, run by Redis atomically).

The same arithmetic as ``limits.SlidingWindowLimiter``, one script per operation, so
that admission is atomic across replicas: no replica can read the window and write
it back with another's admission in between. Time is Redis's own clock (``TIME``),
in milliseconds, so every replica measures the window from the same clock.

Keys of one grant (one hash tag, so they live on one node of a cluster):
  KEYS[1] req     sorted set: admissions (member: reservation id, score: time)
  KEYS[2] tok     sorted set: token entries (member: entry id, score: time)
  KEYS[3] amt     hash: entry id -> tokens (an entry is "live" while it is here)
  KEYS[4] used    string: the sum of the live entries' tokens
  KEYS[5] active  sorted set: calls in flight (member: reservation id, score: lease end)
A call in flight holds a lease that its replica renews; a replica that dies stops
renewing, and its slots are freed when the leases end. Its token entries leave the
window like any other, so nothing leaks and nothing is charged twice.
"""

from __future__ import annotations

# Shared by every script: the clock, and dropping what left the window. HMGET/ZREM
# take their members in chunks (Lua's unpack has a stack limit of a few thousand).
_COMMON = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

local function each_chunk(list, fn)
  for i = 1, #list, 1000 do
    local part = {}
    for j = i, math.min(i + 999, #list) do part[#part + 1] = list[j] end
    fn(part)
  end
end

local function prune(now, window)
  local edge = now - window
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', edge)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', edge)
  if #gone > 0 then
    local sum = 0
    each_chunk(gone, function(part)
      local amounts = redis.call('HMGET', KEYS[3], unpack(part))
      for k = 1, #amounts do sum = sum + (tonumber(amounts[k]) or 0) end
      redis.call('ZREM', KEYS[2], unpack(part))
      redis.call('HDEL', KEYS[3], unpack(part))
    end)
    if sum ~= 0 then redis.call('DECRBY', KEYS[4], sum) end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
end

local function used()
  return tonumber(redis.call('GET', KEYS[4]) or '0')
end

local function keep(ttl)
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
"""

# ARGV: window_ms, rpm, tpm, max_concurrency (-1: unlimited), tokens, reservation id,
# lease_ms, ttl_ms. Returns {admitted 0/1, code, wait_ms (string), requests, tokens,
# in flight}: the counts in the window after this decision.
RESERVE = (
    _COMMON
    + """
local window = tonumber(ARGV[1])
local rpm, tpm, conc = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens, id = tonumber(ARGV[5]), ARGV[6]
local now = now_ms()
prune(now, window)
local in_use = used()
local nreq = redis.call('ZCARD', KEYS[1])
local active = redis.call('ZCARD', KEYS[5])
if tpm >= 0 and tokens > tpm then
  return {0, 'too_large', '0', nreq, in_use, active}
end
if conc >= 0 and active >= conc then
  return {0, 'concurrency', '0', nreq, in_use, active}
end
local rpm_wait = nil
if rpm >= 0 and nreq >= rpm then
  local oldest = redis.call('ZRANGE', KEYS[1], nreq - rpm, nreq - rpm, 'WITHSCORES')
  rpm_wait = tonumber(oldest[2]) + window - now
end
local tpm_wait = nil
if tpm >= 0 and in_use + tokens > tpm then
  tpm_wait = window
  local entries = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  local freed = 0
  for i = 1, #entries, 2 do
    freed = freed + (tonumber(redis.call('HGET', KEYS[3], entries[i])) or 0)
    if in_use - freed + tokens <= tpm then
      tpm_wait = tonumber(entries[i + 1]) + window - now
      break
    end
  end
end
if rpm_wait ~= nil and (tpm_wait == nil or rpm_wait >= tpm_wait) then
  return {0, 'rpm', tostring(rpm_wait), nreq, in_use, active}
end
if tpm_wait ~= nil then
  return {0, 'tpm', tostring(tpm_wait), nreq, in_use, active}
end
redis.call('ZADD', KEYS[1], now, id)
redis.call('ZADD', KEYS[2], now, id)
redis.call('HSET', KEYS[3], id, tokens)
redis.call('INCRBY', KEYS[4], tokens)
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[7]), id)
keep(tonumber(ARGV[8]))
return {1, 'ok', '0', nreq + 1, in_use + tokens, active + 1}
"""
)

# ARGV: window_ms, tpm (-1: unlimited), tokens, entry id, reservation id, lease_ms,
# ttl_ms. Returns 1 when charged, 0 when the window has no room.
EXTEND = (
    _COMMON
    + """
local window, tpm, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
prune(now, window)
if tpm >= 0 and used() + tokens > tpm then return 0 end
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('HSET', KEYS[3], ARGV[4], tokens)
redis.call('INCRBY', KEYS[4], tokens)
redis.call('ZADD', KEYS[5], 'XX', now + tonumber(ARGV[6]), ARGV[5])
keep(tonumber(ARGV[7]))
return 1
"""
)

# ARGV: window_ms, actual tokens, reservation id, ttl_ms, then entry id and its
# tokens, pairwise, oldest first. Frees the slot; refunds from the newest entry back
# (an entry that already left the window takes its share of the refund without
# changing the count, as in process); charges an overshoot as a new entry.
SETTLE = (
    _COMMON
    + """
local window, actual, id = tonumber(ARGV[1]), math.max(0, tonumber(ARGV[2])), ARGV[3]
local now = now_ms()
redis.call('ZREM', KEYS[5], id)
prune(now, window)
local reserved = 0
for i = 5, #ARGV, 2 do reserved = reserved + tonumber(ARGV[i + 1]) end
local refund = reserved - actual
local i = #ARGV - 1
while refund > 0 and i >= 5 do
  local member, amount = ARGV[i], tonumber(ARGV[i + 1])
  local take = math.min(refund, amount)
  if redis.call('HEXISTS', KEYS[3], member) == 1 then
    redis.call('HINCRBY', KEYS[3], member, -take)
    redis.call('DECRBY', KEYS[4], take)
  end
  refund = refund - take
  i = i - 2
end
if refund < 0 then
  local extra = id .. ':over'
  redis.call('ZADD', KEYS[2], now, extra)
  redis.call('HSET', KEYS[3], extra, -refund)
  redis.call('INCRBY', KEYS[4], -refund)
end
keep(tonumber(ARGV[4]))
return 1
"""
)

# KEYS: the active sets; ARGV: lease_ms, then per key the reservation ids, as
# "count, id..." groups. Renews the leases of calls still in flight (never re-adds
# one that expired or settled).
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local lease = tonumber(ARGV[1])
local at = 2
for k = 1, #KEYS do
  local n = tonumber(ARGV[at])
  for j = at + 1, at + n do
    redis.call('ZADD', KEYS[k], 'XX', now + lease, ARGV[j])
  end
  redis.call('PEXPIRE', KEYS[k], lease * 4)
  at = at + n + 1
end
return 1
"""

# ARGV: window_ms. Returns {requests, tokens, in flight} in the window now.
USAGE = (
    _COMMON
    + """
local now = now_ms()
prune(now, tonumber(ARGV[1]))
return {redis.call('ZCARD', KEYS[1]), used(), redis.call('ZCARD', KEYS[5])}
"""
)

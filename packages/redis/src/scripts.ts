import type { ChainableCommander, Redis } from 'ioredis';

/**
 * Lua scripts: every state change that must not be torn by a crash runs as one script
 * (Redis runs a script atomically), so a message is never lost or doubled between
 * "add it somewhere" and "acknowledge the old entry".
 *
 * Ownership: a consumer only requeues or refreshes an entry that is still in its own
 * pending list. An entry claimed by another consumer (this one was presumed dead) is
 * left alone: the nack turns into a no-op and the other consumer owns it. Acks are plain
 * XACKs, not scripts (see RedisSubscription.ackEntry): an ack follows a finished
 * handler, so it may mark done an entry another member claimed meanwhile.
 *
 * Scripts touch keys they read from a scheduled entry, so this needs a standalone
 * Redis (or a single-shard setup), not Redis Cluster.
 */

/** Shared helpers: the Redis clock in ms, and the scheduled-entry decoder (see codec.ts). */
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function decode(s)
  local parts = {}
  local pos = 1
  local n = #s
  while pos <= n do
    local colon = string.find(s, ':', pos, true)
    if not colon then return nil end
    local len = tonumber(string.sub(s, pos, colon - 1))
    if not len or colon + len > n then return nil end
    parts[#parts + 1] = string.sub(s, colon + 1, colon + len)
    pos = colon + len + 1
  end
  return parts
end
-- XADD a scheduled entry to its target stream; false when the entry cannot be added.
local function add_scheduled(member)
  local parts = decode(member)
  if not parts or #parts < 4 or #parts % 2 ~= 0 then return false end
  local r = redis.pcall('XADD', parts[2], '*', unpack(parts, 3))
  if type(r) == 'table' and r.err then
    if string.find(r.err, 'OOM', 1, true) then error(r.err) end
    return false
  end
  return true
end
-- Is the entry in this consumer's pending list? nil when the group does not exist.
local function owned(stream, group, consumer, id)
  local p = redis.pcall('XPENDING', stream, group, id, id, 1, consumer)
  if type(p) == 'table' and p.err then
    if string.find(p.err, 'NOGROUP', 1, true) then return nil end
    error(p.err)
  end
  return #p == 1
end
`;

/**
 * Helpers of the bounded-topic scripts (see bound.ts and README "Bounded topics"). What a bound
 * counts for a group: the topic-stream entries it has not read yet (its lag), plus, for a
 * `reject` bound, the entries of its redelivery stream not handed over yet. Delivered entries
 * (pending or acked) do not count, nor do delayed entries still in the scheduled set.
 */
const BOUNDS = `
local function group_infos(stream)
  local infos = {}
  if redis.call('EXISTS', stream) == 0 then return infos end
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local info = {}
    for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
    infos[#infos + 1] = info
  end
  return infos
end
-- Entries of the stream after the group's position. Redis 7 reports it (lag); it can report
-- more than the stream holds once trimming passed the group's position (it counts the trimmed
-- entries), so never more than XLEN. Unknown (Redis 6.2; entries XDEL'd after the position; a
-- group recreated mid-stream until it catches up): counted, at most max + 1.
local function lag_of(stream, info, max)
  local len = redis.call('XLEN', stream)
  local lag = info['lag']
  if type(lag) == 'number' then return math.min(lag, len) end
  return #redis.call('XRANGE', stream, '(' .. info['last-delivered-id'], '+', 'COUNT', max + 1)
end
-- Redelivery entries of the group not handed over yet (acked ones are XDEL'd: the rest is pending or waiting).
local function redeliveries_of(retry, group)
  if redis.call('EXISTS', retry) == 0 then return 0 end
  local p = redis.pcall('XPENDING', retry, group)
  local held = 0
  if type(p) == 'table' and not p.err then held = p[1] end
  return math.max(0, redis.call('XLEN', retry) - held)
end
-- The most any group has waiting, that group's name, and the number of groups.
local function fullest(stream, retry_prefix, max)
  local infos = group_infos(stream)
  local most, name = 0, ''
  for _, info in ipairs(infos) do
    local n = lag_of(stream, info, max)
    if retry_prefix ~= '' then n = n + redeliveries_of(retry_prefix .. info['name'], info['name']) end
    if n > most or name == '' then most, name = n, info['name'] end
  end
  return most, name, #infos
end
`;

/**
 * A publish to a bounded topic: the check and the XADD in one script, so racing publishers can
 * never both take the last place (the bound is exact). KEYS: topic stream. ARGV: policy
 * ('reject' or 'drop-oldest'), max messages, the topic's redelivery key prefix, fields...
 * - reject: refused when a group already has max messages waiting; returns {0, waiting, group}
 *   (nothing stored), or 1.
 * - drop-oldest: XADD, then XTRIM MAXLEN = max when a group has more than max entries it has
 *   not read (or no group exists, so nothing needs the older entries). Returns 1.
 */
const BOUNDED_ADD = `${BOUNDS}
local max = tonumber(ARGV[2])
if ARGV[1] == 'reject' then
  local waiting, group = fullest(KEYS[1], ARGV[3], max)
  if waiting >= max then return {0, waiting, group} end
  redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
  return 1
end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
local lag, _, groups = fullest(KEYS[1], '', max)
if lag > max or groups == 0 then redis.call('XTRIM', KEYS[1], 'MAXLEN', max) end
return 1
`;

/**
 * A delayed publish to a topic with a `reject` bound: checked now, stored when due (moved like
 * any scheduled entry, never refused then: the publisher was told it is accepted). KEYS: topic
 * stream, scheduled set. ARGV: max messages, redelivery key prefix, delay ms, scheduled entry.
 * Returns {0, waiting, group} when refused, else 1.
 */
const BOUNDED_SCHEDULE = `${PRELUDE}${BOUNDS}
local max = tonumber(ARGV[1])
local waiting, group = fullest(KEYS[1], ARGV[2], max)
if waiting >= max then return {0, waiting, group} end
redis.call('ZADD', KEYS[2], string.format('%.0f', now_ms() + tonumber(ARGV[3])), ARGV[4])
return 1
`;

/**
 * Nack / release: add the new entry (now, or scheduled after a delay) and ack the old
 * one, atomically. KEYS: source stream, scheduled set. ARGV: group, consumer, id,
 * '1' to also XDEL, delay ms, scheduled entry (target + fields).
 * When the group vanished (NOGROUP) the entry is re-added anyway: a duplicate beats a loss; so is
 * a topic-stream entry trimmed away while held (see below).
 */
const REQUEUE = `${PRELUDE}
local mine = owned(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
if mine == false then
  -- Not in this consumer's pending list: another member claimed it, or it was acked. Leave it,
  -- unless it is a topic-stream entry that nobody holds and that no longer exists: a drop-oldest
  -- bound trimmed it while this consumer handled it (Redis 7 then drops the id from the pending
  -- list at the next XCLAIM, the heartbeat's), and this consumer's copy is the only one left.
  if ARGV[4] == '1' then return 0 end
  local anyone = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
  if #anyone > 0 or #redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3]) > 0 then return 0 end
end
local delay = tonumber(ARGV[5])
if delay > 0 then
  redis.call('ZADD', KEYS[2], string.format('%.0f', now_ms() + delay), ARGV[6])
elseif not add_scheduled(ARGV[6]) then
  return redis.error_reply('ERR omnibus: malformed requeue entry')
end
if mine then redis.call('XACK', KEYS[1], ARGV[1], ARGV[3]) end
if ARGV[4] == '1' then redis.call('XDEL', KEYS[1], ARGV[3]) end
return 1
`;

/** Delayed publish. KEYS: scheduled set. ARGV: delay ms, scheduled entry. Due time on the Redis clock. */
const SCHEDULE = `${PRELUDE}
redis.call('ZADD', KEYS[1], string.format('%.0f', now_ms() + tonumber(ARGV[1])), ARGV[2])
return 1
`;

/**
 * Move due scheduled entries to their streams: XADD then ZREM per entry inside one
 * script, so an entry is never both moved and still scheduled, nor lost. An entry that
 * cannot be added (corrupt, wrong key type) goes to the `:invalid` set for inspection
 * instead of blocking the queue. KEYS: scheduled set, invalid set. ARGV: batch size.
 * Returns {moved, ms until the next entry is due or -1}.
 */
const MOVE_DUE = `${PRELUDE}
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now), 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  if not add_scheduled(member) then redis.call('ZADD', KEYS[2], string.format('%.0f', now), member) end
  redis.call('ZREM', KEYS[1], member)
end
local nextdue = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = -1
if nextdue[2] then wait = math.max(0, tonumber(nextdue[2]) - now) end
return {#due, wait}
`;

/**
 * Claim entries idle longer than the claim time from dead consumers, with their
 * delivery counts (XAUTOCLAIM does not return them). KEYS: stream. ARGV: group,
 * consumer, min idle ms, cursor, count. Returns {next cursor, entries, counts}.
 */
const CLAIM = `${PRELUDE}
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local entries = r[2]
local counts = {}
for i = 1, #entries do
  local e = entries[i]
  local c = 0
  if type(e) == 'table' then
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    if p[1] then c = p[1][4] end
  end
  counts[i] = c
end
return {r[1], entries, counts}
`;

/**
 * Heartbeat: reset the idle time of entries this consumer still owns (XCLAIM JUSTID
 * does not count a delivery), so a slow handler is not mistaken for a dead one.
 * KEYS: stream. ARGV: group, consumer, ids... Returns how many were refreshed.
 */
const HEARTBEAT = `${PRELUDE}
local n = 0
for i = 3, #ARGV do
  local mine = owned(KEYS[1], ARGV[1], ARGV[2], ARGV[i])
  if mine == nil then return n end
  if mine then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
`;

/**
 * Remove consumers that have nothing pending and are idle longer than ARGV[2] ms, or are
 * named ARGV[3] (a subscription leaving). Never removes a consumer with pending entries.
 * KEYS: stream. ARGV: group, min idle ms, own name or ''.
 */
const REAP = `
local cs = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if type(cs) == 'table' and cs.err then return 0 end
local removed = 0
for _, c in ipairs(cs) do
  local info = {}
  for j = 1, #c, 2 do info[c[j]] = c[j + 1] end
  if info['pending'] == 0 and (info['name'] == ARGV[3] or info['idle'] > tonumber(ARGV[2])) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed = removed + 1
  end
end
return removed
`;

/**
 * Trim a topic stream with MINID ~ to what maxLen / maxAge allow (both absent: everything),
 * but never past the oldest entry some group still needs (pending, or not yet delivered
 * to it). KEYS: topic stream. ARGV: max length (-1: none), max age ms (-1: none).
 * Returns the number of entries removed.
 */
const TRIM = `${PRELUDE}
local function split(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = split(a)
  local bm, bs = split(b)
  return am < bm or (am == bm and as < bs)
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local maxlen = tonumber(ARGV[1])
local maxage = tonumber(ARGV[2])
local target = nil
if maxlen < 0 and maxage < 0 then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if not last[1] then return 0 end
  target = last[1][1]
end
if maxage >= 0 then target = string.format('%.0f', math.max(0, now_ms() - maxage)) .. '-0' end
if maxlen >= 0 then
  local excess = redis.call('XLEN', KEYS[1]) - maxlen
  if excess > 0 then
    local r = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', math.min(excess, 10000) + 1)
    local keep = r[#r][1]
    if target == nil or less(target, keep) then target = keep end
  end
end
if target == nil then return 0 end
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
  local needed = info['last-delivered-id']
  if info['pending'] > 0 then needed = redis.call('XPENDING', KEYS[1], info['name'])[2] end
  if less(needed, target) then target = needed end
end
return redis.call('XTRIM', KEYS[1], 'MINID', '~', target)
`;

/**
 * Lua helpers of the inspection scripts: the target stream of a scheduled entry (its second
 * netstring part, read without decoding the rest), and two counters that read entries in small
 * steps until a run's entry or byte budget is spent, so one run never blocks Redis long (Lua
 * gets whole entries: the byte budget bounds what a run copies, whatever the message sizes).
 */
const COUNTING = `
local STEP = 100
-- How many to read next: one at first, then as many as the budget left holds at the average
-- size so far (at most STEP), so that even a run of 16 MiB messages stays near the budget.
local function next_step(read, bytes, max, budget)
  if read == 0 then return 1 end
  local average = math.max(1, bytes / read)
  return math.max(1, math.min(STEP, max - read, math.floor((budget - bytes) / average)))
end
local function target_of(member)
  local c1 = string.find(member, ':', 1, true)
  if not c1 then return nil end
  local l1 = tonumber(string.sub(member, 1, c1 - 1))
  if not l1 then return nil end
  local p = c1 + l1 + 1
  local c2 = string.find(member, ':', p, true)
  if not c2 then return nil end
  local l2 = tonumber(string.sub(member, p, c2 - 1))
  if not l2 then return nil end
  return string.sub(member, c2 + 1, c2 + l2)
end
-- Members of a sorted set from index start, counted per target (one of targets).
-- Returns counts, members read, true when the set ended.
local function count_scheduled(key, start, max, budget, targets)
  local index, counts = {}, {}
  for i, t in ipairs(targets) do
    index[t] = i
    counts[i] = 0
  end
  local read, bytes = 0, 0
  while read < max and bytes < budget do
    local step = next_step(read, bytes, max, budget)
    local members = redis.call('ZRANGE', key, start + read, start + read + step - 1)
    for _, m in ipairs(members) do
      local i = index[target_of(m) or '']
      if i then counts[i] = counts[i] + 1 end
      bytes = bytes + #m
    end
    read = read + #members
    if #members < step then return counts, read, true end
  end
  return counts, read, false
end
-- Entries of a stream after id (exclusive). Returns how many, the last id read, true when the stream ended.
local function count_after(stream, id, max, budget)
  local counted, bytes, last = 0, 0, id
  while counted < max and bytes < budget do
    local step = next_step(counted, bytes, max, budget)
    local entries = redis.call('XRANGE', stream, '(' .. last, '+', 'COUNT', step)
    for _, e in ipairs(entries) do
      last = e[1]
      for _, v in ipairs(e[2]) do bytes = bytes + #v end
    end
    counted = counted + #entries
    if #entries < step then return counted, last, true end
  end
  return counted, last, false
end
`;

/**
 * Depth of a topic and its groups, read at one instant (a script runs atomically).
 * KEYS: topic stream, scheduled set. ARGV: the topic's redelivery key prefix
 * (`<prefix>retry:<topic>:`), entry budget, byte budget, the groups asked for (none: every
 * group of the topic stream, in name order).
 * Returns {groups, scheduled counts, scheduled members read, 1 when the whole set was read}.
 * Per group: {name, known (0/1), topic lag, 1 when the lag is complete (0: counted within the
 * budget only, go on after the id that follows), that id, topic pending, redelivery entries not
 * delivered, redelivery pending}. Scheduled counts: for the topic stream, then for each group's
 * redelivery stream.
 */
const INSPECT = `${COUNTING}
local max, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
local infos = {}
local names = {}
if redis.call('EXISTS', KEYS[1]) == 1 then
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local info = {}
    for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
    infos[info['name']] = info
    names[#names + 1] = info['name']
  end
end
if #ARGV > 3 then
  names = {}
  for i = 4, #ARGV do names[#names + 1] = ARGV[i] end
else
  table.sort(names)
end
local groups = {}
local targets = {KEYS[1]}
for _, name in ipairs(names) do
  local info = infos[name]
  local known, lag, complete, seen, pending = 0, 0, 1, '', 0
  if info then
    known = 1
    pending = info['pending']
    lag = info['lag']
    if type(lag) ~= 'number' then
      -- Redis cannot tell (6.2, or entries deleted after the group's position): count them.
      local finished
      lag, seen, finished = count_after(KEYS[1], info['last-delivered-id'], max, budget)
      if not finished then complete = 0 end
    end
  end
  local retry = ARGV[1] .. name
  targets[#targets + 1] = retry
  local waiting, held = 0, 0
  if redis.call('EXISTS', retry) == 1 then
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', retry)) do
      local info2 = {}
      for j = 1, #g, 2 do info2[g[j]] = g[j + 1] end
      if info2['name'] == name then held = info2['pending'] end
    end
    -- Acked redelivery entries are deleted (XACK and XDEL together): the rest waits or is pending.
    waiting = redis.call('XLEN', retry) - held
  end
  groups[#groups + 1] = {name, known, lag, complete, seen, pending, waiting, held}
end
local counts, read, finished = count_scheduled(KEYS[2], 0, max, budget, targets)
return {groups, counts, read, finished and 1 or 0}
`;

/**
 * More of the scheduled set, counted per target. KEYS: scheduled set. ARGV: start index,
 * entry budget, byte budget, targets... Returns {counts per target, members read, 1 when the set ended}.
 */
const COUNT_SCHEDULED = `${COUNTING}
local targets = {}
for i = 4, #ARGV do targets[#targets + 1] = ARGV[i] end
local counts, read, finished = count_scheduled(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), targets)
return {counts, read, finished and 1 or 0}
`;

/**
 * More entries of a stream after an id (exclusive). KEYS: stream. ARGV: id, entry budget, byte
 * budget. Returns {how many, the last id read, 1 when the stream ended}.
 */
const COUNT_AFTER = `${COUNTING}
local counted, last, finished = count_after(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
return {counted, last, finished and 1 or 0}
`;

/**
 * Delete a group's state on its two streams at one instant: XGROUP DESTROY on the topic stream
 * (its position and pending list; the topic stream, its entries and other groups stay) and DEL of
 * the group's redelivery stream (which only ever holds this group's entries). Creates nothing: an
 * absent topic stream is left absent. KEYS: topic stream, redelivery stream. ARGV: group.
 * Returns {1 when the group existed on the topic stream, 1 when the redelivery stream existed}.
 */
const DESTROY_GROUP = `
local destroyed = 0
if redis.call('EXISTS', KEYS[1]) == 1 then destroyed = redis.call('XGROUP', 'DESTROY', KEYS[1], ARGV[1]) end
return {destroyed, redis.call('DEL', KEYS[2])}
`;

/**
 * Remove one target's entries from a scheduled set, in steps: ZSCAN from a cursor with a MATCH
 * glob for the target (only matches reach Lua), each match's target checked exactly before its
 * ZREM. A run stops after about the entry budget of members visited or the byte budget of matches
 * copied, so one run never blocks Redis long. KEYS: sorted set. ARGV: cursor, glob, target, entry
 * budget, byte budget. Returns {next cursor ('0': the scan is complete), members removed}.
 */
const UNSCHEDULE = `${COUNTING}
local cursor, pattern, target = ARGV[1], ARGV[2], ARGV[3]
local max, budget = tonumber(ARGV[4]), tonumber(ARGV[5])
local visited, bytes, removed = 0, 0, 0
repeat
  local step = next_step(visited, bytes, max, budget)
  local r = redis.call('ZSCAN', KEYS[1], cursor, 'MATCH', pattern, 'COUNT', step)
  cursor = r[1]
  local items = r[2]
  for i = 1, #items, 2 do
    local member = items[i]
    bytes = bytes + #member
    if target_of(member) == target then removed = removed + redis.call('ZREM', KEYS[1], member) end
  end
  visited = visited + step
until cursor == '0' or visited >= max or bytes >= budget
return {cursor, removed}
`;

export const scripts = {
  omnibusRequeue: { lua: REQUEUE, numberOfKeys: 2 },
  omnibusSchedule: { lua: SCHEDULE, numberOfKeys: 1 },
  omnibusBoundedAdd: { lua: BOUNDED_ADD, numberOfKeys: 1 },
  omnibusBoundedSchedule: { lua: BOUNDED_SCHEDULE, numberOfKeys: 2 },
  omnibusMoveDue: { lua: MOVE_DUE, numberOfKeys: 2 },
  omnibusClaim: { lua: CLAIM, numberOfKeys: 1 },
  omnibusHeartbeat: { lua: HEARTBEAT, numberOfKeys: 1 },
  omnibusReap: { lua: REAP, numberOfKeys: 1 },
  omnibusTrim: { lua: TRIM, numberOfKeys: 1 },
  omnibusInspect: { lua: INSPECT, numberOfKeys: 2 },
  omnibusCountScheduled: { lua: COUNT_SCHEDULED, numberOfKeys: 1 },
  omnibusCountAfter: { lua: COUNT_AFTER, numberOfKeys: 1 },
  omnibusDestroyGroup: { lua: DESTROY_GROUP, numberOfKeys: 2 },
  omnibusUnschedule: { lua: UNSCHEDULE, numberOfKeys: 1 },
} as const;

type Arg = string | number | Buffer;

/** The scripts as ioredis methods (defined through the `scripts` client option). */
export interface ScriptCommands {
  omnibusRequeue(stream: string, scheduled: string, group: string, consumer: string, id: string, del: '0' | '1', delayMs: number, entry: Buffer): Promise<number>;
  omnibusMoveDue(scheduled: string, invalid: string, batch: number): Promise<[number, number]>;
  omnibusClaimBuffer(stream: string, group: string, consumer: string, minIdleMs: number, cursor: string, count: number): Promise<unknown>;
  omnibusHeartbeat(stream: string, group: string, consumer: string, ...ids: string[]): Promise<number>;
  omnibusReap(stream: string, group: string, minIdleMs: number, self: string): Promise<number>;
  omnibusTrim(stream: string, maxLen: number, maxAgeMs: number): Promise<number>;
  omnibusInspect(topicStream: string, scheduled: string, retryPrefix: string, maxEntries: number, maxBytes: number, ...groups: string[]): Promise<unknown>;
  omnibusCountScheduled(scheduled: string, start: number, maxEntries: number, maxBytes: number, ...targets: string[]): Promise<unknown>;
  omnibusCountAfter(stream: string, afterId: string, maxEntries: number, maxBytes: number): Promise<unknown>;
  omnibusDestroyGroup(topicStream: string, redeliveryStream: string, group: string): Promise<[number, number]>;
  omnibusUnschedule(scheduled: string, cursor: string, pattern: string, target: string, maxEntries: number, maxBytes: number): Promise<[string, number]>;
}

export interface PipelineScripts {
  omnibusSchedule(scheduled: string, delayMs: number, entry: Buffer): ChainableCommander;
  omnibusBoundedAdd(stream: string, policy: 'reject' | 'drop-oldest', maxMessages: number, retryPrefix: string, ...fields: Arg[]): ChainableCommander;
  omnibusBoundedSchedule(stream: string, scheduled: string, maxMessages: number, retryPrefix: string, delayMs: number, entry: Buffer): ChainableCommander;
  xadd(key: string, id: '*', ...fields: Arg[]): ChainableCommander;
}

export type ScriptedRedis = Redis & ScriptCommands;

export function scripted(client: Redis): ScriptedRedis {
  return client as ScriptedRedis;
}

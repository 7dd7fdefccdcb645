/**
 * The sliding window's Lua script: checks and records every window of one request in one round
 * trip. It mirrors `arithmetic.ts` exactly (a property test runs both on the same traces).
 */

/**
 * Reply: `{allowed, now, used_1, retryAt_1, resetAt_1, used_2, ...}`, integers only, because
 * Redis truncates Lua floats in replies. `retryAt = -1` means never (cost above the limit).
 */
export const SLIDING_WINDOW_SCRIPT = `-- edgelimit sliding window v2
local now      = tonumber(ARGV[1])   -- epoch ms; 0 = use the Redis server clock
local cost     = tonumber(ARGV[2])   -- units this request consumes
local consume  = ARGV[3] == '1'      -- '0' = read without recording (peek)
-- then per window i: ARGV[1 + 3i] = limit, ARGV[2 + 3i] = window ms, ARGV[3 + 3i] = bucket
-- width ms (bucketWidth in TypeScript: 1 = exact); KEYS[i] = its hash

if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local allowed = true
local states = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[1 + 3 * i])
  local win   = tonumber(ARGV[2 + 3 * i])
  local width = tonumber(ARGV[3 + 3 * i])
  local oldest = math.floor((now - win + 1) / width)
  local flat = redis.call('HGETALL', KEYS[i])
  local idx, cnt, stale = {}, {}, {}
  for j = 1, #flat, 2 do
    local b = tonumber(flat[j])
    local c = tonumber(flat[j + 1])
    if b == nil or c == nil or b < oldest then
      stale[#stale + 1] = flat[j]
    elseif c > 0 then
      idx[#idx + 1] = b
      cnt[b] = c
    end
  end
  if #stale > 0 then redis.call('HDEL', KEYS[i], unpack(stale)) end
  table.sort(idx)
  local used = 0
  for _, b in ipairs(idx) do used = used + cnt[b] end
  local ok = used + cost <= limit
  local retry = now
  if not ok then
    retry = -1
    local left = used
    for _, b in ipairs(idx) do
      left = left - cnt[b]
      if left + cost <= limit then
        retry = (b + 1) * width + win - 1
        break
      end
    end
    allowed = false
  end
  local reset = now
  if #idx > 0 then reset = (idx[1] + 1) * width + win - 1 end
  states[i] = {used, retry, reset, width, win}
end

if allowed and consume and cost > 0 then
  for i = 1, #KEYS do
    local s = states[i]
    local current = math.floor(now / s[4])
    redis.call('HINCRBY', KEYS[i], tostring(current), cost)
    redis.call('PEXPIRE', KEYS[i], s[5] + s[4])
    if s[1] == 0 then s[3] = (current + 1) * s[4] + s[5] - 1 end
    s[1] = s[1] + cost
  end
end

local out = {allowed and 1 or 0, now}
for i = 1, #KEYS do
  local s = states[i]
  out[#out + 1] = s[1]
  out[#out + 1] = s[2]
  out[#out + 1] = s[3]
end
return out
`;

/** SHA-1 of SLIDING_WINDOW_SCRIPT, pinned; registry.test.ts recomputes every pinned script's. */
export const SLIDING_WINDOW_SHA1 = 'f320e03aa7f15b58f8b440213f9c62729ce01921';

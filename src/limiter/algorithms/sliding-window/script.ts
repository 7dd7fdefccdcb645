/**
 * The sliding window's Lua script: checks and records every window of one request in one round
 * trip. It mirrors `arithmetic.ts` exactly (a property test runs both on the same traces).
 */

/**
 * Reply: `{allowed, now, used_1, retryAt_1, resetAt_1, used_2, ...}`, integers only, because
 * Redis truncates Lua floats in replies. `retryAt = -1` means never (cost above the limit).
 */
export const SLIDING_WINDOW_SCRIPT = `-- edgelimit sliding window v3
local now      = tonumber(ARGV[1])   -- epoch ms; 0 = use the Redis server clock
local cost     = tonumber(ARGV[2])   -- units this request consumes
local mode     = ARGV[3]             -- '0' = read (peek), '1' = record if every window allows,
                                     -- '2' = record regardless (a charge after the fact: debt)
-- then per window i: ARGV[4i] = limit, ARGV[4i + 1] = window ms, ARGV[4i + 2] = bucket width ms
-- (bucketWidth in TypeScript: 1 = exact), ARGV[4i + 3] = '1' when the origin charges the window
-- (the request needs one unit of room and records none); KEYS[i] = its hash

if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local allowed = true
local states = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[4 * i])
  local win   = tonumber(ARGV[4 * i + 1])
  local width = tonumber(ARGV[4 * i + 2])
  local need, units = cost, cost
  if ARGV[4 * i + 3] == '1' then
    need, units = math.min(1, cost), 0
  end
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
  local ok = used + need <= limit
  local retry = now
  if not ok then
    retry = -1
    local left = used
    for _, b in ipairs(idx) do
      left = left - cnt[b]
      if left + need <= limit then
        retry = (b + 1) * width + win - 1
        break
      end
    end
    allowed = false
  end
  local reset = now
  if #idx > 0 then reset = (idx[1] + 1) * width + win - 1 end
  states[i] = {used, retry, reset, width, win, units}
end

if mode == '2' then allowed = true end
if allowed and mode ~= '0' and cost > 0 then
  for i = 1, #KEYS do
    local s = states[i]
    if s[6] > 0 then
      local current = math.floor(now / s[4])
      redis.call('HINCRBY', KEYS[i], tostring(current), s[6])
      redis.call('PEXPIRE', KEYS[i], s[5] + s[4])
      if s[1] == 0 then s[3] = (current + 1) * s[4] + s[5] - 1 end
      s[1] = s[1] + s[6]
      s[2] = now
    end
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
export const SLIDING_WINDOW_SHA1 = '22986bfb4cc2aeb4e665b4d7613de048464434cf';

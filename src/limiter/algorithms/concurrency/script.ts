/**
 * Lua for concurrency limits: one script takes a request's slots and checks its sliding windows
 * in the same round trip, all or nothing, and one script gives slots back. The windows part is the
 * sliding window script itself, run as a function, so the two can never drift apart.
 */
import { SLIDING_WINDOW_SCRIPT } from '../sliding-window/script';

/**
 * KEYS = slot hashes (n), then the window hashes; ARGV = n, token ('0' = read only), then per slot
 * i: ARGV[1 + 2i] = limit, ARGV[2 + 2i] = lease ms; then the sliding window script's own ARGV.
 * Reply: the sliding window reply (its allowed flag cleared when a slot is full), then per slot
 * `used, retryAt`. A full slot makes the windows a read: a request refused for concurrency
 * consumes no window, and one refused by a window takes no slot.
 */
export const SLOTS_SCRIPT = `-- edgelimit concurrency slots + sliding window v1
local windows = function(KEYS, ARGV)
${SLIDING_WINDOW_SCRIPT}
end

local nslots = tonumber(ARGV[1])      -- slot hashes first in KEYS
local token  = ARGV[2]                -- this request's slot token; '0' = take none
local wkeys, wargv = {}, {}
for i = nslots + 1, #KEYS do wkeys[#wkeys + 1] = KEYS[i] end
for i = 3 + 2 * nslots, #ARGV do wargv[#wargv + 1] = ARGV[i] end

local now = tonumber(wargv[1])        -- epoch ms; 0 = use the Redis server clock
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  wargv[1] = tostring(now)
end
local consume = wargv[3] == '1'

local free = true
local slots = {}
for i = 1, nslots do
  local limit = tonumber(ARGV[1 + 2 * i])
  local lease = tonumber(ARGV[2 + 2 * i])
  local flat = redis.call('HGETALL', KEYS[i])
  local held, soonest, stale = 0, -1, {}
  for j = 1, #flat, 2 do
    local untl = tonumber(flat[j + 1])
    if untl == nil or untl <= now then
      stale[#stale + 1] = flat[j]
    else
      held = held + 1
      if soonest == -1 or untl < soonest then soonest = untl end
    end
  end
  if #stale > 0 then redis.call('HDEL', KEYS[i], unpack(stale)) end
  local retry = now
  if held >= limit then
    free = false
    retry = now + 1000
    if soonest ~= -1 and soonest < retry then retry = soonest end
  end
  slots[i] = {held, retry, lease}
end

if not free then wargv[3] = '0' end
local out = windows(wkeys, wargv)
local allowed = free and out[1] == 1
if allowed and consume and token ~= '0' then
  for i = 1, nslots do
    redis.call('HSET', KEYS[i], token, now + slots[i][3])
    redis.call('PEXPIRE', KEYS[i], slots[i][3])
    slots[i][1] = slots[i][1] + 1
  end
end
out[1] = allowed and 1 or 0
for i = 1, nslots do
  out[#out + 1] = slots[i][1]
  out[#out + 1] = slots[i][2]
end
return out
`;

/** SHA-1 of SLOTS_SCRIPT, pinned; registry.test.ts recomputes every pinned script's. */
export const SLOTS_SHA1 = 'f685b15eb06a4cee6dc6158ff917d8304dcebddc';

/** Gives a token's slot back in every hash of KEYS; ARGV[1] = token. Unknown tokens are no-ops. */
export const RELEASE_SCRIPT = `-- edgelimit concurrency release v1
for i = 1, #KEYS do redis.call('HDEL', KEYS[i], ARGV[1]) end
return #KEYS
`;

/** SHA-1 of RELEASE_SCRIPT, pinned. */
export const RELEASE_SHA1 = 'e647f62c82e361a98c8caaec5fb9508ece3d8ef5';

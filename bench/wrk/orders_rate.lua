-- orders_rate.lua — the orders of orders.lua at a fixed rate (open schedule), since wrk2 is
-- not packaged in Debian. usage: ... -s orders_rate.lua URL -- TOKEN RUN_ID SKU RATE THREADS
--
-- Each wrk thread owns RATE/THREADS of the rate and a schedule of send times spaced
-- THREADS*1000/RATE ms apart, fixed from its first request. When one of its connections is
-- free, delay() claims the next slot and waits until it (wrk timers have 1 ms resolution;
-- the delay is rounded to the nearest ms). A slot already in the past is sent at once, so
-- the schedule, not the server, sets the rate. request() measures how late each request
-- leaves against its slot ("send lag"): wrk's latency is measured from the actual send, so
-- it equals the latency from the schedule (what wrk2 reports) only while the send lag stays
-- small; the lag is reported (send_lag_p99_ms, send_lag_max_ms) to show that it did.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "orders.lua")

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local interval_ms
local next_slot = nil
local queue, head, tail = {}, 1, 0
local LAG_BUCKET_MS, LAG_BUCKETS = 0.1, 2000 -- 0.1 ms buckets up to 200 ms, then overflow
lag_hist = {}
lag_max = 0
lag_n = 0

function bench_init_rate(args)
  local rate, threads = tonumber(args[4]), tonumber(args[5])
  if rate == nil or threads == nil or rate <= 0 or threads <= 0 then
    error("usage: orders_rate.lua -- TOKEN RUN_ID SKU RATE THREADS")
  end
  interval_ms = threads * 1000 / rate
  for i = 0, LAG_BUCKETS do lag_hist[i] = 0 end
end

function delay()
  local now = now_ms()
  if next_slot == nil then next_slot = now end
  local slot = next_slot
  next_slot = next_slot + interval_ms
  tail = tail + 1
  queue[tail] = slot
  local wait = slot - now
  if wait < 0 then return 0 end
  return math.floor(wait + 0.5)
end

local order_request = request
function request()
  if head <= tail then
    local lag = now_ms() - queue[head]
    queue[head] = nil
    head = head + 1
    if lag < 0 then lag = 0 end
    if lag > lag_max then lag_max = lag end
    local b = math.floor(lag / LAG_BUCKET_MS)
    if b > LAG_BUCKETS then b = LAG_BUCKETS end
    lag_hist[b] = lag_hist[b] + 1
    lag_n = lag_n + 1
  end
  return order_request()
end

function bench_extra()
  local hist, n, max = {}, 0, 0
  for i = 0, LAG_BUCKETS do hist[i] = 0 end
  for _, thread in ipairs(bench_threads) do
    local h = thread:get("lag_hist")
    for i = 0, LAG_BUCKETS do hist[i] = hist[i] + (h[i] or 0) end
    n = n + thread:get("lag_n")
    local m = thread:get("lag_max")
    if m > max then max = m end
  end
  local function pct(p)
    local want, seen = n * p / 100, 0
    for i = 0, LAG_BUCKETS do
      seen = seen + hist[i]
      if seen >= want then return (i + 1) * LAG_BUCKET_MS end
    end
    return max
  end
  if n == 0 then return " lag_n=0 lag_p50_ms=0 lag_p99_ms=0 lag_max_ms=0" end
  return string.format(" lag_n=%d lag_p50_ms=%.1f lag_p99_ms=%.1f lag_max_ms=%.3f",
                       n, pct(50), pct(99), max)
end

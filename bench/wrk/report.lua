-- report.lua — prints one machine-readable WRKSUM line when wrk finishes. Used alone for
-- the GET benchmarks (wrk then keeps its static, pre-built request) and loaded by
-- orders.lua. Latencies are wrk's, measured from the moment a request is written.

local function ms(us) return us / 1000 end

bench_extra = nil -- a script that loads this one may set bench_extra() -> " key=value..."

-- every thread learns its number (1, 2, …) as bench_thread_id, for scripts that split work
bench_threads = {}

function setup(thread)
  table.insert(bench_threads, thread)
  thread:set("bench_thread_id", #bench_threads)
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local line = string.format(
    "WRKSUM requests=%d duration_s=%.3f rps=%.1f mean_ms=%.3f p50_ms=%.3f p90_ms=%.3f " ..
    "p99_ms=%.3f p999_ms=%.3f max_ms=%.3f connect_err=%d read_err=%d write_err=%d " ..
    "timeout_err=%d non2xx=%d",
    summary.requests, seconds, summary.requests / seconds, ms(latency.mean),
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)),
    ms(latency:percentile(99.9)), ms(latency.max), e.connect, e.read, e.write, e.timeout,
    e.status)
  if bench_extra then line = line .. bench_extra() end
  io.write(line .. "\n")
end

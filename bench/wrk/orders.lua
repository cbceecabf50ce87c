-- orders.lua — POST /api/v1/orders: a wallet order for one code, every request with its own
-- Idempotency-Key ("RUN-THREAD-N"), so each one is a new, durable order (never a replay).
-- usage: wrk ... -s orders.lua URL/api/v1/orders -- BUYER_TOKEN RUN_ID [SKU [PROVIDER]]
-- PROVIDER: pay through that gateway ("sandbox") instead of the wallet.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local headers, body, prefix
local counter = 0

function init(args)
  local token, run, sku, provider = args[1], args[2], args[3] or "BENCH-1", args[4]
  if token == nil or run == nil then error("usage: orders.lua -- BUYER_TOKEN RUN_ID [SKU [PROVIDER]]") end
  if provider ~= nil and provider ~= "" and not bench_init_rate then
    body = '{"sku":"' .. sku .. '","quantity":1,"payment":{"method":"gateway","provider":"' ..
           provider .. '"}}'
  else
    body = '{"sku":"' .. sku .. '","quantity":1}'
  end
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
  prefix = run .. "-" .. tostring(bench_thread_id or 0) .. "-"
  if bench_init_rate then bench_init_rate(args) end
end

function request()
  counter = counter + 1
  headers["Idempotency-Key"] = prefix .. string.format("%d", counter)
  return wrk.format("POST", "/api/v1/orders", headers, body)
end

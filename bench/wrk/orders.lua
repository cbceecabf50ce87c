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

-- The request is formatted once by wrk.format with a marker where the key goes (the key is
-- a header, so Content-Length and every other byte stay the same); request() then only
-- joins the text before the marker, the key and the text after it. The client shares the
-- two cores with the server: formatting each request in Lua took CPU from both.
local head, tail

local function split_request()
  headers["Idempotency-Key"] = "\1"
  local text = wrk.format("POST", "/api/v1/orders", headers, body)
  headers["Idempotency-Key"] = nil
  local at = text:find("\1", 1, true)
  head, tail = text:sub(1, at - 1), text:sub(at + 1)
end

-- ORDER_KEYS=uuid in the environment: each key a random version-4 UUID, as API clients
-- are told to send, instead of RUN-THREAD-N (whose keys sort together, so each run's
-- inserts into the idempotency index land in a few leaves; random keys land anywhere).
local uuid_keys = os.getenv("ORDER_KEYS") == "uuid"
local seeded = false

local function uuid()
  if not seeded then
    math.randomseed(os.time() * 1000 + (bench_thread_id or 0) * 7919 + math.floor(os.clock() * 1e6))
    seeded = true
  end
  local r = math.random
  return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x", r(0, 0xffff), r(0, 0xffff),
                       r(0, 0xffff), r(0, 0xfff), 0x8000 + r(0, 0x3fff), r(0, 0xffff),
                       r(0, 0xffff), r(0, 0xffff))
end

function request()
  counter = counter + 1
  if head == nil then split_request() end
  if uuid_keys then return head .. uuid() .. tail end
  return head .. prefix .. counter .. tail
end

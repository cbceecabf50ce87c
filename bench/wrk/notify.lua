-- notify.lua — signed payment notices read from a file, each sent once, spread over the wrk
-- threads; after the last one a thread starts again (repeats are acknowledged without
-- changes; the report counts applied payments from the database, not requests).
-- sandbox (default): POST /api/v1/pay/sandbox/notify, a line is "SIGNATURE<TAB>BODY";
-- epay: GET /api/v1/pay/epay/notify?QUERY, a line is the signed query string;
-- wechatpay: POST /api/v1/pay/wechatpay/notify, a line is
-- "TIMESTAMP<TAB>NONCE<TAB>SIGNATURE<TAB>SERIAL<TAB>BODY" (the Wechatpay-* headers).
-- usage: wrk ... -s notify.lua URL -- FILE THREADS [sandbox|epay|wechatpay]

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local notices, next_notice = {}, 1

function init(args)
  local file, threads, mode = args[1], tonumber(args[2] or "1"), args[3] or "sandbox"
  if file == nil then error("usage: notify.lua -- FILE THREADS") end
  local n = 0
  for line in io.lines(file) do
    n = n + 1
    if (n - 1) % threads == (bench_thread_id or 1) - 1 then
      if mode == "epay" then
        table.insert(notices, wrk.format("GET", "/api/v1/pay/epay/notify?" .. line))
      elseif mode == "wechatpay" then
        local t, n, sig, serial, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)\t(.*)$")
        table.insert(notices, wrk.format("POST", "/api/v1/pay/wechatpay/notify",
          { ["Content-Type"] = "application/json", ["Wechatpay-Timestamp"] = t,
            ["Wechatpay-Nonce"] = n, ["Wechatpay-Signature"] = sig, ["Wechatpay-Serial"] = serial },
          body))
      else
        local signature, body = line:match("^([^\t]+)\t(.*)$")
        table.insert(notices, wrk.format("POST", "/api/v1/pay/sandbox/notify",
          { ["Content-Type"] = "application/json", ["Sandbox-Signature"] = signature }, body))
      end
    end
  end
  if #notices == 0 then error("notify.lua: no notices for this thread") end
end

function request()
  local r = notices[next_notice]
  next_notice = next_notice % #notices + 1
  return r
end

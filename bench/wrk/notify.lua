-- notify.lua — POST /api/v1/pay/sandbox/notify: signed sandbox notices read from a file,
-- each sent once, spread over the wrk threads; after the last one a thread starts again
-- (repeats are acknowledged without changes; the report counts applied payments from the
-- database, not requests). File: one notice a line, "SIGNATURE<TAB>BODY".
-- usage: wrk ... -s notify.lua URL/api/v1/pay/sandbox/notify -- FILE THREADS

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local notices, next_notice = {}, 1

function init(args)
  local file, threads = args[1], tonumber(args[2] or "1")
  if file == nil then error("usage: notify.lua -- FILE THREADS") end
  local n = 0
  for line in io.lines(file) do
    n = n + 1
    if (n - 1) % threads == (bench_thread_id or 1) - 1 then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      table.insert(notices, wrk.format("POST", "/api/v1/pay/sandbox/notify",
        { ["Content-Type"] = "application/json", ["Sandbox-Signature"] = signature }, body))
    end
  end
  if #notices == 0 then error("notify.lua: no notices for this thread") end
end

function request()
  local r = notices[next_notice]
  next_notice = next_notice % #notices + 1
  return r
end

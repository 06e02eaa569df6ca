-- wrk script: POST /events with ~200-byte events, each with a unique id, as
-- `minibus bench publish` sends them. Used in docs/BENCHMARKS.md to cross-check the
-- publish figures with a load generator written in C:
--   wrk -t2 -c64 -d10s -s scripts/wrk-publish.lua http://127.0.0.1:18030
local threads = {}
local run = tostring(os.time())

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  pad = string.rep("x", 96)
end

function request()
  n = n + 1
  local body = string.format(
    '{"id":"wrk-%s-%d-%010d","type":"BenchEventPublished","data":{"n":"%010d","pad":"%s"}}',
    run, tid, n, n, pad)
  return wrk.format("POST", "/events", {["Content-Type"] = "application/json"}, body)
end

-- wrk script for Benchmarks/load-with-faults.sh: a mix of checks (mostly of numbers never seen before, so
-- they miss the cache and reach SENS), list pages and small registers; counts every answer by status.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

local function number()
  return string.format("0101%07d", math.random(0, 9999999))
end

function request()
  local roll = math.random()
  if roll < 0.80 then
    return wrk.format("GET", "/v1/unsubscribes/" .. number())
  elseif roll < 0.90 then
    return wrk.format("GET", "/v1/unsubscribes?pageSize=20&page=" .. math.random(0, 5))
  else
    local body = string.format('{"phoneNumbers":["%s","%s","%s"]}', number(), number(), number())
    return wrk.format("POST", "/v1/unsubscribes", { ["Content-Type"] = "application/json" }, body)
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("STATUS %d %d\n", status, count))
  end
  io.write(string.format("ERRORS connect=%d read=%d write=%d timeout=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end

-- Requests for bench/load/run.py when wrk generates the load.
--   MEDCITE_WRK_MODE=pages: GET the paths in MEDCITE_WRK_INPUT (one per line), round robin.
--   MEDCITE_WRK_MODE=ask:   POST each JSON body in MEDCITE_WRK_INPUT once to /api/v1/ask; every
--                           wrk thread takes its own share of the lines, so no question repeats.
-- At the end one line "MEDCITE_RESULT {json}" carries the counts and latency percentiles.

local threads = {}

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode = os.getenv("MEDCITE_WRK_MODE")
  local share = tonumber(os.getenv("MEDCITE_WRK_THREADS"))
  items = {}
  local n = 0
  for line in io.lines(os.getenv("MEDCITE_WRK_INPUT")) do
    if n % share == thread_number then
      table.insert(items, line)
    end
    n = n + 1
  end
  index = 0
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  index = index + 1
  local item = items[(index - 1) % #items + 1]
  if mode == "pages" then
    return wrk.format("GET", item)
  end
  return wrk.format("POST", "/api/v1/ask", headers, item)
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format(
    'MEDCITE_RESULT {"requests": %d, "errors": %d, "seconds": %.3f, "p50_ms": %.2f, ' ..
    '"p95_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, errors, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end

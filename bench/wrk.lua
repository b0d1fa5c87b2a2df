-- wrk script for bench/run.py: one request shape, with @VALUE@ taken in turn from a list,
-- and a one-line JSON summary at the end (prefixed BENCH-JSON) for run.py to read.
--
--   wrk -s bench/wrk.lua URL -- METHOD PATH BODY TOKEN VALUES
-- BODY is "" for none; VALUES is a comma-separated list, "" for none.

local requests = {}
local counter = 0

local function split(text)
  local parts = {}
  for part in string.gmatch(text or "", "[^,]+") do
    parts[#parts + 1] = part
  end
  return parts
end

local function fill(template, value)
  -- plain find/replace: "@VALUE@" has no pattern characters; values never contain "%"
  return (string.gsub(template, "@VALUE@", value))
end

function init(args)
  local method, path, body, token = args[1], args[2], args[3], args[4]
  local values = split(args[5])
  if #values == 0 then
    values = { "" }
  end
  local headers = { ["Authorization"] = "Bearer " .. token }
  if body ~= "" then
    headers["Content-Type"] = "application/json"
  end
  for i, value in ipairs(values) do
    local filled_body = nil
    if body ~= "" then
      filled_body = fill(body, value)
    end
    requests[i] = wrk.format(method, fill(path, value), headers, filled_body)
  end
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end

function done(summary, latency, _)
  local errors = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max
  ))
end

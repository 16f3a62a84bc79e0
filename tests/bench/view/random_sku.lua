-- wrk script: GET /api/availability/<sku> for a random one of SKUS SKUs
-- (SKU-000000 .. SKU-<SKUS-1>), optionally paced (DELAY_MS between the
-- requests of one connection) to measure latency below saturation.
local skus = tonumber(os.getenv("SKUS") or "100000")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
local seeded = false

request = function()
  if not seeded then
    math.randomseed(os.time() + math.floor(os.clock() * 1e6))
    seeded = true
  end
  return wrk.format("GET", string.format("/api/availability/SKU-%06d", math.random(0, skus - 1)))
end

if delay_ms > 0 then
  delay = function() return delay_ms end
end

local non200 = 0
response = function(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("non-2xx/3xx: %d\n", summary.errors.status))
end

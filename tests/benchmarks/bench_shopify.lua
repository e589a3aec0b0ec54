-- wrk's side of bench_shopify.py: POST pre-signed Shopify webhooks, each with its own X-Shopify-Webhook-Id.
-- wrk -s bench_shopify.lua URL -- <path> <bodies file> <signatures file> <run id> <wrk threads>
-- The HMAC covers only the body, so the bodies and their signatures are made before timing (one a line);
-- each thread takes every n-th body, and a request's webhook id is the run, the thread and its count.

local started = 0

function setup(thread)
   started = started + 1
   thread:set("thread_number", started)
end

local path, bodies, signatures, n, prefix, threads, counter, headers

function init(args)
   path, threads, counter = args[1], tonumber(args[5]), 0
   bodies, signatures = {}, {}
   for line in io.lines(args[2]) do bodies[#bodies + 1] = line end
   for line in io.lines(args[3]) do signatures[#signatures + 1] = line end
   n = #bodies
   prefix = args[4] .. "-" .. thread_number .. "-"
   headers = {
      ["Content-Type"] = "application/json",
      ["X-Forwarded-Proto"] = "https",
      ["X-Shopify-Topic"] = "checkouts/update",
      ["X-Shopify-Shop-Domain"] = "bench.myshopify.com",
   }
end

function request()
   local k = (counter * threads + thread_number - 1) % n + 1
   counter = counter + 1
   headers["X-Shopify-Hmac-Sha256"] = signatures[k]
   headers["X-Shopify-Webhook-Id"] = prefix .. counter
   return wrk.format("POST", path, headers, bodies[k])
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, "p50_us": %d, "p95_us": %d}\n',
      summary.requests, summary.duration, errors.status,
      errors.connect + errors.read + errors.write + errors.timeout,
      latency:percentile(50), latency:percentile(95)
   ))
end

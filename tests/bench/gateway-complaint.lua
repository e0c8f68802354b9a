-- gateway-complaint.lua: wrk script for gateway-bench.sh. Each request
-- files one complaint through POST /api/v1/complaints as a new customer
-- (a phone number and an Idempotency-Key unique to the thread and the
-- request), so that every reply 201 is one durable complaint. Counts the
-- replies by status and prints key=value lines at the end.

local threads = {}
local counter = 0

function setup(thread)
	thread:set("tid", #threads + 1)
	table.insert(threads, thread)
end

function init(args)
	run = os.time() % 100000
	created, other, first_other = 0, 0, ""
	path = args[1] or "/api/v1/complaints"
end

local body_fmt = '{"name":"压测客户 %d","phone":"139%08d","category":"delivery",' ..
	'"description":"包裹延误, 已等待 %d 天. The parcel is late.","resolution":"refund",' ..
	'"urgency":"normal","language":"zh-CN"}'

function request()
	counter = counter + 1
	local n = tid * 10000000 + counter
	-- 8 digits: the run's second (mod 100) in the millions, the thread in
	-- the half-millions, then the request: no two requests of runs started
	-- at least a second apart (the warm-up, then the counted run) share a
	-- phone, so every complaint is a new customer
	local phone = ((run % 100) * 1000000 + (tid - 1) * 500000 + counter) % 100000000
	local body = string.format(body_fmt, n, phone, counter % 9 + 1)
	return wrk.format("POST", path, {
		["Content-Type"] = "application/json",
		["Idempotency-Key"] = string.format("bench-%d-%d-%d", run, tid, counter),
	}, body)
end

function response(status, headers, body)
	if status == 201 then
		created = created + 1
	else
		other = other + 1
		if first_other == "" then
			first_other = status .. " " .. string.sub(body or "", 1, 200)
		end
	end
end

function done(summary, latency, requests)
	local c, o, first = 0, 0, ""
	for _, t in ipairs(threads) do
		c = c + t:get("created")
		o = o + t:get("other")
		local f = t:get("first_other")
		if first == "" and f ~= nil then first = f end
	end
	local secs = summary.duration / 1e6
	io.write(string.format("requests=%d\n", summary.requests))
	io.write(string.format("created=%d\n", c))
	io.write(string.format("other=%d\n", o))
	io.write(string.format("first_other=%s\n", (first:gsub("\n", " "))))
	io.write(string.format("errors_connect=%d\nerrors_read=%d\nerrors_write=%d\nerrors_timeout=%d\n",
		summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
	io.write(string.format("seconds=%.2f\n", secs))
	io.write(string.format("per_second=%.1f\n", c / secs))
	io.write(string.format("requests_per_second=%.1f\n", summary.requests / secs))
	for _, p in ipairs({50, 90, 99, 99.9}) do
		io.write(string.format("ms_p%s=%.2f\n", tostring(p):gsub("%.", "_"), latency:percentile(p) / 1000))
	end
	io.write(string.format("ms_max=%.2f\n", latency.max / 1000))
end

-- wrk POST script for the gateway's other paths (peers.sh's post.lua covers OpenAI chat only).
-- Env: KIND=chat|messages|responses (default chat), MODEL (default bench/gpt-4o-mini), AUTH (bearer),
--      STREAM=1, PROMPT=long (a 300-word prompt instead of the short one).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = "Bearer " .. auth end
local kind = os.getenv("KIND") or "chat"
local model = os.getenv("MODEL") or "bench/gpt-4o-mini"
local stream = os.getenv("STREAM") == "1"
local system = "You are a helpful assistant."
local user = "Say hello in one short sentence."
if os.getenv("PROMPT") == "long" then
  -- About 300 words: a realistic request with context, the kind `auto` classifies.
  user = "I am preparing a short internal report for my team about how we handle customer support " ..
    "tickets, and I would like your help to structure it. Over the last quarter we received roughly " ..
    "four thousand tickets through email, chat and the web form. Most of them were about billing " ..
    "questions, password resets and shipping delays, but a growing share concerns integration problems " ..
    "with our public API, where customers report timeouts, unexpected error codes and confusing " ..
    "documentation. Our first response time improved from nine hours to five, yet the resolution time " ..
    "for API issues got worse, because those tickets bounce between the support desk and the platform " ..
    "engineers several times before anyone owns them. Customer satisfaction scores stayed flat overall " ..
    "but dropped noticeably for enterprise accounts. We also started a pilot where a small group of " ..
    "senior agents triaged every API ticket within the first hour and attached logs and reproduction " ..
    "steps before escalating. In that pilot the number of handoffs halved and enterprise satisfaction " ..
    "recovered. I want the report to explain what we measured, what we changed, what the pilot showed, " ..
    "and what we propose for next quarter, including staffing, tooling and a clearer ownership model " ..
    "between support and engineering. Please suggest a clear outline with section headings, a one " ..
    "paragraph executive summary, the three or four most important figures to show, and a short list " ..
    "of risks and open questions we should be honest about. Keep the tone factual and avoid marketing " ..
    "language, since the audience is our own managers and engineers who will read it closely and " ..
    "want to see the trade-offs rather than a sales pitch."
end
local s = stream and ',"stream":true' or ''
if kind == "messages" then
  wrk.body = '{"model":"' .. model .. '","max_tokens":32,"system":"' .. system .. '",' ..
             '"messages":[{"role":"user","content":"' .. user .. '"}]' .. s .. '}'
elseif kind == "responses" then
  wrk.body = '{"model":"' .. model .. '","max_output_tokens":32,"instructions":"' .. system .. '",' ..
             '"input":"' .. user .. '"' .. s .. '}'
else
  wrk.body = '{"model":"' .. model .. '","messages":[{"role":"system","content":"' .. system .. '"},' ..
             '{"role":"user","content":"' .. user .. '"}],"max_tokens":32' .. s .. '}'
end

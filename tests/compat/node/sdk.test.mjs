// The official Node SDKs (`openai`, `@anthropic-ai/sdk`, pinned in tests/clients/package-lock.json)
// against the gateway, run by tests/node_sdks.rs with node's test runner. The gateway's URL and key
// come from the environment; its fake providers answer text, a get_weather tool call when tools are
// on offer (text once the result is back), and JSON when a schema is asked for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../clients/package.json", import.meta.url));
const OpenAI = require("openai").default ?? require("openai");
const AnthropicMod = require("@anthropic-ai/sdk");
const Anthropic = AnthropicMod.default ?? AnthropicMod;

const URL_ = process.env.GATEWAY_URL;
const KEY = process.env.GATEWAY_KEY;
const openai = new OpenAI({ baseURL: `${URL_}/v1`, apiKey: KEY, maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: URL_, apiKey: KEY, maxRetries: 0 });
const HELLO = "Hello from the fake provider.";

const weather = {
  type: "object",
  properties: { city: { type: "string" } },
  required: ["city"],
  additionalProperties: false,
};
const citySchema = {
  type: "object",
  properties: { city: { type: "string" }, temp: { type: "number" } },
  required: ["city", "temp"],
  additionalProperties: false,
};

test("chat: plain", async () => {
  const r = await openai.chat.completions.create({ model: "oa/m", messages: [{ role: "user", content: "hi" }] });
  assert.equal(r.choices[0].message.content, HELLO);
  assert.equal(r.model, "oa/m");
  assert.ok(r.usage.cost > 0);
});

test("chat: streamed", async () => {
  const s = await openai.chat.completions.create({
    model: "oa/m",
    messages: [{ role: "user", content: "hi" }],
    stream: true,
  });
  let text = "";
  for await (const c of s) text += c.choices[0]?.delta?.content ?? "";
  assert.equal(text, HELLO);
});

test("chat: tools, round trip", async () => {
  const tools = [{ type: "function", function: { name: "get_weather", parameters: weather } }];
  const messages = [{ role: "user", content: "Weather in Paris?" }];
  const r = await openai.chat.completions.create({ model: "oa/m", messages, tools });
  const call = r.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, "get_weather");
  assert.deepEqual(JSON.parse(call.function.arguments), { city: "Paris" });
  messages.push(r.choices[0].message, { role: "tool", tool_call_id: call.id, content: "sunny" });
  const r2 = await openai.chat.completions.create({ model: "oa/m", messages, tools });
  assert.equal(r2.choices[0].message.content, "It is sunny.");
});

test("chat: structured output", async () => {
  const r = await openai.chat.completions.create({
    model: "oa/m",
    messages: [{ role: "user", content: "Paris weather as JSON" }],
    response_format: { type: "json_schema", json_schema: { name: "w", schema: citySchema, strict: true } },
  });
  assert.deepEqual(JSON.parse(r.choices[0].message.content), { city: "Paris", temp: 21 });
});

test("responses: plain", async () => {
  const r = await openai.responses.create({ model: "oa/m", input: "hi" });
  assert.equal(r.output_text, HELLO);
  assert.equal(r.model, "oa/m");
});

test("responses: streamed", async () => {
  const s = openai.responses.stream({ model: "oa/m", input: "hi" });
  let deltas = "";
  s.on("response.output_text.delta", (e) => (deltas += e.delta));
  const final = await s.finalResponse();
  assert.equal(deltas, HELLO);
  assert.equal(final.output_text, HELLO);
});

test("responses: tools, round trip", async () => {
  const tools = [{ type: "function", name: "get_weather", parameters: weather, strict: true }];
  const input = [{ role: "user", content: "Weather in Paris?" }];
  const r = await openai.responses.create({ model: "oa/m", input, tools });
  const call = r.output.find((i) => i.type === "function_call");
  assert.equal(call.name, "get_weather");
  const r2 = await openai.responses.create({
    model: "oa/m",
    tools,
    input: [...input, call, { type: "function_call_output", call_id: call.call_id, output: "sunny" }],
  });
  assert.equal(r2.output_text, "It is sunny.");
});

test("responses: structured output", async () => {
  const r = await openai.responses.create({
    model: "oa/m",
    input: "Paris weather as JSON",
    text: { format: { type: "json_schema", name: "w", schema: citySchema, strict: true } },
  });
  assert.deepEqual(JSON.parse(r.output_text), { city: "Paris", temp: 21 });
});

test("messages: plain", async () => {
  const m = await anthropic.messages.create({ model: "an/m", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
  assert.equal(m.content[0].text, HELLO);
  assert.equal(m.model, "an/m");
});

test("messages: streamed", async () => {
  const s = anthropic.messages.stream({ model: "an/m", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
  let text = "";
  s.on("text", (t) => (text += t));
  const final = await s.finalMessage();
  assert.equal(text, HELLO);
  assert.equal(final.stop_reason, "end_turn");
});

test("messages: tools, round trip", async () => {
  const tools = [{ name: "get_weather", input_schema: weather }];
  const messages = [{ role: "user", content: "Weather in Paris?" }];
  const m = await anthropic.messages.create({ model: "an/m", max_tokens: 100, messages, tools });
  const use = m.content.find((b) => b.type === "tool_use");
  assert.deepEqual(use.input, { city: "Paris" });
  messages.push({ role: "assistant", content: m.content });
  messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny" }] });
  const m2 = await anthropic.messages.create({ model: "an/m", max_tokens: 100, messages, tools });
  assert.equal(m2.content[0].text, "It is sunny.");
});

test("messages: countTokens, counted by Anthropic and estimated elsewhere", async () => {
  const counted = await anthropic.messages.countTokens({ model: "an/m", messages: [{ role: "user", content: "hi" }] });
  assert.equal(counted.input_tokens, 42);
  const estimated = await anthropic.messages
    .countTokens({ model: "oa/m", messages: [{ role: "user", content: "hello there" }] })
    .withResponse();
  assert.ok(estimated.data.input_tokens > 0);
  assert.equal(estimated.response.headers.get("x-jt-token-count"), "estimate");
});

test("messages through translation to an OpenAI-format provider", async () => {
  const m = await anthropic.messages.create({ model: "oa/m", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
  assert.equal(m.content[0].text, HELLO);
});

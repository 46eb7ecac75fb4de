"""One local HTTP server that plays three LLM providers, each in its own wire format, for the SDK
compatibility suite (stdlib only).

| path                                                    | plays                                  |
|---------------------------------------------------------|----------------------------------------|
| POST /openai/v1/chat/completions                        | OpenAI Chat Completions                |
| POST /anthropic/v1/messages                             | Anthropic Messages (2023-06-01)        |
| POST /gemini/v1beta/models/<model>:generateContent      | Gemini, whole answer                   |
| POST /gemini/v1beta/models/<model>:streamGenerateContent?alt=sse | Gemini, SSE stream            |

Each answers like the real provider from what it received: plain text by default; a call of a tool
(the named one if `tool_choice` names one, else the first) when the request offers tools and its last
turn is the user's own words, so a second turn that carries the tool's result gets text that quotes
that result; a description of the image when the last user turn carries one; the text cut at a stop
sequence when one occurs in it. Streams are paced with small sleeps, in each provider's real event
format: OpenAI and Anthropic over chunked transfer-encoding, Gemini close-delimited (no length, the
connection closes at the end), so both ways an upstream can end a body are exercised.

Requests are checked the way the providers check them (keys, required headers and fields, role
alternation, tool results that answer the calls before them, ...), and a request a real provider would
refuse gets that provider's 400, so a translation mistake in the gateway cannot pass unnoticed.

Trigger words anywhere in the request body make a provider fail, in its own error shape:
`FAIL429` (rate limited, with `retry-after` where the provider sends one), `FAIL500` (server error),
`FAILSTREAM` (a stream that starts, sends some text, then reports an in-band error and ends). With
tools offered, `TWOCITIES` in the last user turn gets two parallel calls (Paris, then Tokyo).

Reasoning: when the request asks for it (Anthropic `thinking`, Gemini `includeThoughts`), the answer
starts with it (a signed `thinking` block; a `thought` part). The fake Anthropic keeps the signatures it
issued and enforces extended thinking's rules: the budget, no forced tool choice, thinking blocks sent
back unmodified, and in a tool-use loop the last assistant turn starting with its thinking block.

Every request is recorded (method, path, query, lower-cased headers, raw and parsed body) with a
summary of the answer given (status, text, tool calls with their ids, usage), so tests can assert on
what the provider saw and compare it with what the SDK got.
"""

from __future__ import annotations

import json
import random
import string
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Pause between stream events: long enough that a stream is really streamed (several reads on the
# gateway's side), short enough to keep the suite fast.
STREAM_PAUSE_S = 0.004

# Text every plain answer ends with; `END` is the stop sequence the tests use.
ANSWER_TAIL = "This reply runs on past END and beyond."

# What the fake Claude says before its tool calls (text, then tool_use blocks, as Claude answers).
ANTHROPIC_TOOL_PREAMBLE = "Let me check that for you."

TRIGGER_429 = "FAIL429"
TRIGGER_500 = "FAIL500"
TRIGGER_STREAM = "FAILSTREAM"
# With tools offered, a prompt with this word gets two parallel calls of the tool (Paris, then Tokyo).
TRIGGER_TWO_CALLS = "TWOCITIES"

ANTHROPIC_VERSION = "2023-06-01"

_ALNUM = string.ascii_letters + string.digits


def _rand(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(random.choice(alphabet) for _ in range(n))


@dataclass
class Record:
    """One request as the provider received it, and a summary of the answer it gave."""

    provider: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: str
    body: Any
    response: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


# ---------------------------------------------------------------------------------------------
# What a provider makes of a request, independent of its format


@dataclass
class Turn:
    """The last turn of a conversation, in provider-neutral terms."""

    role: str  # "user" or "assistant"
    text: str = ""
    images: list[tuple[str, int]] = field(default_factory=list)  # (mime type, decoded size)
    tool_results: list[str] = field(default_factory=list)  # the results' text


@dataclass
class Ask:
    """A request's essentials, extracted from any of the three formats."""

    last: Turn
    turns: int
    tools: list[dict]  # {"name", "parameters"}
    forced_tool: str | None = None  # a tool_choice naming one tool
    tools_off: bool = False  # tool_choice none
    stop: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    thinking: bool = False  # the request asks for the model's reasoning (Anthropic thinking, Gemini thoughts)
    json_schema: dict | None = None  # structured output: the answer must be JSON of this schema


def _b64_size(data: str) -> int:
    data = data.strip()
    return len(data) * 3 // 4 - data.count("=", len(data) - 2)


def _args_for(schema: Any, city: str = "Paris") -> dict:
    """Plausible arguments for a JSON Schema of an object."""
    out: dict[str, Any] = {}
    props = (schema or {}).get("properties") or {}
    for name, p in props.items():
        t = (p or {}).get("type")
        if t == "string":
            out[name] = city if name in ("city", "location") else "Europe/Paris" if name == "tz" else "x"
        elif t in ("integer", "number"):
            out[name] = 2
        elif t == "boolean":
            out[name] = True
        elif t == "array":
            out[name] = []
        elif t == "object":
            out[name] = {}
    return out


@dataclass
class Plan:
    """What to answer."""

    kind: str  # "text", "tool", "error"
    text: str = ""
    finish: str = "stop"  # "stop", "stop_sequence", "length", "tool"
    stop_sequence: str | None = None
    calls: list[tuple[str, dict]] = field(default_factory=list)  # (tool name, arguments)
    thinking: str = ""  # reasoning text shown before the answer, when the request asked for it
    error_status: int = 0
    fail_mid_stream: bool = False


def plan_for(label: str, ask: Ask, raw: str) -> Plan:
    if TRIGGER_429 in raw:
        return Plan(kind="error", error_status=429)
    if TRIGGER_500 in raw:
        return Plan(kind="error", error_status=500)
    last = ask.last
    thinking = f"The user wrote {ask.turns} turns; I should answer briefly." if ask.thinking else ""
    if ask.tools and not ask.tools_off and last.role == "user" and not last.tool_results:
        name = ask.forced_tool or ask.tools[0]["name"]
        tool = next((t for t in ask.tools if t["name"] == name), ask.tools[0])
        cities = ["Paris", "Tokyo"] if TRIGGER_TWO_CALLS in last.text else ["Paris"]
        calls = [(tool["name"], _args_for(tool.get("parameters"), c)) for c in cities]
        return Plan(kind="tool", finish="tool", calls=calls, thinking=thinking)
    if last.tool_results:
        text = "The tool said: " + " | ".join(last.tool_results)
    elif ask.json_schema is not None:
        text = json.dumps(_args_for(ask.json_schema))
    elif "ECHO:" in last.text:
        text = last.text.split("ECHO:", 1)[1].strip()
    elif last.images:
        text = " ".join(f"I see a {mime} image of {size} bytes." for mime, size in last.images)
    else:
        text = f"Hello from {label}. I read {ask.turns} turns. {ANSWER_TAIL}"
    plan = Plan(kind="text", text=text, thinking=thinking, fail_mid_stream=TRIGGER_STREAM in raw)
    for s in ask.stop:
        at = plan.text.find(s) if s else -1
        if at >= 0:
            plan.text = plan.text[:at]
            plan.finish = "stop_sequence"
            plan.stop_sequence = s
            break
    if ask.max_tokens is not None and ask.max_tokens < len(plan.text.split()):
        plan.text = " ".join(plan.text.split()[: ask.max_tokens])
        plan.finish = "length"
        plan.stop_sequence = None
    return plan


def words(text: str) -> list[str]:
    """Stream pieces: words with their following space, so that joining them gives the text back."""
    out, cur = [], ""
    for ch in text:
        cur += ch
        if ch == " ":
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


def output_tokens(plan: Plan) -> int:
    thought = len(plan.thinking.split())
    if plan.kind == "tool":
        return thought + sum(5 + len(json.dumps(a)) // 4 for _, a in plan.calls)
    return thought + max(1, len(plan.text.split()))


class Invalid(Exception):
    """The request is one the real provider refuses with 400."""


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise Invalid(message)


# ---------------------------------------------------------------------------------------------
# OpenAI Chat Completions


def openai_ask(body: dict) -> Ask:
    _need(isinstance(body, dict), "body must be a JSON object")
    _need(isinstance(body.get("model"), str) and body["model"], "you must provide a model parameter")
    msgs = body.get("messages")
    _need(isinstance(msgs, list) and msgs, "'messages' must be a non-empty array")
    pending: set[str] = set()
    for i, m in enumerate(msgs):
        role = m.get("role")
        _need(role in ("system", "developer", "user", "assistant", "tool"), f"messages[{i}].role: invalid value")
        if role == "tool":
            _need(m.get("tool_call_id") in pending, f"messages[{i}]: a tool message must respond to a preceding tool_call_id")
            pending.discard(m["tool_call_id"])
            continue
        _need(
            not pending,
            f"messages[{i}]: an assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id' ({sorted(pending)})",
        )
        if role == "assistant":
            for c in m.get("tool_calls") or []:
                _need(isinstance(c.get("id"), str) and c["id"], f"messages[{i}].tool_calls: id missing")
                _need(c.get("type") == "function", f"messages[{i}].tool_calls: type must be function")
                json.loads(c["function"]["arguments"] or "{}")
                pending.add(c["id"])
        content = m.get("content")
        if isinstance(content, list):
            for j, p in enumerate(content):
                _need(p.get("type") in ("text", "image_url", "input_audio", "file"), f"messages[{i}].content[{j}].type invalid")
                if p["type"] == "image_url":
                    url = p["image_url"]["url"]
                    _need(url.startswith(("data:image/", "https://", "http://")), f"messages[{i}].content[{j}]: invalid image URL")
    _need(not pending, f"tool_calls {sorted(pending)} have no tool messages")
    for k in ("max_tokens", "max_completion_tokens"):
        if k in body:
            _need(isinstance(body[k], int) and body[k] >= 1, f"{k} must be a positive integer")
    last = msgs[-1]
    if last["role"] == "tool":
        i = len(msgs) - 1
        results = []
        while i >= 0 and msgs[i]["role"] == "tool":
            c = msgs[i].get("content")
            results.insert(0, c if isinstance(c, str) else "".join(p.get("text", "") for p in c or []))
            i -= 1
        turn = Turn(role="user", tool_results=results)
    else:
        turn = Turn(role="user" if last["role"] == "user" else "assistant")
        c = last.get("content")
        if isinstance(c, str):
            turn.text = c
        for p in c if isinstance(c, list) else []:
            if p["type"] == "text":
                turn.text += p["text"]
            elif p["type"] == "image_url" and p["image_url"]["url"].startswith("data:"):
                meta, data = p["image_url"]["url"][5:].split(",", 1)
                turn.images.append((meta.split(";")[0], _b64_size(data)))
    tools = [{"name": t["function"]["name"], "parameters": t["function"].get("parameters")} for t in body.get("tools") or []]
    tc = body.get("tool_choice")
    stop = body.get("stop") or []
    rf = body.get("response_format") or {}
    if rf.get("type") == "json_schema":
        _need(isinstance(rf.get("json_schema", {}).get("name"), str), "response_format.json_schema.name is required")
    return Ask(
        json_schema=rf["json_schema"]["schema"] if rf.get("type") == "json_schema" else None,
        last=turn,
        turns=sum(1 for m in msgs if m["role"] not in ("system", "developer")),
        tools=tools,
        forced_tool=tc["function"]["name"] if isinstance(tc, dict) else None,
        tools_off=tc == "none",
        stop=[stop] if isinstance(stop, str) else list(stop),
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
    )


def openai_error(status: int) -> dict:
    if status == 429:
        return {"error": {"message": "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3.",
                          "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    if status == 400:
        return {"error": {"message": "", "type": "invalid_request_error", "param": None, "code": None}}
    return {"error": {"message": "The server had an error while processing your request. Sorry about that!",
                      "type": "server_error", "param": None, "code": None}}


# ---------------------------------------------------------------------------------------------
# Anthropic Messages

_ANTHROPIC_BLOCKS = {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"}


def _anthropic_thinking_rules(body: dict, signatures: dict[str, str]) -> None:
    """Extended thinking's rules (platform.claude.com, extended thinking): a budget of at least 1024
    below max_tokens; no forced tool choice, no temperature but 1, no top_k, top_p of 0.95 or more;
    thinking blocks sent back unmodified (the signature covers the text); and in a tool-use loop the
    last assistant turn must start with its thinking block."""
    thinking = body.get("thinking") or {}
    msgs = body.get("messages") or []
    for i, m in enumerate(msgs):
        for j, b in enumerate(m["content"] if isinstance(m.get("content"), list) else []):
            if b.get("type") == "thinking":
                _need(m["role"] == "assistant", f"messages.{i}.content.{j}: thinking blocks belong to assistant turns")
                _need(signatures.get(b.get("signature")) == b.get("thinking"),
                      f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block")
    if thinking.get("type") != "enabled" and thinking.get("type") != "adaptive":
        return
    if thinking["type"] == "enabled":
        budget = thinking.get("budget_tokens")
        _need(isinstance(budget, int) and budget >= 1024, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        _need(budget < body["max_tokens"], "`max_tokens` must be greater than `thinking.budget_tokens`")
    if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        raise Invalid("Thinking may not be enabled when tool_choice forces tool use.")
    if "temperature" in body:
        _need(body["temperature"] == 1, "`temperature` may only be set to 1 when thinking is enabled")
    _need("top_k" not in body, "`top_k` must be unset when thinking is enabled")
    if "top_p" in body:
        _need(body["top_p"] >= 0.95, "`top_p` must be greater than or equal to 0.95 when thinking is enabled")
    last = msgs[-1] if msgs else {}
    loop = last.get("role") == "user" and isinstance(last.get("content"), list) and any(
        b.get("type") == "tool_result" for b in last["content"])
    if loop and len(msgs) >= 2:
        prev = msgs[-2]
        first = (prev["content"][0] if isinstance(prev["content"], list) and prev["content"] else {"type": "text"})
        _need(first.get("type") in ("thinking", "redacted_thinking"),
              f"messages.{len(msgs) - 2}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
              f"`{first.get('type')}`. When `thinking` is enabled, a final `assistant` message must start with a thinking "
              "block (preceeding the lastmost set of `tool_use` and `tool_result` blocks).")


def anthropic_ask(body: dict) -> Ask:
    _need(isinstance(body, dict), "body must be a JSON object")
    _need(isinstance(body.get("model"), str) and body["model"], "model: Field required")
    _need(isinstance(body.get("max_tokens"), int) and body["max_tokens"] >= 1, "max_tokens: Field required")
    system = body.get("system")
    if system is not None:
        _need(
            isinstance(system, str)
            or (isinstance(system, list) and all(b.get("type") == "text" and isinstance(b.get("text"), str) and b["text"] for b in system)),
            "system: Input should be a valid string or a list of text blocks",
        )
    msgs = body.get("messages")
    _need(isinstance(msgs, list) and msgs, "messages: at least one message is required")
    _need(msgs[0].get("role") == "user", "messages: first message must use the \"user\" role")
    calls: set[str] = set()
    seen_ids: set[str] = set()
    for i, m in enumerate(msgs):
        role = m.get("role")
        _need(role in ("user", "assistant"), f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if i > 0:
            _need(role != msgs[i - 1]["role"], f"messages: roles must alternate between \"user\" and \"assistant\" (messages.{i})")
        content = m.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        _need(isinstance(blocks, list), f"messages.{i}.content: Input should be a valid list")
        if role == "user":
            answered = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
            _need(
                answered == calls,
                f"messages.{i}: tool_use ids were found without tool_result blocks immediately after: {sorted(calls - answered)}"
                if calls - answered
                else f"messages.{i}: unexpected tool_use_id found in tool_result blocks: {sorted(answered - calls)}",
            )
            results_first = [b.get("type") == "tool_result" for b in blocks]
            _need(results_first == sorted(results_first, reverse=True), f"messages.{i}: tool_result blocks must come first")
            calls = set()
        for j, b in enumerate(blocks):
            t = b.get("type")
            _need(t in _ANTHROPIC_BLOCKS, f"messages.{i}.content.{j}.type: unknown block type {t!r}")
            if t == "text":
                _need(isinstance(b.get("text"), str) and b["text"] != "", f"messages.{i}.content.{j}: text content blocks must be non-empty")
            if t == "image":
                src = b.get("source") or {}
                _need(src.get("type") in ("base64", "url"), f"messages.{i}.content.{j}.source.type invalid")
                if src["type"] == "base64":
                    _need(src.get("media_type") in ("image/png", "image/jpeg", "image/gif", "image/webp"), f"messages.{i}.content.{j}.source.media_type invalid")
                    _need(isinstance(src.get("data"), str) and src["data"], f"messages.{i}.content.{j}.source.data required")
            if t == "tool_use":
                _need(role == "assistant", f"messages.{i}.content.{j}: tool_use blocks belong to assistant turns")
                _need(isinstance(b.get("input"), dict), f"messages.{i}.content.{j}.input: Input should be a valid dictionary")
                tid = b.get("id") or ""
                _need(tid and all(c in _ALNUM + "_-" for c in tid), f"messages.{i}.content.{j}.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
                _need(tid not in seen_ids, f"messages.{i}.content.{j}: tool_use ids must be unique")
                seen_ids.add(tid)
                calls.add(tid)
            if t == "tool_result":
                _need(role == "user", f"messages.{i}.content.{j}: tool_result blocks belong to user turns")
    if msgs[-1]["role"] == "assistant":
        _need(not calls, "the final assistant turn has tool_use blocks without results")
    for k, t in enumerate(body.get("tools") or []):
        _need(isinstance(t.get("name"), str) and isinstance(t.get("input_schema"), dict), f"tools.{k}: name and input_schema are required")
    for s in body.get("stop_sequences") or []:
        _need(isinstance(s, str) and s.strip(), "stop_sequences: each stop sequence must contain non-whitespace")
    if "temperature" in body:
        _need(0 <= body["temperature"] <= 1, "temperature: Input should be less than or equal to 1")
    last = msgs[-1]
    content = last["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    turn = Turn(role=last["role"])
    for b in blocks:
        if b["type"] == "text":
            turn.text += b["text"]
        elif b["type"] == "image" and b["source"]["type"] == "base64":
            turn.images.append((b["source"]["media_type"], _b64_size(b["source"]["data"])))
        elif b["type"] == "tool_result":
            c = b.get("content")
            turn.tool_results.append(c if isinstance(c, str) else "".join(x.get("text", "") for x in c or []))
    tc = body.get("tool_choice") or {}
    fmt = (body.get("output_config") or {}).get("format") or body.get("output_format") or {}
    return Ask(
        json_schema=fmt.get("schema") if fmt.get("type") == "json_schema" else None,
        last=turn,
        turns=len(msgs),
        tools=[{"name": t["name"], "parameters": t["input_schema"]} for t in body.get("tools") or []],
        forced_tool=tc.get("name") if tc.get("type") == "tool" else None,
        tools_off=tc.get("type") == "none",
        stop=list(body.get("stop_sequences") or []),
        max_tokens=body["max_tokens"],
        thinking=(body.get("thinking") or {}).get("type") in ("enabled", "adaptive"),
    )


def anthropic_error(status: int, message: str = "") -> dict:
    kind, msg = {
        400: ("invalid_request_error", message),
        401: ("authentication_error", "invalid x-api-key"),
        429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
        500: ("api_error", "Internal server error"),
        529: ("overloaded_error", "Overloaded"),
    }.get(status, ("api_error", message or "error"))
    return {"type": "error", "error": {"type": kind, "message": msg}, "request_id": "req_011" + _rand(21)}


# ---------------------------------------------------------------------------------------------
# Gemini

_GEMINI_DATA = ("text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult")


def gemini_ask(body: dict) -> Ask:
    _need(isinstance(body, dict), "body must be a JSON object")
    for k in body:
        _need(k in ("contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "cachedContent"),
              f"Invalid JSON payload received. Unknown name \"{k}\": Cannot find field.")
    contents = body.get("contents")
    _need(isinstance(contents, list) and contents, "* GenerateContentRequest.contents: contents is not specified")
    si = body.get("systemInstruction")
    if si is not None:
        _need(all(set(p) == {"text"} for p in si.get("parts") or []), "systemInstruction: parts must be text")
    declared = {d["name"] for t in body.get("tools") or [] for d in t.get("functionDeclarations") or []}
    prev_calls: list[str] = []
    for i, c in enumerate(contents):
        role = c.get("role")
        _need(role in ("user", "model"), f"contents[{i}].role: Please use a valid role: user, model.")
        parts = c.get("parts")
        _need(isinstance(parts, list) and parts, f"contents[{i}].parts: must not be empty")
        for j, p in enumerate(parts):
            data = [k for k in _GEMINI_DATA if k in p]
            _need(len(data) == 1, f"contents[{i}].parts[{j}]: a part must hold exactly one data field, got {data}")
            for k in p:
                _need(k in _GEMINI_DATA or k in ("thought", "thoughtSignature", "videoMetadata"),
                      f"Invalid JSON payload received. Unknown name \"{k}\" at 'contents[{i}].parts[{j}]'")
            if "functionCall" in p:
                _need(role == "model", f"contents[{i}].parts[{j}]: function calls belong to model turns")
                _need(p["functionCall"].get("name") in declared, f"contents[{i}].parts[{j}]: function {p['functionCall'].get('name')!r} is not declared")
                _need(isinstance(p["functionCall"].get("args", {}), dict), f"contents[{i}].parts[{j}].functionCall.args must be an object")
            if "functionResponse" in p:
                fr = p["functionResponse"]
                _need(role == "user", f"contents[{i}].parts[{j}]: function responses belong to user turns")
                _need(fr.get("name") in prev_calls, f"contents[{i}].parts[{j}]: function response {fr.get('name')!r} answers no call of the previous turn ({prev_calls})")
                _need(isinstance(fr.get("response"), dict), f"contents[{i}].parts[{j}].functionResponse.response must be an object")
            if "inlineData" in p:
                _need(p["inlineData"].get("mimeType") and p["inlineData"].get("data"), f"contents[{i}].parts[{j}].inlineData: mimeType and data required")
        responses = [p["functionResponse"]["name"] for p in parts if "functionResponse" in p]
        if prev_calls:
            _need(
                sorted(responses) == sorted(prev_calls),
                f"contents[{i}]: please ensure that the number of function response parts is equal to the number of function call parts of the function call turn ({prev_calls} vs {responses})",
            )
        prev_calls = [p["functionCall"]["name"] for p in parts if "functionCall" in p]
    last = contents[-1]
    turn = Turn(role="user" if last["role"] == "user" else "assistant")
    for p in last["parts"]:
        if "text" in p and not p.get("thought"):
            turn.text += p["text"]
        elif "inlineData" in p:
            turn.images.append((p["inlineData"]["mimeType"], _b64_size(p["inlineData"]["data"])))
        elif "functionResponse" in p:
            r = p["functionResponse"]["response"]
            turn.tool_results.append(r["output"] if isinstance(r.get("output"), str) else json.dumps(r))
    gc = body.get("generationConfig") or {}
    fcc = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    allowed = fcc.get("allowedFunctionNames") or []
    schema = gc.get("responseJsonSchema", gc.get("responseSchema"))
    if schema is not None:
        _need(gc.get("responseMimeType") == "application/json", "responseSchema needs responseMimeType application/json")
    return Ask(
        json_schema=schema,
        last=turn,
        turns=len(contents),
        tools=[
            {"name": d["name"], "parameters": d.get("parametersJsonSchema") or d.get("parameters")}
            for t in body.get("tools") or []
            for d in t.get("functionDeclarations") or []
        ],
        forced_tool=allowed[0] if fcc.get("mode") == "ANY" and len(allowed) == 1 else None,
        tools_off=fcc.get("mode") == "NONE",
        stop=list(gc.get("stopSequences") or []),
        max_tokens=gc.get("maxOutputTokens"),
        thinking=bool((gc.get("thinkingConfig") or {}).get("includeThoughts")),
    )


def gemini_error(status: int, message: str = "") -> dict:
    s, msg = {
        400: ("INVALID_ARGUMENT", message),
        401: ("UNAUTHENTICATED", "API key not valid. Please pass a valid API key."),
        429: ("RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details."),
        500: ("INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
        503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    }.get(status, ("UNKNOWN", message or "error"))
    err: dict[str, Any] = {"code": status, "message": msg, "status": s}
    if status == 429:
        err["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "21s"}]
    return {"error": err}


# ---------------------------------------------------------------------------------------------
# The server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-upstreams/1"
    timeout = 120  # an idle keep-alive connection is dropped after this

    fakes: FakeUpstreams  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass

    # -- transport ------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _sse_start(self, chunked: bool, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            # Close-delimited: no length, the end of the body is the end of the connection.
            self.send_header("Connection", "close")
            self.close_connection = True
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()
        self._chunked = chunked

    def _write(self, payload: bytes) -> None:
        if self._chunked:
            payload = b"%x\r\n%s\r\n" % (len(payload), payload)
        self.wfile.write(payload)
        self.wfile.flush()

    def _sse(self, data: Any, event: str | None = None) -> None:
        text = (f"event: {event}\n" if event else "") + "data: " + (
            data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)) + "\n\n"
        payload = text.encode()
        # Text as the providers send it, raw UTF-8; an event with a multi-byte character goes out in
        # two writes cut inside that character, as TCP may deliver it.
        cut = next((i for i, b in enumerate(payload) if 0x80 <= b <= 0xBF), None)
        if cut is None:
            self._write(payload)
        else:
            self._write(payload[:cut])
            time.sleep(STREAM_PAUSE_S)
            self._write(payload[cut:])
        time.sleep(STREAM_PAUSE_S)

    def _sse_end(self) -> None:
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    # -- dispatch -------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._json(404, {"error": {"message": f"no route for GET {self.path}"}})

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        raw_bytes = self._read_body()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        raw = raw_bytes.decode("utf-8", "replace")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if path == "/openai/v1/chat/completions":
            provider = "openai"
        elif path == "/anthropic/v1/messages":
            provider = "anthropic"
        elif path.startswith("/gemini/v1beta/models/") and (
            path.endswith(":generateContent") or path.endswith(":streamGenerateContent")
        ):
            provider = "gemini"
        else:
            provider = "unknown"
        rec = Record(
            provider=provider,
            method="POST",
            path=path,
            query=urllib.parse.parse_qs(url.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            raw=raw,
            body=body,
        )
        self.fakes._record(rec)
        try:
            if provider == "openai":
                self._openai(rec)
            elif provider == "anthropic":
                self._anthropic(rec)
            elif provider == "gemini":
                self._gemini(rec)
            else:
                rec.response = {"status": 404}
                self._json(404, {"error": {"message": f"no route for POST {path}"}})
        except (BrokenPipeError, ConnectionResetError):
            rec.response.setdefault("client_went_away", True)

    # -- OpenAI -----------------------------------------------------------------------------------

    def _openai(self, rec: Record) -> None:
        key = self.fakes.keys["openai"]
        if rec.header("authorization") != f"Bearer {key}":
            rec.response = {"status": 401}
            return self._json(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                              "param": None, "code": "invalid_api_key"}})
        try:
            ask = openai_ask(rec.body)
        except (Invalid, KeyError, TypeError, AttributeError, ValueError) as e:
            rec.response = {"status": 400, "invalid": str(e)}
            err = openai_error(400)
            err["error"]["message"] = f"Invalid request: {e}"
            return self._json(400, err)
        body = rec.body
        plan = plan_for("the fake OpenAI", ask, rec.raw)
        req_id = "req_" + _rand(32, string.hexdigits.lower()[:16])
        if plan.kind == "error":
            rec.response = {"status": plan.error_status}
            headers = {"x-request-id": req_id}
            if plan.error_status == 429:
                headers["retry-after"] = "7"
            return self._json(plan.error_status, openai_error(plan.error_status), headers)
        cid = "chatcmpl-" + _rand(29)
        created = int(time.time())
        model = body["model"]
        prompt_tokens = max(1, len(rec.raw) // 4)
        completion_tokens = output_tokens(plan)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }
        calls = [{"id": "call_" + _rand(24), "name": n, "arguments": json.dumps(a)} for n, a in plan.calls]
        finish = {"stop": "stop", "stop_sequence": "stop", "length": "length", "tool": "tool_calls"}[plan.finish]
        rec.response = {"status": 200, "stream": bool(body.get("stream")), "id": cid, "text": plan.text,
                        "tool_calls": calls, "usage": usage, "finish": finish}
        if not body.get("stream"):
            msg: dict[str, Any] = {"role": "assistant", "content": plan.text if not calls else None, "refusal": None,
                                   "annotations": []}
            if calls:
                msg["tool_calls"] = [{"id": c["id"], "type": "function",
                                      "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]
            return self._json(200, {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": msg, "logprobs": None, "finish_reason": finish}],
                "usage": usage, "service_tier": "default", "system_fingerprint": "fp_fake0001",
            }, {"x-request-id": req_id})

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self._sse_start(chunked=True, headers={"x-request-id": req_id})

        def chunk(delta: dict, finish_reason: str | None = None, **extra: Any) -> dict:
            c = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                 "service_tier": "default", "system_fingerprint": "fp_fake0001",
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}
            if include_usage:
                c["usage"] = None
            c.update(extra)
            return c

        self._sse(chunk({"role": "assistant", "content": "", "refusal": None}))
        pieces = words(plan.text)
        for k, w in enumerate(pieces):
            self._sse(chunk({"content": w}))
            if plan.fail_mid_stream and k == 1:
                # OpenAI reports a failure after the 200 as a data event with an error object.
                self._sse({"error": {"message": "The server had an error while processing your request.",
                                     "type": "server_error", "param": None, "code": None}})
                rec.response["failed_mid_stream"] = True
                return self._sse_end()
        for n, c in enumerate(calls):
            self._sse(chunk({"tool_calls": [{"index": n, "id": c["id"], "type": "function",
                                             "function": {"name": c["name"], "arguments": ""}}]}))
            args = c["arguments"]
            for k in range(0, len(args), 7):
                self._sse(chunk({"tool_calls": [{"index": n, "function": {"arguments": args[k:k + 7]}}]}))
        self._sse(chunk({}, finish))
        if include_usage:
            self._sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                       "service_tier": "default", "system_fingerprint": "fp_fake0001", "choices": [], "usage": usage})
        self._sse("[DONE]")
        self._sse_end()

    # -- Anthropic --------------------------------------------------------------------------------

    def _anthropic(self, rec: Record) -> None:
        req_id = "req_011" + _rand(21)
        if rec.header("x-api-key") != self.fakes.keys["anthropic"]:
            rec.response = {"status": 401}
            return self._json(401, anthropic_error(401), {"request-id": req_id})
        if not rec.header("anthropic-version"):
            rec.response = {"status": 400, "invalid": "anthropic-version header missing"}
            return self._json(400, anthropic_error(400, "anthropic-version: header is required"), {"request-id": req_id})
        try:
            ask = anthropic_ask(rec.body)
            _anthropic_thinking_rules(rec.body, self.fakes.signatures())
        except (Invalid, KeyError, TypeError, AttributeError, ValueError) as e:
            rec.response = {"status": 400, "invalid": str(e)}
            return self._json(400, anthropic_error(400, str(e)), {"request-id": req_id})
        body = rec.body
        plan = plan_for("the fake Anthropic", ask, rec.raw)
        if plan.kind == "tool":
            plan.text = ANTHROPIC_TOOL_PREAMBLE  # Claude usually says what it is about to do
        if plan.kind == "error":
            rec.response = {"status": plan.error_status}
            headers = {"request-id": req_id}
            if plan.error_status == 429:
                headers["retry-after"] = "7"
            return self._json(plan.error_status, anthropic_error(plan.error_status), headers)
        mid = "msg_01" + _rand(22)
        model = body["model"]
        input_tokens = max(1, len(rec.raw) // 4)
        out_tokens = output_tokens(plan)
        calls = [{"id": "toolu_01" + _rand(22), "name": n, "input": a} for n, a in plan.calls]
        signature = ""
        if plan.thinking:
            signature = "EqQB" + _rand(60, _ALNUM + "+/") + "=="
            self.fakes._issue_signature(signature, plan.thinking)
        stop_reason = {"stop": "end_turn", "stop_sequence": "stop_sequence", "length": "max_tokens", "tool": "tool_use"}[plan.finish]
        usage = {"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                 "output_tokens": out_tokens, "service_tier": "standard"}
        rec.response = {"status": 200, "stream": bool(body.get("stream")), "id": mid, "text": plan.text,
                        "tool_calls": [{"id": c["id"], "name": c["name"], "arguments": json.dumps(c["input"])} for c in calls],
                        "usage": usage, "finish": stop_reason, "stop_sequence": plan.stop_sequence,
                        "thinking": plan.thinking, "signature": signature}
        content: list[dict] = []
        if plan.thinking:
            content.append({"type": "thinking", "thinking": plan.thinking, "signature": signature})
        if plan.text:
            content.append({"type": "text", "text": plan.text})
        for c in calls:
            content.append({"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["input"]})
        if not body.get("stream"):
            return self._json(200, {
                "id": mid, "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": stop_reason, "stop_sequence": plan.stop_sequence, "usage": usage,
            }, {"request-id": req_id})

        self._sse_start(chunked=True, headers={"request-id": req_id})
        self._sse({"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "output_tokens": 1, "service_tier": "standard"}}}, "message_start")
        index = 0
        if plan.thinking:
            self._sse({"type": "content_block_start", "index": index,
                       "content_block": {"type": "thinking", "thinking": "", "signature": ""}}, "content_block_start")
            for w in words(plan.thinking):
                self._sse({"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": w}},
                          "content_block_delta")
            self._sse({"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": signature}},
                      "content_block_delta")
            self._sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            index += 1
        if plan.text:
            self._sse({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
                      "content_block_start")
            self._sse({"type": "ping"}, "ping")
            for k, w in enumerate(words(plan.text)):
                self._sse({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": w}},
                          "content_block_delta")
                if plan.fail_mid_stream and k == 1:
                    self._sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error")
                    rec.response["failed_mid_stream"] = True
                    return self._sse_end()
            self._sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            index += 1
        for c in calls:
            self._sse({"type": "content_block_start", "index": index,
                       "content_block": {"type": "tool_use", "id": c["id"], "name": c["name"], "input": {}}},
                      "content_block_start")
            args = json.dumps(c["input"])
            self._sse({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": ""}},
                      "content_block_delta")
            for k in range(0, len(args), 6):
                self._sse({"type": "content_block_delta", "index": index,
                           "delta": {"type": "input_json_delta", "partial_json": args[k:k + 6]}}, "content_block_delta")
            self._sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            index += 1
        self._sse({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": plan.stop_sequence},
                   "usage": {"output_tokens": out_tokens}}, "message_delta")
        self._sse({"type": "message_stop"}, "message_stop")
        self._sse_end()

    # -- Gemini -----------------------------------------------------------------------------------

    def _gemini(self, rec: Record) -> None:
        model, _, method = rec.path[len("/gemini/v1beta/models/"):].partition(":")
        stream = method == "streamGenerateContent"
        if rec.header("x-goog-api-key") != self.fakes.keys["gemini"]:
            rec.response = {"status": 401}
            return self._json(401, gemini_error(401))
        if stream and rec.query.get("alt") != ["sse"]:
            # Without alt=sse Gemini streams a JSON array, which is not what the gateway reads.
            rec.response = {"status": 400, "invalid": "streamGenerateContent without alt=sse"}
            return self._json(400, gemini_error(400, "streaming without alt=sse is not served by this fake"))
        try:
            ask = gemini_ask(rec.body)
        except (Invalid, KeyError, TypeError, AttributeError, ValueError) as e:
            rec.response = {"status": 400, "invalid": str(e)}
            return self._json(400, gemini_error(400, str(e)))
        plan = plan_for("the fake Gemini", ask, rec.raw)
        if plan.kind == "error":
            rec.response = {"status": plan.error_status}
            return self._json(plan.error_status, gemini_error(plan.error_status))
        response_id = _rand(22, _ALNUM + "-_")
        prompt_tokens = max(1, len(rec.raw) // 4)
        out_tokens = output_tokens(plan)
        signature = "Cik" + _rand(40, _ALNUM + "+/") + "=="
        calls = [{"name": n, "args": a} for n, a in plan.calls]
        finish = {"stop": "STOP", "stop_sequence": "STOP", "length": "MAX_TOKENS", "tool": "STOP"}[plan.finish]
        usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": out_tokens,
                 "totalTokenCount": prompt_tokens + out_tokens,
                 "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]}
        rec.response = {"status": 200, "stream": stream, "id": response_id, "text": plan.text,
                        "tool_calls": [{"id": None, "name": c["name"], "arguments": json.dumps(c["args"])} for c in calls],
                        "usage": usage, "finish": finish, "thought_signature": signature if calls else None,
                        "thinking": plan.thinking}

        def response(parts: list[dict], finish_reason: str | None, usage_metadata: dict) -> dict:
            cand: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
            if finish_reason:
                cand["finishReason"] = finish_reason
            return {"candidates": [cand], "usageMetadata": usage_metadata, "modelVersion": model,
                    "responseId": response_id}

        # Gemini 2.5 with thinking signs the first function call of a turn.
        call_parts = [{"functionCall": c, **({"thoughtSignature": signature} if k == 0 else {})} for k, c in enumerate(calls)]
        thought_parts = [{"text": plan.thinking, "thought": True}] if plan.thinking else []
        if not stream:
            parts = thought_parts + ([{"text": plan.text}] if plan.text else []) + call_parts
            return self._json(200, response(parts, finish, usage))

        self._sse_start(chunked=False)
        partial_usage = {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens,
                         "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]}
        if thought_parts:
            self._sse(response(thought_parts, None, partial_usage))
        pieces = words(plan.text)
        for k, w in enumerate(pieces):
            last = k == len(pieces) - 1 and not calls
            self._sse(response([{"text": w}], finish if last else None, usage if last else partial_usage))
            if plan.fail_mid_stream and k == 1:
                self._sse(gemini_error(503))
                rec.response["failed_mid_stream"] = True
                return
        if calls:
            self._sse(response(call_parts, finish, usage))
        elif not pieces:
            self._sse(response([{"text": ""}], finish, usage))


class FakeUpstreams:
    """The server, its keys, and what it received."""

    def __init__(self, keys: dict[str, str]):
        self.keys = dict(keys)
        self._records: list[Record] = []
        self._signatures: dict[str, str] = {}
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"fakes": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-upstreams", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeUpstreams:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, r: Record) -> None:
        with self._lock:
            self._records.append(r)

    def _issue_signature(self, signature: str, thinking: str) -> None:
        with self._lock:
            self._signatures[signature] = thinking

    def signatures(self) -> dict[str, str]:
        """Anthropic thinking signatures issued so far, with the thinking text each one signs."""
        with self._lock:
            return dict(self._signatures)

    def records(self) -> list[Record]:
        with self._lock:
            return list(self._records)

    def find(self, needle: str) -> list[Record]:
        """Every request whose body contains `needle` (tests put a fresh marker in each prompt)."""
        return [r for r in self.records() if needle in r.raw]

    def one(self, needle: str) -> Record:
        """The one request whose body contains `needle`."""
        found = self.find(needle)
        assert len(found) == 1, f"expected one upstream request containing {needle!r}, got {len(found)}: " + repr(
            [(r.path, r.response.get("status")) for r in found]
        )
        return found[0]

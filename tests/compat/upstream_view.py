"""What a fake provider saw, read in that provider's own wire format.

The SDK tests assert on both ends of the gateway: what the SDK got, and what the provider received.
These helpers read a recorded request (`fake_upstreams.Record`) the way each provider's API defines it
(OpenAI chat `messages`, Anthropic `system` + `messages` with content blocks, Gemini `contents` with
parts), so a test can say "the provider saw this tool result for that call id" once for all three.
Each helper looks the fields up at their exact wire location: a field the gateway put in the wrong
place (or in the wrong provider's shape) is not found.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from conftest import FAILING_SLOTS, FAKE_BASE_MODELS, FAKE_MODELS, LIVE_KEY, UPSTREAM_KEYS
from fake_upstreams import Record

# The three models the tests are parametrized over: oa/gpt, an/claude, ge/gemini.
MODELS = list(FAKE_BASE_MODELS)

_slots = {m: itertools.count(1) for m in FAKE_BASE_MODELS}


def failing_model(model: str) -> str:
    """A twin of `model` (same provider kind and fake upstream) that no other test uses, for a test
    that makes the provider fail: the gateway's health tracking (cool-downs, circuit breakers) then
    never touches the models and providers other tests use."""
    i = next(_slots[model])
    assert i <= FAILING_SLOTS, f"more failing tests for {model} than FAILING_SLOTS ({FAILING_SLOTS}) in conftest.py"
    twin = f"{provider(model)}-e{i}/{model.split('/', 1)[1]}"
    assert FAKE_MODELS[twin]["twin_of"] == model
    return twin


def wire(model: str) -> str:
    return FAKE_MODELS[model]["wire"]


def provider(model: str) -> str:
    return FAKE_MODELS[model]["provider"]


def upstream_model(model: str) -> str:
    return FAKE_MODELS[model]["upstream_model"]


def check_request(rec: Record, model: str, *, stream: bool) -> None:
    """Path, method, credentials and model name as the provider's API wants them, and nothing of the
    client's own credentials."""
    w = wire(model)
    up = upstream_model(model)
    assert rec.method == "POST"
    assert (rec.header("content-type") or "").startswith("application/json")
    assert isinstance(rec.body, dict), f"the upstream body is not a JSON object: {rec.raw[:200]}"
    if w == "openai":
        assert rec.path == "/openai/v1/chat/completions"
        assert rec.header("authorization") == f"Bearer {UPSTREAM_KEYS['openai']}"
        assert rec.body["model"] == up
        assert bool(rec.body.get("stream")) is stream
        if stream:
            assert rec.body.get("stream_options", {}).get("include_usage") is True
    elif w == "anthropic":
        assert rec.path == "/anthropic/v1/messages"
        assert rec.header("x-api-key") == UPSTREAM_KEYS["anthropic"]
        assert rec.header("anthropic-version") == "2023-06-01"
        assert rec.header("authorization") is None
        assert rec.body["model"] == up
        assert bool(rec.body.get("stream")) is stream
    else:
        method = "streamGenerateContent" if stream else "generateContent"
        assert rec.path == f"/gemini/v1beta/models/{up}:{method}"
        assert rec.header("x-goog-api-key") == UPSTREAM_KEYS["gemini"]
        assert rec.header("authorization") is None
        assert "key" not in rec.query  # the key travels in the header, never in the URL
        if stream:
            assert rec.query.get("alt") == ["sse"]
        assert "model" not in rec.body and "stream" not in rec.body
    # The caller's Switchyard key never reaches a provider, in any header or in the body.
    assert not any(LIVE_KEY in v for v in rec.headers.values())
    assert LIVE_KEY not in rec.raw
    assert rec.header("x-api-key") in (None, UPSTREAM_KEYS["anthropic"])


def usage(rec: Record) -> tuple[int, int]:
    """(input tokens, output tokens) as the fake provider reported them."""
    u = rec.response["usage"]
    if rec.provider == "openai":
        return u["prompt_tokens"], u["completion_tokens"]
    if rec.provider == "anthropic":
        return u["input_tokens"], u["output_tokens"]
    return u["promptTokenCount"], u["candidatesTokenCount"]


def system_text(rec: Record) -> str | None:
    """The system prompt where the provider reads it."""
    b = rec.body
    if rec.provider == "openai":
        texts = [m["content"] for m in b["messages"] if m["role"] in ("system", "developer")]
        assert all(isinstance(t, str) for t in texts), texts
        return "\n".join(texts) if texts else None
    if rec.provider == "anthropic":
        s = b.get("system")
        if s is None:
            return None
        if isinstance(s, str):
            return s
        assert all(blk["type"] == "text" for blk in s), s
        return "\n".join(blk["text"] for blk in s)
    si = b.get("systemInstruction")
    if si is None:
        return None
    return "\n".join(p["text"] for p in si["parts"])


def roles(rec: Record) -> list[str]:
    """The conversation's roles in the provider's terms (system messages of OpenAI included)."""
    if rec.provider == "openai":
        return [m["role"] for m in rec.body["messages"]]
    if rec.provider == "anthropic":
        return [m["role"] for m in rec.body["messages"]]
    return [c["role"] for c in rec.body["contents"]]


def texts(rec: Record) -> list[str]:
    """Every plain text of the conversation (not system), in order."""
    out: list[str] = []
    if rec.provider == "openai":
        for m in rec.body["messages"]:
            if m["role"] in ("system", "developer", "tool"):
                continue
            c = m.get("content")
            if isinstance(c, str):
                out.append(c)
            for p in c if isinstance(c, list) else []:
                if p["type"] == "text":
                    out.append(p["text"])
    elif rec.provider == "anthropic":
        for m in rec.body["messages"]:
            c = m["content"]
            if isinstance(c, str):
                out.append(c)
            for blk in c if isinstance(c, list) else []:
                if blk["type"] == "text":
                    out.append(blk["text"])
    else:
        for c in rec.body["contents"]:
            for p in c["parts"]:
                if "text" in p and not p.get("thought"):
                    out.append(p["text"])
    return out


def declared_tools(rec: Record) -> dict[str, dict]:
    """Tool name -> its parameters' JSON Schema, where the provider reads tool declarations."""
    if rec.provider == "openai":
        return {t["function"]["name"]: t["function"]["parameters"] for t in rec.body.get("tools") or []
                if t["type"] == "function"}
    if rec.provider == "anthropic":
        return {t["name"]: t["input_schema"] for t in rec.body.get("tools") or []}
    tools = rec.body.get("tools") or []
    assert len(tools) <= 1, tools
    return {d["name"]: d.get("parametersJsonSchema", d.get("parameters"))
            for t in tools for d in t["functionDeclarations"]}


def assistant_calls(rec: Record) -> list[dict[str, Any]]:
    """Tool calls of earlier assistant turns: {id, name, args (dict), signature (Gemini)}."""
    out = []
    if rec.provider == "openai":
        for m in rec.body["messages"]:
            for c in m.get("tool_calls") or []:
                assert m["role"] == "assistant" and c["type"] == "function"
                out.append({"id": c["id"], "name": c["function"]["name"], "args": json.loads(c["function"]["arguments"])})
    elif rec.provider == "anthropic":
        for m in rec.body["messages"]:
            for blk in m["content"] if isinstance(m["content"], list) else []:
                if blk["type"] == "tool_use":
                    assert m["role"] == "assistant"
                    out.append({"id": blk["id"], "name": blk["name"], "args": blk["input"]})
    else:
        for c in rec.body["contents"]:
            for p in c["parts"]:
                if "functionCall" in p:
                    assert c["role"] == "model"
                    fc = p["functionCall"]
                    out.append({"id": fc.get("id"), "name": fc["name"], "args": fc.get("args", {}),
                                "signature": p.get("thoughtSignature")})
    return out


def tool_results(rec: Record) -> list[dict[str, Any]]:
    """Tool results the provider saw: {id, name (Gemini), text}."""
    out = []
    if rec.provider == "openai":
        for m in rec.body["messages"]:
            if m["role"] == "tool":
                c = m["content"]
                out.append({"id": m["tool_call_id"], "text": c if isinstance(c, str) else "".join(p["text"] for p in c)})
    elif rec.provider == "anthropic":
        for m in rec.body["messages"]:
            for blk in m["content"] if isinstance(m["content"], list) else []:
                if blk["type"] == "tool_result":
                    assert m["role"] == "user"
                    c = blk.get("content", "")
                    out.append({"id": blk["tool_use_id"],
                                "text": c if isinstance(c, str) else "".join(x["text"] for x in c if x["type"] == "text")})
    else:
        for c in rec.body["contents"]:
            for p in c["parts"]:
                if "functionResponse" in p:
                    assert c["role"] == "user"
                    fr = p["functionResponse"]
                    r = fr["response"]
                    out.append({"id": fr.get("id"), "name": fr["name"],
                                "text": r["output"] if isinstance(r.get("output"), str) else json.dumps(r)})
    return out


def images(rec: Record) -> list[tuple[str, str]]:
    """Inline images the provider saw: (MIME type, base64 data)."""
    out = []
    if rec.provider == "openai":
        for m in rec.body["messages"]:
            for p in m["content"] if isinstance(m.get("content"), list) else []:
                if p["type"] == "image_url":
                    url = p["image_url"]["url"]
                    assert url.startswith("data:"), url[:40]
                    meta, data = url[len("data:"):].split(",", 1)
                    assert meta.endswith(";base64"), meta
                    out.append((meta[: -len(";base64")], data))
    elif rec.provider == "anthropic":
        for m in rec.body["messages"]:
            for blk in m["content"] if isinstance(m["content"], list) else []:
                if blk["type"] == "image":
                    assert blk["source"]["type"] == "base64", blk["source"]
                    out.append((blk["source"]["media_type"], blk["source"]["data"]))
    else:
        for c in rec.body["contents"]:
            for p in c["parts"]:
                if "inlineData" in p:
                    out.append((p["inlineData"]["mimeType"], p["inlineData"]["data"]))
    return out


def stop_sequences(rec: Record) -> list[str] | None:
    b = rec.body
    if rec.provider == "openai":
        s = b.get("stop")
        return [s] if isinstance(s, str) else s
    if rec.provider == "anthropic":
        return b.get("stop_sequences")
    return (b.get("generationConfig") or {}).get("stopSequences")


def max_tokens(rec: Record) -> int | None:
    b = rec.body
    if rec.provider == "openai":
        # openai_compatible servers get `max_tokens` (OpenAI itself would get max_completion_tokens).
        assert "max_completion_tokens" not in b, b
        return b.get("max_tokens")
    if rec.provider == "anthropic":
        return b.get("max_tokens")
    return (b.get("generationConfig") or {}).get("maxOutputTokens")


def temperature(rec: Record) -> float | None:
    if rec.provider == "gemini":
        return (rec.body.get("generationConfig") or {}).get("temperature")
    return rec.body.get("temperature")

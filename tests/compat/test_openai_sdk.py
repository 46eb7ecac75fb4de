"""The official `openai` Python SDK against Switchyard's OpenAI-compatible chat endpoint.

Every model here is served by the built-in simulator (see conftest.py), so the suite needs no network
and no provider key. What is checked is what a client of the SDK relies on: typed responses, the
gateway's extra fields surviving the SDK's models, headers, SSE streams, tool calls, and errors
arriving as the SDK's typed exceptions with the public error body.
"""

from __future__ import annotations

import json
import urllib.request

import anyio
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from conftest import (
    CATALOG_ONLY_KEY,
    MAX_BODY_BYTES,
    KEY,
    REVOKED_KEY,
    SIM_CACHED_TOKENS,
    SIM_OUTPUT_TOKENS,
    UNKNOWN_KEY,
    expected_cost,
)

MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello to the compatibility suite."},
]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a timezone.",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
    },
}


def router_of(obj) -> dict:
    """The gateway's `router` object, an extra field the SDK keeps in `model_extra`."""
    extra = obj.model_extra or {}
    assert "router" in extra, f"no `router` field in {obj!r}"
    router = extra["router"]
    assert isinstance(router, dict)
    return router


def cost_of(usage) -> float:
    """`usage.cost` (dollars), an extra field of the SDK's CompletionUsage."""
    extra = usage.model_extra or {}
    assert "cost" in extra, f"no `usage.cost` in {usage!r}"
    assert isinstance(extra["cost"], (int, float))
    return float(extra["cost"])


def error_body(e: openai.APIStatusError) -> dict:
    """The public error object, read from the raw response (independent of how the SDK unwraps it)."""
    body = e.response.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    for k in ("type", "code", "message", "param", "http_status", "provider", "request_id", "rule_trace"):
        assert k in err, f"error body lacks {k!r}: {body}"
    assert err["http_status"] == e.status_code
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["rule_trace"], list)
    assert err["request_id"] == e.response.headers["x-request-id"] == e.request_id
    return err


# ---------------------------------------------------------------------------------------------
# Non-streaming chat


def test_chat_completion(client: openai.OpenAI, gateway):
    resp = client.chat.completions.create(model="sim/fast", messages=MESSAGES)

    assert isinstance(resp, ChatCompletion)
    assert resp.object == "chat.completion"
    assert resp.id
    assert resp.model == "sim/fast"
    assert len(resp.choices) == 1
    choice = resp.choices[0]
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str) and choice.message.content.strip()
    assert choice.message.tool_calls is None

    u = resp.usage
    assert u is not None
    assert u.prompt_tokens > 0
    assert u.completion_tokens == SIM_OUTPUT_TOKENS
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert cost_of(u) == pytest.approx(expected_cost("sim/fast", u.prompt_tokens, u.completion_tokens), rel=1e-9)

    r = router_of(resp)
    assert r["model"] == "sim/fast"
    assert r["provider"] == "sim"
    assert r["requested_model"] == "sim/fast"
    assert r["mode"] == "pinned"
    assert r["fallback"] is False
    assert [(a["model"], a["status"]) for a in r["attempts"]] == [("sim/fast", 200)]
    assert r["cost"]["actual_dollars"] == pytest.approx(cost_of(u), rel=1e-9)
    assert r["cost"]["estimated_dollars"] > 0

    # The request log has the same request, cost and tokens, and names the key, never shows it.
    log = gateway.access_record(r["request_id"])
    assert log["status"] == 200
    assert log["model"] == "sim/fast"
    assert log["key"] == "compat"
    assert log["stream"] is False
    assert log["output_tokens"] == u.completion_tokens
    assert float(log["cost_usd"]) == pytest.approx(cost_of(u), rel=1e-9)
    assert KEY not in gateway.output()


def test_raw_response_headers(client: openai.OpenAI):
    raw = client.chat.completions.with_raw_response.create(model="sim/fast", messages=MESSAGES)
    assert raw.status_code == 200
    h = raw.headers
    assert h["content-type"].startswith("application/json")
    assert h["x-request-id"]
    assert h["x-jt-model"] == "sim/fast"
    assert h["x-routed-model"] == "sim/fast"
    assert h["x-jt-route"] == "pinned"
    assert int(h["x-jt-latency-ms"]) >= 0
    assert h["x-jt-fallback"] == "false"
    # An answer the gateway had whole before writing its header has a length and the actual cost;
    # one that arrived in pieces goes chunked with the pre-flight estimate.
    basis = "actual" if "content-length" in h else "estimate"
    assert h["x-jt-cost-basis"] == basis
    assert float(h["x-jt-cost-usd"]) > 0

    resp = raw.parse()
    assert isinstance(resp, ChatCompletion)
    assert resp.model == "sim/fast"
    r = router_of(resp)
    assert r["request_id"] == h["x-request-id"]
    dollars = r["cost"]["actual_dollars" if basis == "actual" else "estimated_dollars"]
    assert float(h["x-jt-cost-usd"]) == pytest.approx(dollars, rel=1e-9)

    # The extra fields are in the JSON the SDK received, not only in its parsed model.
    body = json.loads(raw.text)
    assert body["model"] == "sim/fast"
    assert "cost" in body["usage"] and "router" in body


def test_client_request_id_is_kept(client: openai.OpenAI):
    raw = client.chat.completions.with_raw_response.create(
        model="sim/fast", messages=MESSAGES, extra_headers={"x-request-id": "compat-req-0001"}
    )
    assert raw.headers["x-request-id"] == "compat-req-0001"
    assert router_of(raw.parse())["request_id"] == "compat-req-0001"


def test_alias_model(client: openai.OpenAI):
    raw = client.chat.completions.with_raw_response.create(model="sim-fast", messages=MESSAGES)
    assert raw.headers["x-jt-model"] == "sim-fast"
    assert raw.headers["x-routed-model"] == "sim/fast"
    resp = raw.parse()
    assert resp.model == "sim/fast"  # the catalog id of the model that answered, not the alias
    r = router_of(resp)
    assert r["requested_model"] == "sim-fast"
    assert r["model"] == "sim/fast"


def test_other_model_prices_differ(client: openai.OpenAI):
    resp = client.chat.completions.create(model="sim-smart", messages=MESSAGES)
    assert resp.model == "sim/smart"
    u = resp.usage
    assert cost_of(u) == pytest.approx(expected_cost("sim/smart", u.prompt_tokens, u.completion_tokens), rel=1e-9)


def test_max_tokens_and_passthrough_params(client: openai.OpenAI):
    resp = client.chat.completions.create(
        model="sim/fast",
        messages=MESSAGES,
        max_completion_tokens=5,
        temperature=0.2,
        top_p=0.9,
        seed=7,
        stop=["\n\n"],
        user="compat-user",
        presence_penalty=0.1,
        frequency_penalty=0.1,
    )
    assert resp.usage.completion_tokens == 5
    assert len(resp.choices[0].message.content.split()) == 5
    resp = client.chat.completions.create(model="sim/fast", messages=MESSAGES, max_tokens=3)
    assert resp.usage.completion_tokens == 3


def test_cached_prompt_tokens_are_billed_at_the_cached_price(client: openai.OpenAI):
    resp = client.chat.completions.create(
        model="sim-cache/cached",
        messages=[{"role": "user", "content": "A prompt long enough to span a few simulated tokens."}],
    )
    u = resp.usage
    assert u.prompt_tokens >= SIM_CACHED_TOKENS
    assert u.prompt_tokens_details is not None
    assert u.prompt_tokens_details.cached_tokens == SIM_CACHED_TOKENS
    assert cost_of(u) == pytest.approx(
        expected_cost("sim-cache/cached", u.prompt_tokens, u.completion_tokens, SIM_CACHED_TOKENS), rel=1e-9
    )


def test_caller_fallback_chain(client: openai.OpenAI):
    raw = client.chat.completions.with_raw_response.create(
        model="sim-fail/broken", messages=MESSAGES, extra_body={"fallback": ["sim/fast"]}
    )
    assert raw.status_code == 200
    assert raw.headers["x-jt-fallback"] == "true"
    assert raw.headers["x-routed-model"] == "sim/fast"
    assert raw.headers["x-jt-model"] == "sim/fast"
    resp = raw.parse()
    assert resp.model == "sim/fast"
    r = router_of(resp)
    assert r["fallback"] is True
    assert [(a["model"], a["status"]) for a in r["attempts"]] == [("sim-fail/broken", 500), ("sim/fast", 200)]
    # Billing follows the model that answered.
    u = resp.usage
    assert cost_of(u) == pytest.approx(expected_cost("sim/fast", u.prompt_tokens, u.completion_tokens), rel=1e-9)


def test_models_list(client: openai.OpenAI):
    ids = [m.id for m in client.models.list()]
    assert {"sim/fast", "sim/smart", "sim-fail/broken", "sim-cache/cached"} <= set(ids)
    assert "sim-locked/locked" not in ids  # outside the key's model scopes


# ---------------------------------------------------------------------------------------------
# Streaming


def _check_final_usage_chunk(chunk: ChatCompletionChunk, model: str = "sim/fast") -> None:
    assert chunk.usage is not None, f"last chunk has no usage: {chunk!r}"
    u = chunk.usage
    assert u.completion_tokens == SIM_OUTPUT_TOKENS
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert cost_of(u) == pytest.approx(expected_cost(model, u.prompt_tokens, u.completion_tokens), rel=1e-9)
    r = router_of(chunk)
    assert r["model"] == model
    assert r["cost"]["actual_dollars"] == pytest.approx(cost_of(u), rel=1e-9)


def test_streaming(client: openai.OpenAI, gateway):
    chunks: list[ChatCompletionChunk] = []
    with client.chat.completions.create(model="sim/fast", messages=MESSAGES, stream=True) as stream:
        for chunk in stream:
            assert isinstance(chunk, ChatCompletionChunk)
            chunks.append(chunk)

    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert all(c.model == "sim/fast" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) > 1, f"expected several content chunks, got {content!r}"
    text = "".join(content)
    assert len(text.split()) == SIM_OUTPUT_TOKENS

    last = chunks[-1]
    assert last.choices and last.choices[0].finish_reason == "stop"
    _check_final_usage_chunk(last)
    # usage and router come once, on the last chunk only
    assert all(c.usage is None and "router" not in (c.model_extra or {}) for c in chunks[:-1])

    log = gateway.access_record(router_of(last)["request_id"])
    assert log["stream"] is True
    assert log["status"] == 200
    assert log["truncated"] is False
    assert log["output_tokens"] == SIM_OUTPUT_TOKENS


def test_streaming_include_usage(client: openai.OpenAI):
    chunks = list(
        client.chat.completions.create(
            model="sim/fast", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    last = chunks[-1]
    assert last.choices == []
    _check_final_usage_chunk(last)
    finish = chunks[-2]
    assert finish.choices and finish.choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks[:-1])
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1


def test_streaming_response_headers(client: openai.OpenAI):
    with client.chat.completions.with_streaming_response.create(
        model="sim-fast", messages=MESSAGES, stream=True
    ) as resp:
        assert resp.status_code == 200
        h = resp.headers
        assert h["content-type"].startswith("text/event-stream")
        assert h["x-request-id"]
        assert h["x-jt-model"] == "sim-fast"
        assert h["x-routed-model"] == "sim/fast"
        assert h["x-jt-fallback"] == "false"
        # A stream the gateway had whole before writing its header is framed like a whole answer.
        assert h["x-jt-cost-basis"] == ("actual" if "content-length" in h else "estimate")
        chunks = list(resp.parse())
    assert chunks and all(c.model == "sim/fast" for c in chunks)
    assert router_of(chunks[-1])["request_id"] == h["x-request-id"]


def test_streaming_raw_sse_ends_with_done(client: openai.OpenAI):
    """The wire format under the SDK: `data:` events, the last JSON one with router, then [DONE]."""
    with client.chat.completions.with_streaming_response.create(
        model="sim/fast", messages=MESSAGES, stream=True
    ) as resp:
        data = [line[len("data: ") :] for line in resp.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    events = [json.loads(d) for d in data[:-1]]
    assert "router" in events[-1] and "cost" in events[-1]["usage"]
    assert not any("error" in e for e in events)


@pytest.mark.anyio
async def test_streaming_async(async_client: openai.AsyncOpenAI):
    stream = await async_client.chat.completions.create(
        model="sim/fast", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) > 1
    assert len("".join(content).split()) == SIM_OUTPUT_TOKENS
    assert chunks[-1].choices == []
    _check_final_usage_chunk(chunks[-1])


@pytest.mark.anyio
async def test_concurrent_async_streams(async_client: openai.AsyncOpenAI):
    results: dict[int, tuple[str, ChatCompletionChunk]] = {}

    async def one(i: int) -> None:
        stream = await async_client.chat.completions.create(
            model="sim/fast", messages=[{"role": "user", "content": f"stream number {i}"}], stream=True
        )
        chunks = [c async for c in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        results[i] = (text, chunks[-1])

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(one, i)

    assert len(results) == 8
    ids = set()
    for text, last in results.values():
        assert len(text.split()) == SIM_OUTPUT_TOKENS
        _check_final_usage_chunk(last)
        ids.add(router_of(last)["request_id"])
    assert len(ids) == 8


@pytest.mark.anyio
async def test_async_non_streaming_and_error(async_client: openai.AsyncOpenAI):
    resp = await async_client.chat.completions.create(model="sim/fast", messages=MESSAGES)
    assert resp.model == "sim/fast" and resp.choices[0].message.content
    with pytest.raises(openai.NotFoundError) as ei:
        await async_client.chat.completions.create(model="nope/missing", messages=MESSAGES)
    assert ei.value.code == "model_not_found"


# ---------------------------------------------------------------------------------------------
# Tool calls


def test_tool_call_required(client: openai.OpenAI):
    resp = client.chat.completions.create(
        model="sim/fast", messages=MESSAGES, tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="required"
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls and len(calls) == 1
    call = calls[0]
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments), dict)
    assert resp.model == "sim/fast"
    assert cost_of(resp.usage) > 0


def test_tool_call_named_and_round_trip(client: openai.OpenAI):
    resp = client.chat.completions.create(
        model="sim/fast",
        messages=MESSAGES,
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
        parallel_tool_calls=False,
    )
    msg = resp.choices[0].message
    assert msg.tool_calls[0].function.name == "get_time"

    # Send the call and its result back, as an agent loop does, and get a text answer.
    follow = client.chat.completions.create(
        model="sim/fast",
        messages=[
            *MESSAGES,
            msg.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": msg.tool_calls[0].id, "content": '{"time": "12:00"}'},
        ],
        tools=[WEATHER_TOOL, TIME_TOOL],
    )
    assert follow.choices[0].finish_reason == "stop"
    assert follow.choices[0].message.content


def test_tool_call_streaming(client: openai.OpenAI):
    name, args, call_id, finish = "", "", None, None
    last = None
    for chunk in client.chat.completions.create(
        model="sim/fast", messages=MESSAGES, tools=[WEATHER_TOOL], tool_choice="required", stream=True
    ):
        last = chunk
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                assert tc.index == 0
                call_id = call_id or tc.id
                if tc.function and tc.function.name:
                    name += tc.function.name
                if tc.function and tc.function.arguments:
                    args += tc.function.arguments
            finish = choice.finish_reason or finish
    assert name == "get_weather"
    assert call_id
    assert isinstance(json.loads(args), dict)
    assert finish == "tool_calls"
    assert last is not None and "router" in (last.model_extra or {})


# ---------------------------------------------------------------------------------------------
# Errors as the SDK's typed exceptions


def test_unknown_model_is_not_found(client: openai.OpenAI):
    with pytest.raises(openai.NotFoundError) as ei:
        client.chat.completions.create(model="nope/missing", messages=MESSAGES)
    e = ei.value
    assert e.status_code == 404
    assert e.code == "model_not_found"
    assert e.param == "model"
    assert isinstance(e.body, dict) and e.body["code"] == "model_not_found"
    err = error_body(e)
    assert err["code"] == "model_not_found"
    assert err["param"] == "model"
    assert err["type"] == "not_found_error"
    assert "nope/missing" in err["message"]


def test_unknown_model_streaming_is_not_found(client: openai.OpenAI):
    with pytest.raises(openai.NotFoundError) as ei:
        client.chat.completions.create(model="nope/missing", messages=MESSAGES, stream=True)
    assert error_body(ei.value)["code"] == "model_not_found"


def test_unknown_fallback_model_is_not_found(client: openai.OpenAI):
    with pytest.raises(openai.NotFoundError) as ei:
        client.chat.completions.create(model="sim/fast", messages=MESSAGES, extra_body={"fallback": ["nope/missing"]})
    err = error_body(ei.value)
    assert err["code"] == "model_not_found"
    assert err["param"] == "fallback"


@pytest.mark.parametrize(
    "key, code",
    [
        (UNKNOWN_KEY, "invalid_api_key"),
        ("sk-not-a-switchyard-key", "invalid_api_key"),
        (REVOKED_KEY, "revoked_api_key"),
    ],
)
def test_bad_key_is_authentication_error(gateway, key: str, code: str):
    with openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError) as ei:
            bad.chat.completions.create(model="sim/fast", messages=MESSAGES)
    e = ei.value
    assert e.status_code == 401
    assert e.code == code
    assert error_body(e)["code"] == code


def test_bad_key_streaming_is_authentication_error(gateway):
    with openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=UNKNOWN_KEY, max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError):
            bad.chat.completions.create(model="sim/fast", messages=MESSAGES, stream=True)


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"temperature": 5}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"presence_penalty": -3}, "presence_penalty"),
        ({"n": 0}, "n"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"temperature": "hot"}, "temperature"),
    ],
)
def test_invalid_param_is_bad_request(client: openai.OpenAI, kwargs: dict, param: str):
    with pytest.raises(openai.BadRequestError) as ei:
        client.chat.completions.create(model="sim/fast", messages=MESSAGES, **kwargs)
    e = ei.value
    assert e.status_code == 400
    assert e.param == param
    err = error_body(e)
    assert err["param"] == param
    assert err["type"] == "invalid_request_error"
    assert err["provider"] is None


def test_invalid_messages_are_bad_request(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as ei:
        client.chat.completions.create(model="sim/fast", messages=[])
    assert ei.value.param == "messages"
    with pytest.raises(openai.BadRequestError) as ei:
        client.chat.completions.create(model="sim/fast", messages=[{"role": "tool", "content": "42"}])
    assert ei.value.param == "messages[0].tool_call_id"
    with pytest.raises(openai.BadRequestError) as ei:
        client.chat.completions.create(model="sim/fast", messages=[{"role": "wizard", "content": "x"}])
    assert ei.value.param == "messages[0].role"


def test_upstream_failure_is_internal_server_error(client: openai.OpenAI, gateway):
    with pytest.raises(openai.InternalServerError) as ei:
        client.chat.completions.create(model="sim-fail/broken", messages=MESSAGES)
    e = ei.value
    assert e.status_code == 502
    err = error_body(e)
    assert err["code"] == "upstream_error"
    assert err["type"] == "upstream_error"
    assert err["provider"] == "sim-fail"
    assert "500" in err["message"]
    log = gateway.access_record(err["request_id"])
    assert log["status"] == 502
    assert log["error_code"] == "upstream_error"


def test_upstream_failure_streaming_is_internal_server_error(client: openai.OpenAI):
    with pytest.raises(openai.InternalServerError) as ei:
        client.chat.completions.create(model="sim-fail/broken", messages=MESSAGES, stream=True)
    assert ei.value.status_code == 502
    assert error_body(ei.value)["provider"] == "sim-fail"


def test_model_outside_key_scope_is_permission_denied(client: openai.OpenAI):
    for model in ("sim-locked/locked", "sim-locked"):
        with pytest.raises(openai.PermissionDeniedError) as ei:
            client.chat.completions.create(model=model, messages=MESSAGES)
        e = ei.value
        assert e.status_code == 403
        assert e.code == "model_not_allowed"
        err = error_body(e)
        assert err["param"] == "model"
        assert err["type"] == "permission_error"


def test_endpoint_outside_key_scope_is_permission_denied(gateway):
    with openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=CATALOG_ONLY_KEY, max_retries=0) as c:
        with pytest.raises(openai.PermissionDeniedError) as ei:
            c.chat.completions.create(model="sim/fast", messages=MESSAGES)
        assert error_body(ei.value)["code"] == "scope_denied"
        # ... while the catalog scope it has works.
        assert "sim/fast" in [m.id for m in c.models.list()]


def test_unknown_endpoint_is_not_found(client: openai.OpenAI):
    with pytest.raises(openai.NotFoundError) as ei:
        client.embeddings.create(model="sim/fast", input="hello")
    err = error_body(ei.value)
    assert err["code"] == "unknown_endpoint"


def test_upstream_rate_limit_is_rate_limit_error(client: openai.OpenAI):
    with pytest.raises(openai.RateLimitError) as ei:
        client.chat.completions.create(model="sim-busy/busy", messages=MESSAGES)
    e = ei.value
    assert e.status_code == 429
    assert e.response.headers.get("retry-after") == "1"  # the provider's Retry-After is passed on
    err = error_body(e)
    assert err["code"] == "upstream_rate_limited"
    assert err["provider"] == "sim-busy"


def test_upstream_bad_request_is_bad_request(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as ei:
        client.chat.completions.create(model="sim-reject/reject", messages=MESSAGES)
    err = error_body(ei.value)
    assert err["code"] == "upstream_rejected_request"
    assert err["provider"] == "sim-reject"


def test_upstream_timeout_is_gateway_timeout(client: openai.OpenAI):
    with pytest.raises(openai.InternalServerError) as ei:
        client.chat.completions.create(model="sim-hang/hang", messages=MESSAGES)
    e = ei.value
    assert e.status_code == 504
    err = error_body(e)
    assert err["code"] == "upstream_timeout"
    assert err["provider"] == "sim-hang"


def test_stream_cut_off_raises_in_the_sdk(client: openai.OpenAI, gateway):
    """A stream that breaks after it started ends with an in-band error event, which the SDK raises;
    it must never look like a complete answer."""
    received: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APIError) as ei:
        for chunk in client.chat.completions.create(model="sim-reset/reset", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert not isinstance(ei.value, openai.APIStatusError)  # the status was 200; the error came in-band
    assert any(c.choices and c.choices[0].delta.content for c in received)
    assert not any(c.choices and c.choices[0].finish_reason for c in received)
    body = ei.value.body
    assert isinstance(body, dict)
    err = body.get("error", body)
    assert err["code"] == "upstream_unreachable"
    assert err["provider"] == "sim-reset"
    log = gateway.access_record(err["request_id"])
    assert log["truncated"] is True


def test_oversized_body_is_413(client: openai.OpenAI):
    with pytest.raises(openai.APIStatusError) as ei:
        client.chat.completions.create(
            model="sim/fast", messages=[{"role": "user", "content": "x" * (MAX_BODY_BYTES + 1024)}]
        )
    e = ei.value
    assert e.status_code == 413
    assert error_body(e)["code"] == "request_too_large"
    # The connection pool is still usable afterwards.
    assert client.chat.completions.create(model="sim/fast", messages=MESSAGES).choices[0].message.content


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


def test_admin_metrics_count_sdk_requests(client: openai.OpenAI, gateway):
    """The admin listener the fixture found serves Prometheus metrics that count this suite's calls."""
    assert _get(f"{gateway.admin_url}/healthz")[0] == 200

    def served() -> float:
        status, text = _get(f"{gateway.admin_url}/metrics")
        assert status == 200
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("switchyard_requests_total{")
            and 'model="sim/smart"' in line
            and 'status="200"' in line
        )

    before = served()
    resp = client.chat.completions.create(model="sim-smart", messages=MESSAGES)
    gateway.access_record(router_of(resp)["request_id"])  # metrics are recorded with the access line
    assert served() == before + 1

"""The official `openai` SDK, Chat Completions, answered by three kinds of provider: an OpenAI-compatible
server (same schema: pass-through), Anthropic and Gemini (translated through the canonical IR).

The providers are the suite's fake upstreams (fake_upstreams.py), which answer like the real APIs and
record what they received. Each test asserts both ends: what the SDK got (typed objects, usage with
`cost`, the `router` object, ids) and what the provider saw, in its own wire format (upstream_view.py).
"""

from __future__ import annotations

import base64
import json
import uuid

import anthropic
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from conftest import FAKE_MODELS, LIVE_KEY, expected_cost
from fake_upstreams import FakeUpstreams
from upstream_view import (
    MODELS,
    assistant_calls,
    check_request,
    declared_tools,
    failing_model,
    images,
    max_tokens,
    provider,
    roles,
    stop_sequences,
    system_text,
    temperature,
    texts,
    tool_results,
    upstream_model,
    usage,
    wire,
)

# A real 1x1 PNG.
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
PNG_SIZE = len(base64.b64decode(PNG_B64))

SYSTEM = "You are the SDK compatibility suite's assistant."

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


def marker() -> str:
    """A fresh word to find this test's request among everything the fake upstreams recorded."""
    return "mk" + uuid.uuid4().hex[:16]


def router_of(obj) -> dict:
    extra = obj.model_extra or {}
    assert "router" in extra, f"no `router` field in {obj!r}"
    return extra["router"]


def cost_of(u) -> float:
    extra = u.model_extra or {}
    assert "cost" in extra, f"no `usage.cost` in {u!r}"
    return float(extra["cost"])


def check_router(r: dict, model: str) -> None:
    assert r["model"] == model
    assert r["provider"] == provider(model)
    assert r["upstream_model"] == upstream_model(model)
    assert r["requested_model"] == model
    assert r["fallback"] is False
    assert [(a["model"], a["provider"], a["status"]) for a in r["attempts"]] == [(model, provider(model), 200)]


def check_usage(u, rec, model: str) -> None:
    """The SDK's usage is the provider's, with the exact cost of the model that answered."""
    up_in, up_out = usage(rec)
    assert (u.prompt_tokens, u.completion_tokens) == (up_in, up_out)
    assert u.total_tokens == up_in + up_out
    assert cost_of(u) == pytest.approx(expected_cost(model, up_in, up_out), rel=1e-9)


def error_of(e: openai.APIStatusError) -> dict:
    body = e.response.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert err["http_status"] == e.status_code
    assert err["request_id"] == e.response.headers["x-request-id"]
    return err


# ---------------------------------------------------------------------------------------------
# Non-streaming


@pytest.mark.parametrize("model", MODELS)
def test_chat_completion(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    raw = live_client.chat.completions.with_raw_response.create(
        model=model,
        messages=[
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Hi there."},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": f"Say hello to {mk}."},
        ],
    )
    resp = raw.parse()
    rec = upstream.one(mk)

    # What the provider saw, in its own format.
    check_request(rec, model, stream=False)
    assert system_text(rec) == SYSTEM
    assert texts(rec) == ["Hi there.", "Hello! How can I help?", f"Say hello to {mk}."]
    assert roles(rec) == {
        "openai": ["system", "user", "assistant", "user"],
        "anthropic": ["user", "assistant", "user"],  # system is top-level
        "gemini": ["user", "model", "user"],  # system is systemInstruction
    }[wire(model)]
    if wire(model) == "anthropic":
        # Anthropic requires max_tokens: the catalog's max_output stands in for the client's none.
        assert rec.body["max_tokens"] == FAKE_MODELS[model]["max_output"]
        assert rec.body["system"] == [{"type": "text", "text": SYSTEM}]
    if wire(model) == "gemini":
        assert rec.body["systemInstruction"] == {"parts": [{"text": SYSTEM}]}

    # What the SDK got.
    assert isinstance(resp, ChatCompletion)
    assert resp.object == "chat.completion"
    assert resp.id.startswith("chatcmpl-")
    assert resp.model == model
    assert len(resp.choices) == 1
    choice = resp.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == rec.response["text"]
    assert choice.message.tool_calls is None
    assert "I read 3 turns" in choice.message.content  # the provider saw the whole conversation
    check_usage(resp.usage, rec, model)
    r = router_of(resp)
    check_router(r, model)
    assert r["cost"]["actual_dollars"] == pytest.approx(cost_of(resp.usage), rel=1e-9)
    assert raw.headers["x-routed-model"] == model
    assert raw.headers["x-jt-model"] == model
    assert raw.headers["x-request-id"] == r["request_id"]


@pytest.mark.parametrize("limit", ["max_tokens", "max_completion_tokens"])
@pytest.mark.parametrize("model", MODELS)
def test_chat_sampling_params_and_length(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str, limit: str):
    mk = marker()
    resp = live_client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": f"Talk at length, {mk}."}],
        temperature=0.5,
        stop=["END"],
        **{limit: 5},
    )
    rec = upstream.one(mk)
    check_request(rec, model, stream=False)
    assert max_tokens(rec) == 5
    assert temperature(rec) == 0.5
    assert stop_sequences(rec) == ["END"]
    # The provider stopped at the output limit, which every schema reports as `length`.
    assert rec.response["finish"] in ("length", "max_tokens", "MAX_TOKENS")
    assert resp.choices[0].finish_reason == "length"
    assert resp.choices[0].message.content == rec.response["text"]
    assert len(resp.choices[0].message.content.split()) == 5
    check_usage(resp.usage, rec, model)


@pytest.mark.parametrize("model", MODELS)
def test_chat_stop_sequence(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    resp = live_client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": f"Hello {mk}"}], stop="END"
    )
    rec = upstream.one(mk)
    assert stop_sequences(rec) == ["END"]
    text = resp.choices[0].message.content
    assert text == rec.response["text"]
    assert text.endswith("runs on past ") and "END" not in text
    assert resp.choices[0].finish_reason == "stop"


# ---------------------------------------------------------------------------------------------
# Streaming


@pytest.mark.parametrize("include_usage", [False, True], ids=["plain", "include_usage"])
@pytest.mark.parametrize("model", MODELS)
def test_chat_streaming(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str, include_usage: bool):
    mk = marker()
    kwargs = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks: list[ChatCompletionChunk] = []
    with live_client.chat.completions.with_streaming_response.create(
        model=model,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Stream to {mk}."}],
        stream=True,
        **kwargs,
    ) as raw:
        assert raw.headers["content-type"].startswith("text/event-stream")
        assert raw.headers["x-routed-model"] == model
        for chunk in raw.parse():
            assert isinstance(chunk, ChatCompletionChunk)
            chunks.append(chunk)
    rec = upstream.one(mk)
    check_request(rec, model, stream=True)
    assert system_text(rec) == SYSTEM

    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert all(c.model == model for c in chunks)
    assert len({c.id for c in chunks}) == 1
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) > 3, f"expected the text in several chunks, got {content!r}"
    assert "".join(content) == rec.response["text"]

    last = chunks[-1]
    if include_usage:
        assert last.choices == []
        assert chunks[-2].choices[0].finish_reason == "stop"
    else:
        assert last.choices and last.choices[0].finish_reason == "stop"
    assert last.usage is not None, f"the last chunk has no usage: {last!r}"
    check_usage(last.usage, rec, model)
    r = router_of(last)
    check_router(r, model)
    assert r["cost"]["actual_dollars"] == pytest.approx(cost_of(last.usage), rel=1e-9)
    # usage and router come once, at the end
    assert all(c.usage is None and "router" not in (c.model_extra or {}) for c in chunks[:-1])


# ---------------------------------------------------------------------------------------------
# Tool calls


def _check_declared(rec, model: str) -> None:
    tools = declared_tools(rec)
    assert list(tools) == ["get_weather"]
    assert tools["get_weather"]["properties"] == {"city": {"type": "string", "description": "City name"}}
    assert tools["get_weather"]["required"] == ["city"]
    if wire(model) == "anthropic":
        assert rec.body["tools"][0]["description"] == "Current weather for a city."
    if wire(model) == "gemini":
        assert rec.body["tools"][0]["functionDeclarations"][0]["description"] == "Current weather for a city."


def _check_call_id(call_id: str, rec, model: str) -> None:
    """The call id the SDK got is the provider's own (Gemini 2.5 gives none: the gateway makes one)."""
    assert call_id
    up = rec.response["tool_calls"][0]["id"]
    if up is not None:
        assert call_id == up
    else:
        assert wire(model) == "gemini"


def check_tool_turns(rec, model: str, call_id: str, result_marker: str) -> None:
    """The provider saw the earlier call and its result, tied together by the id the client was given
    (Gemini, which matches results to calls by function name, may go without ids)."""
    calls = assistant_calls(rec)
    assert [(c["name"], c["args"]) for c in calls] == [("get_weather", {"city": "Paris"})]
    results = tool_results(rec)
    assert len(results) == 1
    assert result_marker in results[0]["text"] and "18C" in results[0]["text"]
    if wire(model) == "gemini":
        assert results[0]["name"] == "get_weather"
        assert calls[0]["id"] in (call_id, None)
        assert results[0]["id"] == calls[0]["id"]
        # Gemini 3 refuses a function call turn whose first call has no thought signature.
        assert calls[0]["signature"]
    else:
        assert calls[0]["id"] == call_id
        assert results[0]["id"] == call_id


@pytest.mark.parametrize("model", MODELS)
def test_chat_tool_call_round_trip(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk, mk2 = marker(), marker()
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"What is the weather in Paris? ({mk})"},
    ]
    resp = live_client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    rec1 = upstream.one(mk)
    check_request(rec1, model, stream=False)
    _check_declared(rec1, model)

    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    call = calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    _check_call_id(call.id, rec1, model)
    check_usage(resp.usage, rec1, model)

    # The agent loop: the assistant turn as the SDK returned it, then the tool's result for that id.
    follow = live_client.chat.completions.create(
        model=model,
        messages=[
            *messages,
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temp": "18C", "ref": mk2})},
        ],
        tools=[WEATHER_TOOL],
    )
    rec2 = upstream.one(mk2)
    check_request(rec2, model, stream=False)
    # The provider saw the call and its result under the id the SDK was given.
    check_tool_turns(rec2, model, call.id, mk2)
    assert follow.choices[0].finish_reason == "stop"
    assert follow.choices[0].message.content == rec2.response["text"]
    assert "18C" in follow.choices[0].message.content  # the model read the tool's result


@pytest.mark.parametrize("model", MODELS)
def test_chat_tool_call_streaming(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    name, args, call_id, finish, last = "", "", None, None, None
    for chunk in live_client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": f"Weather in Paris please ({mk})"}],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        stream=True,
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
    rec = upstream.one(mk)
    check_request(rec, model, stream=True)
    _check_declared(rec, model)
    # The named tool_choice, in the provider's form.
    if wire(model) == "openai":
        assert rec.body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    elif wire(model) == "anthropic":
        assert rec.body["tool_choice"] == {"type": "tool", "name": "get_weather"}
    else:
        assert rec.body["toolConfig"] == {
            "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
        }
    assert name == "get_weather"
    assert json.loads(args) == {"city": "Paris"}
    _check_call_id(call_id, rec, model)
    assert finish == "tool_calls"
    assert last is not None and last.usage is not None
    check_usage(last.usage, rec, model)
    check_router(router_of(last), model)


# ---------------------------------------------------------------------------------------------
# Images


@pytest.mark.parametrize("model", MODELS)
def test_chat_image_data_url(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    resp = live_client.chat.completions.create(
        model=model,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"What is in this picture? ({mk})"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                ],
            }
        ],
    )
    rec = upstream.one(mk)
    check_request(rec, model, stream=False)
    # The image reached the provider whole, in its own form (data URL, base64 block, inlineData).
    assert images(rec) == [("image/png", PNG_B64)]
    assert texts(rec) == [f"What is in this picture? ({mk})"]
    assert resp.choices[0].message.content == f"I see a image/png image of {PNG_SIZE} bytes."
    check_usage(resp.usage, rec, model)


@pytest.mark.parametrize("model", MODELS)
def test_chat_image_https_url(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    """An image by https URL reaches each provider in the form that makes it fetch the image."""
    mk = marker()
    url = "https://upload.wikimedia.org/wikipedia/commons/a/a8/Tour_Eiffel.jpg"
    resp = live_client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": [
            {"type": "text", "text": f"Where is this? ({mk})"},
            {"type": "image_url", "image_url": {"url": url}},
        ]}],
    )
    rec = upstream.one(mk)
    content = {
        "openai": lambda: rec.body["messages"][0]["content"],
        "anthropic": lambda: rec.body["messages"][0]["content"],
        "gemini": lambda: rec.body["contents"][0]["parts"],
    }[wire(model)]()
    if wire(model) == "openai":
        assert content[1] == {"type": "image_url", "image_url": {"url": url}}
    elif wire(model) == "anthropic":
        assert content[1] == {"type": "image", "source": {"type": "url", "url": url}}
    else:
        assert content[1] == {"fileData": {"mimeType": "image/jpeg", "fileUri": url}}
    assert resp.choices[0].message.content == rec.response["text"]


# ---------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_chat_upstream_rate_limit(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str, stream: bool):
    model, mk = failing_model(model), marker()
    with pytest.raises(openai.RateLimitError) as ei:
        live_client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": f"FAIL429 {mk}"}], stream=stream
        )
    e = ei.value
    assert e.status_code == 429
    err = error_of(e)
    assert err["code"] == "upstream_rate_limited"
    assert err["provider"] == provider(model)
    # The provider's own message is kept.
    assert {"openai": "Rate limit reached", "anthropic": "rate limit", "gemini": "exceeded your current quota"}[
        wire(model)
    ] in err["message"]
    if wire(model) in ("openai", "anthropic"):
        assert e.response.headers.get("retry-after") == "7"  # the provider's Retry-After is passed on
    # Exactly one upstream call: no retry, no fallback.
    rec = upstream.one(mk)
    check_request(rec, model, stream=stream)
    assert rec.response["status"] == 429


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_chat_upstream_server_error(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str, stream: bool):
    model, mk = failing_model(model), marker()
    with pytest.raises(openai.InternalServerError) as ei:
        live_client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": f"FAIL500 {mk}"}], stream=stream
        )
    e = ei.value
    assert e.status_code == 502
    err = error_of(e)
    assert err["code"] == "upstream_error"
    assert err["type"] == "upstream_error"
    assert err["provider"] == provider(model)
    assert "500" in err["message"]
    assert upstream.one(mk).response["status"] == 500


@pytest.mark.parametrize("model", MODELS)
def test_chat_stream_error_mid_stream(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    """A provider error after the stream began (each provider's in-band error event) ends the client's
    stream with an error event that the SDK raises; it never looks like a complete answer."""
    model, mk = failing_model(model), marker()
    received: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APIError) as ei:
        for chunk in live_client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": f"FAILSTREAM {mk}"}], stream=True
        ):
            received.append(chunk)
    assert not isinstance(ei.value, openai.APIStatusError)  # the status was 200; the error came in-band
    rec = upstream.one(mk)
    assert rec.response.get("failed_mid_stream") is True
    text = "".join(c.choices[0].delta.content or "" for c in received if c.choices)
    assert text and rec.response["text"].startswith(text)  # what came before the error got through
    assert not any(c.choices and c.choices[0].finish_reason for c in received)
    body = ei.value.body
    assert isinstance(body, dict)
    err = body.get("error", body)
    assert err["code"] == "upstream_stream_error"
    assert err["provider"] == provider(model)


def test_live_key_is_needed_for_the_fake_providers(client: openai.OpenAI, live_client: openai.OpenAI, upstream):
    """Test keys reach simulated models only; the live key reaches the fake providers but not the
    simulator's models (outside its scopes)."""
    mk = marker()
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="oa/gpt", messages=[{"role": "user", "content": mk}])
    with pytest.raises(openai.PermissionDeniedError):
        live_client.chat.completions.create(model="sim/fast", messages=[{"role": "user", "content": mk}])
    assert upstream.find(mk) == []
    assert LIVE_KEY.startswith("sy_live_")


def test_gemini_retry_delay_is_retry_after(
    live_client: openai.OpenAI, anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams
):
    """Gemini sends no Retry-After header on a 429: how long to wait is in the body, a
    `google.rpc.RetryInfo` detail (`"retryDelay": "21s"`). The gateway's response headers leave before
    a proxied body is read, so the first 429 carries the delay in its error body
    (`error.retry_after_seconds`); the delay also cools the model down, so the next request, in any
    SDK, gets a 429 with a real Retry-After header without the provider being asked again."""
    model, mk = failing_model("ge/gemini"), marker()
    with pytest.raises(openai.RateLimitError) as ei:
        live_client.chat.completions.create(model=model, messages=[{"role": "user", "content": f"FAIL429 {mk}"}])
    rec = upstream.one(mk)
    assert rec.response["status"] == 429  # the fake Gemini, like Gemini, sent no Retry-After header
    assert ei.value.response.json()["error"]["retry_after_seconds"] == 21

    mk2 = marker()
    with pytest.raises(anthropic.RateLimitError) as ei:
        anthropic_client.messages.create(model=model, max_tokens=10, messages=[{"role": "user", "content": f"hello {mk2}"}])
    assert upstream.find(mk2) == [], "a cooled-down model is not asked again"
    assert 15 <= int(ei.value.response.headers.get("retry-after")) <= 21
    assert ei.value.response.json()["error"]["code"] == "upstream_rate_limited"

"""The official `anthropic` SDK (`anthropic.Anthropic(base_url=gateway, api_key=KEY)`) against
Switchyard's `/v1/messages`, answered by an Anthropic provider (lossless pass-through) and, through the
canonical IR, by an OpenAI-compatible server and by Gemini.

Both ends are asserted: the SDK's typed `Message`s, stream events and exceptions, and what the fake
provider received in its own wire format (upstream_view.py).
"""

from __future__ import annotations

import json

import anthropic
import pytest
from anthropic.types import Message

from conftest import UNKNOWN_LIVE_KEY, expected_cost
from fake_upstreams import FakeUpstreams
from test_sdk_chat_providers import PNG_B64, PNG_SIZE, SYSTEM, check_router, check_tool_turns, marker
from upstream_view import (
    MODELS,
    check_request,
    declared_tools,
    failing_model,
    images,
    max_tokens,
    provider,
    roles,
    stop_sequences,
    system_text,
    texts,
    usage,
    wire,
)

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
}


def extra(obj, name: str):
    e = obj.model_extra or {}
    assert name in e, f"no `{name}` in {obj!r}"
    return e[name]


def check_usage(u, rec, model: str, *, with_cost: bool = True) -> None:
    up_in, up_out = usage(rec)
    assert (u.input_tokens, u.output_tokens) == (up_in, up_out)
    assert (u.cache_read_input_tokens or 0) == 0 and (u.cache_creation_input_tokens or 0) == 0
    if with_cost:
        assert extra(u, "cost") == pytest.approx(expected_cost(model, up_in, up_out), rel=1e-9)


def check_message(msg: Message, rec, model: str) -> None:
    assert isinstance(msg, Message)
    assert msg.type == "message"
    assert msg.role == "assistant"
    assert msg.id.startswith("msg_")
    assert msg.model == model
    check_usage(msg.usage, rec, model)
    r = extra(msg, "router")
    check_router(r, model)
    assert r["cost"]["actual_dollars"] == pytest.approx(extra(msg.usage, "cost"), rel=1e-9)


def error_of(e: anthropic.APIStatusError) -> dict:
    """Anthropic's error shape, `{"type": "error", "error": {...}}`, carrying the public error object."""
    body = e.response.json()
    assert body["type"] == "error"
    err = body["error"]
    assert err["http_status"] == e.status_code
    assert isinstance(err["message"], str) and err["message"]
    assert err["request_id"] == body["request_id"] == e.response.headers["x-request-id"]
    return err


# ---------------------------------------------------------------------------------------------
# messages.create


@pytest.mark.parametrize("model", MODELS)
def test_messages_create(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    mk = marker()
    raw = anthropic_client.messages.with_raw_response.create(
        model=model,
        max_tokens=400,
        system=SYSTEM,
        messages=[
            {"role": "user", "content": "Hi there."},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello! How can I help?"}]},
            {"role": "user", "content": f"Say hello to {mk}."},
        ],
        extra_body={"temperature": 0.5},  # this SDK version has no `temperature` argument
    )
    msg = raw.parse()
    rec = upstream.one(mk)

    check_request(rec, model, stream=False)
    assert system_text(rec) == SYSTEM
    assert texts(rec) == ["Hi there.", "Hello! How can I help?", f"Say hello to {mk}."]
    assert roles(rec) == {
        "openai": ["system", "user", "assistant", "user"],
        "anthropic": ["user", "assistant", "user"],
        "gemini": ["user", "model", "user"],
    }[wire(model)]
    assert max_tokens(rec) == 400
    if wire(model) == "anthropic":
        # Same schema: the request goes through as the client wrote it.
        assert rec.body["system"] == SYSTEM
        assert rec.body["temperature"] == 0.5
        assert rec.body["messages"][1]["content"] == [{"type": "text", "text": "Hello! How can I help?"}]

    check_message(msg, rec, model)
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == rec.response["text"]
    assert "I read 3 turns" in msg.content[0].text
    assert msg.stop_reason == "end_turn"
    assert msg.stop_sequence is None
    assert raw.headers["x-routed-model"] == model
    if wire(model) == "anthropic":
        assert msg.id == rec.response["id"]  # the provider's message id, unchanged


@pytest.mark.parametrize("model", MODELS)
def test_messages_stop_sequences(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    mk = marker()
    msg = anthropic_client.messages.create(
        model=model, max_tokens=400, stop_sequences=["END"], messages=[{"role": "user", "content": f"Hello {mk}"}]
    )
    rec = upstream.one(mk)
    assert stop_sequences(rec) == ["END"]
    assert msg.content[0].text == rec.response["text"]
    assert "END" not in msg.content[0].text
    if wire(model) == "anthropic":
        assert (msg.stop_reason, msg.stop_sequence) == ("stop_sequence", "END")
    else:
        # OpenAI and Gemini report a stop sequence as a plain stop: which one matched is not known.
        assert msg.stop_reason in ("end_turn", "stop_sequence")


@pytest.mark.parametrize("model", MODELS)
def test_messages_max_tokens_reached(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    mk = marker()
    msg = anthropic_client.messages.create(model=model, max_tokens=4, messages=[{"role": "user", "content": f"Talk {mk}"}])
    rec = upstream.one(mk)
    assert max_tokens(rec) == 4
    assert msg.stop_reason == "max_tokens"
    assert msg.content[0].text == rec.response["text"]
    assert len(msg.content[0].text.split()) == 4


# ---------------------------------------------------------------------------------------------
# Streaming


@pytest.mark.parametrize("model", MODELS)
def test_messages_stream_helper(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    mk = marker()
    pieces: list[str] = []
    with anthropic_client.messages.stream(
        model=model, max_tokens=400, system=SYSTEM, messages=[{"role": "user", "content": f"Stream to {mk}."}]
    ) as stream:
        for text in stream.text_stream:
            pieces.append(text)
        final = stream.get_final_message()
    rec = upstream.one(mk)
    check_request(rec, model, stream=True)
    assert system_text(rec) == SYSTEM

    assert len(pieces) > 3, f"expected the text in several deltas, got {pieces!r}"
    assert "".join(pieces) == rec.response["text"]
    assert isinstance(final, Message)
    assert final.model == model
    assert [b.type for b in final.content] == ["text"]
    assert final.content[0].text == "".join(pieces)
    assert final.stop_reason == "end_turn"
    # The helper accumulates the standard usage fields (the cost rides on message_delta's usage).
    check_usage(final.usage, rec, model, with_cost=False)


@pytest.mark.parametrize("model", MODELS)
def test_messages_stream_events(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    """The raw event sequence: message_start … message_delta (stop reason, final usage with cost) and
    message_stop with the `router` object."""
    mk = marker()
    stream = anthropic_client.messages.create(
        model=model, max_tokens=400, messages=[{"role": "user", "content": f"Stream to {mk}."}], stream=True
    )
    events = list(stream)
    rec = upstream.one(mk)
    check_request(rec, model, stream=True)
    types = [e.type for e in events]
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    assert types.count("content_block_start") == types.count("content_block_stop") == 1
    start = events[0].message
    assert start.model == model and start.id.startswith("msg_") and start.content == []
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert text == rec.response["text"]
    delta = events[-2]
    assert delta.delta.stop_reason == "end_turn"
    up_in, up_out = usage(rec)
    assert delta.usage.output_tokens == up_out
    assert (delta.usage.input_tokens or start.usage.input_tokens) == up_in
    assert extra(delta.usage, "cost") == pytest.approx(expected_cost(model, up_in, up_out), rel=1e-9)
    r = extra(events[-1], "router")
    check_router(r, model)
    assert r["cost"]["actual_dollars"] == pytest.approx(extra(delta.usage, "cost"), rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Tool use


def _check_tool_use(msg: Message, rec, model: str):
    assert msg.stop_reason == "tool_use"
    uses = [b for b in msg.content if b.type == "tool_use"]
    assert len(uses) == 1, msg.content
    use = uses[0]
    assert use.name == "get_weather"
    assert use.input == {"city": "Paris"}
    assert use.id
    up_id = rec.response["tool_calls"][0]["id"]
    if up_id is not None:
        assert use.id == up_id  # the provider's own id
    else:
        assert wire(model) == "gemini"
    return use


@pytest.mark.parametrize("model", MODELS)
def test_messages_tool_use_round_trip(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    mk, mk2 = marker(), marker()
    first = [{"role": "user", "content": f"What is the weather in Paris? ({mk})"}]
    msg = anthropic_client.messages.create(model=model, max_tokens=400, system=SYSTEM, messages=first, tools=[WEATHER_TOOL])
    rec1 = upstream.one(mk)
    check_request(rec1, model, stream=False)
    tools = declared_tools(rec1)
    assert list(tools) == ["get_weather"]
    assert tools["get_weather"] == WEATHER_TOOL["input_schema"]
    use = _check_tool_use(msg, rec1, model)
    check_message(msg, rec1, model)

    follow = anthropic_client.messages.create(
        model=model,
        max_tokens=400,
        system=SYSTEM,
        messages=[
            *first,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": use.id, "content": json.dumps({"temp": "18C", "ref": mk2})}
                ],
            },
        ],
        tools=[WEATHER_TOOL],
    )
    rec2 = upstream.one(mk2)
    check_request(rec2, model, stream=False)
    check_tool_turns(rec2, model, use.id, mk2)
    check_message(follow, rec2, model)
    assert follow.stop_reason == "end_turn"
    assert follow.content[0].text == rec2.response["text"]
    assert "18C" in follow.content[0].text


@pytest.mark.parametrize("model", MODELS)
def test_messages_tool_use_streaming(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    mk = marker()
    json_pieces: list[str] = []
    with anthropic_client.messages.stream(
        model=model,
        max_tokens=400,
        messages=[{"role": "user", "content": f"Weather in Paris please ({mk})"}],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
    ) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                json_pieces.append(event.delta.partial_json)
        final = stream.get_final_message()
    rec = upstream.one(mk)
    check_request(rec, model, stream=True)
    if wire(model) == "anthropic":
        assert rec.body["tool_choice"] == {"type": "tool", "name": "get_weather"}
    elif wire(model) == "openai":
        assert rec.body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    else:
        assert rec.body["toolConfig"]["functionCallingConfig"] == {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    assert json.loads("".join(json_pieces)) == {"city": "Paris"}
    _check_tool_use(final, rec, model)
    check_usage(final.usage, rec, model, with_cost=False)


# ---------------------------------------------------------------------------------------------
# Images


@pytest.mark.parametrize("model", MODELS)
def test_messages_image_block(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    mk = marker()
    msg = anthropic_client.messages.create(
        model=model,
        max_tokens=400,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
                    {"type": "text", "text": f"What is in this picture? ({mk})"},
                ],
            }
        ],
    )
    rec = upstream.one(mk)
    check_request(rec, model, stream=False)
    assert images(rec) == [("image/png", PNG_B64)]
    assert texts(rec) == [f"What is in this picture? ({mk})"]
    assert msg.content[0].text == f"I see a image/png image of {PNG_SIZE} bytes."
    check_message(msg, rec, model)


# ---------------------------------------------------------------------------------------------
# Errors as the SDK's typed exceptions


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_messages_upstream_rate_limit(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str, stream: bool):
    model, mk = failing_model(model), marker()
    with pytest.raises(anthropic.RateLimitError) as ei:
        anthropic_client.messages.create(
            model=model, max_tokens=100, messages=[{"role": "user", "content": f"FAIL429 {mk}"}], stream=stream
        )
    e = ei.value
    assert e.status_code == 429
    err = error_of(e)
    assert err["type"] == "rate_limit_error"
    assert err["code"] == "upstream_rate_limited"
    assert err["provider"] == provider(model)
    if wire(model) in ("openai", "anthropic"):
        assert e.response.headers.get("retry-after") == "7"
    assert upstream.one(mk).response["status"] == 429


@pytest.mark.parametrize("model", MODELS)
def test_messages_upstream_server_error(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    model, mk = failing_model(model), marker()
    with pytest.raises(anthropic.InternalServerError) as ei:
        anthropic_client.messages.create(model=model, max_tokens=100, messages=[{"role": "user", "content": f"FAIL500 {mk}"}])
    e = ei.value
    assert e.status_code == 502
    err = error_of(e)
    assert err["code"] == "upstream_error"
    assert err["provider"] == provider(model)
    assert upstream.one(mk).response["status"] == 500


@pytest.mark.parametrize("model", MODELS)
def test_messages_stream_error_mid_stream(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    model, mk = failing_model(model), marker()
    pieces: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as ei:
        with anthropic_client.messages.stream(
            model=model, max_tokens=100, messages=[{"role": "user", "content": f"FAILSTREAM {mk}"}]
        ) as stream:
            for text in stream.text_stream:
                pieces.append(text)
    rec = upstream.one(mk)
    assert rec.response.get("failed_mid_stream") is True
    assert pieces and rec.response["text"].startswith("".join(pieces))
    body = ei.value.body
    assert isinstance(body, dict) and body["type"] == "error", body
    assert body["error"]["code"] == "upstream_stream_error"
    assert body["error"]["provider"] == provider(model)


def test_unknown_model_is_not_found(anthropic_client: anthropic.Anthropic):
    with pytest.raises(anthropic.NotFoundError) as ei:
        anthropic_client.messages.create(model="nope/missing", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    err = error_of(ei.value)
    assert ei.value.status_code == 404
    assert err["type"] == "not_found_error"
    assert err["code"] == "model_not_found"
    assert err["param"] == "model"


@pytest.mark.parametrize("key", [UNKNOWN_LIVE_KEY, "sk-ant-not-a-switchyard-key"])
def test_bad_key_is_authentication_error(gateway, upstream: FakeUpstreams, key: str):
    mk = marker()
    with anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0) as bad:
        with pytest.raises(anthropic.AuthenticationError) as ei:
            bad.messages.create(model="an/claude", max_tokens=10, messages=[{"role": "user", "content": mk}])
    assert ei.value.status_code == 401
    assert error_of(ei.value)["code"] == "invalid_api_key"
    assert upstream.find(mk) == []


@pytest.mark.parametrize("model", MODELS)
def test_missing_max_tokens_is_bad_request(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    mk = marker()
    with pytest.raises(anthropic.BadRequestError) as ei:
        anthropic_client.messages.create(model=model, max_tokens=anthropic.omit, messages=[{"role": "user", "content": mk}])
    e = ei.value
    assert e.status_code == 400
    err = error_of(e)
    assert err["type"] == "invalid_request_error"
    assert err["param"] == "max_tokens"
    assert upstream.find(mk) == []  # refused before any provider was asked


def test_anthropic_version_and_beta_headers_reach_anthropic_only(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams):
    """The SDK's `anthropic-version` is accepted; an `anthropic-beta` header is forwarded to an
    Anthropic provider (same schema) and not to others."""
    seen = {}
    for model in MODELS:
        mk = marker()
        anthropic_client.messages.create(
            model=model, max_tokens=50, messages=[{"role": "user", "content": mk}],
            extra_headers={"anthropic-beta": "token-efficient-tools-2025-02-19"},
        )
        seen[wire(model)] = upstream.one(mk)
    assert seen["anthropic"].header("anthropic-beta") == "token-efficient-tools-2025-02-19"
    assert seen["anthropic"].header("anthropic-version") == "2023-06-01"
    assert seen["openai"].header("anthropic-beta") is None
    assert seen["gemini"].header("anthropic-beta") is None

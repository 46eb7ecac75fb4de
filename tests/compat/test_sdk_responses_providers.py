"""The official `openai` SDK, Responses API (`client.responses`), answered by an OpenAI-compatible
server, Anthropic and Gemini: every answer is translated from the provider's schema through the
canonical IR into Responses objects and streaming events that the SDK's own accumulator consumes.

Both ends are asserted: the SDK's `Response` (output items, usage with `cost`, `router` in
`model_extra`, call ids) and what the fake provider received, in its wire format (upstream_view.py).
"""

from __future__ import annotations

import json

import openai
import pytest
from openai.types.responses import Response

from conftest import expected_cost
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
    system_text,
    texts,
    usage,
    wire,
)

WEATHER_FN = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


def router_of(obj) -> dict:
    extra = obj.model_extra or {}
    assert "router" in extra, f"no `router` field in {obj!r}"
    return extra["router"]


def check_usage(resp: Response, rec, model: str) -> None:
    up_in, up_out = usage(rec)
    u = resp.usage
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (up_in, up_out, up_in + up_out)
    cost = (u.model_extra or {}).get("cost")
    assert cost == pytest.approx(expected_cost(model, up_in, up_out), rel=1e-9), f"usage.cost {cost!r}"
    r = router_of(resp)
    check_router(r, model)
    assert r["cost"]["actual_dollars"] == pytest.approx(cost, rel=1e-9)


def check_text_response(resp: Response, rec, model: str) -> None:
    assert isinstance(resp, Response)
    assert resp.object == "response"
    assert resp.id.startswith("resp_")
    assert resp.status == "completed"
    assert resp.error is None
    assert resp.model == model
    assert [o.type for o in resp.output] == ["message"]
    msg = resp.output[0]
    assert msg.role == "assistant" and msg.status == "completed"
    assert [c.type for c in msg.content] == ["output_text"]
    assert resp.output_text == rec.response["text"]
    check_usage(resp, rec, model)


# ---------------------------------------------------------------------------------------------
# responses.create


@pytest.mark.parametrize("model", MODELS)
def test_responses_create_string_input(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    resp = live_client.responses.create(
        model=model, instructions=SYSTEM, input=f"Say hello to {mk}.", max_output_tokens=300
    )
    rec = upstream.one(mk)
    check_request(rec, model, stream=False)
    # `instructions` is the provider's system prompt; the string input its one user turn.
    assert system_text(rec) == SYSTEM
    assert texts(rec) == [f"Say hello to {mk}."]
    assert roles(rec) == {"openai": ["system", "user"], "anthropic": ["user"], "gemini": ["user"]}[wire(model)]
    assert max_tokens(rec) == 300
    check_text_response(resp, rec, model)


@pytest.mark.parametrize("model", MODELS)
def test_responses_create_echoes_the_request(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    """A `response` object echoes the request's settings (OpenAI's API does, and the SDK's type has the
    fields): instructions, tools, tool_choice, max_output_tokens, temperature."""
    mk = marker()
    resp = live_client.responses.create(
        model=model,
        instructions=SYSTEM,
        input=f"Just text please, {mk}.",
        tools=[WEATHER_FN],
        tool_choice="none",
        max_output_tokens=200,
        temperature=0.25,
    )
    rec = upstream.one(mk)
    assert resp.output_text == rec.response["text"]
    assert resp.instructions == SYSTEM
    assert [t.name for t in resp.tools] == ["get_weather"]
    assert resp.tool_choice == "none"
    assert resp.max_output_tokens == 200
    assert resp.temperature == 0.25


@pytest.mark.parametrize("model", MODELS)
def test_responses_create_input_items(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    resp = live_client.responses.create(
        model=model,
        input=[
            {"role": "developer", "content": SYSTEM},
            {"role": "user", "content": "Hi there."},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello! How can I help?"}]},
            {"role": "user", "content": [{"type": "input_text", "text": f"Tell {mk} about it."}]},
        ],
    )
    rec = upstream.one(mk)
    check_request(rec, model, stream=False)
    assert system_text(rec) == SYSTEM
    assert texts(rec) == ["Hi there.", "Hello! How can I help?", f"Tell {mk} about it."]
    assert roles(rec) == {
        "openai": ["developer", "user", "assistant", "user"],
        "anthropic": ["user", "assistant", "user"],
        "gemini": ["user", "model", "user"],
    }[wire(model)]
    check_text_response(resp, rec, model)
    assert "I read 3 turns" in resp.output_text


@pytest.mark.parametrize("model", MODELS)
def test_responses_image_input(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    resp = live_client.responses.create(
        model=model,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": f"Describe this ({mk})"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{PNG_B64}", "detail": "auto"},
                ],
            }
        ],
    )
    rec = upstream.one(mk)
    check_request(rec, model, stream=False)
    assert images(rec) == [("image/png", PNG_B64)]
    assert resp.output_text == f"I see a image/png image of {PNG_SIZE} bytes."


# ---------------------------------------------------------------------------------------------
# Streaming


@pytest.mark.parametrize("model", MODELS)
def test_responses_stream_helper(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    deltas: list[str] = []
    types: list[str] = []
    with live_client.responses.stream(model=model, instructions=SYSTEM, input=f"Stream to {mk}.") as stream:
        for event in stream:
            types.append(event.type)
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    rec = upstream.one(mk)
    check_request(rec, model, stream=True)
    assert system_text(rec) == SYSTEM

    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert len(deltas) > 3, f"expected the text in several deltas, got {deltas!r}"
    assert "".join(deltas) == rec.response["text"]
    for t in ("response.output_item.added", "response.content_part.added", "response.output_text.done",
              "response.content_part.done", "response.output_item.done"):
        assert types.count(t) == 1, (t, types)
    check_text_response(final, rec, model)
    assert final.instructions == SYSTEM


@pytest.mark.parametrize("model", MODELS)
def test_responses_create_stream_true(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    events = list(live_client.responses.create(model=model, input=f"Stream to {mk}.", stream=True))
    rec = upstream.one(mk)
    check_request(rec, model, stream=True)
    seqs = [e.sequence_number for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == rec.response["text"]
    done = events[-1]
    assert done.type == "response.completed"
    assert done.response.output_text == text
    check_usage(done.response, rec, model)
    # Only the final event carries usage and the router object.
    assert all(
        "router" not in (getattr(e, "response", None).model_extra or {})
        for e in events[:-1]
        if getattr(e, "response", None) is not None
    )


# ---------------------------------------------------------------------------------------------
# Function tools


def _function_call(resp: Response):
    calls = [o for o in resp.output if o.type == "function_call"]
    assert len(calls) == 1, resp.output
    return calls[0]


def _check_call(call, rec, model: str) -> None:
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    assert call.call_id
    up_id = rec.response["tool_calls"][0]["id"]
    if up_id is not None:
        assert call.call_id == up_id  # the provider's own id, unchanged
    else:
        assert wire(model) == "gemini"


@pytest.mark.parametrize("model", MODELS)
def test_responses_function_call_round_trip(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk, mk2 = marker(), marker()
    first_input = [{"role": "user", "content": f"What is the weather in Paris? ({mk})"}]
    resp = live_client.responses.create(model=model, instructions=SYSTEM, input=first_input, tools=[WEATHER_FN])
    rec1 = upstream.one(mk)
    check_request(rec1, model, stream=False)
    tools = declared_tools(rec1)
    assert list(tools) == ["get_weather"] and tools["get_weather"]["required"] == ["city"]

    assert resp.status == "completed"
    call = _function_call(resp)
    _check_call(call, rec1, model)
    check_usage(resp, rec1, model)
    if wire(model) == "gemini":
        # Gemini's thought signature comes back as a reasoning item, to be sent back with the call.
        reasoning = [o for o in resp.output if o.type == "reasoning"]
        assert len(reasoning) == 1 and reasoning[0].encrypted_content
        assert rec1.response["thought_signature"] in reasoning[0].encrypted_content

    # Next turn, as agents send it (store: false): the whole conversation, the model's output items
    # as they came, and the function's output for the call_id.
    follow = live_client.responses.create(
        model=model,
        instructions=SYSTEM,
        input=[
            *first_input,
            *[o.model_dump(exclude_none=True) for o in resp.output],
            {"type": "function_call_output", "call_id": call.call_id, "output": json.dumps({"temp": "18C", "ref": mk2})},
        ],
        tools=[WEATHER_FN],
        store=False,
    )
    rec2 = upstream.one(mk2)
    check_request(rec2, model, stream=False)
    check_tool_turns(rec2, model, call.call_id, mk2)
    if wire(model) == "gemini":
        from upstream_view import assistant_calls

        # Gemini gets its own signature back on the call it signed (not the placeholder).
        assert assistant_calls(rec2)[0]["signature"] == rec1.response["thought_signature"]
    assert follow.status == "completed"
    assert follow.output_text == rec2.response["text"]
    assert "18C" in follow.output_text


@pytest.mark.parametrize("model", MODELS)
def test_responses_function_call_streaming(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    arg_deltas: list[str] = []
    with live_client.responses.stream(
        model=model,
        input=f"Weather in Paris please ({mk})",
        tools=[WEATHER_FN],
        tool_choice={"type": "function", "name": "get_weather"},
    ) as stream:
        for event in stream:
            if event.type == "response.function_call_arguments.delta":
                arg_deltas.append(event.delta)
        final = stream.get_final_response()
    rec = upstream.one(mk)
    check_request(rec, model, stream=True)
    call = _function_call(final)
    _check_call(call, rec, model)
    assert json.loads("".join(arg_deltas)) == {"city": "Paris"}
    check_usage(final, rec, model)


# ---------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("model", MODELS)
def test_responses_stream_error_mid_stream(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    model, mk = failing_model(model), marker()
    deltas: list[str] = []
    with pytest.raises(openai.APIError) as ei:
        with live_client.responses.stream(model=model, input=f"FAILSTREAM {mk}") as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
    assert not isinstance(ei.value, openai.APIStatusError)  # the status was 200; the error came in-band
    rec = upstream.one(mk)
    assert rec.response.get("failed_mid_stream") is True
    assert deltas and rec.response["text"].startswith("".join(deltas))
    body = ei.value.body
    assert isinstance(body, dict)
    err = body.get("error", body)
    assert err["code"] == "upstream_stream_error"
    assert err["provider"] == provider(model)


@pytest.mark.parametrize("model", MODELS)
def test_responses_stream_error_raw_events(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    """Under the SDK: a broken stream ends with `error` and `response.failed`, never `completed`."""
    model, mk = failing_model(model), marker()
    with live_client.responses.with_streaming_response.create(
        model=model, input=f"FAILSTREAM {mk}", stream=True
    ) as raw:
        assert raw.status_code == 200
        events = [json.loads(line[len("data: "):]) for line in raw.iter_lines() if line.startswith("data: ")]
    types = [e["type"] for e in events]
    assert "response.output_text.delta" in types
    assert types[-2:] == ["error", "response.failed"]
    assert "response.completed" not in types
    failed = events[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error"
    assert events[-2]["code"] == "upstream_stream_error"


@pytest.mark.parametrize("model", MODELS)
def test_responses_upstream_errors(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    base = model
    model, mk = failing_model(base), marker()
    with pytest.raises(openai.RateLimitError) as ei:
        live_client.responses.create(model=model, input=f"FAIL429 {mk}")
    assert ei.value.status_code == 429
    assert ei.value.code == "upstream_rate_limited"
    assert upstream.one(mk).response["status"] == 429
    model, mk = failing_model(base), marker()
    with pytest.raises(openai.InternalServerError) as ei:
        live_client.responses.create(model=model, input=f"FAIL500 {mk}", stream=True)
    assert ei.value.status_code == 502
    assert ei.value.code == "upstream_error"
    assert upstream.one(mk).response["status"] == 500


@pytest.mark.parametrize("model", MODELS)
def test_responses_max_output_tokens_is_incomplete(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    """An answer cut by the output limit is `incomplete` (reason max_output_tokens), whole or streamed."""
    mk = marker()
    resp = live_client.responses.create(model=model, input=f"Talk at length {mk}", max_output_tokens=4)
    rec = upstream.one(mk)
    assert max_tokens(rec) == 4
    assert resp.status == "incomplete"
    assert resp.incomplete_details is not None and resp.incomplete_details.reason == "max_output_tokens"
    assert resp.output_text == rec.response["text"] and len(resp.output_text.split()) == 4
    check_usage(resp, rec, model)

    mk = marker()
    events = list(live_client.responses.create(model=model, input=f"Talk at length {mk}", max_output_tokens=4, stream=True))
    rec = upstream.one(mk)
    last = events[-1]
    assert last.type == "response.incomplete"
    assert "response.completed" not in [e.type for e in events]
    assert last.response.status == "incomplete"
    assert last.response.incomplete_details.reason == "max_output_tokens"
    assert last.response.output_text == rec.response["text"]
    check_usage(last.response, rec, model)

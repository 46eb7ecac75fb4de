"""Agent loops through the gateway, with each SDK and each provider kind: parallel tool calls (several
calls in one turn, their results sent back together, every id kept), and reasoning models in a
tool-use loop (the reasoning the provider returns, and what it needs back on the next turn: Anthropic
refuses a tool-use loop whose last assistant turn lost its signed thinking block; Gemini wants its
thought signature back on the call it signed).
"""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from fake_upstreams import FakeUpstreams
from test_sdk_chat_providers import SYSTEM, WEATHER_TOOL, check_router, marker
from test_sdk_responses_providers import WEATHER_FN
from upstream_view import MODELS, assistant_calls, check_request, tool_results, wire

ANTHROPIC_WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": WEATHER_TOOL["function"]["parameters"],
}
CITIES = ["Paris", "Tokyo"]
TEMPS = {"Paris": "18C", "Tokyo": "24C"}


def _check_parallel_upstream(rec, model: str, ids: list[str], result_marker: str) -> None:
    """The provider saw both calls and both results, each result tied to its own call."""
    calls = assistant_calls(rec)
    assert [(c["name"], c["args"]) for c in calls] == [("get_weather", {"city": c}) for c in CITIES]
    results = tool_results(rec)
    assert len(results) == 2
    for city, res in zip(CITIES, results):
        assert TEMPS[city] in res["text"] and result_marker in res["text"]
    if wire(model) == "gemini":
        # Gemini pairs calls and results by name (and by id when there are ids).
        assert [r["name"] for r in results] == ["get_weather", "get_weather"]
        assert [c["id"] for c in calls] == [r["id"] for r in results]
        assert all(i in ids for i in [c["id"] for c in calls] if i is not None)
    else:
        assert [c["id"] for c in calls] == ids
        assert [r["id"] for r in results] == ids
    if wire(model) == "anthropic":
        # Both results in one user turn, right after the assistant turn with both calls.
        assert [m["role"] for m in rec.body["messages"]][-2:] == ["assistant", "user"]
        assert [b["type"] for b in rec.body["messages"][-1]["content"]] == ["tool_result", "tool_result"]
    if wire(model) == "gemini":
        last = rec.body["contents"][-1]
        assert last["role"] == "user" and [list(p) for p in last["parts"]] == [["functionResponse"], ["functionResponse"]]


def _result(city: str, mk: str) -> str:
    return json.dumps({"city": city, "temp": TEMPS[city], "ref": mk})


# ---------------------------------------------------------------------------------------------
# Parallel tool calls


@pytest.mark.parametrize("model", MODELS)
def test_chat_parallel_tool_calls(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk, mk2 = marker(), marker()
    messages = [{"role": "user", "content": f"Weather in Paris and Tokyo? TWOCITIES {mk}"}]
    resp = live_client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    rec1 = upstream.one(mk)
    msg = resp.choices[0].message
    assert resp.choices[0].finish_reason == "tool_calls"
    assert [(c.function.name, json.loads(c.function.arguments)) for c in msg.tool_calls] == [
        ("get_weather", {"city": c}) for c in CITIES
    ]
    ids = [c.id for c in msg.tool_calls]
    assert len(set(ids)) == 2 and all(ids)
    up_ids = [c["id"] for c in rec1.response["tool_calls"]]
    if None not in up_ids:
        assert ids == up_ids

    follow = live_client.chat.completions.create(
        model=model,
        messages=[
            *messages,
            msg.model_dump(exclude_none=True),
            *[{"role": "tool", "tool_call_id": c.id, "content": _result(city, mk2)} for c, city in zip(msg.tool_calls, CITIES)],
        ],
        tools=[WEATHER_TOOL],
    )
    rec2 = upstream.one(mk2)
    check_request(rec2, model, stream=False)
    _check_parallel_upstream(rec2, model, ids, mk2)
    assert follow.choices[0].message.content == rec2.response["text"]
    assert "18C" in follow.choices[0].message.content and "24C" in follow.choices[0].message.content


@pytest.mark.parametrize("model", MODELS)
def test_chat_parallel_tool_calls_streaming(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    calls: dict[int, dict] = {}
    finish = None
    for chunk in live_client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": f"Weather in Paris and Tokyo? TWOCITIES {mk}"}],
        tools=[WEATHER_TOOL],
        stream=True,
    ):
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                c = calls.setdefault(tc.index, {"id": None, "name": "", "args": ""})
                c["id"] = c["id"] or tc.id
                if tc.function and tc.function.name:
                    c["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    c["args"] += tc.function.arguments
            finish = choice.finish_reason or finish
    rec = upstream.one(mk)
    assert finish == "tool_calls"
    assert sorted(calls) == [0, 1]
    assert [(calls[i]["name"], json.loads(calls[i]["args"])) for i in (0, 1)] == [("get_weather", {"city": c}) for c in CITIES]
    ids = [calls[i]["id"] for i in (0, 1)]
    assert all(ids) and len(set(ids)) == 2
    up_ids = [c["id"] for c in rec.response["tool_calls"]]
    if None not in up_ids:
        assert ids == up_ids


@pytest.mark.parametrize("model", MODELS)
def test_responses_parallel_function_calls(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk, mk2 = marker(), marker()
    first = [{"role": "user", "content": f"Weather in Paris and Tokyo? TWOCITIES {mk}"}]
    resp = live_client.responses.create(model=model, input=first, tools=[WEATHER_FN])
    calls = [o for o in resp.output if o.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_weather", {"city": c}) for c in CITIES]
    ids = [c.call_id for c in calls]
    assert all(ids) and len(set(ids)) == 2
    assert len({c.id for c in calls}) == 2  # item ids are distinct too (the SDK matches items by id)

    follow = live_client.responses.create(
        model=model,
        input=[
            *first,
            *[o.model_dump(exclude_none=True) for o in resp.output],
            *[{"type": "function_call_output", "call_id": c.call_id, "output": _result(city, mk2)} for c, city in zip(calls, CITIES)],
        ],
        tools=[WEATHER_FN],
    )
    rec2 = upstream.one(mk2)
    _check_parallel_upstream(rec2, model, ids, mk2)
    assert follow.output_text == rec2.response["text"]


@pytest.mark.parametrize("model", MODELS)
def test_anthropic_parallel_tool_use(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    mk, mk2 = marker(), marker()
    first = [{"role": "user", "content": f"Weather in Paris and Tokyo? TWOCITIES {mk}"}]
    msg = anthropic_client.messages.create(model=model, max_tokens=500, messages=first, tools=[ANTHROPIC_WEATHER])
    assert msg.stop_reason == "tool_use"
    uses = [b for b in msg.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [("get_weather", {"city": c}) for c in CITIES]
    ids = [u.id for u in uses]
    assert all(ids) and len(set(ids)) == 2

    follow = anthropic_client.messages.create(
        model=model,
        max_tokens=500,
        messages=[
            *first,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
            {"role": "user", "content": [
                # one result as a string, one as text blocks: both are Anthropic's forms
                {"type": "tool_result", "tool_use_id": uses[0].id, "content": _result(CITIES[0], mk2)},
                {"type": "tool_result", "tool_use_id": uses[1].id,
                 "content": [{"type": "text", "text": _result(CITIES[1], mk2)}]},
            ]},
        ],
        tools=[ANTHROPIC_WEATHER],
    )
    rec2 = upstream.one(mk2)
    _check_parallel_upstream(rec2, model, ids, mk2)
    assert follow.content[0].text == rec2.response["text"]


# ---------------------------------------------------------------------------------------------
# Reasoning models in a tool-use loop


def _check_reasoning_request(rec, model: str, *, effort: str | None = None, budget: int | None = None) -> None:
    """The reasoning request in the provider's own terms."""
    if wire(model) == "openai":
        assert rec.body.get("reasoning_effort") == effort
    elif wire(model) == "anthropic":
        assert rec.body["thinking"]["type"] == "enabled"
        assert 1024 <= rec.body["thinking"]["budget_tokens"] < rec.body["max_tokens"]
        if budget is not None:
            assert rec.body["thinking"]["budget_tokens"] == budget
    else:
        tc = rec.body["generationConfig"]["thinkingConfig"]
        assert tc["includeThoughts"] is True and tc["thinkingBudget"] > 0
        if budget is not None:
            assert tc["thinkingBudget"] == budget


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_responses_reasoning_tool_loop(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str, stream: bool):
    """A Codex-style turn: reasoning effort, a function call, then the whole output sent back with the
    result (store: false). Reasoning comes back as a reasoning item whose encrypted_content carries what
    the provider needs to continue."""
    mk, mk2 = marker(), marker()
    first = [{"role": "user", "content": f"What is the weather in Paris? ({mk})"}]
    kwargs = dict(model=model, instructions=SYSTEM, input=first, tools=[WEATHER_FN], reasoning={"effort": "low"}, store=False)
    if stream:
        summary_deltas = []
        with live_client.responses.stream(**kwargs) as s:
            for event in s:
                if event.type == "response.reasoning_summary_text.delta":
                    summary_deltas.append(event.delta)
            resp = s.get_final_response()
    else:
        resp = live_client.responses.create(**kwargs)
    rec1 = upstream.one(mk)
    check_request(rec1, model, stream=stream)
    _check_reasoning_request(rec1, model, effort="low")
    kinds = [o.type for o in resp.output]
    assert kinds[-1] == "function_call"
    if wire(model) in ("anthropic", "gemini"):
        reasoning = [o for o in resp.output if o.type == "reasoning"]
        assert kinds[0] == "reasoning"
        assert "".join(s.text for r in reasoning for s in r.summary) == rec1.response["thinking"]
        assert any(r.encrypted_content for r in reasoning)
        if stream:
            assert "".join(summary_deltas) == rec1.response["thinking"]
    call = [o for o in resp.output if o.type == "function_call"][0]

    follow = live_client.responses.create(
        model=model,
        instructions=SYSTEM,
        input=[
            *first,
            *[o.model_dump(exclude_none=True) for o in resp.output],
            {"type": "function_call_output", "call_id": call.call_id, "output": _result("Paris", mk2)},
        ],
        tools=[WEATHER_FN],
        reasoning={"effort": "low"},
        store=False,
    )
    rec2 = upstream.one(mk2)
    assert rec2.response["status"] == 200, rec2.response.get("invalid")
    if wire(model) == "anthropic":
        # The signed thinking block went back first in the assistant turn, unmodified.
        prev = rec2.body["messages"][-2]
        assert prev["content"][0] == {"type": "thinking", "thinking": rec1.response["thinking"],
                                      "signature": rec1.response["signature"]}
    if wire(model) == "gemini":
        assert assistant_calls(rec2)[0]["signature"] == rec1.response["thought_signature"]
    assert follow.status == "completed"
    assert "18C" in follow.output_text


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_anthropic_thinking_tool_loop(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str, stream: bool):
    mk, mk2 = marker(), marker()
    first = [{"role": "user", "content": f"What is the weather in Paris? ({mk})"}]
    thinking = {"type": "enabled", "budget_tokens": 1024}
    kwargs = dict(model=model, max_tokens=4000, messages=first, tools=[ANTHROPIC_WEATHER], thinking=thinking)
    if stream:
        with anthropic_client.messages.stream(**kwargs) as s:
            for _ in s:
                pass
            msg = s.get_final_message()
    else:
        msg = anthropic_client.messages.create(**kwargs)
    rec1 = upstream.one(mk)
    check_request(rec1, model, stream=stream)
    _check_reasoning_request(rec1, model, effort="low", budget=1024)
    types = [b.type for b in msg.content]
    assert types[-1] == "tool_use"
    if wire(model) in ("anthropic", "gemini"):
        assert types[0] == "thinking"
        assert msg.content[0].thinking == rec1.response["thinking"]
        assert msg.content[0].signature
    use = msg.content[-1]

    follow = anthropic_client.messages.create(
        model=model,
        max_tokens=4000,
        thinking=thinking,
        tools=[ANTHROPIC_WEATHER],
        messages=[
            *first,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": _result("Paris", mk2)}]},
        ],
    )
    rec2 = upstream.one(mk2)
    assert rec2.response["status"] == 200, rec2.response.get("invalid")
    if wire(model) == "gemini":
        assert assistant_calls(rec2)[0]["signature"] == rec1.response["thought_signature"]
    assert follow.stop_reason == "end_turn"
    assert "18C" in follow.content[-1].text
    check_router(follow.model_extra["router"], model)


@pytest.mark.parametrize("model", MODELS)
def test_chat_reasoning_effort_tool_loop(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    """An OpenAI-SDK agent asking a reasoning model for `reasoning_effort` over several tool turns.
    Chat Completions has no place for a thinking block's signature, so the client cannot send it back;
    the next turn must still be one the provider accepts (a provider that needs the signature must not
    be asked to think in that turn), rather than the provider's 400."""
    mk, mk2 = marker(), marker()
    messages = [{"role": "user", "content": f"What is the weather in Paris? ({mk})"}]
    resp = live_client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL], reasoning_effort="low")
    rec1 = upstream.one(mk)
    _check_reasoning_request(rec1, model, effort="low")
    msg = resp.choices[0].message
    assert resp.choices[0].finish_reason == "tool_calls"
    if wire(model) in ("anthropic", "gemini"):
        # The reasoning text, in the field OpenAI-compatible reasoning servers use.
        assert (msg.model_extra or {}).get("reasoning_content") == rec1.response["thinking"]
    call = msg.tool_calls[0]

    follow = live_client.chat.completions.create(
        model=model,
        messages=[
            *messages,
            msg.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": _result("Paris", mk2)},
        ],
        tools=[WEATHER_TOOL],
        reasoning_effort="low",
    )
    rec2 = upstream.one(mk2)
    assert rec2.response["status"] == 200, rec2.response.get("invalid")
    assert follow.choices[0].finish_reason == "stop"
    assert "18C" in follow.choices[0].message.content

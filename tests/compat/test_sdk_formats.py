"""What every SDK × provider pair must carry exactly: non-ASCII text (raw UTF-8 from the provider,
streamed events cut inside a character), structured output (a JSON schema in each provider's own
field), and the catalog's capabilities (a request that needs one the model lacks is refused with 422
before any provider is asked).
"""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from conftest import TEXT_ONLY_MODEL
from fake_upstreams import FakeUpstreams
from test_sdk_agent_loops import ANTHROPIC_WEATHER
from test_sdk_chat_providers import PNG_B64, WEATHER_TOOL, marker
from test_sdk_responses_providers import WEATHER_FN
from upstream_view import MODELS, check_request, texts, wire

UNICODE = "Grüße aus Köln — 東京は晴れ 🌤️, naïve café, Ελληνικά, עברית, 😀👍🏽"

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temp_c": {"type": "integer"}},
    "required": ["city", "temp_c"],
    "additionalProperties": False,
}
SCHEMA_ANSWER = {"city": "Paris", "temp_c": 2}


# ---------------------------------------------------------------------------------------------
# Non-ASCII text


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_unicode_chat(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str, stream: bool):
    mk = marker()
    prompt = f"{mk} ECHO: {UNICODE}"
    if stream:
        chunks = list(live_client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": prompt}], stream=True
        ))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        text = live_client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}]).choices[0].message.content
    rec = upstream.one(mk)
    assert texts(rec) == [prompt]  # the provider got the text intact
    assert rec.response["text"] == UNICODE
    assert text == UNICODE


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_unicode_responses(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str, stream: bool):
    mk = marker()
    prompt = f"{mk} ECHO: {UNICODE}"
    if stream:
        with live_client.responses.stream(model=model, input=prompt) as s:
            deltas = [e.delta for e in s if e.type == "response.output_text.delta"]
            final = s.get_final_response()
        assert "".join(deltas) == UNICODE
    else:
        final = live_client.responses.create(model=model, input=prompt)
    assert texts(upstream.one(mk)) == [prompt]
    assert final.output_text == UNICODE


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_unicode_anthropic(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str, stream: bool):
    mk = marker()
    prompt = f"{mk} ECHO: {UNICODE}"
    if stream:
        with anthropic_client.messages.stream(model=model, max_tokens=200, messages=[{"role": "user", "content": prompt}]) as s:
            text = "".join(s.text_stream)
            final = s.get_final_message()
        assert final.content[0].text == text
    else:
        text = anthropic_client.messages.create(
            model=model, max_tokens=200, messages=[{"role": "user", "content": prompt}]
        ).content[0].text
    assert texts(upstream.one(mk)) == [prompt]
    assert text == UNICODE


# ---------------------------------------------------------------------------------------------
# Structured output


def _check_schema_request(rec, model: str) -> None:
    if wire(model) == "openai":
        rf = rec.body["response_format"]
        assert rf["type"] == "json_schema"
        assert rf["json_schema"]["schema"] == SCHEMA
    elif wire(model) == "anthropic":
        assert rec.body["output_config"]["format"] == {"type": "json_schema", "schema": SCHEMA}
    else:
        gc = rec.body["generationConfig"]
        assert gc["responseMimeType"] == "application/json"
        assert gc["responseJsonSchema"] == SCHEMA


@pytest.mark.parametrize("model", MODELS)
def test_structured_output_chat(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    resp = live_client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": f"Weather as JSON ({mk})"}],
        response_format={"type": "json_schema", "json_schema": {"name": "weather", "schema": SCHEMA, "strict": True}},
    )
    rec = upstream.one(mk)
    check_request(rec, model, stream=False)
    _check_schema_request(rec, model)
    if wire(model) == "openai":
        assert rec.body["response_format"]["json_schema"]["name"] == "weather"
    assert json.loads(resp.choices[0].message.content) == SCHEMA_ANSWER


@pytest.mark.parametrize("model", MODELS)
def test_structured_output_responses(live_client: openai.OpenAI, upstream: FakeUpstreams, model: str):
    mk = marker()
    resp = live_client.responses.create(
        model=model,
        input=f"Weather as JSON ({mk})",
        text={"format": {"type": "json_schema", "name": "weather", "schema": SCHEMA, "strict": True}},
    )
    rec = upstream.one(mk)
    _check_schema_request(rec, model)
    assert json.loads(resp.output_text) == SCHEMA_ANSWER


@pytest.mark.parametrize("model", MODELS)
def test_structured_output_anthropic(anthropic_client: anthropic.Anthropic, upstream: FakeUpstreams, model: str):
    mk = marker()
    msg = anthropic_client.messages.create(
        model=model,
        max_tokens=300,
        messages=[{"role": "user", "content": f"Weather as JSON ({mk})"}],
        output_config={"format": {"type": "json_schema", "schema": SCHEMA}},
    )
    rec = upstream.one(mk)
    _check_schema_request(rec, model)
    assert json.loads(msg.content[0].text) == SCHEMA_ANSWER


# ---------------------------------------------------------------------------------------------
# Capabilities


def _check_refusal(err: dict, what: str) -> None:
    assert err["code"] == "no_eligible_model"
    assert err["http_status"] == 422
    assert what in err["message"]


def test_missing_capability_is_refused_before_the_provider(live_client: openai.OpenAI,
                                                          anthropic_client: anthropic.Anthropic,
                                                          upstream: FakeUpstreams):
    mk = marker()
    # A text-only model answers text ...
    ok = live_client.chat.completions.create(model=TEXT_ONLY_MODEL, messages=[{"role": "user", "content": f"hi {mk}"}])
    assert ok.choices[0].message.content == upstream.one(mk).response["text"]

    # ... but refuses images, tools and JSON schemas, whatever the client's schema.
    mk = marker()
    with pytest.raises(openai.UnprocessableEntityError) as ei:
        live_client.chat.completions.create(model=TEXT_ONLY_MODEL, messages=[{"role": "user", "content": [
            {"type": "text", "text": mk}, {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}]}])
    _check_refusal(ei.value.response.json()["error"], "vision")
    with pytest.raises(openai.UnprocessableEntityError) as ei:
        live_client.chat.completions.create(model=TEXT_ONLY_MODEL, messages=[{"role": "user", "content": mk}],
                                            tools=[WEATHER_TOOL])
    _check_refusal(ei.value.response.json()["error"], "tools")
    with pytest.raises(openai.UnprocessableEntityError) as ei:
        live_client.responses.create(model=TEXT_ONLY_MODEL, input=mk, tools=[WEATHER_FN])
    _check_refusal(ei.value.response.json()["error"], "tools")
    with pytest.raises(openai.UnprocessableEntityError) as ei:
        live_client.responses.create(model=TEXT_ONLY_MODEL, input=mk, text={
            "format": {"type": "json_schema", "name": "weather", "schema": SCHEMA}})
    _check_refusal(ei.value.response.json()["error"], "json_schema")
    with pytest.raises(anthropic.UnprocessableEntityError) as ei:
        anthropic_client.messages.create(model=TEXT_ONLY_MODEL, max_tokens=50,
                                         messages=[{"role": "user", "content": mk}], tools=[ANTHROPIC_WEATHER])
    body = ei.value.response.json()
    assert body["type"] == "error"
    _check_refusal(body["error"], "tools")
    assert upstream.find(mk) == []

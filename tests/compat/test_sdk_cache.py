"""The response cache (`X-GR-Cache-TTL`) through the official SDKs: a repeat within the TTL is answered
from the cache (no upstream call: the simulator numbers its answers' ids, so a hit is recognisable by
the first answer's id), replayed as a stream in the client's schema when the repeat streams, at cost
0 with the original `router` object marked `cached`; another workspace never sees the entry; an entry
expires after its TTL.
"""

from __future__ import annotations

import time
import uuid

import anthropic
import openai
import pytest

from conftest import KEY, OTHER_WORKSPACE_KEY


def _messages(tag: str) -> list[dict]:
    return [{"role": "user", "content": f"Cache me, please ({tag})."}]


def _create(client: openai.OpenAI, messages, ttl: str = "60", **kw):
    raw = client.chat.completions.with_raw_response.create(
        model="sim/fast", messages=messages, temperature=0.8, extra_headers={"X-GR-Cache-TTL": ttl}, **kw
    )
    return raw.headers, raw.parse()


def _until_hit(client: openai.OpenAI, messages, ttl: str = "60", **kw):
    """A repeat: the first answer is stored as its request completes, just after the client has it,
    so a repeat sent at once may still miss; try again for a moment."""
    for _ in range(50):
        h, r = _create(client, messages, ttl, **kw)
        if h["x-jt-cache"] == "hit":
            return h, r
        time.sleep(0.02)
    return h, r


def test_a_repeat_is_a_hit_and_a_streamed_repeat_is_replayed_as_a_stream(client: openai.OpenAI):
    msgs = _messages(uuid.uuid4().hex)
    h1, first = _create(client, msgs)
    assert h1["x-jt-cache"] == "miss"
    assert first.model_extra["router"].get("cached") is not True

    h2, second = _until_hit(client, msgs)
    assert h2["x-jt-cache"] == "hit"
    assert second.id == first.id
    assert second.choices[0].message.content == first.choices[0].message.content
    assert second.model_extra["router"]["cached"] is True
    assert second.model_extra["router"]["model"] == first.model_extra["router"]["model"]
    assert second.usage.model_extra["cost"] == 0
    assert h2["x-jt-cost-usd"] == "0"

    h3, stream = _create(client, msgs, stream=True, stream_options={"include_usage": True})
    assert h3["x-jt-cache"] == "hit"
    assert h3["content-type"].startswith("text/event-stream")
    text, routers, ids = "", [], set()
    for chunk in stream:
        ids.add(chunk.id)
        for c in chunk.choices:
            text += c.delta.content or ""
        if (chunk.model_extra or {}).get("router"):
            routers.append(chunk.model_extra["router"])
    assert text == first.choices[0].message.content
    assert ids == {first.id}
    assert routers and routers[-1]["cached"] is True


def test_entries_expire_and_are_not_shared_across_workspaces(gateway, client: openai.OpenAI):
    msgs = _messages(uuid.uuid4().hex)
    _, first = _create(client, msgs, ttl="1")
    h, again = _until_hit(client, msgs, ttl="1")
    assert h["x-jt-cache"] == "hit"
    assert again.id == first.id
    other = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=OTHER_WORKSPACE_KEY, max_retries=0, timeout=30.0)
    try:
        h, theirs = _create(other, msgs)
        assert h["x-jt-cache"] == "miss", "another workspace never gets this workspace's entry"
        assert theirs.id != first.id
    finally:
        other.close()
    time.sleep(1.2)
    h, late = _create(client, msgs, ttl="1")
    assert h["x-jt-cache"] == "miss", "the entry expired"
    assert late.id != first.id


def test_a_bad_ttl_is_a_400_naming_the_header(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as ei:
        _create(client, _messages("bad"), ttl="3601")
    assert ei.value.status_code == 400
    assert ei.value.param == "X-GR-Cache-TTL"


def test_anthropic_messages_stream_replayed_from_the_cache(gateway):
    c = anthropic.Anthropic(base_url=gateway.url, api_key=KEY, max_retries=0, timeout=30.0)
    try:
        msgs = _messages(uuid.uuid4().hex)
        kw = dict(model="sim/fast", max_tokens=64, messages=msgs, extra_headers={"X-GR-Cache-TTL": "60"})
        raw = c.messages.with_raw_response.create(**kw)
        assert raw.headers["x-jt-cache"] == "miss"
        first = raw.parse()
        time.sleep(0.2)  # stored as the first request completes
        with c.messages.stream(**kw) as s:
            assert s.response.headers["x-jt-cache"] == "hit"
            text = "".join(s.text_stream)
            final = s.get_final_message()
        assert text == first.content[0].text
        assert final.id == first.id
        assert final.content[0].text == first.content[0].text
    finally:
        c.close()

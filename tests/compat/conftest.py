"""Fixtures for the SDK compatibility suite: one Switchyard gateway per test session, started from the
built binary with a configuration written here, and SDK clients for it. The gateway reaches two kinds
of providers, neither on the network: the built-in simulator (`sim*` providers, `kind: mock`) and the
suite's own fake upstreams (`fake_upstreams.py`: one local server that speaks the OpenAI, Anthropic and
Gemini wire formats), configured as the providers `oa` (openai_compatible), `an` (anthropic) and `ge`
(gemini) with the catalog models `oa/gpt`, `an/claude` and `ge/gemini`.

The binary is `$SWITCHYARD_BIN`, else `target/debug/switchyard` under the repository root
(`cargo build -p switchyard` first). Nothing here depends on conf/ in the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import anthropic
import openai
import pytest

from fake_upstreams import FakeUpstreams

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 20.0

# Keys of this suite's own configuration (test keys: they reach simulated models only).
KEY = "sy_test_CompatSuiteKey00000000000000000001"
REVOKED_KEY = "sy_test_CompatSuiteRevoked000000000000002"
CATALOG_ONLY_KEY = "sy_test_CompatSuiteCatalogOnly0000000003"
UNKNOWN_KEY = "sy_test_CompatSuiteNotConfigured00000004"
# A live key: test keys reach simulated models only, and the fake upstreams are real providers to the
# gateway. It may use the three fake-upstream models and nothing else.
LIVE_KEY = "sy_live_CompatSuiteLiveKey0000000000000005"
UNKNOWN_LIVE_KEY = "sy_live_CompatSuiteNotConfigured0000000006"
# A test key of another workspace (cache entries are never shared across workspaces).
OTHER_WORKSPACE_KEY = "sy_test_CompatSuiteOtherWorkspace000000007"

# The providers' own API keys, as configured in the gateway; the fake upstreams accept only these.
UPSTREAM_KEYS = {
    "openai": "sk-proj-FakeUpstreamOpenAIKey000000000001",
    "anthropic": "sk-ant-api03-FakeUpstreamAnthropicKey0002",
    "gemini": "AIzaSyFakeUpstreamGeminiKey00000000003",
}

# The fake-upstream models: catalog id -> gateway provider, provider kind, upstream model name, wire
# format of the fake, and the catalog's max_output (Anthropic's max_tokens when a client sets none).
FAKE_MODELS = {
    "oa/gpt": {"provider": "oa", "kind": "openai_compatible", "upstream_model": "gpt-4o-mini", "wire": "openai",
               "max_output": 16384, "pricing": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
               "capabilities": ["chat", "tools", "parallel_tool_calls", "vision", "json_schema", "streaming"]},
    "an/claude": {"provider": "an", "kind": "anthropic", "upstream_model": "claude-sonnet-4-5", "wire": "anthropic",
                  "max_output": 8192, "pricing": {"input": 3.00, "cached_input": 0.30, "output": 15.00},
                  "capabilities": ["chat", "tools", "parallel_tool_calls", "vision", "json_schema", "streaming",
                                   "reasoning"]},
    "ge/gemini": {"provider": "ge", "kind": "gemini", "upstream_model": "gemini-2.5-flash", "wire": "gemini",
                  "max_output": 65536, "pricing": {"input": 0.30, "cached_input": 0.03, "output": 2.50},
                  "capabilities": ["chat", "tools", "parallel_tool_calls", "vision", "json_schema", "streaming"]},
}
# Tests that make a provider fail (429, 500, broken streams) each use a model and provider of their own:
# the gateway learns from failures (Retry-After cool-downs, circuit breakers per model and per
# provider), which must not reach the other tests. `oa-e3/gpt` is the third failing twin of `oa/gpt`:
# same kind, same fake upstream, same prices.
FAILING_SLOTS = 24
FAKE_BASE_MODELS = list(FAKE_MODELS)
for _i in range(1, FAILING_SLOTS + 1):
    for _base in FAKE_BASE_MODELS:
        _info = FAKE_MODELS[_base]
        _p = f"{_info['provider']}-e{_i}"
        FAKE_MODELS[f"{_p}/{_base.split('/', 1)[1]}"] = {**_info, "provider": _p, "twin_of": _base}
# A model whose catalog entry lists no tools, vision or json_schema: requests that need them are
# refused (422) before any provider is asked.
TEXT_ONLY_MODEL = "oa/text-only"
FAKE_MODELS[TEXT_ONLY_MODEL] = {**FAKE_MODELS["oa/gpt"], "capabilities": ["chat", "streaming"]}
FAKE_PROVIDERS = {m["provider"]: m for m in FAKE_MODELS.values()}

# Catalog prices (dollars per million tokens), repeated here to check `usage.cost`.
PRICES = {
    "sim/fast": {"input": 0.10, "cached_input": 0.025, "output": 0.40},
    "sim/smart": {"input": 2.50, "cached_input": 1.25, "output": 10.00},
    "sim-cache/cached": {"input": 1.00, "cached_input": 0.50, "output": 2.00},
    **{m: info["pricing"] for m, info in FAKE_MODELS.items()},
}
# Completion length of the `sim` provider when the request sets no max_tokens.
SIM_OUTPUT_TOKENS = 24
SIM_CACHED_TOKENS = 3
# Request bodies above this get 413.
MAX_BODY_BYTES = 1 << 20


def key_hash(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def expected_cost(model: str, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
    """What the catalog prices make of a usage, in dollars."""
    p = PRICES[model]
    cached = min(cached_tokens, prompt_tokens)
    micro = (prompt_tokens - cached) * p["input"] + cached * p["cached_input"] + completion_tokens * p["output"]
    return micro / 1_000_000


_WIRE_PATH = {"openai": "openai/v1", "anthropic": "anthropic/v1", "gemini": "gemini/v1beta"}


def _fake_providers(upstream_url: str) -> str:
    """The fake upstreams as gateway providers (YAML, under `providers:`)."""
    out = []
    for name, m in FAKE_PROVIDERS.items():
        out.append(
            f"  {name}:\n"
            f"    kind: {m['kind']}\n"
            f"    base_url: {upstream_url}/{_WIRE_PATH[m['wire']]}\n"
            f"    api_key: {UPSTREAM_KEYS[m['wire']]}\n"
            f"    read_timeout_ms: 10000\n"
        )
    return "".join(out).rstrip("\n")


def _fake_catalog() -> str:
    """The fake-upstream models (YAML, under `models:`)."""
    out = []
    for mid, m in FAKE_MODELS.items():
        p = m["pricing"]
        out.append(
            f"  - id: {mid}\n"
            f"    upstream_model: {m['upstream_model']}\n"
            f"    description: Fake {m['wire']} upstream (tests/compat/fake_upstreams.py).\n"
            f"    pricing: {{input: {p['input']}, cached_input: {p['cached_input']}, output: {p['output']}}}\n"
            f"    context_window: 128000\n"
            f"    max_output: {m['max_output']}\n"
            f"    capabilities: [{', '.join(m['capabilities'])}]\n"
            f"    latency_ms: 5\n"
        )
    return "".join(out)


def _config(tmp: Path, upstream_url: str) -> str:
    return f"""\
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  h2c: true
  worker_threads: 2
  max_body_bytes: {MAX_BODY_BYTES}
  max_response_bytes: 33554432
  client_body_timeout_ms: 30000
  max_attempts: 3
  dns_ttl_seconds: 60
  upstream_keepalive_pool_size: 64
  grace_period_seconds: 1
  graceful_shutdown_timeout_seconds: 1
  upgrade_sock: {tmp / "upgrade.sock"}
  pid_file: {tmp / "switchyard.pid"}
  access_log: true
  metrics_open: true                # the suite scrapes /metrics as an operator who opened it

catalog: models.yaml

simulator:
  listen: 127.0.0.1:0

providers:
  sim:
    kind: mock
    simulate:
      latency_ms: 5
      tokens_per_second: 1000
      tokens_per_chunk: 1
      output_tokens: {SIM_OUTPUT_TOKENS}
      cached_tokens: 0
  sim-fail:
    kind: mock
    simulate:
      latency_ms: 1
      fail_rate: 1.0
      fail_status: 500
  sim-cache:
    kind: mock
    simulate:
      latency_ms: 1
      output_tokens: 8
      cached_tokens: {SIM_CACHED_TOKENS}
  sim-locked:
    kind: mock
    simulate:
      latency_ms: 1
  sim-reset:
    kind: mock
    simulate:
      latency_ms: 1
      tokens_per_second: 1000
      output_tokens: 20
      reset_rate: 1.0
  sim-hang:
    kind: mock
    read_timeout_ms: 300
    simulate:
      latency_ms: 1
      hang_rate: 1.0
  sim-busy:
    kind: mock
    simulate:
      latency_ms: 1
      fail_rate: 1.0
      fail_status: 429
  sim-reject:
    kind: mock
    simulate:
      latency_ms: 1
      fail_rate: 1.0
      fail_status: 400
{_fake_providers(upstream_url)}
plugins:
  cache: {{}}
store:
  path: ":memory:"
keys:
  - name: compat
    hash: {key_hash(KEY)}
    workspace: compat
    scopes:
      endpoints: ["*"]
      models: ["sim/*", "sim-fail/*", "sim-cache/*", "sim-reset/*", "sim-hang/*", "sim-busy/*", "sim-reject/*"]
    limits:
      requests_per_minute: 100000
      tokens_per_minute: 100000000
      cost_cap_dollars: 1000.0
  - name: compat-other
    hash: {key_hash(OTHER_WORKSPACE_KEY)}
    workspace: compat-other
    scopes:
      endpoints: ["*"]
      models: ["sim/*"]
  - name: compat-revoked
    hash: {key_hash(REVOKED_KEY)}
    workspace: compat
    revoked: true
  - name: compat-catalog-only
    hash: {key_hash(CATALOG_ONLY_KEY)}
    workspace: compat
    scopes:
      endpoints: ["catalog"]
      models: ["*"]
  - name: compat-live
    hash: {key_hash(LIVE_KEY)}
    workspace: compat
    scopes:
      endpoints: ["*"]
      models: {json.dumps([p + "/*" for p in FAKE_PROVIDERS])}
    limits:
      requests_per_minute: 100000
      tokens_per_minute: 100000000
      cost_cap_dollars: 1000.0
"""


def _catalog() -> str:
    def pricing(m: str) -> str:
        p = PRICES[m]
        return f"{{input: {p['input']}, cached_input: {p['cached_input']}, output: {p['output']}}}"

    return f"""\
models:
  - id: sim/fast
    aliases: [sim-fast]
    description: Simulated small, fast chat model.
    pricing: {pricing("sim/fast")}
    context_window: 128000
    max_output: 16384
    capabilities: [chat, tools, parallel_tool_calls, json_mode, json_schema, streaming]
    quality: {{chat: 0.70}}
    tags: [simulated]
    latency_ms: 5
  - id: sim/smart
    aliases: [sim-smart]
    description: Simulated large chat model.
    pricing: {pricing("sim/smart")}
    context_window: 200000
    max_output: 32768
    capabilities: [chat, tools, streaming]
    quality: {{chat: 0.90}}
    tags: [simulated]
    latency_ms: 5
  - id: sim-fail/broken
    description: Simulated model whose provider always answers 500.
    pricing: {{input: 0.10, output: 0.40}}
    context_window: 32000
    max_output: 4096
    capabilities: [chat, streaming]
    quality: {{chat: 0.50}}
    latency_ms: 1
  - id: sim-cache/cached
    description: Simulated model that reports cached prompt tokens.
    pricing: {pricing("sim-cache/cached")}
    context_window: 32000
    max_output: 4096
    capabilities: [chat, streaming]
    quality: {{chat: 0.50}}
    latency_ms: 1
  - id: sim-reset/reset
    description: Simulated model whose streams are cut off half-way.
    pricing: {{input: 0.10, output: 0.40}}
    context_window: 32000
    max_output: 4096
    capabilities: [chat, streaming]
    latency_ms: 1
  - id: sim-hang/hang
    description: Simulated model that never answers.
    pricing: {{input: 0.10, output: 0.40}}
    context_window: 32000
    max_output: 4096
    capabilities: [chat, streaming]
    latency_ms: 1
  - id: sim-busy/busy
    description: Simulated model whose provider always answers 429.
    pricing: {{input: 0.10, output: 0.40}}
    context_window: 32000
    max_output: 4096
    capabilities: [chat, streaming]
    latency_ms: 1
  - id: sim-reject/reject
    description: Simulated model whose provider always answers 400.
    pricing: {{input: 0.10, output: 0.40}}
    context_window: 32000
    max_output: 4096
    capabilities: [chat, streaming]
    latency_ms: 1
  - id: sim-locked/locked
    aliases: [sim-locked]
    description: Simulated model outside the compat key's scopes.
    pricing: {{input: 0.10, output: 0.40}}
    context_window: 32000
    max_output: 4096
    capabilities: [chat, streaming]
    quality: {{chat: 0.50}}
    latency_ms: 1
{_fake_catalog()}"""


@dataclass
class Gateway:
    url: str
    admin_url: str
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def output(self) -> str:
        with self.lock:
            return "\n".join(self.lines)

    def records(self) -> list[dict]:
        """Every JSON log line so far."""
        with self.lock:
            lines = list(self.lines)
        out = []
        for line in lines:
            try:
                v = json.loads(line)
            except ValueError:
                continue
            if isinstance(v, dict):
                out.append(v)
        return out

    def access_record(self, request_id: str, timeout: float = 5.0) -> dict:
        """The access-log line of `request_id` (written asynchronously, just after the response)."""
        deadline = time.monotonic() + timeout
        while True:
            for r in self.records():
                if r.get("target") == "access" and r.get("fields", {}).get("request_id") == request_id:
                    return r["fields"]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no access-log line for request {request_id} within {timeout}s; log:\n{self.output()}"
                )
            time.sleep(0.02)


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM if pytest dies without its teardown."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _binary() -> Path:
    p = Path(os.environ.get("SWITCHYARD_BIN") or REPO_ROOT / "target" / "debug" / "switchyard")
    if not p.is_absolute():
        p = REPO_ROOT / p
    if not p.is_file():
        pytest.fail(f"switchyard binary not found at {p}; run `cargo build -p switchyard` or set SWITCHYARD_BIN")
    return p


@pytest.fixture(scope="session")
def upstream():
    """The fake providers (one local server), shared by the session; see fake_upstreams.py."""
    fakes = FakeUpstreams(UPSTREAM_KEYS).start()
    try:
        yield fakes
    finally:
        fakes.stop()


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstreams):
    tmp = tmp_path_factory.mktemp("switchyard")
    config = tmp / "switchyard.yaml"
    config.write_text(_config(tmp, upstream.url))
    (tmp / "models.yaml").write_text(_catalog())

    env = dict(os.environ)
    # The fixture reads the "listening" and access lines (INFO); a caller's filter must not hide them.
    env["SWITCHYARD_LOG"] = "info,pingora_core=warn,pingora_proxy=warn"
    proc = subprocess.Popen(
        [str(_binary()), "run", "--config", str(config), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp,
        env=env,
        text=True,
        bufsize=1,
        preexec_fn=_die_with_parent,
    )
    gw = Gateway(url="", admin_url="", process=proc)
    addrs: dict[str, str] = {}
    ready = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            with gw.lock:
                gw.lines.append(line)
            if ready.is_set():
                continue
            try:
                fields = json.loads(line).get("fields", {})
            except (ValueError, AttributeError):
                continue
            if fields.get("message") == "listening" and "listener" in fields:
                addrs[fields["listener"]] = fields["addr"]
                if "proxy" in addrs and "admin" in addrs:
                    ready.set()
        ready.set()  # EOF: the process is gone; wake the waiter

    reader = threading.Thread(target=drain, name="switchyard-stdout", daemon=True)
    reader.start()

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        reader.join(timeout=5)

    ready.wait(timeout=STARTUP_TIMEOUT_S)
    if "proxy" not in addrs or "admin" not in addrs:
        stop()
        pytest.fail(
            f"switchyard did not report its proxy and admin addresses within {STARTUP_TIMEOUT_S}s "
            f"(exit status {proc.returncode}); output:\n{gw.output()}"
        )
    gw.url = f"http://{addrs['proxy']}"
    gw.admin_url = f"http://{addrs['admin']}"
    try:
        yield gw
    finally:
        crashed = proc.poll()
        stop()
    if crashed is not None:
        pytest.fail(f"switchyard exited during the session with status {crashed}; output:\n{gw.output()}")


@pytest.fixture
def client(gateway: Gateway):
    c = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=KEY, max_retries=0, timeout=30.0)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def async_client(gateway: Gateway):
    async with openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=KEY, max_retries=0, timeout=30.0) as c:
        yield c


@pytest.fixture
def live_client(gateway: Gateway):
    """The openai SDK with the live key: it reaches the fake-upstream models."""
    c = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=LIVE_KEY, max_retries=0, timeout=30.0)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def anthropic_client(gateway: Gateway):
    """The anthropic SDK pointed at the gateway (it appends /v1/messages itself)."""
    c = anthropic.Anthropic(base_url=gateway.url, api_key=LIVE_KEY, max_retries=0, timeout=30.0)
    try:
        yield c
    finally:
        c.close()

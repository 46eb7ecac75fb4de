"""Shared helpers: run the shipped Rust classifier (`switchyard classify`) over prompts."""
import hashlib
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.environ.get("ROUTING_DATA", os.path.join(ROOT, "..", "shared", "bench", "routing"))
if not os.path.isdir(DATA):
    DATA = "/work/shared/bench/routing"


def binary():
    for p in (os.environ.get("SWITCHYARD_BIN"), os.path.join(ROOT, "target", "release", "switchyard"),
              os.path.join(ROOT, "target", "debug", "switchyard")):
        if p and os.path.exists(p):
            return p
    sys.exit("build first: cargo build --release (or set SWITCHYARD_BIN)")


def classify(items, weights=None, features=False, bin_path=None):
    """items: list of dicts with "prompt" or "messages". Returns one output dict per item.
    bin_path: another switchyard binary than the shipped one."""
    cmd = [bin_path or binary(), "classify"]
    if weights:
        cmd += ["--weights", weights]
    if features:
        cmd.append("--features")
    inp = "".join(json.dumps({k: v for k, v in it.items() if k in ("prompt", "messages")}) + "\n" for it in items)
    out = subprocess.run(cmd, input=inp.encode(), capture_output=True, check=True, cwd=ROOT).stdout.decode()
    res = [json.loads(l) for l in out.splitlines()]
    assert len(res) == len(items), (len(res), len(items))
    return res


def split_of(key):
    """Deterministic 50/50 dev/test split on a row id: rules were tuned looking at dev rows only."""
    return "dev" if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else "test"


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]

"""Latency of the shipped classifier (release build): per-call median and p99, repeated runs.

    cargo build --release
    python3 load-tests/classifier/bench.py [--runs 7] [--iters 20000]

Each run is one `switchyard classify --bench N` process that times N calls per prompt (after a
warm-up) of `Classifier::classify_request` on a canonical request, i.e. user-text extraction plus
classification. Prompts: ~20, ~200 and ~2,000 tokens (prose with a code block and a question) and
a ~2,000-token CJK prompt, each timed on its own; then 64 different ~2,000-token prompts (the
public prompts of the routing bench joined in order) timed in turn (`--rotate`). A prompt timed
over and over lets the CPU learn its branches; the rotation is what a gateway meets, every request
a new prompt. The machine is a noisy 2-core box, so we print every run and the median over runs of
each statistic.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import DATA, ROOT, binary  # noqa: E402

PROSE = ("The quarterly infrastructure review covered latency regressions in the edge proxies, the migration "
         "of the billing service to the new cluster, and the on-call load over the holidays. ")
CODE = "```python\ndef retry(fn, attempts=3):\n    for i in range(attempts):\n        try:\n            return fn()\n        except IOError as e:\n            log.warning('retry %d: %s', i, e)\n    raise RuntimeError('gave up')\n```\n"


def prompt(tokens):
    body = ""
    while len(body) / 4 < tokens - 60:
        body += PROSE
        if len(body) % 7 == 0:
            body += CODE
    return body + CODE + "\nGiven all of the above, what should we prioritise next quarter, and why? Answer in 5 bullet points."


ROTATION = "64 different, in turn"


def distinct_prompts(n=64, chars=8200):
    """`n` different ~2,000-token prompts: the routing bench's public prompts joined in file order."""
    out, cur = [], ""
    with open(os.path.join(DATA, "tasks.jsonl")) as f:
        for line in f:
            cur += json.loads(line)["prompt"] + "\n\n"
            if len(cur) >= chars:
                out.append(cur)
                cur = ""
                if len(out) == n:
                    break
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--iters", type=int, default=20000)
    a = ap.parse_args()
    cjk = "我们的系统在高峰期出现了延迟问题，需要分析原因并提出改进方案。" * 67 + "请总结以上内容。"
    prompts = {"~20 tokens": "Write a haiku about autumn leaves falling on a quiet pond.",
               "~200 tokens": prompt(200), "~2000 tokens": prompt(2000), "~2000 tokens CJK": cjk}
    inp = "".join(json.dumps({"prompt": p}) + "\n" for p in prompts.values())
    mixed = "".join(json.dumps({"prompt": p}) + "\n" for p in distinct_prompts())
    runs = {k: [] for k in [*prompts, ROTATION]}
    for r in range(a.runs):
        out = subprocess.run([binary(), "classify", "--bench", str(a.iters)], input=inp.encode(),
                             capture_output=True, check=True, cwd=ROOT).stdout.decode().splitlines()
        for k, line in zip(prompts, out):
            runs[k].append(json.loads(line))
        out = subprocess.run([binary(), "classify", "--bench", str(a.iters), "--rotate"], input=mixed.encode(),
                             capture_output=True, check=True, cwd=ROOT).stdout.decode()
        runs[ROTATION].append(json.loads(out))
    print(f"{'prompt':18} {'tokens':>6} {'median µs (runs)':>40} {'p99 µs (runs)':>40}")
    for k, rs in runs.items():
        med = [x["median_us"] for x in rs]
        p99 = [x["p99_us"] for x in rs]
        tokens = rs[0].get("tokens", rs[0].get("tokens_max"))
        print(f"{k:18} {tokens:6d} {' '.join(f'{x:.1f}' for x in med):>40} {' '.join(f'{x:.1f}' for x in p99):>40}")
        print(f"{'':25} median of runs: median {statistics.median(med):.1f} µs, p99 {statistics.median(p99):.1f} µs; "
              f"worst run p99 {max(p99):.1f} µs")


if __name__ == "__main__":
    main()

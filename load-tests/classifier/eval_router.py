"""Strong/weak routing quality of the shipped classifier's `strong` score on the router/ files.

    cargo build --release
    python3 load-tests/classifier/eval_router.py [--weights FILE] [--curve]

For each file: APGR (area under PGR vs share of strong calls; random = 0.5) and CPT(50%) (share of
strong calls needed to recover half the quality gap; random = 0.5), for our `strong` score, our
`complexity_score`, and the README baseline (longer prompt -> strong), all by the same code.
Strong model GPT-4-1106, weak model Mixtral-8x7B (the RouteLLM pair, also for RouterBench files).
Note: the shipped weights were fitted on these files; for held-out figures use
`train.py --cv`, which fits on some files/subjects and scores the others with the Rust binary.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import classify  # noqa: E402
from router_data import load, metrics  # noqa: E402

FILES = ["mmlu.jsonl", "gsm8k.jsonl", "routerbench_mbpp.csv", "routerbench_arc_challenge.csv",
         "routerbench_winograde.csv"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=None)
    ap.add_argument("--curve", action="store_true", help="print PGR at 0%%, 10%%, … strong calls")
    a = ap.parse_args()
    print(f"{'file':32} {'n':>6} {'router':22} {'APGR':>6} {'CPT50':>6} {'CPT80':>6}")
    for name in FILES:
        rows = load(name)
        out = classify([{"prompt": r["prompt"]} for r in rows], a.weights)
        cands = {
            "baseline: prompt length": [len(r["prompt"]) for r in rows],
            "switchyard strong": [o["strong"] for o in out],
            "switchyard complexity": [o["complexity_score"] for o in out],
        }
        for label, sc in cands.items():
            m = metrics(rows, sc)
            print(f"{name:32} {len(rows):6d} {label:22} {m['apgr']:6.3f} {m['cpt50']:6.3f} {m['cpt80']:6.3f}")
            if a.curve:
                print(" " * 40, "PGR:", m["curve"])
        print(f"{'':32} quality weak {m['q_weak']:.3f}, strong {m['q_strong']:.3f}")


if __name__ == "__main__":
    main()

"""Task accuracy of the shipped classifier: macro-F1, per-class precision/recall, confusion matrix.

    cargo build --release
    python3 load-tests/classifier/eval_tasks.py [--split dev|test|all] [--errors N] [--extra DIR]

tasks.jsonl is split 50/50 by a hash of the row id. The rules were written from what each class
means and tuned looking at dev rows only; `test` is the held-out half. `--extra DIR` also scores
prompts from other public sources (MT-Bench, HumanEval, GenEval) if their files are in DIR
(see CLASSIFIER.md for where they come from); they were never used for tuning.
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import DATA, classify, read_jsonl, split_of  # noqa: E402

MTBENCH = {"writing": "creative_writing", "roleplay": "roleplay", "reasoning": "reasoning", "math": "math",
           "coding": "code", "extraction": "extraction", "stem": "knowledge_qa", "humanities": "knowledge_qa"}


def report(name, rows, preds, show_errors=0):
    gold = [r["task"] for r in rows]
    labels = sorted(set(gold) | set(preds))
    n = len(rows)
    acc = sum(g == p for g, p in zip(gold, preds)) / max(n, 1)
    print(f"\n## {name}: {n} prompts, accuracy {acc:.3f}")
    f1s = []
    print(f"{'class':18} {'n':>5} {'prec':>6} {'recall':>6} {'f1':>6}")
    for c in sorted(set(gold)):
        tp = sum(g == c and p == c for g, p in zip(gold, preds))
        fp = sum(g != c and p == c for g, p in zip(gold, preds))
        fn = sum(g == c and p != c for g, p in zip(gold, preds))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        f1s.append(f1)
        print(f"{c:18} {tp + fn:5d} {prec:6.3f} {rec:6.3f} {f1:6.3f}")
    print(f"macro-F1 (over the {len(f1s)} gold classes): {sum(f1s) / len(f1s):.3f}")
    cm = collections.Counter(zip(gold, preds))
    short = {c: c[:6] for c in labels}
    print("\nconfusion (rows gold, columns predicted):")
    print(f"{'':18}" + "".join(f"{short[c]:>7}" for c in labels))
    for g in sorted(set(gold)):
        print(f"{g:18}" + "".join(f"{cm[(g, c)]:7d}" for c in labels))
    if show_errors:
        errs = [(r, p) for r, p in zip(rows, preds) if r["task"] != p]
        for r, p in errs[:show_errors]:
            print(f"  [{r['task']} -> {p}] {r.get('prompt', '')[:160]!r}")
    return sum(f1s) / len(f1s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="test", choices=["dev", "test", "all"])
    ap.add_argument("--errors", type=int, default=0, help="print misclassified dev rows")
    ap.add_argument("--extra", default=None, help="directory with mtbench.jsonl, humaneval.jsonl, geneval.jsonl")
    ap.add_argument("--weights", default=None)
    a = ap.parse_args()
    if a.errors and a.split != "dev":
        sys.exit("--errors is for the dev split only (keep the test half unseen)")
    rows = read_jsonl(os.path.join(DATA, "tasks.jsonl"))
    rows = [r for r in rows if a.split == "all" or split_of(r["id"]) == a.split]
    out = classify(rows, a.weights)
    preds = [o.get("task", "error") for o in out]
    report(f"tasks.jsonl ({a.split})", rows, preds, a.errors)
    for src in sorted({r["source"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["source"] == src]
        ok = sum(rows[i]["task"] == preds[i] for i in idx)
        print(f"  source {src:14} {ok}/{len(idx)} = {ok / len(idx):.3f}")
    if a.extra:
        extra = []
        p = os.path.join(a.extra, "mtbench.jsonl")
        if os.path.exists(p):
            for r in read_jsonl(p):
                extra.append({"prompt": r["turns"][0], "task": MTBENCH[r["category"]], "source": "mtbench"})
        p = os.path.join(a.extra, "humaneval.jsonl")
        if os.path.exists(p):
            extra += [{"prompt": r["prompt"], "task": "code", "source": "humaneval"} for r in read_jsonl(p)]
        p = os.path.join(a.extra, "geneval.jsonl")
        if os.path.exists(p):
            extra += [{"prompt": r["prompt"], "task": "image_generation", "source": "geneval"} for r in read_jsonl(p)]
        p = os.path.join(a.extra, "probes.jsonl")
        if os.path.exists(p):
            extra += [dict(r, source="probes") for r in read_jsonl(p)]
        if extra:
            out = classify(extra, a.weights)
            preds = [o.get("task", "error") for o in out]
            for src in sorted({r["source"] for r in extra}):
                idx = [i for i, r in enumerate(extra) if r["source"] == src]
                sub = [extra[i] for i in idx]
                report(f"external: {src}", sub, [preds[i] for i in idx], 0)


if __name__ == "__main__":
    main()

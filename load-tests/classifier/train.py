"""Fit the strong/weak logistic model and write conf/classifier.json (stdlib only, offline).

    cargo build --release
    python3 load-tests/classifier/train.py --cv                # held-out figures of the fitted model
    python3 load-tests/classifier/train.py --out FILE          # fit on all router/ files, write FILE

The shipped conf/classifier.json holds HAND-SET strong weights, not fitted ones: --cv shows that a
model fitted on some of these files does not beat prompt length on the others (CLASSIFIER.md).
`--out conf/classifier.json` would replace them with the fitted model.

Features are the named values the Rust classifier prints with `switchyard classify --features`, so
training and serving cannot drift apart. Target: soft label (strong - weak + 1) / 2, i.e. the model
ranks prompts by the expected gain of sending them to the strong model. L2-regularised logistic
regression fitted by Newton's method (16 weights; deterministic).

--cv reports, for each router/ file, APGR and CPT(50%) of a model fitted WITHOUT that file
(leave-one-file-out), and for MMLU also 5 folds grouped by subject (fitted without the subjects
it is scored on), next to the length baseline; scores come from the Rust binary loading each
fold's weights file.
"""
import argparse
import hashlib
import json
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import classify  # noqa: E402
from router_data import load, metrics  # noqa: E402

FILES = ["mmlu.jsonl", "gsm8k.jsonl", "routerbench_mbpp.csv", "routerbench_arc_challenge.csv",
         "routerbench_winograde.csv"]
L2 = float(os.environ.get("TRAIN_L2", "30"))
# Features left out of the fit (weight 0): see CLASSIFIER.md for why.
DROP = set(filter(None, os.environ.get("TRAIN_DROP", "").split(",")))


def solve(a, b):
    """Gaussian elimination with partial pivoting (a: n x n, b: n)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) < 1e-12:
            continue
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                if f:
                    for k in range(c, n + 1):
                        m[r][k] -= f * m[c][k]
    return [m[i][n] / m[i][i] if abs(m[i][i]) > 1e-12 else 0.0 for i in range(n)]


def fit(xs, ys, ws, iters=25):
    """Weighted L2 logistic regression; xs rows include a leading 1 for the bias."""
    d = len(xs[0])
    beta = [0.0] * d
    for _ in range(iters):
        g = [0.0] * d
        h = [[0.0] * d for _ in range(d)]
        for x, y, w in zip(xs, ys, ws):
            z = sum(b * v for b, v in zip(beta, x))
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            r = w * (p - y)
            s = w * p * (1 - p)
            for i in range(d):
                if x[i]:
                    g[i] += r * x[i]
                    xi = s * x[i]
                    row = h[i]
                    for j in range(d):
                        if x[j]:
                            row[j] += xi * x[j]
        for i in range(1, d):
            g[i] += L2 * beta[i]
            h[i][i] += L2
        step = solve(h, g)
        beta = [b - s for b, s in zip(beta, step)]
        if max(abs(s) for s in step) < 1e-6:
            break
    return beta


def dataset():
    """All router rows with their feature vectors from the Rust binary."""
    data = {}
    for name in FILES:
        rows = load(name)
        out = classify([{"prompt": r["prompt"]} for r in rows], features=True)
        for r, o in zip(rows, out):
            r["x"] = [0.0 if k in DROP else v for k, v in o["features"].items()]
            r["len"] = len(r["prompt"])
        data[name] = rows
    names = list(out[0]["features"].keys())
    return data, names


def train(rows, names):
    # Each file weighs the same in total, so MMLU's 10k rows do not drown the others.
    per_file = {}
    for r in rows:
        per_file[r["file"]] = per_file.get(r["file"], 0) + 1
    xs = [[1.0] + r["x"] for r in rows]
    ys = [(r["strong"] - r["weak"] + 1) / 2 for r in rows]
    ws = [1000.0 / per_file[r["file"]] for r in rows]
    beta = fit(xs, ys, ws)
    return {"bias": round(beta[0], 4), "weights": {n: round(b, 4) for n, b in zip(names, beta[1:])}}


def weights_file(strong, path):
    with open(path, "w") as f:
        json.dump({"version": 1, "strong": strong, "task_bias": {}}, f, indent=1)
        f.write("\n")


def score_with(strong, rows):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        path = f.name
    weights_file(strong, path)
    try:
        out = classify([{"prompt": r["prompt"]} for r in rows], weights=path)
    finally:
        os.unlink(path)
    return [o["strong"] for o in out]


def fold_of(group, k=5):
    return hashlib.sha256(group.encode()).digest()[0] % k


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cv", action="store_true")
    ap.add_argument("--out", default=None, help="write the fitted weights here (e.g. conf/classifier.json)")
    a = ap.parse_args()
    data, names = dataset()
    for name, rows in data.items():
        for r in rows:
            r["file"] = name
    if not a.cv:
        strong = train([r for rows in data.values() for r in rows], names)
        print(json.dumps(strong, indent=1))
        if a.out:
            weights_file(strong, a.out)
            print(f"wrote {a.out}")
        return
    print(f"{'held-out file':32} {'scheme':26} {'APGR':>6} {'CPT50':>6}   {'baseline APGR':>13} {'CPT50':>6}")
    for name in FILES:
        test = data[name]
        trainset = [r for n, rows in data.items() if n != name for r in rows]
        strong = train(trainset, names)
        m = metrics(test, score_with(strong, test))
        b = metrics(test, [r["len"] for r in test])
        print(f"{name:32} {'leave-one-file-out':26} {m['apgr']:6.3f} {m['cpt50']:6.3f}   {b['apgr']:13.3f} {b['cpt50']:6.3f}")
    # MMLU by subject folds: fitted on the other files plus the other subjects' folds.
    mmlu = data["mmlu.jsonl"]
    others = [r for n, rows in data.items() if n != "mmlu.jsonl" for r in rows]
    scores = [0.0] * len(mmlu)
    for k in range(5):
        idx = [i for i, r in enumerate(mmlu) if fold_of(r["group"]) == k]
        trainset = others + [r for r in mmlu if fold_of(r["group"]) != k]
        strong = train(trainset, names)
        for i, s in zip(idx, score_with(strong, [mmlu[i] for i in idx])):
            scores[i] = s
    m = metrics(mmlu, scores)
    b = metrics(mmlu, [r["len"] for r in mmlu])
    print(f"{'mmlu.jsonl':32} {'5 folds by subject':26} {m['apgr']:6.3f} {m['cpt50']:6.3f}   {b['apgr']:13.3f} {b['cpt50']:6.3f}")


if __name__ == "__main__":
    main()

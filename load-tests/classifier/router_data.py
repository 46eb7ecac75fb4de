"""Strong/weak routing data (RouteLLM metrics): loading and PGR / APGR / CPT computation."""
import ast
import csv
import json
import os

from common import DATA

STRONG_MODEL = "gpt-4-1106-preview"
WEAK_MODEL = "mistralai/mixtral-8x7b-chat"


def load(name):
    """Rows {"id", "prompt", "strong": 0/1, "weak": 0/1, "group"} of one router/ file."""
    path = os.path.join(DATA, "router", name)
    rows = []
    if name.endswith(".jsonl"):
        with open(path, encoding="utf-8") as f:
            for l in f:
                r = json.loads(l)
                group = r["id"].rsplit(":", 1)[0]
                rows.append({"id": r["id"], "prompt": r["prompt"], "strong": int(r["strong"]), "weak": int(r["weak"]),
                             "group": group})
    else:
        with open(path, encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                if not r.get(STRONG_MODEL) or not r.get(WEAK_MODEL):
                    continue  # a model's result is missing for this prompt
                p = r["prompt"]
                try:
                    v = ast.literal_eval(p)
                    p = "\n".join(v) if isinstance(v, list) else str(v)
                except (ValueError, SyntaxError):
                    pass
                rows.append({"id": r["sample_id"], "prompt": p, "strong": int(float(r[STRONG_MODEL])),
                             "weak": int(float(r[WEAK_MODEL])), "group": r["eval_name"]})
    return rows


def pgr_curve(rows, scores):
    """PGR at every share of strong calls (0..1), routing the highest scores to the strong model.
    Tied scores are routed in expectation (linear within a tie group), so ties cannot flatter a
    router. Returns (shares, pgrs, q_weak, q_strong)."""
    n = len(rows)
    q_weak = sum(r["weak"] for r in rows) / n
    q_strong = sum(r["strong"] for r in rows) / n
    order = sorted(range(n), key=lambda i: -scores[i])
    gain = [rows[i]["strong"] - rows[i]["weak"] for i in order]
    pts = [(0, 0.0)]
    i = 0
    cum = 0.0
    while i < n:
        j = i
        while j < n and scores[order[j]] == scores[order[i]]:
            j += 1
        cum += sum(gain[i:j])
        pts.append((j, cum))
        i = j
    shares, pgrs = [], []
    denom = (q_strong - q_weak) * n
    # Expand to every integer k by interpolation inside tie groups.
    for (k0, c0), (k1, c1) in zip(pts, pts[1:]):
        for k in range(k0, k1):
            c = c0 + (c1 - c0) * (k - k0) / (k1 - k0)
            shares.append(k / n)
            pgrs.append(c / denom if denom else 0.0)
    shares.append(1.0)
    pgrs.append(pts[-1][1] / denom if denom else 0.0)
    return shares, pgrs, q_weak, q_strong


def apgr(shares, pgrs):
    return sum((s1 - s0) * (p0 + p1) / 2 for s0, s1, p0, p1 in zip(shares, shares[1:], pgrs, pgrs[1:]))


def cpt(shares, pgrs, target=0.5):
    for s0, s1, p0, p1 in zip(shares, shares[1:], pgrs, pgrs[1:]):
        if p1 >= target:
            if p0 >= target:
                return s0
            return s0 + (s1 - s0) * (target - p0) / (p1 - p0)
    return 1.0


def metrics(rows, scores):
    shares, pgrs, qw, qs = pgr_curve(rows, scores)
    curve = {f"{x:.1f}": round(pgrs[min(range(len(shares)), key=lambda i: abs(shares[i] - x))], 3)
             for x in [0.1 * k for k in range(11)]}
    return {"apgr": apgr(shares, pgrs), "cpt50": cpt(shares, pgrs, 0.5), "cpt80": cpt(shares, pgrs, 0.8),
            "q_weak": qw, "q_strong": qs, "curve": curve}

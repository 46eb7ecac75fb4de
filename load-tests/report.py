#!/usr/bin/env python3
"""Medians and budget checks of a load-tests/run.sh result directory (stdlib only).

Reads the wrk outputs written by `peers.sh bench` (renamed to LABEL.rRUN-cC.txt, CPU/RSS line appended by
peers.sh), the time-to-first-event files of ttfb.py (LABEL.rRUN.ttfb.json) and the 1,000-stream result of
streams.py (streams.json), and prints Markdown: one table of medians, then the budget checks.
Usage: report.py RESULT_DIR
"""
import glob
import json
import os
import re
import statistics
import sys

NOISE_MAX = float(os.environ.get("NOISE_MAX", "0.35"))  # as in run.sh: checks built on noisier rows are flagged
UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def parse_wrk(path):
    """The same fields as /work/shared/peers/summarize.py, for one file."""
    t = open(path).read()
    if "Requests/sec" not in t:
        return None
    n = int(re.search(r"(\d+) requests in", t).group(1))
    dur = float(re.search(r"requests in ([\d.]+)s", t).group(1))
    pct = {p: float(v) * UNIT_MS[u] for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", t, re.M)}
    non2 = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    sock = re.search(r"Socket errors: (.*)", t)
    g = re.search(r"gateway_cpu_ticks=(\d+) nginx_cpu_ticks=(\d+) gateway_rss_kb=(\d+)", t)
    o = re.search(r"other_cpu_ticks=(-?\d+)", t)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)),
        "p50": pct.get("50"),
        "p99": pct.get("99"),
        "errors": (int(non2.group(1)) if non2 else 0) + (1 if sock else 0),
        "cpu": int(g.group(1)) * 10.0 / n if g and n and int(g.group(1)) else None,  # ms CPU per request
        "rss": int(g.group(3)) / 1024 if g and int(g.group(3)) else None,  # MiB at the end of the run
        "noise": int(o.group(1)) / (dur * 100) if o else None,  # busy cores used by other processes
    }


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def main(d):
    runs = {}  # (label, c) -> [parsed]
    for f in sorted(glob.glob(os.path.join(d, "*.r*-c*.txt"))):
        m = re.match(r"(.+)\.r(\d+)-c(\d+)\.txt$", os.path.basename(f))
        p = parse_wrk(f) if m else None
        if p:
            runs.setdefault((m.group(1), int(m.group(3))), []).append(p)
    ttfb = {}  # label -> [run results]
    for f in sorted(glob.glob(os.path.join(d, "*.r*.ttfb.json"))):
        label = re.match(r"(.+)\.r\d+(\.\d+)?\.ttfb\.json$", os.path.basename(f)).group(1)
        ttfb.setdefault(label, []).append(json.load(open(f)))

    M = {}
    for (label, c), rs in runs.items():
        M[(label, c)] = {k: med([r[k] for r in rs]) for k in ("rps", "p50", "p99", "cpu", "rss")}
        M[(label, c)]["noise"] = max((r["noise"] for r in rs if r["noise"] is not None), default=None)
        M[(label, c)]["errors"] = sum(r["errors"] for r in rs)
        M[(label, c)]["n"] = len(rs)

    order = ["direct", "floor", "switchyard", "switchyard-nolog", "messages", "responses", "pinned-long", "auto",
             "policies", "litellm", "portkey", "tensorzero"]
    labels = sorted({l for l, _ in M}, key=lambda l: (l.startswith("s-"), order.index(l[2:] if l.startswith("s-") else l)
                                                      if (l[2:] if l.startswith("s-") else l) in order else 99, l))
    print("### Medians\n")
    print("| target | mode | c | req/s | ×floor | p50 ms | p99 ms | CPU ms/req | ×floor | RSS MiB | noise (max) | errors | runs |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for label in labels:
        stream = label.startswith("s-")
        name = label[2:] if stream else label
        floor = "s-floor" if stream else "floor"
        for c in (1, 32):
            r = M.get((label, c))
            if not r:
                continue
            f = M.get((floor, c), {})
            xr = r["rps"] / f["rps"] if f.get("rps") and name != "floor" else None
            xc = r["cpu"] / f["cpu"] if r["cpu"] and f.get("cpu") and name != "floor" else None
            print(f"| {name} | {'SSE' if stream else 'JSON'} | {c} | {r['rps']:.0f} | {fmt(xr, '.2f')} | {fmt(r['p50'], '.3f')} "
                  f"| {fmt(r['p99'], '.3f')} | {fmt(r['cpu'], '.3f')} | {fmt(xc, '.2f')} | {fmt(r['rss'], '.0f')} "
                  f"| {fmt(r['noise'], '.2f')} | {r['errors']} | {r['n']} |")
    if ttfb:
        print("\n### Time to first SSE event at c1 (ttfb.py: sequential requests on one keep-alive connection; medians of the samples' p50 and p99)\n")
        print("| target | p50 ms | p99 ms | requests per sample | samples |")
        print("|---|--:|--:|--:|--:|")
        for label, rs in sorted(ttfb.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99):
            print(f"| {label} | {med([r['p50_ms'] for r in rs]):.3f} | {med([r['p99_ms'] for r in rs]):.3f} | {rs[0]['n']} | {len(rs)} |")

    print("\n### Budget checks\n")
    print("| check | value | budget | result |")
    print("|---|--:|--:|---|")

    def check(name, v, budget, ok, rows=()):
        noisy = max((r["noise"] for r in rows if r and r.get("noise") is not None), default=0.0)
        tag = f" (noisy: {noisy:.2f} cores busy elsewhere)" if noisy > NOISE_MAX else ""
        if v is None:
            print(f"| {name} | – | {budget} | not measured |")
        else:
            print(f"| {name} | {v} | {budget} | {'PASS' if ok else '**FAIL**'}{tag} |")

    for sy in ("switchyard", "switchyard-nolog"):
        tag = "" if sy == "switchyard" else " (access_log off)"
        for pre, mode in (("", "JSON"), ("s-", "SSE")):
            a, f = M.get((pre + sy, 32)), M.get((pre + "floor", 32))
            if a and f:
                x = a["rps"] / f["rps"]
                check(f"{mode}{tag}: throughput c32 / floor", f"{x:.2f}", "≥ 0.70", x >= 0.70, (a, f))
            for c in (1, 32):
                a, f = M.get((pre + sy, c)), M.get((pre + "floor", c))
                if a and f and a["cpu"] and f["cpu"]:
                    x = a["cpu"] / f["cpu"]
                    check(f"{mode}{tag}: CPU/request c{c} / floor", f"{x:.2f}× ({a['cpu']:.3f} vs {f['cpu']:.3f} ms)",
                          "≤ 1.5×", x <= 1.5, (a, f))
        a, dr = M.get((sy, 1)), M.get(("direct", 1))
        if a and dr:
            for p, b in (("p50", 0.15), ("p99", 0.40)):
                x = a[p] - dr[p]
                check(f"JSON{tag}: added latency c1 {p} (wrk, whole response)", f"{x:.3f} ms", f"≤ {b:.2f} ms", x <= b, (a, dr))
        a, dr = ttfb.get(sy), ttfb.get("direct")
        if a and dr:
            for p, b in (("p50", 0.15), ("p99", 0.40)):
                x = med([r[p + "_ms"] for r in a]) - med([r[p + "_ms"] for r in dr])
                check(f"SSE{tag}: added time to first event c1 {p}", f"{x:.3f} ms", f"≤ {b:.2f} ms", x <= b)
        a, dr = M.get(("s-" + sy, 1)), M.get(("s-direct", 1))
        if a and dr:
            for p in ("p50", "p99"):
                x = a[p] - dr[p]
                print(f"| SSE{tag}: added whole-response latency c1 {p} (wrk, for reference) | {x:.3f} ms | – | – |")
    # The other paths (pinned OpenAI pass-through's budgets apply to them too), auto against its pinned twin
    # on the same prompt, and the example policies on.
    f32 = M.get(("floor", 32))
    for label, name, cpu_budget in (("messages", "Messages → OpenAI", 1.5), ("responses", "Responses → OpenAI", 1.5),
                                    ("auto", "auto (300-word prompt, 9 models)", 1.5),
                                    ("policies", "policies on (example firewall + rules)", 1.6)):
        a = M.get((label, 32))
        if a and f32:
            x = a["rps"] / f32["rps"]
            check(f"{name}: throughput c32 / floor", f"{x:.2f}", "≥ 0.70", x >= 0.70, (a, f32))
            if a["cpu"] and f32["cpu"]:
                x = a["cpu"] / f32["cpu"]
                check(f"{name}: CPU/request c32 / floor", f"{x:.2f}×", f"≤ {cpu_budget}×", x <= cpu_budget, (a, f32))
    a, p = M.get(("auto", 32)), M.get(("pinned-long", 32))
    if a and p and f32:
        ra, rp = a["rps"] / f32["rps"], p["rps"] / f32["rps"]
        check("auto vs the same request pinned: throughput ratio to the floor, c32", f"{ra:.2f} vs {rp:.2f}",
              "within 0.10", rp - ra <= 0.10, (a, p, f32))
        if a["cpu"] and p["cpu"]:
            print(f"| auto: CPU added over pinned, per request (c32, for reference) | {(a['cpu'] - p['cpu']) * 1000:.1f} µs | – | – |")
    hwm = os.path.join(d, "peak-rss.txt")
    if os.path.exists(hwm):
        for line in open(hwm):
            name, kb = line.split()
            print(f"| peak RSS (VmHWM) of {name} after all benchmark runs | {int(kb) / 1024:.1f} MiB | – | – |")
    for f, name in (("streams.json", "Switchyard"), ("streams-floor.json", "floor (reference, no budget)")):
        sp = os.path.join(d, f)
        if not os.path.exists(sp):
            continue
        s = json.load(open(sp))
        mib = s["vm_hwm_kb"] / 1024
        label = (f"{name}: RSS with {s['streams_open']}/{s['n']} concurrent open streams (VmHWM; idle "
                 f"{s['idle_rss_kb'] / 1024:.1f} MiB, {(s['vm_hwm_kb'] - s['idle_rss_kb']) / max(1, s['streams_open']):.0f} KiB/stream)")
        if f == "streams.json":
            check(label, f"{mib:.1f} MiB", "≤ 64 MiB", mib <= 64 and s["streams_open"] == s["n"])
        else:
            print(f"| {label} | {mib:.1f} MiB | – | – |")

    # Peers, same run: how Switchyard compares.
    peers = [p for p in ("litellm", "portkey", "tensorzero") if (p, 32) in M]
    if peers and ("switchyard", 32) in M:
        print("\n### Switchyard against the peers (same run, medians)\n")
        print("| mode | peer | peer req/s c32 | Switchyard ÷ peer (req/s c32) | peer CPU ms/req c32 | peer ÷ Switchyard (CPU/req) | peer p50 c1 ms |")
        print("|---|---|--:|--:|--:|--:|--:|")
        for pre, mode in (("", "JSON"), ("s-", "SSE")):
            sy = M.get((pre + "switchyard", 32))
            for p in peers:
                r, r1 = M.get((pre + p, 32)), M.get((pre + p, 1))
                if not (sy and r):
                    continue
                cpu = f"{r['cpu'] / sy['cpu']:.1f}" if r["cpu"] and sy["cpu"] else "–"
                print(f"| {mode} | {p} | {r['rps']:.0f} | {sy['rps'] / r['rps']:.1f}× | {fmt(r['cpu'], '.3f')} | {cpu}× "
                      f"| {fmt(r1['p50'] if r1 else None, '.3f')} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")

"""Long prompts (7-30 KB): a request at the start or the end of a pasted document or source file.

    cargo build --release
    python3 load-tests/classifier/long_prompts.py                  # accuracy per task and position
    python3 load-tests/classifier/long_prompts.py --against OTHER  # + agreement with another build

The routing bench's prompts are all under 3 KB, so it cannot show how the classifier treats a
long document with an instruction around it ("Summarize the following: <a licence>"), nor what
reading only a window of a long prompt changes. This builds such prompts from text files found on
a Debian machine with a Rust toolchain: the licences in /usr/share/common-licenses, git's release
notes, READMEs of crates in the Cargo registry (prose), Python's standard library and crate sources
(code). Each document is cut at a line to 7-30 KB (seeded) and wrapped in one of a few requests,
at its head or its tail. The set depends on the files present, so figures are comparable between
builds on one machine, not across machines.
"""
import argparse
import glob
import os
import random
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(__file__))
from common import classify  # noqa: E402

PROSE_REQUESTS = {
    "summarization": [("Summarize the following document in five bullet points:\n\n{d}",
                       "{d}\n\nSummarize the text above in one paragraph."),
                      ("Give me a short summary of this:\n\n{d}", "{d}\n\nTL;DR?")],
    "translation": [("Translate the following text into German:\n\n{d}",
                     "{d}\n\nTranslate all of the above into Spanish.")],
    "extraction": [("Extract every version number and date from the following text and return them as a JSON list:"
                    "\n\n{d}",
                    "{d}\n\nFrom the text above, list every project, tool or person name it mentions, as a JSON array.")],
}
CODE_REQUESTS = {
    "code": [("Find the bug in this code and explain how to fix it:\n\n```\n{d}\n```",
              "```\n{d}\n```\n\nRefactor the code above to be more idiomatic and add unit tests for it."),
             ("Explain what this module does, function by function:\n\n{d}",
              "{d}\n\nWrite docstrings for every public function above.")],
}


def documents():
    home = os.path.expanduser("~")
    size = os.path.getsize
    prose = [p for p in sorted(glob.glob("/usr/share/common-licenses/*")) if size(p) > 9000]
    prose += sorted(glob.glob("/usr/share/doc/git/RelNotes/2.*.txt"))[:40]
    prose += [p for p in sorted(glob.glob(f"{home}/.cargo/registry/src/*/*/README.md")) if size(p) > 8000]
    code = [p for p in sorted(glob.glob("/usr/lib/python3*/*.py")) if size(p) > 12000][:60]
    code += [p for p in sorted(glob.glob(f"{home}/.cargo/registry/src/*/*/src/*.rs")) if size(p) > 12000][:80]
    return prose, code


def build(seed=7):
    rng = random.Random(seed)

    def cut(t):
        n = rng.randint(7000, 30000)
        if len(t) <= n:
            return t
        i = t.rfind("\n", 0, n)
        return t[: i if i > 0 else n]

    prose, code = documents()
    rows = []
    for paths, requests in ((prose, PROSE_REQUESTS), (code, CODE_REQUESTS)):
        for task, forms in requests.items():
            for p in paths:
                try:
                    d = open(p, encoding="utf-8").read()
                except (OSError, UnicodeDecodeError):
                    continue
                if len(d) < 7000:
                    continue
                head, tail = rng.choice(forms)
                rows.append({"task": task, "where": "head", "prompt": head.format(d=cut(d))})
                rows.append({"task": task, "where": "tail", "prompt": tail.format(d=cut(d))})
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--against", help="another switchyard binary to compare with")
    a = ap.parse_args()
    rows = build()
    if not rows:
        sys.exit("no documents found (see the module doc for where they are looked for)")
    ours = classify(rows)
    other = classify(rows, bin_path=a.against) if a.against else None
    by = defaultdict(lambda: [0, 0, 0])
    for i, (r, o) in enumerate(zip(rows, ours)):
        k = by[(r["task"], r["where"])]
        k[0] += 1
        k[1] += o["task"] == r["task"]
        k[2] += bool(other) and other[i]["task"] == r["task"]
    head = f"{'task':14} {'request':7} {'n':>4} {'correct':>8}" + (f" {'other':>6}" if other else "")
    print(head)
    for (task, where), (n, ok, ok2) in sorted(by.items()):
        print(f"{task:14} {where:7} {n:4d} {ok:8d}" + (f" {ok2:6d}" if other else ""))
    n, ok, ok2 = (sum(v[i] for v in by.values()) for i in range(3))
    print(f"{'all':22} {n:4d} {ok:8d}" + (f" {ok2:6d}" if other else "") + f"   accuracy {ok / n:.3f}")
    if other:
        same = sum(x["task"] == y["task"] for x, y in zip(ours, other))
        tier = sum(x["complexity_tier"] == y["complexity_tier"] for x, y in zip(ours, other))
        ds = sorted(abs(x["strong"] - y["strong"]) for x, y in zip(ours, other))
        print(f"agreement with {a.against}: task {same}/{n}, tier {tier}/{n}, "
              f"|Δ strong| median {ds[n // 2]:.3f}, max {ds[-1]:.3f}")


if __name__ == "__main__":
    main()

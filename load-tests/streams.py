#!/usr/bin/env python3
"""Peak memory of the gateway with N concurrent open streams (stdlib only, asyncio).

Opens N streaming chat requests at once (one connection each) against the gateway, whose upstream
streams slowly (run.sh: a second Switchyard instance, 5 tokens/s), waits until every stream has
delivered its first SSE event, keeps draining them for --hold seconds while sampling VmRSS/VmHWM of the
gateway process (--pid), then closes them all. Prints one JSON line (and writes --out).
Raise `ulimit -n` first: N client sockets here, 2N in the gateway.
Usage: streams.py --url URL --key KEY --model M --pid PID [--n 1000] [--hold 3] [--out FILE]
"""
import argparse
import asyncio
import json
import time
import urllib.parse


def status_kb(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "Threads"):
            out[k] = int(v.split()[0])
    return out


async def one(u, req, first, opened, sem, errors):
    async with sem:  # bound the connect burst; streams stay open after the first event
        try:
            r, w = await asyncio.open_connection(u.hostname, u.port)
        except OSError as e:
            errors.append(f"connect: {e}")
            return None
        w.write(req)
        await w.drain()
        status = await r.readline()
        if b" 200 " not in status:
            errors.append(status.decode(errors="replace").strip() or "no status line")
            w.close()
            return None
        while True:
            line = await r.readline()
            if not line:
                errors.append("closed before the first event")
                w.close()
                return None
            if line.startswith(b"data:"):
                break
    opened.append(time.monotonic())
    if len(opened) == first.n:
        first.set()
    return r, w


async def drain(r):
    try:
        while await r.read(65536):
            pass
    except (OSError, asyncio.CancelledError):
        pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--hold", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--out")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    body = json.dumps({"model": a.model, "stream": True, "max_tokens": 100,
                       "messages": [{"role": "user", "content": "Tell me a long story."}]}).encode()
    req = (f"POST {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: Bearer {a.key}\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    idle = status_kb(a.pid)
    first = asyncio.Event()
    first.n = a.n
    opened, errors = [], []
    sem = asyncio.Semaphore(100)
    t0 = time.monotonic()
    tasks = [asyncio.create_task(one(u, req, first, opened, sem, errors)) for _ in range(a.n)]
    try:
        await asyncio.wait_for(first.wait(), a.timeout)
    except asyncio.TimeoutError:
        pass
    t_open = time.monotonic() - t0
    conns = [t.result() for t in tasks if t.done() and t.result()]
    drains = [asyncio.create_task(drain(r)) for r, _ in conns]
    samples = [status_kb(a.pid)]
    end = time.monotonic() + a.hold
    while time.monotonic() < end:
        await asyncio.sleep(0.25)
        samples.append(status_kb(a.pid))
    res = {
        "n": a.n, "streams_open": len(conns), "seconds_to_open_all": round(t_open, 2),
        "idle_rss_kb": idle["VmRSS"], "vm_rss_kb": max(s["VmRSS"] for s in samples),
        "vm_hwm_kb": max(s["VmHWM"] for s in samples), "threads": samples[-1].get("Threads"),
        "errors": len(errors), "first_errors": sorted(set(errors))[:5],
    }
    for d in drains:
        d.cancel()
    for t in tasks:
        t.cancel()
    for _, w in conns:
        w.close()
    await asyncio.gather(*drains, *tasks, return_exceptions=True)
    print(json.dumps(res))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f)


if __name__ == "__main__":
    asyncio.run(main())

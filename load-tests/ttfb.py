#!/usr/bin/env python3
"""Time to the first SSE event at concurrency 1 (stdlib only).

wrk times whole responses; for the tiny static SSE answer of the fake upstream that is close to, but not
the same as, the time to first byte. This sends streaming chat requests one after another on one
keep-alive connection (raw socket, TCP_NODELAY, like wrk) and times each from just before the request
is written until the received bytes contain the first `data:` of the body, then reads the rest of the
response (Content-Length or chunked framing). The client's work per byte is the same whatever the
framing, and its overhead is the same for every target, so compare targets by difference (run.sh:
Switchyard minus direct).
Usage: ttfb.py --url URL [--key KEY] [--model M] [--n 2000] [--warmup 200] [--out FILE]
"""
import argparse
import json
import socket
import statistics
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", default="")
    ap.add_argument("--model", default="gpt-4o-mini")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--out")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    body = json.dumps({
        "model": a.model, "stream": True, "max_tokens": 32,
        "messages": [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "Say hello in one short sentence."}],
    }, separators=(",", ":")).encode()
    auth = f"Authorization: Bearer {a.key}\r\n" if a.key else ""
    req = (f"POST {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\n{auth}Content-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    sock = socket.create_connection((u.hostname, u.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples, errors = [], 0
    for i in range(a.warmup + a.n):
        t0 = time.perf_counter()
        sock.sendall(req)
        buf, first, end = b"", None, None
        while True:
            data = sock.recv(65536)
            if not data:
                raise SystemExit(f"ttfb: {a.url} closed the connection")
            buf += data
            h = buf.find(b"\r\n\r\n")
            if h < 0:
                continue
            if first is None and b"data:" in buf[h + 4:]:
                first = time.perf_counter() - t0
            head = buf[:h].lower()
            if end is None and b"content-length:" in head:
                end = h + 4 + int(head.split(b"content-length:")[1].split(b"\r\n")[0])
            if (end is not None and len(buf) >= end) or (end is None and buf.endswith(b"\r\n0\r\n\r\n")):
                break
        if not buf.startswith(b"HTTP/1.1 200") or first is None:
            errors += 1
        elif i >= a.warmup:
            samples.append(first * 1e3)
    if not samples:
        raise SystemExit(f"ttfb: no successful stream from {a.url}")
    samples.sort()
    q = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]
    res = {"url": a.url, "n": len(samples), "errors": errors, "p50_ms": statistics.median(samples),
           "p90_ms": q(0.90), "p99_ms": q(0.99), "mean_ms": statistics.fmean(samples)}
    print(json.dumps(res))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f)


if __name__ == "__main__":
    main()

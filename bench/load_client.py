#!/usr/bin/env python3
"""Load client for `motive serve` (standard library only).

N threads, each with one keep-alive HTTP connection, POST the same video to /v1/predict for a
fixed time. Prints one JSON object: requests, requests/s, latency percentiles (ms) and errors
(any answer but 200, or a failed connection), with the first few error reasons.

    python3 bench/load_client.py --port 8080 --video clip.mp4 --clients 16 --seconds 60
"""
import argparse
import http.client
import json
import threading
import time


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def client(args, body, stop_at, results, lock):
    latencies, errors, reasons = [], 0, []
    connection = None
    while time.monotonic() < stop_at:
        start = time.monotonic()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(args.host, args.port, timeout=120)
            connection.request("POST", args.path, body=body, headers={"Content-Type": "video/mp4"})
            response = connection.getresponse()
            payload = response.read()
            if response.status == 200:
                latencies.append((time.monotonic() - start) * 1000)
            else:
                errors += 1
                reasons.append(f"{response.status}: {payload[:200]!r}")
        except Exception as error:  # a failed request is an error, whatever the cause
            errors += 1
            reasons.append(repr(error))
            if connection is not None:
                connection.close()
            connection = None
    if connection is not None:
        connection.close()
    with lock:
        results["latencies"].extend(latencies)
        results["errors"] += errors
        results["reasons"].extend(reasons[:3])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/v1/predict")
    parser.add_argument("--video", required=True)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    with open(args.video, "rb") as f:
        body = f.read()
    results = {"latencies": [], "errors": 0, "reasons": []}
    lock = threading.Lock()
    started = time.monotonic()
    stop_at = started + args.seconds
    threads = [threading.Thread(target=client, args=(args, body, stop_at, results, lock)) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies = sorted(results["latencies"])
    print(json.dumps({
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": round(percentile(latencies, 50) or 0, 1),
        "p90_ms": round(percentile(latencies, 90) or 0, 1),
        "p99_ms": round(percentile(latencies, 99) or 0, 1),
        "max_ms": round(latencies[-1] if latencies else 0, 1),
        "errors": results["errors"],
        "error_examples": results["reasons"][:5],
    }))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Quick cross-node delivery latency: one sender on the first node, receivers on every node.

    python3 scripts/quick_latency.py http://127.0.0.1:8081 http://127.0.0.1:8082 http://127.0.0.1:8083 \
        --messages 2000 --rate 200 --receivers-per-node 5

Prints ack latency and send-to-receipt latency per receiving node (p50, p99, max, in ms), and
checks that every receiver saw every message once, in order. A quick figure, not the benchmark
(issue 5's load tool is that).
"""
import argparse
import json
import statistics
import threading
import time
import uuid

from websockets.sync.client import connect


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("urls", nargs="+")
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=200.0, help="sends per second")
    ap.add_argument("--receivers-per-node", type=int, default=3)
    args = ap.parse_args()
    room = "lat-" + uuid.uuid4().hex[:8]
    ws = [u.replace("http://", "ws://").rstrip("/") + "/ws" for u in args.urls]

    def open_client(url, user):
        c = connect(url, open_timeout=10, max_size=None)
        c.send(json.dumps({"type": "hello", "user": user}))
        json.loads(c.recv(timeout=10))
        c.send(json.dumps({"type": "join", "room": room}))
        while json.loads(c.recv(timeout=10))["type"] != "joined":
            pass
        return c

    sent_at = {}
    received = {}  # (node index) -> list of latencies
    problems = []
    receivers = []
    for i, url in enumerate(ws):
        for k in range(args.receivers_per_node):
            receivers.append((i, open_client(url, f"r{i}-{k}")))
    sender = open_client(ws[0], "sender")
    acks = []
    done = threading.Event()

    def read(index, client):
        last = 0
        count = 0
        while count < args.messages:
            f = json.loads(client.recv(timeout=30))
            if f["type"] != "message":
                continue
            now = time.perf_counter()
            if f["seq"] != last + 1:
                problems.append(f"receiver on node {index}: seq {f['seq']} after {last}")
            last = f["seq"]
            count += 1
            received.setdefault(index, []).append((now - sent_at[f["id"]]) * 1000)

    threads = [threading.Thread(target=read, args=r, daemon=True) for r in receivers]
    for t in threads:
        t.start()

    def ack_reader():
        pending = args.messages
        while pending:
            f = json.loads(sender.recv(timeout=30))
            if f["type"] == "ack":
                acks.append((time.perf_counter() - sent_at[f["id"]]) * 1000)
                pending -= 1
            elif f["type"] == "error":
                problems.append(f"error {f}")
                pending -= 1
        done.set()

    threading.Thread(target=ack_reader, daemon=True).start()
    interval = 1.0 / args.rate
    start = time.perf_counter()
    for n in range(args.messages):
        target = start + n * interval
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        mid = f"m{n}"
        sent_at[mid] = time.perf_counter()
        sender.send(json.dumps({"type": "send", "room": room, "id": mid, "text": "x" * 64}))
    for t in threads:
        t.join(timeout=60)
    done.wait(timeout=60)
    print(f"room {room}: {args.messages} messages at {args.rate}/s, {len(receivers)} receivers on {len(ws)} nodes")
    print(f"ack latency (sender on {args.urls[0]}): p50 {pct(acks, 50):.2f} ms  p99 {pct(acks, 99):.2f} ms  max {max(acks):.2f} ms")
    for index in sorted(received):
        lat = received[index]
        print(f"delivery to node {args.urls[index]}: {len(lat)} receipts, p50 {pct(lat, 50):.2f} ms  "
              f"p99 {pct(lat, 99):.2f} ms  max {max(lat):.2f} ms  mean {statistics.mean(lat):.2f} ms")
    print("problems:", problems[:5] if problems else "none")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

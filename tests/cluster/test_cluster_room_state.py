"""State only for rooms that are used (issue 11 §2): reading rooms nobody wrote to, over HTTP and
WebSocket `history`, creates no room on any node and leaves every node's memory where it was; a
room with messages still answers from its group. Real node processes (a three-node cluster of
majority groups with a real redis-server) on loopback."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import uuid

import pytest

from chat_harness import rss_kb, unique
from group_ops import post

pytestmark = pytest.mark.timeout(300)

IDS = ("n1", "n2", "n3")
# CI reads 20,000 names (about 35 s); the 100,000 take about 170 s on two cores and are
# run by hand: CHAT_ROOM_FLOOD_READS=100000 (BENCHMARKS.md, "Reads of unknown rooms").
READS = int(os.environ.get("CHAT_ROOM_FLOOD_READS", "20000"))


def replicas(node) -> int:
    return node.get("/cluster").json()["groups"]["replicas"]


def flood(nodes, reads: int, threads: int = 6) -> tuple[int, list[str]]:
    """`reads` GETs of random room names, spread over the nodes (keep-alive connections): half
    `/rooms/{r}/messages`, half `/rooms/{r}`. Returns (answers, unexpected answers)."""
    counts = [0] * threads
    problems: list[str] = []

    def run(t: int) -> None:
        node = nodes[t % len(nodes)]
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10)
        for i in range(reads // threads):
            room = "flood-" + uuid.uuid4().hex[:16]
            path = f"/rooms/{room}/messages" if i % 2 else f"/rooms/{room}"
            conn.request("GET", path)
            r = conn.getresponse()
            body = json.loads(r.read())
            ok = r.status == 200 and (body.get("messages") == [] if i % 2 else (body["seq"] == 0 and body["members"] == []))
            if not ok and len(problems) < 10:
                problems.append(f"{node.node_id} {path}: {r.status} {body}")
            counts[t] += 1
        conn.close()

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts), problems


def test_reads_of_unknown_rooms_create_nothing(cluster_factory, module_redis, clients):
    c = cluster_factory(IDS, redis_url=module_redis.url, tag="room-state", replication_factor=3)
    c.wait_formed(30)
    nodes = c.all()
    used = unique("used")
    for i in range(3):
        assert post(nodes[i], used, f"m{i}").status_code == 200
    held = {n.node_id: replicas(n) for n in nodes}
    assert all(h == 1 for h in held.values()), held  # three voters of the one used room
    warm, _ = flood(nodes, 3000)  # allocator and caches at their working size
    rss_before = {n.node_id: rss_kb(n.pid) for n in nodes}

    started = time.monotonic()
    answered, problems = flood(nodes, READS)
    took = time.monotonic() - started
    # WebSocket history of unknown rooms, through every node.
    for n in nodes:
        ws = clients(n, unique("reader"))
        for _ in range(20):
            page = ws.history("flood-" + uuid.uuid4().hex[:16])
            assert page["type"] == "history" and page["messages"] == [], page

    assert problems == [], problems
    growth = {n.node_id: (rss_kb(n.pid) - rss_before[n.node_id]) / 1024 for n in nodes}
    print(f"{answered} reads of unknown rooms in {took:.1f} s ({answered / took:.0f}/s); RSS growth MB: {growth}")
    assert {n.node_id: replicas(n) for n in nodes} == held, "a read created a room"
    assert all(g < 20 for g in growth.values()), f"resident memory grew by {growth} MB"
    # The used room still answers from its group, through any node.
    for n in nodes:
        page = n.get(f"/rooms/{used}/messages").json()["messages"]
        assert [m["text"] for m in page] == ["text m0", "text m1", "text m2"]
        assert n.get(f"/rooms/{used}").json()["seq"] == 3

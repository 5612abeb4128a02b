"""Smoke test of the load tool (issue 5): every chat-bench scenario, for about 3 s with small shapes,
against a real chat-node (one node, then a three-node cluster) and against the broadcast server
that chat-bench starts itself (--compare-broadcast). Each run must exit 0 and its JSON line must say
lost = duplicates = out_of_order = 0 and delivered > 0.

The binary: env CHAT_BENCH_BIN, default <repo>/.build/debug/chat-bench. Nodes are started with a
high per-connection rate limit (the load is far above the default of 20 sends/s); every process is
ours, on 127.0.0.1, stopped by its PID.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from chat_harness import REPO, ChatNode, LocalCluster

pytestmark = pytest.mark.timeout(180)

BENCH_BIN = Path(os.environ.get("CHAT_BENCH_BIN") or REPO / ".build" / "debug" / "chat-bench")
FAST = ["--sends-per-second", "100000", "--send-burst", "100000"]
SMALL = ["--rooms", "2", "--members", "6", "--senders", "2", "--duration", "3", "--drain", "15"]


def run_bench(*args: str, timeout: float = 120) -> dict:
    """Runs chat-bench; asserts exit 0; returns its JSON line (the last line of stdout)."""
    if not BENCH_BIN.exists():
        pytest.fail(f"chat-bench binary {BENCH_BIN} does not exist (build it or set CHAT_BENCH_BIN)")
    argv = [str(BENCH_BIN), *args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=str(REPO))
    print(" ".join(argv))
    print(out.stdout)
    print(out.stderr[-4000:])
    assert out.returncode == 0, f"chat-bench exited {out.returncode}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr[-4000:]}"
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert lines, "chat-bench printed nothing"
    return json.loads(lines[-1])


def assert_clean(run: dict, *, delivered_at_least: int = 1) -> None:
    """One run's JSON object: a correct run that delivered something."""
    assert run["lost"] == 0, run
    assert run["duplicates"] == 0, run
    assert run["out_of_order"] == 0, run
    assert run["inconsistent"] == 0, run
    assert run["unacked"] == 0, run
    assert run["delivered"] >= delivered_at_least, run
    assert run["delivered"] == run["expected_deliveries"], run
    assert run["ok"] is True, run


@pytest.fixture(scope="module")
def node():
    n = ChatNode(FAST, name="bench-node").start()
    yield n
    n.stop()


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(("n1", "n2", "n3"), limits={"sendsPerSecond": 100000, "sendBurst": 100000}, tag="bench")
    try:
        c.start()
        c.wait_formed(timeout=30)
        yield c
    finally:
        c.stop()


def test_fanout_one_node_and_broadcast_limit(node):
    out = run_bench("fanout", "--url", node.ws_url(), *SMALL, "--in-flight", "4", "--compare-broadcast", "--json")
    assert out["scenario"] == "fanout"
    for target in ("nodes", "broadcast"):
        assert_clean(out[target])
        assert out[target]["delivered_per_s"] > 0
        # Every member of a room gets every message: deliveries = acked sends x members.
        assert out[target]["delivered"] == out[target]["acked"] * 6
    assert out["broadcast"]["target"] == "broadcast" and out["nodes"]["target"] == "nodes"
    assert out["ratio"] > 0


def test_latency_one_node_at_a_fixed_rate(node):
    out = run_bench("latency", "--url", node.ws_url(), *SMALL, "--rate", "100", "--json")
    assert_clean(out, delivered_at_least=100 * 3 * 6 // 2)
    assert out["scenario"] == "latency" and out["rate"] == 100
    # A fixed rate is a fixed number of sends: 100/s for 3 s.
    assert abs(out["sent"] - 300) <= 2, out
    assert 0 < out["e2e_ms"]["p50"] <= out["e2e_ms"]["p99"] <= out["e2e_ms"]["p999"] <= out["e2e_ms"]["max"]
    assert out["ack_ms"]["count"] == out["acked"]


def test_latency_find_max_steps_and_stops(node):
    out = run_bench("latency", "--url", node.ws_url(), *SMALL[:6], "--duration", "1", "--rate", "50",
                    "--find-max", "--max-steps", "2", "--json")
    assert out["mode"] == "find-max"
    steps = out["nodes"]["steps"]
    rates = [s["run"]["rate"] for s in steps]
    assert len(rates) == 2 and rates[0] == 50 and rates[1] in (100, 25), rates  # up after a pass, down after a fail
    for step in steps:
        assert_clean(step["run"])
    assert out["nodes"]["max_rate"] in (25, 50, 100, None)


def test_idle_one_node_reports_memory_per_connection(node):
    out = run_bench("idle", "--url", node.ws_url(), "--pid", str(node.pid), "--connections", "60", "--members", "10",
                    "--hold", "1", "--compare-broadcast", "--json")
    for target in ("nodes", "broadcast"):
        run = out[target]
        assert_clean(run, delivered_at_least=60)
        assert run["connections"] == 60
        process = run["processes"][0]
        assert process["rss_after_kib"] > 0 and process["kib_per_connection"] is not None


def test_fanout_and_latency_three_node_cluster(cluster):
    urls = []
    for n in cluster.all():
        urls += ["--url", n.ws_url()]
    out = run_bench("fanout", *urls, *SMALL, "--in-flight", "4", "--json")
    assert_clean(out)
    assert len(out["endpoints"]) == 3
    out = run_bench("latency", *urls, *SMALL, "--rate", "60", "--json")
    assert_clean(out)
    pids = []
    for n in cluster.all():
        pids += ["--pid", str(n.pid)]
    out = run_bench("idle", *urls, *pids, "--connections", "30", "--members", "10", "--hold", "0.5", "--json")
    assert_clean(out, delivered_at_least=30)
    assert [p["connections"] for p in out["processes"]] == [10, 10, 10]


def test_broadcast_server_alone():
    """The limit server started on its own (no node): protocol v1 through the same client code."""
    out = run_bench("fanout", "--compare-broadcast", *SMALL, "--json")
    assert out["target"] == "broadcast"
    assert_clean(out)


def test_bad_arguments_are_refused():
    if not BENCH_BIN.exists():
        pytest.fail(f"chat-bench binary {BENCH_BIN} does not exist")
    for args in (["fanout"], ["fanout", "--url", "http://x:1"], ["fanout", "--url", "ws://127.0.0.1:1", "--senders", "99"],
                 ["idle", "--url", "ws://127.0.0.1:1", "--connections", "15", "--members", "10"]):
        out = subprocess.run([str(BENCH_BIN), *args], capture_output=True, text=True, timeout=30)
        assert out.returncode != 0, args
        assert "Error" in out.stderr or "error" in out.stderr, (args, out.stderr)

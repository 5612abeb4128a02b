"""Smoke test of `chat-chaos` (Sources/ChatChaos): a short chaos run against real chat-node processes
and a real redis-server, all started by chat-chaos itself on 127.0.0.1 and stopped by their PIDs.

The checker is strict (PROTOCOL.md guarantees 2 and 4): a connected client must get every acked
message as a live frame with no gap, and a resume exactly the missed messages; a violation fails
the run, and the report names each one (room, seqs, user/id, node, time, the fault before it).

Binaries: env CHAT_CHAOS_BIN (default: chat-chaos next to CHAT_NODE_BIN, i.e. the same build) and
the node binary of tests/conftest.py (env CHAT_NODE_BIN). The run (3 nodes, 20 s of traffic, 2 faults
of each kind) takes about a minute; pytest-timeout bounds it, and chat-chaos stops every process it
started when it is interrupted.
"""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from chat_harness import LOG_DIR, NODE_BIN, run_chaos

FAULTS_PER_KIND = 2
SEED = 20260101
# Every violation kind the report counts (ViolationKind's raw values).
VIOLATION_KINDS = {
    "gaps_on_live_connections", "resume_gaps", "lost_acked", "missed_deliveries", "duplicates",
    "order_violations", "unfilled_gaps", "seq_conflicts", "message_two_seqs", "id_two_seqs",
    "unanswered_sends", "slow_failover", "presence_not_cleaned", "nodes_not_recovered",
    "clients_not_rejoined", "history_unreadable",
}

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def smoke_run():
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    work = LOG_DIR / f"chaos-{uuid.uuid4().hex[:6]}"
    result = run_chaos(
        "--nodes", "3", "--clients", "9", "--rooms", "3", "--duration", "20",
        "--faults-per-kind", str(FAULTS_PER_KIND), "--seed", str(SEED),
        "--node-binary", str(NODE_BIN), "--work-dir", str(work), "--json",
        timeout=240,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert result.returncode in (0, 1), f"chat-chaos could not run (exit {result.returncode}):\n{result.stderr[-4000:]}"
    assert len(lines) == 1, f"expected one JSON report line, got stdout:\n{result.stdout}\nstderr:\n{result.stderr[-4000:]}"
    return result, json.loads(lines[0])


def test_every_planned_fault_is_injected_and_reported(smoke_run):
    result, report = smoke_run
    expected = {"kill": FAULTS_PER_KIND, "term": FAULTS_PER_KIND, "pause": FAULTS_PER_KIND}
    assert report["faults_injected"] == expected, result.stderr[-4000:]
    assert report["faults_planned"] == 3 * FAULTS_PER_KIND
    assert len(report["faults"]) == 3 * FAULTS_PER_KIND
    assert report["sent"] > 0 and report["acked"] > 0 and report["delivered"] > 0
    assert 0 < report["delivered_live"] <= report["delivered"]
    assert set(report["violations"]) == VIOLATION_KINDS
    assert report["gaps_on_live_connections"] == report["violations"]["gaps_on_live_connections"]
    # The breakdown by the fault before each violation adds up to the total.
    by_fault = report["violations_by_fault"]
    assert set(by_fault) <= {"none", "kill", "term", "pause"}
    assert sum(sum(kinds.values()) for kinds in by_fault.values()) == report["violation_total"]
    # The exit code tells the truth about the report.
    assert (result.returncode == 0) == report["passed"] == (report["violation_total"] == 0)


def test_invariants_hold_under_faults(smoke_run):
    result, report = smoke_run
    keys = ("lost_acked", "duplicates", "order_violations", "gaps_on_live_connections", "violation_total")
    summary = {k: report[k] for k in keys}
    summary["details"] = report["details"]
    assert report["lost_acked"] == 0, f"{summary}\n{result.stderr[-6000:]}"
    assert report["duplicates"] == 0, f"{summary}\n{result.stderr[-6000:]}"
    assert report["order_violations"] == 0, f"{summary}\n{result.stderr[-6000:]}"
    assert report["gaps_on_live_connections"] == 0, f"{summary}\n{result.stderr[-6000:]}"
    assert report["violation_total"] == 0, f"{report['violations']}\n{report['details']}\n{result.stderr[-6000:]}"
    assert result.returncode == 0


def test_same_seed_replays_the_same_schedule():
    args = ("--print-schedule", "--nodes", "5", "--duration", "60", "--faults-per-kind", "6", "--seed", "7")
    first = run_chaos(*args, timeout=30)
    second = run_chaos(*args, timeout=30)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert len(first.stdout.splitlines()) == 18
    other = run_chaos("--print-schedule", "--nodes", "5", "--duration", "60", "--faults-per-kind", "6", "--seed", "8",
                      timeout=30)
    assert other.stdout != first.stdout


def test_network_faults_join_the_replayable_schedule():
    args = ("--print-schedule", "--hosts", "3", "--duration", "60", "--faults-per-kind", "1", "--seed", "7",
            "--faults", "kill", "--net-faults", "partition,vanish,delay")
    first = run_chaos(*args, timeout=30)
    assert first.returncode == 0, first.stderr
    assert first.stdout == run_chaos(*args, timeout=30).stdout
    kinds = sorted(line.split(": ")[1].split()[0] for line in first.stdout.splitlines())
    assert kinds == ["delay", "kill", "partition", "vanish"]


@pytest.mark.parametrize("args", [
    ("--nodes", "3", "--net-faults", "partition"),   # network faults need --hosts
    ("--hosts", "3", "--nodes", "3"),                # --hosts excludes --nodes
    ("--faults", "kill,explode"),                    # unknown kind
])
def test_bad_fault_options_are_refused(args):
    result = run_chaos("--print-schedule", *args, timeout=30)
    assert result.returncode not in (0, 1, 2), result.stdout
    assert "Error" in result.stderr or "error" in result.stderr

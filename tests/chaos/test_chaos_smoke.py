"""Smoke test of `chat-chaos` (Sources/ChatChaos): a short chaos run against real chat-node processes
and a real redis-server, all started by chat-chaos itself on 127.0.0.1 and stopped by their PIDs.

Binaries: env CHAT_CHAOS_BIN (default: chat-chaos next to CHAT_NODE_BIN, i.e. the same build) and
the node binary of tests/conftest.py (env CHAT_NODE_BIN). The run (3 nodes, 20 s of traffic, 2 faults
of each kind) takes about a minute; pytest-timeout bounds it, and chat-chaos stops every process it
started when it is interrupted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from chat_harness import LOG_DIR, NODE_BIN

CHAOS_BIN = Path(os.environ.get("CHAT_CHAOS_BIN") or NODE_BIN.parent / "chat-chaos")
FAULTS_PER_KIND = 2
SEED = 20260101

pytestmark = pytest.mark.timeout(300)


def run_chaos(*args: str, timeout: float) -> subprocess.CompletedProcess:
    if not CHAOS_BIN.exists():
        pytest.fail(f"chat-chaos binary {CHAOS_BIN} does not exist (build it or set CHAT_CHAOS_BIN)")
    # SIGINT on timeout: chat-chaos then stops every node and redis it started (by PID).
    proc = subprocess.Popen([str(CHAOS_BIN), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(2)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        pytest.fail(f"chat-chaos did not finish within {timeout}s\n{err[-4000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


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
    # The exit code tells the truth about the report.
    assert (result.returncode == 0) == report["passed"] == (report["violation_total"] == 0)


def test_invariants_hold_under_faults(smoke_run):
    result, report = smoke_run
    summary = {k: report[k] for k in ("lost_acked", "duplicates", "order_violations", "violation_total")}
    assert report["lost_acked"] == 0, f"{summary}\n{result.stderr[-6000:]}"
    assert report["duplicates"] == 0, f"{summary}\n{result.stderr[-6000:]}"
    assert report["order_violations"] == 0, f"{summary}\n{result.stderr[-6000:]}"
    assert report["violation_total"] == 0, f"{report['violations']}\n{result.stderr[-6000:]}"
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

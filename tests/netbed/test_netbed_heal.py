"""Faults between hosts that heal: blackholed routes and a silent partition of host 1. After the
heal, every node must see every member alive again within HEAL_BOUND seconds (the cluster must not
keep a healed member dead)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from netbed_harness import time_until, views

IDS = ("n1", "n2", "n3")
HEAL_BOUND = 5.0
REPORT_BOUND = 30.0  # how long we keep measuring after the bound, to print what it really took
# Measured times are appended here (one JSON object per line) for BENCHMARKS.md; NETBED_REPEAT=k
# runs each scenario k times (CI: once).
TIMES = Path(os.environ.get("NETBED_TIMES", "test-output/netbed/heal-times.jsonl"))
REPEAT = int(os.environ.get("NETBED_REPEAT", "1"))


def record(**fields) -> None:
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    with TIMES.open("a") as f:
        f.write(json.dumps(fields) + "\n")


def fault_then_heal(bed_cluster, kind: str, seconds: float) -> None:
    bed, c, _ = bed_cluster(3)
    c.wait_formed(timeout=20)
    nodes = c.all()
    fault = bed.fault(kind, 1)
    t_fault = time.monotonic()
    timeline = []
    while time.monotonic() - t_fault < seconds:
        v = views(nodes, timeout=1.0)
        statuses = {nid: {m: s for m, (s, _) in view.items()} if isinstance(view, dict) else view for nid, view in v.items()}
        if not timeline or timeline[-1][1] != statuses:
            timeline.append((round(time.monotonic() - t_fault, 1), statuses))
        time.sleep(0.5)
    print(f"{kind} of host 1 ({fault['peers']}) for {seconds:.0f}s; views (s after the fault, statuses): {timeline}")
    bed.heal()
    t_heal = time.monotonic()

    def healed() -> bool:
        for n in nodes:
            members = n.members(timeout=1.0)
            if not all(members.get(i, {}).get("status") == "alive" for i in IDS):
                return False
        return True

    t = time_until(healed, REPORT_BOUND)
    if t is None:
        pytest.fail(f"after healing the {kind}, not every node saw {IDS} alive within {REPORT_BOUND}s: {views(nodes)}")
    print(f"after healing the {kind}: every node sees every member alive {t:.2f}s after the heal "
          f"(bound {HEAL_BOUND}s)")
    record(kind=kind, fault_seconds=seconds, all_alive_after_heal=round(t, 3))
    ready = time_until(lambda: all(n.ready() for n in nodes), 10)
    print(f"  and /readyz 200 everywhere {time.monotonic() - t_heal:.2f}s after the heal" if ready is not None
          else "  /readyz not 200 everywhere within 10s more")
    assert t <= HEAL_BOUND, f"every member alive everywhere took {t:.2f}s after the heal (bound {HEAL_BOUND}s)"


@pytest.mark.parametrize("run", range(REPEAT))
def test_route_failure_heals(bed_cluster, run):
    fault_then_heal(bed_cluster, "route", 10.0)


@pytest.mark.parametrize("run", range(REPEAT))
@pytest.mark.parametrize("kind", ["asym", "vanish"])
def test_asymmetric_partition_and_vanished_host_heal(bed_cluster, kind, run):
    """Host 1 hears nothing from its peers (asym), or its link goes down (vanish: no RST, no FIN),
    for 12 s: long enough for both sides to declare each other dead."""
    fault_then_heal(bed_cluster, kind, 12.0)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("run", range(REPEAT))
def test_silent_partition_40s_heals(bed_cluster, run):
    fault_then_heal(bed_cluster, "partition", 40.0)

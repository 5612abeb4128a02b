"""A host that vanishes (its link goes down: no RST, no FIN) while it owns a room: the room must
accept sends again through another node within FAILOVER_BOUND seconds of the link going down, with
the next seq and nothing acked before lost."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import requests

from netbed_harness import history, post, room_owned_by, time_until, views

FAILOVER_BOUND = 10.0
GIVE_UP = 40.0  # keep retrying past the bound, to print what it really took
TIMES = Path(os.environ.get("NETBED_TIMES", "test-output/netbed/heal-times.jsonl"))
REPEAT = int(os.environ.get("NETBED_REPEAT", "1"))


@pytest.mark.parametrize("run", range(REPEAT))
def test_vanished_host_fails_over(bed_cluster, run):
    bed, c, _ = bed_cluster(3)
    c.wait_formed(timeout=20)
    n1 = c["n1"]
    room = room_owned_by(n1, "n2", prefix="va")
    for n in c.all():
        assert n.owner(room) == "n2", f"{n.node_id} says {room} is owned by {n.owner(room)}"
    before = []
    for k in range(3):
        r = post(n1, room, "early", f"pre-{k}", f"before the vanish {k}")
        assert r.status_code == 200, f"{r.status_code} {r.text}"
        before.append(r.json()["seq"])
    assert before == [1, 2, 3], before
    time.sleep(1.0)

    bed.fault("vanish", 2)
    t_down = time.monotonic()
    attempts = []
    seq = None
    while time.monotonic() - t_down < GIVE_UP:
        t = time.monotonic()
        try:
            r = post(n1, room, "late", "after-vanish", "after the vanish", timeout=8.0)  # same id: a safe retry
            attempts.append((round(t - t_down, 2), r.status_code, (r.json() or {}).get("code") if r.status_code != 200 else None))
            if r.status_code == 200:
                seq = r.json()["seq"]
                break
        except requests.RequestException as exc:
            attempts.append((round(t - t_down, 2), type(exc).__name__, None))
        time.sleep(0.1)
    took = time.monotonic() - t_down
    summary = attempts if len(attempts) <= 12 else attempts[:4] + ["..."] + attempts[-6:]
    print(f"vanish of n2 (owner of {room}): send via n1 acked {took:.2f}s after link-down, seq {seq}; "
          f"{len(attempts)} attempts {summary}")
    assert seq is not None, f"no ack within {GIVE_UP}s of the vanish; views {views([n1, c['n3']])}"
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    with TIMES.open("a") as f:
        f.write(json.dumps({"kind": "vanish-failover", "writable_after_link_down": round(took, 3)}) + "\n")
    assert took <= FAILOVER_BOUND, f"failover took {took:.2f}s (bound {FAILOVER_BOUND}s)"
    assert seq == 4, f"the next seq after 1..3 must be 4, got {seq}"
    new_owner = n1.owner(room)
    print(f"{room} is now owned by {new_owner}")
    msgs = history(n1, room)
    assert [(m["seq"], m["id"]) for m in msgs] == [(1, "pre-0"), (2, "pre-1"), (3, "pre-2"), (4, "after-vanish")], msgs

    bed.heal(2)
    back = time_until(lambda: all(n.alive_ids() >= {"n1", "n2", "n3"} for n in c.all()), 20)
    print(f"after the heal n2 is alive everywhere again in {back if back is None else round(back, 2)}s")
    assert back is not None, f"n2 not alive everywhere within 20s of the heal: {views(c.all())}"

"""Two of five hosts vanish at the same moment (their links go down: no RST, no FIN), on five
namespaced hosts with Redis on the bed's gateway; rooms are groups of three (issue 10).

- Rooms whose group kept a majority (at most one voter on a vanished host) accept the next seq
  within FAILOVER_BOUND through the surviving hosts and lost nothing acked.
- Rooms whose majority vanished answer every send with 503 `unavailable` (never an ack), and
  `/rooms/{room}` says so; `chat-node rooms recover` is refused while the vanished voters may come
  back.
- The two hosts come back after a "reboot" (their old processes are killed by PID, the network is
  healed, new processes start with empty memory): the doomed rooms' majority is gone for good
  (`quorum_lost`), sends still get 503, and `chat-node rooms recover` (run from outside the hosts)
  rebuilds each room on a survivor, prints the skipped seq range, and the next message follows it,
  with nothing acked missing and no seq given twice.
"""

from __future__ import annotations

import time

import pytest

from group_ops import (assert_doomed_refuse, assert_majority_rooms_writable, assert_quorum_lost, chat_node, recover_and_check,
                       rooms_by_victims, send_before)

pytestmark = pytest.mark.timeout(300)

VICTIMS = ("n4", "n5")
FAILOVER_BOUND = 15.0


def test_two_hosts_vanish_at_once(bed_cluster):
    bed, c, _ = bed_cluster(5, redis=True)
    c.wait_formed(timeout=30)
    survivors = [c[f"n{i}"] for i in (1, 2, 3)]
    doomed, kept = rooms_by_victims(c, VICTIMS)
    acked = send_before(survivors, doomed + kept)

    bed.fault("vanish", 4)
    bed.fault("vanish", 5)
    t0 = time.monotonic()
    assert_majority_rooms_writable(survivors, kept, acked, timeout=FAILOVER_BOUND)
    print(f"rooms that kept a majority were writable again {time.monotonic() - t0:.2f}s after the vanish")
    assert_doomed_refuse(survivors, doomed, seconds=3, states={"no_majority", "unavailable"})
    out = chat_node(c, "rooms", "recover", doomed[0], url_node=survivors[0])
    assert out.returncode != 0 and "still has a majority" in out.stdout, (out.stdout, out.stderr)

    # The hosts reboot: the old processes die (by PID), the links come back, new processes start.
    for v in VICTIMS:
        c[v].kill()
    bed.heal()
    for v in VICTIMS:
        c[v].start()
    c.wait_formed(timeout=30)
    assert_quorum_lost(survivors, doomed, timeout=20)
    recover_and_check(c, survivors, VICTIMS, doomed, acked)
    # The rooms that kept their majority stayed whole through all of it.
    assert_majority_rooms_writable(survivors, kept, acked, tag="after-recovery")

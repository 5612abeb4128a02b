"""An internal link that drops while both nodes stay alive (a network blip): the subscribed node
must subscribe again at the same owner and its clients must get everything, once, in order."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from chat_harness import unique, wait_until

pytestmark = pytest.mark.timeout(120)


def link_up(node, peer: str) -> bool:
    return node.members().get(peer, {}).get("link") == "up"


def test_a_dropped_link_resubscribes_and_nothing_is_missed(cluster_factory):
    ss = shutil.which("ss")
    assert ss, "ss (iproute2) is needed to cut one TCP connection"
    c = cluster_factory(("n1", "n2"), tag="links")
    c.wait_formed()
    n1, n2 = c["n1"], c["n2"]
    room = next(r for r in (unique("blip") for _ in range(200)) if n1.owner(r) == "n1")
    wait_until(lambda: link_up(n2, "n1"), 10, what="n2's link to n1")

    client = n2.client("bob")
    client.join(room)
    for i in range(3):
        assert n1.post_message(room, "alice", f"before-{i}", f"before {i}").status_code == 200
    before = client.collect_messages(room, 3)
    assert [m["seq"] for m in before] == [1, 2, 3]

    # Cut n2's link to n1 (the kernel closes that one TCP connection); both nodes stay alive.
    internal_port = n1.members()["n1"]["internalPort"]
    subprocess.run([ss, "-K", "dst", "127.0.0.1", "dport", "=", str(internal_port)], check=False,
                   capture_output=True, timeout=10)
    wait_until(lambda: "link to n1 is down" in n2.log_tail(400), 5, what="n2 to see its link to n1 drop")
    # Sent while the link is down or coming back: n2 must fetch them on resubscribe.
    for i in range(3):
        assert n1.post_message(room, "alice", f"during-{i}", f"during {i}").status_code == 200
    wait_until(lambda: link_up(n2, "n1"), 10, what="n2's link to n1 back up")
    time.sleep(0.5)
    for i in range(3):
        assert n1.post_message(room, "alice", f"after-{i}", f"after {i}").status_code == 200

    after = client.collect_messages(room, 6, timeout=15)
    assert [m["seq"] for m in after] == [4, 5, 6, 7, 8, 9], after
    # Presence survived the blip: bob is still a member at the owner.
    assert "bob" in n1.get(f"/rooms/{room}").json()["members"]

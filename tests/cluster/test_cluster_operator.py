"""Operator commands of majority groups (issue 10): five real nodes (groups of three) with Redis as
the history cache; two nodes are killed (-9) at the same moment.

What each test asserts, with the bad situation it creates:

- rooms whose group keeps a majority (at most one of its three voters died) stay writable and lose
  nothing; rooms whose majority died answer 503 `unavailable` to every send (never an ack), and
  `/rooms/{room}` says `no_majority`;
- `chat-node rooms recover` is refused (exit 1, reason printed) while the dead voters may come back;
  `chat-node members remove` is refused for a running member (409) and for an unknown one (404),
  and the admin routes refuse a missing or wrong admin token (401);
- path 1: the two nodes are restarted (new processes with empty memory): the room's majority is gone
  for good, `/rooms/{room}` says `quorum_lost`, `/cluster` and `/metrics` count it, sends still get
  503; `rooms recover` then rebuilds it from the surviving replica and the history cache, prints the
  skipped seq range (`rooms recover --all` finds them), and the next message gets the seq after
  that range; every message acked before
  the kill is still in the history (or inside the printed range), no seq names two messages, and the
  group grows back to three voters;
- path 2: `chat-node members` lists them dead; the two dead nodes are removed with `chat-node members remove` instead: they leave every
  node's roster, the room's majority is then gone for good, and `rooms recover` brings it back the
  same way; the rooms that kept a majority move their third replica to a live node.
"""

from __future__ import annotations

import pytest

from group_ops import (assert_doomed_refuse, assert_majority_rooms_writable, assert_quorum_lost, chat_node, recover_and_check,
                       replica, rooms_by_victims, send_before, wait_for)

pytestmark = pytest.mark.timeout(240)

IDS = ("n1", "n2", "n3", "n4", "n5")
VICTIMS = ("n4", "n5")
SURVIVORS_IDS = ("n1", "n2", "n3")


@pytest.fixture()
def five(cluster_factory, module_redis):
    c = cluster_factory(IDS, redis_url=module_redis.url, tag="operator", replication_factor=3)
    c.wait_formed(timeout=30)
    return c


def kill_two_at_once(cluster, rooms: list[str]):
    """Five acked messages in each room, then both victims are killed (-9) together."""
    survivors = [cluster[i] for i in SURVIVORS_IDS]
    acked = send_before(survivors, rooms)
    for v in VICTIMS:
        cluster[v].proc.kill()
    for v in VICTIMS:
        cluster[v].proc.wait(10)
    return survivors, acked


def test_two_nodes_killed_at_once_then_restarted_then_recovered(five):
    doomed, kept = rooms_by_victims(five, VICTIMS)
    survivors, acked = kill_two_at_once(five, doomed + kept)
    assert_majority_rooms_writable(survivors, kept, acked)
    assert_doomed_refuse(survivors, doomed, seconds=3, states={"no_majority", "unavailable"})

    # While the dead voters may come back, recovery is refused and says why.
    out = chat_node(five, "rooms", "recover", doomed[0])
    assert out.returncode != 0 and "still has a majority" in out.stdout, (out.stdout, out.stderr)
    # Operator refusals: a running member, an unknown one, no or a wrong admin token.
    out = chat_node(five, "members", "remove", "n2")
    assert out.returncode != 0 and "alive" in (out.stdout + out.stderr), (out.stdout, out.stderr)
    out = chat_node(five, "members", "remove", "n9")
    assert out.returncode != 0 and "404" in (out.stdout + out.stderr), (out.stdout, out.stderr)
    r = five["n1"].post(f"/admin/rooms/{doomed[0]}/recover", timeout=5)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = five["n1"].post(f"/admin/members/n4/remove", headers={"Authorization": "Bearer wrong"}, timeout=5)
    assert r.status_code == 401

    # Restarted: new processes with empty memory. The majority of the doomed rooms is gone for good.
    for v in VICTIMS:
        five[v].restart()
    five.wait_formed(timeout=30)
    assert_quorum_lost(survivors, doomed, timeout=15)
    # Each survivor's /cluster lists the rooms it holds a replica of that lost their majority (the
    # doomed rooms' surviving replicas may sit on different nodes), and its metrics count them.
    views = [n.cluster_view()["groups"] for n in survivors]
    listed = {room for v in views for room in v["quorumLostRooms"]}
    assert set(doomed) <= listed, views
    assert all(v["quorumLost"] == len(v["quorumLostRooms"]) for v in views), views
    assert sum(n.metric("chat_group_replicas_quorum_lost") or 0 for n in survivors) >= len(doomed)

    # `--all`: exactly the rooms the nodes list as lost are recovered.
    recover_and_check(five, survivors, VICTIMS, doomed, acked, all_rooms=True)


def test_two_dead_nodes_removed_then_rooms_recovered(five):
    doomed, kept = rooms_by_victims(five, VICTIMS)
    survivors, acked = kill_two_at_once(five, doomed + kept)
    # Gossip declares them dead first (removal is refused while they are alive or suspect).
    wait_for(lambda: all(n.members().get(v, {}).get("status") == "dead" for n in survivors for v in VICTIMS), 20, "victims dead")
    # `chat-node members`: a table with one row per member and its status.
    out = chat_node(five, "members")
    assert out.returncode == 0, (out.stdout, out.stderr)
    rows = {line.split()[0]: line.split()[1] for line in out.stdout.splitlines()[1:]}
    assert rows == {"n1": "alive", "n2": "alive", "n3": "alive", "n4": "dead", "n5": "dead"}, out.stdout
    for v in VICTIMS:
        out = chat_node(five, "members", "remove", v, url_node=five["n2"])
        assert out.returncode == 0, (out.stdout, out.stderr)
        assert f"removed {v}" in out.stdout
    wait_for(lambda: all(n.members().get(v, {}).get("status") in (None, "left") for n in survivors for v in VICTIMS), 20,
             "removal known everywhere")
    assert_majority_rooms_writable(survivors, kept, acked)
    # Rooms that kept their majority move their third replica to a live node.
    for room in kept:
        wait_for(lambda: any(set((replica(n, room) or {}).get("voters", [])) == {"n1", "n2", "n3"} for n in survivors), 30,
                 f"{room} on n1, n2, n3")
    assert_doomed_refuse(survivors, doomed, seconds=2, states={"quorum_lost"})
    recover_and_check(five, survivors, VICTIMS, doomed, acked)


def test_a_member_removed_while_cut_off_stops_when_it_comes_back(cluster_factory):
    """n3 is paused (SIGSTOP) until gossip declares it dead, then removed through n1; once resumed it
    learns from gossip that it was removed, orders nothing more and exits non-zero, saying why
    (its replicas hold the state of when it was cut off). Restarted, it joins afresh."""
    import signal

    c = cluster_factory(("n1", "n2", "n3"), tag="removed", replication_factor=3)
    c.wait_formed(timeout=20)
    n1, n2, n3 = c["n1"], c["n2"], c["n3"]
    n3.proc.send_signal(signal.SIGSTOP)
    try:
        wait_for(lambda: all(n.members().get("n3", {}).get("status") == "dead" for n in (n1, n2)), 20, "n3 dead")
        out = chat_node(c, "members", "remove", "n3")
        assert out.returncode == 0, (out.stdout, out.stderr)
    finally:
        n3.proc.send_signal(signal.SIGCONT)
    code = n3.proc.wait(20)
    assert code != 0
    assert "removed this node from the cluster" in n3.log_tail(200)
    assert all(n.members().get("n3", {}).get("status") in (None, "left") for n in (n1, n2))
    n3.start()
    c.wait_formed(timeout=30)

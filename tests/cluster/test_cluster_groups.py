"""Groups mode (issue 10): every room a majority-replicated group of three on the roster's ring,
run by real node processes on loopback (the namespaced partition runs are in tests/netbed).

What each test asserts, with the bad situation it creates:

- one order: sends through every node get consecutive seqs; every voter's replica reports the same
  voters, one leader and the same committed seq (`GET /rooms/{room}/replica`);
- the leader is killed (-9) under traffic: nothing acked is lost, no seq is given twice, a client
  on a surviving node gets every acked message live on the connection it kept (no `history`
  call fills anything), and a retry of an acked id returns its seq; the restarted node (a new
  incarnation with an empty memory) becomes a voter again and, being first in the room's
  placement, leads it again;
- a cut-off minority (the other two nodes paused with SIGSTOP): a send through it is answered 503
  `unavailable` in well under the routing deadline, and once they resume the room is writable
  again with the next seq (none given twice, none skipped);
- a fourth node joins: it becomes a voter of the rooms placed on it and leads some of them, and
  every room keeps its seqs;
- a leader is stopped gracefully (SIGTERM): it exits 0 and the room continues on the others
  with the next seq.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests

from chat_harness import unique
from group_ops import history as history_all
from group_ops import post, replica, send_until_acked, wait_for

pytestmark = pytest.mark.timeout(150)

IDS = ("n1", "n2", "n3")


def room_led_by(node, leader: str) -> str:
    for _ in range(300):
        room = unique("g")
        if node.owner(room) == leader:
            return room
    raise AssertionError(f"no room led by {leader}")


class Sender(threading.Thread):
    """Posts to `room` through `nodes` in turn, retrying each id until acked (as a client must)."""

    def __init__(self, nodes, room: str, prefix: str):
        super().__init__(daemon=True)
        self.nodes, self.room, self.prefix = nodes, room, prefix
        self.acked: list[tuple[int, str]] = []
        self.halt = threading.Event()
        self.http = requests.Session()

    def run(self) -> None:
        i = 0
        while not self.halt.is_set():
            i += 1
            mid = f"{self.prefix}-{i}"
            k = 0
            while not self.halt.is_set():
                node = self.nodes[k % len(self.nodes)]
                k += 1
                try:
                    r = self.http.post(f"{node.base}/rooms/{self.room}/messages",
                                       json={"user": "s", "id": mid, "text": mid}, timeout=8)
                    if r.status_code == 200:
                        self.acked.append((int(r.json()["seq"]), mid))
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.05)
            time.sleep(0.02)

    def stop(self) -> None:
        self.halt.set()
        self.join(20)


@pytest.fixture()
def groups(cluster_factory):
    c = cluster_factory(IDS, tag="groups", replication_factor=3)
    c.wait_formed(timeout=20)
    return c


def test_one_order_and_every_replica_agrees(groups):
    c = groups
    room = unique("g")
    a, b = c["n2"].client(unique("a")), c["n3"].client(unique("b"))
    a.join(room)
    b.join(room)
    acks = []
    for i in range(12):
        node = c[IDS[i % 3]]
        r = post(node, room, f"m{i}")
        assert r.status_code == 200, (node.node_id, r.status_code, r.text)
        acks.append((r.json()["seq"], f"m{i}"))
    assert [s for s, _ in acks] == list(range(1, 13)), acks
    for client in (a, b):
        got = client.collect_messages(room, 12, timeout=10)
        assert [(m["seq"], m["id"]) for m in got] == acks
    views = wait_for(lambda: (v := [replica(n, room) for n in c.all()]) and all(x and x["committedSeq"] == 12 for x in v) and v,
                     10, "every replica committed through 12")
    assert all(sorted(v["voters"]) == sorted(IDS) for v in views), views
    assert [v["role"] for v in views].count("leader") == 1, views
    assert len({v["leader"] for v in views}) == 1, views
    # The retry of an acked id returns its seq through any node, and creates nothing.
    r = post(c["n3"], room, "m4")
    assert r.status_code == 200 and r.json()["seq"] == 5, r.text
    a.close()
    b.close()


def test_leader_killed_under_traffic_loses_nothing_and_comes_back(groups):
    c = groups
    n1, n2, n3 = c["n1"], c["n2"], c["n3"]
    room = room_led_by(n2, "n1")
    sub = n2.client(unique("sub"))
    sub.join(room)
    sender = Sender([n3, n2], room, "k")
    sender.start()
    time.sleep(1.5)
    n1.kill()
    time.sleep(4.0)
    sender.stop()
    acked = sender.acked
    assert len(acked) > 20, f"too few acks around the kill: {len(acked)}"
    seqs = [s for s, _ in acked]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"seqs not increasing: {seqs}"
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a seq was skipped between acks of one sender"
    # The subscriber kept its connection: every acked message arrived live, once, in order.
    got = sub.collect_messages(room, seqs[-1], timeout=15)
    live = [(m["seq"], m["id"]) for m in got]
    assert live == acked[-len(live):] and len(live) == len(acked), "live stream differs from the acks"
    assert sub.close_code() is None, "the subscriber's connection was closed"
    # A retry of an id acked before the kill keeps its seq.
    first_seq, first_id = acked[0]
    r = post(n3, room, first_id, user="s")
    assert r.status_code == 200 and r.json()["seq"] == first_seq, r.text
    # History on a survivor holds every acked message at its seq.
    page = history_all(n2, room)
    assert {(m["seq"], m["id"]) for m in page} >= set(acked)

    # The restarted node is a new incarnation: it becomes a voter again and, first in the room's
    # placement, takes its leadership back; the room goes on with the next seq.
    n1.restart()
    c.wait_formed(timeout=20)
    wait_for(lambda: (v := replica(n1, room)) and v["role"] == "leader", 20, "n1 leads the room again")
    assert n1.owner(room) == "n1"
    r = post(n1, room, "after-restart")
    assert r.status_code == 200 and r.json()["seq"] == seqs[-1] + 1, r.text
    got = sub.collect_messages(room, 1, timeout=10)
    assert got[-1]["id"] == "after-restart" and got[-1]["seq"] == seqs[-1] + 1
    sub.close()


def test_cut_off_minority_refuses_fast_and_heals(groups):
    c = groups
    n1, n2, n3 = c["n1"], c["n2"], c["n3"]
    room = room_led_by(n1, "n1")
    last = send_until_acked([n1], room, "before")
    for n in (n2, n3):
        n.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(4.0)  # the links to them go silent (2 s) and gossip suspects them
        t = time.monotonic()
        r = post(n1, room, "during", timeout=10)
        took = time.monotonic() - t
        assert r.status_code == 503 and r.json()["code"] == "unavailable", (r.status_code, r.text)
        assert took < 2.0, f"the minority took {took:.2f}s to refuse"
    finally:
        for n in (n2, n3):
            n.proc.send_signal(signal.SIGCONT)
    seq = send_until_acked([n1, n2, n3], room, "after", timeout=20)
    assert seq == last + 1, f"after the heal the room went on at {seq}, last acked was {last}"
    # The refused id was never sequenced.
    assert "during" not in {m["id"] for m in history_all(n2, room)}


def test_a_new_member_becomes_a_voter_and_leads_its_share(groups):
    c = groups
    n1 = c["n1"]
    rooms = [unique("j") for _ in range(16)]
    for r in rooms:
        assert post(n1, r, "one").status_code == 200
    n4 = c.add_node("n4", seeds=[n1.gossip_addr])
    c.wait_formed(timeout=20, nodes=c.all() + [n4], expect=set(IDS) | {"n4"})

    def placed_on_n4():
        views = {r: replica(n4, r) for r in rooms}
        return {r: v for r, v in views.items() if v and "n4" in v["voters"]}

    placed = wait_for(lambda: len(placed_on_n4()) >= 6 and placed_on_n4(), 20, "n4 a voter of its rooms")
    led = wait_for(lambda: [r for r in placed if (v := replica(n4, r)) and v["role"] == "leader"], 20, "n4 leads some rooms")
    for r in rooms:
        seq = send_until_acked([n1, n4], r, "two")
        assert seq == 2, (r, seq)
    print(f"n4 is a voter of {len(placed)} of {len(rooms)} rooms and leads {len(led)}")


def test_graceful_stop_of_a_leader_hands_its_rooms_on(groups):
    c = groups
    n1, n2, n3 = c["n1"], c["n2"], c["n3"]
    room = room_led_by(n2, "n1")
    last = send_until_acked([n2], room, "before")
    t = time.monotonic()
    assert n1.stop(timeout=15) == 0
    seq = send_until_acked([n2, n3], room, "after", timeout=10)
    took = time.monotonic() - t
    assert seq == last + 1, (seq, last)
    print(f"room writable again {took:.2f}s after SIGTERM of its leader")


def test_history_survives_a_leader_that_caught_up_from_a_snapshot(cluster_factory, module_redis):
    """More than twice the retained log (2,048 entries) in a room, then its leader is killed and
    restarted: the restarted node catches up from a snapshot, leads the room again, and still
    serves every page of the room's history that the cache keeps (from the cache below its buffer)."""
    c = cluster_factory(IDS, redis_url=module_redis.url, tag="groups-snap", replication_factor=3, history_limit=5000)
    c.wait_formed(timeout=20)
    n1, n2 = c["n1"], c["n2"]
    room = room_led_by(n2, "n1")
    http = requests.Session()
    total = 2300
    for i in range(1, total + 1):
        r = http.post(f"{n2.base}/rooms/{room}/messages", json={"user": "u", "id": f"h{i}", "text": f"t{i}"}, timeout=10)
        assert r.status_code == 200 and r.json()["seq"] == i, (i, r.status_code, r.text)
    n1.kill()
    assert send_until_acked([n2], room, "after-kill") == total + 1
    n1.restart()
    c.wait_formed(timeout=20)
    wait_for(lambda: (v := replica(n1, room)) and v["role"] == "leader", 30, "n1 leads the room again")
    seqs = [m["seq"] for m in history_all(n1, room)]
    assert seqs == list(range(1, total + 2)), f"history via the restarted leader: {len(seqs)} messages, first {seqs[:3]}"


def test_a_new_leader_stores_what_its_killed_predecessor_had_not(cluster_factory, module_redis):
    """Redis is paused (SIGSTOP), so the leader's history writes wait in its queue while sends are
    still acked (the cache is off the ack path); then the leader is killed (-9), queue and all, and
    Redis resumes. The new leader writes the room's recent commits again: the cache ends up holding
    every acked message, each once, at its seq."""
    c = cluster_factory(IDS, redis_url=module_redis.url, tag="groups-store", replication_factor=3)
    c.wait_formed(timeout=20)
    n1, n2, n3 = c["n1"], c["n2"], c["n3"]
    room = room_led_by(n2, "n1")
    key = f"chat:room:{room}"
    acked = {send_until_acked([n2], room, f"s{i}"): f"s{i}" for i in range(1, 6)}
    wait_for(lambda: module_redis.zcard(key) == 5, 10, "the first five messages in Redis")
    module_redis.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(6, 26):
            acked[send_until_acked([n2], room, f"s{i}")] = f"s{i}"
        n1.kill()
    finally:
        module_redis.proc.send_signal(signal.SIGCONT)
    acked[send_until_acked([n2, n3], room, "after-kill")] = "after-kill"
    assert sorted(acked) == list(range(1, 27)), sorted(acked)

    def stored():
        return {int(m["seq"]): m["id"] for m in module_redis.zrange(key)}

    wait_for(lambda: stored() == acked, 15, "every acked message in Redis")
    assert module_redis.zcard(key) == 26

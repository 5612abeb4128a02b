"""A fourth node joins a running three-node cluster through one seed (NODE-CONTRACT "Cluster";
DESIGN "When the ring changes": rooms whose owner changes are handed off, never sequenced twice)."""

from __future__ import annotations

import time

import pytest

from chat_harness import unique

pytestmark = pytest.mark.timeout(120)

IDS = {"n1", "n2", "n3", "n4"}
JOIN_BOUND = 10.0


def exchange(a, b, room, rounds=5):
    """a and b (both joined to room) take turns sending; both must see one identical order.
    Returns the (seq, id) pairs acked."""
    sent = []
    for i in range(rounds):
        for c in (a, b):
            mid = f"{c.user}-{i}"
            ack = c.send_msg(room, f"{c.user} says {i}", mid=mid, timeout=10)
            assert ack["type"] == "ack", f"send {mid} from {c.url} answered {ack}"
            sent.append((ack["seq"], mid))
    first = sent[0][0]
    assert [s for s, _ in sent] == list(range(first, first + len(sent))), f"acks not consecutive: {sent}"
    for c in (a, b):
        got = c.collect_messages(room, len(sent), timeout=10)
        assert [(m["seq"], m["id"]) for m in got] == sent, f"{c.url} saw {[(m['seq'], m['id']) for m in got]}, acks were {sent}"
    return sent


@pytest.fixture(scope="module")
def world(cluster_factory, module_redis):
    c = cluster_factory(("n1", "n2", "n3"), redis_url=module_redis.url, tag="join")
    c.wait_formed(timeout=20)
    n1 = c["n1"]

    # traffic before the join: 40 rooms with 3 messages each, a subscriber on n1 in every room
    rooms = [unique("r4") for _ in range(40)]
    owner_before = {r: n1.owner(r) for r in rooms}
    sub = n1.client(unique("sub"))
    for i, r in enumerate(rooms):
        sub.join(r)
        for k in range(1, 4):
            node = c[("n1", "n2", "n3")[(i + k) % 3]]
            resp = node.post(f"/rooms/{r}/messages", json={"user": "early", "id": f"pre-{k}", "text": f"pre {k}"})
            assert resp.status_code == 200 and resp.json()["seq"] == k, (r, resp.status_code, resp.text)
    for r in rooms:
        got = sub.collect_messages(r, 3, timeout=10)
        assert [m["seq"] for m in got] == [1, 2, 3], (r, got)

    t0 = time.monotonic()
    n4 = c.add_node("n4", seeds=[n1.gossip_addr])
    joined_after = None
    deadline = t0 + JOIN_BOUND
    while time.monotonic() < deadline:
        try:
            if all(n.alive_ids() >= IDS for n in c.all()):
                joined_after = time.monotonic() - t0
                break
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.2)
    print(f"n4 alive in every member list: {joined_after if joined_after is None else round(joined_after, 2)}s after it was started")
    yield dict(cluster=c, n4=n4, rooms=rooms, owner_before=owner_before, sub=sub, joined_after=joined_after)
    sub.close()


# 7 -------------------------------------------------------------------------------------------


def test_fourth_node_appears_everywhere(world):
    c, n4 = world["cluster"], world["n4"]
    assert world["joined_after"] is not None, \
        f"n4 (seeded with n1 only) not alive in every member list within {JOIN_BOUND}s:\n{c.describe()}"
    view = n4.cluster_view()
    assert sorted(m["id"] for m in view["members"]) == sorted(IDS), f"n4 /cluster: {view}"
    assert all(m["status"] == "alive" for m in view["members"]), view
    assert view["ringSize"] == 4, f"n4 ringSize: {view}"
    assert n4.get("/readyz").status_code == 200, n4.get("/readyz").text
    for n in c.all():
        m4 = n.members()["n4"]
        assert m4["port"] == n4.port and m4["internalPort"] == n4.internal_port and m4["gossip"] == n4.gossip_addr, \
            f"{n.node_id} describes n4 as {m4}"
        deadline = time.monotonic() + 5
        while n.cluster_view().get("ringSize") != 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert n.cluster_view().get("ringSize") == 4, f"{n.node_id}: {n.cluster_view()}"


def owners_converged(world, timeout=10.0):
    c = world["cluster"]
    nodes = c.all()
    views = {}
    deadline = time.monotonic() + timeout
    for room in world["rooms"]:
        while True:
            views[room] = {n.node_id: n.owner(room) for n in nodes}
            if len(set(views[room].values())) == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    return views


def test_four_node_ring_ownership_agrees(world):
    views = owners_converged(world)
    disagree = {r: v for r, v in views.items() if len(set(v.values())) != 1}
    assert not disagree, f"nodes disagree on owners on the 4-node ring: {disagree}"
    counts = {o: sum(1 for v in views.values() if v["n1"] == o) for o in sorted(IDS)}
    print(f"owners of 40 rooms on the 4-node ring: {counts}")
    assert counts["n4"] > 0, f"n4 owns none of 40 rooms: {counts}"
    # consistent hashing: a room either stays or moves to the new node, never between old nodes
    moved_elsewhere = {r: (world["owner_before"][r], v["n1"]) for r, v in views.items()
                       if v["n1"] not in ("n4", world["owner_before"][r])}
    assert not moved_elsewhere, f"rooms moved between old nodes when n4 joined: {moved_elsewhere}"


def test_chat_through_the_new_node(world):
    c, n4 = world["cluster"], world["n4"]
    clients = []
    try:
        a = n4.client(unique("a"))
        b = c["n1"].client(unique("b"))
        clients += [a, b]
        room = unique("via4")
        a.join(room)
        jb = b.join(room)
        assert sorted(jb["members"]) == sorted([a.user, b.user]), f"joined on n1 lists {jb['members']}"
        p = a.wait_for("presence", lambda f: f.get("room") == room and f.get("user") == b.user, timeout=5)
        assert p["event"] == "join" and p["members"] == 2, f"client on n4 saw {p} for the n1 user's join"
        exchange(a, b, room)
    finally:
        for cl in clients:
            cl.close()


def test_rooms_handed_to_the_new_node_continue(world):
    """Rooms with history that moved to n4 keep their seq: the next message is 4, history is 1..4,
    every node names n4, and the subscriber on n1 (joined before the join) gets it once."""
    c, sub = world["cluster"], world["sub"]
    views = owners_converged(world)
    moved = [r for r, v in views.items() if v["n1"] == "n4"]
    if not moved:
        pytest.fail("no room moved to n4 (see the ownership test)")
    problems = {}
    for i, r in enumerate(moved):
        via = c[("n1", "n2", "n3", "n4")[i % 4]]
        resp, deadline = None, time.monotonic() + 10
        while time.monotonic() < deadline:
            resp = via.post(f"/rooms/{r}/messages", json={"user": "late", "id": "post-1", "text": "after the join"}, timeout=5)
            if resp.status_code != 503:
                break
            time.sleep(0.2)
        if resp.status_code != 200 or resp.json().get("seq") != 4:
            problems[r] = f"POST via {via.node_id} -> {resp.status_code} {resp.text}"
            continue
        for n in c.all():
            hist = n.get(f"/rooms/{r}/messages").json()["messages"]
            if [(m["seq"], m["id"]) for m in hist] != [(1, "pre-1"), (2, "pre-2"), (3, "pre-3"), (4, "post-1")]:
                problems[r] = f"history on {n.node_id}: {[(m['seq'], m['id']) for m in hist]}"
        got = sub.collect_messages(r, 1, timeout=10)
        if [(m["seq"], m["id"]) for m in got] != [(4, "post-1")]:
            problems[r] = f"subscriber on n1 got {got}"
    extra = sub.poll("message", timeout=0.5)
    assert not problems, f"rooms moved from {[world['owner_before'][r] for r in problems]} to n4: {problems}"
    assert not extra, f"subscriber on n1 got unexpected extra messages after the hand-off: {extra[:5]}"


def test_graceful_leave_hands_rooms_back(world):
    """SIGTERM n4: it exits 0, the others mark it left (or drop it) within 10 s, its rooms go back
    to their previous owners and continue their seq; the subscriber on n1 gets the next message once."""
    c, n4, sub = world["cluster"], world["n4"], world["sub"]
    views = owners_converged(world)
    on_n4 = [r for r, v in views.items() if v["n1"] == "n4"]
    if not on_n4:
        pytest.fail("no room owned by n4 (see the ownership test)")
    last = {}
    for r in on_n4:
        last[r] = c["n1"].get(f"/rooms/{r}").json()["seq"]
    t0 = time.monotonic()
    code = n4.stop(timeout=10)
    print(f"n4 stopped with exit code {code} in {time.monotonic() - t0:.1f}s")
    assert code == 0, f"n4 did not exit 0 on SIGTERM (code {code}):\n{n4.log_tail(30)}"
    rest = [c[i] for i in ("n1", "n2", "n3")]
    deadline = t0 + 10
    while True:
        statuses = {}
        for n in rest:
            m = n.members().get("n4")
            statuses[n.node_id] = None if m is None else m.get("status")
        if all(s in (None, "left", "dead") for s in statuses.values()):
            break
        assert time.monotonic() < deadline, f"n4 still listed as {statuses} 10 s after a graceful stop"
        time.sleep(0.2)
    print(f"n4 status on the others {time.monotonic() - t0:.1f}s after SIGTERM: {statuses}")
    if any(s == "dead" for s in statuses.values()):
        print("note: a gracefully stopped node was marked dead, not left")
    problems = {}
    for r in on_n4:
        deadline = time.monotonic() + 10
        while True:
            owners = {n.node_id: n.owner(r) for n in rest}
            if set(owners.values()) == {world["owner_before"][r]} or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if set(owners.values()) != {world["owner_before"][r]}:
            problems[r] = f"owners after n4 left: {owners}, before n4 joined: {world['owner_before'][r]}"
            continue
        resp, deadline = None, time.monotonic() + 10
        while time.monotonic() < deadline:
            resp = c["n2"].post(f"/rooms/{r}/messages", json={"user": "late", "id": "post-2", "text": "after n4 left"}, timeout=5)
            if resp.status_code != 503:
                break
            time.sleep(0.2)
        if resp.status_code != 200 or resp.json().get("seq") != last[r] + 1:
            problems[r] = f"POST after n4 left -> {resp.status_code} {resp.text} (last seq was {last[r]})"
            continue
        got = sub.collect_messages(r, 1, timeout=10)
        if [(m["seq"], m["id"]) for m in got] != [(last[r] + 1, "post-2")]:
            problems[r] = f"subscriber on n1 got {[(m['seq'], m['id']) for m in got]}"
    extra = sub.poll("message", timeout=0.5)
    assert not problems, f"rooms handed back from n4: {problems}"
    assert not extra, f"subscriber on n1 got unexpected extra messages after n4 left: {extra[:5]}"

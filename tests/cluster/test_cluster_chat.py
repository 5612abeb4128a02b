"""Three nodes from one cluster file, with a real redis-server: formation, room ownership, chat
across nodes (order, acks, presence), idempotent retries, resume with `since`, and HTTP from any
node (NODE-CONTRACT "Cluster (issue 3)", PROTOCOL.md "Guarantees")."""

from __future__ import annotations

import threading
import time

import pytest

from chat_harness import unique, wait_until

pytestmark = pytest.mark.timeout(120)

IDS = ("n1", "n2", "n3")


@pytest.fixture(scope="module")
def cluster(cluster_factory, module_redis):
    c = cluster_factory(IDS, redis_url=module_redis.url, tag="chat")
    took = c.wait_formed(timeout=20)
    print(f"3-node cluster formed in {took:.1f}s")
    return c


@pytest.fixture
def ws(cluster):
    """ws(node, user) -> a WSClient after hello; all closed at teardown."""
    made = []

    def make(node, user):
        c = node.client(user)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def post(node, room, user, mid, text, timeout=5.0):
    r = node.post(f"/rooms/{room}/messages", json={"user": user, "id": mid, "text": text}, timeout=timeout)
    assert r.status_code == 200, f"POST /rooms/{room}/messages on {node.node_id} ({user}, {mid}): {r.status_code} {r.text}"
    body = r.json()
    assert body.get("room") == room and body.get("id") == mid and isinstance(body.get("seq"), int), body
    return body["seq"]


def messages(node, room, **params):
    r = node.get(f"/rooms/{room}/messages", params=params)
    assert r.status_code == 200, f"GET /rooms/{room}/messages {params} on {node.node_id}: {r.status_code} {r.text}"
    body = r.json()
    assert body.get("room") == room, body
    return body["messages"]


def key(m):
    return (m["seq"], m["id"], m["user"], m["text"], m["ts"])


# 1 -------------------------------------------------------------------------------------------


def test_cluster_forms_from_one_file(cluster):
    spec = {s["id"]: s for s in cluster.spec}

    def links_up():
        for n in cluster.all():
            for mid, m in n.members().items():
                if mid != n.node_id and m.get("link") != "up":
                    return False
        return True

    # links may open lazily; give them a bounded moment
    deadline = time.monotonic() + 10
    while not links_up() and time.monotonic() < deadline:
        time.sleep(0.2)

    for n in cluster.all():
        view = n.cluster_view()
        assert view.get("node") == n.node_id, view
        assert view.get("ready") is True, f"{n.node_id} not ready: {view}"
        assert view.get("ringSize") == 3, f"{n.node_id}: ringSize {view.get('ringSize')}: {view}"
        assert "virtualNodes" in view, view
        members = {m["id"]: m for m in view["members"]}
        assert set(members) == set(IDS), f"{n.node_id} lists {sorted(members)}: {view}"
        for mid, m in members.items():
            s = spec[mid]
            assert m.get("status") == "alive", f"{n.node_id} sees {mid} as {m.get('status')}: {m}"
            assert isinstance(m.get("incarnation"), int) and m["incarnation"] >= 0, m
            assert m.get("host") == "127.0.0.1", m
            assert m.get("port") == s["clientPort"], f"{n.node_id} says {mid} port {m.get('port')}, file: {s}"
            assert m.get("internalPort") == s["internalPort"], f"{n.node_id}: {m} vs file {s}"
            assert m.get("gossip") == f"127.0.0.1:{s['gossipPort']}", f"{n.node_id}: {m} vs file {s}"
            assert m.get("self") is (mid == n.node_id), f"{n.node_id}: self flag of {mid}: {m}"
            if mid != n.node_id:
                assert m.get("link") == "up", f"{n.node_id} link to {mid} is {m.get('link')!r} (10 s after formation): {m}"
        assert n.get("/readyz").status_code == 200
        alive = n.metric("chat_gossip_members_alive")
        assert alive == 3, f"{n.node_id}: chat_gossip_members_alive = {alive}"


# 2 -------------------------------------------------------------------------------------------


def test_rooms_spread_over_owners_and_all_nodes_agree(cluster):
    nodes = cluster.all()
    rooms = [unique("own") for _ in range(30)]
    owners = {}
    for i, room in enumerate(rooms):
        owners[room] = nodes[i % 3].owner(room)
        assert owners[room] in IDS, f"GET /rooms/{room} on {nodes[i % 3].node_id}: owner {owners[room]!r}"
    for room in rooms:
        views = {n.node_id: n.owner(room) for n in nodes}
        assert set(views.values()) == {owners[room]}, f"nodes disagree on the owner of {room}: {views}"
    distinct = set(owners.values())
    print(f"owners of 30 rooms: { {o: list(owners.values()).count(o) for o in sorted(distinct)} }")
    assert len(distinct) >= 2, f"all 30 rooms owned by {distinct}: the ring does not spread rooms"

    # use every room (one message each), then every node's /cluster counts rooms per member
    for i, room in enumerate(rooms):
        seq = post(nodes[(i + 1) % 3], room, "counter", unique("m"), f"hello {room}")
        assert seq == 1, f"first message of fresh room {room} got seq {seq}"

    def counted(n):
        members = n.members()
        counts = {mid: m.get("rooms") for mid, m in members.items()}
        if any(not isinstance(v, int) for v in counts.values()):
            return None
        return counts if sum(counts.values()) >= len(rooms) else None

    for n in nodes:
        counts = wait_until(lambda: counted(n), 10, what=f"/cluster rooms on {n.node_id} to sum to >= {len(rooms)}")
        print(f"{n.node_id} /cluster rooms: {counts}")
        # each owner orders at least the rooms it was named owner of
        for o in distinct:
            mine = sum(1 for r in rooms if owners[r] == o)
            assert counts[o] >= mine, f"{n.node_id} says {o} orders {counts[o]} rooms, but it owns {mine} of ours"


# 3 -------------------------------------------------------------------------------------------


def test_concurrent_senders_on_all_nodes_one_order(cluster, ws):
    n1, n2, n3 = cluster["n1"], cluster["n2"], cluster["n3"]
    room = unique("order")
    users = [unique("u") for _ in range(6)]
    placement = [n1, n1, n2, n2, n3, n3]
    clients = [ws(placement[i], users[i]) for i in range(6)]

    # presence across nodes: the n1 client sees the n3 user join, with the right count
    j0 = clients[0].join(room)
    assert j0["members"] == [users[0]], j0
    j4 = clients[4].join(room)
    assert sorted(j4["members"]) == sorted([users[0], users[4]]), f"joined on n3 lists {j4['members']}"
    p = clients[0].wait_for("presence", lambda f: f.get("room") == room and f.get("user") == users[4], timeout=5)
    assert p["event"] == "join" and p["members"] == 2, f"n1 client saw {p} for the n3 user's join"
    # NODE-CONTRACT: presence join goes to every member including the joiner (after its joined)
    own = clients[4].poll("presence", lambda f: f.get("room") == room and f.get("user") == users[4], timeout=2)
    assert [(f["event"], f["members"]) for f in own] == [("join", 2)], \
        f"the joiner on n3 got {own} as its own presence (expected one join with members 2)"
    own = clients[0].poll("presence", lambda f: f.get("room") == room and f.get("user") == users[0], timeout=0.5)
    assert [(f["event"], f["members"]) for f in own] == [("join", 1)], \
        f"the first joiner on n1 got {own} as its own presence (expected one join with members 1)"
    for i in (1, 2, 3, 5):
        clients[i].join(room)
    p = clients[4].wait_for("presence", lambda f: f.get("room") == room and f.get("user") == users[5], timeout=5)
    assert p["event"] == "join" and p["members"] == 6, p
    for n in (n1, n2, n3):
        info = n.get(f"/rooms/{room}").json()
        assert info["members"] == sorted(users), f"GET /rooms/{room} on {n.node_id}: {info}"

    senders = [clients[0], clients[2], clients[4]]  # one per node
    per_sender = 20
    total = per_sender * len(senders)
    acks: dict[int, dict] = {}
    errors: list[str] = []

    def run(idx, c):
        try:
            ids = [f"s{idx}-{k}" for k in range(per_sender)]
            for k, mid in enumerate(ids):
                c.send({"type": "send", "room": room, "id": mid, "text": f"from {c.user} #{k}"})
            got = {}
            for mid in ids:
                f = c.wait_for_any(lambda f, mid=mid: f.get("type") in ("ack", "error") and f.get("id") == mid,
                                   timeout=20, what=f"ack for {mid}")
                got[mid] = f
            acks[idx] = got
        except BaseException as exc:  # noqa: BLE001 - report in the main thread
            errors.append(f"sender {idx} ({c.user}): {exc!r}")

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(senders)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(40)
    assert not any(t.is_alive() for t in threads), "a sender thread hung"
    assert not errors, errors
    print(f"{total} sends from 3 nodes acked in {time.monotonic() - t0:.2f}s")

    ack_seq = {}
    for idx, got in acks.items():
        for mid, f in got.items():
            assert f["type"] == "ack", f"send {mid} answered {f}"
            assert f["room"] == room, f
            ack_seq[mid] = f["seq"]
    assert sorted(ack_seq.values()) == list(range(1, total + 1)), f"ack seqs are not 1..{total}: {sorted(ack_seq.values())}"

    streams = []
    for c in clients:
        got = c.collect_messages(room, total, timeout=15)
        extra = c.poll("message", lambda f: f.get("room") == room, timeout=0.3)
        assert not extra, f"{c.user} got more than {total} messages: {extra[:3]}"
        streams.append(got)
    reference = [key(m) for m in streams[0]]
    assert [m["seq"] for m in streams[0]] == list(range(1, total + 1)), [m["seq"] for m in streams[0]]
    for i, s in enumerate(streams):
        assert [key(m) for m in s] == reference, f"client {i} ({placement[i].node_id}) saw another sequence"
    by_id = {m["id"]: m for m in streams[0]}
    for mid, seq in ack_seq.items():
        assert by_id[mid]["seq"] == seq, f"{mid}: acked seq {seq}, delivered as {by_id[mid]}"
    for idx, c in enumerate(senders):
        mine = [m for m in streams[[0, 2, 4][idx]] if m["user"] == c.user]
        assert sorted(m["id"] for m in mine) == sorted(f"s{idx}-{k}" for k in range(per_sender)), \
            f"sender {idx} did not get each of its own messages once: {[m['id'] for m in mine]}"
        for m in mine:
            assert m["text"] == f"from {c.user} #{int(m['id'].split('-')[1])}", m
        if [m["id"] for m in mine] != [f"s{idx}-{k}" for k in range(per_sender)]:
            print(f"note: sender {idx}'s pipelined sends were sequenced out of send order (allowed by PROTOCOL.md)")

    # a client disconnecting on n2 -> presence leave seen on n1 (and n3)
    clients[3].close()

    def left(f):
        return f.get("room") == room and f.get("user") == users[3] and f.get("event") == "leave"

    p = clients[0].wait_for("presence", left, timeout=10)
    assert p["members"] == 5, f"n1 client saw {p} after {users[3]} disconnected from n2"
    p = clients[5].wait_for("presence", left, timeout=10)
    assert p["members"] == 5, f"n3 client saw {p} after {users[3]} disconnected from n2"
    for n in (n1, n2, n3):
        info = n.get(f"/rooms/{room}").json()
        assert info["members"] == sorted(u for u in users if u != users[3]), f"GET /rooms/{room} on {n.node_id}: {info}"


# 4 -------------------------------------------------------------------------------------------


def test_idempotent_retry_across_nodes(cluster, ws):
    n1, n2, n3 = cluster["n1"], cluster["n2"], cluster["n3"]
    room = unique("idem")
    user = unique("u")
    watcher = ws(n3, unique("w"))
    watcher.join(room)

    a = ws(n1, user)
    a.join(room)
    first = a.send_msg(room, "only once", mid="X-1")
    assert first["type"] == "ack", first
    seq = first["seq"]
    a.close()

    b = ws(n2, user)  # new connection, same user, another node
    b.join(room)
    again = b.send_msg(room, "only once", mid="X-1")
    assert again["type"] == "ack" and again["seq"] == seq, f"retry via n2 answered {again}, first ack had seq {seq}"
    http_seq = post(n3, room, user, "X-1", "only once")
    assert http_seq == seq, f"retry via HTTP POST on n3 answered seq {http_seq}, first ack had seq {seq}"
    nxt = b.send_msg(room, "the next one", mid="X-2")
    assert nxt["type"] == "ack" and nxt["seq"] == seq + 1, f"next message after retries: {nxt} (expected seq {seq + 1})"

    got = watcher.collect_messages(room, 2, timeout=10)
    extra = watcher.poll("message", lambda f: f.get("room") == room, timeout=1.0)
    delivered = [(m["seq"], m["id"]) for m in got + extra]
    assert delivered == [(seq, "X-1"), (seq + 1, "X-2")], f"watcher on n3 got {delivered}"
    for n in (n1, n2, n3):
        h = [(m["seq"], m["id"]) for m in messages(n, room)]
        assert h == [(seq, "X-1"), (seq + 1, "X-2")], f"history on {n.node_id}: {h}"


# 5 -------------------------------------------------------------------------------------------


def test_since_resume_across_nodes(cluster, ws):
    n1, n2, n3 = cluster["n1"], cluster["n2"], cluster["n3"]
    room = unique("resume")
    user = unique("u")
    c1 = ws(n1, user)
    c1.join(room)
    k = 5
    for i in range(1, k + 1):
        assert post(n2, room, "poster", f"p-{i}", f"text {i}") == i
    seen = c1.collect_messages(room, k, timeout=10)
    assert [m["seq"] for m in seen] == list(range(1, k + 1)), seen
    c1.close()

    n = 12
    for i in range(k + 1, n + 1):
        assert post(n2, room, "poster", f"p-{i}", f"text {i}") == i

    c3 = ws(n3, user)
    j = c3.join(room, since=k)
    hist = j["history"]
    assert [m["seq"] for m in hist] == list(range(k + 1, n + 1)), f"join since={k} on n3 gave seqs {[m['seq'] for m in hist]}"
    assert [m["id"] for m in hist] == [f"p-{i}" for i in range(k + 1, n + 1)], hist
    assert [m["text"] for m in hist] == [f"text {i}" for i in range(k + 1, n + 1)], hist
    assert j["seq"] == n, j
    assert not j.get("truncated"), j

    # then the live stream, once each
    assert post(n1, room, "poster", f"p-{n + 1}", "live") == n + 1
    live = c3.collect_messages(room, 1, timeout=10)
    assert [(m["seq"], m["id"]) for m in live] == [(n + 1, f"p-{n + 1}")], live
    extra = c3.poll("message", lambda f: f.get("room") == room, timeout=1.0)
    assert not extra, f"after the live message, n3 client also got {extra}"


# 6 -------------------------------------------------------------------------------------------


def find_room_owned_by(cluster, owner, prefix="http", tries=200):
    for _ in range(tries):
        room = unique(prefix)
        if cluster[owner].owner(room) == owner:
            return room
    pytest.fail(f"no room owned by {owner} among {tries} names")


def test_http_from_any_node(cluster, ws):
    n1, n2, n3 = cluster["n1"], cluster["n2"], cluster["n3"]
    room = find_room_owned_by(cluster, "n1")
    for n in (n1, n2, n3):
        assert n.owner(room) == "n1", f"{n.node_id} says {room} is owned by {n.owner(room)}; n1 says n1"
    member = ws(n3, unique("w"))
    member.join(room)

    seq = post(n2, room, "httpuser", "h-1", "posted on n2")
    assert seq == 1
    got = member.collect_messages(room, 1, timeout=10)
    assert [(m["seq"], m["id"], m["user"], m["text"]) for m in got] == [(1, "h-1", "httpuser", "posted on n2")], got

    for i in range(2, 11):
        node = (n2, n3, n1)[i % 3]
        assert post(node, room, "httpuser", f"h-{i}", f"message {i}") == i
    member.collect_messages(room, 9, timeout=10)

    queries = [({}, list(range(1, 11))), ({"limit": 3}, [8, 9, 10]), ({"since": 2}, list(range(3, 11))),
               ({"since": 2, "limit": 3}, [3, 4, 5]), ({"before": 8}, list(range(1, 8))),
               ({"before": 8, "limit": 2}, [6, 7]), ({"since": 0, "limit": 200}, list(range(1, 11))),
               ({"since": 10}, [])]
    for params, expected in queries:
        answers = {n.node_id: messages(n, room, **params) for n in (n1, n2, n3)}
        assert [m["seq"] for m in answers["n1"]] == expected, f"GET messages {params} on n1: {[m['seq'] for m in answers['n1']]}"
        for nid in ("n2", "n3"):
            assert answers[nid] == answers["n1"], f"GET messages {params}: {nid} answers {answers[nid]} but n1 {answers['n1']}"

    bad = n2.get(f"/rooms/{room}/messages", params={"since": 1, "before": 5})
    assert bad.status_code == 400 and bad.json().get("code") == "bad_request", (bad.status_code, bad.text)

    infos = {n.node_id: n.get(f"/rooms/{room}").json() for n in (n1, n2, n3)}
    for nid, info in infos.items():
        assert info["owner"] == "n1" and info["seq"] == 10 and info["members"] == [member.user], f"GET /rooms/{room} on {nid}: {info}"

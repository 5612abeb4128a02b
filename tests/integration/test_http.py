"""HTTP routes of PROTOCOL.md / NODE-CONTRACT.md on one in-memory node."""


import pytest

from chat_harness import metric_total, unique, wait_until


def assert_json_error(r, status, code=None):
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:300]}"
    assert "application/json" in r.headers.get("Content-Type", ""), r.headers
    body = r.json()
    assert isinstance(body.get("code"), str) and isinstance(body.get("message"), str), body
    if code is not None:
        assert body["code"] == code, body
    return body


def post_n(node, room, n, user="poster"):
    for i in range(1, n + 1):
        r = node.post_message(room, user, f"{user}-{i}", f"text {i}")
        assert r.status_code == 200, r.text
        assert r.json()["seq"] == i


def seqs(r):
    assert r.status_code == 200, r.text
    body = r.json()
    return [m["seq"] for m in body["messages"]]


def test_index_page(node):
    r = node.get("/")
    assert r.status_code == 200
    assert "text/html" in r.headers.get("Content-Type", "")
    assert "<form" in r.text.lower() or "<input" in r.text.lower()


def test_health_and_ready(node):
    r = node.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    # /readyz turns 200 once the node has joined its cluster (a node without seeds: at once
    # after its gossip starts, which may be a moment after /healthz).
    wait_until(lambda: node.get("/readyz").status_code == 200, 10, what="/readyz 200")
    r = node.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}


def test_cluster(node):
    r = node.get("/cluster")
    assert r.status_code == 200
    body = r.json()
    assert body["node"] == "n1"
    assert body["ringSize"] == 1
    members = body["members"]
    assert len(members) == 1, members
    m = members[0]
    # A lone node is a cluster of one: alive, itself, with an incarnation number (gossip starts
    # incarnations at the start time in ms, so a restarted node outranks what others remember).
    assert m["id"] == "n1" and m["status"] == "alive" and m["self"] is True, m
    assert isinstance(m["incarnation"], int) and m["incarnation"] >= 0, m
    assert m["host"] == "127.0.0.1" and m["port"] == node.port, m
    assert isinstance(m["internalPort"], int) and m["internalPort"] > 0, m
    assert m["gossip"].startswith("127.0.0.1:"), m


CONTRACT_METRICS = ("chat_messages_sequenced_total", "chat_messages_delivered_total", "chat_connections",
                    "chat_errors_total", "chat_history_errors_total", "chat_history_up")


def test_metrics_grow(node, clients):
    before = metric_total(node.metrics(), "chat_messages_sequenced_total")
    assert before is not None, "chat_messages_sequenced_total missing"
    delivered_before = metric_total(node.metrics(), "chat_messages_delivered_total") or 0
    room = unique("room")
    c = clients(node, "metric")
    c.join(room)
    for i in range(3):
        assert c.send_msg(room, f"m{i}")["type"] == "ack"
    post_n(node, room + "x", 2)
    c.send({"type": "dance", "ref": "err"})
    assert c.wait_for_reply("err")["code"] == "bad_request"
    text = node.metrics()
    after = metric_total(text, "chat_messages_sequenced_total")
    assert after - before >= 5, (before, after)
    assert (metric_total(text, "chat_messages_delivered_total") or 0) - delivered_before >= 3
    assert (metric_total(text, "chat_connections") or 0) >= 1, "chat_connections missing or 0 with a client connected"
    errors = [l for l in text.splitlines() if l.startswith("chat_errors_total{") and 'code="bad_request"' in l]
    assert errors and float(errors[0].split()[-1]) >= 1, "chat_errors_total{code=\"bad_request\"} missing"


def test_metrics_of_contract_exposed_from_start(node_factory):
    """NODE-CONTRACT lists the metrics /metrics includes; a fresh in-memory node must expose all of
    them (at 0) before any traffic, so a scraper sees the series from the start."""
    n = node_factory(name="metrics-fresh")
    text = n.metrics()
    missing = [m for m in CONTRACT_METRICS if m not in text]
    assert not missing, f"metrics missing on a fresh node: {missing}\n{text}"


def test_room_info(node, clients):
    room = unique("room")
    r = node.get(f"/rooms/{room}")
    assert r.status_code == 200
    assert r.json() == {"room": room, "state": "available", "owner": "n1", "seq": 0, "members": []}
    for u in ("zed", "amy", "mike"):
        clients(node, u).join(room)
    post_n(node, room, 4)
    body = node.get(f"/rooms/{room}").json()
    assert body["room"] == room and body["owner"] == "n1" and body["seq"] == 4, body
    assert body["members"] == ["amy", "mike", "zed"], body


def test_get_messages_paging(node):
    room = unique("room")
    post_n(node, room, 60)
    base = f"/rooms/{room}/messages"
    r = node.get(base)
    body = r.json()
    assert body["room"] == room
    assert seqs(r) == list(range(11, 61)), "default: the latest 50, oldest first"
    m = body["messages"][0]
    assert m["room"] == room and m["id"] == "poster-11" and m["user"] == "poster" and m["text"] == "text 11"
    assert isinstance(m["ts"], int)
    assert seqs(node.get(base, params={"limit": 10})) == list(range(51, 61))
    assert seqs(node.get(base, params={"before": 15, "limit": 5})) == [10, 11, 12, 13, 14]
    assert seqs(node.get(base, params={"before": 3})) == [1, 2]
    assert seqs(node.get(base, params={"since": 5, "limit": 5})) == [6, 7, 8, 9, 10], "since: FIRST limit above"
    assert seqs(node.get(base, params={"since": 0})) == list(range(1, 51))
    assert seqs(node.get(base, params={"since": 55})) == [56, 57, 58, 59, 60]
    assert seqs(node.get(base, params={"since": 60})) == []
    assert seqs(node.get(base, params={"limit": 200})) == list(range(1, 61))
    assert seqs(node.get(f"/rooms/{unique('empty')}/messages")) == []


@pytest.mark.parametrize("params", [
    {"before": 5, "since": 2}, {"limit": 0}, {"limit": 201}, {"limit": "abc"}, {"before": "x"},
    {"since": "x"}, {"since": -1}, {"limit": 1.5},
], ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()))
def test_get_messages_bad_params(node, params):
    room = unique("room")
    post_n(node, room, 3)
    r = node.get(f"/rooms/{room}/messages", params=params)
    assert_json_error(r, 400, "bad_request")


@pytest.mark.parametrize("room", ["bad%20room", "a" * 65, "caf%C3%A9"])
def test_bad_room_is_400(node, room):
    assert_json_error(node.get(f"/rooms/{room}/messages"), 400, "bad_request")
    assert_json_error(node.get(f"/rooms/{room}"), 400, "bad_request")
    r = node.post(f"/rooms/{room}/messages", json={"user": "u", "id": "i", "text": "t"})
    assert_json_error(r, 400, "bad_request")


def test_post_message_delivered_and_idempotent(node, clients):
    room = unique("room")
    c = clients(node, "watcher")
    c.join(room)
    r = node.post_message(room, "poster", "post-1", "hello over http")
    assert r.status_code == 200, r.text
    assert r.json() == {"room": room, "id": "post-1", "seq": 1}
    m = c.wait_for("message")
    assert (m["room"], m["seq"], m["id"], m["user"], m["text"]) == (room, 1, "post-1", "poster", "hello over http")

    r = node.post_message(room, "poster", "post-1", "hello over http")
    assert r.status_code == 200 and r.json() == {"room": room, "id": "post-1", "seq": 1}, r.text
    assert c.poll("message", timeout=1.0) == [], "retried POST delivered a second message"

    r = node.post_message(room, "poster", "post-2", "second")
    assert r.json()["seq"] == 2
    assert c.wait_for("message")["seq"] == 2

    # WS and HTTP share the idempotency key (user, room, id)
    c2 = clients(node, "poster")
    c2.join(room)
    ack = c2.send_msg(room, "second", mid="post-2")
    assert ack["type"] == "ack" and ack["seq"] == 2, ack
    assert c.poll("message", timeout=0.5) == []


@pytest.mark.parametrize("body", [
    {"id": "x", "text": "t"}, {"user": "u", "text": "t"}, {"user": "u", "id": "x"},
    {"user": "u", "id": "x", "text": ""}, {"user": "u" * 33, "id": "x", "text": "t"},
    {"user": "u", "id": "i" * 65, "text": "t"}, {"user": 5, "id": "x", "text": "t"}, [1, 2],
], ids=["no-user", "no-id", "no-text", "empty-text", "user-33", "id-65", "user-number", "array"])
def test_post_bad_body_400(node, body):
    room = unique("room")
    assert_json_error(node.post(f"/rooms/{room}/messages", json=body), 400, "bad_request")
    assert node.get(f"/rooms/{room}").json()["seq"] == 0


def test_post_malformed_json_400(node):
    room = unique("room")
    r = node.post(f"/rooms/{room}/messages", data=b'{"user": "u", ', headers={"Content-Type": "application/json"})
    assert_json_error(r, 400, "bad_request")


def test_post_too_large(node):
    room = unique("room")
    r = node.post_message(room, "u", "long", "x" * 4001)
    assert_json_error(r, 413, "too_large")
    r = node.post_message(room, "u", "huge", "x" * 70000)
    assert_json_error(r, 413)
    assert node.get(f"/rooms/{room}").json()["seq"] == 0
    r = node.post_message(room, "u", "fits", "x" * 4000)
    assert r.status_code == 200 and r.json()["seq"] == 1
    assert node.get("/healthz").status_code == 200


def test_unknown_route_404_json(node):
    assert_json_error(node.get("/nope"), 404)
    assert_json_error(node.get("/rooms"), 404)
    assert_json_error(node.get(f"/rooms/{unique('r')}/messages/extra"), 404)

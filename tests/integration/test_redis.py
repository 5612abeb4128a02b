"""History in a real redis-server (NODE-CONTRACT "Redis layout"): persistence, restart, cap,
outage while a room is in use, and Redis down when a room is first used."""

import time

import pytest

from chat_harness import metric_total, unique, wait_until

FAST = ("--sends-per-second", "1000", "--send-burst", "1000")


def key(room):
    return f"chat:room:{room}"


def send_n(client, room, n, prefix):
    out = []
    for i in range(1, n + 1):
        ack = client.send_msg(room, f"{prefix} text {i}", mid=f"{prefix}-{i}")
        assert ack["type"] == "ack", ack
        out.append(ack["seq"])
    return out


def test_messages_stored_in_redis(redis_server, node_factory, clients):
    r = redis_server()
    n = node_factory("--redis", r.url, *FAST, name="redis-store")
    room = unique("room")
    c = clients(n, "alice")
    c.join(room)
    assert send_n(c, room, 5, "a") == [1, 2, 3, 4, 5]
    wait_until(lambda: r.zcard(key(room)) == 5, 10, what="5 messages in Redis")
    entries = r.zrange(key(room))
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    for i, e in enumerate(entries, 1):
        assert e["room"] == room and e["id"] == f"a-{i}" and e["user"] == "alice" and e["text"] == f"a text {i}", e
        assert isinstance(e["ts"], int)
    scored = r.command("ZRANGE", key(room), 0, -1, "WITHSCORES")
    assert [float(s) for s in scored[1::2]] == [1.0, 2.0, 3.0, 4.0, 5.0], "score must be the seq"


def test_history_survives_restart(redis_server, node_factory, clients):
    r = redis_server()
    n = node_factory("--redis", r.url, *FAST, name="redis-restart")
    room = unique("room")
    c = clients(n, "alice")
    c.join(room)
    send_n(c, room, 5, "a")
    c.close()
    # no waiting for Redis: SIGTERM must flush pending history writes first
    code = n.stop()
    assert code == 0, f"SIGTERM exit code {code}\n{n.log_tail()}"
    n.start()

    b = clients(n, "bob")
    j = b.join(room)
    assert j["seq"] == 5, j
    assert [m["seq"] for m in j["history"]] == [1, 2, 3, 4, 5]
    assert [m["id"] for m in j["history"]] == [f"a-{i}" for i in range(1, 6)]
    ack = b.send_msg(room, "after restart", mid="b-6")
    assert ack["type"] == "ack" and ack["seq"] == 6, ack

    d = clients(n, "dave")
    j = d.join(room, since=2)
    assert [m["seq"] for m in j["history"]] == [3, 4, 5, 6]
    h = d.history(room, before=4)
    assert [m["id"] for m in h["messages"]] == ["a-1", "a-2", "a-3"]
    got = n.get(f"/rooms/{room}/messages", params={"since": 0}).json()["messages"]
    assert [m["seq"] for m in got] == [1, 2, 3, 4, 5, 6]
    wait_until(lambda: r.zcard(key(room)) == 6, 10, what="6 messages in Redis")


def test_idempotent_send_after_restart_with_redis(redis_server, node_factory, clients):
    """Guarantee 3 (idempotent send) holds across a node restart when history lives in Redis:
    the (user, room, id) of a stored message still maps to its original seq."""
    r = redis_server()
    n = node_factory("--redis", r.url, *FAST, name="redis-idem")
    room = unique("room")
    c = clients(n, "alice")
    c.join(room)
    send_n(c, room, 3, "a")
    c.close()
    wait_until(lambda: r.zcard(key(room)) == 3, 10, what="3 messages in Redis")
    assert n.stop() == 0
    n.start()
    watcher = clients(n, "watcher")
    watcher.join(room)
    a = clients(n, "alice")
    a.join(room)
    ack = a.send_msg(room, "a text 2", mid="a-2")
    assert ack["type"] == "ack" and ack["seq"] == 2, f"retry of a-2 after restart answered {ack}"
    assert watcher.poll("message", timeout=1.0) == [], "retry after restart delivered a new message"
    r2 = n.post_message(room, "alice", "a-3", "a text 3")
    assert r2.status_code == 200 and r2.json()["seq"] == 3, r2.text
    assert a.send_msg(room, "new", mid="a-4")["seq"] == 4
    assert r.zcard(key(room)) <= 4


def test_text_round_trip_through_redis(redis_server, node_factory, clients):
    r = redis_server()
    n = node_factory("--redis", r.url, *FAST, name="redis-text")
    room = unique("room")
    text = 'q"uote \\ back\nnl\ttab \u0001ctl \U0001F600 \u00e9 </script> \u2028 \u0000nul'
    user = "Zo\u00eb \U0001F600"
    c = clients(n, user)
    c.join(room)
    assert c.send_msg(room, text, mid="w-\u00e9")["seq"] == 1
    wait_until(lambda: r.zcard(key(room)) == 1, 10, what="message in Redis")
    e = r.zrange(key(room))[0]
    assert (e["text"], e["user"], e["id"], e["seq"], e["room"]) == (text, user, "w-\u00e9", 1, room), e
    assert n.stop() == 0
    n.start()
    j = clients(n, "bob").join(room)
    assert j["history"][0]["text"] == text and j["history"][0]["user"] == user, j


def test_redis_cap(redis_server, node_factory, clients):
    r = redis_server()
    n = node_factory("--redis", r.url, "--history-limit", "10", *FAST, name="redis-cap")
    room = unique("room")
    c = clients(n, "alice")
    c.join(room)
    send_n(c, room, 15, "a")
    wait_until(lambda: r.zcard(key(room)) == 10 and r.zrange(key(room))[-1]["seq"] == 15, 10,
               what="ZCARD 10 ending at seq 15")
    assert [e["seq"] for e in r.zrange(key(room))] == list(range(6, 16))


@pytest.mark.timeout(60)
def test_redis_outage_while_room_in_use(redis_server, node_factory, clients):
    r = redis_server()
    n = node_factory("--redis", r.url, *FAST, name="redis-outage")
    room = unique("room")
    a = clients(n, "alice")
    a.join(room)
    b = clients(n, "bob")
    b.join(room)
    send_n(a, room, 3, "pre")
    wait_until(lambda: r.zcard(key(room)) == 3, 10, what="3 messages in Redis")
    errors_before = metric_total(n.metrics(), "chat_history_errors_total") or 0
    assert metric_total(n.metrics(), "chat_history_up") == 1, "chat_history_up should be 1 while Redis is up"

    r.stop()
    t0 = time.monotonic()
    during = []
    for i in range(1, 6):
        ack = a.send_msg(room, f"during {i}", mid=f"during-{i}", timeout=5)
        assert ack["type"] == "ack", f"send during the Redis outage answered {ack}"
        during.append(ack["seq"])
    assert during == [4, 5, 6, 7, 8]
    assert time.monotonic() - t0 < 10, "acks during the outage were very slow"
    got = b.collect_messages(room, 8)
    assert [m["seq"] for m in got] == list(range(1, 9))
    assert n.get("/healthz").status_code == 200
    hist = a.history(room)
    assert [m["seq"] for m in hist["messages"]] == list(range(1, 9)), "history while Redis is down"
    wait_until(lambda: (metric_total(n.metrics(), "chat_history_errors_total") or 0) > errors_before, 10,
               what="chat_history_errors_total to grow during the outage")
    assert n.get("/healthz").status_code == 200
    wait_until(lambda: metric_total(n.metrics(), "chat_history_up") == 0, 10,
               what="chat_history_up to drop to 0 while Redis is down")

    r.start()  # same port, empty (no persistence)
    wait_until(lambda: {e["seq"] for e in r.zrange(key(room))} >= set(range(4, 9)), 15, interval=0.25,
               what="messages sent during the outage to reach Redis after it returns")
    stored = {e["seq"]: e for e in r.zrange(key(room))}
    for i, seq in enumerate(range(4, 9), 1):
        assert stored[seq]["id"] == f"during-{i}" and stored[seq]["text"] == f"during {i}", stored[seq]
    # and the room keeps working, now persisted again
    ack = a.send_msg(room, "after", mid="after-1")
    assert ack["type"] == "ack" and ack["seq"] == 9
    wait_until(lambda: 9 in {e["seq"] for e in r.zrange(key(room))}, 10, what="seq 9 in Redis")
    wait_until(lambda: metric_total(n.metrics(), "chat_history_up") == 1, 10,
               what="chat_history_up back to 1 after Redis returned")


@pytest.mark.timeout(60)
def test_redis_down_for_fresh_room_is_unavailable(redis_server, node_factory, clients):
    r = redis_server(start=False)  # allocated port, nothing listening yet
    n = node_factory("--redis", r.url, *FAST, name="redis-down")
    assert n.get("/healthz").status_code == 200
    room = unique("room")
    c = clients(n, "alice")
    c.send({"type": "join", "room": room, "ref": "j-down"})
    f = c.wait_for_reply("j-down", timeout=10)
    assert f["type"] == "error" and f["code"] == "unavailable", f
    c.ping()

    http_room = unique("room")
    resp = n.post_message(http_room, "alice", "h-1", "hi", )
    assert resp.status_code == 503, (resp.status_code, resp.text)
    assert resp.json()["code"] == "unavailable"

    r.start()
    deadline = time.monotonic() + 20
    joined = None
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        ref = f"j-{attempt}"
        c.send({"type": "join", "room": room, "ref": ref})
        f = c.wait_for_reply(ref, timeout=10)
        if f["type"] == "joined":
            joined = f
            break
        assert f["type"] == "error" and f["code"] == "unavailable", f
        time.sleep(0.5)
    assert joined is not None, "join still unavailable 20 s after Redis came up"
    assert joined["seq"] == 0 and joined["history"] == []
    ack = c.send_msg(room, "now it works", mid="w-1")
    assert ack["type"] == "ack" and ack["seq"] == 1, ack
    wait_until(lambda: r.zcard(key(room)) == 1, 10, what="message in Redis")
    wait_until(lambda: n.post_message(http_room, "alice", "h-1", "hi").status_code == 200, 10,
               what="HTTP post to work after Redis came up")


def test_sigterm_while_redis_down_still_exits_promptly(redis_server, node_factory, clients):
    """Graceful stop flushes pending writes, but an unreachable Redis must not hang the shutdown."""
    r = redis_server()
    n = node_factory("--redis", r.url, *FAST, name="redis-sigterm")
    room = unique("room")
    c = clients(n, "alice")
    c.join(room)
    send_n(c, room, 2, "a")
    r.stop()
    send_n(c, room, 3, "b")
    t0 = time.monotonic()
    code = n.stop(timeout=10)
    took = time.monotonic() - t0
    assert code == 0, f"exit code {code} (SIGKILLed after 10 s?)\n{n.log_tail()}"
    assert took < 10

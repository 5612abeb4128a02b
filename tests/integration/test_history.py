"""Resume (join with since), joined.history, truncation, and the `history` frame (paging)."""

import pytest

from chat_harness import unique


def fill(client, room, n, prefix="m"):
    """Send n messages (pipelined) and wait for all acks; returns ids in seq order."""
    ids = [f"{prefix}-{i}" for i in range(1, n + 1)]
    for i, mid in enumerate(ids, 1):
        client.send({"type": "send", "room": room, "id": mid, "text": f"text {i}"})
    seqs = {}
    for mid in ids:
        f = client.wait_for_any(lambda f, mid=mid: f.get("id") == mid and f.get("type") in ("ack", "error"),
                                timeout=10, what=f"ack for {mid}")
        assert f["type"] == "ack", f
        seqs[mid] = f["seq"]
    assert [seqs[m] for m in ids] == list(range(1, n + 1))
    client.poll(timeout=0.2)
    client.backlog.clear()
    return ids


def test_resume_with_since(node, clients):
    room = unique("room")
    a = clients(node, "alice")
    a.join(room)
    ids = fill(a, room, 10)

    b = clients(node, "bob")
    j = b.join(room, since=4)
    assert j["seq"] == 10
    assert [m["seq"] for m in j["history"]] == [5, 6, 7, 8, 9, 10]
    assert [m["id"] for m in j["history"]] == ids[4:]
    assert [m["text"] for m in j["history"]] == [f"text {i}" for i in range(5, 11)]
    assert all(m["room"] == room and m["user"] == "alice" for m in j["history"])
    assert not j.get("truncated"), j

    # then the live stream, continuing at n+1, with no replay of what was in history
    a.send_msg(room, "live", mid="live-11")
    live = b.collect_messages(room, 1)
    assert live[0]["seq"] == 11 and live[0]["id"] == "live-11", live
    assert b.poll("message", timeout=0.3) == []

    for since in (11, 12, 500):
        c = clients(node, "carol")
        jc = c.join(room, since=since)
        assert jc["history"] == [], f"since={since} gave {jc['history']}"
        assert jc["seq"] == 11
        c.close()

    c = clients(node, "dave")
    jc = c.join(room, since=0)
    assert [m["seq"] for m in jc["history"]] == list(range(1, 12))


def test_joined_history_is_latest_50(node, clients):
    room = unique("room")
    a = clients(node, "alice")
    a.join(room)
    fill(a, room, 60)
    b = clients(node, "bob")
    j = b.join(room)
    assert j["seq"] == 60
    assert [m["seq"] for m in j["history"]] == list(range(11, 61))


def test_truncated_when_since_older_than_held_log(node_factory, clients):
    n = node_factory("--history-limit", "10", "--sends-per-second", "1000", "--send-burst", "1000", name="hist10")
    room = unique("room")
    a = clients(n, "alice")
    a.join(room)
    fill(a, room, 25)

    b = clients(n, "bob")
    j = b.join(room, since=2)
    assert j.get("truncated") is True, f"expected truncated:true, got {j}"
    assert j["seq"] == 25
    assert [m["seq"] for m in j["history"]] == list(range(16, 26)), [m["seq"] for m in j["history"]]

    c = clients(n, "carol")
    j = c.join(room, since=20)
    assert not j.get("truncated"), j
    assert [m["seq"] for m in j["history"]] == [21, 22, 23, 24, 25]

    # history paging over the held window
    h = c.history(room, before=20, limit=3)
    assert [m["seq"] for m in h["messages"]] == [17, 18, 19]


def test_history_paging(node, clients):
    room = unique("room")
    a = clients(node, "alice")
    a.join(room)
    ids = fill(a, room, 60)

    # history does not need a join
    b = clients(node, "bob")
    h = b.history(room, ref="h-1")
    assert h["type"] == "history" and h["room"] == room and h["ref"] == "h-1", h
    assert [m["seq"] for m in h["messages"]] == list(range(11, 61)), "default limit is 50, latest, oldest first"
    assert [m["id"] for m in h["messages"]] == ids[10:]

    h = b.history(room, limit=5)
    assert [m["seq"] for m in h["messages"]] == [56, 57, 58, 59, 60]
    h = b.history(room, before=30, limit=10)
    assert [m["seq"] for m in h["messages"]] == list(range(20, 30))
    h = b.history(room, before=30)
    assert [m["seq"] for m in h["messages"]] == list(range(1, 30))
    h = b.history(room, before=4, limit=10)
    assert [m["seq"] for m in h["messages"]] == [1, 2, 3]
    h = b.history(room, before=1)
    assert h["messages"] == []
    h = b.history(room, before=1000, limit=3)
    assert [m["seq"] for m in h["messages"]] == [58, 59, 60]
    h = b.history(room, limit=200)
    assert [m["seq"] for m in h["messages"]] == list(range(1, 61))
    h = b.history(room, limit=1)
    assert [m["seq"] for m in h["messages"]] == [60]
    h = b.history(unique("empty"))
    assert h["messages"] == []
    m = b.history(room, before=2)["messages"][0]
    assert set(["room", "seq", "id", "user", "text", "ts"]) <= set(m), m


@pytest.mark.parametrize("limit, ref", [(0, "lim-0"), (201, 7), ("abc", "lim-abc"), (-1, "lim-neg"), (1.5, "lim-f")])
def test_history_bad_limit(node, clients, limit, ref):
    room = unique("room")
    b = clients(node, "bob")
    b.send({"type": "history", "room": room, "limit": limit, "ref": ref})
    f = b.wait_for_reply(ref)
    assert f["type"] == "error" and f["code"] == "bad_request", f
    assert isinstance(f.get("message"), str)
    b.ping()  # connection still fine


def test_resume_while_room_is_busy_has_no_gaps_or_duplicates(node, clients):
    """Guarantee 4 under load: joined.history (with or without since) followed by the live stream
    is exactly the missed messages once each, in order, while another client keeps sending."""
    import threading
    import time as _time

    room = unique("busy")
    sender = clients(node, "pump")
    sender.join(room)
    total = 400
    stop = threading.Event()
    errors = []

    def pump():
        try:
            for i in range(1, total + 1):
                sender.send({"type": "send", "room": room, "id": f"b-{i}", "text": f"busy {i}"})
                _time.sleep(0.005)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            stop.set()

    t = threading.Thread(target=pump)
    t.start()
    joiners = []
    try:
        for k in range(8):
            _time.sleep(0.2)
            c = clients(node, f"j{k}")
            current = node.get(f"/rooms/{room}").json()["seq"]
            since = None if k % 2 else max(0, current - 15)
            j = c.join(room, since=since)
            joiners.append((c, since, j))
    finally:
        t.join(30)
    assert not errors, errors
    overlapped = [j["seq"] for _, _, j in joiners if 0 < j["seq"] < total]
    assert len(overlapped) >= 3, f"joins did not overlap the traffic: {[j['seq'] for _, _, j in joiners]}"
    for c, since, j in joiners:
        hist = [m["seq"] for m in j["history"]]
        if since is None:
            assert hist == list(range(max(1, j["seq"] - 49), j["seq"] + 1)), (j["seq"], hist)
        else:
            assert hist == list(range(since + 1, j["seq"] + 1)), (since, j["seq"], hist)
        live = [m["seq"] for m in c.collect_messages(room, total - j["seq"], timeout=20)]
        assert live == list(range(j["seq"] + 1, total + 1)), (
            f"since={since} joined.seq={j['seq']}: gap or duplicate between history and live stream: "
            f"history ends {hist[-3:]}, live starts {live[:5]}")
        assert c.poll("message", timeout=0.1) == [], "messages beyond the last seq"

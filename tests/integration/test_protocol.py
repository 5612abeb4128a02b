"""Core WebSocket protocol (PROTOCOL.md "WebSocket GET /ws"): hello, ping, join/leave/presence,
send/ack/sequencing, concurrent order, idempotent send. One in-memory node for the module."""

import threading
import time

import pytest

from chat_harness import http_session, unique


# ---------------------------------------------------------------- hello / ping


def test_hello_welcome_fields_and_unique_sessions(node, clients):
    sessions = []
    for user in ("alice", "alice", "bob"):
        c = clients(node)
        w = c.hello(user)
        assert w["type"] == "welcome"
        assert w["user"] == user
        assert w["node"] == "n1"
        assert w.get("session") not in (None, ""), w
        sessions.append(w["session"])
    assert len(set(map(str, sessions))) == 3, f"sessions are not unique per connection: {sessions}"


def test_ping_pong_echoes_string_and_number_refs(node, clients):
    c = clients(node, "pinger")
    c.send({"type": "ping", "ref": "abc-1"})
    f = c.recv()
    assert f["type"] == "pong" and f["ref"] == "abc-1", f
    c.send({"type": "ping", "ref": 42})
    f = c.recv()
    assert f["type"] == "pong"
    assert f["ref"] == 42 and isinstance(f["ref"], int), f"numeric ref not echoed as a number: {f}"
    c.send({"type": "ping"})
    f = c.recv()
    assert f["type"] == "pong", f
    assert f.get("ref") is None, f


@pytest.mark.parametrize("ref", [0, -3, 1.5, "", "r\u00e9f \"quoted\""], ids=["zero", "negative", "float", "empty-string", "unicode"])
def test_ping_ref_echoed_as_sent(node, clients, ref):
    """NODE-CONTRACT: refs are echoed as sent (string or number)."""
    c = clients(node, "pinger")
    c.send({"type": "ping", "ref": ref})
    f = c.recv()
    assert f["type"] == "pong" and "ref" in f, f
    assert f["ref"] == ref and type(f["ref"]) is type(ref), f"sent ref {ref!r}, pong carried {f.get('ref')!r}"
    # and on an error frame
    c.send({"type": "history", "room": "bad room", "ref": ref})
    f = c.recv()
    assert f["type"] == "error" and f["code"] == "bad_request", f
    assert f.get("ref") == ref and type(f.get("ref")) is type(ref), f"sent ref {ref!r}, error carried {f}"


def test_websocket_level_ping(node, clients):
    c = clients(node, "wsping")
    assert c.ws.ping().wait(5), "no WebSocket pong to a ping control frame"


# ---------------------------------------------------------------- join / leave / presence


def test_join_new_room(node, clients):
    room = unique("room")
    a = clients(node, "alice")
    j = a.join(room, ref="j-1")
    assert j["room"] == room
    assert j["ref"] == "j-1"
    assert j["seq"] == 0
    assert j["history"] == []
    assert "alice" in j["members"]
    assert not j.get("truncated")
    # the joiner gets presence join too (NODE-CONTRACT), after its joined
    p, skipped = a.recv_until("presence", timeout=5)
    assert skipped == [], f"unexpected frames before the presence: {skipped}"
    assert p["room"] == room and p["event"] == "join" and p["user"] == "alice" and p["members"] == 1, p


def test_presence_join_leave_and_disconnect(node, clients):
    room = unique("room")
    a = clients(node, "alice")
    a.join(room)
    a.wait_for("presence", lambda f: f["user"] == "alice")

    b = clients(node, "bob")
    jb = b.join(room)
    assert sorted(jb["members"]) == ["alice", "bob"], jb
    p = a.wait_for("presence", lambda f: f["user"] == "bob")
    assert p == {**p, "room": room, "event": "join", "user": "bob", "members": 2}, p

    # leave -> left {room, ref}; others see presence leave with the new count
    left = b.leave(room, ref="bye-1")
    assert left["type"] == "left" and left["room"] == room and left["ref"] == "bye-1", left
    p = a.wait_for("presence", lambda f: f["event"] == "leave")
    assert p["room"] == room and p["user"] == "bob" and p["members"] == 1, p

    # after leaving, bob no longer receives the room's messages
    ack = a.send_msg(room, "only alice now")
    assert ack["type"] == "ack"
    assert b.poll("message", timeout=0.7) == []

    # disconnect -> presence leave
    c = clients(node, "carol")
    c.join(room)
    p = a.wait_for("presence", lambda f: f["user"] == "carol" and f["event"] == "join")
    assert p["members"] == 2
    c.close()
    p = a.wait_for("presence", lambda f: f["user"] == "carol" and f["event"] == "leave")
    assert p["room"] == room and p["members"] == 1, p
    info = node.get(f"/rooms/{room}").json()
    assert info["members"] == ["alice"], info


def test_presence_leave_only_when_last_session_of_user_goes(node, clients):
    room = unique("room")
    bob = clients(node, "bob")
    bob.join(room)
    a1 = clients(node, "alice")
    a1.join(room)
    a2 = clients(node, "alice")
    a2.join(room)
    bob.poll(timeout=0.5)  # drain presence joins
    a2.close()
    leaves = bob.poll("presence", lambda f: f["event"] == "leave", timeout=1.0)
    assert leaves == [], f"presence leave although alice still has a session in the room: {leaves}"
    assert node.get(f"/rooms/{room}").json()["members"] == ["alice", "bob"]
    a1.close()
    p = bob.wait_for("presence", lambda f: f["event"] == "leave")
    assert p["user"] == "alice" and p["members"] == 1, p


# ---------------------------------------------------------------- send / ack / seq

WEIRD_TEXT = 'q"uote \\ back\nnl\ttab \u0001ctl \U0001F600 \u00e9 </script> \u2028 {"type":"x"} \u0000nul'


def test_text_and_names_round_trip_exactly(node, clients):
    """Escapes, control characters, astral-plane characters survive WS, history and HTTP unchanged."""
    room = unique("room")
    user = "Zo\u00eb \U0001F600"
    a = clients(node)
    w = a.hello(user)
    assert w["user"] == user, w
    a.join(room)
    b = clients(node, "bob")
    j = b.join(room)
    assert user in j["members"], j
    ack = a.send_msg(room, WEIRD_TEXT, mid="weird-\u00e9")
    assert ack["type"] == "ack" and ack["id"] == "weird-\u00e9", ack
    m = b.wait_for("message")
    assert m["text"] == WEIRD_TEXT and m["user"] == user and m["id"] == "weird-\u00e9", m
    assert b.history(room)["messages"][0]["text"] == WEIRD_TEXT
    got = node.get(f"/rooms/{room}/messages").json()["messages"][0]
    assert got["text"] == WEIRD_TEXT and got["user"] == user
    assert node.get(f"/rooms/{room}").json()["members"] == sorted(["bob", user])


def test_send_ack_seq_and_own_message(node, clients):
    room = unique("room")
    a = clients(node, "alice")
    a.join(room)
    before = int(time.time() * 1000)
    for expected_seq in (1, 2, 3):
        mid = unique("m")
        ack = a.send_msg(room, f"hello {expected_seq}", mid=mid)
        assert (ack["type"], ack["room"], ack["id"], ack["seq"]) == ("ack", room, mid, expected_seq), ack
        msg = a.wait_for("message", lambda f, mid=mid: f["id"] == mid)
        assert msg["room"] == room
        assert msg["seq"] == expected_seq
        assert msg["user"] == "alice"
        assert msg["text"] == f"hello {expected_seq}"
        assert isinstance(msg["ts"], int) and before - 5000 <= msg["ts"] <= int(time.time() * 1000) + 5000, msg
    j = clients(node, "late").join(room)
    assert j["seq"] == 3


def test_concurrent_senders_all_see_same_sequence(node, clients):
    room = unique("room")
    users = ["u1", "u2", "u3"]
    cs = [clients(node, u) for u in users]
    for c in cs:
        c.join(room)
    per = 30
    acks: dict[str, dict] = {}
    errors: list = []

    def pump(c, user):
        try:
            for i in range(per):
                c.send({"type": "send", "room": room, "id": f"{user}-{i}", "text": f"{user} says {i}"})
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=pump, args=(c, u)) for c, u in zip(cs, users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors, errors

    total = per * len(users)
    sequences = []
    for c, user in zip(cs, users):
        msgs = c.collect_messages(room, total, timeout=15)
        seqs = [m["seq"] for m in msgs]
        assert seqs == list(range(1, total + 1)), f"{user} saw seqs {seqs}"
        ids = [m["id"] for m in msgs]
        assert len(set(ids)) == total, f"{user} saw duplicate ids"
        sequences.append([(m["seq"], m["id"], m["user"], m["text"]) for m in msgs])
        for i in range(per):
            ack = c.wait_for("ack", lambda f, i=i, user=user: f["id"] == f"{user}-{i}")
            acks[ack["id"]] = ack
        # per-sender order: a client's own messages are sequenced in the order it sent them
        own = [m["seq"] for m in msgs if m["user"] == user]
        assert own == sorted(own)
    assert sequences[0] == sequences[1] == sequences[2]
    by_id = {s[1]: s[0] for s in sequences[0]}
    for mid, ack in acks.items():
        assert ack["seq"] == by_id[mid], f"ack {ack} disagrees with delivered seq {by_id[mid]}"
    # nothing extra arrives afterwards
    assert cs[0].poll("message", timeout=0.5) == []


# ---------------------------------------------------------------- idempotent send


def test_idempotent_send_same_connection_and_after_reconnect(node, clients):
    room = unique("room")
    a = clients(node, "alice")
    a.join(room)
    b = clients(node, "bob")
    b.join(room)

    ack1 = a.send_msg(room, "first", mid="dup-1")
    assert ack1["type"] == "ack" and ack1["seq"] == 1
    assert b.wait_for("message")["seq"] == 1
    a.wait_for("message", lambda f: f["id"] == "dup-1")

    ack2 = a.send_msg(room, "first, but edited", mid="dup-1")
    assert ack2["type"] == "ack", ack2
    assert ack2["seq"] == 1 and ack2["id"] == "dup-1" and ack2["room"] == room, ack2
    assert b.poll("message", timeout=1.0) == [], "the retried id was delivered again"
    assert a.poll("message", timeout=0.2) == [], "the retried id was delivered again to the sender"

    ack3 = a.send_msg(room, "second", mid="new-2")
    assert ack3["seq"] == 2, ack3
    assert b.wait_for("message")["seq"] == 2

    # reconnect as the same user, resend the first id -> original seq, nothing delivered
    a.close()
    a2 = clients(node, "alice")
    a2.join(room, since=2)
    ack4 = a2.send_msg(room, "first", mid="dup-1")
    assert ack4["type"] == "ack" and ack4["seq"] == 1, ack4
    assert b.poll("message", timeout=1.0) == [], "resend after reconnect delivered a new message"

    # the same id from another user is a different message
    ack5 = b.send_msg(room, "bob's own", mid="dup-1")
    assert ack5["type"] == "ack" and ack5["seq"] == 3, ack5
    ack6 = a2.send_msg(room, "third", mid="new-3")
    assert ack6["seq"] == 4, ack6
    hist = a2.history(room)
    assert [m["seq"] for m in hist["messages"]] == [1, 2, 3, 4]
    assert hist["messages"][0]["text"] == "first", "a retry must not change the stored message"
    assert [m["id"] for m in hist["messages"]] == ["dup-1", "new-2", "dup-1", "new-3"]


def test_concurrent_duplicate_sends_sequence_once(node, clients):
    """Two sessions of the same user (and HTTP) race the same ids: each id is sequenced once and
    every answer carries that one seq."""
    room = unique("room")
    watcher = clients(node, "watcher")
    watcher.join(room)
    s1 = clients(node, "alice")
    s1.join(room)
    s2 = clients(node, "alice")
    s2.join(room)
    ids = [f"race-{i}" for i in range(25)]
    http_seqs = {}

    def blast(c):
        for mid in ids:
            c.send({"type": "send", "room": room, "id": mid, "text": f"text {mid}"})

    def http():
        s = http_session()
        for mid in ids[::3]:
            r = s.post(f"{node.base}/rooms/{room}/messages", json={"user": "alice", "id": mid, "text": f"text {mid}"},
                       timeout=5)
            assert r.status_code == 200, r.text
            http_seqs[mid] = r.json()["seq"]

    threads = [threading.Thread(target=blast, args=(s1,)), threading.Thread(target=blast, args=(s2,)),
               threading.Thread(target=http)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    msgs = watcher.collect_messages(room, len(ids), timeout=10)
    assert [m["seq"] for m in msgs] == list(range(1, len(ids) + 1))
    assert sorted(m["id"] for m in msgs) == sorted(ids), "an id was sequenced twice or lost"
    assert watcher.poll("message", timeout=1.0) == [], "duplicate deliveries"
    seq_of = {m["id"]: m["seq"] for m in msgs}
    for c in (s1, s2):
        for mid in ids:
            ack = c.wait_for("ack", lambda f, mid=mid: f["id"] == mid)
            assert ack["seq"] == seq_of[mid], (mid, ack, seq_of[mid])
    for mid, seq in http_seqs.items():
        assert seq == seq_of[mid], (mid, seq, seq_of[mid])

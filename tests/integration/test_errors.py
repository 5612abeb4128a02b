"""Every error code of PROTOCOL.md on the WebSocket, and that the connection (where it stays open)
and other clients keep working after each kind of bad input."""

import time

import pytest

from chat_harness import AUTH_SECRET, expected_token, unique


def assert_still_healthy(node, conn, room=None):
    """The same connection answers ping (and can send if it has a room), and a separate,
    fresh client can hello/join/send."""
    if conn is not None:
        conn.ping(ref=unique("alive"))
        if room is not None:
            ack = conn.send_msg(room, "still alive")
            assert ack["type"] == "ack", ack
    other = node.client(unique("other"))
    try:
        r = unique("room")
        other.join(r)
        ack = other.send_msg(r, "other client works")
        assert ack["type"] == "ack" and ack["seq"] == 1, ack
        other.ping()
    finally:
        other.close()
    assert node.get("/healthz").status_code == 200


def expect_error(conn, code, timeout=5.0, **key):
    """Next error frame; checks its code and the ref/id it must carry."""
    f = conn.wait_for("error", timeout=timeout)
    assert f["code"] == code, f"expected {code}, got {f}"
    assert isinstance(f.get("message"), str) and f["message"], f"error without a message: {f}"
    for k, v in key.items():
        assert k in f and f[k] == v and type(f[k]) is type(v), f"error should carry {k}={v!r}: {f}"
    return f


# ---------------------------------------------------------------- hello_first / hello problems


def test_hello_first(node, clients):
    c = clients(node)
    room = unique("room")
    c.send({"type": "join", "room": room, "ref": "early-join"})
    expect_error(c, "hello_first", ref="early-join")
    c.send({"type": "ping", "ref": 5})
    expect_error(c, "hello_first", ref=5)
    c.send({"type": "send", "room": room, "id": "early-send", "text": "x"})
    expect_error(c, "hello_first", id="early-send")
    c.send({"type": "history", "room": room, "ref": "early-h"})
    expect_error(c, "hello_first", ref="early-h")
    # the connection is still usable: hello now works
    c.hello("alice")
    c.join(room)
    assert_still_healthy(node, c, room)


@pytest.mark.parametrize("user", ["u" * 33, "", "al\u0001ice", "bob\n", "tab\tuser", None, 17],
                         ids=["33chars", "empty", "ctrl-01", "newline", "tab", "missing", "number"])
def test_hello_bad_user(node, clients, user):
    c = clients(node)
    frame = {"type": "hello"}
    if user is not None:
        frame["user"] = user
    c.send(frame)
    expect_error(c, "bad_request")
    # still not logged in, and hello with a valid user works on the same connection
    c.send({"type": "ping", "ref": "p"})
    expect_error(c, "hello_first", ref="p")
    w = c.hello("u" * 32)
    assert w["user"] == "u" * 32
    assert_still_healthy(node, c)


def test_second_hello_is_bad_request(node, clients):
    c = clients(node, "alice")
    c.send({"type": "hello", "user": "mallory"})
    expect_error(c, "bad_request")
    room = unique("room")
    j = c.join(room)
    assert j["members"] == ["alice"], "second hello must not change the user"
    ack = c.send_msg(room, "x")
    assert ack["type"] == "ack"
    assert c.wait_for("message")["user"] == "alice"
    assert_still_healthy(node, c, room)


# ---------------------------------------------------------------- bad_request after hello

R = "{room}"  # placeholder substituted with the joined room

BAD_FRAMES = [
    # id, raw text or dict, expected key ({'ref': ..} / {'id': ..} / {})
    ("malformed-json", '{"type": "ping", "ref": ', {}),
    ("not-json", "hello there", {}),
    ("non-object-array", '[{"type": "ping"}]', {}),
    ("non-object-string", '"ping"', {}),
    ("non-object-number", "42", {}),
    ("non-object-null", "null", {}),
    ("missing-type", {"ref": "r-mt"}, {"ref": "r-mt"}),
    ("type-not-string", {"type": 3, "ref": "r-tns"}, {"ref": "r-tns"}),
    ("unknown-type", {"type": "dance", "ref": "r-ut"}, {"ref": "r-ut"}),
    ("join-missing-room", {"type": "join", "ref": "r-jmr"}, {"ref": "r-jmr"}),
    ("join-room-not-string", {"type": "join", "room": 12, "ref": "r-jrn"}, {"ref": "r-jrn"}),
    ("send-missing-text", {"type": "send", "room": R, "id": "id-smt"}, {"id": "id-smt"}),
    ("send-missing-room", {"type": "send", "id": "id-smr", "text": "hi"}, {"id": "id-smr"}),
    ("send-missing-id", {"type": "send", "room": R, "text": "hi"}, {}),
    ("send-empty-text", {"type": "send", "room": R, "id": "id-set", "text": ""}, {"id": "id-set"}),
    ("send-text-not-string", {"type": "send", "room": R, "id": "id-stn", "text": 5}, {"id": "id-stn"}),
    ("send-empty-id", {"type": "send", "room": R, "id": "", "text": "hi"}, {}),
    ("send-id-65-chars", {"type": "send", "room": R, "id": "i" * 65, "text": "hi"}, {}),
    ("leave-missing-room", {"type": "leave", "ref": "r-lmr"}, {"ref": "r-lmr"}),
    ("history-missing-room", {"type": "history", "ref": "r-hmr"}, {"ref": "r-hmr"}),
    ("room-with-space", {"type": "join", "room": "bad room", "ref": "r-rws"}, {"ref": "r-rws"}),
    ("room-65-chars", {"type": "join", "room": "a" * 65, "ref": "r-r65"}, {"ref": "r-r65"}),
    ("room-empty", {"type": "join", "room": "", "ref": "r-re"}, {"ref": "r-re"}),
    ("room-slash", {"type": "join", "room": "a/b", "ref": "r-rsl"}, {"ref": "r-rsl"}),
    ("room-non-ascii", {"type": "join", "room": "caf\u00e9", "ref": "r-rna"}, {"ref": "r-rna"}),
    ("since-string", {"type": "join", "room": "FRESH", "since": "abc", "ref": "r-ss"}, {"ref": "r-ss"}),
    ("since-float", {"type": "join", "room": "FRESH", "since": 1.5, "ref": "r-sf"}, {"ref": "r-sf"}),
    ("since-negative", {"type": "join", "room": "FRESH", "since": -1, "ref": "r-sn"}, {"ref": "r-sn"}),
    ("history-limit-0", {"type": "history", "room": R, "limit": 0, "ref": 70}, {"ref": 70}),
    ("history-limit-201", {"type": "history", "room": R, "limit": 201, "ref": "r-l201"}, {"ref": "r-l201"}),
    ("history-limit-abc", {"type": "history", "room": R, "limit": "abc", "ref": "r-labc"}, {"ref": "r-labc"}),
    ("history-before-string", {"type": "history", "room": R, "before": "x", "ref": "r-bs"}, {"ref": "r-bs"}),
    ("join-twice", {"type": "join", "room": R, "ref": "r-jt"}, {"ref": "r-jt"}),
]


def _substitute(frame, room):
    if isinstance(frame, str):
        return frame
    out = {}
    for k, v in frame.items():
        if v == R:
            v = room
        elif v == "FRESH":
            v = unique("fresh")
        out[k] = v
    return out


@pytest.mark.parametrize("case, frame, key", BAD_FRAMES, ids=[c[0] for c in BAD_FRAMES])
def test_bad_request_then_still_healthy(node, clients, case, frame, key):
    room = unique("room")
    c = clients(node, "alice")
    c.join(room)
    frame = _substitute(frame, room)
    if isinstance(frame, str):
        c.send_raw(frame)
    else:
        c.send(frame)
    expect_error(c, "bad_request", **key)
    if case.startswith("since-"):
        # the failed join did not join the room
        assert node.get(f"/rooms/{frame['room']}").json()["members"] == []
    if case.startswith("send-"):
        # nothing was sequenced
        assert c.history(room)["messages"] == []
    assert_still_healthy(node, c, room)
    if case.startswith("send-"):
        assert [m["seq"] for m in c.history(room)["messages"]] == [1]


def test_binary_frame_is_bad_request(node, clients):
    room = unique("room")
    c = clients(node, "alice")
    c.join(room)
    c.send_raw(b'{"type": "ping", "ref": "bin"}')
    expect_error(c, "bad_request")
    assert_still_healthy(node, c, room)


def test_valid_room_and_id_edges_accepted(node, clients):
    c = clients(node, "alice")
    room = "Az09._-" + "x" * 57  # 64 chars of the allowed alphabet
    assert len(room) == 64
    j = c.join(room)
    assert j["room"] == room
    ack = c.send_msg(room, "y" * 4000, mid="i" * 64)
    assert ack["type"] == "ack" and ack["id"] == "i" * 64 and ack["seq"] == 1, ack
    # unknown fields are ignored
    c.send({"type": "ping", "ref": "uf", "extra": {"nested": [1, 2]}})
    assert c.wait_for_reply("uf")["type"] == "pong"


# ---------------------------------------------------------------- too_large / not_joined


def test_too_large_text(node, clients):
    room = unique("room")
    c = clients(node, "alice")
    c.join(room)
    b = clients(node, "bob")
    b.join(room)
    c.send({"type": "send", "room": room, "id": "big-1", "text": "x" * 4001})
    expect_error(c, "too_large", id="big-1")
    assert b.poll("message", timeout=0.5) == []
    ack = c.send_msg(room, "y" * 4000, mid="ok-1")
    assert ack["type"] == "ack" and ack["seq"] == 1, "the too_large message must not have been sequenced"
    # 4000 characters, not bytes: multi-byte characters count once
    ack = c.send_msg(room, "\u00e9" * 4000, mid="ok-2")
    assert ack["type"] == "ack" and ack["seq"] == 2, ack
    assert_still_healthy(node, c, room)


def test_not_joined(node, clients):
    room = unique("room")
    other_room = unique("room")
    c = clients(node, "alice")
    c.join(room)
    c.send({"type": "send", "room": other_room, "id": "nj-1", "text": "hi"})
    expect_error(c, "not_joined", id="nj-1")
    c.send({"type": "leave", "room": other_room, "ref": "nj-leave"})
    expect_error(c, "not_joined", ref="nj-leave")
    c.send({"type": "leave", "room": other_room, "ref": 99})
    expect_error(c, "not_joined", ref=99)
    # left room -> send is not_joined too
    c.leave(room)
    c.send({"type": "send", "room": room, "id": "nj-2", "text": "hi"})
    expect_error(c, "not_joined", id="nj-2")
    assert c.history(other_room)["messages"] == []
    assert c.history(room)["messages"] == []
    c.join(room)
    assert_still_healthy(node, c, room)


# ---------------------------------------------------------------- rate_limited


@pytest.fixture(scope="module")
def limited_node(module_node_factory):
    return module_node_factory("--sends-per-second", "1", "--send-burst", "3", name="ratelimit")


def test_rate_limited_ws(limited_node, clients):
    n = limited_node
    room = unique("room")
    c = clients(n, "alice")
    c.join(room)
    watcher = clients(n, "watcher")
    watcher.join(room)
    ids = [f"rl-{i}" for i in range(10)]
    for mid in ids:
        c.send({"type": "send", "room": room, "id": mid, "text": f"t {mid}"})
    answers = {}
    for mid in ids:
        answers[mid] = c.wait_for_any(lambda f, mid=mid: f.get("id") == mid and f.get("type") in ("ack", "error"),
                                      what=f"answer for {mid}")
    limited = [m for m in ids if answers[m]["type"] == "error"]
    acked = [m for m in ids if answers[m]["type"] == "ack"]
    assert limited, f"10 quick sends with burst 3 were never rate limited: {answers}"
    for m in limited:
        assert answers[m]["code"] == "rate_limited", answers[m]
    assert 3 <= len(acked) <= 5, f"burst 3 at 1/s let {len(acked)} through"
    assert sorted(answers[m]["seq"] for m in acked) == list(range(1, len(acked) + 1))

    # rate-limited ids were not sequenced: watcher gets exactly the acked ones
    got = watcher.collect_messages(room, len(acked))
    assert [m["id"] for m in got] == acked
    assert watcher.poll("message", timeout=0.5) == []
    h = c.history(room)
    assert [m["id"] for m in h["messages"]] == acked

    # the connection is fine, and after waiting the retry with the same id succeeds
    c.ping()
    time.sleep(2.2)
    retry = c.send_msg(room, f"t {limited[0]}", mid=limited[0])
    assert retry["type"] == "ack", retry
    assert retry["seq"] == len(acked) + 1, retry
    m = watcher.collect_messages(room, 1)[0]
    assert m["id"] == limited[0] and m["seq"] == len(acked) + 1


def test_rate_limited_http_429(limited_node):
    n = limited_node
    room = unique("room")
    codes = []
    bodies = []
    for i in range(10):
        r = n.post_message(room, "carol", f"h-{i}", "hi")
        codes.append(r.status_code)
        bodies.append(r)
    assert 429 in codes, f"10 quick POSTs with burst 3 never got 429: {codes}"
    assert set(codes) <= {200, 429}, codes
    limited = next(r for r in bodies if r.status_code == 429)
    body = limited.json()
    assert body["code"] == "rate_limited" and isinstance(body["message"], str), body
    ok = [r.json()["seq"] for r in bodies if r.status_code == 200]
    assert ok == list(range(1, len(ok) + 1))
    h = n.get(f"/rooms/{room}/messages").json()
    assert len(h["messages"]) == len(ok)


# ---------------------------------------------------------------- unauthorized


@pytest.fixture(scope="module")
def auth_node(module_node_factory):
    return module_node_factory("--auth-secret", AUTH_SECRET, name="auth")


def test_token_command_matches_contract(auth_node):
    import jwt  # PyJWT
    tok = auth_node.token(AUTH_SECRET, "alice")
    claims = jwt.decode(tok, AUTH_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice" and claims["exp"] > time.time() + 3600, claims


def test_unauthorized_ws(auth_node, clients):
    n = auth_node
    token = n.token(AUTH_SECRET, "alice")
    c = clients(n)
    c.send({"type": "hello", "user": "alice"})
    expect_error(c, "unauthorized")
    c.send({"type": "hello", "user": "alice", "token": "not-the-token"})
    expect_error(c, "unauthorized")
    c.send({"type": "hello", "user": "alice", "token": n.token(AUTH_SECRET, "bob")})
    expect_error(c, "unauthorized")
    c.send({"type": "hello", "user": "alice", "token": n.token("w" * 32, "alice")})
    expect_error(c, "unauthorized")
    # not logged in after the failures
    c.send({"type": "join", "room": "x", "ref": "j"})
    expect_error(c, "hello_first", ref="j")
    w = c.hello("alice", token=token)
    assert w["user"] == "alice"
    room = unique("room")
    c.join(room)
    assert c.send_msg(room, "authorized")["type"] == "ack"
    c.ping()


def test_unauthorized_http(auth_node):
    n = auth_node
    room = unique("room")
    body = {"user": "alice", "id": "a1", "text": "hi"}
    r = n.post(f"/rooms/{room}/messages", json=body)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized", (r.status_code, r.text)
    r = n.post(f"/rooms/{room}/messages", json=body, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized", (r.status_code, r.text)
    r = n.post(f"/rooms/{room}/messages", json=body, headers={"Authorization": f"Bearer {n.token(AUTH_SECRET, 'bob')}"})
    assert r.status_code == 401, (r.status_code, r.text)
    r = n.post(f"/rooms/{room}/messages", json=body, headers={"Authorization": f"Bearer {n.token(AUTH_SECRET, 'alice')}"})
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.json() == {"room": room, "id": "a1", "seq": 1}
    reader = {"Authorization": f"Bearer {expected_token(AUTH_SECRET, 'anyone')}"}
    assert n.get(f"/rooms/{room}/messages", headers=reader).json()["messages"][0]["user"] == "alice"

"""Seed-compatible route GET /ws/{room}/{client_id}: plain text in, `[YYYY-MM-DD HH:MM:SS] text (user)` out."""

import datetime as dt
import re

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from chat_harness import AUTH_SECRET, expected_token, unique, wait_until

SEED_RE = re.compile(r"^\[(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})\] (.*) \(([^()]*)\)$", re.S)


class Seed:
    def __init__(self, node, room, client_id):
        self.ws = ws_connect(node.ws_url(f"/ws/{room}/{client_id}"), open_timeout=5, proxy=None, legacy=True,
                             ping_interval=None, close_timeout=2, max_queue=None)

    def send(self, text):
        self.ws.send(text)

    def recv_text(self, timeout=5.0):
        try:
            data = self.ws.recv(timeout=timeout)
        except TimeoutError:
            pytest.fail(f"seed client got nothing within {timeout}s")
        assert isinstance(data, str), f"seed route sent a binary frame: {data!r}"
        return data

    def close(self):
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001
            pass


@pytest.fixture
def seeds():
    made = []

    def make(node, room, client_id):
        s = Seed(node, room, client_id)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def utc_days():
    now = dt.datetime.now(dt.timezone.utc)
    return {now.strftime("%Y-%m-%d"), (now - dt.timedelta(seconds=10)).strftime("%Y-%m-%d")}


def check_seed_line(line, text, user, ts_ms=None):
    m = SEED_RE.match(line)
    assert m, f"not in seed format: {line!r}"
    assert m.group(3) == text, line
    assert m.group(4) == user, line
    assert m.group(1) in utc_days(), f"date is not today's UTC date: {line!r}"
    if ts_ms is not None:
        stamp = dt.datetime.fromtimestamp(ts_ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        assert f"{m.group(1)} {m.group(2)}" == stamp, f"{line!r} does not show the message ts {stamp}"


def test_seed_route_round_trip(node, clients, seeds):
    room = unique("seed")
    j = clients(node, "alice")
    j.join(room)

    s1 = seeds(node, room, "sally")
    s2 = seeds(node, room, "sam")
    # seed users count in presence
    p1 = j.wait_for("presence", lambda f: f["user"] == "sally" and f["event"] == "join")
    assert p1["room"] == room
    p2 = j.wait_for("presence", lambda f: f["user"] == "sam" and f["event"] == "join")
    # The two seed sockets join concurrently: whichever joined second counts three members.
    assert sorted([p1["members"], p2["members"]]) == [2, 3], (p1, p2)
    wait_until(lambda: node.get(f"/rooms/{room}").json()["members"] == ["alice", "sally", "sam"], 5,
               what="seed users as room members")

    s1.send("hello from seed")
    line1 = s1.recv_text()
    line2 = s2.recv_text()
    msg = j.wait_for("message")
    assert msg["room"] == room and msg["user"] == "sally" and msg["text"] == "hello from seed", msg
    assert msg["seq"] == 1 and msg["id"], msg
    check_seed_line(line1, "hello from seed", "sally", msg["ts"])
    check_seed_line(line2, "hello from seed", "sally", msg["ts"])

    ack = j.send_msg(room, "hi from json")
    assert ack["type"] == "ack" and ack["seq"] == 2
    own = j.wait_for("message", lambda f: f["seq"] == 2)
    check_seed_line(s1.recv_text(), "hi from json", "alice", own["ts"])
    check_seed_line(s2.recv_text(), "hi from json", "alice", own["ts"])

    # text that looks like JSON is still just text on the seed route
    s2.send('{"type": "ping"}')
    check_seed_line(s1.recv_text(), '{"type": "ping"}', "sam")
    m = j.wait_for("message", lambda f: f["seq"] == 3)
    assert m["user"] == "sam" and m["text"] == '{"type": "ping"}'

    # seed users leave presence when they disconnect
    s2.close()
    p = j.wait_for("presence", lambda f: f["user"] == "sam" and f["event"] == "leave")
    assert p["members"] == 2


@pytest.mark.parametrize("path", ["/ws/{bad}/ok-user", "/ws/okroom/{baduser}", "/ws/okroom/zero%E2%80%8Bwidth"],
                         ids=["long-room", "long-client-id", "zero-width-client-id"])
def test_seed_invalid_names_close_1008(node, path):
    path = path.format(bad="r" * 65, baduser="u" * 33)
    try:
        ws = ws_connect(node.ws_url(path), open_timeout=5, proxy=None, ping_interval=None, close_timeout=2,
                        legacy=True)
    except Exception:  # noqa: BLE001 - a refused upgrade would also keep the bad name out
        pytest.fail(f"upgrade on {path} refused; NODE-CONTRACT says close 1008 right after upgrade")
    try:
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1008, info.value
    finally:
        ws.close()
    assert node.get("/healthz").status_code == 200


def test_seed_route_needs_token_when_auth_is_on(module_node_factory):
    """With --auth-secret, /ws/{room}/{client_id} without ?token= (or with another user's token)
    is closed with 1008 and posts nothing; with the client id's own token it works."""
    n = module_node_factory("--auth-secret", AUTH_SECRET, name="seed-auth")
    room = unique("seedauth")
    for query in ("", "?token=wrong", f"?token={n.token(AUTH_SECRET, 'alice')}"):
        ws = ws_connect(n.ws_url(f"/ws/{room}/mallory{query}"), open_timeout=5, proxy=None,
                        ping_interval=None, close_timeout=2, legacy=True)
        try:
            with pytest.raises(ConnectionClosed) as info:
                ws.send("injected")
                ws.recv(timeout=5)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1008, info.value
        finally:
            ws.close()
    reader = {"Authorization": f"Bearer {expected_token(AUTH_SECRET, 'reader')}"}  # reads need a token too
    assert n.get(f"/rooms/{room}", headers=reader).json()["seq"] == 0, "nothing was posted without a valid token"
    good = ws_connect(n.ws_url(f"/ws/{room}/mallory?token={n.token(AUTH_SECRET, 'mallory')}"), open_timeout=5,
                      proxy=None, ping_interval=None, close_timeout=2, legacy=True)
    try:
        good.send("legit")
        line = good.recv(timeout=5)
        assert line.endswith("legit (mallory)"), line
    finally:
        good.close()

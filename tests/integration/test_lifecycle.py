"""Command line and process lifecycle (NODE-CONTRACT "Command line")."""

import json
import subprocess
import time

from chat_harness import NODE_BIN, REPO, ChatNode, unique, wait_until


def test_listening_line_and_graceful_sigterm(node_factory, clients):
    n = node_factory(name="lifecycle")
    wait_until(lambda: f"chat-node n1 listening on http://127.0.0.1:{n.port}" in n.log_path.read_text(errors="replace"),
               5, what="the listening line on stdout")
    room = unique("room")
    a = clients(n, "alice")
    a.join(room)
    assert a.send_msg(room, "before shutdown")["type"] == "ack"
    b = clients(n, "bob")
    b.join(room)
    t0 = time.monotonic()
    code = n.stop(timeout=10)
    took = time.monotonic() - t0
    assert code == 0, f"SIGTERM exit code {code}\n{n.log_tail()}"
    assert took < 10, f"graceful stop took {took:.1f}s"
    # connected clients are closed, not left hanging
    for c in (a, b):
        c.expect_closed(timeout=5)


def test_serve_is_default_subcommand():
    n = ChatNode(name="noserve")
    argv = n.argv()
    argv.remove("serve")
    n.argv = lambda: argv  # type: ignore[method-assign]
    try:
        n.start()
        assert n.get("/healthz").status_code == 200
    finally:
        assert n.stop() == 0


def test_token_subcommand_prints_one_line():
    import jwt  # PyJWT
    secret = "another secret, of 32 bytes or more"
    # "Zoë" typed with a combining diaeresis: the token names the NFC form.
    out = subprocess.run([str(NODE_BIN), "token", "--secret", secret, "--user", "Zoe\u0308", "--ttl", "600"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.endswith("\n") and out.stdout.count("\n") == 1, repr(out.stdout)
    claims = jwt.decode(out.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["sub"] == "Zo\u00eb"
    assert abs(claims["exp"] - (time.time() + 600)) < 30, claims
    assert "rooms" not in claims
    short = subprocess.run([str(NODE_BIN), "token", "--secret", "short", "--user", "a"], capture_output=True, text=True,
                           timeout=30)
    assert short.returncode != 0 and "at least 32 bytes" in short.stderr


def test_node_id_flag(node_factory, clients):
    n = ChatNode(name="nodeid", node_id="alpha-7")
    try:
        n.start()
        assert clients(n, "u").welcome["node"] == "alpha-7"
        assert n.get("/cluster").json()["node"] == "alpha-7"
        room = unique("room")
        assert n.get(f"/rooms/{room}").json()["owner"] == "alpha-7"
    finally:
        n.stop()


def test_limit_flags_are_honoured(node_factory, clients):
    n = node_factory("--max-text-length", "10", "--max-frame-bytes", "2000", name="limits")
    room = unique("room")
    c = clients(n, "alice")
    c.join(room)
    assert c.send_msg(room, "x" * 10)["type"] == "ack"
    f = c.send_msg(room, "x" * 11, mid="eleven")
    assert f["type"] == "error" and f["code"] == "too_large" and f["id"] == "eleven", f
    r = n.post_message(room, "bob", "b1", "y" * 11)
    assert r.status_code == 413 and r.json()["code"] == "too_large", r.text
    c.send_raw(json.dumps({"type": "ping", "ref": "p", "pad": "z" * 2100}))
    exc = c.expect_closed()
    assert exc.rcvd is not None and exc.rcvd.code == 1009, exc
    assert n.get("/healthz").status_code == 200


def test_multiple_rooms_on_one_connection(node_factory, clients):
    n = node_factory(name="multiroom")
    r1, r2 = unique("one"), unique("two")
    a = clients(n, "alice")
    a.join(r1)
    a.join(r2)
    b = clients(n, "bob")
    b.join(r1)
    c = clients(n, "carol")
    c.join(r2)
    assert b.send_msg(r1, "to one")["seq"] == 1
    assert c.send_msg(r2, "to two")["seq"] == 1
    got = {m["room"]: m for m in (a.wait_for("message"), a.wait_for("message"))}
    assert got[r1]["text"] == "to one" and got[r2]["text"] == "to two"
    a.leave(r1)
    assert b.send_msg(r1, "one again")["seq"] == 2
    assert c.send_msg(r2, "two again")["seq"] == 2
    m = a.wait_for("message")
    assert m["room"] == r2 and m["text"] == "two again", m
    assert a.poll("message", timeout=0.5) == [], "still receiving the room it left"
    assert c.poll("message", lambda f: f["room"] == r1, timeout=0.2) == []


def test_client_sockets_have_tcp_keepalive(node_factory, clients):
    """No ping task runs per socket: a client that vanished without closing is found by TCP
    keepalive (probes after 60 s idle), which the kernel shows as a keepalive timer."""
    n = node_factory(name="keepalive")
    c = clients(n, "kay")
    out = subprocess.run(["ss", "-tnoH", "state", "established", f"( sport = :{n.port} )"],
                         capture_output=True, text=True, timeout=5).stdout
    assert "timer:(keepalive" in out, f"no keepalive timer on the node's client sockets:\n{out}"
    c.ping()


def refused_start(*args: str) -> subprocess.CompletedProcess:
    """Runs `chat-node serve` with args that must be refused before it listens anywhere."""
    out = subprocess.run([str(NODE_BIN), "serve", "--port", "1", *args], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0, f"started with {args}: {out.stdout}"
    return out


def test_weak_secrets_are_refused_off_loopback():
    """Issue 11 §6: anyone who reaches the gossip port with a known or guessable secret could join.
    Off loopback a node refuses the built-in secret, the example file's and anything under 32 bytes,
    and says how to make one. (It never gets to listen: port 1 would fail anyway.)"""
    off_loopback = ["--bind", "0.0.0.0", "--advertise", "127.0.0.1"]
    out = refused_start(*off_loopback)
    assert "shorter than 32 bytes" in out.stderr or "published example" in out.stderr, out.stderr
    assert "chat-node secret" in out.stderr
    with open(REPO / "cluster.example.json") as f:
        example = json.load(f)["secret"]
    assert "published example" in refused_start(*off_loopback, "--secret", example).stderr
    assert "shorter than 32 bytes" in refused_start(*off_loopback, "--secret", "x" * 31).stderr
    strong = "y" * 32
    out = refused_start(*off_loopback, "--secret", strong, "--auth-secret", "short")
    assert "auth secret" in out.stderr and "shorter than 32 bytes" in out.stderr, out.stderr


def test_secret_subcommand_prints_a_new_strong_secret():
    secrets = set()
    for _ in range(3):
        out = subprocess.run([str(NODE_BIN), "secret"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        secret = out.stdout.strip()
        assert len(secret.encode()) >= 32 and all(c.isalnum() or c in "-_" for c in secret), secret
        secrets.add(secret)
    assert len(secrets) == 3

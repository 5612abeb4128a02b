"""User auth with JWTs (issue 11 §4, PROTOCOL.md): HS256 and ES256 keys, several at once by `kid`
(rotation), `exp` required, a `rooms` claim that limits joins, posts and reads, read routes that
need a token, and tokens that never reach the log. Tokens are minted with PyJWT, as a login
service in front of the cluster would. Each case says what the bad token gets."""

import json
import subprocess
import time

import jwt  # PyJWT
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chat_harness import AUTH_SECRET, NODE_BIN, ChatNode, expected_token, unique

SECOND_SECRET = "the-next-auth-key-for-rotation-0123456789"
EC_PRIVATE = ec.generate_private_key(ec.SECP256R1())
EC_PUBLIC_PEM = EC_PRIVATE.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def es256(user: str, ttl: float = 3600, kid: str = "ec", **claims) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode({"sub": user, "exp": int(time.time() + ttl), **claims}, EC_PRIVATE, algorithm="ES256",
                      headers=headers)


@pytest.fixture(scope="module")
def jwt_node(tmp_path_factory):
    """A node whose cluster file lists auth.secret (no kid), an HS256 key "k2" and an ES256 key "ec"."""
    path = tmp_path_factory.mktemp("jwt") / "cluster.json"
    path.write_text(json.dumps({
        "auth": {"secret": AUTH_SECRET, "keys": [
            {"kid": "k2", "alg": "HS256", "secret": SECOND_SECRET},
            {"kid": "ec", "alg": "ES256", "publicKey": EC_PUBLIC_PEM},
        ]},
        "nodes": [{"id": "n1", "host": "127.0.0.1", "clientPort": 1, "internalPort": 0, "gossipPort": 0}],
    }))
    node = ChatNode(["--config", str(path), "--node", "n1"], name="jwt")
    node.start()
    yield node
    node.stop()


def hello_answer(node, clients, user: str, token) -> dict:
    c = clients(node)
    c.send({"type": "hello", "user": user, "token": token})
    return c.recv(timeout=5)


def refused(node, clients, user: str, token, reason: str) -> None:
    f = hello_answer(node, clients, user, token)
    assert f["type"] == "error" and f["code"] == "unauthorized", f
    assert reason in f["message"], f


def accepted(node, clients, user: str, token) -> None:
    f = hello_answer(node, clients, user, token)
    assert f["type"] == "welcome" and f["user"] == user, f


PRESENTED: list[str] = []


def presented(token: str) -> str:
    PRESENTED.append(token)
    return token


def test_each_key_is_accepted_by_its_kid(jwt_node, clients):
    accepted(jwt_node, clients, "alice", presented(expected_token(AUTH_SECRET, "alice")))  # auth.secret, no kid
    accepted(jwt_node, clients, "alice", presented(expected_token(SECOND_SECRET, "alice", headers={"kid": "k2"})))
    accepted(jwt_node, clients, "alice", presented(es256("alice")))
    accepted(jwt_node, clients, "alice", presented(expected_token(AUTH_SECRET, "alice", ttl=-5)))  # 30 s of leeway


@pytest.mark.parametrize("case, token, reason", [
    ("expired", lambda: expected_token(AUTH_SECRET, "alice", ttl=-120), "expired"),
    ("wrongly signed", lambda: expected_token(SECOND_SECRET, "alice"), "signature"),
    ("kid of another key", lambda: expected_token(AUTH_SECRET, "alice", headers={"kid": "k2"}), "signature"),
    ("unknown kid", lambda: expected_token(AUTH_SECRET, "alice", headers={"kid": "retired"}), "key id"),
    ("no exp", lambda: jwt.encode({"sub": "alice"}, AUTH_SECRET, algorithm="HS256"), "needs sub and exp"),
    ("no sub", lambda: jwt.encode({"exp": int(time.time()) + 60}, AUTH_SECRET, algorithm="HS256"), "needs sub and exp"),
    ("alg none", lambda: jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, None, algorithm="none"), "signed with none"),
    ("ES256 without kid", lambda: es256("alice", kid=None), "signed with ES256"),
    ("HS256 under the EC key's kid", lambda: jwt.encode(
        {"sub": "alice", "exp": int(time.time()) + 60}, "x" * 32, algorithm="HS256", headers={"kid": "ec"}),
     "signed with HS256"),
    ("another user's", lambda: expected_token(AUTH_SECRET, "bob"), "another user"),
    ("not a JWT", lambda: "not-a-token", "not a JWT"),
    ("missing", lambda: None, "needs a token"),
])
def test_bad_tokens_are_refused(jwt_node, clients, case, token, reason):
    t = token()
    if t:
        presented(t)
    refused(jwt_node, clients, "alice", t, reason)
    # The same token over HTTP: 401 with the reason.
    headers = {"Authorization": f"Bearer {t}"} if t else {}
    r = jwt_node.post(f"/rooms/{unique('room')}/messages", json={"user": "alice", "id": "x", "text": "hi"},
                      headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized" and reason in r.json()["message"], r.text


def test_rooms_claim_limits_joins_posts_and_reads(jwt_node, clients):
    token = presented(expected_token(AUTH_SECRET, "carol", rooms=["team-*", "lobby"]))
    c = clients(jwt_node)
    c.hello("carol", token=token)
    team, other = "team-" + unique("t"), unique("other")
    c.join(team)
    assert c.send_msg(team, "in my team")["type"] == "ack"
    c.send({"type": "join", "room": other, "ref": "j"})
    f = c.wait_for_reply("j")
    assert f["code"] == "unauthorized" and other in f["message"], f
    c.send({"type": "history", "room": other, "ref": "h"})
    assert c.wait_for_reply("h")["code"] == "unauthorized"
    bearer = {"Authorization": f"Bearer {token}"}
    r = jwt_node.post(f"/rooms/{other}/messages", json={"user": "carol", "id": "p", "text": "no"}, headers=bearer)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert jwt_node.get(f"/rooms/{other}/messages", headers=bearer).status_code == 401
    assert jwt_node.get(f"/rooms/{team}/messages", headers=bearer).json()["messages"][0]["text"] == "in my team"
    assert jwt_node.get("/rooms/lobby", headers=bearer).status_code == 200


def test_read_routes_need_a_token(jwt_node):
    room = unique("room")
    for path in (f"/rooms/{room}", f"/rooms/{room}/messages"):
        r = jwt_node.get(path)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized", (path, r.text)
        r = jwt_node.get(path, headers={"Authorization": f"Bearer {presented(es256('anyone'))}"})
        assert r.status_code == 200, (path, r.text)
    for path in ("/healthz", "/metrics", "/"):
        assert jwt_node.get(path).status_code == 200, path
    assert jwt_node.get("/readyz").status_code != 401


def test_tokens_never_reach_the_log(jwt_node):
    """Runs after the others of this module: nothing they presented, good or bad, was logged."""
    assert len(PRESENTED) > 10
    log = jwt_node.log_path.read_text(errors="replace")
    for token in PRESENTED:
        signature = token.rsplit(".", 1)[-1] or token  # `alg: none` tokens have no signature
        assert signature not in log, f"a token was logged: {token[:20]}..."


def test_operations_routes_behind_the_admin_token(node_factory):
    """With --protect-operations, /metrics, /cluster and /rooms/{room}/replica need the admin token
    (derived from the cluster secret); the health routes and the page do not."""
    secret = "operations-test-cluster-secret-0123456789"
    n = node_factory("--protect-operations", "--secret", secret, "--auth-secret", AUTH_SECRET)
    admin = subprocess.run([str(NODE_BIN), "token", "--admin", "--secret", secret], capture_output=True, text=True,
                           timeout=30).stdout.strip()
    room = unique("room")
    for path in ("/metrics", "/cluster", f"/rooms/{room}/replica"):
        r = n.get(path)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized", (path, r.text)
        r = n.get(path, headers={"Authorization": f"Bearer {expected_token(AUTH_SECRET, 'alice')}"})
        assert r.status_code == 401, f"a user token opened {path}"
        r = n.get(path, headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code in (200, 404), (path, r.status_code, r.text)  # 404: no replica of that room
    assert n.get("/healthz").status_code == 200 and n.get("/").status_code == 200

"""Limits in bytes as well as characters, and names that cannot pass for others (issue 11 §1,
PROTOCOL.md): what each bad input gets, on the WebSocket, over HTTP and on the seed route. One
in-memory node for the module."""

import pytest

from chat_harness import AUTH_SECRET, expected_token, unique

COMBINING_ACUTE = "\u0301"


def expect_error(conn, code, **key):
    f = conn.wait_for("error", timeout=5)
    assert f["code"] == code, f"expected {code}, got {f}"
    for k, v in key.items():
        assert f.get(k) == v, f"error should carry {k}={v!r}: {f}"
    return f


@pytest.mark.parametrize("user", [
    "a" + COMBINING_ACUTE * 8000,             # one character of 16 KB: over 128 bytes
    "x" * 20 + "\u20ac" * 12,                # 32 characters, 56 bytes: accepted (the control case)
    "e\u202egnirts",                          # a right-to-left override (Cf)
    "zero\u200bwidth",                        # a zero-width space (Cf)
    "soft\u00adhyphen",                       # a soft hyphen (Cf)
    "bell\u0007",                             # a control character (Cc)
], ids=["one-char-16KB", "32-chars-56-bytes", "bidi-override", "zero-width", "soft-hyphen", "control"])
def test_hello_user_bytes_and_invisible_characters(node, clients, user):
    c = clients(node)
    c.send({"type": "hello", "user": user})
    f = c.recv(timeout=5)
    if user.startswith("x" * 20):
        assert f["type"] == "welcome" and f["user"] == user, f
        return
    assert f["type"] == "error" and f["code"] == "bad_request", f"hello with {user[:12]!r}… answered {f}"
    assert "128 bytes" in f["message"] or "format" in f["message"], f
    # the connection stays usable: a valid hello still works
    assert c.hello("after-bad-name")["type"] == "welcome"


def test_user_names_are_nfc_normalized(node, clients):
    """'Zoë' typed with a combining diaeresis and with the precomposed letter is one user: the
    welcome, presence and message authors carry the NFC form."""
    room = unique("nfc")
    decomposed, composed = "Zoe\u0308", "Zo\u00eb"
    a = clients(node)
    w = a.hello(decomposed)
    assert w["user"] == composed, f"welcome user not in NFC: {w['user']!r}"
    a.join(room)
    b = clients(node, composed)
    j = b.join(room)
    assert j["members"] == [composed], f"one user, two spellings, should be one member: {j['members']!r}"
    ack = a.send_msg(room, "hi")
    m = b.wait_for("message", lambda f: f.get("seq") == ack["seq"], timeout=5)
    assert m["user"] == composed, m


def test_message_id_bytes(node, clients):
    room = unique("ids")
    c = clients(node, "idder")
    c.join(room)
    cjk = "\u8a9e" * 50                      # 50 characters, 150 bytes
    c.send({"type": "send", "room": room, "id": cjk, "text": "x"})
    f = expect_error(c, "bad_request")
    assert "128 bytes" in f["message"], f
    ok = "\u8a9e" * 42                       # 126 bytes
    ack = c.send_msg(room, "y", mid=ok)
    assert ack["type"] == "ack" and ack["seq"] == 1, "the refused id must not have been sequenced"


def test_text_bytes(node, clients):
    room = unique("text")
    c = clients(node, "texter")
    c.join(room)
    # 4,000 characters of 4 bytes: 16,000 bytes, under both caps
    ack = c.send_msg(room, "\U0001f600" * 4000, mid="emoji")
    assert ack["type"] == "ack" and ack["seq"] == 1, ack
    # one character of 18,001 bytes: under the character cap, over the byte cap
    c.send({"type": "send", "room": room, "id": "heavy", "text": "a" + COMBINING_ACUTE * 9000})
    f = expect_error(c, "too_large", id="heavy")
    assert "16384 bytes" in f["message"], f
    ack = c.send_msg(room, "after", mid="after")
    assert ack["seq"] == 2, "the too_large text must not have been sequenced"


def test_http_post_limits(node):
    room = unique("httpb")
    r = node.post_message(room, "bot", "h1", "a" + COMBINING_ACUTE * 9000)
    assert r.status_code == 413 and r.json()["code"] == "too_large", r.text
    r = node.post_message(room, "bot\u200b", "h2", "hi")
    assert r.status_code == 400 and r.json()["code"] == "bad_request", r.text
    r = node.post_message(room, "Zoe\u0308", "h3", "hi")
    assert r.status_code == 200, r.text
    page = node.get(f"/rooms/{room}/messages").json()
    assert [m["user"] for m in page["messages"]] == ["Zo\u00eb"], page


def test_auth_checks_the_normalized_name(module_node_factory, clients):
    """Auth is checked after normalization: a token whose `sub` is 'Zoë' in either spelling admits
    either spelling as the same user (the NFC one), and a token of another name admits neither."""
    n = module_node_factory("--auth-secret", AUTH_SECRET, name="auth-nfc")
    c = clients(n)
    w = c.hello("Zoe\u0308", token=expected_token(AUTH_SECRET, "Zo\u00eb"))
    assert w["user"] == "Zo\u00eb", w
    d = clients(n)
    assert d.hello("Zo\u00eb", token=expected_token(AUTH_SECRET, "Zoe\u0308"))["user"] == "Zo\u00eb"
    e = clients(n)
    e.send({"type": "hello", "user": "Zoe\u0308", "token": expected_token(AUTH_SECRET, "Zoe")})
    f = e.recv(timeout=5)
    assert f["type"] == "error" and f["code"] == "unauthorized", f

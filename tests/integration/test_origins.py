"""Origins and the page (issue 11 §5): a page of another web origin can neither open the chat
socket nor post (403 JSON), posts must be JSON (415), and the page is served with a CSP that allows
only its own script, style and socket, with nosniff and no framing. Clients without an Origin (bots,
load tools) are not affected. The browser side is in tests/browser/test_origins_browser.py."""

import base64
import hashlib
import re
import socket

import pytest

from chat_harness import unique


def upgrade(node, origin, path: str = "/ws") -> bytes:
    """The status line and headers of a WebSocket upgrade request with this Origin (None: none)."""
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
        head = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{node.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
        if origin is not None:
            head += f"Origin: {origin}\r\n"
        s.sendall((head + "\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        if data.startswith(b"HTTP/1.1 403") or data.startswith(b"HTTP/1.1 404"):
            while True:  # the JSON body, then the node closes
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_websocket_upgrades_by_origin_default_policy(node):
    own = f"http://127.0.0.1:{node.port}"
    for origin in (None, own, "http://localhost:5173", "http://127.0.0.1:9999"):
        assert status(upgrade(node, origin)) == 101, origin
    for origin in ("https://evil.example", "http://10.1.2.3:8080", "null", "file://"):
        answer = upgrade(node, origin)
        assert status(answer) == 403, (origin, answer[:120])
        assert b'"code":"forbidden"' in answer
    # A WebSocket upgrade to a path that is not a WebSocket route gets an answer too (it got none).
    assert status(upgrade(node, None, "/healthz")) == 404


def test_listed_origins_replace_loopback(node_factory):
    n = node_factory("--allowed-origin", "https://chat.example.com")
    assert status(upgrade(n, "https://chat.example.com")) == 101
    assert status(upgrade(n, "https://chat.example.com/")) == 101
    assert status(upgrade(n, f"http://127.0.0.1:{n.port}")) == 101  # the node's own pages always
    assert status(upgrade(n, "http://localhost:5173")) == 403
    assert status(upgrade(n, "https://other.example.com")) == 403


def test_posts_need_an_allowed_origin_and_json(node):
    room = unique("room")
    body = '{"user": "alice", "id": "o1", "text": "hi"}'
    r = node.post(f"/rooms/{room}/messages", data=body, headers={"Content-Type": "application/json",
                                                                  "Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = {"Content-Type": content_type} if content_type else {}
        r = node.post(f"/rooms/{room}/messages", data=body, headers=headers)
        assert r.status_code == 415 and r.json()["code"] == "bad_request", (content_type, r.text)
    r = node.post(f"/rooms/{room}/messages", data=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200 and r.json()["seq"] == 1, r.text
    assert node.get(f"/rooms/{room}").json()["seq"] == 1, "nothing refused was sequenced"


def test_page_is_served_with_a_strict_policy(node):
    r = node.get("/")
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    html = r.text
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp, csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert f"connect-src 'self' ws://127.0.0.1:{node.port}" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert node.get("/healthz").headers["X-Content-Type-Options"] == "nosniff"
    assert node.get("/nope").headers["X-Content-Type-Options"] == "nosniff"
    # The test hooks exist only with --page-debug.
    assert "data-debug" not in html.split("<head", 1)[0]


def test_page_debug_marks_the_page(node_factory):
    n = node_factory("--page-debug")
    assert '<html data-debug="1"' in n.get("/").text


def test_plain_get_of_the_socket_route(node):
    r = node.get("/ws")
    assert r.status_code == 426 and r.json()["code"] == "bad_request"
    r = node.get("/ws", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403

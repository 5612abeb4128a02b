"""Connections and rates (issue 11 §3, README "Limits"): connection limits per node and per client
address, the deadlines for a request head and for `hello`, server pings that find silent sockets,
and request rates per user and per address across connections. Each test says what the bad input
gets, and that everyone else is still served."""

import json
import resource
import selectors
import socket
import struct
import time

import pytest

from chat_harness import RawWS, metric_total, unique, wait_until


def limit(*settings: str) -> list[str]:
    args: list[str] = []
    for s in settings:
        args += ["--limit", s]
    return args


def refusals(node, reason: str) -> float:
    for line in node.metrics().splitlines():
        if line.startswith("chat_refusals_total{") and f'reason="{reason}"' in line:
            return float(line.split()[-1])
    return 0.0


def raw_http(node, request: bytes, timeout: float = 10.0) -> tuple[bytes, float]:
    """Sends `request` on a fresh socket and reads until the node closes it: (answer, seconds)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", node.port), timeout=timeout) as s:
        if request:
            s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data, time.monotonic() - started
            data += chunk


def json_body(answer: bytes) -> dict:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


def upgrade_request(node) -> bytes:
    return (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{node.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def close_code(payload: bytes) -> int:
    return struct.unpack("!H", payload[:2])[0]


def served(node, clients) -> None:
    """Someone else is still served normally: a hello, a join, an acked send, and HTTP."""
    c = clients(node, unique("bystander"))
    room = unique("room")
    c.join(room)
    assert c.send_msg(room, "still here")["type"] == "ack"
    assert node.get("/healthz").status_code == 200


@pytest.fixture
def many_files():
    """1,000+ sockets need more than the usual 1,024 descriptors (the node inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_request_head_deadline_answers_408(node_factory, clients):
    node = node_factory(*limit("requestHeadTimeoutSeconds=1"))
    # Nothing at all, and a head that never ends (slow loris): both get 408 with JSON, then EOF.
    for request in (b"", b"GET /rooms/r HTTP/1.1\r\nHost: x\r\nX-Slow: "):
        answer, took = raw_http(node, request)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert json_body(answer)["code"] == "bad_request"
        assert 0.8 <= took <= 5, f"closed after {took:.2f} s, deadline 1 s"
    assert refusals(node, "request_head_timeout") >= 2
    served(node, clients)


def test_idle_keep_alive_connection_is_closed(node_factory):
    node = node_factory(*limit("httpIdleTimeoutSeconds=1"))
    answer, took = raw_http(node, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert 0.8 <= took <= 5, f"an idle keep-alive connection lived {took:.2f} s (idle timeout 1 s)"


def test_sockets_that_never_say_hello_are_closed_at_the_deadline(node_factory, clients, many_files):
    node = node_factory(*limit("helloTimeoutSeconds=3"))
    greeted = clients(node, unique("greeted"))  # says hello: stays
    opened: dict[int, tuple[RawWS, float]] = {}
    selector = selectors.DefaultSelector()
    for _ in range(1000):
        ws = RawWS("127.0.0.1", node.port)
        opened[ws.sock.fileno()] = (ws, time.monotonic())
        ws.sock.setblocking(False)
        selector.register(ws.sock, selectors.EVENT_READ)
    codes: dict[int, int] = {}
    lifetimes: list[float] = []
    deadline = time.monotonic() + 30
    while len(codes) < len(opened) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            ws, started = opened[key.fd]
            try:
                chunk = ws.sock.recv(4096)
            except BlockingIOError:
                continue
            ws.buf += chunk
            if len(ws.buf) >= 4 or not chunk:
                selector.unregister(ws.sock)
                assert ws.buf[0] & 0x0F == 0x8, f"expected a close frame, got {ws.buf[:20]!r}"
                codes[key.fd] = close_code(ws.buf[2:4])
                lifetimes.append(time.monotonic() - started)
    for ws, _ in opened.values():
        ws.close()
    assert len(codes) == 1000, f"only {len(codes)} of 1000 silent sockets were closed within 30 s"
    assert set(codes.values()) == {1008}
    lifetimes.sort()
    print(f"1000 silent sockets closed after {lifetimes[0]:.2f}-{lifetimes[-1]:.2f} s (deadline 3 s)")
    assert lifetimes[0] >= 2.5 and lifetimes[-1] <= 10, f"closed after {lifetimes[0]:.2f}-{lifetimes[-1]:.2f} s (deadline 3 s)"
    assert refusals(node, "hello_timeout") >= 1000
    assert greeted.ping()["type"] == "pong", "a client that said hello is not bound by the deadline"
    served(node, clients)


def test_silent_client_is_pinged_then_closed(node_factory, clients):
    node = node_factory(*limit("pingIntervalSeconds=1", "pingTimeoutSeconds=1"))
    answering = clients(node, unique("answers"))  # the websockets client answers pings itself
    silent = RawWS("127.0.0.1", node.port, timeout=10)
    silent.send_json({"type": "hello", "user": unique("silent")})
    opcode, payload = silent.read_frame()
    assert opcode == 0x1 and json.loads(payload)["type"] == "welcome"
    last_heard = time.monotonic()
    opcode, _ = silent.read_frame()
    assert opcode == 0x9, "a quiet client is pinged"
    pinged_after = time.monotonic() - last_heard
    opcode, payload = silent.read_frame()
    assert opcode == 0x8 and close_code(payload) == 1001, (opcode, payload)
    closed_after = time.monotonic() - last_heard
    with pytest.raises((EOFError, ConnectionResetError)):
        silent.read_frame()
    print(f"pinged {pinged_after:.2f} s after the last frame, closed after {closed_after:.2f} s (1 s + 1 s)")
    assert 0.8 <= pinged_after <= 3, pinged_after
    assert 1.8 <= closed_after <= 5, closed_after
    assert refusals(node, "ping_timeout") >= 1
    # The client that answers its pings is still connected after several intervals.
    time.sleep(3)
    assert answering.ping()["type"] == "pong"
    served(node, clients)


def test_connections_per_address(node_factory, clients):
    # A short HTTP idle timeout closes the start-up probe's keep-alive connection, which would count.
    node = node_factory(*limit("exemptLoopback=false", "maxConnectionsPerAddress=5", "httpIdleTimeoutSeconds=0.5"))
    time.sleep(1.5)
    held = [RawWS("127.0.0.1", node.port) for _ in range(5)]
    answer, _ = raw_http(node, upgrade_request(node))
    assert answer.startswith(b"HTTP/1.1 429 "), answer[:200]
    assert json_body(answer)["code"] == "rate_limited"
    answer, _ = raw_http(node, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 429 "), "plain HTTP counts too"
    assert refusals_after_close(node, held) >= 2


def refusals_after_close(node, held) -> float:
    held.pop().close()
    # One closed: the address may connect again.
    ws = wait_until(lambda: RawWS("127.0.0.1", node.port), timeout=5, what="a connection after one closed")
    ws.close()
    for w in held:
        w.close()
    return wait_until(lambda: refusals(node, "address_connections"), timeout=5, what="the refusals counted")


def test_loopback_is_exempt_from_the_per_address_limit_by_default(node_factory, clients):
    node = node_factory(*limit("maxConnectionsPerAddress=5"))
    held = [RawWS("127.0.0.1", node.port) for _ in range(20)]
    for w in held:
        w.close()
    served(node, clients)


def test_connections_per_node(node_factory, clients):
    node = node_factory(*limit("maxConnections=4", "httpIdleTimeoutSeconds=0.5"))
    time.sleep(1.5)
    held = [RawWS("127.0.0.1", node.port) for _ in range(4)]
    answer, _ = raw_http(node, upgrade_request(node))
    assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
    assert json_body(answer)["code"] == "unavailable"
    for w in held:
        w.close()
    wait_until(lambda: node.get("/healthz").status_code == 200, timeout=5, what="room for a connection again")
    assert refusals(node, "node_connections") >= 1


def test_user_send_rate_spans_connections(node_factory, clients):
    node = node_factory("--sends-per-second", "0.1", "--send-burst", "3")
    user, room = unique("u"), unique("room")
    a, b = clients(node, user), clients(node, user)
    a.join(room)
    b.join(room)
    assert a.send_msg(room, "1")["type"] == "ack"
    assert a.send_msg(room, "2")["type"] == "ack"
    assert b.send_msg(room, "3")["type"] == "ack"
    refused = b.send_msg(room, "4", mid="fourth")
    assert refused["type"] == "error" and refused["code"] == "rate_limited", refused
    assert refused["id"] == "fourth" and "this user" in refused["message"]
    # Over HTTP the same user's budget is the same one.
    r = node.post_message(room, user, unique("id"), "5")
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert refusals(node, "user_sends") >= 2
    served(node, clients)


def test_user_request_rate_spans_connections(node_factory, clients):
    node = node_factory(*limit("requestsPerSecond=0.1", "requestBurst=3"))
    user, room = unique("u"), unique("room")
    a = clients(node, user)
    a.join(room)  # 1
    assert a.history(room, ref="h1")["type"] == "history"  # 2
    assert a.history(room, ref="h2")["type"] == "history"  # 3
    refused = a.history(room, ref="h3")
    assert refused["type"] == "error" and refused["code"] == "rate_limited" and refused["ref"] == "h3", refused
    b = clients(node, user)
    b.send({"type": "join", "room": unique("room"), "ref": "j"})
    refused = b.wait_for_reply("j")
    assert refused["type"] == "error" and refused["code"] == "rate_limited", refused
    assert refusals(node, "user_requests") >= 2
    served(node, clients)


def test_address_request_rate_covers_http_reads(node_factory, clients):
    node = node_factory(*limit("exemptLoopback=false", "addressRequestsPerSecond=0.1", "addressRequestBurst=4"))
    room = unique("room")
    for _ in range(4):
        assert node.get(f"/rooms/{room}/messages").status_code == 200
    r = node.get(f"/rooms/{room}/messages")
    assert r.status_code == 429 and r.json()["code"] == "rate_limited", r.text
    assert node.get(f"/rooms/{room}").status_code == 429
    c = clients(node, unique("u"))
    c.send({"type": "join", "room": room, "ref": "j"})
    refused = c.wait_for_reply("j")
    assert refused["code"] == "rate_limited" and "this address" in refused["message"], refused
    assert node.get("/healthz").status_code == 200, "health is never rate limited"
    assert metric_total(node.metrics(), "chat_refusals_total") >= 3


def test_client_gone_without_a_close_frame_leaves_at_once(node_factory, clients):
    """A client whose TCP connection ends without a WebSocket close (a killed browser, a crashed
    bot) leaves its rooms as soon as the FIN arrives, not at the next failed write or ping."""
    node = node_factory()
    room = unique("room")
    watcher = clients(node, unique("watcher"))
    watcher.join(room)
    gone = RawWS("127.0.0.1", node.port)
    user = unique("gone")
    gone.send_json({"type": "hello", "user": user})
    gone.send_json({"type": "join", "room": room})
    watcher.wait_for("presence", lambda f: f["user"] == user and f["event"] == "join", timeout=5)
    gone.sock.shutdown(socket.SHUT_WR)  # a FIN, no close frame
    started = time.monotonic()
    left = watcher.wait_for("presence", lambda f: f["user"] == user and f["event"] == "leave", timeout=10)
    assert left["members"] == 1
    took = time.monotonic() - started
    print(f"presence leave {took * 1000:.0f} ms after the FIN")
    assert took < 3, "the ping interval (20 s) is not what found it"
    gone.close()

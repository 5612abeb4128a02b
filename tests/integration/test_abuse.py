"""Abuse that ends in a close (NODE-CONTRACT close codes): oversized frames (1009), invalid UTF-8
(1007), slow consumers (4008). The node keeps serving everyone else."""

import json
import socket
import struct
import time

import pytest

from chat_harness import RawWS, http_session, rss_kb, unique, wait_until


def assert_others_fine(node, clients):
    other = clients(node, unique("other"))
    room = unique("room")
    other.join(room)
    assert other.send_msg(room, "fine")["type"] == "ack"
    other.ping()
    assert node.get("/healthz").status_code == 200


def test_frame_over_64k_closes_1009(node, clients):
    bystander = clients(node, "bystander")
    room = unique("room")
    bystander.join(room)

    c = clients(node, "big")
    # exactly 64 KiB is still fine (unknown fields are ignored)
    base = len(json.dumps({"type": "ping", "ref": "under", "pad": ""}))
    ok = json.dumps({"type": "ping", "ref": "under", "pad": "p" * (65536 - base)})
    assert len(ok.encode()) == 65536
    c.send_raw(ok)
    assert c.wait_for_reply("under")["type"] == "pong"

    payload = json.dumps({"type": "ping", "ref": "over", "pad": "p" * 70000})
    assert len(payload.encode()) > 65536
    c.send_raw(payload)
    exc = c.expect_closed(timeout=5)
    assert exc.rcvd is not None, f"socket dropped without a close frame: {exc!r}"
    assert exc.rcvd.code == 1009, f"expected close 1009, got {exc.rcvd.code} {exc.rcvd.reason!r}"

    bystander.ping()
    assert_others_fine(node, clients)


def test_frame_of_65537_bytes_closes_1009(node, clients):
    c = clients(node, "big1")
    base = len(json.dumps({"type": "ping", "ref": "over", "pad": ""}))
    payload = json.dumps({"type": "ping", "ref": "over", "pad": "p" * (65537 - base)})
    assert len(payload) == 65537
    c.send_raw(payload)
    exc = c.expect_closed(timeout=5)
    assert exc.rcvd is not None and exc.rcvd.code == 1009, f"expected 1009, got {exc!r}"
    assert_others_fine(node, clients)


HOSTILE = {
    "deep-array": "[" * 30000 + "]" * 30000,
    "deep-object": '{"a":' * 10000 + "1" + "}" * 10000,
    "deep-in-field": '{"type":"ping","ref":"d","x":' + "[" * 30000 + "]" * 30000 + "}",
    "huge-exponent": '{"type":"join","room":"hx","since":1e400,"ref":"hx"}',
    "bigint": '{"type":"join","room":"hb","since":123456789012345678901234567890,"ref":"hb"}',
    "lone-surrogate": '{"type":"ping","ref":"\\ud800"}',
    "trailing-garbage": '{"type":"ping","ref":"t"} xyz',
    "two-objects": '{"type":"ping","ref":"a"}{"type":"ping","ref":"b"}',
    "empty": "",
    "whitespace": "  \n ",
    "many-keys": "{" + ",".join(f'"k{i}":{i}' for i in range(5000)) + ',"type":"ping","ref":"mk"}',
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_json_is_answered_and_harmless(node, clients, case):
    c = clients(node, "hostile")
    raw = HOSTILE[case]
    assert len(raw.encode()) <= 65536
    c.send_raw(raw)
    f = c.recv(timeout=5)
    if case == "many-keys":
        assert f["type"] == "pong" and f.get("ref") == "mk", f
    elif case == "deep-in-field":
        assert f["type"] in ("pong", "error"), f
        if f["type"] == "error":
            assert f["code"] == "bad_request", f
    else:
        assert f["type"] == "error" and f["code"] == "bad_request", f
    c.ping()
    assert node.alive()
    assert_others_fine(node, clients)


def test_fragmented_message_over_64k_closes_1009(node, clients):
    c = clients(node, "frag")
    # 3 fragments of 30,000 bytes: every frame is small, the message is not
    chunk = "q" * 30000
    c.ws.send(['{"type":"ping","ref":"frag","pad":"', chunk, chunk, chunk + '"}'])
    exc = c.expect_closed(timeout=5)
    assert exc.rcvd is not None and exc.rcvd.code == 1009, f"expected 1009, got {exc!r}"
    assert_others_fine(node, clients)


def test_invalid_utf8_closes_1007(node, clients):
    bystander = clients(node, "bystander2")
    bystander.ping()
    c = clients(node, "badutf")
    c.send_raw(b'{"type": "ping", "ref": "\xff\xfe\xc3"}', text=True)
    exc = c.expect_closed(timeout=5)
    assert exc.rcvd is not None, f"socket dropped without a close frame: {exc!r}"
    assert exc.rcvd.code == 1007, f"expected close 1007, got {exc.rcvd.code} {exc.rcvd.reason!r}"
    bystander.ping()
    assert_others_fine(node, clients)


def test_invalid_utf8_raw_socket_closes_1007(node):
    raw = RawWS("127.0.0.1", node.port)
    try:
        raw.send_text(b'{"type":"hello","user":"\xc0\xafx"}')
        op, payload = raw.read_frame()
        assert op == 0x8, f"expected a close frame, got opcode {op} {payload!r}"
        code = struct.unpack("!H", payload[:2])[0]
        assert code == 1007, f"close code {code}"
    finally:
        raw.close()
    assert node.get("/healthz").status_code == 200


@pytest.mark.timeout(90)
def test_slow_consumer_is_closed_4008_and_others_keep_up(node_factory, clients):
    n = node_factory("--outbound-queue-frames", "16", "--sends-per-second", "100000", "--send-burst", "100000",
                     name="slow")
    room = unique("room")
    fast1 = clients(n, "fast1")
    fast1.join(room)
    fast2 = clients(n, "fast2")
    fast2.join(room)

    slow = RawWS("127.0.0.1", n.port, rcvbuf=4096, timeout=5)
    try:
        slow.send_json({"type": "hello", "user": "slowpoke"})
        op, payload = slow.read_frame()
        assert op == 1 and json.loads(payload)["type"] == "welcome", payload
        slow.send_json({"type": "join", "room": room, "ref": "sj"})
        while True:  # read up to our joined, then never read again
            op, payload = slow.read_frame()
            if op == 1 and json.loads(payload).get("type") == "joined":
                break
        fast1.wait_for("presence", lambda f: f["user"] == "slowpoke")

        rss_before = rss_kb(n.pid)
        # ~7 MB in total: more than the kernel socket buffers can absorb for a reader that
        # never reads (Linux autotunes the node's send buffer up to 4 MB on loopback)
        total = 2000
        text = "k" * 3500
        s = http_session()
        t0 = time.monotonic()
        for i in range(1, total + 1):
            r = s.post(f"{n.base}/rooms/{room}/messages", json={"user": "pump", "id": f"p-{i}", "text": text},
                       timeout=5)
            assert r.status_code == 200, (i, r.status_code, r.text)
            assert r.json()["seq"] == i
        pump_secs = time.monotonic() - t0

        # fast members receive everything, in order
        for f in (fast1, fast2):
            msgs = f.collect_messages(room, total, timeout=30)
            assert [m["seq"] for m in msgs] == list(range(1, total + 1))
            assert all(m["text"] == text for m in msgs)

        rss_after = rss_kb(n.pid)
        assert rss_after - rss_before < 200 * 1024, f"RSS grew {rss_before} -> {rss_after} kB"
        assert n.get("/healthz").status_code == 200

        # now drain the slow socket: it must end in a close 4008 (or a closed socket)
        slow.sock.settimeout(10)
        close_code = None
        ended = None
        received = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                op, payload = slow.read_frame()
            except (EOFError, ConnectionResetError) as exc:
                ended = repr(exc)
                break
            except socket.timeout:
                ended = None
                break
            if op == 0x8:
                close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                ended = f"close frame {close_code} {payload[2:]!r}"
                break
            if op == 0x1:
                received += 1
        assert ended is not None, (
            f"slow consumer was never disconnected (read {received} frames, pump took {pump_secs:.1f}s)")
        print(f"slow consumer: {ended}; {received} message frames read; pump {pump_secs:.1f}s; "
              f"RSS {rss_before} -> {rss_after} kB")
        if close_code is not None:
            assert close_code == 4008, ended
        assert received < total, f"slow consumer got all {received} messages although its queue is 16 frames"
    finally:
        slow.close()

    # the node and the fast members still work
    ack = fast1.send_msg(room, "after the slow one")
    assert ack["type"] == "ack" and ack["seq"] == total + 1
    assert fast2.collect_messages(room, 1)[0]["seq"] == total + 1
    # the cut-off client leaves presence once its socket is gone (asynchronously: within seconds)
    wait_until(lambda: "slowpoke" not in n.get(f"/rooms/{room}").json()["members"], timeout=5,
               what="the slow consumer to leave presence")

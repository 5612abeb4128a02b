"""Shared fixtures and helpers for the chat-node integration tests.

Everything here talks to real processes: the node binary (env CHAT_NODE_BIN, default
<repo>/.build/debug/chat-node) and, for the Redis tests, Debian's redis-server. Every process is
started by us and stopped by its PID; every network wait is bounded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import sys
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

REPO = Path(__file__).resolve().parents[1]
NODE_BIN = Path(os.environ.get("CHAT_NODE_BIN") or REPO / ".build" / "debug" / "chat-node")
OUTPUT_DIR = REPO / "test-output"
LOG_DIR = OUTPUT_DIR / "logs"

DEFAULT_TIMEOUT = 5.0
INTEGRATION_TEST_TIMEOUT = 60  # seconds, per test (pytest-timeout)

# Test modules import the helpers below as `chat_harness` (a unique name: tests/browser may have
# its own conftest.py, and `import conftest` would be ambiguous when both directories run).
sys.modules.setdefault("chat_harness", sys.modules[__name__])


# --------------------------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    """Bind 127.0.0.1:0 and return the port the kernel picked."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix: str = "r") -> str:
    """A fresh room/user/id name, valid for every field ([A-Za-z0-9._-], short)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(pred: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll pred() until truthy; return its value or fail after timeout."""
    deadline = time.monotonic() + timeout
    last_exc: Optional[BaseException] = None
    while time.monotonic() < deadline:
        try:
            value = pred()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - we report the last one
            last_exc = exc
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_exc!r})" if last_exc else ""))


# An HS256 key must have at least 32 bytes (RFC 7518 §3.2); nodes refuse shorter auth secrets.
AUTH_SECRET = "test-auth-secret-0123456789abcdef"


def expected_token(secret: str, user: str, ttl: float = 3600, headers: Optional[dict] = None, **claims: Any) -> str:
    """A user token as PROTOCOL.md defines it: an HS256 JWT with sub = user and exp (PyJWT)."""
    import jwt  # PyJWT
    return jwt.encode({"sub": user, "exp": int(time.time() + ttl), **claims}, secret, algorithm="HS256", headers=headers)


def http_session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # never go through a proxy for 127.0.0.1
    return s


def metric_total(text: str, name: str) -> Optional[float]:
    """Sum of every sample of `name` (any labels); None if the metric is absent."""
    total = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^" + re.escape(name) + r"(\{[^}]*\})?\s+(\S+)", line.strip())
        if m:
            total = (total or 0.0) + float(m.group(2))
    return total


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# --------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------


class RedisServer:
    """A throwaway redis-server on host:port (127.0.0.1 unless told), no persistence, stoppable and
    restartable."""

    def __init__(self, port: Optional[int] = None, host: str = "127.0.0.1"):
        binary = shutil.which("redis-server")
        if not binary:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.port = port or free_port()
        self.host = host  # tests/netbed: the bed's gateway address on its bridge
        self.dir = tempfile.mkdtemp(prefix="chat-redis-")
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = LOG_DIR / f"redis-{self.port}.log"

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "RedisServer":
        assert self.proc is None or self.proc.poll() is not None, "redis already running"
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", self.host,
                # off the loopback (a test bed's bridge), Redis refuses clients unless told otherwise
                *([] if self.host.startswith("127.") else ["--protected-mode", "no"]),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--dir", self.dir,
            ],
            cwd=self.dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"redis-server exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                if self.command("PING") == "PONG":
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        pytest.fail(f"redis-server on {self.port} did not answer PING within {timeout}s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    # -- minimal RESP client (one connection per command; plenty for tests) --

    def command(self, *args: Any, timeout: float = 3.0) -> Any:
        parts = [str(a).encode() if not isinstance(a, bytes) else a for a in args]
        payload = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        with socket.create_connection((self.host, self.port), timeout=timeout) as s:
            s.sendall(payload)
            reader = s.makefile("rb")
            return _read_resp(reader)

    def zrange(self, key: str) -> list[dict]:
        return [json.loads(m) for m in self.command("ZRANGE", key, 0, -1)]

    def zcard(self, key: str) -> int:
        return int(self.command("ZCARD", key))


def _read_resp(reader) -> Any:
    line = reader.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError("redis error: " + rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)
        return data[:-2].decode()
    if kind == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [_read_resp(reader) for _ in range(n)]
    raise RuntimeError(f"unexpected RESP line {line!r}")


# --------------------------------------------------------------------------------------------
# chat node process
# --------------------------------------------------------------------------------------------


class ChatNode:
    """One chat-node process we started; stopped by its PID."""

    def __init__(self, extra_args: Iterable[str] = (), port: Optional[int] = None, name: str = "node",
                 node_id: str = "n1"):
        if not NODE_BIN.exists():
            pytest.fail(f"node binary {NODE_BIN} does not exist (build it or set CHAT_NODE_BIN)")
        self.port = port or free_port()
        self.node_id = node_id
        self.extra_args = list(extra_args)
        self.proc: Optional[subprocess.Popen] = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}-{self.port}-{uuid.uuid4().hex[:6]}.log"
        self.http = http_session()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def ws_url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def argv(self) -> list[str]:
        groups = ["--replication-factor", os.environ["CHAT_REPLICATION_FACTOR"]] \
            if os.environ.get("CHAT_REPLICATION_FACTOR") else []
        return [str(NODE_BIN), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--node-id", self.node_id, *groups, *self.extra_args]

    def start(self, timeout: float = 30.0) -> "ChatNode":
        assert self.proc is None or self.proc.poll() is not None, "node already running"
        log = open(self.log_path, "ab")
        log.write(("\n=== start: " + " ".join(self.argv()) + "\n").encode())
        log.flush()
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO))
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"chat-node exited with {self.proc.returncode} before serving.\n{self.log_tail()}")
            try:
                r = self.http.get(self.base + "/healthz", timeout=1)
                if r.status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"chat-node did not answer /healthz 200 within {timeout}s.\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self, timeout: float = 30.0) -> "ChatNode":
        self.stop()
        return self.start(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return f"--- last {n} lines of {self.log_path} ---\n" + "\n".join(lines[-n:])

    # -- HTTP shortcuts --

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", DEFAULT_TIMEOUT)
        return self.http.get(self.base + path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", DEFAULT_TIMEOUT)
        return self.http.post(self.base + path, **kw)

    def post_message(self, room: str, user: str, mid: str, text: str, token: Optional[str] = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.post(f"/rooms/{room}/messages", json={"user": user, "id": mid, "text": text}, headers=headers)

    def metrics(self) -> str:
        r = self.get("/metrics")
        assert r.status_code == 200, r.text
        return r.text

    # -- WebSocket shortcuts --

    def client(self, user: Optional[str] = None, path: str = "/ws", **kw) -> "WSClient":
        c = WSClient(self.ws_url(path), **kw)
        if user is not None:
            c.hello(user)
        return c

    def token(self, secret: str, user: str) -> str:
        out = subprocess.run([str(NODE_BIN), "token", "--secret", secret, "--user", user],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, f"chat-node token failed: {out.returncode} {out.stderr}"
        return out.stdout.strip()


# --------------------------------------------------------------------------------------------
# WebSocket clients
# --------------------------------------------------------------------------------------------


class WSClient:
    """Sync JSON WebSocket client; every receive is bounded.

    Frames read from the socket but not yet consumed live in `backlog`; `recv()` serves from it
    first. `wait_for()` takes the first matching frame and leaves the others in order;
    `recv_until()` consumes everything up to the match and returns the skipped frames.
    """

    def __init__(self, url: str, open_timeout: float = DEFAULT_TIMEOUT, **kw):
        kw.setdefault("max_size", None)          # we want to see whatever the server sends
        kw.setdefault("max_queue", None)         # always-reading client: no flow control pauses
        kw.setdefault("ping_interval", None)
        kw.setdefault("close_timeout", 2)
        kw.setdefault("proxy", None)
        kw.setdefault("legacy", True)       # websockets >= 17: plain connection object, no warning
        self.url = url
        self.ws = ws_connect(url, open_timeout=open_timeout, **kw)
        self.backlog: deque = deque()
        self.user: Optional[str] = None
        self.welcome: Optional[dict] = None

    # -- raw --

    def send(self, obj: Any) -> None:
        self.ws.send(json.dumps(obj))

    def send_raw(self, data, text: Optional[bool] = None) -> None:
        self.ws.send(data, text=text)

    def _read(self, timeout: float) -> Any:
        data = self.ws.recv(timeout=max(timeout, 0.001))
        if isinstance(data, bytes):
            return {"__binary__": data}
        try:
            return json.loads(data)
        except ValueError:
            return {"__text__": data}

    def recv(self, timeout: float = DEFAULT_TIMEOUT) -> dict:
        if self.backlog:
            return self.backlog.popleft()
        try:
            return self._read(timeout)
        except TimeoutError:
            pytest.fail(f"no frame within {timeout}s on {self.url}")

    def recv_until(self, type_: str, timeout: float = DEFAULT_TIMEOUT,
                   pred: Optional[Callable[[dict], bool]] = None) -> tuple[dict, list[dict]]:
        """Consume frames until one of `type_` (and pred) arrives; return (frame, skipped)."""
        skipped: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            if self.backlog:
                f = self.backlog.popleft()
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"no {type_!r} frame within {timeout}s; skipped: {skipped[-10:]}")
                try:
                    f = self._read(remaining)
                except TimeoutError:
                    pytest.fail(f"no {type_!r} frame within {timeout}s; skipped: {skipped[-10:]}")
            if f.get("type") == type_ and (pred is None or pred(f)):
                return f, skipped
            skipped.append(f)

    def wait_for(self, type_: str, pred: Optional[Callable[[dict], bool]] = None,
                 timeout: float = DEFAULT_TIMEOUT) -> dict:
        """First frame of `type_` matching pred; other frames stay in the backlog, in order."""
        for i, f in enumerate(self.backlog):
            if f.get("type") == type_ and (pred is None or pred(f)):
                del self.backlog[i]
                return f
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                f = self._read(remaining)
            except TimeoutError:
                break
            if f.get("type") == type_ and (pred is None or pred(f)):
                return f
            self.backlog.append(f)
        pytest.fail(f"no {type_!r} frame matching within {timeout}s; unconsumed: {list(self.backlog)[-10:]}")

    def poll(self, type_: Optional[str] = None, pred: Optional[Callable[[dict], bool]] = None,
             timeout: float = 1.0) -> list[dict]:
        """Read for `timeout` seconds; return (and remove) matching frames incl. the backlog."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                self.backlog.append(self._read(remaining))
            except TimeoutError:
                break
        found = [f for f in self.backlog if (type_ is None or f.get("type") == type_) and (pred is None or pred(f))]
        self.backlog = deque(f for f in self.backlog if not any(f is g for g in found))
        return found

    def collect_messages(self, room: str, count: int, timeout: float = 10.0) -> list[dict]:
        """Wait until `count` message frames for `room` arrived (backlog included)."""
        got: list[dict] = []
        keep: deque = deque()
        for f in self.backlog:
            if f.get("type") == "message" and f.get("room") == room and len(got) < count:
                got.append(f)
            else:
                keep.append(f)
        self.backlog = keep
        deadline = time.monotonic() + timeout
        while len(got) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"only {len(got)} of {count} messages for {room} within {timeout}s; "
                            f"last: {got[-3:]}; other frames: {list(self.backlog)[-5:]}")
            try:
                f = self._read(remaining)
            except TimeoutError:
                continue
            if f.get("type") == "message" and f.get("room") == room:
                got.append(f)
            else:
                self.backlog.append(f)
        return got

    def expect_closed(self, timeout: float = DEFAULT_TIMEOUT) -> ConnectionClosed:
        """Read until the server closes; return the ConnectionClosed exception."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.ws.recv(timeout=max(0.01, deadline - time.monotonic()))
            except ConnectionClosed as exc:
                return exc
            except TimeoutError:
                break
        pytest.fail(f"connection not closed by the server within {timeout}s")

    def close_code(self) -> Optional[int]:
        return self.ws.close_code

    # -- protocol helpers --

    def hello(self, user: str, token: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT) -> dict:
        frame: dict = {"type": "hello", "user": user}
        if token is not None:
            frame["token"] = token
        self.send(frame)
        f = self.recv(timeout)
        assert f.get("type") == "welcome", f"hello({user!r}) answered {f}"
        self.user = user
        self.welcome = f
        return f

    def join(self, room: str, since: Optional[int] = None, ref: Any = None, timeout: float = DEFAULT_TIMEOUT) -> dict:
        if ref is None:
            ref = unique("j")
        frame: dict = {"type": "join", "room": room, "ref": ref}
        if since is not None:
            frame["since"] = since
        self.send(frame)
        f = self.wait_for_reply(ref, timeout=timeout)
        assert f.get("type") == "joined", f"join({room!r}, since={since}) answered {f}"
        return f

    def wait_for_reply(self, ref: Any, timeout: float = DEFAULT_TIMEOUT) -> dict:
        """The frame that answers `ref` (joined/left/history/pong/error with that ref)."""
        return self.wait_for_any(lambda f: f.get("type") != "message" and f.get("type") != "presence"
                                 and "ref" in f and f.get("ref") == ref and type(f.get("ref")) is type(ref),
                                 timeout=timeout, what=f"reply to ref {ref!r}")

    def wait_for_any(self, pred: Callable[[dict], bool], timeout: float = DEFAULT_TIMEOUT, what: str = "frame") -> dict:
        for i, f in enumerate(self.backlog):
            if pred(f):
                del self.backlog[i]
                return f
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                f = self._read(remaining)
            except TimeoutError:
                break
            if pred(f):
                return f
            self.backlog.append(f)
        pytest.fail(f"no {what} within {timeout}s; unconsumed: {list(self.backlog)[-10:]}")

    def leave(self, room: str, ref: Any = None) -> dict:
        ref = ref if ref is not None else unique("l")
        self.send({"type": "leave", "room": room, "ref": ref})
        return self.wait_for_reply(ref)

    def ping(self, ref: Any = None, timeout: float = DEFAULT_TIMEOUT) -> dict:
        ref = ref if ref is not None else unique("p")
        self.send({"type": "ping", "ref": ref})
        f = self.wait_for_reply(ref, timeout)
        assert f.get("type") == "pong", f"ping answered {f}"
        return f

    def history(self, room: str, before: Optional[int] = None, limit: Any = None, ref: Any = None) -> dict:
        ref = ref if ref is not None else unique("h")
        frame: dict = {"type": "history", "room": room, "ref": ref}
        if before is not None:
            frame["before"] = before
        if limit is not None:
            frame["limit"] = limit
        self.send(frame)
        return self.wait_for_reply(ref)

    def send_msg(self, room: str, text: str, mid: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT) -> dict:
        """Send and return the ack or error frame carrying that id."""
        mid = mid or unique("m")
        self.send({"type": "send", "room": room, "id": mid, "text": text})
        return self.wait_for_any(lambda f: f.get("type") in ("ack", "error") and f.get("id") == mid,
                                 timeout=timeout, what=f"ack/error for id {mid}")

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001
            pass


class RawWS:
    """A minimal hand-rolled WebSocket client over a plain socket (for abuse and slow readers)."""

    def __init__(self, host: str, port: int, path: str = "/ws", rcvbuf: Optional[int] = None, timeout: float = 5.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise ConnectionError(f"handshake failed: {head!r}")

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        header = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_text(self, data) -> None:
        self.send_frame(0x1, data.encode() if isinstance(data, str) else data)

    def send_json(self, obj: Any) -> None:
        self.send_text(json.dumps(obj))

    def _fill(self, n: int) -> None:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("socket closed")
            self.buf += chunk

    def read_frame(self) -> tuple[int, bytes]:
        """Return (opcode, payload); raises EOFError / ConnectionResetError / socket.timeout."""
        self._fill(2)
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        off = 2
        if n == 126:
            self._fill(4)
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            self._fill(10)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        self._fill(off + n)
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return b0 & 0x0F, payload

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# pytest fixtures
# --------------------------------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    """Every integration test gets a timeout (<= 60 s) unless it sets its own."""
    for item in items:
        if "integration" in Path(str(item.fspath)).parts and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(INTEGRATION_TEST_TIMEOUT))


@pytest.fixture(scope="session", autouse=True)
def _output_dirs():
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    yield


@pytest.fixture
def node_factory():
    """Start dedicated nodes with extra flags; all stopped at teardown."""
    nodes: list[ChatNode] = []

    def make(*extra_args: str, name: str = "node", port: Optional[int] = None) -> ChatNode:
        n = ChatNode(extra_args, port=port, name=name)
        nodes.append(n)
        return n.start()

    yield make
    for n in nodes:
        n.stop()


@pytest.fixture(scope="module")
def module_node_factory():
    nodes: list[ChatNode] = []

    def make(*extra_args: str, name: str = "node") -> ChatNode:
        n = ChatNode(extra_args, name=name)
        nodes.append(n)
        return n.start()

    yield make
    for n in nodes:
        n.stop()


@pytest.fixture(scope="module")
def node(module_node_factory) -> ChatNode:
    """One in-memory node per test module, with generous rate limits so tests can fill history
    quickly (rate limiting has its own dedicated node)."""
    return module_node_factory("--sends-per-second", "1000", "--send-burst", "1000", name="shared")


@pytest.fixture
def clients():
    """Factory: clients(node, user=None, path='/ws') -> WSClient; all closed at teardown."""
    made: list[WSClient] = []

    def make(n: ChatNode, user: Optional[str] = None, path: str = "/ws", **kw) -> WSClient:
        c = n.client(None, path=path, **kw)
        made.append(c)
        if user is not None:
            c.hello(user)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def redis_server():
    servers: list[RedisServer] = []

    def make(start: bool = True) -> RedisServer:
        r = RedisServer()
        servers.append(r)
        return r.start() if start else r

    yield make
    for r in servers:
        r.stop()
        shutil.rmtree(r.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# cluster helpers (tests/cluster): several nodes, a shared cluster file, gossip and link probes
# --------------------------------------------------------------------------------------------

CLUSTER_SECRET = "cluster-test-secret-" + uuid.uuid4().hex  # 52 bytes: enough off loopback
FAST_LIMITS = {"sendsPerSecond": 1000, "sendBurst": 1000}


def free_udp_port() -> int:
    """Bind a UDP socket to 127.0.0.1:0 and return the port the kernel picked."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(tcp: int = 0, udp: int = 0) -> tuple[list[int], list[int]]:
    """`tcp` distinct free TCP ports and `udp` distinct free UDP ports (all held while picking)."""
    held: list[socket.socket] = []
    try:
        tcps, udps = [], []
        for _ in range(tcp):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            held.append(s)
            tcps.append(s.getsockname()[1])
        for _ in range(udp):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            held.append(s)
            udps.append(s.getsockname()[1])
        return tcps, udps
    finally:
        for s in held:
            s.close()


class ClusterNode(ChatNode):
    """A chat-node started with a cluster file (`--config F --node ID`) or with cluster flags.

    Adds `spawn()` / `wait_serving()` (start several nodes before waiting for any of them) and
    keeps the ports the node was given. `argv()` is the whole command line (no implied flags).
    """

    def __init__(self, node_id: str, client_port: int, internal_port: int, gossip_port: int,
                 args: Iterable[str], name: Optional[str] = None):
        super().__init__((), port=client_port, name=name or f"cluster-{node_id}", node_id=node_id)
        self.internal_port = internal_port
        self.gossip_port = gossip_port
        self.args = list(args)

    @property
    def gossip_addr(self) -> str:
        return f"127.0.0.1:{self.gossip_port}"

    def argv(self) -> list[str]:
        return [str(NODE_BIN), "serve", *self.args]

    def spawn(self) -> "ClusterNode":
        assert self.proc is None or self.proc.poll() is not None, "node already running"
        log = open(self.log_path, "ab")
        log.write(("\n=== start: " + " ".join(self.argv()) + "\n").encode())
        log.flush()
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO))
        log.close()
        return self

    def wait_serving(self, timeout: float = 30.0) -> "ClusterNode":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"chat-node {self.node_id} exited with {self.proc.returncode} before serving.\n{self.log_tail()}")
            try:
                if self.http.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"chat-node {self.node_id} did not answer /healthz 200 within {timeout}s.\n{self.log_tail()}")

    def start(self, timeout: float = 30.0) -> "ClusterNode":
        return self.spawn().wait_serving(timeout)

    # -- cluster views --

    def cluster_view(self, timeout: float = 3.0) -> dict:
        r = self.get("/cluster", timeout=timeout)
        assert r.status_code == 200, f"GET /cluster on {self.node_id}: {r.status_code} {r.text}"
        return r.json()

    def members(self, timeout: float = 3.0) -> dict[str, dict]:
        return {m["id"]: m for m in self.cluster_view(timeout).get("members", [])}

    def alive_ids(self) -> set[str]:
        return {i for i, m in self.members().items() if m.get("status") == "alive"}

    def ready(self) -> bool:
        try:
            return self.get("/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def owner(self, room: str) -> Optional[str]:
        r = self.get(f"/rooms/{room}", timeout=5)
        assert r.status_code == 200, f"GET /rooms/{room} on {self.node_id}: {r.status_code} {r.text}"
        return r.json().get("owner")

    def metric(self, name: str) -> Optional[float]:
        return metric_total(self.metrics(), name)


def stop_all(nodes: Iterable[ChatNode], timeout: float = 10.0) -> None:
    """SIGTERM every running node by PID, wait up to `timeout` for all, SIGKILL the rest."""
    running = [n for n in nodes if n.proc is not None and n.proc.poll() is None]
    for n in running:
        try:
            n.proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for n in running:
        try:
            n.proc.wait(max(0.01, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            n.proc.kill()
            n.proc.wait(5)


class LocalCluster:
    """Nodes of one cluster file in a temp dir (free ports everywhere), plus nodes added later
    with command-line flags. Everything on 127.0.0.1; stop() stops every process by PID."""

    def __init__(self, ids: Iterable[str] = ("n1", "n2", "n3"), redis_url: Optional[str] = None,
                 secret: str = CLUSTER_SECRET, limits: Optional[dict] = None, tag: str = "cluster",
                 replication_factor: Optional[int] = None, history_limit: int = 1000):
        self.ids = list(ids)
        # CHAT_REPLICATION_FACTOR runs every cluster test with that replication factor (0: the
        # older successor replication); unset: the nodes' default (majority groups of three).
        if replication_factor is None and os.environ.get("CHAT_REPLICATION_FACTOR"):
            replication_factor = int(os.environ["CHAT_REPLICATION_FACTOR"])
        self.replication_factor = replication_factor
        self.secret = secret
        self.redis_url = redis_url
        self.tag = tag
        self.dir = tempfile.mkdtemp(prefix="chat-cluster-")
        tcps, udps = free_ports(tcp=2 * len(self.ids), udp=len(self.ids))
        self.spec = []
        for i, node_id in enumerate(self.ids):
            self.spec.append({"id": node_id, "host": "127.0.0.1", "clientPort": tcps[2 * i],
                              "internalPort": tcps[2 * i + 1], "gossipPort": udps[i]})
        self.file: dict = {
            "secret": secret,
            "redis": redis_url,
            "history": {"limit": history_limit},
            "ring": {"virtualNodes": None},
            "auth": {"secret": None},
            "limits": {"maxFrameBytes": 65536, "maxTextLength": 4000, "outboundQueueFrames": 1024,
                       "maxRoomsPerConnection": 100, **(limits if limits is not None else FAST_LIMITS)},
            "nodes": self.spec,
        }
        if replication_factor is not None:
            self.file["replication"] = {"factor": replication_factor}
        self.config_path = Path(self.dir) / "cluster.json"
        self.config_path.write_text(json.dumps(self.file, indent=2))
        self.nodes: dict[str, ClusterNode] = {}
        for s in self.spec:
            self.nodes[s["id"]] = ClusterNode(s["id"], s["clientPort"], s["internalPort"], s["gossipPort"],
                                              ["--config", str(self.config_path), "--node", s["id"]],
                                              name=f"{tag}-{s['id']}")
        self.extra: list[ClusterNode] = []

    @property
    def groups_mode(self) -> bool:
        """Rooms are majority groups (the default) rather than successor replicas."""
        return self.replication_factor != 0

    def __getitem__(self, node_id: str) -> ClusterNode:
        return self.nodes[node_id]

    def all(self) -> list[ClusterNode]:
        return list(self.nodes.values())

    def running(self) -> list[ClusterNode]:
        return [n for n in self.nodes.values() if n.alive()]

    def start(self, timeout: float = 30.0) -> "LocalCluster":
        for n in self.nodes.values():
            n.spawn()
        for n in self.nodes.values():
            n.wait_serving(timeout)
        return self

    def add_node(self, node_id: str, seeds: Iterable[str], secret: Optional[str] = None,
                 extra_args: Iterable[str] = (), register: bool = True) -> ClusterNode:
        """Start a node with command-line flags only (no cluster file)."""
        tcps, udps = free_ports(tcp=2, udp=1)
        args = ["--host", "127.0.0.1", "--port", str(tcps[0]), "--node-id", node_id,
                "--internal-port", str(tcps[1]), "--gossip-port", str(udps[0]),
                "--secret", secret if secret is not None else self.secret,
                "--sends-per-second", "1000", "--send-burst", "1000"]
        if self.replication_factor is not None:
            args += ["--replication-factor", str(self.replication_factor)]
        for s in seeds:
            args += ["--seed", s]
        if self.redis_url:
            args += ["--redis", self.redis_url]
        args += list(extra_args)
        n = ClusterNode(node_id, tcps[0], tcps[1], udps[0], args, name=f"{self.tag}-{node_id}")
        self.extra.append(n)
        if register:
            self.nodes[node_id] = n
        return n.start()

    def formed(self, nodes: Optional[Iterable[ClusterNode]] = None, expect: Optional[Iterable[str]] = None) -> bool:
        """True when every given node lists every expected id alive and answers /readyz 200."""
        nodes = list(nodes) if nodes is not None else self.running()
        expect = set(expect) if expect is not None else {n.node_id for n in nodes}
        for n in nodes:
            if not expect <= n.alive_ids() or not n.ready():
                return False
        return True

    def wait_formed(self, timeout: float = 20.0, nodes: Optional[Iterable[ClusterNode]] = None,
                    expect: Optional[Iterable[str]] = None) -> float:
        """Wait for formed(); returns the seconds it took. Fails with every node's view."""
        nodes = list(nodes) if nodes is not None else self.running()
        t0 = time.monotonic()
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            try:
                if self.formed(nodes, expect):
                    return time.monotonic() - t0
            except (requests.RequestException, AssertionError, ValueError):
                pass
            time.sleep(0.2)
        pytest.fail(f"cluster did not form within {timeout}s (expected {sorted(expect or [n.node_id for n in nodes])} alive "
                    f"and /readyz 200 everywhere):\n{self.describe(nodes)}")

    def describe(self, nodes: Optional[Iterable[ClusterNode]] = None) -> str:
        out = []
        for n in (list(nodes) if nodes is not None else self.all()):
            try:
                view = json.dumps(n.cluster_view())
            except Exception as exc:  # noqa: BLE001
                view = f"(no /cluster: {exc!r})"
            out.append(f"{n.node_id} (pid {n.proc.pid if n.proc else None}, alive={n.alive()}, ready={n.ready() if n.alive() else '-'}): {view}")
            out.append(f"    log: {n.log_path}")
        return "\n".join(out)

    def stop(self) -> None:
        stop_all(list(self.nodes.values()) + [n for n in self.extra if n not in self.nodes.values()])
        shutil.rmtree(self.dir, ignore_errors=True)


# -- internal links (NODE-CONTRACT "Cluster"): 4-byte big-endian length + frame ------------------

LINK_HELLO, LINK_CHALLENGE, LINK_PROOF = 1, 2, 3
LINK_SEND = 12
LINK_STATS = 15


def link_field(data) -> bytes:
    b = data.encode() if isinstance(data, str) else bytes(data)
    return struct.pack(">I", len(b)) + b


def link_frame(tag: int, *parts: bytes) -> bytes:
    body = bytes([tag]) + b"".join(parts)
    return struct.pack(">I", len(body)) + body


def link_send_frame(corr: int, room: str, user: str, mid: str, text: str) -> bytes:
    return link_frame(LINK_SEND, struct.pack(">Q", corr), link_field(room), link_field(user), link_field(mid), link_field(text))


def link_mac(secret: str, label: str, first: bytes, second: bytes, a: str, b: str) -> bytes:
    key = hashlib.sha256(secret.encode()).digest()
    m = hmac.new(key, digestmod=hashlib.sha256)
    for part in (label.encode(), first, second, a.encode(), b"\0", b.encode()):
        m.update(part)
    return m.digest()


def read_link_frame(sock: socket.socket, timeout: float = 5.0) -> Optional[bytes]:
    """One frame body from a raw link socket; None if the peer closed (EOF or reset)."""
    sock.settimeout(timeout)
    buf = b""
    try:
        while len(buf) < 4:
            chunk = sock.recv(4 - len(buf))
            if not chunk:
                return None
            buf += chunk
        n = struct.unpack(">I", buf)[0]
        body = b""
        while len(body) < n:
            chunk = sock.recv(min(65536, n - len(body)))
            if not chunk:
                return None
            body += chunk
        return body
    except (ConnectionResetError, BrokenPipeError):
        return None


def parse_link_fields(body: bytes, count: int) -> list[bytes]:
    """The first `count` length-prefixed fields after the tag byte."""
    out, off = [], 1
    for _ in range(count):
        n = struct.unpack(">I", body[off:off + 4])[0]
        out.append(body[off + 4:off + 4 + n])
        off += 4 + n
    return out


def wait_peer_closed(sock: socket.socket, timeout: float = 5.0) -> bool:
    """True if the peer closes (recv -> b'' or reset) within timeout; bytes it sends are skipped."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except (socket.timeout, TimeoutError):
            return False
        if not data:
            return True


# --------------------------------------------------------------------------------------------
# chat-chaos
# --------------------------------------------------------------------------------------------

CHAOS_BIN = Path(os.environ.get("CHAT_CHAOS_BIN") or NODE_BIN.parent / "chat-chaos")


def run_chaos(*args: str, timeout: float) -> subprocess.CompletedProcess:
    """Runs chat-chaos (CHAOS_BIN) to completion. On timeout it gets SIGINT, on which it stops every
    node and Redis it started (by PID) and tears down any test bed it made, then the test fails."""
    if not CHAOS_BIN.exists():
        pytest.fail(f"chat-chaos binary {CHAOS_BIN} does not exist (build it or set CHAT_CHAOS_BIN)")
    proc = subprocess.Popen([str(CHAOS_BIN), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        pytest.fail(f"chat-chaos did not finish within {timeout}s\n{err[-4000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

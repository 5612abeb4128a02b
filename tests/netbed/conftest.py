"""Fixtures for the multi-host scenarios: a test bed of network namespaces on a bridge (netbed.py),
chat nodes started inside the namespaces, Redis and clients in the root namespace on the bridge.

The bed needs root and network namespaces. Where the machine cannot make them, the tests skip with
the reason, except under CI (env CI set), where they fail: CI runs as root and must run them.
Every node is stopped by its PID, every bed is torn down in a finalizer (nodes first).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterable, Optional

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import netbed  # noqa: E402
from chat_harness import (  # noqa: E402
    CLUSTER_SECRET,
    FAST_LIMITS,
    NODE_BIN,
    ClusterNode,
    LocalCluster,
    RedisServer,
    http_session,
    stop_all,
)

# Test modules import the helpers below as `netbed_harness` (`import conftest` is ambiguous).
sys.modules.setdefault("netbed_harness", sys.modules[__name__])

CLIENT_PORT, INTERNAL_PORT, GOSSIP_PORT = 8080, 9080, 7946
NETBED_TEST_TIMEOUT = 120


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "netbed" in Path(str(item.fspath)).parts and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(NETBED_TEST_TIMEOUT))


# --------------------------------------------------------------------------------------------
# can this machine make a bed?
# --------------------------------------------------------------------------------------------

_CAPABLE: Optional[str] = None  # None: not checked; "": capable; else the reason it is not


def bed_unavailable_reason() -> str:
    """'' when this machine can make beds, else why not (checked once)."""
    global _CAPABLE
    if _CAPABLE is not None:
        return _CAPABLE
    reason = ""
    if os.geteuid() != 0:
        reason = "the network test bed needs root (network namespaces, iptables)"
    else:
        for tool in ("ip", "iptables"):
            if shutil.which(tool) is None:
                reason = f"{tool} is not installed (SETUP_TEST_TOOLS=1 scripts/setup.sh installs it)"
                break
        if not reason:
            probe = f"nbprobe{os.getpid() % 100000}"
            p = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=10)
            if p.returncode != 0:
                reason = f"`ip netns add` fails here: {p.stderr.strip()}"
            else:
                q = subprocess.run(["ip", "netns", "exec", probe, "iptables", "-w", "5", "-S"], capture_output=True,
                                   text=True, timeout=10)
                subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)
                if q.returncode != 0:
                    reason = f"iptables does not work inside a network namespace: {q.stderr.strip()}"
    _CAPABLE = reason
    return reason


def require_bed() -> None:
    reason = bed_unavailable_reason()
    if not reason:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and this machine cannot make a network test bed: {reason}")
    print(f"SKIP netbed: {reason}")
    pytest.skip(f"cannot make a network test bed: {reason}")


def require_node_bin() -> None:
    if not NODE_BIN.exists():
        pytest.fail(f"node binary {NODE_BIN} does not exist (build it or set CHAT_NODE_BIN)")


_HELP: Optional[str] = None


def node_supports(option: str) -> bool:
    """True when `chat-node serve --help` lists `option` (e.g. --bind)."""
    global _HELP
    if _HELP is None:
        p = subprocess.run([str(NODE_BIN), "serve", "--help"], capture_output=True, text=True, timeout=30)
        _HELP = p.stdout + p.stderr
    return option in _HELP


# --------------------------------------------------------------------------------------------
# the bed
# --------------------------------------------------------------------------------------------


def make_bed(hosts: int, prefix: str = "nbt") -> netbed.TestBed:
    """A bed that is up, with a fresh name (and a subnet nobody else on this machine uses)."""
    last: Optional[Exception] = None
    for _ in range(8):
        name = f"{prefix}{uuid.uuid4().hex[:5]}"
        bed = netbed.TestBed(name, hosts, owner_pid=os.getpid())
        try:
            bed.up()
            return bed
        except netbed.NetbedError as exc:
            last = exc
            if "already used" not in str(exc):
                raise
    raise netbed.NetbedError(f"no free 10.77.K.0/24 after 8 names: {last}")


# Names of the beds these tests make (make_bed), and chat-chaos's (`cc<pid>`, owned by its process).
BED_PREFIXES = ("nbt", "nbs", "cc")


@pytest.fixture(scope="session")
def _sweep_stale_beds():
    """Beds of an earlier run that was killed before its finalizers (owner PID gone) go first."""
    if not bed_unavailable_reason():
        removed = netbed.sweep_stale(BED_PREFIXES)
        if removed:
            print(f"removed stale test beds: {removed}")
    yield


@pytest.fixture
def bed_factory(_sweep_stale_beds):
    """bed_factory(hosts) -> an up TestBed; each is torn down at the end of the test (after the
    nodes, which the fixtures that use this one stop first)."""
    require_bed()
    beds: list[netbed.TestBed] = []

    def make(hosts: int = 3) -> netbed.TestBed:
        bed = make_bed(hosts)
        beds.append(bed)
        return bed

    yield make
    for bed in beds:
        bed.down()


# --------------------------------------------------------------------------------------------
# nodes in namespaces
# --------------------------------------------------------------------------------------------


class BedNode(ClusterNode):
    """A chat-node running inside host `index`'s namespace, reached at its bed address."""

    def __init__(self, bed: netbed.TestBed, index: int, args: Iterable[str], name: str):
        super().__init__(f"n{index}", CLIENT_PORT, INTERNAL_PORT, GOSSIP_PORT, args, name=name)
        self.bed = bed
        self.index = index
        self.addr = bed.address(index)  # where the test reaches it (the client listener)

    @property
    def base(self) -> str:
        return f"http://{self.addr}:{self.port}"

    def ws_url(self, path: str = "/ws") -> str:
        return f"ws://{self.addr}:{self.port}{path}"

    @property
    def gossip_addr(self) -> str:
        return f"{self.addr}:{self.gossip_port}"

    def argv(self) -> list[str]:
        # `ip netns exec` execs the node: the Popen PID is the node's PID
        return self.bed.exec_argv(self.index, [str(NODE_BIN), "serve", *self.args])


class BedCluster(LocalCluster):
    """One node per bed host, all from one cluster file: host i is `n{i}` at the bed address i,
    with the same ports everywhere. `node_args` adds per-node flags (e.g. --bind/--advertise)."""

    def __init__(self, bed: netbed.TestBed, redis_url: Optional[str] = None, secret: str = CLUSTER_SECRET,
                 tag: str = "netbed", file_overrides: Optional[dict] = None):
        self.bed = bed
        self.ids = [f"n{i}" for i in bed.host_indices()]
        self.secret = secret
        self.redis_url = redis_url
        self.tag = tag
        self.dir = tempfile.mkdtemp(prefix="chat-netbed-")
        self.spec = []
        for i in bed.host_indices():
            entry = {"id": f"n{i}", "host": bed.address(i), "clientPort": CLIENT_PORT,
                     "internalPort": INTERNAL_PORT, "gossipPort": GOSSIP_PORT}
            entry.update((file_overrides or {}).get(f"n{i}", {}))
            self.spec.append(entry)
        self.file = {
            "secret": secret,
            "redis": redis_url,
            "history": {"limit": 1000},
            "ring": {"virtualNodes": None},
            "auth": {"secret": None},
            "limits": {"maxFrameBytes": 65536, "maxTextLength": 4000, "outboundQueueFrames": 1024,
                       "maxRoomsPerConnection": 100, **FAST_LIMITS},
            "nodes": self.spec,
        }
        self.config_path = Path(self.dir) / "cluster.json"
        self.config_path.write_text(json.dumps(self.file, indent=2))
        self.nodes = {}
        self.extra = []

    def node(self, i: int, extra_args: Iterable[str] = ()) -> BedNode:
        """Create (not start) the node of host i with the cluster file and `extra_args`."""
        n = BedNode(self.bed, i, ["--config", str(self.config_path), "--node", f"n{i}", *extra_args],
                    name=f"{self.tag}-{self.bed.name}-n{i}")
        old = self.nodes.get(n.node_id)
        if old is not None and old is not n:
            self.extra.append(old)  # still stopped at the end if it runs
        self.nodes[n.node_id] = n
        return n

    def start(self, timeout: float = 30.0, per_node_args: Optional[dict[int, list[str]]] = None) -> "BedCluster":
        for i in self.bed.host_indices():
            if f"n{i}" not in self.nodes:
                self.node(i, (per_node_args or {}).get(i, []))
        for n in self.nodes.values():
            n.spawn()
        for n in self.nodes.values():
            n.wait_serving(timeout)
        return self

    def stop(self) -> None:
        stop_all(list(self.nodes.values()) + [n for n in self.extra if n not in self.nodes.values()])
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def bed_cluster(bed_factory):
    """bed_cluster(hosts=3, redis=False, per_node_args=None, start=True) -> (bed, cluster, redis).
    Nodes are stopped (by PID) before the bed goes down; Redis runs in the root namespace, bound to
    the bed's gateway address."""
    require_node_bin()
    made: list[tuple[BedCluster, Optional[RedisServer]]] = []

    def make(hosts: int = 3, redis: bool = False, per_node_args: Optional[dict[int, list[str]]] = None,
             start: bool = True, file_overrides: Optional[dict] = None):
        bed = bed_factory(hosts)
        r = None
        if redis:
            r = RedisServer(host=bed.gateway)
            made.append((None, r))
            r.start()
        c = BedCluster(bed, redis_url=r.url if r else None, file_overrides=file_overrides)
        made.append((c, None))
        if start:
            c.start(per_node_args=per_node_args)
        return bed, c, r

    yield make
    for c, r in reversed(made):
        if c is not None:
            c.stop()
        if r is not None:
            r.stop()
            shutil.rmtree(r.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# views
# --------------------------------------------------------------------------------------------


def views(nodes: Iterable[ClusterNode], timeout: float = 2.0) -> dict[str, object]:
    """node id -> {member id: (status, host)} or the error text."""
    out: dict[str, object] = {}
    for n in nodes:
        try:
            out[n.node_id] = {mid: (m.get("status"), m.get("host")) for mid, m in n.members(timeout).items()}
        except Exception as exc:  # noqa: BLE001
            out[n.node_id] = f"error {type(exc).__name__}"
    return out


def all_alive(nodes: Iterable[ClusterNode], expect: Iterable[str]) -> bool:
    expect = set(expect)
    for n in nodes:
        try:
            if not expect <= n.alive_ids():
                return False
        except (requests.RequestException, AssertionError, ValueError):
            return False
    return True


def time_until(pred, bound: float, interval: float = 0.1) -> Optional[float]:
    """Seconds until pred() is true, or None if it was not within `bound` seconds."""
    t0 = time.monotonic()
    while True:
        try:
            if pred():
                return time.monotonic() - t0
        except Exception:  # noqa: BLE001
            pass
        if time.monotonic() - t0 > bound:
            return None
        time.sleep(interval)


def session() -> requests.Session:
    return http_session()


# --------------------------------------------------------------------------------------------
# cluster helpers for the scenarios
# --------------------------------------------------------------------------------------------


def bind_advertise_args(bed: netbed.TestBed, i: int, address: Optional[str] = None) -> list[str]:
    """`--bind 0.0.0.0 --advertise ADDR` where the node has them, else `--host ADDR`."""
    address = address or bed.address(i)
    if node_supports("--advertise") and node_supports("--bind"):
        return ["--bind", "0.0.0.0", "--advertise", address]
    return ["--host", address]


def wait_all_alive(nodes: list[ClusterNode], ids: Iterable[str], bound: float, what: str,
                   extra=None) -> float:
    """Seconds until every node lists every id alive (and extra(node) holds, when given); fails
    with every node's view after `bound` seconds."""
    ids = set(ids)

    def ok() -> bool:
        return all_alive(nodes, ids) and (extra is None or all(extra(n) for n in nodes))

    t = time_until(ok, bound)
    if t is None:
        pytest.fail(f"{what}: not every node saw {sorted(ids)} alive within {bound}s; views: {views(nodes)}")
    return t


def room_owned_by(node: ClusterNode, owner: str, prefix: str = "nb") -> str:
    from chat_harness import unique
    for _ in range(500):
        room = unique(prefix)
        if node.owner(room) == owner:
            return room
    raise AssertionError(f"no room owned by {owner} in 500 tries")


def post(node: ClusterNode, room: str, user: str, mid: str, text: str, timeout: float = 3.0) -> requests.Response:
    return node.http.post(f"{node.base}/rooms/{room}/messages", json={"user": user, "id": mid, "text": text},
                          timeout=timeout)


def history(node: ClusterNode, room: str, timeout: float = 5.0) -> list[dict]:
    """Every message of `room` that `node` serves, oldest first (HTTP, paged with since)."""
    out: list[dict] = []
    since = 0
    for _ in range(100):
        r = node.http.get(f"{node.base}/rooms/{room}/messages", params={"since": since, "limit": 200}, timeout=timeout)
        assert r.status_code == 200, f"GET history of {room} on {node.node_id}: {r.status_code} {r.text}"
        page = r.json().get("messages", [])
        out.extend(page)
        if len(page) < 200:
            return out
        since = page[-1]["seq"]
    return out


def send_until_acked(client, room: str, text: str, mid: str, bound: float) -> dict:
    """Sends `text` with id `mid` until it is acked or `bound` seconds pass (retrying with the
    same id is always safe); returns the last answer."""
    deadline = time.monotonic() + bound
    while True:
        ack = client.send_msg(room, text, mid=mid, timeout=5)
        if ack.get("type") == "ack" or time.monotonic() > deadline:
            return ack
        time.sleep(0.3)

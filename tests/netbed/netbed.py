#!/usr/bin/env python3
"""A multi-host network test bed on one machine: network namespaces on a bridge, with faults.

One implementation, two faces: the `TestBed` class (pytest scenarios) and a CLI (the Swift chaos
tool calls it). Everything is iproute2, iptables and tc; run as root.

Layout of a bed called NAME with N hosts on subnet K (10.77.K.0/24, the project's own range):

    root namespace:  bridge NAME-br, address 10.77.K.1/24 (the "gateway": clients, Redis)
                     one veth end per host, NAME-vI, enslaved to the bridge
                     iptables FORWARD: -i NAME-br -o NAME-br -j ACCEPT (bridged traffic crosses the
                     root FORWARD chain when bridge-nf-call-iptables is 1)
    namespace NAME-hI: lo up, the other veth end renamed eth0, address 10.77.K.(10+I)/24,
                     no default route (nothing outside the bed is reachable from a host)

Faults (host I against its peers, by default every other host of the bed; traffic with the
gateway is never touched by partition/asym/route):

    partition  iptables INPUT DROP in I's namespace from each peer and in each peer's namespace
               from I: both directions dropped silently at the receiver (see NOTE below)
    asym       iptables INPUT DROP in I's namespace from each peer: I hears nothing, I is heard
    route      ip route blackhole PEER/32 in I's namespace and blackhole I/32 in each peer's:
               sends fail locally with EINVAL
    vanish     the bridge-side veth of I set down: no RST, no FIN, I is gone for everybody
    loss       P% (default 20) of the packets between I and each peer dropped, in each direction:
               iptables `statistic --mode random` DROP at each receiver (I from peers, peers from I)
    delay      MS +- JITTER (default 100 ms +- 30 ms) on each direction between I and its peers:
               iptables NFQUEUE in I's namespace (INPUT from peers, OUTPUT to peers) and a small
               delayer process (`netbed.py _delayer`, pure Python netlink) in I's namespace that
               accepts each packet when its time has come; killed by heal/down, exits by itself when
               its fault leaves the state file; --queue-bypass: without it, packets pass undelayed

    The kernel of the project's machines has neither netem nor prio/u32 tc (CONFIG_NET_SCH_NETEM,
    CONFIG_NET_SCH_PRIO and the tc classifiers are not built), so loss and delay are done with
    iptables as above; they touch only traffic between I and its peers, never the gateway's.

NOTE on partition: an iptables OUTPUT DROP makes the *local* send fail (UDP sendto gets EPERM),
which is not how a silent partition looks to the sender. Dropping on INPUT on both sides drops
both directions while every sender sees its packets leave normally; that is what `partition` does.

Active faults live in a state file (/run/netbed/NAME.json, or $NETBED_STATE_DIR) together with
the exact commands that undo them; `heal` runs those (idempotent), `down` heals and removes
everything by name, state file or not.

CLI (JSON on stdout; errors exit non-zero with a message on stderr):

    netbed.py up     --name NAME --hosts N [--subnet K]
    netbed.py down   --name NAME
    netbed.py fault  --name NAME --kind KIND --host I [--peers J,K] [--percent P] [--ms MS] [--jitter-ms J]
    netbed.py heal   --name NAME [--host I]
    netbed.py status --name NAME
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import subprocess
import sys
import time
import uuid
import zlib
from pathlib import Path
from typing import Iterable, Iterator, Optional

NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,9}$")  # NAME-br, NAME-v99, NAME-p99 stay within 15 chars
MAX_HOSTS = 99
KINDS = ("partition", "asym", "route", "vanish", "loss", "delay")
NS_IF = "eth0"
CMD_TIMEOUT = 20.0


class NetbedError(Exception):
    pass


def state_dir() -> Path:
    return Path(os.environ.get("NETBED_STATE_DIR") or "/run/netbed")


def default_subnet(name: str) -> int:
    """A stable K in 1..250 from the name (crc32, never Python's seeded hash)."""
    return zlib.crc32(name.encode()) % 250 + 1


def run(argv: list[str], check: bool = True, timeout: float = CMD_TIMEOUT) -> subprocess.CompletedProcess:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise NetbedError(f"{argv[0]} not found (apt-get install iproute2 iptables): {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise NetbedError(f"timed out after {timeout}s: {' '.join(argv)}") from exc
    if check and p.returncode != 0:
        raise NetbedError(f"command failed ({p.returncode}): {' '.join(argv)}: {p.stderr.strip() or p.stdout.strip()}")
    return p


def netns_list() -> list[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def link_names() -> list[str]:
    out = run(["ip", "-o", "link", "show"], check=False).stdout
    names = []
    for line in out.splitlines():
        m = re.match(r"^\d+:\s+([^:@\s]+)", line)
        if m:
            names.append(m.group(1))
    return names


def link_exists(name: str) -> bool:
    return run(["ip", "link", "show", "dev", name], check=False).returncode == 0


class TestBed:
    """A bed of `hosts` namespaces on one bridge. `up()` builds it (removing a stale bed of the same
    name first), `down()` removes it; `fault()` / `heal()` cut and restore traffic."""

    __test__ = False  # not a pytest test class

    def __init__(self, name: str, hosts: int = 3, subnet: Optional[int] = None, owner_pid: Optional[int] = None):
        if not NAME_RE.match(name or ""):
            raise NetbedError(f"bad bed name {name!r}: 1-10 chars of [a-z0-9], starting with a letter "
                              "(interface names are limited to 15 chars)")
        if not 1 <= int(hosts) <= MAX_HOSTS:
            raise NetbedError(f"hosts must be 1..{MAX_HOSTS}, got {hosts}")
        k = default_subnet(name) if subnet is None else int(subnet)
        if not 1 <= k <= 250:
            raise NetbedError(f"subnet must be 1..250, got {k}")
        self.name = name
        self.owner_pid = owner_pid  # a test run that owns the bed: sweep_stale() removes it once that PID is gone
        self.hosts = int(hosts)
        self.subnet = k
        self.bridge = f"{name}-br"
        self.gateway = f"10.77.{k}.1"
        self.addresses = {i: f"10.77.{k}.{10 + i}" for i in range(1, self.hosts + 1)}

    # -- naming --

    def netns(self, i: int) -> str:
        self._check_host(i)
        return f"{self.name}-h{i}"

    def veth(self, i: int) -> str:
        """The bridge-side end of host i's veth pair (root namespace)."""
        self._check_host(i)
        return f"{self.name}-v{i}"

    def address(self, i: int) -> str:
        self._check_host(i)
        return self.addresses[i]

    def host_indices(self) -> list[int]:
        return list(range(1, self.hosts + 1))

    def exec_argv(self, host: int, argv: Iterable[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns(host), *argv]

    def _check_host(self, i: int) -> None:
        if not isinstance(i, int) or not 1 <= i <= self.hosts:
            raise NetbedError(f"host must be 1..{self.hosts}, got {i!r}")

    def _ns(self, i: int, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        return run(self.exec_argv(i, argv), check=check)

    # -- state file --

    @property
    def state_path(self) -> Path:
        return state_dir() / f"{self.name}.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        state_dir().mkdir(parents=True, exist_ok=True)
        with open(state_dir() / ".lock", "a") as f:  # one lock for every bed: no lock files pile up
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _load(self) -> Optional[dict]:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None

    def _save(self, state: dict) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_path)

    def _state(self) -> dict:
        st = self._load()
        if st is None:
            raise NetbedError(f"bed {self.name} is not up (no state file {self.state_path})")
        return st

    @classmethod
    def attach(cls, name: str) -> "TestBed":
        """The bed `name` as its state file describes it (for heal/fault/status from the CLI)."""
        probe = cls(name, 1)
        st = probe._load()
        if st is None:
            raise NetbedError(f"bed {name} is not up (no state file {probe.state_path})")
        bed = cls(name, st["hosts_count"], st["subnet"])
        bed.addresses = {int(h["index"]): h["address"] for h in st["hosts"]}
        return bed

    def describe(self) -> dict:
        return {
            "name": self.name,
            "bridge": self.bridge,
            "gateway": self.gateway,
            "subnet": self.subnet,
            "hosts": [{"index": i, "netns": self.netns(i), "address": self.address(i), "veth": self.veth(i),
                       "ifname": NS_IF} for i in self.host_indices()],
        }

    # -- up / down --

    def up(self) -> dict:
        with self._locked():
            self._remove_everything()
            self._check_subnet_free()
            state = {**self.describe(), "hosts_count": self.hosts, "forward_rule": None, "faults": [],
                     "created": time.time(), "owner_pid": self.owner_pid}
            self._save(state)  # before creating anything: a crash half-way is still cleaned by down()
            try:
                run(["ip", "link", "add", self.bridge, "type", "bridge"])
                run(["ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge])
                run(["ip", "link", "set", self.bridge, "up"])
                rule = ["FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT"]
                run(["iptables", "-w", "5", "-I", *rule])
                state["forward_rule"] = rule
                self._save(state)
                for i in self.host_indices():
                    self._make_host(i)
            except BaseException:
                self._remove_everything()
                raise
            return self.describe()

    def _check_subnet_free(self) -> None:
        out = run(["ip", "-o", "-4", "addr", "show"], check=False).stdout
        for line in out.splitlines():
            m = re.match(r"^\d+:\s+(\S+)\s+inet\s+(10\.77\.(\d+)\.\d+)/", line)
            if m and int(m.group(3)) == self.subnet:
                raise NetbedError(f"subnet 10.77.{self.subnet}.0/24 is already used by {m.group(1)} "
                                  f"({m.group(2)}); choose another --subnet")

    def _make_host(self, i: int) -> None:
        ns, outer, tmp = self.netns(i), self.veth(i), f"{self.name}-p{i}"
        run(["ip", "netns", "add", ns])
        run(["ip", "link", "add", outer, "type", "veth", "peer", "name", tmp])
        run(["ip", "link", "set", tmp, "netns", ns])
        self._ns(i, ["ip", "link", "set", tmp, "name", NS_IF])
        self._ns(i, ["ip", "link", "set", "lo", "up"])
        self._ns(i, ["ip", "addr", "add", f"{self.address(i)}/24", "dev", NS_IF])
        self._ns(i, ["ip", "link", "set", NS_IF, "up"])
        run(["ip", "link", "set", outer, "master", self.bridge])
        run(["ip", "link", "set", outer, "up"])

    def down(self) -> dict:
        with self._locked():
            removed = self._remove_everything()
            return {"name": self.name, "removed": removed}

    def _remove_everything(self) -> list[str]:
        """Remove every trace of a bed of this name, whatever state file there is (idempotent)."""
        removed: list[str] = []
        st = self._load()
        # faults first: those in namespaces go with the namespaces, but be exact anyway
        if st:
            for f in st.get("faults", []):
                self._undo(f, restore=False)  # the links go below anyway
        ns_re = re.compile(rf"^{re.escape(self.name)}-h\d+$")
        for ns in netns_list():
            if ns_re.match(ns):
                run(["ip", "netns", "del", ns], check=False)
                removed.append(f"netns {ns}")
        link_re = re.compile(rf"^{re.escape(self.name)}-(br|v\d+|p\d+)$")
        for link in link_names():
            if link_re.match(link):
                run(["ip", "link", "del", link], check=False)
                removed.append(f"link {link}")
        for _ in range(20):  # every copy of our FORWARD rule (a crashed run may have left several)
            p = run(["iptables", "-w", "5", "-D", "FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT"],
                    check=False)
            if p.returncode != 0:
                break
            removed.append(f"iptables FORWARD -i {self.bridge} -o {self.bridge} -j ACCEPT")
        for leftover in [self.state_path, *state_dir().glob(f"{self.name}-delayer-h*.log"),
                         *state_dir().glob(f"{self.name}-*.ready")]:
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass
        return removed

    def exists(self) -> bool:
        return link_exists(self.bridge) or any(ns.startswith(f"{self.name}-h") for ns in netns_list())

    # -- faults --

    def fault(self, kind: str, host: int, peers: Optional[Iterable[int]] = None, percent: float = 20.0,
              ms: float = 100.0, jitter_ms: float = 30.0) -> dict:
        """Apply a fault of `kind` to host `host` against `peers` (default: every other host).
        Returns the fault record (with its id)."""
        if kind not in KINDS:
            raise NetbedError(f"unknown fault kind {kind!r} (one of {', '.join(KINDS)})")
        self._check_host(host)
        peers = sorted(set(peers)) if peers is not None else [j for j in self.host_indices() if j != host]
        for j in peers:
            self._check_host(j)
            if j == host:
                raise NetbedError(f"host {host} cannot be its own peer")
        with self._locked():
            st = self._state()
            if kind == "delay" and any(f["host"] == host and f["kind"] == "delay" for f in st["faults"]):
                raise NetbedError(f"host {host} already has a delay fault; heal it first")
            if kind == "vanish" and any(f["host"] == host and f["kind"] == "vanish" for f in st["faults"]):
                raise NetbedError(f"host {host} has already vanished")
            rec = {"id": uuid.uuid4().hex[:8], "kind": kind, "host": host, "peers": peers, "since": time.time(),
                   "undo": []}
            if kind in ("loss", "delay"):
                rec["params"] = {"percent": percent} if kind == "loss" else {"ms": ms, "jitter_ms": jitter_ms}
            # record the fault before applying: an error half-way leaves nothing that heal cannot undo
            st["faults"].append(rec)
            self._save(st)
            try:
                getattr(self, f"_apply_{kind}")(rec, st)
            except BaseException:
                self._undo(rec)
                st["faults"].remove(rec)
                raise
            finally:
                self._save(st)
            return {k: v for k, v in rec.items() if k != "undo"}

    def _do(self, rec: dict, st: dict, argv: list[str], undo: list[str]) -> None:
        """Run argv; remember undo (before running: a partial success is undone too)."""
        rec["undo"].append(undo)
        self._save(st)
        run(argv)

    def _apply_partition(self, rec: dict, st: dict) -> None:
        i = rec["host"]
        for j in rec["peers"]:
            for a, b in ((i, j), (j, i)):  # drop at each receiver: silent for both senders
                rule = ["INPUT", "-s", f"{self.address(b)}/32", "-j", "DROP"]
                self._do(rec, st, self.exec_argv(a, ["iptables", "-w", "5", "-I", *rule]),
                         self.exec_argv(a, ["iptables", "-w", "5", "-D", *rule]))

    def _apply_asym(self, rec: dict, st: dict) -> None:
        i = rec["host"]
        for j in rec["peers"]:
            rule = ["INPUT", "-s", f"{self.address(j)}/32", "-j", "DROP"]
            self._do(rec, st, self.exec_argv(i, ["iptables", "-w", "5", "-I", *rule]),
                     self.exec_argv(i, ["iptables", "-w", "5", "-D", *rule]))

    def _apply_route(self, rec: dict, st: dict) -> None:
        i = rec["host"]
        for j in rec["peers"]:
            for a, b in ((i, j), (j, i)):
                dst = f"{self.address(b)}/32"
                self._do(rec, st, self.exec_argv(a, ["ip", "route", "add", "blackhole", dst]),
                         self.exec_argv(a, ["ip", "route", "del", "blackhole", dst]))

    def _apply_vanish(self, rec: dict, st: dict) -> None:
        i = rec["host"]
        rec["undo"].append(["__restore_host__", str(i)])
        self._save(st)
        run(["ip", "link", "set", self.veth(i), "down"])

    def _apply_loss(self, rec: dict, st: dict) -> None:
        # This kernel has no netem (CONFIG_NET_SCH_NETEM unset) nor tc classifiers: loss is an
        # iptables statistic match dropping at each receiver, I's inbound from peers and theirs from I.
        p = float(rec["params"]["percent"])
        if not 0 < p <= 100:
            raise NetbedError(f"--percent must be in (0, 100], got {p}")
        i = rec["host"]
        for j in rec["peers"]:
            for a, b in ((i, j), (j, i)):
                rule = ["INPUT", "-s", f"{self.address(b)}/32", "-m", "statistic", "--mode", "random",
                        "--probability", f"{p / 100:.4f}", "-j", "DROP"]
                self._do(rec, st, self.exec_argv(a, ["iptables", "-w", "5", "-I", *rule]),
                         self.exec_argv(a, ["iptables", "-w", "5", "-D", *rule]))

    def _apply_delay(self, rec: dict, st: dict) -> None:
        # No netem here either: I's packets to and from its peers go through an NFQUEUE, and a small
        # delayer process in I's namespace (this file, `_delayer`) gives each its verdict after
        # ms +- jitter. --queue-bypass: if the delayer is gone, packets pass undelayed, never lost.
        ms, jit = float(rec["params"]["ms"]), float(rec["params"]["jitter_ms"])
        if ms <= 0 or jit < 0 or jit > ms:
            raise NetbedError(f"--ms must be > 0 and 0 <= --jitter-ms <= --ms, got {ms} {jit}")
        i = rec["host"]
        queue = 1000 + i
        log = open(state_dir() / f"{self.name}-delayer-h{i}.log", "ab")
        proc = subprocess.Popen(
            self.exec_argv(i, [sys.executable, os.path.abspath(__file__), "_delayer", "--queue", str(queue),
                               "--ms", str(ms), "--jitter-ms", str(jit), "--state", str(self.state_path),
                               "--fault", rec["id"]]),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()
        rec["undo"].append(["__kill_delayer__", str(proc.pid), rec["id"]])
        self._save(st)
        ready = state_dir() / f"{self.name}-{rec['id']}.ready"
        deadline = time.monotonic() + 10
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise NetbedError(f"the delayer for host {i} did not start; see {log.name}")
            time.sleep(0.05)
        ready.unlink()
        for j in rec["peers"]:
            for chain, flag in (("INPUT", "-s"), ("OUTPUT", "-d")):
                rule = [chain, flag, f"{self.address(j)}/32", "-j", "NFQUEUE", "--queue-num", str(queue),
                        "--queue-bypass"]
                self._do(rec, st, self.exec_argv(i, ["iptables", "-w", "5", "-I", *rule]),
                         self.exec_argv(i, ["iptables", "-w", "5", "-D", *rule]))

    def _undo(self, rec: dict, restore: bool = True) -> None:
        for argv in reversed(rec.get("undo", [])):
            if argv and argv[0] == "__restore_host__":
                if restore:
                    self._restore_host(int(argv[1]))
            elif argv and argv[0] == "__kill_delayer__":
                _kill_delayer(int(argv[1]), argv[2])
            else:
                run(argv, check=False)  # already gone (namespace deleted, healed twice) is fine

    def _restore_host(self, i: int) -> None:
        """Undo vanish: the bridge-side veth up again, in the bridge, address and eth0 as made."""
        outer = self.veth(i)
        if not link_exists(outer):
            return
        run(["ip", "link", "set", outer, "master", self.bridge], check=False)
        run(["ip", "link", "set", outer, "up"], check=False)
        ns = self.netns(i)
        if ns not in netns_list():
            return
        self._ns(i, ["ip", "link", "set", NS_IF, "up"], check=False)
        have = self._ns(i, ["ip", "-o", "-4", "addr", "show", "dev", NS_IF], check=False).stdout
        if f"{self.address(i)}/24" not in have:
            self._ns(i, ["ip", "addr", "add", f"{self.address(i)}/24", "dev", NS_IF], check=False)
        # neighbours that failed to resolve I (and I's of them) would hold new sends back for a while
        self._ns(i, ["ip", "neigh", "flush", "dev", NS_IF], check=False)
        run(["ip", "neigh", "flush", "to", self.address(i), "dev", self.bridge], check=False)
        for j in self.host_indices():
            if j != i and self.netns(j) in netns_list():
                self._ns(j, ["ip", "neigh", "flush", "to", self.address(i), "dev", NS_IF], check=False)

    def heal(self, host: Optional[int] = None) -> dict:
        """Undo every fault of `host` (faults applied with host=`host`), or of every host."""
        if host is not None:
            self._check_host(host)
        with self._locked():
            st = self._load()
            if st is None:
                return {"name": self.name, "healed": []}
            healed, keep = [], []
            for f in st["faults"]:
                if host is None or f["host"] == host:
                    self._undo(f)
                    healed.append({k: v for k, v in f.items() if k != "undo"})
                else:
                    keep.append(f)
            st["faults"] = keep
            self._save(st)
            return {"name": self.name, "healed": healed}

    def faults(self) -> list[dict]:
        st = self._load() or {"faults": []}
        return [{k: v for k, v in f.items() if k != "undo"} for f in st["faults"]]

    def status(self) -> dict:
        st = self._load()
        if st is None:
            return {"name": self.name, "up": False, "exists": self.exists(), "faults": []}
        out = {k: v for k, v in st.items() if k not in ("faults", "hosts_count")}
        out["up"] = link_exists(self.bridge)
        out["faults"] = self.faults()
        return out

    # -- addresses --

    def readdress(self, i: int, new_address: str) -> None:
        """Give host i a new address in the bed's /24 (the old one is removed). Heal host i's
        faults first: faults are recorded against addresses."""
        m = re.match(rf"^10\.77\.{self.subnet}\.(\d+)$", new_address)
        if not m or not 2 <= int(m.group(1)) <= 254:
            raise NetbedError(f"{new_address} is not a host address of 10.77.{self.subnet}.0/24")
        with self._locked():
            st = self._state()
            if any(f["host"] == i or i in f["peers"] for f in st["faults"]):
                raise NetbedError(f"host {i} has active faults; heal first")
            if new_address in (h["address"] for h in st["hosts"]):
                raise NetbedError(f"{new_address} is already a host's address")
            old = self.address(i)
            # old first: deleting a primary address also deletes its subnet's secondaries
            self._ns(i, ["ip", "addr", "del", f"{old}/24", "dev", NS_IF], check=False)
            self._ns(i, ["ip", "addr", "add", f"{new_address}/24", "dev", NS_IF])
            self.addresses[i] = new_address
            for h in st["hosts"]:
                if h["index"] == i:
                    h["address"] = new_address
            self._save(st)


# ------------------------------------------------------------------------------------------------
# the NFQUEUE delayer (delay faults; this kernel has no netem)
# ------------------------------------------------------------------------------------------------

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK, NFQA_CFG_FLAGS = 1, 2, 3, 4, 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_CFG_F_FAIL_OPEN = 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NF_ACCEPT = 1


def _nlattr(kind: int, payload: bytes) -> bytes:
    import struct
    raw = struct.pack("=HH", 4 + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


def _nfq_msg(msg: int, queue: int, attrs: bytes, flags: int = NLM_F_REQUEST, seq: int = 0) -> bytes:
    import socket as _s
    import struct
    body = struct.pack("=BBH", _s.AF_UNSPEC, 0, _s.htons(queue)) + attrs
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, flags, seq, 0) + body


def run_delayer(queue: int, ms: float, jitter_ms: float, state: str, fault_id: str) -> int:
    """Bind NFQUEUE `queue` in this namespace and accept each packet ms +- jitter_ms after it came.
    Exits by itself once its fault is no longer in the bed's state file (healed, bed down)."""
    import heapq
    import random
    import select
    import socket as _s
    import struct

    sock = _s.socket(_s.AF_NETLINK, _s.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(_s.SOL_SOCKET, _s.SO_RCVBUF, 4 << 20)
    sock.bind((0, 0))

    def config(attrs: bytes, seq: int) -> None:
        sock.send(_nfq_msg(NFQNL_MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK, seq))
        data = sock.recv(65536)
        _, mtype, _, _, _ = struct.unpack_from("=IHHII", data)
        if mtype == NLMSG_ERROR:
            err = struct.unpack_from("=i", data, 16)[0]
            if err != 0:
                raise OSError(-err, f"nfqueue config failed: {os.strerror(-err)}")

    config(_nlattr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, _s.AF_INET)), 1)
    config(_nlattr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META)), 2)
    config(_nlattr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 20000)), 3)
    config(_nlattr(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN))
           + _nlattr(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN)), 4)
    Path(state).with_name(f"{Path(state).stem}-{fault_id}.ready").write_text(str(os.getpid()))

    pending: list[tuple[float, int]] = []
    next_check = time.monotonic() + 1.0
    while True:
        now = time.monotonic()
        if now >= next_check:
            next_check = now + 1.0
            try:
                alive = any(f.get("id") == fault_id for f in json.loads(Path(state).read_text()).get("faults", []))
            except (OSError, ValueError):
                alive = False
            if not alive:
                for _, pid in pending:  # let what we hold go before leaving
                    sock.send(_nfq_msg(NFQNL_MSG_VERDICT, queue, _nlattr(NFQA_VERDICT_HDR,
                                                                         struct.pack("!II", NF_ACCEPT, pid))))
                return 0
        while pending and pending[0][0] <= now:
            _, pid = heapq.heappop(pending)
            try:
                sock.send(_nfq_msg(NFQNL_MSG_VERDICT, queue, _nlattr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, pid))))
            except OSError:
                pass
        wait = min(next_check, pending[0][0] if pending else next_check) - time.monotonic()
        r, _, _ = select.select([sock], [], [], max(0.0, wait))
        if not r:
            continue
        try:
            data = sock.recv(1 << 16)
        except OSError:  # ENOBUFS: the kernel dropped notifications; fail-open covers the queue
            continue
        off = 0
        while off + 16 <= len(data):
            length, mtype, _, _, _ = struct.unpack_from("=IHHII", data, off)
            if length < 16:
                break
            if mtype == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                a = off + 20
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype & 0x7FFF == NFQA_PACKET_HDR:
                        pid = struct.unpack_from("!I", data, a + 4)[0]
                        d = ms + random.uniform(-jitter_ms, jitter_ms)
                        heapq.heappush(pending, (time.monotonic() + max(0.0, d) / 1000.0, pid))
                        break
                    a += (alen + 3) & ~3
            off += (length + 3) & ~3


def _kill_delayer(pid: int, fault_id: str) -> None:
    """SIGTERM the delayer `pid`, only if it is still our delayer for `fault_id` (PIDs get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if b"_delayer" not in cmdline or fault_id.encode() not in cmdline:
        return
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        try:
            os.waitpid(pid, os.WNOHANG)  # our own child when the library started it
        except ChildProcessError:
            pass
        time.sleep(0.02)


def sweep_stale(prefixes: Iterable[str]) -> list[str]:
    """Remove the beds whose name starts with one of `prefixes` and whose owner process (a test run
    killed before its finalizers) is gone. Beds made by the CLI have no owner and are left alone."""
    removed = []
    for path in sorted(state_dir().glob("*.json")):
        name = path.stem
        if not any(name.startswith(p) for p in prefixes):
            continue
        try:
            owner = json.loads(path.read_text()).get("owner_pid")
        except (OSError, ValueError):
            continue
        if owner is None or Path(f"/proc/{owner}").exists():
            continue
        try:
            TestBed(name, 1).down()
            removed.append(name)
        except NetbedError:
            pass
    return removed


@contextlib.contextmanager
def testbed(name: str, hosts: int = 3, subnet: Optional[int] = None) -> Iterator[TestBed]:
    """`with testbed("nb3a", 3) as bed:` - the bed is up inside, and down afterwards, always
    (exceptions and KeyboardInterrupt included)."""
    bed = TestBed(name, hosts, subnet, owner_pid=os.getpid())
    try:
        bed.up()
        yield bed
    finally:
        bed.down()


# ------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------


def _peers(text: Optional[str]) -> Optional[list[int]]:
    if text is None or text == "":
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise NetbedError(f"--peers must be a comma-separated list of host numbers, got {text!r}")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="netbed.py", description="Network namespaces on a bridge, with faults.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="create the bed (a stale bed of the same name is removed first)")
    p.add_argument("--name", required=True)
    p.add_argument("--hosts", type=int, required=True)
    p.add_argument("--subnet", type=int, default=None, help="K of 10.77.K.0/24 (default: from the name)")
    p.add_argument("--owner-pid", type=int, default=None,
                   help="the process that owns the bed: once it is gone, sweep_stale (and --sweep-prefix) remove it")
    p.add_argument("--sweep-prefix", action="append", default=[],
                   help="first remove beds with this name prefix whose owner process is gone (repeatable)")
    p = sub.add_parser("down", help="remove the bed (idempotent)")
    p.add_argument("--name", required=True)
    p = sub.add_parser("fault", help="apply a fault to a host")
    p.add_argument("--name", required=True)
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument("--host", type=int, required=True)
    p.add_argument("--peers", default=None, help="J,K (default: every other host)")
    p.add_argument("--percent", type=float, default=20.0, help="loss: percent dropped (default 20)")
    p.add_argument("--ms", type=float, default=100.0, help="delay: milliseconds (default 100)")
    p.add_argument("--jitter-ms", type=float, default=30.0, help="delay: jitter in milliseconds (default 30)")
    p = sub.add_parser("heal", help="undo faults (of one host, or all)")
    p.add_argument("--name", required=True)
    p.add_argument("--host", type=int, default=None)
    p = sub.add_parser("status", help="the bed and its active faults")
    p.add_argument("--name", required=True)
    p = sub.add_parser("_delayer", help=argparse.SUPPRESS)  # internal: the delay fault's NFQUEUE process
    p.add_argument("--queue", type=int, required=True)
    p.add_argument("--ms", type=float, required=True)
    p.add_argument("--jitter-ms", type=float, required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--fault", required=True)
    a = ap.parse_args(argv)
    if a.cmd == "_delayer":
        return run_delayer(a.queue, a.ms, a.jitter_ms, a.state, a.fault)
    try:
        if os.geteuid() != 0:
            raise NetbedError("netbed needs root (network namespaces, iptables, tc)")
        if a.cmd == "up":
            if a.sweep_prefix:
                sweep_stale(a.sweep_prefix)
            out = TestBed(a.name, a.hosts, a.subnet, owner_pid=a.owner_pid).up()
        elif a.cmd == "down":
            out = TestBed(a.name, 1).down()
        elif a.cmd == "fault":
            out = TestBed.attach(a.name).fault(a.kind, a.host, _peers(a.peers), percent=a.percent, ms=a.ms,
                                               jitter_ms=a.jitter_ms)
        elif a.cmd == "heal":
            try:
                bed = TestBed.attach(a.name)
            except NetbedError:
                out = {"name": a.name, "healed": []}
            else:
                out = bed.heal(a.host)
        else:
            try:
                out = TestBed.attach(a.name).status()
            except NetbedError:
                out = TestBed(a.name, 1).status()
    except NetbedError as exc:
        print(f"netbed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Self-test of the network test bed (netbed.py): up/down leave nothing behind, each fault does what
it says (UDP and TCP probes between namespaces, ping from the gateway), heal restores, and the CLI
speaks JSON. No chat node involved."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import netbed
from netbed_harness import make_bed, require_bed

NETBED = str(Path(__file__).resolve().parent / "netbed.py")
PROBE_PORT = 47001

RECEIVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(float(sys.argv[3]))
print("ready", flush=True)
try:
    data, peer = s.recvfrom(100)
    print("got", peer[0], flush=True)
except socket.timeout:
    print("nothing", flush=True)
"""

SENDER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
errors = []
for _ in range(3):
    try:
        s.sendto(b"probe", (sys.argv[1], int(sys.argv[2])))
    except OSError as e:
        errors.append(e.errno)
    time.sleep(0.1)
print(errors[0] if errors else 0, flush=True)
"""

CONNECT = r"""
import socket, sys, time
t = time.monotonic()
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
    print("ok", time.monotonic() - t)
except OSError as e:
    print("err", e.errno, time.monotonic() - t)
"""

LISTENER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
s.settimeout(float(sys.argv[3]))
print("ready", flush=True)
try:
    while True:
        c, _ = s.accept()
        c.close()
except socket.timeout:
    pass
"""


@pytest.fixture
def bed(_sweep_stale_beds):
    require_bed()
    b = make_bed(3, prefix="nbs")
    try:
        yield b
    finally:
        b.down()


def udp(bed: netbed.TestBed, src: int, dst: int, wait: float = 1.0) -> tuple[int, bool]:
    """(errno of the first failed sendto or 0, whether dst received anything) for src -> dst."""
    dst_addr = bed.address(dst)
    recv = subprocess.Popen(bed.exec_argv(dst, [sys.executable, "-c", RECEIVER, dst_addr, str(PROBE_PORT), str(wait)]),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert recv.stdout.readline().strip() == "ready"
        out = subprocess.run(bed.exec_argv(src, [sys.executable, "-c", SENDER, dst_addr, str(PROBE_PORT)]),
                             capture_output=True, text=True, timeout=10)
        err = int(out.stdout.strip() or -1)
        got = recv.communicate(timeout=wait + 5)[0]
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait(5)
    return err, got.startswith("got")


def tcp_connect(bed: netbed.TestBed, src: int, dst: int, timeout: float = 1.5) -> tuple[str, float]:
    """('ok'|'err <errno>', seconds) of a TCP connect from src's namespace to a listener on dst."""
    dst_addr = bed.address(dst)
    lst = subprocess.Popen(bed.exec_argv(dst, [sys.executable, "-c", LISTENER, dst_addr, str(PROBE_PORT), "10"]),
                           stdout=subprocess.PIPE, text=True)
    try:
        assert lst.stdout.readline().strip() == "ready"
        out = subprocess.run(bed.exec_argv(src, [sys.executable, "-c", CONNECT, dst_addr, str(PROBE_PORT), str(timeout)]),
                             capture_output=True, text=True, timeout=timeout + 10).stdout.split()
    finally:
        lst.kill()
        lst.wait(5)
    return (out[0] if out[0] == "ok" else f"err {out[1]}"), float(out[-1])


def ping(argv_prefix: list[str], addr: str) -> bool:
    return subprocess.run([*argv_prefix, "ping", "-c1", "-W1", addr], capture_output=True, timeout=10).returncode == 0


def test_up_down_leaves_nothing(_sweep_stale_beds):
    require_bed()
    b = make_bed(3, prefix="nbs")
    try:
        assert sorted(ns for ns in netbed.netns_list() if ns.startswith(b.name)) == [f"{b.name}-h{i}" for i in (1, 2, 3)]
        assert netbed.link_exists(b.bridge)
        assert f"-A FORWARD -i {b.bridge} -o {b.bridge} -j ACCEPT" in subprocess.run(
            ["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
        assert b.exec_argv(2, ["true"]) == ["ip", "netns", "exec", f"{b.name}-h2", "true"]
        assert b.gateway == f"10.77.{b.subnet}.1" and b.address(3) == f"10.77.{b.subnet}.13"
        assert ping([], b.address(1)), "the gateway cannot reach host 1"
        assert ping(b.exec_argv(1, []), b.address(3)), "host 1 cannot reach host 3"
        assert ping(b.exec_argv(3, []), b.gateway), "host 3 cannot reach the gateway"
        route = subprocess.run(b.exec_argv(1, ["ip", "route"]), capture_output=True, text=True).stdout
        assert "default" not in route, f"a host must reach nothing outside the bed: {route}"
        b.fault("partition", 1)
        b.fault("vanish", 2)
    finally:
        out = b.down()
    print("removed:", out["removed"])
    assert not [ns for ns in netbed.netns_list() if ns.startswith(b.name + "-")]
    assert not [link for link in netbed.link_names() if link.startswith(b.name + "-")]
    assert b.bridge not in subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
    assert not b.state_path.exists()
    assert b.down()["removed"] == []  # idempotent
    p = subprocess.run([sys.executable, NETBED, "down", "--name", b.name], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and json.loads(p.stdout)["removed"] == [], p


def test_partition_drops_silently_and_heals(bed):
    assert udp(bed, 1, 2) == (0, True)
    bed.fault("partition", 1)
    assert udp(bed, 1, 2) == (0, False), "1 -> 2 must be dropped, silently for the sender"
    assert udp(bed, 2, 1) == (0, False), "2 -> 1 must be dropped, silently for the sender"
    assert udp(bed, 3, 1) == (0, False)
    assert udp(bed, 2, 3) == (0, True), "hosts outside the fault keep talking"
    assert ping([], bed.address(1)) and ping(bed.exec_argv(1, []), bed.gateway), "the gateway must still reach host 1"
    state, t = tcp_connect(bed, 2, 1, timeout=1.0)
    assert state == "err None", f"a connect across the partition must time out: {state}"
    assert t >= 0.9, f"a silent partition gives no quick refusal (took {t:.2f}s: {state})"
    healed = bed.heal()
    assert [f["kind"] for f in healed["healed"]] == ["partition"]
    assert bed.heal()["healed"] == []  # idempotent
    assert udp(bed, 1, 2) == (0, True) and udp(bed, 2, 1) == (0, True)


def test_asym_drops_one_direction(bed):
    bed.fault("asym", 1, peers=[2])
    assert udp(bed, 2, 1) == (0, False), "1 must hear nothing from 2"
    assert udp(bed, 1, 2) == (0, True), "2 still hears 1"
    assert udp(bed, 3, 1) == (0, True), "3 is not a peer of this fault"
    bed.heal(1)
    assert udp(bed, 2, 1) == (0, True)


def test_route_blackhole_fails_sends_with_einval(bed):
    bed.fault("route", 1)
    import errno
    assert udp(bed, 1, 2) == (errno.EINVAL, False)
    assert udp(bed, 3, 1) == (errno.EINVAL, False), "the peers' routes to 1 are blackholed too"
    assert udp(bed, 2, 3) == (0, True)
    assert ping([], bed.address(1)), "the gateway must still reach host 1"
    bed.heal(1)
    assert udp(bed, 1, 2) == (0, True) and udp(bed, 3, 1) == (0, True)


def test_vanish_is_silence_for_everybody_and_heals(bed):
    bed.fault("vanish", 2)
    assert not ping(bed.exec_argv(1, []), bed.address(2))
    assert not ping([], bed.address(2)), "vanish cuts the gateway too"
    state, t = tcp_connect(bed, 1, 2, timeout=1.0)
    # silence: a timeout, or EHOSTUNREACH once ARP gave up (same L2) - never a refusal (RST)
    assert state.startswith("err") and state != "err 111" and t >= 0.5, f"no RST from a vanished host: {state} after {t:.2f}s"
    assert udp(bed, 1, 3) == (0, True)
    bed.heal(2)
    assert ping(bed.exec_argv(1, []), bed.address(2)) and ping([], bed.address(2))


def test_delay_and_loss(bed):
    base, t0 = tcp_connect(bed, 1, 2)
    assert base == "ok"
    bed.fault("delay", 1, peers=[2], ms=100, jitter_ms=0)
    state, t = tcp_connect(bed, 1, 2)
    print(f"TCP connect 1 -> 2: {t0 * 1000:.1f} ms, with delay 100 ms each way: {t * 1000:.1f} ms")
    assert state == "ok" and 0.18 <= t <= 0.6, (state, t)
    state, t3 = tcp_connect(bed, 1, 3)
    assert state == "ok" and t3 < 0.05, f"host 3 is not a peer of this fault: {t3}"
    with pytest.raises(netbed.NetbedError):
        bed.fault("delay", 1)
    bed.fault("loss", 1, peers=[3], percent=100)
    assert udp(bed, 1, 3) == (0, False) and udp(bed, 3, 1) == (0, False)
    bed.heal(1)
    state, t = tcp_connect(bed, 1, 2)
    assert state == "ok" and t < 0.05, (state, t)
    assert udp(bed, 1, 3) == (0, True)
    assert not [line for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
                if "_delayer" in line and bed.name in line], "heal stops the delayer"


def test_readdress(bed):
    new = f"10.77.{bed.subnet}.23"
    bed.readdress(3, new)
    assert bed.address(3) == new
    assert ping(bed.exec_argv(1, []), new)
    assert not ping(bed.exec_argv(1, []), f"10.77.{bed.subnet}.13")
    assert netbed.TestBed.attach(bed.name).address(3) == new


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, NETBED, *args], capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, f"netbed.py {' '.join(args)}: {p.returncode} {p.stderr}"
    return p


def test_cli_json_and_stale_bed():
    require_bed()
    name = f"nbc{os.getpid() % 10000}"
    try:
        up = json.loads(cli("up", "--name", name, "--hosts", "2").stdout)
        k = netbed.default_subnet(name)
        assert up["name"] == name and up["bridge"] == f"{name}-br" and up["gateway"] == f"10.77.{k}.1"
        assert [(h["index"], h["netns"], h["address"]) for h in up["hosts"]] == [
            (1, f"{name}-h1", f"10.77.{k}.11"), (2, f"{name}-h2", f"10.77.{k}.12")]
        f = json.loads(cli("fault", "--name", name, "--kind", "partition", "--host", "1").stdout)
        assert f["kind"] == "partition" and f["peers"] == [2]
        st = json.loads(cli("status", "--name", name).stdout)
        assert [x["id"] for x in st["faults"]] == [f["id"]] and st["up"] is True
        bad = cli("fault", "--name", name, "--kind", "nonsense", "--host", "1", check=False)
        assert bad.returncode != 0 and bad.stderr
        bad = cli("fault", "--name", name, "--kind", "route", "--host", "7", check=False)
        assert bad.returncode != 0 and "host must be" in bad.stderr, bad.stderr
        # a crashed run: the state file is gone but everything else is left; up removes it first
        netbed.TestBed(name, 1).state_path.unlink()
        up2 = json.loads(cli("up", "--name", name, "--hosts", "3", "--subnet", str(k)).stdout)
        assert len(up2["hosts"]) == 3
        rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
        assert len(re.findall(rf"-i {name}-br -o {name}-br", rules)) == 1, rules
        assert subprocess.run(["ip", "netns", "exec", f"{name}-h1", "iptables", "-S", "INPUT"], capture_output=True,
                              text=True).stdout.strip() == "-P INPUT ACCEPT"
        healed = json.loads(cli("heal", "--name", name, "--host", "1").stdout)
        assert healed["healed"] == []
    finally:
        cli("down", "--name", name)
    st = json.loads(cli("status", "--name", name).stdout)
    assert st["up"] is False and st["exists"] is False
    assert json.loads(cli("heal", "--name", name).stdout)["healed"] == []


def test_stale_bed_of_a_dead_run_is_swept():
    require_bed()
    dead = subprocess.Popen(["true"])
    dead.wait()
    b = make_bed(2, prefix="nbs")
    st = json.loads(b.state_path.read_text())
    st["owner_pid"] = dead.pid  # as if the run that made it had been killed
    b.state_path.write_text(json.dumps(st))
    mine = make_bed(2, prefix="nbs")  # owned by this live process: kept
    try:
        removed = netbed.sweep_stale(["nbs"])
        assert b.name in removed and mine.name not in removed, removed
        assert not b.exists() and mine.exists()
    finally:
        b.down()
        mine.down()


def test_cli_up_records_its_owner_and_sweeps_dead_owners_beds():
    """chat-chaos makes its bed with `up --owner-pid <its pid> --sweep-prefix cc`: a bed of a
    chat-chaos run killed before it could take its bed down is removed by the next run (and by
    these tests' sweep), while a live run's bed is kept."""
    require_bed()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale, live = "cc9" + uuid.uuid4().hex[:3], "cc8" + uuid.uuid4().hex[:3]
    try:
        cli("up", "--name", stale, "--hosts", "1", "--owner-pid", str(dead.pid))
        cli("up", "--name", live, "--hosts", "1", "--owner-pid", str(os.getpid()), "--sweep-prefix", "cc")
        assert json.loads(cli("status", "--name", stale).stdout)["exists"] is False, "the dead run's bed is still there"
        assert json.loads(cli("status", "--name", live).stdout)["up"] is True
    finally:
        cli("down", "--name", stale)
        cli("down", "--name", live)

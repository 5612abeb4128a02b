"""A cluster whose nodes each have a host of their own (bed namespaces): nodes that bind 0.0.0.0 and
advertise their address form a cluster seen at the right addresses, and a node restarted under a
new address is seen there by everybody."""

from __future__ import annotations

import subprocess
import time

import pytest

from chat_harness import unique
from netbed_harness import bind_advertise_args, node_supports, require_node_bin, send_until_acked, wait_all_alive

IDS = ("n1", "n2", "n3")
FORM_BOUND = 20.0
READDRESS_BOUND = 20.0


def require_bind_advertise() -> None:
    require_node_bin()
    if not (node_supports("--bind") and node_supports("--advertise")):
        pytest.skip("this chat-node has no --bind/--advertise yet (chat-node serve --help)")


def member_hosts(m: dict) -> set[str]:
    hosts = {m.get("host"), m.get("internalHost")}
    if m.get("gossip"):
        hosts.add(m["gossip"].rsplit(":", 1)[0])
    return {h for h in hosts if h is not None}


def test_bind_advertise_forms_cluster(bed_cluster):
    require_bind_advertise()
    bed, c, _ = bed_cluster(3, redis=True, start=False)
    for i in bed.host_indices():
        c.node(i, ["--bind", "0.0.0.0", "--advertise", bed.address(i)])
    t0 = time.monotonic()
    c.start()
    formed = c.wait_formed(timeout=FORM_BOUND)
    print(f"3 nodes with --bind 0.0.0.0 formed in {time.monotonic() - t0:.1f}s after spawn ({formed:.1f}s after serving)")

    for n in c.all():
        listening = subprocess.run(bed.exec_argv(n.index, ["ss", "-Hlntu"]), capture_output=True, text=True).stdout
        assert "0.0.0.0:8080" in listening and "0.0.0.0:9080" in listening and "0.0.0.0:7946" in listening, \
            f"{n.node_id} does not listen on 0.0.0.0:\n{listening}"
        members = n.members()
        assert set(members) == set(IDS), f"{n.node_id} sees {members}"
        for mid, m in members.items():
            assert m.get("status") == "alive", f"{n.node_id} sees {mid} {m}"
            want = bed.address(int(mid[1:]))
            hosts = member_hosts(m)
            assert hosts == {want}, f"{n.node_id} shows {mid} at {hosts}, want only {want}: {m}"
            assert not any(h.startswith("127.") or h == "0.0.0.0" for h in hosts), m

    room = unique("ba")
    sub = c["n3"].client(unique("u3"))
    snd = c["n1"].client(unique("u1"))
    try:
        sub.join(room)
        snd.join(room)
        t_send = time.monotonic()
        ack = snd.send_msg(room, "hello across hosts", timeout=10)
        assert ack.get("type") == "ack", ack
        got = sub.collect_messages(room, 1, timeout=10)
        print(f"send on n1 acked and delivered on n3 in {(time.monotonic() - t_send) * 1000:.0f} ms")
        assert got[0]["text"] == "hello across hosts" and got[0]["seq"] == ack["seq"], got
    finally:
        sub.close()
        snd.close()


def test_node_restarted_under_new_address(bed_cluster):
    require_bind_advertise()
    bed, c, _ = bed_cluster(3, start=False)
    for i in bed.host_indices():
        c.node(i, bind_advertise_args(bed, i))
    c.start()
    c.wait_formed(timeout=FORM_BOUND)

    old = bed.address(3)
    new = f"10.77.{bed.subnet}.23"
    code = c["n3"].stop()
    print(f"n3 stopped with SIGTERM (exit {code})")
    bed.readdress(3, new)
    seeds = []
    for i in (1, 2):
        seeds += ["--seed", f"{bed.address(i)}:7946"]
    n3 = c.node(3, ["--bind", "0.0.0.0", "--advertise", new, *seeds])
    n3.addr = new
    t0 = time.monotonic()
    n3.start()

    def at_new_address(n) -> bool:
        m = n.members().get("n3") or {}
        return m.get("status") == "alive" and member_hosts(m) == {new}

    t = wait_all_alive(c.all(), IDS, READDRESS_BOUND, "n3 restarted at a new address", extra=at_new_address)
    print(f"every node sees n3 alive at {new} (was {old}) {time.monotonic() - t0:.1f}s after its restart "
          f"({t:.1f}s after it served)")
    for n in c.all():
        for mid, m in n.members().items():
            assert old not in member_hosts(m), f"{n.node_id} still shows {mid} at the old address {old}: {m}"

    # the links follow the new address: a message sent on n1 reaches a client on the restarted n3
    room = unique("ra")
    sub = n3.client(unique("u3"))
    snd = c["n1"].client(unique("u1"))
    try:
        sub.join(room)
        snd.join(room)
        ack = send_until_acked(snd, room, "to the new address", "after-readdress", 10)
        assert ack.get("type") == "ack", ack
        got = sub.collect_messages(room, 1, timeout=10)
        assert got[0]["text"] == "to the new address", got
    finally:
        sub.close()
        snd.close()

"""Helpers of the majority-loss tests (tests/cluster/test_cluster_operator.py on loopback,
tests/netbed/test_netbed_majority_loss.py on namespaced hosts): rooms chosen by where their
voters are, sends retried until acked, the operator CLI, and the checks of a room that lost its
majority and was recovered. `ids` are the cluster's node ids, `victims` the two that fail."""

from __future__ import annotations

import re
import subprocess
import time

import requests

from chat_harness import NODE_BIN, unique

def replica(node, room: str) -> dict | None:
    r = node.get(f"/rooms/{room}/replica", timeout=3)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, (node.node_id, r.status_code, r.text)
    return r.json()


def post(node, room: str, mid: str, timeout: float = 10.0, user: str = "op") -> requests.Response:
    return node.post(f"/rooms/{room}/messages", json={"user": user, "id": mid, "text": f"text {mid}"}, timeout=timeout)


def send_until_acked(nodes, room: str, mid: str, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for node in nodes:
            try:
                r = post(node, room, mid, timeout=8)
            except requests.RequestException:
                continue
            if r.status_code == 200:
                return int(r.json()["seq"])
            assert r.status_code == 503, (node.node_id, r.status_code, r.text)
        time.sleep(0.2)
    raise AssertionError(f"{mid} not acked in {room} within {timeout}s")


def history(node, room: str) -> list[dict]:
    out: list[dict] = []
    since = 0
    while True:
        r = node.get(f"/rooms/{room}/messages", params={"since": since, "limit": 200}, timeout=5)
        assert r.status_code == 200, (node.node_id, r.status_code, r.text)
        page = r.json()["messages"]
        out += page
        if len(page) < 200:
            return out
        since = page[-1]["seq"]


def wait_for(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
        except requests.RequestException as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.25)
    raise AssertionError(f"{what} not within {timeout}s (last: {last})")


def chat_node(cluster, *args: str, url_node=None) -> subprocess.CompletedProcess:
    """Runs the operator CLI against `url_node` (default n1) with the cluster file's secret."""
    node = url_node or cluster["n1"]
    return subprocess.run([str(NODE_BIN), *args, "--url", node.base, "--config", str(cluster.config_path)],
                          capture_output=True, text=True, timeout=60)


def rooms_by_victims(cluster, victims) -> tuple[list[str], list[str]]:
    """Creates rooms until there are two whose voters include both victims and two with at most one;
    returns every room created with both victims among its voters (each loses its majority, so
    `rooms recover --all` recovers each) and two of the others."""
    doomed, kept = [], []
    n1 = cluster["n1"]
    for _ in range(200):
        if len(doomed) >= 2 and len(kept) >= 2:
            break
        room = unique("op")
        send_until_acked([n1], room, f"{room}-first")
        voters = wait_for(lambda: next((r["voters"] for n in cluster.all() if (r := replica(n, room))), None),
                          10, f"the voters of {room}")
        (doomed if set(victims) <= set(voters) else kept).append(room)
    assert len(doomed) >= 2 and len(kept) >= 2, (doomed, kept)
    return doomed, kept[:2]


def send_before(survivors, rooms: list[str]) -> dict[str, list[tuple[int, str]]]:
    """Five acked messages more in each room; returns (seq, id) of everything acked so far."""
    acked: dict[str, list[tuple[int, str]]] = {}
    for room in rooms:
        acked[room] = [(int(m["seq"]), m["id"]) for m in history(survivors[0], room)]
        for k in range(5):
            mid = f"{room}-before-{k}"
            acked[room].append((send_until_acked(survivors, room, mid), mid))
    return acked


def assert_majority_rooms_writable(survivors, kept, acked, timeout: float = 20.0, tag: str = "after-failure"):
    """Rooms that kept a majority take the next seq and lost nothing acked (the new message is
    added to `acked`)."""
    for room in kept:
        mid = f"{room}-{tag}"
        seq = send_until_acked(survivors, room, mid, timeout=timeout)
        assert seq == max(s for s, _ in acked[room]) + 1, (room, seq, acked[room])
        acked[room].append((seq, mid))
        got = {(int(m["seq"]), m["id"]) for m in history(survivors[0], room)}
        assert set(acked[room]) <= got, (room, set(acked[room]) - got)


def assert_doomed_refuse(survivors, doomed, seconds: float, states: set[str]):
    """Every send to a room whose majority died is answered 503 `unavailable` (never acked) for
    `seconds`, and `/rooms/{room}` on a node holding a replica says one of `states`."""
    end = time.monotonic() + seconds
    k = 0
    while time.monotonic() < end:
        for room in doomed:
            for node in survivors:
                k += 1
                r = post(node, room, f"{room}-refused-{k}", timeout=10)
                assert r.status_code == 503, (room, node.node_id, r.status_code, r.text)
                assert r.json()["code"] == "unavailable"
        time.sleep(0.2)
    for room in doomed:
        holders = 0
        for node in survivors:
            r = node.get(f"/rooms/{room}", timeout=10)
            assert r.status_code == 503, (room, node.node_id, r.status_code, r.text)
            if replica(node, room) is not None:
                holders += 1
                assert r.json()["state"] in states, (room, node.node_id, r.json())
        assert holders >= 1, f"no survivor holds a replica of {room}"


def assert_quorum_lost(survivors, doomed, timeout: float = 20.0):
    """After the failed voters came back empty (or were removed): a surviving replica of each
    doomed room reports its majority gone for good, and the rooms still refuse every send."""
    for room in doomed:
        wait_for(lambda: any((replica(n, room) or {}).get("quorumLost") for n in survivors), timeout, f"{room} quorum lost")
    assert_doomed_refuse(survivors, doomed, seconds=2, states={"quorum_lost"})


def recover_and_check(cluster, survivors, victims, doomed, acked, all_rooms: bool = False):
    """`chat-node rooms recover` (of the doomed rooms by name, or `--all` the nodes list as lost):
    each room is rebuilt on a survivor, the skipped range is printed, the next message follows it,
    nothing acked is missing outside that range (with Redis, nothing at all), no seq names two
    messages, and the group grows back to three voters."""
    rooms = ["--all"] if all_rooms else list(doomed)
    out = chat_node(cluster, "rooms", "recover", "--skip", "100", *rooms, url_node=survivors[0])
    assert out.returncode == 0, (out.stdout, out.stderr)
    print(out.stdout)
    assert len(re.findall(r": recovered on ", out.stdout)) == len(doomed), out.stdout
    for room in doomed:
        m = re.search(rf"^{re.escape(room)}: recovered on (\w+) through seq (\d+); seqs (\d+)…(\d+) are skipped", out.stdout, re.M)
        assert m, out.stdout
        node, lost_after, first_skipped, resume_after = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
        assert node not in victims, out.stdout  # restarted or removed ones hold nothing committed
        assert first_skipped == lost_after + 1 and resume_after >= lost_after + 100
        seq = send_until_acked(survivors, room, f"{room}-after-recover", timeout=20)
        assert seq == resume_after + 1, (room, seq, resume_after)
        got = history(survivors[0], room)
        seqs = [int(x["seq"]) for x in got]
        assert len(seqs) == len(set(seqs)), f"a seq twice in {room}"
        have = {(int(x["seq"]), x["id"]) for x in got}
        # Nothing acked is missing unless the recovery reported its seq as possibly lost.
        missing = [(s, i) for s, i in acked[room] if (s, i) not in have and not lost_after < s <= resume_after]
        assert not missing, (room, missing, lost_after, resume_after)
        # With Redis holding every committed message, nothing acked was lost at all here.
        assert all(s <= lost_after for s, _ in acked[room]), (room, lost_after, acked[room])
        wait_for(lambda: len((replica(cluster[node], room) or {}).get("voters", [])) == 3, 30, f"{room} back to three voters")

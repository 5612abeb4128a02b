"""Rooms held in memory are bounded (issue 11 §2, README "Limits"): reads of rooms nobody wrote to
create none, and past `limits.maxRooms` a new room is refused with a clear `unavailable` while the
rooms that exist keep working. One in-memory node per test."""

import uuid

from chat_harness import metric_total, unique


def rooms_held(node) -> int:
    return node.get("/cluster").json()["groups"]["replicas"]


def test_node_room_limit_refuses_new_rooms_only(node_factory, clients):
    node = node_factory("--limit", "maxRooms=3")
    rooms = [unique("room") for _ in range(3)]
    for i, room in enumerate(rooms):
        r = node.post_message(room, "alice", f"m{i}", "hello")
        assert r.status_code == 200, r.text
    # Reads of unknown rooms are answered (empty) and take no room.
    for _ in range(50):
        room = "read-" + uuid.uuid4().hex[:12]
        assert node.get(f"/rooms/{room}/messages").json()["messages"] == []
        info = node.get(f"/rooms/{room}").json()
        assert info["seq"] == 0 and info["members"] == []
    assert rooms_held(node) == 3
    # A fourth room: over HTTP 503 with JSON, over the WebSocket an `unavailable` error.
    r = node.post_message(unique("room"), "alice", "m4", "one room too many")
    assert r.status_code == 503 and r.json()["code"] == "unavailable", r.text
    assert "most rooms" in r.json()["message"]
    c = clients(node, "bob")
    c.send({"type": "join", "room": unique("room"), "ref": "j"})
    refused = c.wait_for_reply("j")
    assert refused["type"] == "error" and refused["code"] == "unavailable" and "most rooms" in refused["message"], refused
    # The rooms that exist still work.
    c.join(rooms[0])
    assert c.send_msg(rooms[0], "still writable")["seq"] == 2
    assert metric_total(node.metrics(), "chat_rooms_refused_total") >= 2
    assert rooms_held(node) == 3

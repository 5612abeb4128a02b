"""Real-browser tests of the chat page (GET /) against a real chat-node, in headless Chromium."""

from __future__ import annotations

import signal

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20  # seconds; every wait in this file is bounded by this

# [seq, user, text] of every rendered message of a room, in DOM order.
MESSAGES_JS = """
return Array.from(document.querySelectorAll('.msg[data-room="' + arguments[0] + '"]')).map(
  e => [Number(e.dataset.seq), e.dataset.user, e.querySelector('.text').textContent]);
"""


def wait_for(driver, predicate, what: str, timeout: float = WAIT):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: predicate(d), message=f"timed out after {timeout}s waiting for {what}")


def conn_state(driver) -> str:
    return driver.find_element(By.ID, "conn-state").text


def messages(driver, room: str) -> list[list]:
    return driver.execute_script(MESSAGES_JS, room)


def texts(driver, room: str) -> list[str]:
    return [m[2] for m in messages(driver, room)]


def sign_in(driver, base: str, user: str, room: str) -> None:
    driver.get(base + "/")
    u = driver.find_element(By.ID, "user")
    u.clear()
    u.send_keys(user)
    r = driver.find_element(By.ID, "room")
    r.clear()
    r.send_keys(room)
    driver.find_element(By.ID, "signin").click()
    wait_for(driver, lambda d: conn_state(d) == "connected", f"{user}: connected")
    assert not driver.find_element(By.ID, "signin-view").is_displayed()
    assert driver.find_element(By.ID, "text").is_displayed()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f'.pane[data-room="{room}"][data-joined="1"]'),
             f"{user}: joined {room}")


def say(driver, text: str) -> None:
    box = driver.find_element(By.ID, "text")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def wait_text(driver, room: str, text: str, who: str) -> None:
    wait_for(driver, lambda d: text in texts(d, room), f"{who} to show {text!r} in {room}")


def no_pending(driver) -> bool:
    return not driver.find_elements(By.CSS_SELECTOR, ".pending")


def test_two_users_chat_in_lobby(node, other_node, browser):
    alice, bob = browser("alice"), browser("bob")
    sign_in(alice, node, "alice", "lobby")
    sign_in(bob, other_node, "bob", "lobby")

    wait_for(alice, lambda d: d.find_elements(
        By.CSS_SELECTOR, '.presence[data-room="lobby"][data-user="bob"][data-event="join"]'),
        "alice to see the notice of bob joining")
    assert "bob joined" in [e.text for e in alice.find_elements(By.CSS_SELECTOR, '.presence[data-room="lobby"]')]
    wait_for(alice, lambda d: d.find_element(By.ID, "members").text == "2", "alice: member count 2")
    wait_for(bob, lambda d: d.find_element(By.ID, "members").text == "2", "bob: member count 2")

    say(alice, "hello from alice")
    for d, who in ((alice, "alice"), (bob, "bob")):
        wait_text(d, "lobby", "hello from alice", who)
    say(bob, "hi from bob")
    for d, who in ((alice, "alice"), (bob, "bob")):
        wait_text(d, "lobby", "hi from bob", who)
        wait_for(d, no_pending, f"{who}: every send acknowledged")

    seen_a, seen_b = messages(alice, "lobby"), messages(bob, "lobby")
    assert seen_a == seen_b, "both browsers show the same messages in the same order"
    assert [m[1:] for m in seen_a] == [["alice", "hello from alice"], ["bob", "hi from bob"]]
    seqs = [m[0] for m in seen_a]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    # own messages are marked; the sender and a HH:MM time are shown
    own = alice.find_element(By.CSS_SELECTOR, '.msg[data-user="alice"]')
    assert "own" in own.get_attribute("class").split()
    assert "own" not in alice.find_element(By.CSS_SELECTOR, '.msg[data-user="bob"]').get_attribute("class").split()
    assert own.find_element(By.CSS_SELECTOR, ".who").text == "alice"
    hhmm = own.find_element(By.CSS_SELECTOR, "time").text
    assert len(hhmm) == 5 and hhmm[2] == ":" and hhmm.replace(":", "").isdigit(), hhmm


def test_message_text_is_not_html(node, other_node, browser):
    payload = "<b>not bold</b><script>window.pwned=1</script>"
    alice, bob = browser("xss-alice"), browser("xss-bob")
    sign_in(alice, node, "alice", "xss")
    sign_in(bob, other_node, "bob", "xss")
    say(alice, payload)
    for d, who in ((alice, "alice"), (bob, "bob")):
        wait_text(d, "xss", payload, who)
        el = d.find_element(By.CSS_SELECTOR, '.msg[data-room="xss"] .text')
        assert el.get_attribute("textContent") == payload
        assert el.text == payload
        assert d.execute_script("return document.querySelectorAll('#panes b, #panes .text script').length") == 0
        assert d.execute_script("return typeof window.pwned") == "undefined"


def test_sign_in_validation_and_several_rooms(node, browser):
    alice, bob = browser("rooms-alice"), browser("rooms-bob")
    alice.get(node + "/")
    alice.find_element(By.ID, "user").send_keys("alice")
    room = alice.find_element(By.ID, "room")
    room.clear()
    room.send_keys("bad room!")
    alice.find_element(By.ID, "signin").click()
    err = alice.find_element(By.ID, "signin-error").text
    assert "Room" in err and alice.find_element(By.ID, "signin-view").is_displayed()
    assert conn_state(alice) == "offline"
    room.clear()
    room.send_keys("room-a")
    alice.find_element(By.ID, "signin").click()
    wait_for(alice, lambda d: conn_state(d) == "connected", "alice: connected")

    # join a second room; an invalid name is refused with a message
    join_input = alice.find_element(By.ID, "join-room")
    join_input.send_keys("no spaces")
    alice.find_element(By.ID, "join").click()
    assert alice.find_element(By.ID, "join-error").text
    join_input.clear()
    join_input.send_keys("room-b")
    alice.find_element(By.ID, "join").click()
    wait_for(alice, lambda d: d.find_elements(By.CSS_SELECTOR, '.pane[data-room="room-b"][data-joined="1"]'),
             "alice joined room-b")
    assert len(alice.find_elements(By.CSS_SELECTOR, "#rooms .room-tab")) == 2
    assert alice.find_element(By.ID, "room-title").text == "#room-b"

    # bob talks in room-a while alice looks at room-b: room-a gets an unread marker
    sign_in(bob, node, "bob", "room-a")
    say(bob, "psst in room a")
    tab_a = '#rooms .room-tab[data-room="room-a"]'
    wait_for(alice, lambda d: d.find_element(By.CSS_SELECTOR, tab_a + " .unread").get_attribute("textContent") == "1",
             "unread marker 1 on room-a")
    assert alice.find_element(By.CSS_SELECTOR, tab_a + " .room-members").get_attribute("textContent") == "2"
    alice.find_element(By.CSS_SELECTOR, tab_a + " .open").click()
    wait_for(alice, lambda d: d.find_element(By.ID, "members").text == "2", "room-a member count 2")
    assert alice.find_element(By.CSS_SELECTOR, tab_a + " .unread").get_attribute("textContent") == ""
    assert texts(alice, "room-a") == ["psst in room a"]

    # leave room-b from its tab
    alice.find_element(By.CSS_SELECTOR, '#rooms .room-tab[data-room="room-b"] .leave').click()
    wait_for(alice, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#rooms .room-tab")) == 1, "room-b tab gone")
    assert not alice.find_elements(By.CSS_SELECTOR, '.pane[data-room="room-b"]')


def test_reconnect_resumes_without_gaps_or_duplicates(node, other_node, browser):
    room = "resume"
    alice, bob = browser("resume-alice"), browser("resume-bob")
    sign_in(alice, node, "alice", room)
    sign_in(bob, other_node, "bob", room)
    say(bob, "before the drop")
    wait_text(alice, room, "before the drop", "alice")

    # Alice sends and loses the socket in the same turn: the send may reach the server but its ack
    # cannot reach her; after the reconnect the page must show that message exactly once.
    state = alice.execute_script("""
        const t = document.getElementById('text');
        t.value = 'sent right before the drop';
        document.getElementById('send').click();
        window.__chatDebug.dropConnection({hold: true});
        return document.getElementById('conn-state').textContent;""")
    assert state == "reconnecting"

    # while disconnected: alice's new message waits, greyed; bob sends 3 that alice misses
    say(alice, "queued while offline")
    assert alice.find_elements(By.CSS_SELECTOR, ".pending.sending")
    missed = ["missed 1", "missed 2", "missed 3"]
    for t in missed:
        say(bob, t)
    for t in missed:
        wait_text(bob, room, t, "bob")
    wait_for(bob, no_pending, "bob: acks")
    assert conn_state(alice) == "reconnecting"
    assert not set(missed) & set(texts(alice, room))

    alice.execute_script("window.__chatDebug.reconnectNow()")
    wait_for(alice, lambda d: conn_state(d) == "connected", "alice reconnected")
    for t in missed + ["sent right before the drop", "queued while offline"]:
        wait_text(alice, room, t, "alice")
        wait_text(bob, room, t, "bob")
    wait_for(alice, no_pending, "alice: every send acknowledged after the reconnect")

    seen_a, seen_b = messages(alice, room), messages(bob, room)
    assert seen_a == seen_b
    seqs = [m[0] for m in seen_a]
    assert seqs == list(range(1, len(seqs) + 1)), f"contiguous seqs, got {seqs}"
    got = [m[2] for m in seen_a]
    assert len(got) == len(set(got)) == 6, got
    assert got.index("missed 1") < got.index("missed 2") < got.index("missed 3")


def test_error_frame_is_shown_next_to_the_message(node, browser):
    alice = browser("errors-alice")
    sign_in(alice, node, "alice", "errors")
    # one character over the default --max-text-length 4000: the server answers error too_large
    alice.execute_script("""
        document.getElementById('text').value = 'x'.repeat(4001);
        document.getElementById('send').click();""")
    failed = wait_for(alice, lambda d: d.find_elements(By.CSS_SELECTOR, '.pending.failed[data-error="too_large"]'),
                      "the too_large error next to the message")[0]
    assert "too_large" in failed.text
    assert "too_large" in alice.find_element(By.ID, "banner").text
    assert messages(alice, "errors") == []
    say(alice, "short one")  # the connection is still usable
    wait_text(alice, "errors", "short one", "alice")


def test_unavailable_room_is_shown_and_retried(cluster_processes, browser):
    """Two nodes are a majority of two: with n2 paused (SIGSTOP) a room served from n1 cannot commit.
    The page says the room is unavailable, keeps the message pending and retrying, and once n2
    resumes the message is acked and the notice goes away."""
    bases, procs = cluster_processes
    room = "outage"
    alice = browser("outage-alice")
    sign_in(alice, bases[0], "alice", room)
    say(alice, "before the outage")
    wait_text(alice, room, "before the outage", "alice")
    procs[1].send_signal(signal.SIGSTOP)
    try:
        say(alice, "during the outage")
        notice = wait_for(alice, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, f'.pane[data-room="{room}"] .room-status')
                                            if e.is_displayed()], "the room's unavailable notice")[0]
        assert "unavailable" in notice.text
        assert alice.find_elements(By.CSS_SELECTOR, f'.room-tab.unavailable[data-room="{room}"]')
        assert "during the outage" not in texts(alice, room)
        assert alice.find_elements(By.CSS_SELECTOR, ".pending")
    finally:
        procs[1].send_signal(signal.SIGCONT)
    wait_text(alice, room, "during the outage", "alice")
    wait_for(alice, no_pending, "the retried message acknowledged")
    wait_for(alice, lambda d: not d.find_element(By.CSS_SELECTOR, f'.pane[data-room="{room}"] .room-status').is_displayed(),
             "the notice cleared")
    assert texts(alice, room) == ["before the outage", "during the outage"]

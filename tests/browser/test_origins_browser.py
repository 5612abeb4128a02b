"""A page of another web origin cannot use the chat socket (issue 11 §5), in headless Chromium: a
node that lists one allowed origin refuses the socket of a page served from a different origin,
accepts it from the listed one, and its own page keeps working under its Content-Security-Policy."""

from __future__ import annotations

import http.server
import threading

import pytest
from selenium.webdriver.common.by import By

from chat_harness import ChatNode, free_port
from test_page import say, sign_in, wait_for, wait_text

PROBE = """<!doctype html><meta charset="utf-8"><title>probe</title><body><pre id="out">waiting</pre>
<script>
const ws = new WebSocket("ws://127.0.0.1:%d/ws");
ws.onopen = () => { ws.send(JSON.stringify({type: "hello", user: "probe"})); };
ws.onmessage = (e) => { document.getElementById("out").textContent = "message " + e.data; };
ws.onerror = () => { document.getElementById("out").textContent = "error"; };
</script>"""


class ProbeSite:
    """A static site on its own loopback port (its own web origin) serving the probe page."""

    def __init__(self, node_port: int):
        page = (PROBE % node_port).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def guarded():
    """A node that allows one other origin (the `listed` probe site) besides its own pages."""
    node_port = free_port()
    listed, other = ProbeSite(node_port), ProbeSite(node_port)
    node = ChatNode(["--allowed-origin", listed.origin], port=node_port, name="origins").start()
    yield node, listed, other
    node.stop()
    listed.close()
    other.close()


def probe_result(driver, site: ProbeSite) -> str:
    driver.get(site.origin + "/")
    return wait_for(driver, lambda d: (t := d.find_element(By.ID, "out").text) != "waiting" and t, "the probe's result")


def test_cross_origin_socket_is_refused_while_the_own_page_works(guarded, browser):
    node, listed, other = guarded
    d = browser("origins")
    assert probe_result(d, other) == "error", "a page of an unlisted origin opened the socket"
    assert '"type":"welcome"' in probe_result(d, listed), "the listed origin's page was refused"
    # The node's own page, under its CSP: were its script or socket blocked, it could not sign in.
    sign_in(d, node.base, "alice", "origins")
    say(d, "from my own page")
    wait_text(d, "origins", "from my own page", "alice")

"""Fixtures for the real-browser tests: one chat-node process per session, headless Chromium sessions."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "test-output" / "browser"
CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")

# Never let Selenium Manager go to the network: we always give it the driver and browser paths.
os.environ.setdefault("SE_OFFLINE", "true")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chat-node exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError) as e:  # not serving yet
            last = e
        time.sleep(0.1)
    raise RuntimeError(f"chat-node not healthy after {timeout}s: {last}")


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_members(base: str, count: int, timeout: float = 20.0) -> None:
    """Waits until the node at `base` lists `count` alive members and is ready."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/cluster", timeout=2) as r:
                seen = json.load(r)
            alive = [m for m in seen["members"] if m["status"] == "alive"]
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if len(alive) == count and r.status == 200:
                    return
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base} did not see {count} alive members in {timeout}s: {seen}")


@pytest.fixture(scope="session")
def cluster_processes(output_dir: Path):
    """Starts a two-node cluster (n2 joins through n1's gossip port) on loopback; yields the two
    base URLs and the two processes once both see each other; stops both by PID."""
    binary = os.environ.get("CHAT_NODE_BIN", str(REPO / ".build" / "debug" / "chat-node"))
    if not Path(binary).exists():
        pytest.fail(f"chat-node binary not found at {binary} (set CHAT_NODE_BIN)")
    seed_port = free_udp_port()
    procs, logs, bases = [], [], []
    try:
        for index, name in enumerate(["n1", "n2"]):
            port = free_port()
            gossip = seed_port if index == 0 else free_udp_port()
            log = open(output_dir / f"node-{name}.log", "wb")
            logs.append(log)
            proc = subprocess.Popen(
                [binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--node-id", name,
                 "--internal-port", str(free_port()), "--gossip-port", str(gossip),
                 "--seed", f"127.0.0.1:{seed_port}", "--secret", "browser-test-secret",
                 "--page-debug"],  # the page's test hooks (window.__chatDebug)
                stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            )
            procs.append(proc)
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, proc)
            bases.append(base)
        for base in bases:
            wait_members(base, 2)
        yield bases, procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        for log in logs:
            log.close()


@pytest.fixture(scope="session")
def cluster(cluster_processes):
    """The two nodes' base URLs."""
    return cluster_processes[0]


@pytest.fixture(scope="session")
def node(cluster):
    """The first node of the cluster (alice's)."""
    return cluster[0]


@pytest.fixture(scope="session")
def other_node(cluster):
    """The second node of the cluster: bob's browser talks to it, so chat crosses nodes."""
    return cluster[1]


@pytest.fixture
def browser(output_dir: Path):
    """Factory: browser("alice") opens a new headless Chromium; a screenshot `<name>.png` is saved and
    the session closed at teardown (also when the test fails)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers: list[tuple[str, object]] = []

    def make(name: str):
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1100,760", "--no-first-run", "--disable-extensions"):
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
        driver.set_page_load_timeout(20)
        driver.set_script_timeout(20)
        drivers.append((name, driver))
        return driver

    yield make
    for name, driver in drivers:
        try:
            driver.save_screenshot(str(output_dir / f"{name}.png"))
        except Exception:  # a crashed session must not hide the test's own failure
            pass
        try:
            driver.quit()
        except Exception:
            pass

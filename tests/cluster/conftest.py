"""Fixtures for the multi-process cluster tests: whole clusters of real chat-node processes
(helpers in tests/conftest.py, imported as `chat_harness`)."""

from __future__ import annotations

import shutil
from typing import Iterable, Optional

import pytest

from chat_harness import LocalCluster, RedisServer


@pytest.fixture(scope="module")
def module_redis():
    r = RedisServer()
    r.start()
    yield r
    r.stop()
    shutil.rmtree(r.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster_factory():
    """cluster_factory(ids=..., redis_url=..., tag=...) -> a started LocalCluster (not yet formed).
    Every node of every cluster made here is stopped at module teardown."""
    made: list[LocalCluster] = []

    def make(ids: Iterable[str] = ("n1", "n2", "n3"), redis_url: Optional[str] = None, tag: str = "cluster",
             **kw) -> LocalCluster:
        c = LocalCluster(ids, redis_url=redis_url, tag=tag, **kw)
        made.append(c)
        return c.start()

    yield make
    for c in made:
        c.stop()

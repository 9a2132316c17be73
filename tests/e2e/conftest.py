from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.service_world import ServiceWorld, start_world


@pytest.fixture
def world(database_url: str) -> Iterator[ServiceWorld]:
    w = start_world(database_url)
    yield w
    w.server.stop()
    w.engine.dispose()

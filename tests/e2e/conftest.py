from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.service_world import ServiceWorld, running_world


@pytest.fixture
def world(database_url: str) -> Iterator[ServiceWorld]:
    with running_world(database_url) as w:
        yield w

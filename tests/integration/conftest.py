"""Fixtures for tests against the local OpenStack cloud, as the project's member user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lab_cloud import clouds_yaml, connect, leftovers


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    """openstacksdk connection as user `paasmas` in project `paasmas` (cloud `paasmas-lab`)."""
    path = clouds_yaml()
    if not path.is_file():
        pytest.fail(f"{path} missing: the local cloud is not up (run `make lab-up`)")
    conn = connect()
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def clean_project(cloud: Any) -> Iterator[None]:
    """Fails at the end of the module if any of its tests left something behind in the project."""
    yield
    left = leftovers(cloud)
    assert not left, f"tests did not clean up: {left}"

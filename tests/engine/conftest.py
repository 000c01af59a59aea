"""Fixtures for the real-engine tests (helpers in engine_toolchain.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_toolchain import Toolchain, pinned_versions, toolchain_environment


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    env = toolchain_environment()
    found = shutil.which("pulumi", path=env["PATH"])
    if found is None:
        pytest.skip(reason="no pulumi binary on the toolchain PATH: run `make setup` first")
    return Toolchain(pulumi=Path(found), env=env, pins=pinned_versions())


@pytest.fixture()
def stack_env(toolchain: Toolchain, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The toolchain environment with a private file:// backend and passphrase for one test."""
    backend = tmp_path / "backend"
    backend.mkdir()
    env = dict(toolchain.env)
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    env["PULUMI_CONFIG_PASSPHRASE"] = "engine-test-passphrase"
    env["PULUMI_BACKEND_URL"] = backend.as_uri()
    yield env

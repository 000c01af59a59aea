"""Helpers for the real-engine tests: the toolchain environment and the binaries make setup built.

The environment comes from toolchain/env.sh itself (the one list of variables), so these tests
run the same way under `make test` and under a bare `pytest`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def pinned_versions() -> dict[str, str]:
    """NAME -> version for every `NAME==X` line of requirements.txt."""
    pins: dict[str, str] = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def toolchain_environment() -> dict[str, str]:
    """os.environ as toolchain/env.sh leaves it."""
    script = f"source {REPO / 'toolchain' / 'env.sh'} && env -0"
    out = subprocess.run(
        ["bash", "-c", script], check=True, capture_output=True, cwd=REPO
    ).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


@dataclass(frozen=True)
class Toolchain:
    pulumi: Path
    env: dict[str, str]
    pins: dict[str, str]

    def run(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.pulumi), *args],
            cwd=cwd,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            )
        return result

    def plugin_binary(self, name: str) -> Path:
        version = self.pins[f"pulumi-{name}"]
        home = Path(self.env["PULUMI_HOME"])
        return home / "plugins" / f"resource-{name}-v{version}" / f"pulumi-resource-{name}"


def write_project(directory: Path, program: str) -> Path:
    """A Python Pulumi project that runs in this test run's virtualenv."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(
        "name: engine-check\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        "    toolchain: pip\n"
        f"    virtualenv: {sys.prefix}\n"
    )
    (directory / "__main__.py").write_text(program)
    return directory


def provider_pin(toolchain: Toolchain, name: str) -> str:
    return toolchain.pins[f"pulumi-{name}"]


def require_plugin(toolchain: Toolchain, name: str) -> None:
    """Skips the test, naming the cause make setup recorded, if the plugin is not installed."""
    if toolchain.plugin_binary(name).exists():
        return
    # make setup records why it could not provide a plugin (toolchain/build.sh, status file).
    status = Path(toolchain.env["PULUMI_HOME"]).parent / "status"
    why = "make setup has not run"
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(f"missing-provider {name} "):
                why = "make setup could not build it: " + line.split()[-1]
    pytest.skip(reason=(
        f"pulumi-resource-{name} v{provider_pin(toolchain, name)} is not installed in "
        f"{toolchain.env['PULUMI_HOME']} ({why}; docs/toolchain.md, 'Provider plugins')"))


@contextmanager
def up(
    toolchain: Toolchain, project: Path, env: dict[str, str], config: dict[str, str]
) -> Iterator[dict[str, object]]:
    """pulumi up on a new stack, yields its outputs; destroys the stack afterwards, whatever
    happened, and checks that the destroy left no outputs."""
    toolchain.run("stack", "init", "test", "--non-interactive", cwd=project, env=env)
    for key, value in config.items():
        toolchain.run("config", "set", key, value, cwd=project, env=env)
    try:
        toolchain.run("up", "--yes", "--skip-preview", "--non-interactive", cwd=project, env=env)
        outputs = json.loads(
            toolchain.run("stack", "output", "--json", cwd=project, env=env).stdout
        )
        assert isinstance(outputs, dict)
        yield outputs
    finally:
        toolchain.run("destroy", "--yes", "--non-interactive", cwd=project, env=env)
    after = json.loads(toolchain.run("stack", "output", "--json", cwd=project, env=env).stdout)
    assert after == {}, f"outputs left after destroy: {after}"
    toolchain.run("stack", "rm", "--yes", "--non-interactive", cwd=project, env=env)

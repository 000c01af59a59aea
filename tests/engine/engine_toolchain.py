"""Helpers for the real-engine tests: the toolchain environment and the binaries make setup built.

The environment comes from toolchain/env.sh itself (the one list of variables), so these tests
run the same way under `make test` and under a bare `pytest`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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

"""Run the real Pulumi CLI (toolchain of `make setup`) on the real program against the local
cloud, in a temporary project and backend: nothing is written into the checkout or its state.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from lab_cloud import clouds_yaml, project_residue

from tests.engine.engine_toolchain import pinned_versions, toolchain_environment
from tests.unit.harness import committed_stack_config

REPO = Path(__file__).resolve().parents[2]
# Entries of the checkout the temporary project does not share.
NOT_SHARED = {".git", ".state", "stacks", "build", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def lab_stack_config() -> dict[str, Any]:
    """The `lab` stack's configuration as committed (stacks/lab.yaml)."""
    return committed_stack_config("lab")


def foreign_residue(cloud: Any) -> set[str]:
    """The project's contents, less what the lab's own tests and bench name with their prefixes
    (they may be running in the same project at the same time)."""
    return {r for r in project_residue(cloud) if " labtest-" not in r and " lab-bench-" not in r}


# A progress line of `pulumi up --non-interactive`: " +  openstack:...:Port node-0 created (1s)".
CREATED_LINE = re.compile(r"^ \+ +\S+ \S+ created \(")


@dataclass(frozen=True)
class Interruption:
    """What one `pulumi up` stopped with SIGINT (an operator's Ctrl-C) left behind."""

    returncode: int
    created_before_signal: int
    resources_in_state: int
    pending_operations: list[dict[str, Any]]
    output: str


@dataclass
class Stack:
    """One stack of the program in a temporary project linked to the working tree."""

    name: str
    project: Path
    env: dict[str, str]
    pulumi: str
    seconds: dict[str, float] = field(default_factory=dict)
    interruption: Interruption | None = None

    def run(self, *args: str, timeout_s: float = 1200) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        result = subprocess.run(
            [self.pulumi, *args, "--non-interactive", "--stack", self.name],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        self.seconds[" ".join(args[:1])] = time.monotonic() - started
        return result

    def interrupted_up(self, after_created: int, timeout_s: float = 900) -> Interruption:
        """`pulumi up`, sent SIGINT once `after_created` resources are created, as an operator
        pressing Ctrl-C: Pulumi lets the operations in flight finish and records them."""
        args = ("up", "--yes", "--skip-preview", "--non-interactive", "--stack", self.name)
        lines: list[str] = []
        created = 0
        signalled_at: int | None = None
        with subprocess.Popen(
            [self.pulumi, *args],
            cwd=self.project,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as proc:
            watchdog = threading.Timer(timeout_s, proc.kill)
            watchdog.start()
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    lines.append(line)
                    if CREATED_LINE.match(line):
                        created += 1
                    if signalled_at is None and created >= after_created:
                        proc.send_signal(signal.SIGINT)
                        signalled_at = created
                returncode = proc.wait()
            finally:
                watchdog.cancel()
        output = "".join(lines)
        assert signalled_at is not None, f"up finished before {after_created} creations:\n{output}"
        deployment = json.loads(self.must("stack", "export"))["deployment"]
        return Interruption(
            returncode=returncode,
            created_before_signal=signalled_at,
            resources_in_state=len(deployment.get("resources") or []),
            pending_operations=deployment.get("pending_operations") or [],
            output=output,
        )

    def must(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 0, (
            f"pulumi {' '.join(args)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-3000:]}"
        )
        return result.stdout

    def outputs(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.must("stack", "output", "--json"))
        return loaded

    def resources(self) -> list[dict[str, Any]]:
        state = json.loads(self.must("stack", "export"))
        found: list[dict[str, Any]] = state["deployment"].get("resources") or []
        return found

    def resource_count(self) -> int:
        return len(self.resources())

    def cloud_ids(self) -> set[str]:
        """The OpenStack ids of the stack's cloud resources (what its state records)."""
        return {
            r["id"] for r in self.resources() if r["type"].startswith("openstack:") and r.get("id")
        }

    def destroy(self) -> None:
        """Everything, the protected database nodes and volumes too (as `make destroy`)."""
        self.must("state", "unprotect", "--all", "--yes")
        self.must("destroy", "--yes")


def new_stack(
    tmp_path: Path, name: str, config: dict[str, Any], backend_env: dict[str, str] | None = None
) -> Stack:
    """A stack with this config in a temporary project and file backend, or in the backend
    `backend_env` names (PULUMI_BACKEND_URL and what it needs, e.g. an s3:// bucket's keys).

    Skips, naming the cause, when the toolchain has no pulumi or no OpenStack provider plugin.
    """
    env = toolchain_environment()
    pulumi = shutil.which("pulumi", path=env["PATH"])
    if pulumi is None:
        pytest.skip(reason="no pulumi binary on the toolchain PATH: run `make setup` first")
    pin = pinned_versions()["pulumi-openstack"]
    plugin = (
        Path(env["PULUMI_HOME"])
        / "plugins"
        / f"resource-openstack-v{pin}"
        / "pulumi-resource-openstack"
    )
    if not plugin.exists():
        pytest.skip(reason=(
            f"{plugin} missing: `make setup` could not build the OpenStack provider "
            "(docs/toolchain.md, 'Provider plugins')"))
    project = tmp_path / "project"
    project.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in NOT_SHARED:
            (project / entry.name).symlink_to(entry)
    (project / "stacks").mkdir()
    (project / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    backend = tmp_path / "backend"
    backend.mkdir()
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    env.update(
        PULUMI_BACKEND_URL=backend.as_uri(),
        PULUMI_CONFIG_PASSPHRASE="lab-stack-test",
        OS_CLIENT_CONFIG_FILE=str(clouds_yaml()),
    )
    env.update(backend_env or {})
    stack = Stack(name, project, env, pulumi)
    stack.must("stack", "init")
    return stack

"""`pulumi up` of the lab stack with an invalid configuration: the run stops before anything
exists, every problem named by its key, and the lab project is left exactly as it was.

Runs the real Pulumi CLI from the toolchain (`make setup`) on the real program, against the
local cloud (`make lab-up`). Needs no provider plugin: the program stops at loading its config.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from lab_cloud import clouds_yaml, project_residue, unique_name

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning"),
]

REPO = Path(__file__).resolve().parents[2]
# Entries of the checkout the temporary project does not share.
NOT_SHARED = {".git", ".state", "stacks", "build", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def toolchain_env() -> dict[str, str]:
    """os.environ as toolchain/env.sh leaves it (the one list of the toolchain's variables)."""
    script = f"source {REPO / 'toolchain' / 'env.sh'} && env -0"
    out = subprocess.run(
        ["bash", "-c", script], check=True, capture_output=True, cwd=REPO
    ).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def project_with_stack(tmp_path: Path, stack: str, config: dict[str, Any]) -> Path:
    """The program as it is in the checkout, with its own stacks/ holding only this stack.

    Everything else is linked, so the test runs the working tree and writes nothing into it.
    """
    project = tmp_path / "project"
    project.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in NOT_SHARED:
            (project / entry.name).symlink_to(entry)
    (project / "stacks").mkdir()
    (project / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    return project


def foreign_residue(cloud: Any) -> set[str]:
    """The project's contents, less what the lab's own tests and bench name with their prefixes
    (they may be running in the same project at the same time)."""
    return {r for r in project_residue(cloud) if " labtest-" not in r and " lab-bench-" not in r}


def test_invalid_config_stops_the_run_naming_each_key_and_creates_nothing(
    cloud: Any, tmp_path: Path
) -> None:
    env = toolchain_env()
    pulumi = shutil.which("pulumi", path=env["PATH"])
    if pulumi is None:
        pytest.skip(reason="no pulumi binary on the toolchain PATH: run `make setup` first")
    config = yaml.safe_load((REPO / "stacks" / "Pulumi.lab.yaml").read_text())["config"]
    config["paasmas:network"]["cidr"] = "10.20.0.0/33"
    config["paasmas:database"]["size"] = 2
    stack = unique_name("stack")
    project = project_with_stack(tmp_path, stack, config)
    backend = tmp_path / "backend"
    backend.mkdir()
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    env.update(
        PULUMI_BACKEND_URL=backend.as_uri(),
        PULUMI_CONFIG_PASSPHRASE="lab-stack-config-test",
        OS_CLIENT_CONFIG_FILE=str(clouds_yaml()),
    )
    before = foreign_residue(cloud)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pulumi, *args, "--non-interactive", "--stack", stack],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    assert run("stack", "init").returncode == 0
    result = run("up", "--yes")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "network.cidr: '10.20.0.0/33' is not a CIDR" in output
    assert "database.size: 2" in output
    assert "2 problem(s)" in output
    # Nothing in the state, nothing in the project.
    state = json.loads(run("stack", "export").stdout)
    assert state["deployment"].get("resources") in (None, [])
    assert foreign_residue(cloud) == before
    assert os.listdir(project / "stacks") == [f"Pulumi.{stack}.yaml"]

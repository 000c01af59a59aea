"""`--stack`: the checks read a real Pulumi stack's outputs with the real CLI (the lab's outputs
imported into a private file backend, the password as a secret), share them with the xdist
workers, and leave no copy of the secrets behind."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from hostlab.lab import HostLab
from tests.engine.engine_toolchain import toolchain_environment

pytestmark = pytest.mark.hostlab

REPO = Path(__file__).resolve().parents[2]
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value
SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270"


def test_the_checks_read_a_real_pulumi_stack(healthy_lab: HostLab, tmp_path: Path) -> None:
    env = toolchain_environment()
    pulumi = shutil.which("pulumi", path=env["PATH"])
    if pulumi is None:
        pytest.skip(reason="no pulumi binary on the toolchain PATH: run `make setup` first")
    backend = tmp_path / "backend"
    backend.mkdir()
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    env.update(PULUMI_BACKEND_URL=backend.as_uri(), PULUMI_CONFIG_PASSPHRASE="hostlab-test")

    # The stack is made in a bare copy of the project, so its Pulumi.<stack>.yaml (salt) never
    # lands in the repository's stacks/; the checks then read it as operators do, from the repo.
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: paasmas\nruntime: python\n")

    def cli(*args: str) -> str:
        done = subprocess.run([pulumi, *args], cwd=project, env=env, capture_output=True,
                              text=True, check=False, timeout=120)
        assert done.returncode == 0, f"pulumi {' '.join(args)}: {done.stderr}"
        return done.stdout

    cli("stack", "init", "hostlab-check", "--non-interactive")
    deployment = json.loads(cli("stack", "export", "--stack", "hostlab-check"))
    outputs = json.loads(healthy_lab.outputs_file.read_text())
    password = outputs["database_password"]
    outputs["database_password"] = {SECRET_SIGNATURE: SECRET_MARK,
                                    "plaintext": json.dumps(password)}
    deployment["deployment"]["resources"] = [{
        "urn": "urn:pulumi:hostlab-check::paasmas::pulumi:pulumi:Stack::paasmas-hostlab-check",
        "custom": False, "type": "pulumi:pulumi:Stack", "outputs": outputs}]
    (tmp_path / "deployment.json").write_text(json.dumps(deployment))
    cli("stack", "import", "--stack", "hostlab-check", "--file", str(tmp_path / "deployment.json"))
    state = next(backend.rglob("hostlab-check.json")).read_text()
    assert password not in state and "ciphertext" in state  # stored encrypted

    leftovers_before = set(Path(tempfile.gettempdir()).glob("paasmas-outputs-*"))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "--stack", "hostlab-check",
         "--ssh-identity", str(healthy_lab.ssh_key), "--known-hosts",
         str(healthy_lab.known_hosts), "-m", "not k3s and not jenkins", "-q",
         "-n", "2", "--dist", "loadgroup"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    # Every check the lab's own outputs file selects ran from the stack's outputs.
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "--outputs", str(healthy_lab.outputs_file),
         "--ssh-identity", str(healthy_lab.ssh_key), "--known-hosts",
         str(healthy_lab.known_hosts), "-m", "not k3s and not jenkins", "--co", "-q",
         "-p", "no:xdist"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    selected = re.search(r"(\d+)(?:/\d+)? tests? collected", collected.stdout)
    assert selected, collected.stdout[-1000:] + collected.stderr[-1000:]
    ran = re.search(r"(\d+) passed(?:, (\d+) skipped)?", run.stdout)
    assert ran, run.stdout[-1000:]
    assert int(ran.group(1)) + int(ran.group(2) or 0) == int(selected.group(1)), (
        run.stdout[-1000:])
    assert int(ran.group(1)) > 6 * len(healthy_lab.hosts()), run.stdout[-1000:]
    leftovers = set(Path(tempfile.gettempdir()).glob("paasmas-outputs-*")) - leftovers_before
    assert not leftovers, f"outputs with secrets left behind: {leftovers}"

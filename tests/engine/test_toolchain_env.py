"""toolchain/env.sh: the one definition of the environment every Pulumi command runs in."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from engine_toolchain import REPO

pytestmark = pytest.mark.engine


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    """A copy of the files env.sh reads, so the test owns its .state/."""
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "toolchain", root / "toolchain")
    shutil.copy(REPO / "requirements.txt", root / "requirements.txt")
    return root


def sourced_env(root: Path, cache: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    # No pulumi on PATH (`make` puts the toolchain's there): env.sh would rightly prefer it.
    base["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env = base | {"PAASMAS_CACHE": str(cache)} | extra
    env.pop("PAASMAS_ROOT", None)
    out = subprocess.run(
        ["bash", "-c", f"source {root / 'toolchain' / 'env.sh'} && env -0"],
        env=env,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def test_engine_never_reaches_out_and_uses_local_state(checkout: Path, tmp_path: Path) -> None:
    env = sourced_env(checkout, tmp_path / "cache")
    version = next(
        line.split("==")[1]
        for line in (checkout / "requirements.txt").read_text().splitlines()
        if line.startswith("pulumi==")
    )
    assert env["PATH"].split(":")[0] == str(tmp_path / f"cache/toolchain/pulumi-v{version}/bin")
    assert env["PULUMI_HOME"] == str(tmp_path / "cache/toolchain/pulumi-home")
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PULUMI_DISABLE_REGISTRY_RESOLVE"] == "true"
    assert env["PULUMI_BACKEND_URL"] == f"file://{checkout}/.state/backend"
    assert (checkout / ".state" / "backend").is_dir()


def test_a_backend_from_the_environment_wins(checkout: Path, tmp_path: Path) -> None:
    """A team's shared backend (README "State and secrets") is kept, in both forms."""
    team = "s3://team-state?endpoint=http://127.0.0.1:9000&use_path_style=true&region=us-east-1"
    env = sourced_env(checkout, tmp_path / "cache", PULUMI_BACKEND_URL=team)
    assert env["PULUMI_BACKEND_URL"] == team
    out = subprocess.run(
        ["bash", str(checkout / "toolchain" / "env.sh"), "--make"],
        env={k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        | {"PAASMAS_CACHE": str(tmp_path / "cache"), "PULUMI_BACKEND_URL": team},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert f"export PULUMI_BACKEND_URL := {team}" in out.split("|NL|")


def test_passphrase_file_is_generated_once_and_private(checkout: Path, tmp_path: Path) -> None:
    first = sourced_env(checkout, tmp_path / "cache")
    passphrase = Path(first["PULUMI_CONFIG_PASSPHRASE_FILE"])
    assert passphrase == checkout / ".state" / "passphrase"
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    content = passphrase.read_text()
    assert len(content.strip()) >= 32
    sourced_env(checkout, tmp_path / "cache")
    assert passphrase.read_text() == content


def test_passphrase_from_the_environment_wins(checkout: Path, tmp_path: Path) -> None:
    env = sourced_env(checkout, tmp_path / "cache", PULUMI_CONFIG_PASSPHRASE="operator-secret")
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "operator-secret"
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in env
    assert not (checkout / ".state" / "passphrase").exists()


def test_make_form_carries_the_same_variables(checkout: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        ["bash", str(checkout / "toolchain" / "env.sh"), "--make"],
        env={k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        | {"PAASMAS_CACHE": str(tmp_path / "cache")},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    names = [line.split(" := ")[0].removeprefix("export ") for line in out.split("|NL|") if line]
    assert names[0] == "PATH"
    assert set(names) >= {
        "PULUMI_HOME",
        "PULUMI_SKIP_UPDATE_CHECK",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
        "PULUMI_DISABLE_REGISTRY_RESOLVE",
        "PULUMI_BACKEND_URL",
        "PULUMI_CONFIG_PASSPHRASE_FILE",
        "PAASMAS_CLOUD_CONFIG_VALIDATE",
    }

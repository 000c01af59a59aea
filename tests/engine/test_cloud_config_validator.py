"""cloud-config-validate, the coreos-cloudinit validator built by `make setup`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from engine_toolchain import toolchain_environment

pytestmark = pytest.mark.engine

GOOD = """#cloud-config
hostname: etcd-0
ssh_authorized_keys:
  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB4d operator
coreos:
  units:
    - name: etcd-member.service
      command: start
write_files:
  - path: /etc/paasmas/role
    permissions: "0644"
    content: etcd
"""

BAD = """#cloud-config
coreos:
  units:
    - name: etcd-member.service
      command: launch
  unitz: []
write_files: /etc/paasmas/role
"""


@pytest.fixture(scope="module")
def validator() -> Path:
    path = Path(toolchain_environment()["PAASMAS_CLOUD_CONFIG_VALIDATE"])
    if not path.exists():
        pytest.skip(reason=f"{path} is not built: run `make setup` first")
    return path


def validate(validator: Path, tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "user-data"
    config.write_text(text)
    return subprocess.run([str(validator), str(config)], capture_output=True, text=True, timeout=60)


def test_good_cloud_config_passes(validator: Path, tmp_path: Path) -> None:
    result = validate(validator, tmp_path, GOOD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout


def test_bad_cloud_config_is_flagged_with_lines(validator: Path, tmp_path: Path) -> None:
    result = validate(validator, tmp_path, BAD)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "line 5: error: invalid value launch" in lines
    assert 'line 6: warning: unrecognized key "unitz"' in lines
    assert 'line 7: warning: incorrect type for "write_files" (want []struct)' in lines


def test_unreadable_file_is_a_usage_error(validator: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(validator), str(tmp_path / "absent")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "absent" in result.stderr

"""The policy pack with the real engine: `pulumi preview --policy-pack policy` on the lab stack
(passes) and on a copy of it with database floating IPs (rejected, the rule named), and the
preview summary on those real previews.

Needs the toolchain (`make setup`) and the local cloud (`make lab-up`); `make test` provides
both. Each test works in a copy of the project with its own file:// backend and stack.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy import preview_summary as summary
from tests.engine.engine_toolchain import pinned_versions, toolchain_environment
from tests.unit.harness import committed_stack_config

pytestmark = pytest.mark.policy

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy"
DEFAULT_CLOUDS_YAML = Path("/var/lib/paasmas-lab/clouds.yaml")
PROGRAM_PATHS = ("__main__.py", "components", "cloud-config", "pipeline")




@dataclass(frozen=True)
class Engine:
    env: dict[str, str]
    project: Path

    def pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["pulumi", *args], cwd=self.project, env=self.env,
                                capture_output=True, text=True, timeout=900, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {result.returncode}\n"
                                 f"--- stdout\n{result.stdout[-3000:]}\n"
                                 f"--- stderr\n{result.stderr[-3000:]}")
        return result

    def new_stack(self, config: dict[str, Any]) -> str:
        """A stack whose config file is `config` (a Pulumi.<stack>.yaml document)."""
        name = f"policy-{uuid.uuid4().hex[:6]}"
        (self.project / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(config))
        self.pulumi("stack", "init", name, "--non-interactive")
        return name


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    env = toolchain_environment()
    if shutil.which("pulumi", path=env["PATH"]) is None:
        pytest.skip(reason="no pulumi binary on the toolchain PATH: run `make setup` first")
    for provider in ("openstack",):
        version = pinned_versions()[f"pulumi-{provider}"]
        plugin = (Path(env["PULUMI_HOME"]) / "plugins" / f"resource-{provider}-v{version}"
                  / f"pulumi-resource-{provider}")
        if not plugin.exists():
            pytest.skip(reason=f"pulumi-resource-{provider} v{version} is not installed in "
                        f"{env['PULUMI_HOME']}: `make setup` could not build it "
                        "(docs/toolchain.md)")
    clouds = Path(env.get("OS_CLIENT_CONFIG_FILE", str(DEFAULT_CLOUDS_YAML)))
    if not clouds.is_file():
        pytest.skip(reason=f"{clouds} missing: the local cloud is not up (run `make lab-up`)")
    work = tmp_path_factory.mktemp("policy-engine")
    project = work / "project"
    project.mkdir()
    for name in PROGRAM_PATHS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, project / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, project / name)
    (project / "stacks").mkdir()
    manifest = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    manifest["runtime"]["options"]["virtualenv"] = sys.prefix
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(manifest))
    backend = work / "backend"
    backend.mkdir()
    env = {**env, "PULUMI_BACKEND_URL": backend.as_uri(),
           "PULUMI_CONFIG_PASSPHRASE": "policy-engine-test", "OS_CLIENT_CONFIG_FILE": str(clouds)}
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    yield Engine(env, project)


def lab_config() -> dict[str, Any]:
    """A stack file with the lab's committed settings (no encryption salt: each test stack gets
    its own with its own passphrase)."""
    return {"config": committed_stack_config("lab")}


def preview(engine: Engine, stack: str) -> tuple[dict[str, Any], summary.EventLog, str | None]:
    return summary.run_preview(stack, [str(PACK)], engine.project, env=engine.env)


def test_lab_stack_passes_the_pack(engine: Engine) -> None:
    stack = engine.new_stack(lab_config())
    result, log, failure = preview(engine, stack)
    assert failure is None, failure
    assert [v for v in log.violations if v.level == "mandatory"] == []
    # The pack ran: its stack rules were analyzed without a mandatory finding, and the preview
    # plans the whole platform.
    assert result["changeSummary"]["create"] > 50
    text, verdict = summary.render(result, stack=stack, events=log)
    assert verdict.exit_code == summary.EXIT_OK, text
    # a first preview cannot know the generated password; it is never shown in any case
    assert "| `database_password` | (known after apply) |" in text


@contextlib.contextmanager
def program_without_private_databases(engine: Engine) -> Iterator[None]:
    """The program's own loader refuses floating IPs on database nodes (the registry's private
    roles), so no valid stack reaches the pack with one. To see the pack itself reject one, the
    test project's copy of the registry forgets that databases are private; the pack keeps
    reading the repository's."""
    registry = engine.project / "components" / "roles.py"
    original = registry.read_text()
    patched = original.replace("quorum=True, private=True,", "quorum=True, private=False,")
    assert patched != original, "the database entry of components/roles.py changed shape"
    registry.write_text(patched)
    try:
        yield
    finally:
        registry.write_text(original)


def test_database_floating_ips_are_rejected_naming_the_rule(engine: Engine) -> None:
    config = lab_config()
    config["config"]["paasmas:database"]["floating_ips"] = True
    stack = engine.new_stack(config)
    with program_without_private_databases(engine):
        result, log, failure = preview(engine, stack)
        # The CLI itself names the rule too.
        plain = engine.pulumi("preview", "--non-interactive", "--stack", stack,
                              "--policy-pack", str(PACK), check=False)
    assert failure is not None  # a mandatory violation fails the preview
    mandatory = [v for v in log.violations if v.level == "mandatory"]
    assert {v.policy for v in mandatory} == {"no-floating-ip-on-private-nodes"}
    assert len(mandatory) == 3
    assert all("database node" in v.message for v in mandatory)
    text, verdict = summary.render(result, stack=stack, events=log, failure=failure)
    assert verdict.exit_code == summary.EXIT_BLOCKED
    assert "`no-floating-ip-on-private-nodes` | mandatory" in text
    assert plain.returncode != 0
    assert "no-floating-ip-on-private-nodes" in plain.stdout + plain.stderr

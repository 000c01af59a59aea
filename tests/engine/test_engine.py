"""The real Pulumi engine built by `make setup`: versions, plugins, a program run end to end."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from engine_toolchain import Toolchain, write_project

pytestmark = pytest.mark.engine

PROVIDERS = ("openstack", "random", "tls")

# A program with no cloud resources: a pulumi.dynamic resource is served by the SDK's
# pulumi-resource-pulumi-python plugin, so this exercises language host, engine and a provider.
DYNAMIC_PROGRAM = """
import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class Greeting(ResourceProvider):
    def create(self, props):
        return CreateResult(id_="greeting-1", outs={"text": "hello " + props["who"]})


class GreetingResource(Resource):
    text: pulumi.Output[str]

    def __init__(self, name, who):
        super().__init__(Greeting(), name, {"who": who, "text": None})


greeting = GreetingResource("greeting", who=pulumi.Config().require("who"))
pulumi.export("text", greeting.text)
pulumi.export("stack", pulumi.get_stack())
"""

RANDOM_PROGRAM = """
import pulumi
import pulumi_random

pet = pulumi_random.RandomPet("pet", length=3, separator="-")
pulumi.export("pet", pet.id)
"""


def provider_pin(toolchain: Toolchain, name: str) -> str:
    version: str = toolchain.pins[f"pulumi-{name}"]
    return version


def require_plugin(toolchain: Toolchain, name: str) -> None:
    if toolchain.plugin_binary(name).exists():
        return
    # make setup records why it could not provide a plugin (toolchain/build.sh, status file).
    status = Path(toolchain.env["PULUMI_HOME"]).parent / "status"
    why = "make setup has not run"
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(f"missing-provider {name} "):
                why = "make setup could not build it: " + line.split()[-1]
    pytest.skip(
        reason=f"pulumi-resource-{name} v{provider_pin(toolchain, name)} is not installed in "
        f"{toolchain.env['PULUMI_HOME']} ({why}; docs/toolchain.md, 'Provider plugins')"
    )


def up_and_destroy(
    toolchain: Toolchain, project: Path, env: dict[str, str], config: dict[str, str]
) -> dict[str, object]:
    """pulumi up on a new stack, read the outputs back, destroy it; returns the outputs."""
    toolchain.run("stack", "init", "test", "--non-interactive", cwd=project, env=env)
    for key, value in config.items():
        toolchain.run("config", "set", key, value, cwd=project, env=env)
    try:
        toolchain.run("up", "--yes", "--skip-preview", "--non-interactive", cwd=project, env=env)
        outputs = json.loads(
            toolchain.run("stack", "output", "--json", cwd=project, env=env).stdout
        )
    finally:
        toolchain.run("destroy", "--yes", "--non-interactive", cwd=project, env=env)
    after = json.loads(toolchain.run("stack", "output", "--json", cwd=project, env=env).stdout)
    assert after == {}, f"outputs left after destroy: {after}"
    toolchain.run("stack", "rm", "--yes", "--non-interactive", cwd=project, env=env)
    assert isinstance(outputs, dict)
    return outputs


def test_pulumi_version_is_the_pin(toolchain: Toolchain, tmp_path: Path) -> None:
    result = toolchain.run("version", cwd=tmp_path)
    assert result.stdout.strip() == f"v{toolchain.pins['pulumi']}"


def test_language_host_and_executor_sit_next_to_pulumi(toolchain: Toolchain) -> None:
    bin_dir = toolchain.pulumi.parent
    for name in (
        "pulumi-language-python",
        "pulumi-language-python-exec",
        "pulumi-resource-pulumi-python",
    ):
        path = bin_dir / name
        assert path.is_file(), f"{path} missing"
        assert path.stat().st_mode & 0o111, f"{path} is not executable"


@pytest.mark.parametrize("name", PROVIDERS)
def test_plugin_ls_lists_provider_at_its_pin(
    toolchain: Toolchain, name: str, tmp_path: Path
) -> None:
    require_plugin(toolchain, name)
    listed = json.loads(toolchain.run("plugin", "ls", "--json", cwd=tmp_path).stdout)
    versions = {p["version"] for p in listed if p["kind"] == "resource" and p["name"] == name}
    assert versions == {provider_pin(toolchain, name)}


def test_python_program_runs_end_to_end(
    toolchain: Toolchain, stack_env: dict[str, str], tmp_path: Path
) -> None:
    project = write_project(tmp_path / "project", DYNAMIC_PROGRAM)
    outputs = up_and_destroy(toolchain, project, stack_env, {"who": "paasmas"})
    assert outputs == {"text": "hello paasmas", "stack": "test"}


def test_random_provider_plugin_runs(
    toolchain: Toolchain, stack_env: dict[str, str], tmp_path: Path
) -> None:
    require_plugin(toolchain, "random")
    project = write_project(tmp_path / "project", RANDOM_PROGRAM)
    outputs = up_and_destroy(toolchain, project, stack_env, {})
    pet = outputs["pet"]
    assert isinstance(pet, str) and len(pet.split("-")) == 3


def test_python_exception_fails_up_with_traceback(
    toolchain: Toolchain, stack_env: dict[str, str], tmp_path: Path
) -> None:
    marker = f"boom-{uuid.uuid4().hex[:8]}"
    program = (
        "import pulumi\n\n\n"
        "def build_platform():\n"
        f"    raise ValueError({marker!r})\n\n\n"
        "build_platform()\n"
    )
    project = write_project(tmp_path / "project", program)
    toolchain.run("stack", "init", "test", "--non-interactive", cwd=project, env=stack_env)
    result = toolchain.run(
        "up",
        "--yes",
        "--skip-preview",
        "--non-interactive",
        cwd=project,
        env=stack_env,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback (most recent call last)" in output, output
    assert "in build_platform" in output, output
    assert f"ValueError: {marker}" in output, output

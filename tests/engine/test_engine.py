"""The real Pulumi engine built by `make setup`: versions, plugins, a program run end to end."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from engine_toolchain import Toolchain, provider_pin, require_plugin, up, write_project

pytestmark = pytest.mark.engine

# Provider plugins make setup installs (toolchain/versions.sh): the program uses only OpenStack.
PROVIDERS = ("openstack",)

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
    with up(toolchain, project, stack_env, {"who": "paasmas"}) as outputs:
        assert outputs == {"text": "hello paasmas", "stack": "test"}


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

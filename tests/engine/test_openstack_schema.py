"""The installed OpenStack plugin speaks the pinned Python SDK's language (docs/toolchain.md).

pulumi-resource-openstack here is our bridged build of the upstream Terraform provider with our
own token mapping (toolchain/go/openstack-provider). The schema the plugin serves (`pulumi
package get-schema openstack`) must have every resource and function of the SDK under the same
token, with the same property names and shapes (list or single object) at every depth and the
same required inputs, and the same provider configuration keys.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi_openstack
import pytest
from engine_toolchain import REPO, Toolchain, provider_pin, require_plugin
from openstack_shapes import (
    Signature,
    differences,
    schema_functions,
    schema_resources,
    sdk_config_keys,
    sdk_functions,
    sdk_resources,
)

pytestmark = pytest.mark.engine

SDK_RESOURCES = sdk_resources()
SDK_FUNCTIONS = sdk_functions()
# Functions the bridge adds to every provider (not in the SDK, never called by it).
BRIDGE_FUNCTIONS = {"pulumi:providers:openstack/terraformConfig"}


@pytest.fixture(scope="module")
def schema(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    require_plugin(toolchain, "openstack")
    cwd = tmp_path_factory.mktemp("schema")
    result = toolchain.run("package", "get-schema", "openstack", cwd=cwd)
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def signature_differences(
    token: str, sdk: Signature, plugin: Signature, *, compare_required: bool
) -> list[str]:
    found: list[str] = differences(f"{token} inputs", sdk.inputs, plugin.inputs)
    found += differences(f"{token} outputs", sdk.outputs, plugin.outputs)
    if compare_required and sdk.required != plugin.required:
        found.append(
            f"{token}: required inputs: SDK {sorted(sdk.required)}, "
            f"plugin {sorted(plugin.required)}"
        )
    return found


def test_sdk_inventory_is_complete() -> None:
    # Guards the collection itself: the SDK 5.5.0 has 114 resources and 64 functions.
    assert len(SDK_RESOURCES) == 114
    assert len(SDK_FUNCTIONS) == 64


def test_schema_is_the_pinned_version(schema: dict[str, Any], toolchain: Toolchain) -> None:
    assert schema["name"] == "openstack"
    assert schema["version"] == provider_pin(toolchain, "openstack")


@pytest.mark.parametrize("token", sorted(SDK_RESOURCES))
def test_resource_matches_sdk(schema: dict[str, Any], token: str) -> None:
    plugin = schema_resources(schema)
    assert token in plugin, f"the plugin has no resource {token}"
    found = signature_differences(token, SDK_RESOURCES[token], plugin[token], compare_required=True)
    assert found == []


@pytest.mark.parametrize("token", sorted(SDK_FUNCTIONS))
def test_function_matches_sdk(schema: dict[str, Any], token: str) -> None:
    plugin = schema_functions(schema)
    assert token in plugin, f"the plugin has no function {token}"
    # The SDK's function parameters all default to None: it does not say which are required.
    found = signature_differences(
        token, SDK_FUNCTIONS[token], plugin[token], compare_required=False
    )
    assert found == []


def test_plugin_has_nothing_the_sdk_lacks(schema: dict[str, Any]) -> None:
    assert set(schema["resources"]) - set(SDK_RESOURCES) == set()
    assert set(schema["functions"]) - set(SDK_FUNCTIONS) == BRIDGE_FUNCTIONS


def test_provider_config_keys_match_sdk(schema: dict[str, Any]) -> None:
    keys = set(schema["config"]["variables"])
    assert "cloud" in keys
    assert keys == sdk_config_keys()


def test_every_resource_the_program_uses_is_served(schema: dict[str, Any]) -> None:
    """Each SDK class components/ instantiates is in the plugin under the SDK's token."""
    used: set[tuple[str, str]] = set()
    for path in (REPO / "components").rglob("*.py"):
        found = re.findall(r"openstack\.(\w+)\.([A-Z]\w*)\(", path.read_text())
        used.update((module, name) for module, name in found if not name.endswith("Args"))
    assert len(used) > 10, sorted(used)
    by_class = {
        (token.split(":")[1].split("/")[0], token.split(":")[2]): token for token in SDK_RESOURCES
    }
    for module, name in sorted(used):
        token = by_class.get((module, name))
        assert token is not None, f"openstack.{module}.{name} is not an SDK resource class"
        assert token in schema["resources"], f"the plugin has no {token}"


def test_schema_file_is_not_in_the_repository() -> None:
    # The schema is generated in the build cache and embedded in the plugin, never committed.
    wrapper = REPO / "toolchain" / "go" / "openstack-provider"
    assert list(wrapper.rglob("*.go")), "wrapper module missing"
    assert not list(wrapper.rglob("schema*.json")), "generated schema committed"


def test_token_table_is_generated_from_the_pinned_sdk(toolchain: Toolchain) -> None:
    """mapping/tokens.go is what gen_tokens.py writes from this SDK and the upstream provider."""
    wrapper = REPO / "toolchain" / "go" / "openstack-provider"
    go_mod = (wrapper / "go.mod").read_text()
    upstream = re.search(r"(github.com/terraform-provider-openstack/\S+) (v\S+)", go_mod)
    assert upstream is not None
    cache = Path(toolchain.env["PULUMI_HOME"]).parents[1]  # $PAASMAS_CACHE
    provider_go = (
        cache
        / "go"
        / "mod"
        / f"{upstream.group(1)}@{upstream.group(2)}"
        / "openstack"
        / "provider.go"
    )
    gofmt = shutil.which("gofmt")
    if not provider_go.is_file() or gofmt is None:
        pytest.skip(reason=f"{provider_go} or gofmt absent: run `make setup`")
    sdk = Path(pulumi_openstack.__path__[0])
    generated = subprocess.run(
        [sys.executable, str(wrapper / "gen_tokens.py"), str(provider_go), str(sdk)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    formatted = subprocess.run(
        [gofmt], input=generated, check=True, capture_output=True, text=True
    ).stdout
    assert formatted == (wrapper / "mapping" / "tokens.go").read_text()
